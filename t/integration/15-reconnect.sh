#!/bin/sh
# 15-reconnect: players kept across a publisher reconnect
# (publish_reconnect_grace, livedge.conf(5)). ffmpeg publishes H.264 + AAC;
# an ffmpeg RTMP player, a curl HTTP-FLV player and 2 x 25 loadgen players
# (RTMP and HTTP-FLV) watch. The publisher is killed and a new one publishes
# the same stream 1.5 s later: every player stays connected, gets nothing in
# the gap, then the new publish from its keyframe with its sequence headers,
# timestamps monotonic across the gap (checked on the raw FLV body and with
# ffprobe). HLS gets EXT-X-DISCONTINUITY. A new publish without video ends
# them cleanly. A publisher that unpublishes ends its players at once. Then the publisher drops for good under a 2 s grace:
# the players end after it, not at the drop. With a grace of 0 they end at
# the drop. The callback server gets exactly one publish and one
# publish_done per publish.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
LE_SCRIPT_TIMEOUT=${LE_SCRIPT_TIMEOUT:-240}
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl
LOADGEN=$top_builddir/bench/loadgen

# ---- the callback server: records every request's query ------------------------
CBLOG=$LE_DIR/callbacks.jsonl
# cb_actions ID: the callback actions for stream ID, in arrival order.
cb_actions() {
    python3 - "$CBLOG" "$1" <<'PY'
import json, sys, urllib.parse
out = []
try:
    for line in open(sys.argv[1]):
        if line.strip():
            p = urllib.parse.parse_qs(json.loads(line)["q"])
            if p.get("id", [None])[-1] == sys.argv[2]:
                out.append(p.get("action", ["?"])[-1])
except FileNotFoundError:
    pass
print(" ".join(out))
PY
}
cb_is() { [ "$(cb_actions "$1")" = "$2" ]; }

# flv_check FILE: walks the FLV tags of FILE. Prints "vseq=N aseq=N
# frames=N after=N back=N": AVC and AAC sequence headers, video frames,
# video frames after the second AVC sequence header, and audio/video tags
# whose timestamp is below an earlier one.
cat >"$LE_DIR/flvcheck.py" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
if d[:3] != b"FLV":
    print("not FLV"); sys.exit()
off = struct.unpack(">I", d[5:9])[0] + 4
vseq = aseq = frames = after = back = 0
top = -1
while off + 11 <= len(d):
    t, n = d[off], int.from_bytes(d[off + 1:off + 4], "big")
    ts = int.from_bytes(d[off + 4:off + 7], "big") | d[off + 7] << 24
    b = d[off + 11:off + 11 + n]
    if off + 11 + n > len(d) or len(b) < 2:
        break
    off += 11 + n + 4
    if t == 9 and b[0] & 15 == 7 and b[1] == 0:
        vseq += 1
    elif t == 8 and b[0] >> 4 == 10 and b[1] == 0:
        aseq += 1
    elif t == 9:
        frames += 1
        after += vseq >= 2
    if t in (8, 9):
        back += ts < top
        top = max(top, ts)
print("vseq=%d aseq=%d frames=%d after=%d back=%d" % (vseq, aseq, frames, after, back))
PY
flvcheck() { python3 "$LE_DIR/flvcheck.py" "$1"; }

# probe_v FILE: "FRAMES BACKWARDS SPAN_MS": decoded video frames, video
# packets whose pts is below an earlier one, and the pts span (ffprobe).
probe_v() {
    local n
    n=$(le_count_frames "$1" v)
    timeout -k 3 60 ffprobe -v error -select_streams v:0 -show_entries packet=pts_time -of csv=p=0 "$1" \
        2>/dev/null | awk -v n="${n:-0}" '
        $1 != "" { t = $1 * 1000; if (c++ == 0) first = t; if (c > 1 && t < top) back++; if (t > top) top = t }
        END { printf "%d %d %d\n", n, back, c ? top - first : 0 }'
}

cb_recorder "$CBLOG"
CB=http://127.0.0.1:$CB_PORT

LE_EXTRA_CONF="publish_reconnect_grace 8s;"
LE_DOMAIN_CONF="    notify_url $CB/notify;"
LE_WAIT_PORTS="rtmp http admin"
le_start || le_abort "livedge did not start"
H=http://127.0.0.1:$LE_HTTP_PORT

# reload_grace VALUE: rewrite the config with another grace, SIGHUP, and wait
# for the reload to be logged (one TAP line).
reload_grace() {
    local mark
    mark=$(le_log_lines)
    LE_EXTRA_CONF="publish_reconnect_grace $1;"
    le_write_conf "$LE_CONF"
    kill -HUP "$LE_PID"
    le_wait_log 'configuration reloaded' 10 "$mark" >/dev/null
    ok $? "SIGHUP: publish_reconnect_grace $1"
}

# publish NAME: a 60 s publish of NAME with a 30-frame GOP; waits until it
# sends (one TAP line). PUB is its pid.
publish() {
    LE_PUB_SECS=60 le_publish "$1" -g 30
    PUB=$LE_PUB_PID
    le_wait_publishing "$LE_PUB_PROGRESS" 20
    ok $? "$2" || diag "$(cat "$LE_PUB_LOG")"
}

# players NAME TAG: an ffmpeg RTMP player (copy to TAG-rtmp.flv) and a curl
# HTTP-FLV player (TAG-http.flv) of NAME; RP and CP their pids. Waits until
# the daemon logs both plays (one TAP line).
players() {
    local m
    m=$(le_log_lines)
    le_bg RP ffmpeg -hide_banner -nostdin -loglevel warning -y -i "$(le_url "$1")" -c copy -f flv \
        "$LE_DIR/$2-rtmp.flv" >"$LE_DIR/$2-rtmp.log" 2>&1
    le_bg CP curl -s -o "$LE_DIR/$2-http.flv" "$H/live/$1.flv"
    le_wait_log ": play $LE_DOMAIN/live/$1\$" 15 "$m" >/dev/null &&
        le_wait_log "playing $LE_DOMAIN/live/$1\$" 5 "$m" >/dev/null
    ok $? "an RTMP and an HTTP-FLV player of live/$1 play" || diag "$(cat "$LE_DIR/$2-rtmp.log")"
}

# ---- 1. a reconnect within the grace -------------------------------------------------
publish rc "first publish of live/rc"
le_wait_for 10 cb_is rc publish
ok $? "publish callback for the first publish"
t_play=$(le_now_ms)
players rc a
RPA=$RP; CPA=$CP
have_lg=""
if [ -x "$LOADGEN" ]; then
    le_bg LG1 "$LOADGEN" -u "rtmp://127.0.0.1:$LE_RTMP_PORT/live/rc" -n 25 -r 50 -d 15 --no-probe \
        --conn-log "$LE_DIR/lg-rtmp.tsv" >"$LE_DIR/lg-rtmp.json" 2>"$LE_DIR/lg-rtmp.err"
    le_bg LG2 "$LOADGEN" -u "$H/live/rc.flv" -n 25 -r 50 -d 15 --no-probe \
        --conn-log "$LE_DIR/lg-flv.tsv" >"$LE_DIR/lg-flv.json" 2>"$LE_DIR/lg-flv.err"
    have_lg=1
fi
le_wait_for 15 le_size_gt "$LE_DIR/a-http.flv" 30000
ok $? "the HTTP-FLV player receives the first publish"
sleep 1.5

mark=$(le_log_lines)
kill -KILL "$PUB"
t_kill=$(le_now_ms)
wait "$PUB" 2>/dev/null
le_wait_log 'live/rc: publisher left, players wait up to 8000 ms' 5 "$mark" >/dev/null
ok $? "the publisher's drop starts the grace (log)"
sleep 0.5
gap0=$(le_file_size "$LE_DIR/a-http.flv")
sleep 1
gap1=$(le_file_size "$LE_DIR/a-http.flv")
is "$gap1" "$gap0" "in the grace the HTTP-FLV player receives nothing"
le_alive "$RP" && le_alive "$CP"
ok $? "both players still connected in the grace"

publish rc "a new publisher of live/rc within the grace"
le_wait_log 'live/rc: publisher back within the grace' 5 "$mark" >/dev/null
ok $? "the log shows the players continue"
le_grows "$LE_DIR/a-http.flv" 40000 15
ok $? "the HTTP-FLV player receives the new publish"
# Every player counted once: ffmpeg, curl and the loadgen ones.
want_users=$(( 2 + ${have_lg:+50} + 0 ))
users() {
    api DescribeLiveStreamOnlineUserNum "DomainName=$LE_DOMAIN"
    j "$API_BODY" '[x["UserNumber"] for x in d["OnlineUserInfo"]["LiveStreamOnlineUserNumInfo"] if x["StreamUrl"].endswith("/live/rc")]'
}
users_are() { [ "$(users)" = "[$1]" ]; }
le_wait_for 5 users_are "$want_users"
is "$(users)" "[$want_users]" "DescribeLiveStreamOnlineUserNum: $want_users viewers after the reconnect"
sleep 3
le_alive "$RP" && le_alive "$CP"
ok $? "both players still connected after the reconnect"
pl=$(curl -s --max-time 5 "$H/live/rc.m3u8" | tr -d '\r')
like "$pl" '#EXT-X-DISCONTINUITY' "HLS marks the publisher change with EXT-X-DISCONTINUITY"

if [ -n "$have_lg" ]; then
    le_wait_exit "$LG1" 40; le_wait_exit "$LG2" 40
    t_lg=$(le_now_ms)
    for p in rtmp flv; do
        j=$(cat "$LE_DIR/lg-$p.json")
        like "$j" '"opened":25,"started":25,.*"closed":0,' "loadgen: 25 $p players opened, all stay connected" ||
            diag "$(cat "$LE_DIR/lg-$p.err" | tail -5)"
        # The gap is one stall per player; a player that got nothing after
        # the reconnect would still be stalled when the window closed.
        worst=$(awk -F'\t' 'NR > 1 { if ($6 + 0 > m) m = $6 + 0 } END { print m + 0 }' "$LE_DIR/lg-$p.tsv")
        cmp_ok "$worst" -lt $(( t_lg - t_kill - 2000 )) \
            "loadgen $p: every player's longest stall ended 2 s before the window (${worst} ms)"
    done
else
    skip 4 "bench/loadgen not built"
fi

# ---- 2. a publisher that unpublishes (ffmpeg ends its -t) ends its players at once ------
PUB_RC=$PUB
LE_PUB_SECS=5 le_publish rc1 -g 30
pub1=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 20
ok $? "a 5 s publish of live/rc1" || diag "$(cat "$LE_PUB_LOG")"
players rc1 u
mark=$(le_log_lines)
le_wait_exit "$pub1" 30
ok $? "its ffmpeg ends the publish (FCUnpublish, deleteStream)"
t_unpub=$(le_now_ms)
le_wait_exit "$RP" 8 && le_wait_exit "$CP" 8
ok $? "both players end despite the 8 s grace ($(( $(le_now_ms) - t_unpub )) ms)"
le_wait_log 'live/rc1: client unpublished' 2 "$mark" >/dev/null
ok $? "the log shows the client's unpublish"
unlike "$(tail -n +"$((mark + 1))" "$LE_LOG" | grep 'live/rc1')" 'players wait' "no grace for an unpublish"
cmp_ok "$(flvcheck "$LE_DIR/u-http.flv" | sed -n 's/.* frames=\([0-9]*\).*/\1/p')" -ge 25 \
    "the HTTP-FLV player of live/rc1 got its frames before the end"

# ---- 2b. the new publish has no video: the players cannot follow and end cleanly ----------
publish rcx "publish of live/rcx (video and audio)"
pub_x=$PUB
players rcx x
le_wait_for 15 le_size_gt "$LE_DIR/x-http.flv" 20000
ok $? "players of live/rcx receive it"
kill -KILL "$pub_x"
wait "$pub_x" 2>/dev/null
mark=$(le_log_lines)
LE_PUB_SECS=30 le_publish_audio rcx
pub_x=$LE_PUB_PID
le_wait_publishing "$LE_PUB_PROGRESS" 20
ok $? "an audio-only publish of live/rcx within the grace" || diag "$(cat "$LE_PUB_LOG")"
rp_rc=timeout; cp_rc=timeout
le_wait_exit "$RP" 15 && rp_rc=$LE_EXIT_RC
le_wait_exit "$CP" 15 && cp_rc=$LE_EXIT_RC
is "$rp_rc/$cp_rc" 0/0 "both players end cleanly (ffmpeg and curl exit 0: end of stream, complete body)"
le_wait_log 'live/rcx: new publish has other tracks' 2 "$mark" >/dev/null
ok $? "the log names the track change"
like "$(flvcheck "$LE_DIR/x-http.flv")" '^vseq=1 aseq=1 .* back=0$' \
    "the HTTP-FLV player got nothing of the audio-only publish"
le_kill "$pub_x"

# ---- 3. the publisher goes for good: players end when a 2 s grace runs out ------------
PUB=$PUB_RC
RP=$RPA; CP=$CPA
reload_grace 2s
mark=$(le_log_lines)
kill -KILL "$PUB"
t_kill2=$(le_now_ms)
wait "$PUB" 2>/dev/null
rp_rc=timeout
le_wait_exit "$RP" 15 && rp_rc=$LE_EXIT_RC
le_wait_exit "$CP" 15
ok $? "both players end after the grace"
t_end=$(le_now_ms)
cmp_ok $(( t_end - t_kill2 )) -ge 1500 "not before the grace ran out ($(( t_end - t_kill2 )) ms)"
le_wait_log 'live/rc: no publisher within publish_reconnect_grace' 2 "$mark" >/dev/null
ok $? "the log shows the grace ran out"
is "$rp_rc" 0 "the ffmpeg RTMP player exits 0 (end of stream)" || diag "$(tail -5 "$LE_DIR/a-rtmp.log")"

# What the players recorded: both publishes, one timeline.
r=$(flvcheck "$LE_DIR/a-http.flv")
like "$r" '^vseq=2 aseq=2 ' "HTTP-FLV body: the new publish's AVC and AAC headers came again ($r)"
like "$r" ' back=0$' "HTTP-FLV body: audio/video timestamps never go back"
after=$(sed -n 's/.* after=\([0-9]*\).*/\1/p' <<<"$r")
cmp_ok "${after:-0}" -ge 50 "HTTP-FLV body: 50+ video frames after the new headers"
read -r hn hback hspan <<<"$(probe_v "$LE_DIR/a-http.flv")"
read -r rn rback rspan <<<"$(probe_v "$LE_DIR/a-rtmp.flv")"
# The first publish can account for the play time before the kill plus the
# 1.2 s GOP cache; anything past that came from the second.
p1=$(( t_kill - t_play + 1200 ))
cmp_ok "${hn:-0}" -ge $(( (p1 / 40) + 50 )) "ffprobe decodes the HTTP-FLV capture: $hn frames"
is "${hback:-x}" 0 "ffprobe: HTTP-FLV video pts monotonic"
cmp_ok "${rn:-0}" -ge $(( (p1 / 40) + 50 )) "ffprobe decodes the RTMP capture: $rn frames"
is "${rback:-x}" 0 "ffprobe: RTMP video pts monotonic"
cmp_ok "${rspan:-0}" -ge $(( p1 + 2000 )) "RTMP capture spans both publishes (${rspan} ms of pts)"

# ---- 4. grace 0: players end at once when the publisher drops ----------------------------
reload_grace 0
publish rc0 "publish of live/rc0"
players rc0 z
le_wait_for 15 le_size_gt "$LE_DIR/z-http.flv" 20000
ok $? "players of live/rc0 receive it"
mark=$(le_log_lines)
kill -KILL "$PUB"
wait "$PUB" 2>/dev/null
le_wait_exit "$CP" 10 && le_wait_exit "$RP" 10
ok $? "with grace 0 both players end at the unpublish"
le_wait_log 'flv: .*publisher left, finishing' 2 "$mark" >/dev/null
ok $? "the HTTP-FLV player was finished by the unpublish"
unlike "$(tail -n +"$((mark + 1))" "$LE_LOG")" 'players wait' "no grace started"

# ---- callbacks: one publish and one publish_done per publish --------------------------
le_wait_for 10 cb_is rc "publish publish_done publish publish_done"
ok $? "live/rc: publish, publish_done, publish, publish_done" || diag "got: $(cb_actions rc)"
le_wait_for 10 cb_is rc0 "publish publish_done"
ok $? "live/rc0: publish, publish_done" || diag "got: $(cb_actions rc0)"
is "$(cb_actions rc1)" "publish publish_done" "live/rc1: publish, publish_done"
sleep 1
is "$(cb_actions rc)" "publish publish_done publish publish_done" "live/rc: no extra callback later"

le_stop
done_testing
