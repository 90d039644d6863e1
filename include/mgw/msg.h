/* The canonical message: one MSGin5G message or delivery status report, as it moves
 * between adapters, security, store and north. An open data model, but built and freed
 * only through these functions (talloc: a message is a talloc context; its payload is
 * a child of it).
 */
#ifndef MGW_MSG_H
#define MGW_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mgw/addr.h>

/* Hard ceiling on a payload; the configured limit (policy) is at most this. */
#define MGW_PAYLOAD_HARD_MAX (256 * 1024)
#define MGW_CAUSE_MAX 512

enum mgw_msg_kind {
	MGW_MSG_MESSAGE = 0, /* UEMessageDelivery / L3gMessageDelivery / N3gMessageDelivery */
	MGW_MSG_REPORT = 1,  /* DeliveryStatusReport */
};

enum mgw_dir {
	MGW_DIR_UPLINK = 0,   /* device -> M5S */
	MGW_DIR_DOWNLINK = 1, /* M5S -> device */
};

enum mgw_priority { MGW_PRIO_NONE = 0, MGW_PRIO_HIGH, MGW_PRIO_MIDDLE, MGW_PRIO_LOW };

/* ReportDeliveryStatus; OTHER keeps an extension value verbatim in deliv_st_name. */
enum mgw_deliv_st { MGW_DELIV_NONE = 0, MGW_DELIV_SUCCESS, MGW_DELIV_FAILED, MGW_DELIV_OTHER };

/* How the payload is protected right now (security mapping, issue 7). */
enum mgw_prot { MGW_PROT_NONE = 0, MGW_PROT_JWS, MGW_PROT_JWE, MGW_PROT_COSE };

/* Ingress adapters (where a message entered the gateway). */
enum mgw_ingress {
	MGW_IN_NONE = 0, MGW_IN_NORTH, MGW_IN_SMS, MGW_IN_COAP, MGW_IN_MQTT, MGW_IN_TEST,
};

/* MessageSegmentParameters; each member optional. */
struct mgw_seg {
	bool has_seg_id, has_total, has_numb, has_last;
	char seg_id[MGW_ID_MAX + 1];
	int64_t total;
	int64_t numb;
	bool last;
};

struct mgw_msg {
	enum mgw_msg_kind kind;
	struct mgw_addr ori;  /* oriAddr */
	struct mgw_addr dest; /* destAddr */
	char msg_id[MGW_ID_MAX + 1];

	/* message members (absent unless has_*) */
	bool has_app_id;
	char app_id[MGW_ID_MAX + 1];
	bool has_deliv_st_req;
	bool deliv_st_req; /* delivStReqInd */
	bool has_payload;
	uint8_t *payload; /* talloc child of the msg; NUL-terminated for convenience */
	size_t payload_len;
	enum mgw_priority priority; /* device side only: UEMessageDelivery has no priority */
	bool has_seg_ind;
	bool seg_ind;
	bool has_seg;
	struct mgw_seg seg;
	bool sto_fw_ind;     /* stoAndFwInd (UEMessageDelivery, required there) */
	int64_t expiry_ms;   /* stoAndFwParams.exprTime, or the gateway's validity; 0 = none */

	/* report members */
	enum mgw_deliv_st deliv_st;
	char deliv_st_name[32]; /* wire string of delivSt */
	bool has_failure_cause;
	char failure_cause[MGW_CAUSE_MAX + 1];

	/* gateway metadata (never on the wire to the M5S) */
	enum mgw_dir dir;
	enum mgw_ingress ingress;
	enum mgw_prot prot;
	int64_t created_ms; /* when the gateway accepted it (unix ms) */
	uint32_t attempts;
	int64_t store_id; /* row id once stored, else 0 */
};

/* Allocate a zeroed message as a talloc child of ctx. NULL on allocation failure. */
struct mgw_msg *mgw_msg_alloc(void *ctx, enum mgw_msg_kind kind);
/* Free a message and everything it owns; NULL is fine. */
void mgw_msg_free(struct mgw_msg *m);
/* Deep copy under ctx. */
struct mgw_msg *mgw_msg_dup(void *ctx, const struct mgw_msg *m);
/* Replace the payload with a copy of (p, n); MGW_E_TOO_BIG above MGW_PAYLOAD_HARD_MAX. */
int mgw_msg_set_payload(struct mgw_msg *m, const void *p, size_t n);
/* Set a bounded string member (msg_id, app_id, failure_cause...): MGW_E_TOO_BIG if it
 * does not fit in cap bytes including the NUL. */
int mgw_str_set(char *dst, size_t cap, const char *src);

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
bool mgw_utf8_valid(const uint8_t *s, size_t n);

enum mgw_priority mgw_priority_parse(const char *s); /* NONE if unknown */
const char *mgw_priority_name(enum mgw_priority p);  /* NULL for NONE */
enum mgw_deliv_st mgw_deliv_st_parse(const char *s);
const char *mgw_deliv_st_name(enum mgw_deliv_st s);  /* NULL for NONE/OTHER */
const char *mgw_ingress_name(enum mgw_ingress i);
const char *mgw_dir_name(enum mgw_dir d);            /* "uplink" / "downlink" */
const char *mgw_prot_name(enum mgw_prot p);          /* "none", "jws", "jwe", "cose" */

/* MessageDeliveryAck (the M5S's 200 answer). */
struct mgw_ack {
	struct mgw_addr ori;
	char msg_id[MGW_ID_MAX + 1];
	char status[32];            /* "", "DELY_FAILED", "DELY_STORED" or an extension */
	bool has_failure_cause;
	char failure_cause[MGW_CAUSE_MAX + 1];
};

/* TS 29.571 ProblemDetails (subset the gateway emits and reads). */
#define MGW_PROBLEM_PARAMS_MAX 8
struct mgw_problem {
	int status;
	char title[128];
	char detail[256];
	char cause[64];
	size_t n_params;
	struct {
		char param[128];
		char reason[200];
	} params[MGW_PROBLEM_PARAMS_MAX];
};

#endif
