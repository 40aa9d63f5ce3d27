/* transport.h: the internal transport API: header codec, connections, listeners, and the vtable a transport fills. */
#ifndef PCOMI_TRANSPORT_H
#define PCOMI_TRANSPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

/* ---- The message header (docs/wire.md) ---- */

#define PCOMI_MSG_MAGIC 0x4d4f4350u /* the bytes "PCOM" read little-endian */
#define PCOMI_WIRE_VERSION 1
#define PCOMI_MSG_HEADER_SIZE 56

enum pcomi_msg_type {
    PCOMI_MSG_REQUEST = 1,
    PCOMI_MSG_RESPONSE,
    PCOMI_MSG_FAULT,
    PCOMI_MSG_PING,
    PCOMI_MSG_PONG,
    PCOMI_MSG_CLOSE,
    PCOMI_MSG_HELLO, /* who the sender is: its exporter id and endpoints (docs/wire.md) */
};

/* pcomi_msg_header.flags */
enum {
    PCOMI_FLAG_ONEWAY = 1 << 0, /* REQUEST: no answer is sent */
    PCOMI_FLAGS_KNOWN_ = PCOMI_FLAG_ONEWAY,
};

/* The wire header with its integers in host order. Same offsets as on the wire, so a reader of one knows the other;
 * the bytes are still produced by pcomi_msg_encode_header, never by copying this struct. object_id and iid are
 * kept as the 16 wire bytes: turning them into a GUID is the channel's business. */
struct pcomi_msg_header {
    uint32_t magic;
    uint8_t version;
    uint8_t type; /* enum pcomi_msg_type */
    uint16_t flags;
    uint32_t call_id;
    uint32_t body_len;
    uint16_t method;
    uint8_t causality[6]; /* REQUEST: the logical thread the call belongs to; 0 for none */
    uint8_t object_id[16];
    uint8_t iid[16];
};
_Static_assert(sizeof(struct pcomi_msg_header) == PCOMI_MSG_HEADER_SIZE, "header struct drifted from docs/wire.md");
_Static_assert(offsetof(struct pcomi_msg_header, call_id) == 8 && offsetof(struct pcomi_msg_header, body_len) == 12 &&
                   offsetof(struct pcomi_msg_header, method) == 16 &&
                   offsetof(struct pcomi_msg_header, causality) == 18 &&
                   offsetof(struct pcomi_msg_header, object_id) == 24 && offsetof(struct pcomi_msg_header, iid) == 40,
               "header field offsets drifted from docs/wire.md");

/* Writes the 56 little-endian wire bytes. magic and version are always the constants above and body_len is the
 * argument: callers need only fill the fields that carry meaning. */
void pcomi_msg_encode_header(const struct pcomi_msg_header *h, uint32_t body_len,
                             uint8_t out[PCOMI_MSG_HEADER_SIZE]);
/* Decodes and checks 56 wire bytes. -EPROTO for a bad magic, type or flags; -EPROTONOSUPPORT for a
 * good magic with a version other than PCOMI_WIRE_VERSION (the channel answers that one with a FAULT
 * RPC_E_VERSION_MISMATCH, as docs/wire.md requires, so it needs its own code); -EMSGSIZE when body_len > max_body.
 * *h is written only on success. */
int pcomi_msg_decode_header(const uint8_t in[PCOMI_MSG_HEADER_SIZE], struct pcomi_msg_header *h, size_t max_body);

/* ---- Connections and listeners ----
 *
 * URLs: unix:/absolute/path, unix:@abstract-name, tcp://host:port, tcp://[ipv6]:port, and pipe:program args (connect
 * starts the program as a child on a socketpair; a listener "pipe:" serves the fd named by PCOM_PIPE_FD). A tcp port
 * 0 asks a listener for any free port. Errors are negative errno values: -EINVAL for a malformed URL,
 * -EPROTONOSUPPORT for an unknown scheme, -ENAMETOOLONG for a unix name that does not fit sockaddr_un, -EHOSTUNREACH
 * for a host name that does not resolve, otherwise what the system call said (-ECONNREFUSED, -EADDRINUSE, -ENOENT,
 * ...). */

struct pcomi_conn;
struct pcomi_listener;

/* Binds and listens. A unix listener replaces a socket file left behind by a dead process but returns -EADDRINUSE
 * when a live listener answers on the path, or when the path is not a socket. */
int pcomi_listen(const char *url, struct pcomi_listener **out);
/* The URL a client on this host connects to: the URL given for unix; for tcp the bound numeric address and real port
 * (a wildcard address 0.0.0.0 or [::] is reported as the loopback address of its family). */
const char *pcomi_listener_url(const struct pcomi_listener *l);
/* Blocks until a client connects. -ECANCELED once pcomi_listener_shutdown or pcomi_listener_close was called. Other
 * errors (-EMFILE, -ENOMEM, ...) leave the listener usable. Any number of threads may accept at once. */
int pcomi_listener_accept(struct pcomi_listener *l, struct pcomi_conn **out);
/* Wakes every thread blocked in accept and makes later accepts return -ECANCELED. Thread-safe and repeatable; the
 * listener stays allocated and still owns its address until pcomi_listener_close. */
void pcomi_listener_shutdown(struct pcomi_listener *l);
/* Shuts down, waits until no thread is inside pcomi_listener_accept, then closes the socket, removes the unix socket
 * file (only if it is still the one this listener bound) and frees. May be called while other threads are blocked in
 * accept; must be called exactly once, and no accept may start after it. NULL is a no-op. */
void pcomi_listener_close(struct pcomi_listener *l);

int pcomi_connect(const char *url, struct pcomi_conn **out);

/* Sends one message: the header (with body_len the total of the iovecs) and the body, in one sendmsg in the common
 * case. Thread-safe: whole messages from several threads never interleave. Never raises SIGPIPE. -EINVAL for a type
 * outside enum pcomi_msg_type, unknown flags (or ONEWAY on anything but a REQUEST) or niov < 0; -EMSGSIZE for a body over 4 GiB - 1; -EPIPE once an
 * earlier send failed part-way (the stream would be desynchronised) or the peer is gone. */
int pcomi_conn_send(struct pcomi_conn *c, const struct pcomi_msg_header *h, const struct iovec *body, int niov);
/* Receives one whole message. The header is checked (see pcomi_msg_decode_header) before anything is allocated; the
 * body is malloc'd (aligned for any type, so at least 8) as its bytes arrive, and NULL when body_len is 0; the caller
 * frees it. Returns 0, or:
 *   -EPIPE        the peer closed the stream cleanly between two messages
 *   -ECONNRESET   the stream ended inside a message (peer died or closed mid-message), or the kernel reported a reset
 *   -ECANCELED    pcomi_conn_shutdown was called on this connection
 *   -EPROTO, -EPROTONOSUPPORT, -EMSGSIZE   a malformed header, as pcomi_msg_decode_header
 *   -ENOMEM       the body could not be allocated; it was read and dropped, the next message can be received
 * Every other error is sticky: the stream is no longer at a message boundary, so later calls return it again.
 * Only one thread may receive on a connection at a time. *h and *body are written only on success. */
int pcomi_conn_recv(struct pcomi_conn *c, struct pcomi_msg_header *h, void **body, size_t max_body);
/* The same in two steps, for a receiver that puts parts of a body where they belong: the header (errors as above),
 * then the body's bytes in order with any number of pcomi_conn_recv_body calls, which must take exactly body_len
 * bytes in all before the next header (-EPROTO otherwise). recv_body returns -EINVAL (not sticky) for more bytes than
 * are left of the body. */
int pcomi_conn_recv_head(struct pcomi_conn *c, struct pcomi_msg_header *h, size_t max_body);
int pcomi_conn_recv_body(struct pcomi_conn *c, void *dst, size_t n);
/* After pcomi_conn_recv_head: the whole body of h, malloc'd as pcomi_conn_recv does. */
int pcomi_conn_recv_rest(struct pcomi_conn *c, const struct pcomi_msg_header *h, void **body);
/* shutdown(SHUT_RDWR): a recv blocked in another thread returns -ECANCELED, sends fail. Thread-safe, repeatable. */
void pcomi_conn_shutdown(struct pcomi_conn *c);
/* Closes and frees. No other thread may be inside send or recv (wake them with pcomi_conn_shutdown first). NULL is a
 * no-op. */
void pcomi_conn_close(struct pcomi_conn *c);
/* A send blocked for longer than ms (the peer stopped reading) fails with -ETIMEDOUT and breaks the connection;
 * 0 waits forever. */
int pcomi_conn_set_send_timeout(struct pcomi_conn *c, unsigned ms);
/* Waits up to us microseconds for bytes to receive: 1 when a pcomi_conn_recv would find some now (a whole
 * message may still take longer), 0 when none came, or a negative errno (the connection ended). Only the thread
 * that may receive next calls it. A wait of at most PCOMI_QUICK_WAIT_US may last that long; on a stream it is
 * then the receive itself (one system call; the bytes are kept for the next recv). */
#define PCOMI_QUICK_WAIT_US 200
int pcomi_conn_wait_readable(struct pcomi_conn *c, unsigned us);
/* A printable description of the peer for logs, e.g. "tcp://[::1]:41234" or "unix:/run/x.sock pid 42 uid 1000".
 * Always NUL-terminates; -ENOSPC (with the text truncated) when n is too small. */
int pcomi_conn_peer(const struct pcomi_conn *c, char *buf, size_t n);

/* ---- For the transports ----
 *
 * A transport is one file, src/transport_<scheme>.c, exporting one const struct pcomi_transport, listed in the table
 * in transport.c. Its connections and listeners embed struct pcomi_conn / struct pcomi_listener as their first
 * member. The generic layer (transport.c) parses the scheme, checks arguments, encodes headers and keeps the
 * listener's lifecycle (wake, wait for accepts to leave, free); a transport only does I/O. */

#define PCOMI_URL_MAX 288  /* "tcp://[" 253-byte host "]:65535", or "unix:@" 107-byte name, with NUL */
#define PCOMI_PEER_MAX 160 /* enough for any peer text the transports make */
#define PCOMI_TCP_HOST_MAX 254

struct pcomi_transport {
    const char *scheme; /* matched case-insensitively against the URL up to its first ':' */
    /* listen and connect get the whole URL and parse it themselves. */
    int (*listen)(const char *url, struct pcomi_listener **out);
    int (*connect)(const char *url, struct pcomi_conn **out);
    /* Blocks until a connection or listener_wake; -ECANCELED after listener_wake. */
    int (*accept)(struct pcomi_listener *l, struct pcomi_conn **out);
    void (*listener_wake)(struct pcomi_listener *l); /* called once, under the listener's lock */
    void (*listener_free)(struct pcomi_listener *l); /* no thread is inside accept any more */
    /* hdr is already encoded; body_len is the total of the iovecs. */
    int (*send)(struct pcomi_conn *c, const uint8_t hdr[PCOMI_MSG_HEADER_SIZE], const struct iovec *body, int niov);
    /* As pcomi_conn_recv_head and pcomi_conn_recv_body; errors but -EINVAL are sticky. */
    int (*recv_head)(struct pcomi_conn *c, struct pcomi_msg_header *h, size_t max_body);
    int (*recv_body)(struct pcomi_conn *c, void *dst, size_t n);
    void (*shutdown)(struct pcomi_conn *c);
    void (*close)(struct pcomi_conn *c);
    /* A send blocked for longer than ms (the peer stopped reading) fails with -ETIMEDOUT; 0 waits forever. */
    int (*set_send_timeout)(struct pcomi_conn *c, unsigned ms);
    /* 1 when a recv would find bytes now, 0 when none came within us microseconds, or a negative errno. */
    int (*wait_readable)(struct pcomi_conn *c, unsigned us);
};

struct pcomi_conn {
    const struct pcomi_transport *tp;
    char peer[PCOMI_PEER_MAX];
    /* When a message too large for one system call last moved either way (ms, CLOCK_MONOTONIC): a peer busy
     * with one long transfer is alive though no whole message arrives. */
    _Atomic long long progress_ms;
};

/* CLOCK_MONOTONIC, for deadlines and keepalive across the runtime. */
long long pcomi_now_us(void);
static inline long long pcomi_now_ms(void)
{
    return pcomi_now_us() / 1000;
}

/* Transports call this as a long message moves. */
void pcomi_conn_progress(struct pcomi_conn *c);
long long pcomi_conn_last_progress(const struct pcomi_conn *c);

struct pcomi_listener {
    const struct pcomi_transport *tp;
    char url[PCOMI_URL_MAX];
    /* Owned by transport.c: lets close wait for threads still inside accept before anything is freed. */
    pthread_mutex_t lock;
    pthread_cond_t idle;
    int accepting;
    bool shut;
};

extern const struct pcomi_transport pcomi_unix_transport;
extern const struct pcomi_transport pcomi_tcp_transport;
extern const struct pcomi_transport pcomi_pipe_transport; /* transport_pipe.c: a child server on a socketpair */
extern const struct pcomi_transport pcomi_shm_transport;  /* transport_shm.c: rings in shared memory */

/* Address parsers, separate from listen/connect so tests can check them. pcomi_unix_parse fills a sockaddr_un (an
 * abstract name starts with a NUL byte and is not NUL-terminated) and its length. pcomi_tcp_parse returns the host
 * without brackets (an IPv6 literal is the only host containing ':') and the port. */
int pcomi_unix_parse(const char *url, struct sockaddr_un *sa, socklen_t *len);
int pcomi_tcp_parse(const char *url, char host[PCOMI_TCP_HOST_MAX], uint16_t *port);

/* stream.c: connections and listeners over a connected stream socket, shared by unix and tcp. */
struct pcomi_stream_listener {
    struct pcomi_listener base;
    int fd;      /* listening, O_NONBLOCK so a connection reset between poll and accept cannot block */
    int wake_fd; /* eventfd made readable by listener_wake; never read, so it wakes every accepting thread */
};
/* Takes ownership of fd on success (a listening socket, non-blocking, close-on-exec). */
int pcomi_stream_listener_init(struct pcomi_stream_listener *sl, int fd);
/* Closes the fds; does not free sl. Safe on a listener whose init failed (fds -1). */
void pcomi_stream_listener_fini(struct pcomi_stream_listener *sl);
/* Waits for and accepts one connection: its fd, close-on-exec and blocking. */
int pcomi_stream_accept_fd(struct pcomi_stream_listener *sl, int *fd);
void pcomi_stream_listener_wake(struct pcomi_listener *l);
/* connect(2) that survives EINTR (the connection goes on in the background; wait for it instead of failing). */
int pcomi_stream_connect_fd(int fd, const struct sockaddr *sa, socklen_t len);
/* Wraps a connected socket; takes ownership of fd on success. The caller fills (*out)->peer. */
int pcomi_stream_conn_new(const struct pcomi_transport *tp, int fd, struct pcomi_conn **out);
int pcomi_stream_send(struct pcomi_conn *c, const uint8_t hdr[PCOMI_MSG_HEADER_SIZE], const struct iovec *body,
                      int niov);
int pcomi_stream_recv_head(struct pcomi_conn *c, struct pcomi_msg_header *h, size_t max_body);
int pcomi_stream_recv_body(struct pcomi_conn *c, void *dst, size_t n);
void pcomi_stream_shutdown(struct pcomi_conn *c);
int pcomi_stream_wait_readable(struct pcomi_conn *c, unsigned us);
/* pcomi_conn_set_send_timeout for stream connections. */
int pcomi_stream_set_send_timeout(struct pcomi_conn *c, unsigned ms);
void pcomi_stream_close(struct pcomi_conn *c);

#endif
