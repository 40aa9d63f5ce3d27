/* calculator_inproc.c: the calculator sample in one process: a COM object behind the generated vtable,
 * called through the generated macros exactly as a remote one will be. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcom/pcom.h>

#include "calculator.h"

struct calculator {
    ICalculator iface;
    ULONG refs;
    CalcStats stats;
    IResultSink *sink;
};

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
    return ++impl(This)->refs;
}

static ULONG STDMETHODCALLTYPE calc_release(ICalculator *This)
{
    struct calculator *c = impl(This);
    ULONG refs = --c->refs;
    if (refs == 0) {
        if (c->sink)
            IResultSink_Release(c->sink);
        free(c);
    }
    return refs;
}

static void report(struct calculator *c, double value)
{
    c->stats.calls++;
    c->stats.last_result = value;
    if (c->sink)
        IResultSink_OnResult(c->sink, value);
}

static HRESULT STDMETHODCALLTYPE calc_add(ICalculator *This, int32_t a, int32_t b, int32_t *sum)
{
    if (!sum)
        return E_POINTER;
    *sum = a + b;
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

static HRESULT STDMETHODCALLTYPE calc_subscribe(ICalculator *This, IResultSink *sink)
{
    struct calculator *c = impl(This);
    if (sink)
        IResultSink_AddRef(sink);
    if (c->sink)
        IResultSink_Release(c->sink);
    c->sink = sink;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE calc_get_stats(ICalculator *This, CalcStats *stats)
{
    if (!stats)
        return E_POINTER;
    *stats = impl(This)->stats;
    return S_OK;
}

static const ICalculatorVtbl calculator_vtbl = {
    calc_query_interface, calc_add_ref, calc_release, calc_add, calc_sum, calc_subscribe, calc_get_stats,
};

static HRESULT calculator_create(ICalculator **out)
{
    struct calculator *c = calloc(1, sizeof(*c));
    if (!c)
        return E_OUTOFMEMORY;
    c->iface.lpVtbl = &calculator_vtbl;
    c->refs = 1;
    *out = &c->iface;
    return S_OK;
}

/* A sink that prints what it is told. */
struct printing_sink {
    IResultSink iface;
    ULONG refs;
};

static HRESULT STDMETHODCALLTYPE sink_query_interface(IResultSink *This, REFIID riid, void **ppv)
{
    if (pcom_guid_equal(riid, &IID_IUnknown) || pcom_guid_equal(riid, &IID_IResultSink)) {
        *ppv = This;
        This->lpVtbl->AddRef(This);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE sink_add_ref(IResultSink *This)
{
    return ++((struct printing_sink *)This)->refs;
}

static ULONG STDMETHODCALLTYPE sink_release(IResultSink *This)
{
    return --((struct printing_sink *)This)->refs;
}

static HRESULT STDMETHODCALLTYPE sink_on_result(IResultSink *This, double value)
{
    (void)This;
    printf("  sink: result %g\n", value);
    return S_OK;
}

static const IResultSinkVtbl sink_vtbl = {sink_query_interface, sink_add_ref, sink_release, sink_on_result};

static int check(HRESULT hr, const char *what)
{
    if (FAILED(hr)) {
        fprintf(stderr, "%s failed: 0x%08x %s (%s)\n", what, (unsigned)hr, pcom_hresult_name(hr),
                pcom_hresult_message(hr));
        return 1;
    }
    return 0;
}

int main(void)
{
    ICalculator *calc;
    if (check(calculator_create(&calc), "create"))
        return 1;
    struct printing_sink sink = {{&sink_vtbl}, 1};
    if (check(ICalculator_Subscribe(calc, &sink.iface), "Subscribe"))
        return 1;

    int32_t sum;
    if (check(ICalculator_Add(calc, 2, 3, &sum), "Add"))
        return 1;
    printf("Add(2, 3) = %d\n", sum);

    const double v[] = {1.5, 2.5, 3.0};
    double total;
    if (check(ICalculator_Sum(calc, 3, v, &total), "Sum"))
        return 1;
    printf("Sum(1.5, 2.5, 3.0) = %g\n", total);

    IUnknown *unk;
    if (check(ICalculator_QueryInterface(calc, &IID_IUnknown, (void **)&unk), "QueryInterface"))
        return 1;
    IUnknown_Release(unk);
    void *nothing;
    HRESULT hr = ICalculator_QueryInterface(calc, &IID_IClassFactory, &nothing);
    printf("QueryInterface(IClassFactory) = %s\n", pcom_hresult_name(hr));

    CalcStats stats;
    if (check(ICalculator_GetStats(calc, &stats), "GetStats"))
        return 1;
    printf("calls = %u, last result = %g\n", stats.calls, stats.last_result);

    char text[PCOM_GUID_STRING_LEN + 1];
    pcom_guid_format(&CLSID_Calculator, text);
    printf("CLSID_Calculator = {%s}\n", text);

    ICalculator_Subscribe(calc, NULL);
    ICalculator_Release(calc);
    if (sink.refs != 1) {
        fprintf(stderr, "sink reference count is %u, expected 1\n", (unsigned)sink.refs);
        return 1;
    }
    return sum == 5 && total == 7.0 && stats.calls == 2 && hr == E_NOINTERFACE ? 0 : 1;
}
