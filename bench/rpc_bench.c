/* rpc_bench.c: pcom round trips next to a raw ping-pong and ONC RPC over the same transport, in one run, one table.
 *
 *   rpc_bench [--calls N] [--quick] [--pin] [--only NAME]
 *     --calls N   round trips per row (default 20000; bulk rows N/100, at least 20; 8threads rows N in all)
 *     --quick     a smoke test: 400 round trips per row, 5 per bulk row
 *     --pin       client on CPU 0, every server on CPU 1 (otherwise the scheduler decides)
 *     --only S    run only the rows whose name contains S (e.g. "pcom unix null"), for callgrind and strace
 *   rpc_bench --serve-pipe [--pin]   the pcom server of the pipe rows, started by pcom itself
 *
 * Rows: for each transport of the table below and each workload, "raw <transport> <workload>" (the floor: the same
 * bytes with no marshaling, no dispatch), "onc <transport> <workload>" (rpcgen + libtirpc, where ONC has that
 * transport) and "pcom <transport> <workload>". Timings are printed, never judged: the exit status says only
 * whether every selected row ran.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pcom/pcom.h>

#include "bench.h"
#include "onc_bench.h"
#include "raw_floor.h"

#define THREADS 8

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

static struct pcom_server *server;

static void on_term(int sig)
{
    (void)sig;
    pcom_server_stop(server);
}

/* ---- workloads ---- */

enum workload { W_NULL, W_ECHO64, W_PUT1M, W_GET1M, W_THREADS, W_COUNT };
static const char *const workload_names[W_COUNT] = {"null", "echo64", "1MiB-in", "1MiB-out", "8threads-null"};
/* Bytes of request and reply of each workload as pcom puts them on the wire (a 56-byte header; a reply adds the
 * HRESULT and padding), so the raw floor moves exactly what pcom moves. */
static const size_t raw_sizes[W_COUNT][2] = {
    {56, 64},
    {56 + sizeof(Payload64), 64 + sizeof(Payload64)},
    {56 + 8 + BENCH_BULK, 64},
    {56 + 4, 64 + 4 + BENCH_BULK},
    {56, 64},
};
static const size_t payload_bytes[W_COUNT] = {0, sizeof(Payload64), BENCH_BULK, BENCH_BULK, 0};

/* ---- what the server process listens on ---- */

#define MAX_TRANSPORTS 8

struct server_addrs {
    char pcom_url[MAX_TRANSPORTS][256]; /* "" where the server could not listen */
    char raw_unix[108], epoll_unix[108], onc_unix[108];
    uint16_t raw_tcp, epoll_tcp, onc_tcp;
    int onc_ok;
};

struct bench {
    struct server_addrs a;
    bool pinned;
    char exe[PATH_MAX];
};

/* ---- transports: one entry each ---- */

struct transport {
    const char *name;
    /* what the server process listens on ("%d": its pid); NULL when the client starts its own server */
    const char *listen;
    /* the pcom URL a client creates its instance with; index: this entry's place in the table */
    void (*pcom_url)(const struct bench *b, const struct transport *t, int index, char *out, size_t n);
    /* the raw floor of the single-client rows */
    int (*raw_open)(const struct bench *b, struct raw_link *l);
    /* the raw floor of the 8threads row (one connection per thread to one epoll thread); NULL: none */
    int (*epoll_open)(const struct bench *b, struct raw_link *l);
    /* the ONC netid run next to it; NULL: ONC has no such transport */
    const char *onc;
};

/* The URL the server reported; the listen URL itself when the server could not listen there, so that a client
 * without the transport says so (E_INVALIDARG) and a client with it says what went wrong. */
static void listened_url(const struct bench *b, const struct transport *t, int index, char *out, size_t n)
{
    if (b->a.pcom_url[index][0])
        snprintf(out, n, "%s", b->a.pcom_url[index]);
    else
        snprintf(out, n, t->listen, (int)getpid());
}

static void pipe_url(const struct bench *b, const struct transport *t, int index, char *out, size_t n)
{
    (void)t;
    (void)index;
    /* pcom splits the command on spaces, without quoting: the path of the binary must have none */
    snprintf(out, n, "pipe:%s --serve-pipe%s", b->exe, b->pinned ? " --pin" : "");
}

static int cpu_of_servers(const struct bench *b)
{
    return b->pinned ? 1 : -1;
}

static int raw_unix_open(const struct bench *b, struct raw_link *l)
{
    return raw_connect_unix(b->a.raw_unix, l);
}
static int raw_tcp_open(const struct bench *b, struct raw_link *l)
{
    return raw_connect_tcp(b->a.raw_tcp, l);
}
static int epoll_unix_open(const struct bench *b, struct raw_link *l)
{
    return raw_connect_unix(b->a.epoll_unix, l);
}
static int epoll_tcp_open(const struct bench *b, struct raw_link *l)
{
    return raw_connect_tcp(b->a.epoll_tcp, l);
}
static int raw_pipe_open(const struct bench *b, struct raw_link *l)
{
    return raw_spawn_pipe(cpu_of_servers(b), l);
}
static int raw_shm_open(const struct bench *b, struct raw_link *l)
{
    return raw_spawn_shm(cpu_of_servers(b), l);
}

static const struct transport transports[] = {
    {"unix", "unix:/tmp/pcom-bench-%d.sock", listened_url, raw_unix_open, epoll_unix_open, "unix"},
    {"tcp", "tcp://127.0.0.1:0", listened_url, raw_tcp_open, epoll_tcp_open, "tcp"},
    {"pipe", NULL, pipe_url, raw_pipe_open, NULL, NULL},
    {"shm", "shm:pcom-bench-%d", listened_url, raw_shm_open, NULL, NULL},
};
#define N_TRANSPORTS (sizeof(transports) / sizeof(transports[0]))
_Static_assert(N_TRANSPORTS <= MAX_TRANSPORTS, "server_addrs has room for every transport");

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
    bool ok;
    double median, p99, per_sec, mbps;
};

static struct result summarize(double *lat, int n, double total_us, size_t payload)
{
    qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
    return (struct result){
        .ok = true,
        .median = lat[n / 2],
        .p99 = lat[(size_t)n * 99 / 100],
        .per_sec = n / (total_us / 1e6),
        .mbps = payload ? (double)payload * n / (total_us / 1e6) / 1e6 : 0,
    };
}

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
    r = summarize(lat, n, now_us() - t0, payload);
out:
    free(lat);
    return r;
}

/* Holds THREADS warmed-up threads until every one is ready, so a row is THREADS clients at once from its first
 * timed call. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int ready;
    bool open;
};

struct worker {
    pthread_t thread;
    struct gate *gate;
    int (*one)(void *);
    void *ctx;
    double *lat;
    int n;
    bool failed;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->n / 10 + 1 && !w->failed; i++)
        if (w->one(w->ctx) < 0)
            w->failed = true;
    pthread_mutex_lock(&w->gate->lock);
    w->gate->ready++;
    pthread_cond_broadcast(&w->gate->cond);
    while (!w->gate->open)
        pthread_cond_wait(&w->gate->cond, &w->gate->lock);
    pthread_mutex_unlock(&w->gate->lock);
    for (int i = 0; i < w->n && !w->failed; i++) {
        double a = now_us();
        if (w->one(w->ctx) < 0)
            w->failed = true;
        w->lat[i] = now_us() - a;
    }
    return NULL;
}

/* THREADS threads, n round trips in all; ctxs[i] is thread i's. */
static struct result measure_threads(int n, int (*one)(void *), void **ctxs)
{
    struct result r = {0};
    int per = n / THREADS;
    double *lat = malloc((size_t)per * THREADS * sizeof(*lat));
    if (!lat)
        return r;
    struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false};
    struct worker w[THREADS];
    int started = 0;
    for (; started < THREADS; started++) {
        w[started] = (struct worker){.gate = &gate, .one = one, .ctx = ctxs[started], .lat = lat + per * started,
                                     .n = per};
        if (pthread_create(&w[started].thread, NULL, worker_main, &w[started]) != 0)
            break;
    }
    pthread_mutex_lock(&gate.lock);
    while (gate.ready < started)
        pthread_cond_wait(&gate.cond, &gate.lock);
    gate.open = true;
    pthread_cond_broadcast(&gate.cond);
    pthread_mutex_unlock(&gate.lock);
    double t0 = now_us();
    bool failed = started < THREADS;
    for (int i = 0; i < started; i++) {
        pthread_join(w[i].thread, NULL);
        failed |= w[i].failed;
    }
    double total = now_us() - t0;
    if (!failed)
        r = summarize(lat, per * THREADS, total, 0);
    free(lat);
    return r;
}

struct raw_ctx {
    struct raw_link *link;
    size_t req, resp;
    char *buf;
};

static int raw_one(void *arg)
{
    struct raw_ctx *c = arg;
    return raw_roundtrip(c->link, c->buf, c->req, c->resp);
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
    case W_ECHO64: hr = IBench_Echo64(c->b, &in, &out); break;
    case W_PUT1M: hr = IBench_Put(c->b, BENCH_BULK, c->buf); break;
    case W_GET1M: hr = IBench_Get(c->b, BENCH_BULK, c->buf); break;
    default: hr = IBench_Null(c->b); break;
    }
    return FAILED(hr) ? -1 : 0;
}

struct onc_ctx {
    struct onc_client *c;
    enum workload w;
    byte *buf;
};

static int onc_one(void *arg)
{
    struct onc_ctx *c = arg;
    switch (c->w) {
    case W_ECHO64: return onc_echo64(c->c);
    case W_PUT1M: return onc_put(c->c, c->buf, BENCH_BULK);
    case W_GET1M: return onc_get(c->c, c->buf, BENCH_BULK);
    default: return onc_null(c->c);
    }
}

/* ---- the table ---- */

struct tally {
    int ran, skipped, failed;
};

static void print_header(void)
{
    printf("%-26s %10s %10s %12s %10s %8s %8s\n", "row", "median us", "p99 us", "calls/s", "MB/s", "vs raw",
           "vs onc");
}

static void ratio(char *out, size_t n, const struct result *r, const struct result *base)
{
    if (base && base->ok && base->median > 0)
        snprintf(out, n, "%.2f", r->median / base->median);
    else
        snprintf(out, n, "-");
}

static void print_row(struct tally *t, const char *name, const struct result *r, const struct result *raw,
                      const struct result *onc)
{
    if (!r->ok || !isfinite(r->median) || r->per_sec <= 0) {
        printf("%-26s FAILED\n", name);
        t->failed++;
    } else {
        char vr[16], vo[16];
        ratio(vr, sizeof(vr), r, raw);
        ratio(vo, sizeof(vo), r, onc);
        printf("%-26s %10.2f %10.2f %12.0f %10.1f %8s %8s\n", name, r->median, r->p99, r->per_sec, r->mbps, vr, vo);
        t->ran++;
    }
    fflush(stdout);
}

static void print_skip(struct tally *t, const char *name, const char *why)
{
    printf("%-26s skipped: %s\n", name, why);
    t->skipped++;
    fflush(stdout);
}

/* ---- the server processes ---- */

static int serve_pipe(bool pinned)
{
    if (pinned)
        bench_pin(1);
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    if (FAILED(pcom_register_class(&CLSID_Bench, &factory)) || FAILED(pcom_server_create(NULL, &server)) ||
        FAILED(pcom_server_listen(server, "pipe:"))) {
        fprintf(stderr, "rpc_bench --serve-pipe: %s\n", pcom_error_message());
        return 1;
    }
    HRESULT hr = pcom_server_run(server);
    pcom_server_destroy(server);
    return SUCCEEDED(hr) ? 0 : 1;
}

/* The server process: pcom on every transport that has a listen URL, the raw floors, the epoll floor and ONC, all
 * in one process so every row's server is equally far from the client. */
static void serve_all(int report_fd, bool pinned, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(1);
    if (pinned)
        bench_pin(1);
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    static struct server_addrs a;
    if (FAILED(pcom_register_class(&CLSID_Bench, &factory)) || FAILED(pcom_server_create(NULL, &server)))
        _exit(1);
    unsigned listeners = 0;
    for (size_t i = 0; i < N_TRANSPORTS; i++) {
        if (!transports[i].listen)
            continue;
        char url[256];
        snprintf(url, sizeof(url), transports[i].listen, (int)parent);
        /* a transport this build lacks leaves its URL empty; its rows say so */
        if (SUCCEEDED(pcom_server_listen(server, url)))
            snprintf(a.pcom_url[i], sizeof(a.pcom_url[i]), "%s", pcom_server_url(server, listeners++));
    }
    snprintf(a.raw_unix, sizeof(a.raw_unix), "/tmp/pcom-bench-raw-%d.sock", (int)parent);
    snprintf(a.epoll_unix, sizeof(a.epoll_unix), "/tmp/pcom-bench-epoll-%d.sock", (int)parent);
    snprintf(a.onc_unix, sizeof(a.onc_unix), "/tmp/pcom-bench-onc-%d.sock", (int)parent);
    int ru = raw_listen_unix(a.raw_unix), rt = raw_listen_tcp(&a.raw_tcp);
    int ep[2] = {raw_listen_unix(a.epoll_unix), raw_listen_tcp(&a.epoll_tcp)};
    if (ru < 0 || rt < 0 || ep[0] < 0 || ep[1] < 0 || raw_serve_threads(ru) < 0 || raw_serve_threads(rt) < 0 ||
        raw_serve_epoll(ep, 2) < 0)
        _exit(1);
    a.onc_ok = onc_available && onc_server_start(a.onc_unix, &a.onc_tcp) == 0;
    if (write_full(report_fd, &a, sizeof(a)) < 0)
        _exit(1);
    close(report_fd);
    pcom_server_run(server);
    pcom_server_destroy(server);
    unlink(a.raw_unix);
    unlink(a.epoll_unix);
    unlink(a.onc_unix);
    _exit(0);
}

/* ---- one transport's rows ---- */

struct run {
    struct bench *b;
    const char *only;
    int calls, bulk_calls;
    char *rawbuf;
    byte *bulk;
    struct tally tally;
};

static bool wanted(const struct run *run, const char *name)
{
    return !run->only || strstr(name, run->only);
}

static void run_transport(struct run *run, int ti)
{
    const struct transport *t = &transports[ti];
    struct bench *b = run->b;
    IBench *proxy = NULL;
    HRESULT proxy_hr = S_FALSE; /* S_FALSE: not tried yet */
    struct raw_link link = {.fd = -1, .child = -1};
    int link_rc = 1; /* 1: not opened yet */
    struct onc_client *onc = NULL;
    bool onc_tried = false;

    for (int w = 0; w < W_COUNT; w++) {
        int n = w == W_PUT1M || w == W_GET1M ? run->bulk_calls : run->calls;
        char raw_name[64], onc_name[64], pcom_name[64];
        snprintf(raw_name, sizeof(raw_name), "raw %s %s", t->name, workload_names[w]);
        snprintf(onc_name, sizeof(onc_name), "onc %s %s", t->name, workload_names[w]);
        snprintf(pcom_name, sizeof(pcom_name), "pcom %s %s", t->name, workload_names[w]);
        struct result raw = {0}, oncr = {0}, pc = {0};

        if (w == W_THREADS) {
            if (t->epoll_open && wanted(run, raw_name)) {
                struct raw_link links[THREADS];
                struct raw_ctx rc[THREADS];
                void *ctxs[THREADS];
                int opened = 0;
                char *bufs = malloc((size_t)THREADS * 4096);
                while (bufs && opened < THREADS && t->epoll_open(b, &links[opened]) == 0) {
                    rc[opened] = (struct raw_ctx){&links[opened], raw_sizes[w][0], raw_sizes[w][1],
                                                  bufs + 4096 * opened};
                    ctxs[opened] = &rc[opened];
                    opened++;
                }
                if (opened == THREADS)
                    raw = measure_threads(n, raw_one, ctxs);
                for (int i = 0; i < opened; i++)
                    raw_close(&links[i]);
                free(bufs);
                print_row(&run->tally, raw_name, &raw, &raw, NULL);
            }
        } else if (wanted(run, raw_name)) {
            if (link_rc == 1)
                link_rc = t->raw_open(b, &link);
            if (link_rc == 0) {
                struct raw_ctx rcx = {&link, raw_sizes[w][0], raw_sizes[w][1], run->rawbuf};
                raw = measure(n, payload_bytes[w], raw_one, &rcx);
            }
            print_row(&run->tally, raw_name, &raw, &raw, NULL);
        }

        /* ONC's client handles are not shared between threads, so ONC has no 8threads row */
        if (t->onc && w != W_THREADS && wanted(run, onc_name)) {
            if (!b->a.onc_ok) {
                print_skip(&run->tally, onc_name, "built without rpcgen or libtirpc");
            } else {
                if (!onc_tried) {
                    onc = onc_connect(t->onc, b->a.onc_unix, b->a.onc_tcp);
                    onc_tried = true;
                }
                if (onc) {
                    struct onc_ctx ocx = {onc, (enum workload)w, run->bulk};
                    oncr = measure(n, payload_bytes[w], onc_one, &ocx);
                }
                print_row(&run->tally, onc_name, &oncr, &raw, &oncr);
            }
        }

        if (wanted(run, pcom_name)) {
            if (proxy_hr == S_FALSE) {
                char url[PATH_MAX + 64];
                t->pcom_url(b, t, ti, url, sizeof(url));
                proxy_hr = pcom_create_instance(&CLSID_Bench, url, &IID_IBench, (void **)&proxy);
                if (FAILED(proxy_hr) && proxy_hr != E_INVALIDARG)
                    fprintf(stderr, "rpc_bench: %s: %s %s\n", url, pcom_hresult_message(proxy_hr),
                            pcom_error_message());
            }
            if (proxy_hr == E_INVALIDARG) {
                /* E_INVALIDARG is also a malformed URL for a transport pcom has: the runtime's message tells */
                char why[300];
                const char *msg = pcom_error_message();
                snprintf(why, sizeof(why), "E_INVALIDARG, no such transport in this pcom%s%s", *msg ? ": " : "", msg);
                print_skip(&run->tally, pcom_name, why);
                continue;
            }
            if (SUCCEEDED(proxy_hr)) {
                if (w == W_THREADS) {
                    struct pcom_ctx pcx[THREADS];
                    void *ctxs[THREADS];
                    for (int i = 0; i < THREADS; i++) {
                        pcx[i] = (struct pcom_ctx){proxy, W_NULL, NULL};
                        ctxs[i] = &pcx[i];
                    }
                    pc = measure_threads(n, pcom_one, ctxs);
                } else {
                    struct pcom_ctx pcx = {proxy, (enum workload)w, run->bulk};
                    pc = measure(n, payload_bytes[w], pcom_one, &pcx);
                }
            }
            print_row(&run->tally, pcom_name, &pc, &raw, t->onc && w != W_THREADS ? &oncr : NULL);
        }
    }
    /* the raw pipe child holds no pcom descriptor, but close it first anyway: then the pipe server sees EOF alone */
    if (link_rc == 0)
        raw_close(&link);
    onc_close(onc);
    if (proxy)
        IBench_Release(proxy);
}

int main(int argc, char **argv)
{
    int calls = 20000;
    bool pinned = false, quick = false, serve = false, calls_given = false;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--calls") && i + 1 < argc) {
            calls = atoi(argv[++i]);
            calls_given = true;
        } else if (!strcmp(argv[i], "--pin"))
            pinned = true;
        else if (!strcmp(argv[i], "--quick"))
            quick = true;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--serve-pipe"))
            serve = true;
        else {
            fprintf(stderr, "usage: %s [--calls N] [--quick] [--pin] [--only NAME]\n", argv[0]);
            return 2;
        }
    }
    if (serve)
        return serve_pipe(pinned);
    if (quick && !calls_given)
        calls = 400;
    if (calls < 100)
        calls = 100;
    int bulk_calls = quick ? 5 : calls / 100 > 20 ? calls / 100 : 20;

    /* a server gone mid-row fails that row; it must not kill the run */
    signal(SIGPIPE, SIG_IGN);

    static struct bench b;
    b.pinned = pinned;
    ssize_t len = readlink("/proc/self/exe", b.exe, sizeof(b.exe) - 1);
    if (len <= 0)
        return 1;
    b.exe[len] = '\0';

    int report[2];
    if (pipe(report) < 0)
        return 1;
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0)
        return 1;
    if (child == 0) {
        close(report[0]);
        serve_all(report[1], pinned, parent);
    }
    close(report[1]);
    if (read_full(report[0], &b.a, sizeof(b.a)) < 0) {
        fprintf(stderr, "rpc_bench: the server did not start\n");
        waitpid(child, NULL, 0);
        return 1;
    }
    close(report[0]);
    if (pinned)
        bench_pin(0);

    struct run run = {.b = &b, .only = only, .calls = calls, .bulk_calls = bulk_calls};
    run.rawbuf = malloc(RAW_MAX);
    run.bulk = malloc(BENCH_BULK);
    if (!run.rawbuf || !run.bulk)
        return 1;
    memset(run.bulk, 1, BENCH_BULK);

    printf("pcom rpc_bench: %d round trips per row (bulk rows %d, 8threads rows %d per thread), %s\n", calls,
           bulk_calls, calls / THREADS, pinned ? "client on CPU 0, servers on CPU 1" : "unpinned");
    print_header();
    for (size_t i = 0; i < N_TRANSPORTS; i++)
        run_transport(&run, (int)i);
    printf("(vs raw, vs onc: this row's median over the raw ping-pong's / ONC RPC's median, same transport, same "
           "workload)\n");
    printf("%d rows ran, %d skipped, %d failed\n", run.tally.ran, run.tally.skipped, run.tally.failed);

    free(run.rawbuf);
    free(run.bulk);
    kill(child, SIGTERM);
    waitpid(child, NULL, 0);
    return run.tally.failed || run.tally.ran == 0 ? 1 : 0;
}
