/* msgin5g-gw security: a walk of the registered devices, for the few start-up passes that
 * need the whole fleet (north's registration at the M5S: which devices are not registered
 * there yet). Behind the one lookup door like lookup.c: the caller gets the UE and the
 * adapter that serves it, never a device handle.
 *
 * Over the registry in the store it pages the device table in UE order (mgw_regdb_page,
 * PAGE rows a query) and reads each row as a registry of one (as the cache does, the row
 * wiped after), so the walk is linear and leaves the LRU cache alone; mgw_registry_at()
 * would be one OFFSET query per device (quadratic) and would churn the cache. A registry
 * loaded from a file (tests, -t) is walked in memory. */
#include <stdio.h>
#include <string.h>

#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/security.h>
#include <mgw/store.h>

#include "security_int.h"

#define PAGE 500

struct walk {
	mgw_security_each_cb cb;
	void *arg;
	int rc;
	char after[MGW_ID_MAX + 1];
};

static enum mgw_ingress row_adapter(const char *ue, const char *row)
{
	void *tmp = talloc_new(NULL);
	struct mgw_registry *one = NULL;
	struct mgw_cfg_err err = { { 0 } };
	enum mgw_ingress in = MGW_IN_NONE;
	char *buf;

	if (!tmp || !(buf = talloc_asprintf(tmp, "[%s]", row)))
		goto out;
	if (sec_registry_row(tmp, "store", buf, strlen(buf), &one, &err) == MGW_OK)
		in = mgw_device_adapter(sec_registry_first(one));
	else
		LOGP(DSEC, MGW_LOGL_ERROR, "registry: row of %s is not a valid entry: %s", ue,
		     err.msg);
	memset(buf, 0, strlen(buf)); /* it holds the device's secrets */
out:
	talloc_free(tmp);
	return in;
}

static int page_row(void *arg, const char *ue, const char *src, const char *row)
{
	struct walk *w = arg;
	struct mgw_ue_ref ref;

	(void)src;
	memset(&ref, 0, sizeof(ref));
	snprintf(ref.ue, sizeof(ref.ue), "%s", ue);
	snprintf(w->after, sizeof(w->after), "%s", ue);
	ref.adapter = row_adapter(ue, row);
	w->rc = w->cb(w->arg, &ref);
	return w->rc != MGW_OK;
}

static int walk_db(struct mgw_regdb *db, struct walk *w)
{
	char from[sizeof(w->after)]; /* the query's bound copy: page_row moves w->after */
	size_t n;
	int rc;

	do {
		n = 0;
		snprintf(from, sizeof(from), "%s", w->after);
		if ((rc = mgw_regdb_page(db, from, PAGE, page_row, w, &n)) != MGW_OK)
			return rc;
	} while (w->rc == MGW_OK && n == PAGE);
	return w->rc;
}

int mgw_security_each_device(struct mgw_security *sec, mgw_security_each_cb cb, void *arg)
{
	const struct mgw_registry *reg;
	const struct mgw_device *d;
	struct reg_cache *cache;
	struct mgw_ue_ref ref;
	struct walk w = { cb, arg, MGW_OK, "" };
	int rc = MGW_OK;

	if (!sec || !cb)
		return MGW_E_INVAL;
	reg = mgw_security_registry(sec);
	if ((cache = sec_registry_cache(reg)))
		return walk_db(reg_cache_db(cache), &w);
	for (size_t i = 0; rc == MGW_OK && (d = mgw_registry_at(reg, i)); i++) {
		memset(&ref, 0, sizeof(ref));
		snprintf(ref.ue, sizeof(ref.ue), "%s", mgw_device_ue(d));
		ref.adapter = mgw_device_adapter(d);
		rc = cb(arg, &ref);
	}
	return rc;
}
