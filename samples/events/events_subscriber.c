/* events_subscriber.c: subscribes a sink of its own to the publisher at URL, prints the events it receives, and
 * after COUNT of them unsubscribes and exits. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "events_common.h"

#define PROGRAM "events_subscriber"
#define RELEASE_WAIT_MS 5000

/* A sink that prints every event and counts them for the main thread, which waits for enough of them. Events
 * arrive on the runtime's threads, concurrently when several processes call at once. */
struct printing_sink {
    IEventSink iface;
    atomic_ulong refs;
    pthread_mutex_t lock;
    pthread_cond_t received_more;
    unsigned received; /* under lock */
};

static struct printing_sink *impl(IEventSink *This)
{
    return (struct printing_sink *)This;
}

static HRESULT STDMETHODCALLTYPE sink_query_interface(IEventSink *This, REFIID riid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    if (pcom_guid_equal(riid, &IID_IUnknown) || pcom_guid_equal(riid, &IID_IEventSink)) {
        *ppv = This;
        This->lpVtbl->AddRef(This);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE sink_add_ref(IEventSink *This)
{
    return (ULONG)atomic_fetch_add(&impl(This)->refs, 1) + 1;
}

static ULONG STDMETHODCALLTYPE sink_release(IEventSink *This)
{
    struct printing_sink *s = impl(This);
    unsigned long refs = atomic_fetch_sub(&s->refs, 1) - 1;
    if (refs == 0) {
        pthread_cond_destroy(&s->received_more);
        pthread_mutex_destroy(&s->lock);
        free(s);
    }
    return (ULONG)refs;
}

static HRESULT STDMETHODCALLTYPE sink_on_event(IEventSink *This, int32_t seq, const char *topic, const char *text)
{
    if (!topic || !text)
        return E_POINTER;
    struct printing_sink *s = impl(This);
    /* printed under the lock, so the lines come out in the order they are counted */
    pthread_mutex_lock(&s->lock);
    printf("event %d %s: %s\n", (int)seq, topic, text);
    fflush(stdout);
    s->received++;
    pthread_cond_broadcast(&s->received_more);
    pthread_mutex_unlock(&s->lock);
    return S_OK;
}

static const IEventSinkVtbl sink_vtbl = {sink_query_interface, sink_add_ref, sink_release, sink_on_event};

static HRESULT sink_create(struct printing_sink **out)
{
    struct printing_sink *s = calloc(1, sizeof(*s));
    if (!s)
        return E_OUTOFMEMORY;
    s->iface.lpVtbl = &sink_vtbl;
    atomic_init(&s->refs, 1);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->received_more, NULL);
    *out = s;
    return S_OK;
}

static void sink_wait_for(struct printing_sink *s, unsigned count)
{
    pthread_mutex_lock(&s->lock);
    while (s->received < count)
        pthread_cond_wait(&s->received_more, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

/* The server that lets other processes reach the sink directly: it runs on a thread of its own while the main
 * thread waits for events. */
struct sink_server {
    struct pcom_server *server;
    pthread_t thread;
    bool running;
    HRESULT result;
};

static void *sink_server_main(void *arg)
{
    struct sink_server *ss = arg;
    ss->result = pcom_server_run(ss->server);
    return NULL;
}

/* Releases of references held by other processes come back in batches, a moment after the holder let go: wait
 * for them so the sink is ours alone before it goes. */
static size_t wait_for_exports_released(void)
{
    size_t live = pcom_server_live_objects(NULL);
    for (int waited = 0; live && waited < RELEASE_WAIT_MS; waited += 10) {
        nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
        live = pcom_server_live_objects(NULL);
    }
    return live;
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s PUBLISHER_URL COUNT [--listen URL] [--print-ref]\n"
            "  --listen URL   serve on URL too, so a process given the sink's reference reaches it directly\n"
            "  --print-ref    print the sink's reference as text (\"ref pcomref:...\"), for another process to\n"
            "                 pcom_unmarshal_interface (it reaches the sink only through a --listen URL)\n",
            argv0);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        usage(argv[0]);
        return 2;
    }
    const char *publisher_url = argv[1];
    char *end;
    unsigned long count = strtoul(argv[2], &end, 10);
    const char *listen_url = NULL;
    bool print_ref = false;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen_url = argv[++i];
        } else if (strcmp(argv[i], "--print-ref") == 0) {
            print_ref = true;
        } else {
            usage(argv[0]);
            return 2;
        }
    }
    if (*end || count == 0 || count > 1000000) {
        usage(argv[0]);
        return 2;
    }

    int status = 1;
    struct printing_sink *sink = NULL;
    struct sink_server ss = {0};
    IPublisher *publisher = NULL;
    uint32_t cookie = 0;
    char *ref = NULL;
    HRESULT hr = sink_create(&sink);
    if (events_failed(PROGRAM, hr, "creating the sink"))
        goto out;
    if (listen_url) {
        /* before connecting to the publisher: this process's addresses travel in the connection's greeting, and
         * from there in every reference to the sink the publisher hands on */
        if (events_failed(PROGRAM, hr = pcom_server_create(NULL, &ss.server), "pcom_server_create") ||
            events_failed(PROGRAM, hr = pcom_server_listen(ss.server, listen_url), listen_url))
            goto out;
        if (pthread_create(&ss.thread, NULL, sink_server_main, &ss) != 0) {
            fprintf(stderr, "%s: cannot start the server thread\n", PROGRAM);
            goto out;
        }
        ss.running = true;
    }
    if (events_failed(PROGRAM,
                      hr = pcom_create_instance(&CLSID_Publisher, publisher_url, &IID_IPublisher,
                                                (void **)&publisher),
                      "pcom_create_instance"))
        goto out;
    if (events_failed(PROGRAM, hr = IPublisher_Subscribe(publisher, &sink->iface, &cookie), "Subscribe"))
        goto out;
    printf("cookie %u\n", (unsigned)cookie);
    if (print_ref) {
        if (events_failed(PROGRAM, hr = pcom_marshal_interface(&IID_IEventSink, &sink->iface, &ref),
                          "pcom_marshal_interface"))
            goto out;
        printf("ref %s\n", ref);
    }
    fflush(stdout);

    sink_wait_for(sink, (unsigned)count);

    hr = IPublisher_Unsubscribe(publisher, cookie);
    cookie = 0;
    if (events_failed(PROGRAM, hr, "Unsubscribe"))
        goto out;
    status = 0;
out:
    if (cookie) {
        /* leaving early: the publisher must not keep calling a sink that is gone */
        HRESULT unsubscribed = IPublisher_Unsubscribe(publisher, cookie);
        events_failed(PROGRAM, unsubscribed, "Unsubscribe");
    }
    if (ref) {
        events_failed(PROGRAM, pcom_release_marshal_data(ref), "pcom_release_marshal_data");
        pcom_free(ref);
    }
    if (publisher)
        IPublisher_Release(publisher);
    size_t still_exported = wait_for_exports_released();
    if (still_exported) {
        fprintf(stderr, "%s: %zu objects still held by other processes after %d ms\n", PROGRAM, still_exported,
                RELEASE_WAIT_MS);
        status = 1;
    }
    if (ss.running) {
        pcom_server_stop(ss.server);
        pthread_join(ss.thread, NULL);
        if (events_failed(PROGRAM, ss.result, "pcom_server_run"))
            status = 1;
    }
    pcom_server_destroy(ss.server);
    if (sink) {
        pthread_mutex_lock(&sink->lock);
        unsigned received = sink->received;
        pthread_mutex_unlock(&sink->lock);
        ULONG refs_left = sink_release(&sink->iface);
        if (refs_left != 0) {
            fprintf(stderr, "%s: the sink still has %u references\n", PROGRAM, (unsigned)refs_left);
            status = 1;
        }
        if (status == 0)
            printf("done after %u events\n", received);
    }
    return status;
}
