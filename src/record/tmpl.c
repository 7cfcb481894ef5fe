/* Object-key templates (record/tmpl.h; docs/RECORD.md, "Object keys"). */
#include "record/tmpl.h"
#include "core/err.h"
#include "core/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

enum {
    V_APP, V_STREAM, V_SEQ, V_UNIX, V_ESTART, V_EEND, V_DATE, V_HOUR, V_MIN, V_SEC, V_NONE
};

static const char *const VARS[] = { "AppName", "StreamName", "Sequence", "UnixTimestamp", "EscapedStartTime",
                                    "EscapedEndTime", "Date", "Hour", "Minute", "Second" };

static int var_index(const char *name, size_t n)
{
    for (int i = 0; i < V_NONE; i++)
        if (strlen(VARS[i]) == n && memcmp(VARS[i], name, n) == 0)
            return i;
    return V_NONE;
}

static void set_why(char *why, size_t whylen, const char *msg)
{
    if (why && whylen)
        snprintf(why, whylen, "%s", msg);
}

/* The shape rules both the template and an expanded key obey: not
 * absolute, no empty, "." or ".." segment, no control byte or backslash. */
static int check_shape(const char *s, size_t n, char *why, size_t whylen)
{
    if (n == 0) {
        set_why(why, whylen, "empty");
        return LE_EINVAL;
    }
    if (s[0] == '/') {
        set_why(why, whylen, "an absolute path (starts with /)");
        return LE_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            set_why(why, whylen, "a control character");
            return LE_EINVAL;
        }
        if (c == '\\') {
            set_why(why, whylen, "a backslash");
            return LE_EINVAL;
        }
    }
    size_t seg = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '/')
            continue;
        size_t len = i - seg;
        if (len == 0) {
            set_why(why, whylen, "an empty path segment (// or a trailing /)");
            return LE_EINVAL;
        }
        if ((len == 1 && s[seg] == '.') || (len == 2 && s[seg] == '.' && s[seg + 1] == '.')) {
            set_why(why, whylen, "a . or .. path segment");
            return LE_EINVAL;
        }
        seg = i + 1;
    }
    return LE_OK;
}

int le_rec_tmpl_check(const char *tmpl, char *why, size_t whylen)
{
    if (why && whylen)
        why[0] = '\0';
    if (!tmpl || !*tmpl) {
        set_why(why, whylen, "empty");
        return LE_EINVAL;
    }
    size_t n = strnlen(tmpl, LE_REC_KEY_MAX);
    if (n >= LE_REC_KEY_MAX) {
        set_why(why, whylen, "256 bytes or longer");
        return LE_EINVAL;
    }
    int rc = check_shape(tmpl, n, why, whylen);
    if (rc != LE_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (tmpl[i] != '{')
            continue;
        const char *close = memchr(tmpl + i + 1, '}', n - i - 1);
        if (!close) {
            set_why(why, whylen, "an unclosed {variable}");
            return LE_EINVAL;
        }
        size_t vl = (size_t)(close - (tmpl + i + 1));
        if (var_index(tmpl + i + 1, vl) == V_NONE) {
            if (why && whylen)
                snprintf(why, whylen, "an unknown variable {%.*s}", (int)(vl > 40 ? 40 : vl), tmpl + i + 1);
            return LE_EINVAL;
        }
        i += vl + 1;
    }
    return LE_OK;
}

#define MS_MAX 253402300799999LL    /* 9999-12-31T23:59:59.999Z */

typedef struct civil {
    int64_t y;
    int mo, d, h, mi, s;
} civil;

static void to_civil(int64_t ms, civil *c)
{
    if (ms < 0)
        ms = 0;
    if (ms > MS_MAX)
        ms = MS_MAX;
    int64_t secs = ms / 1000;
    int64_t days = secs / 86400, rem = secs % 86400;
    le_civil_from_days(days, &c->y, &c->mo, &c->d);
    c->h = (int)(rem / 3600);
    c->mi = (int)(rem / 60 % 60);
    c->s = (int)(rem % 60);
}

char *le_rec_escaped_time(int64_t ms, char out[24])
{
    civil c;
    to_civil(ms, &c);
    snprintf(out, 24, "%04d-%02d-%02d-%02d-%02d-%02d", (int)c.y, c.mo, c.d, c.h, c.mi, c.s);
    return out;
}

char *le_rec_iso_time(int64_t ms, char out[32])
{
    civil c;
    to_civil(ms, &c);
    int frac = ms > 0 ? (int)(ms % 1000) : 0;
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)c.y, c.mo, c.d, c.h, c.mi, c.s, frac);
    return out;
}

/* An {AppName} / {StreamName} value that keeps the key's shape: no '/',
 * no "..", no control byte or backslash, not ".". */
static int value_ok(const char *v)
{
    if (strcmp(v, ".") == 0 || strstr(v, ".."))
        return 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
            return 0;
    return 1;
}

typedef struct kbuf {
    char *p;
    size_t n, len;
    int over;
} kbuf;

static void put(kbuf *k, const char *s, size_t n)
{
    if (k->over || n >= LE_REC_KEY_MAX || k->len + n >= LE_REC_KEY_MAX || k->len + n >= k->n) {
        k->over = 1;
        return;
    }
    memcpy(k->p + k->len, s, n);
    k->len += n;
    k->p[k->len] = '\0';
}

static void puts_(kbuf *k, const char *s)
{
    put(k, s, strlen(s));
}

int le_rec_tmpl_expand(const char *tmpl, const le_rec_vars *v, const char *ext, char *out, size_t n)
{
    if (!out || n == 0)
        return LE_ETOOBIG;
    out[0] = '\0';
    if (!tmpl || !v)
        return LE_EINVAL;
    const char *app = v->app ? v->app : "", *stream = v->stream ? v->stream : "";
    if (!value_ok(app) || !value_ok(stream))
        return LE_EINVAL;
    kbuf k = { out, n, 0, 0 };
    civil cs;
    to_civil(v->start_ms, &cs);
    char tmp[32];
    size_t tl = strnlen(tmpl, LE_REC_KEY_MAX);
    if (tl >= LE_REC_KEY_MAX)
        return LE_ETOOBIG;
    for (size_t i = 0; i < tl && !k.over; i++) {
        const char *close = tmpl[i] == '{' ? memchr(tmpl + i + 1, '}', tl - i - 1) : NULL;
        int var = close ? var_index(tmpl + i + 1, (size_t)(close - (tmpl + i + 1))) : V_NONE;
        if (var == V_NONE) {
            put(&k, tmpl + i, 1);
            continue;
        }
        switch (var) {
        case V_APP:
            puts_(&k, app);
            break;
        case V_STREAM:
            puts_(&k, stream);
            break;
        case V_SEQ:
            snprintf(tmp, sizeof(tmp), "%" PRIu64, v->sequence);
            puts_(&k, tmp);
            break;
        case V_UNIX:
            snprintf(tmp, sizeof(tmp), "%" PRId64, (v->start_ms < 0 ? 0 : v->start_ms) / 1000);
            puts_(&k, tmp);
            break;
        case V_ESTART:
            puts_(&k, le_rec_escaped_time(v->start_ms, tmp));
            break;
        case V_EEND:
            puts_(&k, le_rec_escaped_time(v->end_ms ? v->end_ms : v->start_ms, tmp));
            break;
        case V_DATE:
            snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", (int)cs.y, cs.mo, cs.d);
            puts_(&k, tmp);
            break;
        case V_HOUR:
            snprintf(tmp, sizeof(tmp), "%02d", cs.h);
            puts_(&k, tmp);
            break;
        case V_MIN:
            snprintf(tmp, sizeof(tmp), "%02d", cs.mi);
            puts_(&k, tmp);
            break;
        default:
            snprintf(tmp, sizeof(tmp), "%02d", cs.s);
            puts_(&k, tmp);
            break;
        }
        i = (size_t)(close - tmpl);
    }
    if (!k.over && ext && *ext) {
        size_t el = strlen(ext);
        if (!(k.len > el && out[k.len - el - 1] == '.' && memcmp(out + k.len - el, ext, el) == 0)) {
            put(&k, ".", 1);
            put(&k, ext, el);
        }
    }
    if (k.over) {
        out[0] = '\0';
        return LE_ETOOBIG;
    }
    if (check_shape(out, k.len, NULL, 0) != LE_OK) {
        out[0] = '\0';
        return LE_EINVAL;
    }
    return LE_OK;
}
