/* The web console's static files, served at /console/ on the admin port
 * (livedge(8), "THE CONSOLE"; docs/CONSOLE.md). The console is a page that
 * calls the same admin API with signature v1 computed in the browser, so this
 * module only hands out files: it has no session, no cookie and no way in of
 * its own. The admin server asks it for an answer and writes it.
 *
 * Files come from a root folder (console_root, default the installed
 * $(pkgdatadir)/www). Each is read once, on its first request, and kept in
 * memory (bounded), so later requests never touch the disk from the reactor;
 * a reload that names another root, or le_console_reset, forgets them. */
#ifndef LE_ADMIN_CONSOLE_H
#define LE_ADMIN_CONSOLE_H
#include <stddef.h>

typedef struct le_console_reply {
    int status;                 /* 200, 301, 304, 404 or 405 */
    const char *code;           /* "OK", "NotModified", "NotFound", ... (the admin counters' Code) */
    const char *ctype;
    const void *body;           /* valid until the next le_console_* call */
    size_t len;
    char headers[512];          /* extra header lines, each ending in CRLF */
} le_console_reply;

/* 1 when path (not NUL-terminated) is /console or under /console/. */
int le_console_match(const char *path, size_t n);
/* The answer for a request of method ("GET", ...) on path with this
 * If-None-Match (NULL: none), files under root. */
void le_console_get(const char *root, const char *method, const char *path, size_t n,
                    const char *if_none_match, le_console_reply *out);
/* Forgets every cached file. */
void le_console_reset(void);

#endif
