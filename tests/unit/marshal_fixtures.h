/* marshal_fixtures.h: hand-written descriptor tables for the marshaling engine's tests, shared by
 * test_marshal.c and fuzz/fuzz_marshal.c. Each fixture is one method: its argument frame, its tables (built
 * with offsetof, sizeof and _Alignof, as a generator would), a client that fills a call's [in] values and
 * points its [out] pointers at storage, and an object that fills the [out] values and replaces the
 * [in, out] ones.
 *
 * A fixture's "call" is a struct that starts with the argument frame and holds the caller's storage after
 * it. Caller memory that an [in, out] parameter hands over (embedded pointers the callee may replace) comes
 * from pcom_alloc; everything else is in the call struct or, for conformant structs, from malloc, released
 * by the fixture's fini. pcomi_free_out() over a call frees what the call owns through [out] and
 * [in, out] parameters, before or after decode_out. */
#ifndef PCOM_TEST_MARSHAL_FIXTURES_H
#define PCOM_TEST_MARSHAL_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pcom/pcom.h>
#include <pcom/stub.h>

#include "marshal.h"

/* ---- table helpers ---- */

#define MX_SCALAR(K, CT, F) {.kind = (K), .flags = (F), .align = _Alignof(CT), .size = sizeof(CT), .name = #CT}
#define MX_RANGE(K, CT, LO, HI)                                                                                \
    {.kind = (K), .flags = PCOM_TF_FLAT | PCOM_TF_RANGE, .align = _Alignof(CT), .size = sizeof(CT),            \
     .range_min = (LO), .range_max = (HI), .name = #CT}
#define MX_PTR(E, F, SZ, LEN)                                                                                  \
    {.kind = PCOM_KIND_POINTER, .flags = (F), .align = _Alignof(void *), .size = sizeof(void *), .elem = (E), \
     .size_is = (SZ), .length_is = (LEN)}
#define MX_STR(E, F)                                                                                           \
    {.kind = PCOM_KIND_STRING, .flags = (F), .align = _Alignof(void *), .size = sizeof(void *), .elem = (E)}
#define MX_ARR(CT, E, N, LEN, F)                                                                               \
    {.kind = PCOM_KIND_ARRAY, .flags = (F), .align = _Alignof(CT), .size = sizeof(CT), .count = (N),           \
     .elem = (E), .length_is = (LEN)}
/* the trailing array of a conformant struct: no size of its own, size_is over the struct */
#define MX_CONF_ARR(E, SZ) {.kind = PCOM_KIND_ARRAY, .align = 1, .size = 0, .count = 0, .elem = (E), .size_is = (SZ)}
#define MX_STRUCT(CT, FIELDS, F)                                                                               \
    {.kind = PCOM_KIND_STRUCT, .flags = (F), .align = _Alignof(CT), .size = sizeof(CT),                        \
     .count = sizeof(FIELDS) / sizeof((FIELDS)[0]), .fields = (FIELDS), .name = #CT}
#define MX_FIELD(CT, member, T) {offsetof(CT, member), &(T)}
#define MX_PARAM(CT, member, FL, T) {offsetof(CT, member), (FL), &(T), #member}
#define MX_METHOD(NAME, CT, PARAMS)                                                                            \
    {NAME, sizeof(CT), _Alignof(CT), sizeof(PARAMS) / sizeof((PARAMS)[0]), (PARAMS), NULL}

/* size_is/length_is/switch_is helpers: a field of the base, or what a pointer field points to */
#define MX_EXPR_FIELD(fn, S, f)                                                                                \
    static bool fn(const void *b, uint64_t *o)                                                                 \
    {                                                                                                          \
        *o = (uint64_t)((const S *)b)->f;                                                                      \
        return true;                                                                                           \
    }
#define MX_EXPR_DEREF(fn, S, f)                                                                                \
    static bool fn(const void *b, uint64_t *o)                                                                 \
    {                                                                                                          \
        const S *s = b;                                                                                        \
        if (!s->f)                                                                                             \
            return false;                                                                                      \
        *o = (uint64_t)*s->f;                                                                                  \
        return true;                                                                                           \
    }

enum {
    IN = PCOM_PF_IN,
    OUT = PCOM_PF_OUT,
    INOUT = PCOM_PF_IN | PCOM_PF_OUT,
};

/* ---- the scalar kinds ---- */

static const struct pcom_type mt_i8 = MX_SCALAR(PCOM_KIND_I8, int8_t, PCOM_TF_FLAT);
static const struct pcom_type mt_u8 = MX_SCALAR(PCOM_KIND_U8, uint8_t, PCOM_TF_FLAT);
static const struct pcom_type mt_i16 = MX_SCALAR(PCOM_KIND_I16, int16_t, PCOM_TF_FLAT);
static const struct pcom_type mt_u16 = MX_SCALAR(PCOM_KIND_U16, uint16_t, PCOM_TF_FLAT);
static const struct pcom_type mt_i32 = MX_SCALAR(PCOM_KIND_I32, int32_t, PCOM_TF_FLAT);
static const struct pcom_type mt_u32 = MX_SCALAR(PCOM_KIND_U32, uint32_t, PCOM_TF_FLAT);
static const struct pcom_type mt_i64 = MX_SCALAR(PCOM_KIND_I64, int64_t, PCOM_TF_FLAT);
static const struct pcom_type mt_u64 = MX_SCALAR(PCOM_KIND_U64, uint64_t, PCOM_TF_FLAT);
static const struct pcom_type mt_f32 = MX_SCALAR(PCOM_KIND_F32, float, PCOM_TF_FLAT);
static const struct pcom_type mt_f64 = MX_SCALAR(PCOM_KIND_F64, double, PCOM_TF_FLAT);
static const struct pcom_type mt_enum = MX_SCALAR(PCOM_KIND_ENUM, int, 0);
static const struct pcom_type mt_guid = MX_SCALAR(PCOM_KIND_GUID, GUID, PCOM_TF_FLAT);
static const struct pcom_type mt_char = MX_SCALAR(PCOM_KIND_I8, char, PCOM_TF_FLAT);
static const struct pcom_type mt_wchar = MX_SCALAR(PCOM_KIND_U16, WCHAR, PCOM_TF_FLAT);

/* strings */
static const struct pcom_type mt_str = MX_STR(&mt_char, 0);
static const struct pcom_type mt_ustr = MX_STR(&mt_char, PCOM_TF_UNIQUE);
static const struct pcom_type mt_wstr = MX_STR(&mt_wchar, 0);
static const struct pcom_type mt_uwstr = MX_STR(&mt_wchar, PCOM_TF_UNIQUE);

static char *mx_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = pcom_alloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static size_t mx_wcslen(const WCHAR *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static WCHAR *mx_wcsdup(const WCHAR *s)
{
    size_t n = (mx_wcslen(s) + 1) * sizeof(WCHAR);
    WCHAR *p = pcom_alloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* ---- shared structs ---- */

struct pt {
    int32_t x, y;
};
static const struct pcom_field mf_pt[] = {MX_FIELD(struct pt, x, mt_i32), MX_FIELD(struct pt, y, mt_i32)};
static const struct pcom_type mt_pt = MX_STRUCT(struct pt, mf_pt, PCOM_TF_FLAT);

struct rect {
    struct pt a, b;
};
static const struct pcom_field mf_rect[] = {MX_FIELD(struct rect, a, mt_pt), MX_FIELD(struct rect, b, mt_pt)};
static const struct pcom_type mt_rect = MX_STRUCT(struct rect, mf_rect, PCOM_TF_FLAT);

/* padding and an enum: not flat, though it holds no pointers */
struct mixed {
    uint8_t tag;
    double d;
    int16_t s;
    struct pt p;
    int e;
};
static const struct pcom_field mf_mixed[] = {
    MX_FIELD(struct mixed, tag, mt_u8), MX_FIELD(struct mixed, d, mt_f64), MX_FIELD(struct mixed, s, mt_i16),
    MX_FIELD(struct mixed, p, mt_pt),   MX_FIELD(struct mixed, e, mt_enum),
};
static const struct pcom_type mt_mixed = MX_STRUCT(struct mixed, mf_mixed, 0);

static const struct pcom_type mt_upt = MX_PTR(&mt_pt, PCOM_TF_UNIQUE, NULL, NULL);
static const struct pcom_type mt_rpt = MX_PTR(&mt_pt, 0, NULL, NULL);

/* embedded pointers */
struct person {
    char *name;   /* [string] ref */
    WCHAR *wname; /* [string, unique] */
    int32_t age;
    struct pt *home; /* [unique] */
};
static const struct pcom_field mf_person[] = {
    MX_FIELD(struct person, name, mt_str),
    MX_FIELD(struct person, wname, mt_uwstr),
    MX_FIELD(struct person, age, mt_i32),
    MX_FIELD(struct person, home, mt_upt),
};
static const struct pcom_type mt_person = MX_STRUCT(struct person, mf_person, 0);
static const struct pcom_type mt_rperson = MX_PTR(&mt_person, 0, NULL, NULL);

/* a fixed array whose transmitted part is length_is(len), over the struct */
struct lenarr {
    int32_t len;
    int32_t data[8];
};
MX_EXPR_FIELD(mx_lenarr_len, struct lenarr, len)
static const struct pcom_type mt_lenarr_data = MX_ARR(int32_t[8], &mt_i32, 8, mx_lenarr_len, PCOM_TF_FLAT);
static const struct pcom_field mf_lenarr[] = {MX_FIELD(struct lenarr, len, mt_i32),
                                              MX_FIELD(struct lenarr, data, mt_lenarr_data)};
static const struct pcom_type mt_lenarr = MX_STRUCT(struct lenarr, mf_lenarr, 0);

/* a two-dimensional array, and trailing padding */
struct grid {
    int16_t m[2][3];
    uint8_t bytes[5];
};
static const struct pcom_type mt_row3 = MX_ARR(int16_t[3], &mt_i16, 3, NULL, PCOM_TF_FLAT);
static const struct pcom_type mt_m23 = MX_ARR(int16_t[2][3], &mt_row3, 2, NULL, PCOM_TF_FLAT);
static const struct pcom_type mt_bytes5 = MX_ARR(uint8_t[5], &mt_u8, 5, NULL, PCOM_TF_FLAT);
static const struct pcom_field mf_grid[] = {
    MX_FIELD(struct grid, m, mt_m23),
    MX_FIELD(struct grid, bytes, mt_bytes5),
};
static const struct pcom_type mt_grid = MX_STRUCT(struct grid, mf_grid, 0);

/* nests flat, non-flat and pointer-holding structs and arrays of them */
struct outer {
    struct mixed m;
    struct person who;
    int32_t nums[3];
    struct rect rs[2];
};
static const struct pcom_type mt_nums3 = MX_ARR(int32_t[3], &mt_i32, 3, NULL, PCOM_TF_FLAT);
static const struct pcom_type mt_rect2 = MX_ARR(struct rect[2], &mt_rect, 2, NULL, PCOM_TF_FLAT);
static const struct pcom_field mf_outer[] = {
    MX_FIELD(struct outer, m, mt_mixed),
    MX_FIELD(struct outer, who, mt_person),
    MX_FIELD(struct outer, nums, mt_nums3),
    MX_FIELD(struct outer, rs, mt_rect2),
};
static const struct pcom_type mt_outer = MX_STRUCT(struct outer, mf_outer, 0);

/* a non-encapsulated union: arms 1-4, an empty arm 5, a default arm */
union u {
    int32_t i;
    double d;
    struct pt p;
    char *s;
    int16_t h;
};
static const struct pcom_union_arm ma_u[] = {
    {1, &mt_i32}, {2, &mt_f64}, {3, &mt_pt}, {4, &mt_ustr}, {5, NULL},
};
#define MX_UNION(CT, ARMS, DEF, HASDEF, SW)                                                                    \
    {.kind = PCOM_KIND_UNION, .align = _Alignof(CT), .size = sizeof(CT), .count = sizeof(ARMS) / sizeof((ARMS)[0]), \
     .arms = (ARMS), .default_arm = (DEF), .union_has_default = (HASDEF), .switch_is = (SW), .name = #CT}

struct tagged {
    int32_t kind;
    union u v;
};
MX_EXPR_FIELD(mx_tagged_kind, struct tagged, kind)
static const struct pcom_type mt_tagged_u = MX_UNION(union u, ma_u, &mt_i16, true, mx_tagged_kind);
static const struct pcom_field mf_tagged[] = {
    MX_FIELD(struct tagged, kind, mt_i32),
    MX_FIELD(struct tagged, v, mt_tagged_u),
};
static const struct pcom_type mt_tagged = MX_STRUCT(struct tagged, mf_tagged, 0);

/* a conformant struct: its last field has size_is(n) elements */
struct cs {
    int32_t n;
    int16_t tag;
    int32_t items[];
};
MX_EXPR_FIELD(mx_cs_n, struct cs, n)
static const struct pcom_type mt_cs_items = MX_CONF_ARR(&mt_i32, mx_cs_n);
static const struct pcom_field mf_cs[] = {MX_FIELD(struct cs, n, mt_i32), MX_FIELD(struct cs, tag, mt_i16),
                                          MX_FIELD(struct cs, items, mt_cs_items)};
static const struct pcom_type mt_cs = MX_STRUCT(struct cs, mf_cs, 0);

static struct cs *mx_cs_new(void *(*alloc)(size_t), int32_t n, int16_t tag, int32_t first)
{
    struct cs *c = alloc(sizeof(struct cs) + (size_t)n * sizeof(int32_t));
    if (!c)
        return NULL;
    c->n = n;
    c->tag = tag;
    for (int32_t i = 0; i < n; i++)
        c->items[i] = first + i;
    return c;
}

/* ... whose elements hold pointers */
struct csn {
    int32_t n;
    char *names[];
};
MX_EXPR_FIELD(mx_csn_n, struct csn, n)
static const struct pcom_type mt_csn_names = MX_CONF_ARR(&mt_str, mx_csn_n);
static const struct pcom_field mf_csn[] = {
    MX_FIELD(struct csn, n, mt_i32),
    MX_FIELD(struct csn, names, mt_csn_names),
};
static const struct pcom_type mt_csn = MX_STRUCT(struct csn, mf_csn, 0);
static const struct pcom_type mt_ucsn = MX_PTR(&mt_csn, PCOM_TF_UNIQUE, NULL, NULL);

/* a self-referential list */
struct node {
    int32_t v;
    struct node *next;
};
static const struct pcom_type mt_node;
static const struct pcom_type mt_unode = MX_PTR(&mt_node, PCOM_TF_UNIQUE, NULL, NULL);
static const struct pcom_field mf_node[] = {MX_FIELD(struct node, v, mt_i32), MX_FIELD(struct node, next, mt_unode)};
static const struct pcom_type mt_node = MX_STRUCT(struct node, mf_node, 0);

/* ======== the methods ======== */

/* ---- empty: void Empty(void) ---- */
struct f_empty {
    int32_t unused;
};
static const struct pcom_method mm_empty = {"Empty", sizeof(struct f_empty), _Alignof(struct f_empty), 0, NULL, NULL};
static void init_empty(void *call)
{
    (void)call;
}
static void fill_empty(void *frame)
{
    (void)frame;
}

/* ---- scalars: every scalar kind in, and out through [out] pointers ---- */
struct f_scalars {
    int8_t i8;
    uint8_t u8;
    int16_t i16;
    uint16_t u16;
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    float f32;
    double f64;
    int e;
    GUID g;
    int8_t *o_i8;
    uint8_t *o_u8;
    int16_t *o_i16;
    uint16_t *o_u16;
    int32_t *o_i32;
    uint32_t *o_u32;
    int64_t *o_i64;
    uint64_t *o_u64;
    float *o_f32;
    double *o_f64;
    int *o_e;
    GUID *o_g;
};
struct c_scalars {
    struct f_scalars f;
    int8_t i8;
    uint8_t u8;
    int16_t i16;
    uint16_t u16;
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    float f32;
    double f64;
    int e;
    GUID g;
};
static const struct pcom_type mt_pi8 = MX_PTR(&mt_i8, 0, NULL, NULL);
static const struct pcom_type mt_pu8 = MX_PTR(&mt_u8, 0, NULL, NULL);
static const struct pcom_type mt_pi16 = MX_PTR(&mt_i16, 0, NULL, NULL);
static const struct pcom_type mt_pu16 = MX_PTR(&mt_u16, 0, NULL, NULL);
static const struct pcom_type mt_pi32 = MX_PTR(&mt_i32, 0, NULL, NULL);
static const struct pcom_type mt_pu32 = MX_PTR(&mt_u32, 0, NULL, NULL);
static const struct pcom_type mt_pi64 = MX_PTR(&mt_i64, 0, NULL, NULL);
static const struct pcom_type mt_pu64 = MX_PTR(&mt_u64, 0, NULL, NULL);
static const struct pcom_type mt_pf32 = MX_PTR(&mt_f32, 0, NULL, NULL);
static const struct pcom_type mt_pf64 = MX_PTR(&mt_f64, 0, NULL, NULL);
static const struct pcom_type mt_penum = MX_PTR(&mt_enum, 0, NULL, NULL);
static const struct pcom_type mt_pguid = MX_PTR(&mt_guid, 0, NULL, NULL);
static const struct pcom_param mp_scalars[] = {
    MX_PARAM(struct f_scalars, i8, IN, mt_i8),        MX_PARAM(struct f_scalars, u8, IN, mt_u8),
    MX_PARAM(struct f_scalars, i16, IN, mt_i16),      MX_PARAM(struct f_scalars, u16, IN, mt_u16),
    MX_PARAM(struct f_scalars, i32, IN, mt_i32),      MX_PARAM(struct f_scalars, u32, IN, mt_u32),
    MX_PARAM(struct f_scalars, i64, IN, mt_i64),      MX_PARAM(struct f_scalars, u64, IN, mt_u64),
    MX_PARAM(struct f_scalars, f32, IN, mt_f32),      MX_PARAM(struct f_scalars, f64, IN, mt_f64),
    MX_PARAM(struct f_scalars, e, IN, mt_enum),       MX_PARAM(struct f_scalars, g, IN, mt_guid),
    MX_PARAM(struct f_scalars, o_i8, OUT, mt_pi8),    MX_PARAM(struct f_scalars, o_u8, OUT, mt_pu8),
    MX_PARAM(struct f_scalars, o_i16, OUT, mt_pi16),  MX_PARAM(struct f_scalars, o_u16, OUT, mt_pu16),
    MX_PARAM(struct f_scalars, o_i32, OUT, mt_pi32),  MX_PARAM(struct f_scalars, o_u32, OUT, mt_pu32),
    MX_PARAM(struct f_scalars, o_i64, OUT, mt_pi64),  MX_PARAM(struct f_scalars, o_u64, OUT, mt_pu64),
    MX_PARAM(struct f_scalars, o_f32, OUT, mt_pf32),  MX_PARAM(struct f_scalars, o_f64, OUT, mt_pf64),
    MX_PARAM(struct f_scalars, o_e, OUT, mt_penum),   MX_PARAM(struct f_scalars, o_g, OUT | PCOM_PF_RETVAL, mt_pguid),
};
static const struct pcom_method mm_scalars = MX_METHOD("Scalars", struct f_scalars, mp_scalars);
static const GUID mx_guid = {0x6f1c0a7e, 0x1234, 0x11d0, {0x8e, 0x6a, 0x00, 0xaa, 0x00, 0xbd, 0x0a, 0x87}};
static void init_scalars(void *call)
{
    struct c_scalars *c = call;
    struct f_scalars *f = &c->f;
    f->i8 = INT8_MIN;
    f->u8 = UINT8_MAX;
    f->i16 = INT16_MIN;
    f->u16 = UINT16_MAX;
    f->i32 = INT32_MIN;
    f->u32 = UINT32_MAX;
    f->i64 = INT64_MIN;
    f->u64 = UINT64_MAX;
    f->f32 = -1.5f;
    f->f64 = 1e300;
    f->e = -3;
    f->g = mx_guid;
    f->o_i8 = &c->i8;
    f->o_u8 = &c->u8;
    f->o_i16 = &c->i16;
    f->o_u16 = &c->u16;
    f->o_i32 = &c->i32;
    f->o_u32 = &c->u32;
    f->o_i64 = &c->i64;
    f->o_u64 = &c->u64;
    f->o_f32 = &c->f32;
    f->o_f64 = &c->f64;
    f->o_e = &c->e;
    f->o_g = &c->g;
}
/* the object: every out value is the complement (or negation) of its in value */
static void fill_scalars(void *frame)
{
    struct f_scalars *f = frame;
    *f->o_i8 = (int8_t)~f->i8;
    *f->o_u8 = (uint8_t)~f->u8;
    *f->o_i16 = (int16_t)~f->i16;
    *f->o_u16 = (uint16_t)~f->u16;
    *f->o_i32 = ~f->i32;
    *f->o_u32 = ~f->u32;
    *f->o_i64 = ~f->i64;
    *f->o_u64 = ~f->u64;
    *f->o_f32 = -f->f32;
    *f->o_f64 = -f->f64;
    *f->o_e = -f->e;
    *f->o_g = f->g;
    f->o_g->Data1 = ~f->g.Data1;
}

/* ---- ranges: [range] integers as parameters, fields and array elements ---- */
struct ranged {
    int32_t pct; /* [range(0, 100)] */
    int32_t plain;
};
static const struct pcom_type mt_r_pct = MX_RANGE(PCOM_KIND_I32, int32_t, 0, 100);
static const struct pcom_field mf_ranged[] = {
    MX_FIELD(struct ranged, pct, mt_r_pct),
    MX_FIELD(struct ranged, plain, mt_i32),
};
/* no pointers, padding or enums: flat by stub.h's definition */
static const struct pcom_type mt_ranged = MX_STRUCT(struct ranged, mf_ranged, PCOM_TF_FLAT);
struct f_ranges {
    int32_t r;   /* [range(-10, 10)] */
    uint8_t b;   /* [range(1, 5)] */
    int16_t s;   /* [range(-300, 300)] */
    uint64_t big;/* [range(0, 1000)] */
    struct ranged rs;
    int32_t n;
    const int32_t *arr; /* [size_is(n)] of [range(-10, 10)] long */
    int64_t *o_r;       /* [out] [range(-5, 5)] hyper * */
    int8_t r8;          /* [range(-1, 100)] */
    uint16_t r16;       /* [range(0, 1000)] */
    uint32_t r32;       /* [range(5, 0xffffffff)] */
};
struct c_ranges {
    struct f_ranges f;
    int32_t arr[3];
    int64_t o_r;
};
static const struct pcom_type mt_r_i32 = MX_RANGE(PCOM_KIND_I32, int32_t, -10, 10);
static const struct pcom_type mt_r_u8 = MX_RANGE(PCOM_KIND_U8, uint8_t, 1, 5);
static const struct pcom_type mt_r_i16 = MX_RANGE(PCOM_KIND_I16, int16_t, -300, 300);
static const struct pcom_type mt_r_u64 = MX_RANGE(PCOM_KIND_U64, uint64_t, 0, 1000);
static const struct pcom_type mt_r_i64 = MX_RANGE(PCOM_KIND_I64, int64_t, -5, 5);
static const struct pcom_type mt_r_i8 = MX_RANGE(PCOM_KIND_I8, int8_t, -1, 100);
static const struct pcom_type mt_r_u16 = MX_RANGE(PCOM_KIND_U16, uint16_t, 0, 1000);
static const struct pcom_type mt_r_u32 = MX_RANGE(PCOM_KIND_U32, uint32_t, 5, 0xffffffff);
MX_EXPR_FIELD(mx_ranges_n, struct f_ranges, n)
static const struct pcom_type mt_r_arr = MX_PTR(&mt_r_i32, 0, mx_ranges_n, NULL);
static const struct pcom_type mt_r_pi64 = MX_PTR(&mt_r_i64, 0, NULL, NULL);
static const struct pcom_param mp_ranges[] = {
    MX_PARAM(struct f_ranges, r, IN, mt_r_i32),   MX_PARAM(struct f_ranges, b, IN, mt_r_u8),
    MX_PARAM(struct f_ranges, s, IN, mt_r_i16),   MX_PARAM(struct f_ranges, big, IN, mt_r_u64),
    MX_PARAM(struct f_ranges, rs, IN, mt_ranged), MX_PARAM(struct f_ranges, n, IN, mt_i32),
    MX_PARAM(struct f_ranges, arr, IN, mt_r_arr), MX_PARAM(struct f_ranges, o_r, OUT, mt_r_pi64),
    MX_PARAM(struct f_ranges, r8, IN, mt_r_i8),   MX_PARAM(struct f_ranges, r16, IN, mt_r_u16),
    MX_PARAM(struct f_ranges, r32, IN, mt_r_u32),
};
static const struct pcom_method mm_ranges = MX_METHOD("Ranges", struct f_ranges, mp_ranges);
static void init_ranges(void *call)
{
    struct c_ranges *c = call;
    c->f.r = -10;
    c->f.b = 5;
    c->f.s = -300;
    c->f.big = 1000;
    c->f.rs = (struct ranged){100, -7};
    c->f.n = 3;
    c->arr[0] = -10;
    c->arr[1] = 0;
    c->arr[2] = 10;
    c->f.arr = c->arr;
    c->f.o_r = &c->o_r;
    c->f.r8 = 100;
    c->f.r16 = 1000;
    c->f.r32 = 0xffffffffu;
}
static void fill_ranges(void *frame)
{
    struct f_ranges *f = frame;
    *f->o_r = f->r < 0 ? -5 : 5;
}

/* ---- structs: flat and not, by value and behind pointers, [in, out] with embedded pointers ---- */
struct f_structs {
    struct rect r;            /* [in] by value, flat */
    struct mixed mx;          /* [in] by value, padded */
    const struct person *pp;  /* [in] ref, embedded pointers */
    struct outer *io;         /* [in, out] */
    struct rect *o_r;         /* [out] */
    struct mixed *o_mx;       /* [out] */
};
struct c_structs {
    struct f_structs f;
    struct pt home;
    struct person person;
    struct outer io;
    struct rect o_r;
    struct mixed o_mx;
};
static const struct pcom_type mt_router = MX_PTR(&mt_outer, 0, NULL, NULL);
static const struct pcom_type mt_rrect = MX_PTR(&mt_rect, 0, NULL, NULL);
static const struct pcom_type mt_rmixed = MX_PTR(&mt_mixed, 0, NULL, NULL);
static const struct pcom_param mp_structs[] = {
    MX_PARAM(struct f_structs, r, IN, mt_rect),       MX_PARAM(struct f_structs, mx, IN, mt_mixed),
    MX_PARAM(struct f_structs, pp, IN, mt_rperson),   MX_PARAM(struct f_structs, io, INOUT, mt_router),
    MX_PARAM(struct f_structs, o_r, OUT, mt_rrect),   MX_PARAM(struct f_structs, o_mx, OUT, mt_rmixed),
};
static const struct pcom_method mm_structs = MX_METHOD("Structs", struct f_structs, mp_structs);
static struct mixed mx_mixed(int k)
{
    struct mixed m;
    memset(&m, 0, sizeof(m)); /* padding too, so memcmp never sees garbage */
    m.tag = (uint8_t)(0xA0 + k);
    m.d = -2.5 * k;
    m.s = (int16_t)(-12 * k);
    m.p = (struct pt){7 * k, 8 * k};
    m.e = k;
    return m;
}
static void init_structs(void *call)
{
    struct c_structs *c = call;
    c->f.r = (struct rect){{1, 2}, {-3, INT32_MAX}};
    c->f.mx = mx_mixed(1);
    c->home = (struct pt){3, 4};
    c->person = (struct person){(char *)"Ada", (WCHAR *)u"Lovelace", 36, &c->home};
    c->f.pp = &c->person;
    c->io.m = mx_mixed(2);
    c->io.who.name = mx_strdup("old name");
    c->io.who.wname = mx_wcsdup(u"w");
    c->io.who.age = 1;
    c->io.who.home = pcom_alloc(sizeof(struct pt));
    if (c->io.who.home)
        *c->io.who.home = (struct pt){1, 2};
    c->io.nums[0] = 1;
    c->io.nums[1] = 2;
    c->io.nums[2] = 3;
    c->io.rs[0] = (struct rect){{1, 2}, {3, 4}};
    c->io.rs[1] = (struct rect){{5, 6}, {7, 8}};
    c->f.io = &c->io;
    c->f.o_r = &c->o_r;
    c->f.o_mx = &c->o_mx;
}
static void fill_structs(void *frame)
{
    struct f_structs *f = frame;
    struct outer *o = f->io;
    o->m.d *= 2;
    pcom_free(o->who.name);
    o->who.name = mx_strdup("new name");
    pcom_free(o->who.wname);
    o->who.wname = NULL;
    o->who.age += 1;
    pcom_free(o->who.home);
    o->who.home = pcom_alloc(sizeof(struct pt));
    if (o->who.home)
        *o->who.home = (struct pt){9, 10};
    int32_t t = o->nums[0];
    o->nums[0] = o->nums[2];
    o->nums[2] = t;
    o->rs[1].b.y = -1;
    f->o_r->a = f->r.b;
    f->o_r->b = f->r.a;
    *f->o_mx = f->mx;
    f->o_mx->tag++;
}

/* ---- arrays: fixed, two-dimensional, length_is in a struct and on a parameter ---- */
struct f_arrays {
    const int32_t *a;         /* [in] long a[4] */
    const struct grid *g;     /* [in] struct grid *g */
    struct lenarr la;         /* [in] by value */
    const struct mixed *ms;   /* [in] struct mixed ms[2] */
    int32_t n;                /* [in] */
    const int32_t *lp;        /* [in, length_is(n)] long lp[6] */
    struct lenarr *o_la;      /* [out] */
    int16_t (*o_m)[3];        /* [out] short o_m[2][3] */
    struct grid *io_g;        /* [in, out] */
};
struct c_arrays {
    struct f_arrays f;
    int32_t a[4];
    struct grid g;
    struct mixed ms[2];
    int32_t lp[6];
    struct lenarr o_la;
    int16_t o_m[2][3];
    struct grid io_g;
};
static const struct pcom_type mt_a4 = MX_ARR(int32_t[4], &mt_i32, 4, NULL, PCOM_TF_FLAT);
static const struct pcom_type mt_ra4 = MX_PTR(&mt_a4, 0, NULL, NULL);
static const struct pcom_type mt_rgrid = MX_PTR(&mt_grid, 0, NULL, NULL);
static const struct pcom_type mt_ms2 = MX_ARR(struct mixed[2], &mt_mixed, 2, NULL, 0);
static const struct pcom_type mt_rms2 = MX_PTR(&mt_ms2, 0, NULL, NULL);
MX_EXPR_FIELD(mx_arrays_n, struct f_arrays, n)
static const struct pcom_type mt_lp6 = MX_ARR(int32_t[6], &mt_i32, 6, mx_arrays_n, PCOM_TF_FLAT);
static const struct pcom_type mt_rlp6 = MX_PTR(&mt_lp6, 0, NULL, NULL);
static const struct pcom_type mt_rlenarr = MX_PTR(&mt_lenarr, 0, NULL, NULL);
static const struct pcom_type mt_rm23 = MX_PTR(&mt_m23, 0, NULL, NULL);
static const struct pcom_param mp_arrays[] = {
    MX_PARAM(struct f_arrays, a, IN, mt_ra4),          MX_PARAM(struct f_arrays, g, IN, mt_rgrid),
    MX_PARAM(struct f_arrays, la, IN, mt_lenarr),      MX_PARAM(struct f_arrays, ms, IN, mt_rms2),
    MX_PARAM(struct f_arrays, n, IN, mt_i32),          MX_PARAM(struct f_arrays, lp, IN, mt_rlp6),
    MX_PARAM(struct f_arrays, o_la, OUT, mt_rlenarr),  MX_PARAM(struct f_arrays, o_m, OUT, mt_rm23),
    MX_PARAM(struct f_arrays, io_g, INOUT, mt_rgrid),
};
static const struct pcom_method mm_arrays = MX_METHOD("Arrays", struct f_arrays, mp_arrays);
static void init_arrays(void *call)
{
    struct c_arrays *c = call;
    c->a[0] = INT32_MIN;
    c->a[1] = -1;
    c->a[2] = 0;
    c->a[3] = INT32_MAX;
    c->f.a = c->a;
    for (int i = 0; i < 6; i++)
        c->g.m[i / 3][i % 3] = (int16_t)(i + 1);
    for (int i = 0; i < 5; i++)
        c->g.bytes[i] = (uint8_t)(9 - i);
    c->f.g = &c->g;
    c->f.la.len = 3;
    for (int i = 0; i < 8; i++)
        c->f.la.data[i] = i < 3 ? 10 * (i + 1) : 99; /* 99: not transmitted */
    c->ms[0] = mx_mixed(3);
    c->ms[1] = mx_mixed(4);
    c->f.ms = c->ms;
    c->f.n = 2;
    for (int i = 0; i < 6; i++)
        c->lp[i] = i < 2 ? 5 + i : 77;
    c->f.lp = c->lp;
    c->f.o_la = &c->o_la;
    c->f.o_m = c->o_m;
    c->io_g = c->g;
    c->f.io_g = &c->io_g;
}
static void fill_arrays(void *frame)
{
    struct f_arrays *f = frame;
    f->o_la->len = 2;
    f->o_la->data[0] = f->la.data[0] + 1;
    f->o_la->data[1] = f->la.data[1] + 1;
    f->o_la->data[2] = 55; /* not transmitted */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            f->o_m[i][j] = (int16_t)(f->g->m[1 - i][2 - j] * -1);
    for (int i = 0; i < 5; i++)
        f->io_g->bytes[i] = (uint8_t)(f->io_g->bytes[i] + 100);
    f->io_g->m[0][0] = INT16_MIN;
}

/* ---- pointers to one value: [ref], [unique] (NULL or not), unique to unique, [in, out, unique] ---- */
struct f_ptrs {
    const int32_t *r;      /* [in, ref] */
    const int32_t *u;      /* [in, unique] */
    const double *un;      /* [in, unique], NULL */
    const struct pt *upt;  /* [in, unique] */
    int32_t **uu;          /* [in, unique] long ** (unique inner) */
    int32_t **uun;         /* the same, inner NULL */
    int32_t *iou;          /* [in, out, unique] */
    int32_t *iou_null;     /* [in, out, unique], NULL */
    struct pt *o_pt;       /* [out] */
};
struct c_ptrs {
    struct f_ptrs f;
    int32_t r, u, uu_v, iou;
    struct pt upt, o_pt;
    int32_t *uu, *uun;
};
static const struct pcom_type mt_ui32 = MX_PTR(&mt_i32, PCOM_TF_UNIQUE, NULL, NULL);
static const struct pcom_type mt_uf64 = MX_PTR(&mt_f64, PCOM_TF_UNIQUE, NULL, NULL);
static const struct pcom_type mt_uui32 = MX_PTR(&mt_ui32, PCOM_TF_UNIQUE, NULL, NULL);
static const struct pcom_param mp_ptrs[] = {
    MX_PARAM(struct f_ptrs, r, IN, mt_pi32),          MX_PARAM(struct f_ptrs, u, IN, mt_ui32),
    MX_PARAM(struct f_ptrs, un, IN, mt_uf64),         MX_PARAM(struct f_ptrs, upt, IN, mt_upt),
    MX_PARAM(struct f_ptrs, uu, IN, mt_uui32),        MX_PARAM(struct f_ptrs, uun, IN, mt_uui32),
    MX_PARAM(struct f_ptrs, iou, INOUT, mt_ui32),     MX_PARAM(struct f_ptrs, iou_null, INOUT, mt_ui32),
    MX_PARAM(struct f_ptrs, o_pt, OUT, mt_rpt),
};
static const struct pcom_method mm_ptrs = MX_METHOD("Pointers", struct f_ptrs, mp_ptrs);
static void init_ptrs(void *call)
{
    struct c_ptrs *c = call;
    c->r = 41;
    c->u = -42;
    c->uu_v = 43;
    c->iou = 44;
    c->upt = (struct pt){5, -6};
    c->uu = &c->uu_v;
    c->uun = NULL;
    c->f.r = &c->r;
    c->f.u = &c->u;
    c->f.un = NULL;
    c->f.upt = &c->upt;
    c->f.uu = &c->uu;
    c->f.uun = &c->uun;
    c->f.iou = &c->iou;
    c->f.iou_null = NULL;
    c->f.o_pt = &c->o_pt;
}
static void fill_ptrs(void *frame)
{
    struct f_ptrs *f = frame;
    if (f->iou)
        *f->iou *= 2;
    f->o_pt->x = f->r ? *f->r : 0;
    f->o_pt->y = f->u ? *f->u : 0;
}

/* ---- sized pointers: size_is before and after the array, through a pointer, with length_is ---- */
struct f_sized {
    int32_t n;
    const int32_t *before;   /* [in, size_is(n)] */
    const struct pt *after;  /* [in, size_is(m)] */
    int32_t m;
    const int32_t *pcount;   /* [in] */
    const int16_t *through;  /* [in, size_is(*pcount)] */
    int32_t cap, len;
    const int32_t *sl;       /* [in, size_is(cap), length_is(len)] */
    const struct mixed *nf;  /* [in, size_is(m)]: elements not flat */
    const char *const *strs; /* [in, size_is(n)] char ** ([string] elements) */
    int32_t *outarr;         /* [out, size_is(n)] */
    int32_t *io;             /* [in, out, size_is(m)] */
    int32_t *osl;            /* [out, size_is(cap), length_is(len)] */
    const GUID *guids;       /* [in, size_is(n)] */
    int32_t *const *ptrs;    /* [in, size_is(m)] long ** ([unique] elements) */
    int16_t (*rows)[3];      /* [in, size_is(m)] short rows[][3] */
    const struct tagged *tags; /* [in, size_is(n)] */
    char **iostrs;           /* [in, out, size_is(m)] char ** ([string, unique] elements) */
};
struct c_sized {
    struct f_sized f;
    int32_t before[3];
    struct pt after[2];
    int32_t count;
    int16_t through[4];
    int32_t sl[5];
    struct mixed nf[2];
    const char *strs[3];
    int32_t outarr[3];
    int32_t io[2];
    int32_t osl[5];
    GUID guids[3];
    int32_t pv;
    int32_t *ptrs[2];
    int16_t rows[2][3];
    struct tagged tags[3];
    char *iostrs[2];
};
MX_EXPR_FIELD(mx_sized_n, struct f_sized, n)
MX_EXPR_FIELD(mx_sized_m, struct f_sized, m)
MX_EXPR_DEREF(mx_sized_pcount, struct f_sized, pcount)
MX_EXPR_FIELD(mx_sized_cap, struct f_sized, cap)
MX_EXPR_FIELD(mx_sized_len, struct f_sized, len)
static const struct pcom_type mt_sz_before = MX_PTR(&mt_i32, 0, mx_sized_n, NULL);
static const struct pcom_type mt_sz_after = MX_PTR(&mt_pt, 0, mx_sized_m, NULL);
static const struct pcom_type mt_sz_through = MX_PTR(&mt_i16, 0, mx_sized_pcount, NULL);
static const struct pcom_type mt_sz_sl = MX_PTR(&mt_i32, 0, mx_sized_cap, mx_sized_len);
static const struct pcom_type mt_sz_nf = MX_PTR(&mt_mixed, 0, mx_sized_m, NULL);
static const struct pcom_type mt_sz_strs = MX_PTR(&mt_str, 0, mx_sized_n, NULL);
static const struct pcom_type mt_sz_io = MX_PTR(&mt_i32, 0, mx_sized_m, NULL);
static const struct pcom_type mt_sz_guids = MX_PTR(&mt_guid, 0, mx_sized_n, NULL);
static const struct pcom_type mt_sz_ptrs = MX_PTR(&mt_ui32, 0, mx_sized_m, NULL);
static const struct pcom_type mt_sz_rows = MX_PTR(&mt_row3, 0, mx_sized_m, NULL);
static const struct pcom_type mt_sz_tags = MX_PTR(&mt_tagged, 0, mx_sized_n, NULL);
static const struct pcom_type mt_sz_iostrs = MX_PTR(&mt_ustr, 0, mx_sized_m, NULL);
static const struct pcom_param mp_sized[] = {
    MX_PARAM(struct f_sized, n, IN, mt_i32),              MX_PARAM(struct f_sized, before, IN, mt_sz_before),
    MX_PARAM(struct f_sized, after, IN, mt_sz_after),     MX_PARAM(struct f_sized, m, IN, mt_i32),
    MX_PARAM(struct f_sized, pcount, IN, mt_pi32),        MX_PARAM(struct f_sized, through, IN, mt_sz_through),
    MX_PARAM(struct f_sized, cap, IN, mt_i32),            MX_PARAM(struct f_sized, len, IN, mt_i32),
    MX_PARAM(struct f_sized, sl, IN, mt_sz_sl),           MX_PARAM(struct f_sized, nf, IN, mt_sz_nf),
    MX_PARAM(struct f_sized, strs, IN, mt_sz_strs),       MX_PARAM(struct f_sized, outarr, OUT, mt_sz_before),
    MX_PARAM(struct f_sized, io, INOUT, mt_sz_io),        MX_PARAM(struct f_sized, osl, OUT, mt_sz_sl),
    MX_PARAM(struct f_sized, guids, IN, mt_sz_guids),     MX_PARAM(struct f_sized, ptrs, IN, mt_sz_ptrs),
    MX_PARAM(struct f_sized, rows, IN, mt_sz_rows),       MX_PARAM(struct f_sized, tags, IN, mt_sz_tags),
    MX_PARAM(struct f_sized, iostrs, INOUT, mt_sz_iostrs),
};
static const struct pcom_method mm_sized = MX_METHOD("Sized", struct f_sized, mp_sized);
static void init_sized(void *call)
{
    struct c_sized *c = call;
    c->f.n = 3;
    c->before[0] = 1;
    c->before[1] = 2;
    c->before[2] = 3;
    c->f.before = c->before;
    c->after[0] = (struct pt){1, 2};
    c->after[1] = (struct pt){3, 4};
    c->f.after = c->after;
    c->f.m = 2;
    c->count = 4;
    c->f.pcount = &c->count;
    for (int i = 0; i < 4; i++)
        c->through[i] = (int16_t)(-1 - i);
    c->f.through = c->through;
    c->f.cap = 5;
    c->f.len = 2;
    c->sl[0] = 7;
    c->sl[1] = 8;
    c->sl[2] = c->sl[3] = c->sl[4] = 66;
    c->f.sl = c->sl;
    c->nf[0] = mx_mixed(5);
    c->nf[1] = mx_mixed(6);
    c->f.nf = c->nf;
    c->strs[0] = "a";
    c->strs[1] = "";
    c->strs[2] = "ccc";
    c->f.strs = c->strs;
    c->f.outarr = c->outarr;
    c->io[0] = 100;
    c->io[1] = 200;
    c->f.io = c->io;
    c->osl[2] = c->osl[3] = c->osl[4] = -9; /* beyond length_is: untouched */
    c->f.osl = c->osl;
    for (int i = 0; i < 3; i++) {
        c->guids[i] = mx_guid;
        c->guids[i].Data4[7] = (uint8_t)i;
    }
    c->f.guids = c->guids;
    c->pv = 5;
    c->ptrs[0] = &c->pv;
    c->ptrs[1] = NULL;
    c->f.ptrs = c->ptrs;
    for (int i = 0; i < 6; i++)
        c->rows[i / 3][i % 3] = (int16_t)(100 * i);
    c->f.rows = c->rows;
    c->tags[0].kind = 1;
    c->tags[0].v.i = 17;
    c->tags[1].kind = 4;
    c->tags[1].v.s = (char *)"tag";
    c->tags[2].kind = 99;
    c->tags[2].v.h = 3;
    c->f.tags = c->tags;
    c->iostrs[0] = mx_strdup("io0");
    c->iostrs[1] = mx_strdup("io1");
    c->f.iostrs = c->iostrs;
}
static void fill_sized(void *frame)
{
    struct f_sized *f = frame;
    for (int32_t i = 0; i < f->n; i++)
        f->outarr[i] = f->before[i] * 10;
    for (int32_t i = 0; i < f->m; i++)
        f->io[i] += 1;
    for (int32_t i = 0; i < f->len; i++)
        f->osl[i] = 40 + i;
    if (f->m >= 2) {
        pcom_free(f->iostrs[0]);
        f->iostrs[0] = mx_strdup("zero!");
        pcom_free(f->iostrs[1]);
        f->iostrs[1] = NULL;
    }
}

/* ---- zero counts: size_is() of 0, in, out and in-out ---- */
struct f_zero {
    int32_t z;
    const uint8_t *zin;      /* [in, size_is(z)] */
    int32_t *zout;           /* [out, size_is(z)] */
    int32_t *zio;            /* [in, out, size_is(z)] */
    const struct mixed *znf; /* [in, size_is(z)], not flat */
};
struct c_zero {
    struct f_zero f;
    uint8_t zin[1];
    int32_t zout[1], zio[1];
    struct mixed znf[1];
};
MX_EXPR_FIELD(mx_zero_z, struct f_zero, z)
static const struct pcom_type mt_z_u8 = MX_PTR(&mt_u8, 0, mx_zero_z, NULL);
static const struct pcom_type mt_z_i32 = MX_PTR(&mt_i32, 0, mx_zero_z, NULL);
static const struct pcom_type mt_z_nf = MX_PTR(&mt_mixed, 0, mx_zero_z, NULL);
static const struct pcom_param mp_zero[] = {
    MX_PARAM(struct f_zero, z, IN, mt_i32),       MX_PARAM(struct f_zero, zin, IN, mt_z_u8),
    MX_PARAM(struct f_zero, zout, OUT, mt_z_i32), MX_PARAM(struct f_zero, zio, INOUT, mt_z_i32),
    MX_PARAM(struct f_zero, znf, IN, mt_z_nf),
};
static const struct pcom_method mm_zero = MX_METHOD("Zero", struct f_zero, mp_zero);
static void init_zero(void *call)
{
    struct c_zero *c = call;
    c->f.z = 0;
    c->f.zin = c->zin;
    c->f.zout = c->zout;
    c->f.zio = c->zio;
    c->f.znf = c->znf;
}
static void fill_zero(void *frame)
{
    (void)frame;
}

/* ---- [out] T ** the object allocates: size_is(, *pc) with pc before and after, strings, structs ---- */
struct f_outalloc {
    int32_t *pc;              /* [out] */
    struct pt **pp;           /* [out, size_is(, *pc)] */
    int32_t **pl;             /* [out, size_is(, *pc2)] */
    int32_t *pc2;             /* [out] */
    char **os;                /* [out, string] */
    WCHAR **ow;               /* [out, string] */
    struct person **pperson;  /* [out] */
    struct mixed **pm;        /* [out, size_is(, *pc)] not flat */
    struct person **people;   /* [out, size_is(, *pc)] elements with pointers */
    struct tagged **tags;     /* [out, size_is(, *pc)] elements with unions */
    struct csn **names;       /* [out] conformant, strings in the tail */
};
struct c_outalloc {
    struct f_outalloc f;
    int32_t pc, pc2;
    struct pt *pp;
    int32_t *pl;
    char *os;
    WCHAR *ow;
    struct person *pperson;
    struct mixed *pm;
    struct person *people;
    struct tagged *tags;
    struct csn *names;
};
MX_EXPR_DEREF(mx_outalloc_pc, struct f_outalloc, pc)
MX_EXPR_DEREF(mx_outalloc_pc2, struct f_outalloc, pc2)
static const struct pcom_type mt_oa_inner_pt = MX_PTR(&mt_pt, PCOM_TF_UNIQUE, mx_outalloc_pc, NULL);
static const struct pcom_type mt_oa_pp = MX_PTR(&mt_oa_inner_pt, 0, NULL, NULL);
static const struct pcom_type mt_oa_inner_l = MX_PTR(&mt_i32, PCOM_TF_UNIQUE, mx_outalloc_pc2, NULL);
static const struct pcom_type mt_oa_pl = MX_PTR(&mt_oa_inner_l, 0, NULL, NULL);
static const struct pcom_type mt_oa_os = MX_PTR(&mt_ustr, 0, NULL, NULL);
static const struct pcom_type mt_oa_ow = MX_PTR(&mt_uwstr, 0, NULL, NULL);
static const struct pcom_type mt_uperson = MX_PTR(&mt_person, PCOM_TF_UNIQUE, NULL, NULL);
static const struct pcom_type mt_oa_pperson = MX_PTR(&mt_uperson, 0, NULL, NULL);
static const struct pcom_type mt_oa_inner_m = MX_PTR(&mt_mixed, PCOM_TF_UNIQUE, mx_outalloc_pc, NULL);
static const struct pcom_type mt_oa_pm = MX_PTR(&mt_oa_inner_m, 0, NULL, NULL);
static const struct pcom_type mt_oa_inner_people = MX_PTR(&mt_person, PCOM_TF_UNIQUE, mx_outalloc_pc, NULL);
static const struct pcom_type mt_oa_people = MX_PTR(&mt_oa_inner_people, 0, NULL, NULL);
static const struct pcom_type mt_oa_inner_tags = MX_PTR(&mt_tagged, PCOM_TF_UNIQUE, mx_outalloc_pc, NULL);
static const struct pcom_type mt_oa_tags = MX_PTR(&mt_oa_inner_tags, 0, NULL, NULL);
static const struct pcom_type mt_oa_names = MX_PTR(&mt_ucsn, 0, NULL, NULL);
static const struct pcom_param mp_outalloc[] = {
    MX_PARAM(struct f_outalloc, pc, OUT, mt_pi32),         MX_PARAM(struct f_outalloc, pp, OUT, mt_oa_pp),
    MX_PARAM(struct f_outalloc, pl, OUT, mt_oa_pl),        MX_PARAM(struct f_outalloc, pc2, OUT, mt_pi32),
    MX_PARAM(struct f_outalloc, os, OUT, mt_oa_os),        MX_PARAM(struct f_outalloc, ow, OUT, mt_oa_ow),
    MX_PARAM(struct f_outalloc, pperson, OUT, mt_oa_pperson), MX_PARAM(struct f_outalloc, pm, OUT, mt_oa_pm),
    MX_PARAM(struct f_outalloc, people, OUT, mt_oa_people), MX_PARAM(struct f_outalloc, tags, OUT, mt_oa_tags),
    MX_PARAM(struct f_outalloc, names, OUT, mt_oa_names),
};
static const struct pcom_method mm_outalloc = MX_METHOD("OutAlloc", struct f_outalloc, mp_outalloc);
static void init_outalloc(void *call)
{
    struct c_outalloc *c = call;
    c->f.pc = &c->pc;
    c->f.pp = &c->pp;
    c->f.pl = &c->pl;
    c->f.pc2 = &c->pc2;
    c->f.os = &c->os;
    c->f.ow = &c->ow;
    c->f.pperson = &c->pperson;
    c->f.pm = &c->pm;
    c->f.people = &c->people;
    c->f.tags = &c->tags;
    c->f.names = &c->names;
}
static void fill_outalloc(void *frame)
{
    struct f_outalloc *f = frame;
    *f->pc = 3;
    *f->pp = pcom_alloc(3 * sizeof(struct pt));
    if (*f->pp)
        for (int i = 0; i < 3; i++)
            (*f->pp)[i] = (struct pt){i, -i};
    *f->pc2 = 2;
    *f->pl = pcom_alloc(2 * sizeof(int32_t));
    if (*f->pl) {
        (*f->pl)[0] = INT32_MAX;
        (*f->pl)[1] = INT32_MIN;
    }
    *f->os = mx_strdup("out string");
    *f->ow = mx_wcsdup(u"wide \u00e9\u4e2d");
    *f->pperson = pcom_alloc(sizeof(struct person));
    if (*f->pperson) {
        (*f->pperson)->name = mx_strdup("Grace");
        (*f->pperson)->wname = NULL;
        (*f->pperson)->age = 85;
        (*f->pperson)->home = pcom_alloc(sizeof(struct pt));
        if ((*f->pperson)->home)
            *(*f->pperson)->home = (struct pt){-1, -2};
    }
    *f->pm = pcom_alloc(3 * sizeof(struct mixed));
    if (*f->pm)
        for (int i = 0; i < 3; i++)
            (*f->pm)[i] = mx_mixed(10 + i);
    struct person *pl = *f->people = pcom_alloc(3 * sizeof(struct person));
    if (pl) {
        pl[0] = (struct person){mx_strdup("p0"), mx_wcsdup(u"w0"), 0, NULL};
        pl[1] = (struct person){mx_strdup("p1"), NULL, 1, pcom_alloc(sizeof(struct pt))};
        if (pl[1].home)
            *pl[1].home = (struct pt){1, 1};
        pl[2] = (struct person){mx_strdup(""), mx_wcsdup(u""), 2, NULL};
    }
    struct tagged *tg = *f->tags = pcom_alloc(3 * sizeof(struct tagged));
    if (tg) {
        memset(tg, 0, 3 * sizeof(struct tagged));
        tg[0].kind = 4;
        tg[0].v.s = mx_strdup("t0");
        tg[1].kind = 1;
        tg[1].v.i = 7;
        tg[2].kind = 4;
        tg[2].v.s = NULL;
    }
    struct csn *nm = *f->names = pcom_alloc(sizeof(struct csn) + 2 * sizeof(char *));
    if (nm) {
        nm->n = 2;
        nm->names[0] = mx_strdup("n0");
        nm->names[1] = mx_strdup("n1");
    }
}

/* ---- strings: char and WCHAR, ref and unique, in, out and in-out ---- */
struct f_strings {
    const char *s;      /* [in, string] */
    const char *su;     /* [in, unique, string] */
    const char *sn;     /* [in, unique, string], NULL */
    const WCHAR *w;     /* [in, string] */
    const WCHAR *wu;    /* [in, unique, string] */
    const char *empty;  /* [in, string] "" */
    char **os;          /* [out, string] char ** */
    WCHAR **ow;         /* [out, string] WCHAR ** */
    char **ios;         /* [in, out, string] char ** */
    WCHAR **iow;        /* [in, out, string] WCHAR ** */
};
struct c_strings {
    struct f_strings f;
    char *os;
    WCHAR *ow;
    char *ios;
    WCHAR *iow;
};
static const struct pcom_type mt_rustr = MX_PTR(&mt_ustr, 0, NULL, NULL);
static const struct pcom_type mt_ruwstr = MX_PTR(&mt_uwstr, 0, NULL, NULL);
static const struct pcom_param mp_strings[] = {
    MX_PARAM(struct f_strings, s, IN, mt_str),        MX_PARAM(struct f_strings, su, IN, mt_ustr),
    MX_PARAM(struct f_strings, sn, IN, mt_ustr),      MX_PARAM(struct f_strings, w, IN, mt_wstr),
    MX_PARAM(struct f_strings, wu, IN, mt_uwstr),     MX_PARAM(struct f_strings, empty, IN, mt_str),
    MX_PARAM(struct f_strings, os, OUT, mt_rustr),    MX_PARAM(struct f_strings, ow, OUT, mt_ruwstr),
    MX_PARAM(struct f_strings, ios, INOUT, mt_rustr), MX_PARAM(struct f_strings, iow, INOUT, mt_ruwstr),
};
static const struct pcom_method mm_strings = MX_METHOD("Strings", struct f_strings, mp_strings);
static void init_strings(void *call)
{
    struct c_strings *c = call;
    c->f.s = "hello, world";
    c->f.su = "unique";
    c->f.sn = NULL;
    c->f.w = u"wide \u00e9";
    c->f.wu = u"x";
    c->f.empty = "";
    c->f.os = &c->os;
    c->f.ow = &c->ow;
    c->ios = mx_strdup("before");
    c->f.ios = &c->ios;
    c->iow = mx_wcsdup(u"wide before");
    c->f.iow = &c->iow;
}
static void fill_strings(void *frame)
{
    struct f_strings *f = frame;
    *f->os = mx_strdup("result");
    *f->ow = mx_wcsdup(u"r\u00e9sultat");
    pcom_free(*f->ios);
    *f->ios = mx_strdup("after!");
    pcom_free(*f->iow);
    *f->iow = NULL;
}

/* ---- unions: by value, in an array of structs, behind a pointer, empty and default arms, out ---- */
union w {
    int32_t i;
    char *s;
};
union e {
    int32_t i;
};
static const struct pcom_union_arm ma_w[] = {{1, &mt_i32}, {2, &mt_str}};
static const struct pcom_union_arm ma_e[] = {{1, &mt_i32}};
struct f_unions {
    int32_t k1;
    union u v1;                 /* [in, switch_is(k1)] */
    const struct tagged *ts;    /* [in] struct tagged ts[6] */
    int32_t k2;
    const union w *pw;          /* [in, switch_is(k2)] union w * (no default arm) */
    int32_t k3;
    union e ve;                 /* [in, switch_is(k3)] (empty default arm) */
    union u *o_v;               /* [out, switch_is(k1)] */
    struct tagged *o_t;         /* [out] */
    int32_t *o_k;               /* [out] */
    union u *o_v2;              /* [out, switch_is(*o_k)] */
};
struct c_unions {
    struct f_unions f;
    struct tagged ts[6];
    union w w;
    union u o_v;
    struct tagged o_t;
    int32_t o_k;
    union u o_v2;
};
MX_EXPR_FIELD(mx_unions_k1, struct f_unions, k1)
MX_EXPR_FIELD(mx_unions_k2, struct f_unions, k2)
MX_EXPR_FIELD(mx_unions_k3, struct f_unions, k3)
MX_EXPR_DEREF(mx_unions_ok, struct f_unions, o_k)
static const struct pcom_type mt_un_v1 = MX_UNION(union u, ma_u, &mt_i16, true, mx_unions_k1);
static const struct pcom_type mt_ts6 = MX_ARR(struct tagged[6], &mt_tagged, 6, NULL, 0);
static const struct pcom_type mt_rts6 = MX_PTR(&mt_ts6, 0, NULL, NULL);
static const struct pcom_type mt_un_w = MX_UNION(union w, ma_w, NULL, false, mx_unions_k2);
static const struct pcom_type mt_un_rw = MX_PTR(&mt_un_w, 0, NULL, NULL);
static const struct pcom_type mt_un_e = MX_UNION(union e, ma_e, NULL, true, mx_unions_k3);
static const struct pcom_type mt_un_rv1 = MX_PTR(&mt_un_v1, 0, NULL, NULL);
static const struct pcom_type mt_rtagged = MX_PTR(&mt_tagged, 0, NULL, NULL);
static const struct pcom_type mt_un_v2 = MX_UNION(union u, ma_u, &mt_i16, true, mx_unions_ok);
static const struct pcom_type mt_un_rv2 = MX_PTR(&mt_un_v2, 0, NULL, NULL);
static const struct pcom_param mp_unions[] = {
    MX_PARAM(struct f_unions, k1, IN, mt_i32),       MX_PARAM(struct f_unions, v1, IN, mt_un_v1),
    MX_PARAM(struct f_unions, ts, IN, mt_rts6),      MX_PARAM(struct f_unions, k2, IN, mt_i32),
    MX_PARAM(struct f_unions, pw, IN, mt_un_rw),     MX_PARAM(struct f_unions, k3, IN, mt_i32),
    MX_PARAM(struct f_unions, ve, IN, mt_un_e),      MX_PARAM(struct f_unions, o_v, OUT, mt_un_rv1),
    MX_PARAM(struct f_unions, o_t, OUT, mt_rtagged), MX_PARAM(struct f_unions, o_k, OUT, mt_pi32),
    MX_PARAM(struct f_unions, o_v2, OUT, mt_un_rv2),
};
static const struct pcom_method mm_unions = MX_METHOD("Unions", struct f_unions, mp_unions);
static void init_unions(void *call)
{
    struct c_unions *c = call;
    c->f.k1 = 4;
    c->f.v1.s = (char *)"in union";
    c->ts[0].kind = 1;
    c->ts[0].v.i = -1;
    c->ts[1].kind = 2;
    c->ts[1].v.d = 0.5;
    c->ts[2].kind = 3;
    c->ts[2].v.p = (struct pt){1, 2};
    c->ts[3].kind = 4;
    c->ts[3].v.s = NULL;
    c->ts[4].kind = 5; /* empty arm */
    c->ts[5].kind = 99; /* default arm */
    c->ts[5].v.h = -7;
    c->f.ts = c->ts;
    c->f.k2 = 2;
    c->w.s = (char *)"w";
    c->f.pw = &c->w;
    c->f.k3 = 7; /* empty default */
    c->f.o_v = &c->o_v;
    c->f.o_t = &c->o_t;
    c->f.o_k = &c->o_k;
    c->f.o_v2 = &c->o_v2;
}
static void fill_unions(void *frame)
{
    struct f_unions *f = frame;
    if (f->k1 == 4)
        f->o_v->s = mx_strdup("out union");
    f->o_t->kind = 3;
    f->o_t->v.p = (struct pt){5, 6};
    *f->o_k = 2;
    f->o_v2->d = 0.25;
}

/* ---- conformant structs behind pointers: in, unique with pointers in the tail, in-out, out ---- */
struct f_conf {
    const struct cs *in;    /* [in] */
    const struct csn *inn;  /* [in, unique] */
    struct cs *io;          /* [in, out] */
    struct cs **out;        /* [out] */
    const struct cs *in0;   /* [in], n = 0 */
};
struct c_conf {
    struct f_conf f;
    struct cs *out;
};
static const struct pcom_type mt_rcs = MX_PTR(&mt_cs, 0, NULL, NULL);
static const struct pcom_type mt_ucs = MX_PTR(&mt_cs, PCOM_TF_UNIQUE, NULL, NULL);
static const struct pcom_type mt_rucs = MX_PTR(&mt_ucs, 0, NULL, NULL);
static const struct pcom_param mp_conf[] = {
    MX_PARAM(struct f_conf, in, IN, mt_rcs),     MX_PARAM(struct f_conf, inn, IN, mt_ucsn),
    MX_PARAM(struct f_conf, io, INOUT, mt_rcs),  MX_PARAM(struct f_conf, out, OUT, mt_rucs),
    MX_PARAM(struct f_conf, in0, IN, mt_rcs),
};
static const struct pcom_method mm_conf = MX_METHOD("Conformant", struct f_conf, mp_conf);
static void init_conf(void *call)
{
    struct c_conf *c = call;
    c->f.in = mx_cs_new(malloc, 3, -2, 1);
    struct csn *n = malloc(sizeof(struct csn) + 2 * sizeof(char *));
    if (n) {
        n->n = 2;
        n->names[0] = (char *)"first";
        n->names[1] = (char *)"second";
    }
    c->f.inn = n;
    c->f.io = mx_cs_new(malloc, 4, 9, 100);
    c->f.out = &c->out;
    c->f.in0 = mx_cs_new(malloc, 0, 5, 0);
}
static void fini_conf(void *call)
{
    struct c_conf *c = call;
    free((void *)c->f.in);
    free((void *)c->f.inn);
    free(c->f.io);
    free((void *)c->f.in0);
}
static void fill_conf(void *frame)
{
    struct f_conf *f = frame;
    for (int32_t i = 0; i < f->io->n; i++)
        f->io->items[i] *= 2;
    f->io->tag = -1;
    *f->out = mx_cs_new(pcom_alloc, 5, 77, -2);
}

/* ---- [in, out] with embedded pointers the object replaces ---- */
struct f_inout {
    struct person *p;        /* [in, out] */
    struct pt **ppt;         /* [in, out] struct pt ** (unique inner) */
    struct pt **ppt_null;    /* the same, inner NULL on the way in */
    struct lenarr *la;       /* [in, out] */
    struct tagged *tg;       /* [in, out]: the object switches the arm */
};
struct c_inout {
    struct f_inout f;
    struct person p;
    struct pt *ppt, *ppt_null;
    struct lenarr la;
    struct tagged tg;
};
static const struct pcom_type mt_rupt = MX_PTR(&mt_upt, 0, NULL, NULL);
static const struct pcom_param mp_inout[] = {
    MX_PARAM(struct f_inout, p, INOUT, mt_rperson), MX_PARAM(struct f_inout, ppt, INOUT, mt_rupt),
    MX_PARAM(struct f_inout, ppt_null, INOUT, mt_rupt), MX_PARAM(struct f_inout, la, INOUT, mt_rlenarr),
    MX_PARAM(struct f_inout, tg, INOUT, mt_rtagged),
};
static const struct pcom_method mm_inout = MX_METHOD("InOut", struct f_inout, mp_inout);
static void init_inout(void *call)
{
    struct c_inout *c = call;
    c->p.name = mx_strdup("in name");
    c->p.wname = mx_wcsdup(u"in wide");
    c->p.age = 20;
    c->p.home = NULL;
    c->f.p = &c->p;
    c->ppt = pcom_alloc(sizeof(struct pt));
    if (c->ppt)
        *c->ppt = (struct pt){11, 12};
    c->f.ppt = &c->ppt;
    c->ppt_null = NULL;
    c->f.ppt_null = &c->ppt_null;
    c->la.len = 1;
    c->la.data[0] = 5;
    c->f.la = &c->la;
    c->tg.kind = 4;
    c->tg.v.s = mx_strdup("tagged in");
    c->f.tg = &c->tg;
}
static void fill_inout(void *frame)
{
    struct f_inout *f = frame;
    pcom_free(f->p->name);
    f->p->name = mx_strdup("out name");
    pcom_free(f->p->wname);
    f->p->wname = NULL;
    f->p->age++;
    f->p->home = pcom_alloc(sizeof(struct pt));
    if (f->p->home)
        *f->p->home = (struct pt){-5, -6};
    pcom_free(*f->ppt);
    *f->ppt = NULL;
    *f->ppt_null = pcom_alloc(sizeof(struct pt));
    if (*f->ppt_null)
        **f->ppt_null = (struct pt){13, 14};
    f->la->len = 3;
    f->la->data[1] = 6;
    f->la->data[2] = 7;
    if (f->tg->kind == 4)
        pcom_free(f->tg->v.s);
    f->tg->kind = 2;
    f->tg->v.d = -0.125;
}

/* ---- a self-referential list: in, and out as a copy the object allocates ---- */
struct f_list {
    const struct node *head; /* [in, unique] */
    struct node **out;       /* [out] (unique inner) */
    int32_t *count;          /* [out] */
};
#define MX_LIST_LEN 10
struct c_list {
    struct f_list f;
    struct node nodes[MX_LIST_LEN];
    struct node *out;
    int32_t count;
};
static const struct pcom_type mt_runode = MX_PTR(&mt_unode, 0, NULL, NULL);
static const struct pcom_param mp_list[] = {
    MX_PARAM(struct f_list, head, IN, mt_unode),
    MX_PARAM(struct f_list, out, OUT, mt_runode),
    MX_PARAM(struct f_list, count, OUT, mt_pi32),
};
static const struct pcom_method mm_list = MX_METHOD("List", struct f_list, mp_list);
static void init_list(void *call)
{
    struct c_list *c = call;
    for (int i = 0; i < MX_LIST_LEN; i++) {
        c->nodes[i].v = i * i;
        c->nodes[i].next = i + 1 < MX_LIST_LEN ? &c->nodes[i + 1] : NULL;
    }
    c->f.head = c->nodes;
    c->f.out = &c->out;
    c->f.count = &c->count;
}
/* the object returns the list reversed, in nodes it allocates */
static void fill_list(void *frame)
{
    struct f_list *f = frame;
    struct node *rev = NULL;
    int32_t n = 0;
    for (const struct node *p = f->head; p; p = p->next, n++) {
        struct node *c = pcom_alloc(sizeof(*c));
        if (!c)
            break;
        c->v = p->v;
        c->next = rev;
        rev = c;
    }
    *f->out = rev;
    *f->count = n;
}

/* ======== the fixture table ======== */

struct mx_fixture {
    const char *name;
    const struct pcom_method *m;
    size_t call_size;
    void (*init)(void *call);  /* the client: [in] values, [out] pointers to storage in the call */
    void (*fini)(void *call);  /* releases what init allocated outside pcom_alloc, or NULL */
    void (*fill)(void *frame); /* the object */
};

#define MX_FIXTURE(name, CT, fini) {#name, &mm_##name, sizeof(CT), init_##name, fini, fill_##name}
static const struct mx_fixture mx_fixtures[] = {
    MX_FIXTURE(empty, struct f_empty, NULL),       MX_FIXTURE(scalars, struct c_scalars, NULL),
    MX_FIXTURE(ranges, struct c_ranges, NULL),     MX_FIXTURE(structs, struct c_structs, NULL),
    MX_FIXTURE(arrays, struct c_arrays, NULL),     MX_FIXTURE(ptrs, struct c_ptrs, NULL),
    MX_FIXTURE(sized, struct c_sized, NULL),       MX_FIXTURE(zero, struct c_zero, NULL),
    MX_FIXTURE(outalloc, struct c_outalloc, NULL), MX_FIXTURE(strings, struct c_strings, NULL),
    MX_FIXTURE(unions, struct c_unions, NULL),     MX_FIXTURE(conf, struct c_conf, fini_conf),
    MX_FIXTURE(inout, struct c_inout, NULL),       MX_FIXTURE(list, struct c_list, NULL),
};
#define MX_NFIXTURES (sizeof(mx_fixtures) / sizeof(mx_fixtures[0]))

/* A call: the frame and the caller's storage, 16-aligned and zeroed, set up by the fixture's client. */
static inline void *mx_call_new(const struct mx_fixture *fx)
{
    void *call = aligned_alloc(16, (fx->call_size + 15) & ~(size_t)15);
    if (!call)
        return NULL;
    memset(call, 0, fx->call_size);
    fx->init(call);
    return call;
}

/* Frees what the call owns: [out] and [in, out] results (pcomi_free_out), then the fixture's own. */
static inline void mx_call_free(const struct mx_fixture *fx, void *call)
{
    if (!call)
        return;
    pcomi_free_out(fx->m, call);
    if (fx->fini)
        fx->fini(call);
    free(call);
}

/* A zeroed server frame. */
static inline void *mx_frame_new(const struct pcom_method *m)
{
    size_t size = (m->frame_size + 15) & ~(size_t)15;
    void *f = aligned_alloc(16, size ? size : 16);
    if (f)
        memset(f, 0, size);
    return f;
}

/* The valid request and response bodies of a fixture: the client encodes, the server decodes, the object
 * runs, the server encodes. Returns the first failure. */
static inline HRESULT mx_bodies(const struct mx_fixture *fx, struct pcomi_wbuf *req, struct pcomi_wbuf *resp)
{
    HRESULT hr = E_OUTOFMEMORY;
    void *call = mx_call_new(fx);
    void *frame = mx_frame_new(fx->m);
    struct pcomi_arena arena = {0};
    if (!call || !frame)
        goto out;
    if (FAILED(hr = pcomi_check_ref_params(fx->m, call)) || FAILED(hr = pcomi_encode_in(fx->m, call, req)))
        goto out;
    if (FAILED(hr = pcomi_decode_in(fx->m, req->data, req->len, frame, &arena, NULL)))
        goto out;
    fx->fill(frame);
    hr = pcomi_encode_out(fx->m, frame, resp);
    pcomi_free_out(fx->m, frame);
out:
    pcomi_arena_free(&arena);
    free(frame);
    mx_call_free(fx, call);
    return hr;
}

#endif
