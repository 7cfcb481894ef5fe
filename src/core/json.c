/* Value tree, JSON and XML rendering, strict JSON parser (json.h).
 *
 * Fuzz safety: the parser never recurses (an explicit stack bounded by
 * max_depth), never reads past n, and attaches every value to the tree the
 * moment it is created, so an error anywhere frees everything with one
 * le_jv_free. le_jv_free is iterative too. Rendering recurses, but only as
 * deep as the tree; LE_JV_RENDER_MAX_DEPTH bounds it for trees built by code.
 *
 * Output is always well-formed whatever bytes the strings hold: invalid UTF-8
 * becomes U+FFFD in both renderers, and XML drops the control characters XML
 * 1.0 cannot carry at all. */
#include "core/json.h"
#include "core/err.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building ---- */

static le_jv *jv_new(int type)
{
    le_jv *v = le_xcalloc(1, sizeof(*v));
    v->type = type;
    return v;
}

le_jv *le_jv_obj(void) { return jv_new(LE_JV_OBJ); }
le_jv *le_jv_arr(void) { return jv_new(LE_JV_ARR); }

static le_jv *jv_str(const char *s)
{
    le_jv *v = jv_new(LE_JV_STR);
    if (!s)
        s = "";
    v->slen = strlen(s);
    v->s = le_xstrndup(s, v->slen);
    return v;
}

void le_jv_free(le_jv *v)
{
    /* Iterative: children are spliced in front of the work list through
     * their `next` links, so depth costs no stack. */
    le_jv *todo = v;
    if (v)
        v->next = NULL;
    while (todo) {
        le_jv *cur = todo;
        todo = cur->next;
        if (cur->first) {
            cur->last->next = todo;
            todo = cur->first;
        }
        free(cur->s);
        free(cur->key);
        free(cur);
    }
}

static void append(le_jv *parent, le_jv *child)
{
    child->next = NULL;
    if (parent->last)
        parent->last->next = child;
    else
        parent->first = child;
    parent->last = child;
    parent->n++;
}

static le_jv *member(le_jv *obj, const char *key, le_jv *v)
{
    if (!obj || obj->type != LE_JV_OBJ) {
        le_jv_free(v);
        return NULL;
    }
    free(v->key);
    v->key = le_xstrdup(key ? key : "");
    append(obj, v);
    return v;
}

static le_jv *item(le_jv *arr, le_jv *v)
{
    if (!arr || arr->type != LE_JV_ARR) {
        le_jv_free(v);
        return NULL;
    }
    free(v->key);
    v->key = NULL;
    append(arr, v);
    return v;
}

le_jv *le_jv_set_str(le_jv *obj, const char *key, const char *v) { return member(obj, key, jv_str(v)); }

le_jv *le_jv_set_int(le_jv *obj, const char *key, int64_t v)
{
    le_jv *j = jv_new(LE_JV_INT);
    j->i = v;
    return member(obj, key, j);
}

le_jv *le_jv_set_num(le_jv *obj, const char *key, double v)
{
    le_jv *j = jv_new(LE_JV_NUM);
    j->d = v;
    return member(obj, key, j);
}

le_jv *le_jv_set_bool(le_jv *obj, const char *key, int v)
{
    le_jv *j = jv_new(LE_JV_BOOL);
    j->i = v ? 1 : 0;
    return member(obj, key, j);
}

le_jv *le_jv_set_null(le_jv *obj, const char *key) { return member(obj, key, jv_new(LE_JV_NULL)); }
le_jv *le_jv_set_obj(le_jv *obj, const char *key) { return member(obj, key, le_jv_obj()); }
le_jv *le_jv_set_arr(le_jv *obj, const char *key) { return member(obj, key, le_jv_arr()); }

void le_jv_set(le_jv *obj, const char *key, le_jv *v)
{
    if (v)
        member(obj, key, v);
}

le_jv *le_jv_prepend_str(le_jv *obj, const char *key, const char *v)
{
    if (!obj || obj->type != LE_JV_OBJ)
        return NULL;
    le_jv *j = jv_str(v);
    j->key = le_xstrdup(key ? key : "");
    j->next = obj->first;
    obj->first = j;
    if (!obj->last)
        obj->last = j;
    obj->n++;
    return j;
}

le_jv *le_jv_push_obj(le_jv *arr) { return item(arr, le_jv_obj()); }
le_jv *le_jv_push_str(le_jv *arr, const char *v) { return item(arr, jv_str(v)); }

le_jv *le_jv_push_int(le_jv *arr, int64_t v)
{
    le_jv *j = jv_new(LE_JV_INT);
    j->i = v;
    return item(arr, j);
}

void le_jv_push(le_jv *arr, le_jv *v)
{
    if (v)
        item(arr, v);
}

/* ---- lookups ---- */

const le_jv *le_jv_get(const le_jv *obj, const char *key)
{
    if (!obj || obj->type != LE_JV_OBJ || !key)
        return NULL;
    for (const le_jv *c = obj->first; c; c = c->next)
        if (c->key && strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

const char *le_jv_get_str(const le_jv *obj, const char *key)
{
    const le_jv *v = le_jv_get(obj, key);
    return v && v->type == LE_JV_STR ? v->s : NULL;
}

int le_jv_copy_str(const le_jv *obj, const char *key, char *out, size_t n)
{
    const le_jv *v = le_jv_get(obj, key);
    out[0] = '\0';
    if (!v)
        return LE_ENOTFOUND;
    if (v->type != LE_JV_STR || v->slen >= n)
        return LE_EPROTO;
    memcpy(out, v->s, v->slen + 1);
    return 0;
}

int le_jv_get_int(const le_jv *obj, const char *key, int64_t *out)
{
    const le_jv *v = le_jv_get(obj, key);
    if (!v)
        return LE_ENOTFOUND;
    if (v->type == LE_JV_INT) {
        *out = v->i;
        return 0;
    }
    /* 2^63 is exact as a double; [-2^63, 2^63) converts without UB. */
    if (v->type == LE_JV_NUM && isfinite(v->d) && v->d == floor(v->d) &&
        v->d >= -9223372036854775808.0 && v->d < 9223372036854775808.0) {
        *out = (int64_t)v->d;
        return 0;
    }
    return LE_EINVAL;
}

/* ---- UTF-8 ---- */

/* Length (1-4) of the well-formed UTF-8 sequence at p (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF), 0 if ill-formed.
 * *cp gets the code point. */
static size_t utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char c = p[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) { len = 2; v = c & 0x1f; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; v = c & 0x0f; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

static void put_utf8(le_buf *b, uint32_t cp)
{
    uint8_t t[4];
    size_t n;
    if (cp < 0x80) { t[0] = (uint8_t)cp; n = 1; }
    else if (cp < 0x800) { t[0] = (uint8_t)(0xc0 | cp >> 6); t[1] = (uint8_t)(0x80 | (cp & 0x3f)); n = 2; }
    else if (cp < 0x10000) {
        t[0] = (uint8_t)(0xe0 | cp >> 12); t[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        t[2] = (uint8_t)(0x80 | (cp & 0x3f)); n = 3;
    } else {
        t[0] = (uint8_t)(0xf0 | cp >> 18); t[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        t[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)); t[3] = (uint8_t)(0x80 | (cp & 0x3f)); n = 4;
    }
    le_buf_append(b, t, n);
}

#define REPLACEMENT "\xef\xbf\xbd"   /* U+FFFD */

/* ---- JSON rendering ---- */

static void json_str(le_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    le_buf_reserve(b, n + 2);
    le_buf_u8(b, '"');
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            size_t j = i + 1;
            while (j < n && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' && p[j] != '\\')
                j++;
            le_buf_append(b, p + i, j - i);
            i = j;
            continue;
        }
        if (c < 0x80) {
            const char *e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f" : NULL;
            if (e) {
                le_buf_append(b, e, 2);
            } else {
                char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
                le_buf_append(b, u, 6);
            }
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_seq(p + i, n - i, &cp);
        if (len) {
            le_buf_append(b, p + i, len);
            i += len;
        } else {
            le_buf_append(b, REPLACEMENT, 3);
            i++;
        }
    }
    le_buf_u8(b, '"');
}

/* Shortest of %.15g / %.17g that reads back as the same double. */
static void fmt_num(le_buf *b, double d)
{
    char t[40];
    if (!isfinite(d)) {
        le_buf_append(b, "null", 4);
        return;
    }
    if (d == 0 && signbit(d)) {
        le_buf_append(b, "-0.0", 4);   /* "-0" would read back as the integer 0 */
        return;
    }
    snprintf(t, sizeof(t), "%.15g", d);
    if (strtod(t, NULL) != d)
        snprintf(t, sizeof(t), "%.17g", d);
    le_buf_append(b, t, strlen(t));
}

static void scalar_text(le_buf *b, const le_jv *v)
{
    switch (v->type) {
    case LE_JV_BOOL: le_buf_printf(b, "%s", v->i ? "true" : "false"); break;
    case LE_JV_INT: le_buf_printf(b, "%" PRId64, v->i); break;
    case LE_JV_NUM: fmt_num(b, v->d); break;
    default: break;
    }
}

static void json_val(const le_jv *v, le_buf *b, int depth)
{
    if (depth > LE_JV_RENDER_MAX_DEPTH) {
        le_buf_append(b, "null", 4);
        return;
    }
    switch (v->type) {
    case LE_JV_STR:
        json_str(b, v->s ? v->s : "", v->s ? v->slen : 0);
        break;
    case LE_JV_OBJ:
    case LE_JV_ARR: {
        int obj = v->type == LE_JV_OBJ;
        le_buf_u8(b, obj ? '{' : '[');
        for (const le_jv *c = v->first; c; c = c->next) {
            if (c != v->first)
                le_buf_u8(b, ',');
            if (obj) {
                const char *k = c->key ? c->key : "";
                json_str(b, k, strlen(k));
                le_buf_u8(b, ':');
            }
            json_val(c, b, depth + 1);
        }
        le_buf_u8(b, obj ? '}' : ']');
        break;
    }
    case LE_JV_NULL:
        le_buf_append(b, "null", 4);
        break;
    default:
        scalar_text(b, v);
        break;
    }
}

void le_jv_to_json(const le_jv *v, le_buf *out)
{
    if (!v)
        le_buf_append(out, "null", 4);
    else
        json_val(v, out, 0);
}

/* ---- XML rendering ---- */

static void xml_text(le_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        const char *e = NULL;
        switch (c) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&apos;"; break;
        case '\r': e = "&#13;"; break;   /* a literal CR would be normalised away */
        default: break;
        }
        if (e) {
            le_buf_append(b, e, strlen(e));
            i++;
            continue;
        }
        if (c < 0x20 && c != '\t' && c != '\n') {
            i++;   /* not representable in XML 1.0, not even as a reference */
            continue;
        }
        if (c < 0x80) {
            le_buf_u8(b, c);
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_seq(p + i, n - i, &cp);
        if (len && cp != 0xfffe && cp != 0xffff) {
            le_buf_append(b, p + i, len);
            i += len;
        } else {
            le_buf_append(b, REPLACEMENT, 3);
            i += len ? len : 1;
        }
    }
}

/* Keys are our own names in practice; anything that is not an XML name is
 * made into one ('_' for bad bytes, a leading '_' before a digit). */
static void xml_name(le_buf *b, const char *k)
{
    if (!k || !*k) {
        le_buf_u8(b, '_');
        return;
    }
    if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || *k == '_'))
        le_buf_u8(b, '_');
    for (const char *p = k; *p; p++) {
        char c = *p;
        int okc = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        le_buf_u8(b, okc ? (uint8_t)c : '_');
    }
}

static void xml_member(const char *key, const le_jv *v, le_buf *b, int depth);

static void xml_content(const le_jv *v, le_buf *b, int depth)
{
    switch (v->type) {
    case LE_JV_STR:
        if (v->s)
            xml_text(b, v->s, v->slen);
        break;
    case LE_JV_OBJ:
        for (const le_jv *c = v->first; c; c = c->next)
            xml_member(c->key, c, b, depth + 1);
        break;
    case LE_JV_ARR:
        /* An array at the root or directly inside an array: items are <item>. */
        for (const le_jv *c = v->first; c; c = c->next)
            xml_member("item", c, b, depth + 1);
        break;
    case LE_JV_NULL:
        break;
    default:
        scalar_text(b, v);
        break;
    }
}

static void xml_member(const char *key, const le_jv *v, le_buf *b, int depth)
{
    if (depth > LE_JV_RENDER_MAX_DEPTH)
        return;
    if (v->type == LE_JV_ARR) {
        /* {"K":[a,b]} is <K>a</K><K>b</K> (the Alibaba Cloud RPC rendering). */
        for (const le_jv *c = v->first; c; c = c->next)
            xml_member(key, c, b, depth + 1);
        return;
    }
    le_buf_u8(b, '<');
    xml_name(b, key);
    le_buf_u8(b, '>');
    xml_content(v, b, depth);
    le_buf_append(b, "</", 2);
    xml_name(b, key);
    le_buf_u8(b, '>');
}

void le_jv_to_xml(const le_jv *v, const char *root, le_buf *out)
{
    static const char decl[] = "<?xml version='1.0' encoding='UTF-8'?>";
    le_buf_append(out, decl, sizeof(decl) - 1);
    le_buf_u8(out, '<');
    xml_name(out, root);
    le_buf_u8(out, '>');
    if (v)
        xml_content(v, out, 0);
    le_buf_append(out, "</", 2);
    xml_name(out, root);
    le_buf_u8(out, '>');
}

/* ---- parsing ---- */

typedef struct jp {
    const char *s;
    size_t n, i;
    char *err;
    size_t errlen;
} jp;

static int jp_fail(jp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int jp_fail(jp *p, const char *fmt, ...)
{
    if (p->err && p->errlen) {
        int k = snprintf(p->err, p->errlen, "offset %zu: ", p->i);
        if (k >= 0 && (size_t)k < p->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err + k, p->errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return LE_EPROTO;
}

static void jp_ws(jp *p)
{
    while (p->i < p->n) {
        char c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->i++;
    }
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return LE_EPROTO;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* At the opening quote. Decodes into a new allocation (*out, *outlen). */
static int jp_string(jp *p, char **out, size_t *outlen)
{
    size_t start = ++p->i, end = start;
    /* Pass 1: the closing quote, so the allocation fits this string only. */
    while (end < p->n && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->n)
        return jp_fail(p, "unterminated string");
    le_buf b = { 0 };
    le_buf_reserve(&b, end - start + 1);
    const unsigned char *s = (const unsigned char *)p->s;
    while (p->i < end) {
        unsigned char c = s[p->i];
        if (c == '\\') {
            char e = p->s[p->i + 1];
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                static const char map[] = "\"\\/\b\f\n\r\t";
                le_buf_u8(&b, (uint8_t)map[simple - "\"\\/bfnrt"]);
                p->i += 2;
                continue;
            }
            if (e != 'u')
                goto bad_escape;
            uint32_t cp, lo;
            if (p->i + 6 > end || hex4(p->s + p->i + 2, &cp) != 0)
                goto bad_escape;
            p->i += 6;
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                le_buf_free(&b);
                return jp_fail(p, "lone low surrogate");
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (p->i + 6 > end || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
                    hex4(p->s + p->i + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
                    le_buf_free(&b);
                    return jp_fail(p, "lone high surrogate");
                }
                p->i += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (cp == 0) {
                le_buf_free(&b);
                return jp_fail(p, "NUL in string");
            }
            put_utf8(&b, cp);
            continue;
        }
        if (c < 0x20) {
            le_buf_free(&b);
            return jp_fail(p, "control character in string");
        }
        uint32_t cp;
        size_t len = utf8_seq(s + p->i, end - p->i, &cp);
        if (!len) {
            le_buf_free(&b);
            return jp_fail(p, "invalid UTF-8");
        }
        le_buf_append(&b, s + p->i, len);
        p->i += len;
    }
    p->i = end + 1;
    le_buf_u8(&b, 0);
    *out = (char *)b.p;
    *outlen = b.len - 1;
    return 0;
bad_escape:
    le_buf_free(&b);
    return jp_fail(p, "bad escape");
}

#define JP_NUM_MAX 512   /* longer number literals are refused */

static le_jv *jp_number(jp *p)
{
    size_t st = p->i, i = p->i;
    const char *s = p->s;
    int integral = 1;
    if (i < p->n && s[i] == '-')
        i++;
    if (i < p->n && s[i] == '0') {
        i++;
    } else if (i < p->n && s[i] >= '1' && s[i] <= '9') {
        while (i < p->n && s[i] >= '0' && s[i] <= '9')
            i++;
    } else {
        jp_fail(p, "bad number");
        return NULL;
    }
    if (i < p->n && s[i] == '.') {
        integral = 0;
        i++;
        if (i >= p->n || s[i] < '0' || s[i] > '9') {
            p->i = i;
            jp_fail(p, "bad number");
            return NULL;
        }
        while (i < p->n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < p->n && (s[i] == 'e' || s[i] == 'E')) {
        integral = 0;
        i++;
        if (i < p->n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= p->n || s[i] < '0' || s[i] > '9') {
            p->i = i;
            jp_fail(p, "bad number");
            return NULL;
        }
        while (i < p->n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i - st > JP_NUM_MAX) {
        jp_fail(p, "number too long");
        return NULL;
    }
    char t[JP_NUM_MAX + 1];
    memcpy(t, s + st, i - st);
    t[i - st] = '\0';
    p->i = i;
    if (integral) {
        errno = 0;
        long long v = strtoll(t, NULL, 10);
        if (errno == 0) {
            le_jv *j = jv_new(LE_JV_INT);
            j->i = v;
            return j;
        }
    }
    double d = strtod(t, NULL);
    if (!isfinite(d)) {
        p->i = st;
        jp_fail(p, "number out of range");
        return NULL;
    }
    le_jv *j = jv_new(LE_JV_NUM);
    j->d = d;
    return j;
}

static int jp_lit(jp *p, const char *lit)
{
    size_t n = strlen(lit);
    if (p->n - p->i < n || memcmp(p->s + p->i, lit, n) != 0)
        return jp_fail(p, "unexpected character");
    p->i += n;
    return 0;
}

le_jv *le_jv_parse(const char *s, size_t n, int max_depth, char *err, size_t errlen)
{
    jp p = { s, n, 0, err, errlen };
    le_jv *root = NULL;
    le_jv **stk = NULL;      /* open containers, innermost last */
    size_t depth = 0, cap = 0;
    char *key = NULL;        /* pending member name */
    if (err && errlen)
        err[0] = '\0';
    if (max_depth < 0)
        max_depth = 0;

    for (;;) {
        /* Expecting a value. */
        jp_ws(&p);
        if (p.i >= p.n) {
            jp_fail(&p, root ? "unexpected end" : "empty input");
            goto fail;
        }
        char c = s[p.i];
        le_jv *v;
        if (c == '{' || c == '[') {
            if (depth >= (size_t)max_depth) {
                jp_fail(&p, "nesting deeper than %d", max_depth);
                goto fail;
            }
            v = jv_new(c == '{' ? LE_JV_OBJ : LE_JV_ARR);
            p.i++;
        } else if (c == '"') {
            char *str;
            size_t len;
            if (jp_string(&p, &str, &len) != 0)
                goto fail;
            v = jv_new(LE_JV_STR);
            v->s = str;
            v->slen = len;
        } else if (c == 't' || c == 'f') {
            if (jp_lit(&p, c == 't' ? "true" : "false") != 0)
                goto fail;
            v = jv_new(LE_JV_BOOL);
            v->i = c == 't';
        } else if (c == 'n') {
            if (jp_lit(&p, "null") != 0)
                goto fail;
            v = jv_new(LE_JV_NULL);
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            if (!(v = jp_number(&p)))
                goto fail;
        } else {
            jp_fail(&p, "unexpected character");
            goto fail;
        }
        /* Attach at once: from here an error frees v through root. */
        if (!root) {
            root = v;
        } else {
            v->key = key;
            key = NULL;
            append(stk[depth - 1], v);
        }
        int opened = v->type == LE_JV_OBJ || v->type == LE_JV_ARR;
        if (opened) {
            if (depth == cap) {
                cap = cap ? cap * 2 : 8;
                stk = le_xrealloc(stk, cap * sizeof(*stk));
            }
            stk[depth++] = v;
        }

        /* After a value, or just inside a container: close, separate, or end. */
        for (;;) {
            jp_ws(&p);
            if (depth == 0) {
                if (p.i != p.n) {
                    jp_fail(&p, "trailing garbage");
                    goto fail;
                }
                free(stk);
                return root;
            }
            le_jv *top = stk[depth - 1];
            char close = top->type == LE_JV_OBJ ? '}' : ']';
            if (p.i >= p.n) {
                jp_fail(&p, "unexpected end");
                goto fail;
            }
            c = s[p.i];
            if (c == close) {
                p.i++;
                depth--;
                opened = 0;
                continue;
            }
            /* Just opened: the first element follows directly. */
            if (!opened) {
                if (c != ',') {
                    jp_fail(&p, "expected ',' or '%c'", close);
                    goto fail;
                }
                p.i++;
            }
            /* A value follows; in an object, a name and ':' first. */
            if (top->type == LE_JV_OBJ) {
                size_t klen;
                jp_ws(&p);
                if (p.i >= p.n || s[p.i] != '"') {
                    jp_fail(&p, "expected member name");
                    goto fail;
                }
                if (jp_string(&p, &key, &klen) != 0)
                    goto fail;
                jp_ws(&p);
                if (p.i >= p.n || s[p.i] != ':') {
                    jp_fail(&p, "expected ':'");
                    goto fail;
                }
                p.i++;
            }
            break;
        }
    }
fail:
    free(key);
    free(stk);
    le_jv_free(root);
    return NULL;
}
