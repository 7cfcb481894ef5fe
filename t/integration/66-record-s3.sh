#!/bin/sh
# 66-record-s3: uploads of finished recordings to S3 (src/record/s3.h)
# through the le-s3put test tool, against s3rver (npm) behind
# s3sigv4.py, a proxy that checks what s3rver does not: the SigV4
# signature (with the secret), x-amz-content-sha256 against the body, and
# the 5 MiB minimum of all parts but the last.
#  - a small FLV (one PUT, a key that needs percent-encoding) and a 12 MiB
#    file over a lowered multipart threshold (5 MiB parts: 5+5+2) arrive
#    byte-identical with their Content-Type; the local files are removed,
#    and kept with keep_local;
#  - s3rver stopped for 10 s while a run uploads, restarted on the same port
#    and directory: everything arrives, the retries are counted;
#  - a wrong secret key: the request is refused, the failure counted, the
#    local file kept, nothing stored, the tool ends normally.
# Test knobs of the module (read when it starts): LE_S3_MULTIPART_MIN (the
# multipart threshold, bytes) and LE_S3_PART_SIZE (bytes, 5 MiB..5 GiB).
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
# shellcheck source=t/integration/lib.sh
. "$(dirname "$0")/lib.sh"

le_require_tool ffmpeg curl python3 cmp
PUT=$top_builddir/t/tools/le-s3put
[ -x "$PUT" ] || le_skip_all "le-s3put not built (make check builds it)"

BUCKET=rec
le_start_s3rver "$BUCKET" || le_abort "s3rver did not start"
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$LE_S3_PORT/$BUCKET")" 200 \
    "s3rver answers on port $LE_S3_PORT and lists the bucket $BUCKET"
PX_PORT=$(le_free_port 1)
PX_LOG=$LE_DIR/sigv4.log
: >"$PX_LOG"
le_bg PX_PID "$LE_PY" "$LE_T_SRCDIR/s3sigv4.py" "$PX_PORT" "$LE_S3_PORT" S3RVER S3RVER "$PX_LOG"
le_wait_for 10 le_port_open "$PX_PORT" || le_abort "the SigV4 checking proxy did not start"
EP=http://127.0.0.1:$PX_PORT
export LE_S3_MULTIPART_MIN=$((6 << 20)) LE_S3_PART_SIZE=$((5 << 20))

# obj KEY_ENCODED OUT: GET the stored object from s3rver itself.
obj() { curl -s -m 20 -o "$2" -w '%{http_code}' "http://127.0.0.1:$LE_S3_PORT/$BUCKET/$1"; }

# ---- files made by ffmpeg ----
W=$LE_DIR/work; mkdir -p "$W"
ffmpeg -hide_banner -nostdin -loglevel error -f lavfi -i "testsrc2=size=320x240:rate=25" \
    -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 3 -c:v libx264 -preset ultrafast -pix_fmt yuv420p \
    -c:a aac -b:a 64k -f flv "$W/small.flv" >/dev/null 2>&1
# Raw video: 110 frames of 320x240 yuv420p, about 12.1 MiB.
ffmpeg -hide_banner -nostdin -loglevel error -f lavfi -i "testsrc2=size=320x240:rate=25" -frames:v 110 \
    -c:v rawvideo -pix_fmt yuv420p -f matroska "$W/big.mkv" >/dev/null 2>&1
SMALL=$(le_file_size "$W/small.flv"); BIG=$(le_file_size "$W/big.mkv")
cmp_ok "$SMALL" -gt 10000 "ffmpeg made a small FLV ($SMALL bytes)"
cmp_ok "$BIG" -gt $((12 << 20)) "ffmpeg made a file over 12 MiB ($BIG bytes)"
cp "$W/small.flv" "$W/small.orig"; cp "$W/big.mkv" "$W/big.orig"

# ---- 1. one PUT and one multipart upload, through the checking proxy ----
out=$(timeout 120 "$PUT" -p "r1/cam 1+x/" -t 60 "$EP" S3RVER S3RVER "$BUCKET" "$W/small.flv" "$W/big.mkv" \
    2>"$LE_DIR/put1.log"); rc=$?
is "$rc" 0 "le-s3put exits 0 when both files are stored" || diag "$out" "$(tail -5 "$LE_DIR/put1.log")"
is "$(printf '%s\n' "$out" | grep -E '^(done|fail)')" "done r1/cam 1+x/small.flv
done r1/cam 1+x/big.mkv" "one completion per file, in the order queued"
like "$out" "^stats uploaded=2 bytes=$((SMALL + BIG)) failures=0 pending=0" "stats: 2 uploaded, their bytes, no failure"
code=$(obj "r1/cam%201%2Bx/small.flv" "$W/got-small"); is "$code" 200 "the FLV is stored under its percent-encoded key"
cmp -s "$W/got-small" "$W/small.orig"; ok $? "the stored FLV is byte-identical"
code=$(obj "r1/cam%201%2Bx/big.mkv" "$W/got-big"); is "$code" 200 "the multipart object is stored"
cmp -s "$W/got-big" "$W/big.orig"; ok $? "the multipart object is byte-identical"
ctype=$(curl -s -m 10 -o /dev/null -w '%{content_type}' "http://127.0.0.1:$LE_S3_PORT/$BUCKET/r1/cam%201%2Bx/small.flv")
is "$ctype" "video/x-flv" "the FLV's Content-Type was sent"
parts=$(grep -E '^PUT [^ ]*\?partNumber=[0-9]+&uploadId=[^ ]+ [0-9]+ 200' "$PX_LOG" | awk '{print $3}' | tr '\n' ' ')
is "$parts" "5242880 5242880 $((BIG - 10485760)) " "UploadPart: 5 MiB parts, the rest last (what the proxy received)"
like "$(cat "$PX_LOG")" '^POST /rec/r1/cam%201%2Bx/big.mkv\?uploads= 0 200' \
    "CreateMultipartUpload signed with a canonical query (uploads=) and accepted"
like "$(cat "$PX_LOG")" '^POST /rec/r1/cam%201%2Bx/big.mkv\?uploadId=[^ ]+ [0-9]+ 200' "CompleteMultipartUpload accepted"
unlike "$(cat "$PX_LOG")" ' (40[0-9]|50[0-9]) ' "the proxy refused no request (signature, payload hash, part sizes)"
[ ! -e "$W/small.flv" ] && [ ! -e "$W/big.mkv" ]; ok $? "the local files are removed once stored"

# ---- 2. keep_local ----
cp "$W/small.orig" "$W/keep.flv"
out=$(timeout 60 "$PUT" -k -p r2/ -t 30 "$EP" S3RVER S3RVER "$BUCKET" "$W/keep.flv" 2>"$LE_DIR/put2.log"); rc=$?
is "$rc" 0 "keep_local: stored" || diag "$out"
code=$(obj "r2/keep.flv" "$W/got-keep"); is "$code" 200 "keep_local: the object is there"
cmp -s "$W/keep.flv" "$W/small.orig"; ok $? "keep_local on: the local file stays, unchanged"

# ---- 3. s3rver away for 10 s during a run (straight to s3rver: connection refused) ----
cp "$W/small.orig" "$W/o1.flv"; cp "$W/big.orig" "$W/o2.mkv"; cp "$W/small.orig" "$W/o3.flv"
le_kill "$LE_S3_PID"
le_port_open "$LE_S3_PORT"; ok $(( ! $? )) "s3rver is stopped"
le_bg RUN_PID sh -c "exec timeout 150 '$PUT' -p r3/ -t 120 http://127.0.0.1:$LE_S3_PORT S3RVER S3RVER $BUCKET \
    '$W/o1.flv' '$W/o2.mkv' '$W/o3.flv' >'$LE_DIR/put3.out' 2>'$LE_DIR/put3.log'"
sleep 10
le_alive "$RUN_PID"; ok $? "the upload run is still going while s3rver is away"
[ -e "$W/o1.flv" ] && [ -e "$W/o2.mkv" ] && [ -e "$W/o3.flv" ]; ok $? "nothing removed locally meanwhile"
le_start_s3rver "$BUCKET" || le_abort "s3rver did not restart on port $LE_S3_PORT"
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$LE_S3_PORT/$BUCKET")" 200 \
    "s3rver restarted on the same port and still has the bucket $BUCKET (same directory)"
le_wait_exit "$RUN_PID" 100; ok $? "the run ends after s3rver returns (backoff at most 60 s)"
is "$LE_EXIT_RC" 0 "le-s3put exits 0: every file stored" || diag "$(cat "$LE_DIR/put3.out")" "$(tail -20 "$LE_DIR/put3.log")"
out=$(cat "$LE_DIR/put3.out")
is "$(printf '%s\n' "$out" | grep -cE '^done ')" 3 "three completions, all successful"
fails=$(printf '%s\n' "$out" | sed -n 's/^stats .*failures=\([0-9]*\).*/\1/p')
cmp_ok "${fails:-0}" -ge 3 "the failed attempts are counted (retries: $fails)"
like "$(cat "$LE_DIR/put3.log")" 'retry in 1000 ms' "the first retry waits 1 s"
like "$(cat "$LE_DIR/put3.log")" 'retry in 4000 ms' "the backoff doubles"
for f in o1.flv:small o2.mkv:big o3.flv:small; do
    code=$(obj "r3/${f%%:*}" "$W/got-$f")
    cmp -s "$W/got-$f" "$W/${f##*:}.orig"; ok $? "r3/${f%%:*}: stored byte-identical after the outage (HTTP $code)"
done
[ ! -e "$W/o1.flv" ] && [ ! -e "$W/o2.mkv" ] && [ ! -e "$W/o3.flv" ]; ok $? "the local files are removed once stored"
le_alive "$LE_S3_PID"; ok $? "the restarted s3rver still runs"

# ---- 4. a wrong secret key ----
cp "$W/small.orig" "$W/bad.flv"
out=$(timeout 60 "$PUT" -p r4/ -t 30 "$EP" S3RVER not-the-secret "$BUCKET" "$W/bad.flv" 2>"$LE_DIR/put4.log"); rc=$?
is "$rc" 1 "wrong secret: le-s3put ends normally, with the failure (exit 1)" || diag "$out"
like "$out" '^fail r4/bad.flv ' "wrong secret: the completion says the upload failed"
like "$out" '^stats uploaded=0 bytes=0 failures=[1-9][0-9]* pending=0' "wrong secret: the failure is counted"
like "$(cat "$PX_LOG")" '^PUT /rec/r4/bad.flv [0-9]+ 403 SignatureDoesNotMatch' "the proxy refused the signature"
cmp -s "$W/bad.flv" "$W/small.orig"; ok $? "wrong secret: the local file is kept"
code=$(obj "r4/bad.flv" /dev/null); is "$code" 404 "wrong secret: nothing stored"
like "$(cat "$LE_DIR/put4.log")" 'giving up on s3://rec/r4/bad.flv' "the log says it gave up and the file stays"

le_kill "$PX_PID"

# ---- 5. a 500 in the middle of a multipart upload: it goes on from that part ----
PX2_PORT=$(le_free_port 1)
PX2_LOG=$LE_DIR/sigv4-2.log
: >"$PX2_LOG"
S3SIGV4_FAIL_ONCE='^PUT [^ ]*partNumber=2&' le_bg PX2_PID "$LE_PY" "$LE_T_SRCDIR/s3sigv4.py" "$PX2_PORT" \
    "$LE_S3_PORT" S3RVER S3RVER "$PX2_LOG"
le_wait_for 10 le_port_open "$PX2_PORT" || le_abort "the second proxy did not start"
cp "$W/big.orig" "$W/resume.mkv"
out=$(timeout 90 "$PUT" -p r5/ -t 60 "http://127.0.0.1:$PX2_PORT" S3RVER S3RVER "$BUCKET" "$W/resume.mkv" \
    2>"$LE_DIR/put5.log"); rc=$?
is "$rc" 0 "a 500 on part 2: the upload still completes" || diag "$out"
like "$out" '^stats uploaded=1 .*failures=1 ' "one failed attempt counted"
like "$(cat "$PX2_LOG")" 'partNumber=2&[^ ]* [0-9]+ 500 InternalError' "the proxy answered 500 to part 2 once"
is "$(grep -c '^POST [^ ]*?uploads= ' "$PX2_LOG")" 1 "one CreateMultipartUpload: the retry keeps the upload id"
is "$(grep -cE '^PUT [^ ]*partNumber=1&[^ ]* [0-9]+ 200' "$PX2_LOG")" 1 "part 1 is not sent again"
code=$(obj "r5/resume.mkv" "$W/got-resume"); cmp -s "$W/got-resume" "$W/big.orig"
ok $? "the resumed object is byte-identical (HTTP $code)"

# ---- 6. stopped while retrying: the completion fails, the file stays ----
DEAD=$(le_free_port 1)
cp "$W/small.orig" "$W/stay.flv"
t0=$(le_now_ms)
out=$(timeout 60 "$PUT" -p r6/ -t 3 "http://127.0.0.1:$DEAD" S3RVER S3RVER "$BUCKET" "$W/stay.flv" \
    2>"$LE_DIR/put6.log"); rc=$?
t1=$(le_now_ms)
is "$rc" 1 "nothing listening, stopped after 3 s: exit 1" || diag "$out"
like "$out" '^fail r6/stay.flv ' "the stop completes the upload as failed"
like "$out" '^stats uploaded=0 bytes=0 failures=[1-9][0-9]* pending=0' "its failed attempts are counted, nothing pending"
cmp_ok $((t1 - t0)) -lt 15000 "the stop does not wait for the retry (took $((t1 - t0)) ms)"
cmp -s "$W/stay.flv" "$W/small.orig"; ok $? "the local file stays"

cat "$LE_DIR"/put*.log >"$LE_DIR/put-all.log"
le_sanitizer_check "$LE_DIR/put-all.log"
le_kill "$PX2_PID" "$LE_S3_PID"
done_testing
