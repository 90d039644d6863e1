/* msgin5g-gw: the one TLS policy of every TLS link (north server and client, SMPP over TLS,
 * the MQTT broker link) and the one schema of a client-TLS config block `tls: { ca, cert,
 * key }` (sms.smsc[].tls, mqtt.broker.tls). doc/security.md states the policy, and
 * doc/internals/tls.md how each library is made to follow it.
 *
 * Policy: protocol floor TLS 1.2; TLS 1.2 suites ECDHE + AEAD (AES-GCM, ChaCha20-Poly1305)
 * only; TLS 1.3 suites AES-GCM and ChaCha20-Poly1305 (no CCM_8: 64-bit tag); no compression;
 * no renegotiation; as a server, our suite order wins. */
#ifndef MGW_TLS_POLICY_H
#define MGW_TLS_POLICY_H

#include <mgw/cfg.h>

/* OpenSSL cipher list (TLS 1.2 and below; the floor makes it TLS 1.2 only) */
#define MGW_TLS_POLICY_CIPHERS12                                                           \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                        \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                        \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
/* OpenSSL TLS 1.3 ciphersuites */
#define MGW_TLS_POLICY_CIPHERS13                                                           \
	"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"

/* DTLS 1.2 (CoAP): the same AEAD-only rule, plus the suites RFC 7252 9.1.3 makes mandatory
 * for CoAP (PSK and ECDHE-ECDSA with AES-128-CCM_8) and AES-CCM. libcoap makes the context
 * and calls its setup hook from the ClientHello callback of every session, PSK ones too, so
 * the list holds both kinds; applied per session (mgw_tls_policy_apply_dtls_ssl). */
#define MGW_DTLS_POLICY_CIPHERS12                                                          \
	"ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM:ECDHE-ECDSA-AES256-CCM:"            \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"                      \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"                        \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:"                          \
	"PSK-AES128-CCM8:PSK-AES128-CCM:PSK-AES256-CCM:PSK-AES128-GCM-SHA256:"              \
	"PSK-AES256-GCM-SHA384:PSK-CHACHA20-POLY1305:ECDHE-PSK-CHACHA20-POLY1305"

struct ssl_ctx_st; /* SSL_CTX: OpenSSL stays out of this header */
struct ssl_st;     /* SSL */

/* Applies the whole policy to a context made by the caller (client or server), before any
 * connection is made from it. MGW_OK, or MGW_E_TLS with OpenSSL's error queue left for
 * the caller's message (mgw_tls_policy_strerror). */
int mgw_tls_policy_apply(struct ssl_ctx_st *ctx);
/* For a connection whose context a library made (libmosquitto): what can still be set on
 * the SSL once it exists (no renegotiation, no compression). The library is given the
 * floor and the lists through its own API. */
void mgw_tls_policy_apply_ssl(struct ssl_st *ssl);
/* A DTLS server session with certificates, before its suite is chosen (libcoap's
 * additional_tls_setup_call_back): the DTLS list and the connection options. MGW_OK or
 * MGW_E_TLS. */
int mgw_tls_policy_apply_dtls_ssl(struct ssl_st *ssl);

/* A client-TLS block: the peer's certificate is verified against ca (its name or address
 * must match the host the link is configured with); cert and key (together) are the
 * gateway's client certificate. */
struct mgw_tls_client {
	char *ca;
	char *cert, *key;
};
extern const struct mgw_cfg_schema mgw_tls_client_schema;

#endif
