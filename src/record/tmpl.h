/* Object keys of recordings: the OssObjectPrefix / SliceOssObjectPrefix /
 * OssObject templates of the recording actions (AddLiveAppRecordConfig,
 * CreateLiveStreamRecordIndexFiles), checked and expanded. Pure: no I/O.
 * docs/RECORD.md, "Object keys", lists the variables and formats.
 *
 * Variables: {AppName} {StreamName} {Sequence} (the file's number in its
 * task, from 0) {UnixTimestamp} (start, unix seconds) {EscapedStartTime}
 * {EscapedEndTime} (UTC "YYYY-MM-DD-HH-MM-SS", no character a URL or a
 * file system would need to escape) {Date} ("YYYY-MM-DD") {Hour} {Minute}
 * {Second} ("HH", "MM", "SS" of the start, UTC). Unknown {names} are
 * refused by the check and kept as written by the expander. */
#ifndef LE_RECORD_TMPL_H
#define LE_RECORD_TMPL_H
#include <stddef.h>
#include <stdint.h>

/* Templates and keys are shorter than this (bytes, without the NUL). */
#define LE_REC_KEY_MAX 256

typedef struct le_rec_vars {
    const char *app, *stream;
    uint64_t sequence;
    int64_t start_ms, end_ms;  /* UTC, unix ms; end_ms 0: not known yet (expands as the start) */
} le_rec_vars;

/* A template an operator gave: LE_OK, or LE_EINVAL with a reason in why:
 * empty, LE_REC_KEY_MAX bytes or more, an absolute path, a ".." or "."
 * segment, an empty segment ("//"), a control byte or a backslash, an
 * unknown or unclosed {variable}. */
int le_rec_tmpl_check(const char *tmpl, char *why, size_t whylen);

/* Expands tmpl into out (n bytes) and appends "." ext unless the result
 * already ends with it (ext NULL: nothing appended). Values of {AppName} and
 * {StreamName} that could change the key's shape ('/', "..", control
 * bytes) are refused. LE_OK; LE_EINVAL (what the check refuses, in the
 * result); LE_ETOOBIG (the key is LE_REC_KEY_MAX bytes or more, or does not
 * fit n). */
int le_rec_tmpl_expand(const char *tmpl, const le_rec_vars *v, const char *ext, char *out, size_t n);

/* "YYYY-MM-DD-HH-MM-SS" of ms (UTC) into out; returns out. */
char *le_rec_escaped_time(int64_t ms, char out[24]);
/* ISO 8601 with milliseconds, "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC): the start a
 * recorded file carries in its own metadata. Returns out. */
char *le_rec_iso_time(int64_t ms, char out[32]);

/* Defaults when a format has no prefix (docs/RECORD.md). */
#define LE_REC_DEFAULT_PREFIX "record/{AppName}/{StreamName}/{EscapedStartTime}_{EscapedEndTime}"
#define LE_REC_DEFAULT_SLICE_PREFIX "record/{AppName}/{StreamName}/{UnixTimestamp}_{Sequence}"

#endif
