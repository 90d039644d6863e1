/* Fuzz target: the device registry loader (YAML through the schema table, then the
 * registry's own checks, normalisation and hash tables). */
#include <stddef.h>
#include <stdint.h>

#include <talloc.h>

#include <mgw/cfg.h>
#include <mgw/log.h>
#include <mgw/security.h>

#include "fuzz.h"

static const enum mgw_cred kinds[] = {
	MGW_CRED_PSK_ID, MGW_CRED_CERT_FP, MGW_CRED_MSISDN, MGW_CRED_MQTT_USER,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *ctx = talloc_named_const(NULL, 0, "fuzz_registry");
	struct mgw_registry *r = NULL;
	struct mgw_cfg_err err;

	mgw_log_set_all(MGW_LOGL_ERROR);
	if (mgw_registry_load_buf(ctx, "fuzz.yaml", (const char *)data, size, &r, &err) == 0) {
		/* every device is found again by its UE and by each of its credentials */
		for (size_t i = 0; i < mgw_registry_count(r); i++) {
			const struct mgw_device *d = mgw_registry_at(r, i);

			if (mgw_registry_by_ue(r, mgw_device_ue(d)) != d)
				__builtin_trap();
			for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
				const char *v = mgw_device_cred(d, kinds[k]);

				if (v && mgw_registry_by_cred(r, kinds[k], v) != d)
					__builtin_trap();
			}
		}
	}
	talloc_free(ctx);
	return 0;
}
