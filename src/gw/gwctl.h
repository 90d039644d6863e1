/* msgin5g-gwctl: the operator tool (interfaces.md 1). One function per command group;
 * each returns the exit status: 0 success, 1 usage or configuration, 2 runtime failure. */
#ifndef GWCTL_H
#define GWCTL_H

#include <stdbool.h>
#include <stdio.h>

#include "gw_cfg.h"

enum { GWCTL_OK = 0, GWCTL_USAGE = 1, GWCTL_FAIL = 2 };

struct gwctl {
	void *root;          /* talloc root */
	const char *cfg_file; /* -c FILE, or NULL */
	struct gw_cfg *cfg;  /* loaded on demand by gwctl_cfg() */
};

/* Load the configuration named by -c (once). NULL after printing why. */
struct gw_cfg *gwctl_cfg(struct gwctl *g);
void gwctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* keys gen|list|export|retire|import-as (gwctl_keys.c) */
int gwctl_keys(struct gwctl *g, int argc, char **argv);
void gwctl_keys_usage(FILE *f);

/* devices import|add|update|remove|show|list|count|export (gwctl_devices.c, gwctl_export.c) */
struct mgw_regdb;
enum { GWCTL_FMT_YAML = 0, GWCTL_FMT_JSONL, GWCTL_FMT_PASSWD, GWCTL_FMT_ACL };
int gwctl_devices(struct gwctl *g, int argc, char **argv);
void gwctl_devices_usage(FILE *f);
int gwctl_devices_open(struct gwctl *g, struct mgw_regdb **db);
int gwctl_devices_export(struct gwctl *g, int argc, char **argv);
/* Print one store row as an entry (YAML item or JSON line); secrets masked unless asked. */
int gwctl_print_row(FILE *f, const char *row, bool secrets, int fmt);
void gwctl_wipe(char *s); /* wipe and talloc_free a string */

#endif
