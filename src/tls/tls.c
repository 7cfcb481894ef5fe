/* Placeholder bodies: see tls.h. */
#include "tls/tls.h"
#include "core/err.h"
#include <string.h>

static le_tls_stats stats;

int le_tls_check(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len, le_tls_info *info)
{
    (void)cert_pem; (void)cert_len; (void)key_pem; (void)key_len;
    if (info)
        memset(info, 0, sizeof(*info));
    return LE_TLS_BAD_CERT;
}
int le_tls_name_match(const char *pattern, const char *host) { (void)pattern; (void)host; return 0; }
int le_tls_seal(const char *secret, const void *plain, size_t len, char **out)
{ (void)secret; (void)plain; (void)len; *out = NULL; return LE_EINVAL; }
int le_tls_unseal(const char *secret, const char *sealed, char **out, size_t *outlen)
{ (void)secret; (void)sealed; *out = NULL; *outlen = 0; return LE_EINVAL; }
int le_tls_init(const struct le_conf *conf, char *err, size_t errlen) { (void)conf; (void)err; (void)errlen; return LE_OK; }
void le_tls_free(void) {}
int le_tls_ready(void) { return 0; }
int le_tls_install(const char *name, const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len,
                   char *err, size_t errlen)
{ (void)name; (void)cert_pem; (void)cert_len; (void)key_pem; (void)key_len; (void)err; (void)errlen; return LE_EINVAL; }
void le_tls_uninstall(const char *name) { (void)name; }
struct ssl_st *le_tls_server_ssl(int alpn_http) { (void)alpn_http; return NULL; }
const char *le_tls_sni(struct ssl_st *ssl) { (void)ssl; return NULL; }
const le_tls_stats *le_tls_get_stats(void) { return &stats; }
