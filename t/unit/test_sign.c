/* POP signature v1 (src/admin/sign.c).
 *
 * The first vector is the worked example of the API reference's signature
 * section: its documented inputs and its documented Signature. The reference
 * prints the StringToSign with '&' where '%26' belongs; the string below is
 * the correct one. The other vectors were computed independently with:
 *
 *   import hmac, hashlib, base64, urllib.parse
 *   enc = lambda s: urllib.parse.quote(s, safe='-_.~')
 *   def sign(method, params, secret):
 *       canon = '&'.join(enc(k) + '=' + enc(v) for k, v in sorted(params.items()))
 *       sts = method + '&' + enc('/') + '&' + enc(canon)
 *       mac = hmac.new((secret + '&').encode(), sts.encode(), hashlib.sha1)
 *       return sts, base64.b64encode(mac.digest()).decode()
 */
#include <string.h>

#include "admin/sign.h"
#include "core/err.h"
#include "tap.h"

#define P(n, v) { n, sizeof(n) - 1, v, sizeof(v) - 1 }

static char *buf_str(le_buf *b)
{
    le_buf_u8(b, 0);
    b->len--;
    return (char *)b->p;
}

static void test_seed_example(void)
{
    /* In the order of the reference's unsigned URL. */
    const le_sign_param p[] = {
        P("Format", "XML"), P("SignatureMethod", "HMAC-SHA1"),
        P("Action", "DescribeLiveSnapshotConfig"), P("AccessKeyId", "testid"),
        P("RegionId", "cn-shanghai"), P("ServiceCode", "live"), P("DomainName", "test.com"),
        P("AppName", "test"), P("SignatureNonce", "c2fe8fbb-2977-4414-8d39-348d02419c1c"),
        P("Version", "2016-11-01"), P("SignatureVersion", "1.0"),
        P("Timestamp", "2017-06-14T09:51:14Z"),
    };
    size_t n = sizeof(p) / sizeof(p[0]);
    le_buf b = { 0 };
    le_sign_canonical(&b, p, n);
    is_str(buf_str(&b),
           "AccessKeyId=testid&Action=DescribeLiveSnapshotConfig&AppName=test&DomainName=test.com"
           "&Format=XML&RegionId=cn-shanghai&ServiceCode=live&SignatureMethod=HMAC-SHA1"
           "&SignatureNonce=c2fe8fbb-2977-4414-8d39-348d02419c1c&SignatureVersion=1.0"
           "&Timestamp=2017-06-14T09%3A51%3A14Z&Version=2016-11-01",
           "seed example: canonical query sorted and encoded");
    b.len = 0;
    le_sign_string_to_sign(&b, "GET", p, n);
    is_str(buf_str(&b),
           "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeLiveSnapshotConfig%26AppName%3Dtest"
           "%26DomainName%3Dtest.com%26Format%3DXML%26RegionId%3Dcn-shanghai%26ServiceCode%3Dlive"
           "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3Dc2fe8fbb-2977-4414-8d39-348d02419c1c"
           "%26SignatureVersion%3D1.0%26Timestamp%3D2017-06-14T09%253A51%253A14Z"
           "%26Version%3D2016-11-01",
           "seed example: StringToSign ('%%26' between pairs, ':' encoded twice)");
    char sig[LE_SIGN_B64_LEN + 1];
    is_int(le_sign_compute("testsecret", "GET", p, n, sig), LE_OK, "compute returns LE_OK");
    is_str(sig, "3I5a3myPjp8FXWT4rvxX5pKb/aw=", "seed example: documented Signature");

    /* The string as the reference prints it signs to something else. */
    const char *printed =
        "GET&%2F&AccessKeyId%3Dtestid&Action%3DDescribeLiveSnapshotConfig&AppName%3Dtest"
        "&DomainName%3Dtest.com&Format%3DXML&RegionId%3Dcn-shanghai&ServiceCode%3Dlive"
        "&SignatureMethod%3DHMAC-SHA1&SignatureNonce%3Dc2fe8fbb-2977-4414-8d39-348d02419c1c"
        "&SignatureVersion%3D1.0&Timestamp%3D2017-06-14T09%253A51%253A14Z&Version%3D2016-11-01";
    le_sign_hmac("testsecret", printed, strlen(printed), sig);
    is_str(sig, "hE326NqHn+Pq48cFkIYZGgN7ZTw=", "seed's printed StringToSign is not what was signed");

    /* Verification, with the Signature itself among the parameters. */
    le_sign_param q[13];
    memcpy(q, p, sizeof(p));
    q[12] = (le_sign_param)P("Signature", "3I5a3myPjp8FXWT4rvxX5pKb/aw=");
    const char *good = "3I5a3myPjp8FXWT4rvxX5pKb/aw=";
    b.len = 0;
    is_int(le_sign_verify("testsecret", "GET", q, 13, good, strlen(good), &b), LE_OK,
           "verify: the seed's signature matches (Signature parameter ignored)");
    ok(b.len > 8 && memcmp(b.p, "GET&%2F&", 8) == 0, "verify hands back the StringToSign");
    is_int(le_sign_verify("wrong", "GET", q, 13, good, strlen(good), NULL), LE_EDENIED,
           "verify: wrong secret refused");
    is_int(le_sign_verify("testsecret", "POST", q, 13, good, strlen(good), NULL), LE_EDENIED,
           "verify: other method refused");
    is_int(le_sign_verify("testsecret", "GET", q, 13, good, strlen(good) - 1, NULL), LE_EDENIED,
           "verify: truncated signature refused");
    const char *flip = "3I5a3myPjp8FXWT4rvxX5pKb/aW=";
    is_int(le_sign_verify("testsecret", "GET", q, 13, flip, strlen(flip), NULL), LE_EDENIED,
           "verify: one character off refused");
    is_int(le_sign_verify("testsecret", "GET", q, 13, "", 0, NULL), LE_EDENIED,
           "verify: empty signature refused");
    q[5].value = "Live";
    q[5].vlen = 4;
    is_int(le_sign_verify("testsecret", "GET", q, 13, good, strlen(good), NULL), LE_EDENIED,
           "verify: a changed parameter value refused");
    le_buf_free(&b);
}

static void test_encoding(void)
{
    le_buf b = { 0 };
    const char in[] = "a b*c~d/e=f+g\xe4\xb8\xad";
    le_sign_pct_encode(&b, in, sizeof(in) - 1);
    is_str(buf_str(&b), "a%20b%2Ac~d%2Fe%3Df%2Bg%E4%B8%AD",
           "percent-encoding: %%20 for space, %%2A, ~ kept, upper-case hex, UTF-8 bytes");
    b.len = 0;
    le_sign_pct_encode(&b, "AZaz09-_.~", 10);
    is_str(buf_str(&b), "AZaz09-_.~", "unreserved characters kept");
    b.len = 0;
    le_sign_pct_encode(&b, "\0\x7f\xff", 3);
    is_str(buf_str(&b), "%00%7F%FF", "NUL, DEL and 0xFF encoded");
    le_buf_free(&b);
}

static void test_post_vector(void)
{
    const le_sign_param p[] = {
        P("Action", "DescribeLiveUserDomains"), P("DomainName", "a b.example.com"),
        P("Note", "x*y~z/+=\xe4\xb8\xad\xe6\x96\x87"), P("AccessKeyId", "LTAIexample"),
        P("Version", "2016-11-01"), P("Format", "JSON"), P("SignatureMethod", "HMAC-SHA1"),
        P("SignatureVersion", "1.0"), P("SignatureNonce", "n-1"),
        P("Timestamp", "2024-01-02T03:04:05Z"),
    };
    char sig[LE_SIGN_B64_LEN + 1];
    size_t n = sizeof(p) / sizeof(p[0]);
    is_int(le_sign_compute("s3cr3t", "POST", p, n, sig), LE_OK, "POST vector: compute returns LE_OK");
    is_str(sig, "MaQXf+sQbShWzUJJca4r4idJhuE=", "POST vector with space, reserved and UTF-8 values");
    is_int(le_sign_verify("s3cr3t", "POST", p, n, sig, strlen(sig), NULL), LE_OK, "POST vector verifies");
    is_int(le_sign_verify("s3cr3t", "GET", p, n, sig, strlen(sig), NULL), LE_EDENIED,
           "POST vector refused as GET");

    le_buf b = { 0 };
    le_sign_string_to_sign(&b, "GET", NULL, 0);
    is_str(buf_str(&b), "GET&%2F&", "no parameters: StringToSign");
    is_int(le_sign_compute("k", "GET", NULL, 0, sig), LE_OK, "no parameters: compute returns LE_OK");
    is_str(sig, "UXEcs0aUU0/t6iV5mBQhvxn8SHU=", "no parameters: Signature");
    le_buf_free(&b);
}

static void test_sort_order(void)
{
    /* Byte order: upper case before lower case, a prefix first. */
    const le_sign_param p[] = { P("b", "1"), P("B", "2"), P("Ba", "3"), P("a", "4"), P("A", "5") };
    le_buf b = { 0 };
    le_sign_canonical(&b, p, 5);
    is_str(buf_str(&b), "A=5&B=2&Ba=3&a=4&b=1", "sorted by name in byte order");
    le_buf_free(&b);
}

int main(void)
{
    test_seed_example();
    test_encoding();
    test_post_vector();
    test_sort_order();
    return done_testing();
}
