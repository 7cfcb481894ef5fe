#!/bin/sh
# 56-pull: scheduled pulls (AddLivePullStreamInfoConfig and friends, man
# livedge.8). nginx with libnginx-mod-rtmp on loopback, fed by ffmpeg
# (320x240 H.264 + AAC), is the origin:
#  - a pulled stream plays on livedge over RTMP, HTTP-FLV and HLS with the
#    origin's codecs and size; the online list gives the origin as its
#    PublishUrl; publish and publish_done callbacks fire once each;
#    DescribeLivePullStreamConfig lists it; the delete stops it;
#  - a bare host SourceUrl; failover from a closed port to the next origin;
#    an HTTP-FLV origin (a second livedge); a StartTime in the future; a
#    pull that stops at its EndTime;
#  - every refused parameter answers its documented code; DeleteLiveDomain
#    deletes the domain's configs;
#  - two nodes on one Redis: exactly one pulls; kill -9 of the puller and
#    the other takes over within 15 s; Redis frozen (SIGSTOP): the puller
#    goes on while its lease could still be its own, stops before it can
#    have expired (logged, reason redis), and pulls again once Redis is back.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=480}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl redis-server redis-cli
le_start_nginx_rtmp || le_missing "nginx with libnginx-mod-rtmp ($LE_NGX_MODULE) not available"

LE_BASE_NAME=$LE_NAME
D=DomainName=live.test

# ---- the callback server: one JSON line per request ----------------------------
CBLOG=$LE_DIR/callbacks.jsonl
touch "$CBLOG"
cb_recorder "$CBLOG"
CB=http://127.0.0.1:$CB_PORT
# cb_count ID ACTION: callbacks received for stream ID with that action.
cb_count() {
    "$LE_PY" -c 'import json, sys, urllib.parse
n = 0
for line in open(sys.argv[1]):
    q = urllib.parse.parse_qs(json.loads(line)["q"], keep_blank_values=True)
    r = {k: v[-1] for k, v in q.items()}
    n += r.get("id") == sys.argv[2] and r.get("action") == sys.argv[3]
print(n)' "$CBLOG" "$1" "$2"
}
cb_is() { [ "$(cb_count "$1" "$2")" = "$3" ]; }

# ---- media helpers ------------------------------------------------------------------
# ff_pub URL SECS: ffmpeg sends 320x240 25 fps H.264 + AAC to URL (RTMP) in
# the background. FF_PID, FF_PROGRESS.
ff_pub() {
    LE_CLIENT_N=$((LE_CLIENT_N + 1))
    FF_PROGRESS=$LE_DIR/ff-$LE_CLIENT_N.progress
    le_bg FF_PID ffmpeg -hide_banner -nostdin -loglevel warning -nostats -progress "$FF_PROGRESS" \
        -stats_period 0.2 -re -f lavfi -i "testsrc2=size=320x240:rate=25" \
        -f lavfi -i "sine=frequency=440:sample_rate=44100" -t "$2" \
        -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p \
        -c:a aac -b:a 64k -ac 1 -f flv "$1" >"$LE_DIR/ff-$LE_CLIENT_N.log" 2>&1
}
probe() {
    timeout -k 3 15 ffprobe -hide_banner -v error -show_entries stream=codec_type,codec_name,width,height \
        -of compact=p=0 "$1" 2>>"$LE_DIR/ffprobe.log" | sort
}
# probe_until URL SECS: probes URL until it shows H.264 and AAC; PROBE is
# the last answer.
probe_until() {
    local deadline=$(( $(le_now_ms) + $2 * 1000 ))
    while :; do
        PROBE=$(probe "$1")
        grep -q 'codec_name=h264' <<<"$PROBE" && grep -q 'codec_name=aac' <<<"$PROBE" && return 0
        [ "$(le_now_ms)" -lt "$deadline" ] || return 1
        sleep 0.5
    done
}
# av_checks URL DESC: two TAP lines, the origin's video and audio seen at URL.
av_checks() {
    probe_until "$1" "${3:-30}"
    like "$PROBE" 'codec_name=h264[|]codec_type=video[|]width=320[|]height=240' "$2: ffprobe sees H.264 320x240"
    like "$PROBE" 'codec_name=aac[|]codec_type=audio' "$2: ffprobe sees AAC"
}
rtmp_url() { echo "rtmp://127.0.0.1:$LE_RTMP_PORT/live/$1"; }
flv_url() { echo "http://127.0.0.1:$LE_HTTP_PORT/live/$1.flv"; }
hls_url() { echo "http://127.0.0.1:$LE_HTTP_PORT/live/$1.m3u8"; }

# add NAME SOURCE [START_OFFSET END_OFFSET]: AddLivePullStreamInfoConfig for
# live/NAME on live.test; one TAP line.
add() {
    api AddLivePullStreamInfoConfig $D AppName=live StreamName="$1" SourceUrl="$2" \
        StartTime="$(utc "${3:--60}")" EndTime="$(utc "${4:-3600}")"
    ok $? "AddLivePullStreamInfoConfig live/$1 answers 200" || diag "$API_CODE $API_BODY"
}
del() {
    api DeleteLivePullStreamInfoConfig $D AppName=live StreamName="$1"
    ok $? "DeleteLivePullStreamInfoConfig live/$1 answers 200" || diag "$API_CODE $API_BODY"
}
# online_field NAME FIELD: FIELD of live/NAME's online record(s), one a line.
online_field() {
    api DescribeLiveStreamsOnlineList $D >/dev/null
    j "$API_BODY" "'\n'.join(x['$2'] for x in d['OnlineInfo']['LiveStreamOnlineInfo'] if x['StreamName'] == '$1')"
}
pulling_lines() { grep -c "live.test/live/$1: pulling" "$2" 2>/dev/null; }
pulls_ge() { [ "$(pulling_lines "$1" "$2")" -ge "$3" ]; }

# ---- the origins ---------------------------------------------------------------------
ff_pub "$(le_ngx_url src1)" 400
NGX_PUB=$FF_PID
le_wait_publishing "$FF_PROGRESS" 15
ok $? "ffmpeg publishes live/src1 to nginx-rtmp" || le_abort "no origin"

LE_DOMAIN_CONF="    notify_url $CB/notify;"
LE_WAIT_PORTS="rtmp http admin"
start_node A || le_abort "node A did not start"

# ---- bad input -------------------------------------------------------------------------
api DescribeLivePullStreamConfig $D
is "$API_CODE/$(j "$API_BODY" 'd["LiveAppRecordList"]["LiveAppRecord"]')" "200/[]" "Describe: no config yet"

# bad WANT_STATUS WANT_CODE DESC NAME=VALUE...: an Add refused with that code.
bad() {
    local st=$1 code=$2 desc=$3; shift 3
    api AddLivePullStreamInfoConfig "$@"
    is "$API_CODE $(j "$API_BODY" 'd.get("Code")')" "$st $code" "bad input: $desc"
}
NGX=$(le_ngx_url src1)
S="StartTime=$(utc -60)"
E="EndTime=$(utc 3600)"
bad 400 MissingParameter "no SourceUrl" $D AppName=live StreamName=x "$S" "$E"
bad 400 MissingParameter "no EndTime" $D AppName=live StreamName=x SourceUrl="$NGX" "$S"
bad 404 InvalidDomain.NotFound "an unknown domain" DomainName=nope.test AppName=live StreamName=x \
    SourceUrl="$NGX" "$S" "$E"
bad 400 InvalidParameter "a bad StreamName" $D AppName=live "StreamName=a b" SourceUrl="$NGX" "$S" "$E"
bad 400 InvalidSourceUrl.Malformed "rtmp:// without a stream" $D AppName=live StreamName=x \
    SourceUrl="rtmp://127.0.0.1/live" "$S" "$E"
bad 400 InvalidSourceUrl.Malformed "a bad origin after a good one" $D AppName=live StreamName=x \
    SourceUrl="$NGX;http://" "$S" "$E"
bad 400 InvalidSourceUrl.Malformed "a host with a bad port" $D AppName=live StreamName=x \
    SourceUrl="127.0.0.1:99999" "$S" "$E"
bad 400 InvalidSourceUrl.Malformed "9 origins" $D AppName=live StreamName=x SourceUrl="a;b;c;d;e;f;g;h;i" "$S" "$E"
bad 400 InvalidSourceUrl.ValueNotSupported "an srt:// origin" $D AppName=live StreamName=x \
    SourceUrl="srt://127.0.0.1:9000/a/b" "$S" "$E"
bad 400 InvalidSourceUrl.ValueNotSupported "an rtsp:// origin" $D AppName=live StreamName=x \
    SourceUrl="rtsp://127.0.0.1/live/x" "$S" "$E"
bad 400 InvalidStartTime.Malformed "StartTime without a time" $D AppName=live StreamName=x \
    SourceUrl="$NGX" StartTime=2030-01-01 "$E"
bad 400 InvalidEndTime.Malformed "EndTime not UTC" $D AppName=live StreamName=x \
    SourceUrl="$NGX" "$S" EndTime=2030-01-01T00:00:00+08:00
bad 400 InvalidEndTime.Mismatch "EndTime before StartTime" $D AppName=live StreamName=x \
    SourceUrl="$NGX" "StartTime=$(utc 600)" "EndTime=$(utc 300)"
bad 400 InvalidStartTime.ValueNotSupported "more than 7 days" $D AppName=live StreamName=x \
    SourceUrl="$NGX" "StartTime=$(utc 60)" "EndTime=$(utc $((7 * 86400 + 120)))"
bad 400 InvalidEndTime.ValueNotSupported "EndTime in the past" $D AppName=live StreamName=x \
    SourceUrl="$NGX" "StartTime=$(utc -7200)" "EndTime=$(utc -3600)"
api DeleteLivePullStreamInfoConfig $D AppName=live
is "$API_CODE $(j "$API_BODY" 'd.get("Code")')" "400 MissingParameter" "bad input: Delete without StreamName"
api DescribeLivePullStreamConfig DomainName=nope.test
is "$API_CODE $(j "$API_BODY" 'd.get("Code")')" "404 InvalidDomain.NotFound" "bad input: Describe of an unknown domain"
api DescribeLivePullStreamConfig $D
is "$(j "$API_BODY" 'd["LiveAppRecordList"]["LiveAppRecord"]')" "[]" "nothing refused was stored"

# ---- DeleteLiveDomain takes the domain's configs with it ----------------------------------
P="letest$$:"
rcli() { redis-cli -p "$LE_REDIS_PORT" "$@"; }
api AddLiveDomain DomainName=gone.test LiveDomainType=liveVideo Region=cn-shanghai
is "$API_CODE" 200 "AddLiveDomain gone.test" || diag "$API_BODY"
api AddLivePullStreamInfoConfig DomainName=gone.test AppName=live StreamName=g SourceUrl="$NGX" "$S" "$E"
is "$API_CODE" 200 "a config on gone.test" || diag "$API_BODY"
is "$(rcli EXISTS "${P}pull:gone.test")/$(rcli SISMEMBER "${P}pull:domains" gone.test)" "1/1" \
    "... stored in Redis (P pull:gone.test, P pull:domains)"
api DeleteLiveDomain DomainName=gone.test
is "$API_CODE" 200 "DeleteLiveDomain gone.test" || diag "$API_BODY"
gone_keys() { [ "$(rcli EXISTS "${P}pull:gone.test")/$(rcli SISMEMBER "${P}pull:domains" gone.test)" = 0/0 ]; }
le_wait_for 5 gone_keys
ok $? "... its pull configs are deleted"

# ---- pull from nginx-rtmp -------------------------------------------------------------------
START=$(utc -60)
END=$(utc 3600)
api AddLivePullStreamInfoConfig $D AppName=live StreamName=pulled SourceUrl="$NGX" StartTime="$START" EndTime="$END"
ok $? "AddLivePullStreamInfoConfig answers 200" || diag "$API_CODE $API_BODY"
api DescribeLivePullStreamConfig $D
is "$(j "$API_BODY" 'd["LiveAppRecordList"]["LiveAppRecord"]')" \
    "[{\"AppName\": \"live\", \"DomainName\": \"live.test\", \"EndTime\": \"$END\", \"SourceUrl\": \"$NGX\", \"StartTime\": \"$START\", \"StreamName\": \"pulled\"}]" \
    "DescribeLivePullStreamConfig lists it"
like "$(j "$API_BODY" 'd.get("RequestId", "")')" '^[0-9A-F-]{36}$' "... with a RequestId"

av_checks "$(rtmp_url pulled)" "RTMP play of the pulled stream"
av_checks "$(flv_url pulled)" "HTTP-FLV play of the pulled stream"
av_checks "$(hls_url pulled)" "HLS play of the pulled stream"
is "$(online_field pulled PublishUrl)" "$NGX" "online list: PublishUrl is the origin"
api DescribeLiveRelays $D Kind=pull
is "$(j "$API_BODY" '[(x["State"], x["Url"]) for x in d["RelayList"]["Relay"] if x["StreamName"] == "pulled"]')" \
    "[[\"active\", \"$NGX\"]]" "DescribeLiveRelays: one active pull of the origin"
le_wait_for 10 cb_is pulled publish 1
is "$(cb_count pulled publish)" 1 "one publish callback"

# ---- a bare host, failover, an HTTP-FLV origin ---------------------------------------------
add src1 "127.0.0.1:$LE_NGX_PORT"
av_checks "$(rtmp_url src1)" "bare host 127.0.0.1:port (rtmp://host/live/src1)"
is "$(online_field src1 PublishUrl)" "$NGX" "... its PublishUrl is the expanded origin"

DEAD=$(le_free_port 1)
add fo "rtmp://127.0.0.1:$DEAD/live/src1;$NGX"
av_checks "$(rtmp_url fo)" "failover: the second origin plays when the first is a closed port"
is "$(online_field fo PublishUrl)" "$NGX" "... PublishUrl is the origin in use"
like "$(grep -F "127.0.0.1:$DEAD" "$LE_LOG" | head -3)" "fo" "... the closed port's failure is logged"

# A source that accepts the play and sends nothing (nginx-rtmp waits for a
# publisher that never comes): dropped after 10 s without media, retried.
mark=$(le_log_lines)
t0=$(le_now_ms)
add quiet "$(le_ngx_url nobody)"
le_wait_log 'live/quiet .*no media for 10 s \(retry in' 25 "$mark" >/dev/null
ok $? "a source that sends no media is dropped, logged with the backoff"
cmp_ok "$(( $(le_now_ms) - t0 ))" -ge 9000 "... not before 10 s without media"
like "$(curl -s --max-time 5 "http://127.0.0.1:$LE_ADMIN_PORT/metrics")" \
    'livedge_relay_failures_total[{]kind="pull",reason="no-media"[}] [1-9]' "... counted in /metrics"
del quiet

# The HTTP-FLV origin: a second livedge with its own Redis.
SAVE_REDIS_PORT=$LE_REDIS_PORT
SAVE_REDIS_PID=$LE_REDIS_PID
le_start_redis || le_abort "a second redis-server did not start"
S_REDIS_PID=$LE_REDIS_PID
start_node S || le_abort "the HTTP-FLV origin node did not start"
LE_REDIS_PORT=$SAVE_REDIS_PORT
LE_REDIS_PID=$SAVE_REDIS_PID
use S
ff_pub "$(rtmp_url hsrc)" 400
S_PUB=$FF_PID
le_wait_publishing "$FF_PROGRESS" 15
ok $? "ffmpeg publishes live/hsrc to the second livedge"
HSRC=$(flv_url hsrc)
use A
add hf "$HSRC"
av_checks "$(rtmp_url hf)" "HTTP-FLV origin (a second livedge)"
is "$(online_field hf PublishUrl)" "$HSRC" "... PublishUrl is the HTTP-FLV origin"

# ---- the time window ---------------------------------------------------------------------------
mark=$(le_log_lines)
add win "$NGX" 4 600
t0=$(le_now_ms)
sleep 1
is "$(tail -n +"$((mark + 1))" "$LE_LOG" | grep -c 'live.test/live/win: pulling')" 0 \
    "StartTime in 4 s: not pulled after 1 s"
is "$(online_field win StreamName)" "" "... and not in the online list"
le_wait_log 'live.test/live/win: pulling' 12 "$mark" >/dev/null
rc=$?
ok $rc "... pulled by 12 s ($(ms_since "$t0") ms)"
av_checks "$(rtmp_url win)" "... and plays"

mark=$(le_log_lines)
add endt "$NGX" -60 8
le_wait_log 'live.test/live/endt: pulling' 10 "$mark" >/dev/null
ok $? "EndTime in 8 s: pulled"
le_wait_log 'live.test/live/endt: pull stops \(EndTime' 20 "$mark" >/dev/null
ok $? "... and stopped at EndTime"
le_wait_for 10 cb_is endt publish_done 1
is "$(cb_count endt publish)/$(cb_count endt publish_done)" "1/1" "... publish and publish_done once each"

# ---- delete -------------------------------------------------------------------------------------
mark=$(le_log_lines)
del pulled
le_wait_log 'live.test/live/pulled: pull stops \(config deleted' 5 "$mark" >/dev/null
ok $? "the delete stops the pull"
le_wait_for 10 cb_is pulled publish_done 1
is "$(cb_count pulled publish)/$(cb_count pulled publish_done)" "1/1" "publish and publish_done callbacks once each"
offline() { [ -z "$(online_field pulled StreamName)" ]; }   # asked again at each try
le_wait_for 10 offline
ok $? "the pulled stream left the online list"
api DescribeLivePullStreamConfig $D
unlike "$(j "$API_BODY" '[x["StreamName"] for x in d["LiveAppRecordList"]["LiveAppRecord"]]')" \
    '"pulled"' "Describe no longer lists it"
for n in src1 fo hf win endt; do
    api DeleteLivePullStreamInfoConfig $D AppName=live StreamName=$n || diag "delete $n: $API_CODE $API_BODY"
done
use S
le_stop
le_kill "$S_PUB" "$S_REDIS_PID"

# ---- the lease: two nodes on one Redis ----------------------------------------------------------
use A
start_node B || le_abort "node B did not start"
add lease1 "$NGX"
holder=""
deadline=$(( $(le_now_ms) + 15000 ))
while [ -z "$holder" ] && [ "$(le_now_ms)" -lt "$deadline" ]; do
    [ "$(pulling_lines lease1 "$N_A_LOG")" -ge 1 ] && holder=A
    [ "$(pulling_lines lease1 "$N_B_LOG")" -ge 1 ] && holder=${holder}B
    sleep 0.2
done
like "$holder" '^[AB]$' "exactly one node pulls live/lease1 ($holder)"
[ "$holder" = B ] && other=A || other=B
sleep 4
is "$(pulling_lines lease1 "$(eval echo "\$N_${other}_LOG")")" 0 "... the other does not, 4 s later"
use "$holder"
kill -KILL "$LE_PID"
t0=$(le_now_ms)
le_wait_exit "$LE_PID" 5
use "$other"
le_wait_log 'live.test/live/lease1: pulling' 20 >/dev/null
rc=$?
el=$(ms_since "$t0")
ok $rc "after kill -9 of the puller ($holder) node $other pulls"
cmp_ok "$el" -le 15000 "... within 15 s ($el ms)"
av_checks "$(rtmp_url lease1)" "... and the stream plays on $other"

# ---- Redis frozen while pulling --------------------------------------------------------------------
mark=$(le_log_lines)
kill -STOP "$LE_REDIS_PID"
t0=$(le_now_ms)
le_wait_log 'lease1.*state store unreachable' 20 "$mark" >/dev/null
rc=$?
el=$(ms_since "$t0")
ok $rc "Redis frozen: the puller stops, logged once with the reason" || diag "$(tail -n 20 "$LE_LOG")"
# The lease (9 s) was last renewed at most 2 s before the freeze; the
# puller keeps it 6-7 s after that renewal: 4-7 s after the freeze.
cmp_ok "$el" -ge 3000 "... not at once: it went on while the lease was surely its own ($el ms)"
cmp_ok "$el" -le 9000 "... and stopped before the lease could expire in Redis ($el ms)"
like "$(grep -c 'lease1.*state store unreachable' "$LE_LOG")" '^1$' "... one line"
like "$(curl -s --max-time 5 "http://127.0.0.1:$LE_ADMIN_PORT/metrics")" \
    '^livedge_relay_failures_total[{]kind="pull",reason="redis"[}] 1$' "... counted in /metrics"
kill -CONT "$LE_REDIS_PID"
le_wait_for 25 pulls_ge lease1 "$LE_LOG" 2
ok $? "Redis back: the node pulls again"
av_checks "$(rtmp_url lease1)" "... and the stream plays"

del lease1
le_stop
le_kill "$NGX_PUB"
done_testing
