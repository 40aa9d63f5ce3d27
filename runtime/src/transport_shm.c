/* transport_shm.c: connections through rings in shared memory, found through a named region in /dev/shm.
 *
 * shm:NAME names the region /dev/shm/pcom-NAME, which a listening server creates and initialises. It says which
 * process serves it and the abstract Unix socket where a client sets a connection up: the client creates a sealed
 * memfd holding two rings (one each way), hands it over the socket, and keeps the socket open. From then on
 * messages go through the rings; the socket carries nothing, and its end is how each side learns at once that the
 * other died. A region whose server is gone (crashed) is recognised and replaced by the next server. */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SHM_NAME_MAX 100
#define RDV_MAGIC 0x48534350u  /* "PCSH" */
#define CONN_MAGIC 0x43534350u /* "PCSC" */
#define SHM_VERSION 1
#define RING_SIZE ((uint32_t)1 << 20)
#define HANDSHAKE_MS 2000

/* The named region. The server writes everything, then state = READY; a reader trusts nothing before that. */
struct rdv {
    uint32_t magic;
    uint32_t version;
    _Atomic uint32_t state; /* 0 while being initialised, RDV_READY after */
    int32_t pid;
    uint64_t start_time;    /* the server's start in clock ticks after boot: a reused pid is not taken for it */
    char sock[96];          /* abstract socket name, without its leading NUL */
};
#define RDV_READY 1u
#define RDV_SIZE 4096

/* One direction: written by one process, read by the other. Indices count bytes ever written and read; the data
 * is a power-of-two ring. Each side's words sit on their own cache line. */
struct ring {
    _Atomic uint64_t head;              /* bytes written: the producer's */
    _Atomic uint32_t data_seq;          /* futex: bumped when data comes while the consumer sleeps */
    _Atomic uint32_t consumer_sleeping;
    uint8_t pad0[48];
    _Atomic uint64_t tail;              /* bytes read: the consumer's */
    _Atomic uint32_t space_seq;         /* futex: bumped when space frees while the producer sleeps */
    _Atomic uint32_t producer_sleeping;
    uint8_t pad1[48];
    _Atomic uint32_t closed;            /* either side shut the connection */
    uint8_t pad2[60];
};
_Static_assert(sizeof(struct ring) == 192, "ring control is three cache lines");

struct conn_hdr {
    uint32_t magic;
    uint32_t ring_size;
    uint8_t pad[56];
};
#define CONN_SIZE(ring_bytes) (sizeof(struct conn_hdr) + 2 * (sizeof(struct ring) + (size_t)(ring_bytes)))

struct shm_conn {
    struct pcomi_conn base;
    int sock;
    uint8_t *map;
    size_t map_len;
    struct ring *in, *out;
    uint8_t *in_data, *out_data;
    uint32_t size;            /* of each ring's data */
    atomic_bool shut;         /* pcomi_conn_shutdown was called */
    atomic_bool peer_gone;    /* the watcher saw the socket end */
    pthread_t watcher;
    bool watching;
    pthread_mutex_t send_lock;
    bool send_broken;
    atomic_uint send_timeout_ms;
    int recv_err;             /* sticky */
    size_t body_left;         /* bytes of the current message's body not yet received */
    unsigned spin;            /* adaptive: iterations a waiting reader spins before sleeping */
};

struct shm_listener {
    struct pcomi_stream_listener s;
    char region[SHM_NAME_MAX + 8];
    char sock[96];
};

static long futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *timeout)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, timeout, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *addr)
{
    futex(addr, FUTEX_WAKE, INT32_MAX, NULL);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* ---- names and liveness ---- */

static int parse_name(const char *url, char region[SHM_NAME_MAX + 8])
{
    const char *name = url + 4; /* "shm:" */
    size_t n = strlen(name);
    if (strncasecmp(url, "shm:", 4) != 0 || n == 0)
        return -EINVAL;
    if (n > SHM_NAME_MAX)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return -EINVAL;
    }
    snprintf(region, SHM_NAME_MAX + 8, "/pcom-%s", name);
    return 0;
}

/* Field 22 of /proc/PID/stat: when the process started, which tells a live server from a new process that got
 * the dead one's pid. 0 when unknown. */
static uint64_t start_time_of(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    if (!p)
        return 0;
    unsigned long long v = 0;
    /* after ")": state is field 3; starttime is field 22 */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &v) != 1)
        return 0;
    return v;
}

static bool server_alive(const struct rdv *r)
{
    pid_t pid = r->pid;
    if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
        return false;
    uint64_t t = start_time_of(pid);
    return t == 0 || t == r->start_time;
}

/* ---- listening ---- */

static int make_listen_socket(char name[96], int *out)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    uint8_t rnd[8];
    if (getentropy(rnd, sizeof(rnd)) < 0)
        memset(rnd, 0, sizeof(rnd));
    snprintf(name, 96, "pcom-shm-%d-%02x%02x%02x%02x%02x%02x%02x%02x", (int)getpid(), rnd[0], rnd[1], rnd[2], rnd[3],
             rnd[4], rnd[5], rnd[6], rnd[7]);
    size_t n = strlen(name);
    memcpy(sa.sun_path + 1, name, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, SOMAXCONN) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    *out = fd;
    return 0;
}

/* Creates and initialises the region, replacing one whose server is gone. */
static int create_region(const char *region, const char *sock)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        int fd = shm_open(region, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            struct rdv *r = MAP_FAILED;
            if (ftruncate(fd, RDV_SIZE) == 0)
                r = mmap(NULL, RDV_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            close(fd);
            if (r == MAP_FAILED) {
                int e = -errno;
                shm_unlink(region);
                return e;
            }
            r->magic = RDV_MAGIC;
            r->version = SHM_VERSION;
            r->pid = (int32_t)getpid();
            r->start_time = start_time_of(getpid());
            snprintf(r->sock, sizeof(r->sock), "%s", sock);
            atomic_store_explicit(&r->state, RDV_READY, memory_order_release);
            munmap(r, RDV_SIZE);
            return 0;
        }
        if (errno != EEXIST)
            return -errno;
        /* it exists: a live server keeps it; a region left by a dead one, or never finished, is replaced */
        fd = shm_open(region, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) {
            if (errno == ENOENT)
                continue; /* its owner removed it meanwhile */
            return -errno;
        }
        struct stat st;
        bool live = false;
        /* a region another listener is creating this moment (still empty, or not yet ready) gets time to finish */
        for (int i = 0; i < 200 && fstat(fd, &st) == 0 && st.st_size < (off_t)sizeof(struct rdv); i++)
            usleep(1000);
        if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(struct rdv)) {
            const struct rdv *r = mmap(NULL, sizeof(struct rdv), PROT_READ, MAP_SHARED, fd, 0);
            if (r != MAP_FAILED) {
                for (int i = 0; i < 200 && atomic_load_explicit(&r->state, memory_order_acquire) != RDV_READY; i++)
                    usleep(1000);
                live = r->magic == RDV_MAGIC && atomic_load_explicit(&r->state, memory_order_acquire) == RDV_READY &&
                       server_alive(r);
                munmap((void *)r, sizeof(struct rdv));
            }
        }
        close(fd);
        if (live)
            return -EADDRINUSE;
        shm_unlink(region);
    }
    return -EADDRINUSE;
}

static int shm_listen(const char *url, struct pcomi_listener **out)
{
    struct shm_listener *sl = calloc(1, sizeof(*sl));
    if (!sl)
        return -ENOMEM;
    sl->s.fd = sl->s.wake_fd = -1;
    int rc = parse_name(url, sl->region);
    int fd = -1;
    if (rc < 0 || (rc = make_listen_socket(sl->sock, &fd)) < 0)
        goto fail;
    if ((rc = pcomi_stream_listener_init(&sl->s, fd)) < 0) {
        close(fd);
        goto fail;
    }
    if ((rc = create_region(sl->region, sl->sock)) < 0)
        goto fail;
    snprintf(sl->s.base.url, sizeof(sl->s.base.url), "%s", url);
    *out = &sl->s.base;
    return 0;
fail:
    pcomi_stream_listener_fini(&sl->s);
    free(sl);
    return rc;
}

static void shm_listener_free(struct pcomi_listener *l)
{
    struct shm_listener *sl = (struct shm_listener *)l;
    /* the name is removed only while it is still ours: a later server may have replaced it */
    int fd = shm_open(sl->region, O_RDONLY | O_CLOEXEC, 0);
    if (fd >= 0) {
        const struct rdv *r = mmap(NULL, sizeof(struct rdv), PROT_READ, MAP_SHARED, fd, 0);
        close(fd);
        if (r != MAP_FAILED) {
            if (r->pid == (int32_t)getpid() && strncmp(r->sock, sl->sock, sizeof(r->sock)) == 0)
                shm_unlink(sl->region);
            munmap((void *)r, sizeof(struct rdv));
        }
    }
    pcomi_stream_listener_fini(&sl->s);
    free(sl);
}

/* ---- connections ---- */

static void *watch_main(void *arg)
{
    struct shm_conn *c = arg;
    char b;
    for (;;) {
        ssize_t n = recv(c->sock, &b, 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        break; /* the peer sends nothing: any return means it closed, died, or we shut down */
    }
    atomic_store(&c->peer_gone, true);
    /* wake whoever waits on the rings in this process */
    atomic_fetch_add(&c->in->data_seq, 1);
    atomic_fetch_add(&c->out->space_seq, 1);
    futex_wake_all(&c->in->data_seq);
    futex_wake_all(&c->out->space_seq);
    return NULL;
}

/* A connection over the rings in map (len bytes, rings of size), its setup socket sock watched for the peer's end.
 * Nothing is taken over on failure. */
static int conn_start(int sock, uint8_t *map, size_t len, uint32_t size, bool server, const char *peer,
                      struct pcomi_conn **out)
{
    struct shm_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->base.tp = &pcomi_shm_transport;
    c->sock = sock;
    c->map = map;
    c->map_len = len;
    c->size = size;
    struct ring *a = (struct ring *)(map + sizeof(struct conn_hdr));
    struct ring *b = (struct ring *)((uint8_t *)a + sizeof(struct ring) + size);
    /* ring a carries client -> server, ring b server -> client */
    c->in = server ? a : b;
    c->out = server ? b : a;
    c->in_data = (uint8_t *)c->in + sizeof(struct ring);
    c->out_data = (uint8_t *)c->out + sizeof(struct ring);
    c->spin = 2000;
    snprintf(c->base.peer, sizeof(c->base.peer), "%s", peer);
    pthread_mutex_init(&c->send_lock, NULL);
    if (pthread_create(&c->watcher, NULL, watch_main, c) != 0) {
        pthread_mutex_destroy(&c->send_lock);
        free(c);
        return -EAGAIN;
    }
    c->watching = true;
    *out = &c->base;
    return 0;
}

static bool conn_closed(struct shm_conn *c)
{
    return atomic_load(&c->shut) || atomic_load(&c->peer_gone) || atomic_load(&c->in->closed) ||
           atomic_load(&c->out->closed);
}

static int shm_accept(struct pcomi_listener *l, struct pcomi_conn **out)
{
    struct shm_listener *sl = (struct shm_listener *)l;
    int fd;
    int rc = pcomi_stream_accept_fd(&sl->s, &fd);
    if (rc < 0)
        return rc;
    /* The region is the server user's alone (mode 0600), but its abstract socket has no permissions of its own:
     * anyone who reads the name in /proc/net/unix can connect. Only the server's own user (or root) is served. */
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
        (cred.uid != geteuid() && cred.uid != 0)) {
        close(fd);
        return -EACCES;
    }
    /* a client that connects and sends nothing must not hold the accepting thread */
    struct timeval tv = {HANDSHAKE_MS / 1000, (HANDSHAKE_MS % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct conn_hdr want;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = {&want, sizeof(want)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
    ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    int mfd = -1;
    /* exactly one descriptor is expected; any other that came along is closed, not kept */
    for (struct cmsghdr *cm = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len < CMSG_LEN(0))
            continue;
        size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int got;
            memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
            if (mfd < 0 && k == 1)
                mfd = got;
            else
                close(got);
        }
    }
    if (msg.msg_flags & MSG_CTRUNC) {
        if (mfd >= 0)
            close(mfd);
        mfd = -1;
    }
    rc = -EPROTO;
    uint8_t *map = MAP_FAILED;
    size_t len = 0;
    struct stat st;
    /* the client made the memory: its size must match what it claims, and be sealed so it cannot shrink under
     * us (a mapping past the end of a file faults) */
    int seals = mfd >= 0 ? fcntl(mfd, F_GET_SEALS) : -1; /* -1 too for a file that is not a memfd */
    if (mfd < 0 || n != (ssize_t)sizeof(want) || want.magic != CONN_MAGIC || want.ring_size < 4096 ||
        want.ring_size > (64u << 20) || (want.ring_size & (want.ring_size - 1)) || fstat(mfd, &st) < 0 ||
        (size_t)st.st_size != CONN_SIZE(want.ring_size) || seals < 0 ||
        (seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) != (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
        goto fail;
    len = CONN_SIZE(want.ring_size);
    map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    if (map == MAP_FAILED) {
        rc = -errno;
        goto fail;
    }
    close(mfd);
    mfd = -1;
    tv.tv_sec = tv.tv_usec = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char peer[PCOMI_PEER_MAX];
    snprintf(peer, sizeof(peer), "%.120s pid %d uid %u", l->url, (int)cred.pid, (unsigned)cred.uid);
    if ((rc = conn_start(fd, map, len, want.ring_size, true, peer, out)) < 0)
        goto fail;
    return 0;
fail:
    if (map != MAP_FAILED)
        munmap(map, len);
    if (mfd >= 0)
        close(mfd);
    close(fd);
    /* a bad client costs this connection, never the listener */
    return rc == -ECANCELED ? -EPROTO : rc;
}

static int shm_connect(const char *url, struct pcomi_conn **out)
{
    char region[SHM_NAME_MAX + 8];
    int rc = parse_name(url, region);
    if (rc < 0)
        return rc;
    int fd = shm_open(region, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return errno == ENOENT ? -ECONNREFUSED : -errno;
    struct stat st;
    struct rdv r;
    bool ok = false;
    if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(struct rdv)) {
        const struct rdv *m = mmap(NULL, sizeof(struct rdv), PROT_READ, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) {
            for (int i = 0; i < 100 && atomic_load_explicit(&m->state, memory_order_acquire) != RDV_READY; i++)
                usleep(1000);
            ok = atomic_load_explicit(&m->state, memory_order_acquire) == RDV_READY;
            memcpy(&r, (const void *)m, sizeof(r));
            munmap((void *)m, sizeof(struct rdv));
        }
    }
    close(fd);
    /* a region without a live server is stale: nobody answers there */
    if (!ok || r.magic != RDV_MAGIC || r.version != SHM_VERSION || !server_alive(&r))
        return -ECONNREFUSED;
    r.sock[sizeof(r.sock) - 1] = 0;

    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        return -errno;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(r.sock);
    memcpy(sa.sun_path + 1, r.sock, n);
    uint8_t *map = MAP_FAILED;
    size_t len = CONN_SIZE(RING_SIZE);
    int mfd = -1;
    if ((rc = pcomi_stream_connect_fd(sock, (struct sockaddr *)&sa,
                                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n))) < 0)
        goto fail;
    mfd = memfd_create("pcom-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0 || ftruncate(mfd, (off_t)len) < 0 ||
        fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        rc = -errno;
        goto fail;
    }
    map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    if (map == MAP_FAILED) {
        rc = -errno;
        goto fail;
    }
    struct conn_hdr *h = (struct conn_hdr *)map;
    h->magic = CONN_MAGIC;
    h->ring_size = RING_SIZE;
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct iovec iov = {h, sizeof(*h)};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &mfd, sizeof(int));
    ssize_t sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (sent != (ssize_t)sizeof(*h)) {
        rc = sent < 0 ? -errno : -EPIPE;
        goto fail;
    }
    close(mfd);
    mfd = -1;
    char peer[PCOMI_PEER_MAX];
    snprintf(peer, sizeof(peer), "%.120s pid %d", url, (int)r.pid);
    if ((rc = conn_start(sock, map, len, RING_SIZE, false, peer, out)) < 0)
        goto fail;
    return 0;
fail:
    if (map != MAP_FAILED)
        munmap(map, len);
    if (mfd >= 0)
        close(mfd);
    close(sock);
    return rc;
}

/* ---- the rings ---- */

/* Bytes the consumer may read now; -EPROTO when the peer's index makes no sense. */
static int64_t ring_used(struct shm_conn *c, struct ring *r)
{
    /* seq_cst: with the producer's seq_cst store of head and our seq_cst store of consumer_sleeping, one of us
     * sees the other, so a sleep never misses the data that would have woken it */
    uint64_t head = atomic_load(&r->head);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t used = head - tail;
    return used > c->size ? -EPROTO : (int64_t)used;
}

/* Waits until the incoming ring has data: a short spin (adapted to how often it pays), then a futex wait. */
static int wait_data(struct shm_conn *c)
{
    struct ring *r = c->in;
    for (unsigned i = 0; i < c->spin; i++) {
        int64_t u = ring_used(c, r);
        if (u != 0) {
            if (c->spin < 20000)
                c->spin += c->spin / 8 + 1;
            return u < 0 ? (int)u : 0;
        }
        cpu_relax();
    }
    if (c->spin > 64)
        c->spin /= 2;
    for (;;) {
        uint32_t seq = atomic_load(&r->data_seq);
        atomic_store(&r->consumer_sleeping, 1);
        int64_t u = ring_used(c, r);
        if (u != 0) {
            atomic_store(&r->consumer_sleeping, 0);
            return u < 0 ? (int)u : 0;
        }
        if (conn_closed(c)) {
            atomic_store(&r->consumer_sleeping, 0);
            return atomic_load(&c->shut) ? -ECANCELED : -EPIPE;
        }
        futex(&r->data_seq, FUTEX_WAIT, seq, NULL);
        atomic_store(&r->consumer_sleeping, 0);
        pcomi_conn_progress(&c->base);
    }
}

/* Copies n bytes out of the incoming ring, waiting for them. */
static int ring_read(struct shm_conn *c, void *dst, size_t n)
{
    struct ring *r = c->in;
    uint8_t *d = dst;
    while (n) {
        int64_t used = ring_used(c, r);
        if (used < 0)
            return (int)used;
        if (used == 0) {
            int rc = wait_data(c);
            if (rc < 0)
                return rc;
            continue;
        }
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        size_t at = (size_t)(tail & (c->size - 1));
        size_t k = (size_t)used < n ? (size_t)used : n;
        if (k > c->size - at)
            k = c->size - at;
        memcpy(d, c->in_data + at, k);
        atomic_store(&r->tail, tail + k); /* seq_cst, against the producer's sleep as above */
        d += k;
        n -= k;
        if (atomic_load(&r->producer_sleeping)) {
            atomic_fetch_add(&r->space_seq, 1);
            futex_wake_all(&r->space_seq);
        }
    }
    return 0;
}

/* Waits for room in the outgoing ring, waking the consumer first so it drains what is there. */
static int wait_space(struct shm_conn *c, long long deadline)
{
    struct ring *r = c->out;
    for (unsigned i = 0; i < 1000; i++) {
        uint64_t used = atomic_load_explicit(&r->head, memory_order_relaxed) -
                        atomic_load_explicit(&r->tail, memory_order_acquire);
        if (used > c->size)
            return -EPROTO;
        if (used < c->size)
            return 0;
        cpu_relax();
    }
    for (;;) {
        uint32_t seq = atomic_load(&r->space_seq);
        atomic_store(&r->producer_sleeping, 1);
        uint64_t used = atomic_load_explicit(&r->head, memory_order_relaxed) - atomic_load(&r->tail);
        if (used != c->size) {
            atomic_store(&r->producer_sleeping, 0);
            return used > c->size ? -EPROTO : 0;
        }
        if (conn_closed(c)) {
            atomic_store(&r->producer_sleeping, 0);
            return -EPIPE;
        }
        struct timespec ts, *tsp = NULL;
        if (deadline) {
            long long left = deadline - pcomi_now_ms();
            if (left <= 0) {
                atomic_store(&r->producer_sleeping, 0);
                return -ETIMEDOUT;
            }
            ts.tv_sec = left / 1000;
            ts.tv_nsec = (left % 1000) * 1000000;
            tsp = &ts;
        }
        futex(&r->space_seq, FUTEX_WAIT, seq, tsp);
        atomic_store(&r->producer_sleeping, 0);
        pcomi_conn_progress(&c->base);
    }
}

static void wake_consumer(struct ring *r)
{
    if (atomic_load(&r->consumer_sleeping)) {
        atomic_fetch_add(&r->data_seq, 1);
        futex_wake_all(&r->data_seq);
    }
}

static int ring_write(struct shm_conn *c, const void *src, size_t n, long long deadline)
{
    struct ring *r = c->out;
    const uint8_t *s = src;
    while (n) {
        if (conn_closed(c))
            return -EPIPE;
        uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
        uint64_t used = head - atomic_load_explicit(&r->tail, memory_order_acquire);
        if (used > c->size)
            return -EPROTO;
        if (used == c->size) {
            /* full: publish what is written, let the consumer drain it, then go on */
            wake_consumer(r);
            int rc = wait_space(c, deadline);
            if (rc < 0)
                return rc;
            continue;
        }
        size_t at = (size_t)(head & (c->size - 1));
        size_t k = c->size - (size_t)used;
        if (k > n)
            k = n;
        if (k > c->size - at)
            k = c->size - at;
        memcpy(c->out_data + at, s, k);
        atomic_store_explicit(&r->head, head + k, memory_order_seq_cst);
        s += k;
        n -= k;
    }
    return 0;
}

static int shm_send(struct pcomi_conn *base, const uint8_t hdr[PCOMI_MSG_HEADER_SIZE], const struct iovec *body,
                    int niov)
{
    struct shm_conn *c = (struct shm_conn *)base;
    unsigned ms = atomic_load(&c->send_timeout_ms);
    long long deadline = ms ? pcomi_now_ms() + ms : 0;
    pthread_mutex_lock(&c->send_lock);
    int rc = c->send_broken ? -EPIPE : 0;
    if (rc == 0)
        rc = ring_write(c, hdr, PCOMI_MSG_HEADER_SIZE, deadline);
    for (int i = 0; i < niov && rc == 0; i++)
        rc = ring_write(c, body[i].iov_base, body[i].iov_len, deadline);
    if (rc < 0)
        c->send_broken = true; /* part of a message may be in the ring: nothing after it can be read right */
    else
        wake_consumer(c->out);
    pthread_mutex_unlock(&c->send_lock);
    if (rc == -EPROTO || rc == -ETIMEDOUT)
        pcomi_conn_shutdown(base);
    return rc == -EPROTO ? -EPIPE : rc;
}

/* A receive failed: the ring is off a message boundary (or closed), for good. */
static int shm_recv_broken(struct shm_conn *c, int rc)
{
    if (rc == -EPIPE && !atomic_load(&c->shut))
        rc = -ECONNRESET; /* the peer went inside a message */
    if (atomic_load(&c->shut))
        rc = -ECANCELED;
    c->recv_err = rc;
    if (rc == -EPROTO)
        pcomi_conn_shutdown(&c->base);
    return rc;
}

static int shm_recv_head(struct pcomi_conn *base, struct pcomi_msg_header *h, size_t max_body)
{
    struct shm_conn *c = (struct shm_conn *)base;
    if (c->recv_err)
        return c->recv_err;
    if (c->body_left)
        return shm_recv_broken(c, -EPROTO);
    /* the header is copied out of shared memory before it is looked at: the peer may change the ring meanwhile */
    uint8_t raw[PCOMI_MSG_HEADER_SIZE];
    int rc = ring_used(c, c->in) == 0 ? wait_data(c) : 0;
    if (rc == -EPIPE) {
        /* closed between two messages: nothing of a next one was consumed */
        c->recv_err = atomic_load(&c->shut) ? -ECANCELED : -EPIPE;
        return c->recv_err;
    }
    if (rc == 0)
        rc = ring_read(c, raw, sizeof(raw));
    struct pcomi_msg_header hdr;
    if (rc == 0)
        rc = pcomi_msg_decode_header(raw, &hdr, max_body);
    if (rc < 0)
        return shm_recv_broken(c, rc);
    c->body_left = hdr.body_len;
    *h = hdr;
    return 0;
}

static int shm_recv_body(struct pcomi_conn *base, void *dst, size_t n)
{
    struct shm_conn *c = (struct shm_conn *)base;
    if (c->recv_err)
        return c->recv_err;
    if (n > c->body_left)
        return -EINVAL;
    int rc = ring_read(c, dst, n);
    if (rc < 0)
        return shm_recv_broken(c, rc);
    c->body_left -= n;
    return 0;
}

static void shm_shutdown(struct pcomi_conn *base)
{
    struct shm_conn *c = (struct shm_conn *)base;
    atomic_store(&c->shut, true);
    atomic_store(&c->in->closed, 1);
    atomic_store(&c->out->closed, 1);
    atomic_fetch_add(&c->in->data_seq, 1);
    atomic_fetch_add(&c->out->space_seq, 1);
    atomic_fetch_add(&c->out->data_seq, 1);
    atomic_fetch_add(&c->in->space_seq, 1);
    futex_wake_all(&c->in->data_seq);
    futex_wake_all(&c->out->space_seq);
    futex_wake_all(&c->out->data_seq);
    futex_wake_all(&c->in->space_seq);
    shutdown(c->sock, SHUT_RDWR);
}

static void shm_close(struct pcomi_conn *base)
{
    struct shm_conn *c = (struct shm_conn *)base;
    shm_shutdown(base);
    if (c->watching)
        pthread_join(c->watcher, NULL);
    munmap(c->map, c->map_len);
    close(c->sock);
    pthread_mutex_destroy(&c->send_lock);
    free(c);
}

static int shm_wait_readable(struct pcomi_conn *base, unsigned us)
{
    struct shm_conn *c = (struct shm_conn *)base;
    struct ring *r = c->in;
    if (c->recv_err)
        return c->recv_err;
    for (unsigned i = 0; i < c->spin; i++) {
        int64_t u = ring_used(c, r);
        if (u != 0)
            return u < 0 ? (int)u : 1;
        cpu_relax();
    }
    uint32_t seq = atomic_load(&r->data_seq);
    atomic_store(&r->consumer_sleeping, 1);
    int64_t u = ring_used(c, r);
    if (u == 0 && !conn_closed(c)) {
        struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
        futex(&r->data_seq, FUTEX_WAIT, seq, &ts);
        u = ring_used(c, r);
    }
    atomic_store(&r->consumer_sleeping, 0);
    if (u != 0)
        return u < 0 ? (int)u : 1;
    return conn_closed(c) ? 1 : 0; /* a closed connection is for recv to report */
}

static int shm_set_send_timeout(struct pcomi_conn *base, unsigned ms)
{
    atomic_store(&((struct shm_conn *)base)->send_timeout_ms, ms);
    return 0;
}

const struct pcomi_transport pcomi_shm_transport = {
    .scheme = "shm",
    .listen = shm_listen,
    .connect = shm_connect,
    .accept = shm_accept,
    .listener_wake = pcomi_stream_listener_wake,
    .listener_free = shm_listener_free,
    .send = shm_send,
    .recv_head = shm_recv_head,
    .recv_body = shm_recv_body,
    .shutdown = shm_shutdown,
    .close = shm_close,
    .set_send_timeout = shm_set_send_timeout,
    .wait_readable = shm_wait_readable,
};
