/* auth/aliauth: every form, both keys, expiry edges, malformed tokens and
 * the segment signer. Expected digests were computed with python3 hashlib
 * (not with this code), e.g.
 *   hashlib.md5(b"/live/cam1-1700000000-0-0-k1secret").hexdigest() */
#include "auth/aliauth.h"
#include "conf/conf.h"
#include "core/err.h"
#include "tap.h"

#include <stdio.h>
#include <string.h>

#define K1 "k1secret"
#define K2 "k2secret"
#define A_K1 "ee974a450f9778efa9d6e725fc89fb8d"   /* /live/cam1-1700000000-0-0-k1secret */
#define A_K2 "1a474c293d4bb869a60fbaddfba78948"   /* ... k2secret */
#define A_FLV "361d2092d6fb873d0153048110ac3170"  /* /live/cam1.flv-1700000000-abc123-42-k1secret */
#define B_K1 "784447e1c788dc4f505942cc2dd20d88"   /* k1secret 202311150613 /live/cam1.flv */
#define B_TS 1699999980                           /* 2023-11-15 06:13 UTC+8 */
#define C_K1 "190c0642aee3d437620020f1f6f1a7a7"   /* k1secret /live/cam1.m3u8 6554d4b0 */
#define C_TS 1700058288                           /* 0x6554d4b0 */
#define TX_K2 "9d170b6bba1f0db79c3e3ace43533677"  /* k2secret cam1 6554D4B0 */
#define SEG_A "dea97182d721e71b2ddad16d50715d5f"  /* /live/cam1-7.ts-1700000000-0-0-k2secret */

static le_aliauth_keys keys(int type, const char *k1, const char *k2)
{
    le_aliauth_keys k = { .type = type, .key1 = k1, .key2 = k2, .delta_s = 1800 };
    return k;
}

static int verify(const le_aliauth_keys *k, const char *uri, const char *query, const char *p1,
                  const char *p2, const char *stream, int64_t now, const char **why,
                  le_aliauth_grant *g)
{
    le_aliauth_req rq = { .uri = uri, .query = query, .pre1 = p1, .pre2 = p2, .stream = stream };
    *why = "";
    return le_aliauth_verify(k, &rq, now, g, why);
}

static void upper(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'f')
            *s = (char)(*s - 'a' + 'A');
}

static void test_md5(void)
{
    char h[LE_MD5_HEX];
    le_aliauth_md5hex(h, "", NULL, NULL, NULL, NULL);
    is_str(h, "d41d8cd98f00b204e9800998ecf8427e", "md5 of the empty string");
    le_aliauth_md5hex(h, "/live/cam1", "-1700000000-0-0-", K1, NULL, NULL);
    is_str(h, A_K1, "md5 of concatenated parts");
}

static void test_type_a(void)
{
    le_aliauth_keys k = keys(LE_AUTH_A, K1, K2);
    le_aliauth_grant g;
    const char *why;
    int64_t ts = 1700000000;

    is_int(verify(&k, "/live/cam1", "auth_key=1700000000-0-0-" A_K1, 0, 0, 0, ts, &why, &g), 0, "A: key1 passes");
    is_int(g.key, 1, "A: grant names key1");
    is_int(g.expires_s, ts + 1800, "A: expires at ts + delta");
    is_int(verify(&k, "/live/cam1", "x=1&auth_key=1700000000-0-0-" A_K2 "&y=2", 0, 0, 0, ts, &why, &g), 0,
           "A: key2 passes, among other args");
    is_int(g.key, 2, "A: grant names key2");
    is_int(verify(&k, "/live/cam1.flv", "auth_key=1700000000-abc123-42-" A_FLV, 0, 0, 0, ts, &why, NULL), 0,
           "A: rand and uid are hashed as sent");

    le_aliauth_keys wrong = keys(LE_AUTH_A, "other", NULL);
    is_int(verify(&wrong, "/live/cam1", "auth_key=1700000000-0-0-" A_K1, 0, 0, 0, ts, &why, NULL), LE_EDENIED,
           "A: wrong key refused");
    is_str(why, "signature mismatch", "A: reason is signature mismatch");
    le_aliauth_keys only2 = keys(LE_AUTH_A, "", K2);
    is_int(verify(&only2, "/live/cam1", "auth_key=1700000000-0-0-" A_K2, 0, 0, 0, ts, &why, NULL), 0,
           "A: empty key1 skipped, key2 passes");
    is_int(verify(&only2, "/live/cam1", "auth_key=1700000000-0-0-" A_K1, 0, 0, 0, ts, &why, NULL), LE_EDENIED,
           "A: a token of a dropped key is refused");
    is_int(verify(&k, "/live/cam2", "auth_key=1700000000-0-0-" A_K1, 0, 0, 0, ts, &why, NULL), LE_EDENIED,
           "A: tampered path refused");
    is_int(verify(&k, "/live/cam1", "auth_key=1700000001-0-0-" A_K1, 0, 0, 0, ts, &why, NULL), LE_EDENIED,
           "A: tampered timestamp refused");

    is_int(verify(&k, "/live/cam1", "auth_key=1700000000-0-0-" A_K1, 0, 0, 0, ts + 1800, &why, NULL), 0,
           "A: exactly at ts + delta passes");
    is_int(verify(&k, "/live/cam1", "auth_key=1700000000-0-0-" A_K1, 0, 0, 0, ts + 1801, &why, NULL), LE_EDENIED,
           "A: one second later refused");
    is_str(why, "expired", "A: reason is expired");
    le_aliauth_keys d0 = k;
    d0.delta_s = 0;
    is_int(verify(&d0, "/live/cam1", "auth_key=1700000000-0-0-" A_K1, 0, 0, 0, ts, &why, NULL), 0,
           "A: delta 0: valid in its own second");

    is_int(verify(&k, "/live/cam1", "", 0, 0, 0, ts, &why, NULL), LE_EDENIED, "A: no query refused");
    is_str(why, "missing token", "A: reason is missing token");
    is_int(verify(&k, "/live/cam1", NULL, 0, 0, 0, ts, &why, NULL), LE_EDENIED, "A: NULL query refused");
    is_int(verify(&k, "/live/cam1", "auth_key=", 0, 0, 0, ts, &why, NULL), LE_EDENIED, "A: empty token refused");
    is_str(why, "malformed token", "A: empty token is malformed");

    static const char *const bad[] = {
        "auth_key=1700000000-0-" A_K1,                 /* three fields */
        "auth_key=1700000000-0-0-0-" A_K1,             /* five fields */
        "auth_key=1700000000--0-" A_K1,                /* empty rand */
        "auth_key=-0-0-" A_K1,                         /* empty ts */
        "auth_key=17000x0000-0-0-" A_K1,               /* non-digit ts */
        "auth_key=+1700000000-0-0-" A_K1,              /* sign */
        "auth_key=1700000000000000-0-0-" A_K1,         /* ts too long */
        "auth_key=1700000000-0-0-" A_K1 "0",           /* 33 hex */
        "auth_key=1700000000-0-0-ee974a450f9778efa9d6e725fc89fb8",  /* 31 hex */
        "auth_key=1700000000-0-0-ge974a450f9778efa9d6e725fc89fb8d", /* non-hex */
        "auth_key=1700000000-0-0%2f-" A_K1,            /* '/' in uid */
        "auth_key=1700000000-0-0-" A_K1 "%00",         /* NUL */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        verify(&k, "/live/cam1", bad[i], 0, 0, 0, ts, &why, NULL);
        is_str(why, "malformed token", "A: malformed %zu refused as malformed", i);
    }

    char q[128];
    snprintf(q, sizeof(q), "auth_key=1700000000-0-0-%s", A_K1);
    upper(q + 25);
    is_int(verify(&k, "/live/cam1", q, 0, 0, 0, ts, &why, NULL), 0, "A: upper-case hex digest accepted");

    le_aliauth_keys none = keys(LE_AUTH_A, NULL, "");
    is_int(verify(&none, "/live/cam1", "auth_key=1700000000-0-0-" A_K1, 0, 0, 0, ts, &why, NULL), LE_EDENIED,
           "A: a domain without keys refuses");
    le_aliauth_keys noauth = keys(LE_AUTH_NONE, NULL, NULL);
    is_int(verify(&noauth, "/live/cam1", NULL, 0, 0, 0, ts, &why, &g), 0, "no_auth passes anything");
    is_int(g.form, LE_AUTHF_NONE, "no_auth grant signs nothing");
}

static void test_type_b(void)
{
    le_aliauth_keys k = keys(LE_AUTH_B, "x", K1);
    le_aliauth_grant g;
    const char *why;
    int64_t t;

    is_int(le_aliauth_b_parse("202311150613", &t), 0, "B: minute parses");
    is_int(t, B_TS, "B: minute is UTC+8");
    is_int(le_aliauth_b_parse("202402292359", &t), 0, "B: leap day parses");
    is_int(t, 1709222340, "B: leap day value");
    is_int(le_aliauth_b_parse("202302290000", &t), LE_EINVAL, "B: Feb 29 of a common year refused");
    is_int(le_aliauth_b_parse("202313010000", &t), LE_EINVAL, "B: month 13 refused");
    is_int(le_aliauth_b_parse("202312312400", &t), LE_EINVAL, "B: hour 24 refused");
    is_int(le_aliauth_b_parse("20231231235", &t), LE_EINVAL, "B: 11 digits refused");
    char m[13];
    le_aliauth_b_format(B_TS, m);
    is_str(m, "202311150613", "B: format is the inverse of parse");

    is_int(verify(&k, "/live/cam1.flv", NULL, "202311150613", B_K1, 0, B_TS, &why, &g), 0,
           "B: path form passes (key2)");
    is_int(g.form, LE_AUTHF_B_PATH, "B: grant is the path form");
    is_int(verify(&k, "/live/cam1.flv", "KEY1=" B_K1 "&KEY2=202311150613", 0, 0, 0, B_TS + 1800, &why, &g), 0,
           "B: query form passes, at the edge");
    is_int(verify(&k, "/live/cam1.flv", "KEY1=" B_K1 "&KEY2=202311150613", 0, 0, 0, B_TS + 1801, &why, NULL),
           LE_EDENIED, "B: one second past the edge refused");
    is_int(verify(&k, "/live/cam1.flv", NULL, "202311150614", B_K1, 0, B_TS, &why, NULL), LE_EDENIED,
           "B: tampered minute refused");
    is_int(verify(&k, "/live/cam2.flv", NULL, "202311150613", B_K1, 0, B_TS, &why, NULL), LE_EDENIED,
           "B: tampered path refused");
    verify(&k, "/live/cam1.flv", NULL, "2023111506", B_K1, 0, B_TS, &why, NULL);
    is_str(why, "malformed token", "B: short minute is malformed");
    verify(&k, "/live/cam1.flv", "KEY1=" B_K1, 0, 0, 0, B_TS, &why, NULL);
    is_str(why, "malformed token", "B: KEY1 without KEY2 is malformed");
    verify(&k, "/live/cam1.flv", "a=b", 0, 0, 0, B_TS, &why, NULL);
    is_str(why, "missing token", "B: no token is missing");
}

static void test_type_c(void)
{
    le_aliauth_keys k = keys(LE_AUTH_C, K1, NULL);
    le_aliauth_grant g;
    const char *why;

    is_int(verify(&k, "/live/cam1.m3u8", NULL, C_K1, "6554d4b0", 0, C_TS, &why, &g), 0, "C: path form passes");
    is_int(g.form, LE_AUTHF_C_PATH, "C: grant is the path form");
    is_int(verify(&k, "/live/cam1.m3u8", "KEY1=" C_K1 "&KEY2=6554d4b0", 0, 0, 0, C_TS + 1800, &why, &g), 0,
           "C: query form passes at the edge");
    is_int(g.form, LE_AUTHF_C_QUERY, "C: grant is the query form");
    is_int(verify(&k, "/live/cam1.m3u8", "KEY1=" C_K1 "&KEY2=6554d4b0", 0, 0, 0, C_TS + 1801, &why, NULL),
           LE_EDENIED, "C: one second late refused");
    /* hexts is hashed as sent: the same number in upper case is another signature. */
    is_int(verify(&k, "/live/cam1.m3u8", "KEY1=" C_K1 "&KEY2=6554D4B0", 0, 0, 0, C_TS, &why, NULL), LE_EDENIED,
           "C: hexts respelled refused");
    is_str(why, "signature mismatch", "C: ... as a mismatch");
    char up[40] = C_K1;
    upper(up);
    is_int(verify(&k, "/live/cam1.m3u8", NULL, up, "6554d4b0", 0, C_TS, &why, NULL), 0,
           "C: upper-case digest accepted");
    verify(&k, "/live/cam1.m3u8", NULL, C_K1, "zz", 0, C_TS, &why, NULL);
    is_str(why, "malformed token", "C: non-hex time malformed");
    verify(&k, "/live/cam1.m3u8", NULL, C_K1, "12345678901", 0, C_TS, &why, NULL);
    is_str(why, "malformed token", "C: 11 hex digits malformed");
}

static void test_tx(void)
{
    le_aliauth_keys k = keys(LE_AUTH_TX, K1, K2);
    le_aliauth_grant g;
    const char *why;
    const char *q = "txSecret=" TX_K2 "&txTime=6554D4B0";
    is_int(verify(&k, "/live/cam1", q, 0, 0, "cam1", C_TS, &why, &g), 0, "tx: key2 passes at txTime");
    is_int(g.expires_s, C_TS, "tx: txTime is the expiry (no delta)");
    is_int(verify(&k, "/live/cam1", q, 0, 0, "cam1", C_TS + 1, &why, NULL), LE_EDENIED, "tx: a second later refused");
    is_str(why, "expired", "tx: reason expired");
    is_int(verify(&k, "/live/cam1", q, 0, 0, "cam2", C_TS, &why, NULL), LE_EDENIED, "tx: other stream refused");
    verify(&k, "/live/cam1", "txSecret=" TX_K2, 0, 0, "cam1", C_TS, &why, NULL);
    is_str(why, "malformed token", "tx: txSecret alone malformed");
    verify(&k, "/live/cam1", "", 0, 0, "cam1", C_TS, &why, NULL);
    is_str(why, "missing token", "tx: nothing is missing");
}

static void test_sign(void)
{
    le_aliauth_keys k = keys(LE_AUTH_A, K1, K2);
    le_aliauth_grant g;
    const char *why;
    char pre[128], q[256];
    verify(&k, "/live/cam1.m3u8", "auth_key=1700000000-0-0-" A_K2, 0, 0, 0, 0, &why, &g);
    /* The playlist token does not verify for this URI: g is only filled on success. */
    le_aliauth_keys k2 = keys(LE_AUTH_A, K1, K2);
    is_int(verify(&k2, "/live/cam1", "auth_key=1700000000-0-0-" A_K2, 0, 0, 0, 1700000000, &why, &g), 0,
           "sign: grant from a key2 token");
    is_int(le_aliauth_sign(&k2, &g, "/live/cam1-7.ts", NULL, pre, sizeof(pre), q, sizeof(q)), 0, "sign: A");
    is_str(q, "auth_key=1700000000-0-0-" SEG_A, "sign: A segment token uses key2 and the same ts");
    is_str(pre, "", "sign: A has no prefix");
    is_int(verify(&k2, "/live/cam1-7.ts", q, 0, 0, 0, 1700000000, &why, NULL), 0, "sign: signed segment verifies");

    le_aliauth_keys kb = keys(LE_AUTH_B, "x", K1);
    verify(&kb, "/live/cam1.flv", NULL, "202311150613", B_K1, 0, B_TS, &why, &g);
    is_int(le_aliauth_sign(&kb, &g, "/live/cam1.flv", NULL, pre, sizeof(pre), q, sizeof(q)), 0, "sign: B path");
    is_str(pre, "/202311150613/" B_K1, "sign: B path prefix reproduces the token");
    le_aliauth_keys kc = keys(LE_AUTH_C, K1, NULL);
    verify(&kc, "/live/cam1.m3u8", "KEY1=" C_K1 "&KEY2=6554d4b0", 0, 0, 0, C_TS, &why, &g);
    le_aliauth_sign(&kc, &g, "/live/cam1.m3u8", NULL, pre, sizeof(pre), q, sizeof(q));
    is_str(q, "KEY1=" C_K1 "&KEY2=6554d4b0", "sign: C query reproduces the token");
    verify(&kc, "/live/cam1.m3u8", NULL, C_K1, "6554d4b0", 0, C_TS, &why, &g);
    le_aliauth_sign(&kc, &g, "/live/cam1.m3u8", NULL, pre, sizeof(pre), q, sizeof(q));
    is_str(pre, "/" C_K1 "/6554d4b0", "sign: C path reproduces the token");
    le_aliauth_keys kt = keys(LE_AUTH_TX, K1, K2);
    verify(&kt, "/live/cam1", "txSecret=" TX_K2 "&txTime=6554D4B0", 0, 0, "cam1", C_TS, &why, &g);
    le_aliauth_sign(&kt, &g, "/live/cam1-3.ts", "cam1", pre, sizeof(pre), q, sizeof(q));
    is_str(q, "txSecret=" TX_K2 "&txTime=6554D4B0", "sign: tx reproduces the token for any URI");

    le_aliauth_keys gone = keys(LE_AUTH_TX, K1, NULL);
    is_int(le_aliauth_sign(&gone, &g, "/x", "cam1", pre, sizeof(pre), q, sizeof(q)), LE_EINVAL,
           "sign: the key that verified is gone");
    is_int(le_aliauth_sign(&kt, &g, "/x", "cam1", pre, sizeof(pre), q, 10), LE_EINVAL, "sign: no room");
}

int main(void)
{
    test_md5();
    test_type_a();
    test_type_b();
    test_type_c();
    test_tx();
    test_sign();
    return done_testing();
}
