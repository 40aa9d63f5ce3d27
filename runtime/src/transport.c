/* transport.c: transports by URL scheme, the header codec, and the generic half of connections and listeners. */
#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

/* Every transport, by scheme. A new transport is one file and one line here. */
static const struct pcomi_transport *const transports[] = {
    &pcomi_unix_transport,
    &pcomi_tcp_transport,
    &pcomi_pipe_transport,
    &pcomi_shm_transport,
};

/* ---- header codec: explicit little-endian bytes, so the code is right on any host ---- */

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void pcomi_msg_encode_header(const struct pcomi_msg_header *h, uint32_t body_len, uint8_t out[PCOMI_MSG_HEADER_SIZE])
{
    put_le32(out + 0, PCOMI_MSG_MAGIC);
    out[4] = PCOMI_WIRE_VERSION;
    out[5] = h->type;
    put_le16(out + 6, h->flags);
    put_le32(out + 8, h->call_id);
    put_le32(out + 12, body_len);
    put_le16(out + 16, h->method);
    memcpy(out + 18, h->causality, 6);
    memcpy(out + 24, h->object_id, 16);
    memcpy(out + 40, h->iid, 16);
}

static bool valid_type(uint8_t type)
{
    return type >= PCOMI_MSG_REQUEST && type <= PCOMI_MSG_HELLO;
}

int pcomi_msg_decode_header(const uint8_t in[PCOMI_MSG_HEADER_SIZE], struct pcomi_msg_header *h, size_t max_body)
{
    /* Magic first: without it the bytes are not pcom at all, and nothing else in them means anything. Version next:
     * another version may lay out the rest differently. */
    if (get_le32(in) != PCOMI_MSG_MAGIC)
        return -EPROTO;
    if (in[4] != PCOMI_WIRE_VERSION)
        return -EPROTONOSUPPORT;
    uint16_t flags = get_le16(in + 6);
    if (!valid_type(in[5]) || (flags & ~PCOMI_FLAGS_KNOWN_) || (flags && in[5] != PCOMI_MSG_REQUEST))
        return -EPROTO;
    uint32_t body_len = get_le32(in + 12);
    if (body_len > max_body)
        return -EMSGSIZE;
    struct pcomi_msg_header d = {
        .magic = PCOMI_MSG_MAGIC,
        .version = PCOMI_WIRE_VERSION,
        .type = in[5],
        .flags = flags,
        .call_id = get_le32(in + 8),
        .body_len = body_len,
        .method = get_le16(in + 16),
    };
    memcpy(d.causality, in + 18, 6);
    memcpy(d.object_id, in + 24, 16);
    memcpy(d.iid, in + 40, 16);
    *h = d;
    return 0;
}

/* ---- scheme lookup ---- */

/* The transport named by the URL's scheme: -EINVAL when there is no well-formed scheme (RFC 3986: a letter, then
 * letters, digits, '+', '-', '.'), -EPROTONOSUPPORT when it names no transport. */
static int find_transport(const char *url, const struct pcomi_transport **out)
{
    if (!url)
        return -EINVAL;
    size_t n = 0;
    if (!((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')))
        return -EINVAL;
    while (url[n] && url[n] != ':') {
        char ch = url[n];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '+' ||
                  ch == '-' || ch == '.';
        if (!ok)
            return -EINVAL;
        n++;
    }
    if (url[n] != ':')
        return -EINVAL;
    for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
        if (strlen(transports[i]->scheme) == n && strncasecmp(url, transports[i]->scheme, n) == 0) {
            *out = transports[i];
            return 0;
        }
    }
    return -EPROTONOSUPPORT;
}

/* ---- listeners ---- */

int pcomi_listen(const char *url, struct pcomi_listener **out)
{
    const struct pcomi_transport *tp;
    int rc = find_transport(url, &tp);
    if (rc < 0)
        return rc;
    if (!out)
        return -EINVAL;
    struct pcomi_listener *l;
    rc = tp->listen(url, &l);
    if (rc < 0)
        return rc;
    l->tp = tp;
    l->accepting = 0;
    l->shut = false;
    rc = -pthread_mutex_init(&l->lock, NULL);
    if (rc < 0)
        goto free_listener;
    rc = -pthread_cond_init(&l->idle, NULL);
    if (rc < 0)
        goto destroy_lock;
    *out = l;
    return 0;

destroy_lock:
    pthread_mutex_destroy(&l->lock);
free_listener:
    tp->listener_free(l);
    return rc;
}

const char *pcomi_listener_url(const struct pcomi_listener *l)
{
    return l->url;
}

int pcomi_listener_accept(struct pcomi_listener *l, struct pcomi_conn **out)
{
    if (!l || !out)
        return -EINVAL;
    pthread_mutex_lock(&l->lock);
    if (l->shut) {
        pthread_mutex_unlock(&l->lock);
        return -ECANCELED;
    }
    l->accepting++;
    pthread_mutex_unlock(&l->lock);

    struct pcomi_conn *c;
    int rc = l->tp->accept(l, &c);

    pthread_mutex_lock(&l->lock);
    /* A connection accepted in the same instant as the shutdown is still a good connection: hand it over. */
    if (rc < 0 && l->shut)
        rc = -ECANCELED;
    if (--l->accepting == 0 && l->shut)
        pthread_cond_broadcast(&l->idle);
    pthread_mutex_unlock(&l->lock);
    if (rc == 0)
        *out = c;
    return rc;
}

void pcomi_listener_shutdown(struct pcomi_listener *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    if (!l->shut) {
        l->shut = true;
        l->tp->listener_wake(l);
    }
    pthread_mutex_unlock(&l->lock);
}

void pcomi_listener_close(struct pcomi_listener *l)
{
    if (!l)
        return;
    pcomi_listener_shutdown(l);
    pthread_mutex_lock(&l->lock);
    while (l->accepting > 0)
        pthread_cond_wait(&l->idle, &l->lock);
    pthread_mutex_unlock(&l->lock);
    pthread_cond_destroy(&l->idle);
    pthread_mutex_destroy(&l->lock);
    l->tp->listener_free(l);
}

/* ---- connections ---- */

int pcomi_connect(const char *url, struct pcomi_conn **out)
{
    const struct pcomi_transport *tp;
    int rc = find_transport(url, &tp);
    if (rc < 0)
        return rc;
    if (!out)
        return -EINVAL;
    struct pcomi_conn *c;
    rc = tp->connect(url, &c);
    if (rc < 0)
        return rc;
    c->tp = tp;
    *out = c;
    return 0;
}

int pcomi_conn_send(struct pcomi_conn *c, const struct pcomi_msg_header *h, const struct iovec *body, int niov)
{
    if (!c || !h || niov < 0 || (niov > 0 && !body))
        return -EINVAL;
    if (!valid_type(h->type) || (h->flags & ~PCOMI_FLAGS_KNOWN_) || (h->flags && h->type != PCOMI_MSG_REQUEST))
        return -EINVAL;
    size_t total = 0;
    for (int i = 0; i < niov; i++) {
        if (body[i].iov_len > UINT32_MAX - total)
            return -EMSGSIZE;
        total += body[i].iov_len;
    }
    uint8_t hdr[PCOMI_MSG_HEADER_SIZE];
    pcomi_msg_encode_header(h, (uint32_t)total, hdr);
    return c->tp->send(c, hdr, body, niov);
}

/* Body bytes allocated when a header arrives; a longer body grows as its bytes come, so a peer cannot make the
 * process hold max_body per connection by sending headers alone. */
#define BODY_FIRST ((size_t)1 << 20)

/* Reads and drops what is left of a body that has nowhere to go, keeping the stream at a message boundary. */
static int drop_body(struct pcomi_conn *c, size_t left)
{
    uint8_t sink[4096];
    while (left) {
        size_t k = left < sizeof(sink) ? left : sizeof(sink);
        int rc = c->tp->recv_body(c, sink, k);
        if (rc < 0)
            return rc;
        left -= k;
    }
    return -ENOMEM;
}

int pcomi_conn_recv(struct pcomi_conn *c, struct pcomi_msg_header *h, void **body, size_t max_body)
{
    if (!c || !h || !body)
        return -EINVAL;
    struct pcomi_msg_header hdr;
    int rc = c->tp->recv_head(c, &hdr, max_body);
    if (rc < 0)
        return rc;
    if ((rc = pcomi_conn_recv_rest(c, &hdr, body)) < 0)
        return rc;
    *h = hdr;
    return 0;
}

int pcomi_conn_recv_rest(struct pcomi_conn *c, const struct pcomi_msg_header *h, void **body)
{
    int rc;
    size_t len = h->body_len, got = 0, cap = len < BODY_FIRST ? len : BODY_FIRST;
    uint8_t *b = NULL;
    if (len && !(b = malloc(cap)))
        return drop_body(c, len);
    while (got < len) {
        if (got == cap) {
            size_t grow = cap * 2 < len ? cap * 2 : len;
            uint8_t *nb = realloc(b, grow);
            if (!nb) {
                free(b);
                return drop_body(c, len - got);
            }
            b = nb;
            cap = grow;
        }
        if ((rc = c->tp->recv_body(c, b + got, cap - got)) < 0) {
            free(b);
            return rc;
        }
        got = cap;
    }
    *body = b;
    return 0;
}

int pcomi_conn_recv_head(struct pcomi_conn *c, struct pcomi_msg_header *h, size_t max_body)
{
    if (!c || !h)
        return -EINVAL;
    return c->tp->recv_head(c, h, max_body);
}

int pcomi_conn_recv_body(struct pcomi_conn *c, void *dst, size_t n)
{
    if (!c || (!dst && n))
        return -EINVAL;
    return n ? c->tp->recv_body(c, dst, n) : 0;
}

void pcomi_conn_shutdown(struct pcomi_conn *c)
{
    if (c)
        c->tp->shutdown(c);
}

void pcomi_conn_close(struct pcomi_conn *c)
{
    if (c)
        c->tp->close(c);
}

long long pcomi_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void pcomi_conn_progress(struct pcomi_conn *c)
{
    atomic_store_explicit(&c->progress_ms, pcomi_now_ms(), memory_order_relaxed);
}

long long pcomi_conn_last_progress(const struct pcomi_conn *c)
{
    return atomic_load_explicit(&c->progress_ms, memory_order_relaxed);
}

int pcomi_conn_set_send_timeout(struct pcomi_conn *c, unsigned ms)
{
    if (!c)
        return -EINVAL;
    return c->tp->set_send_timeout ? c->tp->set_send_timeout(c, ms) : -EOPNOTSUPP;
}

int pcomi_conn_wait_readable(struct pcomi_conn *c, unsigned us)
{
    if (!c)
        return -EINVAL;
    return c->tp->wait_readable ? c->tp->wait_readable(c, us) : 1;
}

int pcomi_conn_peer(const struct pcomi_conn *c, char *buf, size_t n)
{
    if (!c || !buf || n == 0)
        return -EINVAL;
    size_t len = strlen(c->peer);
    if (len >= n) {
        memcpy(buf, c->peer, n - 1);
        buf[n - 1] = '\0';
        return -ENOSPC;
    }
    memcpy(buf, c->peer, len + 1);
    return 0;
}
