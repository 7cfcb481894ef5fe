#!/bin/sh
# 71-snapshot: snapshots (docs/SNAPSHOT.md), one node on a private Redis.
#  1. the snapshot config actions: every refused parameter (missing ones,
#     TimeInterval out of 5..3600, an unknown domain, bad templates, no
#     object at all), the stored JSON and the exact DescribeLiveSnapshotConfig
#     shape, paging (PageSize 4 and 31 refused, 5 pages), the AppName filter,
#     UpdateLiveAppSnapshotConfig with "-" deleting a field, Delete;
#  2. ffmpeg publishes 1280x720 H.264 under a config of TimeInterval 5: the
#     OverwriteOssObject and at least 2 SequenceOssObject JPEGs appear within
#     ~13 s under record_root, ffprobe reads mjpeg 1280x720, /record/{bucket}/
#     {key} serves the same bytes as image/jpeg, /metrics counts them;
#     DescribeLiveStreamSnapshotInfo lists them with exactly the API reference's
#     fields, Limit and NextStartTime page through them, a window over 1 day
#     and a Limit out of 1..100 are refused;
#  3. a config added while its stream is live takes effect from the next
#     publish only;
#  4. with an s3 block (a PUT-only stand-in, keep_local off): the objects
#     are uploaded as image/jpeg, the local copies removed, the Sequence
#     object indexed.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=150}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl redis-server redis-cli

LE_BASE_NAME=$LE_NAME
LE_WAIT_PORTS="rtmp http admin"
PFX="letest$$:"
D=DomainName=$LE_DOMAIN
ROOT=$LE_DIR/rec
R() { redis-cli -p "$LE_REDIS_PORT" "$@"; }
metric() {
    curl -s --max-time 5 "http://127.0.0.1:$LE_ADMIN_PORT/metrics" | awk -v k="$1" '$1 == k {print $2; exit}'
}
# pubhd APP NAME SECS: ffmpeg publishes 1280x720 15 fps H.264 (GOP 15) to APP/NAME.
pubhd() {
    local prog=$LE_DIR/pub-$1-$2-$RANDOM.progress
    le_bg PUB_PID ffmpeg -hide_banner -nostdin -loglevel warning -nostats -progress "$prog" -stats_period 0.1 \
        -re -f lavfi -i "testsrc2=size=1280x720:rate=15" -t "$3" -c:v libx264 -preset ultrafast -tune zerolatency \
        -g 15 -pix_fmt yuv420p -f flv "rtmp://127.0.0.1:$LE_RTMP_PORT/$1/$2" >"$LE_DIR/pub-$1-$2.log" 2>&1
    le_wait_publishing "$prog" 15
}
# jpeg_size FILE: "codec WxH" of FILE (ffprobe).
jpeg_size() {
    ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height -of csv=p=0 "$1" 2>/dev/null |
        awk -F, '{print $1 " " $2 "x" $3}'
}
nseq() { find "$ROOT/snapbkt/snapshot/live/$1" -name '*.jpg' 2>/dev/null | wc -l; }
seq_ge() { [ "$(nseq "$1")" -ge "$2" ]; }

le_start_redis || le_abort "redis did not start"
LE_EXTRA_CONF="record_root $ROOT;
record_min_free 0;"
start_node A || le_abort "node A did not start"

# ---- 1. the config actions ---------------------------------------------------------
OW='{AppName}/{StreamName}.jpg'
SQ='snapshot/{AppName}/{StreamName}/{Sequence}'
base=($D AppName=live OssBucket=snapbkt OssEndpoint=oss-cn-shanghai.aliyuncs.com)
bad 400 MissingParameter "Add without TimeInterval" AddLiveAppSnapshotConfig "${base[@]}" "OverwriteOssObject=$OW"
bad 400 MissingParameter "Add without OssBucket" AddLiveAppSnapshotConfig $D AppName=live \
    OssEndpoint=oss.example TimeInterval=5 "OverwriteOssObject=$OW"
bad 400 MissingParameter "Add without AppName" AddLiveAppSnapshotConfig $D OssBucket=snapbkt \
    OssEndpoint=oss.example TimeInterval=5 "OverwriteOssObject=$OW"
bad 400 MissingParameter "Add without DomainName" AddLiveAppSnapshotConfig AppName=live OssBucket=snapbkt \
    OssEndpoint=oss.example TimeInterval=5 "OverwriteOssObject=$OW"
bad 404 InvalidDomain.NotFound "Add on an unknown domain" AddLiveAppSnapshotConfig DomainName=nope.example \
    AppName=live OssBucket=snapbkt OssEndpoint=oss.example TimeInterval=5 "OverwriteOssObject=$OW"
for iv in 4 3601 0 abc 5.5; do
    bad 400 InvalidParameter "TimeInterval $iv refused" AddLiveAppSnapshotConfig "${base[@]}" TimeInterval=$iv \
        "OverwriteOssObject=$OW"
done
bad 400 InvalidParameter "no OverwriteOssObject nor SequenceOssObject" AddLiveAppSnapshotConfig "${base[@]}" \
    TimeInterval=5
bad 400 InvalidParameter "a SequenceOssObject without {UnixTimestamp} or {Sequence}" AddLiveAppSnapshotConfig \
    "${base[@]}" TimeInterval=5 "SequenceOssObject=snap/{AppName}/{StreamName}.jpg"
bad 400 InvalidParameter "an OverwriteOssObject with {Sequence}" AddLiveAppSnapshotConfig "${base[@]}" \
    TimeInterval=5 "OverwriteOssObject=snap/{StreamName}_{Sequence}.jpg"
bad 400 InvalidParameter "an object with .." AddLiveAppSnapshotConfig "${base[@]}" TimeInterval=5 \
    "OverwriteOssObject=../{StreamName}.jpg"
bad 400 InvalidParameter "OssBucket Bad_Bucket" AddLiveAppSnapshotConfig $D AppName=live OssBucket=Bad_Bucket \
    OssEndpoint=oss.example TimeInterval=5 "OverwriteOssObject=$OW"
is "$(R EXISTS "${PFX}snapcfg:$LE_DOMAIN")" 0 "nothing stored by the refused calls"

api AddLiveAppSnapshotConfig "${base[@]}" TimeInterval=5 "OverwriteOssObject=$OW" "SequenceOssObject=$SQ"
ok $? "AddLiveAppSnapshotConfig live: TimeInterval 5, both objects" || diag "$API_BODY"
is "$(j "$API_BODY" 'sorted(d.keys())')" '["RequestId"]' "... answers a RequestId only"
stored=$(R HGET "${PFX}snapcfg:$LE_DOMAIN" live)
is "$(j "$stored" '[d["AppName"], d["TimeInterval"], d["OssBucket"], d["OverwriteOssObject"], d["SequenceOssObject"]]')" \
    "[\"live\", 5, \"snapbkt\", \"$OW\", \"$SQ\"]" "... stored in {prefix}snapcfg:{domain} field live"
is "$(R SISMEMBER "${PFX}snapdomains" "$LE_DOMAIN")" 1 "... the domain joins {prefix}snapdomains"

api DescribeLiveSnapshotConfig $D
ok $? "DescribeLiveSnapshotConfig" || diag "$API_BODY"
is "$(j "$API_BODY" 'sorted(d.keys())')" \
    '["LiveStreamSnapshotConfigList", "Order", "PageNum", "PageSize", "RequestId", "TotalNum", "TotalPage"]' \
    "... exactly these keys"
is "$(j "$API_BODY" '[d["PageNum"], d["PageSize"], d["Order"], d["TotalPage"], d["TotalNum"]]')" \
    '[1, 10, "asc", 1, 1]' "... paging defaults"
cfg=$(j "$API_BODY" 'd["LiveStreamSnapshotConfigList"]["LiveStreamSnapshotConfig"][0]')
like "$(j "$cfg" 'd["CreateTime"]')" '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z$' \
    "... CreateTime in ISO 8601 UTC"
is "$(j "$cfg" '{k: v for k, v in d.items() if k != "CreateTime"}')" \
    "{\"AppName\": \"live\", \"DomainName\": \"$LE_DOMAIN\", \"OssBucket\": \"snapbkt\", \"OssEndpoint\": \"oss-cn-shanghai.aliyuncs.com\", \"OverwriteOssObject\": \"$OW\", \"SequenceOssObject\": \"$SQ\", \"TimeInterval\": 5}" \
    "... the LiveStreamSnapshotConfig, exact"

# Update: "-" deletes a field, the rest is kept
api UpdateLiveAppSnapshotConfig $D AppName=live TimeInterval=9 OverwriteOssObject=-
ok $? "Update live: TimeInterval 9, OverwriteOssObject -" || diag "$API_BODY"
api DescribeLiveSnapshotConfig $D AppName=live
c0='d["LiveStreamSnapshotConfigList"]["LiveStreamSnapshotConfig"][0]'
is "$(j "$API_BODY" "[$c0[\"TimeInterval\"], $c0[\"OverwriteOssObject\"], $c0[\"SequenceOssObject\"], $c0[\"OssBucket\"]]")" \
    "[9, \"\", \"$SQ\", \"snapbkt\"]" "... Describe: TimeInterval 9, OverwriteOssObject deleted, the rest kept"
bad 400 InvalidParameter "Update deleting the last object refused" UpdateLiveAppSnapshotConfig $D AppName=live \
    SequenceOssObject=-
bad 400 InvalidParameter "Update TimeInterval 3601 refused" UpdateLiveAppSnapshotConfig $D AppName=live \
    TimeInterval=3601
bad 400 CodeConfigNotFound "Update of an app without config" UpdateLiveAppSnapshotConfig $D AppName=nocfg \
    TimeInterval=5
api UpdateLiveAppSnapshotConfig $D AppName=live TimeInterval=5 "OverwriteOssObject=$OW"
ok $? "Update live back: TimeInterval 5, OverwriteOssObject again" || diag "$API_BODY"

# paging: six more configs (one domain-level "*")
for a in a1 a2 a3 a4 a5 '*'; do
    api AddLiveAppSnapshotConfig $D "AppName=$a" OssBucket=other OssEndpoint=oss.example TimeInterval=60 \
        "SequenceOssObject=s/{AppName}/{StreamName}/{UnixTimestamp}" || break
done
ok $? "six more configs" || diag "$API_BODY"
api DescribeLiveSnapshotConfig $D PageSize=5
is "$API_CODE $(j "$API_BODY" '[d["TotalNum"], d["TotalPage"], d["PageSize"], len(d["LiveStreamSnapshotConfigList"]["LiveStreamSnapshotConfig"])]')" \
    "200 [7, 2, 5, 5]" "PageSize 5: 7 configs, 2 pages, 5 on the first"
api DescribeLiveSnapshotConfig $D PageSize=5 PageNum=2
is "$(j "$API_BODY" '[d["PageNum"], len(d["LiveStreamSnapshotConfigList"]["LiveStreamSnapshotConfig"])]')" \
    "[2, 2]" "... 2 on the second"
APPS='[c["AppName"] for c in d["LiveStreamSnapshotConfigList"]["LiveStreamSnapshotConfig"]]'
api DescribeLiveSnapshotConfig $D PageSize=5
asc=$(j "$API_BODY" "$APPS[:2][::-1]")
api DescribeLiveSnapshotConfig $D PageSize=5 PageNum=2 Order=desc
is "$(j "$API_BODY" "[d[\"Order\"], $APPS]")" "[\"desc\", $asc]" "... Order desc, page 2: the first two of asc, reversed"
bad 400 InvalidParameter "PageSize 4 refused" DescribeLiveSnapshotConfig $D PageSize=4
bad 400 InvalidParameter "PageSize 31 refused" DescribeLiveSnapshotConfig $D PageSize=31
bad 400 InvalidParameter "Order sideways refused" DescribeLiveSnapshotConfig $D Order=sideways
api DescribeLiveSnapshotConfig $D 'AppName=*'
is "$(j "$API_BODY" '[c["AppName"] for c in d["LiveStreamSnapshotConfigList"]["LiveStreamSnapshotConfig"]]')" \
    '["*"]' "AppName=* lists the domain-level config only"
bad 404 InvalidDomain.NotFound "Describe on an unknown domain" DescribeLiveSnapshotConfig DomainName=nope.example
for a in a1 a2 a3 a4 a5 '*'; do
    api DeleteLiveAppSnapshotConfig $D "AppName=$a" || break
done
ok $? "DeleteLiveAppSnapshotConfig of the six" || diag "$API_BODY"
is "$(R HKEYS "${PFX}snapcfg:$LE_DOMAIN")" "live" "... only live is left in Redis"
bad 400 MissingParameter "Delete without AppName" DeleteLiveAppSnapshotConfig $D

# ---- 2. snapshots of a 1280x720 publish ---------------------------------------------
T0=$(utc -2)
pubhd live s1 40
ok $? "ffmpeg publishes live/s1 at 1280x720" || diag "$(cat "$LE_DIR/pub-live-s1.log")"
line=$(le_wait_log 'live/s1: snapshots every 5 s' 10)
ok $? "the snapshotter starts with the publish" && diag "$line"
OWF=$ROOT/snapbkt/live/s1.jpg
le_wait_for 15 seq_ge s1 2
ok $? "within 15 s: $(nseq s1) SequenceOssObject JPEGs (at least 2)"
[ -s "$OWF" ]
ok $? "... and the OverwriteOssObject live/s1.jpg"
is "$(jpeg_size "$OWF")" "mjpeg 1280x720" "ffprobe: the Overwrite object is mjpeg at the source's size"
first=$ROOT/snapbkt/snapshot/live/s1/1.jpg
is "$(jpeg_size "$first")" "mjpeg 1280x720" "ffprobe: snapshot/live/s1/1.jpg (.jpg appended, {Sequence} from 1) too"
is "$(find "$ROOT/snapbkt" -name '*.tmp' | wc -l)" 0 "no .tmp left"
hdr=$(curl -s --max-time 5 -D - -o "$LE_DIR/got.jpg" "http://127.0.0.1:$LE_HTTP_PORT/record/snapbkt/snapshot/live/s1/1.jpg")
like "$hdr" 'HTTP/1.1 200' "/record/snapbkt/snapshot/live/s1/1.jpg answers 200"
like "$hdr" '[Cc]ontent-[Tt]ype: image/jpeg' "... as image/jpeg"
cmp -s "$LE_DIR/got.jpg" "$first"
ok $? "... the same bytes as the file"
taken=$(metric livedge_snapshot_taken_total)
[ "${taken:-0}" -ge 3 ]
ok $? "livedge_snapshot_taken_total counts them ($taken)"
is "$(metric livedge_snapshot_tasks)" 1 "livedge_snapshot_tasks 1"
is "$(metric livedge_snapshot_failed_total)" 0 "livedge_snapshot_failed_total 0"
diag "worker time: $(metric livedge_snapshot_work_seconds_total) s for $taken objects (2 per snapshot)"

W=("StartTime=$T0" "EndTime=$(utc 60)")
api DescribeLiveStreamSnapshotInfo $D AppName=live StreamName=s1 "${W[@]}"
ok $? "DescribeLiveStreamSnapshotInfo" || diag "$API_BODY"
is "$(j "$API_BODY" 'sorted(d.keys())')" '["LiveStreamSnapshotInfoList", "RequestId"]' \
    "... no NextStartTime when everything fits"
L='d["LiveStreamSnapshotInfoList"]["LiveStreamSnapshotInfo"]'
n=$(j "$API_BODY" "len($L)")
[ "$n" -ge 2 ]
ok $? "... lists the $n sequence snapshots"
is "$(j "$API_BODY" "sorted($L[0].keys())")" '["CreateTime", "OssBucket", "OssEndpoint", "OssObject"]' \
    "... entries with exactly CreateTime, OssBucket, OssEndpoint, OssObject"
is "$(j "$API_BODY" "[$L[0][\"OssObject\"], $L[1][\"OssObject\"], $L[0][\"OssBucket\"], $L[0][\"OssEndpoint\"]]")" \
    '["snapshot/live/s1/1.jpg", "snapshot/live/s1/2.jpg", "snapbkt", "oss-cn-shanghai.aliyuncs.com"]' \
    "... in time order, the keys written"
like "$(j "$API_BODY" "$L[0][\"CreateTime\"]")" '^20[0-9-]{8}T[0-9:]{8}Z$' "... CreateTime in ISO 8601 UTC"
second=$(j "$API_BODY" "$L[1][\"CreateTime\"]")
api DescribeLiveStreamSnapshotInfo $D AppName=live StreamName=s1 "${W[@]}" Limit=1
is "$(j "$API_BODY" "[len($L), $L[0][\"OssObject\"], d.get(\"NextStartTime\")]")" \
    "[1, \"snapshot/live/s1/1.jpg\", \"$second\"]" "Limit 1: one entry and NextStartTime = the next one's CreateTime"
api DescribeLiveStreamSnapshotInfo $D AppName=live StreamName=s1 "StartTime=$second" "EndTime=$(utc 60)" Limit=1
is "$(j "$API_BODY" "[len($L), $L[0][\"OssObject\"]]")" '[1, "snapshot/live/s1/2.jpg"]' \
    "... NextStartTime as StartTime gives the next one"
api DescribeLiveStreamSnapshotInfo $D AppName=live StreamName=nosuch "${W[@]}"
is "$API_CODE $(j "$API_BODY" "$L")" "200 []" "a stream without snapshots: an empty list"
bad 400 InvalidStartTime.ValueNotSupported "a window over 1 day refused" DescribeLiveStreamSnapshotInfo $D \
    AppName=live StreamName=s1 "StartTime=$(utc -90000)" "EndTime=$(utc 0)"
bad 400 InvalidParameter "Limit 0 refused" DescribeLiveStreamSnapshotInfo $D AppName=live StreamName=s1 "${W[@]}" Limit=0
bad 400 InvalidParameter "Limit 101 refused" DescribeLiveStreamSnapshotInfo $D AppName=live StreamName=s1 "${W[@]}" Limit=101
bad 400 MissingParameter "no StreamName" DescribeLiveStreamSnapshotInfo $D AppName=live "${W[@]}"
bad 400 MissingParameter "no EndTime" DescribeLiveStreamSnapshotInfo $D AppName=live StreamName=s1 "StartTime=$T0"
le_kill "$PUB_PID"
le_wait_log 'live/s1: snapshots ended' 10 >/dev/null
ok $? "the snapshotter ends with the publish"

# ---- 3. a config added while live takes effect from the next publish ---------------
pubhd other s2 40
ok $? "ffmpeg publishes other/s2 (no config)" || diag "$(cat "$LE_DIR/pub-other-s2.log")"
api AddLiveAppSnapshotConfig $D AppName=other OssBucket=snapbkt OssEndpoint=oss.example TimeInterval=5 \
    "OverwriteOssObject=late/{StreamName}.jpg"
ok $? "a config for app other added while other/s2 is live" || diag "$API_BODY"
sleep 7
[ ! -e "$ROOT/snapbkt/late/s2.jpg" ]
ok $? "no snapshot of the running publish after 7 s"
le_kill "$PUB_PID"
pubhd other s2 30
ok $? "other/s2 published again"
le_wait_for 10 test -s "$ROOT/snapbkt/late/s2.jpg"
ok $? "the next publish takes snapshots: late/s2.jpg"
is "$(jpeg_size "$ROOT/snapbkt/late/s2.jpg")" "mjpeg 1280x720" "... mjpeg 1280x720"
le_kill "$PUB_PID"
le_stop

# ---- 4. with an s3 block: uploaded, the local copy removed, indexed -------------------
cat >"$LE_DIR/s3.py" <<'PY'
import http.server, json, os, sys
port_file, root, log = sys.argv[1:4]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_PUT(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        path = os.path.join(root, self.path.split("?")[0].lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(body)
        with open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "type": self.headers.get("Content-Type"), "n": n}) + "\n")
        self.send_response(200)
        self.send_header("ETag", '"0"')
        self.send_header("Content-Length", "0")
        self.end_headers()
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
S3LOG=$LE_DIR/s3puts.jsonl
: >"$S3LOG"
le_bg S3_PID "$LE_PY" "$LE_DIR/s3.py" "$LE_DIR/s3port" "$LE_DIR/s3store" "$S3LOG"
le_wait_for 10 test -s "$LE_DIR/s3port" || le_abort "the S3 stand-in did not start"
LE_EXTRA_CONF="record_root $ROOT;
record_min_free 0;
s3 {
    endpoint   http://127.0.0.1:$(cat "$LE_DIR/s3port");
    access_key AK;
    secret_key SK;
    keep_local off;
}"
start_node B || le_abort "node B (s3) did not start"
T1=$(utc -2)
LE_PUB_SECS=30 le_publish s3
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "node B (s3 block): ffmpeg publishes live/s3 at 640x360"
s3_has() { [ -s "$LE_DIR/s3store/snapbkt/snapshot/live/s3/$1.jpg" ] && [ -s "$LE_DIR/s3store/snapbkt/live/s3.jpg" ]; }
le_wait_for 15 s3_has 1
ok $? "the Overwrite and the first Sequence object are PUT to the bucket"
is "$(jpeg_size "$LE_DIR/s3store/snapbkt/snapshot/live/s3/1.jpg")" "mjpeg 640x360" "... an mjpeg of 640x360"
is "$(j "$(grep -m1 '/snapshot/live/s3/1.jpg' "$S3LOG")" 'd["type"]')" "image/jpeg" "... with Content-Type image/jpeg"
le_wait_for 5 test ! -e "$ROOT/snapbkt/snapshot/live/s3/1.jpg"
ok $? "... and the local copy is removed (keep_local off)"
idx_has() {
    api DescribeLiveStreamSnapshotInfo $D AppName=live StreamName=s3 "StartTime=$T1" "EndTime=$(utc 60)" &&
        [ "$(j "$API_BODY" "len($L)")" -ge 1 ]
}
le_wait_for 5 idx_has
is "$(j "$API_BODY" "$L[0][\"OssObject\"]")" "snapshot/live/s3/1.jpg" "... and indexed once uploaded"
le_kill "$LE_PUB_PID"
le_stop
le_kill "$S3_PID"
done_testing
