#!/usr/bin/env python3
# s3sigv4.py LISTEN_PORT BACKEND_PORT ACCESS SECRET LOG: a checking proxy on
# 127.0.0.1 in front of an S3 server that does not verify SigV4 itself
# (s3rver). For each request it does what S3 does before anything else:
#   - rebuilds the canonical request from the wire (path segments decoded
#     and re-encoded, query parameters decoded, re-encoded and sorted,
#     "k=" for an empty value; the signed headers, trimmed) and checks the
#     AWS4-HMAC-SHA256 signature with SECRET; 403 SignatureDoesNotMatch;
#   - x-amz-content-sha256 must be signed and match the body's SHA-256
#     (or be UNSIGNED-PAYLOAD); 400 XAmzContentSHA256Mismatch;
#   - CompleteMultipartUpload: every part but the last >= 5 MiB, else 400
#     EntityTooSmall (s3rver does not check it).
# With S3SIGV4_FAIL_ONCE=ERE in the environment, the first request whose
# "METHOD PATH?QUERY" matches gets a 500 InternalError instead.
# Then forwards to 127.0.0.1:BACKEND_PORT. LOG gets one line per request:
# "METHOD PATH?QUERY BODYLEN STATUS".
import hashlib, hmac, http.client, os, re, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

LISTEN, BACKEND, ACCESS, SECRET, LOG = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
PART_MIN = 5 << 20
parts = {}          # uploadId -> {partNumber: size}
lock = threading.Lock()
fail_once = [os.environ.get("S3SIGV4_FAIL_ONCE", "")]


def enc(s):
    return quote(s, safe="-_.~")


def canonical_query(raw):
    items = []
    for kv in raw.split("&") if raw else []:
        k, _, v = kv.partition("=")
        items.append((enc(unquote(k)), enc(unquote(v))))
    return "&".join(f"{k}={v}" for k, v in sorted(items))


def check(method, path, query, headers, body):
    auth = headers.get("authorization", "")
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, "
                 r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$", auth)
    if not m:
        return 403, "AccessDenied", "no SigV4 Authorization"
    ak, day, region, signed, sig = m.groups()
    if ak != ACCESS:
        return 403, "InvalidAccessKeyId", ak
    names = signed.split(";")
    for need in ("host", "x-amz-date", "x-amz-content-sha256"):
        if need not in names:
            return 403, "SignatureDoesNotMatch", need + " not signed"
    amzdate = headers.get("x-amz-date", "")
    if amzdate[:8] != day:
        return 403, "SignatureDoesNotMatch", "date"
    payload = headers.get("x-amz-content-sha256", "")
    if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(body).hexdigest():
        return 400, "XAmzContentSHA256Mismatch", payload
    canon_path = "/".join(enc(unquote(seg)) for seg in path.split("/"))
    hdrs = "".join(f"{n}:{' '.join(headers.get(n, '').split())}\n" for n in names)
    creq = "\n".join([method, canon_path, canonical_query(query), hdrs, signed, payload])
    scope = f"{day}/{region}/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + SECRET).encode()
    for p in (day, region, "s3", "aws4_request"):
        k = hmac.new(k, p.encode(), hashlib.sha256).digest()
    if hmac.new(k, sts.encode(), hashlib.sha256).hexdigest() != sig:
        return 403, "SignatureDoesNotMatch", creq.replace("\n", "|")
    return None


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n) if n else b""
        path, _, query = self.path.partition("?")
        headers = {k.lower(): v for k, v in self.headers.items()}
        bad = check(self.command, path, query, headers, body)
        if not bad and self.command == "POST" and re.search(r"(^|&)uploadId=", query):
            uid = unquote(re.search(r"uploadId=([^&]*)", query).group(1))
            nums = [int(x) for x in re.findall(rb"<PartNumber>(\d+)</PartNumber>", body)]
            with lock:
                sizes = parts.get(uid, {})
            if any(sizes.get(p, 0) < PART_MIN for p in nums[:-1]):
                bad = (400, "EntityTooSmall", str(sizes))
        if not bad and fail_once[0]:
            with lock:
                if fail_once[0] and re.search(fail_once[0], f"{self.command} {self.path}"):
                    fail_once[0] = ""
                    bad = (500, "InternalError", "injected")
        if bad:
            status, code, why = bad
            xml = f"<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>{why}</Message></Error>"
            self.reply(status, xml.encode(), [("Content-Type", "application/xml")])
            self.log(status, len(body), code)
            return
        m = re.search(r"partNumber=(\d+)&uploadId=([^&]*)", query)
        if self.command == "PUT" and m:
            with lock:
                parts.setdefault(unquote(m.group(2)), {})[int(m.group(1))] = len(body)
        fwd = {k: v for k, v in self.headers.items() if k.lower() not in ("expect", "content-length", "connection")}
        fwd["Content-Length"] = str(len(body))
        try:
            c = http.client.HTTPConnection("127.0.0.1", BACKEND, timeout=30)
            c.request(self.command, self.path, body=body, headers=fwd)
            r = c.getresponse()
            data = r.read()
            hs = [(k, v) for k, v in r.getheaders() if k.lower() not in ("content-length", "connection",
                                                                          "transfer-encoding")]
            c.close()
        except OSError as e:
            self.reply(503, b"<Error><Code>ServiceUnavailable</Code></Error>")
            self.log(503, len(body), str(e))
            return
        self.reply(r.status, data if self.command != "HEAD" else b"", hs)
        self.log(r.status, len(body), "")

    def log(self, status, n, note):
        with lock, open(LOG, "a") as f:
            f.write(f"{self.command} {self.path} {n} {status} {note}\n")

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", LISTEN), H).serve_forever()
