#include "auth/access.h"
#include "auth/acl.h"
#include "control/domaincfg.h"
#include "control/domains.h"
#include "core/err.h"
#include "core/util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static le_access_stats stats;

const le_access_stats *le_access_stats_get(void) { return &stats; }

const le_conf_domain *le_access_current(const le_conf_domain *dom)
{
    le_domain *d = dom && dom->name ? le_domain_get(dom->name) : NULL;
    return d && d->cf ? d->cf : dom;
}

static le_aliauth_keys keys_of(const le_conf_domain *cf)
{
    le_aliauth_keys k = {
        .type = cf->auth_type, .key1 = cf->auth_key1, .key2 = cf->auth_key2, .delta_s = cf->auth_delta_s,
    };
    return k;
}

static int deny(uint64_t *counter, char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int deny(uint64_t *counter, char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    (*counter)++;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return LE_EDENIED;
}

int le_access_check(const le_conf_domain *dom, const le_access_req *rq, le_aliauth_grant *g,
                    char *why, size_t whylen)
{
    const le_conf_domain *cf = le_access_current(dom);
    const char *ip = rq->client_ip ? rq->client_ip : "";

    /* 1. IP lists (every protocol). */
    if (cf->ip_black_list && *cf->ip_black_list && le_acl_ip_list_match(cf->ip_black_list, ip))
        return deny(&stats.ip, why, whylen, "client %s is in ip_black_list", ip);
    if (cf->ip_white_list && *cf->ip_white_list && !le_acl_ip_list_match(cf->ip_white_list, ip))
        return deny(&stats.ip, why, whylen, "client %s is not in ip_white_list", ip);

    /* 2. Referer lists (HTTP only): an absent or empty Referer is refused
     * by a set list whose own allow_empty is off, so it passes only if
     * every set list allows it; one that names no host is refused by a set
     * list. */
    int has_white = cf->referer_white_list && *cf->referer_white_list;
    int has_black = cf->referer_black_list && *cf->referer_black_list;
    if (rq->kind == LE_ACCESS_HTTP && (has_white || has_black)) {
        char host[256];
        int empty = !rq->referer || !*rq->referer;
        if (empty) {
            if (has_white && !cf->referer_white_allow_empty)
                return deny(&stats.referer, why, whylen, "empty Referer (referer_white_list allow_empty off)");
            if (has_black && !cf->referer_black_allow_empty)
                return deny(&stats.referer, why, whylen, "empty Referer (referer_black_list allow_empty off)");
        } else if (le_acl_referer_host(rq->referer, host, sizeof(host)) != 0) {
            return deny(&stats.referer, why, whylen, "unparsable Referer");
        } else if (has_black && le_acl_domain_list_match(cf->referer_black_list, host)) {
            return deny(&stats.referer, why, whylen, "Referer host %s is in referer_black_list", host);
        } else if (has_white && !le_acl_domain_list_match(cf->referer_white_list, host)) {
            return deny(&stats.referer, why, whylen, "Referer host %s is not in referer_white_list", host);
        }
    }

    /* 3. Domain online (RTMP also refuses an offline domain at connect). */
    le_domain *d = le_domain_get(cf->name);
    if (d && !d->online)
        return deny(&stats.offline, why, whylen, "domain %s is offline", cf->name);

    /* 4. URL signature: a publish through a push domain with keys of its
     * own (push_aliauth, or aliauth set on the push domain) checks those. */
    le_aliauth_keys k = keys_of(cf);
    if (rq->kind == LE_ACCESS_PUBLISH)
        le_domaincfg_push_keys(cf, rq->push_domain, &k);
    le_aliauth_req ar = {
        .uri = rq->uri, .query = rq->query, .pre1 = rq->pre1, .pre2 = rq->pre2, .stream = rq->stream,
    };
    const char *reason = "refused";
    if (le_aliauth_verify(&k, &ar, rq->now_s, g, &reason) != 0) {
        static const char *const names[] = { "no_auth", "type_a", "type_b", "type_c", "tx_secret" };
        return deny(&stats.auth, why, whylen, "url auth (%s): %s",
                    k.type >= 0 && k.type <= LE_AUTH_TX ? names[k.type] : "?", reason);
    }
    return 0;
}

static int check_rtmp(int kind, const le_conf_domain *dom, const char *push_domain,
                      const char *client_ip, const char *app, const char *name, const char *query,
                      int64_t now_s, char *why, size_t whylen)
{
    char uri[600];
    snprintf(uri, sizeof(uri), "/%s/%s", app, name);
    le_access_req rq = {
        .kind = kind, .client_ip = client_ip, .stream = name, .uri = uri, .query = query, .now_s = now_s,
        .push_domain = push_domain,
    };
    return le_access_check(dom, &rq, NULL, why, whylen);
}

int le_access_check_publish(const le_conf_domain *dom, const char *push_domain, const char *client_ip,
                            const char *app, const char *name, const char *query, int64_t now_s,
                            char *why, size_t whylen)
{
    return check_rtmp(LE_ACCESS_PUBLISH, dom, push_domain, client_ip, app, name, query, now_s, why,
                      whylen);
}

int le_access_check_play(const le_conf_domain *dom, const char *client_ip, const char *app,
                         const char *name, const char *query, int64_t now_s, char *why,
                         size_t whylen)
{
    return check_rtmp(LE_ACCESS_PLAY, dom, NULL, client_ip, app, name, query, now_s, why, whylen);
}

int le_access_check_http(const le_conf_domain *dom, const char *client_ip, const char *referer,
                         const char *stream, const char *uri, const char *query,
                         const char *pre1, const char *pre2, int64_t now_s,
                         le_aliauth_grant *g, char *why, size_t whylen)
{
    le_access_req rq = {
        .kind = LE_ACCESS_HTTP, .client_ip = client_ip, .stream = stream, .uri = uri,
        .query = query, .pre1 = pre1, .pre2 = pre2, .referer = referer, .now_s = now_s,
    };
    return le_access_check(dom, &rq, g, why, whylen);
}

int le_access_sign(const le_conf_domain *dom, const le_aliauth_grant *g, const char *uri,
                   const char *stream, char *prefix, size_t prefixsz, char *query, size_t querysz)
{
    le_aliauth_keys k = keys_of(le_access_current(dom));
    return le_aliauth_sign(&k, g, uri, stream, prefix, prefixsz, query, querysz);
}

int le_access_sign_play(const le_conf_domain *dom, const char *uri, const char *stream, char *query,
                        size_t querysz)
{
    const le_conf_domain *cur = le_access_current(dom);
    query[0] = '\0';
    if (!cur || cur->auth_type == LE_AUTH_NONE)
        return LE_OK;
    le_aliauth_grant g;
    memset(&g, 0, sizeof(g));
    int64_t now = le_wall_ms() / 1000;
    g.key = cur->auth_key1 && cur->auth_key1[0] ? 1 : 2;
    switch (cur->auth_type) {
    case LE_AUTH_A:
        g.form = LE_AUTHF_A;
        snprintf(g.ts, sizeof(g.ts), "%" PRId64, now);
        snprintf(g.rand, sizeof(g.rand), "0");
        snprintf(g.uid, sizeof(g.uid), "0");
        break;
    case LE_AUTH_B:
        g.form = LE_AUTHF_B_QUERY;
        le_aliauth_b_format(now, g.ts);
        break;
    case LE_AUTH_C:
        g.form = LE_AUTHF_C_QUERY;
        snprintf(g.ts, sizeof(g.ts), "%" PRIx64, (uint64_t)now);
        break;
    case LE_AUTH_TX:
        g.form = LE_AUTHF_TX;
        snprintf(g.ts, sizeof(g.ts), "%" PRIx64, (uint64_t)(now + (cur->auth_delta_s > 0 ? cur->auth_delta_s : 1800)));
        break;
    default:
        return LE_EINVAL;
    }
    char prefix[8];
    return le_access_sign(dom, &g, uri, stream, prefix, sizeof(prefix), query, querysz);
}
