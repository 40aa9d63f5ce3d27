/* rpc_bench.c: round trips through pcom next to a hand-written ping-pong over the same socket type, in one
 * run: null call, a 64-byte struct in and out, 1 MiB in, 1 MiB out; median, p99, calls/s, MB/s, ratio.
 *
 *   rpc_bench [--calls N] [--pin] [--only NAME]
 *     --calls N   round trips per measurement (default 20000; bulk workloads use N/100)
 *     --pin       client on CPU 0, server on CPU 1 (otherwise the scheduler decides)
 *     --only S    run only the rows whose name contains S (e.g. "pcom unix null"), for callgrind/strace
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <pcom/pcom.h>

#include "bench.h"

#define BULK (1u << 20)

/* ---- the pcom object ---- */

static HRESULT STDMETHODCALLTYPE b_qi(IBench *This, REFIID riid, void **ppv)
{
    if (pcom_guid_equal(riid, &IID_IUnknown) || pcom_guid_equal(riid, &IID_IBench)) {
        *ppv = This;
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}
static ULONG STDMETHODCALLTYPE b_addref(IBench *This)
{
    (void)This;
    return 2;
}
static ULONG STDMETHODCALLTYPE b_release(IBench *This)
{
    (void)This;
    return 1;
}
static HRESULT STDMETHODCALLTYPE b_null(IBench *This)
{
    (void)This;
    return S_OK;
}
static HRESULT STDMETHODCALLTYPE b_echo(IBench *This, const Payload64 *in, Payload64 *out)
{
    (void)This;
    *out = *in;
    return S_OK;
}
static HRESULT STDMETHODCALLTYPE b_put(IBench *This, uint32_t n, const byte *data)
{
    (void)This;
    (void)n;
    (void)data;
    return S_OK;
}
static HRESULT STDMETHODCALLTYPE b_get(IBench *This, uint32_t n, byte *data)
{
    (void)This;
    memset(data, 0x5a, n);
    return S_OK;
}
static const IBenchVtbl bench_vtbl = {b_qi, b_addref, b_release, b_null, b_echo, b_put, b_get};
static IBench bench_object = {&bench_vtbl};

static HRESULT STDMETHODCALLTYPE f_qi(IClassFactory *This, REFIID riid, void **ppv)
{
    *ppv = This;
    return pcom_guid_equal(riid, &IID_IUnknown) || pcom_guid_equal(riid, &IID_IClassFactory) ? S_OK
                                                                                              : E_NOINTERFACE;
}
static ULONG STDMETHODCALLTYPE f_addref(IClassFactory *This)
{
    (void)This;
    return 2;
}
static ULONG STDMETHODCALLTYPE f_release(IClassFactory *This)
{
    (void)This;
    return 1;
}
static HRESULT STDMETHODCALLTYPE f_create(IClassFactory *This, IUnknown *outer, REFIID riid, void **ppv)
{
    (void)This;
    (void)outer;
    return b_qi(&bench_object, riid, ppv);
}
static HRESULT STDMETHODCALLTYPE f_lock(IClassFactory *This, BOOL lock)
{
    (void)This;
    (void)lock;
    return S_OK;
}
static const IClassFactoryVtbl factory_vtbl = {f_qi, f_addref, f_release, f_create, f_lock};
static IClassFactory factory = {&factory_vtbl};

/* ---- the raw floor: a request of req bytes, a reply of resp bytes, both sizes in its first 8 bytes ---- */

static int read_full(int fd, void *buf, size_t n)
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

static int write_full(int fd, const void *buf, size_t n)
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

static void *raw_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(BULK + 4096);
    for (;;) {
        uint32_t sizes[2];
        if (!buf || read_full(fd, sizes, 8) < 0 || sizes[0] < 8 || sizes[0] > BULK + 4096 || sizes[1] < 8 ||
            sizes[1] > BULK + 4096 || read_full(fd, buf, sizes[0] - 8) < 0)
            break;
        memcpy(buf, sizes, 8);
        if (write_full(fd, buf, sizes[1]) < 0)
            break;
    }
    free(buf);
    close(fd);
    return NULL;
}

static void *raw_accept(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            break;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pthread_t t;
        if (pthread_create(&t, NULL, raw_conn, (void *)(intptr_t)fd) == 0)
            pthread_detach(t);
        else
            close(fd);
    }
    return NULL;
}

static int raw_listen_unix(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
        return -1;
    return fd;
}

static int raw_listen_tcp(uint16_t *port)
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

static int raw_connect(const char *unix_path, uint16_t tcp_port)
{
    int fd;
    if (unix_path) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", unix_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            return -1;
    } else {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(tcp_port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            return -1;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

static struct pcom_server *server;

static void on_term(int sig)
{
    (void)sig;
    pcom_server_stop(server);
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

/* ---- measurement ---- */

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct result {
    double median, p99, per_sec, mbps;
};

enum workload { W_NULL, W_ECHO64, W_PUT1M, W_GET1M, W_COUNT };
static const char *const workload_names[] = {"null", "echo64", "1MiB-in", "1MiB-out"};
/* bytes of request and reply of each workload as pcom sends them, for a like-for-like raw floor */
static const size_t raw_sizes[W_COUNT][2] = {
    {56, 64},
    {56 + 64, 64 + 64},
    {56 + 8 + BULK, 64},
    {56 + 4, 64 + 4 + BULK},
};

static struct result measure(int n, size_t payload, int (*one)(void *), void *ctx)
{
    struct result r = {0};
    double *lat = malloc((size_t)n * sizeof(*lat));
    if (!lat)
        return r;
    for (int i = 0; i < n / 10 + 1; i++) /* warm up: connections, caches, buffers */
        if (one(ctx) < 0)
            goto out;
    double t0 = now_us();
    for (int i = 0; i < n; i++) {
        double a = now_us();
        if (one(ctx) < 0)
            goto out;
        lat[i] = now_us() - a;
    }
    double total = now_us() - t0;
    qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
    r.median = lat[n / 2];
    r.p99 = lat[(size_t)n * 99 / 100];
    r.per_sec = n / (total / 1e6);
    r.mbps = payload ? (double)payload * n / (total / 1e6) / 1e6 : 0;
out:
    free(lat);
    return r;
}

struct raw_ctx {
    int fd;
    size_t req, resp;
    char *buf;
};

static int raw_one(void *arg)
{
    struct raw_ctx *c = arg;
    uint32_t sizes[2] = {(uint32_t)c->req, (uint32_t)c->resp};
    memcpy(c->buf, sizes, 8);
    if (write_full(c->fd, c->buf, c->req) < 0 || read_full(c->fd, c->buf, c->resp) < 0)
        return -1;
    return 0;
}

struct pcom_ctx {
    IBench *b;
    enum workload w;
    byte *buf;
};

static int pcom_one(void *arg)
{
    struct pcom_ctx *c = arg;
    Payload64 in = {.id = 7, .scale = 1.5}, out;
    HRESULT hr;
    switch (c->w) {
    case W_NULL: hr = IBench_Null(c->b); break;
    case W_ECHO64: hr = IBench_Echo64(c->b, &in, &out); break;
    case W_PUT1M: hr = IBench_Put(c->b, BULK, c->buf); break;
    default: hr = IBench_Get(c->b, BULK, c->buf); break;
    }
    return FAILED(hr) ? -1 : 0;
}

int main(int argc, char **argv)
{
    int calls = 20000;
    bool pinned = false;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--calls") && i + 1 < argc)
            calls = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pin"))
            pinned = true;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--calls N] [--pin] [--only NAME]\n", argv[0]);
            return 2;
        }
    }
    if (calls < 100)
        calls = 100;

    char pcom_path[108], raw_path[108];
    snprintf(pcom_path, sizeof(pcom_path), "/tmp/pcom-bench-%d.sock", (int)getpid());
    snprintf(raw_path, sizeof(raw_path), "/tmp/pcom-bench-raw-%d.sock", (int)getpid());
    int urls[2];
    if (pipe(urls) < 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        /* the server process: pcom and the raw floor, each on a Unix socket and TCP */
        if (pinned)
            pin(1);
        struct pcom_server *s;
        char unix_url[128];
        struct sigaction sa = {.sa_handler = on_term};
        sigaction(SIGTERM, &sa, NULL);
        snprintf(unix_url, sizeof(unix_url), "unix:%s", pcom_path);
        if (FAILED(pcom_register_class(&CLSID_Bench, &factory)) || FAILED(pcom_server_create(NULL, &s)) ||
            FAILED(pcom_server_listen(s, unix_url)) || FAILED(pcom_server_listen(s, "tcp://127.0.0.1:0")))
            _exit(1);
        uint16_t raw_port = 0;
        int ru = raw_listen_unix(raw_path), rt = raw_listen_tcp(&raw_port);
        pthread_t t1, t2;
        if (ru < 0 || rt < 0 || pthread_create(&t1, NULL, raw_accept, (void *)(intptr_t)ru) ||
            pthread_create(&t2, NULL, raw_accept, (void *)(intptr_t)rt))
            _exit(1);
        dprintf(urls[1], "%s %u\n", pcom_server_url(s, 1), (unsigned)raw_port);
        close(urls[1]);
        server = s;
        pcom_server_run(s);
        pcom_server_destroy(s);
        unlink(raw_path);
        _exit(0);
    }
    close(urls[1]);
    if (pinned)
        pin(0);
    char line[256] = {0};
    FILE *f = fdopen(urls[0], "r");
    char tcp_url[200];
    unsigned raw_port;
    if (!f || !fgets(line, sizeof(line), f) || sscanf(line, "%199s %u", tcp_url, &raw_port) != 2) {
        fprintf(stderr, "rpc_bench: the server did not start\n");
        return 1;
    }
    fclose(f);

    printf("pcom rpc_bench: %d round trips per row (bulk rows %d), %s\n", calls, calls / 100 > 20 ? calls / 100 : 20,
           pinned ? "client on CPU 0, server on CPU 1" : "unpinned");
    printf("%-28s %10s %10s %12s %10s %8s\n", "row", "median us", "p99 us", "calls/s", "MB/s", "vs raw");
    char *rawbuf = malloc(BULK + 4096);
    byte *bulk = malloc(BULK);
    if (!rawbuf || !bulk)
        return 1;
    memset(bulk, 1, BULK);
    int rc = 0;
    for (int t = 0; t < 2; t++) {
        const char *tname = t == 0 ? "unix" : "tcp";
        char unix_url[128];
        snprintf(unix_url, sizeof(unix_url), "unix:%s", pcom_path);
        IBench *b = NULL;
        HRESULT hr = pcom_create_instance(&CLSID_Bench, t == 0 ? unix_url : tcp_url, &IID_IBench, (void **)&b);
        int fd = raw_connect(t == 0 ? raw_path : NULL, (uint16_t)raw_port);
        if (FAILED(hr) || fd < 0) {
            fprintf(stderr, "rpc_bench: cannot connect over %s: %s\n", tname, pcom_hresult_message(hr));
            rc = 1;
            break;
        }
        for (int w = 0; w < W_COUNT; w++) {
            int n = w >= W_PUT1M ? (calls / 100 > 20 ? calls / 100 : 20) : calls;
            size_t payload = w == W_ECHO64 ? 64 : w >= W_PUT1M ? BULK : 0;
            char raw_name[64], pcom_name[64];
            snprintf(raw_name, sizeof(raw_name), "raw %s %s", tname, workload_names[w]);
            snprintf(pcom_name, sizeof(pcom_name), "pcom %s %s", tname, workload_names[w]);
            bool want_raw = !only || strstr(raw_name, only), want_pcom = !only || strstr(pcom_name, only);
            struct result raw = {0}, pc = {0};
            if (want_raw) {
                struct raw_ctx rcx = {fd, raw_sizes[w][0], raw_sizes[w][1], rawbuf};
                raw = measure(n, payload, raw_one, &rcx);
                printf("%-28s %10.2f %10.2f %12.0f %10.1f %8s\n", raw_name, raw.median, raw.p99, raw.per_sec,
                       raw.mbps, "1.00");
            }
            if (want_pcom) {
                struct pcom_ctx pcx = {b, (enum workload)w, bulk};
                pc = measure(n, payload, pcom_one, &pcx);
                char ratio[16] = "-";
                if (raw.median > 0)
                    snprintf(ratio, sizeof(ratio), "%.2f", pc.median / raw.median);
                printf("%-28s %10.2f %10.2f %12.0f %10.1f %8s\n", pcom_name, pc.median, pc.p99, pc.per_sec, pc.mbps,
                       ratio);
            }
        }
        close(fd);
        IBench_Release(b);
    }
    printf("(vs raw: pcom's median over the raw ping-pong's median, same transport, same message sizes)\n");
    free(rawbuf);
    free(bulk);
    kill(child, SIGTERM);
    int status;
    waitpid(child, &status, 0);
    unlink(raw_path);
    return rc;
}
