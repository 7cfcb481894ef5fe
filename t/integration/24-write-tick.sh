#!/bin/sh
# 24-write-tick: write_tick (livedge.conf(5)) sets the delay HTTP-FLV and
# RTMP players see. ffmpeg publishes through bench/loadgen's tap, which
# timestamps every frame on its way in; 5 loadgen players per protocol
# measure how long each frame took to reach them. With write_tick 0 the
# median is low; after a SIGHUP to write_tick 200ms the same players of a new
# stream wait for the tick: their median delay is higher by a good part of
# the tick (half of it on average; the bound is generous for a busy machine).
# At write_tick 0 a pulled stream too (AddLivePullStreamInfoConfig of the
# node's own live/t0src into live/t0pull): its players get every frame the
# tap timed, as fast (the pull's reads hold a frame only while the next one
# is half read: le_src_ops.arriving).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
LE_SCRIPT_TIMEOUT=${LE_SCRIPT_TIMEOUT:-240}
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg python3
LOADGEN=$top_builddir/bench/loadgen
[ -x "$LOADGEN" ] || le_skip_all "bench/loadgen is not built"
LE_EXTRA_CONF="write_tick 0;"
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"

# measure PROTO NAME [PLAYED]: M = the players' delay p50 in ms (empty on
# failure), players on PLAYED (default NAME) while NAME is published; the
# loadgen JSON is kept in $LE_DIR/lg-NAME-PROTO.json. PRE_PLAY, if set, runs
# once the publisher is on.
measure() {
    local proto=$1 name=$2 played=${3:-$2} tap url pid
    M=""
    tap=$(le_free_port 1)
    if [ "$proto" = rtmp ]; then url=rtmp://127.0.0.1:$LE_RTMP_PORT/live/$played
    else url=http://127.0.0.1:$LE_HTTP_PORT/live/$played.flv; fi
    le_bg pid "$LOADGEN" -u "$url" --tap "$tap" --tap-to "127.0.0.1:$LE_RTMP_PORT" -n 5 -r 50 -d 4 \
        --warmup "${WARMUP:-1}" -m fast >"$LE_DIR/lg-$name-$proto.json" 2>"$LE_DIR/lg-$name-$proto.err"
    le_wait_for 10 le_port_open "$tap" || { diag "tap did not open"; return; }
    LE_PUB_SECS=$((13 + ${WARMUP:-1})) LE_RTMP_PORT=$tap le_publish "$name"
    [ -z "${PRE_PLAY:-}" ] || $PRE_PLAY
    le_wait_exit "$pid" 40 || { le_kill "$pid"; diag "loadgen did not finish"; }
    le_kill "$LE_PUB_PID"
    M=$(python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print("%d" % r["delay_p50_ms"] if r.get("delay_p50_ms") is not None and r["started"] == 5 and r["delay_nomatch"] == 0 else "")' \
        "$LE_DIR/lg-$name-$proto.json" 2>/dev/null)
}

measure flv t0; d0_flv=$M
ok "$([ -n "$d0_flv" ]; echo $?)" "write_tick 0: 5 HTTP-FLV players measured (delay p50 ${d0_flv:-?} ms)" ||
    diag "$(tail -3 "$LE_DIR/lg-t0-flv.err")"
measure rtmp t0r; d0_rtmp=$M
ok "$([ -n "$d0_rtmp" ]; echo $?)" "write_tick 0: 5 RTMP players measured (delay p50 ${d0_rtmp:-?} ms)" ||
    diag "$(tail -3 "$LE_DIR/lg-t0r-rtmp.err")"

# A pull of live/t0src into live/t0pull, added once t0src is live.
add_pull() {
    api AddLivePullStreamInfoConfig DomainName=$LE_DOMAIN AppName=live StreamName=t0pull \
        SourceUrl="rtmp://127.0.0.1:$LE_RTMP_PORT/live/t0src" StartTime="$(utc -60)" EndTime="$(utc 3600)"
    ok $? "AddLivePullStreamInfoConfig live/t0pull from live/t0src answers 200" || diag "$API_CODE $API_BODY"
}
PRE_PLAY=add_pull WARMUP=4 measure rtmp t0src t0pull; d0_pull=$M
ok "$([ -n "$d0_pull" ]; echo $?)" "write_tick 0: 5 RTMP players of the pulled stream measured (delay p50 ${d0_pull:-?} ms)" ||
    diag "$(tail -3 "$LE_DIR/lg-t0src-rtmp.err")"
cmp_ok "${d0_pull:-9999}" -lt 150 "pulled stream: write_tick 0 delay p50 ${d0_pull:-?} ms < 150"

# Reload: write_tick 200ms.
sed -i 's/^write_tick 0;/write_tick 200ms;/' "$LE_CONF"
grep -q '^write_tick 200ms;' "$LE_CONF"
ok $? "config edited to write_tick 200ms"
lines=$(le_log_lines)
kill -HUP "$LE_PID"
reloaded() { tail -n +"$((lines + 1))" "$LE_LOG" | grep -q 'configuration reloaded'; }
le_wait_for 10 reloaded
ok $? "SIGHUP: configuration reloaded"

measure flv t200; d2_flv=$M
ok "$([ -n "$d2_flv" ]; echo $?)" "write_tick 200ms: 5 HTTP-FLV players measured (delay p50 ${d2_flv:-?} ms)"
measure rtmp t200r; d2_rtmp=$M
ok "$([ -n "$d2_rtmp" ]; echo $?)" "write_tick 200ms: 5 RTMP players measured (delay p50 ${d2_rtmp:-?} ms)"

# A frame waits 0..200 ms for the tick, 100 on average: the medians differ by
# well over 40 ms unless the tick is not applied. Tick 0 on loopback is a few
# ms; 150 allows a loaded machine.
for p in flv rtmp; do
    eval "a=\${d0_$p:-9999} b=\${d2_$p:-0}"
    cmp_ok "$a" -lt 150 "$p: write_tick 0 delay p50 $a ms < 150"
    cmp_ok "$((b - a))" -ge 40 "$p: write_tick 200ms adds $((b - a)) ms to the p50 (>= 40)"
    cmp_ok "$b" -lt 1000 "$p: write_tick 200ms delay p50 $b ms < 1000"
done

le_stop
done_testing
