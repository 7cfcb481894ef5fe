/* Transcoding templates (AddLiveStreamTranscode, AddCustomLiveStreamTranscode;
 * docs/TRANSCODE.md has the numbers): which templates exist, the limits of
 * a custom one, the output size, frame rate and bitrate for a given source,
 * and the rendition stream name "{StreamName}_{Template}". Pure maths, no I/O. */
#ifndef LE_TRANS_TEMPLATE_H
#define LE_TRANS_TEMPLATE_H
#include <stddef.h>

#define LE_TRANS_NAME_MAX 64        /* template names are shorter */
#define LE_TRANS_FPS_MAX 30         /* FPS 1..30 */
#define LE_TRANS_KBPS_MAX 6000      /* VideoBitrate 1..6000 kbit/s */
#define LE_TRANS_SIDE_MIN 100       /* Width >= 100 (Height too) */
#define LE_TRANS_LONG_MAX 1920      /* max(Width, Height) <= 1920 */
#define LE_TRANS_SHORT_MAX 1080     /* min(Width, Height) <= 1080 */

enum { LE_TRANS_ONDEMAND = 0, LE_TRANS_ALWAYS = 1 };

typedef struct le_trans_tpl {
    char name[LE_TRANS_NAME_MAX];   /* "lld" .. "ud", or the custom name */
    int custom;                     /* 1: AddCustomLiveStreamTranscode */
    int width, height;              /* custom: the box; standard: 0 and the short side */
    int fps;                        /* custom: FPS; standard: LE_TRANS_FPS_MAX */
    int kbps;                       /* VideoBitrate (custom) or the template's cap */
    char type[16];                  /* custom: "h264" or "h264-nbhd"; standard: "" */
    int mode;                       /* LE_TRANS_ONDEMAND or LE_TRANS_ALWAYS */
} le_trans_tpl;

/* A standard template by name (lld lsd lhd lud, ld sd hd ud; exact case)
 * into out (mode on demand); LE_ENOTFOUND for any other name. */
int le_trans_std(const char *name, le_trans_tpl *out);
int le_trans_is_std(const char *name);

/* A custom template name: 1-63 of [A-Za-z0-9-], not a standard name, not
 * "abr" (the master playlist's suffix). */
int le_trans_custom_name_ok(const char *name);

/* A custom template's parameters: LE_OK, or LE_EINVAL with the name of
 * the offending parameter in *bad and a reason in *why (static strings). */
int le_trans_custom_check(const le_trans_tpl *t, const char **bad, const char **why);

/* The output of template t for a source of src_w x src_h at src_fps (0:
 * unknown). Sizes are even, never larger than the source's (odd source
 * sides round down); the source's aspect ratio is kept. Standard: the
 * template's height is the output's short side (a portrait source gets it
 * as its width). Custom: the largest size inside the Width x Height box.
 * fps is min(template, source) (the template's when the source's is
 * unknown). kbps is the template's, scaled down by the pixel count when the
 * output is smaller than the template's nominal size (at least 1/4 of it).
 * LE_EINVAL for a source size under 2x2 or over 16384. */
typedef struct le_trans_out {
    int width, height;
    double fps;
    int kbps;
} le_trans_out;
int le_trans_output(const le_trans_tpl *t, int src_w, int src_h, double src_fps, le_trans_out *out);

/* "{stream}_{tpl}" into out; LE_ETOOBIG when it does not fit n. */
int le_trans_rendition_name(const char *stream, const char *tpl, char *out, size_t n);

/* A requested stream name read back as (source stream, template): the
 * longest of the ntpl configured template names that name ends with after
 * a '_', the part before being non-empty. LE_OK with the source name in
 * src (n bytes) and the index into tpls in *which; LE_ENOTFOUND when the
 * name is no rendition of them; LE_ETOOBIG when src is too small. */
int le_trans_split(const char *name, const char *const *tpls, size_t ntpl, char *src, size_t n, size_t *which);

#endif
