/* tls/tls.c and the TLS side of net/net.c: name matching, le_tls_check on
 * certificates made here, key sealing, SNI selection, protocols and ALPN
 * over in-memory handshakes, a TLS listener on loopback, and the outbound
 * client settings (CA file, verify skip, host check). */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/err.h"
#include "net/net.h"
#include "tls/tls.h"
#include "tap.h"

#define NOT_AFTER 2000000000L    /* 2033-05-18 */

/* ---- making keys and certificates ---- */

static EVP_PKEY *make_key(int rsa)
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(rsa ? EVP_PKEY_RSA : EVP_PKEY_EC, NULL);
    if (!pc || EVP_PKEY_keygen_init(pc) != 1)
        abort();
    if (rsa)
        EVP_PKEY_CTX_set_rsa_keygen_bits(pc, 2048);
    else
        EVP_PKEY_CTX_set_ec_paramgen_curve_nid(pc, NID_X9_62_prime256v1);
    if (EVP_PKEY_keygen(pc, &k) != 1)
        abort();
    EVP_PKEY_CTX_free(pc);
    return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (!e)
        abort();
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

/* A certificate for key signed by ikey (itself when issuer is NULL); cn
 * and org may be NULL; san like "DNS:a.test,IP:127.0.0.1". */
static X509 *make_cert(EVP_PKEY *key, const char *cn, const char *org, const char *san, X509 *issuer,
                       EVP_PKEY *ikey, long serial)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)NOT_AFTER);
    X509_NAME *n = X509_get_subject_name(x);
    if (org)
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)org, -1, -1, 0);
    if (cn)
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
    X509_set_pubkey(x, key);
    if (!issuer) {
        add_ext(x, NULL, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, NULL, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
        if (san)
            add_ext(x, issuer, NID_subject_alt_name, san);
    }
    if (!X509_sign(x, issuer ? ikey : key, EVP_sha256()))
        abort();
    return x;
}

static char *bio_text(BIO *b)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = malloc((size_t)n + 1);
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    BIO_free(b);
    return s;
}

static char *cert_pem(X509 *x, X509 *chain)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    if (chain)
        PEM_write_bio_X509(b, chain);
    return bio_text(b);
}

static char *key_pem(EVP_PKEY *k, const char *pass)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (pass)
        PEM_write_bio_PrivateKey(b, k, EVP_aes_256_cbc(), (unsigned char *)pass, (int)strlen(pass), NULL,
                                 NULL);
    else
        PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    return bio_text(b);
}

static void sha256_hex(X509 *x, char out[65])
{
    unsigned char *der = NULL, md[32];
    int n = i2d_X509(x, &der);
    EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL);
    OPENSSL_free(der);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

static char dir[64];

static char *write_file(const char *name, const char *text)
{
    static char paths[16][128];
    static int np;
    char *p = paths[np++ % 16];
    snprintf(p, 128, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

/* The test PKI. */
static EVP_PKEY *ca_key, *rsa_key, *ec_key, *other_key;
static X509 *ca, *ca_o, *rsa_leaf, *ec_leaf, *leaf_o;

/* A leaf with its key as PEM, for SNI tests: CN = cn, SAN DNS:san. */
typedef struct pair {
    char *cert, *key;
} pair;

static pair make_pair(const char *cn, const char *san, long serial)
{
    EVP_PKEY *k = make_key(0);
    X509 *x = make_cert(k, cn, NULL, san, ca, ca_key, serial);
    pair p = { cert_pem(x, ca), key_pem(k, NULL) };
    X509_free(x);
    EVP_PKEY_free(k);
    return p;
}

static void pair_free(pair *p)
{
    free(p->cert);
    free(p->key);
}

/* ---- name matching ---- */

static void test_name_match(void)
{
    ok(le_tls_name_match("a.com", "a.com"), "exact name");
    ok(le_tls_name_match("A.Com", "a.COM"), "exact name, any case");
    ok(!le_tls_name_match("a.com", "b.com"), "another name");
    ok(le_tls_name_match("*.a.com", "x.a.com"), "wildcard, one label");
    ok(le_tls_name_match("*.A.com", "X.a.COM"), "wildcard, any case");
    ok(le_tls_name_match(".a.com", "x.a.com"), "dot wildcard, one label");
    ok(!le_tls_name_match("*.a.com", "a.com"), "wildcard does not cover the bare name");
    ok(!le_tls_name_match(".a.com", "a.com"), "dot wildcard does not cover the bare name");
    ok(!le_tls_name_match("*.a.com", "y.x.a.com"), "wildcard covers one label only");
    ok(!le_tls_name_match("*.a.com", ".a.com"), "empty label");
    ok(!le_tls_name_match("*.a.com", "xa.com"), "suffix without the dot");
    ok(!le_tls_name_match("*.a.com", "*.a.com"), "a pattern is not a host");
    ok(!le_tls_name_match("*", "a"), "lone star");
    ok(!le_tls_name_match("*a.com", "xa.com"), "partial wildcard");
    ok(!le_tls_name_match("", "a.com") && !le_tls_name_match("a.com", "") &&
       !le_tls_name_match(NULL, "a.com") && !le_tls_name_match("a.com", NULL), "empty or NULL");
}

/* ---- le_tls_check ---- */

static void test_check(void)
{
    le_tls_info info;
    char fp[65];
    char *rsa_c = cert_pem(rsa_leaf, ca), *rsa_k = key_pem(rsa_key, NULL);
    char *ec_c = cert_pem(ec_leaf, NULL), *ec_k = key_pem(ec_key, NULL);
    char *other_k = key_pem(other_key, NULL), *enc_k = key_pem(rsa_key, "secret-pass");

    is_int(le_tls_check(rsa_c, strlen(rsa_c), rsa_k, strlen(rsa_k), &info), LE_TLS_OK, "RSA leaf + chain + key");
    is_str(info.common, "rsa.example.test", "common name");
    is_str(info.issuer, "Test Root CA", "issuer CN");
    sha256_hex(rsa_leaf, fp);
    is_str(info.fingerprint, fp, "fingerprint: SHA-256 of the leaf's DER");
    is_int(info.not_after_ms, (int64_t)NOT_AFTER * 1000, "not_after in Unix ms");

    is_int(le_tls_check(ec_c, strlen(ec_c), ec_k, strlen(ec_k), &info), LE_TLS_OK, "EC leaf + key");
    is_str(info.common, "ec.example.test", "EC common name");
    sha256_hex(ec_leaf, fp);
    is_str(info.fingerprint, fp, "EC fingerprint");
    is_int(le_tls_check(ec_c, strlen(ec_c), NULL, 0, &info), LE_TLS_OK, "certificate alone (key NULL)");
    is_int(le_tls_check(ec_c, strlen(ec_c), NULL, 0, NULL), LE_TLS_OK, "info NULL");

    char *o_c = cert_pem(leaf_o, NULL);
    is_int(le_tls_check(o_c, strlen(o_c), NULL, 0, &info), LE_TLS_OK, "leaf of an issuer without CN");
    is_str(info.issuer, "Org Only CA", "issuer: the O when there is no CN");
    is_str(info.common, "", "no subject CN: empty");

    is_int(le_tls_check(rsa_c, strlen(rsa_c), other_k, strlen(other_k), &info), LE_TLS_MISMATCH,
           "another key: mismatch");
    is_str(info.common, "", "info cleared on failure");
    is_int(le_tls_check(rsa_c, strlen(rsa_c), ec_k, strlen(ec_k), NULL), LE_TLS_MISMATCH,
           "EC key for an RSA certificate: mismatch");
    is_int(le_tls_check(rsa_c, strlen(rsa_c), enc_k, strlen(enc_k), NULL), LE_TLS_BAD_KEY,
           "encrypted key: bad key (no prompt)");
    static const char garbage[] = "-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n";
    is_int(le_tls_check(garbage, sizeof(garbage) - 1, rsa_k, strlen(rsa_k), NULL), LE_TLS_BAD_CERT,
           "garbage certificate");
    is_int(le_tls_check("hello", 5, rsa_k, strlen(rsa_k), NULL), LE_TLS_BAD_CERT, "no PEM at all");
    is_int(le_tls_check("", 0, NULL, 0, NULL), LE_TLS_BAD_CERT, "empty certificate");
    is_int(le_tls_check(rsa_k, strlen(rsa_k), rsa_k, strlen(rsa_k), NULL), LE_TLS_BAD_CERT,
           "a key where the certificate goes");
    is_int(le_tls_check(rsa_c, strlen(rsa_c), "junk", 4, NULL), LE_TLS_BAD_KEY, "garbage key");
    is_int(le_tls_check(rsa_c, strlen(rsa_c), rsa_c, strlen(rsa_c), NULL), LE_TLS_BAD_KEY,
           "a certificate where the key goes");
    /* A truncated key. */
    is_int(le_tls_check(rsa_c, strlen(rsa_c), rsa_k, strlen(rsa_k) / 2, NULL), LE_TLS_BAD_KEY, "truncated key");

    size_t big = LE_TLS_MAX_PEM + 1;
    char *huge = malloc(big + 1);
    memset(huge, 'A', big);
    huge[big] = '\0';
    memcpy(huge, rsa_c, strlen(rsa_c));   /* a valid certificate first: the length alone refuses it */
    is_int(le_tls_check(huge, big, rsa_k, strlen(rsa_k), NULL), LE_TLS_CERT_TOO_LONG, "certificate too long");
    is_int(le_tls_check(rsa_c, strlen(rsa_c), huge, big, NULL), LE_TLS_BAD_KEY, "key too long");
    is_int(le_tls_check(huge, LE_TLS_MAX_PEM, rsa_k, strlen(rsa_k), NULL), LE_TLS_OK,
           "exactly LE_TLS_MAX_PEM bytes is allowed (trailing text ignored)");
    ok(ERR_peek_error() == 0, "the OpenSSL error queue is left empty");
    free(huge);
    free(rsa_c);
    free(rsa_k);
    free(ec_c);
    free(ec_k);
    free(other_k);
    free(enc_k);
    free(o_c);
}

/* ---- sealing ---- */

static void test_seal(void)
{
    const char *secret = "0123456789abcdef-node-secret";
    char *s = NULL, *p = NULL;
    size_t n = 0;
    const char *key = "-----BEGIN PRIVATE KEY-----\nMIIB...\n-----END PRIVATE KEY-----\n";
    is_int(le_tls_seal(secret, key, strlen(key), &s), LE_OK, "seal");
    ok(s && strncmp(s, "v1:", 3) == 0, "sealed text starts with v1:");
    ok(s && !strstr(s, "PRIVATE"), "sealed text hides the plain text");
    is_int(le_tls_unseal(secret, s, &p, &n), LE_OK, "unseal");
    ok(p && n == strlen(key) && memcmp(p, key, n) == 0 && p[n] == '\0', "round trip, NUL-terminated");
    free(p);
    char *s2 = NULL;
    le_tls_seal(secret, key, strlen(key), &s2);
    ok(s2 && strcmp(s, s2) != 0, "two sealings differ (random nonce)");
    free(s2);
    is_int(le_tls_unseal("another secret of length", s, &p, &n), LE_EINVAL, "wrong secret");
    ok(p == NULL && n == 0, "nothing given back");

    /* Every byte position matters: alter one base64 character. */
    int all_refused = 1;
    for (size_t i = 3; s[i] && s[i] != '='; i++) {
        char save = s[i];
        s[i] = save == 'A' ? 'B' : 'A';
        if (le_tls_unseal(secret, s, &p, &n) != LE_EINVAL)
            all_refused = 0;
        free(p);
        s[i] = save;
    }
    ok(all_refused, "an altered character anywhere is refused");
    is_int(le_tls_unseal(secret, s, &p, &n), LE_OK, "the unaltered text still opens");
    free(p);

    static const char *bad[] = { "", "v1:", "v2:AAAA", "AAAAAAAA", "v1:AAA", "v1:AA=A",
                                 "v1:****************************************",
                                 "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "v1:AAAA====", NULL };
    int refused = 1;
    for (int i = 0; bad[i]; i++)
        if (le_tls_unseal(secret, bad[i], &p, &n) != LE_EINVAL) {
            refused = 0;
            printf("# accepted: %s\n", bad[i]);
            free(p);
        }
    ok(refused, "malformed texts refused");
    size_t tl = strlen(s);
    s[tl - 2] = '\0';
    is_int(le_tls_unseal(secret, s, &p, &n), LE_EINVAL, "truncated text refused");
    free(s);

    /* Lengths around the base64 padding, the empty text included. */
    int rt = 1;
    unsigned char buf[70];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 37 + 1);
    for (size_t len = 0; len < sizeof(buf); len++) {
        s = NULL;
        p = NULL;
        if (le_tls_seal(secret, buf, len, &s) != LE_OK || le_tls_unseal(secret, s, &p, &n) != LE_OK ||
            n != len || memcmp(p, buf, len) != 0)
            rt = 0;
        free(s);
        free(p);
    }
    ok(rt, "round trip for lengths 0 to 69");
    is_int(le_tls_seal("", "x", 1, &s), LE_EINVAL, "empty secret refused");
    /* The format: "v1:" + base64(nonce | AES-256-GCM ciphertext | tag), the
     * key SHA-256 of the secret (this text was sealed by another AES-GCM
     * implementation, nonce 00 01 .. 0b). */
    is_int(le_tls_unseal("0123456789abcdef", "v1:AAECAwQFBgcICQoLCAQrLgJZ0i/IH0yBBrxHvbTMA9LwCgY2J90B50MFaKM=",
                         &p, &n), LE_OK, "a text sealed elsewhere opens");
    is_str(p, "sealed elsewhere", "... to its plain text");
    free(p);
}

/* ---- in-memory handshakes ---- */

typedef struct hs {
    int ok;                     /* both sides done */
    int server_reason;          /* the server's OpenSSL reason on failure */
    char cn[128];               /* the CN of the certificate the client got */
    char alpn[32];
    int version;
    char cipher[64];
    long verify;                /* the client's verify result */
} hs;

/* cctx: the client's context; sni may be NULL; min/max client versions. */
static SSL *kept_cli, *kept_srv;   /* handshake_keep: left open for the caller */
static int keep_next;

static hs handshake_ex(SSL_CTX *cctx, SSL *srv, const char *sni, const char *host, int alpn)
{
    hs r;
    memset(&r, 0, sizeof(r));
    SSL *cli = SSL_new(cctx);
    if (!cli || !srv) {
        SSL_free(cli);
        SSL_free(srv);
        return r;
    }
    if (sni)
        SSL_set_tlsext_host_name(cli, sni);
    if (host)
        le_net_client_ssl_target(cli, host, 443);
    if (alpn)
        SSL_set_alpn_protos(cli, (const unsigned char *)"\x08http/1.1\x02h2", 12);
    BIO *cb, *sb;
    BIO_new_bio_pair(&cb, 0, &sb, 0);
    SSL_set_bio(cli, cb, cb);
    SSL_set_bio(srv, sb, sb);
    SSL_set_connect_state(cli);
    SSL_set_accept_state(srv);
    int cdone = 0, sdone = 0, failed = 0;
    for (int i = 0; i < 50 && !(cdone && sdone) && !failed; i++) {
        if (!cdone) {
            int rc = SSL_do_handshake(cli);
            if (rc == 1)
                cdone = 1;
            else if (SSL_get_error(cli, rc) != SSL_ERROR_WANT_READ)
                failed = 1;
            ERR_clear_error();
        }
        if (!sdone && !failed) {
            int rc = SSL_do_handshake(srv);
            if (rc == 1) {
                sdone = 1;
            } else if (SSL_get_error(srv, rc) != SSL_ERROR_WANT_READ) {
                failed = 1;
                r.server_reason = ERR_GET_REASON(ERR_peek_error());
            }
            ERR_clear_error();
        }
    }
    r.ok = cdone && sdone;
    r.verify = SSL_get_verify_result(cli);
    if (r.ok) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
        X509 *peer = SSL_get1_peer_certificate(cli);
#else
        X509 *peer = SSL_get_peer_certificate(cli);
#endif
        if (peer) {
            X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, r.cn, sizeof(r.cn));
            X509_free(peer);
        }
        const unsigned char *a = NULL;
        unsigned int alen = 0;
        SSL_get0_alpn_selected(cli, &a, &alen);
        if (a && alen < sizeof(r.alpn)) {
            memcpy(r.alpn, a, alen);
            r.alpn[alen] = '\0';
        }
        r.version = SSL_version(cli);
        snprintf(r.cipher, sizeof(r.cipher), "%s", SSL_get_cipher_name(cli));
    }
    if (keep_next) {
        keep_next = 0;
        kept_cli = cli;
        kept_srv = srv;
        return r;
    }
    SSL_free(cli);
    SSL_free(srv);
    return r;
}

static SSL_CTX *plain_client(int minv, int maxv, const char *ciphers)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(c, 0);
    SSL_CTX_set_min_proto_version(c, minv);
    SSL_CTX_set_max_proto_version(c, maxv);
    SSL_CTX_set_cipher_list(c, ciphers ? ciphers : "ALL:@SECLEVEL=0");
    return c;
}

static hs handshake(const char *sni, int alpn_http)
{
    SSL_CTX *c = plain_client(TLS1_2_VERSION, 0, NULL);
    hs r = handshake_ex(c, le_tls_server_ssl(alpn_http), sni, NULL, 1);
    SSL_CTX_free(c);
    return r;
}

static void test_server(void)
{
    le_conf conf;
    le_conf_domain da, dx;
    char err[512];
    memset(&conf, 0, sizeof(conf));
    memset(&da, 0, sizeof(da));
    memset(&dx, 0, sizeof(dx));

    ok(!le_tls_ready() && le_tls_server_ssl(0) == NULL, "no default certificate: no server SSL");
    pair def = make_pair("default.test", "DNS:default.test", 100);
    pair fa = make_pair("file-a", "DNS:a.test,DNS:push.a.test", 101);
    pair fx = make_pair("file-x", "DNS:x.w.test", 102);
    pair wild = make_pair("api-wild", "DNS:*.w.test", 103);
    pair apia = make_pair("api-a", "DNS:a.test", 104);
    pair apia2 = make_pair("api-a-2", "DNS:a.test", 105);

    conf.tls_certificate = write_file("def.crt", def.cert);
    is_int(le_tls_init(&conf, err, sizeof(err)), LE_EINVAL, "a certificate without its key refused");
    conf.tls_certificate_key = write_file("def.key", def.key);
    da.name = "a.test";
    da.push_domain = "push.a.test";
    dx.push_domain = "push.x.test";     /* not in its certificate */
    da.ssl_certificate = write_file("a.crt", fa.cert);
    da.ssl_certificate_key = write_file("a.key", fa.key);
    dx.name = "X.W.test";
    dx.ssl_certificate = write_file("x.crt", fx.cert);
    dx.ssl_certificate_key = write_file("x.key", fx.key);
    da.next = &dx;
    conf.domains = &da;
    is_int(le_tls_init(&conf, err, sizeof(err)), LE_OK, "init from files");
    ok(le_tls_ready(), "ready");
    is_int(le_tls_get_stats()->installed, 4, "four names installed (default, a.test, push.a.test, x.w.test)");
    is_int(le_tls_install("*.w.test", wild.cert, strlen(wild.cert), wild.key, strlen(wild.key), err,
                          sizeof(err)), LE_OK, "install a wildcard from the API");
    is_int(le_tls_install("bad.test", wild.cert, strlen(wild.cert), def.key, strlen(def.key), err,
                          sizeof(err)), LE_EINVAL, "install a mismatched pair refused");
    ok(strstr(err, "does not match") != NULL, "... err says why: %s", err);

    is_str(handshake(NULL, 0).cn, "default.test", "no SNI: the default");
    is_str(handshake("nothing.test", 0).cn, "default.test", "unknown SNI: the default");
    is_str(handshake("a.test", 0).cn, "file-a", "exact file name");
    is_str(handshake("A.TEST", 0).cn, "file-a", "exact name, any case");
    is_str(handshake("push.a.test", 0).cn, "file-a", "a domain's push domain named by its certificate");
    is_str(handshake("push.x.test", 0).cn, "default.test", "a push domain its certificate does not name: default");
    is_str(handshake("x.w.test", 0).cn, "file-x", "exact name beats wildcard");
    is_str(handshake("y.w.test", 0).cn, "api-wild", "wildcard");
    is_str(handshake("z.y.w.test", 0).cn, "default.test", "wildcard covers one label only");

    is_int(le_tls_install("a.test", apia.cert, strlen(apia.cert), apia.key, strlen(apia.key), err,
                          sizeof(err)), LE_OK, "install a.test from the API");
    is_str(handshake("a.test", 0).cn, "api-a", "API-installed beats file-installed");
    /* Replacing while a connection holds the old context: both survive. */
    SSL *held = le_tls_server_ssl(0);
    is_int(le_tls_install("a.test", apia2.cert, strlen(apia2.cert), apia2.key, strlen(apia2.key), err,
                          sizeof(err)), LE_OK, "replace a.test from the API");
    is_str(handshake("a.test", 0).cn, "api-a-2", "the replacement serves");
    {
        SSL_CTX *c = plain_client(TLS1_2_VERSION, 0, NULL);
        is_str(handshake_ex(c, held, "a.test", NULL, 0).cn, "api-a-2", "an SSL made before the change sees it");
        SSL_CTX_free(c);
    }
    /* An open connection keeps its certificate through a replacement and a
     * removal: its context lives as long as it does. */
    {
        SSL_CTX *c = plain_client(TLS1_2_VERSION, 0, NULL);
        keep_next = 1;
        is_str(handshake_ex(c, le_tls_server_ssl(0), "a.test", NULL, 0).cn, "api-a-2", "a connection on api-a-2");
        is_int(le_tls_install("a.test", apia.cert, strlen(apia.cert), apia.key, strlen(apia.key), err,
                              sizeof(err)), LE_OK, "replaced while it is open");
        le_tls_uninstall("a.test");
        char cn[64] = "", got[8] = "";
        X509_NAME_get_text_by_NID(X509_get_subject_name(SSL_get_certificate(kept_srv)), NID_commonName, cn,
                                  sizeof(cn));
        is_str(cn, "api-a-2", "... it still has its certificate");
        int w = SSL_write(kept_srv, "still", 5);
        int n = SSL_read(kept_cli, got, sizeof(got) - 1);
        ok(w == 5 && n == 5 && memcmp(got, "still", 5) == 0, "... and its connection still carries data");
        SSL_free(kept_cli);
        SSL_free(kept_srv);
        SSL_CTX_free(c);
        is_int(le_tls_install("a.test", apia2.cert, strlen(apia2.cert), apia2.key, strlen(apia2.key), err,
                              sizeof(err)), LE_OK, "a.test from the API again");
    }
    is_int(le_tls_init(&conf, err, sizeof(err)), LE_OK, "reload");
    is_str(handshake("a.test", 0).cn, "api-a-2", "API certificates survive a reload");
    is_str(handshake("x.w.test", 0).cn, "file-x", "file certificates reloaded");
    le_tls_uninstall("a.test");
    is_str(handshake("a.test", 0).cn, "file-a", "uninstall falls back to the file's");
    le_tls_uninstall("*.w.test");
    is_str(handshake("y.w.test", 0).cn, "default.test", "uninstalled wildcard: the default");
    is_int(le_tls_get_stats()->installed, 4, "four installed again");

    /* A file that does not load keeps the previous set. */
    dx.ssl_certificate_key = write_file("x-wrong.key", fa.key);
    is_int(le_tls_init(&conf, err, sizeof(err)), LE_EINVAL, "reload with a mismatched pair refused");
    ok(strstr(err, "x.crt") && strstr(err, "does not match"), "... err names the file and the reason: %s", err);
    dx.ssl_certificate_key = write_file("x-missing.key", "");
    unlink(dx.ssl_certificate_key);
    is_int(le_tls_init(&conf, err, sizeof(err)), LE_EINVAL, "reload with a missing key refused");
    ok(strstr(err, "x-missing.key") && strstr(err, "No such file"), "... err names the file: %s", err);
    is_str(handshake("x.w.test", 0).cn, "file-x", "the previous set still serves");
    dx.ssl_certificate_key = write_file("x.key", fx.key);

    /* ALPN. */
    is_str(handshake("a.test", 1).alpn, "http/1.1", "ALPN http/1.1 when alpn_http");
    is_str(handshake("a.test", 0).alpn, "", "no ALPN otherwise");
    is_str(handshake("y.w.test", 1).alpn, "http/1.1", "ALPN after an SNI switch");

    /* Protocols and ciphers. */
    SSL_CTX *c11 = plain_client(TLS1_VERSION, TLS1_1_VERSION, NULL);
    hs r = handshake_ex(c11, le_tls_server_ssl(0), "a.test", NULL, 0);
    ok(!r.ok, "TLS 1.1 refused");
    is_int(r.server_reason, SSL_R_UNSUPPORTED_PROTOCOL, "... by the server (unsupported protocol)");
    SSL_CTX_free(c11);
    SSL_CTX *c13 = plain_client(TLS1_3_VERSION, TLS1_3_VERSION, NULL);
    r = handshake_ex(c13, le_tls_server_ssl(0), "a.test", NULL, 0);
    ok(r.ok && r.version == TLS1_3_VERSION, "TLS 1.3 accepted");
    SSL_CTX_free(c13);
    SSL_CTX *c12 = plain_client(TLS1_2_VERSION, TLS1_2_VERSION,
                                "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:"
                                "ECDHE-ECDSA-AES128-GCM-SHA256");
    r = handshake_ex(c12, le_tls_server_ssl(0), "a.test", NULL, 0);
    ok(r.ok && r.version == TLS1_2_VERSION, "TLS 1.2 accepted");
    is_str(r.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256", "the server's cipher order wins");
    SSL_CTX_free(c12);
    SSL_CTX *cweak = plain_client(TLS1_2_VERSION, TLS1_2_VERSION, "AES128-SHA:ECDHE-ECDSA-AES128-SHA");
    ok(!handshake_ex(cweak, le_tls_server_ssl(0), "a.test", NULL, 0).ok, "a cipher outside the list refused");
    SSL_CTX_free(cweak);

    /* Configured cipher lists. */
    conf.tls_ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384";
    conf.tls_ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
    is_int(le_tls_init(&conf, err, sizeof(err)), LE_OK, "reload with cipher lists");
    c12 = plain_client(TLS1_2_VERSION, TLS1_2_VERSION, NULL);
    r = handshake_ex(c12, le_tls_server_ssl(0), NULL, NULL, 0);
    is_str(r.cipher, "ECDHE-ECDSA-AES256-GCM-SHA384", "tls_ciphers applies");
    SSL_CTX_free(c12);
    c13 = plain_client(TLS1_3_VERSION, TLS1_3_VERSION, NULL);
    r = handshake_ex(c13, le_tls_server_ssl(0), "a.test", NULL, 0);
    is_str(r.cipher, "TLS_CHACHA20_POLY1305_SHA256", "tls_ciphersuites applies (after an SNI switch too)");
    SSL_CTX_free(c13);
    conf.tls_ciphers = "NO-SUCH-CIPHER";
    is_int(le_tls_init(&conf, err, sizeof(err)), LE_EINVAL, "an unusable cipher list refused");
    ok(strstr(err, "tls_ciphers") != NULL, "... err says so: %s", err);
    conf.tls_ciphers = NULL;
    conf.tls_ciphersuites = NULL;
    is_int(le_tls_init(&conf, err, sizeof(err)), LE_OK, "back to the defaults");

    /* Outbound: the CA file, the host check, the skip list. */
    char *ca_file = write_file("ca.crt", "");
    {
        char *ca_text = cert_pem(ca, NULL);
        ca_file = write_file("ca.crt", ca_text);
        free(ca_text);
    }
    struct event_base *base = event_base_new();
    struct evdns_base *dns;
    SSL_CTX *out;
    const char *skip[] = { "Skip.Test", "only443.test:443", "other.test:8443", NULL };
    le_net_client_tls_conf(ca_file, skip);
    le_net_client_init(base, "tests", &dns, &out);
    r = handshake_ex(out, le_tls_server_ssl(0), NULL, "a.test", 0);
    ok(r.ok && r.verify == X509_V_OK, "CA file trusted: a.test verified");
    is_str(r.cn, "file-a", "... with SNI a.test");
    r = handshake_ex(out, le_tls_server_ssl(0), NULL, "A.Test", 0);
    ok(r.ok, "host check in any case");
    ok(!handshake_ex(out, le_tls_server_ssl(0), NULL, "b.test", 0).ok, "host mismatch refused");
    r = handshake_ex(out, le_tls_server_ssl(0), NULL, "skip.test", 0);
    ok(r.ok, "skipped host: not verified (default certificate for another name)");
    is_str(r.cn, "default.test", "... SNI skip.test got the default");
    ok(handshake_ex(out, le_tls_server_ssl(0), NULL, "ONLY443.test", 0).ok, "skip host:port, port matches");
    ok(!handshake_ex(out, le_tls_server_ssl(0), NULL, "other.test", 0).ok, "skip host:port, other port: verified");
    ok(!handshake_ex(out, le_tls_server_ssl(0), NULL, "127.0.0.1", 0).ok, "IP literal checked against the certificate");
    {
        SSL *cli = SSL_new(out);
        le_net_client_ssl_target(cli, "127.0.0.1", 443);
        ok(SSL_get_servername(cli, TLSEXT_NAMETYPE_host_name) == NULL, "no SNI for an IP literal");
        le_net_client_ssl_target(cli, "[::1]", 443);
        ok(SSL_get_servername(cli, TLSEXT_NAMETYPE_host_name) == NULL, "no SNI for a bracketed IPv6 literal");
        SSL_free(cli);
        cli = SSL_new(out);
        le_net_client_ssl_target(cli, "a.test", 443);
        is_str(SSL_get_servername(cli, TLSEXT_NAMETYPE_host_name), "a.test", "SNI for a name");
        SSL_free(cli);
    }
    SSL_CTX_free(out);
    evdns_base_free(dns, 0);
    le_net_client_tls_conf(NULL, NULL);
    le_net_client_init(base, "tests", &dns, &out);
    r = handshake_ex(out, le_tls_server_ssl(0), NULL, "a.test", 0);
    ok(!r.ok, "without the CA file the test CA is not trusted");
    SSL_CTX_free(out);
    evdns_base_free(dns, 0);
    event_base_free(base);

    pair_free(&def);
    pair_free(&fa);
    pair_free(&fx);
    pair_free(&wild);
    pair_free(&apia);
    pair_free(&apia2);
}

/* ---- a TLS listener on loopback ---- */

static struct {
    struct event_base *base;
    le_net_listener *lis;
    int accepted, freed, closed_conns;
    char sni[64];
    int tls;
    char echoed[64];
    int client_eof;
    int garbage_eof;
} lt;

static void *lt_accept(le_net_conn *c)
{
    lt.accepted++;
    return c;
}

static void lt_read(void *ctx)
{
    le_net_conn *c = ctx;
    struct bufferevent *bev = le_net_conn_bev(c);
    lt.tls = le_net_conn_tls(c);
    const char *s = le_net_conn_sni(c);
    snprintf(lt.sni, sizeof(lt.sni), "%s", s ? s : "");
    evbuffer_add_buffer(bufferevent_get_output(bev), bufferevent_get_input(bev));
}

static void lt_event(void *ctx, short what)
{
    le_net_conn *c = ctx;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        le_net_conn_close(c, "peer closed");
}

static void lt_closing(void *ctx, const char *why)
{
    (void)ctx;
    (void)why;
    lt.closed_conns++;
}

static void lt_free(void *ctx)
{
    (void)ctx;
    lt.freed++;
}

static const le_net_ops lt_ops = { .mod = "test", .accept = lt_accept, .read = lt_read, .event = lt_event,
                                   .closing = lt_closing, .free = lt_free };

static void cli_read(struct bufferevent *bev, void *arg)
{
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    if (n >= 5) {
        evbuffer_remove(in, lt.echoed, n < sizeof(lt.echoed) - 1 ? n : sizeof(lt.echoed) - 1);
        event_base_loopexit(lt.base, NULL);
    }
}

static void cli_event(struct bufferevent *bev, short what, void *arg)
{
    int *eof = arg;
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        *eof = 1;
        event_base_loopexit(lt.base, NULL);
    }
}

static void test_listener(void)
{
    char err[256];
    lt.base = event_base_new();
    is_int(le_net_listen(&lt.lis, lt.base, "127.0.0.1:0", 16, &lt_ops, err, sizeof(err)), LE_OK, "listen");
    ok(!le_net_listener_tls(lt.lis), "plain by default");
    le_net_listener_set_tls(lt.lis, 1);
    ok(le_net_listener_tls(lt.lis), "TLS set");
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)le_net_listener_port(lt.lis));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint64_t hs0 = le_tls_get_stats()->handshakes, fail0 = le_tls_get_stats()->failures;
    uint64_t sel0 = le_tls_get_stats()->sni_selected;

    /* A TLS client with SNI: echo. */
    SSL_CTX *cctx = plain_client(TLS1_2_VERSION, 0, NULL);
    SSL *cssl = SSL_new(cctx);
    SSL_set_tlsext_host_name(cssl, "a.test");
    struct bufferevent *cb = bufferevent_openssl_socket_new(lt.base, -1, cssl, BUFFEREVENT_SSL_CONNECTING,
                                                            BEV_OPT_CLOSE_ON_FREE);
    int eof = 0;
    bufferevent_setcb(cb, cli_read, NULL, cli_event, &eof);
    bufferevent_enable(cb, EV_READ | EV_WRITE);
    bufferevent_socket_connect(cb, (struct sockaddr *)&sin, sizeof(sin));
    evbuffer_add(bufferevent_get_output(cb), "hello", 5);
    struct timeval tv = { 5, 0 };
    event_base_loopexit(lt.base, &tv);
    event_base_dispatch(lt.base);
    is_str(lt.echoed, "hello", "echo over TLS");
    ok(lt.tls, "le_net_conn_tls");
    is_str(lt.sni, "a.test", "le_net_conn_sni");
    is_int(le_tls_get_stats()->handshakes, hs0 + 1, "handshake counted");
    is_int(le_tls_get_stats()->sni_selected, sel0 + 1, "SNI selection counted");
    is_int(le_net_listener_conns(lt.lis), 1, "one connection open");
    bufferevent_free(cb);

    /* Plain text on the TLS port: one closed connection, not a crash. */
    int before = lt.closed_conns;
    struct bufferevent *gb = bufferevent_socket_new(lt.base, -1, BEV_OPT_CLOSE_ON_FREE);
    int geof = 0;
    bufferevent_setcb(gb, NULL, NULL, cli_event, &geof);
    bufferevent_enable(gb, EV_READ | EV_WRITE);
    bufferevent_socket_connect(gb, (struct sockaddr *)&sin, sizeof(sin));
    evbuffer_add_printf(bufferevent_get_output(gb), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    event_base_loopexit(lt.base, &tv);
    event_base_dispatch(lt.base);
    ok(geof, "garbage: the server closed the connection");
    /* Let the reaper and the first client's close run. */
    struct timeval shortv = { 0, 200000 };
    event_base_loopexit(lt.base, &shortv);
    event_base_dispatch(lt.base);
    is_int(le_tls_get_stats()->failures, fail0 + 1, "failed handshake counted");
    ok(lt.closed_conns >= before + 1, "the garbage connection went through closing");
    is_int(le_net_listener_conns(lt.lis), 0, "no connection left open");
    is_int(lt.freed, lt.accepted, "every accepted connection freed");
    bufferevent_free(gb);
    le_net_listener_free(lt.lis, "test over");
    SSL_CTX_free(cctx);
    event_base_free(lt.base);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/test_tls.XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    ca_key = make_key(0);
    ca = make_cert(ca_key, "Test Root CA", "Test Org", NULL, NULL, NULL, 1);
    rsa_key = make_key(1);
    rsa_leaf = make_cert(rsa_key, "rsa.example.test", NULL, "DNS:rsa.example.test", ca, ca_key, 2);
    ec_key = make_key(0);
    ec_leaf = make_cert(ec_key, "ec.example.test", NULL, "DNS:ec.example.test", ca, ca_key, 3);
    other_key = make_key(1);
    EVP_PKEY *ok_key = make_key(0);
    ca_o = make_cert(ok_key, NULL, "Org Only CA", NULL, NULL, NULL, 4);
    leaf_o = make_cert(ec_key, NULL, "Leaf Org", "DNS:o.test", ca_o, ok_key, 5);

    test_name_match();
    test_check();
    test_seal();
    test_server();
    test_listener();

    le_tls_free();
    ok(!le_tls_ready(), "freed");
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(ok_key);
    X509_free(ca);
    X509_free(ca_o);
    X509_free(rsa_leaf);
    X509_free(ec_leaf);
    X509_free(leaf_o);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# cannot remove %s\n", dir);
    return done_testing();
}
