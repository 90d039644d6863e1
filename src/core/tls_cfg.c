/* The one schema of a client-TLS config block (mgw/tls_policy.h): sms.smsc[].tls and
 * mqtt.broker.tls. */
#include <stddef.h>

#include <mgw/cfg.h>
#include <mgw/tls_policy.h>

#define OFF(member) offsetof(struct mgw_tls_client, member)

static int tls_client_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_tls_client *t = obj;

	if (!t->ca) {
		mgw_cfg_errf(err, obj, path, "ca is required (the peer's certificate is verified)");
		return -1;
	}
	if (!t->cert != !t->key) {
		mgw_cfg_errf(err, obj, path, "cert and key go together");
		return -1;
	}
	return 0;
}

static const struct mgw_cfg_item tls_client_items[] = {
	{ "ca", MGW_CFG_PATH, OFF(ca), MGW_CFG_F_READABLE, 0, 0, NULL,
	  "CA of the peer's certificate (its name or IP must match the configured host)" },
	{ "cert", MGW_CFG_PATH, OFF(cert), MGW_CFG_F_READABLE, 0, 0, NULL,
	  "the gateway's client certificate (PEM), if the peer asks for one" },
	{ "key", MGW_CFG_PATH, OFF(key), MGW_CFG_F_READABLE, 0, 0, NULL,
	  "its private key (PEM)" },
	{ NULL },
};

const struct mgw_cfg_schema mgw_tls_client_schema = {
	"tls", tls_client_items, sizeof(struct mgw_tls_client), tls_client_check,
};
