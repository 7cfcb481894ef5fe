#!/bin/sh
# 91-llhls-browser: a browser plays Low-Latency HLS (docs/HLS.md). The domain
# has `hls_variant lowlatency; hls_part 200ms;` (1 s segments, the harness's
# hls_fragment) and names the page's origin in cors_origin; ffmpeg publishes
# 640x360 H.264 (-tune zerolatency, a keyframe every second) + AAC. Asserted:
#  - curl: the playlist carries EXT-X-PART-INF:PART-TARGET=0.2, CAN-BLOCK-RELOAD=YES,
#    EXT-X-MAP and EXT-X-PART lines;
#  - headless Chromium (playwright-core, llhls-browser.js) on a page of
#    another origin (a python http.server serving hls.js's hls.min.js), hls.js
#    with lowLatencyMode: true: it parses the playlist as live LL-HLS (part
#    target 0.2 s, blocking reload, parts, an init section, a preload hint);
#    the first frame, currentTime advances, the picture is 640x360 and not
#    blank; over the last 5 s of 10 s of playback the latency hls.js reports
#    (hls.latency: the playlist's live edge minus currentTime) is under 2 s
#    (median; generous: loopback; the figures are printed), and playback keeps
#    up. hls.js runs with maxLiveSyncPlaybackRate 1.5, and a first frame that
#    came late (Chromium on a loaded machine: seconds) is followed by one seek
#    to hls.liveSyncPosition, as a page's "live" button does: hls.js itself
#    would stay that far behind (the latency at the first frame is printed);
#  - hls.js used blocking playlist reload: its playlist requests carry
#    _HLS_msn (and _HLS_part), and the node held some of them until the part
#    existed (the longest wait is printed); it fetched parts;
#  - no fatal hls.js error and no network error, no answer >= 400 from the
#    node, no failed request, no page error, no console error.
# Prerequisites: chromium (Debian package), playwright-core and hls.js (npm,
# installed into the build tree by le_browser_require / le_hlsjs_require).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=180}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/browser.sh
. "$(dirname "$0")/browser.sh"

le_require_daemon
le_require_tool ffmpeg python3 curl redis-server
le_browser_require || exit 0
le_hlsjs_require || exit 0

SAMPLE_S=10     # seconds of playback over which the latency is sampled

le_page_dir "ll-hls player" hls

# ---- the page's origin: its own loopback port ------------------------------------
le_page_server "$WWW"

LE_DOMAIN_CONF="    hls_variant lowlatency;
    hls_part 200ms;
    cors_origin $ORIGIN;"
le_start || le_abort "livedge did not start"
H=http://127.0.0.1:$LE_HTTP_PORT

LE_PUB_SECS=120 le_publish cam -g 25 -keyint_min 25 -sc_threshold 0
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam (640x360 H.264 zerolatency, a keyframe every second, + AAC)" ||
    diag "$(cat "$LE_PUB_LOG")"
pub=$LE_PUB_PID

# ---- the playlist, with curl ---------------------------------------------------------
PL=""
has_parts() {
    PL=$(curl -s -m 5 "$H/live/cam.m3u8" | tr -d '\r')
    grep -q '^#EXT-X-PART:' <<<"$PL" && [ "$(grep -c '^#EXTINF' <<<"$PL")" -ge 2 ]
}
t0=$(le_now_ms)
le_wait_for 20 has_parts
ok $? "live/cam.m3u8 lists 2 segments and parts ($(( $(le_now_ms) - t0 )) ms)" || diag "$PL"
printf '%s\n' "$PL" >"$LE_DIR/cam.m3u8"
like "$PL" '^#EXT-X-PART-INF:PART-TARGET=0\.2(0*)?$' "... EXT-X-PART-INF:PART-TARGET=0.2 (hls_part 200ms)"
like "$(grep '^#EXT-X-SERVER-CONTROL:' <<<"$PL")" 'CAN-BLOCK-RELOAD=YES' "... EXT-X-SERVER-CONTROL with CAN-BLOCK-RELOAD=YES"
like "$PL" '^#EXT-X-MAP:URI=' "... EXT-X-MAP (an fMP4 init section)"
diag "$(tail -n 12 <<<"$PL")"

# ---- Chromium + hls.js (lowLatencyMode) --------------------------------------------------
le_browser_run 120 llhls-browser.js "$ORIGIN/index.html" "$H/live/cam.m3u8" "$SAMPLE_S"
# py EXPR: exit status 0 when EXPR (over d, the browser's JSON) is true.
py() { "$LE_PY" -c 'import json, sys
d = json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$OUT" "$1" 2>/dev/null; }

is "$(b 'd["origin"]')" "$ORIGIN" "the page's origin is not the node's"
is "$(b 'd["hls"]["supported"]')" true "hls.js $LE_HLSJS_VERSION is supported (MSE)"

det=$(b 'd["details"]')
py 'd["details"]["live"] and abs(d["details"]["partTarget"] - 0.2) < 1e-6 and d["details"]["canBlockReload"]'
ok $? "hls.js parses a live LL-HLS playlist: PART-TARGET 0.2 s, CAN-BLOCK-RELOAD ($det)"
py 'd["details"]["parts"] >= 1 and d["details"]["independentParts"] >= 1 and d["details"]["initSegment"]'
ok $? "... with parts ($(b 'd["details"]["parts"]'), $(b 'd["details"]["independentParts"]') INDEPENDENT) and an init section (EXT-X-MAP)"
py 'd["details"]["preloadHint"]'
ok $? "... and an EXT-X-PRELOAD-HINT"
py 'all(120 <= p <= 280 for p in d["details"]["partDurations"][:-1])'
ok $? "... its parts last about 200 ms ($(b 'd["details"]["partDurations"]') ms; one 40 ms frame of slack)"

p=$(b 'd["play"]')
like "$(b 'd["play"]["firstFrameMs"]')" '^[0-9]+$' "playback starts: the first frame in $(b 'd["play"]["firstFrameMs"]') ms ($p)"
py 'd["play"]["currentTime"] > d["play"]["from"] + 1'
ok $? "... currentTime advances"
is "$(b '"%dx%d" % (d["play"]["width"], d["play"]["height"])')" 640x360 "... the picture is 640x360"
py 'd["play"]["frame"]["max"] - d["play"]["frame"]["min"] >= 64'
ok $? "... a frame drawn into a canvas is not blank (luma $(b 'd["play"]["frame"]'))"

# ---- latency behind live ------------------------------------------------------------
diag "go live: $(b 'd["golive"]') (the latency at the first frame: $(b 'd["play"]["atFirst"]["latency"]') s)"
lat=$(b 'd["latency"]')
L=$(b 'd["latency"]["latencyMedian"]')
L=$(b 'd["latency"]["latencyLateMedian"]')
diag "hls.latency over $SAMPLE_S s: first $(b 'd["latency"]["latencyFirst"]') s, median $(b 'd["latency"]["latencyMedian"]') s, max $(b 'd["latency"]["latencyMax"]') s; over the last $((SAMPLE_S / 2)) s: median $L s, max $(b 'd["latency"]["latencyLateMax"]') s; last $(b 'd["latency"]["latencyLast"]') s; targetLatency $(b 'd["latency"]["targetLatency"]') s; playbackRate up to $(b 'd["latency"]["rateMax"]'); behind EXT-X-PROGRAM-DATE-TIME: median $(b 'd["latency"]["pdtLagMedian"]') s; buffered ahead: median $(b 'd["latency"]["bufferedMedian"]') s"
py 'd["latency"]["lowLatencyMode"] is True and d["latency"]["n"] >= 10'
ok $? "hls.js is in lowLatencyMode and sampled hls.latency $(b 'd["latency"]["n"]') times"
py '0 < d["latency"]["latencyLateMedian"] < 2.0 and d["latency"]["latencyLateMax"] < 2.5'
ok $? "the latency hls.js reports is under 2 s on loopback: median $L s over the last $((SAMPLE_S / 2)) s of $SAMPLE_S (max $(b 'd["latency"]["latencyLateMax"]') s) ($lat)"
py 'd["latency"]["currentTime"] - d["latency"]["from"] >= 0.75 * '"$SAMPLE_S"' and not d["latency"]["paused"]'
ok $? "... playback keeps up: currentTime advanced $(b 'round(d["latency"]["currentTime"] - d["latency"]["from"], 2)') s in $SAMPLE_S s ('waiting' events meanwhile: $(b 'd["latency"]["stalls"]'); before, with the seek: $(b 'd["latency"]["stallsBefore"]'))"

# ---- blocking playlist reload --------------------------------------------------------
blk=$(b 'len([r for r in d["requests"] if r["path"].endswith(".m3u8") and "_HLS_msn=" in r["query"]])')
blkp=$(b 'len([r for r in d["requests"] if r["path"].endswith(".m3u8") and "_HLS_part=" in r["query"]])')
cmp_ok "${blk:-0}" -ge 5 "hls.js reloads the playlist with _HLS_msn: $blk requests ($blkp with _HLS_part)"
cmp_ok "${blkp:-0}" -ge 1 "... and _HLS_part"
held=$(b 'max([r["waitMs"] for r in d["requests"] if r["path"].endswith(".m3u8") and "_HLS_msn=" in r["query"]] or [-1])')
cmp_ok "${held:-0}" -ge 50 "... the node held a blocking reload until the part existed (the longest wait: $held ms)"
diag "blocking reloads (query: status waitMs): $(b '" ".join("%s:%d:%d" % (r["query"], r["status"], r["waitMs"]) for r in d["requests"] if "_HLS_msn=" in r["query"])[:1500]')"
nparts=$(b 'len([r for r in d["requests"] if not r["path"].endswith(".m3u8") and r["status"] in (200, 206)])')
cmp_ok "${nparts:-0}" -ge 20 "hls.js fetched $nparts media objects (init, parts, segments)"
diag "media requests: $(b '" ".join("%s%s:%d" % (r["path"].rsplit("/", 1)[-1], r["query"], r["status"]) for r in d["requests"] if not r["path"].endswith(".m3u8"))[:1500]')"

# ---- no errors ---------------------------------------------------------------------
is "$(b '" ".join("%s/%s" % (e["type"], e["details"]) for e in d["errors"] if e["fatal"] or e["type"] == "networkError")')" "" \
    "no fatal hls.js error, no hls.js network error"
diag "hls.js non-fatal errors: $(b '"; ".join("%s/%s %s" % (e["type"], e["details"], e["url"]) for e in d["errors"] if not e["fatal"]) or "none"')"
is "$(b '" ".join("%d %s%s" % (r["status"], r["path"], r["query"]) for r in d["requests"] if r["status"] >= 400)')" "" \
    "no answer >= 400 from the node"
is "$(b '" | ".join(d["failed"])')" "" "no failed request"
is "$(b '" | ".join(d["pageErrors"] + [c for c in d["console"] if c.startswith("error")])')" "" \
    "no page error and no console error"
diag "end: $(b 'd["end"]')"

le_kill "$pub"
le_alive_ok
le_stop
le_kill "$PAGE_PID"
done_testing
