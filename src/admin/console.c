/* The console's static files (console.h). A request path maps to a file under
 * the root only when every segment is [A-Za-z0-9_.-], not starting with '.',
 * so nothing outside the root (no "..", no dotfile, no encoded byte) is ever
 * opened. Every answer carries a strict Content-Security-Policy: scripts and
 * styles from the console itself only, media and API-less fetches (the
 * players) to the node's HTTP port, which is another origin. */
#include "admin/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

#define PREFIX "/console"
#define MAX_FILES 256
#define MAX_FILE_BYTES (4u << 20)
#define MAX_TOTAL_BYTES (24u << 20)
#define MAX_PATH_LEN 200

typedef struct cfile {
    char *name;                 /* relative to the root, e.g. "js/app.js" */
    uint8_t *data;
    size_t len;
    char etag[24];
} cfile;

static struct {
    char *root;
    cfile files[MAX_FILES];
    size_t nfiles;
    size_t total;
} cc;

static const char CSP[] =
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob: http: https:; media-src 'self' blob: http: https:; "
    "connect-src 'self' http: https: ws: wss:; worker-src 'self' blob:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n";

void le_console_reset(void)
{
    for (size_t i = 0; i < cc.nfiles; i++) {
        free(cc.files[i].name);
        free(cc.files[i].data);
    }
    free(cc.root);
    memset(&cc, 0, sizeof(cc));
}

int le_console_match(const char *path, size_t n)
{
    size_t pl = sizeof(PREFIX) - 1;
    return n >= pl && memcmp(path, PREFIX, pl) == 0 && (n == pl || path[pl] == '/');
}

static const char *ctype_of(const char *name)
{
    static const struct { const char *ext, *ct; } t[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".ico", "image/x-icon" },
        { ".json", "application/json" },
        { ".md", "text/plain; charset=utf-8" },
        { ".txt", "text/plain; charset=utf-8" },
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(dot, t[i].ext) == 0)
            return t[i].ct;
    return "application/octet-stream";
}

/* "js/app.js" from the part after "/console/"; 0 if it is a safe name. */
static int safe_name(const char *p, size_t n, char *out, size_t outsz)
{
    if (n == 0 || n >= outsz || n > MAX_PATH_LEN)
        return -1;
    int seg_start = 1;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '/') {
            if (seg_start)
                return -1;          /* empty segment */
            seg_start = 1;
        } else {
            int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                     ch == '_' || ch == '-' || ch == '.';
            if (!ok || (seg_start && ch == '.'))
                return -1;
            seg_start = 0;
        }
        out[i] = ch;
    }
    if (seg_start)
        return -1;                  /* ends in '/' */
    out[n] = '\0';
    return 0;
}

static cfile *find(const char *name)
{
    for (size_t i = 0; i < cc.nfiles; i++)
        if (strcmp(cc.files[i].name, name) == 0)
            return &cc.files[i];
    return NULL;
}

static cfile *load(const char *root, const char *name)
{
    if (cc.nfiles >= MAX_FILES)
        return NULL;
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, name) >= sizeof(path))
        return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_FILE_BYTES ||
        cc.total + (size_t)st.st_size > MAX_TOTAL_BYTES) {
        close(fd);
        return NULL;
    }
    size_t len = (size_t)st.st_size, got = 0;
    uint8_t *data = le_xmalloc(len ? len : 1);
    while (got < len) {
        ssize_t k = read(fd, data + got, len - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    if (got != len) {
        free(data);
        return NULL;
    }
    /* FNV-1a of the bytes: the ETag changes with the content. */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ data[i]) * 1099511628211ULL;
    cfile *f = &cc.files[cc.nfiles++];
    f->name = le_xstrdup(name);
    f->data = data;
    f->len = len;
    snprintf(f->etag, sizeof(f->etag), "\"%016llx\"", (unsigned long long)h);
    cc.total += len;
    return f;
}

static void answer(le_console_reply *o, int status, const char *code, const char *ctype, const char *body)
{
    o->status = status;
    o->code = code;
    o->ctype = ctype;
    o->body = body;
    o->len = strlen(body);
}

void le_console_get(const char *root, const char *method, const char *path, size_t n,
                    const char *if_none_match, le_console_reply *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->headers, sizeof(o->headers), "%s", CSP);
    if (strcmp(method, "GET") != 0) {
        answer(o, 405, "MethodNotAllowed", "text/plain; charset=utf-8", "Only GET is allowed here.\n");
        return;
    }
    size_t pl = sizeof(PREFIX) - 1;
    if (n == pl) {
        answer(o, 301, "Moved", "text/plain; charset=utf-8", "/console/\n");
        snprintf(o->headers, sizeof(o->headers), "%sLocation: /console/\r\n", CSP);
        return;
    }
    const char *rel = path + pl + 1;
    size_t rn = n - pl - 1;
    char name[MAX_PATH_LEN + 1];
    if (rn == 0) {
        snprintf(name, sizeof(name), "index.html");
    } else if (safe_name(rel, rn, name, sizeof(name)) != 0) {
        answer(o, 404, "NotFound", "text/plain; charset=utf-8", "Not found.\n");
        return;
    }
    if (!root || !*root)
        root = ".";
    if (!cc.root || strcmp(cc.root, root) != 0) {
        le_console_reset();
        cc.root = le_xstrdup(root);
    }
    cfile *f = find(name);
    if (!f)
        f = load(root, name);
    if (!f) {
        answer(o, 404, "NotFound", "text/plain; charset=utf-8", "Not found.\n");
        return;
    }
    size_t hl = strlen(o->headers);
    snprintf(o->headers + hl, sizeof(o->headers) - hl, "Cache-Control: no-cache\r\nETag: %s\r\n", f->etag);
    if (if_none_match && strstr(if_none_match, f->etag)) {
        answer(o, 304, "NotModified", ctype_of(name), "");
        return;
    }
    o->status = 200;
    o->code = "OK";
    o->ctype = ctype_of(name);
    o->body = f->data;
    o->len = f->len;
}
