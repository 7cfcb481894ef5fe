#!/bin/sh
# 59-edge: origin/edge (man livedge.8, ORIGIN AND EDGE): two nodes on one
# Redis, a publish on A, plays on B (the domain in edge mode, edge_wait and
# edge_idle 3 s) relayed from A on demand.
#  - each node advertises its RTMP address ({prefix}nodeaddr:{node});
#  - B plays the stream over RTMP, HTTP-FLV and HLS (ffprobe: h264 640x360),
#    each from a cold edge (the pull stops between them: edge_idle);
#  - 20 players on B share one pull: A logs one play from B, B lists one
#    edge relay; DescribeLiveStreamOnlineUserNum counts B's 20 viewers;
#  - the pull stops after edge_idle without viewers; a player arriving
#    before that reuses it (no second play on A);
#  - ForbidLiveStream on A cuts B's players within a few seconds, and B does
#    not pull while the stream is forbidden;
#  - a stream live nowhere: StreamNotFound / 404 after edge_wait;
#  - the lazy-pull actions put a domain in edge mode through the API.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=420}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe rtmpdump python3 curl redis-server redis-cli

# ---- the keys in the file ------------------------------------------------------
printf 'rtmp_advertise 10.0.0.5:1935;\ndomain e.test { edge on; edge_wait 2s; edge_idle 1m; }\n' >"$LE_DIR/good.conf"
out=$(timeout 10 "$LE_BIN" -t -c "$LE_DIR/good.conf" 2>&1)
ok $? "livedge -t accepts rtmp_advertise, edge, edge_wait, edge_idle" || diag "$out"
for bad in 'rtmp_advertise 10.0.0.5;' 'rtmp_advertise host:0;' 'domain e.test { edge_wait 2m; }' \
    'domain e.test { edge_idle 10ms; }' 'domain e.test { edge maybe; }'; do
    printf '%s\n' "$bad" >"$LE_DIR/bad.conf"
    out=$(timeout 10 "$LE_BIN" -t -c "$LE_DIR/bad.conf" 2>&1)
    ok "$([ $? != 0 ]; echo $?)" "livedge -t refuses '$bad'" || diag "$out"
done

LE_WAIT_PORTS="rtmp http admin"
LE_BASE_NAME=$LE_NAME
LE_DOMAIN_CONF="    edge on;
    edge_wait 3s;
    edge_idle 3s;"
start_node A || le_abort "node A did not start"
start_node B || le_abort "node B did not start"
PREFIX="letest$$:"
rc() { redis-cli -p "$LE_REDIS_PORT" "$@" 2>/dev/null; }

# ---- helpers ----------------------------------------------------------------
# plays_on_a MARK: plays of live.test/live/cam in A's log after line MARK.
plays_on_a() { tail -n +"$(($1 + 1))" "$N_A_LOG" | grep -c ': play live.test/live/cam$'; }
# edge_relays: B's edge relays (DescribeLiveRelays Kind=edge).
edge_relays() {
    local save=$LE_ADMIN_PORT n
    LE_ADMIN_PORT=$N_B_ADMIN
    api DescribeLiveRelays Kind=edge
    n=$(j "$API_BODY" 'd["TotalNum"]')
    LE_ADMIN_PORT=$save
    echo "$n"
}
relays_are() { [ "$(edge_relays)" = "$1" ]; }
# pull_stops MARK SECONDS: B's log says the pull stopped for want of viewers.
pull_stops() { use B; le_wait_log 'live.test/live/cam: pull from .* stops: no viewer' "$2" "$1" >/dev/null; }
probe_b() { # probe_b URL
    timeout -k 3 20 ffprobe -hide_banner -v error -show_entries stream=codec_type,codec_name,width,height \
        -of compact=p=0 "$1" 2>>"$LE_DIR/ffprobe.log" | sort
}
H_B="http://127.0.0.1:$N_B_HTTP"

# ---- advertised addresses ---------------------------------------------------
has_addr() { [ -n "$(rc GET "${PREFIX}nodeaddr:le-test-$LE_BASE_NAME-$1")" ]; }
le_wait_for 5 has_addr a
le_wait_for 5 has_addr b
is "$(rc GET "${PREFIX}nodeaddr:le-test-$LE_BASE_NAME-a")" "127.0.0.1:$N_A_RTMP" \
    "A advertises its rtmp_listen address"
is "$(rc GET "${PREFIX}nodeaddr:le-test-$LE_BASE_NAME-b")" "127.0.0.1:$N_B_RTMP" "... and B its own"
ttl=$(rc PTTL "${PREFIX}nodeaddr:le-test-$LE_BASE_NAME-a")
ok "$([ "${ttl:-0}" -gt 0 ] && [ "$ttl" -le 15000 ]; echo $?)" "... kept alive by the heartbeat (PTTL $ttl ms)"

# ---- a stream live nowhere: refused after edge_wait ------------------------------
use B
t0=$(le_now_ms)
timeout 15 rtmpdump -q -v -m 10 -r "$(le_url nothere)" -o "$LE_DIR/nothere.flv" >"$LE_DIR/nothere.log" 2>&1
el=$(ms_since "$t0")
like "$(le_wait_log 'refused NetStream.Play.StreamNotFound: not live within edge_wait' 2)" StreamNotFound \
    "RTMP play of a stream live nowhere: StreamNotFound"
ok "$([ "$el" -ge 2500 ] && [ "$el" -lt 10000 ]; echo $?)" "... after edge_wait (3 s): $el ms"
t0=$(le_now_ms)
code=$(curl -s -o "$LE_DIR/nothere.json" -w '%{http_code}' --max-time 15 "$H_B/live/nothere.flv")
el=$(ms_since "$t0")
is "$code $(j "$(cat "$LE_DIR/nothere.json")" 'd["Code"]')" "404 InvalidStream.NotFound" "HTTP-FLV: 404 InvalidStream.NotFound"
ok "$([ "$el" -ge 2500 ] && [ "$el" -lt 10000 ]; echo $?)" "... after edge_wait: $el ms"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 "$H_B/live/nothere.m3u8")
is "$code" 404 "HLS playlist: 404 after the wait"

# ---- publish on A; plays on B over RTMP, FLV, HLS ---------------------------
use A
pub cam 240 || le_abort "publish on A failed"
PUB_A=$LE_PUB_PID

use B
mark=$(le_log_lines)
t0=$(le_now_ms)
probe=$(LE_PROBE_TIMEOUT=20 le_probe cam)
like "$probe" 'codec_name=h264\|codec_type=video\|width=640\|height=360' \
    "RTMP on B (cold edge): H.264 640x360 ($(ms_since "$t0") ms)" || diag "$(tail -20 "$N_B_LOG")"
like "$probe" 'codec_name=aac\|codec_type=audio' "... and AAC"
ok "$(le_wait_log 'live.test/live/cam: pulling from node le-test-.*-a at 127.0.0.1:'"$N_A_RTMP" 2 "$mark" >/dev/null; echo $?)" \
    "B pulls from A at A's advertised address"
ok "$(pull_stops "$mark" 10; echo $?)" "the pull stops after edge_idle without viewers"

mark=$(le_log_lines)
probe=$(probe_b "$H_B/live/cam.flv")
like "$probe" 'codec_name=h264\|codec_type=video\|width=640\|height=360' "HTTP-FLV on B (cold edge): H.264 640x360"
ok "$(pull_stops "$mark" 10; echo $?)" "... the pull stops again"

probe=$(probe_b "$H_B/live/cam.m3u8")
like "$probe" 'codec_name=h264\|codec_type=video\|width=640\|height=360' "HLS on B (cold edge): H.264 640x360"

# ---- 20 players share one pull ----------------------------------------------
use B
le_wait_for 15 relays_are 0
mark_a=$(wc -l <"$N_A_LOG")
pids=()
for i in $(seq 1 20); do
    le_player cam "$LE_DIR/p$i.flv"
    pids+=("$LE_PLAYER_PID")
done
all_growing() { local i; for i in $(seq 1 20); do le_size_gt "$LE_DIR/p$i.flv" 100000 || return 1; done; }
ok "$(le_wait_for 20 all_growing; echo $?)" "20 RTMP players on B get media"
is "$(plays_on_a "$mark_a")" 1 "A saw one play from B for them (A's log)"
use B
api DescribeLiveRelays Kind=edge
is "$(j "$API_BODY" '[d["TotalNum"], d["RelayList"]["Relay"][0]["State"]]')" '[1, "active"]' \
    "B runs one edge relay, active (DescribeLiveRelays Kind=edge)"

users_are() { api DescribeLiveStreamOnlineUserNum DomainName=live.test; [ "$(j "$API_BODY" 'd["TotalUserNumber"]')" = "$1" ]; }
use A
api DescribeLiveStreamsOnlineList DomainName=live.test
is "$(j "$API_BODY" '[x["Node"] for x in d["OnlineInfo"]["LiveStreamOnlineInfo"]]')" "[\"le-test-$LE_BASE_NAME-a\"]" \
    "the online list holds A's publish only (edge copies add no entry: no loops)"
ok "$(le_wait_for 15 users_are 20; echo $?)" "OnlineUserNum on A counts B's 20 viewers" || diag "$API_BODY"
use B
ok "$(le_wait_for 15 users_are 20; echo $?)" "... and on B" || diag "$API_BODY"

mark=$(le_log_lines)
le_kill "${pids[@]}"
ok "$(pull_stops "$mark" 10; echo $?)" "players gone: the pull stops after edge_idle"
le_wait_for 5 relays_are 0
is "$(edge_relays)" 0 "... B lists no edge relay"

# ---- a player arriving during the idle wait reuses the pull ------------------
use B
le_player cam "$LE_DIR/r1.flv"
P1=$LE_PLAYER_PID
le_wait_for 15 le_size_gt "$LE_DIR/r1.flv" 50000
le_kill "$P1"
sleep 1.5
mark=$(le_log_lines)
mark_a=$(wc -l <"$N_A_LOG")
le_player cam "$LE_DIR/r2.flv"
P2=$LE_PLAYER_PID
ok "$(le_wait_for 15 le_size_gt "$LE_DIR/r2.flv" 50000; echo $?)" "a player arriving before edge_idle plays"
is "$(plays_on_a "$mark_a")" 0 "... on the same pull (no new play on A)"
is "$(tail -n +"$((mark + 1))" "$N_B_LOG" | grep -c 'cam: pull from .* stops')" 0 "... which never stopped"

# ---- ForbidLiveStream on A cuts B's copies ----------------------------------
le_player cam "$LE_DIR/f1.flv"
P3=$LE_PLAYER_PID
le_bg P4 curl -s -o "$LE_DIR/f2.flv" --max-time 60 "$H_B/live/cam.flv"
le_wait_for 15 le_size_gt "$LE_DIR/f2.flv" 50000
use A
t0=$(le_now_ms)
api ForbidLiveStream DomainName=live.test AppName=live StreamName=cam LiveStreamType=publisher \
    "ResumeTime=$(utc 600)"
ok $? "ForbidLiveStream on A: 200" || diag "$API_BODY"
gone3() { ! le_alive "$P2" && ! le_alive "$P3" && ! le_alive "$P4"; }
if le_wait_for 5 gone3; then
    ok 0 "B's players (2 RTMP, 1 HTTP-FLV) are cut ($(ms_since "$t0") ms after the call)"
else
    ok 1 "B's players are cut within 5 s"
    le_kill "$P2" "$P3" "$P4"
fi
use B
# Whichever B hears first: the forbid event (the copy is kicked) or A
# closing the pull (and the stream gone from the online list).
line=$(le_wait_log 'live.test/live/cam: (edge copy kicked|pull from .* stops: (stream forbidden|the stream is live nowhere))' 3)
ok $? "B's log: the edge copy ends"
el=$(( $(log_ms "$line") - t0 ))
cmp_ok "$el" -le 1000 "... within 1 s of the call ($el ms)"
le_wait_exit "$PUB_A" 5 || le_kill "$PUB_A"
mark=$(le_log_lines)
timeout 15 rtmpdump -q -v -m 10 -r "$(le_url cam)" -o /dev/null >/dev/null 2>&1
like "$(le_wait_log 'refused NetStream.Play.StreamNotFound' 2 "$mark")" StreamNotFound \
    "while forbidden, a play on B is refused"
is "$(tail -n +"$((mark + 1))" "$N_B_LOG" | grep -c 'cam: pulling from')" 0 "... and starts no pull"
use A
api ResumeLiveStream DomainName=live.test AppName=live StreamName=cam LiveStreamType=publisher
ok $? "ResumeLiveStream" || diag "$API_BODY"

# ---- the lazy-pull actions --------------------------------------------------
use A
api AddLiveDomain DomainName=lazy.test LiveDomainType=liveVideo Region=cn-shanghai
ok $? "AddLiveDomain lazy.test (not in edge mode in the file)" || diag "$API_BODY"
sleep 1
pub "lz?vhost=lazy.test" 120 || diag "publish on lazy.test failed: $(cat "$LE_PUB_LOG")"
PUB_LZ=$LE_PUB_PID
use B
t0=$(le_now_ms)
timeout 15 rtmpdump -q -v -m 10 -r "$(le_url 'lz?vhost=lazy.test')" -o /dev/null >/dev/null 2>&1
el=$(ms_since "$t0")
ok "$([ "$el" -lt 4000 ]; echo $?)" "no lazy-pull record: a play on B is refused at once, not after a 5 s wait ($el ms)"
api SetLiveLazyPullStreamInfoConfig DomainName=lazy.test AppName=ali_all_app PullDomainName=origin.lazy.test \
    PullProtocol=rtmp
ok $? "SetLiveLazyPullStreamInfoConfig ali_all_app: 200" || diag "$API_BODY"
api SetLiveLazyPullStreamInfoConfig DomainName=lazy.test AppName=live PullDomainName=o.test PullProtocol=hls
is "$API_CODE" 400 "... PullProtocol=hls: 400 (pulls are RTMP)"
api SetLiveLazyPullStreamInfoConfig DomainName=lazy.test AppName=live PullProtocol=rtmp
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 MissingParameter" "... without PullDomainName: MissingParameter"
api SetLiveLazyPullStreamInfoConfig DomainName=nope.test AppName=live PullDomainName=o.test PullProtocol=rtmp
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "404 InvalidDomain.NotFound" "... unknown domain: InvalidDomain.NotFound"
use A
api DescribeLiveLazyPullStreamConfig DomainName=lazy.test
is "$(j "$API_BODY" '[[c["DomainName"], c["AppName"], c["PullDomainName"], c["PullProtocol"], c["TranscodeLazy"]] for c in d["LiveLazyPullConfigList"]["LiveLazyPullConfig"]]')" \
    '[["lazy.test", "ali_all_app", "origin.lazy.test", "rtmp", "no"]]' \
    "DescribeLiveLazyPullStreamConfig on the other node lists the record"
use B
probe=$(LE_PROBE_TIMEOUT=20 le_probe 'lz?vhost=lazy.test')
like "$probe" 'codec_name=h264\|codec_type=video\|width=640\|height=360' "with the record, lazy.test plays on B from A"

# A signed domain: the edge signs its pull with the domain's key, as a player would.
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
sign_a() { echo "auth_key=$2-0-0-$(md5 "$1-$2-0-0-$3")"; }   # sign_a URI TS KEY
KEY=edge-sign-key
api BatchSetLiveDomainConfigs DomainNames=lazy.test \
    "Functions=[{\"functionName\":\"aliauth\",\"functionArgs\":[{\"argName\":\"auth_type\",\"argValue\":\"type_a\"},{\"argName\":\"auth_key1\",\"argValue\":\"$KEY\"}]}]"
ok $? "aliauth type_a on lazy.test" || diag "$API_BODY"
sleep 1
use A
pub "lz2?vhost=lazy.test&$(sign_a /live/lz2 "$(date +%s)" "$KEY")" 60 || diag "signed publish failed"
PUB_LZ2=$LE_PUB_PID
use B
mark_a=$(wc -l <"$N_A_LOG")
probe=$(LE_PROBE_TIMEOUT=8 le_probe 'lz2?vhost=lazy.test')
is "$probe" "" "an unsigned play on B is refused"
probe=$(LE_PROBE_TIMEOUT=20 le_probe "lz2?vhost=lazy.test&$(sign_a /live/lz2 "$(date +%s)" "$KEY")")
like "$probe" 'codec_name=h264\|codec_type=video\|width=640\|height=360' "a signed play on B plays: B's pull was signed"
is "$(tail -n +"$((mark_a + 1))" "$N_A_LOG" | grep -c 'play lazy.test/live/lz2$')" 1 "... A accepted one play (the pull)"
is "$(tail -n +"$((mark_a + 1))" "$N_A_LOG" | grep -c 'refused')" 0 "... and refused none"
le_kill "$PUB_LZ2"
api DeleteLiveLazyPullStreamInfoConfig DomainName=lazy.test AppName=ali_all_app
ok $? "DeleteLiveLazyPullStreamInfoConfig" || diag "$API_BODY"
api DescribeLiveLazyPullStreamConfig DomainName=lazy.test
is "$(j "$API_BODY" 'd["LiveLazyPullConfigList"]["LiveLazyPullConfig"]')" '[]' "... the record is gone"
le_kill "$PUB_LZ"

# ---- the end ---------------------------------------------------------------------
use B
le_stop
use A
le_stop
done_testing
