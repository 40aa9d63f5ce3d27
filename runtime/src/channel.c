/* channel.c: connections that carry calls both ways: outgoing calls, incoming calls and who runs them (pools and
 * waiting threads of the same logical thread), greetings, batched releases and keepalive. */
#include "rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <time.h>

/* ---- logical threads ----
 *
 * A call carries its causality: the id of the logical thread it belongs to. A thread waiting for a reply is
 * registered under its causality, and an incoming call with the same causality is handed to it rather than to a
 * pool: so client -> server -> client -> server chains run on the threads already waiting in them, however small
 * the pools. */

#define CAUSALITY_BYTES 6

struct job {
    struct pcomi_channel *ch;
    struct pcomi_msg_header h;
    void *body;
    struct job *next;
    bool heap; /* malloc'd (queued somewhere); else the storage of the worker that runs it */
};

struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* Set under mu (with a signal of cv) by other threads; the thread reads them without mu while it has work,
     * and under mu before it sleeps. */
    atomic_bool may_read;         /* the read role of the channel it waits on came free */
    atomic_uint njobs;            /* entries in jobs */
    struct job *jobs, *jobs_tail; /* under mu: calls of this logical thread to run while waiting */
    uint8_t own[CAUSALITY_BYTES]; /* the thread's own logical thread id, for calls it starts */
    uint8_t cur[CAUSALITY_BYTES]; /* the one it serves now */
    unsigned depth;               /* nested waits, under waiters_lock */
    struct waiter *next;          /* in waiters, while depth > 0 */
    struct pcomi_wbuf buf;        /* the encode buffer of its calls */
    bool buf_busy;                /* a call is encoding into buf (a nested call must use another) */
};

static pthread_mutex_t waiters_lock = PTHREAD_MUTEX_INITIALIZER;
/* Threads in waiters: incoming calls look for one only when there is one. Counted before the call that could
 * bring them back is sent. */
static atomic_uint nwaiters;
static struct waiter *waiters;
static pthread_key_t waiter_key;
static pthread_once_t waiter_once = PTHREAD_ONCE_INIT;
static _Thread_local struct waiter *tls_waiter;

static void waiter_free(void *arg)
{
    struct waiter *w = arg;
    pcomi_wbuf_free(&w->buf);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

static void make_waiter_key(void)
{
    pthread_key_create(&waiter_key, waiter_free);
}

static void random_causality(uint8_t out[CAUSALITY_BYTES])
{
    pcomi_oid r;
    if (!pcomi_random_oid(&r)) {
        /* without randomness ids still need to differ between threads of this process */
        static atomic_uint_fast64_t counter;
        uint64_t v = atomic_fetch_add(&counter, 1) + 1;
        memcpy(r.b, &v, 8);
    }
    memcpy(out, r.b, CAUSALITY_BYTES);
    if (!(out[0] | out[1] | out[2] | out[3] | out[4] | out[5]))
        out[0] = 1; /* 0 means none */
}

static struct waiter *this_waiter(void)
{
    if (tls_waiter)
        return tls_waiter;
    pthread_once(&waiter_once, make_waiter_key);
    struct waiter *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    random_causality(w->own);
    memcpy(w->cur, w->own, CAUSALITY_BYTES);
    pthread_setspecific(waiter_key, w);
    tls_waiter = w;
    return w;
}

/* The main thread's waiter: key destructors do not run for it at exit. */
__attribute__((destructor)) static void channel_fini(void)
{
    if (tls_waiter) {
        pthread_setspecific(waiter_key, NULL);
        waiter_free(tls_waiter);
        tls_waiter = NULL;
    }
}

static void waiter_enter(struct waiter *w)
{
    pthread_mutex_lock(&waiters_lock);
    if (w->depth++ == 0) {
        w->next = waiters;
        waiters = w;
        atomic_fetch_add(&nwaiters, 1);
    }
    pthread_mutex_unlock(&waiters_lock);
}

static void waiter_leave(struct waiter *w)
{
    pthread_mutex_lock(&waiters_lock);
    if (--w->depth == 0)
        for (struct waiter **pp = &waiters; *pp; pp = &(*pp)->next)
            if (*pp == w) {
                *pp = w->next;
                atomic_fetch_sub(&nwaiters, 1);
                break;
            }
    pthread_mutex_unlock(&waiters_lock);
}

/* Hands a call to the thread waiting in its logical thread, if there is one. */
static bool waiter_take(struct job *j)
{
    static const uint8_t none[CAUSALITY_BYTES];
    if (!atomic_load(&nwaiters) || memcmp(j->h.causality, none, CAUSALITY_BYTES) == 0)
        return false;
    bool taken = false;
    pthread_mutex_lock(&waiters_lock);
    for (struct waiter *w = waiters; w; w = w->next) {
        if (memcmp(w->cur, j->h.causality, CAUSALITY_BYTES) != 0)
            continue;
        pthread_mutex_lock(&w->mu);
        if (w->jobs_tail)
            w->jobs_tail->next = j;
        else
            w->jobs = j;
        w->jobs_tail = j;
        atomic_fetch_add(&w->njobs, 1);
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        taken = true;
        break;
    }
    pthread_mutex_unlock(&waiters_lock);
    return taken;
}

/* ---- channels ---- */

struct call_slot {
    uint32_t call_id; /* 0: free; under ch->lock */
    struct waiter *w;
    /* Set by the thread that ends the wait: the waiter itself without a lock, others under w->mu with a wake-up,
     * exactly once per call (slot_finish) */
    atomic_bool done;
    uint8_t type;     /* RESPONSE or FAULT; 0 when the channel died first */
    void *body;
    size_t len;
    /* A large answer is decoded as it arrives, straight into the caller's memory, by whichever thread reads it:
     * then body is NULL, decoded set, hr/dhr are the server's result and the decode's, and msg (malloc'd, or
     * NULL) the decode's message when another thread decoded it. decoding: another thread is at it now; the
     * slot is then that thread's to finish, even if the channel dies (the caller's frame must outlive it). */
    const struct pcom_method *m;
    void *frame;
    bool decoded;
    HRESULT hr, dhr;
    char *msg;
    atomic_bool decoding;
};

/* Answers at least this large are decoded as they arrive when their caller reads them. */
#define DECODE_IN_PLACE_MIN (64 * 1024)

#define SLOT_BITS 7
_Static_assert((1u << SLOT_BITS) == PCOMI_MAX_CALLS_IN_FLIGHT, "call ids carry the slot in their low bits");

struct pcomi_channel {
    struct pcomi_conn *conn;
    atomic_uint refs;  /* memory: the reader, each use, the housekeeper while it works on it */
    unsigned uses;     /* under lock; an outbound channel closes when none is left */
    pthread_mutex_t lock;
    pthread_cond_t greeted;
    bool outbound;
    bool hello_seen;   /* under lock */
    atomic_bool dead;
    char name[PCOMI_URL_MAX];
    struct pcomi_peer peer; /* written once, before hello_seen */
    struct pcomi_pool *pool;
    struct pcomi_limits lim;
    struct pcomi_objref_ops objrefs;
    unsigned max_calls;
    /* outgoing calls */
    struct call_slot slots[PCOMI_MAX_CALLS_IN_FLIGHT];
    unsigned out_in_flight;
    atomic_uint out_waiting; /* slots whose answer has not come: offer_role looks for a waiter only then */
    uint32_t seq;
    /* incoming calls */
    unsigned in_flight;
    /* releases waiting for the housekeeper */
    struct pcomi_release_entry *releases;
    size_t nreleases, capreleases;
    /* keepalive: messages received (counted, not timed, on the hot path); the housekeeper notes when the count
     * last moved (its own fields); PINGs in ms of CLOCK_MONOTONIC */
    atomic_ulong received;
    unsigned long hk_received;
    long long hk_heard;
    atomic_llong last_ping;
    atomic_uint sending; /* sends in progress: the housekeeper does not queue behind them */
    pthread_cond_t drained; /* in_flight fell to 0 */
    /* The read role (under lock): one thread at a time receives. A caller waiting for its answer, or a worker that
     * just answered, takes it and reads for itself, so no thread hands a message to another on the way; the
     * channel's own reader thread stands aside while they are at it (the lease) and reads when they are not. */
    bool reading;
    long long lease_until;   /* us, CLOCK_MONOTONIC: until then the reader thread leaves the role to others */
    pthread_cond_t role_free; /* the reader thread's wait (CLOCK_MONOTONIC) */
    void (*on_close)(void *arg, struct pcomi_channel *ch);
    void *on_close_arg;
    struct pcomi_channel *next; /* in all_channels */
};

static pthread_mutex_t channels_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pcomi_channel *all_channels;
static struct pcom_client_limits client_limits; /* under channels_lock; zero fields mean the default */
static unsigned keepalive_interval_ms = 5000, keepalive_timeout_ms = 20000; /* under channels_lock */

static void housekeeper_kick(void);
static void housekeeper_start(void);

/* A deadline for the condition variables that wait on the default (realtime) clock. */
static struct timespec realtime_after_ms(long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

/* How long a thread that read for itself keeps the role from the reader thread, and how long a worker that
 * answered waits for the connection's next request before going back to its pool. */
#define LEASE_US 1000
#define LINGER_US PCOMI_QUICK_WAIT_US

HRESULT pcom_set_client_limits(const struct pcom_client_limits *limits)
{
    if (!limits)
        return E_POINTER;
    if (limits->max_calls_in_flight > PCOMI_MAX_CALLS_IN_FLIGHT || limits->max_depth > 1024 ||
        limits->max_message > (size_t)UINT32_MAX)
        return E_INVALIDARG;
    pthread_mutex_lock(&channels_lock);
    client_limits = *limits;
    pthread_mutex_unlock(&channels_lock);
    return S_OK;
}

HRESULT pcom_set_keepalive(unsigned interval_ms, unsigned timeout_ms)
{
    if (interval_ms < 10 || timeout_ms <= interval_ms)
        return E_INVALIDARG;
    pthread_mutex_lock(&channels_lock);
    keepalive_interval_ms = interval_ms;
    keepalive_timeout_ms = timeout_ms;
    pthread_mutex_unlock(&channels_lock);
    housekeeper_kick();
    return S_OK;
}

const struct pcomi_peer *pcomi_channel_peer(const struct pcomi_channel *ch)
{
    return &ch->peer;
}

bool pcomi_channel_dead(const struct pcomi_channel *ch)
{
    return atomic_load(&ch->dead);
}

static void channel_free(struct pcomi_channel *ch)
{
    pthread_mutex_lock(&channels_lock);
    for (struct pcomi_channel **pp = &all_channels; *pp; pp = &(*pp)->next)
        if (*pp == ch) {
            *pp = ch->next;
            break;
        }
    pthread_mutex_unlock(&channels_lock);
    pcomi_conn_close(ch->conn);
    free(ch->releases);
    pthread_mutex_destroy(&ch->lock);
    pthread_cond_destroy(&ch->greeted);
    pthread_cond_destroy(&ch->drained);
    pthread_cond_destroy(&ch->role_free);
    free(ch);
}

static void channel_unref(struct pcomi_channel *ch)
{
    if (atomic_fetch_sub(&ch->refs, 1) == 1)
        channel_free(ch);
}

/* A memory reference, unless the channel is already being freed. Under channels_lock. */
static bool channel_try_ref(struct pcomi_channel *ch)
{
    unsigned r = atomic_load(&ch->refs);
    while (r && !atomic_compare_exchange_weak(&ch->refs, &r, r + 1))
        ;
    return r != 0;
}

void pcomi_channel_use(struct pcomi_channel *ch)
{
    atomic_fetch_add(&ch->refs, 1);
    pthread_mutex_lock(&ch->lock);
    ch->uses++;
    pthread_mutex_unlock(&ch->lock);
}

void pcomi_channel_shutdown(struct pcomi_channel *ch)
{
    atomic_store(&ch->dead, true);
    pcomi_conn_shutdown(ch->conn);
    pthread_mutex_lock(&ch->lock);
    pthread_cond_broadcast(&ch->role_free);
    pthread_mutex_unlock(&ch->lock);
}

/* After a use was given back; last: it was the last one. */
static void channel_put_last(struct pcomi_channel *ch, bool last)
{
    /* an outbound connection nobody uses (no proxy, no call, no object the peer holds) is closed */
    if (last && ch->outbound)
        pcomi_channel_shutdown(ch);
    channel_unref(ch);
}

void pcomi_channel_put(struct pcomi_channel *ch)
{
    pthread_mutex_lock(&ch->lock);
    bool last = --ch->uses == 0;
    pthread_mutex_unlock(&ch->lock);
    channel_put_last(ch, last);
}

/* A send that fails (the peer went, or stopped reading past the send timeout) ends the channel. */
static int channel_send(struct pcomi_channel *ch, const struct pcomi_msg_header *h, const struct iovec *iov,
                        int niov)
{
    atomic_fetch_add_explicit(&ch->sending, 1, memory_order_relaxed);
    int err = pcomi_conn_send(ch->conn, h, iov, niov);
    atomic_fetch_sub_explicit(&ch->sending, 1, memory_order_relaxed);
    if (err < 0)
        pcomi_channel_shutdown(ch);
    return err;
}

static void send_fault(struct pcomi_channel *ch, const struct pcomi_msg_header *req, HRESULT hr, const char *msg)
{
    if (req->flags & PCOMI_FLAG_ONEWAY)
        return;
    struct pcomi_msg_header h = {0};
    h.type = PCOMI_MSG_FAULT;
    h.call_id = req->call_id;
    uint32_t n = (uint32_t)strlen(msg);
    uint8_t head[12] = {0};
    memcpy(head, &hr, 4);
    memcpy(head + 8, &n, 4);
    struct iovec iov[2] = {{head, 12}, {(void *)msg, n}};
    channel_send(ch, &h, iov, n ? 2 : 1);
}

/* HELLO: exporter id (16), endpoint count (4), then the endpoints as in an object reference. */
static int send_hello(struct pcomi_channel *ch)
{
    struct pcomi_peer me;
    pcomi_exporter_endpoints(&me);
    struct pcomi_wbuf body = {0};
    uint8_t *fixed = pcomi_wbuf_append(&body, 20, 4);
    int rc = -ENOMEM;
    if (fixed) {
        uint32_t count = me.nendpoints;
        memcpy(fixed, pcomi_exporter_id()->b, 16);
        memcpy(fixed + 16, &count, 4);
    }
    if (fixed && SUCCEEDED(pcomi_endpoints_write(&me, &body))) {
        struct pcomi_msg_header h = {0};
        h.type = PCOMI_MSG_HELLO;
        struct iovec iov = {body.data, body.len};
        rc = channel_send(ch, &h, &iov, 1);
    }
    pcomi_wbuf_free(&body);
    return rc;
}

bool pcomi_hello_parse(const uint8_t *b, size_t len, struct pcomi_peer *out)
{
    struct pcomi_peer p;
    memset(&p, 0, sizeof(p));
    if (len < 20)
        return false;
    memcpy(p.exporter.b, b, 16);
    uint32_t count;
    memcpy(&count, b + 16, 4);
    if (count > PCOMI_MAX_ENDPOINTS || pcomi_oid_is_zero(&p.exporter) || !pcomi_endpoints_parse(b, len, 20, count, &p))
        return false;
    *out = p;
    return true;
}

/* The peer's HELLO; only the first counts, and a malformed one ends the channel. */
static bool take_hello(struct pcomi_channel *ch, const uint8_t *b, size_t len)
{
    struct pcomi_peer p;
    if (!pcomi_hello_parse(b, len, &p))
        return false;
    pthread_mutex_lock(&ch->lock);
    bool first = !ch->hello_seen;
    if (first) {
        ch->peer = p;
        ch->hello_seen = true;
        pthread_cond_broadcast(&ch->greeted);
    }
    pthread_mutex_unlock(&ch->lock);
    /* a server answers a client's greeting with its own */
    if (first && !ch->outbound)
        send_hello(ch);
    return true;
}

/* For keepalive: only whether the count moved matters, not its order with anything else. */
static void note_received(struct pcomi_channel *ch)
{
    atomic_fetch_add_explicit(&ch->received, 1, memory_order_relaxed);
}

/* A call's wait is over (answered, or the channel died): under s->w->mu unless the waiting thread itself ends it.
 * False when it was over already. */
static bool slot_finish(struct pcomi_channel *ch, struct call_slot *s)
{
    if (atomic_exchange(&s->done, true))
        return false;
    atomic_fetch_sub(&ch->out_waiting, 1);
    return true;
}

/* Every call waiting on the channel fails, and none starts. */
static void fail_all(struct pcomi_channel *ch)
{
    pthread_mutex_lock(&ch->lock);
    atomic_store(&ch->dead, true);
    for (unsigned i = 0; i < PCOMI_MAX_CALLS_IN_FLIGHT; i++) {
        struct call_slot *s = &ch->slots[i];
        if (!s->call_id)
            continue;
        if (atomic_load(&s->decoding))
            continue; /* its decoder finishes it: its reads fail now */
        pthread_mutex_lock(&s->w->mu);
        if (slot_finish(ch, s))
            pthread_cond_broadcast(&s->w->cv);
        pthread_mutex_unlock(&s->w->mu);
    }
    pthread_cond_broadcast(&ch->greeted);
    pthread_mutex_unlock(&ch->lock);
}

static void deliver_answer(struct pcomi_channel *ch, const struct pcomi_msg_header *h, void *body)
{
    struct call_slot *s = &ch->slots[h->call_id & (PCOMI_MAX_CALLS_IN_FLIGHT - 1)];
    pthread_mutex_lock(&ch->lock);
    if (s->call_id == h->call_id && h->call_id) {
        pthread_mutex_lock(&s->w->mu);
        if (slot_finish(ch, s)) {
            s->type = h->type;
            s->body = body;
            s->len = h->body_len;
            body = NULL;
            pthread_cond_broadcast(&s->w->cv);
        }
        pthread_mutex_unlock(&s->w->mu);
        /* a caller answered is likely to call again: the reader thread leaves it the connection for a while */
        ch->lease_until = pcomi_now_us() + LEASE_US;
    }
    pthread_mutex_unlock(&ch->lock);
    free(body); /* an answer nobody waits for: the caller gave up, or the peer is confused */
}

/* ---- pools ---- */

struct pcomi_pool {
    pthread_mutex_t lock;
    pthread_cond_t work, idle;
    struct job *head, *tail; /* under lock */
    /* Atomic, so a worker running calls one after another needs no lock: calls queued or running; queued ones
     * (written under lock); set once drain begins. */
    atomic_uint busy, queued;
    atomic_bool stopping;
    pthread_t *threads;
    unsigned nthreads;
};

struct run_ctx {
    struct pcomi_arena arena;
    struct pcomi_wbuf out;
};

static void run_job(struct run_ctx *rc, struct job *j);
static void read_one(struct pcomi_channel *ch, struct job *inline_job, struct call_slot *mine);
static bool take_role(struct pcomi_channel *ch);
static void release_role(struct pcomi_channel *ch, bool give_up);

static void pool_done(struct pcomi_pool *p)
{
    if (atomic_fetch_sub(&p->busy, 1) == 1) {
        /* taking the lock first: a drain that saw busy > 0 is inside its wait by now */
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->idle);
        pthread_mutex_unlock(&p->lock);
    }
}

/* A request the calling worker runs itself, counted like one it took from the queue. */
static bool pool_take_inline(struct pcomi_pool *p)
{
    /* counted first, then checked: a drain either sees the count or is seen here */
    atomic_fetch_add(&p->busy, 1);
    if (!atomic_load(&p->stopping))
        return true;
    pool_done(p);
    return false;
}

/* After answering on ch, the worker waits a moment for the connection's next request and runs it itself, as
 * long as nothing waits in its pool: a client calling in a loop is served by one thread, with no hand-off. */
static void linger(struct pcomi_pool *p, struct run_ctx *rc, struct pcomi_channel *ch)
{
    for (;;) {
        bool idle = !atomic_load_explicit(&p->queued, memory_order_relaxed) && !atomic_load(&p->stopping);
        if (!idle || atomic_load(&ch->dead) || !take_role(ch))
            return;
        int r = pcomi_conn_wait_readable(ch->conn, LINGER_US);
        if (r <= 0) {
            release_role(ch, true);
            return;
        }
        struct job j = {0};
        read_one(ch, &j, NULL);
        if (j.ch) {
            run_job(rc, &j);
            pool_done(p);
        }
    }
}

static void *pool_main(void *arg)
{
    struct pcomi_pool *p = arg;
    struct run_ctx rc = {0};
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->work, &p->lock);
        struct job *j = p->head;
        if (j) {
            p->head = j->next;
            if (!p->head)
                p->tail = NULL;
            atomic_fetch_sub(&p->queued, 1);
        }
        pthread_mutex_unlock(&p->lock);
        if (!j)
            break;
        struct pcomi_channel *ch = j->ch;
        pcomi_channel_use(ch);
        run_job(&rc, j);
        pool_done(p);
        linger(p, &rc, ch);
        pcomi_channel_put(ch);
    }
    pcomi_arena_free(&rc.arena);
    pcomi_wbuf_free(&rc.out);
    return NULL;
}

HRESULT pcomi_pool_create(unsigned workers, struct pcomi_pool **out)
{
    struct pcomi_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return E_OUTOFMEMORY;
    p->threads = calloc(workers, sizeof(*p->threads));
    if (!p->threads) {
        free(p);
        return E_OUTOFMEMORY;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->idle, NULL);
    for (unsigned i = 0; i < workers; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
            pcomi_pool_drain(p);
            pcomi_pool_destroy(p);
            return E_OUTOFMEMORY;
        }
        p->nthreads++;
    }
    *out = p;
    return S_OK;
}

static bool pool_submit(struct pcomi_pool *p, struct job *j)
{
    pthread_mutex_lock(&p->lock);
    if (atomic_load(&p->stopping)) {
        pthread_mutex_unlock(&p->lock);
        return false;
    }
    atomic_fetch_add(&p->busy, 1);
    atomic_fetch_add(&p->queued, 1);
    j->next = NULL;
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    return true;
}

void pcomi_pool_drain(struct pcomi_pool *p)
{
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stopping, true);
    pthread_cond_broadcast(&p->work);
    while (atomic_load(&p->busy) && p->nthreads)
        pthread_cond_wait(&p->idle, &p->lock);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
}

void pcomi_pool_destroy(struct pcomi_pool *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->idle);
    free(p->threads);
    free(p);
}

/* Calls into objects a process exported through its own outbound connections (callbacks) run here. */
#define DEFAULT_POOL_WORKERS 4
static struct pcomi_pool *default_pool;
static pthread_once_t default_pool_once = PTHREAD_ONCE_INIT;

static void make_default_pool(void)
{
    if (FAILED(pcomi_pool_create(DEFAULT_POOL_WORKERS, &default_pool)))
        default_pool = NULL;
}

/* ---- incoming calls ---- */

static void job_done(struct job *j)
{
    struct pcomi_channel *ch = j->ch;
    free(j->body);
    if (j->heap)
        free(j);
    pthread_mutex_lock(&ch->lock);
    if (--ch->in_flight == 0)
        pthread_cond_broadcast(&ch->drained);
    bool last = --ch->uses == 0;
    pthread_mutex_unlock(&ch->lock);
    channel_put_last(ch, last);
}

static void run_call(struct run_ctx *rc, struct pcomi_channel *ch, const struct pcomi_msg_header *h, void *body)
{
    const struct pcom_method *m = NULL;
    void *object = NULL;
    IUnknown *hold = NULL;
    const char *iface_name = "system";
    HRESULT hr;
    static const uint8_t zero[16];

    if (memcmp(h->object_id, zero, 16) == 0) {
        if (!pcom_guid_equal((const IID *)h->iid, &pcomi_iid_system) || h->method < PCOMI_SYS_CREATE_INSTANCE ||
            h->method >= PCOMI_SYS_METHODS_) {
            send_fault(ch, h, RPC_E_INVALID_HEADER, "no such method of the system object");
            return;
        }
        m = &pcomi_sys_methods[h->method];
        object = ch;
    } else {
        const struct pcom_interface_info *info;
        hr = pcomi_export_find(ch, h->object_id, (const IID *)h->iid, h->method, &object, &info);
        if (FAILED(hr)) {
            send_fault(ch, h, hr, pcom_error_message());
            return;
        }
        hold = object;
        m = &info->methods[h->method];
        iface_name = info->name;
    }

    void *frame = pcomi_arena_alloc(&rc->arena, m->frame_size ? m->frame_size : 1);
    if (!frame) {
        send_fault(ch, h, E_OUTOFMEMORY, "out of memory");
        goto out;
    }
    hr = pcomi_decode_in(m, body, h->body_len, frame, &rc->arena, &ch->lim);
    if (FAILED(hr)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "malformed arguments for %s::%s", iface_name, m->name);
        send_fault(ch, h, hr == E_OUTOFMEMORY ? hr : RPC_E_INVALID_DATA, msg);
        goto out;
    }
    pcom_set_error_message(NULL);
    hr = m->invoke(object, frame);
    pcomi_release_in(m, frame);
    if (h->flags & PCOMI_FLAG_ONEWAY) {
        pcomi_free_out(m, frame);
        goto out;
    }

    /* the HRESULT goes in last: encoding the results may move the buffer */
    pcomi_wbuf_reset(&rc->out);
    rc->out.gather = PCOMI_GATHER_MIN;
    HRESULT ehr = pcomi_wbuf_append(&rc->out, 8, 8) ? S_OK : E_OUTOFMEMORY;
    struct pcomi_objref_journal journal;
    pcomi_journal_start(&journal);
    if (SUCCEEDED(ehr) && SUCCEEDED(hr))
        ehr = pcomi_encode(m, frame, &rc->out, PCOM_PF_OUT, &ch->objrefs);
    pcomi_journal_stop(&journal);
    if (FAILED(ehr))
        pcomi_journal_undo(ch, &journal); /* results not sent: nothing in them is the peer's */
    else
        pcomi_journal_free(&journal);
    if (FAILED(ehr)) {
        pcomi_free_out(m, frame);
        char msg[160];
        snprintf(msg, sizeof(msg), "the results of %s::%s could not be marshaled", iface_name, m->name);
        send_fault(ch, h, ehr, msg);
        goto out;
    }
    if (FAILED(hr) && pcom_error_message()[0]) {
        pcomi_free_out(m, frame);
        send_fault(ch, h, hr, pcom_error_message());
        goto out;
    }
    memcpy(rc->out.data, &hr, 4);
    struct pcomi_msg_header rh = {0};
    rh.type = PCOMI_MSG_RESPONSE;
    rh.call_id = h->call_id;
    struct iovec stack[8], *iov = stack;
    void *heap = NULL;
    int niov = 1;
    if (FAILED(hr)) {
        stack[0] = (struct iovec){rc->out.data, 8}; /* a failed call carries only its HRESULT */
    } else if (!(iov = pcomi_wbuf_iov(&rc->out, stack, 8, &niov, &heap))) {
        pcomi_free_out(m, frame);
        send_fault(ch, h, E_OUTOFMEMORY, "out of memory");
        goto out;
    }
    channel_send(ch, &rh, iov, niov);
    free(heap);
    /* only now: the results were sent from the object's own buffers */
    pcomi_free_out(m, frame);
out:
    if (hold)
        IUnknown_Release(hold);
}

/* Runs one incoming call on this thread, in the call's logical thread. */
static void run_job(struct run_ctx *rc, struct job *j)
{
    struct waiter *w = this_waiter();
    uint8_t saved[CAUSALITY_BYTES];
    static const uint8_t none[CAUSALITY_BYTES];
    /* A waiting thread runs only calls of its own logical thread, and waiter_take reads its cur meanwhile: the
     * id is written only when it changes, so a waiting thread's is never written. */
    if (w) {
        memcpy(saved, w->cur, CAUSALITY_BYTES);
        if (memcmp(j->h.causality, none, CAUSALITY_BYTES) == 0)
            random_causality(w->cur); /* a peer that names no logical thread starts a new one */
        else if (memcmp(j->h.causality, w->cur, CAUSALITY_BYTES) != 0)
            memcpy(w->cur, j->h.causality, CAUSALITY_BYTES);
    }
    run_call(rc, j->ch, &j->h, j->body);
    pcomi_arena_reset(&rc->arena);
    if (w && memcmp(w->cur, saved, CAUSALITY_BYTES) != 0)
        memcpy(w->cur, saved, CAUSALITY_BYTES);
    job_done(j);
}

static bool pool_take_inline(struct pcomi_pool *p);

/* A job a pool or a waiting thread will run: on the heap. NULL when out of memory. */
static struct job *job_to_heap(const struct job *j)
{
    struct job *hj = malloc(sizeof(*hj));
    if (hj) {
        *hj = *j;
        hj->heap = true;
    }
    return hj;
}

static void dispatch(struct pcomi_channel *ch, const struct pcomi_msg_header *h, void *body, struct job *inline_job)
{
    /* the call counts, and holds a use of the channel, until job_done */
    pthread_mutex_lock(&ch->lock);
    bool full = ch->in_flight >= ch->max_calls;
    if (!full) {
        ch->in_flight++;
        ch->uses++;
        atomic_fetch_add(&ch->refs, 1);
    }
    pthread_mutex_unlock(&ch->lock);
    if (full) {
        free(body);
        send_fault(ch, h, RPC_E_CALL_REJECTED, "too many calls in flight on this connection");
        return;
    }
    struct job local = {.ch = ch, .h = *h, .body = body}, *j = NULL;
    if (atomic_load(&nwaiters)) {
        /* perhaps a call of a logical thread waiting here: it is handed over, so it needs its own memory */
        if (!(j = job_to_heap(&local)))
            goto no_memory;
        if (waiter_take(j))
            return;
    }
    if (inline_job && ch->pool && pool_take_inline(ch->pool)) {
        /* the worker that read it runs it: no memory of its own needed */
        *inline_job = local;
        free(j);
        return;
    }
    if (!j && !(j = job_to_heap(&local)))
        goto no_memory;
    /* the worker that answers will read the next request itself: the reader thread stands aside meanwhile */
    pthread_mutex_lock(&ch->lock);
    ch->lease_until = pcomi_now_us() + LEASE_US;
    pthread_mutex_unlock(&ch->lock);
    if (!ch->pool || !pool_submit(ch->pool, j)) {
        send_fault(ch, h, RPC_E_DISCONNECTED, ch->pool ? "the server is stopping" : "no threads for calls");
        job_done(j);
    }
    return;
no_memory:
    send_fault(ch, h, E_OUTOFMEMORY, "out of memory");
    job_done(&local);
}

/* ---- reading ---- */

/* One received message: answered, delivered or dispatched. inline_job (NULL: none): storage for a request that
 * would go to the channel's pool, for the calling worker to run itself (its ch is set when it does). False when
 * the channel must end. */
static bool handle_message(struct pcomi_channel *ch, const struct pcomi_msg_header *h, void *body,
                           struct job *inline_job)
{
    note_received(ch);
    switch (h->type) {
    case PCOMI_MSG_PING: {
        struct pcomi_msg_header pong = *h;
        pong.type = PCOMI_MSG_PONG;
        channel_send(ch, &pong, NULL, 0);
        free(body);
        return true;
    }
    case PCOMI_MSG_HELLO: {
        bool ok = take_hello(ch, body, h->body_len);
        free(body);
        return ok;
    }
    case PCOMI_MSG_RESPONSE:
    case PCOMI_MSG_FAULT:
        deliver_answer(ch, h, body);
        return true;
    case PCOMI_MSG_REQUEST:
        dispatch(ch, h, body, inline_job);
        return true;
    case PCOMI_MSG_CLOSE:
        free(body);
        return false;
    default:
        free(body); /* PONG: its arrival was the point */
        return true;
    }
}

/* Lets one caller waiting on the channel know the role is free, so it reads for itself rather than wait for
 * someone to hand it its answer. Under ch->lock. */
static void offer_role(struct pcomi_channel *ch)
{
    if (!atomic_load_explicit(&ch->out_waiting, memory_order_relaxed))
        return;
    for (unsigned i = 0; i < PCOMI_MAX_CALLS_IN_FLIGHT; i++) {
        struct call_slot *s = &ch->slots[i];
        if (!s->call_id)
            continue;
        pthread_mutex_lock(&s->w->mu);
        bool pending = !atomic_load(&s->done);
        if (pending) {
            atomic_store(&s->w->may_read, true);
            pthread_cond_signal(&s->w->cv);
        }
        pthread_mutex_unlock(&s->w->mu);
        if (pending)
            return;
    }
}

/* Takes the read role if nobody has it. */
static bool take_role(struct pcomi_channel *ch)
{
    pthread_mutex_lock(&ch->lock);
    /* the lease was set when the call was registered or the request dispatched */
    bool take = !ch->reading && !atomic_load(&ch->dead);
    if (take)
        ch->reading = true;
    pthread_mutex_unlock(&ch->lock);
    return take;
}

/* Gives the role back. give_up: the thread will not read again soon, so the reader thread resumes now. */
static void release_role(struct pcomi_channel *ch, bool give_up)
{
    pthread_mutex_lock(&ch->lock);
    ch->reading = false;
    if (give_up) {
        ch->lease_until = 0;
        pthread_cond_signal(&ch->role_free);
    }
    offer_role(ch);
    pthread_mutex_unlock(&ch->lock);
}

static int body_source_read(void *ctx, void *dst, size_t n)
{
    return pcomi_conn_recv_body(ctx, dst, n);
}

/* The body of a large RESPONSE h, decoded into s's caller as it is read. *hr: the server's result; the return
 * value: the decode's (RPC_E_DISCONNECTED when the connection broke, *err saying how). */
static HRESULT decode_answer(struct pcomi_channel *ch, const struct pcomi_msg_header *h, struct call_slot *s,
                             HRESULT *hr, int *err)
{
    /* RESPONSE starts with the HRESULT and 4 bytes of padding */
    uint8_t head[8];
    *hr = S_OK;
    pcom_set_error_message(NULL); /* what the decode says, or nothing: not an earlier call's words */
    if ((*err = pcomi_conn_recv_body(ch->conn, head, sizeof(head))) < 0) {
        pcom_set_error_message("the connection ended inside a reply");
        return RPC_E_DISCONNECTED;
    }
    memcpy(hr, head, 4);
    size_t rest = h->body_len - sizeof(head);
    if (FAILED(*hr)) {
        /* a failure carries no results: read and drop whatever came with it, but look at it only once it came
         * whole */
        uint8_t sink[4096];
        for (size_t k; rest && *err == 0; rest -= k) {
            k = rest < sizeof(sink) ? rest : sizeof(sink);
            *err = pcomi_conn_recv_body(ch->conn, sink, k);
        }
        if (*err < 0) {
            pcom_set_error_message("the connection ended inside a reply");
            return RPC_E_DISCONNECTED;
        }
        return S_OK;
    }
    struct pcomi_body_source src = {.read = body_source_read, .ctx = ch->conn};
    return pcomi_decode_out_from(s->m, &src, rest, s->frame, &ch->lim, err);
}

/* An answer arriving: the thread reading it takes it without a hand-off when it is its own (mine, the call it
 * waits for), and decodes it as it is read when it is large, into whichever caller waits for it, so large arrays
 * land in the caller's memory without a copy. Not when the results can carry interface pointers: unmarshaling one
 * may call out while this thread holds the connection. 1 when h was taken, 0 when it is something else (its body
 * unread), or a negative errno (the connection broke). */
static int take_answer(struct pcomi_channel *ch, const struct pcomi_msg_header *h, struct call_slot *mine)
{
    if (!h->call_id || (h->type != PCOMI_MSG_RESPONSE && h->type != PCOMI_MSG_FAULT))
        return 0;
    /* mine->call_id is written only by this thread */
    bool own = mine && h->call_id == mine->call_id;
    bool large = h->type == PCOMI_MSG_RESPONSE && h->body_len >= DECODE_IN_PLACE_MIN;
    struct call_slot *s = mine;
    if (own) {
        large = large && !pcomi_results_have_itf(mine->m);
    } else {
        if (!large)
            return 0;
        s = &ch->slots[h->call_id & (PCOMI_MAX_CALLS_IN_FLIGHT - 1)];
        pthread_mutex_lock(&ch->lock);
        bool claim = s->call_id == h->call_id && !atomic_load(&s->done) && !pcomi_results_have_itf(s->m);
        if (claim)
            atomic_store(&s->decoding, true);
        pthread_mutex_unlock(&ch->lock);
        if (!claim)
            return 0;
    }
    note_received(ch);
    void *body = NULL;
    HRESULT hr = S_OK, dhr = S_OK;
    int err;
    if (large)
        dhr = decode_answer(ch, h, s, &hr, &err);
    else if ((err = pcomi_conn_recv_rest(ch->conn, h, &body)) < 0)
        return err; /* its own: the end of the channel fails it */
    if (own) {
        /* this thread is the waiter: it ends its own wait and reads the fields itself, no one to wake */
        if (slot_finish(ch, mine) || large) {
            /* decoded results are in the caller's memory: they count even if the channel died meanwhile */
            mine->type = h->type;
            mine->body = body;
            mine->len = h->body_len;
            mine->decoded = large;
            mine->hr = hr;
            mine->dhr = dhr;
            body = NULL;
        }
        free(body);
        return err < 0 ? err : 1;
    }
    char *msg = FAILED(dhr) && pcom_error_message()[0] ? strdup(pcom_error_message()) : NULL;
    pthread_mutex_lock(&s->w->mu);
    s->type = h->type;
    s->body = NULL;
    s->len = h->body_len;
    s->decoded = true;
    s->hr = hr;
    s->dhr = dhr;
    s->msg = msg;
    atomic_store(&s->decoding, false);
    slot_finish(ch, s); /* nobody else could: the channel's end leaves a slot being decoded to its decoder */
    pthread_cond_broadcast(&s->w->cv);
    pthread_mutex_unlock(&s->w->mu);
    return err < 0 ? err : 1;
}

/* Receives and handles one message with the role held; the role is given back first. mine: the call this thread
 * waits for, NULL for a thread that waits for none. */
static void read_one(struct pcomi_channel *ch, struct job *inline_job, struct call_slot *mine)
{
    struct pcomi_msg_header h;
    void *body = NULL;
    int err = pcomi_conn_recv_head(ch->conn, &h, ch->lim.max_message);
    if (err == 0) {
        err = take_answer(ch, &h, mine);
        if (err == 1) {
            release_role(ch, false);
            return;
        }
        if (err == 0)
            err = pcomi_conn_recv_rest(ch->conn, &h, &body);
    }
    if (err < 0) {
        /* the end of the connection: the reader thread tears it down */
        pcomi_channel_shutdown(ch);
        release_role(ch, true);
        return;
    }
    release_role(ch, false);
    /* the role may be another thread's by now: not given back twice; the shutdown wakes the reader thread */
    if (!handle_message(ch, &h, body, inline_job))
        pcomi_channel_shutdown(ch);
}

static void *reader_main(void *arg)
{
    struct pcomi_channel *ch = arg;
    for (;;) {
        pthread_mutex_lock(&ch->lock);
        /* callers and workers reading for themselves have the connection; wait until they leave it */
        while (!atomic_load(&ch->dead) && (ch->reading || pcomi_now_us() < ch->lease_until)) {
            long long until = ch->lease_until > pcomi_now_us() ? ch->lease_until : pcomi_now_us() + LEASE_US;
            struct timespec ts = {(time_t)(until / 1000000), (long)(until % 1000000) * 1000};
            pthread_cond_timedwait(&ch->role_free, &ch->lock, &ts);
        }
        bool dead = atomic_load(&ch->dead);
        if (!dead)
            ch->reading = true;
        pthread_mutex_unlock(&ch->lock);
        if (dead)
            break;
        struct pcomi_msg_header h;
        void *body = NULL;
        int err = pcomi_conn_recv_head(ch->conn, &h, ch->lim.max_message);
        int taken = err == 0 ? take_answer(ch, &h, NULL) : 0;
        if (taken < 0)
            err = taken;
        else if (err == 0 && !taken)
            err = pcomi_conn_recv_rest(ch->conn, &h, &body);
        if (err == -EPROTONOSUPPORT) {
            /* a peer of another protocol version is told so before the connection closes */
            struct pcomi_msg_header none = {0};
            send_fault(ch, &none, RPC_E_VERSION_MISMATCH, "this peer speaks pcom wire version 1");
        }
        pthread_mutex_lock(&ch->lock);
        ch->reading = false;
        offer_role(ch);
        pthread_mutex_unlock(&ch->lock);
        if (err < 0 || (!taken && !handle_message(ch, &h, body, NULL)))
            break;
    }
    /* a protocol error or a CLOSE ends the stream here too, so the peer sees us go and releases what it held */
    pcomi_channel_shutdown(ch);
    fail_all(ch);
    pcomi_exports_drop_channel(ch);
    /* calls it brought in are finished (or refused) before its owner hears it ended: a server's pool and
     * objects must outlive every call that reached them */
    pthread_mutex_lock(&ch->lock);
    while (ch->in_flight)
        pthread_cond_wait(&ch->drained, &ch->lock);
    pthread_mutex_unlock(&ch->lock);
    if (ch->on_close)
        ch->on_close(ch->on_close_arg, ch);
    channel_unref(ch);
    return NULL;
}

static HRESULT channel_new(struct pcomi_conn *conn, bool outbound, struct pcomi_channel **out)
{
    struct pcomi_channel *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return E_OUTOFMEMORY;
    ch->conn = conn;
    ch->outbound = outbound;
    pthread_mutex_init(&ch->lock, NULL);
    pthread_cond_init(&ch->greeted, NULL);
    pthread_cond_init(&ch->drained, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ch->role_free, &ca);
    pthread_condattr_destroy(&ca);
    ch->objrefs.marshal = pcomi_objref_marshal;
    ch->objrefs.unmarshal = pcomi_objref_unmarshal;
    ch->objrefs.ctx = ch;
    ch->hk_heard = pcomi_now_ms();
    atomic_init(&ch->last_ping, 0);
    *out = ch;
    return S_OK;
}

static HRESULT channel_start(struct pcomi_channel *ch)
{
    /* one memory reference for the reader, one use for whoever started the channel */
    atomic_init(&ch->refs, 2);
    ch->uses = 1;
    pthread_mutex_lock(&channels_lock);
    ch->next = all_channels;
    all_channels = ch;
    pthread_mutex_unlock(&channels_lock);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, reader_main, ch);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        atomic_store(&ch->refs, 1);
        channel_unref(ch);
        return E_OUTOFMEMORY;
    }
    housekeeper_start();
    return S_OK;
}

HRESULT pcomi_channel_accept(struct pcomi_conn *conn, const struct pcomi_server_conn_opts *opts,
                             struct pcomi_channel **out)
{
    struct pcomi_channel *ch;
    HRESULT hr = channel_new(conn, false, &ch);
    if (FAILED(hr)) {
        pcomi_conn_close(conn);
        return hr;
    }
    ch->pool = opts->pool;
    ch->lim = opts->lim;
    ch->lim.objrefs = &ch->objrefs;
    ch->max_calls = opts->max_calls;
    ch->on_close = opts->on_close;
    ch->on_close_arg = opts->arg;
    pcomi_conn_peer(conn, ch->name, sizeof(ch->name));
    pcomi_conn_set_send_timeout(conn, opts->send_timeout_ms);
    if (FAILED(hr = channel_start(ch)))
        return hr;
    /* the caller's use is the server's: the channel lives until the peer or the server ends it */
    *out = ch;
    return S_OK;
}

/* An outbound channel to url, greeted; not yet shared. */
static HRESULT channel_connect(const char *url, struct pcomi_channel **out)
{
    pthread_mutex_lock(&channels_lock);
    struct pcom_client_limits l = client_limits;
    unsigned greet_ms = keepalive_timeout_ms;
    pthread_mutex_unlock(&channels_lock);
    pthread_once(&default_pool_once, make_default_pool);
    struct pcomi_conn *conn;
    int err = pcomi_connect(url, &conn);
    if (err < 0) {
        pcom_set_error_message("cannot connect to %s: %s", url, strerror(-err));
        return err == -EINVAL || err == -EPROTONOSUPPORT || err == -ENAMETOOLONG ? E_INVALIDARG
                                                                               : RPC_E_DISCONNECTED;
    }
    struct pcomi_channel *ch;
    HRESULT hr = channel_new(conn, true, &ch);
    if (FAILED(hr)) {
        pcomi_conn_close(conn);
        return hr;
    }
    snprintf(ch->name, sizeof(ch->name), "%s", url);
    ch->lim.max_message = l.max_message ? l.max_message : PCOMI_DEFAULT_MAX_MESSAGE;
    ch->lim.max_depth = l.max_depth ? l.max_depth : PCOMI_DEFAULT_MAX_DEPTH;
    ch->lim.objrefs = &ch->objrefs;
    ch->max_calls = l.max_calls_in_flight ? l.max_calls_in_flight : PCOMI_MAX_CALLS_IN_FLIGHT;
    ch->pool = default_pool;
    pcomi_conn_set_send_timeout(conn, greet_ms);
    if (FAILED(hr = channel_start(ch)))
        return hr;
    /* greet, and wait for the answer: who the peer is decides how object references to it travel */
    if (send_hello(ch) < 0) {
        hr = RPC_E_DISCONNECTED;
    } else {
        struct timespec until = realtime_after_ms(greet_ms);
        pthread_mutex_lock(&ch->lock);
        while (!ch->hello_seen && !atomic_load(&ch->dead))
            if (pthread_cond_timedwait(&ch->greeted, &ch->lock, &until) == ETIMEDOUT)
                break;
        if (!ch->hello_seen)
            hr = RPC_E_DISCONNECTED;
        pthread_mutex_unlock(&ch->lock);
    }
    if (FAILED(hr)) {
        pcom_set_error_message("%s did not answer as a pcom peer", url);
        pcomi_channel_put(ch);
        return hr;
    }
    *out = ch;
    return S_OK;
}

/* A use of the open outbound channel to url. Under channels_lock, which keeps every listed channel's memory: a
 * channel leaves the list before it is freed, and a channel with uses has references. */
/* An open connection this process made: to url, or (url NULL) to a server it started itself over a pipe whose
 * exporter id is exporter. Under channels_lock. */
static struct pcomi_channel *find_outbound(const char *url, const struct pcomi_channel *skip,
                                           const pcomi_oid *exporter)
{
    for (struct pcomi_channel *c = all_channels; c; c = c->next) {
        if (c == skip || !c->outbound || atomic_load(&c->dead))
            continue;
        if (url ? strcmp(c->name, url) != 0 : strncasecmp(c->name, "pipe:", 5) != 0)
            continue;
        pthread_mutex_lock(&c->lock);
        /* the peer's id is known once it greeted */
        bool open = c->uses > 0 && (url || (c->hello_seen && memcmp(c->peer.exporter.b, exporter->b, 16) == 0));
        if (open) {
            c->uses++;
            atomic_fetch_add(&c->refs, 1);
        }
        pthread_mutex_unlock(&c->lock);
        if (open)
            return c;
    }
    return NULL;
}

HRESULT pcomi_channel_get(const char *url, struct pcomi_channel **out)
{
    pthread_mutex_lock(&channels_lock);
    struct pcomi_channel *ch = find_outbound(url, NULL, NULL);
    pthread_mutex_unlock(&channels_lock);
    if (ch) {
        *out = ch;
        return S_OK;
    }
    HRESULT hr = channel_connect(url, &ch);
    if (FAILED(hr))
        return hr;
    pthread_mutex_lock(&channels_lock);
    struct pcomi_channel *other = find_outbound(url, ch, NULL);
    pthread_mutex_unlock(&channels_lock);
    if (other) {
        /* another thread connected to the same URL meanwhile: one connection per URL, keep theirs */
        pcomi_channel_put(ch);
        ch = other;
    }
    *out = ch;
    return S_OK;
}

HRESULT pcomi_channel_find_exporter(const pcomi_oid *exporter, const struct pcomi_peer *where,
                                    struct pcomi_channel **out)
{
    if (where->nendpoints == 0) {
        /* no address: reachable only if it is a server this process started over a pipe */
        pthread_mutex_lock(&channels_lock);
        struct pcomi_channel *child = find_outbound(NULL, NULL, exporter);
        pthread_mutex_unlock(&channels_lock);
        if (child) {
            *out = child;
            return S_OK;
        }
        pcom_set_error_message("the object's process has no endpoint to connect to");
        return RPC_E_DISCONNECTED;
    }
    /* a connection already open to one of its endpoints first: one proxy per object needs one connection */
    pthread_mutex_lock(&channels_lock);
    struct pcomi_channel *ch = NULL;
    for (unsigned i = 0; i < where->nendpoints && !ch; i++) {
        ch = find_outbound(where->endpoints[i], NULL, NULL);
        if (ch && memcmp(ch->peer.exporter.b, exporter->b, 16) != 0) {
            pthread_mutex_unlock(&channels_lock);
            pcomi_channel_put(ch);
            pthread_mutex_lock(&channels_lock);
            ch = NULL;
        }
    }
    pthread_mutex_unlock(&channels_lock);
    if (ch) {
        *out = ch;
        return S_OK;
    }
    HRESULT hr = RPC_E_DISCONNECTED;
    for (unsigned i = 0; i < where->nendpoints; i++) {
        if (FAILED(hr = pcomi_channel_get(where->endpoints[i], &ch)))
            continue;
        if (memcmp(ch->peer.exporter.b, exporter->b, 16) == 0) {
            *out = ch;
            return S_OK;
        }
        /* another process took over the address: not the one that exported the object */
        pcomi_channel_put(ch);
        hr = RPC_E_DISCONNECTED;
        pcom_set_error_message("%s is no longer the object's process", where->endpoints[i]);
    }
    return hr;
}

/* ---- outgoing calls ---- */

HRESULT pcomi_channel_call(struct pcomi_channel *ch, const pcomi_oid *oid, const IID *iid, uint16_t slot_no,
                           const struct pcom_method *m, void *frame)
{
    struct pcomi_wbuf local = {0};
    struct waiter *w = this_waiter();
    struct pcomi_wbuf *buf = &local;
    HRESULT hr = pcomi_check_ref_params(m, frame);
    if (!w && SUCCEEDED(hr))
        hr = E_OUTOFMEMORY;
    if (FAILED(hr))
        goto fail;
    /* a call made while encoding another (lending a reference) must not write into that one's buffer */
    bool own_buf = !w->buf_busy;
    if (own_buf) {
        buf = &w->buf;
        w->buf_busy = true;
    }
    pcomi_wbuf_reset(buf);
    buf->gather = PCOMI_GATHER_MIN; /* sent before this call returns: the caller's arrays are still there */
    struct pcomi_objref_journal journal;
    pcomi_journal_start(&journal);
    hr = pcomi_encode(m, frame, buf, PCOM_PF_IN, &ch->objrefs);
    pcomi_journal_stop(&journal);
    if (SUCCEEDED(hr) && pcomi_wbuf_size(buf) > ch->lim.max_message) {
        pcom_set_error_message("the arguments of %s take %zu bytes, more than the limit of %zu", m->name,
                               pcomi_wbuf_size(buf), ch->lim.max_message);
        hr = E_INVALIDARG;
    }
    if (FAILED(hr))
        goto fail_buf;

    pthread_mutex_lock(&ch->lock);
    if (atomic_load(&ch->dead)) {
        pthread_mutex_unlock(&ch->lock);
        pcom_set_error_message("the connection to %s was lost", ch->name);
        hr = RPC_E_DISCONNECTED;
        goto fail_buf;
    }
    struct call_slot *s = NULL;
    unsigned start = ch->seq & (PCOMI_MAX_CALLS_IN_FLIGHT - 1);
    for (unsigned k = 0; k < PCOMI_MAX_CALLS_IN_FLIGHT && ch->out_in_flight < ch->max_calls; k++) {
        unsigned i = (start + k) & (PCOMI_MAX_CALLS_IN_FLIGHT - 1);
        if (!ch->slots[i].call_id) {
            s = &ch->slots[i];
            ch->seq++;
            /* the generation wraps within 25 bits and skips 0, so a call id is never 0 (a free slot) */
            uint32_t gen = (ch->seq >> SLOT_BITS) & ((1u << (32 - SLOT_BITS)) - 1);
            s->call_id = (gen ? gen : 1) << SLOT_BITS | i;
            s->w = w;
            s->m = m;
            s->frame = frame;
            s->decoded = false;
            s->msg = NULL;
            atomic_store(&s->decoding, false);
            atomic_store(&s->done, false);
            s->body = NULL;
            s->len = 0;
            s->type = 0;
            ch->out_in_flight++;
            atomic_fetch_add(&ch->out_waiting, 1);
            /* the reader thread stands aside after what it is reading now: we read our own answer */
            ch->lease_until = pcomi_now_us() + LEASE_US;
            break;
        }
    }
    pthread_mutex_unlock(&ch->lock);
    if (!s) {
        pcom_set_error_message("more than %u calls in flight on one connection", ch->max_calls);
        hr = RPC_E_CALL_REJECTED;
        goto fail_buf;
    }

    struct pcomi_msg_header h = {0};
    h.type = PCOMI_MSG_REQUEST;
    h.call_id = s->call_id;
    h.method = slot_no;
    memcpy(h.causality, w->cur, CAUSALITY_BYTES);
    memcpy(h.object_id, oid->b, 16);
    memcpy(h.iid, iid, 16);
    /* registered before sending: a callback may arrive before the send returns */
    waiter_enter(w);
    struct iovec stack[8];
    void *heap = NULL;
    int niov = 0;
    struct iovec *iov = pcomi_wbuf_iov(buf, stack, 8, &niov, &heap);
    int err = iov ? channel_send(ch, &h, iov, niov) : -ENOMEM;
    free(heap);
    if (err == -ENOMEM)
        pcomi_channel_shutdown(ch); /* nothing went out, but the call was registered: end it like a lost send */
    if (own_buf)
        w->buf_busy = false;
    pcomi_wbuf_free(&local);
    /* sent, or the connection is gone and with it everything counted for it */
    pcomi_journal_free(&journal);

    if (err < 0) {
        pthread_mutex_lock(&w->mu);
        slot_finish(ch, s); /* the reader sees the shut connection and fails the rest */
        pthread_mutex_unlock(&w->mu);
    }
    atomic_store(&w->may_read, true);
    /* the first slice is the quick wait (on a stream, the read itself); then they grow */
    unsigned slice_us = PCOMI_QUICK_WAIT_US;
    for (;;) {
        if (atomic_load(&s->done))
            break;
        if (atomic_load(&w->njobs)) {
            /* a call of this logical thread (first: reading on could wait for its own answer forever) */
            pthread_mutex_lock(&w->mu);
            struct job *j = w->jobs;
            if (j) {
                w->jobs = j->next;
                if (!w->jobs)
                    w->jobs_tail = NULL;
                atomic_fetch_sub(&w->njobs, 1);
            }
            pthread_mutex_unlock(&w->mu);
            if (j) {
                struct run_ctx rc = {0};
                run_job(&rc, j);
                pcomi_arena_free(&rc.arena);
                pcomi_wbuf_free(&rc.out);
            }
            continue;
        }
        if (atomic_exchange(&w->may_read, false)) {
            /* read for ourselves when nobody else is: our answer then needs no hand-off */
            if (take_role(ch)) {
                /* our answer may have been read by the thread that had the role a moment ago: with the role
                 * ours, nobody else can read it any more, so this check is final. Otherwise in slices: a call of
                 * our logical thread may come over another connection meanwhile. They grow while nothing comes,
                 * so a long call costs few wake-ups. */
                if (atomic_load(&s->done)) {
                    release_role(ch, false);
                } else if (pcomi_conn_wait_readable(ch->conn, slice_us) == 0) {
                    release_role(ch, false);
                    slice_us = slice_us < 1000 ? 1000 : slice_us < 50000 ? slice_us * 2 : 50000;
                } else {
                    read_one(ch, NULL, s);
                }
            }
            continue;
        }
        /* nothing to do: sleep until the answer, a call of ours or the role comes (each set under mu) */
        pthread_mutex_lock(&w->mu);
        while (!atomic_load(&s->done) && !atomic_load(&w->njobs) && !atomic_load(&w->may_read))
            pthread_cond_wait(&w->cv, &w->mu);
        pthread_mutex_unlock(&w->mu);
    }
    if (atomic_exchange(&w->may_read, false)) {
        /* the read role was offered to us and we no longer need it: to the next caller waiting */
        pthread_mutex_lock(&ch->lock);
        if (!ch->reading)
            offer_role(ch);
        pthread_mutex_unlock(&ch->lock);
    }
    waiter_leave(w);
    /* calls of this logical thread that came after the answer: nobody waits in it any more (once out of
     * waiters, no call is queued here; waiters_lock orders the ones queued before) */
    struct job *left = NULL;
    if (!w->depth && atomic_load(&w->njobs)) {
        pthread_mutex_lock(&w->mu);
        left = w->jobs;
        w->jobs = w->jobs_tail = NULL;
        atomic_store(&w->njobs, 0);
        pthread_mutex_unlock(&w->mu);
    }
    while (left) {
        struct job *next = left->next;
        if (!left->ch->pool || !pool_submit(left->ch->pool, left)) {
            send_fault(left->ch, &left->h, RPC_E_DISCONNECTED, "the server is stopping");
            job_done(left);
        }
        left = next;
    }

    pthread_mutex_lock(&ch->lock);
    void *body = s->body;
    size_t len = s->len;
    uint8_t type = s->type;
    bool decoded = s->decoded;
    HRESULT server_hr = s->hr, decode_hr = s->dhr;
    char *decode_msg = s->msg;
    s->msg = NULL;
    s->call_id = 0;
    s->body = NULL;
    ch->out_in_flight--;
    pthread_mutex_unlock(&ch->lock);

    if (decoded) {
        /* decoded as it arrived (take_answer): by this thread, whose message is set, or by another (decode_msg) */
        if (decode_msg) {
            pcom_set_error_message("%s", decode_msg);
            free(decode_msg);
        }
        if (FAILED(decode_hr)) {
            if (!pcom_error_message()[0])
                pcom_set_error_message("malformed results from %s", m->name);
            pcomi_clear_out(m, frame); /* whatever the decode got to, and if it never began */
            return decode_hr;
        }
        if (FAILED(server_hr)) {
            pcom_set_error_message(NULL);
            pcomi_clear_out(m, frame);
        }
        return server_hr;
    }

    if (type == 0) {
        pcom_set_error_message("the connection to %s was lost", ch->name);
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
    HRESULT dhr = pcomi_decode_out(m, (uint8_t *)body + 8, len - 8, frame, &ch->lim);
    free(body);
    if (FAILED(dhr)) {
        if (!pcom_error_message()[0])
            pcom_set_error_message("malformed results from %s", m->name);
        return dhr;
    }
    return hr; /* a success leaves the message of the last failure alone */

fail_buf:
    /* the message will not be sent: what marshaling it counted for the peer is given back */
    pcomi_journal_undo(ch, &journal);
    if (own_buf)
        w->buf_busy = false;
    pcomi_wbuf_free(&local);
fail:
    pcomi_clear_out(m, frame);
    return hr;
}

/* ---- releases and keepalive ---- */

void pcomi_channel_release_later(struct pcomi_channel *ch, const pcomi_oid *oid, uint32_t count)
{
    if (!count || atomic_load(&ch->dead))
        return; /* a dead connection released everything already */
    pthread_mutex_lock(&ch->lock);
    for (size_t i = 0; i < ch->nreleases; i++)
        if (memcmp(&ch->releases[i].oid, oid->b, 16) == 0 && ch->releases[i].count <= UINT32_MAX - count) {
            ch->releases[i].count += count;
            pthread_mutex_unlock(&ch->lock);
            return;
        }
    if (ch->nreleases == ch->capreleases) {
        size_t cap = ch->capreleases ? ch->capreleases * 2 : 16;
        struct pcomi_release_entry *n = realloc(ch->releases, cap * sizeof(*n));
        if (!n) {
            /* the reference stays counted at the exporter until this connection ends */
            pthread_mutex_unlock(&ch->lock);
            return;
        }
        ch->releases = n;
        ch->capreleases = cap;
    }
    memcpy(&ch->releases[ch->nreleases].oid, oid->b, 16);
    ch->releases[ch->nreleases++].count = count;
    if (ch->nreleases == 1) {
        /* a use until the batch is sent: the connection must not close with it unsent */
        atomic_fetch_add(&ch->refs, 1);
        ch->uses++;
    }
    pthread_mutex_unlock(&ch->lock);
    housekeeper_kick();
}

static void flush_releases(struct pcomi_channel *ch)
{
    pthread_mutex_lock(&ch->lock);
    struct pcomi_release_entry *r = ch->releases;
    size_t n = ch->nreleases;
    ch->releases = NULL;
    ch->nreleases = ch->capreleases = 0;
    pthread_mutex_unlock(&ch->lock);
    static const pcomi_oid system_oid;
    struct pcomi_wbuf buf = {0};
    for (size_t at = 0; at < n && !atomic_load(&ch->dead); at += PCOMI_MAX_RELEASE_BATCH) {
        size_t k = n - at < PCOMI_MAX_RELEASE_BATCH ? n - at : PCOMI_MAX_RELEASE_BATCH;
        struct pcomi_sys_release_frame f = {(uint32_t)k, r + at};
        pcomi_wbuf_reset(&buf);
        if (FAILED(pcomi_encode(&pcomi_sys_methods[PCOMI_SYS_RELEASE], &f, &buf, PCOM_PF_IN, NULL)))
            break;
        struct pcomi_msg_header h = {0};
        h.type = PCOMI_MSG_REQUEST;
        h.flags = PCOMI_FLAG_ONEWAY;
        h.method = PCOMI_SYS_RELEASE;
        memcpy(h.object_id, system_oid.b, 16);
        memcpy(h.iid, &pcomi_iid_system, 16);
        struct iovec iov = {buf.data, buf.len};
        channel_send(ch, &h, &iov, 1);
    }
    pcomi_wbuf_free(&buf);
    free(r);
    if (n)
        pcomi_channel_put(ch); /* the use taken when the first entry was queued */
}

static pthread_mutex_t hk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hk_cond = PTHREAD_COND_INITIALIZER;
static bool hk_kicked, hk_started;

static void housekeeper_kick(void)
{
    pthread_mutex_lock(&hk_lock);
    hk_kicked = true;
    pthread_cond_signal(&hk_cond);
    pthread_mutex_unlock(&hk_lock);
}

/* One pass: batches of releases go out, idle connections are pinged, silent ones are ended. */
static long housekeep(void)
{
    pthread_mutex_lock(&channels_lock);
    unsigned interval = keepalive_interval_ms, timeout = keepalive_timeout_ms;
    size_t n = 0, cap = 0;
    for (struct pcomi_channel *c = all_channels; c; c = c->next)
        cap++;
    struct pcomi_channel **work = cap ? calloc(cap, sizeof(*work)) : NULL;
    /* dead channels too: their queued releases hold a use that must be given back */
    for (struct pcomi_channel *c = all_channels; c && work; c = c->next)
        if (channel_try_ref(c))
            work[n++] = c;
    pthread_mutex_unlock(&channels_lock);
    long long now = pcomi_now_ms();
    long next = interval / 2;
    for (size_t i = 0; i < n; i++) {
        struct pcomi_channel *c = work[i];
        pthread_mutex_lock(&c->lock);
        bool releases = c->nreleases > 0;
        pthread_mutex_unlock(&c->lock);
        /* one thread keeps every connection: it does not wait behind a send in progress (a large message, or a
         * peer that stopped reading and will be cut off by the send timeout) */
        bool busy = atomic_load_explicit(&c->sending, memory_order_relaxed) > 0;
        if (releases && (!busy || atomic_load(&c->dead)))
            flush_releases(c);
        else if (releases)
            next = 5;
        unsigned long received = atomic_load_explicit(&c->received, memory_order_relaxed);
        if (received != c->hk_received) {
            c->hk_received = received;
            c->hk_heard = now; /* something came since the last look */
        }
        long long heard = c->hk_heard, moved = pcomi_conn_last_progress(c->conn);
        long long quiet = now - (moved > heard ? moved : heard);
        if (atomic_load(&c->dead)) {
            /* nothing to watch */
        } else if (quiet >= timeout) {
            /* nothing heard, not even a PONG, and nothing moving: the peer is frozen or cut off */
            pcomi_channel_shutdown(c);
        } else if (!busy && quiet >= interval && now - atomic_load(&c->last_ping) >= interval) {
            struct pcomi_msg_header h = {0};
            h.type = PCOMI_MSG_PING;
            atomic_store(&c->last_ping, now);
            channel_send(c, &h, NULL, 0);
        }
        channel_unref(c);
    }
    free(work);
    long t = pcomi_exports_expire();
    if (t >= 0 && t < next)
        next = t;
    return next < 5 ? 5 : next;
}

static void *housekeeper_main(void *arg)
{
    (void)arg;
    for (;;) {
        long wait_ms = housekeep();
        struct timespec until = realtime_after_ms(wait_ms);
        pthread_mutex_lock(&hk_lock);
        while (!hk_kicked)
            if (pthread_cond_timedwait(&hk_cond, &hk_lock, &until) == ETIMEDOUT)
                break;
        hk_kicked = false;
        pthread_mutex_unlock(&hk_lock);
    }
    return NULL;
}

static void housekeeper_start(void)
{
    pthread_mutex_lock(&hk_lock);
    if (!hk_started) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        hk_started = pthread_create(&t, &attr, housekeeper_main, NULL) == 0;
        pthread_attr_destroy(&attr);
    }
    pthread_mutex_unlock(&hk_lock);
}
