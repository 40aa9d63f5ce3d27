/* test_transport.c: unix and tcp transports over real sockets and processes: URLs, framing, hostile peers, fds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The transport API is internal to libpcom; tests reach it by path rather than widening the library's includes. */
#include "../../runtime/src/transport.h"

#define MiB (1024 * 1024)

/* ---- helpers ---- */

/* A name no other test process uses: tests run in parallel under ctest -j. */
static void unique_url(char *buf, size_t n, const char *prefix, const char *tag)
{
    static int counter;
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir || strlen(dir) > 40)
        dir = "/tmp";
    if (strcmp(prefix, "unix:/") == 0)
        snprintf(buf, n, "unix:%s/pcomt-%d-%d-%s.sock", dir, (int)getpid(), counter++, tag);
    else
        snprintf(buf, n, "unix:@pcomt-%d-%d-%s", (int)getpid(), counter++, tag);
}

static const char *url_path(const char *url)
{
    return url + strlen("unix:");
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

/* fork(), with the child set to die with this process: a test killed half way leaves no server behind. */
static pid_t fork_child(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0 && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
        _exit(99);
    return pid;
}

/* listen, connect, accept: a connected pair in this process. */
static void make_pair(const char *url, struct pcomi_listener **l, struct pcomi_conn **client,
                      struct pcomi_conn **server)
{
    assert_int_equal(pcomi_listen(url, l), 0);
    assert_int_equal(pcomi_connect(pcomi_listener_url(*l), client), 0);
    assert_int_equal(pcomi_listener_accept(*l, server), 0);
}

static void close_pair(struct pcomi_listener *l, struct pcomi_conn *client, struct pcomi_conn *server)
{
    pcomi_conn_close(client);
    pcomi_conn_close(server);
    pcomi_listener_close(l);
}

/* A plain socket connected to a unix URL, for writing bytes the transport would never send. -1 on failure; no
 * cmocka, so forked children can use it. */
static int raw_connect_fd(const char *url)
{
    struct sockaddr_un sa;
    socklen_t len;
    if (pcomi_unix_parse(url, &sa, &len) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, len) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static int raw_connect(const char *url)
{
    int fd = raw_connect_fd(url);
    assert_true(fd >= 0);
    return fd;
}

static void write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        c += w;
        n -= (size_t)w;
    }
}

static struct pcomi_msg_header make_header(uint8_t type, uint32_t call_id, uint16_t method)
{
    struct pcomi_msg_header h = {.type = type, .call_id = call_id, .method = method};
    for (int i = 0; i < 16; i++) {
        h.object_id[i] = (uint8_t)(call_id * 3 + (uint32_t)i);
        h.iid[i] = (uint8_t)(method * 5 + i);
    }
    return h;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 37 + i * 11 + (i >> 8));
}

static bool check_fill(const uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(seed * 37 + i * 11 + (i >> 8)))
            return false;
    return true;
}

/* Every test gets a deadline: a transport bug that hangs fails the test in seconds instead of the ctest timeout. */
static int arm_guard(void **state)
{
    (void)state;
    alarm(60);
    return 0;
}

static int disarm_guard(void **state)
{
    (void)state;
    alarm(0);
    return 0;
}

/* ---- the header codec ---- */

static void header_encodes_little_endian_wire_layout(void **state)
{
    (void)state;
    struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, 0x11223344u, 0x0506);
    h.magic = 0xdeadbeef; /* ignored: the encoder writes the constants */
    h.version = 9;
    h.causality[2] = 7;
    uint8_t b[PCOMI_MSG_HEADER_SIZE];
    pcomi_msg_encode_header(&h, 0xa1b2c3d4u, b);
    assert_memory_equal(b, "PCOM", 4);
    assert_int_equal(b[4], 1);
    assert_int_equal(b[5], PCOMI_MSG_REQUEST);
    assert_int_equal(b[6] | b[7], 0);
    static const uint8_t call_id[4] = {0x44, 0x33, 0x22, 0x11}, body_len[4] = {0xd4, 0xc3, 0xb2, 0xa1};
    assert_memory_equal(b + 8, call_id, 4);
    assert_memory_equal(b + 12, body_len, 4);
    assert_int_equal(b[16], 0x06);
    assert_int_equal(b[17], 0x05);
    static const uint8_t causality[6] = {0, 0, 7, 0, 0, 0};
    assert_memory_equal(b + 18, causality, 6);
    assert_memory_equal(b + 24, h.object_id, 16);
    assert_memory_equal(b + 40, h.iid, 16);

    struct pcomi_msg_header d;
    assert_int_equal(pcomi_msg_decode_header(b, &d, UINT32_MAX), 0);
    assert_int_equal(d.magic, PCOMI_MSG_MAGIC);
    assert_int_equal(d.version, PCOMI_WIRE_VERSION);
    assert_int_equal(d.type, PCOMI_MSG_REQUEST);
    assert_int_equal(d.call_id, 0x11223344u);
    assert_int_equal(d.body_len, 0xa1b2c3d4u);
    assert_int_equal(d.method, 0x0506);
    assert_memory_equal(d.object_id, h.object_id, 16);
    assert_memory_equal(d.iid, h.iid, 16);
    assert_memory_equal(d.causality, causality, 6);
    /* one-way is a REQUEST's flag only */
    b[6] = PCOMI_FLAG_ONEWAY;
    assert_int_equal(pcomi_msg_decode_header(b, &d, UINT32_MAX), 0);
    assert_int_equal(d.flags, PCOMI_FLAG_ONEWAY);
    b[5] = PCOMI_MSG_RESPONSE;
    assert_int_equal(pcomi_msg_decode_header(b, &d, UINT32_MAX), -EPROTO);
}

static void header_decode_rejects_each_bad_field(void **state)
{
    (void)state;
    struct pcomi_msg_header h = make_header(PCOMI_MSG_PONG, 1, 0), d, untouched;
    uint8_t good[PCOMI_MSG_HEADER_SIZE], b[PCOMI_MSG_HEADER_SIZE];
    pcomi_msg_encode_header(&h, 100, good);
    static const struct {
        int offset;
        uint8_t value;
        int rc;
    } cases[] = {
        {0, 'X', -EPROTO},           {3, 0, -EPROTO},  {4, 0, -EPROTONOSUPPORT}, {4, 2, -EPROTONOSUPPORT},
        {5, 0, -EPROTO},             {5, 8, -EPROTO},  {5, 0xff, -EPROTO},       {6, 1, -EPROTO},
        {6, 2, -EPROTO},             {7, 0x80, -EPROTO},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(b, good, sizeof(b));
        b[cases[i].offset] = cases[i].value;
        memset(&d, 0x5a, sizeof(d));
        untouched = d;
        assert_int_equal(pcomi_msg_decode_header(b, &d, 1000), cases[i].rc);
        assert_memory_equal(&d, &untouched, sizeof(d)); /* out-parameter written only on success */
    }
    assert_int_equal(pcomi_msg_decode_header(good, &d, 100), 0);
    assert_int_equal(pcomi_msg_decode_header(good, &d, 99), -EMSGSIZE);
    for (uint8_t t = PCOMI_MSG_REQUEST; t <= PCOMI_MSG_HELLO; t++) {
        memcpy(b, good, sizeof(b));
        b[5] = t;
        assert_int_equal(pcomi_msg_decode_header(b, &d, 100), 0);
        assert_int_equal(d.type, t);
    }
}

/* ---- URLs ---- */

static void urls_that_parse(void **state)
{
    (void)state;
    char host[PCOMI_TCP_HOST_MAX];
    uint16_t port;
    static const struct {
        const char *url, *host;
        uint16_t port;
    } tcp[] = {
        {"tcp://127.0.0.1:7000", "127.0.0.1", 7000},
        {"tcp://[::1]:7000", "::1", 7000},
        {"tcp://localhost:0", "localhost", 0},
        {"tcp://[fe80::1%eth0]:65535", "fe80::1%eth0", 65535},
        {"tcp://[::ffff:10.0.0.1]:1", "::ffff:10.0.0.1", 1},
        {"TCP://build-host.example_1.com:00080", "build-host.example_1.com", 80},
    };
    for (size_t i = 0; i < sizeof(tcp) / sizeof(tcp[0]); i++) {
        assert_int_equal(pcomi_tcp_parse(tcp[i].url, host, &port), 0);
        assert_string_equal(host, tcp[i].host);
        assert_int_equal(port, tcp[i].port);
    }

    struct sockaddr_un sa;
    socklen_t len;
    const socklen_t base = (socklen_t)offsetof(struct sockaddr_un, sun_path);
    assert_int_equal(pcomi_unix_parse("unix:/tmp/x.sock", &sa, &len), 0);
    assert_int_equal(sa.sun_family, AF_UNIX);
    assert_string_equal(sa.sun_path, "/tmp/x.sock");
    assert_int_equal(len, base + 12);
    assert_int_equal(pcomi_unix_parse("unix:@abc", &sa, &len), 0);
    assert_int_equal(sa.sun_path[0], '\0');
    assert_memory_equal(sa.sun_path + 1, "abc", 3);
    assert_int_equal(len, base + 4);

    /* The longest names that fit sun_path (108 bytes): a 107-byte path plus NUL, a NUL plus a 107-byte name. */
    char url[200];
    snprintf(url, sizeof(url), "unix:/%0106d", 0);
    assert_int_equal(pcomi_unix_parse(url, &sa, &len), 0);
    assert_int_equal(len, base + 108);
    snprintf(url, sizeof(url), "unix:@%0107d", 0);
    assert_int_equal(pcomi_unix_parse(url, &sa, &len), 0);
    assert_int_equal(len, base + 108);
}

static void urls_that_are_refused(void **state)
{
    (void)state;
    char long_path[200], long_abstract[200], long_host[400];
    snprintf(long_path, sizeof(long_path), "unix:/%0107d", 0);
    snprintf(long_abstract, sizeof(long_abstract), "unix:@%0108d", 0);
    snprintf(long_host, sizeof(long_host), "tcp://%0300d:80", 0);
    static const struct {
        const char *url;
        int rc;
    } fixed[] = {
        {"", -EINVAL},
        {"tcp", -EINVAL},
        {"://x:1", -EINVAL},
        {"1tcp://x:1", -EINVAL},
        {"t cp://x:1", -EINVAL},
        {"foo://x:1", -EPROTONOSUPPORT},
        {"http://localhost:80", -EPROTONOSUPPORT},
        {"tcp:", -EINVAL},
        {"tcp:/host:80", -EINVAL},
        {"tcp://", -EINVAL},
        {"tcp://:7000", -EINVAL},
        {"tcp://[]:7000", -EINVAL},
        {"tcp://host", -EINVAL},
        {"tcp://host:", -EINVAL},
        {"tcp://host:65536", -EINVAL},
        {"tcp://host:99999999", -EINVAL},
        {"tcp://host:-1", -EINVAL},
        {"tcp://host:+80", -EINVAL},
        {"tcp://host: 80", -EINVAL},
        {"tcp://host:80/", -EINVAL},
        {"tcp://host:80x", -EINVAL},
        {"tcp://ho st:80", -EINVAL},
        {"tcp://user@host:80", -EINVAL},
        {"tcp://::1:80", -EINVAL},
        {"tcp://[::1:80", -EINVAL},
        {"tcp://[::1]80", -EINVAL},
        {"tcp://[::1]", -EINVAL},
        {"tcp://[zz]:80", -EINVAL},
        {"tcp://[::1%]:80", -EINVAL},
        {"tcp://[1:2:3]:80", -EINVAL}, /* the right characters, but no IPv6 address: the resolver says so */
        {"unix:", -EINVAL},
        {"unix:@", -EINVAL},
        {"unix:relative.sock", -EINVAL},
        {"unix://host/x.sock", -EINVAL},
    };
    struct {
        const char *url;
        int rc;
    } cases[sizeof(fixed) / sizeof(fixed[0]) + 3];
    size_t n = 0;
    for (; n < sizeof(fixed) / sizeof(fixed[0]); n++) {
        cases[n].url = fixed[n].url;
        cases[n].rc = fixed[n].rc;
    }
    cases[n].url = long_path, cases[n++].rc = -ENAMETOOLONG;
    cases[n].url = long_abstract, cases[n++].rc = -ENAMETOOLONG;
    cases[n].url = long_host, cases[n++].rc = -ENAMETOOLONG;

    for (size_t i = 0; i < n; i++) {
        struct pcomi_listener *l = (struct pcomi_listener *)&l;
        struct pcomi_conn *c = (struct pcomi_conn *)&c;
        int rl = pcomi_listen(cases[i].url, &l), rconn = pcomi_connect(cases[i].url, &c);
        if (rl != cases[i].rc || rconn != cases[i].rc)
            fail_msg("%s: listen %d, connect %d, expected %d", cases[i].url, rl, rconn, cases[i].rc);
        assert_ptr_equal(l, (struct pcomi_listener *)&l); /* untouched on failure */
        assert_ptr_equal(c, (struct pcomi_conn *)&c);
    }
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen(NULL, &l), -EINVAL);
    assert_int_equal(pcomi_connect(NULL, (struct pcomi_conn **)&l), -EINVAL);
}

/* ---- exchanges with a child process ---- */

#define ECHO_MAX MiB

/* The child: echoes every message back as a RESPONSE; answers a message over ECHO_MAX with a FAULT carrying the
 * error, then waits for the parent's word on `bye` before closing. Exit status 0 when all went as expected. Uses no
 * cmocka: an assertion in a forked child would unwind into the parent's test runner. */
static void echo_child(const char *url, int bye)
{
    struct pcomi_conn *c;
    int status = 0;
    if (pcomi_connect(url, &c) < 0)
        _exit(2);
    for (;;) {
        struct pcomi_msg_header h;
        void *body;
        int rc = pcomi_conn_recv(c, &h, &body, ECHO_MAX);
        if (rc == -EPIPE)
            break;
        if (rc == -EMSGSIZE) {
            int32_t err = rc;
            struct pcomi_msg_header f = make_header(PCOMI_MSG_FAULT, 0, 0);
            struct iovec iov = {&err, sizeof(err)};
            if (pcomi_conn_send(c, &f, &iov, 1) < 0)
                status = 4;
            char ch;
            if (read(bye, &ch, 1) != 1)
                status = 5;
            break;
        }
        if (rc < 0) {
            status = 3;
            break;
        }
        if (((uintptr_t)body & 7) != 0 || (h.body_len == 0) != (body == NULL))
            status = 6;
        h.type = PCOMI_MSG_RESPONSE;
        struct iovec iov = {body, h.body_len};
        rc = pcomi_conn_send(c, &h, &iov, body ? 1 : 0);
        free(body);
        if (rc < 0) {
            status = 7;
            break;
        }
    }
    pcomi_conn_close(c);
    _exit(status);
}

struct sender {
    struct pcomi_conn *c;
    struct pcomi_msg_header h;
    const struct iovec *iov;
    int niov;
    int rc;
};

static void *send_thread(void *arg)
{
    struct sender *s = arg;
    s->rc = pcomi_conn_send(s->c, &s->h, s->iov, s->niov);
    return NULL;
}

/* Sends body (as `pieces` iovecs) and checks that the echo matches in every field and byte. */
static void echo_roundtrip(struct pcomi_conn *c, uint32_t call_id, const uint8_t *body, size_t len, int pieces)
{
    struct iovec iov[3];
    size_t at = 0;
    for (int i = 0; i < pieces; i++) {
        size_t part = i == pieces - 1 ? len - at : len / (size_t)pieces;
        iov[i] = (struct iovec){(void *)(body + at), part};
        at += part;
    }
    struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, call_id, (uint16_t)(3 + call_id)), r;
    assert_int_equal(pcomi_conn_send(c, &h, iov, pieces), 0);
    void *got;
    assert_int_equal(pcomi_conn_recv(c, &r, &got, 2 * ECHO_MAX), 0);
    assert_int_equal(r.type, PCOMI_MSG_RESPONSE);
    assert_int_equal(r.call_id, call_id);
    assert_int_equal(r.method, h.method);
    assert_int_equal(r.flags, 0);
    assert_int_equal(r.body_len, len);
    assert_memory_equal(r.object_id, h.object_id, 16);
    assert_memory_equal(r.iid, h.iid, 16);
    if (len == 0) {
        assert_null(got);
    } else {
        assert_non_null(got);
        assert_int_equal((uintptr_t)got & 7, 0);
        assert_memory_equal(got, body, len);
    }
    free(got);
}

/* Listens on url, forks an echo client that connects to the listener's URL (or connect_url), and exchanges bodies of
 * 0, 1, 1 MiB (the child's maximum, as one and as three iovecs) and 1 MiB + 1 bytes, which the child rejects. */
static void exchange_with_child(const char *url, const char *connect_url)
{
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen(url, &l), 0);
    const char *lurl = pcomi_listener_url(l);
    char target[PCOMI_URL_MAX];
    snprintf(target, sizeof(target), "%s", connect_url ? connect_url : lurl);

    int pipefd[2];
    assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
    pid_t pid = fork_child();
    if (pid == 0) {
        close(pipefd[1]);
        echo_child(target, pipefd[0]);
    }
    close(pipefd[0]);

    struct pcomi_conn *c;
    assert_int_equal(pcomi_listener_accept(l, &c), 0);
    char peer[PCOMI_PEER_MAX];
    assert_int_equal(pcomi_conn_peer(c, peer, sizeof(peer)), 0);
    if (strncmp(url, "unix:", 5) == 0) {
        char want[64];
        snprintf(want, sizeof(want), " pid %d ", (int)pid);
        if (!strstr(peer, want) || strncmp(peer, lurl, strlen(lurl)) != 0)
            fail_msg("peer '%s' does not name the listener and pid %d", peer, (int)pid);
    } else {
        assert_true(strncmp(peer, "tcp://", 6) == 0);
    }

    uint8_t *big = malloc(ECHO_MAX + 1);
    assert_non_null(big);
    fill(big, ECHO_MAX + 1, 1);
    echo_roundtrip(c, 1, big, 0, 0);
    echo_roundtrip(c, 2, big, 1, 1);
    echo_roundtrip(c, 3, big, 1000, 3);
    echo_roundtrip(c, 4, big, ECHO_MAX, 1);
    echo_roundtrip(c, 5, big, ECHO_MAX, 3);

    /* Too long for the child. It may stop reading after the header, so send from a thread. */
    struct iovec iov = {big, ECHO_MAX + 1};
    struct sender s = {.c = c, .h = make_header(PCOMI_MSG_REQUEST, 6, 3), .iov = &iov, .niov = 1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, send_thread, &s), 0);
    struct pcomi_msg_header r;
    void *got;
    assert_int_equal(pcomi_conn_recv(c, &r, &got, 64), 0);
    assert_int_equal(r.type, PCOMI_MSG_FAULT);
    assert_int_equal(r.body_len, 4);
    int32_t err;
    memcpy(&err, got, 4);
    free(got);
    assert_int_equal(err, -EMSGSIZE);
    assert_int_equal(write(pipefd[1], "x", 1), 1);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    /* The child closed with most of the body unread: the send completed into buffers or saw the peer go. */
    if (s.rc != 0 && s.rc != -EPIPE && s.rc != -ECONNRESET)
        fail_msg("oversized send returned %d", s.rc);

    close(pipefd[1]);
    free(big);
    pcomi_conn_close(c);
    pcomi_listener_close(l);
}

static void exchange_unix_path(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_url(url, sizeof(url), "unix:/", "exchange");
    exchange_with_child(url, NULL);
    struct stat st;
    assert_int_equal(lstat(url_path(url), &st), -1); /* close removed the socket file */
}

static void exchange_unix_abstract(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_url(url, sizeof(url), "unix:@", "exchange");
    exchange_with_child(url, NULL);
}

static void exchange_tcp_ipv4(void **state)
{
    (void)state;
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen("tcp://127.0.0.1:0", &l), 0);
    const char *u = pcomi_listener_url(l);
    assert_true(strncmp(u, "tcp://127.0.0.1:", 16) == 0);
    assert_int_not_equal(atoi(u + 16), 0); /* the real port, not 0 */
    pcomi_listener_close(l);

    /* A wildcard listener reports an address a local client can connect to. */
    assert_int_equal(pcomi_listen("tcp://0.0.0.0:0", &l), 0);
    u = pcomi_listener_url(l);
    assert_true(strncmp(u, "tcp://127.0.0.1:", 16) == 0);
    struct pcomi_conn *c, *s;
    assert_int_equal(pcomi_connect(u, &c), 0);
    assert_int_equal(pcomi_listener_accept(l, &s), 0);
    close_pair(l, c, s);

    exchange_with_child("tcp://127.0.0.1:0", NULL);
}

static void exchange_tcp_ipv6(void **state)
{
    (void)state;
    struct pcomi_listener *l;
    int rc = pcomi_listen("tcp://[::1]:0", &l);
    if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT) {
        print_message("no ::1 on this machine (%s): IPv6 skipped\n", strerror(-rc));
        skip();
    }
    assert_int_equal(rc, 0);
    const char *u = pcomi_listener_url(l);
    assert_true(strncmp(u, "tcp://[::1]:", 12) == 0);
    assert_int_not_equal(atoi(u + 12), 0);
    pcomi_listener_close(l);

    exchange_with_child("tcp://[::1]:0", NULL);
}

/* A host name: "localhost" resolves (through /etc/hosts) and connect tries its addresses in turn. */
static void exchange_tcp_by_name(void **state)
{
    (void)state;
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen("tcp://127.0.0.1:0", &l), 0);
    char url[PCOMI_URL_MAX];
    snprintf(url, sizeof(url), "tcp://localhost:%s", strrchr(pcomi_listener_url(l), ':') + 1);
    struct pcomi_conn *c, *s;
    assert_int_equal(pcomi_connect(url, &c), 0);
    assert_int_equal(pcomi_listener_accept(l, &s), 0);
    char peer[8];
    assert_int_equal(pcomi_conn_peer(s, peer, sizeof(peer)), -ENOSPC); /* truncated, still a string */
    assert_string_equal(peer, "tcp://1");
    struct pcomi_msg_header h = make_header(PCOMI_MSG_PING, 77, 0), r;
    assert_int_equal(pcomi_conn_send(c, &h, NULL, 0), 0);
    void *body;
    assert_int_equal(pcomi_conn_recv(s, &r, &body, 0), 0);
    assert_int_equal(r.type, PCOMI_MSG_PING);
    assert_int_equal(r.call_id, 77);
    assert_null(body);
    close_pair(l, c, s);
}

/* ---- sending ---- */

static void send_rejects_bad_arguments_and_sends_nothing(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_url(url, sizeof(url), "unix:@", "sendargs");
    struct pcomi_listener *l;
    struct pcomi_conn *c, *s;
    make_pair(url, &l, &c, &s);
    uint8_t byte = 1;
    struct pcomi_msg_header h = make_header(0, 1, 0);
    assert_int_equal(pcomi_conn_send(c, &h, NULL, 0), -EINVAL);
    h.type = PCOMI_MSG_HELLO + 1;
    assert_int_equal(pcomi_conn_send(c, &h, NULL, 0), -EINVAL);
    h.type = PCOMI_MSG_REQUEST;
    h.flags = 2;
    assert_int_equal(pcomi_conn_send(c, &h, NULL, 0), -EINVAL);
    h.type = PCOMI_MSG_RESPONSE;
    h.flags = PCOMI_FLAG_ONEWAY;
    assert_int_equal(pcomi_conn_send(c, &h, NULL, 0), -EINVAL);
    h.type = PCOMI_MSG_REQUEST;
    h.flags = 0;
    assert_int_equal(pcomi_conn_send(c, &h, NULL, -1), -EINVAL);
    assert_int_equal(pcomi_conn_send(c, &h, NULL, 1), -EINVAL);
    /* 4 GiB: never touched, the length is checked first. */
    struct iovec huge[2] = {{&byte, UINT32_MAX}, {&byte, 1}};
    assert_int_equal(pcomi_conn_send(c, &h, huge, 2), -EMSGSIZE);

    /* None of those put a byte on the wire: the next message is the first to arrive. */
    struct iovec one = {&byte, 1};
    h.call_id = 42;
    assert_int_equal(pcomi_conn_send(c, &h, &one, 1), 0);
    struct pcomi_msg_header r;
    void *body;
    assert_int_equal(pcomi_conn_recv(s, &r, &body, 10), 0);
    assert_int_equal(r.call_id, 42);
    assert_int_equal(r.body_len, 1);
    free(body);
    close_pair(l, c, s);
}

/* More iovecs than one sendmsg takes, empty ones among them, arrive as one body in order. */
static void send_gathers_many_iovecs(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_url(url, sizeof(url), "unix:@", "iovecs");
    struct pcomi_listener *l;
    struct pcomi_conn *c, *s;
    make_pair(url, &l, &c, &s);
    enum { N = 300 };
    static uint8_t data[N * 64];
    fill(data, sizeof(data), 9);
    struct iovec iov[N];
    size_t at = 0;
    for (int i = 0; i < N; i++) {
        size_t len = (size_t)(i % 5 == 0 ? 0 : i % 64);
        iov[i] = (struct iovec){data + at, len};
        at += len;
    }
    struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, 5, 3), r;
    assert_int_equal(pcomi_conn_send(c, &h, iov, N), 0);
    void *body;
    assert_int_equal(pcomi_conn_recv(s, &r, &body, sizeof(data)), 0);
    assert_int_equal(r.body_len, at);
    assert_memory_equal(body, data, at);
    free(body);
    close_pair(l, c, s);
}

/* A body taken in parts, as a receiver placing it piece by piece does: the bytes come in order, the next message
 * follows, a part longer than what is left is refused without harm, and a header asked for before the body was
 * taken in full is a protocol error for good. */
static void body_in_parts_at(const char *url)
{
    struct pcomi_listener *l;
    struct pcomi_conn *c, *s;
    make_pair(url, &l, &c, &s);
    enum { LEN = 300000 };
    static uint8_t data[LEN], got[LEN];
    fill(data, sizeof(data), 21);
    struct iovec iov = {data, LEN};
    struct sender snd = {c, make_header(PCOMI_MSG_RESPONSE, 1, 0), &iov, 1, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, send_thread, &snd), 0);
    struct pcomi_msg_header r;
    assert_int_equal(pcomi_conn_recv_head(s, &r, LEN), 0);
    assert_int_equal(r.body_len, LEN);
    static const size_t parts[] = {1, 7, 8, 16384, 65536, 100000};
    size_t at = 0;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        assert_int_equal(pcomi_conn_recv_body(s, got + at, parts[i]), 0);
        at += parts[i];
    }
    assert_int_equal(pcomi_conn_recv_body(s, got + at, LEN - at + 1), -EINVAL);
    assert_int_equal(pcomi_conn_recv_body(s, got + at, LEN - at), 0);
    assert_memory_equal(got, data, LEN);
    pthread_join(th, NULL);
    assert_int_equal(snd.rc, 0);

    /* the next message is whole; then one whose body is left unread */
    struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, 2, 5);
    struct iovec small = {data, 100};
    assert_int_equal(pcomi_conn_send(c, &h, &small, 1), 0);
    assert_int_equal(pcomi_conn_send(c, &h, &small, 1), 0);
    void *body;
    assert_int_equal(pcomi_conn_recv(s, &r, &body, LEN), 0);
    assert_int_equal(r.call_id, 2);
    assert_memory_equal(body, data, 100);
    free(body);
    assert_int_equal(pcomi_conn_recv_head(s, &r, LEN), 0);
    assert_int_equal(pcomi_conn_recv_body(s, got, 10), 0);
    assert_int_equal(pcomi_conn_recv_head(s, &r, LEN), -EPROTO);
    assert_int_equal(pcomi_conn_recv(s, &r, &body, LEN), -EPROTO);
    close_pair(l, c, s);
}

static void body_in_parts(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_url(url, sizeof(url), "unix:@", "parts");
    body_in_parts_at(url);
    snprintf(url, sizeof(url), "shm:pcomt-%d-parts", (int)getpid());
    body_in_parts_at(url);
}

struct late_sender {
    struct pcomi_conn *c;
    int delay_ms;
    size_t len;
    int rc;
};

static void *late_send(void *arg)
{
    struct late_sender *l = arg;
    sleep_ms(l->delay_ms);
    static uint8_t data[200000];
    fill(data, sizeof(data), 5);
    struct iovec iov = {data, l->len};
    struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, 9, 1);
    l->rc = pcomi_conn_send(l->c, &h, &iov, 1);
    return NULL;
}

/* A stream gives up a receive after the quick wait (its socket's timeout), so waiting briefly costs one system
 * call: nothing comes, 0; something came, 1 and the message intact. A receive that must block outlasts that
 * timeout: a message that comes 100 ms later, or a body that stalls half way, is still received whole. */
static void quick_wait_and_long_receive(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_url(url, sizeof(url), "unix:@", "quick");
    struct pcomi_listener *l;
    struct pcomi_conn *c, *s;
    make_pair(url, &l, &c, &s);
    double t0 = now();
    assert_int_equal(pcomi_conn_wait_readable(s, PCOMI_QUICK_WAIT_US), 0);
    assert_true(now() - t0 < 0.5);
    struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, 4, 2), r;
    struct iovec small = {"hello", 5};
    assert_int_equal(pcomi_conn_send(c, &h, &small, 1), 0);
    assert_int_equal(pcomi_conn_wait_readable(s, PCOMI_QUICK_WAIT_US), 1);
    void *body;
    assert_int_equal(pcomi_conn_recv(s, &r, &body, 1000), 0);
    assert_int_equal(r.call_id, 4);
    assert_memory_equal(body, "hello", 5);
    free(body);

    static const size_t lens[] = {10, 200000}; /* within the read-ahead buffer, and straight into the body */
    for (size_t i = 0; i < 2; i++) {
        struct late_sender ls = {c, 100, lens[i], -1};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, late_send, &ls), 0);
        t0 = now();
        assert_int_equal(pcomi_conn_recv(s, &r, &body, 1 << 20), 0);
        assert_true(now() - t0 >= 0.05);
        assert_int_equal(r.call_id, 9);
        assert_int_equal(r.body_len, lens[i]);
        free(body);
        pthread_join(th, NULL);
        assert_int_equal(ls.rc, 0);
    }
    close_pair(l, c, s);
}

enum { SENDERS = 8, PER_SENDER = 100 };

static size_t sender_len(uint32_t t, uint32_t seq)
{
    /* Mostly small, every tenth larger than a socket buffer so that sends are split and would interleave. */
    return seq % 10 == 0 ? 150000 + t * 1000 : (t * 131 + seq * 17) % 2000;
}

struct many {
    struct pcomi_conn *c;
    uint32_t t;
    int rc;
};

static void *many_sender(void *arg)
{
    struct many *m = arg;
    uint8_t *buf = malloc(sender_len(m->t, 0) + 1);
    if (!buf) {
        m->rc = -ENOMEM;
        return NULL;
    }
    for (uint32_t seq = 0; seq < PER_SENDER && m->rc == 0; seq++) {
        size_t len = sender_len(m->t, seq);
        fill(buf, len, m->t << 16 | seq);
        struct iovec iov[2] = {{buf, len / 3}, {buf + len / 3, len - len / 3}};
        struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, m->t << 16 | seq, (uint16_t)m->t);
        m->rc = pcomi_conn_send(m->c, &h, iov, 2);
    }
    free(buf);
    return NULL;
}

static void eight_threads_send_whole_messages(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_url(url, sizeof(url), "unix:@", "threads");
    struct pcomi_listener *l;
    struct pcomi_conn *c, *s;
    make_pair(url, &l, &c, &s);
    struct many m[SENDERS];
    pthread_t th[SENDERS];
    for (uint32_t t = 0; t < SENDERS; t++) {
        m[t] = (struct many){.c = c, .t = t};
        assert_int_equal(pthread_create(&th[t], NULL, many_sender, &m[t]), 0);
    }
    uint32_t next[SENDERS] = {0};
    for (int i = 0; i < SENDERS * PER_SENDER; i++) {
        struct pcomi_msg_header h;
        void *body;
        int rc = pcomi_conn_recv(s, &h, &body, MiB);
        if (rc != 0)
            fail_msg("message %d: recv %d", i, rc);
        uint32_t t = h.call_id >> 16, seq = h.call_id & 0xffff;
        assert_true(t < SENDERS);
        assert_int_equal(h.method, t);
        assert_int_equal(seq, next[t]); /* each thread's messages in its order */
        next[t]++;
        assert_int_equal(h.body_len, sender_len(t, seq));
        if (!check_fill(body, h.body_len, h.call_id))
            fail_msg("message %u/%u: body bytes interleaved or corrupted", t, seq);
        free(body);
    }
    for (int t = 0; t < SENDERS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        assert_int_equal(m[t].rc, 0);
        assert_int_equal(next[t], PER_SENDER);
    }
    close_pair(l, c, s);
}

/* ---- hostile bytes ---- */

/* A server-side connection and a raw client socket on a fresh listener. */
static void raw_pair(struct pcomi_listener **l, int *raw, struct pcomi_conn **s)
{
    char url[PCOMI_URL_MAX];
    unique_url(url, sizeof(url), "unix:@", "raw");
    assert_int_equal(pcomi_listen(url, l), 0);
    *raw = raw_connect(url);
    assert_int_equal(pcomi_listener_accept(*l, s), 0);
}

/* Writes bytes, optionally closes, and checks the error recv gives: promptly (the guard alarm catches a hang), and
 * again on a second call, since the stream is off a message boundary for good. */
static void expect_recv_error(const void *bytes, size_t n, bool close_after, int expected)
{
    struct pcomi_listener *l;
    struct pcomi_conn *s;
    int raw;
    raw_pair(&l, &raw, &s);
    if (n > 0)
        write_all(raw, bytes, n);
    if (close_after)
        close(raw);
    struct pcomi_msg_header h;
    void *body = (void *)&body;
    int rc = pcomi_conn_recv(s, &h, &body, 1000);
    if (rc != expected)
        fail_msg("recv after %zu bytes%s: %d, expected %d", n, close_after ? " and close" : "", rc, expected);
    assert_ptr_equal(body, (void *)&body);
    assert_int_equal(pcomi_conn_recv(s, &h, &body, 1000), expected);
    if (!close_after)
        close(raw);
    pcomi_conn_close(s);
    pcomi_listener_close(l);
}

static void malformed_headers_are_protocol_errors(void **state)
{
    (void)state;
    uint8_t garbage[100];
    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (uint8_t)(i * 151 + 7);
    expect_recv_error(garbage, sizeof(garbage), false, -EPROTO);

    struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, 1, 3);
    uint8_t good[PCOMI_MSG_HEADER_SIZE], b[PCOMI_MSG_HEADER_SIZE];
    pcomi_msg_encode_header(&h, 0, good);
    static const struct {
        int offset;
        uint8_t value;
        int rc;
    } cases[] = {
        {1, 'X', -EPROTO},            /* bad magic */
        {4, 2, -EPROTONOSUPPORT},     /* bad version */
        {5, 0, -EPROTO}, {5, 9, -EPROTO}, /* bad type */
        {6, 4, -EPROTO},              /* unknown flag */
        {6, 2, -EPROTO},              /* another unknown flag */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(b, good, sizeof(b));
        b[cases[i].offset] = cases[i].value;
        expect_recv_error(b, sizeof(b), false, cases[i].rc);
    }
}

static void truncated_messages_are_resets(void **state)
{
    (void)state;
    struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, 1, 3);
    uint8_t msg[PCOMI_MSG_HEADER_SIZE + 100];
    pcomi_msg_encode_header(&h, 100, msg);
    fill(msg + PCOMI_MSG_HEADER_SIZE, 100, 3);
    expect_recv_error(msg, 20, true, -ECONNRESET);                         /* a truncated header */
    expect_recv_error(msg, PCOMI_MSG_HEADER_SIZE, true, -ECONNRESET);      /* a header and no body */
    expect_recv_error(msg, PCOMI_MSG_HEADER_SIZE + 40, true, -ECONNRESET); /* a short body */
    expect_recv_error(msg, 0, true, -EPIPE);                               /* a clean close */
}

/* The length is judged from the header alone: recv does not wait for a body it will refuse. */
static void oversized_body_refused_before_it_is_read(void **state)
{
    (void)state;
    struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, 1, 3);
    uint8_t b[PCOMI_MSG_HEADER_SIZE];
    pcomi_msg_encode_header(&h, 1001, b);
    expect_recv_error(b, sizeof(b), false, -EMSGSIZE);
    pcomi_msg_encode_header(&h, UINT32_MAX, b);
    expect_recv_error(b, sizeof(b), false, -EMSGSIZE);
}

/* Messages then a clean close: each whole message arrives, then -EPIPE. One write, so recv sees several at once. */
static void back_to_back_messages_then_clean_close(void **state)
{
    (void)state;
    struct pcomi_listener *l;
    struct pcomi_conn *s;
    int raw;
    raw_pair(&l, &raw, &s);
    static uint8_t stream[3 * PCOMI_MSG_HEADER_SIZE + 5 + 20000];
    size_t at = 0;
    const size_t lens[3] = {0, 5, 20000};
    for (int i = 0; i < 3; i++) {
        struct pcomi_msg_header h = make_header(PCOMI_MSG_RESPONSE, (uint32_t)i, 0);
        pcomi_msg_encode_header(&h, (uint32_t)lens[i], stream + at);
        at += PCOMI_MSG_HEADER_SIZE;
        fill(stream + at, lens[i], (uint32_t)i);
        at += lens[i];
    }
    write_all(raw, stream, at);
    close(raw);
    for (int i = 0; i < 3; i++) {
        struct pcomi_msg_header h;
        void *body;
        assert_int_equal(pcomi_conn_recv(s, &h, &body, 20000), 0);
        assert_int_equal(h.call_id, i);
        assert_int_equal(h.body_len, lens[i]);
        assert_true(check_fill(body, lens[i], (uint32_t)i));
        free(body);
    }
    struct pcomi_msg_header h;
    void *body;
    assert_int_equal(pcomi_conn_recv(s, &h, &body, 20000), -EPIPE);
    pcomi_conn_close(s);
    pcomi_listener_close(l);
}

/* ---- peers that die, and wake-ups ---- */

struct killer {
    pid_t pid;
    int delay_ms;
};

static void *kill_later(void *arg)
{
    struct killer *k = arg;
    sleep_ms(k->delay_ms);
    kill(k->pid, SIGKILL);
    return NULL;
}

static void peer_killed_mid_message_fails_recv_promptly(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_url(url, sizeof(url), "unix:@", "killed");
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen(url, &l), 0);
    int ready[2];
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    pid_t pid = fork_child();
    if (pid == 0) {
        /* Half a message, then hang until killed. */
        int fd = raw_connect_fd(url);
        struct pcomi_msg_header h = make_header(PCOMI_MSG_REQUEST, 1, 3);
        uint8_t msg[PCOMI_MSG_HEADER_SIZE + 10];
        pcomi_msg_encode_header(&h, 1000, msg);
        memset(msg + PCOMI_MSG_HEADER_SIZE, 1, 10);
        if (send(fd, msg, sizeof(msg), MSG_NOSIGNAL) != (ssize_t)sizeof(msg) || write(ready[1], "r", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(ready[1]);
    struct pcomi_conn *s;
    assert_int_equal(pcomi_listener_accept(l, &s), 0);
    char ch;
    assert_int_equal(read(ready[0], &ch, 1), 1);
    close(ready[0]);

    struct killer k = {pid, 200};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, kill_later, &k), 0);
    double t0 = now();
    struct pcomi_msg_header h;
    void *body;
    int rc = pcomi_conn_recv(s, &h, &body, 4096);
    double waited = now() - t0;
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(rc, -ECONNRESET);
    assert_true(waited >= 0.15); /* it really was blocked until the kill */
    assert_true(waited < 5.0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    pcomi_conn_close(s);
    pcomi_listener_close(l);
}

struct receiver {
    struct pcomi_conn *c;
    atomic_bool done;
    int rc;
};

static void *recv_thread(void *arg)
{
    struct receiver *r = arg;
    struct pcomi_msg_header h;
    void *body;
    r->rc = pcomi_conn_recv(r->c, &h, &body, 100);
    if (r->rc == 0)
        free(body);
    atomic_store(&r->done, true);
    return NULL;
}

static void shutdown_wakes_blocked_recv(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_url(url, sizeof(url), "unix:@", "shutdown");
    struct pcomi_listener *l;
    struct pcomi_conn *c, *s;
    make_pair(url, &l, &c, &s);
    struct receiver r = {.c = s};
    atomic_init(&r.done, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, recv_thread, &r), 0);
    sleep_ms(100);
    assert_false(atomic_load(&r.done)); /* blocked, as nothing was sent */
    pcomi_conn_shutdown(s);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.rc, -ECANCELED);
    pcomi_conn_shutdown(s); /* repeatable */
    struct pcomi_msg_header h = make_header(PCOMI_MSG_PING, 1, 0);
    assert_int_equal(pcomi_conn_send(s, &h, NULL, 0), -EPIPE);
    void *body;
    assert_int_equal(pcomi_conn_recv(s, &h, &body, 100), -ECANCELED);
    /* The other end sees a clean end of stream. */
    assert_int_equal(pcomi_conn_recv(c, &h, &body, 100), -EPIPE);
    close_pair(l, c, s);
}

struct acceptor {
    struct pcomi_listener *l;
    atomic_bool done;
    int rc;
};

static void *accept_thread(void *arg)
{
    struct acceptor *a = arg;
    struct pcomi_conn *c;
    a->rc = pcomi_listener_accept(a->l, &c);
    if (a->rc == 0)
        pcomi_conn_close(c);
    atomic_store(&a->done, true);
    return NULL;
}

static void listener_close_wakes_accept_and_removes_file(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_url(url, sizeof(url), "unix:/", "close");
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen(url, &l), 0);
    struct stat st;
    assert_int_equal(lstat(url_path(url), &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    struct acceptor a[2] = {{.l = l}, {.l = l}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        atomic_init(&a[i].done, false);
        assert_int_equal(pthread_create(&t[i], NULL, accept_thread, &a[i]), 0);
    }
    sleep_ms(100);
    assert_false(atomic_load(&a[0].done));
    assert_false(atomic_load(&a[1].done));
    pcomi_listener_close(l); /* waits for both accepts to leave before freeing */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(a[i].rc, -ECANCELED);
    }
    assert_int_equal(lstat(url_path(url), &st), -1);
    assert_int_equal(errno, ENOENT);
    struct pcomi_conn *c;
    assert_int_equal(pcomi_connect(url, &c), -ENOENT);
}

static void accept_after_shutdown_is_canceled(void **state)
{
    (void)state;
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen("tcp://127.0.0.1:0", &l), 0);
    pcomi_listener_shutdown(l);
    pcomi_listener_shutdown(l);
    struct pcomi_conn *c;
    assert_int_equal(pcomi_listener_accept(l, &c), -ECANCELED);
    pcomi_listener_close(l);
}

/* ---- socket files and addresses in use ---- */

static void stale_socket_file_is_replaced(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_url(url, sizeof(url), "unix:/", "stale");
    int ready[2];
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    pid_t pid = fork_child();
    if (pid == 0) {
        struct pcomi_listener *cl;
        if (pcomi_listen(url, &cl) < 0 || write(ready[1], "r", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(ready[1]);
    char ch;
    assert_int_equal(read(ready[0], &ch, 1), 1);
    close(ready[0]);
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    struct stat st;
    assert_int_equal(lstat(url_path(url), &st), 0); /* the dead listener's file is left behind */
    assert_true(S_ISSOCK(st.st_mode));
    struct pcomi_conn *c;
    assert_int_equal(pcomi_connect(url, &c), -ECONNREFUSED);

    struct pcomi_listener *l;
    struct pcomi_conn *s;
    make_pair(url, &l, &c, &s);
    struct pcomi_msg_header h = make_header(PCOMI_MSG_PING, 3, 0);
    assert_int_equal(pcomi_conn_send(c, &h, NULL, 0), 0);
    void *body;
    assert_int_equal(pcomi_conn_recv(s, &h, &body, 0), 0);
    assert_int_equal(h.call_id, 3);
    close_pair(l, c, s);
    assert_int_equal(lstat(url_path(url), &st), -1);
}

static void live_listener_is_not_stolen(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_url(url, sizeof(url), "unix:/", "live");
    struct pcomi_listener *l, *l2;
    assert_int_equal(pcomi_listen(url, &l), 0);
    struct stat before, after;
    assert_int_equal(lstat(url_path(url), &before), 0);
    assert_int_equal(pcomi_listen(url, &l2), -EADDRINUSE);
    assert_int_equal(lstat(url_path(url), &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    /* and the first listener still works */
    struct pcomi_conn *c, *s;
    assert_int_equal(pcomi_connect(url, &c), 0);
    assert_int_equal(pcomi_listener_accept(l, &s), 0);
    pcomi_conn_close(c);
    pcomi_conn_close(s);

    /* A listener whose file was replaced by another listener's leaves that one's file alone at close. */
    assert_int_equal(unlink(url_path(url)), 0);
    assert_int_equal(pcomi_listen(url, &l2), 0);
    pcomi_listener_close(l);
    assert_int_equal(lstat(url_path(url), &after), 0);
    assert_int_equal(pcomi_connect(url, &c), 0);
    assert_int_equal(pcomi_listener_accept(l2, &s), 0);
    pcomi_conn_close(c);
    pcomi_conn_close(s);
    pcomi_listener_close(l2);
    assert_int_equal(lstat(url_path(url), &after), -1);

    /* Abstract names and tcp ports. */
    unique_url(url, sizeof(url), "unix:@", "live");
    assert_int_equal(pcomi_listen(url, &l), 0);
    assert_int_equal(pcomi_listen(url, &l2), -EADDRINUSE);
    pcomi_listener_close(l);
    assert_int_equal(pcomi_listen("tcp://127.0.0.1:0", &l), 0);
    assert_int_equal(pcomi_listen(pcomi_listener_url(l), &l2), -EADDRINUSE);
    pcomi_listener_close(l);
}

static void regular_file_is_never_replaced(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    unique_url(url, sizeof(url), "unix:/", "file");
    FILE *f = fopen(url_path(url), "w");
    assert_non_null(f);
    fputs("precious", f);
    fclose(f);
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen(url, &l), -EADDRINUSE);
    struct stat st;
    assert_int_equal(lstat(url_path(url), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 8);
    unlink(url_path(url));
}

static void connect_errors(void **state)
{
    (void)state;
    char url[PCOMI_URL_MAX];
    struct pcomi_conn *c;
    unique_url(url, sizeof(url), "unix:/", "none");
    assert_int_equal(pcomi_connect(url, &c), -ENOENT);
    unique_url(url, sizeof(url), "unix:@", "none");
    assert_int_equal(pcomi_connect(url, &c), -ECONNREFUSED);
    /* A port that was just free: nothing listens there now. */
    struct pcomi_listener *l;
    assert_int_equal(pcomi_listen("tcp://127.0.0.1:0", &l), 0);
    snprintf(url, sizeof(url), "%s", pcomi_listener_url(l));
    pcomi_listener_close(l);
    assert_int_equal(pcomi_connect(url, &c), -ECONNREFUSED);
}

/* ---- file descriptors ---- */

/* Marks each open fd in `open`; returns how many. */
static int scan_fds(bool open[1024])
{
    memset(open, 0, 1024);
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd == dirfd(d) || fd >= 1024)
            continue;
        open[fd] = true;
        n++;
    }
    closedir(d);
    return n;
}

/* Every fd the transports opened is close-on-exec; tcp connections have Nagle off and keepalive on; and after
 * everything is closed, on success and error paths alike, no fd is left behind. */
static void fds_are_cloexec_and_none_leak(void **state)
{
    (void)state;
    static bool before[1024], during[1024], after[1024];
    int n_before = scan_fds(before);

    char upath[PCOMI_URL_MAX], uabs[PCOMI_URL_MAX];
    unique_url(upath, sizeof(upath), "unix:/", "fds");
    unique_url(uabs, sizeof(uabs), "unix:@", "fds");
    struct pcomi_listener *l[3];
    struct pcomi_conn *c[3], *s[3];
    make_pair(upath, &l[0], &c[0], &s[0]);
    make_pair(uabs, &l[1], &c[1], &s[1]);
    make_pair("tcp://127.0.0.1:0", &l[2], &c[2], &s[2]);

    int n_during = scan_fds(during);
    assert_true(n_during >= n_before + 3 * 4); /* per pair: listener, wake eventfd, two ends */
    int tcp_conns = 0;
    for (int fd = 0; fd < 1024; fd++) {
        if (!during[fd] || before[fd])
            continue;
        int flags = fcntl(fd, F_GETFD);
        if (flags < 0 || !(flags & FD_CLOEXEC))
            fail_msg("fd %d is not close-on-exec", fd);
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int listening = 0;
        socklen_t ilen = sizeof(listening);
        if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET &&
            getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ilen) == 0 && !listening) {
            int nodelay = 0, keepalive = 0;
            ilen = sizeof(int);
            assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &ilen), 0);
            ilen = sizeof(int);
            assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &keepalive, &ilen), 0);
            assert_true(nodelay);
            assert_true(keepalive);
            tcp_conns++;
        }
    }
    assert_int_equal(tcp_conns, 2);

    /* Error paths. */
    struct pcomi_listener *bad;
    struct pcomi_conn *badc;
    assert_int_equal(pcomi_listen(upath, &bad), -EADDRINUSE);
    assert_int_equal(pcomi_listen(uabs, &bad), -EADDRINUSE);
    assert_int_equal(pcomi_listen(pcomi_listener_url(l[2]), &bad), -EADDRINUSE);
    assert_int_equal(pcomi_listen("tcp://[1:2:3]:1", &bad), -EINVAL);
    assert_int_equal(pcomi_connect("unix:/nonexistent/pcom.sock", &badc), -ENOENT);
    for (int i = 0; i < 3; i++) {
        pcomi_conn_shutdown(s[i]);
        close_pair(l[i], c[i], s[i]);
    }
    assert_int_equal(pcomi_listen("tcp://127.0.0.1:0", &l[0]), 0);
    char port_url[PCOMI_URL_MAX];
    snprintf(port_url, sizeof(port_url), "%s", pcomi_listener_url(l[0]));
    pcomi_listener_close(l[0]);
    assert_int_equal(pcomi_connect(port_url, &badc), -ECONNREFUSED);

    int n_after = scan_fds(after);
    assert_int_equal(n_after, n_before);
    assert_memory_equal(before, after, sizeof(before));
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* a SIGPIPE from the transport would kill the test: it must never raise one */
#define T(f) cmocka_unit_test_setup_teardown(f, arm_guard, disarm_guard)
    const struct CMUnitTest tests[] = {
        T(header_encodes_little_endian_wire_layout),
        T(header_decode_rejects_each_bad_field),
        T(urls_that_parse),
        T(urls_that_are_refused),
        T(exchange_unix_path),
        T(exchange_unix_abstract),
        T(exchange_tcp_ipv4),
        T(exchange_tcp_ipv6),
        T(exchange_tcp_by_name),
        T(send_rejects_bad_arguments_and_sends_nothing),
        T(send_gathers_many_iovecs),
        T(body_in_parts),
        T(quick_wait_and_long_receive),
        T(eight_threads_send_whole_messages),
        T(malformed_headers_are_protocol_errors),
        T(truncated_messages_are_resets),
        T(oversized_body_refused_before_it_is_read),
        T(back_to_back_messages_then_clean_close),
        T(peer_killed_mid_message_fails_recv_promptly),
        T(shutdown_wakes_blocked_recv),
        T(listener_close_wakes_accept_and_removes_file),
        T(accept_after_shutdown_is_canceled),
        T(stale_socket_file_is_replaced),
        T(live_listener_is_not_stolen),
        T(regular_file_is_never_replaced),
        T(connect_errors),
        T(fds_are_cloexec_and_none_leak),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
