#!/bin/sh
# 11-rtmp-players: a player joining mid-GOP starts on the sequence headers and a
# keyframe from the GOP cache; two players at once; the end of a
# publish ends its players.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe rtmpdump python3
le_start || le_abort "livedge did not start"

# ---- a player joining in the middle of a 2 s GOP -------------------------------
# Keyframes at media time 0, 2, 4 s... (-g 50 at 25 fps, no scene-cut
# keyframes). The player joins about 1 s into a GOP: J is the publisher's
# media time when the player's first bytes arrive, E when it is stopped.
LE_PUB_SECS=60 le_publish gop -g 50 -keyint_min 50 -sc_threshold 0
gop_progress=$LE_PUB_PROGRESS
le_wait_publishing "$gop_progress" 15
ok $? "ffmpeg publishes live/gop with a 2 s GOP" || diag "$(cat "$LE_PUB_LOG")"
mid_gop() {
    local us; us=$(le_pub_time_us "$gop_progress")
    [ "${us:-0}" -ge 2500000 ] && [ $((us % 2000000)) -ge 800000 ] && [ $((us % 2000000)) -le 1200000 ]
}
J=0; E=0; dump=
for attempt in 1 2 3; do
    le_wait_for 10 mid_gop || break
    rm -f "$LE_DIR/late.flv"
    le_bg dump rtmpdump -q -v -m 10 -r "$(le_url gop)" -o "$LE_DIR/late.flv"
    le_wait_for 5 le_size_gt "$LE_DIR/late.flv" 0
    J=$(le_pub_time_us "$gop_progress")
    sleep 3
    E=$(le_pub_time_us "$gop_progress")
    kill -INT "$dump" 2>/dev/null
    le_wait_exit "$dump" 5 || le_kill "$dump"
    pos=$(( J % 2000000 ))
    [ "$pos" -ge 600000 ] && [ "$pos" -le 1900000 ] && break
    diag "attempt $attempt joined at $((J / 1000)) ms, too near a keyframe: again"
done

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
# With the GOP cache the dump starts at the keyframe before the join (J - 0.6
# s or earlier); waiting for the next keyframe would start it after J. The
# start is estimated from the end, E, and the media time the dump spans, so
# it holds whether or not the node rebases timestamps per player.
span=$(timeout 30 ffprobe -v error -select_streams v:0 -show_entries packet=pts_time \
    -of csv=p=0 "$LE_DIR/late.flv" 2>/dev/null | awk 'NF && $1 != "N/A" {
        if (first == "") first = $1; last = $1 } END { printf "%d", (last - first) * 1000 }')
est=$(( E / 1000 - ${span:-0} ))
cmp_ok "$est" -le $(( J / 1000 - 100 )) \
    "late joiner: the cached GOP arrives at once (the dump starts at media time ~$est ms, the player joined at $((J / 1000)) ms)"

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
