/* pcom/types.h: the C base types of the MIDL C binding that every generated header includes. */
#ifndef PCOM_TYPES_H
#define PCOM_TYPES_H

#include <stddef.h>
#include <stdint.h>
#ifndef __cplusplus
#include <uchar.h>
#endif

#include <pcom/hresult.h>

#ifdef __cplusplus
extern "C" {
#endif

/* GUID layout as in COM: the first three fields are integers, the last eight bytes. */
#ifndef GUID_DEFINED
#define GUID_DEFINED
typedef struct _GUID {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
} GUID;
#endif
typedef GUID IID;
typedef GUID CLSID;
typedef const GUID *REFGUID;
typedef const IID *REFIID;
typedef const CLSID *REFCLSID;

/* MIDL base types whose C spelling is not a C keyword. IDL long is 32 bits everywhere. */
typedef unsigned char boolean;
typedef unsigned char byte;
typedef int64_t hyper;
typedef uint64_t MIDL_uhyper;
/* IDL wchar_t is a UTF-16 code unit, as on the wire of every COM system. */
typedef char16_t WCHAR;
typedef uint32_t error_status_t;
typedef void *handle_t;

/* The Windows spellings COM code is written with. */
typedef int32_t BOOL;
typedef uint8_t BYTE;
typedef char CHAR;
typedef uint8_t UCHAR;
typedef int16_t SHORT;
typedef uint16_t USHORT;
typedef uint16_t WORD;
typedef uint32_t DWORD;
typedef int32_t LONG;
typedef uint32_t ULONG;
typedef int64_t LONGLONG;
typedef uint64_t ULONGLONG;
typedef int32_t INT;
typedef uint32_t UINT;
typedef float FLOAT;
typedef double DOUBLE;
typedef WCHAR *LPWSTR;
typedef const WCHAR *LPCWSTR;
typedef char *LPSTR;
typedef const char *LPCSTR;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

/* Calling-convention and layout markers of the MIDL binding; empty on this platform. */
#define STDMETHODCALLTYPE
#define BEGIN_INTERFACE
#define END_INTERFACE
#define __RPC_STUB
#define __RPC_FAR

#ifdef __cplusplus
}
#endif

#endif
