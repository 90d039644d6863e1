/* north: TLS contexts with the project's policy (see http_server.h). Private to src/north. */
#ifndef MGW_NORTH_TLS_H
#define MGW_NORTH_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

/* TLS 1.2 suites allowed (OpenSSL names): ECDHE + AEAD only. TLS 1.3 suites: all are AEAD. */
#define MGW_TLS12_CIPHERS                                                                  \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                        \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                        \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* A server context: cert+key, optional client CA (then client certs are required), ALPN
 * offering "h2" and "http/1.1", optional NSS key log file. NULL with errbuf on failure. */
SSL_CTX *mgw_tls_server_ctx(const char *cert, const char *key, const char *client_ca,
			    const char *keylog, char *errbuf, size_t errlen);
/* One line describing the last TLS failure (drains OpenSSL's error queue). */
const char *mgw_tls_last_error(char *buf, size_t len);

#endif
