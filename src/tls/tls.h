/* TLS: the server side of RTMPS, HTTPS and the admin port over TLS, and the
 * pure checks and sealing behind the certificate actions (docs/TLS.md).
 *
 * Server contexts: one per certificate; TLS 1.2 and 1.3 only; the cipher
 * lists of tls_ciphers (TLS 1.2) and tls_ciphersuites (TLS 1.3); ALPN
 * "http/1.1" offered on the HTTP listeners. A connection's certificate is
 * chosen by SNI when its ClientHello arrives: one installed for that exact
 * name, else one installed for a wildcard covering it, else the node default
 * (tls_certificate). Certificates set through the API win over those of the
 * configuration file for the same name. Installing or removing one applies to
 * the next handshake; open connections keep theirs. Everything here runs on
 * the reactor and never blocks. */
#ifndef LE_TLS_H
#define LE_TLS_H
#include <stddef.h>
#include <stdint.h>

struct le_conf;
struct ssl_st;

#define LE_TLS_MAX_PEM (64 * 1024)   /* a certificate chain, or a key, at most */

typedef struct le_tls_info {
    char fingerprint[65];       /* SHA-256 of the leaf's DER, lowercase hex */
    char common[256];           /* the leaf subject's CN ("" if none) */
    char issuer[256];           /* the issuer's CN, else its O ("" if none) */
    int64_t not_after_ms;       /* the leaf's notAfter, Unix ms */
} le_tls_info;

/* What le_tls_check finds wrong, in the order it looks. */
enum {
    LE_TLS_OK = 0,
    LE_TLS_CERT_TOO_LONG,       /* cert_len over LE_TLS_MAX_PEM */
    LE_TLS_BAD_CERT,            /* no PEM certificate, or one that does not parse */
    LE_TLS_BAD_KEY,             /* key over LE_TLS_MAX_PEM, no PEM key, encrypted or unparsable */
    LE_TLS_MISMATCH,            /* the key is not the leaf certificate's */
};

/* Pure: parses cert_pem (PEM certificates, the leaf first, its chain after)
 * and, unless key_pem is NULL, key_pem (an unencrypted PEM private key),
 * checks that the key belongs to the leaf, and fills info (may be NULL) from
 * the leaf. Returns one of the LE_TLS_* values above. */
int le_tls_check(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                 le_tls_info *info);

/* Pure: 1 when host (a server name, any case, no trailing dot) is covered by
 * pattern: the same name, or a wildcard "*.a.com" or ".a.com" and host is one
 * more label under it ("x.a.com", not "a.com" nor "y.x.a.com"). */
int le_tls_name_match(const char *pattern, const char *host);

/* Private keys at rest (Redis): AES-256-GCM under SHA-256(secret), a random
 * 96-bit nonce per sealing. *out is "v1:" + base64(nonce | ciphertext | tag),
 * NUL-terminated, the caller's to free. le_tls_unseal gives back the plain
 * bytes (NUL-terminated, *outlen without it; the caller frees them after
 * OPENSSL_cleanse); LE_EINVAL for a wrong secret or an altered or malformed
 * text, LE_ENOMEM. */
int le_tls_seal(const char *secret, const void *plain, size_t len, char **out);
int le_tls_unseal(const char *secret, const char *sealed, char **out, size_t *outlen);

/* ---- server side (one instance per process, the reactor's) ---- */

/* Node start (and SIGHUP): the default certificate (tls_certificate,
 * tls_certificate_key) and the domain blocks' ssl_certificate /
 * ssl_certificate_key, with the cipher lists. On a file that does not load,
 * LE_EINVAL with err filled, and the previous set stays. Certificates
 * installed from the API are kept across a reload. */
int le_tls_init(const struct le_conf *conf, char *err, size_t errlen);
void le_tls_free(void);
/* 1 once a default certificate is loaded: TLS listeners need one. */
int le_tls_ready(void);

/* Installs the certificate served for name (a domain, or a wildcard pattern
 * as in le_tls_name_match), replacing what the API installed there before.
 * LE_EINVAL (err filled) when the pair does not pass le_tls_check. */
int le_tls_install(const char *name, const char *cert_pem, size_t cert_len, const char *key_pem,
                   size_t key_len, char *err, size_t errlen);
/* Removes what the API installed for name (the file's, if any, serves again). */
void le_tls_uninstall(const char *name);

/* A server-side SSL for an accepted socket, SNI selection armed; alpn_http
 * offers "http/1.1". NULL without a default certificate (or out of memory). */
struct ssl_st *le_tls_server_ssl(int alpn_http);
/* The server name a connection's client sent (SNI), or NULL. */
const char *le_tls_sni(struct ssl_st *ssl);
/* The listener's report of a server handshake's end (ok 1: completed, 0:
 * failed), for le_tls_stats. */
void le_tls_handshake_done(struct ssl_st *ssl, int ok);

typedef struct le_tls_stats {
    uint64_t handshakes;        /* completed server handshakes */
    uint64_t failures;          /* handshakes that failed (garbage, alerts, timeouts count elsewhere) */
    uint64_t sni_selected;      /* handshakes served a certificate other than the default */
    uint64_t installed;         /* certificates installed now (file and API) */
} le_tls_stats;
const le_tls_stats *le_tls_get_stats(void);

#endif
