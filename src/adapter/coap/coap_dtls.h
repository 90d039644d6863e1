/* The DTLS bytes the gate reads and writes (coap_gate.c): pure functions over bounded input,
 * no I/O (fuzzed by tests/fuzz/fuzz_dtls_hello.c). RFC 6347 4.1 (record) and 4.2 (handshake). */
#ifndef MGW_COAP_DTLS_H
#define MGW_COAP_DTLS_H

#include <stddef.h>
#include <stdint.h>

#define DTLS_COOKIE_MAX 255
/* a HelloVerifyRequest with a cookie of clen bytes: record, handshake header, version, len */
#define DTLS_VERIFY_LEN(clen) (13 + 12 + 3 + (size_t)(clen))

enum dtls_hello_kind {
	DTLS_NO_HELLO,  /* libcoap 4.3.1 makes no session for it */
	DTLS_HELLO_ODD, /* libcoap would make one (bytes 0 and 13), but it is no whole epoch-0
			 * ClientHello: fragmented, epoch > 0, truncated */
	DTLS_HELLO,     /* an epoch-0 ClientHello; its cookie (maybe empty) found */
};

struct dtls_hello {
	const uint8_t *cookie; /* inside the datagram */
	size_t cookie_len;
	uint8_t rec_seq[6]; /* its record sequence number, which the HelloVerifyRequest echoes */
};

/* What the datagram b[0..n) is; out is set for DTLS_HELLO only. */
enum dtls_hello_kind dtls_hello_parse(const uint8_t *b, size_t n, struct dtls_hello *out);

/* The HelloVerifyRequest answering hello with cookie[0..clen) into out: its length, or 0 when
 * outlen is below DTLS_VERIFY_LEN(clen) or clen over DTLS_COOKIE_MAX. Version DTLS 1.0 as
 * RFC 6347 4.2.1 asks, the ClientHello's record sequence number, message_seq 0. */
size_t dtls_verify_request(const struct dtls_hello *hello, const uint8_t *cookie, size_t clen,
			   uint8_t *out, size_t outlen);

#endif
