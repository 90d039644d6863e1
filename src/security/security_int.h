/* msgin5g-gw security: declarations private to src/security/ (registry.c, policy.c,
 * security.c). Nothing outside this folder includes this file. */
#ifndef MGW_SECURITY_INT_H
#define MGW_SECURITY_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mgw/addr.h>
#include <mgw/msg.h>
#include <mgw/security.h>

/* Fill a verdict: rc, cause, and a detail made one printable line (security.c). */
void sec_verdict_vset(struct mgw_verdict *v, int rc, const char *cause, const char *fmt,
		      va_list ap) __attribute__((format(printf, 4, 0)));

/* One allow-list entry: "TYPE:addr" (exact) or "TYPE:*" (any address of that type). */
struct sec_allow {
	enum mgw_addr_type type;
	bool any;
	char *addr; /* talloc'd; NULL when any */
};

struct sec_allow_list {
	size_t n;
	struct sec_allow *v;
};

/* A registered device. Immutable once the registry is built; valid until the registry that
 * holds it is freed (mgw_security_reload() frees the old one). */
struct mgw_device {
	char *ue;
	char *psk_identity;
	uint8_t *psk; /* wiped by a talloc destructor; never logged */
	size_t psk_len;
	char *cert_fp; /* "sha256:" + 64 lowercase hex (certificate DER) */
	char *rpk_fp;  /* "sha256:" + 64 lowercase hex (SubjectPublicKeyInfo DER) */
	char *cert_subject; /* CN of a certificate issued by the adapter's CA */
	char *msisdn;  /* digits only */
	char *mqtt_user;
	bool has_allow; /* the entry had "allow:" (possibly empty: nothing allowed) */
	int protection; /* floor of the JOSE profile: 0 transport, 1 sign, 2 encrypt */
	struct sec_allow_list allow;
	struct mgw_cose_key *cose; /* object security (cose:), NULL if none; wiped on free */
	char *cose_kid;            /* its kid, lowercase hex (store copy, kv keys) */
};

/* ---- registry.c, registry_cache.c: the registry over the store ---- */
struct reg_cache;
struct mgw_regdb;
/* One registry entry (YAML or JSON text of a one-element sequence) checked and built as a
 * registry of one device, quietly; name heads the messages in err. */
int sec_registry_row(void *ctx, const char *name, const char *buf, size_t len,
		     struct mgw_registry **out, struct mgw_cfg_err *err);
const struct mgw_device *sec_registry_first(const struct mgw_registry *r);
struct reg_cache *sec_registry_cache(const struct mgw_registry *r);
int reg_cache_alloc(void *ctx, struct mgw_regdb *db, size_t max, struct reg_cache **out);
/* kind 0: by UE; else (enum mgw_cred, normalised value). */
const struct mgw_device *reg_cache_get(struct reg_cache *c, unsigned kind, const char *value);
const struct mgw_device *reg_cache_at(struct reg_cache *c, size_t i);
size_t reg_cache_count(struct reg_cache *c);
/* The store's registry tables behind the cache (walk.c pages them). */
struct mgw_regdb *reg_cache_db(struct reg_cache *c);

/* ---- policy.c ---- */

/* Parse "TYPE:addr" / "TYPE:*". TYPE must be one of UE AS GROUP BC TOPIC; addr non-empty,
 * at most MGW_ID_MAX bytes. On success *type, *addr (pointing into s) and *any are set.
 * On error why (if not NULL) gets a one-line reason and MGW_E_MALFORMED is returned. */
int sec_allow_parse(const char *s, enum mgw_addr_type *type, const char **addr, bool *any,
		    char *why, size_t whylen);
/* Build a list under ctx from strings (each must parse). */
int sec_allow_list_build(void *ctx, char *const *v, size_t n, struct sec_allow_list *out);
bool sec_allow_match(const struct sec_allow_list *l, const struct mgw_addr *dest);

/* The destination check: the static (direction, ingress, addrType) table, then the allow
 * list. allow NULL means "no list": the table's defaults apply (UE and AS open).
 * Returns MGW_OK, or MGW_E_POLICY with *cause ("POLICY_ADDR_TYPE" / "POLICY_DEST") and a
 * one-line detail. */
int sec_policy_dest(enum mgw_dir dir, enum mgw_ingress in, const struct mgw_addr *dest,
		    const struct sec_allow_list *allow, const char **cause, char *detail,
		    size_t detail_len);

/* ---- registry.c ---- */

/* Normalise a credential value of kind into out (fingerprints: "sha256:" + lowercase hex
 * without colons; MSISDN: digits without "+"). MGW_E_MALFORMED if it is not well formed. */
int sec_cred_normalise(enum mgw_cred kind, const char *in, char *out, size_t outlen);

/* ---- cose_gw.c: the gateway's COSE profile (doc/internals/cose.md "Integration") ---- */

/* Standard base64 or base64url, padding optional (but right when present), nothing else:
 * the bytes into out (at most cap). MGW_E_MALFORMED for anything else, MGW_E_TOO_BIG when
 * it does not fit. */
int sec_b64_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *outlen);

/* Per security instance: the downlink sequence numbers in use and the counters. */
struct sec_cose;
int sec_cose_alloc(void *ctx, struct sec_cose **out);
void sec_cose_get_stats(const struct sec_cose *cs, struct mgw_cose_stats *st);

/* What a refusal says: the verdict's rc, cause and detail. */
struct sec_cose_why {
	int rc;
	const char *cause;
	char detail[MGW_DIAG_TEXT_MAX];
};

/* Uplink message m from device d (which has a COSE key): decode the COSE object in the
 * payload, check the kid, the replay window (kv "cose.rw") and the tag, and replace the
 * payload by the plaintext. *seq: the Partial IV to commit with sec_cose_commit(). */
int sec_cose_open(struct sec_cose *cs, struct mgw_store *st, const struct mgw_device *d,
		  struct mgw_msg *m, uint64_t *seq, struct sec_cose_why *why);
/* Record seq in d's replay window, in the store's current batch. */
int sec_cose_commit(struct sec_cose *cs, struct mgw_store *st, const struct mgw_device *d,
		    uint64_t seq, struct sec_cose_why *why);
/* Downlink: *out = a copy of m under ctx with the payload protected for d, or NULL when
 * nothing is to be protected. MGW_E_FULL: wait for the store's next commit (a block of
 * sequence numbers is being reserved). */
int sec_cose_protect(struct sec_cose *cs, struct mgw_store *st, void *ctx,
		     const struct mgw_device *d, const struct mgw_msg *m, struct mgw_msg **out,
		     struct sec_cose_why *why);

/* ---- watch.c: the change notification ---- */

struct sec_watch;
int sec_watch_alloc(void *ctx, struct sec_watch **out);
/* security.c: the instance's watchers */
struct sec_watch *sec_watch_of(struct mgw_security *sec);
/* Call every watcher for one change (no audit record). */
void sec_watch_notify(struct mgw_security *sec, const char *ue, enum mgw_dev_change what);
/* security.c: the one audit record (and log line) of a change; adapter: the one that serves
 * (or served, for a removed device) the UE, MGW_IN_NONE if unknown. */
void sec_change_record(struct mgw_security *sec, const char *ue, enum mgw_dev_change what,
		       enum mgw_ingress adapter);

/* One change a new registry makes (ue talloc'd under the array). */
struct sec_change {
	char *ue;
	enum mgw_dev_change what;
	enum mgw_ingress adapter;
};
/* What new changes against old: added and updated UEs in new's order, then removed ones in
 * old's. *out is a talloc array under ctx (NULL when nothing changed). */
int sec_watch_diff(void *ctx, const struct mgw_registry *old, const struct mgw_registry *new,
		   struct sec_change **out, size_t *nout);

#endif
