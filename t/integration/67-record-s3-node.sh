#!/bin/sh
# 67-record-s3-node: recording into S3-compatible storage through a real node
# (docs/RECORD.md, "Tasks", "Object storage", "Index"): an ffmpeg publisher,
# a record config (flv + mp4 + m3u8, 5 s cycles) and a record notify config
# set with the admin API, the node's `s3` block pointing at s3rver (npm)
# behind the SigV4-checking proxy t/integration/s3sigv4.py, callbacks to a
# small python recorder.
#  1. keep_local on: every finished file (FLV, MP4, playlists, TS slices) is
#     an object, byte-identical to the local file; index entries and the
#     CreateLiveStreamRecordIndexFiles playlist carry the object URL (the
#     endpoint the node knows) and fetch the same bytes; an uploaded MP4
#     plays from its URL to its full duration; one callback per file whose
#     uri is the object key; DescribeLiveStreamRecordContent lists the keys;
#  2. s3rver stopped for 10 s while recording (two cycles end meanwhile),
#     restarted on the same port and directory: everything arrives,
#     byte-identical, failures counted, nothing pending after; no index
#     entry or callback for those files before their upload;
#  3. keep_local off: the local files are gone once stored, the objects are
#     there and the callbacks carry their keys;
#  4. SIGTERM with uploads pending (s3rver away): the node exits within its
#     10 s, the files stay local, are indexed with their local URL (the
#     HTTP port, though the listener is closed by then), the log says so,
#     and their callbacks are still sent;
#  5. SIGTERM while recording, the store up: the files the stop closes are
#     uploaded, indexed by object URL and announced before the exit.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
: "${LE_SCRIPT_TIMEOUT:=240}"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=t/integration/admin.sh
. "$(dirname "$0")/admin.sh"

le_require_daemon
le_require_tool ffmpeg ffprobe python3 curl cmp redis-server redis-cli

BUCKET=recb
D=$LE_DOMAIN
PFX="letest$$:"
ROOT=$LE_DIR/rec
CBLOG=$LE_DIR/callbacks.jsonl
: >"$CBLOG"
mkdir -p "$ROOT"

le_start_s3rver "$BUCKET" || le_abort "s3rver did not start"
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$LE_S3_PORT/$BUCKET")" 200 \
    "s3rver answers on port $LE_S3_PORT and lists the bucket $BUCKET"
PX_PORT=$(le_free_port 1)
PX_LOG=$LE_DIR/sigv4.log
: >"$PX_LOG"
le_bg PX_PID "$LE_PY" "$LE_T_SRCDIR/s3sigv4.py" "$PX_PORT" "$LE_S3_PORT" S3RVER S3RVER "$PX_LOG"
le_wait_for 10 le_port_open "$PX_PORT" || le_abort "the SigV4 checking proxy did not start"
EP=http://127.0.0.1:$PX_PORT         # the endpoint as the node sees it
S3=http://127.0.0.1:$LE_S3_PORT      # s3rver itself (unsigned GETs)

# ---- the callback recorder: every POST body, with its arrival time ----
cb_recorder "$CBLOG"
CBP=$CB_PORT

# ---- chk.py: questions about local files, objects, index and callbacks ----
cat >"$LE_DIR/chk.py" <<'PY'
import json, os, re, subprocess, sys, urllib.error, urllib.parse, urllib.request
root, bucket, ep, s3, cblog, redis_port, idxkey = sys.argv[1:8]
cmd, args = sys.argv[8], sys.argv[9:]
bdir = os.path.join(root, bucket)

def local(stream):
    """object key -> local path of the finished files of live/STREAM"""
    d = os.path.join(bdir, "rec/live", stream)
    out = {}
    for dp, _, fs in os.walk(d):
        for f in fs:
            if f.endswith((".flv", ".mp4", ".m3u8", ".ts")):
                p = os.path.join(dp, f)
                out[os.path.relpath(p, bdir)] = p
    return out

def get(url):
    try:
        with urllib.request.urlopen(url, timeout=20) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except OSError:
        return 0, b""

def objects(prefix):
    keys, marker = [], ""
    while True:
        q = urllib.parse.urlencode({"prefix": prefix, "marker": marker})
        st, body = get(f"{s3}/{bucket}?{q}")
        if st != 200:
            return None
        ks = [urllib.parse.unquote(k) if "%" in k else k for k in re.findall(r"<Key>([^<]*)</Key>", body.decode())]
        keys += ks
        if b"<IsTruncated>true</IsTruncated>" not in body or not ks:
            return sorted(keys)
        marker = ks[-1]

def index(stream):
    r = subprocess.run(["redis-cli", "-p", redis_port, "ZRANGE", idxkey + stream, "0", "-1"],
                       capture_output=True, text=True, timeout=10)
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]

def cbs(stream):
    out = []
    for l in open(cblog):
        r = json.loads(l)
        b = json.loads(r["body"])
        if b.get("stream") == stream and "uri" in b:
            b["_t"] = r["t"]
            out.append(b)
    return out

def obj_url(key):
    return f"{ep}/{bucket}/" + urllib.parse.quote(key, safe="/-_.~")

def to_s3(url):
    return s3 + url[len(ep):] if url.startswith(ep + "/") else url

stream = args[0] if args else ""
if cmd == "nlocal":                 # nlocal STREAM [EXT]: finished local files
    ext = args[1] if len(args) > 1 else ""
    print(sum(1 for k in local(stream) if k.endswith(ext)))
elif cmd == "nobj":                 # nobj STREAM: objects under rec/live/STREAM/
    o = objects(f"rec/live/{stream}/")
    print(-1 if o is None else len(o))
elif cmd == "objs_same":            # objs_same STREAM: every local file is an object with the same bytes
    loc, bad = local(stream), []
    objs = objects(f"rec/live/{stream}/")
    if objs is None:
        print("cannot list the bucket"); sys.exit()
    if sorted(loc) != objs:
        print("keys differ: local-only %s, object-only %s" % (sorted(set(loc) - set(objs))[:5],
                                                            sorted(set(objs) - set(loc))[:5])); sys.exit()
    for k, p in sorted(loc.items()):
        st, body = get(f"{s3}/{bucket}/" + urllib.parse.quote(k))
        if st != 200 or body != open(p, "rb").read():
            bad.append("%s (HTTP %d, %d bytes)" % (k, st, len(body)))
    print("ok %d" % len(loc) if not bad and loc else "bad: %s" % (bad[:5] or "no file"))
elif cmd == "idx_same":             # idx_same STREAM: one entry per local file, url = object, same bytes
    loc, bad = local(stream), []
    es = index(stream)
    if sorted(e["key"] for e in es) != sorted(loc):
        print("index keys %d, local files %d" % (len(es), len(loc))); sys.exit()
    for e in es:
        if e["url"] != obj_url(e["key"]) or e["bucket"] != bucket:
            bad.append("url %s bucket %s" % (e["url"], e["bucket"])); continue
        st, body = get(to_s3(e["url"]))
        if st != 200 or body != open(loc[e["key"]], "rb").read():
            bad.append("%s: HTTP %d" % (e["url"], st))
    print("ok %d" % len(es) if not bad and es else "bad: %s" % (bad[:5] or "no entry"))
elif cmd == "idx_objs":             # idx_objs STREAM: index keys = objects, urls = object URLs, fetchable
    es, objs = index(stream), objects(f"rec/live/{stream}/")
    keys = sorted(e["key"] for e in es)
    if objs is None or keys != objs:
        print("index %d keys, %s objects" % (len(keys), None if objs is None else len(objs))); sys.exit()
    bad = [e["url"] for e in es if e["url"] != obj_url(e["key"]) or get(to_s3(e["url"]))[0] != 200]
    print("ok %d" % len(es) if not bad and es else "bad: %s" % (bad[:5] or "no entry"))
elif cmd == "idx_local":            # idx_local STREAM HTTPBASE: every entry has its local URL
    es = index(stream)
    bad = [e["url"] for e in es if e["url"] != f"{args[1]}/record/{bucket}/{e['key']}"]
    print("ok %d" % len(es) if not bad and es else "bad: %s" % (bad[:5] or "no entry"))
elif cmd == "nwhole":               # nwhole STREAM: index entries of whole files and playlists
    print(sum(1 for e in index(stream) if not e.get("slice")))
elif cmd == "nidx":
    print(len(index(stream)))
elif cmd == "cbs_exact":            # cbs_exact STREAM: one callback per whole file / playlist, = its index entry
    es = {e["key"]: e for e in index(stream) if not e.get("slice")}
    cs, bad = cbs(stream), []
    uris = sorted(c["uri"] for c in cs)
    if uris != sorted(es):
        print("callbacks %s, index %s" % (uris, sorted(es))); sys.exit()
    for c in cs:
        e = es[c["uri"]]
        want = ["%.3f" % (e["duration"] / 1000.0), e["start"] // 1000, e["end"] // 1000]
        got = ["%.3f" % float(c["duration"]), c["start_time"], c["stop_time"]]
        if want != got or c["domain"] != args[1] or c["app"] != "live":
            bad.append("%s: %s, index %s" % (c["uri"], got, want))
    print("ok %d" % len(cs) if not bad and cs else "bad: %s" % (bad[:5] or "no callback"))
elif cmd == "cbs_keys_stored":      # cbs_keys_stored STREAM: every callback uri is an object
    objs, cs = objects(f"rec/live/{stream}/") or [], cbs(stream)
    bad = [c["uri"] for c in cs if c["uri"] not in objs]
    n = len([k for k in objs if not k.endswith(".ts")])
    print("ok %d" % len(cs) if not bad and len(cs) == n and cs else "bad: %d callbacks, %d files, %s" % (len(cs), n, bad[:5]))
elif cmd == "ncb":
    print(len(cbs(stream)))
elif cmd == "cbs_after":            # cbs_after STREAM T: every callback arrived after unix time T
    cs = cbs(stream)
    early = [c["uri"] for c in cs if c["_t"] < float(args[1])]
    print("ok %d" % len(cs) if cs and not early else "bad: %d callbacks, early %s" % (len(cs), early))
elif cmd == "first":                # first STREAM EXT: the key of the first such file (by name)
    ks = sorted(k for k in local(stream) if k.endswith(args[1]))
    print(ks[0] if ks else "")
elif cmd == "content":              # content JSON STREAM: the OssObjectPrefix list = whole files, by start
    d = json.loads(sys.stdin.read())
    got = [x["OssObjectPrefix"] for x in d["RecordContentInfoList"]["RecordContentInfo"]]
    ok_b = all(x["OssBucket"] == bucket for x in d["RecordContentInfoList"]["RecordContentInfo"])
    want = [e["key"] for e in index(stream) if not e.get("slice")]
    print("ok %d" % len(got) if got == want and ok_b and got else "bad: %s, want %s" % (got, want))
elif cmd == "playlist":             # playlist STREAM FILE: its URIs are the slices' object URLs, in order
    uris = [l.strip() for l in open(args[1]) if l.strip() and not l.startswith("#")]
    want = [obj_url(e["key"]) for e in index(stream) if e.get("slice")]
    print("ok %d" % len(uris) if uris == want and uris else "bad: %s, want %s" % (uris[:3], want[:3]))
PY
chk() { "$LE_PY" "$LE_DIR/chk.py" "$ROOT" "$BUCKET" "$EP" "$S3" "$CBLOG" "$LE_REDIS_PORT" "${PFX}recidx:$D/live/" "$@"; }
metric() {
    curl -s --max-time 5 "http://127.0.0.1:$LE_ADMIN_PORT/metrics" | awk -v k="$1" '$1 == k {print $2; exit}'
}
pending_zero() { [ "$(metric livedge_record_uploads_pending)" = 0 ]; }
idx_is() { [ "$(chk nidx "$1")" = "$2" ]; }
ffdur() { timeout -k 3 60 ffprobe -v error -show_entries format=duration -of csv=p=0 "$1" 2>/dev/null | head -1; }

# rec_node KEEP: a node with the s3 block, keep_local KEEP.
rec_node() {
    LE_EXTRA_CONF="record_root $ROOT;
record_min_free 0;
record_stitch 1s;
s3 {
    endpoint   $EP;
    region     eu-test-1;
    access_key S3RVER;
    secret_key S3RVER;
    keep_local $1;
}"
    LE_WAIT_PORTS="rtmp http admin"
    le_start || le_abort "livedge did not start"
}

le_start_redis || le_abort "redis did not start"
rec_node on
line=$(le_wait_log "uploads to $EP \\(region eu-test-1\\)" 5)
ok $? "the node uploads to the proxy's endpoint (log)" && diag "$line"
api AddLiveRecordNotifyConfig "DomainName=$D" "NotifyUrl=http://127.0.0.1:$CBP/cb"
ok $? "AddLiveRecordNotifyConfig ($API_CODE)" || diag "$API_BODY"
api AddLiveAppRecordConfig "DomainName=$D" AppName=live OssBucket=$BUCKET OssEndpoint=oss-test.example.com \
    RecordFormat.1.Format=flv RecordFormat.1.CycleDuration=5 'RecordFormat.1.OssObjectPrefix=rec/{AppName}/{StreamName}/f{Sequence}' \
    RecordFormat.2.Format=mp4 RecordFormat.2.CycleDuration=5 'RecordFormat.2.OssObjectPrefix=rec/{AppName}/{StreamName}/m{Sequence}' \
    RecordFormat.3.Format=m3u8 RecordFormat.3.CycleDuration=5 'RecordFormat.3.OssObjectPrefix=rec/{AppName}/{StreamName}/p{Sequence}' \
    'RecordFormat.3.SliceOssObjectPrefix=rec/{AppName}/{StreamName}/s{Sequence}'
ok $? "AddLiveAppRecordConfig flv + mp4 + m3u8, 5 s cycles, OssBucket $BUCKET ($API_CODE)" || diag "$API_BODY"

# ---- 1. keep_local on --------------------------------------------------------------------------
T1=$(date +%s)
LE_PUB_SECS=12 le_publish s1
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "publishing live/s1 for 12 s" || diag "$(cat "$LE_PUB_LOG")"
le_wait_exit "$LE_PUB_PID" 30
le_wait_log 'live/s1: recording ended' 15 >/dev/null
ok $? "the s1 task ends after the publish"
le_wait_for 30 pending_zero
ok $? "uploads pending back to 0"
N1=$(chk nlocal s1)
le_wait_for 10 idx_is s1 "$N1"
is "$(chk nlocal s1 .flv) $(chk nlocal s1 .mp4) $(chk nlocal s1 .m3u8)" "3 3 3" \
    "three files per format (12 s in 5 s cycles), kept locally ($N1 files with the slices)"
is "$(chk objs_same s1)" "ok $N1" "every local file is an object with the same key and bytes (flv, mp4, m3u8, ts)"
is "$(chk idx_same s1)" "ok $N1" "every index entry's url is the object on $EP, and fetches the same bytes"
is "$(chk cbs_exact s1 "$D")" "ok 9" "one callback per file and playlist: uri = the object key, fields = the index entry"
is "$(metric livedge_record_uploads_total) $(metric livedge_record_upload_failures_total)" "$N1 0" \
    "/metrics: $N1 uploads, no failure"
unlike "$(cat "$PX_LOG")" ' (40[0-9]|50[0-9]) ' "the proxy refused nothing (signature, payload hash)"
is "$(grep -c '^PUT /recb/rec/live/s1/' "$PX_LOG")" "$N1" "one PUT per file through the proxy"
MP4=$(chk first s1 .mp4)
is "$(ffdur "$S3/$BUCKET/$MP4")" "$(ffdur "$ROOT/$BUCKET/$MP4")" "ffprobe reads $MP4 from its object URL to its full duration"
cmp_ok "$(ffdur "$S3/$BUCKET/$MP4" | cut -d. -f1)" -ge 4 "... which is a cycle (about 5 s)"
PL=$(chk first s1 .m3u8)
is "$(ffdur "$S3/$BUCKET/$PL")" "$(ffdur "$ROOT/$BUCKET/$PL")" "ffprobe plays the uploaded playlist $PL (relative slice URIs) from the bucket"

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
WIN=("StartTime=$(iso $((T1 - 60)))" "EndTime=$(iso $(( $(date +%s) + 60 )))")
api DescribeLiveStreamRecordContent "DomainName=$D" AppName=live StreamName=s1 "${WIN[@]}"
is "$(printf '%s' "$API_BODY" | chk content s1)" "ok 9" \
    "DescribeLiveStreamRecordContent: the object keys of the 9 files, bucket $BUCKET"
api CreateLiveStreamRecordIndexFiles "DomainName=$D" AppName=live StreamName=s1 OssBucket=$BUCKET \
    OssEndpoint=oss-test.example.com 'OssObject=rec/live/s1/idx/i{UnixTimestamp}' "${WIN[@]}"
ok $? "CreateLiveStreamRecordIndexFiles answers 200" || diag "$API_BODY"
IKEY=$(j "$API_BODY" 'd["RecordInfo"]["OssObject"]')
is "$(j "$API_BODY" 'd["RecordInfo"]["RecordUrl"]')" "$EP/$BUCKET/$IKEY" "its RecordUrl is the object on $EP"
code() { [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$1")" = 200 ]; }
le_wait_for 15 code "$S3/$BUCKET/$IKEY"
ok $? "the index playlist is uploaded"
curl -s -m 10 -o "$LE_DIR/idx.m3u8" "$S3/$BUCKET/$IKEY"
cmp -s "$LE_DIR/idx.m3u8" "$ROOT/$BUCKET/$IKEY"; ok $? "... byte-identical to the local one"
like "$(chk playlist s1 "$LE_DIR/idx.m3u8")" '^ok [0-9]+$' "... and lists every slice by its object URL, in order"

# ---- 2. s3rver away for 10 s while recording (keep_local on) --------------------------------------
F0=$(metric livedge_record_upload_failures_total)
LE_PUB_SECS=14 le_publish s3
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "publishing live/s3 for 14 s" || diag "$(cat "$LE_PUB_LOG")"
le_kill "$LE_S3_PID"
le_port_open "$LE_S3_PORT"; ok $(( ! $? )) "s3rver is stopped"
sleep 10
NOUT=$(( $(chk nlocal s3 .flv) + $(chk nlocal s3 .mp4) + $(chk nlocal s3 .m3u8) ))
cmp_ok "$NOUT" -ge 6 "two cycles of each format ended during the outage ($NOUT files)"
is "$(chk nidx s3) $(chk ncb s3)" "0 0" "no index entry and no callback for them before their upload"
cmp_ok "$(metric livedge_record_uploads_pending)" -ge "$NOUT" "/metrics: they are pending ($(metric livedge_record_uploads_pending))"
TBACK=$(date +%s.%N)
le_start_s3rver "$BUCKET" || le_abort "s3rver did not restart on port $LE_S3_PORT"
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$LE_S3_PORT/$BUCKET")" 200 \
    "s3rver restarted on the same port and still has the bucket $BUCKET (same directory)"
le_wait_exit "$LE_PUB_PID" 20
le_wait_log 'live/s3: recording ended' 15 >/dev/null
ok $? "the s3 task ends after the publish"
le_wait_for 60 pending_zero
ok $? "uploads pending back to 0 after the outage (backoff at most 60 s)"
N3=$(chk nlocal s3)
le_wait_for 10 idx_is s3 "$N3"
is "$(chk objs_same s3)" "ok $N3" "every file of the outage is an object, byte-identical (object count = file count)"
is "$(chk idx_same s3)" "ok $N3" "every one is indexed with its object URL"
is "$(chk cbs_exact s3 "$D")" "ok $(( $(chk nlocal s3 .flv) + $(chk nlocal s3 .mp4) + $(chk nlocal s3 .m3u8) ))" \
    "one callback per file, uri = the object key"
is "$(chk cbs_after s3 "$TBACK")" "ok $(chk ncb s3)" "every callback came after s3rver returned (after the upload)"
F1=$(metric livedge_record_upload_failures_total)
cmp_ok "$F1" -gt "$F0" "/metrics: failed attempts counted ($F0 -> $F1)"
like "$(cat "$PX_LOG")" '^PUT /recb/rec/live/s3/[^ ]+ [0-9]+ 503 ' "the proxy saw attempts fail while s3rver was away"
is "$(metric livedge_record_uploads_pending)" 0 "/metrics: nothing pending"
le_stop

# ---- 3. keep_local off -----------------------------------------------------------------------------
rec_node off
LE_PUB_SECS=8 le_publish s2
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "keep_local off: publishing live/s2 for 8 s" || diag "$(cat "$LE_PUB_LOG")"
le_wait_exit "$LE_PUB_PID" 30
le_wait_log 'live/s2: recording ended' 15 >/dev/null
ok $? "the s2 task ends after the publish"
le_wait_for 30 pending_zero
ok $? "uploads pending back to 0"
N2=$(metric livedge_record_files_total)
le_wait_for 10 idx_is s2 "$N2"
is "$(chk nlocal s2)" 0 "keep_local off: no local file is left once stored"
is "$(chk nobj s2)" "$N2" "... the $N2 files and slices are objects"
is "$(chk idx_objs s2)" "ok $N2" "... indexed by their object URLs, which fetch"
is "$(chk cbs_keys_stored s2)" "ok $(chk nwhole s2)" "... one callback per file and playlist, carrying its key"

# ---- 4. SIGTERM with uploads pending ---------------------------------------------------------------
le_kill "$LE_S3_PID"
LE_PUB_SECS=7 le_publish s4
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "s3rver away: publishing live/s4 for 7 s" || diag "$(cat "$LE_PUB_LOG")"
le_wait_exit "$LE_PUB_PID" 30
le_wait_log 'live/s4: recording ended' 15 >/dev/null
ok $? "the s4 task ends"
N4=$(chk nlocal s4)
P4=$(metric livedge_record_uploads_pending)
is "$P4" "$N4" "all $N4 files of s4 are pending"
mark=$(le_log_lines)
le_stop
is "$(chk nlocal s4)" "$N4" "the files stay local (keep_local off)"
is "$(tail -n +"$((mark + 1))" "$LE_LOG" | grep -c 'upload not finished .*indexed with its local URL')" "$N4" \
    "the log names each file left local"
le_wait_for 5 idx_is s4 "$N4"
is "$(chk idx_local s4 "http://127.0.0.1:$LE_HTTP_PORT")" "ok $N4" "they are indexed with their local URL"
is "$(chk ncb s4) $(chk cbs_exact s4 "$D")" "$(chk nwhole s4) ok $(chk nwhole s4)" \
    "their callbacks are sent before the exit, uri = the key, fields = the index entry"
unlike "$(tail -n +"$((mark + 1))" "$LE_LOG")" 'callbacks? still outstanding at exit' "no callback abandoned at exit"

# ---- 5. SIGTERM while recording, the store up: the last files go up before the exit ---------------
le_start_s3rver "$BUCKET" || le_abort "s3rver did not restart on port $LE_S3_PORT"
rec_node off
LE_PUB_SECS=30 le_publish s5
le_wait_publishing "$LE_PUB_PROGRESS" 15
ok $? "publishing live/s5" || diag "$(cat "$LE_PUB_LOG")"
le_wait_for 10 le__progress_past "$LE_PUB_PROGRESS" 3000000
mark=$(le_log_lines)
le_stop
le_kill "$LE_PUB_PID"
N5=$(chk nidx s5)
is "$N5 $(chk nlocal s5)" "4 0" "the files closed by the stop (flv, mp4, playlist, slice) are indexed, none left local"
is "$(chk idx_objs s5)" "ok 4" "... stored, and indexed by their object URLs"
is "$(chk cbs_keys_stored s5)" "ok 3" "... their callbacks reached the server before the exit, carrying the keys"

le_kill "$PX_PID" "$CB_PID"
done_testing
