/* msgin5g-gw: MSGin5G addresses (include/mgw/addr.h).
 *
 * AddressType is an extensible enumeration (TS 29.538 9.1.5.2.3): a value this version
 * does not know is kept verbatim as MGW_ADDR_OTHER + type_name, never rejected.
 */
#include <stdio.h>
#include <string.h>

#include <mgw/addr.h>
#include <mgw/err.h>

static const char *const type_names[] = {
	[MGW_ADDR_UE] = "UE",
	[MGW_ADDR_AS] = "AS",
	[MGW_ADDR_GROUP] = "GROUP",
	[MGW_ADDR_BC] = "BC",
	[MGW_ADDR_TOPIC] = "TOPIC",
};
#define N_TYPE_NAMES (sizeof(type_names) / sizeof(type_names[0]))

enum mgw_addr_type mgw_addr_type_parse(const char *s)
{
	if (!s || !*s)
		return MGW_ADDR_NONE;
	for (size_t i = 0; i < N_TYPE_NAMES; i++)
		if (type_names[i] && strcmp(type_names[i], s) == 0)
			return (enum mgw_addr_type)i;
	return MGW_ADDR_OTHER;
}

const char *mgw_addr_type_name(enum mgw_addr_type t)
{
	if ((size_t)t >= N_TYPE_NAMES || !type_names[t])
		return "";
	return type_names[t];
}

/* Copy s (length n) into dst[cap] with a NUL; MGW_E_TOO_BIG if it does not fit. */
static int copy_bounded(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return MGW_E_TOO_BIG;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return MGW_OK;
}

/* Fill a from a type string and an address (both of known length); a is written only
 * on success. */
static int addr_fill(struct mgw_addr *a, const char *type, size_t tn, const char *addr,
		     size_t an)
{
	struct mgw_addr tmp;
	int rc;

	memset(&tmp, 0, sizeof(tmp));
	if (tn == 0 || an == 0 || memchr(type, '\0', tn) || memchr(addr, '\0', an)) {
		rc = MGW_E_INVAL;
		goto out;
	}
	if ((rc = copy_bounded(tmp.type_name, sizeof(tmp.type_name), type, tn)) != MGW_OK)
		goto out;
	if ((rc = copy_bounded(tmp.addr, sizeof(tmp.addr), addr, an)) != MGW_OK)
		goto out;
	tmp.type = mgw_addr_type_parse(tmp.type_name);
	*a = tmp;
	rc = MGW_OK;
out:
	return rc;
}

int mgw_addr_set(struct mgw_addr *a, enum mgw_addr_type t, const char *addr)
{
	const char *name = mgw_addr_type_name(t);

	if (!a || !addr || !*name)
		return MGW_E_INVAL;
	return addr_fill(a, name, strlen(name), addr, strlen(addr));
}

int mgw_addr_set_wire(struct mgw_addr *a, const char *type, const char *addr)
{
	if (!a || !type || !addr)
		return MGW_E_INVAL;
	return addr_fill(a, type, strlen(type), addr, strlen(addr));
}

int mgw_addr_parse(struct mgw_addr *a, const char *s)
{
	const char *colon;

	if (!a || !s)
		return MGW_E_INVAL;
	if (!(colon = strchr(s, ':')))
		return MGW_E_MALFORMED;
	/* the address may itself contain ':' ("AS:urn:x"): split at the first one */
	return addr_fill(a, s, (size_t)(colon - s), colon + 1, strlen(colon + 1));
}

char *mgw_addr_fmt(const struct mgw_addr *a, char *buf, size_t n)
{
	if (!buf || n == 0)
		return buf;
	if (!a || a->type == MGW_ADDR_NONE) {
		buf[0] = '\0';
		return buf;
	}
	snprintf(buf, n, "%s:%s", a->type == MGW_ADDR_OTHER ? a->type_name
							     : mgw_addr_type_name(a->type), a->addr);
	return buf;
}

bool mgw_addr_eq(const struct mgw_addr *a, const struct mgw_addr *b)
{
	if (!a || !b || a->type != b->type)
		return false;
	if (a->type == MGW_ADDR_OTHER && strcmp(a->type_name, b->type_name) != 0)
		return false;
	return strcmp(a->addr, b->addr) == 0;
}
