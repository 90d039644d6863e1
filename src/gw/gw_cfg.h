/* msgin5g-gw daemon: the top-level configuration (interfaces.md 2). */
#ifndef GW_CFG_H
#define GW_CFG_H

#include <stdbool.h>
#include <stdint.h>
#include <mgw/cfg.h>
#include <mgw/log.h>
#include <mgw/jose.h>
#include <mgw/north.h>
#include <mgw/security.h>

enum gw_level { GW_LVL_INHERIT = 0, GW_LVL_DEBUG, GW_LVL_INFO, GW_LVL_NOTICE, GW_LVL_ERROR };

struct gw_log_cfg {
	int level;                   /* enum gw_level, never INHERIT */
	bool syslog;
	int cat[_MGW_LOG_CAT_COUNT]; /* per category, INHERIT = level */
};

struct gw_queue_cfg {
	int64_t downlink_validity_ms;
	int64_t high_water;
	int sync; /* 0 full, 1 normal */
	int64_t group_commit_ms;
};

struct gw_lab_cfg {
	bool enable; /* lab mode: the switches below are refused without it */
	char *keylog; /* TLS/DTLS secrets, NSS key log format */
	char *store_fault; /* while this file exists, store commits fail (fault injection) */
};

struct gw_audit_cfg {
	char *path;
	bool required; /* refuse new input while a record cannot be written */
};

struct gw_registry_cfg {
	int64_t cache;   /* devices held in memory (LRU) */
	int64_t poll_ms; /* how often the store's change sequence is read */
};

struct gw_cfg {
	char *store;
	struct gw_registry_cfg *registry;
	char *devices;
	struct gw_audit_cfg *audit; /* "audit: FILE" or "audit: { path: FILE, required: B }" */
	char *pidfile;
	struct gw_log_cfg *log;
	struct gw_queue_cfg *queue;
	struct mgw_policy *policy;
	struct mgw_jose_cfg *security; /* protection profiles and keys (NULL: none) */
	struct mgw_north_cfg *north;
	struct gw_lab_cfg *lab;
	/* southbound adapter sections (NULL: that adapter is off) */
	void *testdev;
	void *coap;
	void *mqtt;
	void *sms;
};

extern const struct mgw_cfg_schema gw_cfg_schema;

/* Load and check FILE; absent sections with defaults (log, queue, policy) are filled in.
 * Returns 0 or -1 with a one-line err->msg. */
int gw_cfg_load(void *ctx, const char *file, struct gw_cfg **out, struct mgw_cfg_err *err);
enum mgw_log_level gw_level_to_log(int lvl);

#endif
