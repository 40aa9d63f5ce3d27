/* exporter.c: this process's exported objects: their ids, who holds references to them (connections and tokens),
 * and the system object's methods that change that. */
#include "rpc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BUCKETS 1024
#define MAX_EXPORTS_PER_CONNECTION 65536
#define MAX_TOKENS 65536
#define MAX_TOKENS_PER_CONNECTION 4096
#define LEND_TTL_MS 120000 /* a lent reference nobody claimed is released after this */

struct holding {
    struct pcomi_channel *ch;
    uint32_t count; /* references the channel's peer holds */
    struct holding *next;
};

struct export_iface {
    IID iid;
    void *ptr; /* holds a reference */
    const struct pcom_interface_info *info;
};

struct export {
    pcomi_oid oid;
    IUnknown *identity; /* holds a reference */
    struct export_iface *ifaces;
    size_t nifaces;
    struct holding *holdings;
    uint32_t token_refs; /* references held by tokens */
    struct export *next_by_oid, *next_by_identity;
};

struct chan_count;

struct token {
    pcomi_oid id;
    struct export *e;
    bool lasting;
    long long expires;          /* ms, CLOCK_MONOTONIC; single-use tokens only */
    struct chan_count *lender;  /* the connection that asked for it, while it lives; NULL for this process's own */
    struct token *next;         /* in its bucket */
};

/* What a channel holds (objects, for the per-connection cap and to keep an outbound channel open) and has lent
 * (tokens, capped per connection). Kept while either is non-zero. */
struct chan_count {
    struct pcomi_channel *ch;
    size_t n;
    size_t lent;
    struct chan_count *next;
};

static pthread_mutex_t ex_lock = PTHREAD_MUTEX_INITIALIZER;
static struct export *by_oid[BUCKETS], *by_identity[BUCKETS];
static struct token *tokens[BUCKETS];
static size_t ntokens, nexports;
static struct chan_count *chan_counts;

static pthread_mutex_t ep_lock = PTHREAD_MUTEX_INITIALIZER;
static char endpoints[PCOMI_MAX_ENDPOINTS][PCOMI_URL_MAX];
static unsigned nendpoints;

static pcomi_oid exporter_id;
static pthread_once_t exporter_once = PTHREAD_ONCE_INIT;

static void make_exporter_id(void)
{
    if (!pcomi_random_oid(&exporter_id)) {
        /* no randomness: still unique enough on this host to tell processes apart */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long long v[2] = {(long long)ts.tv_sec * 1000000000 + ts.tv_nsec, (long long)getpid()};
        memcpy(exporter_id.b, v, 16);
    }
    if (pcomi_oid_is_zero(&exporter_id))
        exporter_id.b[0] = 1;
}

const pcomi_oid *pcomi_exporter_id(void)
{
    pthread_once(&exporter_once, make_exporter_id);
    return &exporter_id;
}

bool pcomi_oid_is_zero(const pcomi_oid *id)
{
    static const uint8_t zero[16];
    return memcmp(id->b, zero, 16) == 0;
}

void pcomi_exporter_endpoints(struct pcomi_peer *out)
{
    memset(out, 0, sizeof(*out));
    out->exporter = *pcomi_exporter_id();
    pthread_mutex_lock(&ep_lock);
    out->nendpoints = nendpoints;
    memcpy(out->endpoints, endpoints, sizeof(endpoints));
    pthread_mutex_unlock(&ep_lock);
}

void pcomi_exporter_add_endpoint(const char *url)
{
    pthread_mutex_lock(&ep_lock);
    if (nendpoints < PCOMI_MAX_ENDPOINTS && strlen(url) < PCOMI_URL_MAX)
        strcpy(endpoints[nendpoints++], url);
    pthread_mutex_unlock(&ep_lock);
}

void pcomi_exporter_remove_endpoint(const char *url)
{
    pthread_mutex_lock(&ep_lock);
    for (unsigned i = 0; i < nendpoints; i++)
        if (strcmp(endpoints[i], url) == 0) {
            memmove(endpoints[i], endpoints[i + 1], (nendpoints - i - 1) * sizeof(endpoints[0]));
            nendpoints--;
            break;
        }
    pthread_mutex_unlock(&ep_lock);
}

/* ---- tables, all under ex_lock ---- */

static unsigned oid_bucket(const uint8_t *oid)
{
    uint32_t v;
    memcpy(&v, oid, 4);
    return v % BUCKETS;
}

static unsigned identity_bucket(const void *p)
{
    uintptr_t v = (uintptr_t)p;
    return (unsigned)((v >> 4) ^ (v >> 14)) % BUCKETS;
}

static struct export *find_by_oid(const uint8_t *oid)
{
    for (struct export *e = by_oid[oid_bucket(oid)]; e; e = e->next_by_oid)
        if (memcmp(e->oid.b, oid, 16) == 0)
            return e;
    return NULL;
}

static struct holding *find_holding(struct export *e, const struct pcomi_channel *ch)
{
    for (struct holding *h = e->holdings; h; h = h->next)
        if (h->ch == ch)
            return h;
    return NULL;
}

static struct export_iface *find_iface(struct export *e, const IID *iid)
{
    for (size_t i = 0; i < e->nifaces; i++)
        if (pcom_guid_equal(&e->ifaces[i].iid, iid))
            return &e->ifaces[i];
    return NULL;
}

static struct chan_count *chan_count_of(struct pcomi_channel *ch, bool create)
{
    for (struct chan_count *c = chan_counts; c; c = c->next)
        if (c->ch == ch)
            return c;
    if (!create)
        return NULL;
    struct chan_count *c = calloc(1, sizeof(*c));
    if (c) {
        c->ch = ch;
        c->next = chan_counts;
        chan_counts = c;
    }
    return c;
}

static void chan_count_drop(struct chan_count *c)
{
    if (c->n || c->lent)
        return;
    for (struct chan_count **pp = &chan_counts; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    free(c);
}

/* One more reference held by ch. The first object a channel holds is a use of it: an outbound connection
 * stays open while its peer holds our objects. */
static HRESULT hold(struct export *e, struct pcomi_channel *ch)
{
    /* a channel is marked dead before its holdings are dropped (under this lock): none may be added after */
    if (pcomi_channel_dead(ch)) {
        pcom_set_error_message("the connection was lost");
        return RPC_E_DISCONNECTED;
    }
    struct holding *h = find_holding(e, ch);
    if (h) {
        if (h->count == UINT32_MAX)
            return E_OUTOFMEMORY;
        h->count++;
        return S_OK;
    }
    struct chan_count *c = chan_count_of(ch, true);
    if (!c)
        return E_OUTOFMEMORY;
    if (c->n >= MAX_EXPORTS_PER_CONNECTION) {
        pcom_set_error_message("a connection may hold at most %d objects", MAX_EXPORTS_PER_CONNECTION);
        return E_OUTOFMEMORY;
    }
    if (!(h = calloc(1, sizeof(*h))))
        return E_OUTOFMEMORY;
    h->ch = ch;
    h->count = 1;
    h->next = e->holdings;
    e->holdings = h;
    if (c->n++ == 0)
        pcomi_channel_use(ch);
    return S_OK;
}

/* Unlinks an export nobody holds; the caller frees it outside the lock (Release runs the object's code). */
static bool unlink_if_unheld(struct export *e)
{
    if (e->holdings || e->token_refs)
        return false;
    for (struct export **pp = &by_oid[oid_bucket(e->oid.b)]; *pp; pp = &(*pp)->next_by_oid)
        if (*pp == e) {
            *pp = e->next_by_oid;
            break;
        }
    for (struct export **pp = &by_identity[identity_bucket(e->identity)]; *pp; pp = &(*pp)->next_by_identity)
        if (*pp == e) {
            *pp = e->next_by_identity;
            break;
        }
    nexports--;
    return true;
}

static void export_free(struct export *e)
{
    for (size_t i = 0; i < e->nifaces; i++)
        IUnknown_Release((IUnknown *)e->ifaces[i].ptr);
    IUnknown_Release(e->identity);
    free(e->ifaces);
    free(e);
}

/* Takes count references from ch's holding; true when the export then has no holder left. */
static bool unhold(struct export *e, struct holding *h, uint32_t count, struct pcomi_channel **put)
{
    *put = NULL;
    if ((h->count -= count) == 0) {
        for (struct holding **pp = &e->holdings; *pp; pp = &(*pp)->next)
            if (*pp == h) {
                *pp = h->next;
                break;
            }
        struct chan_count *c = chan_count_of(h->ch, false);
        if (c && --c->n == 0) {
            *put = h->ch;
            chan_count_drop(c);
        }
        free(h);
    }
    return unlink_if_unheld(e);
}

static HRESULT add_iface(struct export *e, const IID *iid, void *ptr, const struct pcom_interface_info *info)
{
    struct export_iface *n = realloc(e->ifaces, (e->nifaces + 1) * sizeof(*n));
    if (!n)
        return E_OUTOFMEMORY;
    e->ifaces = n;
    IUnknown_AddRef((IUnknown *)ptr);
    e->ifaces[e->nifaces++] = (struct export_iface){*iid, ptr, info};
    return S_OK;
}

/* The export of the object behind itf, made if needed, with iid among its interfaces. Under ex_lock. */
static HRESULT export_locked(const IID *iid, void *itf, IUnknown *identity, const struct pcom_interface_info *info,
                             struct export **out)
{
    struct export *e;
    for (e = by_identity[identity_bucket(identity)]; e; e = e->next_by_identity)
        if (e->identity == identity)
            break;
    bool fresh = !e;
    if (fresh) {
        if (!(e = calloc(1, sizeof(*e))))
            return E_OUTOFMEMORY;
        if (!pcomi_random_oid(&e->oid)) {
            free(e);
            pcom_set_error_message("no random source for object ids");
            return E_FAIL;
        }
        IUnknown_AddRef(identity);
        e->identity = identity;
    }
    if (!find_iface(e, iid) && FAILED(add_iface(e, iid, itf, info))) {
        if (fresh) {
            IUnknown_Release(identity);
            free(e);
        }
        return E_OUTOFMEMORY;
    }
    if (fresh) {
        e->next_by_oid = by_oid[oid_bucket(e->oid.b)];
        by_oid[oid_bucket(e->oid.b)] = e;
        e->next_by_identity = by_identity[identity_bucket(identity)];
        by_identity[identity_bucket(identity)] = e;
        nexports++;
    }
    *out = e;
    return S_OK;
}

static HRESULT identity_of(const IID *iid, void *itf, IUnknown **identity, const struct pcom_interface_info **info)
{
    if (!(*info = pcom_find_interface(iid))) {
        pcom_set_error_message("no stub tables are linked for the interface passed");
        return E_NOINTERFACE;
    }
    HRESULT hr = IUnknown_QueryInterface((IUnknown *)itf, &IID_IUnknown, (void **)identity);
    if (SUCCEEDED(hr) && !*identity)
        hr = E_UNEXPECTED;
    return hr;
}

static HRESULT make_token(struct export *e, struct pcomi_channel *ch, uint32_t flags, pcomi_oid *out);

/* Exports itf (one export per identity) and counts a reference to it: held by ch, or (token not NULL) lent as a
 * token with flags. */
static HRESULT export_counted(const IID *iid, void *itf, struct pcomi_channel *ch, uint32_t flags, pcomi_oid *token,
                              pcomi_oid *oid)
{
    IUnknown *identity;
    const struct pcom_interface_info *info;
    HRESULT hr = identity_of(iid, itf, &identity, &info);
    if (FAILED(hr))
        return hr;
    struct export *e = NULL;
    pthread_mutex_lock(&ex_lock);
    hr = export_locked(iid, itf, identity, info, &e);
    if (SUCCEEDED(hr) && FAILED(hr = token ? make_token(e, NULL, flags, token) : hold(e, ch)) && unlink_if_unheld(e)) {
        pthread_mutex_unlock(&ex_lock);
        export_free(e);
        IUnknown_Release(identity);
        return hr;
    }
    if (SUCCEEDED(hr))
        *oid = e->oid;
    pthread_mutex_unlock(&ex_lock);
    IUnknown_Release(identity);
    return hr;
}

HRESULT pcomi_export(struct pcomi_channel *ch, const IID *iid, void *itf, pcomi_oid *oid)
{
    return export_counted(iid, itf, ch, 0, NULL, oid);
}

HRESULT pcomi_export_find(struct pcomi_channel *ch, const uint8_t oid[16], const IID *iid, uint16_t method,
                          void **itf, const struct pcom_interface_info **info)
{
    HRESULT hr = S_OK;
    pthread_mutex_lock(&ex_lock);
    struct export *e = find_by_oid(oid);
    struct export_iface *fi = NULL;
    if (!e || !find_holding(e, ch)) {
        hr = RPC_E_DISCONNECTED;
        pcom_set_error_message("no such object on this connection");
    } else if (!(fi = find_iface(e, iid))) {
        hr = E_NOINTERFACE;
        pcom_set_error_message("the object was not asked for this interface");
    } else if (method < 3 || method >= fi->info->nmethods || !fi->info->methods[method].invoke) {
        hr = RPC_E_INVALID_HEADER;
        pcom_set_error_message("no such method");
    } else {
        /* a Release racing with this call must not free the object under it */
        IUnknown_AddRef((IUnknown *)fi->ptr);
        *itf = fi->ptr;
        *info = fi->info;
    }
    pthread_mutex_unlock(&ex_lock);
    return hr;
}

static struct token *find_token(const uint8_t *id)
{
    for (struct token *t = tokens[oid_bucket(id)]; t; t = t->next)
        if (memcmp(t->id.b, id, 16) == 0)
            return t;
    return NULL;
}

static void token_unlink(struct token *t)
{
    for (struct token **pp = &tokens[oid_bucket(t->id.b)]; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    ntokens--;
    if (t->lender) {
        t->lender->lent--;
        chan_count_drop(t->lender);
    }
}

/* A token holding one reference to e, lent to ch (NULL: this process). Under ex_lock. */
static HRESULT make_token(struct export *e, struct pcomi_channel *ch, uint32_t flags, pcomi_oid *out)
{
    struct chan_count *lender = ch ? chan_count_of(ch, true) : NULL;
    if (ch && !lender)
        return E_OUTOFMEMORY;
    if (ntokens >= MAX_TOKENS || (lender && lender->lent >= MAX_TOKENS_PER_CONNECTION)) {
        pcom_set_error_message("too many references lent and not claimed");
        if (lender)
            chan_count_drop(lender);
        return E_OUTOFMEMORY;
    }
    struct token *t = calloc(1, sizeof(*t));
    if (!t || !pcomi_random_oid(&t->id)) {
        free(t);
        if (lender)
            chan_count_drop(lender);
        return t ? E_FAIL : E_OUTOFMEMORY;
    }
    t->e = e;
    t->lasting = flags & PCOMI_LEND_LASTING;
    t->expires = pcomi_now_ms() + LEND_TTL_MS;
    t->lender = lender;
    if (lender)
        lender->lent++;
    t->next = tokens[oid_bucket(t->id.b)];
    tokens[oid_bucket(t->id.b)] = t;
    ntokens++;
    e->token_refs++;
    *out = t->id;
    return S_OK;
}

HRESULT pcomi_export_lend_local(const IID *iid, void *itf, uint32_t flags, pcomi_oid *oid, pcomi_oid *token)
{
    return export_counted(iid, itf, NULL, flags, token, oid);
}

/* Drops a token's reference; the export to free, if that was the last. Under ex_lock. */
static struct export *token_drop(struct token *t)
{
    struct export *e = t->e;
    token_unlink(t);
    free(t);
    e->token_refs--;
    return unlink_if_unheld(e) ? e : NULL;
}

HRESULT pcomi_export_revoke(const pcomi_oid *token)
{
    pthread_mutex_lock(&ex_lock);
    struct token *t = find_token(token->b);
    struct export *gone = t ? token_drop(t) : NULL;
    pthread_mutex_unlock(&ex_lock);
    if (gone)
        export_free(gone);
    return t ? S_OK : E_INVALIDARG;
}

HRESULT pcomi_export_home(struct pcomi_channel *ch, const pcomi_oid *oid, const pcomi_oid *token, const IID *iid,
                          void **out)
{
    IUnknown *identity = NULL;
    void *ptr = NULL;
    struct export *gone = NULL;
    struct pcomi_channel *put = NULL;
    HRESULT hr = S_OK;
    pthread_mutex_lock(&ex_lock);
    struct export *e = find_by_oid(oid->b);
    struct token *t = token ? find_token(token->b) : NULL;
    struct holding *h = e && !token && ch ? find_holding(e, ch) : NULL;
    if (!e || (token ? !t || t->e != e : !h)) {
        /* as a claim elsewhere would: the reference expired, was claimed, revoked, or never given */
        hr = RPC_E_DISCONNECTED;
        pcom_set_error_message("a reference to an object of this process that is not held");
    } else {
        struct export_iface *fi = find_iface(e, iid);
        if (fi) {
            ptr = fi->ptr;
            IUnknown_AddRef((IUnknown *)ptr);
        } else {
            identity = e->identity;
            IUnknown_AddRef(identity);
        }
        /* the reference the sender gave up with the object reference is ours: it ends here */
        if (h && unhold(e, h, 1, &put))
            gone = e;
        else if (t && !t->lasting)
            gone = token_drop(t);
    }
    pthread_mutex_unlock(&ex_lock);
    if (put)
        pcomi_channel_put(put);
    if (gone)
        export_free(gone);
    if (identity) {
        hr = IUnknown_QueryInterface(identity, iid, &ptr);
        IUnknown_Release(identity);
    }
    if (SUCCEEDED(hr))
        *out = ptr;
    return hr;
}

void pcomi_exports_drop_channel(struct pcomi_channel *ch)
{
    struct export *gone = NULL;
    pthread_mutex_lock(&ex_lock);
    struct chan_count *c = chan_count_of(ch, false);
    for (unsigned b = 0; b < BUCKETS && c; b++) {
        struct export *e = by_oid[b];
        while (e) {
            struct export *next = e->next_by_oid;
            struct holding *h = find_holding(e, ch);
            struct pcomi_channel *put = NULL;
            if (h && unhold(e, h, h->count, &put)) {
                e->next_by_oid = gone; /* unlinked: the chain field is free to collect it */
                gone = e;
            }
            if (put)
                pcomi_channel_put(put);
            e = next;
        }
        c = chan_count_of(ch, false);
    }
    /* what it lent stays lent (a third party may still claim it), but is no longer counted against it */
    struct chan_count *lender = chan_count_of(ch, false);
    if (lender) {
        for (unsigned b = 0; b < BUCKETS && lender->lent; b++)
            for (struct token *t = tokens[b]; t; t = t->next)
                if (t->lender == lender) {
                    t->lender = NULL;
                    lender->lent--;
                }
        chan_count_drop(lender);
    }
    pthread_mutex_unlock(&ex_lock);
    while (gone) {
        struct export *next = gone->next_by_oid;
        export_free(gone);
        gone = next;
    }
}

size_t pcomi_exports_live(void)
{
    pthread_mutex_lock(&ex_lock);
    size_t n = nexports;
    pthread_mutex_unlock(&ex_lock);
    return n;
}

long pcomi_exports_expire(void)
{
    long long now = pcomi_now_ms();
    long next = -1;
    struct export *gone = NULL;
    pthread_mutex_lock(&ex_lock);
    for (unsigned b = 0; b < BUCKETS; b++) {
        for (struct token *t = tokens[b], *n; t; t = n) {
            n = t->next;
            if (t->lasting)
                continue;
            if (t->expires <= now) {
                struct export *e = token_drop(t);
                if (e) {
                    e->next_by_oid = gone;
                    gone = e;
                }
            } else if (next < 0 || t->expires - now < next) {
                next = (long)(t->expires - now);
            }
        }
    }
    pthread_mutex_unlock(&ex_lock);
    while (gone) {
        struct export *n = gone->next_by_oid;
        export_free(gone);
        gone = n;
    }
    return next;
}

/* ---- the system object: its methods act on what the calling connection holds ---- */

HRESULT pcomi_sys_create_instance(void *conn, void *frame)
{
    (void)conn;
    struct pcomi_sys_create_frame *f = frame;
    if (!pcom_find_interface(f->iid)) {
        pcom_set_error_message("the server has no stub tables for the requested interface");
        return E_NOINTERFACE;
    }
    IClassFactory *factory;
    HRESULT hr = pcomi_class_factory(f->clsid, &factory);
    if (FAILED(hr))
        return hr;
    /* the new object travels back as an object reference: exporting it is the reply's marshaling */
    hr = IClassFactory_CreateInstance(factory, NULL, f->iid, f->ppv);
    IClassFactory_Release(factory);
    if (SUCCEEDED(hr) && !*f->ppv)
        hr = E_UNEXPECTED;
    return hr;
}

HRESULT pcomi_sys_query_interface(void *conn, void *frame)
{
    struct pcomi_channel *ch = conn;
    struct pcomi_sys_qi_frame *f = frame;
    if (f->n == 0 || f->n > PCOMI_MAX_QI_BATCH)
        return E_INVALIDARG;
    IUnknown *identity = NULL;
    pthread_mutex_lock(&ex_lock);
    struct export *e = find_by_oid((const uint8_t *)f->oid);
    if (e && find_holding(e, ch)) {
        identity = e->identity;
        IUnknown_AddRef(identity);
    }
    pthread_mutex_unlock(&ex_lock);
    if (!identity) {
        pcom_set_error_message("no such object on this connection");
        return RPC_E_DISCONNECTED;
    }
    unsigned ok = 0;
    for (uint32_t i = 0; i < f->n; i++) {
        const IID *iid = &f->iids[i];
        const struct pcom_interface_info *info = pcom_find_interface(iid);
        void *ptr = NULL;
        HRESULT hr = info ? S_OK : E_NOINTERFACE;
        /* the export is looked up again each time: it may be released while the object's code runs */
        pthread_mutex_lock(&ex_lock);
        e = find_by_oid((const uint8_t *)f->oid);
        bool known = e && e->identity == identity && find_iface(e, iid);
        pthread_mutex_unlock(&ex_lock);
        /* the object's QueryInterface runs without the table's lock: it may take its own */
        if (SUCCEEDED(hr) && !known && SUCCEEDED(hr = IUnknown_QueryInterface(identity, iid, &ptr))) {
            pthread_mutex_lock(&ex_lock);
            e = find_by_oid((const uint8_t *)f->oid);
            if (!e || e->identity != identity)
                hr = RPC_E_DISCONNECTED;
            else if (!find_iface(e, iid))
                hr = add_iface(e, iid, ptr, info);
            pthread_mutex_unlock(&ex_lock);
            IUnknown_Release((IUnknown *)ptr);
        }
        f->hrs[i] = hr;
        ok += SUCCEEDED(hr);
    }
    IUnknown_Release(identity);
    return ok == f->n ? S_OK : ok ? S_FALSE : E_NOINTERFACE;
}

HRESULT pcomi_sys_release(void *conn, void *frame)
{
    struct pcomi_channel *ch = conn;
    struct pcomi_sys_release_frame *f = frame;
    struct export *gone = NULL;
    HRESULT hr = S_OK;
    if (f->n > PCOMI_MAX_RELEASE_BATCH)
        return E_INVALIDARG;
    pthread_mutex_lock(&ex_lock);
    for (uint32_t i = 0; i < f->n; i++) {
        struct export *e = find_by_oid((const uint8_t *)&f->entries[i].oid);
        struct holding *h = e ? find_holding(e, ch) : NULL;
        uint32_t count = f->entries[i].count;
        if (!h || count == 0 || count > h->count) {
            /* a peer cannot give back references it never held; the rest of the batch still counts */
            hr = E_INVALIDARG;
            continue;
        }
        struct pcomi_channel *put;
        if (unhold(e, h, count, &put)) {
            e->next_by_oid = gone;
            gone = e;
        }
        if (put)
            pcomi_channel_put(put);
    }
    pthread_mutex_unlock(&ex_lock);
    while (gone) {
        struct export *n = gone->next_by_oid;
        export_free(gone);
        gone = n;
    }
    return hr;
}

void pcomi_export_unhold(struct pcomi_channel *ch, const pcomi_oid *oid)
{
    struct pcomi_release_entry e;
    memcpy(&e.oid, oid->b, 16);
    e.count = 1;
    struct pcomi_sys_release_frame f = {1, &e};
    pcomi_sys_release(ch, &f);
}

HRESULT pcomi_sys_lend(void *conn, void *frame)
{
    struct pcomi_channel *ch = conn;
    struct pcomi_sys_lend_frame *f = frame;
    if (f->flags & ~PCOMI_LEND_LASTING)
        return E_INVALIDARG;
    HRESULT hr;
    pthread_mutex_lock(&ex_lock);
    struct export *e = find_by_oid((const uint8_t *)f->oid);
    if (!e || !find_holding(e, ch)) {
        /* only a holder can hand an object on */
        pcom_set_error_message("no such object on this connection");
        hr = RPC_E_DISCONNECTED;
    } else {
        hr = make_token(e, ch, f->flags, (pcomi_oid *)f->token);
    }
    pthread_mutex_unlock(&ex_lock);
    return hr;
}

HRESULT pcomi_sys_claim(void *conn, void *frame)
{
    struct pcomi_channel *ch = conn;
    struct pcomi_sys_claim_frame *f = frame;
    HRESULT hr;
    pthread_mutex_lock(&ex_lock);
    struct token *t = find_token((const uint8_t *)f->token);
    if (!t || memcmp(t->e->oid.b, f->oid, 16) != 0) {
        pcom_set_error_message("no such reference to claim: it expired, was claimed or was revoked");
        hr = RPC_E_DISCONNECTED;
    } else if (SUCCEEDED(hr = hold(t->e, ch)) && !t->lasting) {
        /* the lent reference is now the connection's */
        struct export *gone = token_drop(t);
        (void)gone; /* cannot be: the connection holds it now */
    }
    pthread_mutex_unlock(&ex_lock);
    return hr;
}

HRESULT pcomi_sys_revoke(void *conn, void *frame)
{
    (void)conn;
    struct pcomi_sys_revoke_frame *f = frame;
    pcomi_oid t;
    memcpy(t.b, f->token, 16);
    return pcomi_export_revoke(&t);
}
