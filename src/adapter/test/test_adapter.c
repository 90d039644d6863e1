/* testdev lab adapter: the ops table (include/mgw/adapter_testdev.h). */
#include <mgw/adapter.h>
#include <mgw/adapter_testdev.h>
#include <mgw/err.h>
#include <mgw/log.h>

#include "test_int.h"

static int testdev_start(const struct mgw_adapter_env *env, const void *cfg, void **state)
{
	const struct mgw_testdev_cfg *c = cfg;
	struct td_adapter *ad = NULL;
	int rc;

	if (!env || !c || !state)
		return MGW_E_INVAL;
	if (!c->insecure) { /* the config check refuses this already */
		LOGP(DTESTDEV, MGW_LOGL_ERROR, "testdev: refusing to start without insecure: true");
		return MGW_E_CONFIG;
	}
	if ((rc = td_adapter_start(env, c, &ad)) != MGW_OK)
		return rc;
	*state = ad;
	return MGW_OK;
}

static void testdev_stop(void *state)
{
	td_adapter_stop(state);
}

static int testdev_deliver(void *state, const struct mgw_msg *msg, const struct mgw_device *dev,
			   mgw_deliver_done done, void *arg)
{
	return td_adapter_deliver(state, msg, dev, done, arg);
}

const struct mgw_adapter_ops mgw_adapter_testdev = {
	.name = "testdev",
	.ingress = MGW_IN_TEST,
	.cfg = &mgw_testdev_schema,
	.start = testdev_start,
	.stop = testdev_stop,
	.deliver = testdev_deliver,
};
