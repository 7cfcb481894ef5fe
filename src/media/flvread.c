/* Streaming FLV reader, see flvread.h. */
#include "media/flvread.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

enum { R_FILEHDR = 0, R_SKIP, R_PREV, R_TAGHDR, R_BODY, R_END };

static uint32_t be24(const uint8_t *b) { return (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2]; }
static uint32_t be32(const uint8_t *b) { return (uint32_t)b[0] << 24 | be24(b + 1); }

void le_flvread_init(le_flvread *r, uint32_t max_tag, int keep)
{
    memset(r, 0, sizeof(*r));
    r->max_tag = max_tag;
    r->keep = keep;
}

void le_flvread_free(le_flvread *r)
{
    free(r->body);
    r->body = NULL;
    r->cap = 0;
}

/* Collects want bytes into hb; 1 once complete. */
static int collect(le_flvread *r, size_t want, const uint8_t **p, size_t *n)
{
    size_t take = want - r->hlen;
    if (take > *n)
        take = *n;
    memcpy(r->hb + r->hlen, *p, take);
    r->hlen += take;
    *p += take;
    *n -= take;
    if (r->hlen < want)
        return 0;
    r->hlen = 0;
    return 1;
}

static int fail(le_flvread *r, int code)
{
    r->err = code;
    return code;
}

static int tag_end(le_flvread *r, le_flvread_ev *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = r->type;
    ev->ts = r->ts;
    ev->size = r->size;
    if (r->keep) {
        ev->data = r->body;
        ev->len = r->size;
    }
    r->expect_prev = 11 + r->size;
    r->state = R_PREV;
    r->tags++;
    return LE_FLVREAD_TAG;
}

int le_flvread_partial(const le_flvread *r)
{
    return !r->err && (r->state == R_BODY || r->state == R_END || (r->state == R_TAGHDR && r->hlen > 0));
}

int le_flvread_next(le_flvread *r, const uint8_t **p, size_t *n, le_flvread_ev *ev)
{
    if (r->err)
        return r->err;
    while (*n > 0) {
        switch (r->state) {
        case R_FILEHDR:
            if (!collect(r, 9, p, n))
                return LE_EAGAIN;
            if (memcmp(r->hb, "FLV", 3) != 0 || r->hb[3] != 1)
                return fail(r, LE_EPROTO);
            {
                uint32_t off = be32(r->hb + 5);
                if (off < 9)
                    return fail(r, LE_EPROTO);
                r->skip = off - 9;
            }
            memset(ev, 0, sizeof(*ev));
            ev->flags = r->hb[4];
            r->expect_prev = 0;
            r->state = r->skip ? R_SKIP : R_PREV;
            return LE_FLVREAD_HEADER;
        case R_SKIP: {
            size_t take = *n < r->skip ? *n : r->skip;
            *p += take;
            *n -= take;
            r->skip -= (uint32_t)take;
            if (!r->skip)
                r->state = R_PREV;
            break;
        }
        case R_PREV:
            if (!collect(r, 4, p, n))
                return LE_EAGAIN;
            if (be32(r->hb) != r->expect_prev)
                return fail(r, LE_EPROTO);
            r->state = R_TAGHDR;
            break;
        case R_TAGHDR:
            if (!collect(r, 11, p, n))
                return LE_EAGAIN;
            r->type = r->hb[0] & 0x1f;
            r->size = be24(r->hb + 1);
            r->ts = be24(r->hb + 4) | (uint32_t)r->hb[7] << 24;
            r->pos = 0;
            if (r->size > r->max_tag)
                return fail(r, LE_ETOOBIG);
            if (r->keep && r->size > r->cap) {
                uint8_t *nb = realloc(r->body, r->size);
                if (!nb)
                    return fail(r, LE_ENOMEM);
                r->body = nb;
                r->cap = r->size;
            }
            r->state = R_BODY;
            if (r->size == 0)
                return tag_end(r, ev);
            break;
        case R_BODY: {
            uint32_t left = r->size - r->pos;
            size_t take = *n < left ? *n : left;
            const uint8_t *piece = *p;
            uint32_t at = r->pos;
            *p += take;
            *n -= take;
            r->pos += (uint32_t)take;
            if (r->keep) {
                memcpy(r->body + at, piece, take);
                if (r->pos == r->size)
                    return tag_end(r, ev);
                break;
            }
            memset(ev, 0, sizeof(*ev));
            ev->type = r->type;
            ev->ts = r->ts;
            ev->size = r->size;
            ev->offset = at;
            ev->data = piece;
            ev->len = take;
            if (r->pos == r->size)
                r->state = R_END;   /* the TAG event comes next call */
            return LE_FLVREAD_BODY;
        }
        default:
            break;
        }
        if (r->state == R_END)
            return tag_end(r, ev);
    }
    if (r->state == R_END)
        return tag_end(r, ev);
    return LE_EAGAIN;
}
