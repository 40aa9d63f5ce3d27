/* types.c: questions about types (what a typedef stands for, integral, pointer, interface) and constant evaluation. */
#include "lexer.h"

#include <string.h>

struct idl_type *idl_type_resolve(struct idl_type *t)
{
    /* typedef chains are finite: a name can only refer to names declared before it */
    for (int guard = 0; t && t->kind == TY_NAMED && t->decl && t->decl->type && guard < 1000; guard++)
        t = t->decl->type;
    return t;
}

bool idl_type_is_integral(struct idl_type *t)
{
    t = idl_type_resolve(t);
    if (!t)
        return false;
    if (t->kind == TY_ENUM)
        return true;
    if (t->kind != TY_BASE)
        return false;
    switch (t->base) {
    case BT_VOID:
    case BT_FLOAT:
    case BT_DOUBLE:
    case BT_HANDLE:
        return false;
    default:
        return true;
    }
}

bool idl_type_is_pointer(struct idl_type *t)
{
    t = idl_type_resolve(t);
    return t && t->kind == TY_POINTER;
}

bool idl_type_is_void(struct idl_type *t)
{
    t = idl_type_resolve(t);
    return t && t->kind == TY_BASE && t->base == BT_VOID;
}

static struct idl_decl *canonical_interface(struct idl_decl *d)
{
    return d && d->definition ? d->definition : d;
}

bool idl_type_is_interface_ptr(struct idl_type *t, struct idl_decl **iface)
{
    t = idl_type_resolve(t);
    if (!t || t->kind != TY_POINTER)
        return false;
    struct idl_type *r = idl_type_resolve(t->ref);
    if (!r || r->kind != TY_INTERFACE)
        return false;
    if (iface)
        *iface = canonical_interface(r->decl);
    return true;
}

bool idl_type_is_guid(struct idl_type *t)
{
    t = idl_type_resolve(t);
    return t && t->kind == TY_STRUCT && t->decl && t->decl->name && strcmp(t->decl->name, "_GUID") == 0;
}

bool idl_type_is_char(struct idl_type *t)
{
    t = idl_type_resolve(t);
    if (!t || t->kind != TY_BASE)
        return false;
    switch (t->base) {
    case BT_CHAR:
    case BT_WCHAR:
    case BT_BYTE:
    case BT_SMALL:
    case BT_INT8:
    case BT_UINT8:
    case BT_UINT16:
        return true;
    default:
        return false;
    }
}

bool idl_type_is_hresult(struct idl_type *t)
{
    /* through typedefs of it, as `typedef HRESULT MYRESULT;` */
    for (int guard = 0; t && t->kind == TY_NAMED && t->decl && guard < 64; guard++) {
        if (t->decl->name && strcmp(t->decl->name, "HRESULT") == 0)
            return true;
        t = t->decl->type;
    }
    return false;
}

const char *idl_method_c_name(struct idl_compiler *c, struct idl_decl *m)
{
    if (idl_has_attr(&m->attrs, "propget"))
        return idl_printf(c->arena, "get_%s", m->name);
    if (idl_has_attr(&m->attrs, "propput"))
        return idl_printf(c->arena, "put_%s", m->name);
    if (idl_has_attr(&m->attrs, "propputref"))
        return idl_printf(c->arena, "putref_%s", m->name);
    return m->name;
}

const char *idl_base_name(enum idl_base b)
{
    static const char *const names[] = {
        [BT_VOID] = "void", [BT_BOOLEAN] = "boolean", [BT_BYTE] = "byte", [BT_CHAR] = "char",
        [BT_SMALL] = "small", [BT_SHORT] = "short", [BT_INT] = "int", [BT_LONG] = "long",
        [BT_HYPER] = "hyper", [BT_INT3264] = "__int3264", [BT_FLOAT] = "float", [BT_DOUBLE] = "double",
        [BT_WCHAR] = "wchar_t", [BT_ERROR_STATUS] = "error_status_t", [BT_HANDLE] = "handle_t",
        [BT_INT8] = "int8_t", [BT_INT16] = "int16_t", [BT_INT32] = "int32_t", [BT_INT64] = "int64_t",
        [BT_UINT8] = "uint8_t", [BT_UINT16] = "uint16_t", [BT_UINT32] = "uint32_t", [BT_UINT64] = "uint64_t",
    };
    return names[b];
}

/* ---- constant evaluation ---- */

static bool eval_int(struct idl_compiler *c, struct idl_expr *e, struct idl_value *v, int depth);

static bool eval_decl(struct idl_compiler *c, struct idl_decl *d, struct idl_value *out, struct idl_loc loc,
                      int depth)
{
    if (d->cval.kind != VAL_NONE) {
        *out = d->cval;
        return true;
    }
    if (d->kind == DECL_ENUMERATOR && !d->value) {
        /* an enumerator without a value follows the one before it */
        struct idl_decl *en = d->parent;
        int64_t next = 0;
        for (size_t i = 0; en && i < en->members.len; i++) {
            struct idl_decl *m = en->members.items[i];
            if (m == d)
                break;
            struct idl_value pv;
            if (!eval_decl(c, m, &pv, m->loc, depth + 1))
                return false;
            if (__builtin_add_overflow(pv.i, 1, &next)) {
                idl_error(c, d->loc, "enumerator value for '%s' is out of range", d->name);
                return false;
            }
        }
        d->cval = (struct idl_value){.kind = VAL_INT, .i = next};
        *out = d->cval;
        return true;
    }
    if (!d->value)
        return false;
    if (d->eval_failed)
        return false; /* reported once already */
    if (d->evaluating) {
        idl_error(c, loc, "constant '%s' depends on itself", d->name);
        d->eval_failed = true;
        return false;
    }
    d->evaluating = true;
    bool ok = eval_int(c, d->value, out, depth + 1);
    d->evaluating = false;
    d->eval_failed |= !ok;
    if (ok)
        d->cval = *out;
    return ok;
}

static bool eval_int(struct idl_compiler *c, struct idl_expr *e, struct idl_value *v, int depth)
{
    memset(v, 0, sizeof(*v));
    if (depth > IDL_MAX_EXPR_DEPTH) {
        idl_error(c, e->loc, "constant expression nested too deeply");
        return false;
    }
    switch (e->kind) {
    case EXPR_INT:
        if (e->ival > INT64_MAX && !e->is_unsigned) {
            v->kind = VAL_INT;
            v->i = (int64_t)e->ival;
            v->is_unsigned = true;
            return true;
        }
        v->kind = VAL_INT;
        v->i = (int64_t)e->ival;
        v->is_unsigned = e->is_unsigned;
        return true;
    case EXPR_CHAR:
        v->kind = VAL_INT;
        v->i = (int64_t)e->ival;
        return true;
    case EXPR_FLOAT:
        v->kind = VAL_FLOAT;
        v->f = e->fval;
        return true;
    case EXPR_STRING:
        v->kind = VAL_STRING;
        v->s = e->text;
        return true;
    case EXPR_IDENT: {
        struct idl_decl *d = idl_symtab_get(c->values, e->text);
        /* MIDL knows these three without a declaration */
        if (!d && (!strcmp(e->text, "TRUE") || !strcmp(e->text, "FALSE") || !strcmp(e->text, "NULL"))) {
            v->kind = VAL_INT;
            v->i = !strcmp(e->text, "TRUE");
            return true;
        }
        if (!d) {
            idl_error(c, e->loc, "'%s' is not a constant", e->text);
            return false;
        }
        return eval_decl(c, d, v, e->loc, depth);
    }
    case EXPR_CAST:
        return eval_int(c, e->a, v, depth + 1);
    case EXPR_UNARY: {
        struct idl_value a;
        if (!eval_int(c, e->a, &a, depth + 1))
            return false;
        if (a.kind == VAL_STRING) {
            idl_error(c, e->loc, "invalid operand to unary '%c'", e->op);
            return false;
        }
        *v = a;
        switch (e->op) {
        case '+': return true;
        case '-':
            if (a.kind == VAL_FLOAT) {
                v->f = -a.f;
                return true;
            }
            v->i = (int64_t)(0 - (uint64_t)a.i);
            return true;
        case '~':
        case '!':
            if (a.kind != VAL_INT) {
                idl_error(c, e->loc, "invalid operand to unary '%c'", e->op);
                return false;
            }
            v->i = e->op == '~' ? ~a.i : !a.i;
            return true;
        default:
            idl_error(c, e->loc, "unary '%c' is not allowed in a constant expression", e->op);
            return false;
        }
    }
    case EXPR_BINARY: {
        struct idl_value a, b;
        if (!eval_int(c, e->a, &a, depth + 1) || !eval_int(c, e->b, &b, depth + 1))
            return false;
        if (a.kind == VAL_STRING || b.kind == VAL_STRING) {
            idl_error(c, e->loc, "invalid operands to binary operator");
            return false;
        }
        if (a.kind == VAL_FLOAT || b.kind == VAL_FLOAT) {
            double x = a.kind == VAL_FLOAT ? a.f : (double)a.i, y = b.kind == VAL_FLOAT ? b.f : (double)b.i;
            v->kind = VAL_FLOAT;
            switch (e->op) {
            case '+': v->f = x + y; return true;
            case '-': v->f = x - y; return true;
            case '*': v->f = x * y; return true;
            case '/': v->f = x / y; return true;
            default:
                idl_error(c, e->loc, "invalid operands of floating type to binary operator");
                return false;
            }
        }
        int64_t x = a.i, y = b.i, r = 0;
        bool overflow = false;
        v->kind = VAL_INT;
        v->is_unsigned = a.is_unsigned || b.is_unsigned;
        switch (e->op) {
        case '+': overflow = __builtin_add_overflow(x, y, &r); break;
        case '-': overflow = __builtin_sub_overflow(x, y, &r); break;
        case '*': overflow = __builtin_mul_overflow(x, y, &r); break;
        case '/':
        case '%':
            if (y == 0) {
                idl_error(c, e->loc, "division by zero in constant expression");
                return false;
            }
            if (x == INT64_MIN && y == -1) {
                overflow = true;
                break;
            }
            r = e->op == '/' ? x / y : x % y;
            break;
        case P_SHL:
        case P_SHR:
            if (y < 0 || y > 63) {
                idl_error(c, e->loc, "shift count %lld is out of range", (long long)y);
                return false;
            }
            r = e->op == P_SHL ? (int64_t)((uint64_t)x << y) : x >> y;
            break;
        case '&': r = x & y; break;
        case '|': r = x | y; break;
        case '^': r = x ^ y; break;
        case P_EQ: r = x == y; break;
        case P_NE: r = x != y; break;
        case P_LE: r = x <= y; break;
        case P_GE: r = x >= y; break;
        case '<': r = x < y; break;
        case '>': r = x > y; break;
        case P_ANDAND: r = x && y; break;
        case P_OROR: r = x || y; break;
        default:
            idl_error(c, e->loc, "operator not allowed in a constant expression");
            return false;
        }
        if (overflow) {
            idl_error(c, e->loc, "integer overflow in constant expression");
            return false;
        }
        v->i = r;
        return true;
    }
    case EXPR_COND: {
        struct idl_value cond;
        if (!eval_int(c, e->a, &cond, depth + 1))
            return false;
        bool truth = cond.kind == VAL_FLOAT ? cond.f != 0 : cond.kind == VAL_STRING ? true : cond.i != 0;
        return eval_int(c, truth ? e->b : e->c, v, depth + 1);
    }
    case EXPR_MEMBER:
    case EXPR_SIZEOF:
    case EXPR_EMPTY:
        break;
    }
    idl_error(c, e->loc, "expression is not constant");
    return false;
}

bool idl_eval_decl_value(struct idl_compiler *c, struct idl_decl *d, struct idl_value *out)
{
    return eval_decl(c, d, out, d->loc, 0);
}

bool idl_eval(struct idl_compiler *c, struct idl_expr *e, struct idl_value *out)
{
    return eval_int(c, e, out, 0);
}
