/* Domain resolution (src/control/domains.c) with wildcard domains: an exact
 * name wins over a wildcard, the longest wildcard suffix wins, ".a.com"
 * serves names below a.com but not a.com itself, and push domains resolve to
 * their play domain's settings. No Redis: mutations are only mirrored. */
#include "tap.h"
#include "conf/conf.h"
#include "control/domains.h"
#include "core/log.h"

static const char *resolved(const char *vhost, const char *host, int *is_push)
{
    int off = 0;
    const le_conf_domain *c = le_domains_resolve(vhost, host, is_push, &off);
    return c ? c->name : "(none)";
}

int main(void)
{
    le_log_level = LE_LOG_ERROR;
    le_conf *conf = le_conf_defaults();
    le_domains_init(conf);
    le_domain_add(".a.com", 0, "cn-shanghai", NULL, NULL);
    le_domain_add(".b.a.com", 0, "cn-shanghai", NULL, NULL);
    le_domain_add("x.a.com", 0, "cn-shanghai", NULL, NULL);
    le_domain *push = le_domain_add(".push.example", 1, "cn-beijing", NULL, NULL);
    le_domain_set_play(push, ".a.com");
    int is_push = -1;

    is_str(resolved("y.a.com", NULL, &is_push), ".a.com", "y.a.com is served by .a.com");
    is_int(is_push, 0, "... as a play domain");
    is_str(resolved(NULL, "Y.A.COM", &is_push), ".a.com", "host names are case-insensitive");
    is_str(resolved("deep.y.a.com", NULL, &is_push), ".a.com", "any depth below a.com");
    is_str(resolved("x.a.com", NULL, &is_push), "x.a.com", "an exact name wins over the wildcard");
    is_str(resolved("c.b.a.com", NULL, &is_push), ".b.a.com", "the longest wildcard suffix wins");
    is_str(resolved("b.a.com", NULL, &is_push), ".a.com", "b.a.com itself is below .a.com only");
    is_str(resolved("a.com", NULL, &is_push), "(none)", ".a.com does not serve a.com");
    is_str(resolved("xa.com", NULL, &is_push), "(none)", "a suffix that is no label boundary does not match");
    is_str(resolved("cam.push.example", NULL, &is_push), ".a.com", "a wildcard push domain resolves to its play domain");
    is_int(is_push, 1, "... as a push");
    ok(le_domain_match("q.b.a.com") == le_domain_get(".b.a.com"), "le_domain_match returns the record");
    ok(le_domain_match("nothing.example") == NULL, "no match: NULL");

    le_domains_free();
    le_conf_free(conf);
    return done_testing();
}
