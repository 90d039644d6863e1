/* The testdev lab adapter (src/adapter/test/README.md): a plain-TCP line protocol on
 * loopback through which tests and labs act as devices. Insecure by nature: a session
 * *claims* a credential with HELLO and the adapter believes it, so the section MUST say
 * `insecure: true` (the config check refuses it otherwise). Never enable it in production.
 */
#ifndef MGW_ADAPTER_TESTDEV_H
#define MGW_ADAPTER_TESTDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <mgw/adapter.h>
#include <mgw/cfg.h>

/* The "testdev:" config section. */
struct mgw_testdev_cfg {
	char *addr;             /* listen address (numeric IPv4/IPv6), default 127.0.0.1 */
	int64_t port;           /* TCP port; 0: any free port (logged, and written to port_file) */
	bool insecure;          /* must be true */
	char *port_file;        /* optional: the bound port is written here at start */
	int64_t ack_timeout_ms; /* how long a DELIVER waits for ACK/NACK */
	int64_t window;         /* DELIVERs awaiting ACK per session */
};

extern const struct mgw_cfg_schema mgw_testdev_schema;
extern const struct mgw_adapter_ops mgw_adapter_testdev;

#endif
