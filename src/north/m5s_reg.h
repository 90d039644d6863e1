/* msgin5g-gw north: registration of the devices at the M5S on their behalf (a project
 * extension, doc/interfaces.md "Registration at the M5S", doc/internals/north.md).
 * Private to src/north: m5s_registration.c builds and reads the requests, m5s_client.c
 * sends them as NORTH queue entries like uplink messages. */
#ifndef MGW_NORTH_M5S_REG_H
#define MGW_NORTH_M5S_REG_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct mgw_north_registration;
struct mgw_security;
struct mgw_store;
struct mgw_store_entry;

/* the origin (and FIFO order key) of every registration entry in the NORTH queue */
#define M5S_REG_ORIGIN "GW:registration"
/* the store kv namespace: one key per UE registered (or being registered) at the M5S */
#define M5S_REG_NS "m5s.reg"

struct m5s_reg;
typedef void (*m5s_reg_kick)(void *arg);

/* cfg is copied; kick(arg) is called once new entries are durable. */
int m5s_reg_alloc(void *ctx, const struct mgw_north_registration *cfg, const char *m5s_api_root,
		  struct mgw_store *store, struct event_base *base, m5s_reg_kick kick, void *arg,
		  struct m5s_reg **out);
bool m5s_reg_is_entry(const struct mgw_store_entry *e);
/* The HTTP request of entry e: url and body (NUL-terminated) talloc'd under ctx, label a
 * short text for logs ("registration of 3 UEs"). MGW_E_MALFORMED: an unreadable entry. */
int m5s_reg_request(struct m5s_reg *r, void *ctx, const struct mgw_store_entry *e, char **url,
		    char **body, size_t *len, char *label, size_t cap);
/* A final answer (2xx or a 4xx not to be retried) to the entry whose blob is given:
 * records the per-UE results (a UE the M5S refused is no longer marked registered, so the
 * next sync tries it again), logs them, audits each refusal. MGW_OK: the entry is done;
 * MGW_E_PEER: it failed (cause written). */
int m5s_reg_answer(struct m5s_reg *r, struct mgw_security *sec, const void *blob, size_t blob_len,
		   long status, const char *resp, size_t resp_len, char *cause, size_t cap);
int m5s_reg_sync(struct m5s_reg *r, struct mgw_security *sec);
/* what: enum mgw_dev_change (security.h) */
void m5s_reg_changed(struct m5s_reg *r, struct mgw_security *sec, const char *ue, int what);

#endif
