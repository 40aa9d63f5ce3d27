/* raw_floor.c: the raw ping-pongs pcom is compared with: sockets, epoll, a socketpair child, shared memory. */
#include "raw_floor.h"

#include <errno.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int read_full(int fd, void *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

int write_full(int fd, const void *buf, size_t n)
{
    for (size_t put = 0; put < n;) {
        ssize_t w = write(fd, (const char *)buf + put, n - put);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return -1;
        }
        put += (size_t)w;
    }
    return 0;
}

void bench_pin(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

static bool sizes_ok(const uint32_t sizes[2])
{
    return sizes[0] >= 8 && sizes[0] <= RAW_MAX && sizes[1] >= 8 && sizes[1] <= RAW_MAX;
}

/* Reads one request into buf and writes its reply from buf: the whole of a raw server's work. */
static int echo_one(int fd, char *buf)
{
    uint32_t sizes[2];
    if (read_full(fd, sizes, 8) < 0 || !sizes_ok(sizes) || read_full(fd, buf + 8, sizes[0] - 8) < 0)
        return -1;
    memcpy(buf, sizes, 8);
    return write_full(fd, buf, sizes[1]);
}

/* ---- stream servers ---- */

static void *serve_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(RAW_MAX);
    while (buf && echo_one(fd, buf) == 0)
        ;
    free(buf);
    close(fd);
    return NULL;
}

static void nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails harmlessly on Unix sockets */
}

static void *accept_loop(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break;
        }
        nodelay(fd);
        pthread_t t;
        if (pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd) == 0)
            pthread_detach(t);
        else
            close(fd);
    }
    return NULL;
}

int raw_listen_unix(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
        return -1;
    return fd;
}

int raw_listen_tcp(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    *port = ntohs(sa.sin_port);
    return fd;
}

int raw_serve_threads(int lfd)
{
    pthread_t t;
    if (pthread_create(&t, NULL, accept_loop, (void *)(intptr_t)lfd) != 0)
        return -1;
    pthread_detach(t);
    return 0;
}

#define EPOLL_MAX_LISTENERS 4

struct epoll_server {
    int ep;
    int lfds[EPOLL_MAX_LISTENERS];
    int n;
};

static void *epoll_loop(void *arg)
{
    struct epoll_server *s = arg;
    char *buf = malloc(RAW_MAX);
    struct epoll_event ev[32];
    while (buf) {
        int n = epoll_wait(s->ep, ev, 32, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        for (int i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            bool listener = false;
            for (int k = 0; k < s->n; k++)
                listener |= fd == s->lfds[k];
            if (listener) {
                int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                    continue;
                nodelay(c);
                struct epoll_event e = {.events = EPOLLIN, .data.fd = c};
                if (epoll_ctl(s->ep, EPOLL_CTL_ADD, c, &e) < 0)
                    close(c);
            } else if (echo_one(fd, buf) < 0) {
                /* a message is read whole once its first byte is in: the requests are small and sent in one
                 * write, so blocking for the rest costs nothing and keeps this loop as short as a floor should be */
                epoll_ctl(s->ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
            }
        }
    }
    free(buf);
    return NULL;
}

int raw_serve_epoll(const int *lfds, int n)
{
    static struct epoll_server s; /* one per server process, alive until it exits */
    if (n > EPOLL_MAX_LISTENERS || (s.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.fd = lfds[i]};
        if (epoll_ctl(s.ep, EPOLL_CTL_ADD, lfds[i], &e) < 0)
            return -1;
        s.lfds[s.n++] = lfds[i];
    }
    pthread_t t;
    if (pthread_create(&t, NULL, epoll_loop, &s) != 0)
        return -1;
    pthread_detach(t);
    return 0;
}

/* ---- stream clients ---- */

static int stream_roundtrip(struct raw_link *l, char *buf, size_t req, size_t resp)
{
    uint32_t sizes[2] = {(uint32_t)req, (uint32_t)resp};
    memcpy(buf, sizes, 8);
    return write_full(l->fd, buf, req) < 0 || read_full(l->fd, buf, resp) < 0 ? -1 : 0;
}

static void link_init(struct raw_link *l, int fd)
{
    *l = (struct raw_link){.fd = fd, .child = -1, .roundtrip = stream_roundtrip};
}

int raw_connect_unix(const char *path, struct raw_link *l)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    link_init(l, fd);
    return 0;
}

int raw_connect_tcp(uint16_t port, struct raw_link *l)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    nodelay(fd);
    link_init(l, fd);
    return 0;
}

/* ---- forked peers ---- */

/* The child of a forked floor: pinned, gone with its parent, and holding no descriptor but its own, so closing a
 * pcom connection in the parent is seen at once by that connection's server. The parent has threads: the child
 * only makes system calls and copies memory until it _exits. */
static void child_setup(int cpu, int keep_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    bench_pin(cpu);
    if (keep_fd >= 0 && keep_fd != 3) {
        dup2(keep_fd, 3);
        keep_fd = 3;
    }
    syscall(SYS_close_range, keep_fd >= 0 ? 4u : 3u, ~0u, 0u);
}

int raw_spawn_pipe(int cpu, struct raw_link *l)
{
    int sv[2];
    char *buf = malloc(RAW_MAX);
    if (!buf || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        free(buf);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        child_setup(cpu, sv[1]);
        while (echo_one(3, buf) == 0)
            ;
        _exit(0);
    }
    free(buf);
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return -1;
    }
    link_init(l, sv[0]);
    l->child = pid;
    return 0;
}

/* One direction of the shared-memory floor: the writer bumps seq after the bytes are in place, the reader spins
 * briefly on seq and then sleeps on it; waiting tells the writer whether a FUTEX_WAKE is needed at all. */
struct shm_dir {
    _Alignas(64) _Atomic uint32_t seq;
    _Atomic uint32_t waiting;
    uint32_t len; /* 0 tells the child to exit */
};

struct shm_region {
    struct shm_dir to_server, to_client;
    _Alignas(64) char req[RAW_MAX];
    char resp[RAW_MAX];
};

/* Long enough to catch a reply from a peer running on the other CPU, short enough not to steal a shared CPU
 * from that peer for long. */
#define SHM_SPIN 200

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, NULL, NULL, 0);
}

static void shm_post(struct shm_dir *d)
{
    atomic_fetch_add(&d->seq, 1);
    /* seq_cst on both sides: either the reader sees the new seq before sleeping, or this sees its flag */
    if (atomic_exchange(&d->waiting, 0))
        futex(&d->seq, FUTEX_WAKE, 1);
}

static uint32_t shm_wait(struct shm_dir *d, uint32_t last)
{
    for (int i = 0; i < SHM_SPIN; i++) {
        uint32_t s = atomic_load_explicit(&d->seq, memory_order_acquire);
        if (s != last)
            return s;
        cpu_relax();
    }
    for (;;) {
        atomic_store(&d->waiting, 1);
        uint32_t s = atomic_load(&d->seq);
        if (s != last) {
            atomic_store(&d->waiting, 0);
            return s;
        }
        futex(&d->seq, FUTEX_WAIT, last);
    }
}

static int shm_roundtrip(struct raw_link *l, char *buf, size_t req, size_t resp)
{
    struct shm_region *r = l->shm;
    uint32_t sizes[2] = {(uint32_t)req, (uint32_t)resp};
    memcpy(buf, sizes, 8);
    /* one copy each way, as a socket's write and read make */
    memcpy(r->req, buf, req);
    r->to_server.len = (uint32_t)req;
    uint32_t last = atomic_load(&r->to_client.seq);
    shm_post(&r->to_server);
    shm_wait(&r->to_client, last);
    if (r->to_client.len != resp)
        return -1;
    memcpy(buf, r->resp, resp);
    return 0;
}

static void shm_serve(struct shm_region *r, char *buf)
{
    /* the region starts zeroed: reading seq here instead could miss a request posted before this child ran */
    uint32_t seen = 0;
    for (;;) {
        seen = shm_wait(&r->to_server, seen);
        uint32_t sizes[2];
        if (r->to_server.len < 8)
            return;
        memcpy(sizes, r->req, 8);
        if (!sizes_ok(sizes) || sizes[0] != r->to_server.len)
            return;
        memcpy(buf, r->req, sizes[0]);
        memcpy(r->resp, buf, sizes[1]);
        r->to_client.len = sizes[1];
        shm_post(&r->to_client);
    }
}

int raw_spawn_shm(int cpu, struct raw_link *l)
{
    /* anonymous and shared, created before the fork: both processes see the same pages, nothing has a name */
    struct shm_region *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char *buf = malloc(RAW_MAX);
    if (r == MAP_FAILED || !buf) {
        if (r != MAP_FAILED)
            munmap(r, sizeof(*r));
        free(buf);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        child_setup(cpu, -1);
        shm_serve(r, buf);
        _exit(0);
    }
    free(buf);
    if (pid < 0) {
        munmap(r, sizeof(*r));
        return -1;
    }
    *l = (struct raw_link){.fd = -1, .child = pid, .shm = r, .roundtrip = shm_roundtrip};
    return 0;
}

int raw_roundtrip(struct raw_link *l, char *buf, size_t req, size_t resp)
{
    return l->roundtrip(l, buf, req, resp);
}

void raw_close(struct raw_link *l)
{
    if (l->shm) {
        l->shm->to_server.len = 0;
        shm_post(&l->shm->to_server);
    }
    if (l->fd >= 0)
        close(l->fd);
    if (l->child > 0)
        while (waitpid(l->child, NULL, 0) < 0 && errno == EINTR)
            ;
    if (l->shm)
        munmap(l->shm, sizeof(*l->shm));
    *l = (struct raw_link){.fd = -1, .child = -1};
}
