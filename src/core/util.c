#define _GNU_SOURCE
#include "core/util.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static void oom(size_t n)
{
    fprintf(stderr, "livedge: out of memory allocating %zu bytes\n", n);
    abort();
}

void *le_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *le_xcalloc(size_t nmemb, size_t n)
{
    void *p = calloc(nmemb ? nmemb : 1, n ? n : 1);
    if (!p)
        oom(nmemb * n);
    return p;
}

void *le_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *le_xstrndup(const char *s, size_t n)
{
    char *p = le_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *le_xstrdup(const char *s)
{
    return le_xstrndup(s, strlen(s));
}

uint64_t le_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t le_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int le_name_valid(const char *s, size_t n)
{
    if (n < 1 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    /* "." and ".." would be path components once a name reaches a file. */
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    return 1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return LE_EINVAL;
}

int le_url_decode(const char *s, size_t n, char *out, size_t outsz, int plus)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return LE_EINVAL;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return LE_EINVAL;
            c = (char)(h * 16 + l);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (o + 1 >= outsz)
            return LE_ETOOBIG;
        out[o++] = c;
    }
    if (outsz)
        out[o] = '\0';
    return (int)o;
}

int le_query_get(const char *q, size_t qlen, const char *key, char *out, size_t outsz)
{
    size_t klen = strlen(key);
    size_t i = 0;
    while (i < qlen) {
        size_t end = i;
        while (end < qlen && q[end] != '&')
            end++;
        const char *eq = memchr(q + i, '=', end - i);
        size_t nlen = eq ? (size_t)(eq - (q + i)) : end - i;
        if (nlen == klen && memcmp(q + i, key, klen) == 0) {
            if (!eq) {
                if (outsz)
                    out[0] = '\0';
                return 0;
            }
            return le_url_decode(eq + 1, (size_t)(q + end - (eq + 1)), out, outsz, 1);
        }
        i = end + 1;
    }
    return LE_ENOTFOUND;
}

int le_parse_duration_ms(const char *s, int64_t *ms)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return LE_EINVAL;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || v > 1000000000ull)
        return LE_EINVAL;
    int64_t mul;
    if (*end == '\0' || strcmp(end, "s") == 0) mul = 1000;
    else if (strcmp(end, "ms") == 0) mul = 1;
    else if (strcmp(end, "m") == 0) mul = 60000;
    else if (strcmp(end, "h") == 0) mul = 3600000;
    else if (strcmp(end, "d") == 0) mul = 86400000;
    else return LE_EINVAL;
    *ms = (int64_t)v * mul;
    return 0;
}

void le_buf_reserve(le_buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    b->p = le_xrealloc(b->p, cap);
    b->cap = cap;
}

void le_buf_append(le_buf *b, const void *data, size_t n)
{
    le_buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

void le_buf_u8(le_buf *b, uint8_t v) { le_buf_append(b, &v, 1); }
void le_buf_be16(le_buf *b, uint16_t v) { uint8_t t[2]; le_wr_be16(t, v); le_buf_append(b, t, 2); }
void le_buf_be24(le_buf *b, uint32_t v) { uint8_t t[3]; le_wr_be24(t, v); le_buf_append(b, t, 3); }
void le_buf_be32(le_buf *b, uint32_t v) { uint8_t t[4]; le_wr_be32(t, v); le_buf_append(b, t, 4); }

void le_buf_printf(le_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        le_buf_reserve(b, (size_t)n + 1);
        vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void le_buf_free(le_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

int le_parse_utc(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, se;
    char z;
    int n = 0;
    if (!s || strlen(s) != 20)
        return LE_EINVAL;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &y, &mo, &d, &h, &mi, &se, &z, &n) != 7 ||
        n != 20 || z != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':')
        return LE_EINVAL;
    for (int i = 0; i < 19; i++)
        if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 && (s[i] < '0' || s[i] > '9'))
            return LE_EINVAL;
    int64_t secs = le_civil_secs(y, mo, d, h, mi, se);
    if (secs < 0)
        return LE_EINVAL;
    *ms = secs * 1000;
    return 0;
}

int64_t le_civil_secs(int y, int mo, int d, int h, int mi, int se)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) ||
        h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59)
        return LE_EINVAL;
    struct tm tm = { 0 };
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    return (int64_t)timegm(&tm);
}

char *le_fmt_utc(int64_t ms, char out[21])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

int64_t le_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void le_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

uint64_t le_hash64(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

void le_uuid_v4(char out[37], int upper)
{
    static uint64_t fallback;
    const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    uint8_t b[16];
    if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
        /* No entropy yet (early boot): unique enough from the clock. */
        uint64_t h = le_hash64(&fallback, sizeof(fallback),
                               LE_HASH64_INIT ^ (uint64_t)le_wall_ms() ^ (uint64_t)getpid() ^ ++fallback);
        for (int i = 0; i < 16; i++) {
            h = le_hash64(&h, sizeof(h), h + (uint64_t)i);
            b[i] = (uint8_t)h;
        }
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);   /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}
