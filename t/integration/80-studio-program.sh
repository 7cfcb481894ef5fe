#!/bin/sh
# 80-studio-program: a caster's programme runs on its own (docs/STUDIO.md,
# "Programmes"):
#  - the episode actions' answers and errors (ContentFirst on a live
#    resource, overlapping times, EpisodeType changed by a Modify, unknown
#    ids);
#  - three episodes a few seconds apart on an empty PGM: a live publisher
#    (red), a 3 s file (green, ContentFirst), a Component episode (a yellow
#    image over PGM's own, black, scene);
#  - PGM read with its timestamps (ffmpeg -copyts, showinfo): each
#    episode's picture appears within one frame interval (40 ms at 25 fps)
#    of its StartTime converted to stream time with /metrics
#    livedge_caster_epoch_ms (the wall time of stream time 0), the
#    ContentFirst episode ends when its file does, the Component episode at
#    its EndTime;
#  - DescribeCasterProgram's statuses go 0 -> 1 -> 2, the recorded end of
#    the ContentFirst episode is in the caster's hash.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
: "${LE_SCRIPT_TIMEOUT:=180}"
# shellcheck source=t/integration/studio.sh
. "$(dirname "$0")/studio.sh"

ffmpeg -hide_banner -loglevel error -y -f lavfi -i "color=c=yellow:s=320x180" -frames:v 1 "$MAT/yellow.png" ||
    le_abort "cannot make the PNG material"
# 3 s of green with a tone, 25 fps, a keyframe a second.
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "color=c=green:s=640x360:r=25" \
    -f lavfi -i "sine=frequency=660:sample_rate=44100" -t 3 -c:v libx264 -preset ultrafast -g 25 \
    -pix_fmt yuv420p -c:a aac -b:a 64k "$MAT/green.mp4" || le_abort "cannot make the file material"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "color=c=green:s=320x180:r=25" -t 8 -c:v libx264 \
    -preset ultrafast -g 25 -pix_fmt yuv420p "$MAT/green8.mp4" || le_abort "cannot make the 8 s file"

LE_EXTRA_CONF="caster_material_dir $MAT;
caster_fps 25;
caster_source_timeout 1s;"
start_node A || le_abort "livedge did not start"
A=http://127.0.0.1:$LE_ADMIN_PORT
FRAME=40   # ms at 25 fps

pub_colour PUB_RED red red 440

# ---- the caster and the actions ----------------------------------------------------
api CreateCaster ClientToken=studio-80 NormType=1 ChargeType=PostPaid CasterTemplate=lp_ld
ok $? "CreateCaster" || diag "$API_BODY"
C=$(j "$API_BODY" 'd["CasterId"]')
api SetCasterConfig CasterId="$C" DomainName="$LE_DOMAIN" 'TranscodeConfig={"CasterTemplate":"lp_ld"}' \
    ProgramName=evening ProgramEffect=1
ok $? "SetCasterConfig: lp_ld, ProgramName, ProgramEffect 1" || diag "$API_BODY"
api AddCasterVideoResource CasterId="$C" LocationId=RV01 ResourceName=red LiveStreamUrl="$(le_url red)"
ok $? "RV01: the red publisher" || diag "$API_BODY"
R1=$(j "$API_BODY" 'd["ResourceId"]')
api AddCasterVideoResource CasterId="$C" LocationId=RV02 ResourceName=green MaterialId=green.mp4
ok $? "RV02: green.mp4 (3 s)" || diag "$API_BODY"
R2=$(j "$API_BODY" 'd["ResourceId"]')
api AddCasterComponent CasterId="$C" LocationId=RC01 ComponentType=image \
    'ComponentLayer={"HeightNormalized":0.5,"PositionNormalized":[0.25,0.25],"PositionRefer":"topLeft"}' \
    'ImageLayerContent={"MaterialId":"yellow.png"}'
ok $? "RC01: a yellow image" || diag "$API_BODY"
K1=$(j "$API_BODY" 'd["ComponentId"]')

bad 400 InvalidParameter.Malformed "ContentFirst on a live resource is refused" AddCasterEpisode CasterId="$C" \
    EpisodeType=Resource ResourceId="$R1" StartTime="$(utc 3600)" EndTime="$(utc 3660)" SwitchType=ContentFirst
bad 400 InvalidEndTime.Mismatch "EndTime before StartTime is refused" AddCasterEpisode CasterId="$C" \
    EpisodeType=Resource ResourceId="$R1" StartTime="$(utc 3600)" EndTime="$(utc 3500)"
bad 404 InvalidResource.NotFound "an unknown ResourceId is refused" AddCasterEpisode CasterId="$C" \
    EpisodeType=Resource ResourceId=nope StartTime="$(utc 3600)" EndTime="$(utc 3660)"
bad 404 InvalidCaster.NotFound "an unknown caster" AddCasterEpisode CasterId=nope \
    EpisodeType=Resource ResourceId="$R1" StartTime="$(utc 3600)" EndTime="$(utc 3660)"
api AddCasterEpisode CasterId="$C" EpisodeType=Component EpisodeName=late ComponentIds.1="$K1" \
    StartTime="$(utc 3600)" EndTime="$(utc 3660)"
ok $? "AddCasterEpisode: a Component episode in an hour" || diag "$API_BODY"
EL=$(j "$API_BODY" 'd["EpisodeId"]')
like "$EL" '^[0-9a-f-]{36}$' "... answers its EpisodeId"
bad 400 InvalidParameter.Malformed "an episode overlapping it is refused" AddCasterEpisode CasterId="$C" \
    EpisodeType=Resource ResourceId="$R1" StartTime="$(utc 3630)" EndTime="$(utc 3700)"
bad 400 InvalidParameter.Malformed "ModifyCasterEpisode cannot change EpisodeType" ModifyCasterEpisode \
    CasterId="$C" EpisodeId="$EL" EpisodeType=Resource ResourceId="$R1"
api ModifyCasterEpisode CasterId="$C" EpisodeId="$EL" Duration=30
ok $? "ModifyCasterEpisode: Duration 30" || diag "$API_BODY"
api DescribeCasterProgram CasterId="$C" EpisodeId="$EL"
is "$(j "$API_BODY" '[d["ProgramName"], d["ProgramEffect"], d["Total"], d["Episodes"][0]["Duration"] == 30, d["Episodes"][0]["Status"], d["Episodes"][0]["EpisodeName"]]')" \
    '["evening", 1, 1, true, 0, "late"]' "DescribeCasterProgram: ProgramName, ProgramEffect, the Duration, Status 0" ||
    diag "$API_BODY"
api DeleteCasterEpisode CasterId="$C" EpisodeId="$EL"
ok $? "DeleteCasterEpisode" || diag "$API_BODY"
bad 404 InvalidEpisode.NotFound "... it is gone" DeleteCasterEpisode CasterId="$C" EpisodeId="$EL"

# ---- running ------------------------------------------------------------------------
le_wait_for 20 live red
api StartCaster CasterId="$C"
ok $? "StartCaster" || diag "$API_BODY"
PGM_URL=$(j "$API_BODY" 'd["PgmSceneInfos"]["SceneInfo"][0]["StreamUrl"]')
PGM_S=${PGM_URL%%\?*}
PGM_S=${PGM_S##*/}
RTMP="rtmp://127.0.0.1:$LE_RTMP_PORT/caster"
le_wait_for 30 sh -c "curl -s --max-time 5 '$A/metrics' | grep -q '^livedge_casters_running 1'"
EPOCH=$(curl_m | sed -n "s/^livedge_caster_epoch_ms{caster=\"$C\"} \([0-9]*\)$/\1/p")
like "$EPOCH" '^[0-9]{13}$' "/metrics: livedge_caster_epoch_ms $EPOCH"

# The programme: T0 a whole second at least 8 s ahead.
T0=$(( $(date +%s) + 9 ))
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
api AddCasterProgram CasterId="$C" \
    Episodes.1.EpisodeType=Resource Episodes.1.EpisodeName=live Episodes.1.ResourceId="$R1" \
    Episodes.1.StartTime="$(iso "$T0")" Episodes.1.EndTime="$(iso $((T0 + 4)))" Episodes.1.SwitchType=TimeFirst \
    Episodes.2.EpisodeType=Resource Episodes.2.EpisodeName=file Episodes.2.ResourceId="$R2" \
    Episodes.2.StartTime="$(iso $((T0 + 4)))" Episodes.2.EndTime="$(iso $((T0 + 8)))" Episodes.2.SwitchType=ContentFirst \
    Episodes.3.EpisodeType=Component Episodes.3.EpisodeName=logo Episodes.3.ComponentIds.1="$K1" \
    Episodes.3.StartTime="$(iso $((T0 + 10)))" Episodes.3.EndTime="$(iso $((T0 + 13)))"
ok $? "AddCasterProgram: three episodes from $(iso "$T0")" || diag "$API_BODY"
E2=$(j "$API_BODY" 'd["EpisodeIds"][1]')
E3=$(j "$API_BODY" 'd["EpisodeIds"][2]')
like "$E3" '^[0-9a-f-]{36}$' "... EpisodeIds in order"
statuses() {
    api DescribeCasterProgram CasterId="$C"
    j "$API_BODY" "' '.join(str(x['Status']) for x in sorted(d['Episodes'], key=lambda e: e['StartTime']))"
}
is "$(statuses)" "0 0 0" "DescribeCasterProgram before: 0 0 0"
api DescribeCasterProgram CasterId="$C" Page=2 Rows=2
is "$(j "$API_BODY" '[d["Total"], [e["EpisodeId"] for e in d["Episodes"]]]')" "[3, [\"$E3\"]]" \
    "... Page 2 of Rows 2: the third episode, Total 3"

# A reader of PGM from before T0: per frame its timestamp and the mean
# colour of an 8x8 block in the middle (where the Component episode's image is).
pgm_monitor MON "$RTMP/$PGM_S" 316 176
while [ "$(date +%s%3N)" -lt $((T0 * 1000 + 1500)) ]; do sleep 0.2; done
is "$(statuses)" "1 0 0" "during the first episode: 1 0 0"
while [ "$(date +%s%3N)" -lt $(((T0 + 5) * 1000 + 500)) ]; do sleep 0.2; done
is "$(statuses)" "2 1 0" "during the file: 2 1 0"
while [ "$(date +%s%3N)" -lt $(((T0 + 8) * 1000 + 500)) ]; do sleep 0.2; done
is "$(statuses)" "2 2 0" "after the file played out (ContentFirst): 2 2 0"
like "$(redis-cli -p "$LE_REDIS_PORT" HGET "letest$$:caster:$C" "epend:$E2")" '^[0-9]{13}$' \
    "... its end is recorded in the caster's hash (epend:{EpisodeId})"
while [ "$(date +%s%3N)" -lt $(((T0 + 14) * 1000 + 500)) ]; do sleep 0.2; done
is "$(statuses)" "2 2 2" "after the last: 2 2 2"
le_kill "$MON"

cat >"$LE_DIR/mon.py" <<'PY'
import sys
from monlog import frames
fr = frames(sys.argv[1])
def colour(y, u, v):
    if v > 200: return "red"
    if y > 170 and u < 60: return "yellow"
    if u < 110 and v < 110: return "green"
    if y < 40 and abs(u - 128) < 12 and abs(v - 128) < 12: return "black"
    return "other"
cmd, want, t = sys.argv[2], sys.argv[3], int(sys.argv[4])
# first: the timestamp of the first frame of colour `want` at or after
# t - 2000, minus that of the first frame at or after t (t itself unless a
# loaded machine skipped the tick of t: the engine then applies the change
# at the next tick it renders); then that frame's distance from t.
fs = [p for p, y, u, v in fr if p >= t - 2000 and colour(y, u, v) == want]
at = [p for p, y, u, v in fr if p >= t]
print("%s %s" % (fs[0] - at[0], at[0] - t) if fs and at else "none none")
PY
first() { "$LE_PY" "$LE_DIR/mon.py" "$LE_DIR/mon.log" first "$1" "$2"; }
# within "D G" MAX WHAT: the picture came D ms after the first frame at or
# after the time it should be (that frame G ms after the time), 0 <= D <= MAX.
within() {
    set -- $1 "$2" "$3"
    ok "$([ "$1" != none ] && [ "$1" -ge 0 ] && [ "$1" -le "$3" ]; echo $?)" \
        "$4: $1 ms of stream time after it (0-$3; the first frame at or after it came $2 ms after it)"
}
S=$((T0 * 1000 - EPOCH))
within "$(first red "$S")" $FRAME "the live episode's picture appears at its StartTime"
within "$(first green $((S + 4000)))" $FRAME "the file episode's picture appears at its StartTime"
# The file's 3 s end: the EOF event comes within 2 ticks, PGM's change on
# the next tick after it reaches the loop (about 80 ms alone). The EOF goes
# worker -> loop -> scheduler -> engine, so a starved loop adds to it: a
# sanitizer build among three other scripts took 880 ms once. 2 s is the
# generous bound; the number itself is printed.
within "$(first black $((S + 7000)))" 2000 "the ContentFirst episode ends when its file does (3 s)"
within "$(first yellow $((S + 10000)))" $FRAME "the Component episode's image appears at its StartTime"
within "$(first black $((S + 13000)))" $FRAME "... and goes at its EndTime"
diag "$(grep -c pts_time "$LE_DIR/mon.log") PGM frames read; epoch $EPOCH; T0 $T0"

# ---- DeleteCasterProgram ----------------------------------------------------------------
api DeleteCasterProgram CasterId="$C"
ok $? "DeleteCasterProgram" || diag "$API_BODY"
api DescribeCasterProgram CasterId="$C"
is "$(j "$API_BODY" '[d["Total"], d["Episodes"]]')" "[0, []]" "... no episodes left"
is "$(redis-cli -p "$LE_REDIS_PORT" HEXISTS "letest$$:caster:$C" "epend:$E2")" 0 "... nor recorded ends"

# ---- a move to another node in the middle of a ContentFirst episode --------------------
# Node B shares the Redis and leaves the caster to A. A stops 2 s into an 8
# s file: B takes the caster, plays the file on from where it should be
# (nothing of it is on B but what Redis holds) and records its end. A
# restart of one node is the same path: a node without the caster reads it
# from Redis.
api AddCasterVideoResource CasterId="$C" LocationId=RV03 ResourceName=green8 MaterialId=green8.mp4
ok $? "RV03: green8.mp4 (8 s)" || diag "$API_BODY"
R3=$(j "$API_BODY" 'd["ResourceId"]')
T1=$(( $(date +%s) + 5 ))
api AddCasterEpisode CasterId="$C" EpisodeType=Resource ResourceId="$R3" SwitchType=ContentFirst \
    StartTime="$(iso "$T1")" EndTime="$(iso $((T1 + 12)))"
ok $? "AddCasterEpisode: the 8 s file, ContentFirst, from $(iso "$T1")" || diag "$API_BODY"
E4=$(j "$API_BODY" 'd["EpisodeId"]')
start_node B || le_abort "node B did not start"
is "$(curl -s --max-time 5 "http://127.0.0.1:$LE_ADMIN_PORT/metrics" | sed -n 's/^livedge_casters_running //p')" 0 \
    "node B, sharing the Redis, leaves the caster to node A"
while [ "$(date +%s%3N)" -lt $(((T1 + 2) * 1000)) ]; do sleep 0.2; done
le_kill "$PUB_RED"
use A
le_stop
use B
A=http://127.0.0.1:$LE_ADMIN_PORT
le_wait_for 20 sh -c "curl -s --max-time 5 '$A/metrics' | grep -q '^livedge_casters_running 1'"
is "$(curl_m | sed -n 's/^livedge_casters_running //p')" 1 "node A stopped: node B runs the caster"
ok "$(le_wait_log "episode $E4 on air since" 10 >/dev/null; echo $?)" "... and plays the episode's file from the elapsed offset"
while [ "$(date +%s%3N)" -lt $(((T1 + 10) * 1000)) ]; do sleep 0.2; done
end=$(redis-cli -p "$LE_REDIS_PORT" HGET "letest$$:caster:$C" "epend:$E4")
d=none
[ -n "$end" ] && d=$(( end - (T1 + 8) * 1000 ))
ok "$([ "$d" != none ] && [ "$d" -ge -500 ] && [ "$d" -le 1500 ]; echo $?)" \
    "... whose end is recorded $d ms after the file's end in wall time (-500 to 1500)"
api DescribeCasterProgram CasterId="$C" EpisodeId="$E4"
is "$(j "$API_BODY" 'd["Episodes"][0]["Status"]')" 2 "... Status 2 before its EndTime"

api StopCaster CasterId="$C"
ok $? "StopCaster" || diag "$API_BODY"
le_stop
done_testing
