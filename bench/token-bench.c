/* token-bench: CPU time of one OAuth2 access-token check (mgw_token_verify), first use (the
 * signature is verified) and repeated use (the signature is remembered, the claims are
 * checked again). Usage: token-bench NRF_KEYS TOKEN_FILE [N]; bench/token-bench.sh makes
 * the keys and tokens with contrib/node/nrf-token.js (aud MSGG, scope msgg-n3gdelivery). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/security.h>

static char *aud_v[] = { "MSGG" };
static char *scope_v[] = { "msgg-l3gdelivery", "msgg-n3gdelivery" };

static int once(struct mgw_token_verifier *tv, const char *tok, size_t n, clock_t *spent)
{
	struct mgw_verdict v;
	char sub[64];
	clock_t a = clock();
	int rc = mgw_token_verify(tv, tok, n, "msgg-n3gdelivery", (int64_t)time(NULL), sub,
				  sizeof(sub), &v);

	*spent += clock() - a;
	if (rc != MGW_OK)
		fprintf(stderr, "token-bench: %s: %s\n", v.cause, v.detail);
	return rc;
}

int main(int argc, char **argv)
{
	struct mgw_oauth2_check cfg = { NULL, { 1, aud_v }, { 2, scope_v }, NULL, 30000 };
	struct mgw_token_verifier *tv = NULL;
	char err[256], tok[8200];
	clock_t first = 0, again = 0;
	size_t n;
	FILE *f;
	int N = argc > 3 ? (int)strtoul(argv[3], NULL, 10) : 10000, i;

	if (argc < 3 || N <= 0 || !(f = fopen(argv[2], "r"))) {
		fprintf(stderr, "usage: token-bench NRF_KEYS TOKEN_FILE [N]\n");
		return 1;
	}
	n = fread(tok, 1, sizeof(tok) - 1, f);
	fclose(f);
	while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
		n--;
	tok[n] = '\0';
	cfg.nrf_keys = argv[1];
	for (i = 0; i < N; i++) { /* a fresh verifier each time: nothing remembered */
		if (mgw_token_verifier_alloc(NULL, &cfg, &tv, err, sizeof(err)) != MGW_OK) {
			fprintf(stderr, "token-bench: %s\n", err);
			return 1;
		}
		if (once(tv, tok, n, &first) != MGW_OK)
			return 1;
		if (i < N - 1)
			mgw_token_verifier_free(tv);
	}
	for (i = 0; i < N; i++)
		if (once(tv, tok, n, &again) != MGW_OK)
			return 1;
	mgw_token_verifier_free(tv);
	printf("%s: %.1f us CPU per check on first use, %.1f us repeated (N=%d)\n", argv[2],
	       (double)first / CLOCKS_PER_SEC * 1e6 / N, (double)again / CLOCKS_PER_SEC * 1e6 / N, N);
	return 0;
}
