/* msgin5g-gwctl keys: the gateway's JOSE keys (include/mgw/jose.h, doc/internals/jose.md).
 * Prints kids, uses, states and file names; never key material (export prints public
 * keys only). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <talloc.h>

#include <mgw/err.h>
#include <mgw/jose.h>

#include "gwctl.h"

#define JWKS_MAX 262144

void gwctl_keys_usage(FILE *f)
{
	fprintf(f,
		"  keys gen [--dir D]       new signing (ES256) and encryption (ECDH-ES) keys, files\n"
		"                           0600; the previously active ones are retired\n"
		"  keys list [--dir D]      the gateway's keys (and with -c each AS's): kid, use,\n"
		"                           algorithm, state, file\n"
		"  keys export [--dir D]    the gateway's public JWKS (RFC 7517) on stdout\n"
		"  keys retire KID [--dir D]  stop using a key (signing: still published to verify;\n"
		"                           encryption: still decrypts) until its file is removed\n"
		"  keys import-as AS FILE   check FILE as the public JWKS of AS and install it where\n"
		"                           the configuration's security.applications entry of AS\n"
		"                           says (needs -c)\n"
		"  (D defaults to security.keys of -c FILE)\n");
}

/* --dir D / --dir=D anywhere; the rest are positional. */
static int parse(int argc, char **argv, const char **dir, const char **pos, int maxpos,
		 int *npos)
{
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			*dir = argv[++i];
		} else if (strncmp(argv[i], "--dir=", 6) == 0) {
			*dir = argv[i] + 6;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			gwctl_err("keys: unknown option %s", argv[i]);
			return -1;
		} else if (*npos < maxpos) {
			pos[(*npos)++] = argv[i];
		} else {
			gwctl_err("keys: too many arguments");
			return -1;
		}
	}
	return 0;
}

static const char *keys_dir(struct gwctl *g, const char *dir)
{
	struct gw_cfg *cfg;

	if (dir)
		return dir;
	if (!g->cfg_file) {
		gwctl_err("keys: name the keys directory: --dir D or -c FILE");
		return NULL;
	}
	if (!(cfg = gwctl_cfg(g)))
		return NULL;
	if (!cfg->security || !cfg->security->keys) {
		gwctl_err("%s: security.keys is not set", g->cfg_file);
		return NULL;
	}
	return cfg->security->keys;
}

static int load_dir(struct gwctl *g, const char *dir, struct mgw_jose_keyset **ks)
{
	struct mgw_cfg_err err = { { 0 } };
	int rc;

	if ((rc = mgw_jose_keyset_alloc(g->root, ks)) != MGW_OK) {
		gwctl_err("%s", mgw_strerror(rc));
		return GWCTL_FAIL;
	}
	if ((rc = mgw_jose_keyset_add_dir(*ks, dir, &err)) != MGW_OK) {
		gwctl_err("%s", err.msg);
		return rc == MGW_E_CONFIG ? GWCTL_USAGE : GWCTL_FAIL;
	}
	return GWCTL_OK;
}

static int cmd_gen(struct gwctl *g, const char *dir)
{
	char sig[MGW_JOSE_KID_MAX + 1], enc[MGW_JOSE_KID_MAX + 1];
	struct mgw_cfg_err err = { { 0 } };
	struct mgw_jose_keyset *ks;
	int rc;

	if ((rc = mgw_jose_key_rotate(dir, (int64_t)time(NULL), sig, enc, sizeof(sig), &err)) !=
	    MGW_OK) {
		gwctl_err("%s", err.msg);
		return GWCTL_FAIL;
	}
	printf("signing key     %s  %s/%s.sig.pem\n", sig, dir, sig);
	printf("encryption key  %s  %s/%s.enc.pem\n", enc, dir, enc);
	/* what was written must load as the daemon will load it */
	if ((rc = load_dir(g, dir, &ks)) != GWCTL_OK)
		return rc;
	fprintf(stderr, "msgin5g-gwctl: previously active keys are retired; reload the gateway "
			"(SIGHUP) and give the ASs the new public JWKS (keys export)\n");
	return GWCTL_OK;
}

static const char *alg_names(unsigned algs)
{
	if (algs == MGW_JOSE_ALG_ES256)
		return "ES256";
	if (algs == MGW_JOSE_ALG_ECDH_ES_A256GCM)
		return "ECDH-ES+A256GCM";
	return "?";
}

static int cmd_list(struct gwctl *g, const char *dir)
{
	struct mgw_cfg_err err = { { 0 } };
	struct mgw_jose_keyset *ks = NULL;
	struct mgw_jose_key_info ki;
	struct gw_cfg *cfg;
	int rc;

	if (dir || !g->cfg_file) {
		if (!(dir = keys_dir(g, dir)))
			return GWCTL_USAGE;
		if ((rc = load_dir(g, dir, &ks)) != GWCTL_OK)
			return rc;
	} else {
		if (!(cfg = gwctl_cfg(g)))
			return GWCTL_USAGE;
		if (!cfg->security) {
			gwctl_err("%s: no security section", g->cfg_file);
			return GWCTL_USAGE;
		}
		if ((rc = mgw_jose_keyset_load(g->root, cfg->security, &ks, &err)) != MGW_OK) {
			gwctl_err("%s", err.msg);
			return rc == MGW_E_CONFIG ? GWCTL_USAGE : GWCTL_FAIL;
		}
	}
	printf("%-12s %-32s %-4s %-16s %-8s %s\n", "owner", "kid", "use", "alg", "state", "file");
	for (size_t i = 0; mgw_jose_keyset_key(ks, i, &ki) == MGW_OK; i++)
		printf("%-12s %-32s %-4s %-16s %-8s %s\n", ki.peer ? ki.peer : "gateway", ki.kid,
		       ki.use == MGW_JOSE_USE_SIG ? "sig" : "enc", alg_names(ki.algs),
		       ki.state == MGW_JOSE_ACTIVE ? "active" : "retired", ki.file);
	return GWCTL_OK;
}

static int cmd_export(struct gwctl *g, const char *dir)
{
	struct mgw_jose_keyset *ks;
	char *json;
	int rc;

	if ((rc = load_dir(g, dir, &ks)) != GWCTL_OK)
		return rc;
	if (mgw_jose_keyset_export(g->root, ks, &json) != MGW_OK) {
		gwctl_err("keys export: out of memory");
		return GWCTL_FAIL;
	}
	printf("%s\n", json);
	return fflush(stdout) == 0 ? GWCTL_OK : GWCTL_FAIL;
}

static int cmd_retire(const char *dir, const char *kid)
{
	struct mgw_cfg_err err = { { 0 } };
	int rc = mgw_jose_key_retire(dir, kid, &err);

	if (rc != MGW_OK) {
		gwctl_err("%s", err.msg);
		return rc == MGW_E_NOT_FOUND || rc == MGW_E_INVAL ? GWCTL_USAGE : GWCTL_FAIL;
	}
	printf("retired %s\n", kid);
	return GWCTL_OK;
}

/* Read FILE whole (it is a public JWKS: no permission rules on the source). */
static char *read_all(void *ctx, const char *file, size_t *len)
{
	FILE *f = fopen(file, "rb");
	char *buf = talloc_size(ctx, JWKS_MAX + 1);
	size_t n = 0;

	if (!f || !buf) {
		gwctl_err("%s: %s", file, f ? "out of memory" : strerror(errno));
		goto fail;
	}
	n = fread(buf, 1, JWKS_MAX + 1, f);
	if (ferror(f) || n > JWKS_MAX) {
		gwctl_err("%s: %s", file, ferror(f) ? "read error" : "larger than 256 KiB");
		goto fail;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	if (f)
		fclose(f);
	talloc_free(buf);
	return NULL;
}

/* Write data to path through a temporary file in the same directory and rename(2), mode
 * 0644 (a public trust anchor: readable, writable only by its owner). */
static int install(void *ctx, const char *path, const char *data, size_t len)
{
	char *tmp = talloc_asprintf(ctx, "%s.tmp.XXXXXX", path);
	int fd = -1;

	if (!tmp || (fd = mkstemp(tmp)) < 0) {
		gwctl_err("%s: cannot create a temporary file: %s", path, strerror(errno));
		return GWCTL_FAIL;
	}
	if (fchmod(fd, 0644) < 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) < 0 ||
	    close(fd) < 0) {
		gwctl_err("%s: cannot write: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return GWCTL_FAIL;
	}
	if (rename(tmp, path) < 0) {
		gwctl_err("%s: cannot rename to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return GWCTL_FAIL;
	}
	return GWCTL_OK;
}

static int cmd_import_as(struct gwctl *g, const char *as, const char *file)
{
	struct mgw_cfg_err err = { { 0 } };
	const struct mgw_jose_app_cfg *app = NULL;
	struct mgw_jose_keyset *ks;
	struct mgw_jose_key_info ki;
	struct gw_cfg *cfg;
	size_t len, n = 0;
	bool has_enc = false;
	char *buf;
	int rc;

	if (!(cfg = gwctl_cfg(g)))
		return GWCTL_USAGE;
	for (size_t i = 0; cfg->security && i < cfg->security->applications.n; i++) {
		const struct mgw_jose_app_cfg *a = MGW_CFG_LIST_AT(&cfg->security->applications,
								  struct mgw_jose_app_cfg, i);

		if (strcmp(a->as, as) == 0)
			app = a;
	}
	if (!app || !app->jwks) {
		gwctl_err("%s: no security.applications entry with as: %s and a jwks path: add "
			  "{ as: %s, jwks: FILE, protection: sign } first",
			  g->cfg_file, as, as);
		return GWCTL_USAGE;
	}
	if (!(buf = read_all(g->root, file, &len)))
		return GWCTL_USAGE;
	if ((rc = mgw_jose_keyset_alloc(g->root, &ks)) != MGW_OK ||
	    (rc = mgw_jose_keyset_add_app_jwks(ks, as, (enum mgw_jose_protection)app->protection,
					       buf, len, file, &err)) != MGW_OK) {
		gwctl_err("%s", rc == MGW_E_NOMEM ? "out of memory" : err.msg);
		return GWCTL_USAGE;
	}
	for (size_t i = 0; mgw_jose_keyset_key(ks, i, &ki) == MGW_OK; i++, n++)
		has_enc |= ki.use == MGW_JOSE_USE_ENC;
	if (app->protection == MGW_JOSE_ENCRYPT && !has_enc) {
		gwctl_err("%s: %s has protection encrypt but this JWKS has no encryption key", file,
			  as);
		return GWCTL_USAGE;
	}
	if ((rc = install(g->root, app->jwks, buf, len)) != GWCTL_OK)
		return rc;
	printf("installed %zu key%s of %s in %s; reload the gateway (SIGHUP)\n", n,
	       n == 1 ? "" : "s", as, app->jwks);
	return GWCTL_OK;
}

int gwctl_keys(struct gwctl *g, int argc, char **argv)
{
	const char *dir = NULL, *pos[2], *sub;
	int npos;

	if (argc < 1) {
		gwctl_keys_usage(stderr);
		return GWCTL_USAGE;
	}
	sub = argv[0];
	if (strcmp(sub, "gen") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "export") != 0 &&
	    strcmp(sub, "retire") != 0 && strcmp(sub, "import-as") != 0) {
		gwctl_err("keys: unknown subcommand %s", sub);
		gwctl_keys_usage(stderr);
		return GWCTL_USAGE;
	}
	if (parse(argc - 1, argv + 1, &dir, pos, 2, &npos) != 0)
		return GWCTL_USAGE;
	if (strcmp(sub, "import-as") == 0) {
		if (npos != 2 || dir) {
			gwctl_err("usage: msgin5g-gwctl -c FILE keys import-as AS JWKS-FILE");
			return GWCTL_USAGE;
		}
		return cmd_import_as(g, pos[0], pos[1]);
	}
	if ((strcmp(sub, "retire") == 0) != (npos == 1) || npos > 1) {
		gwctl_keys_usage(stderr);
		return GWCTL_USAGE;
	}
	if (strcmp(sub, "list") == 0)
		return cmd_list(g, dir);
	if (!(dir = keys_dir(g, dir)))
		return GWCTL_USAGE;
	if (strcmp(sub, "gen") == 0)
		return cmd_gen(g, dir);
	if (strcmp(sub, "export") == 0)
		return cmd_export(g, dir);
	return cmd_retire(dir, pos[0]);
}
