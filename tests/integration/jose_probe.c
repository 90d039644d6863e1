/* jose_probe: drives the gateway's JOSE code (src/security/jose.c, keys.c) from the shell,
 * for tests/integration/06-jose-interop.sh: the gateway side against an AS on another
 * JOSE library (contrib/node/jose-as.js).
 *
 * usage: jose_probe [--keys DIR] [--as NAME [--jwks FILE] [--profile P]] [--require-signed]
 *                   [--skew S] [--now UNIXTIME] COMMAND ...
 *   load                                   load the key set; exit 1 with the reason
 *   protect --ori T:A --dest T:A --msg-id ID [--app-id X] --payload TEXT
 *                                          the payload as the gateway forwards it to the AS
 *   open --ori T:A --dest T:A --msg-id ID [--app-id X] FILE...
 *                                          each FILE a downlink payload from the AS, in
 *                                          order, one replay cache: prints per file
 *                                          "OK <prot> <payload>" or "REFUSED <CAUSE> <where>:
 *                                          <text>"; exit 0 if all were accepted, else 1
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <talloc.h>

#include <mgw/addr.h>
#include <mgw/err.h>
#include <mgw/jose.h>
#include <mgw/msg.h>

struct opts {
	const char *keys, *as, *jwks, *ori, *dest, *msg_id, *app_id, *payload;
	int profile;
	bool require_signed;
	int64_t skew;
};

static int usage(void)
{
	fprintf(stderr, "usage: jose_probe [--keys DIR] [--as NAME [--jwks FILE] [--profile P]] "
			"[--require-signed] [--skew S] [--now T] load|protect|open ...\n");
	return 2;
}

static const char *prot_name(enum mgw_prot p)
{
	return p == MGW_PROT_JWS ? "JWS" : p == MGW_PROT_JWE ? "JWE" : "NONE";
}

static int build_msg(struct mgw_msg *m, const struct opts *o)
{
	if (!o->ori || !o->dest || !o->msg_id || mgw_addr_parse(&m->ori, o->ori) != MGW_OK ||
	    mgw_addr_parse(&m->dest, o->dest) != MGW_OK ||
	    mgw_str_set(m->msg_id, sizeof(m->msg_id), o->msg_id) != MGW_OK)
		return -1;
	if (o->app_id) {
		m->has_app_id = true;
		if (mgw_str_set(m->app_id, sizeof(m->app_id), o->app_id) != MGW_OK)
			return -1;
	}
	return 0;
}

static char *slurp(void *ctx, const char *file, size_t *n)
{
	FILE *f = fopen(file, "rb");
	char *b = talloc_size(ctx, MGW_PAYLOAD_HARD_MAX + 1);
	size_t len;

	if (!f || !b) {
		if (f)
			fclose(f);
		return NULL;
	}
	len = fread(b, 1, MGW_PAYLOAD_HARD_MAX, f);
	fclose(f);
	while (len && (b[len - 1] == '\n' || b[len - 1] == '\r'))
		len--;
	b[len] = '\0';
	*n = len;
	return b;
}

int main(int argc, char **argv)
{
	void *ctx = talloc_named_const(NULL, 0, "jose_probe");
	struct opts o = { .profile = MGW_JOSE_SIGN, .skew = MGW_JOSE_SKEW_DEFAULT };
	struct mgw_jose_keyset *ks = NULL;
	struct mgw_jose_replay *rp = NULL;
	struct mgw_cfg_err cerr = { { 0 } };
	struct mgw_jose_err je;
	struct mgw_jose_result res;
	struct mgw_msg *m;
	const char *cmd = NULL;
	char **files = NULL;
	int nfiles = 0, rc = 2, i;
	int64_t now = (int64_t)time(NULL);

	files = talloc_array(ctx, char *, argc);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;

		if (strcmp(a, "--require-signed") == 0) {
			o.require_signed = true;
			continue;
		}
		if (strcmp(a, "--keys") == 0)
			slot = &o.keys;
		else if (strcmp(a, "--as") == 0)
			slot = &o.as;
		else if (strcmp(a, "--jwks") == 0)
			slot = &o.jwks;
		else if (strcmp(a, "--ori") == 0)
			slot = &o.ori;
		else if (strcmp(a, "--dest") == 0)
			slot = &o.dest;
		else if (strcmp(a, "--msg-id") == 0)
			slot = &o.msg_id;
		else if (strcmp(a, "--app-id") == 0)
			slot = &o.app_id;
		else if (strcmp(a, "--payload") == 0)
			slot = &o.payload;
		if (slot || strcmp(a, "--profile") == 0 || strcmp(a, "--skew") == 0 ||
		    strcmp(a, "--now") == 0) {
			if (i + 1 >= argc)
				goto out_usage;
			if (slot)
				*slot = argv[++i];
			else if (strcmp(a, "--skew") == 0)
				o.skew = strtoll(argv[++i], NULL, 10);
			else if (strcmp(a, "--now") == 0)
				now = strtoll(argv[++i], NULL, 10);
			else if (strcmp(argv[++i], "transport") == 0)
				o.profile = MGW_JOSE_TRANSPORT;
			else if (strcmp(argv[i], "sign") == 0)
				o.profile = MGW_JOSE_SIGN;
			else if (strcmp(argv[i], "encrypt") == 0)
				o.profile = MGW_JOSE_ENCRYPT;
			else
				goto out_usage;
		} else if (a[0] == '-') {
			goto out_usage;
		} else if (!cmd) {
			cmd = a;
		} else {
			files[nfiles++] = argv[i];
		}
	}
	if (!cmd || !files)
		goto out_usage;
	if (mgw_jose_keyset_alloc(ctx, &ks) != MGW_OK)
		goto out;
	mgw_jose_keyset_set_skew(ks, o.skew);
	mgw_jose_keyset_set_require_signed(ks, o.require_signed);
	if ((o.keys && mgw_jose_keyset_add_dir(ks, o.keys, &cerr) != MGW_OK) ||
	    (o.as && mgw_jose_keyset_add_app(ks, o.as, (enum mgw_jose_protection)o.profile, o.jwks,
					     &cerr) != MGW_OK)) {
		printf("LOAD-FAILED %s\n", cerr.msg);
		rc = 1;
		goto out;
	}
	if (strcmp(cmd, "load") == 0) {
		printf("loaded %zu keys\n", mgw_jose_keyset_count(ks));
		rc = 0;
		goto out;
	}
	if (!(m = mgw_msg_alloc(ctx, MGW_MSG_MESSAGE)) || build_msg(m, &o) != 0)
		goto out_usage;
	if (strcmp(cmd, "protect") == 0) {
		enum mgw_prot prot;
		char *out;
		size_t n;

		if (o.payload && mgw_msg_set_payload(m, o.payload, strlen(o.payload)) != MGW_OK)
			goto out;
		m->has_payload = o.payload != NULL;
		if (mgw_jose_protect(ctx, ks, m, now, &out, &n, &prot, &je) != MGW_OK) {
			printf("REFUSED %s %s: %s\n", mgw_jose_cause_name(je.cause), je.where, je.text);
			rc = 1;
			goto out;
		}
		printf("%s\n", out ? out : o.payload ? o.payload : "");
		rc = 0;
		goto out;
	}
	if (strcmp(cmd, "open") != 0)
		goto out_usage;
	if (mgw_jose_replay_alloc(ctx, 1024, &rp) != MGW_OK)
		goto out;
	rc = 0;
	for (i = 0; i < nfiles; i++) {
		uint8_t *out;
		size_t n, len;
		char *p = slurp(ctx, files[i], &len);

		if (!p || mgw_msg_set_payload(m, p, len) != MGW_OK) {
			fprintf(stderr, "jose_probe: cannot read %s\n", files[i]);
			rc = 2;
			goto out;
		}
		m->has_payload = true;
		if (mgw_jose_open(ctx, ks, rp, m, now, &out, &n, &res, &je) != MGW_OK) {
			printf("REFUSED %s %s: %s\n", mgw_jose_cause_name(je.cause), je.where, je.text);
			rc = 1;
			continue;
		}
		printf("OK %s %.*s\n", prot_name(res.prot), (int)(out ? n : m->payload_len),
		       out ? (const char *)out : (const char *)m->payload);
	}
	goto out;
out_usage:
	rc = usage();
out:
	talloc_free(ctx);
	return rc;
}
