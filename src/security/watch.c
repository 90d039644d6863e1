/* msgin5g-gw security: the change notification (include/mgw/security.h "change
 * notification"; doc/internals/security.md "Changes").
 *
 * A small array of watchers hangs off the security instance (talloc child: freed with it).
 * The registry's owners (the SIGHUP reload, the store poller) call
 * mgw_security_device_changed() once per UE changed; it writes the one audit record of the
 * change and calls every watcher in registration order, on the loop. A watcher may remove
 * itself (or another) while being called: the slot is cleared and the array compacted once
 * the outermost dispatch returns, so no entry moves under a running loop. Watchers added
 * during a dispatch are not called for the change in progress.
 *
 * sec_watch_diff() computes what a whole new registry changes against the old one (the
 * SIGHUP path): added, updated (a credential or key differs; PSKs compared in constant
 * time) and removed UEs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <openssl/crypto.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/security.h>

#include "security_int.h"

struct watcher {
	mgw_dev_watch_cb cb; /* NULL: removed during a dispatch, compacted afterwards */
	void *arg;
};

struct sec_watch {
	struct watcher *v;
	size_t n, cap;
	unsigned depth; /* dispatches in progress (a watcher may cause another change) */
	bool holes;     /* some cb is NULL */
};

static const char *const change_names[] = {
	[MGW_DEV_ADDED] = "added",
	[MGW_DEV_UPDATED] = "updated",
	[MGW_DEV_REMOVED] = "removed",
};

const char *mgw_dev_change_name(enum mgw_dev_change what)
{
	if ((unsigned)what >= sizeof(change_names) / sizeof(change_names[0]) ||
	    !change_names[what])
		return "unknown";
	return change_names[what];
}

int sec_watch_alloc(void *ctx, struct sec_watch **out)
{
	struct sec_watch *w = talloc_zero(ctx, struct sec_watch);

	if (!w)
		return MGW_E_NOMEM;
	talloc_set_name_const(w, "sec_watch");
	*out = w;
	return MGW_OK;
}

int mgw_security_watch(struct mgw_security *sec, mgw_dev_watch_cb cb, void *arg)
{
	struct sec_watch *w = sec ? sec_watch_of(sec) : NULL;
	struct watcher *v;

	if (!w || !cb)
		return MGW_E_INVAL;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 4;

		if (!(v = talloc_realloc(w, w->v, struct watcher, cap)))
			return MGW_E_NOMEM;
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n].cb = cb;
	w->v[w->n].arg = arg;
	w->n++;
	return MGW_OK;
}

static void compact(struct sec_watch *w)
{
	size_t j = 0;

	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].cb)
			w->v[j++] = w->v[i];
	w->n = j;
	w->holes = false;
}

void mgw_security_unwatch(struct mgw_security *sec, mgw_dev_watch_cb cb, void *arg)
{
	struct sec_watch *w = sec ? sec_watch_of(sec) : NULL;

	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].cb == cb && w->v[i].arg == arg) {
			w->v[i].cb = NULL;
			w->holes = true;
		}
	if (!w->depth)
		compact(w);
}

void sec_watch_notify(struct mgw_security *sec, const char *ue, enum mgw_dev_change what)
{
	struct sec_watch *w = sec_watch_of(sec);
	size_t n = w->n; /* watchers added now wait for the next change */

	w->depth++;
	for (size_t i = 0; i < n; i++)
		if (w->v[i].cb)
			w->v[i].cb(w->v[i].arg, ue, what);
	if (--w->depth == 0 && w->holes)
		compact(w);
}

void mgw_security_device_changed(struct mgw_security *sec, const char *ue,
				 enum mgw_dev_change what)
{
	if (!sec || !ue || !*ue || what < MGW_DEV_ADDED || what > MGW_DEV_REMOVED)
		return;
	sec_change_record(sec, ue, what,
			  mgw_device_adapter(mgw_registry_by_ue(mgw_security_registry(sec), ue)));
	sec_watch_notify(sec, ue, what);
}

/* ---------------------------------------------------------------- the reload diff */

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Does anything a device proves itself with, or is protected with, differ? */
static bool creds_differ(const struct mgw_device *o, const struct mgw_device *n)
{
	return o->psk_len != n->psk_len ||
	       (n->psk_len && CRYPTO_memcmp(o->psk, n->psk, n->psk_len) != 0) ||
	       !same_str(o->psk_identity, n->psk_identity) || !same_str(o->cert_fp, n->cert_fp) ||
	       !same_str(o->cert_subject, n->cert_subject) || !same_str(o->rpk_fp, n->rpk_fp) ||
	       !same_str(o->msisdn, n->msisdn) || !same_str(o->mqtt_user, n->mqtt_user) ||
	       !same_str(o->cose_kid, n->cose_kid) || (!o->cose) != (!n->cose);
}

static int push(void *ctx, struct sec_change **v, size_t *n, const struct mgw_device *d,
		enum mgw_dev_change what)
{
	struct sec_change *nv = talloc_realloc(ctx, *v, struct sec_change, *n + 1);

	if (!nv)
		return MGW_E_NOMEM;
	*v = nv;
	nv[*n].what = what;
	nv[*n].adapter = mgw_device_adapter(d);
	if (!(nv[*n].ue = talloc_strdup(nv, d->ue)))
		return MGW_E_NOMEM;
	(*n)++;
	return MGW_OK;
}

int sec_watch_diff(void *ctx, const struct mgw_registry *old, const struct mgw_registry *new,
		   struct sec_change **out, size_t *nout)
{
	struct sec_change *v = NULL;
	const struct mgw_device *d, *o;
	size_t n = 0;
	int rc = MGW_OK;

	for (size_t i = 0; rc == MGW_OK && (d = mgw_registry_at(new, i)); i++) {
		if (!(o = mgw_registry_by_ue(old, d->ue)))
			rc = push(ctx, &v, &n, d, MGW_DEV_ADDED);
		else if (creds_differ(o, d))
			rc = push(ctx, &v, &n, d, MGW_DEV_UPDATED);
	}
	for (size_t i = 0; rc == MGW_OK && (o = mgw_registry_at(old, i)); i++)
		if (!mgw_registry_by_ue(new, o->ue))
			rc = push(ctx, &v, &n, o, MGW_DEV_REMOVED);
	if (rc != MGW_OK) {
		talloc_free(v);
		goto out;
	}
	*out = v;
	*nout = n;
out:
	return rc;
}
