/* north: a bounded, incremental HTTP/1.1 request parser. Private to src/north.
 *
 * Pure: no I/O, no allocation. The caller feeds whatever bytes arrived; the parser consumes
 * some of them and reports one event at a time. It never reads past `len` and keeps at most
 * HTTP1_MAX_HEAD bytes of the request head (request line, headers, chunked trailers) in
 * itself; body bytes are handed back as pointers into the caller's input and never copied.
 *
 * Framing (RFC 9112):
 * - Content-Length: digits only; repeated with different values is 400.
 * - Transfer-Encoding: "chunked" (optionally after "identity") is decoded here; any other
 *   coding is 501. Both Transfer-Encoding and Content-Length is 400 (request smuggling).
 *   Chunk extensions are ignored; trailers are read (within the head budget) and dropped.
 * - POST, PUT and PATCH with neither Content-Length nor chunked: 411.
 * - Body over max_body: the rest of the body is read and discarded (the connection stays
 *   usable) and HTTP1_DONE reports error 413; with Content-Length the 413 is already known
 *   at HTTP1_HEAD (too_big), so a caller may answer at once instead of reading the body.
 * - Expect: 100-continue sets expect_continue; the caller sends "100 Continue" (the parser
 *   does no I/O).
 * - keep_alive: HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "keep-alive".
 * - Empty lines before a request line are skipped; lines end in CRLF or a bare LF; obs-fold,
 *   bare CR, NUL and control characters in the head are 400.
 *
 * Errors (HTTP1_ERROR, p->error): 400 malformed, 411 length required, 431 head over
 * HTTP1_MAX_HEAD or more than HTTP1_MAX_HEADERS fields, 501 unknown transfer coding, 505
 * HTTP version not 1.x. head_ok tells whether method, path and the header fields are valid
 * (411 always; 400 from a broken chunked body), i.e. whether a request can be built. After
 * an error the parser stays in the error state: the connection must be closed after the
 * answer. After HTTP1_DONE call http1_reset() for the next request on the connection.
 */
#ifndef MGW_NORTH_HTTP1_H
#define MGW_NORTH_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_MAX_HEADERS 64
#define HTTP1_MAX_HEAD 8192
#define HTTP1_MAX_CHUNK_LINE 256 /* "hex-size;extensions" of one chunk */

enum http1_ev {
	HTTP1_MORE,  /* every byte given was consumed; feed more */
	HTTP1_HEAD,  /* the head is complete: method, path, hdr[] ... are valid */
	HTTP1_BODY,  /* chunk, chunk_len: decoded body bytes (pointers into the input) */
	HTTP1_DONE,  /* the request is complete (error is 0 or 413) */
	HTTP1_ERROR, /* error is set; stop reading */
};

struct http1_field {
	const char *name;  /* lowercased */
	const char *value; /* surrounding whitespace removed */
};

enum http1_state {
	H1S_HEAD,
	H1S_BODY_LEN,
	H1S_CHUNK_SIZE,
	H1S_CHUNK_DATA,
	H1S_CHUNK_CRLF,
	H1S_TRAILER,
	H1S_DONE,
	H1S_ERROR,
};

struct http1_parser {
	/* settings (kept by http1_reset) */
	size_t max_body;

	/* the request, valid from HTTP1_HEAD (or HTTP1_ERROR with head_ok) to http1_reset() */
	const char *method;
	const char *path;  /* the target without the query */
	const char *query; /* after '?', or NULL */
	int minor;         /* HTTP/1.<minor> */
	struct http1_field hdr[HTTP1_MAX_HEADERS];
	unsigned nhdr;
	bool has_length;
	uint64_t content_length;
	bool chunked;
	bool keep_alive;
	bool expect_continue;
	bool too_big;   /* the body is (or will be) over max_body: it is not delivered */
	bool head_ok;
	int error;      /* see above; 0 if none */
	uint64_t body_len; /* body bytes seen so far (delivered or discarded) */

	/* internal */
	enum http1_state state;
	uint64_t remain;   /* bytes left in the body or the current chunk */
	size_t head_len;   /* bytes in head[] */
	size_t line_start; /* start of the current line in head[] (trailers) */
	size_t chunk_line; /* bytes of the current chunk-size line */
	uint64_t chunk_size;
	bool chunk_ext;    /* inside chunk extensions */
	bool chunk_digits;
	bool cr;           /* a CR was seen at the end of the chunk-size line or after data */
	bool line_nonempty; /* trailer section: the current line has bytes */
	size_t skipped;    /* empty lines skipped before the request line */
	size_t trailer_len;
	char head[HTTP1_MAX_HEAD + 1];
};

/* Start a new connection. */
void http1_init(struct http1_parser *p, size_t max_body);
/* Forget the current request, keep the settings (keep-alive). */
void http1_reset(struct http1_parser *p);
/* Consume from in[0..len): *used is set to the bytes consumed (<= len). For HTTP1_BODY
 * *chunk and *chunk_len point into in. Calling again after HTTP1_DONE without http1_reset(),
 * or after HTTP1_ERROR, returns the same event and consumes nothing. */
enum http1_ev http1_parse(struct http1_parser *p, const uint8_t *in, size_t len, size_t *used,
			  const uint8_t **chunk, size_t *chunk_len);
/* Header value by name (case-insensitive), or NULL; the last one if repeated. */
const char *http1_header(const struct http1_parser *p, const char *name);

#endif
