#!/bin/sh
# 61-record: recording tasks (docs/RECORD.md, "Tasks").
#  1. an automatic task: a config with flv + mp4 + m3u8, CycleDuration 10 s,
#     a 25 s publish: three files per format named by their templates, each
#     decodes start to end, their durations add up to the publish (within a
#     GOP), no .tmp is left, the files are counted on /metrics and indexed,
#     {prefix}rectask names the node while the task runs and is gone after;
#  2. RealTimeRecordCommand on a stream whose config (OnDemand 2) does not
#     record it by itself: start records, a second start is
#     TaskAlreadyStarted, stop ends the task with its file finished;
#  3. the same through node B's admin API for a publisher on node A.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl redis-server redis-cli

LE_BASE_NAME=$LE_NAME
PFX="letest$$:"
D=$LE_DOMAIN
LE_WAIT_PORTS="rtmp http admin"
ROOT_A=$LE_DIR/rec-a
ROOT_B=$LE_DIR/rec-b
R() { redis-cli -p "$LE_REDIS_PORT" "$@"; }
metric() {
    curl -s --max-time 5 "http://127.0.0.1:$LE_ADMIN_PORT/metrics" | awk -v k="$1" '$1 == k {print $2; exit}'
}
# dur FILE: its duration in seconds (ffprobe), empty if unreadable.
dur() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1" 2>/dev/null | head -1; }
# decodes FILE: ffmpeg decodes it to the end without an error message.
decodes() {
    local e
    e=$(timeout -k 3 60 ffmpeg -nostdin -v error -i "$1" -f null - 2>&1) && [ -z "$e" ] ||
        { diag "$1: ${e:-exit status $?}" | head -3; return 1; }
}
# extinf M3U8: the sum of its #EXTINF durations.
extinf() { awk -F'[:,]' '/^#EXTINF:/ {s += $2} END {printf "%.3f\n", s}' "$1"; }
# near A B TOL: |A - B| <= TOL
near() { python3 -c 'import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<=t else 1)' "$1" "$2" "$3"; }
fsum() { python3 -c 'import sys; print("%.3f" % sum(float(x) for x in sys.argv[1:]))' "$@"; }
cfg() {  # cfg FIELD JSON: a record config stored as AddLiveAppRecordConfig stores it
    R HSET "${PFX}reccfg:$D" "$1" "$2" >/dev/null
}

# ---- 1. an automatic task -----------------------------------------------------------
le_start_redis || le_abort "redis did not start"
cfg "live/" '{"DomainName":"'"$D"'","AppName":"live","StreamName":"","OssEndpoint":"oss.example","OssBucket":"b1","OnDemand":0,
"RecordFormatList":{"RecordFormat":[
 {"Format":"flv","CycleDuration":10},
 {"Format":"mp4","CycleDuration":10,"OssObjectPrefix":"mp4/{AppName}/{StreamName}/{Sequence}"},
 {"Format":"m3u8","CycleDuration":10,"OssObjectPrefix":"hls/{AppName}/{StreamName}/{UnixTimestamp}",
  "SliceOssObjectPrefix":"hls/{AppName}/{StreamName}/s_{Sequence}"}]}}'
LE_EXTRA_CONF="record_root $ROOT_A;
record_min_free 0;
record_stitch 5s;"
start_node A || le_abort "node A did not start"

LE_PUB_SECS=25 le_publish s1
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "publishing live/s1 for 25 s" || diag "$(cat "$LE_PUB_LOG")"
line=$(le_wait_log 'live/s1: recording started \(automatic, flv,mp4,m3u8\)' 10)
ok $? "the task started with the three formats" && diag "$line"
sleep 1
task=$(R GET "${PFX}rectask:$D/live/s1")
is "$(j "$task" 'd["node"] + " " + str(d["manual"])')" "le-test-$LE_BASE_NAME-a False" \
    "{prefix}rectask names node A while the task runs (automatic)"
is "$(metric livedge_record_tasks)" 1 "livedge_record_tasks 1 while recording"
le_wait_exit "$LE_PUB_PID" 40
line=$(le_wait_log 'live/s1: recording ended' 15)
ok $? "the task ends after record_stitch without the publisher" && diag "$line"
is "$(metric livedge_record_tasks)" 0 "livedge_record_tasks 0 after"
is "$(R EXISTS "${PFX}rectask:$D/live/s1")" 0 "{prefix}rectask is deleted when the task ends"

B1=$ROOT_A/b1
is "$(find "$ROOT_A" -name '*.tmp' | wc -l)" 0 "no .tmp file is left"
mapfile -t flvs < <(find "$B1/record/live/s1" -name '*.flv' 2>/dev/null | sort)
is "${#flvs[@]}" 3 "three FLV files (25 s in 10 s cycles)"
bad=0
for f in "${flvs[@]}"; do
    [[ $(basename "$f") =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}_[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}\.flv$ ]] ||
        { bad=1; diag "bad name $f"; }
done
is "$bad" 0 "FLV names follow the default {EscapedStartTime}_{EscapedEndTime} template"
mp4s=()
for i in 0 1 2; do mp4s+=("$B1/mp4/live/s1/$i.mp4"); done
is "$(find "$B1/mp4" -name '*.mp4' | sort | xargs -n1 basename | tr '\n' ' ')" "0.mp4 1.mp4 2.mp4 " \
    "MP4 names follow mp4/{AppName}/{StreamName}/{Sequence}"
mapfile -t m3u8s < <(find "$B1/hls/live/s1" -name '*.m3u8' 2>/dev/null | sort)
is "${#m3u8s[@]}" 3 "three playlists, hls/{AppName}/{StreamName}/{UnixTimestamp}.m3u8"
bad=0
for f in "${m3u8s[@]}"; do [[ $(basename "$f") =~ ^[0-9]{10}\.m3u8$ ]] || { bad=1; diag "bad name $f"; }; done
nts=$(find "$B1/hls/live/s1" -name 's_*.ts' | wc -l)
cmp_ok "$nts" -ge 3 "TS slices named hls/live/s1/s_{Sequence}.ts ($nts)"
ok $bad "playlist names are unix timestamps"

for kind in flv mp4 m3u8; do
    case $kind in flv) set -- "${flvs[@]}" ;; mp4) set -- "${mp4s[@]}" ;; m3u8) set -- "${m3u8s[@]}" ;; esac
    ds=() bad=0
    for f in "$@"; do
        decodes "$f" || bad=1
        if [ "$kind" = m3u8 ]; then ds+=("$(extinf "$f")"); else ds+=("$(dur "$f")"); fi
    done
    ok $bad "every $kind file decodes start to end"
    total=$(fsum "${ds[@]:-0}")
    near "$total" 25 1.05
    ok $? "$kind durations (${ds[*]}) add up to the 25 s publish within a GOP ($total)"
    near "${ds[0]:-0}" 10 1.05
    ok $? "the first $kind file is one cycle long (${ds[0]:-none})"
done

nfiles=$(find "$B1" -type f \( -name '*.flv' -o -name '*.mp4' -o -name '*.m3u8' -o -name '*.ts' \) | wc -l)
is "$(metric livedge_record_files_total)" "$nfiles" "livedge_record_files_total counts every file and slice ($nfiles)"
idx=$(R ZCARD "${PFX}recidx:$D/live/s1")
is "$idx" "$nfiles" "every file and slice is in the index"
e=$(R ZRANGE "${PFX}recidx:$D/live/s1" 0 0)
like "$(j "$e" 'd["url"]')" "^http://127.0.0.1:$LE_HTTP_PORT/record/b1/" "index entries carry the local RecordUrl"
is "$(j "$e" 'd["node"]')" "le-test-$LE_BASE_NAME-a" "... and the node"

# ---- 2. RealTimeRecordCommand on node A ------------------------------------------------
cfg "live/man" '{"DomainName":"'"$D"'","AppName":"live","StreamName":"man","OssBucket":"b1","OnDemand":2,
"RecordFormatList":{"RecordFormat":[{"Format":"flv","CycleDuration":60}]}}'
mark=$(le_log_lines)
LE_PUB_SECS=40 le_publish man
le_wait_publishing "$LE_PUB_PROGRESS" 15
man_pub=$LE_PUB_PID
line=$(le_wait_log 'live/man: OnDemand 2 and no record=on' 5 "$mark")
ok $? "live/man is not recorded by itself (OnDemand 2, no record=on)" && diag "$line"
api RealTimeRecordCommand Command=start DomainName="$D" AppName=live StreamName=man
is "$API_CODE" 200 "RealTimeRecordCommand start: 200" || diag "$API_BODY"
le_wait_log 'live/man: recording started \(manual, flv\)' 5 "$mark" >/dev/null
ok $? "the manual task starts on node A"
api RealTimeRecordCommand Command=start DomainName="$D" AppName=live StreamName=man
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "409 TaskAlreadyStarted" "a second start: 409 TaskAlreadyStarted"
is "$(j "$(R GET "${PFX}rectask:$D/live/man")" 'str(d["manual"])')" True "{prefix}rectask says manual"
sleep 4
api RealTimeRecordCommand Command=stop DomainName="$D" AppName=live StreamName=man
is "$API_CODE" 200 "RealTimeRecordCommand stop: 200" || diag "$API_BODY"
le_wait_log 'live/man: recording ended: RealTimeRecordCommand stop' 5 "$mark" >/dev/null
ok $? "stop ends the task"
has_flv() { [ "$(find "$1" -name '*.flv' 2>/dev/null | wc -l)" -ge 1 ]; }
le_wait_for 5 has_flv "$B1/record/live/man"
mapfile -t mf < <(find "$B1/record/live/man" -name '*.flv' 2>/dev/null)
is "${#mf[@]}" 1 "the manual task left one FLV file"
d=$(dur "${mf[0]:-/nonexistent}")
near "${d:-0}" 5 2
ok $? "it holds the ~4-5 s between start and stop ($d s)"
is "$(R EXISTS "${PFX}rectask:$D/live/man")" 0 "{prefix}rectask deleted at stop"
sleep 2
is "$(find "$B1/record/live/man" -name '*.flv' | wc -l)" 1 "a stopped manual task does not restart"
le_kill "$man_pub"

# ---- 3. the command through node B ------------------------------------------------------
cfg "live/rb" '{"DomainName":"'"$D"'","AppName":"live","StreamName":"rb","OssBucket":"b1","OnDemand":2,
"RecordFormatList":{"RecordFormat":[{"Format":"flv","CycleDuration":60}]}}'
LE_EXTRA_CONF="record_root $ROOT_B;
record_min_free 0;"
start_node B || le_abort "node B did not start"
use A
mark=$(le_log_lines)
LE_PUB_SECS=40 le_publish rb
le_wait_publishing "$LE_PUB_PROGRESS" 15
rb_pub=$LE_PUB_PID
sleep 2   # the online hash has the stream
use B
api RealTimeRecordCommand Command=start DomainName="$D" AppName=live StreamName=rb
is "$API_CODE" 200 "start through node B: 200" || diag "$API_BODY"
use A
le_wait_log 'live/rb: recording started \(manual, flv\)' 5 "$mark" >/dev/null
ok $? "node A, holding the publisher, records"
sleep 3
use B
api RealTimeRecordCommand Command=stop DomainName="$D" AppName=live StreamName=rb
is "$API_CODE" 200 "stop through node B: 200" || diag "$API_BODY"
use A
le_wait_log 'live/rb: recording ended' 5 "$mark" >/dev/null
ok $? "node A ends the task"
le_wait_for 5 has_flv "$B1/record/live/rb"
mapfile -t rf < <(find "$B1/record/live/rb" -name '*.flv' 2>/dev/null)
is "${#rf[@]}" 1 "one FLV file on node A"
decodes "${rf[0]:-/nonexistent}"
ok $? "it decodes"
is "$(find "$ROOT_B" -type f | wc -l)" 0 "node B wrote nothing"
le_kill "$rb_pub"

# ---- 5. stitch: a publisher back within record_stitch continues the task ---------------------
cfg "live/st" '{"DomainName":"'"$D"'","AppName":"live","StreamName":"st","OssBucket":"b1","OnDemand":0,
"RecordFormatList":{"RecordFormat":[{"Format":"flv","CycleDuration":60,"OssObjectPrefix":"st/{AppName}/{StreamName}/{Sequence}"}]}}'
mark=$(le_log_lines)
LE_PUB_SECS=4 le_publish st
le_wait_exit "$LE_PUB_PID" 20
LE_PUB_SECS=4 le_publish st
le_wait_exit "$LE_PUB_PID" 20
le_wait_log 'live/st: publisher back: the task continues' 1 "$mark" >/dev/null
ok $? "the second publish continues the task"
is "$(grep -c 'live/st: recording started' <(tail -n +"$((mark + 1))" "$LE_LOG"))" 1 "one task for both publishes"
le_wait_log 'live/st: recording ended' 10 "$mark" >/dev/null
ok $? "the task ends once record_stitch passes without a publisher"
is "$(find "$B1/st/live/st" -name '*.flv' 2>/dev/null | xargs -n1 basename 2>/dev/null | sort | tr '\n' ' ')" "0.flv 1.flv " \
    "a file per publish, {Sequence} continued (0, 1)"
for f in "$B1"/st/live/st/*.flv; do
    d=$(dur "$f"); near "${d:-0}" 4 1.05; ok $? "$(basename "$f") holds its publish ($d s)"
done

# ---- 4. OnDemand 1: the OnDemandUrl decides ----------------------------------------------
use A
cat >"$LE_DIR/od.py" <<'PY'
import http.server, sys, urllib.parse
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        q = urllib.parse.urlparse(self.path).query
        with open(sys.argv[2], "a") as f:
            f.write(q + "\n")
        st = urllib.parse.parse_qs(q).get("stream", [""])[0]
        b = b'{"NeedRecord":true,"Format":["flv"],"Interval":{"flv":5}}' if st == "od1" else b'{"NeedRecord":false}'
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
le_bg OD_PID python3 "$LE_DIR/od.py" "$LE_DIR/odport" "$LE_DIR/od.log"
le_wait_for 5 test -s "$LE_DIR/odport" || le_abort "on-demand server did not start"
R SET "${PFX}recnotify:$D" '{"DomainName":"'"$D"'","NotifyUrl":"","OnDemandUrl":"http://127.0.0.1:'"$(cat "$LE_DIR/odport")"'/od","NeedStatusNotify":false}' >/dev/null
for s in od1 od0; do
    cfg "live/$s" '{"DomainName":"'"$D"'","AppName":"live","StreamName":"'"$s"'","OssBucket":"b1","OnDemand":1,
"RecordFormatList":{"RecordFormat":[{"Format":"flv","CycleDuration":60},{"Format":"mp4","CycleDuration":60}]}}'
done
mark=$(le_log_lines)
LE_PUB_SECS=12 le_publish od1 -b:v 800k
le_wait_publishing "$LE_PUB_PROGRESS" 15
le_wait_log 'live/od1: recording started \(automatic, flv\)' 8 "$mark" >/dev/null
ok $? "OnDemand 1: the task starts with the formats the reply kept (flv, not mp4)"
q=$(grep 'stream=od1' "$LE_DIR/od.log" | head -1)
like "$q" 'codec=h264' "the query names the codec ($q)"
vb=$(sed -n 's/.*vbitrate=\([0-9]*\).*/\1/p' <<<"$q")
ok "$( [ "${vb:-0}" -ge 700 ] && [ "${vb:-0}" -le 900 ]; echo $?)" "... and the bitrate from onMetaData, kbit/s ($vb)"
le_wait_exit "$LE_PUB_PID" 30
le_wait_log 'live/od1: recording ended' 10 "$mark" >/dev/null
ok $? "the OnDemand 1 task ends"
mapfile -t odf < <(find "$B1/record/live/od1" -name '*.flv' 2>/dev/null | sort)
is "${#odf[@]}" 3 "Interval 5 s overrides CycleDuration: three FLV files for 12 s"
is "$(find "$B1" -path '*od1*' -name '*.mp4' | wc -l)" 0 "no MP4 (not in the reply's Format)"
LE_PUB_SECS=6 le_publish od0
le_wait_publishing "$LE_PUB_PROGRESS" 15
le_wait_log 'live/od0: OnDemandUrl says no recording' 8 "$mark" >/dev/null
ok $? "NeedRecord false: not recorded"
le_wait_exit "$LE_PUB_PID" 20
is "$(find "$B1" -path '*od0*' -type f | wc -l)" 0 "no file for it"
is "$(metric 'livedge_record_ondemand_total{decision="yes"}') $(metric 'livedge_record_ondemand_total{decision="no"}')" \
    "1 3" "livedge_record_ondemand_total: yes 1, no 3 (od0 and the two OnDemand 2 streams)"
le_kill "$OD_PID"

use B
le_stop
use A
le_stop
done_testing
