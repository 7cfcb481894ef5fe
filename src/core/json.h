/* A small value tree for API responses and stored records: objects keep key
 * order, arrays hold values. Rendered as JSON, or as XML the way the
 * Alibaba Cloud RPC API does (an array's items each become an element named
 * by the array's key: {"OnlineInfo":{"LiveStreamOnlineInfo":[a,b]}} is
 * <OnlineInfo><LiveStreamOnlineInfo>a</LiveStreamOnlineInfo>
 * <LiveStreamOnlineInfo>b</LiveStreamOnlineInfo></OnlineInfo>). Pure. */
#ifndef LE_JSON_H
#define LE_JSON_H
#include <stddef.h>
#include <stdint.h>
#include "core/util.h"

enum { LE_JV_NULL = 0, LE_JV_BOOL, LE_JV_INT, LE_JV_NUM, LE_JV_STR, LE_JV_OBJ, LE_JV_ARR };

typedef struct le_jv le_jv;
struct le_jv {
    int type;
    int64_t i;           /* INT, BOOL */
    double d;            /* NUM */
    char *s;             /* STR (NUL-terminated, may contain no NUL) */
    size_t slen;
    char *key;           /* member name when inside an object */
    le_jv *first, *last; /* OBJ/ARR children */
    le_jv *next;
    size_t n;            /* children */
};

le_jv *le_jv_obj(void);
le_jv *le_jv_arr(void);
void le_jv_free(le_jv *v);

/* Object setters append (no duplicate check); return the new member. A NULL
 * or non-object obj: nothing is added (an adopted v is freed), NULL back. */
le_jv *le_jv_set_str(le_jv *obj, const char *key, const char *v);   /* NULL v: "" */
le_jv *le_jv_set_int(le_jv *obj, const char *key, int64_t v);
le_jv *le_jv_set_num(le_jv *obj, const char *key, double v);
le_jv *le_jv_set_bool(le_jv *obj, const char *key, int v);
le_jv *le_jv_set_obj(le_jv *obj, const char *key);                  /* new child object */
le_jv *le_jv_set_arr(le_jv *obj, const char *key);                  /* new child array */
void le_jv_set(le_jv *obj, const char *key, le_jv *v);              /* adopts v */
le_jv *le_jv_set_null(le_jv *obj, const char *key);
/* Inserts a string member first (le_admin_reply's RequestId). */
le_jv *le_jv_prepend_str(le_jv *obj, const char *key, const char *v);
/* Array appenders. */
le_jv *le_jv_push_obj(le_jv *arr);
le_jv *le_jv_push_str(le_jv *arr, const char *v);
le_jv *le_jv_push_int(le_jv *arr, int64_t v);
void le_jv_push(le_jv *arr, le_jv *v);                               /* adopts v */

/* Lookups, NULL-safe; with duplicate names the first member wins. */
const le_jv *le_jv_get(const le_jv *obj, const char *key);
const char *le_jv_get_str(const le_jv *obj, const char *key);       /* NULL if absent/not string */
/* 0 for an INT or integral NUM member; LE_ENOTFOUND if absent, LE_EINVAL if
 * anything else. */
int le_jv_get_int(const le_jv *obj, const char *key, int64_t *out);
/* A string member copied into out (n bytes, NUL-terminated; "" unless
 * LE_OK): 0, LE_ENOTFOUND if absent, LE_EPROTO if not a string or it does
 * not fit. */
int le_jv_copy_str(const le_jv *obj, const char *key, char *out, size_t n);

/* Rendering. XML: <?xml version='1.0' encoding='UTF-8'?><root>...</root>.
 * Output is well-formed whatever the strings hold: invalid UTF-8 becomes
 * U+FFFD, and XML drops the control characters XML 1.0 cannot carry; keys
 * that are not XML names get '_' for bad bytes. An array at the root or
 * directly inside an array renders its items as <item>. Values nested deeper
 * than LE_JV_RENDER_MAX_DEPTH render as null (JSON) or nothing (XML). */
#define LE_JV_RENDER_MAX_DEPTH 256
void le_jv_to_json(const le_jv *v, le_buf *out);
void le_jv_to_xml(const le_jv *v, const char *root, le_buf *out);

/* Strict JSON parser (RFC 8259; \u escapes incl. surrogate pairs to UTF-8).
 * Depth above max_depth, trailing garbage, bad numbers: NULL with a short
 * reason in err. Integers that fit int64 are INT, others NUM. Also refused:
 * invalid UTF-8, lone surrogates, \u0000 (strings stay C strings), numbers
 * that overflow a double or are longer than 512 characters. Never recurses;
 * max_depth counts nested objects/arrays (0: scalars only). err may be NULL. */
le_jv *le_jv_parse(const char *s, size_t n, int max_depth, char *err, size_t errlen);

#endif
