/* testdev lab adapter: private interfaces between test_codec.c, test_conn.c and
 * test_adapter.c. The protocol is described in README.md beside this file. */
#ifndef MGW_TESTDEV_INT_H
#define MGW_TESTDEV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mgw/adapter.h>
#include <mgw/adapter_testdev.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/security.h>

/* The log category of this adapter (there is no lab category; it is the daemon's). */
#define DTESTDEV DGW

/* Longest accepted line, LF excluded; a longer one closes the session. */
#define TD_LINE_MAX (256 * 1024)
/* Submits awaiting their answer per session: above it the session stops reading. */
#define TD_SUBMIT_MAX 1024

/* ---- test_codec.c: pure line parsing and formatting ---- */

enum td_verb { TD_HELLO, TD_MSG, TD_REPORT, TD_SUB, TD_ACK, TD_NACK, TD_QUIT };

/* One parsed command line. arg points into the parsed line (not NUL-terminated there):
 * HELLO: the credential value; MSG/REPORT: the JSON body; ACK: the msgId;
 * NACK: "<msgId> <cause>" (split it with td_nack_match()). */
struct td_cmd {
	enum td_verb verb;
	enum mgw_cred kind; /* HELLO */
	const char *arg;
	size_t arg_len;
};

/* Parse one line (LF removed; a trailing CR is ignored). MGW_OK, or the error with diag
 * set (where "", text one line for the ERR answer). */
int td_parse(const char *line, size_t len, struct td_cmd *out, struct mgw_diag *diag);
/* "psk" -> MGW_CRED_PSK_ID, "cert", "msisdn", "mqtt"; MGW_CRED_NONE otherwise. */
enum mgw_cred td_cred_parse(const char *s, size_t len);
/* NACK argument rest[0..len) against a pending msgId: true if rest is msg_id alone or
 * msg_id, a space and a cause; cause and cause_len get the cause ("" if none). */
bool td_nack_match(const char *rest, size_t len, const char *msg_id, const char **cause,
		   size_t *cause_len);

/* Answer lines, talloc'd under ctx, without the LF; NULL on allocation failure.
 * Tokens (msgId, ue, cause) have whitespace and control characters replaced by '_'
 * ("-" if empty); free text has control characters replaced by ' '. */
/* "OK hello <ue>" / "OK sub <ue>" */
char *td_fmt_ok(void *ctx, const char *what, const char *ue);
/* The submit answer: "OK <msgId> stored", "OK <msgId> duplicate" or
 * "ERR <errname> <msgId> <cause> <detail>" (cause defaults to the errname, detail to
 * mgw_strerror(rc)). */
char *td_fmt_submit(void *ctx, int rc, const char *msg_id, const char *cause,
		    const char *detail);
/* "ERR <errname> - [<where> ]<text>" */
char *td_fmt_err(void *ctx, int rc, const char *where, const char *text);
/* "DELIVER <json>": MGW_E_INVAL if json holds a line break. */
int td_fmt_deliver(void *ctx, const char *json, size_t len, char **out);

/* ---- test_conn.c: listener, sessions, deliveries ---- */

struct td_adapter;

int td_adapter_start(const struct mgw_adapter_env *env, const struct mgw_testdev_cfg *cfg,
		     struct td_adapter **out);
/* Close everything; pending deliveries are failed (retry) before this returns. */
void td_adapter_stop(struct td_adapter *ad);
int td_adapter_deliver(struct td_adapter *ad, const struct mgw_msg *msg,
		       const struct mgw_device *dev, mgw_deliver_done done, void *arg);

#endif
