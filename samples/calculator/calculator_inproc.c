/* calculator_inproc.c: the calculator sample in one process: the class registered here, created with
 * "inproc:", called through the generated macros exactly as a remote one is, with a callback sink. */
#include <stdio.h>
#include <stdlib.h>

#include "calculator_impl.h"

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
    if (check(pcom_register_class(&CLSID_Calculator, calculator_factory()), "pcom_register_class") ||
        check(pcom_create_instance(&CLSID_Calculator, "inproc:", &IID_ICalculator, (void **)&calc),
              "pcom_create_instance"))
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
    pcom_revoke_class(&CLSID_Calculator);
    if (calculator_live_objects() != 0) {
        fprintf(stderr, "%ld calculators still alive\n", calculator_live_objects());
        return 1;
    }
    if (sink.refs != 1) {
        fprintf(stderr, "sink reference count is %u, expected 1\n", (unsigned)sink.refs);
        return 1;
    }
    return sum == 5 && total == 7.0 && stats.calls == 2 && hr == E_NOINTERFACE ? 0 : 1;
}
