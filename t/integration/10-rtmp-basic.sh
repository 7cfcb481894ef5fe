#!/bin/sh
# 10-rtmp-basic: ffmpeg publishes a generated H.264 + AAC stream; ffprobe,
# rtmpdump (librtmp, simple handshake) and ffmpeg (digest handshake) play it.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe rtmpdump python3
le_start || le_abort "livedge did not start"

LE_PUB_SECS=40 le_publish cam1
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes H.264+AAC to live/cam1" || diag "$(cat "$LE_PUB_LOG")"
like "$(cat "$LE_LOG")" 'publish [^ ]*/live/cam1([^0-9a-z]|$)' "the daemon log names the published stream"

# ffprobe (ffmpeg's RTMP client) sees both streams with the right parameters.
probe=$(le_probe cam1)
video=$(grep 'codec_type=video' <<<"$probe")
audio=$(grep 'codec_type=audio' <<<"$probe")
is "$(grep -c . <<<"$probe")" 2 "ffprobe finds two streams" || diag "$probe"
like "$video" '(^|\|)codec_name=h264(\||$)' "video codec is h264"
like "$video" '(^|\|)width=640(\||$)' "video width is 640"
like "$video" '(^|\|)height=360(\||$)' "video height is 360"
like "$audio" '(^|\|)codec_name=aac(\||$)' "audio codec is aac"

# rtmpdump: librtmp's simple handshake, FCSubscribe, live play.
le_dump cam1 "$LE_DIR/dump.flv" 4
cmp_ok "$(le_file_size "$LE_DIR/dump.flv")" -gt 10000 "rtmpdump saved a few seconds of FLV"
cmp_ok "$(le_count_frames "$LE_DIR/dump.flv" v)" -ge 25 "rtmpdump: video frames decode (>= 25 in 4 s)"
cmp_ok "$(le_count_frames "$LE_DIR/dump.flv" a)" -ge 25 "rtmpdump: audio packets arrive (>= 25 in 4 s)"

# ffmpeg reading: digest handshake, copies 3 s of media.
le_ffread cam1 "$LE_DIR/ffread.flv" 3
ok $? "ffmpeg reads the RTMP stream and exits 0" || diag "$(tail -5 "$LE_DIR/ffread.log")"
cmp_ok "$(le_count_frames "$LE_DIR/ffread.flv" v)" -ge 25 "ffmpeg read: video frames decode (>= 25)"
cmp_ok "$(le_count_frames "$LE_DIR/ffread.flv" a)" -ge 25 "ffmpeg read: audio packets (>= 25)"

cmp_ok "$(grep -cE 'play [^ ]*/live/cam1([^0-9a-z]|$)' "$LE_LOG")" -ge 3 \
    "the daemon log records the plays of live/cam1 (ffprobe, rtmpdump, ffmpeg)"
le_alive "$LE_PUB_PID"
ok $? "the publisher is still connected after three players came and went" || diag "$(cat "$LE_PUB_LOG")"
le_kill "$LE_PUB_PID"
le_alive_ok "livedge still running after the publisher left"
le_stop
done_testing
