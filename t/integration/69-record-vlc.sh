#!/bin/sh
# 69-record-vlc: recordings play in VLC (docs/RECORD.md, "Playing
# recordings"). A record config with flv, mp4 and m3u8 (one cycle covers the
# publish) through AddLiveAppRecordConfig; ffmpeg publishes 320x240 H.264 +
# AAC whose picture is red for 3 s, then blue, for 8 s. For each file that
# DescribeLiveStreamRecordContent lists, VLC (cvlc, the Debian vlc-bin
# package) opens its /record/{bucket}/{key} URL over HTTP, demuxes and decodes
# it, and re-encodes what it decoded into a TS file (the transcode stream
# output, so no display is needed). That file shows what VLC saw:
#  - a 320x240 video track with at least 80 % of the recorded file's frames
#    and an audio track with samples;
#  - its picture is red at 1 s and blue at 5 s (VLC decoded the pixels, in
#    order, not just the container);
#  - for the m3u8 the media come from its slices, which VLC fetches through
#    the same /record/ route.
# VLC refuses to run as root: under root (CI) it runs as `nobody`.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl redis-server cvlc
AS=()
if [ "$(id -u)" = 0 ]; then
    le_require_tool runuser
    AS=(runuser -u nobody --)
fi

ROOT=$LE_DIR/rec
mkdir -p "$ROOT"
# VLC's output and home: a directory `nobody` can write.
VDIR=$(mktemp -d /tmp/le-vlc.XXXXXX)
chmod 777 "$VDIR"
# (lib.sh's cleanup runs after, with the script's exit status.)
trap 'le__rc=$?; rm -rf "$VDIR"; (exit $le__rc); le__cleanup' EXIT

LE_EXTRA_CONF="record_root $ROOT;
record_min_free 0;
record_stitch 1s;"
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"
H=http://127.0.0.1:$LE_HTTP_PORT

api AddLiveAppRecordConfig "DomainName=$LE_DOMAIN" AppName=live OssEndpoint=oss.example OssBucket=vlc \
    RecordFormat.1.Format=flv RecordFormat.1.CycleDuration=60 \
    'RecordFormat.1.OssObjectPrefix=v/{AppName}/{StreamName}/{Sequence}' \
    RecordFormat.2.Format=mp4 RecordFormat.2.CycleDuration=60 \
    'RecordFormat.2.OssObjectPrefix=v/{AppName}/{StreamName}/{Sequence}' \
    RecordFormat.3.Format=m3u8 RecordFormat.3.CycleDuration=60 \
    'RecordFormat.3.OssObjectPrefix=v/{AppName}/{StreamName}/{Sequence}' \
    'RecordFormat.3.SliceOssObjectPrefix=v/{AppName}/{StreamName}/s_{Sequence}'
ok $? "AddLiveAppRecordConfig: flv, mp4 and m3u8 ($API_CODE)" || diag "$API_BODY"

# ---- publish: red 0-3 s, then blue, 8 s; a keyframe a second; AAC --------------------
T0=$(date +%s)
PUB_LOG=$LE_DIR/pub.log PUB_PROGRESS=$LE_DIR/pub.progress
le_bg PUB_PID ffmpeg -hide_banner -nostdin -loglevel warning -nostats -progress "$PUB_PROGRESS" -stats_period 0.1 \
    -re -f lavfi -i "color=c=red:size=320x240:rate=25:duration=3[a];color=c=blue:size=320x240:rate=25[b];[a][b]concat=n=2:v=1:a=0[out0]" \
    -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 8 \
    -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -keyint_min 25 -pix_fmt yuv420p \
    -c:a aac -b:a 64k -ac 1 -f flv "$(le_url cam)" >"$PUB_LOG" 2>&1
le_wait_publishing "$PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam (red then blue, 320x240, 8 s)" || diag "$(cat "$PUB_LOG")"
le_wait_exit "$PUB_PID" 30 || le_kill "$PUB_PID"
le_wait_log 'live/cam: recording ended' 20 >/dev/null
ok $? "the recording ends after the publish"

# ---- the finished files, as DescribeLiveStreamRecordContent lists them ----------------
api DescribeLiveStreamRecordContent "DomainName=$LE_DOMAIN" AppName=live StreamName=cam \
    "StartTime=$(utc $((T0 - $(date +%s) - 60)))" "EndTime=$(utc 60)"
keys=$(j "$API_BODY" '" ".join(sorted(x["OssBucket"] + "/" + x["OssObjectPrefix"] for x in d["RecordContentInfoList"]["RecordContentInfo"]))')
is "$keys" "vlc/v/live/cam/0.flv vlc/v/live/cam/0.m3u8 vlc/v/live/cam/0.mp4" \
    "DescribeLiveStreamRecordContent lists one file per format" || diag "$API_BODY"

# rgb FILE SECONDS: the mean R G B of a 16x16 block in the middle of the frame at
# SECONDS (decoded from the start: VLC's x264 output has one keyframe).
rgb() {
    ffmpeg -nostdin -v error -i "$1" -ss "$2" -frames:v 1 -vf "crop=16:16:(iw-16)/2:(ih-16)/2" \
        -f rawvideo -pix_fmt rgb24 - 2>/dev/null |
        "$LE_PY" -c 'import sys; b = sys.stdin.buffer.read(); n = len(b) // 3
print(" ".join(str(sum(b[i::3]) // n) for i in range(3)) if n else "none")'
}
# frames FILE TYPE: how many frames of its first TYPE (v or a) stream decode.
frames() {
    ffprobe -v error -select_streams "$2:0" -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$1" \
        2>/dev/null | head -1
}

for kind in flv mp4 m3u8; do
    src=$ROOT/vlc/v/live/cam/0.$kind
    url=$H/record/vlc/v/live/cam/0.$kind
    out=$VDIR/out-$kind.ts
    srcframes=$(frames "$src" v)
    t0=$(le_now_ms)
    timeout -k 5 60 "${AS[@]}" env HOME="$VDIR" cvlc -q --play-and-exit --no-interact --vout=dummy --aout=dummy \
        "$url" --sout "#transcode{vcodec=h264,venc=x264{preset=ultrafast},acodec=mpga,ab=96}:std{access=file,mux=ts,dst=$out}" \
        >"$LE_DIR/vlc-$kind.log" 2>&1
    rc=$?
    is "$rc" 0 "$kind: cvlc played $url to its end ($(( $(le_now_ms) - t0 )) ms)" || diag "$(tail -5 "$LE_DIR/vlc-$kind.log")"
    is "$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x "$out" 2>/dev/null | head -1)" \
        320x240 "$kind: VLC decoded 320x240 video"
    vf=$(frames "$out" v)
    cmp_ok "${vf:-0}" -ge $(( ${srcframes:-1000} * 8 / 10 )) "$kind: ... $vf frames of the file's $srcframes"
    af=$(frames "$out" a)
    cmp_ok "${af:-0}" -gt 0 "$kind: ... and audio ($af frames)"
    c1=$(rgb "$out" 1) c5=$(rgb "$out" 5)
    # shellcheck disable=SC2086
    set -- $c1 $c5
    [ $# = 6 ] && [ "$1" -gt 200 ] && [ "$2" -lt 60 ] && [ "$3" -lt 60 ] && [ "$4" -lt 60 ] && [ "$5" -lt 60 ] && [ "$6" -gt 200 ]
    ok $? "$kind: what VLC decoded is red at 1 s ($c1) and blue at 5 s ($c5)"
done

le_alive_ok
le_stop
done_testing
