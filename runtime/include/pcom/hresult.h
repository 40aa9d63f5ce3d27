/* pcom/hresult.h: the HRESULT values pcom uses, from one list, with the Windows numbers. */
#ifndef PCOM_HRESULT_H
#define PCOM_HRESULT_H

#include <stdint.h>

typedef int32_t HRESULT;

#define SUCCEEDED(hr) (((HRESULT)(hr)) >= 0)
#define FAILED(hr) (((HRESULT)(hr)) < 0)
#define MAKE_HRESULT(sev, fac, code) \
    ((HRESULT)(((uint32_t)(sev) << 31) | ((uint32_t)(fac) << 16) | ((uint32_t)(code))))
#define HRESULT_FROM_WIN32(x) \
    ((HRESULT)(x) <= 0 ? (HRESULT)(x) : (HRESULT)(((uint32_t)(x) & 0x0000FFFFu) | 0x80070000u))

/*
 * X(name, value, message): every HRESULT the runtime returns or names.
 * The runtime's name and message tables expand this list, and a static
 * assertion per entry pins each constant below to it, so they cannot drift.
 */
#define PCOM_HRESULT_LIST(X)                                                              \
    X(S_OK, 0x00000000, "success")                                                        \
    X(S_FALSE, 0x00000001, "success (false)")                                             \
    X(E_NOTIMPL, 0x80004001, "not implemented")                                           \
    X(E_NOINTERFACE, 0x80004002, "no such interface supported")                           \
    X(E_POINTER, 0x80004003, "invalid pointer")                                           \
    X(E_ABORT, 0x80004004, "operation aborted")                                           \
    X(E_FAIL, 0x80004005, "unspecified failure")                                          \
    X(E_UNEXPECTED, 0x8000FFFF, "catastrophic failure")                                   \
    X(E_ACCESSDENIED, 0x80070005, "access denied")                                        \
    X(E_HANDLE, 0x80070006, "invalid handle")                                             \
    X(E_OUTOFMEMORY, 0x8007000E, "out of memory")                                         \
    X(E_INVALIDARG, 0x80070057, "invalid argument")                                       \
    X(CLASS_E_NOAGGREGATION, 0x80040110, "class does not support aggregation")            \
    X(CLASS_E_CLASSNOTAVAILABLE, 0x80040111, "class factory cannot supply the class")     \
    X(REGDB_E_CLASSNOTREG, 0x80040154, "class not registered")                            \
    X(CO_E_OBJNOTCONNECTED, 0x800401FD, "object is not connected to the server")          \
    X(RPC_E_DISCONNECTED, 0x80010108, "the object invoked has disconnected from its clients") \
    X(RPC_E_SERVERFAULT, 0x80010105, "the server threw an exception")                     \
    X(RPC_E_INVALID_DATA, 0x8001010F, "the data received is invalid")                     \
    X(RPC_E_TIMEOUT, 0x8001011F, "the operation timed out")                               \
    X(RPC_E_SERVER_DIED, 0x80010007, "the server died")                                   \
    X(RPC_E_CANTCALLOUT_INASYNCCALL, 0x80010004, "cannot call out in an async call")      \
    X(RPC_E_CALL_REJECTED, 0x80010001, "call was rejected by callee")                     \
    X(RPC_E_INVALID_HEADER, 0x80010111, "invalid message header")                         \
    X(RPC_E_VERSION_MISMATCH, 0x80010110, "protocol version mismatch")                    \
    X(RPC_E_UNEXPECTED, 0x8001FFFF, "unexpected RPC failure")

#define S_OK ((HRESULT)0x00000000)
#define S_FALSE ((HRESULT)0x00000001)
#define E_NOTIMPL ((HRESULT)0x80004001u)
#define E_NOINTERFACE ((HRESULT)0x80004002u)
#define E_POINTER ((HRESULT)0x80004003u)
#define E_ABORT ((HRESULT)0x80004004u)
#define E_FAIL ((HRESULT)0x80004005u)
#define E_UNEXPECTED ((HRESULT)0x8000FFFFu)
#define E_ACCESSDENIED ((HRESULT)0x80070005u)
#define E_HANDLE ((HRESULT)0x80070006u)
#define E_OUTOFMEMORY ((HRESULT)0x8007000Eu)
#define E_INVALIDARG ((HRESULT)0x80070057u)
#define CLASS_E_NOAGGREGATION ((HRESULT)0x80040110u)
#define CLASS_E_CLASSNOTAVAILABLE ((HRESULT)0x80040111u)
#define REGDB_E_CLASSNOTREG ((HRESULT)0x80040154u)
#define CO_E_OBJNOTCONNECTED ((HRESULT)0x800401FDu)
#define RPC_E_DISCONNECTED ((HRESULT)0x80010108u)
#define RPC_E_SERVERFAULT ((HRESULT)0x80010105u)
#define RPC_E_INVALID_DATA ((HRESULT)0x8001010Fu)
#define RPC_E_TIMEOUT ((HRESULT)0x8001011Fu)
#define RPC_E_SERVER_DIED ((HRESULT)0x80010007u)
#define RPC_E_CANTCALLOUT_INASYNCCALL ((HRESULT)0x80010004u)
#define RPC_E_CALL_REJECTED ((HRESULT)0x80010001u)
#define RPC_E_INVALID_HEADER ((HRESULT)0x80010111u)
#define RPC_E_VERSION_MISMATCH ((HRESULT)0x80010110u)
#define RPC_E_UNEXPECTED ((HRESULT)0x8001FFFFu)

#endif
