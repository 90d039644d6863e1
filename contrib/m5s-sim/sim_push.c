/* m5s-sim push: POST L3gMessageDelivery / N3gMessageDelivery (built with the gateway's
 * codec) or a given body to a Message Gateway, once or N times with C in flight (curl multi;
 * HTTP/2 multiplexing with --http2). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <jansson.h>
#include <talloc.h>

#include <mgw/addr.h>
#include <mgw/codec.h>
#include <mgw/err.h>
#include <mgw/msg.h>

#include "m5s_sim.h"

/* the most of an answer we keep (printed in single mode) */
#define RESP_MAX (1024 * 1024)
#define BODY_FILE_MAX (1024 * 1024)
#define COUNT_MAX 100000000LL
#define CONC_MAX 10000LL
/* failures of a --count run printed one by one */
#define FAIL_PRINT_MAX 5

enum push_http { PUSH_HTTP_DEFAULT, PUSH_HTTP1, PUSH_HTTP2 };

struct push {
	const char *url, *cacert, *cert, *key, *token;
	bool insecure, plain;
	enum push_http http;
	/* the body: a template (JSON object) or a message encoded per msgId */
	json_t *tmpl;
	const char *tmpl_id; /* msgId of the template */
	struct mgw_msg *msg; /* --l3g/--n3g */
	char msg_base[MGW_ID_MAX + 1]; /* its --msg-id; msg->msg_id is rewritten per message */
	enum mgw_body body_kind;
	long long count, conc;
	bool multi;
	struct curl_slist *hdrs;
	char *auth_hdr;
	unsigned printed;
};

/* one transfer */
struct xfer {
	struct push *p;
	CURL *h;
	char *body;
	char *resp;
	size_t resp_len;
	char msg_id[MGW_ID_MAX + 32];
	char errbuf[CURL_ERROR_SIZE];
};

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb, room = RESP_MAX - x->resp_len;
	char *r;

	if (x->p->multi)
		return n; /* nobody reads it */
	if (n > room)
		n = room;
	if (!(r = talloc_realloc(x, x->resp, char, x->resp_len + n + 1)))
		return 0;
	memcpy(r + x->resp_len, ptr, n);
	x->resp = r;
	x->resp_len += n;
	x->resp[x->resp_len] = '\0';
	return size * nmemb;
}

/* the body of message i (i < 0: the single message, msgId as given) into x */
static int build_body(struct push *p, struct xfer *x, long long i, char *err, size_t errlen)
{
	struct mgw_diag d;
	char *s = NULL;
	const char *base = p->msg ? p->msg_base : p->tmpl_id;
	int rc;

	talloc_free(x->body);
	x->body = NULL;
	if (i >= 0)
		snprintf(x->msg_id, sizeof(x->msg_id), "%s-%lld", base ? base : "", i);
	else
		snprintf(x->msg_id, sizeof(x->msg_id), "%s", base ? base : "");
	if (p->msg) {
		if ((rc = mgw_str_set(p->msg->msg_id, sizeof(p->msg->msg_id), x->msg_id)) != MGW_OK) {
			snprintf(err, errlen, "msgId too long (over %d bytes)", MGW_ID_MAX);
			return rc;
		}
		if ((rc = mgw_json_encode_msg(x, p->body_kind, p->msg, &x->body, NULL, &d)) !=
		    MGW_OK) {
			snprintf(err, errlen, "cannot build %s: %s: %s", mgw_body_name(p->body_kind),
				 d.where[0] ? d.where : "/", d.text);
			return rc;
		}
		return MGW_OK;
	}
	if (i >= 0 && json_object_set_new(p->tmpl, "msgId", json_string(x->msg_id)) != 0) {
		snprintf(err, errlen, "out of memory");
		return MGW_E_NOMEM;
	}
	if (!(s = json_dumps(p->tmpl, JSON_COMPACT)) || !(x->body = talloc_strdup(x, s))) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return MGW_E_NOMEM;
	}
	free(s);
	return MGW_OK;
}

/* only the scheme of --url, also for redirects (none are followed anyway) */
static CURLcode set_protocols(CURL *h, bool plain)
{
#if LIBCURL_VERSION_NUM >= 0x075500
	return curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, plain ? "http" : "https");
#else
	return curl_easy_setopt(h, CURLOPT_PROTOCOLS, plain ? CURLPROTO_HTTP : CURLPROTO_HTTPS);
#endif
}

static int setup(struct push *p, struct xfer *x)
{
	CURL *h = x->h;

	x->resp_len = 0;
	x->errbuf[0] = '\0';
	if (curl_easy_setopt(h, CURLOPT_URL, p->url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, x->body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(x->body)) !=
		    CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, p->hdrs) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, x) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PRIVATE, x) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 120000L) != CURLE_OK ||
	    set_protocols(h, p->plain) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK)
		return MGW_E_INVAL;
	if (p->cacert && curl_easy_setopt(h, CURLOPT_CAINFO, p->cacert) != CURLE_OK)
		return MGW_E_INVAL;
	if (p->cert && (curl_easy_setopt(h, CURLOPT_SSLCERT, p->cert) != CURLE_OK ||
			curl_easy_setopt(h, CURLOPT_SSLKEY, p->key) != CURLE_OK))
		return MGW_E_INVAL;
	switch (p->http) {
	case PUSH_HTTP1:
		if (curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) !=
		    CURLE_OK)
			return MGW_E_INVAL;
		break;
	case PUSH_HTTP2:
		if (curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
				     p->plain ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE :
						(long)CURL_HTTP_VERSION_2TLS) != CURLE_OK ||
		    curl_easy_setopt(h, CURLOPT_PIPEWAIT, 1L) != CURLE_OK)
			return MGW_E_INVAL;
		break;
	case PUSH_HTTP_DEFAULT:
		/* https: ALPN offers h2 and http/1.1; http: HTTP/1.1 */
		if (curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
				     p->plain ? (long)CURL_HTTP_VERSION_1_1 :
						(long)CURL_HTTP_VERSION_2TLS) != CURLE_OK)
			return MGW_E_INVAL;
		break;
	}
	return MGW_OK;
}

static int push_one(struct push *p, void *ctx)
{
	struct xfer *x = talloc_zero(ctx, struct xfer);
	char err[1024];
	long status = 0;
	CURLcode cc;
	int rc = SIM_EXIT_RUNTIME;

	if (!x || !(x->h = curl_easy_init())) {
		fprintf(stderr, "m5s-sim: push: out of memory\n");
		goto out;
	}
	x->p = p;
	if (build_body(p, x, -1, err, sizeof(err)) != MGW_OK) {
		fprintf(stderr, "m5s-sim: push: %s\n", err);
		rc = SIM_EXIT_USAGE;
		goto out;
	}
	if (setup(p, x) != MGW_OK) {
		fprintf(stderr, "m5s-sim: push: libcurl refused an option (too old?)\n");
		goto out;
	}
	if ((cc = curl_easy_perform(x->h)) != CURLE_OK) {
		fprintf(stderr, "m5s-sim: push: %s: %s\n", p->url,
			x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	printf("HTTP %ld\n", status);
	if (x->resp_len) {
		fwrite(x->resp, 1, x->resp_len, stdout);
		if (x->resp[x->resp_len - 1] != '\n')
			putchar('\n');
	}
	fflush(stdout);
	rc = status >= 200 && status < 300 ? SIM_EXIT_OK : SIM_EXIT_NOT_2XX;
out:
	if (x && x->h)
		curl_easy_cleanup(x->h);
	talloc_free(x);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int push_many(struct push *p, void *ctx)
{
	struct xfer **xs = NULL;
	CURLM *m = NULL;
	CURLMsg *msg;
	long long next = 0, done = 0, ok = 0, failed = 0;
	size_t nx = (size_t)(p->conc < p->count ? p->conc : p->count);
	int running = 0, left, rc = SIM_EXIT_RUNTIME;
	char err[1024];
	double t0, dt;

	if (!(m = curl_multi_init()) || !(xs = talloc_zero_array(ctx, struct xfer *, nx))) {
		fprintf(stderr, "m5s-sim: push: out of memory\n");
		goto out;
	}
	curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(m, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)nx);
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)nx);
	t0 = now_s();
	for (size_t i = 0; i < nx; i++) {
		if (!(xs[i] = talloc_zero(xs, struct xfer)) || !(xs[i]->h = curl_easy_init())) {
			fprintf(stderr, "m5s-sim: push: out of memory\n");
			goto out;
		}
		xs[i]->p = p;
		if (build_body(p, xs[i], next++, err, sizeof(err)) != MGW_OK) {
			fprintf(stderr, "m5s-sim: push: %s\n", err);
			rc = SIM_EXIT_USAGE;
			goto out;
		}
		if (setup(p, xs[i]) != MGW_OK || curl_multi_add_handle(m, xs[i]->h) != CURLM_OK) {
			fprintf(stderr, "m5s-sim: push: libcurl refused an option\n");
			goto out;
		}
	}
	for (;;) {
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			fprintf(stderr, "m5s-sim: push: curl multi failed\n");
			goto out;
		}
		while ((msg = curl_multi_info_read(m, &left))) {
			struct xfer *x = NULL;
			long status = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
			done++;
			if (msg->data.result == CURLE_OK && status >= 200 && status < 300) {
				ok++;
			} else {
				failed++;
				if (p->printed++ < FAIL_PRINT_MAX && msg->data.result == CURLE_OK)
					fprintf(stderr, "m5s-sim: push: %s: HTTP %ld\n", x->msg_id, status);
				else if (p->printed <= FAIL_PRINT_MAX)
					fprintf(stderr, "m5s-sim: push: %s: %s\n", x->msg_id,
						x->errbuf[0] ? x->errbuf :
							      curl_easy_strerror(msg->data.result));
			}
			curl_multi_remove_handle(m, x->h);
			if (next >= p->count)
				continue;
			if (build_body(p, x, next++, err, sizeof(err)) != MGW_OK) {
				fprintf(stderr, "m5s-sim: push: %s\n", err);
				goto out;
			}
			x->errbuf[0] = '\0';
			/* the body changed: point the handle at it before it runs again */
			if (curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->body) != CURLE_OK ||
			    curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE,
					     (curl_off_t)strlen(x->body)) != CURLE_OK ||
			    curl_multi_add_handle(m, x->h) != CURLM_OK) {
				fprintf(stderr, "m5s-sim: push: curl multi failed\n");
				goto out;
			}
		}
		if (done >= p->count)
			break;
		if (curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK) {
			fprintf(stderr, "m5s-sim: push: curl multi failed\n");
			goto out;
		}
	}
	dt = now_s() - t0;
	printf("pushed %lld: %lld ok, %lld failed, %.1f msgs/s\n", p->count, ok, failed,
	       dt > 0 ? (double)p->count / dt : 0.0);
	fflush(stdout);
	rc = failed ? SIM_EXIT_NOT_2XX : SIM_EXIT_OK;
out:
	for (size_t i = 0; xs && i < nx; i++)
		if (xs[i] && xs[i]->h) {
			if (m)
				curl_multi_remove_handle(m, xs[i]->h);
			curl_easy_cleanup(xs[i]->h);
		}
	if (m)
		curl_multi_cleanup(m);
	talloc_free(xs);
	return rc;
}

static char *read_file(void *ctx, const char *file)
{
	FILE *f = fopen(file, "rb");
	char *buf = NULL;
	size_t n;

	if (!f)
		return NULL;
	if (!(buf = talloc_size(ctx, BODY_FILE_MAX + 1)))
		goto out;
	n = fread(buf, 1, BODY_FILE_MAX + 1, f);
	if (ferror(f) || n > BODY_FILE_MAX) {
		TALLOC_FREE(buf);
		goto out;
	}
	buf[n] = '\0';
out:
	fclose(f);
	return buf;
}

static const struct option push_opts[] = {
	{ "url", required_argument, NULL, 'u' },
	{ "cacert", required_argument, NULL, 'A' },
	{ "cert", required_argument, NULL, 'c' },
	{ "key", required_argument, NULL, 'k' },
	{ "insecure", no_argument, NULL, 'i' },
	{ "http1", no_argument, NULL, '1' },
	{ "http2", no_argument, NULL, '2' },
	{ "token", required_argument, NULL, 't' },
	{ "body", required_argument, NULL, 'b' },
	{ "body-file", required_argument, NULL, 'B' },
	{ "l3g", no_argument, NULL, 'L' },
	{ "n3g", no_argument, NULL, 'N' },
	{ "from", required_argument, NULL, 'f' },
	{ "to", required_argument, NULL, 'T' },
	{ "msg-id", required_argument, NULL, 'm' },
	{ "payload", required_argument, NULL, 'P' },
	{ "report-required", no_argument, NULL, 'R' },
	{ "app-id", required_argument, NULL, 'a' },
	{ "count", required_argument, NULL, 'n' },
	{ "concurrency", required_argument, NULL, 'C' },
	{ "registered", required_argument, NULL, 'g' },
	{ NULL, 0, NULL, 0 },
};

/* --registered FILE (serve's --reg-state): an M5S routes only to registered UEs */
static int routable(const struct push *p, const char *file)
{
	const struct mgw_addr *dest = p->msg ? &p->msg->dest : NULL;
	json_t *d = p->tmpl ? json_object_get(p->tmpl, "destAddr") : NULL;
	const char *type = dest ? mgw_addr_type_name(dest->type)
				: json_string_value(json_object_get(d, "addrType"));
	const char *ue = dest ? dest->addr : json_string_value(json_object_get(d, "addr"));
	int rc;

	if (!type || strcmp(type, "UE") != 0 || !ue)
		return SIM_EXIT_OK; /* not addressed to one UE: nothing to check */
	if ((rc = sim_regs_file_has(file, ue)) == MGW_OK)
		return SIM_EXIT_OK;
	if (rc == MGW_E_NOT_FOUND) {
		fprintf(stderr, "m5s-sim: push: UE %s is not registered at this M5S (%s): not sent\n",
			ue, file);
		return SIM_EXIT_NOT_REGISTERED;
	}
	fprintf(stderr, "m5s-sim: push: %s: cannot read the registrations\n", file);
	return SIM_EXIT_RUNTIME;
}

int sim_push_main(void *ctx, int argc, char **argv)
{
	struct push *p;
	const char *body = NULL, *body_file = NULL, *from = NULL, *to = NULL, *msg_id = NULL,
		   *payload = NULL, *count = NULL, *conc = NULL, *app_id = NULL,
		   *registered = NULL;
	char *text = NULL;
	bool l3g = false, n3g = false, report = false, curl_up = false;
	json_error_t jerr;
	json_t *id;
	int opt, rc = SIM_EXIT_USAGE;

	if (!(p = talloc_zero(ctx, struct push)))
		return SIM_EXIT_RUNTIME;
	p->count = 1;
	p->conc = 1;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", push_opts, NULL)) != -1) {
		switch (opt) {
		case 'u': p->url = optarg; break;
		case 'A': p->cacert = optarg; break;
		case 'c': p->cert = optarg; break;
		case 'k': p->key = optarg; break;
		case 'i': p->insecure = true; break;
		case '1': p->http = PUSH_HTTP1; break;
		case '2': p->http = PUSH_HTTP2; break;
		case 't': p->token = optarg; break;
		case 'b': body = optarg; break;
		case 'B': body_file = optarg; break;
		case 'L': l3g = true; break;
		case 'N': n3g = true; break;
		case 'f': from = optarg; break;
		case 'T': to = optarg; break;
		case 'm': msg_id = optarg; break;
		case 'P': payload = optarg; break;
		case 'R': report = true; break;
		case 'a': app_id = optarg; break;
		case 'n': count = optarg; break;
		case 'C': conc = optarg; break;
		case 'g': registered = optarg; break;
		default:
			rc = sim_usage_error("push: unknown option or missing value '%s'",
					     argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		rc = sim_usage_error("push: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!p->url) {
		rc = sim_usage_error("push: --url is required");
		goto out;
	}
	if (strncmp(p->url, "http://", 7) == 0) {
		p->plain = true;
		if (!p->insecure) {
			rc = sim_usage_error("push: an http:// URL needs --insecure");
			goto out;
		}
	} else if (strncmp(p->url, "https://", 8) != 0) {
		rc = sim_usage_error("push: --url must be https:// (or http:// with --insecure)");
		goto out;
	}
	if (!p->cert != !p->key) {
		rc = sim_usage_error("push: --cert and --key go together");
		goto out;
	}
	if ((body != NULL) + (body_file != NULL) + (l3g || n3g) != 1 || (l3g && n3g)) {
		rc = sim_usage_error("push: give one of --body, --body-file, --l3g or --n3g");
		goto out;
	}
	if (count && !sim_parse_ll(count, 1, COUNT_MAX, &p->count)) {
		rc = sim_usage_error("push: --count wants 1..%lld", COUNT_MAX);
		goto out;
	}
	if (conc && !sim_parse_ll(conc, 1, CONC_MAX, &p->conc)) {
		rc = sim_usage_error("push: --concurrency wants 1..%lld", CONC_MAX);
		goto out;
	}
	p->multi = count != NULL;
	if (p->token && !(p->auth_hdr = talloc_asprintf(p, "Authorization: Bearer %s", p->token))) {
		rc = SIM_EXIT_RUNTIME;
		goto out;
	}

	if (l3g || n3g) {
		if (!from || !to || !msg_id) {
			rc = sim_usage_error("push: --%s needs --from, --to and --msg-id",
					     l3g ? "l3g" : "n3g");
			goto out;
		}
		if (!(p->msg = mgw_msg_alloc(p, MGW_MSG_MESSAGE))) {
			rc = SIM_EXIT_RUNTIME;
			goto out;
		}
		p->body_kind = l3g ? MGW_BODY_L3G_MESSAGE : MGW_BODY_N3G_MESSAGE;
		if (mgw_addr_parse(&p->msg->ori, from) != MGW_OK) {
			rc = sim_usage_error("push: --from wants TYPE:ADDR, not '%s'", from);
			goto out;
		}
		if (mgw_addr_parse(&p->msg->dest, to) != MGW_OK) {
			rc = sim_usage_error("push: --to wants TYPE:ADDR, not '%s'", to);
			goto out;
		}
		if (!*msg_id || mgw_str_set(p->msg->msg_id, sizeof(p->msg->msg_id), msg_id) != MGW_OK) {
			rc = sim_usage_error("push: --msg-id must be 1..%d bytes", MGW_ID_MAX);
			goto out;
		}
		snprintf(p->msg_base, sizeof(p->msg_base), "%s", p->msg->msg_id);
		if (payload && mgw_msg_set_payload(p->msg, payload, strlen(payload)) != MGW_OK) {
			rc = sim_usage_error("push: --payload too large");
			goto out;
		}
		if (app_id) {
			if (!*app_id ||
			    mgw_str_set(p->msg->app_id, sizeof(p->msg->app_id), app_id) != MGW_OK) {
				rc = sim_usage_error("push: --app-id must be 1..%d bytes", MGW_ID_MAX);
				goto out;
			}
			p->msg->has_app_id = true;
		}
		if (report) {
			p->msg->has_deliv_st_req = true;
			p->msg->deliv_st_req = true;
		}
	} else {
		if (from || to || msg_id || payload || report || app_id) {
			rc = sim_usage_error("push: --from/--to/--msg-id/--payload/--app-id/--report-required "
					     "only with --l3g or --n3g");
			goto out;
		}
		if (body_file && !(text = read_file(p, body_file))) {
			fprintf(stderr, "m5s-sim: push: %s: cannot read (or over %d bytes)\n",
				body_file, BODY_FILE_MAX);
			rc = SIM_EXIT_USAGE;
			goto out;
		}
		if (!(p->tmpl = json_loads(body ? body : text, 0, &jerr)) ||
		    !json_is_object(p->tmpl)) {
			rc = sim_usage_error("push: the body is not a JSON object%s%s",
					     p->tmpl ? "" : ": ", p->tmpl ? "" : jerr.text);
			goto out;
		}
		id = json_object_get(p->tmpl, "msgId");
		p->tmpl_id = json_is_string(id) ? json_string_value(id) : NULL;
		if (p->multi && !p->tmpl_id) {
			rc = sim_usage_error("push: --count needs a body with a string msgId");
			goto out;
		}
		/* the template's msgId is replaced per message: keep the base */
		if (p->tmpl_id && !(p->tmpl_id = talloc_strdup(p, p->tmpl_id))) {
			rc = SIM_EXIT_RUNTIME;
			goto out;
		}
	}

	if (registered && (rc = routable(p, registered)) != SIM_EXIT_OK)
		goto out;

	rc = SIM_EXIT_RUNTIME;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "m5s-sim: push: cannot initialise libcurl\n");
		goto out;
	}
	curl_up = true;
	if (!(p->hdrs = curl_slist_append(NULL, "Content-Type: application/json")) ||
	    !curl_slist_append(p->hdrs, "Accept: application/json, application/problem+json") ||
	    !curl_slist_append(p->hdrs, "Expect:") ||
	    (p->auth_hdr && !curl_slist_append(p->hdrs, p->auth_hdr))) {
		fprintf(stderr, "m5s-sim: push: out of memory\n");
		goto out;
	}
	rc = p->multi ? push_many(p, p) : push_one(p, p);
out:
	curl_slist_free_all(p->hdrs);
	if (curl_up)
		curl_global_cleanup();
	json_decref(p->tmpl);
	talloc_free(p);
	return rc;
}
