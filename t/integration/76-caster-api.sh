#!/bin/sh
# 76-caster-api: the production studio's configuration actions (man livedge.8,
# docs/STUDIO.md), their exact answers and their Redis state:
#  - CreateCaster (ClientToken idempotent: the same token gives the same
#    CasterId and no second caster), DescribeCasters (filters, paging),
#    SetCasterConfig (full overwrite) / DescribeCasterConfig, CopyCaster
#    (objects copied), DeleteCaster (IncorrectCasterStatus while running);
#  - video resources (RV01-RV12, DuplicateLocationID, one kind of source),
#    layouts (the size mismatches, InvalidPositionNormalized.Malformed,
#    references to missing resources), components (RC01-RC99, caption
#    refused), each Add/Modify/Delete/Describe with exact field names;
#  - unknown ids; one call through the official SDK (@alicloud/pop-core)
#    on a signed node sharing the Redis of the unsigned one.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck shell=bash
: "${LE_SCRIPT_TIMEOUT:=200}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool python3 curl redis-server redis-cli

LE_BASE_NAME=$LE_NAME
LE_WAIT_PORTS="rtmp http admin"
AK=LTAItestid4caster
SK=test-secret-4caster
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


# ---- CreateCaster -----------------------------------------------------------------
TOK=53200b81-b761-4c10-842a-a0726d972293
api CreateCaster CasterName=studio1 ClientToken=$TOK NormType=1 ChargeType=PostPaid CasterTemplate=lp_hd
ok $? "CreateCaster" || diag "$API_BODY"
C1=$(j "$API_BODY" 'd["CasterId"]')
like "$C1" "$ID" "... answers a CasterId (a UUID)"
is "$(keys)" '["CasterId", "RequestId"]' "... and nothing else"
is "$(rcli GET "${PFX}castertoken:$TOK")" "$C1" "... castertoken:{ClientToken} holds it"
is "$(rcli SISMEMBER "${PFX}casters" "$C1")" 1 "... it joins the casters set"
is "$(rcli HGET "${PFX}caster:$C1" status)" 0 "... status 0 (stopped)"
is "$(j "$(rcli HGET "${PFX}caster:$C1" info)" '[d["CasterName"], d["NormType"], d["ChargeType"], d["CasterTemplate"], d["ClientToken"]]')" \
    "[\"studio1\", 1, \"PostPaid\", \"lp_hd\", \"$TOK\"]" "... info stored"
api CreateCaster CasterName=other ClientToken=$TOK NormType=1 ChargeType=PostPaid
is "$API_CODE $(j "$API_BODY" 'd["CasterId"]')" "200 $C1" "the same ClientToken again: the same CasterId"
is "$(rcli SCARD "${PFX}casters")" 1 "... and no second caster"
api CreateCaster ClientToken=tok-2 NormType=0 ChargeType=PostPaid
C2=$(j "$API_BODY" 'd["CasterId"]')
ok "$([ "$API_CODE" = 200 ] && [ "$C2" != "$C1" ]; echo $?)" "another token: another caster"
bad 400 MissingParameter "CreateCaster without ClientToken" CreateCaster NormType=1 ChargeType=PostPaid
bad 400 InvalidNormType.Malformed "NormType 2" CreateCaster ClientToken=t3 NormType=2 ChargeType=PostPaid
bad 400 InvalidChargeType.Malformed "ChargeType Monthly" CreateCaster ClientToken=t3 NormType=1 ChargeType=Monthly
bad 400 InvalidParameter.Malformed "PrePaid without CasterTemplate" CreateCaster ClientToken=t3 NormType=1 ChargeType=PrePaid
is "$(rcli EXISTS "${PFX}castertoken:t3")" 0 "refused calls leave no token"

# ---- DescribeCasters --------------------------------------------------------------
api DescribeCasters
ok $? "DescribeCasters" || diag "$API_BODY"
is "$(keys)" '["CasterList", "RequestId", "Total"]' "... keys"
is "$(j "$API_BODY" '[d["Total"], len(d["CasterList"])]')" "[2, 2]" "... both casters"
api DescribeCasters CasterId="$C1"
is "$(j "$API_BODY" 'sorted(d["CasterList"][0].keys())')" \
    '["CasterId", "CasterName", "CasterTemplate", "ChannelEnable", "ChargeType", "CreateTime", "ExpireTime", "NormType", "PurchaseTime", "StartTime", "Status"]' \
    "... a caster's fields"
is "$(j "$API_BODY" '[d["Total"], d["CasterList"][0]["CasterName"], d["CasterList"][0]["Status"]]')" \
    '[1, "studio1", 0]' "CasterId filter"
api DescribeCasters CasterName="$C2"
is "$(j "$API_BODY" '[d["Total"], d["CasterList"][0]["CasterId"]]')" "[1, \"$C2\"]" \
    "CasterName filter (a caster without a name is named by its id)"
api DescribeCasters PageSize=1 PageNum=2
is "$(j "$API_BODY" '[d["Total"], len(d["CasterList"])]')" "[2, 1]" "PageSize 1 PageNum 2"
api DescribeCasters Status=1
is "$(j "$API_BODY" 'd["Total"]')" 0 "Status 1: none running"
api DescribeCasters "EndTime=$(utc -3600)"
is "$(j "$API_BODY" 'd["Total"]')" 0 "EndTime an hour ago: none"
bad 400 InvalidStatus.Malformed "Status 2" DescribeCasters Status=2
bad 400 InvalidPageSize.Malformed "PageSize 0" DescribeCasters PageSize=0
bad 400 InvalidStartTime.Malformed "StartTime malformed" DescribeCasters StartTime=yesterday

# ---- SetCasterConfig / DescribeCasterConfig -----------------------------------------
api DescribeCasterConfig CasterId="$C1"
is "$(keys)" '["CallbackUrl", "CasterId", "CasterName", "ChannelEnable", "Delay", "DomainName", "ProgramEffect", "ProgramName", "RecordConfig", "RequestId", "SideOutputUrl", "TranscodeConfig", "UrgentMaterialId"]' \
    "DescribeCasterConfig before any SetCasterConfig: every key"
api SetCasterConfig CasterId="$C1" CasterName=studio1b DomainName=live.test Delay=2.5 \
    'TranscodeConfig={"casterTemplate":"lp_sd","liveTemplate":["lld","lhd"]}' UrgentMaterialId=slate.mp4
ok $? "SetCasterConfig" || diag "$API_BODY"
is "$(j "$API_BODY" 'd["CasterId"]')" "$C1" "... answers the CasterId"
api DescribeCasterConfig CasterId="$C1"
is "$(j "$API_BODY" '[d["CasterName"], d["DomainName"], d["Delay"], d["TranscodeConfig"], d["UrgentMaterialId"], d["ProgramEffect"]]')" \
    '["studio1b", "live.test", 2.5, {"CasterTemplate": "lp_sd", "LiveTemplate": ["lld", "lhd"]}, "slate.mp4", 0]' \
    "DescribeCasterConfig: what was set"
api DescribeCasters CasterId="$C1"
is "$(j "$API_BODY" 'd["CasterList"][0]["ChannelEnable"]')" 0 "DescribeCasters: ChannelEnable 0 from the config"
api SetCasterConfig CasterId="$C1" ChannelEnable=1
api DescribeCasters CasterId="$C1"
is "$(j "$API_BODY" '[d["CasterList"][0]["ChannelEnable"], d["CasterList"][0]["CasterName"]]')" '[1, "studio1b"]' \
    "... 1 once the config enables channels"
api SetCasterConfig CasterId="$C1" Delay=1
api DescribeCasterConfig CasterId="$C1"
is "$(j "$API_BODY" '[d["CasterName"], d["DomainName"], d["Delay"], d["TranscodeConfig"], d["UrgentMaterialId"]]')" \
    '["studio1b", "", 1, {"CasterTemplate": "", "LiveTemplate": []}, ""]' \
    "SetCasterConfig is a full overwrite (CasterName kept when not given)"
bad 404 InvalidDomain.NotFound "SetCasterConfig with an unknown domain" SetCasterConfig CasterId="$C1" DomainName=nope.test
bad 400 InvalidParameter "SetCasterConfig with LiveTemplate hd" SetCasterConfig CasterId="$C1" 'TranscodeConfig={"LiveTemplate":["hd"]}'
bad 404 InvalidCaster.NotFound "SetCasterConfig of an unknown caster" SetCasterConfig CasterId=00000000-0000-4000-8000-000000000000
bad 404 InvalidCaster.NotFound "DescribeCasterConfig of an unknown caster" DescribeCasterConfig CasterId=nope

# ---- video resources -----------------------------------------------------------------
api AddCasterVideoResource CasterId="$C1" ResourceName=cam1 LocationId=RV01 LiveStreamUrl=rtmp://127.0.0.1/live/cam1
ok $? "AddCasterVideoResource RV01 (live)" || diag "$API_BODY"
R1=$(j "$API_BODY" 'd["ResourceId"]')
is "$(keys)" '["RequestId", "ResourceId"]' "... answers the ResourceId"
is "$(rcli HGET "${PFX}caster:$C1" rloc:RV01)" "$R1" "... rloc:RV01 names it"
api AddCasterVideoResource CasterId="$C1" ResourceName=file LocationId=RV02 VodUrl=http://127.0.0.1/a.mp4 \
    RepeatNum=-1 BeginOffset=1000 EndOffset=-500
ok $? "AddCasterVideoResource RV02 (file)" || diag "$API_BODY"
R2=$(j "$API_BODY" 'd["ResourceId"]')
bad 400 DuplicateLocationID "RV01 again" AddCasterVideoResource CasterId="$C1" LocationId=RV01 MaterialId=a.mp4
bad 400 InvalidLocationId.Malformed "RV13" AddCasterVideoResource CasterId="$C1" LocationId=RV13 MaterialId=a.mp4
bad 400 InvalidLocationId.Malformed "RC01 for a video resource" AddCasterVideoResource CasterId="$C1" LocationId=RC01 MaterialId=a.mp4
bad 400 InvalidParameter.Malformed "no source" AddCasterVideoResource CasterId="$C1" LocationId=RV03
bad 400 InvalidLiveStreamUrl.Malformed "LiveStreamUrl ftp" AddCasterVideoResource CasterId="$C1" LocationId=RV03 LiveStreamUrl=ftp://x/y
bad 404 InvalidCaster.NotFound "AddCasterVideoResource to an unknown caster" AddCasterVideoResource CasterId=nope LocationId=RV03 MaterialId=a.mp4
api DescribeCasterVideoResources CasterId="$C1"
ok $? "DescribeCasterVideoResources" || diag "$API_BODY"
is "$(j "$API_BODY" '[d["Total"], [r["LocationId"] for r in d["VideoResources"]]]')" '[2, ["RV01", "RV02"]]' "... both, by LocationId"
is "$(j "$API_BODY" 'd["VideoResources"][1]')" \
    "{\"BeginOffset\": 1000, \"EndOffset\": -500, \"LiveStreamUrl\": \"\", \"LocationId\": \"RV02\", \"MaterialId\": \"\", \"RepeatNum\": -1, \"ResourceId\": \"$R2\", \"ResourceName\": \"file\", \"VodUrl\": \"http://127.0.0.1/a.mp4\"}" \
    "... the file resource, exact"
api ModifyCasterVideoResource CasterId="$C1" ResourceId="$R1" ResourceName=cam1b LiveStreamUrl=rtmp://127.0.0.1/live/cam9
ok $? "ModifyCasterVideoResource" || diag "$API_BODY"
is "$(j "$API_BODY" '[d["CasterId"], d["ResourceId"]]')" "[\"$C1\", \"$R1\"]" "... answers both ids"
api DescribeCasterVideoResources CasterId="$C1"
is "$(j "$API_BODY" '[d["VideoResources"][0]["ResourceName"], d["VideoResources"][0]["LiveStreamUrl"], d["VideoResources"][0]["LocationId"]]')" \
    '["cam1b", "rtmp://127.0.0.1/live/cam9", "RV01"]' "... modified, LocationId kept"
bad 404 InvalidResource.NotFound "ModifyCasterVideoResource of an unknown resource" \
    ModifyCasterVideoResource CasterId="$C1" ResourceId=00000000-0000-4000-8000-000000000000 ResourceName=x
api AddCasterVideoResource CasterId="$C1" LocationId=RV03 MaterialId=clip.mp4
R3=$(j "$API_BODY" 'd["ResourceId"]')
api DeleteCasterVideoResource CasterId="$C1" ResourceId="$R3"
ok $? "DeleteCasterVideoResource" || diag "$API_BODY"
is "$(rcli HEXISTS "${PFX}caster:$C1" rloc:RV03)$(rcli HEXISTS "${PFX}caster:$C1" "res:$R3")" 00 "... its fields are gone"
bad 404 InvalidResource.NotFound "DeleteCasterVideoResource again" DeleteCasterVideoResource CasterId="$C1" ResourceId="$R3"
api AddCasterVideoResource CasterId="$C1" LocationId=RV03 MaterialId=clip.mp4
ok $? "RV03 is free again" || diag "$API_BODY"

# ---- layouts ------------------------------------------------------------------------
PIP=(CasterId="$C1" VideoLayer.1.HeightNormalized=1 VideoLayer.1.WidthNormalized=1
     VideoLayer.2.HeightNormalized=0.25 VideoLayer.2.WidthNormalized=0.25
     VideoLayer.2.PositionNormalized.1=0.7 VideoLayer.2.PositionNormalized.2=0.05 VideoLayer.2.FixedDelayDuration=100
     AudioLayer.1.VolumeRate=1 AudioLayer.2.VolumeRate=0.5 AudioLayer.2.ValidChannel=leftChannel
     BlendList.1=RV01 BlendList.2=RV02 MixList.1=RV01 MixList.2=RV02)
api AddCasterLayout "${PIP[@]}"
ok $? "AddCasterLayout (picture in picture)" || diag "$API_BODY"
L1=$(j "$API_BODY" 'd["LayoutId"]')
is "$(keys)" '["LayoutId", "RequestId"]' "... answers the LayoutId"
api DescribeCasterLayouts CasterId="$C1"
ok $? "DescribeCasterLayouts" || diag "$API_BODY"
is "$(j "$API_BODY" 'd["Layouts"][0]')" \
    "{\"AudioLayers\": [{\"FixedDelayDuration\": 0, \"ValidChannel\": \"all\", \"VolumeRate\": 1}, {\"FixedDelayDuration\": 0, \"ValidChannel\": \"leftChannel\", \"VolumeRate\": 0.5}], \"BlendList\": [\"RV01\", \"RV02\"], \"LayoutId\": \"$L1\", \"MixList\": [\"RV01\", \"RV02\"], \"VideoLayers\": [{\"FillMode\": \"none\", \"FixedDelayDuration\": 0, \"HeightNormalized\": 1, \"PositionNormalized\": [0, 0], \"PositionRefer\": \"topLeft\", \"WidthNormalized\": 1}, {\"FillMode\": \"none\", \"FixedDelayDuration\": 100, \"HeightNormalized\": 0.25, \"PositionNormalized\": [0.7, 0.05], \"PositionRefer\": \"topLeft\", \"WidthNormalized\": 0.25}]}" \
    "... the layout, exact"
bad 400 InvalidVideoLayersAndBlendListSize.Mismatch "2 video layers, 1 BlendList" \
    AddCasterLayout CasterId="$C1" VideoLayer.1.HeightNormalized=1 VideoLayer.2.HeightNormalized=1 BlendList.1=RV01
bad 400 InvalidAudioLayersAndMixListSize.Mismatch "1 audio layer, 2 MixList" \
    AddCasterLayout CasterId="$C1" AudioLayer.1.VolumeRate=1 MixList.1=RV01 MixList.2=RV02
bad 400 InvalidPositionNormalized.Malformed "PositionNormalized of one number" \
    AddCasterLayout CasterId="$C1" VideoLayer.1.PositionNormalized.1=0.5 BlendList.1=RV01
bad 400 InvalidLocationId.Malformed "BlendList RV00" AddCasterLayout CasterId="$C1" VideoLayer.1.HeightNormalized=1 BlendList.1=RV00
bad 404 InvalidResource.NotFound "BlendList naming a location without a resource" \
    AddCasterLayout CasterId="$C1" VideoLayer.1.HeightNormalized=1 BlendList.1=RV09
api ModifyCasterLayout CasterId="$C1" LayoutId="$L1" AudioLayer.1.VolumeRate=2 MixList.1=RV02
ok $? "ModifyCasterLayout (audio only)" || diag "$API_BODY"
is "$(j "$API_BODY" '[d["CasterId"], d["LayoutId"]]')" "[\"$C1\", \"$L1\"]" "... answers both ids"
api DescribeCasterLayouts CasterId="$C1" LayoutId="$L1"
is "$(j "$API_BODY" '[d["Total"], d["Layouts"][0]["MixList"], d["Layouts"][0]["AudioLayers"][0]["VolumeRate"], d["Layouts"][0]["BlendList"], len(d["Layouts"][0]["VideoLayers"])]')" \
    '[1, ["RV02"], 2, ["RV01", "RV02"], 2]' "... audio replaced, video kept"
bad 400 InvalidAudioLayersAndMixListSize.Mismatch "ModifyCasterLayout: MixList of 2 against the 1 AudioLayer" \
    ModifyCasterLayout CasterId="$C1" LayoutId="$L1" MixList.1=RV01 MixList.2=RV02
bad 404 InvalidLayout.NotFound "ModifyCasterLayout of an unknown layout" ModifyCasterLayout CasterId="$C1" LayoutId=nope MixList.1=RV01
bad 404 InvalidLayout.NotFound "DescribeCasterLayouts of an unknown layout" DescribeCasterLayouts CasterId="$C1" LayoutId=nope
api AddCasterLayout CasterId="$C1" VideoLayer.1.FillMode=fit VideoLayer.1.HeightNormalized=1 VideoLayer.1.WidthNormalized=1 BlendList.1=RV02
L2=$(j "$API_BODY" 'd["LayoutId"]')
api DeleteCasterLayout CasterId="$C1" LayoutId="$L2"
ok $? "DeleteCasterLayout" || diag "$API_BODY"
is "$(j "$API_BODY" '[d["CasterId"], d["LayoutId"]]')" "[\"$C1\", \"$L2\"]" "... echoes both ids"
bad 404 InvalidLayout.NotFound "DeleteCasterLayout again" DeleteCasterLayout CasterId="$C1" LayoutId="$L2"

# ---- components ---------------------------------------------------------------------
api AddCasterComponent CasterId="$C1" ComponentName=title LocationId=RC01 ComponentType=text Effect=none \
    'ComponentLayer={"HeightNormalized":0.1,"WidthNormalized":0.5,"PositionNormalized":[0.05,0.85],"PositionRefer":"topLeft"}' \
    'TextLayerContent={"Text":"Live 直播","Color":"0xffffff","FontName":"KaiTi","SizeNormalized":0.06,"BorderWidthNormalized":0.1,"BorderColor":"0x000000"}'
ok $? "AddCasterComponent text RC01" || diag "$API_BODY"
K1=$(j "$API_BODY" 'd["ComponentId"]')
is "$(keys)" '["ComponentId", "RequestId"]' "... answers the ComponentId"
api AddCasterComponent CasterId="$C1" LocationId=RC02 ComponentType=image 'ImageLayerContent={"MaterialId":"logo.png"}'
ok $? "AddCasterComponent image RC02" || diag "$API_BODY"
K2=$(j "$API_BODY" 'd["ComponentId"]')
bad 400 InvalidComponentType.NotSupported "a caption component" AddCasterComponent CasterId="$C1" LocationId=RC03 \
    ComponentType=caption 'CaptionLayerContent={"LocationId":"RV01"}'
like "$(j "$API_BODY" 'd["Message"]')" "speech recognition" "... the message says why"
bad 400 DuplicateLocationID "RC01 again" AddCasterComponent CasterId="$C1" LocationId=RC01 ComponentType=image \
    'ImageLayerContent={"MaterialId":"x.png"}'
bad 400 InvalidLocationId.Malformed "RC100" AddCasterComponent CasterId="$C1" LocationId=RC100 ComponentType=image \
    'ImageLayerContent={"MaterialId":"x.png"}'
bad 400 MissingParameter "text without TextLayerContent" AddCasterComponent CasterId="$C1" LocationId=RC04 ComponentType=text
api DescribeCasterComponents CasterId="$C1"
ok $? "DescribeCasterComponents" || diag "$API_BODY"
is "$(j "$API_BODY" 'd["Components"][0]')" \
    "{\"ComponentId\": \"$K1\", \"ComponentLayer\": {\"HeightNormalized\": 0.1, \"PositionNormalized\": [0.05, 0.85], \"PositionRefer\": \"topLeft\", \"WidthNormalized\": 0.5}, \"ComponentName\": \"title\", \"ComponentType\": \"text\", \"Effect\": \"none\", \"LocationId\": \"RC01\", \"TextLayerContent\": {\"BorderColor\": \"0x000000\", \"BorderWidthNormalized\": 0.1, \"Color\": \"0xffffff\", \"FontName\": \"KaiTi\", \"SizeNormalized\": 0.06, \"Text\": \"Live \\u76f4\\u64ad\"}}" \
    "... the text component, exact"
is "$(j "$API_BODY" '[d["Total"], d["Components"][1]["ImageLayerContent"]]')" '[2, {"MaterialId": "logo.png"}]' "... and the image"
api ModifyCasterComponent CasterId="$C1" ComponentId="$K1" LocationId=RC05 'TextLayerContent={"Text":"new"}'
ok $? "ModifyCasterComponent (text and LocationId)" || diag "$API_BODY"
api DescribeCasterComponents CasterId="$C1" ComponentId="$K1"
is "$(j "$API_BODY" '[d["Total"], d["Components"][0]["LocationId"], d["Components"][0]["TextLayerContent"]["Text"], d["Components"][0]["ComponentLayer"]["PositionNormalized"]]')" \
    '[1, "RC05", "new", [0.05, 0.85]]' "... modified, layer kept"
is "$(rcli HEXISTS "${PFX}caster:$C1" cloc:RC01) $(rcli HGET "${PFX}caster:$C1" cloc:RC05)" "0 $K1" "... the location moved"
bad 400 DuplicateLocationID "ModifyCasterComponent onto a taken LocationId" \
    ModifyCasterComponent CasterId="$C1" ComponentId="$K1" LocationId=RC02
bad 404 InvalidComponent.NotFound "DescribeCasterComponents of an unknown component" DescribeCasterComponents CasterId="$C1" ComponentId=nope
api DeleteCasterComponent CasterId="$C1" ComponentId="$K2"
ok $? "DeleteCasterComponent" || diag "$API_BODY"
bad 404 InvalidComponent.NotFound "DeleteCasterComponent again" DeleteCasterComponent CasterId="$C1" ComponentId="$K2"

# ---- the SDK on the signed node (same Redis) ------------------------------------------
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
    out=$(NODE_PATH=$LE_POPCORE_DIR/node_modules timeout 30 node "$LE_DIR/sdk.js" "$N_A_ADMIN" "$AK" "$SK" \
        DescribeCasterVideoResources "{\"CasterId\":\"$C1\"}" 2>&1)
    is "$(j "${out#OK }" '[r["LocationId"] for r in d["VideoResources"]]')" '["RV01", "RV02", "RV03"]' \
        "pop-core DescribeCasterVideoResources on the signed node sees node B's writes" || diag "$out"
    out=$(NODE_PATH=$LE_POPCORE_DIR/node_modules timeout 30 node "$LE_DIR/sdk.js" "$N_A_ADMIN" "$AK" "$SK" \
        AddCasterLayout "{\"CasterId\":\"$C1\",\"VideoLayer.1.HeightNormalized\":1,\"BlendList.1\":\"RV01\",\"BlendList.2\":\"RV02\"}" 2>&1)
    is "$out" "ERR InvalidVideoLayersAndBlendListSize.Mismatch" "pop-core AddCasterLayout mismatch: the error code"
else
    skip 2 "node or @alicloud/pop-core not available"
fi

# ---- CopyCaster, DeleteCaster ---------------------------------------------------------
api CopyCaster SrcCasterId="$C1" CasterName=copy1 ClientToken=copy-tok
ok $? "CopyCaster" || diag "$API_BODY"
C3=$(j "$API_BODY" 'd["CasterId"]')
ok "$([ -n "$C3" ] && [ "$C3" != "$C1" ]; echo $?)" "... a new CasterId"
api CopyCaster SrcCasterId="$C1" CasterName=copy1 ClientToken=copy-tok
is "$(j "$API_BODY" 'd["CasterId"]')" "$C3" "... the same ClientToken again: the same copy"
api DescribeCasterVideoResources CasterId="$C3"
is "$(j "$API_BODY" '[r["LocationId"] for r in d["VideoResources"]]')" '["RV01", "RV02", "RV03"]' "... resources copied"
api DescribeCasterLayouts CasterId="$C3"
is "$(j "$API_BODY" '[d["Total"], d["Layouts"][0]["LayoutId"]]')" "[1, \"$L1\"]" "... layouts copied"
api DescribeCasters CasterId="$C3"
is "$(j "$API_BODY" '[d["CasterList"][0]["CasterName"], d["CasterList"][0]["CasterTemplate"], d["CasterList"][0]["Status"]]')" \
    '["copy1", "lp_hd", 0]' "... named, with the source's template, stopped"
bad 404 InvalidCaster.NotFound "CopyCaster of an unknown caster" CopyCaster SrcCasterId=nope ClientToken=copy-2

rcli HSET "${PFX}caster:$C1" status 1 >/dev/null
bad 400 IncorrectCasterStatus "DeleteCaster while running" DeleteCaster CasterId="$C1"
is "$(rcli EXISTS "${PFX}caster:$C1")" 1 "... the caster stays"
rcli HSET "${PFX}caster:$C1" status 0 >/dev/null
api DeleteCaster CasterId="$C1"
ok $? "DeleteCaster once stopped" || diag "$API_BODY"
is "$(j "$API_BODY" 'd["CasterId"]')" "$C1" "... echoes the CasterId"
is "$(rcli EXISTS "${PFX}caster:$C1") $(rcli SISMEMBER "${PFX}casters" "$C1") $(rcli EXISTS "${PFX}castertoken:$TOK")" \
    "0 0 0" "... hash, set member and token gone"
bad 404 InvalidCaster.NotFound "DeleteCaster again" DeleteCaster CasterId="$C1"
bad 404 InvalidCaster.NotFound "DescribeCasterLayouts of the deleted caster" DescribeCasterLayouts CasterId="$C1"
api CreateCaster ClientToken=$TOK NormType=1 ChargeType=PostPaid
ok "$([ "$API_CODE" = 200 ] && [ "$(j "$API_BODY" 'd["CasterId"]')" != "$C1" ]; echo $?)" \
    "the deleted caster's ClientToken makes a new caster"

use A
le_stop
use B
le_stop
done_testing
