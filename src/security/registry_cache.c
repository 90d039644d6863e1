/* msgin5g-gw security: the registry as a bounded cache over the store
 * (include/mgw/security.h "the registry in the store", doc/internals/registry.md).
 *
 * An entry is one device, built from its store row as a registry of one (the same checks
 * as devices.yaml: sec_registry_row()). It is found by its UE and by each of its
 * credentials through one chained hash table of keys (kind, value), and sits on an LRU
 * list. Entries are never freed where they are found: a change (mgw_registry_poll()) or
 * the cap makes an entry dead (unlinked), and dead entries are freed by the poll after the
 * one that killed them, so a pointer handed out lives through its loop turn and longer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/security.h>
#include <mgw/store.h>

#include "security_int.h"

#define CACHE_DEFAULT 10000
#define POLL_DEFAULT 10000
#define NKEYS 7 /* ue + psk_identity, cert, rpk, cert_subject, msisdn, mqtt */

struct rc_ent;

struct rc_key {
	struct rc_key *next; /* bucket chain */
	unsigned kind;
	const char *value; /* borrowed from the device */
	struct rc_ent *e;
};

struct rc_ent {
	struct rc_ent *prev, *next; /* LRU (head: most recent) or the dead list */
	struct mgw_registry *one;   /* the registry of one device that owns it */
	const struct mgw_device *d;
	struct rc_key key[NKEYS];
	size_t nkey;
};

struct reg_cache {
	struct mgw_regdb *db;
	size_t max, n, nb;
	struct rc_key **b;
	struct rc_ent lru;    /* sentinel */
	struct rc_ent *dying; /* killed since the last poll: freed by the next one */
	struct rc_ent *dead;  /* killed before the last poll: freed by this one */
	int64_t seq;
	uint64_t hits, misses, evicted;
};

static uint64_t hash(unsigned kind, const char *key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	h = (h ^ (uint8_t)kind) * 1099511628211ULL;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

int reg_cache_alloc(void *ctx, struct mgw_regdb *db, size_t max, struct reg_cache **out)
{
	struct reg_cache *c = talloc_zero(ctx, struct reg_cache);
	int rc;

	if (!c)
		return MGW_E_NOMEM;
	c->db = db;
	c->max = max ? max : CACHE_DEFAULT;
	for (c->nb = 64; c->nb < c->max * 2 && c->nb < (1u << 22); c->nb *= 2)
		;
	if (!(c->b = talloc_zero_array(c, struct rc_key *, c->nb))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	c->lru.prev = c->lru.next = &c->lru;
	/* changes made before we start are in the store already */
	if ((rc = mgw_regdb_seq(db, &c->seq)) != MGW_OK)
		goto out;
	*out = c;
	c = NULL;
	rc = MGW_OK;
out:
	talloc_free(c);
	return rc;
}

static struct rc_key *find(struct reg_cache *c, unsigned kind, const char *value)
{
	struct rc_key *k = c->b[hash(kind, value) & (c->nb - 1)];

	while (k && !(k->kind == kind && strcmp(k->value, value) == 0))
		k = k->next;
	return k;
}

static void unlink_key(struct reg_cache *c, struct rc_key *k)
{
	struct rc_key **pp = &c->b[hash(k->kind, k->value) & (c->nb - 1)];

	while (*pp && *pp != k)
		pp = &(*pp)->next;
	if (*pp)
		*pp = k->next;
}

static void lru_unlink(struct rc_ent *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = NULL;
}

static void lru_front(struct reg_cache *c, struct rc_ent *e)
{
	e->next = c->lru.next;
	e->prev = &c->lru;
	c->lru.next->prev = e;
	c->lru.next = e;
}

/* Unreachable from now on; freed two polls later at the earliest. */
static void kill(struct reg_cache *c, struct rc_ent *e)
{
	for (size_t i = 0; i < e->nkey; i++)
		unlink_key(c, &e->key[i]);
	lru_unlink(e);
	e->next = c->dying;
	c->dying = e;
	c->n--;
}

static void add_key(struct rc_ent *e, unsigned kind, const char *value)
{
	if (value && e->nkey < NKEYS)
		e->key[e->nkey++] = (struct rc_key){ NULL, kind, value, e };
}

static void insert(struct reg_cache *c, struct rc_ent *e)
{
	const struct mgw_device *d = e->d;
	struct rc_key *old;

	/* a stale copy of the same UE (the store changed, the poll has not run yet) goes */
	if ((old = find(c, 0, mgw_device_ue(d))))
		kill(c, old->e);
	add_key(e, 0, mgw_device_ue(d));
	add_key(e, MGW_CRED_PSK_ID, d->psk_identity);
	add_key(e, MGW_CRED_CERT_FP, d->cert_fp);
	add_key(e, MGW_CRED_CERT_FP, d->rpk_fp);
	add_key(e, MGW_CRED_CERT_SUBJECT, d->cert_subject);
	add_key(e, MGW_CRED_MSISDN, d->msisdn);
	add_key(e, MGW_CRED_MQTT_USER, d->mqtt_user);
	for (size_t i = 0; i < e->nkey; i++) {
		struct rc_key *k = &e->key[i], **b;

		if ((old = find(c, k->kind, k->value)) && old->e != e)
			kill(c, old->e);
		b = &c->b[hash(k->kind, k->value) & (c->nb - 1)];
		k->next = *b;
		*b = k;
	}
	lru_front(c, e);
	c->n++;
}

/* A store row made into a cached device. NULL (logged) if the row is not valid. */
static const struct mgw_device *load_row(struct reg_cache *c, char *row)
{
	struct rc_ent *e = talloc_zero(c, struct rc_ent);
	struct mgw_cfg_err err = { { 0 } };
	char *buf = NULL;
	int rc;

	if (!e || !(buf = talloc_asprintf(e, "[%s]", row)))
		goto fail;
	rc = sec_registry_row(e, "store", buf, strlen(buf), &e->one, &err);
	memset(buf, 0, strlen(buf));
	talloc_free(buf);
	if (rc != MGW_OK || !(e->d = sec_registry_first(e->one))) {
		LOGP(DSEC, MGW_LOGL_ERROR, "registry: a store row is not a valid entry: %s",
		     err.msg);
		goto fail;
	}
	insert(c, e);
	return e->d;
fail:
	talloc_free(e);
	return NULL;
}

static const struct mgw_device *fill(struct reg_cache *c, int rc, char *row)
{
	const struct mgw_device *d = NULL;

	if (rc == MGW_OK)
		d = load_row(c, row);
	else if (rc != MGW_E_NOT_FOUND)
		LOGP_RC(DSEC, MGW_LOGL_ERROR, rc, "registry: store lookup failed");
	if (row)
		memset(row, 0, strlen(row)); /* it holds the device's secrets */
	talloc_free(row);
	return d;
}

const struct mgw_device *reg_cache_get(struct reg_cache *c, unsigned kind, const char *value)
{
	struct rc_key *k = find(c, kind, value);
	char *row = NULL;
	int rc;

	if (k) {
		c->hits++;
		lru_unlink(k->e);
		lru_front(c, k->e);
		return k->e->d;
	}
	c->misses++;
	rc = kind == 0 ? mgw_regdb_get(c->db, c, value, &row)
		       : mgw_regdb_by_cred(c->db, c, (int)kind, value, &row);
	return fill(c, rc, row);
}

const struct mgw_device *reg_cache_at(struct reg_cache *c, size_t i)
{
	char *row = NULL;
	int rc = mgw_regdb_at(c->db, c, i, &row);

	return fill(c, rc, row);
}

struct mgw_regdb *reg_cache_db(struct reg_cache *c)
{
	return c ? c->db : NULL;
}

size_t reg_cache_count(struct reg_cache *c)
{
	size_t n = 0;

	if (mgw_regdb_count(c->db, &n) != MGW_OK)
		return 0;
	return n;
}

/* ---------------------------------------------------------------- the poll */

struct poll_ctx {
	struct reg_cache *c;
	mgw_registry_change_cb cb;
	void *arg;
};

static void on_change(void *arg, int64_t seq, const char *ue, int what)
{
	struct poll_ctx *p = arg;
	struct rc_key *k = find(p->c, 0, ue);

	if (k)
		kill(p->c, k->e);
	p->c->seq = seq;
	if (p->cb)
		p->cb(p->arg, ue, what);
}

static void sweep(struct reg_cache *c)
{
	while (c->dead) {
		struct rc_ent *e = c->dead;

		c->dead = e->next;
		talloc_free(e);
	}
	while (c->n > c->max) {
		c->evicted++;
		kill(c, c->lru.prev);
	}
	c->dead = c->dying;
	c->dying = NULL;
}

int mgw_registry_poll(const struct mgw_registry *r, size_t max, mgw_registry_change_cb cb,
		      void *arg, size_t *n)
{
	struct reg_cache *c = sec_registry_cache(r);
	struct poll_ctx p = { c, cb, arg };
	size_t k = 0;
	int rc = MGW_OK;

	if (c) {
		rc = mgw_regdb_changes(c->db, c->seq, max ? max : POLL_DEFAULT, on_change, &p, &k);
		sweep(c);
	}
	if (n)
		*n = k;
	return rc;
}

void mgw_registry_cache_stats(const struct mgw_registry *r, struct mgw_registry_cache_stats *st)
{
	struct reg_cache *c = sec_registry_cache(r);

	memset(st, 0, sizeof(*st));
	if (!c)
		return;
	st->hits = c->hits;
	st->misses = c->misses;
	st->evicted = c->evicted;
	st->cached = c->n;
}
