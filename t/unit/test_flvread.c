/* media/flvread: the file header, tags split at every byte boundary (both
 * modes), a bad PreviousTagSize, an oversize tag, a bad signature. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "media/flvread.h"
#include "tap.h"

static void tag(le_buf *b, uint8_t type, uint32_t ts, const uint8_t *body, uint32_t n)
{
    le_buf_u8(b, type);
    le_buf_be24(b, n);
    le_buf_be24(b, ts & 0xffffff);
    le_buf_u8(b, (uint8_t)(ts >> 24));
    le_buf_be24(b, 0);
    le_buf_append(b, body, n);
    le_buf_be32(b, 11 + n);
}

static void header(le_buf *b)
{
    static const uint8_t h[] = { 'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0 };
    le_buf_append(b, h, sizeof(h));
}

/* The stream as tags: type, ts and body checksum, plus the header flags. */
typedef struct {
    int header, flags, ntags, err;
    uint8_t type[8];
    uint32_t ts[8], size[8];
    uint32_t sum[8];
} seen;

static void run(const le_buf *b, size_t split, int keep, uint32_t max, seen *s)
{
    le_flvread r;
    le_flvread_init(&r, max, keep);
    memset(s, 0, sizeof(*s));
    uint32_t sum = 0;
    size_t off = 0;
    while (off < b->len && !s->err) {
        size_t n = split && b->len - off > split ? split : b->len - off;
        const uint8_t *p = b->p + off;
        off += n;
        le_flvread_ev ev;
        int k;
        while ((k = le_flvread_next(&r, &p, &n, &ev)) != LE_EAGAIN) {
            if (k < 0) {
                s->err = k;
                break;
            }
            if (k == LE_FLVREAD_HEADER) {
                s->header++;
                s->flags = ev.flags;
            } else if (k == LE_FLVREAD_BODY) {
                for (size_t i = 0; i < ev.len; i++)
                    sum = sum * 31 + ev.data[i] + (uint32_t)(ev.offset + i);
            } else if (k == LE_FLVREAD_TAG && s->ntags < 8) {
                if (keep)
                    for (size_t i = 0; i < ev.len; i++)
                        sum = sum * 31 + ev.data[i] + (uint32_t)i;
                s->type[s->ntags] = ev.type;
                s->ts[s->ntags] = ev.ts;
                s->size[s->ntags] = ev.size;
                s->sum[s->ntags++] = sum;
                sum = 0;
            }
        }
    }
    le_flvread_free(&r);
}

int main(void)
{
    uint8_t body[300];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(i * 7 + 3);
    le_buf b = { 0 };
    header(&b);
    tag(&b, 18, 0, body, 40);
    tag(&b, 9, 0x01020304, body, 300);
    tag(&b, 8, 33, body, 0);
    tag(&b, 9, 66, body + 5, 17);

    seen ref;
    run(&b, 0, 1, 1000, &ref);
    ok(ref.header == 1 && ref.flags == 5, "header read once, flags 5");
    ok(ref.err == 0 && ref.ntags == 4, "four tags, no error");
    ok(ref.type[0] == 18 && ref.type[1] == 9 && ref.type[2] == 8 && ref.type[3] == 9, "tag types");
    ok(ref.ts[1] == 0x01020304 && ref.ts[2] == 33, "timestamps, the extended byte included");
    ok(ref.size[1] == 300 && ref.size[2] == 0 && ref.size[3] == 17, "sizes");

    int same_keep = 1, same_stream = 1;
    for (size_t split = 1; split <= b.len; split++) {
        for (int keep = 0; keep < 2; keep++) {
            seen s;
            run(&b, split, keep, 1000, &s);
            int same = s.err == 0 && s.header == 1 && s.ntags == 4 &&
                       memcmp(s.type, ref.type, sizeof(s.type)) == 0 && memcmp(s.ts, ref.ts, sizeof(s.ts)) == 0 &&
                       memcmp(s.size, ref.size, sizeof(s.size)) == 0 && memcmp(s.sum, ref.sum, sizeof(s.sum)) == 0;
            if (!same)
                *(keep ? &same_keep : &same_stream) = 0;
        }
    }
    ok(same_keep, "kept bodies: the same tags and bytes for every split size");
    ok(same_stream, "streamed bodies: the same tags, offsets and bytes for every split size");

    /* Bad PreviousTagSize after the second tag. */
    le_buf bad = { 0 };
    le_buf_append(&bad, b.p, b.len);
    size_t prev2 = 13 + (11 + 40 + 4) + 11 + 300;
    bad.p[prev2 + 3] ^= 1;
    seen s;
    run(&bad, 7, 1, 1000, &s);
    ok(s.err == LE_EPROTO && s.ntags == 2, "bad PreviousTagSize: LE_EPROTO after the tag before it");
    bad.p[prev2 + 3] ^= 1;
    bad.p[12] = 1;   /* PreviousTagSize0 must be 0 */
    run(&bad, 0, 0, 1000, &s);
    ok(s.err == LE_EPROTO && s.ntags == 0, "nonzero PreviousTagSize0: LE_EPROTO");

    /* Oversize: refused at the tag header, before any body byte is stored. */
    run(&b, 3, 1, 299, &s);
    ok(s.err == LE_ETOOBIG && s.ntags == 1, "tag over max_tag: LE_ETOOBIG");
    run(&b, 0, 0, 300, &s);
    ok(s.err == 0 && s.ntags == 4, "a tag of exactly max_tag is fine");

    /* Not FLV; errors are sticky. */
    memcpy(bad.p, "FLX", 3);
    run(&bad, 0, 1, 1000, &s);
    ok(s.err == LE_EPROTO && s.header == 0, "bad signature: LE_EPROTO");
    le_flvread r;
    le_flvread_init(&r, 1000, 1);
    const uint8_t *p = bad.p;
    size_t n = bad.len;
    le_flvread_ev ev;
    int k1 = le_flvread_next(&r, &p, &n, &ev);
    p = b.p;
    n = b.len;
    int k2 = le_flvread_next(&r, &p, &n, &ev);
    ok(k1 == LE_EPROTO && k2 == LE_EPROTO, "an error is sticky");
    le_flvread_free(&r);

    /* Data offset past 9: the extra bytes are skipped. */
    le_buf x = { 0 };
    static const uint8_t h[] = { 'F', 'L', 'V', 1, 1, 0, 0, 0, 12, 0xaa, 0xbb, 0xcc, 0, 0, 0, 0 };
    le_buf_append(&x, h, sizeof(h));
    tag(&x, 9, 1, body, 10);
    run(&x, 1, 1, 1000, &s);
    ok(s.err == 0 && s.ntags == 1 && s.flags == 1, "data offset 12: three bytes skipped");
    x.p[8] = 8;
    run(&x, 0, 1, 1000, &s);
    ok(s.err == LE_EPROTO, "data offset under 9: LE_EPROTO");

    /* le_flvread_partial: 1 from a tag's first header byte to its last body
     * byte, 0 between tags (PreviousTagSize included), in both modes. */
    for (int keep = 0; keep <= 1; keep++) {
        le_buf y = { 0 };
        header(&y);
        tag(&y, 8, 0, body, 10);
        tag(&y, 9, 40, body, 10);
        le_flvread_init(&r, 1000, keep);
        int okp = le_flvread_partial(&r) == 0, tags = 0;
        size_t t1 = 13, t1end = 13 + 11 + 10, t2 = t1end + 4, t2end = t2 + 11 + 10;
        for (size_t at = 0; at < y.len; at++) {
            p = y.p + at;
            n = 1;
            int k;
            while ((k = le_flvread_next(&r, &p, &n, &ev)) != LE_EAGAIN && k >= 0)
                tags += k == LE_FLVREAD_TAG;
            int inside = (at >= t1 && at < t1end - 1) || (at >= t2 && at < t2end - 1);
            if (le_flvread_partial(&r) != inside) {
                okp = 0;
                printf("# keep %d: after byte %zu partial %d, want %d\n", keep, at, le_flvread_partial(&r), inside);
            }
        }
        ok(okp && tags == 2, "%s: partial inside each tag's header and body only, 0 once it is read (%d tags)",
           keep ? "keep" : "pieces", tags);
        le_flvread_free(&r);
        le_buf_free(&y);
    }

    le_buf_free(&b);
    le_buf_free(&bad);
    le_buf_free(&x);
    return done_testing();
}
