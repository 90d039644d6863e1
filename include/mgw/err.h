/* msgin5g-gw: one error space for every layer.
 *
 * Every function that can fail returns an int: MGW_OK (0) or one of the negative
 * causes below. Output parameters are written only on success. Each boundary
 * (HTTP, CoAP, SMPP, MQTT) maps these to its wire code in exactly one table.
 */
#ifndef MGW_ERR_H
#define MGW_ERR_H

enum mgw_err {
	MGW_OK = 0,
	MGW_E_NOMEM = -1,          /* allocation failed */
	MGW_E_INVAL = -2,          /* invalid argument (programmer or caller error) */
	MGW_E_MALFORMED = -3,      /* input is not well formed (JSON, YAML, PDU) */
	MGW_E_MISSING = -4,        /* a mandatory member is absent */
	MGW_E_TYPE = -5,           /* a member has the wrong type or value */
	MGW_E_TOO_BIG = -6,        /* input or member exceeds its limit */
	MGW_E_UNKNOWN_DEVICE = -7, /* the credential is not in the registry */
	MGW_E_BAD_CREDENTIAL = -8, /* the credential is known but did not verify */
	MGW_E_UNKNOWN_UE = -9,     /* no device is registered for this UE Service ID */
	MGW_E_POLICY = -10,        /* the policy forbids this */
	MGW_E_SPOOF = -11,         /* a device claimed another originator */
	MGW_E_REPLAY = -12,        /* seen before inside the replay window */
	MGW_E_DUPLICATE = -13,     /* (origin, msgId) already stored: not an error for the peer */
	MGW_E_STORE = -14,         /* the durable store failed */
	MGW_E_STORE_CORRUPT = -15, /* the database file is not a usable store */
	MGW_E_FULL = -16,          /* a queue or limit is at its high-water mark */
	MGW_E_PEER = -17,          /* the remote peer failed or refused */
	MGW_E_TIMEOUT = -18,       /* no answer in time */
	MGW_E_CONFIG = -19,        /* configuration error */
	MGW_E_IO = -20,            /* file or socket I/O failed */
	MGW_E_NOT_FOUND = -21,     /* lookup found nothing */
	MGW_E_EXPIRED = -22,       /* validity period passed */
	MGW_E_UNSUPPORTED = -23,   /* valid but not supported here */
	MGW_E_TLS = -24,           /* TLS/DTLS failure */
	MGW_E_AUTH = -25,          /* the caller is not authenticated */
	MGW_E_FORBIDDEN = -26,     /* the caller is authenticated but not authorised */
	MGW_E_CRYPTO = -27,        /* a protection check (signature, MAC, decryption) failed */
	MGW_E_INTERNAL = -28,      /* a bug: should never be returned */
};
#define MGW_E_LAST MGW_E_INTERNAL

/* Human-readable text, e.g. "payload too large". Never NULL. */
const char *mgw_strerror(int rc);
/* Stable machine-readable name, e.g. "TOO_BIG" (audit causes, tests). Never NULL. */
const char *mgw_errname(int rc);

/* A diagnostic that names where input went wrong: filled by parsers and the security
 * layer so that every reject can name its cause precisely. */
#define MGW_DIAG_WHERE_MAX 128
#define MGW_DIAG_TEXT_MAX 200
struct mgw_diag {
	int rc;                            /* the mgw_err */
	char where[MGW_DIAG_WHERE_MAX];    /* JSON pointer ("/oriAddr/addr"), key path, or "" */
	char text[MGW_DIAG_TEXT_MAX];      /* one line, no secrets, no payload */
};

/* Set diag (if not NULL) and return rc. printf-style text. */
int mgw_diag_set(struct mgw_diag *d, int rc, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void mgw_diag_clear(struct mgw_diag *d);

#endif
