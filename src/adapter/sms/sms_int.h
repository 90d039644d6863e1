/* SMS adapter internals (src/adapter/sms/): shared by sms_adapter.c (binds, MT, receipts)
 * and sms_mo.c (MO: decoding, reassembly, routing). doc/internals/sms.md. */
#ifndef MGW_SMS_INT_H
#define MGW_SMS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <mgw/adapter.h>
#include <mgw/adapter_sms.h>
#include <mgw/core.h>
#include <mgw/security.h>

#include "smpp_conn.h"
#include "sms_text.h"

/* kv namespaces (the store's key/value table, through mgw_core_kv_*) */
#define SMS_NS_MO "sms.mo"   /* concatenated MO sets: "<msisdn>:<b|w|s><ref>:<total>" */
#define SMS_NS_MT "sms.mt"   /* MT progress: "<ori>|<msgId>" -> message ids of sent parts */
#define SMS_NS_DLR "sms.dlr" /* receipts: "g:<ori>|<msgId>" groups, "id:<smsc id>" index */
#define SMS_NS_TX "sms.tx"   /* transaction map: "<msisdn>" -> originator of the last MT */

#define SMS_ESM_TYPE_MASK 0x3c
#define SMS_ESM_RECEIPT 0x04 /* SMSC delivery receipt */

struct sms_ad;

struct sms_bind {
	struct sms_ad *ad;
	const struct mgw_sms_smsc *cfg;
	struct smpp_conn *conn;
	void *ssl_ctx;             /* SSL_CTX, or NULL */
	int64_t pause_until_ms;    /* throttled: no submit before */
	int64_t backoff_ms;        /* current throttle pause */
};

/* a callback ticket that outlives neither the adapter nor its own call: the adapter's
 * destructor detaches every ticket (ad = NULL), so a late store/core callback is a no-op */
struct sms_ticket {
	struct sms_ad *ad;
	LIST_ENTRY(sms_ticket) link;
	struct sms_bind *bind;
	uint32_t seq;        /* deliver_sm to answer */
	uint32_t status;     /* answer when durable */
	char key[160];       /* MO set to delete once the message is durable */
	char msisdn[32];
	char msg_id[MGW_ID_MAX + 1];
	bool last_part;
};

struct sms_mt;
TAILQ_HEAD(sms_mt_q, sms_mt);

struct sms_ad {
	const struct mgw_sms_cfg *cfg;
	struct event_base *base;
	struct mgw_core *core;
	struct mgw_security *sec;
	void *ticket_ctx;           /* tickets live here (longer than the adapter) */
	struct sms_bind *binds;
	size_t n_binds, rr;
	struct sms_mt_q mts;        /* MT messages with parts to send */
	size_t n_mts;
	struct event *pump_ev;      /* retry after a throttle pause */
	struct event *sweep_ev;     /* receipt and reassembly deadlines */
	LIST_HEAD(, sms_ticket) tickets;
	bool stopping;
	bool in_deliver;            /* inside deliver(): done must not be called now */
	uint8_t next_ref;           /* concatenation reference of MT */
	uint32_t mo_seq;
	struct {
		uint64_t mo_ok, mo_refused, mo_parts, mt_msgs, mt_parts, mt_throttled,
			mt_failed, receipts, receipts_unmatched;
	} n;
};

/* sms_mo.c */
void sms_mo_deliver(struct sms_ad *ad, struct sms_bind *b, uint32_t seq, const deliver_sm_t *pdu);
void sms_mo_sweep(struct sms_ad *ad, int64_t now);

/* sms_adapter.c */
struct sms_ticket *sms_ticket_new(struct sms_ad *ad, struct sms_bind *b, uint32_t seq);
void sms_ticket_free(struct sms_ticket *t);
/* answer deliver_sm seq with status once what was written so far is durable */
void sms_answer_durable(struct sms_ad *ad, struct sms_bind *b, uint32_t seq, uint32_t status);
void sms_receipt(struct sms_ad *ad, struct sms_bind *b, uint32_t seq, const deliver_sm_t *pdu);
const tlv_t *sms_tlv(const deliver_sm_t *pdu, uint16_t tag);
/* digits of an SMPP address, without a leading '+' (NULL if it is not a number) */
bool sms_msisdn_norm(const char *in, char *out, size_t cap);
const struct mgw_sms_port *sms_port_by_app(const struct sms_ad *ad, const char *app_id);
const struct mgw_sms_port *sms_port_by_port(const struct sms_ad *ad, unsigned port);
int64_t sms_now_ms(void);
/* keys of ns starting with prefix whose JSON value's "deadline" is <= now (talloc'd under
 * tmp): the sweeps of receipt groups and MO sets */
size_t sms_kv_due(struct sms_ad *ad, void *tmp, const char *ns, const char *prefix, int64_t now,
		  char ***keys); /* wall clock, unix ms (kv deadlines) */

#endif
