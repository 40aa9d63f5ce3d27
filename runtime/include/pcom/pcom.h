/* pcom/pcom.h: the runtime's public API: GUIDs, HRESULT names and messages. */
#ifndef PCOM_PCOM_H
#define PCOM_PCOM_H

#include <stdbool.h>

#include <pcom/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Length of "6f1c0a7e-1234-11d0-8e6a-00aa00bd0a87", without braces or terminator. */
#define PCOM_GUID_STRING_LEN 36

bool pcom_guid_equal(const GUID *a, const GUID *b);
/* Writes the lower-case registry form and a terminating NUL. */
void pcom_guid_format(const GUID *g, char out[PCOM_GUID_STRING_LEN + 1]);
/* Accepts the registry form, with or without braces. E_INVALIDARG on anything else; *out untouched then. */
HRESULT pcom_guid_parse(const char *s, GUID *out);

/* "E_NOINTERFACE" for a known code, else NULL. */
const char *pcom_hresult_name(HRESULT hr);
/* A short English description; "unknown error" for a failure code pcom does not know. */
const char *pcom_hresult_message(HRESULT hr);

#ifdef __cplusplus
}
#endif

#endif
