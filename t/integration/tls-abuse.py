#!/usr/bin/env python3
"""t/integration/tls-abuse.py: bad and idle TLS clients against livedge's TLS
listeners (rtmps_listen, https_listen); used by 88-tls-abuse.sh.

    tls-abuse.py --port NAME=PORT [--port NAME=PORT...] [--host 127.0.0.1]
                 [--sni live.test] [--idle 500] [--garbage 4] [--pid PID]
                 [--hold-max SECS] [--marker FILE]

For each port, first the bad clients, one connection each, one after the
other, each waiting (at most 20 s) for the node to close it:
  http       a plaintext HTTP request on the TLS port
  random     1 KiB of random bytes (first byte 0: no TLS record type)
  record     a TLS handshake record header with a bogus body
  trunc-eof  the first 50 bytes of a real ClientHello, then EOF
  trunc-hold the first 50 bytes of a real ClientHello, then silence (only the
             node's timers close it)
(--garbage N: N connections of each of the first four kinds, one of the
last). Then the idle ones, all ports together: --idle raw TCP connections
that never send a byte, then --idle connections that complete a TLS
handshake and send nothing more. Once they are all open, MARKER is created;
then they are held until the node has closed every one, or --hold-max
seconds. While this runs the resident size of --pid is sampled every 0.2 s.

Prints one JSON object: per port, per kind: opened, failed (with the first
error), closed by the node, seconds from open to close (p50, max), the local
ports of the bad clients (to find their log lines); the peak of
concurrently open idle connections; the peak VmRSS (KiB)."""
import argparse
import json
import os
import resource
import selectors
import socket
import ssl
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--port", action="append", required=True)
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--sni", default="live.test")
ap.add_argument("--idle", type=int, default=500)
ap.add_argument("--garbage", type=int, default=4)
ap.add_argument("--pid", type=int, default=0)
ap.add_argument("--hold-max", type=float, default=40.0)
ap.add_argument("--marker", default="")
args = ap.parse_args()

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

ports = []
for p in args.port:
    name, num = p.split("=", 1)
    ports.append((name, int(num)))


def client_ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


CTX = client_ctx()


def client_hello():
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    o = CTX.wrap_bio(inc, out, server_hostname=args.sni)
    try:
        o.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


HELLO = client_hello()

# ---- RSS sampler ---------------------------------------------------------------
peak_rss = [0]
stop_sampler = threading.Event()


def rss_kb():
    try:
        with open("/proc/%d/status" % args.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def sampler():
    while not stop_sampler.is_set():
        peak_rss[0] = max(peak_rss[0], rss_kb())
        time.sleep(0.2)


if args.pid:
    threading.Thread(target=sampler, daemon=True).start()


def wait_closed(s, limit):
    """Seconds until the node closes s (EOF or reset), None after limit."""
    t0 = time.monotonic()
    s.settimeout(0.5)
    while time.monotonic() - t0 < limit:
        try:
            d = s.recv(65536)
            if not d:
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
    return None


def bad(host, port, kind):
    r = {"kind": kind}
    try:
        s = socket.create_connection((host, port), timeout=5)
    except OSError as e:
        r["error"] = str(e)
        return r
    r["lport"] = s.getsockname()[1]
    try:
        if kind == "http":
            s.sendall(b"GET /live/cam.flv HTTP/1.1\r\nHost: %s\r\n\r\n" % args.sni.encode())
        elif kind == "random":
            s.sendall(b"\x00" + os.urandom(1023))
        elif kind == "record":
            s.sendall(b"\x16\x03\x01\x00\x40" + b"\x01\x00\x00\x3c" + b"\xff" * 60)
        elif kind in ("trunc-eof", "trunc-hold"):
            s.sendall(HELLO[:50])
            if kind == "trunc-eof":
                s.shutdown(socket.SHUT_WR)
    except OSError as e:
        r["send_error"] = str(e)
    r["closed_after"] = wait_closed(s, 20)
    s.close()
    return r


out = {"hello_len": len(HELLO), "ports": {}}
for name, port in ports:
    res = []
    for _ in range(args.garbage):
        for kind in ("http", "random", "record", "trunc-eof"):
            res.append(bad(args.host, port, kind))
    res.append(bad(args.host, port, "trunc-hold"))
    out["ports"][name] = {"bad": res}

# ---- idle connections ------------------------------------------------------------
sel = selectors.DefaultSelector()
conns = {}  # fd -> [sock, port name, kind, t_open, t_closed]


def add(s, name, kind):
    s.setblocking(False)
    c = [s, name, kind, time.monotonic(), None]
    conns[s.fileno()] = c
    sel.register(s.fileno(), selectors.EVENT_READ)


def poll(timeout):
    for key, _ in sel.select(timeout):
        c = conns[key.fd]
        s = c[0]
        try:
            d = s.recv(65536)
            closed = not d
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            closed = False
        except OSError:
            closed = True
        if closed:
            c[4] = time.monotonic()
            sel.unregister(key.fd)


stats = {}
for kind in ("raw", "tls"):
    for name, port in ports:
        st = stats.setdefault(name, {}).setdefault(kind, {"opened": 0, "failed": 0})
        for _ in range(args.idle):
            try:
                s = socket.create_connection((args.host, port), timeout=10)
                if kind == "tls":
                    s = CTX.wrap_socket(s, server_hostname=args.sni)
                add(s, name, kind)
                st["opened"] += 1
            except OSError as e:
                st["failed"] += 1
                st.setdefault("error", str(e))
            poll(0)
        poll(0)

t_all = time.monotonic()
open_now = sum(1 for c in conns.values() if c[4] is None)
out["idle_open_when_all_opened"] = open_now
if args.marker:
    open(args.marker, "w").write("%d\n" % open_now)
while time.monotonic() - t_all < args.hold_max and any(c[4] is None for c in conns.values()):
    poll(0.2)
out["held_s"] = round(time.monotonic() - t_all, 2)

for name, _ in ports:
    for kind in ("raw", "tls"):
        st = stats[name][kind]
        d = sorted(c[4] - c[3] for c in conns.values() if c[1] == name and c[2] == kind and c[4] is not None)
        st["closed"] = len(d)
        st["close_p50_s"] = round(d[len(d) // 2], 2) if d else None
        st["close_max_s"] = round(d[-1], 2) if d else None
        st["close_min_s"] = round(d[0], 2) if d else None
        out["ports"][name][kind] = st
for c in conns.values():
    try:
        c[0].close()
    except OSError:
        pass
stop_sampler.set()
out["peak_rss_kb"] = peak_rss[0]
print(json.dumps(out))
