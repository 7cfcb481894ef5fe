/* TLS server contexts, SNI selection, certificate checks and key sealing
 * (tls.h, docs/TLS.md).
 *
 * One SSL_CTX per certificate. Every context carries the same settings and
 * callbacks; a connection starts on the default one and its servername
 * callback moves it (SSL_set_SSL_CTX) to the context installed for the name
 * the client sent. Entries hold one reference on their context; an SSL holds
 * its own, so a context replaced or removed lives until its last connection
 * is freed. */
#include "tls/tls.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "core/err.h"
#include "core/util.h"

#define DEFAULT_CIPHERS                                                                             \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"      \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define SESSION_CACHE_SIZE 4096
#define SEAL_PREFIX "v1:"
#define NONCE_LEN 12
#define TAG_LEN 16

enum { SRC_FILE = 0, SRC_API = 1 };

typedef struct entry {
    char *name;                 /* lowercase; a wildcard as given ("*.a.com" or ".a.com") */
    int src;                    /* SRC_FILE or SRC_API */
    SSL_CTX *ctx;               /* one reference */
    struct entry *next;
} entry;

static struct {
    SSL_CTX *def;               /* the default certificate's context, one reference */
    entry *list;
    char *ciphers;              /* as configured (NULL: DEFAULT_CIPHERS) */
    char *suites;               /* NULL: OpenSSL's default */
    int ex_idx;                 /* SSL ex data: the per-connection flags below */
    int ex_ready;
} tls;

static le_tls_stats stats;

/* Per connection, in the SSL's ex data (a pointer-sized bit set). */
#define FL_ALPN_HTTP 1
#define FL_SNI_SWITCHED 2

/* ---- pure helpers ---- */

/* OpenSSL's password callback: a password of length 0, so an encrypted
 * key fails to load instead of prompting on the terminal. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

int le_tls_name_match(const char *pattern, const char *host)
{
    if (!pattern || !host || !*pattern || !*host)
        return 0;
    if (strcasecmp(pattern, host) == 0)
        return pattern[0] != '*' && pattern[0] != '.';
    const char *suffix = NULL;
    if (pattern[0] == '*' && pattern[1] == '.')
        suffix = pattern + 1;
    else if (pattern[0] == '.')
        suffix = pattern;
    if (!suffix || !suffix[1])
        return 0;
    /* host = LABEL + suffix, LABEL non-empty and without a dot. */
    size_t hl = strlen(host), sl = strlen(suffix);
    if (hl <= sl || strcasecmp(host + hl - sl, suffix) != 0)
        return 0;
    for (size_t i = 0; i < hl - sl; i++)
        if (host[i] == '.' || host[i] == '*')
            return 0;
    return 1;
}

/* The CN of name ("" if none), else its O when fallback_o. */
static void name_cn(X509_NAME *name, char *out, size_t outlen, int fallback_o)
{
    out[0] = '\0';
    if (!name)
        return;
    int nids[2] = { NID_commonName, NID_organizationName };
    for (int k = 0; k < (fallback_o ? 2 : 1); k++) {
        int i = X509_NAME_get_index_by_NID(name, nids[k], -1);
        if (i < 0)
            continue;
        ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        unsigned char *utf8 = NULL;
        int n = s ? ASN1_STRING_to_UTF8(&utf8, s) : -1;
        if (n >= 0) {
            size_t len = (size_t)n < outlen - 1 ? (size_t)n : outlen - 1;
            memcpy(out, utf8, len);
            out[len] = '\0';
            OPENSSL_free(utf8);
            return;
        }
    }
}

static void fill_info(X509 *x, le_tls_info *info)
{
    memset(info, 0, sizeof(*info));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1)
        for (unsigned int i = 0; i < mdlen && i < 32; i++)
            snprintf(info->fingerprint + 2 * i, 3, "%02x", md[i]);
    name_cn(X509_get_subject_name(x), info->common, sizeof(info->common), 0);
    name_cn(X509_get_issuer_name(x), info->issuer, sizeof(info->issuer), 1);
    const ASN1_TIME *na = X509_get0_notAfter(x);
    struct tm tm;
    if (na && ASN1_TIME_to_tm(na, &tm) == 1)
        info->not_after_ms = (int64_t)timegm(&tm) * 1000;
}

/* Parses a PEM chain (leaf first) and a key; *leaf, *chain, *key are the
 * caller's when LE_TLS_OK (key only if key_pem). */
static int parse_pair(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                      X509 **leaf, STACK_OF(X509) **chain, EVP_PKEY **key)
{
    *leaf = NULL;
    *chain = NULL;
    *key = NULL;
    if (cert_len > LE_TLS_MAX_PEM)
        return LE_TLS_CERT_TOO_LONG;
    if (!cert_pem || cert_len == 0)
        return LE_TLS_BAD_CERT;
    int rc = LE_TLS_OK;
    BIO *b = BIO_new_mem_buf(cert_pem, (int)cert_len);
    if (!b)
        return LE_TLS_BAD_CERT;
    *leaf = PEM_read_bio_X509(b, NULL, no_password, NULL);
    if (!*leaf) {
        rc = LE_TLS_BAD_CERT;
    } else {
        *chain = sk_X509_new_null();
        X509 *x;
        while (*chain && (x = PEM_read_bio_X509(b, NULL, no_password, NULL)) != NULL)
            if (!sk_X509_push(*chain, x)) {
                X509_free(x);
                break;
            }
    }
    BIO_free(b);
    ERR_clear_error();   /* the end of the chain reads as an error */
    if (rc == LE_TLS_OK && key_pem) {
        if (key_len > LE_TLS_MAX_PEM || key_len == 0) {
            rc = LE_TLS_BAD_KEY;
        } else {
            b = BIO_new_mem_buf(key_pem, (int)key_len);
            *key = b ? PEM_read_bio_PrivateKey(b, NULL, no_password, NULL) : NULL;
            BIO_free(b);
            if (!*key)
                rc = LE_TLS_BAD_KEY;
            else if (X509_check_private_key(*leaf, *key) != 1)
                rc = LE_TLS_MISMATCH;
        }
    }
    ERR_clear_error();
    if (rc != LE_TLS_OK) {
        X509_free(*leaf);
        sk_X509_pop_free(*chain, X509_free);
        EVP_PKEY_free(*key);
        *leaf = NULL;
        *chain = NULL;
        *key = NULL;
    }
    return rc;
}

int le_tls_check(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                 le_tls_info *info)
{
    X509 *leaf;
    STACK_OF(X509) *chain;
    EVP_PKEY *key;
    if (info)
        memset(info, 0, sizeof(*info));
    int rc = parse_pair(cert_pem, cert_len, key_pem, key_len, &leaf, &chain, &key);
    if (rc != LE_TLS_OK)
        return rc;
    if (info)
        fill_info(leaf, info);
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return LE_TLS_OK;
}

static const char *check_reason(int rc)
{
    switch (rc) {
    case LE_TLS_CERT_TOO_LONG: return "certificate too long";
    case LE_TLS_BAD_CERT: return "no PEM certificate, or one that does not parse";
    case LE_TLS_BAD_KEY: return "no PEM private key, an encrypted one, or one that does not parse";
    case LE_TLS_MISMATCH: return "the private key does not match the certificate";
    default: return "ok";
    }
}

/* ---- sealing ---- */

static void seal_key(const char *secret, unsigned char key[32])
{
    EVP_Digest(secret, strlen(secret), key, NULL, EVP_sha256(), NULL);
}

int le_tls_seal(const char *secret, const void *plain, size_t len, char **out)
{
    *out = NULL;
    if (!secret || !*secret || (!plain && len) || len > INT32_MAX / 2)
        return LE_EINVAL;
    unsigned char key[32];
    size_t rawlen = NONCE_LEN + len + TAG_LEN;
    unsigned char *raw = malloc(rawlen);
    if (!raw)
        return LE_ENOMEM;
    int rc = LE_EINVAL, n = 0, fin = 0;
    EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
    seal_key(secret, key);
    if (cx && RAND_bytes(raw, NONCE_LEN) == 1 &&
        EVP_EncryptInit_ex(cx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
        EVP_EncryptInit_ex(cx, NULL, NULL, key, raw) == 1 &&
        EVP_EncryptUpdate(cx, raw + NONCE_LEN, &n, plain, (int)len) == 1 &&
        EVP_EncryptFinal_ex(cx, raw + NONCE_LEN + n, &fin) == 1 &&
        EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, raw + NONCE_LEN + len) == 1) {
        size_t b64len = 4 * ((rawlen + 2) / 3);
        char *s = malloc(sizeof(SEAL_PREFIX) + b64len);
        if (!s) {
            rc = LE_ENOMEM;
        } else {
            memcpy(s, SEAL_PREFIX, sizeof(SEAL_PREFIX) - 1);
            EVP_EncodeBlock((unsigned char *)s + sizeof(SEAL_PREFIX) - 1, raw, (int)rawlen);
            *out = s;
            rc = LE_OK;
        }
    }
    EVP_CIPHER_CTX_free(cx);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(raw, rawlen);
    free(raw);
    ERR_clear_error();
    return rc;
}

int le_tls_unseal(const char *secret, const char *sealed, char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (!secret || !*secret || !sealed || strncmp(sealed, SEAL_PREFIX, sizeof(SEAL_PREFIX) - 1) != 0)
        return LE_EINVAL;
    const char *b64 = sealed + sizeof(SEAL_PREFIX) - 1;
    size_t blen = strlen(b64);
    if (blen == 0 || blen % 4 != 0 || blen > (size_t)4 * LE_TLS_MAX_PEM)
        return LE_EINVAL;
    for (size_t i = 0; i < blen; i++) {
        unsigned char ch = (unsigned char)b64[i];
        if (!(isalnum(ch) || ch == '+' || ch == '/' || (ch == '=' && i >= blen - 2)))
            return LE_EINVAL;
        if (ch != '=' && i > 0 && b64[i - 1] == '=')
            return LE_EINVAL;
    }
    size_t pad = (b64[blen - 1] == '=') + (b64[blen - 2] == '=');
    size_t rawmax = blen / 4 * 3;
    unsigned char *raw = malloc(rawmax);
    if (!raw)
        return LE_ENOMEM;
    int dec = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)blen);
    if (dec < 0 || (size_t)dec != rawmax || rawmax - pad < NONCE_LEN + TAG_LEN) {
        free(raw);
        return LE_EINVAL;
    }
    /* EVP_DecodeBlock gives the padding as bytes too: drop them, and refuse
     * a text whose unused bits are not zero (one encoding per sealing). */
    size_t rawlen = rawmax - pad;
    for (size_t i = rawlen; i < rawmax; i++)
        if (raw[i] != 0) {
            OPENSSL_cleanse(raw, rawmax);
            free(raw);
            return LE_EINVAL;
        }
    size_t clen = rawlen - NONCE_LEN - TAG_LEN;
    char *plain = malloc(clen + 1);
    if (!plain) {
        OPENSSL_cleanse(raw, rawmax);
        free(raw);
        return LE_ENOMEM;
    }
    unsigned char key[32];
    seal_key(secret, key);
    int rc = LE_EINVAL, n = 0, fin = 0;
    EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
    if (cx && EVP_DecryptInit_ex(cx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
        EVP_DecryptInit_ex(cx, NULL, NULL, key, raw) == 1 &&
        EVP_DecryptUpdate(cx, (unsigned char *)plain, &n, raw + NONCE_LEN, (int)clen) == 1 &&
        EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + NONCE_LEN + clen) == 1 &&
        EVP_DecryptFinal_ex(cx, (unsigned char *)plain + n, &fin) == 1) {
        plain[clen] = '\0';
        *out = plain;
        *outlen = clen;
        rc = LE_OK;
    }
    EVP_CIPHER_CTX_free(cx);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(raw, rawmax);
    free(raw);
    if (rc != LE_OK) {
        OPENSSL_cleanse(plain, clen + 1);
        free(plain);
    }
    ERR_clear_error();
    return rc;
}

/* ---- server contexts ---- */

static entry *find_exact(const char *name, int src)
{
    for (entry *e = tls.list; e; e = e->next)
        if (e->src == src && strcasecmp(e->name, name) == 0)
            return e;
    return NULL;
}

/* The context for a client's server name: exact (API, then file), then a
 * wildcard (API, then file), else NULL (the default serves). */
static SSL_CTX *lookup(const char *host)
{
    static const int order[2] = { SRC_API, SRC_FILE };
    for (int k = 0; k < 2; k++)
        for (entry *e = tls.list; e; e = e->next)
            if (e->src == order[k] && e->name[0] != '*' && e->name[0] != '.' &&
                strcasecmp(e->name, host) == 0)
                return e->ctx;
    for (int k = 0; k < 2; k++)
        for (entry *e = tls.list; e; e = e->next)
            if (e->src == order[k] && (e->name[0] == '*' || e->name[0] == '.') &&
                le_tls_name_match(e->name, host))
                return e->ctx;
    return NULL;
}

static uintptr_t conn_flags(SSL *ssl)
{
    return tls.ex_ready ? (uintptr_t)SSL_get_ex_data(ssl, tls.ex_idx) : 0;
}

static int servername_cb(SSL *ssl, int *alert, void *arg)
{
    (void)alert;
    (void)arg;
    const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!host || !*host)
        return SSL_TLSEXT_ERR_OK;
    SSL_CTX *ctx = lookup(host);
    if (ctx && ctx != SSL_get_SSL_CTX(ssl) && SSL_set_SSL_CTX(ssl, ctx)) {
        SSL_set_ex_data(ssl, tls.ex_idx, (void *)(conn_flags(ssl) | FL_SNI_SWITCHED));
    }
    return SSL_TLSEXT_ERR_OK;
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                   unsigned int inlen, void *arg)
{
    static const unsigned char http11[] = "\x08http/1.1";
    (void)arg;
    if (!(conn_flags(ssl) & FL_ALPN_HTTP))
        return SSL_TLSEXT_ERR_NOACK;
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, http11, sizeof(http11) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, a, b);
}

/* A server context serving the pair, with the node's settings. */
static SSL_CTX *make_ctx(const char *what, const char *cert_pem, size_t cert_len, const char *key_pem,
                         size_t key_len, char *err, size_t errlen)
{
    X509 *leaf;
    STACK_OF(X509) *chain;
    EVP_PKEY *key;
    int rc = parse_pair(cert_pem, cert_len, key_pem, key_len, &leaf, &chain, &key);
    if (rc != LE_TLS_OK) {
        set_err(err, errlen, "%s: %s", what, check_reason(rc));
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    const char *bad = NULL;
    if (!ctx) {
        bad = "cannot create a TLS context";
    } else {
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                     SSL_OP_NO_COMPRESSION);
        /* Idle connections (many, on a busy node) keep no record buffers. */
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ctx, SESSION_CACHE_SIZE);
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"livedge", 7);
        SSL_CTX_set_default_passwd_cb(ctx, no_password);
        SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
        SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
        if (SSL_CTX_set_cipher_list(ctx, tls.ciphers ? tls.ciphers : DEFAULT_CIPHERS) != 1)
            bad = "tls_ciphers: no usable cipher";
        else if (tls.suites && SSL_CTX_set_ciphersuites(ctx, tls.suites) != 1)
            bad = "tls_ciphersuites: no usable suite";
        else if (SSL_CTX_use_certificate(ctx, leaf) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
            bad = "the certificate or key is not usable";
        for (int i = 0; !bad && i < sk_X509_num(chain); i++) {
            X509 *x = sk_X509_value(chain, i);
            if (SSL_CTX_add1_chain_cert(ctx, x) != 1)
                bad = "the chain is not usable";
        }
        if (!bad && SSL_CTX_check_private_key(ctx) != 1)
            bad = "the private key does not match the certificate";
    }
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
    if (bad) {
        unsigned long e = ERR_peek_last_error();
        char reason[160] = "";
        if (e)
            ERR_error_string_n(e, reason, sizeof(reason));
        if (err && errlen)
            snprintf(err, errlen, "%s: %s%s%s", what, bad, *reason ? ": " : "", reason);
        SSL_CTX_free(ctx);
        ctx = NULL;
    }
    ERR_clear_error();
    return ctx;
}

/* Reads a whole file, at most LE_TLS_MAX_PEM bytes; NULL with err filled. */
static char *read_pem_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(LE_TLS_MAX_PEM + 1);
    size_t n = buf ? fread(buf, 1, LE_TLS_MAX_PEM + 1, f) : 0;
    int rerr = ferror(f);
    fclose(f);
    if (!buf || rerr || n > LE_TLS_MAX_PEM) {
        set_err(err, errlen, "%s: %s", path, !buf ? "out of memory" : rerr ? "read error" : "over 64 KiB");
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static void free_pem(char *p, size_t len)
{
    if (p) {
        OPENSSL_cleanse(p, len);
        free(p);
    }
}

/* A context from a certificate file and a key file. */
static SSL_CTX *file_ctx(const char *cert, const char *key, char *err, size_t errlen)
{
    size_t clen = 0, klen = 0;
    char *c = read_pem_file(cert, &clen, err, errlen);
    if (!c)
        return NULL;
    char *k = read_pem_file(key, &klen, err, errlen);
    if (!k) {
        free_pem(c, clen);
        return NULL;
    }
    char what[600];
    snprintf(what, sizeof(what), "%s / %s", cert, key);
    SSL_CTX *ctx = make_ctx(what, c, clen, k, klen, err, errlen);
    free_pem(c, clen);
    free_pem(k, klen);
    return ctx;
}

static void entry_free(entry *e)
{
    SSL_CTX_free(e->ctx);
    free(e->name);
    free(e);
}

static void update_installed(void)
{
    uint64_t n = tls.def ? 1 : 0;
    for (entry *e = tls.list; e; e = e->next)
        n++;
    stats.installed = n;
}

static char *lower_dup(const char *s)
{
    char *d = le_xstrdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    size_t n = strlen(d);
    if (n > 1 && d[n - 1] == '.')
        d[n - 1] = '\0';
    return d;
}

int le_tls_init(const le_conf *conf, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!tls.ex_ready) {
        tls.ex_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
        if (tls.ex_idx < 0) {
            set_err(err, errlen, "%s%s", "cannot allocate TLS connection data", "");
            return LE_ENOMEM;
        }
        tls.ex_ready = 1;
    }
    if ((conf->tls_certificate != NULL) != (conf->tls_certificate_key != NULL)) {
        set_err(err, errlen, "%s%s", "tls_certificate and tls_certificate_key go together", "");
        return LE_EINVAL;
    }
    for (const le_conf_domain *d = conf->domains; d; d = d->next)
        if ((d->ssl_certificate != NULL) != (d->ssl_certificate_key != NULL)) {
            set_err(err, errlen, "domain %s: ssl_certificate and ssl_certificate_key go together%s",
                    d->name, "");
            return LE_EINVAL;
        }
    /* The new settings apply to the contexts built now; kept aside until
     * everything loaded. */
    char *old_ciphers = tls.ciphers, *old_suites = tls.suites;
    tls.ciphers = conf->tls_ciphers ? le_xstrdup(conf->tls_ciphers) : NULL;
    tls.suites = conf->tls_ciphersuites ? le_xstrdup(conf->tls_ciphersuites) : NULL;
    SSL_CTX *def = NULL;
    entry *files = NULL;
    int rc = LE_OK;
    if (conf->tls_certificate) {
        def = file_ctx(conf->tls_certificate, conf->tls_certificate_key, err, errlen);
        if (!def)
            rc = LE_EINVAL;
    }
    for (const le_conf_domain *d = conf->domains; rc == LE_OK && d; d = d->next) {
        if (!d->ssl_certificate)
            continue;
        SSL_CTX *ctx = file_ctx(d->ssl_certificate, d->ssl_certificate_key, err, errlen);
        if (!ctx) {
            rc = LE_EINVAL;
            break;
        }
        entry *e = le_xcalloc(1, sizeof(*e));
        e->name = lower_dup(d->name);
        e->src = SRC_FILE;
        e->ctx = ctx;
        e->next = files;
        files = e;
        /* Its push domain (RTMPS ingest) too, when the certificate names it. */
        X509 *leaf = SSL_CTX_get0_certificate(ctx);
        if (d->push_domain && leaf && X509_check_host(leaf, d->push_domain, 0, 0, NULL) == 1 &&
            SSL_CTX_up_ref(ctx) == 1) {
            e = le_xcalloc(1, sizeof(*e));
            e->name = lower_dup(d->push_domain);
            e->src = SRC_FILE;
            e->ctx = ctx;
            e->next = files;
            files = e;
        }
        ERR_clear_error();
    }
    if (rc != LE_OK) {
        SSL_CTX_free(def);
        while (files) {
            entry *n = files->next;
            entry_free(files);
            files = n;
        }
        free(tls.ciphers);
        free(tls.suites);
        tls.ciphers = old_ciphers;
        tls.suites = old_suites;
        return rc;
    }
    free(old_ciphers);
    free(old_suites);
    /* Swap: the file entries and the default are replaced, API ones stay. */
    entry **pp = &tls.list;
    while (*pp) {
        if ((*pp)->src == SRC_FILE) {
            entry *e = *pp;
            *pp = e->next;
            entry_free(e);
        } else {
            pp = &(*pp)->next;
        }
    }
    *pp = files;
    SSL_CTX_free(tls.def);
    tls.def = def;
    update_installed();
    return LE_OK;
}

void le_tls_free(void)
{
    while (tls.list) {
        entry *n = tls.list->next;
        entry_free(tls.list);
        tls.list = n;
    }
    SSL_CTX_free(tls.def);
    tls.def = NULL;
    free(tls.ciphers);
    free(tls.suites);
    tls.ciphers = tls.suites = NULL;
    update_installed();
}

int le_tls_ready(void) { return tls.def != NULL; }

int le_tls_install(const char *name, const char *cert_pem, size_t cert_len, const char *key_pem,
                   size_t key_len, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!name || !*name || !key_pem) {
        set_err(err, errlen, "%s%s", "a name, a certificate and a key are needed", "");
        return LE_EINVAL;
    }
    SSL_CTX *ctx = make_ctx(name, cert_pem, cert_len, key_pem, key_len, err, errlen);
    if (!ctx)
        return LE_EINVAL;
    entry *e = find_exact(name, SRC_API);
    if (e) {
        SSL_CTX_free(e->ctx);   /* connections using it keep their own reference */
        e->ctx = ctx;
    } else {
        e = le_xcalloc(1, sizeof(*e));
        e->name = lower_dup(name);
        e->src = SRC_API;
        e->ctx = ctx;
        e->next = tls.list;
        tls.list = e;
    }
    update_installed();
    return LE_OK;
}

void le_tls_uninstall(const char *name)
{
    if (!name)
        return;
    for (entry **pp = &tls.list; *pp; pp = &(*pp)->next)
        if ((*pp)->src == SRC_API && strcasecmp((*pp)->name, name) == 0) {
            entry *e = *pp;
            *pp = e->next;
            entry_free(e);
            break;
        }
    update_installed();
}

SSL *le_tls_server_ssl(int alpn_http)
{
    if (!tls.def)
        return NULL;
    SSL *ssl = SSL_new(tls.def);
    if (!ssl) {
        ERR_clear_error();
        return NULL;
    }
    SSL_set_ex_data(ssl, tls.ex_idx, (void *)(uintptr_t)(alpn_http ? FL_ALPN_HTTP : 0));
    return ssl;
}

const char *le_tls_sni(SSL *ssl)
{
    if (!ssl)
        return NULL;
    return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
}

void le_tls_handshake_done(SSL *ssl, int ok)
{
    if (!ok) {
        stats.failures++;
        return;
    }
    stats.handshakes++;
    if (ssl && (conn_flags(ssl) & FL_SNI_SWITCHED))
        stats.sni_selected++;
}

const le_tls_stats *le_tls_get_stats(void) { return &stats; }
