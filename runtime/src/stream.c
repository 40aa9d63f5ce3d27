/* stream.c: messages over a connected stream socket, and the accept loop, shared by the unix and tcp transports. */
#include "transport.h"

#include <errno.h>
#include <sys/time.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Read-ahead buffer per connection. One recv into it usually brings a header, its body and often the next header, so
 * a small message costs one system call. Bodies at least this large are read straight into their own buffer. */
#define STREAM_RECV_BUF (16 * 1024)
/* iovecs handed to one sendmsg; a longer body is sent in several calls without copying the caller's array. */
#define STREAM_IOV_WINDOW 64

_Static_assert(_Alignof(max_align_t) >= 8, "malloc'd bodies must be 8-aligned for in-place decoding");

struct stream_conn {
    struct pcomi_conn base;
    int fd;
    atomic_bool shut; /* pcomi_conn_shutdown was called: errors after it are -ECANCELED */

    pthread_mutex_t send_lock; /* one message at a time on the wire */
    bool send_broken;          /* a send failed part-way: the stream is not at a message boundary */
    atomic_bool send_timeout;  /* SO_SNDTIMEO is set: a send that cannot progress fails with -ETIMEDOUT */

    int recv_err;     /* sticky: once the receive side is off a message boundary it stays broken */
    uint8_t *buf;     /* read-ahead: bytes [start, end) are received and not yet consumed */
    size_t start, end;
    size_t body_left; /* bytes of the current message's body not yet received */
};

/* ---- listeners ---- */

int pcomi_stream_listener_init(struct pcomi_stream_listener *sl, int fd)
{
    int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake < 0)
        return -errno;
    sl->fd = fd;
    sl->wake_fd = wake;
    return 0;
}

void pcomi_stream_listener_fini(struct pcomi_stream_listener *sl)
{
    if (sl->fd >= 0)
        close(sl->fd);
    if (sl->wake_fd >= 0)
        close(sl->wake_fd);
    sl->fd = sl->wake_fd = -1;
}

void pcomi_stream_listener_wake(struct pcomi_listener *l)
{
    struct pcomi_stream_listener *sl = (struct pcomi_stream_listener *)l;
    uint64_t one = 1;
    /* Cannot block (non-blocking) and cannot fail short of the counter overflowing, which one write never does. */
    ssize_t n = write(sl->wake_fd, &one, sizeof(one));
    (void)n;
}

int pcomi_stream_accept_fd(struct pcomi_stream_listener *sl, int *fd)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = sl->wake_fd, .events = POLLIN}, {.fd = sl->fd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (p[0].revents)
            return -ECANCELED;
        if (!p[1].revents)
            continue;
        int c = accept4(sl->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0) {
            *fd = c;
            return 0;
        }
        /* Another thread took the connection, or the client gave up before we got to it: wait for the next one.
         * ENETDOWN and friends are the errors accept(2) says to treat like EAGAIN on TCP. */
        switch (errno) {
        case EAGAIN:
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
            continue;
        default:
            return -errno;
        }
    }
}

int pcomi_stream_connect_fd(int fd, const struct sockaddr *sa, socklen_t len)
{
    if (connect(fd, sa, len) == 0)
        return 0;
    if (errno != EINTR)
        return -errno;
    /* An interrupted connect carries on asynchronously; calling connect again would say EALREADY. Wait for it. */
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int n = poll(&p, 1, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        int err = 0;
        socklen_t elen = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            return -errno;
        return -err;
    }
}

/* ---- connections ---- */

int pcomi_stream_conn_new(const struct pcomi_transport *tp, int fd, struct pcomi_conn **out)
{
    int rc;
    struct stream_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->buf = malloc(STREAM_RECV_BUF);
    if (!c->buf) {
        rc = -ENOMEM;
        goto free_conn;
    }
    rc = -pthread_mutex_init(&c->send_lock, NULL);
    if (rc < 0)
        goto free_buf;
    /* a receive gives up after the quick wait, so waiting that long for the next message is one recv, not a
     * poll and a recv; a receive meant to block goes on in poll (wait_in_poll) */
    struct timeval quick = {0, PCOMI_QUICK_WAIT_US};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &quick, sizeof(quick)) < 0) {
        rc = -errno;
        pthread_mutex_destroy(&c->send_lock);
        goto free_buf;
    }
    c->base.tp = tp;
    c->fd = fd;
    atomic_init(&c->shut, false);
    *out = &c->base;
    return 0;

free_buf:
    free(c->buf);
free_conn:
    free(c);
    return rc;
}

/* Waits until fd can take more bytes; for a socket someone made non-blocking behind our back. */
static int wait_writable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

int pcomi_stream_set_send_timeout(struct pcomi_conn *base, unsigned ms)
{
    struct stream_conn *c = (struct stream_conn *)base;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    if (setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        return -errno;
    atomic_store(&c->send_timeout, ms != 0);
    return 0;
}

int pcomi_stream_send(struct pcomi_conn *base, const uint8_t hdr[PCOMI_MSG_HEADER_SIZE], const struct iovec *body,
                      int niov)
{
    struct stream_conn *c = (struct stream_conn *)base;
    struct iovec win[STREAM_IOV_WINDOW];
    size_t hdr_done = 0; /* header bytes sent */
    int next = 0;        /* first body iovec not sent in full */
    size_t off = 0;      /* bytes of body[next] sent */
    int rc = 0;

    pthread_mutex_lock(&c->send_lock);
    if (c->send_broken) {
        rc = -EPIPE;
        goto unlock;
    }
    for (;;) {
        int n = 0;
        if (hdr_done < PCOMI_MSG_HEADER_SIZE)
            win[n++] = (struct iovec){(void *)(hdr + hdr_done), PCOMI_MSG_HEADER_SIZE - hdr_done};
        for (int i = next; i < niov && n < STREAM_IOV_WINDOW; i++) {
            size_t skip = i == next ? off : 0;
            if (body[i].iov_len == skip)
                continue;
            win[n++] = (struct iovec){(char *)body[i].iov_base + skip, body[i].iov_len - skip};
        }
        if (n == 0)
            break;
        struct msghdr mh = {.msg_iov = win, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && atomic_load(&c->send_timeout)) {
                rc = -ETIMEDOUT; /* the peer stopped reading for longer than allowed */
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                rc = wait_writable(c->fd);
                if (rc == 0)
                    continue;
            } else {
                rc = -errno;
            }
            goto mark_broken;
        }
        size_t left = (size_t)w;
        size_t k = PCOMI_MSG_HEADER_SIZE - hdr_done;
        if (k > left)
            k = left;
        hdr_done += k;
        left -= k;
        while (left > 0) {
            size_t avail = body[next].iov_len - off;
            if (left < avail) {
                off += left;
                left = 0;
            } else {
                left -= avail;
                next++;
                off = 0;
            }
        }
        if (hdr_done < PCOMI_MSG_HEADER_SIZE || next < niov)
            pcomi_conn_progress(base); /* a message one sendmsg did not take: the peer is reading it */
    }
    goto unlock;

mark_broken:
    /* Part of a message is on the wire; anything sent after it would be read as the rest of it. */
    if (hdr_done > 0)
        c->send_broken = true;
    if (atomic_load(&c->shut))
        rc = -EPIPE;
unlock:
    pthread_mutex_unlock(&c->send_lock);
    return rc;
}

/* Until fd has bytes (or an error or hang-up, for the recv that follows to report). */
static int wait_in_poll(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

/* One recv that blocks as long as it takes (the socket's own timeout is the quick wait), retried on EINTR. 0 at
 * EOF; with MSG_WAITALL possibly fewer bytes than asked. */
static ssize_t recv_some(int fd, void *p, size_t n, int flags)
{
    for (;;) {
        ssize_t r = recv(fd, p, n, flags);
        if (r >= 0)
            return r;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = wait_in_poll(fd);
            if (rc < 0)
                return rc;
        } else if (errno != EINTR) {
            return -errno;
        }
    }
}

int pcomi_stream_wait_readable(struct pcomi_conn *base, unsigned us)
{
    struct stream_conn *c = (struct stream_conn *)base;
    if (c->recv_err)
        return c->recv_err;
    if (c->end > c->start)
        return 1; /* read ahead already */
    if (us <= PCOMI_QUICK_WAIT_US) {
        /* the wait is the read: whatever comes within the socket's timeout lands in the read-ahead buffer */
        c->start = c->end = 0;
        ssize_t n;
        do
            n = recv(c->fd, c->buf, STREAM_RECV_BUF, 0);
        while (n < 0 && errno == EINTR);
        if (n > 0) {
            c->end = (size_t)n;
            return 1;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return 1; /* the end of the stream, or an error: the recv that follows reports it */
    }
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    int n = ppoll(&p, 1, &ts, NULL);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    return n > 0 ? 1 : 0; /* an error or hang-up is for recv to report */
}

/* The stream is off a message boundary from here on: this error and every later receive report it. */
static int recv_broken(struct stream_conn *c, int rc)
{
    if (atomic_load(&c->shut))
        rc = -ECANCELED;
    c->recv_err = rc;
    return rc;
}

int pcomi_stream_recv_head(struct pcomi_conn *base, struct pcomi_msg_header *h, size_t max_body)
{
    struct stream_conn *c = (struct stream_conn *)base;
    if (c->recv_err)
        return c->recv_err;
    if (c->body_left)
        return recv_broken(c, -EPROTO); /* the last body was not consumed: the next header is not here */

    /* Whatever is buffered, topped up by recvs of as much as the socket holds. */
    while (c->end - c->start < PCOMI_MSG_HEADER_SIZE) {
        if (c->start == c->end) {
            c->start = c->end = 0;
        } else if (STREAM_RECV_BUF - c->start < PCOMI_MSG_HEADER_SIZE) {
            memmove(c->buf, c->buf + c->start, c->end - c->start);
            c->end -= c->start;
            c->start = 0;
        }
        ssize_t n = recv_some(c->fd, c->buf + c->end, STREAM_RECV_BUF - c->end, 0);
        if (n < 0)
            return recv_broken(c, (int)n);
        if (n == 0)
            return recv_broken(c, c->end == c->start ? -EPIPE : -ECONNRESET);
        c->end += (size_t)n;
    }
    struct pcomi_msg_header hdr;
    int rc = pcomi_msg_decode_header(c->buf + c->start, &hdr, max_body);
    if (rc < 0)
        return recv_broken(c, rc);
    c->start += PCOMI_MSG_HEADER_SIZE;
    c->body_left = hdr.body_len;
    *h = hdr;
    return 0;
}

int pcomi_stream_recv_body(struct pcomi_conn *base, void *dst, size_t n)
{
    struct stream_conn *c = (struct stream_conn *)base;
    if (c->recv_err)
        return c->recv_err;
    if (n > c->body_left)
        return -EINVAL;
    uint8_t *d = dst;
    size_t got = c->end - c->start;
    if (got > n)
        got = n;
    if (got > 0)
        memcpy(d, c->buf + c->start, got);
    c->start += got;
    if (c->start == c->end)
        c->start = c->end = 0;

    /* The buffer is empty from here on. A short remainder is read together with whatever follows it into the
     * buffer, in one call; a long one straight into dst. */
    while (got < n) {
        size_t want = n - got;
        ssize_t r;
        if (want >= STREAM_RECV_BUF) {
            pcomi_conn_progress(base);
            r = recv_some(c->fd, d + got, want, MSG_WAITALL);
        } else {
            struct iovec iov[2] = {{d + got, want}, {c->buf, STREAM_RECV_BUF}};
            struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
            while ((r = recvmsg(c->fd, &mh, 0)) < 0) {
                int rc = errno == EAGAIN || errno == EWOULDBLOCK ? wait_in_poll(c->fd) : errno == EINTR ? 0 : -errno;
                if (rc < 0) {
                    r = rc;
                    break;
                }
            }
        }
        if (r < 0)
            return recv_broken(c, (int)r);
        if (r == 0)
            return recv_broken(c, -ECONNRESET);
        if ((size_t)r > want) {
            c->end = (size_t)r - want;
            r = (ssize_t)want;
        }
        got += (size_t)r;
    }
    c->body_left -= n;
    return 0;
}

void pcomi_stream_shutdown(struct pcomi_conn *base)
{
    struct stream_conn *c = (struct stream_conn *)base;
    atomic_store(&c->shut, true);
    shutdown(c->fd, SHUT_RDWR);
}

void pcomi_stream_close(struct pcomi_conn *base)
{
    struct stream_conn *c = (struct stream_conn *)base;
    close(c->fd);
    pthread_mutex_destroy(&c->send_lock);
    free(c->buf);
    free(c);
}
