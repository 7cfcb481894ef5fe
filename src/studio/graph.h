/* Scene graphs (docs/STUDIO.md, "Scene graphs"): a studio scene's layout
 * (VideoLayers, BlendList, AudioLayers, MixList) and components (text,
 * image) turned into a libavfilter graph description for a pipeline job
 * (pipeline/job.h, le_pipe_cfg.graph), plus the filter commands that apply
 * a change to a running graph when no rebuild is needed.
 *
 * Pure: plain structs in, a bounded string out. The only outside look is
 * le_sg_font_file(), which checks which font files exist.
 *
 * Pads of the description:
 *   [in0]..[inN-1]   video of each source (N = ninputs, 1..LE_SG_MAX_INPUTS)
 *   [ain0]..         audio of each source (naudio_inputs, 0: no audio)
 *   [img0]..         image components' pictures (RGBA with alpha; feed the
 *                    picture once, then end that input: overlay repeats it)
 *   [o0]             video out: yuv420p, exactly width x height, sar 1
 *   [a0]             audio out (stereo, fltp, 44100 Hz) when AudioLayers exist
 * The black canvas takes its timestamps from [in0], so every video input
 * must carry the studio clock's timestamps.
 *
 * Filter instance names (targets for avfilter_graph_send_command):
 *   scale@L<i>, overlay@L<i>   video layer i (bottom to top)
 *   drawtext@C<i>              text component i
 *   scale@C<i>, overlay@C<i>   image component i
 *   volume@A<i>                audio layer i;  amix@mix */
#ifndef LE_STUDIO_GRAPH_H
#define LE_STUDIO_GRAPH_H
#include <stddef.h>

#define LE_SG_MAX_INPUTS 13       /* sources RV01..RV12, and the standby file (docs/STUDIO.md, "Standby") */
#define LE_SG_MAX_LAYERS 12
#define LE_SG_MAX_COMPONENTS 16
#define LE_SG_MAX_IMAGES 8
#define LE_SG_TEXT_MAX 512        /* bytes of a text component's Text (UTF-8) */
#define LE_SG_GRAPH_MAX 32768     /* a description never exceeds this */
#define LE_SG_MAX_DIM 4096

typedef enum { LE_SG_FILL_NONE, LE_SG_FILL_FIT } le_sg_fill;      /* "none", "fit" */
typedef enum {
    LE_SG_REF_TOP_LEFT, LE_SG_REF_TOP_RIGHT, LE_SG_REF_BOTTOM_LEFT, LE_SG_REF_BOTTOM_RIGHT,
    LE_SG_REF_CENTER, LE_SG_REF_TOP_CENTER, LE_SG_REF_BOTTOM_CENTER, LE_SG_REF_LEFT_CENTER,
    LE_SG_REF_RIGHT_CENTER
} le_sg_refer;                   /* "topLeft", "topRight", ..., "rightCenter" */
typedef enum { LE_SG_CH_ALL, LE_SG_CH_LEFT, LE_SG_CH_RIGHT } le_sg_channel; /* "all", "leftChannel", "rightChannel" */
typedef enum { LE_SG_FX_NONE, LE_SG_FX_ANIMATE_H, LE_SG_FX_ANIMATE_V } le_sg_effect; /* "none", "animateH", "animateV" */
typedef enum { LE_SG_COMP_TEXT, LE_SG_COMP_IMAGE } le_sg_comp_type;

/* Placement shared by video layers and components. Sizes and positions are
 * fractions of the output (0..1). PositionNormalized (x, y) is measured from
 * the output's top-left corner; refer names the point of the element placed
 * there. */
typedef struct le_sg_place {
    double height_norm, width_norm;
    double x, y;
    le_sg_refer refer;
} le_sg_place;

typedef struct le_sg_video_layer {
    int input;                  /* [in<input>] shown (BlendList entry); -1: empty layer */
    le_sg_fill fill;
    le_sg_place place;
} le_sg_video_layer;

typedef struct le_sg_audio_layer {
    int input;                  /* [ain<input>] (MixList entry) */
    double volume_rate;         /* VolumeRate, 0..10 */
    le_sg_channel channel;      /* ValidChannel */
} le_sg_audio_layer;

typedef struct le_sg_component {
    le_sg_comp_type type;
    le_sg_place place;          /* ComponentLayer */
    le_sg_effect effect;
    /* text */
    const char *text;           /* Text, UTF-8, at most LE_SG_TEXT_MAX bytes */
    const char *color;          /* "0xRRGGBB" or "#RRGGBB"; NULL/"": white */
    const char *font_name;      /* FontName; NULL/"": KaiTi */
    double size_norm;           /* SizeNormalized: font size / output height; <= 0: height_norm */
    double border_width_norm;   /* BorderWidthNormalized: border / font size */
    const char *border_color;   /* BorderColor; NULL/"": no border */
    /* image */
    int image;                  /* [img<image>] */
} le_sg_component;

typedef struct le_sg_scene {
    int width, height;          /* output size (le_sg_template_size) */
    int ninputs;                /* video inputs [in0]..: 1..LE_SG_MAX_INPUTS */
    int naudio_inputs;          /* audio inputs [ain0]..: 0..LE_SG_MAX_INPUTS */
    int nimages;                /* image inputs [img0]..: 0..LE_SG_MAX_IMAGES */
    int nlayers;
    le_sg_video_layer layers[LE_SG_MAX_LAYERS];     /* bottom to top */
    int ncomponents;
    le_sg_component comps[LE_SG_MAX_COMPONENTS];    /* above the layers, in order */
    int naudio;
    le_sg_audio_layer audio[LE_SG_MAX_INPUTS];
} le_sg_scene;

/* CasterTemplate ("lp_ld", "lp_sd", "lp_hd", "lp_ud", and "_v" portrait
 * variants) to an output size. 0 or LE_ENOTFOUND. */
int le_sg_template_size(const char *tmpl, int *w, int *h);

/* Exact API names to enums: 0 or LE_EINVAL. NULL or "" gives the default
 * (none, topLeft, all, none). */
int le_sg_fill_parse(const char *s, le_sg_fill *out);
int le_sg_refer_parse(const char *s, le_sg_refer *out);
int le_sg_channel_parse(const char *s, le_sg_channel *out);
int le_sg_effect_parse(const char *s, le_sg_effect *out);

/* FontName to a font file present on this system (docs/STUDIO.md lists the
 * mapping); falls back to DejaVu Sans, then Liberation Sans. NULL when no
 * known font file exists. */
const char *le_sg_font_file(const char *font_name);

/* The graph description into buf (NUL-terminated). 0; LE_EINVAL (a value
 * out of range, an input index outside the counts, a bad colour, no font);
 * LE_ETOOBIG (a text over LE_SG_TEXT_MAX, or the description over cap). */
int le_sg_build(const le_sg_scene *s, char *buf, size_t cap);

/* One filter command: avfilter_graph_send_command(graph, target, cmd, arg). */
typedef struct le_sg_cmd {
    char target[32];
    char cmd[16];
    char arg[4 * LE_SG_TEXT_MAX + 512];     /* a reinit quotes the whole text */
} le_sg_cmd;

#define LE_SG_MAX_CMDS 32

/* About 80 KiB: allocate it rather than put it on a worker's stack. */
typedef struct le_sg_cmds {
    int rebuild;                /* 1: the change needs a new graph (or more than
                                 * LE_SG_MAX_CMDS commands); no commands */
    int n;
    le_sg_cmd c[LE_SG_MAX_CMDS];
} le_sg_cmds;

/* What turns the running graph of `from` into that of `to` without a
 * rebuild: scale w/h and overlay x/y commands for layers and image
 * components that moved or changed size, one drawtext "reinit" for a text
 * component whose text, colour, font, size, border, position or effect
 * changed, volume commands for VolumeRate. rebuild = 1 when the structure
 * changed: output size, input counts, the number of layers, components or
 * audio layers, a layer's source or FillMode, a component's type or image,
 * an audio layer's source or ValidChannel. Both scenes must be valid
 * (le_sg_build). 0, LE_EINVAL, LE_ETOOBIG. */
int le_sg_diff(const le_sg_scene *from, const le_sg_scene *to, le_sg_cmds *out);

#endif
