/* north: TLS server contexts with the project's policy (see tls.h, http_server.h). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/tls_policy.h>

#include "tls.h"

/* ALPN, in our order of preference */
static const unsigned char alpn_protos[] = "\x02h2\x08http/1.1";

/* The ex_data slot of an SSL_CTX holding its key log FILE (closed with the context). */
static int keylog_idx = -1;

static void keylog_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			void *argp)
{
	if (ptr)
		fclose(ptr);
}

static void keylog_cb(const SSL *ssl, const char *line)
{
	FILE *f = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), keylog_idx);

	if (f) {
		fputs(line, f);
		fputc('\n', f);
		fflush(f);
	}
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	/* server preference: the first of ours the client offers; no overlap: no ALPN, which
	 * the server treats as HTTP/1.1 */
	if (SSL_select_next_proto((unsigned char **)out, outlen, alpn_protos,
				  sizeof(alpn_protos) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	return SSL_TLSEXT_ERR_OK;
}

const char *mgw_tls_last_error(char *buf, size_t len)
{
	unsigned long e, first = 0;

	while ((e = ERR_get_error()) != 0)
		if (!first)
			first = e;
	if (len == 0)
		return buf;
	if (first)
		ERR_error_string_n(first, buf, len);
	else
		snprintf(buf, len, "unknown TLS error");
	return buf;
}

static int set_keylog(SSL_CTX *ctx, const char *path, char *errbuf, size_t errlen)
{
	FILE *f = NULL;
	int fd, rc = MGW_E_TLS;

	if (keylog_idx < 0)
		keylog_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, keylog_free);
	if (keylog_idx < 0) {
		snprintf(errbuf, errlen, "keylog: no ex_data index");
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "a"))) {
		if (fd >= 0)
			close(fd);
		snprintf(errbuf, errlen, "keylog %s: cannot open", path);
		rc = MGW_E_IO;
		goto out;
	}
	if (!SSL_CTX_set_ex_data(ctx, keylog_idx, f)) {
		fclose(f);
		snprintf(errbuf, errlen, "keylog: cannot attach");
		goto out;
	}
	SSL_CTX_set_keylog_callback(ctx, keylog_cb);
	LOGP(DNORTH, MGW_LOGL_NOTICE, "TLS key log to %s (lab only: decrypts this traffic)", path);
	rc = MGW_OK;
out:
	return rc;
}

SSL_CTX *mgw_tls_server_ctx(const char *cert, const char *key, const char *client_ca,
			    const char *keylog, char *errbuf, size_t errlen)
{
	static const unsigned char sid_ctx[] = "msgin5g-gw north";
	SSL_CTX *ctx = NULL;
	char e[256];
	int ok = 0;

	if (!cert || !key) {
		snprintf(errbuf, errlen, "TLS needs a certificate and a key");
		goto out;
	}
	ERR_clear_error();
	if (!(ctx = SSL_CTX_new(TLS_server_method()))) {
		snprintf(errbuf, errlen, "SSL_CTX_new: %s", mgw_tls_last_error(e, sizeof(e)));
		goto out;
	}
	if (mgw_tls_policy_apply(ctx) != MGW_OK) { /* the one policy: mgw/tls_policy.h */
		snprintf(errbuf, errlen, "TLS policy: %s", mgw_tls_last_error(e, sizeof(e)));
		goto out;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(errbuf, errlen, "certificate %s: %s", cert, mgw_tls_last_error(e, sizeof(e)));
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		snprintf(errbuf, errlen, "key %s: %s", key, mgw_tls_last_error(e, sizeof(e)));
		goto out;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(errbuf, errlen, "key %s does not match certificate %s", key, cert);
		ERR_clear_error();
		goto out;
	}
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	mgw_keylog_attach(ctx); /* lab.keylog only */
	if (client_ca) {
		STACK_OF(X509_NAME) *names;

		if (SSL_CTX_load_verify_locations(ctx, client_ca, NULL) != 1 ||
		    !(names = SSL_load_client_CA_file(client_ca))) {
			snprintf(errbuf, errlen, "client CA %s: %s", client_ca,
				 mgw_tls_last_error(e, sizeof(e)));
			goto out;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	if (keylog && set_keylog(ctx, keylog, errbuf, errlen) != MGW_OK)
		goto out;
	ok = 1;
out:
	if (!ok) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}
