#!/bin/sh
# 74-transcode-browser: the adaptive HLS master playlist plays in a browser
# (docs/TRANSCODE.md, "Adaptive HLS"). AddLiveStreamTranscode lld and a
# custom template "small" (320x180, 15 fps, 300 kbit/s) on app live; ffmpeg
# publishes 1280x720 H.264 + AAC at 25 fps with a keyframe every 2 s:
#  - curl: the master playlist cam_abr.m3u8 lists the source and both
#    renditions (URI, RESOLUTION);
#  - the renditions' HLS segments start at the source's: the first video
#    PTS of every rendition segment (ffprobe) is a keyframe at the first
#    video PTS of the source's segment with the same media sequence number,
#    within one frame (40 ms at 25 fps; 67 ms for the 15 fps rendition);
#    the renditions' segments carry the source's AAC;
#  - headless Chromium (playwright-core, transcode-browser.js) on a page of
#    another origin (a python http.server serving hls.js's hls.min.js; the
#    domain's cors_origin names it): hls.js parses the master into three
#    levels of the right sizes; playback starts (time to the first frame
#    measured), currentTime advances, the frame drawn into a canvas is not
#    blank; hls.currentLevel forced to lld, then to small, then back to the
#    source: each time videoWidth x videoHeight follows and playback goes
#    on; no fatal hls.js error (the others are shown as diag).
# Prerequisites: chromium (Debian package), playwright-core and hls.js (npm,
# installed into the build tree by le_browser_require / le_hlsjs_require).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=180}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/browser.sh
. "$(dirname "$0")/browser.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl redis-server
le_browser_require || exit 0
le_hlsjs_require || exit 0

le_page_dir "abr player" hls

# ---- the page's origin: its own loopback port ------------------------------------
le_page_server "$WWW"

# transcode_idle: the jobs outlive the gaps between the test's requests.
LE_EXTRA_CONF="transcode_idle 60s;
transcode_wait 10s;
pipeline_threads 1;"
LE_DOMAIN_CONF="    cors_origin $ORIGIN;"
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"
H=http://127.0.0.1:$LE_HTTP_PORT
D=$LE_DOMAIN

api AddLiveStreamTranscode "Domain=$D" App=live Template=lld
ok $? "AddLiveStreamTranscode lld" || diag "$API_BODY"
api AddCustomLiveStreamTranscode "Domain=$D" App=live Template=small TemplateType=h264 Width=320 Height=180 \
    FPS=15 VideoBitrate=300
ok $? "AddCustomLiveStreamTranscode small (320x180, 15 fps, 300 kbit/s)" || diag "$API_BODY"

LE_PUB_SECS=150 le_publish cam -vf scale=1280:720 -g 50 -keyint_min 50 -sc_threshold 0 -b:v 2500k
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam at 1280x720, a keyframe every 2 s" || diag "$(cat "$LE_PUB_LOG")"
pub=$LE_PUB_PID

# ---- the master playlist ---------------------------------------------------------------
m=$(curl -s --max-time 5 "$H/live/cam_abr.m3u8")
diag "$m"
like "$m" '^#EXTM3U' "the master playlist cam_abr.m3u8 answers"
is "$(grep -c '^#EXT-X-STREAM-INF' <<<"$m")" 3 "... with three variants (the source, lld, small)"
like "$(grep -A1 'RESOLUTION=1280x720' <<<"$m" | tail -1)" '^cam\.m3u8$' "... cam.m3u8 at 1280x720"
like "$(grep -A1 'RESOLUTION=640x360' <<<"$m" | tail -1)" '^cam_lld\.m3u8$' "... cam_lld.m3u8 at 640x360"
like "$(grep -A1 'RESOLUTION=320x180' <<<"$m" | tail -1)" '^cam_small\.m3u8$' "... cam_small.m3u8 at 320x180"

# ---- the renditions' segments start at the source's PTS ------------------------------------
# nseg NAME: how many segments live/NAME.m3u8 lists now (asking starts a
# rendition's job).
nseg() { curl -s -m 5 "$H/live/$1.m3u8" | grep -c '^#EXTINF'; }
three() {
    local a b c
    a=$(nseg cam_lld) b=$(nseg cam_small) c=$(nseg cam)
    [ "$a" -ge 3 ] && [ "$b" -ge 3 ] && [ "$c" -ge 3 ]
}
t0=$(le_now_ms)
le_wait_for 30 three
ok $? "the HLS playlists of cam, cam_lld and cam_small list 3 segments ($(( $(le_now_ms) - t0 )) ms)"
# get_segs NAME: downloads every segment the playlist saved in
# $LE_DIR/NAME.m3u8 lists, as $LE_DIR/seg-NAME-SEQ.ts (curl only: a busy
# machine's ffprobe runs must not let them rotate out first).
get_segs() {
    local pl seq n=0 uri u f code
    pl=$(cat "$LE_DIR/$1.m3u8")
    seq=$(sed -n 's/^#EXT-X-MEDIA-SEQUENCE://p' <<<"$pl")
    while IFS= read -r uri; do
        case $uri in ''|'#'*) continue ;; esac
        case $uri in http*) u=$uri ;; /*) u=$H$uri ;; *) u=$H/live/$uri ;; esac
        f=$LE_DIR/seg-$1-$((seq + n)).ts
        code=$(curl -s -m 10 -o "$f" -w '%{http_code}' "$u")
        [ "$code" = 200 ] || diag "GET ${u#"$H"}: $code $(head -c 200 "$f"); now: $(curl -s -m 5 "$H/live/$1.m3u8" | tr '\n' ' ')"
        n=$((n + 1))
    done <<<"$pl"
}
# seg_pts NAME: "SEQ PTS FLAGS" per segment get_segs NAME downloaded: its
# media sequence number and the PTS (s) and flags of its first video packet.
seg_pts() {
    local f p q
    for f in "$LE_DIR"/seg-"$1"-*.ts; do
        q=${f##*-}
        p=$(ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,flags -of csv=p=0 \
            -read_intervals '%+#1' "$f" 2>/dev/null | head -1)
        echo "${q%.ts} ${p/,/ }"
    done | sort -n
}
# match SRC REND TOL: every segment of REND whose first PTS is inside SRC's
# window starts at the first PTS of a segment of SRC (within TOL s), on a
# keyframe, and has that segment's media sequence number. Prints a summary;
# fails when one does not or fewer than 2 overlap.
match() {
    "$LE_PY" - "$1" "$2" "$3" <<'EOF'
import sys
def rows(s):
    out = []
    for l in s.splitlines():
        f = l.split()
        if len(f) >= 2 and f[1] not in ("", "N/A"):
            out.append((int(f[0]), float(f[1]), f[2] if len(f) > 2 else ""))
    return out
src, rend, tol = rows(sys.argv[1]), rows(sys.argv[2]), float(sys.argv[3])
if not src or not rend:
    print("no segments"); sys.exit(1)
lo, hi = src[0][1] - tol, src[-1][1] + tol
bad, n, seqd = [], 0, set()
for seq, pts, fl in rend:
    if not lo <= pts <= hi:
        continue
    n += 1
    s = min(src, key=lambda x: abs(x[1] - pts))
    d = pts - s[1]
    seqd.add(seq - s[0])
    if abs(d) > tol or "K" not in fl or seq != s[0]:
        bad.append("#%d %.3f (%s) vs source #%d %.3f: %+.3f s" % (seq, pts, fl, s[0], s[1], d))
print("%d overlapping, sequence offset %s%s" % (n, sorted(seqd), ("; " + "; ".join(bad)) if bad else ""))
sys.exit(1 if bad or n < 2 else 0)
EOF
}
# The three playlists at (nearly) the same time, then their segments.
for n in cam cam_lld cam_small; do curl -s -m 5 "$H/live/$n.m3u8" | tr -d '\r' >"$LE_DIR/$n.m3u8"; done
for n in cam cam_lld cam_small; do get_segs "$n"; done
sp=$(seg_pts cam) lp=$(seg_pts cam_lld) mp=$(seg_pts cam_small)
diag "first video PTS per segment: cam: $(tr '\n' ' ' <<<"$sp")"
diag "cam_lld: $(tr '\n' ' ' <<<"$lp")"
diag "cam_small: $(tr '\n' ' ' <<<"$mp")"
# tracks FILE: its streams' codec names ("h264 aac").
tracks() { ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$1" 2>/dev/null | awk 'NF && !s[$0]++' | tr '\n' ' ' | sed 's/ $//'; }
for n in cam_lld cam_small; do
    f=$(ls -t "$LE_DIR"/seg-$n-*.ts 2>/dev/null | head -1)
    is "$(tracks "$f")" "h264 aac" "$n's segments carry the source's AAC as the source's do (${f##*/})"
done
# lld keeps the source's 25 fps: one frame is 40 ms. small is 15 fps: its
# frames fall on a 1/15 s grid, and its keyframe is the first of its frames
# at or after the source's, up to one of its frames (67 ms) later.
r=$(match "$sp" "$lp" 0.040)
ok $? "cam_lld's segments start at the first PTS of the source's segments of the same number, within 40 ms, on keyframes ($r)" ||
    diag "$(cat "$LE_DIR/cam.m3u8" "$LE_DIR/cam_lld.m3u8")"
r=$(match "$sp" "$mp" 0.067)
ok $? "cam_small's too, within one of its frames (67 ms) ($r)" || diag "$(cat "$LE_DIR/cam_small.m3u8")"

# ---- Chromium + hls.js -------------------------------------------------------------------
le_browser_run 120 transcode-browser.js "$ORIGIN/index.html" "$H/live/cam_abr.m3u8" 640x360 320x180 1280x720
is "$(b 'd["origin"]')" "$ORIGIN" "the page's origin is not the node's"
is "$(b 'd["hls"]["supported"]')" true "hls.js $LE_HLSJS_VERSION is supported (MSE) ($(b 'd["hls"]'))"
is "$(b '" ".join(sorted("%dx%d" % (l["width"], l["height"]) for l in d["levels"]))')" \
    "1280x720 320x180 640x360" "hls.levels: the source and both renditions, with their sizes" ||
    diag "$(b 'd["levels"]')"
is "$(b '" ".join("%dx%d=%s" % (l["width"], l["height"], l["uri"].rsplit("/", 1)[-1]) for l in sorted(d["levels"], key=lambda l: -l["width"]))')" \
    "1280x720=cam.m3u8 640x360=cam_lld.m3u8 320x180=cam_small.m3u8" "... each the right playlist"
p=$(b 'd["play"]')
like "$(b 'd["play"]["firstFrameMs"]')" '^[0-9]+$' "playback starts: the first frame in $(b 'd["play"]["firstFrameMs"]') ms ($p)"
like "$(b 'd["play"]["currentTime"]')" '^[0-9.]+$' "... currentTime advances"
"$LE_PY" -c 'import json, sys
f = json.loads(sys.argv[1])["frame"]; sys.exit(0 if f["max"] - f["min"] >= 64 else 1)' "$p" 2>/dev/null
ok $? "... a frame drawn into a canvas is not blank (luma $(b 'd["play"]["frame"]'))"
sw() {  # sw WxH NAME
    local s
    s=$(b "d[\"switch$1\"]")
    is "$(b "'%dx%d' % (d['switch$1']['width'], d['switch$1']['height'])")" "$1" \
        "hls.currentLevel = $2: the video becomes $1 in $(b "d['switch$1']['sizeMs']") ms ($s)"
    "$LE_PY" -c 'import json, sys
s = json.loads(sys.argv[1]); f = s["frame"]
sys.exit(0 if s["currentTime"] > s["from"] and not s["paused"] and f["max"] - f["min"] >= 64 else 1)' "$s" 2>/dev/null
    ok $? "... and plays on: 1 s more media time $(b "d['switch$1']['playingMs']") ms after the switch, not a blank frame"
}
sw 640x360 lld
sw 320x180 small
sw 1280x720 "the source"
is "$(b '" ".join("%s/%s" % (e["type"], e["details"]) for e in d["errors"] if e["fatal"])')" "" \
    "no fatal hls.js error"
diag "hls.js non-fatal errors: $(b '"; ".join("%s/%s %s" % (e["type"], e["details"], e["url"]) for e in d["errors"] if not e["fatal"]) or "none"')"
diag "the node's answers other than 200: $(b '" ".join(d["requests"]) or "none"')"
diag "LEVEL_SWITCHED: $(b 'd["switched"]'); end: $(b 'd["end"]')"
diag "browser console: $(b '" | ".join(d["console"][-10:])')"

le_kill "$pub"
le_alive_ok
le_stop
le_kill "$PAGE_PID"
done_testing
