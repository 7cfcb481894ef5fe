/* Uploads to S3-compatible object storage (the `s3` block of
 * livedge.conf(5): AWS, OSS, MinIO, Ceph): finished recordings are PUT as
 * {bucket}/{key} (path style) with AWS Signature V4, by libcurl on upload
 * threads, never on the reactor; files over LE_S3_MULTIPART_MIN go up in
 * parts (CreateMultipartUpload, UploadPart, CompleteMultipartUpload).
 * A failed upload (no answer, 5xx, 4xx other than 403/404 on the bucket)
 * is retried with backoff (1 s doubling to 60 s) for as long as the node
 * runs; the local file stays until the upload is confirmed, then is
 * removed unless keep_local. Completions run on the loop thread. */
#ifndef LE_RECORD_S3_H
#define LE_RECORD_S3_H
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct le_conf;

#define LE_S3_MULTIPART_MIN (64LL << 20)
#define LE_S3_PART_SIZE (16LL << 20)
#define LE_S3_MAX_QUEUED 100000

/* LE_OK (also when the conf has no s3 block: then le_s3_enabled() is 0),
 * LE_EIO with err filled. Copies what it uses of cf. */
int le_s3_init(struct event_base *base, const struct le_conf *cf, char *err, size_t errlen);
int le_s3_enabled(void);

/* done(rc, arg) on the loop: LE_OK once the object is stored (and the local
 * file removed unless keep_local), LE_EIO when stopped before that (the
 * local file stays). Returns LE_OK when queued, LE_ETOOBIG (queue full),
 * LE_EIO (not enabled); done then never runs. */
typedef void (*le_s3_done_fn)(int rc, void *arg);
int le_s3_upload(const char *bucket, const char *key, const char *path, const char *content_type,
                 le_s3_done_fn done, void *arg);

/* "{endpoint}/{bucket}/{key}" with the key's segments percent-encoded as
 * in the request. Returns out. */
char *le_s3_url(const char *bucket, const char *key, char *out, size_t n);

/* Waits up to wait_ms for uploads in flight, cancels the rest (done with
 * LE_EIO), joins the threads. */
void le_s3_stop(int64_t wait_ms);

typedef struct le_s3_stats {
    uint64_t pending;           /* queued, in flight or waiting to retry */
    uint64_t uploaded, bytes, failures;  /* failures: attempts that failed */
} le_s3_stats;
void le_s3_get_stats(le_s3_stats *out);

#endif
