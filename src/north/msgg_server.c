/* msgin5g-gw north: the server the M5S calls (TS 29.538 MSGG_L3GDelivery and
 * MSGG_N3GDelivery): deliver-message and deliver-report, 204 once the delivery is durable.
 * Every refusal is a ProblemDetails whose cause says why, and is audited. */
#include <string.h>
#include <strings.h>
#include <time.h>
#include <event2/event.h>
#include <talloc.h>

#include <mgw/codec.h>
#include <mgw/core.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/north.h>
#include <mgw/security.h>

#include "http_server.h"

struct mgw_msgg_server {
	const struct mgw_north_listen *cfg;
	struct mgw_core *core;
	struct mgw_security *sec;
	struct mgw_http_server *http;
	struct mgw_codec_limits lim;
	struct mgw_caller_policy pol;       /* what a caller must show (security decides) */
	struct mgw_token_verifier *oauth2; /* NRF keys, when cfg->oauth2 */
};

/* the four operations */
static const struct {
	const char *path;
	enum mgw_body body;
} ops[] = {
	{ "/msgg-l3gdelivery/v1/deliver-message", MGW_BODY_L3G_MESSAGE },
	{ "/msgg-l3gdelivery/v1/deliver-report", MGW_BODY_REPORT },
	{ "/msgg-n3gdelivery/v1/deliver-message", MGW_BODY_N3G_MESSAGE },
	{ "/msgg-n3gdelivery/v1/deliver-report", MGW_BODY_REPORT },
};

/* The one table from mgw_err to the HTTP answer of this boundary (TS 29.500 5.2.7 causes;
 * UE_NOT_FOUND is the project's extension for an unknown destination). */
static const struct {
	int rc;
	int status;
	const char *title;
	const char *cause;
} http_map[] = {
	{ MGW_E_MALFORMED, 400, "Bad Request", "INVALID_MSG_FORMAT" },
	{ MGW_E_MISSING, 400, "Bad Request", "MANDATORY_IE_MISSING" },
	{ MGW_E_TYPE, 400, "Bad Request", "MANDATORY_IE_INCORRECT" },
	{ MGW_E_INVAL, 400, "Bad Request", "INVALID_MSG_FORMAT" },
	{ MGW_E_AUTH, 401, "Unauthorized", "UNAUTHORIZED" },
	{ MGW_E_FORBIDDEN, 403, "Forbidden", "CLIENT_NOT_AUTHORIZED" },
	{ MGW_E_POLICY, 403, "Forbidden", "POLICY_DENIED" },
	/* a protected payload that fails its check (issue 7): the detail names the JOSE cause */
	{ MGW_E_CRYPTO, 403, "Forbidden", "PROTECTION_CHECK_FAILED" },
	{ MGW_E_REPLAY, 403, "Forbidden", "REPLAY_DETECTED" },
	{ MGW_E_EXPIRED, 403, "Forbidden", "PROTECTION_EXPIRED" },
	{ MGW_E_UNKNOWN_UE, 404, "Not Found", "UE_NOT_FOUND" },
	{ MGW_E_NOT_FOUND, 404, "Not Found", "RESOURCE_URI_STRUCTURE_NOT_FOUND" },
	{ MGW_E_TOO_BIG, 413, "Payload Too Large", "INCORRECT_LENGTH" },
	{ MGW_E_UNSUPPORTED, 415, "Unsupported Media Type", "UNSUPPORTED_MEDIA_TYPE" },
	{ MGW_E_FULL, 503, "Service Unavailable", "NF_CONGESTION" },
	{ MGW_E_STORE, 500, "Internal Server Error", "SYSTEM_FAILURE" },
	{ MGW_E_STORE_CORRUPT, 500, "Internal Server Error", "SYSTEM_FAILURE" },
};

static int status_of(int rc, const char **title, const char **cause)
{
	for (size_t i = 0; i < sizeof(http_map) / sizeof(http_map[0]); i++)
		if (http_map[i].rc == rc) {
			*title = http_map[i].title;
			*cause = http_map[i].cause;
			return http_map[i].status;
		}
	*title = "Internal Server Error";
	*cause = "SYSTEM_FAILURE";
	return 500;
}

/* a request being served: lives until answered */
struct call {
	struct mgw_msgg_server *srv;
	struct mgw_http_req *req;
	struct mgw_identity caller;
	char msg_id[MGW_ID_MAX + 1];
	const char *www_auth; /* WWW-Authenticate of a 401/403 from authenticate() */
};

static void answer_problem(struct call *call, int status, const char *title, const char *cause,
			   const char *param, const char *detail)
{
	struct mgw_problem p;
	char *body = NULL;
	size_t len = 0;
	char ra[24];
	const char *hn = NULL, *hv = NULL;

	memset(&p, 0, sizeof(p));
	p.status = status;
	snprintf(p.title, sizeof(p.title), "%s", title);
	snprintf(p.cause, sizeof(p.cause), "%s", cause);
	snprintf(p.detail, sizeof(p.detail), "%s", detail ? detail : "");
	if (param) {
		p.n_params = 1;
		snprintf(p.params[0].param, sizeof(p.params[0].param), "%s", param);
		snprintf(p.params[0].reason, sizeof(p.params[0].reason), "%s", detail ? detail : "");
	}
	if (status == 503 || status == 429) {
		snprintf(ra, sizeof(ra), "%lld",
			 (long long)((call->srv->cfg->retry_after_ms + 999) / 1000));
		hn = "Retry-After";
		hv = ra;
	} else if (status == 401 || call->www_auth) {
		hn = "WWW-Authenticate";
		hv = call->www_auth ? call->www_auth : "Bearer";
	}
	if (mgw_json_encode_problem(call, &p, &body, &len) != MGW_OK) {
		mgw_http_respond(call->req, status, NULL, NULL, 0, hn, hv);
		return;
	}
	mgw_http_respond(call->req, status, "application/problem+json", body, len, hn, hv);
}

/* refuse before the core saw anything: answer + one audit record */
static void refuse(struct call *call, int rc, const char *cause_override, const char *param,
		   const char *detail)
{
	const char *title, *cause;
	int status = status_of(rc, &title, &cause);

	if (cause_override)
		cause = cause_override;
	mgw_security_audit_reject(call->srv->sec, MGW_DIR_DOWNLINK, MGW_IN_NORTH, &call->caller,
				  call->msg_id[0] ? call->msg_id : NULL, rc, cause, detail);
	LOGP(DNORTH, MGW_LOGL_NOTICE, "msgg(%s) %s %s: %d %s: %s", call->caller.peer,
	     mgw_http_req_method(call->req), mgw_http_req_path(call->req), status, cause,
	     detail ? detail : "");
	answer_problem(call, status, title, cause, param, detail);
	talloc_free(call);
}

static void accepted_cb(void *arg, int rc, const struct mgw_verdict *v)
{
	struct call *call = arg;
	const char *title, *cause;
	int status;

	if (rc == MGW_OK || rc == MGW_E_DUPLICATE) {
		mgw_http_respond(call->req, 204, NULL, NULL, 0, NULL, NULL);
		talloc_free(call);
		return;
	}
	/* the security layer already audited its verdict */
	status = status_of(rc, &title, &cause);
	if (rc == MGW_E_UNKNOWN_UE)
		cause = "UE_NOT_FOUND";
	LOGP(DNORTH, MGW_LOGL_NOTICE, "msgg(%s) %s: %d %s: %s", call->caller.peer, call->msg_id,
	     status, v && v->cause[0] ? v->cause : cause, v ? v->detail : "");
	answer_problem(call, status, title, cause, rc == MGW_E_UNKNOWN_UE ? "/destAddr/addr" : NULL,
		       v && v->detail[0] ? v->detail : mgw_strerror(rc));
	talloc_free(call);
}

static bool is_json(const char *ct)
{
	size_t n = strlen("application/json");

	return ct && strncasecmp(ct, "application/json", n) == 0 && (ct[n] == '\0' || ct[n] == ';' ||
								      ct[n] == ' ');
}

/* the service of a path: "msgg-l3gdelivery" of "/msgg-l3gdelivery/v1/...", or NULL */
static const char *service_of(const char *path, char *buf, size_t len)
{
	size_t n;

	if (path[0] != '/' || (n = strcspn(path + 1, "/")) == 0 || n >= len)
		return NULL;
	memcpy(buf, path + 1, n);
	buf[n] = '\0';
	return buf;
}

/* RFC 6750 3: no error code when no token came; invalid_token for a bad one;
 * insufficient_scope (403) for a good one that does not cover the service */
static const char *www_authenticate(const struct mgw_verdict *v)
{
	if (strcmp(v->cause, "TOKEN_SCOPE") == 0)
		return "Bearer error=\"insufficient_scope\"";
	if (strncmp(v->cause, "TOKEN_", 6) == 0 && strcmp(v->cause, "TOKEN_MISSING") != 0)
		return "Bearer error=\"invalid_token\"";
	return "Bearer";
}

/* Ask the security layer whether this caller is the M5S; a refusal is answered 401/403
 * (ProblemDetails cause from the table, detail naming the check) and audited once with the
 * precise cause. Returns false when the request was answered. */
static bool authenticate(struct call *call)
{
	struct mgw_caller_creds cr;
	struct mgw_verdict v;
	const char *title, *cause;
	char sbuf[64], detail[sizeof(v.detail) + 64];
	int rc, status;

	cr.cert_cn = mgw_http_req_client_cn(call->req);
	cr.authorization = mgw_http_req_header(call->req, "authorization");
	cr.service = service_of(mgw_http_req_path(call->req), sbuf, sizeof(sbuf));
	cr.now = (int64_t)time(NULL);
	if ((rc = mgw_security_caller(&call->srv->pol, &cr, &call->caller, &v)) == MGW_OK)
		return true;
	status = status_of(rc, &title, &cause);
	snprintf(detail, sizeof(detail), "%s: %s", v.cause, v.detail);
	mgw_security_audit_reject(call->srv->sec, MGW_DIR_DOWNLINK, MGW_IN_NORTH, &call->caller,
				  NULL, rc, v.cause, v.detail);
	LOGP(DNORTH, MGW_LOGL_NOTICE, "msgg(%s) %s %s: %d %s: %s", call->caller.peer,
	     mgw_http_req_method(call->req), mgw_http_req_path(call->req), status, v.cause,
	     v.detail);
	call->www_auth = www_authenticate(&v);
	answer_problem(call, status, title, cause, NULL, detail);
	talloc_free(call);
	return false;
}

static void on_request(void *arg, struct mgw_http_req *req)
{
	struct mgw_msgg_server *srv = arg;
	struct call *call = talloc_zero(srv, struct call);
	const char *path = mgw_http_req_path(req);
	struct mgw_diag diag;
	struct mgw_msg *msg = NULL;
	const uint8_t *body;
	size_t len = 0, i;
	int rc, herr;

	if (!call) {
		mgw_http_respond(req, 500, NULL, NULL, 0, NULL, NULL);
		return;
	}
	call->srv = srv;
	call->req = req;
	call->caller.ingress = MGW_IN_NORTH;
	call->caller.kind = MGW_CRED_M5S;
	snprintf(call->caller.peer, sizeof(call->caller.peer), "%s", mgw_http_req_peer(req));

	if (!authenticate(call))
		return;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(path, ops[i].path) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		return refuse(call, MGW_E_NOT_FOUND, NULL, NULL, "no such operation");
	if (strcmp(mgw_http_req_method(req), "POST") != 0) {
		mgw_security_audit_reject(srv->sec, MGW_DIR_DOWNLINK, MGW_IN_NORTH, &call->caller, NULL,
					  MGW_E_INVAL, "METHOD_NOT_ALLOWED", "only POST");
		answer_problem(call, 405, "Method Not Allowed", "METHOD_NOT_ALLOWED", NULL, "only POST");
		talloc_free(call);
		return;
	}
	if ((herr = mgw_http_req_error(req)) != 0) {
		if (herr == 413)
			return refuse(call, MGW_E_TOO_BIG, NULL, NULL, "body larger than north.listen.max_body");
		if (herr == 411) {
			mgw_security_audit_reject(srv->sec, MGW_DIR_DOWNLINK, MGW_IN_NORTH, &call->caller,
						  NULL, MGW_E_MALFORMED, "LENGTH_REQUIRED", NULL);
			answer_problem(call, 411, "Length Required", "INVALID_MSG_FORMAT", NULL,
				       "Content-Length required");
			talloc_free(call);
			return;
		}
		return refuse(call, MGW_E_MALFORMED, NULL, NULL, "malformed HTTP request");
	}
	/* Content-Type is a singleton field (RFC 9110 8.3): two of them is a malformed request,
	 * not a choice for us to make */
	if (mgw_http_req_header_count(req, "content-type") > 1)
		return refuse(call, MGW_E_MALFORMED, NULL, "header Content-Type",
			      "Content-Type given more than once");
	if (!is_json(mgw_http_req_header(req, "content-type")))
		return refuse(call, MGW_E_UNSUPPORTED, NULL, "header Content-Type",
			      "Content-Type must be application/json");
	body = mgw_http_req_body(req, &len);
	mgw_diag_clear(&diag);
	if ((rc = mgw_json_decode_msg(call, ops[i].body, (const char *)body, len, &srv->lim, &msg,
				      &diag)) != MGW_OK) {
		struct mgw_problem p;

		/* the codec's own 400 mapping names the cause per member */
		mgw_problem_from_diag(&p, rc == MGW_E_TOO_BIG ? 413 : 400, &diag);
		return refuse(call, rc, p.cause, diag.where, diag.text);
	}
	snprintf(call->msg_id, sizeof(call->msg_id), "%s", msg->msg_id);
	msg->ingress = MGW_IN_NORTH;
	if ((rc = mgw_core_accept_downlink(srv->core, msg, &call->caller, accepted_cb, call)) !=
	    MGW_OK)
		return refuse(call, rc, NULL, NULL, mgw_strerror(rc));
}

static void on_conn_failed(void *arg, const struct mgw_http_conn_event *ev)
{
	struct mgw_msgg_server *srv = arg;
	struct mgw_identity who = { .ingress = MGW_IN_NORTH, .kind = MGW_CRED_M5S };

	snprintf(who.peer, sizeof(who.peer), "%s", ev->peer);
	LOGP(DNORTH, MGW_LOGL_NOTICE, "msgg(%s): TLS refused: %s", ev->peer, ev->reason);
	mgw_security_audit_reject(srv->sec, MGW_DIR_DOWNLINK, MGW_IN_NORTH, &who, NULL, MGW_E_TLS,
				  "TLS_HANDSHAKE", ev->reason);
}

/* what the security layer is to require of callers, from north.listen */
static int caller_policy(struct mgw_msgg_server *s, char *errbuf, size_t errlen)
{
	const struct mgw_north_listen *cfg = s->cfg;
	int rc;

	s->pol.require_cert = cfg->tls && cfg->tls->client_ca;
	s->pol.allowed_clients = &cfg->allowed_clients;
	s->pol.static_token = cfg->bearer_token;
	s->pol.insecure = cfg->insecure;
	if (cfg->oauth2) {
		if ((rc = mgw_token_verifier_alloc(s, cfg->oauth2, &s->oauth2, errbuf, errlen)) !=
		    MGW_OK)
			return rc;
		s->pol.oauth2 = s->oauth2;
	}
	return MGW_OK;
}

static int msgg_destructor(struct mgw_msgg_server *s)
{
	mgw_http_server_free(s->http);
	return 0;
}

int mgw_msgg_server_start(void *ctx, struct event_base *base, const struct mgw_north_listen *cfg,
			  struct mgw_core *core, struct mgw_security *sec,
			  struct mgw_msgg_server **out, char *errbuf, size_t errlen)
{
	struct mgw_http_server_cfg hc = { 0 };
	struct mgw_msgg_server *s = talloc_zero(ctx, struct mgw_msgg_server);
	int rc;

	if (!s)
		return MGW_E_NOMEM;
	s->cfg = cfg;
	s->core = core;
	s->sec = sec;
	s->lim = mgw_codec_default_limits;
	s->lim.max_body = (size_t)cfg->max_body;
	if ((rc = caller_policy(s, errbuf, errlen)) != MGW_OK) {
		talloc_free(s);
		return rc;
	}
	hc.name = "msgg";
	hc.addr = cfg->addr;
	hc.port = (int)cfg->port;
	/* insecure: true beside a certificate keeps TLS and only lets any caller in */
	hc.insecure = cfg->insecure && !(cfg->tls && cfg->tls->cert);
	if (cfg->tls) {
		hc.cert = cfg->tls->cert;
		hc.key = cfg->tls->key;
		hc.client_ca = cfg->tls->client_ca;
	}
	hc.max_body = (size_t)cfg->max_body;
	if ((rc = mgw_http_server_start(s, base, &hc, on_request, on_conn_failed, s, &s->http, errbuf,
					errlen)) != MGW_OK) {
		talloc_free(s);
		return rc;
	}
	talloc_set_destructor(s, msgg_destructor);
	if (hc.insecure)
		LOGP(DNORTH, MGW_LOGL_NOTICE, "msgg: INSECURE plain HTTP listener on %s:%d (labs only)",
		     cfg->addr, mgw_http_server_port(s->http));
	else
		LOGP(DNORTH, MGW_LOGL_NOTICE, "msgg: listening on %s:%d (TLS, h2 + http/1.1%s%s%s)",
		     cfg->addr, mgw_http_server_port(s->http),
		     cfg->tls->client_ca ? ", client certificates required" : "",
		     cfg->oauth2 ? ", NRF access tokens required" : "",
		     cfg->bearer_token ? ", static bearer token required" : "");
	if (!s->pol.require_cert && !cfg->oauth2 && !cfg->bearer_token)
		LOGP(DNORTH, MGW_LOGL_NOTICE, "msgg: INSECURE: any caller is taken for the M5S "
		     "(north.listen.insecure: true; labs only)");
	*out = s;
	return MGW_OK;
}

int mgw_msgg_server_port(const struct mgw_msgg_server *s)
{
	return mgw_http_server_port(s->http);
}

void mgw_msgg_server_free(struct mgw_msgg_server *s)
{
	talloc_free(s);
}
