/* SMS adapter: the "sms:" configuration section (include/mgw/adapter_sms.h). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <mgw/adapter_sms.h>
#include <mgw/addr.h>
#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/tls_policy.h>

#define OFF(type, member) offsetof(struct type, member)

static int smsc_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_sms_smsc *s = obj;
	char sub[256];

	if (s->reconnect_min_ms > s->reconnect_max_ms) {
		snprintf(sub, sizeof(sub), "%s.reconnect_min", path);
		mgw_cfg_errf(err, obj, sub, "is above reconnect_max");
		return -1;
	}
	return 0;
}

static const struct mgw_cfg_item smsc_items[] = {
	{ "name", MGW_CFG_STR, OFF(mgw_sms_smsc, name), MGW_CFG_F_REQUIRED, 0, 64, NULL,
	  "name of this bind (logs, audit)" },
	{ "host", MGW_CFG_STR, OFF(mgw_sms_smsc, host), MGW_CFG_F_REQUIRED, 0, 253, NULL,
	  "SMSC address (numeric or DNS name)" },
	{ "port", MGW_CFG_INT, OFF(mgw_sms_smsc, port), 0, 1, 65535, "2775",
	  "SMSC TCP port (SMPP 2775; SMPP over TLS often 3550)" },
	{ "system_id", MGW_CFG_STR, OFF(mgw_sms_smsc, system_id), MGW_CFG_F_REQUIRED, 0, 15, NULL,
	  "bind system_id (at most 15 characters)" },
	{ "password", MGW_CFG_STR, OFF(mgw_sms_smsc, password), MGW_CFG_F_SECRET, 0, 8, NULL,
	  "bind password (at most 8 characters, SMPP 3.4)" },
	{ "system_type", MGW_CFG_STR, OFF(mgw_sms_smsc, system_type), 0, 0, 12, NULL,
	  "bind system_type" },
	{ "window", MGW_CFG_INT, OFF(mgw_sms_smsc, window), 0, 1, 1000, "10",
	  "submit_sm outstanding at once on this bind" },
	{ "enquire_link", MGW_CFG_DURATION, OFF(mgw_sms_smsc, enquire_link_ms), 0, 1000,
	  3600000, "30s", "enquire_link interval while bound" },
	{ "resp_timeout", MGW_CFG_DURATION, OFF(mgw_sms_smsc, resp_timeout_ms), 0, 100, 600000,
	  "10s", "an SMSC answer later than this: the link is dropped and rebound" },
	{ "reconnect_min", MGW_CFG_DURATION, OFF(mgw_sms_smsc, reconnect_min_ms), 0, 10,
	  3600000, "1s", "first reconnect delay (doubles, with jitter)" },
	{ "reconnect_max", MGW_CFG_DURATION, OFF(mgw_sms_smsc, reconnect_max_ms), 0, 10,
	  3600000, "60s", "longest reconnect delay" },
	{ "tls", MGW_CFG_SECTION, OFF(mgw_sms_smsc, tls), 0, 0, 0, NULL,
	  "SMPP over TLS (1.2 or 1.3); absent: plain TCP, only with sms.insecure: true",
	  &mgw_tls_client_schema },
	{ NULL },
};

static const struct mgw_cfg_schema smsc_schema = {
	"smsc", smsc_items, sizeof(struct mgw_sms_smsc), smsc_check,
};

static int dest_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_sms_dest *d = obj;
	struct mgw_addr a;

	if (mgw_addr_set_wire(&a, d->addr_type, d->addr) != MGW_OK ||
	    a.type == MGW_ADDR_OTHER || a.type == MGW_ADDR_UE) {
		mgw_cfg_errf(err, obj, path, "'%s:%s' is not an AS, GROUP, BC or TOPIC address",
			     d->addr_type, d->addr);
		return -1;
	}
	return 0;
}

static const struct mgw_cfg_item dest_items[] = {
	{ "addrType", MGW_CFG_STR, OFF(mgw_sms_dest, addr_type), MGW_CFG_F_REQUIRED, 0, 31, NULL,
	  "AS, GROUP, BC or TOPIC" },
	{ "addr", MGW_CFG_STR, OFF(mgw_sms_dest, addr), MGW_CFG_F_REQUIRED, 0, MGW_ID_MAX, NULL,
	  "the address" },
	{ NULL },
};

static const struct mgw_cfg_schema dest_schema = {
	"dest", dest_items, sizeof(struct mgw_sms_dest), dest_check,
};

static int number_ok(const char *n)
{
	if (!n || !*n || strlen(n) > 20)
		return 0;
	for (; *n; n++)
		if ((*n < '0' || *n > '9') && *n != '+')
			return 0;
	return 1;
}

static int route_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_sms_route *r = obj;
	char sub[256];

	if (!number_ok(r->number)) {
		snprintf(sub, sizeof(sub), "%s.number", path);
		mgw_cfg_errf(err, obj, sub, "'%s' is not a number (digits, at most 20)", r->number);
		return -1;
	}
	return 0;
}

static const struct mgw_cfg_item route_items[] = {
	{ "number", MGW_CFG_STR, OFF(mgw_sms_route, number), MGW_CFG_F_REQUIRED, 0, 21, NULL,
	  "MO destination number (the short code the device writes to)" },
	{ "dest", MGW_CFG_SECTION, OFF(mgw_sms_route, dest), MGW_CFG_F_REQUIRED, 0, 0, NULL,
	  "MSGin5G destination { addrType, addr }", &dest_schema },
	{ NULL },
};

static const struct mgw_cfg_schema route_schema = {
	"route", route_items, sizeof(struct mgw_sms_route), route_check,
};

static const struct mgw_cfg_item port_items[] = {
	{ "appId", MGW_CFG_STR, OFF(mgw_sms_port, app_id), MGW_CFG_F_REQUIRED, 0, MGW_ID_MAX, NULL,
	  "appId of MSGin5G messages" },
	{ "port", MGW_CFG_INT, OFF(mgw_sms_port, port), MGW_CFG_F_REQUIRED, 0, 65535, NULL,
	  "SMS application port (TS 23.040 9.2.3.24.4; 16000-16999 are free for applications)" },
	{ "binary", MGW_CFG_BOOL, OFF(mgw_sms_port, binary), 0, 0, 0, "false",
	  "payloads of this appId are base64 of octets: 8-bit data both ways" },
	{ NULL },
};

static const struct mgw_cfg_schema port_schema = {
	"port", port_items, sizeof(struct mgw_sms_port), NULL,
};

static int sms_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_sms_cfg *c = obj;
	char sub[256];

	if (!c->smsc.n) {
		snprintf(sub, sizeof(sub), "%s.smsc", path);
		mgw_cfg_errf(err, obj, sub, "at least one SMSC is needed");
		return -1;
	}
	for (size_t i = 0; i < c->smsc.n; i++) {
		const struct mgw_sms_smsc *s = MGW_CFG_LIST_AT(&c->smsc, struct mgw_sms_smsc, i);

		if (!s->tls && !c->insecure) {
			snprintf(sub, sizeof(sub), "%s.smsc[%zu].tls", path, i);
			mgw_cfg_errf(err, obj, sub,
				     "SMSC '%s' has no tls: plain SMPP needs sms.insecure: true",
				     s->name);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(s->name, MGW_CFG_LIST_AT(&c->smsc, struct mgw_sms_smsc, j)->name)) {
				snprintf(sub, sizeof(sub), "%s.smsc[%zu].name", path, i);
				mgw_cfg_errf(err, obj, sub, "'%s' is used twice", s->name);
				return -1;
			}
	}
	if (!number_ok(c->source_addr)) {
		snprintf(sub, sizeof(sub), "%s.source_addr", path);
		mgw_cfg_errf(err, obj, sub, "'%s' is not a number (digits, at most 20)",
			     c->source_addr ? c->source_addr : "");
		return -1;
	}
	for (size_t i = 0; i < c->ports.n; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(MGW_CFG_LIST_AT(&c->ports, struct mgw_sms_port, i)->app_id,
				    MGW_CFG_LIST_AT(&c->ports, struct mgw_sms_port, j)->app_id) ||
			    MGW_CFG_LIST_AT(&c->ports, struct mgw_sms_port, i)->port ==
				    MGW_CFG_LIST_AT(&c->ports, struct mgw_sms_port, j)->port) {
				snprintf(sub, sizeof(sub), "%s.ports[%zu]", path, i);
				mgw_cfg_errf(err, obj, sub, "appId or port used twice");
				return -1;
			}
	return 0;
}

static const struct mgw_cfg_item sms_items[] = {
	{ "smsc", MGW_CFG_LIST, OFF(mgw_sms_cfg, smsc), MGW_CFG_F_REQUIRED, 0, 0, NULL,
	  "SMSC binds (bind_transceiver each): MT goes to the first bound with room",
	  &smsc_schema },
	{ "source_addr", MGW_CFG_STR, OFF(mgw_sms_cfg, source_addr), MGW_CFG_F_REQUIRED, 0, 21,
	  NULL, "originator (short code) of MT SMS; devices reply to it" },
	{ "routes", MGW_CFG_LIST, OFF(mgw_sms_cfg, routes), 0, 0, 0, NULL,
	  "MO destination number -> MSGin5G destination (when the MO answers no recent MT)",
	  &route_schema },
	{ "ports", MGW_CFG_LIST, OFF(mgw_sms_cfg, ports), 0, 0, 0, NULL,
	  "appId <-> SMS application port (MT sets it, MO with a port gets the appId)",
	  &port_schema },
	{ "insecure", MGW_CFG_BOOL, OFF(mgw_sms_cfg, insecure), 0, 0, 0, "false",
	  "allow SMSCs without tls (plain SMPP: password and messages in clear)" },
	{ "reply_window", MGW_CFG_DURATION, OFF(mgw_sms_cfg, reply_window_ms), 0, 0,
	  7LL * 86400 * 1000, "10m",
	  "an MO to source_addr within this long of an MT goes to that MT's originator "
	  "(TS 23.554 8.7.3.2); 0: routes only" },
	{ "concat_timeout", MGW_CFG_DURATION, OFF(mgw_sms_cfg, concat_timeout_ms), 0, 1000,
	  7LL * 86400 * 1000, "5m", "parts of a concatenated MO wait this long for the rest" },
	{ "receipt_wait", MGW_CFG_DURATION, OFF(mgw_sms_cfg, receipt_wait_ms), 0, 1000,
	  30LL * 86400 * 1000, "48h",
	  "no final receipt for a part within this long: REPT_DELY_FAILED RECEIPT_TIMEOUT" },
	{ "throttle_backoff", MGW_CFG_DURATION, OFF(mgw_sms_cfg, throttle_backoff_ms), 0, 10,
	  600000, "1s", "first pause after ESME_RTHROTTLED / ESME_RMSGQFUL (doubles to 64x)" },
	{ "gsm7_packed", MGW_CFG_BOOL, OFF(mgw_sms_cfg, gsm7_packed), 0, 0, 0, "false",
	  "GSM 7-bit short_message as packed septets (false: one septet per octet, the usual "
	  "SMPP 'SMSC default alphabet')" },
	{ "registered_delivery_always", MGW_CFG_BOOL,
	  OFF(mgw_sms_cfg, registered_delivery_always), 0, 0, 0, "false",
	  "ask the SMSC for receipts even when no delivery report was requested (logged)" },
	{ NULL },
};

const struct mgw_cfg_schema mgw_sms_schema = {
	"sms", sms_items, sizeof(struct mgw_sms_cfg), sms_check,
};
