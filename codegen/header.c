/* header.c: the MIDL C binding of an IDL file: types, vtables, interface structs, call macros, GUID externs. */
#include "codegen.h"

#include <ctype.h>
#include <string.h>

static const char *basename_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void guard_name(struct sbuf *b, const char *header)
{
    sb_puts(b, "PCOMIDL_");
    for (const char *p = basename_of(header); *p; p++)
        sb_putc(b, isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_');
    sb_putc(b, '_');
}

/* import "dir/foo.idl" -> #include "foo.h", as MIDL does */
static void import_include(struct sbuf *b, const char *name)
{
    const char *base = basename_of(name);
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".idl") == 0)
        n -= 4;
    sb_printf(b, "#include \"%.*s.h\"\n", (int)n, base);
}

static void collect_imports(struct sbuf *b, struct idl_vec *items)
{
    for (size_t i = 0; i < items->len; i++) {
        struct idl_decl *d = items->items[i];
        if (d->kind == DECL_IMPORT)
            for (size_t k = 0; k < d->import_names.len; k++)
                import_include(b, d->import_names.items[k]);
        else if (d->kind == DECL_LIBRARY || d->kind == DECL_MODULE)
            collect_imports(b, &d->members);
    }
}

static void forward_decls(struct gen_ctx *g, struct sbuf *b, struct idl_vec *items, struct idl_vec *done)
{
    for (size_t i = 0; i < items->len; i++) {
        struct idl_decl *d = items->items[i];
        if (d->kind == DECL_LIBRARY) {
            forward_decls(g, b, &d->members, done);
            continue;
        }
        bool iface = d->kind == DECL_INTERFACE && (d->is_object || !d->defined || d->definition);
        if (!iface && d->kind != DECL_DISPINTERFACE)
            continue;
        if (d->kind == DECL_INTERFACE && d->definition && d->definition->defined && !d->definition->is_object)
            continue;
        bool seen = false;
        for (size_t k = 0; k < done->len; k++)
            seen |= strcmp(done->items[k], d->name) == 0;
        if (seen)
            continue;
        if (!done->len)
            sb_puts(b, "/* Forward declarations */\n\n");
        idl_vec_push(g->c->arena, done, (void *)d->name);
        sb_printf(b, "#ifndef __%s_FWD_DEFINED__\n#define __%s_FWD_DEFINED__\ntypedef struct %s %s;\n#endif\n\n",
                  d->name, d->name, d->name, d->name);
    }
}

static void print_value_define(struct sbuf *b, struct idl_decl *d)
{
    sb_printf(b, "#define %s (", d->name);
    cg_print_expr(b, d->value);
    sb_puts(b, ")\n");
}

/* Methods in vtable order: the root interface's first. */
static void collect_chain(struct idl_decl *iface, struct idl_decl **chain, int *n)
{
    *n = 0;
    struct idl_decl *tmp[256];
    int k = 0;
    for (struct idl_decl *d = iface; d && k < 256; d = d->base)
        tmp[k++] = d;
    for (int i = k - 1; i >= 0; i--)
        chain[(*n)++] = tmp[i];
}

static bool in_vtable(struct idl_decl *m)
{
    return (m->kind == DECL_METHOD || m->kind == DECL_FUNCTION) && !idl_has_attr(&m->attrs, "call_as");
}

static void print_return(struct gen_ctx *g, struct sbuf *b, struct idl_decl *m)
{
    cg_print_decl(g, b, m->type, NULL, 0, false);
}

static void object_interface(struct gen_ctx *g, struct sbuf *b, struct idl_decl *d)
{
    struct idl_decl *chain[256];
    int n;
    collect_chain(d, chain, &n);

    struct idl_attr *uuid = idl_attr_find(&d->attrs, "uuid");
    if (uuid && uuid->has_uuid) {
        char text[37];
        idl_uuid_format(uuid->uuid, text);
        sb_printf(b, "extern const IID IID_%s; /* %s */\n\n", d->name, text);
    }

    sb_printf(b, "typedef struct %sVtbl {\n    BEGIN_INTERFACE\n", d->name);
    for (int i = 0; i < n; i++) {
        if (n > 1)
            sb_printf(b, "\n    /* %s */\n", chain[i]->name);
        for (size_t k = 0; k < chain[i]->members.len; k++) {
            struct idl_decl *m = chain[i]->members.items[k];
            if (!in_vtable(m))
                continue;
            sb_puts(b, "    ");
            print_return(g, b, m);
            sb_printf(b, " (STDMETHODCALLTYPE *%s)", cg_method_c_name(g, m));
            cg_print_params(g, b, d->name, &m->members);
            sb_puts(b, ";\n");
        }
    }
    sb_printf(b, "    END_INTERFACE\n} %sVtbl;\n\n", d->name);
    sb_printf(b, "struct %s {\n    const struct %sVtbl *lpVtbl;\n};\n\n", d->name, d->name);

    sb_puts(b, "#ifndef PCOM_NO_CALL_MACROS\n");
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < chain[i]->members.len; k++) {
            struct idl_decl *m = chain[i]->members.items[k];
            if (!in_vtable(m))
                continue;
            const char *cname = cg_method_c_name(g, m);
            sb_printf(b, "#define %s_%s(This", d->name, cname);
            for (size_t p = 0; p < m->members.len; p++)
                sb_printf(b, ",%s", ((struct idl_decl *)m->members.items[p])->name);
            sb_printf(b, ") ((This)->lpVtbl->%s(This", cname);
            for (size_t p = 0; p < m->members.len; p++)
                sb_printf(b, ",%s", ((struct idl_decl *)m->members.items[p])->name);
            sb_puts(b, "))\n");
        }
    }
    sb_puts(b, "#endif\n\n");

    /* [call_as]: the local method travels as the remote one; the application writes the two halves */
    for (size_t k = 0; k < d->members.len; k++) {
        struct idl_decl *remote = d->members.items[k];
        struct idl_attr *ca = idl_attr_find(&remote->attrs, "call_as");
        if (!ca || !ca->ident_arg)
            continue;
        struct idl_decl *local = NULL;
        for (size_t j = 0; j < d->members.len; j++) {
            struct idl_decl *o = d->members.items[j];
            if ((o->kind == DECL_METHOD || o->kind == DECL_FUNCTION) && strcmp(o->name, ca->ident_arg) == 0)
                local = o;
        }
        if (!local)
            continue;
        sb_printf(b, "/* %s travels as %s: the application supplies these two. */\n", local->name, remote->name);
        print_return(g, b, local);
        sb_printf(b, " STDMETHODCALLTYPE %s_%s_Proxy", d->name, cg_method_c_name(g, local));
        cg_print_params(g, b, d->name, &local->members);
        sb_puts(b, ";\n");
        print_return(g, b, remote);
        sb_printf(b, " __RPC_STUB %s_%s_Stub", d->name, cg_method_c_name(g, local));
        cg_print_params(g, b, d->name, &remote->members);
        sb_puts(b, ";\n\n");
    }
}

static void function_prototype(struct gen_ctx *g, struct sbuf *b, struct idl_decl *m)
{
    print_return(g, b, m);
    sb_printf(b, " %s", cg_method_c_name(g, m));
    cg_print_params(g, b, NULL, &m->members);
    sb_puts(b, ";\n");
}

static void guid_extern(struct sbuf *b, const char *prefix, struct idl_decl *d, const char *ctype)
{
    struct idl_attr *uuid = idl_attr_find(&d->attrs, "uuid");
    if (!uuid || !uuid->has_uuid)
        return;
    char text[37];
    idl_uuid_format(uuid->uuid, text);
    sb_printf(b, "extern const %s %s_%s; /* %s */\n\n", ctype, prefix, d->name, text);
}

static void emit_items(struct gen_ctx *g, struct sbuf *b, struct idl_vec *items);

static void emit_decl(struct gen_ctx *g, struct sbuf *b, struct idl_decl *d)
{
    switch (d->kind) {
    case DECL_CPP_QUOTE:
        sb_printf(b, "%s\n", d->name);
        break;
    case DECL_IMPORTLIB:
        sb_printf(b, "/* importlib(\"%s\") */\n", d->name);
        break;
    case DECL_TYPEDEF:
        sb_puts(b, "typedef ");
        cg_print_decl(g, b, d->type, d->name, 0, false);
        /* a typedef with a body stands apart; runs of one-line typedefs stay together */
        sb_puts(b, d->inline_def ? ";\n\n" : ";\n");
        break;
    case DECL_STRUCT:
    case DECL_UNION:
    case DECL_ENUM: {
        if (d->emitted)
            break;
        struct idl_type t = {.kind = d->kind == DECL_STRUCT ? TY_STRUCT : d->kind == DECL_UNION ? TY_UNION : TY_ENUM,
                             .decl = d};
        cg_print_decl(g, b, &t, NULL, 0, false);
        sb_puts(b, ";\n\n");
        break;
    }
    case DECL_CONST:
        print_value_define(b, d);
        sb_putc(b, '\n');
        break;
    case DECL_INTERFACE:
        if (!d->defined)
            break;
        sb_printf(b, "/* interface %s */\n", d->name);
        sb_printf(b, "#ifndef __%s_INTERFACE_DEFINED__\n#define __%s_INTERFACE_DEFINED__\n\n", d->name, d->name);
        emit_items(g, b, &d->members);
        if (b->len > 2 && b->data[b->len - 2] != '\n')
            sb_putc(b, '\n');
        if (d->is_object) {
            object_interface(g, b, d);
        } else {
            guid_extern(b, "IID", d, "IID");
            for (size_t i = 0; i < d->members.len; i++) {
                struct idl_decl *m = d->members.items[i];
                if (m->kind == DECL_FUNCTION || m->kind == DECL_METHOD)
                    function_prototype(g, b, m);
            }
            sb_putc(b, '\n');
        }
        sb_printf(b, "#endif /* __%s_INTERFACE_DEFINED__ */\n\n", d->name);
        break;
    case DECL_DISPINTERFACE:
        sb_printf(b, "/* dispinterface %s: described for type libraries; it has no vtable of its own */\n",
                  d->name);
        guid_extern(b, "DIID", d, "IID");
        break;
    case DECL_COCLASS:
        guid_extern(b, "CLSID", d, "CLSID");
        break;
    case DECL_LIBRARY:
        sb_printf(b, "/* library %s */\n", d->name);
        guid_extern(b, "LIBID", d, "IID");
        emit_items(g, b, &d->members);
        break;
    case DECL_MODULE:
        sb_printf(b, "/* module %s */\n", d->name);
        for (size_t i = 0; i < d->members.len; i++) {
            struct idl_decl *m = d->members.items[i];
            if (m->kind == DECL_FUNCTION || m->kind == DECL_METHOD)
                function_prototype(g, b, m);
            else
                emit_decl(g, b, m);
        }
        sb_putc(b, '\n');
        break;
    default:
        break;
    }
}

static void emit_items(struct gen_ctx *g, struct sbuf *b, struct idl_vec *items)
{
    for (size_t i = 0; i < items->len; i++) {
        struct idl_decl *d = items->items[i];
        if (d->kind == DECL_METHOD || d->kind == DECL_FUNCTION)
            continue;
        emit_decl(g, b, d);
    }
}

void gen_header(struct gen_ctx *g, struct sbuf *b)
{
    struct idl_file *main = g->c->files.items[0];
    sb_printf(b, "/* %s: generated by pcomidl %s from %s. Do not edit. */\n\n", basename_of(g->header_name),
              PCOMIDL_VERSION, basename_of(g->idl_name));
    struct sbuf guard = {0};
    guard_name(&guard, g->header_name);
    sb_printf(b, "#ifndef %s\n#define %s\n\n", guard.data, guard.data);
    sb_puts(b, "#include <pcom/types.h>\n");
    collect_imports(b, &main->decls);
    sb_puts(b, "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    struct idl_vec done = {0};
    forward_decls(g, b, &main->decls, &done);
    emit_items(g, b, &main->decls);
    sb_printf(b, "#ifdef __cplusplus\n}\n#endif\n\n#endif /* %s */\n", guard.data);
    sb_free(&guard);
}
