/* A cluster lease in Redis (control/lease.h). */
#include "control/lease.h"
#include "core/err.h"
#include "core/util.h"
#include "node.h"
#include "store/store.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Renews the lease if it is ours: 1; -1 when it is gone (expired, or Redis
 * restarted empty: the holder then claims it again with SET NX); 0 when
 * another node holds it. A renewal never creates the key: one that Redis
 * runs late (it was frozen) must not bring back a lease its holder already
 * gave up. */
static const char *const RENEW_LUA =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
    "if not v then return -1 end return 0";
static const char *const RELEASE_LUA =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

static uint64_t token_n;   /* tokens are never reused by this process */

int le_lease_make_token(char *out, size_t n, const char *node, long pid, uint64_t seq)
{
    char tail[64];
    int t = snprintf(tail, sizeof(tail), "/%ld/%" PRIu64, pid, seq);
    size_t nl = node ? strlen(node) : 0;
    if (n == 0)
        return LE_ETOOBIG;
    if (t < 0 || (size_t)t >= n) {
        out[0] = '\0';
        return LE_ETOOBIG;
    }
    if (nl > n - 1 - (size_t)t)
        nl = n - 1 - (size_t)t;
    if (nl)
        memcpy(out, node, nl);
    memcpy(out + nl, tail, (size_t)t + 1);
    return LE_OK;
}

void le_lease_init(le_lease *l, const char *key, const le_lease_opts *o, const le_lease_ops *ops, void *ctx)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->key, sizeof(l->key), "%s", key);
    l->o = *o;
    l->ops = ops;
    l->ctx = ctx;
}

/* The end of every counted reply: the owner may free l in ops->reply. */
static void replied(le_lease *l)
{
    l->pending--;
    if (l->ops && l->ops->reply)
        l->ops->reply(l->ctx);
}

static void release_cb(redisReply *rep, void *arg)
{
    le_lease *l = arg;
    l->releasing = 0;
    /* Ran: done. Not sent or no answer: again at the next flush, so that a
     * command Redis ran late (it was frozen) cannot keep the key alive. */
    if (rep && rep->type == REDIS_REPLY_INTEGER && l->nrel > 0) {
        memmove(l->rel[0], l->rel[1], sizeof(l->rel[0]) * (size_t)(l->nrel - 1));
        l->nrel--;
    }
    replied(l);
}

void le_lease_flush(le_lease *l)
{
    if (!l->nrel || l->releasing || !le_store_connected())
        return;
    if (le_store_cmd(release_cb, l, "EVAL %s 1 %s %s", RELEASE_LUA, l->key, l->rel[0]) == 0) {
        l->releasing = 1;
        l->pending++;
    }
}

/* Deletes the lease if it still holds token (compare-and-delete, retried
 * until Redis ran it). Tokens are never reused, so this cannot delete a
 * lease taken since. */
static void add_release(le_lease *l, const char *token)
{
    for (int i = 0; i < l->nrel; i++)
        if (strcmp(l->rel[i], token) == 0)
            return;
    if (l->nrel == LE_LEASE_RELEASES) {
        memmove(l->rel[0], l->rel[1], sizeof(l->rel[0]) * (LE_LEASE_RELEASES - 1));
        l->nrel--;
    }
    snprintf(l->rel[l->nrel++], sizeof(l->rel[0]), "%s", token);
    le_lease_flush(l);
}

void le_lease_release(le_lease *l)
{
    if (!l->holding)
        return;
    l->holding = 0;
    l->renew_failed = 0;
    add_release(l, l->token);
}

/* A claim: SET NX answered OK (ours now), nil (another node holds it) or
 * nothing (Redis unreachable). A holder claims too, when its renewal found
 * the key gone. */
static void claim_cb(redisReply *rep, void *arg)
{
    le_lease *l = arg;
    const le_lease_ops *ops = l->ops;
    l->claiming = 0;
    int got = rep && rep->type == REDIS_REPLY_STATUS && strcasecmp(rep->str, "OK") == 0;
    if (ops && ops->gone && ops->gone(l->ctx)) {
        if (got)   /* reaped or stopping meanwhile: give it back (once) */
            le_store_cmd(NULL, NULL, "EVAL %s 1 %s %s", RELEASE_LUA, l->key, l->token);
    } else if (got) {
        l->lease_sent = l->renew_sent = l->claim_sent;
        l->renew_failed = 0;
        if (!l->holding) {
            l->holding = 1;
            if (ops && ops->won)
                ops->won(l->ctx);
        }
    } else if (l->holding) {
        if (rep && rep->type == REDIS_REPLY_NIL) {
            if (ops && ops->lost)
                ops->lost(l->ctx);
        } else {
            l->renew_failed++;
        }
    } else if (!rep || rep->type != REDIS_REPLY_NIL) {
        /* Unknown outcome: Redis may still run it; undo it then. */
        add_release(l, l->token);
    }
    replied(l);
}

static void send_claim(le_lease *l, uint64_t now)
{
    char ttl[16];
    if (!l->holding) {
        const char *node = le_node_conf() ? le_node_conf()->node_name : NULL;
        le_lease_make_token(l->token, sizeof(l->token), node ? node : "", (long)getpid(), ++token_n);
    }
    snprintf(ttl, sizeof(ttl), "%d", l->o.lease_ms);
    l->next_claim = now + LE_LEASE_RETRY_MS;
    l->claim_sent = now;
    if (le_store_cmd(claim_cb, l, "SET %s %s NX PX %s", l->key, l->token, ttl) == 0) {
        l->claiming = 1;
        l->pending++;
    }
}

int le_lease_claim(le_lease *l, uint64_t now)
{
    if (l->holding || l->claiming || l->renewing || now < l->next_claim || !le_store_connected())
        return 0;
    send_claim(l, now);
    return 1;
}

static void renew_cb(redisReply *rep, void *arg)
{
    le_lease *l = arg;
    const le_lease_ops *ops = l->ops;
    l->renewing = 0;
    if (l->holding && !(ops && ops->gone && ops->gone(l->ctx))) {
        if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1) {
            l->lease_sent = l->renew_sent;
            if (l->renew_failed && ops && ops->renewal)
                ops->renewal(l->ctx, 1);
            l->renew_failed = 0;
        } else if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == -1) {
            send_claim(l, le_mono_ms());
        } else if (rep && rep->type == REDIS_REPLY_INTEGER) {
            if (ops && ops->lost)
                ops->lost(l->ctx);
        } else {
            if (!l->renew_failed && ops && ops->renewal)
                ops->renewal(l->ctx, 0);
            l->renew_failed++;
        }
    }
    replied(l);
}

void le_lease_renew(le_lease *l, uint64_t now)
{
    char ttl[16];
    if (!l->holding || l->renewing || l->claiming ||
        now < l->renew_sent + (uint64_t)(l->renew_failed ? LE_LEASE_RETRY_MS : l->o.renew_ms))
        return;
    snprintf(ttl, sizeof(ttl), "%d", l->o.lease_ms);
    l->renew_sent = now;
    if (le_store_cmd(renew_cb, l, "EVAL %s 1 %s %s %s", RENEW_LUA, l->key, l->token, ttl) == 0) {
        l->renewing = 1;
        l->pending++;
    } else {
        l->renew_failed++;
    }
}

void le_lease_defer(le_lease *l, uint64_t until)
{
    l->next_claim = until;
}

int le_lease_holding(const le_lease *l)
{
    return l->holding;
}

int le_lease_held(const le_lease *l, uint64_t now)
{
    /* The lease runs from when Redis ran the command, after it was sent. */
    return l->holding &&
           now + (uint64_t)l->o.tick_ms < l->lease_sent + (uint64_t)l->o.lease_ms - (uint64_t)l->o.margin_ms;
}

int le_lease_claiming(const le_lease *l)
{
    return l->claiming;
}

int le_lease_releasing(const le_lease *l)
{
    return l->nrel > 0;
}

int le_lease_busy(const le_lease *l)
{
    return l->pending > 0;
}

const char *le_lease_token(const le_lease *l)
{
    return l->token;
}

uint64_t le_lease_sent(const le_lease *l)
{
    return l->lease_sent;
}
