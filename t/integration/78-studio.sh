#!/bin/sh
# 78-studio: a running caster end to end (docs/STUDIO.md, "Running a caster"):
#  - two publishers (red picture + 440 Hz, blue picture + 880 Hz) and one
#    PNG material with alpha; a caster with both as RV01/RV02, a
#    picture-in-picture layout, a text and an image component, PVW
#    configured and taken to PGM (CopyCasterSceneConfig);
#  - PGM decoded to raw frames: the main picture, the inset at its
#    normalized position and size, the image's opaque half and transparent
#    half, the text region;
#  - audio follows MixList/VolumeRate (Goertzel energy at 440 vs 880 Hz);
#  - a switch (SetCasterSceneConfig on PGM) shows in the picture within
#    200 ms of stream time after the answer; the stream's timestamps stay
#    steady (no gap, no jump) across it;
#  - the publisher PGM shows killed mid-test: PGM keeps its frame rate, the
#    picture turns black after caster_source_timeout;
#  - every output (PGM, PGM's LiveTemplate output, PVW) plays over RTMP,
#    HTTP-FLV and HLS;
#  - the lease: a second node sharing the Redis leaves the caster to the
#    first, takes it over when the first stops; StopCaster ends it and
#    its lease.
# The 200 ms check is in stream time: /metrics gives the caster's clock
# (livedge_caster_clock_ms, the outputs' timestamp base) just before the
# call, plus the wall time until the answer: the clock at the answer. The
# first PGM frame showing the new layout must carry a timestamp at most
# 200 ms after it. Wall-clock delays after the answer (encoding, a slow
# sanitizer build) do not enter.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/studio.sh
. "$(dirname "$0")/studio.sh"
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || le_skip_all "fonts-dejavu-core is not installed"

# 160x90 green, the left half opaque, the right half fully transparent.
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "color=c=green:s=160x90" -frames:v 1 \
    -vf "format=rgba,geq=r='0':g='255':b='0':a='if(lt(X,W/2),255,0)'" "$MAT/logo.png" ||
    le_abort "cannot make the PNG material"

LE_EXTRA_CONF="caster_material_dir $MAT;
caster_fps 25;
caster_source_timeout 1s;"
start_node A || le_abort "livedge did not start"
A=http://127.0.0.1:$LE_ADMIN_PORT
FPS=25

pub_colour PUB_RED red red 440
pub_colour PUB_BLUE blue blue 880

# ---- the caster -----------------------------------------------------------------
api CreateCaster ClientToken=studio-78 NormType=1 ChargeType=PostPaid CasterTemplate=lp_ld
ok $? "CreateCaster" || diag "$API_BODY"
C=$(j "$API_BODY" 'd["CasterId"]')
api SetCasterConfig CasterId="$C" DomainName="$LE_DOMAIN" \
    'TranscodeConfig={"CasterTemplate":"lp_ld","LiveTemplate":["lld"]}'
ok $? "SetCasterConfig: lp_ld, LiveTemplate lld" || diag "$API_BODY"
api AddCasterVideoResource CasterId="$C" LocationId=RV01 ResourceName=red LiveStreamUrl="$(le_url red)"
ok $? "RV01: the red publisher" || diag "$API_BODY"
api AddCasterVideoResource CasterId="$C" LocationId=RV02 ResourceName=blue LiveStreamUrl="$(le_url blue)"
ok $? "RV02: the blue publisher" || diag "$API_BODY"
# Red full frame, blue inset at (0.7, 0.05), a quarter of the height; RV01 at
# full volume, RV02 at a tenth.
api AddCasterLayout CasterId="$C" VideoLayer.1.HeightNormalized=1 VideoLayer.1.WidthNormalized=1 \
    VideoLayer.2.HeightNormalized=0.25 VideoLayer.2.WidthNormalized=0.25 \
    VideoLayer.2.PositionNormalized.1=0.7 VideoLayer.2.PositionNormalized.2=0.05 \
    AudioLayer.1.VolumeRate=1 AudioLayer.2.VolumeRate=0.1 BlendList.1=RV01 BlendList.2=RV02 MixList.1=RV01 MixList.2=RV02
ok $? "AddCasterLayout: picture in picture" || diag "$API_BODY"
PIP=$(j "$API_BODY" 'd["LayoutId"]')
api AddCasterLayout CasterId="$C" VideoLayer.1.HeightNormalized=1 VideoLayer.1.WidthNormalized=1 \
    AudioLayer.1.VolumeRate=1 BlendList.1=RV02 MixList.1=RV02
ok $? "AddCasterLayout: blue full frame" || diag "$API_BODY"
FULLB=$(j "$API_BODY" 'd["LayoutId"]')
api AddCasterComponent CasterId="$C" LocationId=RC01 ComponentType=text \
    'ComponentLayer={"HeightNormalized":0.15,"PositionNormalized":[0.05,0.7],"PositionRefer":"topLeft"}' \
    'TextLayerContent={"Text":"LIVE 78","Color":"0xffffff","FontName":"DejaVuSans","SizeNormalized":0.15}'
ok $? "AddCasterComponent: text" || diag "$API_BODY"
TXT=$(j "$API_BODY" 'd["ComponentId"]')
api AddCasterComponent CasterId="$C" LocationId=RC02 ComponentType=image \
    'ComponentLayer={"HeightNormalized":0.25,"PositionNormalized":[0.05,0.05],"PositionRefer":"topLeft"}' \
    'ImageLayerContent={"MaterialId":"logo.png"}'
ok $? "AddCasterComponent: image (logo.png)" || diag "$API_BODY"
IMG=$(j "$API_BODY" 'd["ComponentId"]')

le_wait_for 20 live red
le_wait_for 20 live blue
api StartCaster CasterId="$C"
ok $? "StartCaster" || diag "$API_BODY"
PVW=$(j "$API_BODY" 'd["PvwSceneInfos"]["SceneInfo"][0]["SceneId"]')
PGM=$(j "$API_BODY" 'd["PgmSceneInfos"]["SceneInfo"][0]["SceneId"]')
PGM_URL=$(j "$API_BODY" 'd["PgmSceneInfos"]["SceneInfo"][0]["StreamUrl"]')
PVW_URL=$(j "$API_BODY" 'd["PvwSceneInfos"]["SceneInfo"][0]["StreamUrl"]')
PGM_S=$(sname "$PGM_URL")
PVW_S=$(sname "$PVW_URL")
like "$PGM_S" '^[0-9a-f]{32}$' "PGM's stream is caster/{32 hex digits}" || diag "$API_BODY"
api SetCasterSceneConfig CasterId="$C" SceneId="$PVW" LayoutId="$PIP" ComponentId.1="$TXT" ComponentId.2="$IMG"
ok $? "SetCasterSceneConfig: PVW gets the PiP layout, the text and the image" || diag "$API_BODY"
api StartCasterScene CasterId="$C" SceneId="$PVW"
api CopyCasterSceneConfig CasterId="$C" FromSceneId="$PVW" ToSceneId="$PGM"
ok $? "CopyCasterSceneConfig: PVW to PGM" || diag "$API_BODY"

# clock_ms: the caster's clock now (ms), from /metrics.
clock_ms() { curl_m | sed -n "s/^livedge_caster_clock_ms{caster=\"$C\"} \([0-9]*\)$/\1/p"; }
le_wait_for 30 sh -c "curl -s --max-time 5 '$A/metrics' | grep -q '^livedge_casters_running 1'"
is "$(curl_m | sed -n 's/^livedge_casters_running //p')" 1 "/metrics: one caster runs"
RTMP="rtmp://127.0.0.1:$LE_RTMP_PORT/caster"
HTTP="http://127.0.0.1:$LE_HTTP_PORT/caster"

# ---- the picture ------------------------------------------------------------------
# grab URL FILE: one decoded frame (rgb24, 640x360) at least 3 s of stream time
# after the first frame read (past the GOP the node replays first).
grab() {
    timeout -k 3 40 ffmpeg -hide_banner -nostdin -loglevel error -y -i "$1" -an \
        -vf "select=gte(n\,75)" -frames:v 1 -f rawvideo -pix_fmt rgb24 "$2" 2>>"$LE_DIR/grab.log"
}
cat >"$LE_DIR/pix.py" <<'PY'
import sys
f, w, h = sys.argv[1], 640, 360
d = open(f, 'rb').read()
if len(d) != w * h * 3:
    print("ERR size %d" % len(d)); sys.exit(0)
def px(x, y):
    i = (y * w + x) * 3
    return d[i], d[i + 1], d[i + 2]
def col(x, y):
    r, g, b = px(x, y)
    if r > 160 and g < 90 and b < 90: return "red"
    if b > 160 and r < 90 and g < 90: return "blue"
    if g > 100 and r < 90 and b < 90: return "green"
    return "%d,%d,%d" % (r, g, b)
cmd = sys.argv[2]
if cmd == "at":
    print(" ".join(col(int(a), int(b)) for a, b in (p.split(",") for p in sys.argv[3:])))
elif cmd == "bright":   # pixels brighter than 200 on every channel in x0,y0,x1,y1
    x0, y0, x1, y1 = map(int, sys.argv[3].split(","))
    print(sum(1 for y in range(y0, y1) for x in range(x0, x1) if min(px(x, y)) > 200))
PY
pix() { "$LE_PY" "$LE_DIR/pix.py" "$@"; }
cat >"$LE_DIR/tone.py" <<'PY'
import math, struct, sys
d = open(sys.argv[1], 'rb').read()
n = len(d) // 2
s = struct.unpack('<%dh' % n, d[:n * 2])
def power(f, rate=8000):
    k = 2 * math.cos(2 * math.pi * f / rate)
    a = b = 0.0
    for x in s:
        a, b = x + k * a - b, a
    return (a * a + b * b - k * a * b) / max(n, 1) ** 2
p4, p8 = power(440), power(880)
print("%.6g %.6g" % (p4, p8))
PY
# tone URL OUT: "P440 P880" of 2 s of its audio, 3 s after the first packet
# read (past the GOP the node replays first), into OUT.
tone_to() {
    timeout -k 3 40 ffmpeg -hide_banner -nostdin -loglevel error -y -i "$1" -vn -ss 3 -t 2 -ac 1 -ar 8000 \
        -f s16le "$2.raw" 2>>"$LE_DIR/grab.log"
    "$LE_PY" "$LE_DIR/tone.py" "$2.raw" >"$2"
}
# The picture and the sound are read at the same time.
le_bg GRAB grab "$RTMP/$PGM_S" "$LE_DIR/pgm.rgb"
le_bg TONE tone_to "$RTMP/$PGM_S" "$LE_DIR/tone.txt"
wait "$GRAB"
# lp_ld 640x360. Inset: h = 0.25 * 360 = 90, w = 160 (16:9), at x = 448, y = 18.
# Image: h = 0.25 * 360 = 90 (160x90), at 32, 18: x 32-111 opaque green, 112-191 transparent.
# Text: 0.15 * 360 = 54 px DejaVuSans at 32, 252.
is "$(pix "$LE_DIR/pgm.rgb" at 320,200 600,300 528,63 452,22 604,104 440,63 528,116)" \
    "red red blue blue blue red red" "PGM: red main picture, blue inset at (0.7, 0.05), 160x90"
is "$(pix "$LE_DIR/pgm.rgb" at 40,30 100,100 150,60 185,100)" "green green red red" \
    "PGM: the image's opaque half is drawn, its transparent half shows the picture below"
n=$(pix "$LE_DIR/pgm.rgb" bright 32,252,400,320)
cmp_ok "${n:-0}" -gt 300 "PGM: the text region has white text pixels ($n)"
is "$(pix "$LE_DIR/pgm.rgb" bright 32,130,400,200)" 0 "... and the region above it has none"

# ---- the sound --------------------------------------------------------------------
wait "$TONE"
read -r P4 P8 <"$LE_DIR/tone.txt"
# VolumeRate 1 and 0.1: amplitudes 10:1, energies about 100:1 (30 to 1000
# allows for skipped ticks on a loaded machine; without the MixList's
# volumes it is about 1, without RV02 over 10^4).
ok "$("$LE_PY" -c "import sys; sys.exit(0 if $P8 > 0 and 30 < $P4 / $P8 < 1000 else 1)"; echo $?)" \
    "PGM audio follows the MixList and VolumeRate: 440 Hz (RV01 at 1) vs 880 Hz (RV02 at 0.1) energy $P4 / $P8"

# ---- the switch -------------------------------------------------------------------
# A monitor reads PGM from before the switch to the end: per frame its
# timestamp and the mean colour of an 8x8 block of the main picture.
pgm_monitor MON "$RTMP/$PGM_S" 200 200
sleep 2
# The caster's clock at the answer: read just before the call, plus the wall
# time from that read to the answer (the clock runs in real time). Both
# wall instants are taken after the event, so the estimate errs early: the
# measured delay can only come out longer than the true one.
dropped() { curl_m | sed -n 's/^livedge_caster_dropped_ticks_total //p'; }
D_B=$(dropped)
C_B=$(clock_ms)
W_B=$(le_now_ms)
api SetCasterSceneConfig CasterId="$C" SceneId="$PGM" LayoutId="$FULLB" ComponentId.1="$TXT"
rc=$?
W_A=$(le_now_ms)
ok $rc "SetCasterSceneConfig: PGM switches to RV02 full frame" || diag "$API_BODY"
like "$C_B" '^[0-9]+$' "... the caster's clock before the call: $C_B ms; the call took $((W_A - W_B)) ms"
T_ANS=$((${C_B:-0} + W_A - W_B))
tone_to "$RTMP/$PGM_S" "$LE_DIR/tone2.txt"
read -r Q4 Q8 <"$LE_DIR/tone2.txt"
ok "$("$LE_PY" -c "import sys; sys.exit(0 if $Q8 > 1000 * max($Q4, 1e-9) or ($Q8 > 0 and $Q4 == 0) else 1)"; echo $?)" \
    "... after the switch PGM sounds like RV02 only (880 Hz $Q8, 440 Hz $Q4)"

# ---- a source dies ----------------------------------------------------------------
le_kill "$PUB_BLUE"   # the source PGM shows full frame now
T_KILL=$(clock_ms)
sleep 4
T_END=$(clock_ms)
D_A=$(dropped)
D=$(( ${D_A:-0} - ${D_B:-0} ))
le_kill "$MON"
cat >"$LE_DIR/mon.py" <<'PY'
import sys
from monlog import frames
fr = [(p, u, v) for p, y, u, v in frames(sys.argv[1])]
cmd, a = sys.argv[2], [int(x) for x in sys.argv[3:]]
if cmd == "switch":   # first blue frame at or after the answer's clock (U high, V low)
    t = [p for p, u, v in fr if p >= a[0] - 1000 and u > 180 and v < 150]
    print(t[0] - a[0] if t else "none")
elif cmd == "steps":  # distinct timestamp steps between frames in [a0, a1)
    ts = sorted(p for p, u, v in fr if a[0] <= p < a[1])
    print(" ".join(sorted({str(y - x) for x, y in zip(ts, ts[1:])})) or "none")
elif cmd == "multiples":  # every step a multiple of a[2] ms
    ts = sorted(p for p, u, v in fr if a[0] <= p < a[1])
    print("yes" if ts and all((y - x) % a[2] == 0 and y > x for x, y in zip(ts, ts[1:])) else "no")
elif cmd == "count":  # frames with a timestamp in [a0, a0 + 3000)
    print(sum(1 for p, u, v in fr if a[0] <= p < a[0] + 3000))
elif cmd == "black":  # of the frames from a0 on: black ones (U, V near 128), all
    t = [(u, v) for p, u, v in fr if p >= a[0]]
    print(sum(1 for u, v in t if abs(u - 128) < 12 and abs(v - 128) < 12), len(t))
PY
mon() { "$LE_PY" "$LE_DIR/mon.py" "$LE_DIR/mon.log" "$@"; }
d=$(mon switch "$T_ANS")
ok "$([ "$d" != none ] && [ "$d" -le 200 ]; echo $?)" \
    "the switch shows in PGM $d ms of stream time after the answer (at most 200)" ||
    diag "$(grep -c pts_time "$LE_DIR/mon.log") frames read"
# A machine too slow for real time skips ticks (counted in /metrics, the
# documented rule): then the steps are whole ticks, never a jump back or a
# step that is no tick.
if [ "$D" -eq 0 ]; then
    is "$(mon steps $((T_ANS - 1500)) $((T_ANS + 1500)))" 40 "PGM's timestamps step 40 ms across the switch: no gap, no jump"
else
    is "$(mon multiples $((T_ANS - 1500)) $((T_ANS + 1500)) 40)" yes \
        "PGM's timestamps step whole ticks across the switch ($D ticks skipped by a loaded machine)"
fi
n=$(mon count $((T_KILL + 500)))
ok "$([ $(( ${n:-0} + D )) -ge 68 ] && [ "${n:-0}" -le 82 ]; echo $?)" \
    "PGM keeps 25 fps after RV02's publisher died: $n frames in 3 s of stream time (75 +- 10 %; $D ticks skipped)"
read -r nb nt <<<"$(mon black $((T_KILL + 2500)))"
ok "$([ "${nt:-0}" -gt 10 ] && [ "$nb" = "$nt" ]; echo $?)" \
    "... its picture is black after caster_source_timeout (1 s): $nb of $nt frames from 2.5 s on"

# ---- every output plays over RTMP, HTTP-FLV and HLS ------------------------------
probe_to() { probe "$1" >"$2"; }
# All nine at once (each waits for its own first frames or segments).
k=0
for s in "$PGM_S" "${PGM_S}_lld" "$PVW_S"; do
    for u in "$RTMP/$s" "$HTTP/$s.flv" "$HTTP/$s.m3u8"; do
        k=$((k + 1))
        le_bg PP probe_to "$u" "$LE_DIR/probe.$k"
        PROBES="${PROBES:-} $PP"
    done
done
for p in $PROBES; do wait "$p"; done
k=0
for s in "$PGM_S" "${PGM_S}_lld" "$PVW_S"; do
    for f in RTMP HTTP-FLV HLS; do
        k=$((k + 1))
        is "$(cat "$LE_DIR/probe.$k")" "640x360 audio" "caster/$s over $f: 640x360 with audio"
    done
done
m=$(curl_m)
like "$m" 'livedge_caster_frames_total [1-9]' "/metrics: frames counted"
# Every tick of the caster's clock is rendered or counted as dropped: the
# two counters together follow the clock (25 fps), at most the engine's lag
# (bounded at 500 ms, 3 s allowed on a loaded machine) behind it.
cl=$(sed -n "s/^livedge_caster_clock_ms{caster=\"$C\"} //p" <<<"$m")
tk=$(sed -n 's/^livedge_caster_ticks_total //p' <<<"$m")
dr=$(sed -n 's/^livedge_caster_dropped_ticks_total //p' <<<"$m")
d=none
[ -n "$cl" ] && [ -n "$tk" ] && [ -n "$dr" ] && d=$((tk + dr - cl * 25 / 1000))
ok "$([ "$d" != none ] && [ "$d" -ge -75 ] && [ "$d" -le 2 ]; echo $?)" \
    "/metrics: ticks rendered ($tk) + dropped ($dr) follow the clock's $((${cl:-0} * 25 / 1000)) ticks ($d; -75 to 2)"

# ---- the lease: one node runs it, another takes over ---------------------------
LEASE="letest$$:caster:lease:$C"
like "$(redis-cli -p "$LE_REDIS_PORT" GET "$LEASE")" "^le-test-$LE_BASE_NAME-a/" "the lease is node A's"
start_node B || le_abort "node B did not start"
B=http://127.0.0.1:$LE_ADMIN_PORT
sleep 4   # two scans of B
is "$(curl -s --max-time 5 "$B/metrics" | sed -n 's/^livedge_casters_running //p')" 0 \
    "node B, sharing the Redis, does not run the caster A holds"
use A
le_stop   # the node's stop gives the lease back
use B
le_wait_for 20 sh -c "curl -s --max-time 5 '$B/metrics' | grep -q '^livedge_casters_running 1'"
is "$(curl -s --max-time 5 "$B/metrics" | sed -n 's/^livedge_casters_running //p')" 1 \
    "node A stopped: node B takes the caster"
like "$(redis-cli -p "$LE_REDIS_PORT" GET "$LEASE")" "^le-test-$LE_BASE_NAME-b/" "... and holds its lease"
# For node B the URLs on A's port are remote: pulled into hidden streams.
ok "$(le_wait_log "RV01 pulls rtmp://127.0.0.1:$N_A_RTMP/live/red into $LE_DOMAIN/caster/${C}_RV01" 10 >/dev/null; echo $?)" \
    "... RV01 (on node A's port) is pulled into caster/{CasterId}_RV01 on node B"
RTMP="rtmp://127.0.0.1:$LE_RTMP_PORT/caster"
le_wait_for 20 sh -c "[ -n \"\$(timeout 8 ffprobe -v error -show_entries stream=codec_type -of csv=p=0 '$RTMP/$PGM_S' 2>/dev/null)\" ]"
is "$(probe "$RTMP/$PGM_S")" "640x360 audio" "... PGM plays from node B (its sources, on node A, are gone: black)"
A=$B

# ---- StopCaster -------------------------------------------------------------------
api StopCaster CasterId="$C"
ok $? "StopCaster" || diag "$API_BODY"
le_wait_for 15 sh -c "curl -s --max-time 5 '$A/metrics' | grep -q '^livedge_casters_running 0'"
is "$(curl_m | sed -n 's/^livedge_casters_running //p')" 0 "... the caster stops on the node"
is "$(probe "$RTMP/$PGM_S")" "" "... and PGM is no longer played"
is "$(redis-cli -p "$LE_REDIS_PORT" EXISTS "$LEASE")" 0 "... and its lease is gone"
le_kill "$PUB_RED"
le_stop
done_testing
