/* pcom/stub.h: the tables pcomidl generates into foo_p.c and the runtime entry points they call.
 * This is the contract between generated proxy/stub code and libpcom; applications never use it directly. */
#ifndef PCOM_STUB_H
#define PCOM_STUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pcom/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when the layout of these tables changes; the runtime refuses tables of another version. */
#define PCOM_STUB_ABI_VERSION 1
#define PCOM_INTERFACE_INFO_MAGIC 0x70636f6du /* "pcom" */

/* What a type descriptor describes. Wire sizes are fixed: see docs/wire.md. */
enum pcom_kind {
    PCOM_KIND_I8 = 1,
    PCOM_KIND_U8,
    PCOM_KIND_I16,
    PCOM_KIND_U16,
    PCOM_KIND_I32,
    PCOM_KIND_U32,
    PCOM_KIND_I64,
    PCOM_KIND_U64,
    PCOM_KIND_F32,
    PCOM_KIND_F64,
    PCOM_KIND_ENUM,      /* a C enum: sizeof(int) in memory, 4 bytes on the wire */
    PCOM_KIND_GUID,      /* 16 bytes, the GUID struct's fields in order */
    PCOM_KIND_STRUCT,    /* fields[0..count) */
    PCOM_KIND_ARRAY,     /* count elements of elem, inline (a fixed array) */
    PCOM_KIND_POINTER,   /* ref or unique pointer to one elem, or to size_is() elements */
    PCOM_KIND_STRING,    /* [string] pointer to NUL-terminated elem (1 or 2 bytes wide) */
    PCOM_KIND_UNION,     /* non-encapsulated union: the discriminant comes from switch_is() */
    PCOM_KIND_INTERFACE, /* interface pointer: marshaled as an object reference */
    PCOM_KIND_COUNT_
};

/* pcom_type.flags */
enum {
    PCOM_TF_UNIQUE = 1 << 0, /* POINTER/STRING/INTERFACE: may be NULL ([unique]); else [ref], never NULL */
    PCOM_TF_RANGE = 1 << 1,  /* integers: range_min..range_max checked on receipt */
    PCOM_TF_FLAT = 1 << 2,   /* plain data: the wire bytes equal the memory bytes (no pointers, no padding,
                                no enums), so arrays of it are copied or decoded in place */
};

/*
 * Evaluates a size_is/length_is/switch_is/iid_is expression. `base` is the argument frame for parameters,
 * the enclosing struct for fields. Returns false when the expression cannot be evaluated (a NULL pointer
 * on the way); the runtime then fails the call with RPC_E_INVALID_DATA or E_INVALIDARG.
 */
typedef bool (*pcom_expr_fn)(const void *base, uint64_t *out);
typedef bool (*pcom_iid_fn)(const void *base, const IID **out);

struct pcom_type;

struct pcom_field {
    uint32_t offset; /* in the enclosing struct */
    const struct pcom_type *type;
};

struct pcom_union_arm {
    int64_t value;                /* case label */
    const struct pcom_type *type; /* NULL: the arm carries nothing */
};

struct pcom_type {
    uint8_t kind;  /* enum pcom_kind */
    uint8_t flags; /* PCOM_TF_* */
    uint16_t align;/* C alignment of the type */
    uint32_t size; /* C sizeof of the type */
    uint32_t count;/* ARRAY: elements; STRUCT: fields; UNION: arms */
    const struct pcom_type *elem;          /* ARRAY, POINTER, STRING: the element */
    const struct pcom_field *fields;       /* STRUCT */
    const struct pcom_union_arm *arms;     /* UNION */
    const struct pcom_type *default_arm;   /* UNION: [default] arm, or NULL when there is none */
    bool union_has_default;                /* UNION: a [default] arm exists (it may carry nothing) */
    pcom_expr_fn size_is;   /* POINTER: number of elements; NULL for a pointer to one element */
    pcom_expr_fn length_is; /* POINTER, ARRAY: number of elements transmitted; NULL for all */
    pcom_expr_fn switch_is; /* UNION: the discriminant */
    int64_t range_min, range_max;          /* with PCOM_TF_RANGE */
    const IID *iid;         /* INTERFACE: the static IID, or NULL with iid_is */
    pcom_iid_fn iid_is;     /* INTERFACE: [iid_is(riid)] */
    const char *name;       /* for messages */
};

/* pcom_param.flags */
enum {
    PCOM_PF_IN = 1 << 0,
    PCOM_PF_OUT = 1 << 1,
    PCOM_PF_RETVAL = 1 << 2,
};

struct pcom_param {
    uint32_t offset; /* in the argument frame */
    uint8_t flags;   /* PCOM_PF_* */
    const struct pcom_type *type; /* as declared: an [out] long * is a POINTER to I32 */
    const char *name;
};

/* The server half of one method: unpack the frame and call the object's vtable slot. */
typedef HRESULT (*pcom_invoke_fn)(void *object, void *frame);

struct pcom_method {
    const char *name;
    uint32_t frame_size;  /* sizeof the argument frame struct */
    uint32_t frame_align;
    uint16_t nparams;
    const struct pcom_param *params;
    pcom_invoke_fn invoke; /* NULL for methods the runtime carries itself (IUnknown's) or cannot remote */
};

struct pcom_interface_info {
    uint32_t magic;   /* PCOM_INTERFACE_INFO_MAGIC */
    uint32_t version; /* PCOM_STUB_ABI_VERSION */
    const IID *iid;
    const char *name;
    uint16_t nmethods; /* vtable slots, inherited ones included; slots 0-2 are IUnknown's */
    const struct pcom_method *methods;
    const void *proxy_vtbl; /* the proxy's vtable: one thunk per slot */
};

/* Called by a generated proxy thunk: marshal the frame, make the call, unmarshal the results. */
HRESULT pcom_proxy_invoke(void *proxy, const struct pcom_interface_info *info, uint16_t method, void *frame);
/* IUnknown's three slots of every proxy. */
HRESULT STDMETHODCALLTYPE pcom_proxy_query_interface(void *proxy, REFIID riid, void **ppv);
ULONG STDMETHODCALLTYPE pcom_proxy_add_ref(void *proxy);
ULONG STDMETHODCALLTYPE pcom_proxy_release(void *proxy);

/* Make an interface's tables known to the runtime (generated code does this from a constructor). */
HRESULT pcom_register_interface(const struct pcom_interface_info *info);
const struct pcom_interface_info *pcom_find_interface(const IID *iid);

#ifdef __cplusplus
}
#endif

#endif
