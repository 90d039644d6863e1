/* msgin5g-gw north: the client to the MSGin5G Server (TS 29.538 msgs-msgdelivery).
 *
 * libcurl's multi-socket API driven by the gateway's libevent loop (the hiperfifo pattern):
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION: one libevent event per
 * curl socket) and when to wake it (CURLMOPT_TIMERFUNCTION: one timer event); every wake-up
 * is one curl_multi_socket_action() followed by reading the finished transfers. No threads,
 * no curl_multi_perform() loops.
 *
 * The queue is driven from four places: start, mgw_north_client_kick() (the core's notify
 * hook: deferred to the next loop turn, so that it never runs inside a curl callback), the
 * end of a request, and the retry timer armed at mgw_store_next_due(). Each drive claims
 * up to (max_inflight - inflight) due NORTH entries; per-originator FIFO is the store's.
 *
 * Outcomes (include/mgw/north.h, standards brief 3.3):
 *   200 + MessageDeliveryAck, status absent          -> DONE
 *   200 + DELY_STORED (deferred at the M5S)          -> DONE (logged "accepted for later delivery")
 *   200 + DELY_FAILED                                -> FAILED "DELY_FAILED: <failureCause>" + report
 *   200 + an unknown status (extensible enum)        -> DONE, logged at notice
 *   200 whose body is not an ack                     -> back to ACCEPTED with back-off, logged
 *                                                       at error: nothing says the M5S took
 *                                                       it (a buggy or cut answer); it
 *                                                       deduplicates a resend by msgId
 *   other 2xx (204 for reports)                      -> DONE
 *   429, 503, other 5xx, 408, curl errors            -> back to ACCEPTED with back-off
 *   401 with OAuth2 in use                           -> new token, resend once, then as 4xx
 *   other 4xx, 3xx (redirects are not followed)      -> FAILED "HTTP <status>: <cause>" + report
 * TLS failures (unknown CA, wrong name) are retried like any transport failure, logged at
 * error with curl's text: the M5S may be fixed. Each also is a refusal at the boundary and
 * writes an audit record (cause TLS_PEER_VERIFY, identity m5s = the api_root host, peer =
 * host:port), but at most one per 10 s per client: a misconfigured M5S retried every few
 * seconds must not flood the audit log; the error log still has every attempt.
 * There is no attempt cap: an entry with an expiry leaves through mgw_store_expire() (the
 * core's 1 s housekeeping, which reports it); an entry without one waits for the M5S for
 * ever, at retry_max intervals.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <talloc.h>

#include <mgw/backoff.h>
#include <mgw/codec.h>
#include <mgw/core.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/msg.h>
#include <mgw/north.h>
#include <mgw/security.h>
#include <mgw/store.h>
#include <mgw/tls_policy.h>

#include "m5s_reg.h"
#include "tls.h"

#define API_PATH "/msgs-msgdelivery/v1"
/* largest answer body kept (ack, ProblemDetails, token): the rest is dropped */
#define RESP_MAX (64 * 1024)
/* h2: streams multiplex over few connections */
#define H2_MAX_CONNS 4
/* the retry timer never spins: entries due but blocked (FIFO behind one in flight,
 * expired awaiting housekeeping) are looked at again after this */
#define POLL_FLOOR_MS 1000
/* token lifetime when the answer has no expires_in, and the share of it we use */
#define TOKEN_DEFAULT_S 300
#define TOKEN_USE_PERMILLE 900

#define LOG_M5S(level, fmt, ...) LOGP(DNORTH, level, "m5s: " fmt, ##__VA_ARGS__)

struct sockinfo;
struct xfer;

struct mgw_north_client {
	struct event_base *base;
	struct mgw_core *core;
	struct mgw_store *store;
	CURLM *multi;
	struct event *curl_timer; /* CURLMOPT_TIMERFUNCTION */
	struct event *retry;      /* next due entry (or token retry) */
	struct event *kick;       /* deferred drive */

	/* copied configuration (the caller's cfg may be freed by a reload) */
	char *url_msg, *url_report;
	char *ca, *cert, *key;
	bool https, http2;
	long timeout_ms;
	size_t max_inflight;
	struct mgw_backoff bo; /* retry_min .. retry_max */

	/* OAuth2 (only when the api_root is https) */
	bool oauth;
	char *token_url, *client_id, *client_secret, *scope;
	char *token;           /* cached access token, wiped on free */
	int64_t token_until;   /* use it before this (unix ms) */
	int64_t token_next_try; /* after a failed fetch */
	uint32_t token_failures;
	struct xfer *token_xfer;

	size_t inflight;       /* message requests started and not finished (incl. waiting) */
	struct xfer *xfers;    /* every transfer, for free */
	struct xfer *waiting;  /* message requests waiting for a token (not in the multi) */
	int64_t tls_audit_at;  /* last audit record of a refused M5S certificate */
	char host[256];        /* api_root host, the M5S identity in audit records */
	char authority[256];   /* api_root host[:port], the peer in audit records */
	bool stopping;
	struct mgw_north_stats st;
	struct m5s_reg *reg;   /* registration at the M5S (m5s_registration.c), or NULL */
};

struct xfer {
	struct mgw_north_client *c;
	struct xfer *prev, *next;  /* c->xfers */
	struct xfer *wnext;        /* c->waiting */
	CURL *easy;
	struct curl_slist *hdrs;
	bool in_multi, is_token, reauthed;
	bool is_reg;               /* a registration entry: reg_blob, label; msg is NULL */
	void *reg_blob;
	size_t reg_blob_len;
	char label[64];
	int64_t id;
	uint32_t attempts;
	struct mgw_msg *msg;
	char *body;
	size_t body_len;
	char *resp;
	size_t resp_len;
	bool resp_cut;
	char errbuf[CURL_ERROR_SIZE];
};

struct sockinfo {
	struct mgw_north_client *c;
	struct event *ev;
};

static void drive(struct mgw_north_client *c);
static int xfer_send(struct xfer *x);

/* ---- small helpers ---- */

static void wipe_str(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
}

static void wipe_slist(struct curl_slist *l)
{
	for (; l; l = l->next)
		wipe_str(l->data);
}

static int64_t backoff(struct mgw_north_client *c, uint32_t attempts, int64_t retry_after_ms)
{
	return mgw_backoff_delay(&c->bo, attempts, retry_after_ms);
}

static void ms_to_tv(int64_t ms, struct timeval *tv)
{
	if (ms < 0)
		ms = 0;
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)((ms % 1000) * 1000);
}

static const char *kind_name(const struct mgw_msg *m)
{
	return m->kind == MGW_MSG_REPORT ? "report" : "message";
}

/* ---- transfers ---- */

static int xfer_destructor(struct xfer *x)
{
	struct mgw_north_client *c = x->c;

	if (x->easy) {
		if (x->in_multi)
			curl_multi_remove_handle(c->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	wipe_slist(x->hdrs); /* may hold the bearer token */
	curl_slist_free_all(x->hdrs);
	if (x->is_token) {
		/* the form holds the client secret, the answer the token */
		if (x->body)
			explicit_bzero(x->body, x->body_len);
		if (x->resp)
			explicit_bzero(x->resp, x->resp_len);
		if (c->token_xfer == x)
			c->token_xfer = NULL;
	}
	for (struct xfer **w = &c->waiting; *w; w = &(*w)->wnext)
		if (*w == x) {
			*w = x->wnext;
			break;
		}
	if (x->prev)
		x->prev->next = x->next;
	else if (c->xfers == x)
		c->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	return 0;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb, keep = n;
	char *p;

	if (x->resp_len + keep > RESP_MAX) {
		keep = RESP_MAX - x->resp_len;
		x->resp_cut = true;
	}
	if (keep) {
		if (!(p = talloc_realloc(x, x->resp, char, x->resp_len + keep + 1))) {
			x->resp_cut = true;
			return n;
		}
		x->resp = p;
		memcpy(x->resp + x->resp_len, ptr, keep);
		x->resp_len += keep;
		x->resp[x->resp_len] = '\0';
	}
	return n;
}

static struct xfer *xfer_new(struct mgw_north_client *c)
{
	struct xfer *x = talloc_zero(c, struct xfer);

	if (!x)
		return NULL;
	x->c = c;
	x->next = c->xfers;
	if (c->xfers)
		c->xfers->prev = x;
	c->xfers = x;
	talloc_set_destructor(x, xfer_destructor);
	return x;
}

/* the options every request shares: TLS policy, protocol, timeouts */
/* libcurl hands over each new SSL_CTX (OpenSSL backend): the whole TLS policy (its options
 * give the floor and the lists, not no-renegotiation), and the lab key log */
static CURLcode tls_ctx_cb(CURL *curl, void *ssl_ctx, void *arg)
{
	(void)curl;
	(void)arg;
	if (mgw_tls_policy_apply(ssl_ctx) != MGW_OK)
		return CURLE_SSL_CIPHER;
	mgw_keylog_attach(ssl_ctx); /* lab.keylog only */
	return CURLE_OK;
}

static int easy_common(struct mgw_north_client *c, struct xfer *x, const char *url, bool https)
{
	CURL *e = x->easy;
	long ver;
	CURLcode cc = CURLE_OK;

#define SET(opt, val)                                                                      \
	do {                                                                               \
		if (cc == CURLE_OK)                                                        \
			cc = curl_easy_setopt(e, opt, val);                                \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_PRIVATE, x);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_TIMEOUT_MS, c->timeout_ms);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_USERAGENT, "msgin5g-gw");
	if (c->http2)
		ver = https ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
	else
		ver = CURL_HTTP_VERSION_1_1;
	SET(CURLOPT_HTTP_VERSION, ver);
	SET(CURLOPT_PIPEWAIT, 1L);
	if (https) {
		SET(CURLOPT_SSL_VERIFYPEER, 1L);
		SET(CURLOPT_SSL_VERIFYHOST, 2L);
		SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
		SET(CURLOPT_SSL_CIPHER_LIST, MGW_TLS_POLICY_CIPHERS12);
		SET(CURLOPT_TLS13_CIPHERS, MGW_TLS_POLICY_CIPHERS13);
		SET(CURLOPT_SSL_CTX_FUNCTION, tls_ctx_cb);
		if (c->ca)
			SET(CURLOPT_CAINFO, c->ca);
		if (c->cert)
			SET(CURLOPT_SSLCERT, c->cert);
		if (c->key)
			SET(CURLOPT_SSLKEY, c->key);
	}
#undef SET
	if (cc != CURLE_OK) {
		LOG_M5S(MGW_LOGL_ERROR, "curl option refused: %s", curl_easy_strerror(cc));
		return MGW_E_INTERNAL;
	}
	return MGW_OK;
}

static int xfer_start(struct xfer *x)
{
	CURLMcode mc;

	if ((mc = curl_multi_add_handle(x->c->multi, x->easy)) != CURLM_OK) {
		LOG_M5S(MGW_LOGL_ERROR, "cannot start a request: %s", curl_multi_strerror(mc));
		return MGW_E_INTERNAL;
	}
	x->in_multi = true;
	return MGW_OK;
}

/* ---- OAuth2 client credentials (TS 29.510 5.4.2.2, simplified) ---- */

static bool token_valid(const struct mgw_north_client *c, int64_t now)
{
	return c->token && now < c->token_until;
}

static void token_drop(struct mgw_north_client *c)
{
	wipe_str(c->token);
	TALLOC_FREE(c->token);
	c->token_until = 0;
}

static char *form_field(void *ctx, CURL *e, char *acc, const char *name, const char *val)
{
	char *esc, *r;

	if (!acc || !(esc = curl_easy_escape(e, val, 0)))
		return NULL;
	r = talloc_asprintf(ctx, "%s%s%s=%s", acc, *acc ? "&" : "", name, esc);
	explicit_bzero(esc, strlen(esc));
	curl_free(esc);
	wipe_str(acc);
	talloc_free(acc);
	return r;
}

static void token_fetch(struct mgw_north_client *c)
{
	struct xfer *x;
	char *form;
	CURLcode cc = CURLE_OK;

	if (c->token_xfer)
		return;
	if (!(x = xfer_new(c)))
		return;
	x->is_token = true;
	if (!(x->easy = curl_easy_init()))
		goto fail;
	form = talloc_strdup(x, "");
	form = form_field(x, x->easy, form, "grant_type", "client_credentials");
	form = form_field(x, x->easy, form, "nfInstanceId", c->client_id);
	form = form_field(x, x->easy, form, "client_id", c->client_id);
	form = form_field(x, x->easy, form, "client_secret", c->client_secret);
	if (c->scope)
		form = form_field(x, x->easy, form, "scope", c->scope);
	if (!form)
		goto fail;
	x->body = form;
	x->body_len = strlen(form);
	if (!(x->hdrs = curl_slist_append(NULL, "Accept: application/json")))
		goto fail;
	if (easy_common(c, x, c->token_url, strncmp(c->token_url, "https://", 8) == 0) != MGW_OK)
		goto fail;
	cc = curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	if (cc != CURLE_OK || xfer_start(x) != MGW_OK)
		goto fail;
	c->token_xfer = x;
	LOG_M5S(MGW_LOGL_DEBUG, "requesting an access token");
	return;
fail:
	LOG_M5S(MGW_LOGL_ERROR, "cannot request an access token");
	talloc_free(x);
	c->token_failures++;
	c->token_next_try = mgw_now_ms() + backoff(c, c->token_failures, 0);
}

/* the token answer: 0 with c->token set, or -1 (why logged) */
static int token_parse(struct mgw_north_client *c, struct xfer *x, int64_t now)
{
	json_t *j = NULL, *at, *tt, *ei;
	json_error_t jerr;
	int64_t life = TOKEN_DEFAULT_S;
	int rc = -1;

	if (x->resp_cut || !x->resp ||
	    !(j = json_loadb(x->resp, x->resp_len, JSON_REJECT_DUPLICATES, &jerr)) ||
	    !json_is_object(j)) {
		LOG_M5S(MGW_LOGL_ERROR, "token answer is not a JSON object");
		goto out;
	}
	at = json_object_get(j, "access_token");
	tt = json_object_get(j, "token_type");
	ei = json_object_get(j, "expires_in");
	if (!json_is_string(at) || !json_string_length(at) || !json_is_string(tt) ||
	    strcasecmp(json_string_value(tt), "Bearer") != 0) {
		LOG_M5S(MGW_LOGL_ERROR, "token answer lacks a Bearer access_token");
		goto out;
	}
	if (json_is_integer(ei) && json_integer_value(ei) > 0)
		life = json_integer_value(ei);
	if (life > 86400 * 365)
		life = 86400 * 365;
	token_drop(c);
	if (!(c->token = talloc_strdup(c, json_string_value(at))))
		goto out;
	c->token_until = now + life * TOKEN_USE_PERMILLE;
	rc = 0;
out:
	if (j) {
		/* the token lives in jansson's copy too */
		if (json_is_object(j) && json_is_string(json_object_get(j, "access_token")))
			explicit_bzero((char *)json_string_value(json_object_get(j, "access_token")),
				       json_string_length(json_object_get(j, "access_token")));
		json_decref(j);
	}
	return rc;
}

static void retry_entry(struct xfer *x, int64_t retry_after_ms, const char *why, int level);

static void token_done(struct mgw_north_client *c, struct xfer *x, CURLcode res, long status)
{
	int64_t now = mgw_now_ms();
	struct xfer *w;

	c->token_xfer = NULL;
	if (res == CURLE_OK && status == 200 && token_parse(c, x, now) == 0) {
		LOG_M5S(MGW_LOGL_INFO, "access token obtained, valid %llds",
			(long long)((c->token_until - now) / 1000));
		c->token_failures = 0;
		c->token_next_try = 0;
		/* resend what waited for it */
		while ((w = c->waiting)) {
			c->waiting = w->wnext;
			w->wnext = NULL;
			if (xfer_send(w) != MGW_OK)
				retry_entry(w, 0, "cannot resend", MGW_LOGL_ERROR);
		}
		return;
	}
	if (res != CURLE_OK)
		LOG_M5S(MGW_LOGL_ERROR, "token request failed: %s",
			x->errbuf[0] ? x->errbuf : curl_easy_strerror(res));
	else if (status != 200)
		LOG_M5S(MGW_LOGL_ERROR, "token request answered HTTP %ld", status);
	c->token_failures++;
	c->token_next_try = now + backoff(c, c->token_failures - 1, 0);
	/* the messages that waited go back to the queue */
	while ((w = c->waiting)) {
		c->waiting = w->wnext;
		w->wnext = NULL;
		retry_entry(w, 0, "no access token", MGW_LOGL_NOTICE);
	}
}

/* ---- message requests ---- */

/* (re)build the headers and hand the request to curl */
static int xfer_send(struct xfer *x)
{
	struct mgw_north_client *c = x->c;
	static const char *const base_hdrs[] = {
		"Content-Type: application/json",
		"Accept: application/json, application/problem+json",
		"Expect:", /* no 100-continue round trip over h1 */
	};
	struct curl_slist *h = NULL, *t;
	char *auth = NULL;
	int rc = MGW_E_NOMEM;

	if (x->in_multi) {
		curl_multi_remove_handle(c->multi, x->easy);
		x->in_multi = false;
	}
	x->resp_len = 0;
	x->resp_cut = false;
	x->errbuf[0] = '\0';
	for (size_t i = 0; i < sizeof(base_hdrs) / sizeof(base_hdrs[0]); i++) {
		if (!(t = curl_slist_append(h, base_hdrs[i])))
			goto out;
		h = t;
	}
	if (c->oauth) {
		if (!(auth = talloc_asprintf(x, "Authorization: Bearer %s", c->token)))
			goto out;
		t = curl_slist_append(h, auth);
		wipe_str(auth);
		if (!t)
			goto out;
		h = t;
	}
	if (curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, h) != CURLE_OK) {
		rc = MGW_E_INTERNAL;
		goto out;
	}
	wipe_slist(x->hdrs);
	curl_slist_free_all(x->hdrs);
	x->hdrs = h;
	h = NULL;
	if ((rc = xfer_start(x)) != MGW_OK)
		goto out;
	c->st.sent++;
	rc = MGW_OK;
out:
	talloc_free(auth);
	wipe_slist(h);
	curl_slist_free_all(h);
	return rc;
}

/* POST x->body to url (or wait for a token); MGW_E_NOMEM: not started, x untouched */
static int xfer_post(struct xfer *x, const char *url)
{
	struct mgw_north_client *c = x->c;

	if (!(x->easy = curl_easy_init()))
		return MGW_E_NOMEM;
	if (easy_common(c, x, url, c->https) != MGW_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body) != CURLE_OK ||
	    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len) !=
		    CURLE_OK)
		return MGW_E_NOMEM;
	c->inflight++;
	if (c->oauth && !token_valid(c, mgw_now_ms())) {
		x->wnext = c->waiting;
		c->waiting = x;
		token_fetch(c);
		return MGW_OK;
	}
	if (xfer_send(x) != MGW_OK)
		retry_entry(x, 0, "cannot send", MGW_LOGL_ERROR);
	return MGW_OK;
}

/* a registration entry (m5s_registration.c): built from the stored UE list and the
 * configured gwId/gwApiRoot */
static void reg_start(struct mgw_north_client *c, const struct mgw_store_entry *e)
{
	struct xfer *x = NULL;
	char *url = NULL;
	int rc;

	if (!c->reg) {
		LOG_M5S(MGW_LOGL_NOTICE, "registration entry #%lld dropped: registration is off",
			(long long)e->id);
		mgw_store_fail(c->store, e->id, "registration off");
		return;
	}
	if (!(x = xfer_new(c)) || !(x->reg_blob = talloc_memdup(x, e->blob, e->blob_len)))
		goto nomem;
	x->id = e->id;
	x->attempts = e->attempts;
	x->is_reg = true;
	x->reg_blob_len = e->blob_len;
	rc = m5s_reg_request(c->reg, x, e, &url, &x->body, &x->body_len, x->label,
			     sizeof(x->label));
	if (rc == MGW_E_MALFORMED) {
		LOG_M5S(MGW_LOGL_ERROR, "registration entry #%lld unreadable", (long long)e->id);
		mgw_store_fail(c->store, e->id, "unreadable entry");
		talloc_free(x);
		return;
	}
	if (rc != MGW_OK || xfer_post(x, url) != MGW_OK)
		goto nomem;
	return;
nomem:
	LOG_M5S(MGW_LOGL_ERROR, "entry #%lld: out of resources, will retry", (long long)e->id);
	mgw_store_retry(c->store, e->id, mgw_now_ms() + backoff(c, e->attempts, 0));
	c->st.retried++;
	talloc_free(x);
}

/* one claimed entry: decode, encode for the wire, POST (or wait for a token) */
static void entry_start(struct mgw_north_client *c, const struct mgw_store_entry *e)
{
	struct mgw_diag diag = { 0 };
	struct xfer *x;
	char cause[MGW_CAUSE_MAX + 1];
	int rc;

	if (m5s_reg_is_entry(e)) {
		reg_start(c, e);
		return;
	}
	if (!(x = xfer_new(c)))
		goto nomem;
	x->id = e->id;
	x->attempts = e->attempts;
	if ((rc = mgw_core_msg_from_blob(x, e->blob, e->blob_len, &x->msg)) != MGW_OK) {
		LOGP_RC(DNORTH, MGW_LOGL_ERROR, rc, "m5s: entry #%lld unreadable", (long long)e->id);
		mgw_store_fail(c->store, e->id, "unreadable entry");
		c->st.failed++;
		talloc_free(x);
		return;
	}
	/* the AS's protection profile (issue 7), applied now so that iat is fresh */
	if ((rc = mgw_core_protect_uplink(c->core, x->msg, cause, sizeof(cause))) != MGW_OK) {
		LOG_M5S(MGW_LOGL_ERROR, "%s %s/%s #%lld failed: %s", kind_name(x->msg),
			x->msg->ori.addr, x->msg->msg_id, (long long)x->id, cause);
		mgw_store_fail(c->store, x->id, cause);
		mgw_core_report_failure(c->core, x->msg, cause);
		c->st.failed++;
		talloc_free(x);
		return;
	}
	rc = mgw_json_encode_msg(x, x->msg->kind == MGW_MSG_REPORT ? MGW_BODY_REPORT : MGW_BODY_UE_MESSAGE,
				 x->msg, &x->body, &x->body_len, &diag);
	if (rc != MGW_OK) {
		/* the message cannot be expressed on the wire (e.g. a payload that is not
		 * UTF-8): final */
		snprintf(cause, sizeof(cause), "NOT_ENCODABLE: %s at %s", diag.text, diag.where);
		LOG_M5S(MGW_LOGL_ERROR, "%s %s/%s #%lld failed: %s", kind_name(x->msg),
			x->msg->ori.addr, x->msg->msg_id, (long long)x->id, cause);
		mgw_store_fail(c->store, x->id, cause);
		mgw_core_report_failure(c->core, x->msg, cause);
		c->st.failed++;
		talloc_free(x);
		return;
	}
	if (xfer_post(x, x->msg->kind == MGW_MSG_REPORT ? c->url_report : c->url_msg) != MGW_OK)
		goto nomem;
	return;
nomem:
	LOG_M5S(MGW_LOGL_ERROR, "entry #%lld: out of resources, will retry", (long long)e->id);
	mgw_store_retry(c->store, e->id, mgw_now_ms() + backoff(c, e->attempts, 0));
	c->st.retried++;
	talloc_free(x);
}

/* ---- outcomes: each logs once and frees x ---- */

static void finish(struct xfer *x)
{
	x->c->inflight--;
	talloc_free(x);
}

static void store_check(struct xfer *x, int rc)
{
	if (rc != MGW_OK)
		LOGP_RC(DNORTH, MGW_LOGL_ERROR, rc, "m5s: entry #%lld: store update failed",
			(long long)x->id);
}

static void retry_entry(struct xfer *x, int64_t retry_after_ms, const char *why, int level)
{
	struct mgw_north_client *c = x->c;
	int64_t d = backoff(c, x->attempts, retry_after_ms);

	if (x->is_reg)
		LOG_M5S(level, "%s #%lld: %s, retry in %lld ms (attempt %u)", x->label,
			(long long)x->id, why, (long long)d, x->attempts + 1);
	else
		LOG_M5S(level, "%s %s/%s #%lld: %s, retry in %lld ms (attempt %u)",
			kind_name(x->msg), x->msg->ori.addr, x->msg->msg_id, (long long)x->id, why,
			(long long)d, x->attempts + 1);
	store_check(x, mgw_store_retry(c->store, x->id, mgw_now_ms() + d));
	c->st.retried++;
	finish(x);
}

static void fail_entry(struct xfer *x, const char *cause)
{
	struct mgw_north_client *c = x->c;

	LOG_M5S(MGW_LOGL_NOTICE, "%s %s/%s #%lld refused: %s", kind_name(x->msg), x->msg->ori.addr,
		x->msg->msg_id, (long long)x->id, cause);
	store_check(x, mgw_store_fail(c->store, x->id, cause));
	mgw_core_report_failure(c->core, x->msg, cause);
	c->st.failed++;
	finish(x);
}

static void complete_entry(struct xfer *x, int level, const char *how)
{
	struct mgw_north_client *c = x->c;

	LOG_M5S(level, "%s %s/%s #%lld %s", kind_name(x->msg), x->msg->ori.addr, x->msg->msg_id,
		(long long)x->id, how);
	store_check(x, mgw_store_complete(c->store, x->id));
	finish(x);
}

static void on_ack(struct xfer *x)
{
	struct mgw_ack ack;
	struct mgw_diag diag = { 0 };
	char cause[MGW_CAUSE_MAX + 1];
	char how[MGW_DIAG_TEXT_MAX + MGW_DIAG_WHERE_MAX + 64];
	int rc;

	memset(&ack, 0, sizeof(ack));
	rc = x->resp_cut ? MGW_E_TOO_BIG
			 : mgw_json_decode_ack(x->resp ? x->resp : "", x->resp_len, &ack, &diag);
	if (rc != MGW_OK) {
		/* a 200 we cannot read is no proof of delivery: resend (the M5S deduplicates
		 * by msgId) */
		snprintf(how, sizeof(how), "HTTP 200 with an unreadable ack (%s at %s)",
			 x->resp_cut ? "too big" : diag.text, diag.where);
		retry_entry(x, 0, how, MGW_LOGL_ERROR);
		return;
	}
	if (strcmp(ack.msg_id, x->msg->msg_id) != 0)
		LOG_M5S(MGW_LOGL_NOTICE, "ack for #%lld names msgId %s, expected %s",
			(long long)x->id, ack.msg_id, x->msg->msg_id);
	if (!ack.status[0]) {
		x->c->st.ok++;
		complete_entry(x, MGW_LOGL_INFO, "accepted");
	} else if (strcmp(ack.status, "DELY_STORED") == 0) {
		x->c->st.stored++;
		complete_entry(x, MGW_LOGL_INFO, "accepted for later delivery (DELY_STORED)");
	} else if (strcmp(ack.status, "DELY_FAILED") == 0) {
		snprintf(cause, sizeof(cause), "DELY_FAILED: %.490s",
			 ack.has_failure_cause ? ack.failure_cause : "no failureCause");
		fail_entry(x, cause);
	} else {
		snprintf(how, sizeof(how), "accepted with unknown status %.32s", ack.status);
		x->c->st.ok++;
		complete_entry(x, MGW_LOGL_NOTICE, how);
	}
}

static void reauth(struct xfer *x)
{
	struct mgw_north_client *c = x->c;

	x->reauthed = true;
	token_drop(c);
	if (x->in_multi) {
		curl_multi_remove_handle(c->multi, x->easy);
		x->in_multi = false;
	}
	x->wnext = c->waiting;
	c->waiting = x;
	token_fetch(c);
}

/* the answer to a registration entry: transient failures retry like messages, the rest
 * is final (m5s_reg_answer records the per-UE results) */
static void reg_done(struct xfer *x, CURLcode res, long status)
{
	struct mgw_north_client *c = x->c;
	char why[CURL_ERROR_SIZE + 64];
	curl_off_t ra = 0;

	if (res != CURLE_OK) {
		snprintf(why, sizeof(why), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(res));
		retry_entry(x, 0, why, MGW_LOGL_NOTICE);
		return;
	}
	if (status == 429 || status == 408 || status >= 500) {
		if (curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK || ra < 0)
			ra = 0;
		snprintf(why, sizeof(why), "HTTP %ld", status);
		retry_entry(x, (int64_t)ra * 1000, why, MGW_LOGL_NOTICE);
		return;
	}
	if (status == 401 && c->oauth && !x->reauthed) {
		LOG_M5S(MGW_LOGL_NOTICE, "%s #%lld: HTTP 401, renewing the access token", x->label,
			(long long)x->id);
		reauth(x);
		return;
	}
	if (m5s_reg_answer(c->reg, mgw_core_security(c->core), x->reg_blob, x->reg_blob_len,
			   status, x->resp_cut ? NULL : x->resp, x->resp_cut ? 0 : x->resp_len, why,
			   sizeof(why)) == MGW_OK) {
		store_check(x, mgw_store_complete(c->store, x->id));
	} else {
		LOG_M5S(MGW_LOGL_ERROR, "%s #%lld refused: %s", x->label, (long long)x->id, why);
		store_check(x, mgw_store_fail(c->store, x->id, why));
		c->st.failed++;
	}
	finish(x);
}

static void on_http_error(struct xfer *x, long status)
{
	struct mgw_north_client *c = x->c;
	struct mgw_problem p;
	char cause[MGW_CAUSE_MAX + 1], full[MGW_CAUSE_MAX + 1];
	char why[64];
	curl_off_t ra = 0;
	const char *text = "";

	memset(&p, 0, sizeof(p));
	if (x->resp_len && !x->resp_cut &&
	    mgw_json_decode_problem(x->resp, x->resp_len, &p, NULL) == MGW_OK) {
		if (p.cause[0] && p.detail[0]) {
			snprintf(cause, sizeof(cause), "%.64s - %.256s", p.cause, p.detail);
			text = cause;
		} else if (p.cause[0]) {
			text = p.cause;
		} else if (p.detail[0]) {
			text = p.detail;
		} else if (p.title[0]) {
			text = p.title;
		}
	}
	if (status == 429 || status == 408 || status >= 500) {
		if (curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK || ra < 0)
			ra = 0;
		snprintf(why, sizeof(why), "HTTP %ld%s", status, ra ? " with Retry-After" : "");
		retry_entry(x, (int64_t)ra * 1000, why, MGW_LOGL_NOTICE);
		return;
	}
	if (status == 401 && c->oauth && !x->reauthed) {
		/* the token may have been revoked: one new token, one resend */
		LOG_M5S(MGW_LOGL_NOTICE, "%s %s/%s #%lld: HTTP 401, renewing the access token",
			kind_name(x->msg), x->msg->ori.addr, x->msg->msg_id, (long long)x->id);
		reauth(x);
		return;
	}
	if (text[0])
		snprintf(full, sizeof(full), "HTTP %ld: %.480s", status, text);
	else
		snprintf(full, sizeof(full), "HTTP %ld", status);
	fail_entry(x, full);
}

static bool tls_error(CURLcode res)
{
	switch (res) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return true;
	default:
		return false;
	}
}

/* A refused M5S (certificate, name, no common TLS version or suite) is a security decision
 * at the boundary: audit it, at most once per 10 s so a long outage does not flood the log. */
static void audit_tls(struct mgw_north_client *c, const struct mgw_msg *m, const char *why)
{
	struct mgw_identity id = { .ingress = MGW_IN_NORTH, .kind = MGW_CRED_M5S };
	int64_t now = mgw_now_ms();

	if (c->tls_audit_at && now - c->tls_audit_at < 10000)
		return;
	c->tls_audit_at = now;
	snprintf(id.value, sizeof(id.value), "%s", c->host);
	snprintf(id.peer, sizeof(id.peer), "%.63s", c->authority);
	mgw_security_audit_reject(mgw_core_security(c->core), MGW_DIR_UPLINK, MGW_IN_NORTH, &id,
				  m ? m->msg_id : NULL, MGW_E_TLS, "TLS_PEER_VERIFY", why);
}

static void on_done(struct mgw_north_client *c, CURL *easy, CURLcode res)
{
	struct xfer *x;
	char *priv = NULL;
	long status = 0;
	char why[CURL_ERROR_SIZE + 64];

	if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK || !priv)
		return;
	x = (struct xfer *)priv;
	curl_multi_remove_handle(c->multi, easy);
	x->in_multi = false;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (x->is_token) {
		token_done(c, x, res, status);
		talloc_free(x);
		return;
	}
	if (x->is_reg) {
		reg_done(x, res, status);
		return;
	}
	if (res != CURLE_OK) {
		snprintf(why, sizeof(why), "%s%s", tls_error(res) ? "TLS: " : "",
			 x->errbuf[0] ? x->errbuf : curl_easy_strerror(res));
		if (tls_error(res))
			audit_tls(c, x->msg, why);
		retry_entry(x, 0, why, tls_error(res) ? MGW_LOGL_ERROR : MGW_LOGL_NOTICE);
	} else if (status == 200) {
		on_ack(x);
	} else if (status >= 200 && status < 300) {
		snprintf(why, sizeof(why), "accepted (%ld)", status);
		c->st.ok++;
		complete_entry(x, MGW_LOGL_INFO, why);
	} else {
		on_http_error(x, status);
	}
}

/* after each curl_multi_socket_action(): record finished requests, then refill the window */
static void read_done(struct mgw_north_client *c)
{
	CURLMsg *m;
	int left;
	bool any = false;

	while ((m = curl_multi_info_read(c->multi, &left)))
		if (m->msg == CURLMSG_DONE) {
			on_done(c, m->easy_handle, m->data.result);
			any = true;
		}
	if (any)
		drive(c);
}

/* ---- curl <-> libevent ---- */

static void on_sock_event(evutil_socket_t fd, short what, void *arg)
{
	struct mgw_north_client *c = arg;
	int running = 0, action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(c->multi, fd, action, &running);
	read_done(c);
}

static void on_curl_timer(evutil_socket_t fd, short what, void *arg)
{
	struct mgw_north_client *c = arg;
	int running = 0;

	(void)fd;
	(void)what;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	read_done(c);
}

static int sockinfo_destructor(struct sockinfo *si)
{
	if (si->ev)
		event_free(si->ev);
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: watch (or stop watching) one socket */
static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct mgw_north_client *c = userp;
	struct sockinfo *si = socketp;
	short kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (si) {
			curl_multi_assign(c->multi, s, NULL);
			talloc_free(si);
		}
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	       ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (!si) {
		if (!(si = talloc_zero(c, struct sockinfo)))
			return -1;
		si->c = c;
		talloc_set_destructor(si, sockinfo_destructor);
		if (!(si->ev = event_new(c->base, s, kind, on_sock_event, c))) {
			talloc_free(si);
			return -1;
		}
		curl_multi_assign(c->multi, s, si);
	} else {
		event_del(si->ev);
		event_assign(si->ev, c->base, s, kind, on_sock_event, c);
	}
	if (event_add(si->ev, NULL) != 0)
		return -1;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: curl wants to be woken in timeout_ms (-1: never) */
static int on_curl_timer_set(CURLM *multi, long timeout_ms, void *userp)
{
	struct mgw_north_client *c = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(c->curl_timer);
		return 0;
	}
	ms_to_tv(timeout_ms, &tv);
	return evtimer_add(c->curl_timer, &tv) == 0 ? 0 : -1;
}

/* ---- queue driving ---- */

static void arm_retry(struct mgw_north_client *c, int64_t at)
{
	struct timeval tv;
	int64_t now = mgw_now_ms(), d;

	if (!at)
		return;
	d = at - now;
	if (d <= 0)
		d = POLL_FLOOR_MS;
	if (event_pending(c->retry, EV_TIMEOUT, NULL))
		evtimer_del(c->retry);
	ms_to_tv(d, &tv);
	evtimer_add(c->retry, &tv);
}

static void drive(struct mgw_north_client *c)
{
	struct mgw_store_entry **e = NULL;
	size_t n = 0;
	int64_t now = mgw_now_ms(), next = 0;
	void *tmp;
	int rc;

	if (c->stopping)
		return;
	if (c->inflight >= c->max_inflight)
		return; /* a finishing request drives again */
	if (c->oauth && !token_valid(c, now)) {
		if (c->token_next_try > now) {
			arm_retry(c, c->token_next_try);
			return;
		}
		if (!c->token_xfer)
			token_fetch(c);
		if (!c->token_xfer) {
			arm_retry(c, c->token_next_try);
			return;
		}
		return; /* requests wait for the token; its answer drives again */
	}
	if (!(tmp = talloc_new(c)))
		return;
	rc = mgw_store_claim(c->store, tmp, MGW_Q_NORTH, NULL, now, c->max_inflight - c->inflight,
			     &e, &n);
	if (rc != MGW_OK) {
		LOGP_RC(DNORTH, MGW_LOGL_ERROR, rc, "m5s: claim");
		arm_retry(c, now + POLL_FLOOR_MS);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		entry_start(c, e[i]);
	if (c->inflight < c->max_inflight && mgw_store_next_due(c->store, MGW_Q_NORTH, &next) == MGW_OK)
		arm_retry(c, next);
out:
	talloc_free(tmp);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	drive(arg);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	drive(arg);
}

void mgw_north_client_kick(struct mgw_north_client *c)
{
	if (c && !c->stopping && !event_pending(c->kick, EV_TIMEOUT, NULL))
		event_active(c->kick, EV_TIMEOUT, 0);
}

static void notify_hook(void *arg)
{
	mgw_north_client_kick(arg);
}

/* the registry's change notification (include/mgw/security.h): registration at the M5S */
static void on_dev_change(void *arg, const char *ue, enum mgw_dev_change what)
{
	struct mgw_north_client *c = arg;

	m5s_reg_changed(c->reg, mgw_core_security(c->core), ue, (int)what);
}

/* ---- life cycle ---- */

static int client_destructor(struct mgw_north_client *c)
{
	c->stopping = true;
	if (c->core)
		mgw_core_set_notify(c->core, MGW_Q_NORTH, NULL, NULL);
	if (c->reg)
		mgw_security_unwatch(mgw_core_security(c->core), on_dev_change, c);
	/* abandoned requests: their entries stay INFLIGHT until the next open */
	while (c->xfers)
		talloc_free(c->xfers);
	if (c->multi)
		curl_multi_cleanup(c->multi); /* may still call on_curl_socket(REMOVE) */
	c->multi = NULL;
	while (c->xfers) /* none expected */
		talloc_free(c->xfers);
	if (c->curl_timer)
		event_free(c->curl_timer);
	if (c->retry)
		event_free(c->retry);
	if (c->kick)
		event_free(c->kick);
	token_drop(c);
	wipe_str(c->client_secret);
	curl_global_cleanup();
	return 0;
}

/* scheme://[user@]HOST[:port][/...]: authority = HOST[:port], host = HOST (IPv6 without
 * its brackets) */
static void split_authority(const char *url, char *auth, size_t alen, char *host, size_t hlen)
{
	const char *a = strstr(url, "://"), *at, *end;
	size_t n;

	a = a ? a + 3 : url;
	n = strcspn(a, "/?#");
	if ((at = memchr(a, '@', n))) {
		n -= (size_t)(at + 1 - a);
		a = at + 1;
	}
	snprintf(auth, alen, "%.*s", (int)(n < alen ? n : alen - 1), a);
	if (a[0] == '[' && (end = memchr(a, ']', n)))
		snprintf(host, hlen, "%.*s", (int)(end - a - 1), a + 1);
	else
		snprintf(host, hlen, "%.*s", (int)strcspn(auth, ":"), auth);
}

static char *dup_opt(void *ctx, const char *s, bool *nomem)
{
	char *r;

	if (!s)
		return NULL;
	if (!(r = talloc_strdup(ctx, s)))
		*nomem = true;
	return r;
}

int mgw_north_client_start(void *ctx, struct event_base *base, const struct mgw_north_m5s *cfg,
			   struct mgw_core *core, struct mgw_store *store,
			   struct mgw_north_client **out, char *errbuf, size_t errlen)
{
	struct mgw_north_client *c = NULL;
	char *root = NULL;
	size_t len;
	bool nomem = false;
	CURLMcode mc = CURLM_OK;
	int rc;

	if (!base || !cfg || !cfg->api_root || !core || !store || !out) {
		snprintf(errbuf, errlen, "m5s client: missing argument");
		return MGW_E_INVAL;
	}
	if (strncmp(cfg->api_root, "https://", 8) != 0 &&
	    (strncmp(cfg->api_root, "http://", 7) != 0 || !cfg->insecure)) {
		snprintf(errbuf, errlen, "m5s.api_root: must be https:// (http:// only with insecure)");
		return MGW_E_CONFIG;
	}
	if (cfg->oauth2 && (!cfg->oauth2->token_url || !cfg->oauth2->client_id ||
			    !cfg->oauth2->client_secret)) {
		snprintf(errbuf, errlen, "m5s.oauth2: token_url, client_id and client_secret are needed");
		return MGW_E_CONFIG;
	}
	if (cfg->oauth2 && strncmp(cfg->oauth2->token_url, "https://", 8) != 0 && !cfg->insecure) {
		snprintf(errbuf, errlen, "m5s.oauth2.token_url: must be https://");
		return MGW_E_CONFIG;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(errbuf, errlen, "m5s client: curl_global_init failed");
		return MGW_E_INTERNAL;
	}
	if (!(c = talloc_zero(ctx, struct mgw_north_client))) {
		curl_global_cleanup();
		rc = MGW_E_NOMEM;
		goto out;
	}
	talloc_set_name_const(c, "mgw_north_client");
	talloc_set_destructor(c, client_destructor);
	c->base = base;
	c->store = store;
	c->https = strncmp(cfg->api_root, "https://", 8) == 0;
	split_authority(cfg->api_root, c->authority, sizeof(c->authority), c->host,
			sizeof(c->host));
	c->http2 = cfg->http2;
	c->timeout_ms = cfg->timeout_ms > 0 ? (long)cfg->timeout_ms : 10000;
	c->max_inflight = cfg->max_inflight > 0 ? (size_t)cfg->max_inflight : 100;
	mgw_backoff_init(&c->bo, cfg->retry_min_ms > 0 ? cfg->retry_min_ms : 500,
			 cfg->retry_max_ms > 0 ? cfg->retry_max_ms : 300000,
			 (uint64_t)mgw_now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c);

	len = strlen(cfg->api_root);
	while (len > 0 && cfg->api_root[len - 1] == '/')
		len--;
	root = talloc_strndup(c, cfg->api_root, len);
	if (root) {
		c->url_msg = talloc_asprintf(c, "%s" API_PATH "/deliver-ue-message", root);
		c->url_report = talloc_asprintf(c, "%s" API_PATH "/deliver-report", root);
	}
	if (!c->url_msg || !c->url_report)
		nomem = true;
	if (cfg->tls) {
		c->ca = dup_opt(c, cfg->tls->ca, &nomem);
		c->cert = dup_opt(c, cfg->tls->cert, &nomem);
		c->key = dup_opt(c, cfg->tls->key, &nomem);
	}
	if (cfg->oauth2) {
		if (c->https) {
			c->oauth = true;
			c->token_url = dup_opt(c, cfg->oauth2->token_url, &nomem);
			c->client_id = dup_opt(c, cfg->oauth2->client_id, &nomem);
			c->client_secret = dup_opt(c, cfg->oauth2->client_secret, &nomem);
			c->scope = dup_opt(c, cfg->oauth2->scope, &nomem);
			if (strncmp(cfg->oauth2->token_url, "https://", 8) != 0)
				LOG_M5S(MGW_LOGL_ERROR,
					"INSECURE: the OAuth2 client secret goes to %s without TLS",
					cfg->oauth2->token_url);
		} else {
			LOG_M5S(MGW_LOGL_ERROR,
				"INSECURE: api_root is plain http://: OAuth2 is configured but no "
				"access token will be sent over cleartext");
		}
	}
	if (!c->https)
		LOG_M5S(MGW_LOGL_NOTICE, "INSECURE: plain %s to %s (labs only)",
			c->http2 ? "h2c" : "HTTP/1.1", c->url_msg ? c->url_msg : "?");
	if (nomem) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	if (!(c->multi = curl_multi_init()) ||
	    !(c->curl_timer = evtimer_new(base, on_curl_timer, c)) ||
	    !(c->retry = evtimer_new(base, on_retry, c)) ||
	    !(c->kick = event_new(base, -1, 0, on_kick, c))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
#define MSET(opt, val)                                                                     \
	do {                                                                               \
		if (mc == CURLM_OK)                                                        \
			mc = curl_multi_setopt(c->multi, opt, val);                        \
	} while (0)
	MSET(CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	MSET(CURLMOPT_SOCKETDATA, c);
	MSET(CURLMOPT_TIMERFUNCTION, on_curl_timer_set);
	MSET(CURLMOPT_TIMERDATA, c);
	/* multiplex over h2; HTTP/1.1 transfers never multiplex, so this is inert there */
	MSET(CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	MSET(CURLMOPT_MAX_HOST_CONNECTIONS,
	     c->http2 ? (long)H2_MAX_CONNS : (long)(c->max_inflight + 1 /* token */));
#undef MSET
	if (mc != CURLM_OK) {
		snprintf(errbuf, errlen, "m5s client: %s", curl_multi_strerror(mc));
		rc = MGW_E_INTERNAL;
		goto out;
	}
	c->core = core;
	if (cfg->registration && cfg->registration->enable &&
	    ((rc = m5s_reg_alloc(c, cfg->registration, root, store, base, notify_hook, c,
				 &c->reg)) != MGW_OK ||
	     (rc = mgw_security_watch(mgw_core_security(core), on_dev_change, c)) != MGW_OK)) {
		TALLOC_FREE(c->reg); /* not watching: the destructor must not unwatch */
		goto out;
	}
	mgw_core_set_notify(core, MGW_Q_NORTH, notify_hook, c);
	LOG_M5S(MGW_LOGL_INFO, "client to %s (%s, at most %zu in flight)", root,
		c->http2 ? (c->https ? "h2" : "h2c") : "HTTP/1.1", c->max_inflight);
	drive(c);
	*out = c;
	c = NULL;
	rc = MGW_OK;
out:
	if (rc == MGW_E_NOMEM)
		snprintf(errbuf, errlen, "m5s client: out of memory");
	talloc_free(c);
	return rc;
}

void mgw_north_client_free(struct mgw_north_client *c)
{
	talloc_free(c);
}

int mgw_north_client_sync_devices(struct mgw_north_client *c, struct mgw_security *sec)
{
	if (!c || !c->reg)
		return MGW_OK;
	return m5s_reg_sync(c->reg, sec);
}

void mgw_north_client_stats(const struct mgw_north_client *c, struct mgw_north_stats *st)
{
	if (!c || !st)
		return;
	*st = c->st;
}
