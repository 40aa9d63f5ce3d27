/* marshal.h: the descriptor-driven marshaling engine: encode, decode, validate and free call arguments. */
#ifndef PCOMI_MARSHAL_H
#define PCOMI_MARSHAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pcom/stub.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the wire is little-endian and so must the host be");

struct pcomi_wbuf;

/* How interface pointers cross: the remoting layer turns a pointer into an object reference and back. The
 * engine only frames it (a 4-byte length, 0 for NULL, then that many bytes). Without these, an interface
 * pointer that is not NULL fails the call with E_NOTIMPL. */
struct pcomi_objref_ops {
    /* Appends the object reference for itf (an interface pointer of type iid) to out. */
    HRESULT (*marshal)(void *ctx, const IID *iid, void *itf, struct pcomi_wbuf *out);
    /* An interface pointer of type iid, with a reference the caller owns, from n bytes. */
    HRESULT (*unmarshal)(void *ctx, const IID *iid, const uint8_t *ref, size_t n, void **out);
    void *ctx;
};

#define PCOMI_MAX_OBJREF 4096 /* bytes of one object reference on the wire */

struct pcomi_limits {
    size_t max_message;  /* bytes in one message body */
    unsigned max_depth;  /* nesting of structs, pointers and arrays */
    const struct pcomi_objref_ops *objrefs; /* decoding interface pointers; NULL: E_NOTIMPL */
};

#define PCOMI_DEFAULT_MAX_MESSAGE (64u << 20)
#define PCOMI_DEFAULT_MAX_DEPTH 64u

/* Bytes a gathering buffer sends from where they are rather than copy: at `at` in data they come in. */
struct pcomi_wseg {
    size_t at;
    const void *ptr;
    size_t len;
};

/* A growing output buffer; offsets are aligned relative to its start, which is a body's start. With gather set,
 * arrays of plain data of at least that many bytes are not copied in but referenced (segs), and sent from the
 * caller's memory, which must then stay as it is until the message is sent. */
struct pcomi_wbuf {
    uint8_t *data;
    size_t len, cap;      /* the bytes copied in */
    struct pcomi_wseg *segs;
    size_t nsegs, capsegs;
    size_t ext;           /* bytes referenced */
    size_t gather;        /* 0: copy everything */
};
#define PCOMI_GATHER_MIN (16u << 10)
void pcomi_wbuf_free(struct pcomi_wbuf *b);
/* Empty again, keeping its memory and its gather setting. */
void pcomi_wbuf_reset(struct pcomi_wbuf *b);
/* The whole message body: copied bytes and referenced ones. */
static inline size_t pcomi_wbuf_size(const struct pcomi_wbuf *b)
{
    return b->len + b->ext;
}
struct iovec;
/* The body as iovecs: into stack when it has room for 2 * nsegs + 1, else into a malloc'd array (*heap, which
 * the caller frees). NULL when out of memory. */
struct iovec *pcomi_wbuf_iov(const struct pcomi_wbuf *b, struct iovec *stack, int nstack, int *niov, void **heap);
/* Append n bytes at the given alignment (zero padding). NULL when memory runs out. */
void *pcomi_wbuf_append(struct pcomi_wbuf *b, size_t n, size_t align);

/* Bump allocation for one call's server-side [in] data: reset after the call, its first chunk kept. */
struct pcomi_arena_chunk;
struct pcomi_arena {
    struct pcomi_arena_chunk *head;
    size_t used;   /* bytes handed out since the last reset, for the per-call budget */
};
void *pcomi_arena_alloc(struct pcomi_arena *a, size_t n);   /* zeroed, 16-aligned; NULL when out of memory */
void pcomi_arena_reset(struct pcomi_arena *a);
void pcomi_arena_free(struct pcomi_arena *a);

/* The parameters with direction flag dir (PCOM_PF_IN for a request, PCOM_PF_OUT for a response);
 * objrefs marshals interface pointers (NULL: only NULL ones can be sent). */
HRESULT pcomi_encode(const struct pcom_method *m, const void *frame, struct pcomi_wbuf *out, uint8_t dir,
                     const struct pcomi_objref_ops *objrefs);
/* Client: the [in] and [in, out] parameters of a call. */
HRESULT pcomi_encode_in(const struct pcom_method *m, const void *frame, struct pcomi_wbuf *out);
/* Client: fails with E_POINTER when a [ref] pointer the caller passed is NULL, before anything is sent. */
HRESULT pcomi_check_ref_params(const struct pcom_method *m, const void *frame);
/* Client: the results of a successful call into the caller's memory; on failure nothing is left allocated
 * and [out] pointers to pointers are NULL. */
HRESULT pcomi_decode_out(const struct pcom_method *m, const uint8_t *body, size_t len, void *frame,
                         const struct pcomi_limits *lim);
/* Where a body still arriving comes from: read puts the next n bytes at dst, or returns a negative errno. */
struct pcomi_body_source {
    int (*read)(void *ctx, void *dst, size_t n);
    void *ctx;
    size_t direct_min; /* flat arrays at least this large are read straight into place; 0: PCOMI_GATHER_MIN */
};
/* pcomi_decode_out over a body of len bytes read from src as the decode goes: large flat arrays are read straight
 * into the caller's memory. All len bytes are read, whatever the outcome,
 * unless src fails: then *src_err is its error (the connection is broken) and the result RPC_E_DISCONNECTED. */
HRESULT pcomi_decode_out_from(const struct pcom_method *m, const struct pcomi_body_source *src, size_t len,
                              void *frame, const struct pcomi_limits *lim, int *src_err);
/* Client, after a failed call: NULL every [out] pointer-to-pointer target, as COM requires. */
void pcomi_clear_out(const struct pcom_method *m, void *frame);

/* Server: decode a request into a zeroed frame from the arena; flat arrays may point into body, which must
 * outlive the call. [out] storage is allocated here too. */
HRESULT pcomi_decode_in(const struct pcom_method *m, const uint8_t *body, size_t len, void *frame,
                        struct pcomi_arena *arena, const struct pcomi_limits *lim);
/* Server: the [out] and [in, out] parameters after the object returned. */
HRESULT pcomi_encode_out(const struct pcom_method *m, const void *frame, struct pcomi_wbuf *out);
/* Server: free what the object allocated for [out] and [in, out] parameters (with pcom_alloc). */
void pcomi_free_out(const struct pcom_method *m, void *frame);
/* Server, after the call: release the interface pointers decoded for [in]-only parameters (their memory is
 * the arena's). */
void pcomi_release_in(const struct pcom_method *m, void *frame);
/* Whether the method's results can carry an interface pointer (unmarshaling one may call its exporter). */
bool pcomi_results_have_itf(const struct pcom_method *m);

/* Free the memory a decoded value of type t at p owns (not p itself). base evaluates size_is. */
void pcomi_free_value(const struct pcom_type *t, void *p, const void *base);

#endif
