/* objtest_objects.c: the objects of the object reference tests: a sink that sums what it is told, a chain that
 * bounces calls back, and a hub that keeps subscribers and references. */
#include "objtest_objects.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_long live;

long objtest_live(void)
{
    return atomic_load(&live);
}

/* ---- sink ---- */

struct sink {
    ISink iface;
    atomic_ulong refs;
    atomic_int total;
};

static HRESULT STDMETHODCALLTYPE sink_qi(ISink *This, REFIID riid, void **ppv)
{
    if (!pcom_guid_equal(riid, &IID_IUnknown) && !pcom_guid_equal(riid, &IID_ISink)) {
        *ppv = NULL;
        return E_NOINTERFACE;
    }
    *ppv = This;
    ISink_AddRef(This);
    return S_OK;
}
static ULONG STDMETHODCALLTYPE sink_addref(ISink *This)
{
    return (ULONG)atomic_fetch_add(&((struct sink *)This)->refs, 1) + 1;
}
static ULONG STDMETHODCALLTYPE sink_release(ISink *This)
{
    unsigned long left = atomic_fetch_sub(&((struct sink *)This)->refs, 1) - 1;
    if (!left) {
        free(This);
        atomic_fetch_sub(&live, 1);
    }
    return (ULONG)left;
}
static HRESULT STDMETHODCALLTYPE sink_notify(ISink *This, int32_t value)
{
    atomic_fetch_add(&((struct sink *)This)->total, value);
    return S_OK;
}
static HRESULT STDMETHODCALLTYPE sink_get_total(ISink *This, int32_t *total)
{
    *total = atomic_load(&((struct sink *)This)->total);
    return S_OK;
}
static HRESULT STDMETHODCALLTYPE sink_pid(ISink *This, uint32_t *pid)
{
    (void)This;
    *pid = (uint32_t)getpid();
    return S_OK;
}
static const ISinkVtbl sink_vtbl = {sink_qi, sink_addref, sink_release, sink_notify, sink_get_total, sink_pid};

ISink *sink_new(void)
{
    struct sink *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->iface.lpVtbl = &sink_vtbl;
    atomic_init(&s->refs, 1);
    atomic_fetch_add(&live, 1);
    return &s->iface;
}

int32_t sink_total(ISink *s)
{
    return atomic_load(&((struct sink *)s)->total);
}

unsigned long sink_refs(ISink *s)
{
    return atomic_load(&((struct sink *)s)->refs);
}

/* ---- chain ---- */

struct chain {
    IChain iface;
    atomic_ulong refs;
};

static HRESULT STDMETHODCALLTYPE chain_qi(IChain *This, REFIID riid, void **ppv)
{
    if (!pcom_guid_equal(riid, &IID_IUnknown) && !pcom_guid_equal(riid, &IID_IChain)) {
        *ppv = NULL;
        return E_NOINTERFACE;
    }
    *ppv = This;
    IChain_AddRef(This);
    return S_OK;
}
static ULONG STDMETHODCALLTYPE chain_addref(IChain *This)
{
    return (ULONG)atomic_fetch_add(&((struct chain *)This)->refs, 1) + 1;
}
static ULONG STDMETHODCALLTYPE chain_release(IChain *This)
{
    unsigned long left = atomic_fetch_sub(&((struct chain *)This)->refs, 1) - 1;
    if (!left) {
        free(This);
        atomic_fetch_sub(&live, 1);
    }
    return (ULONG)left;
}

/* Shared by the chain and the hub: the call goes back to whoever called, one level shallower. */
static HRESULT bounce(IChain *self, int32_t n, IChain *other, int32_t *depth)
{
    *depth = 0;
    if (n <= 0)
        return S_OK;
    if (!other)
        return E_POINTER;
    int32_t d = 0;
    HRESULT hr = IChain_Bounce(other, n - 1, self, &d);
    if (SUCCEEDED(hr))
        *depth = d + 1;
    return hr;
}
static HRESULT STDMETHODCALLTYPE chain_bounce(IChain *This, int32_t n, IChain *other, int32_t *depth)
{
    return bounce(This, n, other, depth);
}
static const IChainVtbl chain_vtbl = {chain_qi, chain_addref, chain_release, chain_bounce};

IChain *chain_new(void)
{
    struct chain *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->iface.lpVtbl = &chain_vtbl;
    atomic_init(&c->refs, 1);
    atomic_fetch_add(&live, 1);
    return &c->iface;
}

/* ---- hub ---- */

#define MAX_SUBSCRIBERS 64

struct hub {
    IHub hub;
    IChain chain;
    atomic_ulong refs;
    pthread_mutex_t lock;
    ISink *subs[MAX_SUBSCRIBERS];
    unsigned nsubs;
    IUnknown *kept;
};

#define HUB(p) ((struct hub *)(void *)(p))
#define HUB_OF_CHAIN(p) ((struct hub *)(void *)((char *)(p) - offsetof(struct hub, chain)))

static HRESULT hub_qi(struct hub *h, REFIID riid, void **ppv)
{
    if (pcom_guid_equal(riid, &IID_IUnknown) || pcom_guid_equal(riid, &IID_IHub))
        *ppv = &h->hub;
    else if (pcom_guid_equal(riid, &IID_IChain))
        *ppv = &h->chain;
    else {
        *ppv = NULL;
        return E_NOINTERFACE;
    }
    atomic_fetch_add(&h->refs, 1);
    return S_OK;
}

static ULONG hub_release(struct hub *h)
{
    unsigned long left = atomic_fetch_sub(&h->refs, 1) - 1;
    if (left)
        return (ULONG)left;
    for (unsigned i = 0; i < h->nsubs; i++)
        ISink_Release(h->subs[i]);
    if (h->kept)
        IUnknown_Release(h->kept);
    pthread_mutex_destroy(&h->lock);
    free(h);
    atomic_fetch_sub(&live, 1);
    return 0;
}

static HRESULT STDMETHODCALLTYPE h_qi(IHub *This, REFIID riid, void **ppv)
{
    return hub_qi(HUB(This), riid, ppv);
}
static ULONG STDMETHODCALLTYPE h_addref(IHub *This)
{
    return (ULONG)atomic_fetch_add(&HUB(This)->refs, 1) + 1;
}
static ULONG STDMETHODCALLTYPE h_release(IHub *This)
{
    return hub_release(HUB(This));
}

static HRESULT STDMETHODCALLTYPE h_subscribe(IHub *This, ISink *sink)
{
    struct hub *h = HUB(This);
    if (!sink)
        return E_POINTER;
    pthread_mutex_lock(&h->lock);
    bool full = h->nsubs == MAX_SUBSCRIBERS;
    if (!full) {
        ISink_AddRef(sink);
        h->subs[h->nsubs++] = sink;
    }
    pthread_mutex_unlock(&h->lock);
    return full ? E_OUTOFMEMORY : S_OK;
}

static HRESULT STDMETHODCALLTYPE h_publish(IHub *This, int32_t value, int32_t *delivered, int32_t *failed,
                                           int32_t *last_error)
{
    struct hub *h = HUB(This);
    ISink *subs[MAX_SUBSCRIBERS];
    pthread_mutex_lock(&h->lock);
    unsigned n = h->nsubs;
    memcpy(subs, h->subs, n * sizeof(*subs));
    for (unsigned i = 0; i < n; i++)
        ISink_AddRef(subs[i]);
    pthread_mutex_unlock(&h->lock);
    *delivered = *failed = *last_error = 0;
    /* calls go out without the lock: a subscriber may call back into the hub */
    for (unsigned i = 0; i < n; i++) {
        HRESULT hr = ISink_Notify(subs[i], value);
        if (SUCCEEDED(hr)) {
            (*delivered)++;
            continue;
        }
        (*failed)++;
        *last_error = hr;
        pthread_mutex_lock(&h->lock);
        for (unsigned k = 0; k < h->nsubs; k++)
            if (h->subs[k] == subs[i]) {
                ISink_Release(h->subs[k]);
                h->subs[k] = h->subs[--h->nsubs];
                break;
            }
        pthread_mutex_unlock(&h->lock);
    }
    for (unsigned i = 0; i < n; i++)
        ISink_Release(subs[i]);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE h_drop_all(IHub *This)
{
    struct hub *h = HUB(This);
    pthread_mutex_lock(&h->lock);
    unsigned n = h->nsubs;
    ISink *subs[MAX_SUBSCRIBERS];
    memcpy(subs, h->subs, n * sizeof(*subs));
    h->nsubs = 0;
    IUnknown *kept = h->kept;
    h->kept = NULL;
    pthread_mutex_unlock(&h->lock);
    for (unsigned i = 0; i < n; i++)
        ISink_Release(subs[i]);
    if (kept)
        IUnknown_Release(kept);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE h_keep(IHub *This, IUnknown *obj)
{
    struct hub *h = HUB(This);
    if (obj)
        IUnknown_AddRef(obj);
    pthread_mutex_lock(&h->lock);
    IUnknown *old = h->kept;
    h->kept = obj;
    pthread_mutex_unlock(&h->lock);
    if (old)
        IUnknown_Release(old);
    return S_OK;
}

static IUnknown *kept_ref(struct hub *h)
{
    pthread_mutex_lock(&h->lock);
    IUnknown *k = h->kept;
    if (k)
        IUnknown_AddRef(k);
    pthread_mutex_unlock(&h->lock);
    return k;
}

static HRESULT STDMETHODCALLTYPE h_kept(IHub *This, REFIID riid, void **ppv)
{
    IUnknown *k = kept_ref(HUB(This));
    *ppv = NULL;
    if (!k)
        return E_FAIL;
    HRESULT hr = IUnknown_QueryInterface(k, riid, ppv);
    IUnknown_Release(k);
    return hr;
}

static HRESULT STDMETHODCALLTYPE h_echo(IHub *This, ISink *in, ISink **out)
{
    (void)This;
    *out = in;
    if (in)
        ISink_AddRef(in);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE h_same(IHub *This, IUnknown *a, IUnknown *b, boolean *same)
{
    (void)This;
    IUnknown *ua = NULL, *ub = NULL;
    HRESULT hr = IUnknown_QueryInterface(a, &IID_IUnknown, (void **)&ua);
    if (SUCCEEDED(hr))
        hr = IUnknown_QueryInterface(b, &IID_IUnknown, (void **)&ub);
    *same = SUCCEEDED(hr) && ua == ub;
    if (ua)
        IUnknown_Release(ua);
    if (ub)
        IUnknown_Release(ub);
    return hr;
}

static HRESULT STDMETHODCALLTYPE h_swap(IHub *This, ISink **sink)
{
    IUnknown *k = kept_ref(HUB(This));
    if (!k)
        return E_FAIL;
    ISink *n = NULL;
    HRESULT hr = IUnknown_QueryInterface(k, &IID_ISink, (void **)&n);
    IUnknown_Release(k);
    if (FAILED(hr))
        return hr;
    /* [in, out]: the callee releases what it replaces */
    if (*sink)
        ISink_Release(*sink);
    *sink = n;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE h_pair(IHub *This, const SinkPair *pair, int32_t *calls)
{
    (void)This;
    *calls = 0;
    HRESULT hr = ISink_Notify(pair->first, pair->tag);
    if (SUCCEEDED(hr))
        (*calls)++;
    if (SUCCEEDED(hr) && pair->second && SUCCEEDED(hr = ISink_Notify(pair->second, pair->tag)))
        (*calls)++;
    return hr;
}

static HRESULT STDMETHODCALLTYPE h_array(IHub *This, uint32_t n, ISink **sinks, int32_t *calls)
{
    (void)This;
    *calls = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!sinks[i])
            continue;
        HRESULT hr = ISink_Notify(sinks[i], (int32_t)i + 1);
        if (FAILED(hr))
            return hr;
        (*calls)++;
    }
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE h_new_hub(IHub *This, IHub **out)
{
    (void)This;
    *out = hub_new();
    return *out ? S_OK : E_OUTOFMEMORY;
}

static HRESULT STDMETHODCALLTYPE h_live(IHub *This, uint32_t *exported)
{
    (void)This;
    *exported = (uint32_t)pcom_server_live_objects(NULL);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE h_pid(IHub *This, uint32_t *pid)
{
    (void)This;
    *pid = (uint32_t)getpid();
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE h_exit(IHub *This)
{
    (void)This;
    _exit(0);
}

static HRESULT STDMETHODCALLTYPE h_call_kept(IHub *This, int32_t n, int32_t *depth)
{
    struct hub *h = HUB(This);
    *depth = 0;
    IUnknown *k = kept_ref(h);
    if (!k)
        return E_FAIL;
    IChain *chain = NULL;
    IHub *hub = NULL;
    HRESULT hr;
    if (SUCCEEDED(IUnknown_QueryInterface(k, &IID_IHub, (void **)&hub))) {
        hr = IHub_CallKept(hub, n, depth);
        IHub_Release(hub);
    } else if (SUCCEEDED(hr = IUnknown_QueryInterface(k, &IID_IChain, (void **)&chain))) {
        hr = IChain_Bounce(chain, n, &h->chain, depth);
        IChain_Release(chain);
    }
    IUnknown_Release(k);
    return hr;
}

static const IHubVtbl hub_vtbl = {h_qi,   h_addref, h_release, h_subscribe, h_publish, h_drop_all,
                                  h_keep, h_kept,   h_echo,    h_same,      h_swap,    h_pair,
                                  h_array, h_new_hub, h_live,  h_pid,       h_exit,    h_call_kept};

static HRESULT STDMETHODCALLTYPE hc_qi(IChain *This, REFIID riid, void **ppv)
{
    return hub_qi(HUB_OF_CHAIN(This), riid, ppv);
}
static ULONG STDMETHODCALLTYPE hc_addref(IChain *This)
{
    return (ULONG)atomic_fetch_add(&HUB_OF_CHAIN(This)->refs, 1) + 1;
}
static ULONG STDMETHODCALLTYPE hc_release(IChain *This)
{
    return hub_release(HUB_OF_CHAIN(This));
}
static HRESULT STDMETHODCALLTYPE hc_bounce(IChain *This, int32_t n, IChain *other, int32_t *depth)
{
    return bounce(This, n, other, depth);
}
static const IChainVtbl hub_chain_vtbl = {hc_qi, hc_addref, hc_release, hc_bounce};

IHub *hub_new(void)
{
    struct hub *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->hub.lpVtbl = &hub_vtbl;
    h->chain.lpVtbl = &hub_chain_vtbl;
    atomic_init(&h->refs, 1);
    pthread_mutex_init(&h->lock, NULL);
    atomic_fetch_add(&live, 1);
    return &h->hub;
}

/* ---- the class factory ---- */

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
    *ppv = NULL;
    if (outer)
        return CLASS_E_NOAGGREGATION;
    IHub *h = hub_new();
    if (!h)
        return E_OUTOFMEMORY;
    HRESULT hr = IHub_QueryInterface(h, riid, ppv);
    IHub_Release(h);
    return hr;
}
static HRESULT STDMETHODCALLTYPE f_lock(IClassFactory *This, BOOL lock)
{
    (void)This;
    (void)lock;
    return S_OK;
}
static const IClassFactoryVtbl factory_vtbl = {f_qi, f_addref, f_release, f_create, f_lock};
IClassFactory objtest_hub_factory = {&factory_vtbl};
