/* The router: which adapter serves a downlink destination. Adapters register by ingress
 * kind; a device's registry entry names the kind (mgw_device_adapter()). */
#ifndef MGW_ROUTER_H
#define MGW_ROUTER_H

#include <mgw/adapter.h>

struct mgw_router;

int mgw_router_alloc(void *ctx, struct mgw_router **out);
void mgw_router_free(struct mgw_router *r);
/* Register a running adapter instance; MGW_E_INVAL if that ingress already has one. */
int mgw_router_add(struct mgw_router *r, const struct mgw_adapter_ops *ops, void *state);
/* Tell every registered adapter with a device_changed op about a change
 * (include/mgw/adapter.h). */
void mgw_router_device_changed(const struct mgw_router *r, const char *ue,
			       enum mgw_dev_change what);
/* The adapter for a device: MGW_E_NOT_FOUND if the adapter it needs is not running. */
int mgw_router_pick(const struct mgw_router *r, const struct mgw_device *dev,
		    const struct mgw_adapter_ops **ops, void **state);

#endif
