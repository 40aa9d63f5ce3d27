/* proxy.c: foo_p.c, the proxy/stub tables of the remotable interfaces an IDL file defines: per method an
 * argument frame, the type descriptors the runtime's marshaling engine walks, the size_is/length_is/switch_is
 * functions they call, a server thunk (frame -> vtable call) and a client thunk (the proxy's vtable slot). */
#include "codegen.h"

#include "../idl/lexer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- facts about a described type, for its parents ---- */

/* A descriptor: its name (NULL when the type cannot be described) and whether its wire bytes equal its
 * memory bytes. flat is NULL (never), "" (always) or a C condition the compiler evaluates (a struct
 * without padding); wsize/walign are its wire size and alignment when it may be flat. */
struct tref {
    const char *name;
    const char *flat;
    uint64_t wsize, walign;
};

/* The twelve scalar descriptors every file shares. */
enum scalar { S_I8, S_U8, S_I16, S_U16, S_I32, S_U32, S_I64, S_U64, S_IPTR, S_UPTR, S_F32, S_F64, S_COUNT };

static const struct scalar_info {
    const char *kind, *stem, *ctype;
    unsigned size;
    bool flat;
} scalars[S_COUNT] = {
    [S_I8] = {"PCOM_KIND_I8", "int8", "int8_t", 1, true},
    [S_U8] = {"PCOM_KIND_U8", "uint8", "uint8_t", 1, true},
    [S_I16] = {"PCOM_KIND_I16", "int16", "int16_t", 2, true},
    [S_U16] = {"PCOM_KIND_U16", "uint16", "uint16_t", 2, true},
    [S_I32] = {"PCOM_KIND_I32", "int32", "int32_t", 4, true},
    [S_U32] = {"PCOM_KIND_U32", "uint32", "uint32_t", 4, true},
    [S_I64] = {"PCOM_KIND_I64", "int64", "int64_t", 8, true},
    [S_U64] = {"PCOM_KIND_U64", "uint64", "uint64_t", 8, true},
    /* __int3264 travels as 64 bits but is pointer-sized in memory: never copied as plain bytes */
    [S_IPTR] = {"PCOM_KIND_I64", "intptr", "intptr_t", 8, false},
    [S_UPTR] = {"PCOM_KIND_U64", "uintptr", "uintptr_t", 8, false},
    [S_F32] = {"PCOM_KIND_F32", "float", "float", 4, true},
    [S_F64] = {"PCOM_KIND_F64", "double", "double", 8, true},
};

/* How generated C names a struct, union or enum: a type name, or (for one defined inside another) a member
 * path from the nearest aggregate that has one. */
struct agg {
    struct idl_decl *d;
    const char *ctype;         /* "NUM_VECTOR", "struct _X", or NULL */
    const char *outer, *path;  /* when ctype is NULL: ((outer *)0)->path is an lvalue of this type */
    const char *stem;          /* for the names of its tables */
    const char *label;         /* for messages: "NUM_VECTOR", "TLM_RULE.compare" */
    struct idl_decl *iface;    /* the interface it is defined in (its pointer_default), or NULL */
};

/* Shared tables, made once per file. */
enum memo_kind { M_SCALAR, M_GUID, M_AGG, M_ARMS };

struct memo {
    enum memo_kind kind;
    const void *key;
    const char *name;
    bool defined;     /* its definition is printed */
    bool fwd;         /* declared ahead, because something referred to it before its definition */
    struct tref ref;
    /* M_ARMS */
    unsigned narms;
    const char *default_arm;
    bool has_default;
};

/* A method whose parameters travel (the [call_as] remote form, or the method itself). */
struct method_info {
    struct idl_decl *wire;
    const char *stem;    /* "IFoo_Method" */
    const char *frame;   /* "struct IFoo_Method_frame" */
    const char *params;  /* the pcom_param array, or NULL when there are no parameters */
    unsigned nparams;
    const char *why;     /* why it is not remoted, or NULL */
};

enum helper { H_ADD = 1, H_SUB = 2, H_MUL = 4, H_DIV = 8, H_MOD = 16, H_SHL = 32, H_SHR = 64, H_NEG = 128,
              H_MAX = 256, H_STRING_H = 512 };

struct index_set {
    uint32_t *slots;
    size_t cap, used;
};

struct gp {
    struct gen_ctx *g;
    struct idl_arena *a;
    struct sbuf base;   /* the shared scalar and GUID descriptors */
    /* what generating one method adds, moved to the output after it (see flush_method) */
    struct sbuf frames; /* its argument frame */
    struct sbuf fns;    /* expression functions */
    struct sbuf fwd;    /* descriptors declared ahead */
    struct sbuf types;  /* descriptors, fields, arms, its parameter list */
    struct idl_vec names;   /* const char *: identifiers taken */
    struct idl_vec memos;   /* struct memo * */
    struct index_set name_index, memo_index; /* hash lookups into names and memos */
    struct idl_vec aggs;    /* struct agg * */
    struct idl_vec methods; /* struct method_info * */
    unsigned helpers;
    const char *why;        /* the first reason the method being generated cannot be described */
};

/* Generation of one method either completes or is undone: nothing of a method that cannot be remoted is
 * left in the file (it would be an unused static). */
struct mark {
    size_t base, frames, fns, fwd, types, names, memos;
    unsigned helpers;
};

static struct mark mark_of(struct gp *gp)
{
    return (struct mark){gp->base.len, gp->frames.len, gp->fns.len, gp->fwd.len, gp->types.len,
                         gp->names.len, gp->memos.len, gp->helpers};
}

static void sb_truncate(struct sbuf *b, size_t len)
{
    b->len = len;
    if (b->data)
        b->data[len] = '\0';
}

static void rollback(struct gp *gp, struct mark m)
{
    sb_truncate(&gp->base, m.base);
    sb_truncate(&gp->frames, m.frames);
    sb_truncate(&gp->fns, m.fns);
    sb_truncate(&gp->fwd, m.fwd);
    sb_truncate(&gp->types, m.types);
    gp->names.len = m.names;
    gp->memos.len = m.memos;
    gp->helpers = m.helpers;
}

static struct tref fail(struct gp *gp, const char *why)
{
    if (!gp->why)
        gp->why = why;
    return (struct tref){0};
}

/* ---- hashed lookups that survive a rollback ---- */

/* Each slot holds 1 + an index into a vector, 0 when empty. A rollback shortens the vector and leaves
 * slots pointing past its end or, once it grows again, at other entries: a lookup compares the entry
 * itself, so such slots only cost a probe. The set is rebuilt from the vector when it fills. */
static size_t hash_bytes(const void *p, size_t n, size_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static size_t name_hash(const void *entry)
{
    const char *s = entry;
    return hash_bytes(s, strlen(s), 1469598103934665603ull);
}

static void index_insert(struct index_set *set, size_t (*hash)(const void *), const struct idl_vec *vec,
                         size_t idx)
{
    if ((set->used + 1) * 2 > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 256;
        while (cap < vec->len * 4)
            cap *= 2;
        free(set->slots);
        set->slots = calloc(cap, sizeof(*set->slots));
        if (!set->slots) {
            fputs("pcomidl: out of memory\n", stderr);
            abort();
        }
        set->cap = cap;
        set->used = 0;
        for (size_t i = 0; i < vec->len; i++)
            if (i != idx)
                index_insert(set, hash, vec, i);
    }
    size_t i = hash(vec->items[idx]) & (set->cap - 1);
    while (set->slots[i])
        i = (i + 1) & (set->cap - 1);
    set->slots[i] = (uint32_t)idx + 1;
    set->used++;
}

/* ---- names ---- */

static bool name_taken(struct gp *gp, const char *name)
{
    struct index_set *set = &gp->name_index;
    if (!set->cap)
        return false;
    for (size_t i = name_hash(name) & (set->cap - 1); set->slots[i]; i = (i + 1) & (set->cap - 1)) {
        size_t idx = set->slots[i] - 1;
        if (idx < gp->names.len && strcmp(gp->names.items[idx], name) == 0)
            return true;
    }
    return false;
}

static void add_name(struct gp *gp, const char *name)
{
    idl_vec_push(gp->a, &gp->names, (void *)name);
    index_insert(&gp->name_index, name_hash, &gp->names, gp->names.len - 1);
}

static void take_name(struct gp *gp, const char *name)
{
    if (name && !name_taken(gp, name))
        add_name(gp, name);
}

/* base, or base_2, base_3, ... when it is taken (by a generated table or by a name of the IDL) */
static const char *unique_name(struct gp *gp, const char *base)
{
    const char *name = base;
    for (int n = 2; name_taken(gp, name); n++)
        name = idl_printf(gp->a, "%s_%d", base, n);
    add_name(gp, name);
    return name;
}

/* As CMake's string(MAKE_C_IDENTIFIER): pcom_add_idl derives the same name from the file name. */
static const char *c_identifier(struct idl_arena *a, const char *s, size_t n)
{
    char *out = idl_alloc(a, n + 2);
    size_t k = 0;
    if (n && s[0] >= '0' && s[0] <= '9')
        out[k++] = '_';
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
        out[k++] = ok ? ch : '_';
    }
    out[k] = '\0';
    return out;
}

static const char *file_stem(struct idl_arena *a, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".idl") == 0)
        n -= 4;
    return idl_strndup(a, base, n);
}

/* The names a generated identifier must not take: everything the header (and the headers it includes)
 * declares, the call macros included. */
static void seed_names(struct gp *gp, struct idl_vec *items)
{
    for (size_t i = 0; i < items->len; i++) {
        struct idl_decl *d = items->items[i];
        switch (d->kind) {
        case DECL_TYPEDEF:
        case DECL_CONST:
        case DECL_STRUCT:
        case DECL_UNION:
        case DECL_COCLASS:
            take_name(gp, d->name);
            take_name(gp, idl_printf(gp->a, "CLSID_%s", d->name ? d->name : ""));
            break;
        case DECL_ENUM:
            take_name(gp, d->name);
            for (size_t k = 0; k < d->members.len; k++)
                take_name(gp, ((struct idl_decl *)d->members.items[k])->name);
            break;
        case DECL_INTERFACE:
            take_name(gp, d->name);
            take_name(gp, idl_printf(gp->a, "IID_%s", d->name));
            for (size_t k = 0; k < d->members.len; k++) {
                struct idl_decl *m = d->members.items[k];
                if (m->kind == DECL_METHOD || m->kind == DECL_FUNCTION) {
                    const char *cname = cg_method_c_name(gp->g, m);
                    take_name(gp, idl_printf(gp->a, "%s_%s", d->name, cname));
                    take_name(gp, idl_printf(gp->a, "%s_%s_Proxy", d->name, cname));
                    take_name(gp, idl_printf(gp->a, "%s_%s_Stub", d->name, cname));
                }
            }
            seed_names(gp, &d->members);
            break;
        case DECL_LIBRARY:
        case DECL_MODULE:
            take_name(gp, d->name);
            seed_names(gp, &d->members);
            break;
        default:
            break;
        }
    }
}

/* ---- where aggregates are defined, and how C names them ---- */

static struct agg *agg_of(struct gp *gp, const struct idl_decl *d)
{
    for (size_t i = 0; i < gp->aggs.len; i++) {
        struct agg *x = gp->aggs.items[i];
        if (x->d == d)
            return x;
    }
    return NULL;
}

static const char *strip_underscores(const char *s)
{
    while (*s == '_')
        s++;
    return s;
}

/* A struct/union/enum declared at file scope (or in an interface, whose types the header emits at file
 * scope): named by a typedef that names it directly, else by its tag. */
static void note_top(struct gp *gp, struct idl_decl *d, struct idl_decl *iface, const char *typedef_name)
{
    if (!d || !d->defined)
        return;
    struct agg *x = agg_of(gp, d);
    if (!x) {
        x = idl_alloc(gp->a, sizeof(*x));
        x->d = d;
        x->iface = iface;
        idl_vec_push(gp->a, &gp->aggs, x);
    }
    if (typedef_name && (!x->ctype || strchr(x->ctype, ' '))) {
        x->ctype = typedef_name; /* the first typedef that names it: "NUM_VECTOR" reads better than a tag */
        x->stem = typedef_name;
    }
    if (!x->ctype && d->name) {
        bool is_struct = d->kind == DECL_STRUCT || (d->kind == DECL_UNION && d->encapsulated);
        x->ctype = idl_printf(gp->a, "%s %s", is_struct ? "struct" : d->kind == DECL_UNION ? "union" : "enum",
                              d->name);
    }
    if (!x->stem && d->name)
        x->stem = strip_underscores(d->name)[0] ? strip_underscores(d->name) : d->name;
    x->label = x->stem;
}

static void walk_top(struct gp *gp, struct idl_vec *items, struct idl_decl *iface)
{
    for (size_t i = 0; i < items->len; i++) {
        struct idl_decl *d = items->items[i];
        switch (d->kind) {
        case DECL_STRUCT:
        case DECL_UNION:
        case DECL_ENUM:
            note_top(gp, d, iface, NULL);
            break;
        case DECL_TYPEDEF: {
            struct idl_type *t = d->type;
            if (t && (t->kind == TY_STRUCT || t->kind == TY_UNION || t->kind == TY_ENUM) && !t->is_const)
                note_top(gp, t->decl, iface, d->name);
            break;
        }
        case DECL_INTERFACE:
            if (d->defined)
                walk_top(gp, &d->members, d);
            break;
        case DECL_LIBRARY:
        case DECL_MODULE:
            walk_top(gp, &d->members, iface);
            break;
        default:
            break;
        }
    }
}

/* Aggregates defined inside another one's member: C (and C++, where such a tag is scoped to its parent)
 * reaches them through the member. */
static void walk_nested(struct gp *gp)
{
    for (size_t i = 0; i < gp->aggs.len; i++) {
        struct agg *p = gp->aggs.items[i];
        if (p->d->kind == DECL_ENUM)
            continue;
        const char *outer = p->ctype ? p->ctype : p->outer;
        const char *prefix = p->ctype ? "" : idl_printf(gp->a, "%s.", p->path);
        if (p->d->kind == DECL_UNION && p->d->encapsulated)
            prefix = idl_printf(gp->a, "%s%s.", prefix, p->d->union_name ? p->d->union_name : "tagged_union");
        if (!outer)
            continue;
        for (size_t k = 0; k < p->d->members.len; k++) {
            struct idl_decl *f = p->d->members.items[k];
            if (f->empty_arm || !f->name)
                continue;
            const char *path = idl_printf(gp->a, "%s%s", prefix, f->name);
            struct idl_type *t = f->type;
            while (t && t->kind == TY_ARRAY) {
                path = idl_printf(gp->a, "%s[0]", path);
                t = t->ref;
            }
            if (!t || (t->kind != TY_STRUCT && t->kind != TY_UNION && t->kind != TY_ENUM) || !t->decl ||
                !t->decl->defined || agg_of(gp, t->decl))
                continue;
            struct agg *x = idl_alloc(gp->a, sizeof(*x));
            x->d = t->decl;
            x->outer = outer;
            x->path = path;
            x->iface = p->iface;
            x->stem = idl_printf(gp->a, "%s_%s", p->stem, f->name);
            x->label = idl_printf(gp->a, "%s.%s", p->label, f->name);
            idl_vec_push(gp->a, &gp->aggs, x);
        }
    }
}

/* ---- C spellings ---- */

static const char *type_text(struct gp *gp, struct idl_type *t, const char *name)
{
    struct sbuf b = {0};
    cg_print_decl(NULL, &b, t, name, 0, false);
    const char *s = idl_strdup(gp->a, b.data ? b.data : "");
    sb_free(&b);
    return s;
}

/* Whether the C spelling of t names it (no anonymous or nested aggregate inside). */
static bool nameable(struct gp *gp, struct idl_type *t)
{
    for (int guard = 0; t && guard < 256; guard++) {
        switch (t->kind) {
        case TY_NAMED:
        case TY_BASE:
        case TY_POINTER:
        case TY_INTERFACE:
            return true;
        case TY_ARRAY:
            t = t->ref;
            continue;
        case TY_STRUCT:
        case TY_UNION:
        case TY_ENUM: {
            struct agg *x = t->decl ? agg_of(gp, t->decl) : NULL;
            return x && x->ctype && t->decl->name;
        }
        default:
            return false;
        }
    }
    return false;
}

static const char *agg_size(struct gp *gp, const struct agg *x)
{
    return x->ctype ? idl_printf(gp->a, "sizeof(%s)", x->ctype)
                    : idl_printf(gp->a, "sizeof(((%s *)0)->%s)", x->outer, x->path);
}

static const char *agg_align(struct gp *gp, const struct agg *x);

/* C alignment of a type; an unnameable aggregate has the largest alignment of its members. */
static const char *align_of(struct gp *gp, struct idl_type *t)
{
    struct idl_type *r = t;
    while (r && r->kind == TY_ARRAY)
        r = r->ref;
    if (!r)
        return "1";
    if (r->kind == TY_POINTER)
        return "PCOMP_ALIGNOF(void *)";
    if (nameable(gp, r))
        return idl_printf(gp->a, "PCOMP_ALIGNOF(%s)", type_text(gp, r, NULL));
    struct agg *x = r->decl ? agg_of(gp, r->decl) : NULL;
    return x ? agg_align(gp, x) : "1";
}

/* The largest of the members' alignments: PCOMP_MAX over the distinct ones. */
static const char *members_align(struct gp *gp, struct idl_type *first, struct idl_vec *members)
{
    struct idl_vec terms = {0};
    for (size_t i = 0; i <= members->len; i++) {
        struct idl_type *t = i == 0 ? first : ((struct idl_decl *)members->items[i - 1])->empty_arm
                                                   ? NULL : ((struct idl_decl *)members->items[i - 1])->type;
        if (!t)
            continue;
        const char *a = align_of(gp, t);
        bool seen = false;
        for (size_t k = 0; k < terms.len && !seen; k++)
            seen = strcmp(terms.items[k], a) == 0;
        if (!seen)
            idl_vec_push(gp->a, &terms, (void *)a);
    }
    if (!terms.len)
        return "1";
    const char *acc = terms.items[0];
    for (size_t k = 1; k < terms.len; k++)
        acc = idl_printf(gp->a, "PCOMP_MAX(%s, %s)", acc, (const char *)terms.items[k]);
    if (terms.len > 1)
        gp->helpers |= H_MAX;
    return acc;
}

static const char *agg_align(struct gp *gp, const struct agg *x)
{
    if (x->ctype)
        return idl_printf(gp->a, "PCOMP_ALIGNOF(%s)", x->ctype);
    if (x->d->kind == DECL_ENUM)
        return agg_size(gp, x); /* an enum is an integer: its size is its alignment */
    return members_align(gp, x->d->encapsulated ? x->d->switch_type : NULL, &x->d->members);
}

static const char *pointer_default(struct idl_decl *iface)
{
    struct idl_attr *a = iface ? idl_attr_find(&iface->attrs, "pointer_default") : NULL;
    return a && a->ident_arg ? a->ident_arg : "unique";
}

/* An int64_t constant as C text. */
static const char *i64_text(struct gp *gp, int64_t v)
{
    if (v == INT64_MIN)
        return "INT64_MIN";
    return idl_printf(gp->a, "%" PRId64, v);
}

static const char *comment_safe(struct gp *gp, const char *s)
{
    if (!strstr(s, "*/"))
        return s;
    struct sbuf b = {0};
    for (; *s; s++) {
        sb_putc(&b, *s);
        if (s[0] == '*' && s[1] == '/')
            sb_putc(&b, ' ');
    }
    const char *r = idl_strdup(gp->a, b.data);
    sb_free(&b);
    return r;
}

static const char *expr_text(struct gp *gp, const struct idl_expr *e)
{
    struct sbuf b = {0};
    cg_print_expr(&b, e);
    const char *s = comment_safe(gp, b.data ? b.data : "");
    s = idl_strdup(gp->a, s);
    sb_free(&b);
    return s;
}

/* ---- printing descriptors ---- */

struct tinit {
    const char *kind, *flags, *align, *size, *count;
    const char *elem, *fields, *arms, *def;
    bool has_default;
    const char *size_is, *length_is, *switch_is;
    const char *rmin, *rmax, *iid, *iid_is, *label;
};

static const char *or_null(const char *s)
{
    return s ? s : "NULL";
}

static const char *addr(struct gp *gp, const char *name)
{
    return name ? idl_printf(gp->a, "&%s", name) : "NULL";
}

static void print_type(struct gp *gp, struct sbuf *b, const char *name, bool declared_ahead, const char *comment,
                       const struct tinit *t)
{
    if (comment)
        sb_printf(b, "/* %s */\n", comment);
    sb_printf(b, "%s const struct pcom_type %s =\n    ", declared_ahead ? "PCOMP_STATIC" : "static", name);
    const char *flags = t->flags ? t->flags : "0";
    const char *kind = t->kind;
    if (!strcmp(kind, "PCOM_KIND_POINTER") || !strcmp(kind, "PCOM_KIND_STRING"))
        sb_printf(b, "PCOMP_POINTER(%s, %s, %s, %s, %s, \"%s\");\n\n", kind, flags, addr(gp, t->elem),
                  or_null(t->size_is), or_null(t->length_is), t->label);
    else if (!strcmp(kind, "PCOM_KIND_INTERFACE"))
        sb_printf(b, "PCOMP_INTERFACE(%s, %s, %s, \"%s\");\n\n", flags, or_null(t->iid), or_null(t->iid_is), t->label);
    else if (!strcmp(kind, "PCOM_KIND_ARRAY"))
        sb_printf(b, "PCOMP_ARRAY(%s, %s, %s, %s, %s, %s, %s, \"%s\");\n\n", flags, t->align, t->size, t->count,
                  addr(gp, t->elem), or_null(t->size_is), or_null(t->length_is), t->label);
    else if (!strcmp(kind, "PCOM_KIND_STRUCT"))
        sb_printf(b, "PCOMP_STRUCT(%s, %s, %s, %s, %s, \"%s\");\n\n", flags, t->align, t->size, t->count,
                  or_null(t->fields), t->label);
    else if (!strcmp(kind, "PCOM_KIND_UNION"))
        sb_printf(b, "PCOMP_UNION(%s, %s, %s, %s, %s, %s, %s, \"%s\");\n\n", t->align, t->size, t->count,
                  or_null(t->arms), addr(gp, t->def), t->has_default ? "true" : "false", or_null(t->switch_is),
                  t->label);
    else
        sb_printf(b, "PCOMP_SCALAR(%s, %s, %s, %s, %s, %s, \"%s\");\n\n", kind, flags, t->align, t->size,
                  t->rmin ? t->rmin : "0", t->rmax ? t->rmax : "0", t->label);
}

static size_t memo_key_hash(enum memo_kind kind, const void *key)
{
    uintptr_t k = (uintptr_t)key;
    return hash_bytes(&k, sizeof(k), 1469598103934665603ull + (size_t)kind);
}

static size_t memo_hash(const void *entry)
{
    const struct memo *m = entry;
    return memo_key_hash(m->kind, m->key);
}

static struct memo *memo_find(struct gp *gp, enum memo_kind kind, const void *key)
{
    struct index_set *set = &gp->memo_index;
    if (!set->cap)
        return NULL;
    for (size_t i = memo_key_hash(kind, key) & (set->cap - 1); set->slots[i]; i = (i + 1) & (set->cap - 1)) {
        size_t idx = set->slots[i] - 1;
        struct memo *m = idx < gp->memos.len ? gp->memos.items[idx] : NULL;
        if (m && m->kind == kind && m->key == key)
            return m;
    }
    return NULL;
}

static struct memo *memo_new(struct gp *gp, enum memo_kind kind, const void *key, const char *name)
{
    struct memo *m = idl_alloc(gp->a, sizeof(*m));
    m->kind = kind;
    m->key = key;
    m->name = name;
    idl_vec_push(gp->a, &gp->memos, m);
    index_insert(&gp->memo_index, memo_hash, &gp->memos, gp->memos.len - 1);
    return m;
}

/* A reference to a shared table: one still being built is part of a cycle and is declared ahead. */
static struct tref memo_ref(struct gp *gp, struct memo *m)
{
    if (!m->defined && !m->fwd) {
        m->fwd = true;
        sb_printf(&gp->fwd, "PCOMP_DECLARE const struct pcom_type %s;\n", m->name);
    }
    if (!m->defined)
        return (struct tref){m->name, NULL, 0, 0};
    return m->ref;
}

static const char *flags_text(struct gp *gp, bool unique, bool range, const char *flat)
{
    const char *parts[3];
    int n = 0;
    if (unique)
        parts[n++] = "PCOM_TF_UNIQUE";
    if (range)
        parts[n++] = "PCOM_TF_RANGE";
    if (flat && !*flat)
        parts[n++] = "PCOM_TF_FLAT";
    else if (flat)
        parts[n++] = idl_printf(gp->a, "(%s ? PCOM_TF_FLAT : 0)", flat);
    if (n == 0)
        return "0";
    const char *s = parts[0];
    for (int i = 1; i < n; i++)
        s = idl_printf(gp->a, "%s | %s", s, parts[i]);
    return s;
}

static struct tref scalar_ref(struct gp *gp, enum scalar s)
{
    const struct scalar_info *si = &scalars[s];
    struct memo *m = memo_find(gp, M_SCALAR, si);
    if (!m) {
        m = memo_new(gp, M_SCALAR, si, unique_name(gp, idl_printf(gp->a, "td_%s", si->stem)));
        struct tinit t = {.kind = si->kind, .flags = si->flat ? "PCOM_TF_FLAT" : "0",
                          .align = idl_printf(gp->a, "PCOMP_ALIGNOF(%s)", si->ctype),
                          .size = idl_printf(gp->a, "sizeof(%s)", si->ctype), .label = si->stem};
        print_type(gp, &gp->base, m->name, false, NULL, &t);
        m->defined = true;
        m->ref = (struct tref){m->name, si->flat ? "" : NULL, si->size, si->size};
    }
    return m->ref;
}

static struct tref guid_ref(struct gp *gp)
{
    static const int key;
    struct memo *m = memo_find(gp, M_GUID, &key);
    if (!m) {
        m = memo_new(gp, M_GUID, &key, unique_name(gp, "td_GUID"));
        struct tinit t = {.kind = "PCOM_KIND_GUID", .flags = "PCOM_TF_FLAT", .align = "PCOMP_ALIGNOF(GUID)",
                          .size = "sizeof(GUID)", .label = "GUID"};
        print_type(gp, &gp->base, m->name, false, "GUID, IID, CLSID: 16 bytes, flat", &t);
        m->defined = true;
        m->ref = (struct tref){m->name, "", 16, 4};
    }
    return m->ref;
}

/* The scalar descriptor of a base type; -1 for void and handle_t. IDL char is unsigned, as in MIDL. */
static int scalar_of(const struct idl_type *r)
{
    bool u = r->is_unsigned;
    switch (r->base) {
    case BT_BOOLEAN: case BT_BYTE: case BT_UINT8: return S_U8;
    case BT_CHAR: return r->is_signed ? S_I8 : S_U8;
    case BT_SMALL: return u ? S_U8 : S_I8;
    case BT_INT8: return S_I8;
    case BT_SHORT: return u ? S_U16 : S_I16;
    case BT_INT16: return S_I16;
    case BT_UINT16: case BT_WCHAR: return S_U16;
    case BT_INT: case BT_LONG: return u ? S_U32 : S_I32;
    case BT_INT32: return S_I32;
    case BT_UINT32: case BT_ERROR_STATUS: return S_U32;
    case BT_HYPER: return u ? S_U64 : S_I64;
    case BT_INT64: return S_I64;
    case BT_UINT64: return S_U64;
    case BT_INT3264: return u ? S_UPTR : S_IPTR;
    case BT_FLOAT: return S_F32;
    case BT_DOUBLE: return S_F64;
    default: return -1;
    }
}

/* ---- expressions: size_is, length_is, switch_is, iid_is as C over the frame or the struct ---- */

/* What the names of an expression refer to. */
struct ectx {
    struct idl_vec *siblings; /* struct idl_decl *: the method's parameters or the struct's fields */
    const char *acc;          /* how one is reached: "f->", "s->", "o->u.arm." */
    const char *setup;        /* the lines that bind that variable to base */
    const char *what;         /* for comments: "IFoo::Method", "NUM_VECTOR" */
};

struct eval {
    struct gp *gp;
    const struct ectx *ex;
    struct idl_vec checks; /* const char *: pointers to test for NULL first, in order */
    bool base_used;        /* the expression names a parameter or field */
    bool ok_used;
    const char *why;
};

static void add_check(struct eval *ev, const char *ptr)
{
    for (size_t i = 0; i < ev->checks.len; i++)
        if (strcmp(ev->checks.items[i], ptr) == 0)
            return;
    idl_vec_push(ev->gp->a, &ev->checks, (void *)ptr);
}

static struct idl_decl *sibling(const struct ectx *ex, const char *name)
{
    for (size_t i = 0; i < ex->siblings->len; i++) {
        struct idl_decl *d = ex->siblings->items[i];
        if (d->name && strcmp(d->name, name) == 0)
            return d;
    }
    return NULL;
}

static const char *efail(struct eval *ev, const char *why)
{
    if (!ev->why)
        ev->why = why;
    return NULL;
}

/* An lvalue over parameters or fields: a name, *p, p->m or s.m. Pointers on the way are checked. */
static const char *lvalue(struct eval *ev, const struct idl_expr *e, struct idl_type **type)
{
    struct idl_arena *a = ev->gp->a;
    switch (e->kind) {
    case EXPR_IDENT: {
        struct idl_decl *d = sibling(ev->ex, e->text);
        if (!d)
            return NULL;
        ev->base_used = true;
        *type = d->type;
        return idl_printf(a, "%s%s", ev->ex->acc, d->name);
    }
    case EXPR_UNARY: {
        if (e->op != '*')
            return NULL;
        struct idl_type *t;
        const char *p = lvalue(ev, e->a, &t);
        struct idl_type *r = p ? idl_type_resolve(t) : NULL;
        if (!r || r->kind != TY_POINTER)
            return efail(ev, "a dereference pcomidl cannot follow");
        add_check(ev, p);
        *type = r->ref;
        return idl_printf(a, "(*%s)", p);
    }
    case EXPR_MEMBER: {
        struct idl_type *t;
        const char *p = lvalue(ev, e->a, &t);
        struct idl_type *r = p ? idl_type_resolve(t) : NULL;
        if (r && e->op == P_ARROW) {
            if (r->kind != TY_POINTER)
                return efail(ev, "'->' on something that is not a pointer");
            add_check(ev, p);
            r = idl_type_resolve(r->ref);
        }
        if (!r || r->kind != TY_STRUCT || !r->decl)
            return efail(ev, "a member of something that is not a struct");
        for (size_t i = 0; i < r->decl->members.len; i++) {
            struct idl_decl *f = r->decl->members.items[i];
            if (f->name && strcmp(f->name, e->text) == 0) {
                *type = f->type;
                return idl_printf(a, "%s%s%s", p, e->op == P_ARROW ? "->" : ".", f->name);
            }
        }
        return efail(ev, "a member pcomidl cannot find");
    }
    default:
        return NULL;
    }
}

/* An integer read from memory, widened to int64_t (plain char as unsigned, like the U8 descriptor). */
static const char *leaf(struct eval *ev, const char *lv, struct idl_type *t)
{
    struct idl_type *r = idl_type_resolve(t);
    if (!idl_type_is_integral(r))
        return efail(ev, "an expression over something that is not an integer");
    if (r->kind == TY_BASE && r->base == BT_CHAR && !r->is_signed && !r->is_unsigned)
        return idl_printf(ev->gp->a, "(int64_t)(unsigned char)%s", lv);
    return idl_printf(ev->gp->a, "(int64_t)%s", lv);
}

static const char *helper_call(struct eval *ev, enum helper h, const char *fn, const char *x, const char *y)
{
    ev->gp->helpers |= h;
    ev->ok_used = true;
    if (!y)
        return idl_printf(ev->gp->a, "%s(&ok, %s)", fn, x);
    return idl_printf(ev->gp->a, "%s(&ok, %s, %s)", fn, x, y);
}

static const char *binary_op_text(int op)
{
    switch (op) {
    case P_EQ: return "==";
    case P_NE: return "!=";
    case P_LE: return "<=";
    case P_GE: return ">=";
    case P_ANDAND: return "&&";
    case P_OROR: return "||";
    case '<': return "<";
    case '>': return ">";
    case '&': return "&";
    case '|': return "|";
    case '^': return "^";
    default: return NULL;
    }
}

/* The expression's value as an int64_t C expression; arithmetic that can overflow goes through the
 * checked helpers. */
static const char *value(struct eval *ev, const struct idl_expr *e, int depth)
{
    struct idl_arena *a = ev->gp->a;
    if (depth > IDL_MAX_NESTING)
        return efail(ev, "an expression nested too deeply");
    switch (e->kind) {
    case EXPR_INT: {
        bool plain = e->text && e->text[0] >= '1' && e->text[0] <= '9' && strspn(e->text, "0123456789") ==
                     strlen(e->text) && e->ival <= INT32_MAX;
        if (plain || (e->text && strcmp(e->text, "0") == 0))
            return e->text;
        return idl_printf(a, "(int64_t)%s", e->text);
    }
    case EXPR_CHAR:
        return idl_printf(a, "%" PRIu64, e->ival);
    case EXPR_IDENT: {
        struct idl_type *t;
        const char *lv = lvalue(ev, e, &t);
        if (lv)
            return leaf(ev, lv, t);
        return idl_printf(a, "(int64_t)%s", e->text); /* a constant: a #define in the header */
    }
    case EXPR_MEMBER: {
        struct idl_type *t;
        const char *lv = lvalue(ev, e, &t);
        return lv ? leaf(ev, lv, t) : NULL;
    }
    case EXPR_UNARY: {
        if (e->op == '*') {
            struct idl_type *t;
            const char *lv = lvalue(ev, e, &t);
            return lv ? leaf(ev, lv, t) : NULL;
        }
        const char *x = value(ev, e->a, depth + 1);
        if (!x)
            return NULL;
        switch (e->op) {
        case '+': return x;
        case '-': return helper_call(ev, H_NEG, "pcomp_neg", x, NULL);
        case '~': return idl_printf(a, "~%s", x);
        case '!': return idl_printf(a, "(int64_t)!%s", x);
        default: return efail(ev, "an operator pcomidl cannot evaluate");
        }
    }
    case EXPR_BINARY: {
        const char *x = value(ev, e->a, depth + 1);
        const char *y = x ? value(ev, e->b, depth + 1) : NULL;
        if (!y)
            return NULL;
        switch (e->op) {
        case '+': return helper_call(ev, H_ADD, "pcomp_add", x, y);
        case '-': return helper_call(ev, H_SUB, "pcomp_sub", x, y);
        case '*': return helper_call(ev, H_MUL, "pcomp_mul", x, y);
        case '/': return helper_call(ev, H_DIV, "pcomp_div", x, y);
        case '%': return helper_call(ev, H_MOD, "pcomp_mod", x, y);
        case P_SHL: return helper_call(ev, H_SHL, "pcomp_shl", x, y);
        case P_SHR: return helper_call(ev, H_SHR, "pcomp_shr", x, y);
        default: {
            const char *op = binary_op_text(e->op);
            if (!op)
                return efail(ev, "an operator pcomidl cannot evaluate");
            bool logical = e->op == P_ANDAND || e->op == P_OROR || e->op == P_EQ || e->op == P_NE ||
                           e->op == P_LE || e->op == P_GE || e->op == '<' || e->op == '>';
            return idl_printf(a, logical ? "(int64_t)(%s %s %s)" : "(%s %s %s)", x, op, y);
        }
        }
    }
    case EXPR_COND: {
        const char *c = value(ev, e->a, depth + 1);
        const char *x = c ? value(ev, e->b, depth + 1) : NULL;
        const char *y = x ? value(ev, e->c, depth + 1) : NULL;
        return y ? idl_printf(a, "(%s ? %s : %s)", c, x, y) : NULL;
    }
    case EXPR_CAST: {
        struct idl_type *r = idl_type_resolve(e->cast_type);
        if (!idl_type_is_integral(r))
            return efail(ev, "a cast to something that is not an integer");
        const char *x = value(ev, e->a, depth + 1);
        return x ? idl_printf(a, "(int64_t)(%s)%s", type_text(ev->gp, e->cast_type, NULL), x) : NULL;
    }
    default:
        return efail(ev, "an expression pcomidl cannot evaluate");
    }
}

static void print_checks(struct sbuf *b, struct eval *ev)
{
    for (size_t i = 0; i < ev->checks.len; i++)
        sb_printf(b, "    if (!%s)\n        return false;\n", (const char *)ev->checks.items[i]);
}

enum efn { EF_SIZE, EF_MAX, EF_LENGTH, EF_SWITCH };

/* A pcom_expr_fn for an attribute's expression; NULL (and gp->why) when it cannot be written. */
static const char *expr_fn(struct gp *gp, const struct ectx *ex, enum efn kind, const struct idl_expr *e,
                           const char *fn_stem, const char *about)
{
    if (!ex) {
        fail(gp, "an expression attribute inside a union arm");
        return NULL;
    }
    struct eval ev = {.gp = gp, .ex = ex};
    const char *v = value(&ev, e, 0);
    if (v && kind == EF_MAX)
        v = helper_call(&ev, H_ADD, "pcomp_add", v, "1");
    if (!v) {
        fail(gp, ev.why ? ev.why : "an expression pcomidl cannot evaluate");
        return NULL;
    }
    static const char *const suffix[] = {"size", "size", "length", "switch"};
    static const char *const attr[] = {"size_is", "max_is", "length_is", "switch_is"};
    const char *name = unique_name(gp, idl_printf(gp->a, "%s_%s", fn_stem, suffix[kind]));
    struct sbuf *b = &gp->fns;
    sb_printf(b, "/* %s: %s(%s)%s */\n", about, attr[kind], expr_text(gp, e),
              kind == EF_MAX ? ", one more than the largest index" : "");
    sb_printf(b, "static bool %s(const void *base, uint64_t *out)\n{\n%s", name,
              ev.base_used ? ex->setup : "    (void)base; /* a constant */\n");
    print_checks(b, &ev);
    if (ev.ok_used)
        sb_puts(b, "    bool ok = true;\n");
    sb_printf(b, "    int64_t value = %s;\n", v);
    if (kind == EF_SWITCH) {
        if (ev.ok_used)
            sb_puts(b, "    if (!ok)\n        return false;\n");
        sb_puts(b, "    *out = (uint64_t)value; /* the discriminant, sign-extended */\n    return true;\n}\n\n");
    } else {
        sb_printf(b, "    if (%svalue < 0)\n        return false;\n", ev.ok_used ? "!ok || " : "");
        sb_puts(b, "    *out = (uint64_t)value;\n    return true;\n}\n\n");
    }
    return name;
}

/* A pcom_iid_fn for [iid_is(e)]: e is an IID or a pointer to one. */
static const char *iid_fn(struct gp *gp, const struct ectx *ex, const struct idl_expr *e, const char *fn_stem,
                          const char *about)
{
    if (!ex) {
        fail(gp, "an expression attribute inside a union arm");
        return NULL;
    }
    struct eval ev = {.gp = gp, .ex = ex};
    struct idl_type *t = NULL;
    const char *lv = lvalue(&ev, e, &t);
    struct idl_type *r = lv ? idl_type_resolve(t) : NULL;
    const char *result = NULL;
    if (r && r->kind == TY_POINTER && idl_type_is_guid(r->ref)) {
        add_check(&ev, lv);
        result = lv;
    } else if (r && idl_type_is_guid(r)) {
        result = idl_printf(gp->a, "&%s", lv);
    }
    if (!result) {
        fail(gp, "an iid_is expression pcomidl cannot follow");
        return NULL;
    }
    const char *name = unique_name(gp, idl_printf(gp->a, "%s_iid", fn_stem));
    struct sbuf *b = &gp->fns;
    sb_printf(b, "/* %s: iid_is(%s) */\n", about, expr_text(gp, e));
    sb_printf(b, "static bool %s(const void *base, const IID **out)\n{\n%s", name, ex->setup);
    print_checks(b, &ev);
    sb_printf(b, "    *out = %s;\n    return true;\n}\n\n", result);
    return name;
}

/* length_is of a [string] fixed array: up to and with its terminating NUL. */
static const char *strlen_fn(struct gp *gp, const struct ectx *ex, const char *array, bool check_array,
                             const char *count, const char *fn_stem, const char *about)
{
    if (!ex) {
        fail(gp, "a [string] array inside a union arm");
        return NULL;
    }
    const char *name = unique_name(gp, idl_printf(gp->a, "%s_length", fn_stem));
    struct sbuf *b = &gp->fns;
    sb_printf(b, "/* %s: a [string] array travels up to and with its terminating NUL */\n", about);
    sb_printf(b, "static bool %s(const void *base, uint64_t *out)\n{\n%s", name, ex->setup);
    if (check_array)
        sb_printf(b, "    if (!%s)\n        return false;\n", array);
    sb_printf(b, "    const uint64_t count = (uint64_t)%s;\n", count);
    sb_puts(b, "    uint64_t n = 0;\n");
    sb_printf(b, "    while (n < count && %s[n] != 0)\n        n++;\n", array);
    sb_puts(b, "    if (n == count)\n        return false; /* not terminated */\n");
    sb_puts(b, "    *out = n + 1;\n    return true;\n}\n\n");
    return name;
}

/* ---- uses: a parameter or field, level by level ---- */

/* What one parameter or field says about its type. */
struct use {
    struct idl_vec *attrs;  /* its attributes */
    const char *stem;       /* for generated names */
    const char *label;      /* for the descriptors' names, in messages */
    const struct ectx *ex;  /* what its expressions refer to; NULL in a union arm */
    const char *pdefault;   /* pointer_default for embedded pointers */
    bool param;             /* level 0 is a parameter: [ref] unless said otherwise; arrays decay */
    bool last_field;        /* the last field of a struct: a conformant array is allowed */
    const char *outer, *path; /* ((outer *)0)->path is this level's lvalue (fields, through arrays) */
    const char *member;     /* the parameter's or field's name */
    bool want_string;       /* [string] not yet applied to a level */
    bool want_iid;          /* [iid_is] not yet applied */
};

/* Attributes of the typedefs a level goes through. */
struct lvl {
    const char *ptr;
    bool string;
    struct idl_attr *range;
    const char *why;
};

static struct idl_type *resolve_collect(struct gp *gp, struct idl_type *t, struct lvl *la)
{
    static const char *const ptrs[] = {"ref", "unique", "ptr"};
    static const char *const notyet[] = {"wire_marshal", "user_marshal", "transmit_as", "represent_as",
                                         "context_handle", "handle"};
    for (int guard = 0; t && t->kind == TY_NAMED && guard < 1000; guard++) {
        struct idl_decl *d = t->decl;
        if (!d || !d->type)
            return NULL;
        for (size_t k = 0; k < 3; k++)
            if (!la->ptr && idl_has_attr(&d->attrs, ptrs[k]))
                la->ptr = ptrs[k];
        la->string |= idl_has_attr(&d->attrs, "string");
        if (!la->range)
            la->range = idl_attr_find(&d->attrs, "range");
        for (size_t k = 0; k < sizeof(notyet) / sizeof(notyet[0]); k++)
            if (!la->why && idl_has_attr(&d->attrs, notyet[k]))
                la->why = idl_printf(gp->a, "'%s' is a [%s] type", d->name, notyet[k]);
        t = d->type;
    }
    return t;
}

static struct idl_expr *level_arg(struct idl_vec *attrs, const char *name, int level)
{
    struct idl_attr *a = idl_attr_find(attrs, name);
    if (!a || level >= (int)a->args.len)
        return NULL;
    struct idl_expr *e = a->args.items[level];
    return e && e->kind != EXPR_EMPTY ? e : NULL;
}

static const char *level_name(struct gp *gp, const struct use *u, int level, const char *suffix)
{
    const char *base = level ? idl_printf(gp->a, "%s_%d", u->stem, level) : u->stem;
    return suffix ? idl_printf(gp->a, "%s_%s", base, suffix) : base;
}

static const char *level_label(struct gp *gp, const struct use *u, int level)
{
    return level ? idl_printf(gp->a, "%s (level %d)", u->label, level) : u->label;
}

static struct tref use_type(struct gp *gp, struct use u, struct idl_type *t, int level);
static struct tref agg_desc(struct gp *gp, struct idl_decl *d);
static struct memo *union_arms(struct gp *gp, struct idl_decl *d);

/* A deeper level of the same use: below a pointer the member path ends; below an array it indexes. */
static struct use next_level(struct gp *gp, struct use u, bool through_array)
{
    if (through_array && u.path)
        u.path = idl_printf(gp->a, "%s[0]", u.path);
    else if (!through_array)
        u.outer = u.path = NULL;
    u.last_field = false;
    return u;
}

static bool sizing_not_yet(struct gp *gp, const struct use *u, int level)
{
    static const char *const notyet[] = {"first_is", "last_is", "min_is"};
    for (size_t k = 0; k < 3; k++)
        if (level_arg(u->attrs, notyet[k], level)) {
            fail(gp, idl_printf(gp->a, "[%s] is not marshaled yet", notyet[k]));
            return true;
        }
    return false;
}

/* size_is or max_is of a level, as a function in *fn (NULL when the level has neither); false on failure. */
static bool size_fn(struct gp *gp, const struct use *u, int level, const char **fn)
{
    struct idl_expr *size = level_arg(u->attrs, "size_is", level);
    struct idl_expr *max = level_arg(u->attrs, "max_is", level);
    *fn = NULL;
    if (!size && !max)
        return true;
    const char *about = level_label(gp, u, level);
    *fn = expr_fn(gp, u->ex, size ? EF_SIZE : EF_MAX, size ? size : max, level_name(gp, u, level, NULL), about);
    return *fn != NULL;
}

static bool length_fn(struct gp *gp, const struct use *u, int level, const char **fn)
{
    struct idl_expr *len = level_arg(u->attrs, "length_is", level);
    *fn = NULL;
    if (!len)
        return true;
    *fn = expr_fn(gp, u->ex, EF_LENGTH, len, level_name(gp, u, level, NULL), level_label(gp, u, level));
    return *fn != NULL;
}

static struct tref scalar_use(struct gp *gp, const struct use *u, struct idl_type *r, struct idl_attr *range,
                              int level)
{
    int s = scalar_of(r);
    if (s < 0)
        return fail(gp, r->base == BT_HANDLE ? "handle_t is a binding handle, not data" : "a void value");
    if (!range || range->args.len != 2)
        return scalar_ref(gp, (enum scalar)s);
    struct idl_value lo, hi;
    if (!idl_eval(gp->g->c, range->args.items[0], &lo) || !idl_eval(gp->g->c, range->args.items[1], &hi))
        return fail(gp, "a range that is not constant");
    const struct scalar_info *si = &scalars[s];
    const char *name = unique_name(gp, idl_printf(gp->a, "td_%s", level_name(gp, u, level, NULL)));
    struct tinit t = {.kind = si->kind, .flags = "PCOM_TF_RANGE",
                      .align = idl_printf(gp->a, "PCOMP_ALIGNOF(%s)", si->ctype),
                      .size = idl_printf(gp->a, "sizeof(%s)", si->ctype), .rmin = i64_text(gp, lo.i),
                      .rmax = i64_text(gp, hi.i), .label = level_label(gp, u, level)};
    print_type(gp, &gp->types, name, false,
               idl_printf(gp->a, "%s: range(%s, %s), checked on receipt", level_label(gp, u, level),
                          expr_text(gp, range->args.items[0]), expr_text(gp, range->args.items[1])), &t);
    /* a checked integer is not copied as plain bytes */
    return (struct tref){name, NULL, 0, 0};
}

static struct tref enum_use(struct gp *gp, const struct use *u, struct idl_decl *d, struct idl_attr *range, int level)
{
    struct agg *x = agg_of(gp, d);
    if (!x || (!x->ctype && !x->outer))
        return fail(gp, "an enum pcomidl cannot name in C");
    const char *size = agg_size(gp, x), *align = agg_align(gp, x);
    if (!range || range->args.len != 2) {
        struct memo *m = memo_find(gp, M_AGG, d);
        if (m)
            return memo_ref(gp, m);
        m = memo_new(gp, M_AGG, d, unique_name(gp, idl_printf(gp->a, "td_%s", x->stem ? x->stem : "enum")));
        struct tinit t = {.kind = "PCOM_KIND_ENUM", .align = align, .size = size, .label = x->stem ? x->stem : "enum"};
        print_type(gp, &gp->types, m->name, false, idl_printf(gp->a, "%s: 4 bytes on the wire", x->ctype ? x->ctype : x->stem), &t);
        m->defined = true;
        m->ref = (struct tref){m->name, NULL, 0, 0};
        return m->ref;
    }
    struct idl_value lo, hi;
    if (!idl_eval(gp->g->c, range->args.items[0], &lo) || !idl_eval(gp->g->c, range->args.items[1], &hi))
        return fail(gp, "a range that is not constant");
    const char *name = unique_name(gp, idl_printf(gp->a, "td_%s", level_name(gp, u, level, NULL)));
    struct tinit t = {.kind = "PCOM_KIND_ENUM", .flags = "PCOM_TF_RANGE", .align = align, .size = size,
                      .rmin = i64_text(gp, lo.i), .rmax = i64_text(gp, hi.i), .label = level_label(gp, u, level)};
    print_type(gp, &gp->types, name, false, NULL, &t);
    return (struct tref){name, NULL, 0, 0};
}

/* A non-encapsulated union where it is used: its switch_is is the use's. */
static struct tref union_use(struct gp *gp, const struct use *u, struct idl_decl *d, int level)
{
    struct agg *x = agg_of(gp, d);
    if (!x || (!x->ctype && !x->outer))
        return fail(gp, "a union pcomidl cannot name in C");
    struct idl_attr *sw = idl_attr_find(u->attrs, "switch_is");
    if (!sw || sw->args.len != 1)
        return fail(gp, "a union without [switch_is]");
    struct memo *arms = union_arms(gp, d);
    if (!arms)
        return (struct tref){0};
    const char *fn = expr_fn(gp, u->ex, EF_SWITCH, sw->args.items[0], level_name(gp, u, level, NULL),
                             level_label(gp, u, level));
    if (!fn)
        return (struct tref){0};
    const char *name = unique_name(gp, idl_printf(gp->a, "td_%s", level_name(gp, u, level, NULL)));
    struct tinit t = {.kind = "PCOM_KIND_UNION", .align = agg_align(gp, x), .size = agg_size(gp, x),
                      .count = idl_printf(gp->a, "%u", arms->narms), .arms = arms->narms ? arms->name : NULL,
                      .def = arms->default_arm, .has_default = arms->has_default, .switch_is = fn,
                      .label = level_label(gp, u, level)};
    print_type(gp, &gp->types, name, false, NULL, &t);
    return (struct tref){name, NULL, 0, 0};
}

/* An interface pointer: an object reference on the wire. */
static struct tref interface_use(struct gp *gp, const struct use *u, struct idl_decl *iface, bool unique, int level)
{
    const char *iid = NULL, *iid_is = NULL;
    struct idl_attr *a = u->want_iid ? idl_attr_find(u->attrs, "iid_is") : NULL;
    if (a && a->args.len == 1) {
        iid_is = iid_fn(gp, u->ex, a->args.items[0], level_name(gp, u, level, NULL), level_label(gp, u, level));
        if (!iid_is)
            return (struct tref){0};
    } else if (iface) {
        struct idl_attr *uuid = idl_attr_find(&iface->attrs, "uuid");
        if (!uuid || !uuid->has_uuid || !iface->is_object)
            return fail(gp, idl_printf(gp->a, "interface '%s' has no IID", iface->name));
        iid = idl_printf(gp->a, "&IID_%s", iface->name);
    } else {
        return fail(gp, "a void pointer without [iid_is]");
    }
    const char *name = unique_name(gp, idl_printf(gp->a, "td_%s", level_name(gp, u, level, NULL)));
    struct tinit t = {.kind = "PCOM_KIND_INTERFACE", .flags = unique ? "PCOM_TF_UNIQUE" : "0",
                      .align = "PCOMP_ALIGNOF(void *)", .size = "sizeof(void *)", .iid = iid, .iid_is = iid_is,
                      .label = level_label(gp, u, level)};
    print_type(gp, &gp->types, name, false, NULL, &t);
    return (struct tref){name, NULL, 0, 0};
}

static struct tref string_use(struct gp *gp, const struct use *u, struct idl_type *elem, bool unique, int level)
{
    if (level_arg(u->attrs, "size_is", level) || level_arg(u->attrs, "max_is", level) ||
        level_arg(u->attrs, "length_is", level))
        return fail(gp, "a sized [string] is not marshaled yet");
    struct idl_type *r = idl_type_resolve(elem);
    int s = r && r->kind == TY_BASE ? scalar_of(r) : -1;
    if (s < 0 || scalars[s].size > 2)
        return fail(gp, "[string] of something that is not a character");
    struct tref e = scalar_ref(gp, (enum scalar)s);
    const char *name = unique_name(gp, idl_printf(gp->a, "td_%s", level_name(gp, u, level, NULL)));
    struct tinit t = {.kind = "PCOM_KIND_STRING", .flags = unique ? "PCOM_TF_UNIQUE" : "0",
                      .align = "PCOMP_ALIGNOF(void *)", .size = "sizeof(void *)", .elem = e.name,
                      .label = level_label(gp, u, level)};
    print_type(gp, &gp->types, name, false, NULL, &t);
    return (struct tref){name, NULL, 0, 0};
}

static struct tref pointer_use(struct gp *gp, struct use u, struct idl_type *r, const struct lvl *la, int level)
{
    static const char *const ptrs[] = {"ref", "unique", "ptr"};
    const char *pa = NULL;
    for (size_t k = 0; level == 0 && k < 3 && !pa; k++)
        if (idl_has_attr(u.attrs, ptrs[k]))
            pa = ptrs[k];
    if (!pa)
        pa = la->ptr;
    bool explicit_ref = pa && strcmp(pa, "ref") == 0;
    if (!pa)
        pa = u.param && level == 0 ? "ref" : u.pdefault;
    bool unique = strcmp(pa, "ref") != 0; /* [ptr] travels as [unique]: aliasing is not kept yet */
    if (sizing_not_yet(gp, &u, level))
        return (struct tref){0};
    u.want_string |= la->string;

    struct idl_decl *iface = NULL;
    if (idl_type_is_interface_ptr(r, &iface))
        return interface_use(gp, &u, iface, !explicit_ref, level);
    if (idl_type_is_void(r->ref)) {
        if (u.want_iid && idl_has_attr(u.attrs, "iid_is"))
            return interface_use(gp, &u, NULL, !explicit_ref, level);
        return fail(gp, "a void pointer without [iid_is]");
    }
    if (u.want_string && idl_type_is_char(r->ref))
        return string_use(gp, &u, r->ref, unique, level);

    const char *size_is, *length_is;
    if (!size_fn(gp, &u, level, &size_is) || !length_fn(gp, &u, level, &length_is))
        return (struct tref){0};
    if (length_is && !size_is)
        return fail(gp, "length_is without size_is on a pointer");
    struct tref e = use_type(gp, next_level(gp, u, false), r->ref, level + 1);
    if (!e.name)
        return e;
    const char *name = unique_name(gp, idl_printf(gp->a, "td_%s", level_name(gp, &u, level, NULL)));
    struct tinit t = {.kind = "PCOM_KIND_POINTER", .flags = unique ? "PCOM_TF_UNIQUE" : "0",
                      .align = "PCOMP_ALIGNOF(void *)", .size = "sizeof(void *)", .elem = e.name,
                      .size_is = size_is, .length_is = length_is, .label = level_label(gp, &u, level)};
    print_type(gp, &gp->types, name, false, NULL, &t);
    return (struct tref){name, NULL, 0, 0};
}

/* The size of a level of array type: by its C type, or through the member path. */
static const char *level_size(struct gp *gp, const struct use *u, struct idl_type *t)
{
    if (nameable(gp, t))
        return idl_printf(gp->a, "sizeof(%s)", type_text(gp, t, NULL));
    if (u->outer && u->path)
        return idl_printf(gp->a, "sizeof(((%s *)0)->%s)", u->outer, u->path);
    return NULL;
}

/* A fixed array, inline: count elements, or length_is() of them. */
static struct tref fixed_array(struct gp *gp, struct use u, struct idl_type *r, const struct lvl *la, int level)
{
    struct idl_value n;
    if (!r->size || !idl_eval(gp->g->c, r->size, &n) || n.kind != VAL_INT || n.i <= 0 || n.i > UINT32_MAX)
        return fail(gp, "an array whose size pcomidl cannot evaluate");
    if (sizing_not_yet(gp, &u, level))
        return (struct tref){0};
    u.want_string |= la->string;
    const char *size = level_size(gp, &u, r);
    if (!size)
        return fail(gp, "an array pcomidl cannot name in C");
    const char *length_is = NULL;
    const char *count = idl_printf(gp->a, "(%s)", expr_text(gp, r->size));
    bool is_string = u.want_string && idl_type_is_char(r->ref);
    if (is_string) {
        if (level_arg(u.attrs, "length_is", level))
            return fail(gp, "a [string] array with length_is");
        /* the first level only: below it, one function could not tell the elements apart */
        if (level != 0 || !u.ex || !u.member)
            return fail(gp, "a [string] array inside an array or a union");
        const char *array = idl_printf(gp->a, "%s%s", u.ex->acc, u.member);
        length_is = strlen_fn(gp, u.ex, array, u.param, count, level_name(gp, &u, level, NULL),
                              level_label(gp, &u, level));
        if (!length_is)
            return (struct tref){0};
        u.want_string = false;
    } else if (!length_fn(gp, &u, level, &length_is)) {
        return (struct tref){0};
    }
    struct tref e = use_type(gp, next_level(gp, u, true), r->ref, level + 1);
    if (!e.name)
        return e;
    const char *flat = length_is ? NULL : e.flat;
    const char *name = unique_name(gp, idl_printf(gp->a, "td_%s", level_name(gp, &u, level, u.param ? "array" : NULL)));
    struct tinit t = {.kind = "PCOM_KIND_ARRAY", .flags = flags_text(gp, false, false, flat),
                      .align = align_of(gp, r), .size = size, .count = count, .elem = e.name,
                      .length_is = length_is, .label = level_label(gp, &u, level)};
    print_type(gp, &gp->types, name, false, NULL, &t);
    return (struct tref){name, flat, e.wsize * (uint64_t)n.i, e.walign};
}

static struct tref array_use(struct gp *gp, struct use u, struct idl_type *r, const struct lvl *la, int level)
{
    if (u.param && level == 0) {
        /* an array parameter is a pointer in C: a [ref] pointer to the whole array, or to size_is() elements */
        const char *size_is = NULL, *length_is = NULL;
        struct tref e;
        if (!r->size) {
            if (sizing_not_yet(gp, &u, 0) || !size_fn(gp, &u, 0, &size_is) || !length_fn(gp, &u, 0, &length_is))
                return (struct tref){0};
            if (!size_is)
                return fail(gp, "a conformant array parameter without size_is");
            e = use_type(gp, next_level(gp, u, false), r->ref, 1);
        } else {
            e = fixed_array(gp, next_level(gp, u, false), r, la, 0);
        }
        if (!e.name)
            return e;
        const char *name = unique_name(gp, idl_printf(gp->a, "td_%s", level_name(gp, &u, 0, NULL)));
        struct tinit t = {.kind = "PCOM_KIND_POINTER", .align = "PCOMP_ALIGNOF(void *)", .size = "sizeof(void *)",
                          .elem = e.name, .size_is = size_is, .length_is = length_is,
                          .label = level_label(gp, &u, 0)};
        print_type(gp, &gp->types, name, false, NULL, &t);
        return (struct tref){name, NULL, 0, 0};
    }
    if (r->size)
        return fixed_array(gp, u, r, la, level);
    /* a conformant array: only as the last field of a struct, sized over the struct */
    if (!u.last_field || level != 0)
        return fail(gp, "a conformant array that is not the last field of a struct");
    const char *size_is, *length_is;
    if (sizing_not_yet(gp, &u, 0) || !size_fn(gp, &u, 0, &size_is) || !length_fn(gp, &u, 0, &length_is))
        return (struct tref){0};
    if (!size_is)
        return fail(gp, "a conformant array without size_is");
    struct tref e = use_type(gp, next_level(gp, u, true), r->ref, 1);
    if (!e.name)
        return e;
    /* the member is declared with one element, as MIDL does */
    const char *size = u.outer && u.path ? idl_printf(gp->a, "sizeof(((%s *)0)->%s)", u.outer, u.path) : NULL;
    if (!size)
        return fail(gp, "an array pcomidl cannot name in C");
    const char *name = unique_name(gp, idl_printf(gp->a, "td_%s", u.stem));
    struct tinit t = {.kind = "PCOM_KIND_ARRAY", .align = align_of(gp, r), .size = size, .count = "0",
                      .elem = e.name, .size_is = size_is, .length_is = length_is, .label = u.label};
    print_type(gp, &gp->types, name, false, "conformant: size_is() elements follow the struct's fixed part", &t);
    return (struct tref){name, NULL, 0, 0};
}

static struct tref use_type(struct gp *gp, struct use u, struct idl_type *t, int level)
{
    if (level > 64)
        return fail(gp, "a type nested too deeply");
    struct lvl la = {0};
    struct idl_type *r = resolve_collect(gp, t, &la);
    if (!r)
        return fail(gp, "a type pcomidl cannot resolve");
    if (la.why)
        return fail(gp, la.why);
    struct idl_attr *range = idl_attr_find(u.attrs, "range");
    if (!range)
        range = la.range;
    switch (r->kind) {
    case TY_BASE:
        return scalar_use(gp, &u, r, range, level);
    case TY_ENUM:
        return enum_use(gp, &u, r->decl, range, level);
    case TY_STRUCT:
        if (idl_type_is_guid(r))
            return guid_ref(gp);
        return agg_desc(gp, r->decl);
    case TY_UNION:
        if (r->decl && r->decl->encapsulated)
            return agg_desc(gp, r->decl);
        return r->decl ? union_use(gp, &u, r->decl, level) : fail(gp, "an undefined union");
    case TY_POINTER:
        return pointer_use(gp, u, r, &la, level);
    case TY_ARRAY:
        return array_use(gp, u, r, &la, level);
    case TY_FUNCTION:
        return fail(gp, "a function pointer");
    default:
        return fail(gp, "an interface by value");
    }
}

/* ---- structs, encapsulated unions and the arms of unions: one set of tables per declaration ---- */

/* What expressions inside an aggregate refer to: its fields, through base. */
static struct ectx *agg_ectx(struct gp *gp, const struct agg *x, struct idl_vec *siblings)
{
    struct ectx *ex = idl_alloc(gp->a, sizeof(*ex));
    ex->siblings = siblings;
    ex->what = x->stem;
    if (x->ctype) {
        ex->acc = "s->";
        ex->setup = idl_printf(gp->a, "    const %s *s = (const %s *)base;\n", x->ctype, x->ctype);
    } else {
        ex->acc = idl_printf(gp->a, "o->%s.", x->path);
        ex->setup = idl_printf(gp->a, "    /* base is the %s inside %s */\n"
                                      "    const %s *o = (const %s *)(const void *)((const char *)base - offsetof(%s, %s));\n",
                               x->path, x->outer, x->outer, x->outer, x->outer, x->path);
    }
    return ex;
}

static const char *member_offset(struct gp *gp, const struct agg *x, const char *member)
{
    if (x->ctype)
        return idl_printf(gp->a, "offsetof(%s, %s)", x->ctype, member);
    return idl_printf(gp->a, "offsetof(%s, %s.%s) - offsetof(%s, %s)", x->outer, x->path, member, x->outer, x->path);
}

static struct use field_use(struct gp *gp, const struct agg *x, struct idl_decl *f, const struct ectx *ex,
                            const char *member_path)
{
    struct use u = {0};
    u.attrs = &f->attrs;
    u.stem = idl_printf(gp->a, "%s_%s", x->stem, f->name);
    u.label = idl_printf(gp->a, "%s.%s", x->label, f->name);
    u.ex = ex;
    u.pdefault = pointer_default(x->iface);
    u.outer = x->ctype ? x->ctype : x->outer;
    u.path = x->ctype ? member_path : idl_printf(gp->a, "%s.%s", x->path, member_path);
    u.member = f->name;
    u.want_string = idl_has_attr(&f->attrs, "string");
    u.want_iid = true;
    return u;
}

/* The arms of a union: one entry per case value, and the default. Shared by every use of the union. */
static struct memo *union_arms(struct gp *gp, struct idl_decl *d)
{
    struct memo *m = memo_find(gp, M_ARMS, d);
    if (m)
        return m;
    struct agg *x = agg_of(gp, d);
    if (!x || (!x->ctype && !x->outer)) {
        fail(gp, "a union pcomidl cannot name in C");
        return NULL;
    }
    m = memo_new(gp, M_ARMS, d, unique_name(gp, idl_printf(gp->a, "td_%s_arms", x->stem)));
    /* the arms live in the union itself: their member paths go through the union member of an
     * encapsulated union */
    struct agg arm_agg = *x;
    if (d->encapsulated) {
        const char *u = d->union_name ? d->union_name : "tagged_union";
        arm_agg.outer = x->ctype ? x->ctype : x->outer;
        arm_agg.path = x->ctype ? u : idl_printf(gp->a, "%s.%s", x->path, u);
        arm_agg.ctype = NULL;
    }
    struct sbuf arms = {0};
    unsigned n = 0;
    const char *def = NULL;
    bool has_default = false;
    for (size_t i = 0; i < d->members.len; i++) {
        struct idl_decl *f = d->members.items[i];
        struct idl_case *c = f->arm_case;
        if (!c)
            continue;
        const char *type = NULL;
        const char *what = f->empty_arm ? "(nothing)" : f->name;
        if (!f->empty_arm) {
            if (!f->name) {
                fail(gp, "an unnamed union arm");
                sb_free(&arms);
                return NULL;
            }
            struct use u = field_use(gp, &arm_agg, f, NULL, f->name);
            u.stem = idl_printf(gp->a, "%s_%s", x->stem, f->name);
            u.label = idl_printf(gp->a, "%s.%s", x->label, f->name);
            struct tref t = use_type(gp, u, f->type, 0);
            if (!t.name) {
                sb_free(&arms);
                return NULL;
            }
            type = t.name;
        }
        if (c->is_default) {
            has_default = true;
            def = type;
        }
        for (size_t k = 0; k < c->values.len; k++) {
            struct idl_expr *e = c->values.items[k];
            struct idl_value v;
            if (!idl_eval(gp->g->c, e, &v) || v.kind != VAL_INT) {
                fail(gp, "a case label that is not constant");
                sb_free(&arms);
                return NULL;
            }
            const char *text = i64_text(gp, v.i);
            const char *src = expr_text(gp, e);
            if (strcmp(src, text) == 0)
                sb_printf(&arms, "    {%s, %s}, /* %s */\n", text, addr(gp, type), what);
            else
                sb_printf(&arms, "    {%s, %s}, /* case %s: %s */\n", text, addr(gp, type), src, what);
            n++;
        }
    }
    if (n) {
        sb_printf(&gp->types, "static const struct pcom_union_arm %s[] = {\n%s};\n\n", m->name, arms.data);
    }
    sb_free(&arms);
    m->narms = n;
    m->default_arm = def;
    m->has_default = has_default;
    m->defined = true;
    return m;
}

/* One field of a struct being described, for the flatness sum. */
struct fieldref {
    const char *offset;
    struct tref t;
    bool conformant;
};

/* A struct (or encapsulated union) declaration: its fields with their offsets. Shared by every use. */
static struct tref agg_desc(struct gp *gp, struct idl_decl *d)
{
    if (!d || !d->defined)
        return fail(gp, "an undefined struct");
    struct memo *m = memo_find(gp, M_AGG, d);
    if (m)
        return memo_ref(gp, m);
    struct agg *x = agg_of(gp, d);
    if (!x || (!x->ctype && !x->outer))
        return fail(gp, "a struct pcomidl cannot name in C");
    m = memo_new(gp, M_AGG, d, unique_name(gp, idl_printf(gp->a, "td_%s", x->stem)));
    struct idl_vec fields = {0}; /* struct fieldref * */

    if (d->kind == DECL_UNION) {
        /* encapsulated: a struct of the discriminant and a union whose switch_is reads it */
        if (!d->switch_name || !d->switch_type)
            return fail(gp, "an encapsulated union without a discriminant");
        struct idl_decl *disc = idl_alloc(gp->a, sizeof(*disc));
        disc->kind = DECL_FIELD;
        disc->name = d->switch_name;
        disc->type = d->switch_type;
        struct idl_vec *sib = idl_alloc(gp->a, sizeof(*sib));
        idl_vec_push(gp->a, sib, disc);
        struct ectx *ex = agg_ectx(gp, x, sib);
        struct use du = field_use(gp, x, disc, ex, d->switch_name);
        struct tref dt = use_type(gp, du, d->switch_type, 0);
        if (!dt.name)
            return dt;
        struct fieldref *f0 = idl_alloc(gp->a, sizeof(*f0));
        *f0 = (struct fieldref){member_offset(gp, x, d->switch_name), dt, false};
        idl_vec_push(gp->a, &fields, f0);

        struct memo *arms = union_arms(gp, d);
        if (!arms)
            return (struct tref){0};
        const char *uname = d->union_name ? d->union_name : "tagged_union";
        struct idl_expr *e = idl_alloc(gp->a, sizeof(*e));
        e->kind = EXPR_IDENT;
        e->text = d->switch_name;
        const char *stem = idl_printf(gp->a, "%s_%s", x->stem, uname);
        const char *fn = expr_fn(gp, ex, EF_SWITCH, e, stem,
                                 idl_printf(gp->a, "%s.%s", x->label, uname));
        if (!fn)
            return (struct tref){0};
        const char *un = unique_name(gp, idl_printf(gp->a, "td_%s", stem));
        const char *size = x->ctype ? idl_printf(gp->a, "sizeof(((%s *)0)->%s)", x->ctype, uname)
                                    : idl_printf(gp->a, "sizeof(((%s *)0)->%s.%s)", x->outer, x->path, uname);
        const char *align = members_align(gp, NULL, &d->members);
        struct tinit t = {.kind = "PCOM_KIND_UNION", .align = align, .size = size,
                          .count = idl_printf(gp->a, "%u", arms->narms), .arms = arms->narms ? arms->name : NULL,
                          .def = arms->default_arm, .has_default = arms->has_default, .switch_is = fn,
                          .label = idl_printf(gp->a, "%s.%s", x->label, uname)};
        print_type(gp, &gp->types, un, false, NULL, &t);
        struct fieldref *f1 = idl_alloc(gp->a, sizeof(*f1));
        *f1 = (struct fieldref){member_offset(gp, x, uname), (struct tref){un, NULL, 0, 0}, false};
        idl_vec_push(gp->a, &fields, f1);
    } else {
        struct ectx *ex = agg_ectx(gp, x, &d->members);
        for (size_t i = 0; i < d->members.len; i++) {
            struct idl_decl *f = d->members.items[i];
            if (!f->name)
                return fail(gp, "an unnamed struct member");
            struct use u = field_use(gp, x, f, ex, f->name);
            u.last_field = i + 1 == d->members.len;
            struct tref t = use_type(gp, u, f->type, 0);
            if (!t.name)
                return t;
            struct idl_type *r = idl_type_resolve(f->type);
            struct fieldref *fr = idl_alloc(gp->a, sizeof(*fr));
            *fr = (struct fieldref){member_offset(gp, x, f->name), t, r && r->kind == TY_ARRAY && !r->size};
            idl_vec_push(gp->a, &fields, fr);
        }
    }

    /* flat when every field is and neither the wire nor C pads: the generator checks the wire layout,
     * the C compiler its own (sizeof equal to the sum of the fields) */
    bool flat = fields.len > 0;
    uint64_t off = 0, align = 1;
    for (size_t i = 0; i < fields.len && flat; i++) {
        struct fieldref *f = fields.items[i];
        if (f->conformant || !f->t.flat || !f->t.walign || off % f->t.walign) {
            flat = false;
            break;
        }
        off += f->t.wsize;
        align = f->t.walign > align ? f->t.walign : align;
    }
    if (flat && off % align)
        flat = false;
    const char *flat_cond = flat ? idl_printf(gp->a, "%s == %" PRIu64, agg_size(gp, x), off) : NULL;

    const char *fields_name = NULL;
    if (fields.len) {
        fields_name = unique_name(gp, idl_printf(gp->a, "%s_fields", m->name));
        sb_printf(&gp->types, "static const struct pcom_field %s[] = {\n", fields_name);
        for (size_t i = 0; i < fields.len; i++) {
            struct fieldref *f = fields.items[i];
            sb_printf(&gp->types, "    {%s, &%s},\n", f->offset, f->t.name);
        }
        sb_puts(&gp->types, "};\n\n");
    }
    const char *what = x->ctype ? x->ctype
                                : idl_printf(gp->a, "%s, a type without a name: ((%s *)0)->%s", x->label, x->outer,
                                             x->path);
    struct tinit t = {.kind = "PCOM_KIND_STRUCT", .flags = flags_text(gp, false, false, flat_cond),
                      .align = agg_align(gp, x), .size = agg_size(gp, x),
                      .count = idl_printf(gp->a, "%zu", fields.len), .fields = fields_name, .label = x->label};
    const char *comment = d->kind == DECL_UNION ? idl_printf(gp->a, "%s: an encapsulated union", what)
                          : flat_cond ? idl_printf(gp->a, "%s: flat when C lays it out without padding", what)
                                      : what;
    print_type(gp, &gp->types, m->name, m->fwd, comment, &t);
    m->defined = true;
    m->ref = (struct tref){m->name, flat_cond, off, align};
    return m->ref;
}

/* ---- methods ---- */

/* The type a parameter has in its frame: an array decays to a pointer, top-level const goes. */
static struct idl_type *frame_type(struct gp *gp, struct idl_type *t)
{
    struct idl_type *r = idl_type_resolve(t);
    if (r && r->kind == TY_ARRAY) {
        struct idl_type *p = idl_alloc(gp->a, sizeof(*p));
        p->kind = TY_POINTER;
        p->ref = r->ref;
        p->loc = t->loc;
        return p;
    }
    if (t->is_const) {
        struct idl_type *c = idl_alloc(gp->a, sizeof(*c));
        *c = *t;
        c->is_const = false;
        return c;
    }
    return t;
}

static const char *iface_of_method(struct idl_decl *m)
{
    return m->parent && m->parent->name ? m->parent->name : "method";
}

/* Frame, parameter descriptors and parameter list of a method whose arguments travel. */
static struct method_info *gen_method(struct gp *gp, struct idl_decl *wire)
{
    for (size_t i = 0; i < gp->methods.len; i++) {
        struct method_info *mi = gp->methods.items[i];
        if (mi->wire == wire)
            return mi;
    }
    struct method_info *mi = idl_alloc(gp->a, sizeof(*mi));
    mi->wire = wire;
    idl_vec_push(gp->a, &gp->methods, mi);
    const char *iname = iface_of_method(wire);
    const char *cname = cg_method_c_name(gp->g, wire);
    if (!idl_type_is_hresult(wire->type)) {
        mi->why = idl_printf(gp->a, "%s does not return HRESULT, so a failed call could not be reported", cname);
        return mi;
    }
    struct mark mk = mark_of(gp);
    gp->why = NULL;
    mi->stem = idl_printf(gp->a, "%s_%s", iname, cname);
    const char *tag = unique_name(gp, idl_printf(gp->a, "%s_frame", mi->stem));
    mi->frame = idl_printf(gp->a, "struct %s", tag);

    sb_printf(&gp->frames, "/* the arguments, as the thunks and the engine see them */\nstruct %s {\n", tag);
    for (size_t i = 0; i < wire->members.len; i++) {
        struct idl_decl *p = wire->members.items[i];
        sb_puts(&gp->frames, "    ");
        cg_print_decl(NULL, &gp->frames, frame_type(gp, p->type), p->name, 1, false);
        sb_puts(&gp->frames, ";\n");
    }
    if (!wire->members.len)
        sb_puts(&gp->frames, "    char unused_; /* C has no empty structs */\n");
    sb_puts(&gp->frames, "};\n\n");

    struct ectx *ex = idl_alloc(gp->a, sizeof(*ex));
    ex->siblings = &wire->members;
    ex->acc = "f->";
    ex->setup = idl_printf(gp->a, "    const %s *f = (const %s *)base;\n", mi->frame, mi->frame);
    ex->what = idl_printf(gp->a, "%s::%s", iname, cname);
    struct sbuf params = {0};
    for (size_t i = 0; i < wire->members.len; i++) {
        struct idl_decl *p = wire->members.items[i];
        if (!p->name) {
            fail(gp, "an unnamed parameter");
            break;
        }
        struct use u = {0};
        u.attrs = &p->attrs;
        u.stem = idl_printf(gp->a, "%s_%s", mi->stem, p->name);
        u.label = idl_printf(gp->a, "%s.%s.%s", iname, cname, p->name);
        u.ex = ex;
        u.pdefault = pointer_default(wire->parent);
        u.param = true;
        u.member = p->name;
        u.want_string = idl_has_attr(&p->attrs, "string");
        u.want_iid = true;
        struct tref t = use_type(gp, u, p->type, 0);
        if (!t.name)
            break;
        bool out = idl_has_attr(&p->attrs, "out");
        bool in = idl_has_attr(&p->attrs, "in") || !out;
        const char *flags = in && out ? "PCOM_PF_IN | PCOM_PF_OUT" : in ? "PCOM_PF_IN" : "PCOM_PF_OUT";
        if (idl_has_attr(&p->attrs, "retval"))
            flags = idl_printf(gp->a, "%s | PCOM_PF_RETVAL", flags);
        sb_printf(&params, "    {offsetof(%s, %s), %s, &%s, \"%s\"},\n", mi->frame, p->name, flags, t.name, p->name);
    }
    if (gp->why) {
        mi->why = gp->why;
        gp->why = NULL;
        rollback(gp, mk);
        mi->stem = NULL;
        sb_free(&params);
        return mi;
    }
    mi->nparams = (unsigned)wire->members.len;
    if (mi->nparams) {
        mi->params = unique_name(gp, idl_printf(gp->a, "%s_params", mi->stem));
        sb_printf(&gp->types, "static const struct pcom_param %s[] = {\n%s};\n\n", mi->params, params.data);
    }
    sb_free(&params);
    return mi;
}

/* ---- interfaces ---- */

struct slot {
    struct idl_decl *m;      /* the method in the vtable */
    struct idl_decl *owner;  /* the interface that declares it */
    struct idl_decl *remote; /* its [call_as] remote form, or NULL */
    unsigned index;
};

static bool in_vtable(struct idl_decl *m)
{
    return (m->kind == DECL_METHOD || m->kind == DECL_FUNCTION) && !idl_has_attr(&m->attrs, "call_as");
}

static struct idl_decl *call_as_partner(struct idl_decl *owner, struct idl_decl *m)
{
    for (size_t i = 0; i < owner->members.len; i++) {
        struct idl_decl *r = owner->members.items[i];
        struct idl_attr *ca = idl_attr_find(&r->attrs, "call_as");
        if ((r->kind == DECL_METHOD || r->kind == DECL_FUNCTION) && ca && ca->ident_arg &&
            strcmp(ca->ident_arg, m->name) == 0)
            return r;
    }
    return NULL;
}

static size_t collect_slots(struct gp *gp, struct idl_decl *iface, struct idl_vec *slots)
{
    struct idl_decl *chain[256];
    int k = 0;
    for (struct idl_decl *d = iface; d && k < 256; d = d->base)
        chain[k++] = d;
    unsigned index = 0;
    for (int i = k - 1; i >= 0; i--) {
        for (size_t j = 0; j < chain[i]->members.len; j++) {
            struct idl_decl *m = chain[i]->members.items[j];
            if (!in_vtable(m))
                continue;
            struct slot *s = idl_alloc(gp->a, sizeof(*s));
            *s = (struct slot){m, chain[i], call_as_partner(chain[i], m), index++};
            idl_vec_push(gp->a, slots, s);
        }
    }
    return slots->len;
}

/* "(IFoo *This, long a, ...)" and "This, a, ..." for a method as a slot of iface. */
static const char *params_text(struct gp *gp, const char *iface, struct idl_decl *m)
{
    struct sbuf b = {0};
    cg_print_params(NULL, &b, iface, &m->members);
    const char *s = idl_strdup(gp->a, b.data);
    sb_free(&b);
    return s;
}

static const char *args_text(struct gp *gp, const char *first, const char *prefix, struct idl_decl *m)
{
    struct sbuf b = {0};
    if (first)
        sb_puts(&b, first);
    for (size_t i = 0; i < m->members.len; i++) {
        struct idl_decl *p = m->members.items[i];
        if (b.len)
            sb_puts(&b, ", ");
        sb_printf(&b, "%s%s", prefix, p->name ? p->name : "");
    }
    const char *s = idl_strdup(gp->a, b.data ? b.data : "");
    sb_free(&b);
    return s;
}

static void print_unused(struct sbuf *b, struct idl_decl *m)
{
    sb_puts(b, "    (void)This;\n");
    for (size_t i = 0; i < m->members.len; i++) {
        struct idl_decl *p = m->members.items[i];
        if (p->name)
            sb_printf(b, "    (void)%s;\n", p->name);
    }
}

/* A slot that cannot be remoted: E_NOTIMPL, or a zero of its return type. */
static void print_refusal(struct gp *gp, struct sbuf *b, struct idl_decl *m)
{
    print_unused(b, m);
    struct idl_type *r = idl_type_resolve(m->type);
    if (idl_type_is_hresult(m->type)) {
        sb_puts(b, "    return E_NOTIMPL;\n");
    } else if (idl_type_is_void(m->type) && !idl_type_is_pointer(m->type)) {
        /* nothing to return */
    } else if (r && (r->kind == TY_STRUCT || r->kind == TY_UNION)) {
        struct idl_type *t = frame_type(gp, m->type);
        sb_printf(b, "    %s;\n    memset(&result, 0, sizeof(result));\n    return result;\n",
                  type_text(gp, t, "result"));
        gp->helpers |= H_STRING_H;
    } else {
        sb_printf(b, "    return (%s)0;\n", type_text(gp, m->type, NULL));
    }
}

/* The names of an interface's three top-level tables, taken before anything else is named. */
struct iface_names {
    struct idl_decl *d;
    const char *info, *methods, *vtbl;
};

/* What generating a method left in the per-method buffers, moved to the output. */
static void flush_method(struct gp *gp, struct sbuf *out)
{
    sb_puts(out, gp->frames.data ? gp->frames.data : "");
    sb_puts(out, gp->fns.data ? gp->fns.data : "");
    if (gp->fwd.len) {
        sb_puts(out, "/* declared ahead: these types refer to themselves through pointers */\n");
        sb_puts(out, gp->fwd.data);
        sb_putc(out, '\n');
    }
    sb_puts(out, gp->types.data ? gp->types.data : "");
    sb_truncate(&gp->frames, 0);
    sb_truncate(&gp->fns, 0);
    sb_truncate(&gp->fwd, 0);
    sb_truncate(&gp->types, 0);
}

static void print_frame_init(struct gp *gp, struct sbuf *b, const struct method_info *mi)
{
    sb_printf(b, "    %s pcom_frame_ = {%s};\n", mi->frame,
              mi->wire->members.len ? args_text(gp, NULL, "", mi->wire) : "0");
}

/* One interface: per vtable slot its tables and thunks, then the method table and the proxy's vtable. */
static void gen_interface(struct gp *gp, const struct iface_names *in, struct sbuf *out, struct sbuf *exported,
                          struct sbuf *externs)
{
    struct idl_decl *d = in->d;
    struct idl_vec slots = {0};
    collect_slots(gp, d, &slots);
    struct sbuf table = {0}, vtbl = {0};
    sb_printf(&table, "/* %s's methods by vtable slot: what travels, and the server thunk */\n"
                      "static const struct pcom_method %s[] = {\n", d->name, in->methods);
    sb_printf(&vtbl, "/* The proxy's vtable: a runtime proxy for %s points here */\nstatic const %sVtbl %s = {\n",
              d->name, d->name, in->vtbl);
    sb_printf(out, "/* ======== interface %s ======== */\n\n", d->name);

    for (size_t i = 0; i < slots.len; i++) {
        struct slot *s = slots.items[i];
        struct idl_decl *m = s->m;
        const char *cname = cg_method_c_name(gp->g, m);
        const char *proxy = unique_name(gp, idl_printf(gp->a, "%s_%s_proxy", d->name, cname));
        const char *ret = type_text(gp, m->type, NULL);
        const char *params = params_text(gp, d->name, m);
        sb_printf(&vtbl, "    %s,\n", proxy);

        if (!s->owner->base) {
            /* IUnknown: the runtime's own three */
            static const char *const fns[] = {"pcom_proxy_query_interface", "pcom_proxy_add_ref",
                                              "pcom_proxy_release"};
            if (s->index == 0)
                sb_puts(out, "/* IUnknown's slots: the runtime's proxy answers them */\n");
            if (s->index < 3) {
                sb_printf(out, "static %s STDMETHODCALLTYPE %s%s\n{\n    return %s(%s);\n}\n\n", ret, proxy, params,
                          fns[s->index], args_text(gp, "This", "", m));
            } else {
                sb_printf(out, "static %s STDMETHODCALLTYPE %s%s\n{\n", ret, proxy, params);
                print_refusal(gp, out, m);
                sb_puts(out, "}\n\n");
            }
            sb_printf(&table, "    {\"%s\", 0, 0, 0, NULL, NULL}, /* the runtime's own */\n", cname);
            continue;
        }

        sb_printf(out, "/* ---- %s::%s, slot %u%s ---- */\n\n", s->owner->name, cname, s->index,
                  s->remote ? idl_printf(gp->a, ", travels as %s", s->remote->name) : "");
        const char *why = NULL;
        struct method_info *mi = NULL;
        if (s->owner->is_local)
            why = idl_printf(gp->a, "%s is a [local] interface", s->owner->name);
        else if (idl_has_attr(&m->attrs, "local") && !s->remote)
            why = "a [local] method";
        else {
            mi = gen_method(gp, s->remote ? s->remote : m);
            why = mi->why;
            flush_method(gp, out);
        }
        struct idl_decl *wire = s->remote ? s->remote : m;

        /* the server thunk */
        const char *invoke = NULL;
        if (!why) {
            invoke = unique_name(gp, idl_printf(gp->a, "%s_%s_invoke", d->name, cname));
            sb_puts(out, "/* the server: the object called with the frame's arguments */\n");
            sb_printf(out, "static HRESULT %s(void *object, void *frame)\n{\n", invoke);
            sb_printf(out, "    %s *This = (%s *)object;\n", d->name, d->name);
            if (wire->members.len)
                sb_printf(out, "    %s *f = (%s *)frame;\n", mi->frame, mi->frame);
            else
                sb_puts(out, "    (void)frame;\n");
            if (s->remote) {
                const char *self = s->owner == d ? "This" : idl_printf(gp->a, "(%s *)This", s->owner->name);
                sb_printf(out, "    return %s_%s_Stub(%s);\n}\n\n", s->owner->name, cname,
                          args_text(gp, self, "f->", wire));
            } else {
                sb_printf(out, "    return This->lpVtbl->%s(%s);\n}\n\n", cname, args_text(gp, "This", "f->", wire));
            }
        }

        /* the client thunk: the proxy's vtable slot */
        if (s->remote) {
            const char *self = s->owner == d ? "This" : idl_printf(gp->a, "(%s *)This", s->owner->name);
            sb_printf(out, "/* the proxy: the application's %s_%s_Proxy turns the call into %s */\n",
                      s->owner->name, cname, s->remote->name);
            sb_printf(out, "static %s STDMETHODCALLTYPE %s%s\n{\n    return %s_%s_Proxy(%s);\n}\n\n", ret, proxy,
                      params, s->owner->name, cname, args_text(gp, self, "", m));
        } else if (why) {
            sb_printf(out, "/* the proxy: not remoted: %s */\n", why);
            sb_printf(out, "static %s STDMETHODCALLTYPE %s%s\n{\n", ret, proxy, params);
            print_refusal(gp, out, m);
            sb_puts(out, "}\n\n");
        } else {
            sb_puts(out, "/* the proxy: the caller's arguments go to the runtime in a frame */\n");
            sb_printf(out, "static %s STDMETHODCALLTYPE %s%s\n{\n", ret, proxy, params);
            print_frame_init(gp, out, mi);
            sb_printf(out, "    return pcom_proxy_invoke(This, &%s, %u, &pcom_frame_);\n}\n\n", in->info, s->index);
        }

        /* the remote half of a [call_as] pair declared here: the application's _Proxy calls it */
        if (s->remote && s->owner == d) {
            const char *rname = idl_printf(gp->a, "%s_%s_Proxy", d->name, cg_method_c_name(gp->g, s->remote));
            const char *rparams = params_text(gp, d->name, s->remote);
            const char *rret = type_text(gp, s->remote->type, NULL);
            sb_printf(externs, "%s STDMETHODCALLTYPE %s%s;\n", rret, rname, rparams);
            sb_printf(exported, "/* %s::%s travels as %s: %s_%s_Proxy, the application's, calls this */\n",
                      d->name, cname, s->remote->name, d->name, cname);
            sb_printf(exported, "%s STDMETHODCALLTYPE %s%s\n{\n", rret, rname, rparams);
            if (why) {
                sb_printf(exported, "    /* not remoted: %s */\n", why);
                print_refusal(gp, exported, s->remote);
            } else {
                print_frame_init(gp, exported, mi);
                sb_printf(exported, "    return pcom_proxy_invoke(This, &%s, %u, &pcom_frame_);\n", in->info, s->index);
            }
            sb_puts(exported, "}\n\n");
        }

        if (why)
            sb_printf(&table, "    {\"%s\", 0, 0, 0, NULL, NULL}, /* not remoted: %s */\n", cname, why);
        else
            sb_printf(&table, "    {\"%s\", sizeof(%s), PCOMP_ALIGNOF(%s), %u, %s, %s},\n", cname, mi->frame,
                      mi->frame, mi->nparams, or_null(mi->params), invoke);
    }
    sb_puts(&table, "};\n\n");
    sb_puts(&vtbl, "};\n\n");
    sb_puts(out, table.data);
    sb_puts(out, vtbl.data);
    sb_free(&table);
    sb_free(&vtbl);
}

static void collect_remotable(struct idl_vec *items, struct idl_arena *a, struct idl_vec *out)
{
    for (size_t i = 0; i < items->len; i++) {
        struct idl_decl *d = items->items[i];
        if (d->kind == DECL_LIBRARY)
            collect_remotable(&d->members, a, out);
        else if (d->kind == DECL_INTERFACE && d->defined && !d->imported && d->is_object && !d->is_local &&
                 d->base)
            idl_vec_push(a, out, d);
    }
}

static void print_helpers(struct sbuf *b, unsigned h)
{
    if (h & H_MAX)
        sb_puts(b, "/* the alignment of an aggregate C cannot name: the largest of its members' */\n"
                   "#define PCOMP_MAX(a, b) ((a) > (b) ? (a) : (b))\n\n");
    if (!(h & (H_ADD | H_SUB | H_MUL | H_DIV | H_MOD | H_SHL | H_SHR | H_NEG)))
        return;
    sb_puts(b, "/* Checked int64_t arithmetic for size_is, length_is and switch_is: the values may come from the\n"
               " * wire, so an overflow, a division by zero or a shift out of range clears *ok instead. */\n");
    if (h & H_ADD)
        sb_puts(b, "static inline int64_t pcomp_add(bool *ok, int64_t a, int64_t b)\n{\n    int64_t r;\n"
                   "    if (__builtin_add_overflow(a, b, &r)) {\n        *ok = false;\n        return 0;\n    }\n"
                   "    return r;\n}\n\n");
    if (h & H_SUB)
        sb_puts(b, "static inline int64_t pcomp_sub(bool *ok, int64_t a, int64_t b)\n{\n    int64_t r;\n"
                   "    if (__builtin_sub_overflow(a, b, &r)) {\n        *ok = false;\n        return 0;\n    }\n"
                   "    return r;\n}\n\n");
    if (h & H_MUL)
        sb_puts(b, "static inline int64_t pcomp_mul(bool *ok, int64_t a, int64_t b)\n{\n    int64_t r;\n"
                   "    if (__builtin_mul_overflow(a, b, &r)) {\n        *ok = false;\n        return 0;\n    }\n"
                   "    return r;\n}\n\n");
    if (h & H_DIV)
        sb_puts(b, "static inline int64_t pcomp_div(bool *ok, int64_t a, int64_t b)\n{\n"
                   "    if (b == 0 || (a == INT64_MIN && b == -1)) {\n        *ok = false;\n        return 0;\n    }\n"
                   "    return a / b;\n}\n\n");
    if (h & H_MOD)
        sb_puts(b, "static inline int64_t pcomp_mod(bool *ok, int64_t a, int64_t b)\n{\n"
                   "    if (b == 0 || (a == INT64_MIN && b == -1)) {\n        *ok = false;\n        return 0;\n    }\n"
                   "    return a % b;\n}\n\n");
    if (h & H_SHL)
        sb_puts(b, "static inline int64_t pcomp_shl(bool *ok, int64_t a, int64_t b)\n{\n"
                   "    if (b < 0 || b > 62 || a < 0 || a > (INT64_MAX >> b)) {\n        *ok = false;\n"
                   "        return 0;\n    }\n    return a << b;\n}\n\n");
    if (h & H_SHR)
        sb_puts(b, "static inline int64_t pcomp_shr(bool *ok, int64_t a, int64_t b)\n{\n"
                   "    if (b < 0 || b > 63) {\n        *ok = false;\n        return 0;\n    }\n"
                   "    return a >> b;\n}\n\n");
    if (h & H_NEG)
        sb_puts(b, "static inline int64_t pcomp_neg(bool *ok, int64_t a)\n{\n"
                   "    if (a == INT64_MIN) {\n        *ok = false;\n        return 0;\n    }\n"
                   "    return -a;\n}\n\n");
}

const char *cg_proxy_file_symbol(struct gen_ctx *g)
{
    const char *stem = file_stem(g->c->arena, g->idl_name);
    return idl_printf(g->c->arena, "%s_ProxyFileInfo", c_identifier(g->c->arena, stem, strlen(stem)));
}

void gen_proxy(struct gen_ctx *g, struct sbuf *b)
{
    struct idl_file *main = g->c->files.items[0];
    struct gp gp = {.g = g, .a = g->c->arena};
    for (size_t i = 0; i < g->c->files.len; i++)
        seed_names(&gp, &((struct idl_file *)g->c->files.items[i])->decls);
    for (size_t i = 0; i < g->c->files.len; i++)
        walk_top(&gp, &((struct idl_file *)g->c->files.items[i])->decls, NULL);
    walk_nested(&gp);

    struct idl_vec ifaces = {0};
    collect_remotable(&main->decls, gp.a, &ifaces);
    const char *file_info = cg_proxy_file_symbol(g);
    take_name(&gp, file_info);
    struct iface_names *names = idl_alloc(gp.a, (ifaces.len + 1) * sizeof(*names));
    for (size_t i = 0; i < ifaces.len; i++) {
        struct idl_decl *d = ifaces.items[i];
        names[i].d = d;
        names[i].info = unique_name(&gp, idl_printf(gp.a, "%s_ProxyInfo", d->name));
        names[i].methods = unique_name(&gp, idl_printf(gp.a, "%s_methods", d->name));
        names[i].vtbl = unique_name(&gp, idl_printf(gp.a, "%s_proxy_vtbl", d->name));
    }

    struct sbuf body = {0}, exported = {0}, externs = {0};
    for (size_t i = 0; i < ifaces.len; i++)
        gen_interface(&gp, &names[i], &body, &exported, &externs);

    const char *idl_base = strrchr(g->idl_name, '/');
    idl_base = idl_base ? idl_base + 1 : g->idl_name;
    const char *header = strrchr(g->header_name, '/');
    header = header ? header + 1 : g->header_name;
    const char *stem = file_stem(gp.a, g->idl_name);

    sb_printf(b, "/* %s_p.c: generated by pcomidl %s from %s. Do not edit.\n *\n", stem, PCOMIDL_VERSION, idl_base);
    sb_puts(b, " * The proxy/stub tables of the remotable interfaces this file defines: per method an argument\n"
               " * frame, the type descriptors the runtime's marshaling engine walks (laid out by the C compiler with\n"
               " * offsetof and sizeof), a server thunk that calls the object with the frame's arguments, and a\n"
               " * client thunk, the proxy's vtable slot, that packs them. Linking this file registers the interfaces\n"
               " * with the runtime (see the end). */\n\n");
    sb_puts(b, "#include <pcom/stub.h>\n");
    if (gp.helpers & H_STRING_H)
        sb_puts(b, "\n#include <string.h>\n");
    sb_printf(b, "\n#include \"%s\"\n\n", header);
    sb_puts(b, "#ifdef __cplusplus\n"
               "/* C++ has neither _Alignof nor tentative definitions: there the tables live in an unnamed namespace\n"
               " * and those that refer to each other in a cycle are declared ahead with extern. */\n"
               "#define PCOMP_ALIGNOF(T) alignof(T)\n#define PCOMP_DECLARE extern\n#define PCOMP_STATIC\n"
               "extern \"C\" {\n#else\n"
               "#define PCOMP_ALIGNOF(T) _Alignof(T)\n#define PCOMP_DECLARE static\n#define PCOMP_STATIC static\n"
               "#endif\n\n");
    sb_puts(b, "/* One initializer of struct pcom_type per kind of descriptor, its fields in order */\n"
               "#define PCOMP_SCALAR(kind, flags, align, size, range_min, range_max, name) \\\n"
               "    {kind, flags, align, size, 0, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, range_min, range_max, "
               "NULL, NULL, name}\n"
               "#define PCOMP_POINTER(kind, flags, elem, size_is, length_is, name) \\\n"
               "    {kind, flags, PCOMP_ALIGNOF(void *), sizeof(void *), 0, elem, NULL, NULL, NULL, false, size_is, "
               "length_is, NULL, 0, 0, NULL, NULL, name}\n"
               "#define PCOMP_INTERFACE(flags, iid, iid_is, name) \\\n"
               "    {PCOM_KIND_INTERFACE, flags, PCOMP_ALIGNOF(void *), sizeof(void *), 0, NULL, NULL, NULL, NULL, false, "
               "NULL, NULL, NULL, 0, 0, iid, iid_is, name}\n"
               "#define PCOMP_ARRAY(flags, align, size, count, elem, size_is, length_is, name) \\\n"
               "    {PCOM_KIND_ARRAY, flags, align, size, count, elem, NULL, NULL, NULL, false, size_is, length_is, NULL, "
               "0, 0, NULL, NULL, name}\n"
               "#define PCOMP_STRUCT(flags, align, size, count, fields, name) \\\n"
               "    {PCOM_KIND_STRUCT, flags, align, size, count, NULL, fields, NULL, NULL, false, NULL, NULL, NULL, 0, 0, "
               "NULL, NULL, name}\n"
               "#define PCOMP_UNION(align, size, count, arms, default_arm, has_default, switch_is, name) \\\n"
               "    {PCOM_KIND_UNION, 0, align, size, count, NULL, NULL, arms, default_arm, has_default, NULL, NULL, "
               "switch_is, 0, 0, NULL, NULL, name}\n\n");
    for (size_t i = 0; i < ifaces.len; i++)
        sb_printf(b, "extern const struct pcom_interface_info %s;\n", names[i].info);
    sb_printf(b, "extern const struct pcom_interface_info *const %s[];\n", file_info);
    if (externs.len)
        sb_printf(b, "\n/* The remote halves of [call_as] methods, which the application's _Proxy functions call */\n%s",
                  externs.data);
    sb_putc(b, '\n');
    if (!ifaces.len)
        sb_printf(b, "/* %s defines no remotable interface */\n\n", idl_base);
    if (body.len) {
        sb_puts(b, "#ifdef __cplusplus\nnamespace {\n#endif\n\n");
        print_helpers(b, gp.helpers);
        if (gp.base.len) {
            sb_puts(b, "/* ======== scalar descriptors, shared by every use ======== */\n\n");
            sb_puts(b, gp.base.data);
        }
        sb_puts(b, body.data);
        sb_puts(b, "#ifdef __cplusplus\n} /* namespace */\n#endif\n\n");
    }
    if (exported.len)
        sb_puts(b, exported.data);
    for (size_t i = 0; i < ifaces.len; i++) {
        struct idl_decl *d = ifaces.items[i];
        struct idl_vec slots = {0};
        size_t n = collect_slots(&gp, d, &slots);
        sb_printf(b, "const struct pcom_interface_info %s = {\n", names[i].info);
        sb_printf(b, "    PCOM_INTERFACE_INFO_MAGIC, PCOM_STUB_ABI_VERSION, &IID_%s, \"%s\", %zu, %s,\n    &%s};\n\n",
                  d->name, d->name, n, names[i].methods, names[i].vtbl);
    }
    sb_puts(b, "/* Every interface of this file, for a program that wants to register them itself. pcom_add_idl names\n"
               " * this symbol to the linker, so that a static library's copy of this file is linked. */\n");
    sb_printf(b, "const struct pcom_interface_info *const %s[] = {\n", file_info);
    for (size_t i = 0; i < ifaces.len; i++)
        sb_printf(b, "    &%s,\n", names[i].info);
    sb_puts(b, "    NULL,\n};\n\n");
    if (ifaces.len) {
        const char *reg = idl_printf(gp.a, "%s_register", file_info);
        sb_puts(b, "/* Linking this file makes its interfaces known to the runtime before main (a GCC/Clang constructor) */\n");
        sb_printf(b, "__attribute__((constructor)) static void %s(void)\n{\n", reg);
        sb_printf(b, "    for (size_t i = 0; %s[i]; i++)\n        (void)pcom_register_interface(%s[i]);\n}\n\n",
                  file_info, file_info);
    }
    sb_puts(b, "#ifdef __cplusplus\n}\n#endif\n");

    sb_free(&body);
    sb_free(&exported);
    sb_free(&externs);
    sb_free(&gp.base);
    sb_free(&gp.frames);
    sb_free(&gp.fns);
    sb_free(&gp.fwd);
    sb_free(&gp.types);
    free(gp.name_index.slots);
    free(gp.memo_index.slots);
}
