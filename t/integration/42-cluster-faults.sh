#!/bin/sh
# 42-cluster-faults: two livedge nodes, A and B, sharing one redis-server
# (unix socket, append-only file) started here (man livedge.8, ADMIN API):
#  - a ForbidLiveStream sent to A cuts the publisher on B within 1 s and B
#    refuses the next publish; ResumeLiveStream on B lets it publish again;
#  - either node's online list shows both nodes' streams; after kill -9 of
#    B its stream leaves the list once its heartbeat is stale (15 s);
#  - Redis SIGKILLed and restarted mid-run: publishing and playing go on, a
#    new player starts during the outage, Redis-backed admin calls answer
#    503 ServiceUnavailable, and afterwards nothing accepted is lost (a
#    publish made during the outage is in the publish list);
#  - restarts of a node, and of both nodes and Redis, forget nothing (block
#    list, domains, mappings and domain states set through the API).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=420}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe rtmpdump python3 curl redis-server redis-cli

# ---- helpers ----------------------------------------------------------------
# save_node, start_node, use, win, ms_since, log_ms and cut_checks are in admin.sh.
LE_BASE_NAME=$LE_NAME
NAME_A=le-test-$LE_BASE_NAME-a
NAME_B=le-test-$LE_BASE_NAME-b

ONL='sorted(x["StreamName"] + "@" + x["Node"] for x in d["OnlineInfo"]["LiveStreamOnlineInfo"])'
D=DomainName=live.test

# ---- redis: unix socket, append-only --------------------------------------------------
RDIR=$LE_DIR/redis
RSOCK=$LE_DIR/redis.sock
mkdir -p "$RDIR"
RPID=""
redis_up() { [ "$(redis-cli -s "$RSOCK" ping 2>/dev/null)" = PONG ]; }
start_redis() {
    le_bg RPID redis-server --port 0 --unixsocket "$RSOCK" --unixsocketperm 700 \
        --save '' --appendonly yes --appendfsync everysec --dir "$RDIR" \
        --daemonize no --logfile "$RDIR/redis.log"
    le_wait_for 10 redis_up
}
start_redis || le_abort "redis-server did not start on $RSOCK"
LE_REDIS="unix:$RSOCK"
LE_WAIT_PORTS="rtmp http admin"

start_node A || le_abort "node A did not start"
start_node B || le_abort "node B did not start"

# ---- a forbid on A cuts the publisher on B -------------------------------------------------
use B
pub cf1 60
ok $? "node B: publisher on live/cf1 is live" || diag "$(cat "$LE_PUB_LOG")"
cf_pub=$LE_PUB_PID
mark=$(le_log_lines)
use A
t0=$(le_now_ms)
api ForbidLiveStream $D AppName=live StreamName=cf1 LiveStreamType=publisher
ok $? "node A: ForbidLiveStream live/cf1: 200" || diag "$API_CODE $API_BODY"
use B
cut_checks "$cf_pub" "$t0" "$mark" live.test/live/cf1 "the publisher on node B"
pub_refused cf1
ok $? "node B refuses a new publish of live/cf1"
api DescribeLiveStreamsBlockList $D
is "$(j "$API_BODY" 'd["StreamUrls"]["StreamUrl"]')" '["live.test/live/cf1"]' "node B's block list has it"
api ResumeLiveStream $D AppName=live StreamName=cf1 LiveStreamType=publisher
ok $? "node B: ResumeLiveStream live/cf1: 200" || diag "$API_CODE $API_BODY"
pub cf1 20
ok $? "node B accepts live/cf1 again" || diag "$(cat "$LE_PUB_LOG")"
le_kill "$LE_PUB_PID"
use A
api DescribeLiveStreamsBlockList $D
is "$(j "$API_BODY" 'd["TotalNum"]')" 0 "node A's block list is empty again"
pub cf1 20
ok $? "node A accepts live/cf1 too" || diag "$(cat "$LE_PUB_LOG")"
le_kill "$LE_PUB_PID"

# ---- the online list spans both nodes; a dead node's streams expire --------------------------------
use A
pub on-a 120
ok $? "node A: publisher on live/on-a is live" || diag "$(cat "$LE_PUB_LOG")"
ona_pub=$LE_PUB_PID
use B
pub on-b 120
ok $? "node B: publisher on live/on-b is live" || diag "$(cat "$LE_PUB_LOG")"
onb_pub=$LE_PUB_PID
for n in A B; do
    use $n
    api DescribeLiveStreamsOnlineList $D
    is "$(j "$API_BODY" "$ONL")" "[\"on-a@$NAME_A\", \"on-b@$NAME_B\"]" "node $n's online list has both streams, with their Node"
    is "$(j "$API_BODY" 'sorted(set(x["EdgeNodeAddr"] + " " + x["ClientAddr"] for x in d["OnlineInfo"]["LiveStreamOnlineInfo"]))')" \
        '["127.0.0.1 127.0.0.1"]' "... EdgeNodeAddr and ClientAddr"
done
api DescribeLiveStreamOnlineUserNum $D
is "$(j "$API_BODY" '[x["StreamUrl"] for x in d["OnlineUserInfo"]["LiveStreamOnlineUserNumInfo"]]')" \
    '["rtmp://live.test/live/on-a", "rtmp://live.test/live/on-b"]' "node B's OnlineUserNum lists both streams"

kill -KILL "$N_B_PID"
wait "$N_B_PID" 2>/dev/null
t0=$(le_now_ms)
KILLED_B_LOG=$N_B_LOG
le_wait_exit "$onb_pub" 10
ok $? "node B's publisher is disconnected when node B dies" || le_kill "$onb_pub"
use A
gone_b() { api DescribeLiveStreamsOnlineList $D && [ "$(j "$API_BODY" "$ONL")" = "[\"on-a@$NAME_A\"]" ]; }
api DescribeLiveStreamsOnlineList $D
is "$(j "$API_BODY" "$ONL")" "[\"on-a@$NAME_A\", \"on-b@$NAME_B\"]" "right after kill -9 of node B its stream is still listed"
if le_wait_for 25 gone_b; then
    el=$(ms_since "$t0")
    ok 0 "node B's stream leaves node A's online list after kill -9 ($el ms)"
    cmp_ok "$el" -le 20000 "... within 20 s"
    cmp_ok "$el" -ge 5000 "... not before its heartbeat can be stale"
else
    ok 1 "node B's stream leaves node A's online list within 25 s of kill -9"
    diag "$API_CODE $API_BODY"
    skip 2 "no expiry"
fi
le_alive "$ona_pub"; ok $? "node A's publisher is unaffected"
le_kill "$ona_pub"

start_node B same || le_abort "node B did not restart on its ports after kill -9"

# ---- Redis killed and restarted ---------------------------------------------------------------------
use A
api AddLiveDomain DomainName=kept.cf.test LiveDomainType=liveVideo Region=cn-beijing
ok $? "node A: AddLiveDomain kept.cf.test" || diag "$API_CODE $API_BODY"
api AddLiveDomain DomainName=keptpush.cf.test LiveDomainType=liveEdge Region=cn-beijing &&
    api AddLiveDomainMapping PushDomain=keptpush.cf.test PullDomain=kept.cf.test
ok $? "node A: AddLiveDomain keptpush.cf.test, mapped to kept.cf.test" || diag "$API_CODE $API_BODY"
api AddLiveDomain DomainName=stopped.cf.test LiveDomainType=liveVideo Region=cn-beijing &&
    api StopLiveDomain DomainName=stopped.cf.test
ok $? "node A: AddLiveDomain + StopLiveDomain stopped.cf.test" || diag "$API_CODE $API_BODY"
api ForbidLiveStream $D AppName=live StreamName=keep1 LiveStreamType=publisher
ok $? "node A: ForbidLiveStream live/keep1" || diag "$API_CODE $API_BODY"

pub rd-live 120
ok $? "node A: publisher on live/rd-live is live" || diag "$(cat "$LE_PUB_LOG")"
rd_pub=$LE_PUB_PID
rd_progress=$LE_PUB_PROGRESS
le_player rd-live "$LE_DIR/rd-player.flv"
rd_player=$LE_PLAYER_PID
le_wait_for 10 le_size_gt "$LE_DIR/rd-player.flv" 50000
ok $? "a player of live/rd-live receives data"

kill -KILL "$RPID"
wait "$RPID" 2>/dev/null
t_out=$(le_now_ms)
diag "redis-server killed (SIGKILL)"
out503() { api DescribeLiveStreamsOnlineList $D; [ "$API_CODE" = 503 ]; }
le_wait_for 5 out503
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "503 ServiceUnavailable" \
    "during the outage: DescribeLiveStreamsOnlineList answers 503 ServiceUnavailable"
api ForbidLiveStream $D AppName=live StreamName=x LiveStreamType=publisher
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "503 ServiceUnavailable" "... and so does ForbidLiveStream"
win
api DescribeLiveStreamsPublishList $D "${WIN[@]}"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "503 ServiceUnavailable" "... and DescribeLiveStreamsPublishList"
use B
le_wait_for 5 out503
is "$API_CODE" 503 "... on node B too"
use A

le_grows "$LE_DIR/rd-player.flv" 100000 8
ok $? "during the outage the player keeps receiving"
le_dump rd-live "$LE_DIR/rd-new.flv" 4
cmp_ok "$(le_count_frames "$LE_DIR/rd-new.flv" v)" -ge 25 "during the outage a new player starts and gets video"
pub rd-short 3
ok $? "during the outage a new publish (live/rd-short, 3 s) is accepted" || diag "$(cat "$LE_PUB_LOG")"
LE_EXIT_RC=""
le_wait_exit "$LE_PUB_PID" 15 || le_kill "$LE_PUB_PID"
is "$LE_EXIT_RC" 0 "... and ends normally"
p0=$(le_pub_time_us "$rd_progress")
sleep 1
cmp_ok "$(le_pub_time_us "$rd_progress")" -gt "$p0" "... the long publisher keeps sending"
redis_up; ok $(( ! $? )) "... Redis is still down ($(ms_since "$t_out") ms)"

start_redis
ok $? "redis-server restarted on the same socket (append-only file)"
t_back=$(le_now_ms)
use B
le_wait_for 10 api DescribeLiveStreamsOnlineList $D
ok $? "node B's admin answers 200 again ($(ms_since "$t_back") ms after the restart)" || diag "$API_CODE $API_BODY"
use A
le_wait_for 10 api DescribeLiveStreamsOnlineList $D
ok $? "node A's admin answers 200 again ($(ms_since "$t_back") ms after the restart)" || diag "$API_CODE $API_BODY"
is "$(j "$API_BODY" "$ONL")" "[\"rd-live@$NAME_A\"]" "... the online list has the stream that lived through the outage"
le_alive "$rd_pub"; ok $? "the publisher stayed connected through the outage"
le_alive "$rd_player"; ok $? "the player stayed connected through the outage"
le_grows "$LE_DIR/rd-player.flv" 100000 8
ok $? "... and keeps receiving after Redis is back"
has_short() {
    win
    api DescribeLiveStreamsPublishList $D "${WIN[@]}" StreamName=rd-short &&
        [ -n "$(j "$API_BODY" '[x for x in d["PublishInfo"]["LiveStreamPublishInfo"] if x["StopTime"]]')" ] &&
        [ "$(j "$API_BODY" 'len(d["PublishInfo"]["LiveStreamPublishInfo"])')" = 1 ]
}
le_wait_for 5 has_short
ok $? "the publish made during the outage is in DescribeLiveStreamsPublishList" || diag "$API_CODE $API_BODY"
rec=$(j "$API_BODY" 'd["PublishInfo"]["LiveStreamPublishInfo"][0]')
like "$(j "$rec" 'd["PublishTime"] + " " + d["StopTime"]')" '^20[0-9-]{8}T[0-9:]{8}Z 20[0-9-]{8}T[0-9:]{8}Z$' \
    "... with its PublishTime and StopTime"
api DescribeLiveStreamsBlockList $D
is "$(j "$API_BODY" 'd["StreamUrls"]["StreamUrl"]')" '["live.test/live/keep1"]' "the block list survived the Redis restart"
win
api DescribeLiveStreamsControlHistory $D "${WIN[@]}"
# TimeStamp has one-second resolution (cf1's forbid and resume can share one):
# per stream, its actions, and no resume older than the stream's forbid.
hist='(lambda L: " ".join("%s:%s%s" % (n, ",".join(sorted(x["Action"] for x in L if x["StreamName"] == n)),
    "" if min([x["TimeStamp"] for x in L if x["StreamName"] == n and x["Action"] == "forbid"] or [""]) <=
         min([x["TimeStamp"] for x in L if x["StreamName"] == n and x["Action"] == "resume"] or ["~"])
    else " (resume older than forbid)") for n in ("cf1", "keep1")))(d["ControlInfo"]["LiveStreamControlInfo"])'
is "$(j "$API_BODY" "$hist")" 'cf1:forbid,resume keep1:forbid' \
    "... and so did the control history (cf1 forbid, then resume; keep1 forbid)" || diag "$API_BODY"
le_kill "$rd_player" "$rd_pub"

# ---- a node restart forgets nothing ---------------------------------------------------------------
# check_state NODE DESC: what was set through the API is in force on NODE.
check_state() {
    use "$1"
    api DescribeLiveStreamsBlockList $D
    is "$(j "$API_BODY" 'd["StreamUrls"]["StreamUrl"]')" '["live.test/live/keep1"]' "$2: the block list has live/keep1"
    pub_refused keep1
    ok $? "$2: a publish of live/keep1 is refused"
    api DescribeLiveUserDomains DomainName=.cf.test DomainSearchType=suf_match
    is "$(j "$API_BODY" 'sorted(x["DomainName"] + " " + x["LiveDomainType"] + " " + x["LiveDomainStatus"] for x in d["Domains"]["PageData"])')" \
        '["kept.cf.test liveVideo online", "keptpush.cf.test liveEdge online", "stopped.cf.test liveVideo offline"]' \
        "$2: the API's domains, with their types and states"
    pub "m1?vhost=keptpush.cf.test" 20
    ok $? "$2: a publish on the mapped push domain is accepted" || diag "$(cat "$LE_PUB_LOG")"
    api DescribeLiveStreamsOnlineList DomainName=kept.cf.test
    is "$(j "$API_BODY" '[x["StreamName"] + " " + x["PublishDomain"] for x in d["OnlineInfo"]["LiveStreamOnlineInfo"]]')" \
        '["m1 keptpush.cf.test"]' "$2: ... it lands on the play domain"
    le_kill "$LE_PUB_PID"
    pub_refused "s1?vhost=stopped.cf.test"
    ok $? "$2: the stopped domain still refuses a publish"
}

use A
le_stop
start_node A same || le_abort "node A did not restart"
check_state A "node A restarted"

# Both nodes and Redis; node A comes up while Redis is still down.
use A; le_stop
use B; le_stop
kill -KILL "$RPID"
wait "$RPID" 2>/dev/null
start_node A || le_abort "node A did not start while Redis is down"
# Its block list is empty until Redis is back: a publish may get in, and
# must be cut once the list is loaded.
LE_PUB_SECS=60 le_publish keep1
early_pub=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 10 && early=1 || early=""
diag "a publish of live/keep1 on node A before Redis is up: $([ -n "$early" ] && echo accepted || echo refused)"
start_redis
ok $? "redis-server restarted once more (SIGKILL, then start)"
t_back=$(le_now_ms)
if le_wait_exit "$early_pub" 10; then
    ok 0 "once Redis is back, node A cuts (or has refused) live/keep1 ($(ms_since "$t_back") ms)"
else
    ok 1 "once Redis is back, node A cuts live/keep1 within 10 s"
    le_kill "$early_pub"
fi
start_node B || le_abort "node B did not start after the full restart"
check_state B "after restarting Redis and both nodes, node B"
use A
api DescribeLiveStreamsBlockList $D
is "$(j "$API_BODY" 'd["StreamUrls"]["StreamUrl"]')" '["live.test/live/keep1"]' "... and node A's block list has live/keep1"
use A
win
api DescribeLiveStreamsPublishList $D "${WIN[@]}" StreamName=rd-short
is "$(j "$API_BODY" 'd["TotalNum"]')" 1 "... the publish history survived too"

use B; le_stop
use A; le_stop
le_sanitizer_check "$KILLED_B_LOG"
done_testing
