/* AMF0 (Adobe "AMF 0 File Format Specification"). The decoder recurses,
 * but only LE_AMF_MAX_DEPTH deep; every length is checked against the
 * bytes left before it is used; every node lives in one arena freed at
 * once, and strings point into the caller's input. */
#include "media/amf.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

/* ---- arena: a chain of blocks, newest first ---- */

typedef struct arena_blk {
    struct arena_blk *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char mem[];
} arena_blk;

#define ARENA_BLK 4096

static void *arena_alloc(arena_blk **head, size_t n)
{
    const size_t a = alignof(max_align_t);
    n = (n + a - 1) & ~(a - 1);
    arena_blk *b = *head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLK ? n : ARENA_BLK;
        b = le_xmalloc(sizeof *b + cap);
        b->used = 0;
        b->cap = cap;
        b->next = *head;
        *head = b;
    }
    void *p = b->mem + b->used;
    b->used += n;
    return p;
}

static void arena_free(arena_blk *b)
{
    while (b) {
        arena_blk *next = b->next;
        free(b);
        b = next;
    }
}

/* ---- decoder ---- */

typedef struct dec {
    const uint8_t *p, *end;
    arena_blk *arena;
    size_t nvals;          /* values decoded so far, for LE_AMF_MAX_VALUES */
} dec;

/* A growable array used while the element count is unknown (objects end at
 * a marker); copied into the arena when complete. Bounded by nvals. */
typedef struct vec {
    void *p;
    size_t n, cap, elt;
} vec;

static void *vec_push(vec *v)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 8;
        v->p = le_xrealloc(v->p, v->cap * v->elt);
    }
    return (char *)v->p + v->n++ * v->elt;
}

static void *vec_to_arena(dec *d, vec *v)
{
    if (v->n == 0)
        return NULL;
    void *p = arena_alloc(&d->arena, v->n * v->elt);
    memcpy(p, v->p, v->n * v->elt);
    return p;
}

static size_t left(const dec *d)
{
    return (size_t)(d->end - d->p);
}

static double rd_double(const uint8_t *p)
{
    uint64_t u = (uint64_t)le_rd_be32(p) << 32 | le_rd_be32(p + 4);
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static int decode_value(dec *d, int depth, le_amf_val **out);

/* A length-prefixed UTF-8 run (16- or 32-bit length). */
static int rd_str(dec *d, int wide, const char **s, size_t *n)
{
    size_t hl = wide ? 4 : 2;
    if (left(d) < hl)
        return LE_EPROTO;
    size_t len = wide ? le_rd_be32(d->p) : le_rd_be16(d->p);
    d->p += hl;
    if (len > left(d))
        return LE_EPROTO;
    *s = (const char *)d->p;
    *n = len;
    d->p += len;
    return 0;
}

/* Properties up to the 00 00 09 end marker (object, ECMA array, typed
 * object). A missing end marker is LE_EPROTO: ffmpeg, OBS and librtmp
 * always write it. */
static int decode_props(dec *d, int depth, le_amf_val *v)
{
    vec props = { .elt = sizeof(le_amf_prop) };
    int rc;
    for (;;) {
        if (left(d) >= 3 && d->p[0] == 0 && d->p[1] == 0 && d->p[2] == LE_AMF_OBJECT_END) {
            d->p += 3;
            break;
        }
        le_amf_prop pr;
        if ((rc = rd_str(d, 0, &pr.name, &pr.name_len)) < 0 ||
            (rc = decode_value(d, depth, &pr.val)) < 0) {
            free(props.p);
            return rc;
        }
        *(le_amf_prop *)vec_push(&props) = pr;
    }
    v->props = vec_to_arena(d, &props);
    v->nprops = props.n;
    free(props.p);
    return 0;
}

/* depth counts the containers enclosing this value. */
static int decode_value(dec *d, int depth, le_amf_val **out)
{
    if (left(d) < 1)
        return LE_EPROTO;
    if (++d->nvals > LE_AMF_MAX_VALUES)
        return LE_ETOOBIG;
    uint8_t t = *d->p++;
    le_amf_val *v = arena_alloc(&d->arena, sizeof *v);
    memset(v, 0, sizeof *v);
    v->type = t;
    *out = v;
    int rc = 0;

    switch (t) {
    case LE_AMF_NUMBER:
    case LE_AMF_DATE:
        if (left(d) < (t == LE_AMF_DATE ? 10u : 8u))
            return LE_EPROTO;
        v->num = rd_double(d->p);
        /* A date's trailing 16-bit time zone is reserved (spec 2.13). */
        d->p += t == LE_AMF_DATE ? 10 : 8;
        return 0;
    case LE_AMF_BOOLEAN:
        if (left(d) < 1)
            return LE_EPROTO;
        v->num = *d->p++ ? 1 : 0;
        return 0;
    case LE_AMF_STRING:
        return rd_str(d, 0, &v->str, &v->str_len);
    case LE_AMF_LONG_STRING:
    case LE_AMF_XML_DOC:
        v->type = LE_AMF_STRING;
        return rd_str(d, 1, &v->str, &v->str_len);
    case LE_AMF_NULL:
    case LE_AMF_UNDEFINED:
    case LE_AMF_UNSUPPORTED:
        return 0;
    case LE_AMF_REFERENCE:
        /* An index into earlier complex values; kept as a number. */
        if (left(d) < 2)
            return LE_EPROTO;
        v->num = le_rd_be16(d->p);
        d->p += 2;
        return 0;
    case LE_AMF_TYPED_OBJECT:
        /* The class name goes in str. */
        if ((rc = rd_str(d, 0, &v->str, &v->str_len)) < 0)
            return rc;
        /* fall through */
    case LE_AMF_OBJECT:
    case LE_AMF_ECMA_ARRAY:
        if (depth + 1 > LE_AMF_MAX_DEPTH)
            return LE_EDEPTH;
        if (t == LE_AMF_ECMA_ARRAY) {
            /* The count is advisory (encoders get it wrong); the end marker
             * decides. */
            if (left(d) < 4)
                return LE_EPROTO;
            d->p += 4;
        }
        return decode_props(d, depth + 1, v);
    case LE_AMF_STRICT_ARRAY: {
        if (depth + 1 > LE_AMF_MAX_DEPTH)
            return LE_EDEPTH;
        if (left(d) < 4)
            return LE_EPROTO;
        uint32_t n = le_rd_be32(d->p);
        d->p += 4;
        /* Each item is at least one byte: a count beyond the input is a lie,
         * caught before it sizes an allocation. */
        if (n > left(d))
            return LE_EPROTO;
        if (n > LE_AMF_MAX_VALUES - (d->nvals < LE_AMF_MAX_VALUES ? d->nvals : LE_AMF_MAX_VALUES))
            return LE_ETOOBIG;
        v->items = n ? arena_alloc(&d->arena, n * sizeof *v->items) : NULL;
        for (uint32_t i = 0; i < n; i++)
            if ((rc = decode_value(d, depth + 1, &v->items[i])) < 0)
                return rc;
        v->nitems = n;
        return 0;
    }
    default:
        /* MovieClip and RecordSet are reserved, AMF3 we do not speak, and
         * an object-end marker is only valid after an empty key. */
        return LE_EPROTO;
    }
}

int le_amf_decode(const uint8_t *b, size_t n, le_amf_doc *doc)
{
    dec d = { .p = b, .end = b + n };
    vec vals = { .elt = sizeof(le_amf_val *) };
    int rc = 0;

    memset(doc, 0, sizeof *doc);
    while (left(&d) > 0) {
        le_amf_val *v;
        if ((rc = decode_value(&d, 0, &v)) < 0)
            break;
        *(le_amf_val **)vec_push(&vals) = v;
    }
    if (rc < 0) {
        free(vals.p);
        arena_free(d.arena);
        return rc;
    }
    doc->vals = vec_to_arena(&d, &vals);
    doc->nvals = vals.n;
    doc->arena = d.arena;
    free(vals.p);
    return 0;
}

void le_amf_doc_free(le_amf_doc *doc)
{
    if (!doc)
        return;
    arena_free(doc->arena);
    memset(doc, 0, sizeof *doc);
}

/* ---- lookup ---- */

const le_amf_val *le_amf_prop_get(const le_amf_val *obj, const char *name)
{
    if (!obj || !name || !obj->props)
        return NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i < obj->nprops; i++)
        if (obj->props[i].name_len == n && memcmp(obj->props[i].name, name, n) == 0)
            return obj->props[i].val;
    return NULL;
}

int le_amf_str_eq(const le_amf_val *v, const char *s)
{
    if (!v || !s || v->type != LE_AMF_STRING)
        return 0;
    size_t n = strlen(s);
    return v->str_len == n && (n == 0 || memcmp(v->str, s, n) == 0);
}

int le_amf_str_copy(const le_amf_val *v, char *out, size_t outsz)
{
    if (!v || v->type != LE_AMF_STRING)
        return LE_EINVAL;
    if (v->str_len >= outsz)
        return LE_ETOOBIG;
    /* An embedded NUL would make the C string say less than the peer sent
     * (a stream name checked as "a" but logged or stored as "a\0../b"). */
    if (v->str_len && memchr(v->str, '\0', v->str_len))
        return LE_EPROTO;
    if (v->str_len)
        memcpy(out, v->str, v->str_len);
    out[v->str_len] = '\0';
    return 0;
}

/* ---- encoder ---- */

void le_amf_put_number(le_buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    le_buf_u8(b, LE_AMF_NUMBER);
    le_buf_be32(b, (uint32_t)(u >> 32));
    le_buf_be32(b, (uint32_t)u);
}

void le_amf_put_bool(le_buf *b, int v)
{
    le_buf_u8(b, LE_AMF_BOOLEAN);
    le_buf_u8(b, v ? 1 : 0);
}

void le_amf_put_string(le_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (n <= 0xffff) {
        le_buf_u8(b, LE_AMF_STRING);
        le_buf_be16(b, (uint16_t)n);
    } else {
        /* Our strings never approach 4 GiB; clamp rather than wrap. */
        if (n > 0xffffffffu)
            n = 0xffffffffu;
        le_buf_u8(b, LE_AMF_LONG_STRING);
        le_buf_be32(b, (uint32_t)n);
    }
    le_buf_append(b, s, n);
}

void le_amf_put_null(le_buf *b)
{
    le_buf_u8(b, LE_AMF_NULL);
}

void le_amf_put_object_start(le_buf *b)
{
    le_buf_u8(b, LE_AMF_OBJECT);
}

void le_amf_put_ecma_start(le_buf *b, uint32_t count)
{
    le_buf_u8(b, LE_AMF_ECMA_ARRAY);
    le_buf_be32(b, count);
}

void le_amf_put_key(le_buf *b, const char *name)
{
    size_t n = strlen(name);
    /* Keys are ours (command and metadata field names), never this long;
     * truncating keeps the output well-formed if one ever is. */
    if (n > 0xffff)
        n = 0xffff;
    le_buf_be16(b, (uint16_t)n);
    le_buf_append(b, name, n);
}

void le_amf_put_object_end(le_buf *b)
{
    static const uint8_t end[3] = { 0, 0, LE_AMF_OBJECT_END };
    le_buf_append(b, end, sizeof end);
}

void le_amf_put_prop_string(le_buf *b, const char *name, const char *v)
{
    le_amf_put_key(b, name);
    le_amf_put_string(b, v);
}

void le_amf_put_prop_number(le_buf *b, const char *name, double v)
{
    le_amf_put_key(b, name);
    le_amf_put_number(b, v);
}

void le_amf_put_prop_bool(le_buf *b, const char *name, int v)
{
    le_amf_put_key(b, name);
    le_amf_put_bool(b, v);
}
