/* Unit tests: the one TLS policy (src/core/tls_policy.c) and the client-TLS block schema
 * (src/core/tls_cfg.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <talloc.h>

#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/tls_policy.h>

#define POLICY_OPTS                                                                        \
	(SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE)

/* what a context under the policy offers: TLS 1.2 suites ECDHE + AEAD, the three TLS 1.3
 * AEAD suites (no CCM_8), nothing else */
static void ck_offered(SSL_CTX *ctx)
{
	SSL *ssl = SSL_new(ctx);
	STACK_OF(SSL_CIPHER) *sk;
	int i, n12 = 0, n13 = 0;

	ck_assert_ptr_nonnull(ssl);
	sk = SSL_get_ciphers(ssl);
	ck_assert_ptr_nonnull(sk);
	for (i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
		const char *name = SSL_CIPHER_get_name(c);

		ck_assert_msg(SSL_CIPHER_is_aead(c), "%s is not AEAD", name);
		ck_assert_msg(!strstr(name, "CCM"), "%s offered", name);
		if (SSL_CIPHER_get_kx_nid(c) == NID_kx_any) { /* a TLS 1.3 suite */
			n13++;
			continue;
		}
		n12++;
		ck_assert_msg(SSL_CIPHER_get_kx_nid(c) == NID_kx_ecdhe, "%s without ECDHE", name);
	}
	ck_assert_int_eq(n12, 6);
	ck_assert_int_eq(n13, 3);
	SSL_free(ssl);
}

START_TEST(policy_on_contexts)
{
	const SSL_METHOD *m[] = { TLS_client_method(), TLS_server_method() };

	for (size_t i = 0; i < 2; i++) {
		SSL_CTX *ctx = SSL_CTX_new(m[i]);

		ck_assert_ptr_nonnull(ctx);
		ck_assert_int_eq(mgw_tls_policy_apply(ctx), MGW_OK);
		ck_assert_int_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
		ck_assert_uint_eq(SSL_CTX_get_options(ctx) & POLICY_OPTS, POLICY_OPTS);
		ck_offered(ctx);
		SSL_CTX_free(ctx);
	}
}
END_TEST

/* a context someone else made with OpenSSL's defaults (CBC included) gets only what can
 * be set on its SSL: the options */
START_TEST(policy_on_ssl)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_uint_eq(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION, 0);
	ssl = SSL_new(ctx);
	ck_assert_ptr_nonnull(ssl);
	mgw_tls_policy_apply_ssl(ssl);
	ck_assert_uint_eq(SSL_get_options(ssl) & POLICY_OPTS, POLICY_OPTS);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}
END_TEST

/* the client-TLS block: ca required, cert and key together, paths readable */
static char dir[] = "/tmp/test_tls_policy.XXXXXX";

static void touch(const char *name)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("x\n", f);
	fclose(f);
}

static void *tctx;

static int load(const char *yaml, struct mgw_tls_client *t, struct mgw_cfg_err *err)
{
	char name[256];

	memset(t, 0, sizeof(*t));
	snprintf(name, sizeof(name), "%s/t.yaml", dir);
	return mgw_cfg_load_buf(tctx, name, yaml, strlen(yaml), &mgw_tls_client_schema, t, err);
}

START_TEST(client_block)
{
	struct mgw_tls_client t;
	struct mgw_cfg_err err;
	tctx = talloc_new(NULL);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	touch("ca.pem");
	touch("gw.pem");
	touch("gw.key");
	ck_assert_int_eq(load("ca: ca.pem\n", &t, &err), 0);
	ck_assert(t.ca && strstr(t.ca, "ca.pem") && !t.cert && !t.key);
	ck_assert_int_eq(load("{ ca: ca.pem, cert: gw.pem, key: gw.key }\n", &t, &err), 0);
	ck_assert(t.cert && t.key);
	ck_assert_int_eq(load("cert: gw.pem\nkey: gw.key\n", &t, &err), -1);
	ck_assert_msg(strstr(err.msg, "ca is required"), "%s", err.msg);
	ck_assert_int_eq(load("{ ca: ca.pem, cert: gw.pem }\n", &t, &err), -1);
	ck_assert_msg(strstr(err.msg, "cert and key go together"), "%s", err.msg);
	ck_assert_int_eq(load("{ ca: nothere.pem }\n", &t, &err), -1);
	ck_assert_int_eq(load("{ ca: ca.pem, ciphers: ALL }\n", &t, &err), -1);
	ck_assert_msg(strstr(err.msg, "ciphers"), "unknown key not named: %s", err.msg);
	talloc_free(tctx);
	for (const char *const *f = (const char *const[]){ "ca.pem", "gw.pem", "gw.key", NULL };
	     *f; f++) {
		char p[256];

		snprintf(p, sizeof(p), "%s/%s", dir, *f);
		unlink(p);
	}
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tls_policy");
	TCase *tc = tcase_create("policy");
	SRunner *sr;
	int failed;

	mgw_log_set_all(MGW_LOGL_ERROR);
	tcase_add_test(tc, policy_on_contexts);
	tcase_add_test(tc, policy_on_ssl);
	tcase_add_test(tc, client_block);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
