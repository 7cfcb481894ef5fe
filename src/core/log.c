#include "core/log.h"
#include "core/err.h"

#include <event2/event.h>
#include <libavutil/log.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>

int le_log_level = LE_LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int le_log_level_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return LE_EINVAL;
}

static void vwrite(int level, const char *module, const char *fmt, va_list ap)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)(tv.tv_usec / 1000), level_names[level], module);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    if (m < 0)
        return;
    size_t len = strlen(line);
    while (len > 0 && line[len - 1] == '\n')
        len--;
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}

void le_log_write(int level, const char *module, const char *fmt, ...)
{
    va_list ap;
    if (level < LE_LOG_DEBUG)
        level = LE_LOG_DEBUG;
    if (level > LE_LOG_ERROR)
        level = LE_LOG_ERROR;
    va_start(ap, fmt);
    vwrite(level, module, fmt, ap);
    va_end(ap);
}

const char *le_log_esc(const char *s, size_t n, char *buf, size_t bufsz)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (bufsz == 0)
        return buf;
    for (size_t i = 0; i < n && o + 5 < bufsz; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        }
    }
    buf[o] = '\0';
    return buf;
}

static void le_event_log_cb(int severity, const char *msg)
{
    int lvl = severity == EVENT_LOG_DEBUG ? LE_LOG_DEBUG
            : severity == EVENT_LOG_MSG ? LE_LOG_INFO
            : severity == EVENT_LOG_WARN ? LE_LOG_WARN : LE_LOG_ERROR;
    le_log(lvl, "libevent", "%s", msg);
}

static void le_av_log_cb(void *avcl, int level, const char *fmt, va_list vl)
{
    (void)avcl;
    int lvl;
    if (level > av_log_get_level())
        return;
    lvl = level <= AV_LOG_ERROR ? LE_LOG_ERROR : level <= AV_LOG_WARNING ? LE_LOG_WARN
        : level <= AV_LOG_INFO ? LE_LOG_INFO : LE_LOG_DEBUG;
    if (lvl < le_log_level)
        return;
    vwrite(lvl, "ffmpeg", fmt, vl);
}

void le_log_route_libs(void)
{
    event_set_log_callback(le_event_log_cb);
    av_log_set_level(AV_LOG_WARNING);
    av_log_set_callback(le_av_log_cb);
}
