/* test_idl_sema.c: every semantic diagnostic pcomidl makes, each triggered and located. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "idl_harness.h"

static void out_param_not_pointer(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"
                        "[object, uuid(11111111-2222-3333-4444-555555555555)]\n"
                        "interface IFoo : IUnknown {\n"
                        "    HRESULT Get([out] long value);\n"
                        "}\n");
    assert_error_at(&h, "[out] parameter 'value' is not a pointer", 4, 28);
    harness_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(out_param_not_pointer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
