/* hresult.c: names and messages of HRESULTs, expanded from the one list in pcom/hresult.h. */
#include <pcom/pcom.h>

#include <stdio.h>

#define PIN(name, value, message) _Static_assert(name == (HRESULT)value##u, #name " drifted from its list entry");
PCOM_HRESULT_LIST(PIN)
#undef PIN

static const struct {
    HRESULT hr;
    const char *name, *message;
} table[] = {
#define ROW(name, value, message) {(HRESULT)value##u, #name, message},
    PCOM_HRESULT_LIST(ROW)
#undef ROW
};

const char *pcom_hresult_name(HRESULT hr)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].hr == hr)
            return table[i].name;
    return NULL;
}

const char *pcom_hresult_message(HRESULT hr)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].hr == hr)
            return table[i].message;
    return SUCCEEDED(hr) ? "success" : "unknown error";
}
