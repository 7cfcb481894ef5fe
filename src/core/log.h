/* Logging: one line per event on stderr, with a level. Callers log once, with
 * context; low-level codecs never log, they return an error code. */
#ifndef LE_LOG_H
#define LE_LOG_H
#include <stddef.h>

enum { LE_LOG_DEBUG = 0, LE_LOG_INFO, LE_LOG_WARN, LE_LOG_ERROR };

extern int le_log_level;

void le_log_write(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int le_log_level_parse(const char *name);       /* LE_EINVAL if unknown */
/* Routes libevent's and FFmpeg's own log output into our sink. */
void le_log_route_libs(void);

/* Escapes an untrusted string for a log line: bytes outside printable ASCII,
 * backslash and quote become \xNN. Always NUL-terminates; truncates. */
const char *le_log_esc(const char *s, size_t n, char *buf, size_t bufsz);

#define le_log(lvl, mod, ...) \
    do { if ((lvl) >= le_log_level) le_log_write((lvl), (mod), __VA_ARGS__); } while (0)
#define le_debug(mod, ...) le_log(LE_LOG_DEBUG, mod, __VA_ARGS__)
#define le_info(mod, ...)  le_log(LE_LOG_INFO, mod, __VA_ARGS__)
#define le_warn(mod, ...)  le_log(LE_LOG_WARN, mod, __VA_ARGS__)
#define le_error(mod, ...) le_log(LE_LOG_ERROR, mod, __VA_ARGS__)

#endif
