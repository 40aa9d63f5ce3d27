/* transport_unix.c: the unix: transport, Unix domain stream sockets on a filesystem path or an abstract name. */
#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct unix_listener {
    struct pcomi_stream_listener s;
    /* The socket file this listener bound, to remove at close only if it is still that file: another listener may
     * have taken the path over since (after someone removed ours). */
    bool has_file;
    dev_t dev;
    ino_t ino;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

int pcomi_unix_parse(const char *url, struct sockaddr_un *sa, socklen_t *len)
{
    if (!url || strncasecmp(url, "unix:", 5) != 0)
        return -EINVAL;
    const char *p = url + 5;
    size_t n = strlen(p);
    struct sockaddr_un s = {.sun_family = AF_UNIX};
    if (p[0] == '@') {
        /* Abstract: sun_path is a NUL, then the name, not terminated; the address length says where it ends. */
        p++;
        n--;
        if (n == 0)
            return -EINVAL;
        if (n > sizeof(s.sun_path) - 1)
            return -ENAMETOOLONG;
        memcpy(s.sun_path + 1, p, n);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    } else {
        /* Absolute paths only: a relative one means a different file to every process with another working
         * directory. "//" is refused so that "unix://host/path", a URL authority pcom does not have, is an error
         * instead of a path. */
        if (p[0] != '/' || p[1] == '/')
            return -EINVAL;
        if (n >= sizeof(s.sun_path))
            return -ENAMETOOLONG;
        memcpy(s.sun_path, p, n + 1);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    *sa = s;
    return 0;
}

/* -EADDRINUSE when something accepts connections at sa, 0 when nothing does (a stale file), else the error. */
static int probe_live(const struct sockaddr_un *sa, socklen_t len)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (connect(fd, (const struct sockaddr *)sa, len) == 0)
        rc = -EADDRINUSE;
    else if (errno == EAGAIN || errno == EINPROGRESS) /* a live listener with a full backlog */
        rc = -EADDRINUSE;
    else if (errno != ECONNREFUSED && errno != ENOENT)
        rc = -errno;
    close(fd);
    return rc;
}

/* bind(2), replacing a socket file that nobody listens on any more. Two processes replacing the same stale file at
 * the same instant can still race (the later unlink removes the earlier bind); making that atomic would need a lock
 * file beside every socket, which costs more than the case is worth. */
static int bind_or_replace(int fd, const struct sockaddr_un *sa, socklen_t len)
{
    if (bind(fd, (const struct sockaddr *)sa, len) == 0)
        return 0;
    /* An abstract name in use always has a live owner: the kernel drops it with the last socket. */
    if (errno != EADDRINUSE || sa->sun_path[0] == '\0')
        return -errno;
    int rc = probe_live(sa, len);
    if (rc < 0)
        return rc;
    struct stat st;
    if (lstat(sa->sun_path, &st) == 0) {
        /* Never remove what is not a socket: the URL may name someone's file by mistake. */
        if (!S_ISSOCK(st.st_mode))
            return -EADDRINUSE;
        if (unlink(sa->sun_path) < 0 && errno != ENOENT)
            return -errno;
    } else if (errno != ENOENT) {
        return -errno;
    }
    if (bind(fd, (const struct sockaddr *)sa, len) < 0)
        return -errno;
    return 0;
}

static int unix_listen(const char *url, struct pcomi_listener **out)
{
    struct sockaddr_un sa;
    socklen_t len;
    int rc = pcomi_unix_parse(url, &sa, &len);
    if (rc < 0)
        return rc;
    struct unix_listener *ul = calloc(1, sizeof(*ul));
    if (!ul)
        return -ENOMEM;
    ul->s.fd = ul->s.wake_fd = -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        rc = -errno;
        goto free_listener;
    }
    rc = bind_or_replace(fd, &sa, len);
    if (rc < 0)
        goto close_fd;
    if (sa.sun_path[0] != '\0') {
        struct stat st;
        if (lstat(sa.sun_path, &st) < 0) {
            rc = -errno;
            goto close_fd;
        }
        ul->has_file = true;
        ul->dev = st.st_dev;
        ul->ino = st.st_ino;
        memcpy(ul->path, sa.sun_path, sizeof(ul->path));
    }
    if (listen(fd, SOMAXCONN) < 0) {
        rc = -errno;
        goto unlink_file;
    }
    rc = pcomi_stream_listener_init(&ul->s, fd);
    if (rc < 0)
        goto unlink_file;
    /* The URL fits: the parser bounded the name by sun_path, far below PCOMI_URL_MAX. */
    snprintf(ul->s.base.url, sizeof(ul->s.base.url), "%s", url);
    *out = &ul->s.base;
    return 0;

unlink_file:
    if (ul->has_file)
        unlink(ul->path);
close_fd:
    close(fd);
free_listener:
    free(ul);
    return rc;
}

static void unix_listener_free(struct pcomi_listener *l)
{
    struct unix_listener *ul = (struct unix_listener *)l;
    struct stat st;
    if (ul->has_file && lstat(ul->path, &st) == 0 && st.st_dev == ul->dev && st.st_ino == ul->ino)
        unlink(ul->path);
    pcomi_stream_listener_fini(&ul->s);
    free(ul);
}

/* "<url> pid N uid U": who is at the other end, which is what a log reader wants to know about a local peer. */
static void describe_peer(int fd, const char *url, char *buf, size_t n)
{
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
        snprintf(buf, n, "%.120s pid %d uid %u", url, (int)cred.pid, (unsigned)cred.uid);
    else
        snprintf(buf, n, "%.120s", url);
}

static int unix_accept(struct pcomi_listener *l, struct pcomi_conn **out)
{
    int fd;
    int rc = pcomi_stream_accept_fd((struct pcomi_stream_listener *)l, &fd);
    if (rc < 0)
        return rc;
    rc = pcomi_stream_conn_new(&pcomi_unix_transport, fd, out);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    describe_peer(fd, l->url, (*out)->peer, sizeof((*out)->peer));
    return 0;
}

static int unix_connect(const char *url, struct pcomi_conn **out)
{
    struct sockaddr_un sa;
    socklen_t len;
    int rc = pcomi_unix_parse(url, &sa, &len);
    if (rc < 0)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    rc = pcomi_stream_connect_fd(fd, (const struct sockaddr *)&sa, len);
    if (rc < 0)
        goto close_fd;
    rc = pcomi_stream_conn_new(&pcomi_unix_transport, fd, out);
    if (rc < 0)
        goto close_fd;
    describe_peer(fd, url, (*out)->peer, sizeof((*out)->peer));
    return 0;

close_fd:
    close(fd);
    return rc;
}

const struct pcomi_transport pcomi_unix_transport = {
    .scheme = "unix",
    .listen = unix_listen,
    .connect = unix_connect,
    .accept = unix_accept,
    .listener_wake = pcomi_stream_listener_wake,
    .listener_free = unix_listener_free,
    .send = pcomi_stream_send,
    .recv_head = pcomi_stream_recv_head,
    .recv_body = pcomi_stream_recv_body,
    .shutdown = pcomi_stream_shutdown,
    .close = pcomi_stream_close,
    .set_send_timeout = pcomi_stream_set_send_timeout,
    .wait_readable = pcomi_stream_wait_readable,
};
