/* msgin5g-gw north: the "north:" configuration section (interfaces.md 2). */
#include <stddef.h>
#include <string.h>

#include <mgw/cfg.h>
#include <mgw/north.h>
#include <mgw/security.h>

#define OFF(type, member) offsetof(struct type, member)

static const struct mgw_cfg_item tls_items[] = {
	{ "ca", MGW_CFG_PATH, OFF(mgw_north_tls, ca), MGW_CFG_F_READABLE, 0, 0, NULL,
	  "CA certificates (PEM) that verify the peer" },
	{ "cert", MGW_CFG_PATH, OFF(mgw_north_tls, cert), MGW_CFG_F_READABLE, 0, 0, NULL,
	  "the gateway's certificate chain (PEM)" },
	{ "key", MGW_CFG_PATH, OFF(mgw_north_tls, key), MGW_CFG_F_READABLE, 0, 0, NULL,
	  "the gateway's private key (PEM)" },
	{ "client_ca", MGW_CFG_PATH, OFF(mgw_north_tls, client_ca), MGW_CFG_F_READABLE, 0, 0, NULL,
	  "server: require M5S client certificates signed by this CA" },
	{ NULL },
};

static int tls_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_north_tls *t = obj;

	if (!t->cert != !t->key) {
		mgw_cfg_errf(err, obj, path, "cert and key must be given together");
		return -1;
	}
	return 0;
}

static const struct mgw_cfg_schema tls_schema = {
	"tls", tls_items, sizeof(struct mgw_north_tls), tls_check,
};

static const struct mgw_cfg_item oauth2_items[] = {
	{ "token_url", MGW_CFG_STR, OFF(mgw_north_oauth2, token_url), MGW_CFG_F_REQUIRED, 0, 1024,
	  NULL, "TS 29.510 access token endpoint (https)" },
	{ "client_id", MGW_CFG_STR, OFF(mgw_north_oauth2, client_id), MGW_CFG_F_REQUIRED, 0, 256,
	  NULL, "OAuth2 client id (the gateway's NF instance id)" },
	{ "client_secret", MGW_CFG_STR, OFF(mgw_north_oauth2, client_secret),
	  MGW_CFG_F_REQUIRED | MGW_CFG_F_SECRET, 0, 1024, NULL, "OAuth2 client secret" },
	{ "scope", MGW_CFG_STR, OFF(mgw_north_oauth2, scope), 0, 0, 256, "msgs-msgdelivery",
	  "requested scope" },
	{ NULL },
};

static const struct mgw_cfg_schema oauth2_schema = {
	"oauth2", oauth2_items, sizeof(struct mgw_north_oauth2), NULL,
};

static const struct mgw_cfg_item registration_items[] = {
	{ "enable", MGW_CFG_BOOL, OFF(mgw_north_registration, enable), 0, 0, 0, "true",
	  "register the devices at the M5S on their behalf (project extension)" },
	{ "gw_id", MGW_CFG_STR, OFF(mgw_north_registration, gw_id), MGW_CFG_F_REQUIRED, 0, 256,
	  NULL, "the gateway's identity toward the M5S (gwId)" },
	{ "api_root", MGW_CFG_STR, OFF(mgw_north_registration, api_root), MGW_CFG_F_REQUIRED, 0,
	  1024, NULL, "the gateway's own msgg apiRoot, where the M5S pushes (gwApiRoot)" },
	{ "batch", MGW_CFG_INT, OFF(mgw_north_registration, batch), 0, 1, 10000, "500",
	  "most UEs in one (de)registration request" },
	{ NULL },
};

static const struct mgw_cfg_schema registration_schema = {
	"registration", registration_items, sizeof(struct mgw_north_registration), NULL,
};

static const struct mgw_cfg_item m5s_items[] = {
	{ "api_root", MGW_CFG_STR, OFF(mgw_north_m5s, api_root), MGW_CFG_F_REQUIRED, 0, 1024, NULL,
	  "apiRoot of the MSGin5G Server (TS 29.501 4.4), e.g. https://m5s.example:443" },
	{ "tls", MGW_CFG_SECTION, OFF(mgw_north_m5s, tls), 0, 0, 0, NULL,
	  "TLS to the M5S: ca verifies it; cert+key for mutual TLS", &tls_schema },
	{ "oauth2", MGW_CFG_SECTION, OFF(mgw_north_m5s, oauth2), 0, 0, 0, NULL,
	  "optional OAuth2 client credentials (never sent without TLS)", &oauth2_schema },
	{ "insecure", MGW_CFG_BOOL, OFF(mgw_north_m5s, insecure), 0, 0, 0, "false",
	  "allow plain http:// to the M5S (labs only)" },
	{ "http2", MGW_CFG_BOOL, OFF(mgw_north_m5s, http2), 0, 0, 0, "true",
	  "use HTTP/2 (ALPN h2; h2c prior knowledge when insecure)" },
	{ "timeout", MGW_CFG_DURATION, OFF(mgw_north_m5s, timeout_ms), 0, 100, 300000, "10s",
	  "per-request timeout" },
	{ "max_inflight", MGW_CFG_INT, OFF(mgw_north_m5s, max_inflight), 0, 1, 10000, "100",
	  "requests in flight at once" },
	{ "retry_min", MGW_CFG_DURATION, OFF(mgw_north_m5s, retry_min_ms), 0, 10, 3600000, "500ms",
	  "first retry back-off" },
	{ "retry_max", MGW_CFG_DURATION, OFF(mgw_north_m5s, retry_max_ms), 0, 10, 86400000, "5m",
	  "longest retry back-off" },
	{ "registration", MGW_CFG_SECTION, OFF(mgw_north_m5s, registration), 0, 0, 0, NULL,
	  "register the devices at the M5S on their behalf (off unless given)",
	  &registration_schema },
	{ NULL },
};

static int m5s_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_north_m5s *m = obj;
	char sub[256];

	if (strncmp(m->api_root, "https://", 8) != 0) {
		if (strncmp(m->api_root, "http://", 7) != 0) {
			snprintf(sub, sizeof(sub), "%s.api_root", path);
			mgw_cfg_errf(err, obj, sub, "must start with https:// (or http:// with insecure: true)");
			return -1;
		}
		if (!m->insecure) {
			snprintf(sub, sizeof(sub), "%s.api_root", path);
			mgw_cfg_errf(err, obj, sub, "plain http:// needs 'insecure: true'");
			return -1;
		}
	}
	if (m->oauth2 && strncmp(m->oauth2->token_url, "https://", 8) != 0 && !m->insecure) {
		snprintf(sub, sizeof(sub), "%s.oauth2.token_url", path);
		mgw_cfg_errf(err, obj, sub, "must be https:// (tokens are never sent without TLS)");
		return -1;
	}
	if (m->retry_min_ms > m->retry_max_ms) {
		snprintf(sub, sizeof(sub), "%s.retry_min", path);
		mgw_cfg_errf(err, obj, sub, "is larger than retry_max");
		return -1;
	}
	return 0;
}

static const struct mgw_cfg_schema m5s_schema = {
	"m5s", m5s_items, sizeof(struct mgw_north_m5s), m5s_check,
};

static const struct mgw_cfg_item listen_items[] = {
	{ "addr", MGW_CFG_STR, OFF(mgw_north_listen, addr), 0, 0, 255, "127.0.0.1",
	  "address the M5S calls (msgg-l3gdelivery, msgg-n3gdelivery)" },
	{ "port", MGW_CFG_INT, OFF(mgw_north_listen, port), MGW_CFG_F_REQUIRED, 0, 65535, NULL,
	  "TCP port (0: any free port, logged at start)" },
	{ "tls", MGW_CFG_SECTION, OFF(mgw_north_listen, tls), 0, 0, 0, NULL,
	  "TLS: cert+key; client_ca requires M5S client certificates", &tls_schema },
	{ "insecure", MGW_CFG_BOOL, OFF(mgw_north_listen, insecure), 0, 0, 0, "false",
	  "labs only: without tls plain HTTP (h1, h2c); beside tls.cert any TLS client is the M5S" },
	{ "bearer_token", MGW_CFG_STR, OFF(mgw_north_listen, bearer_token), MGW_CFG_F_SECRET, 0,
	  4096, NULL, "lab shortcut: callers must send 'Authorization: Bearer <this>'" },
	{ "oauth2", MGW_CFG_SECTION, OFF(mgw_north_listen, oauth2), 0, 0, 0, NULL,
	  "callers must send an NRF-signed OAuth2 access token (TS 33.501 13.4.1)",
	  &mgw_oauth2_check_schema },
	{ "max_body", MGW_CFG_SIZE, OFF(mgw_north_listen, max_body), 0, 1024, 4194304, "64k",
	  "largest request body (413 above)" },
	{ "allowed_clients", MGW_CFG_STRLIST, OFF(mgw_north_listen, allowed_clients), 0, 0, 0, NULL,
	  "client certificate CNs that may call (empty: any certificate from client_ca); others 403" },
	{ "retry_after", MGW_CFG_DURATION, OFF(mgw_north_listen, retry_after_ms), 0, 1000, 3600000,
	  "5s", "Retry-After sent with 503 when the queue is full" },
	/* abuse limits (issue 12.4) */
	{ "max_connections", MGW_CFG_INT, OFF(mgw_north_listen, max_connections), 0, 1, 1000000,
	  "1024", "connections at once; when full the oldest unauthenticated one is shed" },
	{ "max_per_source", MGW_CFG_INT, OFF(mgw_north_listen, max_per_source), 0, 1, 1000000,
	  "256", "connections at once from one IP address (oldest unauthenticated shed)" },
	{ "handshake_timeout", MGW_CFG_DURATION, OFF(mgw_north_listen, handshake_timeout_ms), 0,
	  100, 600000, "10s", "TLS handshake deadline, from accept" },
	{ "header_timeout", MGW_CFG_DURATION, OFF(mgw_north_listen, header_timeout_ms), 0, 100,
	  600000, "10s", "HTTP/1.1: first byte of a request to the end of its headers" },
	{ "body_timeout", MGW_CFG_DURATION, OFF(mgw_north_listen, body_timeout_ms), 0, 100,
	  600000, "30s", "HTTP/1.1: end of the headers to the end of the body" },
	{ "idle_timeout", MGW_CFG_DURATION, OFF(mgw_north_listen, idle_timeout_ms), 0, 100,
	  3600000, "60s", "no request under way (HTTP/1.1 keep-alive, h2 without requests)" },
	{ "send_timeout", MGW_CFG_DURATION, OFF(mgw_north_listen, send_timeout_ms), 0, 100,
	  600000, "30s", "answers queued and the peer reads none of them: closed" },
	{ "max_output", MGW_CFG_SIZE, OFF(mgw_north_listen, max_output), 0, 16384, 67108864,
	  "256k", "bytes queued to one peer before its input is no longer read" },
	{ NULL },
};

/* Secure by default: a listener that would take any TLS client for the M5S is an error,
 * unless the file says insecure: true (logged loudly at start). */
static int listen_caller_check(const struct mgw_north_listen *l, const char *path,
			       struct mgw_cfg_err *err)
{
	char sub[256];

	if (l->insecure || (l->tls && l->tls->client_ca) || l->bearer_token || l->oauth2)
		return 0;
	snprintf(sub, sizeof(sub), "%s.tls.client_ca", path);
	mgw_cfg_errf(err, l, l->tls ? sub : path,
		     "the listener does not authenticate its caller: set tls.client_ca (M5S "
		     "client certificates) or oauth2 (access tokens), or write 'insecure: true'");
	return -1;
}

static int listen_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_north_listen *l = obj;
	char sub[256];

	if (!l->insecure && (!l->tls || !l->tls->cert)) {
		snprintf(sub, sizeof(sub), "%s.tls", path);
		mgw_cfg_errf(err, obj, l->tls ? sub : path,
			     "TLS needs cert and key (or write 'insecure: true')");
		return -1;
	}
	if (l->allowed_clients.n && (!l->tls || !l->tls->client_ca)) {
		snprintf(sub, sizeof(sub), "%s.allowed_clients", path);
		mgw_cfg_errf(err, obj, sub, "needs tls.client_ca (client certificates)");
		return -1;
	}
	return listen_caller_check(l, path, err);
}

static const struct mgw_cfg_schema listen_schema = {
	"listen", listen_items, sizeof(struct mgw_north_listen), listen_check,
};

static const struct mgw_cfg_item north_items[] = {
	{ "m5s", MGW_CFG_SECTION, OFF(mgw_north_cfg, m5s), 0, 0, 0, NULL,
	  "the MSGin5G Server the gateway calls (msgs-msgdelivery)", &m5s_schema },
	{ "listen", MGW_CFG_SECTION, OFF(mgw_north_cfg, listen), 0, 0, 0, NULL,
	  "where the M5S calls the gateway (msgg-l3gdelivery, msgg-n3gdelivery)", &listen_schema },
	{ NULL },
};

const struct mgw_cfg_schema mgw_north_schema = {
	"north", north_items, sizeof(struct mgw_north_cfg), NULL,
};
