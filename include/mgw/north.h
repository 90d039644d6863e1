/* The MSGin5G side (TS 29.538): the client to the M5S and the server for the M5S.
 * This header holds the configuration of the "north:" section. */
#ifndef MGW_NORTH_H
#define MGW_NORTH_H

#include <stdbool.h>
#include <stdint.h>
#include <mgw/cfg.h>

struct mgw_north_tls {
	char *ca;        /* CA bundle that verifies the peer */
	char *cert;      /* our certificate (PEM) */
	char *key;       /* our private key (PEM) */
	char *client_ca; /* server side: require client certificates signed by this CA */
};

struct mgw_north_oauth2 {
	char *token_url;
	char *client_id;
	char *client_secret;
	char *scope;
};

/* Registration of the devices at the M5S on their behalf (a project extension,
 * doc/interfaces.md "Registration at the M5S"): off unless configured. */
struct mgw_north_registration {
	bool enable;
	char *gw_id;     /* the gateway's identity toward the M5S (gwId) */
	char *api_root;  /* the gateway's own msgg apiRoot (gwApiRoot), where the M5S pushes */
	int64_t batch;   /* most UEs in one request */
};

struct mgw_north_m5s {
	char *api_root; /* https://host:port[/prefix] */
	struct mgw_north_tls *tls;
	struct mgw_north_oauth2 *oauth2;
	bool insecure;  /* allow http:// (h2c prior knowledge / plain h1) */
	bool http2;     /* prefer HTTP/2 (ALPN h2); false: HTTP/1.1 */
	int64_t timeout_ms;
	int64_t max_inflight;
	int64_t retry_min_ms, retry_max_ms;
	struct mgw_north_registration *registration; /* NULL: off */
};

struct mgw_oauth2_check; /* include/mgw/security.h */

struct mgw_north_listen {
	char *addr;
	int64_t port;
	struct mgw_north_tls *tls;
	bool insecure; /* plain HTTP (h1 and h2c) */
	char *bearer_token; /* if set: required as "Authorization: Bearer <token>" */
	struct mgw_oauth2_check *oauth2; /* if set: an NRF-signed access token is required */
	int64_t max_body;
	struct mgw_cfg_strlist allowed_clients; /* client certificate CNs allowed (empty: any
	                                           certificate from client_ca) */
	int64_t retry_after_ms; /* Retry-After (rounded up to seconds) with 503 when full */
	/* abuse limits (issue 12.4; doc/internals/north.md "Listener limits") */
	int64_t max_connections, max_per_source, max_output;
	int64_t handshake_timeout_ms, header_timeout_ms, body_timeout_ms, idle_timeout_ms,
		send_timeout_ms;
};

struct mgw_north_cfg {
	struct mgw_north_m5s *m5s;
	struct mgw_north_listen *listen;
};

extern const struct mgw_cfg_schema mgw_north_schema;

struct event_base;
struct mgw_core;
struct mgw_store;
struct mgw_security;

/* ---- the client to the M5S (msgs-msgdelivery) ----
 * Drives the NORTH queue: claims due entries (per-originator FIFO is the store's), POSTs
 * UEMessageDelivery to deliver-ue-message or DeliveryStatusReport to deliver-report, and
 * records the answer: 200 (status absent or DELY_STORED) completes the entry; DELY_FAILED
 * and 4xx other than 429 fail it and produce a delivery status report toward the
 * originator when one was required (mgw_core_report_failure); 429, 503, other 5xx,
 * timeouts and connection loss retry with exponential back-off and jitter, honouring
 * Retry-After. At most cfg->max_inflight requests at once (h2 streams or h1 connections). */
struct mgw_north_client;
int mgw_north_client_start(void *ctx, struct event_base *base, const struct mgw_north_m5s *cfg,
			   struct mgw_core *core, struct mgw_store *store,
			   struct mgw_north_client **out, char *errbuf, size_t errlen);
/* New entries may be due now (called through the core's notify hook). */
void mgw_north_client_kick(struct mgw_north_client *c);
/* Stop: in-flight requests are abandoned; their entries stay INFLIGHT in the store and go
 * back to ACCEPTED at the next start (at-least-once; the M5S deduplicates on msgId). */
void mgw_north_client_free(struct mgw_north_client *c);

/* Registration at the M5S (cfg->registration enabled; else a no-op returning MGW_OK):
 * every device of sec's registry not yet registered is registered, every UE registered
 * earlier and no longer in the registry de-registered (a walk of the registry: once at
 * start-up). Durable NORTH entries of up to batch UEs each; the state is kept in the
 * store's kv ("m5s.reg"), so a restart registers only what changed. Live changes after
 * that (SIGHUP, gwctl devices) come from the change notification of security.h, which the
 * client watches while registration is on; the changes of one loop turn go out together. */
int mgw_north_client_sync_devices(struct mgw_north_client *c, struct mgw_security *sec);

struct mgw_north_stats {
	uint64_t sent, ok, stored, failed, retried;
};
void mgw_north_client_stats(const struct mgw_north_client *c, struct mgw_north_stats *st);

/* ---- the server for the M5S (msgg-l3gdelivery, msgg-n3gdelivery) ----
 * 204 once durable; 400/401/403/404/411/413/415/429/503 with ProblemDetails (see
 * doc/interfaces.md 4). */
struct mgw_msgg_server;
int mgw_msgg_server_start(void *ctx, struct event_base *base, const struct mgw_north_listen *cfg,
			  struct mgw_core *core, struct mgw_security *sec,
			  struct mgw_msgg_server **out, char *errbuf, size_t errlen);
int mgw_msgg_server_port(const struct mgw_msgg_server *s);
void mgw_msgg_server_free(struct mgw_msgg_server *s);

#endif
