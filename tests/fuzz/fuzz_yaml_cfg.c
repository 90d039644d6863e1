/* Fuzz target: the YAML configuration engine on a small nested schema. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <talloc.h>

#include <mgw/cfg.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct f_sub { char *s; int64_t n; struct mgw_cfg_strlist l; };
struct f_root { struct f_sub *sub; struct mgw_cfg_list list; bool b; int e; int64_t d, z; };

static const char *const f_enums[] = { "a", "b", NULL };
static const struct mgw_cfg_item f_sub_items[] = {
	{ .key = "s", .type = MGW_CFG_STR, .offset = offsetof(struct f_sub, s), .max = 16 },
	{ .key = "n", .type = MGW_CFG_INT, .offset = offsetof(struct f_sub, n), .min = -5, .max = 5, .def = "1" },
	{ .key = "l", .type = MGW_CFG_STRLIST, .offset = offsetof(struct f_sub, l) },
	{ 0 },
};
static const struct mgw_cfg_schema f_sub = { "sub", f_sub_items, sizeof(struct f_sub), NULL };
static const struct mgw_cfg_item f_items[] = {
	{ .key = "sub", .type = MGW_CFG_SECTION, .offset = offsetof(struct f_root, sub), .sub = &f_sub },
	{ .key = "list", .type = MGW_CFG_LIST, .offset = offsetof(struct f_root, list), .sub = &f_sub },
	{ .key = "b", .type = MGW_CFG_BOOL, .offset = offsetof(struct f_root, b), .def = "no" },
	{ .key = "e", .type = MGW_CFG_ENUM, .offset = offsetof(struct f_root, e), .enums = f_enums },
	{ .key = "d", .type = MGW_CFG_DURATION, .offset = offsetof(struct f_root, d), .def = "1s" },
	{ .key = "z", .type = MGW_CFG_SIZE, .offset = offsetof(struct f_root, z), .min = 1, .max = 1 << 20 },
	{ 0 },
};
static const struct mgw_cfg_schema f_root = { "fuzz", f_items, sizeof(struct f_root), NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *ctx = talloc_new(NULL);
	struct f_root r = { 0 };
	struct mgw_cfg_list l = { 0, NULL };
	struct mgw_cfg_err err;

	if (mgw_cfg_load_buf(ctx, "fuzz.yaml", (const char *)data, size, &f_root, &r, &err) == 0) {
		FILE *f = fopen("/dev/null", "w");

		if (f) {
			mgw_cfg_dump(f, &f_root, &r);
			fclose(f);
		}
	}
	mgw_cfg_load_list_buf(ctx, "fuzz.yaml", (const char *)data, size, &f_sub, &l, &err);
	talloc_free(ctx);
	return 0;
}
