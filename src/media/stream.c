#include "media/stream.h"
#include "media/flv.h"
#include "conf/conf.h"
#include "core/err.h"
#include "core/keytab.h"
#include "core/log.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

/* Tracks a publish has sent (pub_tracks, cont_tracks). */
#define TRK_V 1
#define TRK_A 2
/* A continuing publish that sends audio but no keyframe for this long (its
 * timestamps) is compared without one: it has no video. */
#define CONT_WAIT_MS 3000

struct le_stream {
    char *key;                  /* "domain/app/name"; domain/app/name point into it */
    const char *domain, *app, *name;
    le_keytab_ent ke;           /* in the registry by key */

    const le_pub_ops *pub_ops;  /* publisher slot; NULL when not live */
    void *pub_ctx;
    uint64_t pub_start_wall_ms;
    uint64_t last_pkt_ms;       /* monotonic, last packet from the publisher */

    /* What a new viewer needs before live packets. Each holds a reference,
     * released when replaced, on unpublish, or when the stream is freed. */
    le_pkt *meta, *vseq, *aseq;
    le_pkt **gop;               /* since the last video keyframe */
    size_t gop_len, gop_cap, gop_bytes;
    int has_video;              /* this publish has sent video */
    int taking_over;            /* a takeover is swapping publishers */
    int no_grace;               /* the publish ends for good (unpublish, forbid) */
    int pub_tracks;             /* TRK_*: what this publish has sent */

    /* Players kept from an earlier publish (le_sub.kept). grace_until: the
     * publisher left, they wait until then (monotonic; 0: not waiting).
     * cont: they have not been compared with the current publish yet;
     * cont_*: the tracks and codecs they follow. */
    uint64_t grace_until_ms;
    struct event *grace_ev;
    int held;                   /* the wait is a hold (le_stream_hold), not a grace */
    int cont, cont_tracks;
    uint8_t cont_vcodec, cont_acodec;
    uint32_t cont_first_ts;     /* first media frame of the compared publish */
    int cont_first_set;

    le_feed *feeds[LE_FEED_MAX];   /* players' wire forms; created on first join */

    /* [0]: subscribers that take packets; [1]: feed readers (players), kept
     * apart so a packet's fan-out does not walk every player. */
    le_sub *subs[2];
    int nviewers;
    struct seen { uint64_t client, until_ms; } *seen;   /* connectionless viewers */
    size_t nseen, seen_cap;
    uint64_t idle_since_ms;     /* monotonic; 0 while in use */

    void *ext[LE_STREAM_EXT_MAX];
    void (*ext_free[LE_STREAM_EXT_MAX])(void *);
    le_stream_stats stats;
};

static le_keytab table;
#define ST(e) LE_KEYTAB_OBJ(e, le_stream, ke)
static size_t nlive;
static le_stream_hook hooks[LE_STREAM_HOOKS_MAX], unhooks[LE_STREAM_HOOKS_MAX];
static int nhooks, nunhooks;
static le_stream_filter push_filter;   /* le_stream_set_filter */
static const char *ext_names[LE_STREAM_EXT_MAX];
static int next_slots;
static le_stream_limits limits = {
    .gop_max_ms = 10000, .gop_max_bytes = 16u << 20, .viewer_queue_bytes = 4u << 20,
    .viewer_drop_ms = 10000, .takeover = LE_TAKEOVER_IDLE, .takeover_idle_ms = 3000,
    .reconnect_grace_ms = 10000,
};

void le_stream_set_limits(const le_stream_limits *l)
{
    limits = *l;
    le_feed_set_limits(l->viewer_queue_bytes, l->viewer_drop_ms);
}
const le_stream_limits *le_stream_get_limits(void) { return &limits; }

static struct event_base *ev_base;
void le_stream_set_base(struct event_base *base) { ev_base = base; }

le_stream *le_stream_find(const char *domain, const char *app, const char *name, int create)
{
    size_t dl = strlen(domain), al = strlen(app), nl = strlen(name);
    char *key = le_xmalloc(dl + al + nl + 3);
    memcpy(key, domain, dl);
    key[dl] = '/';
    memcpy(key + dl + 1, app, al);
    key[dl + 1 + al] = '/';
    memcpy(key + dl + al + 2, name, nl + 1);

    le_keytab_ent *e = le_keytab_find(&table, key);
    if (e || !create) {
        free(key);
        return e ? ST(e) : NULL;
    }
    le_stream *st = le_xcalloc(1, sizeof(*st));
    st->key = key;
    /* domain/app/name as separate strings: a second copy with NULs. */
    char *parts = le_xmalloc(dl + al + nl + 3);
    memcpy(parts, key, dl + al + nl + 3);
    parts[dl] = '\0';
    parts[dl + 1 + al] = '\0';
    st->domain = parts;
    st->app = parts + dl + 1;
    st->name = parts + dl + al + 2;
    st->idle_since_ms = le_mono_ms();
    le_keytab_insert(&table, &st->ke, st->key);
    return st;
}

const char *le_stream_domain(const le_stream *st) { return st->domain; }
const char *le_stream_app(const le_stream *st) { return st->app; }
const char *le_stream_name(const le_stream *st) { return st->name; }
const char *le_stream_key(const le_stream *st) { return st->key; }
int le_stream_is_live(const le_stream *st) { return st && st->pub_ops != NULL; }
int le_stream_in_grace(const le_stream *st) { return st && st->grace_until_ms != 0; }
uint64_t le_stream_publish_started_ms(const le_stream *st) { return st->pub_start_wall_ms; }
int le_stream_viewers(const le_stream *st)
{
    uint64_t now = le_mono_ms();
    int n = st->nviewers;
    for (size_t i = 0; i < st->nseen; i++)
        n += st->seen[i].until_ms > now;
    return n;
}

void le_stream_seen(le_stream *st, uint64_t client, uint64_t ttl_ms)
{
    uint64_t now = le_mono_ms();
    int found = 0;
    size_t w = 0;
    for (size_t i = 0; i < st->nseen; i++) {   /* refresh, and drop the expired */
        struct seen e = st->seen[i];
        if (e.client == client) {
            e.until_ms = now + ttl_ms;
            found = 1;
        }
        if (e.until_ms > now)
            st->seen[w++] = e;
    }
    st->nseen = w;
    if (found || st->nseen >= LE_STREAM_SEEN_MAX)
        return;
    if (st->nseen == st->seen_cap) {
        st->seen_cap = st->seen_cap ? st->seen_cap * 2 : 16;
        st->seen = le_xrealloc(st->seen, st->seen_cap * sizeof(*st->seen));
    }
    st->seen[st->nseen++] = (struct seen){ client, now + ttl_ms };
}
const le_stream_stats *le_stream_get_stats(const le_stream *st) { return &st->stats; }
size_t le_stream_count_live(void) { return nlive; }

static void gop_clear(le_stream *st)
{
    for (size_t i = 0; i < st->gop_len; i++)
        le_pkt_unref(st->gop[i]);
    st->gop_len = 0;
    st->gop_bytes = 0;
}

static void set_pkt(le_pkt **slot, le_pkt *p)
{
    if (*slot)
        le_pkt_unref(*slot);
    *slot = p ? le_pkt_ref(p) : NULL;
}

/* Forgets the publish's headers and GOP; the feeds too unless they keep
 * their readers for the next publish (suspended). */
static void reset_media(le_stream *st, int feeds)
{
    set_pkt(&st->meta, NULL);
    set_pkt(&st->vseq, NULL);
    set_pkt(&st->aseq, NULL);
    gop_clear(st);
    st->has_video = 0;
    for (int i = 0; i < LE_FEED_MAX && feeds; i++)
        if (st->feeds[i])
            le_feed_reset(st->feeds[i]);
}

/* Tells subscribers the publisher left: every one, or (players only) the
 * kept ones. A subscriber may not detach from inside unpublish (contract
 * above), so iteration with a saved next pointer is safe. */
static void tell_unpublish(le_stream *st, int kept_only)
{
    for (int l = 0; l < 2; l++)
        for (le_sub *s = st->subs[l], *n; s; s = n) {
            n = s->next;
            if (kept_only && !(s->is_player && s->kept))
                continue;
            s->kept = 0;
            if (s->ops->unpublish)
                s->ops->unpublish(s);
        }
}

static int has_players(const le_stream *st)
{
    for (int l = 0; l < 2; l++)
        for (const le_sub *s = st->subs[l]; s; s = s->next)
            if (s->is_player)
                return 1;
    return 0;
}

/* The kept players stop waiting: they follow the current publish (or
 * none, when ended), or end. */
static void cont_finish(le_stream *st, int follow)
{
    st->cont = 0;
    st->cont_first_set = 0;
    if (!follow)
        tell_unpublish(st, 1);
    for (int l = 0; l < 2; l++)
        for (le_sub *s = st->subs[l]; s; s = s->next)
            s->kept = 0;
    for (int i = 0; i < LE_FEED_MAX; i++) {
        if (!st->feeds[i])
            continue;
        if (st->pub_ops)
            le_feed_continue(st->feeds[i], st->has_video);
        else
            le_feed_reset(st->feeds[i]);
    }
}

static void grace_stop(le_stream *st)
{
    st->grace_until_ms = 0;
    st->held = 0;
    if (st->grace_ev)
        evtimer_del(st->grace_ev);
}

static void grace_expire(le_stream *st, void *arg)
{
    uint64_t now = *(const uint64_t *)arg;
    if (!st->grace_until_ms || st->grace_until_ms > now || st->pub_ops)
        return;
    le_info("stream", "%s: no publisher within %s, players end", st->key,
            st->held ? "the wait" : "publish_reconnect_grace");
    grace_stop(st);
    cont_finish(st, 0);
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    uint64_t due = UINT64_MAX;   /* the timer ran: due now, whatever the clock says */
    grace_expire(arg, &due);
}

void le_stream_grace_tick(void)
{
    uint64_t now = le_mono_ms();
    le_stream_foreach(grace_expire, &now);
}

/* The publisher left and the players stay for the next one: they get
 * nothing meanwhile (their feeds hold them), then follow the next publish
 * if its tracks are theirs. */
static void keep_players(le_stream *st)
{
    if (!st->cont) {
        /* What they follow: this publish's tracks. (A publish that ended
         * before it was compared leaves the earlier ones in place.) */
        st->cont = 1;
        st->cont_tracks = st->pub_tracks;
        st->cont_vcodec = st->stats.video_codec;
        st->cont_acodec = st->stats.audio_codec;
    }
    st->cont_first_set = 0;
    for (int l = 0; l < 2; l++)
        for (le_sub *s = st->subs[l]; s; s = s->next)
            if (s->is_player)
                s->kept = 1;
    for (int i = 0; i < LE_FEED_MAX; i++)
        if (st->feeds[i])
            le_feed_suspend(st->feeds[i]);
}

/* Releases the publisher slot and tells subscribers. In a takeover nobody
 * is told: the new publisher follows at once. With a grace the players
 * wait for the next publish and the others (HLS) are told. */
static void release_slot(le_stream *st)
{
    if (!st->pub_ops)
        return;
    st->pub_ops = NULL;
    st->pub_ctx = NULL;
    nlive--;
    int players = has_players(st);
    int grace = players && !st->taking_over && !st->no_grace && limits.reconnect_grace_ms > 0;
    int keep = players && (st->taking_over || grace);
    if (keep) {
        keep_players(st);
    } else if (st->cont) {   /* the kept players end with everyone, below */
        st->cont = 0;
        for (int l = 0; l < 2; l++)
            for (le_sub *s = st->subs[l]; s; s = s->next)
                s->kept = 0;
    }
    reset_media(st, !keep);
    if (!st->taking_over) {
        for (int l = 0; l < 2; l++)
            for (le_sub *s = st->subs[l], *n; s; s = n) {
                n = s->next;
                if (keep && s->is_player)
                    continue;
                if (s->ops->unpublish)
                    s->ops->unpublish(s);
            }
        for (int i = 0; i < nunhooks; i++)
            unhooks[i](st);
    }
    if (grace) {
        st->grace_until_ms = le_mono_ms() + (uint64_t)limits.reconnect_grace_ms;
        if (!st->grace_ev && ev_base)
            st->grace_ev = evtimer_new(ev_base, grace_cb, st);
        if (st->grace_ev) {
            struct timeval tv = { (time_t)(limits.reconnect_grace_ms / 1000),
                                  (suseconds_t)(limits.reconnect_grace_ms % 1000) * 1000 };
            evtimer_add(st->grace_ev, &tv);
        }
        le_info("stream", "%s: publisher left, players wait up to %lld ms for it", st->key,
                (long long)limits.reconnect_grace_ms);
    }
    if (!st->subs[0] && !st->subs[1])
        st->idle_since_ms = le_mono_ms();
}

int le_stream_publish(le_stream *st, const le_pub_ops *ops, void *ctx)
{
    if (st->pub_ops) {
        uint64_t now = le_mono_ms();
        int take = limits.takeover == LE_TAKEOVER_ALWAYS ||
                   (limits.takeover == LE_TAKEOVER_IDLE &&
                    now - st->last_pkt_ms >= (uint64_t)limits.takeover_idle_ms);
        if (!take)
            return LE_EEXIST;
        const le_pub_ops *old_ops = st->pub_ops;
        void *old_ctx = st->pub_ctx;
        le_info("stream", "%s: publisher replaced (takeover)", st->key);
        /* The old owner is told before the slot changes hands, so its
         * publish_done precedes the newcomer's publish. */
        st->taking_over = 1;
        old_ops->kick(old_ctx, "taken over by a new publisher");
        release_slot(st);
        st->taking_over = 0;
    }
    st->pub_ops = ops;
    st->pub_ctx = ctx;
    st->pub_start_wall_ms = (uint64_t)le_wall_ms();
    st->last_pkt_ms = le_mono_ms();
    st->idle_since_ms = 0;
    if (st->grace_until_ms) {
        grace_stop(st);
        le_info("stream", "%s: publisher back within the grace, players continue", st->key);
    }
    memset(&st->stats, 0, sizeof(st->stats));
    st->pub_tracks = 0;
    reset_media(st, !st->cont);
    nlive++;
    for (int i = 0; i < nhooks; i++)
        hooks[i](st);
    for (int l = 0; l < 2; l++)
        for (le_sub *s = st->subs[l], *n; s; s = n) {
            n = s->next;
            if (s->ops->publish)
                s->ops->publish(s);
        }
    return LE_OK;
}

static void grace_arm(le_stream *st, uint64_t until)
{
    st->grace_until_ms = until;
    if (!st->grace_ev && ev_base)
        st->grace_ev = evtimer_new(ev_base, grace_cb, st);
    if (st->grace_ev) {
        uint64_t now = le_mono_ms(), ms = until > now ? until - now : 0;
        struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
        evtimer_add(st->grace_ev, &tv);
    }
}

void le_stream_hold(le_stream *st, int64_t ms)
{
    if (!st || st->pub_ops || ms <= 0)
        return;
    uint64_t until = le_mono_ms() + (uint64_t)ms;
    if (st->grace_until_ms >= until)
        return;
    if (!st->grace_until_ms && !st->cont) {
        /* Nothing to compare the next publish with: players follow it. */
        keep_players(st);
        st->cont_tracks = 0;
        st->held = 1;
    }
    grace_arm(st, until);
}

void le_stream_end_wait(le_stream *st)
{
    if (!st || st->pub_ops || !st->grace_until_ms)
        return;
    grace_stop(st);
    le_info("stream", "%s: the wait for a publisher ends, players end", st->key);
    cont_finish(st, 0);
}

void le_stream_kick_publisher(le_stream *st, const char *reason)
{
    if (!st || !st->pub_ops)
        return;
    st->no_grace = 1;
    st->pub_ops->kick(st->pub_ctx, reason);
    release_slot(st);
    st->no_grace = 0;
}

void le_stream_unpublish(le_stream *st, void *ctx)
{
    if (st->pub_ctx == ctx && st->pub_ops)
        release_slot(st);
}

void le_stream_end(le_stream *st, void *ctx)
{
    if (st->pub_ctx != ctx || !st->pub_ops)
        return;
    st->no_grace = 1;
    release_slot(st);
    st->no_grace = 0;
}

static int hook_add(le_stream_hook *tab, int *n, le_stream_hook h, const char *kind)
{
    if (*n >= LE_STREAM_HOOKS_MAX) {
        le_error("stream", "too many %s hooks (at most %d)", kind, LE_STREAM_HOOKS_MAX);
        return LE_ETOOBIG;
    }
    tab[(*n)++] = h;
    return LE_OK;
}

int le_stream_on_publish(le_stream_hook h) { return hook_add(hooks, &nhooks, h, "publish"); }
int le_stream_on_unpublish(le_stream_hook h) { return hook_add(unhooks, &nunhooks, h, "unpublish"); }

int le_stream_ext_register(const char *name)
{
    for (int i = 0; i < next_slots; i++)
        if (strcmp(ext_names[i], name) == 0)
            return i;
    if (next_slots >= LE_STREAM_EXT_MAX) {
        le_error("stream", "no extension slot left for %s (at most %d)", name, LE_STREAM_EXT_MAX);
        return LE_ETOOBIG;
    }
    ext_names[next_slots] = name;
    return next_slots++;
}

static void gop_add(le_stream *st, le_pkt *p)
{
    if (st->gop_len == st->gop_cap) {
        st->gop_cap = st->gop_cap ? st->gop_cap * 2 : 256;
        st->gop = le_xrealloc(st->gop, st->gop_cap * sizeof(*st->gop));
    }
    st->gop[st->gop_len++] = le_pkt_ref(p);
    st->gop_bytes += p->len;
    /* Over the bound (a huge GOP): drop it; new viewers then wait for the
     * next keyframe instead of getting seconds of stale frames. */
    int32_t span = (int32_t)(p->ts - st->gop[0]->ts);   /* audio may be a little older */
    if (st->gop_bytes > limits.gop_max_bytes || (int64_t)span > limits.gop_max_ms)
        gop_clear(st);
}

static void update_stats(le_stream *st, le_pkt *p)
{
    st->stats.bytes_in += p->len;
    if (p->type == LE_PKT_VIDEO) {
        st->pub_tracks |= TRK_V;
        st->stats.video_codec = p->codec;
        if (!(p->flags & LE_PKT_SEQHDR))
            st->stats.video_frames++;
    } else if (p->type == LE_PKT_AUDIO) {
        st->pub_tracks |= TRK_A;
        st->stats.audio_codec = p->codec;
        if (!(p->flags & LE_PKT_SEQHDR))
            st->stats.audio_frames++;
    } else if (p->flags & LE_PKT_META) {
        le_flv_meta m;
        if (le_flv_parse_meta(p->data, p->len, &m) == 0) {
            st->stats.width = m.width;
            st->stats.height = m.height;
            st->stats.framerate = m.framerate;
        }
    }
}

void le_stream_set_arriving(le_stream *st, int on)
{
    for (int i = 0; i < LE_FEED_MAX; i++)
        if (st->feeds[i])
            le_feed_set_arriving(st->feeds[i], on);
}

/* A feed in fmt, created from the headers and GOP cache on first use. */
static le_feed *feed_get(le_stream *st, const le_feed_fmt *fmt)
{
    le_feed **slot = &st->feeds[fmt->id];
    if (*slot)
        return *slot;
    le_feed *f = le_feed_new(fmt, st->has_video);
    le_pkt *hdrs[3] = { st->meta, st->vseq, st->aseq };
    for (int i = 0; i < 3; i++)
        if (hdrs[i])
            le_feed_append(f, hdrs[i], LE_FEED_GOP_CONT);
    for (size_t i = 0; i < st->gop_len; i++)
        le_feed_append(f, st->gop[i], i == 0 ? LE_FEED_GOP_START : LE_FEED_GOP_CONT);
    *slot = f;
    return f;
}

/* Kept players and the current publish: compared at its first keyframe
 * (their stream had video) or first audio frame (it had not), by then the
 * sequence headers of both tracks are in; or, failing a keyframe, once it
 * has sent CONT_WAIT_MS of audio. Same tracks and codecs: they follow it
 * from that keyframe; else they end (a player cannot switch codecs or
 * grow or lose a track in mid-stream). */
static void cont_check(le_stream *st, const le_pkt *p)
{
    if ((p->type != LE_PKT_AUDIO && p->type != LE_PKT_VIDEO) || (p->flags & LE_PKT_SEQHDR))
        return;
    if (!st->cont_first_set) {
        st->cont_first_ts = p->ts;
        st->cont_first_set = 1;
    }
    int want_v = st->cont_tracks & TRK_V;
    int at = st->cont_tracks == 0 ||
             (p->type == LE_PKT_VIDEO ? want_v && (p->flags & LE_PKT_KEY) : !want_v);
    if (!at && (int32_t)(p->ts - st->cont_first_ts) < CONT_WAIT_MS)
        return;
    int same = st->cont_tracks == 0 ||
               (st->pub_tracks == st->cont_tracks &&
                (!(st->cont_tracks & TRK_V) || st->stats.video_codec == st->cont_vcodec) &&
                (!(st->cont_tracks & TRK_A) || st->stats.audio_codec == st->cont_acodec));
    if (!same)
        le_info("stream", "%s: new publish has other tracks (video %d/%u, audio %d/%u; players had "
                "%d/%u, %d/%u): players end", st->key, !!(st->pub_tracks & TRK_V), st->stats.video_codec,
                !!(st->pub_tracks & TRK_A), st->stats.audio_codec, !!(st->cont_tracks & TRK_V),
                st->cont_vcodec, !!(st->cont_tracks & TRK_A), st->cont_acodec);
    if (p->type == LE_PKT_VIDEO)
        st->has_video = 1;   /* the feeds are told before the keyframe is logged */
    cont_finish(st, same);
}

void le_stream_set_filter(le_stream_filter f)
{
    push_filter = f;
}

static void push_one(le_stream *st, le_pkt *p);

void le_stream_push(le_stream *st, le_pkt *p)
{
    le_pkt *np = push_filter ? push_filter(st, p) : NULL;
    push_one(st, np ? np : p);
    if (np)
        le_pkt_unref(np);
}

static void push_one(le_stream *st, le_pkt *p)
{
    st->last_pkt_ms = le_mono_ms();
    update_stats(st, p);
    if (st->cont)
        cont_check(st, p);

    if (p->flags & LE_PKT_META) {
        set_pkt(&st->meta, p);
    } else if (p->flags & LE_PKT_SEQHDR) {
        set_pkt(p->type == LE_PKT_VIDEO ? &st->vseq : &st->aseq, p);
    } else if (p->type == LE_PKT_VIDEO) {
        st->has_video = 1;
        if (p->flags & LE_PKT_KEY)
            gop_clear(st);
        if ((p->flags & LE_PKT_KEY) || st->gop_len > 0)
            gop_add(st, p);
    } else if (p->type == LE_PKT_AUDIO && st->gop_len > 0) {
        gop_add(st, p);
    }

    /* The feeds follow the GOP cache: restart at a kept keyframe, drop with
     * it. One that lost its last reader goes (never from inside a tick). */
    int gop = st->gop_len == 0 ? LE_FEED_GOP_DROP
            : st->gop[st->gop_len - 1] == p && st->gop_len == 1 ? LE_FEED_GOP_START
            : LE_FEED_GOP_CONT;
    for (int i = 0; i < LE_FEED_MAX; i++) {
        if (!st->feeds[i])
            continue;
        if (le_feed_readers(st->feeds[i]) == 0) {
            le_feed_free(st->feeds[i]);
            st->feeds[i] = NULL;
        } else {
            le_feed_append(st->feeds[i], p, gop);
        }
    }
    for (le_sub *s = st->subs[0], *n; s; s = n) {
        n = s->next;
        s->ops->packet(s, p);
    }
}

void le_stream_attach(le_stream *st, le_sub *s)
{
    le_sub **head = &st->subs[s->fmt != NULL];
    s->st = st;
    s->prev = NULL;
    s->next = *head;
    if (*head)
        (*head)->prev = s;
    *head = s;
    st->idle_since_ms = 0;
    if (s->is_player)
        st->nviewers++;
    /* Joining players that wait for a publisher (a grace or a hold) wait
     * with the others: kept, their feed suspended. */
    int waiting = s->is_player && !st->pub_ops && st->grace_until_ms;
    if (waiting)
        s->kept = 1;
    if (s->fmt) {
        le_feed *f = feed_get(st, s->fmt);
        le_feed_join(f, &s->rd);
        if (waiting)
            le_feed_suspend(f);
        return;
    }
    if (!st->pub_ops)
        return;
    if (st->meta)
        s->ops->packet(s, st->meta);
    if (st->vseq)
        s->ops->packet(s, st->vseq);
    if (st->aseq)
        s->ops->packet(s, st->aseq);
    for (size_t i = 0; i < st->gop_len; i++)
        s->ops->packet(s, st->gop[i]);
}

void le_stream_detach(le_sub *s)
{
    le_stream *st = s->st;
    if (!st)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        st->subs[s->fmt != NULL] = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->is_player)
        st->nviewers--;
    s->kept = 0;
    if (s->fmt)
        le_feed_leave(&s->rd);
    s->st = NULL;
    s->prev = s->next = NULL;
    if (!st->subs[0] && !st->subs[1] && !st->pub_ops)
        st->idle_since_ms = le_mono_ms();
}

void le_stream_tracks(const le_stream *st, int *audio, int *video)
{
    *audio = st->aseq || st->stats.audio_frames || st->stats.audio_codec;
    *video = st->vseq || st->has_video || st->stats.video_codec;
}

const le_pkt *le_stream_seq_header(const le_stream *st, int type)
{
    if (!st)
        return NULL;
    return type == LE_PKT_VIDEO ? st->vseq : type == LE_PKT_AUDIO ? st->aseq : NULL;
}

void *le_stream_ext(const le_stream *st, int slot)
{
    return slot >= 0 && slot < next_slots ? st->ext[slot] : NULL;
}

int le_stream_set_ext(le_stream *st, int slot, void *ptr, void (*free_fn)(void *))
{
    if (slot < 0 || slot >= next_slots) {
        le_error("stream", "%s: extension slot %d was not registered", st->key, slot);
        return LE_EINVAL;
    }
    if (st->ext[slot] && st->ext_free[slot] && st->ext[slot] != ptr)
        st->ext_free[slot](st->ext[slot]);
    st->ext[slot] = ptr;
    st->ext_free[slot] = free_fn;
    return LE_OK;
}

void le_stream_foreach(le_stream_iter_fn fn, void *arg)
{
    LE_KEYTAB_FOREACH(&table, e, nx)
        fn(ST(e), arg);
}

static void stream_free(le_stream *st)
{
    if (st->grace_ev)
        event_free(st->grace_ev);
    reset_media(st, 1);
    for (int i = 0; i < LE_FEED_MAX; i++)
        le_feed_free(st->feeds[i]);
    free(st->gop);
    for (int i = 0; i < LE_STREAM_EXT_MAX; i++)
        if (st->ext[i] && st->ext_free[i])
            st->ext_free[i](st->ext[i]);
    free(st->seen);
    free((char *)st->domain);
    free(st->key);
    free(st);
}

void le_stream_gc(uint64_t idle_ms)
{
    uint64_t now = le_mono_ms();
    LE_KEYTAB_FOREACH(&table, e, nx) {
        le_stream *st = ST(e);
        if (!st->pub_ops && !st->subs[0] && !st->subs[1] && st->idle_since_ms &&
            now - st->idle_since_ms >= idle_ms) {
            le_keytab_remove(&table, e);
            stream_free(st);
        }
    }
}

void le_stream_shutdown(void)
{
    for (le_keytab_ent *e; (e = le_keytab_first(&table));) {
        le_stream *st = ST(e);
        le_keytab_remove(&table, e);
        if (st->pub_ops)
            nlive--;
        /* Subscribers are gone by now (their owners closed first). */
        stream_free(st);
    }
    le_keytab_free(&table);
    nhooks = nunhooks = 0;
    push_filter = NULL;
}
