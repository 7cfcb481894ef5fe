#!/bin/sh
# 90-hls-scale: 1,000 HLS players (bench/hlsload) for 20 s against one stream
# ffmpeg publishes: every player opens, plays from its first segment on, gets
# every segment listed after its start (no sequence number skipped, none
# refused), never stalls (its playback clock never runs out of media) and
# ends within one segment of live; the node's peak RSS stays under a bound.
# The publisher goes through hlsload's tap, so the delay and latency behind
# live are measured too (printed, bounded generously).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg python3
HLSLOAD=$top_builddir/bench/hlsload
[ -x "$HLSLOAD" ] || le_skip_all "bench/hlsload not built"
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge 1100 ] || le_skip_all "open files limit $(ulimit -n) is too low for 1000 players"
N=${LE_HLS_PLAYERS:-1000}
WIN=20

# hls_fragment 1s, hls_window 6 (lib.sh): 20 segments in the window.
le_start || le_abort "livedge did not start"
H=http://127.0.0.1:$LE_HTTP_PORT
TAP=$(le_free_port 1)

# hlsload waits for the publisher (tap), 2 s, the playlist, then ramps at
# 250 players/s and measures for WIN s from the first player's start.
le_bg LG_PID "$HLSLOAD" -u "$H/live/cam.m3u8" -n "$N" -r 250 -d "$WIN" --start-segs 3 --warmup 2 \
    --tap "$TAP" --tap-to "127.0.0.1:$LE_RTMP_PORT" --pid "$LE_PID" --label "90-hls-scale" \
    --conn-log "$LE_DIR/conns.tsv" >"$LE_DIR/result.json" 2>"$LE_DIR/hlsload.log"
le_wait_for 10 le_port_open "$TAP"
ok $? "hlsload's tap listens" || diag "$(cat "$LE_DIR/hlsload.log")"
# 640x360 25 fps, 1 s GOP, ~300 kbit/s: 1,000 players read ~300 Mbit/s.
LE_RTMP_PORT=$TAP LE_PUB_SECS=70 le_publish cam -b:v 250k -maxrate 250k -bufsize 250k
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam through the tap" || diag "$(cat "$LE_PUB_LOG")"

le_wait_exit "$LG_PID" 90
ok $? "hlsload ends within 90 s" || diag "$(tail -n 20 "$LE_DIR/hlsload.log")"
j=$(cat "$LE_DIR/result.json")
diag "$j"
if [ -z "$j" ]; then
    ok 1 "hlsload wrote its JSON line"; diag "$(tail -n 20 "$LE_DIR/hlsload.log")"
    done_testing
fi
jget() { python3 -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print("null" if v is None else v)' "$j" "$1"; }

is "$(jget opened)" "$N" "$N players opened"
is "$(jget started)" "$N" "every player got a first frame"
is "$(jget failed)" 0 "no player failed"
is "$(jget missed)" 0 "no segment skipped by any player"
is "$(jget seg_errors)" 0 "no segment request refused or cut"
is "$(jget stalls)" 0 "no player stalled (playback clock never ran out of media)"
is "$(jget gaps)" 0 "no media gap over 1 s inside what players received"
is "$(jget behind)" 0 "every player ends within one segment of the newest"
# 20 s of 1 s segments; the last players start ~4 s into the window: >= 12.
cmp_ok "$(jget segs_min)" -ge 12 "each player fetched at least 12 segments in the window"
cmp_ok "$(jget delay_n)" -gt 0 "frame delays were measured through the tap"
nm=$(jget delay_nomatch); dn=$(jget delay_n)
cmp_ok "$nm" -le $((dn / 100)) "frames matched to the tap: unmatched $nm of $dn"
# Delay: a frame is listed when its segment is sealed (next keyframe, <= 1 s
# later), a player sees it within target/2 = 1 s; bound 4 s on a busy box.
d99=$(jget delay_p99_ms)
cmp_ok "${d99%.*}" -le 4000 "delay p99 ${d99} ms <= 4000"
diag "first frame p50 $(jget ttff_p50_ms) ms, p99 $(jget ttff_p99_ms) ms; latency p50 $(jget latency_p50_ms) ms;" \
    "server CPU $(jget srv_cpu_s_per_gb) s/GB; $(jget mbps) Mbit/s"
# Memory: the segments are ~40 KB each (6 listed + 3 kept); what grows with
# players is per-connection state (buffers, parser): 1,000 keep-alive
# connections at the 64 KiB of socket-side buffering each would be ~64 MB.
# Bound: RSS before the load + 128 MB (libevent + OpenSSL + FFmpeg baseline
# is in srv_rss_idle_kb).
idle=$(jget srv_rss_idle_kb); hwm=$(jget srv_hwm_kb)
cmp_ok "$hwm" -le $((idle + 131072)) "node peak RSS ${hwm} kB <= idle ${idle} kB + 128 MB"
le_sanitizer_check
done_testing
