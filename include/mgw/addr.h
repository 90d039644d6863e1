/* MSGin5G addresses (TS 29.538 Address: addrType + addr). */
#ifndef MGW_ADDR_H
#define MGW_ADDR_H

#include <stdbool.h>
#include <stddef.h>

/* Longest addr, msgId, appId, segId the gateway accepts (bytes, UTF-8). */
#define MGW_ID_MAX 256

enum mgw_addr_type {
	MGW_ADDR_NONE = 0, /* absent */
	MGW_ADDR_UE,
	MGW_ADDR_AS,
	MGW_ADDR_GROUP,
	MGW_ADDR_BC,
	MGW_ADDR_TOPIC,
	MGW_ADDR_OTHER, /* an extension value: kept verbatim in type_name */
};

#define MGW_ADDR_TYPE_NAME_MAX 32

struct mgw_addr {
	enum mgw_addr_type type;
	char type_name[MGW_ADDR_TYPE_NAME_MAX]; /* the wire string, always set when type != NONE */
	char addr[MGW_ID_MAX + 1];
};

/* "UE" -> MGW_ADDR_UE; unknown non-empty strings -> MGW_ADDR_OTHER (extensible enum). */
enum mgw_addr_type mgw_addr_type_parse(const char *s);
const char *mgw_addr_type_name(enum mgw_addr_type t); /* "UE" ...; "" for NONE/OTHER */

/* Build an address; MGW_E_TOO_BIG if addr is longer than MGW_ID_MAX, MGW_E_INVAL if empty
 * or t is NONE/OTHER (extension types come through mgw_addr_set_wire()). */
int mgw_addr_set(struct mgw_addr *a, enum mgw_addr_type t, const char *addr);
/* Build an address from the wire strings of TS 29.538 Address (addrType, addr): an unknown
 * non-empty type is kept as MGW_ADDR_OTHER with type_name. MGW_E_INVAL if either is empty,
 * MGW_E_TOO_BIG if type does not fit type_name or addr is longer than MGW_ID_MAX. */
int mgw_addr_set_wire(struct mgw_addr *a, const char *type, const char *addr);
/* Parse "TYPE:addr" (the registry's allow-list form), split at the first ':'.
 * MGW_E_MALFORMED without ':', otherwise as mgw_addr_set_wire(). */
int mgw_addr_parse(struct mgw_addr *a, const char *s);
/* Format "TYPE:addr" into buf; returns buf. */
char *mgw_addr_fmt(const struct mgw_addr *a, char *buf, size_t n);
bool mgw_addr_eq(const struct mgw_addr *a, const struct mgw_addr *b);

#endif
