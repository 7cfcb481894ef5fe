/* The config parser (src/conf) and the systemd notify client (src/core/sdnotify). */
#include "tap.h"
#include "conf/conf.h"
#include "core/err.h"
#include "core/sdnotify.h"
#include "core/util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

static char err[512];

static le_conf *parse(const char *text)
{
    err[0] = '\0';
    return le_conf_parse(text, strlen(text), err, sizeof(err));
}

/* Expects text to fail with exactly this "line N: message". */
static void fails(const char *text, const char *want, const char *name)
{
    le_conf *c = parse(text);
    ok(c == NULL, "%s: rejected", name);
    is_str(err, want, "%s: message", name);
    le_conf_free(c);
}

/* Expects text to fail with a message starting "line N: " and containing frag. */
static void fails_like(const char *text, int line, const char *frag, const char *name)
{
    char pre[32];
    le_conf *c = parse(text);
    ok(c == NULL, "%s: rejected", name);
    snprintf(pre, sizeof(pre), "line %d: ", line);
    ok(strncmp(err, pre, strlen(pre)) == 0 && strstr(err, frag) != NULL, "%s: '%s'", name, err);
    le_conf_free(c);
}

static int domain_count(const le_conf *c)
{
    int n = 0;
    for (const le_conf_domain *d = c->domains; d; d = d->next)
        n++;
    return n;
}

/* The source tree: $top_srcdir under `make check`, else derived from this
 * file's compile-time path (works from a VPATH build directory too). */
static void srcpath(const char *rel, char *out, size_t outsz)
{
    const char *top = getenv("top_srcdir");
    if (top && *top) {
        snprintf(out, outsz, "%s/%s", top, rel);
        return;
    }
    const char *f = __FILE__;
    const char *tail = strstr(f, "t/unit/test_conf.c");
    int plen = tail ? (int)(tail - f) : 0;
    snprintf(out, outsz, "%.*s%s", plen, f, rel);
}

static void test_defaults(void)
{
    le_conf *c = le_conf_defaults();
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    ok(c->node_name && strlen(c->node_name) > 0, "defaults: node_name set");
    if (host[0])
        is_str(c->node_name, host, "defaults: node_name is the host name");
    is_str(c->rtmp_listen, "0.0.0.0:1935", "defaults: rtmp_listen");
    is_str(c->http_listen, "0.0.0.0:8080", "defaults: http_listen");
    is_str(c->admin_listen, "127.0.0.1:8081", "defaults: admin_listen");
    is_str(c->data_dir, "/var/lib/livedge", "defaults: data_dir");
    is_str(c->redis, "embedded", "defaults: redis");
    is_str(c->redis_prefix, "livedge:", "defaults: redis_prefix");
    ok(c->access_key_id == NULL && c->access_key_secret == NULL, "defaults: no admin keys");
    is_str(c->default_domain, "live.example.com", "defaults: default_domain");
    is_str(c->log_level, "info", "defaults: log_level");
    is_int(c->publish_takeover, LE_TAKEOVER_IDLE, "defaults: publish_takeover");
    is_int(c->publish_idle_ms, 3000, "defaults: publish_idle_ms");
    is_int(c->handshake_timeout_ms, 10000, "defaults: handshake_timeout_ms");
    is_int(c->idle_timeout_ms, 30000, "defaults: idle_timeout_ms");
    is_int(c->http_header_timeout_ms, 10000, "defaults: http_header_timeout_ms");
    is_int(c->rtmp_chunk_size, 4096, "defaults: rtmp_chunk_size");
    is_int(c->rtmp_max_message, 8 << 20, "defaults: rtmp_max_message");
    is_int(c->gop_cache_max_ms, 10000, "defaults: gop_cache_max_ms");
    is_int(c->gop_cache_max_bytes, 16 << 20, "defaults: gop_cache_max_bytes");
    is_int(c->viewer_queue_bytes, 4 << 20, "defaults: viewer_queue_bytes");
    is_int(c->viewer_drop_ms, 10000, "defaults: viewer_drop_ms");
    is_int(c->max_connections, 10000, "defaults: max_connections");
    is_int(domain_count(c), 1, "defaults: one domain");
    le_conf_domain *d = c->domains;
    is_str(d->name, "live.example.com", "defaults: domain name");
    ok(d->push_domain == NULL, "defaults: no push domain");
    is_int(d->hls, 1, "defaults: hls on");
    is_int(d->hls_fragment_ms, 2000, "defaults: hls_fragment");
    is_int(d->hls_window, 6, "defaults: hls_window");
    is_int(d->timeshift, 0, "defaults: timeshift off");
    is_int(d->timeshift_retention_ms, 7LL * 86400000, "defaults: retention 7d");
    is_int(d->auth_type, LE_AUTH_NONE, "defaults: no auth");
    is_int(d->auth_delta_s, 1800, "defaults: ali_auth_delta");
    ok(!d->auth_key1 && !d->auth_key2 && !d->notify_url && !d->notify_auth_key &&
       !d->ip_black_list && !d->ip_white_list, "defaults: optional strings unset");
    is_str(d->cors_origin, "*", "defaults: cors_origin");
    le_conf_free(c);

    /* An empty file (or only comments) is the defaults. */
    c = parse("# nothing here\n\n   \n");
    ok(c != NULL, "empty file parses");
    if (c) {
        is_int(domain_count(c), 1, "empty file: embedded domain kept");
        is_str(c->domains->name, "live.example.com", "empty file: live.example.com");
        is_str(c->default_domain, "live.example.com", "empty file: default_domain");
        is_int(c->rtmp_chunk_size, 4096, "empty file: node defaults");
    }
    le_conf_free(c);
    c = le_conf_parse(NULL, 0, err, sizeof(err));
    ok(c != NULL, "NULL text parses as empty");
    le_conf_free(c);
}

static void test_every_key(void)
{
    const char *text =
        "node_name edge-7;\n"
        "rtmp_listen 127.0.0.1:0;\n"
        "http_listen [::1]:0;\n"
        "admin_listen [::]:65535;\n"
        "data_dir /srv/livedge;\n"
        "redis redis.internal:6379;\n"
        "redis_prefix \"le:\";\n"
        "admin { access_key_id AKID; access_key_secret 'S3cr#t'; }\n"
        "default_domain Play.Example.COM;\n"
        "log_level debug;\n"
        "publish_takeover always;\n"
        "publish_idle_timeout 1500ms;\n"
        "handshake_timeout 5;\n"
        "idle_timeout 2m;\n"
        "http_header_timeout 7s;\n"
        "rtmp_chunk_size 60000;\n"
        "rtmp_max_message 2M;\n"
        "gop_cache_max 1h;\n"
        "gop_cache_max_bytes 512k;\n"
        "viewer_queue_bytes 1048576;\n"
        "viewer_drop_timeout 20s;\n"
        "max_connections 500;\n"
        "domain play.example.com {\n"
        "    push_domain Push.Example.com;\n"
        "    hls off;\n"
        "    hls_fragment 4s;\n"
        "    hls_window 100;\n"
        "    timeshift on;\n"
        "    timeshift_retention 15d;\n"
        "    aliauth { auth_type type_b; auth_key1 k1; auth_key2 \"\"; ali_auth_delta 1h; }\n"
        "    notify_url http://127.0.0.1:9000/notify?a=1#x;\n"
        "    notify_auth_key nk;\n"
        "    ip_black_list 10.0.0.0/8, 192.168.1.7 ,2001:db8::/32;\n"
        "    ip_white_list 1.2.3.4 5.6.7.8,9.9.9.9;\n"
        "    cors_origin https://player.example.org;\n"
        "}\n"
        "domain second.example.com { aliauth { auth_type tx_secret; auth_key2 k2; } }\n";
    le_conf *c = parse(text);
    ok(c != NULL, "every key parses (%s)", err);
    if (!c)
        return;
    is_str(c->node_name, "edge-7", "node_name");
    is_str(c->rtmp_listen, "127.0.0.1:0", "rtmp_listen port 0");
    is_str(c->http_listen, "[::1]:0", "http_listen IPv6");
    is_str(c->admin_listen, "[::]:65535", "admin_listen port 65535");
    is_str(c->data_dir, "/srv/livedge", "data_dir");
    is_str(c->redis, "redis.internal:6379", "redis host:port");
    is_str(c->redis_prefix, "le:", "redis_prefix quoted");
    is_str(c->access_key_id, "AKID", "admin access_key_id");
    is_str(c->access_key_secret, "S3cr#t", "admin access_key_secret with '#' in quotes");
    is_str(c->default_domain, "play.example.com", "default_domain lower-cased");
    is_str(c->log_level, "debug", "log_level");
    is_int(c->publish_takeover, LE_TAKEOVER_ALWAYS, "publish_takeover");
    is_int(c->publish_idle_ms, 1500, "publish_idle_timeout ms");
    is_int(c->handshake_timeout_ms, 5000, "bare number is seconds");
    is_int(c->idle_timeout_ms, 120000, "idle_timeout minutes");
    is_int(c->http_header_timeout_ms, 7000, "http_header_timeout");
    is_int(c->rtmp_chunk_size, 60000, "rtmp_chunk_size");
    is_int(c->rtmp_max_message, 2 << 20, "rtmp_max_message 2M");
    is_int(c->gop_cache_max_ms, 3600000, "gop_cache_max 1h");
    is_int(c->gop_cache_max_bytes, 512 << 10, "gop_cache_max_bytes 512k");
    is_int(c->viewer_queue_bytes, 1048576, "viewer_queue_bytes plain bytes");
    is_int(c->viewer_drop_ms, 20000, "viewer_drop_timeout");
    is_int(c->max_connections, 500, "max_connections");
    is_int(domain_count(c), 2, "two domains");
    le_conf_domain *d = c->domains;
    is_str(d->name, "play.example.com", "domain name");
    is_str(d->push_domain, "push.example.com", "push_domain lower-cased");
    is_int(d->hls, 0, "hls off");
    is_int(d->hls_fragment_ms, 4000, "hls_fragment");
    is_int(d->hls_window, 100, "hls_window 100");
    is_int(d->timeshift, 1, "timeshift on");
    is_int(d->timeshift_retention_ms, 15LL * 86400000, "timeshift_retention 15d");
    is_int(d->auth_type, LE_AUTH_B, "auth_type type_b");
    is_str(d->auth_key1, "k1", "auth_key1");
    ok(d->auth_key2 == NULL, "empty auth_key2 is unset");
    is_int(d->auth_delta_s, 3600, "ali_auth_delta 1h in seconds");
    is_str(d->notify_url, "http://127.0.0.1:9000/notify?a=1#x", "notify_url keeps '#' inside a word");
    is_str(d->notify_auth_key, "nk", "notify_auth_key");
    is_str(d->ip_black_list, "10.0.0.0/8,192.168.1.7,2001:db8::/32", "ip_black_list joined");
    is_str(d->ip_white_list, "1.2.3.4,5.6.7.8,9.9.9.9", "ip_white_list joined");
    is_str(d->cors_origin, "https://player.example.org", "cors_origin");
    d = d->next;
    is_str(d->name, "second.example.com", "second domain");
    is_int(d->auth_type, LE_AUTH_TX, "tx_secret");
    ok(d->auth_key1 == NULL, "second: key1 unset");
    is_str(d->auth_key2, "k2", "second: key2");
    is_int(d->hls, 1, "second: defaults apply per domain");
    is_str(d->cors_origin, "*", "second: cors default");
    le_conf_free(c);
}

static void test_syntax(void)
{
    le_conf *c = parse(
        "# leading comment\n"
        "node_name \"a \\\"quoted\\\" name; {x}\";   # trailing comment\n"
        "redis_prefix 'it\\'s:';\n"
        "data_dir /tmp/with\\ space;\n"
        "log_level\n\twarn\n;\n"
        "max_connections 7;# comment right after ';'\n"
        "domain d.example.com{hls_window 3;}\n");
    ok(c != NULL, "quoting, escapes, comments, whitespace (%s)", err);
    if (c) {
        is_str(c->node_name, "a \"quoted\" name; {x}", "double quotes keep ; { } and take \\\"");
        is_str(c->redis_prefix, "it's:", "single quotes with \\'");
        is_str(c->data_dir, "/tmp/with space", "backslash outside quotes");
        is_str(c->log_level, "warn", "value across newlines");
        is_int(c->max_connections, 7, "comment right after ';'");
        is_int(c->domains->hls_window, 3, "block braces without spaces");
        is_str(c->default_domain, "d.example.com", "default_domain: the first domain block");
    }
    le_conf_free(c);

    c = parse("rtmp_listen 127.0.0.1:1935;\r\ndomain a.example.com {\r\n  hls on;\r\n}\r\n");
    ok(c != NULL, "CRLF line endings (%s)", err);
    le_conf_free(c);

    c = parse("\xEF\xBB\xBFlog_level error;\n");
    ok(c != NULL && strcmp(c->log_level, "error") == 0, "UTF-8 BOM skipped");
    le_conf_free(c);

    c = parse("redis_prefix \"\";\n");
    ok(c != NULL && c->redis_prefix && c->redis_prefix[0] == '\0', "empty redis_prefix is \"\", not NULL");
    le_conf_free(c);
}

static void test_errors(void)
{
    /* The error classes of the brief, each at its line. */
    fails("node_name a;\n\n\n\n\n\n\n\n\ndomain x.example.com {\n    hls on;\n    hls_fragmnt 2s;\n}\n",
          "line 12: unknown key 'hls_fragmnt'", "unknown key");
    fails("node_name a;\n"
          "\n"
          "rtmp_listen 0.0.0.0:1935\n"
          "http_listen 0.0.0.0:8080;\n",
          "line 3: missing ';'", "missing ';' before a key");
    fails("domain a.example.com {\n  hls_fragment 2s\n  hls_windw 6;\n}\n",
          "line 2: missing ';'", "missing ';' before an unknown word");
    fails("domain a.example.com {\n  hls on\n}\n", "line 2: missing ';'", "missing ';' before '}'");
    fails("log_level info", "line 1: missing ';'", "missing ';' at end of file");
    fails("node_name a;\n\ndomain a.example.com {\n  hls on;\n  aliauth {\n    auth_type no_auth;\n  }\n",
          "line 7: unexpected end of file, missing '}'", "unexpected EOF");
    fails("node_name a;\n\ndomain a.example.com {\n  hls on;\n\n\n# the end\n",
          "line 4: unexpected end of file, missing '}'", "unexpected EOF after blank lines and a comment");
    fails("\n\n\n\ndomain a.example.com { hls_fragment 2x; }\n", "line 5: invalid duration '2x'",
          "invalid duration");
    fails("idle_timeout -1s;\n", "line 1: invalid duration '-1s'", "negative duration");
    fails("idle_timeout;\n", "line 1: 'idle_timeout' needs a value", "key without value");
    fails("idle_timeout 1s 2s;\n", "line 1: 'idle_timeout' takes exactly one value", "two values");

    /* Listen addresses. */
    fails("rtmp_listen 0.0.0.0:65536;\n",
          "line 1: invalid listen address '0.0.0.0:65536' (want IPv4:PORT or [IPv6]:PORT)", "port > 65535");
    fails_like("http_listen 1.2.3.4;\n", 1, "invalid listen address", "no port");
    fails_like("http_listen localhost:80;\n", 1, "invalid listen address", "host name");
    fails_like("http_listen ::1:80;\n", 1, "invalid listen address", "IPv6 without brackets");
    fails_like("http_listen [::1]80;\n", 1, "invalid listen address", "IPv6 without ':'");
    fails_like("http_listen [zz]:80;\n", 1, "invalid listen address", "bad IPv6");
    fails_like("http_listen 1.2.3.4:-1;\n", 1, "invalid listen address", "negative port");
    fails_like("http_listen 1.2.3.4:;\n", 1, "invalid listen address", "empty port");
    fails_like("http_listen 256.1.1.1:80;\n", 1, "invalid listen address", "bad IPv4");
    fails_like("admin_listen \"\";\n", 1, "empty value for 'admin_listen'", "empty listen");

    /* Numbers and ranges. */
    fails("domain a.example.com {\n hls_window 0;\n}\n", "line 2: 'hls_window' 0 out of range 1..100",
          "hls_window 0");
    fails_like("domain a.example.com { hls_window 101; }", 1, "out of range 1..100", "hls_window 101");
    fails_like("domain a.example.com { hls_window 6x; }", 1, "invalid number '6x'", "hls_window junk");
    fails("domain a.example.com {\n\n timeshift_retention 16d;\n}\n",
          "line 3: 'timeshift_retention' 16d out of range 1s..15d", "retention > 15d");
    fails_like("domain a.example.com { timeshift_retention 361h; }", 1, "out of range", "retention 361h");
    fails_like("domain a.example.com { hls_fragment 500ms; }", 1, "out of range 1s..1m", "hls_fragment < 1s");
    fails_like("rtmp_chunk_size 127;", 1, "'rtmp_chunk_size' 127 out of range 128..64k", "chunk 127");
    fails_like("rtmp_chunk_size 65537;", 1, "out of range", "chunk 65537");
    fails_like("rtmp_max_message 1023;", 1, "out of range 1k..64m", "max_message 1023");
    fails_like("rtmp_max_message 65m;", 1, "out of range", "max_message 65m");
    fails_like("rtmp_max_message 8x;", 1, "invalid size '8x'", "max_message junk");
    fails_like("rtmp_max_message 99999999999999999999;", 1, "invalid size", "max_message overflow");
    fails_like("max_connections 0;", 1, "out of range", "max_connections 0");
    fails_like("domain a.example.com { aliauth { ali_auth_delta 1500ms; } }", 1, "whole seconds",
               "ali_auth_delta 1500ms");
    le_conf *c = parse("rtmp_chunk_size 128; rtmp_max_message 1k; domain a.example.com { aliauth { ali_auth_delta 0; } }");
    ok(c && c->rtmp_chunk_size == 128 && c->rtmp_max_message == 1024 && c->domains->auth_delta_s == 0,
       "range bounds accepted (%s)", err);
    le_conf_free(c);
    c = parse("rtmp_chunk_size 65536; rtmp_max_message 64m; domain a.example.com { hls_window 1; }");
    ok(c && c->rtmp_chunk_size == 65536 && c->rtmp_max_message == 64u << 20 && c->domains->hls_window == 1,
       "upper bounds accepted (%s)", err);
    le_conf_free(c);

    /* Enumerations. */
    fails("domain a.example.com {\n hls yes;\n}\n", "line 2: invalid value 'yes' for 'hls' (want on or off)",
          "boolean");
    fails("publish_takeover sometimes;\n",
          "line 1: invalid value 'sometimes' for 'publish_takeover' (want idle, always or never)", "takeover");
    fails_like("log_level verbose;\n", 1, "want debug, info, warn or error", "log_level");
    fails_like("domain a.example.com { aliauth { auth_type type_d; } }", 1,
               "want no_auth, type_a, type_b, type_c or tx_secret", "auth_type");
    fails("domain a.example.com {\n aliauth {\n  auth_type type_a;\n }\n}\n",
          "line 3: auth_type type_a needs auth_key1 or auth_key2", "signed auth without a key");

    /* Other values. */
    fails_like("redis localhost;", 1, "invalid redis", "redis without port");
    fails_like("redis localhost:0;", 1, "invalid redis", "redis port 0");
    fails_like("redis unix:;", 1, "invalid redis", "redis empty unix path");
    c = parse("redis unix:/run/redis.sock;");
    ok(c && strcmp(c->redis, "unix:/run/redis.sock") == 0, "redis unix socket");
    le_conf_free(c);
    c = parse("redis [::1]:6379;");
    ok(c != NULL, "redis IPv6");
    le_conf_free(c);
    fails_like("domain a.example.com { notify_url ftp://x/; }", 1, "invalid URL", "notify_url scheme");
    fails_like("domain a.example.com { notify_url http://; }", 1, "invalid URL", "notify_url no host");
    fails("domain a.example.com {\n ip_black_list 10.0.0.1,\n   10.0.0.0/33;\n}\n",
          "line 3: invalid address '10.0.0.0/33' in ip_black_list (want IP or IP/prefix)", "bad CIDR");
    fails_like("domain a.example.com { ip_white_list example.com; }", 1, "invalid address", "name in IP list");
    fails_like("domain a_b..example { }", 1, "invalid domain name", "bad domain name");
    fails_like("domain a.example.com { push_domain \"bad host\"; }", 1, "invalid domain name", "bad push_domain");
    fails_like("node_name \"a\tb\";", 1, "control character", "control character in value");
    fails_like("domain a.example.com { cors_origin \"x\r\nSet-Cookie: y\"; }", 1, "control character",
               "header injection in cors_origin");

    /* Structure. */
    fails("node_name a;\ndomain a.example.com { }\ndomain b.example.com { }\ndomain A.example.com { }\n",
          "line 4: duplicate domain 'a.example.com'", "duplicate domain, any case");
    fails_like("domain a.example.com { push_domain p.example.com; }\ndomain p.example.com { }\n", 2,
               "already the push_domain", "domain equal to a push domain");
    fails_like("domain a.example.com { }\ndomain b.example.com {\n push_domain a.example.com;\n}\n", 3,
               "already a domain", "push domain equal to a domain");
    fails_like("domain a.example.com { push_domain p.example.com; }\ndomain b.example.com {\n push_domain p.example.com;\n}\n",
               3, "already belongs to", "push domain shared");
    fails_like("domain a.example.com { push_domain a.example.com; }", 1, "equals the domain name", "self push");
    fails("log_level info;\nlog_level warn;\n", "line 2: duplicate 'log_level'", "duplicate key");
    fails_like("domain a.example.com { aliauth { } aliauth { } }", 1, "duplicate 'aliauth'", "duplicate block");
    fails_like("admin { } admin { }", 1, "duplicate 'admin'", "duplicate admin");
    fails("admin {\n access_key_id x;\n}\n", "line 1: admin needs both access_key_id and access_key_secret",
          "admin half keys");
    fails("hls on;\n", "line 1: 'hls' is not allowed in the top level (it belongs in domain { })",
          "domain key at top level");
    fails_like("domain a.example.com { rtmp_listen 1.2.3.4:1; }", 1, "belongs in the top level",
               "node key in a domain");
    fails_like("domain a.example.com { domain b.example.com { } }", 1, "not allowed in domain", "nested domain");
    fails_like("domain a.example.com { aliauth { aliauth { } } }", 1, "not allowed in aliauth", "aliauth in aliauth");
    fails_like("domain a.example.com { aliauth { x { } } }", 1, "unknown key 'x'", "unknown block");
    fails_like("domain { }", 1, "exactly one name", "domain without name");
    fails_like("domain a.example.com b.example.com { }", 1, "exactly one name", "domain two names");
    fails_like("admin x { }", 1, "takes no argument", "admin argument");
    fails_like("domain a.example.com;", 1, "is a block", "block used as key");
    fails_like("log_level { }", 1, "takes a value, not a block", "key used as block");
    fails("\n}\n", "line 2: unexpected '}'", "stray '}'");
    fails("\n\n;\n", "line 3: unexpected ';'", "stray ';'");
    fails("{\n", "line 1: unexpected '{'", "stray '{'");
    fails("node_name \"abc;\n\n", "line 1: unterminated string", "unterminated string");
    fails("node_name 'a'b;\n", "line 1: unexpected 'b' after quoted string", "junk after quote");
    fails("default_domain x.example.com;\ndomain a.example.com { }\n",
          "line 1: default_domain 'x.example.com' matches no domain block", "default_domain unknown");
    {
        static const char nul[] = "node_name a;\nlog_level in\0fo;\n";
        c = le_conf_parse(nul, sizeof(nul) - 1, err, sizeof(err));
        ok(c == NULL, "NUL byte rejected");
        is_str(err, "line 2: NUL byte in file", "NUL byte message");
        le_conf_free(c);
    }
    /* Long unknown keys are escaped and truncated in the message. */
    c = parse("\x01\x02zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz 1;");
    ok(c == NULL && strstr(err, "\\x01\\x02zz") && strstr(err, "...") && strlen(err) < 120,
       "unknown key escaped and truncated: %s", err);
    le_conf_free(c);

    /* A tiny error buffer truncates but never overflows. */
    char small[8];
    c = le_conf_parse("bogus 1;", 8, small, sizeof(small));
    ok(c == NULL && strlen(small) == 7, "short err buffer truncated: '%s'", small);
    c = le_conf_parse("bogus 1;", 8, NULL, 0);
    ok(c == NULL, "NULL err buffer tolerated");
}

static void test_hostile(void)
{
    size_t n = 10000;
    char *t = malloc(n * 2 + 64);
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        t[o++] = '{';
    t[o] = '\0';
    le_conf *c = parse(t);
    ok(c == NULL, "10,000 '{' rejected");
    is_str(err, "line 1: unexpected '{'", "10,000 '{' message");

    o = (size_t)sprintf(t, "domain a.example.com { aliauth ");
    for (size_t i = 0; i < n; i++)
        t[o++] = '{';
    t[o] = '\0';
    c = parse(t);
    ok(c == NULL && strstr(err, "line 1: ") == err, "nested braces after a block: %s", err);
    o = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(t + o, "a{", 2);
        o += 2;
    }
    t[o] = '\0';
    c = parse(t);
    ok(c == NULL, "a{a{a{... rejected: %s", err);
    free(t);

    size_t big = 1 << 20;
    t = malloc(big + 64);
    memcpy(t, "node_name ", 10);
    memset(t + 10, 'x', big);
    memcpy(t + 10 + big, ";\n", 3);
    c = parse(t);
    ok(c == NULL, "1 MB word rejected");
    is_str(err, "line 1: value longer than 65536 bytes", "1 MB word message");

    t[0] = '"';
    memset(t + 1, 'y', big);
    t[big + 1] = '\0';
    c = parse(t);
    ok(c == NULL, "1 MB unterminated quoted string rejected: %s", err);

    for (size_t i = 0; i < big; i += 2) {
        t[i] = 'a';
        t[i + 1] = ' ';
    }
    t[big] = '\0';
    c = parse(t);
    ok(c == NULL, "1 MB line of words rejected: %s", err);
    free(t);

    /* A long but legal IP list of many words. */
    le_buf b = { 0 };
    le_buf_printf(&b, "domain a.example.com { ip_black_list");
    for (int i = 0; i < 2000; i++)
        le_buf_printf(&b, " 10.%d.%d.0/24,", i / 256, i % 256);
    le_buf_printf(&b, "; }");
    le_buf_u8(&b, 0);
    c = parse((char *)b.p);
    ok(c != NULL && c->domains->ip_black_list && strncmp(c->domains->ip_black_list, "10.0.0.0/24,10.0.1.0/24,", 24) == 0,
       "2,000-entry ip list (%s)", err);
    le_conf_free(c);
    le_buf_free(&b);
}

static void test_domains(void)
{
    le_conf *c = parse("default_domain Mine.Example.com;\n");
    ok(c != NULL, "default_domain alone parses");
    if (c) {
        is_int(domain_count(c), 1, "no domain block: one domain");
        is_str(c->domains->name, "mine.example.com", "no domain block: named by default_domain");
    }
    le_conf_free(c);

    c = parse("domain Play.Example.com { push_domain push.example.com; }\n"
              "domain other.example.com { }\n"
              "default_domain other.example.com;\n");
    ok(c != NULL, "domains with push (%s)", err);
    if (!c)
        return;
    int is_push = -1;
    le_conf_domain *d = le_conf_find_domain(c, "play.example.com", &is_push);
    ok(d && strcmp(d->name, "play.example.com") == 0 && is_push == 0, "find play domain");
    d = le_conf_find_domain(c, "PLAY.example.COM", &is_push);
    ok(d && is_push == 0, "find is case-insensitive");
    is_push = -1;
    d = le_conf_find_domain(c, "Push.Example.Com", &is_push);
    ok(d && strcmp(d->name, "play.example.com") == 0 && is_push == 1, "push domain maps to play domain");
    is_push = -1;
    d = le_conf_find_domain(c, "other.example.com", &is_push);
    ok(d && is_push == 0, "second domain");
    is_push = -1;
    ok(le_conf_find_domain(c, "nope.example.com", &is_push) == NULL && is_push == 0, "unknown host");
    ok(le_conf_find_domain(c, NULL, NULL) == NULL, "NULL host");
    ok(le_conf_find_domain(c, "push.example.com", NULL) != NULL, "NULL is_push");
    ok(le_conf_find_domain(NULL, "a", NULL) == NULL, "NULL conf");
    is_str(c->default_domain, "other.example.com", "default_domain declared after the blocks");
    le_conf_free(c);

    c = parse("default_domain push.example.com;\ndomain a.example.com { push_domain push.example.com; }\n");
    ok(c == NULL && strstr(err, "matches no domain block"), "default_domain must be a play domain");
    le_conf_free(c);
}

/* Keys of the per-list referer allow_empty, HLS viewer counting and the
 * push domain's own keys. */
static void test_domain_switches(void)
{
    le_conf *c = parse("domain a.example.com { }\n");
    ok(c != NULL, "empty domain parses");
    if (c) {
        le_conf_domain *d = c->domains;
        ok(d->referer_white_allow_empty == 1 && d->referer_black_allow_empty == 1, "allow_empty defaults on");
        is_int(d->hls_count_viewers, 1, "hls_count_viewers defaults on");
        is_int(d->push_auth_set, 0, "no push_aliauth: push keys unset");
    }
    le_conf_free(c);

    c = parse("domain a.example.com {\n"
              "    push_domain push.a.example.com;\n"
              "    referer_white_allow_empty off;\n"
              "    referer_black_allow_empty on;\n"
              "    hls_count_viewers off;\n"
              "    aliauth { auth_type type_a; auth_key1 play-key; }\n"
              "    push_aliauth { auth_type tx_secret; auth_key1 push-key; ali_auth_delta 2m; }\n"
              "}\n"
              "domain b.example.com { referer_allow_empty off; push_aliauth { auth_type no_auth; } }\n");
    ok(c != NULL, "switches parse (%s)", err);
    if (c) {
        le_conf_domain *d = c->domains;
        is_int(d->referer_white_allow_empty, 0, "referer_white_allow_empty off");
        is_int(d->referer_black_allow_empty, 1, "referer_black_allow_empty on, independent");
        is_int(d->hls_count_viewers, 0, "hls_count_viewers off");
        is_int(d->auth_type, LE_AUTH_A, "play keys: type_a");
        is_str(d->auth_key1, "play-key", "play keys: key1");
        is_int(d->push_auth_set, 1, "push_aliauth present");
        is_int(d->push_auth_type, LE_AUTH_TX, "push keys: tx_secret");
        is_str(d->push_auth_key1, "push-key", "push keys: key1");
        ok(d->push_auth_key2 == NULL, "push keys: key2 unset");
        is_int(d->push_auth_delta_s, 120, "push keys: ali_auth_delta");
        le_conf_domain *cp = le_conf_domain_copy(d);
        ok(cp->push_auth_key1 != d->push_auth_key1 && strcmp(cp->push_auth_key1, "push-key") == 0,
           "copy duplicates the push keys");
        le_conf_domain_free(cp);
        d = d->next;
        ok(d->referer_white_allow_empty == 0 && d->referer_black_allow_empty == 0,
           "referer_allow_empty sets both lists");
        ok(d->push_auth_set == 1 && d->push_auth_type == LE_AUTH_NONE, "an explicit no_auth push_aliauth");
    }
    le_conf_free(c);

    fails_like("domain a.example.com {\n referer_allow_empty off;\n referer_black_allow_empty on;\n}\n", 4,
               "not both", "referer_allow_empty with a list's own key");
    fails_like("domain a.example.com {\n push_aliauth {\n auth_type type_c;\n }\n}\n", 3,
               "push_aliauth: auth_type type_c needs auth_key1 or auth_key2", "push_aliauth without a key");
    fails_like("domain a.example.com { push_aliauth { notify_url http://x/; } }\n", 1,
               "'notify_url' is not allowed in push_aliauth", "push_aliauth takes key settings only");
    fails_like("push_aliauth { auth_type no_auth; }\n", 1, "not allowed", "push_aliauth at the top level");
    fails_like("domain a.example.com { hls_count_viewers maybe; }\n", 1, "want on or off",
               "hls_count_viewers is on|off");
}

static void test_listen_addr(void)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    ok(le_conf_listen_addr("127.0.0.1:1935", &ss, &len) == 0, "listen IPv4");
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    ok(ss.ss_family == AF_INET && ntohs(a4->sin_port) == 1935 && a4->sin_addr.s_addr == htonl(0x7f000001) &&
       len == sizeof(*a4), "IPv4 sockaddr");
    ok(le_conf_listen_addr("[::1]:0", &ss, &len) == 0, "listen IPv6");
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    ok(ss.ss_family == AF_INET6 && a6->sin6_port == 0 && IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr) &&
       len == sizeof(*a6), "IPv6 sockaddr");
    ok(le_conf_listen_addr("0.0.0.0:65535", NULL, NULL) == 0, "NULL outputs allowed");
    ok(le_conf_listen_addr("0.0.0.0:000080", NULL, NULL) == LE_EINVAL, "six-digit port refused");
    ok(le_conf_listen_addr("0.0.0.0:1 ", NULL, NULL) == LE_EINVAL, "trailing space refused");
    ok(le_conf_listen_addr(NULL, NULL, NULL) == LE_EINVAL, "NULL refused");
    ok(le_conf_listen_addr("[::1]:80:1", NULL, NULL) == LE_EINVAL, "extra colon refused");
}

static void test_files(void)
{
    char path[PATH_MAX];
    le_conf *c;

    srcpath("conf/livedge.conf", path, sizeof(path));
    c = le_conf_load(path, err, sizeof(err));
    ok(c != NULL, "conf/livedge.conf parses (%s)", err);
    if (c) {
        is_str(c->data_dir, "/var/lib/livedge", "livedge.conf: data_dir");
        is_str(c->default_domain, "live.example.com", "livedge.conf: default_domain");
        le_conf_domain *d = le_conf_find_domain(c, "push.example.com", NULL);
        ok(d && strcmp(d->name, "live.example.com") == 0, "livedge.conf: push domain");
        is_int(c->rtmp_max_message, 8 << 20, "livedge.conf: shows the defaults");
    }
    le_conf_free(c);

    srcpath("conf/dev.conf", path, sizeof(path));
    c = le_conf_load(path, err, sizeof(err));
    ok(c != NULL, "conf/dev.conf parses (%s)", err);
    if (c) {
        char cwd[PATH_MAX], want[PATH_MAX + 16];
        ok(getcwd(cwd, sizeof(cwd)) != NULL, "getcwd");
        snprintf(want, sizeof(want), "%s/run/data", cwd);
        is_str(c->data_dir, want, "dev.conf: ./run/data made absolute against the cwd");
        is_str(c->admin_listen, "127.0.0.1:8081", "dev.conf: admin on loopback");
        is_str(c->redis, "embedded", "dev.conf: embedded redis");
        ok(c->domains && c->domains->hls && !c->domains->next, "dev.conf: one domain, hls on");
    }
    le_conf_free(c);

    c = le_conf_load("/nonexistent/livedge.conf", err, sizeof(err));
    ok(c == NULL && strcmp(err, "cannot read /nonexistent/livedge.conf: No such file or directory") == 0,
       "missing file: %s", err);
}

/* The car { } block (the Tencent CAR actions). */
static void test_car(void)
{
    le_conf *c = parse("domain a.example.com { }\n");
    ok(c && !c->car && !c->car_push_url && strcmp(c->car_app, "live") == 0 && c->car_tx_validity_s == 86400,
       "car: no block, defaults app live and validity 1 day");
    le_conf_free(c);
    c = parse("car {\n domain B.example.com;\n app studio;\n push_url \"rtmp://x.livepush.myqcloud.com/live/{UserId}\";\n"
              " tx_secret_key k1;\n tx_secret_validity 2h;\n}\n"
              "domain a.example.com { }\ndomain b.example.com { }\n");
    ok(c != NULL, "car: every key (%s)", err);
    if (c) {
        ok(c->car == 1, "car: block seen");
        is_str(c->car_domain, "b.example.com", "car: domain, lower-cased");
        is_str(c->car_app, "studio", "car: app");
        is_str(c->car_push_url, "rtmp://x.livepush.myqcloud.com/live/{UserId}", "car: push_url");
        is_str(c->car_tx_key, "k1", "car: tx_secret_key");
        is_int(c->car_tx_validity_s, 7200, "car: tx_secret_validity in seconds");
    }
    le_conf_free(c);
    c = parse("car { push_url \"rtmp://h/live/{UserId}\"; }\n");
    ok(c && c->car && !c->car_domain && !c->car_tx_key, "car: push_url alone, no domain blocks");
    le_conf_free(c);
    fails_like("car { push_url rtmp://h/live/{UserId}; }\n", 1, "takes a value, not a block",
               "car: an unquoted {UserId} opens a block");
    fails("car {\n app live;\n}\n", "line 1: car needs push_url (rtmp://HOST/APP/{UserId})", "car: no push_url");
    fails_like("car { push_url \"http://h/live/{UserId}\"; }\n", 1, "rtmp://HOST", "car: not rtmp");
    fails_like("car { push_url \"rtmp://h/live/fixed\"; }\n", 1, "{UserId}", "car: no {UserId}");
    fails_like("car { push_url \"rtmp://h/live/{UserId}\"; app a/b; }\n", 1, "one path segment", "car: app a/b");
    fails_like("car {\n push_url \"rtmp://h/live/{UserId}\";\n domain x.example.com;\n}\ndomain a.example.com { }\n", 1,
               "matches no domain block", "car: unknown domain");
    fails_like("car { push_url \"rtmp://h/live/{UserId}\"; }\ncar { push_url \"rtmp://h/live/{UserId}\"; }\n", 2,
               "duplicate 'car'", "car: twice");
    fails_like("car { push_url \"rtmp://h/live/{UserId}\"; tx_secret_validity 0; }\n", 1, "out of range",
               "car: validity 0");
    fails_like("domain a.example.com { car { } }\n", 1, "not allowed", "car: inside a domain");
}

/* sd_notify: a datagram socket stands in for systemd. */
static void test_sdnotify(void)
{
    char dir[] = "/tmp/le_sdnotify_XXXXXX";
    char buf[128];
    unsetenv("NOTIFY_SOCKET");
    is_int(le_sd_notify("READY=1"), 0, "sd_notify without NOTIFY_SOCKET is a no-op");

    ok(mkdtemp(dir) != NULL, "temp dir");
    char sock[sizeof(dir) + 16];
    snprintf(sock, sizeof(sock), "%s/notify", dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    ok(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind path socket");
    setenv("NOTIFY_SOCKET", sock, 1);
    is_int(le_sd_notify("READY=1"), 0, "sd_notify to a path socket");
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    buf[n > 0 ? n : 0] = '\0';
    is_str(buf, "READY=1", "datagram received");
    is_int(le_sd_notify("RELOADING=1\nSTATUS=reloading"), 0, "multi-line state");
    n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    buf[n > 0 ? n : 0] = '\0';
    is_str(buf, "RELOADING=1\nSTATUS=reloading", "multi-line datagram received");
    close(fd);
    unlink(sock);
    ok(le_sd_notify("STOPPING=1") < 0, "nobody listening is an error");
    rmdir(dir);

    /* Abstract namespace: '@' stands for the leading NUL. */
    char name[64];
    snprintf(name, sizeof(name), "@le_sdnotify_test_%d", (int)getpid());
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path + 1, name + 1, strlen(name) - 1);
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
    ok(fd >= 0 && bind(fd, (struct sockaddr *)&sa, salen) == 0, "bind abstract socket");
    setenv("NOTIFY_SOCKET", name, 1);
    is_int(le_sd_notify("WATCHDOG=1"), 0, "sd_notify to an abstract socket");
    n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    buf[n > 0 ? n : 0] = '\0';
    is_str(buf, "WATCHDOG=1", "abstract datagram received");
    close(fd);

    setenv("NOTIFY_SOCKET", "relative/path", 1);
    ok(le_sd_notify("READY=1") < 0, "relative NOTIFY_SOCKET refused");
    char longp[200];
    memset(longp, 'p', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    setenv("NOTIFY_SOCKET", longp, 1);
    ok(le_sd_notify("READY=1") < 0, "over-long NOTIFY_SOCKET refused");
    unsetenv("NOTIFY_SOCKET");

    char pid[32];
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    is_int(le_sd_watchdog_usec(), 0, "no watchdog");
    setenv("WATCHDOG_USEC", "30000000", 1);
    is_int(le_sd_watchdog_usec(), 30000000, "WATCHDOG_USEC without WATCHDOG_PID");
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    is_int(le_sd_watchdog_usec(), 30000000, "WATCHDOG_PID is us");
    snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1);
    is_int(le_sd_watchdog_usec(), 0, "WATCHDOG_PID is another process");
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "30s", 1);
    is_int(le_sd_watchdog_usec(), 0, "malformed WATCHDOG_USEC ignored");
    unsetenv("WATCHDOG_USEC");
}

/* pipeline_threads: 0 (cores - 1) by default, 0..64. */
static void test_pipeline_threads(void)
{
    le_conf *c = parse("");
    ok(c && c->pipeline_threads == 0, "pipeline_threads: default 0 (cores - 1)");
    le_conf_free(c);
    c = parse("pipeline_threads 3;");
    ok(c && c->pipeline_threads == 3, "pipeline_threads 3");
    le_conf_free(c);
    fails_like("pipeline_threads 65;", 1, "out of range 0..64", "pipeline_threads 65");
}

/* The TLS keys (livedge.conf(5), TLS). */
static void test_tls(void)
{
    le_conf *c = parse("");
    ok(c && !c->rtmps_listen && !c->https_listen && !c->admin_tls && !c->tls_certificate &&
       !c->tls_certificate_key && !c->tls_ciphersuites && !c->tls_key_secret && !c->tls_ca_file &&
       !c->tls_verify_skip, "tls: every key off by default");
    ok(c && c->tls_ciphers && strncmp(c->tls_ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256:", 30) == 0 &&
       strstr(c->tls_ciphers, "ECDHE-RSA-CHACHA20-POLY1305") != NULL, "tls: tls_ciphers defaults to the "
       "intermediate list (%s)", c ? c->tls_ciphers : "");
    le_conf_free(c);

    c = parse("rtmps_listen 127.0.0.1:0;\n"
              "https_listen [::1]:8443;\n"
              "admin_tls on;\n"
              "tls_certificate /etc/livedge/node.pem;\n"
              "tls_certificate_key /etc/livedge/node.key;\n"
              "tls_ciphers ECDHE-RSA-AES128-GCM-SHA256;\n"
              "tls_ciphersuites TLS_AES_256_GCM_SHA384;\n"
              "tls_key_secret 0123456789abcdef;\n"
              "tls_ca_file /etc/livedge/ca.pem;\n"
              "tls_verify_skip origin.example.com 10.0.0.7:1935;\n"
              "tls_verify_skip [::1]:443;\n"
              "tls_verify_skip [2001:db8::1] self-signed.example.com:8443;\n"
              "domain a.example.com { ssl_certificate /etc/livedge/a.pem; ssl_certificate_key /etc/livedge/a.key; }\n"
              "domain b.example.com { }\n");
    ok(c != NULL, "tls: every key parses (%s)", err);
    if (c) {
        is_str(c->rtmps_listen, "127.0.0.1:0", "rtmps_listen");
        is_str(c->https_listen, "[::1]:8443", "https_listen");
        is_int(c->admin_tls, 1, "admin_tls on");
        is_str(c->tls_certificate, "/etc/livedge/node.pem", "tls_certificate");
        is_str(c->tls_certificate_key, "/etc/livedge/node.key", "tls_certificate_key");
        is_str(c->tls_ciphers, "ECDHE-RSA-AES128-GCM-SHA256", "tls_ciphers");
        is_str(c->tls_ciphersuites, "TLS_AES_256_GCM_SHA384", "tls_ciphersuites");
        is_str(c->tls_key_secret, "0123456789abcdef", "tls_key_secret of 16 characters");
        is_str(c->tls_ca_file, "/etc/livedge/ca.pem", "tls_ca_file");
        const char *want[] = { "origin.example.com", "10.0.0.7:1935", "[::1]:443", "[2001:db8::1]",
                               "self-signed.example.com:8443" };
        int n = 0, same = 1;
        for (; c->tls_verify_skip && c->tls_verify_skip[n]; n++)
            same = same && n < 5 && strcmp(c->tls_verify_skip[n], want[n]) == 0;
        ok(n == 5 && same, "tls_verify_skip: several values and repeated statements, in order (%d)", n);
        le_conf_domain *d = c->domains;
        is_str(d->ssl_certificate, "/etc/livedge/a.pem", "domain ssl_certificate");
        is_str(d->ssl_certificate_key, "/etc/livedge/a.key", "domain ssl_certificate_key");
        is_int(d->https_force, 0, "https_force is not a file key: off");
        le_conf_domain *cp = le_conf_domain_copy(d);
        ok(cp->ssl_certificate != d->ssl_certificate && strcmp(cp->ssl_certificate, "/etc/livedge/a.pem") == 0 &&
           cp->ssl_certificate_key != d->ssl_certificate_key &&
           strcmp(cp->ssl_certificate_key, "/etc/livedge/a.key") == 0,
           "copy duplicates the domain's certificate paths");
        le_conf_domain_free(cp);
        ok(!d->next->ssl_certificate && !d->next->ssl_certificate_key, "a domain without a certificate");
    }
    le_conf_free(c);

    fails_like("https_listen 127.0.0.1:8443;\n", 1, "https_listen needs the default certificate: set tls_certificate",
               "https_listen without tls_certificate");
    fails_like("\nrtmps_listen 127.0.0.1:1936;\n", 2, "rtmps_listen needs the default certificate",
               "rtmps_listen without tls_certificate");
    fails_like("admin_tls on;\ndomain a.example.com { ssl_certificate a.pem; ssl_certificate_key a.key; }\n", 1,
               "admin_tls on needs the default certificate", "admin_tls on with only a domain certificate");
    c = parse("admin_tls off;\n");
    ok(c && c->admin_tls == 0, "admin_tls off needs no certificate");
    le_conf_free(c);
    fails_like("tls_certificate a.pem;\n", 1, "tls_certificate and tls_certificate_key go together",
               "tls_certificate alone");
    fails_like("tls_certificate_key a.key;\n", 1, "go together", "tls_certificate_key alone");
    fails_like("domain a.example.com {\n ssl_certificate a.pem;\n}\n", 3,
               "domain a.example.com: ssl_certificate and ssl_certificate_key go together", "ssl_certificate alone");
    fails_like("domain a.example.com { ssl_certificate_key a.key; }\n", 1, "go together",
               "ssl_certificate_key alone");
    fails_like("https_listen 8443;\n", 1, "invalid listen address '8443'", "https_listen is validated");
    fails_like("rtmps_listen localhost:1936;\n", 1, "invalid listen address", "rtmps_listen wants an address");
    fails_like("admin_tls yes;\n", 1, "want on or off", "admin_tls is on|off");
    fails_like("tls_key_secret 0123456789abcde;\n", 1, "tls_key_secret must be at least 16 characters",
               "tls_key_secret of 15 characters");
    fails_like("tls_verify_skip a.example.com:0;\n", 1, "invalid tls_verify_skip entry 'a.example.com:0'",
               "tls_verify_skip port 0");
    fails_like("tls_verify_skip http://a.example.com/;\n", 1, "invalid tls_verify_skip entry",
               "tls_verify_skip takes hosts, not URLs");
    fails_like("tls_verify_skip [::1;\n", 1, "invalid tls_verify_skip entry", "tls_verify_skip bad brackets");
    fails_like("tls_verify_skip;\n", 1, "'tls_verify_skip' needs a value", "tls_verify_skip needs a value");
    fails_like("tls_certificate a.pem;\ntls_certificate b.pem;\n", 2, "duplicate 'tls_certificate'",
               "tls_certificate twice");
    fails_like("domain a.example.com { tls_certificate a.pem; }\n", 1,
               "'tls_certificate' is not allowed in domain (it belongs in the top level)",
               "tls_certificate in a domain");
    fails_like("ssl_certificate a.pem;\n", 1, "not allowed", "ssl_certificate at the top level");
    fails_like("domain a.example.com { https_force on; }\n", 1, "unknown key 'https_force'",
               "https_force is set through the API only");
}

/* write_tick (livedge.conf(5)): RTMP and HTTP-FLV viewers' write pacing. */
static void test_write_tick(void)
{
    le_conf *c = parse("");
    ok(c && c->write_tick_ms == 40, "write_tick: default 40 ms");
    le_conf_free(c);
    c = parse("write_tick 0;");
    ok(c && c->write_tick_ms == 0, "write_tick 0: per frame");
    le_conf_free(c);
    c = parse("write_tick 100ms;");
    ok(c && c->write_tick_ms == 100, "write_tick 100ms");
    le_conf_free(c);
    c = parse("write_tick 350ms;");
    ok(c && c->write_tick_ms == 350, "write_tick 350ms: the maximum");
    le_conf_free(c);
    fails_like("write_tick 351ms;", 1, "out of range", "write_tick 351ms");
    fails_like("write_tick 1s;", 1, "out of range", "write_tick 1s");
    fails_like("write_tick -1;", 1, "invalid duration", "write_tick -1");
    fails_like("domain a.example.com { write_tick 0; }\n", 1, "not allowed in domain", "write_tick in a domain");
}

/* hls_variant and hls_part (livedge.conf(5)): per domain. */
static void test_hls_variant(void)
{
    le_conf *c = parse("domain a.example.com { hls on; }\n");
    ok(c && c->domains && c->domains->hls_variant == LE_HLS_VARIANT_MPEGTS, "hls_variant: default mpegts");
    ok(c && c->domains && c->domains->hls_part_ms == 200, "hls_part: default 200 ms");
    le_conf_free(c);
    c = parse("domain a.example.com { hls_variant fmp4; }\n");
    ok(c && c->domains && c->domains->hls_variant == LE_HLS_VARIANT_FMP4, "hls_variant fmp4");
    le_conf_free(c);
    c = parse("domain a.example.com { hls_variant lowlatency; hls_part 50ms; }\n"
              "domain b.example.com { hls_variant mpegts; hls_part 2s; }\n");
    const le_conf_domain *a = NULL, *b = NULL;
    for (const le_conf_domain *d = c ? c->domains : NULL; d; d = d->next) {
        if (strcmp(d->name, "a.example.com") == 0)
            a = d;
        if (strcmp(d->name, "b.example.com") == 0)
            b = d;
    }
    ok(a && a->hls_variant == LE_HLS_VARIANT_LOWLATENCY && a->hls_part_ms == 50, "lowlatency, hls_part 50ms (the minimum)");
    ok(b && b->hls_variant == LE_HLS_VARIANT_MPEGTS && b->hls_part_ms == 2000, "mpegts, hls_part 2s (the maximum)");
    le_conf_free(c);
    fails_like("domain a.example.com { hls_variant cmaf; }\n", 1, "mpegts, fmp4 or lowlatency", "hls_variant cmaf");
    fails_like("domain a.example.com { hls_part 49ms; }\n", 1, "out of range", "hls_part 49ms");
    fails_like("domain a.example.com { hls_part 2001ms; }\n", 1, "out of range", "hls_part 2001ms");
    fails_like("hls_variant fmp4;\n", 1, "", "hls_variant outside a domain");
}

int main(void)
{
    test_tls();
    test_pipeline_threads();
    test_defaults();
    test_every_key();
    test_syntax();
    test_errors();
    test_hostile();
    test_domains();
    test_domain_switches();
    test_listen_addr();
    test_files();
    test_car();
    test_sdnotify();
    test_write_tick();
    test_hls_variant();
    return done_testing();
}
