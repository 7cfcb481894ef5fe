/* A libevent HTTP server on an ephemeral loopback port, for unit tests of
 * outbound HTTP (callbacks, on-demand queries). */
#ifndef LE_T_HTTP_HELPERS_H
#define LE_T_HTTP_HELPERS_H
#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/socket.h>

/* A server on 127.0.0.1 whose every request goes to cb; *port is its port
 * (0 if it could not bind). */
static inline struct evhttp *test_http_server(struct event_base *base, void (*cb)(struct evhttp_request *, void *),
                                              int *port)
{
    struct evhttp *http = evhttp_new(base);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    evhttp_set_gencb(http, cb, NULL);
    *port = 0;
    if (bs) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) == 0)
            *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return http;
}

#endif
