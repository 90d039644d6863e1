/* The CoAP adapter (src/adapter/coap/, doc/internals/coap.md): CoAP (RFC 7252) devices over
 * DTLS 1.2 on libcoap 3 (OpenSSL backend), driven from the one libevent loop.
 *
 * Resources (interfaces.md 5): POST /msg (Content-Format 50 JSON or 60 CBOR), POST /report,
 * GET /inbox + Observe for downlink. A device is the credential its DTLS handshake proved
 * (PSK identity, or the SHA-256 fingerprint of its client certificate); plain CoAP
 * listeners exist only with `insecure: true` and then believe a claimed `?ep=` identity.
 */
#ifndef MGW_ADAPTER_COAP_H
#define MGW_ADAPTER_COAP_H

#include <stdbool.h>
#include <stdint.h>
#include <mgw/adapter.h>
#include <mgw/cfg.h>

struct mgw_coap_listen {
	char *addr;   /* numeric IPv4/IPv6 */
	int64_t port; /* UDP port */
	bool plain;   /* plain CoAP (no DTLS): needs coap.insecure */
};

struct mgw_coap_tls {
	char *cert, *key; /* the gateway's certificate, for certificate devices */
	char *ca;         /* CA that signed device certificates (else: pinned fingerprints) */
};

/* The "coap:" config section. */
struct mgw_coap_cfg {
	struct mgw_cfg_list listen; /* of struct mgw_coap_listen */
	bool insecure;
	struct mgw_coap_tls *tls;
	int64_t max_body;        /* bytes of one request body, block-wise included */
	int64_t max_sessions;    /* concurrent DTLS sessions */
	int64_t idle_timeout_ms; /* a session without traffic is closed */
	int64_t rate;            /* uplink messages per second per device (burst: burst) */
	int64_t burst;
	int64_t handshake_rate;  /* handshakes per second per source address (burst 2x) */
	int64_t ack_timeout_ms;  /* CoAP ACK_TIMEOUT for notifications */
	int64_t max_retransmit;  /* CoAP MAX_RETRANSMIT for notifications */
	int64_t retry_after_ms;  /* Max-Age of a 5.03 / 4.29 */
	int64_t rcvbuf;          /* receive buffer of each listener's socket, bytes */
	int64_t hello_rate;      /* cookie-less ClientHellos answered per second (all sources) */
	int64_t max_half_open;   /* handshakes past the cookie, in progress at once */
	int64_t max_half_open_per_ip; /* the same, per source address */
	int64_t handshake_timeout_ms; /* a handshake past the cookie not done by then is freed */
};

extern const struct mgw_cfg_schema mgw_coap_schema;
extern const struct mgw_adapter_ops mgw_adapter_coap;

#endif
