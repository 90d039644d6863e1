/* YAML configuration through schema tables (one per module).
 *
 * A module describes its section as a table of items: key, type, where the value goes
 * in the module's config struct (offsetof), flags, range, default, one doc line. The
 * loader (libyaml) walks the document against the table: an unknown key, a wrong type,
 * a value out of range, a missing required key or an unreadable file is an error that
 * names FILE:LINE:COL and the key path ("north.listen.port"). After the typed pass each
 * schema's check() does cross-field checks (second pass).
 *
 * Storage by type (in the module's struct at .offset):
 *   STR, PATH  char *           (talloc'd; PATH is resolved relative to the config file;
 *                                NULL when absent and no default)
 *   INT        int64_t          (min..max inclusive)
 *   BOOL       bool
 *   ENUM       int              (index into .enums)
 *   DURATION   int64_t          (milliseconds; YAML "250ms", "30s", "5m", "2h", "1d" or a
 *                                bare integer of seconds)
 *   SIZE       int64_t          (bytes; "2048", "64k"/"64KiB", "1m"/"1MiB")
 *   SECTION    void *           (pointer to a talloc'd struct of sub->size; NULL when the
 *                                section is absent: "any section may be absent")
 *   LIST       struct mgw_cfg_list    (sequence of SECTIONs of sub->size each)
 *   STRLIST    struct mgw_cfg_strlist (sequence of scalars)
 */
#ifndef MGW_CFG_H
#define MGW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum mgw_cfg_type {
	MGW_CFG_STR,
	MGW_CFG_PATH,
	MGW_CFG_INT,
	MGW_CFG_BOOL,
	MGW_CFG_ENUM,
	MGW_CFG_DURATION,
	MGW_CFG_SIZE,
	MGW_CFG_SECTION,
	MGW_CFG_LIST,
	MGW_CFG_STRLIST,
};

#define MGW_CFG_F_REQUIRED 0x01 /* the key must be present */
#define MGW_CFG_F_SECRET 0x02   /* never printed: -T shows "<secret>" */
#define MGW_CFG_F_READABLE 0x04 /* PATH: must name a readable regular file at load time */
#define MGW_CFG_F_DIR 0x08      /* PATH: a directory (created if missing is the module's job) */
#define MGW_CFG_F_NEWFILE 0x10  /* PATH: a file the gateway writes: its directory must exist */
#define MGW_CFG_F_SHORT 0x20    /* SECTION: a scalar stands for the section with its first item
				 * set to it ("audit: FILE" is "audit: { path: FILE }") */

struct mgw_cfg_schema;

struct mgw_cfg_item {
	const char *key;
	enum mgw_cfg_type type;
	size_t offset;
	unsigned flags;
	int64_t min, max;                 /* INT/DURATION/SIZE range; STR max length (0: 4096) */
	const char *def;                  /* default, written as YAML text; NULL: none */
	const char *doc;                  /* one line */
	const struct mgw_cfg_schema *sub; /* SECTION and LIST */
	const char *const *enums;         /* ENUM: NULL-terminated */
};

struct mgw_cfg_err {
	char msg[512]; /* "FILE:LINE:COL: key.path: what is wrong" -- one line */
};

struct mgw_cfg_schema {
	const char *name;                 /* for docs and -T comments */
	const struct mgw_cfg_item *items; /* terminated by an item with key == NULL */
	size_t size;                      /* sizeof the struct the items fill */
	/* Optional second pass over a filled struct. Return 0 or fill err (use
	 * mgw_cfg_errf with the item's key path) and return -1. path is the section's own
	 * key path: "" for the top level, "north.listen", "sms.smsc[0]" (list indexes are
	 * 0-based), "[3]" for an element of mgw_cfg_load_list. Runs bottom-up, after the
	 * whole typed pass. */
	int (*check)(void *obj, const char *path, struct mgw_cfg_err *err);
};

struct mgw_cfg_list {
	size_t n;
	void *v; /* n structs of sub->size, contiguous, talloc'd */
};
#define MGW_CFG_LIST_AT(l, type, i) (&((type *)(l)->v)[i])

struct mgw_cfg_strlist {
	size_t n;
	char **v;
};

/* Load FILE into obj (a zeroed struct of schema->size) with talloc parent ctx for every
 * allocated value. Returns 0, or -1 with err->msg set (one line). */
int mgw_cfg_load(void *ctx, const char *file, const struct mgw_cfg_schema *schema, void *obj,
		 struct mgw_cfg_err *err);
/* Same, for YAML text in memory; name is used in messages and as base for relative paths
 * (its directory). */
int mgw_cfg_load_buf(void *ctx, const char *name, const char *buf, size_t len,
		     const struct mgw_cfg_schema *schema, void *obj, struct mgw_cfg_err *err);
/* Load a file whose top level is a sequence of sections (the device registry). */
int mgw_cfg_load_list(void *ctx, const char *file, const struct mgw_cfg_schema *elem,
		      struct mgw_cfg_list *out, struct mgw_cfg_err *err);
int mgw_cfg_load_list_buf(void *ctx, const char *name, const char *buf, size_t len,
			  const struct mgw_cfg_schema *elem, struct mgw_cfg_list *out,
			  struct mgw_cfg_err *err);

/* Print the effective configuration (every key, defaults included, secrets masked) as
 * YAML, with each item's doc line as a comment. */
void mgw_cfg_dump(FILE *f, const struct mgw_cfg_schema *schema, const void *obj);

/* For check() functions: format err->msg as "FILE:LINE:COL: path: ..." using the position
 * recorded for that key path during loading (or just "FILE: path: ..." if unknown).
 * A path that was not written in the file (defaulted or absent) gets the position of its
 * nearest recorded ancestor. Positions are known only while check() runs; called
 * elsewhere it writes "path: ...". */
void mgw_cfg_errf(struct mgw_cfg_err *err, const void *obj, const char *path, const char *fmt,
		  ...) __attribute__((format(printf, 4, 5)));

/* The one check of who may touch a file the gateway trusts: a configuration or device
 * registry holding secrets (forbid 027: others may not read or write it, nor the group
 * write it), a private key (077), a trust anchor or key directory (022). mode: its
 * st_mode; what: what it holds, for the message ("its secrets (sms.smsc[0].password)",
 * "it"). Returns 0, or -1 with err->msg set to one line naming the file, its mode, who
 * may do what, and the chmod that fixes it:
 *   "devices.yaml: mode 0644 lets others read its secrets ([0].coap.psk): refused
 *    (chmod 640 devices.yaml)" */
int mgw_cfg_file_mode(const char *file, unsigned mode, unsigned forbid, const char *what,
		      struct mgw_cfg_err *err);
#define MGW_CFG_SECRET_FORBID 027u

#endif
