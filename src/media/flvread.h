/* A streaming FLV reader: bytes in (split anywhere), the file header and
 * tags out. Pure: no sockets, no logging, no loop. Used by anything that
 * reads an FLV byte stream from a peer (HTTP-FLV pulls, bench/loadgen).
 *
 * The file header is "FLV", version 1, flags, a 32-bit data offset (>= 9;
 * bytes past 9 are skipped), then PreviousTagSize0 = 0; each tag is an
 * 11-byte header (type, 24-bit size, 24+8-bit timestamp, 24-bit stream id),
 * its body and a 32-bit PreviousTagSize that must equal 11 + size.
 * A tag over max_tag bytes is LE_ETOOBIG before anything is stored; a
 * broken header or PreviousTagSize is LE_EPROTO. Errors are sticky. */
#ifndef LE_FLVREAD_H
#define LE_FLVREAD_H
#include <stddef.h>
#include <stdint.h>

enum {
    LE_FLVREAD_HEADER = 1,     /* the file header: ev->flags */
    LE_FLVREAD_BODY,           /* a piece of the current tag's body (stream mode) */
    LE_FLVREAD_TAG             /* a whole tag */
};

typedef struct le_flvread_ev {
    uint8_t flags;             /* HEADER: 4 = audio, 1 = video */
    uint8_t type;              /* tag type (8 audio, 9 video, 18 script), filter bit cleared */
    uint32_t ts;               /* ms, the extended byte included */
    uint32_t size;             /* body size */
    uint32_t offset;           /* BODY: where data sits in the body */
    const uint8_t *data;       /* BODY: the piece (into the input); TAG: the
                                * body when bodies are kept, else NULL */
    size_t len;                /* BODY: the piece's length; TAG: size or 0 */
} le_flvread_ev;

typedef struct le_flvread {
    int state, err;
    uint32_t max_tag;
    int keep;                  /* store whole bodies (TAG carries data) */
    uint8_t hb[16];            /* header bytes being collected */
    size_t hlen;
    uint32_t skip;             /* data offset bytes past 9 */
    uint32_t expect_prev;      /* what the next PreviousTagSize must be */
    uint8_t type;
    uint32_t ts, size, pos;
    uint8_t *body;             /* keep mode */
    size_t cap;
    uint64_t tags;             /* tags read */
} le_flvread;

/* keep: 1 = each TAG event carries the whole body (stored, at most max_tag
 * bytes); 0 = the body arrives as BODY events pointing into the input and
 * is never stored (TAG then ends it with data NULL). */
void le_flvread_init(le_flvread *r, uint32_t max_tag, int keep);
void le_flvread_free(le_flvread *r);

/* Consumes from *p and *n until one event is complete (advancing them) and
 * returns its LE_FLVREAD_* kind; LE_EAGAIN once *n is used up without one;
 * LE_EPROTO / LE_ETOOBIG on bad input (then always that). Event pointers
 * are valid until the next call. */
int le_flvread_next(le_flvread *r, const uint8_t **p, size_t *n, le_flvread_ev *ev);
/* 1 while the input so far ends inside a tag (its header or body), 0
 * between tags: a relay source tells its stream whether more of a frame is
 * on its way (le_stream_set_arriving). */
int le_flvread_partial(const le_flvread *r);

#endif
