/* msgin5g-gw logging: categories x levels to stderr or syslog (include/mgw/log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <mgw/err.h>
#include <mgw/log.h>

static const struct {
	const char *name;
	const char *desc;
} cats[_MGW_LOG_CAT_COUNT] = {
	[DCORE] = { "core", "canonical message, codec, submit path" },
	[DSEC] = { "sec", "security: registry, binding, policy, audit" },
	[DSTORE] = { "store", "durable store, batches, recovery" },
	[DROUTE] = { "route", "router: adapter choice for downlink" },
	[DFSM] = { "fsm", "state machine transitions" },
	[DREF] = { "ref", "use counts of shared objects" },
	[DSMPP] = { "smpp", "SMS adapter: SMPP binds and PDUs" },
	[DCOAP] = { "coap", "CoAP adapter: DTLS sessions and requests" },
	[DMQTT] = { "mqtt", "MQTT adapter: broker connection" },
	[DNORTH] = { "north", "MSGin5G Server client and server (TS 29.538)" },
	[DCFG] = { "cfg", "configuration loading" },
	[DGW] = { "gw", "daemon: start, signals, shutdown" },
};

static const struct {
	enum mgw_log_level l;
	const char *name;
	int prio;
} levels[] = {
	{ MGW_LOGL_DEBUG, "debug", LOG_DEBUG },
	{ MGW_LOGL_INFO, "info", LOG_INFO },
	{ MGW_LOGL_NOTICE, "notice", LOG_NOTICE },
	{ MGW_LOGL_ERROR, "error", LOG_ERR },
};

static enum mgw_log_level cat_level[_MGW_LOG_CAT_COUNT] = {
	MGW_LOGL_INFO, MGW_LOGL_INFO, MGW_LOGL_INFO, MGW_LOGL_INFO, MGW_LOGL_INFO, MGW_LOGL_INFO,
	MGW_LOGL_INFO, MGW_LOGL_INFO, MGW_LOGL_INFO, MGW_LOGL_INFO, MGW_LOGL_INFO, MGW_LOGL_INFO,
};
static bool use_syslog;
static bool timestamps = true;

const char *mgw_log_cat_name(enum mgw_log_cat cat)
{
	return (unsigned)cat < _MGW_LOG_CAT_COUNT ? cats[cat].name : "?";
}

const char *mgw_log_cat_desc(enum mgw_log_cat cat)
{
	return (unsigned)cat < _MGW_LOG_CAT_COUNT ? cats[cat].desc : "?";
}

int mgw_log_cat_parse(const char *s, enum mgw_log_cat *out)
{
	for (int i = 0; i < _MGW_LOG_CAT_COUNT; i++)
		if (strcasecmp(s, cats[i].name) == 0) {
			*out = (enum mgw_log_cat)i;
			return MGW_OK;
		}
	return MGW_E_INVAL;
}

int mgw_log_level_parse(const char *s, enum mgw_log_level *out)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(s, levels[i].name) == 0) {
			*out = levels[i].l;
			return MGW_OK;
		}
	return MGW_E_INVAL;
}

const char *mgw_log_level_name(enum mgw_log_level l)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].l == l)
			return levels[i].name;
	return "?";
}

static int level_prio(enum mgw_log_level l)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].l == l)
			return levels[i].prio;
	return LOG_INFO;
}

void mgw_log_set_level(enum mgw_log_cat cat, enum mgw_log_level level)
{
	if ((unsigned)cat < _MGW_LOG_CAT_COUNT)
		cat_level[cat] = level;
}

void mgw_log_set_all(enum mgw_log_level level)
{
	for (int i = 0; i < _MGW_LOG_CAT_COUNT; i++)
		cat_level[i] = level;
}

bool mgw_log_enabled(enum mgw_log_cat cat, enum mgw_log_level level)
{
	return (unsigned)cat < _MGW_LOG_CAT_COUNT && level >= cat_level[cat];
}

void mgw_log_use_syslog(bool on)
{
	use_syslog = on;
	if (on)
		openlog("msgin5g-gw", LOG_PID, LOG_DAEMON);
}

void mgw_log_set_timestamps(bool on)
{
	timestamps = on;
}

void mgw_logp(enum mgw_log_cat cat, enum mgw_log_level level, const char *file, int line,
	      const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	(void)file;
	(void)line;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* one record is one line: fold any newline a caller let through */
	for (char *p = text; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';

	if (use_syslog) {
		syslog(level_prio(level), "%s %s", mgw_log_cat_name(cat), text);
		return;
	}
	if (timestamps) {
		struct timeval tv;
		struct tm tm;
		char ts[32];

		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03dZ %s %s %s\n", ts, (int)(tv.tv_usec / 1000),
			mgw_log_level_name(level), mgw_log_cat_name(cat), text);
	} else {
		fprintf(stderr, "%s %s %s\n", mgw_log_level_name(level), mgw_log_cat_name(cat), text);
	}
}

/* ---- lab key log ---- */

static int keylog_fd = -1;

static void keylog_cb(const SSL *ssl, const char *line)
{
	size_t n = strlen(line);
	char buf[1024];

	(void)ssl;
	if (keylog_fd < 0 || n + 1 > sizeof(buf))
		return;
	memcpy(buf, line, n);
	buf[n] = '\n';
	/* one write per line, O_APPEND: lines from other writers never interleave */
	if (write(keylog_fd, buf, n + 1) != (ssize_t)(n + 1))
		LOGP(DGW, MGW_LOGL_ERROR, "lab.keylog: write failed: %s", strerror(errno));
}

int mgw_keylog_open(const char *path, char *errbuf, size_t errlen)
{
	int fd;

	if (!path)
		return MGW_E_INVAL;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return MGW_E_IO;
	}
	mgw_keylog_close();
	keylog_fd = fd;
	return MGW_OK;
}

void mgw_keylog_close(void)
{
	if (keylog_fd >= 0)
		close(keylog_fd);
	keylog_fd = -1;
}

bool mgw_keylog_on(void)
{
	return keylog_fd >= 0;
}

void mgw_keylog_attach(void *ssl_ctx)
{
	if (keylog_fd >= 0 && ssl_ctx)
		SSL_CTX_set_keylog_callback(ssl_ctx, keylog_cb);
}

/* ---- rate-limited lines ---- */

static int64_t rl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool mgw_log_rl_pass(struct mgw_log_rl *rl, uint64_t *held)
{
	int64_t now = rl_now_ms();

	if (rl->window_ms == 0 || now - rl->window_ms >= rl->interval_ms) {
		rl->window_ms = now;
		rl->n = 0;
	}
	if (rl->n >= rl->burst) {
		rl->held++;
		return false;
	}
	rl->n++;
	if (held)
		*held = rl->held;
	rl->held = 0;
	return true;
}

uint64_t mgw_log_rl_flush(struct mgw_log_rl *rl, bool always)
{
	uint64_t held = rl->held;

	if (!held || (!always && rl_now_ms() - rl->window_ms < rl->interval_ms))
		return 0;
	rl->held = 0;
	return held;
}
