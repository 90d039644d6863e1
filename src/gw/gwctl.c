/* msgin5g-gwctl: the operator tool. Global options, then one command group from the table
 * below; a new group (devices, queue, audit) is one entry and one file. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <talloc.h>

#include <mgw/cfg.h>

#include "config.h"
#include "gwctl.h"

static const struct {
	const char *name;
	int (*run)(struct gwctl *g, int argc, char **argv);
	void (*usage)(FILE *f);
} commands[] = {
	{ "keys", gwctl_keys, gwctl_keys_usage },
	{ "devices", gwctl_devices, gwctl_devices_usage },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: msgin5g-gwctl [-c FILE] COMMAND [ARGS...]\n"
		   "       msgin5g-gwctl -V\n"
		   "  -c FILE  the gateway's configuration (YAML)\n"
		   "  -V       print the version and exit\n"
		   "  -h       this help\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		commands[i].usage(f);
}

void gwctl_err(const char *fmt, ...)
{
	va_list ap;

	fputs("msgin5g-gwctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct gw_cfg *gwctl_cfg(struct gwctl *g)
{
	struct mgw_cfg_err err = { { 0 } };

	if (g->cfg)
		return g->cfg;
	if (!g->cfg_file) {
		gwctl_err("this command needs the configuration: -c FILE");
		return NULL;
	}
	if (gw_cfg_load(g->root, g->cfg_file, &g->cfg, &err) != 0) {
		gwctl_err("%s", err.msg);
		return NULL;
	}
	return g->cfg;
}

int main(int argc, char **argv)
{
	struct gwctl g = { .root = talloc_named_const(NULL, 0, "msgin5g-gwctl") };
	int opt, rc = GWCTL_USAGE;

	while ((opt = getopt(argc, argv, "+c:hV")) != -1) {
		switch (opt) {
		case 'c':
			g.cfg_file = optarg;
			break;
		case 'h':
			usage(stdout);
			rc = GWCTL_OK;
			goto out;
		case 'V':
			printf("msgin5g-gwctl %s\n", PACKAGE_VERSION);
			rc = GWCTL_OK;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		goto out;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0) {
			rc = commands[i].run(&g, argc - optind - 1, argv + optind + 1);
			goto out;
		}
	gwctl_err("unknown command %s", argv[optind]);
	usage(stderr);
out:
	talloc_free(g.root);
	return rc;
}
