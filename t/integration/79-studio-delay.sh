#!/bin/sh
# 79-studio-delay: SetCasterConfig Delay, the broadcast delay of PGM's
# outputs (docs/STUDIO.md, "Running a caster"). One publisher turns from red
# to blue; a caster with Delay 5 shows it in PVW and PGM. Three readers, of
# the source itself, of PVW and of PGM, note the wall time each frame
# arrives: PGM shows the change 5 s (+-0.5) after the source, PVW at once
# (the stream timestamps are the same: the delay is in wall time only).
# Then the PGM scene's layout delays RV01 by FixedDelayDuration 1500 ms: the
# slot's picture (PVW's too) lags as much.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
: "${LE_SCRIPT_TIMEOUT:=180}"
# shellcheck source=t/integration/studio.sh
. "$(dirname "$0")/studio.sh"

LE_EXTRA_CONF="caster_fps 25;"
start_node A || le_abort "livedge did not start"
A=http://127.0.0.1:$LE_ADMIN_PORT

# pubswitch NAME SECONDS: red for SECONDS, then blue; a 440 Hz sine.
pubswitch() {
    local var=$1 name=$2 sec=$3
    le_bg "$var" ffmpeg -hide_banner -nostdin -loglevel warning -re \
        -f lavfi -i "color=c=red:s=320x180:r=25:d=$sec[a];color=c=blue:s=320x180:r=25:d=200[b];[a][b]concat=n=2:v=1:a=0[out0]" \
        -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 200 -c:v libx264 -preset ultrafast -tune zerolatency \
        -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k -ac 1 -f flv "$(le_url "$name")" >"$LE_DIR/pub-$name.log" 2>&1
}
# The readers: per frame "wall_ms r g b" of the picture's centre.
reader() { colour_reader 90 "$@"; }
# first_blue FILE: the wall time of its first blue frame after a red one,
# "none" if none (a reader that starts on blue, e.g. PGM playing out what
# the delay queue held from before, waits for the red first).
first_blue() {
    awk '$2 > 160 && $3 < 90 && $4 < 90 { r = 1 } r && $4 > 160 && $2 < 90 && $3 < 90 { print $1; f = 1; exit }
         END { if (!f) print "none" }' "$1"
}
# first_red FILE: the wall time of its first red frame.
first_red() { awk '$2 > 160 && $3 < 90 && $4 < 90 { print $1; f = 1; exit } END { if (!f) print "none" }' "$1"; }

RTMP="rtmp://127.0.0.1:$LE_RTMP_PORT/caster"

# ---- Delay 5 ------------------------------------------------------------------------
# Red for 14 s: the change comes once all three readers play (PGM goes live
# 5 s after StartCaster).
pubswitch PUB cam 14
api CreateCaster ClientToken=studio-79 NormType=1 ChargeType=PostPaid CasterTemplate=lp_ld
ok $? "CreateCaster" || diag "$API_BODY"
C=$(j "$API_BODY" 'd["CasterId"]')
api SetCasterConfig CasterId="$C" DomainName="$LE_DOMAIN" Delay=5 'TranscodeConfig={"CasterTemplate":"lp_ld"}'
ok $? "SetCasterConfig: Delay 5" || diag "$API_BODY"
api AddCasterVideoResource CasterId="$C" LocationId=RV01 ResourceName=cam LiveStreamUrl="$(le_url cam)"
ok $? "RV01: the publisher" || diag "$API_BODY"
api AddCasterLayout CasterId="$C" VideoLayer.1.HeightNormalized=1 VideoLayer.1.WidthNormalized=1 \
    AudioLayer.1.VolumeRate=1 BlendList.1=RV01 MixList.1=RV01
ok $? "AddCasterLayout: RV01 full frame" || diag "$API_BODY"
L1=$(j "$API_BODY" 'd["LayoutId"]')
le_wait_for 20 live cam
le_bg RSRC reader "$(le_url cam)" "$LE_DIR/src1.txt"
api StartCaster CasterId="$C"
ok $? "StartCaster" || diag "$API_BODY"
scenes
api SetCasterSceneConfig CasterId="$C" SceneId="$PVW" LayoutId="$L1"
ok $? "PVW: the layout" || diag "$API_BODY"
api StartCasterScene CasterId="$C" SceneId="$PVW"
api SetCasterSceneConfig CasterId="$C" SceneId="$PGM" LayoutId="$L1"
ok $? "PGM: the layout" || diag "$API_BODY"
le_bg RPVW reader "$RTMP/$PVW_S" "$LE_DIR/pvw.txt"
le_bg RPGM reader "$RTMP/$PGM_S" "$LE_DIR/pgm.txt"
le_wait_for 30 sh -c "[ -s '$LE_DIR/src1.txt' ] && [ -s '$LE_DIR/pvw.txt' ] && [ -s '$LE_DIR/pgm.txt' ]"
ok "$([ "$(first_red "$LE_DIR/pgm.txt")" != none ]; echo $?)" \
    "PGM plays the red source (before the change)"
le_wait_for 60 sh -c "awk '\$2 > 160 && \$3 < 90 { r = 1 } r && \$4 > 160 && \$2 < 90' '$LE_DIR/pgm.txt' | grep -q ."
B_SRC=$(first_blue "$LE_DIR/src1.txt")
B_PVW=$(first_blue "$LE_DIR/pvw.txt")
B_PGM=$(first_blue "$LE_DIR/pgm.txt")
ok "$([ "$B_SRC" != none ] && [ "$B_PVW" != none ] && [ "$B_PGM" != none ] &&
    [ "$(first_red "$LE_DIR/src1.txt")" != none ] && [ "$(first_red "$LE_DIR/pvw.txt")" != none ]; echo $?)" \
    "the three readers saw the source turn from red to blue" || diag "source $B_SRC PVW $B_PVW PGM $B_PGM"
d=$((${B_PGM:-0} - ${B_SRC:-0}))
ok "$([ "$B_PGM" != none ] && [ "$B_SRC" != none ] && [ "$d" -ge 4500 ] && [ "$d" -le 5500 ]; echo $?)" \
    "Delay 5: PGM shows the change $d ms after a reader of the source (5000 +-500)"
d=$((${B_PVW:-0} - ${B_SRC:-0}))
ok "$([ "$B_PVW" != none ] && [ "$B_SRC" != none ] && [ "$d" -le 1500 ]; echo $?)" \
    "... PVW is not delayed: it shows the change $d ms after the source"
le_kill "$RSRC" "$RPVW" "$RPGM"

# ---- Delay 0 and FixedDelayDuration 1500 on PGM's layer -------------------------
le_kill "$PUB"
api SetCasterConfig CasterId="$C" Delay=0
ok $? "SetCasterConfig: Delay 0 (applies at once)" || diag "$API_BODY"
api AddCasterLayout CasterId="$C" VideoLayer.1.HeightNormalized=1 VideoLayer.1.WidthNormalized=1 \
    VideoLayer.1.FixedDelayDuration=1500 AudioLayer.1.VolumeRate=1 AudioLayer.1.FixedDelayDuration=1500 \
    BlendList.1=RV01 MixList.1=RV01
ok $? "AddCasterLayout: RV01 full frame, FixedDelayDuration 1500" || diag "$API_BODY"
L2=$(j "$API_BODY" 'd["LayoutId"]')
api SetCasterSceneConfig CasterId="$C" SceneId="$PGM" LayoutId="$L2"
ok $? "PGM: the delayed layout" || diag "$API_BODY"
# A reader of PGM and one of the source itself, both started before the
# publisher (the source's reader tries again until it plays), so that on a
# loaded machine neither can join after the change.
: > "$LE_DIR/src.txt"
: > "$LE_DIR/pgm2.txt"
le_bg RPGM reader "$RTMP/$PGM_S" "$LE_DIR/pgm2.txt"
le_bg RSRC reader "$(le_url cam)" "$LE_DIR/src.txt"
le_wait_for 30 sh -c "[ -s '$LE_DIR/pgm2.txt' ]"
pubswitch PUB cam 12
le_wait_for 60 sh -c "awk '\$2 > 160 && \$3 < 90 { r = 1 } r && \$4 > 160 && \$2 < 90' '$LE_DIR/pgm2.txt' | grep -q ."
B_SRC=$(first_blue "$LE_DIR/src.txt")
B_PGM=$(first_blue "$LE_DIR/pgm2.txt")
d=$((${B_PGM:-0} - ${B_SRC:-0}))
# The studio adds its own latency (decode, a tick, encode: a few hundred ms)
# on top of the 1500 ms.
ok "$([ "$B_PGM" != none ] && [ "$B_SRC" != none ] && [ "$d" -ge 1300 ] && [ "$d" -le 3500 ]; echo $?)" \
    "FixedDelayDuration 1500: PGM shows the source's change $d ms after a reader of the source"
le_kill "$RSRC" "$RPGM"
like "$(curl_m)" 'livedge_caster_delay_dropped_total 0' "/metrics: nothing dropped by the delay bounds"

api StopCaster CasterId="$C"
ok $? "StopCaster" || diag "$API_BODY"
le_kill "$PUB"
le_stop
done_testing
