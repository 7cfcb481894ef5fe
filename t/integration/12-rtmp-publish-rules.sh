#!/bin/sh
# 12-rtmp-publish-rules: a second publisher on a live stream is refused with
# NetStream.Publish.BadName without disturbing the first; audio-only
# and video-only streams play back; a publisher silent for 3 s is replaced.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe rtmpdump python3
le_start || le_abort "livedge did not start"

# ---- a second publisher while the first is active --------------------------------
le_publish_and_play dup 60 "$LE_DIR/dup-player.flv"
pub1=$LE_PUB_PID
player=$LE_PLAYER_PID

mark=$(le_log_lines)
LE_PUB_SECS=30 le_publish dup
pub2=$LE_PUB_PID
if le_wait_exit "$pub2" 10; then
    ok 0 "the second publisher is turned away within 10 s"
    cmp_ok "$LE_EXIT_RC" -ne 0 "the second publisher's ffmpeg exits non-zero"
else
    ok 1 "the second publisher is turned away within 10 s"
    skip 1 "second publisher's exit status"
    le_kill "$pub2"
fi
diag "second publisher said: $(grep -v '^$' "$LE_PUB_LOG" | tail -n 2)"
line=$(le_wait_log 'badname|refus|reject|already' 5 "$mark")
ok $? "the daemon log records the refusal" && diag "$line"
le_grows "$LE_DIR/dup-player.flv" 20000 5
ok $? "the first publisher's player keeps receiving after the refusal"
le_alive "$pub1"; ok $? "the first publisher is still connected"
le_alive "$player"; ok $? "its player is still connected"
le_kill "$player" "$pub1"

# ---- audio-only and video-only streams ---------------------------------------------------
# single_track KIND NAME CODEC DESC: a KIND-only (audio|video) publish of
# NAME: ffprobe finds one CODEC stream, rtmpdump gets its frames.
single_track() {
    local kind=$1 name=$2 codec=$3 desc=$4 pid probe what=packets
    LE_PUB_SECS=30 "le_publish_$kind" "$name"
    pid=$LE_PUB_PID
    le_wait_publishing "$LE_PUB_PROGRESS" 15
    ok $? "ffmpeg publishes $desc" || diag "$(cat "$LE_PUB_LOG")"
    probe=$(le_probe "$name")
    is "$(grep -c . <<<"$probe")" 1 "$kind-only: ffprobe finds one stream" || diag "$probe"
    like "$probe" "(^|\\|)codec_type=$kind(\\||\$)" "$kind-only: it is the $kind stream"
    like "$probe" "(^|\\|)codec_name=$codec(\\||\$)" "$kind-only: it is $codec"
    le_dump "$name" "$LE_DIR/$name.flv" 3
    [ "$kind" = video ] && what=frames
    cmp_ok "$(le_count_frames "$LE_DIR/$name.flv" "${kind:0:1}")" -ge 25 "$kind-only: rtmpdump gets $kind $what"
    le_alive "$pid"; ok $? "$kind-only: the publisher is still connected after the players"
    le_kill "$pid"
}
single_track audio aonly aac "an audio-only stream"
single_track video vonly h264 "a video-only stream"

# ---- a silent publisher is replaced after 3 s (publish_takeover idle) ----------------
LE_PUB_SECS=60 le_publish take
old=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "first publisher on live/take is live" || diag "$(cat "$LE_PUB_LOG")"
kill -STOP "$old"
sleep 4.5
LE_PUB_SECS=60 le_publish take
new=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "a new publisher replaces the one silent for over 3 s" || diag "$(cat "$LE_PUB_LOG")"
sleep 1
le_alive "$new"; ok $? "the new publisher stays connected"
probe=$(le_probe take)
like "$probe" 'codec_name=h264' "live/take plays the new publisher's stream"
kill -CONT "$old"
le_wait_exit "$old" 10
ok $? "the replaced publisher's connection was closed (its ffmpeg exits after SIGCONT)"
le_kill "$old" "$new"

le_alive_ok "livedge still running"
le_stop
done_testing
