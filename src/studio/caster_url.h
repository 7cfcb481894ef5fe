/* A caster's LiveStreamUrl split (studio/caster.c decides from it whether a
 * source is a stream of this node or is pulled). Pure. */
#ifndef LE_STUDIO_CASTER_URL_H
#define LE_STUDIO_CASTER_URL_H

#define LE_CST_URL_PART_MAX 128

/* caster_url.c: a LiveStreamUrl "scheme://[user@]host[:port]/app/stream"
 * (stream without a .flv or .m3u8 suffix, query and fragment dropped;
 * scheme lower-cased; port 0 when absent). 0 or LE_EINVAL (no app or
 * stream, names le_name_valid refuses, a bad port, too long). Pure. */
typedef struct le_cst_url {
    char scheme[8], host[256], app[LE_CST_URL_PART_MAX], name[LE_CST_URL_PART_MAX];
    int port;
} le_cst_url;
int le_cst_url_split(const char *url, le_cst_url *u);

#endif
