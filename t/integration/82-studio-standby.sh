#!/bin/sh
# 82-studio-standby: the standby video and channels (docs/STUDIO.md,
# "Standby" and "Channels").
#  - standby: a caster showing one publisher (red); EffectCasterUrgent's
#    errors (PVW, no UrgentMaterialId, a missing file); with
#    UrgentMaterialId set PGM stays red while the source lives
#    (caster_urgent_after 2s is on); EffectCasterUrgent turns PGM to the
#    standby file (green); a take leaves it; the publisher killed, automatic
#    standby turns PGM green again, not before caster_urgent_after;
#  - channels: ChannelEnable on a stopped caster (refused on a running one,
#    never turned off); SetCasterChannel's errors; a file (its frame number
#    drawn as 8 black/white blocks) on channel RV01 of a layout; SeekOffset
#    moves it (twice to the same offset: two seeks), PlayStatus 0 holds its
#    frame, 1 plays on; PVW and PGM show the same file frame at the same
#    timestamp (one decoder per channel).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/studio.sh
. "$(dirname "$0")/studio.sh"

# The standby video: green, 660 Hz, 4 s (looped by the node).
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "color=c=green:s=640x360:r=25:d=4" \
    -f lavfi -i "sine=frequency=660:sample_rate=44100:d=4" -c:v libx264 -preset ultrafast -g 25 -pix_fmt yuv420p \
    -c:a aac -b:a 64k -shortest "$MAT/standby.mp4" || le_abort "cannot make the standby file"
# The channel's file: 10 s, red for 4 s then blue; frame n drawn as 8 blocks
# of 40x40 at x = 48k + 4 on a black bar (white: bit k of n is 1).
boxes="drawbox=x=0:y=0:w=384:h=40:c=black:t=fill"
for k in 0 1 2 3 4 5 6 7; do
    boxes="$boxes,drawbox=x=$((48 * k + 4)):y=0:w=40:h=40:c=white:t=fill:enable='mod(floor(n/$((1 << k))),2)'"
done
ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "color=c=red:s=640x360:r=25:d=4[a];color=c=blue:s=640x360:r=25:d=6[b];\
[a][b]concat=n=2:v=1:a=0,$boxes[out0]" \
    -f lavfi -i "sine=frequency=440:sample_rate=44100:d=10" -c:v libx264 -preset ultrafast -g 25 -pix_fmt yuv420p \
    -c:a aac -b:a 64k -t 10 "$MAT/clip.mp4" || le_abort "cannot make the channel's file"

LE_EXTRA_CONF="caster_material_dir $MAT;
caster_fps 25;
caster_source_timeout 1s;
caster_urgent_after 2s;"
start_node A || le_abort "livedge did not start"
A=http://127.0.0.1:$LE_ADMIN_PORT
RTMP="rtmp://127.0.0.1:$LE_RTMP_PORT/caster"
TC='TranscodeConfig={"CasterTemplate":"lp_ld"}'

pub_colour PUB cam red 440

# frame reader URL OUT: per frame "pts_ms n bg wall_ms": the file frame
# number read from the blocks, the background's luma (red about 81, blue
# about 41), the wall time it arrived.
cat >"$LE_DIR/frames.py" <<'PY'
import queue, re, subprocess, sys, threading, time
url, out = sys.argv[1], sys.argv[2]
f = open(out, "w")
p = subprocess.Popen(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "info", "-threads", "1", "-copyts",
                      "-fflags", "nobuffer", "-i", url, "-an",
                      "-vf", "crop=432:40:0:0,scale=9:1:flags=area,format=gray,showinfo",
                      "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "-flush_packets", "1", "-"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
q = queue.Queue()
def errs():
    for line in p.stderr:
        m = re.search(rb"pts_time:(\S+)", line)
        if m and b"Parsed_showinfo" in line:
            q.put(round(float(m.group(1)) * 1000))
threading.Thread(target=errs, daemon=True).start()
while True:
    b = p.stdout.read(9)
    if len(b) < 9:
        break
    try:
        pts = q.get(timeout=5)
    except queue.Empty:
        break
    n = sum(1 << k for k in range(8) if b[k] > 110)
    f.write("%d %d %d %d\n" % (pts, n, b[8], time.time() * 1000))
    f.flush()
PY
reader() { colour_reader 150 "$@"; }
frames() { timeout -k 3 "$1" "$LE_PY" "$LE_DIR/frames.py" "$2" "$3"; }
# first FILE COLOUR FROM_MS: wall time of the first frame of COLOUR at or after FROM_MS, "none".
first() {
    awk -v c="$2" -v t="$3" '$1 >= t && ((c == "red" && $2 > 160 && $3 < 90 && $4 < 90) ||
        (c == "green" && $3 > 90 && $2 < 90 && $4 < 90)) { print $1; f = 1; exit } END { if (!f) print "none" }' "$1"
}
# first_wait SECS COLOUR FROM_MS: first's answer for standby.txt once such a
# frame is there (SECS at most).
seen() { [ "$(first "$LE_DIR/standby.txt" "$1" "$2")" != none ]; }
first_wait() {
    le_wait_for "$1" seen "$2" "$3"
    first "$LE_DIR/standby.txt" "$2" "$3"
}
# count FILE COLOUR FROM_MS TO_MS: "frames-of-COLOUR frames" with wall time in [FROM, TO).
count() {
    awk -v c="$2" -v a="$3" -v b="$4" '$1 >= a && $1 < b { n++; if ((c == "red" && $2 > 160 && $3 < 90 && $4 < 90) ||
        (c == "green" && $3 > 90 && $2 < 90 && $4 < 90)) k++ } END { print k + 0, n + 0 }' "$1"
}

# ==== standby ========================================================================
api CreateCaster ClientToken=studio-82s NormType=1 ChargeType=PostPaid CasterTemplate=lp_ld
ok $? "CreateCaster (standby)" || diag "$API_BODY"
S=$(j "$API_BODY" 'd["CasterId"]')
api SetCasterConfig CasterId="$S" DomainName="$LE_DOMAIN" "$TC"
ok $? "SetCasterConfig: no UrgentMaterialId yet" || diag "$API_BODY"
api AddCasterVideoResource CasterId="$S" LocationId=RV01 ResourceName=cam LiveStreamUrl="$(le_url cam)"
ok $? "RV01: the red publisher" || diag "$API_BODY"
RSCAM=$(j "$API_BODY" 'd["ResourceId"]')
api AddCasterLayout CasterId="$S" VideoLayer.1.HeightNormalized=1 VideoLayer.1.WidthNormalized=1 \
    AudioLayer.1.VolumeRate=1 BlendList.1=RV01 MixList.1=RV01
ok $? "AddCasterLayout: RV01 full frame" || diag "$API_BODY"
LS=$(j "$API_BODY" 'd["LayoutId"]')
le_wait_for 20 live cam
api StartCaster CasterId="$S"
ok $? "StartCaster" || diag "$API_BODY"
scenes S
api SetCasterSceneConfig CasterId="$S" SceneId="$SPGM" LayoutId="$LS"
ok $? "PGM: the layout" || diag "$API_BODY"
le_bg RS reader "$RTMP/$SPGM_S" "$LE_DIR/standby.txt"

api EffectCasterUrgent CasterId="$S" SceneId="$SPGM"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "404 UrgentMaterialNotFound" \
    "EffectCasterUrgent without UrgentMaterialId: 404 UrgentMaterialNotFound"
api SetCasterConfig CasterId="$S" DomainName="$LE_DOMAIN" "$TC" UrgentMaterialId=gone.mp4
api EffectCasterUrgent CasterId="$S" SceneId="$SPGM"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "404 UrgentMaterialNotFound" "... nor with a file that is not there"
api SetCasterConfig CasterId="$S" DomainName="$LE_DOMAIN" "$TC" UrgentMaterialId=standby.mp4
ok $? "SetCasterConfig: UrgentMaterialId standby.mp4 (automatic standby armed)" || diag "$API_BODY"
W_ARM=$(le_now_ms)
api EffectCasterUrgent CasterId="$S" SceneId="$SPVW"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 InvalidParameter.Malformed" "EffectCasterUrgent on the PVW: 400"
api EffectCasterUrgent CasterId="$S"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 InvalidSceneId.Malformed" "... without SceneId: 400"
api SetCasterConfig CasterId="$S" DomainName="$LE_DOMAIN" "$TC" UrgentMaterialId=standby.mp4 ChannelEnable=1
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 IncorrectCasterStatus.Inuse" \
    "ChannelEnable on a running caster: 400 IncorrectCasterStatus.Inuse"

le_wait_for 30 sh -c "[ -s '$LE_DIR/standby.txt' ]"
sleep 5
W1=$(le_now_ms)
read -r k n <<<"$(count "$LE_DIR/standby.txt" red $((W_ARM + 2500)) "$W1")"
ok "$([ "${n:-0}" -gt 20 ] && [ "$k" = "$n" ]; echo $?)" \
    "with the source alive PGM stays red past caster_urgent_after ($k of $n frames red)"
api EffectCasterUrgent CasterId="$S" SceneId="$SPGM"
ok $? "EffectCasterUrgent on the PGM" || diag "$API_BODY"
api DescribeCasterScenes CasterId="$S" SceneId="$SPGM"
G1=$(first_wait 15 green "$W1")
ok "$([ "$G1" != none ] && [ $((G1 - W1)) -le 5000 ]; echo $?)" \
    "PGM shows the standby file (green) $((${G1/none/0} - W1)) ms after EffectCasterUrgent"
sleep 2
W2=$(le_now_ms)
api SetCasterSceneConfig CasterId="$S" SceneId="$SPGM" LayoutId="$LS"
ok $? "a take (SetCasterSceneConfig on PGM)" || diag "$API_BODY"
R2=$(first_wait 15 red "$W2")
ok "$([ "$R2" != none ] && [ $((R2 - W2)) -le 5000 ]; echo $?)" \
    "... leaves the standby video: PGM red again $((${R2/none/0} - W2)) ms after it"
sleep 3
W3=$(le_now_ms)
read -r k n <<<"$(count "$LE_DIR/standby.txt" red $((R2 + 500)) "$W3")"
ok "$([ "${n:-0}" -gt 20 ] && [ "$k" = "$n" ]; echo $?)" "... and stays red ($k of $n frames)"
le_kill "$PUB"
W3=$(le_now_ms)
G3=$(first_wait 20 green "$W3")
d=$((${G3/none/0} - W3))
# caster_urgent_after 2s from the last picture; the 1 s check and the re-read add up to ~1.5 s.
ok "$([ "$G3" != none ] && [ "$d" -ge 1500 ] && [ "$d" -le 8000 ]; echo $?)" \
    "the only PGM source killed: automatic standby, PGM green $d ms later (caster_urgent_after 2s)"
le_wait_log "PGM switches to the standby video" 10 >/dev/null && pass=0 || pass=1
ok $pass "... logged"
# EffectCasterVideoResource on PGM is a take too: the dead source's black, not the standby file;
# the source still dead, automatic standby comes back caster_urgent_after later.
sleep 1
W4=$(le_now_ms)
api EffectCasterVideoResource CasterId="$S" SceneId="$SPGM" ResourceId="$RSCAM"
ok $? "EffectCasterVideoResource on PGM (the dead source)" || diag "$API_BODY"
sleep 6
# (at least 5 frames in the 0.9 s: a loaded machine renders fewer, the colour is the check)
read -r k n <<<"$(count "$LE_DIR/standby.txt" green $((W4 + 1000)) $((W4 + 1900)))"
ok "$([ "${n:-0}" -ge 5 ] && [ "$k" = 0 ]; echo $?)" "... leaves the standby video ($k of $n frames green)"
G4=$(first "$LE_DIR/standby.txt" green $((W4 + 1900)))
ok "$([ "$G4" != none ]; echo $?)" "... and automatic standby comes back $((${G4/none/0} - W4)) ms after it"
le_kill "$RS"
api StopCaster CasterId="$S"
ok $? "StopCaster (standby)" || diag "$API_BODY"

# ==== channels ========================================================================
api CreateCaster ClientToken=studio-82c NormType=1 ChargeType=PostPaid CasterTemplate=lp_ld
ok $? "CreateCaster (channels)" || diag "$API_BODY"
C=$(j "$API_BODY" 'd["CasterId"]')
api SetCasterChannel CasterId="$C" ChannelId=RV01 ResourceId=x
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 IncorrectChannel.Disable" \
    "SetCasterChannel before ChannelEnable: 400 IncorrectChannel.Disable"
api SetCasterConfig CasterId="$C" DomainName="$LE_DOMAIN" "$TC" ChannelEnable=1
ok $? "SetCasterConfig: ChannelEnable 1 on the stopped caster" || diag "$API_BODY"
api SetCasterConfig CasterId="$C" DomainName="$LE_DOMAIN" "$TC"
ok $? "SetCasterConfig without ChannelEnable" || diag "$API_BODY"
api DescribeCasterConfig CasterId="$C"
is "$(j "$API_BODY" 'd["ChannelEnable"]')" 1 "... keeps it on"
api SetCasterConfig CasterId="$C" DomainName="$LE_DOMAIN" "$TC" ChannelEnable=0
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 InvalidParameter.Malformed" "ChannelEnable 0 once on: 400"
# The file at LocationId RV03, a live resource at RV02.
api AddCasterVideoResource CasterId="$C" LocationId=RV03 ResourceName=clip MaterialId=clip.mp4 RepeatNum=-1
ok $? "AddCasterVideoResource: clip.mp4 at RV03, looped" || diag "$API_BODY"
RCLIP=$(j "$API_BODY" 'd["ResourceId"]')
api AddCasterVideoResource CasterId="$C" LocationId=RV02 ResourceName=cam LiveStreamUrl="$(le_url cam)"
RCAM=$(j "$API_BODY" 'd["ResourceId"]')
api AddCasterLayout CasterId="$C" VideoLayer.1.HeightNormalized=1 VideoLayer.1.WidthNormalized=1 \
    AudioLayer.1.VolumeRate=1 BlendList.1=RV01 MixList.1=RV01
is "$API_CODE" 404 "a layout naming channel RV01 before it is set: 404"
api SetCasterChannel CasterId="$C" ChannelId=RV01 ResourceId="$RCLIP"
ok $? "SetCasterChannel: the file on channel RV01" || diag "$API_BODY"
api SetCasterChannel CasterId="$C" ChannelId=RV04 ResourceId="$RCLIP"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 ResourceOfChannelExist" \
    "... on a second channel: 400 ResourceOfChannelExist"
api SetCasterChannel CasterId="$C" ChannelId=RV13 ResourceId="$RCAM"
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 InvalidChannelId.Malformed" "ChannelId RV13: 400"
api SetCasterChannel CasterId="$C" ChannelId=RV02 ResourceId=00000000-0000-4000-8000-000000000000
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "404 InvalidResource.NotFound" "an unknown resource: 404"
api SetCasterChannel CasterId="$C" ChannelId=RV02 ResourceId="$RCAM" SeekOffset=1000
is "$API_CODE $(j "$API_BODY" 'd["Code"]')" "400 InvalidParameter.Malformed" "SeekOffset for a live resource: 400"
api SetCasterChannel CasterId="$C" ChannelId=RV01 ResourceId="$RCLIP" PlayStatus=2
is "$API_CODE" 400 "PlayStatus 2: 400"
api DescribeCasterChannels CasterId="$C"
CH='[(c["ChannelId"], c["ResourceId"] == "'"$RCLIP"'", c["StreamUrl"]) for c in d["Channels"]] + [d["Total"]]'
is "$(j "$API_BODY" "$CH")" \
    '[["RV01", true, ""], 1]' "DescribeCasterChannels: RV01 holds the file" || diag "$API_BODY"
api AddCasterLayout CasterId="$C" VideoLayer.1.HeightNormalized=1 VideoLayer.1.WidthNormalized=1 \
    AudioLayer.1.VolumeRate=1 BlendList.1=RV01 MixList.1=RV01
ok $? "AddCasterLayout: channel RV01 full frame" || diag "$API_BODY"
LC=$(j "$API_BODY" 'd["LayoutId"]')
api StartCaster CasterId="$C"
ok $? "StartCaster (channels)" || diag "$API_BODY"
scenes
api SetCasterSceneConfig CasterId="$C" SceneId="$PVW" LayoutId="$LC"
api StartCasterScene CasterId="$C" SceneId="$PVW"
api SetCasterSceneConfig CasterId="$C" SceneId="$PGM" LayoutId="$LC"
ok $? "PVW and PGM show channel RV01" || diag "$API_BODY"

# PVW and PGM read at the same time: the same file frame at every common timestamp.
le_bg FPVW frames 25 "$RTMP/$PVW_S" "$LE_DIR/pvw.txt"
le_bg FPGM frames 120 "$RTMP/$PGM_S" "$LE_DIR/pgm.txt"
wait "$FPVW"
cat >"$LE_DIR/same.py" <<'PY'
import sys
def rd(f):
    d = {}
    for line in open(f):
        p = line.split()
        if len(p) == 4:
            d[int(p[0])] = int(p[1])
    return d
a, b = rd(sys.argv[1]), rd(sys.argv[2])
common = sorted(set(a) & set(b))
same = sum(1 for t in common if a[t] == b[t])
moving = len({a[t] for t in common})
print(same, len(common), moving)
PY
read -r same common moving <<<"$("$LE_PY" "$LE_DIR/same.py" "$LE_DIR/pvw.txt" "$LE_DIR/pgm.txt")"
ok "$([ "${common:-0}" -ge 100 ] && [ "${moving:-0}" -ge 50 ] && [ "$same" = "$common" ]; echo $?)" \
    "PVW and PGM show the same file frame at each of $common common timestamps ($same equal, $moving distinct frames)"

# seek_check FROM_MS TARGET: a jump to TARGET..TARGET+40 within 3 s (wall) of FROM_MS: "ok", else what was seen.
cat >"$LE_DIR/seek.py" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 4]
t0, target = int(sys.argv[2]), int(sys.argv[3])
prev = None
for pts, n, bg, wall in rows:
    if wall >= t0 and wall < t0 + 3000 and prev is not None and target <= n <= target + 40 \
            and not (target - 5 <= prev <= target + 40):
        print("ok %d->%d after %d ms" % (prev, n, wall - t0)); sys.exit(0)
    if wall >= t0 + 3000:
        break
    prev = n
print("none: " + " ".join(str(n) for pts, n, bg, wall in rows if t0 - 500 <= wall < t0 + 3000))
PY
last_n() { tail -n 1 "$LE_DIR/pgm.txt" | awk '{ print $2 }'; }
n0=$(last_n)
T=200
[ "${n0:-0}" -ge 110 ] && T=25
W=$(le_now_ms)
api SetCasterChannel CasterId="$C" ChannelId=RV01 ResourceId="$RCLIP" SeekOffset=$((T * 40))
ok $? "SetCasterChannel SeekOffset $((T * 40)) (the file was at frame $n0)" || diag "$API_BODY"
sleep 3.5
r=$("$LE_PY" "$LE_DIR/seek.py" "$LE_DIR/pgm.txt" "$W" "$T")
like "$r" '^ok' "... PGM jumps to frame $T: $r"
sleep 1
W=$(le_now_ms)
api SetCasterChannel CasterId="$C" ChannelId=RV01 ResourceId="$RCLIP" SeekOffset=$((T * 40))
ok $? "the same SeekOffset again" || diag "$API_BODY"
sleep 3.5
r=$("$LE_PY" "$LE_DIR/seek.py" "$LE_DIR/pgm.txt" "$W" "$T")
like "$r" '^ok' "... seeks again: $r"
api SetCasterChannel CasterId="$C" ChannelId=RV01 ResourceId="$RCLIP" PlayStatus=0
ok $? "PlayStatus 0" || diag "$API_BODY"
W=$(le_now_ms)
sleep 4
held=$(awk -v a=$((W + 1500)) -v b=$((W + 4000)) '$4 >= a && $4 < b { print $2 }' "$LE_DIR/pgm.txt" | sort -u | wc -l)
nh=$(awk -v a=$((W + 1500)) -v b=$((W + 4000)) '$4 >= a && $4 < b' "$LE_DIR/pgm.txt" | wc -l)
ok "$([ "$nh" -ge 20 ] && [ "$held" = 1 ]; echo $?)" "... PGM holds one frame ($held distinct in $nh frames)"
P=$(tail -n 1 "$LE_DIR/pgm.txt" | awk '{ print $2 }')
api SetCasterChannel CasterId="$C" ChannelId=RV01 ResourceId="$RCLIP" PlayStatus=1
ok $? "PlayStatus 1" || diag "$API_BODY"
W=$(le_now_ms)
sleep 3
moved=$(awk -v a=$((W + 1500)) -v p="${P:-0}" '$4 >= a { n = $2 } END { d = n - p; if (d < 0) d += 250; print d + 0 }' \
    "$LE_DIR/pgm.txt")
ok "$([ "${moved:-0}" -ge 10 ] && [ "$moved" -le 100 ]; echo $?)" \
    "... plays on from the held frame $P ($moved frames on)"
le_kill "$FPGM"
api StopCaster CasterId="$C"
ok $? "StopCaster (channels)" || diag "$API_BODY"
le_stop
done_testing
