/* msgin5g-gwctl devices export (and the row printer of show): the registry's entries as
 * YAML (one flow mapping per sequence item: what devices import reads back), JSON Lines,
 * or the broker's files for the MQTT devices: mosquitto_passwd lines ($7$, PBKDF2-SHA512,
 * for devices with mqtt.password; others as a comment naming the command to run) and
 * acl_file lines (contrib/mosquitto/acl: user + topic rules of each device). Secrets
 * (coap.psk, cose.key, mqtt.password) are "<secret>" unless --show-secrets. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/store.h>

#include "gwctl.h"

#define PASSWD_ITER 101 /* mosquitto_passwd's default for $7$ */

void gwctl_wipe(char *s)
{
	if (s)
		OPENSSL_cleanse(s, strlen(s));
	talloc_free(s);
}

static void mask(json_t *o, const char *sec, const char *key)
{
	json_t *s = json_object_get(o, sec);

	if (json_is_object(s) && json_object_get(s, key))
		json_object_set_new(s, key, json_string("<secret>"));
}

static int print_entry(FILE *f, json_t *o, bool secrets, int fmt)
{
	char *s;

	if (!secrets) {
		mask(o, "coap", "psk");
		mask(o, "cose", "key");
		mask(o, "mqtt", "password");
	}
	if (!(s = json_dumps(o, JSON_COMPACT)))
		return -1;
	fprintf(f, "%s%s\n", fmt == GWCTL_FMT_YAML ? "- " : "", s);
	OPENSSL_cleanse(s, strlen(s));
	free(s);
	return 0;
}

/* user:$7$101$salt$hash (base64), as mosquitto_passwd writes it */
static int passwd_line(FILE *f, const char *user, const char *pw)
{
	unsigned char salt[12], dk[64];
	unsigned char bs[32], bh[96];

	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof(salt), PASSWD_ITER, EVP_sha512(),
			      sizeof(dk), dk) != 1)
		return -1;
	EVP_EncodeBlock(bs, salt, sizeof(salt));
	EVP_EncodeBlock(bh, dk, sizeof(dk));
	OPENSSL_cleanse(dk, sizeof(dk));
	fprintf(f, "%s:$7$%d$%s$%s\n", user, PASSWD_ITER, bs, bh);
	return 0;
}

static int print_broker(FILE *f, json_t *o, int fmt, const char *prefix)
{
	json_t *m = json_object_get(o, "mqtt");
	const char *user = json_string_value(json_object_get(m, "username"));
	const char *pw = json_string_value(json_object_get(m, "password"));

	if (!user)
		return 0; /* not an MQTT device */
	if (fmt == GWCTL_FMT_ACL) {
		fprintf(f, "user %s\ntopic write %s/up/%s\ntopic write %s/report/%s\n"
			   "topic read %s/down/%s\n\n",
			user, prefix, user, prefix, user, prefix, user);
		return 0;
	}
	if (!pw) {
		fprintf(f, "# %s: no mqtt.password in the registry: mosquitto_passwd -b FILE %s "
			   "PASSWORD\n",
			user, user);
		return 0;
	}
	return passwd_line(f, user, pw);
}

int gwctl_print_row(FILE *f, const char *row, bool secrets, int fmt)
{
	json_error_t je;
	json_t *o = json_loads(row, 0, &je);
	int rc;

	if (!o) {
		gwctl_err("registry: a row is not JSON: %s", je.text);
		return -1;
	}
	rc = fmt == GWCTL_FMT_YAML || fmt == GWCTL_FMT_JSONL ? print_entry(f, o, secrets, fmt)
							    : -1;
	json_decref(o);
	return rc;
}

struct export {
	FILE *f;
	bool secrets;
	int fmt;
	const char *prefix;
	char *last;
	int rc;
};

static int export_row(void *arg, const char *ue, const char *src, const char *row)
{
	struct export *x = arg;
	json_error_t je;
	json_t *o = json_loads(row, 0, &je);

	(void)src;
	if (!o) {
		gwctl_err("registry: the row of %s is not JSON: %s", ue, je.text);
		x->rc = GWCTL_FAIL;
		return 1;
	}
	if ((x->fmt == GWCTL_FMT_YAML || x->fmt == GWCTL_FMT_JSONL
		     ? print_entry(x->f, o, x->secrets, x->fmt)
		     : print_broker(x->f, o, x->fmt, x->prefix)) != 0)
		x->rc = GWCTL_FAIL;
	json_decref(o);
	talloc_free(x->last);
	if (!(x->last = talloc_strdup(NULL, ue)))
		x->rc = GWCTL_FAIL;
	return x->rc != GWCTL_OK;
}

static int parse_fmt(const char *s)
{
	static const char *const names[] = { [GWCTL_FMT_YAML] = "yaml",
					     [GWCTL_FMT_JSONL] = "jsonl",
					     [GWCTL_FMT_PASSWD] = "mosquitto-passwd",
					     [GWCTL_FMT_ACL] = "mosquitto-acl" };

	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int gwctl_devices_export(struct gwctl *g, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					       { "show-secrets", no_argument, NULL, 's' },
					       { "prefix", required_argument, NULL, 'p' },
					       { NULL, 0, NULL, 0 } };
	struct export x = { stdout, false, GWCTL_FMT_YAML, "msgin5g", NULL, GWCTL_OK };
	struct mgw_regdb *db = NULL;
	size_t n = 0;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:sp:", opts, NULL)) != -1) {
		if (opt == 's')
			x.secrets = true;
		else if (opt == 'p')
			x.prefix = optarg;
		else if (opt != 'f' || (x.fmt = parse_fmt(optarg)) < 0) {
			gwctl_err("devices export [--format yaml|jsonl|mosquitto-passwd|mosquitto-acl] "
				  "[--show-secrets] [--prefix P]");
			return GWCTL_USAGE;
		}
	}
	if (optind != argc) {
		gwctl_err("devices export: unexpected %s", argv[optind]);
		return GWCTL_USAGE;
	}
	if ((rc = gwctl_devices_open(g, &db)) != GWCTL_OK)
		return rc;
	if (!(x.last = talloc_strdup(NULL, "")))
		return GWCTL_FAIL;
	do {
		char *after = talloc_strdup(NULL, x.last);

		if (!after || mgw_regdb_page(db, after, 1000, export_row, &x, &n) != MGW_OK)
			x.rc = GWCTL_FAIL;
		talloc_free(after);
	} while (x.rc == GWCTL_OK && n == 1000);
	talloc_free(x.last);
	if (fflush(stdout) != 0)
		x.rc = GWCTL_FAIL;
	return x.rc;
}
