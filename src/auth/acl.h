/* Access lists (livedge.conf(5), ACCESS CONTROL). Pure: text in, verdicts out; no allocation.
 *
 * IP lists (ip_black_list_set / ip_white_list_set `ip_list`, the file's
 * ip_black_list / ip_white_list): entries separated by commas and/or
 * blanks, each an IPv4 or IPv6 address or a CIDR block (address/prefix).
 * Host bits under the prefix are ignored (10.1.2.3/8 is 10.0.0.0/8). An
 * IPv4-mapped IPv6 client (::ffff:a.b.c.d, a dual-stack listener) is
 * matched as the IPv4 address, and a ::ffff:0:0/96+ entry as IPv4 too.
 *
 * Referer lists (refer_domain_allow_list / refer_domain_deny_list): entries
 * separated by commas and/or blanks, each a host name, optionally written as
 * a URL (scheme, port and path are ignored). Matching is case-insensitive
 * on whole labels:
 *   example.com     example.com and every subdomain (a.b.example.com)
 *   *.example.com   subdomains only, not example.com itself
 *   *               any host
 * "badexample.com" never matches "example.com". */
#ifndef LE_ACL_H
#define LE_ACL_H
#include <stddef.h>
#include <stdint.h>

typedef struct le_acl_ip {
    int v6;                    /* 0: IPv4 in addr[0..3] */
    uint8_t addr[16];
    int bits;                  /* prefix length; full length for an address */
} le_acl_ip;

/* One entry ("10.0.0.0/8", "2001:db8::1"); n bytes of s. 0 or LE_EINVAL. */
int le_acl_ip_parse(const char *s, size_t n, le_acl_ip *out);
/* 0 if every entry parses (an empty list is valid); else LE_EINVAL and the first
 * bad entry (truncated) in bad. */
int le_acl_ip_list_check(const char *list, char *bad, size_t badsz);
/* 1 if the client address (text, no port) is in the list, 0 if not or if
 * either side does not parse (a bad entry matches nothing). */
int le_acl_ip_list_match(const char *list, const char *client_ip);

/* The host of a Referer header value, lower case, without port or
 * brackets. 0, or LE_EINVAL if there is no host (empty, or not a URL). */
int le_acl_referer_host(const char *referer, char *host, size_t hostsz);
/* 0 if every entry is a plausible host pattern; else LE_EINVAL, bad filled. */
int le_acl_domain_list_check(const char *list, char *bad, size_t badsz);
/* 1 if host (as from le_acl_referer_host) matches an entry. */
int le_acl_domain_list_match(const char *list, const char *host);

#endif
