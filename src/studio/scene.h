/* Scenes of a caster (docs/STUDIO.md, "Scenes") and the view of a whole
 * caster that running it needs. Pure: JSON objects in, structs and JSON
 * out; no Redis, no sockets.
 *
 * A scene is stored as the field scene:{SceneId} of the caster's hash, a
 * JSON object answered (with StreamUrl and StreamInfos added) by
 * DescribeCasterScenes:
 *   {SceneId, SceneName, OutputType (0 PVW, 1 PGM), LayoutId ("" none),
 *    ComponentIds[] (bottom to top), Status (0 stopped, 1 running),
 *    FollowEnable (0/1, default 1), AudioLayers[], MixList[] (the scene's
 *    own audio, UpdateCasterSceneAudio), EffectResourceId ("" none:
 *    EffectCasterVideoResource put that source full-frame)}
 * and the hash fields pvw and pgm name the caster's two scenes (made by
 * CreateCaster and CopyCaster, or by StartCaster when missing).
 *
 * A PGM scene switched to the standby video has "Urgent": 1 (absent: 0);
 * it shows slot LE_SCN_URGENT_SLOT full frame with its audio, nothing else.
 *
 * What a scene shows: EffectResourceId's source full-frame when set, else
 * its layout's VideoLayers with the BlendList's sources (LocationId RVnn is
 * slot nn-1), then its components in ComponentIds order. What it sounds
 * like: FollowEnable 1 takes the effect source's audio when an effect is
 * set, else the layout's AudioLayers/MixList when it has them, else the
 * audio of the bottom video layer's source; FollowEnable 0 takes the
 * scene's own AudioLayers/MixList. */
#ifndef LE_STUDIO_SCENE_H
#define LE_STUDIO_SCENE_H
#include <stddef.h>
#include <stdint.h>
#include "core/json.h"
#include "studio/config.h"
#include "studio/graph.h"

#define LE_SCN_ID_MAX 64
#define LE_SCN_URGENT_SLOT LE_CST_RES_MAX   /* the standby video's slot (engine.h LE_SE_URGENT_SLOT) */
#define LE_SCN_PATH_MAX 1024

/* A caster read from its hash (HGETALL {prefix}caster:{id}). */
typedef struct le_scn_caster {
    char id[LE_SCN_ID_MAX];
    int status;                  /* 0 stopped, 1 running */
    le_jv *info, *config;        /* never NULL after load (config: le_cst_config_default) */
    le_jv *res[LE_CST_RES_MAX];  /* by slot (RV01 = 0); NULL: no resource there */
    le_jv *layouts;              /* object LayoutId -> layout */
    le_jv *comps;                /* object ComponentId -> component */
    le_jv *scenes;               /* object SceneId -> scene */
    char pvw[LE_SCN_ID_MAX], pgm[LE_SCN_ID_MAX];   /* "": none (a caster made before scenes existed) */
    le_jv *resources;            /* object ResourceId -> resource: every one, placed or not */
    int channels;                /* the config's ChannelEnable */
    le_jv *chan[LE_CST_RES_MAX]; /* chan:{RVnn} by channel (RV01 = 0), NULL: none set */
    int64_t sver;                /* the scenes' version (hash field sver), 0 if absent */
} le_scn_caster;

/* From HGETALL's field/value pairs. Slot i (res[i]) holds the resource
 * whose LocationId is RV<i+1>; with channels on (ChannelEnable 1) it holds
 * the resource bound to channel RV<i+1> instead (chan:{RVnn}'s ResourceId),
 * so layouts and scenes name channels and a resource on no channel is not
 * shown. A channel whose resource no longer exists is empty. Objects that do not parse are skipped
 * (logged by the caller if it wants: the count is returned in *bad).
 * 0 or LE_ENOMEM. */
int le_scn_caster_load(const char *id, const char *const *fields, const size_t *flen,
                       const char *const *vals, const size_t *vlen, size_t n, le_scn_caster *out,
                       int *bad);
void le_scn_caster_free(le_scn_caster *c);

/* A channel object (chan:{RVnn}): {ChannelId, ResourceId, SeekOffset (ms),
 * PlayStatus (1 play, 0 pause), SeekSeq (bumped by every SetCasterChannel
 * that gives a SeekOffset, so the same offset given twice seeks twice)}. */
#define LE_SCN_PLAY 1
#define LE_SCN_PAUSE 0

/* 1 when scene object s is switched to the standby video ("Urgent": 1,
 * EffectCasterUrgent or automatic standby). */
int le_scn_is_urgent(const le_jv *s);

/* A new scene object (Status 0, FollowEnable 1, empty lists). */
le_jv *le_scn_new(const char *scene_id, const char *name, int output_type);

/* Where a slot's pictures come from (a video resource). */
typedef enum { LE_SCN_SRC_NONE, LE_SCN_SRC_LIVE, LE_SCN_SRC_FILE } le_scn_src_kind;
typedef struct le_scn_src {
    le_scn_src_kind kind;
    char url[LE_CST_URL_MAX + 1];   /* live: LiveStreamUrl */
    char path[LE_SCN_PATH_MAX];     /* file: material_dir/MaterialId, or VodUrl's local path */
    int repeat;                     /* RepeatNum */
    int64_t begin_ms, end_ms;       /* BeginOffset, EndOffset */
} le_scn_src;
/* res (a stored video resource) to a source. A VodUrl is a file:// URL or
 * an absolute path, or an http(s) URL of this node's /record/ files
 * (resolved against record_dir); other VodUrls are LE_EINVAL (e filled).
 * material_dir may be NULL (MaterialId then LE_EINVAL). */
int le_scn_source(const le_jv *res, const char *material_dir, const char *record_dir, le_scn_src *out,
                  le_cst_err *e);

/* The picture and sound of scene scene_id of c at w x h (see above) into
 * pic (ninputs = naudio_inputs = LE_SG_MAX_INPUTS; strings point into c,
 * valid while c is) and the image components' files into
 * images[0..pic->nimages-1] (material_dir/MaterialId). 0, LE_ENOTFOUND
 * (no such scene: e InvalidScene.NotFound), LE_EINVAL (e filled: a
 * MaterialId without material_dir, le_sg_build refusing the result). A
 * layout or component id the scene names that no longer exists is left
 * out (the scene shows less), as is a BlendList entry without resource
 * (that layer shows black). */
int le_scn_picture(const le_scn_caster *c, const char *scene_id, int w, int h, const char *material_dir,
                   le_sg_scene *pic, char images[][LE_SCN_PATH_MAX], le_cst_err *e);
/* The same for a scene object that need not be stored in c (a programme's
 * episode on PGM, studio/program.h): the scene's lists refer to c's
 * layouts, components and resources. */
int le_scn_picture_of(const le_scn_caster *c, const le_jv *scene, int w, int h, const char *material_dir,
                      le_sg_scene *pic, char images[][LE_SCN_PATH_MAX], le_cst_err *e);

/* The per-slot delays of scene scene_id of c (docs/STUDIO.md, "Sources";
 * an urgent scene: all 0):
 * video_ms[i] the largest FixedDelayDuration of the layout's video layers
 * showing slot i, audio_ms[i] the largest of the audio layers mixing it
 * (the layout's or, FollowEnable 0, the scene's own); audio that follows
 * the bottom video layer (no audio layers) takes that slot's video delay,
 * so it stays in sync. An effect source (EffectResourceId) is not delayed.
 * Values are clamped to 0..5000; slots not used are 0. 0 or LE_ENOTFOUND
 * (no such scene: all 0). */
int le_scn_delays(const le_scn_caster *c, const char *scene_id, int video_ms[LE_SG_MAX_INPUTS],
                  int audio_ms[LE_SG_MAX_INPUTS]);
int le_scn_delays_of(const le_scn_caster *c, const le_jv *scene, int video_ms[LE_SG_MAX_INPUTS],
                     int audio_ms[LE_SG_MAX_INPUTS]);

/* The stream name of a scene: its SceneId without dashes (32 hex digits);
 * output of LiveTemplate t: "{name}_{t}". LE_ETOOBIG if n is too small. */
int le_scn_stream_name(const char *scene_id, const char *tmpl, char *out, size_t n);

#endif
