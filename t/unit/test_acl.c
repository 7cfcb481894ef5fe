/* auth/acl: IP lists (IPv4, IPv6, CIDR, mapped addresses) and referer
 * lists (hosts, subdomains, wildcards, URLs). */
#include "auth/acl.h"
#include "tap.h"
#include "core/err.h"

#include <string.h>

static void test_ip(void)
{
    le_acl_ip a;
    char bad[64];
    is_int(le_acl_ip_parse("10.0.0.1", 8, &a), 0, "ip: v4 address");
    is_int(a.bits, 32, "ip: v4 address is /32");
    is_int(le_acl_ip_parse("2001:db8::/32", 13, &a), 0, "ip: v6 block");
    is_int(a.v6, 1, "ip: v6 flagged");
    is_int(le_acl_ip_parse("::ffff:10.1.2.0/120", 19, &a), 0, "ip: mapped block");
    is_int(a.v6 * 100 + a.bits, 24, "ip: mapped block is IPv4 /24");
    is_int(le_acl_ip_parse("10.0.0.1/33", 11, &a), LE_EINVAL, "ip: /33 refused");
    is_int(le_acl_ip_parse("10.0.0.1/", 9, &a), LE_EINVAL, "ip: empty prefix refused");
    is_int(le_acl_ip_parse("10.0.0.1/-1", 11, &a), LE_EINVAL, "ip: negative prefix refused");
    is_int(le_acl_ip_parse("10.0.0.256", 10, &a), LE_EINVAL, "ip: octet 256 refused");
    is_int(le_acl_ip_parse("host.example", 12, &a), LE_EINVAL, "ip: names refused");
    is_int(le_acl_ip_parse("::1/129", 7, &a), LE_EINVAL, "ip: /129 refused");

    is_int(le_acl_ip_list_check("10.0.0.0/8, 192.168.1.7,2001:db8::/32 ::1", bad, sizeof(bad)), 0,
           "list: commas and blanks");
    is_int(le_acl_ip_list_check("", bad, sizeof(bad)), 0, "list: empty is valid");
    is_int(le_acl_ip_list_check("10.0.0.0/8,10.0.0.0/99", bad, sizeof(bad)), LE_EINVAL, "list: bad CIDR found");
    is_str(bad, "10.0.0.0/99", "list: the bad entry is named");

    const char *l = "10.0.0.0/8, 192.168.1.7, 2001:db8::/32, 127.0.0.2";
    ok(le_acl_ip_list_match(l, "10.200.3.4"), "match: inside /8");
    ok(!le_acl_ip_list_match(l, "11.0.0.1"), "match: outside /8");
    ok(le_acl_ip_list_match(l, "192.168.1.7"), "match: exact address");
    ok(!le_acl_ip_list_match(l, "192.168.1.8"), "match: neighbour address");
    ok(le_acl_ip_list_match(l, "2001:db8:1::5"), "match: inside v6 /32");
    ok(!le_acl_ip_list_match(l, "2001:db9::5"), "match: outside v6 /32");
    ok(le_acl_ip_list_match(l, "::ffff:10.9.9.9"), "match: mapped client against v4 block");
    ok(le_acl_ip_list_match(l, "127.0.0.2"), "match: loopback alias listed");
    ok(!le_acl_ip_list_match(l, "127.0.0.1"), "match: loopback not listed");
    ok(!le_acl_ip_list_match(l, "garbage"), "match: unparsable client never matches");
    ok(!le_acl_ip_list_match(l, "10.0.0.0/8"), "match: a block as client never matches");
    ok(le_acl_ip_list_match("10.1.2.3/8", "10.250.0.1"), "match: host bits under the prefix ignored");
    ok(le_acl_ip_list_match("0.0.0.0/0", "8.8.8.8"), "match: /0 matches every v4");
    ok(!le_acl_ip_list_match("0.0.0.0/0", "::1"), "match: ... but no v6");
    ok(le_acl_ip_list_match("::/0", "fe80::1"), "match: ::/0 matches every v6");
    ok(le_acl_ip_list_match("bad, 10.0.0.1", "10.0.0.1"), "match: a bad entry matches nothing, others still do");
    ok(le_acl_ip_list_match("10.0.0.128/25", "10.0.0.200"), "match: /25 upper half");
    ok(!le_acl_ip_list_match("10.0.0.128/25", "10.0.0.100"), "match: /25 lower half");
}

static void test_referer(void)
{
    char h[256], bad[64];
    is_int(le_acl_referer_host("https://Player.Example.com:8443/p?x=1", h, sizeof(h)), 0, "referer: URL");
    is_str(h, "player.example.com", "referer: host lower-cased, port dropped");
    is_int(le_acl_referer_host("http://user:pw@example.com./", h, sizeof(h)), 0, "referer: userinfo");
    is_str(h, "example.com", "referer: userinfo and trailing dot dropped");
    is_int(le_acl_referer_host("http://[::1]:80/", h, sizeof(h)), 0, "referer: IPv6 literal");
    is_str(h, "::1", "referer: brackets removed");
    is_int(le_acl_referer_host("example.com/page", h, sizeof(h)), 0, "referer: no scheme");
    is_str(h, "example.com", "referer: host without scheme");
    is_int(le_acl_referer_host("", h, sizeof(h)), LE_EINVAL, "referer: empty has no host");
    is_int(le_acl_referer_host("http:///x", h, sizeof(h)), LE_EINVAL, "referer: no host");
    is_int(le_acl_referer_host("http://ex ample.com/", h, sizeof(h)), LE_EINVAL, "referer: blank in host");
    is_int(le_acl_referer_host("http://*.example.com/", h, sizeof(h)), LE_EINVAL, "referer: wildcard is no host");

    is_int(le_acl_domain_list_check("example.com,*.cdn.net http://a.org/x", bad, sizeof(bad)), 0,
           "domains: valid list");
    is_int(le_acl_domain_list_check("ok.com,a*b.com", bad, sizeof(bad)), LE_EINVAL, "domains: inner * refused");
    is_str(bad, "a*b.com", "domains: the bad entry is named");
    is_int(le_acl_domain_list_check("..", bad, sizeof(bad)), LE_EINVAL, "domains: dots only refused");

    const char *l = "example.com, *.cdn.net, HTTP://Partner.ORG:8080/path";
    ok(le_acl_domain_list_match(l, "example.com"), "match: exact");
    ok(le_acl_domain_list_match(l, "www.example.com"), "match: subdomain of a plain entry");
    ok(le_acl_domain_list_match(l, "a.b.example.com"), "match: deeper subdomain");
    ok(!le_acl_domain_list_match(l, "badexample.com"), "match: not a label boundary");
    ok(!le_acl_domain_list_match(l, "example.com.evil.io"), "match: suffix only");
    ok(le_acl_domain_list_match(l, "x.cdn.net"), "match: wildcard subdomain");
    ok(!le_acl_domain_list_match(l, "cdn.net"), "match: wildcard excludes the bare domain");
    ok(le_acl_domain_list_match(l, "partner.org"), "match: URL entry, case-insensitive");
    ok(!le_acl_domain_list_match(l, ""), "match: empty host never matches");
    ok(le_acl_domain_list_match("*", "anything.io"), "match: * matches any host");
}

int main(void)
{
    test_ip();
    test_referer();
    return done_testing();
}
