/* test_hostile_server.c: the client against a server that lies, a fake one writing docs/wire.md by hand. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <pcom/pcom.h>

#include "procs.h"
#include "rpctest.h"

enum { REQUEST = 1, RESPONSE, FAULT, PING, PONG, CLOSE, HELLO };
enum { M_NULL = 3, M_ALLOC = 11, M_GET = 21 };
enum { SYS_CREATE_INSTANCE = 3, SYS_RELEASE = 5 };

static const IID system_iid = {0x70636f6d, 0x0000, 0x0000, {0x73, 0x79, 0x73, 0x74, 0x65, 0x6d, 0x00, 0x01}};

#define MIB (1u << 20)
/* Past this a reply is decoded as it arrives by a caller reading its own answer; below it, read whole first. */
#define LARGE (64u * 1024)
/* Far more than the 1 MiB a body may take before its bytes arrive, far less than the 60 MiB a liar announces. */
#define HEAP_BOUND ((size_t)8 * MIB)
/* Keepalive for the tests that wait for it to end a connection, and for the rest, which must never meet it. */
#define SHORT_INTERVAL_MS 100
#define SHORT_TIMEOUT_MS 1000
#define LONG_INTERVAL_MS 1000
#define LONG_TIMEOUT_MS 10000

/* ---- the fake server: a thread with a listener, serving connections one after another with a script ---- */

struct fake;
/* Plays connection number conn (0, 1, ...) of the test; may close it (fk_hangup), else it is served well until
 * the client closes it. */
typedef void script_fn(struct fake *f, unsigned conn);

struct fake {
    char url[96];
    int lfd;
    atomic_int fd;
    unsigned nconns;
    script_fn *script;
    pthread_t thread;
    uint8_t exporter[16], oid[16];
    uint8_t *msg; /* the last message read, header and body */
    size_t msg_len;
    atomic_bool ended;
    atomic_uint closed_by_client; /* connections whose end the client made */
    atomic_bool failed;
    char failure[200]; /* the first thing the client did that the script did not expect */
    /* set by the test before a call, sampled by the script while the client is in the middle of it */
    _Atomic size_t heap_base, heap_mid;
    /* a RemRelease entry naming this object id was received, with this count in all */
    uint8_t watch_oid[16];
    atomic_uint watch_released;
};

#define MSG_CAP (2u * MIB)

static void fk_fail(struct fake *f, const char *fmt, ...)
{
    if (atomic_exchange(&f->failed, true))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->failure, sizeof(f->failure), fmt, ap);
    va_end(ap);
}

static uint32_t msg_u32(const struct fake *f, size_t off)
{
    uint32_t v = 0;
    if (off + 4 <= f->msg_len)
        memcpy(&v, f->msg + off, 4);
    return v;
}

static uint32_t msg_call_id(const struct fake *f)
{
    return msg_u32(f, 8);
}

static uint16_t msg_method(const struct fake *f)
{
    uint16_t m;
    memcpy(&m, f->msg + 16, 2);
    return m;
}

/* One whole message, or -1 at the end of the stream (or after 10 s of nothing: the client pings every second). */
static int fk_read(struct fake *f)
{
    struct pollfd p = {atomic_load(&f->fd), POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) {
        fk_fail(f, "the client sent nothing for 10 s");
        return -1;
    }
    ssize_t n = raw_read(p.fd, f->msg, MSG_CAP);
    if (n < 0)
        return -1;
    f->msg_len = (size_t)n;
    return f->msg[5];
}

static void fk_write(struct fake *f, const void *p, size_t n)
{
    if (!raw_write(atomic_load(&f->fd), p, n))
        fk_fail(f, "the client went away while %zu bytes were being written", n);
}

static void fk_head(struct fake *f, uint8_t type, uint32_t call_id, uint32_t len)
{
    uint8_t h[56];
    raw_header(h, type, call_id, len, 0, NULL, NULL);
    fk_write(f, h, sizeof(h));
}

static void fk_send(struct fake *f, uint8_t type, uint32_t call_id, const void *body, uint32_t len)
{
    fk_head(f, type, call_id, len);
    fk_write(f, body, len);
}

/* A RemRelease from the client: its entries are object id (16), count (4), after n and the array's count. */
static void note_releases(struct fake *f)
{
    if (msg_method(f) != SYS_RELEASE || memcmp(f->msg + 40, &system_iid, 16) != 0)
        return;
    uint32_t n = msg_u32(f, 56);
    for (uint32_t i = 0; i < n && 64 + 20 * (size_t)(i + 1) <= f->msg_len; i++)
        if (memcmp(f->msg + 64 + 20 * i, f->watch_oid, 16) == 0)
            atomic_fetch_add(&f->watch_released, msg_u32(f, 64 + 20 * i + 16));
}

/* The next message that needs the script: PINGs are answered, PONGs and one-way requests (releases) taken in. */
static int fk_next(struct fake *f)
{
    for (;;) {
        int t = fk_read(f);
        if (t == PING) {
            f->msg[5] = PONG;
            fk_write(f, f->msg, 56);
        } else if (t == REQUEST && (f->msg[6] & 1)) {
            note_releases(f);
        } else if (t != PONG) {
            return t;
        }
    }
}

/* The call id of the next call, which must be of method. */
static uint32_t fk_call(struct fake *f, uint16_t method)
{
    int t = fk_next(f);
    if (t != REQUEST || msg_method(f) != method) {
        fk_fail(f, "expected a call of slot %u, got type %d slot %u", method, t, t < 0 ? 0 : msg_method(f));
        return 0;
    }
    return msg_call_id(f);
}

/* A body under construction. */
struct rb {
    uint8_t *b;
    size_t n, cap;
};

static uint8_t *rb_room(struct rb *r, size_t n)
{
    if (r->n + n > r->cap) {
        r->cap = (r->n + n) * 2;
        r->b = realloc(r->b, r->cap);
        if (!r->b)
            abort();
    }
    r->n += n;
    return r->b + r->n - n;
}

static void rb_put(struct rb *r, const void *p, size_t n)
{
    if (n)
        memcpy(rb_room(r, n), p, n);
}

static void rb_u32(struct rb *r, uint32_t v)
{
    rb_put(r, &v, 4);
}

static void rb_fill(struct rb *r, uint8_t byte, size_t n)
{
    memset(rb_room(r, n), byte, n);
}

static void rb_send(struct fake *f, uint8_t type, uint32_t call_id, struct rb *r)
{
    fk_send(f, type, call_id, r->b, (uint32_t)r->n);
    free(r->b);
    *r = (struct rb){0};
}

/* The HRESULT and its padding, with which every answer starts. */
static void rb_hr(struct rb *r, HRESULT hr)
{
    rb_u32(r, (uint32_t)hr);
    rb_u32(r, 0);
}

/* Get's results: the array's count, then its bytes seed, seed + 1, ... (count values; the array has n). */
static void rb_get(struct rb *r, uint32_t count, uint32_t n, uint8_t seed)
{
    rb_hr(r, S_OK);
    rb_u32(r, count);
    uint8_t *p = rb_room(r, n);
    for (uint32_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i);
}

/* Alloc's results: *count, the unique pointer's marker, the array's count, then n values i * i. */
static void rb_alloc(struct rb *r, uint32_t count, uint32_t marker, uint32_t array_count, uint32_t n)
{
    rb_hr(r, S_OK);
    rb_u32(r, count);
    rb_u32(r, marker);
    rb_u32(r, array_count);
    for (uint32_t i = 0; i < n; i++)
        rb_u32(r, i * i);
}

static void fk_fault(struct fake *f, uint32_t call_id, HRESULT hr, const char *msg)
{
    struct rb r = {0};
    rb_hr(&r, hr);
    rb_u32(&r, (uint32_t)strlen(msg));
    rb_put(&r, msg, strlen(msg));
    rb_send(f, FAULT, call_id, &r);
}

/* Answers Null, Get and Alloc as rpctest_server does, until the client closes the connection. */
static void fk_serve(struct fake *f)
{
    for (;;) {
        int t = fk_next(f);
        if (t < 0) {
            atomic_fetch_add(&f->closed_by_client, 1);
            return;
        }
        if (t != REQUEST) {
            fk_fail(f, "the client sent a message of type %d while being served", t);
            continue;
        }
        uint32_t id = msg_call_id(f);
        struct rb r = {0};
        switch (msg_method(f)) {
        case M_NULL:
            rb_hr(&r, S_OK);
            break;
        case M_GET:
            rb_get(&r, msg_u32(f, 56), msg_u32(f, 56), f->msg[60]);
            break;
        case M_ALLOC: {
            uint32_t n = msg_u32(f, 56);
            rb_alloc(&r, n, 1, n, n);
            break;
        }
        default:
            fk_fault(f, id, E_NOTIMPL, "not faked");
            continue;
        }
        rb_send(f, RESPONSE, id, &r);
    }
}

static void fk_hangup(struct fake *f)
{
    close(atomic_exchange(&f->fd, -1));
}

/* Reads and drops everything, answering nothing (not even PINGs), until the client closes the connection. */
static void fk_hold(struct fake *f)
{
    while (fk_read(f) >= 0)
        ;
    atomic_fetch_add(&f->closed_by_client, 1);
    fk_hangup(f);
}

/* While the client is inside a call the script answered part of: how much it has allocated by now. */
static void fk_sample_heap(struct fake *f, unsigned after_ms)
{
    usleep(after_ms * 1000);
    atomic_store(&f->heap_mid, heap_in_use());
}

/* A HELLO: exporter id, no endpoint. */
static void fk_hello(struct fake *f, const uint8_t exporter[16])
{
    struct rb r = {0};
    rb_put(&r, exporter, 16);
    rb_u32(&r, 0);
    rb_send(f, HELLO, 0, &r);
}

/* The fixed 72 bytes of an object reference (docs/wire.md), for callers to bend. */
struct objref {
    uint32_t flags, nendpoints;
    uint8_t exporter[16], oid[16];
    IID iid;
    uint8_t token[16];
};

static struct objref good_ref(const struct fake *f)
{
    struct objref o = {.flags = 1, .iid = IID_IRpcTest};
    memcpy(o.exporter, f->exporter, 16);
    memcpy(o.oid, f->oid, 16);
    return o;
}

static void rb_objref(struct rb *r, const struct objref *o)
{
    rb_u32(r, o->flags);
    rb_u32(r, o->nendpoints);
    rb_put(r, o->exporter, 16);
    rb_put(r, o->oid, 16);
    rb_put(r, &o->iid, 16);
    rb_put(r, o->token, 16);
}

/* CreateInstance's results: the interface pointer's length, then the reference and what follows it. */
static void fk_created(struct fake *f, uint32_t call_id, const struct objref *o, const void *tail, uint32_t tail_len)
{
    struct rb r = {0};
    rb_hr(&r, S_OK);
    rb_u32(&r, 72 + tail_len);
    rb_objref(&r, o);
    rb_put(&r, tail, tail_len);
    rb_send(f, RESPONSE, call_id, &r);
}

/* The client's HELLO, ours, and its CreateInstance answered with our object. */
static void fk_greet(struct fake *f)
{
    if (fk_next(f) != HELLO)
        fk_fail(f, "the client did not start with HELLO");
    fk_hello(f, f->exporter);
    uint32_t id = fk_call(f, SYS_CREATE_INSTANCE);
    if (memcmp(f->msg + 40, &system_iid, 16) != 0)
        fk_fail(f, "CreateInstance not sent to the system object");
    struct objref o = good_ref(f);
    fk_created(f, id, &o, NULL, 0);
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    for (unsigned k = 0; k < f->nconns; k++) {
        struct pollfd p = {f->lfd, POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0) {
            fk_fail(f, "connection %u never came", k);
            break;
        }
        int fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            fk_fail(f, "accept: %s", strerror(errno));
            break;
        }
        atomic_store(&f->fd, fd);
        f->script(f, k);
        if (atomic_load(&f->fd) >= 0) {
            fk_serve(f);
            fk_hangup(f);
        }
    }
    atomic_store(&f->ended, true);
    return NULL;
}

static struct fake *fake_start(script_fn *script, unsigned nconns)
{
    static unsigned serial;
    struct fake *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->msg = malloc(MSG_CAP);
    assert_non_null(f->msg);
    unsigned id = ++serial;
    snprintf(f->url, sizeof(f->url), "unix:@pcom-hostile-%d-%u", (int)getpid(), id);
    for (int i = 0; i < 16; i++) {
        f->exporter[i] = (uint8_t)(0xe0 + i + id);
        f->oid[i] = (uint8_t)(0x10 + 3 * i + id);
    }
    f->script = script;
    f->nconns = nconns;
    atomic_init(&f->fd, -1);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *name = f->url + 6;
    memcpy(sa.sun_path + 1, name, strlen(name));
    f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name))),
                     0);
    assert_int_equal(listen(f->lfd, 4), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
    return f;
}

/* The script ran to its end, every connection it did not close itself was closed by the client once nothing
 * needed it (within 5 s), and the client did nothing the script did not expect. */
static void fake_end(struct fake *f, unsigned expect_closed_by_client)
{
    double t0 = now_s();
    while (!atomic_load(&f->ended) && now_s() - t0 < 5.0)
        usleep(5000);
    bool ended = atomic_load(&f->ended);
    if (!ended) {
        int fd = atomic_load(&f->fd);
        if (fd >= 0)
            shutdown(fd, SHUT_RDWR);
        shutdown(f->lfd, SHUT_RDWR);
    }
    pthread_join(f->thread, NULL);
    close(f->lfd);
    unsigned closed = atomic_load(&f->closed_by_client);
    bool failed = atomic_load(&f->failed);
    char why[sizeof(f->failure)];
    snprintf(why, sizeof(why), "%s", f->failure);
    free(f->msg);
    free(f);
    if (failed)
        fail_msg("the fake server: %s", why);
    assert_true(ended);
    assert_int_equal(closed, expect_closed_by_client);
}

static IRpcTest *open_fake(struct fake *f)
{
    IRpcTest *t = NULL;
    HRESULT hr = pcom_create_instance(&CLSID_RpcTest, f->url, &IID_IRpcTest, (void **)&t);
    if (FAILED(hr))
        fail_msg("create_instance(%s): 0x%08x %s", f->url, (unsigned)hr, pcom_error_message());
    assert_non_null(t);
    return t;
}

static void check_get(const byte *buf, uint32_t n, byte seed)
{
    for (uint32_t i = 0; i < n; i += 997)
        assert_int_equal(buf[i], (byte)(seed + i));
    assert_int_equal(buf[n - 1], (byte)(seed + n - 1));
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static size_t heap_growth(const struct fake *f)
{
    size_t base = atomic_load(&f->heap_base), mid = atomic_load(&f->heap_mid);
    assert_true(mid > 0); /* the script sampled it */
    return mid > base ? mid - base : 0;
}

static void set_keepalive(bool short_one)
{
    assert_int_equal(short_one ? pcom_set_keepalive(SHORT_INTERVAL_MS, SHORT_TIMEOUT_MS)
                               : pcom_set_keepalive(LONG_INTERVAL_MS, LONG_TIMEOUT_MS),
                     S_OK);
}

/* A call on a proxy whose connection is gone fails at once. */
static void dead_at_once(IRpcTest *t)
{
    double t0 = now_s();
    assert_int_equal(IRpcTest_Null(t), RPC_E_DISCONNECTED);
    assert_true(now_s() - t0 < 0.5);
}

/* ---- well-formed replies: the fake speaks the protocol, so what the other tests see is the lie's doing ---- */

static void script_serve(struct fake *f, unsigned conn)
{
    (void)conn;
    fk_greet(f);
}

static void well_formed_replies(void **state)
{
    (void)state;
    long blocks = pcom_alloc_live_blocks();
    struct fake *f = fake_start(script_serve, 1);
    IRpcTest *t = open_fake(f);
    assert_int_equal(IRpcTest_Null(t), S_OK);
    byte *buf = malloc(MIB);
    assert_int_equal(IRpcTest_Get(t, 100, 7, buf), S_OK);
    check_get(buf, 100, 7);
    for (byte seed = 9; seed < 11; seed++) { /* back to back: decoded as they arrive */
        memset(buf, 0, MIB);
        assert_int_equal(IRpcTest_Get(t, MIB, seed, buf), S_OK);
        check_get(buf, MIB, seed);
    }
    free(buf);
    for (int32_t n = 10; n <= 40000; n += 39990) {
        int32_t count = -1, *items = NULL;
        assert_int_equal(IRpcTest_Alloc(t, n, &count, &items), S_OK);
        assert_int_equal(count, n);
        assert_non_null(items);
        assert_int_equal(items[n - 1], (n - 1) * (n - 1));
        pcom_free(items);
    }
    IRpcTest_Release(t);
    fake_end(f, 1);
    assert_int_equal(pcom_alloc_live_blocks(), blocks);
}

/* ---- a huge body announced, a little of it sent ---- */

#define HUGE_BODY (60u * MIB)

/* Each connection answers its first call with the start of a 60 MiB body, stalls while the test's process is
 * measured, and hangs up. */
static void script_huge_then_close(struct fake *f, unsigned conn)
{
    fk_greet(f);
    uint8_t some[4096];
    memset(some, 0x5c, sizeof(some));
    struct rb r = {0};
    uint32_t id;
    switch (conn) {
    case 0: /* Alloc: counts that match the announced length, values that never come */
        id = fk_call(f, M_ALLOC);
        rb_alloc(&r, (HUGE_BODY - 20) / 4, 1, (HUGE_BODY - 20) / 4, 0);
        fk_head(f, RESPONSE, id, HUGE_BODY);
        break;
    case 1: /* Get: the array the caller's buffer holds, but 60 MiB of it */
        id = fk_call(f, M_GET);
        rb_hr(&r, S_OK);
        rb_u32(&r, HUGE_BODY - 12);
        fk_head(f, RESPONSE, id, HUGE_BODY);
        break;
    case 2: /* a FAULT is read whole before it is looked at */
        id = fk_call(f, M_NULL);
        rb_hr(&r, E_FAIL);
        rb_u32(&r, HUGE_BODY - 12);
        fk_head(f, FAULT, id, HUGE_BODY);
        break;
    default: /* an answer to no call, read whole to be dropped */
        id = fk_call(f, M_NULL);
        rb_hr(&r, S_OK);
        fk_head(f, RESPONSE, id ^ 0x40000000u, HUGE_BODY);
        break;
    }
    fk_write(f, r.b, r.n);
    free(r.b);
    fk_write(f, some, sizeof(some));
    fk_sample_heap(f, 400);
    fk_hangup(f);
}

static void huge_body_then_close(void **state)
{
    (void)state;
    long blocks = pcom_alloc_live_blocks();
    struct fake *f = fake_start(script_huge_then_close, 4);
    byte *buf = malloc(MIB);
    for (int conn = 0; conn < 4; conn++) {
        IRpcTest *t = open_fake(f);
        int32_t count = -1, *items = (int32_t *)1;
        memset(buf, 0x55, MIB);
        atomic_store(&f->heap_base, heap_in_use());
        atomic_store(&f->heap_mid, 0);
        double t0 = now_s();
        HRESULT hr = conn == 0 ? IRpcTest_Alloc(t, 5, &count, &items)
                     : conn == 1 ? IRpcTest_Get(t, MIB, 1, buf)
                                 : IRpcTest_Null(t);
        double took = now_s() - t0;
        assert_int_equal(hr, RPC_E_DISCONNECTED);
        assert_true(took < 3.0); /* the hang-up ended it, long before the keepalive would have */
        assert_true(heap_growth(f) < HEAP_BOUND);
        if (conn == 0) {
            assert_null(items);
            assert_int_equal(count, 0);
        }
        if (conn == 1)
            assert_true(all_zero(buf, MIB));
        dead_at_once(t);
        IRpcTest_Release(t);
        assert_int_equal(pcom_alloc_live_blocks(), blocks);
    }
    free(buf);
    fake_end(f, 0);
}

/* The same, but the server stays silent with the connection open: the keepalive ends it. */
static void script_huge_then_stall(struct fake *f, unsigned conn)
{
    fk_greet(f);
    uint32_t id = fk_call(f, conn == 0 ? M_ALLOC : M_GET);
    struct rb r = {0};
    if (conn == 0) {
        rb_alloc(&r, (HUGE_BODY - 20) / 4, 1, (HUGE_BODY - 20) / 4, 16);
        fk_head(f, RESPONSE, id, HUGE_BODY);
    } else { /* a small reply that stops half way: read whole before it is decoded */
        rb_get(&r, 1000, 100, 3);
        fk_head(f, RESPONSE, id, 12 + 1000);
    }
    fk_write(f, r.b, r.n);
    free(r.b);
    fk_sample_heap(f, 300);
    fk_hold(f);
}

static void huge_body_then_stall(void **state)
{
    (void)state;
    set_keepalive(true);
    long blocks = pcom_alloc_live_blocks();
    struct fake *f = fake_start(script_huge_then_stall, 2);
    byte buf[1000];
    for (int conn = 0; conn < 2; conn++) {
        IRpcTest *t = open_fake(f);
        int32_t count = -1, *items = (int32_t *)1;
        memset(buf, 0x55, sizeof(buf));
        atomic_store(&f->heap_base, heap_in_use());
        atomic_store(&f->heap_mid, 0);
        double t0 = now_s();
        HRESULT hr = conn == 0 ? IRpcTest_Alloc(t, 5, &count, &items) : IRpcTest_Get(t, sizeof(buf), 3, buf);
        double took = now_s() - t0;
        assert_int_equal(hr, RPC_E_DISCONNECTED);
        /* declared dead between the timeout and half an interval later; the rest is margin for a loaded host */
        assert_true(took >= SHORT_TIMEOUT_MS / 1000.0 * 0.9);
        assert_true(took < SHORT_TIMEOUT_MS / 1000.0 + 3.0);
        assert_true(heap_growth(f) < HEAP_BOUND);
        if (conn == 0) {
            assert_null(items);
            assert_int_equal(count, 0);
        } else {
            assert_true(all_zero(buf, sizeof(buf)));
        }
        dead_at_once(t);
        IRpcTest_Release(t);
        assert_int_equal(pcom_alloc_live_blocks(), blocks);
    }
    set_keepalive(false);
    fake_end(f, 2);
}

/* A 60 MiB array for a 1 MiB buffer, all of it sent: refused, read past without being kept, and the stream goes on. */
static void script_huge_sent_in_full(struct fake *f, unsigned conn)
{
    (void)conn;
    fk_greet(f);
    for (int twice = 0; twice < 2; twice++) {
        uint32_t id = fk_call(f, M_GET);
        struct rb r = {0};
        rb_hr(&r, S_OK);
        rb_u32(&r, HUGE_BODY - 12);
        fk_head(f, RESPONSE, id, HUGE_BODY);
        fk_write(f, r.b, r.n);
        free(r.b);
        static uint8_t chunk[MIB];
        memset(chunk, 0x77, sizeof(chunk));
        size_t left = HUGE_BODY - 12;
        for (unsigned k = 0; left; k++) {
            size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
            fk_write(f, chunk, n);
            left -= n;
            if (k == 30) /* half way, the client reading along */
                atomic_store(&f->heap_mid, heap_in_use());
        }
    }
}

static void huge_array_sent_in_full(void **state)
{
    (void)state;
    long blocks = pcom_alloc_live_blocks();
    struct fake *f = fake_start(script_huge_sent_in_full, 1);
    IRpcTest *t = open_fake(f);
    byte *buf = malloc(MIB);
    /* Decoded as it arrives, the array is refused at its count and read past with nothing kept: whether the
     * caller reads its own reply, or the connection's reader thread does (the connection idle a moment before the
     * call, longer than the reader thread stands aside for callers). */
    for (int idle = 0; idle < 2; idle++) {
        if (idle)
            usleep(20000);
        memset(buf, 0x55, MIB);
        atomic_store(&f->heap_mid, 0);
        atomic_store(&f->heap_base, heap_in_use());
        assert_int_equal(IRpcTest_Get(t, MIB, 1, buf), RPC_E_INVALID_DATA);
        assert_true(heap_growth(f) < HEAP_BOUND);
        assert_true(all_zero(buf, MIB));
    }
    assert_int_equal(IRpcTest_Get(t, MIB, 2, buf), S_OK);
    check_get(buf, MIB, 2);
    free(buf);
    IRpcTest_Release(t);
    fake_end(f, 1);
    assert_int_equal(pcom_alloc_live_blocks(), blocks);
}

/* ---- a failure HRESULT with junk after it ---- */

static void script_failure_with_junk(struct fake *f, unsigned conn)
{
    (void)conn;
    fk_greet(f);
    /* a message to be replaced: a RESPONSE carries none */
    fk_fault(f, fk_call(f, M_NULL), E_ACCESSDENIED, "first");
    static const struct {
        uint16_t method;
        HRESULT hr;
        uint32_t junk;
    } lies[] = {
        {M_GET, E_ACCESSDENIED, 128 * 1024}, {M_GET, E_FAIL, 2048},         {M_ALLOC, E_OUTOFMEMORY, 100 * 1024},
        {M_ALLOC, E_FAIL, 100},              {M_GET, E_ABORT, 70 * 1024},   {M_GET, E_ABORT, 70 * 1024},
    };
    for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
        uint32_t id = fk_call(f, lies[i].method);
        struct rb r = {0};
        rb_hr(&r, lies[i].hr);
        rb_fill(&r, 0xab, lies[i].junk);
        rb_send(f, RESPONSE, id, &r);
    }
}

static void failure_with_junk(void **state)
{
    (void)state;
    long blocks = pcom_alloc_live_blocks();
    struct fake *f = fake_start(script_failure_with_junk, 1);
    IRpcTest *t = open_fake(f);
    assert_int_equal(IRpcTest_Null(t), E_ACCESSDENIED);
    assert_string_equal(pcom_error_message(), "first");
    byte *buf = malloc(MIB);
    memset(buf, 0x55, MIB);
    assert_int_equal(IRpcTest_Get(t, MIB, 1, buf), E_ACCESSDENIED); /* large: decoded as it arrives */
    assert_string_equal(pcom_error_message(), "");
    assert_true(all_zero(buf, MIB));
    memset(buf, 0x55, 1000);
    assert_int_equal(IRpcTest_Get(t, 1000, 1, buf), E_FAIL); /* small: read whole */
    assert_true(all_zero(buf, 1000));
    for (int k = 0; k < 2; k++) {
        int32_t count = 7, *items = (int32_t *)1;
        assert_int_equal(IRpcTest_Alloc(t, 10, &count, &items), k ? E_FAIL : E_OUTOFMEMORY);
        assert_null(items);
        assert_int_equal(count, 0);
    }
    for (int k = 0; k < 2; k++) { /* back to back */
        memset(buf, 0x55, MIB);
        assert_int_equal(IRpcTest_Get(t, MIB, 1, buf), E_ABORT);
        assert_true(all_zero(buf, MIB));
    }
    /* the stream is where it should be: the next answers are read as answers */
    assert_int_equal(IRpcTest_Get(t, MIB, 4, buf), S_OK);
    check_get(buf, MIB, 4);
    assert_int_equal(IRpcTest_Null(t), S_OK);
    free(buf);
    IRpcTest_Release(t);
    fake_end(f, 1);
    assert_int_equal(pcom_alloc_live_blocks(), blocks);
}

/* ---- results that disagree with the call, in whole messages: refused, and the connection goes on ---- */

static void script_results_disagree(struct fake *f, unsigned conn)
{
    (void)conn;
    fk_greet(f);
    struct rb r = {0};
    uint32_t id;
    /* Get: an array longer than the caller's buffer, small and large */
    id = fk_call(f, M_GET);
    rb_get(&r, 2000, 2000, 1);
    rb_send(f, RESPONSE, id, &r);
    id = fk_call(f, M_GET);
    rb_get(&r, 140000, 140000, 1);
    rb_send(f, RESPONSE, id, &r);
    /* Get: shorter than asked */
    id = fk_call(f, M_GET);
    rb_get(&r, 500, 500, 1);
    rb_send(f, RESPONSE, id, &r);
    /* Get: a count the bytes do not back, in a complete message */
    id = fk_call(f, M_GET);
    rb_get(&r, 1000, 100, 1);
    rb_send(f, RESPONSE, id, &r);
    /* Get: trailing bytes, small and large */
    id = fk_call(f, M_GET);
    rb_get(&r, 1000, 1000, 1);
    rb_fill(&r, 0, 16);
    rb_send(f, RESPONSE, id, &r);
    id = fk_call(f, M_GET);
    rb_get(&r, 70000, 70000, 1);
    rb_fill(&r, 0, 16);
    rb_send(f, RESPONSE, id, &r);
    /* Alloc: *count and the array's count differ, small and large */
    id = fk_call(f, M_ALLOC);
    rb_alloc(&r, 10, 1, 20, 20);
    rb_send(f, RESPONSE, id, &r);
    id = fk_call(f, M_ALLOC);
    rb_alloc(&r, 20000, 1, 40000, 40000);
    rb_send(f, RESPONSE, id, &r);
    id = fk_call(f, M_ALLOC);
    rb_alloc(&r, 40000, 1, 20000, 20000);
    rb_send(f, RESPONSE, id, &r);
    /* Alloc: a million values announced, a hundred (small) or 25,000 (large) present */
    id = fk_call(f, M_ALLOC);
    rb_alloc(&r, 1000000, 1, 1000000, 100);
    rb_send(f, RESPONSE, id, &r);
    id = fk_call(f, M_ALLOC);
    rb_alloc(&r, 1000000, 1, 1000000, 25000);
    rb_send(f, RESPONSE, id, &r);
    /* Alloc: a marker that is neither 0 nor 1 */
    id = fk_call(f, M_ALLOC);
    rb_alloc(&r, 10, 2, 10, 10);
    rb_send(f, RESPONSE, id, &r);
    /* Alloc: the body ends after *count */
    id = fk_call(f, M_ALLOC);
    rb_hr(&r, S_OK);
    rb_u32(&r, 10);
    rb_send(f, RESPONSE, id, &r);
    /* Null: results for a method that has none, small and large */
    id = fk_call(f, M_NULL);
    rb_hr(&r, S_OK);
    rb_fill(&r, 0xcd, 8);
    rb_send(f, RESPONSE, id, &r);
    id = fk_call(f, M_NULL);
    rb_hr(&r, S_OK);
    rb_fill(&r, 0xcd, 100 * 1024);
    rb_send(f, RESPONSE, id, &r);
    /* a body too short for its HRESULT */
    id = fk_call(f, M_NULL);
    rb_u32(&r, 0);
    rb_send(f, RESPONSE, id, &r);
}

static void results_disagree(void **state)
{
    (void)state;
    long blocks = pcom_alloc_live_blocks();
    struct fake *f = fake_start(script_results_disagree, 1);
    IRpcTest *t = open_fake(f);
    /* buffers of exactly the size asked, so a write past them is the sanitizer's to see */
    byte *small = malloc(1000), *large = malloc(70000);
    static const uint32_t get_n[] = {1000, 70000, 1000, 1000, 1000, 70000};
    for (size_t i = 0; i < sizeof(get_n) / sizeof(get_n[0]); i++) {
        byte *buf = get_n[i] == 1000 ? small : large;
        memset(buf, 0x55, get_n[i]);
        assert_int_equal(IRpcTest_Get(t, get_n[i], 1, buf), RPC_E_INVALID_DATA);
        assert_true(all_zero(buf, get_n[i]));
        assert_true(pcom_error_message()[0] != 0);
    }
    for (int i = 0; i < 7; i++) {
        int32_t count = 7, *items = (int32_t *)1;
        assert_int_equal(IRpcTest_Alloc(t, 10, &count, &items), RPC_E_INVALID_DATA);
        assert_null(items);
        assert_int_equal(count, 0);
        assert_int_equal(pcom_alloc_live_blocks(), blocks);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(IRpcTest_Null(t), RPC_E_INVALID_DATA);
    /* every message was whole: the connection goes on */
    assert_int_equal(IRpcTest_Get(t, 70000, 5, large), S_OK);
    check_get(large, 70000, 5);
    int32_t count = 0, *items = NULL;
    assert_int_equal(IRpcTest_Alloc(t, 30000, &count, &items), S_OK);
    assert_int_equal(count, 30000);
    assert_int_equal(items[29999], 29999 * 29999);
    pcom_free(items);
    free(small);
    free(large);
    IRpcTest_Release(t);
    fake_end(f, 1);
    assert_int_equal(pcom_alloc_live_blocks(), blocks);
}

/* ---- replies cut short by a hang-up ---- */

/* the cases of script_truncated: each a reply that never comes whole */
enum { NTRUNCATED = 6 };

static void script_truncated(struct fake *f, unsigned conn)
{
    fk_greet(f);
    struct rb r = {0};
    uint32_t id = fk_call(f, conn == 2 ? M_ALLOC : M_GET);
    uint32_t len;
    switch (conn) {
    case 0: /* large: decoded as it arrives */
        rb_get(&r, MIB, MIB, 1);
        len = (uint32_t)r.n;
        break;
    case 1: /* small: read whole first */
        rb_get(&r, 1000, 1000, 1);
        len = (uint32_t)r.n;
        break;
    case 2:
        rb_alloc(&r, 40000, 1, 40000, 40000);
        len = (uint32_t)r.n;
        break;
    case 3: /* a failure whose junk never ends, small */
        rb_hr(&r, E_ACCESSDENIED);
        rb_fill(&r, 0xab, 2000);
        len = (uint32_t)r.n * 2;
        break;
    case 4: /* large, cut inside its HRESULT */
        rb_u32(&r, 0);
        len = 128 * 1024;
        break;
    default: /* a failure whose junk never ends, large */
        rb_hr(&r, E_ACCESSDENIED);
        rb_fill(&r, 0xab, 64 * 1024);
        len = (uint32_t)r.n * 2;
        break;
    }
    fk_head(f, RESPONSE, id, len);
    fk_write(f, r.b, len == r.n ? r.n / 2 : r.n);
    free(r.b);
    usleep(100000); /* the client is inside the body by now */
    fk_hangup(f);
}

/* A reply that never ends is no answer: whatever its first bytes said, the call fails as the connection does. */
static void truncated_then_closed(void **state)
{
    (void)state;
    long blocks = pcom_alloc_live_blocks();
    struct fake *f = fake_start(script_truncated, NTRUNCATED);
    byte *buf = malloc(MIB);
    for (int conn = 0; conn < NTRUNCATED; conn++) {
        IRpcTest *t = open_fake(f);
        memset(buf, 0x55, MIB);
        if (conn != 2) {
            uint32_t n = conn == 0 ? MIB : 1000;
            HRESULT hr = IRpcTest_Get(t, n, 1, buf);
            if (hr != RPC_E_DISCONNECTED)
                fail_msg("truncated reply %d: 0x%08x (%s)", conn, (unsigned)hr, pcom_error_message());
            assert_true(all_zero(buf, n));
        } else {
            int32_t count = 7, *items = (int32_t *)1;
            assert_int_equal(IRpcTest_Alloc(t, 40000, &count, &items), RPC_E_DISCONNECTED);
            assert_null(items);
            assert_int_equal(count, 0);
        }
        dead_at_once(t);
        IRpcTest_Release(t);
        assert_int_equal(pcom_alloc_live_blocks(), blocks);
    }
    free(buf);
    fake_end(f, 0);
}

/* ---- faults ---- */

static void script_faults(struct fake *f, unsigned conn)
{
    (void)conn;
    fk_greet(f);
    struct rb r = {0};
    fk_fault(f, fk_call(f, M_GET), E_ACCESSDENIED, "the vault is closed");
    /* a message length beyond the body */
    uint32_t id = fk_call(f, M_GET);
    rb_hr(&r, E_FAIL);
    rb_u32(&r, 1000);
    rb_put(&r, "abcde", 5);
    rb_send(f, FAULT, id, &r);
    id = fk_call(f, M_GET);
    rb_hr(&r, E_FAIL);
    rb_u32(&r, 0xffffffffu);
    rb_put(&r, "abcde", 5);
    rb_send(f, FAULT, id, &r);
    /* no message at all, and not even a whole HRESULT */
    id = fk_call(f, M_GET);
    rb_hr(&r, E_UNEXPECTED);
    rb_send(f, FAULT, id, &r);
    id = fk_call(f, M_GET);
    rb_u32(&r, (uint32_t)E_FAIL);
    rb_send(f, FAULT, id, &r);
    /* a fault that claims success */
    fk_fault(f, fk_call(f, M_GET), S_OK, "fine");
    fk_fault(f, fk_call(f, M_ALLOC), S_FALSE, "fine");
    /* a large fault: its message is cut to what the client keeps */
    id = fk_call(f, M_GET);
    rb_hr(&r, E_INVALIDARG);
    rb_u32(&r, 100000);
    for (int i = 0; i < 100000; i++)
        rb_put(&r, &"0123456789"[i % 10], 1);
    rb_send(f, FAULT, id, &r);
}

static void faults(void **state)
{
    (void)state;
    long blocks = pcom_alloc_live_blocks();
    struct fake *f = fake_start(script_faults, 1);
    IRpcTest *t = open_fake(f);
    byte buf[1000];
    static const struct {
        HRESULT hr;
        const char *msg;
    } expect[] = {
        {E_ACCESSDENIED, "the vault is closed"},
        {E_FAIL, ""},
        {E_FAIL, ""},
        {E_UNEXPECTED, ""},
        {RPC_E_INVALID_DATA, NULL},
        {RPC_E_INVALID_DATA, NULL},
    };
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        memset(buf, 0x55, sizeof(buf));
        assert_int_equal(IRpcTest_Get(t, sizeof(buf), 1, buf), expect[i].hr);
        if (expect[i].msg)
            assert_string_equal(pcom_error_message(), expect[i].msg);
        assert_true(all_zero(buf, sizeof(buf)));
    }
    int32_t count = 7, *items = (int32_t *)1;
    assert_int_equal(IRpcTest_Alloc(t, 10, &count, &items), RPC_E_INVALID_DATA);
    assert_null(items);
    assert_int_equal(count, 0);
    memset(buf, 0x55, sizeof(buf));
    assert_int_equal(IRpcTest_Get(t, sizeof(buf), 1, buf), E_INVALIDARG);
    assert_true(all_zero(buf, sizeof(buf)));
    const char *msg = pcom_error_message();
    assert_int_equal(strlen(msg), 1023);
    assert_memory_equal(msg, "0123456789012", 13);
    assert_int_equal(IRpcTest_Null(t), S_OK);
    IRpcTest_Release(t);
    fake_end(f, 1);
    assert_int_equal(pcom_alloc_live_blocks(), blocks);
}

/* ---- messages that answer nothing in flight, or are not answers: set aside, the call goes on ---- */

static const uint8_t forged_oid[16] = {0xf0, 0x0d, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};

static void script_stray(struct fake *f, unsigned conn)
{
    (void)conn;
    fk_greet(f);
    struct rb r = {0};
    uint8_t h[56];
    /* answers to no call, before the real one: small, large, call id 0 */
    uint32_t id = fk_call(f, M_GET);
    rb_get(&r, 1000, 1000, 99);
    rb_send(f, RESPONSE, id ^ 0x00100000u, &r);
    rb_get(&r, MIB, MIB, 98);
    rb_send(f, RESPONSE, id + 1, &r);
    fk_fault(f, 0, E_FAIL, "to nobody");
    rb_get(&r, 1000, 1000, 1);
    rb_send(f, RESPONSE, id, &r);
    /* the answer twice: the second arrives while the next call waits, before its own answer */
    id = fk_call(f, M_GET);
    rb_get(&r, MIB, MIB, 2);
    rb_send(f, RESPONSE, id, &r);
    rb_get(&r, MIB, MIB, 2);
    rb_send(f, RESPONSE, id, &r);
    uint32_t id2 = fk_call(f, M_GET);
    rb_get(&r, MIB, MIB, 2);
    rb_send(f, RESPONSE, id, &r);
    rb_get(&r, 1000, 1000, 2);
    rb_send(f, RESPONSE, id, &r);
    rb_get(&r, MIB, MIB, 3);
    rb_send(f, RESPONSE, id2, &r);
    /* during a call: a PING is answered with a PONG that copies it */
    id = fk_call(f, M_NULL);
    raw_header(h, PING, 4242, 0, 0, NULL, NULL);
    fk_write(f, h, 56);
    int t;
    while ((t = fk_read(f)) == PING)
        ;
    if (t != PONG || msg_call_id(f) != 4242)
        fk_fail(f, "a PING was answered with type %d call id %u", t, msg_call_id(f));
    fk_head(f, PONG, 77, 0); /* unasked */
    /* a second HELLO, well formed, of another exporter: checked and ignored */
    uint8_t other[16];
    memset(other, 0x99, sizeof(other));
    fk_hello(f, other);
    /* a REQUEST to an object the client never exported: a FAULT saying so, and the client goes on */
    raw_header(h, REQUEST, 0x123, 0, 3, forged_oid, &IID_IRpcTest);
    fk_write(f, h, 56);
    t = fk_next(f);
    if (t != FAULT || msg_call_id(f) != 0x123 || msg_u32(f, 56) != (uint32_t)RPC_E_DISCONNECTED)
        fk_fail(f, "a call to a forged object was answered with type %d id 0x%x hr 0x%08x", t, msg_call_id(f),
                msg_u32(f, 56));
    /* the client's system object, at a slot it does not have */
    raw_header(h, REQUEST, 0x124, 0, 999, NULL, &system_iid);
    fk_write(f, h, 56);
    t = fk_next(f);
    if (t != FAULT || msg_call_id(f) != 0x124 || msg_u32(f, 56) != (uint32_t)RPC_E_INVALID_HEADER)
        fk_fail(f, "a call to a bad system slot was answered with type %d id 0x%x hr 0x%08x", t, msg_call_id(f),
                msg_u32(f, 56));
    /* one-way, to the forged object: no answer (the Null's answer below must be the next thing we read) */
    raw_header(h, REQUEST, 0x125, 0, 3, forged_oid, &IID_IRpcTest);
    h[6] = 1;
    fk_write(f, h, 56);
    rb_hr(&r, S_OK);
    rb_send(f, RESPONSE, id, &r);
}

static void stray_messages(void **state)
{
    (void)state;
    long blocks = pcom_alloc_live_blocks();
    struct fake *f = fake_start(script_stray, 1);
    IRpcTest *t = open_fake(f);
    byte *buf = malloc(MIB);
    assert_int_equal(IRpcTest_Get(t, 1000, 1, buf), S_OK);
    check_get(buf, 1000, 1);
    assert_int_equal(IRpcTest_Get(t, MIB, 2, buf), S_OK);
    check_get(buf, MIB, 2);
    assert_int_equal(IRpcTest_Get(t, MIB, 3, buf), S_OK);
    check_get(buf, MIB, 3); /* its own answer, not the stale ones that came first */
    assert_int_equal(IRpcTest_Null(t), S_OK);
    /* the server saw what it expected before answering: the stream is in step */
    assert_int_equal(IRpcTest_Get(t, MIB, 6, buf), S_OK);
    check_get(buf, MIB, 6);
    free(buf);
    IRpcTest_Release(t);
    fake_end(f, 1);
    assert_int_equal(pcom_alloc_live_blocks(), blocks);
}

/* ---- protocol errors mid-stream: the client closes the connection, and every call on it fails ---- */

enum { NPROTOCOL_ERRORS = 9 };

static void script_protocol_errors(struct fake *f, unsigned conn)
{
    fk_greet(f);
    uint32_t id = fk_call(f, M_GET);
    uint8_t h[56];
    raw_header(h, RESPONSE, id, 12 + 1000, 0, NULL, NULL);
    switch (conn) {
    case 0: /* the wrong magic */
        h[0] ^= 0xff;
        break;
    case 1: /* another version */
        h[4] = 2;
        break;
    case 2: /* a type version 1 does not have */
        h[5] = 8;
        break;
    case 3: /* a flag on an answer */
        h[6] = 1;
        break;
    case 4: /* a body above the client's limit (64 MiB) */
        raw_header(h, RESPONSE, id, 64 * MIB + 1, 0, NULL, NULL);
        break;
    case 5: /* the end, said politely */
        raw_header(h, CLOSE, 0, 0, 0, NULL, NULL);
        break;
    case 6: /* a later HELLO is checked: nine endpoints is malformed */
    {
        struct rb r = {0};
        rb_put(&r, f->exporter, 16);
        rb_u32(&r, 9);
        for (int i = 0; i < 9; i++) {
            rb_u32(&r, 12);
            rb_put(&r, "unix:@nobody", 12);
        }
        rb_send(f, HELLO, 0, &r);
        fk_hold(f);
        return;
    }
    case 7: /* noise */
        memset(h, 0xff, sizeof(h));
        break;
    default: /* a flag on a PING */
        raw_header(h, PING, 0, 0, 0, NULL, NULL);
        h[6] = 1;
        break;
    }
    fk_write(f, h, 56);
    fk_hold(f);
}

static void protocol_errors(void **state)
{
    (void)state;
    long blocks = pcom_alloc_live_blocks();
    struct fake *f = fake_start(script_protocol_errors, NPROTOCOL_ERRORS);
    byte buf[1000];
    for (int conn = 0; conn < NPROTOCOL_ERRORS; conn++) {
        IRpcTest *t = open_fake(f);
        memset(buf, 0x55, sizeof(buf));
        double t0 = now_s();
        assert_int_equal(IRpcTest_Get(t, sizeof(buf), 1, buf), RPC_E_DISCONNECTED);
        assert_true(now_s() - t0 < 3.0); /* at once, not when the keepalive gives up (10 s) */
        assert_true(all_zero(buf, sizeof(buf)));
        dead_at_once(t);
        IRpcTest_Release(t);
    }
    fake_end(f, NPROTOCOL_ERRORS); /* the client closed each connection itself */
    assert_int_equal(pcom_alloc_live_blocks(), blocks);
}

/* ---- the greeting ---- */

enum { NGREETINGS = 9 };

static void script_greetings(struct fake *f, unsigned conn)
{
    if (fk_next(f) != HELLO)
        fk_fail(f, "the client did not start with HELLO");
    if (conn == 0) { /* never answers */
        fk_hold(f);
        return;
    }
    struct rb r = {0};
    uint8_t zero[16] = {0};
    switch (conn) {
    case 1: /* nine endpoints */
        rb_put(&r, f->exporter, 16);
        rb_u32(&r, 9);
        for (int i = 0; i < 9; i++) {
            rb_u32(&r, 12);
            rb_put(&r, "unix:@nobody", 12);
        }
        break;
    case 2: /* no exporter id */
        rb_put(&r, zero, 16);
        rb_u32(&r, 0);
        break;
    case 3: /* a byte after the last endpoint */
        rb_put(&r, f->exporter, 16);
        rb_u32(&r, 0);
        rb_fill(&r, 0, 1);
        break;
    case 4: /* an empty URL */
        rb_put(&r, f->exporter, 16);
        rb_u32(&r, 1);
        rb_u32(&r, 0);
        break;
    case 5: /* a URL of 288 bytes */
        rb_put(&r, f->exporter, 16);
        rb_u32(&r, 1);
        rb_u32(&r, 288);
        rb_put(&r, "unix:@", 6);
        rb_fill(&r, 'x', 282);
        break;
    case 6: /* a URL longer than the body */
        rb_put(&r, f->exporter, 16);
        rb_u32(&r, 1);
        rb_u32(&r, 100);
        rb_put(&r, "unix:@x", 7);
        break;
    case 7: /* too short for its exporter id */
        rb_put(&r, f->exporter, 10);
        break;
    default: /* a well-formed greeting, then CreateInstance refused with a message */
        fk_hello(f, f->exporter);
        fk_fault(f, fk_call(f, SYS_CREATE_INSTANCE), REGDB_E_CLASSNOTREG, "no such class here");
        return;
    }
    rb_send(f, HELLO, 0, &r);
    fk_hold(f);
}

static void greetings(void **state)
{
    (void)state;
    long blocks = pcom_alloc_live_blocks();
    struct fake *f = fake_start(script_greetings, NGREETINGS);
    for (int conn = 0; conn < NGREETINGS; conn++) {
        set_keepalive(conn == 0); /* the wait for a greeting is the keepalive timeout when connecting */
        void *p = (void *)1;
        double t0 = now_s();
        HRESULT hr = pcom_create_instance(&CLSID_RpcTest, f->url, &IID_IRpcTest, &p);
        double took = now_s() - t0;
        assert_null(p);
        if (conn == NGREETINGS - 1) {
            assert_int_equal(hr, REGDB_E_CLASSNOTREG);
            assert_string_equal(pcom_error_message(), "no such class here");
            continue;
        }
        assert_int_equal(hr, RPC_E_DISCONNECTED);
        assert_non_null(strstr(pcom_error_message(), "did not answer as a pcom peer"));
        if (conn == 0) {
            assert_true(took >= SHORT_TIMEOUT_MS / 1000.0 * 0.9);
            assert_true(took < SHORT_TIMEOUT_MS / 1000.0 + 3.0);
        } else {
            assert_true(took < 3.0); /* a malformed greeting ends the connection at once */
        }
    }
    set_keepalive(false);
    fake_end(f, NGREETINGS);
    assert_int_equal(pcom_alloc_live_blocks(), blocks);
}

/* ---- CreateInstance answered with references that are not ---- */

/* How each bent reference ends, in the order the script sends them. */
static const HRESULT bent_expect[] = {
    RPC_E_INVALID_DATA, /* flags 0 */
    RPC_E_INVALID_DATA, /* flags 3 */
    RPC_E_INVALID_DATA, /* CONN, exporter not the peer */
    RPC_E_INVALID_DATA, /* exporter id zero */
    RPC_E_INVALID_DATA, /* object id zero */
    RPC_E_INVALID_DATA, /* nine endpoints */
    RPC_E_INVALID_DATA, /* an empty endpoint */
    RPC_E_INVALID_DATA, /* an endpoint of 288 bytes */
    RPC_E_INVALID_DATA, /* a byte after the last endpoint */
    RPC_E_INVALID_DATA, /* 71 bytes */
    RPC_E_INVALID_DATA, /* a length beyond the body */
    RPC_E_INVALID_DATA, /* 5000 bytes */
    RPC_E_INVALID_DATA, /* a large reply: the reference, then 100 KiB after it */
    RPC_E_DISCONNECTED, /* TOKEN, no endpoint to claim it at */
    RPC_E_DISCONNECTED, /* TOKEN, an endpoint nobody listens at */
    E_NOINTERFACE,      /* an interface this process has no tables for */
};
enum { NBENT = sizeof(bent_expect) / sizeof(bent_expect[0]) };

static const IID unknown_iid = {0x12345678, 0x9abc, 0xdef0, {1, 2, 3, 4, 5, 6, 7, 8}};

static void script_bent_refs(struct fake *f, unsigned conn)
{
    (void)conn;
    fk_greet(f); /* the good one the test keeps, so the connection stays */
    for (int i = 0; i < NBENT; i++) {
        uint32_t id = fk_call(f, SYS_CREATE_INSTANCE);
        struct objref o = good_ref(f);
        struct rb r = {0};
        uint8_t tail[300] = {0};
        uint32_t tail_len = 0;
        switch (i) {
        case 0:
            o.flags = 0;
            break;
        case 1:
            o.flags = 3;
            break;
        case 2:
            o.exporter[0] ^= 1;
            break;
        case 3:
            memset(o.exporter, 0, 16);
            break;
        case 4:
            memset(o.oid, 0, 16);
            break;
        case 5:
            o.nendpoints = 9;
            for (int k = 0; k < 9; k++) {
                memcpy(tail + tail_len, &(uint32_t){12}, 4);
                memcpy(tail + tail_len + 4, "unix:@nobody", 12);
                tail_len += 16;
            }
            break;
        case 6:
            o.nendpoints = 1;
            tail_len = 4; /* a length of 0 */
            break;
        case 7:
            o.nendpoints = 1;
            memcpy(tail, &(uint32_t){288}, 4);
            memcpy(tail + 4, "unix:@", 6);
            memset(tail + 10, 'x', 282);
            tail_len = 4 + 288;
            break;
        case 8:
            tail_len = 1;
            break;
        case 9:
            rb_hr(&r, S_OK);
            rb_u32(&r, 71);
            rb_objref(&r, &o);
            r.n--;
            break;
        case 10:
            rb_hr(&r, S_OK);
            rb_u32(&r, 200);
            rb_objref(&r, &o);
            break;
        case 11:
            rb_hr(&r, S_OK);
            rb_u32(&r, 5000);
            rb_objref(&r, &o);
            rb_fill(&r, 0, 5000 - 72);
            break;
        case 12:
            rb_hr(&r, S_OK);
            rb_u32(&r, 72);
            rb_objref(&r, &o);
            rb_fill(&r, 0, 100 * 1024);
            break;
        case 13:
            o.flags = 2;
            o.oid[0] ^= 0x80; /* another object: a proxy for the good one would be reused without a claim */
            memset(o.token, 0x3c, 16);
            break;
        case 14:
            o.flags = 2;
            o.oid[0] ^= 0x80;
            memset(o.token, 0x3c, 16);
            o.nendpoints = 1;
            memcpy(tail, &(uint32_t){25}, 4);
            memcpy(tail + 4, "unix:@pcom-hostile-nobody", 25);
            tail_len = 29;
            break;
        default:
            o.iid = unknown_iid;
            o.oid[0] ^= 0x40;
            memcpy(f->watch_oid, o.oid, 16);
            break;
        }
        if (r.n)
            rb_send(f, RESPONSE, id, &r);
        else
            fk_created(f, id, &o, tail, tail_len);
    }
}

static void bent_references(void **state)
{
    (void)state;
    long blocks = pcom_alloc_live_blocks();
    struct fake *f = fake_start(script_bent_refs, 1);
    IRpcTest *good = open_fake(f);
    for (int i = 0; i < NBENT; i++) {
        void *p = (void *)1;
        HRESULT hr = pcom_create_instance(&CLSID_RpcTest, f->url, &IID_IRpcTest, &p);
        if (hr != bent_expect[i])
            fail_msg("reference %d: 0x%08x (%s), expected 0x%08x", i, (unsigned)hr, pcom_error_message(),
                     (unsigned)bent_expect[i]);
        assert_null(p);
        assert_int_equal(pcom_alloc_live_blocks(), blocks);
    }
    /* the reference refused for want of tables is given back, in the next batch of releases */
    double t0 = now_s();
    while (atomic_load(&f->watch_released) == 0 && now_s() - t0 < 3.0)
        assert_int_equal(IRpcTest_Null(good), S_OK);
    assert_int_equal(atomic_load(&f->watch_released), 1);
    assert_int_equal(IRpcTest_Null(good), S_OK);
    IRpcTest_Release(good);
    fake_end(f, 1);
    assert_int_equal(pcom_alloc_live_blocks(), blocks);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (FAILED(pcom_set_keepalive(LONG_INTERVAL_MS, LONG_TIMEOUT_MS)))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(well_formed_replies),
        cmocka_unit_test(huge_body_then_close),
        cmocka_unit_test(huge_body_then_stall),
        cmocka_unit_test(huge_array_sent_in_full),
        cmocka_unit_test(failure_with_junk),
        cmocka_unit_test(results_disagree),
        cmocka_unit_test(truncated_then_closed),
        cmocka_unit_test(faults),
        cmocka_unit_test(stray_messages),
        cmocka_unit_test(protocol_errors),
        cmocka_unit_test(greetings),
        cmocka_unit_test(bent_references),
    };
    return cmocka_run_group_tests_name("client facing a hostile server", tests, NULL, NULL);
}
