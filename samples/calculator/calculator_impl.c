/* calculator_impl.c: the Calculator class of the sample: the object behind ICalculator and its factory. */
#include "calculator_impl.h"

#include <stdlib.h>

struct calculator {
    ICalculator iface;
    atomic_ulong refs;
    pthread_mutex_t lock;
    CalcStats stats;
    IResultSink *sink;
};

static atomic_long live_calculators;

static struct calculator *impl(ICalculator *This)
{
    return (struct calculator *)This;
}

static HRESULT STDMETHODCALLTYPE calc_query_interface(ICalculator *This, REFIID riid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    if (pcom_guid_equal(riid, &IID_IUnknown) || pcom_guid_equal(riid, &IID_ICalculator)) {
        *ppv = This;
        This->lpVtbl->AddRef(This);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE calc_add_ref(ICalculator *This)
{
    return (ULONG)atomic_fetch_add(&impl(This)->refs, 1) + 1;
}

static ULONG STDMETHODCALLTYPE calc_release(ICalculator *This)
{
    struct calculator *c = impl(This);
    unsigned long refs = atomic_fetch_sub(&c->refs, 1) - 1;
    if (refs == 0) {
        if (c->sink)
            IResultSink_Release(c->sink);
        pthread_mutex_destroy(&c->lock);
        free(c);
        atomic_fetch_sub(&live_calculators, 1);
    }
    return (ULONG)refs;
}

static void report(struct calculator *c, double value)
{
    pthread_mutex_lock(&c->lock);
    c->stats.calls++;
    c->stats.last_result = value;
    IResultSink *sink = c->sink;
    if (sink)
        IResultSink_AddRef(sink);
    pthread_mutex_unlock(&c->lock);
    if (sink) {
        IResultSink_OnResult(sink, value);
        IResultSink_Release(sink);
    }
}

static HRESULT STDMETHODCALLTYPE calc_add(ICalculator *This, int32_t a, int32_t b, int32_t *sum)
{
    if (!sum)
        return E_POINTER;
    *sum = (int32_t)((uint32_t)a + (uint32_t)b); /* wraps like the hardware, without undefined behaviour */
    report(impl(This), *sum);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE calc_sum(ICalculator *This, uint32_t n, const double *v, double *s)
{
    if (!s || (n && !v))
        return E_POINTER;
    double total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += v[i];
    *s = total;
    report(impl(This), total);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE calc_divide(ICalculator *This, double a, double b, double *quotient)
{
    if (!quotient)
        return E_POINTER;
    if (b == 0) {
        pcom_set_error_message("cannot divide %g by zero", a);
        return E_INVALIDARG;
    }
    *quotient = a / b;
    report(impl(This), *quotient);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE calc_subscribe(ICalculator *This, IResultSink *sink)
{
    struct calculator *c = impl(This);
    if (sink)
        IResultSink_AddRef(sink);
    pthread_mutex_lock(&c->lock);
    IResultSink *old = c->sink;
    c->sink = sink;
    pthread_mutex_unlock(&c->lock);
    if (old)
        IResultSink_Release(old);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE calc_get_stats(ICalculator *This, CalcStats *stats)
{
    if (!stats)
        return E_POINTER;
    struct calculator *c = impl(This);
    pthread_mutex_lock(&c->lock);
    *stats = c->stats;
    pthread_mutex_unlock(&c->lock);
    return S_OK;
}

static const ICalculatorVtbl calculator_vtbl = {
    calc_query_interface, calc_add_ref, calc_release,   calc_add,
    calc_sum,             calc_divide,  calc_subscribe, calc_get_stats,
};

HRESULT calculator_create(REFIID riid, void **ppv)
{
    struct calculator *c = calloc(1, sizeof(*c));
    if (!c)
        return E_OUTOFMEMORY;
    c->iface.lpVtbl = &calculator_vtbl;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->lock, NULL);
    atomic_fetch_add(&live_calculators, 1);
    HRESULT hr = calc_query_interface(&c->iface, riid, ppv);
    calc_release(&c->iface);
    return hr;
}

long calculator_live_objects(void)
{
    return atomic_load(&live_calculators);
}

/* The class factory: one static object, so its reference count is only for show. */
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
    return calculator_create(riid, ppv);
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

IClassFactory *calculator_factory(void)
{
    return &factory;
}
