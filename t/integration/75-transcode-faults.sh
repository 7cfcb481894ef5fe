#!/bin/sh
# 75-transcode-faults: renditions under bad or changing input (docs/TRANSCODE.md,
# "Faults"). Debian's ffmpeg 5.1 cannot publish HEVC over FLV, corrupt a frame
# or switch resolution mid-publish, so the publisher is rtmp-pub.py, sending
# tags of files ffmpeg made beforehand, in real time. AddLiveStreamTranscode
# lld on app live, then:
#  - HEVC: 1280x720 libx265 (a keyframe every second) as enhanced-RTMP 'hvc1'
#    tags: a viewer of hevc_lld gets H.264 640x360 whose frames decode;
#  - a corrupt frame: 1280x720 H.264 + AAC where one inter frame's payload is
#    garbage (the tag well-formed): the rendition's viewer keeps receiving
#    frames from after it, from the same job (jobs_started_total unchanged,
#    no "job stopped" line), and livedge_transcode_decode_errors_total grows;
#  - a resolution switch: 1280x720 for 4 s, then 640x480 (a new AVC sequence
#    header, timestamps continuing): the viewer's recording of sw_lld holds
#    640x360 frames then 480x360 frames, from one job.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=180}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl redis-server rtmpdump
ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx265 || le_skip_all "ffmpeg has no libx265 encoder"

PUB=$LE_T_SRCDIR/rtmp-pub.py
metric() {
    curl -s --max-time 5 "http://127.0.0.1:$LE_ADMIN_PORT/metrics" | awk -v k="$1" '$1 == k {print $2; exit}'
}
probe() {
    timeout -k 3 20 ffprobe -v error -show_entries stream=codec_type,codec_name,width,height -of csv=p=0 "$1" \
        2>>"$LE_DIR/ffprobe.log" | sort | tr '\n' ' '
}
# pub OUT ARGS...: rtmp-pub.py in the background (LE_PUB_PID), its stdout in OUT.
pub() {
    local out=$1; shift
    le_bg LE_PUB_PID timeout -k 3 60 "$LE_PY" "$PUB" "$@" >"$out" 2>&1
}
# said OUT WORD SECONDS: rtmp-pub.py printed a line starting with WORD.
said() { le_wait_for "$3" grep -q "^$2" "$1"; }
# sizes FLV: the decoded video frames' sizes in order, runs merged ("640x360 480x360").
sizes() {
    timeout -k 3 60 ffprobe -v error -select_streams v:0 -show_entries frame=width,height -of csv=p=0 "$1" \
        2>>"$LE_DIR/ffprobe.log" | awk -F, '$1 > 0 && $2 > 0 {print $1 "x" $2}' | uniq | tr '\n' ' ' | sed 's/ $//'
}
# vts FLV: "FIRST LAST COUNT" of the video packets' timestamps (ms).
vts() {
    ffprobe -v error -select_streams v:0 -show_entries packet=pts_time -of csv=p=0 "$1" 2>/dev/null |
        awk 'NR == 1 {f = $1} {l = $1; n++} END {printf "%d %d %d\n", f * 1000, l * 1000, n}'
}

# ---- media, made before the node starts ------------------------------------------
mk() { ffmpeg -hide_banner -nostdin -loglevel error -y "$@" 2>>"$LE_DIR/ffmpeg.log"; }
AV="-f lavfi -i sine=frequency=440:sample_rate=44100"
X264="-c:v libx264 -preset ultrafast -tune zerolatency -g 25 -keyint_min 25 -sc_threshold 0 -pix_fmt yuv420p"
# shellcheck disable=SC2086 # word lists of options
mk -f lavfi -i testsrc2=size=1280x720:rate=25 -t 8 -c:v libx265 -preset ultrafast \
    -x265-params log-level=error:keyint=25:min-keyint=25:scenecut=0:bframes=0 -pix_fmt yuv420p -f hevc \
    "$LE_DIR/h.hevc" &&
    mk -f lavfi -i testsrc2=size=1280x720:rate=25 $AV -t 12 $X264 -b:v 1500k -c:a aac -b:a 32k -ac 1 \
        "$LE_DIR/c.flv" &&
    mk -f lavfi -i testsrc2=size=1280x720:rate=25 $AV -t 4 $X264 -b:v 1500k -c:a aac -b:a 32k -ac 1 \
        "$LE_DIR/sw1.flv" &&
    mk -f lavfi -i testsrc2=size=640x480:rate=25 $AV -t 4 $X264 -b:v 800k -c:a aac -b:a 32k -ac 1 \
        "$LE_DIR/sw2.flv"
ok $? "ffmpeg makes the inputs (8 s HEVC 1280x720; 12 s H.264 1280x720; 4 s 1280x720 + 4 s 640x480)" ||
    le_abort "$(tail -n 5 "$LE_DIR/ffmpeg.log")"

LE_EXTRA_CONF="transcode_idle 3s;
transcode_wait 10s;
pipeline_threads 1;"
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"
D=$LE_DOMAIN

api AddLiveStreamTranscode "Domain=$D" App=live Template=lld
ok $? "AddLiveStreamTranscode lld" || diag "$API_BODY"

# ---- 1. HEVC input (enhanced RTMP) -------------------------------------------------
# The 8 s file twice (16 s); the publisher is stopped when the checks are done.
pub "$LE_DIR/pub-hevc.out" --realtime "$LE_RTMP_PORT" live hevc "hevc:$LE_DIR/h.hevc:25" "hevc:$LE_DIR/h.hevc:25"
hpub=$LE_PUB_PID
said "$LE_DIR/pub-hevc.out" publishing 15
ok $? "HEVC: rtmp-pub.py publishes live/hevc (enhanced RTMP 'hvc1')" || diag "$(cat "$LE_DIR/pub-hevc.out")"
# (ffprobe 5.1 cannot read enhanced FLV: the node's own log says what it parsed.)
le_wait_log 'live/hevc: MPEG-TS muxer started \(video h265' 10 >/dev/null
ok $? "HEVC: the node reads the source as H.265 (its HLS muxer starts with video h265)"
is "$(probe "$(le_url hevc_lld)")" "h264,video,640,360 " "HEVC: ffprobe of rtmp live/hevc_lld: H.264 640x360"
le_ffread hevc_lld "$LE_DIR/hevc_lld.flv" 3
n=$(le_count_frames "$LE_DIR/hevc_lld.flv" v)
cmp_ok "${n:-0}" -ge 50 "HEVC: 3 s of hevc_lld decode to ${n:-0} frames (25 fps)"
is "$(sizes "$LE_DIR/hevc_lld.flv")" 640x360 "HEVC: ... every one 640x360"
le_kill "$hpub"

# ---- 2. a corrupt H.264 frame ------------------------------------------------------
pub "$LE_DIR/pub-bad.out" --realtime --corrupt-at 6000 --hold 0 "$LE_RTMP_PORT" live bad "flv:$LE_DIR/c.flv"
bpub=$LE_PUB_PID
said "$LE_DIR/pub-bad.out" publishing 15
ok $? "corrupt: rtmp-pub.py publishes live/bad (H.264 1280x720 + AAC)" || diag "$(cat "$LE_DIR/pub-bad.out")"
mark=$(le_log_lines)
le_player bad_lld "$LE_DIR/bad_lld.flv"
bplay=$LE_PLAYER_PID
le_wait_for 15 le_size_gt "$LE_DIR/bad_lld.flv" 20000
ok $? "corrupt: an RTMP viewer of bad_lld receives it"
started=$(metric livedge_transcode_jobs_started_total)
errs=$(metric livedge_transcode_decode_errors_total)
said "$LE_DIR/pub-bad.out" corrupt 15
ok $? "corrupt: the publisher sent garbage as the inter frame at 6 s ($(grep '^corrupt' "$LE_DIR/pub-bad.out"))"
cts=$(sed -n 's/^corrupt //p' "$LE_DIR/pub-bad.out")
le_grows "$LE_DIR/bad_lld.flv" 20000 8
ok $? "corrupt: the viewer keeps receiving after the corrupt frame (+20 kB)"
said "$LE_DIR/pub-bad.out" sent 20
ok $? "corrupt: the publisher sent the whole 12 s" || diag "$(cat "$LE_DIR/pub-bad.out")"
e2=$(metric livedge_transcode_decode_errors_total)
cmp_ok "${e2:-0}" -ge $(( ${errs:-0} + 1 )) "corrupt: livedge_transcode_decode_errors_total grew (${errs:-?} -> ${e2:-?})"
is "$(metric livedge_transcode_jobs_started_total)" "$started" "corrupt: the same job (jobs_started_total unchanged)"
stopped=$(tail -n +"$((mark + 1))" "$LE_LOG" | grep -m1 'live/bad_lld: job stopped')
case $stopped in *'source ended'*|'') r=0 ;; *) r=1 ;; esac
ok $r "corrupt: the job did not stop before its source ended" || diag "$stopped"
le_kill "$bplay" "$bpub"
read -r f l c <<<"$(vts "$LE_DIR/bad_lld.flv")"
diag "bad_lld.flv: video packets $f..$l ms, $c of them; the corrupt frame went in at ${cts:-?} ms"
cmp_ok "${l:-0}" -ge $(( ${cts:-99999} + 4000 )) "corrupt: the recording has video up to 4 s or more after the corrupt frame ($l ms)"
n=$(le_count_frames "$LE_DIR/bad_lld.flv" v)
cmp_ok "${n:-0}" -ge $(( (${l:-0} - ${f:-0}) * 25 * 9 / 10000 )) "corrupt: ... and its ${n:-0} frames decode (25 fps over $f..$l ms, -10 %)"

# ---- 3. a resolution switch ---------------------------------------------------------
pub "$LE_DIR/pub-sw.out" --realtime --hold 0 "$LE_RTMP_PORT" live sw "flv:$LE_DIR/sw1.flv" "flv:$LE_DIR/sw2.flv"
spub=$LE_PUB_PID
said "$LE_DIR/pub-sw.out" publishing 15
ok $? "switch: rtmp-pub.py publishes live/sw at 1280x720" || diag "$(cat "$LE_DIR/pub-sw.out")"
mark=$(le_log_lines)
le_player sw_lld "$LE_DIR/sw_lld.flv"
splay=$LE_PLAYER_PID
le_wait_for 15 le_size_gt "$LE_DIR/sw_lld.flv" 20000
ok $? "switch: an RTMP viewer of sw_lld receives it"
started=$(metric livedge_transcode_jobs_started_total)
said "$LE_DIR/pub-sw.out" switch 15
ok $? "switch: the publisher switched to 640x480 ($(grep '^switch' "$LE_DIR/pub-sw.out"))"
le_grows "$LE_DIR/sw_lld.flv" 20000 8
ok $? "switch: the viewer keeps receiving after the switch (+20 kB)"
said "$LE_DIR/pub-sw.out" sent 15
ok $? "switch: the publisher sent both parts" || diag "$(cat "$LE_DIR/pub-sw.out")"
is "$(metric livedge_transcode_jobs_started_total)" "$started" "switch: the same job (jobs_started_total unchanged)"
stopped=$(tail -n +"$((mark + 1))" "$LE_LOG" | grep -m1 'live/sw_lld: job stopped')
case $stopped in *'source ended'*|'') r=0 ;; *) r=1 ;; esac
ok $r "switch: the job did not stop before its source ended" || diag "$stopped"
le_kill "$splay" "$spub"
is "$(sizes "$LE_DIR/sw_lld.flv")" "640x360 480x360" \
    "switch: the recording of sw_lld holds 640x360 frames, then 480x360 frames"

le_alive_ok
le_stop
done_testing
