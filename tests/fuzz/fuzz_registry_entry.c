/* Fuzz target: one registry entry as gwctl devices add/update and the streaming import read
 * it (libyaml events -> JSON -> the registry's checks, src/security/registry_import.c). An
 * accepted entry's store row must be accepted again (what a store row is read back with). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <talloc.h>

#include <mgw/cfg.h>
#include <mgw/log.h>
#include <mgw/security.h>
#include <mgw/store.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *ctx = talloc_named_const(NULL, 0, "fuzz_registry_entry");
	struct mgw_regdb_dev *d = NULL, *again = NULL;
	struct mgw_cfg_err err;
	char *text = talloc_strndup(ctx, (const char *)data, size);

	mgw_log_set_all(MGW_LOGL_ERROR);
	if (text && strlen(text) == size &&
	    mgw_registry_entry(ctx, "fuzz", text, "gwctl", &d, &err) == MGW_OK) {
		if (mgw_registry_entry(ctx, "row", d->row, "gwctl", &again, &err) != MGW_OK ||
		    strcmp(again->row, d->row) != 0 || strcmp(again->ue, d->ue) != 0 ||
		    again->ncred != d->ncred)
			__builtin_trap();
	}
	talloc_free(ctx);
	return 0;
}
