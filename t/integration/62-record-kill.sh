#!/bin/sh
# 62-record-kill: a node killed (SIGKILL) during an MP4 recording leaves a
# file that plays up to its last complete fragment (record_fragment 1s,
# docs/RECORD.md, "Files"): the .tmp still probes, its duration within 2 s
# of what had been published when the node died. A node stopped (SIGTERM)
# during a recording finishes the file (renamed, indexed) before it exits.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=120}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 redis-server redis-cli

PFX="letest$$:"
D=$LE_DOMAIN
ROOT=$LE_DIR/rec
dur() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1" 2>/dev/null | head -1; }
frames() {
    ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$1" \
        2>/dev/null | head -1
}

le_start_redis || le_abort "redis did not start"
redis-cli -p "$LE_REDIS_PORT" HSET "${PFX}reccfg:$D" "live/" '{"DomainName":"'"$D"'","AppName":"live","StreamName":"","OssBucket":"kb","OnDemand":0,
"RecordFormatList":{"RecordFormat":[{"Format":"mp4","CycleDuration":600,"OssObjectPrefix":"k/{AppName}/{StreamName}/{Sequence}"}]}}' >/dev/null
LE_EXTRA_CONF="record_root $ROOT;
record_min_free 0;
record_fragment 1s;"
le_start || le_abort "livedge did not start"

LE_PUB_SECS=40 le_publish k1
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "publishing live/k1" || diag "$(cat "$LE_PUB_LOG")"
le_wait_log 'live/k1: recording started' 10 >/dev/null
ok $? "the MP4 task started"
sleep 8
sent_us=$(le_pub_time_us "$LE_PUB_PROGRESS")
kill -KILL "$LE_PID"
le_wait_exit "$LE_PID" 5
ok $? "livedge killed (SIGKILL) $((sent_us / 1000)) ms into the publish"
LE_PID=""
le_kill "$LE_PUB_PID"

mapfile -t left < <(find "$ROOT/kb/k/live/k1" -type f 2>/dev/null)
is "${#left[@]}" 1 "one file left (${left[*]##*/})"
f=${left[0]:-/nonexistent}
like "$f" '/0\.mp4(\.tmp)?$' "named by its template, .tmp while unfinished"
d=$(dur "$f")
ok "$(python3 -c 'import sys; d=float(sys.argv[1] or 0); s=float(sys.argv[2])/1e6; print(0 if s-2.0 <= d <= s+0.5 else 1)' "${d:-0}" "$sent_us")" \
    "it probes to within 2 s of the kill (${d:-none} s of $((sent_us / 1000)) ms published)"
n=$(frames "$f")
cmp_ok "${n:-0}" -ge $(( (sent_us / 1000000 - 2) * 25 )) "its video frames read back ($n)"
e=$(timeout -k 3 60 ffmpeg -nostdin -v error -i "$f" -t "$(python3 -c "print(max(0,${d:-0}-0.2))")" -f null - 2>&1)
is "$e" "" "it decodes up to its last complete fragment without an error"

# ---- SIGTERM: the file is finished ------------------------------------------------
le_start || le_abort "livedge did not restart"
LE_PUB_SECS=40 le_publish k2
le_wait_publishing "$LE_PUB_PROGRESS" 15
le_wait_log 'live/k2: recording started' 10 >/dev/null
ok $? "live/k2 is recorded"
sleep 6
sent_us=$(le_pub_time_us "$LE_PUB_PROGRESS")
le_stop
le_kill "$LE_PUB_PID"
is "$(find "$ROOT/kb/k/live/k2" -type f 2>/dev/null | xargs -n1 basename 2>/dev/null | tr '\n' ' ')" "0.mp4 " \
    "SIGTERM: the file is finished and renamed (no .tmp)"
d=$(dur "$ROOT/kb/k/live/k2/0.mp4")
ok "$(python3 -c 'import sys; d=float(sys.argv[1] or 0); s=float(sys.argv[2])/1e6; print(0 if s-1.5 <= d <= s+1.0 else 1)' "${d:-0}" "$sent_us")" \
    "it holds what was published ($d s of $((sent_us / 1000)) ms)"
is "$(redis-cli -p "$LE_REDIS_PORT" ZCARD "${PFX}recidx:$D/live/k2")" 1 "it is indexed before the node exits"
done_testing
