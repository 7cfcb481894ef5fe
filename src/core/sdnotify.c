/* sd_notify(3) by hand: libsystemd is not a dependency, and the protocol is
 * one sendto() on an AF_UNIX datagram socket. A fresh socket per call keeps
 * no state across fork/exec (embedded redis-server) and costs nothing at the
 * rate of a few messages per watchdog interval. */
#include "core/sdnotify.h"
#include "core/err.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int le_sd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    if (!state)
        return LE_EINVAL;

    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    size_t plen = strlen(path);
    /* A path socket needs its NUL inside sun_path; an abstract name does
     * not, its length is carried by the address length alone. */
    if (path[0] == '@') {
        if (plen > sizeof(sa.sun_path))
            return LE_EINVAL;
        sa.sun_path[0] = '\0';
        memcpy(sa.sun_path + 1, path + 1, plen - 1);
    } else if (path[0] == '/') {
        if (plen >= sizeof(sa.sun_path))
            return LE_EINVAL;
        memcpy(sa.sun_path, path, plen);
    } else {
        return LE_EINVAL;   /* vsock and relative names are not for us */
    }
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
                                  (path[0] == '@' ? 0 : 1));

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return LE_EIO;
    size_t n = strlen(state);
    ssize_t w;
    do
        w = sendto(fd, state, n, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    while (w < 0 && errno == EINTR);
    close(fd);
    return w == (ssize_t)n ? 0 : LE_EIO;
}

/* Strict decimal; anything else reads as absent. */
static int env_u64(const char *name, uint64_t *out)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return LE_ENOTFOUND;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return LE_EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return 0;
}

uint64_t le_sd_watchdog_usec(void)
{
    uint64_t usec, pid;
    if (env_u64("WATCHDOG_USEC", &usec) != 0 || usec == 0)
        return 0;
    /* systemd sets WATCHDOG_PID to the main PID; a child that inherited the
     * environment must not think the watchdog is its own. */
    const char *ps = getenv("WATCHDOG_PID");
    if (ps && *ps) {
        if (env_u64("WATCHDOG_PID", &pid) != 0 || pid != (uint64_t)getpid())
            return 0;
    }
    return usec;
}
