/* libFuzzer target for the HTTP request head parser. Besides memory errors
 * it checks the contract the server relies on (parser.h): every slice lies
 * inside the head, and the parser is stateless and consistent on partial
 * input — a prefix of an accepted head asks for more, a refused prefix is
 * never accepted once grown.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_http.c \
 *     ../src/http/parser.c ../src/core/err.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void in_head(le_http_str s, const char *buf, size_t head_len)
{
    if (!s.p) {
        if (s.n)
            abort();
        return;
    }
    if (s.p < buf || s.p + s.n > buf + head_len)
        abort();
}

static le_http_req req, sub;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy so ASan sees reads past the end. */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    int rc = le_http_parse(buf, size, &req);
    if (rc == LE_OK) {
        if (req.head_len == 0 || req.head_len > size || req.nheaders > LE_HTTP_MAX_NHEADERS)
            abort();
        if (req.method < LE_HTTP_GET || req.method > LE_HTTP_OTHER || req.version_minor < 0 ||
            req.version_minor > 9 || req.content_length < -1)
            abort();
        size_t h = req.head_len;
        in_head(req.method_str, buf, h);
        in_head(req.target, buf, h);
        in_head(req.path, buf, h);
        in_head(req.query, buf, h);
        in_head(req.host, buf, h);
        in_head(req.range, buf, h);
        in_head(req.referer, buf, h);
        in_head(req.origin, buf, h);
        in_head(req.connection, buf, h);
        in_head(req.user_agent, buf, h);
        in_head(req.acr_method, buf, h);
        for (size_t i = 0; i < req.nheaders; i++) {
            in_head(req.headers[i].name, buf, h);
            in_head(req.headers[i].value, buf, h);
        }
        if (req.host.p && !le_http_find(&req, "HOST"))
            abort();
        if (!req.path.p || req.path.n > req.target.n)
            abort();
        (void)le_http_method_name(req.method);
        int64_t from, to, rsize = (int64_t)size * 977;
        int rr = le_http_range(req.range, rsize, &from, &to);
        if (rr == 1 ? from < 0 || to < from || to >= rsize : rr != 0 && rr != LE_EINVAL)
            abort();
        /* The head alone parses the same; any shorter prefix asks for more. */
        if (le_http_parse(buf, h, &sub) != LE_OK || sub.head_len != h)
            abort();
        size_t cut = (size_t)(data[size - 1]) * 131 % h;
        if (le_http_parse(buf, cut, &sub) != LE_EAGAIN)
            abort();
    } else if (rc == LE_EAGAIN) {
        if (size > LE_HTTP_MAX_REQLINE + LE_HTTP_MAX_HEADERS + 16)
            abort();
    } else if (rc == LE_EPROTO || rc == LE_ETOOBIG) {
        if (req.status != 400 && req.status != 414 && req.status != 431 && req.status != 505)
            abort();
    } else {
        abort();
    }
    /* A prefix that is refused must never turn into an accepted head. */
    if (size > 1) {
        size_t cut = (size_t)data[0] * 257 % size;
        int prc = le_http_parse(buf, cut, &sub);
        if ((prc == LE_EPROTO || prc == LE_ETOOBIG) && (rc == LE_OK || rc == LE_EAGAIN))
            abort();
    }
    free(buf);
    return 0;
}
