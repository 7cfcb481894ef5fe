#!/bin/sh
# 83-studio-outputs: PGM's side output and recording (docs/STUDIO.md,
# "Outputs"):
#  - SideOutputUrl: PGM is pushed to a second livedge (node B, which runs no
#    caster itself), where it plays at the CasterTemplate's size with audio;
#    a new SideOutputUrl moves the push (the new stream plays on B, the old
#    one ends);
#  - RecordConfig with flv (the API reference example's spelling: format,
#    prefix with {StartTime}_{EndTime}, interval) and mp4 (the parameter
#    table's names), CycleDuration 6 s: the finished files lie under
#    record_root/{OssBucket}/ with the expanded keys, last 6 s (+-1, ffprobe)
#    and are in the record index and announced to the domain's record
#    notify config like any recording (one callback per file, its key);
#  - StopCaster ends the push (the stream leaves B) and closes the recording
#    (the last files are finished, no .tmp is left, no task records).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
: "${LE_SCRIPT_TIMEOUT:=180}"
# shellcheck source=t/integration/studio.sh
. "$(dirname "$0")/studio.sh"

# B: the side output's target; it shares the Redis but takes no caster.
LE_EXTRA_CONF="caster_max 0;"
start_node B || le_abort "node B did not start"
LE_EXTRA_CONF="caster_fps 25;"
start_node A || le_abort "node A did not start"
A=http://127.0.0.1:$LE_ADMIN_PORT
DATA_A=$LE_DATA_DIR
BRTMP="rtmp://127.0.0.1:$N_B_RTMP/live"

# The record callbacks: every POST body.
CBLOG=$LE_DIR/callbacks.jsonl
cb_recorder "$CBLOG"
# cbs_match DIR STREAM: every finished file under DIR has one callback whose
# uri is its key (rec/caster/STREAM/FILE), and no callback names another.
cbs_match() {
    "$LE_PY" - "$CBLOG" "$1" "$2" <<'PY'
import json, os, sys
log, d, stream = sys.argv[1:4]
files = sorted("rec/caster/%s/%s" % (stream, f) for f in os.listdir(d) if f.endswith((".flv", ".mp4")))
uris = []
for l in open(log) if os.path.exists(log) else []:
    try:
        b = json.loads(json.loads(l)["body"])
    except Exception:
        continue
    if b.get("stream") == stream and b.get("app") == "caster" and "uri" in b:
        uris.append(b["uri"])
print("ok %d" % len(files) if files and sorted(uris) == files else "bad: files %s, callbacks %s" % (files, sorted(uris)))
PY
}

pub_colour PUB cam red 440 320x180

# live URL: something plays there (ffprobe within 5 s).
live() {
    [ -n "$(timeout -k 2 5 ffprobe -hide_banner -v error -show_entries stream=codec_type -of csv=p=0 "$1" \
        2>>"$LE_DIR/ffprobe.log")" ]
}
gone() { ! live "$1"; }

REC='{"OssBucket":"studio-rec","OssEndpoint":"local","VideoFormat":[
 {"format":"flv","prefix":"rec/{AppName}/{StreamName}/{StartTime}_{EndTime}","interval":6},
 {"Format":"mp4","OssObjectPrefix":"rec/{AppName}/{StreamName}/m{Sequence}","CycleDuration":6}]}'
api AddLiveRecordNotifyConfig DomainName="$LE_DOMAIN" NotifyUrl="http://127.0.0.1:$CB_PORT/cb"
ok $? "AddLiveRecordNotifyConfig: the callback recorder" || diag "$API_BODY"
api CreateCaster ClientToken=studio-83 NormType=1 ChargeType=PostPaid CasterTemplate=lp_ld
ok $? "CreateCaster" || diag "$API_BODY"
C=$(j "$API_BODY" 'd["CasterId"]')
bad 400 InvalidParameter "SetCasterConfig: a RecordConfig the recorder cannot use (CycleDuration 1) is refused" \
    SetCasterConfig CasterId="$C" 'RecordConfig={"VideoFormat":[{"Format":"flv","CycleDuration":1}]}'
api SetCasterConfig CasterId="$C" DomainName="$LE_DOMAIN" 'TranscodeConfig={"CasterTemplate":"lp_ld"}' \
    SideOutputUrl="$BRTMP/side" RecordConfig="$REC"
ok $? "SetCasterConfig: SideOutputUrl on node B, RecordConfig flv + mp4 every 6 s" || diag "$API_BODY"
api AddCasterVideoResource CasterId="$C" LocationId=RV01 ResourceName=cam LiveStreamUrl="$(le_url cam)"
ok $? "RV01: the publisher" || diag "$API_BODY"
api AddCasterLayout CasterId="$C" VideoLayer.1.HeightNormalized=1 VideoLayer.1.WidthNormalized=1 \
    AudioLayer.1.VolumeRate=1 BlendList.1=RV01 MixList.1=RV01
ok $? "AddCasterLayout: RV01 full frame" || diag "$API_BODY"
L1=$(j "$API_BODY" 'd["LayoutId"]')
le_wait_for 20 live "$(le_url cam)"
api StartCaster CasterId="$C"
ok $? "StartCaster" || diag "$API_BODY"
PGM=$(j "$API_BODY" 'd["PgmSceneInfos"]["SceneInfo"][0]["SceneId"]')
PGM_S=${PGM//-/}
api SetCasterSceneConfig CasterId="$C" SceneId="$PGM" LayoutId="$L1"
ok $? "PGM: the layout" || diag "$API_BODY"
T0=$(le_now_ms)

# ---- the side output --------------------------------------------------------------
le_wait_for 30 live "$BRTMP/side"
is "$(probe "$BRTMP/side" 15)" "640x360 audio" "SideOutputUrl: PGM plays on node B at 640x360 with audio"
ok "$(le_wait_log "side output $LE_DOMAIN/caster/$PGM_S -> rtmp://127.0.0.1:$N_B_RTMP/live/side" 5 >/dev/null; echo $?)" \
    "... node A logs the side output of caster/$PGM_S"

# ---- the recording ----------------------------------------------------------------
DIR="$DATA_A/record/studio-rec/rec/caster/$PGM_S"
nfiles() { find "$DIR" -maxdepth 1 -name "*.$1" 2>/dev/null | wc -l; }
le_wait_for 40 sh -c "[ \$(find '$DIR' -maxdepth 1 -name '*.flv' | wc -l) -ge 2 ] && [ \$(find '$DIR' -maxdepth 1 -name '*.mp4' | wc -l) -ge 2 ]"
ok "$([ "$(nfiles flv)" -ge 2 ] && [ "$(nfiles mp4)" -ge 2 ]; echo $?)" \
    "RecordConfig: FLV and MP4 files under record_root/studio-rec/rec/caster/$PGM_S/ ($(nfiles flv) flv, $(nfiles mp4) mp4 after $(( ($(le_now_ms) - T0) / 1000 )) s)" ||
    diag "$(ls -la "$DIR" 2>&1; grep -iE 'record|caster' "$LE_LOG" | tail -20)"
like "$(ls "$DIR")" '[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}_[0-9-]+\.flv' \
    "... the flv keys expand {StartTime}_{EndTime} as {EscapedStartTime}_{EscapedEndTime}"
like "$(ls "$DIR")" 'm0\.mp4' "... the mp4 keys use OssObjectPrefix (m{Sequence})"
dur() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1" 2>/dev/null; }
# The first file starts at the first keyframe the task sees; the later ones
# are whole cycles (PGM has a keyframe every 2 s, so a 6 s cycle ends on one).
for f in m1.mp4 $(ls "$DIR" | grep '\.flv$' | sort | sed -n 2p); do
    d=$(dur "$DIR/$f")
    ok "$(awk -v d="$d" 'BEGIN { exit !(d != "" && d >= 5 && d <= 7) }'; echo $?)" \
        "... $f lasts $d s (CycleDuration 6, +-1)"
done
is "$(ffprobe -v error -select_streams a -show_entries stream=codec_name -of csv=p=0 "$DIR/m1.mp4")" aac \
    "... with PGM's audio"
IDX="letest$$:recidx:$LE_DOMAIN/caster/$PGM_S"
ok "$([ "$(redis-cli -p "$LE_REDIS_PORT" ZCARD "$IDX")" -ge 4 ]; echo $?)" \
    "... the files are in the record index ($IDX)"

# ---- a new SideOutputUrl ----------------------------------------------------------
api SetCasterConfig CasterId="$C" DomainName="$LE_DOMAIN" 'TranscodeConfig={"CasterTemplate":"lp_ld"}' \
    SideOutputUrl="$BRTMP/side2" RecordConfig="$REC"
ok $? "SetCasterConfig: SideOutputUrl changed" || diag "$API_BODY"
le_wait_for 30 live "$BRTMP/side2"
is "$(probe "$BRTMP/side2" 15)" "640x360 audio" "... PGM plays at the new URL"
le_wait_for 15 gone "$BRTMP/side"
ok "$(gone "$BRTMP/side"; echo $?)" "... and no longer at the old one"

# ---- StopCaster --------------------------------------------------------------------
NF=$(nfiles flv)
NM=$(nfiles mp4)
api StopCaster CasterId="$C"
ok $? "StopCaster" || diag "$API_BODY"
le_wait_for 15 gone "$BRTMP/side2"
ok "$(gone "$BRTMP/side2"; echo $?)" "StopCaster: the side output leaves node B"
le_wait_for 15 sh -c "curl -s --max-time 5 '$A/metrics' | grep -q '^livedge_record_tasks 0'"
is "$(curl_m | sed -n 's/^livedge_record_tasks //p')" 0 "... no recording task runs on node A"
le_wait_for 10 sh -c "[ \$(find '$DIR' -maxdepth 1 -name '*.mp4' | wc -l) -gt $NM ] && [ \$(find '$DIR' -maxdepth 1 -name '*.flv' | wc -l) -gt $NF ]"
ok "$([ "$(nfiles flv)" -gt "$NF" ] && [ "$(nfiles mp4)" -gt "$NM" ]; echo $?)" \
    "... the recording is closed: the last flv and mp4 are finished ($NF -> $(nfiles flv), $NM -> $(nfiles mp4))"
is "$(find "$DIR" -name '*.tmp' | wc -l)" 0 "... and no .tmp file is left"
cbs_ok() { [ "$(cbs_match "$@" | cut -c1-2)" = ok ]; }
le_wait_for 10 cbs_ok "$DIR" "$PGM_S"
like "$(cbs_match "$DIR" "$PGM_S")" '^ok [0-9]+$' "... every file announced once to the NotifyUrl with its key"
last=$(ls -t "$DIR" | grep '\.mp4$' | head -1)
d=$(dur "$DIR/$last")
ok "$(awk -v d="$d" 'BEGIN { exit !(d != "" && d > 0 && d <= 7) }'; echo $?)" "... the last mp4 ($last, $d s) plays"

le_kill "$PUB"
le_stop
use B
le_stop
done_testing
