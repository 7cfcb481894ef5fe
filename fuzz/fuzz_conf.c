/* libFuzzer target for the configuration parser. On success the result must
 * keep the promises conf.h makes (listen values bind, default_domain names a
 * domain, copies are deep); on failure the message must start "line N: "
 * and a short error buffer must get a NUL-terminated prefix of it.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_conf.c \
 *     ../src/conf/conf.c ../src/auth/acl.c ../src/core/util.c ../src/core/err.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_domains(const le_conf *c)
{
    int is_push, found_default = 0;
    if (!c->domains || !c->default_domain)
        abort();
    for (const le_conf_domain *d = c->domains; d; d = d->next) {
        if (!d->name || !d->cors_origin)
            abort();
        if (strcmp(d->name, c->default_domain) == 0)
            found_default = 1;
        if (le_conf_find_domain(c, d->name, &is_push) == NULL || is_push)
            abort();
        if (d->push_domain && le_conf_find_domain(c, d->push_domain, &is_push) == NULL)
            abort();
        le_conf_domain *copy = le_conf_domain_copy(d);
        if (strcmp(copy->name, d->name) != 0 || copy->name == d->name ||
            copy->hls_fragment_ms != d->hls_fragment_ms || copy->auth_type != d->auth_type ||
            copy->push_auth_type != d->push_auth_type || (!copy->push_auth_key1) != (!d->push_auth_key1) ||
            (d->push_auth_key1 && copy->push_auth_key1 == d->push_auth_key1))
            abort();
        /* A signing type always has a key to sign with. */
        if ((d->auth_type != LE_AUTH_NONE && !d->auth_key1 && !d->auth_key2) ||
            (d->push_auth_type != LE_AUTH_NONE && !d->push_auth_key1 && !d->push_auth_key2))
            abort();
        le_conf_domain_free(copy);
    }
    if (!found_default)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Not NUL-terminated: the parser must stay within len. */
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    char err[256], small[12];
    memset(err, 'x', sizeof err);
    le_conf *c = le_conf_parse(text, size, err, sizeof err);
    if (c) {
        if (err[0] != '\0')
            abort();
        const char *listens[] = { c->rtmp_listen, c->http_listen, c->admin_listen };
        for (size_t i = 0; i < 3; i++)
            if (le_conf_listen_addr(listens[i], NULL, NULL) != 0)
                abort();
        check_domains(c);
        le_conf_free(c);
    } else {
        if (!memchr(err, '\0', sizeof err) || strncmp(err, "line ", 5) != 0)
            abort();
        memset(small, 'x', sizeof small);
        if (le_conf_parse(text, size, small, sizeof small) != NULL)
            abort();
        if (!memchr(small, '\0', sizeof small) || strncmp(small, err, strlen(small)) != 0)
            abort();
        if (le_conf_parse(text, size, NULL, 0) != NULL)
            abort();
    }
    free(text);
    return 0;
}
