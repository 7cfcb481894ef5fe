/* The admin port (admin.h): HTTP/1.1 framing, the POP RPC common parameters,
 * signature v1 (via sign.c), Timestamp and SignatureNonce checks, JSON/XML
 * rendering and Alibaba-style error bodies, and GET /metrics (livedge.8).
 *
 * Flow of one API call: parameters (query, plus a form body for POST) ->
 * Action present -> with keys configured: AccessKeyId, Signature,
 * SignatureMethod, SignatureVersion, SignatureNonce, Timestamp, the signature
 * itself, then the nonce -> Version -> a registered Action -> its handler.
 * The nonce is remembered only after the signature matched, so unsigned
 * traffic cannot fill the cache. It is claimed in the shared Redis
 * ({prefix}nonce:{AccessKeyId}:{nonce}, SET NX with a TTL), so a call is
 * accepted once by the whole cluster, across restarts; the request waits for
 * that reply, and while Redis is unreachable signed calls answer 503.
 *
 * Lifetimes: accepting, limits and the reaper are net/net.h's. A connection is
 * never freed where it is found to be finished: conn_close() marks it and the
 * reaper frees it. A request (le_admin_req) is owned by its handler from dispatch until
 * le_admin_reply / le_admin_error, which always free it; if the connection
 * went away meanwhile (or the handler timeout answered for it), req->c is
 * NULL and the reply is dropped. While a request is out, the connection reads
 * on (to notice a disconnect) but parses nothing; the read high-watermark
 * bounds what a pipelining client can park here.
 *
 * What a hostile client can cost: HEAD_MAX + BODY_MAX of input, a header
 * timer (http_header_timeout_ms from the first byte of a request, not reset
 * by trickled bytes), MAX_CONNS connections, admin_max_connections_per_ip from
 * one address; at either limit the oldest idle connection (no request in
 * progress) is closed for the new one, so idle sockets cannot lock the API
 * out. Responses are XML or JSON, except /metrics (Prometheus text). */
#include "admin/admin.h"
#include "admin/console.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "admin/form.h"
#include "admin/sign.h"
#include "admin/tc3.h"
#include "core/err.h"
#include "core/metrics.h"
#include "core/log.h"
#include "core/util.h"
#include "http/parser.h"
#include "net/net.h"
#include "node.h"
#include "store/store.h"

#define MOD "admin"
#define API_VERSION "2016-11-01"
#define HEAD_MAX (LE_HTTP_MAX_REQLINE + LE_HTTP_MAX_HEADERS + 64)
#define BODY_MAX (64 * 1024)
#define INPUT_MAX (HEAD_MAX + BODY_MAX)
#define OUT_PAUSE_BYTES (1u << 20)   /* answered but unread: stop parsing more requests */
#define OUT_RESUME_BYTES (256u << 10)
#define MAX_PARAMS 512
#define MAX_CONNS 256
#define KEEPALIVE_MS 60000
#define HANDLER_TIMEOUT_MS 30000
#define WRITE_TIMEOUT_MS 30000
#define HEADER_TIMEOUT_DEFAULT_MS 10000
#define TS_WINDOW_S (15 * 60)           /* Timestamp skew and nonce memory */
#define TC3_WINDOW_S 300                /* X-TC-Timestamp skew, as Tencent Cloud's 5 minutes */
#define TC3_API_VERSION "2022-01-10"
#define NONCE_CAP 100000                /* remembered nonces; the oldest is evicted */
#define NONCE_MAX_LEN 256
#define NONCE_SLACK_MS 60000         /* kept this much longer in Redis than the window */
#define MAX_COUNTERS 64
#define JSON_CT "application/json;charset=utf-8"
#define XML_CT "text/xml;charset=utf-8"
#define PROM_CT "text/plain; version=0.0.4; charset=utf-8"

enum { CS_IDLE = 0, CS_READ, CS_WAIT, CS_FLUSH };

typedef struct conn conn;
struct conn {
    le_net_conn *nc;
    uint64_t id;                /* nc's, for logs */
    struct bufferevent *bev;
    struct event *timer;        /* header, keep-alive, handler or flush deadline by state */
    int state;                  /* CS_*: idle, reading a request, handler out, closing */
    int closing;                /* marked: the net reaper frees it */
    int eof;                    /* the peer shut its side: close after the answer */
    int in_process;             /* process() is on the stack */
    le_admin_req *req;          /* the request out to a handler, CS_WAIT only */
    char peer[64];              /* "ip:port" for logs */
    char ip[48];                /* the peer's address alone */
};

struct le_admin_req {
    conn *c;                    /* NULL once the client is gone or was answered for us */
    uint64_t conn_id;
    char id[37];                /* RequestId */
    char peer[64];
    char ip[48];
    const char *method;         /* static: "GET", "POST", ... */
    char path[64];              /* escaped, for logs */
    le_sign_param *params;      /* decoded; names and values NUL-terminated, owned */
    size_t nparams;
    const char *action;         /* a value in params, or NULL */
    int json;                   /* Format=JSON */
    int tc3;                    /* Tencent API 3.0 form: {"Response":...} answers, always 200 */
    int keep_alive;
    int answered;               /* the handler timeout answered (and counted) already */
    uint64_t t0_ms;
    const char *xhdr;           /* extra header lines (CRLF each) for the answer, or NULL */
};

typedef struct action_ent {
    char *name;
    le_admin_handler h;
    int tc3;                    /* also served in the Tencent API 3.0 form */
} action_ent;

typedef struct counter {
    int status;
    char code[64];
    uint64_t n;
} counter;

typedef struct nonce_ent {
    char *s;
    int64_t exp_ms;             /* forgotten at this wall time */
    uint32_t h;
    uint32_t chain;             /* next index in the bucket, NONCE_NIL at the end */
} nonce_ent;
#define NONCE_NIL UINT32_MAX

static struct {
    struct event_base *base;
    le_net_listener *lis;
    size_t nconns;
    int loopback;               /* the listen address is loopback */
    const le_conf *conf;        /* le_admin_set_conf override, else the node's */
    action_ent *actions;
    size_t nactions;
    counter counters[MAX_COUNTERS];
    size_t ncounters;
    uint64_t counters_other;    /* answers past MAX_COUNTERS distinct (status, code) */
    uint64_t nonces_evicted;
    struct {
        nonce_ent *ring;        /* FIFO: the oldest at head */
        uint32_t cap, head, count;
        uint32_t *buckets;
        uint32_t nbuckets;      /* power of two, >= cap */
        uint64_t seed;
    } nc;
} adm;

static void process(conn *c);

/* ---- small helpers ---- */

static const le_conf *conf(void)
{
    return adm.conf ? adm.conf : le_node_conf();
}

static int keys_configured(const le_conf *cf)
{
    return cf && cf->access_key_id && cf->access_key_secret && *cf->access_key_id;
}

static const char *host_id(void)
{
    const le_conf *cf = conf();
    return cf && cf->node_name && *cf->node_name ? cf->node_name : "livedge";
}

static int64_t header_timeout_ms(void)
{
    const le_conf *cf = conf();
    return cf && cf->http_header_timeout_ms > 0 ? cf->http_header_timeout_ms : HEADER_TIMEOUT_DEFAULT_MS;
}

static void arm(conn *c, int64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    evtimer_add(c->timer, &tv);
}

/* The Tencent API 3.0 code for a code the shared checks answer with. */
static const char *tc3_code(const char *code)
{
    if (strcmp(code, "ServiceUnavailable") == 0)
        return "InternalError";
    if (strncmp(code, "InvalidParameter", 16) == 0 || strcmp(code, "InvalidDomain.NotFound") == 0)
        return strncmp(code, "InvalidParameter", 16) == 0 ? code : "InvalidParameter";
    return code;
}

static const char *esc(const char *s, char *buf, size_t bufsz)
{
    return s ? le_log_esc(s, strlen(s), buf, bufsz) : "-";
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return status < 500 ? "Client Error" : "Server Error";
    }
}

static void count(int status, const char *code)
{
    for (size_t i = 0; i < adm.ncounters; i++) {
        if (adm.counters[i].status == status && strcmp(adm.counters[i].code, code) == 0) {
            adm.counters[i].n++;
            return;
        }
    }
    if (adm.ncounters == MAX_COUNTERS) {
        adm.counters_other++;
        return;
    }
    counter *k = &adm.counters[adm.ncounters++];
    k->status = status;
    /* A Prometheus label value: keep it to a safe alphabet. */
    size_t o = 0;
    for (const char *p = code; *p && o + 1 < sizeof(k->code); p++) {
        char ch = *p;
        int okc = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                  ch == '.' || ch == '_' || ch == '-';
        k->code[o++] = okc ? ch : '_';
    }
    k->code[o] = '\0';
    k->n = 1;
}

/* ---- connections ---- */

static void conn_close(conn *c, const char *why)
{
    le_net_conn_close(c->nc, why);
}

/* Writes one response; the request is done with the connection after this. */
static void conn_send(conn *c, int status, const char *ctype, const char *rid,
                      const void *body, size_t len, int keep_alive, const char *xhdr)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    keep_alive = keep_alive && !c->eof;
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                        "x-acs-request-id: %s\r\nConnection: %s\r\n%s\r\n",
                        status, reason(status), date, ctype, len, rid,
                        keep_alive ? "keep-alive" : "close", xhdr ? xhdr : "");
    evbuffer_add(out, body, len);
    c->req = NULL;
    if (!keep_alive) {
        c->state = CS_FLUSH;   /* conn_drained closes once the output drained */
        le_net_conn_want_read(c->nc, 0);
        arm(c, WRITE_TIMEOUT_MS);
        return;
    }
    c->state = CS_IDLE;
    le_net_conn_set_idle(c->nc, 1);
    arm(c, KEEPALIVE_MS);
    /* A pipelined request already buffered gets no new read event. */
    if (!c->in_process && evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
        bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

/* ---- requests ---- */

static le_admin_req *req_new(conn *c, const char *method, const le_http_str *path, int keep_alive)
{
    le_admin_req *r = le_xcalloc(1, sizeof(*r));
    r->c = c;
    r->conn_id = c->id;
    le_uuid_v4(r->id, 1);
    snprintf(r->peer, sizeof(r->peer), "%s", c->peer);
    snprintf(r->ip, sizeof(r->ip), "%s", c->ip);
    r->method = method;
    if (path && path->p)
        le_log_esc(path->p, path->n, r->path, sizeof(r->path));
    else
        snprintf(r->path, sizeof(r->path), "-");
    r->keep_alive = keep_alive;
    r->t0_ms = le_mono_ms();
    return r;
}

static void req_free(le_admin_req *r)
{
    le_admin_form_free(r->params, r->nparams);
    free(r);
}

/* Counts, logs, writes (if the client is still there) and frees r. */
static void finish(le_admin_req *r, int status, const char *code, const char *message,
                   const char *ctype, const void *body, size_t len)
{
    char ea[128], em[256];
    double ms = (double)(le_mono_ms() - r->t0_ms);
    if (!r->answered)
        count(status, code);
    le_debug(MOD, "#%llu %s %s %s Action=%s -> %d %s (%.0f ms)%s", (unsigned long long)r->conn_id,
             r->peer, r->method, r->path, esc(r->action, ea, sizeof(ea)), status, code, ms,
             r->c ? "" : ", client gone: dropped");
    if (status >= 400 || strcmp(code, "OK") != 0)   /* API 3.0 errors answer 200 */
        le_info(MOD, "#%llu %s request %s Action=%s: %d %s: %s", (unsigned long long)r->conn_id,
                r->peer, r->id, esc(r->action, ea, sizeof(ea)), status, code,
                esc(message, em, sizeof(em)));
    if (r->c)
        conn_send(r->c, status, ctype, r->id, body, len, r->keep_alive, r->xhdr);
    req_free(r);
}

static le_jv *error_body(const le_admin_req *r, const char *code, const char *message)
{
    if (r->tc3) {
        /* {"Response":{"Error":{"Code","Message"},"RequestId"}} */
        le_jv *o = le_jv_obj(), *resp = le_jv_set_obj(o, "Response"), *e = le_jv_set_obj(resp, "Error");
        le_jv_set_str(e, "Code", tc3_code(code));
        le_jv_set_str(e, "Message", message);
        le_jv_set_str(resp, "RequestId", r->id);
        return o;
    }
    le_jv *o = le_jv_obj();
    le_jv_set_str(o, "RequestId", r->id);
    le_jv_set_str(o, "HostId", host_id());
    le_jv_set_str(o, "Code", code);
    le_jv_set_str(o, "Message", message);
    return o;
}

static void render(const le_admin_req *r, const le_jv *body, const char *root, le_buf *out)
{
    if (r->json || r->tc3)
        le_jv_to_json(body, out);
    else
        le_jv_to_xml(body, root, out);
}

void le_admin_error(le_admin_req *r, int status, const char *code, const char *message)
{
    if (status < 400 || status > 599)
        status = 500;
    if (!code || !*code)
        code = "InternalError";
    if (!message)
        message = "";
    le_jv *o = error_body(r, code, message);
    le_buf b = { 0 };
    render(r, o, "Error", &b);
    le_jv_free(o);
    if (r->tc3) {
        /* API 3.0 answers every call that reached it with 200; the SDKs
         * read the Code from the body only then. */
        code = tc3_code(code);
        status = 200;
    }
    finish(r, status, code, message, r->json ? JSON_CT : XML_CT, b.p, b.len);
    le_buf_free(&b);
}

void le_admin_reply(le_admin_req *r, le_jv *body)
{
    char root[160];
    if (!body)
        body = le_jv_obj();
    if (body->type != LE_JV_OBJ) {
        char ea[128];
        le_error(MOD, "handler for %s replied with a non-object; sending an empty body",
                 esc(r->action, ea, sizeof(ea)));
        le_jv_free(body);
        body = le_jv_obj();
    }
    if (r->tc3) {
        le_jv *o = le_jv_obj();
        le_jv_set(o, "Response", body);
        le_jv_set_str(body, "RequestId", r->id);
        le_buf b = { 0 };
        le_jv_to_json(o, &b);
        le_jv_free(o);
        finish(r, 200, "OK", NULL, JSON_CT, b.p, b.len);
        le_buf_free(&b);
        return;
    }
    le_jv_prepend_str(body, "RequestId", r->id);
    /* The real service's XML root: the Action name followed by "Response".
     * Only registered Actions get here. */
    snprintf(root, sizeof(root), "%sResponse", r->action ? r->action : "Action");
    le_buf b = { 0 };
    render(r, body, root, &b);
    le_jv_free(body);
    finish(r, 200, "OK", NULL, r->json ? JSON_CT : XML_CT, b.p, b.len);
    le_buf_free(&b);
}

const char *le_admin_param(const le_admin_req *r, const char *name)
{
    for (size_t i = 0; i < r->nparams; i++)
        if (strcmp(r->params[i].name, name) == 0)
            return r->params[i].value;
    return NULL;
}

const char *le_admin_request_id(const le_admin_req *r)
{
    return r->id;
}

const char *le_admin_client_ip(const le_admin_req *r)
{
    return r->ip;
}

static void missing(le_admin_req *r, const char *name)
{
    char msg[256];
    snprintf(msg, sizeof(msg),
             "The input parameter \"%s\" that is mandatory for processing this request is not supplied.",
             name);
    le_admin_error(r, 400, "MissingParameter", msg);
}

int le_admin_require(le_admin_req *r, const char *name, const char **out)
{
    const char *v = le_admin_param(r, name);
    if (!v || !*v) {
        missing(r, name);
        return LE_EINVAL;
    }
    if (out)
        *out = v;
    return 0;
}

/* ---- parameters ---- */

/* Appends the form-encoded pairs in s to r->params. 0, or a negative LE_E*
 * with msg. */
static int parse_form(le_admin_req *r, const char *s, size_t n, char *msg, size_t msglen)
{
    return le_admin_form_parse(s, n, &r->params, &r->nparams, MAX_PARAMS, msg, msglen);
}

static int is_form(const le_http_hdr *ct)
{
    static const char want[] = "application/x-www-form-urlencoded";
    size_t n = sizeof(want) - 1;
    if (!ct || ct->value.n < n || strncasecmp(ct->value.p, want, n) != 0)
        return 0;
    return ct->value.n == n || ct->value.p[n] == ';' || ct->value.p[n] == ' ';
}

/* ---- nonces ---- */

static uint32_t nonce_hash(const char *s)
{
    uint64_t h = le_hash64(s, strlen(s), LE_HASH64_INIT ^ adm.nc.seed);   /* FNV-1a, seeded */
    return (uint32_t)(h ^ h >> 32);
}

static void nonce_rebuild_buckets(void)
{
    for (uint32_t i = 0; i < adm.nc.nbuckets; i++)
        adm.nc.buckets[i] = NONCE_NIL;
    for (uint32_t k = 0; k < adm.nc.count; k++) {
        uint32_t idx = (adm.nc.head + k) % adm.nc.cap;
        nonce_ent *e = &adm.nc.ring[idx];
        uint32_t b = e->h & (adm.nc.nbuckets - 1);
        e->chain = adm.nc.buckets[b];
        adm.nc.buckets[b] = idx;
    }
}

static void nonce_grow(void)
{
    uint32_t ncap = adm.nc.cap ? adm.nc.cap * 2 : 1024;
    if (ncap > NONCE_CAP)
        ncap = NONCE_CAP;
    nonce_ent *ring = le_xcalloc(ncap, sizeof(*ring));
    for (uint32_t k = 0; k < adm.nc.count; k++)
        ring[k] = adm.nc.ring[(adm.nc.head + k) % adm.nc.cap];
    free(adm.nc.ring);
    adm.nc.ring = ring;
    adm.nc.cap = ncap;
    adm.nc.head = 0;
    uint32_t nb = 1;
    while (nb < ncap)
        nb <<= 1;
    if (nb != adm.nc.nbuckets) {
        free(adm.nc.buckets);
        adm.nc.buckets = le_xmalloc(nb * sizeof(*adm.nc.buckets));
        adm.nc.nbuckets = nb;
    }
    nonce_rebuild_buckets();
    if (!adm.nc.seed && RAND_bytes((unsigned char *)&adm.nc.seed, sizeof(adm.nc.seed)) != 1)
        adm.nc.seed = (uint64_t)le_wall_ms();
}

static void nonce_pop_oldest(void)
{
    uint32_t idx = adm.nc.head;
    nonce_ent *e = &adm.nc.ring[idx];
    uint32_t *link = &adm.nc.buckets[e->h & (adm.nc.nbuckets - 1)];
    while (*link != idx)
        link = &adm.nc.ring[*link].chain;
    *link = e->chain;
    free(e->s);
    e->s = NULL;
    adm.nc.head = (adm.nc.head + 1) % adm.nc.cap;
    adm.nc.count--;
}

static void nonce_expire(int64_t now_ms)
{
    while (adm.nc.count && adm.nc.ring[adm.nc.head].exp_ms <= now_ms)
        nonce_pop_oldest();
}

static int nonce_seen(const char *s)
{
    if (!adm.nc.count)
        return 0;
    uint32_t h = nonce_hash(s);
    for (uint32_t i = adm.nc.buckets[h & (adm.nc.nbuckets - 1)]; i != NONCE_NIL; i = adm.nc.ring[i].chain)
        if (adm.nc.ring[i].h == h && strcmp(adm.nc.ring[i].s, s) == 0)
            return 1;
    return 0;
}

static void nonce_add(const char *s, int64_t exp_ms)
{
    if (adm.nc.count == adm.nc.cap) {
        if (adm.nc.cap < NONCE_CAP) {
            nonce_grow();
        } else {
            /* Full of live nonces: forget the oldest. That needs NONCE_CAP
             * correctly signed calls within 15 minutes. */
            nonce_pop_oldest();
            adm.nonces_evicted++;
        }
    }
    uint32_t idx = (adm.nc.head + adm.nc.count) % adm.nc.cap;
    nonce_ent *e = &adm.nc.ring[idx];
    e->s = le_xstrdup(s);
    e->exp_ms = exp_ms;
    e->h = nonce_hash(s);
    uint32_t b = e->h & (adm.nc.nbuckets - 1);
    e->chain = adm.nc.buckets[b];
    adm.nc.buckets[b] = idx;
    adm.nc.count++;
}

static void nonce_free_all(void)
{
    while (adm.nc.count)
        nonce_pop_oldest();
    free(adm.nc.ring);
    free(adm.nc.buckets);
    memset(&adm.nc, 0, sizeof(adm.nc));
}

/* ---- the API flow ---- */

static void invalid(le_admin_req *r, const char *name)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "Specified parameter %s is not valid.", name);
    le_admin_error(r, 400, "InvalidParameter", msg);
}

static void nonce_used(le_admin_req *r)
{
    if (r->tc3)
        le_admin_error(r, 400, "AuthFailure.SignatureFailure",
                       "This signed request was accepted already (a replay).");
    else
        le_admin_error(r, 400, "SignatureNonceUsed", "Specified signature nonce was used already.");
}

static void store_down(le_admin_req *r)
{
    le_admin_error(r, 503, "ServiceUnavailable",
                   "The request has failed due to a temporary failure of the server (state store unreachable).");
}

static void api_dispatch(le_admin_req *r);
static int claim_nonce(le_admin_req *r, const char *ak, const char *nonce, int64_t t, int window_s);

/* A signed call waiting for the shared nonce store. */
typedef struct nonce_claim {
    le_admin_req *r;
    char *nonce;
    int64_t exp_ms;
} nonce_claim;

static void nonce_claim_cb(int rc, void *arg)
{
    nonce_claim *c = arg;
    le_admin_req *r = c->r;
    if (rc == LE_OK && adm.lis && !nonce_seen(c->nonce))
        nonce_add(c->nonce, c->exp_ms);
    free(c->nonce);
    free(c);
    if (rc == LE_EEXIST)
        nonce_used(r);
    else if (rc != LE_OK)
        store_down(r);
    else if (!r->c)
        le_admin_error(r, 503, "ServiceUnavailable", "The client went away.");   /* dropped */
    else
        api_dispatch(r);
}

/* The signed-call checks: 0 when r may proceed, 1 when it waits for the
 * nonce store (nonce_claim_cb goes on), LE_EDENIED when r was answered. */
static int check_signature(le_admin_req *r, const le_conf *cf)
{
    const char *ak, *sig, *sm, *sv, *nonce, *ts;
    if (le_admin_require(r, "AccessKeyId", &ak) != 0)
        return LE_EDENIED;
    if (strcmp(ak, cf->access_key_id) != 0) {
        le_admin_error(r, 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
        return LE_EDENIED;
    }
    if (le_admin_require(r, "Signature", &sig) != 0 ||
        le_admin_require(r, "SignatureMethod", &sm) != 0)
        return LE_EDENIED;
    if (strcmp(sm, "HMAC-SHA1") != 0) {
        invalid(r, "SignatureMethod");
        return LE_EDENIED;
    }
    if (le_admin_require(r, "SignatureVersion", &sv) != 0)
        return LE_EDENIED;
    if (strcmp(sv, "1.0") != 0) {
        invalid(r, "SignatureVersion");
        return LE_EDENIED;
    }
    if (le_admin_require(r, "SignatureNonce", &nonce) != 0)
        return LE_EDENIED;
    if (strlen(nonce) > NONCE_MAX_LEN) {
        invalid(r, "SignatureNonce");
        return LE_EDENIED;
    }
    if (le_admin_require(r, "Timestamp", &ts) != 0)
        return LE_EDENIED;
    int64_t t, now_ms = le_wall_ms(), now = now_ms / 1000;
    if (le_admin_parse_timestamp(ts, &t) != 0) {
        le_admin_error(r, 400, "InvalidTimeStamp.Format",
                       "Specified time stamp or date value is not well formatted.");
        return LE_EDENIED;
    }
    if (t < now - TS_WINDOW_S || t > now + TS_WINDOW_S) {
        le_admin_error(r, 400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.");
        return LE_EDENIED;
    }
    le_buf sts = { 0 };
    int rc = le_sign_verify(cf->access_key_secret, r->method, r->params, r->nparams, sig, strlen(sig),
                            le_log_level <= LE_LOG_DEBUG ? &sts : NULL);
    if (rc != LE_OK) {
        char es[512];
        le_debug(MOD, "request %s: signature mismatch; server StringToSign: %s", r->id,
                 le_log_esc((const char *)sts.p, sts.len, es, sizeof(es)));
        le_buf_free(&sts);
        le_admin_error(r, 400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.");
        return LE_EDENIED;
    }
    le_buf_free(&sts);
    return claim_nonce(r, ak, nonce, t, TS_WINDOW_S);
}

/* Claims a signed call's nonce (its Timestamp t, valid window_s either
 * way): 0 when r may proceed, 1 when it waits for the nonce store
 * (nonce_claim_cb goes on), LE_EDENIED when r was answered. */
static int claim_nonce(le_admin_req *r, const char *ak, const char *nonce, int64_t t, int window_s)
{
    int64_t now_ms = le_wall_ms(), now = now_ms / 1000;
    nonce_expire(now_ms);
    if (nonce_seen(nonce)) {
        nonce_used(r);
        return LE_EDENIED;
    }
    /* Remembered while its Timestamp could still pass the window. */
    int64_t exp = (t > now ? t : now) * 1000 + window_s * 1000LL;
    if (!le_store_running()) {
        /* No shared store (tools, unit tests): this process's memory alone. */
        nonce_add(nonce, exp);
        return 0;
    }
    /* The shared Redis decides, so a call replayed on another node, or here
     * after a restart, is refused too. The request waits for the answer. */
    char key[NONCE_MAX_LEN + 512];
    le_store_key(key, sizeof(key), "nonce:%s:%s", ak, nonce);
    nonce_claim *c = le_xmalloc(sizeof(*c));
    c->r = r;
    c->nonce = le_xstrdup(nonce);
    c->exp_ms = exp;
    if (le_store_claim(key, exp - now_ms + NONCE_SLACK_MS, nonce_claim_cb, c) != LE_OK) {
        free(c->nonce);
        free(c);
        store_down(r);
        return LE_EDENIED;
    }
    return 1;
}

static le_admin_handler find_action(const char *name)
{
    for (size_t i = 0; i < adm.nactions; i++)
        if (strcmp(adm.actions[i].name, name) == 0)
            return adm.actions[i].h;
    return NULL;
}

static void api_call(le_admin_req *r)
{
    const le_conf *cf = conf();
    const char *fmt = le_admin_param(r, "Format");
    r->json = fmt && strcasecmp(fmt, "JSON") == 0;
    r->action = le_admin_param(r, "Action");
    if (!r->action || !*r->action) {
        r->action = NULL;
        missing(r, "Action");
        return;
    }
    if (keys_configured(cf)) {
        if (check_signature(r, cf) != 0)
            return;
    } else if (!adm.loopback) {
        /* Keys removed by a reload while listening beyond loopback. */
        le_admin_error(r, 403, "Forbidden", "The admin API is unsigned and reachable beyond loopback.");
        return;
    }
    api_dispatch(r);
}

/* Version, then the registered Action's handler. */
static void api_dispatch(le_admin_req *r)
{
    const char *ver = r->tc3 ? NULL : le_admin_param(r, "Version");   /* API 3.0: X-TC-Version, checked */
    if (ver && strcmp(ver, API_VERSION) != 0) {
        le_admin_error(r, 400, "InvalidVersion", "Specified parameter Version is not valid.");
        return;
    }
    le_admin_handler h = find_action(r->action);
    if (!h) {
        le_admin_error(r, 404, "InvalidAction.NotFound",
                       "Specified api is not found, please check your url and method.");
        return;
    }
    h(r);
}

/* ---- the Tencent API 3.0 form (livedge.8, "Tencent Cloud API 3.0 form") ---- */

/* X-TC-Action, or an Authorization of TC3-HMAC-SHA256, marks the form. */
static int is_tc3(const le_http_req *h)
{
    const le_http_hdr *a = le_http_find(h, "authorization");
    static const char algo[] = LE_TC3_ALGORITHM;
    return le_http_find(h, "x-tc-action") ||
           (a && a->value.n >= sizeof(algo) - 1 && memcmp(a->value.p, algo, sizeof(algo) - 1) == 0);
}

static void add_param(le_admin_req *r, const char *name, const char *v, size_t n)
{
    r->params = le_xrealloc(r->params, (r->nparams + 1) * sizeof(*r->params));
    le_sign_param *p = &r->params[r->nparams++];
    char *vs = le_xmalloc(n + 1);
    memcpy(vs, v, n);
    vs[n] = '\0';
    p->name = le_xstrdup(name);
    p->nlen = strlen(name);
    p->value = vs;
    p->vlen = n;
}

/* A header's value as a C string into buf; NULL if absent or too long. */
static const char *hdr_str(const le_http_req *h, const char *name, char *buf, size_t n)
{
    const le_http_hdr *x = le_http_find(h, name);
    if (!x || x->value.n >= n)
        return NULL;
    memcpy(buf, x->value.p, x->value.n);
    buf[x->value.n] = '\0';
    return buf;
}

static int ct_is(const le_http_req *h, const char *want)
{
    const le_http_hdr *ct = le_http_find(h, "content-type");
    size_t n = strlen(want);
    if (!ct || ct->value.n < n || strncasecmp(ct->value.p, want, n) != 0)
        return 0;
    return ct->value.n == n || ct->value.p[n] == ';' || ct->value.p[n] == ' ';
}

/* Authorization, X-TC-Timestamp (TC3_WINDOW_S either way) and the
 * signature. 0, or LE_EDENIED when r was answered. */
static int tc3_check(le_admin_req *r, const le_conf *cf, const le_http_req *h, const char *body, size_t blen,
                     int64_t *ts_out, char sig_out[LE_TC3_HEX_LEN + 1])
{
    const le_http_hdr *ah = le_http_find(h, "authorization");
    le_tc3_auth a;
    if (!ah || le_tc3_parse_auth(ah->value.p, ah->value.n, &a) != LE_OK) {
        le_admin_error(r, 401, "AuthFailure.InvalidAuthorization",
                       "The Authorization header is missing or not TC3-HMAC-SHA256 "
                       "Credential=..., SignedHeaders=..., Signature=....");
        return LE_EDENIED;
    }
    if (strcmp(a.secret_id, cf->access_key_id) != 0) {
        le_admin_error(r, 401, "AuthFailure.SecretIdNotFound", "The SecretId is not found.");
        return LE_EDENIED;
    }
    char tsb[24];
    const char *ts = hdr_str(h, "x-tc-timestamp", tsb, sizeof(tsb));
    int64_t t = 0, now = le_wall_ms() / 1000;
    if (!ts || !*ts || strlen(ts) > 12 || strspn(ts, "0123456789") != strlen(ts)) {
        le_admin_error(r, 400, "MissingParameter", "X-TC-Timestamp is missing or not a UNIX time.");
        return LE_EDENIED;
    }
    t = strtoll(ts, NULL, 10);
    if (t < now - TC3_WINDOW_S || t > now + TC3_WINDOW_S) {
        le_admin_error(r, 401, "AuthFailure.SignatureExpire",
                       "X-TC-Timestamp is more than 300 s away from the server time.");
        return LE_EDENIED;
    }
    const char *vals[LE_TC3_MAX_SIGNED];
    size_t lens[LE_TC3_MAX_SIGNED];
    for (size_t i = 0; i < a.nsigned; i++) {
        const le_http_hdr *x = le_http_find(h, a.names[i]);
        if (!x) {
            le_admin_error(r, 401, "AuthFailure.SignatureFailure", "A signed header is not in the request.");
            return LE_EDENIED;
        }
        vals[i] = x->value.p ? x->value.p : "";
        lens[i] = x->value.n;
    }
    le_tc3_req q = {
        .method = r->method,
        .path = h->path.p, .path_len = h->path.n,
        .query = h->query.p ? h->query.p : "", .query_len = h->query.p ? h->query.n : 0,
        .auth = &a, .values = vals, .value_lens = lens,
        .payload = body, .payload_len = blen,
        .timestamp = t,
    };
    le_buf sts = { 0 };
    if (le_tc3_verify(cf->access_key_secret, &q, le_log_level <= LE_LOG_DEBUG ? &sts : NULL) != LE_OK) {
        char es[512];
        le_debug(MOD, "request %s: TC3 signature mismatch; server StringToSign: %s", r->id,
                 le_log_esc((const char *)sts.p, sts.len, es, sizeof(es)));
        le_buf_free(&sts);
        le_admin_error(r, 401, "AuthFailure.SignatureFailure",
                       "The provided credentials could not be validated; check the signature.");
        return LE_EDENIED;
    }
    le_buf_free(&sts);
    *ts_out = t;
    memcpy(sig_out, a.signature, LE_TC3_HEX_LEN + 1);
    return 0;
}

/* The JSON body's members as parameters: strings as they are, integers and
 * booleans as text, null left out. 0, or LE_EINVAL when r was answered. */
static int tc3_params(le_admin_req *r, const char *body, size_t blen)
{
    char err[128], msg[256];
    if (blen == 0)
        return 0;
    le_jv *v = le_jv_parse(body, blen, 8, err, sizeof(err));
    if (!v || v->type != LE_JV_OBJ) {
        snprintf(msg, sizeof(msg), "The body is not a JSON object: %s.", v ? "another JSON value" : err);
        le_jv_free(v);
        le_admin_error(r, 400, "InvalidParameter.JsonParseError", msg);
        return LE_EINVAL;
    }
    for (const le_jv *m = v->first; m; m = m->next) {
        char num[32];
        if (r->nparams >= MAX_PARAMS) {
            le_jv_free(v);
            le_admin_error(r, 400, "InvalidParameter", "Too many parameters.");
            return LE_EINVAL;
        }
        if (le_admin_param(r, m->key)) {
            snprintf(msg, sizeof(msg), "The parameter %.64s is given twice.", m->key);
            le_jv_free(v);
            le_admin_error(r, 400, "InvalidParameter", msg);
            return LE_EINVAL;
        }
        switch (m->type) {
        case LE_JV_STR:
            add_param(r, m->key, m->s, m->slen);
            break;
        case LE_JV_INT:
            snprintf(num, sizeof(num), "%lld", (long long)m->i);
            add_param(r, m->key, num, strlen(num));
            break;
        case LE_JV_BOOL:
            add_param(r, m->key, m->i ? "true" : "false", m->i ? 4 : 5);
            break;
        case LE_JV_NULL:
            break;
        default:
            snprintf(msg, sizeof(msg), "The parameter %.64s must be a string.", m->key);
            le_jv_free(v);
            le_admin_error(r, 400, "InvalidParameter", msg);
            return LE_EINVAL;
        }
    }
    le_jv_free(v);
    return 0;
}

static void tc3_call(le_admin_req *r, const le_http_req *h, const char *raw)
{
    const le_conf *cf = conf();
    char act[128], ver[32], msg[160];
    r->tc3 = 1;
    r->json = 1;
    const char *action = hdr_str(h, "x-tc-action", act, sizeof(act));
    if (!action || !*action) {
        le_admin_error(r, 400, "MissingParameter", "The X-TC-Action header is missing.");
        return;
    }
    add_param(r, "Action", action, strlen(action));
    r->action = r->params[r->nparams - 1].value;
    const char *version = hdr_str(h, "x-tc-version", ver, sizeof(ver));
    if (!version || !*version) {
        le_admin_error(r, 400, "MissingParameter", "The X-TC-Version header is missing.");
        return;
    }
    const action_ent *e = NULL;
    for (size_t i = 0; i < adm.nactions && !e; i++)
        if (strcmp(adm.actions[i].name, r->action) == 0)
            e = &adm.actions[i];
    if (!e) {
        le_admin_error(r, 400, "InvalidAction", "The action is not found.");
        return;
    }
    if (!e->tc3) {
        le_admin_error(r, 400, "UnsupportedOperation",
                       "This action is served in the Alibaba Cloud RPC form only (Action=... query).");
        return;
    }
    if (strcmp(version, TC3_API_VERSION) != 0) {
        le_admin_error(r, 400, "NoSuchVersion", "The API version does not exist (want 2022-01-10).");
        return;
    }
    const char *body = raw + h->head_len;
    size_t blen = h->content_length > 0 ? (size_t)h->content_length : 0;
    if (h->method == LE_HTTP_POST ? !ct_is(h, "application/json") : blen > 0) {
        le_admin_error(r, 400, "UnsupportedProtocol",
                       "POST takes a JSON body (Content-Type: application/json); GET takes no body.");
        return;
    }
    int64_t ts = 0;
    char sig[LE_TC3_HEX_LEN + 1] = "";
    int signed_call = keys_configured(cf);
    if (signed_call) {
        if (tc3_check(r, cf, h, body, blen, &ts, sig) != 0)
            return;
    } else if (!adm.loopback) {
        le_admin_error(r, 403, "AuthFailure.UnauthorizedOperation",
                       "The admin API is unsigned and reachable beyond loopback.");
        return;
    }
    if (h->method == LE_HTTP_GET && h->query.p &&
        parse_form(r, h->query.p, h->query.n, msg, sizeof(msg)) != 0) {
        le_admin_error(r, 400, "InvalidParameter", msg);
        return;
    }
    if (h->method == LE_HTTP_POST && tc3_params(r, body, blen) != 0)
        return;
    /* Only the action header names the action. */
    r->action = r->params[0].value;
    if (signed_call) {
        /* API 3.0 has no nonce: the signature (with the action, which the
         * SDKs do not sign) stands for one, so a signed call is accepted
         * once by the cluster, like the RPC form's SignatureNonce. */
        char nonce[sizeof(act) + LE_TC3_HEX_LEN + 8];
        snprintf(nonce, sizeof(nonce), "tc3:%s:%s", r->action, sig);
        if (claim_nonce(r, cf->access_key_id, nonce, ts, TC3_WINDOW_S) != 0)
            return;
    }
    api_dispatch(r);
}

/* ---- /metrics ---- */

static void metrics(le_admin_req *r)
{
    le_buf b = { 0 };
    le_metrics_write(&b);
    le_buf_printf(&b, "# HELP livedge_admin_requests_total Admin port answers by HTTP status and Code.\n"
                      "# TYPE livedge_admin_requests_total counter\n");
    for (size_t i = 0; i < adm.ncounters; i++)
        le_buf_printf(&b, "livedge_admin_requests_total{status=\"%d\",code=\"%s\"} %llu\n",
                      adm.counters[i].status, adm.counters[i].code,
                      (unsigned long long)adm.counters[i].n);
    if (adm.counters_other)
        le_buf_printf(&b, "livedge_admin_requests_total{status=\"0\",code=\"other\"} %llu\n",
                      (unsigned long long)adm.counters_other);
    le_buf_printf(&b, "# HELP livedge_admin_connections Open admin connections.\n"
                      "# TYPE livedge_admin_connections gauge\n"
                      "livedge_admin_connections %zu\n"
                      "# HELP livedge_admin_nonces Signature nonces remembered.\n"
                      "# TYPE livedge_admin_nonces gauge\n"
                      "livedge_admin_nonces %u\n"
                      "# HELP livedge_admin_nonces_evicted_total Nonces forgotten early, the cache being full.\n"
                      "# TYPE livedge_admin_nonces_evicted_total counter\n"
                      "livedge_admin_nonces_evicted_total %llu\n",
                  adm.nconns, (unsigned)adm.nc.count, (unsigned long long)adm.nonces_evicted);
    finish(r, 200, "OK", NULL, PROM_CT, b.p, b.len);
    le_buf_free(&b);
}

/* ---- the console's files (console.h), under the API's own loopback rule ---- */

static void console(le_admin_req *r, const le_http_req *h)
{
    const le_conf *cf = conf();
    if (!keys_configured(cf) && !adm.loopback) {
        le_admin_error(r, 403, "Forbidden", "The admin API is unsigned and reachable beyond loopback.");
        return;
    }
    char inm[128];
    le_console_reply o;
    le_console_get(cf->console_root ? cf->console_root : LE_PKGDATADIR "/www", r->method, h->path.p, h->path.n,
                   hdr_str(h, "if-none-match", inm, sizeof(inm)), &o);
    r->xhdr = o.headers;
    finish(r, o.status, o.code, NULL, o.ctype, o.body, o.len);
}

/* ---- HTTP ---- */

static void dispatch(conn *c, const le_http_req *h, const char *raw)
{
    le_admin_req *r = req_new(c, le_http_method_name(h->method), &h->path, h->keep_alive);
    c->req = r;
    c->state = CS_WAIT;
    arm(c, HANDLER_TIMEOUT_MS);
    if (h->query.p) {
        char f[8];
        r->json = le_query_get(h->query.p, h->query.n, "Format", f, sizeof(f)) > 0 &&
                  strcasecmp(f, "JSON") == 0;
    }
    if (le_http_str_eq(h->path, "/metrics")) {
        if (h->method == LE_HTTP_GET)
            metrics(r);
        else
            le_admin_error(r, 405, "MethodNotAllowed", "Only GET is allowed here.");
        return;
    }
    if (le_console_match(h->path.p, h->path.n)) {
        console(r, h);
        return;
    }
    if (!(h->path.n == 1 && h->path.p[0] == '/')) {
        le_admin_error(r, 404, "NotFound", "The specified path is not found.");
        return;
    }
    if (h->method != LE_HTTP_GET && h->method != LE_HTTP_POST) {
        le_admin_error(r, 405, "MethodNotAllowed", "Only GET and POST are allowed.");
        return;
    }
    if (is_tc3(h)) {
        tc3_call(r, h, raw);
        return;
    }
    char msg[160];
    if (h->query.p && parse_form(r, h->query.p, h->query.n, msg, sizeof(msg)) != 0) {
        le_admin_error(r, 400, "InvalidParameter", msg);
        return;
    }
    if (h->method == LE_HTTP_POST && h->content_length > 0) {
        if (!is_form(le_http_find(h, "content-type"))) {
            le_admin_error(r, 415, "UnsupportedMediaType",
                           "The body must be application/x-www-form-urlencoded.");
            return;
        }
        if (parse_form(r, raw + h->head_len, (size_t)h->content_length, msg, sizeof(msg)) != 0) {
            le_admin_error(r, 400, "InvalidParameter", msg);
            return;
        }
    }
    api_call(r);
}

/* A request that cannot be framed: answer and close. */
static void protocol_error(conn *c, int status, const char *code, const char *message)
{
    le_admin_req *r = req_new(c, "-", NULL, 0);
    c->req = r;
    c->state = CS_WAIT;
    le_admin_error(r, status, code, message);
}

static const char *protocol_code(int status)
{
    switch (status) {
    case 414: return "RequestURITooLong";
    case 431: return "RequestHeaderFieldsTooLarge";
    case 505: return "HTTPVersionNotSupported";
    default: return "BadRequest";
    }
}

static void process(conn *c)
{
    c->in_process = 1;
    while (!c->closing && (c->state == CS_IDLE || c->state == CS_READ)) {
        struct evbuffer *in = bufferevent_get_input(c->bev);
        size_t len = evbuffer_get_length(in);
        /* A pipelining client that does not read: net.h resumes. */
        if (le_net_conn_out_full(c->nc))
            break;
        if (len == 0) {
            if (c->eof)
                conn_close(c, "peer closed");
            break;
        }
        le_net_conn_set_idle(c->nc, 0);
        if (c->state == CS_IDLE) {
            /* The slowloris bound runs from a request's first byte. */
            c->state = CS_READ;
            arm(c, header_timeout_ms());
        }
        size_t look = len < INPUT_MAX ? len : INPUT_MAX;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)look);
        le_http_req h;
        int rc = le_http_parse(p, look, &h);
        if (rc == LE_EAGAIN) {
            if (c->eof)
                conn_close(c, "peer closed mid-request");
            break;
        }
        if (rc != LE_OK) {
            protocol_error(c, h.status, protocol_code(h.status), "The request is not valid HTTP/1.1.");
            break;
        }
        if (h.chunked_body) {
            protocol_error(c, 411, "LengthRequired", "A chunked body is not accepted; send Content-Length.");
            break;
        }
        if (h.content_length > BODY_MAX) {
            protocol_error(c, 413, "RequestEntityTooLarge", "The request body is over 64 KiB.");
            break;
        }
        size_t need = h.head_len + (h.content_length > 0 ? (size_t)h.content_length : 0);
        if (look < need) {
            if (c->eof)
                conn_close(c, "peer closed mid-body");
            break;
        }
        /* The parse slices point into the input buffer: dispatch copies out
         * what the request keeps (its parameters, the path for logs) and
         * nothing appends to the input meanwhile, so the bytes are dropped
         * only afterwards, without a copy or a second parse. */
        dispatch(c, &h, p);
        evbuffer_drain(in, need);
    }
    c->in_process = 0;
}

/* ---- connection callbacks (net.h) ---- */

static void conn_read(void *ctx)
{
    process(ctx);
}

static void conn_drained(void *ctx)
{
    conn *c = ctx;
    if (c->state == CS_FLUSH)
        conn_close(c, "answered, not keep-alive");
}

static void conn_event(void *ctx, short what)
{
    conn *c = ctx;
    if (what & BEV_EVENT_ERROR) {
        conn_close(c, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return;
    }
    if (what & BEV_EVENT_EOF) {
        c->eof = 1;
        /* Half-closed after a request: the answer may still go out. */
        if (c->state == CS_WAIT || c->state == CS_FLUSH)
            return;
        process(c);
        if (!c->closing && c->state != CS_WAIT && c->state != CS_FLUSH)
            conn_close(c, "peer closed");
    }
}

static void conn_closing(void *ctx, const char *why)
{
    conn *c = ctx;
    c->closing = 1;
    le_debug(MOD, "#%llu %s closed: %s", (unsigned long long)c->id, c->peer, why);
    evtimer_del(c->timer);
    if (c->req) {
        c->req->c = NULL;   /* the handler's reply will be dropped */
        c->req = NULL;
    }
}

static void conn_free(void *ctx)
{
    conn *c = ctx;
    adm.nconns--;
    event_free(c->timer);
    free(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn *c = arg;
    if (c->closing)
        return;
    switch (c->state) {
    case CS_READ:
        le_info(MOD, "#%llu %s: no complete request within %lld ms, closing", (unsigned long long)c->id,
                c->peer, (long long)header_timeout_ms());
        conn_close(c, "header timeout");
        break;
    case CS_WAIT: {
        /* The handler is late: answer for it, and let its reply only free. */
        le_admin_req *r = c->req;
        char ea[128];
        le_warn(MOD, "request %s Action=%s: no answer from the handler within %d ms", r->id,
                esc(r->action, ea, sizeof(ea)), HANDLER_TIMEOUT_MS);
        le_jv *o = error_body(r, "ServiceUnavailable",
                              "The request has failed due to a temporary failure of the server.");
        le_buf b = { 0 };
        render(r, o, "Error", &b);
        le_jv_free(o);
        count(503, "ServiceUnavailable");
        r->c = NULL;
        r->answered = 1;
        conn_send(c, r->tc3 ? 200 : 503, r->json || r->tc3 ? JSON_CT : XML_CT, r->id, b.p, b.len, 0, NULL);
        le_buf_free(&b);
        break;
    }
    case CS_FLUSH:
        conn_close(c, "write timeout");
        break;
    default:
        conn_close(c, "keep-alive idle");
        break;
    }
}

static void *conn_accept(le_net_conn *nc)
{
    conn *c = le_xcalloc(1, sizeof(*c));
    c->nc = nc;
    c->id = le_net_conn_id(nc);
    c->bev = le_net_conn_bev(nc);
    c->timer = evtimer_new(adm.base, timer_cb, c);
    snprintf(c->peer, sizeof(c->peer), "%s", le_net_conn_peer(nc));
    snprintf(c->ip, sizeof(c->ip), "%s", strcmp(le_net_conn_peer_ip(nc), "?") ? le_net_conn_peer_ip(nc) : "");
    adm.nconns++;
    c->state = CS_READ;
    le_net_conn_set_idle(nc, 1);   /* until its first byte */
    arm(c, header_timeout_ms());
    bufferevent_setwatermark(c->bev, EV_READ, 0, INPUT_MAX + 1);
    le_debug(MOD, "#%llu %s connected", (unsigned long long)c->id, c->peer);
    return c;
}

static void conn_limits(le_net_limits *l)
{
    const le_conf *cf = conf();
    l->max_conns = MAX_CONNS;
    l->max_per_addr = cf && cf->admin_max_conns_per_ip > 0 ? cf->admin_max_conns_per_ip : 0;
    l->evict_idle = 1;
    l->out_high = OUT_PAUSE_BYTES;
    l->out_low = OUT_RESUME_BYTES;
    l->out_stall_ms = WRITE_TIMEOUT_MS;
}

static const le_net_ops admin_net_ops = {
    .mod = MOD,
    .limits = conn_limits,
    .accept = conn_accept,
    .read = conn_read,
    .drained = conn_drained,
    .event = conn_event,
    .closing = conn_closing,
    .free = conn_free,
};

static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return 0;
}

/* ---- public ---- */

void le_admin_set_conf(const le_conf *c)
{
    adm.conf = c;
}

int le_admin_listen(struct event_base *base, const char *addr, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    char e[256];
    if (adm.lis) {
        snprintf(err, errlen, "admin_listen %s: already listening", addr);
        return LE_EEXIST;
    }
    if (le_conf_listen_addr(addr, &ss, &sslen) != 0) {
        snprintf(err, errlen, "admin_listen %s: not an IPv4:PORT or [IPv6]:PORT address", addr);
        return LE_EINVAL;
    }
    adm.loopback = is_loopback(&ss);
    if (!keys_configured(conf()) && !adm.loopback) {
        snprintf(err, errlen,
                 "admin_listen %s is not a loopback address and no admin { access_key_id; "
                 "access_key_secret; } is configured: refusing to serve the admin API unsigned",
                 addr);
        return LE_EDENIED;
    }
    adm.base = base;
    if (le_net_listen(&adm.lis, base, addr, 64, &admin_net_ops, e, sizeof(e)) != LE_OK) {
        snprintf(err, errlen, "admin_listen %s", e);
        return LE_EIO;
    }
    int tls = conf() && conf()->admin_tls;
    if (tls)
        le_net_listener_set_tls(adm.lis, 1);   /* admin_tls: HTTPS, ALPN http/1.1 */
    le_info(MOD, "admin API on %s (port %d%s), %s", addr, le_net_listener_port(adm.lis), tls ? ", TLS" : "",
            keys_configured(conf()) ? "signed calls only" : "unsigned calls accepted (loopback)");
    return LE_OK;
}

int le_admin_port(void)
{
    return le_net_listener_port(adm.lis);
}

void le_admin_shutdown(void)
{
    le_net_listener_free(adm.lis, "shutdown");
    adm.lis = NULL;
    nonce_free_all();
    le_console_reset();
    for (size_t i = 0; i < adm.nactions; i++)
        free(adm.actions[i].name);
    free(adm.actions);
    adm.actions = NULL;
    adm.nactions = 0;
}

void le_admin_register_tc3(const char *action)
{
    for (size_t i = 0; i < adm.nactions; i++)
        if (strcmp(adm.actions[i].name, action) == 0)
            adm.actions[i].tc3 = 1;
}

void le_admin_register(const char *action, le_admin_handler h)
{
    for (size_t i = 0; i < adm.nactions; i++) {
        if (strcmp(adm.actions[i].name, action) == 0) {
            adm.actions[i].h = h;
            return;
        }
    }
    adm.actions = le_xrealloc(adm.actions, (adm.nactions + 1) * sizeof(*adm.actions));
    adm.actions[adm.nactions].name = le_xstrdup(action);
    adm.actions[adm.nactions].h = h;
    adm.actions[adm.nactions].tc3 = 0;
    adm.nactions++;
}

