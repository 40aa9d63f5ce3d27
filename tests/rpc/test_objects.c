/* test_objects.c: interface pointers between real processes over every transport, and in process: callbacks,
 * identity, reference counts seen from the exporter, reentrant chains, third-party references, references as text,
 * and peers that die, freeze or forge. Each test is written once and run over each transport it applies to (the
 * tables in main). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <pcom/pcom.h>

#include "objtest_objects.h"
#include "procs.h"

static const char *server_path; /* the objtest_server binary */

#define TP (*(const enum transport *)*state)
static const char *const serve_args[] = {"serve", NULL};

/* Waits up to 5 s for f(arg) to return want: releases travel in batches, a moment after the last Release. */
static bool eventually(size_t (*f)(void *), void *arg, size_t want)
{
    double t0 = now_s();
    while (now_s() - t0 < 5.0) {
        if (f(arg) == want)
            return true;
        usleep(5000);
    }
    return f(arg) == want;
}

static size_t local_exports(void *arg)
{
    (void)arg;
    return pcom_server_live_objects(NULL);
}

static size_t refs_of_sink(void *sink)
{
    return sink_refs(sink);
}

static size_t remote_exports(void *hub)
{
    uint32_t n = 0;
    if (FAILED(IHub_Live((IHub *)hub, &n)))
        return (size_t)-1;
    return n;
}

/* ---- the shapes: one server with a single worker (or the hub itself, for inproc:) per transport ---- */

struct group {
    struct target tgt;
    IHub *hub;
    long blocks_before;
};

static struct group *G;

/* A hub at the target, or NULL with the reason on stderr. A pipe child is started here: learn its pid. */
static IHub *try_open(struct target *tg)
{
    IHub *hub = NULL;
    uint32_t pid = 0;
    HRESULT hr = pcom_create_instance(&CLSID_Hub, tg->url, &IID_IHub, (void **)&hub);
    if (SUCCEEDED(hr))
        hr = IHub_Pid(hub, &pid);
    if (FAILED(hr)) {
        fprintf(stderr, "create_instance(%s): 0x%08x %s\n", tg->url, (unsigned)hr, pcom_error_message());
        if (hub)
            IHub_Release(hub);
        return NULL;
    }
    if (tg->tp == PIPE && tg->pid == 0)
        tg->pid = (pid_t)pid;
    if (pid == 0 || (pid_t)pid != tg->pid) {
        fprintf(stderr, "%s is served by pid %u, not %d\n", tg->url, pid, (int)tg->pid);
        IHub_Release(hub);
        return NULL;
    }
    return hub;
}

static IHub *open_hub(struct target *tg)
{
    IHub *hub = try_open(tg);
    assert_non_null(hub);
    return hub;
}

/* What a count of exports is expected to be: in process nothing crosses a connection, so nothing is exported. */
static size_t exported(size_t n)
{
    return G->tgt.tp == INPROC ? 0 : n;
}

static int group_setup(void **state)
{
    struct group *g = calloc(1, sizeof(*g));
    /* one worker: reentrant chains must complete on the threads already waiting in them */
    target_start(&g->tgt, current_transport, server_path, serve_args, 1);
    g->hub = try_open(&g->tgt);
    if (!g->hub) {
        if (g->tgt.tp != INPROC && g->tgt.tp != PIPE)
            server_kill(&g->tgt.srv);
        free(g);
        return -1;
    }
    G = g;
    *state = g;
    return 0;
}

/* A server exits 0 only when everything it exported was released; the last Release stops a pipe child. */
static int group_teardown(void **state)
{
    struct group *g = *state;
    IHub_Release(g->hub);
    int rc = target_stop(&g->tgt);
    long objects = objtest_live();
    free(g);
    if (rc != 0)
        fprintf(stderr, "objtest server exit status %d (3: objects left; -1: a file left, or a pipe child alive)\n", rc);
    if (objects)
        fprintf(stderr, "%ld objects left in the test\n", objects);
    return rc == 0 && objects == 0 ? 0 : -1;
}

static int test_setup(void **state)
{
    (void)state;
    G->blocks_before = pcom_alloc_live_blocks();
    return 0;
}

/* Every test leaves nothing exported, nothing of ours alive (but the hub, in process), no block allocated. */
static int test_teardown(void **state)
{
    (void)state;
    assert_int_equal(IHub_DropAll(G->hub), S_OK);
    assert_true(eventually(local_exports, NULL, 0));
    assert_true(eventually(remote_exports, G->hub, exported(1)));
    assert_int_equal(objtest_live(), G->tgt.tp == INPROC ? 1 : 0);
    assert_int_equal(pcom_alloc_live_blocks(), G->blocks_before);
    return 0;
}

static void callbacks(void **state)
{
    (void)state;
    ISink *sink = sink_new();
    assert_int_equal(IHub_Subscribe(G->hub, sink), S_OK);
    assert_int_equal(pcom_server_live_objects(NULL), exported(1)); /* the sink is exported, held by the server */
    int32_t delivered, failed, err;
    for (int i = 1; i <= 10; i++) {
        assert_int_equal(IHub_Publish(G->hub, i, &delivered, &failed, &err), S_OK);
        assert_int_equal(delivered, 1);
        assert_int_equal(failed, 0);
    }
    assert_int_equal(sink_total(sink), 55); /* the calls ran here, in the subscriber */
    /* subscribing twice is two references to one export */
    assert_int_equal(IHub_Subscribe(G->hub, sink), S_OK);
    assert_int_equal(pcom_server_live_objects(NULL), exported(1));
    assert_int_equal(IHub_Publish(G->hub, 1, &delivered, &failed, &err), S_OK);
    assert_int_equal(delivered, 2);
    assert_int_equal(IHub_DropAll(G->hub), S_OK);
    /* the server let go of both: the export goes, and with it the runtime's reference to the sink */
    assert_true(eventually(local_exports, NULL, 0));
    assert_true(eventually(refs_of_sink, sink, 1)); /* the export lets go after it leaves the table */
    ISink_Release(sink);
}

static void identity(void **state)
{
    (void)state;
    /* a local object sent out and back is the object itself, not a proxy of a proxy */
    ISink *sink = sink_new(), *back = NULL;
    assert_int_equal(IHub_Echo(G->hub, sink, &back), S_OK);
    assert_ptr_equal(back, sink);
    ISink_Release(back);

    /* QueryInterface for IUnknown through any interface of one remote object is one pointer */
    IChain *chain = NULL;
    IUnknown *u1 = NULL, *u2 = NULL;
    IHub *again = NULL;
    assert_int_equal(IHub_QueryInterface(G->hub, &IID_IChain, (void **)&chain), S_OK);
    assert_int_equal(IHub_QueryInterface(G->hub, &IID_IUnknown, (void **)&u1), S_OK);
    assert_int_equal(IChain_QueryInterface(chain, &IID_IUnknown, (void **)&u2), S_OK);
    assert_ptr_equal(u1, u2);
    assert_int_equal(IChain_QueryInterface(chain, &IID_IHub, (void **)&again), S_OK);
    assert_ptr_equal(again, G->hub);
    ISink *none = (ISink *)1;
    assert_int_equal(IHub_QueryInterface(G->hub, &IID_ISink, (void **)&none), E_NOINTERFACE);
    assert_null(none);

    /* one object unmarshaled twice is one proxy */
    IHub *made = NULL, *a = NULL, *b = NULL;
    assert_int_equal(IHub_NewHub(G->hub, &made), S_OK);
    assert_int_equal(IHub_Keep(G->hub, (IUnknown *)made), S_OK);
    assert_int_equal(IHub_Kept(G->hub, &IID_IHub, (void **)&a), S_OK);
    assert_int_equal(IHub_Kept(G->hub, &IID_IHub, (void **)&b), S_OK);
    assert_ptr_equal(a, made);
    assert_ptr_equal(b, made);

    /* and the server sees one object in two parameters as one */
    boolean same = 0;
    assert_int_equal(IHub_Same(G->hub, (IUnknown *)sink, (IUnknown *)sink, &same), S_OK);
    assert_true(same);
    ISink *other = sink_new();
    assert_int_equal(IHub_Same(G->hub, (IUnknown *)sink, (IUnknown *)other, &same), S_OK);
    assert_false(same);

    /* several interfaces in one round trip; one the object lacks is refused alone */
    const IID iids[3] = {IID_IChain, IID_IHub, IID_ISink};
    void *out[3];
    HRESULT results[3];
    assert_int_equal(pcom_query_interfaces(made, 3, iids, out, results), S_FALSE);
    assert_int_equal(results[0], S_OK);
    assert_int_equal(results[1], S_OK);
    assert_int_equal(results[2], E_NOINTERFACE);
    assert_ptr_equal(out[1], made);
    assert_null(out[2]);
    IUnknown *u3 = NULL;
    assert_int_equal(IChain_QueryInterface((IChain *)out[0], &IID_IUnknown, (void **)&u3), S_OK);
    IChain_Release((IChain *)out[0]);
    IHub_Release((IHub *)out[1]);
    IUnknown_Release(u3);
    /* a local object answers the same call itself */
    assert_int_equal(pcom_query_interfaces(sink, 3, iids, out, results), S_FALSE);
    assert_int_equal(results[2], S_OK);
    ISink_Release((ISink *)out[2]);

    IHub_Release(a);
    IHub_Release(b);
    IHub_Release(made);
    IHub_Release(again);
    IUnknown_Release(u1);
    IUnknown_Release(u2);
    IChain_Release(chain);
    ISink_Release(other);
    ISink_Release(sink);
}

static void reference_counts(void **state)
{
    (void)state;
    /* objects the server makes and hands out stay alive while we hold them */
    IHub *hubs[10];
    for (int i = 0; i < 10; i++)
        assert_int_equal(IHub_NewHub(G->hub, &hubs[i]), S_OK);
    assert_int_equal(remote_exports(G->hub), exported(11));
    /* AddRef and Release on a proxy stay here */
    for (int i = 0; i < 10; i++) {
        IHub_AddRef(hubs[i]);
        IHub_Release(hubs[i]);
    }
    assert_int_equal(remote_exports(G->hub), exported(11));
    for (int i = 0; i < 10; i++)
        IHub_Release(hubs[i]);
    assert_true(eventually(remote_exports, G->hub, exported(1)));

    /* the same both ways: our objects the server holds */
    ISink *sinks[5];
    for (int i = 0; i < 5; i++) {
        sinks[i] = sink_new();
        assert_int_equal(IHub_Subscribe(G->hub, sinks[i]), S_OK);
    }
    assert_int_equal(pcom_server_live_objects(NULL), exported(5));
    assert_int_equal(IHub_DropAll(G->hub), S_OK);
    assert_true(eventually(local_exports, NULL, 0));
    for (int i = 0; i < 5; i++) {
        assert_true(eventually(refs_of_sink, sinks[i], 1)); /* the export lets go after it leaves the table */
        ISink_Release(sinks[i]);
    }
}

static void in_out_struct_array(void **state)
{
    (void)state;
    ISink *a = sink_new(), *b = sink_new();
    /* [in, out]: the server replaces our sink with the one it keeps, which is b: home again as itself */
    assert_int_equal(IHub_Keep(G->hub, (IUnknown *)b), S_OK);
    ISink *s = a;
    ISink_AddRef(a); /* the reference [in, out] gives away */
    assert_int_equal(IHub_Swap(G->hub, &s), S_OK);
    assert_ptr_equal(s, b);
    /* the proxy released what we gave away; the server's proxy of a goes back in the next batch */
    assert_true(eventually(refs_of_sink, a, 1));
    ISink_Release(s);

    /* interface pointers inside a struct, one of them unique */
    SinkPair pair = {3, a, b};
    int32_t calls = 0;
    assert_int_equal(IHub_Pair(G->hub, &pair, &calls), S_OK);
    assert_int_equal(calls, 2);
    pair.second = NULL;
    assert_int_equal(IHub_Pair(G->hub, &pair, &calls), S_OK);
    assert_int_equal(calls, 1);
    assert_int_equal(sink_total(a), 6);
    assert_int_equal(sink_total(b), 3);

    /* an array of them, with a NULL among them */
    ISink *arr[3] = {a, NULL, b};
    assert_int_equal(IHub_Array(G->hub, 3, arr, &calls), S_OK);
    assert_int_equal(calls, 2);
    assert_int_equal(sink_total(a), 7);
    assert_int_equal(sink_total(b), 6);
    /* a NULL where the IDL allows one, and the server's [in] proxies are gone after each call */
    assert_int_equal(IHub_Keep(G->hub, NULL), S_OK);
    assert_true(eventually(local_exports, NULL, 0));
    assert_true(eventually(refs_of_sink, a, 1)); /* the export lets go after it leaves the table */
    assert_true(eventually(refs_of_sink, b, 1)); /* the export lets go after it leaves the table */
    ISink_Release(a);
    ISink_Release(b);
}

static void reentrant_chain(void **state)
{
    (void)state;
    IChain *local = chain_new(), *remote = NULL;
    assert_int_equal(IHub_QueryInterface(G->hub, &IID_IChain, (void **)&remote), S_OK);
    /* client -> server -> client -> ...: 16 and 40 hops, with one worker in the server */
    int32_t depth = -1;
    assert_int_equal(IChain_Bounce(remote, 16, local, &depth), S_OK);
    assert_int_equal(depth, 16);
    assert_int_equal(IChain_Bounce(remote, 40, local, &depth), S_OK);
    assert_int_equal(depth, 40);
    IChain_Release(remote);
    IChain_Release(local);
}

static void text_references(void **state)
{
    (void)state;
    char *text = NULL;
    assert_int_equal(pcom_marshal_interface(&IID_IHub, G->hub, &text), S_OK);
    assert_true(strncmp(text, "pcomref:", 8) == 0);
    /* back in this process: the proxy we have */
    IHub *again = NULL;
    assert_int_equal(pcom_unmarshal_interface(text, &IID_IHub, (void **)&again), S_OK);
    assert_ptr_equal(again, G->hub);
    IHub_Release(again);
    /* another process reaches the server with it, as often as it likes (this test process listens nowhere, so
     * nobody else can reach its in-process hub) */
    uint32_t server_pid = 0;
    assert_int_equal(IHub_Pid(G->hub, &server_pid), S_OK);
    for (int i = 0; i < 2 && G->tgt.tp != INPROC; i++) {
        char cmd[8192], line[64] = "", want[64];
        snprintf(cmd, sizeof(cmd), "'%s' call '%s'", server_path, text);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        assert_non_null(fgets(line, sizeof(line), p));
        int rc = pclose(p);
        if (G->tgt.tp == PIPE) { /* a pipe server listens nowhere: the text names no way to it for others */
            assert_string_equal(line, "error RPC_E_DISCONNECTED\n");
            assert_true(rc != 0);
            continue;
        }
        assert_int_equal(rc, 0);
        snprintf(want, sizeof(want), "pid %u\n", server_pid);
        assert_string_equal(line, want);
    }
    /* revoked: nobody can claim it any more */
    assert_int_equal(pcom_release_marshal_data(text), S_OK);
    again = (IHub *)1;
    assert_int_equal(pcom_unmarshal_interface(text, &IID_IHub, (void **)&again), RPC_E_DISCONNECTED);
    assert_null(again);
    /* malformed text */
    assert_int_equal(pcom_unmarshal_interface("pcomref:zz", &IID_IHub, (void **)&again), E_INVALIDARG);
    assert_int_equal(pcom_unmarshal_interface("hello", &IID_IHub, (void **)&again), E_INVALIDARG);
    text[strlen(text) - 1] = 0; /* odd number of digits */
    assert_int_equal(pcom_unmarshal_interface(text, &IID_IHub, (void **)&again), E_INVALIDARG);
    pcom_free(text);
    /* a local object as text, for this process's server-less case: the reference stays usable here */
    ISink *sink = sink_new(), *s2 = NULL;
    assert_int_equal(pcom_marshal_interface(&IID_ISink, sink, &text), S_OK);
    assert_int_equal(pcom_unmarshal_interface(text, &IID_ISink, (void **)&s2), S_OK);
    assert_ptr_equal(s2, sink);
    ISink_Release(s2);
    /* another interface than the one marshaled: asked of the object, as COM does */
    assert_int_equal(pcom_unmarshal_interface(text, &IID_IHub, (void **)&again), E_NOINTERFACE);
    IUnknown *unk = NULL;
    assert_int_equal(pcom_unmarshal_interface(text, &IID_IUnknown, (void **)&unk), S_OK);
    assert_ptr_equal(unk, sink);
    IUnknown_Release(unk);
    assert_int_equal(pcom_release_marshal_data(text), S_OK);
    assert_int_equal(pcom_release_marshal_data(text), E_INVALIDARG);
    pcom_free(text);
    assert_true(eventually(refs_of_sink, sink, 1)); /* the export lets go after it leaves the table */
    ISink_Release(sink);
}

/* ---- peers that die, freeze, or lie ---- */

/* Starts `objtest_server subscribe text`: another process subscribes a sink of its own to the hub the text
 * names, and holds one more object of the hub's server. Returns once it did. */
static pid_t spawn_subscriber(const char *text)
{
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl(server_path, server_path, "subscribe", text, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[64] = "";
    FILE *f = fdopen(out[0], "r");
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_string_equal(line, "subscribed\n");
    return pid;
}

/* The publisher calls a subscriber that was SIGKILLed (fails at once) or SIGSTOPped (found dead by keepalive);
 * either way what the subscriber held in the server is released, and the other subscriber is still served. The
 * server listens on the transport under test only, so the subscriber reaches it over that transport. */
static void dead_subscriber(enum transport tp, bool freeze)
{
    if (freeze)
        setenv("OBJTEST_KEEPALIVE", "100,600", 1);
    struct target tg;
    target_start(&tg, tp, server_path, serve_args, 2);
    unsetenv("OBJTEST_KEEPALIVE");
    IHub *hub = open_hub(&tg);
    char *text = NULL;
    assert_int_equal(pcom_marshal_interface(&IID_IHub, hub, &text), S_OK);
    pid_t sub = spawn_subscriber(text);
    assert_int_equal(pcom_release_marshal_data(text), S_OK);
    pcom_free(text);
    ISink *mine = sink_new();
    assert_int_equal(IHub_Subscribe(hub, mine), S_OK);
    assert_int_equal(remote_exports(hub), 2); /* our hub, and the one the subscriber holds */
    int32_t delivered, failed, err;
    assert_int_equal(IHub_Publish(hub, 1, &delivered, &failed, &err), S_OK);
    assert_int_equal(delivered, 2);

    if (freeze)
        stop_process(sub);
    else
        assert_int_equal(kill(sub, SIGKILL), 0);
    double t0 = now_s();
    assert_int_equal(IHub_Publish(hub, 2, &delivered, &failed, &err), S_OK);
    double took = now_s() - t0;
    assert_int_equal(delivered, 1);
    assert_int_equal(failed, 1);
    assert_int_equal(err, RPC_E_DISCONNECTED);
    if (freeze)
        assert_true(took >= 0.3); /* it waited for the keepalive timeout (600 ms after the last message) */
    assert_true(took < 3.0);
    assert_true(eventually(remote_exports, hub, 1));
    /* the dead subscriber is gone from the list; ours still gets events */
    assert_int_equal(IHub_Publish(hub, 3, &delivered, &failed, &err), S_OK);
    assert_int_equal(delivered, 1);
    assert_int_equal(failed, 0);
    assert_int_equal(sink_total(mine), 6);

    kill(sub, SIGKILL);
    waitpid(sub, NULL, 0);
    assert_int_equal(IHub_DropAll(hub), S_OK);
    assert_true(eventually(local_exports, NULL, 0));
    IHub_Release(hub);
    ISink_Release(mine);
    assert_int_equal(target_stop(&tg), 0);
}

static void subscriber_killed(void **state)
{
    dead_subscriber(TP, false);
}

static void subscriber_frozen(void **state)
{
    dead_subscriber(TP, true);
}

/* A server that stops answering (SIGSTOP) is found dead by keepalive: the pending call fails, and so do later
 * ones, without waiting for the transport or the kernel. */
static void frozen_server(void **state)
{
    assert_int_equal(pcom_set_keepalive(5, 100), E_INVALIDARG);
    assert_int_equal(pcom_set_keepalive(100, 100), E_INVALIDARG);
    assert_int_equal(pcom_set_keepalive(100, 600), S_OK);
    struct target tg;
    target_start(&tg, TP, server_path, serve_args, 2);
    IHub *hub = open_hub(&tg);
    uint32_t pid;
    stop_process(tg.pid);
    double t0 = now_s();
    assert_int_equal(IHub_Pid(hub, &pid), RPC_E_DISCONNECTED);
    double took = now_s() - t0;
    assert_true(took >= 0.3);
    assert_true(took < 3.0);
    assert_int_equal(IHub_Pid(hub, &pid), RPC_E_DISCONNECTED);
    kill(tg.pid, SIGCONT);
    target_kill(&tg); /* before the last Release: a pipe child is reaped then, and a stopped one would be waited for */
    IHub_Release(hub);
    assert_int_equal(target_stop(&tg), 0);
    assert_int_equal(pcom_set_keepalive(5000, 20000), S_OK);
}

/* We hand A a reference to B's hub: A connects to B itself, over the transport under test (each server listens
 * on it only), and hands the reference back; ours does not depend on A. */
static void third_party_reference(void **state)
{
    struct target a, b;
    target_start(&a, TP, server_path, serve_args, 2);
    target_start(&b, TP, server_path, serve_args, 2);
    IHub *hub_a = open_hub(&a), *hub_b = open_hub(&b), *probe_b = open_hub(&b);
    uint32_t pid = 0;
    /* A gets a reference to B's hub from us: A connects to B and claims its own */
    assert_int_equal(IHub_Keep(hub_a, (IUnknown *)hub_b), S_OK);
    IHub_Release(hub_b);
    /* and hands it back to us: a proxy straight to B */
    IHub *x = NULL;
    assert_int_equal(IHub_Kept(hub_a, &IID_IHub, (void **)&x), S_OK);
    assert_int_equal(IHub_Pid(x, &pid), S_OK);
    assert_int_equal(pid, (uint32_t)b.pid);
    /* the broker exits without releasing anything; our reference does not depend on it */
    assert_int_equal(IHub_Exit(hub_a), RPC_E_DISCONNECTED);
    assert_int_equal(target_exit_status(&a), 0);
    target_kill(&a);
    pid = 0;
    assert_int_equal(IHub_Pid(x, &pid), S_OK);
    assert_int_equal(pid, (uint32_t)b.pid);
    /* B counted: the probe, and x (A's reference went with A) */
    assert_true(eventually(remote_exports, probe_b, 2));
    IHub_Release(x);
    assert_true(eventually(remote_exports, probe_b, 1));
    IHub_Release(hub_a);
    IHub_Release(probe_b);
    assert_int_equal(target_stop(&b), 0);
}

/* A chain through three processes and three connections: we call A, A calls B, B calls back an object of ours
 * over B's connection while our thread waits for A's answer on another. The call must reach the waiting thread
 * (its logical thread), with one worker in each server. Over pipe, B listens nowhere: A's reference to B's hub is
 * a proxy of ours, and A's calls to B pass through this process. */
static void chain_across_connections(void **state)
{
    struct target a, b;
    target_start(&a, TP, server_path, serve_args, 1);
    target_start(&b, TP, server_path, serve_args, 1);
    IHub *hub_a = open_hub(&a), *hub_b = open_hub(&b);
    IChain *local = chain_new();
    assert_int_equal(IHub_Keep(hub_b, (IUnknown *)local), S_OK); /* B holds our chain, over our connection to B */
    assert_int_equal(IHub_Keep(hub_a, (IUnknown *)hub_b), S_OK); /* A holds B's hub */
    int32_t depth = -1;
    double t0 = now_s();
    assert_int_equal(IHub_CallKept(hub_a, 6, &depth), S_OK);
    assert_int_equal(depth, 6);
    assert_true(now_s() - t0 < 5.0);
    assert_int_equal(IHub_DropAll(hub_a), S_OK);
    assert_int_equal(IHub_DropAll(hub_b), S_OK);
    IHub_Release(hub_a);
    IHub_Release(hub_b);
    IChain_Release(local);
    assert_true(eventually(local_exports, NULL, 0));
    assert_int_equal(target_stop(&a), 0);
    assert_int_equal(target_stop(&b), 0);
}

/* A message that is never sent (over the size limit) exported its objects while it was marshaled: those references
 * go back at once, or the objects would stay alive for a peer that never heard of them. */
static void unsent_message_gives_back(void **state)
{
    struct target tg;
    target_start(&tg, TP, server_path, serve_args, 2);
    struct pcom_client_limits small = {.max_message = 4096};
    assert_int_equal(pcom_set_client_limits(&small), S_OK);
    IHub *hub = open_hub(&tg);
    struct pcom_client_limits defaults = {0};
    assert_int_equal(pcom_set_client_limits(&defaults), S_OK);
    ISink *sink = sink_new();
    ISink *many[200];
    for (int i = 0; i < 200; i++)
        many[i] = sink;
    int32_t calls = -1;
    assert_int_equal(IHub_Array(hub, 200, many, &calls), E_INVALIDARG);
    assert_int_equal(pcom_server_live_objects(NULL), 0);
    assert_int_equal(sink_refs(sink), 1);
    /* a message that fits still carries it */
    assert_int_equal(IHub_Array(hub, 3, many, &calls), S_OK);
    assert_int_equal(calls, 3);
    assert_true(eventually(local_exports, NULL, 0));
    assert_true(eventually(refs_of_sink, sink, 1));
    IHub_Release(hub);
    ISink_Release(sink);
    assert_int_equal(target_stop(&tg), 0);
}

/* Object ids that were never handed to a connection reach nothing there, and change no count. A text reference
 * changed by one digit needs a server others can reach (not pipe); the forged messages need a raw stream (not shm,
 * whose hostile input tests/unit/test_shm.c sends). Over pipe each raw stream has a server of its own, which never
 * saw our hub: its clean exit says the forged and broken references changed nothing there. */
static void forged_and_stale_ids(void **state)
{
    struct target tg;
    target_start(&tg, TP, server_path, serve_args, 2);
    IHub *hub = open_hub(&tg);
    uint8_t oid[16];
    memset(oid, 0x42, sizeof(oid));
    if (TP != PIPE) {
        /* the object id of our hub, out of its text form (bytes 24-39 of the reference) */
        char *text;
        assert_int_equal(pcom_marshal_interface(&IID_IHub, hub, &text), S_OK);
        for (int i = 0; i < 16; i++) {
            unsigned v;
            assert_int_equal(sscanf(text + 8 + 2 * (24 + i), "%2x", &v), 1);
            oid[i] = (uint8_t)v;
        }
        /* a token changed by one digit claims nothing */
        char *bad = strdup(text);
        bad[8 + 2 * 56] = bad[8 + 2 * 56] == '0' ? '1' : '0';
        IHub *x = (IHub *)1;
        assert_int_equal(pcom_unmarshal_interface(bad, &IID_IHub, (void **)&x), RPC_E_DISCONNECTED);
        assert_null(x);
        free(bad);
        assert_int_equal(pcom_release_marshal_data(text), S_OK);
        pcom_free(text);
        assert_int_equal(remote_exports(hub), 1);
    }
    if (!(ON(TP) & RAW_STREAM)) {
        IHub_Release(hub);
        assert_int_equal(target_stop(&tg), 0);
        return;
    }

    /* another connection, which was never given the hub: calls on it and Releases of it fail, and change
     * nothing */
    pid_t own;
    int fd = raw_connect(&tg, &own);
    uint8_t h[56], reply[4096];
    raw_header(h, 1, 7, 0, 17 /* IHub::Pid */, oid, &IID_IHub);
    assert_int_equal(write(fd, h, 56), 56);
    ssize_t n = raw_read(fd, reply, sizeof(reply));
    assert_true(n >= 56 + 12);
    assert_int_equal(reply[5], 3); /* FAULT */
    HRESULT hr;
    memcpy(&hr, reply + 56, 4);
    assert_int_equal(hr, RPC_E_DISCONNECTED);
    static const IID system_iid = {0x70636f6d, 0x0000, 0x0000, {0x73, 0x79, 0x73, 0x74, 0x65, 0x6d, 0x00, 0x01}};
    /* RemRelease {n = 1, {oid, 5}} */
    uint8_t body[4 + 4 + 20] = {0};
    uint32_t one = 1, five = 5;
    memcpy(body, &one, 4);
    memcpy(body + 4, &one, 4);     /* the unique pointer's marker */
    memcpy(body + 8, oid, 16);
    memcpy(body + 24, &five, 4);
    raw_header(h, 1, 8, sizeof(body), 5, NULL, &system_iid);
    assert_int_equal(write(fd, h, 56), 56);
    assert_int_equal(write(fd, body, sizeof(body)), (ssize_t)sizeof(body));
    n = raw_read(fd, reply, sizeof(reply));
    assert_true(n >= 56 + 8);
    memcpy(&hr, reply + 56, 4);
    assert_true(FAILED(hr));
    /* Lend of an object it does not hold: refused */
    uint8_t lend[20] = {0};
    memcpy(lend, oid, 16);
    raw_header(h, 1, 9, sizeof(lend), 6, NULL, &system_iid);
    assert_int_equal(write(fd, h, 56), 56);
    assert_int_equal(write(fd, lend, sizeof(lend)), (ssize_t)sizeof(lend));
    n = raw_read(fd, reply, sizeof(reply));
    assert_true(n >= 56 + 8);
    memcpy(&hr, reply + 56, 4);
    assert_int_equal(hr, RPC_E_DISCONNECTED);
    assert_int_equal(raw_close(fd, own), 0);

    /* a connection of its own, given a hub by CreateInstance, then sent broken object references */
    fd = raw_connect(&tg, &own);
    uint8_t create[32];
    memcpy(create, &CLSID_Hub, 16);
    memcpy(create + 16, &IID_IHub, 16);
    raw_header(h, 1, 1, sizeof(create), 3, NULL, &system_iid);
    assert_int_equal(write(fd, h, 56), 56);
    assert_int_equal(write(fd, create, sizeof(create)), (ssize_t)sizeof(create));
    n = raw_read(fd, reply, sizeof(reply));
    assert_true(n >= 56 + 8 + 4 + 72);
    assert_int_equal(reply[5], 2); /* RESPONSE */
    memcpy(&hr, reply + 56, 4);
    assert_int_equal(hr, S_OK);
    uint8_t exporter[16], held[16];
    memcpy(exporter, reply + 56 + 12 + 8, 16);
    memcpy(held, reply + 56 + 12 + 24, 16);
    if (!own) /* the raw stream shares our hub's server */
        assert_int_equal(remote_exports(hub), 2);
    struct {
        const char *what;
        uint32_t len;        /* the length the body claims */
        uint32_t flags;
        bool exporter_is_server;
        bool token;
    } cases[] = {
        {"longer than any reference may be", 5000, 1, false, false},
        {"shorter than its fixed part", 20, 1, false, false},
        {"a counted reference from a peer that never said who it is", 72, 1, false, false},
        {"a reference back home with a token never lent", 72, 2, true, true},
        {"both kinds at once", 72, 3, true, true},
        {"no kind", 72, 0, true, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t ref[4 + 72] = {0};
        memcpy(ref, &cases[i].len, 4);
        memcpy(ref + 4, &cases[i].flags, 4);
        memset(ref + 4 + 8, 0x77, 16);
        if (cases[i].exporter_is_server)
            memcpy(ref + 4 + 8, exporter, 16);
        memcpy(ref + 4 + 24, held, 16);
        memcpy(ref + 4 + 40, &IID_ISink, 16);
        if (cases[i].token)
            memset(ref + 4 + 56, 0x33, 16);
        uint32_t body_len = cases[i].len <= 72 ? 4 + cases[i].len : 4 + 72;
        raw_header(h, 1, 100 + (uint32_t)i, body_len, 3 /* IHub::Subscribe */, held, &IID_IHub);
        assert_int_equal(write(fd, h, 56), 56);
        assert_int_equal(write(fd, ref, body_len), (ssize_t)body_len);
        n = raw_read(fd, reply, sizeof(reply));
        if (n < 56 + 8)
            fail_msg("no answer (%zd) to %s", n, cases[i].what);
        memcpy(&hr, reply + 56, 4);
        if (!FAILED(hr))
            fail_msg("accepted %s", cases[i].what);
    }
    /* the connection's hub goes with it (a server of its own exits 0 only when it did); ours is untouched */
    assert_int_equal(raw_close(fd, own), 0);
    assert_true(eventually(remote_exports, hub, 1));
    uint32_t pid;
    assert_int_equal(IHub_Pid(hub, &pid), S_OK);
    assert_int_equal(remote_exports(hub), 1);
    IHub_Release(hub);
    assert_int_equal(target_stop(&tg), 0);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s OBJTEST_SERVER [TEST@TRANSPORT pattern]\n", argv[0]);
        return 2;
    }
    server_path = argv[1];
    run_only(argv[2]);
    signal(SIGPIPE, SIG_IGN);
    /* inproc: gives the hub itself, from this factory */
    if (FAILED(pcom_register_class(&CLSID_Hub, &objtest_hub_factory)))
        return 1;
    const struct conformance_test shapes[] = {
        {"callbacks", callbacks, EVERYWHERE},
        {"identity", identity, EVERYWHERE},
        {"reference_counts", reference_counts, EVERYWHERE},
        {"in_out_struct_array", in_out_struct_array, EVERYWHERE},
        {"reentrant_chain", reentrant_chain, EVERYWHERE},
        {"text_references", text_references, EVERYWHERE},
    };
    /* None applies in process: there is no peer to kill, freeze or forge for. A pipe server listens nowhere, so no
     * other process can subscribe to its hub or be handed a reference to it: the subscriber and third-party
     * tests need an address (the pipe case of a third party, a proxy passed on, is chain_across_connections'). */
    const struct conformance_test failures[] = {
        {"subscriber_killed", subscriber_killed, ON(UNIX) | ON(TCP) | ON(SHM)},
        {"subscriber_frozen", subscriber_frozen, ON(UNIX) | ON(TCP) | ON(SHM)},
        {"frozen_server", frozen_server, REMOTE},
        {"third_party_reference", third_party_reference, ON(UNIX) | ON(TCP) | ON(SHM)},
        {"chain_across_connections", chain_across_connections, REMOTE},
        {"unsent_message_gives_back", unsent_message_gives_back, REMOTE},
        {"forged_and_stale_ids", forged_and_stale_ids, REMOTE},
    };
    int rc = run_per_transport("objects", shapes, sizeof(shapes) / sizeof(shapes[0]), group_setup, group_teardown,
                               test_setup, test_teardown);
    rc |= run_per_transport("objects: failures", failures, sizeof(failures) / sizeof(failures[0]), NULL, NULL, NULL,
                            NULL);
    pcom_revoke_class(&CLSID_Hub);
    return rc;
}
