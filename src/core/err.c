#include "core/err.h"

static const char *const msgs[] = {
    "success", "need more data", "protocol error", "over size limit",
    "out of memory", "nesting too deep", "invalid value", "not found",
    "already exists", "refused by policy", "i/o error",
};

const char *le_strerror(int err)
{
    if (err > 0 || err <= LE_ELAST)
        return "unknown error";
    return msgs[-err];
}
