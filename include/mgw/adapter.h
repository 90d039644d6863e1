/* The adapter interface: one southbound protocol per adapter (src/adapter/<p>/).
 *
 * Contract:
 * - An adapter is a const struct mgw_adapter_ops plus a config schema; the daemon keeps
 *   one array of them (src/gw), so a new protocol is one folder and one array entry.
 * - start() MUST NOT block and MUST register every socket and timer on env->base; an
 *   adapter MUST NOT start threads or run a loop of its own.
 * - An adapter MUST hand the *authenticated* identity of its channel to mgw_core_submit(),
 *   never an identity read from the message body.
 * - An adapter MUST NOT acknowledge a device before the submit callback reported MGW_OK or
 *   MGW_E_DUPLICATE (the message is durable then).
 * - deliver() MUST NOT block. It MUST call done exactly once (possibly later), and MUST NOT
 *   touch msg after calling done. MGW_OK in done means the device confirmed receipt;
 *   MGW_E_TIMEOUT / MGW_E_FULL / MGW_E_PEER with retry=true mean "keep it, try later";
 *   any other rc ends the message. MGW_DELIVER_HANDED_OVER means the next hop (an SMSC)
 *   took it and will say later whether the device got it: the entry is done, no report is
 *   made now, and the adapter reports the outcome itself (mgw_core_report_delivered() /
 *   mgw_core_report_failure()) when it learns it.
 * - Adapters MUST NOT call each other, north, or the store.
 */
#ifndef MGW_ADAPTER_H
#define MGW_ADAPTER_H

#include <stdbool.h>
#include <mgw/cfg.h>
#include <mgw/msg.h>
#include <mgw/security.h>

struct event_base;
struct mgw_core;

struct mgw_adapter_env {
	void *ctx;               /* talloc parent for the adapter's state */
	struct event_base *base; /* the one loop */
	struct mgw_core *core;   /* submit uplink here */
	struct mgw_security *sec;/* credential lookups at handshake time */
};

#define MGW_DELIVER_HANDED_OVER 1 /* a done rc: see above */

typedef void (*mgw_deliver_done)(void *arg, int rc, bool retry, const char *cause);

struct mgw_adapter_ops {
	const char *name;              /* "sms", "coap", "mqtt": also the config section */
	enum mgw_ingress ingress;
	const struct mgw_cfg_schema *cfg; /* its config section */
	int (*start)(const struct mgw_adapter_env *env, const void *cfg, void **state);
	void (*stop)(void *state);
	int (*deliver)(void *state, const struct mgw_msg *msg, const struct mgw_device *dev,
		       mgw_deliver_done done, void *arg);
	int (*reload)(void *state); /* optional: SIGHUP */
	/* optional: a registered device was added, updated (a credential or key changed) or
	 * removed (mgw_security_watch(); the core passes every change to every adapter).
	 * The lookups already answer with the new state when it is called. For UPDATED and
	 * REMOVED it MUST close every open session and drop every cached binding of that UE
	 * that was proved with the old credential (a re-keyed PSK MUST NOT keep its old DTLS
	 * session), so that its next message is refused or authenticated anew; it MUST NOT
	 * block and MUST NOT call done of a delivery from inside the call (close, and let the
	 * delivery end as it would on a lost session). ue is valid during the call only. */
	void (*device_changed)(void *state, const char *ue, enum mgw_dev_change what);
};

#endif
