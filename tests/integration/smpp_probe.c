/* smpp_probe: drives the SMS adapter's SMPP session layer (src/adapter/sms/smpp_conn.c)
 * against an SMSC, for tests/integration/02-smpp-conn.sh.
 *
 * smpp_probe HOST PORT SYSTEM_ID PASSWORD COUNT [SECONDS]
 * binds, submits COUNT messages ("probe-N" as 8-bit data to 491700000000), answers every
 * deliver_sm with status 0, prints one line per event ("bound", "submit N STATUS ID",
 * "deliver SEQ SRC DST DCS HEX", "unbound WHY") and stops (unbind) after SECONDS (default 5).
 * Exit 0 if every submit got an answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>

#include "../../src/adapter/sms/smpp_conn.h"

struct probe {
	struct event_base *base;
	struct smpp_conn *c;
	int count, sent, answered;
	bool all_ok;
};

static void submit_cb(void *arg, uint32_t status, const char *message_id)
{
	struct probe *p = arg;

	p->answered++;
	printf("submit %d 0x%08x %s\n", p->answered, status, message_id ? message_id : "-");
	fflush(stdout);
}

static void send_more(struct probe *p)
{
	while (p->sent < p->count && smpp_conn_ready(p->c)) {
		submit_sm_t s;
		int n;

		memset(&s, 0, sizeof(s));
		snprintf((char *)s.source_addr, sizeof(s.source_addr), "12345");
		snprintf((char *)s.destination_addr, sizeof(s.destination_addr), "491700000000");
		s.source_addr_ton = 0;
		s.dest_addr_ton = 1;
		s.dest_addr_npi = 1;
		s.data_coding = 4;
		s.registered_delivery = 1;
		n = snprintf((char *)s.short_message, sizeof(s.short_message), "probe-%d", p->sent + 1);
		s.sm_length = (uint8_t)n;
		if (smpp_conn_submit(p->c, &s, submit_cb, p) != MGW_OK)
			break;
		p->sent++;
	}
}

static void bound(void *arg, struct smpp_conn *c)
{
	(void)c;
	printf("bound\n");
	fflush(stdout);
	send_more(arg);
}

static void unbound(void *arg, struct smpp_conn *c, const char *why)
{
	(void)arg;
	(void)c;
	printf("unbound %s\n", why);
	fflush(stdout);
}

static void deliver(void *arg, struct smpp_conn *c, uint32_t seq, const deliver_sm_t *d)
{
	(void)arg;
	printf("deliver %u %s %s 0x%02x ", seq, (const char *)d->source_addr,
	       (const char *)d->destination_addr, d->data_coding);
	for (int i = 0; i < d->sm_length; i++)
		printf("%02x", d->short_message[i]);
	printf("\n");
	fflush(stdout);
	smpp_conn_deliver_resp(c, seq, ESME_ROK);
}

static const struct smpp_conn_ops ops = { bound, unbound, deliver };

static void tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_more(arg);
}

/* a decimal argument, or -1 */
static long arg_num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end ? v : -1;
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(((struct probe *)arg)->base, NULL);
}

int main(int argc, char **argv)
{
	void *ctx = talloc_new(NULL);
	struct probe p = { 0 };
	struct smpp_conn_cfg cfg = { 0 };
	struct event *t, *stop;
	struct timeval tv = { 0, 100000 }, end = { 5, 0 };
	int rc;

	if (argc < 6) {
		fprintf(stderr, "usage: smpp_probe HOST PORT SYSTEM_ID PASSWORD COUNT [SECONDS]\n");
		return 1;
	}
	mgw_log_set_all(MGW_LOGL_INFO);
	if (argc > 6)
		end.tv_sec = arg_num(argv[6]);
	p.base = event_base_new();
	p.count = (int)arg_num(argv[5]);
	cfg.name = "probe";
	cfg.host = argv[1];
	cfg.port = (int)arg_num(argv[2]);
	cfg.system_id = argv[3];
	cfg.password = argv[4];
	cfg.window = 4;
	cfg.enquire_ms = 1000;
	cfg.resp_timeout_ms = 3000;
	cfg.reconnect_min_ms = 200;
	cfg.reconnect_max_ms = 2000;
	if ((rc = smpp_conn_start(ctx, p.base, &cfg, &ops, &p, &p.c)) != MGW_OK) {
		fprintf(stderr, "smpp_probe: %s\n", mgw_strerror(rc));
		return 2;
	}
	t = event_new(p.base, -1, EV_PERSIST, tick, &p);
	event_add(t, &tv);
	stop = evtimer_new(p.base, stop_cb, &p);
	event_add(stop, &end);
	event_base_dispatch(p.base);
	smpp_conn_stop(p.c);
	event_free(t);
	event_free(stop);
	event_base_free(p.base);
	talloc_free(ctx);
	printf("done %d sent %d answered\n", p.sent, p.answered);
	return p.answered == p.count ? 0 : 3;
}
