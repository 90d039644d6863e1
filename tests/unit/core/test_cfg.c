/* Unit tests: the YAML configuration engine (src/core/cfg.c). */
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <talloc.h>

#include <mgw/cfg.h>

/* ---------------------------------------------------------------- the test schema */

struct t_tls {
	char *cert, *key, *ca;
};

struct t_listen {
	char *addr;
	int64_t port;
	bool insecure;
	struct t_tls *tls;
};

struct t_smsc {
	char *name;
	char *host;
	int64_t port;
	char *password;
	int64_t window;
};

struct t_sms {
	struct mgw_cfg_list smsc;
	char *source_addr;
};

struct t_log {
	int level;
};

struct t_root {
	char *store;
	char *spool;
	struct t_log *log;
	struct t_listen *listen;
	struct t_sms *sms;
	struct mgw_cfg_strlist allow;
	int64_t timeout;
	int64_t max_size;
	char *token;
};

static const char *const levels[] = { "debug", "info", "notice", "error", NULL };

static int tls_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct t_tls *t = obj;
	char p[128];

	if (t->cert && !t->key) {
		snprintf(p, sizeof(p), "%s.cert", path);
		mgw_cfg_errf(err, obj, p, "needs a key");
		return -1;
	}
	return 0;
}

static int listen_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct t_listen *l = obj;
	char p[128];

	if (!l->tls && !l->insecure) {
		snprintf(p, sizeof(p), "%s.tls", path);
		mgw_cfg_errf(err, obj, p, "required unless insecure: true");
		return -1;
	}
	return 0;
}

static size_t order_len;
static char order[256];

/* check() order trace: "a;b;" */
static void trace(const char *what)
{
	size_t n = strlen(what);

	if (order_len + n + 2 <= sizeof(order)) {
		memcpy(order + order_len, what, n);
		order_len += n;
		order[order_len++] = ';';
		order[order_len] = '\0';
	}
}

static int smsc_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	trace(path);
	return 0;
}

static int root_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct t_root *r = obj;

	trace("root");
	if (r->sms && r->sms->smsc.n == 0) {
		mgw_cfg_errf(err, obj, "sms.smsc", "at least one SMSC is needed");
		return -1;
	}
	return 0;
}

static const struct mgw_cfg_item tls_items[] = {
	{ .key = "cert", .type = MGW_CFG_PATH, .offset = offsetof(struct t_tls, cert),
	  .flags = MGW_CFG_F_READABLE, .doc = "certificate (PEM)" },
	{ .key = "key", .type = MGW_CFG_PATH, .offset = offsetof(struct t_tls, key),
	  .flags = MGW_CFG_F_READABLE | MGW_CFG_F_SECRET, .doc = "private key (PEM)" },
	{ .key = "ca", .type = MGW_CFG_PATH, .offset = offsetof(struct t_tls, ca),
	  .doc = "trust anchors" },
	{ 0 },
};
static const struct mgw_cfg_schema tls_schema = { "tls", tls_items, sizeof(struct t_tls),
						  tls_check };

static const struct mgw_cfg_item listen_items[] = {
	{ .key = "addr", .type = MGW_CFG_STR, .offset = offsetof(struct t_listen, addr),
	  .def = "127.0.0.1", .max = 64, .doc = "address to listen on" },
	{ .key = "port", .type = MGW_CFG_INT, .offset = offsetof(struct t_listen, port),
	  .flags = MGW_CFG_F_REQUIRED, .min = 1, .max = 65535, .doc = "TCP port" },
	{ .key = "insecure", .type = MGW_CFG_BOOL, .offset = offsetof(struct t_listen, insecure),
	  .def = "false", .doc = "allow plain HTTP" },
	{ .key = "tls", .type = MGW_CFG_SECTION, .offset = offsetof(struct t_listen, tls),
	  .sub = &tls_schema, .doc = "server TLS" },
	{ 0 },
};
static const struct mgw_cfg_schema listen_schema = { "listen", listen_items,
						     sizeof(struct t_listen), listen_check };

static const struct mgw_cfg_item smsc_items[] = {
	{ .key = "name", .type = MGW_CFG_STR, .offset = offsetof(struct t_smsc, name),
	  .flags = MGW_CFG_F_REQUIRED, .doc = "SMSC name" },
	{ .key = "host", .type = MGW_CFG_STR, .offset = offsetof(struct t_smsc, host),
	  .def = "localhost", .doc = "SMSC host" },
	{ .key = "port", .type = MGW_CFG_INT, .offset = offsetof(struct t_smsc, port),
	  .min = 1, .max = 65535, .def = "2775", .doc = "SMPP port" },
	{ .key = "password", .type = MGW_CFG_STR, .offset = offsetof(struct t_smsc, password),
	  .flags = MGW_CFG_F_SECRET, .max = 8, .doc = "SMPP password" },
	{ .key = "window", .type = MGW_CFG_INT, .offset = offsetof(struct t_smsc, window),
	  .def = "10", .doc = "outstanding PDUs" },
	{ 0 },
};
static const struct mgw_cfg_schema smsc_schema = { "smsc", smsc_items, sizeof(struct t_smsc),
						   smsc_check };

static const struct mgw_cfg_item sms_items[] = {
	{ .key = "smsc", .type = MGW_CFG_LIST, .offset = offsetof(struct t_sms, smsc),
	  .sub = &smsc_schema, .doc = "SMSCs to bind to" },
	{ .key = "source_addr", .type = MGW_CFG_STR, .offset = offsetof(struct t_sms, source_addr),
	  .doc = "originator of MT SMS" },
	{ 0 },
};
static const struct mgw_cfg_schema sms_schema = { "sms", sms_items, sizeof(struct t_sms), NULL };

static const struct mgw_cfg_item log_items[] = {
	{ .key = "level", .type = MGW_CFG_ENUM, .offset = offsetof(struct t_log, level),
	  .enums = levels, .def = "info", .doc = "debug|info|notice|error" },
	{ 0 },
};
static const struct mgw_cfg_schema log_schema = { "log", log_items, sizeof(struct t_log), NULL };

static const struct mgw_cfg_item root_items[] = {
	{ .key = "store", .type = MGW_CFG_PATH, .offset = offsetof(struct t_root, store),
	  .flags = MGW_CFG_F_NEWFILE, .def = "gw.db", .doc = "SQLite database" },
	{ .key = "spool", .type = MGW_CFG_PATH, .offset = offsetof(struct t_root, spool),
	  .flags = MGW_CFG_F_DIR, .doc = "spool directory" },
	{ .key = "log", .type = MGW_CFG_SECTION, .offset = offsetof(struct t_root, log),
	  .sub = &log_schema, .doc = "logging" },
	{ .key = "listen", .type = MGW_CFG_SECTION, .offset = offsetof(struct t_root, listen),
	  .sub = &listen_schema, .doc = "northbound listener" },
	{ .key = "sms", .type = MGW_CFG_SECTION, .offset = offsetof(struct t_root, sms),
	  .sub = &sms_schema, .doc = "SMPP adapter" },
	{ .key = "allow", .type = MGW_CFG_STRLIST, .offset = offsetof(struct t_root, allow),
	  .doc = "allowed destinations" },
	{ .key = "timeout", .type = MGW_CFG_DURATION, .offset = offsetof(struct t_root, timeout),
	  .min = 100, .max = 3600000, .def = "30s", .doc = "request timeout" },
	{ .key = "max_size", .type = MGW_CFG_SIZE, .offset = offsetof(struct t_root, max_size),
	  .def = "64k", .doc = "largest payload" },
	{ .key = "token", .type = MGW_CFG_STR, .offset = offsetof(struct t_root, token),
	  .flags = MGW_CFG_F_SECRET, .doc = "bearer token" },
	{ 0 },
};
static const struct mgw_cfg_schema root_schema = { "test", root_items, sizeof(struct t_root),
						   root_check };

/* ---------------------------------------------------------------- helpers */

static void *ctx;
static char tmpdir[256];
static struct mgw_cfg_err err;

static void setup(void)
{
	ctx = talloc_named_const(NULL, 0, "test");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_cfg.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	memset(&err, 0, sizeof(err));
	order_len = 0;
	order[0] = '\0';
}

static void teardown(void)
{
	char cmd[300];

	talloc_free(ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static int load(const char *yaml, struct t_root *r)
{
	memset(r, 0, sizeof(*r));
	return mgw_cfg_load_buf(ctx, "gw.yaml", yaml, strlen(yaml), &root_schema, r, &err);
}

/* Loading yaml fails with exactly msg, and leaves nothing allocated behind. */
#define BAD(yaml, want)                                                                     \
	do {                                                                               \
		struct t_root r_;                                                          \
		void *sub_ = talloc_new(ctx);                                              \
		memset(&r_, 0, sizeof(r_));                                                \
		ck_assert_int_eq(mgw_cfg_load_buf(sub_, "gw.yaml", yaml, strlen(yaml),     \
						  &root_schema, &r_, &err), -1);           \
		ck_assert_str_eq(err.msg, want);                                           \
		ck_assert_ptr_null(r_.store);                                              \
		ck_assert_uint_eq(talloc_total_blocks(sub_), 1);                           \
		talloc_free(sub_);                                                         \
	} while (0)

/* ---------------------------------------------------------------- tests */

START_TEST(test_defaults)
{
	struct t_root r;

	ck_assert_int_eq(load("log:\nlisten: { port: 7443, insecure: yes }\n", &r), 0);
	ck_assert_str_eq(r.store, "gw.db");
	ck_assert_ptr_null(r.spool);
	ck_assert_ptr_nonnull(r.log);
	ck_assert_int_eq(r.log->level, 1); /* info */
	ck_assert_ptr_nonnull(r.listen);
	ck_assert_str_eq(r.listen->addr, "127.0.0.1");
	ck_assert_int_eq(r.listen->port, 7443);
	ck_assert(r.listen->insecure);
	ck_assert_ptr_null(r.listen->tls);
	ck_assert_ptr_null(r.sms); /* absent section: NULL, no defaults */
	ck_assert_uint_eq(r.allow.n, 0);
	ck_assert_int_eq(r.timeout, 30000);
	ck_assert_int_eq(r.max_size, 65536);
	ck_assert_ptr_null(r.token);
	ck_assert_str_eq(order, "root;");
}
END_TEST

START_TEST(test_values)
{
	struct t_root r;
	const struct t_smsc *s;
	char p[512];
	static const char yaml[] = "store: db/gw.db\n"
				   "spool: /tmp\n"
				   "log: { level: debug }\n"
				   "listen:\n"
				   "  addr: ::1\n"
				   "  port: +8443\n"
				   "  insecure: OFF\n"
				   "  tls: { cert: gw.pem, key: gw.key, ca: /etc/ca.pem }\n"
				   "sms:\n"
				   "  source_addr: \"12345\"\n"
				   "  smsc:\n"
				   "    - { name: a, port: 2776, password: pw }\n"
				   "    - name: b\n"
				   "      host: 10.0.0.1\n"
				   "allow: [ \"AS:as-1\", GROUP:g1 ]\n"
				   "timeout: 250ms\n"
				   "max_size: 2MiB\n"
				   "token: s3cret\n";

	write_file("gw.pem", "x");
	write_file("gw.key", "x");
	snprintf(p, sizeof(p), "%s/db", tmpdir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/gw.yaml", tmpdir);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(mgw_cfg_load_buf(ctx, p, yaml, strlen(yaml), &root_schema, &r, &err), 0);

	snprintf(p, sizeof(p), "%s/db/gw.db", tmpdir); /* relative to the config file */
	ck_assert_str_eq(r.store, p);
	ck_assert_str_eq(r.spool, "/tmp"); /* absolute: kept */
	ck_assert_int_eq(r.log->level, 0);
	ck_assert_str_eq(r.listen->addr, "::1");
	ck_assert_int_eq(r.listen->port, 8443);
	ck_assert(!r.listen->insecure);
	snprintf(p, sizeof(p), "%s/gw.pem", tmpdir);
	ck_assert_str_eq(r.listen->tls->cert, p);
	ck_assert_str_eq(r.listen->tls->ca, "/etc/ca.pem");
	ck_assert_str_eq(r.sms->source_addr, "12345");
	ck_assert_uint_eq(r.sms->smsc.n, 2);
	s = MGW_CFG_LIST_AT(&r.sms->smsc, struct t_smsc, 0);
	ck_assert_str_eq(s->name, "a");
	ck_assert_str_eq(s->host, "localhost");
	ck_assert_int_eq(s->port, 2776);
	ck_assert_str_eq(s->password, "pw");
	ck_assert_int_eq(s->window, 10);
	s = MGW_CFG_LIST_AT(&r.sms->smsc, struct t_smsc, 1);
	ck_assert_str_eq(s->name, "b");
	ck_assert_str_eq(s->host, "10.0.0.1");
	ck_assert_int_eq(s->port, 2775);
	ck_assert_ptr_null(s->password);
	ck_assert_uint_eq(r.allow.n, 2);
	ck_assert_str_eq(r.allow.v[0], "AS:as-1");
	ck_assert_str_eq(r.allow.v[1], "GROUP:g1");
	ck_assert_int_eq(r.timeout, 250);
	ck_assert_int_eq(r.max_size, 2 * 1024 * 1024);
	ck_assert_str_eq(r.token, "s3cret");
	/* check() bottom-up: list elements, then the root (tls, listen have no trace) */
	ck_assert_str_eq(order, "sms.smsc[0];sms.smsc[1];root;");
}
END_TEST

START_TEST(test_scalars)
{
	struct t_root r;

	ck_assert_int_eq(load("timeout: 5m\nmax_size: 2048\n", &r), 0);
	ck_assert_int_eq(r.timeout, 300000);
	ck_assert_int_eq(r.max_size, 2048);
	ck_assert_int_eq(load("timeout: 1h\nmax_size: 64KiB\n", &r), 0);
	ck_assert_int_eq(r.timeout, 3600000);
	ck_assert_int_eq(r.max_size, 65536);
	ck_assert_int_eq(load("timeout: 2\nmax_size: 1m\n", &r), 0);
	ck_assert_int_eq(r.timeout, 2000); /* bare integer: seconds */
	ck_assert_int_eq(r.max_size, 1048576);
	ck_assert_int_eq(load("listen: { port: 1, insecure: True }\n", &r), 0);
	ck_assert(r.listen->insecure);
	ck_assert_int_eq(load("listen: { port: 65535, insecure: on }\nsms:\n  smsc: [ {name: x} ]\n",
			      &r), 0);
	ck_assert(r.listen->insecure);
	ck_assert_ptr_null(r.sms->source_addr);
}
END_TEST

START_TEST(test_errors)
{
	BAD("listen:\n  port: 70000\n  insecure: true\n",
	    "gw.yaml:2:9: listen.port: 70000 is out of range 1..65535");
	BAD("listen: { port: 0 }\n", "gw.yaml:1:17: listen.port: 0 is out of range 1..65535");
	BAD("listen: { port: 12ab }\n", "gw.yaml:1:17: listen.port: '12ab' is not an integer");
	BAD("listen: { port: 0x10 }\n", "gw.yaml:1:17: listen.port: '0x10' is not an integer");
	BAD("listen: { port: \" 5\" }\n", "gw.yaml:1:17: listen.port: ' 5' is not an integer");
	BAD("listen: { port: 99999999999999999999 }\n",
	    "gw.yaml:1:17: listen.port: '99999999999999999999' is out of range 1..65535");
	BAD("store: x\nsmsc: 1\n",
	    "gw.yaml:2:1: smsc: unknown key (known: store, spool, log, listen, sms, allow, "
	    "timeout, max_size, token)");
	BAD("listen:\n  insecure: true\n", "gw.yaml:2:3: listen.port: missing required key");
	BAD("sms:\n  smsc:\n    - name: a\n    - port: 5\n",
	    "gw.yaml:4:7: sms.smsc[1].name: missing required key");
	BAD("sms:\n  smsc:\n    - name: a\n    - { name: b, port: 0 }\n",
	    "gw.yaml:4:24: sms.smsc[1].port: 0 is out of range 1..65535");
	BAD("log:\n  level: loud\n",
	    "gw.yaml:2:10: log.level: 'loud' is not one of debug|info|notice|error");
	BAD("log: { level: [a] }\n",
	    "gw.yaml:1:15: log.level: expected one of debug|info|notice|error, got a sequence");
	BAD("store:\n  a: b\n", "gw.yaml:2:3: store: expected a string, got a mapping");
	BAD("store:\n", "gw.yaml:1:7: store: expected a string, got null");
	BAD("store: ~\n", "gw.yaml:1:8: store: expected a string, got null");
	BAD("store: !!null x\n", "gw.yaml:1:8: store: expected a string, got null");
	BAD("store: \"\"\n", "gw.yaml:1:8: store: the path is empty");
	BAD("listen: 5\n", "gw.yaml:1:9: listen: expected a mapping, got a string");
	BAD("allow: x\n", "gw.yaml:1:8: allow: expected a sequence, got a string");
	BAD("allow: [a, {b: c}]\n", "gw.yaml:1:12: allow[1]: expected a string, got a mapping");
	BAD("sms: { smsc: [ 5 ] }\n", "gw.yaml:1:16: sms.smsc[0]: expected a mapping, got a string");
	BAD("sms: { smsc: [ {name: a, password: waytoolong} ] }\n",
	    "gw.yaml:1:36: sms.smsc[0].password: the string is longer than 8 bytes");
	BAD("listen: { port: 1, insecure: maybe }\n",
	    "gw.yaml:1:30: listen.insecure: 'maybe' is not a boolean (true|false|yes|no|on|off)");
	BAD("listen: { port: 1, insecure: 1 }\n",
	    "gw.yaml:1:30: listen.insecure: '1' is not a boolean (true|false|yes|no|on|off)");
	BAD("timeout: 5 s\n",
	    "gw.yaml:1:10: timeout: '5 s' is not a duration (e.g. 250ms, 30s, 5m, 2h, 1d)");
	BAD("timeout: -5s\n",
	    "gw.yaml:1:10: timeout: '-5s' is not a duration (e.g. 250ms, 30s, 5m, 2h, 1d)");
	BAD("timeout: 2h\n", "gw.yaml:1:10: timeout: '2h' is out of range 100ms..1h");
	BAD("timeout: 99999999999999999d\n",
	    "gw.yaml:1:10: timeout: '99999999999999999d' is out of range 100ms..1h");
	BAD("max_size: 5kb\n",
	    "gw.yaml:1:11: max_size: '5kb' is not a size (e.g. 2048, 64k, 1MiB)");
	BAD("max_size: 99999999999999999g\n", "gw.yaml:1:11: max_size: '99999999999999999g' is too large");
	BAD("token: [1]\n", "gw.yaml:1:8: token: expected a string, got a sequence");
	BAD("timeout: 1s\ntimeout: 2s\n", "gw.yaml:2:1: timeout: duplicate key (first at 1:1)");
	BAD("listen: { port: 1, port: 2 }\n",
	    "gw.yaml:1:20: listen.port: duplicate key (first at 1:11)");
	BAD("? [a]\n: b\n", "gw.yaml:1:3: keys must be strings");
	BAD("\"a\\x01b\": 1\n",
	    "gw.yaml:1:1: 'a\\x01b': unknown key (known: store, spool, log, listen, sms, allow, "
	    "timeout, max_size, token)");
	BAD("store: \"a\\0b\"\n", "gw.yaml:1:8: store: the string contains a NUL byte");
	/* check() errors point at the recorded position, or the nearest ancestor's */
	BAD("listen:\n  port: 80\n", "gw.yaml:2:3: listen.tls: required unless insecure: true");
	BAD("sms:\n  smsc: []\n", "gw.yaml:2:9: sms.smsc: at least one SMSC is needed");
}
END_TEST

START_TEST(test_syntax)
{
	BAD("", "gw.yaml: the configuration is empty");
	BAD("# only a comment\n", "gw.yaml: the configuration is empty");
	BAD("---\n", "gw.yaml: the configuration is empty");
	BAD("- a\n- b\n", "gw.yaml:1:1: expected a mapping at the top level, got a sequence");
	BAD("hello\n", "gw.yaml:1:1: expected a mapping at the top level, got a string");
	BAD("store: a\n  b: c\n",
	    "gw.yaml:2:4: syntax error: mapping values are not allowed in this context");
	BAD("store: [a\n",
	    "gw.yaml:2:1: syntax error: did not find expected ',' or ']' (while parsing a flow "
	    "sequence at 1:8)");
	BAD("store: &a x\nspool: *a\n", "gw.yaml:1:8: anchors and aliases are not supported");
	BAD("store: *a\n", "gw.yaml:1:8: anchors and aliases are not supported");
	BAD("store: a\n---\nstore: b\n", "gw.yaml:2:1: only one document is allowed");
	BAD("store: \"\xff\"\n",
	    "gw.yaml: syntax error: invalid leading UTF-8 octet at byte 8");
	BAD("a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	    "gw.yaml:1:35: nesting is deeper than 32 levels");
	{
		/* a huge input is refused before it is parsed */
		size_t n = 8u * 1024 * 1024 + 1;
		char *big = malloc(n);
		struct t_root r;

		ck_assert_ptr_nonnull(big);
		memset(big, '#', n);
		memset(&r, 0, sizeof(r));
		ck_assert_int_eq(mgw_cfg_load_buf(ctx, "gw.yaml", big, n, &root_schema, &r, &err), -1);
		ck_assert_str_eq(err.msg, "gw.yaml: larger than 8388608 bytes");
		free(big);
	}
}
END_TEST

START_TEST(test_paths)
{
	struct t_root r;
	char p[512], yaml[1024], msg[1024];

	/* READABLE: the file must exist and be a regular file */
	snprintf(p, sizeof(p), "%s/gw.yaml", tmpdir);
	snprintf(yaml, sizeof(yaml), "listen:\n  port: 1\n  tls:\n    cert: gw.pem\n    key: gw.key\n");
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(mgw_cfg_load_buf(ctx, p, yaml, strlen(yaml), &root_schema, &r, &err), -1);
	snprintf(msg, sizeof(msg),
		 "%s:4:11: listen.tls.cert: cannot read '%s/gw.pem': No such file or directory",
		 p, tmpdir);
	ck_assert_str_eq(err.msg, msg);
	BAD("listen: { port: 1, tls: { cert: /tmp, key: /tmp } }\n",
	    "gw.yaml:1:33: listen.tls.cert: '/tmp' is not a regular file");
	/* NEWFILE: the directory must exist */
	BAD("store: /nonexistent/dir/gw.db\n",
	    "gw.yaml:1:8: store: cannot create '/nonexistent/dir/gw.db': directory "
	    "'/nonexistent/dir': No such file or directory");
	BAD("store: /tmp\n", "gw.yaml:1:8: store: '/tmp' is a directory");
	/* DIR: a directory if it exists */
	BAD("spool: /dev/null\n", "gw.yaml:1:8: spool: '/dev/null' is not a directory");
	ck_assert_int_eq(load("spool: /nonexistent-spool\n", &r), 0);

	/* check() on a filled section: cert without key */
	write_file("gw.pem", "x");
	snprintf(yaml, sizeof(yaml), "listen:\n  port: 1\n  tls:\n    cert: gw.pem\n");
	ck_assert_int_eq(mgw_cfg_load_buf(ctx, p, yaml, strlen(yaml), &root_schema, &r, &err), -1);
	snprintf(msg, sizeof(msg), "%s:4:11: listen.tls.cert: needs a key", p);
	ck_assert_str_eq(err.msg, msg);
}
END_TEST

START_TEST(test_files)
{
	struct t_root r;
	struct mgw_cfg_list l;
	char p[512];

	snprintf(p, sizeof(p), "%s/gw.yaml", tmpdir);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(mgw_cfg_load(ctx, "/nonexistent/gw.yaml", &root_schema, &r, &err), -1);
	ck_assert_str_eq(err.msg, "/nonexistent/gw.yaml: cannot open: No such file or directory");
	ck_assert_int_eq(mgw_cfg_load(ctx, "/tmp", &root_schema, &r, &err), -1);
	ck_assert_str_eq(err.msg, "/tmp: not a regular file");
	write_file("gw.yaml", "timeout: 7s\n");
	ck_assert_int_eq(mgw_cfg_load(ctx, p, &root_schema, &r, &err), 0);
	ck_assert_int_eq(r.timeout, 7000);
	ck_assert_ptr_nonnull(strstr(r.store, tmpdir));

	write_file("devices.yaml", "- name: a\n- { name: b, port: 1 }\n");
	snprintf(p, sizeof(p), "%s/devices.yaml", tmpdir);
	ck_assert_int_eq(mgw_cfg_load_list(ctx, p, &smsc_schema, &l, &err), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(MGW_CFG_LIST_AT(&l, struct t_smsc, 1)->name, "b");
	talloc_free(l.v);
}
END_TEST

/* A file that holds a secret is refused while others may read it (or the group change it),
 * naming file, mode, the first secret and the chmod; without secrets its mode is free. */
START_TEST(test_secret_modes)
{
	struct t_root r;
	struct mgw_cfg_list l;
	char p[512], want[1400];

	snprintf(p, sizeof(p), "%s/gw.yaml", tmpdir);
	write_file("gw.yaml", "timeout: 7s\ntoken: abc\n");
	ck_assert_int_eq(chmod(p, 0644), 0);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(mgw_cfg_load(ctx, p, &root_schema, &r, &err), -1);
	snprintf(want, sizeof(want),
		 "%s: mode 0644 lets others read its secrets (token): refused (chmod 640 %s)", p, p);
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(chmod(p, 0620), 0);
	ck_assert_int_eq(mgw_cfg_load(ctx, p, &root_schema, &r, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "mode 0620 lets the group change its secrets"));
	ck_assert_int_eq(chmod(p, 0640), 0);
	ck_assert_int_eq(mgw_cfg_load(ctx, p, &root_schema, &r, &err), 0);
	ck_assert_str_eq(r.token, "abc");
	/* no secret written (the default is none): any mode */
	write_file("gw.yaml", "timeout: 7s\n");
	ck_assert_int_eq(chmod(p, 0666), 0);
	ck_assert_int_eq(mgw_cfg_load(ctx, p, &root_schema, &r, &err), 0);
	/* a list (the registry): the first secret's path names the element */
	snprintf(p, sizeof(p), "%s/devices.yaml", tmpdir);
	write_file("devices.yaml", "- name: a\n- { name: b, password: pw }\n");
	ck_assert_int_eq(chmod(p, 0604), 0);
	ck_assert_int_eq(mgw_cfg_load_list(ctx, p, &smsc_schema, &l, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "mode 0604 lets others read its secrets ([1].password)"));
	ck_assert_int_eq(chmod(p, 0600), 0);
	ck_assert_int_eq(mgw_cfg_load_list(ctx, p, &smsc_schema, &l, &err), 0);
	talloc_free(l.v);
	/* text in memory has no mode */
	ck_assert_int_eq(load("token: abc\n", &r), 0);
	/* the helper alone: a private key (077) and a trust anchor (022) */
	ck_assert_int_eq(mgw_cfg_file_mode("k.pem", 0100600, 077, "it", &err), 0);
	ck_assert_int_eq(mgw_cfg_file_mode("k.pem", 0100640, 077, "its private key", &err), -1);
	ck_assert_str_eq(err.msg,
			 "k.pem: mode 0640 lets the group read its private key: refused (chmod 600 k.pem)");
	ck_assert_int_eq(mgw_cfg_file_mode("ca.pem", 0100666, 022, "it", &err), -1);
	ck_assert_str_eq(err.msg, "ca.pem: mode 0666 lets the group and others change it: refused "
				  "(chmod 644 ca.pem)");
	ck_assert_int_eq(mgw_cfg_file_mode("ca.pem", 0100666, 022, "it", NULL), -1);
}
END_TEST

/* MGW_CFG_F_SHORT: "audit: FILE" is "audit: { path: FILE }" */
struct t_short {
	struct t_audit {
		char *path;
		bool required;
	} *audit;
};
static const struct mgw_cfg_item audit_items[] = {
	{ .key = "path", .type = MGW_CFG_STR, .offset = offsetof(struct t_audit, path),
	  .flags = MGW_CFG_F_REQUIRED, .doc = "file" },
	{ .key = "required", .type = MGW_CFG_BOOL, .offset = offsetof(struct t_audit, required),
	  .def = "false", .doc = "refuse input when it cannot be written" },
	{ 0 },
};
static const struct mgw_cfg_schema audit_schema = { "audit", audit_items,
						    sizeof(struct t_audit), NULL };
static const struct mgw_cfg_item short_items[] = {
	{ .key = "audit", .type = MGW_CFG_SECTION, .offset = offsetof(struct t_short, audit),
	  .flags = MGW_CFG_F_SHORT | MGW_CFG_F_REQUIRED, .sub = &audit_schema, .doc = "audit" },
	{ 0 },
};
static const struct mgw_cfg_schema short_schema = { "short", short_items,
						    sizeof(struct t_short), NULL };

static int load_short(const char *yaml, struct t_short *r)
{
	memset(r, 0, sizeof(*r));
	return mgw_cfg_load_buf(ctx, "s.yaml", yaml, strlen(yaml), &short_schema, r, &err);
}

START_TEST(test_short_form)
{
	struct t_short r;

	ck_assert_int_eq(load_short("audit: a.jsonl\n", &r), 0);
	ck_assert_str_eq(r.audit->path, "a.jsonl");
	ck_assert(!r.audit->required);
	ck_assert_int_eq(load_short("audit: { path: b.jsonl, required: true }\n", &r), 0);
	ck_assert_str_eq(r.audit->path, "b.jsonl");
	ck_assert(r.audit->required);
	ck_assert_int_eq(load_short("audit: [ a ]\n", &r), -1);
	ck_assert_str_eq(err.msg, "s.yaml:1:8: audit: expected a scalar or a mapping, got a sequence");
	ck_assert_int_eq(load_short("audit: { required: true }\n", &r), -1);
	ck_assert_str_eq(err.msg, "s.yaml:1:8: audit.path: missing required key");
	ck_assert_int_eq(load_short("audit: { path: a, bogus: 1 }\n", &r), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "audit.bogus: unknown key"));
}
END_TEST

START_TEST(test_list)
{
	struct mgw_cfg_list l = { 0, NULL };
	static const char ok[] = "- name: a\n  port: 1\n- name: b\n";
	static const char empty[] = "[]\n";
	const struct t_smsc *s;

	ck_assert_int_eq(mgw_cfg_load_list_buf(ctx, "devices.yaml", ok, strlen(ok), &smsc_schema,
					       &l, &err), 0);
	ck_assert_uint_eq(l.n, 2);
	s = MGW_CFG_LIST_AT(&l, struct t_smsc, 0);
	ck_assert_str_eq(s->name, "a");
	ck_assert_int_eq(s->port, 1);
	s = MGW_CFG_LIST_AT(&l, struct t_smsc, 1);
	ck_assert_str_eq(s->name, "b");
	ck_assert_int_eq(s->port, 2775);
	ck_assert_str_eq(order, "[0];[1];");
	talloc_free(l.v);

	ck_assert_int_eq(mgw_cfg_load_list_buf(ctx, "devices.yaml", empty, strlen(empty),
					       &smsc_schema, &l, &err), 0);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_ptr_null(l.v);

#define BADLIST(yaml, want)                                                                 \
	do {                                                                               \
		struct mgw_cfg_list l_ = { 7, NULL };                                      \
		ck_assert_int_eq(mgw_cfg_load_list_buf(ctx, "devices.yaml", yaml,          \
						       strlen(yaml), &smsc_schema, &l_,    \
						       &err), -1);                         \
		ck_assert_str_eq(err.msg, want);                                           \
		ck_assert_uint_eq(l_.n, 7);                                                \
	} while (0)
	BADLIST("name: a\n", "devices.yaml:1:1: expected a sequence at the top level, got a mapping");
	BADLIST("", "devices.yaml: the configuration is empty");
	BADLIST("- name: a\n- name: b\n  prot: 5\n",
		"devices.yaml:3:3: [1].prot: unknown key (known: name, host, port, password, window)");
	BADLIST("- name: a\n- port: 5\n", "devices.yaml:2:3: [1].name: missing required key");
}
END_TEST

/* A schema whose default does not parse is a programmer error, reported as a BUG. */
static const struct mgw_cfg_item bad_def_items[] = {
	{ .key = "n", .type = MGW_CFG_INT, .offset = 0, .def = "ten", .doc = "broken" },
	{ 0 },
};
static const struct mgw_cfg_schema bad_def_schema = { "bad", bad_def_items, sizeof(int64_t),
						      NULL };

START_TEST(test_bad_default)
{
	int64_t v = 0;

	ck_assert_int_eq(mgw_cfg_load_buf(ctx, "x.yaml", "{}", 2, &bad_def_schema, &v, &err), -1);
	ck_assert_str_eq(err.msg,
			 "x.yaml:1:1: n: BUG: invalid schema default: 'ten' is not an integer");
}
END_TEST

static char *dump(const struct t_root *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	mgw_cfg_dump(f, &root_schema, r);
	fclose(f);
	return buf;
}

START_TEST(test_dump)
{
	struct t_root r, r2;
	char *d1, *d2;
	static const char yaml[] = "spool: /tmp\n"
				   "log: { level: notice }\n"
				   "listen: { addr: \"a\\\"b\\\\c\\td\", port: 9, insecure: true }\n"
				   "sms:\n"
				   "  smsc:\n"
				   "    - { name: a, port: 2776, password: pw }\n"
				   "    - name: b\n"
				   "allow: [ \"AS:as-1\", \"x: y\", \"#z\" ]\n"
				   "timeout: 90s\n"
				   "max_size: 3MiB\n"
				   "token: s3cret\n";

	ck_assert_int_eq(load(yaml, &r), 0);
	d1 = dump(&r);
	/* secrets masked, absent sections and unset values commented, docs present */
	ck_assert_ptr_nonnull(strstr(d1, "token: \"<secret>\"\n"));
	ck_assert_ptr_null(strstr(d1, "s3cret"));
	ck_assert_ptr_null(strstr(d1, "\"pw\""));
	ck_assert_ptr_nonnull(strstr(d1, "# request timeout\ntimeout: 90s\n"));
	ck_assert_ptr_nonnull(strstr(d1, "max_size: 3MiB\n"));
	ck_assert_ptr_nonnull(strstr(d1, "  # server TLS\n  # tls: (absent)\n"));
	ck_assert_ptr_nonnull(strstr(d1, "  # originator of MT SMS\n  # source_addr: (unset)\n"));
	ck_assert_ptr_nonnull(strstr(d1, "level: \"notice\"\n"));

	/* the dump loads again and yields the same configuration (secrets aside) */
	ck_assert_int_eq(load(d1, &r2), 0);
	ck_assert_str_eq(r2.listen->addr, "a\"b\\c\td");
	ck_assert_int_eq(r2.listen->port, 9);
	ck_assert_int_eq(r2.log->level, 2);
	ck_assert_uint_eq(r2.sms->smsc.n, 2);
	ck_assert_str_eq(MGW_CFG_LIST_AT(&r2.sms->smsc, struct t_smsc, 0)->password, "<secret>");
	ck_assert_uint_eq(r2.allow.n, 3);
	ck_assert_str_eq(r2.allow.v[1], "x: y");
	ck_assert_int_eq(r2.timeout, 90000);
	ck_assert_int_eq(r2.max_size, 3 * 1048576);
	ck_assert_str_eq(r2.token, "<secret>");
	d2 = dump(&r2);
	ck_assert_str_eq(d1, d2);
	free(d1);
	free(d2);

	/* the all-defaults dump round-trips too */
	ck_assert_int_eq(load("{}", &r), 0);
	d1 = dump(&r);
	ck_assert_ptr_nonnull(strstr(d1, "# sms: (absent)\n"));
	ck_assert_int_eq(load(d1, &r2), 0);
	d2 = dump(&r2);
	ck_assert_str_eq(d1, d2);
	free(d1);
	free(d2);
}
END_TEST

START_TEST(test_errf_outside_load)
{
	struct mgw_cfg_err e;

	mgw_cfg_errf(&e, NULL, "a.b", "bad %d", 5);
	ck_assert_str_eq(e.msg, "a.b: bad 5");
}
END_TEST

static Suite *cfg_suite(void)
{
	Suite *s = suite_create("cfg");
	TCase *tc = tcase_create("cfg");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_scalars);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_syntax);
	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_secret_modes);
	tcase_add_test(tc, test_short_form);
	tcase_add_test(tc, test_bad_default);
	tcase_add_test(tc, test_dump);
	tcase_add_test(tc, test_errf_outside_load);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cfg_suite());
	int failed;

	srunner_run_all(sr, CK_VERBOSE);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
