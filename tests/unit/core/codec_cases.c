/* Fixtures and decode cases shared by test_codec and codec_emit (see codec_cases.h). */
#include <string.h>
#include <talloc.h>

#include <mgw/addr.h>
#include <mgw/codec.h>
#include <mgw/err.h>
#include <mgw/msg.h>

#include "codec_cases.h"

/* ---- fixtures ---- */

static const char *const fx_json[FX_COUNT] = {
	[FX_UE_FULL] = "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"ue-1\"},"
		       "\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},\"appId\":\"app-1\","
		       "\"msgId\":\"m-1\",\"delivStReqInd\":true,"
		       "\"payload\":\"h\xc3\xa9llo \\\"w\\\"\\u0000\",\"segInd\":true,"
		       "\"segParams\":{\"segId\":\"s-1\",\"totalSegCount\":3,\"segNumb\":1,"
		       "\"lastSegFlag\":false},\"stoAndFwInd\":true,"
		       "\"stoAndFwParams\":{\"exprTime\":\"2030-01-02T03:04:05.678Z\"}}",
	[FX_UE_MIN] = "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"ue-1\"},"
		      "\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},\"msgId\":\"m-2\","
		      "\"stoAndFwInd\":false}",
	[FX_L3G] = "{\"oriAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},"
		   "\"destAddr\":{\"addrType\":\"UE\",\"addr\":\"ue-sms-1\"},\"appId\":\"app-1\","
		   "\"msgId\":\"m-3\",\"delivStReqInd\":true,\"payload\":\"hello SMS\","
		   "\"segInd\":false}",
	[FX_N3G] = "{\"oriAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},"
		   "\"destAddr\":{\"addrType\":\"UE\",\"addr\":\"ue-coap-1\"},\"msgId\":\"m-4\","
		   "\"payload\":\"{\\\"t\\\":21.5}\",\"segInd\":true,"
		   "\"segParams\":{\"segId\":\"s-9\",\"segNumb\":2,\"lastSegFlag\":true}}",
	[FX_REPORT_OK] = "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"ue-1\"},"
			 "\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},\"msgId\":\"m-5\","
			 "\"delivSt\":\"REPT_DELY_SUCCESS\"}",
	[FX_REPORT_FAIL] = "{\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"ue-sms-1\"},"
			   "\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},\"msgId\":\"m-6\","
			   "\"failureCause\":\"SMSC rejected: 0x0000000b\","
			   "\"delivSt\":\"REPT_DELY_FAILED\"}",
	[FX_DEVICE] = "{\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"},\"appId\":\"app-1\","
		      "\"msgId\":\"d-1\",\"delivStReqInd\":true,\"payload\":\"23.5\","
		      "\"priority\":\"HIGH\",\"segInd\":false}",
	[FX_STORED] = "",
};

static const enum mgw_body fx_body[FX_COUNT] = {
	[FX_UE_FULL] = MGW_BODY_UE_MESSAGE, [FX_UE_MIN] = MGW_BODY_UE_MESSAGE,
	[FX_L3G] = MGW_BODY_L3G_MESSAGE,     [FX_N3G] = MGW_BODY_N3G_MESSAGE,
	[FX_REPORT_OK] = MGW_BODY_REPORT,    [FX_REPORT_FAIL] = MGW_BODY_REPORT,
	[FX_DEVICE] = MGW_BODY_DEVICE,	     [FX_STORED] = MGW_BODY_STORED,
};

const char *fixture_json(enum fixture f)
{
	return fx_json[f];
}

enum mgw_body fixture_body(enum fixture f)
{
	return fx_body[f];
}

static void set_str(char *dst, size_t cap, const char *s)
{
	if (mgw_str_set(dst, cap, s) != MGW_OK)
		dst[0] = '\0';
}

static void fx_ue(struct mgw_msg *m, bool full)
{
	static const char pl[] = "h\xc3\xa9llo \"w\"";

	mgw_addr_set(&m->ori, MGW_ADDR_UE, "ue-1");
	mgw_addr_set(&m->dest, MGW_ADDR_AS, "as-1");
	set_str(m->msg_id, sizeof(m->msg_id), full ? "m-1" : "m-2");
	if (!full)
		return;
	m->has_app_id = true;
	set_str(m->app_id, sizeof(m->app_id), "app-1");
	m->has_deliv_st_req = m->deliv_st_req = true;
	mgw_msg_set_payload(m, pl, sizeof(pl)); /* with its NUL: an escaped U+0000 */
	m->has_seg_ind = m->seg_ind = true;
	m->has_seg = true;
	m->seg.has_seg_id = m->seg.has_total = m->seg.has_numb = m->seg.has_last = true;
	set_str(m->seg.seg_id, sizeof(m->seg.seg_id), "s-1");
	m->seg.total = 3;
	m->seg.numb = 1;
	m->seg.last = false;
	m->sto_fw_ind = true;
	m->expiry_ms = 1893553445678; /* 2030-01-02T03:04:05.678Z */
}

static void fx_downlink(struct mgw_msg *m, enum fixture f)
{
	mgw_addr_set(&m->ori, MGW_ADDR_AS, "as-1");
	if (f == FX_L3G) {
		mgw_addr_set(&m->dest, MGW_ADDR_UE, "ue-sms-1");
		set_str(m->msg_id, sizeof(m->msg_id), "m-3");
		m->has_app_id = true;
		set_str(m->app_id, sizeof(m->app_id), "app-1");
		m->has_deliv_st_req = m->deliv_st_req = true;
		mgw_msg_set_payload(m, "hello SMS", 9);
		m->has_seg_ind = true;
		return;
	}
	mgw_addr_set(&m->dest, MGW_ADDR_UE, "ue-coap-1");
	set_str(m->msg_id, sizeof(m->msg_id), "m-4");
	mgw_msg_set_payload(m, "{\"t\":21.5}", 10);
	m->has_seg_ind = m->seg_ind = true;
	m->has_seg = m->seg.has_seg_id = m->seg.has_numb = m->seg.has_last = true;
	set_str(m->seg.seg_id, sizeof(m->seg.seg_id), "s-9");
	m->seg.numb = 2;
	m->seg.last = true;
}

static void fx_report(struct mgw_msg *m, bool ok)
{
	mgw_addr_set(&m->ori, MGW_ADDR_UE, ok ? "ue-1" : "ue-sms-1");
	mgw_addr_set(&m->dest, MGW_ADDR_AS, "as-1");
	set_str(m->msg_id, sizeof(m->msg_id), ok ? "m-5" : "m-6");
	m->deliv_st = ok ? MGW_DELIV_SUCCESS : MGW_DELIV_FAILED;
	set_str(m->deliv_st_name, sizeof(m->deliv_st_name), mgw_deliv_st_name(m->deliv_st));
	if (ok)
		return;
	m->has_failure_cause = true;
	set_str(m->failure_cause, sizeof(m->failure_cause), "SMSC rejected: 0x0000000b");
}

static void fx_device(struct mgw_msg *m)
{
	mgw_addr_set(&m->dest, MGW_ADDR_AS, "as-1");
	set_str(m->msg_id, sizeof(m->msg_id), "d-1");
	m->has_app_id = true;
	set_str(m->app_id, sizeof(m->app_id), "app-1");
	m->has_deliv_st_req = m->deliv_st_req = true;
	mgw_msg_set_payload(m, "23.5", 4);
	m->priority = MGW_PRIO_HIGH;
	m->has_seg_ind = true;
}

static void fx_stored(struct mgw_msg *m)
{
	uint8_t bin[256];

	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(255 - i);
	fx_ue(m, true);
	mgw_addr_set_wire(&m->ori, "MSISDN", "491701234567"); /* an extension addrType */
	mgw_msg_set_payload(m, bin, sizeof(bin));
	m->priority = MGW_PRIO_LOW;
	m->dir = MGW_DIR_DOWNLINK;
	m->ingress = MGW_IN_NORTH;
	m->prot = MGW_PROT_JWS;
	m->created_ms = 1700000000123;
	m->attempts = 3;
}

struct mgw_msg *fixture_msg(void *ctx, enum fixture f)
{
	bool rep = f == FX_REPORT_OK || f == FX_REPORT_FAIL;
	struct mgw_msg *m = mgw_msg_alloc(ctx, rep ? MGW_MSG_REPORT : MGW_MSG_MESSAGE);

	if (!m)
		return NULL;
	switch (f) {
	case FX_UE_FULL:
	case FX_UE_MIN:
		fx_ue(m, f == FX_UE_FULL);
		break;
	case FX_L3G:
	case FX_N3G:
		fx_downlink(m, f);
		break;
	case FX_REPORT_OK:
	case FX_REPORT_FAIL:
		fx_report(m, f == FX_REPORT_OK);
		break;
	case FX_DEVICE:
		fx_device(m);
		break;
	default:
		fx_stored(m);
		break;
	}
	return m;
}

/* ---- decode cases ---- */

#define ORI "\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"ue-1\"}"
#define DEST "\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"as-1\"}"
#define ID "\"msgId\":\"m-1\""
#define STO "\"stoAndFwInd\":false"
#define UE_BASE ORI "," DEST "," ID "," STO
#define REP_BASE ORI "," DEST "," ID
#define ACK_ORI "\"oriAddr\":{\"addrType\":\"UE\",\"addr\":\"ue-1\"}"

#define UE MGW_BODY_UE_MESSAGE
#define L3G MGW_BODY_L3G_MESSAGE
#define N3G MGW_BODY_N3G_MESSAGE
#define REP MGW_BODY_REPORT
#define DEV MGW_BODY_DEVICE
#define STORED MGW_BODY_STORED

#define BAD(n, b, j, r, w) { n, API_MSG, b, j, GEN_NONE, r, w, SCHEMA_REJECTS }
#define OURS(n, b, j, r, w) { n, API_MSG, b, j, GEN_NONE, r, w, SCHEMA_ACCEPTS }

const struct codec_case codec_cases[] = {
	/* refused by us and by the OpenAPI validator */
	BAD("missing oriAddr", UE, "{" DEST "," ID "," STO "}", MGW_E_MISSING, "/oriAddr"),
	BAD("addrType wrong type", UE,
	    "{\"oriAddr\":{\"addrType\":5,\"addr\":\"ue-1\"}," DEST "," ID "," STO "}", MGW_E_TYPE,
	    "/oriAddr/addrType"),
	BAD("addrType null", UE,
	    "{\"oriAddr\":{\"addrType\":null,\"addr\":\"ue-1\"}," DEST "," ID "," STO "}",
	    MGW_E_TYPE, "/oriAddr/addrType"),
	BAD("addr missing", UE, "{" ORI ",\"destAddr\":{\"addrType\":\"AS\"}," ID "," STO "}",
	    MGW_E_MISSING, "/destAddr/addr"),
	BAD("addrType missing", L3G, "{" ORI ",\"destAddr\":{\"addr\":\"as-1\"}," ID "}",
	    MGW_E_MISSING, "/destAddr/addrType"),
	BAD("oriAddr a string", UE, "{\"oriAddr\":\"ue-1\"," DEST "," ID "," STO "}", MGW_E_TYPE,
	    "/oriAddr"),
	BAD("addr null", N3G, "{\"oriAddr\":{\"addrType\":\"AS\",\"addr\":null}," DEST "," ID "}",
	    MGW_E_TYPE, "/oriAddr/addr"),
	BAD("msgId a number", UE, "{" ORI "," DEST ",\"msgId\":42," STO "}", MGW_E_TYPE, "/msgId"),
	BAD("msgId missing", L3G, "{" ORI "," DEST "}", MGW_E_MISSING, "/msgId"),
	BAD("delivStReqInd a string", UE, "{" UE_BASE ",\"delivStReqInd\":\"true\"}", MGW_E_TYPE,
	    "/delivStReqInd"),
	BAD("payload a number", UE, "{" UE_BASE ",\"payload\":42}", MGW_E_TYPE, "/payload"),
	BAD("appId a boolean", N3G, "{" REP_BASE ",\"appId\":true}", MGW_E_TYPE, "/appId"),
	BAD("segInd a number", UE, "{" UE_BASE ",\"segInd\":1}", MGW_E_TYPE, "/segInd"),
	BAD("segParams a string", UE, "{" UE_BASE ",\"segParams\":\"x\"}", MGW_E_TYPE,
	    "/segParams"),
	BAD("totalSegCount a string", UE, "{" UE_BASE ",\"segParams\":{\"totalSegCount\":\"3\"}}",
	    MGW_E_TYPE, "/segParams/totalSegCount"),
	BAD("segNumb a fraction", L3G, "{" REP_BASE ",\"segParams\":{\"segNumb\":1.5}}",
	    MGW_E_TYPE, "/segParams/segNumb"),
	BAD("lastSegFlag a string", N3G, "{" REP_BASE ",\"segParams\":{\"lastSegFlag\":\"yes\"}}",
	    MGW_E_TYPE, "/segParams/lastSegFlag"),
	BAD("stoAndFwInd missing", UE, "{" ORI "," DEST "," ID "}", MGW_E_MISSING,
	    "/stoAndFwInd"),
	BAD("stoAndFwInd a string", UE, "{" ORI "," DEST "," ID ",\"stoAndFwInd\":\"false\"}",
	    MGW_E_TYPE, "/stoAndFwInd"),
	BAD("stoAndFwParams an array", UE, "{" UE_BASE ",\"stoAndFwParams\":[]}", MGW_E_TYPE,
	    "/stoAndFwParams"),
	BAD("exprTime not a date", UE, "{" UE_BASE ",\"stoAndFwParams\":{\"exprTime\":\"tomorrow\"}}",
	    MGW_E_TYPE, "/stoAndFwParams/exprTime"),
	BAD("exprTime Feb 30", UE,
	    "{" UE_BASE ",\"stoAndFwParams\":{\"exprTime\":\"2024-02-30T00:00:00Z\"}}", MGW_E_TYPE,
	    "/stoAndFwParams/exprTime"),
	BAD("exprTime no zone", UE,
	    "{" UE_BASE ",\"stoAndFwParams\":{\"exprTime\":\"2030-01-01T00:00:00\"}}", MGW_E_TYPE,
	    "/stoAndFwParams/exprTime"),
	BAD("exprTime a number", UE, "{" UE_BASE ",\"stoAndFwParams\":{\"exprTime\":1893553445}}",
	    MGW_E_TYPE, "/stoAndFwParams/exprTime"),
	BAD("delivSt missing", REP, "{" REP_BASE "}", MGW_E_MISSING, "/delivSt"),
	BAD("delivSt a number", REP, "{" REP_BASE ",\"delivSt\":1}", MGW_E_TYPE, "/delivSt"),
	BAD("failureCause an object", REP,
	    "{" REP_BASE ",\"failureCause\":{},\"delivSt\":\"REPT_DELY_FAILED\"}", MGW_E_TYPE,
	    "/failureCause"),
	BAD("report destAddr missing", REP, "{" ORI "," ID ",\"delivSt\":\"REPT_DELY_SUCCESS\"}",
	    MGW_E_MISSING, "/destAddr"),
	BAD("body an array", UE, "[{" UE_BASE "}]", MGW_E_MALFORMED, ""),
	BAD("body a string", REP, "\"hello\"", MGW_E_MALFORMED, ""),
	BAD("body null", L3G, "null", MGW_E_MALFORMED, ""),
	BAD("body empty", UE, "", MGW_E_MALFORMED, ""),
	BAD("truncated JSON", UE, "{" ORI "," DEST ",\"msgId\":\"m-", MGW_E_MALFORMED, ""),
	BAD("trailing garbage", UE, "{" UE_BASE "} x", MGW_E_MALFORMED, ""),
	{ "deeply nested garbage", API_MSG, UE, "{" DEST "," ID "," STO ",\"oriAddr\":", GEN_DEEP,
	  MGW_E_MALFORMED, "/oriAddr", SCHEMA_REJECTS },
	{ "ack msgId missing", API_ACK, 0, "{" ACK_ORI "}", GEN_NONE, MGW_E_MISSING, "/msgId",
	  SCHEMA_REJECTS },
	{ "ack status a number", API_ACK, 0, "{" ACK_ORI ",\"msgId\":\"m-1\",\"status\":5}",
	  GEN_NONE, MGW_E_TYPE, "/status", SCHEMA_REJECTS },
	{ "ack oriAddr missing", API_ACK, 0, "{\"msgId\":\"m-1\"}", GEN_NONE, MGW_E_MISSING,
	  "/oriAddr", SCHEMA_REJECTS },
	{ "problem status a string", API_PROBLEM, 0, "{\"status\":\"400\"}", GEN_NONE, MGW_E_TYPE,
	  "/status", SCHEMA_REJECTS },
	{ "problem invalidParams empty", API_PROBLEM, 0, "{\"status\":400,\"invalidParams\":[]}",
	  GEN_NONE, MGW_E_TYPE, "/invalidParams", SCHEMA_REJECTS },
	{ "problem param missing", API_PROBLEM, 0,
	  "{\"status\":400,\"invalidParams\":[{\"reason\":\"x\"}]}", GEN_NONE, MGW_E_MISSING,
	  "/invalidParams/0/param", SCHEMA_REJECTS },

	/* the validator accepts these: our own limits and rules, or both accept */
	OURS("unknown addrType accepted", UE,
	     "{\"oriAddr\":{\"addrType\":\"MSISDN\",\"addr\":\"491701234567\"}," DEST "," ID
	     "," STO "}", MGW_OK, ""),
	OURS("unknown delivSt accepted", REP, "{" REP_BASE ",\"delivSt\":\"REPT_DELY_PENDING\"}",
	     MGW_OK, ""),
	OURS("unknown members ignored", L3G,
	     "{" REP_BASE ",\"latency\":5,\"x\":{\"y\":[1,2,{\"z\":null}]}}", MGW_OK, ""),
	OURS("exprTime with offset", UE,
	     "{" UE_BASE ",\"stoAndFwParams\":{\"exprTime\":\"2024-02-29T23:59:59+05:30\"}}",
	     MGW_OK, ""),
	OURS("exprTime before 1970", UE,
	     "{" UE_BASE ",\"stoAndFwParams\":{\"exprTime\":\"1969-12-31T23:59:59Z\"}}", MGW_E_TYPE,
	     "/stoAndFwParams/exprTime"),
	OURS("totalSegCount a real 3.0", UE,
	     "{" UE_BASE ",\"segParams\":{\"totalSegCount\":3.0}}", MGW_E_TYPE,
	     "/segParams/totalSegCount"),
	OURS("segNumb negative", N3G, "{" REP_BASE ",\"segParams\":{\"segNumb\":-1}}", MGW_E_TYPE,
	     "/segParams/segNumb"),
	OURS("addr empty", UE, "{" ORI ",\"destAddr\":{\"addrType\":\"AS\",\"addr\":\"\"}," ID ","
	     STO "}", MGW_E_TYPE, "/destAddr/addr"),
	OURS("addrType empty", UE, "{\"oriAddr\":{\"addrType\":\"\",\"addr\":\"x\"}," DEST "," ID
	     "," STO "}", MGW_E_TYPE, "/oriAddr/addrType"),
	OURS("msgId empty", REP, "{" ORI "," DEST ",\"msgId\":\"\",\"delivSt\":\"REPT_DELY_SUCCESS\"}",
	     MGW_E_TYPE, "/msgId"),
	OURS("msgId with U+0000", UE, "{" ORI "," DEST ",\"msgId\":\"a\\u0000b\"," STO "}",
	     MGW_E_TYPE, "/msgId"),
	OURS("duplicate member", UE, "{" UE_BASE "," ID "}", MGW_E_MALFORMED, ""),
	OURS("addrType too long", UE,
	     "{\"oriAddr\":{\"addrType\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456\",\"addr\":\"x\"},"
	     DEST "," ID "," STO "}", MGW_E_TOO_BIG, "/oriAddr/addrType"),
	{ "deep unknown member", API_MSG, L3G, "{" REP_BASE ",\"a/b~c\":", GEN_DEEP,
	  MGW_E_MALFORMED, "/a~1b~0c", SCHEMA_ACCEPTS },
	{ "msgId too long", API_MSG, UE, "{" ORI "," DEST "," STO ",\"msgId\":\"", GEN_LONG_MSGID,
	  MGW_E_TOO_BIG, "/msgId", SCHEMA_ACCEPTS },
	{ "oversized payload", API_MSG, UE, "{" UE_BASE ",\"payload\":\"", GEN_BIG_PAYLOAD,
	  MGW_E_TOO_BIG, "/payload", SCHEMA_ACCEPTS },
	{ "oversized body", API_MSG, REP, "{" REP_BASE ",\"delivSt\":\"REPT_DELY_SUCCESS\",\"x\":\"",
	  GEN_BIG_BODY, MGW_E_TOO_BIG, "", SCHEMA_ACCEPTS },
	{ "ack unknown status accepted", API_ACK, 0,
	  "{" ACK_ORI ",\"msgId\":\"m-1\",\"status\":\"DELY_LATER\"}", GEN_NONE, MGW_OK, "",
	  SCHEMA_ACCEPTS },

	/* no OpenAPI schema: the device body and the store envelope */
	{ "device oriAddr a number", API_MSG, DEV, "{\"oriAddr\":42," DEST "," ID "}", GEN_NONE,
	  MGW_E_TYPE, "/oriAddr", SCHEMA_NONE },
	{ "device destAddr missing", API_MSG, DEV, "{" ID "}", GEN_NONE, MGW_E_MISSING,
	  "/destAddr", SCHEMA_NONE },
	{ "device priority a number", API_MSG, DEV, "{" DEST "," ID ",\"priority\":1}", GEN_NONE,
	  MGW_E_TYPE, "/priority", SCHEMA_NONE },
	{ "device stoAndFwInd a string", API_MSG, DEV, "{" DEST "," ID ",\"stoAndFwInd\":\"no\"}",
	  GEN_NONE, MGW_E_TYPE, "/stoAndFwInd", SCHEMA_NONE },
	{ "stored no version", API_MSG, STORED,
	  "{" ID ",\"kind\":\"message\",\"dir\":\"uplink\",\"ingress\":\"coap\",\"prot\":\"none\","
	  "\"created\":1,\"attempts\":0}", GEN_NONE, MGW_E_MISSING, "/v", SCHEMA_NONE },
	{ "stored version 2", API_MSG, STORED,
	  "{\"v\":2," ID ",\"kind\":\"message\",\"dir\":\"uplink\",\"ingress\":\"coap\","
	  "\"prot\":\"none\",\"created\":1,\"attempts\":0}", GEN_NONE, MGW_E_UNSUPPORTED, "/v",
	  SCHEMA_NONE },
	{ "stored payload not base64", API_MSG, STORED,
	  "{\"v\":1," ID ",\"payload\":\"a$==\",\"kind\":\"message\",\"dir\":\"uplink\","
	  "\"ingress\":\"coap\",\"prot\":\"none\",\"created\":1,\"attempts\":0}", GEN_NONE,
	  MGW_E_TYPE, "/payload", SCHEMA_NONE },
	{ "stored unknown ingress", API_MSG, STORED,
	  "{\"v\":1," ID ",\"kind\":\"message\",\"dir\":\"uplink\",\"ingress\":\"x25\","
	  "\"prot\":\"none\",\"created\":1,\"attempts\":0}", GEN_NONE, MGW_E_TYPE, "/ingress",
	  SCHEMA_NONE },
	{ "stored attempts negative", API_MSG, STORED,
	  "{\"v\":1," ID ",\"kind\":\"report\",\"dir\":\"uplink\",\"ingress\":\"coap\","
	  "\"prot\":\"none\",\"created\":1,\"attempts\":-1}", GEN_NONE, MGW_E_TYPE, "/attempts",
	  SCHEMA_NONE },
};
const size_t codec_cases_n = sizeof(codec_cases) / sizeof(codec_cases[0]);

#define DEEP 40 /* deeper than the codec's JSON_DEPTH_MAX */

char *codec_case_body(void *ctx, const struct codec_case *c, size_t *len)
{
	char *s = talloc_strdup(ctx, c->json);
	size_t fill = 0;
	char ch = 'a';

	switch (c->gen) {
	case GEN_NONE:
		break;
	case GEN_BIG_PAYLOAD:
		fill = mgw_codec_default_limits.max_payload + 1;
		break;
	case GEN_BIG_BODY:
		fill = mgw_codec_default_limits.max_body;
		break;
	case GEN_LONG_MSGID:
		fill = MGW_ID_MAX + 1;
		break;
	case GEN_DEEP:
		for (int i = 0; s && i < DEEP; i++)
			s = talloc_strdup_append(s, "[");
		for (int i = 0; s && i < DEEP; i++)
			s = talloc_strdup_append(s, "]");
		s = s ? talloc_strdup_append(s, "}") : NULL;
		break;
	}
	if (s && fill) {
		size_t n = strlen(s);

		s = talloc_realloc(ctx, s, char, n + fill + 3);
		if (s) {
			memset(s + n, ch, fill);
			memcpy(s + n + fill, "\"}", 3);
		}
	}
	if (s && len)
		*len = strlen(s);
	return s;
}

const char *codec_body_ref(enum mgw_body b)
{
	switch (b) {
	case MGW_BODY_UE_MESSAGE:
		return "TS29538_MSGS_MSGDelivery.yaml#UEMessageDelivery";
	case MGW_BODY_L3G_MESSAGE:
		return "TS29538_MSGG_L3GDelivery.yaml#L3gMessageDelivery";
	case MGW_BODY_N3G_MESSAGE:
		return "TS29538_MSGG_N3GDelivery.yaml#N3gMessageDelivery";
	case MGW_BODY_REPORT:
		return "TS29538_MSGS_MSGDelivery.yaml#DeliveryStatusReport";
	default:
		return NULL;
	}
}

const char *codec_case_ref(const struct codec_case *c)
{
	switch (c->api) {
	case API_ACK:
		return "TS29538_MSGS_MSGDelivery.yaml#MessageDeliveryAck";
	case API_PROBLEM:
		return "TS29571_CommonData.yaml#ProblemDetails";
	default:
		return codec_body_ref(c->body);
	}
}
