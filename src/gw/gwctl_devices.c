/* msgin5g-gwctl devices: the registry in the store (doc/interfaces.md 3, 9;
 * doc/internals/registry.md).
 *
 * Works on the registry file of the configuration (STORE.devices) whether the daemon runs
 * or not: the daemon reads it and polls its change sequence, so a change here takes effect
 * there within registry.poll. Every write is one transaction (an import too: all or
 * nothing) and one audit record naming the local operator; secrets are masked in what is
 * printed unless --show-secrets. */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <talloc.h>

#include <mgw/err.h>
#include <mgw/security.h>
#include <mgw/store.h>

#include "gw_registry.h"
#include "gwctl.h"

#define BUSY_MS 30000 /* gwctl may wait for another writer (an import) */

void gwctl_devices_usage(FILE *f)
{
	fprintf(f, "  devices import FILE [--format yaml|jsonl]   add or replace entries, all or none\n"
		   "  devices add ENTRY | update ENTRY           one entry, YAML or JSON text\n"
		   "  devices remove UE...\n"
		   "  devices show UE [--show-secrets]\n"
		   "  devices list | count\n"
		   "  devices export [--format yaml|jsonl|mosquitto-passwd|mosquitto-acl]\n"
		   "                 [--show-secrets] [--prefix TOPIC_PREFIX]\n");
}

int gwctl_devices_open(struct gwctl *g, struct mgw_regdb **db)
{
	struct gw_cfg *cfg = gwctl_cfg(g);
	char why[512] = "", *path;

	if (!cfg)
		return GWCTL_USAGE;
	if (!(path = gw_registry_path(g->root, cfg)))
		return GWCTL_FAIL;
	if (mgw_regdb_open(g->root, path, BUSY_MS, db, why, sizeof(why)) != MGW_OK) {
		gwctl_err("registry: %s", why);
		return GWCTL_FAIL;
	}
	return GWCTL_OK;
}

/* One audit record per change: who is the local operator (uid and name). */
static void audit(struct gwctl *g, const char *op, const char *ue, const char *detail)
{
	struct gw_cfg *cfg = gwctl_cfg(g);
	struct mgw_audit *a = NULL;
	struct passwd *pw = getpwuid(getuid());
	char who[96], why[256];
	struct mgw_audit_rec r = { .ue = ue, .accept = true, .cause = "OK", .detail = detail,
				   .op = op, .who = who };

	snprintf(who, sizeof(who), "local-operator uid %u (%s) via msgin5g-gwctl",
		 (unsigned)getuid(), pw ? pw->pw_name : "?");
	if (mgw_audit_open(g->root, cfg->audit->path, &a, why, sizeof(why)) != MGW_OK) {
		gwctl_err("audit: %s (the change is made)", why);
		return;
	}
	if (mgw_audit_write(a, &r) != MGW_OK)
		gwctl_err("audit: %s: record not written (the change is made)", cfg->audit->path);
	mgw_audit_close(a);
}

/* ---------------------------------------------------------------- import */

static int do_import(struct gwctl *g, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' },
					       { NULL, 0, NULL, 0 } };
	enum mgw_registry_fmt fmt = MGW_REGFMT_AUTO;
	struct mgw_registry_import_stats st;
	struct mgw_cfg_err err = { { 0 } };
	struct mgw_regdb *db = NULL;
	struct timespec ts;
	char detail[300];
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		if (opt != 'f' || (strcmp(optarg, "yaml") != 0 && strcmp(optarg, "jsonl") != 0)) {
			gwctl_err("devices import: --format yaml|jsonl");
			return GWCTL_USAGE;
		}
		fmt = strcmp(optarg, "yaml") == 0 ? MGW_REGFMT_YAML : MGW_REGFMT_JSONL;
	}
	if (optind != argc - 1) {
		gwctl_err("devices import FILE [--format yaml|jsonl]");
		return GWCTL_USAGE;
	}
	if ((rc = gwctl_devices_open(g, &db)) != GWCTL_OK)
		return rc;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (mgw_regdb_begin(db) != MGW_OK) {
		gwctl_err("registry: cannot start a transaction (locked?)");
		return GWCTL_FAIL;
	}
	/* gen: this import's own number, so that a UE twice in the file is found */
	rc = mgw_registry_import(db, argv[optind], fmt, "gwctl",
				 (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, &st, &err);
	if (rc != MGW_OK) {
		mgw_regdb_rollback(db);
		gwctl_err("%s (nothing imported)", err.msg);
		return rc == MGW_E_CONFIG || rc == MGW_E_IO ? GWCTL_USAGE : GWCTL_FAIL;
	}
	if (mgw_regdb_commit(db) != MGW_OK) {
		gwctl_err("registry: the import could not be committed (nothing imported)");
		return GWCTL_FAIL;
	}
	snprintf(detail, sizeof(detail), "import %s: %zu entries, %zu added, %zu updated",
		 argv[optind], st.rows, st.added, st.updated);
	audit(g, "device-import", NULL, detail);
	printf("%s: %zu entries: %zu added, %zu updated, %zu unchanged\n", argv[optind], st.rows,
	       st.added, st.updated, st.unchanged);
	return GWCTL_OK;
}

/* ---------------------------------------------------------------- add, update, remove */

static int do_put(struct gwctl *g, int argc, char **argv, bool add)
{
	const char *cmd = add ? "add" : "update";
	struct mgw_cfg_err err = { { 0 } };
	struct mgw_regdb_dev *d = NULL;
	struct mgw_regdb *db = NULL;
	char owner[256] = "", detail[128], *row = NULL;
	size_t bad = 0;
	int rc, what = 0, exists;

	if (argc != 1) {
		gwctl_err("devices %s ENTRY (YAML or JSON: '{ue: x, coap: {...}}')", cmd);
		return GWCTL_USAGE;
	}
	if (mgw_registry_entry(g->root, "ENTRY", argv[0], "gwctl", &d, &err) != MGW_OK) {
		gwctl_err("%s", err.msg);
		return GWCTL_USAGE;
	}
	if ((rc = gwctl_devices_open(g, &db)) != GWCTL_OK)
		return rc;
	if (mgw_regdb_begin(db) != MGW_OK) {
		gwctl_err("registry: cannot start a transaction (locked?)");
		return GWCTL_FAIL;
	}
	exists = mgw_regdb_get(db, g->root, d->ue, &row);
	talloc_free(row);
	if (add ? exists == MGW_OK : exists == MGW_E_NOT_FOUND) {
		gwctl_err(add ? "ue %s is registered already (devices update)"
			      : "ue %s is not registered (devices add)",
			  d->ue);
		mgw_regdb_rollback(db);
		return GWCTL_USAGE;
	}
	rc = mgw_regdb_put(db, d, 0, &what, &bad, owner, sizeof(owner));
	if (rc == MGW_E_DUPLICATE) {
		gwctl_err("duplicate credential: %s %s is also used by ue %s",
			  mgw_cred_name((enum mgw_cred)d->cred[bad].kind), d->cred[bad].value, owner);
		mgw_regdb_rollback(db);
		return GWCTL_USAGE;
	}
	if (rc != MGW_OK || mgw_regdb_commit(db) != MGW_OK) {
		mgw_regdb_rollback(db);
		gwctl_err("registry: %s", mgw_strerror(rc));
		return GWCTL_FAIL;
	}
	snprintf(detail, sizeof(detail), "%s (%s)", what ? (add ? "added" : "updated") : "unchanged",
		 d->adapter);
	if (what)
		audit(g, add ? "device-add" : "device-update", d->ue, detail);
	printf("%s: %s\n", d->ue, detail);
	return GWCTL_OK;
}

static int do_remove(struct gwctl *g, int argc, char **argv)
{
	struct mgw_regdb *db = NULL;
	int rc, i;

	if (argc < 1) {
		gwctl_err("devices remove UE...");
		return GWCTL_USAGE;
	}
	if ((rc = gwctl_devices_open(g, &db)) != GWCTL_OK)
		return rc;
	if (mgw_regdb_begin(db) != MGW_OK) {
		gwctl_err("registry: cannot start a transaction (locked?)");
		return GWCTL_FAIL;
	}
	for (i = 0; i < argc; i++)
		if ((rc = mgw_regdb_remove(db, argv[i])) != MGW_OK) {
			mgw_regdb_rollback(db);
			gwctl_err("%s: %s (nothing removed)", argv[i],
				  rc == MGW_E_NOT_FOUND ? "not registered" : mgw_strerror(rc));
			return rc == MGW_E_NOT_FOUND ? GWCTL_USAGE : GWCTL_FAIL;
		}
	if (mgw_regdb_commit(db) != MGW_OK) {
		gwctl_err("registry: the removal could not be committed (nothing removed)");
		return GWCTL_FAIL;
	}
	for (i = 0; i < argc; i++) {
		audit(g, "device-remove", argv[i], "removed");
		printf("%s: removed\n", argv[i]);
	}
	return GWCTL_OK;
}

/* ---------------------------------------------------------------- show, list, count */

static int do_show(struct gwctl *g, int argc, char **argv)
{
	struct mgw_regdb *db = NULL;
	bool secrets = false;
	const char *ue = NULL;
	char *row = NULL;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--show-secrets") == 0)
			secrets = true;
		else if (!ue)
			ue = argv[i];
		else
			ue = NULL, i = argc;
	}
	if (!ue) {
		gwctl_err("devices show UE [--show-secrets]");
		return GWCTL_USAGE;
	}
	if ((rc = gwctl_devices_open(g, &db)) != GWCTL_OK)
		return rc;
	if ((rc = mgw_regdb_get(db, g->root, ue, &row)) != MGW_OK) {
		gwctl_err("%s: %s", ue, rc == MGW_E_NOT_FOUND ? "not registered" : mgw_strerror(rc));
		return rc == MGW_E_NOT_FOUND ? GWCTL_USAGE : GWCTL_FAIL;
	}
	rc = gwctl_print_row(stdout, row, secrets, GWCTL_FMT_JSONL) == 0 ? GWCTL_OK : GWCTL_FAIL;
	gwctl_wipe(row);
	return rc;
}

static int list_row(void *arg, const char *ue, const char *src, const char *row)
{
	char **last = arg;

	(void)row;
	printf("%s %s\n", ue, src);
	talloc_free(*last);
	*last = talloc_strdup(NULL, ue);
	return *last ? 0 : 1;
}

static int do_list(struct gwctl *g, int argc, char **argv)
{
	struct mgw_regdb *db = NULL;
	char *last = talloc_strdup(NULL, "");
	size_t n = 0;
	int rc;

	(void)argv;
	if (argc != 0) {
		gwctl_err("devices list");
		return GWCTL_USAGE;
	}
	if ((rc = gwctl_devices_open(g, &db)) != GWCTL_OK)
		goto out;
	do {
		char *after = talloc_strdup(NULL, last);

		rc = after && mgw_regdb_page(db, after, 1000, list_row, &last, &n) == MGW_OK
			     ? GWCTL_OK
			     : GWCTL_FAIL;
		talloc_free(after);
	} while (rc == GWCTL_OK && n == 1000);
out:
	talloc_free(last);
	return rc;
}

static int do_count(struct gwctl *g, int argc, char **argv)
{
	struct mgw_regdb *db = NULL;
	size_t n = 0;
	int rc;

	(void)argv;
	if (argc != 0) {
		gwctl_err("devices count");
		return GWCTL_USAGE;
	}
	if ((rc = gwctl_devices_open(g, &db)) != GWCTL_OK)
		return rc;
	if (mgw_regdb_count(db, &n) != MGW_OK)
		return GWCTL_FAIL;
	printf("%zu\n", n);
	return GWCTL_OK;
}

int gwctl_devices(struct gwctl *g, int argc, char **argv)
{
	if (argc < 1) {
		gwctl_devices_usage(stderr);
		return GWCTL_USAGE;
	}
	if (strcmp(argv[0], "import") == 0)
		return do_import(g, argc, argv);
	if (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "update") == 0)
		return do_put(g, argc - 1, argv + 1, argv[0][0] == 'a');
	if (strcmp(argv[0], "remove") == 0)
		return do_remove(g, argc - 1, argv + 1);
	if (strcmp(argv[0], "show") == 0)
		return do_show(g, argc - 1, argv + 1);
	if (strcmp(argv[0], "list") == 0)
		return do_list(g, argc - 1, argv + 1);
	if (strcmp(argv[0], "count") == 0)
		return do_count(g, argc - 1, argv + 1);
	if (strcmp(argv[0], "export") == 0)
		return gwctl_devices_export(g, argc, argv);
	gwctl_err("devices: unknown command %s", argv[0]);
	gwctl_devices_usage(stderr);
	return GWCTL_USAGE;
}
