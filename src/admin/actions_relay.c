/* DescribeLiveRelays (a livedge action, not in the Alibaba API): the relays
 * this node runs, pulls, pushes and edge copies, with their state,
 * source or target (masked), bytes and last error. livedge(8) documents
 * the fields. */
#include "admin/actions.h"
#include "admin/admin.h"
#include "admin/params.h"
#include "control/cluster.h"
#include "core/json.h"
#include "core/util.h"
#include "relay/relay.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct listing {
    const char *domain;        /* filter, or NULL */
    int kind;                  /* filter, or -1 */
    le_jv *arr;
    int64_t n;
} listing;

static void add_one(const le_relay *rl, void *arg)
{
    listing *l = arg;
    if (l->kind >= 0 && (int)rl->kind != l->kind)
        return;
    /* stream is "domain/app/name"; the name may hold no '/', the app may */
    char domain[256] = "", app[256] = "", name[256] = "";
    const char *s = rl->stream, *slash = strchr(s, '/'), *last = strrchr(s, '/');
    if (slash && last && last > slash) {
        snprintf(domain, sizeof(domain), "%.*s", (int)(slash - s), s);
        snprintf(app, sizeof(app), "%.*s", (int)(last - slash - 1), slash + 1);
        snprintf(name, sizeof(name), "%s", last + 1);
    }
    if (l->domain && strcasecmp(l->domain, domain) != 0)
        return;
    char ts[21];
    le_jv *o = le_jv_push_obj(l->arr);
    le_jv_set_str(o, "Kind", le_relay_kind_name(rl->kind));
    le_jv_set_str(o, "State", le_relay_state_name(rl->state));
    le_jv_set_str(o, "DomainName", domain);
    le_jv_set_str(o, "AppName", app);
    le_jv_set_str(o, "StreamName", name);
    le_jv_set_str(o, "Url", rl->url);
    le_jv_set_int(o, "Bytes", (int64_t)rl->bytes);
    le_jv_set_int(o, "Attempts", rl->attempts);
    le_jv_set_int(o, "Failures", rl->failures);
    le_jv_set_str(o, "LastError", rl->last_error);
    le_jv_set_str(o, "StateTime", le_fmt_utc((int64_t)rl->since_ms, ts));
    le_jv_set_str(o, "Node", le_cluster_node());
    l->n++;
}

static void describe_relays(le_admin_req *r)
{
    static const char *const kinds[] = { "all", "pull", "push", "edge", NULL };
    const char *kind;
    if (le_params_enum(r, "Kind", kinds, "all", &kind) != 0)
        return;
    listing l = { .domain = le_admin_param(r, "DomainName"), .kind = -1 };
    if (l.domain && !*l.domain)
        l.domain = NULL;
    for (int k = 0; k < LE_RELAY_KINDS; k++)
        if (strcmp(kind, le_relay_kind_name(k)) == 0)
            l.kind = k;
    le_jv *body = le_jv_obj();
    l.arr = le_jv_set_arr(le_jv_set_obj(body, "RelayList"), "Relay");
    le_relay_foreach(add_one, &l);
    le_jv_set_int(body, "TotalNum", l.n);
    le_admin_reply(r, body);
}

void le_actions_relay_register(void)
{
    le_admin_register("DescribeLiveRelays", describe_relays);
}
