/* test_rpc.c: remote calls between real processes over every transport, and the same calls in process: every
 * method shape, many threads on one connection, servers and clients that die, limits, and peers that send garbage.
 * Each test is written once and run over each transport it applies to (the tables in main). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <pcom/pcom.h>

#include "procs.h"
#include "rpctest_objects.h"

static const char *server_path; /* the rpctest_server binary */

#define TP (*(const enum transport *)*state)

/* The pid of the process serving t (0 when it cannot tell). */
static pid_t whoami(IRpcTest *t)
{
    IRpcOther *other = NULL;
    uint32_t pid = 0;
    if (SUCCEEDED(IRpcTest_QueryInterface(t, &IID_IRpcOther, (void **)&other))) {
        if (FAILED(IRpcOther_Whoami(other, &pid)))
            pid = 0;
        IRpcOther_Release(other);
    }
    return (pid_t)pid;
}

/* An RpcTest at the target, or NULL with the reason on stderr. A pipe child is started here: learn its pid. */
static IRpcTest *try_open(struct target *tg)
{
    IRpcTest *t = NULL;
    HRESULT hr = pcom_create_instance(&CLSID_RpcTest, tg->url, &IID_IRpcTest, (void **)&t);
    if (FAILED(hr)) {
        fprintf(stderr, "create_instance(%s): 0x%08x %s\n", tg->url, (unsigned)hr, pcom_error_message());
        return NULL;
    }
    pid_t pid = whoami(t);
    if (tg->tp == PIPE && tg->pid == 0)
        tg->pid = pid;
    if (pid == 0 || pid != tg->pid) {
        fprintf(stderr, "%s is served by pid %d, not %d\n", tg->url, (int)pid, (int)tg->pid);
        IRpcTest_Release(t);
        return NULL;
    }
    return t;
}

static IRpcTest *open_test(struct target *tg)
{
    IRpcTest *t = try_open(tg);
    assert_non_null(t);
    return t;
}

/* ---- the shapes: one server (or the object itself, for inproc:) per transport ---- */

struct group {
    struct target tgt;
    IRpcTest *t;
    long blocks_before;
};

static int group_setup(void **state)
{
    struct group *g = calloc(1, sizeof(*g));
    target_start(&g->tgt, current_transport, server_path, NULL, 4);
    g->t = try_open(&g->tgt);
    if (!g->t) {
        if (g->tgt.tp != INPROC && g->tgt.tp != PIPE)
            server_kill(&g->tgt.srv);
        free(g);
        return -1;
    }
    g->blocks_before = pcom_alloc_live_blocks();
    *state = g;
    return 0;
}

/* A server exits 0 only when the client's Release reached it; the last Release stops a pipe child; an in-process
 * object is freed by it. And the client leaked nothing. */
static int group_teardown(void **state)
{
    struct group *g = *state;
    IRpcTest_Release(g->t);
    int rc = target_stop(&g->tgt);
    long leaked = pcom_alloc_live_blocks() - g->blocks_before;
    long objects = rpctest_live_objects();
    free(g);
    if (rc != 0)
        fprintf(stderr, "server exit status %d (3: objects left behind; -1: a file left, or a pipe child alive)\n", rc);
    if (leaked)
        fprintf(stderr, "%ld pcom_alloc blocks leaked by the client\n", leaked);
    if (objects)
        fprintf(stderr, "%ld in-process objects left\n", objects);
    return rc == 0 && leaked == 0 && objects == 0 ? 0 : -1;
}

#define G ((struct group *)*state)

static void null_call(void **state)
{
    assert_int_equal(IRpcTest_Null(G->t), S_OK);
}

static void echo_struct(void **state)
{
    Small64 in, out;
    for (int i = 0; i < 8; i++)
        in.a[i] = i * 1000 - 3;
    for (int i = 0; i < 4; i++)
        in.d[i] = i / 3.0;
    memset(&out, 0, sizeof(out));
    assert_int_equal(IRpcTest_Echo64(G->t, &in, &out), S_OK);
    assert_memory_equal(&in, &out, sizeof(in));
}

static void scalars(void **state)
{
    Scalars in = {.b = 1, .y = 250, .sm = -5, .s = -30000, .us = 65000, .l = -2000000000, .ul = 4000000000u,
                  .h = -((hyper)1 << 40), .uh = (MIDL_uhyper)1 << 63, .f = 1.25f, .d = -2.5e300, .w = 0x263a,
                  .c = BLUE};
    Scalars out;
    hyper sum;
    memset(&out, 0, sizeof(out));
    assert_int_equal(IRpcTest_EchoScalars(G->t, &in, &out, &sum), S_OK);
    assert_int_equal(out.b, in.b);
    assert_int_equal(out.y, in.y);
    assert_int_equal(out.sm, in.sm);
    assert_int_equal(out.s, in.s);
    assert_int_equal(out.us, in.us);
    assert_int_equal(out.l, in.l);
    assert_int_equal(out.ul, in.ul);
    assert_true(out.h == in.h);
    assert_true(out.uh == in.uh);
    assert_true(out.f == in.f);
    assert_true(out.d == in.d);
    assert_int_equal(out.w, in.w);
    assert_int_equal(out.c, BLUE);
    hyper expect = (hyper)((uint64_t)in.b + in.y + (uint64_t)(int64_t)in.sm + (uint64_t)(int64_t)in.s + in.us +
                           (uint64_t)(int64_t)in.l + in.ul + (uint64_t)in.h + in.uh + in.w + (uint64_t)in.c);
    assert_true(sum == expect);
}

static void strings(void **state)
{
    char *s_out = (char *)1;
    WCHAR *w_out = (WCHAR *)1;
    const WCHAR w[] = {'p', 'c', 0x00f6, 'm', 0};
    assert_int_equal(IRpcTest_Strings(G->t, "hello", w, &s_out, &w_out), S_OK);
    assert_string_equal(s_out, "olleh");
    assert_int_equal(w_out[0], 'm');
    assert_int_equal(w_out[1], 0x00f6);
    assert_int_equal(w_out[3], 'p');
    assert_int_equal(w_out[4], 0);
    pcom_free(s_out);
    pcom_free(w_out);
    assert_int_equal(IRpcTest_Strings(G->t, "", w + 4, &s_out, &w_out), S_OK);
    assert_string_equal(s_out, "");
    assert_int_equal(w_out[0], 0);
    pcom_free(s_out);
    pcom_free(w_out);
    boolean was_null = 0;
    assert_int_equal(IRpcTest_MaybeString(G->t, NULL, &was_null), S_OK);
    assert_true(was_null);
    assert_int_equal(IRpcTest_MaybeString(G->t, "x", &was_null), S_OK);
    assert_false(was_null);
}

static void arrays(void **state)
{
    int32_t in[100], out[100], fixed[4][4], trace = 0;
    for (int i = 0; i < 100; i++)
        in[i] = i - 50;
    for (int i = 0; i < 16; i++)
        fixed[i / 4][i % 4] = i;
    assert_int_equal(IRpcTest_Arrays(G->t, 100, in, out, fixed, &trace), S_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(out[i], 2 * (i - 50));
    assert_int_equal(trace, 0 + 5 + 10 + 15);
    int32_t sum = 0;
    assert_int_equal(IRpcTest_SizeAfter(G->t, in, 100, &sum), S_OK);
    assert_int_equal(sum, -50);
    assert_int_equal(IRpcTest_Arrays(G->t, 0, in, out, fixed, &trace), S_OK);
}

static void varying(void **state)
{
    int32_t data[10] = {1, 2, 3, 4, 99, 99, 99, 99, 99, 99};
    int32_t len = 4;
    assert_int_equal(IRpcTest_Varying(G->t, 10, &len, data), S_OK);
    assert_int_equal(len, 5);
    assert_int_equal(data[0], 101);
    assert_int_equal(data[3], 104);
    assert_int_equal(data[4], -1);
    assert_int_equal(data[5], 99); /* beyond length_is: not transmitted, untouched */
}

static void alloc_out(void **state)
{
    int32_t count = -1, *items = NULL;
    assert_int_equal(IRpcTest_Alloc(G->t, 1000, &count, &items), S_OK);
    assert_int_equal(count, 1000);
    assert_non_null(items);
    assert_int_equal(items[999], 999 * 999);
    pcom_free(items);
    /* replies of 160 KB, back to back: a caller that reads its own decodes them as they arrive */
    for (int k = 0; k < 4; k++) {
        assert_int_equal(IRpcTest_Alloc(G->t, 40000, &count, &items), S_OK);
        assert_int_equal(count, 40000);
        for (int32_t i = 0; i < 40000; i += 999)
            assert_int_equal(items[i], i * i);
        assert_int_equal(items[39999], 39999 * 39999);
        pcom_free(items);
    }
    assert_int_equal(IRpcTest_Alloc(G->t, 0, &count, &items), S_OK);
    assert_int_equal(count, 0);
    pcom_free(items);
    items = (int32_t *)1;
    assert_int_equal(IRpcTest_Alloc(G->t, -1, &count, &items), E_INVALIDARG);
    if (G->tgt.tp != INPROC) /* the proxy clears them: in process the caller sees what the object left */
        assert_null(items); /* a failed call leaves [out] pointers NULL */
}

static void linked_list(void **state)
{
    Node c = {.id = 3, .name = "three"}, b = {.id = 2, .inner = {.a = {7}}, .next = &c},
         a = {.id = 1, .name = "one", .next = &b};
    int32_t length = 0;
    Node *rev = NULL;
    assert_int_equal(IRpcTest_List(G->t, &a, &length, &rev), S_OK);
    assert_int_equal(length, 3);
    assert_int_equal(rev->id, 3);
    assert_string_equal(rev->name, "three");
    assert_int_equal(rev->next->id, 2);
    assert_null(rev->next->name);
    assert_int_equal(rev->next->inner.a[0], 7);
    assert_int_equal(rev->next->next->id, 1);
    assert_null(rev->next->next->next);
    while (rev) {
        Node *next = rev->next;
        pcom_free(rev->name);
        pcom_free(rev);
        rev = next;
    }
    assert_int_equal(IRpcTest_List(G->t, NULL, &length, &rev), S_OK);
    assert_int_equal(length, 0);
    assert_null(rev);
}

static void unions(void **state)
{
    double d = 0;
    Value v;
    v.i = 42;
    assert_int_equal(IRpcTest_Union(G->t, 1, &v, &d), S_OK);
    assert_true(d == 42);
    v.d = 2.5;
    assert_int_equal(IRpcTest_Union(G->t, 2, &v, &d), S_OK);
    assert_true(d == 2.5);
    v.s = "four";
    assert_int_equal(IRpcTest_Union(G->t, 3, &v, &d), S_OK);
    assert_true(d == 4);
    assert_int_equal(IRpcTest_Union(G->t, 77, &v, &d), S_OK); /* the empty default arm */
    assert_true(d == -1);
}

static void guids_and_blobs(void **state)
{
    GUID out;
    assert_int_equal(IRpcTest_Guids(G->t, &IID_IRpcTest, &out), S_OK);
    assert_int_equal(out.Data1, IID_IRpcTest.Data1 ^ 0xffffffffu);
    assert_memory_equal(out.Data4, IID_IRpcTest.Data4, 8);
    union {
        Blob b;
        byte space[sizeof(Blob) + 64];
    } in;
    in.b.n = 50;
    byte *data = in.b.data; /* the conformant array is declared data[1], as MIDL does: index through a pointer */
    for (int i = 0; i < 50; i++)
        data[i] = (byte)i;
    Blob *bo = NULL;
    assert_int_equal(IRpcTest_Blobs(G->t, &in.b, &bo), S_OK);
    assert_int_equal(bo->n, 50);
    const byte *back = bo->data;
    assert_int_equal(back[49], 50);
    pcom_free(bo);
}

static void in_out(void **state)
{
    int32_t counter = 41;
    char *text = pcom_alloc(3);
    strcpy(text, "hi");
    assert_int_equal(IRpcTest_InOut(G->t, &counter, &text), S_OK);
    assert_int_equal(counter, 42);
    assert_string_equal(text, "hi!");
    pcom_free(text);
}

static void failures_carry_messages(void **state)
{
    assert_int_equal(IRpcTest_Fail(G->t, E_ACCESSDENIED, "the vault is closed"), E_ACCESSDENIED);
    assert_string_equal(pcom_error_message(), "the vault is closed");
    /* the message is that of the last failed call: a success in between leaves it */
    assert_int_equal(IRpcTest_Null(G->t), S_OK);
    assert_string_equal(pcom_error_message(), "the vault is closed");
    assert_int_equal(IRpcTest_Fail(G->t, E_FAIL, ""), E_FAIL);
    if (G->tgt.tp != INPROC) /* in process no reply carries an empty message: the object set none */
        assert_string_equal(pcom_error_message(), "");
    assert_int_equal(IRpcTest_Fail(G->t, S_FALSE, ""), S_FALSE);
    if (G->tgt.tp == INPROC)
        return; /* what follows is checked by the stub and the proxy, which an in-process call does not pass */
    /* a range violation is caught by the server's stub: the object never runs */
    assert_int_equal(IRpcTest_Ranged(G->t, 100), S_OK);
    assert_int_equal(IRpcTest_Ranged(G->t, 101), RPC_E_INVALID_DATA);
    assert_non_null(strstr(pcom_error_message(), "Ranged"));
    /* a NULL [ref] argument never leaves the client */
    Small64 out;
    assert_int_equal(IRpcTest_Echo64(G->t, NULL, &out), E_POINTER);
}

static void bulk(void **state)
{
    uint32_t n = 1u << 20;
    byte *buf = malloc(n);
    for (uint32_t i = 0; i < n; i++)
        buf[i] = (byte)(i * 7);
    uint32_t expect = 0, got = 0;
    for (uint32_t i = 0; i < n; i++)
        expect = expect * 31 + buf[i];
    assert_int_equal(IRpcTest_Put(G->t, n, buf, &got), S_OK);
    assert_int_equal(got, expect);
    /* a body the receiver grows as its bytes arrive (allocated 1 MiB first) */
    uint32_t big = 3 * n + 17;
    byte *large = malloc(big);
    for (uint32_t i = 0; i < big; i++)
        large[i] = (byte)(i * 13);
    expect = 0;
    for (uint32_t i = 0; i < big; i++)
        expect = expect * 31 + large[i];
    assert_int_equal(IRpcTest_Put(G->t, big, large, &got), S_OK);
    assert_int_equal(got, expect);
    free(large);
    for (byte seed = 9; seed < 13; seed++) { /* back to back: most are decoded as they arrive */
        memset(buf, 0, n);
        assert_int_equal(IRpcTest_Get(G->t, n, seed, buf), S_OK);
        for (uint32_t i = 0; i < n; i += 4099)
            assert_int_equal(buf[i], (byte)(seed + i));
        assert_int_equal(buf[n - 1], (byte)(seed + n - 1));
    }
    free(buf);
}

static void query_interface(void **state)
{
    IRpcOther *other = NULL;
    assert_int_equal(IRpcTest_QueryInterface(G->t, &IID_IRpcOther, (void **)&other), S_OK);
    uint32_t pid = 0;
    assert_int_equal(IRpcOther_Whoami(other, &pid), S_OK);
    assert_int_equal(pid, (uint32_t)G->tgt.pid);
    /* COM identity: IUnknown through either interface is one pointer; one interface, one proxy */
    IUnknown *unk = NULL, *unk2 = NULL;
    assert_int_equal(IRpcTest_QueryInterface(G->t, &IID_IUnknown, (void **)&unk), S_OK);
    assert_int_equal(IRpcOther_QueryInterface(other, &IID_IUnknown, (void **)&unk2), S_OK);
    assert_ptr_equal(unk, unk2);
    IRpcOther *other2 = NULL;
    assert_int_equal(IRpcTest_QueryInterface(G->t, &IID_IRpcOther, (void **)&other2), S_OK);
    assert_ptr_equal(other, other2);
    IRpcTest *back = NULL;
    assert_int_equal(IRpcOther_QueryInterface(other, &IID_IRpcTest, (void **)&back), S_OK);
    assert_ptr_equal(back, G->t);
    IRpcTest_Release(back);
    IRpcOther_Release(other2);
    IUnknown_Release(unk2);
    IUnknown_Release(unk);
    void *none = (void *)1;
    assert_int_equal(IRpcTest_QueryInterface(G->t, &IID_IClassFactory, &none), E_NOINTERFACE);
    assert_null(none);
    uint32_t live = 0;
    assert_int_equal(IRpcTest_ServerLiveObjects(G->t, &live), S_OK);
    /* one object, whatever interfaces of it the client holds; in process nothing is exported */
    assert_int_equal(live, G->tgt.tp == INPROC ? 0 : 1);
    IRpcOther_Release(other);
}

struct hammer {
    IRpcTest *t;
    int id;
    int errors;
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < 10000; i++) {
        Small64 in, out;
        memset(&in, 0, sizeof(in));
        in.a[0] = h->id;
        in.a[7] = i;
        in.d[3] = h->id * 1e6 + i;
        if (FAILED(IRpcTest_Echo64(h->t, &in, &out)) || memcmp(&in, &out, sizeof(in)) != 0)
            h->errors++;
    }
    return NULL;
}

static void eight_threads_one_connection(void **state)
{
    pthread_t th[8];
    struct hammer h[8];
    for (int i = 0; i < 8; i++) {
        h[i] = (struct hammer){G->t, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, hammer_main, &h[i]), 0);
    }
    int errors = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        errors += h[i].errors;
    }
    assert_int_equal(errors, 0);
}

/* ---- dying servers and clients ---- */

struct sleeper {
    IRpcTest *t;
    uint32_t ms;
    HRESULT hr;
    double ended;
};

static void *sleeper_main(void *arg)
{
    struct sleeper *s = arg;
    s->hr = IRpcTest_Sleep(s->t, s->ms);
    s->ended = now_s();
    return NULL;
}

static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

/* The connection's descriptors go once its last proxy does; its threads may close them a moment later. */
static bool fds_back_to(int n)
{
    double t0 = now_s();
    while (open_fds() != n && now_s() - t0 < 2.0)
        usleep(10000);
    return open_fds() == n;
}

/* A server that dies fails the calls in flight at once and later ones without waiting; the client keeps no
 * descriptor of the dead connection, and a pipe child is reaped. */
static void server_killed_mid_call(void **state)
{
    int fds_before = open_fds();
    struct target tg;
    target_start(&tg, TP, server_path, NULL, 4);
    IRpcTest *t = open_test(&tg);
    struct sleeper s = {t, 10000, S_OK, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sleeper_main, &s), 0);
    usleep(200000);
    double killed = now_s();
    target_kill(&tg);
    pthread_join(th, NULL);
    assert_int_equal(s.hr, RPC_E_DISCONNECTED);
    assert_true(s.ended - killed < 1.0);
    double t0 = now_s();
    assert_int_equal(IRpcTest_Null(t), RPC_E_DISCONNECTED);
    assert_true(now_s() - t0 < 0.5);
    IRpcTest_Release(t);
    assert_int_equal(target_stop(&tg), 0);
    assert_true(fds_back_to(fds_before));
}

/* A client that dies holding objects has them released for it: a server counts only what others hold; a pipe
 * child, the dying client's own, sees its parent connection end, stops, and exits 0 (it released everything). */
static void client_killed_holding_objects(void **state)
{
    struct target tg;
    target_start(&tg, TP, server_path, NULL, 4);
    /* a pipe child outlives the client that started it: as subreaper this process inherits it and sees it exit */
    if (TP == PIPE)
        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* the victim: five objects, one with a second interface, then wait to die */
        uint32_t pid = 0;
        for (int i = 0; i < 5; i++) {
            IRpcTest *t;
            IRpcOther *o;
            if (FAILED(pcom_create_instance(&CLSID_RpcTest, tg.url, &IID_IRpcTest, (void **)&t)))
                _exit(1);
            if (i == 0 && (FAILED(IRpcTest_QueryInterface(t, &IID_IRpcOther, (void **)&o)) ||
                           FAILED(IRpcOther_Whoami(o, &pid))))
                _exit(1);
        }
        if (write(ready[1], &pid, sizeof(pid)) != sizeof(pid))
            _exit(1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    uint32_t server_pid = 0;
    assert_int_equal(read(ready[0], &server_pid, sizeof(server_pid)), sizeof(server_pid));
    close(ready[0]);
    IRpcTest *t = NULL;
    uint32_t live = 0;
    if (TP != PIPE) {
        assert_int_equal(server_pid, (uint32_t)tg.pid);
        t = open_test(&tg);
        assert_int_equal(IRpcTest_ServerLiveObjects(t, &live), S_OK);
        assert_int_equal(live, 6);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    if (TP == PIPE) {
        int status = -1;
        double t0 = now_s();
        while (waitpid((pid_t)server_pid, &status, WNOHANG) == 0 && now_s() - t0 < 5.0)
            usleep(10000);
        if (now_s() - t0 >= 5.0) {
            kill((pid_t)server_pid, SIGKILL);
            waitpid((pid_t)server_pid, NULL, 0);
        }
        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        return;
    }
    double t0 = now_s();
    while (now_s() - t0 < 2.0) {
        assert_int_equal(IRpcTest_ServerLiveObjects(t, &live), S_OK);
        if (live == 1)
            break;
        usleep(10000);
    }
    assert_int_equal(live, 1); /* only ours is left */
    IRpcTest_Release(t);
    assert_int_equal(target_stop(&tg), 0);
}

/* A server told to stop answers the call it is running, releases what its client still holds, and exits 0. */
static void pending_call_answered_on_stop(void **state)
{
    struct target tg;
    target_start(&tg, TP, server_path, NULL, 4);
    IRpcTest *t = open_test(&tg);
    struct sleeper s = {t, 500, E_FAIL, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sleeper_main, &s), 0);
    usleep(100000);
    kill(tg.pid, SIGTERM);
    pthread_join(th, NULL);
    assert_int_equal(s.hr, S_OK);
    /* the client still held its object when the server stopped: it was released for it, cleanly */
    assert_int_equal(target_exit_status(&tg), 0);
    assert_int_equal(IRpcTest_Null(t), RPC_E_DISCONNECTED);
    IRpcTest_Release(t);
    assert_int_equal(target_stop(&tg), 0);
}

static void too_many_calls_in_flight(void **state)
{
    struct target tg;
    target_start(&tg, TP, server_path, NULL, 160);
    IRpcTest *t = open_test(&tg);
    enum { N = 140 };
    struct sleeper *s = calloc(N, sizeof(*s));
    pthread_t *th = calloc(N, sizeof(*th));
    for (int i = 0; i < N; i++) {
        s[i] = (struct sleeper){t, 1500, E_FAIL, 0};
        assert_int_equal(pthread_create(&th[i], NULL, sleeper_main, &s[i]), 0);
    }
    int ok = 0, rejected = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ok += s[i].hr == S_OK;
        rejected += s[i].hr == RPC_E_CALL_REJECTED;
    }
    assert_int_equal(ok + rejected, N);
    assert_int_equal(ok, 128);
    free(s);
    free(th);
    IRpcTest_Release(t);
    assert_int_equal(target_stop(&tg), 0);
}

static void client_limits(void **state)
{
    struct target tg;
    target_start(&tg, TP, server_path, NULL, 8);
    struct pcom_client_limits bad = {.max_calls_in_flight = 129};
    assert_int_equal(pcom_set_client_limits(&bad), E_INVALIDARG);
    struct pcom_client_limits small = {.max_message = 4096, .max_calls_in_flight = 2};
    assert_int_equal(pcom_set_client_limits(&small), S_OK);
    IRpcTest *t = open_test(&tg);
    struct pcom_client_limits defaults = {0};
    assert_int_equal(pcom_set_client_limits(&defaults), S_OK); /* the connection keeps what it started with */
    /* arguments above the limit are refused before anything is sent */
    byte big[8192] = {0};
    uint32_t sum;
    assert_int_equal(IRpcTest_Put(t, sizeof(big), big, &sum), E_INVALIDARG);
    assert_non_null(strstr(pcom_error_message(), "limit"));
    assert_int_equal(IRpcTest_Put(t, 1000, big, &sum), S_OK);
    /* two calls in flight at most: a third at the same time is rejected at once */
    struct sleeper s[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        s[i] = (struct sleeper){t, 600, E_FAIL, 0};
        assert_int_equal(pthread_create(&th[i], NULL, sleeper_main, &s[i]), 0);
    }
    int ok = 0, rejected = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        ok += s[i].hr == S_OK;
        rejected += s[i].hr == RPC_E_CALL_REJECTED;
    }
    assert_int_equal(ok, 2);
    assert_int_equal(rejected, 1);
    /* a result above the limit ends the connection: the client cannot take it */
    byte out[8192];
    assert_int_equal(IRpcTest_Get(t, sizeof(out), 1, out), RPC_E_DISCONNECTED);
    IRpcTest_Release(t);
    assert_int_equal(target_stop(&tg), 0);
}

/* URLs nobody serves, malformed ones, classes and interfaces a server does not have; a pipe program that cannot be
 * started leaves no child behind. */
static void activation_errors(void **state)
{
    static const struct {
        enum transport tp;
        const char *url;
        HRESULT hr;
    } bad[] = {
        {INPROC, "bogus:", E_INVALIDARG},
        {PIPE, "pipe:/nonexistent/pcom-server pipe:", RPC_E_DISCONNECTED},
        {PIPE, "pipe:", E_INVALIDARG},
        {PIPE, "pipe:   ", E_INVALIDARG},
        {UNIX, "unix:/nonexistent/pcom.sock", RPC_E_DISCONNECTED},
        {TCP, "tcp://127.0.0.1:1", RPC_E_DISCONNECTED},
        {SHM, "shm:pcom-nobody-listens", RPC_E_DISCONNECTED},
        {SHM, "shm:", E_INVALIDARG},
        {SHM, "shm:a/b", E_INVALIDARG},
    };
    int fds_before = open_fds();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (bad[i].tp != TP)
            continue;
        void *p = (void *)1;
        assert_int_equal(pcom_create_instance(&CLSID_RpcTest, bad[i].url, &IID_IRpcTest, &p), bad[i].hr);
        assert_null(p);
    }
    if (TP == PIPE) {
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* no zombie, no child at all */
        assert_int_equal(errno, ECHILD);
    }
    assert_int_equal(open_fds(), fds_before);
    struct target tg;
    target_start(&tg, TP, server_path, NULL, 2);
    void *p = (void *)1;
    assert_int_equal(pcom_create_instance(&IID_IRpcOther, tg.url, &IID_IRpcTest, &p), REGDB_E_CLASSNOTREG);
    assert_null(p);
    assert_non_null(strstr(pcom_error_message(), "not registered"));
    assert_int_equal(pcom_create_instance(&CLSID_RpcTest, tg.url, &IID_IClassFactory, &p), E_NOINTERFACE);
    assert_null(p);
    assert_int_equal(target_stop(&tg), 0);
}

/* ---- hostile peers ---- */

/* The server must close a connection that sent garbage: read sees EOF (or a reset) within a second. */
static bool closed_by_peer(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    double t0 = now_s();
    while (now_s() - t0 < 2.0) {
        if (poll(&p, 1, 100) > 0) {
            char buf[65536]; /* a stalled TCP peer has megabytes of answers to read before the end */
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n <= 0)
                return true;
        }
    }
    return false;
}

/* Over pipe: each raw stream is a server of its own, whose clean exit (0) says it released everything; over a
 * socket the good client shares the server with the hostile ones and must not notice them. */
static void hostile_peers(void **state)
{
    struct target tg;
    target_start(&tg, TP, server_path, NULL, 4);
    IRpcTest *good = open_test(&tg);
    pid_t own;

    /* plain garbage */
    int fd = raw_connect(&tg, &own);
    assert_int_equal(write(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n" "0123456789012345678901234567890123456789", 67), 67);
    assert_true(closed_by_peer(fd));
    assert_int_equal(raw_close(fd, own), 0);
    assert_int_equal(IRpcTest_Null(good), S_OK);

    /* a length far beyond the limit */
    uint8_t h[56];
    raw_header(h, 1, 1, 0xfffffff0u, 3, NULL, NULL);
    fd = raw_connect(&tg, &own);
    assert_int_equal(write(fd, h, 56), 56);
    assert_true(closed_by_peer(fd));
    assert_int_equal(raw_close(fd, own), 0);

    /* another protocol version: told so with a fault, then closed */
    raw_header(h, 1, 1, 0, 3, NULL, NULL);
    h[4] = 2;
    fd = raw_connect(&tg, &own);
    assert_int_equal(write(fd, h, 56), 56);
    uint8_t vreply[56 + 64];
    ssize_t vn = read(fd, vreply, sizeof(vreply));
    assert_true(vn >= 56 + 12);
    assert_int_equal(vreply[5], 3); /* FAULT */
    HRESULT vhr;
    memcpy(&vhr, vreply + 56, 4);
    assert_int_equal(vhr, RPC_E_VERSION_MISMATCH);
    assert_true(closed_by_peer(fd));
    assert_int_equal(raw_close(fd, own), 0);

    /* a truncated frame, then the peer goes */
    raw_header(h, 1, 1, 100, 3, NULL, NULL);
    fd = raw_connect(&tg, &own);
    assert_int_equal(write(fd, h, 30), 30);
    assert_int_equal(raw_close(fd, own), 0);
    assert_int_equal(IRpcTest_Null(good), S_OK);

    /* a body shorter than its header says, then silence: the server keeps serving others meanwhile */
    fd = raw_connect(&tg, &own);
    assert_int_equal(write(fd, h, 56), 56);
    assert_int_equal(write(fd, "abc", 3), 3);
    for (int i = 0; i < 100; i++)
        assert_int_equal(IRpcTest_Null(good), S_OK);
    assert_int_equal(raw_close(fd, own), 0);

    /* an object id this connection was never given: a fault, and the connection stays usable */
    uint8_t forged[16];
    for (int i = 0; i < 16; i++)
        forged[i] = (uint8_t)(i * 13 + 1);
    raw_header(h, 1, 7, 0, 3, forged, &IID_IRpcTest);
    fd = raw_connect(&tg, &own);
    assert_int_equal(write(fd, h, 56), 56);
    uint8_t reply[56 + 64];
    ssize_t n = read(fd, reply, sizeof(reply));
    assert_true(n >= 56 + 12);
    assert_int_equal(reply[5], 3); /* FAULT */
    uint32_t call_id;
    memcpy(&call_id, reply + 8, 4);
    assert_int_equal(call_id, 7);
    HRESULT hr;
    memcpy(&hr, reply + 56, 4);
    assert_int_equal(hr, RPC_E_DISCONNECTED);
    /* a Release of a reference never held changes nothing */
    static const IID system_iid = {0x70636f6d, 0x0000, 0x0000, {0x73, 0x79, 0x73, 0x74, 0x65, 0x6d, 0x00, 0x01}};
    uint8_t body[20] = {0};
    memcpy(body, forged, 16);
    body[16] = 1;
    raw_header(h, 1, 8, 20, 5, NULL, &system_iid);
    assert_int_equal(write(fd, h, 56), 56);
    assert_int_equal(write(fd, body, 20), 20);
    n = read(fd, reply, sizeof(reply));
    assert_true(n >= 56 + 8);
    memcpy(&hr, reply + 56, 4);
    assert_true(FAILED(hr));
    /* a bad method number */
    raw_header(h, 1, 9, 0, 999, NULL, &system_iid);
    assert_int_equal(write(fd, h, 56), 56);
    n = read(fd, reply, sizeof(reply));
    assert_true(n >= 56 + 8);
    assert_int_equal(reply[5], 3);
    assert_int_equal(raw_close(fd, own), 0);

    uint32_t live = 0;
    assert_int_equal(IRpcTest_ServerLiveObjects(good, &live), S_OK);
    assert_int_equal(live, 1);
    IRpcTest_Release(good);
    assert_int_equal(target_stop(&tg), 0);
}

/* A peer that sends requests and never reads its answers must not freeze the server: once a reply
 * cannot be sent for the send timeout, that connection is dropped and everyone else is served. */
static void stalled_reader_dropped(void **state)
{
    struct target tg;
    setenv("RPCTEST_SEND_TIMEOUT_MS", "300", 1);
    target_start(&tg, TP, server_path, NULL, 2);
    pid_t own;
    int fd = raw_connect(&tg, &own); /* a pipe server of its own takes the timeout from the environment too */
    unsetenv("RPCTEST_SEND_TIMEOUT_MS");
    IRpcTest *good = open_test(&tg);
    uint8_t forged[16];
    memset(forged, 0x5a, sizeof(forged));
    uint8_t h[56];
    int sent = 0;
    /* requests for an unknown object: each is answered with a fault nobody reads (over TCP the kernel buffers
     * megabytes of them before the server has to wait) */
    for (int i = 0; i < 1000000; i++) {
        raw_header(h, 1, (uint32_t)i + 1, 0, 3, forged, &IID_IRpcTest);
        struct pollfd p = {fd, POLLOUT, 0};
        if (poll(&p, 1, 2000) <= 0 || write(fd, h, 56) != 56)
            break; /* the server stopped reading from us, or dropped us: either way, enough */
        sent++;
    }
    assert_true(sent > 10);
    assert_true(sent < 1000000);
    double t0 = now_s();
    assert_int_equal(IRpcTest_Null(good), S_OK);
    assert_true(now_s() - t0 < 5.0);
    assert_true(closed_by_peer(fd)); /* the server gave up on the stalled connection */
    assert_int_equal(raw_close(fd, own), 0);
    IRpcTest_Release(good);
    t0 = now_s();
    assert_int_equal(target_stop(&tg), 0);
    assert_true(now_s() - t0 < 5.0);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s RPCTEST_SERVER [TEST@TRANSPORT pattern]\n", argv[0]);
        return 2;
    }
    server_path = argv[1];
    run_only(argv[2]);
    signal(SIGPIPE, SIG_IGN);
    /* inproc: gives the object itself, from this factory */
    if (FAILED(pcom_register_class(&CLSID_RpcTest, &rpctest_factory)))
        return 1;
    const struct conformance_test shapes[] = {
        {"null_call", null_call, EVERYWHERE},
        {"echo_struct", echo_struct, EVERYWHERE},
        {"scalars", scalars, EVERYWHERE},
        {"strings", strings, EVERYWHERE},
        {"arrays", arrays, EVERYWHERE},
        {"varying", varying, EVERYWHERE},
        {"alloc_out", alloc_out, EVERYWHERE},
        {"linked_list", linked_list, EVERYWHERE},
        {"unions", unions, EVERYWHERE},
        {"guids_and_blobs", guids_and_blobs, EVERYWHERE},
        {"in_out", in_out, EVERYWHERE},
        {"failures_carry_messages", failures_carry_messages, EVERYWHERE},
        {"bulk", bulk, EVERYWHERE},
        {"query_interface", query_interface, EVERYWHERE},
        {"eight_threads_one_connection", eight_threads_one_connection, EVERYWHERE},
    };
    /* An in-process object has no process to kill, stop or freeze, no connection to limit, and no stream a
     * hostile peer could write to: the failures are remote ones, but for activation. */
    const struct conformance_test failures[] = {
        {"server_killed_mid_call", server_killed_mid_call, REMOTE},
        {"client_killed_holding_objects", client_killed_holding_objects, REMOTE},
        {"pending_call_answered_on_stop", pending_call_answered_on_stop, REMOTE},
        {"too_many_calls_in_flight", too_many_calls_in_flight, REMOTE},
        {"client_limits", client_limits, REMOTE},
        {"activation_errors", activation_errors, EVERYWHERE},
        {"hostile_peers", hostile_peers, RAW_STREAM},
        {"stalled_reader_dropped", stalled_reader_dropped, RAW_STREAM},
    };
    int rc = run_per_transport("rpc", shapes, sizeof(shapes) / sizeof(shapes[0]), group_setup, group_teardown,
                               NULL, NULL);
    rc |= run_per_transport("rpc failures", failures, sizeof(failures) / sizeof(failures[0]), NULL, NULL, NULL,
                            NULL);
    pcom_revoke_class(&CLSID_RpcTest);
    return rc;
}
