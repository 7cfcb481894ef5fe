#!/bin/sh
# 90-hls-scale: 1,000 HLS players (bench/hlsload) for 20 s against one stream
# ffmpeg publishes with MPEG-TS segments (hls_variant mpegts), then 300 LL-HLS
# players (hls_variant lowlatency, 200 ms parts, blocking playlist reload of
# the next part). Every player opens, gets every segment (TS) or
# part (LL) listed after its start (no sequence number or part skipped, none
# refused), never stalls (its playback clock never runs out of media), ends
# within one segment of live, and the node's peak RSS stays under a bound.
# The publisher goes through hlsload's tap, so the delay and the latency
# behind live are measured too (printed; bounded generously).
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
# LL-HLS players make ten requests a second each (a held reload and a part
# every 200 ms): 1,000 of them are 10,000 requests/s, more than a 2-core CI
# machine shared with other tests gives the node and the load generator
# together; scripts/bench-hls measures LL at 500 and 1,000 (docs/BENCHMARKS.md).
N_LL=${LE_HLS_LL_PLAYERS:-300}
WIN=20
# The sanitizer build (CI's second pass) pays several times the CPU per
# request, in the node and in hlsload, and ASan keeps freed memory resident
# (its quarantine, 256 MiB by default, plus redzones): a third of the
# players, and the RSS bound allows 512 MiB for the allocator. The plain
# build's pass keeps the full count and the strict bound.
SAN_KB=0 SAN_TXT=""
if nm -D "$LE_BIN" 2>/dev/null | grep -q __asan_init; then
    N=${LE_HLS_PLAYERS:-300}
    N_LL=${LE_HLS_LL_PLAYERS:-100}
    SAN_KB=$((512 * 1024)) SAN_TXT=" + 512 MiB (ASan)"
    diag "sanitizer build: $N TS players, $N_LL LL players, RSS bound + $SAN_KB kB"
fi

jget() { python3 -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print("null" if v is None else v)' "$j" "$1"; }

# phase NAME MIN_UNITS DELAY_P99_BOUND_MS: livedge is running; hlsload waits
# for the publisher (tap), 2 s, the playlist, then ramps at 250 players/s
# and measures for WIN s from the first player's start.
phase() {
    local name=$1 min_units=$2 dbound=$3 N=$4 tap d=$LE_DIR/$1
    mkdir -p "$d"
    tap=$(le_free_port 1)
    le_bg LG_PID "$HLSLOAD" -u "http://127.0.0.1:$LE_HTTP_PORT/live/cam.m3u8" -n "$N" -r 250 -d "$WIN" \
        --start-segs 3 --warmup 2 --tap "$tap" --tap-to "127.0.0.1:$LE_RTMP_PORT" --pid "$LE_PID" \
        --label "90-hls-scale $name" --conn-log "$d/conns.tsv" >"$d/result.json" 2>"$d/hlsload.log"
    le_wait_for 10 le_port_open "$tap"
    ok $? "$name: hlsload's tap listens" || diag "$(cat "$d/hlsload.log")"
    # 640x360 25 fps, 1 s GOP, ~300 kbit/s: 1,000 players read ~300 Mbit/s.
    LE_RTMP_PORT=$tap LE_PUB_SECS=70 le_publish cam -b:v 250k -maxrate 250k -bufsize 250k
    le_wait_publishing "$LE_PUB_PROGRESS" 15
    ok $? "$name: ffmpeg publishes live/cam through the tap" || diag "$(cat "$LE_PUB_LOG")"
    le_wait_exit "$LG_PID" 90
    ok $? "$name: hlsload ends within 90 s" || diag "$(tail -n 20 "$d/hlsload.log")"
    le_kill "$LE_PUB_PID"
    j=$(cat "$d/result.json")
    diag "$j"
    if [ -z "$j" ] || ! jget n >/dev/null 2>&1; then
        ok 1 "$name: hlsload wrote its JSON line"; diag "$(tail -n 20 "$d/hlsload.log")"
        return
    fi
    is "$(jget opened)" "$N" "$name: $N players opened"
    is "$(jget started)" "$N" "$name: every player got a first frame"
    is "$(jget failed)" 0 "$name: no player failed"
    is "$(jget missed)" 0 "$name: nothing skipped by any player"
    is "$(jget seg_errors)" 0 "$name: no segment/part request refused or cut"
    if [ "$name" = mpegts ]; then
        is "$(jget stalls)" 0 "$name: no player stalled (playback clock never ran out of media)"
    else
        # 600 ms of hold-back: on a shared 2-core machine a scheduling hiccup
        # of the node or of hlsload is longer than that. Bound: under 10 % of
        # the play time stalled; the count and time are printed.
        cmp_ok "$(python3 -c 'import sys; print(int(float(sys.argv[1]) * 1000))' "$(jget stall_s)")" -le \
            $((N * WIN * 100)) "$name: stalled under 10 % of play time ($(jget stalls) stalls, $(jget stall_s) s)"
    fi
    is "$(jget gaps)" 0 "$name: no media gap over 1 s inside what players received"
    is "$(jget behind)" 0 "$name: every player ends within one segment of the newest"
    cmp_ok "$(jget segs_min)" -ge "$min_units" "$name: each player fetched at least $min_units segments/parts"
    local nm dn d99 idle hwm
    nm=$(jget delay_nomatch); dn=$(jget delay_n)
    cmp_ok "$dn" -gt 0 "$name: frame delays were measured through the tap"
    cmp_ok "$nm" -le $((dn / 100)) "$name: frames matched to the tap: unmatched $nm of $dn"
    d99=$(jget delay_p99_ms)
    cmp_ok "${d99%.*}" -le "$dbound" "$name: delay p99 ${d99} ms <= $dbound"
    diag "$name: first frame p50 $(jget ttff_p50_ms) ms, p99 $(jget ttff_p99_ms) ms;" \
        "delay p50 $(jget delay_p50_ms) ms; latency behind live p50 $(jget latency_p50_ms) ms," \
        "p99 $(jget latency_p99_ms) ms; server CPU $(jget srv_cpu_s_per_gb) s/GB at $(jget mbps) Mbit/s"
    # Memory: the ring holds ~10 segments of ~40 KB; what grows with players
    # is per-connection state (buffers, parser, held requests). Bound: RSS
    # before the load + 64 KiB per player (measured: ~3 KiB per player).
    idle=$(jget srv_rss_idle_kb); hwm=$(jget srv_hwm_kb)
    cmp_ok "$hwm" -le $((idle + SAN_KB + N * 64)) \
        "$name: node peak RSS ${hwm} kB <= idle ${idle} kB + $N x 64 KiB$SAN_TXT"
}

# hls_fragment 1s, hls_window 6 (lib.sh): 20 segments in the window; the last
# players start ~4 s in: >= 12 each. A frame is listed when its segment is
# sealed (the next keyframe, <= 1 s later) and seen within target/2: 4 s
# bound on a busy machine.
le_start || le_abort "livedge did not start"
phase mpegts 12 4000 "$N"
le_sanitizer_check
le_stop

# LL: 200 ms parts, 5 a second: >= 60 each over the last ~12 s. A part is
# answered to the held reload when it is cut (<= 200 ms + a frame): ~150 ms
# measured on an idle machine, over 1 s with the machine's load at 13; bound
# 5 s for p99.
LE_DOMAIN_CONF="    hls_variant lowlatency; hls_part 200ms;" le_start || le_abort "livedge did not start"
phase lowlatency 60 5000 "$N_LL"
le_sanitizer_check
done_testing
