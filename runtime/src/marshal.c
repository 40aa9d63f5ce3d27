/* marshal.c: the one engine that walks type descriptors to encode, decode, check and free call data. */
#include "marshal.h"

#include <pcom/pcom.h>

#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

/* ---- output buffer ---- */

void pcomi_wbuf_free(struct pcomi_wbuf *b)
{
    free(b->data);
    free(b->segs);
    size_t gather = b->gather;
    memset(b, 0, sizeof(*b));
    b->gather = gather;
}

void pcomi_wbuf_reset(struct pcomi_wbuf *b)
{
    b->len = 0;
    b->nsegs = 0;
    b->ext = 0;
}

void *pcomi_wbuf_append(struct pcomi_wbuf *b, size_t n, size_t align)
{
    /* alignment is of the position in the whole body, referenced bytes included */
    size_t at = b->len + b->ext;
    size_t pad = ((at + align - 1) & ~(align - 1)) - at;
    size_t start = b->len + pad;
    if (start < b->len || start + n < start)
        return NULL;
    /* an empty buffer has no data yet: allocate even for n == 0, so the result is never NULL on success */
    if (start + n > b->cap || !b->data) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < start + n) {
            if (cap > SIZE_MAX / 2)
                return NULL;
            cap *= 2;
        }
        uint8_t *d = realloc(b->data, cap);
        if (!d)
            return NULL;
        b->data = d;
        b->cap = cap;
    }
    memset(b->data + b->len, 0, start - b->len);
    b->len = start + n;
    return b->data + start;
}

/* n bytes at p, aligned, by reference. */
static void *wbuf_reference(struct pcomi_wbuf *b, const void *p, size_t n, size_t align)
{
    if (!pcomi_wbuf_append(b, 0, align))
        return NULL;
    if (b->nsegs == b->capsegs) {
        size_t cap = b->capsegs ? b->capsegs * 2 : 8;
        struct pcomi_wseg *s = realloc(b->segs, cap * sizeof(*s));
        if (!s)
            return NULL;
        b->segs = s;
        b->capsegs = cap;
    }
    b->segs[b->nsegs++] = (struct pcomi_wseg){b->len, p, n};
    b->ext += n;
    return (void *)p;
}

struct iovec *pcomi_wbuf_iov(const struct pcomi_wbuf *b, struct iovec *stack, int nstack, int *niov, void **heap)
{
    *heap = NULL;
    size_t need = 2 * b->nsegs + 1;
    struct iovec *iov = stack;
    if (need > (size_t)nstack) {
        if (need > INT32_MAX || !(iov = malloc(need * sizeof(*iov))))
            return NULL;
        *heap = iov;
    }
    int n = 0;
    size_t from = 0;
    for (size_t i = 0; i < b->nsegs; i++) {
        if (b->segs[i].at > from)
            iov[n++] = (struct iovec){b->data + from, b->segs[i].at - from};
        if (b->segs[i].len)
            iov[n++] = (struct iovec){(void *)b->segs[i].ptr, b->segs[i].len};
        from = b->segs[i].at;
    }
    if (b->len > from)
        iov[n++] = (struct iovec){b->data + from, b->len - from};
    *niov = n;
    return iov;
}

/* ---- per-call arena ---- */

struct pcomi_arena_chunk {
    struct pcomi_arena_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK 16384u

void *pcomi_arena_alloc(struct pcomi_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    struct pcomi_arena_chunk *c = a->head;
    if (!c || c->size - c->used < need) {
        size_t size = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        c = malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->size = size;
        c->used = 0;
        /* keep the first chunk first: it is the one kept across resets */
        if (a->head) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = NULL;
            a->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += need;
    a->used += need;
    memset(p, 0, n);
    return p;
}

void pcomi_arena_reset(struct pcomi_arena *a)
{
    if (!a->head)
        return;
    struct pcomi_arena_chunk *c = a->head->next;
    while (c) {
        struct pcomi_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head->next = NULL;
    a->head->used = 0;
    a->used = 0;
}

void pcomi_arena_free(struct pcomi_arena *a)
{
    pcomi_arena_reset(a);
    free(a->head);
    a->head = NULL;
}

/* ---- type facts ---- */

static size_t scalar_size(uint8_t kind)
{
    switch (kind) {
    case PCOM_KIND_I8: case PCOM_KIND_U8: return 1;
    case PCOM_KIND_I16: case PCOM_KIND_U16: return 2;
    case PCOM_KIND_I32: case PCOM_KIND_U32: case PCOM_KIND_F32: case PCOM_KIND_ENUM: return 4;
    case PCOM_KIND_I64: case PCOM_KIND_U64: case PCOM_KIND_F64: return 8;
    default: return 0;
    }
}

/* Wire alignment: the largest alignment of what the value carries, pointers counting as their 4-byte
 * marker or count. Bounded by depth so a malformed table cannot recurse forever. */
static size_t wire_align(const struct pcom_type *t, int depth)
{
    if (depth > 32)
        return 8;
    size_t s = scalar_size(t->kind);
    if (s)
        return s;
    switch (t->kind) {
    case PCOM_KIND_GUID:
    case PCOM_KIND_POINTER:
    case PCOM_KIND_STRING:
    case PCOM_KIND_INTERFACE:
        return 4;
    case PCOM_KIND_ARRAY: {
        size_t a = wire_align(t->elem, depth + 1);
        return (t->length_is || t->count == 0) && a < 4 ? 4 : a;
    }
    case PCOM_KIND_UNION: {
        size_t a = 4;
        for (uint32_t i = 0; i < t->count; i++)
            if (t->arms[i].type) {
                size_t b = wire_align(t->arms[i].type, depth + 1);
                a = b > a ? b : a;
            }
        if (t->default_arm) {
            size_t b = wire_align(t->default_arm, depth + 1);
            a = b > a ? b : a;
        }
        return a;
    }
    case PCOM_KIND_STRUCT: {
        size_t a = 1;
        for (uint32_t i = 0; i < t->count; i++) {
            size_t b = wire_align(t->fields[i].type, depth + 1);
            a = b > a ? b : a;
        }
        return a;
    }
    default:
        return 1;
    }
}

/* A lower bound of the bytes one value takes on the wire: a count of n values needs n times this. */
static size_t wire_min(const struct pcom_type *t, int depth)
{
    if (depth > 8)
        return 1;
    size_t s = scalar_size(t->kind);
    if (s)
        return s;
    switch (t->kind) {
    case PCOM_KIND_GUID: return 16;
    case PCOM_KIND_STRING: return 4;
    case PCOM_KIND_INTERFACE: return 4;
    case PCOM_KIND_POINTER:
        if ((t->flags & PCOM_TF_UNIQUE) || t->size_is)
            return 4;
        return wire_min(t->elem, depth + 1);
    case PCOM_KIND_ARRAY:
        if (t->length_is || t->count == 0)
            return 4;
        return t->count * wire_min(t->elem, depth + 1);
    case PCOM_KIND_UNION: return 4;
    case PCOM_KIND_STRUCT: {
        size_t sum = 0;
        for (uint32_t i = 0; i < t->count; i++)
            sum += wire_min(t->fields[i].type, depth + 1);
        return sum ? sum : 1;
    }
    default: return 1;
    }
}

static bool is_conformant_struct(const struct pcom_type *t)
{
    return t->kind == PCOM_KIND_STRUCT && t->count > 0 && t->fields[t->count - 1].type->kind == PCOM_KIND_ARRAY &&
           t->fields[t->count - 1].type->count == 0;
}

/* Whether a value is, or holds inline or behind pointers, a value of one of the kinds in the mask (bit 1 << kind).
 * Nesting deeper than 32 counts as yes: callers then take the careful path. */
static bool holds_kind(const struct pcom_type *t, uint32_t kinds, int depth)
{
    if (depth > 32 || (kinds & (1u << t->kind)))
        return true;
    switch (t->kind) {
    case PCOM_KIND_ARRAY:
    case PCOM_KIND_POINTER:
    case PCOM_KIND_STRING:
        return t->elem && holds_kind(t->elem, kinds, depth + 1);
    case PCOM_KIND_STRUCT:
        for (uint32_t i = 0; i < t->count; i++)
            if (holds_kind(t->fields[i].type, kinds, depth + 1))
                return true;
        return false;
    case PCOM_KIND_UNION:
        for (uint32_t i = 0; i < t->count; i++)
            if (t->arms[i].type && holds_kind(t->arms[i].type, kinds, depth + 1))
                return true;
        return t->default_arm && holds_kind(t->default_arm, kinds, depth + 1);
    default:
        return false;
    }
}
_Static_assert(PCOM_KIND_COUNT_ <= 32, "kinds are bits of a uint32_t");

/* Whether a value owns memory reachable through pointers (so freeing must walk it). */
static bool owns_memory(const struct pcom_type *t)
{
    return holds_kind(t, 1u << PCOM_KIND_POINTER | 1u << PCOM_KIND_STRING | 1u << PCOM_KIND_INTERFACE, 0);
}

/* Whether a value can hold an interface pointer: only those are walked after a call. */
static bool has_itf(const struct pcom_type *t)
{
    return holds_kind(t, 1u << PCOM_KIND_INTERFACE, 0);
}

/* Whether a value holds an integer range-checked on receipt. Bounded like the walks above. */
static bool has_range(const struct pcom_type *t, int depth)
{
    if (depth > 32 || (t->flags & PCOM_TF_RANGE))
        return true;
    if (t->kind == PCOM_KIND_ARRAY)
        return has_range(t->elem, depth + 1);
    if (t->kind == PCOM_KIND_STRUCT)
        for (uint32_t i = 0; i < t->count; i++)
            if (has_range(t->fields[i].type, depth + 1))
                return true;
    return false;
}

/* Whether received values may be copied (or left in place) as bytes: flat, and nothing to check. */
static bool decode_flat(const struct pcom_type *t)
{
    return (t->flags & PCOM_TF_FLAT) && !has_range(t, 0);
}

static const struct pcom_type *union_arm(const struct pcom_type *t, int64_t disc, bool *found)
{
    for (uint32_t i = 0; i < t->count; i++)
        if (t->arms[i].value == disc) {
            *found = true;
            return t->arms[i].type;
        }
    *found = t->union_has_default;
    return t->default_arm;
}

static bool eval(pcom_expr_fn fn, const void *base, uint64_t *out)
{
    return fn && base && fn(base, out) && *out <= UINT32_MAX;
}

/* ---- encoding ---- */

struct enc {
    struct pcomi_wbuf *b;
    unsigned depth;
    const struct pcomi_objref_ops *objrefs;
};

static HRESULT put(struct enc *e, const void *src, size_t n, size_t align)
{
    void *dst = pcomi_wbuf_append(e->b, n, align);
    if (!dst)
        return E_OUTOFMEMORY;
    if (n)
        memcpy(dst, src, n);
    return S_OK;
}

static HRESULT put_u32(struct enc *e, uint64_t v)
{
    uint32_t x = (uint32_t)v;
    return put(e, &x, 4, 4);
}

static HRESULT encode_value(struct enc *e, const struct pcom_type *t, const void *p, const void *base);

static HRESULT encode_elements(struct enc *e, const struct pcom_type *elem, const void *p, uint64_t n,
                               const void *base)
{
    if (n == 0)
        return S_OK;
    if (elem->flags & PCOM_TF_FLAT) {
        size_t bytes = (size_t)n * elem->size;
        /* a large array goes from where it is, without a copy into the message */
        if (e->b->gather && bytes >= e->b->gather)
            return wbuf_reference(e->b, p, bytes, wire_align(elem, 0)) ? S_OK : E_OUTOFMEMORY;
        return put(e, p, bytes, wire_align(elem, 0));
    }
    for (uint64_t i = 0; i < n; i++) {
        HRESULT hr = encode_value(e, elem, (const uint8_t *)p + i * elem->size, base);
        if (FAILED(hr))
            return hr;
    }
    return S_OK;
}

static HRESULT encode_struct(struct enc *e, const struct pcom_type *t, const void *p)
{
    HRESULT hr;
    if (t->flags & PCOM_TF_FLAT)
        return put(e, p, t->size, wire_align(t, 0));
    size_t align = wire_align(t, 0);
    if (!pcomi_wbuf_append(e->b, 0, align))
        return E_OUTOFMEMORY;
    uint64_t tail = 0;
    if (is_conformant_struct(t)) {
        /* the count of the trailing array comes first, so a receiver can size the struct */
        const struct pcom_type *arr = t->fields[t->count - 1].type;
        if (!eval(arr->size_is, p, &tail))
            return E_INVALIDARG;
        if (FAILED(hr = put_u32(e, tail)))
            return hr;
    }
    for (uint32_t i = 0; i < t->count; i++) {
        const struct pcom_field *f = &t->fields[i];
        const void *fp = (const uint8_t *)p + f->offset;
        if (f->type->kind == PCOM_KIND_ARRAY && f->type->count == 0)
            hr = encode_elements(e, f->type->elem, fp, tail, p);
        else
            hr = encode_value(e, f->type, fp, p);
        if (FAILED(hr))
            return hr;
    }
    return S_OK;
}

static HRESULT encode_value(struct enc *e, const struct pcom_type *t, const void *p, const void *base)
{
    HRESULT hr;
    if (++e->depth > PCOMI_DEFAULT_MAX_DEPTH) {
        e->depth--;
        return E_INVALIDARG;
    }
    switch (t->kind) {
    case PCOM_KIND_I8: case PCOM_KIND_U8: case PCOM_KIND_I16: case PCOM_KIND_U16:
    case PCOM_KIND_I32: case PCOM_KIND_U32: case PCOM_KIND_I64: case PCOM_KIND_U64:
    case PCOM_KIND_F32: case PCOM_KIND_F64:
        hr = put(e, p, scalar_size(t->kind), scalar_size(t->kind));
        break;
    case PCOM_KIND_ENUM: {
        int32_t v = (int32_t) * (const int *)p;
        hr = put(e, &v, 4, 4);
        break;
    }
    case PCOM_KIND_GUID:
        hr = put(e, p, 16, 4);
        break;
    case PCOM_KIND_STRUCT:
        hr = encode_struct(e, t, p);
        break;
    case PCOM_KIND_ARRAY: {
        uint64_t n = t->count;
        if (t->length_is) {
            if (!eval(t->length_is, base, &n) || n > t->count) {
                hr = E_INVALIDARG;
                break;
            }
            if (FAILED(hr = put_u32(e, n)))
                break;
        }
        hr = encode_elements(e, t->elem, p, n, base);
        break;
    }
    case PCOM_KIND_POINTER: {
        const void *v = *(const void *const *)p;
        if (t->flags & PCOM_TF_UNIQUE) {
            if (FAILED(hr = put_u32(e, v != NULL)) || !v)
                break;
        } else if (!v) {
            hr = E_POINTER;
            break;
        }
        if (!t->size_is) {
            /* one level, as decode_pointee counts it */
            hr = t->elem->kind == PCOM_KIND_STRUCT ? encode_struct(e, t->elem, v) : encode_value(e, t->elem, v, base);
            break;
        }
        uint64_t n, l;
        if (!eval(t->size_is, base, &n)) {
            hr = E_INVALIDARG;
            break;
        }
        l = n;
        if (t->length_is && (!eval(t->length_is, base, &l) || l > n)) {
            hr = E_INVALIDARG;
            break;
        }
        if (FAILED(hr = put_u32(e, n)) || (t->length_is && FAILED(hr = put_u32(e, l))))
            break;
        hr = encode_elements(e, t->elem, v, l, base);
        break;
    }
    case PCOM_KIND_STRING: {
        const void *v = *(const void *const *)p;
        if (t->flags & PCOM_TF_UNIQUE) {
            if (FAILED(hr = put_u32(e, v != NULL)) || !v)
                break;
        } else if (!v) {
            hr = E_POINTER;
            break;
        }
        size_t unit = t->elem->size, n = 0;
        if (unit == 1)
            n = strlen(v);
        else
            while (((const uint16_t *)v)[n])
                n++;
        if (n + 1 > UINT32_MAX) {
            hr = E_INVALIDARG;
            break;
        }
        if (FAILED(hr = put_u32(e, n + 1)))
            break;
        hr = put(e, v, (n + 1) * unit, unit);
        break;
    }
    case PCOM_KIND_UNION: {
        uint64_t d;
        bool found;
        if (!t->switch_is || !t->switch_is(base, &d)) {
            hr = E_INVALIDARG;
            break;
        }
        int64_t disc = (int64_t)d;
        if (disc < INT32_MIN || disc > INT32_MAX) {
            hr = E_INVALIDARG;
            break;
        }
        const struct pcom_type *arm = union_arm(t, disc, &found);
        if (!found) {
            hr = E_INVALIDARG;
            break;
        }
        int32_t d32 = (int32_t)disc;
        if (FAILED(hr = put(e, &d32, 4, 4)) || !arm)
            break;
        hr = encode_value(e, arm, p, base);
        break;
    }
    case PCOM_KIND_INTERFACE: {
        void *itf = *(void *const *)p;
        const IID *iid = t->iid;
        if (!itf) {
            hr = (t->flags & PCOM_TF_UNIQUE) ? put_u32(e, 0) : E_POINTER;
            break;
        }
        if (!iid && (!t->iid_is || !base || !t->iid_is(base, &iid) || !iid)) {
            hr = E_INVALIDARG;
            break;
        }
        if (!e->objrefs) {
            hr = E_NOTIMPL;
            break;
        }
        /* the length goes first, written once the reference is: its size is the remoting layer's */
        if (FAILED(hr = put_u32(e, 0)))
            break;
        size_t at = e->b->len;
        if (FAILED(hr = e->objrefs->marshal(e->objrefs->ctx, iid, itf, e->b)))
            break;
        size_t n = e->b->len - at;
        if (n == 0 || n > PCOMI_MAX_OBJREF) {
            hr = E_UNEXPECTED;
            break;
        }
        uint32_t n32 = (uint32_t)n;
        memcpy(e->b->data + at - 4, &n32, 4);
        break;
    }
    default:
        hr = E_NOTIMPL;
        break;
    }
    e->depth--;
    return hr;
}

static bool is_in(const struct pcom_param *p)
{
    return p->flags & PCOM_PF_IN;
}

static bool is_out(const struct pcom_param *p)
{
    return p->flags & PCOM_PF_OUT;
}

HRESULT pcomi_check_ref_params(const struct pcom_method *m, const void *frame)
{
    for (uint16_t i = 0; i < m->nparams; i++) {
        const struct pcom_param *p = &m->params[i];
        const struct pcom_type *t = p->type;
        bool pointer = t->kind == PCOM_KIND_POINTER || t->kind == PCOM_KIND_STRING || t->kind == PCOM_KIND_INTERFACE;
        if (pointer && !(t->flags & PCOM_TF_UNIQUE) && !*(const void *const *)((const uint8_t *)frame + p->offset))
            return E_POINTER;
    }
    return S_OK;
}

/* The parameters that travel one way: those with the direction flag given. */
HRESULT pcomi_encode(const struct pcom_method *m, const void *frame, struct pcomi_wbuf *out, uint8_t dir,
                     const struct pcomi_objref_ops *objrefs)
{
    struct enc e = {out, 0, objrefs};
    for (uint16_t i = 0; i < m->nparams; i++) {
        const struct pcom_param *p = &m->params[i];
        if (!(p->flags & dir))
            continue;
        HRESULT hr = encode_value(&e, p->type, (const uint8_t *)frame + p->offset, frame);
        if (FAILED(hr))
            return hr;
    }
    return S_OK;
}

HRESULT pcomi_encode_in(const struct pcom_method *m, const void *frame, struct pcomi_wbuf *out)
{
    return pcomi_encode(m, frame, out, PCOM_PF_IN, NULL);
}

HRESULT pcomi_encode_out(const struct pcom_method *m, const void *frame, struct pcomi_wbuf *out)
{
    return pcomi_encode(m, frame, out, PCOM_PF_OUT, NULL);
}

/* ---- decoding ---- */

/* Counts read from the wire, checked against the expressions once every parameter is decoded
 * (an expression may name a parameter that comes later). */
struct check {
    pcom_expr_fn fn;
    const void *base;
    uint64_t value;
};

enum alloc_mode {
    ALLOC_ARENA, /* server [in]: freed with the call; flat arrays may stay in the receive buffer */
    ALLOC_HEAP,  /* client [out], server [in, out]: pcom_alloc, freed by whoever owns the result */
};

struct dec {
    const uint8_t *data; /* the body from offset base on */
    size_t len, pos;
    size_t base, filled; /* data holds the body's bytes [base, filled) */
    /* A body still arriving: its bytes come from src as the decode needs them, into buf (cap bytes, grown as they
     * arrive), and large flat arrays straight to where they belong, after which the window starts again at base.
     * What the decode may allocate is earned as bytes arrive (granted of at most budget_max), so a header that
     * announces a large body buys nothing by itself. */
    const struct pcomi_body_source *src;
    uint8_t *buf;
    size_t cap, granted, budget_max;
    int src_err;
    unsigned depth, max_depth;
    enum alloc_mode mode;
    struct pcomi_arena *arena;
    size_t budget;  /* bytes the decode may still allocate */
    struct check *checks;
    size_t nchecks, capchecks;
    void **heap;    /* pcom_alloc'd blocks, freed all at once if the decode fails */
    size_t nheap, capheap;
    void **itfs;    /* interface pointers unmarshaled, released if the decode fails */
    size_t nitfs, capitfs;
    const struct pcomi_objref_ops *objrefs;
    bool oom;
};

/* k more of a streamed body's bytes arrived: the decode may allocate a few times that more. */
static void arrived(struct dec *d, size_t k)
{
    size_t add = k > (d->budget_max - d->granted) / 4 ? d->budget_max - d->granted : 4 * k;
    d->granted += add;
    d->budget += add;
}

static HRESULT source_read(struct dec *d, void *dst, size_t n)
{
    int rc = d->src_err ? d->src_err : d->src->read(d->src->ctx, dst, n);
    if (rc < 0) {
        d->src_err = rc;
        pcom_set_error_message("the connection ended inside a reply");
        return RPC_E_DISCONNECTED;
    }
    arrived(d, n);
    return S_OK;
}

/* Brings the body's bytes up to upto into the buffer, which doubles as they come. */
static HRESULT pull(struct dec *d, size_t upto)
{
    while (d->filled < upto) {
        size_t used = d->filled - d->base;
        if (used == d->cap) {
            size_t most = d->len - d->base, grow = d->cap ? d->cap * 2 : 4096;
            uint8_t *nb = realloc(d->buf, grow < most ? grow : most);
            if (!nb) {
                d->oom = true;
                return E_OUTOFMEMORY;
            }
            d->buf = nb;
            d->data = nb;
            d->cap = grow < most ? grow : most;
        }
        size_t k = upto - d->filled < d->cap - used ? upto - d->filled : d->cap - used;
        HRESULT hr = source_read(d, d->buf + used, k);
        if (FAILED(hr))
            return hr;
        d->filled += k;
    }
    return S_OK;
}

static HRESULT take(struct dec *d, size_t n, size_t align, const uint8_t **out)
{
    size_t start = (d->pos + align - 1) & ~(align - 1);
    if (start > d->len || d->len - start < n)
        return RPC_E_INVALID_DATA;
    HRESULT hr = pull(d, start + n);
    if (FAILED(hr))
        return hr;
    *out = d->data ? d->data + (start - d->base) : d->data; /* no buffer yet: nothing taken, nothing to point at */
    d->pos = start + n;
    return S_OK;
}

static HRESULT get_u32(struct dec *d, uint32_t *v)
{
    const uint8_t *src;
    HRESULT hr = take(d, 4, 4, &src);
    if (SUCCEEDED(hr))
        memcpy(v, src, 4);
    return hr;
}

static void *dec_alloc(struct dec *d, size_t n)
{
    if (n > d->budget)
        return NULL;
    d->budget -= n;
    if (d->mode == ALLOC_ARENA) {
        void *p = pcomi_arena_alloc(d->arena, n);
        d->oom |= !p;
        return p;
    }
    if (d->nheap == d->capheap) {
        size_t cap = d->capheap ? d->capheap * 2 : 16;
        void **h = realloc(d->heap, cap * sizeof(*h));
        if (!h) {
            d->oom = true;
            return NULL;
        }
        d->heap = h;
        d->capheap = cap;
    }
    void *p = pcom_alloc(n ? n : 1);
    if (!p) {
        d->oom = true;
        return NULL;
    }
    memset(p, 0, n);
    d->heap[d->nheap++] = p;
    return p;
}

/* A failed decode frees every block it allocated, without walking half-filled values. */
static void dec_fail_free(struct dec *d)
{
    for (size_t i = 0; i < d->nheap; i++)
        pcom_free(d->heap[i]);
    d->nheap = 0;
    for (size_t i = 0; i < d->nitfs; i++)
        IUnknown_Release((IUnknown *)d->itfs[i]);
    d->nitfs = 0;
}

static void dec_fini(struct dec *d)
{
    free(d->checks);
    free(d->heap);
    free(d->itfs);
}

/* Remembers an unmarshaled interface pointer until the decode is known to succeed. */
static bool dec_keep_itf(struct dec *d, void *itf)
{
    if (d->nitfs == d->capitfs) {
        size_t cap = d->capitfs ? d->capitfs * 2 : 8;
        void **n = realloc(d->itfs, cap * sizeof(*n));
        if (!n)
            return false;
        d->itfs = n;
        d->capitfs = cap;
    }
    d->itfs[d->nitfs++] = itf;
    return true;
}

static HRESULT peek_u32(struct dec *d, uint32_t *v)
{
    size_t save = d->pos;
    HRESULT hr = get_u32(d, v);
    d->pos = save;
    return hr;
}

static bool add_check(struct dec *d, pcom_expr_fn fn, const void *base, uint64_t value)
{
    if (!fn || !base)
        return true;
    if (d->nchecks == d->capchecks) {
        size_t cap = d->capchecks ? d->capchecks * 2 : 8;
        struct check *c = realloc(d->checks, cap * sizeof(*c));
        if (!c) {
            d->oom = true;
            return false;
        }
        d->checks = c;
        d->capchecks = cap;
    }
    d->checks[d->nchecks++] = (struct check){fn, base, value};
    return true;
}

static HRESULT run_checks(struct dec *d)
{
    for (size_t i = 0; i < d->nchecks; i++) {
        uint64_t v;
        if (!d->checks[i].fn(d->checks[i].base, &v) || v != d->checks[i].value)
            return RPC_E_INVALID_DATA;
    }
    return S_OK;
}

static HRESULT decode_value(struct dec *d, const struct pcom_type *t, void *p, const void *base);

/* n elements into dst, which has room for them */
static HRESULT decode_elements(struct dec *d, const struct pcom_type *elem, void *dst, uint64_t n, const void *base)
{
    if (n == 0)
        return S_OK;
    if (decode_flat(elem)) {
        size_t bytes = (size_t)n * elem->size;
        size_t align = wire_align(elem, 0), start = (d->pos + align - 1) & ~(align - 1);
        if (d->src && bytes >= (d->src->direct_min ? d->src->direct_min : PCOMI_GATHER_MIN) && start <= d->len && d->len - start >= bytes &&
            start + bytes > d->filled) {
            /* not here yet: what is buffered of it, then the rest from the connection straight into place */
            HRESULT hr = pull(d, start);
            if (FAILED(hr))
                return hr;
            size_t have = d->filled - start;
            if (have)
                memcpy(dst, d->data + (start - d->base), have);
            if (FAILED(hr = source_read(d, (uint8_t *)dst + have, bytes - have)))
                return hr;
            /* nothing before the decode's position is looked at again: the buffer starts over after the array */
            d->filled = d->pos = d->base = start + bytes;
            return S_OK;
        }
        const uint8_t *src;
        HRESULT hr = take(d, bytes, align, &src);
        if (SUCCEEDED(hr))
            memcpy(dst, src, (size_t)n * elem->size);
        return hr;
    }
    for (uint64_t i = 0; i < n; i++) {
        HRESULT hr = decode_value(d, elem, (uint8_t *)dst + i * elem->size, base);
        if (FAILED(hr))
            return hr;
    }
    return S_OK;
}

/* Before allocating n elements: the bytes left must be able to hold them, and the budget must allow it. */
static HRESULT check_count(struct dec *d, uint64_t transmitted, uint64_t allocated, const struct pcom_type *elem)
{
    size_t min = wire_min(elem, 0);
    if (transmitted > (d->len - d->pos) / (min ? min : 1))
        return RPC_E_INVALID_DATA;
    if (d->src && allocated) {
        /* a body still arriving: the elements' bytes come before the memory for them */
        HRESULT hr = pull(d, d->pos + (size_t)transmitted * min);
        if (FAILED(hr))
            return hr;
    }
    if (elem->size && allocated > d->budget / elem->size)
        return RPC_E_INVALID_DATA;
    return S_OK;
}

static HRESULT decode_struct(struct dec *d, const struct pcom_type *t, void *p, uint64_t tail)
{
    HRESULT hr;
    if (decode_flat(t)) {
        const uint8_t *src;
        if (SUCCEEDED(hr = take(d, t->size, wire_align(t, 0), &src)))
            memcpy(p, src, t->size);
        return hr;
    }
    const uint8_t *unused;
    if (FAILED(hr = take(d, 0, wire_align(t, 0), &unused)))
        return hr;
    if (is_conformant_struct(t)) {
        uint32_t n;
        if (FAILED(hr = get_u32(d, &n)))
            return hr;
        if (n != tail)
            return RPC_E_INVALID_DATA;
        if (!add_check(d, t->fields[t->count - 1].type->size_is, p, n))
            return E_OUTOFMEMORY;
    }
    for (uint32_t i = 0; i < t->count; i++) {
        const struct pcom_field *f = &t->fields[i];
        void *fp = (uint8_t *)p + f->offset;
        if (f->type->kind == PCOM_KIND_ARRAY && f->type->count == 0)
            hr = decode_elements(d, f->type->elem, fp, tail, p);
        else
            hr = decode_value(d, f->type, fp, p);
        if (FAILED(hr))
            return hr;
    }
    return S_OK;
}

/* A conformant struct's size depends on the count that starts it on the wire. */
static HRESULT conformant_size(struct dec *d, const struct pcom_type *t, uint64_t *tail, size_t *size)
{
    size_t start = (d->pos + wire_align(t, 0) - 1) & ~(wire_align(t, 0) - 1);
    uint32_t n;
    if (start > d->len || d->len - start < 4)
        return RPC_E_INVALID_DATA;
    HRESULT phr = pull(d, start + 4);
    if (FAILED(phr))
        return phr;
    memcpy(&n, d->data + (start - d->base), 4);
    const struct pcom_field *last = &t->fields[t->count - 1];
    const struct pcom_type *elem = last->type->elem;
    HRESULT hr = check_count(d, n, n, elem);
    if (FAILED(hr))
        return hr;
    size_t need = last->offset + (size_t)n * elem->size;
    *size = need > t->size ? need : t->size;
    *tail = n;
    return S_OK;
}

/* The pointee of a pointer: fresh memory (or the receive buffer), filled from the wire. */
static HRESULT decode_pointee(struct dec *d, const struct pcom_type *t, void **out, const void *base)
{
    HRESULT hr;
    const struct pcom_type *elem = t->elem;
    if (!t->size_is) {
        uint64_t tail = 0;
        size_t size = elem->size;
        if (is_conformant_struct(elem) && FAILED(hr = conformant_size(d, elem, &tail, &size)))
            return hr;
        void *v = dec_alloc(d, size);
        if (!v)
            return d->oom ? E_OUTOFMEMORY : RPC_E_INVALID_DATA;
        *out = v;
        return elem->kind == PCOM_KIND_STRUCT ? decode_struct(d, elem, v, tail) : decode_value(d, elem, v, base);
    }
    uint32_t n, l;
    if (FAILED(hr = get_u32(d, &n)))
        return hr;
    l = n;
    if (t->length_is && FAILED(hr = get_u32(d, &l)))
        return hr;
    if (l > n)
        return RPC_E_INVALID_DATA;
    if (FAILED(hr = check_count(d, l, n, elem)))
        return hr;
    if (!add_check(d, t->size_is, base, n) || (t->length_is && !add_check(d, t->length_is, base, l)))
        return E_OUTOFMEMORY;
    /* n == 0 still gives a pointer: the wire says it is not NULL (a [ref] one never is) */
    if (d->mode == ALLOC_ARENA && decode_flat(elem) && l == n) {
        /* plain data stays where it arrived */
        const uint8_t *src;
        if (FAILED(hr = take(d, (size_t)n * elem->size, wire_align(elem, 0), &src)))
            return hr;
        *out = (void *)src;
        return S_OK;
    }
    void *v = dec_alloc(d, (size_t)n * elem->size);
    if (!v)
        return d->oom ? E_OUTOFMEMORY : RPC_E_INVALID_DATA;
    *out = v;
    return decode_elements(d, elem, v, l, base);
}

static HRESULT decode_value(struct dec *d, const struct pcom_type *t, void *p, const void *base)
{
    HRESULT hr;
    const uint8_t *src;
    if (++d->depth > d->max_depth) {
        d->depth--;
        return RPC_E_INVALID_DATA;
    }
    switch (t->kind) {
    case PCOM_KIND_I8: case PCOM_KIND_U8: case PCOM_KIND_I16: case PCOM_KIND_U16:
    case PCOM_KIND_I32: case PCOM_KIND_U32: case PCOM_KIND_I64: case PCOM_KIND_U64:
    case PCOM_KIND_F32: case PCOM_KIND_F64: {
        size_t n = scalar_size(t->kind);
        if (FAILED(hr = take(d, n, n, &src)))
            break;
        memcpy(p, src, n);
        if (t->flags & PCOM_TF_RANGE) {
            int64_t v = 0;
            switch (t->kind) {
            case PCOM_KIND_I8: v = *(int8_t *)p; break;
            case PCOM_KIND_U8: v = *(uint8_t *)p; break;
            case PCOM_KIND_I16: v = *(int16_t *)p; break;
            case PCOM_KIND_U16: v = *(uint16_t *)p; break;
            case PCOM_KIND_I32: v = *(int32_t *)p; break;
            case PCOM_KIND_U32: v = *(uint32_t *)p; break;
            case PCOM_KIND_I64: v = *(int64_t *)p; break;
            case PCOM_KIND_U64: v = *(uint64_t *)p > INT64_MAX ? INT64_MAX : (int64_t) * (uint64_t *)p; break;
            default: break;
            }
            if (v < t->range_min || v > t->range_max)
                hr = RPC_E_INVALID_DATA;
        }
        break;
    }
    case PCOM_KIND_ENUM: {
        int32_t v;
        if (FAILED(hr = take(d, 4, 4, &src)))
            break;
        memcpy(&v, src, 4);
        *(int *)p = v;
        break;
    }
    case PCOM_KIND_GUID:
        if (SUCCEEDED(hr = take(d, 16, 4, &src)))
            memcpy(p, src, 16);
        break;
    case PCOM_KIND_STRUCT:
        /* a conformant struct inline (not behind a pointer) has no room for its tail: only an empty one fits */
        hr = decode_struct(d, t, p, 0);
        break;
    case PCOM_KIND_ARRAY: {
        uint32_t n = t->count;
        if (t->length_is) {
            if (FAILED(hr = get_u32(d, &n)))
                break;
            if (n > t->count) {
                hr = RPC_E_INVALID_DATA;
                break;
            }
            if (!add_check(d, t->length_is, base, n)) {
                hr = E_OUTOFMEMORY;
                break;
            }
        }
        hr = decode_elements(d, t->elem, p, n, base);
        break;
    }
    case PCOM_KIND_POINTER: {
        void **slot = p;
        *slot = NULL;
        if (t->flags & PCOM_TF_UNIQUE) {
            uint32_t marker;
            if (FAILED(hr = get_u32(d, &marker)))
                break;
            if (marker > 1) {
                hr = RPC_E_INVALID_DATA;
                break;
            }
            if (!marker)
                break;
        }
        hr = decode_pointee(d, t, slot, base);
        break;
    }
    case PCOM_KIND_STRING: {
        void **slot = p;
        *slot = NULL;
        if (t->flags & PCOM_TF_UNIQUE) {
            uint32_t marker;
            if (FAILED(hr = get_u32(d, &marker)))
                break;
            if (marker > 1) {
                hr = RPC_E_INVALID_DATA;
                break;
            }
            if (!marker)
                break;
        }
        uint32_t n;
        size_t unit = t->elem->size;
        if (FAILED(hr = get_u32(d, &n)))
            break;
        if (n == 0 || n > (d->len - d->pos) / unit) {
            hr = RPC_E_INVALID_DATA;
            break;
        }
        if (FAILED(hr = take(d, (size_t)n * unit, unit, &src)))
            break;
        bool terminated = unit == 1 ? src[n - 1] == 0 : ((const uint16_t *)(const void *)src)[n - 1] == 0;
        if (!terminated) {
            hr = RPC_E_INVALID_DATA;
            break;
        }
        if (d->mode == ALLOC_ARENA) {
            *slot = (void *)src;
            break;
        }
        void *v = dec_alloc(d, (size_t)n * unit);
        if (!v) {
            hr = d->oom ? E_OUTOFMEMORY : RPC_E_INVALID_DATA;
            break;
        }
        memcpy(v, src, (size_t)n * unit);
        *slot = v;
        break;
    }
    case PCOM_KIND_UNION: {
        int32_t disc;
        bool found;
        if (FAILED(hr = take(d, 4, 4, &src)))
            break;
        memcpy(&disc, src, 4);
        const struct pcom_type *arm = union_arm(t, disc, &found);
        if (!found) {
            hr = RPC_E_INVALID_DATA;
            break;
        }
        if (!add_check(d, t->switch_is, base, (uint64_t)(int64_t)disc)) {
            hr = E_OUTOFMEMORY;
            break;
        }
        hr = arm ? decode_value(d, arm, p, base) : S_OK;
        break;
    }
    case PCOM_KIND_INTERFACE: {
        uint32_t n;
        void **slot = p;
        *slot = NULL;
        if (FAILED(hr = get_u32(d, &n)))
            break;
        if (n == 0) {
            hr = (t->flags & PCOM_TF_UNIQUE) ? S_OK : RPC_E_INVALID_DATA;
            break;
        }
        const IID *iid = t->iid;
        if (n > PCOMI_MAX_OBJREF || FAILED(hr = take(d, n, 1, &src)) ||
            (!iid && (!t->iid_is || !base || !t->iid_is(base, &iid) || !iid))) {
            hr = RPC_E_INVALID_DATA;
            break;
        }
        if (!d->objrefs) {
            hr = E_NOTIMPL;
            break;
        }
        void *itf = NULL;
        if (FAILED(hr = d->objrefs->unmarshal(d->objrefs->ctx, iid, src, n, &itf)))
            break;
        if (!dec_keep_itf(d, itf)) {
            IUnknown_Release((IUnknown *)itf);
            hr = E_OUTOFMEMORY;
            break;
        }
        *slot = itf;
        break;
    }
    default:
        hr = E_NOTIMPL;
        break;
    }
    d->depth--;
    return hr;
}

static void dec_init(struct dec *d, const uint8_t *body, size_t len, const struct pcomi_limits *lim)
{
    memset(d, 0, sizeof(*d));
    d->data = body;
    d->len = d->filled = len;
    d->max_depth = lim && lim->max_depth ? lim->max_depth : PCOMI_DEFAULT_MAX_DEPTH;
    d->objrefs = lim ? lim->objrefs : NULL;
    size_t max = lim && lim->max_message ? lim->max_message : PCOMI_DEFAULT_MAX_MESSAGE;
    /* what a decode may allocate: a few times the message, never more than the limit allows */
    d->budget = len * 4 + 65536 < max * 2 ? len * 4 + 65536 : max * 2;
}

/* A top-level [out] or [in, out] pointer's target: the caller's memory (client) or storage (server).
 * cap (client only) is the elements the caller's target holds, as its size_is said when the call was made:
 * the reply may not carry more, whatever the counts it carries now say. Counts are checked against the
 * expressions once every value is decoded. */
static HRESULT decode_into_target(struct dec *d, const struct pcom_type *t, void *target, const void *base,
                                  const uint64_t *cap)
{
    HRESULT hr;
    if (t->kind != PCOM_KIND_POINTER)
        return decode_value(d, t, target, base);
    if (!t->size_is) {
        if (cap && is_conformant_struct(t->elem)) {
            uint64_t tail;
            size_t size;
            if (FAILED(hr = conformant_size(d, t->elem, &tail, &size)))
                return hr;
            if (tail > *cap)
                return RPC_E_INVALID_DATA;
            return decode_struct(d, t->elem, target, tail);
        }
        return decode_value(d, t->elem, target, base);
    }
    uint32_t n, l;
    if (FAILED(hr = get_u32(d, &n)))
        return hr;
    l = n;
    if (t->length_is && FAILED(hr = get_u32(d, &l)))
        return hr;
    if (l > n)
        return RPC_E_INVALID_DATA;
    if (FAILED(hr = check_count(d, l, 0, t->elem)))
        return hr;
    if (cap && n > *cap)
        return RPC_E_INVALID_DATA;
    if (!add_check(d, t->size_is, base, n))
        return E_OUTOFMEMORY;
    if (t->length_is && !add_check(d, t->length_is, base, l))
        return E_OUTOFMEMORY;
    return decode_elements(d, t->elem, target, l, base);
}

static void free_elements(const struct pcom_type *elem, void *p, uint64_t n, const void *base)
{
    if (!p || !owns_memory(elem))
        return;
    for (uint64_t i = 0; i < n; i++)
        pcomi_free_value(elem, (uint8_t *)p + i * elem->size, base);
}

void pcomi_free_value(const struct pcom_type *t, void *p, const void *base)
{
    switch (t->kind) {
    case PCOM_KIND_STRUCT:
        for (uint32_t i = 0; i < t->count; i++) {
            const struct pcom_field *f = &t->fields[i];
            uint64_t n = 0;
            if (f->type->kind == PCOM_KIND_ARRAY && f->type->count == 0) {
                if (eval(f->type->size_is, p, &n))
                    free_elements(f->type->elem, (uint8_t *)p + f->offset, n, p);
            } else {
                pcomi_free_value(f->type, (uint8_t *)p + f->offset, p);
            }
        }
        break;
    case PCOM_KIND_ARRAY:
        free_elements(t->elem, p, t->count, base);
        break;
    case PCOM_KIND_POINTER: {
        void **slot = p;
        if (!*slot)
            break;
        uint64_t n = 1;
        if (t->size_is && !eval(t->size_is, base, &n))
            n = 0; /* the count is gone: free the block, not what it points to */
        if (t->elem->kind == PCOM_KIND_STRUCT && !t->size_is)
            pcomi_free_value(t->elem, *slot, base);
        else
            free_elements(t->elem, *slot, n, base);
        pcom_free(*slot);
        *slot = NULL;
        break;
    }
    case PCOM_KIND_STRING: {
        void **slot = p;
        pcom_free(*slot);
        *slot = NULL;
        break;
    }
    case PCOM_KIND_INTERFACE: {
        void **slot = p;
        if (*slot)
            IUnknown_Release((IUnknown *)*slot);
        *slot = NULL;
        break;
    }
    case PCOM_KIND_UNION: {
        uint64_t disc;
        bool found;
        if (t->switch_is && t->switch_is(base, &disc)) {
            const struct pcom_type *arm = union_arm(t, (int64_t)disc, &found);
            if (arm)
                pcomi_free_value(arm, p, base);
        }
        break;
    }
    default:
        break;
    }
}

/* Free what a top-level [out] target holds, leaving the target itself. */
static void free_target(const struct pcom_type *t, void *target, const void *base)
{
    if (t->kind != PCOM_KIND_POINTER) {
        pcomi_free_value(t, target, base);
        return;
    }
    if (!t->size_is) {
        pcomi_free_value(t->elem, target, base);
        return;
    }
    uint64_t n;
    if (eval(t->size_is, base, &n))
        free_elements(t->elem, target, n, base);
}

/* Elements a caller's top-level [out] target holds: size_is() elements, a conformant struct's count, or
 * one. Taken before anything is decoded, since the reply may change what the expressions read. */
static uint64_t target_cap(const struct pcom_type *t, const void *target, const void *frame)
{
    uint64_t n = 1;
    if (t->kind != PCOM_KIND_POINTER)
        return 1;
    if (t->size_is && !eval(t->size_is, frame, &n))
        return 0;
    if (!t->size_is && is_conformant_struct(t->elem) &&
        !eval(t->elem->fields[t->elem->count - 1].type->size_is, target, &n))
        return 0;
    return n;
}

/* After a failed call: every [out]-only target the caller passed is cleared (pointers in it NULL), as COM
 * requires, so nothing stale looks like a result. */
void pcomi_clear_out(const struct pcom_method *m, void *frame)
{
    for (uint16_t i = 0; i < m->nparams; i++) {
        const struct pcom_param *p = &m->params[i];
        if (!is_out(p) || is_in(p) || p->type->kind != PCOM_KIND_POINTER)
            continue;
        void *target = *(void **)((uint8_t *)frame + p->offset);
        size_t size = p->type->elem->size;
        uint64_t n = !target ? 0 : p->type->size_is ? target_cap(p->type, target, frame) : 1;
        if (n && size && n <= SIZE_MAX / size)
            memset(target, 0, (size_t)n * size);
    }
}

/* Bytes of a top-level [out] target holding cap elements, to clear it after a failed call. */
static size_t target_size(const struct pcom_type *t, uint64_t cap)
{
    if (t->kind != PCOM_KIND_POINTER)
        return t->size;
    if (t->size_is)
        return (size_t)cap * t->elem->size;
    return t->elem->size; /* a conformant struct: its fixed part, the count among it */
}

static bool is_inout_unique(const struct pcom_param *p)
{
    return is_in(p) && p->type->kind == PCOM_KIND_POINTER && (p->type->flags & PCOM_TF_UNIQUE);
}

static HRESULT decode_out(struct dec *dp, const struct pcom_method *m, void *frame)
{
    struct dec d = *dp;
    d.mode = ALLOC_HEAP;
    HRESULT hr = S_OK;
    /* First what the caller's targets hold, before the reply changes any count they depend on; and what
     * the caller passed in [in, out] is replaced, success or not (COM: it was allocated with pcom_alloc),
     * so it goes now, while its counts are still the ones it was built with. */
    uint64_t caps_local[16], *caps = caps_local;
    if (m->nparams > 16 && !(caps = malloc(m->nparams * sizeof(*caps))))
        hr = E_OUTOFMEMORY;
    for (uint16_t i = 0; i < m->nparams; i++) {
        const struct pcom_param *p = &m->params[i];
        if (!is_out(p))
            continue;
        void *slot = (uint8_t *)frame + p->offset;
        void *target = p->type->kind == PCOM_KIND_POINTER ? *(void **)slot : slot;
        if (!target) {
            if (!is_inout_unique(p))
                hr = E_POINTER;
            continue;
        }
        if (caps)
            caps[i] = target_cap(p->type, target, frame);
        if (is_in(p))
            free_target(p->type, target, frame);
    }
    for (uint16_t i = 0; i < m->nparams && SUCCEEDED(hr); i++) {
        const struct pcom_param *p = &m->params[i];
        if (!is_out(p))
            continue;
        void *slot = (uint8_t *)frame + p->offset;
        void *target = p->type->kind == PCOM_KIND_POINTER ? *(void **)slot : slot;
        if (is_inout_unique(p)) {
            /* the server echoes the marker: the pointer itself cannot change */
            uint32_t marker;
            if (FAILED(hr = get_u32(&d, &marker)))
                break;
            if (marker != (target != NULL)) {
                hr = RPC_E_INVALID_DATA;
                break;
            }
            if (!target)
                continue;
        }
        hr = decode_into_target(&d, p->type, target, frame, &caps[i]);
    }
    if (SUCCEEDED(hr) && d.pos != d.len)
        hr = RPC_E_INVALID_DATA; /* trailing bytes: the reply is not what this method returns */
    if (SUCCEEDED(hr))
        hr = run_checks(&d);
    if (d.oom && SUCCEEDED(hr))
        hr = E_OUTOFMEMORY;
    if (FAILED(hr)) {
        /* leave nothing half-decoded: every block goes, and the caller's [out] memory is cleared */
        dec_fail_free(&d);
        for (uint16_t i = 0; i < m->nparams; i++) {
            const struct pcom_param *p = &m->params[i];
            if (!is_out(p))
                continue;
            void *slot = (uint8_t *)frame + p->offset;
            void *target = p->type->kind == PCOM_KIND_POINTER ? *(void **)slot : slot;
            if (target) /* without caps nothing was decoded: the counts are still the caller's */
                memset(target, 0, target_size(p->type, caps ? caps[i] : target_cap(p->type, target, frame)));
        }
    }
    if (caps != caps_local)
        free(caps);
    dec_fini(&d);
    *dp = d;
    return hr;
}

HRESULT pcomi_decode_out(const struct pcom_method *m, const uint8_t *body, size_t len, void *frame,
                         const struct pcomi_limits *lim)
{
    bool results = false;
    for (uint16_t i = 0; i < m->nparams && !results; i++)
        results = is_out(&m->params[i]);
    if (!results)
        return len ? RPC_E_INVALID_DATA : S_OK; /* a method with nothing to return: the common short cut */
    struct dec d;
    dec_init(&d, body, len, lim);
    return decode_out(&d, m, frame);
}

HRESULT pcomi_decode_out_from(const struct pcom_method *m, const struct pcomi_body_source *src, size_t len,
                              void *frame, const struct pcomi_limits *lim, int *src_err)
{
    struct dec d;
    dec_init(&d, NULL, len, lim);
    d.src = src;
    d.filled = 0;
    d.budget_max = d.budget;
    d.budget = d.granted = d.budget < 65536 ? d.budget : 65536;
    HRESULT hr = decode_out(&d, m, frame);
    /* what the decode did not need (it failed early, or the reply had trailing bytes) is still read, and dropped */
    uint8_t sink[4096];
    while (d.filled < len && !d.src_err) {
        size_t k = len - d.filled < sizeof(sink) ? len - d.filled : sizeof(sink);
        if (FAILED(source_read(&d, sink, k)))
            hr = RPC_E_DISCONNECTED;
        d.filled += k;
    }
    free(d.buf);
    *src_err = d.src_err;
    return hr;
}

HRESULT pcomi_decode_in(const struct pcom_method *m, const uint8_t *body, size_t len, void *frame,
                        struct pcomi_arena *arena, const struct pcomi_limits *lim)
{
    struct dec d;
    dec_init(&d, body, len, lim);
    d.arena = arena;
    HRESULT hr = S_OK;
    for (uint16_t i = 0; i < m->nparams && SUCCEEDED(hr); i++) {
        const struct pcom_param *p = &m->params[i];
        if (!is_in(p))
            continue;
        void *slot = (uint8_t *)frame + p->offset;
        const struct pcom_type *t = p->type;
        d.mode = ALLOC_ARENA;
        if (!is_out(p) || t->kind != PCOM_KIND_POINTER) {
            hr = decode_value(&d, t, slot, frame);
            continue;
        }
        /* [in, out] pointer: the target is the stub's storage; what hangs below it is the object's to
         * replace, so it comes from pcom_alloc */
        if (t->flags & PCOM_TF_UNIQUE) {
            uint32_t marker;
            if (FAILED(hr = get_u32(&d, &marker)))
                break;
            if (marker > 1) {
                hr = RPC_E_INVALID_DATA;
                break;
            }
            if (!marker)
                continue;
        }
        uint64_t tail = 0;
        size_t size = t->elem->size;
        if (t->size_is) {
            uint32_t n;
            if (FAILED(hr = peek_u32(&d, &n)))
                break;
            if (FAILED(hr = check_count(&d, 0, n, t->elem)))
                break;
            size = (size_t)n * t->elem->size;
        } else if (is_conformant_struct(t->elem) && FAILED(hr = conformant_size(&d, t->elem, &tail, &size))) {
            break;
        }
        void *target = NULL;
        if (!(target = dec_alloc(&d, size))) { /* size 0 too: a [ref] target is never NULL */
            hr = d.oom ? E_OUTOFMEMORY : RPC_E_INVALID_DATA;
            break;
        }
        *(void **)slot = target;
        d.mode = ALLOC_HEAP;
        if (!t->size_is && is_conformant_struct(t->elem))
            hr = decode_struct(&d, t->elem, target, tail);
        else
            hr = decode_into_target(&d, t, target, frame, NULL);
    }
    if (SUCCEEDED(hr) && d.pos != d.len)
        hr = RPC_E_INVALID_DATA;
    if (SUCCEEDED(hr))
        hr = run_checks(&d);
    /* storage for [out]-only pointers, sized from the [in] values now that all are known and checked. It is
     * what the response will carry, not what the request did: a few [in] bytes may ask for a large buffer,
     * so it is bounded by the message limit (the results must fit in one response), not by the budget. */
    size_t out_budget = lim && lim->max_message ? lim->max_message : PCOMI_DEFAULT_MAX_MESSAGE;
    for (uint16_t i = 0; i < m->nparams && SUCCEEDED(hr); i++) {
        const struct pcom_param *p = &m->params[i];
        if (is_in(p) || p->type->kind != PCOM_KIND_POINTER)
            continue;
        uint64_t n = 1;
        size_t elem = p->type->elem->size;
        if (p->type->size_is && !eval(p->type->size_is, frame, &n)) {
            hr = RPC_E_INVALID_DATA;
            break;
        }
        if (elem && n > out_budget / elem) {
            hr = RPC_E_INVALID_DATA;
            break;
        }
        out_budget -= (size_t)n * elem;
        void *target = NULL;
        if (elem && !(target = pcomi_arena_alloc(arena, (size_t)n * elem))) { /* n == 0 too, as above */
            hr = E_OUTOFMEMORY;
            break;
        }
        *(void **)((uint8_t *)frame + p->offset) = target;
    }
    if (d.oom && SUCCEEDED(hr))
        hr = E_OUTOFMEMORY;
    if (FAILED(hr)) {
        /* the freed blocks are still in the frame: zero it as it came, so freeing its [out] side is harmless */
        dec_fail_free(&d);
        memset(frame, 0, m->frame_size);
    }
    dec_fini(&d);
    return hr;
}

void pcomi_free_out(const struct pcom_method *m, void *frame)
{
    for (uint16_t i = 0; i < m->nparams; i++) {
        const struct pcom_param *p = &m->params[i];
        if (!is_out(p))
            continue;
        void *slot = (uint8_t *)frame + p->offset;
        void *target = p->type->kind == PCOM_KIND_POINTER ? *(void **)slot : slot;
        if (target)
            free_target(p->type, target, frame);
    }
}


/* Interface pointers inside a value whose memory is the arena's: released, nothing freed. */
static void release_itfs(const struct pcom_type *t, void *p, const void *base, int depth)
{
    if (depth > 64 || !has_itf(t))
        return;
    switch (t->kind) {
    case PCOM_KIND_INTERFACE: {
        void **slot = p;
        if (*slot)
            IUnknown_Release((IUnknown *)*slot);
        *slot = NULL;
        break;
    }
    case PCOM_KIND_STRUCT:
        for (uint32_t i = 0; i < t->count; i++) {
            const struct pcom_field *f = &t->fields[i];
            uint64_t n = 0;
            if (f->type->kind == PCOM_KIND_ARRAY && f->type->count == 0) {
                if (eval(f->type->size_is, p, &n))
                    for (uint64_t k = 0; k < n; k++)
                        release_itfs(f->type->elem, (uint8_t *)p + f->offset + k * f->type->elem->size, p,
                                     depth + 1);
            } else {
                release_itfs(f->type, (uint8_t *)p + f->offset, p, depth + 1);
            }
        }
        break;
    case PCOM_KIND_ARRAY:
        for (uint32_t k = 0; k < t->count; k++)
            release_itfs(t->elem, (uint8_t *)p + k * t->elem->size, base, depth + 1);
        break;
    case PCOM_KIND_POINTER: {
        void *v = *(void **)p;
        uint64_t n = 1;
        if (!v || (t->size_is && !eval(t->size_is, base, &n)))
            break;
        if (t->elem->kind == PCOM_KIND_STRUCT && !t->size_is)
            release_itfs(t->elem, v, base, depth + 1);
        else
            for (uint64_t k = 0; k < n; k++)
                release_itfs(t->elem, (uint8_t *)v + k * t->elem->size, base, depth + 1);
        break;
    }
    case PCOM_KIND_UNION: {
        uint64_t disc;
        bool found;
        if (t->switch_is && t->switch_is(base, &disc)) {
            const struct pcom_type *arm = union_arm(t, (int64_t)disc, &found);
            if (arm)
                release_itfs(arm, p, base, depth + 1);
        }
        break;
    }
    default:
        break;
    }
}

void pcomi_release_in(const struct pcom_method *m, void *frame)
{
    for (uint16_t i = 0; i < m->nparams; i++) {
        const struct pcom_param *p = &m->params[i];
        if (is_in(p) && !is_out(p))
            release_itfs(p->type, (uint8_t *)frame + p->offset, frame, 0);
    }
}

bool pcomi_results_have_itf(const struct pcom_method *m)
{
    for (uint16_t i = 0; i < m->nparams; i++)
        if (is_out(&m->params[i]) && has_itf(m->params[i].type))
            return true;
    return false;
}
