/* proxy.c: proxies for objects of other processes (identity, reference counts, remote QueryInterface) and object
 * references: interface pointers turned into bytes and back, on a connection or as text. */
#include "rpc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- object references (docs/wire.md) ----
 *
 *   0  u32  flags: CONN or TOKEN
 *   4  u32  number of endpoints (at most PCOMI_MAX_ENDPOINTS)
 *   8  16   exporter id
 *  24  16   object id
 *  40  16   interface id
 *  56  16   token (TOKEN only, else zero)
 *  72       endpoints: each a u32 length and that many bytes of URL
 */
/* References a proxy keeps from repeated unmarshaling instead of giving them back: each lets it hand the object
 * back to its exporter without a round trip. */
#define SPARE_REFS 8
HRESULT pcomi_objref_write(const struct pcomi_objref *r, struct pcomi_wbuf *out)
{
    uint8_t *p = pcomi_wbuf_append(out, PCOMI_OBJREF_FIXED, 4);
    if (!p)
        return E_OUTOFMEMORY;
    uint32_t n = r->where.nendpoints;
    memcpy(p, &r->flags, 4);
    memcpy(p + 4, &n, 4);
    memcpy(p + 8, r->where.exporter.b, 16);
    memcpy(p + 24, r->oid.b, 16);
    memcpy(p + 40, &r->iid, 16);
    memcpy(p + 56, r->token.b, 16);
    return pcomi_endpoints_write(&r->where, out);
}

HRESULT pcomi_endpoints_write(const struct pcomi_peer *p, struct pcomi_wbuf *out)
{
    for (unsigned i = 0; i < p->nendpoints; i++) {
        uint32_t len = (uint32_t)strlen(p->endpoints[i]);
        uint8_t *q = pcomi_wbuf_append(out, 4 + len, 1);
        if (!q)
            return E_OUTOFMEMORY;
        memcpy(q, &len, 4);
        memcpy(q + 4, p->endpoints[i], len);
    }
    return S_OK;
}

bool pcomi_endpoints_parse(const uint8_t *b, size_t len, size_t pos, uint32_t count, struct pcomi_peer *p)
{
    for (uint32_t i = 0; i < count; i++) {
        uint32_t n;
        if (pos > len || len - pos < 4)
            return false;
        memcpy(&n, b + pos, 4);
        pos += 4;
        if (n == 0 || n >= PCOMI_URL_MAX || n > len - pos || memchr(b + pos, 0, n))
            return false;
        memcpy(p->endpoints[i], b + pos, n);
        p->endpoints[i][n] = 0;
        pos += n;
    }
    p->nendpoints = count;
    return pos == len;
}

HRESULT pcomi_objref_parse(const uint8_t *b, size_t len, struct pcomi_objref *r)
{
    memset(r, 0, sizeof(*r));
    if (len < PCOMI_OBJREF_FIXED)
        return RPC_E_INVALID_DATA;
    uint32_t n;
    memcpy(&r->flags, b, 4);
    memcpy(&n, b + 4, 4);
    memcpy(r->where.exporter.b, b + 8, 16);
    memcpy(r->oid.b, b + 24, 16);
    memcpy(&r->iid, b + 40, 16);
    memcpy(r->token.b, b + 56, 16);
    if ((r->flags != PCOMI_ORF_CONN && r->flags != PCOMI_ORF_TOKEN) ||
        n > PCOMI_MAX_ENDPOINTS || pcomi_oid_is_zero(&r->where.exporter) || pcomi_oid_is_zero(&r->oid) ||
        (!(r->flags & PCOMI_ORF_TOKEN) && !pcomi_oid_is_zero(&r->token)) ||
        ((r->flags & PCOMI_ORF_TOKEN) && pcomi_oid_is_zero(&r->token)))
        return RPC_E_INVALID_DATA;
    return pcomi_endpoints_parse(b, len, PCOMI_OBJREF_FIXED, n, &r->where) ? S_OK : RPC_E_INVALID_DATA;
}

/* ---- proxies ---- */

/* Proxies answer QueryInterface for this IID with their object (no other object does): so a reference being
 * marshaled is recognised as a proxy, whatever interface of it was passed. */
static const IID iid_proxy_object = {0x70636f6d, 0x0000, 0x0000, {0x70, 0x72, 0x6f, 0x78, 0x79, 0x00, 0x00, 0x01}};

struct rproxy;

struct iproxy {
    const void *vtbl; /* first: a pointer to it is the interface pointer */
    struct rproxy *obj;
    const struct pcom_interface_info *info; /* NULL for the identity */
    struct iproxy *next;
};

/* One remote object as this process sees it: one identity, one proxy per interface, one count. */
struct rproxy {
    struct iproxy unk;
    atomic_ulong refs; /* local references through any of its interfaces */
    struct pcomi_channel *ch; /* a use */
    pcomi_oid exporter, oid;
    uint32_t remote_refs;  /* references the exporter counts for ch; under px_lock */
    struct iproxy *ifaces; /* under px_lock */
    struct rproxy *next;
};

#define PX_BUCKETS 256
static pthread_mutex_t px_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rproxy *proxies[PX_BUCKETS];

static unsigned px_bucket(const pcomi_oid *oid)
{
    return oid->b[0] % PX_BUCKETS;
}

static HRESULT STDMETHODCALLTYPE unk_query_interface(IUnknown *This, REFIID riid, void **ppv)
{
    return pcom_proxy_query_interface(This, riid, ppv);
}
static ULONG STDMETHODCALLTYPE unk_add_ref(IUnknown *This)
{
    return pcom_proxy_add_ref(This);
}
static ULONG STDMETHODCALLTYPE unk_release(IUnknown *This)
{
    return pcom_proxy_release(This);
}
static const IUnknownVtbl unk_vtbl = {unk_query_interface, unk_add_ref, unk_release};

/* IUnknown itself travels too ([in] IUnknown *, [iid_is] void **): its tables name no method to call. */
static const struct pcom_method iunknown_methods[3] = {
    {"QueryInterface", 0, 0, 0, NULL, NULL}, {"AddRef", 0, 0, 0, NULL, NULL}, {"Release", 0, 0, 0, NULL, NULL}};
static const struct pcom_interface_info iunknown_info = {
    PCOM_INTERFACE_INFO_MAGIC, PCOM_STUB_ABI_VERSION, &IID_IUnknown, "IUnknown", 3, iunknown_methods, &unk_vtbl};

__attribute__((constructor)) static void register_iunknown(void)
{
    pcom_register_interface(&iunknown_info);
}

static bool try_ref(struct rproxy *o)
{
    unsigned long r = atomic_load(&o->refs);
    while (r && !atomic_compare_exchange_weak(&o->refs, &r, r + 1))
        ;
    return r != 0;
}

/* The interface proxy of o for info, made if needed. Under px_lock. */
static struct iproxy *iface_of(struct rproxy *o, const struct pcom_interface_info *info)
{
    if (info == &iunknown_info)
        return &o->unk; /* identity: one IUnknown pointer per object */
    for (struct iproxy *p = o->ifaces; p; p = p->next)
        if (pcom_guid_equal(p->info->iid, info->iid))
            return p;
    struct iproxy *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->vtbl = info->proxy_vtbl;
    p->obj = o;
    p->info = info;
    p->next = o->ifaces;
    o->ifaces = p;
    return p;
}

/* The proxy for (exporter, oid) with info's interface, taking over one reference the exporter counted for ch:
 * kept by a new proxy, given back in the next batch when a live proxy already holds one. */
static HRESULT proxy_for(struct pcomi_channel *ch, const pcomi_oid *exporter, const pcomi_oid *oid,
                         const struct pcom_interface_info *info, void **out)
{
    struct rproxy *o;
    pthread_mutex_lock(&px_lock);
    /* keyed by connection too: a peer's word on who exported an object binds only what comes over its connection */
    for (o = proxies[px_bucket(oid)]; o; o = o->next)
        if (o->ch == ch && memcmp(o->oid.b, oid->b, 16) == 0 && memcmp(o->exporter.b, exporter->b, 16) == 0 &&
            !pcomi_channel_dead(o->ch) && try_ref(o))
            break;
    if (o) {
        struct iproxy *p = iface_of(o, info);
        bool spare = o->ch == ch && o->remote_refs < SPARE_REFS;
        if (spare)
            o->remote_refs++;
        pthread_mutex_unlock(&px_lock);
        if (!spare)
            pcomi_channel_release_later(ch, oid, 1);
        if (!p) {
            pcom_proxy_release(&o->unk);
            return E_OUTOFMEMORY;
        }
        *out = p;
        return S_OK;
    }
    pthread_mutex_unlock(&px_lock);
    if (!(o = calloc(1, sizeof(*o)))) {
        pcomi_channel_release_later(ch, oid, 1);
        return E_OUTOFMEMORY;
    }
    o->unk.vtbl = &unk_vtbl;
    o->unk.obj = o;
    atomic_init(&o->refs, 1);
    o->exporter = *exporter;
    o->oid = *oid;
    o->remote_refs = 1;
    o->ch = ch;
    pcomi_channel_use(ch);
    pthread_mutex_lock(&px_lock);
    struct rproxy *other = NULL;
    for (other = proxies[px_bucket(oid)]; other; other = other->next)
        if (other->ch == ch && memcmp(other->oid.b, oid->b, 16) == 0 &&
            memcmp(other->exporter.b, exporter->b, 16) == 0 && !pcomi_channel_dead(other->ch) && try_ref(other))
            break;
    struct iproxy *p = NULL;
    if (other) {
        /* another thread unmarshaled the same object meanwhile: one proxy per object */
        p = iface_of(other, info);
    } else if ((p = iface_of(o, info))) {
        o->next = proxies[px_bucket(oid)];
        proxies[px_bucket(oid)] = o;
    }
    pthread_mutex_unlock(&px_lock);
    if (other || !p) {
        pcomi_channel_release_later(ch, oid, 1);
        pcomi_channel_put(ch);
        free(o);
        if (!p) {
            if (other)
                pcom_proxy_release(&other->unk);
            return E_OUTOFMEMORY;
        }
    }
    *out = p;
    return S_OK;
}

/* The proxy object behind an interface pointer, with a reference, or NULL for a local object. */
static struct rproxy *as_proxy(void *itf)
{
    void *o = NULL;
    if (FAILED(IUnknown_QueryInterface((IUnknown *)itf, &iid_proxy_object, &o)))
        return NULL;
    return o;
}

HRESULT pcom_proxy_invoke(void *proxy, const struct pcom_interface_info *info, uint16_t method, void *frame)
{
    struct iproxy *p = proxy;
    if (method >= info->nmethods || !info->methods[method].invoke)
        return E_NOTIMPL;
    return pcomi_channel_call(p->obj->ch, &p->obj->oid, info->iid, method, &info->methods[method], frame);
}

ULONG STDMETHODCALLTYPE pcom_proxy_add_ref(void *proxy)
{
    struct iproxy *p = proxy;
    return (ULONG)atomic_fetch_add(&p->obj->refs, 1) + 1;
}

ULONG STDMETHODCALLTYPE pcom_proxy_release(void *proxy)
{
    struct rproxy *o = ((struct iproxy *)proxy)->obj;
    unsigned long left = atomic_fetch_sub(&o->refs, 1) - 1;
    if (left)
        return (ULONG)left;
    /* at 0 nobody can take a reference again (try_ref), so it only has to leave the table */
    pthread_mutex_lock(&px_lock);
    for (struct rproxy **pp = &proxies[px_bucket(&o->oid)]; *pp; pp = &(*pp)->next)
        if (*pp == o) {
            *pp = o->next;
            break;
        }
    uint32_t remote = o->remote_refs;
    pthread_mutex_unlock(&px_lock);
    /* the exporter's references go back in the next batch; a dead connection released them already */
    pcomi_channel_release_later(o->ch, &o->oid, remote);
    pcomi_channel_put(o->ch);
    for (struct iproxy *p = o->ifaces, *n; p; p = n) {
        n = p->next;
        free(p);
    }
    free(o);
    return 0;
}

static const pcomi_oid system_oid;

/* Asks the exporter for n interfaces at once; proxies for those it has. */
static HRESULT remote_qi(struct rproxy *o, uint32_t n, const IID *iids, HRESULT *hrs)
{
    struct pcomi_sys_qi_frame f = {(const GUID *)o->oid.b, n, iids, hrs};
    return pcomi_channel_call(o->ch, &system_oid, &pcomi_iid_system, PCOMI_SYS_QUERY_INTERFACE,
                              &pcomi_sys_methods[PCOMI_SYS_QUERY_INTERFACE], &f);
}

/* A local interface of o, with a reference, if it has one already. */
static void *known_iface(struct rproxy *o, const IID *riid)
{
    if (pcom_guid_equal(riid, &IID_IUnknown)) {
        atomic_fetch_add(&o->refs, 1);
        return &o->unk;
    }
    void *found = NULL;
    pthread_mutex_lock(&px_lock);
    for (struct iproxy *p = o->ifaces; p && !found; p = p->next)
        if (pcom_guid_equal(p->info->iid, riid))
            found = p;
    pthread_mutex_unlock(&px_lock);
    if (found)
        atomic_fetch_add(&o->refs, 1);
    return found;
}

static void *add_iface(struct rproxy *o, const struct pcom_interface_info *info)
{
    pthread_mutex_lock(&px_lock);
    struct iproxy *p = iface_of(o, info);
    pthread_mutex_unlock(&px_lock);
    if (p)
        atomic_fetch_add(&o->refs, 1);
    return p;
}

HRESULT STDMETHODCALLTYPE pcom_proxy_query_interface(void *proxy, REFIID riid, void **ppv)
{
    struct rproxy *o = ((struct iproxy *)proxy)->obj;
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (!riid)
        return E_POINTER;
    if (pcom_guid_equal(riid, &iid_proxy_object)) {
        atomic_fetch_add(&o->refs, 1);
        *ppv = o;
        return S_OK;
    }
    /* COM identity: IUnknown through any proxy of one object is one pointer, and so is any one interface */
    if ((*ppv = known_iface(o, riid)))
        return S_OK;
    const struct pcom_interface_info *info = pcom_find_interface(riid);
    if (!info) {
        /* without proxy tables here the answer is no, whatever the object supports */
        pcom_set_error_message("no proxy tables are linked for the requested interface");
        return E_NOINTERFACE;
    }
    HRESULT one;
    HRESULT hr = remote_qi(o, 1, riid, &one);
    if (FAILED(hr))
        return hr;
    if (FAILED(one))
        return one;
    return (*ppv = add_iface(o, info)) ? S_OK : E_OUTOFMEMORY;
}

HRESULT pcom_query_interfaces(void *object, unsigned n, const IID *iids, void **out, HRESULT *results)
{
    if (!object || !iids || !out || !results)
        return E_POINTER;
    if (n == 0 || n > PCOMI_MAX_QI_BATCH)
        return E_INVALIDARG;
    struct rproxy *o = as_proxy(object);
    unsigned ok = 0;
    if (!o) {
        for (unsigned i = 0; i < n; i++) {
            results[i] = IUnknown_QueryInterface((IUnknown *)object, &iids[i], &out[i]);
            ok += SUCCEEDED(results[i]);
        }
        return ok == n ? S_OK : ok ? S_FALSE : E_NOINTERFACE;
    }
    /* what the process knows already, then one round trip for the rest */
    IID ask[PCOMI_MAX_QI_BATCH];
    unsigned where[PCOMI_MAX_QI_BATCH], nask = 0;
    for (unsigned i = 0; i < n; i++) {
        out[i] = known_iface(o, &iids[i]);
        results[i] = out[i] ? S_OK : E_NOINTERFACE;
        if (!out[i] && pcom_find_interface(&iids[i])) {
            ask[nask] = iids[i];
            where[nask++] = i;
        }
    }
    if (nask) {
        HRESULT hrs[PCOMI_MAX_QI_BATCH];
        HRESULT hr = remote_qi(o, nask, ask, hrs);
        for (unsigned k = 0; k < nask; k++) {
            unsigned i = where[k];
            results[i] = FAILED(hr) ? hr : hrs[k];
            if (SUCCEEDED(results[i]) && !(out[i] = add_iface(o, pcom_find_interface(&iids[i]))))
                results[i] = E_OUTOFMEMORY;
        }
    }
    pcom_proxy_release(&o->unk);
    for (unsigned i = 0; i < n; i++)
        ok += SUCCEEDED(results[i]);
    return ok == n ? S_OK : ok ? S_FALSE : E_NOINTERFACE;
}

/* ---- marshaling interface pointers ---- */

/* A reference lent by the exporter of o's object, for a process other than the one o talks to. */
static HRESULT lend(struct rproxy *o, uint32_t flags, pcomi_oid *token)
{
    struct pcomi_sys_lend_frame f = {(const GUID *)o->oid.b, flags, (GUID *)token->b};
    return pcomi_channel_call(o->ch, &system_oid, &pcomi_iid_system, PCOMI_SYS_LEND,
                              &pcomi_sys_methods[PCOMI_SYS_LEND], &f);
}

/* ---- the journal of one message ---- */

static _Thread_local struct pcomi_objref_journal *tls_journal;

void pcomi_journal_start(struct pcomi_objref_journal *j)
{
    memset(j, 0, sizeof(*j));
    j->outer = tls_journal;
    tls_journal = j;
}

void pcomi_journal_stop(struct pcomi_objref_journal *j)
{
    tls_journal = j->outer;
}

static void journal_add(const pcomi_oid *oid, bool exported)
{
    struct pcomi_objref_journal *j = tls_journal;
    if (!j)
        return;
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 8;
        struct pcomi_journal_entry *n = realloc(j->e, cap * sizeof(*n));
        if (!n) {
            j->lost = true;
            return;
        }
        j->e = n;
        j->cap = cap;
    }
    j->e[j->n++] = (struct pcomi_journal_entry){*oid, exported};
}

void pcomi_journal_undo(struct pcomi_channel *ch, struct pcomi_objref_journal *j)
{
    for (size_t i = 0; i < j->n; i++) {
        if (j->e[i].exported)
            pcomi_export_unhold(ch, &j->e[i].oid);
        else
            pcomi_channel_release_later(ch, &j->e[i].oid, 1);
    }
    pcomi_journal_free(j);
}

void pcomi_journal_free(struct pcomi_objref_journal *j)
{
    free(j->e);
    j->e = NULL;
    j->n = j->cap = 0;
}

/* Gives one of o's spare references away, if it has one (it keeps one for itself). */
static bool give_back(struct rproxy *o)
{
    pthread_mutex_lock(&px_lock);
    bool spare = o->remote_refs > 1;
    if (spare)
        o->remote_refs--;
    pthread_mutex_unlock(&px_lock);
    return spare;
}

HRESULT pcomi_objref_marshal(void *chan, const IID *iid, void *itf, struct pcomi_wbuf *out)
{
    struct pcomi_channel *ch = chan;
    struct pcomi_objref r;
    memset(&r, 0, sizeof(r));
    r.iid = *iid;
    struct rproxy *o = as_proxy(itf);
    HRESULT hr = S_OK;
    if (o) {
        const struct pcomi_peer *home = pcomi_channel_peer(o->ch);
        const struct pcomi_peer *to = pcomi_channel_peer(ch);
        bool to_exporter = memcmp(to->exporter.b, o->exporter.b, 16) == 0;
        if (pcomi_channel_dead(o->ch)) {
            pcom_set_error_message("the object passed lives in a process this one lost its connection to");
            hr = RPC_E_DISCONNECTED;
        } else if (o->ch == ch && give_back(o)) {
            /* back to its exporter over the connection that holds it, with one of our references */
            r.flags = PCOMI_ORF_CONN;
            r.where = *home;
            r.oid = o->oid;
            journal_add(&r.oid, false);
        } else if (to_exporter || home->nendpoints) {
            /* the receiver gets its own reference from the exporter, so we may let go of ours at once */
            r.flags = PCOMI_ORF_TOKEN;
            r.where = *home;
            r.oid = o->oid;
            hr = lend(o, 0, &r.token);
        } else {
            /* an exporter nobody else can reach: the receiver calls it through this process */
            pcom_proxy_release(&o->unk);
            o = NULL;
        }
        if (o) {
            pcom_proxy_release(&o->unk);
            return SUCCEEDED(hr) ? pcomi_objref_write(&r, out) : hr;
        }
    }
    r.flags = PCOMI_ORF_CONN;
    pcomi_exporter_endpoints(&r.where);
    if (FAILED(hr = pcomi_export(ch, iid, itf, &r.oid)))
        return hr;
    if (FAILED(hr = pcomi_objref_write(&r, out)))
        pcomi_export_unhold(ch, &r.oid); /* the reference will not travel: the peer must not be thought to hold it */
    else
        journal_add(&r.oid, true);
    return hr;
}

static HRESULT claim(struct pcomi_channel *ch, const struct pcomi_objref *r)
{
    struct pcomi_sys_claim_frame f = {(const GUID *)r->token.b, (const GUID *)r->oid.b};
    return pcomi_channel_call(ch, &system_oid, &pcomi_iid_system, PCOMI_SYS_CLAIM,
                              &pcomi_sys_methods[PCOMI_SYS_CLAIM], &f);
}

/* A connection to the process that exported r's object: one this process opened to an endpoint the reference
 * names, whose peer greeted as that exporter. Never a connection a peer opened to us: what it says it is binds
 * nothing else. */
static HRESULT channel_to_exporter(const struct pcomi_objref *r, struct pcomi_channel **out)
{
    return pcomi_channel_find_exporter(&r->where.exporter, &r->where, out);
}

/* A proxy for an object of a third process: connect there (or reuse a connection) and claim the reference. */
static HRESULT unmarshal_elsewhere(const struct pcomi_objref *r, const struct pcom_interface_info *info, void **out)
{
    struct pcomi_channel *ch;
    HRESULT hr = channel_to_exporter(r, &ch);
    if (FAILED(hr))
        return hr;
    if (SUCCEEDED(hr = claim(ch, r)))
        hr = proxy_for(ch, &r->where.exporter, &r->oid, info, out);
    pcomi_channel_put(ch);
    return hr;
}

static HRESULT unmarshal_as_sent(struct pcomi_channel *ch, const struct pcomi_objref *r, void **out)
{
    const struct pcom_interface_info *info = pcom_find_interface(&r->iid);
    bool home = memcmp(r->where.exporter.b, pcomi_exporter_id()->b, 16) == 0;
    if (home)
        /* one of ours, home again: the object itself, never a proxy of a proxy */
        return pcomi_export_home(ch, &r->oid, (r->flags & PCOMI_ORF_TOKEN) ? &r->token : NULL, &r->iid, out);
    if (r->flags & PCOMI_ORF_CONN) {
        /* the sender exported it: it must be who the connection says it is */
        if (!ch || memcmp(pcomi_channel_peer(ch)->exporter.b, r->where.exporter.b, 16) != 0) {
            pcom_set_error_message("an object reference that claims another exporter than its sender");
            return RPC_E_INVALID_DATA;
        }
        if (!info) {
            pcomi_channel_release_later(ch, &r->oid, 1); /* the reference it carried goes back */
            pcom_set_error_message("no proxy tables are linked for an interface received");
            return E_NOINTERFACE;
        }
        return proxy_for(ch, &r->where.exporter, &r->oid, info, out);
    }
    if (!info) {
        pcom_set_error_message("no proxy tables are linked for an interface received");
        return E_NOINTERFACE;
    }
    return unmarshal_elsewhere(r, info, out);
}

/* The interface iid of the object r names. A reference made for another interface of the object is asked for
 * iid, as CoUnmarshalInterface does. */
static HRESULT unmarshal(struct pcomi_channel *ch, const IID *iid, const struct pcomi_objref *r, void **out)
{
    void *itf = NULL;
    HRESULT hr = unmarshal_as_sent(ch, r, &itf);
    if (FAILED(hr) || pcom_guid_equal(&r->iid, iid)) {
        if (SUCCEEDED(hr))
            *out = itf;
        return hr;
    }
    hr = IUnknown_QueryInterface((IUnknown *)itf, iid, out);
    IUnknown_Release((IUnknown *)itf);
    return hr;
}

HRESULT pcomi_objref_unmarshal(void *chan, const IID *iid, const uint8_t *ref, size_t n, void **out)
{
    struct pcomi_objref r;
    HRESULT hr = pcomi_objref_parse(ref, n, &r);
    if (FAILED(hr))
        return hr;
    return unmarshal(chan, iid, &r, out);
}

/* ---- references as text ---- */

#define TEXT_PREFIX "pcomref:"

static HRESULT to_text(const struct pcomi_objref *r, char **text)
{
    struct pcomi_wbuf b = {0};
    HRESULT hr = pcomi_objref_write(r, &b);
    if (SUCCEEDED(hr)) {
        size_t plen = strlen(TEXT_PREFIX);
        char *s = pcom_alloc(plen + b.len * 2 + 1);
        if (!s) {
            hr = E_OUTOFMEMORY;
        } else {
            static const char hex[] = "0123456789abcdef";
            memcpy(s, TEXT_PREFIX, plen);
            for (size_t i = 0; i < b.len; i++) {
                s[plen + 2 * i] = hex[b.data[i] >> 4];
                s[plen + 2 * i + 1] = hex[b.data[i] & 15];
            }
            s[plen + b.len * 2] = 0;
            *text = s;
        }
    }
    pcomi_wbuf_free(&b);
    return hr;
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                                                                      : -1;
}

static HRESULT from_text(const char *text, struct pcomi_objref *r)
{
    size_t plen = strlen(TEXT_PREFIX);
    if (!text || strncmp(text, TEXT_PREFIX, plen) != 0)
        return E_INVALIDARG;
    const char *h = text + plen;
    size_t n = strnlen(h, PCOMI_MAX_OBJREF * 2 + 1);
    if (n % 2 || n / 2 > PCOMI_MAX_OBJREF)
        return E_INVALIDARG;
    uint8_t buf[PCOMI_MAX_OBJREF];
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_value(h[2 * i]), lo = hex_value(h[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return E_INVALIDARG;
        buf[i] = (uint8_t)(hi << 4 | lo);
    }
    return FAILED(pcomi_objref_parse(buf, n / 2, r)) || !(r->flags & PCOMI_ORF_TOKEN) ? E_INVALIDARG : S_OK;
}

HRESULT pcom_marshal_interface(REFIID iid, void *itf, char **text)
{
    if (!iid || !itf || !text)
        return E_POINTER;
    *text = NULL;
    struct pcomi_objref r;
    memset(&r, 0, sizeof(r));
    r.iid = *iid;
    r.flags = PCOMI_ORF_TOKEN;
    HRESULT hr;
    struct rproxy *o = as_proxy(itf);
    if (o) {
        r.where = *pcomi_channel_peer(o->ch);
        r.oid = o->oid;
        hr = pcomi_channel_dead(o->ch) ? RPC_E_DISCONNECTED : lend(o, PCOMI_LEND_LASTING, &r.token);
        pcom_proxy_release(&o->unk);
    } else {
        pcomi_exporter_endpoints(&r.where);
        hr = pcomi_export_lend_local(iid, itf, PCOMI_LEND_LASTING, &r.oid, &r.token);
    }
    if (SUCCEEDED(hr) && FAILED(hr = to_text(&r, text)) && !o)
        pcomi_export_revoke(&r.token);
    return hr;
}

HRESULT pcom_unmarshal_interface(const char *text, REFIID iid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (!text || !iid)
        return E_POINTER;
    struct pcomi_objref r;
    if (FAILED(from_text(text, &r)))
        return E_INVALIDARG;
    return unmarshal(NULL, iid, &r, ppv);
}

HRESULT pcom_release_marshal_data(const char *text)
{
    struct pcomi_objref r;
    if (!text)
        return E_POINTER;
    if (FAILED(from_text(text, &r)))
        return E_INVALIDARG;
    if (memcmp(r.where.exporter.b, pcomi_exporter_id()->b, 16) == 0)
        return pcomi_export_revoke(&r.token);
    struct pcomi_channel *ch;
    HRESULT hr = channel_to_exporter(&r, &ch);
    if (FAILED(hr))
        return hr;
    struct pcomi_sys_revoke_frame f = {(const GUID *)r.token.b};
    hr = pcomi_channel_call(ch, &system_oid, &pcomi_iid_system, PCOMI_SYS_REVOKE,
                            &pcomi_sys_methods[PCOMI_SYS_REVOKE], &f);
    pcomi_channel_put(ch);
    return hr;
}
