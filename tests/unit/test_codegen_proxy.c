/* test_codegen_proxy.c: the proxy/stub tables pcomidl generates (codegen/proxy.c).
 *
 * test_proxy.idl's foo_p.c is compiled into this file, over a fake runtime that records what the generated
 * code hands it: the registered tables must describe the C types exactly (sizes, offsets, kinds, flags),
 * the size_is/length_is/switch_is/iid_is functions must compute from a filled frame and refuse NULL and
 * negative values, the server thunks must call the right vtable slot with the frame's arguments, and the
 * proxy's slots must pack the caller's arguments into a frame for the right slot. Then the generator itself
 * runs in process over small IDL texts, for what a compiled file cannot show (refusals, names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codegen.h"
#include "idl_harness.h"

#include "test_proxy_i.c"
#include "test_proxy_p.c"

/* ---- the fake runtime ---- */

static const struct pcom_interface_info *registered[16];
static int nregistered;

HRESULT pcom_register_interface(const struct pcom_interface_info *info)
{
    if (nregistered < 16)
        registered[nregistered++] = info;
    return S_OK;
}

const struct pcom_interface_info *pcom_find_interface(const IID *iid)
{
    for (int i = 0; i < nregistered; i++)
        if (memcmp(registered[i]->iid, iid, sizeof(*iid)) == 0)
            return registered[i];
    return NULL;
}

static struct {
    int calls;
    void *proxy;
    const struct pcom_interface_info *info;
    uint16_t method;
    void *frame;
    char frame_copy[256];
} last_call;

HRESULT pcom_proxy_invoke(void *proxy, const struct pcom_interface_info *info, uint16_t method, void *frame)
{
    last_call.calls++;
    last_call.proxy = proxy;
    last_call.info = info;
    last_call.method = method;
    last_call.frame = frame;
    assert_true(info->methods[method].frame_size <= sizeof(last_call.frame_copy));
    memcpy(last_call.frame_copy, frame, info->methods[method].frame_size); /* the frame dies with the call */
    return S_FALSE;
}

static int unknown_calls[3];

HRESULT STDMETHODCALLTYPE pcom_proxy_query_interface(void *proxy, REFIID riid, void **ppv)
{
    (void)riid;
    unknown_calls[0]++;
    *ppv = proxy;
    return S_OK;
}

ULONG STDMETHODCALLTYPE pcom_proxy_add_ref(void *proxy)
{
    (void)proxy;
    return (ULONG)++unknown_calls[1];
}

ULONG STDMETHODCALLTYPE pcom_proxy_release(void *proxy)
{
    (void)proxy;
    return (ULONG)++unknown_calls[2];
}

/* The application's halves of the [call_as] pair Read/RemoteRead. */
static int read_proxy_calls, read_stub_calls;

HRESULT STDMETHODCALLTYPE ITpTest_Read_Proxy(ITpTest *This, void *pv, uint32_t cb)
{
    read_proxy_calls++;
    return ITpTest_RemoteRead_Proxy(This, (byte *)pv, cb);
}

HRESULT __RPC_STUB ITpTest_Read_Stub(ITpTest *This, byte *pv, uint32_t cb)
{
    (void)This;
    read_stub_calls++;
    memset(pv, 0x5a, cb);
    return S_OK;
}

/* A vtable slot's index, from the header's layout. */
#define SLOT(member) ((uint16_t)(offsetof(ITpTestVtbl, member) / sizeof(void (*)(void))))

static const struct pcom_method *method_of(const struct pcom_interface_info *info, uint16_t slot)
{
    assert_true(slot < info->nmethods);
    return &info->methods[slot];
}

static const struct pcom_param *param_named(const struct pcom_method *m, const char *name)
{
    for (uint16_t i = 0; i < m->nparams; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return &m->params[i];
    fail_msg("no parameter %s in %s", name, m->name);
    return NULL;
}

/* ---- registration and the tables' shape ---- */

static void constructor_registers_every_remotable_interface(void **state)
{
    (void)state;
    /* ITpLocal is [local]: no tables */
    assert_int_equal(nregistered, 3);
    assert_ptr_equal(registered[0], &ITpBase_ProxyInfo);
    assert_ptr_equal(registered[1], &ITpTest_ProxyInfo);
    assert_ptr_equal(registered[2], &ITpSink_ProxyInfo);
    assert_ptr_equal(test_proxy_ProxyFileInfo[0], &ITpBase_ProxyInfo);
    assert_ptr_equal(test_proxy_ProxyFileInfo[2], &ITpSink_ProxyInfo);
    assert_null(test_proxy_ProxyFileInfo[3]);
    for (int i = 0; i < nregistered; i++) {
        assert_int_equal(registered[i]->magic, PCOM_INTERFACE_INFO_MAGIC);
        assert_int_equal(registered[i]->version, PCOM_STUB_ABI_VERSION);
    }
}

static void info_names_iid_and_slots(void **state)
{
    (void)state;
    const struct pcom_interface_info *t = &ITpTest_ProxyInfo;
    assert_ptr_equal(t->iid, &IID_ITpTest);
    assert_string_equal(t->name, "ITpTest");
    /* every slot of the vtable, the inherited ones included */
    assert_int_equal(t->nmethods, sizeof(ITpTestVtbl) / sizeof(void (*)(void)));
    assert_int_equal(ITpBase_ProxyInfo.nmethods, 5);
    assert_ptr_equal(t->proxy_vtbl, &ITpTest_proxy_vtbl);
    for (int i = 0; i < 3; i++) {
        assert_null(t->methods[i].invoke); /* IUnknown's are the runtime's */
        assert_int_equal(t->methods[i].nparams, 0);
    }
    assert_string_equal(t->methods[0].name, "QueryInterface");
    assert_string_equal(method_of(t, SLOT(Add))->name, "Add");
    assert_string_equal(method_of(t, SLOT(Sized))->name, "Sized");
}

static void frames_are_the_c_structs(void **state)
{
    (void)state;
    const struct pcom_method *m = method_of(&ITpTest_ProxyInfo, SLOT(Sized));
    assert_int_equal(m->frame_size, sizeof(struct ITpTest_Sized_frame));
    assert_int_equal(m->frame_align, _Alignof(struct ITpTest_Sized_frame));
    assert_int_equal(m->nparams, 3);
    assert_int_equal(param_named(m, "n")->offset, offsetof(struct ITpTest_Sized_frame, n));
    assert_int_equal(param_named(m, "v")->offset, offsetof(struct ITpTest_Sized_frame, v));
    assert_int_equal(param_named(m, "sum")->offset, offsetof(struct ITpTest_Sized_frame, sum));
    assert_int_equal(param_named(m, "n")->flags, PCOM_PF_IN);
    assert_int_equal(param_named(m, "sum")->flags, PCOM_PF_OUT);
    /* a method without parameters still has a frame, of one unused byte */
    const struct pcom_method *ping = method_of(&ITpTest_ProxyInfo, SLOT(Ping));
    assert_int_equal(ping->frame_size, 1);
    assert_null(ping->params);
    assert_non_null(ping->invoke);
    /* [in, out] and [retval] */
    const struct pcom_method *add = method_of(&ITpTest_ProxyInfo, SLOT(Add));
    assert_int_equal(param_named(add, "sum")->flags, PCOM_PF_OUT | PCOM_PF_RETVAL);
    const struct pcom_method *var = method_of(&ITpTest_ProxyInfo, SLOT(Varying));
    assert_int_equal(param_named(var, "data")->flags, PCOM_PF_IN | PCOM_PF_OUT);
    /* an array parameter is a pointer in the frame */
    assert_int_equal(sizeof(((struct ITpTest_Matrix_frame *)0)->m), sizeof(void *));
}

static void scalar_and_pointer_descriptors(void **state)
{
    (void)state;
    const struct pcom_method *m = method_of(&ITpTest_ProxyInfo, SLOT(Sized));
    const struct pcom_type *n = param_named(m, "n")->type;
    assert_int_equal(n->kind, PCOM_KIND_U32);
    assert_int_equal(n->size, 4);
    assert_true(n->flags & PCOM_TF_FLAT);
    const struct pcom_type *v = param_named(m, "v")->type;
    assert_int_equal(v->kind, PCOM_KIND_POINTER);
    assert_int_equal(v->flags & PCOM_TF_UNIQUE, 0); /* a top-level pointer is [ref] */
    assert_int_equal(v->size, sizeof(void *));
    assert_int_equal(v->elem->kind, PCOM_KIND_F64);
    assert_non_null(v->size_is);
    assert_null(v->length_is);
    /* the inner level of T ** follows pointer_default(unique) */
    const struct pcom_type *items = param_named(method_of(&ITpTest_ProxyInfo, SLOT(Counted)), "items")->type;
    assert_int_equal(items->flags & PCOM_TF_UNIQUE, 0);
    assert_null(items->size_is);
    assert_int_equal(items->elem->kind, PCOM_KIND_POINTER);
    assert_true(items->elem->flags & PCOM_TF_UNIQUE);
    assert_non_null(items->elem->size_is);
    /* [in, out, unique] T **: unique at the top by attribute */
    const struct pcom_type *list = param_named(method_of(&ITpTest_ProxyInfo, SLOT(Structs)), "list")->type;
    assert_true(list->flags & PCOM_TF_UNIQUE);
    assert_ptr_equal(list->elem->elem, &td_TP_NODE);
}

static void size_is_functions_compute_and_refuse(void **state)
{
    (void)state;
    uint64_t out = 0;
    const struct pcom_type *v = param_named(method_of(&ITpTest_ProxyInfo, SLOT(Sized)), "v")->type;
    struct ITpTest_Sized_frame sized = {3, NULL, NULL};
    assert_true(v->size_is(&sized, &out));
    assert_int_equal(out, 7); /* n * 2 + 1 */

    /* size_is(, *pcount): NULL on the way is a refusal, not a crash */
    const struct pcom_type *items = param_named(method_of(&ITpTest_ProxyInfo, SLOT(Counted)), "items")->type;
    struct ITpTest_Counted_frame counted = {NULL, NULL};
    assert_false(items->elem->size_is(&counted, &out));
    uint32_t five = 5;
    counted.pcount = &five;
    assert_true(items->elem->size_is(&counted, &out));
    assert_int_equal(out, 5);

    /* length_is(*len) */
    const struct pcom_type *data = param_named(method_of(&ITpTest_ProxyInfo, SLOT(Varying)), "data")->type;
    uint32_t len = 2;
    struct ITpTest_Varying_frame varying = {10, NULL, NULL};
    assert_false(data->length_is(&varying, &out));
    varying.len = &len;
    assert_true(data->size_is(&varying, &out));
    assert_int_equal(out, 10);
    assert_true(data->length_is(&varying, &out));
    assert_int_equal(out, 2);

    /* overflow and negative values are refused; max_is is one more than the largest index */
    const struct pcom_method *m = method_of(&ITpTest_ProxyInfo, SLOT(Checked));
    struct ITpTest_Checked_frame checked = {INT64_C(1) << 40, NULL, -1, NULL, NULL};
    assert_false(param_named(m, "p")->type->size_is(&checked, &out));
    assert_false(param_named(m, "q")->type->size_is(&checked, &out));
    assert_true(param_named(m, "r")->type->size_is(&checked, &out));
    assert_int_equal(out, 0);
    checked.big = 3;
    checked.k = 9;
    assert_true(param_named(m, "p")->type->size_is(&checked, &out));
    assert_int_equal(out, 9);
    assert_true(param_named(m, "q")->type->size_is(&checked, &out));
    assert_int_equal(out, 9);
    assert_true(param_named(m, "r")->type->size_is(&checked, &out));
    assert_int_equal(out, 10);
}

static void arrays_strings_and_ranges(void **state)
{
    (void)state;
    /* int32_t m[4][4]: a [ref] pointer to the whole array, flat */
    const struct pcom_type *m = param_named(method_of(&ITpTest_ProxyInfo, SLOT(Matrix)), "m")->type;
    assert_int_equal(m->kind, PCOM_KIND_POINTER);
    assert_int_equal(m->elem->kind, PCOM_KIND_ARRAY);
    assert_int_equal(m->elem->count, 4);
    assert_int_equal(m->elem->size, sizeof(int32_t[4][4]));
    assert_int_equal(m->elem->elem->kind, PCOM_KIND_ARRAY);
    assert_int_equal(m->elem->elem->count, 4);
    assert_true(m->elem->flags & PCOM_TF_FLAT);

    const struct pcom_method *s = method_of(&ITpTest_ProxyInfo, SLOT(Strings));
    assert_int_equal(param_named(s, "s")->type->kind, PCOM_KIND_STRING);
    assert_int_equal(param_named(s, "s")->type->elem->kind, PCOM_KIND_U8); /* IDL char is unsigned */
    assert_int_equal(param_named(s, "s")->type->flags & PCOM_TF_UNIQUE, 0);
    assert_int_equal(param_named(s, "w")->type->elem->kind, PCOM_KIND_U16);
    assert_true(param_named(s, "w")->type->flags & PCOM_TF_UNIQUE);
    assert_int_equal(param_named(s, "out")->type->elem->kind, PCOM_KIND_STRING);

    const struct pcom_method *r = method_of(&ITpTest_ProxyInfo, SLOT(Ranged));
    const struct pcom_type *percent = param_named(r, "percent")->type;
    assert_int_equal(percent->kind, PCOM_KIND_I32);
    assert_true(percent->flags & PCOM_TF_RANGE);
    assert_int_equal(percent->range_min, 0);
    assert_int_equal(percent->range_max, 100);
    assert_false(percent->flags & PCOM_TF_FLAT);
    const struct pcom_type *color = param_named(r, "color")->type;
    assert_int_equal(color->kind, PCOM_KIND_ENUM);
    assert_int_equal(color->size, sizeof(TP_COLOR));

    const struct pcom_method *g = method_of(&ITpTest_ProxyInfo, SLOT(Guid));
    assert_int_equal(param_named(g, "g")->type->elem->kind, PCOM_KIND_GUID);
    assert_int_equal(param_named(g, "out")->type->elem->size, sizeof(GUID));
}

static void structs_are_laid_out_by_the_compiler(void **state)
{
    (void)state;
    const struct pcom_method *m = method_of(&ITpTest_ProxyInfo, SLOT(Structs));
    const struct pcom_type *pt = param_named(m, "pt")->type;
    assert_ptr_equal(pt, &td_TP_POINT); /* one descriptor per struct, shared */
    assert_int_equal(pt->kind, PCOM_KIND_STRUCT);
    assert_int_equal(pt->size, sizeof(TP_POINT));
    assert_int_equal(pt->align, _Alignof(TP_POINT));
    assert_int_equal(pt->count, 2);
    assert_int_equal(pt->fields[1].offset, offsetof(TP_POINT, y));
    assert_true(pt->flags & PCOM_TF_FLAT);

    const struct pcom_type *pad = param_named(m, "pad")->type->elem;
    assert_int_equal(pad->fields[1].offset, offsetof(TP_PADDED, d));
    assert_false(pad->flags & PCOM_TF_FLAT); /* padding after b */

    /* conformant: the trailing array has count 0 and a size_is over the struct */
    const struct pcom_type *vec = param_named(m, "vec")->type->elem;
    const struct pcom_type *data = vec->fields[1].type;
    assert_int_equal(data->kind, PCOM_KIND_ARRAY);
    assert_int_equal(data->count, 0);
    assert_int_equal(vec->fields[1].offset, offsetof(TP_VECTOR, data));
    TP_VECTOR v = {6, {0}};
    uint64_t out;
    assert_true(data->size_is(&v, &out));
    assert_int_equal(out, 6);

    /* recursive: the list node's next points at the node's own descriptor */
    const struct pcom_type *node = &td_TP_NODE;
    assert_int_equal(node->fields[2].offset, offsetof(TP_NODE, next));
    assert_ptr_equal(node->fields[2].type->elem, node);
    assert_true(node->fields[2].type->flags & PCOM_TF_UNIQUE);
    assert_int_equal(node->fields[1].type->kind, PCOM_KIND_STRING);

    /* [string] char name[8]: the array travels up to its NUL; a range; an enum; a nested union */
    const struct pcom_type *named = param_named(m, "named")->type->elem;
    assert_int_equal(named->count, 5);
    const struct pcom_type *name = named->fields[0].type;
    assert_int_equal(name->kind, PCOM_KIND_ARRAY);
    assert_int_equal(name->count, TP_NAME_CCH);
    TP_NAMED n;
    memset(&n, 0, sizeof(n));
    memcpy(n.name, "abc", 4);
    assert_true(name->length_is(&n, &out));
    assert_int_equal(out, 4);
    memset(n.name, 'x', sizeof(n.name));
    assert_false(name->length_is(&n, &out)); /* not terminated */
    assert_true(named->fields[1].type->flags & PCOM_TF_RANGE);
    assert_int_equal(named->fields[1].type->range_min, 1);
    assert_int_equal(named->fields[1].type->range_max, 10);
    assert_int_equal(named->fields[2].type->kind, PCOM_KIND_ENUM);
    assert_int_equal(named->fields[4].offset, offsetof(TP_NAMED, reading));
    assert_int_equal(named->fields[4].type->size, sizeof(n.reading));
}

static void unions_and_their_discriminants(void **state)
{
    (void)state;
    const struct pcom_type *v = param_named(method_of(&ITpTest_ProxyInfo, SLOT(Union)), "v")->type->elem;
    assert_int_equal(v->kind, PCOM_KIND_UNION);
    assert_int_equal(v->size, sizeof(TP_VALUE));
    assert_int_equal(v->count, 4); /* 1, 2, 3, -1: a case of two values is two arms */
    assert_int_equal(v->arms[0].value, 1);
    assert_int_equal(v->arms[0].type->kind, PCOM_KIND_I32);
    assert_int_equal(v->arms[2].value, 3);
    assert_ptr_equal(v->arms[1].type, v->arms[2].type);
    assert_int_equal(v->arms[3].value, -1);
    assert_null(v->arms[3].type); /* an empty arm */
    assert_true(v->union_has_default);
    assert_int_equal(v->default_arm->kind, PCOM_KIND_STRING);
    struct ITpTest_Union_frame f = {-1, NULL};
    uint64_t out;
    assert_true(v->switch_is(&f, &out));
    assert_int_equal((int64_t)out, -1); /* discriminants are sign-extended */

    /* encapsulated: a struct of the discriminant and a union whose switch_is reads it */
    const struct pcom_type *t = param_named(method_of(&ITpTest_ProxyInfo, SLOT(Tagged)), "t")->type->elem;
    assert_int_equal(t->kind, PCOM_KIND_STRUCT);
    assert_int_equal(t->size, sizeof(TP_TAGGED));
    assert_int_equal(t->count, 2);
    assert_int_equal(t->fields[0].offset, offsetof(TP_TAGGED, kind));
    assert_int_equal(t->fields[0].type->kind, PCOM_KIND_I16);
    assert_int_equal(t->fields[1].offset, offsetof(TP_TAGGED, u));
    const struct pcom_type *u = t->fields[1].type;
    assert_int_equal(u->kind, PCOM_KIND_UNION);
    assert_int_equal(u->size, sizeof(((TP_TAGGED *)0)->u));
    assert_ptr_equal(u->arms[1].type, &td_TP_POINT);
    assert_true(u->union_has_default);
    assert_null(u->default_arm);
    TP_TAGGED tagged = {2, {0}};
    assert_true(u->switch_is(&tagged, &out));
    assert_int_equal(out, 2);

    /* a plain char discriminant reads as unsigned, like its U8 descriptor and the 0xe9 case label */
    const struct pcom_type *named = &td_TP_NAMED;
    const struct pcom_type *reading = named->fields[4].type;
    assert_int_equal(reading->arms[1].value, 0xe9);
    TP_NAMED n;
    memset(&n, 0, sizeof(n));
    n.unit = (char)0xe9;
    assert_true(reading->switch_is(&n, &out));
    assert_int_equal(out, 0xe9);
}

static void interface_pointers(void **state)
{
    (void)state;
    const struct pcom_method *m = method_of(&ITpTest_ProxyInfo, SLOT(Objects));
    const struct pcom_type *sink = param_named(m, "sink")->type;
    assert_int_equal(sink->kind, PCOM_KIND_INTERFACE);
    assert_ptr_equal(sink->iid, &IID_ITpSink);
    assert_true(sink->flags & PCOM_TF_UNIQUE); /* an interface pointer may be NULL */
    const struct pcom_type *ppv = param_named(m, "ppv")->type;
    assert_int_equal(ppv->kind, PCOM_KIND_POINTER);
    assert_int_equal(ppv->elem->kind, PCOM_KIND_INTERFACE);
    assert_null(ppv->elem->iid);
    struct ITpTest_Objects_frame f = {NULL, NULL, NULL};
    const IID *iid = NULL;
    assert_false(ppv->elem->iid_is(&f, &iid));
    f.riid = &IID_ITpSink;
    assert_true(ppv->elem->iid_is(&f, &iid));
    assert_ptr_equal(iid, &IID_ITpSink);
}

/* ---- the thunks ---- */

static struct {
    int calls;
    void *This;
    int32_t a, b;
    int32_t *sum;
    int32_t (*m)[4];
} object_saw;

static HRESULT STDMETHODCALLTYPE obj_add(ITpTest *This, int32_t a, int32_t b, int32_t *sum)
{
    object_saw.calls++;
    object_saw.This = This;
    object_saw.a = a;
    object_saw.b = b;
    object_saw.sum = sum;
    *sum = a + b;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE obj_matrix(ITpTest *This, int32_t m[4][4], int32_t *trace)
{
    object_saw.calls++;
    object_saw.This = This;
    object_saw.m = m;
    *trace = m[0][0] + m[1][1] + m[2][2] + m[3][3];
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE obj_ping(ITpTest *This)
{
    object_saw.calls++;
    object_saw.This = This;
    return S_FALSE;
}

static const ITpTestVtbl object_vtbl = {.Ping = obj_ping, .Add = obj_add, .Matrix = obj_matrix};

static void invoke_calls_the_objects_slot_with_the_frame(void **state)
{
    (void)state;
    ITpTest object = {&object_vtbl};
    memset(&object_saw, 0, sizeof(object_saw));
    int32_t sum = 0;
    struct ITpBase_Add_frame add = {2, 3, &sum};
    /* the inherited method, through the derived interface's table */
    assert_int_equal(method_of(&ITpTest_ProxyInfo, SLOT(Add))->invoke(&object, &add), S_OK);
    assert_int_equal(object_saw.calls, 1);
    assert_ptr_equal(object_saw.This, &object);
    assert_int_equal(object_saw.a, 2);
    assert_int_equal(object_saw.b, 3);
    assert_ptr_equal(object_saw.sum, &sum);
    assert_int_equal(sum, 5);

    int32_t matrix[4][4] = {{1}, {0, 2}, {0, 0, 3}, {0, 0, 0, 4}}, trace = 0;
    struct ITpTest_Matrix_frame mf = {matrix, &trace};
    assert_int_equal(method_of(&ITpTest_ProxyInfo, SLOT(Matrix))->invoke(&object, &mf), S_OK);
    assert_ptr_equal(object_saw.m, matrix);
    assert_int_equal(trace, 10);

    char unused = 0;
    assert_int_equal(method_of(&ITpTest_ProxyInfo, SLOT(Ping))->invoke(&object, &unused), S_FALSE);
}

static void proxy_slots_pack_a_frame_for_their_slot(void **state)
{
    (void)state;
    struct {
        const ITpTestVtbl *lpVtbl;
    } proxy = {(const ITpTestVtbl *)ITpTest_ProxyInfo.proxy_vtbl};
    ITpTest *p = (ITpTest *)&proxy;
    memset(&last_call, 0, sizeof(last_call));

    const double v[7] = {0};
    double sum;
    assert_int_equal(ITpTest_Sized(p, 3, v, &sum), S_FALSE);
    assert_int_equal(last_call.calls, 1);
    assert_ptr_equal(last_call.proxy, p);
    assert_ptr_equal(last_call.info, &ITpTest_ProxyInfo);
    assert_int_equal(last_call.method, SLOT(Sized));
    struct ITpTest_Sized_frame sized;
    memcpy(&sized, last_call.frame_copy, sizeof(sized));
    assert_int_equal(sized.n, 3);
    assert_ptr_equal(sized.v, v);
    assert_ptr_equal(sized.sum, &sum);

    /* an inherited slot goes out with the derived interface's tables */
    int32_t s32;
    assert_int_equal(ITpTest_Add(p, 4, 5, &s32), S_FALSE);
    assert_int_equal(last_call.method, SLOT(Add));
    assert_ptr_equal(last_call.info, &ITpTest_ProxyInfo);
    struct ITpBase_Add_frame add;
    memcpy(&add, last_call.frame_copy, sizeof(add));
    assert_int_equal(add.a, 4);
    assert_int_equal(add.b, 5);
    assert_ptr_equal(add.sum, &s32);

    /* IUnknown's slots are the runtime's */
    void *qi = NULL;
    assert_int_equal(ITpTest_QueryInterface(p, &IID_ITpSink, &qi), S_OK);
    assert_ptr_equal(qi, p);
    ITpTest_AddRef(p);
    ITpTest_Release(p);
    assert_int_equal(unknown_calls[0], 1);
    assert_int_equal(unknown_calls[1], 1);
    assert_int_equal(unknown_calls[2], 1);

    /* a [local] method without [call_as] does not leave the process */
    int calls = last_call.calls;
    assert_int_equal(ITpTest_Local(p, NULL), E_NOTIMPL);
    assert_int_equal(last_call.calls, calls);
    assert_null(method_of(&ITpTest_ProxyInfo, SLOT(Local))->invoke);
}

static void call_as_goes_through_the_applications_halves(void **state)
{
    (void)state;
    struct {
        const ITpTestVtbl *lpVtbl;
    } proxy = {(const ITpTestVtbl *)ITpTest_ProxyInfo.proxy_vtbl};
    ITpTest *p = (ITpTest *)&proxy;
    byte buf[4];
    read_proxy_calls = 0;
    memset(&last_call, 0, sizeof(last_call));
    /* the proxy's slot is the application's Read_Proxy, which calls the generated RemoteRead_Proxy */
    assert_int_equal(ITpTest_Read(p, buf, sizeof(buf)), S_FALSE);
    assert_int_equal(read_proxy_calls, 1);
    assert_int_equal(last_call.method, SLOT(Read));
    struct ITpTest_RemoteRead_frame rf;
    memcpy(&rf, last_call.frame_copy, sizeof(rf));
    assert_ptr_equal(rf.pv, buf);
    assert_int_equal(rf.cb, 4);

    /* the table's entry at Read's slot describes RemoteRead; the server calls the application's Read_Stub */
    const struct pcom_method *m = method_of(&ITpTest_ProxyInfo, SLOT(Read));
    assert_int_equal(m->frame_size, sizeof(struct ITpTest_RemoteRead_frame));
    assert_int_equal(param_named(m, "pv")->type->elem->kind, PCOM_KIND_U8);
    ITpTest object = {&object_vtbl};
    read_stub_calls = 0;
    struct ITpTest_RemoteRead_frame frame = {buf, sizeof(buf)};
    assert_int_equal(m->invoke(&object, &frame), S_OK);
    assert_int_equal(read_stub_calls, 1);
    assert_int_equal(buf[3], 0x5a);
}

/* ---- the generator, in process ---- */

/* Generate foo_p.c for IDL text; NULL (and the diagnostics printed) if the IDL has errors. */
static char *generate(struct harness *h, const char *idl)
{
    memset(h, 0, sizeof(*h));
    if (harness_compile(h, idl) != 0) {
        harness_dump(h);
        return NULL;
    }
    struct gen_ctx g = {.c = &h->c, .idl_name = "dir/test.idl", .header_name = "out/test.h"};
    struct sbuf b = {0};
    gen_proxy(&g, &b);
    return b.data;
}

static void refusals_are_explicit(void **state)
{
    (void)state;
    struct harness *h = calloc(1, sizeof(*h));
    char *p = generate(h, "import \"pcom.idl\";\n"
                          "typedef struct W { ULONG n; } W;\n"
                          "typedef [wire_marshal(W)] void *HANDLE_T;\n"
                          "[object, uuid(3c2b1a00-0000-4000-8000-0000000000a1)]\n"
                          "interface IRef : IUnknown {\n"
                          "    ULONG Count(void);\n"
                          "    HRESULT Put([in] HANDLE_T h);\n"
                          "    HRESULT Window([in] ULONG first, [in, first_is(first)] double w[8]);\n"
                          "    void Nothing([in] long x);\n"
                          "}\n");
    assert_non_null(p);
    assert_non_null(strstr(p, "#include \"test.h\""));
    assert_non_null(strstr(p, "/* the proxy: not remoted: Count does not return HRESULT"));
    assert_non_null(strstr(p, "    return (ULONG)0;\n"));
    assert_non_null(strstr(p, "not remoted: 'HANDLE_T' is a [wire_marshal] type"));
    assert_non_null(strstr(p, "not remoted: [first_is] is not marshaled yet"));
    assert_non_null(strstr(p, "    return E_NOTIMPL;\n"));
    assert_non_null(strstr(p, "{\"Count\", 0, 0, 0, NULL, NULL}, /* not remoted"));
    /* nothing of a refused method is left behind: no frame, no descriptor */
    assert_null(strstr(p, "struct IRef_Put_frame"));
    assert_null(strstr(p, "td_IRef_Window"));
    assert_non_null(strstr(p, "const struct pcom_interface_info *const test_ProxyFileInfo[]"));
    free(p);
    harness_free(h);
    free(h);
}

/* A typedef of HRESULT is an HRESULT: such a method is remoted like any other. */
static void hresult_typedefs_are_remoted(void **state)
{
    (void)state;
    struct harness *h = calloc(1, sizeof(*h));
    char *p = generate(h, "import \"pcom.idl\";\n"
                          "typedef HRESULT STATUS;\n"
                          "[object, uuid(3c2b1a00-0000-4000-8000-0000000000a2)]\n"
                          "interface IStat : IUnknown { STATUS Ping([in] long x); }\n");
    assert_non_null(p);
    assert_null(strstr(p, "not remoted"));
    assert_non_null(strstr(p, "struct IStat_Ping_frame"));
    assert_non_null(strstr(p, "IStat_Ping_invoke"));
    free(p);
    harness_free(h);
    free(h);
}

static void generated_names_avoid_the_idls(void **state)
{
    (void)state;
    struct harness *h = calloc(1, sizeof(*h));
    char *p = generate(h, "import \"pcom.idl\";\n"
                          "typedef long td_int32;\n"
                          "[object, uuid(3c2b1a00-0000-4000-8000-0000000000a2)]\n"
                          "interface IName : IUnknown {\n"
                          "    HRESULT Get([out] td_int32 *v);\n"
                          "    HRESULT Get_proxy([in] long x);\n"
                          "}\n");
    assert_non_null(p);
    assert_null(strstr(p, "const struct pcom_type td_int32 ="));
    assert_non_null(strstr(p, "const struct pcom_type td_int32_2 ="));
    /* IName_Get_proxy is the call macro of method Get_proxy: the thunk of Get takes another name */
    assert_non_null(strstr(p, "static HRESULT STDMETHODCALLTYPE IName_Get_proxy_2(IName *This, td_int32 *v)"));
    free(p);
    harness_free(h);
    free(h);
}

static void a_file_without_remotable_interfaces(void **state)
{
    (void)state;
    struct harness *h = calloc(1, sizeof(*h));
    char *p = generate(h, "import \"pcom.idl\";\n"
                          "[object, local, uuid(3c2b1a00-0000-4000-8000-0000000000a3)]\n"
                          "interface ILocalOnly : IUnknown { HRESULT F(void); }\n"
                          "[uuid(3c2b1a00-0000-4000-8000-0000000000a4)] interface rpc_only { void G([in] handle_t h); }\n");
    assert_non_null(p);
    assert_non_null(strstr(p, "defines no remotable interface"));
    assert_non_null(strstr(p, "test_ProxyFileInfo[] = {\n    NULL,\n};"));
    assert_null(strstr(p, "__attribute__((constructor))"));
    assert_null(strstr(p, "ILocalOnly_ProxyInfo"));
    free(p);
    harness_free(h);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(constructor_registers_every_remotable_interface),
        cmocka_unit_test(info_names_iid_and_slots),
        cmocka_unit_test(frames_are_the_c_structs),
        cmocka_unit_test(scalar_and_pointer_descriptors),
        cmocka_unit_test(size_is_functions_compute_and_refuse),
        cmocka_unit_test(arrays_strings_and_ranges),
        cmocka_unit_test(structs_are_laid_out_by_the_compiler),
        cmocka_unit_test(unions_and_their_discriminants),
        cmocka_unit_test(interface_pointers),
        cmocka_unit_test(invoke_calls_the_objects_slot_with_the_frame),
        cmocka_unit_test(proxy_slots_pack_a_frame_for_their_slot),
        cmocka_unit_test(call_as_goes_through_the_applications_halves),
        cmocka_unit_test(refusals_are_explicit),
        cmocka_unit_test(hresult_typedefs_are_remoted),
        cmocka_unit_test(generated_names_avoid_the_idls),
        cmocka_unit_test(a_file_without_remotable_interfaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
