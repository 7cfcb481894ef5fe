/* S3 uploads: libcurl easy handles on a few upload threads behind one
 * bounded list; completions back to the loop through an eventfd, in the
 * order the uploads were queued (docs/RECORD.md, "Object storage").
 *
 * Signing: libcurl's CURLOPT_AWS_SIGV4 ("aws:amz:REGION:s3") signs each
 * request. libcurl 7.88 adds no x-amz-content-sha256 header and, without
 * one, signs the hash of an empty payload, which S3 refuses for a request
 * with a body; when the header is given it signs it and uses its value as
 * the payload hash. So every request carries x-amz-content-sha256 with the
 * hex SHA-256 of its body (computed here, on the upload thread). libcurl
 * 7.88 also takes the path and the query as written into the canonical
 * request, so both are written here in canonical form already: key
 * segments percent-encoded (RFC 3986 unreserved kept), query parameters
 * sorted, each with its '=' ("uploads=").
 *
 * TLS (an https endpoint, docs/TLS.md "Outbound TLS"): libcurl (its
 * OpenSSL build) verifies against the system store, plus the certificates
 * of tls_ca_file added to each connection's store from
 * CURLOPT_SSL_CTX_FUNCTION; an endpoint whose host or host:port is in
 * tls_verify_skip is not verified.
 *
 * Lock order: one mutex (S.mu) for the lists, the stats and the flags.
 * Nothing is called back under it; no request runs under it. */
#include "record/s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#define MOD "s3"
#define NTHREADS 3
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define CONNECT_TIMEOUT_MS 10000
#define LOW_SPEED_TIME_S 30         /* a transfer under 1 byte/s that long fails */
#define ABORT_TIMEOUT_MS 3000       /* AbortMultipartUpload when giving up or stopping */
#define MAX_REPLY 16384             /* reply bytes kept (error codes, UploadId) */
#define MAX_UPLOAD_ID 1024
#define MAX_ETAG 256
#define MAX_PARTS 10000
#define PART_MIN (5LL << 20)        /* S3: every part but the last */
#define PART_MAX (5LL << 30)

enum { J_READY = 1, J_RUNNING, J_WAIT, J_DONE };
enum { A_OK = 0, A_RETRY, A_GIVEUP };

typedef struct job {
    char *bucket, *key, *path, *ctype;
    le_s3_done_fn done;
    void *arg;
    int state, rc;
    uint64_t due_ms;            /* J_WAIT: when to try again (monotonic) */
    int64_t backoff_ms;
    unsigned fails;             /* failed attempts so far */
    /* multipart, kept across attempts */
    char *upload_id;
    char **etags;
    int nparts, parts_done;
    int64_t part_size;
    struct job *next;           /* the list of everything queued, in order */
    struct job *qnext;          /* the ready queue or the wait list */
} job;

static struct {
    int enabled;
    char *endpoint, *region, *access, *secret, *sigv4;
    int keep_local;
    int64_t multipart_min, part_size;
    STACK_OF(X509) *ca;         /* tls_ca_file's certificates; NULL: none */
    int tls_skip;               /* the endpoint is in tls_verify_skip */
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* work ready, a retry due, or stopping */
    pthread_t th[NTHREADS];
    int nth;
    job *ahead, *atail;         /* all, in queueing order */
    size_t nall;
    job *rhead, *rtail;         /* ready */
    job *whead;                 /* waiting to retry, by due_ms */
    int running, stopping;
    int abort_xfers;            /* read by the transfer's progress callback */
    le_s3_stats st;
    int efd;
    struct event *ev;
} S = { .mu = PTHREAD_MUTEX_INITIALIZER, .efd = -1 };

/* ---- names ---- */

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Appends s percent-encoded (keep_slash: '/' kept) to out at *pos. */
static void enc_append(char *out, size_t n, size_t *pos, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unreserved(*p) || (keep_slash && *p == '/')) {
            if (*pos + 1 < n)
                out[(*pos)++] = (char)*p;
        } else if (*pos + 3 < n) {
            out[(*pos)++] = '%';
            out[(*pos)++] = hex[*p >> 4];
            out[(*pos)++] = hex[*p & 15];
        } else {
            *pos = n;           /* does not fit: the caller sees it */
            return;
        }
    }
}

static int object_url(const char *bucket, const char *key, const char *query, char *out, size_t n)
{
    size_t pos = 0;
    int w = snprintf(out, n, "%s/", S.endpoint ? S.endpoint : "");
    if (w < 0 || (size_t)w >= n)
        return LE_ETOOBIG;
    pos = (size_t)w;
    enc_append(out, n, &pos, bucket, 0);
    if (pos + 1 < n)
        out[pos++] = '/';
    enc_append(out, n, &pos, key, 1);
    if (pos >= n)
        return LE_ETOOBIG;
    out[pos] = '\0';
    if (query && *query) {
        w = snprintf(out + pos, n - pos, "?%s", query);
        if (w < 0 || (size_t)w >= n - pos)
            return LE_ETOOBIG;
    }
    return LE_OK;
}

char *le_s3_url(const char *bucket, const char *key, char *out, size_t n)
{
    if (n == 0)
        return out;
    if (object_url(bucket, key, NULL, out, n) != LE_OK)
        out[0] = '\0';
    return out;
}

/* ---- requests (upload threads only) ---- */

typedef struct req {
    const char *method;         /* PUT, POST, DELETE */
    const char *url;
    int fd;                     /* body from a file range, or -1 */
    int64_t off, len, sent;
    const char *mem;            /* or from memory (POST), may be NULL */
    size_t memlen;
    const char *ctype;
    long timeout_ms;            /* 0: none (low-speed limit only) */
    int abortable;              /* stop aborts it */
    long status;
    char reply[MAX_REPLY + 1];
    size_t replylen;
    char etag[MAX_ETAG];
    char errbuf[CURL_ERROR_SIZE];
} req;

static void hex_of(const unsigned char *d, unsigned n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Hex SHA-256 of the request body. LE_OK or LE_EIO (read error). */
static int body_sha256(const req *r, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        return LE_EIO;
    }
    int rc = LE_OK;
    if (r->fd >= 0) {
        static __thread unsigned char buf[1 << 16];
        int64_t left = r->len, at = r->off;
        while (left > 0) {
            size_t want = left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf);
            ssize_t got = pread(r->fd, buf, want, at);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                rc = LE_EIO;    /* short file: it changed under us */
                break;
            }
            EVP_DigestUpdate(c, buf, (size_t)got);
            at += got;
            left -= got;
        }
    } else if (r->mem && r->memlen) {
        EVP_DigestUpdate(c, r->mem, r->memlen);
    }
    if (rc == LE_OK && EVP_DigestFinal_ex(c, md, &mdlen) == 1)
        hex_of(md, mdlen, out);
    else
        rc = LE_EIO;
    EVP_MD_CTX_free(c);
    return rc;
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    req *r = ud;
    size_t want = size * nitems;
    if ((int64_t)want > r->len - r->sent)
        want = (size_t)(r->len - r->sent);
    if (want == 0)
        return 0;
    ssize_t got;
    do
        got = pread(r->fd, buf, want, r->off + r->sent);
    while (got < 0 && errno == EINTR);
    if (got <= 0)
        return CURL_READFUNC_ABORT;
    r->sent += got;
    return (size_t)got;
}

static int seek_cb(void *ud, curl_off_t offset, int origin)
{
    req *r = ud;
    if (origin != SEEK_SET || offset < 0 || offset > r->len)
        return CURL_SEEKFUNC_CANTSEEK;
    r->sent = offset;
    return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    req *r = ud;
    size_t n = size * nmemb, room = MAX_REPLY - r->replylen;
    if (room > 0) {
        size_t k = n < room ? n : room;
        memcpy(r->reply + r->replylen, p, k);
        r->replylen += k;
        r->reply[r->replylen] = '\0';
    }
    return n;   /* the rest is dropped, the transfer goes on */
}

static size_t header_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    req *r = ud;
    size_t n = size * nmemb;
    if (n > 5 && strncasecmp(p, "ETag:", 5) == 0) {
        size_t i = 5, e = n;
        while (i < e && (p[i] == ' ' || p[i] == '\t'))
            i++;
        while (e > i && (p[e - 1] == '\r' || p[e - 1] == '\n' || p[e - 1] == ' '))
            e--;
        if (e - i < sizeof(r->etag)) {
            memcpy(r->etag, p + i, e - i);
            r->etag[e - i] = '\0';
        }
    }
    return n;
}

static int progress_cb(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    req *r = ud;
    return r->abortable && __atomic_load_n(&S.abort_xfers, __ATOMIC_RELAXED) ? 1 : 0;
}

/* ---- TLS ---- */

/* Each new TLS context of libcurl: tls_ca_file's certificates join the
 * store it loaded (the system one). Only reads S.ca. */
static CURLcode ssl_ctx_cb(CURL *c, void *ctx, void *arg)
{
    (void)c;
    (void)arg;
    X509_STORE *st = SSL_CTX_get_cert_store((SSL_CTX *)ctx);
    for (int i = 0; st && i < sk_X509_num(S.ca); i++)
        X509_STORE_add_cert(st, sk_X509_value(S.ca, i));   /* one already there is no error */
    ERR_clear_error();
    return CURLE_OK;
}

/* The certificates of a PEM file, or NULL (err says why). */
static STACK_OF(X509) *load_ca(const char *file, char *err, size_t errlen)
{
    BIO *b = BIO_new_file(file, "r");
    STACK_OF(X509_INFO) *infos = b ? PEM_X509_INFO_read_bio(b, NULL, NULL, NULL) : NULL;
    STACK_OF(X509) *out = infos ? sk_X509_new_null() : NULL;
    for (int i = 0; out && i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *xi = sk_X509_INFO_value(infos, i);
        if (xi->x509 && sk_X509_push(out, xi->x509) > 0)
            xi->x509 = NULL;   /* the stack owns it now */
    }
    if (out && sk_X509_num(out) == 0) {
        sk_X509_free(out);
        out = NULL;
    }
    if (!out) {
        unsigned long e = ERR_peek_last_error();
        snprintf(err, errlen, "%s", e ? ERR_reason_error_string(e) : "no certificate in it");
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    BIO_free(b);
    ERR_clear_error();
    return out;
}

/* "host" or "host:port" ("[v6]:port", a bare v6 address) of a
 * tls_verify_skip entry matches host and port. */
static int skip_match(const char *e, const char *host, int port)
{
    const char *h = e, *colon = NULL;
    size_t hl;
    if (e[0] == '[') {
        const char *rb = strchr(e, ']');
        if (!rb)
            return 0;
        h = e + 1;
        hl = (size_t)(rb - h);
        colon = rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = strchr(e, ':');
        if (colon && strchr(colon + 1, ':'))
            colon = NULL;      /* an IPv6 address without a port */
        hl = colon ? (size_t)(colon - e) : strlen(e);
    }
    if (hl != strlen(host) || strncasecmp(h, host, hl) != 0)
        return 0;
    return !colon || atoi(colon + 1) == port;
}

/* Whether an https endpoint's host[:port] is in skip. */
static int endpoint_skipped(const char *ep, char *const *skip)
{
    if (!skip || strncasecmp(ep, "https://", 8) != 0)
        return 0;
    const char *a = ep + 8;
    size_t al = strcspn(a, "/?#");
    const char *at = memchr(a, '@', al);
    if (at) {
        al -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    char host[256];
    int port = 443;
    const char *colon;
    if (a[0] == '[') {
        const char *rb = memchr(a, ']', al);
        if (!rb || (size_t)(rb - a - 1) >= sizeof(host))
            return 0;
        snprintf(host, sizeof(host), "%.*s", (int)(rb - a - 1), a + 1);
        colon = rb + 1 < a + al && rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(a, ':', al);
        size_t hl = colon ? (size_t)(colon - a) : al;
        if (hl >= sizeof(host))
            return 0;
        snprintf(host, sizeof(host), "%.*s", (int)hl, a);
    }
    if (colon)
        port = atoi(colon + 1);
    for (char *const *e = skip; *e; e++)
        if (skip_match(*e, host, port))
            return 1;
    return 0;
}

/* Runs r on the thread's handle. LE_OK when an answer came (r->status),
 * LE_EIO when none did (r->errbuf says why). */
static int perform(CURL *c, req *r)
{
    char sha[65], h1[128], h2[300];
    if (body_sha256(r, sha) != LE_OK) {
        snprintf(r->errbuf, sizeof(r->errbuf), "cannot read the body: %s", strerror(errno));
        return LE_EIO;
    }
    curl_easy_reset(c);
    struct curl_slist *hs = NULL;
    snprintf(h1, sizeof(h1), "x-amz-content-sha256: %s", sha);
    hs = curl_slist_append(hs, h1);
    if (r->ctype) {
        snprintf(h2, sizeof(h2), "Content-Type: %s", r->ctype);
        hs = curl_slist_append(hs, h2);
    }
    r->status = 0;
    r->replylen = 0;
    r->reply[0] = '\0';
    r->etag[0] = '\0';
    r->errbuf[0] = '\0';
    r->sent = 0;
    curl_easy_setopt(c, CURLOPT_URL, r->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)LOW_SPEED_TIME_S);
    if (r->timeout_ms > 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, S.sigv4);
    curl_easy_setopt(c, CURLOPT_USERNAME, S.access);
    curl_easy_setopt(c, CURLOPT_PASSWORD, S.secret);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, r);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
    if (S.tls_skip) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (S.ca) {
        curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
    }
    if (strcmp(r->method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, r);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, r);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->len);
    } else if (strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->mem ? r->mem : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->memlen);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    }
    CURLcode cc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hs);
    if (cc != CURLE_OK) {
        if (!r->errbuf[0])
            snprintf(r->errbuf, sizeof(r->errbuf), "%s", curl_easy_strerror(cc));
        return LE_EIO;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    return LE_OK;
}

/* The text of <tag> in an XML reply, bounded; "" if absent or too long. */
static void xml_value(const char *xml, const char *tag, char *out, size_t n)
{
    char open[64], close[64];
    out[0] = '\0';
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *a = strstr(xml, open);
    if (!a)
        return;
    a += strlen(open);
    const char *b = strstr(a, close);
    if (!b || (size_t)(b - a) >= n)
        return;
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = '\0';
}

/* Failed attempts are logged at warn for the first three of an upload and
 * every tenth after that, at debug otherwise: an outage with many files
 * queued must not flood the log. */
static int fail_level(const job *j)
{
    return j->fails < 3 || (j->fails + 1) % 10 == 0 ? LE_LOG_WARN : LE_LOG_DEBUG;
}

/* What an answer means for the upload: A_OK (200), A_GIVEUP (403 other
 * than a clock skew, 404 other than a lost multipart upload), else
 * A_RETRY. *lost_upload is set for NoSuchUpload. */
static int classify(const job *j, const char *what, const req *r, int rc, int *lost_upload)
{
    char code[64];
    if (rc != LE_OK) {
        le_log(fail_level(j), MOD, "%s s3://%s/%s: %s", what, j->bucket, j->key, r->errbuf);
        return A_RETRY;
    }
    xml_value(r->reply, "Code", code, sizeof(code));
    if (r->status == 200 && !strstr(r->reply, "<Error>"))
        return A_OK;
    le_log(fail_level(j), MOD, "%s s3://%s/%s: HTTP %ld %s", what, j->bucket, j->key, r->status,
           code[0] ? code : "");
    if (r->status == 404 && strcmp(code, "NoSuchUpload") == 0) {
        if (lost_upload)
            *lost_upload = 1;
        return A_RETRY;
    }
    if (r->status == 403 && strcmp(code, "RequestTimeTooSkewed") != 0)
        return A_GIVEUP;
    if (r->status == 404)
        return A_GIVEUP;
    return A_RETRY;
}

static void multipart_reset(job *j)
{
    free(j->upload_id);
    j->upload_id = NULL;
    for (int i = 0; i < j->nparts; i++)
        free(j->etags[i]);
    free(j->etags);
    j->etags = NULL;
    j->nparts = j->parts_done = 0;
}

/* AbortMultipartUpload, best effort. */
static void multipart_abort(CURL *c, job *j)
{
    char q[MAX_UPLOAD_ID * 3 + 16], url[4096];
    size_t pos = 0;
    if (!j->upload_id)
        return;
    memcpy(q, "uploadId=", 9);
    pos = 9;
    enc_append(q, sizeof(q), &pos, j->upload_id, 0);
    q[pos < sizeof(q) ? pos : sizeof(q) - 1] = '\0';
    if (object_url(j->bucket, j->key, q, url, sizeof(url)) == LE_OK) {
        req *r = le_xcalloc(1, sizeof(*r));
        r->method = "DELETE";
        r->url = url;
        r->fd = -1;
        r->timeout_ms = ABORT_TIMEOUT_MS;
        int rc = perform(c, r);
        if (rc != LE_OK || (r->status != 204 && r->status != 200 && r->status != 404))
            le_warn(MOD, "abort multipart upload of s3://%s/%s: %s %ld", j->bucket, j->key, r->errbuf,
                    r->status);
        free(r);
    }
    multipart_reset(j);
}

static int attempt_single(CURL *c, job *j, int fd, int64_t size, req *r)
{
    char url[4096];
    if (object_url(j->bucket, j->key, NULL, url, sizeof(url)) != LE_OK)
        return A_GIVEUP;
    r->method = "PUT";
    r->url = url;
    r->fd = fd;
    r->off = 0;
    r->len = size;
    r->ctype = j->ctype;
    r->abortable = 1;
    return classify(j, "PutObject", r, perform(c, r), NULL);
}

static int attempt_multipart(CURL *c, job *j, int fd, int64_t size, req *r)
{
    char url[4096], q[MAX_UPLOAD_ID * 3 + 64], enc_id[MAX_UPLOAD_ID * 3 + 1];
    int lost = 0, a;
    if (!j->upload_id) {
        if (object_url(j->bucket, j->key, "uploads=", url, sizeof(url)) != LE_OK)
            return A_GIVEUP;
        memset(r, 0, sizeof(*r));
        r->method = "POST";
        r->url = url;
        r->fd = -1;
        r->ctype = j->ctype;
        r->abortable = 1;
        if ((a = classify(j, "CreateMultipartUpload", r, perform(c, r), NULL)) != A_OK)
            return a;
        char id[MAX_UPLOAD_ID];
        xml_value(r->reply, "UploadId", id, sizeof(id));
        if (!id[0]) {
            le_warn(MOD, "CreateMultipartUpload s3://%s/%s: no UploadId in the reply", j->bucket, j->key);
            return A_RETRY;
        }
        int64_t ps = S.part_size;
        if ((size + ps - 1) / ps > MAX_PARTS)
            ps = (size + MAX_PARTS - 1) / MAX_PARTS;
        j->part_size = ps;
        j->nparts = (int)((size + ps - 1) / ps);
        j->etags = le_xcalloc((size_t)j->nparts, sizeof(char *));
        j->parts_done = 0;
        j->upload_id = le_xstrdup(id);
    }
    size_t pos = 0;
    enc_append(enc_id, sizeof(enc_id), &pos, j->upload_id, 0);
    enc_id[pos < sizeof(enc_id) ? pos : sizeof(enc_id) - 1] = '\0';
    while (j->parts_done < j->nparts) {
        int p = j->parts_done;
        snprintf(q, sizeof(q), "partNumber=%d&uploadId=%s", p + 1, enc_id);
        if (object_url(j->bucket, j->key, q, url, sizeof(url)) != LE_OK)
            return A_GIVEUP;
        memset(r, 0, sizeof(*r));
        r->method = "PUT";
        r->url = url;
        r->fd = fd;
        r->off = (int64_t)p * j->part_size;
        r->len = size - r->off < j->part_size ? size - r->off : j->part_size;
        r->abortable = 1;
        a = classify(j, "UploadPart", r, perform(c, r), &lost);
        if (lost) {
            multipart_reset(j);     /* the server forgot it: start over */
            return A_RETRY;
        }
        if (a != A_OK)
            return a;
        if (!r->etag[0]) {
            le_warn(MOD, "UploadPart %d of s3://%s/%s: no ETag in the reply", p + 1, j->bucket, j->key);
            return A_RETRY;
        }
        j->etags[p] = le_xstrdup(r->etag);
        j->parts_done++;
    }
    le_buf x = { 0 };
    le_buf_printf(&x, "<CompleteMultipartUpload>");
    for (int i = 0; i < j->nparts; i++) {
        le_buf_printf(&x, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
        for (const char *e = j->etags[i]; *e; e++) {
            if (*e == '&')
                le_buf_printf(&x, "&amp;");
            else if (*e == '<')
                le_buf_printf(&x, "&lt;");
            else if (*e == '>')
                le_buf_printf(&x, "&gt;");
            else
                le_buf_append(&x, e, 1);
        }
        le_buf_printf(&x, "</ETag></Part>");
    }
    le_buf_printf(&x, "</CompleteMultipartUpload>");
    snprintf(q, sizeof(q), "uploadId=%s", enc_id);
    if (object_url(j->bucket, j->key, q, url, sizeof(url)) != LE_OK) {
        le_buf_free(&x);
        return A_GIVEUP;
    }
    memset(r, 0, sizeof(*r));
    r->method = "POST";
    r->url = url;
    r->fd = -1;
    r->mem = (const char *)x.p;
    r->memlen = x.len;
    r->ctype = "application/xml";
    r->abortable = 1;
    a = classify(j, "CompleteMultipartUpload", r, perform(c, r), &lost);
    le_buf_free(&x);
    if (lost) {
        multipart_reset(j);
        return A_RETRY;
    }
    if (a == A_OK)
        multipart_reset(j);
    return a;
}

/* One try at j. *size gets the file's size. */
static int attempt(CURL *c, job *j, int64_t *size)
{
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        le_warn(MOD, "s3://%s/%s: cannot open %s: %s", j->bucket, j->key, j->path, strerror(errno));
        return errno == ENOENT ? A_GIVEUP : A_RETRY;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        le_warn(MOD, "s3://%s/%s: %s is not a regular file", j->bucket, j->key, j->path);
        close(fd);
        return A_GIVEUP;
    }
    *size = sb.st_size;
    req *r = le_xcalloc(1, sizeof(*r));
    int a = sb.st_size >= S.multipart_min ? attempt_multipart(c, j, fd, sb.st_size, r)
                                          : attempt_single(c, j, fd, sb.st_size, r);
    free(r);
    close(fd);
    if (a == A_GIVEUP)
        multipart_abort(c, j);
    if (a == A_OK && !S.keep_local && unlink(j->path) != 0)
        le_warn(MOD, "uploaded s3://%s/%s but cannot remove %s: %s", j->bucket, j->key, j->path,
                strerror(errno));
    return a;
}

/* ---- lists (under S.mu) ---- */

static void notify_loop(void)
{
    uint64_t one = 1;
    ssize_t w = write(S.efd, &one, sizeof(one));
    (void)w;   /* EAGAIN: the counter is saturated, the loop wakes anyway */
}

static void ready_push(job *j)
{
    j->state = J_READY;
    j->qnext = NULL;
    if (S.rtail)
        S.rtail->qnext = j;
    else
        S.rhead = j;
    S.rtail = j;
}

static void wait_insert(job *j)
{
    j->state = J_WAIT;
    job **pp = &S.whead;
    while (*pp && (*pp)->due_ms <= j->due_ms)
        pp = &(*pp)->qnext;
    j->qnext = *pp;
    *pp = j;
}

static void finish(job *j, int rc)
{
    j->state = J_DONE;
    j->rc = rc;
    S.st.pending--;
    notify_loop();
}

static void *worker(void *unused)
{
    CURL *c = curl_easy_init();
    pthread_mutex_lock(&S.mu);
    while (!S.stopping) {
        uint64_t now = le_mono_ms();
        while (S.whead && S.whead->due_ms <= now) {
            job *w = S.whead;
            S.whead = w->qnext;
            ready_push(w);
        }
        if (!S.rhead) {
            if (S.whead) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                uint64_t ms = S.whead->due_ms - now;
                ts.tv_sec += (time_t)(ms / 1000);
                ts.tv_nsec += (long)(ms % 1000) * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&S.cv, &S.mu, &ts);
            } else {
                pthread_cond_wait(&S.cv, &S.mu);
            }
            continue;
        }
        job *j = S.rhead;
        S.rhead = j->qnext;
        if (!S.rhead)
            S.rtail = NULL;
        j->state = J_RUNNING;
        S.running++;
        pthread_mutex_unlock(&S.mu);

        int64_t size = 0;
        int a = c ? attempt(c, j, &size) : A_RETRY;

        pthread_mutex_lock(&S.mu);
        S.running--;
        if (a == A_OK) {
            S.st.uploaded++;
            S.st.bytes += (uint64_t)size;
            finish(j, LE_OK);
            continue;
        }
        S.st.failures++;
        if (a == A_GIVEUP) {
            le_error(MOD, "giving up on s3://%s/%s; %s stays", j->bucket, j->key, j->path);
            finish(j, LE_EIO);
            continue;
        }
        if (S.stopping) {
            j->state = J_WAIT;      /* cancelled by le_s3_stop */
            j->qnext = NULL;
            if (j->upload_id) {
                pthread_mutex_unlock(&S.mu);
                multipart_abort(c, j);
                pthread_mutex_lock(&S.mu);
            }
            break;
        }
        j->due_ms = le_mono_ms() + (uint64_t)j->backoff_ms;
        le_log(fail_level(j) == LE_LOG_WARN ? LE_LOG_INFO : LE_LOG_DEBUG, MOD, "s3://%s/%s: retry in %lld ms",
               j->bucket, j->key, (long long)j->backoff_ms);
        j->fails++;
        j->backoff_ms = j->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : j->backoff_ms * 2;
        wait_insert(j);
    }
    pthread_mutex_unlock(&S.mu);
    if (c)
        curl_easy_cleanup(c);
    return NULL;
}

/* ---- loop side ---- */

static void job_free(job *j)
{
    multipart_reset(j);
    free(j->bucket);
    free(j->key);
    free(j->path);
    free(j->ctype);
    free(j);
}

/* Runs the completions at the head of the queueing order that are done. */
static void deliver(void)
{
    job *list = NULL, **tail = &list;
    pthread_mutex_lock(&S.mu);
    while (S.ahead && S.ahead->state == J_DONE) {
        job *j = S.ahead;
        S.ahead = j->next;
        if (!S.ahead)
            S.atail = NULL;
        S.nall--;
        j->next = NULL;
        *tail = j;
        tail = &j->next;
    }
    pthread_mutex_unlock(&S.mu);
    while (list) {
        job *j = list;
        list = j->next;
        if (j->done)
            j->done(j->rc, j->arg);
        job_free(j);
    }
}

static void efd_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t v;
    while (read(S.efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
        ;
    deliver();
}

static int64_t env_size(const char *name, int64_t def, int64_t lo, int64_t hi)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return def;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end || v < lo || v > hi) {
        le_warn(MOD, "%s=%s ignored (%lld..%lld)", name, s, (long long)lo, (long long)hi);
        return def;
    }
    return v;
}

int le_s3_init(struct event_base *base, const struct le_conf *cf, char *err, size_t errlen)
{
    if (S.enabled) {
        snprintf(err, errlen, "s3 already started");
        return LE_EIO;
    }
    if (!cf->s3)
        return LE_OK;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "s3: libcurl did not initialize");
        return LE_EIO;
    }
    size_t el = strlen(cf->s3_endpoint);
    while (el > 0 && cf->s3_endpoint[el - 1] == '/')
        el--;
    S.endpoint = le_xstrndup(cf->s3_endpoint, el);
    S.region = le_xstrdup(cf->s3_region && *cf->s3_region ? cf->s3_region : "us-east-1");
    S.access = le_xstrdup(cf->s3_access_key);
    S.secret = le_xstrdup(cf->s3_secret_key);
    size_t sl = strlen(S.region) + 16;
    S.sigv4 = le_xmalloc(sl);
    snprintf(S.sigv4, sl, "aws:amz:%s:s3", S.region);
    S.keep_local = cf->s3_keep_local;
    S.tls_skip = endpoint_skipped(S.endpoint, cf->tls_verify_skip);
    if (cf->tls_ca_file && !S.tls_skip && strncasecmp(S.endpoint, "https://", 8) == 0) {
        char why[160];
        S.ca = load_ca(cf->tls_ca_file, why, sizeof(why));
        if (!S.ca)
            le_warn(MOD, "tls_ca_file %s: %s: uploads verify against the system store only", cf->tls_ca_file, why);
    }
    /* Test knobs (t/integration/66-record-s3.sh). */
    S.part_size = env_size("LE_S3_PART_SIZE", LE_S3_PART_SIZE, PART_MIN, PART_MAX);
    S.multipart_min = env_size("LE_S3_MULTIPART_MIN", LE_S3_MULTIPART_MIN, 1, INT64_MAX);
    memset(&S.st, 0, sizeof(S.st));
    S.stopping = 0;
    S.abort_xfers = 0;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&S.cv, &ca);
    pthread_condattr_destroy(&ca);
    S.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (S.efd < 0) {
        snprintf(err, errlen, "s3: eventfd: %s", strerror(errno));
        goto fail;
    }
    S.ev = event_new(base, S.efd, EV_READ | EV_PERSIST, efd_cb, NULL);
    if (!S.ev || event_add(S.ev, NULL) != 0) {
        snprintf(err, errlen, "s3: cannot watch the eventfd");
        goto fail;
    }
    S.nth = 0;
    for (int i = 0; i < NTHREADS; i++) {
        int rc = pthread_create(&S.th[S.nth], NULL, worker, NULL);
        if (rc != 0) {
            snprintf(err, errlen, "s3: pthread_create: %s", strerror(rc));
            break;
        }
        S.nth++;
    }
    if (S.nth == 0)
        goto fail;
    S.enabled = 1;
    le_info(MOD, "uploads to %s (region %s), %d threads, multipart from %lld bytes in %lld-byte parts%s%s",
            S.endpoint, S.region, S.nth, (long long)S.multipart_min, (long long)S.part_size,
            S.keep_local ? ", local copies kept" : "",
            S.tls_skip ? ", certificate not verified (tls_verify_skip)" : S.ca ? ", tls_ca_file trusted" : "");
    return LE_OK;
fail:
    S.enabled = 1;      /* so that stop frees what was made */
    le_s3_stop(0);
    return LE_EIO;
}

int le_s3_enabled(void)
{
    return S.enabled;
}

int le_s3_upload(const char *bucket, const char *key, const char *path, const char *content_type,
                 le_s3_done_fn done, void *arg)
{
    if (!bucket || !*bucket || !key || !*key || !path)
        return LE_EINVAL;
    pthread_mutex_lock(&S.mu);
    if (!S.enabled || S.stopping) {
        pthread_mutex_unlock(&S.mu);
        return LE_EIO;
    }
    if (S.nall >= LE_S3_MAX_QUEUED) {
        pthread_mutex_unlock(&S.mu);
        le_warn(MOD, "queue full (%d): s3://%s/%s not uploaded", LE_S3_MAX_QUEUED, bucket, key);
        return LE_ETOOBIG;
    }
    pthread_mutex_unlock(&S.mu);
    job *j = le_xcalloc(1, sizeof(*j));
    j->bucket = le_xstrdup(bucket);
    j->key = le_xstrdup(key);
    j->path = le_xstrdup(path);
    j->ctype = le_xstrdup(content_type && *content_type ? content_type : "application/octet-stream");
    j->done = done;
    j->arg = arg;
    j->backoff_ms = BACKOFF_MIN_MS;
    pthread_mutex_lock(&S.mu);
    if (S.atail)
        S.atail->next = j;
    else
        S.ahead = j;
    S.atail = j;
    S.nall++;
    S.st.pending++;
    ready_push(j);
    pthread_cond_signal(&S.cv);
    pthread_mutex_unlock(&S.mu);
    return LE_OK;
}

void le_s3_stop(int64_t wait_ms)
{
    if (!S.enabled)
        return;
    uint64_t deadline = le_mono_ms() + (uint64_t)(wait_ms > 0 ? wait_ms : 0);
    for (;;) {
        pthread_mutex_lock(&S.mu);
        int busy = S.rhead || S.running;
        pthread_mutex_unlock(&S.mu);
        if (!busy || le_mono_ms() >= deadline)
            break;
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&S.mu);
    S.stopping = 1;
    __atomic_store_n(&S.abort_xfers, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
    for (int i = 0; i < S.nth; i++)
        pthread_join(S.th[i], NULL);
    S.nth = 0;
    /* Everything not done is cancelled; its owner still hears of it. */
    pthread_mutex_lock(&S.mu);
    for (job *j = S.ahead; j; j = j->next)
        if (j->state != J_DONE) {
            j->state = J_DONE;
            j->rc = LE_EIO;
            S.st.pending--;
            if (j->upload_id)
                le_warn(MOD, "stopped: multipart upload of s3://%s/%s left incomplete", j->bucket, j->key);
        }
    S.rhead = S.rtail = NULL;
    S.whead = NULL;
    pthread_mutex_unlock(&S.mu);
    deliver();
    if (S.ev)
        event_free(S.ev);
    S.ev = NULL;
    if (S.efd >= 0)
        close(S.efd);
    S.efd = -1;
    pthread_cond_destroy(&S.cv);
    free(S.endpoint);
    free(S.region);
    free(S.access);
    free(S.secret);
    free(S.sigv4);
    S.endpoint = S.region = S.access = S.secret = S.sigv4 = NULL;
    sk_X509_pop_free(S.ca, X509_free);
    S.ca = NULL;
    S.tls_skip = 0;
    S.enabled = 0;
    curl_global_cleanup();
}

void le_s3_get_stats(le_s3_stats *out)
{
    pthread_mutex_lock(&S.mu);
    *out = S.st;
    pthread_mutex_unlock(&S.mu);
}
