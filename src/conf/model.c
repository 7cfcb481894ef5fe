/* The configuration structs of conf/conf.h: the built-in defaults
 * (livedge.conf(5) lists them), deep copies, frees and the domain lookup.
 * The parser (conf.c) starts from these defaults. */
#include "conf/conf.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* tls_ciphers when the file sets none: Mozilla's "intermediate" TLS 1.2
 * list (livedge.conf(5), TLS). */
#define LE_CONF_TLS_CIPHERS                                                                  \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* ---- defaults ------------------------------------------------------------ */

le_conf_domain *le_conf_domain_new(const char *name)
{
    le_conf_domain *d = le_xcalloc(1, sizeof(*d));
    d->name = le_xstrdup(name);
    d->hls = 1;
    d->hls_fragment_ms = 2000;
    d->hls_window = 6;
    d->hls_variant = LE_HLS_VARIANT_MPEGTS;
    d->hls_part_ms = 200;
    d->timeshift = 0;
    d->timeshift_retention_ms = 7LL * 86400 * 1000;
    d->auth_type = LE_AUTH_NONE;
    d->auth_delta_s = 1800;
    d->cors_origin = le_xstrdup("*");
    d->referer_white_allow_empty = 1;
    d->referer_black_allow_empty = 1;
    d->hls_count_viewers = 1;
    d->push_auth_type = LE_AUTH_NONE;
    d->push_auth_delta_s = 1800;
    d->notify_enable = 1;
    d->edge_wait_ms = 5000;
    d->edge_idle_ms = 30000;
    return d;
}

static char *dup_or_null(const char *s) { return s ? le_xstrdup(s) : NULL; }

le_conf_push *le_conf_push_new(void)
{
    le_conf_push *r = le_xcalloc(1, sizeof(*r));
    r->sign_type = LE_AUTH_NONE;
    r->sign_validity_s = 86400;
    return r;
}

void le_conf_push_free(le_conf_push *r)
{
    while (r) {
        le_conf_push *next = r->next;
        free(r->app);
        for (int i = 0; i < r->ntargets; i++)
            free(r->targets[i]);
        free(r->sign_key);
        free(r);
        r = next;
    }
}

static le_conf_push *push_copy(const le_conf_push *f)
{
    le_conf_push *head = NULL, **tail = &head;
    for (; f; f = f->next) {
        le_conf_push *r = le_xmalloc(sizeof(*r));
        *r = *f;
        r->app = f->app ? le_xstrdup(f->app) : NULL;
        for (int i = 0; i < f->ntargets; i++)
            r->targets[i] = le_xstrdup(f->targets[i]);
        r->sign_key = f->sign_key ? le_xstrdup(f->sign_key) : NULL;
        r->next = NULL;
        *tail = r;
        tail = &r->next;
    }
    return head;
}

le_conf_domain *le_conf_domain_copy(const le_conf_domain *f)
{
    le_conf_domain *d = le_xmalloc(sizeof(*d));
    *d = *f;
    d->name = dup_or_null(f->name);
    d->push_domain = dup_or_null(f->push_domain);
    d->auth_key1 = dup_or_null(f->auth_key1);
    d->auth_key2 = dup_or_null(f->auth_key2);
    d->push_auth_key1 = dup_or_null(f->push_auth_key1);
    d->push_auth_key2 = dup_or_null(f->push_auth_key2);
    d->notify_url = dup_or_null(f->notify_url);
    d->notify_auth_key = dup_or_null(f->notify_auth_key);
    d->ip_black_list = dup_or_null(f->ip_black_list);
    d->ip_white_list = dup_or_null(f->ip_white_list);
    d->cors_origin = dup_or_null(f->cors_origin);
    d->referer_white_list = dup_or_null(f->referer_white_list);
    d->referer_black_list = dup_or_null(f->referer_black_list);
    d->ssl_certificate = dup_or_null(f->ssl_certificate);
    d->ssl_certificate_key = dup_or_null(f->ssl_certificate_key);
    d->push = push_copy(f->push);
    d->next = NULL;
    return d;
}

void le_conf_domain_free(le_conf_domain *d)
{
    if (!d)
        return;
    free(d->name);
    free(d->push_domain);
    free(d->auth_key1);
    free(d->auth_key2);
    free(d->push_auth_key1);
    free(d->push_auth_key2);
    free(d->notify_url);
    free(d->notify_auth_key);
    free(d->ip_black_list);
    free(d->ip_white_list);
    free(d->cors_origin);
    free(d->referer_white_list);
    free(d->referer_black_list);
    free(d->ssl_certificate);
    free(d->ssl_certificate_key);
    le_conf_push_free(d->push);
    free(d);
}

/* Node keys only; the domain list is the caller's business. */
static le_conf *node_defaults(void)
{
    le_conf *c = le_xcalloc(1, sizeof(*c));
    char host[256];
    /* gethostname may not terminate a truncated name. */
    if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
        strcpy(host, "livedge");
    host[sizeof(host) - 1] = '\0';
    c->node_name = le_xstrdup(host);
    c->rtmp_listen = le_xstrdup("0.0.0.0:1935");
    c->http_listen = le_xstrdup("0.0.0.0:8080");
    c->admin_listen = le_xstrdup("127.0.0.1:8081");
    c->tls_ciphers = le_xstrdup(LE_CONF_TLS_CIPHERS);
    c->data_dir = le_xstrdup("/var/lib/livedge");
    c->redis = le_xstrdup("embedded");
    c->redis_prefix = le_xstrdup("livedge:");
    c->default_domain = le_xstrdup(LE_CONF_DEFAULT_DOMAIN);
    c->log_level = le_xstrdup("info");
    c->publish_takeover = LE_TAKEOVER_IDLE;
    c->publish_idle_ms = 3000;
    c->publish_reconnect_grace_ms = 10000;
    c->handshake_timeout_ms = 10000;
    c->idle_timeout_ms = 30000;
    c->http_header_timeout_ms = 10000;
    c->rtmp_chunk_size = 4096;
    c->rtmp_max_message = 8u << 20;
    c->gop_cache_max_ms = 10000;
    c->gop_cache_max_bytes = (size_t)16 << 20;
    c->viewer_queue_bytes = (size_t)4 << 20;
    c->viewer_drop_ms = 10000;
    c->write_tick_ms = 40;
    c->max_connections = 10000;
    c->rtmp_input_budget = (size_t)512 << 20;
    c->admin_max_conns_per_ip = 32;
    c->car_app = le_xstrdup("live");
    c->car_tx_validity_s = 86400;
    c->record_min_free = (size_t)256 << 20;
    c->record_stitch_ms = 30000;
    c->record_queue_bytes = (size_t)16 << 20;
    c->record_threads = 2;
    c->record_fragment_ms = 2000;
    c->s3_region = le_xstrdup("us-east-1");
    c->transcode_idle_ms = 30000;
    c->transcode_wait_ms = 10000;
    c->caster_fps = 30;
    c->caster_source_timeout_ms = 2000;
    c->caster_max = 4;
    return c;
}

le_conf *le_conf_defaults(void)
{
    le_conf *c = node_defaults();
    c->domains = le_conf_domain_new(LE_CONF_DEFAULT_DOMAIN);
    return c;
}

void le_conf_free(le_conf *c)
{
    if (!c)
        return;
    le_conf_domain *d = c->domains;
    while (d) {
        le_conf_domain *next = d->next;
        le_conf_domain_free(d);
        d = next;
    }
    free(c->node_name);
    free(c->rtmp_listen);
    free(c->rtmp_advertise);
    free(c->http_listen);
    free(c->admin_listen);
    free(c->rtmps_listen);
    free(c->https_listen);
    free(c->tls_certificate);
    free(c->tls_certificate_key);
    free(c->tls_ciphers);
    free(c->tls_ciphersuites);
    free(c->tls_key_secret);
    free(c->tls_ca_file);
    for (char **v = c->tls_verify_skip; v && *v; v++)
        free(*v);
    free(c->tls_verify_skip);
    free(c->data_dir);
    free(c->redis);
    free(c->redis_prefix);
    free(c->access_key_id);
    free(c->access_key_secret);
    free(c->default_domain);
    free(c->log_level);
    free(c->car_domain);
    free(c->car_app);
    free(c->car_push_url);
    free(c->car_tx_key);
    free(c->record_root);
    free(c->console_root);
    free(c->caster_material_dir);
    free(c->record_url_base);
    free(c->s3_endpoint);
    free(c->s3_region);
    free(c->s3_access_key);
    free(c->s3_secret_key);
    free(c);
}

le_conf_domain *le_conf_find_domain(const le_conf *c, const char *host, int *is_push)
{
    if (is_push)
        *is_push = 0;
    if (!c || !host)
        return NULL;
    for (le_conf_domain *d = c->domains; d; d = d->next) {
        if (strcasecmp(d->name, host) == 0)
            return d;
    }
    for (le_conf_domain *d = c->domains; d; d = d->next) {
        if (d->push_domain && strcasecmp(d->push_domain, host) == 0) {
            if (is_push)
                *is_push = 1;
            return d;
        }
    }
    return NULL;
}
