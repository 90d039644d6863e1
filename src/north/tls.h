/* north: TLS contexts with the project's policy (see http_server.h). Private to src/north. */
#ifndef MGW_NORTH_TLS_H
#define MGW_NORTH_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

/* A server context: cert+key, optional client CA (then client certs are required), ALPN
 * offering "h2" and "http/1.1", optional NSS key log file. NULL with errbuf on failure. */
SSL_CTX *mgw_tls_server_ctx(const char *cert, const char *key, const char *client_ca,
			    const char *keylog, char *errbuf, size_t errlen);
/* One line describing the last TLS failure (drains OpenSSL's error queue). */
const char *mgw_tls_last_error(char *buf, size_t len);

#endif
