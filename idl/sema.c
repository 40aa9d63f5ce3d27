/* sema.c: the semantic checks MIDL makes, over the whole AST once it is parsed. */
#include "lexer.h"

#include <stdio.h>
#include <string.h>

/* Where an attribute may appear. */
enum {
    A_INTERFACE = 1 << 0,
    A_METHOD = 1 << 1,
    A_PARAM = 1 << 2,
    A_FIELD = 1 << 3,
    A_TYPEDEF = 1 << 4,
    A_COCLASS = 1 << 5,
    A_COCLASS_ITEM = 1 << 6,
    A_LIBRARY = 1 << 7,
    A_MODULE = 1 << 8,
    A_DISPINTERFACE = 1 << 9,
    A_TAG = 1 << 10, /* on a struct, union or enum definition */
    A_ARM = 1 << 11, /* a non-encapsulated union arm */
    A_FUNCTION = 1 << 12,
};
#define A_ANY 0x1fff
#define A_DATA (A_PARAM | A_FIELD | A_TYPEDEF)

/* Attributes as a table, apart from the grammar: where each is allowed and how many arguments it takes. */
static const struct attr_rule {
    const char *name;
    unsigned where;
    int min_args, max_args; /* -1: any; for uuid/version/type/name attributes the parser checks the form */
} attr_rules[] = {
    {"aggregatable", A_COCLASS, 0, 0},
    {"annotation", A_ANY, 1, -1},
    {"appobject", A_COCLASS, 0, 0},
    {"async", A_METHOD, 0, 0},
    {"async_uuid", A_INTERFACE, 0, 0},
    {"auto_handle", A_INTERFACE, 0, 0},
    {"bindable", A_METHOD | A_FIELD, 0, 0},
    {"broadcast", A_METHOD | A_FUNCTION, 0, 0},
    {"byte_count", A_PARAM, 1, 1},
    {"call_as", A_METHOD | A_FUNCTION, 0, 0},
    {"callback", A_FUNCTION, 0, 0},
    {"case", A_ARM, 1, -1},
    {"code", A_INTERFACE | A_METHOD | A_FUNCTION, 0, 0},
    {"comm_status", A_METHOD | A_FUNCTION | A_PARAM, 0, 0},
    {"context_handle", A_TYPEDEF | A_PARAM | A_METHOD | A_FUNCTION, 0, 0},
    {"context_handle_noserialize", A_TYPEDEF | A_PARAM, 0, 0},
    {"context_handle_serialize", A_TYPEDEF | A_PARAM, 0, 0},
    {"control", A_COCLASS | A_LIBRARY, 0, 0},
    {"custom", A_ANY, 1, 1},
    {"decode", A_INTERFACE | A_METHOD | A_TYPEDEF, 0, 0},
    {"default", A_COCLASS_ITEM | A_ARM, 0, 0},
    {"defaultbind", A_METHOD | A_FIELD, 0, 0},
    {"defaultcollelem", A_METHOD | A_FIELD, 0, 0},
    {"defaultvalue", A_PARAM, 1, 1},
    {"defaultvtable", A_COCLASS_ITEM, 0, 0},
    {"disable_consistency_check", A_INTERFACE | A_METHOD, 0, 0},
    {"displaybind", A_METHOD | A_FIELD, 0, 0},
    {"dllname", A_MODULE, 1, 1},
    {"dual", A_INTERFACE, 0, 0},
    {"encode", A_INTERFACE | A_METHOD | A_TYPEDEF, 0, 0},
    {"endpoint", A_INTERFACE, 1, -1},
    {"entry", A_FUNCTION | A_METHOD, 1, 1},
    {"explicit_handle", A_INTERFACE, 0, 0},
    {"fault_status", A_METHOD | A_FUNCTION | A_PARAM, 0, 0},
    {"first_is", A_PARAM | A_FIELD, 1, -1},
    {"force_allocate", A_PARAM, 0, 0},
    {"handle", A_TYPEDEF, 0, 0},
    {"helpcontext", A_ANY, 1, 1},
    {"helpfile", A_LIBRARY | A_MODULE | A_INTERFACE | A_DISPINTERFACE, 1, 1},
    {"helpstring", A_ANY, 1, 1},
    {"helpstringcontext", A_ANY, 1, 1},
    {"helpstringdll", A_LIBRARY, 1, 1},
    {"hidden", A_ANY, 0, 0},
    {"id", A_METHOD | A_FIELD | A_FUNCTION, 1, 1},
    {"idempotent", A_METHOD | A_FUNCTION, 0, 0},
    {"ignore", A_FIELD | A_PARAM, 0, 0},
    {"iid_is", A_PARAM | A_FIELD, 1, 1},
    {"immediatebind", A_METHOD | A_FIELD, 0, 0},
    {"implicit_handle", A_INTERFACE, 1, -1},
    {"in", A_PARAM, 0, 0},
    {"last_is", A_PARAM | A_FIELD, 1, -1},
    {"lcid", A_LIBRARY | A_PARAM, 0, 1},
    {"length_is", A_PARAM | A_FIELD, 1, -1},
    {"licensed", A_COCLASS, 0, 0},
    {"local", A_INTERFACE | A_METHOD | A_FUNCTION | A_TYPEDEF, 0, 0},
    {"max_is", A_PARAM | A_FIELD, 1, -1},
    {"maybe", A_METHOD | A_FUNCTION, 0, 0},
    {"message", A_METHOD | A_FUNCTION, 0, 0},
    {"min_is", A_PARAM | A_FIELD, 1, -1},
    {"ms_union", A_INTERFACE | A_TYPEDEF, 0, 0},
    {"nocode", A_INTERFACE | A_METHOD | A_FUNCTION, 0, 0},
    {"noncreatable", A_COCLASS, 0, 0},
    {"nonbrowsable", A_METHOD | A_FIELD, 0, 0},
    {"nonextensible", A_INTERFACE | A_DISPINTERFACE, 0, 0},
    {"notify", A_METHOD | A_FUNCTION, 0, 0},
    {"object", A_INTERFACE, 0, 0},
    {"odl", A_INTERFACE, 0, 0},
    {"oleautomation", A_INTERFACE, 0, 0},
    {"optional", A_PARAM, 0, 0},
    {"out", A_PARAM, 0, 0},
    {"partial_ignore", A_PARAM, 0, 0},
    {"pointer_default", A_INTERFACE, 0, 0},
    {"progid", A_COCLASS, 1, 1},
    {"propget", A_METHOD | A_FUNCTION, 0, 0},
    {"propput", A_METHOD | A_FUNCTION, 0, 0},
    {"propputref", A_METHOD | A_FUNCTION, 0, 0},
    {"proxy", A_INTERFACE, 0, 0},
    {"ptr", A_DATA | A_METHOD | A_FUNCTION, 0, 0},
    {"public", A_TYPEDEF | A_TAG, 0, 0},
    {"range", A_DATA, 2, 2},
    {"readonly", A_FIELD | A_PARAM | A_METHOD, 0, 0},
    {"ref", A_DATA | A_METHOD | A_FUNCTION, 0, 0},
    {"represent_as", A_TYPEDEF, 1, 1},
    {"requestedit", A_METHOD | A_FIELD, 0, 0},
    {"restricted", A_INTERFACE | A_METHOD | A_FUNCTION | A_COCLASS | A_COCLASS_ITEM | A_LIBRARY |
                       A_DISPINTERFACE | A_MODULE | A_FIELD | A_TYPEDEF, 0, 0},
    {"retval", A_PARAM, 0, 0},
    {"size_is", A_DATA, 1, -1},
    {"source", A_COCLASS_ITEM | A_METHOD | A_FIELD | A_INTERFACE, 0, 0},
    {"strict_context_handle", A_INTERFACE, 0, 0},
    {"string", A_DATA | A_METHOD | A_FUNCTION, 0, 0},
    {"switch_is", A_PARAM | A_FIELD, 1, 1},
    {"switch_type", A_TYPEDEF | A_PARAM | A_FIELD | A_TAG, 0, 0},
    {"threading", A_COCLASS, 1, 1},
    {"transmit_as", A_TYPEDEF, 0, 0},
    {"type_strict_context_handle", A_INTERFACE, 0, 0},
    {"uidefault", A_METHOD | A_FIELD, 0, 0},
    {"unique", A_DATA | A_METHOD | A_FUNCTION, 0, 0},
    {"user_marshal", A_TYPEDEF, 0, 0},
    {"usesgetlasterror", A_METHOD | A_FUNCTION | A_FIELD, 0, 0},
    {"uuid", A_INTERFACE | A_COCLASS | A_LIBRARY | A_DISPINTERFACE | A_MODULE | A_TYPEDEF | A_TAG, 0, 0},
    {"v1_enum", A_TYPEDEF | A_TAG, 0, 0},
    {"vararg", A_METHOD | A_FUNCTION, 0, 0},
    {"version", A_INTERFACE | A_COCLASS | A_LIBRARY | A_DISPINTERFACE | A_MODULE | A_TYPEDEF | A_TAG, 0, 0},
    {"vi_progid", A_COCLASS, 1, 1},
    {"wire_marshal", A_TYPEDEF, 0, 0},
};

static const char *where_name(unsigned where)
{
    /* a declaration that is several things at once is named by its most particular one */
    static const unsigned order[] = {A_ARM, A_TAG, A_PARAM, A_FIELD, A_METHOD, A_FUNCTION, A_TYPEDEF,
                                     A_COCLASS_ITEM, A_INTERFACE, A_DISPINTERFACE, A_COCLASS, A_LIBRARY, A_MODULE};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (where & order[i]) {
            where = order[i];
            break;
        }
    switch (where) {
    case A_INTERFACE: return "an interface";
    case A_METHOD: return "a method";
    case A_PARAM: return "a parameter";
    case A_FIELD: return "a field";
    case A_TYPEDEF: return "a typedef";
    case A_COCLASS: return "a coclass";
    case A_COCLASS_ITEM: return "a coclass member";
    case A_LIBRARY: return "a library";
    case A_MODULE: return "a module";
    case A_DISPINTERFACE: return "a dispinterface";
    case A_TAG: return "a struct, union or enum";
    case A_ARM: return "a union arm";
    case A_FUNCTION: return "a function";
    default: return "this declaration";
    }
}

static void check_attrs(struct idl_compiler *c, struct idl_vec *attrs, unsigned where)
{
    for (size_t i = 0; i < attrs->len; i++) {
        struct idl_attr *a = attrs->items[i];
        const struct attr_rule *rule = NULL;
        for (size_t k = 0; k < sizeof(attr_rules) / sizeof(attr_rules[0]); k++)
            if (strcmp(attr_rules[k].name, a->name) == 0)
                rule = &attr_rules[k];
        if (!rule) {
            idl_error(c, a->loc, "unknown attribute '%s'", a->name);
            continue;
        }
        if (!(rule->where & where)) {
            idl_error(c, a->loc, "attribute '%s' is not valid on %s", a->name, where_name(where));
            continue;
        }
        int n = (int)a->args.len;
        if (n < rule->min_args || (rule->max_args >= 0 && n > rule->max_args)) {
            if (rule->max_args == 0)
                idl_error(c, a->loc, "attribute '%s' takes no arguments", a->name);
            else
                idl_error(c, a->loc, "wrong number of arguments to attribute '%s'", a->name);
        }
        for (size_t k = 0; k < i; k++) {
            struct idl_attr *b = attrs->items[k];
            if (strcmp(a->name, b->name) == 0 && strcmp(a->name, "annotation") != 0 &&
                strcmp(a->name, "custom") != 0) {
                idl_error(c, a->loc, "duplicate attribute '%s'", a->name);
                break;
            }
        }
        if ((!strcmp(a->name, "uuid") || !strcmp(a->name, "async_uuid") || !strcmp(a->name, "custom")) &&
            !a->has_uuid && !a->args.len && !a->bad_args)
            idl_error(c, a->loc, "attribute '%s' needs a uuid", a->name);
        if (!strcmp(a->name, "pointer_default") && a->ident_arg && strcmp(a->ident_arg, "ref") &&
            strcmp(a->ident_arg, "unique") && strcmp(a->ident_arg, "ptr"))
            idl_error(c, a->loc, "pointer_default must be ref, unique or ptr, not '%s'", a->ident_arg);
    }
}

/* ---- uuids: no two declarations may share one ---- */

struct uuid_seen {
    uint8_t uuid[16];
    struct idl_decl *decl;
    struct idl_loc loc;
};

struct sema {
    struct idl_compiler *c;
    struct idl_vec uuids; /* struct uuid_seen * */
};

static void note_uuid(struct sema *s, struct idl_decl *d, unsigned where)
{
    struct idl_attr *a = idl_attr_find(&d->attrs, "uuid");
    if (!a) {
        bool need = where == A_COCLASS || where == A_DISPINTERFACE || where == A_LIBRARY ||
                    (where == A_INTERFACE && !(d->is_local && !d->is_object));
        if (need && !d->imported)
            idl_error(s->c, d->loc, "%s '%s' has no uuid attribute",
                      where == A_COCLASS ? "coclass" : where == A_LIBRARY ? "library"
                      : where == A_DISPINTERFACE ? "dispinterface" : "interface", d->name);
        return;
    }
    if (!a->has_uuid)
        return;
    for (size_t i = 0; i < s->uuids.len; i++) {
        struct uuid_seen *u = s->uuids.items[i];
        if (memcmp(u->uuid, a->uuid, 16) == 0) {
            char buf[37];
            idl_uuid_format(a->uuid, buf);
            idl_error(s->c, a->loc, "uuid %s of '%s' is already used by '%s'", buf, d->name, u->decl->name);
            idl_note(s->c, u->loc, "'%s' is declared here", u->decl->name);
            return;
        }
    }
    struct uuid_seen *u = idl_alloc(s->c->arena, sizeof(*u));
    memcpy(u->uuid, a->uuid, 16);
    u->decl = d;
    u->loc = a->loc;
    idl_vec_push(s->c->arena, &s->uuids, u);
}

/* ---- types ---- */

static void check_type(struct sema *s, struct idl_type *t, int depth);

static void check_array_size(struct sema *s, struct idl_type *t)
{
    if (!t->size)
        return;
    struct idl_value v;
    if (!idl_eval(s->c, t->size, &v))
        return;
    if (v.kind != VAL_INT)
        idl_error(s->c, t->size->loc, "array size is not an integer");
    else if (v.i <= 0)
        idl_error(s->c, t->size->loc, "array size must be positive, not %lld", (long long)v.i);
    else if (v.i > (int64_t)1 << 31)
        idl_error(s->c, t->size->loc, "array size %lld is too large", (long long)v.i);
}

static void check_type(struct sema *s, struct idl_type *t, int depth)
{
    for (; t && depth < IDL_MAX_NESTING; depth++) {
        if (t->kind == TY_ARRAY)
            check_array_size(s, t);
        if (t->kind == TY_FUNCTION) {
            for (size_t i = 0; i < t->params.len; i++)
                check_type(s, ((struct idl_decl *)t->params.items[i])->type, depth + 1);
        }
        if (t->kind == TY_POINTER || t->kind == TY_ARRAY || t->kind == TY_FUNCTION)
            t = t->ref;
        else
            break;
    }
}

/* An interface may be named only through a pointer. */
static void check_not_by_value(struct sema *s, struct idl_type *t, struct idl_loc loc, const char *name)
{
    struct idl_type *r = idl_type_resolve(t);
    while (r && r->kind == TY_ARRAY)
        r = idl_type_resolve(r->ref);
    if (r && r->kind == TY_INTERFACE)
        idl_error(s->c, loc, "'%s' declares interface '%s' by value; interfaces are used through pointers",
                  name ? name : "declaration", r->decl->name);
}

/* ---- expressions over sibling parameters or fields (size_is, length_is, switch_is, iid_is) ---- */

struct scope {
    struct idl_vec *siblings; /* struct idl_decl *: parameters of a method or fields of a struct */
    const char *what;         /* "parameter" or "field" */
};

static struct idl_decl *find_sibling(struct scope *sc, const char *name)
{
    for (size_t i = 0; i < sc->siblings->len; i++) {
        struct idl_decl *d = sc->siblings->items[i];
        if (d->name && strcmp(d->name, name) == 0)
            return d;
    }
    return NULL;
}

static struct idl_type int_type = {.kind = TY_BASE, .base = BT_LONG};

/* Type of an expression over siblings; reports and returns NULL where it has none. */
static struct idl_type *expr_type(struct sema *s, struct scope *sc, struct idl_expr *e, const char *attr, int depth)
{
    if (depth > IDL_MAX_NESTING)
        return NULL;
    switch (e->kind) {
    case EXPR_INT:
    case EXPR_CHAR:
        return &int_type;
    case EXPR_IDENT: {
        struct idl_decl *d = find_sibling(sc, e->text);
        if (d)
            return d->type;
        if (idl_symtab_get(s->c->values, e->text))
            return &int_type;
        idl_error(s->c, e->loc, "%s refers to '%s', which is not a %s or constant", attr, e->text, sc->what);
        return NULL;
    }
    case EXPR_UNARY: {
        struct idl_type *t = expr_type(s, sc, e->a, attr, depth + 1);
        if (!t)
            return NULL;
        if (e->op == '*') {
            struct idl_type *r = idl_type_resolve(t);
            if (!r || r->kind != TY_POINTER) {
                idl_error(s->c, e->loc, "%s dereferences something that is not a pointer", attr);
                return NULL;
            }
            return r->ref;
        }
        if (e->op == '&') {
            idl_error(s->c, e->loc, "%s cannot take an address", attr);
            return NULL;
        }
        return t;
    }
    case EXPR_BINARY: {
        struct idl_type *a = expr_type(s, sc, e->a, attr, depth + 1);
        struct idl_type *b = a ? expr_type(s, sc, e->b, attr, depth + 1) : NULL;
        if (!a || !b)
            return NULL;
        if (!idl_type_is_integral(a) || !idl_type_is_integral(b)) {
            idl_error(s->c, e->loc, "operands of %s expression must be integers", attr);
            return NULL;
        }
        return &int_type;
    }
    case EXPR_COND: {
        if (!expr_type(s, sc, e->a, attr, depth + 1))
            return NULL;
        struct idl_type *b = expr_type(s, sc, e->b, attr, depth + 1);
        return b && expr_type(s, sc, e->c, attr, depth + 1) ? b : NULL;
    }
    case EXPR_CAST:
        return expr_type(s, sc, e->a, attr, depth + 1) ? e->cast_type : NULL;
    case EXPR_MEMBER: {
        struct idl_type *t = expr_type(s, sc, e->a, attr, depth + 1);
        if (!t)
            return NULL;
        struct idl_type *r = idl_type_resolve(t);
        if (e->op == P_ARROW) {
            if (!r || r->kind != TY_POINTER) {
                idl_error(s->c, e->loc, "'->' applied to something that is not a pointer in %s", attr);
                return NULL;
            }
            r = idl_type_resolve(r->ref);
        }
        if (!r || (r->kind != TY_STRUCT && r->kind != TY_UNION) || !r->decl) {
            idl_error(s->c, e->loc, "member '%s' of something that is not a struct in %s", e->text, attr);
            return NULL;
        }
        for (size_t i = 0; i < r->decl->members.len; i++) {
            struct idl_decl *f = r->decl->members.items[i];
            if (f->name && strcmp(f->name, e->text) == 0)
                return f->type;
        }
        idl_error(s->c, e->loc, "'%s' has no member named '%s'", r->decl->name ? r->decl->name : "struct",
                  e->text);
        return NULL;
    }
    default:
        idl_error(s->c, e->loc, "unsupported expression in %s", attr);
        return NULL;
    }
}

static void check_integral_args(struct sema *s, struct scope *sc, struct idl_attr *a)
{
    for (size_t i = 0; i < a->args.len; i++) {
        struct idl_expr *e = a->args.items[i];
        if (e->kind == EXPR_EMPTY)
            continue;
        struct idl_type *t = expr_type(s, sc, e, a->name, 0);
        if (t && !idl_type_is_integral(t)) {
            if (e->kind == EXPR_IDENT)
                idl_error(s->c, e->loc, "%s refers to '%s', which is not an integer", a->name, e->text);
            else
                idl_error(s->c, e->loc, "%s expression is not an integer", a->name);
        }
    }
}

/* Count pointer and array levels, through typedefs. */
static int indirections(struct idl_type *t)
{
    int n = 0;
    for (t = idl_type_resolve(t); t && (t->kind == TY_POINTER || t->kind == TY_ARRAY) && n < 64;
         t = idl_type_resolve(t->ref))
        n++;
    return n;
}

static struct idl_type *innermost(struct idl_type *t)
{
    int guard = 0;
    for (t = idl_type_resolve(t); t && (t->kind == TY_POINTER || t->kind == TY_ARRAY) && guard++ < 64;
         t = idl_type_resolve(t->ref))
        ;
    return t;
}

/* Checks shared by parameters and fields. */
static void check_data(struct sema *s, struct scope *sc, struct idl_decl *d)
{
    struct idl_type *t = d->type;
    const char *name = d->name ? d->name : "(unnamed)";
    check_type(s, t, 0);
    check_not_by_value(s, t, d->loc, name);
    int levels = indirections(t);
    static const char *const sizing[] = {"size_is", "max_is", "min_is", "length_is", "first_is", "last_is"};
    for (size_t k = 0; k < sizeof(sizing) / sizeof(sizing[0]); k++) {
        struct idl_attr *a = idl_attr_find(&d->attrs, sizing[k]);
        if (!a)
            continue;
        if (levels == 0)
            idl_error(s->c, a->loc, "%s on '%s', which is not a pointer or array", a->name, name);
        else if ((int)a->args.len > levels)
            idl_error(s->c, a->loc, "%s has %zu dimensions but '%s' has only %d levels of pointer or array",
                      a->name, a->args.len, name, levels);
        check_integral_args(s, sc, a);
    }
    struct idl_attr *sw = idl_attr_find(&d->attrs, "switch_is");
    if (sw) {
        check_integral_args(s, sc, sw);
        struct idl_type *u = innermost(t);
        if (!u || u->kind != TY_UNION)
            idl_error(s->c, sw->loc, "switch_is on '%s', which is not a union", name);
        else if (u->decl && u->decl->encapsulated)
            idl_error(s->c, sw->loc, "switch_is on '%s', whose union is encapsulated and carries its own "
                                     "discriminant", name);
    }
    struct idl_attr *iid = idl_attr_find(&d->attrs, "iid_is");
    if (iid && iid->args.len == 1) {
        struct idl_expr *e = iid->args.items[0];
        struct idl_type *it = expr_type(s, sc, e, "iid_is", 0);
        if (it) {
            struct idl_type *r = idl_type_resolve(it);
            bool ok = idl_type_is_guid(r) || (r && r->kind == TY_POINTER && idl_type_is_guid(r->ref));
            if (!ok)
                idl_error(s->c, e->loc, "iid_is refers to '%s', which is not an IID",
                          e->kind == EXPR_IDENT ? e->text : "an expression");
        }
        struct idl_type *r = idl_type_resolve(t);
        bool target_ok = r && r->kind == TY_POINTER &&
                         (idl_type_is_interface_ptr(r, NULL) || idl_type_is_void(innermost(r)) ||
                          idl_type_is_interface_ptr(r->ref, NULL));
        if (!target_ok)
            idl_error(s->c, iid->loc, "iid_is on '%s', which is not an interface pointer or void **", name);
    }
    static const char *const ptr_attrs[] = {"unique", "ref", "ptr"};
    int nptr = 0;
    for (size_t k = 0; k < 3; k++) {
        struct idl_attr *a = idl_attr_find(&d->attrs, ptr_attrs[k]);
        if (!a)
            continue;
        nptr++;
        if (!idl_type_is_pointer(t) && d->kind != DECL_TYPEDEF)
            idl_error(s->c, a->loc, "[%s] on '%s', which is not a pointer", a->name, name);
    }
    if (nptr > 1)
        idl_error(s->c, d->loc, "'%s' has more than one of [ref], [unique], [ptr]", name);
    struct idl_attr *str = idl_attr_find(&d->attrs, "string");
    if (str) {
        struct idl_type *r = idl_type_resolve(t);
        struct idl_type *elem = r && (r->kind == TY_POINTER || r->kind == TY_ARRAY) ? r->ref : NULL;
        /* [string] on T** applies to the innermost level */
        while (elem && idl_type_resolve(elem) && idl_type_resolve(elem)->kind == TY_POINTER &&
               !idl_type_is_char(elem))
            elem = idl_type_resolve(elem)->ref;
        if (!elem || !idl_type_is_char(elem))
            idl_error(s->c, str->loc, "[string] on '%s', which is not a pointer or array of char, wchar_t or "
                                      "byte", name);
    }
    struct idl_attr *range = idl_attr_find(&d->attrs, "range");
    if (range && range->args.len == 2) {
        struct idl_value lo, hi;
        if (idl_eval(s->c, range->args.items[0], &lo) && idl_eval(s->c, range->args.items[1], &hi) &&
            lo.kind == VAL_INT && hi.kind == VAL_INT && lo.i > hi.i)
            idl_error(s->c, range->loc, "range minimum %lld is above its maximum %lld", (long long)lo.i,
                      (long long)hi.i);
        if (!idl_type_is_integral(t))
            idl_error(s->c, range->loc, "range on '%s', which is not an integer", name);
    }
}

static void check_fields(struct sema *s, struct idl_decl *owner)
{
    struct scope sc = {&owner->members, "field"};
    for (size_t i = 0; i < owner->members.len; i++) {
        struct idl_decl *f = owner->members.items[i];
        if (f->empty_arm)
            continue;
        check_attrs(s->c, &f->attrs, owner->kind == DECL_UNION && !owner->encapsulated ? A_FIELD | A_ARM
                                                                                         : A_FIELD);
        if (!f->name && idl_type_resolve(f->type) &&
            idl_type_resolve(f->type)->kind != TY_STRUCT && idl_type_resolve(f->type)->kind != TY_UNION)
            idl_error(s->c, f->loc, "field has no name");
        for (size_t k = 0; k < i; k++) {
            struct idl_decl *g = owner->members.items[k];
            if (f->name && g->name && strcmp(f->name, g->name) == 0) {
                idl_error(s->c, f->loc, "duplicate member '%s'", f->name);
                idl_note(s->c, g->loc, "previous declaration of '%s' is here", g->name);
            }
        }
        check_data(s, &sc, f);
        struct idl_type *r = idl_type_resolve(f->type);
        if (r && r->kind == TY_ARRAY && !r->size && owner->kind == DECL_STRUCT && i + 1 != owner->members.len)
            idl_error(s->c, f->loc, "conformant array '%s' must be the last member of the struct", f->name);
        if (r && r->kind == TY_BASE && r->base == BT_VOID)
            idl_error(s->c, f->loc, "field '%s' has type void", f->name ? f->name : "");
    }
}

static void check_union_cases(struct sema *s, struct idl_decl *u)
{
    struct idl_vec seen = {0}; /* struct idl_value * */
    bool has_default = false;
    struct idl_case *last = NULL;
    if (u->encapsulated && u->switch_type && !idl_type_is_integral(u->switch_type))
        idl_error(s->c, u->loc, "union discriminant '%s' must be an integer or enum", u->switch_name);
    for (size_t i = 0; i < u->members.len; i++) {
        struct idl_decl *f = u->members.items[i];
        struct idl_case *arm = f->arm_case;
        if (!arm || arm == last)
            continue;
        last = arm;
        if (arm->is_default) {
            if (has_default)
                idl_error(s->c, arm->loc, "union has more than one default arm");
            has_default = true;
        }
        for (size_t k = 0; k < arm->values.len; k++) {
            struct idl_expr *e = arm->values.items[k];
            struct idl_value *v = idl_alloc(s->c->arena, sizeof(*v));
            if (!idl_eval(s->c, e, v))
                continue;
            if (v->kind != VAL_INT) {
                idl_error(s->c, e->loc, "case label is not an integer");
                continue;
            }
            bool dup = false;
            for (size_t j = 0; j < seen.len && !dup; j++)
                dup = ((struct idl_value *)seen.items[j])->i == v->i;
            if (dup)
                idl_error(s->c, e->loc, "duplicate case value %lld", (long long)v->i);
            else
                idl_vec_push(s->c->arena, &seen, v);
        }
    }
}

static void check_tag(struct sema *s, struct idl_decl *d)
{
    if (d->checked)
        return;
    d->checked = true;
    check_attrs(s->c, &d->attrs, A_TAG | A_TYPEDEF);
    if (d->kind == DECL_ENUM) {
        for (size_t i = 0; i < d->members.len; i++) {
            struct idl_decl *e = d->members.items[i];
            struct idl_value v;
            if (idl_eval_decl_value(s->c, e, &v) && (v.i > INT32_MAX || v.i < INT32_MIN) &&
                !(v.is_unsigned && v.i <= (int64_t)UINT32_MAX))
                idl_error(s->c, e->loc, "enumerator '%s' value %lld does not fit in 32 bits", e->name,
                          (long long)v.i);
        }
        return;
    }
    check_fields(s, d);
    if (d->kind == DECL_UNION)
        check_union_cases(s, d);
}

/* Walk a type and check each struct/union/enum definition it contains. */
static void check_type_defs(struct sema *s, struct idl_type *t)
{
    for (int guard = 0; t && guard < 64; guard++) {
        if ((t->kind == TY_STRUCT || t->kind == TY_UNION || t->kind == TY_ENUM) && t->decl && t->decl->defined) {
            if (t->decl->checked)
                return; /* also ends the walk of a self-referencing struct */
            check_tag(s, t->decl);
            for (size_t i = 0; i < t->decl->members.len; i++)
                check_type_defs(s, ((struct idl_decl *)t->decl->members.items[i])->type);
            return;
        }
        if (t->kind == TY_POINTER || t->kind == TY_ARRAY || t->kind == TY_FUNCTION)
            t = t->ref;
        else
            return;
    }
}

/* ---- interfaces and methods ---- */

static bool contains_function_pointer(struct idl_type *t)
{
    for (int guard = 0; t && guard < 64; guard++) {
        struct idl_type *r = idl_type_resolve(t);
        if (!r)
            return false;
        if (r->kind == TY_FUNCTION)
            return true;
        if (r->kind != TY_POINTER && r->kind != TY_ARRAY)
            return false;
        t = r->ref;
    }
    return false;
}

static void check_method(struct sema *s, struct idl_decl *iface, struct idl_decl *m, bool remotable)
{
    check_attrs(s->c, &m->attrs, m->kind == DECL_METHOD ? A_METHOD : A_FUNCTION);
    check_type(s, m->type, 0);
    check_type_defs(s, m->type);
    bool local = idl_has_attr(&m->attrs, "local");
    remotable = remotable && !local;
    struct scope sc = {&m->members, "parameter"};
    if (remotable && m->kind == DECL_METHOD && !idl_type_is_hresult(m->type) && !idl_has_attr(&m->attrs, "call_as"))
        idl_warning(s->c, m->loc, "remotable method '%s' does not return HRESULT", m->name);
    for (size_t i = 0; i < m->members.len; i++) {
        struct idl_decl *p = m->members.items[i];
        const char *pname = p->name ? p->name : "(unnamed)";
        check_attrs(s->c, &p->attrs, A_PARAM);
        check_type_defs(s, p->type);
        if (!p->name && !idl_type_is_void(p->type))
            idl_error(s->c, p->loc, "parameter %zu of '%s' has no name", i + 1, m->name);
        for (size_t k = 0; k < i; k++) {
            struct idl_decl *q = m->members.items[k];
            if (p->name && q->name && strcmp(p->name, q->name) == 0)
                idl_error(s->c, p->loc, "duplicate parameter '%s'", p->name);
        }
        if (idl_type_is_void(p->type) && !idl_type_is_pointer(p->type))
            idl_error(s->c, p->loc, "parameter '%s' has type void", pname);
        bool out = idl_has_attr(&p->attrs, "out");
        struct idl_attr *retval = idl_attr_find(&p->attrs, "retval");
        struct idl_type *r = idl_type_resolve(p->type);
        if (out && r && r->kind != TY_POINTER && r->kind != TY_ARRAY)
            idl_error(s->c, p->loc, "[out] parameter '%s' is not a pointer", pname);
        if (retval) {
            if (!out)
                idl_error(s->c, retval->loc, "[retval] parameter '%s' must also be [out]", pname);
            if (i + 1 != m->members.len)
                idl_error(s->c, retval->loc, "[retval] parameter '%s' must be the last parameter", pname);
        }
        check_data(s, &sc, p);
        if (remotable) {
            struct idl_decl *target = NULL;
            struct idl_type *it = p->type;
            /* look through one extra level for [out] IFoo ** */
            struct idl_type *ri = idl_type_resolve(it);
            if (ri && ri->kind == TY_POINTER && idl_type_is_interface_ptr(ri->ref, &target)) {
            } else {
                idl_type_is_interface_ptr(it, &target);
            }
            if (target && target->is_local && strcmp(target->name, "IUnknown") != 0)
                idl_error(s->c, p->loc, "parameter '%s' of remotable method '%s' passes [local] interface '%s'",
                          pname, m->name, target->name);
            if (contains_function_pointer(p->type))
                idl_error(s->c, p->loc, "parameter '%s' of remotable method '%s' is a function pointer; "
                                        "function pointers are allowed only in [local] interfaces",
                          pname, m->name);
        }
    }
    struct idl_attr *call_as = idl_attr_find(&m->attrs, "call_as");
    if (call_as && call_as->ident_arg) {
        struct idl_decl *target = NULL;
        for (size_t i = 0; i < iface->members.len; i++) {
            struct idl_decl *o = iface->members.items[i];
            if ((o->kind == DECL_METHOD || o->kind == DECL_FUNCTION) && o->name &&
                strcmp(o->name, call_as->ident_arg) == 0)
                target = o;
        }
        if (!target)
            idl_error(s->c, call_as->loc, "call_as names '%s', which is not a method of '%s'", call_as->ident_arg,
                      iface->name);
        else if (!idl_has_attr(&target->attrs, "local"))
            idl_error(s->c, call_as->loc, "call_as names '%s', which is not [local]", call_as->ident_arg);
    }
}

static void check_items(struct sema *s, struct idl_vec *items, struct idl_decl *parent);

static void check_interface(struct sema *s, struct idl_decl *d)
{
    check_attrs(s->c, &d->attrs, A_INTERFACE);
    note_uuid(s, d, A_INTERFACE);
    if (d->base_name) {
        struct idl_decl *b = idl_symtab_get(s->c->types, d->base_name);
        if (!b)
            idl_error(s->c, d->base_loc, "base interface '%s' is not declared", d->base_name);
        else if (b->kind != DECL_INTERFACE)
            idl_error(s->c, d->base_loc, "'%s' is not an interface", d->base_name);
        else if (!b->defined)
            idl_error(s->c, d->base_loc, "base interface '%s' is declared but not defined", d->base_name);
        else {
            d->base = b;
            /* the base's slot count is needed here, wherever the base was declared */
            if (!b->checked) {
                b->checked = true;
                check_interface(s, b);
            }
        }
    } else if (d->is_object && strcmp(d->name, "IUnknown") != 0) {
        idl_error(s->c, d->loc, "object interface '%s' must inherit from IUnknown", d->name);
    }
    /* walk the chain: a cycle, or a root other than IUnknown, is an error */
    int depth = 0;
    struct idl_decl *b = d->base;
    while (b && depth < 1000) {
        if (b == d) {
            idl_error(s->c, d->base_loc, "interface '%s' inherits from itself", d->name);
            d->base = NULL;
            break;
        }
        if (!b->base && d->is_object && strcmp(b->name, "IUnknown") != 0 && !b->base_name)
            idl_error(s->c, d->base_loc, "object interface '%s' must inherit from IUnknown, not from '%s'", d->name,
                      b->name);
        b = b->base;
        depth++;
    }
    if (d->base && d->is_object && !d->base->is_object)
        idl_error(s->c, d->base_loc, "object interface '%s' inherits from '%s', which is not an object interface",
                  d->name, d->base->name);
    int slots = d->base ? d->base->vtbl_slots : 0;
    bool remotable = d->is_object && !d->is_local;
    for (size_t i = 0; i < d->members.len; i++) {
        struct idl_decl *m = d->members.items[i];
        if (m->kind != DECL_METHOD && m->kind != DECL_FUNCTION)
            continue;
        if (!d->is_object && m->kind == DECL_FUNCTION)
            remotable = !d->is_local;
        check_method(s, d, m, remotable);
        if (!idl_has_attr(&m->attrs, "call_as"))
            slots++;
        const char *cname = idl_method_c_name(s->c, m);
        for (size_t k = 0; k < i; k++) {
            struct idl_decl *o = d->members.items[k];
            if ((o->kind == DECL_METHOD || o->kind == DECL_FUNCTION) && strcmp(idl_method_c_name(s->c, o), cname) == 0) {
                idl_error(s->c, m->loc, "duplicate method '%s' in interface '%s'", cname, d->name);
                idl_note(s->c, o->loc, "previous declaration of '%s' is here", cname);
            }
        }
        /* a method may not hide one of a base interface: the C binding would have two slots of one name */
        for (struct idl_decl *bb = d->base; bb; bb = bb->base) {
            for (size_t k = 0; k < bb->members.len; k++) {
                struct idl_decl *o = bb->members.items[k];
                if ((o->kind == DECL_METHOD || o->kind == DECL_FUNCTION) &&
                    strcmp(idl_method_c_name(s->c, o), cname) == 0)
                    idl_error(s->c, m->loc, "method '%s' of '%s' hides the method of base interface '%s'", cname,
                              d->name, bb->name);
            }
            if (++depth > 2000)
                break;
        }
    }
    d->vtbl_slots = slots;
    check_items(s, &d->members, d);
}

static void check_items(struct sema *s, struct idl_vec *items, struct idl_decl *parent)
{
    for (size_t i = 0; i < items->len; i++) {
        struct idl_decl *d = items->items[i];
        switch (d->kind) {
        case DECL_TYPEDEF: {
            check_attrs(s->c, &d->attrs, A_TYPEDEF);
            check_type_defs(s, d->type);
            if (idl_has_attr(&d->attrs, "uuid"))
                note_uuid(s, d, A_TYPEDEF);
            struct idl_vec none = {0};
            struct scope sc = {&none, "field"};
            check_data(s, &sc, d);
            break;
        }
        case DECL_STRUCT:
        case DECL_UNION:
        case DECL_ENUM:
            check_tag(s, d);
            break;
        case DECL_CONST: {
            check_type(s, d->type, 0);
            struct idl_value v;
            if (idl_eval_decl_value(s->c, d, &v)) {
                bool is_str = v.kind == VAL_STRING;
                struct idl_type *r = idl_type_resolve(d->type);
                bool str_type = r && r->kind == TY_POINTER && idl_type_is_char(r->ref);
                bool null = d->value->kind == EXPR_IDENT && !strcmp(d->value->text, "NULL");
                if (is_str != str_type && !(null && str_type))
                    idl_error(s->c, d->loc, is_str ? "string constant '%s' needs a char or wchar_t pointer type"
                                                   : "constant '%s' of pointer type needs a string value",
                              d->name);
            }
            break;
        }
        case DECL_INTERFACE:
            if (d->defined && !d->checked) {
                d->checked = true;
                check_interface(s, d);
            } else if (!d->defined) {
                check_attrs(s->c, &d->attrs, A_INTERFACE);
            }
            break;
        case DECL_DISPINTERFACE:
            check_attrs(s->c, &d->attrs, A_DISPINTERFACE);
            note_uuid(s, d, A_DISPINTERFACE);
            if (d->disp_interface) {
                struct idl_decl *t = idl_symtab_get(s->c->types, d->disp_interface);
                if (!t || t->kind != DECL_INTERFACE)
                    idl_error(s->c, d->base_loc, "'%s' is not an interface", d->disp_interface);
            }
            check_fields(s, d);
            for (size_t k = 0; k < d->methods.len; k++) {
                struct idl_decl *m = d->methods.items[k];
                if (m->kind == DECL_METHOD || m->kind == DECL_FUNCTION)
                    check_method(s, d, m, false);
            }
            break;
        case DECL_COCLASS:
            check_attrs(s->c, &d->attrs, A_COCLASS);
            note_uuid(s, d, A_COCLASS);
            for (size_t k = 0; k < d->members.len; k++) {
                struct idl_decl *item = d->members.items[k];
                check_attrs(s->c, &item->attrs, A_COCLASS_ITEM);
                struct idl_decl *t = idl_symtab_get(s->c->types, item->name);
                if (!t || (t->kind != DECL_INTERFACE && t->kind != DECL_DISPINTERFACE))
                    idl_error(s->c, item->loc, "coclass '%s' lists '%s', which is not an interface", d->name,
                              item->name);
                else
                    item->iface = t;
            }
            break;
        case DECL_LIBRARY:
            check_attrs(s->c, &d->attrs, A_LIBRARY);
            note_uuid(s, d, A_LIBRARY);
            check_items(s, &d->members, d);
            break;
        case DECL_MODULE:
            check_attrs(s->c, &d->attrs, A_MODULE);
            if (idl_has_attr(&d->attrs, "uuid"))
                note_uuid(s, d, A_MODULE);
            check_items(s, &d->members, d);
            break;
        case DECL_METHOD:
        case DECL_FUNCTION:
            if (!parent || (parent->kind != DECL_INTERFACE && parent->kind != DECL_DISPINTERFACE))
                check_method(s, parent ? parent : d, d, false);
            break;
        default:
            break;
        }
    }
}

void idl_check(struct idl_compiler *c)
{
    struct sema s = {.c = c};
    /* each file after the files it imports, so a clash with an import is reported in the file that made it */
    for (size_t i = 0; i < c->parsed.len; i++) {
        struct idl_file *f = c->parsed.items[i];
        check_items(&s, &f->decls, NULL);
    }
}
