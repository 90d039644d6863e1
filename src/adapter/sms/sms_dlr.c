/* SMPP delivery receipts: the tolerant text parser and the state mapping (sms_dlr.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mgw/err.h>

#include "sms_dlr.h"

static const struct {
	const char *name;
	enum sms_dlr_state state;
} states[] = {
	{ "DELIVRD", SMS_DLR_DELIVERED }, { "DELIVERED", SMS_DLR_DELIVERED },
	{ "EXPIRED", SMS_DLR_EXPIRED },   { "DELETED", SMS_DLR_DELETED },
	{ "UNDELIV", SMS_DLR_UNDELIVERABLE }, { "UNDELIVERABLE", SMS_DLR_UNDELIVERABLE },
	{ "ACCEPTD", SMS_DLR_ACCEPTED },  { "ACCEPTED", SMS_DLR_ACCEPTED },
	{ "REJECTD", SMS_DLR_REJECTED },  { "REJECTED", SMS_DLR_REJECTED },
	{ "ENROUTE", SMS_DLR_ENROUTE },   { "UNKNOWN", SMS_DLR_UNKNOWN },
};

const char *sms_dlr_state_name(enum sms_dlr_state s)
{
	switch (s) {
	case SMS_DLR_ENROUTE: return "ENROUTE";
	case SMS_DLR_DELIVERED: return "DELIVRD";
	case SMS_DLR_EXPIRED: return "EXPIRED";
	case SMS_DLR_DELETED: return "DELETED";
	case SMS_DLR_UNDELIVERABLE: return "UNDELIV";
	case SMS_DLR_ACCEPTED: return "ACCEPTD";
	case SMS_DLR_REJECTED: return "REJECTD";
	default: return "UNKNOWN";
	}
}

enum sms_dlr_state sms_dlr_state_of_tlv(uint8_t v)
{
	static const enum sms_dlr_state map[] = {
		[1] = SMS_DLR_ENROUTE,       [2] = SMS_DLR_DELIVERED, [3] = SMS_DLR_EXPIRED,
		[4] = SMS_DLR_DELETED,       [5] = SMS_DLR_UNDELIVERABLE, [6] = SMS_DLR_ACCEPTED,
		[7] = SMS_DLR_UNKNOWN,       [8] = SMS_DLR_REJECTED,
	};

	return v < sizeof(map) / sizeof(map[0]) ? map[v] : SMS_DLR_UNKNOWN;
}

bool sms_dlr_final(enum sms_dlr_state s, bool *delivered)
{
	bool d = s == SMS_DLR_DELIVERED;

	if (delivered)
		*delivered = d;
	return s == SMS_DLR_DELIVERED || s == SMS_DLR_EXPIRED || s == SMS_DLR_DELETED ||
	       s == SMS_DLR_UNDELIVERABLE || s == SMS_DLR_REJECTED;
}

/* copy the value that starts at p (up to a space or the end) into dst, upper-cased if up */
static size_t take(const char *p, const char *end, char *dst, size_t cap, bool up)
{
	size_t n = 0;

	while (p + n < end && !isspace((unsigned char)p[n]))
		n++;
	if (cap) {
		size_t m = n < cap - 1 ? n : cap - 1;

		for (size_t i = 0; i < m; i++)
			dst[i] = up ? (char)toupper((unsigned char)p[i]) : p[i];
		dst[m] = '\0';
	}
	return n;
}

static unsigned small_uint(const char *s)
{
	unsigned v = 0;

	for (; isdigit((unsigned char)*s) && v < 100000; s++)
		v = v * 10 + (unsigned)(*s - '0');
	return v;
}

int sms_dlr_parse(const char *text, size_t len, struct sms_dlr *out)
{
	const char *p = text, *end = text + len;
	char tmp[32];

	if (!out)
		return MGW_E_INVAL;
	memset(out, 0, sizeof(*out));
	if (!text)
		return MGW_E_MALFORMED;
	while (p < end) {
		const char *k, *colon;
		size_t klen;

		while (p < end && isspace((unsigned char)*p))
			p++;
		k = p;
		colon = memchr(p, ':', (size_t)(end - p));
		if (!colon)
			break;
		/* the key is the last word before the colon ("submit date" -> "date"; words
		 * without a colon before it are skipped) */
		for (const char *q = colon; q > k; q--)
			if (isspace((unsigned char)q[-1])) {
				k = q;
				break;
			}
		klen = (size_t)(colon - k);
		p = colon + 1;
		while (p < end && *p == ' ')
			p++;
		if (klen == 4 && strncasecmp(k, "text", 4) == 0)
			break; /* the rest is the message's first characters: no keys in it */
		if (klen == 2 && strncasecmp(k, "id", 2) == 0) {
			p += take(p, end, out->id, sizeof(out->id), false);
			out->has_id = out->id[0] != '\0';
		} else if (klen == 4 && strncasecmp(k, "stat", 4) == 0) {
			p += take(p, end, out->stat, sizeof(out->stat), true);
			out->state = SMS_DLR_UNKNOWN;
			for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
				if (strcmp(out->stat, states[i].name) == 0)
					out->state = states[i].state;
		} else if (klen == 3 && strncasecmp(k, "err", 3) == 0) {
			p += take(p, end, out->err, sizeof(out->err), false);
		} else if (klen == 3 && strncasecmp(k, "sub", 3) == 0) {
			p += take(p, end, tmp, sizeof(tmp), false);
			out->sub = small_uint(tmp);
		} else if (klen == 5 && strncasecmp(k, "dlvrd", 5) == 0) {
			p += take(p, end, tmp, sizeof(tmp), false);
			out->dlvrd = small_uint(tmp);
		} else {
			/* "submit date", "done date" and anything else: skip the value */
			p += take(p, end, NULL, 0, false);
		}
	}
	return out->has_id ? MGW_OK : MGW_E_MALFORMED;
}

/* the value of s in base (16 or 10), false if s is not all such digits or overflows */
static bool num(const char *s, int base, unsigned long long *v)
{
	unsigned long long x = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		int d;

		if (isdigit((unsigned char)*s))
			d = *s - '0';
		else if (base == 16 && isxdigit((unsigned char)*s))
			d = tolower((unsigned char)*s) - 'a' + 10;
		else
			return false;
		if (x > (~0ULL - (unsigned long long)d) / (unsigned long long)base)
			return false;
		x = x * (unsigned long long)base + (unsigned long long)d;
	}
	*v = x;
	return true;
}

bool sms_dlr_id_match(const char *a, const char *b)
{
	unsigned long long x, y;

	if (!a || !b || !*a || !*b)
		return false;
	if (strcasecmp(a, b) == 0)
		return true;
	if (num(a, 10, &x) && num(b, 10, &y) && x == y)
		return true;
	if (num(a, 16, &x) && num(b, 10, &y) && x == y)
		return true;
	if (num(a, 10, &x) && num(b, 16, &y) && x == y)
		return true;
	return num(a, 16, &x) && num(b, 16, &y) && x == y;
}
