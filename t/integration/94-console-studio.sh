#!/bin/sh
# 94-console-studio: the console's studio page (docs/CONSOLE.md, "Studio") in
# Debian's Chromium, headless, driven by playwright-core
# (console-studio.js), signed in the loopback way (no admin keys):
#  - a caster with two publishers (RV01 red + 440 Hz, RV02 blue + 880 Hz), a
#    picture-in-picture layout, a text component, a standby file named but
#    not there yet, a programme of two episodes (ProgramEffect 0); started,
#    PVW running, PGM showing RV01;
#  - the multiviewer plays PVW, PGM, RV01 and RV02 over HTTP-FLV (mpegts.js)
#    at once; the browser's CPU with those four players is measured;
#  - a click on RV02 puts it on PVW; Take puts it on PGM: PGM's picture in
#    the page turns from red to blue, and PGM decoded by ffmpeg (showinfo
#    of an 8x8 block, as 78-studio reads it) goes red then blue;
#  - a layout click and an overlay toggle set PVW (the API's scene shows
#    them), taken to PGM;
#  - Stop asks once (dismissed: the caster runs on);
#  - the standby button without the file shows the API's Code and Message
#    (404 UrgentMaterialNotFound, the only answer >= 400), with it PGM turns
#    green (the page and ffmpeg's reader);
#  - the timeline shows the two episodes, the first on air;
#  - no console error (but the browser's line for that one 404), no failed
#    request. Screenshots in the test's directory.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/studio.sh
. "$(dirname "$0")/studio.sh"
# shellcheck source=t/integration/browser.sh
. "$(dirname "$0")/browser.sh"
le_browser_require || exit 0
WWW=$top_srcdir/www
[ -f "$WWW/js/pages/studio.js" ] || le_abort "no www/js/pages/studio.js under $top_srcdir"

# The standby video: green, 5 s; moved into place by the browser script
# when the page has shown the error of a missing file.
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "color=c=green:s=640x360:r=25" \
    -f lavfi -i "sine=frequency=660:sample_rate=44100" -t 5 -c:v libx264 -preset ultrafast -g 25 \
    -pix_fmt yuv420p -c:a aac -ac 1 "$LE_DIR/green.mp4" || le_abort "cannot make the standby file"

LE_EXTRA_CONF="caster_material_dir $MAT;
caster_fps 25;
caster_source_timeout 1s;
console_root $WWW;"
start_node A || le_abort "livedge did not start"
A=http://127.0.0.1:$LE_ADMIN_PORT

pub_colour PUB_RED red red 440
pub_colour PUB_BLUE blue blue 880

api CreateCaster ClientToken=console-94 CasterName=console-94 NormType=1 ChargeType=PostPaid CasterTemplate=lp_ld
ok $? "CreateCaster" || diag "$API_BODY"
C=$(j "$API_BODY" 'd["CasterId"]')
api SetCasterConfig CasterId="$C" DomainName="$LE_DOMAIN" UrgentMaterialId=green.mp4 \
    'TranscodeConfig={"CasterTemplate":"lp_ld","LiveTemplate":["lld"]}'
ok $? "SetCasterConfig: lp_ld, lld, UrgentMaterialId green.mp4 (not there yet)" || diag "$API_BODY"
api AddCasterVideoResource CasterId="$C" LocationId=RV01 ResourceName=red LiveStreamUrl="$(le_url red)"
R1=$(j "$API_BODY" 'd["ResourceId"]')
api AddCasterVideoResource CasterId="$C" LocationId=RV02 ResourceName=blue LiveStreamUrl="$(le_url blue)"
R2=$(j "$API_BODY" 'd["ResourceId"]')
like "$R1 $R2" '^[0-9a-f-]{36} [0-9a-f-]{36}$' "RV01 red and RV02 blue publishers" || diag "$API_BODY"
api AddCasterLayout CasterId="$C" VideoLayer.1.HeightNormalized=1 VideoLayer.1.WidthNormalized=1 \
    VideoLayer.2.HeightNormalized=0.25 VideoLayer.2.WidthNormalized=0.25 \
    VideoLayer.2.PositionNormalized.1=0.7 VideoLayer.2.PositionNormalized.2=0.05 \
    AudioLayer.1.VolumeRate=1 BlendList.1=RV01 BlendList.2=RV02 MixList.1=RV01
ok $? "AddCasterLayout: picture in picture" || diag "$API_BODY"
PIP=$(j "$API_BODY" 'd["LayoutId"]')
api AddCasterLayout CasterId="$C" VideoLayer.1.HeightNormalized=1 VideoLayer.1.WidthNormalized=1 \
    AudioLayer.1.VolumeRate=1 BlendList.1=RV02 MixList.1=RV02
ok $? "AddCasterLayout: RV02 full frame" || diag "$API_BODY"
api AddCasterComponent CasterId="$C" LocationId=RC01 ComponentType=text ComponentName=title \
    'ComponentLayer={"HeightNormalized":0.1,"PositionNormalized":[0.05,0.8],"PositionRefer":"topLeft"}' \
    'TextLayerContent={"Text":"LIVE 94","Color":"0xffffff","FontName":"DejaVuSans","SizeNormalized":0.1}'
ok $? "AddCasterComponent: a text" || diag "$API_BODY"
TXT=$(j "$API_BODY" 'd["ComponentId"]')
utc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
now=$(date +%s)
api AddCasterProgram CasterId="$C" Episodes.1.EpisodeName=morning Episodes.1.EpisodeType=Resource \
    Episodes.1.ResourceId="$R1" Episodes.1.StartTime="$(utc $((now - 60)))" Episodes.1.EndTime="$(utc $((now + 600)))" \
    Episodes.1.SwitchType=TimeFirst Episodes.2.EpisodeName=evening Episodes.2.EpisodeType=Resource \
    Episodes.2.ResourceId="$R2" Episodes.2.StartTime="$(utc $((now + 700)))" Episodes.2.EndTime="$(utc $((now + 900)))" \
    Episodes.2.SwitchType=TimeFirst
ok $? "AddCasterProgram: two episodes (ProgramEffect 0: PGM stays the operator's)" || diag "$API_BODY"

le_wait_for 20 live "$(le_url red)"
le_wait_for 20 live "$(le_url blue)"
api StartCaster CasterId="$C"
ok $? "StartCaster" || diag "$API_BODY"
scenes
api StartCasterScene CasterId="$C" SceneId="$PVW"
ok $? "StartCasterScene: PVW" || diag "$API_BODY"
api EffectCasterVideoResource CasterId="$C" SceneId="$PGM" ResourceId="$R1"
ok $? "PGM shows RV01 (red)" || diag "$API_BODY"
api EffectCasterVideoResource CasterId="$C" SceneId="$PVW" ResourceId="$R1"
ok $? "PVW shows RV01 (red)" || diag "$API_BODY"
RTMP="rtmp://127.0.0.1:$LE_RTMP_PORT/caster"
le_wait_for 30 live "$RTMP/$PGM_S"
le_wait_for 30 live "$RTMP/$PVW_S"

# PGM decoded by ffmpeg from before the page's take to the end.
# (pgm_monitor's reader, given the browser's whole run: pgm_monitor stops at 60 s)
le_bg MON timeout -k 3 200 ffmpeg -hide_banner -nostdin -copyts -fflags nobuffer -i "$RTMP/$PGM_S" -an \
    -vf "crop=8:8:300:180,showinfo" -fps_mode passthrough -f null - 2>"$LE_DIR/mon.log"
le_wait_for 20 grep -q "pts_time" "$LE_DIR/mon.log"
ok $? "ffmpeg reads PGM (caster/$PGM_S)"

le_browser_run 180 console-studio.js "$A/console/" "http://127.0.0.1:$LE_HTTP_PORT" \
    "$C" "$PIP" "$LE_DIR" "$LE_DIR/green.mp4" "$MAT/green.mp4"
st() { b "d['steps']['$1']['ok']"; }
sd() { b "d['steps']['$1']"; }

is "$(b 'd.get("navHasStudio")')" true "the nav lists the studio page"
is "$(st multiviewer)" true "the multiviewer plays PVW, PGM, RV01 and RV02 at once ($(sd multiviewer))"
is "$(b 'd["steps"]["multiviewer"]["caster"]')" "$C" "... the caster of the URL is selected"
is "$(b '" ".join(d["steps"]["multiviewer"]["colours"])')" "red red red blue" \
    "... PVW red, PGM red (RV01), RV01 red, RV02 blue"
c=$(sd cpu)
is "$(b 'd["steps"]["cpu"]["players"]')" 4 "CPU measured with 4 players: $(b 'd["steps"]["cpu"]["cpuPercent"]') % of one core ($c)"
ok "$("$LE_PY" -c 'import json, sys
c = json.loads(sys.argv[1]); sys.exit(0 if all(a >= 8 for a in c["advanced"]) else 1)' "$c" 2>/dev/null; echo $?)" \
    "... every player advanced 8 s or more in those 10 s"

is "$(st sourceToPvw)" true "a click on RV02 puts it on PVW: PVW turns blue ($(sd sourceToPvw))"
api DescribeCasterScenes CasterId="$C"
is "$(st take)" true "Take: PGM's picture in the page turns from red to blue ($(sd take))"
is "$(b 'd["steps"]["take"]["before"]')" red "... it was red before"
is "$(st layout)" true "a layout click and an overlay toggle set PVW, taken to PGM: red with the blue inset ($(st layout))" ||
    diag "$(sd layout)"
api DescribeCasterScenes CasterId="$C"
is "$(j "$API_BODY" '[[s["LayoutId"], s["ComponentIds"], s["EffectResourceId"]] for s in d["SceneList"]]')" \
    "[[\"$PIP\", [\"$TXT\"], \"\"], [\"$PIP\", [\"$TXT\"], \"\"]]" "... the API: PVW and PGM hold the layout and the text"
is "$(b '[d["steps"]["stopAsks"][k] for k in ("ok", "asked", "running")]')" '[true, 1, "running"]' \
    "Stop asks once; dismissed, the caster runs on ($(b 'd["steps"]["stopAsks"]["dialog"]'))"
is "$(b '[d["steps"]["standbyError"][k] for k in ("ok", "asked", "code")]')" '[true, 1, "UrgentMaterialNotFound"]' \
    "Standby without the file: asked once, then the API's Code ..."
is "$(b 'd["steps"]["standbyError"]["message"]')" "Urgent material is not found" "... and Message"
is "$(st standby)" true "Standby with the file: PGM turns green, the label says STANDBY ($(sd standby))"
api DescribeCasterScenes CasterId="$C"
is "$(j "$API_BODY" 'd["SceneList"][1]["Urgent"]')" 1 "... the API: PGM is Urgent"
is "$(b '[e["cls"].split()[-1] for e in d["steps"]["timeline"]["episodes"]]')" '["st-ep1", "st-ep0"]' \
    "the timeline: the first episode on air, the second waiting ($(b 'd["steps"]["timeline"]["head"]'))"

# What ffmpeg read of PGM: red, then blue (the take), ..., green (standby).
le_kill "$MON"
seq=$("$LE_PY" - "$LE_DIR" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from monlog import frames
out = []
for _, y, u, v in frames(sys.argv[1] + "/mon.log"):
    c = "red" if v > 200 else "blue" if u > 200 else "green" if u < 100 and v < 100 else "other"
    if not out or out[-1] != c:
        out.append(c)
print(" ".join(out))
PY
)
like "$seq" '^red( other)? blue .*green$' "ffmpeg's PGM: red, blue after the take, green at the end ($seq)"

is "$(b '" | ".join(e for e in d["consoleErrors"] if "status of 404" not in e)')" "" "no console error"
is "$(b 'len([e for e in d["consoleErrors"] if "status of 404" in e])')" 1 "... but the browser's line for the one 404"
is "$(b '" | ".join(d["failed"])')" "" "no failed request"
is "$(b '" | ".join("%d %s" % (x["status"], x["post"].split("Action=")[1].split("&")[0] if "Action=" in x["post"] else x["url"]) for x in d["bad"])')" \
    "404 EffectCasterUrgent" "the only answer >= 400: EffectCasterUrgent's 404"
is "$(b 'd["steps"]["cpuIdle"]["ok"]')" true "the browser with no player (the page left): $(b 'd["steps"]["cpuIdle"]["cpuPercent"]') % of one core ($(sd cpuIdle))"
is "$(b '[d["steps"]["phone"][k] for k in ("ok", "takeVisible", "stacked")] + [d["steps"]["phone"]["scrollWidth"] <= 390]')" \
    '[true, true, true, true]' "a phone (390 px): PVW, TAKE and PGM stacked, nothing wider ($(sd phone))"
for f in multiviewer take error end phone; do
    le_size_gt "$LE_DIR/studio-$f.png" 10000
    ok $? "screenshot studio-$f.png"
done
diag "requests: $(b 'd["requests"]'); dialogs: $(b 'd.get("dialogs")'); layouts: $(b 'd.get("layoutNames")')"
le_kill "$PUB_RED"
le_kill "$PUB_BLUE"
le_alive_ok
le_stop
done_testing
