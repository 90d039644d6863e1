/* mqtt-bench: MQTT load for bench/mqtt-bench.sh (a bench tool, not the gateway: it uses
 * libmosquitto's own thread per connection).
 *
 *   mqtt-bench pub  K devices (user dev-1..dev-K, password pw-1..pw-K by default), each on its
 *                   own TLS connection, publish N/K QoS 1 messages (a device JSON body, msgId
 *                   TAG-DEVICE-I) to TOPIC-PREFIX + username (msgin5g/up/dev-1), at most W
 *                   unacknowledged per device; prints the rate of broker PUBACKs
 *   mqtt-bench sub  one QoS 1 subscriber (as the gateway would be: client certificate) counts
 *                   N messages; prints the wall-clock time (ms) of the Nth and its rate
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

struct opts {
	const char *mode, *host, *cafile, *cert, *key, *topic, *user_fmt, *pass_fmt, *tag, *id;
	int port, devices, messages, window, timeout_s, version;
};

static int64_t now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
		"usage: mqtt-bench pub --port P --cafile F [--host H] [--devices K] [--messages N]\n"
		"                      [--window W] [--topic PREFIX] [--user PREFIX] [--password PREFIX]\n"
		"                      [--tag TAG] [--version 5|311] [--timeout S]\n"
		"       mqtt-bench sub --port P --cafile F --cert F --key F --topic T --messages N\n"
		"                      [--window RECEIVE_MAX] [--id CLIENT_ID] [--host H] [--timeout S]\n");
	exit(1); /* checksrc: allow (a bench tool) */
}

static int num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 100000000)
		usage();
	return (int)v;
}

static void parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->devices = 10;
	o->messages = 10000;
	o->window = 20;
	o->topic = "msgin5g/up/";
	o->user_fmt = "dev-";
	o->pass_fmt = "pw-";
	o->tag = "b";
	o->id = "bench-sub";
	o->timeout_s = 300;
	o->version = 5;
	if (argc < 2)
		usage();
	o->mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		i++;
		if (!strcmp(k, "--host"))
			o->host = v;
		else if (!strcmp(k, "--port"))
			o->port = num(v);
		else if (!strcmp(k, "--cafile"))
			o->cafile = v;
		else if (!strcmp(k, "--cert"))
			o->cert = v;
		else if (!strcmp(k, "--key"))
			o->key = v;
		else if (!strcmp(k, "--topic"))
			o->topic = v;
		else if (!strcmp(k, "--user"))
			o->user_fmt = v;
		else if (!strcmp(k, "--password"))
			o->pass_fmt = v;
		else if (!strcmp(k, "--tag"))
			o->tag = v;
		else if (!strcmp(k, "--id"))
			o->id = v;
		else if (!strcmp(k, "--devices"))
			o->devices = num(v);
		else if (!strcmp(k, "--messages"))
			o->messages = num(v);
		else if (!strcmp(k, "--window"))
			o->window = num(v);
		else if (!strcmp(k, "--timeout"))
			o->timeout_s = num(v);
		else if (!strcmp(k, "--version"))
			o->version = num(v);
		else
			usage();
	}
	if (!o->port || !o->cafile || o->devices < 1 || o->messages < 1 || o->window < 1)
		usage();
}

static struct mosquitto *client(const struct opts *o, const char *id, bool clean, void *obj)
{
	struct mosquitto *m = mosquitto_new(id, clean, obj);

	if (!m) {
		fprintf(stderr, "mqtt-bench: mosquitto_new failed\n");
		return NULL;
	}
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION,
			     o->version == 311 ? MQTT_PROTOCOL_V311 : MQTT_PROTOCOL_V5);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	if (mosquitto_tls_set(m, o->cafile, NULL, o->cert, o->key, NULL) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mqtt-bench: TLS setup failed\n");
		mosquitto_destroy(m);
		return NULL;
	}
	return m;
}

/* ---- pub ---- */

struct dev {
	struct mosquitto *m;
	atomic_int acked, connected;
	int n;
};

static void pub_connect(struct mosquitto *m, void *obj, int rc)
{
	struct dev *d = obj;

	(void)m;
	if (rc)
		fprintf(stderr, "mqtt-bench: CONNACK %d (%s)\n", rc, mosquitto_connack_string(rc));
	atomic_store(&d->connected, rc ? -1 : 1);
}

static void pub_publish(struct mosquitto *m, void *obj, int mid)
{
	struct dev *d = obj;

	(void)m;
	(void)mid;
	atomic_fetch_add(&d->acked, 1);
}

static int run_pub(const struct opts *o)
{
	struct dev *devs = calloc((size_t)o->devices, sizeof(*devs));
	int per = o->messages / o->devices, total = per * o->devices, acked = 0;
	int64_t t0, t1, deadline;
	char id[64], user[64], pass[64], topic[256], body[512];

	if (!devs)
		return 2;
	for (int i = 0; i < o->devices; i++) {
		struct dev *d = &devs[i];

		snprintf(user, sizeof(user), "%s%d", o->user_fmt, i + 1);
		snprintf(pass, sizeof(pass), "%s%d", o->pass_fmt, i + 1);
		snprintf(id, sizeof(id), "bench-%s-%d", o->tag, i + 1);
		d->n = per;
		if (!(d->m = client(o, id, true, d)))
			return 2;
		mosquitto_max_inflight_messages_set(d->m, (unsigned)o->window);
		mosquitto_int_option(d->m, MOSQ_OPT_SEND_MAXIMUM, o->window);
		mosquitto_username_pw_set(d->m, user, pass);
		mosquitto_connect_callback_set(d->m, pub_connect);
		mosquitto_publish_callback_set(d->m, pub_publish);
		if (mosquitto_connect(d->m, o->host, o->port, 60) != MOSQ_ERR_SUCCESS ||
		    mosquitto_loop_start(d->m) != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "mqtt-bench: device %s cannot connect\n", user);
			return 2;
		}
	}
	deadline = now_ms(CLOCK_MONOTONIC) + 30000;
	for (int i = 0; i < o->devices; i++) {
		while (atomic_load(&devs[i].connected) == 0 && now_ms(CLOCK_MONOTONIC) < deadline)
			usleep(1000);
		if (atomic_load(&devs[i].connected) != 1) {
			fprintf(stderr, "mqtt-bench: device %d not connected\n", i + 1);
			return 2;
		}
	}
	printf("mqtt-bench: start %lld\n", (long long)now_ms(CLOCK_REALTIME));
	fflush(stdout);
	t0 = now_ms(CLOCK_MONOTONIC);
	/* interleaved over the devices; the library holds what is beyond the window */
	for (int k = 0; k < per; k++) {
		for (int i = 0; i < o->devices; i++) {
			int n;

			snprintf(topic, sizeof(topic), "%s%s%d", o->topic, o->user_fmt, i + 1);
			n = snprintf(body, sizeof(body),
				     "{\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},"
				     "\"msgId\":\"%s-%d-%d\",\"payload\":\"bench message %d of device %d\"}",
				     o->tag, i + 1, k, k, i + 1);
			if (mosquitto_publish(devs[i].m, NULL, topic, n, body, 1, false) !=
			    MOSQ_ERR_SUCCESS) {
				fprintf(stderr, "mqtt-bench: publish failed\n");
				return 2;
			}
		}
	}
	deadline = t0 + (int64_t)o->timeout_s * 1000;
	for (;;) {
		acked = 0;
		for (int i = 0; i < o->devices; i++)
			acked += atomic_load(&devs[i].acked);
		if (acked >= total || now_ms(CLOCK_MONOTONIC) > deadline)
			break;
		usleep(1000);
	}
	t1 = now_ms(CLOCK_MONOTONIC);
	for (int i = 0; i < o->devices; i++) {
		mosquitto_disconnect(devs[i].m);
		mosquitto_loop_stop(devs[i].m, false);
		mosquitto_destroy(devs[i].m);
	}
	free(devs);
	printf("mqtt-bench: pub %d devices, %d of %d messages acknowledged by the broker in %.3f s: "
	       "%.0f msgs/s\n",
	       o->devices, acked, total, (double)(t1 - t0) / 1000.0,
	       (double)acked * 1000.0 / (double)(t1 - t0 > 0 ? t1 - t0 : 1));
	return acked >= total ? 0 : 3;
}

/* ---- sub ---- */

static atomic_int got;
static atomic_llong first_ms, last_ms;
static atomic_int subscribed;
static int want;

static void sub_connect(struct mosquitto *m, void *obj, int rc)
{
	const struct opts *o = obj;

	if (rc) {
		fprintf(stderr, "mqtt-bench: CONNACK %d\n", rc);
		return;
	}
	mosquitto_subscribe(m, NULL, o->topic, 1);
}

static void sub_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	(void)m;
	(void)obj;
	(void)mid;
	atomic_store(&subscribed, n > 0 && granted[0] < 0x80 ? 1 : -1);
}

static void sub_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	int n = atomic_fetch_add(&got, 1) + 1;

	(void)m;
	(void)obj;
	(void)msg;
	if (n == 1)
		atomic_store(&first_ms, now_ms(CLOCK_REALTIME));
	if (n == want)
		atomic_store(&last_ms, now_ms(CLOCK_REALTIME));
}

static int run_sub(struct opts *o)
{
	struct mosquitto *m = NULL;
	int64_t deadline;

	want = o->messages;
	if (!o->cert || !o->key || !(m = client(o, o->id, true, o)))
		usage();
	/* --window: its MQTT 5 Receive Maximum (the gateway's mqtt.receive_max) */
	mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, o->window);
	mosquitto_connect_callback_set(m, sub_connect);
	mosquitto_subscribe_callback_set(m, sub_subscribe);
	mosquitto_message_callback_set(m, sub_message);
	if (mosquitto_connect(m, o->host, o->port, 60) != MOSQ_ERR_SUCCESS ||
	    mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "mqtt-bench: sub cannot connect\n");
		return 2;
	}
	deadline = now_ms(CLOCK_MONOTONIC) + 30000;
	while (atomic_load(&subscribed) == 0 && now_ms(CLOCK_MONOTONIC) < deadline)
		usleep(1000);
	if (atomic_load(&subscribed) != 1) {
		fprintf(stderr, "mqtt-bench: not subscribed\n");
		return 2;
	}
	printf("mqtt-bench: subscribed\n");
	fflush(stdout);
	deadline = now_ms(CLOCK_MONOTONIC) + (int64_t)o->timeout_s * 1000;
	while (atomic_load(&got) < want && now_ms(CLOCK_MONOTONIC) < deadline)
		usleep(1000);
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, false);
	mosquitto_destroy(m);
	if (atomic_load(&got) < want) {
		printf("mqtt-bench: sub got %d of %d\n", atomic_load(&got), want);
		return 3;
	}
	printf("mqtt-bench: sub %d messages, last at %lld, %.0f msgs/s from the first\n", want,
	       (long long)atomic_load(&last_ms),
	       (double)want * 1000.0 /
		       (double)(atomic_load(&last_ms) - atomic_load(&first_ms) > 0
					? atomic_load(&last_ms) - atomic_load(&first_ms)
					: 1));
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc = 1;

	parse(argc, argv, &o);
	mosquitto_lib_init();
	if (!strcmp(o.mode, "pub"))
		rc = run_pub(&o);
	else if (!strcmp(o.mode, "sub"))
		rc = run_sub(&o);
	else
		usage();
	mosquitto_lib_cleanup();
	return rc;
}
