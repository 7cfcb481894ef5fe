/* Time-shift request arguments (livedge.conf(5), TIME-SHIFT): `aliyunols=on`
 * or `lhs_start=1`, and `lhs_{start|end|vodend|offset}_{unix|human}_{s|ms|us|ns}_{0-9}`.
 * Pure: a query string in, absolute times out.
 *
 * Readings where the API reference is silent (documented in livedge.conf(5)):
 *  - unix with zone z: the number counts the wall clock of UTC+z, so z
 *    hours are subtracted (this makes the reference's three examples agree);
 *  - human with unit ms/us/ns: YYYYMMDDhhmmss followed by 3/6/9 digits;
 *  - offset is a duration (the playlist ends D before now), so only the
 *    unix format makes sense for it; the zone digit is ignored.
 * Every value is bounded (LE_LHS_MAX_S, 9999-12-31T23:59:59Z, in its own
 * unit) before any arithmetic, and values are URL-decoded with an encoded
 * NUL refused. */
#ifndef LE_LHS_H
#define LE_LHS_H
#include <stddef.h>
#include <stdint.h>

enum {
    LE_LHS_NONE = 0,    /* not a time-shift request */
    LE_LHS_SLIDING,     /* offset=D: live playlist ending D before now */
    LE_LHS_EVENT,       /* start=S: growing, no ENDLIST */
    LE_LHS_EVENT_END,   /* start=S&end=E: ENDLIST once now > E */
    LE_LHS_VOD          /* start=S&vodend=E: every segment at once, ENDLIST */
};

/* The largest time (or offset) accepted, in seconds: 9999-12-31T23:59:59Z. */
#define LE_LHS_MAX_S 253402300799LL

typedef struct le_lhs {
    int mode;
    int64_t start_ms, end_ms;   /* absolute unix ms; end_ms 0 when open */
    int64_t offset_ms;          /* SLIDING */
} le_lhs;

/* Parses q. LE_LHS_NONE with 0 when the request is plain live HLS.
 * LE_EINVAL with a message in err for an unknown lhs_ key, a wrong unit,
 * format or zone, a non-numeric value, a human time that is no date, end
 * before start, contradictory arguments, or a window reaching further back
 * than retention_ms from now. */
int le_lhs_parse(const char *q, size_t n, int64_t now_ms, int64_t retention_ms, le_lhs *out,
                 char *err, size_t errlen);

/* URL-decodes one argument value into out (NUL-terminated). LE_EINVAL for a
 * bad escape, a value longer than outsz - 1, or an encoded NUL (%00). */
int le_lhs_decode(const char *s, size_t n, char *out, size_t outsz);

/* One time argument, as used by the timeline query too: value of a
 * lhs_{type}_{format}_{unit}_{zone} key. type is written to *type
 * ("start", "end", "vodend", "offset"). 0 or LE_EINVAL. */
int le_lhs_time(const char *key, const char *val, char *type, size_t typesz, int64_t *ms,
                char *err, size_t errlen);

#endif
