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

struct mgw_north_m5s {
	char *api_root; /* https://host:port[/prefix] */
	struct mgw_north_tls *tls;
	struct mgw_north_oauth2 *oauth2;
	bool insecure;  /* allow http:// (h2c prior knowledge / plain h1) */
	bool http2;     /* prefer HTTP/2 (ALPN h2); false: HTTP/1.1 */
	int64_t timeout_ms;
	int64_t max_inflight;
	int64_t retry_min_ms, retry_max_ms;
};

struct mgw_north_listen {
	char *addr;
	int64_t port;
	struct mgw_north_tls *tls;
	bool insecure; /* plain HTTP (h1 and h2c) */
	char *bearer_token; /* if set: required as "Authorization: Bearer <token>" */
	int64_t max_body;
};

struct mgw_north_cfg {
	struct mgw_north_m5s *m5s;
	struct mgw_north_listen *listen;
};

extern const struct mgw_cfg_schema mgw_north_schema;

#endif
