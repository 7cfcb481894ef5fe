/* The console's static files (admin/console.h): path matching, the names
 * that may map to a file, types, ETag and 304, the in-memory cache, and the
 * answers for everything else. Real files in a temporary folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/console.h"
#include "tap.h"

static char root[256], other[300];

static void put(const char *dir, const char *rel, const char *text)
{
    char p[600];
    snprintf(p, sizeof(p), "%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    if (!f) {
        perror(p);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static le_console_reply get(const char *path, const char *inm)
{
    le_console_reply o;
    le_console_get(root, "GET", path, strlen(path), inm, &o);
    return o;
}

static int body_is(const le_console_reply *o, const char *want)
{
    return o->len == strlen(want) && memcmp(o->body, want, o->len) == 0;
}

static const char *header(const le_console_reply *o, const char *name, char *out, size_t n)
{
    const char *p = strstr(o->headers, name);
    if (!p)
        return NULL;
    p += strlen(name);
    const char *e = strstr(p, "\r\n");
    size_t k = e ? (size_t)(e - p) : strlen(p);
    if (k >= n)
        k = n - 1;
    memcpy(out, p, k);
    out[k] = '\0';
    return out;
}

int main(void)
{
    snprintf(root, sizeof(root), "%s/le-console-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root))
        return 1;
    char d[600];
    snprintf(d, sizeof(d), "%s/js", root);
    mkdir(d, 0700);
    snprintf(other, sizeof(other), "%s.secret", root);
    put(root, "index.html", "<!doctype html><title>c</title>\n");
    put(root, "js/app.js", "var a = 1;\n");
    put(root, "css.css", "body{}\n");
    put(root, ".env", "SECRET=1\n");
    FILE *f = fopen(other, "w");
    fputs("outside\n", f);
    fclose(f);
    snprintf(d, sizeof(d), "%s/link.js", root);
    ok(symlink(other, d) == 0, "a symlink to a file outside the root");

    ok(le_console_match("/console", 8), "/console is the console's");
    ok(le_console_match("/console/", 9), "/console/ too");
    ok(le_console_match("/console/js/app.js", 18), "/console/js/app.js too");
    ok(!le_console_match("/consoles", 9), "/consoles is not");
    ok(!le_console_match("/", 1) && !le_console_match("/metrics", 8), "/ and /metrics are not");

    le_console_reply o = get("/console", NULL);
    is_int(o.status, 301, "/console answers 301");
    ok(strstr(o.headers, "Location: /console/\r\n") != NULL, "... to /console/");

    o = get("/console/", NULL);
    is_int(o.status, 200, "/console/ answers 200");
    ok(body_is(&o, "<!doctype html><title>c</title>\n"), "... with index.html");
    is_str(o.ctype, "text/html; charset=utf-8", "... as text/html");
    ok(strstr(o.headers, "Content-Security-Policy: default-src 'self'; script-src 'self';") != NULL,
       "... with the CSP");
    ok(strstr(o.headers, "X-Content-Type-Options: nosniff\r\n") != NULL, "... and nosniff");
    ok(strstr(o.headers, "Cache-Control: no-cache\r\n") != NULL, "... and no-cache");
    char etag[64], etag2[64];
    ok(header(&o, "ETag: ", etag, sizeof(etag)) && strlen(etag) == 18 && etag[0] == '"', "... and an ETag (%s)", etag);

    o = get("/console/", etag);
    is_int(o.status, 304, "If-None-Match with it: 304");
    is_int(o.len, 0, "... no body");
    o = get("/console/", "W/\"x\", \"0000000000000000\"");
    is_int(o.status, 200, "another ETag: 200");

    o = get("/console/js/app.js", NULL);
    is_int(o.status, 200, "js/app.js answers 200");
    is_str(o.ctype, "text/javascript; charset=utf-8", "... as text/javascript");
    ok(body_is(&o, "var a = 1;\n"), "... its bytes");
    header(&o, "ETag: ", etag2, sizeof(etag2));
    ok(strcmp(etag, etag2) != 0, "... another ETag than index.html's");
    o = get("/console/css.css", NULL);
    is_str(o.ctype, "text/css; charset=utf-8", "css as text/css");

    static const char *const bad[] = {
        "/console/.env", "/console/../x", "/console/js/../index.html", "/console/js//app.js",
        "/console/js/", "/console/%2e%2e/x", "/console/a b", "/console/nope.js", "/console/js",
        "/console/link.js", "/console/index.html/", NULL,
    };
    for (int i = 0; bad[i]; i++) {
        o = get(bad[i], NULL);
        is_int(o.status, 404, "%s answers 404", bad[i]);
    }
    le_console_get(root, "POST", "/console/", 9, NULL, &o);
    is_int(o.status, 405, "POST answers 405");
    le_console_get(root, "HEAD", "/console/", 9, NULL, &o);
    is_int(o.status, 405, "HEAD answers 405");

    /* Read once: a changed file is served as first read until a reset. */
    put(root, "js/app.js", "var a = 2;\n");
    o = get("/console/js/app.js", NULL);
    ok(body_is(&o, "var a = 1;\n"), "a file changed on disk is served from memory as first read");
    le_console_reset();
    o = get("/console/js/app.js", NULL);
    ok(body_is(&o, "var a = 2;\n"), "... and read again after le_console_reset");
    header(&o, "ETag: ", etag, sizeof(etag));
    ok(strcmp(etag, etag2) != 0, "... with a new ETag");

    /* Another root forgets the cache. */
    char root2[300];
    snprintf(root2, sizeof(root2), "%s/js", root);
    le_console_get(root2, "GET", "/console/app.js", 15, NULL, &o);
    is_int(o.status, 200, "another root serves its own files");
    le_console_get(root, "GET", "/console/js/app.js", 18, NULL, &o);
    ok(o.status == 200 && body_is(&o, "var a = 2;\n"), "... and back");
    le_console_get(NULL, "GET", "/console/", 9, NULL, &o);
    is_int(o.status, 404, "a NULL root (the cwd) has no index.html here");

    /* A file over the per-file bound is not served. */
    snprintf(d, sizeof(d), "%s/big.js", root);
    f = fopen(d, "w");
    ok(f && fseek(f, (5L << 20), SEEK_SET) == 0 && fputc('x', f) != EOF, "a 5 MiB file");
    fclose(f);
    o = get("/console/big.js", NULL);
    is_int(o.status, 404, "... answers 404 (over 4 MiB)");

    le_console_reset();
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, other);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", root);
    return done_testing();
}
