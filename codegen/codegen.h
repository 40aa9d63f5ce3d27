/* codegen.h: the back ends over a checked AST (header, GUIDs, proxy/stub tables, depfile) and the text buffer
 * they write into. */
#ifndef PCOMIDL_CODEGEN_H
#define PCOMIDL_CODEGEN_H

#include "../idl/idl.h"

#include <stdio.h>

#define PCOMIDL_VERSION "0.1.0"

/* A growable text buffer. Allocation failure aborts: the compiler cannot go on without its output. */
struct sbuf {
    char *data;
    size_t len, cap;
};
void sb_putc(struct sbuf *b, char ch);
void sb_puts(struct sbuf *b, const char *s);
void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(struct sbuf *b);

/* What a back end needs besides the AST. */
struct gen_ctx {
    struct idl_compiler *c;
    const char *idl_name;    /* the main IDL file as given */
    const char *header_name; /* the header's file name, for the guard and for _i.c */
};

/* C spellings */
const char *cg_base_c_name(const struct idl_type *t);
/* Print "type name" as a C declaration (no trailing ';'). Struct/union/enum bodies not yet printed are
 * printed inline. conformant_as_one: print a conformant array as [1], as MIDL does for struct members. */
void cg_print_decl(struct gen_ctx *g, struct sbuf *b, struct idl_type *t, const char *name, int indent,
                   bool conformant_as_one);
void cg_print_expr(struct sbuf *b, const struct idl_expr *e);
/* Print "(This-type *This, params)" of a method for a given interface. */
void cg_print_params(struct gen_ctx *g, struct sbuf *b, const char *this_iface, struct idl_vec *params);
const char *cg_method_c_name(struct gen_ctx *g, struct idl_decl *m);
void cg_guid_initializer(struct sbuf *b, const uint8_t uuid[16]);

void gen_header(struct gen_ctx *g, struct sbuf *out);
void gen_iid(struct gen_ctx *g, struct sbuf *out);
/* foo_p.c: the proxy/stub tables of the remotable interfaces the main file defines (see docs/idl.md). */
void gen_proxy(struct gen_ctx *g, struct sbuf *out);
/* "foo_ProxyFileInfo": the one symbol of foo_p.c named after the file (CMake's MAKE_C_IDENTIFIER of its stem),
 * which pcom_add_idl asks the linker to keep. */
const char *cg_proxy_file_symbol(struct gen_ctx *g);
void gen_depfile(struct gen_ctx *g, struct sbuf *out, const char *const *targets, size_t ntargets);

/* Write data to path through a temporary file and a rename; leaves an identical file untouched.
 * Returns 0 or a negative errno. */
int cg_write_if_changed(const char *path, const char *data, size_t len);

#endif
