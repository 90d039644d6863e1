/* msgin5g-gw security: the one lookup door (include/mgw/security.h "the one lookup door";
 * doc/internals/security.md "One lookup door").
 *
 * Adapters and the core never hold the registry: they ask "which UE is this credential",
 * "the PSK of this identity" and "the device of this UE" here, and get copies (or a handle
 * for the current loop turn). That is what lets the registry become a bounded cache whose
 * entries come and go, and what makes a change (reload, live management) take effect on
 * the next lookup: nothing outside keeps an answer it got before the change.
 */
#include <stdio.h>
#include <string.h>

#include <mgw/err.h>
#include <mgw/security.h>

#include "security_int.h"

static const struct mgw_device *by_cred(struct mgw_security *sec, enum mgw_cred kind,
					const char *value)
{
	if (!sec || !value || !*value)
		return NULL;
	return mgw_registry_by_cred(mgw_security_registry(sec), kind, value);
}

static void ref_set(const struct mgw_device *d, struct mgw_ue_ref *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->ue, sizeof(out->ue), "%s", mgw_device_ue(d));
	out->adapter = mgw_device_adapter(d);
}

int mgw_security_identify(struct mgw_security *sec, enum mgw_cred kind, const char *value,
			  struct mgw_ue_ref *out)
{
	const struct mgw_device *d;

	if (!sec || !value || !out)
		return MGW_E_INVAL;
	if (!(d = by_cred(sec, kind, value)))
		return MGW_E_UNKNOWN_DEVICE;
	ref_set(d, out);
	return MGW_OK;
}

int mgw_security_psk(struct mgw_security *sec, const char *identity, struct mgw_ue_ref *out,
		     uint8_t *key, size_t cap, size_t *len)
{
	const struct mgw_device *d;
	const uint8_t *k;
	size_t n;
	int rc;

	if (!sec || !identity || !key || !len) {
		rc = MGW_E_INVAL;
		goto out;
	}
	if (!(d = by_cred(sec, MGW_CRED_PSK_ID, identity)) || mgw_device_psk(d, &k, &n) != MGW_OK) {
		rc = MGW_E_UNKNOWN_DEVICE;
		goto out;
	}
	if (n > cap) {
		rc = MGW_E_TOO_BIG;
		goto out;
	}
	memcpy(key, k, n);
	*len = n;
	if (out)
		ref_set(d, out);
	rc = MGW_OK;
out:
	return rc;
}

const struct mgw_device *mgw_security_device(struct mgw_security *sec, const char *ue)
{
	return sec && ue ? mgw_registry_by_ue(mgw_security_registry(sec), ue) : NULL;
}

int mgw_security_ue_protection(struct mgw_security *sec, const char *ue)
{
	return mgw_device_protection(mgw_security_device(sec, ue));
}
