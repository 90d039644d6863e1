/* The security core: device registry, identity binding, policy, audit.
 *
 * Security is the only door. An adapter's authenticated channel builds a struct
 * mgw_identity (what the channel *proved*: a DTLS PSK identity, a certificate fingerprint,
 * the MSISDN of an SMPP deliver_sm from a bound SMSC, the broker-authenticated MQTT
 * username, or the M5S's TLS client identity) and hands it to the core; only the security
 * layer turns it into a UE Service ID. Whatever a device writes in oriAddr, the originator
 * that leaves the gateway is the UE Service ID bound to the credential.
 *
 * Every verdict carries a machine-readable cause and produces exactly one audit record.
 */
#ifndef MGW_SECURITY_H
#define MGW_SECURITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mgw/addr.h>
#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/msg.h>

struct mgw_store;

/* ---- identities ---- */
enum mgw_cred {
	MGW_CRED_NONE = 0,
	MGW_CRED_PSK_ID,    /* CoAP DTLS PSK identity */
	MGW_CRED_CERT_FP,   /* X.509 client certificate, "sha256:<hex>" */
	MGW_CRED_MSISDN,    /* SMS originator delivered by the bound SMSC */
	MGW_CRED_MQTT_USER, /* username the broker authenticated */
	MGW_CRED_M5S,       /* the MSGin5G Server (TLS client cert subject or token client) */
	MGW_CRED_CERT_SUBJECT, /* X.509 client certificate by its subject CN (issued by the
				* adapter's configured CA) */
};
const char *mgw_cred_name(enum mgw_cred c); /* "psk", "cert", "msisdn", "mqtt", "m5s",
						 "cert-subject" */

struct mgw_identity {
	enum mgw_ingress ingress;
	enum mgw_cred kind;
	char value[MGW_ID_MAX + 1];
	char peer[64]; /* transport address for the audit record, "" if none */
};

/* ---- registry ---- */
struct mgw_registry;
struct mgw_device;

/* Load a registry file (interfaces.md 3): errors name FILE:LINE:COL and the key.
 * Cross checks: every entry has a ue; no two entries share a ue or a credential. */
int mgw_registry_load(void *ctx, const char *file, struct mgw_registry **out,
		      struct mgw_cfg_err *err);
int mgw_registry_load_buf(void *ctx, const char *name, const char *buf, size_t len,
			  struct mgw_registry **out, struct mgw_cfg_err *err);
void mgw_registry_free(struct mgw_registry *r);
size_t mgw_registry_count(const struct mgw_registry *r);
const struct mgw_device *mgw_registry_by_cred(const struct mgw_registry *r, enum mgw_cred kind,
					      const char *value);
const struct mgw_device *mgw_registry_by_ue(const struct mgw_registry *r, const char *ue);
const struct mgw_device *mgw_registry_at(const struct mgw_registry *r, size_t i);
/* Persist the registry into the store (namespace "registry", one row per UE), replacing
 * what was there. */
int mgw_registry_save(const struct mgw_registry *r, struct mgw_store *s);

/* ---- the registry in the store (issue 13; doc/internals/registry.md) ----
 * A registry over the store's device tables (include/mgw/store.h mgw_regdb): the lookups
 * above answer from a bounded LRU cache of at most cache_max devices (0: 10000), filled
 * from the store on a miss. A device pointer handed out stays valid at least until the
 * next mgw_registry_poll() after the one that evicted it (never within a loop turn). db is
 * borrowed. */
struct mgw_regdb;
int mgw_registry_open_db(void *ctx, struct mgw_regdb *db, size_t cache_max,
			 struct mgw_registry **out);
/* Run from a timer (every 200 ms): read the store's changes since the last call, drop the
 * cached entries of the UEs changed and call cb once per change (what: enum
 * mgw_regdb_what, the values of enum mgw_dev_change); then evict down to cache_max.
 * At most max changes per call (0: 10000); *n how many (may be NULL). A registry loaded
 * from a file has no changes: MGW_OK, *n 0. */
typedef void (*mgw_registry_change_cb)(void *arg, const char *ue, int what);
int mgw_registry_poll(const struct mgw_registry *r, size_t max, mgw_registry_change_cb cb,
		      void *arg, size_t *n);
struct mgw_registry_cache_stats {
	uint64_t hits, misses, evicted;
	size_t cached;
};
void mgw_registry_cache_stats(const struct mgw_registry *r, struct mgw_registry_cache_stats *st);

/* Import registry entries into the store (registry_import.c): file streams (YAML as in
 * devices.yaml through libyaml's event parser; JSON Lines one entry per line), each entry
 * checked as devices.yaml's are. Run it inside mgw_regdb_begin()/_commit(): on an error
 * (err "FILE:LINE: key: reason") the caller rolls back and nothing is imported. src and gen
 * are written with each row (mgw_regdb_put). */
enum mgw_registry_fmt { MGW_REGFMT_AUTO = 0, MGW_REGFMT_YAML, MGW_REGFMT_JSONL };
struct mgw_registry_import_stats {
	size_t rows, added, updated, unchanged;
	bool secrets; /* some entry holds a PSK or COSE key */
};
int mgw_registry_import(struct mgw_regdb *db, const char *file, enum mgw_registry_fmt fmt,
			const char *src, int64_t gen, struct mgw_registry_import_stats *st,
			struct mgw_cfg_err *err);
/* One entry (YAML or JSON text of a mapping) checked and turned into its store row: *row
 * (compact JSON) and *dev under ctx. For msgin5g-gwctl add/update. */
struct mgw_regdb_dev;
int mgw_registry_entry(void *ctx, const char *name, const char *text, const char *src,
		       struct mgw_regdb_dev **dev, struct mgw_cfg_err *err);

const char *mgw_device_ue(const struct mgw_device *d);
/* The adapter that serves this device downlink (first of coap, mqtt, sms present). */
enum mgw_ingress mgw_device_adapter(const struct mgw_device *d);
/* Credential value of a kind, or NULL (psk_identity, cert fingerprint, msisdn, username). */
const char *mgw_device_cred(const struct mgw_device *d, enum mgw_cred kind);
/* The PSK of a CoAP device: MGW_E_NOT_FOUND if it has none. Do not log it. */
int mgw_device_psk(const struct mgw_device *d, const uint8_t **key, size_t *len);
/* The device's COSE key (registry "cose:", include/mgw/cose.h), or NULL: no object security
 * for that device. Valid as long as the registry. */
struct mgw_cose_key;
const struct mgw_cose_key *mgw_device_cose(const struct mgw_device *d);
/* The device's floor of the protection profile toward ASs (registry "protection:"):
 * 0 transport, 1 sign, 2 encrypt (the values of enum mgw_jose_protection). */
int mgw_device_protection(const struct mgw_device *d);

/* ---- audit (interfaces.md 6): one JSON object per line, per decision ---- */
struct mgw_audit;
int mgw_audit_open(void *ctx, const char *path, struct mgw_audit **out, char *errbuf,
		   size_t errlen);
int mgw_audit_reopen(struct mgw_audit *a); /* after logrotate / on SIGHUP */
void mgw_audit_close(struct mgw_audit *a);
struct mgw_audit_rec {
	enum mgw_dir dir;
	enum mgw_ingress adapter;
	const struct mgw_identity *claimed; /* may be NULL */
	const char *ue;                     /* bound UE Service ID, may be NULL */
	const char *msg_id;                 /* may be NULL */
	bool accept;
	const char *cause;      /* machine-readable: "OK", "SPOOF", "POLICY_DEST", ... */
	const char *detail;     /* one line, no payload, no key material */
	const char *protection; /* "transport", "sign", "encrypt", "cose" */
	const char *op;  /* NULL: a verdict on a message (dir is written); else the management
			  * operation ("device-change"), written instead of dir */
	const char *who; /* who made the change ("local-operator"), may be NULL */
};
/* MGW_OK, or MGW_E_IO when the record could not be written whole (logged once per episode
 * of failures, counted). */
int mgw_audit_write(struct mgw_audit *a, const struct mgw_audit_rec *r);
/* The failure policy (audit.required): false (the default) keeps serving while records are
 * lost; true makes the security core refuse new input whose record cannot be written
 * (MGW_E_FULL, cause AUDIT_UNAVAILABLE: "try again later" at every boundary) until a write
 * succeeds again. */
void mgw_audit_set_required(struct mgw_audit *a, bool required);
bool mgw_audit_required(const struct mgw_audit *a);
struct mgw_audit_stats {
	uint64_t written;  /* records written */
	uint64_t lost;     /* records that could not be written */
	uint64_t episodes; /* runs of consecutive failures */
	bool failing;      /* the last write failed */
};
void mgw_audit_stats(const struct mgw_audit *a, struct mgw_audit_stats *st);

/* ---- policy and verdicts ---- */
enum mgw_spoof_action { MGW_SPOOF_REWRITE = 0, MGW_SPOOF_REJECT = 1 };

struct mgw_policy {
	int64_t max_payload;              /* bytes (default 2048, TS 23.554 8.5.1) */
	enum mgw_spoof_action spoof;      /* a device writing another UE's oriAddr */
	struct mgw_cfg_strlist default_allow; /* "TYPE:addr" or "TYPE:*" for devices with no allow */
};
extern const struct mgw_cfg_schema mgw_policy_schema; /* the "policy:" config section */

struct mgw_verdict {
	int rc;                       /* MGW_OK or the mgw_err */
	char cause[48];               /* machine-readable, e.g. "UNKNOWN_DEVICE", "SPOOF" */
	char detail[MGW_DIAG_TEXT_MAX];
	char ue[MGW_ID_MAX + 1];      /* the bound (uplink) or destination (downlink) UE */
	bool cose_pending;            /* uplink accepted from a COSE device: cose_seq is to be */
	uint64_t cose_seq;            /* recorded by mgw_security_inbound_commit() */
};

struct mgw_security;

/* The security instance takes ownership of reg (talloc_steal); audit and store are
 * borrowed (store may be NULL in unit tests). */
int mgw_security_alloc(void *ctx, const struct mgw_policy *pol, struct mgw_registry *reg,
		       struct mgw_audit *audit, struct mgw_store *store, struct mgw_security **out);
void mgw_security_free(struct mgw_security *sec);
/* SIGHUP: swap in a new registry and policy atomically; the old registry is freed. Every
 * device added, updated (a credential or key changed) or removed is then announced with
 * mgw_security_device_changed(). */
int mgw_security_reload(struct mgw_security *sec, const struct mgw_policy *pol,
			struct mgw_registry *reg);
const struct mgw_registry *mgw_security_registry(const struct mgw_security *sec);

/* ---- the one lookup door (src/security/lookup.c): adapters and the core ask here, never
 * the registry itself. Answers are copies (or, for mgw_security_device(), a handle valid
 * until the current loop turn ends): the registry is a cache whose entries move. ---- */
struct mgw_ue_ref {
	char ue[MGW_ID_MAX + 1];  /* the UE Service ID bound to the credential */
	enum mgw_ingress adapter; /* the adapter that serves it downlink */
};
/* Which UE is this credential (value as the channel proved it; normalised like the
 * registry)? MGW_OK with *out set, MGW_E_UNKNOWN_DEVICE, MGW_E_INVAL. Writes no audit
 * record: the verdict is mgw_security_inbound()'s (or the caller's reject). */
int mgw_security_identify(struct mgw_security *sec, enum mgw_cred kind, const char *value,
			  struct mgw_ue_ref *out);
/* The PSK for a DTLS PSK identity, copied into key (cap bytes; wipe it after use): MGW_OK
 * with *len and *out (out may be NULL), MGW_E_UNKNOWN_DEVICE (no such identity, or it has
 * no PSK), MGW_E_TOO_BIG (cap too small). Never log the key. */
int mgw_security_psk(struct mgw_security *sec, const char *identity, struct mgw_ue_ref *out,
		     uint8_t *key, size_t cap, size_t *len);
/* The device of a UE, for the core's router and an adapter's deliver(): valid until the
 * current loop turn ends; MUST NOT be kept beyond it. NULL: not registered. */
const struct mgw_device *mgw_security_device(struct mgw_security *sec, const char *ue);
/* The floor of a UE's JOSE protection (mgw_device_protection()); 0 when not registered. */
int mgw_security_ue_protection(struct mgw_security *sec, const char *ue);

/* ---- change notification (src/security/watch.c; doc/internals/security.md "Changes") ----
 * What happened to one registered device. UPDATED: any credential or key changed (PSK,
 * PSK identity, certificate or RPK fingerprint, certificate subject, MSISDN, MQTT username,
 * COSE key): sessions and traffic proved with the old one MUST be refused from then on. */
enum mgw_dev_change { MGW_DEV_ADDED = 1, MGW_DEV_UPDATED, MGW_DEV_REMOVED };
const char *mgw_dev_change_name(enum mgw_dev_change what); /* "added", "updated", "removed" */
typedef void (*mgw_dev_watch_cb)(void *arg, const char *ue, enum mgw_dev_change what);
/* Register a watcher (core, adapters, north registration): called on the loop after the
 * registry changed, once per UE changed, in registration order; ue is valid during the call
 * only. The registry already answers with the new state when it is called. A watcher may
 * call mgw_security_unwatch() on itself (or another) from inside its callback. Watchers are
 * dropped when the security instance is freed. MGW_E_INVAL, MGW_E_NOMEM. */
int mgw_security_watch(struct mgw_security *sec, mgw_dev_watch_cb cb, void *arg);
/* Remove the watcher (cb, arg); nothing happens if it is not registered. */
void mgw_security_unwatch(struct mgw_security *sec, mgw_dev_watch_cb cb, void *arg);
/* The registry tells security what changed (the store poller, the SIGHUP reload): one audit
 * record (op "device-change", who "local-operator", the UE and the change; never a secret),
 * then every watcher. Call it on the loop, after the registry answers with the new state. */
void mgw_security_device_changed(struct mgw_security *sec, const char *ue,
				 enum mgw_dev_change what);

/* Uplink: bind id to its UE Service ID, set m->ori to it (or reject a spoof per policy),
 * check the destination against the allow-list and address-type table and the payload
 * size. Writes one audit record. A repeated (origin, msgId) is not refused here: it is an
 * idempotent retry, answered as success and stored once by the store (replay refusal of
 * protected content belongs to the protection layers). A device with a COSE key: its
 * payload is opened here (doc/interfaces.md 8.5), a Partial IV seen before is refused
 * COSE_REPLAY; an accepted one is in v->cose_seq for mgw_security_inbound_commit(). */
int mgw_security_inbound(struct mgw_security *sec, struct mgw_msg *m,
			 const struct mgw_identity *id, struct mgw_verdict *v);
/* Uplink, after mgw_security_inbound() accepted a message (v is its verdict): record what
 * the acceptance consumed (a COSE device's Partial IV, into its replay window in the store's
 * key/value table) as part of the current store batch. Call it right before the message is
 * enqueued, in the same call, so that both become durable together or not at all. MGW_OK
 * when there is nothing to record. */
int mgw_security_inbound_commit(struct mgw_security *sec, const struct mgw_verdict *v);
/* Downlink: caller must be the M5S; the destination must be a registered UE; *dev is the
 * device to deliver to. Writes one audit record. */
int mgw_security_outbound(struct mgw_security *sec, const struct mgw_msg *m,
			  const struct mgw_identity *caller, const struct mgw_device **dev,
			  struct mgw_verdict *v);
/* Downlink object security, right before m goes to dev's adapter: for a device with a COSE
 * key and a message with a payload (not a report), *out is a copy of m under ctx whose
 * payload is the base64url (no padding) of a COSE_Encrypt0/Mac0 of m's payload under the
 * gateway's next sequence number for that device; else *out is NULL (send m as it is).
 * MGW_E_FULL: no sequence number is durably reserved yet; a block is reserved in the current
 * store batch: try again once it is committed (mgw_store_barrier()). MGW_E_STORE /
 * MGW_E_NOMEM: try again later. Any other error: m cannot be protected for dev (audited
 * COSE_PROTECT); it must not be sent at all. */
int mgw_security_protect(struct mgw_security *sec, void *ctx, const struct mgw_msg *m,
			 const struct mgw_device *dev, struct mgw_msg **out);

/* COSE counters (doc/interfaces.md 8.5), also logged when the security instance is freed. */
struct mgw_cose_stats {
	uint64_t up_ok;        /* uplink opened */
	uint64_t up_required;  /* refused COSE_REQUIRED */
	uint64_t up_malformed; /* COSE_MALFORMED */
	uint64_t up_kid;       /* COSE_KID */
	uint64_t up_replay;    /* COSE_REPLAY */
	uint64_t up_auth;      /* COSE_AUTH */
	uint64_t up_state;     /* COSE_STATE (the store) */
	uint64_t down_ok;      /* downlink protected */
	uint64_t down_failed;  /* COSE_PROTECT */
};
void mgw_security_cose_stats(const struct mgw_security *sec, struct mgw_cose_stats *st);

/* A reject at the boundary before any message exists (failed handshake, malformed body):
 * writes one audit record with cause mgw_errname(rc) unless cause is given. */
void mgw_security_audit_reject(struct mgw_security *sec, enum mgw_dir dir,
			       enum mgw_ingress adapter, const struct mgw_identity *claimed,
			       const char *msg_id, int rc, const char *cause, const char *detail);

/* ---- the M5S as caller (north.listen): is this caller the M5S? ----
 * caller.c makes the decision, oauth_token.c checks OAuth2 access tokens the TS 33.501
 * 13.4.1.1 way (a JWS signed by a configured NRF key; iss, sub, aud, scope, exp, nbf, iat;
 * doc/internals/security.md "Caller authentication"). */

/* The "oauth2:" section of a listener (its schema: mgw_oauth2_check_schema). */
struct mgw_oauth2_check {
	char *nrf_keys;                  /* JWKS (JSON) or PEM public keys / certificates */
	struct mgw_cfg_strlist audience; /* aud must name one of these (NF type or instance) */
	struct mgw_cfg_strlist scope;    /* services offered to token callers */
	char *issuer;                    /* iss must be this (NRF instance id); NULL: any */
	int64_t max_skew_ms;             /* clock skew allowed on exp, nbf, iat */
};
extern const struct mgw_cfg_schema mgw_oauth2_check_schema;

/* The NRF keys and the claim rules of one listener. Loaded once at start; immutable. */
struct mgw_token_verifier;
/* MGW_OK, or MGW_E_CONFIG with a one-line reason in errbuf (file, key, cause). */
int mgw_token_verifier_alloc(void *ctx, const struct mgw_oauth2_check *cfg,
			     struct mgw_token_verifier **out, char *errbuf, size_t errlen);
void mgw_token_verifier_free(struct mgw_token_verifier *v);
/* Check a compact JWS access token (the bytes after "Bearer ") for a call of service
 * (e.g. "msgg-l3gdelivery"; NULL: no scope check) at now (seconds since the epoch).
 * MGW_OK with the token's sub in sub (at most sub_len - 1 bytes, cut); MGW_E_AUTH (the token
 * is not valid: v->cause TOKEN_MALFORMED, TOKEN_ALG, TOKEN_KID, TOKEN_SIGNATURE,
 * TOKEN_CLAIMS, TOKEN_ISSUER, TOKEN_EXPIRED, TOKEN_NOT_YET_VALID, TOKEN_AUDIENCE) or
 * MGW_E_FORBIDDEN (valid, but its scope does not cover service: TOKEN_SCOPE). v->detail
 * names the claim and never holds the token. */
int mgw_token_verify(const struct mgw_token_verifier *tv, const char *token, size_t len,
		     const char *service, int64_t now, char *sub, size_t sub_len,
		     struct mgw_verdict *v);

/* What a listener requires of its caller (built from north.listen). */
struct mgw_caller_policy {
	bool require_cert;                             /* tls.client_ca: a verified certificate */
	const struct mgw_cfg_strlist *allowed_clients; /* its CN is one of these (n 0: any) */
	const char *static_token;                      /* lab shortcut: this exact bearer token */
	const struct mgw_token_verifier *oauth2;       /* an NRF-signed access token */
	bool insecure;                                 /* nothing required (labs) */
};
/* What the caller presented. */
struct mgw_caller_creds {
	const char *cert_cn;       /* subject CN of its verified certificate, or NULL */
	const char *authorization; /* the Authorization header, or NULL */
	const char *service;       /* the service of the called path, or NULL if unknown */
	int64_t now;               /* seconds since the epoch */
};
/* Is this caller the M5S? MGW_OK with id->value set (certificate CN, else the token's sub,
 * else "bearer", "anonymous" or "insecure"); else MGW_E_AUTH (401) or MGW_E_FORBIDDEN
 * (403) with v->cause (NO_CLIENT_CERT, CLIENT_NOT_ALLOWED, TOKEN_MISSING, TOKEN_*,
 * NO_CALLER_AUTH) and v->detail. Writes no audit record: the caller audits the refusal
 * with v->cause (mgw_security_audit_reject), once. */
int mgw_security_caller(const struct mgw_caller_policy *p, const struct mgw_caller_creds *c,
			struct mgw_identity *id, struct mgw_verdict *v);

#endif
