/* The configuration file: nginx-like syntax (`key value;`, `name { ... }`,
 * `#` comments, single/double quotes). Pure: text in, struct out, errors with
 * a line number into the caller's buffer. livedge.conf(5) lists the keys. */
#ifndef LE_CONF_H
#define LE_CONF_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The domain the node serves when the file has no domain block. */
#define LE_CONF_DEFAULT_DOMAIN "live.example.com"

enum { LE_TAKEOVER_IDLE = 0, LE_TAKEOVER_ALWAYS, LE_TAKEOVER_NEVER };
enum { LE_AUTH_NONE = 0, LE_AUTH_A, LE_AUTH_B, LE_AUTH_C, LE_AUTH_TX };

/* A push rule (a domain's `push { }` block, or its live_push domain
 * function): every publish of the domain, or of app only, is pushed to
 * each target (a URL template, relay/push.h le_push_expand), signed with
 * sign_type (LE_AUTH_NONE, LE_AUTH_A or LE_AUTH_TX) and sign_key, the
 * signature valid sign_validity_s seconds from each connection. */
#define LE_CONF_PUSH_TARGETS_MAX 16     /* targets in one rule */
#define LE_CONF_PUSH_RULES_MAX 16       /* push blocks in one domain */
typedef struct le_conf_push {
    char *app;                  /* NULL: every app */
    char *targets[LE_CONF_PUSH_TARGETS_MAX];
    int ntargets;
    int sign_type;
    char *sign_key;
    int64_t sign_validity_s;    /* default 86400 */
    int from_api;               /* the live_push function, not the file */
    struct le_conf_push *next;
} le_conf_push;
le_conf_push *le_conf_push_new(void);
void le_conf_push_free(le_conf_push *r);   /* the whole list from r */

/* hls_variant: what a domain's live HLS is made of (livedge.conf(5)). */
enum { LE_HLS_VARIANT_MPEGTS = 0, LE_HLS_VARIANT_FMP4, LE_HLS_VARIANT_LOWLATENCY };

typedef struct le_conf_domain {
    char *name;                 /* play domain */
    char *push_domain;          /* NULL if none */
    int64_t hls_fragment_ms;    /* default 2000 */
    int hls_window;             /* segments in a live playlist, default 6 */
    int hls_variant;            /* LE_HLS_VARIANT_*, default mpegts */
    int64_t hls_part_ms;        /* lowlatency: partial segment length, default 200 */
    int hls;                    /* on by default */
    int timeshift;              /* off by default */
    int64_t timeshift_retention_ms; /* default 7d, at most 15d */
    int auth_type;              /* LE_AUTH_* */
    char *auth_key1, *auth_key2;
    int64_t auth_delta_s;       /* default 1800 */
    char *notify_url;
    char *notify_auth_key;
    char *ip_black_list;        /* raw comma-separated text, parsed by auth */
    char *ip_white_list;
    char *cors_origin;          /* Access-Control-Allow-Origin, default "*" */
    char *referer_white_list;   /* referer_white_list_set: comma list (auth/acl.h) */
    char *referer_black_list;   /* referer_black_list_set */
    int referer_white_allow_empty; /* white list's allow_empty, default on */
    int referer_black_allow_empty; /* black list's allow_empty, default on */
    int hls_count_viewers;      /* HLS clients in OnlineUserNum, default on */
    /* The keys of publishes through a push domain of this play domain (the
     * push_aliauth block); push_auth_set 0: the domain's own keys apply. */
    int push_auth_set;
    int push_auth_type;
    char *push_auth_key1, *push_auth_key2;
    int64_t push_auth_delta_s;
    int notify_enable;          /* alilive enable: default on */
    int edge;                   /* edge mode: plays of streams not live here are pulled from the origin node */
    char *ssl_certificate;      /* PEM file served to this domain's SNI name; NULL: none */
    char *ssl_certificate_key;  /* its key file (required with ssl_certificate) */
    int https_force;            /* https_force function: HTTP plays get a 301 to HTTPS */
    int64_t edge_wait_ms;       /* players wait for the pull, default 5000 */
    int64_t edge_idle_ms;       /* the pull stops after this long without viewers, default 30000 */
    le_conf_push *push;         /* push rules: the file's, then the API's */
    struct le_conf_domain *next;
} le_conf_domain;

typedef struct le_conf {
    char *node_name;            /* default: hostname */
    char *rtmp_listen;          /* "0.0.0.0:1935" */
    char *rtmp_advertise;       /* "host:port" other nodes pull from; NULL: from rtmp_listen */
    char *http_listen;          /* "0.0.0.0:8080" */
    char *admin_listen;         /* "127.0.0.1:8081" */
    char *console_root;         /* the console's files (livedge(8)); NULL: $(pkgdatadir)/www */
    /* TLS (livedge.conf(5), TLS; docs/TLS.md). */
    char *rtmps_listen;         /* RTMPS ingest and play; NULL: off */
    char *https_listen;         /* everything http_listen serves, over TLS; NULL: off */
    int admin_tls;              /* the admin port speaks TLS, default off */
    char *tls_certificate;      /* the node default certificate (PEM chain file) */
    char *tls_certificate_key;  /* its key file */
    char *tls_ciphers;          /* TLS 1.2 cipher list (OpenSSL syntax), a modern default */
    char *tls_ciphersuites;     /* TLS 1.3 suites, OpenSSL's default when NULL */
    char *tls_key_secret;       /* seals API private keys in Redis; NULL: SetLiveDomainCertificate
                                 * cannot store keys */
    char *tls_ca_file;          /* outbound: trusted besides the system store; NULL: none */
    char **tls_verify_skip;     /* outbound: "host[:port]" not verified, NULL-terminated; NULL: none */
    char *data_dir;             /* "/var/lib/livedge" */
    char *redis;                /* "embedded" | "HOST:PORT" | "unix:/path" */
    char *redis_prefix;         /* "livedge:" */
    char *access_key_id, *access_key_secret; /* admin { } block; NULL if none */
    char *default_domain;       /* always names a play domain in domains */
    char *log_level;            /* debug|info|warn|error, default info */
    int publish_takeover;       /* LE_TAKEOVER_*, default idle */
    int64_t publish_idle_ms;    /* takeover "idle" threshold, default 3000 */
    int64_t publish_reconnect_grace_ms; /* players wait for a new publisher, default 10000; 0: off */
    int64_t handshake_timeout_ms; /* default 10000 */
    int64_t idle_timeout_ms;    /* publisher silence before close, default 30000 */
    int64_t http_header_timeout_ms; /* slowloris guard, default 10000 */
    uint32_t rtmp_chunk_size;   /* our outbound chunk size, default 4096 */
    uint32_t rtmp_max_message;  /* default 8 MiB */
    int64_t gop_cache_max_ms;   /* bound on GOP cache duration, default 10000 */
    size_t gop_cache_max_bytes; /* default 16 MiB */
    size_t viewer_queue_bytes;  /* per viewer queue before skipping, default 4 MiB */
    int64_t viewer_drop_ms;     /* behind for this long: dropped, default 10000 */
    int64_t write_tick_ms;      /* RTMP/HTTP-FLV viewers' write pacing, 0..350, default 40; 0: per frame */
    int max_connections;        /* default 10000 */
    size_t rtmp_input_budget;   /* RTMP reassembly held node-wide, default 512 MiB */
    int admin_max_conns_per_ip; /* admin connections from one address, default 32 */
    /* car { } block, the Tencent CAR actions (livedge(8)); car 0: no block. */
    int car;
    char *car_domain;           /* play domain of the UserId streams; NULL: default_domain */
    char *car_app;              /* their app, default "live" */
    char *car_push_url;         /* rtmp:// template with {UserId}, required in the block */
    char *car_tx_key;           /* txSecret key; NULL: the URL is not signed */
    int64_t car_tx_validity_s;  /* txTime = now + this, default 86400 */
    /* Recording (livedge.conf(5), RECORDING; docs/RECORD.md). */
    char *record_root;          /* local files; NULL: {data_dir}/record */
    char *record_url_base;      /* "http://host:port" RecordUrl starts with; NULL: from http_listen */
    size_t record_min_free;     /* free space a new file needs, default 256 MiB */
    int64_t record_stitch_ms;   /* a publisher back within this continues the task, default 30000 */
    size_t record_queue_bytes;  /* per recording: tap queue bound, default 16 MiB */
    int record_threads;         /* writer threads, default 2 */
    int pipeline_threads;       /* media worker threads (docs/PIPELINE.md); 0: cores - 1, at least 1 */
    int64_t record_fragment_ms; /* MP4 fragment length, default 2000 */
    /* s3 { } block: finished files are uploaded there; s3 0: no block. */
    int s3;
    char *s3_endpoint;          /* http(s)://host[:port], required in the block */
    char *s3_region;            /* default "us-east-1" */
    char *s3_access_key, *s3_secret_key;  /* required in the block */
    int s3_keep_local;          /* keep the local copy after the upload, default off */
    /* Renditions (livedge.conf(5), TRANSCODING; docs/TRANSCODE.md). */
    int64_t transcode_idle_ms;  /* an on-demand job stops this long after its last viewer, default 30000 */
    int64_t transcode_wait_ms;  /* a first viewer waits this long for the first frame, default 10000 */
    /* Running casters (livedge.conf(5), STUDIO; docs/STUDIO.md "Running a caster"). */
    char *caster_material_dir;  /* MaterialId files; NULL: {data_dir}/material */
    int caster_fps;             /* studio clock, default 30 */
    int64_t caster_source_timeout_ms;  /* a stalled source's last picture is held this long, default 2000 */
    int caster_max;             /* casters this node runs at most, default 4 */
    int64_t caster_urgent_after_ms;   /* automatic standby after PGM lost all its sources this long; 0: off */
    le_conf_domain *domains;    /* linked list, file order */
} le_conf;

/* Built-in defaults, the node runs on these with no file at all. */
le_conf *le_conf_defaults(void);
/* Parses text; on error returns NULL and writes "line N: message" into err. */
le_conf *le_conf_parse(const char *text, size_t len, char *err, size_t errlen);
/* Reads and parses a file (startup and SIGHUP only, off the hot path). Unlike
 * le_conf_parse it also makes a relative data_dir absolute against the
 * current directory, so a later chdir (or a child such as redis-server) sees
 * the same place. Read errors come back as "cannot read PATH: reason". */
le_conf *le_conf_load(const char *path, char *err, size_t errlen);
void le_conf_free(le_conf *c);

/* A domain with every default, a deep copy, and its release. */
le_conf_domain *le_conf_domain_new(const char *name);
le_conf_domain *le_conf_domain_copy(const le_conf_domain *d);
void le_conf_domain_free(le_conf_domain *d);

/* The domain with this play name, or whose push_domain is this name. */
le_conf_domain *le_conf_find_domain(const le_conf *c, const char *host, int *is_push);

/* Parses a listen value, "IPv4:PORT" or "[IPv6]:PORT" (port 0-65535, 0 means
 * ephemeral), into a sockaddr ready for bind(). Returns 0, or LE_EINVAL.
 * The parser already validated every *_listen value with this function. */
int le_conf_listen_addr(const char *s, struct sockaddr_storage *ss, socklen_t *sslen);

#endif
