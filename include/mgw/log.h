/* msgin5g-gw logging: categories x levels, per-object prefixes.
 *
 * Logs go to stderr (or syslog when daemonized) as
 *   "2026-11-28T17:00:00.123Z <level> <cat> <prefix>: text"
 * Never log keys, PSKs, tokens, passwords or whole payloads.
 */
#ifndef MGW_LOG_H
#define MGW_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum mgw_log_cat {
	DCORE, DSEC, DSTORE, DROUTE, DFSM, DREF, DSMPP, DCOAP, DMQTT, DNORTH, DCFG, DGW,
	_MGW_LOG_CAT_COUNT
};

enum mgw_log_level {
	MGW_LOGL_DEBUG = 1,
	MGW_LOGL_INFO = 3,
	MGW_LOGL_NOTICE = 5,
	MGW_LOGL_ERROR = 7,
};

/* Category names ("core", "sec", ...) and their one-line descriptions. */
const char *mgw_log_cat_name(enum mgw_log_cat cat);
const char *mgw_log_cat_desc(enum mgw_log_cat cat);
/* Parse "debug|info|notice|error"; returns MGW_OK or MGW_E_INVAL. */
int mgw_log_level_parse(const char *s, enum mgw_log_level *out);
const char *mgw_log_level_name(enum mgw_log_level l);
int mgw_log_cat_parse(const char *s, enum mgw_log_cat *out);

void mgw_log_set_level(enum mgw_log_cat cat, enum mgw_log_level level);
void mgw_log_set_all(enum mgw_log_level level);
bool mgw_log_enabled(enum mgw_log_cat cat, enum mgw_log_level level);
void mgw_log_use_syslog(bool on);
/* Tests: omit the timestamp so traces can be diffed against .ok files. */
void mgw_log_set_timestamps(bool on);

void mgw_logp(enum mgw_log_cat cat, enum mgw_log_level level, const char *file, int line,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define LOGP(cat, level, fmt, ...)                                                     \
	do {                                                                           \
		if (mgw_log_enabled(cat, level))                                       \
			mgw_logp(cat, level, __FILE__, __LINE__, fmt, ##__VA_ARGS__);  \
	} while (0)

/* Lab only (config lab.keylog, doc/security.md): TLS and DTLS secrets of every connection
 * in NSS key log format, so a lab can decrypt both sides of the boundary in Wireshark.
 * mgw_keylog_open() appends to path (created 0600); mgw_keylog_attach() makes an SSL_CTX
 * (void * to keep OpenSSL out of this header) write its secrets there: a no-op while no key
 * log is open. Every TLS/DTLS context of the gateway is attached where it is made. */
int mgw_keylog_open(const char *path, char *errbuf, size_t errlen);
void mgw_keylog_close(void);
bool mgw_keylog_on(void);
void mgw_keylog_attach(void *ssl_ctx);

/* Rate-limited lines, for causes a peer can repeat at will (malformed datagrams, probes):
 * at most burst lines per interval_ms; the lines held back are counted, and the next line
 * let through (or mgw_log_rl_flush() once the interval is over) reports how many. */
struct mgw_log_rl {
	unsigned burst;
	int64_t interval_ms;
	int64_t window_ms; /* start of the current interval (monotonic ms) */
	unsigned n;        /* lines let through in it */
	uint64_t held;     /* lines held back since the last one let through */
};
#define MGW_LOG_RL_INIT(burst, interval_ms) { (burst), (interval_ms), 0, 0, 0 }
/* true: write the line; *held (may be NULL) is the count held back before it */
bool mgw_log_rl_pass(struct mgw_log_rl *rl, uint64_t *held);
/* the count held back once the interval is over (or always: at stop), then reset; else 0 */
uint64_t mgw_log_rl_flush(struct mgw_log_rl *rl, bool always);

/* _RC variant appends ": <mgw_strerror(rc)>" */
#define LOGP_RC(cat, level, rc, fmt, ...)                                              \
	LOGP(cat, level, fmt ": %s", ##__VA_ARGS__, mgw_strerror(rc))

#endif
