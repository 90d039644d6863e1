/* msgin5g-gw: the daemon. Only wiring: config, the one event loop, signals, and the
 * modules (store, security, core, router, adapters, north) plugged together. */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <talloc.h>

#include <mgw/adapter.h>
#include <mgw/adapter_coap.h>
#include <mgw/adapter_mqtt.h>
#include <mgw/adapter_sms.h>
#include <mgw/adapter_testdev.h>
#include <mgw/cfg.h>
#include <mgw/core.h>
#include <mgw/jose.h>
#include <mgw/err.h>
#include <mgw/log.h>
#include <mgw/north.h>
#include <mgw/router.h>
#include <mgw/security.h>
#include <mgw/store.h>

#include "config.h"
#include "gw_cfg.h"
#include "gw_registry.h"

/* The southbound adapters of this build (SMS, CoAP, MQTT join here as they land): a new
 * protocol is one folder under src/adapter/ and one entry in this array. */
static const struct {
	const struct mgw_adapter_ops *ops;
	size_t cfg_off; /* its section in struct gw_cfg */
} adapters[] = {
	{ &mgw_adapter_coap, offsetof(struct gw_cfg, coap) },
	{ &mgw_adapter_mqtt, offsetof(struct gw_cfg, mqtt) },
	{ &mgw_adapter_sms, offsetof(struct gw_cfg, sms) },
	{ &mgw_adapter_testdev, offsetof(struct gw_cfg, testdev) },
	{ NULL, 0 },
};
#define N_ADAPTERS (sizeof(adapters) / sizeof(adapters[0])) /* incl. the NULL end */

struct gw {
	void *root;
	const char *cfg_file;
	struct gw_cfg *cfg;        /* the startup config: modules keep pointers into it */
	struct gw_cfg *reload_cfg; /* the last SIGHUP's config (registry, policy, log) */
	struct event_base *base;
	struct event *ev_term, *ev_int, *ev_hup, *ev_usr1;
	struct mgw_store *store;
	struct mgw_regdb *regdb;    /* the registry's tables (STORE.devices) */
	struct mgw_registry *reg;   /* the cache over them, owned by sec */
	struct event *ev_regpoll;   /* reads the registry's change sequence */
	struct mgw_audit *audit;
	struct mgw_security *sec;
	struct mgw_router *router;
	struct mgw_core *core;
	struct mgw_jose_keyset *jose;   /* protection profiles toward ASs (security:), or NULL */
	struct mgw_jose_replay *jose_rp;
	struct mgw_north_client *client;
	struct mgw_msgg_server *msgg;
	void *adapter_state[N_ADAPTERS];
	bool adapter_running[N_ADAPTERS];
	int exit_code;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: msgin5g-gw -c FILE [-d] [-t] [-T]\n"
		"       msgin5g-gw -V\n"
		"  -c FILE  configuration file (YAML)\n"
		"  -d       daemonize (log to syslog)\n"
		"  -t       check the configuration and exit (0 good, 1 bad)\n"
		"  -T       print the effective configuration, defaults included, and exit\n"
		"  -V       print the version and exit\n"
		"  -h       this help\n");
}

static void apply_log(const struct gw_log_cfg *l)
{
	mgw_log_set_all(gw_level_to_log(l->level));
	for (int c = 0; c < _MGW_LOG_CAT_COUNT; c++)
		if (l->cat[c] != GW_LVL_INHERIT)
			mgw_log_set_level((enum mgw_log_cat)c, gw_level_to_log(l->cat[c]));
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	struct gw *gw = arg;

	(void)what;
	LOGP(DGW, MGW_LOGL_NOTICE, "signal %d: stopping", (int)sig);
	event_base_loopexit(gw->base, NULL);
}

static void regpoll(struct gw *gw);

/* SIGHUP: re-read the configuration for the registry and the policy; on any error keep
 * what runs and say why. */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct gw *gw = arg;
	struct mgw_cfg_err err = { { 0 } };
	struct gw_cfg *cfg = NULL;
	bool imported = false;
	int rc;

	(void)sig;
	(void)what;
	LOGP(DGW, MGW_LOGL_NOTICE, "SIGHUP: reloading registry and policy from %s", gw->cfg_file);
	if (gw_cfg_load(gw->root, gw->cfg_file, &cfg, &err) != 0) {
		LOGP(DGW, MGW_LOGL_ERROR, "reload refused, keeping the running config: %s", err.msg);
		return;
	}
	if (gw_registry_seed(gw->regdb, cfg->devices, &imported, NULL, NULL, &err) != MGW_OK) {
		LOGP(DGW, MGW_LOGL_ERROR, "reload refused, keeping the running registry: %s", err.msg);
		talloc_free(cfg);
		return;
	}
	if ((rc = mgw_security_reload(gw->sec, cfg->policy, gw->reg)) != MGW_OK) {
		LOGP_RC(DGW, MGW_LOGL_ERROR, rc, "reload refused");
		talloc_free(cfg);
		return;
	}
	if (imported) /* the seed's changes take effect now, not at the next poll */
		regpoll(gw);
	/* keys rotate without a restart: the new set, or the old one if it does not load */
	if (cfg->security) {
		struct mgw_jose_keyset *ks = NULL;

		if (mgw_jose_keyset_load(gw->root, cfg->security, &ks, &err) != MGW_OK) {
			LOGP(DGW, MGW_LOGL_ERROR, "keys not reloaded, keeping the running set: %s",
			     err.msg);
		} else {
			if (!gw->jose_rp &&
			    mgw_jose_replay_alloc(gw->root, (size_t)cfg->security->replay_cache,
						  &gw->jose_rp) != MGW_OK) {
				mgw_jose_keyset_free(ks);
				ks = gw->jose;
			}
			if (ks != gw->jose) {
				mgw_core_set_jose(gw->core, ks, gw->jose_rp);
				mgw_jose_keyset_free(gw->jose);
				gw->jose = ks;
				LOGP(DGW, MGW_LOGL_NOTICE, "keys reloaded: %zu keys",
				     mgw_jose_keyset_count(ks));
			}
		}
	} else if (gw->jose) {
		mgw_core_set_jose(gw->core, NULL, gw->jose_rp);
		mgw_jose_keyset_free(gw->jose);
		gw->jose = NULL;
		LOGP(DGW, MGW_LOGL_NOTICE, "security section gone: transport only");
	}
	mgw_audit_set_required(gw->audit, cfg->audit->required);
	if (mgw_audit_reopen(gw->audit) != MGW_OK)
		LOGP(DGW, MGW_LOGL_ERROR, "audit log %s could not be reopened", gw->cfg->audit->path);
	apply_log(cfg->log);
	/* north and the adapters keep running on the startup config (their sections need a
	 * restart); the previous reload's copy can go */
	talloc_free(gw->reload_cfg);
	gw->reload_cfg = cfg;
	LOGP(DGW, MGW_LOGL_NOTICE, "reloaded: %zu devices", mgw_registry_count(mgw_security_registry(gw->sec)));
}

/* The store's registry changed (gwctl, a seed): security drops and announces it. */
static void on_dev_change(void *arg, const char *ue, int what)
{
	struct gw *gw = arg;

	mgw_security_device_changed(gw->sec, ue, (enum mgw_dev_change)what);
}

static void regpoll(struct gw *gw)
{
	size_t n = 0;
	int rc;

	rc = mgw_registry_poll(gw->reg, 0, on_dev_change, gw, &n);
	if (rc != MGW_OK)
		LOGP_RC(DGW, MGW_LOGL_ERROR, rc, "registry: cannot read its changes");
	else if (n)
		LOGP(DGW, MGW_LOGL_INFO, "registry: %zu changes applied", n);
}

static void on_regpoll(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	regpoll(arg);
}

/* The registry's tables and the seed, before the store: a bad seed is one line on stderr
 * and exit 1, as a bad config. */
static int registry_open(struct gw *gw)
{
	struct mgw_cfg_err err = { { 0 } };
	char why[512] = "", *path;
	bool imported;
	int rc;

	if (!(path = gw_registry_path(gw->root, gw->cfg)))
		return 2;
	rc = mgw_regdb_open(gw->root, path, 2000, &gw->regdb, why, sizeof(why));
	talloc_free(path);
	if (rc != MGW_OK) {
		fprintf(stderr, "msgin5g-gw: registry: %s\n", why);
		return 2;
	}
	if ((rc = gw_registry_seed(gw->regdb, gw->cfg->devices, &imported, NULL, NULL, &err)) !=
	    MGW_OK) {
		fprintf(stderr, "msgin5g-gw: %s\n", err.msg);
		/* a bad seed is a bad configuration; a busy or failing store a runtime failure */
		return rc == MGW_E_CONFIG || rc == MGW_E_IO || rc == MGW_E_DUPLICATE ||
			       rc == MGW_E_MALFORMED ? 1 : 2;
	}
	return 0;
}

/* The cache over the tables and the poll of their change sequence. */
static int registry_start(struct gw *gw)
{
	struct timeval tv;
	int rc;

	/* schema 2's copy without secrets ("registry" key/value rows) is replaced by the tables */
	if ((rc = mgw_store_kv_clear(gw->store, "registry")) != MGW_OK ||
	    (rc = mgw_registry_open_db(gw->root, gw->regdb, (size_t)gw->cfg->registry->cache,
				       &gw->reg)) != MGW_OK) {
		LOGP_RC(DGW, MGW_LOGL_ERROR, rc, "registry");
		return 2;
	}
	tv.tv_sec = gw->cfg->registry->poll_ms / 1000;
	tv.tv_usec = (gw->cfg->registry->poll_ms % 1000) * 1000;
	if (!(gw->ev_regpoll = event_new(gw->base, -1, EV_PERSIST, on_regpoll, gw)) ||
	    event_add(gw->ev_regpoll, &tv) != 0) {
		LOGP(DGW, MGW_LOGL_ERROR, "registry: cannot start its poll timer");
		return 2;
	}
	return 0;
}

static void on_usr1(evutil_socket_t sig, short what, void *arg)
{
	struct gw *gw = arg;

	(void)sig;
	(void)what;
	talloc_report_full(gw->root, stderr);
}

static int write_pidfile(const char *path)
{
	char buf[32];
	int fd, n;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return MGW_E_IO;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return MGW_E_IO;
	}
	close(fd);
	return MGW_OK;
}

static int daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return MGW_E_IO;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return MGW_E_IO;
	pid = fork();
	if (pid < 0)
		return MGW_E_IO;
	if (pid > 0)
		_exit(0);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return MGW_OK;
}

static struct event *add_signal(struct gw *gw, int sig, event_callback_fn fn)
{
	struct event *ev = evsignal_new(gw->base, sig, fn, gw);

	if (ev && evsignal_add(ev, NULL) != 0) {
		event_free(ev);
		ev = NULL;
	}
	return ev;
}

/* Open everything; returns an exit code (0 = running). Logs the cause once. */
/* Raise the soft RLIMIT_NOFILE to the hard limit (systemd's soft default is 1024): every
 * north connection, CoAP session and M5S request is a descriptor. The north listener sizes
 * its connection cap from the result (http_server.c fd_cap). */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			LOGP(DGW, MGW_LOGL_NOTICE, "RLIMIT_NOFILE %llu: cannot raise it to %llu: %s",
			     (unsigned long long)was, (unsigned long long)rl.rlim_max, strerror(errno));
			return;
		}
	}
	LOGP(DGW, MGW_LOGL_NOTICE, "RLIMIT_NOFILE %llu", (unsigned long long)rl.rlim_cur);
}

static int gw_start(struct gw *gw)
{
	struct mgw_cfg_err err = { { 0 } };
	struct mgw_store_opts sopts = { 0 };
	struct mgw_core_cfg ccfg = { 0 };
	char why[512] = "";
	int rc;

	if (!(gw->base = event_base_new())) {
		LOGP(DGW, MGW_LOGL_ERROR, "cannot create the event loop");
		return 2;
	}
	if (!(gw->ev_term = add_signal(gw, SIGTERM, on_term)) ||
	    !(gw->ev_int = add_signal(gw, SIGINT, on_term)) ||
	    !(gw->ev_hup = add_signal(gw, SIGHUP, on_hup)) ||
	    !(gw->ev_usr1 = add_signal(gw, SIGUSR1, on_usr1))) {
		LOGP(DGW, MGW_LOGL_ERROR, "cannot install signal handlers");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	if ((rc = registry_open(gw)) != 0)
		return rc;
	sopts.sync_full = gw->cfg->queue->sync == 0;
	sopts.done_keep_ms = 24LL * 3600 * 1000;
	sopts.group_us = gw->cfg->queue->group_commit_ms * 1000;
	if (gw->cfg->lab && gw->cfg->lab->enable)
		sopts.fault_file = gw->cfg->lab->store_fault;
	if ((rc = mgw_store_open(gw->root, gw->cfg->store, &sopts, &gw->store, why, sizeof(why))) !=
	    MGW_OK) {
		LOGP(DGW, MGW_LOGL_ERROR, "store: %s", why);
		fprintf(stderr, "msgin5g-gw: store: %s\n", why);
		return 2;
	}
	if ((rc = mgw_store_attach(gw->store, gw->base)) != MGW_OK) {
		LOGP_RC(DGW, MGW_LOGL_ERROR, rc, "store: cannot attach to the loop");
		return 2;
	}
	if ((rc = mgw_audit_open(gw->root, gw->cfg->audit->path, &gw->audit, why, sizeof(why))) !=
	    MGW_OK) {
		LOGP(DGW, MGW_LOGL_ERROR, "audit: %s", why);
		fprintf(stderr, "msgin5g-gw: audit: %s\n", why);
		return 2;
	}
	mgw_audit_set_required(gw->audit, gw->cfg->audit->required);
	if ((rc = registry_start(gw)) != 0)
		return rc;
	if ((rc = mgw_security_alloc(gw->root, gw->cfg->policy, gw->reg, gw->audit, gw->store,
				     &gw->sec)) != MGW_OK) {
		LOGP_RC(DGW, MGW_LOGL_ERROR, rc, "security");
		return 2;
	}
	if ((rc = mgw_router_alloc(gw->root, &gw->router)) != MGW_OK)
		return 2;
	if (gw->cfg->lab && gw->cfg->lab->enable) {
		LOGP(DGW, MGW_LOGL_NOTICE, "LAB MODE (lab.enable: true): not for production");
		if (gw->cfg->lab->keylog) {
			if (mgw_keylog_open(gw->cfg->lab->keylog, why, sizeof(why)) != MGW_OK) {
				LOGP(DGW, MGW_LOGL_ERROR, "lab.keylog: %s", why);
				fprintf(stderr, "msgin5g-gw: lab.keylog: %s\n", why);
				return 2;
			}
			LOGP(DGW, MGW_LOGL_NOTICE, "LAB MODE: the TLS/DTLS secrets of every connection "
			     "are written to %s (lab.keylog): all traffic can be decrypted",
			     gw->cfg->lab->keylog);
		}
	}
	if (gw->cfg->security) {
		/* the keys are part of the configuration: a key file with a loose mode, a JWKS
		 * with private members ... refuse to start, naming the file */
		if (mgw_jose_keyset_load(gw->root, gw->cfg->security, &gw->jose, &err) != MGW_OK) {
			fprintf(stderr, "msgin5g-gw: %s\n", err.msg);
			LOGP(DGW, MGW_LOGL_ERROR, "security: %s", err.msg);
			return 1;
		}
		if ((rc = mgw_jose_replay_alloc(gw->root, (size_t)gw->cfg->security->replay_cache,
						&gw->jose_rp)) != MGW_OK)
			return 2;
		LOGP(DGW, MGW_LOGL_NOTICE, "security: %zu keys (own and applications')",
		     mgw_jose_keyset_count(gw->jose));
	}
	ccfg.base = gw->base;
	ccfg.downlink_validity_ms = gw->cfg->queue->downlink_validity_ms;
	ccfg.high_water = (size_t)gw->cfg->queue->high_water;
	if ((rc = mgw_core_alloc(gw->root, &ccfg, gw->sec, gw->store, gw->router, &gw->core)) !=
	    MGW_OK) {
		LOGP_RC(DGW, MGW_LOGL_ERROR, rc, "core");
		return 2;
	}
	mgw_core_set_jose(gw->core, gw->jose, gw->jose_rp);
	/* after the configuration, registry and store were accepted (their errors come alone),
	 * before the adapters and the listener size themselves */
	raise_nofile();
	for (size_t i = 0; adapters[i].ops; i++) {
		const struct mgw_adapter_ops *ops = adapters[i].ops;
		const void *acfg = *(void *const *)((const char *)gw->cfg + adapters[i].cfg_off);
		struct mgw_adapter_env env = { gw->root, gw->base, gw->core, gw->sec };

		if (!acfg)
			continue;
		if ((rc = ops->start(&env, acfg, &gw->adapter_state[i])) != MGW_OK) {
			LOGP_RC(DGW, MGW_LOGL_ERROR, rc, "adapter %s did not start", ops->name);
			fprintf(stderr, "msgin5g-gw: %s: %s\n", ops->name, mgw_strerror(rc));
			return 2;
		}
		gw->adapter_running[i] = true;
		if ((rc = mgw_router_add(gw->router, ops, gw->adapter_state[i])) != MGW_OK)
			return 2;
	}
	if (gw->cfg->north && gw->cfg->north->m5s) {
		if ((rc = mgw_north_client_start(gw->root, gw->base, gw->cfg->north->m5s, gw->core,
						 gw->store, &gw->client, why, sizeof(why))) != MGW_OK) {
			LOGP(DGW, MGW_LOGL_ERROR, "north client: %s", why);
			fprintf(stderr, "msgin5g-gw: north.m5s: %s\n", why);
			return 2;
		}
		if ((rc = mgw_north_client_sync_devices(gw->client, gw->sec)) != MGW_OK)
			return 2;
	} else {
		LOGP(DGW, MGW_LOGL_NOTICE, "north.m5s absent: uplink messages stay queued");
	}
	if (gw->cfg->north && gw->cfg->north->listen) {
		if ((rc = mgw_msgg_server_start(gw->root, gw->base, gw->cfg->north->listen, gw->core,
						gw->sec, &gw->msgg, why, sizeof(why))) != MGW_OK) {
			LOGP(DGW, MGW_LOGL_ERROR, "north listener: %s", why);
			fprintf(stderr, "msgin5g-gw: north.listen: %s\n", why);
			return 2;
		}
	}
	LOGP(DGW, MGW_LOGL_NOTICE, "ready: %zu devices, store %s, audit %s%s",
	     mgw_registry_count(mgw_security_registry(gw->sec)), gw->cfg->store,
	     gw->cfg->audit->path, gw->cfg->audit->required ? " (required)" : "");
	return 0;
}

static void gw_stop(struct gw *gw)
{
	/* stop taking work first, then flush what was accepted */
	mgw_msgg_server_free(gw->msgg);
	gw->msgg = NULL;
	mgw_north_client_free(gw->client);
	gw->client = NULL;
	for (size_t i = 0; adapters[i].ops; i++)
		if (gw->adapter_running[i]) {
			adapters[i].ops->stop(gw->adapter_state[i]);
			gw->adapter_running[i] = false;
		}
	if (gw->store) {
		int rc = mgw_store_flush(gw->store);

		if (rc != MGW_OK)
			LOGP_RC(DGW, MGW_LOGL_ERROR, rc, "final store flush failed");
	}
	if (gw->ev_term)
		event_free(gw->ev_term);
	if (gw->ev_int)
		event_free(gw->ev_int);
	if (gw->ev_hup)
		event_free(gw->ev_hup);
	if (gw->ev_usr1)
		event_free(gw->ev_usr1);
	if (gw->ev_regpoll)
		event_free(gw->ev_regpoll);
	gw->ev_regpoll = NULL;
	gw->ev_term = gw->ev_int = gw->ev_hup = gw->ev_usr1 = NULL;
	/* free the modules (their destructors close files and the database) before the loop */
	talloc_free(gw->root);
	gw->root = NULL;
	if (gw->base)
		event_base_free(gw->base);
	gw->base = NULL;
	mgw_keylog_close();
	libevent_global_shutdown();
}

int main(int argc, char **argv)
{
	struct gw gw = { 0 };
	struct mgw_cfg_err err = { { 0 } };
	bool check_only = false, dump = false, detach = false;
	int opt, code;

	while ((opt = getopt(argc, argv, "c:dtTVh")) != -1) {
		switch (opt) {
		case 'c':
			gw.cfg_file = optarg;
			break;
		case 'd':
			detach = true;
			break;
		case 't':
			check_only = true;
			break;
		case 'T':
			dump = true;
			break;
		case 'V':
			printf("msgin5g-gw %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "msgin5g-gw: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 1;
	}
	if (!gw.cfg_file) {
		fprintf(stderr, "msgin5g-gw: -c FILE is required\n");
		usage(stderr);
		return 1;
	}
	gw.root = talloc_named_const(NULL, 0, "msgin5g-gw");
	if (!gw.root)
		return 2;
	if (gw_cfg_load(gw.root, gw.cfg_file, &gw.cfg, &err) != 0) {
		fprintf(stderr, "msgin5g-gw: %s\n", err.msg);
		talloc_free(gw.root);
		return 1;
	}
	if (dump) {
		mgw_cfg_dump(stdout, &gw_cfg_schema, gw.cfg);
		talloc_free(gw.root);
		return 0;
	}
	if (check_only) {
		/* the registry is part of the configuration: check it too */
		struct mgw_registry *reg = NULL;

		code = 0;
		struct mgw_jose_keyset *ks = NULL;

		if (mgw_registry_load(gw.root, gw.cfg->devices, &reg, &err) != MGW_OK) {
			fprintf(stderr, "msgin5g-gw: %s\n", err.msg);
			code = 1;
		} else if (gw.cfg->security &&
			   mgw_jose_keyset_load(gw.root, gw.cfg->security, &ks, &err) != MGW_OK) {
			fprintf(stderr, "msgin5g-gw: %s\n", err.msg);
			code = 1;
		} else {
			printf("msgin5g-gw: %s: configuration OK (%zu devices)\n", gw.cfg_file,
			       mgw_registry_count(reg));
		}
		talloc_free(gw.root);
		return code;
	}
	apply_log(gw.cfg->log);
	if (detach) {
		if (daemonize() != MGW_OK) {
			fprintf(stderr, "msgin5g-gw: cannot daemonize: %s\n", strerror(errno));
			talloc_free(gw.root);
			return 2;
		}
		mgw_log_use_syslog(true);
	} else if (gw.cfg->log->syslog) {
		mgw_log_use_syslog(true);
	}
	if (gw.cfg->pidfile && write_pidfile(gw.cfg->pidfile) != MGW_OK) {
		LOGP(DGW, MGW_LOGL_ERROR, "cannot write pidfile %s: %s", gw.cfg->pidfile,
		     strerror(errno));
		gw_stop(&gw);
		return 2;
	}
	code = gw_start(&gw);
	if (code == 0) {
		event_base_dispatch(gw.base);
		LOGP(DGW, MGW_LOGL_NOTICE, "stopped");
	}
	if (gw.cfg && gw.cfg->pidfile && code == 0)
		unlink(gw.cfg->pidfile);
	gw_stop(&gw);
	return code;
}
