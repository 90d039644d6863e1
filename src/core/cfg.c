/* msgin5g-gw: YAML configuration engine (include/mgw/cfg.h).
 *
 * Two steps. First libyaml's event API builds a small node tree (mapping, sequence,
 * scalar) that keeps each node's 1-based line:column; anchors and aliases are refused
 * (no billion laughs), nesting is limited to CFG_MAX_DEPTH, the input to CFG_MAX_BYTES
 * and the tree to CFG_MAX_NODES. Then the tree is walked against the schema tables and
 * the values are stored by offset; each key path seen is recorded with its mark.
 * After the whole typed pass, every filled section's check() runs, children before
 * parents.
 *
 * Marks in messages: a bad value points at the value, an unknown or duplicate key at the
 * key, a missing key at the mapping that lacks it.
 *
 * Position lookup for check(): while check() functions run, the thread-local `cur_load`
 * points at the load in progress, whose table maps key paths to marks; mgw_cfg_errf()
 * looks paths up there (falling back to the nearest recorded ancestor). It is the only
 * mutable global state here and is NULL outside check(). Called outside a load,
 * mgw_cfg_errf() writes "path: text".
 *
 * Nothing is written to the caller's obj/out unless the load succeeds: the struct is
 * filled in a scratch copy, and every allocation made under ctx is tracked so that it
 * can be freed again on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <talloc.h>
#include <yaml.h>

#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/log.h>

#define CFG_MAX_DEPTH 32
#define CFG_MAX_BYTES (8u * 1024 * 1024)
#define CFG_MAX_NODES (1u << 20)
#define CFG_STR_MAX 4096
#define CFG_SHOW_MAX 48 /* bytes of a bad value echoed in a message */

enum node_kind { N_SCALAR, N_MAP, N_SEQ };

struct node {
	enum node_kind kind;
	bool null; /* a plain "", "~", "null" scalar */
	unsigned line, col;
	char *s; /* scalar text (NUL-terminated; may contain NULs: see len) */
	size_t len;
	struct node **kids; /* MAP: key, value, key, value...; SEQ: items */
	size_t n, cap;
	struct node *parent;
};

struct mark {
	unsigned line, col; /* 1-based; line 0: unknown */
};

struct pathmark {
	const char *path;
	struct mark m;
};

struct pending_check {
	const struct mgw_cfg_schema *s;
	void *obj;
	const char *path;
};

struct load {
	void *ctx;  /* the caller's: every value is allocated under it */
	void *tmp;  /* this load's scratch memory */
	const char *name;
	const char *dir; /* prefix for relative paths ("" or ".../") */
	struct mgw_cfg_err *err;
	bool in_default; /* converting an item's def: errors are programmer errors */
	size_t nodes;

	void **allocs; /* under ctx: freed again if the load fails */
	size_t nallocs;

	struct pathmark *marks;
	size_t nmarks;

	struct pending_check *checks;
	size_t nchecks;

	const char *secret; /* the first secret key path written in the file, or NULL */
	const struct stat *st; /* the file's, or NULL (text in memory) */
};

static _Thread_local const struct load *cur_load;

/* ---------------------------------------------------------------- messages */

static void put_msg(struct mgw_cfg_err *err, const char *name, const struct mark *m,
		    const char *path, const char *text)
{
	char where[64] = "";

	if (m && m->line)
		snprintf(where, sizeof(where), ":%u:%u", m->line, m->col);
	if (path && path[0])
		snprintf(err->msg, sizeof(err->msg), "%s%s: %s: %s", name, where, path, text);
	else
		snprintf(err->msg, sizeof(err->msg), "%s%s: %s", name, where, text);
}

static int fail(struct load *L, const struct mark *m, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct load *L, const struct mark *m, const char *path, const char *fmt, ...)
{
	char text[400];
	int off = 0;
	va_list ap;

	if (L->in_default)
		off = snprintf(text, sizeof(text), "BUG: invalid schema default: ");
	va_start(ap, fmt);
	vsnprintf(text + off, sizeof(text) - (size_t)off, fmt, ap);
	va_end(ap);
	put_msg(L->err, L->name, m, path, text);
	return -1;
}

static int nomem(struct load *L)
{
	snprintf(L->err->msg, sizeof(L->err->msg), "%s: out of memory", L->name);
	return -1;
}

/* User text in a message: quoted, control bytes escaped, long values cut. */
static const char *show(struct load *L, const char *s, size_t len)
{
	char buf[CFG_SHOW_MAX * 4 + 8];
	size_t o = 0;

	buf[o++] = '\'';
	for (size_t i = 0; i < len && i < CFG_SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (len > CFG_SHOW_MAX) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return talloc_strdup(L->tmp, buf);
}

static const char *show_node(struct load *L, const struct mgw_cfg_item *it, const struct node *n)
{
	if (it && (it->flags & MGW_CFG_F_SECRET))
		return "the value";
	return show(L, n->s, n->len);
}

static const char *kind_name(const struct node *n)
{
	if (n->kind == N_MAP)
		return "a mapping";
	if (n->kind == N_SEQ)
		return "a sequence";
	return n->null ? "null" : "a string";
}

static struct mark mark_of(const struct node *n)
{
	struct mark m = { n->line, n->col };
	return m;
}

/* ---------------------------------------------------------------- the node tree */

static bool plain_null(const char *s, size_t len)
{
	return len == 0 || (len == 1 && s[0] == '~') || (len == 4 && (!strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL")));
}

static int add_kid(struct node *p, struct node *k)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4;
		struct node **v = talloc_realloc(p, p->kids, struct node *, cap);

		if (!v)
			return -1;
		p->kids = v;
		p->cap = cap;
	}
	p->kids[p->n++] = k;
	k->parent = p;
	return 0;
}

static void syntax_error(struct mgw_cfg_err *err, const char *name, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unknown error";
	struct mark m = { (unsigned)p->problem_mark.line + 1, (unsigned)p->problem_mark.column + 1 };
	char text[400];

	if (p->error == YAML_READER_ERROR) {
		snprintf(text, sizeof(text), "syntax error: %s at byte %zu", problem,
			 p->problem_offset);
		put_msg(err, name, NULL, NULL, text);
		return;
	}
	if (p->context)
		snprintf(text, sizeof(text), "syntax error: %s (%s at %u:%u)", problem, p->context,
			 (unsigned)p->context_mark.line + 1, (unsigned)p->context_mark.column + 1);
	else
		snprintf(text, sizeof(text), "syntax error: %s", problem);
	put_msg(err, name, &m, NULL, text);
}

/* Parse buf into a tree under L->tmp. *root is NULL for a stream without a document.
 * Messages use `name`. */
static int build_tree(struct load *L, const char *name, const char *buf, size_t len,
		      struct node **root)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct node *cur = NULL, *top = NULL;
	unsigned depth = 0, docs = 0;
	bool done = false, have_ev = false;
	int rc = -1;

	*root = NULL;
	if (!yaml_parser_initialize(&p))
		return nomem(L);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done) {
		struct node *n = NULL;
		struct mark m;
		const yaml_char_t *anchor = NULL;

		if (!yaml_parser_parse(&p, &ev)) {
			syntax_error(L->err, name, &p);
			goto out;
		}
		have_ev = true;
		m.line = (unsigned)ev.start_mark.line + 1;
		m.col = (unsigned)ev.start_mark.column + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				put_msg(L->err, name, &m, NULL, "only one document is allowed");
				goto out;
			}
			break;
		case YAML_ALIAS_EVENT:
			put_msg(L->err, name, &m, NULL, "anchors and aliases are not supported");
			goto out;
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			/* fall through */
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (ev.type == YAML_SEQUENCE_START_EVENT)
				anchor = ev.data.sequence_start.anchor;
			else if (ev.type == YAML_MAPPING_START_EVENT)
				anchor = ev.data.mapping_start.anchor;
			if (anchor) {
				put_msg(L->err, name, &m, NULL, "anchors and aliases are not supported");
				goto out;
			}
			if (++L->nodes > CFG_MAX_NODES) {
				put_msg(L->err, name, &m, NULL, "too many nodes");
				goto out;
			}
			if (!(n = talloc_zero(L->tmp, struct node))) {
				nomem(L);
				goto out;
			}
			n->line = m.line;
			n->col = m.col;
			if (ev.type == YAML_SCALAR_EVENT) {
				n->kind = N_SCALAR;
				n->len = ev.data.scalar.length;
				n->s = talloc_size(n, n->len + 1);
				if (!n->s) {
					nomem(L);
					goto out;
				}
				memcpy(n->s, ev.data.scalar.value, n->len);
				n->s[n->len] = '\0';
				n->null = ev.data.scalar.tag
						  ? !strcmp((const char *)ev.data.scalar.tag,
							    YAML_NULL_TAG)
						  : ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
							    plain_null(n->s, n->len);
			} else {
				n->kind = ev.type == YAML_MAPPING_START_EVENT ? N_MAP : N_SEQ;
				if (++depth > CFG_MAX_DEPTH) {
					put_msg(L->err, name, &m, NULL,
						"nesting is deeper than 32 levels");
					goto out;
				}
			}
			if (cur) {
				if (add_kid(cur, n) < 0) {
					nomem(L);
					goto out;
				}
			} else {
				top = n;
			}
			if (n->kind != N_SCALAR)
				cur = n;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			cur = cur ? cur->parent : NULL;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		have_ev = false;
	}
	*root = top;
	rc = 0;
out:
	if (have_ev)
		yaml_event_delete(&ev);
	yaml_parser_delete(&p);
	return rc;
}

/* ---------------------------------------------------------------- bookkeeping */

/* Append room in a talloc array under L->tmp for element n. The capacity is implicit:
 * 8, then doubled whenever n reaches a power of two (n appends cost O(n)). */
static void *grow(struct load *L, void *v, size_t elem, size_t n)
{
	if (n && (n < 8 || (n & (n - 1))))
		return v;
	return talloc_realloc_size(L->tmp, v, elem * (n ? n * 2 : 8));
}

static void *track(struct load *L, void *p)
{
	void **v;

	if (!p)
		return NULL;
	if (!(v = grow(L, L->allocs, sizeof(*v), L->nallocs))) {
		talloc_free(p);
		return NULL;
	}
	L->allocs = v;
	L->allocs[L->nallocs++] = p;
	return p;
}

static void untrack_all(struct load *L)
{
	while (L->nallocs)
		talloc_free(L->allocs[--L->nallocs]);
}

static int record(struct load *L, const char *path, struct mark m)
{
	struct pathmark *v = grow(L, L->marks, sizeof(*v), L->nmarks);

	if (!v)
		return nomem(L);
	L->marks = v;
	L->marks[L->nmarks].path = path;
	L->marks[L->nmarks].m = m;
	L->nmarks++;
	return 0;
}

static int queue_check(struct load *L, const struct mgw_cfg_schema *s, void *obj,
		       const char *path)
{
	struct pending_check *v;

	if (!s->check)
		return 0;
	if (!(v = grow(L, L->checks, sizeof(*v), L->nchecks)))
		return nomem(L);
	L->checks = v;
	L->checks[L->nchecks].s = s;
	L->checks[L->nchecks].obj = obj;
	L->checks[L->nchecks].path = path;
	L->nchecks++;
	return 0;
}

static const char *join(struct load *L, const char *path, const char *key)
{
	return path[0] ? talloc_asprintf(L->tmp, "%s.%s", path, key) : talloc_strdup(L->tmp, key);
}

/* ---------------------------------------------------------------- scalars */

static const char *expected(const struct mgw_cfg_item *it)
{
	switch (it->type) {
	case MGW_CFG_STR:
		return "a string";
	case MGW_CFG_PATH:
		return "a path";
	case MGW_CFG_INT:
		return "an integer";
	case MGW_CFG_BOOL:
		return "a boolean";
	case MGW_CFG_ENUM:
		return "a string";
	case MGW_CFG_DURATION:
		return "a duration";
	case MGW_CFG_SIZE:
		return "a size";
	case MGW_CFG_SECTION:
		return "a mapping";
	case MGW_CFG_LIST:
	case MGW_CFG_STRLIST:
		return "a sequence";
	}
	return "a value";
}

/* Unsigned decimal prefix: the value and where it stops. -1 on overflow or no digit. */
static int parse_digits(const char *s, int64_t *v, const char **end)
{
	int64_t r = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (r > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		r = r * 10 + (*p - '0');
	}
	*v = r;
	*end = p;
	return 0;
}

static const struct {
	const char *unit;
	int64_t mul;
} dur_units[] = {
	{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
}, size_units[] = {
	{ "GiB", 1073741824 }, { "MiB", 1048576 }, { "KiB", 1024 }, { "", 1 },
};

static int parse_scaled(const char *s, size_t len, bool size, int64_t *out)
{
	const char *end;
	int64_t v, mul = -1;

	if (strlen(s) != len || parse_digits(s, &v, &end) < 0)
		return -1;
	if (!*end) {
		mul = size ? 1 : 1000; /* a bare duration is in seconds */
	} else if (size) {
		if (!strcasecmp(end, "k") || !strcasecmp(end, "kib"))
			mul = 1024;
		else if (!strcasecmp(end, "m") || !strcasecmp(end, "mib"))
			mul = 1048576;
		else if (!strcasecmp(end, "g") || !strcasecmp(end, "gib"))
			mul = 1073741824;
	} else {
		for (size_t i = 0; i < sizeof(dur_units) / sizeof(dur_units[0]); i++)
			if (!strcmp(end, dur_units[i].unit))
				mul = dur_units[i].mul;
	}
	if (mul < 0)
		return -1;
	if (v > INT64_MAX / mul)
		return -2;
	*out = v * mul;
	return 0;
}

/* "30s", "64KiB": the largest unit that divides v exactly. */
static void fmt_scaled(char *buf, size_t sz, int64_t v, bool size)
{
	if (size) {
		for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++)
			if (v % size_units[i].mul == 0 && (v || !size_units[i].unit[0])) {
				snprintf(buf, sz, "%" PRId64 "%s", v / size_units[i].mul,
					 size_units[i].unit);
				return;
			}
	}
	for (size_t i = 0; i < sizeof(dur_units) / sizeof(dur_units[0]); i++)
		if (v && v % dur_units[i].mul == 0) {
			snprintf(buf, sz, "%" PRId64 "%s", v / dur_units[i].mul, dur_units[i].unit);
			return;
		}
	snprintf(buf, sz, "%" PRId64 "ms", v);
}

static bool has_range(const struct mgw_cfg_item *it)
{
	return it->min != 0 || it->max != 0;
}

static int parse_int(struct load *L, const struct mgw_cfg_item *it, const struct node *v,
		     const struct mark *m, const char *path, int64_t *out)
{
	const char *p = v->s;
	char *end = NULL;
	long long r;

	if ((*p == '-' || *p == '+') && p[1] >= '0' && p[1] <= '9')
		p++;
	if (*p < '0' || *p > '9' || strlen(v->s) != v->len)
		return fail(L, m, path, "%s is not an integer", show_node(L, it, v));
	errno = 0;
	r = strtoll(v->s, &end, 10);
	if (*end)
		return fail(L, m, path, "%s is not an integer", show_node(L, it, v));
	if (errno == ERANGE) {
		if (has_range(it))
			return fail(L, m, path, "%s is out of range %" PRId64 "..%" PRId64,
				    show_node(L, it, v), it->min, it->max);
		return fail(L, m, path, "%s is out of range", show_node(L, it, v));
	}
	if (has_range(it) && (r < it->min || r > it->max)) {
		if (it->flags & MGW_CFG_F_SECRET)
			return fail(L, m, path, "the value is out of range %" PRId64 "..%" PRId64,
				    it->min, it->max);
		return fail(L, m, path, "%lld is out of range %" PRId64 "..%" PRId64, r, it->min,
			    it->max);
	}
	*out = r;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const t[] = { "true", "yes", "on" }, *const f[] = { "false", "no", "off" };

	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(s, t[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, f[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static char *enum_list(struct load *L, const char *const *e)
{
	char *s = talloc_strdup(L->tmp, "");

	for (size_t i = 0; s && e[i]; i++)
		s = talloc_asprintf_append(s, "%s%s", i ? "|" : "", e[i]);
	return s;
}

/* The directory part of p ("." if none, "/" for "/x"). */
static char *dir_of(void *mem, const char *p)
{
	const char *slash = strrchr(p, '/');

	if (!slash)
		return talloc_strdup(mem, ".");
	if (slash == p)
		return talloc_strdup(mem, "/");
	return talloc_strndup(mem, p, (size_t)(slash - p));
}

static int check_path(struct load *L, const struct mgw_cfg_item *it, const char *p,
		      const struct mark *m, const char *path)
{
	struct stat st;

	if (it->flags & MGW_CFG_F_READABLE) {
		int fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		int e;

		if (fd < 0)
			return fail(L, m, path, "cannot read %s: %s", show(L, p, strlen(p)),
				    strerror(errno));
		e = fstat(fd, &st) < 0 ? errno : 0;
		close(fd);
		if (e)
			return fail(L, m, path, "cannot read %s: %s", show(L, p, strlen(p)),
				    strerror(e));
		if (!S_ISREG(st.st_mode))
			return fail(L, m, path, "%s is not a regular file", show(L, p, strlen(p)));
	}
	if (it->flags & MGW_CFG_F_NEWFILE) {
		char *d = dir_of(L->tmp, p);

		if (!d)
			return nomem(L);
		if (stat(d, &st) < 0)
			return fail(L, m, path, "cannot create %s: directory %s: %s",
				    show(L, p, strlen(p)), show(L, d, strlen(d)), strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return fail(L, m, path, "cannot create %s: %s is not a directory",
				    show(L, p, strlen(p)), show(L, d, strlen(d)));
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			return fail(L, m, path, "%s is a directory", show(L, p, strlen(p)));
	}
	if (it->flags & MGW_CFG_F_DIR) {
		if (stat(p, &st) < 0) {
			if (errno != ENOENT)
				return fail(L, m, path, "cannot access %s: %s",
					    show(L, p, strlen(p)), strerror(errno));
		} else if (!S_ISDIR(st.st_mode)) {
			return fail(L, m, path, "%s is not a directory", show(L, p, strlen(p)));
		}
	}
	return 0;
}

/* A string for STR/PATH/STRLIST: not null, no NUL byte, not too long. */
static int check_str(struct load *L, const struct mgw_cfg_item *it, const struct node *v,
		     const struct mark *m, const char *path)
{
	size_t max = it->max > 0 ? (size_t)it->max : CFG_STR_MAX;

	if (v->kind != N_SCALAR || v->null)
		return fail(L, m, path, "expected a string, got %s", kind_name(v));
	if (strlen(v->s) != v->len)
		return fail(L, m, path, "the string contains a NUL byte");
	if (v->len > max)
		return fail(L, m, path, "the string is longer than %zu bytes", max);
	return 0;
}

/* ---------------------------------------------------------------- the walk */

static int fill_section(struct load *L, const struct mgw_cfg_schema *s, void *obj,
			const struct node *map, struct mark at, const char *path);

static int fill_list(struct load *L, const struct mgw_cfg_schema *sub, const struct node *seq,
		     const char *path, struct mgw_cfg_list *out)
{
	char *v = NULL;

	if (!sub || !sub->size)
		return fail(L, NULL, path, "BUG: list without element schema");
	if (seq->n) {
		v = track(L, talloc_zero_size(L->ctx, seq->n * sub->size));
		if (!v)
			return nomem(L);
		talloc_set_name_const(v, sub->name ? sub->name : "mgw_cfg_list");
	}
	for (size_t i = 0; i < seq->n; i++) {
		const struct node *e = seq->kids[i];
		const char *p = talloc_asprintf(L->tmp, "%s[%zu]", path, i);

		if (!p)
			return nomem(L);
		if (e->kind != N_MAP && !(e->kind == N_SCALAR && e->null)) {
			struct mark m = mark_of(e);
			return fail(L, &m, p, "expected a mapping, got %s", kind_name(e));
		}
		if (fill_section(L, sub, v + i * sub->size, e->kind == N_MAP ? e : NULL,
				 mark_of(e), p) < 0)
			return -1;
	}
	out->n = seq->n;
	out->v = v;
	return 0;
}

/* Store node v (or a parsed default) for item it into obj. */
/* The mapping a MGW_CFG_F_SHORT scalar stands for: { <first item's key>: <scalar> }, both
 * nodes at the scalar's position, so that messages point at what was written. */
static const struct node *short_form(struct load *L, const struct mgw_cfg_item *it,
				     const struct node *v)
{
	struct node *map = talloc_zero(L->tmp, struct node);
	struct node *k = talloc_zero(L->tmp, struct node);

	if (!map || !k || !it->sub->items || !it->sub->items[0].key ||
	    !(k->s = talloc_strdup(L->tmp, it->sub->items[0].key)) ||
	    !(map->kids = talloc_array(L->tmp, struct node *, 2)))
		return NULL;
	k->kind = N_SCALAR;
	k->len = strlen(k->s);
	k->line = map->line = v->line;
	k->col = map->col = v->col;
	map->kind = N_MAP;
	map->kids[0] = k;
	map->kids[1] = (struct node *)v;
	map->n = map->cap = 2;
	return map;
}

static int set_item(struct load *L, const struct mgw_cfg_item *it, void *obj,
		    const struct node *v, struct mark m, const char *path)
{
	char *dst = (char *)obj + it->offset;
	bool scalar = v->kind == N_SCALAR && !v->null;

	switch (it->type) {
	case MGW_CFG_STR:
	case MGW_CFG_PATH: {
		char *s;

		if (check_str(L, it, v, &m, path) < 0)
			return -1;
		if (it->type == MGW_CFG_STR) {
			s = talloc_strdup(L->ctx, v->s);
		} else {
			if (!v->len)
				return fail(L, &m, path, "the path is empty");
			s = v->s[0] == '/' ? talloc_strdup(L->ctx, v->s)
					   : talloc_asprintf(L->ctx, "%s%s", L->dir, v->s);
		}
		if (!track(L, s))
			return nomem(L);
		if (it->type == MGW_CFG_PATH) {
			bool def = L->in_default;

			L->in_default = false; /* a missing file is not a programmer error */
			if (check_path(L, it, s, &m, path) < 0)
				return -1;
			L->in_default = def;
		}
		memcpy(dst, &s, sizeof(s));
		return 0;
	}
	case MGW_CFG_INT: {
		int64_t r = 0;

		if (!scalar)
			return fail(L, &m, path, "expected an integer, got %s", kind_name(v));
		if (parse_int(L, it, v, &m, path, &r) < 0)
			return -1;
		memcpy(dst, &r, sizeof(r));
		return 0;
	}
	case MGW_CFG_BOOL: {
		bool b = false;

		if (!scalar)
			return fail(L, &m, path, "expected a boolean, got %s", kind_name(v));
		if (strlen(v->s) != v->len || parse_bool(v->s, &b) < 0)
			return fail(L, &m, path, "%s is not a boolean (true|false|yes|no|on|off)",
				    show_node(L, it, v));
		memcpy(dst, &b, sizeof(b));
		return 0;
	}
	case MGW_CFG_ENUM: {
		const char *list;

		if (!it->enums)
			return fail(L, &m, path, "BUG: enum without values");
		if (!(list = enum_list(L, it->enums)))
			return nomem(L);
		if (!scalar)
			return fail(L, &m, path, "expected one of %s, got %s", list, kind_name(v));
		for (int i = 0; it->enums[i]; i++) {
			if (strlen(v->s) == v->len && !strcmp(v->s, it->enums[i])) {
				memcpy(dst, &i, sizeof(i));
				return 0;
			}
		}
		return fail(L, &m, path, "%s is not one of %s", show_node(L, it, v), list);
	}
	case MGW_CFG_DURATION:
	case MGW_CFG_SIZE: {
		bool size = it->type == MGW_CFG_SIZE;
		int64_t r = 0;
		int rc;

		if (!scalar)
			return fail(L, &m, path, "expected %s, got %s", expected(it), kind_name(v));
		rc = parse_scaled(v->s, v->len, size, &r);
		if (rc == -1)
			return fail(L, &m, path, size ? "%s is not a size (e.g. 2048, 64k, 1MiB)"
						       : "%s is not a duration (e.g. 250ms, 30s, 5m, 2h, 1d)",
				    show_node(L, it, v));
		if (rc < 0 || (has_range(it) && (r < it->min || r > it->max))) {
			char lo[32], hi[32];

			if (!has_range(it))
				return fail(L, &m, path, "%s is too large", show_node(L, it, v));
			fmt_scaled(lo, sizeof(lo), it->min, size);
			fmt_scaled(hi, sizeof(hi), it->max, size);
			return fail(L, &m, path, "%s is out of range %s..%s", show_node(L, it, v), lo,
				    hi);
		}
		memcpy(dst, &r, sizeof(r));
		return 0;
	}
	case MGW_CFG_SECTION: {
		void *sec;

		if (!it->sub || !it->sub->size)
			return fail(L, &m, path, "BUG: section without schema");
		if ((it->flags & MGW_CFG_F_SHORT) && scalar && !(v = short_form(L, it, v)))
			return nomem(L);
		if (v->kind != N_MAP && !(v->kind == N_SCALAR && v->null))
			return fail(L, &m, path, "expected %s, got %s",
				    (it->flags & MGW_CFG_F_SHORT) ? "a scalar or a mapping"
								  : "a mapping",
				    kind_name(v));
		if (!(sec = track(L, talloc_zero_size(L->ctx, it->sub->size))))
			return nomem(L);
		talloc_set_name_const(sec, it->sub->name ? it->sub->name : it->key);
		if (fill_section(L, it->sub, sec, v->kind == N_MAP ? v : NULL, m, path) < 0)
			return -1;
		memcpy(dst, &sec, sizeof(sec));
		return 0;
	}
	case MGW_CFG_LIST: {
		struct mgw_cfg_list l = { 0, NULL };

		if (v->kind != N_SEQ)
			return fail(L, &m, path, "expected a sequence, got %s", kind_name(v));
		if (fill_list(L, it->sub, v, path, &l) < 0)
			return -1;
		memcpy(dst, &l, sizeof(l));
		return 0;
	}
	case MGW_CFG_STRLIST: {
		struct mgw_cfg_strlist l = { 0, NULL };

		if (v->kind != N_SEQ)
			return fail(L, &m, path, "expected a sequence, got %s", kind_name(v));
		if (v->n && !(l.v = track(L, talloc_zero_array(L->ctx, char *, v->n))))
			return nomem(L);
		for (size_t i = 0; i < v->n; i++) {
			const struct node *e = v->kids[i];
			const char *p = talloc_asprintf(L->tmp, "%s[%zu]", path, i);
			struct mark em = L->in_default ? m : mark_of(e);

			if (!p)
				return nomem(L);
			if (check_str(L, it, e, &em, p) < 0)
				return -1;
			if (!(l.v[i] = talloc_strdup(l.v, e->s)))
				return nomem(L);
			if (!L->in_default && record(L, p, em) < 0)
				return -1;
		}
		l.n = v->n;
		memcpy(dst, &l, sizeof(l));
		return 0;
	}
	}
	return fail(L, &m, path, "BUG: unknown item type %d", (int)it->type);
}

static int set_default(struct load *L, const struct mgw_cfg_item *it, void *obj, struct mark at,
		       const char *path)
{
	struct node *root;
	struct mgw_cfg_err sub;
	struct mgw_cfg_err *saved = L->err;
	int rc;

	L->err = &sub;
	rc = build_tree(L, it->key, it->def, strlen(it->def), &root);
	L->err = saved;
	if (rc < 0)
		return fail(L, &at, path, "BUG: invalid schema default '%s': %s", it->def, sub.msg);
	if (!root)
		return fail(L, &at, path, "BUG: invalid schema default: empty");
	L->in_default = true;
	rc = set_item(L, it, obj, root, at, path);
	L->in_default = false;
	return rc;
}

static const struct mgw_cfg_item *find_item(const struct mgw_cfg_schema *s, const char *key)
{
	for (const struct mgw_cfg_item *it = s->items; it && it->key; it++)
		if (!strcmp(it->key, key))
			return it;
	return NULL;
}

static int unknown_key(struct load *L, const struct mgw_cfg_schema *s, const struct node *k,
		       const char *path)
{
	char *known = talloc_strdup(L->tmp, "");
	struct mark m = mark_of(k);
	const char *p;

	for (const struct mgw_cfg_item *it = s->items; known && it && it->key; it++)
		known = talloc_asprintf_append(known, "%s%s", it == s->items ? "" : ", ", it->key);
	if (!known)
		return nomem(L);
	/* the unknown key is user text: show it escaped */
	if (strlen(k->s) == k->len && k->len <= CFG_SHOW_MAX &&
	    strspn(k->s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == k->len)
		p = join(L, path, k->s);
	else
		p = join(L, path, show(L, k->s, k->len));
	if (!p)
		return nomem(L);
	return fail(L, &m, p, "unknown key (known: %s)", known);
}

/* map is NULL for a present but empty section; at is where the section starts. */
static int fill_section(struct load *L, const struct mgw_cfg_schema *s, void *obj,
			const struct node *map, struct mark at, const char *path)
{
	size_t nkeys = map ? map->n / 2 : 0;
	const struct mgw_cfg_item **seen = NULL;
	int rc = -1;

	if (record(L, path, at) < 0)
		return -1;
	if (nkeys && !(seen = talloc_zero_array(L->tmp, const struct mgw_cfg_item *, nkeys)))
		return nomem(L);
	for (size_t i = 0; i < nkeys; i++) {
		const struct node *k = map->kids[2 * i], *v = map->kids[2 * i + 1];
		const struct mgw_cfg_item *it;
		struct mark km = mark_of(k), vm = mark_of(v);
		const char *p;

		if (k->kind != N_SCALAR || k->null || strlen(k->s) != k->len) {
			fail(L, &km, path, "keys must be strings");
			goto out;
		}
		if (!(it = find_item(s, k->s))) {
			unknown_key(L, s, k, path);
			goto out;
		}
		if (!(p = join(L, path, it->key))) {
			nomem(L);
			goto out;
		}
		for (size_t j = 0; j < i; j++) {
			if (seen[j] == it) {
				const struct node *first = map->kids[2 * j];

				fail(L, &km, p, "duplicate key (first at %u:%u)", first->line,
				     first->col);
				goto out;
			}
		}
		seen[i] = it;
		if ((it->flags & MGW_CFG_F_SECRET) && !L->secret)
			L->secret = p;
		if (record(L, p, vm) < 0 || set_item(L, it, obj, v, vm, p) < 0)
			goto out;
	}
	for (const struct mgw_cfg_item *it = s->items; it && it->key; it++) {
		bool present = false;
		const char *p;

		for (size_t i = 0; i < nkeys && !present; i++)
			present = seen[i] == it;
		if (present)
			continue;
		if (!(p = join(L, path, it->key))) {
			nomem(L);
			goto out;
		}
		if (it->flags & MGW_CFG_F_REQUIRED) {
			fail(L, &at, p, "missing required key");
			goto out;
		}
		if (!it->def)
			continue;
		if (record(L, p, at) < 0 || set_default(L, it, obj, at, p) < 0)
			goto out;
	}
	/* queued after its subsections: checks run bottom-up */
	rc = queue_check(L, s, obj, path);
out:
	talloc_free(seen);
	return rc;
}

static int run_checks(struct load *L)
{
	int rc = 0;

	cur_load = L;
	for (size_t i = 0; i < L->nchecks && !rc; i++) {
		const struct pending_check *c = &L->checks[i];

		L->err->msg[0] = '\0';
		if (c->s->check(c->obj, c->path, L->err) != 0) {
			if (!L->err->msg[0])
				put_msg(L->err, L->name, NULL, c->path, "invalid section");
			rc = -1;
		}
	}
	cur_load = NULL;
	return rc;
}

/* ---------------------------------------------------------------- entry points */

static int load_init(struct load *L, void *ctx, const char *name, struct mgw_cfg_err *err)
{
	const char *slash;

	memset(L, 0, sizeof(*L));
	L->ctx = ctx;
	L->err = err;
	L->name = name ? name : "<config>";
	err->msg[0] = '\0';
	if (!(L->tmp = talloc_named_const(NULL, 0, "mgw_cfg_load")))
		return nomem(L);
	slash = strrchr(L->name, '/');
	L->dir = slash ? talloc_strndup(L->tmp, L->name, (size_t)(slash - L->name + 1)) : "";
	if (!L->dir)
		return nomem(L);
	return 0;
}

static int load_tree(struct load *L, const char *buf, size_t len, bool list, struct node **root)
{
	if (len > CFG_MAX_BYTES)
		return fail(L, NULL, NULL, "larger than %u bytes", CFG_MAX_BYTES);
	if (build_tree(L, L->name, buf, len, root) < 0)
		return -1;
	if (!*root || ((*root)->kind == N_SCALAR && (*root)->null))
		return fail(L, NULL, NULL, "the configuration is empty");
	if ((*root)->kind != (list ? N_SEQ : N_MAP)) {
		struct mark m = mark_of(*root);
		return fail(L, &m, NULL, "expected %s at the top level, got %s",
			    list ? "a sequence" : "a mapping", kind_name(*root));
	}
	return 0;
}

static int load_done(struct load *L, int rc)
{
	if (rc < 0) {
		untrack_all(L);
		if (!L->err->msg[0])
			nomem(L);
		LOGP(DCFG, MGW_LOGL_DEBUG, "%s", L->err->msg);
	}
	talloc_free(L->tmp);
	return rc < 0 ? -1 : 0;
}

/* A file that holds a secret (an item flagged MGW_CFG_F_SECRET was written in it) must
 * be private: checked after the typed pass, when it is known whether it holds one. A file
 * without secrets (a registry of MSISDNs and MQTT usernames) may be readable by others. */
static int secret_mode(struct load *L)
{
	char what[160];

	if (!L->st || !L->secret)
		return 0;
	snprintf(what, sizeof(what), "its secrets (%s)", L->secret);
	return mgw_cfg_file_mode(L->name, (unsigned)L->st->st_mode, MGW_CFG_SECRET_FORBID, what,
				 L->err);
}

static int load_map(void *ctx, const char *name, const char *buf, size_t len,
		    const struct stat *st, const struct mgw_cfg_schema *schema, void *obj,
		    struct mgw_cfg_err *err)
{
	struct load L;
	struct node *root;
	void *scratch = NULL;
	int rc = -1;

	if (load_init(&L, ctx, name, err) < 0)
		goto out;
	L.st = st;
	if (load_tree(&L, buf, len, false, &root) < 0)
		goto out;
	if (!(scratch = talloc_zero_size(L.tmp, schema->size ? schema->size : 1))) {
		nomem(&L);
		goto out;
	}
	if (fill_section(&L, schema, scratch, root, mark_of(root), "") < 0 || run_checks(&L) < 0 ||
	    secret_mode(&L) < 0)
		goto out;
	memcpy(obj, scratch, schema->size);
	rc = 0;
out:
	return load_done(&L, rc);
}

int mgw_cfg_load_buf(void *ctx, const char *name, const char *buf, size_t len,
		     const struct mgw_cfg_schema *schema, void *obj, struct mgw_cfg_err *err)
{
	return load_map(ctx, name, buf, len, NULL, schema, obj, err);
}

static int load_list(void *ctx, const char *name, const char *buf, size_t len,
		     const struct stat *st, const struct mgw_cfg_schema *elem,
		     struct mgw_cfg_list *out, struct mgw_cfg_err *err)
{
	struct load L;
	struct node *root;
	struct mgw_cfg_list l = { 0, NULL };
	int rc = -1;

	if (load_init(&L, ctx, name, err) < 0)
		goto out;
	L.st = st;
	if (load_tree(&L, buf, len, true, &root) < 0)
		goto out;
	if (record(&L, "", mark_of(root)) < 0 || fill_list(&L, elem, root, "", &l) < 0 ||
	    run_checks(&L) < 0 || secret_mode(&L) < 0)
		goto out;
	*out = l;
	rc = 0;
out:
	return load_done(&L, rc);
}

int mgw_cfg_load_list_buf(void *ctx, const char *name, const char *buf, size_t len,
			  const struct mgw_cfg_schema *elem, struct mgw_cfg_list *out,
			  struct mgw_cfg_err *err)
{
	return load_list(ctx, name, buf, len, NULL, elem, out, err);
}

/* Read a whole (bounded) file into memory under mem. */
static int read_file(const char *file, void *mem, char **buf, size_t *len, struct stat *stp,
		     struct mgw_cfg_err *err)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char *b = NULL;
	size_t n = 0;
	int rc = -1;

	if (fd < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot open: %s", file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err->msg, sizeof(err->msg), "%s: not a regular file", file);
		goto out;
	}
	if (!(b = talloc_size(mem, CFG_MAX_BYTES + 1))) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", file);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, b + n, CFG_MAX_BYTES + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", file,
				 strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > CFG_MAX_BYTES) {
			snprintf(err->msg, sizeof(err->msg), "%s: larger than %u bytes", file,
				 CFG_MAX_BYTES);
			goto out;
		}
	}
	*buf = b;
	*len = n;
	*stp = st;
	b = NULL;
	rc = 0;
out:
	talloc_free(b);
	close(fd);
	return rc;
}

int mgw_cfg_load(void *ctx, const char *file, const struct mgw_cfg_schema *schema, void *obj,
		 struct mgw_cfg_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int rc;

	err->msg[0] = '\0';
	if (read_file(file, NULL, &buf, &len, &st, err) < 0)
		return -1;
	rc = load_map(ctx, file, buf, len, &st, schema, obj, err);
	talloc_free(buf);
	return rc;
}

int mgw_cfg_load_list(void *ctx, const char *file, const struct mgw_cfg_schema *elem,
		      struct mgw_cfg_list *out, struct mgw_cfg_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int rc;

	err->msg[0] = '\0';
	if (read_file(file, NULL, &buf, &len, &st, err) < 0)
		return -1;
	rc = load_list(ctx, file, buf, len, &st, elem, out, err);
	talloc_free(buf);
	return rc;
}

/* ---------------------------------------------------------------- mgw_cfg_file_mode */

static const char *mode_who(unsigned bits)
{
	if ((bits & 070) && (bits & 007))
		return "the group and others";
	return (bits & 070) ? "the group" : "others";
}

static const char *mode_verb(unsigned bits)
{
	if (bits & 044)
		return (bits & 022) ? "read and change" : "read";
	return (bits & 022) ? "change" : "access";
}

int mgw_cfg_file_mode(const char *file, unsigned mode, unsigned forbid, const char *what,
		      struct mgw_cfg_err *err)
{
	unsigned bad = mode & forbid & 0777;

	if (!bad)
		return 0;
	if (!err)
		return -1;
	/* the fix suggested is the smallest one: the same mode without the forbidden bits */
	snprintf(err->msg, sizeof(err->msg), "%s: mode %04o lets %s %s %s: refused (chmod %o %s)",
		 file, mode & 07777, mode_who(bad), mode_verb(bad), what ? what : "it",
		 mode & 0777 & ~forbid, file);
	return -1;
}

/* ---------------------------------------------------------------- mgw_cfg_errf */

void mgw_cfg_errf(struct mgw_cfg_err *err, const void *obj, const char *path, const char *fmt,
		  ...)
{
	const struct load *L = cur_load;
	const struct mark *m = NULL;
	char text[400];
	va_list ap;

	(void)obj; /* positions come from the load in progress (see the top of this file) */
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!L) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", path ? path : "", text);
		return;
	}
	if (path) {
		/* the path itself, else its nearest recorded ancestor ("a.b[2].c" -> "a.b[2]") */
		size_t len = strlen(path);

		while (!m) {
			for (size_t i = L->nmarks; i-- > 0;) {
				if (strlen(L->marks[i].path) == len &&
				    !strncmp(L->marks[i].path, path, len)) {
					m = &L->marks[i].m;
					break;
				}
			}
			if (m || !len)
				break;
			while (len && path[len - 1] != '.' && path[len - 1] != '[')
				len--;
			if (len)
				len--;
		}
	}
	put_msg(err, L->name, m, path, text);
}

/* ---------------------------------------------------------------- mgw_cfg_dump */

static void indent(FILE *f, int n)
{
	fprintf(f, "%*s", n, "");
}

static void put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void put_doc(FILE *f, int ind, const char *doc)
{
	if (!doc || !doc[0])
		return;
	indent(f, ind);
	fputs("# ", f);
	for (const char *p = doc; *p; p++)
		fputc(*p == '\n' || *p == '\r' ? ' ' : *p, f);
	fputc('\n', f);
}

static void dump_items(FILE *f, const struct mgw_cfg_schema *s, const void *obj, int ind);

static void dump_item(FILE *f, const struct mgw_cfg_item *it, const void *obj, int ind)
{
	const char *src = (const char *)obj + it->offset;
	char buf[32];

	put_doc(f, ind, it->doc);
	indent(f, ind);
	switch (it->type) {
	case MGW_CFG_STR:
	case MGW_CFG_PATH: {
		const char *s;

		memcpy(&s, src, sizeof(s));
		if (!s)
			fprintf(f, "# %s: (unset)\n", it->key);
		else if (it->flags & MGW_CFG_F_SECRET)
			fprintf(f, "%s: \"<secret>\"\n", it->key);
		else {
			fprintf(f, "%s: ", it->key);
			put_quoted(f, s);
			fputc('\n', f);
		}
		break;
	}
	case MGW_CFG_INT: {
		int64_t v;

		memcpy(&v, src, sizeof(v));
		if (it->flags & MGW_CFG_F_SECRET)
			fprintf(f, "%s: \"<secret>\"\n", it->key);
		else
			fprintf(f, "%s: %" PRId64 "\n", it->key, v);
		break;
	}
	case MGW_CFG_BOOL: {
		bool b;

		memcpy(&b, src, sizeof(b));
		fprintf(f, "%s: %s\n", it->key, b ? "true" : "false");
		break;
	}
	case MGW_CFG_ENUM: {
		int e, n = 0;

		memcpy(&e, src, sizeof(e));
		while (it->enums && it->enums[n])
			n++;
		if (e < 0 || e >= n) {
			fprintf(f, "# %s: (invalid value %d)\n", it->key, e);
		} else {
			fprintf(f, "%s: ", it->key);
			put_quoted(f, it->enums[e]);
			fputc('\n', f);
		}
		break;
	}
	case MGW_CFG_DURATION:
	case MGW_CFG_SIZE: {
		int64_t v;

		memcpy(&v, src, sizeof(v));
		fmt_scaled(buf, sizeof(buf), v, it->type == MGW_CFG_SIZE);
		fprintf(f, "%s: %s\n", it->key, buf);
		break;
	}
	case MGW_CFG_SECTION: {
		const void *sec;

		memcpy(&sec, src, sizeof(sec));
		if (!sec || !it->sub) {
			fprintf(f, "# %s: (absent)\n", it->key);
		} else if (!it->sub->items || !it->sub->items[0].key) {
			fprintf(f, "%s: {}\n", it->key);
		} else {
			fprintf(f, "%s:\n", it->key);
			dump_items(f, it->sub, sec, ind + 2);
		}
		break;
	}
	case MGW_CFG_LIST: {
		struct mgw_cfg_list l;

		memcpy(&l, src, sizeof(l));
		if (!l.n || !it->sub) {
			fprintf(f, "%s: []\n", it->key);
			break;
		}
		fprintf(f, "%s:\n", it->key);
		for (size_t i = 0; i < l.n; i++) {
			indent(f, ind + 2);
			fprintf(f, "- # [%zu]\n", i);
			if (!it->sub->items || !it->sub->items[0].key) {
				indent(f, ind + 4);
				fputs("{}\n", f);
			} else {
				dump_items(f, it->sub, (const char *)l.v + i * it->sub->size,
					   ind + 4);
			}
		}
		break;
	}
	case MGW_CFG_STRLIST: {
		struct mgw_cfg_strlist l;

		memcpy(&l, src, sizeof(l));
		fprintf(f, "%s: [", it->key);
		for (size_t i = 0; i < l.n; i++) {
			if (i)
				fputs(", ", f);
			if (it->flags & MGW_CFG_F_SECRET)
				fputs("\"<secret>\"", f);
			else
				put_quoted(f, l.v[i] ? l.v[i] : "");
		}
		fputs("]\n", f);
		break;
	}
	}
}

static void dump_items(FILE *f, const struct mgw_cfg_schema *s, const void *obj, int ind)
{
	for (const struct mgw_cfg_item *it = s->items; it && it->key; it++)
		dump_item(f, it, obj, ind);
}

void mgw_cfg_dump(FILE *f, const struct mgw_cfg_schema *schema, const void *obj)
{
	if (schema->name)
		fprintf(f, "# %s: effective configuration (defaults included)\n", schema->name);
	dump_items(f, schema, obj, 0);
}
