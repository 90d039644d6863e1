/* SMPP delivery receipts (SMPP 3.4 Appendix B text, msgin5g-standards.md 5.2): a tolerant
 * parser of the receipt text and the mapping of its state to a delivery status report.
 * Pure functions over bounded input (fuzz target fuzz_sms_dlr). Internal to src/adapter/sms.
 */
#ifndef MGW_SMS_DLR_H
#define MGW_SMS_DLR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMS_DLR_ID_MAX 64

enum sms_dlr_state {
	SMS_DLR_UNKNOWN = 0, /* no stat, or one we do not know */
	SMS_DLR_ENROUTE,
	SMS_DLR_DELIVERED,
	SMS_DLR_EXPIRED,
	SMS_DLR_DELETED,
	SMS_DLR_UNDELIVERABLE,
	SMS_DLR_ACCEPTED,
	SMS_DLR_REJECTED,
};

struct sms_dlr {
	char id[SMS_DLR_ID_MAX + 1]; /* as written ("id:" value) */
	bool has_id;
	enum sms_dlr_state state;
	char stat[16];               /* as written, upper-cased ("DELIVRD") */
	char err[16];                /* "err:" value as written, "" if absent */
	unsigned sub, dlvrd;         /* 0 if absent */
};

/* Parse a receipt text: "id:X sub:S dlvrd:D submit date:YYMMDDhhmm[ss] done
 * date:YYMMDDhhmm[ss] stat:S err:E text:..." with keys in any case and any order, extra
 * spaces, and unknown keys skipped. MGW_OK when at least an id was found, MGW_E_MALFORMED
 * otherwise (then *out is zeroed but for what was read). */
int sms_dlr_parse(const char *text, size_t len, struct sms_dlr *out);

/* The state of a message_state TLV (SMPP 3.4 5.3.2.35): 1 ENROUTE .. 8 REJECTED. */
enum sms_dlr_state sms_dlr_state_of_tlv(uint8_t message_state);

/* Final states: true, and *delivered says which way; ENROUTE/ACCEPTED/UNKNOWN: false. */
bool sms_dlr_final(enum sms_dlr_state s, bool *delivered);
const char *sms_dlr_state_name(enum sms_dlr_state s); /* "DELIVRD", "UNDELIV", ... */

/* Do two SMSC message ids name the same message? Equal as strings, or as numbers when
 * one is decimal and the other hexadecimal (SMSCs differ; the receipt may print the id the
 * other way than submit_sm_resp did), leading zeros ignored. */
bool sms_dlr_id_match(const char *a, const char *b);

#endif
