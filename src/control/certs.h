/* Certificates set through the API (SetLiveDomainCertificate, docs/TLS.md):
 * kept in Redis so every node serves them, private keys sealed with
 * tls_key_secret, mirrored in memory and installed into the TLS module
 * (tls/tls.h) per domain. A change is published on the events channel and
 * every node reloads it; every (re)connect to Redis reloads them all.
 *
 * Redis (docs/CONTRACT.md): {prefix}cert:{CertName} hash (pub, pri sealed,
 * id, fp, common, issuer, last, created), {prefix}certs set of names,
 * {prefix}cert:id counter, {prefix}domaincert:{domain} hash (ssl on|off,
 * cert), {prefix}domaincerts set of those domains. Events "cert NAME" and
 * "domaincert DOMAIN". The mirror holds no private key: a key is unsealed
 * from Redis's answer just to install it, then wiped. */
#ifndef LE_CERTS_H
#define LE_CERTS_H
#include <stddef.h>
#include <stdint.h>

struct le_conf;
struct le_tls_info;

#define LE_CERTS_MAX 4096            /* certificates stored at most */
#define LE_CERTS_NAME_MAX 128        /* CertName */
/* SSLPub at most: a chain of a dozen certificates. The admin port takes a
 * 64 KiB body (the key and the other parameters included), so the check is
 * made below that for InvalidCertificate.TooLong to be answerable. */
#define LE_CERTS_PUB_MAX (32 * 1024)

typedef struct le_cert {
    char *name;
    char *pub;                  /* the PEM chain, NUL-terminated */
    size_t pub_len;
    int64_t id;                 /* CertId */
    char fingerprint[65];       /* SHA-256 of the leaf, lowercase hex */
    char *common, *issuer;
    int64_t last_ms;            /* the leaf's notAfter, Unix ms */
    int64_t created_ms;
} le_cert;

void le_certs_init(const struct le_conf *conf);
void le_certs_free(void);

const le_cert *le_cert_get(const char *name);
size_t le_certs_count(void);
/* Every stored certificate, ordered by CertId. */
typedef void (*le_cert_iter_fn)(const le_cert *c, void *arg);
void le_certs_foreach(le_cert_iter_fn fn, void *arg);
/* The certificate bound to domain with SSLProtocol on (NULL: none or off;
 * *name, when not NULL, gets the bound name even if not loaded yet). */
const le_cert *le_certs_bound(const char *domain, const char **name);
/* 1 when a domain other than except (may be NULL) has name bound on. */
int le_certs_bound_elsewhere(const char *name, const char *except);

/* Completion of a change: LE_OK once Redis took it, LE_EIO when it did not. */
typedef void (*le_certs_done_fn)(int rc, void *arg);

/* Stores the pair under name (a new CertId unless name exists), sealing
 * key_pem with tls_key_secret, binds it on to domain, installs it here and
 * tells the other nodes. The caller checked it with le_tls_check (info).
 * LE_EINVAL without tls_key_secret, LE_EIO when the store does not take the
 * command (done is then never called). */
int le_certs_store(const char *name, const char *domain, const char *cert_pem, size_t cert_len,
                   const char *key_pem, size_t key_len, const struct le_tls_info *info,
                   le_certs_done_fn done, void *arg);
/* Binds domain to the stored certificate name (on) or turns SSLProtocol off
 * for it (name may then be NULL). Same return and completion. */
int le_certs_bind(const char *domain, int on, const char *name, le_certs_done_fn done, void *arg);
/* DeleteLiveDomain: the domain's binding goes (its certificate stays). */
void le_certs_drop_domain(const char *domain);

#endif
