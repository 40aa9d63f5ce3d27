/* calculator_client.c: creates a Calculator in the server at URL and calls it; the same code works with
 * "inproc:" when the class is registered in this process. */
#include <stdio.h>

#include <pcom/pcom.h>

#include "calculator.h"

static int failed(HRESULT hr, const char *what)
{
    if (SUCCEEDED(hr))
        return 0;
    fprintf(stderr, "%s failed: 0x%08x %s: %s\n", what, (unsigned)hr, pcom_hresult_name(hr) ? pcom_hresult_name(hr) : "",
            pcom_error_message()[0] ? pcom_error_message() : pcom_hresult_message(hr));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s URL\n", argv[0]);
        return 2;
    }
    ICalculator *calc;
    if (failed(pcom_create_instance(&CLSID_Calculator, argv[1], &IID_ICalculator, (void **)&calc),
               "pcom_create_instance"))
        return 1;
    int32_t sum;
    if (failed(ICalculator_Add(calc, 2, 3, &sum), "Add"))
        return 1;
    printf("Add(2, 3) = %d\n", sum);

    const double v[] = {1.5, 2.5, 3.0};
    double total;
    if (failed(ICalculator_Sum(calc, 3, v, &total), "Sum"))
        return 1;
    printf("Sum(1.5, 2.5, 3.0) = %g\n", total);

    double q;
    HRESULT hr = ICalculator_Divide(calc, 1, 0, &q);
    printf("Divide(1, 0) = %s: \"%s\"\n", pcom_hresult_name(hr), pcom_error_message());

    CalcStats stats;
    if (failed(ICalculator_GetStats(calc, &stats), "GetStats"))
        return 1;
    printf("calls = %u, last result = %g\n", stats.calls, stats.last_result);

    void *sink;
    HRESULT qi = ICalculator_QueryInterface(calc, &IID_IResultSink, &sink);
    printf("QueryInterface(IResultSink) = %s\n", pcom_hresult_name(qi));

    ICalculator_Release(calc);
    return sum == 5 && total == 7.0 && hr == E_INVALIDARG && stats.calls == 2 && qi == E_NOINTERFACE ? 0 : 1;
}
