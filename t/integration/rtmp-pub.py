# rtmp-pub.py: a small RTMP publisher for tests that need input ffmpeg 5.1
# cannot publish (the approach of 23-hls-faults.sh, reusable).
#
#   python3 rtmp-pub.py [options] PORT APP NAME SOURCE...
#
# SOURCE is one of
#   flv:PATH          the FLV file's audio, video and script tags
#   hevc:PATH:FPS     an Annex B HEVC elementary stream (one slice per picture,
#                     no B-frames), sent as enhanced-RTMP 'hvc1' video: an
#                     onMetaData, a SequenceStart with an
#                     HEVCDecoderConfigurationRecord built from its
#                     VPS/SPS/PPS, keyframes as CodedFrames (cts 0), other
#                     frames as CodedFramesX
#   av1:PATH          an IVF file of AV1 (ffmpeg -f ivf), sent as
#                     enhanced-RTMP 'av01' video: a SequenceStart with the
#                     AV1CodecConfigurationRecord ffmpeg writes for it into
#                     an MP4 (av1C), then each temporal unit without its
#                     temporal delimiter as CodedFrames (key when it carries
#                     a sequence header)
#   opus:PATH         an Ogg Opus file with 20 ms packets (ffmpeg libopus's
#                     default), sent as enhanced-RTMP 'Opus' audio: a
#                     SequenceStart with the OpusHead, then the packets
#   A+B[+...]         the tags of the sources A, B... interleaved by
#                     timestamp as one source (video + audio; the script
#                     tags of the first only)
# Sources are sent one after the other, the timestamps of each continuing
# one frame after the last of the one before (a mid-stream switch); the
# script tags of the second and later sources are left out.
#
# Options:
#   --realtime        send each tag at its timestamp (as ffmpeg -re)
#   --hold S          keep the connection S seconds after the last tag (1)
#   --corrupt-at MS   the first inter video frame at or after MS goes out
#                     with its payload replaced by garbage (same length, the
#                     tag and its FLV video header intact)
#
# stdout (flushed): "publishing" once the node answered
# NetStream.Publish.Start, "corrupt TS" when the garbage frame went out,
# "switch TS" when a source after the first starts, "sent N tags" at the end.
# Exit status 0, or 1 with the reason on stderr.
import os
import random
import socket
import struct
import sys
import threading
import time

CHUNK = 4096


def die(msg):
    sys.stderr.write("rtmp-pub: %s\n" % msg)
    sys.exit(1)


# ---- sources -------------------------------------------------------------

def flv_tags(path):
    """[(type, ts, body)] of an FLV file."""
    d = open(path, "rb").read()
    if d[:3] != b"FLV":
        die("%s: not an FLV file" % path)
    o, tags = int.from_bytes(d[5:9], "big") + 4, []
    while o + 11 <= len(d):
        t, n = d[o], int.from_bytes(d[o + 1:o + 4], "big")
        ts = int.from_bytes(d[o + 4:o + 7], "big") | d[o + 7] << 24
        if t in (8, 9, 18):
            tags.append((t, ts, d[o + 11:o + 11 + n]))
        o += 11 + n + 4
    return tags


def nal_units(d):
    """NAL units of an Annex B byte stream (start codes removed)."""
    out, i, n = [], 0, len(d)
    starts = []
    while True:
        i = d.find(b"\x00\x00\x01", i)
        if i < 0:
            break
        starts.append(i + 3)
        i += 3
    for k, s in enumerate(starts):
        e = starts[k + 1] - 3 if k + 1 < len(starts) else n
        while e > s and d[e - 1] == 0:   # trailing zero of a 4-byte start code
            e -= 1
        out.append(d[s:e])
    return out


def unescape(nal):
    """The RBSP of a NAL unit (emulation prevention bytes removed)."""
    out, zeros = bytearray(), 0
    for b in nal:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def hvcc(vps, sps, pps):
    """HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1); the general
    profile/tier/level fields are copied from the SPS, the rest assumes 8-bit
    4:2:0 with one temporal layer."""
    r = unescape(sps)
    ptl = r[3:15]        # after the 2-byte header and vps_id/max_sub_layers/nesting
    rec = bytes([1]) + ptl + struct.pack(">H", 0xF000) + bytes([0xFC, 0xFD, 0xF8, 0xF8])
    rec += struct.pack(">H", 0) + bytes([0x0F, 3])
    for nal in (vps, sps, pps):
        rec += bytes([0x80 | (nal[0] >> 1 & 0x3F)]) + struct.pack(">HH", 1, len(nal)) + nal
    return rec


def hevc_tags(path, fps):
    nals = nal_units(open(path, "rb").read())
    ps, aus, cur, cur_vcl = {}, [], [], False
    for nal in nals:
        if len(nal) < 3:
            continue
        t = nal[0] >> 1 & 0x3F
        if t in (32, 33, 34):
            ps.setdefault(t, nal)
            if cur_vcl:
                aus.append(cur)
                cur, cur_vcl = [], False
            continue
        if t == 35:      # access unit delimiter
            continue
        if t < 32:       # VCL: a new picture at first_slice_segment_in_pic_flag
            if cur_vcl and nal[2] & 0x80:
                aus.append(cur)
                cur = []
            cur_vcl = True
        elif cur_vcl:    # SEI etc. after a picture start the next one
            aus.append(cur)
            cur, cur_vcl = [], False
        cur.append(nal)
    if cur_vcl:
        aus.append(cur)
    if not all(k in ps for k in (32, 33, 34)) or not aus:
        die("%s: no VPS/SPS/PPS or no pictures" % path)
    tags = [(18, 0, onmeta(ps[33], fps)),
            (9, 0, b"\x90hvc1" + hvcc(ps[32], ps[33], ps[34]))]
    for i, au in enumerate(aus):
        key = any(16 <= (n[0] >> 1 & 0x3F) <= 21 for n in au)
        body = b"".join(struct.pack(">I", len(n)) + n for n in au)
        ts = int(i * 1000 / fps)
        if key:
            tags.append((9, ts, b"\x91hvc1" + b"\x00\x00\x00" + body))   # CodedFrames, cts 0
        else:
            tags.append((9, ts, b"\xa3hvc1" + body))                     # CodedFramesX
    return tags


def ivf_frames(path):
    """[(pts, frame)] of an IVF file, and its time base (num, den)."""
    d = open(path, "rb").read()
    if d[:4] != b"DKIF":
        die("%s: not an IVF file" % path)
    hl = struct.unpack("<H", d[6:8])[0]
    den, num = struct.unpack("<II", d[16:24])
    o, out = hl, []
    while o + 12 <= len(d):
        n, pts = struct.unpack("<IQ", d[o:o + 12])
        out.append((pts, d[o + 12:o + 12 + n]))
        o += 12 + n
    return out, (num, den)


def obus(tu):
    """[(type, bytes)] of the OBUs of an AV1 temporal unit (low-overhead
    format: every OBU has its size field)."""
    out, p = [], 0
    while p < len(tu):
        s, h = p, tu[p]
        p += 1 + (h >> 2 & 1)
        if not h & 2:
            die("AV1 OBU without a size field")
        v = 0
        for k in range(8):
            x = tu[p]
            p += 1
            v |= (x & 0x7F) << (7 * k)
            if not x & 0x80:
                break
        p += v
        out.append((h >> 3 & 15, tu[s:p]))
    return out


def av1c_of(path):
    """The av1C box body ffmpeg's mp4 muxer writes for an IVF of AV1."""
    import subprocess
    import tempfile
    with tempfile.NamedTemporaryFile(suffix=".mp4") as t:
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", path, "-c", "copy", "-frames:v",
                        "1", "-f", "mp4", t.name], check=True)
        m = open(t.name, "rb").read()
    i = m.find(b"av1C")
    if i < 4:
        die("%s: ffmpeg wrote no av1C" % path)
    n = struct.unpack(">I", m[i - 4:i])[0]
    return m[i + 4:i - 4 + n]


def av1_tags(path):
    frames, (num, den) = ivf_frames(path)
    if not frames:
        die("%s: no frames" % path)
    tags = [(9, 0, b"\x90av01" + av1c_of(path))]
    p0 = frames[0][0]
    for pts, tu in frames:
        o = obus(tu)
        key = any(t == 1 for t, _ in o)           # a sequence header: a key frame here
        body = b"".join(b for t, b in o if t != 2)  # no temporal delimiter (as in MP4)
        tags.append((9, int((pts - p0) * 1000 * num / den), (b"\x91" if key else b"\xa1") + b"av01" + body))
    return tags


def ogg_packets(path):
    d = open(path, "rb").read()
    o, out, cur = 0, [], b""
    while o + 27 <= len(d):
        if d[o:o + 4] != b"OggS":
            die("%s: bad Ogg page at %d" % (path, o))
        nseg = d[o + 26]
        lace = d[o + 27:o + 27 + nseg]
        p = o + 27 + nseg
        for n in lace:
            cur += d[p:p + n]
            p += n
            if n < 255:
                out.append(cur)
                cur = b""
        o = p
    return out


def opus_tags(path):
    pk = ogg_packets(path)
    if len(pk) < 3 or not pk[0].startswith(b"OpusHead"):
        die("%s: not Ogg Opus" % path)
    tags = [(8, 0, b"\x90Opus" + pk[0])]
    for i, p in enumerate(pk[2:]):              # after OpusHead and OpusTags
        tags.append((8, i * 20, b"\x91Opus" + p))
    return tags


def source_tags(src):
    out = []
    for k, one in enumerate(src.split("+")):
        kind, _, rest = one.partition(":")
        if kind == "flv":
            t = flv_tags(rest)
        elif kind == "hevc":
            path, _, fps = rest.rpartition(":")
            t = hevc_tags(path, float(fps))
        elif kind == "av1":
            t = av1_tags(rest)
        elif kind == "opus":
            t = opus_tags(rest)
        else:
            die("unknown source " + one)
        out += [(ts, tag_rank(ty, b), k, i, (ty, ts, b)) for i, (ty, ts, b) in enumerate(t) if not (k and ty == 18)]
    # by timestamp; at one timestamp the script tag, then the sequence headers
    # (a node sees every track's configuration before the first frame), then
    # the first source's tags before the second's, each in its order
    return [x[4] for x in sorted(out)]


def tag_rank(ty, b):
    """0 a script tag, 1 a sequence header (legacy AVC/HEVC/AAC or an
    enhanced SequenceStart), 2 the others."""
    if ty == 18:
        return 0
    if ty == 9 and b and (b[0] & 0x80 and b[0] & 15 == 0 or b[0] & 15 in (7, 12) and len(b) > 1 and b[1] == 0):
        return 1
    if ty == 8 and b and (b[0] >> 4 == 9 and b[0] & 15 == 0 or b[0] >> 4 == 10 and len(b) > 1 and b[1] == 0):
        return 1
    return 2


class Bits:
    def __init__(self, b):
        self.b, self.p = b, 0

    def u(self, n):
        v = 0
        for _ in range(n):
            byte = self.b[self.p >> 3] if self.p >> 3 < len(self.b) else 0
            v = v << 1 | (byte >> (7 - (self.p & 7)) & 1)
            self.p += 1
        return v

    def ue(self):
        z = 0
        while self.u(1) == 0 and z < 32:
            z += 1
        return (1 << z) - 1 + self.u(z)


def sps_size(sps):
    """(width, height) of an HEVC SPS (H.265 7.3.2.2), cropped."""
    r = Bits(unescape(sps)[2:])
    r.u(4)
    sub = r.u(3)
    r.u(1)
    r.u(96)                          # general profile/tier/level
    flags = [(r.u(1), r.u(1)) for _ in range(sub)]
    if sub:
        r.u(2 * (8 - sub))
    for prof, lvl in flags:
        r.u(88 if prof else 0)
        r.u(8 if lvl else 0)
    r.ue()
    chroma = r.ue()
    if chroma == 3:
        r.u(1)
    w, h = r.ue(), r.ue()
    if r.u(1):                       # conformance window
        sw, sh = (2, 2) if chroma == 1 else (2, 1) if chroma == 2 else (1, 1)
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        w -= sw * (left + right)
        h -= sh * (top + bottom)
    return w, h


def onmeta(sps, fps):
    w, h = sps_size(sps)
    props = ((b"width", w), (b"height", h), (b"framerate", fps), (b"videocodecid", 12))
    return amf_str(b"onMetaData") + b"\x08" + struct.pack(">I", len(props)) + \
        b"".join(struct.pack(">H", len(k)) + k + amf_num(v) for k, v in props) + b"\x00\x00\x09"


# ---- RTMP ----------------------------------------------------------------


def amf_str(v):
    return b"\x02" + struct.pack(">H", len(v)) + v


def amf_num(v):
    return b"\x00" + struct.pack(">d", v)


def amf_obj(d):
    b = b"\x03"
    for k, v in d.items():
        b += struct.pack(">H", len(k)) + k + amf_str(v)
    return b + b"\x00\x00\x09"


def main():
    args = sys.argv[1:]
    realtime, hold, corrupt_at = False, 1.0, None
    while args and args[0].startswith("--"):
        a = args.pop(0)
        if a == "--realtime":
            realtime = True
        elif a == "--hold":
            hold = float(args.pop(0))
        elif a == "--corrupt-at":
            corrupt_at = int(args.pop(0))
        else:
            die("unknown option " + a)
    if len(args) < 4:
        die("usage: rtmp-pub.py [options] PORT APP NAME SOURCE...")
    port, app, name, srcs = int(args[0]), args[1].encode(), args[2].encode(), args[3:]

    parts = [source_tags(src) for src in srcs]
    tags, base, switches = [], 0, []
    for k, part in enumerate(parts):
        if k:
            switches.append(base)
        last = 0
        for t, ts, body in part:
            if k and t == 18:
                continue
            tags.append((t, base + ts, body))
            last = max(last, ts)
        vts = sorted({ts for t, ts, _ in part if t == 9})
        step = vts[-1] - vts[-2] if len(vts) > 1 else 40
        base += last + step

    s = socket.create_connection(("127.0.0.1", port), timeout=10)

    def recv_exact(n):
        b = b""
        while len(b) < n:
            d = s.recv(n - len(b))
            if not d:
                die("connection closed during the handshake")
            b += d
        return b

    s.sendall(b"\x03" + struct.pack(">II", 0, 0) + os.urandom(1528))
    s1 = recv_exact(1 + 1536 + 1536)[1:1537]
    s.sendall(s1)

    got, lock, closed = bytearray(), threading.Lock(), threading.Event()

    def drain():
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                with lock:
                    if len(got) < 1 << 20:
                        got.extend(d)
        except OSError:
            pass
        closed.set()
    s.settimeout(None)
    threading.Thread(target=drain, daemon=True).start()

    def msg(csid, mtype, ts, payload, sid=0):
        ts &= 0xFFFFFFFF
        ext = ts >= 0xFFFFFF
        h = bytes([csid]) + (0xFFFFFF if ext else ts).to_bytes(3, "big") + len(payload).to_bytes(3, "big")
        h += bytes([mtype]) + struct.pack("<I", sid) + (struct.pack(">I", ts) if ext else b"")
        out = h + payload[:CHUNK]
        for i in range(CHUNK, len(payload), CHUNK):
            out += bytes([0xC0 | csid]) + (struct.pack(">I", ts) if ext else b"") + payload[i:i + CHUNK]
        s.sendall(out)

    msg(2, 1, 0, struct.pack(">I", CHUNK))   # Set Chunk Size
    tc = b"rtmp://127.0.0.1:%d/%s" % (port, app)
    msg(3, 0x14, 0, amf_str(b"connect") + amf_num(1) + amf_obj({b"app": app, b"tcUrl": tc, b"type": b"nonprivate"}))
    msg(3, 0x14, 0, amf_str(b"createStream") + amf_num(2) + b"\x05")
    msg(8, 0x14, 0, amf_str(b"publish") + amf_num(3) + b"\x05" + amf_str(name) + amf_str(b"live"), 1)
    deadline = time.time() + 10
    while True:
        with lock:
            if b"NetStream.Publish.Start" in got:
                break
            if b"NetStream.Publish.BadName" in got or b"_error" in got:
                die("publish refused: %r" % bytes(got[-200:]))
        if closed.is_set() or time.time() > deadline:
            die("no NetStream.Publish.Start within 10 s")
        time.sleep(0.02)
    print("publishing", flush=True)

    rnd = random.Random(15)
    t0 = time.time()
    for t, ts, body in tags:
        if realtime:
            d = t0 + ts / 1000.0 - time.time()
            if d > 0:
                time.sleep(d)
        if switches and ts >= switches[0] and t == 9:
            print("switch %d" % switches.pop(0), flush=True)
        if corrupt_at is not None and t == 9 and ts >= corrupt_at and body[0] >> 4 == 2 and body[1] == 1:
            # An AVC inter frame: keep the 5-byte header, garbage after it. The
            # first byte is >= 0x80, so the NAL length field cannot fit.
            g = bytes([0x80 | rnd.randrange(128)]) + bytes(rnd.randrange(256) for _ in range(len(body) - 6))
            body = body[:5] + g
            print("corrupt %d" % ts, flush=True)
            corrupt_at = None
        msg(4 if t != 18 else 5, t, ts, body, 1)
        if closed.is_set():
            die("the node closed the connection at ts %d" % ts)
    time.sleep(hold)
    s.close()
    print("sent %d tags" % len(tags), flush=True)


main()
