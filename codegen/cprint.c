/* cprint.c: printing IDL types, declarators and expressions as C, and the text buffer behind every output. */
#include "codegen.h"

#include "../idl/lexer.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void sb_reserve(struct sbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        fputs("pcomidl: out of memory\n", stderr);
        abort();
    }
    b->data = d;
    b->cap = cap;
}

void sb_putc(struct sbuf *b, char ch)
{
    sb_reserve(b, 1);
    b->data[b->len++] = ch;
    b->data[b->len] = '\0';
}

void sb_puts(struct sbuf *b, const char *s)
{
    size_t n = strlen(s);
    sb_reserve(b, n);
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    sb_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sb_free(struct sbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* IDL long is 32 bits and IDL wchar_t 16 bits on every platform, so they map to fixed-size C types. */
const char *cg_base_c_name(const struct idl_type *t)
{
    bool u = t->is_unsigned;
    switch (t->base) {
    case BT_VOID: return "void";
    case BT_BOOLEAN: return "boolean";
    case BT_BYTE: return "byte";
    case BT_CHAR: return u ? "unsigned char" : t->is_signed ? "signed char" : "char";
    case BT_SMALL: return u ? "unsigned char" : "signed char";
    case BT_SHORT: return u ? "unsigned short" : "short";
    case BT_INT: return u ? "unsigned int" : "int";
    case BT_LONG: return u ? "uint32_t" : "int32_t";
    case BT_HYPER: return u ? "MIDL_uhyper" : "hyper";
    case BT_INT3264: return u ? "uintptr_t" : "intptr_t";
    case BT_FLOAT: return "float";
    case BT_DOUBLE: return "double";
    case BT_WCHAR: return "WCHAR";
    case BT_ERROR_STATUS: return "error_status_t";
    case BT_HANDLE: return "handle_t";
    case BT_INT8: return "int8_t";
    case BT_INT16: return "int16_t";
    case BT_INT32: return "int32_t";
    case BT_INT64: return "int64_t";
    case BT_UINT8: return "uint8_t";
    case BT_UINT16: return "uint16_t";
    case BT_UINT32: return "uint32_t";
    case BT_UINT64: return "uint64_t";
    }
    return "int";
}

static const char *op_text(int op)
{
    static char one[2];
    switch (op) {
    case P_SHL: return "<<";
    case P_SHR: return ">>";
    case P_EQ: return "==";
    case P_NE: return "!=";
    case P_LE: return "<=";
    case P_GE: return ">=";
    case P_ANDAND: return "&&";
    case P_OROR: return "||";
    case P_ARROW: return "->";
    default:
        one[0] = (char)op;
        one[1] = '\0';
        return one;
    }
}

void cg_print_expr(struct sbuf *b, const struct idl_expr *e)
{
    if (!e)
        return;
    if (e->paren)
        sb_putc(b, '(');
    switch (e->kind) {
    case EXPR_INT:
    case EXPR_FLOAT:
    case EXPR_IDENT:
        sb_puts(b, e->text);
        break;
    case EXPR_STRING:
        /* IDL wide strings are UTF-16: C's u"" literal */
        sb_printf(b, "%s\"%s\"", e->wide ? "u" : "", e->text);
        break;
    case EXPR_CHAR:
        sb_printf(b, "%s'%s'", e->wide ? "u" : "", e->text);
        break;
    case EXPR_UNARY:
        sb_puts(b, op_text(e->op));
        cg_print_expr(b, e->a);
        break;
    case EXPR_BINARY:
        cg_print_expr(b, e->a);
        sb_printf(b, " %s ", op_text(e->op));
        cg_print_expr(b, e->b);
        break;
    case EXPR_COND:
        cg_print_expr(b, e->a);
        sb_puts(b, " ? ");
        cg_print_expr(b, e->b);
        sb_puts(b, " : ");
        cg_print_expr(b, e->c);
        break;
    case EXPR_MEMBER:
        cg_print_expr(b, e->a);
        sb_puts(b, e->op == P_ARROW ? "->" : ".");
        sb_puts(b, e->text);
        break;
    case EXPR_CAST: {
        sb_putc(b, '(');
        cg_print_decl(NULL, b, e->cast_type, NULL, 0, false);
        sb_putc(b, ')');
        cg_print_expr(b, e->a);
        break;
    }
    case EXPR_SIZEOF:
    case EXPR_EMPTY:
        break;
    }
    if (e->paren)
        sb_putc(b, ')');
}

static void indent_to(struct sbuf *b, int indent)
{
    for (int i = 0; i < indent; i++)
        sb_puts(b, "    ");
}

static void print_fields(struct gen_ctx *g, struct sbuf *b, struct idl_vec *fields, int indent)
{
    for (size_t i = 0; i < fields->len; i++) {
        struct idl_decl *f = fields->items[i];
        if (f->empty_arm)
            continue;
        indent_to(b, indent);
        cg_print_decl(g, b, f->type, f->name, indent, true);
        sb_puts(b, ";\n");
    }
}

/* The body of a struct, union or enum, from '{' to '}'. */
static void print_body(struct gen_ctx *g, struct sbuf *b, struct idl_decl *d, int indent)
{
    d->emitted = true;
    sb_puts(b, "{\n");
    if (d->kind == DECL_ENUM) {
        for (size_t i = 0; i < d->members.len; i++) {
            struct idl_decl *e = d->members.items[i];
            indent_to(b, indent + 1);
            sb_puts(b, e->name);
            if (e->value) {
                sb_puts(b, " = ");
                cg_print_expr(b, e->value);
            }
            sb_puts(b, i + 1 < d->members.len ? ",\n" : "\n");
        }
    } else if (d->kind == DECL_UNION && d->encapsulated) {
        /* an encapsulated union is a struct of its discriminant and the union itself */
        indent_to(b, indent + 1);
        cg_print_decl(g, b, d->switch_type, d->switch_name, indent + 1, false);
        sb_puts(b, ";\n");
        indent_to(b, indent + 1);
        sb_puts(b, "union {\n");
        print_fields(g, b, &d->members, indent + 2);
        indent_to(b, indent + 1);
        sb_printf(b, "} %s;\n", d->union_name ? d->union_name : "tagged_union");
    } else {
        print_fields(g, b, &d->members, indent + 1);
    }
    indent_to(b, indent);
    sb_putc(b, '}');
}

static void print_specifier(struct gen_ctx *g, struct sbuf *b, struct idl_type *t, int indent)
{
    if (t->is_const && t->kind != TY_POINTER)
        sb_puts(b, "const ");
    switch (t->kind) {
    case TY_BASE:
        sb_puts(b, cg_base_c_name(t));
        return;
    case TY_NAMED:
        sb_puts(b, t->decl ? t->decl->name : t->spelling ? t->spelling : "int");
        return;
    case TY_INTERFACE:
        sb_puts(b, t->decl->name);
        return;
    case TY_STRUCT:
    case TY_UNION:
    case TY_ENUM: {
        struct idl_decl *d = t->decl;
        bool encapsulated = d->kind == DECL_UNION && d->encapsulated;
        sb_puts(b, t->kind == TY_ENUM ? "enum" : t->kind == TY_UNION && !encapsulated ? "union" : "struct");
        if (d->name)
            sb_printf(b, " %s", d->name);
        if (g && d->defined && !d->emitted && !d->imported) {
            sb_putc(b, ' ');
            print_body(g, b, d, indent);
        }
        return;
    }
    default:
        sb_puts(b, "void");
        return;
    }
}

void cg_print_params(struct gen_ctx *g, struct sbuf *b, const char *this_iface, struct idl_vec *params)
{
    sb_putc(b, '(');
    if (this_iface)
        sb_printf(b, "%s *This", this_iface);
    for (size_t i = 0; i < params->len; i++) {
        struct idl_decl *p = params->items[i];
        if (i > 0 || this_iface)
            sb_puts(b, ", ");
        cg_print_decl(g, b, p->type, p->name, 0, false);
    }
    if (!this_iface && params->len == 0)
        sb_puts(b, "void");
    sb_putc(b, ')');
}

/* Declarators are built inside out: each pointer, array or function level wraps the text so far. */
void cg_print_decl(struct gen_ctx *g, struct sbuf *b, struct idl_type *t, const char *name, int indent,
                   bool conformant_as_one)
{
    struct sbuf decl = {0};
    sb_puts(&decl, name ? name : "");
    int guard = 0;
    while (t && (t->kind == TY_POINTER || t->kind == TY_ARRAY || t->kind == TY_FUNCTION) && guard++ < 256) {
        struct sbuf next = {0};
        if (t->kind == TY_POINTER) {
            bool wrap = t->ref && (t->ref->kind == TY_ARRAY || t->ref->kind == TY_FUNCTION);
            sb_printf(&next, "%s*%s%s%s%s", wrap ? "(" : "", t->is_const ? " const" : "",
                      t->is_const && decl.len ? " " : "", decl.data ? decl.data : "", wrap ? ")" : "");
        } else if (t->kind == TY_ARRAY) {
            sb_puts(&next, decl.data ? decl.data : "");
            sb_putc(&next, '[');
            if (t->size)
                cg_print_expr(&next, t->size);
            else if (conformant_as_one)
                sb_putc(&next, '1');
            sb_putc(&next, ']');
        } else {
            if (t->callconv && decl.len && decl.data[0] == '(')
                sb_printf(&next, "(%s %s", "STDMETHODCALLTYPE", decl.data + 1);
            else
                sb_puts(&next, decl.data ? decl.data : "");
            cg_print_params(g, &next, NULL, &t->params);
        }
        sb_free(&decl);
        decl = next;
        conformant_as_one = false;
        t = t->ref;
    }
    if (t)
        print_specifier(g, b, t, indent);
    if (decl.len) {
        if (decl.data[0] != '[' && decl.data[0] != '(' )
            sb_putc(b, ' ');
        else if (decl.data[0] == '(')
            sb_putc(b, ' ');
        sb_puts(b, decl.data);
    }
    sb_free(&decl);
}

const char *cg_method_c_name(struct gen_ctx *g, struct idl_decl *m)
{
    return idl_method_c_name(g->c, m);
}

void cg_guid_initializer(struct sbuf *b, const uint8_t u[16])
{
    sb_printf(b, "{0x%02x%02x%02x%02x, 0x%02x%02x, 0x%02x%02x, {0x%02x, 0x%02x, 0x%02x, 0x%02x, 0x%02x, 0x%02x, "
                 "0x%02x, 0x%02x}}",
              u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}
