/* msgin5g-gw: the registry file of a configuration and its seed (gw_registry.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/security.h>
#include <mgw/store.h>

#include "gw_registry.h"

#define SEED_SRC "seed"

char *gw_registry_path(void *ctx, const struct gw_cfg *cfg)
{
	return talloc_asprintf(ctx, "%s.devices", cfg->store);
}

/* hex SHA-256 of the file's content */
static int file_hash(const char *file, char out[65], struct mgw_cfg_err *err)
{
	unsigned char buf[65536], md[32];
	unsigned mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	FILE *f = fopen(file, "re");
	size_t n;
	int rc = MGW_E_IO;

	if (!f) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot open: %s", file, strerror(errno));
		goto out;
	}
	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(c, buf, n);
	if (ferror(f) || !EVP_DigestFinal_ex(c, md, &mdlen)) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot read", file);
		goto out;
	}
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	rc = MGW_OK;
out:
	if (f)
		fclose(f);
	EVP_MD_CTX_free(c);
	return rc;
}

static int seed_import(struct mgw_regdb *db, const char *file, const char *hash,
		       struct mgw_registry_import_stats *st, size_t *removed,
		       struct mgw_cfg_err *err)
{
	char *v = NULL, gbuf[24];
	int64_t gen = 1;
	int rc;

	if ((rc = mgw_regdb_begin(db)) != MGW_OK) {
		snprintf(err->msg, sizeof(err->msg), "%s: the registry store is busy or failed: %s",
			 file, mgw_strerror(rc));
		return rc;
	}
	if (mgw_regdb_meta_get(db, NULL, "seed_gen", &v) == MGW_OK)
		gen = strtoll(v, NULL, 10) + 1;
	talloc_free(v);
	snprintf(gbuf, sizeof(gbuf), "%" PRId64, gen);
	if ((rc = mgw_registry_import(db, file, MGW_REGFMT_AUTO, SEED_SRC, gen, st, err)) !=
	    MGW_OK)
		goto out;
	if ((rc = mgw_regdb_prune(db, SEED_SRC, gen, removed)) != MGW_OK ||
	    (rc = mgw_regdb_meta_put(db, "seed_gen", gbuf)) != MGW_OK ||
	    (rc = mgw_regdb_meta_put(db, "seed_sha256", hash)) != MGW_OK) {
		snprintf(err->msg, sizeof(err->msg), "%s: the registry store failed: %s", file,
			 mgw_strerror(rc));
		goto out;
	}
	if ((rc = mgw_regdb_commit(db)) != MGW_OK)
		snprintf(err->msg, sizeof(err->msg), "%s: the registry store failed: %s", file,
			 mgw_strerror(rc));
	return rc;
out:
	mgw_regdb_rollback(db);
	return rc;
}

int gw_registry_seed(struct mgw_regdb *db, const char *file, bool *imported,
		     struct mgw_registry_import_stats *st, size_t *removed,
		     struct mgw_cfg_err *err)
{
	struct mgw_registry_import_stats dummy;
	char hash[65] = "", *old = NULL;
	size_t gone = 0;
	int rc;

	*imported = false;
	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if ((rc = file_hash(file, hash, err)) != MGW_OK)
		return rc;
	if (mgw_regdb_meta_get(db, NULL, "seed_sha256", &old) == MGW_OK && strcmp(old, hash) == 0) {
		talloc_free(old);
		rc = MGW_OK;
		goto out;
	}
	talloc_free(old);
	if ((rc = seed_import(db, file, hash, st, &gone, err)) != MGW_OK)
		goto out;
	*imported = true;
	LOGP(DSEC, MGW_LOGL_NOTICE,
	     "registry seed %s imported: %zu entries (%zu added, %zu updated, %zu unchanged), "
	     "%zu removed", file, st->rows, st->added, st->updated, st->unchanged, gone);
out:
	if (removed)
		*removed = gone;
	return rc;
}
