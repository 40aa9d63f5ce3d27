/* rpctest_objects.c: the object the runtime's integration tests call: IRpcTest and IRpcOther on one object, with its
 * class factory; served by rpctest_server, and linked into test_rpc for inproc:. */
#include "rpctest_objects.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_long live_objects;

long rpctest_live_objects(void)
{
    return atomic_load(&live_objects);
}

struct rpctest {
    IRpcTest test;
    IRpcOther other;
    atomic_ulong refs;
};

#define FROM_TEST(p) ((struct rpctest *)(void *)(p))
#define FROM_OTHER(p) ((struct rpctest *)(void *)((char *)(p) - offsetof(struct rpctest, other)))

static HRESULT qi(struct rpctest *o, REFIID riid, void **ppv)
{
    if (pcom_guid_equal(riid, &IID_IUnknown) || pcom_guid_equal(riid, &IID_IRpcTest))
        *ppv = &o->test;
    else if (pcom_guid_equal(riid, &IID_IRpcOther))
        *ppv = &o->other;
    else {
        *ppv = NULL;
        return E_NOINTERFACE;
    }
    atomic_fetch_add(&o->refs, 1);
    return S_OK;
}

static ULONG release(struct rpctest *o)
{
    unsigned long left = atomic_fetch_sub(&o->refs, 1) - 1;
    if (!left) {
        free(o);
        atomic_fetch_sub(&live_objects, 1);
    }
    return (ULONG)left;
}

static HRESULT STDMETHODCALLTYPE t_qi(IRpcTest *This, REFIID riid, void **ppv)
{
    return qi(FROM_TEST(This), riid, ppv);
}
static ULONG STDMETHODCALLTYPE t_addref(IRpcTest *This)
{
    return (ULONG)atomic_fetch_add(&FROM_TEST(This)->refs, 1) + 1;
}
static ULONG STDMETHODCALLTYPE t_release(IRpcTest *This)
{
    return release(FROM_TEST(This));
}

static HRESULT STDMETHODCALLTYPE t_null(IRpcTest *This)
{
    (void)This;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_echo64(IRpcTest *This, const Small64 *in, Small64 *out)
{
    (void)This;
    *out = *in;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_echo_scalars(IRpcTest *This, const Scalars *in, Scalars *out, hyper *sum)
{
    (void)This;
    *out = *in;
    /* summed as unsigned, so it wraps instead of overflowing */
    *sum = (hyper)((uint64_t)in->b + in->y + (uint64_t)(int64_t)in->sm + (uint64_t)(int64_t)in->s + in->us +
                   (uint64_t)(int64_t)in->l + in->ul + (uint64_t)in->h + in->uh + in->w + (uint64_t)in->c);
    return S_OK;
}

static size_t wlen(const WCHAR *w)
{
    size_t n = 0;
    while (w[n])
        n++;
    return n;
}

static HRESULT STDMETHODCALLTYPE t_strings(IRpcTest *This, const char *s, const WCHAR *w, char **s_out, WCHAR **w_out)
{
    (void)This;
    size_t n = strlen(s), m = wlen(w);
    *s_out = pcom_alloc(n + 1);
    *w_out = pcom_alloc((m + 1) * sizeof(WCHAR));
    if (!*s_out || !*w_out) {
        pcom_free(*s_out);
        pcom_free(*w_out);
        *s_out = NULL;
        *w_out = NULL;
        return E_OUTOFMEMORY;
    }
    for (size_t i = 0; i < n; i++) /* reversed, so the test sees the server did the work */
        (*s_out)[i] = s[n - 1 - i];
    (*s_out)[n] = 0;
    for (size_t i = 0; i < m; i++)
        (*w_out)[i] = w[m - 1 - i];
    (*w_out)[m] = 0;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_maybe_string(IRpcTest *This, const char *s, boolean *was_null)
{
    (void)This;
    *was_null = s == NULL;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_arrays(IRpcTest *This, int32_t n, const int32_t *in, int32_t *out,
                                          int32_t fixed[4][4], int32_t *trace)
{
    (void)This;
    for (int32_t i = 0; i < n; i++)
        out[i] = in[i] * 2;
    *trace = 0;
    for (int i = 0; i < 4; i++)
        *trace += fixed[i][i];
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_size_after(IRpcTest *This, const int32_t *in, int32_t n, int32_t *sum)
{
    (void)This;
    *sum = 0;
    for (int32_t i = 0; i < n; i++)
        *sum += in[i];
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_varying(IRpcTest *This, int32_t max, int32_t *len, int32_t *data)
{
    (void)This;
    for (int32_t i = 0; i < *len; i++)
        data[i] += 100;
    if (*len < max) {
        data[*len] = -1; /* one more element comes back than went in */
        (*len)++;
    }
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_alloc(IRpcTest *This, int32_t n, int32_t *count, int32_t **items)
{
    (void)This;
    if (n < 0 || n > 1000000)
        return E_INVALIDARG;
    *items = pcom_alloc((size_t)n * sizeof(int32_t));
    if (!*items)
        return E_OUTOFMEMORY;
    for (int32_t i = 0; i < n; i++)
        (*items)[i] = i * i;
    *count = n;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_list(IRpcTest *This, const Node *in, int32_t *length, Node **reversed)
{
    (void)This;
    Node *head = NULL;
    *length = 0;
    for (const Node *n = in; n; n = n->next) {
        Node *copy = pcom_alloc(sizeof(*copy));
        if (!copy)
            return E_OUTOFMEMORY;
        *copy = *n;
        copy->name = NULL;
        if (n->name) {
            copy->name = pcom_alloc(strlen(n->name) + 1);
            strcpy(copy->name, n->name);
        }
        copy->next = head;
        head = copy;
        (*length)++;
    }
    *reversed = head;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_union(IRpcTest *This, int32_t kind, const Value *v, double *as_double)
{
    (void)This;
    switch (kind) {
    case 1: *as_double = v->i; break;
    case 2: *as_double = v->d; break;
    case 3: *as_double = (double)strlen(v->s); break;
    default: *as_double = -1; break;
    }
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_guids(IRpcTest *This, REFGUID g, GUID *out)
{
    (void)This;
    *out = *g;
    out->Data1 ^= 0xffffffffu;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_blobs(IRpcTest *This, const Blob *in, Blob **out)
{
    (void)This;
    size_t size = offsetof(Blob, data) + (in->n ? in->n : 1);
    *out = pcom_alloc(size < sizeof(Blob) ? sizeof(Blob) : size);
    if (!*out)
        return E_OUTOFMEMORY;
    (*out)->n = in->n;
    /* data is declared data[1], as MIDL does: index through pointers */
    const byte *src = in->data;
    byte *dst = (*out)->data;
    for (uint32_t i = 0; i < in->n; i++)
        dst[i] = (byte)(src[i] + 1);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_in_out(IRpcTest *This, int32_t *counter, char **text)
{
    (void)This;
    (*counter)++;
    size_t n = *text ? strlen(*text) : 0;
    char *longer = pcom_alloc(n + 2);
    if (!longer)
        return E_OUTOFMEMORY;
    if (*text)
        memcpy(longer, *text, n);
    longer[n] = '!';
    longer[n + 1] = 0;
    pcom_free(*text);
    *text = longer;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_ranged(IRpcTest *This, int32_t percent)
{
    (void)This;
    return percent >= 0 && percent <= 100 ? S_OK : E_UNEXPECTED;
}

static HRESULT STDMETHODCALLTYPE t_fail(IRpcTest *This, HRESULT hr, const char *message)
{
    (void)This;
    if (message[0])
        pcom_set_error_message("%s", message);
    return hr;
}

static HRESULT STDMETHODCALLTYPE t_sleep(IRpcTest *This, uint32_t ms)
{
    (void)This;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_put(IRpcTest *This, uint32_t n, const byte *data, uint32_t *checksum)
{
    (void)This;
    uint32_t sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum = sum * 31 + data[i];
    *checksum = sum;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_get(IRpcTest *This, uint32_t n, byte seed, byte *data)
{
    (void)This;
    for (uint32_t i = 0; i < n; i++)
        data[i] = (byte)(seed + i);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE t_live(IRpcTest *This, uint32_t *n)
{
    (void)This;
    *n = (uint32_t)pcom_server_live_objects(NULL);
    return S_OK;
}

static const IRpcTestVtbl test_vtbl = {
    t_qi,     t_addref,     t_release, t_null,   t_echo64,     t_echo_scalars, t_strings,
    t_maybe_string, t_arrays, t_size_after, t_varying, t_alloc, t_list, t_union, t_guids,
    t_blobs,  t_in_out,     t_ranged,  t_fail,   t_sleep,      t_put,          t_get,
    t_live,
};

static HRESULT STDMETHODCALLTYPE o_qi(IRpcOther *This, REFIID riid, void **ppv)
{
    return qi(FROM_OTHER(This), riid, ppv);
}
static ULONG STDMETHODCALLTYPE o_addref(IRpcOther *This)
{
    return (ULONG)atomic_fetch_add(&FROM_OTHER(This)->refs, 1) + 1;
}
static ULONG STDMETHODCALLTYPE o_release(IRpcOther *This)
{
    return release(FROM_OTHER(This));
}
static HRESULT STDMETHODCALLTYPE o_whoami(IRpcOther *This, uint32_t *pid)
{
    (void)This;
    *pid = (uint32_t)getpid();
    return S_OK;
}

static const IRpcOtherVtbl other_vtbl = {o_qi, o_addref, o_release, o_whoami};

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
    struct rpctest *o = calloc(1, sizeof(*o));
    if (!o)
        return E_OUTOFMEMORY;
    o->test.lpVtbl = &test_vtbl;
    o->other.lpVtbl = &other_vtbl;
    atomic_init(&o->refs, 1);
    atomic_fetch_add(&live_objects, 1);
    HRESULT hr = qi(o, riid, ppv);
    release(o);
    return hr;
}
static HRESULT STDMETHODCALLTYPE f_lock(IClassFactory *This, BOOL lock)
{
    (void)This;
    (void)lock;
    return S_OK;
}
static const IClassFactoryVtbl factory_vtbl = {f_qi, f_addref, f_release, f_create, f_lock};
IClassFactory rpctest_factory = {&factory_vtbl};
