/* msgin5g-gw daemon: the top-level configuration schema (interfaces.md 2). Each module
 * owns its section's schema; this table only assembles them. */
#include <stddef.h>
#include <string.h>
#include <talloc.h>

#include <mgw/adapter_coap.h>
#include <mgw/adapter_mqtt.h>
#include <mgw/adapter_sms.h>
#include <mgw/adapter_testdev.h>
#include <mgw/cfg.h>
#include <mgw/jose.h>
#include <mgw/log.h>

#include "gw_cfg.h"

#define OFF(type, member) offsetof(struct type, member)

static const char *const levels[] = { "inherit", "debug", "info", "notice", "error", NULL };

#define CAT_ITEM(c, name)                                                                  \
	{ name, MGW_CFG_ENUM, OFF(gw_log_cfg, cat[c]), 0, 0, 0, "inherit",                  \
	  "level of the '" name "' category (inherit: log.level)", NULL, levels }

static const struct mgw_cfg_item log_items[] = {
	{ "level", MGW_CFG_ENUM, OFF(gw_log_cfg, level), 0, 0, 0, "info",
	  "debug|info|notice|error, for every category", NULL, levels },
	{ "syslog", MGW_CFG_BOOL, OFF(gw_log_cfg, syslog), 0, 0, 0, "false",
	  "log to syslog (always on with -d)" },
	CAT_ITEM(DCORE, "core"),   CAT_ITEM(DSEC, "sec"),     CAT_ITEM(DSTORE, "store"),
	CAT_ITEM(DROUTE, "route"), CAT_ITEM(DFSM, "fsm"),     CAT_ITEM(DREF, "ref"),
	CAT_ITEM(DSMPP, "smpp"),   CAT_ITEM(DCOAP, "coap"),   CAT_ITEM(DMQTT, "mqtt"),
	CAT_ITEM(DNORTH, "north"), CAT_ITEM(DCFG, "cfg"),     CAT_ITEM(DGW, "gw"),
	{ NULL },
};

static int log_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct gw_log_cfg *l = obj;
	char sub[64];

	if (l->level == GW_LVL_INHERIT) {
		snprintf(sub, sizeof(sub), "%s.level", path);
		mgw_cfg_errf(err, obj, sub, "'inherit' is only for categories");
		return -1;
	}
	return 0;
}

static const struct mgw_cfg_schema log_schema = {
	"log", log_items, sizeof(struct gw_log_cfg), log_check,
};

static const char *const syncs[] = { "full", "normal", NULL };

static const struct mgw_cfg_item queue_items[] = {
	{ "downlink_validity", MGW_CFG_DURATION, OFF(gw_queue_cfg, downlink_validity_ms), 0, 1000,
	  30LL * 86400 * 1000, "24h",
	  "how long a delivery for a device waits for it (L3G/N3G bodies carry no expiry)" },
	{ "high_water", MGW_CFG_INT, OFF(gw_queue_cfg, high_water), 0, 1, 100000000, "100000",
	  "queued messages above which new ones are refused (429/503, 5.03, SMPP throttle)" },
	{ "sync", MGW_CFG_ENUM, OFF(gw_queue_cfg, sync), 0, 0, 0, "full",
	  "full: fsync every batch; normal: WAL without fsync per batch (survives a crash of the "
	  "process, not a power cut)",
	  NULL, syncs },
	{ "group_commit", MGW_CFG_DURATION, OFF(gw_queue_cfg, group_commit_ms), 0, 0, 100, "1ms",
	  "under load, hold a commit this long so more writes share its fsync (0: every loop "
	  "turn)" },
	{ NULL },
};

static const struct mgw_cfg_schema queue_schema = {
	"queue", queue_items, sizeof(struct gw_queue_cfg), NULL,
};

static const struct mgw_cfg_item registry_items[] = {
	{ "cache", MGW_CFG_INT, OFF(gw_registry_cfg, cache), 0, 16, 100000000, "10000",
	  "devices held in memory (least recently used go first); the rest stay in the store" },
	{ "poll", MGW_CFG_DURATION, OFF(gw_registry_cfg, poll_ms), 0, 10, 10000, "200ms",
	  "how often the registry's change sequence is read (msgin5g-gwctl devices changes take "
	  "effect within this)" },
	{ NULL },
};

static const struct mgw_cfg_schema registry_schema = {
	"registry", registry_items, sizeof(struct gw_registry_cfg), NULL,
};

static int lab_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct gw_lab_cfg *l = obj;
	char sub[64];

	if (l->keylog && !l->enable) {
		snprintf(sub, sizeof(sub), "%s.keylog", path);
		mgw_cfg_errf(err, obj, sub, "writes TLS secrets: only with lab.enable: true");
		return -1;
	}
	if (l->store_fault && !l->enable) {
		snprintf(sub, sizeof(sub), "%s.store_fault", path);
		mgw_cfg_errf(err, obj, sub, "fault injection: only with lab.enable: true");
		return -1;
	}
	return 0;
}

static const struct mgw_cfg_item lab_items[] = {
	{ "enable", MGW_CFG_BOOL, OFF(gw_lab_cfg, enable), 0, 0, 0, "false",
	  "lab mode: allows the switches below (announced at every start)" },
	{ "keylog", MGW_CFG_PATH, OFF(gw_lab_cfg, keylog), MGW_CFG_F_NEWFILE, 0, 0, NULL,
	  "append the TLS/DTLS secrets of every connection here (NSS key log format, for "
	  "Wireshark): anyone with this file reads all traffic" },
	{ "store_fault", MGW_CFG_PATH, OFF(gw_lab_cfg, store_fault), MGW_CFG_F_NEWFILE, 0, 0, NULL,
	  "fault injection: while this file exists every store COMMIT fails as SQLite's would "
	  "with the error written in it (full, busy or ioerr; default full)" },
	{ NULL },
};

static const struct mgw_cfg_schema lab_schema = {
	"lab", lab_items, sizeof(struct gw_lab_cfg), lab_check,
};

static const struct mgw_cfg_item audit_items[] = {
	{ "path", MGW_CFG_PATH, OFF(gw_audit_cfg, path), MGW_CFG_F_REQUIRED | MGW_CFG_F_NEWFILE, 0,
	  0, NULL, "the audit log: one JSON object per security decision" },
	{ "required", MGW_CFG_BOOL, OFF(gw_audit_cfg, required), 0, 0, 0, "false",
	  "a record cannot be written (disk full, I/O error): true refuses new device uplink and "
	  "M5S deliveries (try again later) until a write succeeds; false keeps serving, "
	  "logged once per episode and counted" },
	{ NULL },
};

static const struct mgw_cfg_schema audit_schema = {
	"audit", audit_items, sizeof(struct gw_audit_cfg), NULL,
};

static const struct mgw_cfg_item top_items[] = {
	{ "store", MGW_CFG_PATH, OFF(gw_cfg, store), MGW_CFG_F_REQUIRED | MGW_CFG_F_NEWFILE, 0, 0,
	  NULL, "SQLite database: durable queue, transactions, registry copy, replay cache" },
	{ "devices", MGW_CFG_PATH, OFF(gw_cfg, devices), MGW_CFG_F_REQUIRED | MGW_CFG_F_READABLE,
	  0, 0, NULL, "device registry seed (interfaces.md 3): imported into the store's registry "
	  "(STORE.devices) at start and on SIGHUP when its content changed" },
	{ "registry", MGW_CFG_SECTION, OFF(gw_cfg, registry), 0, 0, 0, NULL,
	  "the device registry in the store: registry: { cache: 10000, poll: 200ms }",
	  &registry_schema },
	{ "audit", MGW_CFG_SECTION, OFF(gw_cfg, audit), MGW_CFG_F_REQUIRED | MGW_CFG_F_SHORT, 0, 0,
	  NULL, "audit log: FILE, or { path: FILE, required: false }", &audit_schema },
	{ "pidfile", MGW_CFG_PATH, OFF(gw_cfg, pidfile), MGW_CFG_F_NEWFILE, 0, 0, NULL,
	  "write the daemon's PID here" },
	{ "log", MGW_CFG_SECTION, OFF(gw_cfg, log), 0, 0, 0, NULL, "logging", &log_schema },
	{ "queue", MGW_CFG_SECTION, OFF(gw_cfg, queue), 0, 0, 0, NULL, "queues and the store",
	  &queue_schema },
	{ "policy", MGW_CFG_SECTION, OFF(gw_cfg, policy), 0, 0, 0, NULL,
	  "security policy for device traffic", &mgw_policy_schema },
	{ "security", MGW_CFG_SECTION, OFF(gw_cfg, security), 0, 0, 0, NULL,
	  "protection profiles toward Application Servers (JWS/JWE) and the gateway's keys",
	  &mgw_jose_cfg_schema },
	{ "north", MGW_CFG_SECTION, OFF(gw_cfg, north), 0, 0, 0, NULL,
	  "the MSGin5G side (TS 29.538)", &mgw_north_schema },
	{ "lab", MGW_CFG_SECTION, OFF(gw_cfg, lab), 0, 0, 0, NULL,
	  "lab switches (never in production): lab: { enable: true, keylog: FILE, store_fault: FILE }", &lab_schema },
	{ "coap", MGW_CFG_SECTION, OFF(gw_cfg, coap), 0, 0, 0, NULL,
	  "Non-3GPP devices over CoAP/DTLS 1.2 (libcoap)", &mgw_coap_schema },
	{ "mqtt", MGW_CFG_SECTION, OFF(gw_cfg, mqtt), 0, 0, 0, NULL,
	  "Non-3GPP devices over MQTT, through a broker (libmosquitto client)", &mgw_mqtt_schema },
	{ "sms", MGW_CFG_SECTION, OFF(gw_cfg, sms), 0, 0, 0, NULL,
	  "Legacy 3GPP UEs by SMS through SMSCs over SMPP 3.4", &mgw_sms_schema },
	{ "testdev", MGW_CFG_SECTION, OFF(gw_cfg, testdev), 0, 0, 0, NULL,
	  "lab device adapter: plain TCP line protocol on loopback (needs insecure: true)",
	  &mgw_testdev_schema },
	{ NULL },
};

const struct mgw_cfg_schema gw_cfg_schema = {
	"msgin5g-gw", top_items, sizeof(struct gw_cfg), NULL,
};

/* sections whose defaults matter even when the section is absent */
static int fill_default(void *ctx, const struct mgw_cfg_schema *s, void **slot,
			struct mgw_cfg_err *err)
{
	void *obj;

	if (*slot)
		return 0;
	if (!(obj = talloc_zero_size(ctx, s->size)))
		return -1;
	if (mgw_cfg_load_buf(ctx, "(defaults)", "{}", 2, s, obj, err) != 0)
		return -1;
	*slot = obj;
	return 0;
}

int gw_cfg_load(void *ctx, const char *file, struct gw_cfg **out, struct mgw_cfg_err *err)
{
	struct gw_cfg *c = talloc_zero(ctx, struct gw_cfg);

	if (!c) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", file);
		return -1;
	}
	if (mgw_cfg_load(c, file, &gw_cfg_schema, c, err) != 0)
		goto fail;
	if (fill_default(c, &log_schema, (void **)&c->log, err) != 0 ||
	    fill_default(c, &queue_schema, (void **)&c->queue, err) != 0 ||
	    fill_default(c, &registry_schema, (void **)&c->registry, err) != 0 ||
	    fill_default(c, &mgw_policy_schema, (void **)&c->policy, err) != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	talloc_free(c);
	return -1;
}

enum mgw_log_level gw_level_to_log(int lvl)
{
	switch (lvl) {
	case GW_LVL_DEBUG:
		return MGW_LOGL_DEBUG;
	case GW_LVL_NOTICE:
		return MGW_LOGL_NOTICE;
	case GW_LVL_ERROR:
		return MGW_LOGL_ERROR;
	default:
		return MGW_LOGL_INFO;
	}
}
