#!/bin/sh
# 20-http-flv: HTTP-FLV playback: codecs and size through ffprobe, a
# late joiner starts on a keyframe from the GOP cache, chunked for HTTP/1.1 and
# close-delimited for 1.0, HEAD, CORS and OPTIONS, 404 with the error body when
# not live, the response ends when the publisher leaves, audio-only and
# video-only headers, and a viewer that stops reading is dropped alone.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe curl python3
LE_EXTRA_CONF="viewer_queue_bytes 256k; viewer_drop_timeout 2s;"
le_start || le_abort "livedge did not start"
H=http://127.0.0.1:$LE_HTTP_PORT

# ---- not live -------------------------------------------------------------------
resp=$(curl -s -i --max-time 5 "$H/live/nothere.flv")
like "$resp" '^HTTP/1.1 404' "not live: 404"
like "$resp" '"Code":"InvalidStream.NotFound"' "not live: error body with a Code"
like "$resp" '"RequestId":"[0-9A-F-]{36}"' "not live: error body with a RequestId"
like "$resp" "\"HostId\":\"le-test-$LE_NAME\"" "not live: HostId is the node name"
like "$resp" 'Access-Control-Allow-Origin: \*' "not live: CORS header on the error"

# ---- a live A/V stream with a 2 s GOP --------------------------------------------
LE_PUB_SECS=60 le_publish cam -g 50 -keyint_min 50 -sc_threshold 0
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam" || diag "$(cat "$LE_PUB_LOG")"

probe=$(timeout 20 ffprobe -hide_banner -v error -show_entries stream=codec_type,codec_name,width,height \
    -of compact=p=0 "$H/live/cam.flv" 2>>"$LE_DIR/ffprobe.log" | sort)
like "$probe" 'codec_name=h264\|codec_type=video\|width=640\|height=360' "ffprobe: H.264 640x360 over HTTP-FLV"
like "$probe" 'codec_name=aac\|codec_type=audio' "ffprobe: AAC over HTTP-FLV"

# Join 0.7-1.4 s into the GOP [4 s, 6 s) (the progress file lags up to 0.7 s):
# the first video tag must still be a keyframe.
le_wait_for 15 le__progress_past "$LE_PUB_PROGRESS" 4700000
t0=$(le_now_ms)
ttfb=$(curl -s -o "$LE_DIR/late.flv" -D "$LE_DIR/late.hdr" --max-time 3 -w '%{time_starttransfer}' \
    "$H/live/cam.flv")
wall=$(( $(le_now_ms) - t0 ))
diag "HTTP-FLV time to first byte: ${ttfb} s"
hdr=$(tr -d '\r' <"$LE_DIR/late.hdr")
like "$hdr" '^HTTP/1.1 200' "GET: 200"
like "$hdr" 'Content-Type: video/x-flv' "GET: video/x-flv"
like "$hdr" 'Transfer-Encoding: chunked' "GET over HTTP/1.1: chunked"
like "$hdr" 'Access-Control-Allow-Origin: \*' "GET: CORS header"
like "$hdr" 'Cache-Control: no-cache' "GET: not cacheable"
is "$(head -c 3 "$LE_DIR/late.flv")" "FLV" "body starts with the FLV signature"
is "$(od -An -tu1 -j4 -N1 "$LE_DIR/late.flv" | tr -d ' ')" 5 "FLV header flags: audio and video"
flags=$(timeout 30 ffprobe -v error -select_streams v:0 -show_entries packet=flags -of csv=p=0 \
    "$LE_DIR/late.flv" 2>/dev/null)
like "$(head -n 1 <<<"$flags")" '^K' "late joiner: first video packet is a keyframe"
cmp_ok "$(grep -c . <<<"$flags")" -ge 40 "late joiner: video keeps coming"
errs=$(timeout 60 ffmpeg -hide_banner -nostdin -v error -i "$LE_DIR/late.flv" -f null - 2>&1)
unlike "$errs" 'non-existing PPS|no frame|Missing reference|decode_slice_header error|SPS unavailable' \
    "late joiner: decodes without missing references"
span=$(timeout 30 ffprobe -v error -select_streams v:0 -show_entries packet=pts_time \
    -of csv=p=0 "$LE_DIR/late.flv" 2>/dev/null | awk 'NF && $1 != "N/A" {
        if (first == "") first = $1; last = $1 } END { printf "%d", (last - first) * 1000 }')
cmp_ok "${span:-0}" -gt $(( wall + 500 )) "late joiner: GOP cache arrives at once (${span:-0} ms in ${wall} ms)"

# HTTP/1.0: no chunking, the body is the FLV itself.
curl -s -0 -o "$LE_DIR/v10.flv" -D "$LE_DIR/v10.hdr" --max-time 2 "$H/live/cam.flv"
hdr=$(tr -d '\r' <"$LE_DIR/v10.hdr")
unlike "$hdr" 'Transfer-Encoding' "HTTP/1.0: not chunked"
like "$hdr" 'Connection: close' "HTTP/1.0: close-delimited"
is "$(head -c 3 "$LE_DIR/v10.flv")" "FLV" "HTTP/1.0: raw FLV body"
cmp_ok "$(le_count_frames "$LE_DIR/v10.flv" v)" -ge 10 "HTTP/1.0: frames decode"

# HEAD and OPTIONS.
resp=$(curl -s -I --max-time 5 "$H/live/cam.flv" | tr -d '\r')
like "$resp" '^HTTP/1.1 200' "HEAD: 200"
like "$resp" 'Content-Type: video/x-flv' "HEAD: content type"
resp=$(curl -s -i --max-time 5 -X OPTIONS -H 'Origin: http://player.example' \
    -H 'Access-Control-Request-Method: GET' -H 'Access-Control-Request-Headers: range' \
    "$H/live/cam.flv" | tr -d '\r')
like "$resp" '^HTTP/1.1 204' "OPTIONS preflight: 204"
like "$resp" 'Access-Control-Allow-Origin: \*' "OPTIONS: allow origin"
like "$resp" 'Access-Control-Allow-Methods: GET, HEAD, OPTIONS' "OPTIONS: allowed methods"
like "$resp" 'Access-Control-Allow-Headers: range' "OPTIONS: requested headers allowed"

# ---- a viewer that stops reading is dropped; the others go on ----------------
# On loopback the kernel absorbs a few MB (TCP autotuning with a 64 KiB MSS)
# before our queue grows at all, so this uses a fat 8 Mbit/s CBR stream.
le_kill "$LE_PUB_PID"
LE_PUB_SECS=60 le_publish fat -b:v 8M -minrate 8M -maxrate 8M -bufsize 2M -x264-params nal-hrd=cbr
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/fat at 8 Mbit/s" || diag "$(cat "$LE_PUB_LOG")"
curl_pid=
le_bg curl_pid curl -s -o "$LE_DIR/steady.flv" --max-time 16 "$H/live/fat.flv"
mark=$(le_log_lines)
python3 - "$LE_HTTP_PORT" >"$LE_DIR/stalled.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /live/fat.flv HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(15)             # read nothing: the server's queue for us grows
s.settimeout(5)
n = 0
try:
    while True:
        b = s.recv(65536)
        if not b:
            print("closed after", n); break
        n += len(b)
except Exception as e:
    print("not closed", n, e)
PY
stalled=$!
LE_BG_PIDS="$LE_BG_PIDS $stalled"
le_wait_log 'dropped, too far behind' 20 "$mark" >/dev/null
ok $? "a viewer that reads nothing is dropped (viewer_drop_timeout)"
wait "$stalled" 2>/dev/null
like "$(cat "$LE_DIR/stalled.out")" '^closed after' "the stalled viewer's connection was closed"
le_wait_exit "$curl_pid" 25
cmp_ok "$(le_count_frames "$LE_DIR/steady.flv" v)" -ge 300 "meanwhile a reading viewer got 12+ s of video"
le_kill "$LE_PUB_PID"

# ---- the end of a publish ends the response ------------------------------------
LE_PUB_SECS=6 le_publish short
pub=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/short for 6 s"
t0=$(le_now_ms)
curl -s -o "$LE_DIR/short.flv" --max-time 30 "$H/live/short.flv"
rc=$?
el=$(( $(le_now_ms) - t0 ))
is "$rc" 0 "publisher left: curl sees a complete chunked response (rc $rc)"
is "$(head -c 3 "$LE_DIR/short.flv")" "FLV" "publisher left: the response was the FLV stream"
cmp_ok "$(le_count_frames "$LE_DIR/short.flv" v)" -ge 50 "publisher left: its frames arrived before the end"
cmp_ok "$el" -lt 15000 "publisher left: the response ended promptly (${el} ms)"
le_wait_exit "$pub" 10
ok $? "publisher left: its ffmpeg has exited" || le_kill "$pub"

# ---- audio-only and video-only ------------------------------------------------
# single_track KIND NAME FLAGS: a KIND-only (audio|video) publish of NAME;
# its HTTP-FLV header has FLAGS (4 audio, 1 video) and one KIND stream.
single_track() {
    local kind=$1 name=$2 flags=$3 probe
    LE_PUB_SECS=20 "le_publish_$kind" "$name"
    le_wait_publishing "$LE_PUB_PROGRESS" 15
    ok $? "$kind-only publish" || diag "$(cat "$LE_PUB_LOG")"
    curl -s -o "$LE_DIR/$name.flv" --max-time 2 "$H/live/$name.flv"
    is "$(head -c 3 "$LE_DIR/$name.flv")" "FLV" "$kind-only: the body is FLV"
    is "$(od -An -tu1 -j4 -N1 "$LE_DIR/$name.flv" | tr -d ' ')" "$flags" "$kind-only: FLV header flags $kind only"
    probe=$(timeout 20 ffprobe -v error -show_entries stream=codec_type -of csv=p=0 "$LE_DIR/$name.flv" | sort -u | tr '\n' ' ')
    is "$probe" "$kind " "$kind-only: one $kind stream"
    le_kill "$LE_PUB_PID"
}
single_track audio aonly 4
single_track video vonly 1

le_alive_ok
le_stop
done_testing
