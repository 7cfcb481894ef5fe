/* Small shared helpers: allocation that aborts on OOM (internal objects only;
 * sizes a peer controls are checked before they get here), clocks, the name
 * charset of app and stream names, query strings. */
#ifndef LE_UTIL_H
#define LE_UTIL_H
#include <stddef.h>
#include <stdint.h>

void *le_xmalloc(size_t n);
void *le_xcalloc(size_t nmemb, size_t n);
void *le_xrealloc(void *p, size_t n);
char *le_xstrdup(const char *s);
char *le_xstrndup(const char *s, size_t n);

uint64_t le_mono_ms(void);   /* CLOCK_MONOTONIC in ms */
/* FNV-1a over n bytes, continuing from h (start with LE_HASH64_INIT). */
#define LE_HASH64_INIT 14695981039346656037ull
uint64_t le_hash64(const void *p, size_t n, uint64_t h);
/* A random (version 4) UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", upper or
 * lower case hex: request ids, CasterIds, RecordIds. */
void le_uuid_v4(char out[37], int upper);
int64_t le_wall_ms(void);    /* unix epoch in ms */

/* App and stream names are 1-255 bytes of [A-Za-z0-9_.-], never "." or ".."
 * (docs/CONTRACT.md, URLs). */
int le_name_valid(const char *s, size_t n);

/* Finds `key` in an application/x-www-form-urlencoded string and decodes its
 * value into out. Returns the decoded length; LE_ENOTFOUND if absent,
 * LE_ETOOBIG if the value does not fit, LE_EINVAL for a bad escape. */
int le_query_get(const char *query, size_t qlen, const char *key, char *out, size_t outsz);
/* Percent-decodes s into out, NUL-terminated ('+' becomes space when plus
 * is set). Returns the length; LE_EINVAL on a bad escape, LE_ETOOBIG when
 * out is too small. */
int le_url_decode(const char *s, size_t n, char *out, size_t outsz, int plus);

/* UTC "YYYY-MM-DDThh:mm:ssZ" (the OpenAPI time format) <-> unix ms.
 * Parse returns 0, or LE_EINVAL for anything else, impossible dates too. */
int le_parse_utc(const char *s, int64_t *ms);
/* Unix seconds of a UTC civil time; LE_EINVAL (negative) if it is no real
 * date (Feb 30...) or before 1970. */
int64_t le_civil_secs(int y, int mo, int d, int h, int mi, int se);
char *le_fmt_utc(int64_t ms, char out[21]);
/* Proleptic Gregorian dates and days since 1970-01-01, any sign, without
 * the C library's time_t range (H. Hinnant's algorithms). */
int64_t le_days_from_civil(int64_t y, int m, int d);
void le_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* Duration with optional s/m/h/d suffix (default seconds, "ms" allowed):
 * 0, or LE_EINVAL. */
int le_parse_duration_ms(const char *s, int64_t *ms);



/* A growable byte buffer for building replies (not for media fan-out). */
typedef struct le_buf {
    uint8_t *p;
    size_t len, cap;
} le_buf;
void le_buf_reserve(le_buf *b, size_t extra);
void le_buf_append(le_buf *b, const void *data, size_t n);
void le_buf_u8(le_buf *b, uint8_t v);
void le_buf_be16(le_buf *b, uint16_t v);
void le_buf_be24(le_buf *b, uint32_t v);
void le_buf_be32(le_buf *b, uint32_t v);
void le_buf_printf(le_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void le_buf_free(le_buf *b);

static inline uint32_t le_rd_be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static inline uint32_t le_rd_be24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }
static inline uint32_t le_rd_be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline uint32_t le_rd_le32(const uint8_t *p) { return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]; }
static inline void le_wr_be16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void le_wr_be24(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 16); p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)v; }
static inline void le_wr_be32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static inline void le_wr_le32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }
#endif
