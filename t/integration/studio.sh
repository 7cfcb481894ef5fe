# t/integration/studio.sh: the set-up and helpers shared by the production
# studio's scripts (78-83). Source it (it sources lib.sh and admin.sh) right
# after the script's LE_SCRIPT_TIMEOUT.
# shellcheck shell=bash
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool python3 curl ffmpeg ffprobe redis-server redis-cli

# The nodes (start_node X) wait for all three ports and are named after the
# script: le-test-{script}-x.
LE_WAIT_PORTS="rtmp http admin"
LE_BASE_NAME=$LE_NAME

# MAT: a folder for the script's material files (caster_material_dir, VodUrl).
MAT=$LE_DIR/material
mkdir -p "$MAT"

# pub_colour VAR NAME COLOUR FREQ [WxH]: publishes NAME in the background (its
# pid in VAR): a solid COLOUR picture (640x360 unless WxH) at 25 fps, GOP
# 1 s, and a FREQ Hz sine, for 200 s; ffmpeg's log in pub-NAME.log.
pub_colour() {
    local var=$1 name=$2 colour=$3 freq=$4 size=${5:-640x360}
    le_bg "$var" ffmpeg -hide_banner -nostdin -loglevel warning -re \
        -f lavfi -i "color=c=$colour:s=$size:r=25" -f lavfi -i "sine=frequency=$freq:sample_rate=44100" \
        -t 200 -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -pix_fmt yuv420p \
        -c:a aac -b:a 64k -ac 1 -f flv "$(le_url "$name")" >"$LE_DIR/pub-$name.log" 2>&1
}

# pgm_monitor VAR URL X Y: reads URL in the background (its pid in VAR), its
# timestamps kept, writing to mon.log one ffmpeg showinfo line a frame: the
# frame's pts_time and the mean (Y U V) of the 8x8 block at (X, Y); returns
# once the first frame is logged (20 s at most).
pgm_monitor() {
    le_bg "$1" timeout -k 3 60 ffmpeg -hide_banner -nostdin -copyts -fflags nobuffer -i "$2" -an \
        -vf "crop=8:8:$3:$4,showinfo" -fps_mode passthrough -f null - 2>"$LE_DIR/mon.log"
    le_wait_for 20 grep -q "pts_time" "$LE_DIR/mon.log"
}
# monlog.py, for the scripts' own readers of mon.log (in $LE_DIR: "from monlog
# import frames"): frames(LOG), per frame (pts_ms, y, u, v).
cat >"$LE_DIR/monlog.py" <<'PY'
import re
def frames(path):
    fr = []
    for line in open(path, errors='replace'):
        m = re.search(r'pts_time:(\S+).*mean:\[(\d+) (\d+) (\d+)\]', line)
        if m:
            fr.append((round(float(m.group(1)) * 1000), int(m.group(2)), int(m.group(3)), int(m.group(4))))
    return fr
PY

# sname URL: a stream's name: the URL path's last segment, without a query
# or .flv.
sname() { local s=${1%%\?*}; s=${s##*/}; echo "${s%.flv}"; }
# scenes [P]: from a StartCaster answer (API_BODY): ${P}PVW and ${P}PGM, the
# scene ids, and ${P}PVW_S and ${P}PGM_S, their stream names.
scenes() {
    local p=${1:-} w
    for w in Pvw Pgm; do
        printf -v "$p${w^^}" '%s' "$(j "$API_BODY" "d['${w}SceneInfos']['SceneInfo'][0]['SceneId']")"
        printf -v "$p${w^^}_S" '%s' "$(sname "$(j "$API_BODY" "d['${w}SceneInfos']['SceneInfo'][0]['StreamUrl']")")"
    done
}
# curl_m: node $A's /metrics.
curl_m() { curl -s --max-time 5 "$A/metrics"; }

# live URL: the stream plays there (le_probe within 5 s).
live() { [ -n "$(LE_PROBE_TIMEOUT=5 le_probe "$1")" ]; }

# colour_reader SECS URL OUT: reads URL (for at most SECS seconds), one line
# a frame into OUT, "wall_ms r g b" of the picture's centre (a 320x180
# picture; of a larger one the pixels around (320, 180)). Tries again until
# the stream plays (a delayed PGM goes live later).
cat >"$LE_DIR/colour_reader.py" <<'PY'
import subprocess, sys, time
url, out = sys.argv[1], sys.argv[2]
f = open(out, "w")
while True:
    p = subprocess.Popen(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-threads", "1",
                          "-fflags", "nobuffer", "-i", url, "-an", "-vf", "crop=8:8:316:176,scale=1:1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-flush_packets", "1", "-"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    n = 0
    while True:
        b = p.stdout.read(3)
        if len(b) < 3:
            break
        n += 1
        f.write("%d %d %d %d\n" % (time.time() * 1000, b[0], b[1], b[2]))
        f.flush()
    p.wait()
    if n:
        break
    time.sleep(0.3)
PY
colour_reader() {
    timeout -k 3 "$1" "$LE_PY" "$LE_DIR/colour_reader.py" "$2" "$3"
}
