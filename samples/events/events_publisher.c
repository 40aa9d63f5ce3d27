/* events_publisher.c: serves the Publisher class on the URLs given on the command line until SIGTERM: one
 * publisher for every client, which hands each published event to every subscribed sink. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "events_common.h"

#define PROGRAM "events_publisher"

struct subscription {
    uint32_t cookie;
    IEventSink *sink; /* holds a reference: a proxy when the subscriber is another process */
    struct subscription *next;
};

struct publisher {
    IPublisher iface;
    atomic_ulong refs;
    pthread_mutex_t lock; /* guards what follows; never held while calling a sink */
    struct subscription *subscriptions; /* in the order they subscribed, so events reach them in that order */
    uint32_t last_cookie;
    int32_t last_seq;
};

/* Workers print concurrently; a line flushed at once reaches a watching script whole and without delay. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    flockfile(stdout);
    vprintf(fmt, ap);
    fflush(stdout);
    funlockfile(stdout);
    va_end(ap);
}

static struct publisher *impl(IPublisher *This)
{
    return (struct publisher *)This;
}

static HRESULT STDMETHODCALLTYPE pub_query_interface(IPublisher *This, REFIID riid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    if (pcom_guid_equal(riid, &IID_IUnknown) || pcom_guid_equal(riid, &IID_IPublisher)) {
        *ppv = This;
        This->lpVtbl->AddRef(This);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE pub_add_ref(IPublisher *This)
{
    return (ULONG)atomic_fetch_add(&impl(This)->refs, 1) + 1;
}

static ULONG STDMETHODCALLTYPE pub_release(IPublisher *This)
{
    struct publisher *p = impl(This);
    unsigned long refs = atomic_fetch_sub(&p->refs, 1) - 1;
    if (refs == 0) {
        while (p->subscriptions) {
            struct subscription *s = p->subscriptions;
            p->subscriptions = s->next;
            IEventSink_Release(s->sink);
            free(s);
        }
        pthread_mutex_destroy(&p->lock);
        free(p);
    }
    return (ULONG)refs;
}

/* Takes the subscription with this cookie out of the list; NULL when there is none (any more). */
static struct subscription *unlink_subscription(struct publisher *p, uint32_t cookie)
{
    struct subscription *found = NULL;
    pthread_mutex_lock(&p->lock);
    for (struct subscription **pp = &p->subscriptions; *pp; pp = &(*pp)->next)
        if ((*pp)->cookie == cookie) {
            found = *pp;
            *pp = found->next;
            break;
        }
    pthread_mutex_unlock(&p->lock);
    return found;
}

static void free_subscription(struct subscription *s)
{
    IEventSink_Release(s->sink); /* outside the lock: releasing a proxy may talk to its process */
    free(s);
}

static HRESULT STDMETHODCALLTYPE pub_subscribe(IPublisher *This, IEventSink *sink, uint32_t *cookie)
{
    if (!sink || !cookie)
        return E_POINTER;
    struct publisher *p = impl(This);
    struct subscription *s = calloc(1, sizeof(*s));
    if (!s)
        return E_OUTOFMEMORY;
    IEventSink_AddRef(sink);
    s->sink = sink;
    pthread_mutex_lock(&p->lock);
    s->cookie = ++p->last_cookie;
    struct subscription **tail = &p->subscriptions;
    while (*tail)
        tail = &(*tail)->next;
    *tail = s;
    *cookie = s->cookie;
    pthread_mutex_unlock(&p->lock);
    say("subscribed %u\n", (unsigned)*cookie);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE pub_unsubscribe(IPublisher *This, uint32_t cookie)
{
    struct subscription *s = unlink_subscription(impl(This), cookie);
    if (!s) {
        pcom_set_error_message("no subscriber with cookie %u", (unsigned)cookie);
        return E_INVALIDARG;
    }
    free_subscription(s);
    say("unsubscribed %u\n", (unsigned)cookie);
    return S_OK;
}

/* The sinks to call, each with a reference of its own, taken under the lock so the calls can be made without
 * it: a sink may be slow, or call back into this publisher. */
struct delivery {
    uint32_t cookie;
    IEventSink *sink;
};

static HRESULT snapshot(struct publisher *p, int32_t *seq, struct delivery **out, size_t *count)
{
    HRESULT hr = S_OK;
    pthread_mutex_lock(&p->lock);
    *seq = ++p->last_seq;
    size_t n = 0;
    for (struct subscription *s = p->subscriptions; s; s = s->next)
        n++;
    struct delivery *d = n ? calloc(n, sizeof(*d)) : NULL;
    if (n && !d) {
        hr = E_OUTOFMEMORY;
        n = 0;
    }
    size_t i = 0;
    for (struct subscription *s = p->subscriptions; s && i < n; s = s->next, i++) {
        d[i].cookie = s->cookie;
        d[i].sink = s->sink;
        IEventSink_AddRef(s->sink);
    }
    pthread_mutex_unlock(&p->lock);
    *out = d;
    *count = n;
    return hr;
}

static HRESULT STDMETHODCALLTYPE pub_publish(IPublisher *This, const char *topic, const char *text,
                                             uint32_t *delivered)
{
    if (!topic || !text || !delivered)
        return E_POINTER;
    *delivered = 0;
    struct publisher *p = impl(This);
    int32_t seq;
    struct delivery *deliveries;
    size_t count;
    HRESULT hr = snapshot(p, &seq, &deliveries, &count);
    if (FAILED(hr))
        return hr;
    for (size_t i = 0; i < count; i++) {
        HRESULT call = IEventSink_OnEvent(deliveries[i].sink, seq, topic, text);
        if (SUCCEEDED(call)) {
            (*delivered)++;
        } else if (call == RPC_E_DISCONNECTED) {
            /* the subscriber's process is gone: it will never unsubscribe, so stop calling it */
            struct subscription *s = unlink_subscription(p, deliveries[i].cookie);
            if (s) {
                free_subscription(s);
                say("dropped subscriber %u: its process is gone\n", (unsigned)deliveries[i].cookie);
            }
        } else {
            /* a sink that refuses one event is still subscribed: it decides when to unsubscribe */
            const char *name = pcom_hresult_name(call);
            say("subscriber %u refused event %d: %s: %s\n", (unsigned)deliveries[i].cookie, (int)seq,
                name ? name : "", pcom_error_message()[0] ? pcom_error_message() : pcom_hresult_message(call));
        }
        IEventSink_Release(deliveries[i].sink);
    }
    free(deliveries);
    say("published %d on %s to %u of %zu subscribers\n", (int)seq, topic, (unsigned)*delivered, count);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE pub_get_subscriber(IPublisher *This, uint32_t cookie, IEventSink **sink)
{
    if (!sink)
        return E_POINTER;
    *sink = NULL;
    struct publisher *p = impl(This);
    pthread_mutex_lock(&p->lock);
    for (struct subscription *s = p->subscriptions; s; s = s->next)
        if (s->cookie == cookie) {
            *sink = s->sink;
            IEventSink_AddRef(*sink);
            break;
        }
    pthread_mutex_unlock(&p->lock);
    if (!*sink) {
        pcom_set_error_message("no subscriber with cookie %u", (unsigned)cookie);
        return E_INVALIDARG;
    }
    return S_OK;
}

static const IPublisherVtbl publisher_vtbl = {
    pub_query_interface, pub_add_ref, pub_release, pub_subscribe, pub_unsubscribe, pub_publish, pub_get_subscriber,
};

static HRESULT publisher_create(struct publisher **out)
{
    struct publisher *p = calloc(1, sizeof(*p));
    if (!p)
        return E_OUTOFMEMORY;
    p->iface.lpVtbl = &publisher_vtbl;
    atomic_init(&p->refs, 1);
    pthread_mutex_init(&p->lock, NULL);
    *out = p;
    return S_OK;
}

static size_t subscriber_count(struct publisher *p)
{
    size_t n = 0;
    pthread_mutex_lock(&p->lock);
    for (struct subscription *s = p->subscriptions; s; s = s->next)
        n++;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* The class factory hands every client the one publisher of this process: subscribers and publishers must meet
 * in the same list. It is static, so its reference count is only for show. */
static struct publisher *the_publisher;

static HRESULT STDMETHODCALLTYPE factory_query_interface(IClassFactory *This, REFIID riid, void **ppv)
{
    if (pcom_guid_equal(riid, &IID_IUnknown) || pcom_guid_equal(riid, &IID_IClassFactory)) {
        *ppv = This;
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE factory_add_ref(IClassFactory *This)
{
    (void)This;
    return 2;
}

static ULONG STDMETHODCALLTYPE factory_release(IClassFactory *This)
{
    (void)This;
    return 1;
}

static HRESULT STDMETHODCALLTYPE factory_create_instance(IClassFactory *This, IUnknown *outer, REFIID riid,
                                                         void **ppv)
{
    (void)This;
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (outer)
        return CLASS_E_NOAGGREGATION;
    return pub_query_interface(&the_publisher->iface, riid, ppv);
}

static HRESULT STDMETHODCALLTYPE factory_lock_server(IClassFactory *This, BOOL lock)
{
    (void)This;
    (void)lock;
    return S_OK;
}

static const IClassFactoryVtbl factory_vtbl = {
    factory_query_interface, factory_add_ref, factory_release, factory_create_instance, factory_lock_server,
};

static IClassFactory factory = {&factory_vtbl};

static struct pcom_server *server;

static void on_signal(int sig)
{
    (void)sig;
    pcom_server_stop(server); /* async-signal-safe: one write to a pipe */
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL...   (unix:/path, unix:@name, tcp://host:port)\n", argv[0]);
        return 2;
    }
    bool registered = false;
    int status = 1;
    HRESULT hr = publisher_create(&the_publisher);
    if (events_failed(PROGRAM, hr, "creating the publisher"))
        goto out;
    if (events_failed(PROGRAM, hr = pcom_register_class(&CLSID_Publisher, &factory), "pcom_register_class"))
        goto out;
    registered = true;
    if (events_failed(PROGRAM, hr = pcom_server_create(NULL, &server), "pcom_server_create"))
        goto out;
    for (int i = 1; i < argc; i++) {
        if (events_failed(PROGRAM, hr = pcom_server_listen(server, argv[i]), argv[i]))
            goto out;
        say("listening on %s\n", pcom_server_url(server, (unsigned)i - 1));
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (events_failed(PROGRAM, hr = pcom_server_run(server), "pcom_server_run"))
        goto out;
    /* pcom_server_run has closed every connection, so whatever clients held is released by now */
    size_t objects_left = pcom_server_live_objects(server);
    size_t subscribers_left = subscriber_count(the_publisher);
    say("stopped; %zu objects left, %zu subscribers left\n", objects_left, subscribers_left);
    status = objects_left == 0 && subscribers_left == 0 ? 0 : 1;
out:
    pcom_server_destroy(server);
    if (registered)
        pcom_revoke_class(&CLSID_Publisher);
    if (the_publisher)
        pub_release(&the_publisher->iface);
    return status;
}
