/* testdev lab adapter: the "testdev:" configuration section. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>

#include <mgw/adapter_testdev.h>
#include <mgw/cfg.h>

#define OFF(member) offsetof(struct mgw_testdev_cfg, member)

static const struct mgw_cfg_item testdev_items[] = {
	{ "addr", MGW_CFG_STR, OFF(addr), 0, 0, 64, "127.0.0.1",
	  "listen address, numeric IPv4 or IPv6 (keep it on loopback)" },
	{ "port", MGW_CFG_INT, OFF(port), MGW_CFG_F_REQUIRED, 0, 65535, NULL,
	  "TCP port (0: any free port, logged at start and written to port_file)" },
	{ "insecure", MGW_CFG_BOOL, OFF(insecure), 0, 0, 0, "false",
	  "must be true: sessions claim credentials nobody verifies (labs and tests only)" },
	{ "port_file", MGW_CFG_PATH, OFF(port_file), MGW_CFG_F_NEWFILE, 0, 0, NULL,
	  "write the bound port here at start" },
	{ "ack_timeout", MGW_CFG_DURATION, OFF(ack_timeout_ms), 0, 10, 86400000, "30s",
	  "how long a DELIVER waits for the device's ACK or NACK" },
	{ "window", MGW_CFG_INT, OFF(window), 0, 1, 1024, "8",
	  "DELIVERs awaiting ACK per session" },
	{ NULL },
};

static int testdev_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_testdev_cfg *c = obj;
	struct in6_addr a6;
	struct in_addr a4;
	char sub[256];

	if (!c->insecure) {
		snprintf(sub, sizeof(sub), "%s.insecure", path);
		mgw_cfg_errf(err, obj, sub,
			     "testdev is an unauthenticated lab adapter: write 'insecure: true'");
		return -1;
	}
	if (inet_pton(AF_INET, c->addr, &a4) != 1 && inet_pton(AF_INET6, c->addr, &a6) != 1) {
		snprintf(sub, sizeof(sub), "%s.addr", path);
		mgw_cfg_errf(err, obj, sub, "'%s' is not a numeric IPv4 or IPv6 address", c->addr);
		return -1;
	}
	return 0;
}

const struct mgw_cfg_schema mgw_testdev_schema = {
	"testdev", testdev_items, sizeof(struct mgw_testdev_cfg), testdev_check,
};
