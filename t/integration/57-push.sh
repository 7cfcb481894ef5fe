#!/bin/sh
# 57-push: push rules (livedge.conf(5), push; the live_push domain function
# of livedge(8)). Node A pushes what is published on it:
#  - app live to nginx with libnginx-mod-rtmp (a third-party server):
#    ffprobe reads the copy there (h264 320x240 + aac);
#  - app live also to node B, a second livedge whose domain requires
#    tx_secret, signed with the right key: ffprobe reads the copy on B;
#  - app bad to B signed with a wrong key: B refuses (BadName), A logs the
#    masked URL and retries with backoff;
#  - app api through a rule set with BatchSetLiveDomainConfigs (live_push):
#    the copy reaches nginx;
#  - nginx killed mid-stream and restarted on the same port: the push
#    resumes; nginx stopped (SIGSTOP) under a heavy stream: the push falls
#    behind, skips (the tap drops) and goes on at a keyframe once nginx
#    reads again, on the same connection; the publisher leaving ends the
#    copy at nginx; the node stops cleanly while it pushes.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
LE_SCRIPT_TIMEOUT=${LE_SCRIPT_TIMEOUT:-400}
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl redis-server md5sum
le_start_nginx_rtmp || le_missing "nginx with libnginx-mod-rtmp is not available"
NGX_DIR=$LE_DIR/nginx

TXK=push-tx-key
LE_WAIT_PORTS="rtmp http admin"
LE_PROBE_TIMEOUT=25

# ---- node B: the tx_secret target (its own redis) ----------------------------
LE_DOMAIN=dst.test
LE_DOMAIN_CONF="    aliauth {
        auth_type tx_secret;
        auth_key1 $TXK;
    }"
le_start || le_abort "node B did not start"
save_node B
B_REDIS_PID=$LE_REDIS_PID

# ---- node A: the pusher -------------------------------------------------------
LE_REDIS_PID="" LE_REDIS_PORT=""
LE_DOMAIN=live.test
# Small player/tap bounds so that a stalled target falls behind quickly.
LE_EXTRA_CONF="viewer_queue_bytes 1m;
viewer_drop_timeout 2s;"
LE_DOMAIN_CONF="    push {
        app live;
        target \"rtmp://127.0.0.1:$LE_NGX_PORT/live/{StreamName}\"
               \"rtmp://127.0.0.1:$LE_NGX_PORT/live/{AppName}-{UserId}?{usrargs}&x={Other}\";
    }
    push {
        app live;
        target \"rtmp://127.0.0.1:$N_B_RTMP/{AppName}/{StreamName}\";
        sign_type tx_secret;
        sign_key $TXK;
        sign_validity 1h;
    }
    push {
        app bad;
        target \"rtmp://127.0.0.1:$N_B_RTMP/live/{StreamName}\";
        sign_type tx_secret;
        sign_key wrong-key;
    }"
le_start || le_abort "node A did not start"
save_node A

# tx STREAM: a txSecret token of B's key, valid for a minute.
tx() {
    local t h
    t=$(printf %X $(( $(date +%s) + 60 )))
    h=$(printf '%s' "$TXK$1$t" | md5sum | cut -d' ' -f1)
    echo "txSecret=$h&txTime=$t"
}
# probe URL: ffprobe's streams, one sorted line each.
probe() {
    timeout -k 3 "$LE_PROBE_TIMEOUT" ffprobe -hide_banner -v error -rw_timeout 15000000 \
        -show_entries stream=codec_type,codec_name,width,height \
        -of compact=p=0 "$1" 2>>"$LE_DIR/ffprobe.log" | sort | tr '\n' ' '
}
WANT_A='codec_name=aac|codec_type=audio'
# probe_ok URL DESC [W H]: the copy at URL has both tracks, the video W x H
# (default 320x240) (tried 3 times: a probe that starts before the target
# has a keyframe may time out).
probe_ok() {
    local got="" i w=${3:-320} h=${4:-240} want_v
    want_v="codec_name=h264|codec_type=video|width=$w|height=$h"
    for i in 1 2 3; do
        got=$(probe "$1")
        case $got in *"$want_v"*"$WANT_A"*|*"$WANT_A"*"$want_v"*) break ;; esac
        sleep 1
    done
    like "$got" "codec_name=h264\\|codec_type=video\\|width=$w\\|height=$h" "$2: h264 ${w}x$h" &&
        like "$got" "codec_name=aac\\|codec_type=audio" "$2: aac"
}
# pub_on NODE APP NAME SECS: ffmpeg publishes 320x240 to NODE; waits until live.
pub_on() {
    use "$1"
    LE_APP=$2 LE_PUB_SECS=$4 le_publish "$3" -s 320x240
    le_wait_publishing "$LE_PUB_PROGRESS" 15
}

# ---- 1. rule from the file: nginx and B (right key) -----------------------------
MARK=$(le_log_lines)
pub_on A live "cam1?who=cam-one" 120
ok $? "ffmpeg publishes live/cam1?who=cam-one on A" || diag "$(cat "$LE_PUB_LOG")"
CAM1_PID=$LE_PUB_PID
le_wait_log "push.*rtmp://127\\.0\\.0\\.1:$LE_NGX_PORT/live/cam1: publishing" 15 "$MARK" >/dev/null
ok $? "A pushes live/cam1 to nginx (log)"
le_wait_log "push.*-> rtmp://127\\.0\\.0\\.1:$LE_NGX_PORT/live/live-cam1\\?who=cam-one&x=\\{Other\\}: publishing" 15 "$MARK" >/dev/null
ok $? "... and to the template with {AppName}, {UserId}, {usrargs} (an unknown {Other} kept)"
line=$(le_wait_log "push.*rtmp://127\\.0\\.0\\.1:$N_B_RTMP/live/cam1\\?.*publishing" 15 "$MARK")
ok $? "A pushes live/cam1 to B (log)"
like "$line" "txSecret=\\*\\*\\*&txTime=" "... the logged URL has its txSecret masked"
probe_ok "$(le_ngx_url cam1)" "nginx's copy of cam1"
probe_ok "rtmp://127.0.0.1:$N_B_RTMP/live/cam1?$(tx cam1)" "B's copy of cam1 (tx_secret)"

probe_ok "$(le_ngx_url live-cam1)" "nginx's copy of the templated target"

# ---- 2. a wrong key: refused by B, retried with backoff -----------------------------
use A
MARK=$(le_log_lines)
pub_on A bad cam2 30
ok $? "ffmpeg publishes bad/cam2 on A"
CAM2_PID=$LE_PUB_PID
use A
first=$(le_wait_log "cam2\\?txSecret=\\*\\*\\*.*retry in" 15 "$MARK")
ok $? "the refused push is logged with its masked URL and the backoff"
like "$first" "BadName|refused|denied" "... as a refusal: $first"
unlike "$(cat "$N_A_LOG")" "wrong-key" "... the key never appears in the log"
n1=$(tail -n +"$((MARK + 1))" "$N_A_LOG" | grep -cE "cam2\\?txSecret=.*retry in")
sleep 4
n2=$(tail -n +"$((MARK + 1))" "$N_A_LOG" | grep -cE "cam2\\?txSecret=.*retry in")
cmp_ok "$n2" -gt "$n1" "... and retried ($n1 then $n2 failures)"
cmp_ok "$n2" -le 5 "... with backoff, not in a loop ($n2 failures in ~5 s)"
use B
le_wait_log "refused NetStream.Publish.BadName: .*tx_secret.*mismatch" 5 >/dev/null
ok $? "B refused the mis-signed publish (B's log)"
le_kill "$CAM2_PID"

# ---- 3. a rule through BatchSetLiveDomainConfigs ---------------------------------------
use A
FN="{\"functionName\":\"live_push\",\"functionArgs\":[{\"argName\":\"target\",\"argValue\":\"rtmp://127.0.0.1:$LE_NGX_PORT/live/api-{StreamName}\"},{\"argName\":\"app\",\"argValue\":\"api\"}]}"
api BatchSetLiveDomainConfigs "DomainNames=live.test" "Functions=[$FN]"
ok $? "BatchSetLiveDomainConfigs live_push answers 200" || diag "$API_CODE $API_BODY"
api DescribeLiveDomainConfigs "DomainName=live.test" "FunctionNames=live_push"
like "$API_BODY" "api-\\{StreamName\\}" "DescribeLiveDomainConfigs shows the rule"
bad_fn='{"functionName":"live_push","functionArgs":[{"argName":"target","argValue":"http://x/y"}]}'
api BatchSetLiveDomainConfigs "DomainNames=live.test" "Functions=[$bad_fn]"
is "$API_CODE" 400 "live_push with a target that is not rtmp:// is refused"
pub_on A api cam3 40
ok $? "ffmpeg publishes api/cam3 on A"
CAM3_PID=$LE_PUB_PID
probe_ok "$(le_ngx_url api-cam3)" "nginx's copy of api/cam3 (rule from the API)"
le_kill "$CAM3_PID"
use A
api BatchDeleteLiveDomainConfigs "DomainNames=live.test" "FunctionNames=live_push"
ok $? "BatchDeleteLiveDomainConfigs live_push"

# ---- 4. the target dies mid-stream and comes back ------------------------------------
use A
MARK=$(le_log_lines)
le_kill "$LE_NGX_PID"
le_wait_for 5 le_port_free "$LE_NGX_PORT"
line=$(le_wait_log "live/cam1.*retry in" 15 "$MARK")
ok $? "nginx killed: the push fails and waits (log: $line)"
sleep 2
le_bg LE_NGX_PID nginx -p "$NGX_DIR" -c "$NGX_DIR/nginx.conf"
le_wait_for 5 le_port_open "$LE_NGX_PORT"
ok $? "nginx restarted on the same port ($LE_NGX_PORT)"
le_wait_log "push.*rtmp://127\\.0\\.0\\.1:$LE_NGX_PORT/live/cam1: publishing" 40 "$MARK" >/dev/null
ok $? "the push to nginx resumes"
probe_ok "$(le_ngx_url cam1)" "nginx's copy of cam1 after the restart"

# ---- 4b. a target that stops reading: skip, then resume at a keyframe --------------
# A heavy stream (lossless x264 of noise, tens of Mbit/s) fills the socket
# buffers and the sink's queue within seconds once nginx stops reading.
BIG=$LE_DIR/big.flv
timeout -k 3 60 ffmpeg -hide_banner -nostdin -loglevel error -y \
    -f lavfi -i "testsrc2=size=640x360:rate=25,noise=alls=40:allf=t" \
    -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 10 \
    -c:v libx264 -preset ultrafast -g 25 -qp 0 -c:a aac -b:a 64k -ac 1 "$BIG" >>"$LE_DIR/big.log" 2>&1
ok $? "a heavy test file ($(( $(le_file_size "$BIG") / 1048576 )) MiB for 10 s)"
use A
MARK=$(le_log_lines)
le_bg BIG_PID ffmpeg -hide_banner -nostdin -loglevel error -re -stream_loop 2 -i "$BIG" -c copy \
    -f flv "$(le_url big)" >>"$LE_DIR/big.log" 2>&1
le_wait_log "push.*rtmp://127\\.0\\.0\\.1:$LE_NGX_PORT/live/big: publishing" 15 "$MARK" >/dev/null
ok $? "A pushes live/big to nginx"
# relay_field NAME FIELD: FIELD of the push relay whose Url ends in /live/NAME (nginx's).
relay_field() {
    api DescribeLiveRelays "Kind=push" >/dev/null
    j "$API_BODY" "[r['$2'] for r in d['RelayList']['Relay'] if r['Url'].endswith(':$LE_NGX_PORT/live/$1')][0]"
}
kill -STOP "$LE_NGX_PID"
le_wait_log "tap: live.test/live/big: consumer over .* dropped" 20 "$MARK" >/dev/null
ok $? "nginx stopped reading: the push falls behind and its tap drops (log)"
kill -CONT "$LE_NGX_PID"
b1=$(relay_field big Bytes)
sleep 3
b2=$(relay_field big Bytes)
cmp_ok "$b2" -gt "$b1" "nginx reads again: the push goes on ($b1 then $b2 bytes out)"
is "$(relay_field big Failures)/$(relay_field big Attempts)" "0/1" "... on the same connection (no failure, one attempt)"
probe_ok "$(le_ngx_url big)" "nginx's copy of big after the stall" 640 360
le_kill "$BIG_PID"

# ---- 5. unpublish ends the push -----------------------------------------------------
MARK=$(le_log_lines)
le_kill "$CAM1_PID"
le_wait_log "push.*live/cam1.*ended" 10 "$MARK" >/dev/null
ok $? "the publisher left: A ends its pushes of cam1 (log)"
LE_PROBE_TIMEOUT=8
got=$(probe "$(le_ngx_url cam1)")
is "$got" "" "nginx no longer has cam1"
use B
got=$(probe "rtmp://127.0.0.1:$N_B_RTMP/live/cam1?$(tx cam1)")
is "$got" "" "B no longer has cam1"

# ---- 6. the node stops while it pushes ----------------------------------------------
MARK=$(le_log_lines)
pub_on A live cam4 60
ok $? "ffmpeg publishes live/cam4 on A"
le_wait_log "push.*rtmp://127\\.0\\.0\\.1:$LE_NGX_PORT/live/cam4: publishing" 15 "$MARK" >/dev/null
ok $? "A pushes live/cam4 to nginx"
use A
le_stop
use B
le_stop
done_testing
