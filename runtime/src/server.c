/* server.c: the server side of remoting: listeners, connections, the objects each connection holds, and
 * the workers that run calls. */
#include "marshal.h"
#include "rpc.h"
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_LISTENERS 16

/* One interface of an exported object, as the connection asked for it. */
struct export_iface {
    IID iid;
    void *ptr; /* holds a reference */
    const struct pcom_interface_info *info;
};

/* An object handed to one connection: reachable only through it, released when it goes. */
struct export {
    pcomi_oid oid;
    IUnknown *identity; /* holds a reference */
    uint32_t refs;      /* references the peer holds */
    struct export_iface *ifaces;
    size_t nifaces;
    struct export *next;
};

#define MAX_EXPORTS_PER_CONNECTION 65536

struct sconn {
    struct pcom_server *srv;
    struct pcomi_conn *conn;
    size_t nexports;       /* under lock */
    pthread_t reader;
    pthread_mutex_t lock;  /* exports and in_flight */
    pthread_cond_t drained;
    struct export *exports;
    unsigned in_flight;
    struct sconn *next;    /* in srv->conns, under srv->lock */
};

struct job {
    struct sconn *sc;
    struct pcomi_msg_header h;
    void *body;
    struct job *next;
};

struct listener {
    struct pcomi_listener *l;
    pthread_t thread;
    bool started;
    struct pcom_server *srv;
};

struct pcom_server {
    struct pcom_server_options opts;
    struct pcomi_limits lim;
    struct listener listeners[MAX_LISTENERS];
    unsigned nlisteners;
    pthread_mutex_t lock;
    pthread_cond_t work;     /* jobs queued, or stopping */
    pthread_cond_t conns_gone;
    struct job *head, *tail;
    bool stopping;           /* no new calls; workers exit once the queue is empty */
    unsigned busy;           /* calls queued or running */
    pthread_cond_t idle;     /* busy fell to 0 */
    pthread_t *workers;
    unsigned nworkers;
    struct sconn *conns;
    unsigned nconns;
    int stop_pipe[2];
    atomic_size_t live_objects;
    bool running;
};

HRESULT pcom_server_create(const struct pcom_server_options *opts, struct pcom_server **out)
{
    if (!out)
        return E_POINTER;
    *out = NULL;
    struct pcom_server *s = calloc(1, sizeof(*s));
    if (!s)
        return E_OUTOFMEMORY;
    if (opts)
        s->opts = *opts;
    if (!s->opts.workers)
        s->opts.workers = 4;
    if (s->opts.workers > 256)
        s->opts.workers = 256;
    if (!s->opts.max_message)
        s->opts.max_message = PCOMI_DEFAULT_MAX_MESSAGE;
    if (!s->opts.max_depth)
        s->opts.max_depth = PCOMI_DEFAULT_MAX_DEPTH;
    if (!s->opts.max_calls_in_flight)
        s->opts.max_calls_in_flight = PCOMI_MAX_CALLS_IN_FLIGHT;
    if (!s->opts.send_timeout_ms)
        s->opts.send_timeout_ms = 10000;
    s->lim.max_message = s->opts.max_message;
    s->lim.max_depth = s->opts.max_depth;
    if (pipe2(s->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        free(s);
        return E_OUTOFMEMORY;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->conns_gone, NULL);
    pthread_cond_init(&s->idle, NULL);
    *out = s;
    return S_OK;
}

HRESULT pcom_server_listen(struct pcom_server *s, const char *url)
{
    if (!s || !url)
        return E_POINTER;
    if (s->nlisteners == MAX_LISTENERS)
        return E_OUTOFMEMORY;
    struct pcomi_listener *l;
    int err = pcomi_listen(url, &l);
    if (err < 0) {
        pcom_set_error_message("cannot listen on %s: %s", url, strerror(-err));
        return err == -EINVAL || err == -EPROTONOSUPPORT || err == -ENAMETOOLONG ? E_INVALIDARG
               : err == -EADDRINUSE || err == -EACCES                        ? E_ACCESSDENIED
                                                                             : E_FAIL;
    }
    s->listeners[s->nlisteners].l = l;
    s->listeners[s->nlisteners].srv = s;
    s->nlisteners++;
    return S_OK;
}

const char *pcom_server_url(struct pcom_server *s, unsigned i)
{
    return s && i < s->nlisteners ? pcomi_listener_url(s->listeners[i].l) : NULL;
}

size_t pcom_server_live_objects(struct pcom_server *s)
{
    return s ? atomic_load(&s->live_objects) : 0;
}

/* ---- exports ---- */

static struct export *find_export(struct sconn *sc, const uint8_t oid[16])
{
    for (struct export *e = sc->exports; e; e = e->next)
        if (memcmp(e->oid.b, oid, 16) == 0)
            return e;
    return NULL;
}

static struct export_iface *find_iface(struct export *e, const IID *iid)
{
    for (size_t i = 0; i < e->nifaces; i++)
        if (pcom_guid_equal(&e->ifaces[i].iid, iid))
            return &e->ifaces[i];
    return NULL;
}

static void export_free(struct pcom_server *srv, struct export *e)
{
    for (size_t i = 0; i < e->nifaces; i++)
        IUnknown_Release((IUnknown *)e->ifaces[i].ptr);
    IUnknown_Release(e->identity);
    free(e->ifaces);
    free(e);
    atomic_fetch_sub(&srv->live_objects, 1);
}

/* Add an interface the object answered a QueryInterface with; takes over the reference in ptr. */
static HRESULT export_add_iface(struct export *e, const IID *iid, void *ptr, const struct pcom_interface_info *info)
{
    struct export_iface *n = realloc(e->ifaces, (e->nifaces + 1) * sizeof(*n));
    if (!n)
        return E_OUTOFMEMORY;
    e->ifaces = n;
    e->ifaces[e->nifaces++] = (struct export_iface){*iid, ptr, info};
    return S_OK;
}

/* The system object is the connection itself: its methods act on what the connection holds. */
HRESULT pcomi_sys_create_instance(void *conn, void *frame)
{
    struct sconn *sc = conn;
    struct pcomi_sys_create_frame *f = frame;
    const struct pcom_interface_info *info = pcom_find_interface(f->iid);
    if (!info) {
        pcom_set_error_message("the server has no stub tables for the requested interface");
        return E_NOINTERFACE;
    }
    IClassFactory *factory;
    HRESULT hr = pcomi_class_factory(f->clsid, &factory);
    if (FAILED(hr)) {
        char text[PCOM_GUID_STRING_LEN + 1];
        pcom_guid_format(f->clsid, text);
        pcom_set_error_message("class {%s} is not registered in this server", text);
        return hr;
    }
    void *ptr = NULL;
    IUnknown *identity = NULL;
    struct export *e = NULL;
    hr = IClassFactory_CreateInstance(factory, NULL, f->iid, &ptr);
    IClassFactory_Release(factory);
    if (FAILED(hr))
        return hr;
    if (!ptr)
        return E_UNEXPECTED;
    if (FAILED(hr = IUnknown_QueryInterface((IUnknown *)ptr, &IID_IUnknown, (void **)&identity)))
        goto fail;
    e = calloc(1, sizeof(*e));
    if (!e) {
        hr = E_OUTOFMEMORY;
        goto fail;
    }
    if (!pcomi_random_oid(&e->oid)) {
        pcom_set_error_message("no random source for object ids");
        hr = E_FAIL;
        goto fail;
    }
    e->identity = identity;
    e->refs = 1;
    if (FAILED(hr = export_add_iface(e, f->iid, ptr, info)))
        goto fail;
    pthread_mutex_lock(&sc->lock);
    if (sc->nexports >= MAX_EXPORTS_PER_CONNECTION) {
        pthread_mutex_unlock(&sc->lock);
        pcom_set_error_message("a connection may hold at most %d objects", MAX_EXPORTS_PER_CONNECTION);
        hr = E_OUTOFMEMORY;
        goto fail;
    }
    e->next = sc->exports;
    sc->exports = e;
    sc->nexports++;
    pthread_mutex_unlock(&sc->lock);
    atomic_fetch_add(&sc->srv->live_objects, 1);
    memcpy(f->oid, e->oid.b, 16);
    return S_OK;
fail:
    if (e)
        free(e->ifaces); /* the reference in it is ptr's, released below */
    free(e);
    if (identity)
        IUnknown_Release(identity);
    IUnknown_Release((IUnknown *)ptr);
    return hr;
}

HRESULT pcomi_sys_query_interface(void *conn, void *frame)
{
    struct sconn *sc = conn;
    struct pcomi_sys_qi_frame *f = frame;
    const struct pcom_interface_info *info = pcom_find_interface(f->iid);
    IUnknown *identity = NULL;
    pthread_mutex_lock(&sc->lock);
    struct export *e = find_export(sc, (const uint8_t *)f->oid);
    if (e && find_iface(e, f->iid)) {
        e->refs++;
        pthread_mutex_unlock(&sc->lock);
        return S_OK;
    }
    if (e) {
        identity = e->identity;
        IUnknown_AddRef(identity);
    }
    pthread_mutex_unlock(&sc->lock);
    if (!identity) {
        pcom_set_error_message("no such object on this connection");
        return RPC_E_DISCONNECTED;
    }
    if (!info) {
        IUnknown_Release(identity);
        pcom_set_error_message("the server has no stub tables for the requested interface");
        return E_NOINTERFACE;
    }
    /* the object's QueryInterface runs without the connection's lock: it may take its own */
    void *ptr = NULL;
    HRESULT hr = IUnknown_QueryInterface(identity, f->iid, &ptr);
    IUnknown_Release(identity);
    if (FAILED(hr))
        return hr;
    pthread_mutex_lock(&sc->lock);
    e = find_export(sc, (const uint8_t *)f->oid); /* it may have been released meanwhile */
    if (!e) {
        hr = RPC_E_DISCONNECTED;
    } else if (find_iface(e, f->iid)) {
        e->refs++; /* a concurrent QueryInterface added it first */
    } else if (SUCCEEDED(hr = export_add_iface(e, f->iid, ptr, info))) {
        ptr = NULL;
        e->refs++;
    }
    pthread_mutex_unlock(&sc->lock);
    if (ptr)
        IUnknown_Release((IUnknown *)ptr);
    return hr;
}

HRESULT pcomi_sys_release(void *conn, void *frame)
{
    struct sconn *sc = conn;
    struct pcomi_sys_release_frame *f = frame;
    struct export *gone = NULL;
    HRESULT hr = S_OK;
    pthread_mutex_lock(&sc->lock);
    for (struct export **pp = &sc->exports; *pp; pp = &(*pp)->next) {
        struct export *e = *pp;
        if (memcmp(e->oid.b, f->oid, 16) != 0)
            continue;
        if (f->count == 0 || f->count > e->refs) {
            /* a peer cannot give back references it never held */
            hr = E_INVALIDARG;
        } else if ((e->refs -= f->count) == 0) {
            *pp = e->next;
            sc->nexports--;
            gone = e;
        }
        goto out;
    }
    hr = RPC_E_DISCONNECTED;
    pcom_set_error_message("no such object on this connection");
out:
    pthread_mutex_unlock(&sc->lock);
    if (gone)
        export_free(sc->srv, gone);
    return hr;
}

/* ---- calls ---- */

struct worker {
    struct pcom_server *srv;
    struct pcomi_arena arena;
    struct pcomi_wbuf out;
};

/* A send that fails (the peer went, or stopped reading past the send timeout) ends the connection: its
 * reader wakes, and what the peer held is released. */
static void conn_send(struct sconn *sc, const struct pcomi_msg_header *h, const struct iovec *iov, int niov)
{
    if (pcomi_conn_send(sc->conn, h, iov, niov) < 0)
        pcomi_conn_shutdown(sc->conn);
}

static void send_fault(struct sconn *sc, const struct pcomi_msg_header *req, HRESULT hr, const char *msg)
{
    struct pcomi_msg_header h = {0};
    h.type = PCOMI_MSG_FAULT;
    h.call_id = req->call_id;
    uint32_t n = (uint32_t)strlen(msg);
    uint8_t head[12] = {0};
    memcpy(head, &hr, 4);
    memcpy(head + 8, &n, 4);
    struct iovec iov[2] = {{head, 12}, {(void *)msg, n}};
    conn_send(sc, &h, iov, n ? 2 : 1);
}

static void run_call(struct worker *w, struct job *j)
{
    struct sconn *sc = j->sc;
    const struct pcomi_msg_header *h = &j->h;
    const struct pcom_method *m = NULL;
    void *object = NULL;
    IUnknown *hold = NULL;
    const char *iface_name = "system";
    HRESULT hr;
    static const uint8_t zero[16];

    if (memcmp(h->object_id, zero, 16) == 0) {
        if (!pcom_guid_equal((const IID *)h->iid, &pcomi_iid_system) || h->method < PCOMI_SYS_CREATE_INSTANCE ||
            h->method >= PCOMI_SYS_METHODS_) {
            send_fault(sc, h, RPC_E_INVALID_HEADER, "no such method of the system object");
            return;
        }
        m = &pcomi_sys_methods[h->method];
        object = sc;
    } else {
        pthread_mutex_lock(&sc->lock);
        struct export *e = find_export(sc, h->object_id);
        struct export_iface *fi = e ? find_iface(e, (const IID *)h->iid) : NULL;
        if (fi && h->method >= 3 && h->method < fi->info->nmethods && fi->info->methods[h->method].invoke) {
            m = &fi->info->methods[h->method];
            object = fi->ptr;
            iface_name = fi->info->name;
            hold = (IUnknown *)object;
            IUnknown_AddRef(hold); /* a Release racing with this call must not free the object under it */
        }
        pthread_mutex_unlock(&sc->lock);
        if (!m) {
            send_fault(sc, h, e ? (fi ? RPC_E_INVALID_HEADER : E_NOINTERFACE) : RPC_E_DISCONNECTED,
                       !e ? "no such object on this connection"
                       : !fi ? "the object was not asked for this interface on this connection"
                             : "no such method");
            return;
        }
    }

    void *frame = pcomi_arena_alloc(&w->arena, m->frame_size ? m->frame_size : 1);
    if (!frame) {
        send_fault(sc, h, E_OUTOFMEMORY, "out of memory");
        goto out;
    }
    hr = pcomi_decode_in(m, j->body, h->body_len, frame, &w->arena, &w->srv->lim);
    if (FAILED(hr)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "malformed arguments for %s::%s", iface_name, m->name);
        send_fault(sc, h, hr == E_OUTOFMEMORY ? hr : RPC_E_INVALID_DATA, msg);
        goto out;
    }
    pcom_set_error_message(NULL);
    hr = m->invoke(object, frame);

    /* the HRESULT goes in last: encoding the results may move the buffer */
    w->out.len = 0;
    HRESULT ehr = pcomi_wbuf_append(&w->out, 8, 8) ? S_OK : E_OUTOFMEMORY;
    if (SUCCEEDED(ehr) && SUCCEEDED(hr))
        ehr = pcomi_encode_out(m, frame, &w->out);
    pcomi_free_out(m, frame);
    if (FAILED(ehr)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "the results of %s::%s could not be marshaled", iface_name, m->name);
        send_fault(sc, h, ehr, msg);
        goto out;
    }
    if (FAILED(hr) && pcom_error_message()[0]) {
        send_fault(sc, h, hr, pcom_error_message());
        goto out;
    }
    memcpy(w->out.data, &hr, 4);
    struct pcomi_msg_header rh = {0};
    rh.type = PCOMI_MSG_RESPONSE;
    rh.call_id = h->call_id;
    /* a failed call carries only its HRESULT */
    size_t len = SUCCEEDED(hr) ? w->out.len : 8;
    struct iovec iov = {w->out.data, len};
    conn_send(sc, &rh, &iov, 1);
out:
    if (hold)
        IUnknown_Release(hold);
    pcomi_arena_reset(&w->arena);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pcom_server *s = w->srv;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->work, &s->lock);
        struct job *j = s->head;
        if (j) {
            s->head = j->next;
            if (!s->head)
                s->tail = NULL;
        }
        pthread_mutex_unlock(&s->lock);
        if (!j)
            break;
        run_call(w, j);
        struct sconn *sc = j->sc;
        free(j->body);
        free(j);
        pthread_mutex_lock(&sc->lock);
        if (--sc->in_flight == 0)
            pthread_cond_broadcast(&sc->drained);
        pthread_mutex_unlock(&sc->lock);
        pthread_mutex_lock(&s->lock);
        if (--s->busy == 0)
            pthread_cond_broadcast(&s->idle);
        pthread_mutex_unlock(&s->lock);
    }
    pcomi_arena_free(&w->arena);
    pcomi_wbuf_free(&w->out);
    free(w);
    return NULL;
}

/* ---- connections ---- */

static void *conn_main(void *arg)
{
    struct sconn *sc = arg;
    struct pcom_server *s = sc->srv;
    for (;;) {
        struct pcomi_msg_header h;
        void *body = NULL;
        int err = pcomi_conn_recv(sc->conn, &h, &body, s->lim.max_message);
        if (err == -EPROTONOSUPPORT) {
            /* a peer of another protocol version is told so before the connection closes */
            struct pcomi_msg_header none = {0};
            send_fault(sc, &none, RPC_E_VERSION_MISMATCH, "this server speaks pcom wire version 1");
        }
        if (err < 0)
            break;
        if (h.type == PCOMI_MSG_PING) {
            struct pcomi_msg_header pong = h;
            pong.type = PCOMI_MSG_PONG;
            conn_send(sc, &pong, NULL, 0);
            free(body);
            continue;
        }
        if (h.type == PCOMI_MSG_CLOSE) {
            free(body);
            break;
        }
        if (h.type != PCOMI_MSG_REQUEST) {
            free(body); /* a server is sent requests; anything else is ignored */
            continue;
        }
        pthread_mutex_lock(&sc->lock);
        bool full = sc->in_flight >= s->opts.max_calls_in_flight;
        if (!full)
            sc->in_flight++;
        pthread_mutex_unlock(&sc->lock);
        if (full) {
            free(body);
            send_fault(sc, &h, RPC_E_CALL_REJECTED, "too many calls in flight on this connection");
            continue;
        }
        struct job *j = malloc(sizeof(*j));
        if (!j) {
            free(body);
            send_fault(sc, &h, E_OUTOFMEMORY, "out of memory");
            pthread_mutex_lock(&sc->lock);
            sc->in_flight--;
            pthread_mutex_unlock(&sc->lock);
            continue;
        }
        j->sc = sc;
        j->h = h;
        j->body = body;
        j->next = NULL;
        pthread_mutex_lock(&s->lock);
        if (s->stopping) {
            pthread_mutex_unlock(&s->lock);
            free(j);
            free(body);
            send_fault(sc, &h, RPC_E_DISCONNECTED, "the server is stopping");
            pthread_mutex_lock(&sc->lock);
            sc->in_flight--;
            pthread_mutex_unlock(&sc->lock);
            continue;
        }
        s->busy++;
        if (s->tail)
            s->tail->next = j;
        else
            s->head = j;
        s->tail = j;
        pthread_cond_signal(&s->work);
        pthread_mutex_unlock(&s->lock);
    }
    /* the peer is gone (or the server stops): let its calls finish, then drop everything it held */
    pthread_mutex_lock(&sc->lock);
    while (sc->in_flight)
        pthread_cond_wait(&sc->drained, &sc->lock);
    struct export *e = sc->exports;
    sc->exports = NULL;
    pthread_mutex_unlock(&sc->lock);
    while (e) {
        struct export *next = e->next;
        export_free(s, e);
        e = next;
    }
    pthread_mutex_lock(&s->lock);
    for (struct sconn **pp = &s->conns; *pp; pp = &(*pp)->next)
        if (*pp == sc) {
            *pp = sc->next;
            break;
        }
    s->nconns--;
    pthread_cond_broadcast(&s->conns_gone);
    pthread_mutex_unlock(&s->lock);
    pcomi_conn_close(sc->conn);
    pthread_mutex_destroy(&sc->lock);
    pthread_cond_destroy(&sc->drained);
    free(sc);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct listener *li = arg;
    struct pcom_server *s = li->srv;
    for (;;) {
        struct pcomi_conn *conn;
        int err = pcomi_listener_accept(li->l, &conn);
        if (err == -ECANCELED)
            break;
        if (err < 0) {
            if (err == -EMFILE || err == -ENFILE || err == -ENOMEM)
                usleep(10000); /* out of descriptors: back off instead of spinning */
            continue;
        }
        struct sconn *sc = calloc(1, sizeof(*sc));
        if (!sc) {
            pcomi_conn_close(conn);
            continue;
        }
        sc->srv = s;
        sc->conn = conn;
        pcomi_stream_set_send_timeout(conn, s->opts.send_timeout_ms);
        pthread_mutex_init(&sc->lock, NULL);
        pthread_cond_init(&sc->drained, NULL);
        pthread_mutex_lock(&s->lock);
        if (s->stopping) {
            pthread_mutex_unlock(&s->lock);
            pcomi_conn_close(conn);
            pthread_mutex_destroy(&sc->lock);
            pthread_cond_destroy(&sc->drained);
            free(sc);
            continue;
        }
        sc->next = s->conns;
        s->conns = sc;
        s->nconns++;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&sc->reader, &attr, conn_main, sc);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            s->conns = sc->next;
            s->nconns--;
            pthread_mutex_unlock(&s->lock);
            pcomi_conn_close(conn);
            pthread_mutex_destroy(&sc->lock);
            pthread_cond_destroy(&sc->drained);
            free(sc);
            continue;
        }
        pthread_mutex_unlock(&s->lock);
    }
    return NULL;
}

HRESULT pcom_server_run(struct pcom_server *s)
{
    if (!s)
        return E_POINTER;
    if (s->running || s->stopping)
        return E_UNEXPECTED;
    s->running = true;
    HRESULT hr = S_OK;
    s->workers = calloc(s->opts.workers, sizeof(*s->workers));
    if (!s->workers)
        return E_OUTOFMEMORY;
    for (unsigned i = 0; i < s->opts.workers; i++) {
        struct worker *w = calloc(1, sizeof(*w));
        if (w)
            w->srv = s;
        if (!w || pthread_create(&s->workers[i], NULL, worker_main, w) != 0) {
            free(w);
            hr = E_OUTOFMEMORY;
            goto stop;
        }
        s->nworkers++;
    }
    for (unsigned i = 0; i < s->nlisteners; i++) {
        if (pthread_create(&s->listeners[i].thread, NULL, accept_main, &s->listeners[i]) != 0) {
            hr = E_OUTOFMEMORY;
            goto stop;
        }
        s->listeners[i].started = true;
    }
    /* wait for pcom_server_stop */
    for (;;) {
        char ch;
        struct pollfd pfd = {s->stop_pipe[0], POLLIN, 0};
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            break;
        if (read(s->stop_pipe[0], &ch, 1) == 1)
            break;
    }
stop:
    /* no new connections */
    for (unsigned i = 0; i < s->nlisteners; i++) {
        pcomi_listener_shutdown(s->listeners[i].l);
        if (s->listeners[i].started)
            pthread_join(s->listeners[i].thread, NULL);
        s->listeners[i].started = false;
    }
    /* no new calls; the calls already taken are answered before any connection closes */
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->work);
    while (s->busy && s->nworkers)
        pthread_cond_wait(&s->idle, &s->lock);
    /* then each reader stops and releases the objects its peer held */
    for (struct sconn *sc = s->conns; sc; sc = sc->next)
        pcomi_conn_shutdown(sc->conn);
    while (s->nconns)
        pthread_cond_wait(&s->conns_gone, &s->lock);
    pthread_mutex_unlock(&s->lock);
    for (unsigned i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    s->nworkers = 0;
    return hr;
}

void pcom_server_stop(struct pcom_server *s)
{
    if (s) {
        ssize_t n = write(s->stop_pipe[1], "x", 1);
        (void)n; /* a full pipe already holds a stop request */
    }
}

void pcom_server_destroy(struct pcom_server *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < s->nlisteners; i++)
        pcomi_listener_close(s->listeners[i].l);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->conns_gone);
    pthread_cond_destroy(&s->idle);
    free(s->workers);
    free(s);
}
