#!/bin/sh
# 77-caster-scenes: the production studio's scene and run actions (man
# livedge.8, docs/STUDIO.md "Scenes and running"), their answers and their
# Redis state; the API side only (no media):
#  - CreateCaster makes the PVW and PGM scenes; Set/Update/Delete/
#    CopyCasterSceneConfig (the take copies PVW to PGM), DescribeCasterScenes,
#    EffectCasterVideoResource, Update/DescribeCasterSceneAudio;
#  - StartCaster (the English page's wrapped shape, signed URLs whose
#    auth_key verifies: an HTTP play of them is not refused, unsigned is),
#    StartCasterScene / StopCasterScene (PVW only), DescribeCasterStreamUrl,
#    StopCaster, DescribeCasters' Status and StartTime, DeleteCaster refused
#    while running and deleting the lease, CopyCaster's own scenes;
#  - the error codes; every write published as "caster {CasterId}"; one
#    call through @alicloud/pop-core on a signed node sharing the Redis.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
: "${LE_SCRIPT_TIMEOUT:=200}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool python3 curl redis-server redis-cli md5sum

AUTHK=caster-url-secret
LE_BASE_NAME=$LE_NAME
LE_WAIT_PORTS="rtmp http admin"
LE_DOMAIN_CONF="    aliauth {
        auth_type      type_a;
        auth_key1      $AUTHK;
        ali_auth_delta 600;
    }"
AK=LTAItestid4scene
SK=test-secret-4scene
LE_EXTRA_CONF="admin {
    access_key_id     \"$AK\";
    access_key_secret \"$SK\";
}"
start_node A || le_abort "node A did not start"
LE_EXTRA_CONF=""
start_node B || le_abort "node B did not start"
use B
PFX="letest$$:"
rcli() { redis-cli -p "$LE_REDIS_PORT" "$@"; }
ID='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
hj() { j "$(rcli HGET "${PFX}caster:$1" "$2")" "$3"; }   # hj CASTER FIELD EXPR
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }

# Every event published while the script runs.
EVENTS=$LE_DIR/events.txt
le_bg SUB_PID redis-cli -p "$LE_REDIS_PORT" SUBSCRIBE "${PFX}events" >"$EVENTS" 2>&1
sleep 0.3

# ---- CreateCaster makes the two scenes --------------------------------------------
api CreateCaster CasterName=studio ClientToken=scene-tok-1 NormType=1 ChargeType=PostPaid
ok $? "CreateCaster" || diag "$API_BODY"
C1=$(j "$API_BODY" 'd["CasterId"]')
PVW=$(rcli HGET "${PFX}caster:$C1" pvw)
PGM=$(rcli HGET "${PFX}caster:$C1" pgm)
ok "$([[ $PVW =~ $ID ]] && [[ $PGM =~ $ID ]] && [ "$PVW" != "$PGM" ]; echo $?)" \
    "CreateCaster: the hash names two scenes (pvw, pgm)"
is "$(hj "$C1" "scene:$PVW" 'd')" \
    "{\"AudioLayers\": [], \"ComponentIds\": [], \"EffectResourceId\": \"\", \"FollowEnable\": 1, \"LayoutId\": \"\", \"MixList\": [], \"OutputType\": 0, \"SceneId\": \"$PVW\", \"SceneName\": \"PVW\", \"Status\": 0}" \
    "... scene:{PVW} stored, exact"
is "$(hj "$C1" "scene:$PGM" '[d["OutputType"], d["SceneName"], d["Status"]]')" '[1, "PGM", 0]' "... scene:{PGM}"

# ---- configuration needed by the URLs and by StartCaster ---------------------------
bad 404 InvalidConfiguration.NotFound "DescribeCasterScenes without DomainName" DescribeCasterScenes CasterId="$C1"
bad 404 InvalidConfiguration.NotFound "StartCaster without DomainName" StartCaster CasterId="$C1"
is "$(j "$API_BODY" 'd["Message"]')" "DomainName is not configured" "... the message"
api SetCasterConfig CasterId="$C1" DomainName=live.test
bad 404 InvalidConfiguration.NotFound "StartCaster without TranscodeConfig.CasterTemplate" StartCaster CasterId="$C1"
is "$(j "$API_BODY" 'd["Message"]')" "transcode is not configured." "... the message"
api SetCasterConfig CasterId="$C1" DomainName=live.test 'TranscodeConfig={"CasterTemplate":"lp_hd","LiveTemplate":["lld","lhd"]}'
ok $? "SetCasterConfig with a domain and templates" || diag "$API_BODY"

api AddCasterVideoResource CasterId="$C1" LocationId=RV01 LiveStreamUrl=rtmp://127.0.0.1/live/cam1
R1=$(j "$API_BODY" 'd["ResourceId"]')
api AddCasterVideoResource CasterId="$C1" LocationId=RV02 LiveStreamUrl=rtmp://127.0.0.1/live/cam2
R2=$(j "$API_BODY" 'd["ResourceId"]')
api AddCasterLayout CasterId="$C1" VideoLayer.1.HeightNormalized=1 VideoLayer.2.HeightNormalized=0.25 \
    VideoLayer.2.PositionNormalized.1=0.7 VideoLayer.2.PositionNormalized.2=0.7 BlendList.1=RV01 BlendList.2=RV02 \
    AudioLayer.1.VolumeRate=1 MixList.1=RV01
L1=$(j "$API_BODY" 'd["LayoutId"]')
api AddCasterLayout CasterId="$C1" VideoLayer.1.FillMode=fit VideoLayer.1.HeightNormalized=1 \
    VideoLayer.1.WidthNormalized=0.5 VideoLayer.2.FillMode=fit VideoLayer.2.HeightNormalized=1 \
    VideoLayer.2.WidthNormalized=0.5 VideoLayer.2.PositionNormalized.1=0.5 VideoLayer.2.PositionNormalized.2=0 \
    BlendList.1=RV01 BlendList.2=RV02
L2=$(j "$API_BODY" 'd["LayoutId"]')
api AddCasterComponent CasterId="$C1" LocationId=RC01 ComponentType=text \
    'ComponentLayer={"PositionNormalized":[0.05,0.85]}' 'TextLayerContent={"Text":"hello","FontName":"DejaVuSans"}'
K1=$(j "$API_BODY" 'd["ComponentId"]')
api AddCasterComponent CasterId="$C1" LocationId=RC02 ComponentType=image 'ImageLayerContent={"MaterialId":"logo.png"}'
K2=$(j "$API_BODY" 'd["ComponentId"]')
ok "$([[ $R1$R2$L1$L2$K1$K2 =~ ^[0-9a-f-]{216}$ ]]; echo $?)" "two resources, two layouts, two components"

# ---- DescribeCasterScenes ------------------------------------------------------------
api DescribeCasterScenes CasterId="$C1"
ok $? "DescribeCasterScenes" || diag "$API_BODY"
is "$(keys)" '["RequestId", "SceneList", "Total"]' "... keys"
is "$(j "$API_BODY" '[s["SceneId"] for s in d["SceneList"]]')" "[\"$PVW\", \"$PGM\"]" "... PVW then PGM"
is "$(j "$API_BODY" 'sorted(d["SceneList"][1].keys())')" \
    '["ComponentIds", "EffectResourceId", "LayoutId", "OutputType", "SceneId", "SceneName", "Status", "StreamInfos", "StreamUrl", "Urgent"]' \
    "... a scene's fields (EffectResourceId and Urgent: livedge's, for the console)"
is "$(j "$API_BODY" '[[s["OutputType"], s["Status"], s["LayoutId"], s["ComponentIds"], len(s["StreamInfos"])] for s in d["SceneList"]]')" \
    '[[0, 0, "", [], 0], [1, 0, "", [], 6]]' "... stopped, empty; PGM has 2 LiveTemplates x 3 formats"
N_PVW=${PVW//-/}
N_PGM=${PGM//-/}
like "$(j "$API_BODY" 'd["SceneList"][0]["StreamUrl"]')" \
    "^rtmp://live\\.test:$LE_RTMP_PORT/caster/$N_PVW\\?auth_key=[0-9]+-0-0-[0-9a-f]{32}\$" \
    "... StreamUrl: rtmp://{DomainName}:{port}/caster/{SceneId without dashes}, signed"
bad 404 InvalidScene.NotFound "DescribeCasterScenes of an unknown SceneId" DescribeCasterScenes CasterId="$C1" SceneId=nope
api DescribeCasterScenes CasterId="$C1" SceneId="$PGM"
is "$(j "$API_BODY" '[d["Total"], d["SceneList"][0]["SceneId"]]')" "[1, \"$PGM\"]" "... SceneId filter"

# ---- SetCasterSceneConfig / UpdateCasterSceneConfig -------------------------------
api SetCasterSceneConfig CasterId="$C1" SceneId="$PVW" LayoutId="$L1" ComponentIds.1="$K2" ComponentIds.2="$K1"
ok $? "SetCasterSceneConfig" || diag "$API_BODY"
is "$(keys)" '["RequestId"]' "... answers the RequestId only"
api DescribeCasterScenes CasterId="$C1" SceneId="$PVW"
is "$(j "$API_BODY" '[d["SceneList"][0]["LayoutId"], d["SceneList"][0]["ComponentIds"]]')" "[\"$L1\", [\"$K2\", \"$K1\"]]" \
    "... LayoutId and ComponentIds (bottom to top) set"
api UpdateCasterSceneConfig CasterId="$C1" SceneId="$PVW" LayoutId="$L2"
ok $? "UpdateCasterSceneConfig without ComponentIds" || diag "$API_BODY"
is "$(hj "$C1" "scene:$PVW" '[d["LayoutId"], d["ComponentIds"]]')" "[\"$L2\", [\"$K2\", \"$K1\"]]" \
    "... the layout changes, the components stay"
api UpdateCasterSceneConfig CasterId="$C1" SceneId="$PVW" LayoutId="$L2" ComponentId.1="$K1"
is "$(hj "$C1" "scene:$PVW" 'd["ComponentIds"]')" "[\"$K1\"]" "UpdateCasterSceneConfig with ComponentId.1: replaced"
api UpdateCasterSceneConfig CasterId="$C1" SceneId="$PVW" LayoutId="$L2" "ComponentIds=[\"$K2\"]"
is "$(hj "$C1" "scene:$PVW" 'd["ComponentIds"]')" "[\"$K2\"]" "... with ComponentIds as a JSON array: replaced"
bad 400 MissingParameter "SetCasterSceneConfig without LayoutId" SetCasterSceneConfig CasterId="$C1" SceneId="$PVW"
bad 404 InvalidLayout.NotFound "an unknown LayoutId" SetCasterSceneConfig CasterId="$C1" SceneId="$PVW" \
    LayoutId=00000000-0000-4000-8000-000000000000
bad 404 InvalidComponent.NotFound "an unknown ComponentId" UpdateCasterSceneConfig CasterId="$C1" SceneId="$PVW" \
    LayoutId="$L1" ComponentIds.1="$K1" ComponentIds.2=00000000-0000-4000-8000-000000000000
bad 400 InvalidParameter.Malformed "a ComponentId twice" UpdateCasterSceneConfig CasterId="$C1" SceneId="$PVW" \
    LayoutId="$L1" ComponentIds.1="$K1" ComponentIds.2="$K1"
bad 400 InvalidParameter "ComponentIds not a JSON array" UpdateCasterSceneConfig CasterId="$C1" SceneId="$PVW" \
    LayoutId="$L1" 'ComponentIds={"a":1}'
bad 404 InvalidScene.NotFound "an unknown SceneId" SetCasterSceneConfig CasterId="$C1" SceneId=00000000-0000-4000-8000-000000000000 LayoutId="$L1"
is "$(j "$API_BODY" 'd["Message"]')" "Scene is not found." "... the message"
bad 400 InvalidSceneId.Malformed "no SceneId" SetCasterSceneConfig CasterId="$C1" LayoutId="$L1"
bad 404 InvalidCaster.NotFound "an unknown caster" SetCasterSceneConfig CasterId=00000000-0000-4000-8000-000000000000 \
    SceneId="$PVW" LayoutId="$L1"
is "$(hj "$C1" "scene:$PVW" '[d["LayoutId"], d["ComponentIds"]]')" "[\"$L2\", [\"$K2\"]]" "refused calls change nothing"

# ---- EffectCasterVideoResource ------------------------------------------------------
api EffectCasterVideoResource CasterId="$C1" SceneId="$PVW" ResourceId="$R2"
ok $? "EffectCasterVideoResource" || diag "$API_BODY"
is "$(hj "$C1" "scene:$PVW" '[d["EffectResourceId"], d["LayoutId"]]')" "[\"$R2\", \"$L2\"]" \
    "... EffectResourceId set, the layout kept"
api DescribeCasterScenes CasterId="$C1" SceneId="$PVW"
is "$(j "$API_BODY" '[d["SceneList"][0]["EffectResourceId"], d["SceneList"][0]["Urgent"]]')" "[\"$R2\", 0]" \
    "... DescribeCasterScenes answers the EffectResourceId (and Urgent 0)"
bad 404 InvalidResource.NotFound "EffectCasterVideoResource of an unknown resource" \
    EffectCasterVideoResource CasterId="$C1" SceneId="$PVW" ResourceId=00000000-0000-4000-8000-000000000000

# ---- UpdateCasterSceneAudio / DescribeCasterSceneAudio -----------------------------
api DescribeCasterSceneAudio CasterId="$C1" SceneId="$PVW"
ok $? "DescribeCasterSceneAudio" || diag "$API_BODY"
is "$(j "$API_BODY" 'd')" "{\"AudioLayers\": [], \"FollowEnable\": 1, \"MixList\": [], \"RequestId\": \"$(j "$API_BODY" 'd["RequestId"]')\"}" \
    "... a new scene: audio follows video, no own layers"
api UpdateCasterSceneAudio CasterId="$C1" SceneId="$PVW" FollowEnable=0 AudioLayer.1.VolumeRate=0.5 \
    AudioLayer.1.ValidChannel=leftChannel AudioLayer.2.VolumeRate=2 MixList.1=RV02 MixList.2=RV01
ok $? "UpdateCasterSceneAudio" || diag "$API_BODY"
api DescribeCasterSceneAudio CasterId="$C1" SceneId="$PVW"
is "$(j "$API_BODY" '[d["FollowEnable"], d["AudioLayers"], d["MixList"]]')" \
    '[0, [{"FixedDelayDuration": 0, "ValidChannel": "leftChannel", "VolumeRate": 0.5}, {"FixedDelayDuration": 0, "ValidChannel": "all", "VolumeRate": 2}], ["RV02", "RV01"]]' \
    "... FollowEnable, AudioLayers and MixList as set"
api UpdateCasterSceneAudio CasterId="$C1" SceneId="$PVW" FollowEnable=1
api DescribeCasterSceneAudio CasterId="$C1" SceneId="$PVW"
is "$(j "$API_BODY" '[d["FollowEnable"], d["MixList"]]')" '[1, ["RV02", "RV01"]]' "FollowEnable alone: the lists stay"
api UpdateCasterSceneAudio CasterId="$C1" SceneId="$PVW" FollowEnable=0
bad 400 InvalidAudioLayersAndMixListSize.Mismatch "2 AudioLayers, 1 MixList" UpdateCasterSceneAudio CasterId="$C1" \
    SceneId="$PVW" AudioLayer.1.VolumeRate=1 AudioLayer.2.VolumeRate=1 MixList.1=RV01
bad 400 InvalidAudioLayersAndMixListSize.Mismatch "a MixList without AudioLayers" UpdateCasterSceneAudio CasterId="$C1" \
    SceneId="$PVW" MixList.1=RV01
bad 400 InvalidParameter.Malformed "a MixList with a LocationId twice" UpdateCasterSceneAudio CasterId="$C1" \
    SceneId="$PVW" AudioLayer.1.VolumeRate=1 AudioLayer.2.VolumeRate=1 MixList.1=RV01 MixList.2=RV01
bad 404 InvalidResource.NotFound "a MixList naming RV09 (no resource)" UpdateCasterSceneAudio CasterId="$C1" \
    SceneId="$PVW" AudioLayer.1.VolumeRate=1 MixList.1=RV09
bad 400 InvalidFollowEnable.Malformed "FollowEnable 2" UpdateCasterSceneAudio CasterId="$C1" SceneId="$PVW" FollowEnable=2
bad 400 InvalidSceneId.Malformed "DescribeCasterSceneAudio without SceneId" DescribeCasterSceneAudio CasterId="$C1"

# ---- CopyCasterSceneConfig: the take --------------------------------------------------
api CopyCasterSceneConfig CasterId="$C1" FromSceneId="$PVW" ToSceneId="$PGM"
ok $? "CopyCasterSceneConfig PVW -> PGM" || diag "$API_BODY"
is "$(hj "$C1" "scene:$PGM" '[d["SceneId"], d["OutputType"], d["LayoutId"], d["ComponentIds"], d["EffectResourceId"], d["FollowEnable"], d["MixList"], len(d["AudioLayers"])]')" \
    "[\"$PGM\", 1, \"$L2\", [\"$K2\"], \"$R2\", 0, [\"RV02\", \"RV01\"], 2]" \
    "... PGM has PVW's layout, components, effect and audio, keeps its id and type"
api DescribeCasterScenes CasterId="$C1" SceneId="$PGM"
is "$(j "$API_BODY" '[d["SceneList"][0]["LayoutId"], d["SceneList"][0]["ComponentIds"]]')" "[\"$L2\", [\"$K2\"]]" \
    "... DescribeCasterScenes shows it"
bad 400 InvalidParameter.Malformed "CopyCasterSceneConfig PGM -> PVW" CopyCasterSceneConfig CasterId="$C1" \
    FromSceneId="$PGM" ToSceneId="$PVW"
bad 400 InvalidParameter.Malformed "CopyCasterSceneConfig PVW -> PVW" CopyCasterSceneConfig CasterId="$C1" \
    FromSceneId="$PVW" ToSceneId="$PVW"
bad 404 InvalidScene.NotFound "CopyCasterSceneConfig to an unknown scene" CopyCasterSceneConfig CasterId="$C1" \
    FromSceneId="$PVW" ToSceneId=nope
api SetCasterSceneConfig CasterId="$C1" SceneId="$PVW" LayoutId="$L1"
is "$(hj "$C1" "scene:$PVW" '[d["LayoutId"], d["ComponentIds"], d["EffectResourceId"]]')" "[\"$L1\", [], \"\"]" \
    "SetCasterSceneConfig replaces: components cleared, EffectResourceId cleared"

# ---- DeleteCasterSceneConfig ---------------------------------------------------------
api DeleteCasterSceneConfig CasterId="$C1" SceneId="$PGM" Type=Component
ok $? "DeleteCasterSceneConfig Component" || diag "$API_BODY"
is "$(hj "$C1" "scene:$PGM" '[d["LayoutId"], d["ComponentIds"], d["EffectResourceId"]]')" "[\"$L2\", [], \"$R2\"]" \
    "... components cleared, layout kept"
api DeleteCasterSceneConfig CasterId="$C1" SceneId="$PGM" Type=Layout
is "$(hj "$C1" "scene:$PGM" '[d["LayoutId"], d["EffectResourceId"], d["MixList"]]')" '["", "", ["RV02", "RV01"]]' \
    "DeleteCasterSceneConfig Layout: layout and effect cleared, audio kept"
api UpdateCasterSceneConfig CasterId="$C1" SceneId="$PGM" LayoutId="$L1" ComponentIds.1="$K1"
api DeleteCasterSceneConfig CasterId="$C1" SceneId="$PGM" Type=All
is "$(hj "$C1" "scene:$PGM" '[d["LayoutId"], d["ComponentIds"]]')" '["", []]' "DeleteCasterSceneConfig All: both cleared"
bad 400 InvalidParameter "DeleteCasterSceneConfig Type=Audio" DeleteCasterSceneConfig CasterId="$C1" SceneId="$PGM" Type=Audio
bad 400 MissingParameter "DeleteCasterSceneConfig without Type" DeleteCasterSceneConfig CasterId="$C1" SceneId="$PGM"

# ---- StartCaster ----------------------------------------------------------------------
bad 400 IncorrectCasterStatus "StartCasterScene of a stopped caster" StartCasterScene CasterId="$C1" SceneId="$PVW"
api UpdateCasterSceneConfig CasterId="$C1" SceneId="$PGM" LayoutId="$L1" ComponentIds.1="$K1"
api StartCaster CasterId="$C1"
ok $? "StartCaster" || diag "$API_BODY"
START=$API_BODY
is "$(keys)" '["PgmSceneInfos", "PvwSceneInfos", "RequestId"]' "... keys"
is "$(j "$START" '[list(d["PvwSceneInfos"].keys()), sorted(d["PvwSceneInfos"]["SceneInfo"][0].keys()), d["PvwSceneInfos"]["SceneInfo"][0]["SceneId"]]')" \
    "[[\"SceneInfo\"], [\"SceneId\", \"StreamUrl\"], \"$PVW\"]" "... PvwSceneInfos.SceneInfo[]: SceneId, StreamUrl"
is "$(j "$START" '[sorted(d["PgmSceneInfos"]["SceneInfo"][0].keys()), d["PgmSceneInfos"]["SceneInfo"][0]["SceneId"], list(d["PgmSceneInfos"]["SceneInfo"][0]["StreamInfos"].keys())]')" \
    "[[\"SceneId\", \"StreamInfos\", \"StreamUrl\"], \"$PGM\", [\"StreamInfo\"]]" \
    "... PgmSceneInfos.SceneInfo[]: SceneId, StreamUrl, StreamInfos.StreamInfo[]"
INFOS=$(j "$START" 'd["PgmSceneInfos"]["SceneInfo"][0]["StreamInfos"]["StreamInfo"]')
is "$(j "$INFOS" '[[i["TranscodeConfig"], i["VideoFormat"], sorted(i.keys())] for i in d]' | tr -d ' ')" \
    "$(for t in lld lhd; do for f in flv rtmp m3u8; do printf '["%s","%s",["OutputStreamUrl","TranscodeConfig","VideoFormat"]],' $t $f; done; done | sed 's/^/[/; s/,$/]/')" \
    "... StreamInfo: every LiveTemplate x flv, rtmp, m3u8"
is "$(j "$INFOS" '[i["OutputStreamUrl"].split("?")[0] for i in d[:3]]')" \
    "[\"http://live.test:$LE_HTTP_PORT/caster/${N_PGM}_lld.flv\", \"rtmp://live.test:$LE_RTMP_PORT/caster/${N_PGM}_lld\", \"http://live.test:$LE_HTTP_PORT/caster/${N_PGM}_lld.m3u8\"]" \
    "... the URLs of the lld output: {name}_lld.flv, rtmp {name}_lld, {name}_lld.m3u8"

# every URL's auth_key is md5("{URI}-{ts}-0-0-{key}") with the domain's key, ts close to now
check_sig() {   # URL: prints "good" or why not
    local url=$1 path q ts h now
    path=${url#*://}; path=/${path#*/}; q=${path#*\?}; path=${path%%\?*}
    [[ $q =~ ^auth_key=([0-9]+)-0-0-([0-9a-f]{32})$ ]] || { echo "no auth_key: $url"; return; }
    ts=${BASH_REMATCH[1]}; h=${BASH_REMATCH[2]}; now=$(date +%s)
    [ "$h" = "$(md5 "$path-$ts-0-0-$AUTHK")" ] || { echo "bad md5: $url"; return; }
    if [ $((now - ts)) -gt 60 ] || [ $((ts - now)) -gt 5 ]; then echo "ts $ts far from $now"; return; fi
    echo good
}
all_good=good
for u in $(j "$START" '" ".join([s["StreamUrl"] for s in d["PvwSceneInfos"]["SceneInfo"] + d["PgmSceneInfos"]["SceneInfo"]] + [i["OutputStreamUrl"] for i in d["PgmSceneInfos"]["SceneInfo"][0]["StreamInfos"]["StreamInfo"]])'); do
    r=$(check_sig "$u")
    [ "$r" = good ] || { all_good=$r; break; }
done
is "$all_good" good "... all 8 URLs signed with the domain's key (auth_key verifies)"

# A play of the signed URLs is let through the access check, unsigned is
# refused 403. The caster runs on this node, so its outputs may be live
# already (200) or not yet (404): either passed the signature check.
FLV=$(j "$INFOS" 'd[0]["OutputStreamUrl"]')
M3U8=$(j "$INFOS" 'd[2]["OutputStreamUrl"]')
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 --resolve "live.test:$LE_HTTP_PORT:127.0.0.1" "$1"; }
passed() { local c; c=$(code "$1"); case $c in 200 | 404) echo passed ;; *) echo "$c" ;; esac; }
is "$(passed "$FLV") $(code "${FLV%%\?*}")" "passed 403" "the signed FLV URL passes the signature check (200 live or 404 not yet), unsigned 403"
is "$(passed "$M3U8") $(code "${M3U8%%\?*}")" "passed 403" "the signed m3u8 URL likewise"

is "$(rcli HGET "${PFX}caster:$C1" status)" 1 "StartCaster: status 1"
like "$(rcli HGET "${PFX}caster:$C1" start)" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "... start time stored"
is "$(hj "$C1" "scene:$PVW" 'd["Status"]')$(hj "$C1" "scene:$PGM" 'd["Status"]')" 11 "... both scenes Status 1"
is "$(hj "$C1" "scene:$PGM" '[d["LayoutId"], d["ComponentIds"]]')" "[\"$L1\", [\"$K1\"]]" "... the scenes' config kept"
api DescribeCasters CasterId="$C1"
is "$(j "$API_BODY" '[d["CasterList"][0]["Status"], d["CasterList"][0]["StartTime"]]')" \
    "[1, \"$(rcli HGET "${PFX}caster:$C1" start)\"]" "DescribeCasters: Status 1 and the StartTime"
api DescribeCasters Status=1
is "$(j "$API_BODY" '[c["CasterId"] for c in d["CasterList"]]')" "[\"$C1\"]" "... the Status=1 filter finds it"
bad 400 IncorrectCasterStatus.Inuse "StartCaster again" StartCaster CasterId="$C1"
bad 400 IncorrectCasterStatus "DeleteCaster while running" DeleteCaster CasterId="$C1"
is "$(rcli EXISTS "${PFX}caster:$C1")" 1 "... the caster stays"

# ---- StartCasterScene / StopCasterScene: PVW only -----------------------------------
bad 400 InvalidParameter.Malformed "StartCasterScene of the PGM scene" StartCasterScene CasterId="$C1" SceneId="$PGM"
bad 400 InvalidParameter.Malformed "StopCasterScene of the PGM scene" StopCasterScene CasterId="$C1" SceneId="$PGM"
bad 404 InvalidScene.NotFound "StopCasterScene of an unknown scene" StopCasterScene CasterId="$C1" SceneId=nope
api StopCasterScene CasterId="$C1" SceneId="$PVW"
ok $? "StopCasterScene PVW" || diag "$API_BODY"
is "$(hj "$C1" "scene:$PVW" 'd["Status"]') $(hj "$C1" "scene:$PGM" 'd["Status"]')" "0 1" "... PVW Status 0, PGM still 1"
api StartCasterScene CasterId="$C1" SceneId="$PVW"
ok $? "StartCasterScene PVW" || diag "$API_BODY"
is "$(keys)" '["RequestId", "StreamUrl"]' "... answers the StreamUrl"
is "$(check_sig "$(j "$API_BODY" 'd["StreamUrl"]')")" good "... signed"
is "$(hj "$C1" "scene:$PVW" 'd["Status"]')" 1 "... PVW Status 1"

# ---- DescribeCasterStreamUrl ----------------------------------------------------------
api DescribeCasterStreamUrl CasterId="$C1"
ok $? "DescribeCasterStreamUrl" || diag "$API_BODY"
is "$(keys)" '["CasterId", "CasterStreams", "RequestId", "Total"]' "... keys"
is "$(j "$API_BODY" '[[s["SceneId"], s["OutputType"], len(s["StreamInfos"]), sorted(s.keys())] for s in d["CasterStreams"]]')" \
    "[[\"$PVW\", 0, 0, [\"OutputType\", \"SceneId\", \"StreamInfos\", \"StreamUrl\"]], [\"$PGM\", 1, 6, [\"OutputType\", \"SceneId\", \"StreamInfos\", \"StreamUrl\"]]]" \
    "... both scenes, PGM with its 6 StreamInfos"
is "$(j "$API_BODY" 'd["CasterStreams"][1]["StreamUrl"].split("?")[0]')" "rtmp://live.test:$LE_RTMP_PORT/caster/$N_PGM" \
    "... PGM's StreamUrl"

# ---- the SDK on the signed node (same Redis) -------------------------------------------
LE_POPCORE_DIR=${LE_POPCORE_DIR:-$top_builddir/t/npm}
if command -v node >/dev/null 2>&1 && le_npm_require "$LE_POPCORE_DIR" @alicloud/pop-core; then
    cat >"$LE_DIR/sdk.js" <<'JS'
const RPCClient = require('@alicloud/pop-core').RPCClient;
const [port, ak, sk, action, params] = process.argv.slice(2);
const client = new RPCClient({
    accessKeyId: ak, accessKeySecret: sk,
    endpoint: 'http://127.0.0.1:' + port, apiVersion: '2016-11-01',
});
client.request(action, JSON.parse(params), { method: 'POST', timeout: 10000 })
    .then((r) => { console.log('OK ' + JSON.stringify(r)); process.exit(0); },
          (e) => { console.log('ERR ' + e.code); process.exit(0); });
JS
    sdk() { NODE_PATH=$LE_POPCORE_DIR/node_modules timeout 30 node "$LE_DIR/sdk.js" "$N_A_ADMIN" "$AK" "$SK" "$@" 2>&1; }
    out=$(sdk CopyCasterSceneConfig "{\"CasterId\":\"$C1\",\"FromSceneId\":\"$PVW\",\"ToSceneId\":\"$PGM\"}")
    like "$out" '^OK \{"RequestId":' "pop-core CopyCasterSceneConfig (the take) on the signed node" || diag "$out"
    is "$(hj "$C1" "scene:$PGM" '[d["LayoutId"], d["ComponentIds"]]')" "[\"$L1\", []]" "... PGM now has PVW's config"
    out=$(sdk StartCaster "{\"CasterId\":\"$C1\"}")
    is "$out" "ERR IncorrectCasterStatus.Inuse" "pop-core StartCaster of a running caster: the error code"
else
    skip 3 "node or @alicloud/pop-core not available"
fi

# ---- StopCaster, DeleteCaster ---------------------------------------------------------
api StopCaster CasterId="$C1"
ok $? "StopCaster" || diag "$API_BODY"
is "$(keys)" '["RequestId"]' "... answers the RequestId only"
is "$(rcli HGET "${PFX}caster:$C1" status) $(rcli HEXISTS "${PFX}caster:$C1" start)" "0 0" "... status 0, start gone"
is "$(hj "$C1" "scene:$PVW" 'd["Status"]')$(hj "$C1" "scene:$PGM" 'd["Status"]')" 00 "... both scenes Status 0"
api DescribeCasters CasterId="$C1"
is "$(j "$API_BODY" '[d["CasterList"][0]["Status"], d["CasterList"][0]["StartTime"]]')" '[0, ""]' \
    "DescribeCasters: Status 0, no StartTime"
bad 400 IncorrectCasterStatus "StartCasterScene once stopped" StartCasterScene CasterId="$C1" SceneId="$PVW"

# CopyCaster: its own two scenes, with the source's scene config, stopped
api CopyCaster SrcCasterId="$C1" ClientToken=scene-copy-1
C2=$(j "$API_BODY" 'd["CasterId"]')
P2=$(rcli HGET "${PFX}caster:$C2" pvw)
G2=$(rcli HGET "${PFX}caster:$C2" pgm)
ok "$([[ $P2 =~ $ID ]] && [[ $G2 =~ $ID ]] && [ "$P2" != "$PVW" ] && [ "$G2" != "$PGM" ]; echo $?)" \
    "CopyCaster: the copy has scenes of its own ids"
is "$(rcli HKEYS "${PFX}caster:$C2" | grep -c '^scene:')" 2 "... and only those two"
is "$(hj "$C2" "scene:$G2" '[d["SceneId"], d["OutputType"], d["LayoutId"], d["Status"]]')" "[\"$G2\", 1, \"$L1\", 0]" \
    "... PGM's config copied, stopped"

# An older caster without scenes: StartCaster makes them.
rcli HDEL "${PFX}caster:$C2" pvw pgm "scene:$P2" "scene:$G2" >/dev/null
api StartCaster CasterId="$C2"
ok $? "StartCaster of a caster without scenes" || diag "$API_BODY"
P3=$(rcli HGET "${PFX}caster:$C2" pvw)
is "$(j "$API_BODY" 'd["PvwSceneInfos"]["SceneInfo"][0]["SceneId"]')" "$P3" "... creates them and answers their ids"
is "$(hj "$C2" "scene:$P3" '[d["OutputType"], d["Status"]]')" '[0, 1]' "... PVW stored, started"
api StopCaster CasterId="$C2"

rcli SET "${PFX}caster:lease:$C1" le-test-node PX 60000 >/dev/null
api DeleteCaster CasterId="$C1"
ok $? "DeleteCaster once stopped" || diag "$API_BODY"
is "$(rcli EXISTS "${PFX}caster:$C1") $(rcli EXISTS "${PFX}caster:lease:$C1")" "0 0" "... the hash and the lease are gone"
bad 404 InvalidCaster.NotFound "StartCaster of a deleted caster" StartCaster CasterId="$C1"
bad 404 InvalidCaster.NotFound "DescribeCasterScenes of a deleted caster" DescribeCasterScenes CasterId="$C1"

# ---- events -------------------------------------------------------------------------------
sleep 0.3
le_kill "$SUB_PID"
n=$(grep -c "^caster $C1\$" "$EVENTS")
ok "$([ "$n" -ge 20 ]; echo $?)" "the writes published \"caster {CasterId}\" on the events channel ($n times)"

use A
le_stop
use B
le_stop
done_testing
