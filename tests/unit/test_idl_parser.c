/* test_idl_parser.c: the parser: syntax errors and their locations, recovery, the shape of the AST it
 * builds for each construct, imports, and the nesting limit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idl_harness.h"

#define UUID1 "11111111-2222-3333-4444-000000000001"
#define UUID2 "11111111-2222-3333-4444-000000000002"
#define UUID3 "11111111-2222-3333-4444-000000000003"
#define UUID4 "11111111-2222-3333-4444-000000000004"
#define UUID5 "11111111-2222-3333-4444-000000000005"

/* ---- helpers ---- */

static int count_diags(const struct harness *h, enum idl_severity sev, const char *needle)
{
    int n = 0;
    for (int i = 0; i < h->ndiags; i++)
        if (h->diags[i].sev == sev && strstr(h->diags[i].msg, needle))
            n++;
    return n;
}

#define assert_errors(h, n)                                                                                 \
    do {                                                                                                    \
        if ((h)->c.errors != (n))                                                                           \
            harness_dump(h);                                                                                \
        assert_int_equal((h)->c.errors, (n));                                                               \
    } while (0)

#define assert_clean(h)                                                                                     \
    do {                                                                                                    \
        if ((h)->ndiags)                                                                                    \
            harness_dump(h);                                                                                \
        assert_int_equal((h)->ndiags, 0);                                                                   \
    } while (0)

static struct idl_file *main_file(struct harness *h)
{
    assert_true(h->c.files.len >= 1);
    return h->c.files.items[0];
}

/* The n-th (from 0) declaration of a kind and name in a list; name NULL matches any. */
static struct idl_decl *find_in(struct idl_vec *v, enum idl_decl_kind kind, const char *name, int nth)
{
    for (size_t i = 0; i < v->len; i++) {
        struct idl_decl *d = v->items[i];
        if (d->kind == kind && (!name || (d->name && strcmp(d->name, name) == 0)) && nth-- == 0)
            return d;
    }
    return NULL;
}

static struct idl_decl *top(struct harness *h, enum idl_decl_kind kind, const char *name)
{
    struct idl_decl *d = find_in(&main_file(h)->decls, kind, name, 0);
    if (!d)
        fprintf(stderr, "  no top-level declaration %d '%s'\n", kind, name ? name : "");
    assert_non_null(d);
    return d;
}

static struct idl_decl *member(struct idl_decl *parent, size_t i)
{
    assert_true(i < parent->members.len);
    return parent->members.items[i];
}

static struct idl_attr *attr(struct idl_vec *attrs, const char *name)
{
    struct idl_attr *a = idl_attr_find(attrs, name);
    if (!a)
        fprintf(stderr, "  no attribute '%s'\n", name);
    assert_non_null(a);
    return a;
}

static void assert_loc(struct idl_loc loc, int line, int col)
{
    if (loc.line != line || loc.col != col)
        fprintf(stderr, "  location %d:%d, want %d:%d\n", loc.line, loc.col, line, col);
    assert_non_null(loc.file);
    assert_string_equal(loc.file, "test.idl");
    assert_int_equal(loc.line, line);
    assert_int_equal(loc.col, col);
}

static void assert_base(struct idl_type *t, enum idl_base b)
{
    assert_non_null(t);
    assert_int_equal(t->kind, TY_BASE);
    assert_int_equal(t->base, b);
}

static void assert_named(struct idl_type *t, const char *name)
{
    assert_non_null(t);
    assert_int_equal(t->kind, TY_NAMED);
    assert_non_null(t->decl);
    assert_string_equal(t->decl->name, name);
}

static int64_t const_int(struct harness *h, struct idl_decl *d)
{
    struct idl_value v;
    assert_true(idl_eval_decl_value(&h->c, d, &v));
    assert_int_equal(v.kind, VAL_INT);
    return v.i;
}

static int64_t expr_int(struct harness *h, struct idl_expr *e)
{
    struct idl_value v;
    assert_non_null(e);
    assert_true(idl_eval(&h->c, e, &v));
    assert_int_equal(v.kind, VAL_INT);
    return v.i;
}

/* ---- syntax errors with locations ---- */

static void missing_semicolon_after_typedef(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "typedef long A\n"
                        "typedef long B;\n"
                        "typedef short C;\n");
    assert_error_at(&h, "expected ';' after typedef, found 'typedef'", 2, 1);
    assert_errors(&h, 1);
    /* A is kept; the rest of the broken declaration is skipped; C is parsed */
    assert_non_null(find_in(&main_file(&h)->decls, DECL_TYPEDEF, "A", 0));
    struct idl_decl *c = top(&h, DECL_TYPEDEF, "C");
    assert_base(c->type, BT_SHORT);
    assert_loc(c->loc, 3, 15);
    harness_free(&h);
}

static void missing_semicolon_after_const(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "const long A = 1\n"
                        "const long B = 2;\n"
                        "const long C = 3;\n");
    assert_error_at(&h, "expected ';' after constant, found 'const'", 2, 1);
    assert_errors(&h, 1);
    assert_int_equal(const_int(&h, top(&h, DECL_CONST, "C")), 3);
    harness_free(&h);
}

static void missing_semicolon_after_method(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"
                        "[object, uuid(" UUID1 ")]\n"
                        "interface IA : IUnknown {\n"
                        "    HRESULT M1([in] long a)\n"
                        "    HRESULT M2([in] long a);\n"
                        "    HRESULT M3(void);\n"
                        "}\n");
    assert_error_at(&h, "expected ';' after method declaration, found 'HRESULT'", 5, 5);
    assert_errors(&h, 1);
    struct idl_decl *ia = top(&h, DECL_INTERFACE, "IA");
    assert_non_null(find_in(&ia->members, DECL_METHOD, "M1", 0));
    assert_non_null(find_in(&ia->members, DECL_METHOD, "M3", 0));
    harness_free(&h);
}

static void missing_semicolon_after_field(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "typedef struct S { long x; long y } S;\n"
                        "typedef long After;\n");
    assert_error_at(&h, "expected ';' after field declaration, found '}'", 1, 35);
    assert_errors(&h, 1);
    struct idl_decl *s = top(&h, DECL_TYPEDEF, "S");
    assert_non_null(s->inline_def);
    assert_int_equal(s->inline_def->members.len, 2);
    top(&h, DECL_TYPEDEF, "After");
    harness_free(&h);
}

static void missing_closing_brace_at_eof(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"
                        "[object, uuid(" UUID1 ")]\n"
                        "interface IA : IUnknown {\n"
                        "    HRESULT A(void);\n");
    assert_error_at(&h, "expected '}' to close interface, found end of file", 5, 1);
    assert_errors(&h, 1);
    /* the interface and its method are in the AST */
    struct idl_decl *ia = top(&h, DECL_INTERFACE, "IA");
    assert_int_equal(ia->members.len, 1);
    harness_free(&h);
}

static void missing_closing_brace_of_struct(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "typedef struct S {\n"
                        "    long x;\n"
                        "typedef long B;\n");
    /* the next declaration word ends the struct: one error, and B is still declared */
    assert_error_at(&h, "expected '}' to close struct, found 'typedef'", 3, 1);
    assert_int_equal(h.c.errors, 1);
    top(&h, DECL_TYPEDEF, "B");
    harness_free(&h);
}

static void unexpected_tokens_at_top_level(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "}\n"
                        "typedef long A;\n"
                        "  )\n"
                        ";\n"
                        "typedef long B;\n");
    assert_error_at(&h, "expected type, found '}'", 1, 1);
    assert_error_at(&h, "expected type, found ')'", 3, 3);
    assert_errors(&h, 2);
    top(&h, DECL_TYPEDEF, "A");
    top(&h, DECL_TYPEDEF, "B");
    harness_free(&h);
}

static void unexpected_tokens_in_declarations(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "typedef long 5;\n"              /* 1 */
                        "typedef long X Y;\n"            /* 2 */
                        "const long = 5;\n"              /* 3 */
                        "const long K = ;\n"             /* 4 */
                        "const long L = 1 +;\n"          /* 5 */
                        "typedef long Z[;\n"             /* 6 */
                        "typedef struct ;\n"             /* 7 */
                        "typedef enum { 5 };\n"          /* 8 */
                        "typedef long Ok;\n");
    assert_error_at(&h, "typedef declares no name", 1, 14);
    assert_error_at(&h, "expected ';' after typedef, found '5'", 1, 14);
    assert_error_at(&h, "expected ';' after typedef, found 'Y'", 2, 16);
    assert_error_at(&h, "expected a declaration", 3, 12);
    assert_error_at(&h, "expected expression, found ';'", 4, 16);
    assert_int_equal(count_diags(&h, IDL_ERROR, "expected expression, found ';'"), 3);
    assert_error_at(&h, "expected '{' or tag name after 'struct', found ';'", 7, 16);
    assert_error_at(&h, "expected enumerator name, found '5'", 8, 16);
    top(&h, DECL_TYPEDEF, "Ok");
    harness_free(&h);
}

static void bad_type_specifiers(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "typedef unsigned signed long X1;\n"
                        "typedef short long X2;\n"
                        "typedef unsigned float X3;\n"
                        "typedef long long long X4;\n"
                        "typedef int int X5;\n"
                        "typedef signed void X6;\n"
                        "typedef char int X7;\n"
                        "typedef long double X8;\n"
                        "typedef unsigned long long X9;\n"
                        "typedef unsigned handle_t X10;\n"
                        "typedef unsigned char X11;\n"
                        "typedef signed small X12;\n");
    assert_error_at(&h, "invalid combination of type specifiers", 1, 9);
    assert_error_at(&h, "long double is not supported", 8, 9);
    assert_int_equal(count_diags(&h, IDL_ERROR, "invalid combination of type specifiers"), 8);
    for (int i = 0; i < h.ndiags; i++) {
        assert_int_equal(h.diags[i].col, 9);
        assert_int_not_equal(h.diags[i].line, 9);
        assert_true(h.diags[i].line <= 10);
    }
    /* unsigned long long is hyper */
    struct idl_decl *x9 = top(&h, DECL_TYPEDEF, "X9");
    assert_base(x9->type, BT_HYPER);
    assert_true(x9->type->is_unsigned);
    harness_free(&h);
}

static void not_a_type(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "const long K = 1;\n"
                        "typedef K T;\n"
                        "typedef Nope U;\n"
                        "[uuid(" UUID1 ")] coclass CC { }\n"
                        "typedef CC V;\n");
    assert_error_at(&h, "unknown type name 'K'", 2, 9);
    assert_error_at(&h, "unknown type name 'Nope'", 3, 9);
    assert_error_at(&h, "'CC' is not a type", 5, 9);
    assert_non_null(harness_find(&h, IDL_NOTE, "previous declaration of 'CC' is here"));
    harness_free(&h);
}

static void expression_syntax_errors(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "const long A = (1 + 2;\n"
                        "const long B = 1 ? 2;\n"
                        "const long C = sizeof(long);\n"
                        "const long D = (long x)1;\n"
                        "const long E = F->;\n"
                        "const long G = 1 2;\n"
                        "const long Ok = 3;\n");
    assert_error_at(&h, "expected ')' to close parenthesised expression, found ';'", 1, 22);
    assert_error_at(&h, "expected ':' in conditional expression, found ';'", 2, 21);
    assert_error_at(&h, "sizeof is not supported in IDL expressions", 3, 16);
    assert_error_at(&h, "unexpected name 'x' in cast", 4, 22);
    assert_error_at(&h, "expected member name, found ';'", 5, 19);
    assert_error_at(&h, "expected ';' after constant, found '2'", 6, 18);
    assert_int_equal(const_int(&h, top(&h, DECL_CONST, "Ok")), 3);
    harness_free(&h);
}

static void array_syntax_errors(void **state)
{
    (void)state;
    char text[1024];
    char *p = text;
    p += sprintf(p, "typedef long L65");
    for (int i = 0; i < 65; i++)
        p += sprintf(p, "[1]");
    sprintf(p, ";\ntypedef long L2[2;\ntypedef long Ok[64][2];\n");
    struct harness h = {0};
    harness_compile(&h, text);
    assert_error_at(&h, "too many array dimensions", 1, 17 + 64 * 3);
    assert_error_at(&h, "expected ']' to close array bound, found ';'", 2, 18);
    assert_errors(&h, 2);
    /* 64 dimensions are allowed */
    struct idl_decl *ok = top(&h, DECL_TYPEDEF, "Ok");
    assert_int_equal(ok->type->kind, TY_ARRAY);
    harness_free(&h);
}

/* ---- attribute syntax ---- */

static void bad_attribute_syntax(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "[object,] interface I1;\n"                        /* 1 */
                        "[,] interface I2;\n"                              /* 2 */
                        "[local uuid(" UUID1 ")] interface I3 { }\n"       /* 3 */
                        "[helpstring(\"a\" interface I4;\n"               /* 4 */
                        "[pointer_default(1)] interface I5;\n"             /* 5 */
                        "[switch_type(1)] interface I6;\n"                 /* 6 */
                        "[42] interface I7;\n"                             /* 7 */
                        "[] interface I8;\n"                               /* 8 */
                        "typedef long Ok;\n");
    assert_error_at(&h, "expected attribute name, found ']'", 1, 9);
    assert_error_at(&h, "expected attribute name, found ','", 2, 2);
    assert_error_at(&h, "expected ']' to close attribute list, found 'uuid'", 3, 8);
    assert_error_at(&h, "expected ')' after arguments of attribute 'helpstring', found 'interface'", 4, 17);
    assert_error_at(&h, "attribute 'pointer_default' takes a name, found '1'", 5, 18);
    assert_error_at(&h, "expected type, found '1'", 6, 14);
    assert_error_at(&h, "expected attribute name, found '42'", 7, 2);
    /* an empty attribute list is allowed */
    assert_null(harness_find(&h, IDL_ERROR, "I8"));
    for (int i = 0; i < h.ndiags; i++)
        assert_int_not_equal(h.diags[i].line, 8);
    top(&h, DECL_TYPEDEF, "Ok");
    /* I1 was parsed with its good attribute */
    struct idl_decl *i1 = top(&h, DECL_INTERFACE, "I1");
    attr(&i1->attrs, "object");
    harness_free(&h);
}

static void bad_uuid_and_version_syntax(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "[uuid(1234)] interface I1;\n"
                        "[uuid()] interface I2;\n"
                        "[uuid(\"not-a-uuid\")] interface I3;\n"
                        "[version(x)] interface I4;\n"
                        "[version(70000.0)] interface I5;\n"
                        "[version(1.)] interface I6;\n"
                        "[version(1.2.3)] interface I7;\n"
                        "[uuid(\"" UUID1 "\"), version(3.14)] interface I8;\n"
                        "[version(2)] interface I9;\n");
    assert_error_at(&h, "malformed uuid: expected 8-4-4-4-12 hexadecimal digits", 1, 7);
    assert_int_equal(h.diags[1].line, 2);
    assert_int_equal(h.diags[1].col, 7);
    assert_string_equal(h.diags[1].msg, "malformed uuid: expected 8-4-4-4-12 hexadecimal digits");
    assert_int_equal(h.diags[2].line, 3);
    assert_int_equal(h.diags[2].col, 7);
    assert_error_at(&h, "expected version number such as 1.0, found 'x'", 4, 10);
    assert_error_at(&h, "malformed version '70000.0': expected major.minor, each at most 65535", 5, 10);
    assert_error_at(&h, "malformed version '1.'", 6, 10);
    assert_error_at(&h, "expected ')' after arguments of attribute 'version', found '.3'", 7, 13);
    /* a uuid in quotes and a version are parsed into the attribute */
    struct idl_decl *i8 = top(&h, DECL_INTERFACE, "I8");
    struct idl_attr *u = attr(&i8->attrs, "uuid");
    assert_true(u->has_uuid);
    assert_int_equal(u->uuid[0], 0x11);
    assert_int_equal(u->uuid[15], 0x01);
    struct idl_attr *v = attr(&i8->attrs, "version");
    assert_int_equal(v->version_major, 3);
    assert_int_equal(v->version_minor, 14);
    struct idl_attr *v9 = attr(&top(&h, DECL_INTERFACE, "I9")->attrs, "version");
    assert_int_equal(v9->version_major, 2);
    assert_int_equal(v9->version_minor, 0);
    harness_free(&h);
}

static void attribute_arguments_shape(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"
                        "[object, uuid(" UUID1 "), pointer_default(unique), helpstring(\"I\" \"A\")]\n"
                        "interface IA : IUnknown {\n"
                        "    HRESULT F([in] long n, [in] long m, [out, size_is(, n * 2 + 1), length_is(m, )] long **pp);\n"
                        "}\n"
                        "typedef [switch_type(unsigned short)] union { [case(1, 2)] long a; [default] ; } NU;\n");
    assert_clean(&h);
    struct idl_decl *ia = top(&h, DECL_INTERFACE, "IA");
    assert_int_equal(ia->attrs.len, 4);
    assert_string_equal(attr(&ia->attrs, "pointer_default")->ident_arg, "unique");
    struct idl_attr *hs = attr(&ia->attrs, "helpstring");
    assert_loc(hs->loc, 2, 79);
    assert_int_equal(hs->args.len, 1);
    /* adjacent string literals concatenate */
    assert_int_equal(((struct idl_expr *)hs->args.items[0])->kind, EXPR_STRING);
    assert_string_equal(((struct idl_expr *)hs->args.items[0])->text, "IA");
    struct idl_decl *pp = member(find_in(&ia->members, DECL_METHOD, "F", 0), 2);
    struct idl_attr *sz = attr(&pp->attrs, "size_is");
    assert_int_equal(sz->args.len, 2);
    assert_int_equal(((struct idl_expr *)sz->args.items[0])->kind, EXPR_EMPTY);
    struct idl_expr *e = sz->args.items[1];
    /* n * 2 + 1 is (n * 2) + 1 */
    assert_int_equal(e->kind, EXPR_BINARY);
    assert_int_equal(e->op, '+');
    assert_int_equal(e->a->kind, EXPR_BINARY);
    assert_int_equal(e->a->op, '*');
    assert_int_equal(e->a->a->kind, EXPR_IDENT);
    assert_string_equal(e->a->a->text, "n");
    assert_loc(e->a->a->loc, 4, 57);
    struct idl_attr *li = attr(&pp->attrs, "length_is");
    assert_int_equal(li->args.len, 2);
    assert_int_equal(((struct idl_expr *)li->args.items[1])->kind, EXPR_EMPTY);
    struct idl_decl *nu = top(&h, DECL_TYPEDEF, "NU");
    struct idl_attr *st = attr(&nu->attrs, "switch_type");
    assert_base(st->type_arg, BT_SHORT);
    assert_true(st->type_arg->is_unsigned);
    harness_free(&h);
}

/* ---- unterminated constructs at end of file ---- */

struct eof_case {
    const char *text;
    const char *error;
    int line, col;
};

static void unterminated_at_eof(void **state)
{
    (void)state;
    static const struct eof_case cases[] = {
        {"typedef struct S {\n  long x;\n", "expected '}' to close struct, found end of file", 3, 1},
        {"typedef enum {\n  A,\n", "expected '}' to close enum, found end of file", 3, 1},
        {"typedef [switch_type(long)] union U {\n  [case(1)] long a;\n", "expected '}' to close union, found end of file", 3, 1},
        {"typedef union U switch (long k", "expected ')' after union discriminant, found end of file", 1, 31},
        {"typedef long T[4", "expected ']' to close array bound, found end of file", 1, 17},
        {"[uuid(" UUID1 ")", "expected ']' to close attribute list, found end of file", 1, 44},
        {"[uuid(" UUID1 ")]", "expected declaration after attributes, found end of file", 1, 45},
        {"[helpstring(\"x\"", "expected ')' after arguments of attribute 'helpstring', found end of file", 1, 16},
        {"[uuid(" UUID1 ")] library L {\n", "expected '}' to close library, found end of file", 2, 1},
        {"module M {\n  const long X = 1;\n", "expected '}' to close module, found end of file", 3, 1},
        {"[uuid(" UUID1 ")] coclass C {", "expected '}' to close coclass, found end of file", 1, 57},
        {"[uuid(" UUID1 ")] dispinterface D { properties:", "expected '}' to close dispinterface, found end of file", 1, 75},
        {"const long X = (1 + 2", "expected ')' to close parenthesised expression, found end of file", 1, 22},
        {"const long X =", "expected expression, found end of file", 1, 15},
        {"typedef long", "expected ';' after typedef, found end of file", 1, 13},
        {"interface", "expected interface name, found end of file", 1, 10},
        {"interface I : ", "expected base interface name, found end of file", 1, 15},
        {"[local] interface I", "expected '{' to open interface body, found end of file", 1, 20},
        {"[local] interface I {\n  void f([in] long a\n", "expected ')' to close parameter list, found end of file", 3, 1},
        {"cpp_quote(\"x\"", "expected ')' after 'cpp_quote' string, found end of file", 1, 14},
        {"cpp_quote(", "'cpp_quote' takes a string, found end of file", 1, 11},
        {"import", "expected file name string after 'import', found end of file", 1, 7},
        {"import \"pcom.idl\"", "expected ';' after import, found end of file", 1, 18},
        {"library", "expected library name, found end of file", 1, 8},
        {"coclass", "expected coclass name, found end of file", 1, 8},
        {"dispinterface", "expected dispinterface name, found end of file", 1, 14},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct harness h = {0};
        harness_compile(&h, cases[i].text);
        const struct diag_record *d = harness_find(&h, IDL_ERROR, cases[i].error);
        if (!d || d->line != cases[i].line || d->col != cases[i].col) {
            fprintf(stderr, "  case %zu: %s\n", i, cases[i].text);
            harness_dump(&h);
        }
        assert_error_at(&h, cases[i].error, cases[i].line, cases[i].col);
        harness_free(&h);
    }
}

/* ---- recovery ---- */

static void recovery_reports_several_errors(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"                         /* 1 */
                        "typedef Nope1 T1;\n"                             /* 2 */
                        "typedef struct { long a; 5 } T2;\n"              /* 3 */
                        "[object, uuid(" UUID1 ")]\n"                     /* 4 */
                        "interface IA : IUnknown {\n"                     /* 5 */
                        "    HRESULT A([in] long a, );\n"                 /* 6 */
                        "    HRESULT B([in] Nope2 b);\n"                  /* 7 */
                        "    HRESULT C([in] long c);\n"                   /* 8 */
                        "}\n"                                             /* 9 */
                        "const long K = 1 +;\n"                           /* 10 */
                        "typedef enum { E1, E2 = 1 << 3, E3 } E;\n"       /* 11 */
                        "[object, uuid(" UUID2 ")]\n"                     /* 12 */
                        "interface IB : IA { HRESULT D(void); }\n");      /* 13 */
    assert_error_at(&h, "unknown type name 'Nope1'", 2, 9);
    assert_error_at(&h, "expected type, found '5'", 3, 26);
    assert_error_at(&h, "expected type, found ')'", 6, 28);
    assert_error_at(&h, "unknown type name 'Nope2'", 7, 20);
    assert_error_at(&h, "expected expression, found ';'", 10, 19);
    assert_errors(&h, 5);
    /* the later declarations are in the AST */
    struct idl_decl *ia = top(&h, DECL_INTERFACE, "IA");
    assert_non_null(find_in(&ia->members, DECL_METHOD, "B", 0));
    struct idl_decl *c = find_in(&ia->members, DECL_METHOD, "C", 0);
    assert_non_null(c);
    assert_int_equal(c->members.len, 1);
    assert_null(find_in(&ia->members, DECL_METHOD, "A", 0));
    struct idl_decl *e = top(&h, DECL_TYPEDEF, "E");
    assert_non_null(e->inline_def);
    assert_int_equal(e->inline_def->members.len, 3);
    assert_int_equal(const_int(&h, member(e->inline_def, 2)), 9);
    struct idl_decl *ib = top(&h, DECL_INTERFACE, "IB");
    assert_ptr_equal(ib->base, ia);
    /* the struct with the bad member keeps its good one */
    struct idl_decl *t2 = top(&h, DECL_TYPEDEF, "T2");
    assert_int_equal(t2->inline_def->members.len, 1);
    harness_free(&h);
}

/* Errors inside a block do not lose the block's closing brace. */
static void recovery_inside_blocks(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "[uuid(" UUID1 ")]\n"
                        "library L {\n"
                        "    [uuid(" UUID2 ")] coclass C { foo; interface ; [default] interface IX; }\n"
                        "    const long = 3;\n"
                        "    typedef long InLib;\n"
                        "}\n"
                        "typedef long After;\n"
                        "[local] interface IX { void f(void); }\n");
    assert_error_at(&h, "expected 'interface' in coclass, found 'foo'", 3, 62);
    assert_error_at(&h, "expected interface name, found ';'", 3, 77);
    assert_error_at(&h, "expected a declaration", 4, 16);
    assert_errors(&h, 3);
    struct idl_decl *l = top(&h, DECL_LIBRARY, "L");
    struct idl_decl *c = find_in(&l->members, DECL_COCLASS, "C", 0);
    assert_non_null(c);
    assert_int_equal(c->members.len, 1);
    assert_string_equal(member(c, 0)->name, "IX");
    assert_non_null(find_in(&l->members, DECL_TYPEDEF, "InLib", 0));
    top(&h, DECL_TYPEDEF, "After");
    harness_free(&h);
}

static void method_syntax_errors(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"
                        "[object, uuid(" UUID1 ")]\n"
                        "interface IA : IUnknown {\n"
                        "    long x;\n"
                        "    HRESULT;\n"
                        "    HRESULT M([in] long a;\n"
                        "    HRESULT Ok(void);\n"
                        "}\n"
                        "module M { long y; }\n");
    assert_error_at(&h, "expected method declaration", 4, 10);
    assert_error_at(&h, "expected ')' to close parameter list, found ';'", 6, 26);
    assert_error_at(&h, "expected a declaration", 9, 17);
    struct idl_decl *ia = top(&h, DECL_INTERFACE, "IA");
    assert_non_null(find_in(&ia->members, DECL_METHOD, "Ok", 0));
    harness_free(&h);
}

/* ---- AST shape ---- */

static void interface_shape(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"                                            /* 1 */
                        "[object, uuid(" UUID1 "), pointer_default(unique)]\n"               /* 2 */
                        "interface IShape : IUnknown\n"                                      /* 3 */
                        "{\n"                                                                /* 4 */
                        "    HRESULT Area([out, retval] double *area);\n"                    /* 5 */
                        "    HRESULT Move([in] long dx, [in] long dy);\n"                    /* 6 */
                        "    [propget] HRESULT Name([out, retval] BSTR_ *name);\n"           /* 7 */
                        "    HRESULT Many([in] ULONG n, [in, size_is(n)] const long *v, [in, out, unique] IShape **pp);\n"
                        "    [local] void *Raw(void);\n"                                     /* 9 */
                        "}\n");
    /* BSTR_ is unknown: one error, the rest of the interface is intact */
    assert_error_at(&h, "unknown type name 'BSTR_'", 7, 42);
    assert_errors(&h, 1);
    struct idl_decl *d = top(&h, DECL_INTERFACE, "IShape");
    assert_loc(d->loc, 3, 11);
    assert_true(d->defined);
    assert_true(d->is_object);
    assert_false(d->is_local);
    assert_false(d->imported);
    assert_string_equal(d->base_name, "IUnknown");
    assert_loc(d->base_loc, 3, 20);
    assert_non_null(d->base);
    assert_string_equal(d->base->name, "IUnknown");
    assert_true(d->base->imported);
    assert_int_equal(d->attrs.len, 3);
    assert_true(attr(&d->attrs, "uuid")->has_uuid);
    assert_int_equal(d->members.len, 5);

    struct idl_decl *area = member(d, 0);
    assert_int_equal(area->kind, DECL_METHOD);
    assert_string_equal(area->name, "Area");
    assert_loc(area->loc, 5, 13);
    assert_ptr_equal(area->parent, d);
    assert_named(area->type, "HRESULT");
    assert_int_equal(area->members.len, 1);
    struct idl_decl *p = member(area, 0);
    assert_int_equal(p->kind, DECL_PARAM);
    assert_string_equal(p->name, "area");
    assert_loc(p->loc, 5, 40);
    assert_ptr_equal(p->parent, area);
    assert_int_equal(p->attrs.len, 2);
    assert_loc(attr(&p->attrs, "out")->loc, 5, 19);
    assert_loc(attr(&p->attrs, "retval")->loc, 5, 24);
    assert_int_equal(p->type->kind, TY_POINTER);
    assert_base(p->type->ref, BT_DOUBLE);

    struct idl_decl *move = member(d, 1);
    assert_int_equal(move->members.len, 2);
    assert_string_equal(member(move, 1)->name, "dy");
    assert_base(member(move, 1)->type, BT_LONG);

    struct idl_decl *name = member(d, 2);
    assert_string_equal(name->name, "Name");
    assert_loc(name->loc, 7, 23);
    attr(&name->attrs, "propget");

    struct idl_decl *many = member(d, 3);
    assert_int_equal(many->members.len, 3);
    struct idl_decl *v = member(many, 1);
    assert_int_equal(v->type->kind, TY_POINTER);
    assert_base(v->type->ref, BT_LONG);
    assert_true(v->type->ref->is_const);
    struct idl_decl *pp = member(many, 2);
    assert_int_equal(pp->attrs.len, 3);
    assert_int_equal(pp->type->kind, TY_POINTER);
    assert_int_equal(pp->type->ref->kind, TY_POINTER);
    assert_int_equal(pp->type->ref->ref->kind, TY_INTERFACE);
    assert_ptr_equal(pp->type->ref->ref->decl, d);

    struct idl_decl *raw = member(d, 4);
    assert_int_equal(raw->members.len, 0);
    assert_int_equal(raw->type->kind, TY_POINTER);
    assert_base(raw->type->ref, BT_VOID);
    harness_free(&h);
}

static void rpc_interface_functions(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "[uuid(" UUID1 "), version(1.0)]\n"
                        "interface IRpc {\n"
                        "    void Ping([in] handle_t h);\n"
                        "    long Sum([in] long a, [in] long b, ...);\n"
                        "}\n");
    assert_clean(&h);
    struct idl_decl *d = top(&h, DECL_INTERFACE, "IRpc");
    assert_false(d->is_object);
    assert_null(d->base_name);
    assert_int_equal(member(d, 0)->kind, DECL_FUNCTION);
    assert_base(member(member(d, 0), 0)->type, BT_HANDLE);
    /* the ellipsis is not a parameter */
    assert_int_equal(member(d, 1)->members.len, 2);
    harness_free(&h);
}

/* A const-qualified return type makes a method, not a constant; '=' makes a constant. */
static void const_return_type_is_a_method(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "[local] interface IL {\n"
                        "    const char *Name(void);\n"
                        "    const long K = 1;\n"
                        "    const char *const *Names([in] long n);\n"
                        "}\n");
    assert_clean(&h);
    struct idl_decl *il = top(&h, DECL_INTERFACE, "IL");
    assert_int_equal(il->members.len, 3);
    struct idl_decl *name = member(il, 0);
    assert_int_equal(name->kind, DECL_FUNCTION);
    assert_string_equal(name->name, "Name");
    assert_loc(name->loc, 2, 17);
    assert_int_equal(name->type->kind, TY_POINTER);
    assert_base(name->type->ref, BT_CHAR);
    assert_true(name->type->ref->is_const);
    struct idl_decl *k = member(il, 1);
    assert_int_equal(k->kind, DECL_CONST);
    assert_int_equal(const_int(&h, k), 1);
    assert_ptr_equal(k->parent, il);
    struct idl_decl *names = member(il, 2);
    assert_int_equal(names->kind, DECL_FUNCTION);
    assert_int_equal(names->members.len, 1);
    assert_true(names->type->ref->is_const);
    harness_free(&h);
}

static void forward_declaration_then_definition(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"
                        "interface IB;\n"
                        "[object, uuid(" UUID1 ")]\n"
                        "interface IA : IUnknown { HRESULT Get([out] IB **pp); }\n"
                        "[object, uuid(" UUID2 ")]\n"
                        "interface IB : IUnknown { HRESULT Back([in] IA *p); }\n"
                        "interface IA;\n");
    assert_clean(&h);
    struct idl_vec *decls = &main_file(&h)->decls;
    struct idl_decl *fwd = find_in(decls, DECL_INTERFACE, "IB", 0);
    struct idl_decl *def = find_in(decls, DECL_INTERFACE, "IB", 1);
    assert_non_null(fwd);
    assert_non_null(def);
    assert_ptr_not_equal(fwd, def);
    assert_false(fwd->defined);
    assert_ptr_equal(fwd->definition, def);
    assert_loc(fwd->loc, 2, 11);
    assert_true(def->defined);
    assert_null(def->definition);
    assert_loc(def->loc, 6, 11);
    assert_int_equal(def->members.len, 1);
    /* the name stands for the definition */
    assert_ptr_equal(idl_symtab_get(h.c.types, "IB"), def);
    /* a use before the definition names the same declaration */
    struct idl_decl *ia = find_in(decls, DECL_INTERFACE, "IA", 0);
    struct idl_type *t = member(member(ia, 0), 0)->type;
    assert_int_equal(t->ref->ref->kind, TY_INTERFACE);
    assert_ptr_equal(t->ref->ref->decl, def);
    /* a forward declaration after the definition */
    struct idl_decl *late = find_in(decls, DECL_INTERFACE, "IA", 1);
    assert_non_null(late);
    assert_false(late->defined);
    assert_ptr_equal(late->definition, ia);
    harness_free(&h);
}

static void typedef_struct_nested_anonymous(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "typedef struct tagOUTER {\n"              /* 1 */
                        "    long id;\n"                           /* 2 */
                        "    struct {\n"                           /* 3 */
                        "        short w, h;\n"                    /* 4 */
                        "        struct { char c; } deep;\n"       /* 5 */
                        "    } size;\n"                            /* 6 */
                        "    struct tagINNER { long v; } named;\n" /* 7 */
                        "    struct tagINNER again;\n"             /* 8 */
                        "} OUTER, *POUTER;\n");                    /* 9 */
    assert_clean(&h);
    struct idl_decl *outer = top(&h, DECL_TYPEDEF, "OUTER");
    assert_loc(outer->loc, 9, 3);
    assert_int_equal(outer->type->kind, TY_STRUCT);
    struct idl_decl *s = outer->type->decl;
    assert_ptr_equal(outer->inline_def, s);
    assert_string_equal(s->name, "tagOUTER");
    assert_loc(s->loc, 1, 16);
    assert_true(s->defined);
    assert_ptr_equal(idl_symtab_get(h.c.tags, "tagOUTER"), s);
    assert_int_equal(s->members.len, 4);
    struct idl_decl *size = member(s, 1);
    assert_int_equal(size->kind, DECL_FIELD);
    assert_string_equal(size->name, "size");
    assert_loc(size->loc, 6, 7);
    assert_int_equal(size->type->kind, TY_STRUCT);
    struct idl_decl *anon = size->type->decl;
    assert_null(anon->name);
    assert_true(anon->defined);
    /* short w, h; is two fields of one type */
    assert_int_equal(anon->members.len, 3);
    assert_string_equal(member(anon, 0)->name, "w");
    assert_string_equal(member(anon, 1)->name, "h");
    assert_ptr_equal(member(anon, 0)->type, member(anon, 1)->type);
    assert_ptr_equal(member(anon, 0)->parent, anon);
    struct idl_decl *deep = member(anon, 2);
    assert_int_equal(deep->type->kind, TY_STRUCT);
    assert_int_equal(deep->type->decl->members.len, 1);
    assert_base(member(deep->type->decl, 0)->type, BT_CHAR);
    /* a named inner struct, then a reference to it */
    struct idl_decl *inner = member(s, 2)->type->decl;
    assert_string_equal(inner->name, "tagINNER");
    assert_ptr_equal(member(s, 3)->type->decl, inner);
    /* the second declarator is a pointer to the same struct, without the inline definition */
    struct idl_decl *pouter = top(&h, DECL_TYPEDEF, "POUTER");
    assert_int_equal(pouter->type->kind, TY_POINTER);
    assert_ptr_equal(pouter->type->ref->decl, s);
    assert_null(pouter->inline_def);
    harness_free(&h);
}

static void encapsulated_union(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "typedef union tagVAL switch (short kind) u {\n" /* 1 */
                        "    case 1: long l;\n"                           /* 2 */
                        "    case 2: case 3: double d;\n"                 /* 3 */
                        "    case 4: ;\n"                                 /* 4 */
                        "    default: [string] char *s;\n"                /* 5 */
                        "} VAL;\n");
    assert_clean(&h);
    struct idl_decl *t = top(&h, DECL_TYPEDEF, "VAL");
    assert_int_equal(t->type->kind, TY_UNION);
    struct idl_decl *u = t->type->decl;
    assert_ptr_equal(t->inline_def, u);
    assert_int_equal(u->kind, DECL_UNION);
    assert_string_equal(u->name, "tagVAL");
    assert_true(u->encapsulated);
    assert_base(u->switch_type, BT_SHORT);
    assert_string_equal(u->switch_name, "kind");
    assert_string_equal(u->union_name, "u");
    assert_int_equal(u->members.len, 4);
    struct idl_decl *l = member(u, 0);
    assert_string_equal(l->name, "l");
    assert_non_null(l->arm_case);
    assert_int_equal(l->arm_case->values.len, 1);
    assert_false(l->arm_case->is_default);
    assert_int_equal(expr_int(&h, l->arm_case->values.items[0]), 1);
    assert_loc(l->arm_case->loc, 2, 5);
    struct idl_decl *d = member(u, 1);
    assert_int_equal(d->arm_case->values.len, 2);
    assert_int_equal(expr_int(&h, d->arm_case->values.items[0]), 2);
    assert_int_equal(expr_int(&h, d->arm_case->values.items[1]), 3);
    struct idl_decl *empty = member(u, 2);
    assert_true(empty->empty_arm);
    assert_null(empty->name);
    assert_int_equal(expr_int(&h, empty->arm_case->values.items[0]), 4);
    struct idl_decl *s = member(u, 3);
    assert_true(s->arm_case->is_default);
    assert_int_equal(s->arm_case->values.len, 0);
    attr(&s->attrs, "string");
    harness_free(&h);
}

static void non_encapsulated_union(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "const long TWO = 2;\n"
                        "typedef [switch_type(long)] union tagNU {\n"
                        "    [case(1)] long a;\n"
                        "    [case(TWO, TWO + 1)] float b;\n"
                        "    [case(-1)] ;\n"
                        "    [default] hyper c;\n"
                        "} NU;\n"
                        "typedef struct { long k; [switch_is(k)] NU u; } HOLDER;\n");
    assert_clean(&h);
    struct idl_decl *t = top(&h, DECL_TYPEDEF, "NU");
    struct idl_decl *u = t->type->decl;
    assert_false(u->encapsulated);
    assert_null(u->switch_type);
    assert_base(attr(&t->attrs, "switch_type")->type_arg, BT_LONG);
    assert_int_equal(u->members.len, 4);
    assert_int_equal(expr_int(&h, member(u, 0)->arm_case->values.items[0]), 1);
    struct idl_case *two = member(u, 1)->arm_case;
    assert_int_equal(two->values.len, 2);
    assert_int_equal(expr_int(&h, two->values.items[0]), 2);
    assert_int_equal(expr_int(&h, two->values.items[1]), 3);
    assert_loc(two->loc, 4, 5);
    assert_true(member(u, 2)->empty_arm);
    assert_int_equal(expr_int(&h, member(u, 2)->arm_case->values.items[0]), -1);
    assert_true(member(u, 3)->arm_case->is_default);
    assert_base(member(u, 3)->type, BT_HYPER);
    harness_free(&h);
}

static void union_syntax_errors(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "typedef union switch (long k) U1 { long a; } T1;\n"
                        "typedef [switch_type(long)] union { long a; [case(1)] long b; } T2;\n"
                        "typedef union switch (long k) U3 { case 1 long a; } T3;\n"
                        "typedef long Ok;\n");
    assert_error_at(&h, "expected 'case' or 'default' in union, found 'long'", 1, 36);
    assert_error_at(&h, "union arm needs a [case(...)] or [default] attribute", 2, 37);
    assert_error_at(&h, "expected ':' after case label, found 'long'", 3, 43);
    top(&h, DECL_TYPEDEF, "Ok");
    harness_free(&h);
}

static void enum_values(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "const long BASE = 100;\n"
                        "typedef enum tagE {\n"
                        "    E_A,\n"
                        "    E_B,\n"
                        "    E_C = 10,\n"
                        "    E_D,\n"
                        "    E_BIT = 1 << 3,\n"
                        "    E_OR = E_A | E_BIT | 4,\n"
                        "    E_NEG = -5,\n"
                        "    E_NEXT,\n"
                        "    E_CHR = 'A',\n"
                        "    E_EXPR = (BASE + E_C) * 2 - ~0,\n"
                        "    E_HEX = 0x7fffffff,\n"
                        "    E_COND = E_B > 0 ? 7 : 8,\n"
                        "} E;\n"
                        "enum tagF { F_A = E_D + 1 };\n");
    assert_clean(&h);
    struct idl_decl *e = top(&h, DECL_TYPEDEF, "E")->inline_def;
    assert_non_null(e);
    assert_int_equal(e->kind, DECL_ENUM);
    static const struct {
        const char *name;
        int64_t value;
    } want[] = {{"E_A", 0},   {"E_B", 1},     {"E_C", 10},   {"E_D", 11},   {"E_BIT", 8},
                {"E_OR", 12}, {"E_NEG", -5},  {"E_NEXT", -4}, {"E_CHR", 65}, {"E_EXPR", 221},
                {"E_HEX", 0x7fffffff}, {"E_COND", 7}};
    assert_int_equal(e->members.len, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        struct idl_decl *m = member(e, i);
        assert_int_equal(m->kind, DECL_ENUMERATOR);
        assert_string_equal(m->name, want[i].name);
        assert_ptr_equal(m->parent, e);
        assert_int_equal(const_int(&h, m), want[i].value);
        /* enumerators are values */
        assert_ptr_equal(idl_symtab_get(h.c.values, want[i].name), m);
    }
    assert_loc(member(e, 3)->loc, 6, 5);
    /* a bare enum at top level */
    struct idl_decl *f = top(&h, DECL_ENUM, "tagF");
    assert_int_equal(const_int(&h, member(f, 0)), 12);
    harness_free(&h);
}

static void arrays_multi_dimensional(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "const long N = 3;\n"
                        "typedef long M[2][N][N + 1];\n"
                        "typedef struct { long n; [size_is(n)] short items[*]; } CS;\n"
                        "typedef struct { long n; [size_is(n)] short items[][4]; } CS2;\n"
                        "typedef char *PA[5];\n"
                        "typedef long (*AP)[5];\n");
    assert_clean(&h);
    struct idl_type *t = top(&h, DECL_TYPEDEF, "M")->type;
    assert_int_equal(t->kind, TY_ARRAY);
    assert_int_equal(expr_int(&h, t->size), 2);
    assert_loc(t->loc, 2, 15);
    assert_int_equal(t->ref->kind, TY_ARRAY);
    assert_int_equal(expr_int(&h, t->ref->size), 3);
    assert_int_equal(t->ref->ref->kind, TY_ARRAY);
    assert_int_equal(expr_int(&h, t->ref->ref->size), 4);
    assert_base(t->ref->ref->ref, BT_LONG);
    /* [*] and [] are conformant: no size */
    struct idl_decl *cs = top(&h, DECL_TYPEDEF, "CS")->inline_def;
    struct idl_type *items = member(cs, 1)->type;
    assert_int_equal(items->kind, TY_ARRAY);
    assert_null(items->size);
    struct idl_type *items2 = member(top(&h, DECL_TYPEDEF, "CS2")->inline_def, 1)->type;
    assert_null(items2->size);
    assert_int_equal(expr_int(&h, items2->ref->size), 4);
    /* array of pointers, and pointer to array */
    struct idl_type *pa = top(&h, DECL_TYPEDEF, "PA")->type;
    assert_int_equal(pa->kind, TY_ARRAY);
    assert_int_equal(pa->ref->kind, TY_POINTER);
    struct idl_type *ap = top(&h, DECL_TYPEDEF, "AP")->type;
    assert_int_equal(ap->kind, TY_POINTER);
    assert_int_equal(ap->ref->kind, TY_ARRAY);
    assert_base(ap->ref->ref, BT_LONG);
    harness_free(&h);
}

static void function_pointer_typedef(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"
                        "typedef HRESULT (*PFN)([in] long a, [in] void *ctx);\n"
                        "typedef void __stdcall (*PFN_CC)(void);\n"
                        "typedef long FN(long);\n"
                        "typedef void (**PPFN)(int, ...);\n"
                        "typedef void (*(*PPFN2))(void);\n"
                        "typedef void *(*PFN_RET)(void);\n");
    assert_clean(&h);
    struct idl_decl *pfn = top(&h, DECL_TYPEDEF, "PFN");
    assert_loc(pfn->loc, 2, 19);
    struct idl_type *t = pfn->type;
    assert_int_equal(t->kind, TY_POINTER);
    assert_int_equal(t->ref->kind, TY_FUNCTION);
    assert_named(t->ref->ref, "HRESULT");
    assert_int_equal(t->ref->params.len, 2);
    struct idl_decl *a = t->ref->params.items[0];
    assert_int_equal(a->kind, DECL_PARAM);
    assert_string_equal(a->name, "a");
    attr(&a->attrs, "in");
    struct idl_decl *ctx = t->ref->params.items[1];
    assert_string_equal(ctx->name, "ctx");
    assert_int_equal(ctx->type->kind, TY_POINTER);
    /* a calling convention is accepted (where it is kept: see bug_callconv_*) */
    struct idl_type *cc = top(&h, DECL_TYPEDEF, "PFN_CC")->type;
    assert_int_equal(cc->kind, TY_POINTER);
    assert_int_equal(cc->ref->kind, TY_FUNCTION);
    assert_int_equal(cc->ref->params.len, 0);
    /* a function type, not a pointer */
    struct idl_type *fn = top(&h, DECL_TYPEDEF, "FN")->type;
    assert_int_equal(fn->kind, TY_FUNCTION);
    assert_int_equal(fn->params.len, 1);
    assert_null(((struct idl_decl *)fn->params.items[0])->name);
    struct idl_type *ppfn = top(&h, DECL_TYPEDEF, "PPFN")->type;
    assert_int_equal(ppfn->kind, TY_POINTER);
    assert_int_equal(ppfn->ref->kind, TY_POINTER);
    assert_int_equal(ppfn->ref->ref->kind, TY_FUNCTION);
    assert_int_equal(ppfn->ref->ref->params.len, 1);
    /* (*(*P)) is (**P) */
    struct idl_type *pp2 = top(&h, DECL_TYPEDEF, "PPFN2")->type;
    assert_int_equal(pp2->kind, TY_POINTER);
    assert_int_equal(pp2->ref->kind, TY_POINTER);
    assert_int_equal(pp2->ref->ref->kind, TY_FUNCTION);
    assert_base(pp2->ref->ref->ref, BT_VOID);
    /* a pointer to a function returning void * */
    struct idl_type *ret = top(&h, DECL_TYPEDEF, "PFN_RET")->type;
    assert_int_equal(ret->kind, TY_POINTER);
    assert_int_equal(ret->ref->kind, TY_FUNCTION);
    assert_int_equal(ret->ref->ref->kind, TY_POINTER);
    assert_base(ret->ref->ref->ref, BT_VOID);
    harness_free(&h);
}

static void const_declarations(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "const long DEC = 42;\n"
                        "const unsigned long HEX = 0xFF;\n"
                        "const long OCT = 0755;\n"
                        "const long NEG = -17;\n"
                        "const char *STR = \"a\\tb\" \"c\";\n"
                        "const wchar_t *WSTR = L\"wide\";\n"
                        "const char CH = 'x';\n"
                        "const hyper BIG = 0x7fffffffffffffff;\n"
                        "const unsigned long U = 4000000000u;\n"
                        "const double PI = 3.25;\n"
                        "const long EXPR = (DEC + NEG) % 10;\n"
                        "const boolean B = 1 == 1;\n");
    assert_clean(&h);
    struct idl_decl *dec = top(&h, DECL_CONST, "DEC");
    assert_loc(dec->loc, 1, 12);
    assert_base(dec->type, BT_LONG);
    assert_int_equal(dec->value->kind, EXPR_INT);
    assert_string_equal(dec->value->text, "42");
    assert_int_equal(const_int(&h, dec), 42);
    struct idl_decl *hex = top(&h, DECL_CONST, "HEX");
    assert_true(hex->type->is_unsigned);
    assert_string_equal(hex->value->text, "0xFF");
    assert_int_equal(const_int(&h, hex), 255);
    assert_int_equal(const_int(&h, top(&h, DECL_CONST, "OCT")), 0755);
    struct idl_decl *neg = top(&h, DECL_CONST, "NEG");
    assert_int_equal(neg->value->kind, EXPR_UNARY);
    assert_int_equal(neg->value->op, '-');
    assert_int_equal(const_int(&h, neg), -17);
    struct idl_decl *str = top(&h, DECL_CONST, "STR");
    assert_int_equal(str->type->kind, TY_POINTER);
    assert_base(str->type->ref, BT_CHAR);
    assert_int_equal(str->value->kind, EXPR_STRING);
    assert_false(str->value->wide);
    /* kept as written (escapes and all), the pieces joined */
    assert_string_equal(str->value->text, "a\\tbc");
    struct idl_value v;
    assert_true(idl_eval_decl_value(&h.c, str, &v));
    assert_int_equal(v.kind, VAL_STRING);
    struct idl_decl *wstr = top(&h, DECL_CONST, "WSTR");
    assert_base(wstr->type->ref, BT_WCHAR);
    assert_true(wstr->value->wide);
    assert_string_equal(wstr->value->text, "wide");
    struct idl_decl *ch = top(&h, DECL_CONST, "CH");
    assert_int_equal(ch->value->kind, EXPR_CHAR);
    assert_int_equal(const_int(&h, ch), 'x');
    assert_int_equal(const_int(&h, top(&h, DECL_CONST, "BIG")), INT64_MAX);
    struct idl_decl *u = top(&h, DECL_CONST, "U");
    assert_true(u->value->is_unsigned);
    assert_int_equal(const_int(&h, u), 4000000000);
    struct idl_decl *pi = top(&h, DECL_CONST, "PI");
    assert_int_equal(pi->value->kind, EXPR_FLOAT);
    assert_true(idl_eval_decl_value(&h.c, pi, &v));
    assert_int_equal(v.kind, VAL_FLOAT);
    assert_true(v.f == 3.25);
    assert_int_equal(const_int(&h, top(&h, DECL_CONST, "EXPR")), 5);
    assert_int_equal(const_int(&h, top(&h, DECL_CONST, "B")), 1);
    /* constants are values, not types */
    assert_ptr_equal(idl_symtab_get(h.c.values, "DEC"), dec);
    assert_null(idl_symtab_get(h.c.types, "DEC"));
    harness_free(&h);
}

/* Operators bind as in C. */
static void expression_precedence(void **state)
{
    (void)state;
    static const struct {
        const char *expr;
        int64_t value;
    } cases[] = {
        {"1 << 2 + 1", 8},       {"2 + 3 * 4", 14},      {"1 | 2 ^ 3 & 4", 3},    {"-2 * 3", -6},
        {"10 - 4 - 3", 3},       {"100 / 10 / 5", 2},    {"7 % 4 * 2", 6},        {"1 < 2 == 1", 1},
        {"1 ? 2 : 3 ? 4 : 5", 2}, {"0 ? 2 : 0 ? 4 : 5", 5}, {"0 || 1 && 0", 0},  {"(1 + 2) * 3", 9},
        {"~0 & 0xff", 255},      {"!0 + 1", 2},          {"1 << 2 >> 1", 2},      {"3 > 2 > 1", 0},
        {"2 >= 2 && 1 <= 0 || 5 != 5", 0}, {"- -3", 3},  {"+4", 4},               {"6 & 3 == 3", 0},
    };
    char text[4096], *p = text;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        p += sprintf(p, "const hyper X%zu = %s;\n", i, cases[i].expr);
    struct harness h = {0};
    harness_compile(&h, text);
    assert_clean(&h);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[16];
        snprintf(name, sizeof(name), "X%zu", i);
        int64_t v = const_int(&h, top(&h, DECL_CONST, name));
        if (v != cases[i].value)
            fprintf(stderr, "  %s = %lld, want %lld\n", cases[i].expr, (long long)v, (long long)cases[i].value);
        assert_int_equal(v, cases[i].value);
    }
    /* the tree of one: 1 + 2 * 3 is '+' over (2 * 3), located at the operator */
    struct harness h2 = {0};
    harness_compile(&h2, "const long Y = 1 + 2 * 3;\n");
    struct idl_expr *e = top(&h2, DECL_CONST, "Y")->value;
    assert_int_equal(e->kind, EXPR_BINARY);
    assert_int_equal(e->op, '+');
    assert_loc(e->loc, 1, 18);
    assert_int_equal(e->a->kind, EXPR_INT);
    assert_int_equal(e->b->kind, EXPR_BINARY);
    assert_int_equal(e->b->op, '*');
    assert_loc(e->b->loc, 1, 22);
    harness_free(&h2);
    harness_free(&h);
}

static void coclass_shape(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"
                        "[object, uuid(" UUID1 ")] interface IA : IUnknown { HRESULT A(void); }\n"
                        "[uuid(" UUID2 ")] dispinterface DEvents { properties: methods: }\n"
                        "[uuid(" UUID3 "), helpstring(\"C\")]\n"
                        "coclass Thing {\n"
                        "    [default] interface IA;\n"
                        "    [default, source] dispinterface DEvents;\n"
                        "    interface IUnknown;\n"
                        "};\n"
                        "coclass Later;\n");
    assert_clean(&h);
    struct idl_decl *c = top(&h, DECL_COCLASS, "Thing");
    assert_loc(c->loc, 5, 9);
    assert_int_equal(c->attrs.len, 2);
    assert_int_equal(c->members.len, 3);
    struct idl_decl *i0 = member(c, 0);
    assert_int_equal(i0->kind, DECL_COCLASS_ITEM);
    assert_string_equal(i0->name, "IA");
    assert_loc(i0->loc, 6, 25);
    attr(&i0->attrs, "default");
    assert_ptr_equal(i0->iface, top(&h, DECL_INTERFACE, "IA"));
    struct idl_decl *i1 = member(c, 1);
    assert_int_equal(i1->attrs.len, 2);
    attr(&i1->attrs, "source");
    assert_ptr_equal(i1->iface, top(&h, DECL_DISPINTERFACE, "DEvents"));
    assert_string_equal(member(c, 2)->iface->name, "IUnknown");
    /* a forward-declared coclass is not a declaration of its own */
    assert_null(find_in(&main_file(&h)->decls, DECL_COCLASS, "Later", 0));
    harness_free(&h);
}

static void library_with_importlib(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"
                        "[uuid(" UUID1 "), version(2.5), helpstring(\"L\")]\n"
                        "library MyLib\n"
                        "{\n"
                        "    importlib(\"stdole2.tlb\");\n"
                        "    importlib(\"a\" \".tlb\")\n"
                        "    [object, uuid(" UUID2 ")] interface IIn : IUnknown { HRESULT F(void); }\n"
                        "    typedef long LIBLONG;\n"
                        "    [uuid(" UUID3 ")] coclass C { interface IIn; }\n"
                        "};\n");
    assert_clean(&h);
    struct idl_decl *l = top(&h, DECL_LIBRARY, "MyLib");
    assert_loc(l->loc, 3, 9);
    struct idl_attr *v = attr(&l->attrs, "version");
    assert_int_equal(v->version_major, 2);
    assert_int_equal(v->version_minor, 5);
    assert_int_equal(l->members.len, 5);
    struct idl_decl *il = member(l, 0);
    assert_int_equal(il->kind, DECL_IMPORTLIB);
    assert_string_equal(il->name, "stdole2.tlb");
    assert_loc(il->loc, 5, 5);
    assert_ptr_equal(il->parent, l);
    /* pieces joined; the ';' is optional */
    assert_string_equal(member(l, 1)->name, "a.tlb");
    struct idl_decl *iin = member(l, 2);
    assert_int_equal(iin->kind, DECL_INTERFACE);
    assert_ptr_equal(iin->parent, l);
    assert_int_equal(member(l, 3)->kind, DECL_TYPEDEF);
    assert_ptr_equal(member(l, 3)->parent, l);
    assert_int_equal(member(l, 4)->kind, DECL_COCLASS);
    /* names inside a library are global */
    assert_ptr_equal(idl_symtab_get(h.c.types, "IIn"), iin);
    assert_ptr_equal(idl_symtab_get(h.c.types, "MyLib"), l);
    harness_free(&h);
}

static void module_shape(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "[dllname(\"native.dll\"), uuid(" UUID1 ")]\n"
                        "module Native {\n"
                        "    const long NATIVE_VERSION = 3;\n"
                        "    [entry(\"Init\")] long __stdcall Init([in] long flags);\n"
                        "    [entry(7)] void Done(void);\n"
                        "}\n");
    assert_clean(&h);
    struct idl_decl *m = top(&h, DECL_MODULE, "Native");
    assert_int_equal(m->members.len, 3);
    struct idl_decl *k = member(m, 0);
    assert_int_equal(k->kind, DECL_CONST);
    assert_ptr_equal(k->parent, m);
    assert_int_equal(const_int(&h, k), 3);
    struct idl_decl *init = member(m, 1);
    assert_int_equal(init->kind, DECL_FUNCTION);
    assert_string_equal(init->name, "Init");
    assert_loc(init->loc, 4, 36);
    assert_base(init->type, BT_LONG);
    assert_int_equal(init->members.len, 1);
    struct idl_attr *entry = attr(&init->attrs, "entry");
    assert_int_equal(((struct idl_expr *)entry->args.items[0])->kind, EXPR_STRING);
    assert_int_equal(member(m, 2)->kind, DECL_FUNCTION);
    harness_free(&h);
}

static void dispinterface_both_forms(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"
                        "[object, uuid(" UUID1 ")] interface IA : IUnknown { HRESULT A(void); }\n"
                        "[uuid(" UUID2 ")]\n"
                        "dispinterface DProps {\n"
                        "properties:\n"
                        "    [id(1)] long count;\n"
                        "    [id(2), readonly] double ratio, scale;\n"
                        "methods:\n"
                        "    [id(3)] void Reset(void);\n"
                        "    [id(4), propget] long Value([in] long i);\n"
                        "};\n"
                        "[uuid(" UUID3 ")]\n"
                        "dispinterface DFromIface {\n"
                        "    interface IA;\n"
                        "}\n"
                        "[uuid(" UUID4 ")]\n"
                        "dispinterface DMethodsOnly { methods: [id(1)] void M(void); }\n"
                        "dispinterface DFwd;\n");
    assert_clean(&h);
    struct idl_decl *d = top(&h, DECL_DISPINTERFACE, "DProps");
    assert_loc(d->loc, 4, 15);
    assert_true(d->defined);
    assert_null(d->disp_interface);
    assert_int_equal(d->members.len, 3);
    assert_int_equal(member(d, 0)->kind, DECL_FIELD);
    assert_string_equal(member(d, 0)->name, "count");
    assert_string_equal(member(d, 2)->name, "scale");
    attr(&member(d, 2)->attrs, "readonly");
    assert_int_equal(d->methods.len, 2);
    struct idl_decl *reset = d->methods.items[0];
    assert_int_equal(reset->kind, DECL_METHOD);
    assert_string_equal(reset->name, "Reset");
    assert_ptr_equal(reset->parent, d);
    struct idl_decl *value = d->methods.items[1];
    assert_int_equal(value->members.len, 1);
    struct idl_decl *f = top(&h, DECL_DISPINTERFACE, "DFromIface");
    assert_string_equal(f->disp_interface, "IA");
    assert_loc(f->base_loc, 14, 15);
    assert_int_equal(f->members.len, 0);
    assert_int_equal(f->methods.len, 0);
    struct idl_decl *mo = top(&h, DECL_DISPINTERFACE, "DMethodsOnly");
    assert_int_equal(mo->members.len, 0);
    assert_int_equal(mo->methods.len, 1);
    assert_null(find_in(&main_file(&h)->decls, DECL_DISPINTERFACE, "DFwd", 0));
    harness_free(&h);
}

static void import_marks_declarations_imported(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_add_file(&h, "base.idl", "import \"pcom.idl\";\n"
                                     "typedef long BASELONG;\n"
                                     "[object, uuid(" UUID1 ")]\n"
                                     "interface IBase : IUnknown { HRESULT B([in] BASELONG x); }\n"
                                     "const long BASE_K = 7;\n");
    harness_add_file(&h, "other.idl", "import \"base.idl\";\n"
                                      "typedef BASELONG OTHERLONG;\n");
    harness_compile(&h, "import \"base.idl\", \"other.idl\";\n"
                        "import \"base.idl\";\n"
                        "[object, uuid(" UUID2 ")]\n"
                        "interface IDerived : IBase { HRESULT D([in] OTHERLONG y); }\n"
                        "const long K = BASE_K * 2;\n");
    assert_clean(&h);
    /* test.idl, base.idl, pcom.idl, other.idl: each read once */
    assert_int_equal(h.c.files.len, 4);
    struct idl_file *mainf = main_file(&h);
    assert_false(mainf->imported);
    assert_null(mainf->import_name);
    struct idl_decl *imp = find_in(&mainf->decls, DECL_IMPORT, NULL, 0);
    assert_non_null(imp);
    assert_int_equal(imp->import_names.len, 2);
    assert_string_equal(imp->import_names.items[0], "base.idl");
    assert_string_equal(imp->import_names.items[1], "other.idl");
    assert_loc(imp->loc, 1, 1);
    assert_non_null(find_in(&mainf->decls, DECL_IMPORT, NULL, 1));
    struct idl_file *base = h.c.files.items[1];
    assert_string_equal(base->import_name, "base.idl");
    assert_true(base->imported);
    for (size_t i = 0; i < base->decls.len; i++)
        assert_true(((struct idl_decl *)base->decls.items[i])->imported);
    struct idl_decl *ibase = find_in(&base->decls, DECL_INTERFACE, "IBase", 0);
    assert_non_null(ibase);
    assert_true(ibase->imported);
    assert_string_equal(ibase->loc.file, "base.idl");
    assert_int_equal(ibase->loc.line, 4);
    /* methods and parameters of an imported interface are imported too */
    assert_true(member(ibase, 0)->imported);
    assert_true(member(member(ibase, 0), 0)->imported);
    struct idl_decl *der = top(&h, DECL_INTERFACE, "IDerived");
    assert_false(der->imported);
    assert_ptr_equal(der->base, ibase);
    assert_int_equal(const_int(&h, top(&h, DECL_CONST, "K")), 14);
    struct idl_file *other = h.c.files.items[3];
    assert_string_equal(other->import_name, "other.idl");
    assert_true(find_in(&other->decls, DECL_TYPEDEF, "OTHERLONG", 0)->imported);
    /* every file read is a dependency */
    assert_int_equal(h.c.deps.len, 4);
    harness_free(&h);
}

static void import_cycle_and_missing(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_add_file(&h, "a.idl", "import \"b.idl\";\ntypedef long A_T;\n");
    harness_add_file(&h, "b.idl", "import \"a.idl\";\nimport \"test.idl\";\ntypedef long B_T;\n");
    harness_compile(&h, "import \"a.idl\";\n"
                        "import  \"missing.idl\";\n"
                        "typedef A_T X;\n"
                        "typedef B_T Y;\n");
    assert_error_at(&h, "cannot find imported file 'missing.idl'", 2, 9);
    assert_errors(&h, 1);
    assert_int_equal(h.c.files.len, 3);
    top(&h, DECL_TYPEDEF, "X");
    top(&h, DECL_TYPEDEF, "Y");
    harness_free(&h);
}

static void errors_in_imported_file_are_located_there(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_add_file(&h, "bad.idl", "typedef long OK1;\n  typedef Nope BAD;\n");
    harness_compile(&h, "import \"bad.idl\";\ntypedef OK1 Z;\n");
    const struct diag_record *d = harness_find(&h, IDL_ERROR, "unknown type name 'Nope'");
    assert_non_null(d);
    assert_string_equal(d->file, "bad.idl");
    assert_int_equal(d->line, 2);
    assert_int_equal(d->col, 11);
    assert_errors(&h, 1);
    harness_free(&h);
}

static void cpp_quote_shape(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "cpp_quote(\"#include <stdio.h>\")\n"
                        "cpp_quote(\"#define X \\\"q\\\"\");\n"
                        "cpp_quote(\"a\" \"b\")\n"
                        "typedef struct { cpp_quote(\"no\") long x; } S;\n"
                        "typedef long After;\n");
    assert_error_at(&h, "cpp_quote is not allowed inside a struct", 4, 18);
    assert_errors(&h, 1);
    struct idl_decl *q0 = find_in(&main_file(&h)->decls, DECL_CPP_QUOTE, NULL, 0);
    assert_non_null(q0);
    assert_string_equal(q0->name, "#include <stdio.h>");
    assert_loc(q0->loc, 1, 1);
    struct idl_decl *q1 = find_in(&main_file(&h)->decls, DECL_CPP_QUOTE, NULL, 1);
    /* the text is unescaped */
    assert_string_equal(q1->name, "#define X \"q\"");
    struct idl_decl *q2 = find_in(&main_file(&h)->decls, DECL_CPP_QUOTE, NULL, 2);
    assert_string_equal(q2->name, "ab");
    assert_null(find_in(&main_file(&h)->decls, DECL_CPP_QUOTE, NULL, 3));
    top(&h, DECL_TYPEDEF, "After");
    harness_free(&h);
}

static void midl_pragma_shape(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "midl_pragma warning( disable : 2111 2112 )\n"
                        "midl_pragma warning(default: 2111);\n"
                        "typedef long After;\n");
    assert_clean(&h);
    struct idl_decl *p0 = find_in(&main_file(&h)->decls, DECL_PRAGMA, NULL, 0);
    assert_non_null(p0);
    assert_loc(p0->loc, 1, 1);
    struct idl_decl *p1 = find_in(&main_file(&h)->decls, DECL_PRAGMA, NULL, 1);
    assert_non_null(p1);
    assert_loc(p1->loc, 2, 1);
    assert_int_equal(main_file(&h)->decls.len, 3);
    top(&h, DECL_TYPEDEF, "After");
    harness_free(&h);
}

/* Typedefs, constants and enums inside an interface belong to it. */
static void declarations_inside_interface(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"
                        "[object, uuid(" UUID1 ")]\n"
                        "interface IA : IUnknown {\n"
                        "    typedef enum { IA_ONE = 1 } IA_ENUM;\n"
                        "    const long IA_MAX = 10;\n"
                        "    struct IA_S { long x; };\n"
                        "    HRESULT Use([in] IA_ENUM e, [in] struct IA_S *s);\n"
                        "}\n");
    assert_clean(&h);
    struct idl_decl *ia = top(&h, DECL_INTERFACE, "IA");
    assert_int_equal(ia->members.len, 4);
    assert_int_equal(member(ia, 0)->kind, DECL_TYPEDEF);
    assert_ptr_equal(member(ia, 0)->parent, ia);
    assert_int_equal(member(ia, 1)->kind, DECL_CONST);
    assert_int_equal(member(ia, 2)->kind, DECL_STRUCT);
    assert_string_equal(member(ia, 2)->name, "IA_S");
    assert_int_equal(member(ia, 3)->kind, DECL_METHOD);
    harness_free(&h);
}

/* ---- the nesting limit ---- */

static char *repeat3(const char *head, const char *open, int n, const char *mid, const char *close, const char *tail)
{
    size_t len = strlen(head) + (strlen(open) + strlen(close)) * (size_t)n + strlen(mid) + strlen(tail) + 1;
    char *s = malloc(len), *p = s;
    assert_non_null(s);
    p += sprintf(p, "%s", head);
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s", open);
    p += sprintf(p, "%s", mid);
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s", close);
    sprintf(p, "%s", tail);
    return s;
}

static void nesting_limit_parentheses(void **state)
{
    (void)state;
    char *text = repeat3("const long X = ", "(", 10000, "1", ")", ";\ntypedef long After;\n");
    struct harness h = {0};
    harness_compile(&h, text);
    assert_int_equal(count_diags(&h, IDL_ERROR, "nested more than 128 deep"), 1);
    assert_error_at(&h, "declarations or expressions nested more than 128 deep", 1, 80);
    /* the rest of the file is skipped */
    assert_errors(&h, 1);
    assert_null(find_in(&main_file(&h)->decls, DECL_TYPEDEF, "After", 0));
    harness_free(&h);
    free(text);

    /* within the limit, parentheses are fine */
    text = repeat3("const long Y = ", "(", 40, "2", ")", ";\n");
    struct harness h2 = {0};
    harness_compile(&h2, text);
    assert_clean(&h2);
    assert_int_equal(const_int(&h2, top(&h2, DECL_CONST, "Y")), 2);
    harness_free(&h2);
    free(text);
}

static void nesting_limit_structs(void **state)
{
    (void)state;
    char *text = repeat3("typedef ", "struct { ", 10000, "long x; ", "} m; ", "S;\n");
    struct harness h = {0};
    harness_compile(&h, text);
    assert_int_equal(count_diags(&h, IDL_ERROR, "nested more than 128 deep"), 1);
    /* at the '{' of the 129th struct */
    assert_error_at(&h, "declarations or expressions nested more than 128 deep", 1, 9 + 9 * 128 + 7);
    assert_null(find_in(&main_file(&h)->decls, DECL_TYPEDEF, "S", 0));
    harness_free(&h);
    free(text);
}

static void nesting_limit_other_constructs(void **state)
{
    (void)state;
    static const struct {
        const char *head, *open, *mid, *close, *tail;
    } cases[] = {
        {"const long X = ", "-", "1", "", ";"},
        {"const long X = ", "~(", "1", ")", ";"},
        {"const long X = ", "(long)", "1", "", ";"},
        {"const long X = ", "1 ? ", "1", " : 0", ";"},
        {"typedef long ", "(*", "P", ")", ";"},
        {"typedef long ", "(*", "P", ")(long)", ";"},
        {"typedef ", "union switch (long k) { case 1: ", "long x;", "} u; ", "U;"},
        {"typedef ", "[switch_type(long)] union { [case(1)] ", "long x;", "} u; ", "U;"},
        {"[local] interface I { void f(", "void (*p)(", "void", ")", "); }"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = repeat3(cases[i].head, cases[i].open, 10000, cases[i].mid, cases[i].close, cases[i].tail);
        struct harness h = {0};
        harness_compile(&h, text);
        if (count_diags(&h, IDL_ERROR, "nested more than 128 deep") != 1) {
            fprintf(stderr, "  case %zu\n", i);
            harness_dump(&h);
        }
        assert_int_equal(count_diags(&h, IDL_ERROR, "nested more than 128 deep"), 1);
        harness_free(&h);
        free(text);
    }
}

/* Long flat sequences are not nesting. */
static void long_flat_sequences(void **state)
{
    (void)state;
    size_t n = 400;
    char *text = malloc(n * 4 + 64), *p = text;
    p += sprintf(p, "const long X = 0");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, " + 1");
    sprintf(p, ";\n");
    struct harness h = {0};
    harness_compile(&h, text);
    assert_clean(&h);
    assert_int_equal(const_int(&h, top(&h, DECL_CONST, "X")), (int64_t)n);
    harness_free(&h);
    free(text);

    text = repeat3("typedef long ", "*", 10000, "P", "", ";\n");
    struct harness h2 = {0};
    harness_compile(&h2, text);
    assert_clean(&h2);
    harness_free(&h2);
    free(text);
}

/* ---- known bugs: these document the correct behaviour and fail until the parser is fixed ---- */

/* Was a bug, kept fixed: an unterminated string literal is returned by the lexer as end of file, so everything after it
 * is silently ignored: the redefinition on line 3 is never reported, and the message says "found end
 * of file" in the middle of the file. */
static void bug_unterminated_string_drops_rest(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "const char *S = \"abc;\n"
                        "typedef long A;\n"
                        "typedef long A;\n");
    assert_error_at(&h, "missing terminating \" character", 1, 17);
    assert_null(harness_find(&h, IDL_ERROR, "end of file"));
    assert_error_at(&h, "redefinition of 'A'", 3, 14);
    harness_free(&h);
}

/* Was a bug, kept fixed: past the nesting limit every open struct reports "expected '}' to close struct, found end of
 * file" (up to the error limit), though docs/limits.md says the limit gives one error and the rest of
 * the file is skipped. */
static void bug_nesting_limit_cascade(void **state)
{
    (void)state;
    char *text = repeat3("typedef ", "struct { ", 200, "long x; ", "} m; ", "S;\n");
    struct harness h = {0};
    harness_compile(&h, text);
    assert_int_equal(count_diags(&h, IDL_ERROR, "nested more than 128 deep"), 1);
    assert_errors(&h, 1);
    assert_null(harness_find(&h, IDL_ERROR, "to close struct"));
    harness_free(&h);
    free(text);
}

/* Was a bug, kept fixed: the MSVC/MIDL spelling of a function pointer with its calling convention inside the
 * parentheses, typedef void (__stdcall *PFN)(long), is rejected ("expected type, found '*'"): the
 * nested declarator is recognised only when '(' is directly followed by '*'. */
static void bug_callconv_inside_declarator_parens(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "typedef void (__stdcall *PFN)(long a);\n"
                        "typedef long (STDMETHODCALLTYPE *PFN2)(void);\n");
    assert_clean(&h);
    struct idl_type *t = top(&h, DECL_TYPEDEF, "PFN")->type;
    assert_int_equal(t->kind, TY_POINTER);
    assert_int_equal(t->ref->kind, TY_FUNCTION);
    top(&h, DECL_TYPEDEF, "PFN2");
    harness_free(&h);
}


/* Was a bug, kept fixed: vtbl_slots ("slots of bases + own methods") is computed from the base's vtbl_slots before the
 * base has been checked whenever the base comes later in the check order: sema checks the main file
 * before the imported ones, so every interface deriving from IUnknown (pcom.idl) counts only its own
 * methods. */
static void bug_vtbl_slots_ignore_imported_base(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"
                        "[object, uuid(" UUID1 ")]\n"
                        "interface IA : IUnknown { HRESULT A(void); HRESULT B(void); }\n"
                        "[object, uuid(" UUID2 ")]\n"
                        "interface IB : IA { HRESULT C(void); }\n");
    assert_clean(&h);
    assert_int_equal(idl_symtab_get(h.c.types, "IUnknown")->vtbl_slots, 3);
    assert_int_equal(top(&h, DECL_INTERFACE, "IA")->vtbl_slots, 5);
    assert_int_equal(top(&h, DECL_INTERFACE, "IB")->vtbl_slots, 6);
    harness_free(&h);
}

/* BUG (minor): a long flat constant expression is not nested, and the parser takes any length, but the
 * evaluator recurses down the left-leaning tree and rejects a sum of more than about 510 terms with
 * "constant expression nested too deeply", located at the innermost operator. */
static void bug_flat_expression_too_deep(void **state)
{
    (void)state;
    size_t n = 2000;
    char *text = malloc(n * 4 + 64), *p = text;
    p += sprintf(p, "const long X = 0");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, " + 1");
    sprintf(p, ";\n");
    struct harness h = {0};
    harness_compile(&h, text);
    assert_clean(&h);
    assert_int_equal(const_int(&h, top(&h, DECL_CONST, "X")), (int64_t)n);
    harness_free(&h);
    free(text);
}

/* Was a bug, kept fixed: an interface, library or coclass defined inside an interface body is accepted without a
 * diagnostic; MIDL allows only types, constants and methods there. */
static void bug_nested_interface_accepted(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"
                        "[object, uuid(" UUID1 ")]\n"
                        "interface IA : IUnknown {\n"
                        "    HRESULT A(void);\n"
                        "    [object, uuid(" UUID2 ")]\n"
                        "    interface IB : IUnknown { HRESULT B(void); }\n"
                        "}\n");
    const struct diag_record *d = NULL;
    for (int i = 0; i < h.ndiags; i++)
        if (h.diags[i].sev == IDL_ERROR && h.diags[i].line == 6)
            d = &h.diags[i];
    if (!d)
        harness_dump(&h);
    assert_non_null(d);
    assert_int_equal(d->col, 5);
    harness_free(&h);
}

/* Was a bug, kept fixed: "long double" reports two errors for one mistake ("long double is not supported" and
 * "invalid combination of type specifiers"). */
static void bug_long_double_two_errors(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "typedef long double LD;\n");
    assert_error_at(&h, "long double is not supported", 1, 9);
    assert_errors(&h, 1);
    harness_free(&h);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(missing_semicolon_after_typedef),
        cmocka_unit_test(missing_semicolon_after_const),
        cmocka_unit_test(missing_semicolon_after_method),
        cmocka_unit_test(missing_semicolon_after_field),
        cmocka_unit_test(missing_closing_brace_at_eof),
        cmocka_unit_test(missing_closing_brace_of_struct),
        cmocka_unit_test(unexpected_tokens_at_top_level),
        cmocka_unit_test(unexpected_tokens_in_declarations),
        cmocka_unit_test(bad_type_specifiers),
        cmocka_unit_test(not_a_type),
        cmocka_unit_test(expression_syntax_errors),
        cmocka_unit_test(array_syntax_errors),
        cmocka_unit_test(bad_attribute_syntax),
        cmocka_unit_test(bad_uuid_and_version_syntax),
        cmocka_unit_test(attribute_arguments_shape),
        cmocka_unit_test(unterminated_at_eof),
        cmocka_unit_test(recovery_reports_several_errors),
        cmocka_unit_test(recovery_inside_blocks),
        cmocka_unit_test(method_syntax_errors),
        cmocka_unit_test(interface_shape),
        cmocka_unit_test(rpc_interface_functions),
        cmocka_unit_test(const_return_type_is_a_method),
        cmocka_unit_test(forward_declaration_then_definition),
        cmocka_unit_test(typedef_struct_nested_anonymous),
        cmocka_unit_test(encapsulated_union),
        cmocka_unit_test(non_encapsulated_union),
        cmocka_unit_test(union_syntax_errors),
        cmocka_unit_test(enum_values),
        cmocka_unit_test(arrays_multi_dimensional),
        cmocka_unit_test(function_pointer_typedef),
        cmocka_unit_test(const_declarations),
        cmocka_unit_test(expression_precedence),
        cmocka_unit_test(coclass_shape),
        cmocka_unit_test(library_with_importlib),
        cmocka_unit_test(module_shape),
        cmocka_unit_test(dispinterface_both_forms),
        cmocka_unit_test(import_marks_declarations_imported),
        cmocka_unit_test(import_cycle_and_missing),
        cmocka_unit_test(errors_in_imported_file_are_located_there),
        cmocka_unit_test(cpp_quote_shape),
        cmocka_unit_test(midl_pragma_shape),
        cmocka_unit_test(declarations_inside_interface),
        cmocka_unit_test(nesting_limit_parentheses),
        cmocka_unit_test(nesting_limit_structs),
        cmocka_unit_test(nesting_limit_other_constructs),
        cmocka_unit_test(long_flat_sequences),
        /* fixed bugs, kept so they stay fixed */
        cmocka_unit_test(bug_unterminated_string_drops_rest),
        cmocka_unit_test(bug_nesting_limit_cascade),
        cmocka_unit_test(bug_callconv_inside_declarator_parens),
        cmocka_unit_test(bug_vtbl_slots_ignore_imported_base),
        cmocka_unit_test(bug_nested_interface_accepted),
        cmocka_unit_test(bug_long_double_two_errors),
        cmocka_unit_test(bug_flat_expression_too_deep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
