#!/bin/sh
# 73-transcode: renditions on demand (docs/TRANSCODE.md, "Renditions",
# "Adaptive HLS"). AddLiveStreamTranscode lld (on demand) and a custom
# template "small" (320x180, 15 fps, 300 kbit/s, Mode always) on app live;
# ffmpeg publishes 1280x720 H.264 + AAC at 25 fps, a keyframe every 2 s:
#  - the always template's job starts with the publish, nothing else runs
#    while nobody asks (livedge_transcode_jobs 1);
#  - an RTMP player of live/cam_lld gets H.264 640x360 with the source's
#    audio, its first frame within a generous bound (measured), and the job
#    count is 2; the rendition's keyframes fall on the source's 2 s GOP;
#    its video bitrate over 10 s is under the template's 470 kbit/s cap
#    (+20 %);
#  - the custom template: 320x180 at 15 fps;
#  - HTTP-FLV and HLS of the rendition; the master playlist cam_abr.m3u8
#    lists the source and both renditions with RESOLUTION and BANDWIDTH, and
#    each listed URI plays;
#  - DescribeLiveStreamsOnlineList: StreamType=trans lists the renditions
#    (Transcoded yes), raw the source only;
#  - 20 concurrent viewers of cam_lld share one job (jobs_started_total +0);
#  - after the last viewer, the job stops after transcode_idle (3 s) and
#    the rendition leaves the online list; the always one stays until the
#    source ends.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl redis-server

metric() {
    curl -s --max-time 5 "http://127.0.0.1:$LE_ADMIN_PORT/metrics" | awk -v k="$1" '$1 == k {print $2; exit}'
}
# probe URL: "video h264 640x360 audio aac" (its streams, video first).
probe() {
    timeout -k 3 20 ffprobe -v error -show_entries stream=codec_type,codec_name,width,height -of json "$1" \
        2>>"$LE_DIR/ffprobe.log" | "$LE_PY" -c 'import json, sys
s = json.load(sys.stdin).get("streams", [])
v = [x for x in s if x["codec_type"] == "video"]; a = [x for x in s if x["codec_type"] == "audio"]
print(" ".join(["video %s %dx%d" % (x["codec_name"], x["width"], x["height"]) for x in v] +
               ["audio %s" % x["codec_name"] for x in a]))' 2>/dev/null
}

LE_EXTRA_CONF="transcode_idle 3s;
transcode_wait 10s;
pipeline_threads 1;"
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"
H=http://127.0.0.1:$LE_HTTP_PORT
D=$LE_DOMAIN

api AddLiveStreamTranscode "Domain=$D" App=live Template=lld
ok $? "AddLiveStreamTranscode lld" || diag "$API_BODY"
api AddCustomLiveStreamTranscode "Domain=$D" App=live Template=small TemplateType=h264 Width=320 Height=180 \
    FPS=15 VideoBitrate=300 Mode=always
ok $? "AddCustomLiveStreamTranscode small (320x180, 15 fps, 300 kbit/s, Mode always)" || diag "$API_BODY"

LE_PUB_SECS=90 le_publish cam -vf scale=1280:720 -g 50 -keyint_min 50 -sc_threshold 0 -b:v 2500k
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam at 1280x720, a keyframe every 2 s" || diag "$(cat "$LE_PUB_LOG")"
pub=$LE_PUB_PID
le_wait_log 'live/cam_small: rendition live' 15 >/dev/null
ok $? "the always template's rendition goes live with the publish, before any viewer"
is "$(metric livedge_transcode_jobs)" 1 "... and no other job runs before a viewer asks (livedge_transcode_jobs 1)"

# ---- the first viewer of cam_lld ---------------------------------------------------
t0=$(le_now_ms)
p=$(probe "$(le_url cam_lld)")
first=$(( $(le_now_ms) - t0 ))
is "$p" "video h264 640x360 audio aac" \
    "ffprobe of rtmp live/cam_lld: H.264 640x360 and the source's AAC"
cmp_ok "$first" -lt 15000 "... the first viewer got it within 15 s ($first ms, ffprobe's own start included)"
is "$(metric livedge_transcode_jobs)" 2 "its job runs too (livedge_transcode_jobs 2)"

# 10 s of the rendition and of the source, at the same time.
le_ffread cam_lld "$LE_DIR/lld.flv" 10 &
r1=$!
le_ffread cam "$LE_DIR/src.flv" 10 &
r2=$!
wait "$r1" "$r2"
# Keyframe times and the video bytes of each file.
kf() {
    ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,flags -of csv=p=0 "$1" 2>/dev/null |
        awk -F, '$2 ~ /K/ {printf "%.2f ", $1}'
}
kl=$(kf "$LE_DIR/lld.flv") ks=$(kf "$LE_DIR/src.flv")
diag "keyframes: rendition $kl; source $ks"
gaps=$("$LE_PY" -c 'import sys
k = [float(x) for x in sys.argv[1].split()]
print(" ".join("%.2f" % (b - a) for a, b in zip(k, k[1:])))' "$kl")
like "$gaps" '^(2\.0[0-9]|1\.9[5-9])( (2\.0[0-9]|1\.9[5-9]))+$' "the rendition's keyframes are 2 s apart, as the source's ($gaps)"
kbps=$(ffprobe -v error -select_streams v:0 -show_entries packet=size,pts_time -of csv=p=0 "$LE_DIR/lld.flv" |
    "$LE_PY" -c 'import sys
rows = [l.strip().split(",") for l in sys.stdin if l.strip()]
t = [float(a) for a, b in rows]; n = sum(int(b) for a, b in rows)
print(int(n * 8 / 1000 / max(t[-1] - t[0], 1)))')
cmp_ok "$kbps" -le 564 "its video bitrate over 10 s is under lld's 470 kbit/s cap + 20 % ($kbps kbit/s)"
cmp_ok "$kbps" -ge 50 "... and is not empty ($kbps kbit/s)"

# ---- the custom template -------------------------------------------------------------
p=$(timeout -k 3 20 ffprobe -v error -select_streams v:0 -show_entries stream=width,height,avg_frame_rate -of csv=p=0 \
    "$(le_url cam_small)" 2>>"$LE_DIR/ffprobe.log")
is "$p" "320,180,15/1" "live/cam_small: 320x180 at 15 fps"

# ---- HTTP-FLV, HLS and the master playlist --------------------------------------------
timeout -k 3 20 ffmpeg -nostdin -v error -i "$H/live/cam_lld.flv" -t 3 -c copy -y "$LE_DIR/lld-http.flv" 2>>"$LE_DIR/ffprobe.log"
is "$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0:s=x "$LE_DIR/lld-http.flv")" \
    640x360 "HTTP-FLV of cam_lld: 640x360"
m=$(curl -s --max-time 5 "$H/live/cam_abr.m3u8")
diag "$m"
like "$m" '^#EXTM3U' "the master playlist cam_abr.m3u8 answers"
is "$(grep -c '^#EXT-X-STREAM-INF' <<<"$m")" 3 "... with three variants (the source, lld, small)"
like "$(grep -A1 'RESOLUTION=1280x720' <<<"$m" | tail -1)" '^cam\.m3u8$' "... the source at 1280x720"
like "$(grep -A1 'RESOLUTION=640x360' <<<"$m" | tail -1)" '^cam_lld\.m3u8$' "... cam_lld at 640x360"
like "$(grep -A1 'RESOLUTION=320x180' <<<"$m" | tail -1)" '^cam_small\.m3u8$' "... cam_small at 320x180"
like "$(grep 'RESOLUTION=640x360' <<<"$m")" 'BANDWIDTH=[0-9]+,.*CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"' "... with BANDWIDTH and CODECS"
hls_ok() { timeout -k 3 30 ffprobe -v error -show_entries stream=width,height -select_streams v:0 -of csv=p=0:s=x \
    "$H/live/cam_lld.m3u8" 2>>"$LE_DIR/ffprobe.log" | grep -qx 640x360; }
le_wait_for 20 hls_ok
ok $? "HLS of cam_lld (the master's variant URI) plays at 640x360"

# ---- many viewers, one job --------------------------------------------------------------
le_player cam_lld "$LE_DIR/v1.flv"
pids=("$LE_PLAYER_PID")
le_wait_for 15 le_size_gt "$LE_DIR/v1.flv" 20000
ok $? "a first RTMP viewer of cam_lld receives it"
started=$(metric livedge_transcode_jobs_started_total)

# ---- the online list (while that viewer keeps cam_lld's job running) -------------------
api DescribeLiveStreamsOnlineList "DomainName=$D" StreamType=trans
is "$(j "$API_BODY" '" ".join(sorted(x["StreamName"] + ":" + x["Transcoded"] for x in d["OnlineInfo"]["LiveStreamOnlineInfo"]))')" \
    "cam_lld:yes cam_small:yes" "DescribeLiveStreamsOnlineList StreamType=trans: the renditions, Transcoded yes" || diag "$API_BODY"
api DescribeLiveStreamsOnlineList "DomainName=$D" StreamType=raw
is "$(j "$API_BODY" '" ".join(sorted(x["StreamName"] + ":" + x["Transcoded"] for x in d["OnlineInfo"]["LiveStreamOnlineInfo"]))')" \
    "cam:no" "... StreamType=raw: the source only"

for i in $(seq 2 20); do
    le_player cam_lld "$LE_DIR/v$i.flv"
    pids+=("$LE_PLAYER_PID")
done
all_got() { local i; for i in $(seq 1 20); do le_size_gt "$LE_DIR/v$i.flv" 20000 || return 1; done; }
le_wait_for 30 all_got
ok $? "20 concurrent RTMP viewers of cam_lld receive it"
is "$(metric livedge_transcode_jobs_started_total)" "$started" "... from the same job (no job started for them)"
mark=$(le_log_lines)
le_kill "${pids[@]}"

# ---- idle stop ------------------------------------------------------------------------
t0=$(le_now_ms)
line=$(le_wait_log 'live/cam_lld: job stopped \(no viewer' 20 "$mark")
rc=$? el=$(( $(le_now_ms) - t0 ))
ok $rc "after the last viewer the cam_lld job stops ($el ms)" && diag "$line"
cmp_ok "$el" -ge 2000 "... not before transcode_idle (3 s, checked each second)"
only_small() {
    api DescribeLiveStreamsOnlineList "DomainName=$D" StreamType=trans &&
        [ "$(j "$API_BODY" '" ".join(x["StreamName"] for x in d["OnlineInfo"]["LiveStreamOnlineInfo"])')" = cam_small ]
}
le_wait_for 20 only_small
ok $? "... cam_lld leaves the online list, the always cam_small stays" || diag "$API_BODY"
is "$(metric livedge_transcode_jobs)" 1 "livedge_transcode_jobs 1"

mark=$(le_log_lines)
le_kill "$pub"
le_wait_log 'live/cam_small: job stopped \(source ended' 15 "$mark" >/dev/null
ok $? "the always job ends with its source"
is "$(metric livedge_transcode_jobs)" 0 "livedge_transcode_jobs 0"
le_alive_ok
le_stop
done_testing
