/* m5s-sim: the reference MSGin5G Server for tests, demos and labs. Private to
 * contrib/m5s-sim: the two subcommands (serve, push) and the answer script of serve.
 */
#ifndef M5S_SIM_H
#define M5S_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit status of the program (interfaces.md 1), plus 3 for "push got a non-2xx answer". */
#define SIM_EXIT_OK 0
#define SIM_EXIT_USAGE 1
#define SIM_EXIT_RUNTIME 2
#define SIM_EXIT_NOT_2XX 3
/* push --registered: the destination UE is not registered at this M5S (not sent) */
#define SIM_EXIT_NOT_REGISTERED 4

/* ---- the answer script (sim_script.c) ---- */

enum sim_action {
	SIM_ACT_OK,     /* 200 MessageDeliveryAck, no status */
	SIM_ACT_STORED, /* 200 MessageDeliveryAck, status DELY_STORED */
	SIM_ACT_FAILED, /* 200 MessageDeliveryAck, status DELY_FAILED (+ failureCause) */
	SIM_ACT_STATUS, /* ProblemDetails with code (+ Retry-After) */
	SIM_ACT_DELAY,  /* the default answer after delay_ms */
	SIM_ACT_DROP,   /* no answer (see README: held 60 s, then 503) */
};

enum sim_match_kind { SIM_MATCH_ANY, SIM_MATCH_PATH, SIM_MATCH_MSGID };

#define SIM_RULE_MATCH_MAX 4

struct sim_rule {
	unsigned line; /* in the script file, for logs */
	size_t n_match;
	struct {
		enum sim_match_kind kind;
		char *glob; /* fnmatch pattern; NULL for SIM_MATCH_ANY */
	} match[SIM_RULE_MATCH_MAX];
	enum sim_action action;
	int code;            /* SIM_ACT_STATUS */
	int retry_after;     /* SIM_ACT_STATUS: seconds, or -1 for no Retry-After */
	int64_t delay_ms;    /* SIM_ACT_DELAY */
	char *cause;         /* SIM_ACT_FAILED: failureCause, or NULL */
	long long times;     /* applications left; -1 = unlimited */
};

struct sim_script {
	char *file;
	size_t n;
	struct sim_rule *rules;
};

/* Read and parse FILE into a new script under ctx. On error: MGW_E_* and a one-line
 * "FILE:LINE: reason" in err. */
int sim_script_load(void *ctx, const char *file, struct sim_script **out, char *err,
		    size_t errlen);
/* The first rule that matches (path, msg_id) and has applications left, or NULL. Consumes
 * one application of a rule with times=. msg_id may be NULL (it then matches no msgId=). */
struct sim_rule *sim_script_match(struct sim_script *s, const char *path, const char *msg_id);

/* ---- the gateway registration API (sim_reg.c) ---- */
struct mgw_diag;
struct json_t;
struct sim_regs;
/* file: --reg-state (read at start if present, rewritten on every change), or NULL */
int sim_regs_alloc(void *ctx, const char *file, struct sim_regs **out);
/* A registration (reg) or de-registration body: checked against the schema (MGW_E_* and d
 * naming the member when it is not), applied, and the 200 answer {"results": [...]} in
 * *resp (talloc'd under ctx). */
int sim_regs_apply(struct sim_regs *r, void *ctx, bool reg, struct json_t *body, char **resp,
		   size_t *len, struct mgw_diag *d);
/* Is ue registered by some gateway in the state file? MGW_OK, MGW_E_NOT_FOUND, MGW_E_IO. */
int sim_regs_file_has(const char *file, const char *ue);

/* ---- helpers (m5s_sim.c) ---- */

/* Parse a decimal integer in [min, max]; the whole string must be the number. */
bool sim_parse_ll(const char *s, long long min, long long max, long long *out);
/* "m5s-sim: <reason> (see m5s-sim --help)" on stderr; returns SIM_EXIT_USAGE. */
int sim_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the subcommands ---- */
int sim_serve_main(void *ctx, int argc, char **argv);
int sim_push_main(void *ctx, int argc, char **argv);

#endif
