/* msgin5g-gw: the registry file of a configuration and its seed (doc/internals/registry.md).
 * Shared by the daemon and msgin5g-gwctl. */
#ifndef GW_REGISTRY_H
#define GW_REGISTRY_H

#include <stdbool.h>
#include <mgw/cfg.h>
#include <mgw/security.h>
#include <mgw/store.h>

#include "gw_cfg.h"

/* "<store>.devices": the registry's own SQLite file beside the store. */
char *gw_registry_path(void *ctx, const struct gw_cfg *cfg);
/* Import the seed (devices: of the config) into db in one transaction when its content
 * (SHA-256) differs from the last imported one: entries are added or replaced, entries of
 * an earlier seed that are no longer in it are removed; devices added by gwctl stay.
 * Idempotent. *imported says whether it ran; st (may be NULL) what it did, *removed how
 * many it removed. On error err names FILE:LINE and nothing changed. */
int gw_registry_seed(struct mgw_regdb *db, const char *file, bool *imported,
		     struct mgw_registry_import_stats *st, size_t *removed,
		     struct mgw_cfg_err *err);

#endif
