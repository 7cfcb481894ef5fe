/* AMF0 codec for RTMP commands and metadata. Our own rather than librtmp's
 * AMF_Decode: librtmp recurses without a depth bound and trusts declared
 * lengths in places; here every size is checked against the input and
 * nesting is capped (LE_AMF_MAX_DEPTH -> LE_EDEPTH). Pure. */
#ifndef LE_RTMP_AMF_H
#define LE_RTMP_AMF_H
#include <stddef.h>
#include <stdint.h>
#include "core/util.h"

#define LE_AMF_MAX_DEPTH 32
#define LE_AMF_MAX_VALUES 4096   /* values in one decode (memory bound) */

enum {
    LE_AMF_NUMBER = 0x00, LE_AMF_BOOLEAN = 0x01, LE_AMF_STRING = 0x02, LE_AMF_OBJECT = 0x03,
    LE_AMF_MOVIECLIP = 0x04, LE_AMF_NULL = 0x05, LE_AMF_UNDEFINED = 0x06, LE_AMF_REFERENCE = 0x07,
    LE_AMF_ECMA_ARRAY = 0x08, LE_AMF_OBJECT_END = 0x09, LE_AMF_STRICT_ARRAY = 0x0a,
    LE_AMF_DATE = 0x0b, LE_AMF_LONG_STRING = 0x0c, LE_AMF_UNSUPPORTED = 0x0d,
    LE_AMF_XML_DOC = 0x0f, LE_AMF_TYPED_OBJECT = 0x10, LE_AMF_SWITCH_AMF3 = 0x11
};

typedef struct le_amf_val le_amf_val;
typedef struct le_amf_prop {
    const char *name;          /* points into the input; not NUL-terminated */
    size_t name_len;
    le_amf_val *val;
} le_amf_prop;

struct le_amf_val {
    uint8_t type;              /* LE_AMF_*; LONG_STRING/XML read as STRING */
    double num;                /* NUMBER, DATE; BOOLEAN as 0/1 */
    const char *str;           /* STRING: into the input, not NUL-terminated */
    size_t str_len;
    le_amf_prop *props;        /* OBJECT, ECMA_ARRAY, TYPED_OBJECT */
    size_t nprops;
    le_amf_val **items;        /* STRICT_ARRAY */
    size_t nitems;
};

/* A decoded sequence of top-level values; one allocation block. */
typedef struct le_amf_doc {
    le_amf_val **vals;
    size_t nvals;
    void *arena;               /* private */
} le_amf_doc;

/* Decodes every value in b[0..n). 0, or LE_EPROTO (truncated/bad type),
 * LE_EDEPTH (nesting), LE_ETOOBIG (too many values). doc is always safe to
 * le_amf_doc_free(). The doc borrows b: keep b alive while using it. */
int le_amf_decode(const uint8_t *b, size_t n, le_amf_doc *doc);
void le_amf_doc_free(le_amf_doc *doc);

/* Lookup helpers, NULL-safe. */
const le_amf_val *le_amf_prop_get(const le_amf_val *obj, const char *name);
int le_amf_str_eq(const le_amf_val *v, const char *s);
/* Copies a STRING value into out (NUL-terminated): 0, LE_EINVAL if v is no
 * string, LE_ETOOBIG if it does not fit, LE_EPROTO if it holds a NUL. */
int le_amf_str_copy(const le_amf_val *v, char *out, size_t outsz);

/* Encoding into a le_buf. */
void le_amf_put_number(le_buf *b, double v);
void le_amf_put_bool(le_buf *b, int v);
void le_amf_put_string(le_buf *b, const char *s);       /* STRING or LONG_STRING by length */
void le_amf_put_null(le_buf *b);
void le_amf_put_object_start(le_buf *b);
void le_amf_put_ecma_start(le_buf *b, uint32_t count);
void le_amf_put_key(le_buf *b, const char *name);        /* property name, no marker */
void le_amf_put_object_end(le_buf *b);                   /* 00 00 09 */
/* Property shorthands: key + value. */
void le_amf_put_prop_string(le_buf *b, const char *name, const char *v);
void le_amf_put_prop_number(le_buf *b, const char *name, double v);
void le_amf_put_prop_bool(le_buf *b, const char *name, int v);

#endif
