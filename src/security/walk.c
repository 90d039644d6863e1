/* msgin5g-gw security: a walk of the registered devices, for the few start-up passes that
 * need the whole fleet (north's registration at the M5S: which devices are not registered
 * there yet). Behind the one lookup door like lookup.c: the caller gets the UE and the
 * adapter that serves it, never a device handle. A registry in the store (issue 13) may
 * answer this with one query instead; the contract stays. */
#include <stdio.h>
#include <string.h>

#include <mgw/err.h>
#include <mgw/security.h>

int mgw_security_each_device(struct mgw_security *sec, mgw_security_each_cb cb, void *arg)
{
	const struct mgw_registry *reg;
	const struct mgw_device *d;
	struct mgw_ue_ref ref;
	int rc = MGW_OK;

	if (!sec || !cb)
		return MGW_E_INVAL;
	reg = mgw_security_registry(sec);
	for (size_t i = 0; rc == MGW_OK && (d = mgw_registry_at(reg, i)); i++) {
		memset(&ref, 0, sizeof(ref));
		snprintf(ref.ue, sizeof(ref.ue), "%s", mgw_device_ue(d));
		ref.adapter = mgw_device_adapter(d);
		rc = cb(arg, &ref);
	}
	return rc;
}
