#!/bin/sh
# 68-record-browser: a recording plays in a browser (docs/RECORD.md,
# "Playing recordings", "Files"). An mp4 record config (CycleDuration 5)
# through AddLiveAppRecordConfig; ffmpeg publishes 320x240 H.264 + AAC whose
# picture is red for 3 s, then blue. Once DescribeLiveStreamRecordContent
# lists the first MP4, headless Chromium (playwright-core, record-browser.js)
# on a page of another origin (a python http.server on its own loopback port;
# the domain's cors_origin names that origin):
#  - a <video crossOrigin=anonymous muted> of /record/{bucket}/{key}: loadedmetadata,
#    320x240, the duration ffprobe reads from the same file (within 0.5 s);
#  - it plays (both tracks decoded); seeked to 1 s its frame drawn into a
#    canvas is red and at 4 s blue (the pixels are readable only when the
#    CORS header allows the page); played from 0.5 s before its end, it ends;
#  - fetch() with Range: 206 and exactly the bytes asked for;
#  - the media element's own requests were ranges answered 206, and
#    Chromium's media log says ranges are supported, with no warning or error;
#  - a <video> of a .tmp name (a copy of the finished file) errors: 404.
# Prerequisites: chromium (Debian package) and playwright-core (npm, installed
# into the build tree by le_browser_require).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/browser.sh
. "$(dirname "$0")/browser.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl redis-server
le_browser_require || exit 0

ROOT=$LE_DIR/rec
mkdir -p "$ROOT"
le_page_dir "record player"

# ---- the page's origin: its own loopback port ------------------------------------
le_page_server "$WWW"

LE_EXTRA_CONF="record_root $ROOT;
record_min_free 0;
record_stitch 1s;"
LE_DOMAIN_CONF="    cors_origin $ORIGIN;"
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"
H=http://127.0.0.1:$LE_HTTP_PORT

api AddLiveAppRecordConfig "DomainName=$LE_DOMAIN" AppName=live OssEndpoint=oss.example OssBucket=webrec \
    RecordFormat.1.Format=mp4 RecordFormat.1.CycleDuration=5 \
    'RecordFormat.1.OssObjectPrefix=web/{AppName}/{StreamName}/{Sequence}'
ok $? "AddLiveAppRecordConfig: mp4, CycleDuration 5 ($API_CODE)" || diag "$API_BODY"

# ---- publish: red 0-3 s, then blue; a keyframe a second; AAC -------------------------
T0=$(date +%s)
PUB_LOG=$LE_DIR/pub.log PUB_PROGRESS=$LE_DIR/pub.progress
le_bg PUB_PID ffmpeg -hide_banner -nostdin -loglevel warning -nostats -progress "$PUB_PROGRESS" -stats_period 0.1 \
    -re -f lavfi -i "color=c=red:size=320x240:rate=25:duration=3[a];color=c=blue:size=320x240:rate=25[b];[a][b]concat=n=2:v=1:a=0[out0]" \
    -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 9 \
    -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -keyint_min 25 -pix_fmt yuv420p \
    -c:a aac -b:a 64k -ac 1 -f flv "$(le_url cam)" >"$PUB_LOG" 2>&1
le_wait_publishing "$PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam (red then blue, 320x240)" || diag "$(cat "$PUB_LOG")"

# ---- the first finished MP4, as DescribeLiveStreamRecordContent lists it -------------------
first_mp4() {
    api DescribeLiveStreamRecordContent "DomainName=$LE_DOMAIN" AppName=live StreamName=cam \
        "StartTime=$(utc $((T0 - $(date +%s) - 60)))" "EndTime=$(utc 60)" || return 1
    KEY=$(j "$API_BODY" '[x["OssObjectPrefix"] for x in d["RecordContentInfoList"]["RecordContentInfo"] if x["OssObjectPrefix"].endswith(".mp4")][0]')
    BUCKET=$(j "$API_BODY" '[x["OssBucket"] for x in d["RecordContentInfoList"]["RecordContentInfo"] if x["OssObjectPrefix"].endswith(".mp4")][0]')
    [[ $KEY != ERR* ]]
}
le_wait_for 20 first_mp4
ok $? "DescribeLiveStreamRecordContent lists the first MP4 ($BUCKET/$KEY)" || diag "$API_BODY"
is "$BUCKET/$KEY" webrec/web/live/cam/0.mp4 "... named by its template"
FILE=$ROOT/$BUCKET/$KEY
DUR=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$FILE" 2>/dev/null | head -1)
like "$DUR" '^[0-9]+\.[0-9]+$' "ffprobe reads its duration ($DUR s)"
SIZE=$(le_file_size "$FILE")
URL=$H/record/$BUCKET/$KEY
# A .tmp name of the same bytes: refused whatever it holds.
cp "$FILE" "$ROOT/$BUCKET/web/live/cam/copy.mp4.tmp"
TMPURL=$H/record/$BUCKET/web/live/cam/copy.mp4.tmp
is "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$TMPURL")" 404 "curl: the .tmp name answers 404"

# ---- Chromium -----------------------------------------------------------------------
# A range in the middle of the file (media data, not the header all files share).
RA=$((SIZE / 2)) RB=$((SIZE / 2 + 999))
le_browser_run 120 record-browser.js "$ORIGIN/index.html" "$URL" "$TMPURL" "bytes=$RA-$RB"
is "$(b 'd["origin"]')" "$ORIGIN" "the page's origin is not the node's"
diag "canPlayType(avc1.640015, mp4a.40.2): $(b 'd["canPlay"]')"
m=$(b 'd["metadata"]')
is "$(b '"%sx%s" % (d["metadata"]["width"], d["metadata"]["height"])')" 320x240 \
    "loadedmetadata: videoWidth x videoHeight 320x240" || diag "$m"
BD=$(b 'd["metadata"]["duration"]')
"$LE_PY" -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - float(sys.argv[2])) <= 0.5 else 1)' "$BD" "$DUR" 2>/dev/null
ok $? "the browser's duration ($BD s) is ffprobe's ($DUR s) within 0.5 s"
like "$(b 'd["play"]["currentTime"]')" '^[0-9.]+$' "play(): it plays ($(b 'd["play"]'))"
cmp_ok "$(b 'd["play"]["audioBytes"]')" -gt 0 "... and decodes the AAC track"
# rgb: the mean of a 16x16 block in the middle of the frame drawn into a canvas
colour() {  # colour STEP NAME R_TEST G_TEST B_TEST
    local rgb
    rgb=$(b "d[\"$1\"][\"rgb\"]")
    "$LE_PY" -c 'import json, sys
r, g, b = json.loads(sys.argv[1]); t = sys.argv[2:]
sys.exit(0 if all(eval(e, {"v": v}) for e, v in zip(t, (r, g, b))) else 1)' "$rgb" "$3" "$4" "$5" 2>/dev/null
    ok $? "seeked to ${1#seek} s, the canvas is $2 ($(b "d[\"$1\"]"))"
}
colour seek1 red "v > 200" "v < 60" "v < 60"
colour seek4 blue "v < 60" "v < 60" "v > 200"
is "$(b 'str(d["ended"]["ended"])')" True "played from duration - 0.5 s, it ends ($(b 'd["ended"]'))"
is "$(b '"%s %s %s" % (d["range"]["status"], d["range"]["bytes"], d["range"]["contentType"])')" "206 1000 video/mp4" \
    "fetch() with Range: bytes=$RA-$RB: 206, exactly 1000 bytes, video/mp4 ($(b 'd["range"]["type"]'))"
is "$(b 'd["range"]["sha256"]')" "$(tail -c +$((RA + 1)) "$FILE" | head -c 1000 | sha256sum | cut -d' ' -f1)" \
    "... the file's bytes $RA-$RB"
is "$(b 'd["range"]["contentRange"]')" "bytes $RA-$RB/$(stat -c %s "$FILE")" \
    "... the page's script reads its Content-Range (Access-Control-Expose-Headers)"
is "$(b 'd["tmp"]["code"]')" 4 "a <video> of the .tmp name errors (MEDIA_ERR_SRC_NOT_SUPPORTED: $(b 'd["tmp"]'))"
like "$(b '" ".join(x for x in d["responses"] if ".tmp" in x)')" "^GET 404 " "... the browser saw 404 for it"
# The media element's own requests (Range: bytes=0- and on), not the fetch above.
vreq=$(b '"; ".join(x for x in d["responses"] if ".mp4 range=" in x and not x.endswith("range=bytes='"$RA-$RB"'"))')
like "$vreq" '^GET 206 [^;]*range=bytes=[0-9]+-([0-9]+)?(; GET 206 [^;]*range=bytes=[0-9]+-([0-9]+)?)*$' \
    "the video element read the file in byte ranges, every answer 206 ($vreq)"
# Chromium's media log for the MP4's player (the first one created).
is "$(b 'd["players"][0]["props"].get("kIsRangeHeaderSupported")')" true \
    "Chromium's media log: the server supports ranges (seekable over HTTP)"
is "$(b '"; ".join(d["players"][0]["log"])')" "" "... no warning or error about the MP4 ($(b 'd["players"][0]["props"]'))"
diag "size $SIZE bytes; browser console: $(b '" | ".join(d["console"])')"

le_wait_exit "$PUB_PID" 20 || le_kill "$PUB_PID"
le_alive_ok
le_stop
le_kill "$PAGE_PID"
done_testing
