/* AMF0 codec. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "media/amf.h"
#include "tap.h"

/* Decodes a private, exactly-sized copy so ASan catches any read past the
 * end. */
static int decode_exact(const uint8_t *b, size_t n, le_amf_doc *doc)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (n)
        memcpy(copy, b, n);
    int rc = le_amf_decode(copy, n, doc);
    le_amf_doc_free(doc); /* before the copy: the doc borrows it */
    free(copy);
    return rc;
}

static void build_connect(le_buf *b)
{
    le_amf_put_string(b, "connect");
    le_amf_put_number(b, 1);
    le_amf_put_object_start(b);
    le_amf_put_prop_string(b, "app", "live");
    le_amf_put_prop_string(b, "type", "nonprivate");
    le_amf_put_prop_string(b, "flashVer", "FMLE/3.0 (compatible; FMSc/1.0)");
    le_amf_put_prop_string(b, "tcUrl", "rtmp://127.0.0.1:1935/live");
    le_amf_put_prop_bool(b, "fpad", 0);
    le_amf_put_prop_number(b, "capabilities", 15);
    le_amf_put_prop_number(b, "audioCodecs", 4071);
    le_amf_put_prop_number(b, "videoCodecs", 252);
    le_amf_put_prop_number(b, "objectEncoding", 0);
    le_amf_put_object_end(b);
}

static void test_connect(void)
{
    le_buf b = { 0 };
    build_connect(&b);
    le_amf_doc doc;
    is_int(le_amf_decode(b.p, b.len, &doc), 0, "connect decodes");
    is_int(doc.nvals, 3, "three values");
    if (doc.nvals == 3) {
        ok(le_amf_str_eq(doc.vals[0], "connect"), "command name");
        ok(doc.vals[1]->type == LE_AMF_NUMBER && doc.vals[1]->num == 1.0, "transaction id 1");
        const le_amf_val *o = doc.vals[2];
        ok(o->type == LE_AMF_OBJECT && o->nprops == 9, "command object with 9 properties");
        char app[16], tc[64];
        is_int(le_amf_str_copy(le_amf_prop_get(o, "app"), app, sizeof app), 0, "app copied");
        is_str(app, "live", "app");
        is_int(le_amf_str_copy(le_amf_prop_get(o, "tcUrl"), tc, sizeof tc), 0, "tcUrl copied");
        is_str(tc, "rtmp://127.0.0.1:1935/live", "tcUrl");
        ok(le_amf_str_eq(le_amf_prop_get(o, "flashVer"), "FMLE/3.0 (compatible; FMSc/1.0)"), "flashVer");
        const le_amf_val *fpad = le_amf_prop_get(o, "fpad");
        ok(fpad && fpad->type == LE_AMF_BOOLEAN && fpad->num == 0, "fpad false");
        const le_amf_val *ac = le_amf_prop_get(o, "audioCodecs");
        ok(ac && ac->type == LE_AMF_NUMBER && ac->num == 4071, "audioCodecs");
        ok(le_amf_prop_get(o, "missing") == NULL, "missing property is NULL");
        ok(le_amf_prop_get(o, "ap") == NULL, "prefix of a name does not match");
        is_int(le_amf_str_copy(le_amf_prop_get(o, "app"), app, 4), LE_ETOOBIG, "str_copy: buffer too small");
        is_int(le_amf_str_copy(le_amf_prop_get(o, "app"), app, 5), 0, "str_copy: exact fit");
        is_int(le_amf_str_copy(ac, app, sizeof app), LE_EINVAL, "str_copy: not a string");
    }
    le_amf_doc_free(&doc);
    le_amf_doc_free(&doc); /* idempotent */

    /* Every prefix must fail cleanly, except those ending between top-level
     * values (a shorter but valid document). */
    size_t bound1 = 1 + 2 + 7, bound2 = bound1 + 9;
    int bad = 0;
    for (size_t k = 0; k < b.len; k++) {
        int rc = decode_exact(b.p, k, &doc);
        int boundary = k == 0 || k == bound1 || k == bound2;
        if (boundary ? rc != 0 : rc != LE_EPROTO)
            bad++;
    }
    is_int(bad, 0, "connect truncated at each of %zu offsets", b.len);
    le_buf_free(&b);
}

static void test_metadata(void)
{
    le_buf b = { 0 };
    le_amf_put_string(&b, "@setDataFrame");
    le_amf_put_string(&b, "onMetaData");
    le_amf_put_ecma_start(&b, 0); /* wrong count on purpose: the end marker rules */
    le_amf_put_prop_number(&b, "duration", 0);
    le_amf_put_prop_number(&b, "width", 1280);
    le_amf_put_prop_number(&b, "height", 720);
    le_amf_put_prop_string(&b, "encoder", "Lavf59.27.100");
    le_amf_put_prop_bool(&b, "stereo", 1);
    le_amf_put_object_end(&b);
    le_amf_doc doc;
    is_int(le_amf_decode(b.p, b.len, &doc), 0, "onMetaData decodes");
    ok(doc.nvals == 3 && doc.vals[2]->type == LE_AMF_ECMA_ARRAY && doc.vals[2]->nprops == 5,
       "ECMA array, count ignored, 5 properties");
    if (doc.nvals == 3) {
        const le_amf_val *w = le_amf_prop_get(doc.vals[2], "width");
        ok(w && w->num == 1280, "width");
        const le_amf_val *st = le_amf_prop_get(doc.vals[2], "stereo");
        ok(st && st->type == LE_AMF_BOOLEAN && st->num == 1, "stereo true");
        ok(le_amf_str_eq(le_amf_prop_get(doc.vals[2], "encoder"), "Lavf59.27.100"), "encoder");
    }
    le_amf_doc_free(&doc);

    int bad = 0;
    for (size_t k = 0; k < b.len; k++) {
        int rc = decode_exact(b.p, k, &doc);
        int boundary = k == 0 || k == 16 || k == 29;
        if (boundary ? rc != 0 : rc != LE_EPROTO)
            bad++;
    }
    is_int(bad, 0, "onMetaData truncated at each of %zu offsets", b.len);

    /* Missing end marker at the end of input. */
    is_int(decode_exact(b.p, b.len - 3, &doc), LE_EPROTO, "ECMA array without end marker");
    le_buf_free(&b);
}

static void test_types(void)
{
    le_amf_doc doc;
    /* strict array [3.5, "x", null], date, long string, XML, undefined,
     * unsupported, reference, typed object. */
    static const uint8_t v[] = {
        0x0a, 0, 0, 0, 3,
        0x00, 0x40, 0x0c, 0, 0, 0, 0, 0, 0,
        0x02, 0, 1, 'x',
        0x05,
        0x0b, 0x42, 0x77, 0x4f, 0x3b, 0x0c, 0x80, 0x00, 0x00, 0x00, 0x00,
        0x0c, 0, 0, 0, 2, 'h', 'i',
        0x0f, 0, 0, 0, 3, '<', 'a', '>',
        0x06,
        0x0d,
        0x07, 0x00, 0x02,
        0x10, 0, 3, 'F', 'o', 'o', 0, 1, 'k', 0x01, 0x01, 0, 0, 0x09,
        0x03, 0, 0, 0x02, 0, 1, 'e', 0, 0, 0x09,
    };
    is_int(le_amf_decode(v, sizeof v, &doc), 0, "mixed types decode");
    is_int(doc.nvals, 9, "nine values");
    if (doc.nvals == 9) {
        const le_amf_val *a = doc.vals[0];
        ok(a->type == LE_AMF_STRICT_ARRAY && a->nitems == 3 && a->items[0]->num == 3.5 &&
           le_amf_str_eq(a->items[1], "x") && a->items[2]->type == LE_AMF_NULL, "strict array");
        ok(doc.vals[1]->type == LE_AMF_DATE && doc.vals[1]->num > 1e12, "date");
        ok(le_amf_str_eq(doc.vals[2], "hi"), "long string read as STRING");
        ok(le_amf_str_eq(doc.vals[3], "<a>"), "XML doc read as STRING");
        ok(doc.vals[4]->type == LE_AMF_UNDEFINED, "undefined");
        ok(doc.vals[5]->type == LE_AMF_UNSUPPORTED, "unsupported");
        ok(doc.vals[6]->type == LE_AMF_REFERENCE && doc.vals[6]->num == 2, "reference index");
        const le_amf_val *t = doc.vals[7];
        ok(t->type == LE_AMF_TYPED_OBJECT && t->str_len == 3 && memcmp(t->str, "Foo", 3) == 0 &&
           t->nprops == 1 && le_amf_prop_get(t, "k")->num == 1, "typed object");
        const le_amf_val *e = doc.vals[8];
        ok(e->type == LE_AMF_OBJECT && e->nprops == 1 && e->props[0].name_len == 0 &&
           le_amf_str_eq(e->props[0].val, "e"), "empty key with a value is a property");
    }
    le_amf_doc_free(&doc);

    int bad = 0;
    for (size_t k = 1; k < 5; k++)
        if (decode_exact(v, k, &doc) != LE_EPROTO)
            bad++;
    is_int(bad, 0, "truncated strict array header");

    static const uint8_t unknown[][2] = { { 0x04, 0 }, { 0x0e, 0 }, { 0x11, 0 }, { 0x12, 0 },
                                          { 0xff, 0 }, { 0x09, 0 } };
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        is_int(decode_exact(unknown[i], 2, &doc), LE_EPROTO, "type marker 0x%02x rejected",
               unknown[i][0]);

    static const uint8_t longlen[] = { 0x0c, 0xff, 0xff, 0xff, 0xff, 'a' };
    is_int(decode_exact(longlen, sizeof longlen, &doc), LE_EPROTO, "long string length beyond input");
    static const uint8_t strlen_[] = { 0x02, 0x00, 0x05, 'a', 'b' };
    is_int(decode_exact(strlen_, sizeof strlen_, &doc), LE_EPROTO, "string length beyond input");
    static const uint8_t keylen[] = { 0x03, 0x00, 0x09, 'a', 0x05 };
    is_int(decode_exact(keylen, sizeof keylen, &doc), LE_EPROTO, "key length beyond input");
    static const uint8_t arrcnt[] = { 0x0a, 0x7f, 0xff, 0xff, 0xff, 0x05, 0x05 };
    is_int(decode_exact(arrcnt, sizeof arrcnt, &doc), LE_EPROTO, "strict array count beyond input");
    static const uint8_t noend[] = { 0x03, 0x00, 0x01, 'a', 0x05 };
    is_int(decode_exact(noend, sizeof noend, &doc), LE_EPROTO, "object without end marker");
    static const uint8_t halfend[] = { 0x03, 0x00, 0x00 };
    is_int(decode_exact(halfend, sizeof halfend, &doc), LE_EPROTO, "object with half an end marker");

    is_int(le_amf_decode(v, 0, &doc), 0, "empty input decodes");
    is_int(doc.nvals, 0, "to nothing");
    le_amf_doc_free(&doc);

    ok(le_amf_prop_get(NULL, "a") == NULL && !le_amf_str_eq(NULL, "a") &&
       le_amf_str_copy(NULL, (char[4]){ 0 }, 4) == LE_EINVAL, "lookups are NULL-safe");

    static const uint8_t nul[] = { 0x02, 0, 3, 'a', 0, 'b' };
    char out[8];
    if (le_amf_decode(nul, sizeof nul, &doc) == 0 && doc.nvals == 1) {
        is_int(le_amf_str_copy(doc.vals[0], out, sizeof out), LE_EPROTO, "str_copy refuses an embedded NUL");
        ok(!le_amf_str_eq(doc.vals[0], "a"), "str_eq compares the whole length");
    } else {
        ok(0, "string with NUL decodes");
        ok(0, "string with NUL decodes");
    }
    le_amf_doc_free(&doc);
}

/* n nested objects {"a": {"a": ... {}}} */
static void nested(le_buf *b, int n, int arrays)
{
    for (int i = 0; i < n; i++) {
        if (arrays) {
            le_buf_u8(b, LE_AMF_STRICT_ARRAY);
            le_buf_be32(b, 1);
        } else {
            le_amf_put_object_start(b);
            le_amf_put_key(b, "a");
        }
    }
    le_amf_put_null(b);
    for (int i = 0; i < n && !arrays; i++)
        le_amf_put_object_end(b);
}

static void test_depth(void)
{
    le_amf_doc doc;
    le_buf b = { 0 };
    nested(&b, LE_AMF_MAX_DEPTH, 0);
    is_int(le_amf_decode(b.p, b.len, &doc), 0, "%d nested objects accepted", LE_AMF_MAX_DEPTH);
    const le_amf_val *v = doc.nvals ? doc.vals[0] : NULL;
    int d = 0;
    while (v && v->type == LE_AMF_OBJECT) {
        v = le_amf_prop_get(v, "a");
        d++;
    }
    ok(d == LE_AMF_MAX_DEPTH && v && v->type == LE_AMF_NULL, "walked %d levels to the null", d);
    le_amf_doc_free(&doc);
    le_buf_free(&b);

    nested(&b, LE_AMF_MAX_DEPTH + 1, 0);
    is_int(decode_exact(b.p, b.len, &doc), LE_EDEPTH, "%d nested objects: LE_EDEPTH", LE_AMF_MAX_DEPTH + 1);
    le_buf_free(&b);

    nested(&b, 10000, 0);
    is_int(decode_exact(b.p, b.len, &doc), LE_EDEPTH, "10,000 nested objects: LE_EDEPTH");
    le_buf_free(&b);
    nested(&b, 10000, 1);
    is_int(decode_exact(b.p, b.len, &doc), LE_EDEPTH, "10,000 nested strict arrays: LE_EDEPTH");
    le_buf_free(&b);
    /* Nesting markers with nothing after them: still a depth error or a
     * clean truncation error, never a crash. */
    uint8_t deep[10000];
    memset(deep, LE_AMF_ECMA_ARRAY, sizeof deep);
    int rc = decode_exact(deep, sizeof deep, &doc);
    ok(rc == LE_EPROTO || rc == LE_EDEPTH, "10,000 ECMA markers rejected (%d)", rc);
}

static void test_counts(void)
{
    le_amf_doc doc;
    le_buf b = { 0 };
    for (int i = 0; i < LE_AMF_MAX_VALUES; i++)
        le_amf_put_null(&b);
    is_int(decode_exact(b.p, b.len, &doc), 0, "%d values accepted", LE_AMF_MAX_VALUES);
    le_amf_put_null(&b);
    is_int(decode_exact(b.p, b.len, &doc), LE_ETOOBIG, "%d values: LE_ETOOBIG", LE_AMF_MAX_VALUES + 1);
    le_buf_free(&b);

    le_buf_u8(&b, LE_AMF_STRICT_ARRAY);
    le_buf_be32(&b, 5000);
    for (int i = 0; i < 5000; i++)
        le_amf_put_null(&b);
    is_int(decode_exact(b.p, b.len, &doc), LE_ETOOBIG, "strict array of 5000: LE_ETOOBIG");
    le_buf_free(&b);

    le_amf_put_object_start(&b);
    for (int i = 0; i < 5000; i++)
        le_amf_put_prop_number(&b, "k", i);
    le_amf_put_object_end(&b);
    is_int(decode_exact(b.p, b.len, &doc), LE_ETOOBIG, "object of 5000 properties: LE_ETOOBIG");
    le_buf_free(&b);
}

static void test_encoder(void)
{
    le_buf b = { 0 };
    le_amf_put_number(&b, 1.0);
    static const uint8_t one[] = { 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0 };
    ok(b.len == 9 && memcmp(b.p, one, 9) == 0, "number 1.0 is big-endian IEEE 754");
    b.len = 0;
    le_amf_put_bool(&b, 7);
    le_amf_put_null(&b);
    le_amf_put_object_end(&b);
    le_amf_put_ecma_start(&b, 2);
    static const uint8_t misc[] = { 0x01, 0x01, 0x05, 0x00, 0x00, 0x09, 0x08, 0, 0, 0, 2 };
    ok(b.len == sizeof misc && memcmp(b.p, misc, sizeof misc) == 0, "bool, null, end, ecma start");
    b.len = 0;

    char *big = malloc(70001);
    memset(big, 'z', 70000);
    big[70000] = '\0';
    le_amf_put_string(&b, big);
    ok(b.len == 5 + 70000 && b.p[0] == LE_AMF_LONG_STRING && le_rd_be32(b.p + 1) == 70000,
       "string over 65535 bytes encodes as LONG_STRING");
    le_amf_doc doc;
    ok(le_amf_decode(b.p, b.len, &doc) == 0 && doc.nvals == 1 && doc.vals[0]->type == LE_AMF_STRING &&
       doc.vals[0]->str_len == 70000, "and decodes back as STRING");
    le_amf_doc_free(&doc);
    b.len = 0;
    big[65535] = '\0';
    le_amf_put_string(&b, big);
    ok(b.len == 3 + 65535 && b.p[0] == LE_AMF_STRING, "65535 bytes still a STRING");
    free(big);
    le_buf_free(&b);

    le_amf_put_string(&b, "");
    ok(le_amf_decode(b.p, b.len, &doc) == 0 && doc.nvals == 1 && le_amf_str_eq(doc.vals[0], ""),
       "empty string round trip");
    le_amf_doc_free(&doc);
    le_buf_free(&b);
}

/* Many small documents keep one arena block; a big one chains more. */
static void test_arena(void)
{
    le_buf b = { 0 };
    le_amf_put_object_start(&b);
    for (int i = 0; i < 1000; i++) {
        char k[16];
        snprintf(k, sizeof k, "key%d", i);
        le_amf_put_prop_number(&b, k, i);
    }
    le_amf_put_object_end(&b);
    le_amf_doc doc;
    is_int(le_amf_decode(b.p, b.len, &doc), 0, "object of 1000 properties decodes");
    const le_amf_val *v = doc.nvals ? le_amf_prop_get(doc.vals[0], "key777") : NULL;
    ok(v && v->num == 777, "property 777 found");
    le_amf_doc_free(&doc);
    le_buf_free(&b);
}

int main(void)
{
    test_connect();
    test_metadata();
    test_types();
    test_depth();
    test_counts();
    test_encoder();
    test_arena();
    return done_testing();
}
