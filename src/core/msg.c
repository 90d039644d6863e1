/* msgin5g-gw: the canonical message (include/mgw/msg.h).
 *
 * A message is a talloc context ("struct mgw_msg"); its payload is a talloc child, so
 * freeing the message frees everything it owns, and talloc_steal() moves both at once.
 */
#include <string.h>
#include <talloc.h>

#include <mgw/err.h>
#include <mgw/msg.h>

struct mgw_msg *mgw_msg_alloc(void *ctx, enum mgw_msg_kind kind)
{
	struct mgw_msg *m = talloc_zero(ctx, struct mgw_msg);

	if (m)
		m->kind = kind;
	return m;
}

void mgw_msg_free(struct mgw_msg *m)
{
	talloc_free(m);
}

struct mgw_msg *mgw_msg_dup(void *ctx, const struct mgw_msg *m)
{
	struct mgw_msg *d;

	if (!m || !(d = talloc_zero(ctx, struct mgw_msg)))
		return NULL;
	*d = *m;
	d->payload = NULL;
	d->payload_len = 0;
	if (m->payload && mgw_msg_set_payload(d, m->payload, m->payload_len) != MGW_OK) {
		talloc_free(d);
		return NULL;
	}
	d->has_payload = m->has_payload;
	return d;
}

int mgw_msg_set_payload(struct mgw_msg *m, const void *p, size_t n)
{
	uint8_t *b;

	if (!m || (!p && n))
		return MGW_E_INVAL;
	if (n > MGW_PAYLOAD_HARD_MAX)
		return MGW_E_TOO_BIG;
	if (!(b = talloc_size(m, n + 1)))
		return MGW_E_NOMEM;
	talloc_set_name_const(b, "mgw_msg.payload");
	if (n)
		memcpy(b, p, n);
	b[n] = '\0';
	talloc_free(m->payload);
	m->payload = b;
	m->payload_len = n;
	m->has_payload = true;
	return MGW_OK;
}

int mgw_str_set(char *dst, size_t cap, const char *src)
{
	size_t n;

	if (!dst || !src || cap == 0)
		return MGW_E_INVAL;
	n = strlen(src);
	if (n >= cap)
		return MGW_E_TOO_BIG;
	memcpy(dst, src, n + 1);
	return MGW_OK;
}

/* ---- enum <-> wire name tables ---- */

static const char *const prio_names[] = {
	[MGW_PRIO_HIGH] = "HIGH",
	[MGW_PRIO_MIDDLE] = "MIDDLE",
	[MGW_PRIO_LOW] = "LOW",
};

static const char *const deliv_names[] = {
	[MGW_DELIV_SUCCESS] = "REPT_DELY_SUCCESS",
	[MGW_DELIV_FAILED] = "REPT_DELY_FAILED",
};

static const char *const ingress_names[] = {
	[MGW_IN_NONE] = "none", [MGW_IN_NORTH] = "north", [MGW_IN_SMS] = "sms",
	[MGW_IN_COAP] = "coap", [MGW_IN_MQTT] = "mqtt",	  [MGW_IN_TEST] = "test",
};

static const char *const dir_names[] = {
	[MGW_DIR_UPLINK] = "uplink",
	[MGW_DIR_DOWNLINK] = "downlink",
};

static const char *const prot_names[] = {
	[MGW_PROT_NONE] = "none",
	[MGW_PROT_JWS] = "jws",
	[MGW_PROT_JWE] = "jwe",
	[MGW_PROT_COSE] = "cose",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : NULL;
}

/* Index of s in names[], or 0 (the NONE value of every table above) if absent. */
static unsigned index_of(const char *const *names, size_t n, const char *s)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return (unsigned)i;
	return 0;
}

enum mgw_priority mgw_priority_parse(const char *s)
{
	return (enum mgw_priority)index_of(prio_names, ARRAY_LEN(prio_names), s);
}

const char *mgw_priority_name(enum mgw_priority p)
{
	return name_of(prio_names, ARRAY_LEN(prio_names), p);
}

/* Unknown non-empty values are an extension (MGW_DELIV_OTHER); the caller keeps the
 * wire string in deliv_st_name. */
enum mgw_deliv_st mgw_deliv_st_parse(const char *s)
{
	enum mgw_deliv_st st;

	if (!s || !*s)
		return MGW_DELIV_NONE;
	st = (enum mgw_deliv_st)index_of(deliv_names, ARRAY_LEN(deliv_names), s);
	return st == MGW_DELIV_NONE ? MGW_DELIV_OTHER : st;
}

const char *mgw_deliv_st_name(enum mgw_deliv_st s)
{
	return name_of(deliv_names, ARRAY_LEN(deliv_names), s);
}

const char *mgw_ingress_name(enum mgw_ingress i)
{
	const char *n = name_of(ingress_names, ARRAY_LEN(ingress_names), i);
	return n ? n : "unknown";
}

const char *mgw_dir_name(enum mgw_dir d)
{
	const char *n = name_of(dir_names, ARRAY_LEN(dir_names), d);
	return n ? n : "unknown";
}

const char *mgw_prot_name(enum mgw_prot p)
{
	const char *n = name_of(prot_names, ARRAY_LEN(prot_names), p);
	return n ? n : "unknown";
}

bool mgw_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint8_t lo = 0x80, hi = 0xBF;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			k = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			k = 2;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k = 3;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t j = 2; j <= k; j++)
			if ((s[i + j] & 0xC0) != 0x80)
				return false;
		i += k + 1;
	}
	return true;
}
