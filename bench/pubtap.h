/* bench/pubtap.h: the publish tap of bench/loadgen and bench/hlsload
 * (bench/README, docs/BENCHMARKS.md): a transparent TCP proxy on
 * 127.0.0.1:PORT between the RTMP publisher (ffmpeg) and the server. It
 * parses the publisher's chunk stream and notes, for every video frame, the
 * monotonic time its last byte went to the server, under a key the program
 * computes from the frame's bytes (servers may rewrite timestamps, never the
 * payload); a player that receives the same frame looks the key up: delay =
 * receive time - tap time. Its connections are in the priority epoll set
 * (bench/bnet.h). */
#ifndef LE_BENCH_PUBTAP_H
#define LE_BENCH_PUBTAP_H
#include <stdint.h>

/* A video frame's key from its RTMP message body; 0: the frame is not
 * recorded (nor counted, nor taken as the first keyframe). */
typedef uint64_t (*pubtap_key_fn)(const uint8_t *body, uint32_t len);

/* Listens on 127.0.0.1:port (dies if it cannot); each publisher that
 * connects (one at a time) is forwarded to to_host:to_port. Runs the loop
 * until a keyframe went through, for up to wait_s seconds (dies then). */
void pubtap_start(int port, const char *to_host, int to_port, pubtap_key_fn key, double wait_s);
/* "HOST:PORT" into host (128 bytes) and *port; dies on anything else. */
void pubtap_parse_to(const char *s, char *host, int *port);
/* The tap time of the frame with this key; 0 if the tap has not seen it. */
uint64_t pubtap_time(uint64_t key);
/* Bytes the publisher sent; whether a keyframe went through (1/0). */
uint64_t pubtap_bytes(void);
int pubtap_has_key(void);

/* The FLV/RTMP video body b of n bytes: a coded frame (not a sequence
 * header or end of sequence; legacy and enhanced RTMP), a keyframe. */
int flv_video_is_frame(const uint8_t *b, uint32_t n);
int flv_video_is_key(const uint8_t *b, uint32_t n);

#endif
