/* The one TLS policy, applied to OpenSSL contexts and connections (mgw/tls_policy.h). */
#include <openssl/ssl.h>

#include <mgw/err.h>
#include <mgw/tls_policy.h>

#define POLICY_OPTIONS                                                                     \
	(SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE)

int mgw_tls_policy_apply(SSL_CTX *ctx)
{
	int rc = MGW_E_TLS;

	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, MGW_TLS_POLICY_CIPHERS12) ||
	    !SSL_CTX_set_ciphersuites(ctx, MGW_TLS_POLICY_CIPHERS13))
		goto out;
	SSL_CTX_set_options(ctx, POLICY_OPTIONS);
	rc = MGW_OK;
out:
	return rc;
}

void mgw_tls_policy_apply_ssl(SSL *ssl)
{
	SSL_set_options(ssl, POLICY_OPTIONS);
}

int mgw_tls_policy_check(const SSL *ssl, const char **why)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int rc = MGW_E_POLICY;

	if (SSL_version(ssl) < TLS1_2_VERSION) {
		*why = "protocol below TLS 1.2";
		goto out;
	}
	if (!c || !SSL_CIPHER_is_aead(c)) {
		*why = "not an AEAD cipher suite";
		goto out;
	}
	rc = MGW_OK;
out:
	return rc;
}
