/* The SMS adapter (src/adapter/sms/, doc/internals/sms.md): legacy 3GPP UEs that only do
 * SMS, through one or more SMSCs over SMPP 3.4 (bind_transceiver, libsmpp34), on the one
 * libevent loop.
 *
 * MO deliver_sm from a registered MSISDN -> UEMessageDelivery from its UE (destination from
 * the transaction map within sms.reply_window, else sms.routes); L3G delivery -> submit_sm
 * (GSM 7-bit, UCS-2 or 8-bit, concatenated with UDH); SMSC receipts -> DeliveryStatusReport.
 */
#ifndef MGW_ADAPTER_SMS_H
#define MGW_ADAPTER_SMS_H

#include <stdbool.h>
#include <stdint.h>
#include <mgw/adapter.h>
#include <mgw/cfg.h>
#include <mgw/tls_policy.h>

struct mgw_sms_smsc {
	char *name;
	char *host;        /* numeric address or DNS name (resolved at start) */
	int64_t port;
	char *system_id, *password, *system_type;
	int64_t window;     /* outstanding submit_sm */
	int64_t enquire_link_ms;
	int64_t resp_timeout_ms;
	int64_t reconnect_min_ms, reconnect_max_ms;
	struct mgw_tls_client *tls; /* SMPP over TLS; absent: plain TCP, needs sms.insecure */
};

struct mgw_sms_dest {
	char *addr_type; /* addrType: AS, UE, GROUP, ... */
	char *addr;
};

struct mgw_sms_route {
	char *number;               /* MO destination_addr (short code) */
	struct mgw_sms_dest *dest;  /* MSGin5G destination */
};

struct mgw_sms_port {
	char *app_id;  /* appId of MSGin5G messages */
	int64_t port;  /* SMS application port (16-bit) */
	bool binary;   /* payload is base64 of octets, sent as 8-bit data */
};

/* The "sms:" config section. */
struct mgw_sms_cfg {
	struct mgw_cfg_list smsc;   /* of struct mgw_sms_smsc */
	char *source_addr;          /* originator of MT SMS */
	struct mgw_cfg_list routes; /* of struct mgw_sms_route */
	struct mgw_cfg_list ports;  /* of struct mgw_sms_port */
	bool insecure;              /* allow SMSCs without tls */
	int64_t reply_window_ms;    /* transaction map TTL (TS 23.554 8.7.3.2) */
	int64_t concat_timeout_ms;  /* parts of a concatenated MO wait this long */
	int64_t receipt_wait_ms;    /* a receipt later than this: REPT_DELY_FAILED */
	int64_t throttle_backoff_ms;/* first wait after ESME_RTHROTTLED / ESME_RMSGQFUL */
	bool gsm7_packed;           /* GSM 7-bit short_message packed (else one septet/octet) */
	bool registered_delivery_always; /* ask receipts even without delivStReqInd */
};

extern const struct mgw_cfg_schema mgw_sms_schema;
extern const struct mgw_adapter_ops mgw_adapter_sms;

#endif
