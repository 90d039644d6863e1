/* msgin5g-gw security: the JOSE key set (include/mgw/jose.h, doc/internals/jose.md).
 *
 * The gateway's private keys are PKCS#8 PEM files (EC P-256) in one directory, named
 * <kid>.<use>.pem or <kid>.<use>.retired.pem. They are read with OpenSSL (whose PEM
 * decoder keeps the DER in secure memory), the scalar is copied once into a stack buffer to
 * build the cjose key and wiped; the file's bytes are read into a buffer wiped on free.
 * Nothing private is ever put into a JSON object: jansson frees its strings without
 * wiping them, so only public keys go through JSON (JWKS import and export).
 *
 * An application's public keys come from its JWKS file, parsed with jansson
 * (duplicate members refused) and handed to cjose key by key once checked.
 *
 * Every refusal is one line naming the file, the kid and what is wrong; no key bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <talloc.h>

#include <mgw/cfg.h>
#include <mgw/err.h>
#include <mgw/jose.h>

#include "jose_int.h"

#define OFF(type, member) offsetof(struct type, member)
#define KEY_FILE_MAX 16384   /* a PEM P-256 key is ~250 bytes */
#define JWKS_FILE_MAX 262144 /* a JWKS of a few dozen keys */
#define EC_COORD 32          /* P-256 */

/* ==================================================================================== */
/* configuration: "security:"                                                           */
/* ==================================================================================== */

static const char *const prot_names[] = { "transport", "sign", "encrypt", NULL };

const char *mgw_jose_protection_name(enum mgw_jose_protection p)
{
	return (unsigned)p < 3 ? prot_names[p] : "?";
}

static int app_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_jose_app_cfg *a = obj;
	char sub[96];

	if (a->protection == MGW_JOSE_ENCRYPT && !a->jwks) {
		snprintf(sub, sizeof(sub), "%s.jwks", path);
		mgw_cfg_errf(err, obj, sub,
			     "protection encrypt needs the AS's public keys (a JWKS with an "
			     "encryption key)");
		return -1;
	}
	return 0;
}

static const struct mgw_cfg_item app_items[] = {
	{ "as", MGW_CFG_STR, OFF(mgw_jose_app_cfg, as), MGW_CFG_F_REQUIRED, 1, MGW_ID_MAX, NULL,
	  "the Application Server: its addr (addrType AS)" },
	/* not F_READABLE: keys import-as installs it; loading the key set names a missing file */
	{ "jwks", MGW_CFG_PATH, OFF(mgw_jose_app_cfg, jwks), 0, 0, 0, NULL,
	  "its public keys (RFC 7517 JWKS, EC P-256): verify its downlink, encrypt to it" },
	{ "protection", MGW_CFG_ENUM, OFF(mgw_jose_app_cfg, protection), 0, 0, 0, "transport",
	  "transport|sign|encrypt: what the gateway does to payloads it forwards to this AS",
	  NULL, prot_names },
	{ NULL },
};

static const struct mgw_cfg_schema app_schema = {
	"application", app_items, sizeof(struct mgw_jose_app_cfg), app_check,
};

static int sec_check(void *obj, const char *path, struct mgw_cfg_err *err)
{
	struct mgw_jose_cfg *c = obj;
	char sub[96];

	for (size_t i = 0; i < c->applications.n; i++) {
		struct mgw_jose_app_cfg *a =
			MGW_CFG_LIST_AT(&c->applications, struct mgw_jose_app_cfg, i);

		snprintf(sub, sizeof(sub), "%s%sapplications[%zu]", path, *path ? "." : "", i);
		if (a->protection != MGW_JOSE_TRANSPORT && !c->keys) {
			mgw_cfg_errf(err, obj, sub,
				     "protection %s needs the gateway's keys (security.keys)",
				     mgw_jose_protection_name(a->protection));
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			struct mgw_jose_app_cfg *b =
				MGW_CFG_LIST_AT(&c->applications, struct mgw_jose_app_cfg, j);

			if (strcmp(a->as, b->as) == 0) {
				snprintf(sub, sizeof(sub), "%s%sapplications[%zu].as", path,
					 *path ? "." : "", i);
				mgw_cfg_errf(err, obj, sub, "AS %s is listed twice", a->as);
				return -1;
			}
		}
	}
	return 0;
}

static const struct mgw_cfg_item sec_items[] = {
	{ "keys", MGW_CFG_PATH, OFF(mgw_jose_cfg, keys), MGW_CFG_F_DIR, 0, 0, NULL,
	  "the gateway's private keys: <kid>.sig.pem / <kid>.enc.pem, mode 0600 "
	  "(msgin5g-gwctl keys gen)" },
	{ "applications", MGW_CFG_LIST, OFF(mgw_jose_cfg, applications), 0, 0, 0, NULL,
	  "Application Servers and their protection profile", &app_schema },
	{ "require_signed_downlink", MGW_CFG_BOOL, OFF(mgw_jose_cfg, require_signed_downlink), 0,
	  0, 0, "false", "true: payloads from an AS that are not signed by it are refused" },
	{ "max_skew", MGW_CFG_DURATION, OFF(mgw_jose_cfg, max_skew_ms), 0, 1000,
	  86400LL * 1000, "5m", "a JWS is valid while |now - iat| is at most this" },
	{ "replay_cache", MGW_CFG_INT, OFF(mgw_jose_cfg, replay_cache), 0, 16, 10000000,
	  "100000", "signed downlink objects remembered (within max_skew) to refuse replays" },
	{ NULL },
};

const struct mgw_cfg_schema mgw_jose_cfg_schema = {
	"security", sec_items, sizeof(struct mgw_jose_cfg), sec_check,
};

/* ==================================================================================== */
/* helpers                                                                              */
/* ==================================================================================== */

static int kerr(struct mgw_cfg_err *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int kerr(struct mgw_cfg_err *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	ERR_clear_error(); /* nothing of ours stays in OpenSSL's error queue */
	return rc;
}

static int wipe_destructor(char *p)
{
	OPENSSL_cleanse(p, talloc_get_size(p));
	return 0;
}

static int key_destructor(struct jose_key *k)
{
	cjose_jwk_release(k->jwk);
	k->jwk = NULL;
	EVP_PKEY_free(k->pkey); /* clears the private scalar */
	k->pkey = NULL;
	return 0;
}

static struct jose_key *key_new(void *ctx)
{
	struct jose_key *k = talloc_zero(ctx, struct jose_key);

	if (k)
		talloc_set_destructor(k, key_destructor);
	return k;
}

static bool own_kid_ok(const char *s, size_t n)
{
	if (n == 0 || n > MGW_JOSE_KID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

static bool peer_kid_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MGW_JOSE_KID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static const char *use_name(enum mgw_jose_use u)
{
	return u == MGW_JOSE_USE_SIG ? "sig" : "enc";
}

static const char *use_alg(enum mgw_jose_use u)
{
	return u == MGW_JOSE_USE_SIG ? "ES256" : "ECDH-ES";
}

static unsigned use_algs(enum mgw_jose_use u)
{
	return u == MGW_JOSE_USE_SIG ? MGW_JOSE_ALG_ES256 : MGW_JOSE_ALG_ECDH_ES_A256GCM;
}

/* Open path, check what it is and who may touch it, read it whole under ctx. forbid: the
 * mode bits that refuse the file (077 for a private key, 022 for a trust anchor). A secret
 * buffer is wiped when freed. */
static int slurp(void *ctx, const char *path, size_t max, mode_t forbid, bool secret,
		 char **out, size_t *out_len, struct mgw_cfg_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return kerr(err, MGW_E_CONFIG, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = kerr(err, MGW_E_CONFIG, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = kerr(err, MGW_E_CONFIG, "%s: not a regular file", path);
		goto out;
	}
	if (secret && st.st_uid != geteuid() && st.st_uid != 0) {
		rc = kerr(err, MGW_E_CONFIG,
			  "%s: owned by uid %u, not by the gateway's user (uid %u) or root: "
			  "refused for a private key",
			  path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	if (mgw_cfg_file_mode(path, (unsigned)st.st_mode, (unsigned)forbid,
			      secret ? "its private key" : "it", err) < 0) {
		rc = MGW_E_CONFIG;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = kerr(err, MGW_E_CONFIG, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	if (!(buf = talloc_size(ctx, (size_t)st.st_size + 1))) {
		rc = kerr(err, MGW_E_NOMEM, "%s: out of memory", path);
		goto out;
	}
	if (secret)
		talloc_set_destructor(buf, wipe_destructor);
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = kerr(err, MGW_E_CONFIG, "%s: read failed: %s", path,
				  r < 0 ? strerror(errno) : "file shrank");
			goto out;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	buf = NULL;
	rc = MGW_OK;
out:
	talloc_free(buf);
	close(fd);
	return rc;
}

/* ==================================================================================== */
/* the set                                                                              */
/* ==================================================================================== */

int mgw_jose_keyset_alloc(void *ctx, struct mgw_jose_keyset **out)
{
	struct mgw_jose_keyset *ks = talloc_zero(ctx, struct mgw_jose_keyset);

	if (!ks)
		return MGW_E_NOMEM;
	talloc_set_name_const(ks, "mgw_jose_keyset");
	ks->skew = MGW_JOSE_SKEW_DEFAULT;
	ks->max_len = MGW_JOSE_MAX_DEFAULT;
	*out = ks;
	return MGW_OK;
}

void mgw_jose_keyset_free(struct mgw_jose_keyset *ks)
{
	talloc_free(ks);
}

void mgw_jose_keyset_set_skew(struct mgw_jose_keyset *ks, int64_t seconds)
{
	ks->skew = seconds < 0 ? 0 : seconds;
}

void mgw_jose_keyset_set_require_signed(struct mgw_jose_keyset *ks, bool on)
{
	ks->require_signed = on;
}

const struct jose_key *jose_own_key(const struct mgw_jose_keyset *ks, enum mgw_jose_use use,
				    const char *kid)
{
	for (size_t i = 0; i < ks->n_own; i++) {
		const struct jose_key *k = ks->own[i];

		if (k->use != use)
			continue;
		if (kid ? strcmp(k->kid, kid) == 0 : k->state == MGW_JOSE_ACTIVE)
			return k;
	}
	return NULL;
}

const struct jose_app *jose_app_find(const struct mgw_jose_keyset *ks, const char *as)
{
	if (!as)
		return NULL;
	for (size_t i = 0; i < ks->n_apps; i++)
		if (strcmp(ks->apps[i]->as, as) == 0)
			return ks->apps[i];
	return NULL;
}

const struct jose_key *jose_app_key(const struct jose_app *app, enum mgw_jose_use use,
				    const char *kid)
{
	for (size_t i = 0; i < app->n_keys; i++) {
		const struct jose_key *k = app->keys[i];

		if (k->use == use && (!kid || strcmp(k->kid, kid) == 0))
			return k;
	}
	return NULL;
}

enum mgw_jose_protection mgw_jose_keyset_protection(const struct mgw_jose_keyset *ks,
						    const char *as)
{
	const struct jose_app *a = jose_app_find(ks, as);

	return a ? a->prot : MGW_JOSE_TRANSPORT;
}

static int push_key(void *parent, struct jose_key ***arr, size_t *n, struct jose_key *k)
{
	struct jose_key **v = talloc_realloc(parent, *arr, struct jose_key *, *n + 1);

	if (!v)
		return MGW_E_NOMEM;
	v[(*n)++] = talloc_steal(v, k);
	*arr = v;
	return MGW_OK;
}

/* ==================================================================================== */
/* the gateway's private keys                                                           */
/* ==================================================================================== */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1; /* an encrypted key file is refused, never prompted for */
}

/* A cjose key from an OpenSSL P-256 private key. The scalar passes through one stack
 * buffer, wiped before return. */
static int jwk_from_pkey(EVP_PKEY *pk, cjose_jwk_t **out)
{
	uint8_t d[EC_COORD], x[EC_COORD], y[EC_COORD];
	BIGNUM *bd = NULL, *bx = NULL, *by = NULL;
	cjose_jwk_ec_keyspec spec;
	cjose_jwk_t *jwk = NULL;
	cjose_err cerr;
	int rc = MGW_E_CRYPTO;

	if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, &bd) ||
	    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &bx) ||
	    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &by) ||
	    BN_bn2binpad(bd, d, EC_COORD) != EC_COORD || BN_bn2binpad(bx, x, EC_COORD) != EC_COORD ||
	    BN_bn2binpad(by, y, EC_COORD) != EC_COORD)
		goto out;
	memset(&spec, 0, sizeof(spec));
	spec.crv = CJOSE_JWK_EC_P_256;
	spec.d = d;
	spec.dlen = EC_COORD;
	spec.x = x;
	spec.xlen = EC_COORD;
	spec.y = y;
	spec.ylen = EC_COORD;
	if (!(jwk = cjose_jwk_create_EC_spec(&spec, &cerr))) {
		rc = cerr.code == CJOSE_ERR_NO_MEMORY ? MGW_E_NOMEM : MGW_E_CRYPTO;
		goto out;
	}
	*out = jwk;
	rc = MGW_OK;
out:
	OPENSSL_cleanse(d, sizeof(d));
	BN_clear_free(bd);
	BN_free(bx);
	BN_free(by);
	return rc;
}

int mgw_jose_keyset_add_pem(struct mgw_jose_keyset *ks, const char *kid, enum mgw_jose_use use,
			    enum mgw_jose_state state, const char *pem, size_t len,
			    const char *name, struct mgw_cfg_err *err)
{
	struct jose_key *k = NULL;
	EVP_PKEY *pk = NULL;
	BIO *bio = NULL;
	char group[32];
	cjose_err cerr;
	int rc;

	if (!kid || !own_kid_ok(kid, strlen(kid)))
		return kerr(err, MGW_E_CONFIG,
			    "%s: kid must be 1..%d characters of A-Z a-z 0-9 - _", name,
			    MGW_JOSE_KID_MAX);
	if (use != MGW_JOSE_USE_SIG && use != MGW_JOSE_USE_ENC)
		return kerr(err, MGW_E_INVAL, "%s: use must be sig or enc", name);
	for (size_t i = 0; i < ks->n_own; i++)
		if (strcmp(ks->own[i]->kid, kid) == 0)
			return kerr(err, MGW_E_CONFIG, "%s: kid %s is also the kid of %s", name, kid,
				    ks->own[i]->file);
	if (len > KEY_FILE_MAX || len > 0x7fffffff)
		return kerr(err, MGW_E_CONFIG, "%s: larger than %d bytes", name, KEY_FILE_MAX);
	if (!(bio = BIO_new_mem_buf(pem, (int)len))) {
		rc = kerr(err, MGW_E_NOMEM, "%s: out of memory", name);
		goto out;
	}
	if (!(pk = PEM_read_bio_PrivateKey_ex(bio, NULL, no_passphrase, NULL, NULL, NULL))) {
		rc = kerr(err, MGW_E_CONFIG,
			  "%s: not an unencrypted private key in PEM (PKCS#8 or SEC1 EC)",
			  name);
		goto out;
	}
	if (!EVP_PKEY_is_a(pk, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    NULL) ||
	    (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
		rc = kerr(err, MGW_E_CONFIG,
			  "%s: not an EC P-256 key (ES256 and ECDH-ES need P-256)", name);
		goto out;
	}
	if (!(k = key_new(ks))) {
		rc = kerr(err, MGW_E_NOMEM, "%s: out of memory", name);
		goto out;
	}
	if ((rc = jwk_from_pkey(pk, &k->jwk)) != MGW_OK) {
		rc = kerr(err, rc, "%s: cannot use the key (%s)", name, mgw_strerror(rc));
		goto out;
	}
	if (!cjose_jwk_set_kid(k->jwk, kid, strlen(kid), &cerr) ||
	    !(k->file = talloc_strdup(k, name))) {
		rc = kerr(err, MGW_E_NOMEM, "%s: out of memory", name);
		goto out;
	}
	snprintf(k->kid, sizeof(k->kid), "%s", kid);
	k->use = use;
	k->state = state;
	k->algs = use_algs(use);
	k->has_private = true;
	k->pkey = pk;
	pk = NULL;
	if ((rc = push_key(ks, &ks->own, &ks->n_own, k)) != MGW_OK) {
		rc = kerr(err, rc, "%s: out of memory", name);
		goto out;
	}
	k = NULL;
	rc = MGW_OK;
out:
	talloc_free(k);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

/* "<kid>.<use>.pem" or "<kid>.<use>.retired.pem": 1 if the name parses, 0 if it does not
 * end in .pem (not a key file), -1 if it ends in .pem but does not follow the pattern. */
static int parse_key_name(const char *name, char *kid, size_t cap, enum mgw_jose_use *use,
			  enum mgw_jose_state *st)
{
	size_t n = strlen(name);

	if (n < 4 || strcmp(name + n - 4, ".pem") != 0)
		return 0;
	n -= 4;
	*st = MGW_JOSE_ACTIVE;
	if (n > 8 && strncmp(name + n - 8, ".retired", 8) == 0) {
		*st = MGW_JOSE_RETIRED;
		n -= 8;
	}
	if (n > 4 && strncmp(name + n - 4, ".sig", 4) == 0)
		*use = MGW_JOSE_USE_SIG;
	else if (n > 4 && strncmp(name + n - 4, ".enc", 4) == 0)
		*use = MGW_JOSE_USE_ENC;
	else
		return -1;
	n -= 4;
	if (!own_kid_ok(name, n) || n >= cap)
		return -1;
	memcpy(kid, name, n);
	kid[n] = '\0';
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int mgw_jose_keyset_add_dir(struct mgw_jose_keyset *ks, const char *dir, struct mgw_cfg_err *err)
{
	void *tmp = talloc_new(NULL);
	char **names = NULL;
	size_t n = 0;
	struct stat st;
	DIR *d = NULL;
	struct dirent *de;
	int rc;

	if (!tmp)
		return kerr(err, MGW_E_NOMEM, "%s: out of memory", dir);
	if (stat(dir, &st) < 0) {
		rc = kerr(err, MGW_E_CONFIG, "%s: %s (create the keys with msgin5g-gwctl keys gen)",
			  dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = kerr(err, MGW_E_CONFIG, "%s: not a directory", dir);
		goto out;
	}
	if (mgw_cfg_file_mode(dir, (unsigned)st.st_mode, 022, "it (add keys)", err) < 0) {
		rc = MGW_E_CONFIG;
		goto out;
	}
	if (!(d = opendir(dir))) {
		rc = kerr(err, MGW_E_CONFIG, "%s: cannot list: %s", dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		char **v;

		if (de->d_name[0] == '.')
			continue;
		if (!(v = talloc_realloc(tmp, names, char *, n + 1)) ||
		    !(v[n] = talloc_strdup(v, de->d_name))) {
			rc = kerr(err, MGW_E_NOMEM, "%s: out of memory", dir);
			goto out;
		}
		names = v;
		n++;
	}
	if (n)
		qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char kid[MGW_JOSE_KID_MAX + 1], *path, *pem = NULL;
		enum mgw_jose_use use;
		enum mgw_jose_state state;
		size_t len;
		int p = parse_key_name(names[i], kid, sizeof(kid), &use, &state);

		if (p == 0)
			continue;
		if (!(path = talloc_asprintf(tmp, "%s/%s", dir, names[i]))) {
			rc = kerr(err, MGW_E_NOMEM, "%s: out of memory", dir);
			goto out;
		}
		if (p < 0) {
			rc = kerr(err, MGW_E_CONFIG,
				  "%s: a key file is named <kid>.sig.pem or <kid>.enc.pem (retired: "
				  "<kid>.sig.retired.pem, <kid>.enc.retired.pem), kid of A-Z a-z "
				  "0-9 - _",
				  path);
			goto out;
		}
		if ((rc = slurp(tmp, path, KEY_FILE_MAX, 077, true, &pem, &len, err)) != MGW_OK)
			goto out;
		rc = mgw_jose_keyset_add_pem(ks, kid, use, state, pem, len, path, err);
		talloc_free(pem); /* wiped */
		if (rc != MGW_OK)
			goto out;
	}
	/* at most one active key per use: the one that signs / that ASs encrypt to */
	for (size_t i = 0; i < ks->n_own; i++)
		for (size_t j = i + 1; j < ks->n_own; j++)
			if (ks->own[i]->use == ks->own[j]->use &&
			    ks->own[i]->state == MGW_JOSE_ACTIVE &&
			    ks->own[j]->state == MGW_JOSE_ACTIVE) {
				rc = kerr(err, MGW_E_CONFIG,
					  "%s: two active %s keys (%s and %s): retire one "
					  "(msgin5g-gwctl keys retire KID)",
					  dir, ks->own[i]->use == MGW_JOSE_USE_SIG ? "signing"
										  : "encryption",
					  ks->own[i]->kid, ks->own[j]->kid);
				goto out;
			}
	rc = MGW_OK;
out:
	if (d)
		closedir(d);
	talloc_free(tmp);
	return rc;
}

/* ==================================================================================== */
/* applications and their JWKS                                                          */
/* ==================================================================================== */

static const char *jstr(const json_t *o, const char *member)
{
	const json_t *v = json_object_get(o, member);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* One JWK of an AS's JWKS, checked before cjose sees it. */
static int app_key(struct jose_app *app, const json_t *jk, size_t i, const char *name,
		   struct mgw_cfg_err *err)
{
	const char *kid, *kty, *crv, *use, *alg;
	enum mgw_jose_use u;
	struct jose_key *k = NULL;
	cjose_err cerr;
	int rc;

	if (!json_is_object(jk))
		return kerr(err, MGW_E_CONFIG, "%s: keys[%zu] is not an object", name, i);
	if (!(kid = jstr(jk, "kid")) || !peer_kid_ok(kid))
		return kerr(err, MGW_E_CONFIG,
			    "%s: keys[%zu]: needs a kid (1..%d printable characters)", name, i,
			    MGW_JOSE_KID_MAX);
	if (json_object_get(jk, "d") || json_object_get(jk, "p") || json_object_get(jk, "k"))
		return kerr(err, MGW_E_CONFIG,
			    "%s: key %s holds private key material: give the gateway the AS's "
			    "public JWKS only",
			    name, kid);
	kty = jstr(jk, "kty");
	crv = jstr(jk, "crv");
	if (!kty || strcmp(kty, "EC") != 0 || !crv || strcmp(crv, "P-256") != 0)
		return kerr(err, MGW_E_CONFIG,
			    "%s: key %s: kty %s crv %s: only EC P-256 keys are accepted (ES256, "
			    "ECDH-ES)",
			    name, kid, kty ? jose_shown(kty) : "(none)", crv ? jose_shown(crv) : "(none)");
	use = jstr(jk, "use");
	alg = jstr(jk, "alg");
	if ((json_object_get(jk, "use") && !use) || (json_object_get(jk, "alg") && !alg))
		return kerr(err, MGW_E_CONFIG, "%s: key %s: use and alg must be strings", name,
			    kid);
	if (use && strcmp(use, "sig") == 0)
		u = MGW_JOSE_USE_SIG;
	else if (use && strcmp(use, "enc") == 0)
		u = MGW_JOSE_USE_ENC;
	else if (use)
		return kerr(err, MGW_E_CONFIG, "%s: key %s: use %s: sig or enc", name, kid,
			    jose_shown(use));
	else if (alg && strcmp(alg, "ES256") == 0)
		u = MGW_JOSE_USE_SIG;
	else if (alg && strcmp(alg, "ECDH-ES") == 0)
		u = MGW_JOSE_USE_ENC;
	else if (alg)
		return kerr(err, MGW_E_CONFIG,
			    "%s: key %s: alg %s is not allowed (ES256 to sign, ECDH-ES to encrypt)",
			    name, kid, jose_shown(alg));
	else
		return kerr(err, MGW_E_CONFIG,
			    "%s: key %s: needs \"use\" (sig|enc) or \"alg\" (ES256|ECDH-ES)", name,
			    kid);
	if (alg && strcmp(alg, use_alg(u)) != 0)
		return kerr(err, MGW_E_CONFIG,
			    "%s: key %s: alg %s does not fit use %s (allowed: %s)", name, kid,
			    jose_shown(alg),
			    use_name(u), use_alg(u));
	for (size_t j = 0; j < app->n_keys; j++)
		if (strcmp(app->keys[j]->kid, kid) == 0)
			return kerr(err, MGW_E_CONFIG, "%s: kid %s appears twice", name, kid);
	/* strict base64url of 32 bytes before cjose decodes them: cjose's decoder aborts the
	 * process (assert) on some malformed input, e.g. an '=' inside */
	for (const char *const *m = (const char *const[]){ "x", "y", NULL }; *m; m++) {
		const char *v = jstr(jk, *m);
		uint8_t c[EC_COORD + 3];
		size_t cl = 0;

		if (!v || strlen(v) != 43 || !jose_b64u_decode(v, 43, c, &cl) || cl != EC_COORD)
			return kerr(err, MGW_E_CONFIG,
				    "%s: key %s: not a valid P-256 public key (x and y: base64url of "
				    "the 32-byte coordinates of a point on the curve)",
				    name, kid);
	}
	if (!(k = key_new(app)))
		return kerr(err, MGW_E_NOMEM, "%s: out of memory", name);
	/* OpenSSL checks that the point is on the curve */
	if (!(k->jwk = cjose_jwk_import_json((cjose_header_t *)jk, &cerr))) {
		rc = kerr(err, MGW_E_CONFIG,
			  "%s: key %s: not a valid P-256 public key (x and y: base64url of the "
			  "32-byte coordinates of a point on the curve)",
			  name, kid);
		goto out;
	}
	if (!(k->file = talloc_strdup(k, name))) {
		rc = kerr(err, MGW_E_NOMEM, "%s: out of memory", name);
		goto out;
	}
	snprintf(k->kid, sizeof(k->kid), "%s", kid);
	k->use = u;
	k->state = MGW_JOSE_ACTIVE;
	k->algs = use_algs(u);
	if ((rc = push_key(app, &app->keys, &app->n_keys, k)) != MGW_OK) {
		rc = kerr(err, rc, "%s: out of memory", name);
		goto out;
	}
	k = NULL;
	rc = MGW_OK;
out:
	talloc_free(k);
	ERR_clear_error();
	return rc;
}

int mgw_jose_keyset_add_app_jwks(struct mgw_jose_keyset *ks, const char *as,
				 enum mgw_jose_protection prot, const char *json, size_t len,
				 const char *name, struct mgw_cfg_err *err)
{
	struct jose_app *app = NULL, **v;
	json_t *root = NULL, *keys;
	json_error_t je;
	int rc;

	if (!as || !*as || strlen(as) > MGW_ID_MAX)
		return kerr(err, MGW_E_CONFIG, "%s: the AS name must be 1..%d bytes", name,
			    MGW_ID_MAX);
	if (jose_app_find(ks, as))
		return kerr(err, MGW_E_CONFIG, "%s: AS %s is listed twice", name, as);
	if (!(app = talloc_zero(ks, struct jose_app)) || !(app->as = talloc_strdup(app, as))) {
		rc = kerr(err, MGW_E_NOMEM, "%s: out of memory", name);
		goto out;
	}
	app->prot = prot;
	if (json) {
		if (len > JWKS_FILE_MAX) {
			rc = kerr(err, MGW_E_CONFIG, "%s: larger than %d bytes", name,
				  JWKS_FILE_MAX);
			goto out;
		}
		if (!(root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je))) {
			rc = kerr(err, MGW_E_CONFIG, "%s:%d:%d: not a JWKS: %s", name, je.line,
				  je.column, je.text);
			goto out;
		}
		if (!json_is_object(root) || !json_is_array(keys = json_object_get(root, "keys"))) {
			rc = kerr(err, MGW_E_CONFIG,
				  "%s: not a JWKS: expected {\"keys\": [ ... ]} (RFC 7517 section 5)",
				  name);
			goto out;
		}
		for (size_t i = 0; i < json_array_size(keys); i++)
			if ((rc = app_key(app, json_array_get(keys, i), i, name, err)) != MGW_OK)
				goto out;
	}
	if (!(v = talloc_realloc(ks, ks->apps, struct jose_app *, ks->n_apps + 1))) {
		rc = kerr(err, MGW_E_NOMEM, "%s: out of memory", name);
		goto out;
	}
	v[ks->n_apps++] = app;
	ks->apps = v;
	app = NULL;
	rc = MGW_OK;
out:
	json_decref(root);
	talloc_free(app);
	return rc;
}

int mgw_jose_keyset_add_app(struct mgw_jose_keyset *ks, const char *as,
			    enum mgw_jose_protection prot, const char *jwks_file,
			    struct mgw_cfg_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (jwks_file &&
	    (rc = slurp(ks, jwks_file, JWKS_FILE_MAX, 022, false, &buf, &len, err)) != MGW_OK)
		return rc;
	rc = mgw_jose_keyset_add_app_jwks(ks, as, prot, buf, len, jwks_file ? jwks_file : as,
					  err);
	talloc_free(buf);
	return rc;
}

int mgw_jose_keyset_load(void *ctx, const struct mgw_jose_cfg *cfg,
			 struct mgw_jose_keyset **out, struct mgw_cfg_err *err)
{
	struct mgw_jose_keyset *ks = NULL;
	int rc;

	if ((rc = mgw_jose_keyset_alloc(ctx, &ks)) != MGW_OK)
		return kerr(err, rc, "security: out of memory");
	ks->skew = cfg->max_skew_ms > 0 ? cfg->max_skew_ms / 1000 : MGW_JOSE_SKEW_DEFAULT;
	ks->require_signed = cfg->require_signed_downlink;
	if (cfg->keys && (rc = mgw_jose_keyset_add_dir(ks, cfg->keys, err)) != MGW_OK)
		goto out;
	for (size_t i = 0; i < cfg->applications.n; i++) {
		const struct mgw_jose_app_cfg *a =
			MGW_CFG_LIST_AT(&cfg->applications, struct mgw_jose_app_cfg, i);
		const struct jose_app *app;

		if ((rc = mgw_jose_keyset_add_app(ks, a->as, a->protection, a->jwks, err)) !=
		    MGW_OK)
			goto out;
		app = jose_app_find(ks, a->as);
		if (a->protection != MGW_JOSE_TRANSPORT &&
		    !jose_own_key(ks, MGW_JOSE_USE_SIG, NULL)) {
			rc = kerr(err, MGW_E_CONFIG,
				  "security.applications[%zu]: %s has protection %s but %s holds "
				  "no active signing key (msgin5g-gwctl keys gen)",
				  i, a->as, mgw_jose_protection_name(a->protection),
				  cfg->keys ? cfg->keys : "security.keys");
			goto out;
		}
		if (a->protection == MGW_JOSE_ENCRYPT && !jose_app_key(app, MGW_JOSE_USE_ENC, NULL)) {
			rc = kerr(err, MGW_E_CONFIG,
				  "security.applications[%zu]: %s has protection encrypt but %s has "
				  "no encryption key (use enc / alg ECDH-ES)",
				  i, a->as, a->jwks);
			goto out;
		}
	}
	*out = ks;
	ks = NULL;
	rc = MGW_OK;
out:
	talloc_free(ks);
	return rc;
}

/* ==================================================================================== */
/* listing and export (public parts only)                                               */
/* ==================================================================================== */

size_t mgw_jose_keyset_count(const struct mgw_jose_keyset *ks)
{
	size_t n = ks->n_own;

	for (size_t i = 0; i < ks->n_apps; i++)
		n += ks->apps[i]->n_keys;
	return n;
}

int mgw_jose_keyset_key(const struct mgw_jose_keyset *ks, size_t i, struct mgw_jose_key_info *out)
{
	const struct jose_key *k = NULL;
	const char *peer = NULL;

	if (i < ks->n_own) {
		k = ks->own[i];
	} else {
		i -= ks->n_own;
		for (size_t a = 0; a < ks->n_apps && !k; a++) {
			if (i < ks->apps[a]->n_keys) {
				k = ks->apps[a]->keys[i];
				peer = ks->apps[a]->as;
			} else {
				i -= ks->apps[a]->n_keys;
			}
		}
	}
	if (!k)
		return MGW_E_NOT_FOUND;
	out->peer = peer;
	out->kid = k->kid;
	out->use = k->use;
	out->state = k->state;
	out->algs = k->algs;
	out->has_private = k->has_private;
	out->file = k->file;
	return MGW_OK;
}

int mgw_jose_keyset_export(void *ctx, const struct mgw_jose_keyset *ks, char **json)
{
	json_t *root = json_object(), *arr = json_array(), *jk = NULL;
	char *pub = NULL, *s = NULL, *res;
	cjose_err cerr;
	int rc = MGW_E_NOMEM;

	if (!root || !arr || json_object_set_new(root, "keys", arr) != 0) {
		json_decref(arr);
		goto out;
	}
	/* active before retired, signing before encryption */
	for (int pass = 0; pass < 4; pass++) {
		enum mgw_jose_use use = pass % 2 == 0 ? MGW_JOSE_USE_SIG : MGW_JOSE_USE_ENC;
		enum mgw_jose_state st = pass < 2 ? MGW_JOSE_ACTIVE : MGW_JOSE_RETIRED;

		if (use == MGW_JOSE_USE_ENC && st == MGW_JOSE_RETIRED)
			continue; /* decrypts what was sent to it, but nobody should use it now */
		for (size_t i = 0; i < ks->n_own; i++) {
			const struct jose_key *k = ks->own[i];

			if (k->use != use || k->state != st)
				continue;
			if (!(pub = cjose_jwk_to_json(k->jwk, false, &cerr))) /* never priv */
				goto out;
			jk = json_loads(pub, 0, NULL);
			cjose_get_dealloc()(pub);
			pub = NULL;
			if (!jk || json_object_set_new(jk, "use", json_string(use_name(use))) != 0 ||
			    json_object_set_new(jk, "alg", json_string(use_alg(use))) != 0 ||
			    json_array_append_new(arr, jk) != 0) {
				jk = NULL;
				goto out;
			}
			jk = NULL;
		}
	}
	if (!(s = json_dumps(root, JSON_COMPACT)) || !(res = talloc_strdup(ctx, s)))
		goto out;
	*json = res;
	rc = MGW_OK;
out:
	free(s);
	json_decref(jk);
	json_decref(root);
	ERR_clear_error();
	return rc;
}

/* ==================================================================================== */
/* key files                                                                            */
/* ==================================================================================== */

static int ensure_dir(const char *dir, struct mgw_cfg_err *err)
{
	struct stat st;

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return kerr(err, MGW_E_CONFIG, "%s: not a directory", dir);
		return MGW_OK;
	}
	if (errno != ENOENT || mkdir(dir, 0700) < 0)
		return kerr(err, MGW_E_IO, "%s: cannot create: %s", dir, strerror(errno));
	return MGW_OK;
}

int mgw_jose_key_generate(const char *dir, enum mgw_jose_use use, int64_t now, char *kid_out,
			  size_t kid_cap, struct mgw_cfg_err *err)
{
	char kid[MGW_JOSE_KID_MAX + 1], path[4096], day[16];
	uint8_t rnd[4];
	EVP_PKEY *pk = NULL;
	BIO *bio = NULL;
	time_t t = (time_t)now;
	struct tm tm;
	int fd = -1, rc;

	if (use != MGW_JOSE_USE_SIG && use != MGW_JOSE_USE_ENC)
		return kerr(err, MGW_E_INVAL, "use must be sig or enc");
	if ((rc = ensure_dir(dir, err)) != MGW_OK)
		return rc;
	if (!gmtime_r(&t, &tm) || strftime(day, sizeof(day), "%Y%m%d", &tm) == 0 ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		return kerr(err, MGW_E_INTERNAL, "cannot make a kid");
	snprintf(kid, sizeof(kid), "gw-%s-%s-%02x%02x%02x%02x", use_name(use), day, rnd[0],
		 rnd[1], rnd[2], rnd[3]);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.%s.pem", dir, kid, use_name(use)) >=
	    sizeof(path))
		return kerr(err, MGW_E_CONFIG, "%s: path too long", dir);
	if (strlen(kid) >= kid_cap)
		return kerr(err, MGW_E_INVAL, "kid buffer too small");
	if (!(pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"))) {
		rc = kerr(err, MGW_E_INTERNAL, "P-256 key generation failed");
		goto out;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		rc = kerr(err, MGW_E_IO, "%s: cannot create: %s", path, strerror(errno));
		goto out;
	}
	if (!(bio = BIO_new_fd(fd, BIO_NOCLOSE)) ||
	    !PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) || BIO_flush(bio) != 1 ||
	    fsync(fd) < 0) {
		rc = kerr(err, MGW_E_IO, "%s: cannot write the key", path);
		unlink(path);
		goto out;
	}
	snprintf(kid_out, kid_cap, "%s", kid);
	rc = MGW_OK;
out:
	BIO_free(bio);
	if (fd >= 0)
		close(fd);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return rc;
}

int mgw_jose_key_retire(const char *dir, const char *kid, struct mgw_cfg_err *err)
{
	char from[4096], to[4096];

	if (!kid || !own_kid_ok(kid, strlen(kid)))
		return kerr(err, MGW_E_INVAL, "kid must be 1..%d characters of A-Z a-z 0-9 - _",
			    MGW_JOSE_KID_MAX);
	for (int u = MGW_JOSE_USE_SIG; u <= MGW_JOSE_USE_ENC; u++) {
		struct stat st;

		if ((size_t)snprintf(from, sizeof(from), "%s/%s.%s.pem", dir, kid,
				     use_name((enum mgw_jose_use)u)) >= sizeof(from) ||
		    (size_t)snprintf(to, sizeof(to), "%s/%s.%s.retired.pem", dir, kid,
				     use_name((enum mgw_jose_use)u)) >= sizeof(to))
			return kerr(err, MGW_E_CONFIG, "%s: path too long", dir);
		if (lstat(from, &st) < 0)
			continue;
		if (rename(from, to) < 0)
			return kerr(err, MGW_E_IO, "%s: cannot rename to %s: %s", from, to,
				    strerror(errno));
		return MGW_OK;
	}
	return kerr(err, MGW_E_NOT_FOUND, "%s: no active key %s (%s.sig.pem or %s.enc.pem)", dir,
		    kid, kid, kid);
}

/* The kids of the active key files in dir (names only: nothing is read). */
static int active_kids(void *ctx, const char *dir, char ***kids, size_t *n,
		       struct mgw_cfg_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;

	*n = 0;
	if (!d)
		return errno == ENOENT ? MGW_OK
				       : kerr(err, MGW_E_IO, "%s: cannot list: %s", dir,
					      strerror(errno));
	while ((de = readdir(d))) {
		char kid[MGW_JOSE_KID_MAX + 1], **nv;
		enum mgw_jose_use use;
		enum mgw_jose_state st;

		if (parse_key_name(de->d_name, kid, sizeof(kid), &use, &st) != 1 ||
		    st != MGW_JOSE_ACTIVE)
			continue;
		if (!(nv = talloc_realloc(ctx, v, char *, *n + 1)) ||
		    !(nv[*n] = talloc_strdup(nv, kid))) {
			closedir(d);
			return kerr(err, MGW_E_NOMEM, "out of memory");
		}
		v = nv;
		(*n)++;
	}
	closedir(d);
	*kids = v;
	return MGW_OK;
}

int mgw_jose_key_rotate(const char *dir, int64_t now, char *sig_kid, char *enc_kid,
			size_t kid_cap, struct mgw_cfg_err *err)
{
	void *tmp = talloc_new(NULL);
	char **old = NULL, path[4096];
	size_t n_old = 0;
	int rc;

	if (!tmp)
		return kerr(err, MGW_E_NOMEM, "out of memory");
	sig_kid[0] = enc_kid[0] = '\0';
	if ((rc = active_kids(tmp, dir, &old, &n_old, err)) != MGW_OK)
		goto out;
	if ((rc = mgw_jose_key_generate(dir, MGW_JOSE_USE_SIG, now, sig_kid, kid_cap, err)) !=
	    MGW_OK)
		goto out;
	if ((rc = mgw_jose_key_generate(dir, MGW_JOSE_USE_ENC, now, enc_kid, kid_cap, err)) !=
	    MGW_OK) {
		snprintf(path, sizeof(path), "%s/%s.sig.pem", dir, sig_kid);
		unlink(path); /* no half rotation: two active signing keys would not load */
		sig_kid[0] = '\0';
		goto out;
	}
	for (size_t i = 0; i < n_old; i++)
		if ((rc = mgw_jose_key_retire(dir, old[i], err)) != MGW_OK)
			goto out;
	rc = MGW_OK;
out:
	talloc_free(tmp);
	return rc;
}
