/* msgin5g-gw security: is this caller the M5S? (include/mgw/security.h mgw_security_caller)
 *
 * The one decision for the north listener, in the order of strength: the verified client
 * certificate (and its CN among allowed_clients), then the bearer credential: the static
 * lab token, or an NRF-signed OAuth2 access token (oauth_token.c). A listener configured
 * with several requires all of them. A listener with none is refused at config time unless
 * it says insecure: true; here that case answers NO_CALLER_AUTH as a second guard. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include <mgw/err.h>
#include <mgw/security.h>

static int refuse(struct mgw_verdict *v, int rc, const char *cause, const char *detail)
{
	v->rc = rc;
	snprintf(v->cause, sizeof(v->cause), "%s", cause);
	snprintf(v->detail, sizeof(v->detail), "%s", detail);
	return rc;
}

static int by_cert(const struct mgw_caller_policy *p, const char *cn, struct mgw_identity *id,
		   struct mgw_verdict *v)
{
	size_t i;

	if (!cn)
		return refuse(v, MGW_E_AUTH, "NO_CLIENT_CERT", "no verified client certificate");
	snprintf(id->value, sizeof(id->value), "%s", cn);
	if (!p->allowed_clients || !p->allowed_clients->n)
		return MGW_OK;
	for (i = 0; i < p->allowed_clients->n; i++)
		if (strcmp(p->allowed_clients->v[i], cn) == 0)
			return MGW_OK;
	return refuse(v, MGW_E_FORBIDDEN, "CLIENT_NOT_ALLOWED",
		      "client certificate is not one of north.listen.allowed_clients");
}

/* "Bearer <token>" (RFC 6750 2.1): the token, or NULL */
static const char *bearer(const char *auth, size_t *len)
{
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return NULL;
	auth += 7;
	while (*auth == ' ')
		auth++;
	*len = strcspn(auth, " \t");
	return *len && auth[*len] == '\0' ? auth : NULL;
}

static int by_static(const char *want, const char *tok, size_t len, struct mgw_verdict *v)
{
	size_t n = strlen(want);

	if (len != n || CRYPTO_memcmp(tok, want, n) != 0)
		return refuse(v, MGW_E_AUTH, "TOKEN_INVALID", "invalid bearer token");
	return MGW_OK;
}

int mgw_security_caller(const struct mgw_caller_policy *p, const struct mgw_caller_creds *c,
			struct mgw_identity *id, struct mgw_verdict *v)
{
	char sub[MGW_ID_MAX + 1];
	const char *tok = NULL;
	size_t len = 0;
	int rc;

	memset(v, 0, sizeof(*v));
	if (!p->require_cert && !p->static_token && !p->oauth2 && !p->insecure)
		return refuse(v, MGW_E_AUTH, "NO_CALLER_AUTH",
			      "the listener has no caller authentication configured");
	if (p->require_cert && (rc = by_cert(p, c->cert_cn, id, v)) != MGW_OK)
		return rc;
	if (p->static_token || p->oauth2) {
		if (!(tok = bearer(c->authorization, &len)))
			return refuse(v, MGW_E_AUTH, "TOKEN_MISSING",
				      "no 'Authorization: Bearer' access token");
		if (p->static_token && (rc = by_static(p->static_token, tok, len, v)) != MGW_OK)
			return rc;
		if (p->oauth2 && (rc = mgw_token_verify(p->oauth2, tok, len, c->service, c->now, sub,
							sizeof(sub), v)) != MGW_OK)
			return rc;
		if (!id->value[0])
			snprintf(id->value, sizeof(id->value), "%s", p->oauth2 ? sub : "bearer");
	}
	if (!id->value[0])
		snprintf(id->value, sizeof(id->value), "%s",
			 p->insecure && !p->require_cert ? "insecure" : "anonymous");
	v->rc = MGW_OK;
	snprintf(v->cause, sizeof(v->cause), "OK");
	return MGW_OK;
}
