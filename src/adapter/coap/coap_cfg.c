/* CoAP adapter: the "coap:" configuration section (include/mgw/adapter_coap.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>

#include <mgw/adapter_coap.h>
#include <mgw/cfg.h>

#define OFF(type, member) offsetof(struct type, member)

static int listen_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_coap_listen *l = obj;
	struct in6_addr a6;
	struct in_addr a4;
	char sub[256];

	if (inet_pton(AF_INET, l->addr, &a4) != 1 && inet_pton(AF_INET6, l->addr, &a6) != 1) {
		snprintf(sub, sizeof(sub), "%s.addr", path);
		mgw_cfg_errf(err, obj, sub, "'%s' is not a numeric IPv4 or IPv6 address", l->addr);
		return -1;
	}
	return 0;
}

static const struct mgw_cfg_item listen_items[] = {
	{ "addr", MGW_CFG_STR, OFF(mgw_coap_listen, addr), 0, 0, 64, "127.0.0.1",
	  "listen address, numeric IPv4 or IPv6" },
	{ "port", MGW_CFG_INT, OFF(mgw_coap_listen, port), MGW_CFG_F_REQUIRED, 1, 65535, NULL,
	  "UDP port (coaps: 5684, coap: 5683)" },
	{ "plain", MGW_CFG_BOOL, OFF(mgw_coap_listen, plain), 0, 0, 0, "false",
	  "plain CoAP without DTLS (needs coap.insecure: true; devices are not authenticated)" },
	{ NULL },
};

static const struct mgw_cfg_schema listen_schema = {
	"listen", listen_items, sizeof(struct mgw_coap_listen), listen_check,
};

static int tls_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_coap_tls *t = obj;

	if (!t->cert != !t->key) {
		mgw_cfg_errf(err, obj, path, "cert and key go together");
		return -1;
	}
	if (t->ca && !t->cert) {
		mgw_cfg_errf(err, obj, path, "ca needs cert and key (the gateway's own certificate)");
		return -1;
	}
	return 0;
}

static const struct mgw_cfg_item tls_items[] = {
	{ "cert", MGW_CFG_PATH, OFF(mgw_coap_tls, cert), MGW_CFG_F_READABLE, 0, 0, NULL,
	  "the gateway's certificate (PEM) for certificate devices" },
	{ "key", MGW_CFG_PATH, OFF(mgw_coap_tls, key), MGW_CFG_F_READABLE, 0, 0, NULL,
	  "its private key (PEM)" },
	{ "ca", MGW_CFG_PATH, OFF(mgw_coap_tls, ca), MGW_CFG_F_READABLE, 0, 0, NULL,
	  "CA of device certificates; without it only pinned fingerprints are accepted" },
	{ NULL },
};

static const struct mgw_cfg_schema tls_schema = {
	"tls", tls_items, sizeof(struct mgw_coap_tls), tls_check,
};

static const struct mgw_cfg_item coap_items[] = {
	{ "listen", MGW_CFG_LIST, OFF(mgw_coap_cfg, listen), MGW_CFG_F_REQUIRED, 0, 0, NULL,
	  "UDP listeners: [ { addr, port, plain } ] (DTLS unless plain)", &listen_schema },
	{ "insecure", MGW_CFG_BOOL, OFF(mgw_coap_cfg, insecure), 0, 0, 0, "false",
	  "allow plain CoAP listeners (unauthenticated devices: labs only)" },
	{ "tls", MGW_CFG_SECTION, OFF(mgw_coap_cfg, tls), 0, 0, 0, NULL,
	  "certificates for X.509 devices (PSK devices need none)", &tls_schema },
	{ "max_body", MGW_CFG_SIZE, OFF(mgw_coap_cfg, max_body), 0, 64, 1048576, "16KiB",
	  "largest request body, block-wise transfers included (bigger: 4.13)" },
	{ "max_sessions", MGW_CFG_INT, OFF(mgw_coap_cfg, max_sessions), 0, 1, 1000000, "10000",
	  "concurrent DTLS sessions; a handshake beyond it is refused" },
	{ "idle_timeout", MGW_CFG_DURATION, OFF(mgw_coap_cfg, idle_timeout_ms), 0, 1000,
	  86400000, "300s", "a session without traffic for this long is closed" },
	{ "rate", MGW_CFG_INT, OFF(mgw_coap_cfg, rate), 0, 1, 100000, "20",
	  "uplink messages per second per device (more: 4.29 with Max-Age)" },
	{ "burst", MGW_CFG_INT, OFF(mgw_coap_cfg, burst), 0, 1, 100000, "40",
	  "messages a device may send at once before rate applies" },
	{ "handshake_rate", MGW_CFG_INT, OFF(mgw_coap_cfg, handshake_rate), 0, 1, 100000, "10",
	  "DTLS handshakes per second per source address (burst twice that)" },
	{ "ack_timeout", MGW_CFG_DURATION, OFF(mgw_coap_cfg, ack_timeout_ms), 0, 100, 60000,
	  "2s", "CoAP ACK_TIMEOUT of downlink notifications (RFC 7252 4.8)" },
	{ "max_retransmit", MGW_CFG_INT, OFF(mgw_coap_cfg, max_retransmit), 0, 0, 10, "4",
	  "CoAP MAX_RETRANSMIT of downlink notifications" },
	{ "retry_after", MGW_CFG_DURATION, OFF(mgw_coap_cfg, retry_after_ms), 0, 1000, 3600000,
	  "5s", "Max-Age of a 5.03 (queue full) or 4.29 (rate) answer" },
	{ "rcvbuf", MGW_CFG_SIZE, OFF(mgw_coap_cfg, rcvbuf), 0, 65536, 268435456, "4MiB",
	  "receive buffer of each listener's UDP socket (bursts while the store commits)" },
	{ "hello_rate", MGW_CFG_INT, OFF(mgw_coap_cfg, hello_rate), 0, 1, 1000000, "20000",
	  "ClientHellos without a valid cookie answered per second, all sources (more: dropped)" },
	{ "max_half_open", MGW_CFG_INT, OFF(mgw_coap_cfg, max_half_open), 0, 1, 100000, "256",
	  "DTLS handshakes past the cookie exchange in progress at once (more: refused)" },
	{ "max_half_open_per_ip", MGW_CFG_INT, OFF(mgw_coap_cfg, max_half_open_per_ip), 0, 1,
	  100000, "16", "the same per source address" },
	{ "handshake_timeout", MGW_CFG_DURATION, OFF(mgw_coap_cfg, handshake_timeout_ms), 0, 1000,
	  600000, "30s", "a handshake past the cookie not done by then is dropped" },
	{ NULL },
};

static int coap_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_coap_cfg *c = obj;
	char sub[256];

	if (c->listen.n == 0) {
		snprintf(sub, sizeof(sub), "%s.listen", path);
		mgw_cfg_errf(err, obj, sub, "at least one listener");
		return -1;
	}
	for (size_t i = 0; i < c->listen.n; i++) {
		const struct mgw_coap_listen *l = MGW_CFG_LIST_AT(&c->listen, struct mgw_coap_listen, i);

		if (l->plain && !c->insecure) {
			snprintf(sub, sizeof(sub), "%s.listen[%zu].plain", path, i);
			mgw_cfg_errf(err, obj, sub,
				     "plain CoAP authenticates nobody: write 'coap.insecure: true'");
			return -1;
		}
	}
	if (c->max_half_open_per_ip > c->max_half_open) {
		snprintf(sub, sizeof(sub), "%s.max_half_open_per_ip", path);
		mgw_cfg_errf(err, obj, sub, "must be at most max_half_open (%lld)",
			     (long long)c->max_half_open);
		return -1;
	}
	if (c->burst < c->rate) {
		snprintf(sub, sizeof(sub), "%s.burst", path);
		mgw_cfg_errf(err, obj, sub, "must be at least rate (%lld)", (long long)c->rate);
		return -1;
	}
	return 0;
}

const struct mgw_cfg_schema mgw_coap_schema = {
	"coap", coap_items, sizeof(struct mgw_coap_cfg), coap_check,
};
