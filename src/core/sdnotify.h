/* The systemd notify protocol (sd_notify(3)) without libsystemd: one
 * datagram per state change to $NOTIFY_SOCKET. Used for Type=notify
 * (READY=1, RELOADING=1, STOPPING=1) and the watchdog (WATCHDOG=1). */
#ifndef LE_SDNOTIFY_H
#define LE_SDNOTIFY_H
#include <stdint.h>

/* Sends state (e.g. "READY=1", or several "K=V" lines joined by '\n') to
 * $NOTIFY_SOCKET, a path or, with a leading '@', an abstract socket name.
 * Returns 0 when sent or when NOTIFY_SOCKET is unset (not under systemd),
 * LE_EINVAL for an unusable address, LE_EIO if the send failed. Never
 * blocks: the socket is non-blocking and a full receiver queue is a failure
 * (EAGAIN), not a wait, so it is safe on the event loop. */
int le_sd_notify(const char *state);

/* The watchdog interval systemd expects WATCHDOG=1 within, in microseconds:
 * $WATCHDOG_USEC when set and $WATCHDOG_PID is unset or names this process,
 * else 0 (no watchdog). Send WATCHDOG=1 every half of it. */
uint64_t le_sd_watchdog_usec(void);

#endif
