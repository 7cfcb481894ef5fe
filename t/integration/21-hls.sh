#!/bin/sh
# 21-hls: live HLS from memory: playlist headers and tags,
# every segment starts with a keyframe and lasts what EXTINF says, ffprobe and
# ffmpeg read the playlist URL without errors, sequence numbers never go back,
# rotated segments are 404, a publisher restart yields EXT-X-DISCONTINUITY and
# playback goes on, audio-only and video-only streams carry one stream each.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe curl python3
le_start || le_abort "livedge did not start"    # hls_fragment 1s, hls_window 6
H=http://127.0.0.1:$LE_HTTP_PORT

resp=$(curl -s -i --max-time 5 "$H/live/never.m3u8" | tr -d '\r')
like "$resp" '^HTTP/1.1 404' "never published: playlist 404"
like "$resp" '"Code":"InvalidStream.NotFound"' "never published: error body"
resp=$(curl -s -i --max-time 5 "$H/live/never-3.ts" | tr -d '\r')
like "$resp" '^HTTP/1.1 404' "never published: segment 404"

playlist_ready() { curl -sf --max-time 2 -o /dev/null "$H/live/$1.m3u8"; }
media_seq() { curl -s --max-time 3 "$H/live/$1.m3u8" | tr -d '\r' | sed -n 's/^#EXT-X-MEDIA-SEQUENCE://p'; }

LE_PUB_SECS=90 le_publish cam
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "ffmpeg publishes live/cam" || diag "$(cat "$LE_PUB_LOG")"
le_wait_for 15 playlist_ready cam
ok $? "the playlist appears"
# Let the window fill (6 x 1 s).
le_wait_for 20 le__progress_past "$LE_PUB_PROGRESS" 9000000

curl -s -D "$LE_DIR/pl.hdr" -o "$LE_DIR/pl.m3u8" --max-time 5 "$H/live/cam.m3u8"
hdr=$(tr -d '\r' <"$LE_DIR/pl.hdr")
pl=$(tr -d '\r' <"$LE_DIR/pl.m3u8")
like "$hdr" '^HTTP/1.1 200' "playlist: 200"
like "$hdr" 'Content-Type: application/vnd.apple.mpegurl' "playlist: content type"
like "$hdr" 'Cache-Control: no-cache' "playlist: no-cache"
like "$hdr" 'Access-Control-Allow-Origin: \*' "playlist: CORS"
like "$pl" '^#EXTM3U' "playlist: #EXTM3U"
unlike "$pl" 'ENDLIST' "playlist: live, no ENDLIST"
nseg=$(grep -c '^#EXTINF' <<<"$pl")
is "$nseg" 6 "playlist: hls_window (6) segments"
like "$(grep -v '^#' <<<"$pl" | head -n 1)" '^cam-[0-9]+\.ts$' "playlist: relative segment URIs"
target=$(sed -n 's/^#EXT-X-TARGETDURATION://p' <<<"$pl")
maxd=$(sed -n 's/^#EXTINF:\([0-9.]*\),.*/\1/p' <<<"$pl" | sort -g | tail -n 1)
want=$(awk -v d="$maxd" 'BEGIN { t = int(d); if (t < d) t++; print t }')
cmp_ok "$target" -ge "$want" "TARGETDURATION $target >= ceil(max EXTINF $maxd)"
cmp_ok "$target" -le 3 "TARGETDURATION $target fits 1 s fragments with 1 s GOPs"

# Every listed segment: headers, keyframe first, duration = EXTINF +- 0.1 s.
# All are fetched first: with 1 s fragments a listed segment only lives a few
# seconds, and ffprobe on a loaded machine is slower than that.
i=0; bad_key=0; bad_dur=0; bad_hdr=0
awk -F'[:,]' '/^#EXTINF/ { d = $2; getline u; print d, u }' <<<"$pl" >"$LE_DIR/list"
while read -r dur uri; do
    i=$((i + 1))
    curl -s -D "$LE_DIR/seg$i.hdr" -o "$LE_DIR/seg$i.ts" --max-time 5 "$H/live/$uri"
done <"$LE_DIR/list"
i=0
while read -r dur uri; do
    i=$((i + 1))
    h=$(tr -d '\r' <"$LE_DIR/seg$i.hdr")
    grep -q 'Content-Type: video/mp2t' <<<"$h" && grep -q 'Cache-Control: max-age=[1-9]' <<<"$h" &&
        grep -q 'Access-Control-Allow-Origin' <<<"$h" || { bad_hdr=$((bad_hdr + 1)); diag "$uri: $h"; }
    first=$(ffprobe -v error -select_streams v:0 -show_entries packet=flags -of csv=p=0 "$LE_DIR/seg$i.ts" </dev/null | head -n 1)
    case $first in K*) ;; *) bad_key=$((bad_key + 1)); diag "$uri: first video packet flags '$first'" ;; esac
    span=$(ffprobe -v error -select_streams v:0 -show_entries packet=pts_time,duration_time -of csv=p=0 \
        "$LE_DIR/seg$i.ts" </dev/null | awk -F, 'NF >= 1 && $1 != "N/A" { if (lo == "" || $1 < lo) lo = $1;
            e = $1 + ($2 == "N/A" ? 0 : $2); if (hi == "" || e > hi) hi = e } END { printf "%.3f", hi - lo }')
    awk -v a="$span" -v b="$dur" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.1) }' ||
        { bad_dur=$((bad_dur + 1)); diag "$uri: media $span s, EXTINF $dur s"; }
done <"$LE_DIR/list"
is "$i" 6 "fetched the 6 listed segments"
is "$bad_hdr" 0 "segments: video/mp2t, cacheable, CORS"
is "$bad_key" 0 "segments: each starts with a keyframe"
is "$bad_dur" 0 "segments: media duration matches EXTINF within 0.1 s"
# HEAD and Range on a segment.
uri=$(curl -s --max-time 3 "$H/live/cam.m3u8" | tr -d '\r' | grep -v '^#' | tail -n 1)
curl -s -o "$LE_DIR/newest.ts" --max-time 5 "$H/live/$uri"
len=$(stat -c %s "$LE_DIR/newest.ts")
resp=$(curl -s -I --max-time 5 "$H/live/$uri" | tr -d '\r')
like "$resp" "Content-Length: $len" "segment HEAD: its length, no body"
resp=$(curl -s -D - -o /dev/null -r 0-187 --max-time 5 "$H/live/$uri" | tr -d "\r")
like "$resp" '^HTTP/1.1 206' "segment Range: 206"
like "$resp" "Content-Range: bytes 0-187/$len" "segment Range: Content-Range"

# Answers are written straight to the socket and only the part the socket
# does not take is queued (docs/HLS.md, "Serving"). An HTTP/1.0 request
# from a client with a small receive buffer gets its whole segment, then
# the close. A client pipelines the segment 24 times (more than the socket
# takes at once), then the playlist, and reads nothing for a second: each
# answer must still arrive whole and in order.
pipe=$(timeout 20 python3 - "$LE_HTTP_PORT" "/live/$uri" "$LE_DIR/newest.ts" <<'PY'
import socket, sys, time
port, path, ref = int(sys.argv[1]), sys.argv[2], open(sys.argv[3], "rb").read()
def read_all(s, done=lambda data: False):
    """Until the close, 5 s of silence, or done(data)."""
    data = b""
    s.settimeout(5)
    while not done(data):
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        if not b:
            break
        data += b
    return data
def split(data):
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin1").split("\r\n")
        hdr = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        n = int(hdr.get("content-length", len(rest)))
        out.append((lines[0], hdr, rest[:n]))
        data = rest[n:]
    return out
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
s.sendall(("GET %s HTTP/1.0\r\n\r\n" % path).encode())
time.sleep(0.5)
r = split(read_all(s))
print(len(r), r[0][0].split(" ")[1] if r else "-", "same" if r and r[0][2] == ref else "differ")
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.connect(("127.0.0.1", port))
req = "GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path
K = 24
s.sendall((req * K + "GET /live/cam.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n").encode())
time.sleep(1)
def playlist_done(data):
    r = split(data) if data.count(b"\r\n\r\n") >= K + 1 else []
    return len(r) == K + 1 and len(r[K][2]) == int(r[K][1].get("content-length", -1))
data = read_all(s, playlist_done)
r = split(data)
print(len(r), sorted(set(x[0].split(" ")[1] for x in r)), len(data) > K * len(ref),
      "same" if len(r) > K and all(x[2] == ref for x in r[:K]) else "differ",
      "m3u8" if len(r) > K and r[K][2].startswith(b"#EXTM3U") else "no-m3u8")
s.close()
PY
)
is "$(sed -n 2p <<<"$pipe")" "25 ['200'] True same m3u8" "24 pipelined segments and a playlist to a slow reader: whole and in order"
is "$(sed -n 1p <<<"$pipe")" "1 200 same" "HTTP/1.0 segment to a slow reader: whole, then the close"

probe=$(timeout 30 ffprobe -v error -show_entries stream=codec_type,codec_name,width,height -of compact=p=0 \
    "$H/live/cam.m3u8" 2>>"$LE_DIR/ffprobe.log" | sort -u)
like "$probe" 'codec_name=h264\|codec_type=video\|width=640\|height=360' "ffprobe: H.264 640x360 over HLS"
like "$probe" 'codec_name=aac\|codec_type=audio' "ffprobe: AAC over HLS"
errs=$(timeout 60 ffmpeg -hide_banner -nostdin -v error -i "$H/live/cam.m3u8" -t 8 -c copy -f null - 2>&1)
rc=$?
is "$rc" 0 "ffmpeg reads 8 s of the HLS playlist"
is "$errs" "" "... with no errors"

# Sequence numbers only go forward; old segments rotate out.
s1=$(media_seq cam); sleep 2.2; s2=$(media_seq cam)
cmp_ok "$s2" -gt "$s1" "media sequence moves forward ($s1 -> $s2)"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$H/live/cam-0.ts")
is "$code" 404 "a rotated-out segment is 404"

# ---- publisher restart ----------------------------------------------------------------
reader=
le_bg reader timeout -k 3 40 ffmpeg -hide_banner -nostdin -v error -i "$H/live/cam.m3u8" -c copy -f null - \
    -progress "$LE_DIR/reader.progress" 2>>"$LE_DIR/reader.log"
sleep 3
before=$(media_seq cam)
le_kill "$LE_PUB_PID"
sleep 1
LE_PUB_SECS=60 le_publish cam
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "the publisher comes back"
has_disc() { curl -s --max-time 2 "$H/live/cam.m3u8" | grep -q '^#EXT-X-DISCONTINUITY'; }
le_wait_for 15 has_disc
ok $? "restart: the playlist marks EXT-X-DISCONTINUITY"
after=$(media_seq cam)
cmp_ok "$after" -ge "$before" "restart: media sequence did not go back ($before -> $after)"
frames() { grep '^frame=' "$LE_DIR/reader.progress" 2>/dev/null | tail -n 1 | cut -d= -f2; }
f1=$(frames); sleep 6; f2=$(frames)
cmp_ok "${f2:-0}" -gt "${f1:-0}" "restart: a player following the playlist keeps getting frames (${f1:-0} -> ${f2:-0})"
le_kill "$reader"
# The first segment after the restart plays on its own.
uri=$(curl -s --max-time 3 "$H/live/cam.m3u8" | tr -d '\r' | awk '/^#EXT-X-DISCONTINUITY/ { getline; getline; print; exit }')
curl -s -o "$LE_DIR/after.ts" --max-time 5 "$H/live/$uri"
first=$(ffprobe -v error -select_streams v:0 -show_entries packet=flags -of csv=p=0 "$LE_DIR/after.ts" | head -n 1)
like "$first" '^K' "restart: the segment after the discontinuity starts with a keyframe ($uri)"
le_kill "$LE_PUB_PID"

# ---- audio-only and video-only: one stream each, no phantom PIDs ------------------
check_only() {   # NAME KIND
    local name=$1 kind=$2 uri streams
    le_wait_for 15 playlist_ready "$name"
    ok $? "$kind-only: playlist appears"
    le_wait_for 10 le__progress_past "$LE_PUB_PROGRESS" 4000000
    uri=$(curl -s --max-time 3 "$H/live/$name.m3u8" | tr -d '\r' | grep -v '^#' | tail -n 1)
    curl -s -o "$LE_DIR/$name.ts" --max-time 5 "$H/live/$uri"
    streams=$(ffprobe -v error -show_entries stream=codec_type -of csv=p=0 "$LE_DIR/$name.ts" | grep . | sort -u | tr '\n' ' ')
    is "$streams" "$kind " "$kind-only: the segment carries only $kind"
    streams=$(ffprobe -v error -show_entries program_stream=codec_type -of csv=p=0 "$LE_DIR/$name.ts" | grep -c .)
    is "$streams" 1 "$kind-only: the PMT lists one stream"
    errs=$(timeout 40 ffmpeg -hide_banner -nostdin -v error -i "$H/live/$name.m3u8" -t 3 -c copy -f null - 2>&1)
    is "$errs" "" "$kind-only: ffmpeg reads the playlist without errors"
}
LE_PUB_SECS=40 le_publish_audio aonly
le_wait_publishing "$LE_PUB_PROGRESS" 15
check_only aonly audio
le_kill "$LE_PUB_PID"
LE_PUB_SECS=40 le_publish_video vonly
le_wait_publishing "$LE_PUB_PROGRESS" 15
check_only vonly video
le_kill "$LE_PUB_PID"

le_alive_ok
le_stop
done_testing
