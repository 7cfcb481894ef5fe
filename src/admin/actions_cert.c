/* The certificate actions (docs/TLS.md, "Certificates from the API"):
 * SetLiveDomainCertificate, DescribeLiveCertificateList,
 * DescribeLiveCertificateDetail. The private key is checked, sealed and
 * stored by control/certs.c; no answer ever carries it. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/params.h"
#include "control/certs.h"
#include "core/err.h"
#include "core/log.h"
#include "node.h"
#include "store/store.h"
#include "tls/tls.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static void cert_not_found(le_admin_req *r)
{
    le_admin_error(r, 400, "Certificate.NotFind", "Not find the certificate info.");
}

static void change_done(int rc, void *arg)
{
    le_admin_req *r = arg;
    if (rc == LE_OK)
        le_admin_reply(r, le_jv_obj());
    else if (rc == LE_ENOTFOUND)
        cert_not_found(r);
    else
        le_params_unavailable(r);
}

/* A CertName: 1-128 bytes, no control characters; "id" names the CertId
 * counter in Redis (docs/CONTRACT.md). */
static int cert_name_check(le_admin_req *r, const char *name)
{
    if (strlen(name) > LE_CERTS_NAME_MAX) {
        le_admin_error(r, 400, "InvalidCertName.TooLong",
                       "The Certificate name you provided is over the max length 128!");
        return LE_EINVAL;
    }
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            le_params_invalid_why(r, "CertName", "control characters are not allowed");
            return LE_EINVAL;
        }
    if (strcmp(name, "id") == 0) {
        le_params_invalid_why(r, "CertName", "\"id\" is reserved");
        return LE_EINVAL;
    }
    return LE_OK;
}

static void set_certificate(le_admin_req *r)
{
    le_domain *d;
    const char *proto;
    if (le_params_domain(r, "DomainName", &d) != 0 || le_admin_require(r, "SSLProtocol", &proto) != 0)
        return;
    int on = strcmp(proto, "on") == 0;
    if (!on && strcmp(proto, "off") != 0) {
        le_admin_error(r, 400, "InvalidSSLProtocol.ValueNotSupported",
                       "The specified value of parameter Enable is not supported.");
        return;
    }
    const char *pub = le_admin_param(r, "SSLPub"), *pri = le_admin_param(r, "SSLPri");
    const char *name = le_admin_param(r, "CertName");
    if (pub && !*pub)
        pub = NULL;
    if (pri && !*pri)
        pri = NULL;
    if (name && !*name)
        name = NULL;
    if (name && cert_name_check(r, name) != 0)
        return;
    if (!on) {   /* unbinds; the certificate stays stored and listed */
        if (le_params_store(r) != 0)
            return;
        if (le_certs_bind(d->name, 0, NULL, change_done, r) != LE_OK)
            le_params_unavailable(r);
        return;
    }
    if (!pub && !pri && name) {   /* binds a stored certificate */
        if (le_params_store(r) != 0)
            return;
        if (!le_cert_get(name)) {
            cert_not_found(r);
            return;
        }
        if (le_certs_bind(d->name, 1, name, change_done, r) != LE_OK)
            le_params_unavailable(r);
        return;
    }
    if (!pub) {
        le_admin_error(r, 400, "SSLPub.MissingParameter",
                       "An input parameter SSLPub that is mandatory for processing the request is not supplied.");
        return;
    }
    if (!pri) {
        le_admin_error(r, 400, "SSLPri.MissingParameter",
                       "An input parameter SSLPri that is mandatory for processing the request is not supplied.");
        return;
    }
    le_tls_info info;
    size_t publen = strlen(pub);
    switch (publen > LE_CERTS_PUB_MAX ? LE_TLS_CERT_TOO_LONG : le_tls_check(pub, publen, pri, strlen(pri), &info)) {
    case LE_TLS_OK:
        break;
    case LE_TLS_CERT_TOO_LONG:
        le_admin_error(r, 400, "InvalidCertificate.TooLong", "The Certificate you provided is over the max length!");
        return;
    case LE_TLS_BAD_CERT:
        le_admin_error(r, 400, "InvalidCertificate", "The Certificate you provided is malformed!");
        return;
    case LE_TLS_BAD_KEY:
        le_admin_error(r, 400, "InvalidSSLPri", "The SSLPri you provided is malformed!");
        return;
    default:
        le_admin_error(r, 400, "Certificate.MissMatch", "The SSLPri does not math the specified Certificate!");
        return;
    }
    const le_conf *conf = le_node_conf();
    if (!conf || !conf->tls_key_secret || !*conf->tls_key_secret) {
        le_admin_error(r, 400, "SetDomainSSLPub.ParameterError",
                       "Parameters have error: tls_key_secret is not set in the node's configuration, so "
                       "private keys cannot be stored.");
        return;
    }
    if (!name)
        name = d->name;
    if (cert_name_check(r, name) != 0)
        return;
    const le_cert *old = le_cert_get(name);
    if (old && (old->pub_len != strlen(pub) || memcmp(old->pub, pub, old->pub_len) != 0) &&
        le_certs_bound_elsewhere(name, d->name)) {
        le_admin_error(r, 400, "Certificate.Duplicated", "The certificate name is duplicated.");
        return;
    }
    if (!old && le_certs_count() >= LE_CERTS_MAX) {
        char msg[160];
        snprintf(msg, sizeof(msg), "The number of certificates exceeds the limit of %d.", LE_CERTS_MAX);
        le_admin_error(r, 400, "QuotaExceeded.Certificate", msg);
        return;
    }
    if (le_params_store(r) != 0)
        return;
    int rc = le_certs_store(name, d->name, pub, strlen(pub), pri, strlen(pri), &info, change_done, r);
    if (rc != LE_OK)
        le_params_unavailable(r);
}

static void describe(le_jv *o, const le_cert *c)
{
    le_jv_set_str(o, "CertName", c->name);
    le_jv_set_int(o, "CertId", c->id);
    le_jv_set_str(o, "Fingerprint", c->fingerprint);
    le_jv_set_str(o, "Common", c->common);
    le_jv_set_str(o, "Issuer", c->issuer);
    le_jv_set_int(o, "LastTime", c->last_ms);
}

typedef struct listq {
    le_jv *arr;
    int64_t n;
} listq;

static void list_one(const le_cert *c, void *arg)
{
    listq *q = arg;
    describe(le_jv_push_obj(q->arr), c);
    q->n++;
}

static void certificate_list(le_admin_req *r)
{
    const char *dn = le_admin_param(r, "DomainName");
    le_domain *d = NULL;
    if (dn && *dn && le_params_domain(r, "DomainName", &d) != 0)
        return;
    le_jv *body = le_jv_obj();
    le_jv *model = le_jv_set_obj(body, "CertificateListModel");
    const le_cert *bound = d ? le_certs_bound(d->name, NULL) : NULL;
    le_jv_set_int(model, "Count", d ? (bound != NULL) : (int64_t)le_certs_count());
    listq q = { le_jv_set_arr(le_jv_set_obj(model, "CertList"), "Cert"), 0 };
    if (d) {
        if (bound)
            list_one(bound, &q);
    } else {
        le_certs_foreach(list_one, &q);
    }
    le_admin_reply(r, body);
}

static void certificate_detail(le_admin_req *r)
{
    const char *name;
    if (le_admin_require(r, "CertName", &name) != 0)
        return;
    const le_cert *c = le_cert_get(name);
    if (!c) {
        cert_not_found(r);
        return;
    }
    le_jv *body = le_jv_obj();
    le_jv_set_str(body, "Cert", c->pub);
    le_jv_set_int(body, "CertId", c->id);
    le_jv_set_str(body, "CertName", c->name);
    le_admin_reply(r, body);
}

void le_actions_cert_register(void)
{
    le_admin_register("SetLiveDomainCertificate", set_certificate);
    le_admin_register("DescribeLiveCertificateList", certificate_list);
    le_admin_register("DescribeLiveCertificateDetail", certificate_detail);
}
