/* transport_tcp.c: the tcp:// transport over IPv4 and IPv6, with Nagle off and keepalive on. */
#include "transport.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A host name or IPv4 literal: the characters DNS names and dotted quads use (and '_', which real names have). */
static bool is_name_char(char c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_';
}

/* The inside of [...]: hex, ':' and '.' (an embedded IPv4), then optionally '%' and a zone (an interface name). */
static bool valid_v6_literal(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (is_hex(s[i]) || s[i] == ':' || s[i] == '.'))
        i++;
    if (i == 0)
        return false;
    if (i == n)
        return true;
    if (s[i] != '%' || i + 1 == n)
        return false;
    for (i++; i < n; i++)
        if (!is_name_char(s[i]))
            return false;
    return true;
}

int pcomi_tcp_parse(const char *url, char host[PCOMI_TCP_HOST_MAX], uint16_t *port)
{
    if (!url || strncasecmp(url, "tcp://", 6) != 0)
        return -EINVAL;
    const char *p = url + 6, *h, *hend;
    if (*p == '[') {
        h = p + 1;
        hend = strchr(h, ']');
        if (!hend || !valid_v6_literal(h, (size_t)(hend - h)))
            return -EINVAL;
        p = hend + 1;
    } else {
        h = p;
        while (is_name_char(*p))
            p++;
        hend = p;
        if (hend == h)
            return -EINVAL;
    }
    if (*p++ != ':')
        return -EINVAL;
    /* 1 to 5 decimal digits up to 65535 and then the end: no sign, no space, no path. */
    uint32_t v = 0;
    int digits = 0;
    for (; is_digit(*p); p++) {
        if (++digits > 5)
            return -EINVAL;
        v = v * 10 + (uint32_t)(*p - '0');
    }
    if (digits == 0 || *p != '\0' || v > 65535)
        return -EINVAL;
    size_t n = (size_t)(hend - h);
    if (n >= PCOMI_TCP_HOST_MAX)
        return -ENAMETOOLONG;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (uint16_t)v;
    return 0;
}

static int resolve(const char *url, bool passive, struct addrinfo **res)
{
    char host[PCOMI_TCP_HOST_MAX];
    uint16_t port;
    int rc = pcomi_tcp_parse(url, host, &port);
    if (rc < 0)
        return rc;
    char serv[8];
    snprintf(serv, sizeof(serv), "%u", (unsigned)port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)};
    bool literal6 = strchr(host, ':') != NULL;
    if (literal6) {
        hints.ai_family = AF_INET6;
        hints.ai_flags |= AI_NUMERICHOST;
    }
    int e = getaddrinfo(host, serv, &hints, res);
    switch (e) {
    case 0:
        return 0;
    case EAI_NONAME:
        /* For a bracketed literal this means the text between the brackets is no IPv6 address. */
        return literal6 ? -EINVAL : -EHOSTUNREACH;
    case EAI_NODATA:
    case EAI_ADDRFAMILY:
    case EAI_FAIL:
        return -EHOSTUNREACH;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_FAMILY:
        return -EAFNOSUPPORT;
    case EAI_SYSTEM:
        return errno ? -errno : -EIO;
    default:
        return -EINVAL;
    }
}

/* "tcp://1.2.3.4:80" or "tcp://[::1]:80" from a socket address. */
static void format_url(const struct sockaddr *sa, socklen_t len, char *buf, size_t n)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(buf, n, "tcp://?");
        return;
    }
    snprintf(buf, n, sa->sa_family == AF_INET6 ? "tcp://[%s]:%s" : "tcp://%s:%s", host, serv);
}

static int set_options(int fd)
{
    int one = 1;
    /* Messages are whole when sent; holding a small one back for more (Nagle) only adds latency to every call. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0)
        return -errno;
    return 0;
}

static int tcp_listen(const char *url, struct pcomi_listener **out)
{
    struct addrinfo *res;
    int rc = resolve(url, true, &res);
    if (rc < 0)
        return rc;
    /* The first address that binds. A name with several addresses gets one socket; pcomi_listener_url reports the
     * address actually bound, so clients given that URL reach it. */
    int fd = -1;
    rc = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
            bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
            break;
        rc = -errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return rc;

    struct pcomi_stream_listener *sl = calloc(1, sizeof(*sl));
    if (!sl) {
        rc = -ENOMEM;
        goto close_fd;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        rc = -errno;
        goto free_listener;
    }
    /* A wildcard address is where to listen, not where to connect: report the loopback of its family. */
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        if (in->sin_addr.s_addr == htonl(INADDR_ANY))
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
            in6->sin6_addr = in6addr_loopback;
    }
    format_url((struct sockaddr *)&ss, len, sl->base.url, sizeof(sl->base.url));
    rc = pcomi_stream_listener_init(sl, fd);
    if (rc < 0)
        goto free_listener;
    *out = &sl->base;
    return 0;

free_listener:
    free(sl);
close_fd:
    close(fd);
    return rc;
}

static void tcp_listener_free(struct pcomi_listener *l)
{
    struct pcomi_stream_listener *sl = (struct pcomi_stream_listener *)l;
    pcomi_stream_listener_fini(sl);
    free(sl);
}

/* Wraps a connected socket: options, connection object, peer text. Closes fd on failure. */
static int wrap(int fd, struct pcomi_conn **out)
{
    int rc = set_options(fd);
    if (rc < 0)
        goto close_fd;
    rc = pcomi_stream_conn_new(&pcomi_tcp_transport, fd, out);
    if (rc < 0)
        goto close_fd;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
        format_url((struct sockaddr *)&ss, len, (*out)->peer, sizeof((*out)->peer));
    else
        snprintf((*out)->peer, sizeof((*out)->peer), "tcp://?");
    return 0;

close_fd:
    close(fd);
    return rc;
}

static int tcp_accept(struct pcomi_listener *l, struct pcomi_conn **out)
{
    int fd;
    int rc = pcomi_stream_accept_fd((struct pcomi_stream_listener *)l, &fd);
    if (rc < 0)
        return rc;
    return wrap(fd, out);
}

static int tcp_connect(const char *url, struct pcomi_conn **out)
{
    struct addrinfo *res;
    int rc = resolve(url, false, &res);
    if (rc < 0)
        return rc;
    /* Every address in the resolver's order: "localhost" may name ::1 first while the server listens on 127.0.0.1. */
    int fd = -1;
    rc = -EHOSTUNREACH;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        rc = pcomi_stream_connect_fd(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return rc;
    return wrap(fd, out);
}

const struct pcomi_transport pcomi_tcp_transport = {
    .scheme = "tcp",
    .listen = tcp_listen,
    .connect = tcp_connect,
    .accept = tcp_accept,
    .listener_wake = pcomi_stream_listener_wake,
    .listener_free = tcp_listener_free,
    .send = pcomi_stream_send,
    .recv_head = pcomi_stream_recv_head,
    .recv_body = pcomi_stream_recv_body,
    .shutdown = pcomi_stream_shutdown,
    .close = pcomi_stream_close,
    .set_send_timeout = pcomi_stream_set_send_timeout,
    .wait_readable = pcomi_stream_wait_readable,
};
