/* msgin5g-gw: error texts and names (include/mgw/err.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mgw/err.h>

static const struct {
	int rc;
	const char *name;
	const char *text;
} errs[] = {
	{ MGW_OK, "OK", "success" },
	{ MGW_E_NOMEM, "NOMEM", "out of memory" },
	{ MGW_E_INVAL, "INVAL", "invalid argument" },
	{ MGW_E_MALFORMED, "MALFORMED", "malformed input" },
	{ MGW_E_MISSING, "MISSING", "mandatory member missing" },
	{ MGW_E_TYPE, "TYPE", "member has a wrong type or value" },
	{ MGW_E_TOO_BIG, "TOO_BIG", "too large" },
	{ MGW_E_UNKNOWN_DEVICE, "UNKNOWN_DEVICE", "unknown device credential" },
	{ MGW_E_BAD_CREDENTIAL, "BAD_CREDENTIAL", "credential did not verify" },
	{ MGW_E_UNKNOWN_UE, "UNKNOWN_UE", "unknown UE Service ID" },
	{ MGW_E_POLICY, "POLICY", "denied by policy" },
	{ MGW_E_SPOOF, "SPOOF", "originator does not match the authenticated identity" },
	{ MGW_E_REPLAY, "REPLAY", "replayed message" },
	{ MGW_E_DUPLICATE, "DUPLICATE", "duplicate message (already stored)" },
	{ MGW_E_STORE, "STORE", "store failure" },
	{ MGW_E_STORE_CORRUPT, "STORE_CORRUPT", "store database is corrupt or not a msgin5g-gw store" },
	{ MGW_E_FULL, "FULL", "queue full" },
	{ MGW_E_PEER, "PEER", "peer failure" },
	{ MGW_E_TIMEOUT, "TIMEOUT", "timed out" },
	{ MGW_E_CONFIG, "CONFIG", "configuration error" },
	{ MGW_E_IO, "IO", "I/O error" },
	{ MGW_E_NOT_FOUND, "NOT_FOUND", "not found" },
	{ MGW_E_EXPIRED, "EXPIRED", "expired" },
	{ MGW_E_UNSUPPORTED, "UNSUPPORTED", "not supported" },
	{ MGW_E_TLS, "TLS", "TLS/DTLS failure" },
	{ MGW_E_AUTH, "AUTH", "not authenticated" },
	{ MGW_E_FORBIDDEN, "FORBIDDEN", "not authorised" },
	{ MGW_E_CRYPTO, "CRYPTO", "protection check failed" },
	{ MGW_E_INTERNAL, "INTERNAL", "internal error" },
};

static int find(int rc)
{
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (errs[i].rc == rc)
			return (int)i;
	return -1;
}

const char *mgw_strerror(int rc)
{
	int i = find(rc);
	return i < 0 ? "unknown error" : errs[i].text;
}

const char *mgw_errname(int rc)
{
	int i = find(rc);
	return i < 0 ? "UNKNOWN" : errs[i].name;
}

void mgw_diag_clear(struct mgw_diag *d)
{
	if (d)
		memset(d, 0, sizeof(*d));
}

int mgw_diag_set(struct mgw_diag *d, int rc, const char *where, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return rc;
	d->rc = rc;
	snprintf(d->where, sizeof(d->where), "%s", where ? where : "");
	va_start(ap, fmt);
	vsnprintf(d->text, sizeof(d->text), fmt, ap);
	va_end(ap);
	return rc;
}
