/* north: the bounded, incremental HTTP/1.1 request parser (see http1.h). No I/O. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "http1.h"

#define MAX_LENGTH ((uint64_t)1 << 62) /* Content-Length and chunk sizes above are 400 */

void http1_init(struct http1_parser *p, size_t max_body)
{
	memset(p, 0, offsetof(struct http1_parser, head));
	p->head[0] = '\0';
	p->max_body = max_body;
}

void http1_reset(struct http1_parser *p)
{
	http1_init(p, p->max_body);
}

const char *http1_header(const struct http1_parser *p, const char *name)
{
	const char *v = NULL;

	for (unsigned i = 0; i < p->nhdr; i++)
		if (strcasecmp(p->hdr[i].name, name) == 0)
			v = p->hdr[i].value;
	return v;
}

/* RFC 9110 tchar */
static int is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static int is_hex(unsigned char c, unsigned *v)
{
	if (c >= '0' && c <= '9')
		*v = c - '0';
	else if (c >= 'a' && c <= 'f')
		*v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		*v = c - 'A' + 10;
	else
		return 0;
	return 1;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Next comma-separated token of a list value, whitespace trimmed; *s advances. Returns its
 * length (0 for an empty element), or -1 at the end. */
static int list_next(const char **s, const char **tok)
{
	const char *b = *s, *e;

	if (!*b)
		return -1;
	while (is_ows(*b))
		b++;
	e = b;
	while (*e && *e != ',')
		e++;
	*s = *e ? e + 1 : e;
	*tok = b;
	while (e > b && is_ows(e[-1]))
		e--;
	return (int)(e - b);
}

static int tok_is(const char *tok, int n, const char *word)
{
	return (size_t)n == strlen(word) && strncasecmp(tok, word, (size_t)n) == 0;
}

static int parse_length(const char *v, uint64_t *out)
{
	uint64_t n = 0;

	if (!*v)
		return -1;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return -1;
		n = n * 10 + (uint64_t)(*v - '0');
		if (n > MAX_LENGTH)
			return -1;
	}
	*out = n;
	return 0;
}

/* The framing fields; returns 0 or an HTTP error status. */
static int parse_framing(struct http1_parser *p)
{
	bool close = false, ka = false, te = false;

	for (unsigned i = 0; i < p->nhdr; i++) {
		const char *n = p->hdr[i].name, *v = p->hdr[i].value, *tok;
		int len;

		if (strcmp(n, "content-length") == 0) {
			uint64_t cl;

			if (parse_length(v, &cl) != 0 || (p->has_length && cl != p->content_length))
				return 400;
			p->has_length = true;
			p->content_length = cl;
		} else if (strcmp(n, "transfer-encoding") == 0) {
			te = true;
			while ((len = list_next(&v, &tok)) >= 0) {
				if (len == 0)
					continue;
				if (p->chunked)
					return 400; /* chunked must be the final coding */
				if (tok_is(tok, len, "chunked"))
					p->chunked = true;
				else if (!tok_is(tok, len, "identity"))
					return 501;
			}
		} else if (strcmp(n, "connection") == 0) {
			while ((len = list_next(&v, &tok)) >= 0) {
				if (tok_is(tok, len, "close"))
					close = true;
				else if (tok_is(tok, len, "keep-alive"))
					ka = true;
			}
		} else if (strcmp(n, "expect") == 0) {
			if (strcasecmp(v, "100-continue") == 0)
				p->expect_continue = true;
		}
	}
	if (te && (p->minor == 0 || p->has_length))
		return 400;
	if (te && !p->chunked) /* "identity" alone: no body framing at all */
		return 501;
	p->keep_alive = !close && (p->minor >= 1 || ka);
	return 0;
}

/* Split off the next line of head[] at *pos (NUL-terminated in place, CR removed).
 * Returns the line or NULL at the end; *bad set for a bare CR. */
static char *next_line(struct http1_parser *p, size_t *pos, bool *bad)
{
	char *l = p->head + *pos;
	size_t i = *pos;

	if (i >= p->head_len)
		return NULL;
	while (i < p->head_len && p->head[i] != '\n')
		i++;
	/* head[] always ends with '\n' (the empty line), so i < head_len here */
	p->head[i] = '\0';
	if (i > *pos && p->head[i - 1] == '\r')
		p->head[i - 1] = '\0';
	if (strchr(l, '\r'))
		*bad = true;
	*pos = i + 1;
	return l;
}

static int parse_request_line(struct http1_parser *p, char *l)
{
	char *sp1, *sp2, *q;

	for (sp1 = l; is_tchar((unsigned char)*sp1); sp1++)
		;
	if (sp1 == l || *sp1 != ' ')
		return 400;
	*sp1 = '\0';
	for (sp2 = sp1 + 1; (unsigned char)*sp2 > 0x20 && (unsigned char)*sp2 < 0x7f; sp2++)
		;
	if (sp2 == sp1 + 1 || *sp2 != ' ')
		return 400;
	*sp2 = '\0';
	if (strncmp(sp2 + 1, "HTTP/", 5) != 0)
		return 400;
	if (strlen(sp2 + 1) != 8 || sp2[7] != '.' || sp2[6] < '0' || sp2[6] > '9' ||
	    sp2[8] < '0' || sp2[8] > '9')
		return 400;
	if (sp2[6] != '1')
		return 505;
	p->minor = sp2[8] - '0';
	p->method = l;
	if (sp1[1] != '/' && strcmp(sp1 + 1, "*") != 0)
		return 400; /* origin-form only (and "*") */
	if ((q = strchr(sp1 + 1, '?'))) {
		*q = '\0';
		p->query = q + 1;
	}
	p->path = sp1 + 1;
	return 0;
}

static int parse_field(struct http1_parser *p, char *l)
{
	char *c, *v, *e;

	if (is_ows(*l))
		return 400; /* obs-fold */
	for (c = l; is_tchar((unsigned char)*c); c++)
		*c = lower(*c);
	if (c == l || *c != ':')
		return 400;
	*c = '\0';
	for (v = c + 1; is_ows(*v); v++)
		;
	for (e = v; *e; e++)
		if ((unsigned char)*e < 0x20 && *e != '\t')
			return 400;
		else if (*e == 0x7f)
			return 400;
	while (e > v && is_ows(e[-1]))
		e--;
	*e = '\0';
	if (p->nhdr >= HTTP1_MAX_HEADERS)
		return 431;
	p->hdr[p->nhdr].name = l;
	p->hdr[p->nhdr].value = v;
	p->nhdr++;
	return 0;
}

/* The whole head is in head[0..head_len). Returns 0 or an HTTP error status. */
static int parse_head(struct http1_parser *p)
{
	size_t pos = 0;
	bool bad = false;
	char *l;
	int err;

	l = next_line(p, &pos, &bad);
	if (!l || bad)
		return 400;
	if ((err = parse_request_line(p, l)) != 0)
		return err;
	while ((l = next_line(p, &pos, &bad)) && *l) {
		if (bad)
			return 400;
		if ((err = parse_field(p, l)) != 0)
			return err;
	}
	if (bad)
		return 400;
	return parse_framing(p);
}

static enum http1_ev fail(struct http1_parser *p, int status)
{
	p->error = status;
	p->state = H1S_ERROR;
	return HTTP1_ERROR;
}

static int is_post_like(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

static enum http1_ev head_byte(struct http1_parser *p, uint8_t c)
{
	int err;

	if (c == '\0')
		return fail(p, 400);
	if (p->head_len == 0 && (c == '\n' || c == '\r')) {
		/* empty lines before the request line (RFC 9112 2.2) */
		if (++p->skipped > HTTP1_MAX_HEAD)
			return fail(p, 400);
		return HTTP1_MORE;
	}
	if (p->head_len >= HTTP1_MAX_HEAD)
		return fail(p, 431);
	p->head[p->head_len++] = (char)c;
	if (c != '\n')
		return HTTP1_MORE;
	{
		size_t ll = p->head_len - 1 - p->line_start; /* line length without '\n' */

		if (ll > 0 && p->head[p->head_len - 2] == '\r')
			ll--;
		p->line_start = p->head_len;
		if (ll > 0)
			return HTTP1_MORE;
	}
	/* the empty line: the head is complete */
	p->head[p->head_len] = '\0';
	if ((err = parse_head(p)) != 0)
		return fail(p, err);
	p->head_ok = true;
	if (!p->has_length && !p->chunked && is_post_like(p->method))
		return fail(p, 411);
	if (p->chunked) {
		p->state = H1S_CHUNK_SIZE;
	} else if (p->has_length && p->content_length > 0) {
		p->state = H1S_BODY_LEN;
		p->remain = p->content_length;
		p->too_big = p->content_length > p->max_body;
	} else {
		p->state = H1S_DONE;
	}
	return HTTP1_HEAD;
}

static enum http1_ev done(struct http1_parser *p)
{
	p->state = H1S_DONE;
	p->error = p->too_big ? 413 : 0;
	return HTTP1_DONE;
}

/* Body bytes of a known length (Content-Length or one chunk). */
static enum http1_ev body_bytes(struct http1_parser *p, const uint8_t *in, size_t len, size_t *used,
				const uint8_t **chunk, size_t *chunk_len)
{
	size_t n = len;

	if ((uint64_t)n > p->remain)
		n = (size_t)p->remain;
	p->remain -= n;
	p->body_len += n;
	*used = n;
	if (p->body_len > p->max_body)
		p->too_big = true;
	if (p->remain == 0) {
		if (p->state == H1S_BODY_LEN)
			p->state = H1S_DONE;
		else
			p->state = H1S_CHUNK_CRLF, p->cr = false;
	}
	if (n > 0 && !p->too_big) {
		*chunk = in;
		*chunk_len = n;
		return HTTP1_BODY;
	}
	if (p->state == H1S_DONE)
		return done(p);
	return HTTP1_MORE;
}

/* One byte of "hex-size [BWS] [;ext] CRLF". line_nonempty means "the digits ended". */
static enum http1_ev chunk_size_byte(struct http1_parser *p, uint8_t c)
{
	unsigned v;

	if (++p->chunk_line > HTTP1_MAX_CHUNK_LINE)
		return fail(p, 400);
	if (p->cr && c != '\n')
		return fail(p, 400);
	if (c == '\r') {
		p->cr = true;
		return HTTP1_MORE;
	}
	if (c == '\n') {
		if (!p->chunk_digits)
			return fail(p, 400);
		p->chunk_line = 0;
		p->chunk_digits = false;
		p->chunk_ext = false;
		p->line_nonempty = false;
		p->cr = false;
		if (p->chunk_size == 0) {
			p->state = H1S_TRAILER;
			return HTTP1_MORE;
		}
		p->state = H1S_CHUNK_DATA;
		p->remain = p->chunk_size;
		p->chunk_size = 0;
		/* known before any of it is delivered: no partial body over the limit */
		if (p->remain > p->max_body - (p->body_len < p->max_body ? p->body_len : p->max_body))
			p->too_big = true;
		return HTTP1_MORE;
	}
	if (p->chunk_ext) {
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(p, 400);
		return HTTP1_MORE;
	}
	if (!p->chunk_digits)
		return is_hex(c, &v) ? (p->chunk_digits = true, p->chunk_size = v, HTTP1_MORE)
				     : fail(p, 400);
	if (c == ';') {
		p->chunk_ext = true;
		return HTTP1_MORE;
	}
	if (is_ows((char)c)) {
		p->line_nonempty = true;
		return HTTP1_MORE;
	}
	if (p->line_nonempty || !is_hex(c, &v))
		return fail(p, 400);
	p->chunk_size = p->chunk_size * 16 + v;
	if (p->chunk_size > MAX_LENGTH)
		return fail(p, 400);
	return HTTP1_MORE;
}

enum http1_ev http1_parse(struct http1_parser *p, const uint8_t *in, size_t len, size_t *used,
			  const uint8_t **chunk, size_t *chunk_len)
{
	enum http1_ev ev = HTTP1_MORE;
	size_t i = 0, u;

	*used = 0;
	*chunk = NULL;
	*chunk_len = 0;
	if (p->state == H1S_DONE)
		return HTTP1_DONE;
	if (p->state == H1S_ERROR)
		return HTTP1_ERROR;
	while (i < len && ev == HTTP1_MORE) {
		uint8_t c;

		if (p->state == H1S_BODY_LEN || p->state == H1S_CHUNK_DATA) {
			ev = body_bytes(p, in + i, len - i, &u, chunk, chunk_len);
			i += u;
			continue;
		}
		c = in[i++];
		switch (p->state) {
		case H1S_HEAD:
			ev = head_byte(p, c);
			break;
		case H1S_CHUNK_SIZE:
			ev = chunk_size_byte(p, c);
			break;
		case H1S_CHUNK_CRLF:
			if (c == '\r' && !p->cr)
				p->cr = true;
			else if (c == '\n')
				p->state = H1S_CHUNK_SIZE, p->cr = false;
			else
				ev = fail(p, 400);
			break;
		case H1S_TRAILER:
			if (++p->trailer_len > HTTP1_MAX_HEAD) {
				ev = fail(p, 400);
			} else if (c == '\n') {
				if (!p->line_nonempty)
					ev = done(p);
				p->line_nonempty = false;
			} else if (c != '\r') {
				p->line_nonempty = true;
			}
			break;
		default:
			ev = fail(p, 400);
			break;
		}
	}
	*used = i;
	return ev;
}
