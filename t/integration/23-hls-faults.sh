#!/bin/sh
# 23-hls-faults: live HLS against publishers that break its assumptions, sent
# by a small python RTMP publisher that replays an ffmpeg-made FLV:
# - video tags of codecs HLS cannot carry (Sorenson H.263, enhanced-RTMP AV1)
#   between the AVC/AAC headers and the first keyframe: the node stays up and
#   the segments carry H.264 + AAC;
# - an encoder clock that starts 4 s before the 32-bit RTMP timestamp wrap:
#   segments are still cut after the wrap, with a sane target duration;
# - after unpublish the segments are freed once the playlist window has
#   passed (the playlist is 404), and a republish continues the media
#   sequence with EXT-X-DISCONTINUITY.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe curl python3
le_start || le_abort "livedge did not start"    # hls_fragment 1s, hls_window 6
H=http://127.0.0.1:$LE_HTTP_PORT

ffmpeg -hide_banner -nostdin -loglevel error -f lavfi -i "testsrc2=size=320x240:rate=25" \
    -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 12 -c:v libx264 -preset ultrafast -g 25 \
    -pix_fmt yuv420p -c:a aac -b:a 32k -ac 1 -f flv "$LE_DIR/src.flv"
ok $? "ffmpeg makes a 12 s H.264/AAC FLV"

cat >"$LE_DIR/pub.py" <<'PY'
# pub.py PORT NAME FLV MODE: publishes the FLV's tags over RTMP as fast as
# the socket takes them, then keeps the connection HOLD_S seconds and closes.
# MODE bad-codecs: an H.263 and an AV1 video tag right after the headers;
# MODE wrap: timestamps start 4000 ms before 2^32 and wrap.
import os, socket, struct, sys, threading, time

port, name, path, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
hold = float(os.environ.get("HOLD_S", "2"))
s = socket.create_connection(("127.0.0.1", port), timeout=10)

def recv_exact(n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b

s.sendall(b"\x03" + struct.pack(">II", 0, 0) + os.urandom(1528))
s1 = recv_exact(1 + 1536 + 1536)[1:1537]
s.sendall(s1)

def drain():
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
threading.Thread(target=drain, daemon=True).start()

CHUNK = 4096
def msg(csid, mtype, ts, payload, sid=0):
    ts &= 0xFFFFFFFF
    ext = ts >= 0xFFFFFF
    h = bytes([csid]) + (0xFFFFFF if ext else ts).to_bytes(3, "big") + len(payload).to_bytes(3, "big")
    h += bytes([mtype]) + struct.pack("<I", sid) + (struct.pack(">I", ts) if ext else b"")
    out = h + payload[:CHUNK]
    for i in range(CHUNK, len(payload), CHUNK):
        out += bytes([0xC0 | csid]) + (struct.pack(">I", ts) if ext else b"") + payload[i:i + CHUNK]
    s.sendall(out)

def astr(v): return b"\x02" + struct.pack(">H", len(v)) + v
def anum(v): return b"\x00" + struct.pack(">d", v)
def aobj(d):
    b = b"\x03"
    for k, v in d.items():
        b += struct.pack(">H", len(k)) + k + astr(v)
    return b + b"\x00\x00\x09"

msg(2, 1, 0, struct.pack(">I", CHUNK))   # Set Chunk Size
tc = b"rtmp://127.0.0.1:%d/live" % port
msg(3, 0x14, 0, astr(b"connect") + anum(1) + aobj({b"app": b"live", b"tcUrl": tc, b"type": b"nonprivate"}))
msg(3, 0x14, 0, astr(b"createStream") + anum(2) + b"\x05")
time.sleep(0.3)
msg(8, 0x14, 0, astr(b"publish") + anum(3) + b"\x05" + astr(name.encode()) + astr(b"live"), 1)
time.sleep(0.3)

d = open(path, "rb").read()
o, tags = 13, []
while o + 11 <= len(d):
    t, n = d[o], int.from_bytes(d[o + 1:o + 4], "big")
    ts = int.from_bytes(d[o + 4:o + 7], "big") | d[o + 7] << 24
    tags.append((t, ts, d[o + 11:o + 11 + n]))
    o += 11 + n + 4
base = 2**32 - 4000 if mode == "wrap" else 0
headers = 0
for t, ts, body in tags:
    if t not in (8, 9, 18):
        continue
    msg(4 if t != 18 else 5, t, base + ts, body, 1)
    if t == 9 and body[:2] == b"\x17\x00":
        headers += 1
        if mode == "bad-codecs":
            msg(4, 9, base + ts, b"\x22\x00\x00", 1)                          # Sorenson H.263, 3 bytes
            msg(4, 9, base + ts, b"\x91av01\x12\x00\x0a\x0b\x00\x00\x00", 1)  # enhanced RTMP AV1 frame
time.sleep(hold)
s.close()
print("sent %d tags" % len(tags))
PY

pub() {   # NAME MODE [HOLD_S]
    HOLD_S=${3:-2} timeout 60 python3 "$LE_DIR/pub.py" "$LE_RTMP_PORT" "$1" "$LE_DIR/src.flv" "$2" \
        >>"$LE_DIR/pub.log" 2>&1
}
playlist() { curl -s --max-time 3 "$H/live/$1.m3u8" | tr -d '\r'; }
# listed NAME N: the playlist lists segment number N or later (python is
# slow to start on a loaded machine: callers poll this).
listed() {
    playlist "$1" | awk -v p="^$1-" -v n="$2" '$0 ~ p "[0-9]+[.]ts" { sub(p, ""); if ($0 + 0 >= n) f = 1 }
        END { exit !f }'
}
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$H/live/$1.m3u8"; }

# ---- unsupported video codecs between the headers and the first keyframe ----
pub bad 'bad-codecs' 6 &
bgpub=$!
le_wait_for 20 listed bad 4
pl=$(playlist bad)
wait $bgpub
ok $? "bad-codecs: the publisher sent everything" || diag "$(tail -n 5 "$LE_DIR/pub.log")"
le_alive "$LE_PID"
ok $? "bad-codecs: the node is still up"
like "$pl" '#EXTINF' "bad-codecs: the playlist lists segments"
uri=$(grep -v '^#' <<<"$pl" | head -n 1)
curl -s -o "$LE_DIR/bad.ts" --max-time 5 "$H/live/$uri"
streams=$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$LE_DIR/bad.ts" </dev/null | grep . | sort -u | tr '\n' ' ')
is "$streams" "aac h264 " "bad-codecs: the segment carries H.264 and AAC ($uri)"
le_wait_log 'video codec 2 cannot go into HLS' 5
ok $? "bad-codecs: one log line names the codec"

# ---- the 32-bit timestamp wrap ------------------------------------------------------
pub wrap wrap 6 &
bgpub=$!
le_wait_for 20 listed wrap 8
pl=$(playlist wrap)
wait $bgpub
last=$(grep -v '^#' <<<"$pl" | tail -n 1 | sed 's/^wrap-\([0-9]*\)\.ts.*/\1/')
cmp_ok "${last:-0}" -ge 8 "wrap: segments are cut after the wrap (newest is number ${last:-none} of 12 s at 1 s)"
target=$(sed -n 's/^#EXT-X-TARGETDURATION://p' <<<"$pl")
cmp_ok "${target:-99}" -le 2 "wrap: TARGETDURATION ${target:-none}"
unlike "$pl" 'DISCONTINUITY' "wrap: no discontinuity at the wrap"

# ---- segments of an ended stream are freed after the window ---------------------
# (hls_window 6 + 3 extra) x 1 s: freed about 9 s after the publisher left.
is "$(code wrap)" 200 "ended stream: the playlist is still served right after"
seq_before=$(( ${last:-0} + 1 ))
gone() { [ "$(code wrap)" = 404 ]; }
le_wait_for 25 gone
ok $? "ended stream: playlist 404 once its window passed"
pub wrap wrap 6 &
bgpub=$!
le_wait_for 20 listed wrap "$seq_before"
pl=$(playlist wrap)
wait $bgpub
first=$(grep -v '^#' <<<"$pl" | head -n 1 | sed 's/^wrap-\([0-9]*\)\.ts.*/\1/')
cmp_ok "${first:-0}" -ge "$seq_before" "republish: numbering continues (${first:-none} >= $seq_before)"
like "$pl" '#EXT-X-DISCONTINUITY' "republish: EXT-X-DISCONTINUITY marks it"

le_alive_ok
le_stop
done_testing
