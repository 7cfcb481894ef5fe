/* Time-shift index: names and members (pure), then the Redis side. */
#include "timeshift/index.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/util.h"
#include "store/store.h"

/* Far beyond any real clock (year ~33658), far below int64 overflow when
 * durations and retention are added. */
#define MAX_START_MS 1000000000000000LL

/* ---- pure ---- */

void le_tsi_day(int64_t ms, char out[9])
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char t[48];
    snprintf(t, sizeof(t), "%04d%02d%02d", (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday);
    memcpy(out, t, 8);
    out[8] = '\0';
}

static int ent_valid(const le_tsi_ent *e)
{
    return e->start_ms >= 0 && e->start_ms < MAX_START_MS && e->duration_ms >= 1 &&
           e->duration_ms <= LE_TSI_MAX_SEG_MS && (e->disc == 0 || e->disc == 1);
}

int le_tsi_name_build(const le_tsi_ent *e, char *out, size_t outsz)
{
    if (!ent_valid(e))
        return LE_EINVAL;
    int n = snprintf(out, outsz, "%" PRId64 "-%" PRIu64 "-%" PRId64 "-%" PRIu64 "%s.ts", e->start_ms,
                     e->seq, e->duration_ms, e->dseq, e->disc ? "-d" : "");
    return n > 0 && (size_t)n < outsz ? 0 : LE_EINVAL;
}

int le_tsi_rel_build(const le_tsi_ent *e, char *out, size_t outsz)
{
    char day[9], name[LE_TSI_NAME_MAX];
    int rc = le_tsi_name_build(e, name, sizeof(name));
    if (rc)
        return rc;
    le_tsi_day(e->start_ms, day);
    int n = snprintf(out, outsz, "%s/%s", day, name);
    return n > 0 && (size_t)n < outsz ? 0 : LE_EINVAL;
}

/* A decimal number at *p (up to end) without a leading zero unless it is
 * "0"; advances *p. 0 or LE_EINVAL. */
static int take_num(const char **p, const char *end, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    size_t k = 0;
    while (s + k < end && s[k] >= '0' && s[k] <= '9') {
        unsigned d = (unsigned)(s[k] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return LE_EINVAL;
        x = x * 10 + d;
        k++;
    }
    if (k == 0 || (k > 1 && s[0] == '0'))
        return LE_EINVAL;
    *p = s + k;
    *v = x;
    return 0;
}

static int take_char(const char **p, const char *end, char ch)
{
    if (*p >= end || **p != ch)
        return LE_EINVAL;
    (*p)++;
    return 0;
}

int le_tsi_name_parse(const char *name, size_t n, le_tsi_ent *e)
{
    const char *p = name, *end = name + n;
    uint64_t start, seq, dur, dseq;
    if (take_num(&p, end, &start) || take_char(&p, end, '-') || take_num(&p, end, &seq) ||
        take_char(&p, end, '-') || take_num(&p, end, &dur) || take_char(&p, end, '-') ||
        take_num(&p, end, &dseq))
        return LE_EINVAL;
    int disc = 0;
    if ((size_t)(end - p) == 5 && memcmp(p, "-d.ts", 5) == 0)
        disc = 1;
    else if ((size_t)(end - p) != 3 || memcmp(p, ".ts", 3) != 0)
        return LE_EINVAL;
    if (start >= (uint64_t)MAX_START_MS || dur > LE_TSI_MAX_SEG_MS)
        return LE_EINVAL;
    le_tsi_ent t = { (int64_t)start, (int64_t)dur, seq, dseq, disc };
    if (!ent_valid(&t))
        return LE_EINVAL;
    *e = t;
    return 0;
}

int le_tsi_member_build(const le_tsi_ent *e, char *out, size_t outsz)
{
    char rel[LE_TSI_REL_MAX];
    int rc = le_tsi_rel_build(e, rel, sizeof(rel));
    if (rc)
        return rc;
    int n = snprintf(out, outsz, "%" PRId64 "|%" PRId64 "|%" PRIu64 "|%d|%" PRIu64 "|%s", e->start_ms,
                     e->duration_ms, e->seq, e->disc, e->dseq, rel);
    return n > 0 && (size_t)n < outsz ? 0 : LE_EINVAL;
}

int le_tsi_member_parse(const char *s, size_t n, le_tsi_ent *e)
{
    const char *p = s, *end = s + n;
    uint64_t start, dur, seq, disc, dseq;
    if (take_num(&p, end, &start) || take_char(&p, end, '|') || take_num(&p, end, &dur) ||
        take_char(&p, end, '|') || take_num(&p, end, &seq) || take_char(&p, end, '|') ||
        take_num(&p, end, &disc) || take_char(&p, end, '|') || take_num(&p, end, &dseq) ||
        take_char(&p, end, '|'))
        return LE_EINVAL;
    if (start >= (uint64_t)MAX_START_MS || dur > LE_TSI_MAX_SEG_MS || disc > 1)
        return LE_EINVAL;
    le_tsi_ent t = { (int64_t)start, (int64_t)dur, seq, dseq, (int)disc };
    char rel[LE_TSI_REL_MAX];
    if (le_tsi_rel_build(&t, rel, sizeof(rel)) != 0)
        return LE_EINVAL;
    size_t rl = strlen(rel);
    if ((size_t)(end - p) != rl || memcmp(p, rel, rl) != 0)
        return LE_EINVAL;
    *e = t;
    return 0;
}

int le_tsi_span_add(le_tsi_span *out, size_t max, size_t *n, const le_tsi_ent *e)
{
    int64_t end = e->start_ms + e->duration_ms;
    if (*n > 0 && e->start_ms <= out[*n - 1].end_ms + LE_TSI_GAP_MS) {
        if (end > out[*n - 1].end_ms)
            out[*n - 1].end_ms = end;
        return 0;
    }
    if (*n >= max)
        return LE_ETOOBIG;
    out[*n].start_ms = e->start_ms;
    out[*n].end_ms = end;
    (*n)++;
    return 0;
}

size_t le_tsi_prepare(const le_tsi_ent *e, size_t n, int consecutive_tail, int *disc_out)
{
    size_t first = 0;
    if (consecutive_tail && n > 1) {
        first = n - 1;
        while (first > 0 && e[first - 1].seq + 1 == e[first].seq)
            first--;
    }
    for (size_t i = 0; i < n; i++) {
        if (i <= first) {
            disc_out[i] = 0;
            continue;
        }
        const le_tsi_ent *a = &e[i - 1], *b = &e[i];
        disc_out[i] = b->disc || b->dseq != a->dseq ||
                      b->start_ms - (a->start_ms + a->duration_ms) > LE_TSI_GAP_MS;
    }
    return first;
}

/* ---- Redis ---- */

char *le_tsi_key(char *out, size_t outsz, const char *domain, const char *app, const char *name)
{
    return le_store_key(out, outsz, "ts:%s/%s/%s", domain, app, name);
}

int le_tsi_add(const char *domain, const char *app, const char *name, const le_tsi_ent *e)
{
    char key[900], member[LE_TSI_MEMBER_MAX], score[24], skey[400], dkey[64], sm[520];
    if (le_tsi_member_build(e, member, sizeof(member)) != 0)
        return LE_EINVAL;
    le_tsi_key(key, sizeof(key), domain, app, name);
    snprintf(score, sizeof(score), "%" PRId64, e->start_ms);
    const char *zadd[] = { "ZADD", key, score, member };
    if (le_store_writeargv(4, zadd, NULL) != 0)
        return LE_EIO;
    /* The sets only grow here (one SADD each per segment is cheap next to
     * the segment itself); the sweep forgets empty streams. */
    le_store_key(skey, sizeof(skey), "ts:streams:%s", domain);
    snprintf(sm, sizeof(sm), "%s/%s", app, name);
    const char *sadd[] = { "SADD", skey, sm };
    le_store_writeargv(3, sadd, NULL);
    le_store_key(dkey, sizeof(dkey), "ts:domains");
    const char *dadd[] = { "SADD", dkey, domain };
    le_store_writeargv(3, dadd, NULL);
    return 0;
}

int le_tsi_remove(const char *domain, const char *app, const char *name, const le_tsi_ent *e,
                  size_t n)
{
    if (n == 0)
        return 0;
    char key[900];
    le_tsi_key(key, sizeof(key), domain, app, name);
    const char **argv = le_xmalloc((n + 2) * sizeof(*argv));
    char (*members)[LE_TSI_MEMBER_MAX] = le_xmalloc(n * sizeof(*members));
    int argc = 0;
    argv[argc++] = "ZREM";
    argv[argc++] = key;
    for (size_t i = 0; i < n; i++)
        if (le_tsi_member_build(&e[i], members[i], sizeof(members[i])) == 0)
            argv[argc++] = members[i];
    int rc = argc > 2 ? le_store_writeargv(argc, argv, NULL) : 0;
    free(members);
    free(argv);
    return rc == 0 ? 0 : LE_EIO;
}

typedef struct range_req {
    le_tsi_range_cb cb;
    void *arg;
} range_req;

static void range_reply(redisReply *r, void *arg)
{
    range_req *q = arg;
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        q->cb(0, NULL, 0, 0, q->arg);
        free(q);
        return;
    }
    le_tsi_ent *e = r->elements ? le_xmalloc(r->elements * sizeof(*e)) : NULL;
    size_t n = 0, bad = 0;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *m = r->element[i];
        if (m->type == REDIS_REPLY_STRING && le_tsi_member_parse(m->str, m->len, &e[n]) == 0)
            n++;
        else
            bad++;
    }
    q->cb(1, e, n, bad, q->arg);
    free(e);
    free(q);
}

int le_tsi_range(const char *domain, const char *app, const char *name, int64_t min_ms,
                 int64_t max_ms, int max_excl, int rev, size_t limit, le_tsi_range_cb cb, void *arg)
{
    char key[900], lo[32], hi[32], lim[24];
    le_tsi_key(key, sizeof(key), domain, app, name);
    if (min_ms == INT64_MIN)
        snprintf(lo, sizeof(lo), "-inf");
    else
        snprintf(lo, sizeof(lo), "%" PRId64, min_ms);
    if (max_ms == INT64_MAX)
        snprintf(hi, sizeof(hi), "+inf");
    else
        snprintf(hi, sizeof(hi), "%s%" PRId64, max_excl ? "(" : "", max_ms);
    snprintf(lim, sizeof(lim), "%zu", limit);
    const char *argv[] = { rev ? "ZREVRANGEBYSCORE" : "ZRANGEBYSCORE", key, rev ? hi : lo,
                           rev ? lo : hi, "LIMIT", "0", lim };
    range_req *q = le_xmalloc(sizeof(*q));
    q->cb = cb;
    q->arg = arg;
    if (le_store_cmdargv(range_reply, q, 7, argv, NULL) != 0) {
        free(q);
        return LE_EIO;
    }
    return 0;
}
