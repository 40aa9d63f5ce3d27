/* util.c: the front end's arena, growable vectors, symbol tables and diagnostics sink. */
#include "idl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena: chunks of at least 64 KiB; freed all at once ---- */

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    max_align_t data[];
};

struct idl_arena {
    struct arena_chunk *head;
};

static void out_of_memory(void)
{
    fputs("pcomidl: out of memory\n", stderr);
    abort();
}

struct idl_arena *idl_arena_new(void)
{
    struct idl_arena *a = calloc(1, sizeof(*a));
    if (!a)
        out_of_memory();
    return a;
}

void idl_arena_free(struct idl_arena *a)
{
    if (!a)
        return;
    for (struct arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void *idl_alloc(struct idl_arena *a, size_t size)
{
    const size_t align = sizeof(max_align_t);
    size = (size + align - 1) & ~(align - 1);
    struct arena_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t chunk = size > 65536 ? size : 65536;
        c = malloc(sizeof(*c) + chunk);
        if (!c)
            out_of_memory();
        c->size = chunk;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *idl_strndup(struct idl_arena *a, const char *s, size_t n)
{
    char *p = idl_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *idl_strdup(struct idl_arena *a, const char *s)
{
    return idl_strndup(a, s, strlen(s));
}

char *idl_printf(struct idl_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = idl_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void idl_vec_push(struct idl_arena *a, struct idl_vec *v, void *item)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        void **items = idl_alloc(a, cap * sizeof(*items));
        if (v->len)
            memcpy(items, v->items, v->len * sizeof(*items));
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = item;
}

/* ---- symbol tables: open addressing, FNV-1a ---- */

struct idl_symtab {
    struct idl_arena *arena;
    const char **keys;
    struct idl_decl **vals;
    size_t cap, len;
};

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

struct idl_symtab *idl_symtab_new(struct idl_arena *a)
{
    struct idl_symtab *t = idl_alloc(a, sizeof(*t));
    t->arena = a;
    t->cap = 256;
    t->keys = idl_alloc(a, t->cap * sizeof(*t->keys));
    t->vals = idl_alloc(a, t->cap * sizeof(*t->vals));
    return t;
}

struct idl_decl *idl_symtab_get(struct idl_symtab *t, const char *name)
{
    for (size_t i = hash_str(name) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->keys[i])
            return NULL;
        if (strcmp(t->keys[i], name) == 0)
            return t->vals[i];
    }
}

static void symtab_insert(struct idl_symtab *t, const char *name, struct idl_decl *d)
{
    for (size_t i = hash_str(name) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->keys[i]) {
            t->keys[i] = name;
            t->vals[i] = d;
            t->len++;
            return;
        }
        if (strcmp(t->keys[i], name) == 0) {
            t->vals[i] = d;
            return;
        }
    }
}

void idl_symtab_put(struct idl_symtab *t, const char *name, struct idl_decl *d)
{
    if ((t->len + 1) * 2 > t->cap) {
        const char **keys = t->keys;
        struct idl_decl **vals = t->vals;
        size_t cap = t->cap;
        t->cap *= 2;
        t->len = 0;
        t->keys = idl_alloc(t->arena, t->cap * sizeof(*t->keys));
        t->vals = idl_alloc(t->arena, t->cap * sizeof(*t->vals));
        for (size_t i = 0; i < cap; i++)
            if (keys[i])
                symtab_insert(t, keys[i], vals[i]);
    }
    symtab_insert(t, name, d);
}

/* ---- diagnostics ---- */

void idl_diag_stderr(void *user, enum idl_severity sev, struct idl_loc loc, const char *msg)
{
    (void)user;
    static const char *const names[] = {"note", "warning", "error"};
    if (loc.file)
        fprintf(stderr, "%s:%d:%d: %s: %s\n", loc.file, loc.line, loc.col, names[sev], msg);
    else
        fprintf(stderr, "pcomidl: %s: %s\n", names[sev], msg);
}

static void report(struct idl_compiler *c, enum idl_severity sev, struct idl_loc loc, const char *fmt,
                   va_list ap)
{
    if (c->too_many_errors)
        return;
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (sev == IDL_ERROR && ++c->errors > IDL_MAX_ERRORS) {
        c->too_many_errors = true;
        c->diag(c->diag_user, IDL_ERROR, loc, "too many errors; stopping");
        return;
    }
    if (sev == IDL_WARNING)
        c->warnings++;
    c->diag(c->diag_user, sev, loc, msg);
}

void idl_error(struct idl_compiler *c, struct idl_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(c, IDL_ERROR, loc, fmt, ap);
    va_end(ap);
}

void idl_warning(struct idl_compiler *c, struct idl_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(c, IDL_WARNING, loc, fmt, ap);
    va_end(ap);
}

void idl_note(struct idl_compiler *c, struct idl_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(c, IDL_NOTE, loc, fmt, ap);
    va_end(ap);
}

/* ---- uuids ---- */

void idl_uuid_format(const uint8_t u[16], char buf[37])
{
    snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
             u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Parses exactly 8-4-4-4-12 hex digits; bytes are stored in the order written. */
bool idl_uuid_parse(const char *s, size_t n, uint8_t out[16])
{
    static const int groups[] = {8, 4, 4, 4, 12};
    size_t pos = 0;
    int byte = 0;
    if (n != 36)
        return false;
    for (int g = 0; g < 5; g++) {
        if (g > 0) {
            if (s[pos] != '-')
                return false;
            pos++;
        }
        for (int k = 0; k < groups[g]; k += 2) {
            int hi = hexval(s[pos]), lo = hexval(s[pos + 1]);
            if (hi < 0 || lo < 0)
                return false;
            out[byte++] = (uint8_t)(hi << 4 | lo);
            pos += 2;
        }
    }
    return true;
}

struct idl_attr *idl_attr_find(const struct idl_vec *attrs, const char *name)
{
    for (size_t i = 0; i < attrs->len; i++) {
        struct idl_attr *a = attrs->items[i];
        if (strcmp(a->name, name) == 0)
            return a;
    }
    return NULL;
}
