/* Project error codes: 0 is success, negatives are errors. Foreign codes
 * (AVERROR, hiredis, libevent events) are translated at module boundaries. */
#ifndef LE_ERR_H
#define LE_ERR_H

enum {
    LE_OK = 0,
    LE_EAGAIN = -1,     /* need more input bytes */
    LE_EPROTO = -2,     /* peer broke the protocol */
    LE_ETOOBIG = -3,    /* a size over a configured limit */
    LE_ENOMEM = -4,
    LE_EDEPTH = -5,     /* nesting too deep */
    LE_EINVAL = -6,     /* bad argument or value */
    LE_ENOTFOUND = -7,
    LE_EEXIST = -8,
    LE_EDENIED = -9,    /* refused by policy */
    LE_EIO = -10,
    LE_ELAST = -11
};

const char *le_strerror(int err);

#endif
