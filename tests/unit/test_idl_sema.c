/* test_idl_sema.c: every semantic diagnostic pcomidl makes, each triggered and located; the redefinition
 * and undefined-name checks the parser makes as it enters names; and valid IDL that must stay silent. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idl_harness.h"

#define PRE "import \"pcom.idl\";\n"
#define U1 "11111111-2222-3333-4444-000000000001"
#define U2 "11111111-2222-3333-4444-000000000002"
#define U3 "11111111-2222-3333-4444-000000000003"
#define U4 "11111111-2222-3333-4444-000000000004"
#define U5 "11111111-2222-3333-4444-000000000005"
#define U6 "11111111-2222-3333-4444-000000000006"
/* "[object, uuid(U1)]\ninterface IA : IUnknown {\n": lines 2 and 3 after PRE */
#define IFACE_A PRE "[object, uuid(" U1 ")]\ninterface IA : IUnknown {\n"

/* ---- helpers ---- */

struct expect {
    enum idl_severity sev;
    const char *needle;
    int line, col;
};

static const char *const sev_names[] = {"note", "warning", "error"};

/* Some diagnostic of this severity containing needle at line:col of test.idl. */
static bool has_diag(const struct harness *h, const struct expect *e)
{
    for (int i = 0; i < h->ndiags; i++) {
        const struct diag_record *d = &h->diags[i];
        if (d->sev == e->sev && strstr(d->msg, e->needle) && d->line == e->line && d->col == e->col &&
            strcmp(d->file, "test.idl") == 0)
            return true;
    }
    return false;
}

static int count_sev(const struct harness *h, enum idl_severity sev)
{
    int n = 0;
    for (int i = 0; i < h->ndiags; i++)
        n += h->diags[i].sev == sev;
    return n;
}

static int count_diags(const struct harness *h, enum idl_severity sev, const char *needle)
{
    int n = 0;
    for (int i = 0; i < h->ndiags; i++)
        if (h->diags[i].sev == sev && strstr(h->diags[i].msg, needle))
            n++;
    return n;
}

/* Compile text; every expectation must be met, and the numbers of errors and warnings must be exactly
 * these (so a check that fires twice, or a spurious error, fails the test). */
static void check(const char *text, int errors, int warnings, const struct expect *ex, size_t n)
{
    struct harness h = {0};
    harness_compile(&h, text);
    bool ok = h.c.errors == errors && count_sev(&h, IDL_WARNING) == warnings;
    for (size_t i = 0; i < n; i++) {
        if (!has_diag(&h, &ex[i])) {
            fprintf(stderr, "  missing %s at %d:%d: %s\n", sev_names[ex[i].sev], ex[i].line, ex[i].col,
                    ex[i].needle);
            ok = false;
        }
    }
    if (!ok) {
        fprintf(stderr, "  want %d errors, %d warnings; got:\n", errors, warnings);
        harness_dump(&h);
    }
    for (size_t i = 0; i < n; i++)
        assert_true(has_diag(&h, &ex[i]));
    assert_int_equal(h.c.errors, errors);
    assert_int_equal(count_sev(&h, IDL_WARNING), warnings);
    harness_free(&h);
}

#define E(needle, line, col) {IDL_ERROR, (needle), (line), (col)}
#define W(needle, line, col) {IDL_WARNING, (needle), (line), (col)}
#define N(needle, line, col) {IDL_NOTE, (needle), (line), (col)}
#define CHECK(text, errors, warnings, ...)                                                                  \
    do {                                                                                                    \
        static const struct expect ex_[] = {__VA_ARGS__};                                                   \
        check((text), (errors), (warnings), ex_, sizeof(ex_) / sizeof(ex_[0]));                             \
    } while (0)
#define CHECK_CLEAN(text) check((text), 0, 0, NULL, 0)

/* ---- the example the file started with ---- */

static void out_param_not_pointer(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, "import \"pcom.idl\";\n"
                        "[object, uuid(11111111-2222-3333-4444-555555555555)]\n"
                        "interface IFoo : IUnknown {\n"
                        "    HRESULT Get([out] long value);\n"
                        "}\n");
    assert_error_at(&h, "[out] parameter 'value' is not a pointer", 4, 28);
    harness_free(&h);
}

/* ---- names ---- */

static void undefined_type_names(void **state)
{
    (void)state;
    CHECK(IFACE_A
          "    HRESULT F([in] Gone g);\n"            /* 4 */
          "    HRESULT G([out] struct Later *p);\n"  /* 5: a tag may be used before its definition */
          "}\n"
          "typedef Missing T;\n"                     /* 7 */
          "typedef struct { long a; Nope *p; } S;\n" /* 8 */
          "const Unknown K = 1;\n",                  /* 9 */
          4, 0,
          E("unknown type name 'Gone'", 4, 20),
          E("unknown type name 'Missing'", 7, 9),
          E("unknown type name 'Nope'", 8, 26),
          E("unknown type name 'Unknown'", 9, 7));
}

static void name_of_wrong_kind_used_as_type(void **state)
{
    (void)state;
    CHECK(PRE
          "[uuid(" U1 ")] coclass CC { interface IUnknown; }\n" /* 2 */
          "typedef CC T;\n",                                     /* 3 */
          1, 0,
          E("'CC' is not a type", 3, 9),
          N("previous declaration of 'CC' is here", 2, 54));
}

static void redefinition_of_typedef(void **state)
{
    (void)state;
    CHECK("typedef long T;\n"
          "typedef short T;\n"
          "typedef long A, B, A;\n",
          2, 0,
          E("redefinition of 'T'", 2, 15),
          N("previous declaration of 'T' is here", 1, 14),
          E("redefinition of 'A'", 3, 20),
          N("previous declaration of 'A' is here", 3, 14));
}

static void redefinition_of_interface(void **state)
{
    (void)state;
    CHECK(PRE
          "[object, uuid(" U1 ")]\n"
          "interface IA : IUnknown { HRESULT A(void); }\n" /* 3 */
          "[object, uuid(" U2 ")]\n"
          "interface IA : IUnknown { HRESULT B(void); }\n" /* 5 */
          "typedef long IA;\n"                             /* 6 */
          "typedef long T;\n"                              /* 7 */
          "interface T;\n"                                 /* 8 */
          "[uuid(" U3 ")] coclass IA { }\n"                /* 9 */
          "interface IUnknown { }\n",                      /* 10: redefines the imported one */
          5, 0,
          E("redefinition of interface 'IA'", 5, 11),
          N("previous declaration of 'IA' is here", 3, 11),
          E("redefinition of 'IA'", 6, 14),
          E("'T' redeclared as an interface", 8, 11),
          N("previous declaration of 'T' is here", 7, 14),
          E("redefinition of 'IA'", 9, 54),
          E("redefinition of interface 'IUnknown'", 10, 11));
    /* the note for the imported one points into pcom.idl */
    struct harness h = {0};
    harness_compile(&h, PRE "interface IUnknown { }\n");
    const struct diag_record *n = harness_find(&h, IDL_NOTE, "previous declaration of 'IUnknown' is here");
    assert_non_null(n);
    assert_string_equal(n->file, "pcom.idl");
    assert_true(n->line > 1);
    harness_free(&h);
}

static void redefinition_of_enumerator_and_const(void **state)
{
    (void)state;
    CHECK("enum E1 { RED, GREEN };\n"   /* 1 */
          "enum E2 { BLUE, RED };\n"    /* 2 */
          "const long K = 1;\n"         /* 3 */
          "const long K = 2;\n"         /* 4 */
          "const long GREEN = 3;\n"     /* 5 */
          "enum E3 { K, X, X };\n",     /* 6 */
          5, 0,
          E("redefinition of 'RED'", 2, 17),
          N("previous declaration of 'RED' is here", 1, 11),
          E("redefinition of 'K'", 4, 12),
          N("previous declaration of 'K' is here", 3, 12),
          E("redefinition of 'GREEN'", 5, 12),
          N("previous declaration of 'GREEN' is here", 1, 16),
          E("redefinition of 'K'", 6, 11),
          E("redefinition of 'X'", 6, 17),
          N("previous declaration of 'X' is here", 6, 14));
}

static void redefinition_of_tags(void **state)
{
    (void)state;
    CHECK("struct S { long a; };\n"        /* 1 */
          "struct S { long b; };\n"        /* 2 */
          "union S;\n"                     /* 3 */
          "typedef enum E { A } TE;\n"     /* 4 */
          "enum E { B };\n"                /* 5 */
          "struct S;\n"                    /* 6: a declaration, not a redefinition */
          "typedef struct S *PS;\n"        /* 7 */
          "typedef union U { [case(1)] long a; } U1;\n" /* 8 */
          "typedef union U { [case(1)] long a; } U2;\n", /* 9 */
          4, 0,
          E("redefinition of 'struct S'", 2, 8),
          N("previous declaration of 'S' is here", 1, 8),
          E("'S' defined as the wrong kind of tag", 3, 7),
          E("redefinition of 'enum E'", 5, 6),
          N("previous declaration of 'E' is here", 4, 14),
          E("redefinition of 'union U'", 9, 15));
}

static void redefinition_of_coclass_library_module(void **state)
{
    (void)state;
    CHECK("typedef long X;\n"
          "[uuid(" U1 ")] coclass X { }\n"
          "[uuid(" U2 ")] library X { }\n"
          "module X { }\n"
          "[uuid(" U3 ")] dispinterface X { }\n",
          4, 0,
          E("redefinition of 'X'", 2, 54),
          E("redefinition of 'X'", 3, 54),
          E("redefinition of 'X'", 4, 8),
          E("redefinition of 'X'", 5, 60),
          N("previous declaration of 'X' is here", 1, 14));
}

/* ---- uuids ---- */

static void malformed_uuids(void **state)
{
    (void)state;
    CHECK("[uuid(1234)] interface I1;\n"
          "[uuid(11111111-2222-3333-4444-55555555555)] interface I2;\n"
          "[uuid(\"11111111-2222-3333-4444-5555555555\")] interface I3;\n"
          "[uuid(11111111-2222-3333-4444-55555555555x), local] interface I4;\n"
          "[async_uuid(zz)] interface I5;\n",
          6, 0,
          E("malformed uuid: expected 8-4-4-4-12 hexadecimal digits", 1, 7),
          E("malformed uuid: expected 8-4-4-4-12 hexadecimal digits", 2, 7),
          E("malformed uuid: expected 8-4-4-4-12 hexadecimal digits", 3, 7),
          E("malformed uuid: expected 8-4-4-4-12 hexadecimal digits", 4, 7),
          E("invalid suffix 'x' on integer constant", 4, 31),
          E("malformed uuid: expected 8-4-4-4-12 hexadecimal digits", 5, 13));
}

static void duplicate_uuids(void **state)
{
    (void)state;
    CHECK(PRE
          "[object, uuid(" U1 ")]\n"                                      /* 2 */
          "interface IA : IUnknown { HRESULT A(void); }\n"
          "[object, uuid(" U1 ")]\n"                                      /* 4 */
          "interface IB : IUnknown { HRESULT B(void); }\n"
          "[uuid(\"" U1 "\")] coclass CA { interface IA; }\n"             /* 6 */
          "[uuid(" U2 ")] library L {\n"                                  /* 7 */
          "    [uuid(11111111-2222-3333-4444-000000000002)] dispinterface D { properties: methods: }\n"
          "}\n"
          "typedef [uuid(" U3 ")] struct { long x; } WITH_UUID;\n"       /* 10 */
          "[uuid(" U3 ")] module M { }\n",                                /* 11 */
          4, 0,
          E("uuid 11111111-2222-3333-4444-000000000001 of 'IB' is already used by 'IA'", 4, 10),
          N("'IA' is declared here", 2, 10),
          E("uuid 11111111-2222-3333-4444-000000000001 of 'CA' is already used by 'IA'", 6, 2),
          E("uuid 11111111-2222-3333-4444-000000000002 of 'D' is already used by 'L'", 8, 6),
          N("'L' is declared here", 7, 2),
          E("uuid 11111111-2222-3333-4444-000000000003 of 'M' is already used by 'WITH_UUID'", 11, 2),
          N("'WITH_UUID' is declared here", 10, 10));
}

/* Two imported files: the one read later is the duplicate. */
static void duplicate_uuid_across_imported_files(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_add_file(&h, "a.idl", "[uuid(" U1 ")] interface IFromA { void f(void); }\n");
    harness_add_file(&h, "b.idl", "\n  [uuid(" U1 ")] interface IFromB { void g(void); }\n");
    harness_compile(&h, "import \"a.idl\";\nimport \"b.idl\";\n");
    const struct diag_record *e = harness_find(&h, IDL_ERROR, "of 'IFromB' is already used by 'IFromA'");
    if (!e)
        harness_dump(&h);
    assert_non_null(e);
    assert_string_equal(e->file, "b.idl");
    assert_int_equal(e->line, 2);
    assert_int_equal(e->col, 4);
    const struct diag_record *n = harness_find(&h, IDL_NOTE, "'IFromA' is declared here");
    assert_non_null(n);
    assert_string_equal(n->file, "a.idl");
    assert_int_equal(n->line, 1);
    assert_int_equal(n->col, 2);
    assert_int_equal(h.c.errors, 1);
    harness_free(&h);
}

/* The main file reusing a uuid of an imported file is an error (where it is reported: see
 * bug_duplicate_uuid_with_import_located_in_import). */
static void duplicate_uuid_with_imported_file_detected(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, PRE "[object, uuid(00000000-0000-0000-C000-000000000046)]\n"
                            "interface IMine : IUnknown { HRESULT A(void); }\n");
    assert_int_equal(h.c.errors, 1);
    assert_non_null(harness_find(&h, IDL_ERROR, "uuid 00000000-0000-0000-c000-000000000046 of '"));
    assert_non_null(harness_find(&h, IDL_ERROR, "IMine"));
    assert_non_null(harness_find(&h, IDL_ERROR, "IUnknown"));
    harness_free(&h);
}

static void missing_uuids(void **state)
{
    (void)state;
    CHECK(PRE
          "[object] interface INo : IUnknown { HRESULT A(void); }\n"      /* 2 */
          "interface IRpcNo { void f(void); }\n"                          /* 3 */
          "[object, local] interface ILocalObj : IUnknown { }\n"          /* 4 */
          "[local] interface ILocalRpc { void g(void); }\n"               /* 5: exempt */
          "coclass CNo { interface INo; }\n"                              /* 6 */
          "library LNo { dispinterface DNo { properties: methods: } }\n"  /* 7 */
          "module MNo { }\n"                                              /* 8: exempt */
          "interface IFwdOnly;\n",                                        /* 9: exempt */
          6, 0,
          E("interface 'INo' has no uuid attribute", 2, 20),
          E("interface 'IRpcNo' has no uuid attribute", 3, 11),
          E("interface 'ILocalObj' has no uuid attribute", 4, 27),
          E("coclass 'CNo' has no uuid attribute", 6, 9),
          E("library 'LNo' has no uuid attribute", 7, 9),
          E("dispinterface 'DNo' has no uuid attribute", 7, 29));
}

/* Declarations of imported files are not checked for a uuid. */
static void missing_uuid_in_import_is_not_reported(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_add_file(&h, "legacy.idl", "interface ILegacy { void f(void); }\ncoclass CLegacy { interface ILegacy; }\n");
    harness_compile(&h, "import \"legacy.idl\";\n");
    assert_int_equal(h.ndiags, 0);
    harness_free(&h);
}

/* ---- parameters ---- */

static void out_and_retval(void **state)
{
    (void)state;
    CHECK(IFACE_A
          "    HRESULT A([out] long value);\n"                               /* 4 */
          "    HRESULT B([out] long arr[4], [out] ULONG *p, [in, out] LPWSTR *s);\n"
          "    HRESULT C([out, retval] long *p, [in] long q);\n"             /* 6 */
          "    HRESULT D([in, retval] long *p);\n"                           /* 7 */
          "    HRESULT E([retval] long p);\n"                                /* 8 */
          "    HRESULT F([in] long q, [out, retval] long *p);\n"             /* 9 */
          "    HRESULT G([out] struct { long x; } s);\n"                     /* 10 */
          "}\n",
          5, 0,
          E("[out] parameter 'value' is not a pointer", 4, 26),
          E("[retval] parameter 'p' must be the last parameter", 6, 21),
          E("[retval] parameter 'p' must also be [out]", 7, 20),
          E("[retval] parameter 'p' must also be [out]", 8, 16),
          E("[out] parameter 's' is not a pointer", 10, 40));
}

static void parameter_names_and_types(void **state)
{
    (void)state;
    CHECK(IFACE_A
          "    HRESULT A([in] long, [in] long b);\n"      /* 4 */
          "    HRESULT B([in] long a, [in] short a);\n"   /* 5 */
          "    HRESULT C([in] void v);\n"                 /* 6 */
          "    HRESULT D(void);\n"                        /* 7: fine */
          "    HRESULT E([in] void *p);\n"                /* 8: fine */
          "    HRESULT F([in] IA self);\n"                /* 9 */
          "}\n",
          4, 0,
          E("parameter 1 of 'A' has no name", 4, 24),
          E("duplicate parameter 'a'", 5, 39),
          E("parameter 'v' has type void", 6, 25),
          E("'self' declares interface 'IA' by value; interfaces are used through pointers", 9, 23));
}

static void interface_by_value(void **state)
{
    (void)state;
    CHECK(PRE
          "[object, uuid(" U1 ")] interface IA : IUnknown { HRESULT A(void); }\n"
          "typedef struct { IA a; IA arr[2]; IA *ok; IA **ok2; } S;\n"                 /* 3 */
          "typedef IA BYVAL;\n"                                                         /* 4 */
          "typedef IA *PIA;\n",                                                         /* 5: fine */
          3, 0,
          E("'a' declares interface 'IA' by value; interfaces are used through pointers", 3, 21),
          E("'arr' declares interface 'IA' by value", 3, 27),
          E("'BYVAL' declares interface 'IA' by value", 4, 12));
}

/* ---- size_is and friends ---- */

static void sizing_attributes_naming_absent(void **state)
{
    (void)state;
    CHECK(IFACE_A
          "    HRESULT A([in] long n, [in, size_is(m)] long *p);\n"          /* 4 */
          "    HRESULT B([in] long n, [in, length_is(q), size_is(n)] long *p);\n"
          "    HRESULT C([in, max_is(z)] long *p, [in, min_is(z)] long *q);\n"
          "    HRESULT D([in, first_is(z)] long *p, [in, last_is(z)] long *q);\n"
          "}\n"
          "typedef struct { long n; [size_is(count)] long *p; } S;\n"     /* 9 */
          "typedef struct { long k; [switch_is(kind)] union U { [case(1)] long a; } u; } SU;\n",
          8, 0,
          E("size_is refers to 'm', which is not a parameter or constant", 4, 41),
          E("length_is refers to 'q', which is not a parameter or constant", 5, 43),
          E("max_is refers to 'z', which is not a parameter or constant", 6, 27),
          E("min_is refers to 'z', which is not a parameter or constant", 6, 52),
          E("first_is refers to 'z', which is not a parameter or constant", 7, 29),
          E("last_is refers to 'z', which is not a parameter or constant", 7, 55),
          E("size_is refers to 'count', which is not a field or constant", 9, 35),
          E("switch_is refers to 'kind', which is not a field or constant", 10, 37));
}

static void sizing_attributes_not_integral(void **state)
{
    (void)state;
    CHECK(IFACE_A
          "    HRESULT A([in] float n, [in, size_is(n)] long *p);\n"          /* 4 */
          "    HRESULT B([in] long *pn, [in, size_is(pn)] long *p);\n"        /* 5 */
          "    HRESULT C([in] long **pp, [in, size_is(*pp)] long *p);\n"      /* 6 */
          "    HRESULT D([in] double d, [in, length_is(d + 1)] long *p);\n"   /* 7 */
          "    HRESULT E([in] REFIID r, [in, size_is(r)] long *p);\n"         /* 8 */
          "}\n"
          "typedef struct { double n; [size_is(n)] long *p; } S;\n"          /* 10 */
          "typedef [switch_type(long)] union { [case(1)] long a; } NU;\n"
          "typedef struct { float k; [switch_is(k)] NU u; } SK;\n",          /* 12 */
          7, 0,
          E("size_is refers to 'n', which is not an integer", 4, 42),
          E("size_is refers to 'pn', which is not an integer", 5, 43),
          E("size_is expression is not an integer", 6, 44),
          E("operands of length_is expression must be integers", 7, 47),
          E("size_is refers to 'r', which is not an integer", 8, 43),
          E("size_is refers to 'n', which is not an integer", 10, 37),
          E("switch_is refers to 'k', which is not an integer", 12, 38));
}

static void sizing_expressions_valid(void **state)
{
    (void)state;
    CHECK_CLEAN(PRE
                "const long MAX_ITEMS = 16;\n"
                "typedef struct { ULONG count; long cap; [size_is(cap), length_is(count)] long *items; } LIST;\n"
                "[object, uuid(" U1 ")]\n"
                "interface IA : IUnknown {\n"
                "    HRESULT A([in] long *pcount, [in, size_is(*pcount)] long *p);\n"
                "    HRESULT B([in] long n, [in, size_is(n * 2 + 1)] long *p, [in, size_is((n + 1) / 2 - 1)] long *q);\n"
                "    HRESULT C([in] LIST *s, [in, size_is(s->count)] long *p, [in, size_is(s->cap % 4)] long *q);\n"
                "    HRESULT D([in] LIST s, [in, size_is(s.count)] long *p);\n"
                "    HRESULT E([in, size_is(MAX_ITEMS)] long *p, [in, size_is(MAX_ITEMS << 1)] long *q);\n"
                "    HRESULT F([in] long n, [in, size_is(, n)] long **pp, [in, size_is(n, n)] long **qq);\n"
                "    HRESULT G([in] long n, [in, size_is(n ? n : 1), length_is((long)n)] long *p);\n"
                "    HRESULT H([in] long lo, [in] long hi, [in, first_is(lo), last_is(hi), max_is(hi)] long *p);\n"
                "    HRESULT I([in] long n, [in, size_is(n)] long arr[]);\n"
                "    HRESULT J([out] long *pn, [out, size_is(, *pn)] long **pp);\n"
                "}\n");
}

static void sizing_expression_errors(void **state)
{
    (void)state;
    CHECK(PRE
          "typedef struct { long count; long *ptr; } LIST;\n"                      /* 2 */
          "[object, uuid(" U1 ")]\n"
          "interface IA : IUnknown {\n"
          "    HRESULT A([in] long n, [in, size_is(*n)] long *p);\n"              /* 5 */
          "    HRESULT B([in] long n, [in, size_is(&n)] long *p);\n"              /* 6 */
          "    HRESULT C([in] LIST *s, [in, size_is(s->nope)] long *p);\n"        /* 7 */
          "    HRESULT D([in] long s, [in, size_is(s->count)] long *p);\n"        /* 8 */
          "    HRESULT E([in] long s, [in, size_is(s.count)] long *p);\n"         /* 9 */
          "    HRESULT F([in] LIST *s, [in, size_is(s->ptr)] long *p);\n"         /* 10 */
          "    HRESULT G([in] long n, [in, size_is(\"n\")] long *p);\n"           /* 11 */
          "    HRESULT H([in] long n, [in, size_is(n + 0.5)] long *p);\n"         /* 12 */
          "    HRESULT I([in] long n, [in, size_is(n)] long p);\n"                /* 13 */
          "    HRESULT J([in] long n, [in, size_is(n, n)] long *p);\n"            /* 14 */
          "}\n"
          "typedef struct { long n; [length_is(n)] long x; } S;\n",               /* 16 */
          11, 0,
          E("size_is dereferences something that is not a pointer", 5, 41),
          E("size_is cannot take an address", 6, 41),
          E("has no member named 'nope'", 7, 43),
          E("'->' applied to something that is not a pointer in size_is", 8, 42),
          E("member 'count' of something that is not a struct in size_is", 9, 42),
          E("size_is expression is not an integer", 10, 43),
          E("unsupported expression in size_is", 11, 41),
          E("unsupported expression in size_is", 12, 45),
          E("size_is on 'p', which is not a pointer or array", 13, 33),
          E("size_is has 2 dimensions but 'p' has only 1 levels of pointer or array", 14, 33),
          E("length_is on 'x', which is not a pointer or array", 16, 27));
}

static void switch_is_checks(void **state)
{
    (void)state;
    CHECK("typedef [switch_type(long)] union { [case(1)] long a; [default] ; } NU;\n"  /* 1 */
          "typedef union switch (long k) { case 1: long a; } EU;\n"                     /* 2 */
          "typedef struct { long n; [switch_is(n)] NU u; } OK1;\n"                      /* 3 */
          "typedef struct { long n; [switch_is(n)] long u; } S1;\n"                     /* 4 */
          "typedef struct { long n; [switch_is(n)] EU u; } S2;\n"                       /* 5 */
          "typedef struct { long n; [switch_is(n)] NU *pu; } OK2;\n",                   /* 6 */
          2, 0,
          E("switch_is on 'u', which is not a union", 4, 27),
          E("switch_is on 'u', whose union is encapsulated and carries its own discriminant", 5, 27));
}

static void iid_is_checks(void **state)
{
    (void)state;
    CHECK(PRE
          "typedef struct { IID iid; } HOLDER;\n"                                                 /* 2 */
          "[object, uuid(" U1 ")]\n"
          "interface IA : IUnknown {\n"
          "    HRESULT A([in] REFIID riid, [out, iid_is(riid)] void **ppv);\n"                   /* 5 */
          "    HRESULT B([in] IID *piid, [out, iid_is(piid)] IUnknown **pp);\n"                  /* 6 */
          "    HRESULT C([in] IID iid, [out, iid_is(iid)] IA **pp);\n"                           /* 7 */
          "    HRESULT D([in] HOLDER *h, [out, iid_is(h->iid)] void **pp);\n"                    /* 8 */
          "    HRESULT E([in] long riid, [out, iid_is(riid)] void **ppv);\n"                     /* 9 */
          "    HRESULT F([in] REFIID riid, [out, iid_is(riid)] long *pl);\n"                     /* 10 */
          "    HRESULT G([in] REFIID riid, [out, iid_is(nope)] void **ppv);\n"                   /* 11 */
          "    HRESULT H([in] REFIID riid, [in, iid_is(riid)] long v);\n"                        /* 12 */
          "    HRESULT I([in] HOLDER h, [out, iid_is(h)] void **pp);\n"                          /* 13 */
          "}\n",
          5, 0,
          E("iid_is refers to 'riid', which is not an IID", 9, 44),
          E("iid_is on 'pl', which is not an interface pointer or void **", 10, 39),
          E("iid_is refers to 'nope', which is not a parameter or constant", 11, 46),
          E("iid_is on 'v', which is not an interface pointer or void **", 12, 38),
          E("iid_is refers to 'h', which is not an IID", 13, 43));
}

/* ---- interfaces: remotability ---- */

static void remotable_method_not_returning_hresult(void **state)
{
    (void)state;
    CHECK(PRE
          "[object, uuid(" U1 ")]\n"
          "interface IA : IUnknown {\n"
          "    long Get(void);\n"                                          /* 4: warning */
          "    [local] long Local(void);\n"                                /* 5: no warning */
          "    void Nothing([in] long a);\n"                               /* 6: warning */
          "    [local] HRESULT L2([in] long a);\n"
          "    [call_as(L2)] long RemoteL2([in] long a);\n"                /* 8: no warning */
          "}\n"
          "[object, local, uuid(" U2 ")]\n"
          "interface IB : IUnknown { long NoWarning(void); }\n"            /* 11 */
          "[uuid(" U3 ")]\n"
          "interface IRpc { long Sum([in] long a, [in] long b); }\n"      /* 13: functions: no warning */
          "[uuid(" U4 ")]\n"
          "dispinterface D { properties: methods: [id(1)] long M(void); }\n", /* 15 */
          0, 2,
          W("remotable method 'Get' does not return HRESULT", 4, 10),
          W("remotable method 'Nothing' does not return HRESULT", 6, 10));
}

static void local_interface_pointers(void **state)
{
    (void)state;
    CHECK(PRE
          "[object, local, uuid(" U1 ")]\n"
          "interface ILocal : IUnknown { HRESULT F(void); }\n"             /* 3 */
          "typedef ILocal *PILOCAL;\n"                                     /* 4 */
          "[object, uuid(" U2 ")]\n"
          "interface IA : IUnknown {\n"
          "    HRESULT A([in] ILocal *p);\n"                               /* 7 */
          "    HRESULT B([out] ILocal **pp);\n"                            /* 8 */
          "    HRESULT C([in] PILOCAL p);\n"                               /* 9 */
          "    HRESULT D([in] IUnknown *punk, [out] IUnknown **ppunk);\n"  /* 10: exempt */
          "    [local] HRESULT E([in] ILocal *p);\n"                       /* 11: local method */
          "}\n"
          "[object, local, uuid(" U3 ")]\n"
          "interface IB : IUnknown { HRESULT G([in] ILocal *p); }\n",     /* 14: local interface */
          3, 0,
          E("parameter 'p' of remotable method 'A' passes [local] interface 'ILocal'", 7, 28),
          E("parameter 'pp' of remotable method 'B' passes [local] interface 'ILocal'", 8, 30),
          E("parameter 'p' of remotable method 'C' passes [local] interface 'ILocal'", 9, 28));
}

static void function_pointers_in_remotable_methods(void **state)
{
    (void)state;
    CHECK(PRE
          "typedef void (*PFN)(long code);\n"                                     /* 2 */
          "[object, uuid(" U1 ")]\n"
          "interface IA : IUnknown {\n"
          "    HRESULT A([in] PFN cb);\n"                                          /* 5 */
          "    HRESULT B([in] void (*cb)(long));\n"                                /* 6 */
          "    HRESULT C([in] PFN *pcb);\n"                                        /* 7 */
          "    [local] HRESULT D([in] PFN cb);\n"                                  /* 8: local */
          "}\n"
          "[object, local, uuid(" U2 ")]\n"
          "interface IB : IUnknown { HRESULT E([in] PFN cb); }\n"                 /* 11 */
          "[uuid(" U3 ")]\n"
          "interface IRpc { void F([in] PFN cb); }\n",                             /* 13: remotable RPC */
          4, 0,
          E("parameter 'cb' of remotable method 'A' is a function pointer; function pointers are allowed only in "
            "[local] interfaces", 5, 24),
          E("parameter 'cb' of remotable method 'B' is a function pointer", 6, 27),
          E("parameter 'pcb' of remotable method 'C' is a function pointer", 7, 25),
          E("parameter 'cb' of remotable method 'F' is a function pointer", 13, 34));
}

/* ---- inheritance ---- */

static void inheritance_errors(void **state)
{
    (void)state;
    CHECK(PRE
          "interface IFwd;\n"                                                  /* 2 */
          "typedef long NotIface;\n"                                           /* 3 */
          "[object, uuid(" U1 ")] interface I1 : INope { HRESULT A(void); }\n"   /* 4 */
          "[object, uuid(" U2 ")] interface I2 : IFwd { HRESULT A(void); }\n"    /* 5 */
          "[object, uuid(" U3 ")] interface I3 : NotIface { HRESULT A(void); }\n" /* 6 */
          "[object, uuid(" U4 ")] interface I4 { HRESULT A(void); }\n"           /* 7 */
          "[uuid(" U5 ")] interface IRpc { void f(void); }\n"                    /* 8 */
          "[object, uuid(" U6 ")] interface I6 : IRpc { HRESULT A(void); }\n",   /* 9 */
          6, 0,
          E("base interface 'INope' is not declared", 4, 69),
          E("base interface 'IFwd' is declared but not defined", 5, 69),
          E("'NotIface' is not an interface", 6, 69),
          E("object interface 'I4' must inherit from IUnknown", 7, 64),
          E("object interface 'I6' must inherit from IUnknown, not from 'IRpc'", 9, 69),
          E("object interface 'I6' inherits from 'IRpc', which is not an object interface", 9, 69));
}

static void inheritance_cycles(void **state)
{
    (void)state;
    CHECK(PRE
          "interface IB;\n"
          "[object, uuid(" U1 ")] interface IA : IB { HRESULT A(void); }\n"     /* 3 */
          "[object, uuid(" U2 ")] interface IB : IA { HRESULT B(void); }\n"     /* 4 */
          "[object, uuid(" U3 ")] interface IS : IS { HRESULT S(void); }\n",    /* 5 */
          2, 0,
          E("interface 'IB' inherits from itself", 4, 69),
          E("interface 'IS' inherits from itself", 5, 69));
}

static void methods_duplicate_and_hiding(void **state)
{
    (void)state;
    CHECK(PRE
          "[object, uuid(" U1 ")]\n"
          "interface IA : IUnknown {\n"
          "    HRESULT X(void);\n"                                            /* 4 */
          "    HRESULT X([in] long a);\n"                                     /* 5 */
          "    [propget] HRESULT P([out, retval] long *p);\n"                 /* 6 */
          "    [propput] HRESULT P([in] long p);\n"                           /* 7: get_P / put_P */
          "    [propget] HRESULT P([out, retval] long *q);\n"                 /* 8 */
          "    HRESULT get_Q(void);\n"                                        /* 9 */
          "    [propget] HRESULT Q([out, retval] long *p);\n"                 /* 10: get_Q again */
          "    HRESULT QueryInterface(void);\n"                               /* 11 */
          "    HRESULT Unique(void);\n"                                       /* 12 */
          "}\n"
          "[object, uuid(" U2 ")]\n"
          "interface IB : IA { HRESULT Y(void); HRESULT Unique(void); HRESULT Release(void); }\n", /* 15 */
          6, 0,
          E("duplicate method 'X' in interface 'IA'", 5, 13),
          N("previous declaration of 'X' is here", 4, 13),
          E("duplicate method 'get_P' in interface 'IA'", 8, 23),
          N("previous declaration of 'get_P' is here", 6, 23),
          E("duplicate method 'get_Q' in interface 'IA'", 10, 23),
          E("method 'QueryInterface' of 'IA' hides the method of base interface 'IUnknown'", 11, 13),
          N("previous declaration of 'get_Q' is here", 9, 13),
          E("method 'Unique' of 'IB' hides the method of base interface 'IA'", 15, 46),
          E("method 'Release' of 'IB' hides the method of base interface 'IUnknown'", 15, 68));
}

static void call_as_checks(void **state)
{
    (void)state;
    CHECK(IFACE_A
          "    [local] HRESULT Draw([in] void *dc);\n"             /* 4 */
          "    [call_as(Draw)] HRESULT RemoteDraw([in] long dc);\n" /* 5: fine */
          "    HRESULT Remote(void);\n"                              /* 6 */
          "    [call_as(Remote)] HRESULT R2(void);\n"                /* 7 */
          "    [call_as(Nope)] HRESULT R3(void);\n"                  /* 8 */
          "    [call_as(1)] HRESULT R4(void);\n"                     /* 9 */
          "}\n",
          3, 0,
          E("call_as names 'Remote', which is not [local]", 7, 6),
          E("call_as names 'Nope', which is not a method of 'IA'", 8, 6),
          E("attribute 'call_as' takes a name, found '1'", 9, 14));
}

/* ---- attributes ---- */

static void unknown_attributes(void **state)
{
    (void)state;
    CHECK(IFACE_A
          "    [bogus] HRESULT A([in, frobnicate(1)] long a);\n"   /* 4 */
          "}\n"
          "typedef [whatever] long T;\n"                            /* 6 */
          "typedef struct { [nothing] long x; } S;\n",              /* 7 */
          4, 0,
          E("unknown attribute 'bogus'", 4, 6),
          E("unknown attribute 'frobnicate'", 4, 28),
          E("unknown attribute 'whatever'", 6, 10),
          E("unknown attribute 'nothing'", 7, 19));
}

static void attributes_in_wrong_place(void **state)
{
    (void)state;
    CHECK(PRE
          "[object, uuid(" U1 "), retval]\n"                                       /* 2 */
          "interface IA : IUnknown { [object] HRESULT A([in, dual] long a); }\n"   /* 3 */
          "typedef [in] long TL;\n"                                                 /* 4 */
          "typedef struct { [in] long a; [propget] long b; } TS;\n"                 /* 5 */
          "[uuid(" U2 "), in] coclass CA { [in] interface IA; }\n"                  /* 6 */
          "[uuid(" U3 "), out] library LA { }\n"                                    /* 7 */
          "[dllname(\"x.dll\"), object] module MA { [entry(1), out] void f(void); }\n" /* 8 */
          "[uuid(" U4 "), pointer_default(ref), in] dispinterface DA { properties: [in] long p; methods: [in, id(1)] void m(); }\n"
          "typedef [switch_type(long)] union { [case(1), size_is(1)] long *a; [default, in] ; } NU;\n"
          "typedef [case(1)] long TC;\n",                                           /* 11 */
          16, 0,
          E("attribute 'retval' is not valid on an interface", 2, 54),
          E("attribute 'object' is not valid on a method", 3, 28),
          E("attribute 'dual' is not valid on a parameter", 3, 51),
          E("attribute 'in' is not valid on a typedef", 4, 10),
          E("attribute 'in' is not valid on a field", 5, 19),
          E("attribute 'propget' is not valid on a field", 5, 32),
          E("attribute 'in' is not valid on a coclass", 6, 46),
          E("attribute 'in' is not valid on a coclass member", 6, 64),
          E("attribute 'out' is not valid on a library", 7, 46),
          E("attribute 'object' is not valid on a module", 8, 20),
          E("attribute 'out' is not valid on a function", 8, 51),
          E("attribute 'pointer_default' is not valid on a dispinterface", 9, 46),
          E("attribute 'in' is not valid on a dispinterface", 9, 68),
          E("attribute 'in' is not valid on a field", 9, 104),
          E("attribute 'in' is not valid on a method", 9, 126),
          E("attribute 'case' is not valid on a typedef", 11, 10));
}

/* The attributes of a typedef, field or arm belong to it, not to a struct or union defined inline in it:
 * [case] on an arm holding a struct and [switch_is] on a field holding a union are fine, and a bad
 * attribute on a typedef of an inline struct is reported once. */
static void attributes_on_inline_definitions(void **state)
{
    (void)state;
    CHECK("typedef [switch_type(long)] union U {\n"
          "    [case(1)] struct { long a; } s;\n"
          "    [default] long b;\n"
          "} U;\n"
          "typedef struct S {\n"
          "    long n;\n"
          "    [switch_is(n)] union { [case(1)] long a; [default] ; } u;\n"
          "} S;\n"
          "typedef [bogus, public] struct { long x; } T;\n"           /* 9 */
          "[v1_enum] enum E { E_A };\n",
          1, 0,
          E("unknown attribute 'bogus'", 9, 10));
}

static void attribute_argument_counts(void **state)
{
    (void)state;
    CHECK(PRE
          "[object, uuid(" U1 "), helpstring(\"a\", \"b\"), dual(1), helpcontext]\n"   /* 2 */
          "interface IA : IUnknown {\n"
          "    [id(1, 2)] HRESULT A([in, range(1)] long a, [in, defaultvalue] long b);\n"     /* 4 */
          "    HRESULT B([in] long n, [in, size_is] long *p, [in(n)] long c);\n"             /* 5 */
          "}\n"
          "[uuid(" U2 ")] coclass C { [default(1)] interface IA; }\n",                      /* 7 */
          9, 0,
          E("wrong number of arguments to attribute 'helpstring'", 2, 54),
          E("attribute 'dual' takes no arguments", 2, 76),
          E("wrong number of arguments to attribute 'helpcontext'", 2, 85),
          E("wrong number of arguments to attribute 'id'", 4, 6),
          E("wrong number of arguments to attribute 'range'", 4, 31),
          E("wrong number of arguments to attribute 'defaultvalue'", 4, 54),
          E("wrong number of arguments to attribute 'size_is'", 5, 33),
          E("attribute 'in' takes no arguments", 5, 52),
          E("attribute 'default' takes no arguments", 7, 59));
}

static void duplicate_attributes(void **state)
{
    (void)state;
    CHECK(PRE
          "[object, uuid(" U1 "), object, annotation(\"a\"), annotation(\"b\")]\n"  /* 2 */
          "interface IA : IUnknown {\n"
          "    HRESULT A([in, in] long a, [out, retval, out] long *b);\n"                 /* 4 */
          "}\n",
          3, 0,
          E("duplicate attribute 'object'", 2, 54),
          E("duplicate attribute 'in'", 4, 20),
          E("duplicate attribute 'out'", 4, 46));
}

static void pointer_default_value(void **state)
{
    (void)state;
    CHECK(PRE
          "[object, uuid(" U1 "), pointer_default(full)] interface IA : IUnknown { }\n"
          "[object, uuid(" U2 "), pointer_default(ptr)] interface IB : IUnknown { }\n",
          1, 0,
          E("pointer_default must be ref, unique or ptr, not 'full'", 2, 54));
}

/* ---- data attributes ---- */

static void string_attribute(void **state)
{
    (void)state;
    CHECK(IFACE_A
          "    HRESULT A([in, string] long *p);\n"                                  /* 4 */
          "    HRESULT B([in, string] char c);\n"                                   /* 5 */
          "    HRESULT C([in, string] long **pp);\n"                                /* 6 */
          "    HRESULT D([in, string] const char *a, [in, string] wchar_t *w, [in, string] byte *b);\n"
          "    HRESULT E([out, string] LPWSTR *pw, [out, string] char **pc, [in, string] char arr[10]);\n"
          "}\n"
          "typedef [string] long *PSTRLONG;\n"                                      /* 10 */
          "typedef struct { [string] double *d; [string] unsigned char *u; } S;\n", /* 11 */
          5, 0,
          E("[string] on 'p', which is not a pointer or array of char, wchar_t or byte", 4, 20),
          E("[string] on 'c', which is not a pointer or array", 5, 20),
          E("[string] on 'pp', which is not a pointer or array", 6, 20),
          E("[string] on 'PSTRLONG', which is not a pointer or array", 10, 10),
          E("[string] on 'd', which is not a pointer or array", 11, 19));
}

static void pointer_attributes(void **state)
{
    (void)state;
    CHECK(IFACE_A
          "    HRESULT A([in, unique] long p);\n"                     /* 4 */
          "    HRESULT B([in, ref] long p);\n"                        /* 5 */
          "    HRESULT C([in, ptr] long p[4]);\n"                     /* 6 */
          "    HRESULT D([in, ref, unique] long *p);\n"               /* 7 */
          "    HRESULT E([in, unique] long *p, [in, ref] LPWSTR q);\n"  /* 8: fine */
          "}\n"
          "typedef struct { [unique] long x; [ref] long *y; } S;\n"   /* 10 */
          "typedef [unique] long NOT_A_POINTER;\n",                    /* 11: typedef: not checked */
          5, 0,
          E("[unique] on 'p', which is not a pointer", 4, 20),
          E("[ref] on 'p', which is not a pointer", 5, 20),
          E("[ptr] on 'p', which is not a pointer", 6, 20),
          E("'p' has more than one of [ref], [unique], [ptr]", 7, 39),
          E("[unique] on 'x', which is not a pointer", 10, 19));
}

static void range_attribute(void **state)
{
    (void)state;
    CHECK(IFACE_A
          "    HRESULT A([in, range(10, 1)] long a);\n"        /* 4 */
          "    HRESULT B([in, range(0, 1)] float f);\n"        /* 5 */
          "    HRESULT C([in, range(-5, -5)] long c);\n"       /* 6: fine */
          "    HRESULT D([in, range(0, 100)] long *p);\n"      /* 7 */
          "}\n"
          "typedef [range(1, 0)] short RS;\n"                  /* 9 */
          "typedef struct { [range(0, 9)] double d; } S;\n",   /* 10 */
          5, 0,
          E("range minimum 10 is above its maximum 1", 4, 20),
          E("range on 'f', which is not an integer", 5, 20),
          E("range on 'p', which is not an integer", 7, 20),
          E("range minimum 1 is above its maximum 0", 9, 10),
          E("range on 'd', which is not an integer", 10, 19));
}

/* ---- structs and unions ---- */

static void struct_members(void **state)
{
    (void)state;
    CHECK("typedef struct { long x; short x; } S1;\n"                          /* 1 */
          "typedef struct { long n; [size_is(n)] long z[]; long after; } S2;\n" /* 2 */
          "typedef struct { long n; long y; void v; } S3;\n"                   /* 3 */
          "typedef struct { long n; long; } S4;\n"                             /* 4 */
          "typedef struct { long n; struct { long a; }; union U { [case(1)] long b; }; } S5;\n" /* 5: anonymous members */
          "typedef struct { long n; [size_is(n)] long items[]; } S6;\n"         /* 6: fine */
          "typedef struct { long n; long m[]; long o[]; } S7;\n",               /* 7 */
          5, 0,
          E("duplicate member 'x'", 1, 32),
          N("previous declaration of 'x' is here", 1, 23),
          E("conformant array 'z' must be the last member of the struct", 2, 44),
          E("field 'v' has type void", 3, 39),
          E("field has no name", 4, 30),
          E("conformant array 'm' must be the last member of the struct", 7, 31));
}

static void union_cases(void **state)
{
    (void)state;
    CHECK("const long ONE = 1;\n"
          "typedef union switch (long k) U1 { case 1: long a; case 2: case ONE: short b; default: ; default: char c; } T1;\n"
          "typedef [switch_type(long)] union { [case(1)] long a; [case(2, 1)] short b; [default] char c; [default] float d; } T2;\n"
          "typedef union switch (long k) U3 { case 1.5: long a; case \"s\": short b; } T3;\n"
          "typedef union switch (float f) U4 { case 1: long a; } T4;\n"
          "typedef union switch (long k) U5 { case 1: long a; case 2: long b; case 1: long c; } T5;\n"
          "typedef union switch (long k) U6 { case 1: long a; case 2: long a; } T6;\n",
          9, 0,
          E("duplicate case value 1", 2, 65),
          E("union has more than one default arm", 2, 90),
          E("duplicate case value 1", 3, 64),
          E("union has more than one default arm", 3, 95),
          E("case label is not an integer", 4, 41),
          E("case label is not an integer", 4, 59),
          E("union discriminant 'f' must be an integer or enum", 5, 9),
          E("duplicate case value 1", 6, 73),
          E("duplicate member 'a'", 7, 65),
          N("previous declaration of 'a' is here", 7, 49));
}

static void union_switch_on_enum_is_integral(void **state)
{
    (void)state;
    CHECK_CLEAN("typedef enum { K_A, K_B } KIND;\n"
                "typedef union switch (KIND k) U { case K_A: long a; case K_B: double b; } T;\n"
                "typedef union switch (char c) V { case 'a': long a; case 'b': double b; } TV;\n"
                "typedef union switch (boolean b) W { case 0: long a; case 1: ; } TW;\n");
}

/* ---- constants ---- */

static void constant_expression_errors(void **state)
{
    (void)state;
    CHECK("const long D0 = 1 / 0;\n"                            /* 1 */
          "const long M0 = 5 % (2 - 2);\n"                      /* 2 */
          "const hyper OV = 0x7fffffffffffffff + 1;\n"          /* 3 */
          "const hyper OV2 = 0x7fffffffffffffff * 2;\n"         /* 4 */
          "const hyper OV3 = -0x7fffffffffffffff - 2;\n"        /* 5 */
          "const hyper OV4 = (-0x7fffffffffffffff - 1) / -1;\n" /* 6 */
          "const long SH = 1 << 64;\n"                          /* 7 */
          "const long SH2 = 1 >> -1;\n"                         /* 8 */
          "const long UNDEF = NOPE + 1;\n"                      /* 9 */
          "const long FIELD = A.b;\n",                          /* 10 */
          10, 0,
          E("division by zero in constant expression", 1, 19),
          E("division by zero in constant expression", 2, 19),
          E("integer overflow in constant expression", 3, 37),
          E("integer overflow in constant expression", 4, 38),
          E("integer overflow in constant expression", 5, 39),
          E("integer overflow in constant expression", 6, 45),
          E("shift count 64 is out of range", 7, 19),
          E("shift count -1 is out of range", 8, 20),
          E("'NOPE' is not a constant", 9, 20),
          E("expression is not constant", 10, 21));
}

static void constant_operand_errors(void **state)
{
    (void)state;
    CHECK("const long NEG = -\"x\";\n"          /* 1 */
          "const long BIN = \"a\" + 1;\n"       /* 2 */
          "const double FL = 1.5 % 2.0;\n"      /* 3 */
          "const long NOTF = ~1.5;\n"           /* 4 */
          "const long NOTS = !\"s\";\n"         /* 5 */
          "const long DEREF = *1;\n"            /* 6 */
          "const long ADDR = &1;\n"             /* 7 */
          "const double SH = 1.0 << 2;\n",      /* 8 */
          8, 0,
          E("invalid operand to unary '-'", 1, 18),
          E("invalid operands to binary operator", 2, 22),
          E("invalid operands of floating type to binary operator", 3, 23),
          E("invalid operand to unary '~'", 4, 19),
          E("invalid operand to unary '!'", 5, 19),
          E("unary '*' is not allowed in a constant expression", 6, 20),
          E("unary '&' is not allowed in a constant expression", 7, 19),
          E("invalid operands of floating type to binary operator", 8, 23));
}

static void self_referencing_constants(void **state)
{
    (void)state;
    CHECK("const long SELF = SELF + 1;\n"           /* 1 */
          "const long C1 = C2 * 2;\n"               /* 2 */
          "const long C2 = C1 + 1;\n",              /* 3 */
          2, 0, /* one cycle, one error */
          E("constant 'SELF' depends on itself", 1, 19),
          E("constant 'C1' depends on itself", 3, 17));
}

static void constant_types(void **state)
{
    (void)state;
    CHECK("const long STR = \"abc\";\n"               /* 1 */
          "const char *NUM = 5;\n"                    /* 2 */
          "const wchar_t *W = L\"ok\";\n"             /* 3: fine */
          "const char C = 'c';\n"                     /* 4: fine */
          "const long *LP = \"x\";\n"                 /* 5 */
          "const boolean T = TRUE;\n"                 /* 6: fine */
          "const long F = FALSE + 1;\n"               /* 7: fine */
          "long NOTCONST = 1;\n",                     /* 8 */
          4, 0,
          E("string constant 'STR' needs a char or wchar_t pointer type", 1, 12),
          E("constant 'NUM' of pointer type needs a string value", 2, 13),
          E("string constant 'LP' needs a char or wchar_t pointer type", 5, 13),
          E("constant 'NOTCONST' must be declared const", 8, 6));
}

static void constant_nested_too_deeply(void **state)
{
    (void)state;
    /* 2500 constants, each defined by the next: evaluating the first recurses through all of them */
    char *text = malloc(2500 * 40), *p = text;
    for (int i = 0; i < 2499; i++)
        p += sprintf(p, "const long C%d = C%d + 1;\n", i, i + 1);
    sprintf(p, "const long C2499 = 0;\n");
    struct harness h = {0};
    harness_compile(&h, text);
    const struct diag_record *d = harness_find(&h, IDL_ERROR, "constant expression nested too deeply");
    if (!d)
        harness_dump(&h);
    assert_non_null(d);
    /* reported where the limit (IDL_MAX_EXPR_DEPTH) is reached: the '+' of C2048's value */
    assert_int_equal(d->line, 2049);
    assert_int_equal(d->col, 26);
    assert_true(h.c.errors >= 1);
    assert_null(harness_find(&h, IDL_ERROR, "depends on itself"));
    harness_free(&h);
    free(text);
}

static void enumerator_ranges(void **state)
{
    (void)state;
    CHECK("enum E1 { A1 = 0x7fffffff, B1 };\n"                        /* 1 */
          "enum E2 { A2 = -2147483648, B2 = -2147483649 };\n"          /* 2 */
          "enum E3 { A3 = 0x100000000, B3 = 0xffffffffU };\n"          /* 3 */
          "enum E4 { A4 = 0x7fffffffffffffff, B4 };\n"                 /* 4 */
          "enum E5 { A5 = 1 << 31, B5 = -(1 << 31) };\n",              /* 5 */
          6, 0,
          E("enumerator 'B1' value 2147483648 does not fit in 32 bits", 1, 28),
          E("enumerator 'B2' value -2147483649 does not fit in 32 bits", 2, 29),
          E("enumerator 'A3' value 4294967296 does not fit in 32 bits", 3, 11),
          E("enumerator 'A4' value 9223372036854775807 does not fit in 32 bits", 4, 11),
          E("enumerator value for 'B4' is out of range", 4, 36),
          E("enumerator 'A5' value 2147483648 does not fit in 32 bits", 5, 11));
}

/* ---- arrays ---- */

static void array_sizes(void **state)
{
    (void)state;
    CHECK(IFACE_A
          "    HRESULT A([in] long a[0]);\n"                   /* 4 */
          "    HRESULT B([in] long b[2][-1]);\n"               /* 5 */
          "}\n"
          "typedef struct { long z[1 - 1]; double f[1.5]; long big[0x80000001]; long ok[0x80000000]; } S;\n",
          5, 0,
          E("array size must be positive, not 0", 4, 27),
          E("array size must be positive, not -1", 5, 30),
          /* an expression is located at its operator */
          E("array size must be positive, not 0", 7, 27),
          E("array size is not an integer", 7, 42),
          E("array size 2147483649 is too large", 7, 57));
}

static void array_size_errors_in_typedefs(void **state)
{
    (void)state;
    /* how often they are reported: see bug_array_size_reported_twice_on_typedef */
    struct harness h = {0};
    harness_compile(&h, "typedef long A0[0];\ntypedef long AN[NOPE];\n");
    assert_error_at(&h, "array size must be positive, not 0", 1, 17);
    assert_error_at(&h, "'NOPE' is not a constant", 2, 17);
    harness_free(&h);
}

/* ---- coclasses and dispinterfaces ---- */

static void coclass_and_dispinterface_references(void **state)
{
    (void)state;
    CHECK(PRE
          "typedef long NOTIF;\n"                                                            /* 2 */
          "[uuid(" U1 ")] coclass C { [default] interface Nope; interface NOTIF; interface IUnknown; }\n"
          "[uuid(" U2 ")] dispinterface D1 { interface NOTIF; }\n"                           /* 4 */
          "[uuid(" U3 ")] dispinterface D2 { interface Gone; }\n"                            /* 5 */
          "[uuid(" U4 ")] dispinterface D3 { interface IUnknown; }\n",                       /* 6 */
          4, 0,
          E("coclass 'C' lists 'Nope', which is not an interface", 3, 78),
          E("coclass 'C' lists 'NOTIF', which is not an interface", 3, 94),
          E("'NOTIF' is not an interface", 4, 75),
          E("'Gone' is not an interface", 5, 75));
}

/* ---- whole files ---- */

static const char realistic_idl[] =
    "import \"pcom.idl\";\n"
    "cpp_quote(\"/* widgets */\")\n"
    "midl_pragma warning(disable : 2111)\n"
    "const long MAX_ITEMS = 64;\n"
    "const unsigned long FLAGS = 0x10 | 0x01;\n"
    "const char *GREETING = \"hello\";\n"
    "const wchar_t *WGREETING = L\"hello\";\n"
    "const hyper BIG = (hyper)1 << 40;\n"
    "const double RATIO = 1.5;\n"
    "const boolean ENABLED = TRUE;\n"
    "interface IWidget;\n"
    "typedef enum tagCOLOR { COLOR_RED, COLOR_GREEN = 5, COLOR_BLUE, COLOR_MASK = 1 << 3,\n"
    "                        COLOR_ALL = COLOR_RED | COLOR_MASK } COLOR;\n"
    "typedef [v1_enum] enum { SHAPE_NONE, SHAPE_BOX } SHAPE;\n"
    "typedef struct tagPOINT { long x; long y; } POINT;\n"
    "typedef struct tagRECT { POINT topLeft; POINT bottomRight; struct { long w; long h; } size; } RECT;\n"
    "typedef struct tagBLOB { ULONG cb; [size_is(cb)] BYTE *pData; } BLOB;\n"
    "typedef struct tagCARRAY { ULONG n; [size_is(n)] long items[]; } CARRAY;\n"
    "typedef union switch (long kind) VALUE {\n"
    "    case 1: long l;\n"
    "    case 2: double d;\n"
    "    case 3: case 4: [string] wchar_t *s;\n"
    "    default: ;\n"
    "} VALUE;\n"
    "typedef [switch_type(SHAPE)] union tagSHAPEDATA { [case(SHAPE_NONE)] ; [case(SHAPE_BOX)] RECT box; } SHAPEDATA;\n"
    "typedef struct tagSHAPE { SHAPE kind; [switch_is(kind)] SHAPEDATA data; } SHAPEINFO;\n"
    "typedef long MATRIX[4][4];\n"
    "typedef [range(0, 100)] long PERCENT;\n"
    "typedef [unique] POINT *PPOINT;\n"
    "[object, uuid(6f1a1b2c-0000-4000-8000-000000000001), pointer_default(unique), helpstring(\"A widget\")]\n"
    "interface IWidget : IUnknown\n"
    "{\n"
    "    typedef [string] WCHAR *WNAME;\n"
    "    const long IWIDGET_VERSION = 2;\n"
    "    HRESULT GetName([out, string] LPWSTR *name);\n"
    "    HRESULT SetBounds([in] const RECT *bounds);\n"
    "    HRESULT GetItems([in] ULONG max, [out] ULONG *count, [out, size_is(max), length_is(*count)] long *items);\n"
    "    HRESULT GetChild([in] REFIID riid, [out, iid_is(riid)] void **ppv);\n"
    "    HRESULT Find([in, string] const char *name, [out, retval] IWidget **result);\n"
    "    HRESULT Fill([in] const BLOB *blob, [in, size_is(blob->cb)] const BYTE *copy);\n"
    "    HRESULT SetColor([in] COLOR c, [in] VALUE v, [in, unique] SHAPEINFO *shape);\n"
    "    [propget, id(1), helpstring(\"size\")] HRESULT Size([out, retval] long *value);\n"
    "    [propput, id(1)] HRESULT Size([in] long value);\n"
    "    HRESULT Matrix([in] MATRIX m, [in, unique] RECT *optional, [in] PERCENT pct, [in] PPOINT pp);\n"
    "    HRESULT Names([in] long n, [out, size_is(, n)] WNAME **names);\n"
    "    [local] void *Native(void);\n"
    "    [local] HRESULT Draw([in] void *dc);\n"
    "    [call_as(Draw)] HRESULT RemoteDraw([in] long dc);\n"
    "    HRESULT Range([in, range(1, MAX_ITEMS)] long n, [in, size_is(n)] const long *values);\n"
    "}\n"
    "[object, uuid(6f1a1b2c-0000-4000-8000-000000000002), local]\n"
    "interface ICallbacks : IUnknown\n"
    "{\n"
    "    typedef void (*PFN_NOTIFY)(void *ctx, long code);\n"
    "    void Register([in] PFN_NOTIFY fn, [in] void *ctx);\n"
    "    long Count(void);\n"
    "}\n"
    "[object, uuid(6f1a1b2c-0000-4000-8000-000000000003)]\n"
    "interface IFancyWidget : IWidget\n"
    "{\n"
    "    HRESULT Spin([in] double degrees);\n"
    "    HRESULT Attach([in] ICallbacks *local_ok_in_local_method_only);\n"
    "}\n"
    "[uuid(6f1a1b2c-0000-4000-8000-000000000008), version(1.0)]\n"
    "interface IRpcService\n"
    "{\n"
    "    error_status_t Ping([in] handle_t h, [in, string] const char *msg);\n"
    "    void Send([in] handle_t h, [in] long n, [in, size_is(n)] const byte *data);\n"
    "}\n"
    "[uuid(6f1a1b2c-0000-4000-8000-000000000004), version(1.0), helpstring(\"Widgets\")]\n"
    "library WidgetLib\n"
    "{\n"
    "    importlib(\"stdole2.tlb\");\n"
    "    [uuid(6f1a1b2c-0000-4000-8000-000000000005)]\n"
    "    dispinterface DWidgetEvents\n"
    "    {\n"
    "    properties:\n"
    "        [id(1)] long count;\n"
    "    methods:\n"
    "        [id(2)] void Clicked([in] long x, [in] long y);\n"
    "    }\n"
    "    [uuid(6f1a1b2c-0000-4000-8000-000000000006)]\n"
    "    dispinterface DWidget { interface IWidget; }\n"
    "    [uuid(6f1a1b2c-0000-4000-8000-000000000007), helpstring(\"Widget class\")]\n"
    "    coclass Widget\n"
    "    {\n"
    "        [default] interface IFancyWidget;\n"
    "        interface IWidget;\n"
    "        [default, source] dispinterface DWidgetEvents;\n"
    "    }\n"
    "    [dllname(\"widget.dll\")]\n"
    "    module WidgetApi\n"
    "    {\n"
    "        const long API_VERSION = 2;\n"
    "        [entry(\"WidgetInit\")] HRESULT WidgetInit([in] long flags);\n"
    "    }\n"
    "}\n";

static void valid_idl_is_silent(void **state)
{
    (void)state;
    /* IFancyWidget::Attach passes a [local] interface from a remotable method: the one deliberate error */
    struct harness h = {0};
    harness_compile(&h, realistic_idl);
    assert_error_at(&h, "parameter 'local_ok_in_local_method_only' of remotable method 'Attach' passes [local] "
                        "interface 'ICallbacks'", 62, 37);
    assert_int_equal(h.c.errors, 1);
    assert_int_equal(h.ndiags, 1);
    harness_free(&h);

    /* made [local], the file has no diagnostics at all */
    size_t len = strlen(realistic_idl);
    char *text = malloc(len + 16);
    const char *at = strstr(realistic_idl, "    HRESULT Attach(");
    assert_non_null(at);
    size_t head = (size_t)(at - realistic_idl);
    memcpy(text, realistic_idl, head);
    strcpy(text + head, "    [local]");
    strcpy(text + head + strlen("    [local]"), at + 3);
    struct harness h2 = {0};
    harness_compile(&h2, text);
    if (h2.ndiags)
        harness_dump(&h2);
    assert_int_equal(h2.c.errors, 0);
    assert_int_equal(h2.c.warnings, 0);
    assert_int_equal(h2.ndiags, 0);
    harness_free(&h2);
    free(text);
}

/* The shipped pcom.idl on its own is clean. */
static void standard_idl_is_silent(void **state)
{
    (void)state;
    CHECK_CLEAN(PRE);
}

static void too_many_errors_in_parser(void **state)
{
    (void)state;
    char *text = malloc(500 * 40), *p = text;
    for (int i = 0; i < 500; i++)
        p += sprintf(p, "typedef Nope%d T%d;\n", i, i);
    struct harness h = {0};
    harness_compile(&h, text);
    assert_true(h.c.too_many_errors);
    assert_int_equal(h.c.errors, IDL_MAX_ERRORS + 1);
    assert_int_equal(h.ndiags, IDL_MAX_ERRORS + 1);
    assert_int_equal(count_diags(&h, IDL_ERROR, "unknown type name"), IDL_MAX_ERRORS);
    /* the last report says so, at the 101st error */
    const struct diag_record *last = &h.diags[h.ndiags - 1];
    assert_int_equal(last->sev, IDL_ERROR);
    assert_string_equal(last->msg, "too many errors; stopping");
    assert_int_equal(last->line, IDL_MAX_ERRORS + 1);
    assert_int_equal(last->col, 9);
    harness_free(&h);
    free(text);
}

static void too_many_errors_in_checks(void **state)
{
    (void)state;
    /* syntactically fine: the 500 errors come from the checks, with notes that must stop too */
    char *text = malloc(500 * 60), *p = text;
    p += sprintf(p, "typedef struct { long a; long a; } S;\n");
    for (int i = 0; i < 500; i++)
        p += sprintf(p, "const long K%d = %d / 0;\n", i, i);
    struct harness h = {0};
    harness_compile(&h, text);
    assert_true(h.c.too_many_errors);
    assert_int_equal(h.c.errors, IDL_MAX_ERRORS + 1);
    assert_int_equal(count_sev(&h, IDL_ERROR), IDL_MAX_ERRORS + 1);
    assert_int_equal(count_sev(&h, IDL_NOTE), 1);
    assert_int_equal(count_diags(&h, IDL_ERROR, "division by zero"), IDL_MAX_ERRORS - 1);
    assert_string_equal(h.diags[h.ndiags - 1].msg, "too many errors; stopping");
    harness_free(&h);
    free(text);
}

/* Exactly 100 errors are all reported, without the stop message. */
static void one_hundred_errors_are_not_too_many(void **state)
{
    (void)state;
    char *text = malloc(100 * 40), *p = text;
    for (int i = 0; i < 100; i++)
        p += sprintf(p, "typedef Nope%d T%d;\n", i, i);
    struct harness h = {0};
    harness_compile(&h, text);
    assert_false(h.c.too_many_errors);
    assert_int_equal(h.c.errors, IDL_MAX_ERRORS);
    assert_null(harness_find(&h, IDL_ERROR, "too many errors"));
    harness_free(&h);
    free(text);
}

/* ---- known bugs: these document the correct behaviour and fail until sema is fixed ---- */

/* Was a bug, kept fixed: a uuid reused from an imported file is reported inside the imported file (pcom.idl:50:5, "uuid
 * ... of 'IUnknown' is already used by 'IMine'") with the note in test.idl: the main file is checked
 * before the files it imports. The error belongs on the user's declaration, the note on IUnknown. */
static void bug_duplicate_uuid_with_import_located_in_import(void **state)
{
    (void)state;
    CHECK(PRE "[object, uuid(00000000-0000-0000-C000-000000000046)]\n"
              "interface IMine : IUnknown { HRESULT A(void); }\n",
          1, 0,
          E("uuid 00000000-0000-0000-c000-000000000046 of 'IMine' is already used by 'IUnknown'", 2, 10));
}

/* Was a bug, kept fixed: an array size error in a typedef is reported twice (check_type runs for the typedef and again
 * in check_data). */
static void bug_array_size_reported_twice_on_typedef(void **state)
{
    (void)state;
    CHECK("typedef long A0[0];\n"
          "typedef long AF[1.5];\n"
          "typedef long AB[0x100000000];\n",
          3, 0,
          E("array size must be positive, not 0", 1, 17),
          E("array size is not an integer", 2, 17),
          E("array size 4294967296 is too large", 3, 17));
}

/* Was a bug, kept fixed: [uuid] with no argument is accepted silently: the parser reads no argument, and neither it nor
 * sema ("malformed uuid" fires only when there are arguments) reports it. */
static void bug_uuid_without_argument(void **state)
{
    (void)state;
    struct harness h = {0};
    harness_compile(&h, PRE "[object, uuid] interface IA : IUnknown { HRESULT A(void); }\n");
    const struct diag_record *d = NULL;
    for (int i = 0; i < h.ndiags; i++)
        if (h.diags[i].sev == IDL_ERROR && h.diags[i].line == 2)
            d = &h.diags[i];
    if (!d)
        harness_dump(&h);
    assert_non_null(d);
    assert_int_equal(d->col, 10);
    harness_free(&h);
}

/* Was a bug, kept fixed: [custom(guid, value)], the usual MIDL form, is rejected: a bare guid after "custom(" is not
 * lexed as a uuid (the lexer knows only uuid( and async_uuid(), giving "invalid suffix" and "malformed
 * uuid" errors; with the guid in quotes, sema says "attribute 'custom' takes no arguments" because the
 * value is kept in args while the rule allows none. */
static void bug_custom_attribute(void **state)
{
    (void)state;
    CHECK_CLEAN(PRE
                "[object, uuid(" U1 "), custom(0F21F359-AB84-41E8-9A78-36D110E6D2F9, \"Some.Name\")]\n"
                "interface IA : IUnknown { HRESULT A(void); }\n"
                "[object, uuid(" U2 "), custom(\"0F21F359-AB84-41E8-9A78-36D110E6D2F9\", 42)]\n"
                "interface IB : IUnknown { HRESULT B(void); }\n");
}

/* Was a bug, kept fixed: three copies of an attribute give three "duplicate attribute" errors, two of them at the same
 * place: every pair is reported. */
static void bug_duplicate_attribute_reported_per_pair(void **state)
{
    (void)state;
    CHECK(IFACE_A "    HRESULT A([in, in, in] long a);\n}\n",
          2, 0,
          E("duplicate attribute 'in'", 4, 20),
          E("duplicate attribute 'in'", 4, 24));
}

/* Was a bug, kept fixed: "attr()" with nothing between the parentheses counts as one (empty) argument, so attributes that
 * need an argument accept an empty list without a word: [helpcontext()], [id()], [defaultvalue()],
 * [size_is()] (the same attributes without parentheses are reported). */
static void bug_empty_attribute_arguments(void **state)
{
    (void)state;
    CHECK(PRE
          "[object, uuid(" U1 "), helpcontext()]\n"                                            /* 2 */
          "interface IA : IUnknown {\n"
          "    [id()] HRESULT A([in, defaultvalue()] long a, [in, size_is()] long *p);\n"    /* 4 */
          "}\n",
          4, 0,
          E("wrong number of arguments to attribute 'helpcontext'", 2, 54),
          E("wrong number of arguments to attribute 'id'", 4, 6),
          E("wrong number of arguments to attribute 'defaultvalue'", 4, 27),
          E("wrong number of arguments to attribute 'size_is'", 4, 56));
}

/* Was a bug, kept fixed: three equal case values give three "duplicate case value" errors, two at the same place: each
 * value is compared with every earlier one. */
static void bug_duplicate_case_reported_per_pair(void **state)
{
    (void)state;
    CHECK("typedef union switch (long k) U { case 1: long a; case 1: long b; case 1: long c; } T;\n",
          2, 0,
          E("duplicate case value 1", 1, 56),
          E("duplicate case value 1", 1, 72));
}

/* Was a bug, kept fixed: a cycle through an enumerator without a value is reported twice, with the same message at the same
 * place (and calls the enumerator a "constant"). */
static void bug_enumerator_cycle_reported_twice(void **state)
{
    (void)state;
    CHECK("enum E { EA = EB, EB };\n", 1, 0, E("depends on itself", 1, 10));
}

/* Was a bug, kept fixed: where_name() has wordings for a union arm and for a struct, union or enum, but they are never
 * used: an arm is checked as A_FIELD | A_ARM and a tag as A_TAG | A_TYPEDEF, combinations that print
 * "attribute 'in' is not valid on this declaration". */
static void bug_attribute_place_named_vaguely(void **state)
{
    (void)state;
    CHECK("[in] struct T { long x; };\n"
          "typedef [switch_type(long)] union { [case(1), in] long a; } NU;\n",
          2, 0,
          E("attribute 'in' is not valid on a struct, union or enum", 1, 2),
          E("attribute 'in' is not valid on a union arm", 2, 47));
}

/* Was a bug, kept fixed: NULL is a constant (types.c evaluates it, docs/idl.md lists it), but the one type it is meant
 * for, a pointer constant, rejects it: "constant 'P' of pointer type needs a string value". */
static void bug_null_pointer_constant(void **state)
{
    (void)state;
    CHECK_CLEAN("const char *P = NULL;\nconst wchar_t *W = NULL;\n");
}

/* Was a bug, kept fixed: a method returning a typedef of HRESULT gets "does not return HRESULT": is_hresult looks only at
 * the first typedef name instead of following the chain. */
static void bug_hresult_typedef_warns(void **state)
{
    (void)state;
    CHECK_CLEAN(PRE "typedef HRESULT MYRESULT;\n"
                    "[object, uuid(" U1 ")]\n"
                    "interface IA : IUnknown { MYRESULT A(void); }\n");
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(out_param_not_pointer),
        cmocka_unit_test(undefined_type_names),
        cmocka_unit_test(name_of_wrong_kind_used_as_type),
        cmocka_unit_test(redefinition_of_typedef),
        cmocka_unit_test(redefinition_of_interface),
        cmocka_unit_test(redefinition_of_enumerator_and_const),
        cmocka_unit_test(redefinition_of_tags),
        cmocka_unit_test(redefinition_of_coclass_library_module),
        cmocka_unit_test(malformed_uuids),
        cmocka_unit_test(duplicate_uuids),
        cmocka_unit_test(duplicate_uuid_across_imported_files),
        cmocka_unit_test(duplicate_uuid_with_imported_file_detected),
        cmocka_unit_test(missing_uuids),
        cmocka_unit_test(missing_uuid_in_import_is_not_reported),
        cmocka_unit_test(out_and_retval),
        cmocka_unit_test(parameter_names_and_types),
        cmocka_unit_test(interface_by_value),
        cmocka_unit_test(sizing_attributes_naming_absent),
        cmocka_unit_test(sizing_attributes_not_integral),
        cmocka_unit_test(sizing_expressions_valid),
        cmocka_unit_test(sizing_expression_errors),
        cmocka_unit_test(switch_is_checks),
        cmocka_unit_test(iid_is_checks),
        cmocka_unit_test(remotable_method_not_returning_hresult),
        cmocka_unit_test(local_interface_pointers),
        cmocka_unit_test(function_pointers_in_remotable_methods),
        cmocka_unit_test(inheritance_errors),
        cmocka_unit_test(inheritance_cycles),
        cmocka_unit_test(methods_duplicate_and_hiding),
        cmocka_unit_test(call_as_checks),
        cmocka_unit_test(unknown_attributes),
        cmocka_unit_test(attributes_in_wrong_place),
        cmocka_unit_test(attributes_on_inline_definitions),
        cmocka_unit_test(attribute_argument_counts),
        cmocka_unit_test(duplicate_attributes),
        cmocka_unit_test(pointer_default_value),
        cmocka_unit_test(string_attribute),
        cmocka_unit_test(pointer_attributes),
        cmocka_unit_test(range_attribute),
        cmocka_unit_test(struct_members),
        cmocka_unit_test(union_cases),
        cmocka_unit_test(union_switch_on_enum_is_integral),
        cmocka_unit_test(constant_expression_errors),
        cmocka_unit_test(constant_operand_errors),
        cmocka_unit_test(self_referencing_constants),
        cmocka_unit_test(constant_types),
        cmocka_unit_test(constant_nested_too_deeply),
        cmocka_unit_test(enumerator_ranges),
        cmocka_unit_test(array_sizes),
        cmocka_unit_test(array_size_errors_in_typedefs),
        cmocka_unit_test(coclass_and_dispinterface_references),
        cmocka_unit_test(valid_idl_is_silent),
        cmocka_unit_test(standard_idl_is_silent),
        cmocka_unit_test(too_many_errors_in_parser),
        cmocka_unit_test(too_many_errors_in_checks),
        cmocka_unit_test(one_hundred_errors_are_not_too_many),
        /* fixed bugs, kept so they stay fixed */
        cmocka_unit_test(bug_duplicate_uuid_with_import_located_in_import),
        cmocka_unit_test(bug_array_size_reported_twice_on_typedef),
        cmocka_unit_test(bug_uuid_without_argument),
        cmocka_unit_test(bug_custom_attribute),
        cmocka_unit_test(bug_duplicate_attribute_reported_per_pair),
        cmocka_unit_test(bug_empty_attribute_arguments),
        cmocka_unit_test(bug_duplicate_case_reported_per_pair),
        cmocka_unit_test(bug_enumerator_cycle_reported_twice),
        cmocka_unit_test(bug_attribute_place_named_vaguely),
        cmocka_unit_test(bug_null_pointer_constant),
        cmocka_unit_test(bug_hresult_typedef_warns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
