/* Minimal FLV tag bodies for the stream and feed tests: enough for
 * le_pkt_new to classify them (headers, keyframes, inter frames, audio). */
#ifndef LE_T_MEDIA_SAMPLES_H
#define LE_T_MEDIA_SAMPLES_H
#include <stdint.h>

static const uint8_t vseq[] = { 0x17, 0, 0, 0, 0, 1 };
static const uint8_t key[] = { 0x17, 1, 0, 0, 0, 0x65 };
static const uint8_t inter[] = { 0x27, 1, 0, 0, 0, 0x41 };
static const uint8_t aseq[] = { 0xaf, 0, 0x12, 0x10 };
static const uint8_t araw[] = { 0xaf, 1, 0x21 };
static const uint8_t meta[] = { 2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a', 5 };

#endif
