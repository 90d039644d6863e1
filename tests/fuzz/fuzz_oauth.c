/* Fuzz target: OAuth2 access tokens and NRF key files (src/security/oauth_token.c,
 * oauth_keys.c, caller.c). The input is tried as a token under a fixed NRF key (public only:
 * the corpus holds tokens the matching private key signed, so the claim checks are reached),
 * as an Authorization header through the caller decision, and as a key file. When the input
 * verified, one character of it is changed: that must never verify. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/security.h>

#include "oauth_int.h"
#include "fuzz.h"

#define NOW 1800000000

static const char nrf_jwks[] =
	"{\"keys\":[{\"kty\":\"EC\",\"x\":\"ZxLg94M7VIdSHNLx2H52rxdjDk1gTFnpIZVFL6tcJAo\","
	"\"y\":\"cARGVIWLmi3r1KJDLbT2lb2eNxM7pMY1KbKnMf-P0zA\",\"crv\":\"P-256\",\"kid\":\"fz\","
	"\"alg\":\"ES256\",\"use\":\"sig\"}]}";
static char *aud_v[] = { "gw" };
static char *scope_v[] = { "msgg-l3gdelivery", "msgg-n3gdelivery" };
static const struct mgw_oauth2_check cfg = { NULL, { 1, aud_v }, { 2, scope_v }, "nrf", 30000 };

static struct mgw_token_verifier *verifier(void)
{
	static struct mgw_token_verifier *tv;
	char err[256];

	if (!tv && oauth_verifier_alloc_buf(NULL, &cfg, nrf_jwks, sizeof(nrf_jwks) - 1, &tv, err,
					    sizeof(err)) != MGW_OK)
		abort();
	return tv;
}

/* the strict base64url decoding gives each byte string one encoding, so any changed
 * character changes what is signed or the signature */
static void tamper_never_verifies(const struct mgw_token_verifier *tv, const uint8_t *data,
				  size_t size)
{
	char *t = talloc_memdup(NULL, data, size), sub[64];
	struct mgw_verdict v;
	size_t i;

	if (!t)
		abort();
	i = (size_t)data[size / 2] * 131u % size;
	if (t[i] != '.') {
		t[i] = t[i] == 'A' ? 'Q' : 'A';
		if (mgw_token_verify(tv, t, size, "msgg-l3gdelivery", NOW, sub, sizeof(sub), &v) ==
		    MGW_OK)
			abort(); /* a changed token verified */
	}
	talloc_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct mgw_token_verifier *tv = verifier();
	struct mgw_caller_policy p = { 0 };
	struct mgw_caller_creds c = { NULL, NULL, "msgg-l3gdelivery", NOW };
	struct mgw_identity id;
	struct mgw_verdict v;
	struct oauth_keyset *ks = NULL;
	char sub[MGW_ID_MAX + 1], why[256], *hdr;

	if (mgw_token_verify(tv, (const char *)data, size, "msgg-l3gdelivery", NOW, sub,
			     sizeof(sub), &v) == MGW_OK && size)
		tamper_never_verifies(tv, data, size);
	if (!(hdr = talloc_size(NULL, size + 8)))
		abort();
	memcpy(hdr, "Bearer ", 7);
	memcpy(hdr + 7, data, size);
	hdr[size + 7] = '\0';
	memset(&id, 0, sizeof(id));
	p.oauth2 = tv;
	c.authorization = hdr;
	mgw_security_caller(&p, &c, &id, &v);
	talloc_free(hdr);
	if (oauth_keys_parse(NULL, (const char *)data, size, &ks, why, sizeof(why)) == MGW_OK)
		talloc_free(ks);
	return 0;
}
