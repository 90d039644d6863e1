/* m5s-sim: the gateway registration API of the project (doc/interfaces.md "Registration at
 * the M5S", a project extension: TS 23.554 8.2.3/8.2.4 have no stage-3 API). Checks each
 * body strictly against the schema written there, keeps the set of registered UEs per
 * gateway, answers per-UE results, and writes the set to --reg-state (atomically) so that
 * `m5s-sim push --registered FILE` routes only to registered UEs. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <talloc.h>

#include <mgw/err.h>

#include "m5s_sim.h"

#define UES_MAX 10000

struct sim_regs {
	char *file;   /* --reg-state, or NULL */
	json_t *gws;  /* { gwId: { "gwApiRoot": s, "ues": { ue: {mechanism, maxSegSize,
	                 commAvail} } } } */
};

static int regs_destructor(struct sim_regs *r)
{
	json_decref(r->gws);
	return 0;
}

int sim_regs_alloc(void *ctx, const char *file, struct sim_regs **out)
{
	struct sim_regs *r = talloc_zero(ctx, struct sim_regs);
	json_t *old;

	if (!r)
		return MGW_E_NOMEM;
	talloc_set_destructor(r, regs_destructor);
	/* a restarted simulator keeps what was registered */
	old = file ? json_load_file(file, 0, NULL) : NULL;
	r->gws = json_is_object(json_object_get(old, "gateways"))
			 ? json_incref(json_object_get(old, "gateways"))
			 : json_object();
	json_decref(old);
	if (!r->gws || (file && !(r->file = talloc_strdup(r, file)))) {
		talloc_free(r);
		return MGW_E_NOMEM;
	}
	*out = r;
	return MGW_OK;
}

static int save(struct sim_regs *r)
{
	char *tmp;
	json_t *doc;
	int rc = MGW_E_IO;

	if (!r->file)
		return MGW_OK;
	if (!(tmp = talloc_asprintf(r, "%s.tmp", r->file)) ||
	    !(doc = json_pack("{s:O}", "gateways", r->gws))) {
		talloc_free(tmp);
		return MGW_E_NOMEM;
	}
	if (json_dump_file(doc, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) == 0 &&
	    rename(tmp, r->file) == 0)
		rc = MGW_OK;
	else
		fprintf(stderr, "m5s-sim: %s: cannot write the registrations\n", r->file);
	json_decref(doc);
	talloc_free(tmp);
	return rc;
}

static bool only_keys(json_t *o, const char *const *keys, const char **extra)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		size_t i;

		for (i = 0; keys[i] && strcmp(keys[i], k) != 0; i++)
			;
		if (!keys[i]) {
			*extra = k;
			return false;
		}
	}
	return true;
}

static bool good_str(json_t *v)
{
	return json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= 256;
}

/* one UeRegistration {ueServiceId, mechanism, maxSegSize, commAvail} */
static int check_ue(json_t *u, size_t i, struct mgw_diag *d)
{
	static const char *const keys[] = { "ueServiceId", "mechanism", "maxSegSize", "commAvail",
					    NULL };
	const char *extra = NULL, *m;
	char where[64];

	snprintf(where, sizeof(where), "/ues/%zu", i);
	if (!json_is_object(u))
		return mgw_diag_set(d, MGW_E_TYPE, where, "not an object");
	if (!only_keys(u, keys, &extra))
		return mgw_diag_set(d, MGW_E_TYPE, where, "unknown member %s", extra);
	if (!good_str(json_object_get(u, "ueServiceId")))
		return mgw_diag_set(d, MGW_E_MISSING, where, "ueServiceId missing or not 1..256 chars");
	m = json_string_value(json_object_get(u, "mechanism"));
	if (!m || (strcmp(m, "SMS") != 0 && strcmp(m, "COAP") != 0 && strcmp(m, "MQTT") != 0))
		return mgw_diag_set(d, MGW_E_TYPE, where, "mechanism must be SMS, COAP or MQTT");
	if (!json_is_integer(json_object_get(u, "maxSegSize")) ||
	    json_integer_value(json_object_get(u, "maxSegSize")) < 1)
		return mgw_diag_set(d, MGW_E_TYPE, where, "maxSegSize must be a positive integer");
	if (json_object_get(u, "commAvail") && !json_is_boolean(json_object_get(u, "commAvail")))
		return mgw_diag_set(d, MGW_E_TYPE, where, "commAvail must be a boolean");
	return MGW_OK;
}

/* GwRegistration {gwId, gwApiRoot, ues[1..]} or GwDeregistration {gwId, ues[1..] of
 * ueServiceId} */
static int check_body(bool reg, json_t *b, struct mgw_diag *d)
{
	static const char *const rkeys[] = { "gwId", "gwApiRoot", "ues", NULL };
	static const char *const dkeys[] = { "gwId", "ues", NULL };
	const char *extra = NULL;
	json_t *ues = json_object_get(b, "ues"), *u;
	size_t i;
	int rc;

	if (!json_is_object(b))
		return mgw_diag_set(d, MGW_E_MALFORMED, "", "the body is not a JSON object");
	if (!only_keys(b, reg ? rkeys : dkeys, &extra))
		return mgw_diag_set(d, MGW_E_TYPE, "", "unknown member %s", extra);
	if (!good_str(json_object_get(b, "gwId")))
		return mgw_diag_set(d, MGW_E_MISSING, "/gwId", "missing or not 1..256 chars");
	if (reg && (!json_is_string(json_object_get(b, "gwApiRoot")) ||
		    json_string_length(json_object_get(b, "gwApiRoot")) < 1 ||
		    json_string_length(json_object_get(b, "gwApiRoot")) > 1024))
		return mgw_diag_set(d, MGW_E_MISSING, "/gwApiRoot", "missing or not a string");
	if (!json_is_array(ues) || json_array_size(ues) < 1 || json_array_size(ues) > UES_MAX)
		return mgw_diag_set(d, MGW_E_MISSING, "/ues", "missing or not 1..%d items", UES_MAX);
	json_array_foreach(ues, i, u) {
		if (reg && (rc = check_ue(u, i, d)) != MGW_OK)
			return rc;
		if (!reg && !good_str(u)) {
			char where[64];

			snprintf(where, sizeof(where), "/ues/%zu", i);
			return mgw_diag_set(d, MGW_E_TYPE, where, "not a ueServiceId string");
		}
	}
	return MGW_OK;
}

static json_t *gw_entry(struct sim_regs *r, json_t *b)
{
	const char *id = json_string_value(json_object_get(b, "gwId"));
	json_t *g = json_object_get(r->gws, id);

	if (!g && (!(g = json_pack("{s:s, s:{}}", "gwApiRoot", "", "ues")) ||
		   json_object_set_new(r->gws, id, g) != 0))
		return NULL;
	if (json_object_get(b, "gwApiRoot"))
		json_object_set(g, "gwApiRoot", json_object_get(b, "gwApiRoot"));
	return g;
}

static json_t *result(const char *ue, const char *cause)
{
	return cause ? json_pack("{s:s, s:s, s:s}", "ueServiceId", ue, "result", "FAILURE",
				 "cause", cause)
		     : json_pack("{s:s, s:s}", "ueServiceId", ue, "result", "SUCCESS");
}

int sim_regs_apply(struct sim_regs *r, void *ctx, bool reg, json_t *body, char **resp,
		   size_t *len, struct mgw_diag *d)
{
	json_t *g, *ues, *u, *res = NULL, *doc = NULL;
	char *s = NULL;
	size_t i;
	int rc;

	if ((rc = check_body(reg, body, d)) != MGW_OK)
		return rc;
	rc = MGW_E_NOMEM;
	if (!(g = gw_entry(r, body)) || !(res = json_array()))
		goto out;
	ues = json_object_get(g, "ues");
	json_array_foreach(json_object_get(body, "ues"), i, u) {
		const char *ue = reg ? json_string_value(json_object_get(u, "ueServiceId"))
				     : json_string_value(u);
		json_t *copy = reg ? json_deep_copy(u) : NULL;

		if (reg) {
			json_object_del(copy, "ueServiceId");
			json_object_set_new(ues, ue, copy);
			json_array_append_new(res, result(ue, NULL));
		} else if (json_object_del(ues, ue) == 0) {
			json_array_append_new(res, result(ue, NULL));
		} else {
			json_array_append_new(res, result(ue, "UE_NOT_REGISTERED"));
		}
	}
	if (!(doc = json_pack("{s:O}", "results", res)) || !(s = json_dumps(doc, JSON_COMPACT)) ||
	    !(*resp = talloc_strdup(ctx, s)))
		goto out;
	*len = strlen(*resp);
	save(r);
	rc = MGW_OK;
out:
	free(s);
	json_decref(doc);
	json_decref(res);
	return rc;
}

int sim_regs_file_has(const char *file, const char *ue)
{
	json_error_t jerr;
	json_t *doc = json_load_file(file, 0, &jerr), *g;
	const char *k;
	int rc = MGW_E_NOT_FOUND;

	if (!doc)
		return MGW_E_IO;
	json_object_foreach(json_object_get(doc, "gateways"), k, g)
		if (json_object_get(json_object_get(g, "ues"), ue))
			rc = MGW_OK;
	json_decref(doc);
	return rc;
}
