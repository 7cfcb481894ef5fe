#!/bin/sh
# 11-rtmp-players: a player joining mid-GOP starts on the sequence headers and a
# keyframe from the GOP cache (SPEC 3); two players at once; the end of a
# publish ends its players.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe rtmpdump python3
le_start || le_abort "livedge did not start"

# ---- a player joining in the middle of a 2 s GOP -------------------------------
# Keyframes at 0, 2, 4 s (-g 50 at 25 fps, no scene-cut keyframes); joining
# once 3 s are sent (progress is written every 0.1 s, polled every 0.2 s:
# 3.0-3.4 s) is 1-1.4 s into a GOP.
LE_PUB_SECS=40 le_publish gop -g 50 -keyint_min 50 -sc_threshold 0
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/gop with a 2 s GOP" || diag "$(cat "$LE_PUB_LOG")"
le_wait_for 15 le__progress_past "$LE_PUB_PROGRESS" 3000000
t0=$(le_now_ms)
le_dump gop "$LE_DIR/late.flv" 3
wall=$(( $(le_now_ms) - t0 ))

flags=$(timeout 30 ffprobe -v error -select_streams v:0 -show_entries packet=flags \
    -of csv=p=0 "$LE_DIR/late.flv" 2>/dev/null)
like "$(head -n 1 <<<"$flags")" '^K' "late joiner: first video packet is a keyframe"
cmp_ok "$(grep -c . <<<"$flags")" -ge 25 "late joiner: video packets arrive"
errs=$(timeout 60 ffmpeg -hide_banner -nostdin -v error -i "$LE_DIR/late.flv" -f null - 2>&1)
unlike "$errs" 'non-existing PPS|no frame|Missing reference|decode_slice_header error|SPS unavailable' \
    "late joiner: video decodes without missing SPS/PPS or reference errors"
unlike "$errs" 'Audio object type|channel element|Number of bands|Input buffer exhausted|decoding for stream 1 failed' \
    "late joiner: audio decodes (AAC sequence header present)"
cmp_ok "$(le_count_frames "$LE_DIR/late.flv" a)" -ge 25 "late joiner: audio packets arrive"
# With the GOP cache the player gets the 1-1.4 s since the last keyframe at
# once, so the dump spans more media time than it took (about wall + 1 s);
# waiting for the next keyframe instead would make it span less (wall - 0.6 s).
span=$(timeout 30 ffprobe -v error -select_streams v:0 -show_entries packet=pts_time \
    -of csv=p=0 "$LE_DIR/late.flv" 2>/dev/null | awk 'NF && $1 != "N/A" {
        if (first == "") first = $1; last = $1 } END { printf "%d", (last - first) * 1000 }')
cmp_ok "${span:-0}" -gt $(( wall + 300 )) \
    "late joiner: the cached GOP arrives at once (${span:-0} ms of video in a ${wall} ms dump)"

# ---- two players at once -----------------------------------------------------------
p1=; p2=
le_bg p1 le_dump gop "$LE_DIR/p1.flv" 4
le_bg p2 le_dump gop "$LE_DIR/p2.flv" 4
le_wait_exit "$p1" 20; le_wait_exit "$p2" 20
for p in p1 p2; do
    cmp_ok "$(le_count_frames "$LE_DIR/$p.flv" v)" -ge 50 "two players: $p gets video frames (>= 50 in 4 s)"
    cmp_ok "$(le_count_frames "$LE_DIR/$p.flv" a)" -ge 50 "two players: $p gets audio packets (>= 50 in 4 s)"
done
le_alive "$LE_PUB_PID"; ok $? "the publisher of live/gop is still connected"
le_kill "$LE_PUB_PID"

# ---- the end of a publish ends its players ----------------------------------------
LE_PUB_SECS=8 le_publish short
pub=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/short for 8 s" || diag "$(cat "$LE_PUB_LOG")"
ffr=; ffp=
le_player short "$LE_DIR/end-rtmpdump.flv"
le_bg ffr timeout -k 2 40 ffmpeg -hide_banner -nostdin -v error -i "$(le_url short)" \
    -c copy -f flv "$LE_DIR/end-ffmpeg.flv" 2>"$LE_DIR/end-ffmpeg.err"
le_bg ffp timeout -k 2 40 ffprobe -v error -show_entries packet=pts_time -of csv=p=0 \
    "$(le_url short)" >"$LE_DIR/end-ffprobe.csv" 2>"$LE_DIR/end-ffprobe.err"
le_wait_exit "$pub" 20
ok $? "the publisher finishes its 8 s" && is "$LE_EXIT_RC" 0 "the publisher's ffmpeg exits 0 (clean unpublish)"
t_end=$(le_now_ms)
for p in "$LE_PLAYER_PID:rtmpdump" "$ffr:ffmpeg" "$ffp:ffprobe"; do
    pid=${p%%:*}; what=${p#*:}
    if le_wait_exit "$pid" 6; then
        ok 0 "$what player exits by itself after the publisher left ($(( $(le_now_ms) - t_end )) ms)"
    else
        ok 1 "$what player exits by itself within 6 s after the publisher left"
    fi
done
cmp_ok "$(le_count_frames "$LE_DIR/end-rtmpdump.flv" v)" -ge 50 "rtmpdump got the stream before it ended"
cmp_ok "$(le_count_frames "$LE_DIR/end-ffmpeg.flv" v)" -ge 50 "ffmpeg got the stream before it ended"
cmp_ok "$(grep -c . "$LE_DIR/end-ffprobe.csv")" -ge 50 "ffprobe got packets before the stream ended"

le_alive_ok "livedge still running"
le_stop
done_testing
