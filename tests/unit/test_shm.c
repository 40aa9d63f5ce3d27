/* test_shm.c: the shm transport through the internal API: rings, rendezvous regions, dead peers, hostile clients, fds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The transport API is internal to libpcom; tests reach it by path rather than widening the library's includes. */
#include "../../runtime/src/transport.h"

#define MiB ((size_t)1 << 20)
#define RING MiB /* what pcomi_connect asks for */

#if defined(__SANITIZE_ADDRESS__)
#define PCOMT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PCOMT_ASAN 1
#endif
#endif
#ifdef PCOMT_ASAN
#define HUGE_MSG (64 * MiB) /* ASan's shadow and quarantine make 2 x 256 MiB too slow and too big */
#else
#define HUGE_MSG (256 * MiB)
#endif

/* The layouts of transport_shm.c, written out again on purpose: a hostile client speaks them by hand, and a change
 * to them is a change of the protocol that should break this test. */
#define RDV_MAGIC 0x48534350u
#define CONN_MAGIC 0x43534350u
struct rdv {
    uint32_t magic;
    uint32_t version;
    uint32_t state;
    int32_t pid;
    uint64_t start_time;
    char sock[96];
};
struct conn_hdr {
    uint32_t magic;
    uint32_t ring_size;
    uint8_t pad[56];
};
struct ring {
    _Atomic uint64_t head;
    _Atomic uint32_t data_seq;
    _Atomic uint32_t consumer_sleeping;
    uint8_t pad0[48];
    _Atomic uint64_t tail;
    _Atomic uint32_t space_seq;
    _Atomic uint32_t producer_sleeping;
    uint8_t pad1[48];
    _Atomic uint32_t closed;
    uint8_t pad2[60];
};
#define CONN_SIZE(r) (sizeof(struct conn_hdr) + 2 * (sizeof(struct ring) + (size_t)(r)))

/* ---- helpers ---- */

/* A name no other test process uses: tests run in parallel under ctest -j. */
static void unique_name(char url[PCOMI_URL_MAX], const char *tag)
{
    static int counter;
    snprintf(url, PCOMI_URL_MAX, "shm:pcomt-%d-%d-%s", (int)getpid(), counter++, tag);
}

static void region_path(const char *url, char path[PCOMI_URL_MAX + 16])
{
    snprintf(path, PCOMI_URL_MAX + 16, "/dev/shm/pcom-%s", url + 4);
}

static void region_name(const char *url, char name[PCOMI_URL_MAX + 16])
{
    snprintf(name, PCOMI_URL_MAX + 16, "/pcom-%s", url + 4);
}

static bool region_exists(const char *url)
{
    char path[PCOMI_URL_MAX + 16];
    region_path(url, path);
    return access(path, F_OK) == 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* fork(), with the child set to die with this process: a test killed half way leaves no peer behind. */
static pid_t fork_child(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
        _exit(99);
    return pid;
}

static void reap_killed(pid_t pid)
{
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void make_pair(const char *url, struct pcomi_listener **l, struct pcomi_conn **client,
                      struct pcomi_conn **server)
{
    assert_int_equal(pcomi_listen(url, l), 0);
    assert_int_equal(pcomi_connect(url, client), 0);
    assert_int_equal(pcomi_listener_accept(*l, server), 0);
}

static void close_pair(struct pcomi_listener *l, struct pcomi_conn *client, struct pcomi_conn *server)
{
    pcomi_conn_close(client);
    pcomi_conn_close(server);
    pcomi_listener_close(l);
}

static struct pcomi_msg_header make_header(uint8_t type, uint32_t call_id, uint16_t method)
{
    struct pcomi_msg_header h = {.type = type, .call_id = call_id, .method = method};
    for (int i = 0; i < 16; i++) {
        h.object_id[i] = (uint8_t)(call_id * 3 + (uint32_t)i);
        h.iid[i] = (uint8_t)(method * 5 + i);
    }
    h.causality[1] = (uint8_t)call_id;
    return h;
}

static void assert_same_header(const struct pcomi_msg_header *got, const struct pcomi_msg_header *want, size_t len)
{
    assert_int_equal(got->type, want->type);
    assert_int_equal(got->call_id, want->call_id);
    assert_int_equal(got->method, want->method);
    assert_int_equal(got->body_len, len);
    assert_memory_equal(got->object_id, want->object_id, 16);
    assert_memory_equal(got->iid, want->iid, 16);
    assert_memory_equal(got->causality, want->causality, 6);
}

/* A pattern made per 8-byte word, so 256 MiB fill and check in a fraction of a second even at -O0; the word index
 * is in it, so a shifted or repeated ring-sized chunk does not pass. */
static uint64_t pattern_word(size_t word, uint32_t seed)
{
    return ((uint64_t)word + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed << 32 | seed);
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    size_t w = 0;
    for (; (w + 1) * 8 <= n; w++) {
        uint64_t v = pattern_word(w, seed);
        memcpy(p + w * 8, &v, 8);
    }
    uint64_t v = pattern_word(w, seed);
    memcpy(p + w * 8, &v, n - w * 8);
}

static bool check_fill(const uint8_t *p, size_t n, uint32_t seed)
{
    size_t w = 0;
    for (; (w + 1) * 8 <= n; w++) {
        uint64_t v = pattern_word(w, seed);
        if (memcmp(p + w * 8, &v, 8) != 0)
            return false;
    }
    uint64_t v = pattern_word(w, seed);
    return memcmp(p + w * 8, &v, n - w * 8) == 0;
}

/* Counts open fds (the directory's own fd is left out). */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
            n++;
    closedir(d);
    return n;
}

/* Every test gets a deadline: a transport bug that hangs fails the test in seconds instead of the ctest timeout. */
static int arm_guard(void **state)
{
    (void)state;
    alarm(30);
    return 0;
}

static int disarm_guard(void **state)
{
    (void)state;
    alarm(0);
    return 0;
}

struct sender {
    struct pcomi_conn *c;
    struct pcomi_msg_header h;
    const uint8_t *body;
    size_t len;
    int count; /* > 0: that many messages of len (i % 301) bytes with call_id i, instead of one */
    int rc;
    double done_at;
    atomic_bool done;
};

static void *send_thread(void *arg)
{
    struct sender *s = arg;
    if (s->count == 0) {
        struct iovec iov = {(void *)s->body, s->len};
        s->rc = pcomi_conn_send(s->c, &s->h, &iov, s->len ? 1 : 0);
    } else {
        uint8_t buf[301];
        for (int i = 0; i < s->count && s->rc == 0; i++) {
            size_t n = (size_t)i % sizeof(buf);
            fill(buf, n, (uint32_t)i);
            struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, (uint32_t)i, (uint16_t)i);
            struct iovec iov = {buf, n};
            s->rc = pcomi_conn_send(s->c, &h, &iov, 1);
        }
    }
    s->done_at = now();
    atomic_store(&s->done, true);
    return NULL;
}

struct receiver {
    struct pcomi_conn *c;
    size_t max_body;
    int rc;
    double done_at;
    atomic_bool done;
};

static void *recv_thread(void *arg)
{
    struct receiver *r = arg;
    struct pcomi_msg_header h;
    void *body = NULL;
    r->rc = pcomi_conn_recv(r->c, &h, &body, r->max_body);
    if (r->rc == 0)
        free(body);
    r->done_at = now();
    atomic_store(&r->done, true);
    return NULL;
}

/* ---- messages ---- */

static void send_one(struct pcomi_conn *c, uint8_t type, uint32_t call_id, const uint8_t *body, size_t len)
{
    struct pcomi_msg_header h = make_header(type, call_id, (uint16_t)(call_id + 1));
    struct iovec iov[2] = {{(void *)body, len / 2}, {(void *)(body + len / 2), len - len / 2}};
    assert_int_equal(pcomi_conn_send(c, &h, iov, len ? 2 : 0), 0);
}

static void recv_one(struct pcomi_conn *c, uint8_t type, uint32_t call_id, size_t len, uint32_t seed)
{
    struct pcomi_msg_header want = make_header(type, call_id, (uint16_t)(call_id + 1)), h;
    void *body = (void *)1;
    assert_int_equal(pcomi_conn_recv(c, &h, &body, len), 0);
    assert_same_header(&h, &want, len);
    if (len == 0) {
        assert_null(body);
    } else {
        assert_true(((uintptr_t)body & 7) == 0);
        assert_true(check_fill(body, len, seed));
    }
    free(body);
}

static void small_messages_both_ways(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "small");
    struct pcomi_listener *l;
    struct pcomi_conn *c, *s;
    make_pair(url, &l, &c, &s);
    assert_string_equal(pcomi_listener_url(l), url);
    static const size_t lens[] = {0, 1, 7, 8, 55, 56, 57, 4096, 65537};
    static uint8_t buf[65537];
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        fill(buf, lens[i], (uint32_t)i);
        send_one(c, PCOMI_MSG_REQUEST, (uint32_t)i, buf, lens[i]);
        recv_one(s, PCOMI_MSG_REQUEST, (uint32_t)i, lens[i], (uint32_t)i);
        fill(buf, lens[i], (uint32_t)i + 100);
        send_one(s, PCOMI_MSG_RESPONSE, (uint32_t)i + 100, buf, lens[i]);
        recv_one(c, PCOMI_MSG_RESPONSE, (uint32_t)i + 100, lens[i], (uint32_t)i + 100);
    }
    /* ONEWAY survives the trip, and a few messages queue up in the ring before anyone reads */
    struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, 7, 7), got;
    h.flags = PCOMI_FLAG_ONEWAY;
    for (int i = 0; i < 3; i++)
        assert_int_equal(pcomi_conn_send(c, &h, NULL, 0), 0);
    for (int i = 0; i < 3; i++) {
        void *body;
        assert_int_equal(pcomi_conn_recv(s, &got, &body, 0), 0);
        assert_int_equal(got.flags, PCOMI_FLAG_ONEWAY);
    }
    char peer[PCOMI_PEER_MAX];
    assert_int_equal(pcomi_conn_peer(s, peer, sizeof(peer)), 0);
    assert_non_null(strstr(peer, url));
    close_pair(l, c, s);
}

static void *echo_thread(void *arg)
{
    struct pcomi_conn *c = arg;
    for (;;) {
        struct pcomi_msg_header h;
        void *body;
        if (pcomi_conn_recv(c, &h, &body, 4096) < 0)
            return NULL;
        struct iovec iov = {body, h.body_len};
        h.type = PCOMI_MSG_RESPONSE;
        int rc = pcomi_conn_send(c, &h, &iov, h.body_len ? 1 : 0);
        free(body);
        if (rc < 0)
            return NULL;
    }
}

/* A long stream (many times the ring, so it wraps and fills over and over), then ping-pong, where each side sleeps
 * on the futex between messages: both lose no message and no wake-up. */
static void many_messages_in_a_row(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "many");
    struct pcomi_listener *l;
    struct pcomi_conn *c, *s;
    make_pair(url, &l, &c, &s);
    enum { N = 60000 }; /* about 9 MiB: nine trips round the ring */
    struct sender snd = {.c = c, .count = N};
    atomic_init(&snd.done, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, send_thread, &snd), 0);
    for (int i = 0; i < N; i++) {
        struct pcomi_msg_header h;
        void *body;
        assert_int_equal(pcomi_conn_recv(s, &h, &body, 300), 0);
        assert_int_equal(h.call_id, (uint32_t)i);
        assert_int_equal(h.body_len, (size_t)i % 301);
        if (h.body_len && !check_fill(body, h.body_len, (uint32_t)i))
            fail_msg("message %d corrupted", i);
        free(body);
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(snd.rc, 0);

    pthread_t echo;
    assert_int_equal(pthread_create(&echo, NULL, echo_thread, s), 0);
    uint8_t buf[200];
    for (uint32_t i = 0; i < 5000; i++) {
        size_t n = i % sizeof(buf);
        fill(buf, n, i);
        struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, i, 1), got;
        struct iovec iov = {buf, n};
        assert_int_equal(pcomi_conn_send(c, &h, &iov, 1), 0);
        void *body;
        assert_int_equal(pcomi_conn_recv(c, &got, &body, sizeof(buf)), 0);
        assert_int_equal(got.type, PCOMI_MSG_RESPONSE);
        assert_int_equal(got.call_id, i);
        assert_int_equal(got.body_len, n);
        assert_true(n == 0 || check_fill(body, n, i));
        free(body);
    }
    pcomi_conn_shutdown(s);
    assert_int_equal(pthread_join(echo, NULL), 0);
    close_pair(l, c, s);
}

/* One message of len bytes from `from` (in a thread: a message larger than the ring needs a reader meanwhile)
 * received and checked on `to`. */
static void big_transfer(struct pcomi_conn *from, struct pcomi_conn *to, size_t len, uint32_t seed)
{
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    fill(buf, len, seed);
    struct sender snd = {.c = from, .h = make_header(PCOMI_MSG_RESPONSE, seed, 9), .body = buf, .len = len};
    atomic_init(&snd.done, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, send_thread, &snd), 0);
    struct pcomi_msg_header h;
    void *body = NULL;
    int rc = pcomi_conn_recv(to, &h, &body, len);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(snd.rc, 0);
    assert_int_equal(rc, 0);
    assert_same_header(&h, &snd.h, len);
    free(buf);
    if (!check_fill(body, len, seed))
        fail_msg("body of %zu bytes corrupted", len);
    free(body);
}

static void messages_around_and_far_beyond_the_ring_size(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "big");
    struct pcomi_listener *l;
    struct pcomi_conn *c, *s;
    make_pair(url, &l, &c, &s);
    big_transfer(c, s, RING - PCOMI_MSG_HEADER_SIZE, 1); /* header and body fill the ring exactly */
    big_transfer(c, s, RING, 2);
    big_transfer(s, c, RING + 1, 3);
    big_transfer(c, s, 5 * RING + 12345, 4);
    big_transfer(c, s, HUGE_MSG, 5);
    /* the rings are still in step after all that */
    uint8_t b[10];
    fill(b, sizeof(b), 6);
    send_one(s, PCOMI_MSG_REQUEST, 6, b, sizeof(b));
    recv_one(c, PCOMI_MSG_REQUEST, 6, sizeof(b), 6);
    close_pair(l, c, s);
}

/* ---- the rendezvous region ---- */

static void listener_owns_its_name_until_closed(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "owner");
    struct pcomi_listener *l, *l2;
    assert_int_equal(pcomi_listen(url, &l), 0);
    assert_true(region_exists(url));
    assert_int_equal(pcomi_listen(url, &l2), -EADDRINUSE);
    assert_true(region_exists(url)); /* the loser did not take it down */
    struct pcomi_conn *c, *s;
    assert_int_equal(pcomi_connect(url, &c), 0);
    assert_int_equal(pcomi_listener_accept(l, &s), 0);
    pcomi_listener_close(l);
    assert_false(region_exists(url));
    /* a connection outlives its listener */
    uint8_t b[3] = {1, 2, 3};
    fill(b, 3, 1);
    send_one(c, PCOMI_MSG_REQUEST, 1, b, 3);
    recv_one(s, PCOMI_MSG_REQUEST, 1, 3, 1);
    pcomi_conn_close(c);
    pcomi_conn_close(s);
    struct pcomi_conn *c2;
    assert_int_equal(pcomi_connect(url, &c2), -ECONNREFUSED);
    /* the same name serves again */
    assert_int_equal(pcomi_listen(url, &l), 0);
    assert_int_equal(pcomi_connect(url, &c), 0);
    assert_int_equal(pcomi_listener_accept(l, &s), 0);
    fill(b, 3, 2);
    send_one(s, PCOMI_MSG_RESPONSE, 2, b, 3);
    recv_one(c, PCOMI_MSG_RESPONSE, 2, 3, 2);
    close_pair(l, c, s);
    assert_false(region_exists(url));
}

static void connect_to_nobody_and_bad_names(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "nobody");
    struct pcomi_conn *c;
    struct pcomi_listener *l;
    assert_int_equal(pcomi_connect(url, &c), -ECONNREFUSED);
    assert_int_equal(pcomi_connect("shm:", &c), -EINVAL);
    assert_int_equal(pcomi_listen("shm:", &l), -EINVAL);
    assert_int_equal(pcomi_listen("shm:a/b", &l), -EINVAL);
    assert_int_equal(pcomi_listen("shm:../x", &l), -EINVAL);
    char longname[PCOMI_URL_MAX];
    snprintf(longname, sizeof(longname), "shm:%0101d", 0);
    assert_int_equal(pcomi_listen(longname, &l), -ENAMETOOLONG);
    assert_int_equal(pcomi_connect(longname, &c), -ENAMETOOLONG);
}

/* Writes /dev/shm/pcom-NAME as a server would have left it: 4096 bytes, `head` at the start. */
static void plant_region(const char *url, const void *head, size_t n, size_t size)
{
    char name[PCOMI_URL_MAX + 16];
    region_name(url, name);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    if (n)
        assert_int_equal(pwrite(fd, head, n, 0), (ssize_t)n);
    close(fd);
}

static pid_t dead_pid(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return pid;
}

/* After a planted region: clients are refused, a listener replaces it, and it serves and is removed as its own. */
static void expect_replaced(const char *url)
{
    struct pcomi_conn *c, *s;
    struct pcomi_listener *l;
    assert_int_equal(pcomi_connect(url, &c), -ECONNREFUSED);
    assert_int_equal(pcomi_listen(url, &l), 0);
    assert_int_equal(pcomi_connect(url, &c), 0);
    assert_int_equal(pcomi_listener_accept(l, &s), 0);
    uint8_t b[5];
    fill(b, 5, 3);
    send_one(c, PCOMI_MSG_REQUEST, 3, b, 5);
    recv_one(s, PCOMI_MSG_REQUEST, 3, 5, 3);
    close_pair(l, c, s);
    assert_false(region_exists(url));
}

static void region_of_dead_server_is_stale(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "stale");
    struct rdv r = {.magic = RDV_MAGIC, .version = 1, .state = 1, .pid = dead_pid()};
    snprintf(r.sock, sizeof(r.sock), "pcom-shm-%d-deadbeefdeadbeef", (int)r.pid);
    plant_region(url, &r, sizeof(r), 4096);
    expect_replaced(url);

    /* a live process that is not the one that made it (its pid was reused): the start time tells them apart */
    unique_name(url, "reused");
    struct rdv q = {.magic = RDV_MAGIC, .version = 1, .state = 1, .pid = (int32_t)getppid(), .start_time = 1};
    snprintf(q.sock, sizeof(q.sock), "pcom-shm-nothing-here");
    plant_region(url, &q, sizeof(q), 4096);
    expect_replaced(url);
}

static void garbage_regions_are_replaced(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    static uint8_t junk[4096];
    unique_name(url, "zeros");
    plant_region(url, NULL, 0, 4096);
    expect_replaced(url);
    unique_name(url, "junk");
    memset(junk, 0xa5, sizeof(junk));
    plant_region(url, junk, sizeof(junk), 4096);
    expect_replaced(url);
    unique_name(url, "empty");
    plant_region(url, NULL, 0, 0);
    expect_replaced(url);
    unique_name(url, "short");
    struct rdv r = {.magic = RDV_MAGIC, .version = 1, .state = 1, .pid = (int32_t)getpid()};
    plant_region(url, &r, 8, 8);
    expect_replaced(url);
    /* right magic, ready, a live server, but a version from elsewhere: a client must not speak to it */
    unique_name(url, "version");
    struct rdv v = {.magic = RDV_MAGIC, .version = 2, .state = 1, .pid = dead_pid()};
    plant_region(url, &v, sizeof(v), 4096);
    expect_replaced(url);
}

/* Servers racing for one name: exactly one gets it, whoever comes second (even mid-way through the first's
 * setting up) sees it taken. */
static void racing_listeners_one_wins(void **state)
{
    (void)state;
    enum { ROUNDS = 100, RACERS = 4 };
    for (int round = 0; round < ROUNDS; round++) {
        char url[PCOMI_URL_MAX];
        unique_name(url, "race");
        int go[2], res[2], rel[2];
        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        assert_int_equal(pipe2(res, O_CLOEXEC), 0);
        assert_int_equal(pipe2(rel, O_CLOEXEC), 0);
        pid_t pids[RACERS];
        for (int i = 0; i < RACERS; i++) {
            pids[i] = fork_child();
            if (pids[i] == 0) {
                close(go[1]);
                close(rel[1]);
                char ch;
                if (read(go[0], &ch, 1) != 0)
                    _exit(2);
                struct pcomi_listener *l = NULL;
                int rc = pcomi_listen(url, &l);
                char r = rc == 0 ? 'W' : rc == -EADDRINUSE ? 'L' : 'E';
                if (write(res[1], &r, 1) != 1)
                    _exit(3);
                if (read(rel[0], &ch, 1) != 0) /* everybody holds on to what they got until all have tried */
                    _exit(4);
                pcomi_listener_close(l);
                _exit(0);
            }
        }
        close(go[0]);
        close(res[1]);
        close(rel[0]);
        close(go[1]); /* the starting gun: every child's read returns at once */
        int won = 0, lost = 0;
        for (int i = 0; i < RACERS; i++) {
            char r;
            assert_int_equal(read(res[0], &r, 1), 1);
            won += r == 'W';
            lost += r == 'L';
        }
        close(rel[1]);
        close(res[0]);
        for (int i = 0; i < RACERS; i++) {
            int status;
            assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        if (won != 1 || lost != RACERS - 1) {
            char name[PCOMI_URL_MAX + 16];
            region_name(url, name);
            shm_unlink(name);
            fail_msg("round %d: %d of %d listeners on one name succeeded (%d refused)", round, won, RACERS, lost);
        }
        assert_false(region_exists(url));
    }
}

/* ---- peers that die ---- */

/* A child that connects to url, says so on the pipe, and waits to be killed. */
static pid_t connecting_child(const char *url, bool read_forever)
{
    int ready[2];
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    pid_t pid = fork_child();
    if (pid == 0) {
        close(ready[0]);
        struct pcomi_conn *c;
        if (pcomi_connect(url, &c) != 0 || write(ready[1], "r", 1) != 1)
            _exit(1);
        for (;;) {
            if (!read_forever) {
                pause();
                continue;
            }
            struct pcomi_msg_header h;
            void *body;
            if (pcomi_conn_recv(c, &h, &body, 1 << 20) == 0)
                free(body);
        }
    }
    close(ready[1]);
    char ch;
    assert_int_equal(read(ready[0], &ch, 1), 1);
    close(ready[0]);
    return pid;
}

static void killed_client_fails_blocked_recv_and_send(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "killc");
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen(url, &l), 0);
    pid_t pid = connecting_child(url, false);
    struct pcomi_conn *s;
    assert_int_equal(pcomi_listener_accept(l, &s), 0);
    struct receiver r = {.c = s, .max_body = 100};
    atomic_init(&r.done, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, recv_thread, &r), 0);
    sleep_ms(150); /* long enough to be past the spin and asleep on the futex */
    assert_false(atomic_load(&r.done));
    double killed = now();
    kill(pid, SIGKILL);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(r.rc < 0);
    assert_true(r.rc == -ECONNRESET || r.rc == -EPIPE);
    assert_true(r.done_at - killed < 1.0);
    reap_killed(pid);
    struct pcomi_msg_header h = make_header(PCOMI_MSG_PING, 1, 0);
    void *body;
    assert_int_equal(pcomi_conn_recv(s, &h, &body, 100), r.rc); /* sticky */
    assert_int_equal(pcomi_conn_send(s, &h, NULL, 0), -EPIPE);
    pcomi_conn_close(s);
    pcomi_listener_close(l);
}

static void killed_server_fails_later_recv_and_leaves_stale_region(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "kills");
    int ready[2];
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    pid_t pid = fork_child();
    if (pid == 0) {
        close(ready[0]);
        struct pcomi_listener *l;
        struct pcomi_conn *s;
        if (pcomi_listen(url, &l) != 0 || write(ready[1], "l", 1) != 1 || pcomi_listener_accept(l, &s) != 0)
            _exit(1);
        uint8_t b[4] = {1, 2, 3, 4};
        struct pcomi_msg_header h = make_header(PCOMI_MSG_RESPONSE, 1, 1);
        struct iovec iov = {b, 4};
        if (pcomi_conn_send(s, &h, &iov, 1) != 0 || write(ready[1], "a", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(ready[1]);
    char ch;
    assert_int_equal(read(ready[0], &ch, 1), 1);
    struct pcomi_conn *c;
    assert_int_equal(pcomi_connect(url, &c), 0);
    assert_int_equal(read(ready[0], &ch, 1), 1);
    close(ready[0]);
    kill(pid, SIGKILL);
    reap_killed(pid);
    double t0 = now();
    /* what was sent before the death is still delivered; then the end */
    struct pcomi_msg_header h;
    void *body;
    assert_int_equal(pcomi_conn_recv(c, &h, &body, 100), 0);
    assert_int_equal(h.body_len, 4);
    free(body);
    int rc = pcomi_conn_recv(c, &h, &body, 100);
    assert_true(rc == -ECONNRESET || rc == -EPIPE);
    assert_true(now() - t0 < 1.0);
    assert_int_equal(pcomi_conn_send(c, &h, NULL, 0), -EPIPE);
    pcomi_conn_close(c);
    /* the killed server could not remove its region: it is stale now */
    assert_true(region_exists(url));
    expect_replaced(url);
}

/* A peer that lives but never reads: the ring fills, and the send timeout turns the wait into an error. */
static void send_to_peer_that_never_reads_times_out(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "noread");
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen(url, &l), 0);
    pid_t pid = connecting_child(url, false);
    struct pcomi_conn *s;
    assert_int_equal(pcomi_listener_accept(l, &s), 0);
    assert_int_equal(pcomi_conn_set_send_timeout(s, 200), 0);
    static uint8_t chunk[64 * 1024];
    struct iovec iov = {chunk, sizeof(chunk)};
    struct pcomi_msg_header h = make_header(PCOMI_MSG_RESPONSE, 1, 1);
    double t0 = now();
    int rc = 0, sent = 0;
    while (rc == 0 && now() - t0 < 10.0) {
        rc = pcomi_conn_send(s, &h, &iov, 1);
        sent += rc == 0;
    }
    double failed = now();
    assert_true(rc == -ETIMEDOUT || rc == -EPIPE);
    assert_true(failed - t0 < 3.0);
    assert_true(sent >= 10); /* about 1 MiB went into the ring before it filled */
    assert_int_equal(pcomi_conn_send(s, &h, &iov, 1), -EPIPE);
    assert_true(now() - failed < 0.1);
    kill(pid, SIGKILL);
    reap_killed(pid);
    pcomi_conn_close(s);
    pcomi_listener_close(l);
}

/* A sender blocked on a full ring with no timeout at all is freed by the peer's death. */
static void killed_peer_fails_blocked_send(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "blocked");
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen(url, &l), 0);
    pid_t pid = connecting_child(url, false);
    struct pcomi_conn *s;
    assert_int_equal(pcomi_listener_accept(l, &s), 0);
    size_t len = 4 * RING;
    uint8_t *buf = calloc(1, len);
    assert_non_null(buf);
    struct sender snd = {.c = s, .h = make_header(PCOMI_MSG_RESPONSE, 1, 1), .body = buf, .len = len};
    atomic_init(&snd.done, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, send_thread, &snd), 0);
    sleep_ms(200);
    assert_false(atomic_load(&snd.done));
    double killed = now();
    kill(pid, SIGKILL);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(snd.rc, -EPIPE);
    assert_true(snd.done_at - killed < 1.0);
    reap_killed(pid);
    free(buf);
    pcomi_conn_close(s);
    pcomi_listener_close(l);
}

/* ---- shutdown ---- */

static void shutdown_wakes_blocked_recv_and_send(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "shut");
    struct pcomi_listener *l;
    struct pcomi_conn *c, *s;
    make_pair(url, &l, &c, &s);
    struct receiver r = {.c = s, .max_body = 100};
    atomic_init(&r.done, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, recv_thread, &r), 0);
    sleep_ms(150);
    assert_false(atomic_load(&r.done)); /* blocked, as nothing was sent */
    double t0 = now();
    pcomi_conn_shutdown(s);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.rc, -ECANCELED);
    assert_true(r.done_at - t0 < 0.5);
    pcomi_conn_shutdown(s); /* repeatable */
    struct pcomi_msg_header h = make_header(PCOMI_MSG_PING, 1, 0);
    void *body;
    assert_int_equal(pcomi_conn_send(s, &h, NULL, 0), -EPIPE);
    assert_int_equal(pcomi_conn_recv(s, &h, &body, 100), -ECANCELED);
    /* the other end learns of it too */
    int rc = pcomi_conn_recv(c, &h, &body, 100);
    assert_true(rc == -EPIPE || rc == -ECONNRESET);
    close_pair(l, c, s);

    /* a sender stuck on a full ring nobody drains */
    unique_name(url, "shutsend");
    make_pair(url, &l, &c, &s);
    size_t len = 3 * RING;
    uint8_t *buf = calloc(1, len);
    assert_non_null(buf);
    struct sender snd = {.c = c, .h = make_header(PCOMI_MSG_REQUEST, 1, 1), .body = buf, .len = len};
    atomic_init(&snd.done, false);
    assert_int_equal(pthread_create(&t, NULL, send_thread, &snd), 0);
    sleep_ms(150);
    assert_false(atomic_load(&snd.done));
    t0 = now();
    pcomi_conn_shutdown(c);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(snd.rc, -EPIPE);
    assert_true(snd.done_at - t0 < 0.5);
    free(buf);
    close_pair(l, c, s);
}

/* transport.h: -EPIPE when the peer closed cleanly between two messages, as the stream transports say. */
static void clean_close_between_messages_is_epipe(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "clean");
    struct pcomi_listener *l;
    struct pcomi_conn *c, *s;
    make_pair(url, &l, &c, &s);
    uint8_t b[20];
    for (uint32_t i = 0; i < 3; i++) {
        fill(b, sizeof(b), i);
        send_one(c, PCOMI_MSG_REQUEST, i, b, sizeof(b));
    }
    pcomi_conn_close(c);
    for (uint32_t i = 0; i < 3; i++)
        recv_one(s, PCOMI_MSG_REQUEST, i, sizeof(b), i);
    struct pcomi_msg_header h;
    void *body;
    int rc = pcomi_conn_recv(s, &h, &body, 100);
    pcomi_conn_close(s);
    pcomi_listener_close(l);
    assert_int_equal(rc, -EPIPE);
}

/* ---- hostile clients ---- */

/* The address of the setup socket the region names. */
static void setup_sockaddr(const char *url, struct sockaddr_un *sa, socklen_t *len)
{
    char name[PCOMI_URL_MAX + 16];
    region_name(url, name);
    int rfd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
    assert_true(rfd >= 0);
    struct rdv r;
    assert_int_equal(pread(rfd, &r, sizeof(r), 0), (ssize_t)sizeof(r));
    close(rfd);
    assert_int_equal(r.magic, RDV_MAGIC);
    assert_int_equal(r.state, 1);
    assert_int_equal(r.pid, getpid());
    r.sock[sizeof(r.sock) - 1] = 0;
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    size_t n = strlen(r.sock);
    memcpy(sa->sun_path + 1, r.sock, n);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* Connects to the setup socket the region names, as a client would. */
static int raw_setup_socket(const char *url)
{
    struct sockaddr_un sa;
    socklen_t len;
    setup_sockaddr(url, &sa, &len);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, len), 0);
    return fd;
}

static int make_memfd(size_t size, unsigned flags, int seals)
{
    int fd = memfd_create("pcomt-hostile", MFD_CLOEXEC | flags);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    if (seals)
        assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
    return fd;
}

/* The handshake, with whatever the test wants in it: nbytes of the header, and nfds copies of fd (none if fd < 0). */
static void send_handshake(int sock, uint32_t magic, uint32_t ring_size, int fd, int nfds, size_t nbytes)
{
    struct conn_hdr h = {.magic = magic, .ring_size = ring_size};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(4 * sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct iovec iov = {&h, nbytes};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0 && nfds > 0) {
        int fds[4] = {fd, fd, fd, fd};
        msg.msg_control = ctl.buf;
        msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
    }
    assert_int_equal(sendmsg(sock, &msg, MSG_NOSIGNAL), (ssize_t)nbytes);
}

struct bad_handshake {
    const char *what;
    uint32_t magic, ring_size;
    size_t memfd_size; /* 0: no fd at all */
    unsigned memfd_flags;
    int seals;
    size_t nbytes;
};

#define SEALED (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
#define GOOD_FLAGS MFD_ALLOW_SEALING

static const struct bad_handshake bad_handshakes[] = {
    {"no fd", CONN_MAGIC, 4096, 0, 0, 0, 64},
    {"short header", CONN_MAGIC, 4096, CONN_SIZE(4096), GOOD_FLAGS, SEALED, 10},
    {"unsealed memfd", CONN_MAGIC, 4096, CONN_SIZE(4096), GOOD_FLAGS, 0, 64},
    {"memfd that cannot be sealed", CONN_MAGIC, 4096, CONN_SIZE(4096), 0, 0, 64},
    {"sealed against shrinking only", CONN_MAGIC, 4096, CONN_SIZE(4096), GOOD_FLAGS, F_SEAL_SHRINK | F_SEAL_SEAL, 64},
    {"sealed against growing only", CONN_MAGIC, 4096, CONN_SIZE(4096), GOOD_FLAGS, F_SEAL_GROW | F_SEAL_SEAL, 64},
    {"write-sealed memfd", CONN_MAGIC, 4096, CONN_SIZE(4096), GOOD_FLAGS, SEALED | F_SEAL_WRITE, 64},
    {"memfd a page short", CONN_MAGIC, 4096, CONN_SIZE(4096) - 4096, GOOD_FLAGS, SEALED, 64},
    {"memfd a page long", CONN_MAGIC, 4096, CONN_SIZE(4096) + 4096, GOOD_FLAGS, SEALED, 64},
    {"memfd one byte short", CONN_MAGIC, 4096, CONN_SIZE(4096) - 1, GOOD_FLAGS, SEALED, 64},
    {"ring_size larger than the memfd holds", CONN_MAGIC, 8192, CONN_SIZE(4096), GOOD_FLAGS, SEALED, 64},
    {"ring_size 0", CONN_MAGIC, 0, CONN_SIZE(0), GOOD_FLAGS, SEALED, 64},
    {"ring_size not a power of two", CONN_MAGIC, 3 * 4096, CONN_SIZE(3 * 4096), GOOD_FLAGS, SEALED, 64},
    {"ring_size 1 MiB + 1", CONN_MAGIC, (1u << 20) + 1, CONN_SIZE((1u << 20) + 1), GOOD_FLAGS, SEALED, 64},
    {"ring_size below a page", CONN_MAGIC, 2048, CONN_SIZE(2048), GOOD_FLAGS, SEALED, 64},
    {"ring_size 1 GiB", CONN_MAGIC, 1u << 30, CONN_SIZE(1u << 30), GOOD_FLAGS, SEALED, 64},
    {"ring_size 2 GiB", CONN_MAGIC, 1u << 31, CONN_SIZE(1u << 31), GOOD_FLAGS, SEALED, 64},
    {"ring_size 4 GiB - 1", CONN_MAGIC, UINT32_MAX, 4096, GOOD_FLAGS, SEALED, 64},
    {"wrong magic", RDV_MAGIC, 4096, CONN_SIZE(4096), GOOD_FLAGS, SEALED, 64},
    {"zero magic", 0, 4096, CONN_SIZE(4096), GOOD_FLAGS, SEALED, 64},
};

/* Each bad handshake costs its own connection and nothing else: no crash, no fd kept, and the listener goes on. */
static void bad_handshakes_are_refused(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "badhs");
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen(url, &l), 0);
    int fds0 = count_fds();
    for (size_t i = 0; i < sizeof(bad_handshakes) / sizeof(bad_handshakes[0]); i++) {
        const struct bad_handshake *b = &bad_handshakes[i];
        int sock = raw_setup_socket(url);
        int mfd = b->memfd_size ? make_memfd(b->memfd_size, b->memfd_flags, b->seals) : -1;
        send_handshake(sock, b->magic, b->ring_size, mfd, 1, b->nbytes);
        if (mfd >= 0)
            close(mfd);
        struct pcomi_conn *s = NULL;
        double t0 = now();
        int rc = pcomi_listener_accept(l, &s);
        if (rc == 0) {
            pcomi_conn_close(s);
            fail_msg("accepted a client with %s", b->what);
        }
        if (now() - t0 > 1.0)
            fail_msg("%s: took %.1f s to refuse", b->what, now() - t0);
        /* the refusal is seen by the client as the end of its socket */
        char ch;
        if (recv(sock, &ch, 1, 0) != 0)
            fail_msg("%s: the setup socket was not closed", b->what);
        close(sock);
        if (count_fds() != fds0)
            fail_msg("%s: %d fds open after refusing, %d before", b->what, count_fds(), fds0);
    }
    /* and a real client is still served */
    struct pcomi_conn *c, *s;
    assert_int_equal(pcomi_connect(url, &c), 0);
    assert_int_equal(pcomi_listener_accept(l, &s), 0);
    uint8_t b[8];
    fill(b, 8, 9);
    send_one(c, PCOMI_MSG_REQUEST, 9, b, 8);
    recv_one(s, PCOMI_MSG_REQUEST, 9, 8, 9);
    close_pair(l, c, s);
}

/* Another user who finds the setup socket (its name is in /proc/net/unix) and hands over a good memfd is refused
 * before anything is read: the listener says -EACCES and goes on, the client sees its socket end. Needs root, to
 * become another user. */
static void another_user_is_refused(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        skip();
        return;
    }
    char url[PCOMI_URL_MAX];
    unique_name(url, "otheruser");
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen(url, &l), 0);
    struct sockaddr_un sa;
    socklen_t salen;
    setup_sockaddr(url, &sa, &salen); /* what the other user reads in /proc/net/unix */
    pid_t child = fork_child();
    if (child == 0) {
        /* no cmocka here: a failed assert would go on running the parent's tests in this process */
        if (setgid(65534) < 0 || setuid(65534) < 0)
            _exit(2);
        int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sock < 0 || connect(sock, (struct sockaddr *)&sa, salen) < 0)
            _exit(3);
        int mfd = memfd_create("pcomt-other", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (mfd < 0 || ftruncate(mfd, (off_t)CONN_SIZE(4096)) < 0 ||
            fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
            _exit(4);
        struct conn_hdr h = {.magic = CONN_MAGIC, .ring_size = 4096};
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        memset(&ctl, 0, sizeof(ctl));
        struct iovec iov = {&h, sizeof(h)};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &mfd, sizeof(int));
        /* the server may have closed already: the send may fail, the end of the socket must come */
        (void)sendmsg(sock, &msg, MSG_NOSIGNAL);
        char ch;
        _exit(recv(sock, &ch, 1, 0) <= 0 ? 0 : 5);
    }
    struct pcomi_conn *s = NULL;
    int rc = pcomi_listener_accept(l, &s);
    if (rc == 0)
        pcomi_conn_close(s);
    assert_int_equal(rc, -EACCES);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* and the server's own user is still served */
    struct pcomi_conn *c;
    assert_int_equal(pcomi_connect(url, &c), 0);
    assert_int_equal(pcomi_listener_accept(l, &s), 0);
    close_pair(l, c, s);
}

/* A client may hand over more than one fd; the listener must keep none of them. */
static void handshake_with_two_fds_is_refused_and_keeps_neither(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "twofds");
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen(url, &l), 0);
    for (int nfds = 2; nfds <= 3; nfds++) {
        int fds0 = count_fds();
        int sock = raw_setup_socket(url);
        int mfd = make_memfd(CONN_SIZE(4096), GOOD_FLAGS, SEALED);
        send_handshake(sock, CONN_MAGIC, 4096, mfd, nfds, sizeof(struct conn_hdr));
        close(mfd);
        struct pcomi_conn *s = NULL;
        int rc = pcomi_listener_accept(l, &s);
        if (rc == 0)
            pcomi_conn_close(s);
        close(sock);
        int fds1 = count_fds();
        if (fds1 != fds0 || rc == 0) {
            pcomi_listener_close(l);
            fail_msg("%d fds in one handshake: accept said %d, %d fds open after, %d before", nfds, rc, fds1, fds0);
        }
    }
    pcomi_listener_close(l);
}

/* Only a sealed memfd is safe to map: any other file can be truncated by the client later, and the server's next
 * access to the mapping then dies of SIGBUS. A plain file on disk has no seals at all. */
static void handshake_with_plain_file_is_refused(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "plainfile");
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen(url, &l), 0);
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof(path), "%s/pcomt-shm-XXXXXX", dir && *dir ? dir : "/tmp");
    int ffd = mkostemp(path, O_CLOEXEC);
    assert_true(ffd >= 0);
    unlink(path);
    assert_int_equal(ftruncate(ffd, (off_t)CONN_SIZE(4096)), 0);
    int sock = raw_setup_socket(url);
    send_handshake(sock, CONN_MAGIC, 4096, ffd, 1, sizeof(struct conn_hdr));
    struct pcomi_conn *s = NULL;
    int rc = pcomi_listener_accept(l, &s);
    if (rc == 0)
        pcomi_conn_close(s); /* before the client could truncate the file under it */
    close(ffd);
    close(sock);
    pcomi_listener_close(l);
    assert_true(rc < 0);
}

/* A client that connects and says nothing holds the accepting thread only until the handshake timeout. */
static void silent_client_times_out_and_listener_goes_on(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "silent");
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen(url, &l), 0);
    int sock = raw_setup_socket(url);
    struct pcomi_conn *s = NULL, *c;
    double t0 = now();
    int rc = pcomi_listener_accept(l, &s);
    double waited = now() - t0;
    assert_true(rc < 0);
    assert_true(rc != -ECANCELED); /* that would say the listener is finished */
    assert_true(waited >= 0.5);
    assert_true(waited < 5.0);
    close(sock);
    assert_int_equal(pcomi_connect(url, &c), 0);
    assert_int_equal(pcomi_listener_accept(l, &s), 0);
    close_pair(l, c, s);
}

/* A hand-made client that did the handshake right: its socket and its own mapping of the rings. */
struct hand_client {
    int sock;
    uint8_t *map;
    size_t len;
    uint32_t size;
    struct ring *up, *down; /* client -> server, server -> client */
    uint8_t *up_data;
    struct pcomi_conn *s; /* the server's end */
};

static void hand_connect(struct pcomi_listener *l, const char *url, uint32_t ring_size, struct hand_client *hc)
{
    hc->size = ring_size;
    hc->len = CONN_SIZE(ring_size);
    int mfd = make_memfd(hc->len, GOOD_FLAGS, SEALED);
    hc->map = mmap(NULL, hc->len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    assert_true(hc->map != MAP_FAILED);
    hc->up = (struct ring *)(hc->map + sizeof(struct conn_hdr));
    hc->up_data = (uint8_t *)(hc->up + 1);
    hc->down = (struct ring *)(hc->up_data + ring_size);
    hc->sock = raw_setup_socket(url);
    send_handshake(hc->sock, CONN_MAGIC, ring_size, mfd, 1, sizeof(struct conn_hdr));
    close(mfd);
    assert_int_equal(pcomi_listener_accept(l, &hc->s), 0);
}

static void hand_close(struct hand_client *hc)
{
    pcomi_conn_close(hc->s);
    close(hc->sock);
    munmap(hc->map, hc->len);
}

static void hand_wake(struct ring *r)
{
    atomic_fetch_add(&r->data_seq, 1);
    syscall(SYS_futex, (uint32_t *)&r->data_seq, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/* Puts bytes in the client -> server ring the way the transport does. */
static void hand_write(struct hand_client *hc, const void *p, size_t n)
{
    uint64_t head = atomic_load(&hc->up->head);
    for (size_t i = 0; i < n; i++)
        hc->up_data[(head + i) & (hc->size - 1)] = ((const uint8_t *)p)[i];
    atomic_store(&hc->up->head, head + n);
    hand_wake(hc->up);
}

static void hand_write_header(struct hand_client *hc, uint32_t call_id, uint32_t body_len)
{
    struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, call_id, 1);
    uint8_t raw[PCOMI_MSG_HEADER_SIZE];
    pcomi_msg_encode_header(&h, body_len, raw);
    hand_write(hc, raw, sizeof(raw));
}

/* After a protocol error the server's end is broken for good: the same error again, and sends fail. */
static void expect_broken(struct hand_client *hc, int err, size_t max_body)
{
    struct pcomi_msg_header h;
    void *body = NULL;
    assert_int_equal(pcomi_conn_recv(hc->s, &h, &body, max_body), err);
    assert_int_equal(pcomi_conn_recv(hc->s, &h, &body, max_body), err);
    h = make_header(PCOMI_MSG_RESPONSE, 1, 1);
    if (err == -EPROTO)
        assert_int_equal(pcomi_conn_send(hc->s, &h, NULL, 0), -EPIPE);
}

static void hostile_peer_corrupting_the_rings(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_name(url, "corrupt");
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen(url, &l), 0);
    struct hand_client hc;
    const uint32_t R = 4096;

    /* first, that the hand-made client is right: a message through a small ring, wrapping round it */
    hand_connect(l, url, R, &hc);
    uint8_t body[3000];
    for (uint32_t i = 0; i < 5; i++) {
        fill(body, sizeof(body), i);
        hand_write_header(&hc, i, sizeof(body));
        hand_write(&hc, body, sizeof(body));
        struct pcomi_msg_header h;
        void *got;
        assert_int_equal(pcomi_conn_recv(hc.s, &h, &got, sizeof(body)), 0);
        assert_int_equal(h.call_id, i);
        assert_int_equal(h.body_len, sizeof(body));
        assert_true(check_fill(got, sizeof(body), i));
        free(got);
    }
    hand_close(&hc);

    /* head more than a ring ahead of tail */
    hand_connect(l, url, R, &hc);
    atomic_store(&hc.up->head, (uint64_t)R + 1);
    expect_broken(&hc, -EPROTO, 1 << 20);
    hand_close(&hc);

    /* head far ahead, tail at 0: a reader trusting the difference would copy 4 GiB */
    hand_connect(l, url, R, &hc);
    atomic_store(&hc.up->head, (uint64_t)1 << 32);
    expect_broken(&hc, -EPROTO, 1 << 20);
    hand_close(&hc);

    /* head behind tail (the peer can write the reader's tail too) */
    hand_connect(l, url, R, &hc);
    atomic_store(&hc.up->tail, 100);
    atomic_store(&hc.up->head, 40);
    expect_broken(&hc, -EPROTO, 1 << 20);
    hand_close(&hc);

    /* bytes that are no header */
    hand_connect(l, url, R, &hc);
    uint8_t junk[PCOMI_MSG_HEADER_SIZE];
    memset(junk, 0x5a, sizeof(junk));
    hand_write(&hc, junk, sizeof(junk));
    expect_broken(&hc, -EPROTO, 1 << 20);
    hand_close(&hc);

    /* a body over max_body is refused from its header, before anything is allocated */
    hand_connect(l, url, R, &hc);
    hand_write_header(&hc, 1, 1001);
    expect_broken(&hc, -EMSGSIZE, 1000);
    hand_close(&hc);
    hand_connect(l, url, R, &hc);
    hand_write_header(&hc, 1, UINT32_MAX);
    expect_broken(&hc, -EMSGSIZE, 1 << 20);
    hand_close(&hc);

    /* corruption while the server sleeps on the empty ring wakes it with the error */
    hand_connect(l, url, R, &hc);
    struct receiver r = {.c = hc.s, .max_body = 1 << 20};
    atomic_init(&r.done, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, recv_thread, &r), 0);
    sleep_ms(150);
    assert_false(atomic_load(&r.done));
    double t0 = now();
    atomic_store(&hc.up->head, (uint64_t)5 * R);
    hand_wake(hc.up);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.rc, -EPROTO);
    assert_true(r.done_at - t0 < 1.0);
    hand_close(&hc);

    /* corruption mid-body: a header promised 3000 bytes, then head jumps */
    hand_connect(l, url, R, &hc);
    hand_write_header(&hc, 1, 3000);
    hand_write(&hc, body, 100);
    atomic_store(&hc.up->head, atomic_load(&hc.up->head) + 2 * R);
    expect_broken(&hc, -EPROTO, 1 << 20);
    hand_close(&hc);

    /* the server's outgoing ring: a tail ahead of its head must fail the send, not wrap into a huge free space */
    hand_connect(l, url, R, &hc);
    atomic_store(&hc.down->tail, (uint64_t)3 * R);
    struct pcomi_msg_header h = make_header(PCOMI_MSG_RESPONSE, 1, 1);
    uint8_t out[100] = {0};
    struct iovec iov = {out, sizeof(out)};
    int rc = pcomi_conn_send(hc.s, &h, &iov, 1);
    assert_true(rc < 0);
    assert_int_equal(pcomi_conn_send(hc.s, &h, &iov, 1), -EPIPE);
    hand_close(&hc);

    /* a peer that writes a header promising a big body, some of it, and vanishes */
    hand_connect(l, url, R, &hc);
    hand_write_header(&hc, 1, 64u << 20);
    hand_write(&hc, body, 1000);
    close(hc.sock);
    hc.sock = -1;
    void *got;
    rc = pcomi_conn_recv(hc.s, &h, &got, 64u << 20);
    assert_true(rc == -ECONNRESET || rc == -EPIPE);
    hand_close(&hc);

    /* none of it hurt the listener */
    struct pcomi_conn *c, *s;
    assert_int_equal(pcomi_connect(url, &c), 0);
    assert_int_equal(pcomi_listener_accept(l, &s), 0);
    close_pair(l, c, s);
}

/* ---- file descriptors ---- */

static void fds_are_cloexec_and_none_leak(void **state)
{
    (void)state;
    int n_before = count_fds();
    static bool before[1024];
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && atoi(e->d_name) < 1024)
            before[atoi(e->d_name)] = true;
    closedir(d);
    char url[PCOMI_URL_MAX];
    unique_name(url, "fds");
    struct pcomi_listener *l, *bad;
    struct pcomi_conn *c, *s, *badc;
    make_pair(url, &l, &c, &s);
    d = opendir("/proc/self/fd");
    assert_non_null(d);
    while ((e = readdir(d))) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd == dirfd(d) || (fd < 1024 && before[fd]))
            continue;
        int flags = fcntl(fd, F_GETFD);
        if (flags < 0 || !(flags & FD_CLOEXEC))
            fail_msg("fd %d is not close-on-exec", fd);
    }
    closedir(d);
    uint8_t b[100];
    fill(b, sizeof(b), 1);
    send_one(c, PCOMI_MSG_REQUEST, 1, b, sizeof(b));
    recv_one(s, PCOMI_MSG_REQUEST, 1, sizeof(b), 1);
    assert_int_equal(pcomi_listen(url, &bad), -EADDRINUSE);
    int sock = raw_setup_socket(url);
    int mfd = make_memfd(CONN_SIZE(4096), GOOD_FLAGS, 0);
    send_handshake(sock, CONN_MAGIC, 4096, mfd, 1, sizeof(struct conn_hdr));
    close(mfd);
    assert_true(pcomi_listener_accept(l, &badc) < 0);
    close(sock);
    pcomi_conn_shutdown(s);
    close_pair(l, c, s);
    assert_int_equal(pcomi_connect(url, &badc), -ECONNREFUSED);
    struct rdv r = {.magic = RDV_MAGIC, .version = 1, .state = 1, .pid = dead_pid()};
    plant_region(url, &r, sizeof(r), 4096);
    assert_int_equal(pcomi_connect(url, &badc), -ECONNREFUSED);
    expect_replaced(url);
    assert_int_equal(count_fds(), n_before);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* a SIGPIPE from the transport would kill the test: it must never raise one */
#define T(f) cmocka_unit_test_setup_teardown(f, arm_guard, disarm_guard)
    const struct CMUnitTest tests[] = {
        T(small_messages_both_ways),
        T(many_messages_in_a_row),
        T(messages_around_and_far_beyond_the_ring_size),
        T(listener_owns_its_name_until_closed),
        T(connect_to_nobody_and_bad_names),
        T(region_of_dead_server_is_stale),
        T(garbage_regions_are_replaced),
        T(racing_listeners_one_wins),
        T(killed_client_fails_blocked_recv_and_send),
        T(killed_server_fails_later_recv_and_leaves_stale_region),
        T(send_to_peer_that_never_reads_times_out),
        T(killed_peer_fails_blocked_send),
        T(shutdown_wakes_blocked_recv_and_send),
        T(clean_close_between_messages_is_epipe),
        T(bad_handshakes_are_refused),
        T(another_user_is_refused),
        T(handshake_with_two_fds_is_refused_and_keeps_neither),
        T(handshake_with_plain_file_is_refused),
        T(silent_client_times_out_and_listener_goes_on),
        T(hostile_peer_corrupting_the_rings),
        T(fds_are_cloexec_and_none_leak),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
