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

int mgw_tls_policy_apply_dtls_ssl(SSL *ssl)
{
	if (!ssl || SSL_set_cipher_list(ssl, MGW_DTLS_POLICY_CIPHERS12) != 1)
		return MGW_E_TLS;
	SSL_set_options(ssl, POLICY_OPTIONS);
	return MGW_OK;
}
