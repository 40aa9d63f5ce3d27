/* client.c: the client side of remoting: connections to servers, calls in flight, and proxies. */
#include "marshal.h"
#include "rpc.h"
#include "transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

struct proxy;

struct call_slot {
    pthread_cond_t cond;
    uint32_t call_id; /* 0: free */
    bool done;
    uint8_t type;     /* RESPONSE or FAULT */
    void *body;
    size_t len;
};

struct pcomi_client {
    char *url;
    unsigned max_calls;
    unsigned in_flight; /* under lock */
    struct pcomi_conn *conn;
    pthread_t reader;
    pthread_mutex_t lock;
    unsigned refs;     /* under clients_lock */
    atomic_bool dead;  /* the connection failed: every call fails at once */
    uint32_t seq;
    struct pcomi_limits lim;
    struct proxy *proxies; /* under lock: live proxies made through this connection, oldest first */
    struct call_slot slots[PCOMI_MAX_CALLS_IN_FLIGHT];
    struct pcomi_client *next;
};

#define SLOT_BITS 7
_Static_assert((1u << SLOT_BITS) == PCOMI_MAX_CALLS_IN_FLIGHT, "call ids carry the slot in their low bits");

static pthread_mutex_t clients_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pcomi_client *clients;
static struct pcom_client_limits client_limits; /* under clients_lock; zero fields mean the default */

HRESULT pcom_set_client_limits(const struct pcom_client_limits *limits)
{
    if (!limits)
        return E_POINTER;
    if (limits->max_calls_in_flight > PCOMI_MAX_CALLS_IN_FLIGHT || limits->max_depth > 1024 ||
        limits->max_message > (size_t)UINT32_MAX)
        return E_INVALIDARG;
    pthread_mutex_lock(&clients_lock);
    client_limits = *limits;
    pthread_mutex_unlock(&clients_lock);
    return S_OK;
}

static void fail_all(struct pcomi_client *c)
{
    pthread_mutex_lock(&c->lock);
    c->dead = true;
    for (unsigned i = 0; i < PCOMI_MAX_CALLS_IN_FLIGHT; i++) {
        if (c->slots[i].call_id && !c->slots[i].done) {
            c->slots[i].done = true;
            pthread_cond_signal(&c->slots[i].cond);
        }
    }
    pthread_mutex_unlock(&c->lock);
}

static void *reader_main(void *arg)
{
    struct pcomi_client *c = arg;
    for (;;) {
        struct pcomi_msg_header h;
        void *body = NULL;
        int err = pcomi_conn_recv(c->conn, &h, &body, c->lim.max_message);
        if (err < 0)
            break;
        if (h.type == PCOMI_MSG_PING) {
            struct pcomi_msg_header pong = h;
            pong.type = PCOMI_MSG_PONG;
            pcomi_conn_send(c->conn, &pong, NULL, 0);
            free(body);
            continue;
        }
        if (h.type != PCOMI_MSG_RESPONSE && h.type != PCOMI_MSG_FAULT) {
            free(body);
            if (h.type == PCOMI_MSG_CLOSE)
                break;
            continue;
        }
        struct call_slot *s = &c->slots[h.call_id & (PCOMI_MAX_CALLS_IN_FLIGHT - 1)];
        pthread_mutex_lock(&c->lock);
        if (s->call_id == h.call_id && !s->done) {
            s->done = true;
            s->type = h.type;
            s->body = body;
            s->len = h.body_len;
            body = NULL;
            pthread_cond_signal(&s->cond);
        }
        pthread_mutex_unlock(&c->lock);
        free(body); /* an answer nobody waits for: the caller gave up, or the peer is confused */
    }
    /* a protocol error or a CLOSE ends the stream here too, so the server sees the client go and releases
     * what it held, instead of writing answers nobody reads */
    pcomi_conn_shutdown(c->conn);
    fail_all(c);
    return NULL;
}

static void client_free(struct pcomi_client *c)
{
    for (unsigned i = 0; i < PCOMI_MAX_CALLS_IN_FLIGHT; i++)
        pthread_cond_destroy(&c->slots[i].cond);
    pthread_mutex_destroy(&c->lock);
    free(c->url);
    free(c);
}

HRESULT pcomi_client_get(const char *url, struct pcomi_client **out)
{
    pthread_mutex_lock(&clients_lock);
    for (struct pcomi_client *c = clients; c; c = c->next) {
        if (!atomic_load(&c->dead) && strcmp(c->url, url) == 0) {
            c->refs++;
            pthread_mutex_unlock(&clients_lock);
            *out = c;
            return S_OK;
        }
    }
    pthread_mutex_unlock(&clients_lock);

    struct pcomi_client *c = calloc(1, sizeof(*c));
    if (!c)
        return E_OUTOFMEMORY;
    HRESULT hr = E_OUTOFMEMORY;
    c->url = strdup(url);
    if (!c->url)
        goto fail_free;
    pthread_mutex_init(&c->lock, NULL);
    for (unsigned i = 0; i < PCOMI_MAX_CALLS_IN_FLIGHT; i++)
        pthread_cond_init(&c->slots[i].cond, NULL);
    pthread_mutex_lock(&clients_lock);
    struct pcom_client_limits l = client_limits;
    pthread_mutex_unlock(&clients_lock);
    c->lim.max_message = l.max_message ? l.max_message : PCOMI_DEFAULT_MAX_MESSAGE;
    c->lim.max_depth = l.max_depth ? l.max_depth : PCOMI_DEFAULT_MAX_DEPTH;
    c->max_calls = l.max_calls_in_flight ? l.max_calls_in_flight : PCOMI_MAX_CALLS_IN_FLIGHT;
    c->refs = 1;
    int err = pcomi_connect(url, &c->conn);
    if (err < 0) {
        hr = err == -EINVAL || err == -EPROTONOSUPPORT || err == -ENAMETOOLONG ? E_INVALIDARG
                                                                             : RPC_E_DISCONNECTED;
        pcom_set_error_message("cannot connect to %s: %s", url, strerror(-err));
        goto fail_free;
    }
    if (pthread_create(&c->reader, NULL, reader_main, c) != 0) {
        pcomi_conn_close(c->conn);
        goto fail_free;
    }
    pthread_mutex_lock(&clients_lock);
    for (struct pcomi_client *o = clients; o; o = o->next) {
        if (!atomic_load(&o->dead) && strcmp(o->url, url) == 0) {
            /* another thread connected to the same URL meanwhile: one connection per URL, keep theirs */
            o->refs++;
            pthread_mutex_unlock(&clients_lock);
            pcomi_conn_shutdown(c->conn);
            pthread_join(c->reader, NULL);
            pcomi_conn_close(c->conn);
            client_free(c);
            *out = o;
            return S_OK;
        }
    }
    c->next = clients;
    clients = c;
    pthread_mutex_unlock(&clients_lock);
    *out = c;
    return S_OK;
fail_free:
    client_free(c);
    return hr;
}

void pcomi_client_put(struct pcomi_client *c)
{
    pthread_mutex_lock(&clients_lock);
    bool last = --c->refs == 0;
    if (last)
        for (struct pcomi_client **pp = &clients; *pp; pp = &(*pp)->next)
            if (*pp == c) {
                *pp = c->next;
                break;
            }
    pthread_mutex_unlock(&clients_lock);
    if (!last)
        return;
    pcomi_conn_shutdown(c->conn);
    pthread_join(c->reader, NULL);
    pcomi_conn_close(c->conn);
    client_free(c);
}

/* Each thread keeps its encode buffer: no allocation per call once it has grown. A key's destructor
 * frees it when the thread exits. */
static _Thread_local struct pcomi_wbuf call_buf;
static _Thread_local bool call_buf_registered;
static pthread_key_t call_buf_key;
static pthread_once_t call_buf_once = PTHREAD_ONCE_INIT;

static void free_call_buf(void *buf)
{
    pcomi_wbuf_free(buf);
}

static void make_call_buf_key(void)
{
    pthread_key_create(&call_buf_key, free_call_buf);
}

static struct pcomi_wbuf *thread_call_buf(void)
{
    if (!call_buf_registered) {
        pthread_once(&call_buf_once, make_call_buf_key);
        pthread_setspecific(call_buf_key, &call_buf);
        call_buf_registered = true;
    }
    return &call_buf;
}

HRESULT pcomi_client_call(struct pcomi_client *c, const pcomi_oid *oid, const IID *iid, uint16_t slot_no,
                          const struct pcom_method *m, void *frame)
{
    HRESULT hr = pcomi_check_ref_params(m, frame);
    if (FAILED(hr))
        goto fail;
    struct pcomi_wbuf *buf = thread_call_buf();
    buf->len = 0;
    if (FAILED(hr = pcomi_encode_in(m, frame, buf)))
        goto fail;
    if (buf->len > c->lim.max_message) {
        pcom_set_error_message("the arguments of %s take %zu bytes, more than the limit of %zu", m->name,
                               buf->len, c->lim.max_message);
        hr = E_INVALIDARG;
        goto fail;
    }

    pthread_mutex_lock(&c->lock);
    if (c->dead) {
        pthread_mutex_unlock(&c->lock);
        pcom_set_error_message("the connection to %s was lost", c->url);
        hr = RPC_E_DISCONNECTED;
        goto fail;
    }
    struct call_slot *s = NULL;
    unsigned start = c->seq & (PCOMI_MAX_CALLS_IN_FLIGHT - 1);
    for (unsigned k = 0; k < PCOMI_MAX_CALLS_IN_FLIGHT && c->in_flight < c->max_calls; k++) {
        unsigned i = (start + k) & (PCOMI_MAX_CALLS_IN_FLIGHT - 1);
        if (!c->slots[i].call_id) {
            s = &c->slots[i];
            c->seq++;
            /* the generation wraps within 25 bits and skips 0, so a call id is never 0 (a free slot) */
            uint32_t gen = (c->seq >> SLOT_BITS) & ((1u << (32 - SLOT_BITS)) - 1);
            s->call_id = (gen ? gen : 1) << SLOT_BITS | i;
            s->done = false;
            s->body = NULL;
            s->len = 0;
            s->type = 0; /* stays 0 when the connection dies before an answer */
            c->in_flight++;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (!s) {
        pcom_set_error_message("more than %u calls in flight on one connection", c->max_calls);
        hr = RPC_E_CALL_REJECTED;
        goto fail;
    }

    struct pcomi_msg_header h = {0};
    h.type = PCOMI_MSG_REQUEST;
    h.call_id = s->call_id;
    h.method = slot_no;
    memcpy(h.object_id, oid->b, 16);
    memcpy(h.iid, iid, 16);
    struct iovec iov = {buf->data, buf->len};
    int err = pcomi_conn_send(c->conn, &h, &iov, buf->len ? 1 : 0);

    if (err < 0) {
        /* a message may have gone out in part: the stream is lost, and the reader must let go too */
        pcomi_conn_shutdown(c->conn);
    }
    pthread_mutex_lock(&c->lock);
    if (err < 0) {
        c->dead = true;
        s->done = true;
    }
    while (!s->done)
        pthread_cond_wait(&s->cond, &c->lock);
    void *body = s->body;
    size_t len = s->len;
    uint8_t type = s->type;
    s->call_id = 0;
    s->body = NULL;
    c->in_flight--;
    pthread_mutex_unlock(&c->lock);

    if (type == 0) {
        pcom_set_error_message("the connection to %s was lost", c->url);
        hr = RPC_E_DISCONNECTED;
        goto fail;
    }
    /* RESPONSE and FAULT both start with the HRESULT and 4 bytes of padding */
    if (len < 8) {
        free(body);
        pcom_set_error_message("malformed answer to %s", m->name);
        hr = RPC_E_INVALID_DATA;
        goto fail;
    }
    memcpy(&hr, body, 4);
    if (type == PCOMI_MSG_FAULT) {
        uint32_t n = 0;
        if (len >= 12)
            memcpy(&n, (uint8_t *)body + 8, 4);
        if (n > len - 12)
            n = 0;
        pcomi_set_error_bytes(n ? (const char *)body + 12 : "", n);
        free(body);
        if (SUCCEEDED(hr))
            hr = RPC_E_INVALID_DATA; /* a fault that claims success is not one */
        pcomi_clear_out(m, frame);
        return hr;
    }
    if (FAILED(hr)) {
        free(body);
        pcom_set_error_message(NULL);
        pcomi_clear_out(m, frame);
        return hr;
    }
    HRESULT dhr = pcomi_decode_out(m, (uint8_t *)body + 8, len - 8, frame, &c->lim);
    free(body);
    if (FAILED(dhr)) {
        pcom_set_error_message("malformed results from %s", m->name);
        return dhr;
    }
    return hr; /* a success leaves the message of the last failure alone */

fail:
    pcomi_clear_out(m, frame);
    return hr;
}

/* The main thread's buffer: thread-exit destructors do not run for it when the process exits. */
__attribute__((destructor)) static void client_fini(void)
{
    pcomi_wbuf_free(&call_buf);
}

/* ---- proxies ---- */

struct proxy {
    const void *vtbl; /* first: a pointer to the proxy is the interface pointer */
    atomic_ulong refs;
    struct pcomi_client *client;
    pcomi_oid oid;
    const struct pcom_interface_info *info;
    struct proxy *next; /* in client->proxies */
};

/* A reference to a proxy found in the list, unless its count already reached 0 (it is being freed). */
static bool try_ref(struct proxy *p)
{
    unsigned long r = atomic_load(&p->refs);
    while (r && !atomic_compare_exchange_weak(&p->refs, &r, r + 1))
        ;
    return r != 0;
}

/* The live proxy of an object for an interface (iid NULL: its oldest proxy, which stands for its
 * identity), with a reference, or NULL. */
static struct proxy *find_proxy(struct pcomi_client *c, const pcomi_oid *oid, const IID *iid)
{
    struct proxy *found = NULL;
    pthread_mutex_lock(&c->lock);
    for (struct proxy *q = c->proxies; q && !found; q = q->next)
        if (memcmp(q->oid.b, oid->b, 16) == 0 && (!iid || pcom_guid_equal(q->info->iid, iid)) && try_ref(q))
            found = q;
    pthread_mutex_unlock(&c->lock);
    return found;
}

/* Creates a proxy holding one reference the server counted, unless one for the same object and interface
 * is alive: then that one is returned with a reference added, *dup set, and the caller gives the server's
 * extra reference back. */
static HRESULT proxy_create(struct pcomi_client *c, const pcomi_oid *oid, const IID *iid, void **out, bool *dup)
{
    *dup = false;
    const struct pcom_interface_info *info = pcom_find_interface(iid);
    if (!info) {
        pcom_set_error_message("no proxy tables are linked for this interface");
        return E_NOINTERFACE;
    }
    struct proxy *p = calloc(1, sizeof(*p));
    if (!p)
        return E_OUTOFMEMORY;
    p->vtbl = info->proxy_vtbl;
    atomic_init(&p->refs, 1);
    p->client = c;
    p->oid = *oid;
    p->info = info;
    pthread_mutex_lock(&c->lock);
    struct proxy **tail = &c->proxies;
    for (; *tail; tail = &(*tail)->next) {
        struct proxy *q = *tail;
        if (memcmp(q->oid.b, oid->b, 16) == 0 && pcom_guid_equal(q->info->iid, iid) && try_ref(q)) {
            /* another thread unmarshaled the same interface meanwhile: one proxy per interface */
            pthread_mutex_unlock(&c->lock);
            free(p);
            *dup = true;
            *out = q;
            return S_OK;
        }
    }
    *tail = p;
    pthread_mutex_unlock(&c->lock);
    *out = p;
    return S_OK;
}

HRESULT pcomi_proxy_create(struct pcomi_client *c, const pcomi_oid *oid, const IID *iid, void **out)
{
    bool dup;
    HRESULT hr = proxy_create(c, oid, iid, out, &dup);
    if (SUCCEEDED(hr) && dup) {
        /* a fresh object id cannot have a proxy yet; should it, the extra server reference goes back */
        struct pcomi_sys_release_frame r = {(const GUID *)oid->b, 1};
        static const pcomi_oid none;
        pcomi_client_call(c, &none, &pcomi_iid_system, PCOMI_SYS_RELEASE, &pcomi_sys_methods[PCOMI_SYS_RELEASE],
                          &r);
        pcomi_client_put(c);
    }
    return hr;
}

HRESULT pcom_proxy_invoke(void *proxy, const struct pcom_interface_info *info, uint16_t method, void *frame)
{
    struct proxy *p = proxy;
    if (method >= info->nmethods || !info->methods[method].invoke)
        return E_NOTIMPL;
    return pcomi_client_call(p->client, &p->oid, info->iid, method, &info->methods[method], frame);
}

static const pcomi_oid system_oid;

HRESULT STDMETHODCALLTYPE pcom_proxy_query_interface(void *proxy, REFIID riid, void **ppv)
{
    struct proxy *p = proxy;
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (!riid)
        return E_POINTER;
    if (pcom_guid_equal(riid, p->info->iid)) {
        atomic_fetch_add(&p->refs, 1);
        *ppv = p;
        return S_OK;
    }
    /* COM identity: IUnknown through any proxy of one object is one pointer, and so is any one interface */
    struct proxy *q = find_proxy(p->client, &p->oid, pcom_guid_equal(riid, &IID_IUnknown) ? NULL : riid);
    if (q) {
        *ppv = q;
        return S_OK;
    }
    if (!pcom_find_interface(riid)) {
        /* without proxy tables here the answer is no, whatever the object supports */
        pcom_set_error_message("no proxy tables are linked for the requested interface");
        return E_NOINTERFACE;
    }
    struct pcomi_sys_qi_frame f = {(const GUID *)p->oid.b, riid};
    HRESULT hr = pcomi_client_call(p->client, &system_oid, &pcomi_iid_system, PCOMI_SYS_QUERY_INTERFACE,
                                   &pcomi_sys_methods[PCOMI_SYS_QUERY_INTERFACE], &f);
    if (FAILED(hr))
        return hr;
    /* the server counted one more reference for the new proxy */
    pthread_mutex_lock(&clients_lock);
    p->client->refs++;
    pthread_mutex_unlock(&clients_lock);
    bool dup;
    hr = proxy_create(p->client, &p->oid, riid, ppv, &dup);
    if (FAILED(hr) || dup) {
        struct pcomi_sys_release_frame r = {(const GUID *)p->oid.b, 1};
        pcomi_client_call(p->client, &system_oid, &pcomi_iid_system, PCOMI_SYS_RELEASE,
                          &pcomi_sys_methods[PCOMI_SYS_RELEASE], &r);
        pcomi_client_put(p->client);
    }
    return hr;
}

ULONG STDMETHODCALLTYPE pcom_proxy_add_ref(void *proxy)
{
    struct proxy *p = proxy;
    return (ULONG)atomic_fetch_add(&p->refs, 1) + 1;
}

ULONG STDMETHODCALLTYPE pcom_proxy_release(void *proxy)
{
    struct proxy *p = proxy;
    unsigned long left = atomic_fetch_sub(&p->refs, 1) - 1;
    if (left)
        return (ULONG)left;
    /* at 0 nobody can take a reference again (try_ref), so it only has to leave the list */
    struct pcomi_client *c = p->client;
    pthread_mutex_lock(&c->lock);
    for (struct proxy **pp = &c->proxies; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    pthread_mutex_unlock(&c->lock);
    /* the last local reference: give the server's back; a dead connection already released it */
    struct pcomi_sys_release_frame r = {(const GUID *)p->oid.b, 1};
    pcomi_client_call(p->client, &system_oid, &pcomi_iid_system, PCOMI_SYS_RELEASE,
                      &pcomi_sys_methods[PCOMI_SYS_RELEASE], &r);
    pcomi_client_put(p->client);
    free(p);
    return 0;
}
