/* Fuzz target: the HTTP/1.1 request parser (src/north/http1.c). The first byte picks the
 * size of the pieces the rest is fed in (1..256 bytes) and max_body, so that every split of
 * a head, a chunk line or a body across reads is tried; requests follow each other on one
 * "connection" (keep-alive) until an error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http1_parser p; /* 8 KiB: not on the stack of every call */
	size_t piece, off = 0, body = 0;

	if (size < 1)
		return 0;
	piece = (size_t)(data[0] & 0x7f) * 2 + 1;
	http1_init(&p, (data[0] & 0x80) ? 16 : 4096);
	data++;
	size--;
	while (off <= size) {
		size_t n = size - off < piece ? size - off : piece, used;
		const uint8_t *chunk;
		size_t clen;
		enum http1_ev ev = http1_parse(&p, data + off, n, &used, &chunk, &clen);

		if (used > n)
			abort();
		off += used;
		switch (ev) {
		case HTTP1_MORE:
			if (used != n)
				abort(); /* MORE consumes everything */
			if (off == size)
				return 0;
			break;
		case HTTP1_HEAD:
			if (!p.method || !p.path || !p.head_ok || p.nhdr > HTTP1_MAX_HEADERS)
				abort();
			if (http1_header(&p, "host") && !strlen(p.method))
				abort();
			body = 0;
			break;
		case HTTP1_BODY:
			if (chunk < data + off - used || chunk + clen > data + off || p.too_big)
				abort();
			body += clen;
			if (body > p.max_body)
				abort();
			break;
		case HTTP1_DONE:
			if (p.error != 0 && p.error != 413)
				abort();
			if (!p.error && p.has_length && !p.chunked && body != p.content_length)
				abort();
			http1_reset(&p);
			break;
		case HTTP1_ERROR:
			if (p.error < 400 || p.error > 505)
				abort();
			return 0;
		}
	}
	return 0;
}
