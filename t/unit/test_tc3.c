/* TC3-HMAC-SHA256 (src/admin/tc3.c).
 *
 * The vectors are the worked example of Tencent Cloud's "Signature v3"
 * page (CVM DescribeInstances, SecretId AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE,
 * SecretKey Gu5t9xGARNpq86cd98joQYCN3EXAMPLE, timestamp 1551113065): its
 * published payload hash, canonical request and signature
 * 72e494ea...525168, and the newer edition of the page that also signs
 * x-tc-action (its SecretKey printed as 32 '*', signature 10b1a37a...6c4f).
 * The derived-key chain is also recomputed here step by step with OpenSSL's
 * HMAC, independently of tc3.c. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "admin/tc3.h"
#include "core/err.h"
#include "tap.h"

#define DOC_AUTH                                                                                  \
    "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, " \
    "SignedHeaders=content-type;host, "                                                           \
    "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
#define DOC_KEY "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
#define DOC_PAYLOAD \
    "{\"Limit\": 1, \"Filters\": [{\"Values\": [\"\\u672a\\u547d\\u540d\"], \"Name\": \"instance-name\"}]}"
#define DOC_TS 1551113065

static char *buf_str(le_buf *b)
{
    le_buf_u8(b, 0);
    b->len--;
    return (char *)b->p;
}

static int parse(const char *s, le_tc3_auth *a)
{
    return le_tc3_parse_auth(s, strlen(s), a);
}

static void hmac_hex(const void *k, size_t kl, const char *m, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), k, (int)kl, (const unsigned char *)m, strlen(m), out, &n);
}

static le_tc3_req doc_req(const le_tc3_auth *a, const char *const *vals, const size_t *lens)
{
    le_tc3_req q = { 0 };
    q.method = "POST";
    q.path = "/";
    q.path_len = 1;
    q.query = "";
    q.auth = a;
    q.values = vals;
    q.value_lens = lens;
    q.payload = DOC_PAYLOAD;
    q.payload_len = strlen(DOC_PAYLOAD);
    q.timestamp = DOC_TS;
    return q;
}

static void test_doc_example(void)
{
    le_tc3_auth a;
    is_int(parse(DOC_AUTH, &a), LE_OK, "doc example: Authorization parses");
    is_str(a.secret_id, "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "... SecretId");
    is_str(a.date, "2019-02-25", "... date");
    is_str(a.service, "cvm", "... service");
    is_int(a.nsigned, 2, "... two signed headers");
    is_str(a.names[1], "host", "... the second is host");
    is_str(a.signature, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168", "... signature");

    char h[LE_TC3_HEX_LEN + 1], date[11];
    le_tc3_sha256_hex(DOC_PAYLOAD, strlen(DOC_PAYLOAD), h);
    is_str(h, "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064", "payload hash");
    is_int(le_tc3_date(DOC_TS, date), LE_OK, "date of the timestamp");
    is_str(date, "2019-02-25", "... is 2019-02-25");

    const char *vals[] = { "application/json; charset=utf-8", "cvm.tencentcloudapi.com" };
    size_t lens[] = { strlen(vals[0]), strlen(vals[1]) };
    le_tc3_req q = doc_req(&a, vals, lens);
    le_buf cr = { 0 }, sts = { 0 };
    le_tc3_canonical_request(&cr, &q, 1, 0);
    is_str(buf_str(&cr),
           "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
           "content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
           "canonical request");
    le_tc3_string_to_sign(&sts, DOC_TS, "2019-02-25", "cvm", cr.p, cr.len);
    is_str(buf_str(&sts),
           "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
           "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
           "string to sign");
    char sig[LE_TC3_HEX_LEN + 1];
    is_int(le_tc3_signature(DOC_KEY, "2019-02-25", "cvm", sts.p, sts.len, sig), LE_OK, "signature computed");
    is_str(sig, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
           "signature is the documented one");

    /* The derived keys one by one, straight from OpenSSL. */
    unsigned char kd[32], ks[32], kg[32], s2[32];
    hmac_hex("TC3" DOC_KEY, strlen("TC3" DOC_KEY), "2019-02-25", kd);
    hmac_hex(kd, 32, "cvm", ks);
    hmac_hex(ks, 32, "tc3_request", kg);
    unsigned int n = 32;
    HMAC(EVP_sha256(), kg, 32, sts.p, sts.len, s2, &n);
    char hex2[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex2 + 2 * i, 3, "%02x", s2[i]);
    is_str(sig, hex2, "kDate -> kService -> kSigning -> HMAC(StringToSign), step by step");

    is_int(le_tc3_verify(DOC_KEY, &q, NULL), LE_OK, "verify: the documented request passes");
    is_int(le_tc3_verify("Gu5t9xGARNpq86cd98joQYCN3EXAMPLF", &q, NULL), LE_EDENIED, "... another key fails");
    q.timestamp = DOC_TS + 86400;
    is_int(le_tc3_verify(DOC_KEY, &q, NULL), LE_EDENIED, "... a timestamp of another day fails");
    q.timestamp = DOC_TS + 1;
    is_int(le_tc3_verify(DOC_KEY, &q, NULL), LE_EDENIED, "... another timestamp of the same day fails");
    q.timestamp = DOC_TS;
    q.payload_len--;
    is_int(le_tc3_verify(DOC_KEY, &q, NULL), LE_EDENIED, "... a changed body fails");
    q.payload_len++;
    q.method = "GET";
    is_int(le_tc3_verify(DOC_KEY, &q, NULL), LE_EDENIED, "... another method fails");
    q.method = "POST";

    /* The SDKs sign host without the port, and values as sent. */
    const char *vals2[] = { "Application/JSON; charset=utf-8", "cvm.tencentcloudapi.com:8081" };
    size_t lens2[] = { strlen(vals2[0]), strlen(vals2[1]) };
    q.values = vals2;
    q.value_lens = lens2;
    is_int(le_tc3_verify(DOC_KEY, &q, NULL), LE_OK, "verify: Host with a port and upper-case values pass");
    le_buf_free(&cr);
    le_buf_free(&sts);
}

static void test_doc_example_action_signed(void)
{
    le_tc3_auth a;
    is_int(parse("TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2019-02-25/cvm/tc3_request, "
                 "SignedHeaders=content-type;host;x-tc-action, "
                 "Signature=10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f", &a),
           LE_OK, "newer doc example: parses");
    const char *vals[] = { "application/json; charset=utf-8", "cvm.tencentcloudapi.com", "DescribeInstances" };
    size_t lens[] = { strlen(vals[0]), strlen(vals[1]), strlen(vals[2]) };
    le_tc3_req q = doc_req(&a, vals, lens);
    le_buf cr = { 0 };
    le_tc3_canonical_request(&cr, &q, 1, 0);
    ok(strstr(buf_str(&cr), "\nx-tc-action:describeinstances\n\ncontent-type;host;x-tc-action\n") != NULL,
       "x-tc-action's value is lower-cased in the canonical headers");
    is_int(le_tc3_verify("********************************", &q, NULL), LE_OK,
           "verify: the documented signature with x-tc-action signed");
    vals[2] = "StopPublishStream";
    lens[2] = strlen(vals[2]);
    is_int(le_tc3_verify("********************************", &q, NULL), LE_EDENIED,
           "... another X-TC-Action fails");
    le_buf_free(&cr);
}

static void test_parse_errors(void)
{
    static const char *const bad[] = {
        "",
        "TC3-HMAC-SHA256",
        "HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=",
        "TC3-HMAC-SHA256Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
        /* no Signature */
        "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host",
        /* scope not tc3_request */
        "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/aws4_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
        /* bad date */
        "TC3-HMAC-SHA256 Credential=a/2019-13-25/cvm/tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
        /* empty SecretId */
        "TC3-HMAC-SHA256 Credential=/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
        /* host not signed */
        "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=content-type, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
        /* unsorted */
        "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=host;content-type, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
        /* duplicate */
        "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
        /* upper-case name */
        "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=Content-Type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
        /* short and upper-case signatures */
        "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a9652516",
        "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, "
        "Signature=72E494EA809AD7A8C8F7A4507B9BDDCBAA8E581F516E8DA2F66E2C5A96525168",
        /* repeated field */
        "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, Credential=a/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
        /* unknown field */
        "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168, Extra=1",
        /* a blank inside the SecretId */
        "TC3-HMAC-SHA256 Credential=a b/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        le_tc3_auth a;
        int rc = parse(bad[i], &a);
        ok(rc == LE_EPROTO || rc == LE_ETOOBIG, "malformed Authorization #%zu refused (%d)", i, rc);
        ok(a.secret_id[0] == '\0' && a.nsigned == 0, "... and the result is zeroed");
    }
    /* Order and blanks are free. */
    le_tc3_auth a;
    is_int(parse("TC3-HMAC-SHA256   Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168 ,"
                 "SignedHeaders=content-type;host,Credential=k/2024-02-29/car/tc3_request",
                 &a),
           LE_OK, "fields in another order, blanks around commas: accepted");
    is_str(a.service, "car", "... service car");
    /* Limits: 17 signed headers, a 129-byte SecretId. */
    char big[8192];
    snprintf(big, sizeof(big),
             "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=a;b;c;content-type;d;e;f;"
             "g;h;host;i;j;k;l;m;n;o, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
    is_int(parse(big, &a), LE_ETOOBIG, "17 signed headers: LE_ETOOBIG");
    char id[200];
    memset(id, 'A', 129);
    id[129] = '\0';
    snprintf(big, sizeof(big),
             "TC3-HMAC-SHA256 Credential=%s/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, "
             "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168", id);
    is_int(parse(big, &a), LE_ETOOBIG, "a 129-byte SecretId: LE_ETOOBIG");
    is_int(le_tc3_parse_auth(NULL, 0, &a), LE_EPROTO, "NULL: LE_EPROTO");
    /* A NUL inside a field (found by fuzz/fuzz_tc3.c): refused, not cut short. */
    static const char nul_id[] = "TC3-HMAC-SHA256 Credential=AKID\0x/2019-02-25/cvm/tc3_request, "
                                 "SignedHeaders=content-type;host, "
                                 "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168";
    is_int(le_tc3_parse_auth(nul_id, sizeof(nul_id) - 1, &a), LE_EPROTO, "a NUL in the SecretId: LE_EPROTO");
    static const char nul_name[] = "TC3-HMAC-SHA256 Credential=AKID/2019-02-25/cvm/tc3_request, "
                                   "SignedHeaders=content-type;host;x\0y, "
                                   "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168";
    is_int(le_tc3_parse_auth(nul_name, sizeof(nul_name) - 1, &a), LE_EPROTO, "a NUL in a header name: LE_EPROTO");
}

static void test_dates(void)
{
    char d[11];
    is_int(le_tc3_date(0, d), LE_OK, "epoch");
    is_str(d, "1970-01-01", "... 1970-01-01");
    le_tc3_date(951782400, d);
    is_str(d, "2000-02-29", "2000-02-29 (a leap day of a century year)");
    le_tc3_date(1709251199, d);
    is_str(d, "2024-02-29", "2024-02-29 23:59:59");
    le_tc3_date(253402300799LL, d);
    is_str(d, "9999-12-31", "the last second of 9999");
    is_int(le_tc3_date(253402300800LL, d), LE_EINVAL, "year 10000: LE_EINVAL");
    is_int(le_tc3_date(-1, d), LE_EINVAL, "before 1970: LE_EINVAL");
}

int main(void)
{
    test_doc_example();
    test_doc_example_action_signed();
    test_parse_errors();
    test_dates();
    return done_testing();
}
