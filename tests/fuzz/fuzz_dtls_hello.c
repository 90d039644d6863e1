/* Fuzz target: the DTLS ClientHello the CoAP gate reads and the HelloVerifyRequest it writes
 * (src/adapter/coap/coap_dtls.c). Input: one datagram. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coap_dtls.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t cookie[16] = "0123456789abcdef";
	uint8_t out[DTLS_VERIFY_LEN(sizeof(cookie))];
	struct dtls_hello h, h2;
	size_t n;

	if (dtls_hello_parse(data, size, &h) != DTLS_HELLO)
		return 0;
	/* the cookie lies inside the datagram */
	if (h.cookie < data || h.cookie_len > DTLS_COOKIE_MAX ||
	    (size_t)(h.cookie - data) + h.cookie_len > size)
		abort();
	if (dtls_verify_request(&h, cookie, sizeof(cookie), out, sizeof(out) - 1) != 0)
		abort(); /* too small a buffer is refused */
	n = dtls_verify_request(&h, cookie, sizeof(cookie), out, sizeof(out));
	if (n != sizeof(out) || memcmp(out + 5, data + 5, 6) != 0 ||
	    memcmp(out + n - sizeof(cookie), cookie, sizeof(cookie)) != 0)
		abort();
	/* a HelloVerifyRequest is nothing libcoap would make a session for */
	if (dtls_hello_parse(out, n, &h2) != DTLS_NO_HELLO)
		abort();
	return 0;
}
