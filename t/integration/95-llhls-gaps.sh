#!/bin/sh
# 95-llhls-gaps: LL-HLS edges (docs/HLS.md), on a domain in the lowlatency
# variant (1 s fragments, 200 ms parts):
#  - a blocking reload (_HLS_msn/_HLS_part) and a held preload-hint part
#    whose publisher stays connected but sends nothing more: each times out
#    after three target durations with 503 and the error body
#    (Code ServiceUnavailable), not before; the stream stays live;
#  - the ABR master playlist (Stream_abr.m3u8) of a source with two
#    renditions (custom templates, Mode always): EXT-X-VERSION 9, and each
#    variant's CODECS is what its init section's avcC says (profile,
#    constraints, level) plus the AAC-LC audio;
#  - EXT-X-RENDITION-REPORT: the source reports both renditions; a
#    rendition reports the source and its sibling, never itself; LAST-MSN
#    is near the reported playlist's own last segment;
#  - on a domain in the fmp4 variant, with an on-demand template nobody
#    asked for: the master says EXT-X-VERSION 6 and gives the rendition the
#    generic H.264 string (its stream has no headers yet).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=120}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg curl python3 redis-server

get() { curl -s --max-time 5 "$@" | tr -d '\r'; }

F=f.test
LE_DOMAIN_CONF="    hls_variant lowlatency;
    hls_part 200ms;" LE_EXTRA_CONF="transcode_idle 3s;
transcode_wait 10s;
pipeline_threads 1;
domain $F {
    hls_fragment 1s;
    hls_variant fmp4;
}" LE_WAIT_PORTS="rtmp http admin" le_start || le_abort "livedge did not start"
H=http://127.0.0.1:$LE_HTTP_PORT
D=$LE_DOMAIN

api AddCustomLiveStreamTranscode "Domain=$D" App=live Template=small TemplateType=h264 Width=320 Height=180 \
    FPS=15 VideoBitrate=300 Mode=always
ok $? "AddCustomLiveStreamTranscode small (320x180, Mode always)" || diag "$API_BODY"
api AddCustomLiveStreamTranscode "Domain=$D" App=live Template=mini TemplateType=h264 Width=192 Height=108 \
    FPS=10 VideoBitrate=150 Mode=always
ok $? "AddCustomLiveStreamTranscode mini (192x108, Mode always)" || diag "$API_BODY"
api AddLiveStreamTranscode "Domain=$F" App=live Template=lld
ok $? "AddLiveStreamTranscode lld (on demand) in $F (fmp4)" || diag "$API_BODY"

# ---- a hold that times out ----------------------------------------------------------------
# 3 s of H.264 + AAC with a keyframe a second, fed at its own rate to an
# ffmpeg that then waits on its input: the RTMP connection stays open
# (idle_timeout is 30 s) while no more media comes. App "quiet" has no
# templates.
ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=320x180:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=44100" \
    -t 3 -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k -ac 1 \
    -f flv -y "$LE_DIR/3s.flv" 2>"$LE_DIR/3s.log"
ok $? "a 3 s FLV to publish" || diag "$(cat "$LE_DIR/3s.log")"
QP=$LE_DIR/quiet.progress
le_bg quiet bash -c "{ cat '$LE_DIR/3s.flv'; sleep 60; } | exec ffmpeg -hide_banner -nostdin -v warning -nostats \
    -progress '$QP' -stats_period 0.1 -re -f flv -i pipe:0 -c copy -f flv \
    'rtmp://127.0.0.1:$LE_RTMP_PORT/quiet/still' >'$LE_DIR/quiet.log' 2>&1"
# Meanwhile the source of the renditions.
LE_PUB_SECS=60 le_publish cam
cam_pub=$LE_PUB_PID

le_wait_for 15 le__progress_past "$QP" 2900000
ok $? "the quiet publisher sent its 3 s" || diag "$(cat "$LE_DIR/quiet.log")"
# Its playlist still answers, the stream still live: a hinted part that
# will never be made.
sleep 1
blk=$(python3 - 127.0.0.1 "$LE_HTTP_PORT" <<'PY'
import http.client, json, re, sys, threading, time
host, port = sys.argv[1], int(sys.argv[2])
c = http.client.HTTPConnection(host, port, timeout=20)
c.request("GET", "/quiet/still.m3u8")
r = c.getresponse()
pl = r.read().decode()
m = re.search(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(still-(\d+)\.(\d+)\.m4s)"', pl)
td = re.search(r'#EXT-X-TARGETDURATION:(\d+)', pl)
if r.status != 200 or not m or not td:
    print("playlist", r.status, pl.replace("\n", " | ")[:300])
    sys.exit(0)
msn, part = int(m.group(2)), int(m.group(3))
out = {}
def held(key, path):
    cc = http.client.HTTPConnection(host, port, timeout=20)
    t = time.monotonic()
    cc.request("GET", path)
    rr = cc.getresponse()
    body = rr.read().decode("latin1")
    try:
        code = json.loads(body).get("Code", "?")
    except ValueError:
        code = "not-json"
    out[key] = "%d %d %s %s" % (rr.status, (time.monotonic() - t) * 1000, code, rr.getheader("Content-Type"))
ts = [threading.Thread(target=held, args=("playlist", "/quiet/still.m3u8?_HLS_msn=%d&_HLS_part=%d" % (msn, part))),
      threading.Thread(target=held, args=("part", "/quiet/" + m.group(1)))]
for t in ts: t.start()
for t in ts: t.join()
print("target", td.group(1), "hint", "%d.%d" % (msn, part))
print(out["playlist"])
print(out["part"])
PY
)
diag "$blk"
read -r _ target _ hint <<<"$(sed -n 1p <<<"$blk")"
read -r pcode pms pcodename ptype <<<"$(sed -n 2p <<<"$blk")"
read -r hcode hms hcodename _ <<<"$(sed -n 3p <<<"$blk")"
like "${target:-}" '^[1-9][0-9]*$' "the quiet stream's playlist: a target duration ($target s), hint $hint"
hi=$(( ${target:-1} * 3000 + 2000 ))   # three target durations, plus the sweep and a loaded machine
is "$pcode" 503 "a blocking reload for part $hint that is never made: 503"
is "$pcodename" ServiceUnavailable "... error body Code ServiceUnavailable"
is "$ptype" application/json "... as JSON"
cmp_ok "${pms:-0}" -ge 2500 "... not before the hold of three target durations ($pms ms)"
cmp_ok "${pms:-0}" -le "$hi" "... but soon after it (at most $hi ms)"
is "$hcode" 503 "the hinted part $hint requested before it exists, never made: 503"
is "$hcodename" ServiceUnavailable "... error body Code ServiceUnavailable"
cmp_ok "${hms:-0}" -ge 2500 "... after the hold as well ($hms ms)"
cmp_ok "${hms:-0}" -le "$hi" "... and soon after it"
le_alive "$quiet"
ok $? "the quiet publisher is still connected (the holds did not end with the stream)"
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$H/quiet/still.m3u8")" 200 "... and its playlist answers"
le_kill "$quiet"

# ---- renditions: the master playlist and rendition reports ---------------------------------
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam (640x360 H.264 + AAC)" || diag "$(cat "$LE_PUB_LOG")"
le_wait_log 'live/cam_small: rendition live' 20 >/dev/null
ok $? "cam_small goes live with the publish"
le_wait_log 'live/cam_mini: rendition live' 20 >/dev/null
ok $? "cam_mini goes live with the publish"
has_reports() {
    local a b c
    a=$(get "$H/live/cam.m3u8") b=$(get "$H/live/cam_small.m3u8") c=$(get "$H/live/cam_mini.m3u8")
    [ "$(grep -c '^#EXT-X-RENDITION-REPORT' <<<"$a")" -ge 2 ] && grep -q '^#EXT-X-PART:' <<<"$b" &&
        grep -q '^#EXT-X-PART:' <<<"$c"
}
le_wait_for 20 has_reports
ok $? "the three playlists list parts"

m=$(get "$H/live/cam_abr.m3u8")
diag "$m"
like "$m" '^#EXTM3U' "the master playlist cam_abr.m3u8 answers"
like "$m" '#EXT-X-VERSION:9' "... EXT-X-VERSION:9 (its variants are lowlatency playlists)"
is "$(grep -c '^#EXT-X-STREAM-INF' <<<"$m")" 3 "... three variants"
# The avcC of a variant's init section (EXT-X-MAP of its playlist) as
# avc1.PPCCLL, and whether its audio sample entry is mp4a. $2: a query
# ("?vhost=...") for the playlist and the init section.
init_codecs() {
    local pl init
    pl=$(get "$H/live/$1.m3u8${2:-}")
    init=$(sed -n 's/^#EXT-X-MAP:URI="\(.*\)"/\1/p' <<<"$pl" | tail -n 1)
    curl -s --max-time 5 -o "$LE_DIR/$1-init.mp4" "$H/live/$init"
    python3 - "$LE_DIR/$1-init.mp4" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
i = b.find(b"avcC")
v = "avc1.%02x%02x%02x" % (b[i + 5], b[i + 6], b[i + 7]) if i > 0 else "none"
print(v + (",mp4a.40.2" if b.find(b"mp4a") > 0 else ""))
PY
}
for s in cam cam_small cam_mini; do
    want=$(init_codecs "$s")
    got=$(grep -B1 -x "$s\.m3u8" <<<"$m" | head -n 1 | sed -n 's/.*CODECS="\([^"]*\)".*/\1/p')
    like "$want" '^avc1\.[0-9a-f]{6},mp4a\.40\.2$' "$s: its init section has avcC and mp4a ($want)"
    is "$got" "$want" "$s: the master's CODECS is what its init section says"
done
# ffmpeg's ultrafast x264 makes Constrained Baseline, not the old fixed High 4.0.
unlike "$m" 'avc1\.640028' "no variant claims the fixed avc1.640028"

# Reports: each playlist reports the other two, never itself.
rep() { sed -n 's/^#EXT-X-RENDITION-REPORT:URI="\([^"]*\)".*/\1/p' <<<"$1" | sort | tr '\n' ' '; }
lastmsn() { sed -n "s/^#EXT-X-RENDITION-REPORT:URI=\"$2\",LAST-MSN=\([0-9]*\).*/\1/p" <<<"$1"; }
a=$(get "$H/live/cam.m3u8")
b=$(get "$H/live/cam_small.m3u8")
c=$(get "$H/live/cam_mini.m3u8")
is "$(rep "$a")" "cam_mini.m3u8 cam_small.m3u8 " "cam.m3u8 reports cam_mini and cam_small"
is "$(rep "$b")" "cam.m3u8 cam_mini.m3u8 " "cam_small.m3u8 reports its source cam and its sibling cam_mini"
is "$(rep "$c")" "cam.m3u8 cam_small.m3u8 " "cam_mini.m3u8 reports its source cam and its sibling cam_small"
like "$(grep '^#EXT-X-RENDITION-REPORT:URI="cam.m3u8"' <<<"$b")" 'LAST-MSN=[0-9]+,LAST-PART=[0-9]+$' \
    "... with LAST-MSN and LAST-PART"
# A report is taken when its playlist is served: the reported stream's own
# playlist, fetched right after, is at most a few segments further.
src_msn=$(lastmsn "$b" 'cam\.m3u8')
now=$(get "$H/live/cam.m3u8")
cam_last=$(( $(sed -n 's/^#EXT-X-MEDIA-SEQUENCE://p' <<<"$now") + $(grep -c '^#EXTINF' <<<"$now") ))
d=$(( cam_last - ${src_msn:-0} ))
cmp_ok "$d" -ge 0 "cam_small's report of cam (LAST-MSN $src_msn) is not ahead of cam's own playlist ($cam_last)"
cmp_ok "$d" -le 3 "... nor more than 3 segments behind it"

le_kill "$cam_pub"

# ---- an fmp4 domain, a rendition not running yet ------------------------------------------
# Nobody asks for f.test's cam_lld (on demand): the master lists it with
# the generic H.264 string, and version 6 for fmp4 playlists.
LE_PUB_SECS=30 le_publish "cam?vhost=$F"
fpub=$LE_PUB_PID
fready() { grep -q '^#EXT-X-MAP' <<<"$(get "$H/live/cam.m3u8?vhost=$F")"; }
le_wait_for 15 fready
ok $? "$F/live/cam: its fmp4 playlist appears"
m=$(get "$H/live/cam_abr.m3u8?vhost=$F")
diag "$m"
like "$m" '#EXT-X-VERSION:6' "$F: the master says EXT-X-VERSION:6 (fmp4 variants)"
is "$(grep -c '^#EXT-X-STREAM-INF' <<<"$m")" 2 "... two variants (the source, lld)"
want=$(init_codecs cam "?vhost=$F")
is "$(grep -B1 '^cam\.m3u8' <<<"$m" | head -n 1 | sed -n 's/.*CODECS="\([^"]*\)".*/\1/p')" "$want" \
    "... the source's CODECS is its init section's ($want)"
is "$(grep -B1 '^cam_lld\.m3u8' <<<"$m" | head -n 1 | sed -n 's/.*CODECS="\([^"]*\)".*/\1/p')" \
    "avc1.640028,mp4a.40.2" "... cam_lld, not running, gets the generic H.264 High 4.0 and the source's AAC"
le_kill "$fpub"
le_alive_ok
le_stop
done_testing
