/* CoAP adapter: the DTLS bytes the gate reads and writes (coap_dtls.h). */
#include <string.h>

#include "coap_dtls.h"

#define REC_HDR 13 /* type, version, epoch, sequence number, length */
#define HS_HDR 12  /* type, length, message_seq, fragment_offset, fragment_length */
#define CT_HANDSHAKE 22
#define HT_CLIENT_HELLO 1
#define HT_HELLO_VERIFY 3

enum dtls_hello_kind dtls_hello_parse(const uint8_t *b, size_t n, struct dtls_hello *out)
{
	size_t o = REC_HDR + HS_HDR + 2 + 32; /* client_version, random: at session_id */
	size_t cookie_at;

	/* what coap_endpoint_get_session() checks before it makes a HELLO session */
	if (n <= REC_HDR || b[0] != CT_HANDSHAKE || b[REC_HDR] != HT_CLIENT_HELLO)
		return DTLS_NO_HELLO;
	/* epoch 0, a first fragment (fragment_offset 0), session_id in the datagram */
	if (b[3] || b[4] || n < o + 2 || b[REC_HDR + 6] || b[REC_HDR + 7] || b[REC_HDR + 8])
		return DTLS_HELLO_ODD;
	cookie_at = o + 1 + b[o];
	if (cookie_at >= n || cookie_at + 1 + b[cookie_at] > n)
		return DTLS_HELLO_ODD;
	out->cookie_len = b[cookie_at];
	out->cookie = b + cookie_at + 1;
	memcpy(out->rec_seq, b + 5, sizeof(out->rec_seq));
	return DTLS_HELLO;
}

static void put24(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

size_t dtls_verify_request(const struct dtls_hello *hello, const uint8_t *cookie, size_t clen,
			   uint8_t *out, size_t outlen)
{
	size_t body = 3 + clen, len = DTLS_VERIFY_LEN(clen);

	if (clen > DTLS_COOKIE_MAX || outlen < len)
		return 0;
	out[0] = CT_HANDSHAKE;
	out[1] = 0xfe; /* DTLS 1.0 */
	out[2] = 0xff;
	out[3] = out[4] = 0; /* epoch 0 */
	memcpy(out + 5, hello->rec_seq, sizeof(hello->rec_seq));
	out[11] = (uint8_t)((HS_HDR + body) >> 8);
	out[12] = (uint8_t)(HS_HDR + body);
	out[REC_HDR] = HT_HELLO_VERIFY;
	put24(out + REC_HDR + 1, body);
	out[REC_HDR + 4] = out[REC_HDR + 5] = 0; /* message_seq 0 */
	put24(out + REC_HDR + 6, 0);              /* fragment_offset */
	put24(out + REC_HDR + 9, body);           /* fragment_length */
	out[REC_HDR + HS_HDR] = 0xfe;
	out[REC_HDR + HS_HDR + 1] = 0xff;
	out[REC_HDR + HS_HDR + 2] = (uint8_t)clen;
	memcpy(out + REC_HDR + HS_HDR + 3, cookie, clen);
	return len;
}
