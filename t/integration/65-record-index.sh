#!/bin/sh
# 65-record-index: the record index actions and /record/ over HTTP
# (livedge.8: DescribeLiveStreamRecordContent, CreateLiveStreamRecordIndexFiles,
# DescribeLiveStreamRecordIndexFile(s); docs/CONTRACT.md, recidx/recfiles).
# Independent of the recorder: real media made by ffmpeg (an FLV file, 4 s TS
# slices cut by the segment muxer) is placed under record_root, and the index
# entries are written with redis-cli ZADD in the documented format. Then:
#  - RecordContent lists exactly the whole files and playlists overlapping
#    the window (not slices); the 4-day rule and the order of the times;
#  - CreateLiveStreamRecordIndexFiles writes a VOD m3u8 (a discontinuity at
#    the gap) that ffprobe reads over HTTP from the node with the slices'
#    total duration; no slice in the window: 404; a bad OssObject: 400;
#  - DescribeLiveStreamRecordIndexFile(s): by RecordId, unknown id 404,
#    paging (PageSize 5..30), Order;
#  - HTTP: a Range answer is byte-exact (cmp), a suffix range, HEAD, 416,
#    404 for a .tmp file, "..", an encoded "..", a directory and a missing
#    file; Content-Type; CORS from cors_origin; a domain with aliauth refuses
#    an unsigned request and serves a signed one.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=300}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl redis-server redis-cli md5sum

REC=$LE_DIR/rec
AUTHKEY=rec-secret-1
mkdir -p "$REC"
LE_EXTRA_CONF="record_root $REC;
domain auth.test {
    aliauth {
        auth_type      type_a;
        auth_key1      $AUTHKEY;
        ali_auth_delta 600;
    }
}"
LE_DOMAIN_CONF="    cors_origin https://player.example;"
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"
H=http://127.0.0.1:$LE_HTTP_PORT
PREFIX="letest$$:"
D=DomainName=live.test
AS=("AppName=live" "StreamName=cam")
rcli() { redis-cli -p "$LE_REDIS_PORT" "$@"; }

# ---- media ------------------------------------------------------------------------
SRC=(-f lavfi -i "testsrc=size=320x240:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=44100")
ENC=(-c:v libx264 -preset ultrafast -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k)
OBJ=record/live/cam
mkdir -p "$REC/bkt/$OBJ/slices"
ffmpeg -hide_banner -nostdin -loglevel error -y "${SRC[@]}" -t 10 "${ENC[@]}" -f flv "$REC/bkt/$OBJ/a.flv"
ok $? "ffmpeg made an FLV file"
ffmpeg -hide_banner -nostdin -loglevel error -y "${SRC[@]}" -t 16 "${ENC[@]}" \
    -force_key_frames 'expr:gte(t,n_forced*4)' -f segment -segment_time 4 -segment_format mpegts \
    "$REC/bkt/$OBJ/slices/s%d.ts"
ok $? "ffmpeg cut TS slices"
NS=$(ls "$REC/bkt/$OBJ/slices" | grep -c '\.ts$')
is "$NS" 4 "four 4 s slices"

dur_ms() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1" | awk '{printf "%d", $1 * 1000}'; }

# entry FMT SLICE KEY START_MS END_MS DURATION_MS: the documented index entry JSON.
entry() {
    printf '{"fmt":"%s","slice":%s,"key":"%s","bucket":"bkt","endpoint":"oss-test.example","url":"%s",' \
        "$1" "$2" "$3" "$H/record/bkt/$3"
    printf '"start":%s,"end":%s,"duration":%s,"width":320,"height":240,"bytes":1000,"node":"n1"}' "$4" "$5" "$6"
}
IDX="${PREFIX}recidx:live.test/live/cam"
T0=$(( ($(date +%s) - 7200) * 1000 ))
zadd() { rcli ZADD "$IDX" "$1" "$2" >/dev/null; }
zadd $T0 "$(entry flv false $OBJ/a.flv $T0 $((T0 + 10000)) 10000)"
zadd $((T0 - 3600000)) "$(entry flv false $OBJ/b.flv $((T0 - 3600000)) $((T0 - 1800000)) 1800000)"
zadd $((T0 - 300000)) "$(entry m3u8 false $OBJ/c.m3u8 $((T0 - 300000)) $((T0 + 5000)) 305000)"
zadd $((T0 + 200000)) "$(entry mp4 false $OBJ/d.mp4 $((T0 + 200000)) $((T0 + 260000)) 60000)"
# Slices: s0-s2 back to back from T0, s3 after a gap.
TOTAL=0
for i in 0 1 2 3; do
    d=$(dur_ms "$REC/bkt/$OBJ/slices/s$i.ts")
    TOTAL=$((TOTAL + d))
    if [ "$i" = 3 ]; then st=$((T0 + 60000)); else st=$((T0 + i * 4000)); fi
    zadd $st "$(entry m3u8 true $OBJ/slices/s$i.ts $st $((st + d)) "$d")"
done
cmp_ok "$TOTAL" -gt 15000 "slices hold about 16 s ($TOTAL ms)"
zadd 1 'not json'   # a broken entry is skipped

iso() { date -u -d "@$(( $1 / 1000 ))" +%Y-%m-%dT%H:%M:%SZ; }
W=("StartTime=$(iso $T0)" "EndTime=$(iso $((T0 + 120000)))")

# ---- DescribeLiveStreamRecordContent --------------------------------------------------
api DescribeLiveStreamRecordContent "$D" "${AS[@]}" "${W[@]}"
ok $? "RecordContent answers 200"
is "$(j "$API_BODY" '" ".join(x["OssObjectPrefix"] for x in d["RecordContentInfoList"]["RecordContentInfo"])')" \
    "$OBJ/c.m3u8 $OBJ/a.flv" "RecordContent: exactly the files overlapping the window, in start order"
is "$(j "$API_BODY" '[d["RecordContentInfoList"]["RecordContentInfo"][1][k] for k in ("OssBucket","OssEndpoint","StartTime","EndTime")] + [float(d["RecordContentInfoList"]["RecordContentInfo"][1]["Duration"])]')" \
    "[\"bkt\", \"oss-test.example\", \"$(iso $T0)\", \"$(iso $((T0 + 10000)))\", 10.0]" "RecordContent: fields of the FLV file"
api DescribeLiveStreamRecordContent "$D" "${AS[@]}" "StartTime=$(iso $((T0 - 5 * 86400000)))" "EndTime=$(iso $T0)"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 InvalidStartTime.ValueNotSupported" "RecordContent: a window over 4 days is refused"
api DescribeLiveStreamRecordContent "$D" "${AS[@]}" "StartTime=$(iso $((T0 - 4 * 86400000)))" "EndTime=$(iso $T0)"
is "$API_CODE" 200 "RecordContent: exactly 4 days is fine"
api DescribeLiveStreamRecordContent "$D" "${AS[@]}" "StartTime=$(iso $T0)" "EndTime=$(iso $((T0 - 1000)))"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 InvalidEndTime.Mismatch" "RecordContent: end before start"
api DescribeLiveStreamRecordContent "$D" "${AS[@]}" "StartTime=$(iso $T0)" "EndTime=$(iso $T0)"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 InvalidEndTime.Mismatch" "RecordContent: end equal to start"
api DescribeLiveStreamRecordContent "$D" "${AS[@]}" "StartTime=$(iso $T0)"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 MissingParameter" "RecordContent: EndTime is required"

# ---- CreateLiveStreamRecordIndexFiles ----------------------------------------------------
OO="OssObject={AppName}/{StreamName}/{Date}/idx_{Hour}{Minute}{Second}"
create() { api CreateLiveStreamRecordIndexFiles "$D" "${AS[@]}" OssBucket=bkt OssEndpoint=oss-test.example "$@"; }
create "$OO" "${W[@]}"
ok $? "CreateLiveStreamRecordIndexFiles answers 200"
KEY="live/cam/$(date -u -d "@$((T0 / 1000))" +%Y-%m-%d)/idx_$(date -u -d "@$((T0 / 1000))" +%H%M%S).m3u8"
is "$(j "$API_BODY" 'd["RecordInfo"]["OssObject"]')" "$KEY" "the OssObject template is expanded with the window's start"
URL=$(j "$API_BODY" 'd["RecordInfo"]["RecordUrl"]')
like "$URL" "/record/bkt/$KEY\$" "RecordUrl names the file under /record/{bucket}/{key}"
RID=$(j "$API_BODY" 'd["RecordInfo"]["RecordId"]')
like "$RID" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "RecordId is a UUID v4"
is "$(j "$API_BODY" '[d["RecordInfo"][k] for k in ("Width","Height","StartTime","EndTime","DomainName","AppName","StreamName","OssBucket","OssEndpoint")]')" \
    "[320, 240, \"$(iso $T0)\", \"$(iso $((T0 + 120000)))\", \"live.test\", \"live\", \"cam\", \"bkt\", \"oss-test.example\"]" \
    "RecordInfo fields"
is "$(j "$API_BODY" 'int(round(d["RecordInfo"]["Duration"] * 1000))')" "$TOTAL" "Duration is the sum of the slices"
ok "$([ -s "$REC/bkt/$KEY" ]; echo $?)" "the index file is on disk under record_root/bkt"
PL=$(curl -s --max-time 10 "$URL")
is "$(grep -c '^#EXTINF' <<<"$PL") $(grep -c '^#EXT-X-DISCONTINUITY$' <<<"$PL") $(grep -c '^#EXT-X-ENDLIST' <<<"$PL")" \
    "4 1 1" "the playlist: 4 EXTINF, one discontinuity (the gap), ENDLIST"
like "$(grep -A3 'EXT-X-DISCONTINUITY$' <<<"$PL" | tail -1)" "/slices/s3.ts$" "the discontinuity is before the slice after the gap"
PD=$(timeout 60 ffprobe -v error -show_entries format=duration -of csv=p=0 "$URL" 2>"$LE_DIR/ffprobe-m3u8.log")
cmp_ok "$(awk -v d="$PD" -v t="$TOTAL" 'BEGIN { x = d * 1000 - t; if (x < 0) x = -x; print int(x) }')" -le 300 \
    "ffprobe reads the playlist over HTTP: $PD s (slices $TOTAL ms)"
NF=$(le_count_frames "$URL" v)
cmp_ok "${NF:-0}" -ge 390 "ffprobe decodes every slice's video through the playlist ($NF frames)"

create "$OO" "StartTime=$(iso $((T0 + 600000)))" "EndTime=$(iso $((T0 + 700000)))"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "404 InvalidStream.NotFound" "no slice in the window: 404 InvalidStream.NotFound"
create "OssObject=../x" "${W[@]}"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 InvalidParameter" "an OssObject climbing out: 400"
create "$OO" "${W[@]}" OssBucket=..
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 InvalidParameter" "an OssBucket that is no name: 400"
create "$OO" "StartTime=$(iso $((T0 - 5 * 86400000)))" "EndTime=$(iso $T0)"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 InvalidStartTime.ValueNotSupported" "Create: over 4 days refused"

# ---- DescribeLiveStreamRecordIndexFile(s) -------------------------------------------------
api DescribeLiveStreamRecordIndexFile "$D" "${AS[@]}" "RecordId=$RID"
is "$(j "$API_BODY" '[d["RecordIndexInfo"][k] for k in ("RecordId","RecordUrl","OssObject")]')" \
    "[\"$RID\", \"$URL\", \"$KEY\"]" "IndexFile returns the stored RecordInfo"
api DescribeLiveStreamRecordIndexFile "$D" "${AS[@]}" "RecordId=00000000-0000-4000-8000-000000000000"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "404 InvalidRecordId.NotFound" "IndexFile: unknown RecordId"
for k in 1 2 3 4 5 6; do
    create "OssObject=more/f$k" "StartTime=$(iso $((T0 - k * 1000)))" "EndTime=$(iso $((T0 + 120000)))" >/dev/null
done
api DescribeLiveStreamRecordIndexFiles "$D" "${AS[@]}" "${W[@]}" PageSize=5 PageNum=2
is "$(j "$API_BODY" '[d["PageNum"], d["PageSize"], d["TotalNum"], d["TotalPage"], d["Order"], len(d["RecordIndexInfoList"]["RecordIndexInfo"])]')" \
    '[2, 5, 7, 2, "asc", 2]' "IndexFiles: 7 files, page 2 of 5 holds 2"
is "$(j "$API_BODY" '" ".join(x["OssObject"] for x in d["RecordIndexInfoList"]["RecordIndexInfo"])')" \
    "more/f1.m3u8 $KEY" "IndexFiles asc: the latest starts last"
api DescribeLiveStreamRecordIndexFiles "$D" "${AS[@]}" "${W[@]}" Order=desc
is "$(j "$API_BODY" '[d["PageSize"], d["TotalNum"], d["RecordIndexInfoList"]["RecordIndexInfo"][0]["OssObject"]]')" \
    "[10, 7, \"$KEY\"]" "IndexFiles desc, default PageSize 10"
api DescribeLiveStreamRecordIndexFiles "$D" "${AS[@]}" "${W[@]}" PageSize=4
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 InvalidParameter" "IndexFiles: PageSize below 5"
api DescribeLiveStreamRecordIndexFiles "$D" "${AS[@]}" "StartTime=$(iso $((T0 + 86400000)))" "EndTime=$(iso $((T0 + 90000000)))"
is "$(j "$API_BODY" 'd["TotalNum"]')" 0 "IndexFiles: none in a later window"

# ---- HTTP ----------------------------------------------------------------------------------
F=$REC/bkt/$OBJ/a.flv
SZ=$(stat -c %s "$F")
hdr() { curl -s --max-time 10 -o "$LE_DIR/body" -D "$LE_DIR/hdr" "$@"; tr -d '\r' <"$LE_DIR/hdr"; }
h=$(hdr -H 'Range: bytes=100-1099' "$H/record/bkt/$OBJ/a.flv")
like "$h" '^HTTP/1.1 206' "Range: 206"
like "$h" "Content-Range: bytes 100-1099/$SZ" "Range: Content-Range"
dd if="$F" of="$LE_DIR/want" bs=1 skip=100 count=1000 status=none
cmp -s "$LE_DIR/body" "$LE_DIR/want"
ok $? "Range: the 1000 bytes are exactly the file's"
h=$(hdr -H 'Range: bytes=-500' "$H/record/bkt/$OBJ/a.flv")
tail -c 500 "$F" >"$LE_DIR/want"
cmp -s "$LE_DIR/body" "$LE_DIR/want"
ok $? "a suffix range: the last 500 bytes"
h=$(hdr "$H/record/bkt/$OBJ/a.flv")
cmp -s "$LE_DIR/body" "$F"
ok $? "GET: the whole file"
like "$h" 'Content-Type: video/x-flv' "Content-Type of .flv"
like "$h" 'Access-Control-Allow-Origin: https://player.example' "CORS: the domain's cors_origin"
# HEAD on a raw socket: the answer ends right after its head.
HEADOUT=$("$LE_PY" - "$LE_HTTP_PORT" "/record/bkt/$OBJ/a.flv" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(("HEAD %s HTTP/1.1\r\nHost: live.test\r\nConnection: close\r\n\r\n" % sys.argv[2]).encode())
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
head, _, rest = data.partition(b"\r\n\r\n")
cl = [l for l in head.decode().split("\r\n") if l.lower().startswith("content-length:")]
print("%s %s %d" % (head.split(b" ")[1].decode(), cl[0].split(":")[1].strip() if cl else "-", len(rest)))
PY
)
is "$HEADOUT" "200 $SZ 0" "HEAD: 200, the file's length, no body"
h=$(hdr -H "Range: bytes=$SZ-" "$H/record/bkt/$OBJ/a.flv")
like "$h" '^HTTP/1.1 416' "a range past the end: 416"
like "$h" "Content-Range: bytes \\*/$SZ" "416 names the size"
h=$(hdr "$URL")
like "$h" 'Content-Type: application/vnd.apple.mpegurl' "Content-Type of .m3u8"
cp "$F" "$F.tmp"
st() { curl -s --max-time 10 --path-as-is -o "$LE_DIR/body" -w '%{http_code}' "$@"; }
is "$(st "$H/record/bkt/$OBJ/a.flv.tmp") $(j "$(cat "$LE_DIR/body")" 'd["Code"]')" "404 NotFound" "a .tmp file: 404 with the error body"
is "$(st "$H/record/bkt/$OBJ/../cam/a.flv")" 404 "a .. segment: 404"
is "$(st "$H/record/bkt/record/live/cam/%2e%2e/cam/a.flv")" 404 "an encoded .. segment: 404"
is "$(st "$H/record/bkt/record%2flive/cam/a.flv")" 404 "an encoded slash: 404"
is "$(st "$H/record/bkt/record/live/cam%00/a.flv")" 404 "a NUL: 404"
is "$(st "$H/record/bkt/record/live/cam")" 404 "a directory: 404"
is "$(st "$H/record/bkt/record/live/cam/")" 404 "a trailing slash: 404"
is "$(st "$H/record/bkt/record/live/cam/nope.flv")" 404 "a missing file: 404"

# aliauth (type A) on the domain the request names: the signed URI is the path.
P=/record/bkt/$OBJ/a.flv
is "$(st "$H$P?vhost=auth.test")" 403 "aliauth domain: unsigned request refused"
TS=$(( $(date +%s) + 60 ))
HASH=$(printf '%s' "$P-$TS-0-0-$AUTHKEY" | md5sum | cut -d' ' -f1)
is "$(st "$H$P?vhost=auth.test&auth_key=$TS-0-0-$HASH")" 200 "aliauth domain: signed request served"
cmp -s "$LE_DIR/body" "$F"
ok $? "aliauth domain: the signed answer is the file"
BAD=$([ "${HASH:0:1}" = 0 ] && echo 1 || echo 0)${HASH:1}   # differs from HASH in its first digit
is "$(st "$H$P?vhost=auth.test&auth_key=$TS-0-0-$BAD")" 403 "aliauth domain: a bad signature refused"

le_alive_ok
le_stop
done_testing
