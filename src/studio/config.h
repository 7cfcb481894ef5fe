/* The production studio's ("caster") objects as the caster actions take and
 * store them (docs/STUDIO.md): a caster, its config (SetCasterConfig), video
 * resources (LocationId RV01-RV12), layouts and components (LocationId
 * RC01-RC99).
 *
 * Pure: each parser reads request parameters through a getter, checks them
 * against the API reference's limits and builds the JSON object that is both
 * stored in Redis and answered by the Describe actions (the same field
 * names). On a refusal it fills an error (HTTP status, Alibaba-style Code
 * and Message) and returns a negative LE_* code. For the Modify actions the
 * getter of le_cst_merge_get answers a parameter from the request if given,
 * else from the stored object, so one parser serves Add and Modify. */
#ifndef LE_STUDIO_CONFIG_H
#define LE_STUDIO_CONFIG_H
#include <stddef.h>
#include <stdint.h>
#include "core/json.h"

#define LE_CST_RES_MAX 12        /* RV01..RV12 */
#define LE_CST_COMP_MAX 99       /* RC01..RC99 */
#define LE_CST_LAYERS_MAX 12     /* VideoLayers / AudioLayers of one layout */
#define LE_CST_LAYOUT_MAX 100    /* layouts of one caster */
#define LE_CST_MAX 1000          /* casters of the cluster */
#define LE_CST_DELAY_MAX 60.0    /* Delay, seconds */
#define LE_CST_TEXT_MAX 1024     /* TextLayerContent.Text, bytes */
#define LE_CST_NAME_MAX 128      /* CasterName, ResourceName, ComponentName, MaterialId */
#define LE_CST_URL_MAX 1024
#define LE_CST_TOKEN_MAX 64      /* ClientToken */
#define LE_CST_JSON_DEPTH 8

/* Parameter lookup: the value (NUL-terminated) or NULL if absent. */
typedef const char *(*le_cst_get)(void *ctx, const char *name);

typedef struct le_cst_err {
    int status;           /* HTTP status */
    char code[80];
    char msg[320];
} le_cst_err;
typedef int (*le_cst_parse_fn)(le_cst_get g, void *ctx, struct le_jv **out, le_cst_err *e);

/* Fills e (when not NULL) with an error answer: HTTP status, error code and
 * the message from fmt. Returns LE_ENOTFOUND for status 404, LE_EINVAL
 * otherwise. */
int le_cst_fail(le_cst_err *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 1..max bytes, none a space, a control byte or DEL (bytes from 0x80 pass):
 * 1 or 0. */
int le_cst_nospace_ok(const char *s, size_t max);
/* A name (ItemName, EpisodeName): 1..LE_CST_NAME_MAX bytes, no control
 * byte or DEL: 1 or 0. */
int le_cst_name_ok(const char *s);
/* The path of URL or file name u (before any '?' or '#') ends in .mp4,
 * .flv, .ts or .mov (any case): 1 or 0. */
int le_cst_media_ext_ok(const char *u);

/* "RVnn" (kind 'V', 1..12) or "RCnn" (kind 'C', 1..99): the number, or
 * LE_EINVAL. */
int le_cst_location(const char *s, char kind);
/* ClientToken: 1..64 printable ASCII bytes. */
int le_cst_token_ok(const char *s);
/* Ids the node hands out (lower-case UUIDs) and names: 1..128 of
 * [A-Za-z0-9._-], not "." or "..". */
int le_cst_id_ok(const char *s);
/* CasterTemplate lp_ld, lp_sd, lp_hd, lp_ud and their _v variants: LE_OK,
 * w and h filled (may be NULL), or LE_EINVAL. */
int le_cst_caster_template(const char *s, int *w, int *h);
/* LiveTemplate lld, lsd, lhd, lud and daobo-lld ... daobo-lud. */
int le_cst_live_template_ok(const char *s);

/* CreateCaster's parameters: {CasterName, NormType, ChargeType,
 * PurchaseTime, ExpireTime, CasterTemplate}. NormType (0 or 1) and
 * ChargeType (PrePaid or PostPaid) are required; PrePaid needs
 * CasterTemplate. */
int le_cst_caster_parse(le_cst_get g, void *ctx, le_jv **out, le_cst_err *e);

/* SetCasterConfig's parameters, a full overwrite (absent = empty):
 * {DomainName, Delay, TranscodeConfig{CasterTemplate, LiveTemplate[]},
 * RecordConfig (the JSON object as given), UrgentMaterialId, SideOutputUrl,
 * CallbackUrl, ProgramName, ProgramEffect, ChannelEnable}. TranscodeConfig
 * also takes the example's lower-case casterTemplate/liveTemplate. */
int le_cst_config_parse(le_cst_get g, void *ctx, le_jv **out, le_cst_err *e);
/* The config answered for a caster that never had one. */
le_jv *le_cst_config_default(void);

/* AddCasterVideoResource / ModifyCasterVideoResource:
 * {ResourceName, LocationId, LiveStreamUrl, VodUrl, MaterialId, RepeatNum,
 * BeginOffset, EndOffset}; exactly one of LiveStreamUrl, VodUrl, MaterialId. */
int le_cst_resource_parse(le_cst_get g, void *ctx, le_jv **out, le_cst_err *e);

/* AddCasterLayout / ModifyCasterLayout, wire names VideoLayer.N.*,
 * AudioLayer.N.*, BlendList.N, MixList.N (the plural forms VideoLayers.N.*
 * ... are read too): {VideoLayers[], AudioLayers[], BlendList[], MixList[]}.
 * For Modify pass old: a list absent from the request is kept from it. */
int le_cst_layout_parse(le_cst_get g, void *ctx, const le_jv *old, le_jv **out, le_cst_err *e);

/* AddCasterComponent / ModifyCasterComponent: {ComponentName, LocationId,
 * ComponentType, Effect, ComponentLayer{...}, TextLayerContent{...} or
 * ImageLayerContent{MaterialId}}; ComponentLayer, TextLayerContent and
 * ImageLayerContent are JSON parameters. ComponentType caption is refused
 * (InvalidComponentType.NotSupported): it needs speech recognition. */
int le_cst_component_parse(le_cst_get g, void *ctx, le_jv **out, le_cst_err *e);

/* A getter over a request (g, ctx) falling back on a stored object: string
 * members as they are, other members rendered as JSON. Free with
 * le_cst_merge_free. */
typedef struct le_cst_merge {
    le_cst_get g;
    void *ctx;
    const le_jv *old;
    char *bufs[32];
    int nbufs;
} le_cst_merge;
const char *le_cst_merge_get(void *merge, const char *name);
void le_cst_merge_free(le_cst_merge *m);

/* Stored JSON back to an object: NULL if it does not parse as an object. */
le_jv *le_cst_decode(const char *s, size_t n);
/* A deep copy (through JSON). */
le_jv *le_cst_copy(const le_jv *v);

#endif
