/* idl.h: the IDL front end's data model (locations, diagnostics, AST, types) and its entry points. */
#ifndef PCOMIDL_IDL_H
#define PCOMIDL_IDL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- memory: the compiler allocates from one arena and frees it at exit ---- */

struct idl_arena;
struct idl_arena *idl_arena_new(void);
void idl_arena_free(struct idl_arena *a);
void *idl_alloc(struct idl_arena *a, size_t size);            /* zeroed; aborts on OOM */
char *idl_strndup(struct idl_arena *a, const char *s, size_t n);
char *idl_strdup(struct idl_arena *a, const char *s);
char *idl_printf(struct idl_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Growable array of pointers, arena-backed. */
struct idl_vec {
    void **items;
    size_t len, cap;
};
void idl_vec_push(struct idl_arena *a, struct idl_vec *v, void *item);

/* ---- diagnostics ---- */

struct idl_loc {
    const char *file; /* interned by the lexer; NULL for command-line diagnostics */
    int line, col;
};

enum idl_severity { IDL_NOTE, IDL_WARNING, IDL_ERROR };

/* Diagnostics go to a sink: stderr by default, a callback in tests and the fuzzer. */
typedef void (*idl_diag_fn)(void *user, enum idl_severity sev, struct idl_loc loc, const char *msg);

#define IDL_MAX_ERRORS 100

/* ---- expressions (constants, array bounds, size_is, case labels, ...) ---- */

enum idl_expr_kind {
    EXPR_INT,
    EXPR_FLOAT,
    EXPR_STRING, /* s, wide */
    EXPR_CHAR,
    EXPR_IDENT,
    EXPR_UNARY,  /* op: - + ~ ! * & */
    EXPR_BINARY, /* op: + - * / % << >> & | ^ && || == != < > <= >= */
    EXPR_COND,
    EXPR_MEMBER, /* a.b, a->b (op '.' or 'A') */
    EXPR_CAST,
    EXPR_SIZEOF,
    EXPR_EMPTY, /* a missing argument, as in size_is(, n) */
};

struct idl_type;
struct idl_decl;

struct idl_expr {
    enum idl_expr_kind kind;
    struct idl_loc loc;
    int op; /* operator: the character, or a two-character code from the lexer */
    bool paren;      /* written in parentheses: kept when the expression is printed */
    bool wide;       /* L"..." or L'x' */
    uint64_t ival;   /* EXPR_INT / EXPR_CHAR value as written */
    bool is_unsigned; /* integer literal with a U suffix */
    double fval;
    const char *text; /* literal spelling, identifier or member name, string contents as written */
    struct idl_expr *a, *b, *c;
    struct idl_type *cast_type;
};

/* Result of evaluating a constant expression. */
struct idl_value {
    enum { VAL_NONE, VAL_INT, VAL_FLOAT, VAL_STRING } kind;
    int64_t i;
    bool is_unsigned;
    double f;
    const char *s;
};

/* ---- attributes ---- */

struct idl_attr {
    const char *name;
    struct idl_loc loc;
    struct idl_vec args;        /* struct idl_expr *; EXPR_EMPTY for omitted ones */
    struct idl_type *type_arg;  /* switch_type, transmit_as, wire_marshal, user_marshal */
    uint8_t uuid[16];           /* uuid, async_uuid */
    bool has_uuid;
    unsigned version_major, version_minor; /* version */
    const char *ident_arg;      /* pointer_default(unique), call_as(Name), ... */
    bool bad_args;              /* the arguments did not parse (already reported) */
};

/* ---- types ---- */

enum idl_base {
    BT_VOID,
    BT_BOOLEAN,
    BT_BYTE,
    BT_CHAR,   /* char, unsigned char, signed char */
    BT_SMALL,
    BT_SHORT,
    BT_INT,
    BT_LONG,
    BT_HYPER,  /* hyper, __int64, long long */
    BT_INT3264,
    BT_FLOAT,
    BT_DOUBLE,
    BT_WCHAR,
    BT_ERROR_STATUS,
    BT_HANDLE,
    BT_INT8, BT_INT16, BT_INT32, BT_INT64,
    BT_UINT8, BT_UINT16, BT_UINT32, BT_UINT64,
};

enum idl_type_kind {
    TY_BASE,
    TY_NAMED,     /* a typedef name: target in ->decl */
    TY_STRUCT,    /* ->decl is the struct declaration */
    TY_UNION,
    TY_ENUM,
    TY_INTERFACE, /* ->decl is the interface */
    TY_POINTER,   /* ->ref pointee */
    TY_ARRAY,     /* ->ref element; ->size NULL: conformant ([] or [*]) */
    TY_FUNCTION,  /* ->ref return type; ->params */
};

struct idl_type {
    enum idl_type_kind kind;
    enum idl_base base;
    bool is_const;
    bool is_unsigned;    /* for base integers written with unsigned */
    bool is_signed;      /* explicitly signed (signed char) */
    const char *spelling;/* base type as written (e.g. "unsigned long", "__int64") */
    struct idl_decl *decl;
    struct idl_type *ref;
    struct idl_expr *size;
    struct idl_vec params; /* TY_FUNCTION: struct idl_decl * (DECL_PARAM) */
    const char *callconv;  /* TY_FUNCTION: __stdcall etc. as written, or NULL */
    struct idl_loc loc;
};

/* ---- declarations ---- */

enum idl_decl_kind {
    DECL_TYPEDEF,
    DECL_STRUCT,
    DECL_UNION,
    DECL_ENUM,
    DECL_ENUMERATOR,
    DECL_CONST,
    DECL_INTERFACE,
    DECL_DISPINTERFACE,
    DECL_COCLASS,
    DECL_LIBRARY,
    DECL_MODULE,
    DECL_METHOD,   /* in an interface */
    DECL_FUNCTION, /* in a module or a non-object interface */
    DECL_PARAM,
    DECL_FIELD,    /* struct field, union arm, dispinterface property */
    DECL_CPP_QUOTE,
    DECL_IMPORT,
    DECL_IMPORTLIB,
    DECL_PRAGMA,   /* midl_pragma warning(...) */
    DECL_COCLASS_ITEM, /* [default] interface IFoo; inside a coclass or dispinterface */
};

struct idl_case {
    struct idl_vec values; /* struct idl_expr *; empty for default */
    bool is_default;
    struct idl_loc loc;
};

struct idl_decl {
    enum idl_decl_kind kind;
    const char *name;       /* NULL for anonymous structs, unions, enums */
    struct idl_loc loc;
    struct idl_vec attrs;   /* struct idl_attr * */
    bool imported;          /* declared in an imported file: not emitted */
    struct idl_decl *parent;/* enclosing interface, library, struct, ... */

    struct idl_type *type;  /* typedef target, field/param type, method return type, const type */
    struct idl_expr *value; /* const value, enumerator value, cpp_quote text */
    struct idl_value cval;  /* evaluated const / enumerator value */

    struct idl_vec members; /* struct fields, union arms, enumerators, interface items,
                               library items, method params, coclass items */

    /* interfaces */
    const char *base_name;
    struct idl_loc base_loc;
    struct idl_decl *base;
    bool defined;           /* has a body (not just a forward declaration) */
    struct idl_decl *definition; /* forward declaration: the definition once seen */
    int vtbl_slots;         /* computed by sema: slots of bases + own methods */

    /* dispinterface */
    struct idl_vec methods; /* dispinterface methods: section */
    const char *disp_interface; /* dispinterface D { interface IFoo; } */

    /* unions */
    bool encapsulated;
    struct idl_type *switch_type; /* encapsulated: discriminant type */
    const char *switch_name;      /* encapsulated: discriminant field name */
    const char *union_name;       /* encapsulated: name of the union member */
    struct idl_case *arm_case;    /* DECL_FIELD in a union: its case labels */
    bool empty_arm;               /* an arm with no field: case 3: ; */

    /* typedefs may declare a struct/union/enum inline; the header prints it in place */
    struct idl_decl *inline_def;

    /* imports */
    struct idl_vec import_names; /* const char * */

    /* DECL_COCLASS_ITEM: the interface named */
    struct idl_decl *iface;

    /* semantic flags */
    bool is_object;   /* object interface */
    bool is_local;
    bool is_pointer_typedef; /* typedef'ed pointer */
    bool evaluating;  /* constant evaluation in progress: a reference back is a cycle */
    bool eval_failed; /* its value could not be computed, and that was reported */
    bool checked;     /* sema has visited this declaration */
    bool emitted;     /* the header has printed this struct/union/enum body */
};

/* One source file of the compilation: the main file and each imported file. */
struct idl_file {
    const char *path;       /* as resolved */
    const char *import_name;/* as written in import "x.idl"; NULL for the main file */
    bool imported;
    struct idl_vec decls;   /* top-level struct idl_decl * in order */
};

/* ---- the compilation ---- */

struct idl_symtab;

struct idl_options {
    const char *cpp;           /* preprocessor command, default "cpp" */
    struct idl_vec include_dirs; /* const char * */
    struct idl_vec cpp_args;     /* -D/-U as given, const char * */
    bool no_cpp;               /* input is already preprocessed (fuzzer, tests) */
};

struct idl_compiler {
    struct idl_arena *arena;
    struct idl_options opts;
    idl_diag_fn diag;
    void *diag_user;
    int errors, warnings;
    bool too_many_errors;

    struct idl_symtab *types;   /* typedef names, interfaces, coclasses, ... (ordinary names) */
    struct idl_symtab *tags;    /* struct/union/enum tags */
    struct idl_symtab *values;  /* constants and enumerators */

    struct idl_vec files;       /* struct idl_file *: [0] is the main file */
    struct idl_vec parsed;      /* struct idl_file *: each after the files it imports, the main file last */
    struct idl_vec deps;        /* const char *: every file read, for the depfile */
    struct idl_vec import_stack;/* const char *: resolved paths being imported (cycle guard) */

    /* hooks for tests and fuzzing: read a file's preprocessed text; NULL uses the disk and cpp */
    char *(*load)(struct idl_compiler *c, const char *path, size_t *len);
};

void idl_compiler_init(struct idl_compiler *c);
void idl_compiler_fini(struct idl_compiler *c);

/* Compile a file from disk (through the preprocessor unless opts.no_cpp). Returns error count. */
int idl_compile_file(struct idl_compiler *c, const char *path);
/* Compile preprocessed text held in memory, as the main file named `name`. Returns error count. */
int idl_compile_buffer(struct idl_compiler *c, const char *name, const char *text, size_t len);

void idl_error(struct idl_compiler *c, struct idl_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void idl_warning(struct idl_compiler *c, struct idl_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void idl_note(struct idl_compiler *c, struct idl_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Default sink: "file:line:col: error: msg" on stderr. */
void idl_diag_stderr(void *user, enum idl_severity sev, struct idl_loc loc, const char *msg);

/* ---- symbol tables ---- */

struct idl_symtab *idl_symtab_new(struct idl_arena *a);
struct idl_decl *idl_symtab_get(struct idl_symtab *t, const char *name);
void idl_symtab_put(struct idl_symtab *t, const char *name, struct idl_decl *d);

/* ---- attributes ---- */

struct idl_attr *idl_attr_find(const struct idl_vec *attrs, const char *name);
static inline bool idl_has_attr(const struct idl_vec *attrs, const char *name)
{
    return idl_attr_find(attrs, name) != NULL;
}

/* ---- types ---- */

/* Follow typedef names to the type they stand for. */
struct idl_type *idl_type_resolve(struct idl_type *t);
bool idl_type_is_integral(struct idl_type *t);
bool idl_type_is_pointer(struct idl_type *t);   /* after resolving typedefs */
bool idl_type_is_interface_ptr(struct idl_type *t, struct idl_decl **iface);
bool idl_type_is_void(struct idl_type *t);
bool idl_type_is_guid(struct idl_type *t);      /* GUID/IID/CLSID struct */
bool idl_type_is_char(struct idl_type *t);      /* char, wchar_t, byte-sized string element */
const char *idl_base_name(enum idl_base b);     /* IDL spelling of a base type */
bool idl_type_is_hresult(struct idl_type *t);   /* HRESULT, or a typedef of it */
/* The name of a method in the C binding: get_/put_/putref_ for property methods, as MIDL does. */
const char *idl_method_c_name(struct idl_compiler *c, struct idl_decl *m);

/* ---- expressions ---- */

/* Evaluate a constant expression; reports errors and returns false when it is not constant. */
bool idl_eval(struct idl_compiler *c, struct idl_expr *e, struct idl_value *out);
/* Value of a constant or enumerator declaration (enumerators without '=' count on from the one before). */
bool idl_eval_decl_value(struct idl_compiler *c, struct idl_decl *d, struct idl_value *out);
const char *idl_std_dir(void);
void idl_import(struct idl_compiler *c, const char *name, struct idl_loc loc);

/* ---- parsing internals shared with sema ---- */
void idl_parse(struct idl_compiler *c, struct idl_file *f, const char *text, size_t len);
void idl_check(struct idl_compiler *c);

/* Format a uuid as 8-4-4-4-12 lower-case hex into buf[37]. */
void idl_uuid_format(const uint8_t u[16], char buf[37]);
bool idl_uuid_parse(const char *s, size_t n, uint8_t out[16]);

#define IDL_MAX_NESTING 128
/* operators in one constant expression, evaluated recursively */
#define IDL_MAX_EXPR_DEPTH 4096

#endif
