/* Certificates set through the API (SetLiveDomainCertificate, docs/TLS.md):
 * kept in Redis so every node serves them, private keys sealed with
 * tls_key_secret, mirrored in memory and installed into the TLS module
 * (tls/tls.h) per domain. A change is published on the events channel and
 * every node reloads it. */
#ifndef LE_CERTS_H
#define LE_CERTS_H
struct le_conf;

void le_certs_init(const struct le_conf *conf);
void le_certs_free(void);

#endif
