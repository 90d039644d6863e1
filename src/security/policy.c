/* msgin5g-gw security: the policy (include/mgw/security.h, "policy:" config section) and
 * the one table of allowed (direction, ingress, addrType) combinations.
 *
 * The table below is the whole answer to "who may send what kind of address where": a
 * combination that is not in it is denied. An uplink row is either OPEN (allowed unless
 * the device has an allow list that does not name the destination) or LISTED (allowed only
 * when an allow entry names it). Allow lists are an uplink notion: downlink only ever goes
 * to a registered UE (S1, S10; doc/internals/security.md).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>

#include <mgw/addr.h>
#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/msg.h>
#include <mgw/security.h>

#include "security_int.h"

#define OFF(type, member) offsetof(struct type, member)

/* ---------------------------------------------------------------- the table */

enum dest_rule {
	RULE_DENY = 0, /* never (also: every combination not in the table) */
	RULE_OPEN,     /* allowed; an allow list, if the device has one, must name it */
	RULE_LISTED,   /* allowed only when an allow entry names it (S10) */
};

static const struct dest_row {
	enum mgw_dir dir;
	enum mgw_ingress in;
	enum mgw_addr_type type;
	enum dest_rule rule;
} dest_table[] = {
#define UPLINK_FROM(ing)                                                                   \
	{ MGW_DIR_UPLINK, ing, MGW_ADDR_UE, RULE_OPEN },                                    \
	{ MGW_DIR_UPLINK, ing, MGW_ADDR_AS, RULE_OPEN },                                    \
	{ MGW_DIR_UPLINK, ing, MGW_ADDR_GROUP, RULE_LISTED },                               \
	{ MGW_DIR_UPLINK, ing, MGW_ADDR_BC, RULE_LISTED },                                  \
	{ MGW_DIR_UPLINK, ing, MGW_ADDR_TOPIC, RULE_LISTED }
	UPLINK_FROM(MGW_IN_SMS),
	UPLINK_FROM(MGW_IN_COAP),
	UPLINK_FROM(MGW_IN_MQTT),
	UPLINK_FROM(MGW_IN_TEST),
#undef UPLINK_FROM
	/* the M5S delivers to single UEs only: group/broadcast fan-out at the gateway is
	 * not implemented, so GROUP/BC/TOPIC downlink is denied */
	{ MGW_DIR_DOWNLINK, MGW_IN_NORTH, MGW_ADDR_UE, RULE_OPEN },
};

static enum dest_rule rule_of(enum mgw_dir dir, enum mgw_ingress in, enum mgw_addr_type type)
{
	for (size_t i = 0; i < sizeof(dest_table) / sizeof(dest_table[0]); i++) {
		const struct dest_row *r = &dest_table[i];

		if (r->dir == dir && r->in == in && r->type == type)
			return r->rule;
	}
	return RULE_DENY;
}

/* ---------------------------------------------------------------- allow lists */

static const enum mgw_addr_type allow_types[] = {
	MGW_ADDR_UE, MGW_ADDR_AS, MGW_ADDR_GROUP, MGW_ADDR_BC, MGW_ADDR_TOPIC,
};

static void why_set(char *why, size_t n, const char *text)
{
	if (why && n)
		snprintf(why, n, "%s", text);
}

int sec_allow_parse(const char *s, enum mgw_addr_type *type, const char **addr, bool *any,
		    char *why, size_t whylen)
{
	char tname[MGW_ADDR_TYPE_NAME_MAX];
	enum mgw_addr_type t = MGW_ADDR_NONE;
	const char *colon, *a;
	size_t tn;
	int rc = MGW_E_MALFORMED;

	if (!s || !(colon = strchr(s, ':'))) {
		why_set(why, whylen, "expected \"TYPE:addr\" or \"TYPE:*\"");
		goto out;
	}
	tn = (size_t)(colon - s);
	if (tn == 0 || tn >= sizeof(tname)) {
		why_set(why, whylen, "expected \"TYPE:addr\" or \"TYPE:*\"");
		goto out;
	}
	memcpy(tname, s, tn);
	tname[tn] = '\0';
	for (size_t i = 0; i < sizeof(allow_types) / sizeof(allow_types[0]); i++)
		if (strcmp(tname, mgw_addr_type_name(allow_types[i])) == 0)
			t = allow_types[i];
	if (t == MGW_ADDR_NONE) {
		why_set(why, whylen, "unknown address type (expected UE, AS, GROUP, BC or TOPIC)");
		goto out;
	}
	a = colon + 1;
	if (!*a) {
		why_set(why, whylen, "empty address (use \"TYPE:*\" for any)");
		goto out;
	}
	if (strlen(a) > MGW_ID_MAX) {
		why_set(why, whylen, "address longer than 256 bytes");
		goto out;
	}
	for (const char *p = a; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c == 0x7f) {
			why_set(why, whylen, "address contains a space or control character");
			goto out;
		}
	}
	*type = t;
	*addr = a;
	*any = strcmp(a, "*") == 0;
	rc = MGW_OK;
out:
	return rc;
}

int sec_allow_list_build(void *ctx, char *const *v, size_t n, struct sec_allow_list *out)
{
	struct sec_allow *e = NULL;
	int rc;

	if (n && !(e = talloc_zero_array(ctx, struct sec_allow, n))) {
		rc = MGW_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *addr;
		bool any;

		if ((rc = sec_allow_parse(v[i], &e[i].type, &addr, &any, NULL, 0)) != MGW_OK)
			goto out;
		e[i].any = any;
		if (!any && !(e[i].addr = talloc_strdup(e, addr))) {
			rc = MGW_E_NOMEM;
			goto out;
		}
	}
	out->n = n;
	out->v = e;
	e = NULL;
	rc = MGW_OK;
out:
	talloc_free(e);
	return rc;
}

bool sec_allow_match(const struct sec_allow_list *l, const struct mgw_addr *dest)
{
	if (!l || !dest)
		return false;
	for (size_t i = 0; i < l->n; i++) {
		const struct sec_allow *e = &l->v[i];

		if (e->type != dest->type)
			continue;
		if (e->any || strcmp(e->addr, dest->addr) == 0)
			return true;
	}
	return false;
}

/* ---------------------------------------------------------------- the decision */

int sec_policy_dest(enum mgw_dir dir, enum mgw_ingress in, const struct mgw_addr *dest,
		    const struct sec_allow_list *allow, const char **cause, char *detail,
		    size_t detail_len)
{
	char shown[MGW_ADDR_TYPE_NAME_MAX + MGW_ID_MAX + 2];
	enum dest_rule rule;

	if (!dest || dest->type == MGW_ADDR_NONE) {
		*cause = "POLICY_ADDR_TYPE";
		snprintf(detail, detail_len, "no destination address");
		return MGW_E_POLICY;
	}
	mgw_addr_fmt(dest, shown, sizeof(shown));
	rule = rule_of(dir, in, dest->type);
	if (rule == RULE_DENY) {
		*cause = "POLICY_ADDR_TYPE";
		snprintf(detail, detail_len, "%s from %s to addrType %s is not allowed",
			 mgw_dir_name(dir), mgw_ingress_name(in),
			 dest->type == MGW_ADDR_OTHER ? dest->type_name
						      : mgw_addr_type_name(dest->type));
		return MGW_E_POLICY;
	}
	if (dir != MGW_DIR_UPLINK)
		return MGW_OK;
	if (!allow) {
		if (rule == RULE_OPEN)
			return MGW_OK;
		*cause = "POLICY_DEST";
		snprintf(detail, detail_len, "%.*s needs an explicit allow entry", 200, shown);
		return MGW_E_POLICY;
	}
	if (sec_allow_match(allow, dest))
		return MGW_OK;
	*cause = "POLICY_DEST";
	snprintf(detail, detail_len, "%.*s is not in the allow list", 200, shown);
	return MGW_E_POLICY;
}

/* ---------------------------------------------------------------- the schema */

static const char *const spoof_actions[] = { "rewrite", "reject", NULL };

static const struct mgw_cfg_item policy_items[] = {
	{ "max_payload", MGW_CFG_SIZE, OFF(mgw_policy, max_payload), 0, 1, MGW_PAYLOAD_HARD_MAX,
	  "2048", "largest payload a message may carry, both directions (TS 23.554 8.5.1)" },
	{ "spoofed_origin", MGW_CFG_ENUM, OFF(mgw_policy, spoof), 0, 0, 0, "rewrite",
	  "a device writing another oriAddr: rewrite it to the bound UE, or reject the message",
	  NULL, spoof_actions },
	{ "default_allow", MGW_CFG_STRLIST, OFF(mgw_policy, default_allow), 0, 0, 300, NULL,
	  "allow list (\"TYPE:addr\", \"TYPE:*\") of devices without one; empty: any UE and AS" },
	{ NULL },
};

static int policy_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	const struct mgw_policy *p = obj;

	for (size_t i = 0; i < p->default_allow.n; i++) {
		char sub[128], why[128];
		enum mgw_addr_type t;
		const char *addr;
		bool any;

		if (sec_allow_parse(p->default_allow.v[i], &t, &addr, &any, why, sizeof(why)) ==
		    MGW_OK)
			continue;
		snprintf(sub, sizeof(sub), "%s%sdefault_allow[%zu]", path, *path ? "." : "", i);
		mgw_cfg_errf(err, obj, sub, "bad allow entry: %s", why);
		return -1;
	}
	return 0;
}

const struct mgw_cfg_schema mgw_policy_schema = {
	"policy", policy_items, sizeof(struct mgw_policy), policy_check,
};
