/* server.c: servers: listeners, the connections they accepted, and the pool that runs their calls. */
#include "rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_LISTENERS 16

struct listener {
    struct pcomi_listener *l;
    pthread_t thread;
    bool started;
    bool parent; /* "pipe:": the one connection is to the process that started this one */
    struct pcom_server *srv;
};

struct conn_entry {
    struct pcomi_channel *ch;
    bool parent; /* from a "pipe:" listener */
    struct conn_entry *next;
};

struct pcom_server {
    struct pcom_server_options opts;
    struct pcomi_limits lim;
    struct listener listeners[MAX_LISTENERS];
    unsigned nlisteners;
    pthread_mutex_t lock;
    pthread_cond_t conns_gone;
    struct pcomi_pool *pool;
    bool stopping;
    struct conn_entry *conns; /* under lock */
    unsigned nconns;
    int stop_pipe[2];
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
    pthread_cond_init(&s->conns_gone, NULL);
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
    bool parent = strncasecmp(url, "pipe:", 5) == 0;
    s->listeners[s->nlisteners].l = l;
    s->listeners[s->nlisteners].srv = s;
    s->listeners[s->nlisteners].parent = parent;
    s->nlisteners++;
    /* object references this process hands out name it by its listeners */
    if (!parent)
        pcomi_exporter_add_endpoint(pcomi_listener_url(l));
    return S_OK;
}

const char *pcom_server_url(struct pcom_server *s, unsigned i)
{
    return s && i < s->nlisteners ? pcomi_listener_url(s->listeners[i].l) : NULL;
}

size_t pcom_server_live_objects(struct pcom_server *s)
{
    (void)s;
    return pcomi_exports_live();
}

/* ---- connections ---- */

static void conn_closed(void *arg, struct pcomi_channel *ch)
{
    struct pcom_server *s = arg;
    pthread_mutex_lock(&s->lock);
    for (struct conn_entry **pp = &s->conns; *pp; pp = &(*pp)->next)
        if ((*pp)->ch == ch) {
            struct conn_entry *e = *pp;
            *pp = e->next;
            /* a server started over a pipe lives for the process that started it: however the connection ended
             * (the parent went, or this side dropped it), there is nobody left to serve. Asked while s is
             * certainly alive: once the count below reaches 0, a stopping server may be destroyed. */
            if (e->parent)
                pcom_server_stop(s);
            free(e);
            break;
        }
    s->nconns--;
    pthread_cond_broadcast(&s->conns_gone);
    pthread_mutex_unlock(&s->lock);
    pcomi_channel_put(ch); /* the server's use */
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
        struct conn_entry *e = calloc(1, sizeof(*e));
        if (!e) {
            pcomi_conn_close(conn);
            continue;
        }
        struct pcomi_server_conn_opts o = {s->pool, s->lim, s->opts.max_calls_in_flight, s->opts.send_timeout_ms,
                                           conn_closed, s};
        /* counted before the channel starts: its end may come at once */
        pthread_mutex_lock(&s->lock);
        if (s->stopping) {
            pthread_mutex_unlock(&s->lock);
            pcomi_conn_close(conn);
            free(e);
            continue;
        }
        s->nconns++;
        e->parent = li->parent;
        e->next = s->conns;
        s->conns = e;
        /* the entry is found by its channel: set it before anyone can look */
        HRESULT hr = pcomi_channel_accept(conn, &o, &e->ch);
        if (FAILED(hr)) {
            s->conns = e->next;
            s->nconns--;
            free(e);
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
    HRESULT hr = pcomi_pool_create(s->opts.workers, &s->pool);
    if (FAILED(hr))
        return hr;
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
    pthread_mutex_unlock(&s->lock);
    pcomi_pool_drain(s->pool);
    /* then each connection ends and releases the objects its peer held */
    pthread_mutex_lock(&s->lock);
    for (struct conn_entry *e = s->conns; e; e = e->next)
        pcomi_channel_shutdown(e->ch);
    while (s->nconns)
        pthread_cond_wait(&s->conns_gone, &s->lock);
    pthread_mutex_unlock(&s->lock);
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
    for (unsigned i = 0; i < s->nlisteners; i++) {
        pcomi_exporter_remove_endpoint(pcomi_listener_url(s->listeners[i].l));
        pcomi_listener_close(s->listeners[i].l);
    }
    pcomi_pool_destroy(s->pool);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->conns_gone);
    free(s);
}
