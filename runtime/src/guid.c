/* guid.c: GUID comparison, parsing and formatting in the registry form 6f1c0a7e-1234-11d0-8e6a-00aa00bd0a87. */
#include <pcom/pcom.h>

#include <stdio.h>
#include <string.h>

bool pcom_guid_equal(const GUID *a, const GUID *b)
{
    return memcmp(a, b, sizeof(GUID)) == 0;
}

void pcom_guid_format(const GUID *g, char out[PCOM_GUID_STRING_LEN + 1])
{
    snprintf(out, PCOM_GUID_STRING_LEN + 1, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             (unsigned)g->Data1, (unsigned)g->Data2, (unsigned)g->Data3, g->Data4[0], g->Data4[1], g->Data4[2],
             g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads n hex digits; false on any other character. */
static bool read_hex(const char *s, int n, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) {
        int d = hex_digit(s[i]);
        if (d < 0)
            return false;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return true;
}

HRESULT pcom_guid_parse(const char *s, GUID *out)
{
    if (!s || !out)
        return E_POINTER;
    size_t n = strlen(s);
    bool braces = n == PCOM_GUID_STRING_LEN + 2 && s[0] == '{' && s[n - 1] == '}';
    if (braces)
        s++;
    else if (n != PCOM_GUID_STRING_LEN)
        return E_INVALIDARG;
    if (s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
        return E_INVALIDARG;
    GUID g;
    uint32_t v;
    if (!read_hex(s, 8, &v))
        return E_INVALIDARG;
    g.Data1 = v;
    if (!read_hex(s + 9, 4, &v))
        return E_INVALIDARG;
    g.Data2 = (uint16_t)v;
    if (!read_hex(s + 14, 4, &v))
        return E_INVALIDARG;
    g.Data3 = (uint16_t)v;
    static const int offsets[8] = {19, 21, 24, 26, 28, 30, 32, 34};
    for (int i = 0; i < 8; i++) {
        if (!read_hex(s + offsets[i], 2, &v))
            return E_INVALIDARG;
        g.Data4[i] = (uint8_t)v;
    }
    *out = g;
    return S_OK;
}
