/* test_marshal.c: the descriptor-driven marshaling engine (runtime/src/marshal.c) over hand-written tables
 * (marshal_fixtures.h) for every kind of type: exact round trips client -> server -> client, in-place
 * decoding of flat [in] arrays, every truncation and many corruptions and bit flips of every valid body
 * rejected or accepted without a crash, a leak or an allocation the body does not justify, the checks the
 * receiver makes (size_is/length_is agreement, strings, markers, ranges, unions, nesting), and the client's
 * duties (E_POINTER for NULL [ref], NULL [out] pointers after a failed call). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <cmocka.h>

#include "marshal_fixtures.h"

#if defined(__SANITIZE_ADDRESS__)
#define MX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MX_ASAN 1
#endif
#endif
#if !defined(MX_ASAN) && defined(__GLIBC__)
#include <malloc.h>
#define MX_MALLINFO 1
#endif

/* What a decode may allocate for a body of len bytes: marshal.c's budget (a few times the message). */
static size_t budget_for(size_t len)
{
    return len * 4 + 65536;
}

static bool in_body(const void *p, const uint8_t *body, size_t len)
{
    return (const uint8_t *)p >= body && (const uint8_t *)p < body + len;
}

static void assert_wcs_equal(const WCHAR *a, const WCHAR *b)
{
    assert_non_null(a);
    assert_non_null(b);
    size_t n = mx_wcslen(b);
    assert_int_equal(mx_wcslen(a), n);
    assert_memory_equal(a, b, n * sizeof(WCHAR));
}

static void assert_mixed_equal(const struct mixed *a, const struct mixed *b)
{
    assert_int_equal(a->tag, b->tag);
    assert_memory_equal(&a->d, &b->d, sizeof(double));
    assert_int_equal(a->s, b->s);
    assert_memory_equal(&a->p, &b->p, sizeof(struct pt)); /* flat: no padding */
    assert_int_equal(a->e, b->e);
}

static void assert_pt(const struct pt *p, int32_t x, int32_t y)
{
    assert_non_null(p);
    assert_int_equal(p->x, x);
    assert_int_equal(p->y, y);
}

/* ---- per-fixture checks: what the object sees, what the caller gets back ---- */

/* ref: a fresh client call (what was sent); body: the request the frame was decoded from */
typedef void (*check_in_fn)(const void *frame, const void *ref, const uint8_t *body, size_t len);
typedef void (*check_out_fn)(const void *call);

static void in_empty(const void *frame, const void *ref, const uint8_t *body, size_t len)
{
    (void)frame;
    (void)ref;
    (void)body;
    assert_int_equal(len, 0);
}

static void out_empty(const void *call)
{
    (void)call;
}

static void in_scalars(const void *frame, const void *ref, const uint8_t *body, size_t len)
{
    const struct f_scalars *f = frame, *r = ref;
    (void)body;
    /* 1+1+2+2+4+4+8+8+4+8+4+16, each aligned (the GUID to 4): 68 bytes, no [out] data in a request */
    assert_int_equal(len, 68);
    assert_int_equal(f->i8, r->i8);
    assert_int_equal(f->u8, r->u8);
    assert_int_equal(f->i16, r->i16);
    assert_int_equal(f->u16, r->u16);
    assert_int_equal(f->i32, r->i32);
    assert_int_equal(f->u32, r->u32);
    assert_true(f->i64 == r->i64);
    assert_true(f->u64 == r->u64);
    assert_memory_equal(&f->f32, &r->f32, sizeof(float));
    assert_memory_equal(&f->f64, &r->f64, sizeof(double));
    assert_int_equal(f->e, r->e);
    assert_memory_equal(&f->g, &r->g, sizeof(GUID));
    /* [out] storage the stub provides, zeroed */
    assert_non_null(f->o_i8);
    assert_non_null(f->o_g);
    assert_int_equal(*f->o_i64, 0);
}

static void out_scalars(const void *call)
{
    const struct c_scalars *c = call;
    assert_int_equal(c->i8, INT8_MAX);
    assert_int_equal(c->u8, 0);
    assert_int_equal(c->i16, INT16_MAX);
    assert_int_equal(c->u16, 0);
    assert_int_equal(c->i32, INT32_MAX);
    assert_int_equal(c->u32, 0);
    assert_true(c->i64 == INT64_MAX);
    assert_true(c->u64 == 0);
    assert_true(c->f32 == 1.5f);
    assert_true(c->f64 == -1e300);
    assert_int_equal(c->e, 3);
    GUID g = mx_guid;
    g.Data1 = ~g.Data1;
    assert_memory_equal(&c->g, &g, sizeof(GUID));
}

static void in_ranges(const void *frame, const void *ref, const uint8_t *body, size_t len)
{
    const struct f_ranges *f = frame, *r = ref;
    assert_int_equal(f->r, r->r);
    assert_int_equal(f->b, r->b);
    assert_int_equal(f->s, r->s);
    assert_true(f->big == r->big);
    assert_int_equal(f->rs.pct, 100);
    assert_int_equal(f->rs.plain, -7);
    assert_int_equal(f->n, 3);
    assert_memory_equal(f->arr, r->arr, 3 * sizeof(int32_t));
    assert_int_equal(f->r8, 100);
    assert_int_equal(f->r16, 1000);
    assert_int_equal(f->r32, 0xffffffffu);
    (void)body;
    (void)len;
}

static void out_ranges(const void *call)
{
    const struct c_ranges *c = call;
    assert_true(c->o_r == -5);
}

static void in_structs(const void *frame, const void *ref, const uint8_t *body, size_t len)
{
    const struct f_structs *f = frame, *r = ref;
    assert_memory_equal(&f->r, &r->r, sizeof(struct rect)); /* flat: no padding */
    assert_mixed_equal(&f->mx, &r->mx);
    assert_non_null(f->pp);
    assert_string_equal(f->pp->name, "Ada");
    assert_wcs_equal(f->pp->wname, u"Lovelace");
    assert_int_equal(f->pp->age, 36);
    assert_pt(f->pp->home, 3, 4);
    const struct outer *o = f->io;
    assert_non_null(o);
    assert_mixed_equal(&o->m, &r->io->m);
    assert_string_equal(o->who.name, "old name");
    assert_wcs_equal(o->who.wname, u"w");
    assert_int_equal(o->who.age, 1);
    assert_pt(o->who.home, 1, 2);
    /* what the object may replace is its own (pcom_alloc), not the receive buffer */
    assert_false(in_body(o->who.name, body, len));
    assert_false(in_body(o->who.wname, body, len));
    assert_memory_equal(o->nums, r->io->nums, sizeof(o->nums));
    assert_memory_equal(o->rs, r->io->rs, sizeof(o->rs));
    assert_non_null(f->o_r);
    assert_non_null(f->o_mx);
}

static void out_structs(const void *call)
{
    const struct c_structs *c = call;
    struct mixed m = mx_mixed(2);
    m.d *= 2;
    assert_mixed_equal(&c->io.m, &m);
    assert_string_equal(c->io.who.name, "new name");
    assert_null(c->io.who.wname);
    assert_int_equal(c->io.who.age, 2);
    assert_pt(c->io.who.home, 9, 10);
    assert_int_equal(c->io.nums[0], 3);
    assert_int_equal(c->io.nums[1], 2);
    assert_int_equal(c->io.nums[2], 1);
    const struct rect rs[2] = {{{1, 2}, {3, 4}}, {{5, 6}, {7, -1}}};
    assert_memory_equal(c->io.rs, rs, sizeof(rs));
    const struct rect o_r = {{-3, INT32_MAX}, {1, 2}};
    assert_memory_equal(&c->o_r, &o_r, sizeof(o_r));
    m = mx_mixed(1);
    m.tag++;
    assert_mixed_equal(&c->o_mx, &m);
}

static void in_arrays(const void *frame, const void *ref, const uint8_t *body, size_t len)
{
    const struct f_arrays *f = frame, *r = ref;
    (void)body;
    (void)len;
    assert_memory_equal(f->a, r->a, 4 * sizeof(int32_t));
    assert_memory_equal(f->g->m, r->g->m, sizeof(f->g->m));
    assert_memory_equal(f->g->bytes, r->g->bytes, sizeof(f->g->bytes));
    assert_int_equal(f->la.len, 3);
    for (int i = 0; i < 8; i++)
        assert_int_equal(f->la.data[i], i < 3 ? 10 * (i + 1) : 0); /* beyond length_is: not sent */
    assert_mixed_equal(&f->ms[0], &r->ms[0]);
    assert_mixed_equal(&f->ms[1], &r->ms[1]);
    assert_int_equal(f->n, 2);
    for (int i = 0; i < 6; i++)
        assert_int_equal(f->lp[i], i < 2 ? 5 + i : 0);
    assert_memory_equal(f->io_g->m, r->io_g->m, sizeof(f->io_g->m));
    assert_memory_equal(f->io_g->bytes, r->io_g->bytes, sizeof(f->io_g->bytes));
}

static void out_arrays(const void *call)
{
    const struct c_arrays *c = call;
    assert_int_equal(c->o_la.len, 2);
    assert_int_equal(c->o_la.data[0], 11);
    assert_int_equal(c->o_la.data[1], 21);
    assert_int_equal(c->o_la.data[2], 0); /* beyond length_is: the caller's memory is left alone */
    const int16_t m[2][3] = {{-6, -5, -4}, {-3, -2, -1}};
    assert_memory_equal(c->o_m, m, sizeof(m));
    const uint8_t bytes[5] = {109, 108, 107, 106, 105};
    assert_memory_equal(c->io_g.bytes, bytes, 5);
    assert_int_equal(c->io_g.m[0][0], INT16_MIN);
    assert_int_equal(c->io_g.m[1][2], 6);
}

static void in_ptrs(const void *frame, const void *ref, const uint8_t *body, size_t len)
{
    const struct f_ptrs *f = frame;
    (void)ref;
    (void)body;
    (void)len;
    assert_int_equal(*f->r, 41);
    assert_int_equal(*f->u, -42);
    assert_null(f->un);
    assert_pt(f->upt, 5, -6);
    assert_non_null(f->uu);
    assert_int_equal(**f->uu, 43);
    assert_non_null(f->uun);
    assert_null(*f->uun);
    assert_non_null(f->iou);
    assert_int_equal(*f->iou, 44);
    assert_null(f->iou_null);
    assert_non_null(f->o_pt);
}

static void out_ptrs(const void *call)
{
    const struct c_ptrs *c = call;
    assert_int_equal(c->iou, 88);
    assert_null(c->f.iou_null);
    assert_pt(&c->o_pt, 41, -42);
}

static void in_sized(const void *frame, const void *ref, const uint8_t *body, size_t len)
{
    const struct f_sized *f = frame, *r = ref;
    assert_int_equal(f->n, 3);
    assert_int_equal(f->m, 2);
    assert_memory_equal(f->before, r->before, 3 * sizeof(int32_t));
    assert_memory_equal(f->after, r->after, 2 * sizeof(struct pt));
    assert_int_equal(*f->pcount, 4);
    assert_memory_equal(f->through, r->through, 4 * sizeof(int16_t));
    /* flat [in] arrays are decoded in place */
    assert_true(in_body(f->before, body, len));
    assert_true(in_body(f->after, body, len));
    assert_true(in_body(f->through, body, len));
    /* length_is < size_is: a zeroed copy of size_is elements */
    assert_false(in_body(f->sl, body, len));
    assert_int_equal(f->sl[0], 7);
    assert_int_equal(f->sl[1], 8);
    for (int i = 2; i < 5; i++)
        assert_int_equal(f->sl[i], 0);
    /* elements that are not flat are decoded, not pointed at */
    assert_false(in_body(f->nf, body, len));
    assert_mixed_equal(&f->nf[0], &r->nf[0]);
    assert_mixed_equal(&f->nf[1], &r->nf[1]);
    assert_false(in_body(f->strs, body, len));
    assert_string_equal(f->strs[0], "a");
    assert_string_equal(f->strs[1], "");
    assert_string_equal(f->strs[2], "ccc");
    assert_true(in_body(f->strs[2], body, len));
    /* [in, out]: the object's own memory */
    assert_false(in_body(f->io, body, len));
    assert_int_equal(f->io[0], 100);
    assert_int_equal(f->io[1], 200);
    assert_non_null(f->outarr);
    assert_non_null(f->osl);
    assert_memory_equal(f->guids, r->guids, 3 * sizeof(GUID)); /* flat: no padding */
    assert_true(in_body(f->guids, body, len));
    assert_false(in_body(f->ptrs, body, len));
    assert_int_equal(*f->ptrs[0], 5);
    assert_null(f->ptrs[1]);
    assert_memory_equal(f->rows, r->rows, sizeof(r->rows));
    assert_true(in_body(f->rows, body, len));
    assert_int_equal(f->tags[0].kind, 1);
    assert_int_equal(f->tags[0].v.i, 17);
    assert_int_equal(f->tags[1].kind, 4);
    assert_string_equal(f->tags[1].v.s, "tag");
    assert_int_equal(f->tags[2].kind, 99);
    assert_int_equal(f->tags[2].v.h, 3);
    assert_string_equal(f->iostrs[0], "io0");
    assert_string_equal(f->iostrs[1], "io1");
    assert_false(in_body(f->iostrs[0], body, len));
}

static void out_sized(const void *call)
{
    const struct c_sized *c = call;
    assert_int_equal(c->outarr[0], 10);
    assert_int_equal(c->outarr[1], 20);
    assert_int_equal(c->outarr[2], 30);
    assert_int_equal(c->io[0], 101);
    assert_int_equal(c->io[1], 201);
    const int32_t osl[5] = {40, 41, -9, -9, -9};
    assert_memory_equal(c->osl, osl, sizeof(osl));
    assert_string_equal(c->iostrs[0], "zero!");
    assert_null(c->iostrs[1]);
}

static void in_zero(const void *frame, const void *ref, const uint8_t *body, size_t len)
{
    const struct f_zero *f = frame;
    (void)ref;
    (void)body;
    (void)len;
    assert_int_equal(f->z, 0);
}

static void out_zero(const void *call)
{
    const struct c_zero *c = call;
    assert_int_equal(c->f.z, 0);
}

static void in_outalloc(const void *frame, const void *ref, const uint8_t *body, size_t len)
{
    const struct f_outalloc *f = frame;
    (void)ref;
    (void)body;
    assert_int_equal(len, 0);
    assert_non_null(f->pp);
    assert_null(*f->pp);
    assert_non_null(f->pc);
    assert_non_null(f->os);
    assert_null(*f->os);
}

static void out_outalloc(const void *call)
{
    const struct c_outalloc *c = call;
    assert_int_equal(c->pc, 3);
    for (int i = 0; i < 3; i++)
        assert_pt(&c->pp[i], i, -i);
    assert_int_equal(c->pc2, 2);
    assert_int_equal(c->pl[0], INT32_MAX);
    assert_int_equal(c->pl[1], INT32_MIN);
    assert_string_equal(c->os, "out string");
    assert_wcs_equal(c->ow, u"wide \u00e9\u4e2d");
    assert_non_null(c->pperson);
    assert_string_equal(c->pperson->name, "Grace");
    assert_null(c->pperson->wname);
    assert_int_equal(c->pperson->age, 85);
    assert_pt(c->pperson->home, -1, -2);
    for (int i = 0; i < 3; i++) {
        struct mixed m = mx_mixed(10 + i);
        assert_mixed_equal(&c->pm[i], &m);
    }
    assert_non_null(c->people);
    assert_string_equal(c->people[0].name, "p0");
    assert_wcs_equal(c->people[0].wname, u"w0");
    assert_null(c->people[0].home);
    assert_string_equal(c->people[1].name, "p1");
    assert_null(c->people[1].wname);
    assert_pt(c->people[1].home, 1, 1);
    assert_string_equal(c->people[2].name, "");
    assert_wcs_equal(c->people[2].wname, u"");
    assert_int_equal(c->people[2].age, 2);
    assert_non_null(c->tags);
    assert_int_equal(c->tags[0].kind, 4);
    assert_string_equal(c->tags[0].v.s, "t0");
    assert_int_equal(c->tags[1].kind, 1);
    assert_int_equal(c->tags[1].v.i, 7);
    assert_int_equal(c->tags[2].kind, 4);
    assert_null(c->tags[2].v.s);
    assert_non_null(c->names);
    assert_int_equal(c->names->n, 2);
    assert_string_equal(c->names->names[0], "n0");
    assert_string_equal(c->names->names[1], "n1");
}

static void in_strings(const void *frame, const void *ref, const uint8_t *body, size_t len)
{
    const struct f_strings *f = frame;
    (void)ref;
    assert_string_equal(f->s, "hello, world");
    assert_true(in_body(f->s, body, len));
    assert_string_equal(f->su, "unique");
    assert_null(f->sn);
    assert_wcs_equal(f->w, u"wide \u00e9");
    assert_true(in_body(f->w, body, len));
    assert_wcs_equal(f->wu, u"x");
    assert_string_equal(f->empty, "");
    assert_string_equal(*f->ios, "before");
    assert_false(in_body(*f->ios, body, len));
    assert_wcs_equal(*f->iow, u"wide before");
    assert_false(in_body(*f->iow, body, len));
    assert_null(*f->os);
}

static void out_strings(const void *call)
{
    const struct c_strings *c = call;
    assert_string_equal(c->os, "result");
    assert_wcs_equal(c->ow, u"r\u00e9sultat");
    assert_string_equal(c->ios, "after!");
    assert_null(c->iow);
}

static void in_unions(const void *frame, const void *ref, const uint8_t *body, size_t len)
{
    const struct f_unions *f = frame;
    (void)ref;
    (void)body;
    (void)len;
    assert_int_equal(f->k1, 4);
    assert_string_equal(f->v1.s, "in union");
    assert_int_equal(f->ts[0].kind, 1);
    assert_int_equal(f->ts[0].v.i, -1);
    assert_int_equal(f->ts[1].kind, 2);
    assert_true(f->ts[1].v.d == 0.5);
    assert_int_equal(f->ts[2].kind, 3);
    assert_pt(&f->ts[2].v.p, 1, 2);
    assert_int_equal(f->ts[3].kind, 4);
    assert_null(f->ts[3].v.s);
    assert_int_equal(f->ts[4].kind, 5);
    assert_int_equal(f->ts[5].kind, 99);
    assert_int_equal(f->ts[5].v.h, -7);
    assert_int_equal(f->k2, 2);
    assert_string_equal(f->pw->s, "w");
    assert_int_equal(f->k3, 7);
}

static void out_unions(const void *call)
{
    const struct c_unions *c = call;
    assert_string_equal(c->o_v.s, "out union");
    assert_int_equal(c->o_t.kind, 3);
    assert_pt(&c->o_t.v.p, 5, 6);
    assert_int_equal(c->o_k, 2);
    assert_true(c->o_v2.d == 0.25);
}

static void in_conf(const void *frame, const void *ref, const uint8_t *body, size_t len)
{
    const struct f_conf *f = frame;
    (void)ref;
    assert_int_equal(f->in->n, 3);
    assert_int_equal(f->in->tag, -2);
    for (int i = 0; i < 3; i++)
        assert_int_equal(f->in->items[i], 1 + i);
    assert_non_null(f->inn);
    assert_int_equal(f->inn->n, 2);
    assert_string_equal(f->inn->names[0], "first");
    assert_string_equal(f->inn->names[1], "second");
    assert_int_equal(f->io->n, 4);
    assert_int_equal(f->io->tag, 9);
    for (int i = 0; i < 4; i++)
        assert_int_equal(f->io->items[i], 100 + i);
    assert_false(in_body(f->io, body, len));
    assert_int_equal(f->in0->n, 0);
    assert_int_equal(f->in0->tag, 5);
    assert_non_null(f->out);
    assert_null(*f->out);
}

static void out_conf(const void *call)
{
    const struct c_conf *c = call;
    assert_int_equal(c->f.io->n, 4);
    assert_int_equal(c->f.io->tag, -1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(c->f.io->items[i], 2 * (100 + i));
    assert_non_null(c->out);
    assert_int_equal(c->out->n, 5);
    assert_int_equal(c->out->tag, 77);
    for (int i = 0; i < 5; i++)
        assert_int_equal(c->out->items[i], i - 2);
}

static void in_inout(const void *frame, const void *ref, const uint8_t *body, size_t len)
{
    const struct f_inout *f = frame;
    (void)ref;
    assert_string_equal(f->p->name, "in name");
    assert_false(in_body(f->p->name, body, len));
    assert_wcs_equal(f->p->wname, u"in wide");
    assert_int_equal(f->p->age, 20);
    assert_null(f->p->home);
    assert_pt(*f->ppt, 11, 12);
    assert_null(*f->ppt_null);
    assert_int_equal(f->la->len, 1);
    assert_int_equal(f->la->data[0], 5);
    assert_int_equal(f->tg->kind, 4);
    assert_string_equal(f->tg->v.s, "tagged in");
}

static void out_inout(const void *call)
{
    const struct c_inout *c = call;
    assert_string_equal(c->p.name, "out name");
    assert_null(c->p.wname);
    assert_int_equal(c->p.age, 21);
    assert_pt(c->p.home, -5, -6);
    assert_null(c->ppt);
    assert_pt(c->ppt_null, 13, 14);
    assert_int_equal(c->la.len, 3);
    assert_int_equal(c->la.data[0], 5);
    assert_int_equal(c->la.data[1], 6);
    assert_int_equal(c->la.data[2], 7);
    assert_int_equal(c->tg.kind, 2);
    assert_true(c->tg.v.d == -0.125);
}

static void in_list(const void *frame, const void *ref, const uint8_t *body, size_t len)
{
    const struct f_list *f = frame;
    (void)ref;
    (void)body;
    (void)len;
    int i = 0;
    for (const struct node *p = f->head; p; p = p->next, i++)
        assert_int_equal(p->v, i * i);
    assert_int_equal(i, MX_LIST_LEN);
}

static void out_list(const void *call)
{
    const struct c_list *c = call;
    assert_int_equal(c->count, MX_LIST_LEN);
    int i = MX_LIST_LEN - 1;
    for (const struct node *p = c->out; p; p = p->next, i--)
        assert_int_equal(p->v, i * i);
    assert_int_equal(i, -1);
}

/* in the order of mx_fixtures[] */
static const struct {
    check_in_fn in;
    check_out_fn out;
} checks[] = {
    {in_empty, out_empty},       {in_scalars, out_scalars}, {in_ranges, out_ranges}, {in_structs, out_structs},
    {in_arrays, out_arrays},     {in_ptrs, out_ptrs},       {in_sized, out_sized},   {in_zero, out_zero},
    {in_outalloc, out_outalloc}, {in_strings, out_strings}, {in_unions, out_unions}, {in_conf, out_conf},
    {in_inout, out_inout},       {in_list, out_list},
};
_Static_assert(sizeof(checks) / sizeof(checks[0]) == MX_NFIXTURES, "one check per fixture");

/* ---- the sweeps' decoders: a body copied to exactly len bytes, so ASan sees any read past it ---- */

static uint8_t *exact_copy(const uint8_t *body, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, body, len);
    return copy;
}

/* Bytes of [out]-only storage the server gave a decoded frame (what the request names, not carries). */
static size_t out_storage(const struct pcom_method *m, const void *frame)
{
    size_t sum = 0;
    for (uint16_t i = 0; i < m->nparams; i++) {
        const struct pcom_param *p = &m->params[i];
        if ((p->flags & PCOM_PF_IN) || p->type->kind != PCOM_KIND_POINTER)
            continue;
        uint64_t n = 1;
        if (p->type->size_is && !p->type->size_is(frame, &n))
            n = 0;
        sum += ((size_t)n * p->type->elem->size + 15) & ~(size_t)15;
    }
    return sum;
}

/* The server's half: decode, and on success re-encode both ways (the decoded frame must be consistent),
 * free the object's part and reset the arena. Nothing may stay allocated, and the arena may not have
 * handed out more than the body justifies. */
static HRESULT try_request(const struct pcom_method *m, const uint8_t *body, size_t len,
                           const struct pcomi_limits *lim)
{
    long live = pcom_alloc_live_blocks();
    uint8_t *copy = exact_copy(body, len);
    void *frame = mx_frame_new(m);
    assert_non_null(frame);
    struct pcomi_arena arena = {0};
    HRESULT hr = pcomi_decode_in(m, copy, len, frame, &arena, lim);
    if (SUCCEEDED(hr)) {
        /* the budget, the arena's rounding to 16 of at most one block per 4 bytes and parameter, and [out]
         * storage (bounded by max_message, since the results must fit in one response) */
        size_t max = lim && lim->max_message ? lim->max_message : PCOMI_DEFAULT_MAX_MESSAGE;
        assert_true(arena.used <= budget_for(len) + 4 * len + 16 * (size_t)m->nparams + max);
        assert_true(arena.used <= budget_for(len) + 4 * len + 16 * (size_t)m->nparams + out_storage(m, frame));
        struct pcomi_wbuf w = {0};
        (void)pcomi_encode_in(m, frame, &w);
        pcomi_wbuf_free(&w);
        (void)pcomi_encode_out(m, frame, &w);
        pcomi_wbuf_free(&w);
    }
    /* a stub may free the [out] side whether or not the decode succeeded */
    pcomi_free_out(m, frame);
    pcomi_arena_free(&arena);
    free(frame);
    free(copy);
    assert_int_equal(pcom_alloc_live_blocks(), live);
    return hr;
}

/* After a failed decode_out every [out] pointer-to-pointer target is NULL. */
static void assert_out_ptrs_null(const struct pcom_method *m, const void *frame)
{
    for (uint16_t i = 0; i < m->nparams; i++) {
        const struct pcom_param *p = &m->params[i];
        const struct pcom_type *t = p->type;
        if (!(p->flags & PCOM_PF_OUT) || t->kind != PCOM_KIND_POINTER || t->size_is)
            continue;
        uint8_t k = t->elem->kind;
        if (k != PCOM_KIND_POINTER && k != PCOM_KIND_STRING)
            continue;
        void *const *target = *(void *const *const *)((const uint8_t *)frame + p->offset);
        if (target)
            assert_null(*target);
    }
}

/* A reply still arriving: bytes handed out in order as the decode asks, failing after fail_at of them. heap_peak:
 * the most the process had allocated when a read was asked for (with mallinfo). */
struct feed {
    const uint8_t *body;
    size_t len, at, fail_at;
    size_t heap_peak;
};

static size_t heap_in_use(void)
{
#ifdef MX_MALLINFO
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#else
    return 0;
#endif
}

static int feed_read(void *ctx, void *dst, size_t n)
{
    struct feed *f = ctx;
    assert_true(n > 0 && n <= f->len - f->at); /* never past the body, never an empty read */
    size_t heap = heap_in_use();
    if (heap > f->heap_peak)
        f->heap_peak = heap;
    if (f->at + n > f->fail_at)
        return -ECONNRESET;
    memcpy(dst, f->body + f->at, n);
    f->at += n;
    return 0;
}

/* pcomi_decode_out_from over body; direct_min 1 puts every flat array straight into place. */
static HRESULT decode_streamed(const struct mx_fixture *fx, const uint8_t *body, size_t len, void *call,
                               const struct pcomi_limits *lim, size_t direct_min, size_t fail_at, int *src_err)
{
    struct feed f = {body, len, 0, fail_at, 0};
    struct pcomi_body_source src = {.read = feed_read, .ctx = &f, .direct_min = direct_min};
    HRESULT hr = pcomi_decode_out_from(fx->m, &src, len, call, lim, src_err);
    if (!*src_err)
        assert_int_equal(f.at, len); /* all of it was read, whatever the outcome: the stream stays in step */
    return hr;
}

/* The client's half: decode into a fresh call, free what it returned. The same body decoded as it arrives (in
 * place and copied) must come to the same result. */
static HRESULT try_response(const struct mx_fixture *fx, const uint8_t *body, size_t len,
                            const struct pcomi_limits *lim)
{
    for (size_t direct_min = 0; direct_min < 2; direct_min++) {
        long live = pcom_alloc_live_blocks();
        void *call = mx_call_new(fx), *plain = mx_call_new(fx);
        assert_non_null(call);
        assert_non_null(plain);
        uint8_t *copy = exact_copy(body, len);
        int src_err = 0;
        HRESULT hr = decode_streamed(fx, copy, len, call, lim, direct_min, SIZE_MAX, &src_err);
        assert_int_equal(src_err, 0);
        assert_int_equal(hr, pcomi_decode_out(fx->m, copy, len, plain, lim));
        if (FAILED(hr))
            assert_out_ptrs_null(fx->m, call);
        mx_call_free(fx, call);
        mx_call_free(fx, plain);
        free(copy);
        assert_int_equal(pcom_alloc_live_blocks(), live);
    }

    long live = pcom_alloc_live_blocks();
    uint8_t *copy = exact_copy(body, len);
    void *call = mx_call_new(fx);
    assert_non_null(call);
#ifdef MX_MALLINFO
    size_t heap0 = mallinfo2().uordblks;
#endif
    HRESULT hr = pcomi_decode_out(fx->m, copy, len, call, lim);
    if (FAILED(hr)) {
        assert_out_ptrs_null(fx->m, call);
    } else {
#ifdef MX_MALLINFO
        size_t heap1 = mallinfo2().uordblks;
        assert_true(heap1 < heap0 || heap1 - heap0 <= budget_for(len) + 64 * 1024);
#endif
    }
    mx_call_free(fx, call);
    free(copy);
    assert_int_equal(pcom_alloc_live_blocks(), live);
    return hr;
}

/* ---- per-fixture tests ---- */

struct bodies {
    struct pcomi_wbuf req, resp;
};

static const struct mx_fixture *fixture_of(void **state)
{
    return *state;
}

static void make_bodies(const struct mx_fixture *fx, struct bodies *b)
{
    memset(b, 0, sizeof(*b));
    HRESULT hr = mx_bodies(fx, &b->req, &b->resp);
    if (FAILED(hr))
        fail_msg("%s: building the valid bodies failed: 0x%08x", fx->name, (unsigned)hr);
}

static void free_bodies(struct bodies *b)
{
    pcomi_wbuf_free(&b->req);
    pcomi_wbuf_free(&b->resp);
}

/* 1. client encode -> server decode -> object -> server encode -> client decode: exact values */

/* Arrays sent from where they are (every flat array referenced, not copied) make the same bytes as copying them. */
static void assert_gather_same(const struct pcom_method *m, const void *frame, uint8_t dir,
                               const struct pcomi_wbuf *flat)
{
    struct pcomi_wbuf g = {0};
    g.gather = 1;
    assert_int_equal(pcomi_encode(m, frame, &g, dir, NULL), S_OK);
    assert_int_equal(pcomi_wbuf_size(&g), flat->len);
    struct iovec stack[4];
    void *heap;
    int n;
    struct iovec *iov = pcomi_wbuf_iov(&g, stack, 4, &n, &heap);
    assert_non_null(iov);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        assert_true(at + iov[i].iov_len <= flat->len);
        if (iov[i].iov_len)
            assert_memory_equal(iov[i].iov_base, flat->data + at, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    assert_int_equal(at, flat->len);
    free(heap);
    pcomi_wbuf_free(&g);
}

static void test_roundtrip(void **state)
{
    const struct mx_fixture *fx = fixture_of(state);
    size_t idx = (size_t)(fx - mx_fixtures);
    long live = pcom_alloc_live_blocks();

    void *call = mx_call_new(fx), *ref = mx_call_new(fx), *frame = mx_frame_new(fx->m);
    assert_non_null(call);
    assert_non_null(ref);
    assert_non_null(frame);
    struct pcomi_wbuf req = {0}, resp = {0};
    struct pcomi_arena arena = {0};

    assert_int_equal(pcomi_check_ref_params(fx->m, call), S_OK);
    assert_int_equal(pcomi_encode_in(fx->m, call, &req), S_OK);
    assert_gather_same(fx->m, call, PCOM_PF_IN, &req);
    assert_int_equal(pcomi_decode_in(fx->m, req.data, req.len, frame, &arena, NULL), S_OK);
    checks[idx].in(frame, ref, req.data, req.len);
    fx->fill(frame);
    assert_int_equal(pcomi_encode_out(fx->m, frame, &resp), S_OK);
    assert_gather_same(fx->m, frame, PCOM_PF_OUT, &resp);
    pcomi_free_out(fx->m, frame);
    pcomi_arena_reset(&arena);

    assert_int_equal(pcomi_decode_out(fx->m, resp.data, resp.len, call, NULL), S_OK);
    checks[idx].out(call);
    /* decoded as it arrives, every flat array put straight into place: the same values */
    void *streamed = mx_call_new(fx);
    assert_non_null(streamed);
    int src_err = 0;
    assert_int_equal(decode_streamed(fx, resp.data, resp.len, streamed, NULL, 1, SIZE_MAX, &src_err), S_OK);
    checks[idx].out(streamed);
    mx_call_free(fx, streamed);

    /* a second call through the same arena gives the same request */
    struct pcomi_wbuf req2 = {0};
    void *call2 = mx_call_new(fx);
    assert_int_equal(pcomi_encode_in(fx->m, call2, &req2), S_OK);
    assert_int_equal(req2.len, req.len);
    if (req.len)
        assert_memory_equal(req2.data, req.data, req.len);
    memset(frame, 0, fx->m->frame_size);
    assert_int_equal(pcomi_decode_in(fx->m, req2.data, req2.len, frame, &arena, NULL), S_OK);
    pcomi_free_out(fx->m, frame);
    pcomi_arena_free(&arena);
    mx_call_free(fx, call2);
    pcomi_wbuf_free(&req2);

    mx_call_free(fx, call);
    mx_call_free(fx, ref);
    free(frame);
    pcomi_wbuf_free(&req);
    pcomi_wbuf_free(&resp);
    assert_int_equal(pcom_alloc_live_blocks(), live);
}

/* A connection that breaks inside a reply decoded as it arrives: RPC_E_DISCONNECTED, the source's error, nothing
 * left allocated and every [out] pointer NULL, wherever it breaks. */
static void test_stream_breaks(void **state)
{
    const struct mx_fixture *fx = fixture_of(state);
    struct bodies b;
    make_bodies(fx, &b);
    for (size_t cut = 0; cut < b.resp.len; cut += b.resp.len > 64 ? b.resp.len / 64 : 1) {
        for (size_t direct_min = 0; direct_min < 2; direct_min++) {
            long live = pcom_alloc_live_blocks();
            void *call = mx_call_new(fx);
            assert_non_null(call);
            int src_err = 0;
            HRESULT hr = decode_streamed(fx, b.resp.data, b.resp.len, call, NULL, direct_min, cut, &src_err);
            assert_int_equal(hr, RPC_E_DISCONNECTED);
            assert_int_equal(src_err, -ECONNRESET);
            assert_out_ptrs_null(fx->m, call);
            mx_call_free(fx, call);
            assert_int_equal(pcom_alloc_live_blocks(), live);
        }
    }
    free_bodies(&b);
}

/* A reply whose header announces far more than comes (64 MiB), with any one count in it made huge: what the decode
 * allocates before the bytes stop follows the bytes that came, not the announcement. */
static void test_stream_announced(void **state)
{
    const struct mx_fixture *fx = fixture_of(state);
    struct bodies b;
    make_bodies(fx, &b);
    const size_t announced = (size_t)64 << 20;
    struct pcomi_limits lim = {.max_message = (size_t)128 << 20};
    uint8_t *body = malloc(b.resp.len + 1);
    assert_non_null(body);
    for (size_t at = 0; at + 4 <= b.resp.len; at += 4) {
        memcpy(body, b.resp.data, b.resp.len);
        static const uint8_t huge[4] = {0xff, 0xff, 0xff, 0x00};
        memcpy(body + at, huge, 4);
        long live = pcom_alloc_live_blocks();
        void *call = mx_call_new(fx);
        assert_non_null(call);
        size_t before = heap_in_use();
        struct feed f = {body, announced, 0, b.resp.len, 0};
        struct pcomi_body_source src = {.read = feed_read, .ctx = &f};
        int src_err = 0;
        HRESULT hr = pcomi_decode_out_from(fx->m, &src, announced, call, &lim, &src_err);
        assert_true(FAILED(hr));
        assert_true(f.heap_peak < before + ((size_t)2 << 20));
        mx_call_free(fx, call);
        assert_int_equal(pcom_alloc_live_blocks(), live);
    }
    free(body);
    free_bodies(&b);
}

/* Results the decoder allocates (an [out] T ** of 100,000 elements, 400 KB, far more than the first allowance of a
 * body still arriving) are decoded as they arrive too: the bytes come first, then the memory for them. */
static void test_stream_large_allocated(void **state)
{
    (void)state;
    const struct mx_fixture *fx = &mx_fixtures[8];
    assert_string_equal(fx->name, "outalloc");
    long live = pcom_alloc_live_blocks();
    void *frame = mx_frame_new(fx->m);
    assert_non_null(frame);
    struct pcomi_arena arena = {0};
    assert_int_equal(pcomi_decode_in(fx->m, NULL, 0, frame, &arena, NULL), S_OK);
    fx->fill(frame);
    struct f_outalloc *f = frame;
    enum { N = 100000 };
    pcom_free(*f->pl);
    *f->pl = pcom_alloc(N * sizeof(int32_t));
    assert_non_null(*f->pl);
    for (int32_t i = 0; i < N; i++)
        (*f->pl)[i] = i * 7 - 3;
    *f->pc2 = N;
    struct pcomi_wbuf resp = {0};
    assert_int_equal(pcomi_encode_out(fx->m, frame, &resp), S_OK);
    pcomi_free_out(fx->m, frame);
    pcomi_arena_free(&arena);
    free(frame);

    for (size_t direct_min = 0; direct_min < 2; direct_min++) {
        struct c_outalloc *call = mx_call_new(fx);
        assert_non_null(call);
        int src_err = 0;
        assert_int_equal(decode_streamed(fx, resp.data, resp.len, call, NULL, direct_min, SIZE_MAX, &src_err),
                         S_OK);
        assert_int_equal(call->pc2, N);
        for (int32_t i = 0; i < N; i += 997)
            assert_int_equal(call->pl[i], i * 7 - 3);
        assert_int_equal(call->pl[N - 1], (N - 1) * 7 - 3);
        mx_call_free(fx, call);
    }
    pcomi_wbuf_free(&resp);
    assert_int_equal(pcom_alloc_live_blocks(), live);
}

/* 2. every proper prefix of a valid body is rejected; so is trailing garbage */
static void test_truncate(void **state)
{
    const struct mx_fixture *fx = fixture_of(state);
    long live = pcom_alloc_live_blocks();
    struct bodies b;
    make_bodies(fx, &b);
    assert_int_equal(try_request(fx->m, b.req.data, b.req.len, NULL), S_OK);
    assert_int_equal(try_response(fx, b.resp.data, b.resp.len, NULL), S_OK);
    for (size_t n = 0; n < b.req.len; n++)
        assert_true(FAILED(try_request(fx->m, b.req.data, n, NULL)));
    for (size_t n = 0; n < b.resp.len; n++)
        assert_true(FAILED(try_response(fx, b.resp.data, n, NULL)));
    static const size_t extra[] = {1, 3, 4, 8};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        for (int fillbyte = 0; fillbyte < 256; fillbyte += 255) {
            uint8_t *r = malloc(b.req.len + extra[i]), *s = malloc(b.resp.len + extra[i]);
            assert_non_null(r);
            assert_non_null(s);
            if (b.req.len)
                memcpy(r, b.req.data, b.req.len);
            memset(r + b.req.len, fillbyte, extra[i]);
            if (b.resp.len)
                memcpy(s, b.resp.data, b.resp.len);
            memset(s + b.resp.len, fillbyte, extra[i]);
            assert_int_equal(try_request(fx->m, r, b.req.len + extra[i], NULL), RPC_E_INVALID_DATA);
            assert_int_equal(try_response(fx, s, b.resp.len + extra[i], NULL), RPC_E_INVALID_DATA);
            free(r);
            free(s);
        }
    }
    free_bodies(&b);
    assert_int_equal(pcom_alloc_live_blocks(), live);
}

/* 3. every aligned 4-byte word (counts, lengths, markers, discriminants among them) replaced by 0, 1,
 * its value +/- 1, 0x7fffffff and 0xffffffff: no crash, no leak, no oversized allocation */
static void corrupt_words(const struct mx_fixture *fx, const uint8_t *body, size_t len, bool request)
{
    uint8_t *copy = exact_copy(body, len);
    for (size_t off = 0; off + 4 <= len; off += 4) {
        uint32_t v;
        memcpy(&v, body + off, 4);
        const uint32_t repl[] = {0, 1, v - 1, v + 1, 0x7fffffffu, 0xffffffffu};
        for (size_t i = 0; i < sizeof(repl) / sizeof(repl[0]); i++) {
            memcpy(copy, body, len);
            memcpy(copy + off, &repl[i], 4);
            if (request)
                (void)try_request(fx->m, copy, len, NULL);
            else
                (void)try_response(fx, copy, len, NULL);
        }
    }
    free(copy);
}

static void test_corrupt(void **state)
{
    const struct mx_fixture *fx = fixture_of(state);
    long live = pcom_alloc_live_blocks();
    struct bodies b;
    make_bodies(fx, &b);
    corrupt_words(fx, b.req.data, b.req.len, true);
    corrupt_words(fx, b.resp.data, b.resp.len, false);
    free_bodies(&b);
    assert_int_equal(pcom_alloc_live_blocks(), live);
}

/* 5. every bit of every valid body flipped once */
static void test_bitflip(void **state)
{
    const struct mx_fixture *fx = fixture_of(state);
    long live = pcom_alloc_live_blocks();
    struct bodies b;
    make_bodies(fx, &b);
    for (int pass = 0; pass < 2; pass++) {
        const struct pcomi_wbuf *w = pass ? &b.resp : &b.req;
        uint8_t *copy = exact_copy(w->data, w->len);
        for (size_t bit = 0; bit < w->len * 8; bit++) {
            memcpy(copy, w->data, w->len);
            copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            if (pass)
                (void)try_response(fx, copy, w->len, NULL);
            else
                (void)try_request(fx->m, copy, w->len, NULL);
        }
        free(copy);
    }
    free_bodies(&b);
    assert_int_equal(pcom_alloc_live_blocks(), live);
}

/* ---- hand-built bodies ---- */

struct body {
    _Alignas(16) uint8_t b[4096];
    size_t n;
};

static void b_put(struct body *b, const void *p, size_t n, size_t align)
{
    while (b->n % align)
        b->b[b->n++] = 0;
    assert_true(b->n + n <= sizeof(b->b));
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void b_u32(struct body *b, uint32_t v)
{
    b_put(b, &v, 4, 4);
}

static void b_u16(struct body *b, uint16_t v)
{
    b_put(b, &v, 2, 2);
}

static HRESULT req(const struct pcom_method *m, const struct body *b)
{
    return try_request(m, b->b, b->n, NULL);
}

/* A method where the size of one array comes before it and of another after it. */
struct f_sc {
    int32_t n;
    int32_t *a; /* [in, size_is(n)] */
    int32_t *b; /* [in, size_is(m)] */
    int32_t m;
};
MX_EXPR_FIELD(sc_n, struct f_sc, n)
MX_EXPR_FIELD(sc_m, struct f_sc, m)
static const struct pcom_type t_sc_a = MX_PTR(&mt_i32, 0, sc_n, NULL);
static const struct pcom_type t_sc_b = MX_PTR(&mt_i32, 0, sc_m, NULL);
static const struct pcom_param p_sc[] = {
    MX_PARAM(struct f_sc, n, IN, mt_i32), MX_PARAM(struct f_sc, a, IN, t_sc_a),
    MX_PARAM(struct f_sc, b, IN, t_sc_b), MX_PARAM(struct f_sc, m, IN, mt_i32),
};
static const struct pcom_method m_sc = MX_METHOD("SizeCheck", struct f_sc, p_sc);

static void sc_body(struct body *b, uint32_t n, uint32_t na, uint32_t nb, uint32_t m)
{
    b->n = 0;
    b_u32(b, n);
    b_u32(b, na);
    for (uint32_t i = 0; i < na; i++)
        b_u32(b, i);
    b_u32(b, nb);
    for (uint32_t i = 0; i < nb; i++)
        b_u32(b, 100 + i);
    b_u32(b, m);
}

static void test_size_is_mismatch(void **state)
{
    (void)state;
    struct body b;
    sc_body(&b, 3, 3, 2, 2);
    assert_int_equal(req(&m_sc, &b), S_OK);
    sc_body(&b, 3, 4, 2, 2); /* n says 3, the array carries 4 */
    assert_int_equal(req(&m_sc, &b), RPC_E_INVALID_DATA);
    sc_body(&b, 4, 3, 2, 2);
    assert_int_equal(req(&m_sc, &b), RPC_E_INVALID_DATA);
    sc_body(&b, 3, 3, 2, 1); /* the size comes after the array */
    assert_int_equal(req(&m_sc, &b), RPC_E_INVALID_DATA);
    sc_body(&b, 3, 3, 2, 3);
    assert_int_equal(req(&m_sc, &b), RPC_E_INVALID_DATA);
    sc_body(&b, 0, 0, 0, 0);
    assert_int_equal(req(&m_sc, &b), S_OK);
    /* a count that cannot fit the bytes left, before anything is allocated */
    sc_body(&b, 0x7fffffff, 0, 0, 0);
    b.n = 4;
    b_u32(&b, 0x7fffffff);
    assert_int_equal(req(&m_sc, &b), RPC_E_INVALID_DATA);
    /* negative sizes never evaluate */
    sc_body(&b, 0xffffffffu, 0, 0, 0);
    assert_int_equal(req(&m_sc, &b), RPC_E_INVALID_DATA);

    /* size_is(*pcount), and length_is with size_is: from the sized fixture's valid body */
    const struct mx_fixture *fx = &mx_fixtures[6];
    assert_string_equal(fx->name, "sized");
    void *call = mx_call_new(fx);
    struct c_sized *c = call;
    struct pcomi_wbuf w = {0};
    c->count = 3; /* *pcount says 3: the client itself sends only 3 */
    assert_int_equal(pcomi_encode_in(fx->m, call, &w), S_OK);
    assert_int_equal(try_request(fx->m, w.data, w.len, NULL), S_OK);
    pcomi_wbuf_free(&w);
    c->count = -1;
    assert_int_equal(pcomi_encode_in(fx->m, call, &w), E_INVALIDARG);
    pcomi_wbuf_free(&w);
    c->count = 4;
    c->f.len = 6; /* length_is > size_is */
    assert_int_equal(pcomi_encode_in(fx->m, call, &w), E_INVALIDARG);
    pcomi_wbuf_free(&w);
    c->f.len = 2;
    mx_call_free(fx, call);
}

/* [in] cap, [in] len, [in, size_is(cap), length_is(len)] long *a; [in] fixed array with length_is. */
struct f_lc {
    int32_t cap, len;
    int32_t *a;
    struct lenarr la;
};
MX_EXPR_FIELD(lc_cap, struct f_lc, cap)
MX_EXPR_FIELD(lc_len, struct f_lc, len)
static const struct pcom_type t_lc_a = MX_PTR(&mt_i32, 0, lc_cap, lc_len);
static const struct pcom_param p_lc[] = {
    MX_PARAM(struct f_lc, cap, IN, mt_i32),
    MX_PARAM(struct f_lc, len, IN, mt_i32),
    MX_PARAM(struct f_lc, a, IN, t_lc_a),
    MX_PARAM(struct f_lc, la, IN, mt_lenarr),
};
static const struct pcom_method m_lc = MX_METHOD("LengthCheck", struct f_lc, p_lc);

static void lc_body(struct body *b, uint32_t cap, uint32_t len, uint32_t wcap, uint32_t wlen, uint32_t nel,
                    uint32_t lalen, uint32_t lawire)
{
    b->n = 0;
    b_u32(b, cap);
    b_u32(b, len);
    b_u32(b, wcap);
    b_u32(b, wlen);
    for (uint32_t i = 0; i < nel; i++)
        b_u32(b, i);
    b_u32(b, lalen); /* struct lenarr: len, then the length_is count and the elements */
    b_u32(b, lawire);
    for (uint32_t i = 0; i < lawire; i++)
        b_u32(b, i);
}

static void test_length_is(void **state)
{
    (void)state;
    struct body b;
    lc_body(&b, 5, 2, 5, 2, 2, 3, 3);
    assert_int_equal(req(&m_lc, &b), S_OK);
    lc_body(&b, 5, 6, 5, 6, 6, 3, 3); /* length > size */
    assert_int_equal(req(&m_lc, &b), RPC_E_INVALID_DATA);
    lc_body(&b, 5, 2, 5, 3, 3, 3, 3); /* wire length disagrees with len */
    assert_int_equal(req(&m_lc, &b), RPC_E_INVALID_DATA);
    lc_body(&b, 5, 2, 4, 2, 2, 3, 3); /* wire size disagrees with cap */
    assert_int_equal(req(&m_lc, &b), RPC_E_INVALID_DATA);
    lc_body(&b, 5, 2, 5, 2, 2, 3, 4); /* struct: wire length disagrees with the field */
    assert_int_equal(req(&m_lc, &b), RPC_E_INVALID_DATA);
    lc_body(&b, 5, 2, 5, 2, 2, 9, 9); /* fixed array of 8 with length 9 */
    assert_int_equal(req(&m_lc, &b), RPC_E_INVALID_DATA);
    lc_body(&b, 5, 0, 5, 0, 0, 0, 0);
    assert_int_equal(req(&m_lc, &b), S_OK);
    /* a huge size with a small length: the allocation is refused, not attempted */
    lc_body(&b, 0x7fffffff, 0, 0x7fffffff, 0, 0, 0, 0);
    assert_int_equal(req(&m_lc, &b), RPC_E_INVALID_DATA);

    /* the sender checks the same: length_is beyond a fixed array or beyond size_is, or negative */
    int32_t a[5] = {1, 2, 3, 4, 5};
    struct f_lc f = {5, 2, a, {3, {7, 8, 9}}};
    struct pcomi_wbuf w = {0};
    assert_int_equal(pcomi_encode_in(&m_lc, &f, &w), S_OK);
    pcomi_wbuf_free(&w);
    f.la.len = 9;
    assert_int_equal(pcomi_encode_in(&m_lc, &f, &w), E_INVALIDARG);
    pcomi_wbuf_free(&w);
    f.la.len = -1;
    assert_int_equal(pcomi_encode_in(&m_lc, &f, &w), E_INVALIDARG);
    pcomi_wbuf_free(&w);
    f.la.len = 3;
    f.len = 6;
    assert_int_equal(pcomi_encode_in(&m_lc, &f, &w), E_INVALIDARG);
    pcomi_wbuf_free(&w);
}

/* [in, string] char *s, [in, unique, string] char *u, [in, string] WCHAR *w */
struct f_str {
    char *s, *u;
    WCHAR *w;
};
static const struct pcom_param p_str[] = {
    MX_PARAM(struct f_str, s, IN, mt_str),
    MX_PARAM(struct f_str, u, IN, mt_ustr),
    MX_PARAM(struct f_str, w, IN, mt_wstr),
};
static const struct pcom_method m_str = MX_METHOD("StringCheck", struct f_str, p_str);

static void str_body(struct body *b, uint32_t n, const char *s, size_t slen, uint32_t marker, uint32_t wn,
                     const WCHAR *w, size_t wlen)
{
    b->n = 0;
    b_u32(b, n);
    b_put(b, s, slen, 1);
    b_u32(b, marker);
    if (marker == 1) {
        b_u32(b, 2);
        b_put(b, "u", 2, 1);
    }
    b_u32(b, wn);
    for (size_t i = 0; i < wlen; i++)
        b_u16(b, w[i]);
}

static void test_strings_checked(void **state)
{
    (void)state;
    struct body b;
    str_body(&b, 4, "abc", 4, 1, 3, u"xy", 3);
    assert_int_equal(req(&m_str, &b), S_OK);
    str_body(&b, 3, "abc", 3, 1, 3, u"xy", 3); /* not NUL-terminated */
    assert_int_equal(req(&m_str, &b), RPC_E_INVALID_DATA);
    str_body(&b, 4, "ab\0c", 4, 1, 3, u"xy", 3); /* a NUL inside, but not at the end */
    assert_int_equal(req(&m_str, &b), RPC_E_INVALID_DATA);
    str_body(&b, 0, "", 0, 1, 3, u"xy", 3); /* a count of 0 has no terminator */
    assert_int_equal(req(&m_str, &b), RPC_E_INVALID_DATA);
    str_body(&b, 4, "abc", 4, 1, 2, u"xy", 2); /* WCHAR not terminated */
    assert_int_equal(req(&m_str, &b), RPC_E_INVALID_DATA);
    str_body(&b, 4, "abc", 4, 0, 1, u"", 1);
    assert_int_equal(req(&m_str, &b), S_OK);
    str_body(&b, 0xffffffffu, "abc", 4, 0, 1, u"", 1);
    assert_int_equal(req(&m_str, &b), RPC_E_INVALID_DATA);
    str_body(&b, 0x7fffffffu, "abc", 4, 0, 1, u"", 1);
    assert_int_equal(req(&m_str, &b), RPC_E_INVALID_DATA);
    /* markers other than 0 and 1 */
    str_body(&b, 4, "abc", 4, 2, 1, u"", 1);
    assert_int_equal(req(&m_str, &b), RPC_E_INVALID_DATA);
    str_body(&b, 4, "abc", 4, 0xffffffffu, 1, u"", 1);
    assert_int_equal(req(&m_str, &b), RPC_E_INVALID_DATA);
}

/* Markers of unique pointers, from the ptrs fixture's request: [in, unique] long *u is the second word. */
static void test_unique_markers(void **state)
{
    (void)state;
    const struct mx_fixture *fx = &mx_fixtures[5];
    assert_string_equal(fx->name, "ptrs");
    struct bodies bb;
    make_bodies(fx, &bb);
    /* r: 41 | u: marker 1, -42 | un: marker 0 | ... */
    uint32_t w;
    memcpy(&w, bb.req.data + 4, 4);
    assert_int_equal(w, 1);
    memcpy(&w, bb.req.data + 12, 4);
    assert_int_equal(w, 0);
    uint8_t *copy = exact_copy(bb.req.data, bb.req.len);
    const uint32_t bad[] = {2, 3, 0x80000000u, 0xffffffffu};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(copy, bb.req.data, bb.req.len);
        memcpy(copy + 4, &bad[i], 4);
        assert_int_equal(try_request(fx->m, copy, bb.req.len, NULL), RPC_E_INVALID_DATA);
        memcpy(copy, bb.req.data, bb.req.len);
        memcpy(copy + 12, &bad[i], 4);
        assert_int_equal(try_request(fx->m, copy, bb.req.len, NULL), RPC_E_INVALID_DATA);
    }
    free(copy);
    /* the response echoes [in, out, unique] markers: 1, 88 for iou; 0 for iou_null; then o_pt. The
     * pointer the caller passed cannot change, so a marker that disagrees with it is refused. */
    assert_int_equal(bb.resp.len, 20);
    memcpy(&w, bb.resp.data, 4);
    assert_int_equal(w, 1);
    memcpy(&w, bb.resp.data + 8, 4);
    assert_int_equal(w, 0);
    copy = exact_copy(bb.resp.data, bb.resp.len);
    uint32_t zero = 0, one = 1, two = 2;
    memcpy(copy, &zero, 4);
    assert_int_equal(try_response(fx, copy, bb.resp.len, NULL), RPC_E_INVALID_DATA);
    memcpy(copy, &two, 4);
    assert_int_equal(try_response(fx, copy, bb.resp.len, NULL), RPC_E_INVALID_DATA);
    memcpy(copy, bb.resp.data, bb.resp.len);
    memcpy(copy + 8, &one, 4);
    assert_int_equal(try_response(fx, copy, bb.resp.len, NULL), RPC_E_INVALID_DATA);
    free(copy);
    free_bodies(&bb);
}

/* Every [range] place, one value out of range at a time: the client sends it, the server refuses it. */
static void test_ranges(void **state)
{
    (void)state;
    const struct mx_fixture *fx = &mx_fixtures[2];
    assert_string_equal(fx->name, "ranges");
    for (int k = 0; k < 13; k++) {
        void *call = mx_call_new(fx);
        struct c_ranges *c = call;
        switch (k) {
        case 0: c->f.r = 11; break;
        case 1: c->f.r = -11; break;
        case 2: c->f.b = 0; break;
        case 3: c->f.b = 6; break;
        case 4: c->f.s = 301; break;
        case 5: c->f.big = 1001; break;
        case 6: c->f.big = UINT64_MAX; break;
        case 7: c->f.rs.pct = 101; break;
        case 8: c->arr[1] = 11; break; /* an element of a [size_is] array */
        case 9: c->f.r8 = -2; break;
        case 10: c->f.r8 = 101; break;
        case 11: c->f.r16 = 1001; break;
        case 12: c->f.r32 = 4; break;
        }
        struct pcomi_wbuf w = {0};
        assert_int_equal(pcomi_encode_in(fx->m, call, &w), S_OK);
        HRESULT hr = try_request(fx->m, w.data, w.len, NULL);
        if (hr != RPC_E_INVALID_DATA)
            fail_msg("range case %d accepted (0x%08x)", k, (unsigned)hr);
        pcomi_wbuf_free(&w);
        mx_call_free(fx, call);
    }
    /* [out] range: the response carries 6 for [range(-5, 5)] */
    int64_t six = 6;
    assert_int_equal(try_response(fx, (const uint8_t *)&six, 8, NULL), RPC_E_INVALID_DATA);
    int64_t five = -5;
    assert_int_equal(try_response(fx, (const uint8_t *)&five, 8, NULL), S_OK);
}

/* Discriminants: no arm, and disagreeing with switch_is. */
static void test_union_discriminants(void **state)
{
    (void)state;
    const struct mx_fixture *fx = &mx_fixtures[10];
    assert_string_equal(fx->name, "unions");
    struct pcomi_wbuf w = {0};
    void *call = mx_call_new(fx);
    struct c_unions *c = call;
    /* the client will not send a discriminant without an arm */
    c->f.k2 = 3;
    assert_int_equal(pcomi_encode_in(fx->m, call, &w), E_INVALIDARG);
    pcomi_wbuf_free(&w);
    /* arm 1 of union w: then change the wire discriminant to 3 (no arm) or to 2 (disagrees with k2) */
    c->f.k2 = 1;
    c->w.i = 5;
    assert_int_equal(pcomi_encode_in(fx->m, call, &w), S_OK);
    assert_int_equal(try_request(fx->m, w.data, w.len, NULL), S_OK);
    /* find the word pair k2 = 1, disc = 1, 5 */
    size_t at = SIZE_MAX;
    for (size_t off = 0; off + 12 <= w.len; off += 4) {
        uint32_t v[3];
        memcpy(v, w.data + off, 12);
        if (v[0] == 1 && v[1] == 1 && v[2] == 5)
            at = off + 4;
    }
    assert_true(at != SIZE_MAX);
    uint8_t *copy = exact_copy(w.data, w.len);
    uint32_t three = 3, two = 2;
    memcpy(copy + at, &three, 4);
    assert_int_equal(try_request(fx->m, copy, w.len, NULL), RPC_E_INVALID_DATA);
    memcpy(copy + at, &two, 4); /* arm 2 is a string: the 5 becomes its count, and the bytes do not fit */
    assert_int_equal(try_request(fx->m, copy, w.len, NULL), RPC_E_INVALID_DATA);
    /* k2 itself changed to 2 while the union says 1 */
    memcpy(copy, w.data, w.len);
    memcpy(copy + at - 4, &two, 4);
    assert_int_equal(try_request(fx->m, copy, w.len, NULL), RPC_E_INVALID_DATA);
    free(copy);
    pcomi_wbuf_free(&w);
    mx_call_free(fx, call);

    /* [out, switch_is(k1)]: a response whose union says 1 while the caller's k1 is 4 */
    struct bodies bb;
    make_bodies(fx, &bb);
    copy = exact_copy(bb.resp.data, bb.resp.len);
    uint32_t disc;
    memcpy(&disc, copy, 4);
    assert_int_equal(disc, 4);
    uint32_t one = 1;
    memcpy(copy, &one, 4);
    assert_true(FAILED(try_response(fx, copy, bb.resp.len, NULL)));
    free(copy);
    free_bodies(&bb);
}

/* A conformant struct whose wire count disagrees with its own size_is field. */
static void test_conformant_count(void **state)
{
    (void)state;
    const struct mx_fixture *fx = &mx_fixtures[11];
    assert_string_equal(fx->name, "conf");
    struct bodies bb;
    make_bodies(fx, &bb);
    /* the request starts with in: count 3, n 3, tag, items */
    uint32_t w[2];
    memcpy(w, bb.req.data, 8);
    assert_int_equal(w[0], 3);
    assert_int_equal(w[1], 3);
    uint8_t *copy = exact_copy(bb.req.data, bb.req.len);
    uint32_t v = 2;
    memcpy(copy + 4, &v, 4); /* n = 2, three items */
    assert_int_equal(try_request(fx->m, copy, bb.req.len, NULL), RPC_E_INVALID_DATA);
    memcpy(copy, bb.req.data, bb.req.len);
    v = 4;
    memcpy(copy + 4, &v, 4); /* n = 4, three items */
    assert_int_equal(try_request(fx->m, copy, bb.req.len, NULL), RPC_E_INVALID_DATA);
    free(copy);
    free_bodies(&bb);
}

/* A list nested deeper than the limit: refused by the server and by the client, nothing left over. */
static void list_body(struct body *b, int nodes)
{
    b->n = 0;
    for (int i = 0; i < nodes; i++) {
        b_u32(b, 1);
        b_u32(b, (uint32_t)i);
    }
    b_u32(b, 0);
}

static void test_depth_limit(void **state)
{
    (void)state;
    const struct mx_fixture *fx = &mx_fixtures[13];
    assert_string_equal(fx->name, "list");
    const struct pcomi_limits lim = {0, 64, NULL};
    struct body b;
    list_body(&b, 100);
    assert_int_equal(try_request(fx->m, b.b, b.n, &lim), RPC_E_INVALID_DATA);
    assert_int_equal(try_request(fx->m, b.b, b.n, NULL), RPC_E_INVALID_DATA);
    list_body(&b, 20);
    assert_int_equal(try_request(fx->m, b.b, b.n, &lim), S_OK);
    const struct pcomi_limits tight = {0, 10, NULL};
    assert_int_equal(try_request(fx->m, b.b, b.n, &tight), RPC_E_INVALID_DATA);
    /* the response: [out] struct node **, then the count */
    list_body(&b, 100);
    b_u32(&b, 100);
    assert_int_equal(try_response(fx, b.b, b.n, &lim), RPC_E_INVALID_DATA);
    list_body(&b, 20);
    b_u32(&b, 20);
    assert_int_equal(try_response(fx, b.b, b.n, &lim), S_OK);

    /* what the decoder accepts the encoder can send: a list of 60 nodes under the limit of 64 */
    struct node nodes[60];
    for (int i = 0; i < 60; i++) {
        nodes[i].v = i;
        nodes[i].next = i + 1 < 60 ? &nodes[i + 1] : NULL;
    }
    struct f_list f = {nodes, NULL, NULL};
    struct pcomi_wbuf w = {0};
    assert_int_equal(pcomi_encode_in(fx->m, &f, &w), S_OK);
    list_body(&b, 60);
    assert_int_equal(w.len, b.n);
    assert_memory_equal(w.data, b.b, b.n);
    assert_int_equal(try_request(fx->m, w.data, w.len, &lim), S_OK);
    pcomi_wbuf_free(&w);
    /* and refuses what it would not accept */
    struct node deep[100];
    for (int i = 0; i < 100; i++) {
        deep[i].v = i;
        deep[i].next = i + 1 < 100 ? &deep[i + 1] : NULL;
    }
    f.head = deep;
    assert_true(FAILED(pcomi_encode_in(fx->m, &f, &w)));
    pcomi_wbuf_free(&w);
}

/* 4. client side: NULL [ref] pointers fail with E_POINTER before anything is encoded */
static void test_null_ref(void **state)
{
    (void)state;
    const struct mx_fixture *ptrs = &mx_fixtures[5], *strings = &mx_fixtures[9], *structs = &mx_fixtures[3];
    struct pcomi_wbuf w = {0};

    struct c_ptrs *p = mx_call_new(ptrs);
    p->f.r = NULL; /* [in, ref] */
    assert_int_equal(pcomi_check_ref_params(ptrs->m, p), E_POINTER);
    assert_int_equal(pcomi_encode_in(ptrs->m, p, &w), E_POINTER);
    pcomi_wbuf_free(&w);
    p->f.r = &p->r;
    p->f.o_pt = NULL; /* [out] */
    assert_int_equal(pcomi_check_ref_params(ptrs->m, p), E_POINTER);
    p->f.o_pt = &p->o_pt;
    p->f.u = NULL; /* [unique]: fine */
    p->f.iou = NULL;
    assert_int_equal(pcomi_check_ref_params(ptrs->m, p), S_OK);
    mx_call_free(ptrs, p);

    struct c_strings *s = mx_call_new(strings);
    s->f.s = NULL; /* [in, string] */
    assert_int_equal(pcomi_check_ref_params(strings->m, s), E_POINTER);
    s->f.s = "x";
    s->f.os = NULL; /* [out, string] char ** */
    assert_int_equal(pcomi_check_ref_params(strings->m, s), E_POINTER);
    s->f.os = &s->os;
    assert_int_equal(pcomi_check_ref_params(strings->m, s), S_OK);
    mx_call_free(strings, s);

    /* an embedded [ref] pointer is caught while encoding */
    struct c_structs *st = mx_call_new(structs);
    st->person.name = NULL;
    assert_int_equal(pcomi_check_ref_params(structs->m, st), S_OK);
    assert_int_equal(pcomi_encode_in(structs->m, st, &w), E_POINTER);
    pcomi_wbuf_free(&w);
    mx_call_free(structs, st);

    /* decode_out into a NULL [out] pointer */
    struct bodies bb;
    make_bodies(ptrs, &bb);
    p = mx_call_new(ptrs);
    p->f.o_pt = NULL;
    assert_int_equal(pcomi_decode_out(ptrs->m, bb.resp.data, bb.resp.len, p, NULL), E_POINTER);
    mx_call_free(ptrs, p);
    free_bodies(&bb);
}

/* 4. a failed response leaves every [out] T ** NULL, even where the caller left garbage, and frees all */
static void test_failed_response(void **state)
{
    (void)state;
    const struct mx_fixture *fx = &mx_fixtures[8];
    assert_string_equal(fx->name, "outalloc");
    long live = pcom_alloc_live_blocks();
    struct bodies bb;
    make_bodies(fx, &bb);
    for (size_t n = 0; n < bb.resp.len; n += 3) {
        uint8_t *copy = exact_copy(bb.resp.data, n);
        struct c_outalloc *c = mx_call_new(fx);
        void *garbage = (void *)(uintptr_t)0x1234;
        c->pp = garbage;
        c->pl = garbage;
        c->os = garbage;
        c->ow = garbage;
        c->pperson = garbage;
        c->pm = garbage;
        c->people = garbage;
        c->tags = garbage;
        c->names = garbage;
        assert_int_equal(pcomi_decode_out(fx->m, copy, n, c, NULL), RPC_E_INVALID_DATA);
        assert_null(c->people);
        assert_null(c->tags);
        assert_null(c->names);
        assert_null(c->pp);
        assert_null(c->pl);
        assert_null(c->os);
        assert_null(c->ow);
        assert_null(c->pperson);
        assert_null(c->pm);
        mx_call_free(fx, c);
        free(copy);
        assert_int_equal(pcom_alloc_live_blocks(), live);
    }
    /* the caller's [in, out] data is released too: nothing of it can leak */
    const struct mx_fixture *io = &mx_fixtures[12];
    assert_string_equal(io->name, "inout");
    struct bodies bi;
    make_bodies(io, &bi);
    for (size_t n = 0; n < bi.resp.len; n++) {
        uint8_t *copy = exact_copy(bi.resp.data, n);
        struct c_inout *c = mx_call_new(io);
        assert_int_equal(pcomi_decode_out(io->m, copy, n, c, NULL), RPC_E_INVALID_DATA);
        assert_null(c->ppt);
        assert_null(c->ppt_null);
        mx_call_free(io, c);
        free(copy);
        assert_int_equal(pcom_alloc_live_blocks(), live);
    }
    free_bodies(&bi);
    free_bodies(&bb);
}

/* 4. pcomi_clear_out after a failed call: every [out]-only target is cleared, pointers to NULL */
static void test_clear_out(void **state)
{
    (void)state;
    const struct mx_fixture *fx = &mx_fixtures[8];
    struct c_outalloc *c = mx_call_new(fx);
    void *garbage = (void *)(uintptr_t)0x5678;
    c->pc = 7;
    c->pp = garbage;
    c->pl = garbage;
    c->os = garbage;
    c->ow = garbage;
    c->pperson = garbage;
    c->pm = garbage;
    c->people = garbage;
    c->tags = garbage;
    c->names = garbage;
    pcomi_clear_out(fx->m, c);
    assert_null(c->people);
    assert_null(c->tags);
    assert_null(c->names);
    assert_int_equal(c->pc, 0); /* a scalar [out] too: nothing stale looks like a result */
    assert_null(c->pp);
    assert_null(c->pl);
    assert_null(c->os);
    assert_null(c->ow);
    assert_null(c->pperson);
    assert_null(c->pm);
    mx_call_free(fx, c);

    /* [in, out] pointers hold the caller's data: left alone */
    const struct mx_fixture *st = &mx_fixtures[9];
    struct c_strings *s = mx_call_new(st);
    char *ios = s->ios;
    s->os = garbage;
    pcomi_clear_out(st->m, s);
    assert_null(s->os);
    assert_ptr_equal(s->ios, ios);
    mx_call_free(st, s);
}

/* 3. the [out] array the caller provides holds what its size_is said when the call was made: a response
 * that changes the [in, out] count and carries more elements must not write past the caller's buffer. */
struct f_grow {
    int32_t *pcount; /* [in, out] */
    int32_t *arr;    /* [out, size_is(*pcount)] */
    struct cs *io;   /* [in, out] conformant */
};
MX_EXPR_DEREF(grow_count, struct f_grow, pcount)
static const struct pcom_type t_grow_arr = MX_PTR(&mt_i32, 0, grow_count, NULL);
static const struct pcom_param p_grow[] = {
    MX_PARAM(struct f_grow, pcount, INOUT, mt_pi32),
    MX_PARAM(struct f_grow, arr, OUT, t_grow_arr),
    MX_PARAM(struct f_grow, io, INOUT, mt_rcs),
};
static const struct pcom_method m_grow = MX_METHOD("Grow", struct f_grow, p_grow);

static void test_out_capacity(void **state)
{
    (void)state;
    long live = pcom_alloc_live_blocks();
    int32_t count = 2;
    int32_t *arr = malloc(2 * sizeof(int32_t));
    struct cs *io = mx_cs_new(malloc, 2, 0, 0);
    struct f_grow f = {&count, arr, io};
    struct body b;

    /* the object shrinks the count: fine */
    b.n = 0;
    b_u32(&b, 1);
    b_u32(&b, 1);
    b_u32(&b, 42);
    b_u32(&b, 2);
    b_u32(&b, 2);
    b_u16(&b, 7);
    b_u32(&b, 8);
    b_u32(&b, 9);
    assert_int_equal(pcomi_decode_out(&m_grow, b.b, b.n, &f, NULL), S_OK);
    assert_int_equal(count, 1);
    assert_int_equal(arr[0], 42);
    assert_int_equal(io->items[1], 9);

    /* the response says 8 and carries 8 while the caller's buffer holds 1 (count is 1 now) */
    b.n = 0;
    b_u32(&b, 8);
    b_u32(&b, 8);
    for (int i = 0; i < 8; i++)
        b_u32(&b, 0xdead0000u + (uint32_t)i);
    b_u32(&b, 2);
    b_u32(&b, 2);
    b_u16(&b, 7);
    b_u32(&b, 8);
    b_u32(&b, 9);
    assert_int_equal(pcomi_decode_out(&m_grow, b.b, b.n, &f, NULL), RPC_E_INVALID_DATA);

    /* a conformant [in, out] struct that grows past the caller's block */
    count = 1;
    io->n = 2;
    b.n = 0;
    b_u32(&b, 1);
    b_u32(&b, 1);
    b_u32(&b, 42);
    b_u32(&b, 6);
    b_u32(&b, 6);
    b_u16(&b, 7);
    for (int i = 0; i < 6; i++)
        b_u32(&b, (uint32_t)i);
    assert_int_equal(pcomi_decode_out(&m_grow, b.b, b.n, &f, NULL), RPC_E_INVALID_DATA);

    free(arr);
    free(io);
    assert_int_equal(pcom_alloc_live_blocks(), live);
}

/* [in] long n, [out, size_is(n)] long *out: the server allocates storage the request only names */
struct f_ob {
    int32_t n;
    int32_t *out;
};
MX_EXPR_FIELD(ob_n, struct f_ob, n)
static const struct pcom_type t_ob_out = MX_PTR(&mt_i32, 0, ob_n, NULL);
static const struct pcom_param p_ob[] = {
    MX_PARAM(struct f_ob, n, IN, mt_i32),
    MX_PARAM(struct f_ob, out, OUT, t_ob_out),
};
static const struct pcom_method m_ob = MX_METHOD("OutBudget", struct f_ob, p_ob);

/* What a body makes the receiver allocate is bounded by the budget it implies (marshal.c: 4 times its
 * length and 64 KiB), checked before allocating; [out] storage the request only names by what one
 * response can carry (max_message). */
static void test_budget(void **state)
{
    (void)state;
    const struct pcomi_limits small = {65536, 64, NULL};
    const uint32_t fits = 16384, over = 16385, big = 1u << 20, huge = 0x7fffffff, neg = 0xffffffff;
    const uint32_t over_default = PCOMI_DEFAULT_MAX_MESSAGE / 4 + 1;
    assert_int_equal(try_request(&m_ob, (const uint8_t *)&fits, 4, &small), S_OK);
    assert_int_equal(try_request(&m_ob, (const uint8_t *)&over, 4, &small), RPC_E_INVALID_DATA);
    assert_int_equal(try_request(&m_ob, (const uint8_t *)&big, 4, &small), RPC_E_INVALID_DATA);
    assert_int_equal(try_request(&m_ob, (const uint8_t *)&big, 4, NULL), S_OK); /* a 4 MiB [out] buffer */
    assert_int_equal(try_request(&m_ob, (const uint8_t *)&over_default, 4, NULL), RPC_E_INVALID_DATA);
    assert_int_equal(try_request(&m_ob, (const uint8_t *)&huge, 4, NULL), RPC_E_INVALID_DATA);
    assert_int_equal(try_request(&m_ob, (const uint8_t *)&neg, 4, NULL), RPC_E_INVALID_DATA);
    /* [in] cap, len, [size_is(cap), length_is(len)]: 16M elements announced by a 24-byte body */
    struct body b;
    lc_body(&b, 1u << 24, 0, 1u << 24, 0, 0, 0, 0);
    assert_int_equal(req(&m_lc, &b), RPC_E_INVALID_DATA);
    lc_body(&b, 1000, 0, 1000, 0, 0, 0, 0); /* 4000 bytes: within the budget */
    assert_int_equal(req(&m_lc, &b), S_OK);
}

/* ---- main ---- */

/* test_marshal --write-seeds DIR: the valid bodies, each after the byte that selects its method, as seed
 * inputs for fuzz_marshal (tests/fuzz/findings_marshal/seed_*). */
static int write_seeds(const char *dir)
{
    for (size_t i = 0; i < MX_NFIXTURES; i++) {
        struct pcomi_wbuf req = {0}, resp = {0};
        if (FAILED(mx_bodies(&mx_fixtures[i], &req, &resp)))
            return 1;
        for (int k = 0; k < 2; k++) {
            const struct pcomi_wbuf *w = k ? &resp : &req;
            char path[4096];
            snprintf(path, sizeof(path), "%s/seed_%s_%s", dir, mx_fixtures[i].name, k ? "resp" : "req");
            FILE *f = fopen(path, "wb");
            uint8_t sel = (uint8_t)i;
            if (!f || fwrite(&sel, 1, 1, f) != 1 || (w->len && fwrite(w->data, 1, w->len, f) != w->len)) {
                perror(path);
                return 1;
            }
            fclose(f);
        }
        pcomi_wbuf_free(&req);
        pcomi_wbuf_free(&resp);
    }
    return 0;
}

#define MAX_TESTS 128

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
        return write_seeds(argv[2]);
    static struct CMUnitTest tests[MAX_TESTS];
    static char names[MAX_TESTS][64];
    size_t n = 0;
    static const struct {
        const char *kind;
        CMUnitTestFunction fn;
    } sweeps[] = {
        {"roundtrip", test_roundtrip},
        {"truncate", test_truncate},
        {"corrupt", test_corrupt},
        {"bitflip", test_bitflip},
        {"stream_breaks", test_stream_breaks},
        {"stream_announced", test_stream_announced},
    };
    for (size_t s = 0; s < sizeof(sweeps) / sizeof(sweeps[0]); s++)
        for (size_t i = 0; i < MX_NFIXTURES; i++) {
            snprintf(names[n], sizeof(names[n]), "%s_%s", sweeps[s].kind, mx_fixtures[i].name);
            tests[n] = (struct CMUnitTest){names[n], sweeps[s].fn, NULL, NULL, (void *)&mx_fixtures[i]};
            n++;
        }
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_size_is_mismatch),
        cmocka_unit_test(test_length_is),
        cmocka_unit_test(test_strings_checked),
        cmocka_unit_test(test_unique_markers),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_union_discriminants),
        cmocka_unit_test(test_conformant_count),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_null_ref),
        cmocka_unit_test(test_failed_response),
        cmocka_unit_test(test_clear_out),
        cmocka_unit_test(test_out_capacity),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_stream_large_allocated),
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        tests[n++] = fixed[i];
    return _cmocka_run_group_tests("marshal", tests, n, NULL, NULL);
}
