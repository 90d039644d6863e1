/* Unit tests of the submit path (src/core/core.c) and the router, over the real security
 * layer and a real store in a temporary directory. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <talloc.h>

#include <mgw/core.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/router.h>
#include <mgw/security.h>
#include <mgw/store.h>

static const char registry_yaml[] =
	"- ue: ue-coap-1\n"
	"  coap: { psk_identity: sensor-1, psk: \"secretPSK\" }\n"
	"  allow: [ \"AS:as-1\" ]\n"
	"- ue: ue-coap-2\n"
	"  coap: { psk_identity: sensor-2, psk: \"otherPSK\" }\n"
	"- ue: ue-sms-1\n"
	"  sms: { msisdn: \"491701234567\" }\n";

struct fixture {
	void *ctx;
	char dir[64];
	struct event_base *base;
	struct mgw_store *store;
	struct mgw_security *sec;
	struct mgw_router *router;
	struct mgw_core *core;
};
static struct fixture F;

struct result {
	int calls;
	int rc;
	struct mgw_verdict v;
	bool during_submit;
};
static bool in_submit;

static void on_done(void *arg, int rc, const struct mgw_verdict *v)
{
	struct result *r = arg;

	r->calls++;
	r->rc = rc;
	r->v = *v;
	r->during_submit = in_submit;
}

static void setup_with(size_t high_water)
{
	struct mgw_registry *reg = NULL;
	struct mgw_cfg_err err;
	struct mgw_policy *pol;
	struct mgw_core_cfg cc = { 0 };
	char path[128], why[256];

	mgw_log_set_all(MGW_LOGL_ERROR);
	F.ctx = talloc_named_const(NULL, 0, "test_core");
	snprintf(F.dir, sizeof(F.dir), "/tmp/test_core.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(F.dir));
	F.base = event_base_new();
	snprintf(path, sizeof(path), "%s/gw.db", F.dir);
	ck_assert_int_eq(mgw_store_open(F.ctx, path, NULL, &F.store, why, sizeof(why)), MGW_OK);
	ck_assert_int_eq(mgw_store_attach(F.store, F.base), MGW_OK);
	ck_assert_int_eq(mgw_registry_load_buf(F.ctx, "devices.yaml", registry_yaml,
					       strlen(registry_yaml), &reg, &err), MGW_OK);
	pol = talloc_zero(F.ctx, struct mgw_policy);
	ck_assert_int_eq(mgw_cfg_load_buf(F.ctx, "policy", "{}", 2, &mgw_policy_schema, pol, &err), 0);
	ck_assert_int_eq(mgw_security_alloc(F.ctx, pol, reg, NULL, F.store, &F.sec), MGW_OK);
	ck_assert_int_eq(mgw_router_alloc(F.ctx, &F.router), MGW_OK);
	cc.base = F.base;
	cc.downlink_validity_ms = 60000;
	cc.high_water = high_water;
	ck_assert_int_eq(mgw_core_alloc(F.ctx, &cc, F.sec, F.store, F.router, &F.core), MGW_OK);
}

static void setup(void)
{
	setup_with(1000);
}

static void teardown(void)
{
	char cmd[128];

	talloc_free(F.ctx);
	event_base_free(F.base);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", F.dir);
	ck_assert_int_eq(system(cmd), 0);
	memset(&F, 0, sizeof(F));
}

static struct mgw_msg *uplink(const char *msg_id, const char *ori_ue, const char *dest_as)
{
	struct mgw_msg *m = mgw_msg_alloc(F.ctx, MGW_MSG_MESSAGE);

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(mgw_str_set(m->msg_id, sizeof(m->msg_id), msg_id), MGW_OK);
	if (ori_ue)
		ck_assert_int_eq(mgw_addr_set(&m->ori, MGW_ADDR_UE, ori_ue), MGW_OK);
	ck_assert_int_eq(mgw_addr_set(&m->dest, MGW_ADDR_AS, dest_as), MGW_OK);
	ck_assert_int_eq(mgw_msg_set_payload(m, "hello", 5), MGW_OK);
	m->has_payload = true;
	return m;
}

static void psk_identity(struct mgw_identity *id, const char *psk_id)
{
	memset(id, 0, sizeof(*id));
	id->ingress = MGW_IN_COAP;
	id->kind = MGW_CRED_PSK_ID;
	snprintf(id->value, sizeof(id->value), "%s", psk_id);
	snprintf(id->peer, sizeof(id->peer), "127.0.0.1:5555");
}

static void submit(struct mgw_msg *m, const struct mgw_identity *id, struct result *r)
{
	in_submit = true;
	ck_assert_int_eq(mgw_core_submit(F.core, m, id, on_done, r), MGW_OK);
	in_submit = false;
	ck_assert_int_eq(r->calls, 0); /* never from inside submit */
	for (int i = 0; i < 10 && !r->calls; i++)
		event_base_loop(F.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_int_eq(r->calls, 1);
	ck_assert(!r->during_submit);
}

/* the stored blob of (origin, msg_id) in queue q, decoded */
static struct mgw_msg *stored(enum mgw_queue q, const char *origin, const char *msg_id)
{
	struct mgw_store_entry *e = NULL;
	struct mgw_msg *m = NULL;

	ck_assert_int_eq(mgw_store_get(F.store, F.ctx, q, origin, msg_id, &e), MGW_OK);
	ck_assert_int_eq(mgw_core_msg_from_blob(F.ctx, e->blob, e->blob_len, &m), MGW_OK);
	return m;
}

START_TEST(test_submit_stores_with_bound_originator)
{
	struct mgw_identity id;
	struct result r = { 0 };
	struct mgw_msg *m;
	size_t n = 0;

	psk_identity(&id, "sensor-1");
	submit(uplink("m-1", NULL, "as-1"), &id, &r);
	ck_assert_int_eq(r.rc, MGW_OK);
	ck_assert_str_eq(r.v.ue, "ue-coap-1");
	m = stored(MGW_Q_NORTH, "UE:ue-coap-1", "m-1");
	ck_assert_int_eq(m->ori.type, MGW_ADDR_UE);
	ck_assert_str_eq(m->ori.addr, "ue-coap-1");
	ck_assert_str_eq(m->dest.addr, "as-1");
	ck_assert_int_eq(m->payload_len, 5);
	ck_assert_mem_eq(m->payload, "hello", 5);
	ck_assert_int_eq(m->dir, MGW_DIR_UPLINK);
	ck_assert_int_eq(m->ingress, MGW_IN_COAP);
	ck_assert_int_eq(mgw_store_count(F.store, MGW_Q_NORTH, MGW_QS_ACCEPTED, &n), MGW_OK);
	ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(test_spoofed_originator_leaves_as_itself)
{
	struct mgw_identity id;
	struct result r = { 0 };
	struct mgw_msg *m;
	struct mgw_store_entry *e = NULL;

	psk_identity(&id, "sensor-1");
	submit(uplink("m-2", "ue-coap-2", "as-1"), &id, &r); /* claims to be ue-coap-2 */
	ck_assert_int_eq(r.rc, MGW_OK);                      /* default policy: rewrite */
	m = stored(MGW_Q_NORTH, "UE:ue-coap-1", "m-2");
	ck_assert_str_eq(m->ori.addr, "ue-coap-1");
	ck_assert_int_eq(mgw_store_get(F.store, F.ctx, MGW_Q_NORTH, "UE:ue-coap-2", "m-2", &e),
			 MGW_E_NOT_FOUND);
}
END_TEST

START_TEST(test_unknown_device_refused_nothing_stored)
{
	struct mgw_identity id;
	struct result r = { 0 };
	size_t n = 99;

	psk_identity(&id, "sensor-unknown");
	submit(uplink("m-3", NULL, "as-1"), &id, &r);
	ck_assert_int_eq(r.rc, MGW_E_UNKNOWN_DEVICE);
	ck_assert_str_eq(r.v.cause, "UNKNOWN_DEVICE");
	ck_assert_int_eq(mgw_store_count(F.store, MGW_Q_NORTH, MGW_QS_ACCEPTED, &n), MGW_OK);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_policy_denied_destination)
{
	struct mgw_identity id;
	struct result r = { 0 };

	psk_identity(&id, "sensor-1"); /* allowed only AS:as-1 */
	submit(uplink("m-4", NULL, "as-2"), &id, &r);
	ck_assert_int_eq(r.rc, MGW_E_POLICY);
	ck_assert(strncmp(r.v.cause, "POLICY", 6) == 0);
}
END_TEST

START_TEST(test_retry_is_idempotent)
{
	struct mgw_identity id;
	struct result r1 = { 0 }, r2 = { 0 };
	size_t n = 0;

	psk_identity(&id, "sensor-1");
	submit(uplink("m-5", NULL, "as-1"), &id, &r1);
	submit(uplink("m-5", NULL, "as-1"), &id, &r2);
	ck_assert_int_eq(r1.rc, MGW_OK);
	ck_assert_int_eq(r2.rc, MGW_E_DUPLICATE);
	ck_assert_int_eq(mgw_store_count(F.store, MGW_Q_NORTH, MGW_QS_ACCEPTED, &n), MGW_OK);
	ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(test_downlink_needs_m5s_and_known_ue)
{
	struct mgw_identity m5s = { .ingress = MGW_IN_NORTH, .kind = MGW_CRED_M5S, .value = "m5s" };
	struct mgw_identity dev;
	struct result r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	struct mgw_msg *m, *s;

	m = mgw_msg_alloc(F.ctx, MGW_MSG_MESSAGE);
	mgw_str_set(m->msg_id, sizeof(m->msg_id), "d-1");
	mgw_addr_set(&m->ori, MGW_ADDR_AS, "as-1");
	mgw_addr_set(&m->dest, MGW_ADDR_UE, "ue-sms-1");
	in_submit = true;
	ck_assert_int_eq(mgw_core_accept_downlink(F.core, m, &m5s, on_done, &r1), MGW_OK);
	in_submit = false;
	for (int i = 0; i < 10 && !r1.calls; i++)
		event_base_loop(F.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_int_eq(r1.calls, 1);
	ck_assert_int_eq(r1.rc, MGW_OK);
	s = stored(MGW_Q_SOUTH, "AS:as-1", "d-1");
	ck_assert_int_eq(s->dir, MGW_DIR_DOWNLINK);
	ck_assert(s->expiry_ms > s->created_ms);
	ck_assert(s->expiry_ms - s->created_ms == 60000); /* the gateway's validity */

	m = mgw_msg_alloc(F.ctx, MGW_MSG_MESSAGE);
	mgw_str_set(m->msg_id, sizeof(m->msg_id), "d-2");
	mgw_addr_set(&m->ori, MGW_ADDR_AS, "as-1");
	mgw_addr_set(&m->dest, MGW_ADDR_UE, "ue-nobody");
	ck_assert_int_eq(mgw_core_accept_downlink(F.core, m, &m5s, on_done, &r2), MGW_OK);
	for (int i = 0; i < 10 && !r2.calls; i++)
		event_base_loop(F.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_int_eq(r2.rc, MGW_E_UNKNOWN_UE);

	/* a device cannot push a downlink delivery */
	psk_identity(&dev, "sensor-1");
	m = mgw_msg_alloc(F.ctx, MGW_MSG_MESSAGE);
	mgw_str_set(m->msg_id, sizeof(m->msg_id), "d-3");
	mgw_addr_set(&m->ori, MGW_ADDR_AS, "as-1");
	mgw_addr_set(&m->dest, MGW_ADDR_UE, "ue-sms-1");
	ck_assert_int_eq(mgw_core_accept_downlink(F.core, m, &dev, on_done, &r3), MGW_OK);
	for (int i = 0; i < 10 && !r3.calls; i++)
		event_base_loop(F.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_int_eq(r3.rc, MGW_E_FORBIDDEN);
}
END_TEST

START_TEST(test_high_water_refuses)
{
	struct mgw_identity id;
	struct result r[4] = { { 0 } };
	char msg_id[16];

	teardown();
	setup_with(3);
	psk_identity(&id, "sensor-1");
	for (int i = 0; i < 4; i++) {
		snprintf(msg_id, sizeof(msg_id), "hw-%d", i);
		submit(uplink(msg_id, NULL, "as-1"), &id, &r[i]);
	}
	ck_assert_int_eq(r[0].rc, MGW_OK);
	ck_assert_int_eq(r[2].rc, MGW_OK);
	ck_assert_int_eq(r[3].rc, MGW_E_FULL);
	ck_assert_str_eq(r[3].v.cause, "FULL");
}
END_TEST

static int fake_deliver(void *state, const struct mgw_msg *msg, const struct mgw_device *dev,
			mgw_deliver_done done, void *arg)
{
	return MGW_OK;
}

static const struct mgw_adapter_ops fake_sms = {
	.name = "sms", .ingress = MGW_IN_SMS, .deliver = fake_deliver,
};

START_TEST(test_router_picks_by_registry_entry)
{
	const struct mgw_registry *reg = mgw_security_registry(F.sec);
	const struct mgw_adapter_ops *ops = NULL;
	void *state = NULL;
	int token;

	ck_assert_int_eq(mgw_router_add(F.router, &fake_sms, &token), MGW_OK);
	ck_assert_int_eq(mgw_router_add(F.router, &fake_sms, &token), MGW_E_INVAL);
	ck_assert_int_eq(mgw_router_pick(F.router, mgw_registry_by_ue(reg, "ue-sms-1"), &ops, &state),
			 MGW_OK);
	ck_assert_ptr_eq(ops, &fake_sms);
	ck_assert_ptr_eq(state, &token);
	/* no CoAP adapter running: the CoAP device has no route */
	ck_assert_int_eq(mgw_router_pick(F.router, mgw_registry_by_ue(reg, "ue-coap-1"), &ops, &state),
			 MGW_E_NOT_FOUND);
}
END_TEST

static Suite *core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("submit");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_submit_stores_with_bound_originator);
	tcase_add_test(tc, test_spoofed_originator_leaves_as_itself);
	tcase_add_test(tc, test_unknown_device_refused_nothing_stored);
	tcase_add_test(tc, test_policy_denied_destination);
	tcase_add_test(tc, test_retry_is_idempotent);
	tcase_add_test(tc, test_downlink_needs_m5s_and_known_ue);
	tcase_add_test(tc, test_high_water_refuses);
	tcase_add_test(tc, test_router_picks_by_registry_entry);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(core_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
