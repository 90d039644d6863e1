/* msgin5g-gw router: which running adapter serves a device (include/mgw/router.h). */
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/router.h>

#define ROUTER_SLOTS (MGW_IN_TEST + 1)

struct mgw_router {
	const struct mgw_adapter_ops *ops[ROUTER_SLOTS];
	void *state[ROUTER_SLOTS];
};

int mgw_router_alloc(void *ctx, struct mgw_router **out)
{
	struct mgw_router *r = talloc_zero(ctx, struct mgw_router);

	if (!r)
		return MGW_E_NOMEM;
	*out = r;
	return MGW_OK;
}

void mgw_router_free(struct mgw_router *r)
{
	talloc_free(r);
}

int mgw_router_add(struct mgw_router *r, const struct mgw_adapter_ops *ops, void *state)
{
	unsigned i = (unsigned)ops->ingress;

	if (i == MGW_IN_NONE || i == MGW_IN_NORTH || i >= ROUTER_SLOTS || r->ops[i])
		return MGW_E_INVAL;
	r->ops[i] = ops;
	r->state[i] = state;
	LOGP(DROUTE, MGW_LOGL_INFO, "route: adapter %s serves %s devices", ops->name,
	     mgw_ingress_name(ops->ingress));
	return MGW_OK;
}

int mgw_router_pick(const struct mgw_router *r, const struct mgw_device *dev,
		    const struct mgw_adapter_ops **ops, void **state)
{
	unsigned i = (unsigned)mgw_device_adapter(dev);

	if (i >= ROUTER_SLOTS || !r->ops[i]) {
		/* the lab adapter stands in for a device whose own adapter is not running */
		if (!r->ops[MGW_IN_TEST])
			return MGW_E_NOT_FOUND;
		i = MGW_IN_TEST;
	}
	*ops = r->ops[i];
	*state = r->state[i];
	return MGW_OK;
}

void mgw_router_device_changed(const struct mgw_router *r, const char *ue,
			       enum mgw_dev_change what)
{
	if (!r || !ue)
		return;
	for (unsigned i = 0; i < ROUTER_SLOTS; i++)
		if (r->ops[i] && r->ops[i]->device_changed)
			r->ops[i]->device_changed(r->state[i], ue, what);
}
