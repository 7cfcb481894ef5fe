#!/bin/sh
# 92-hls-fmp4-codecs: what the fmp4 and lowlatency HLS variants carry
# (docs/HLS.md). Two domains: the default one with `hls_variant fmp4;` and
# ll.test with `hls_variant lowlatency; hls_part 200ms;` (asked for with
# a Host header), both with 1 s segments. Published at once:
#  - H.264 640x360 + AAC by ffmpeg, to both domains;
#  - HEVC 640x360 (libx265, a keyframe every second) + AAC by rtmp-pub.py as
#    enhanced-RTMP 'hvc1' (Debian's ffmpeg 5.1 cannot publish HEVC over FLV),
#    to both domains;
#  - AV1 640x360 (libaom, realtime) + Opus by rtmp-pub.py as enhanced-RTMP
#    'av01' and 'Opus' (what MPEG-TS cannot carry), to both domains.
# For each: ffprobe reads the playlist (codecs, size); the EXT-X-MAP init
# section is ftyp+moov, a segment is moof+mdat; init + one whole segment,
# as one file, carries the right sample entries (avc1 / hvc1 / av01, mp4a /
# Opus), decodes to 25 frames (1 s at 25 fps) of 640x360, and its video lasts
# the segment's EXTINF (one frame of slack); its audio decodes. lowlatency
# also: the segment's EXT-X-PART lines, about 200 ms each, add up to its
# EXTINF, the first is INDEPENDENT, and the parts' bytes concatenated are
# the segment's (init + parts decode to the same 25 frames).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl redis-server
ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx265 || le_skip_all "ffmpeg has no libx265 encoder"
HAVE_AV1=1
ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libaom-av1 &&
    ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libopus || HAVE_AV1=""

PUB=$LE_T_SRCDIR/rtmp-pub.py
LL=ll.test
SECS=60     # what each publisher sends (s)

# ---- media, made before the node starts ------------------------------------------
mk() { ffmpeg -hide_banner -nostdin -loglevel error -y "$@" 2>>"$LE_DIR/ffmpeg.log"; }
mk -f lavfi -i testsrc2=size=640x360:rate=25 -t $SECS -c:v libx265 -preset ultrafast \
    -x265-params log-level=error:keyint=25:min-keyint=25:scenecut=0:bframes=0 -pix_fmt yuv420p -f hevc \
    "$LE_DIR/h.hevc" &&
    mk -f lavfi -i sine=frequency=440:sample_rate=44100 -t $SECS -c:a aac -b:a 64k -ac 1 -f flv "$LE_DIR/aac.flv"
ok $? "ffmpeg makes the inputs ($SECS s of HEVC 640x360, a keyframe every second; AAC in FLV)" ||
    le_abort "$(tail -n 5 "$LE_DIR/ffmpeg.log")"
if [ -n "$HAVE_AV1" ]; then
    mk -f lavfi -i testsrc2=size=640x360:rate=25 -t $SECS -c:v libaom-av1 -usage realtime -cpu-used 8 \
        -g 25 -keyint_min 25 -b:v 500k -pix_fmt yuv420p -f ivf "$LE_DIR/a.ivf" &&
        mk -f lavfi -i sine=frequency=440:sample_rate=48000 -t $SECS -c:a libopus -b:a 48k -ac 2 \
            -frame_duration 20 -f ogg "$LE_DIR/o.ogg"
    ok $? "ffmpeg makes the AV1 (libaom, a keyframe every second) and Opus (20 ms packets) inputs" ||
        { diag "$(tail -n 5 "$LE_DIR/ffmpeg.log")"; HAVE_AV1=""; }
fi

LE_DOMAIN_CONF="    hls_variant fmp4;"
LE_EXTRA_CONF="domain $LL {
    hls_fragment 1s;
    hls_window   6;
    hls_variant  lowlatency;
    hls_part     200ms;
}"
le_start || le_abort "livedge did not start"
H=http://127.0.0.1:$LE_HTTP_PORT

# ---- the publishers ----------------------------------------------------------------
PIDS=""
# rpub OUT ARGS...: rtmp-pub.py in the background, its stdout in OUT.
rpub() {
    local out=$1 pid; shift
    le_bg pid timeout -k 3 $((SECS + 30)) "$LE_PY" "$PUB" --realtime "$@" >"$out" 2>&1
    PIDS="$PIDS $pid"
}
said() { le_wait_for "$3" grep -q "^$2" "$1"; }

LE_PUB_SECS=$SECS le_publish h264 -g 25 -keyint_min 25 -sc_threshold 0
PIDS="$PIDS $LE_PUB_PID"; P1=$LE_PUB_PROGRESS; L1=$LE_PUB_LOG
LE_PUB_SECS=$SECS le_publish "h264?vhost=$LL" -g 25 -keyint_min 25 -sc_threshold 0
PIDS="$PIDS $LE_PUB_PID"; P2=$LE_PUB_PROGRESS; L2=$LE_PUB_LOG
rpub "$LE_DIR/pub-hevc.out" "$LE_RTMP_PORT" live hevc "hevc:$LE_DIR/h.hevc:25+flv:$LE_DIR/aac.flv"
rpub "$LE_DIR/pub-hevc-ll.out" "$LE_RTMP_PORT" live "hevc?vhost=$LL" "hevc:$LE_DIR/h.hevc:25+flv:$LE_DIR/aac.flv"
if [ -n "$HAVE_AV1" ]; then
    rpub "$LE_DIR/pub-av1.out" "$LE_RTMP_PORT" live av1 "av1:$LE_DIR/a.ivf+opus:$LE_DIR/o.ogg"
    rpub "$LE_DIR/pub-av1-ll.out" "$LE_RTMP_PORT" live "av1?vhost=$LL" "av1:$LE_DIR/a.ivf+opus:$LE_DIR/o.ogg"
fi

le_wait_publishing "$P1" 15 && le_wait_publishing "$P2" 15
ok $? "ffmpeg publishes live/h264 (H.264 + AAC) to both domains" || diag "$(cat "$L1" "$L2")"
said "$LE_DIR/pub-hevc.out" publishing 15 && said "$LE_DIR/pub-hevc-ll.out" publishing 15
ok $? "rtmp-pub.py publishes live/hevc (enhanced RTMP 'hvc1' + AAC) to both domains" ||
    diag "$(cat "$LE_DIR/pub-hevc.out" "$LE_DIR/pub-hevc-ll.out")"
if [ -n "$HAVE_AV1" ]; then
    said "$LE_DIR/pub-av1.out" publishing 15 && said "$LE_DIR/pub-av1-ll.out" publishing 15
    ok $? "rtmp-pub.py publishes live/av1 (enhanced RTMP 'av01' + 'Opus') to both domains" ||
        diag "$(cat "$LE_DIR/pub-av1.out" "$LE_DIR/pub-av1-ll.out")"
fi

# ---- helpers -------------------------------------------------------------------------
# pl HOST NAME: live/NAME's playlist on domain HOST (CRs removed).
pl() { curl -s -m 5 -H "Host: $1" "$H/live/$2.m3u8" | tr -d '\r'; }
# parse: a playlist on stdin, as lines "map URI", "seg SEQ DUR URI" (whole
# segments) and "part SEQ DUR INDEP URI RANGE" (SEQ: the segment it belongs
# to; RANGE: FIRST-LAST of a BYTERANGE part, else -).
parse() {
    "$LE_PY" -c '
import re, sys
seq, dur, pend, nxt = 0, None, [], {}
for l in sys.stdin.read().splitlines():
    if l.startswith("#EXT-X-MEDIA-SEQUENCE:"):
        seq = int(l.split(":", 1)[1])
    elif l.startswith("#EXT-X-MAP:"):
        print("map", re.search(r"URI=\"([^\"]*)\"", l).group(1))
    elif l.startswith("#EXT-X-PART:"):
        d = float(re.search(r"DURATION=([0-9.]+)", l).group(1))
        u = re.search(r"URI=\"([^\"]*)\"", l).group(1)
        r, br = "-", re.search(r"BYTERANGE=\"?([0-9]+)(@([0-9]+))?", l)
        if br:      # a byte range of a segment: FIRST-LAST for curl -r
            n = int(br.group(1))
            o = int(br.group(3)) if br.group(3) else nxt.get(u, 0)
            nxt[u] = o + n
            r = "%d-%d" % (o, o + n - 1)
        pend.append("part %d %.3f %d %s %s" % (seq, d, "INDEPENDENT=YES" in l, u, r))
    elif l.startswith("#EXTINF:"):
        dur = float(l.split(":", 1)[1].split(",")[0])
    elif l and not l.startswith("#"):
        for p in pend: print(p)
        pend = []
        print("seg %d %.3f %s" % (seq, dur, l))
        seq += 1
for p in pend: print(p)
'
}
# url URI: the absolute URL of a URI in live/'s playlist.
url() { case $1 in http*) echo "$1" ;; /*) echo "$H$1" ;; *) echo "$H/live/$1" ;; esac; }
# get HOST URI FILE [RANGE]: GET (of the byte range FIRST-LAST) into FILE;
# prints the HTTP status.
get() {
    local r=()
    [ -n "${4:-}" ] && [ "$4" != - ] && r=(-r "$4")
    curl -s -m 10 -H "Host: $1" "${r[@]}" -o "$3" -w '%{http_code}' "$(url "$2")"
}
# boxes FILE: its top-level ISO BMFF box types ("ftyp moov").
boxes() {
    "$LE_PY" -c '
import struct, sys
d, o, out = open(sys.argv[1], "rb").read(), 0, []
while o + 8 <= len(d):
    n = struct.unpack(">I", d[o:o + 4])[0]
    out.append(d[o + 4:o + 8].decode("latin-1"))
    if n == 1: n = struct.unpack(">Q", d[o + 8:o + 16])[0]
    if n < 8: break
    o += n
print(" ".join(out))' "$1" 2>/dev/null
}
# streams FILE|URL [ffprobe args]: "type,codec,tag[,w,h]" per stream, sorted
# ("audio,aac,mp4a video,h264,avc1,640,360").
streams() {
    local f=$1; shift
    timeout -k 3 30 ffprobe -v error "$@" -show_entries stream=codec_type,codec_name,codec_tag_string,width,height \
        -of json "$f" 2>>"$LE_DIR/ffprobe.log" | "$LE_PY" -c '
import json, sys
try:
    s = json.load(sys.stdin).get("streams", [])
except ValueError:
    s = []
out = []
for x in s:
    r = [x.get("codec_type", ""), x.get("codec_name", ""), x.get("codec_tag_string", "")]
    if x.get("width"):
        r += [str(x["width"]), str(x["height"])]
    out.append(",".join(r))
print(" ".join(sorted(out)))'
}
# untag: streams' output without the codec tags (the HLS demuxer's own).
untag() { tr ' ' '\n' | awk -F, -v OFS=, '{$3 = ""; sub(/,,/, ","); sub(/,$/, ""); print}' | tr '\n' ' ' | sed 's/ $//'; }
# vframes FILE: "N WxH DUR": decoded video frames, their sizes (runs merged)
# and the span of their timestamps plus one frame (s).
vframes() {
    timeout -k 3 60 ffprobe -v error -select_streams v:0 -show_entries frame=width,height,pts_time \
        -of csv=p=0 "$1" 2>>"$LE_DIR/ffprobe.log" | "$LE_PY" -c '
import sys
r = [l.strip().split(",") for l in sys.stdin if l.strip()]
r = [x for x in r if len(x) >= 3 and x[0] not in ("", "N/A")]
if not r: print("0 - 0"); sys.exit()
t = sorted(float(x[0]) for x in r)
sz = []
for x in r:
    s = "%sx%s" % (x[1], x[2])
    if not sz or sz[-1] != s: sz.append(s)
step = (t[-1] - t[0]) / (len(t) - 1) if len(t) > 1 else 0.04
print(len(r), "/".join(sz), "%.3f" % (t[-1] - t[0] + step))'
}
# aframes FILE: decoded audio frames.
aframes() {
    timeout -k 3 60 ffprobe -v error -select_streams a:0 -count_frames -show_entries stream=nb_read_frames \
        -of csv=p=0 "$1" 2>>"$LE_DIR/ffprobe.log" | head -1 | tr -dc '0-9'
}
# ready HOST NAME: the playlist lists 3 whole segments.
ready() { [ "$(pl "$1" "$2" | parse | grep -c '^seg ')" -ge 3 ]; }

# grab HOST NAME LOWLATENCY: right after one another (parts of older segments
# leave the playlist and the node within seconds; ffprobe runs on a loaded
# machine take longer): the playlist once it lists 3 whole segments, ffprobe
# of the playlist, the init section, the second newest whole segment (the
# newest may just have been sealed) and its parts, into $LE_DIR/NAME-HOST.*;
# what the checks need goes into $LE_DIR/NAME-HOST.vars.
grab() {
    local host=$1 name=$2 ll=$3 f=$LE_DIR/$2-$1 t0 p m s seq dur uri ci cs pd pi pu pr n=0
    t0=$(le_now_ms)
    if ! le_wait_for 25 ready "$host" "$name"; then
        pl "$host" "$name" >"$f.m3u8"
        echo "ready=0" >"$f.vars"
        return 1
    fi
    p=$(pl "$host" "$name")
    printf '%s\n' "$p" >"$f.m3u8"
    m=$(parse <<<"$p")
    printf '%s\n' "$m" >"$f.parsed"
    s=$(grep '^seg ' <<<"$m" | tail -n 2 | head -n 1)
    read -r _ seq dur uri <<<"$s"
    ci=$(get "$host" "$(sed -n 's/^map //p' <<<"$m" | tail -1)" "$f.init.mp4")
    cs=$(get "$host" "$uri" "$f.m4s")
    : >"$f.parts"; : >"$f.partcodes"
    if [ "$ll" = 1 ]; then
        while read -r _ _ pd pi pu pr; do
            [ -n "$pu" ] || continue
            n=$((n + 1))
            echo "$(get "$host" "$pu" "$f.part.$n" "$pr") $pu $pr" >>"$f.partcodes"
            cat "$f.part.$n" >>"$f.parts"
        done < <(awk -v q="$seq" '$1 == "part" && $2 == q' <<<"$m")
    fi
    streams "$H/live/$name.m3u8" -headers "Host: $host"$'\r\n' >"$f.plprobe"
    printf 'ready=1\nms=%s\nseq=%s\ndur=%s\nuri=%s\nci=%s\ncs=%s\n' "$(( $(le_now_ms) - t0 ))" "$seq" "$dur" \
        "$uri" "$ci" "$cs" >"$f.vars"
}

# check LABEL HOST NAME WANT_STREAMS LOWLATENCY: the assertions of the header
# on what grab HOST NAME fetched; WANT_STREAMS as streams prints them for the
# init + segment file ("audio,aac,mp4a video,h264,avc1,640,360").
check() {
    local label=$1 host=$2 name=$3 want=$4 ll=$5 f=$LE_DIR/$3-$2 p m n sz d
    local ready="" ms="" seq="" dur="" uri="" ci="" cs=""
    # shellcheck disable=SC1090 # written by grab
    . "$f.vars"
    p=$(cat "$f.m3u8")
    if [ "$ready" != 1 ]; then
        ok 1 "$label: the playlist lists 3 whole segments"
        diag "$(tail -n 20 <<<"$p")"
        return 1
    fi
    m=$(cat "$f.parsed")
    ok 0 "$label: the playlist lists $(grep -c '^seg ' <<<"$m") whole segments (fetched in $ms ms)"
    like "$p" '^#EXT-X-MAP:URI=' "$label: ... with EXT-X-MAP" || { diag "$p"; return 1; }
    if [ "$ll" = 1 ]; then
        like "$p" '^#EXT-X-PART-INF:PART-TARGET=0\.2' "$label: ... EXT-X-PART-INF:PART-TARGET=0.2"
    else
        unlike "$p" '^#EXT-X-PART' "$label: ... and no EXT-X-PART (fmp4: whole segments only)"
    fi
    is "$(untag <"$f.plprobe")" "$(untag <<<"$want")" "$label: ffprobe reads the playlist: codecs and size"
    is "$ci $(boxes "$f.init.mp4")" "200 ftyp moov" "$label: the init section answers 200 and is ftyp+moov"
    like "$cs $(boxes "$f.m4s")" '^200 ((styp|sidx|prft) )*moof mdat( ((styp|sidx|prft) )*moof mdat)*$' \
        "$label: segment $seq ($uri, ${dur} s) answers 200 and is moof+mdat ($(le_file_size "$f.m4s") bytes)"
    cat "$f.init.mp4" "$f.m4s" >"$f.mp4"
    is "$(streams "$f.mp4")" "$want" "$label: init + segment $seq: the sample entries and size"
    read -r n sz d <<<"$(vframes "$f.mp4")"
    is "$n $sz" "25 640x360" "$label: ... decode to 25 frames of 640x360 (1 s at 25 fps)"
    "$LE_PY" -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - float(sys.argv[2])) <= 0.041 else 1)' "$d" "$dur"
    ok $? "$label: ... its video lasts $d s, the EXTINF $dur s (one frame of slack)"
    n=$(aframes "$f.mp4")
    cmp_ok "${n:-0}" -ge 20 "$label: ... its audio decodes ($n frames)"
    [ "$ll" = 1 ] || return 0

    # lowlatency: the segment's parts
    local parts np sum first bad
    parts=$(awk -v q="$seq" '$1 == "part" && $2 == q' <<<"$m")
    np=$(grep -c . <<<"$parts")
    cmp_ok "$np" -ge 4 "$label: segment $seq lists $np parts ($(awk '{printf "%s%s ", $3, $4 ? "(I)" : ""}' <<<"$parts"))"
    sum=$(awk '{s += $3} END {printf "%.3f", s}' <<<"$parts")
    first=$(awk 'NR == 1 {print $4}' <<<"$parts")
    "$LE_PY" -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - float(sys.argv[2])) <= 0.041 else 1)' "$sum" "$dur"
    ok $? "$label: ... their durations add up to the EXTINF ($sum s vs $dur s)"
    is "$first" 1 "$label: ... the first is INDEPENDENT=YES"
    bad=$(awk '$3 < 0.12 || $3 > 0.28 {print "duration " $3 " of " $5}' <<<"$parts"
          awk '$1 != 200 && $1 != 206 {print $1 " for " $2}' "$f.partcodes")
    is "$bad" "" "$label: ... each lasts 0.12-0.28 s (hls_part 200ms, one frame of slack) and answers 200 (206 for a byte range)"
    cmp -s "$f.parts" "$f.m4s"
    ok $? "$label: ... their bytes, concatenated, are the segment's ($(le_file_size "$f.parts") vs $(le_file_size "$f.m4s"))"
    cat "$f.init.mp4" "$f.parts" >"$f.p.mp4"
    is "$(vframes "$f.p.mp4" | cut -d' ' -f1,2)" "25 640x360" "$label: ... init + the parts decode to 25 frames of 640x360"
}

AVC="audio,aac,mp4a video,h264,avc1,640,360"
HVC="audio,aac,mp4a video,hevc,hvc1,640,360"
AV1="audio,opus,Opus video,av1,av01,640,360"
CASES=("H.264+AAC fmp4|$LE_DOMAIN|h264|$AVC|0" "H.264+AAC lowlatency|$LL|h264|$AVC|1"
       "HEVC+AAC fmp4|$LE_DOMAIN|hevc|$HVC|0" "HEVC+AAC lowlatency|$LL|hevc|$HVC|1")
[ -n "$HAVE_AV1" ] && CASES+=("AV1+Opus fmp4|$LE_DOMAIN|av1|$AV1|0" "AV1+Opus lowlatency|$LL|av1|$AV1|1")
for c in "${CASES[@]}"; do
    IFS='|' read -r label host name want ll <<<"$c"
    grab "$host" "$name" "$ll"
done
for c in "${CASES[@]}"; do
    IFS='|' read -r label host name want ll <<<"$c"
    check "$label" "$host" "$name" "$want" "$ll"
done
[ -n "$HAVE_AV1" ] || skip 1 "AV1/Opus: ffmpeg has no libaom-av1 or libopus encoder"
diag "publisher ends: $(tail -qn 1 "$LE_DIR"/pub-*.out 2>/dev/null | tr '\n' ' ')"

# shellcheck disable=SC2086 # a list of pids
le_kill $PIDS
le_alive_ok
le_stop
done_testing
