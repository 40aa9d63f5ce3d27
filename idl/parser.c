/* parser.c: recursive-descent parser from tokens to the AST, with names entered as they are declared. */
#include "lexer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    struct idl_compiler *c;
    struct lexer lx;
    struct token tok, ahead;
    bool has_ahead;
    struct idl_file *file;
    int depth;
    bool fatal; /* nesting limit hit: everything after is skipped */
    const char *sync_stop; /* where error recovery last stopped before a declaration word */
};

enum ctx {
    CTX_TOP,
    CTX_INTERFACE,
    CTX_LIBRARY,
    CTX_MODULE,
};

/* Words that cannot name a declaration. Attribute names stay ordinary identifiers, as in MIDL. */
static const char *const reserved[] = {
    "boolean", "byte", "case", "char", "coclass", "const", "cpp_quote", "default", "dispinterface",
    "double", "enum", "error_status_t", "float", "handle_t", "hyper", "import", "importlib", "int",
    "interface", "library", "long", "module", "short", "signed", "small", "struct", "switch",
    "typedef", "union", "unsigned", "void", "wchar_t", "__int64", "__int3264", "midl_pragma",
};

static bool is_reserved(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strlen(reserved[i]) == n && memcmp(reserved[i], s, n) == 0)
            return true;
    return false;
}

/* Calling-convention and far-pointer words that the C binding drops. */
static const char *const callconv_words[] = {
    "__stdcall", "_stdcall", "__cdecl", "_cdecl", "__fastcall", "__pascal", "STDMETHODCALLTYPE",
    "__RPC_FAR", "__RPC_USER", "__RPC_API", "WINAPI", "CALLBACK", "__far", "__near", "far", "near",
};

static bool is_callconv(const struct token *t)
{
    if (t->kind != TK_IDENT)
        return false;
    for (size_t i = 0; i < sizeof(callconv_words) / sizeof(callconv_words[0]); i++)
        if (strlen(callconv_words[i]) == t->len && memcmp(callconv_words[i], t->text, t->len) == 0)
            return true;
    return false;
}

/* Once the nesting limit stopped the parse, everything after is skipped without more errors. */
__attribute__((format(printf, 3, 4))) static void perr(struct parser *p, struct idl_loc loc, const char *fmt, ...)
{
    if (p->fatal)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    idl_error(p->c, loc, "%s", msg);
}

static void next(struct parser *p)
{
    if (p->has_ahead) {
        p->tok = p->ahead;
        p->has_ahead = false;
        return;
    }
    if (p->fatal || p->c->too_many_errors) {
        memset(&p->tok, 0, sizeof(p->tok));
        p->tok.kind = TK_EOF;
        p->tok.loc = p->lx.prev1.loc;
        return;
    }
    lexer_next(&p->lx, &p->tok);
}

static const struct token *peek(struct parser *p)
{
    if (!p->has_ahead) {
        struct token cur = p->tok;
        next(p);
        p->ahead = p->tok;
        p->tok = cur;
        p->has_ahead = true;
    }
    return &p->ahead;
}

static bool tok_is(const struct token *t, const char *word)
{
    return t->kind == TK_IDENT && strlen(word) == t->len && memcmp(t->text, word, t->len) == 0;
}

static bool is_kw(struct parser *p, const char *word)
{
    return tok_is(&p->tok, word);
}

static bool accept_kw(struct parser *p, const char *word)
{
    if (!is_kw(p, word))
        return false;
    next(p);
    return true;
}

static bool is_punct(struct parser *p, int ch)
{
    return p->tok.kind == TK_PUNCT && p->tok.punct == ch;
}

static bool accept(struct parser *p, int ch)
{
    if (!is_punct(p, ch))
        return false;
    next(p);
    return true;
}

static const char *describe(struct parser *p)
{
    const struct token *t = &p->tok;
    switch (t->kind) {
    case TK_EOF: return "end of file";
    case TK_STRING: return "string literal";
    case TK_UUID: return "uuid";
    default: return idl_printf(p->c->arena, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->text);
    }
}

static bool expect(struct parser *p, int ch, const char *where)
{
    if (accept(p, ch))
        return true;
    char want[4] = {(char)ch, 0};
    if (ch == P_ELLIPSIS)
        strcpy(want, "...");
    perr(p, p->tok.loc, "expected '%s' %s, found %s", want, where, describe(p));
    return false;
}

static bool starts_declaration(const struct token *t)
{
    static const char *const words[] = {"typedef", "interface", "import", "cpp_quote", "coclass", "library",
                                        "dispinterface", "module", "midl_pragma", "importlib"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (tok_is(t, words[i]))
            return true;
    return false;
}

/* Skip to the end of the current declaration: past a ';', up to the '}' closing this block, or up to a
 * word that can only start the next declaration (so one missing ';' costs one declaration, not two). */
static void sync(struct parser *p)
{
    int depth = 0;
    /* stopping twice at the same word would loop forever: the second time, skip it */
    bool must_move = p->tok.text && p->tok.text == p->sync_stop;
    while (p->tok.kind != TK_EOF) {
        if (depth == 0 && !must_move && starts_declaration(&p->tok)) {
            p->sync_stop = p->tok.text;
            return;
        }
        must_move = false;
        if (p->tok.kind == TK_PUNCT) {
            int ch = p->tok.punct;
            if (ch == '{' || ch == '(' || ch == '[')
                depth++;
            else if (ch == ')' || ch == ']')
                depth = depth > 0 ? depth - 1 : 0;
            else if (ch == '}') {
                if (depth == 0)
                    return;
                depth--;
                if (depth == 0) {
                    next(p);
                    accept(p, ';');
                    return;
                }
            } else if (ch == ';' && depth == 0) {
                next(p);
                return;
            }
        }
        next(p);
    }
}

static bool enter(struct parser *p)
{
    if (++p->depth > IDL_MAX_NESTING) {
        if (!p->fatal)
            perr(p, p->tok.loc, "declarations or expressions nested more than %d deep",
                      IDL_MAX_NESTING);
        p->fatal = true;
        p->has_ahead = false;
        p->tok.kind = TK_EOF;
        return false;
    }
    return true;
}

static void leave(struct parser *p)
{
    p->depth--;
}

static char *tok_str(struct parser *p)
{
    return idl_strndup(p->c->arena, p->tok.text, p->tok.len);
}

static struct idl_decl *new_decl(struct parser *p, enum idl_decl_kind kind, struct idl_loc loc)
{
    struct idl_decl *d = idl_alloc(p->c->arena, sizeof(*d));
    d->kind = kind;
    d->loc = loc;
    d->imported = p->file->imported;
    return d;
}

static struct idl_type *new_type(struct parser *p, enum idl_type_kind kind, struct idl_loc loc)
{
    struct idl_type *t = idl_alloc(p->c->arena, sizeof(*t));
    t->kind = kind;
    t->loc = loc;
    return t;
}

static struct idl_expr *new_expr(struct parser *p, enum idl_expr_kind kind, struct idl_loc loc)
{
    struct idl_expr *e = idl_alloc(p->c->arena, sizeof(*e));
    e->kind = kind;
    e->loc = loc;
    return e;
}

static void previous_here(struct parser *p, struct idl_decl *prev)
{
    if (prev->loc.file)
        idl_note(p->c, prev->loc, "previous declaration of '%s' is here", prev->name);
}

/* ---- expressions ---- */

static struct idl_expr *parse_expr(struct parser *p);
static struct idl_expr *parse_unary(struct parser *p);
static struct idl_type *parse_type_spec(struct parser *p);
static struct idl_type *parse_declarator(struct parser *p, struct idl_type *base, const char **name,
                                         struct idl_loc *loc);

static bool starts_type(struct parser *p, const struct token *t)
{
    static const char *const words[] = {"unsigned", "signed", "char", "short", "int", "long", "small",
                                        "hyper", "__int64", "__int3264", "float", "double", "boolean",
                                        "byte", "wchar_t", "void", "struct", "union", "enum", "const",
                                        "error_status_t", "handle_t"};
    if (t->kind != TK_IDENT)
        return false;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (tok_is(t, words[i]))
            return true;
    char name[256];
    if (t->len >= sizeof(name))
        return false;
    memcpy(name, t->text, t->len);
    name[t->len] = '\0';
    struct idl_decl *d = idl_symtab_get(p->c->types, name);
    return d && d->kind == DECL_TYPEDEF;
}

/* primary: number | string+ | char | ident | '(' expr ')' | '(' type ')' unary */
static struct idl_expr *parse_primary(struct parser *p)
{
    struct idl_loc loc = p->tok.loc;
    struct idl_expr *e;
    switch (p->tok.kind) {
    case TK_INT:
        e = new_expr(p, EXPR_INT, loc);
        e->ival = p->tok.ival;
        e->is_unsigned = p->tok.is_unsigned;
        e->text = tok_str(p);
        next(p);
        return e;
    case TK_FLOAT:
        e = new_expr(p, EXPR_FLOAT, loc);
        e->fval = p->tok.fval;
        e->text = tok_str(p);
        next(p);
        return e;
    case TK_CHAR:
        e = new_expr(p, EXPR_CHAR, loc);
        e->ival = p->tok.ival;
        e->wide = p->tok.wide;
        e->text = tok_str(p);
        next(p);
        return e;
    case TK_STRING: {
        e = new_expr(p, EXPR_STRING, loc);
        e->wide = p->tok.wide;
        char *s = tok_str(p);
        next(p);
        /* adjacent literals concatenate, as in C */
        while (p->tok.kind == TK_STRING) {
            s = idl_printf(p->c->arena, "%s%.*s", s, (int)p->tok.len, p->tok.text);
            next(p);
        }
        e->text = s;
        return e;
    }
    case TK_IDENT:
        if (is_kw(p, "sizeof")) {
            perr(p, loc, "sizeof is not supported in IDL expressions");
            next(p);
            return NULL;
        }
        e = new_expr(p, EXPR_IDENT, loc);
        e->text = tok_str(p);
        next(p);
        return e;
    case TK_PUNCT:
        if (p->tok.punct == '(') {
            next(p);
            if (starts_type(p, &p->tok)) {
                struct idl_type *t = parse_type_spec(p);
                if (!t)
                    return NULL;
                const char *name = NULL;
                struct idl_loc nloc;
                t = parse_declarator(p, t, &name, &nloc);
                if (!t || !expect(p, ')', "after cast type"))
                    return NULL;
                if (name)
                    perr(p, nloc, "unexpected name '%s' in cast", name);
                e = new_expr(p, EXPR_CAST, loc);
                e->cast_type = t;
                if (!enter(p))
                    return NULL;
                e->a = parse_unary(p);
                leave(p);
                return e->a ? e : NULL;
            }
            e = parse_expr(p);
            if (!e || !expect(p, ')', "to close parenthesised expression"))
                return NULL;
            e->paren = true;
            return e;
        }
        break;
    default:
        break;
    }
    perr(p, loc, "expected expression, found %s", describe(p));
    return NULL;
}

static struct idl_expr *parse_postfix(struct parser *p)
{
    struct idl_expr *e = parse_primary(p);
    while (e && (is_punct(p, '.') || is_punct(p, P_ARROW))) {
        int op = p->tok.punct;
        struct idl_loc loc = p->tok.loc;
        next(p);
        if (p->tok.kind != TK_IDENT) {
            perr(p, p->tok.loc, "expected member name, found %s", describe(p));
            return NULL;
        }
        struct idl_expr *m = new_expr(p, EXPR_MEMBER, loc);
        m->op = op;
        m->a = e;
        m->text = tok_str(p);
        next(p);
        e = m;
    }
    return e;
}

static struct idl_expr *parse_unary(struct parser *p)
{
    if (p->tok.kind == TK_PUNCT && strchr("-+~!*&", p->tok.punct) && p->tok.punct < 256) {
        struct idl_expr *e = new_expr(p, EXPR_UNARY, p->tok.loc);
        e->op = p->tok.punct;
        next(p);
        if (!enter(p))
            return NULL;
        e->a = parse_unary(p);
        leave(p);
        return e->a ? e : NULL;
    }
    return parse_postfix(p);
}

static int binary_prec(const struct token *t)
{
    if (t->kind != TK_PUNCT)
        return -1;
    switch (t->punct) {
    case P_OROR: return 1;
    case P_ANDAND: return 2;
    case '|': return 3;
    case '^': return 4;
    case '&': return 5;
    case P_EQ: case P_NE: return 6;
    case '<': case '>': case P_LE: case P_GE: return 7;
    case P_SHL: case P_SHR: return 8;
    case '+': case '-': return 9;
    case '*': case '/': case '%': return 10;
    default: return -1;
    }
}

static struct idl_expr *parse_binary(struct parser *p, int min_prec)
{
    if (!enter(p))
        return NULL;
    struct idl_expr *lhs = parse_unary(p);
    while (lhs) {
        int prec = binary_prec(&p->tok);
        if (prec < min_prec)
            break;
        struct idl_expr *e = new_expr(p, EXPR_BINARY, p->tok.loc);
        e->op = p->tok.punct;
        next(p);
        e->a = lhs;
        e->b = parse_binary(p, prec + 1);
        if (!e->b) {
            lhs = NULL;
            break;
        }
        lhs = e;
    }
    leave(p);
    return lhs;
}

/* expr: binary ('?' expr ':' expr)? */
static struct idl_expr *parse_expr(struct parser *p)
{
    if (!enter(p))
        return NULL;
    struct idl_expr *e = parse_binary(p, 1);
    if (e && is_punct(p, '?')) {
        struct idl_expr *c = new_expr(p, EXPR_COND, p->tok.loc);
        next(p);
        c->a = e;
        c->b = parse_expr(p);
        if (!c->b || !expect(p, ':', "in conditional expression"))
            e = NULL;
        else {
            c->c = parse_expr(p);
            e = c->c ? c : NULL;
        }
    }
    leave(p);
    return e;
}

/* ---- attributes ---- */

static bool attr_takes_type(const char *name)
{
    return !strcmp(name, "switch_type") || !strcmp(name, "transmit_as") || !strcmp(name, "wire_marshal") ||
           !strcmp(name, "user_marshal");
}

static bool attr_takes_ident(const char *name)
{
    return !strcmp(name, "pointer_default") || !strcmp(name, "call_as");
}

static bool parse_uuid_arg(struct parser *p, struct idl_attr *a)
{
    if (p->tok.kind == TK_UUID) {
        memcpy(a->uuid, p->tok.uuid, 16);
        a->has_uuid = true;
        next(p);
        return true;
    }
    if (p->tok.kind == TK_STRING && idl_uuid_parse(p->tok.text, p->tok.len, a->uuid)) {
        a->has_uuid = true;
        next(p);
        return true;
    }
    perr(p, p->tok.loc, "malformed uuid: expected 8-4-4-4-12 hexadecimal digits");
    /* skip the rest of the argument */
    while (p->tok.kind != TK_EOF && !is_punct(p, ')') && !is_punct(p, ']') && !is_punct(p, ','))
        next(p);
    return false;
}

static bool parse_version_arg(struct parser *p, struct idl_attr *a)
{
    if (p->tok.kind != TK_INT && p->tok.kind != TK_FLOAT) {
        perr(p, p->tok.loc, "expected version number such as 1.0, found %s", describe(p));
        return false;
    }
    unsigned long major = 0, minor = 0;
    const char *s = p->tok.text, *e = s + p->tok.len;
    bool ok = s < e;
    for (; s < e && *s != '.'; s++) {
        if (*s < '0' || *s > '9' || major > 65535) {
            ok = false;
            break;
        }
        major = major * 10 + (unsigned long)(*s - '0');
    }
    if (ok && s < e) {
        s++;
        if (s == e)
            ok = false;
        for (; s < e; s++) {
            if (*s < '0' || *s > '9' || minor > 65535) {
                ok = false;
                break;
            }
            minor = minor * 10 + (unsigned long)(*s - '0');
        }
    }
    if (!ok || major > 65535 || minor > 65535) {
        perr(p, p->tok.loc, "malformed version '%.*s': expected major.minor, each at most 65535",
                  (int)p->tok.len, p->tok.text);
        next(p);
        return false;
    }
    a->version_major = (unsigned)major;
    a->version_minor = (unsigned)minor;
    next(p);
    return true;
}

/* attr: name ('(' args ')')? ; args: [expr] (',' [expr])* or a type, uuid, version or name */
static struct idl_attr *parse_attr(struct parser *p)
{
    if (p->tok.kind != TK_IDENT) {
        perr(p, p->tok.loc, "expected attribute name, found %s", describe(p));
        return NULL;
    }
    struct idl_attr *a = idl_alloc(p->c->arena, sizeof(*a));
    a->name = tok_str(p);
    a->loc = p->tok.loc;
    next(p);
    if (!accept(p, '('))
        return a;
    bool ok = true;
    if (!strcmp(a->name, "uuid") || !strcmp(a->name, "async_uuid")) {
        ok = parse_uuid_arg(p, a);
    } else if (!strcmp(a->name, "version")) {
        ok = parse_version_arg(p, a);
    } else if (attr_takes_type(a->name)) {
        a->type_arg = parse_type_spec(p);
        if (a->type_arg) {
            const char *nm = NULL;
            struct idl_loc nloc;
            a->type_arg = parse_declarator(p, a->type_arg, &nm, &nloc);
        }
        ok = a->type_arg != NULL;
    } else if (attr_takes_ident(a->name)) {
        if (p->tok.kind == TK_IDENT) {
            a->ident_arg = tok_str(p);
            next(p);
        } else {
            perr(p, p->tok.loc, "attribute '%s' takes a name, found %s", a->name, describe(p));
            ok = false;
        }
    } else if (!strcmp(a->name, "custom")) {
        ok = parse_uuid_arg(p, a);
        while (ok && accept(p, ',')) {
            struct idl_expr *e = parse_expr(p);
            if (!e)
                ok = false;
            else
                idl_vec_push(p->c->arena, &a->args, e);
        }
    } else if (is_punct(p, ')')) {
        /* attr(): no arguments; the argument count check reports it where arguments are needed */
    } else {
        do {
            if (is_punct(p, ',') || is_punct(p, ')')) {
                idl_vec_push(p->c->arena, &a->args, new_expr(p, EXPR_EMPTY, p->tok.loc));
                continue;
            }
            struct idl_expr *e = parse_expr(p);
            if (!e) {
                ok = false;
                break;
            }
            idl_vec_push(p->c->arena, &a->args, e);
        } while (accept(p, ','));
    }
    if (!ok) {
        a->bad_args = true;
        while (p->tok.kind != TK_EOF && !is_punct(p, ')') && !is_punct(p, ']') && !is_punct(p, ';'))
            next(p);
        accept(p, ')');
        return a;
    }
    expect(p, ')', idl_printf(p->c->arena, "after arguments of attribute '%s'", a->name));
    return a;
}

/* attrs: ('[' attr (',' attr)* ']')* */
static void parse_attrs(struct parser *p, struct idl_vec *out)
{
    while (is_punct(p, '[')) {
        next(p);
        if (accept(p, ']'))
            continue;
        do {
            struct idl_attr *a = parse_attr(p);
            if (!a) {
                while (p->tok.kind != TK_EOF && !is_punct(p, ']') && !is_punct(p, ';'))
                    next(p);
                break;
            }
            idl_vec_push(p->c->arena, out, a);
        } while (accept(p, ','));
        expect(p, ']', "to close attribute list");
    }
}

/* ---- types ---- */

static struct idl_decl *parse_struct_or_union(struct parser *p, bool is_union);
static struct idl_decl *parse_enum(struct parser *p);

struct base_words {
    int n_signed, n_unsigned, n_short, n_long, n_int, n_char, n_small, n_hyper, n_int3264, n_other;
    enum idl_base other;
    const char *other_word;
};

static const struct {
    const char *word;
    enum idl_base base;
} simple_bases[] = {
    {"boolean", BT_BOOLEAN}, {"byte", BT_BYTE}, {"float", BT_FLOAT}, {"double", BT_DOUBLE},
    {"void", BT_VOID}, {"wchar_t", BT_WCHAR}, {"error_status_t", BT_ERROR_STATUS}, {"handle_t", BT_HANDLE},
    {"int8_t", BT_INT8}, {"int16_t", BT_INT16}, {"int32_t", BT_INT32}, {"int64_t", BT_INT64},
    {"uint8_t", BT_UINT8}, {"uint16_t", BT_UINT16}, {"uint32_t", BT_UINT32}, {"uint64_t", BT_UINT64},
};

static bool base_word(struct parser *p, struct base_words *w)
{
    const struct token *t = &p->tok;
    if (t->kind != TK_IDENT)
        return false;
    if (tok_is(t, "signed")) w->n_signed++;
    else if (tok_is(t, "unsigned")) w->n_unsigned++;
    else if (tok_is(t, "short")) w->n_short++;
    else if (tok_is(t, "long")) w->n_long++;
    else if (tok_is(t, "int")) w->n_int++;
    else if (tok_is(t, "char")) w->n_char++;
    else if (tok_is(t, "small")) w->n_small++;
    else if (tok_is(t, "hyper") || tok_is(t, "__int64")) w->n_hyper++;
    else if (tok_is(t, "__int3264")) w->n_int3264++;
    else {
        for (size_t i = 0; i < sizeof(simple_bases) / sizeof(simple_bases[0]); i++) {
            if (tok_is(t, simple_bases[i].word)) {
                w->n_other++;
                w->other = simple_bases[i].base;
                w->other_word = simple_bases[i].word;
                return true;
            }
        }
        return false;
    }
    return true;
}

static struct idl_type *finish_base(struct parser *p, struct base_words *w, struct idl_loc loc)
{
    struct idl_type *t = new_type(p, TY_BASE, loc);
    int sizes = w->n_short + (w->n_long > 0) + w->n_char + w->n_small + w->n_hyper + w->n_int3264 + w->n_other;
    bool bad = w->n_signed + w->n_unsigned > 1 || w->n_int > 1 || w->n_long > 2 || sizes > 1;
    if (w->n_other) {
        t->base = w->other;
        bad |= w->n_int > 0;
        if ((w->n_signed || w->n_unsigned) && w->other != BT_HANDLE)
            bad |= w->other == BT_FLOAT || w->other == BT_DOUBLE || w->other == BT_VOID ||
                   w->other == BT_BOOLEAN || w->other >= BT_INT8 || w->other == BT_ERROR_STATUS;
        else if (w->n_signed || w->n_unsigned)
            bad = true;
        if (w->other == BT_DOUBLE && w->n_long == 1 && sizes == 2 && !w->n_signed && !w->n_unsigned) {
            perr(p, loc, "long double is not supported");
            bad = false;
        }
    } else if (w->n_char) {
        t->base = BT_CHAR;
        bad |= w->n_int > 0;
    } else if (w->n_small) {
        t->base = BT_SMALL;
    } else if (w->n_short) {
        t->base = BT_SHORT;
    } else if (w->n_long == 2 || w->n_hyper) {
        t->base = BT_HYPER;
    } else if (w->n_long == 1) {
        t->base = BT_LONG;
    } else if (w->n_int3264) {
        t->base = BT_INT3264;
    } else {
        t->base = BT_INT;
    }
    if (bad)
        perr(p, loc, "invalid combination of type specifiers");
    t->is_unsigned = w->n_unsigned > 0;
    t->is_signed = w->n_signed > 0;
    return t;
}

static struct idl_type *type_for_decl(struct parser *p, struct idl_decl *d, struct idl_loc loc)
{
    enum idl_type_kind k = d->kind == DECL_STRUCT ? TY_STRUCT
                         : d->kind == DECL_UNION  ? TY_UNION
                         : d->kind == DECL_ENUM   ? TY_ENUM
                                                  : TY_NAMED;
    struct idl_type *t = new_type(p, k, loc);
    t->decl = d;
    return t;
}

/* type_spec: qualifiers and either base words, a tagged type, or a type name */
static struct idl_type *parse_type_spec(struct parser *p)
{
    struct idl_loc loc = p->tok.loc;
    bool is_const = false;
    struct base_words w = {0};
    bool any_base = false;
    struct idl_type *t = NULL;
    for (;;) {
        if (is_kw(p, "const")) {
            is_const = true;
            next(p);
        } else if (is_kw(p, "volatile") || is_callconv(&p->tok)) {
            next(p);
        } else if (!t && base_word(p, &w)) {
            any_base = true;
            next(p);
        } else if (!t && !any_base && (is_kw(p, "struct") || is_kw(p, "union"))) {
            bool is_union = is_kw(p, "union");
            struct idl_decl *d = parse_struct_or_union(p, is_union);
            if (!d)
                return NULL;
            t = type_for_decl(p, d, loc);
        } else if (!t && !any_base && is_kw(p, "enum")) {
            struct idl_decl *d = parse_enum(p);
            if (!d)
                return NULL;
            t = type_for_decl(p, d, loc);
        } else if (!t && !any_base && p->tok.kind == TK_IDENT && !is_reserved(p->tok.text, p->tok.len)) {
            char *name = tok_str(p);
            struct idl_loc nloc = p->tok.loc;
            next(p);
            struct idl_decl *d = idl_symtab_get(p->c->types, name);
            if (!d) {
                perr(p, nloc, "unknown type name '%s'", name);
                t = new_type(p, TY_NAMED, nloc);
                t->spelling = name;
            } else if (d->kind == DECL_TYPEDEF) {
                t = new_type(p, TY_NAMED, nloc);
                t->decl = d;
            } else if (d->kind == DECL_INTERFACE || d->kind == DECL_DISPINTERFACE) {
                t = new_type(p, TY_INTERFACE, nloc);
                t->decl = d;
            } else {
                perr(p, nloc, "'%s' is not a type", name);
                previous_here(p, d);
                t = new_type(p, TY_NAMED, nloc);
                t->spelling = name;
            }
        } else {
            break;
        }
    }
    if (any_base)
        t = finish_base(p, &w, loc);
    if (!t) {
        perr(p, p->tok.loc, "expected type, found %s", describe(p));
        return NULL;
    }
    if (is_const) {
        /* const applies to this use; copy so a shared typedef or tag type stays unqualified */
        struct idl_type *q = new_type(p, t->kind, t->loc);
        *q = *t;
        q->is_const = true;
        t = q;
    }
    return t;
}

static struct idl_type *pointer_to(struct parser *p, struct idl_type *ref, struct idl_loc loc)
{
    struct idl_type *t = new_type(p, TY_POINTER, loc);
    t->ref = ref;
    return t;
}

static bool parse_params(struct parser *p, struct idl_vec *params, bool *vararg);

/* suffixes: ('[' size? ']')* | '(' params ')' */
static struct idl_type *parse_suffixes(struct parser *p, struct idl_type *base)
{
    if (is_punct(p, '(')) {
        struct idl_type *f = new_type(p, TY_FUNCTION, p->tok.loc);
        next(p);
        f->ref = base;
        bool vararg = false;
        if (!parse_params(p, &f->params, &vararg))
            return NULL;
        return f;
    }
    struct idl_expr *dims[64];
    struct idl_loc locs[64];
    int n = 0;
    while (is_punct(p, '[')) {
        struct idl_loc loc = p->tok.loc;
        next(p);
        struct idl_expr *size = NULL;
        if (accept(p, '*')) {
            /* [*]: conformant, like [] */
        } else if (!is_punct(p, ']')) {
            size = parse_expr(p);
            if (!size)
                return NULL;
        }
        if (!expect(p, ']', "to close array bound"))
            return NULL;
        if (n == 64) {
            perr(p, loc, "too many array dimensions");
            return NULL;
        }
        locs[n] = loc;
        dims[n++] = size;
    }
    for (int i = n - 1; i >= 0; i--) {
        struct idl_type *a = new_type(p, TY_ARRAY, locs[i]);
        a->ref = base;
        a->size = dims[i];
        base = a;
    }
    return base;
}

/* declarator: ('*' qualifiers)* (name | '(' declarator ')')? suffixes */
static struct idl_type *parse_declarator(struct parser *p, struct idl_type *base, const char **name,
                                         struct idl_loc *loc)
{
    if (!enter(p))
        return NULL;
    struct idl_type *result = NULL;
    const char *callconv = NULL;
    *name = NULL;
    *loc = p->tok.loc;
    for (;;) {
        if (is_punct(p, '*')) {
            base = pointer_to(p, base, p->tok.loc);
            next(p);
        } else if (is_kw(p, "const") && base->kind == TY_POINTER) {
            base->is_const = true;
            next(p);
        } else if (is_kw(p, "const") || is_kw(p, "volatile")) {
            next(p);
        } else if (is_callconv(&p->tok)) {
            callconv = tok_str(p);
            next(p);
        } else {
            break;
        }
    }
    if (is_punct(p, '(') && ((peek(p)->kind == TK_PUNCT && peek(p)->punct == '*') || is_callconv(peek(p)))) {
        /* a nested declarator, as in (*pfn)(args): the suffixes after it apply to base */
        next(p);
        struct idl_type *hole = new_type(p, TY_BASE, p->tok.loc);
        struct idl_type *inner = parse_declarator(p, hole, name, loc);
        if (!inner || !expect(p, ')', "to close declarator"))
            goto out;
        struct idl_type *outer = parse_suffixes(p, base);
        if (!outer)
            goto out;
        if (outer->kind == TY_FUNCTION)
            outer->callconv = callconv;
        *hole = *outer;
        result = inner;
        goto out;
    }
    if (p->tok.kind == TK_IDENT && !is_reserved(p->tok.text, p->tok.len)) {
        *name = tok_str(p);
        *loc = p->tok.loc;
        next(p);
    }
    result = parse_suffixes(p, base);
    if (result && result->kind == TY_FUNCTION)
        result->callconv = callconv;
out:
    leave(p);
    return result;
}

/* param: attrs type declarator */
static struct idl_decl *parse_param(struct parser *p)
{
    struct idl_decl *d = new_decl(p, DECL_PARAM, p->tok.loc);
    parse_attrs(p, &d->attrs);
    struct idl_type *t = parse_type_spec(p);
    if (!t)
        return NULL;
    t = parse_declarator(p, t, &d->name, &d->loc);
    if (!t)
        return NULL;
    d->type = t;
    return d;
}

/* params: '(' ('void' | param (',' param)* (',' '...')?)? ')' ; the '(' is consumed */
static bool parse_params(struct parser *p, struct idl_vec *params, bool *vararg)
{
    if (accept(p, ')'))
        return true;
    if (is_kw(p, "void") && peek(p)->kind == TK_PUNCT && peek(p)->punct == ')') {
        next(p);
        next(p);
        return true;
    }
    do {
        if (accept(p, P_ELLIPSIS)) {
            *vararg = true;
            break;
        }
        struct idl_decl *d = parse_param(p);
        if (!d)
            return false;
        idl_vec_push(p->c->arena, params, d);
    } while (accept(p, ','));
    return expect(p, ')', "to close parameter list");
}

/* ---- struct, union, enum ---- */

static struct idl_decl *declare_tag(struct parser *p, enum idl_decl_kind kind, const char *tag, struct idl_loc loc,
                                    bool defining)
{
    struct idl_decl *d = tag ? idl_symtab_get(p->c->tags, tag) : NULL;
    if (d && d->kind != kind) {
        perr(p, loc, "'%s' defined as the wrong kind of tag", tag);
        previous_here(p, d);
        d = NULL;
    } else if (d && defining && d->defined) {
        perr(p, loc, "redefinition of '%s %s'", kind == DECL_STRUCT ? "struct"
                                                        : kind == DECL_UNION ? "union" : "enum", tag);
        previous_here(p, d);
        d = NULL;
    }
    if (!d) {
        d = new_decl(p, kind, loc);
        d->name = tag;
        if (tag && !idl_symtab_get(p->c->tags, tag))
            idl_symtab_put(p->c->tags, tag, d);
    }
    if (defining) {
        d->loc = loc;
        d->imported = p->file->imported;
    }
    return d;
}

/* field: attrs type declarator (',' declarator)* ';' */
static bool parse_fields(struct parser *p, struct idl_decl *owner, struct idl_vec *out, struct idl_vec *attrs,
                         struct idl_case *arm)
{
    struct idl_type *t = parse_type_spec(p);
    if (!t)
        return false;
    do {
        struct idl_decl *f = new_decl(p, DECL_FIELD, p->tok.loc);
        f->attrs = *attrs;
        f->parent = owner;
        f->arm_case = arm;
        f->type = parse_declarator(p, t, &f->name, &f->loc);
        if (!f->type)
            return false;
        idl_vec_push(p->c->arena, out, f);
    } while (accept(p, ','));
    return expect(p, ';', "after field declaration");
}

static bool parse_struct_body(struct parser *p, struct idl_decl *d)
{
    /* a declaration word cannot start a field: the '}' is missing (cpp_quote gets its own error below) */
    while (!is_punct(p, '}') && p->tok.kind != TK_EOF && (!starts_declaration(&p->tok) || is_kw(p, "cpp_quote"))) {
        if (accept(p, ';'))
            continue;
        if (is_kw(p, "cpp_quote")) {
            perr(p, p->tok.loc, "cpp_quote is not allowed inside a struct");
            next(p);
            sync(p);
            continue;
        }
        struct idl_vec attrs = {0};
        parse_attrs(p, &attrs);
        if (!parse_fields(p, d, &d->members, &attrs, NULL))
            sync(p);
    }
    return expect(p, '}', "to close struct");
}

static bool parse_union_arms(struct parser *p, struct idl_decl *d)
{
    while (!is_punct(p, '}') && p->tok.kind != TK_EOF && !starts_declaration(&p->tok)) {
        struct idl_case *arm = idl_alloc(p->c->arena, sizeof(*arm));
        arm->loc = p->tok.loc;
        struct idl_vec attrs = {0};
        if (d->encapsulated) {
            /* ('case' expr ':' | 'default' ':')+ field? */
            bool any = false;
            for (;;) {
                if (accept_kw(p, "case")) {
                    struct idl_expr *e = parse_expr(p);
                    if (!e || !expect(p, ':', "after case label"))
                        goto bad;
                    idl_vec_push(p->c->arena, &arm->values, e);
                    any = true;
                } else if (accept_kw(p, "default")) {
                    if (!expect(p, ':', "after default"))
                        goto bad;
                    arm->is_default = true;
                    any = true;
                } else {
                    break;
                }
            }
            if (!any) {
                perr(p, p->tok.loc, "expected 'case' or 'default' in union, found %s", describe(p));
                goto bad;
            }
            parse_attrs(p, &attrs);
        } else {
            parse_attrs(p, &attrs);
            struct idl_attr *c = idl_attr_find(&attrs, "case");
            struct idl_attr *def = idl_attr_find(&attrs, "default");
            if (c) {
                for (size_t i = 0; i < c->args.len; i++)
                    idl_vec_push(p->c->arena, &arm->values, c->args.items[i]);
            }
            arm->is_default = def != NULL;
            if (!c && !def) {
                perr(p, arm->loc, "union arm needs a [case(...)] or [default] attribute");
            }
        }
        if (accept(p, ';')) {
            struct idl_decl *f = new_decl(p, DECL_FIELD, arm->loc);
            f->parent = d;
            f->arm_case = arm;
            f->empty_arm = true;
            f->attrs = attrs;
            idl_vec_push(p->c->arena, &d->members, f);
            continue;
        }
        if (parse_fields(p, d, &d->members, &attrs, arm))
            continue;
    bad:
        sync(p);
    }
    return expect(p, '}', "to close union");
}

/* struct: 'struct' tag? ('{' fields '}')?
 * union: 'union' tag? ('switch' '(' type name ')' name?)? ('{' arms '}')? */
static struct idl_decl *parse_struct_or_union(struct parser *p, bool is_union)
{
    struct idl_loc loc = p->tok.loc;
    next(p);
    const char *tag = NULL;
    if (p->tok.kind == TK_IDENT && !is_reserved(p->tok.text, p->tok.len)) {
        tag = tok_str(p);
        loc = p->tok.loc;
        next(p);
    }
    enum idl_decl_kind kind = is_union ? DECL_UNION : DECL_STRUCT;
    bool encapsulated = is_union && is_kw(p, "switch");
    if (!is_punct(p, '{') && !encapsulated) {
        if (!tag) {
            perr(p, p->tok.loc, "expected '{' or tag name after '%s', found %s",
                      is_union ? "union" : "struct", describe(p));
            return NULL;
        }
        return declare_tag(p, kind, tag, loc, false);
    }
    struct idl_decl *d = declare_tag(p, kind, tag, loc, true);
    d->defined = true;
    if (!enter(p))
        return NULL;
    if (encapsulated) {
        next(p);
        d->encapsulated = true;
        if (!expect(p, '(', "after 'switch'"))
            goto fail;
        d->switch_type = parse_type_spec(p);
        if (!d->switch_type)
            goto fail;
        if (p->tok.kind != TK_IDENT) {
            perr(p, p->tok.loc, "expected discriminant name, found %s", describe(p));
            goto fail;
        }
        d->switch_name = tok_str(p);
        next(p);
        if (!expect(p, ')', "after union discriminant"))
            goto fail;
        if (p->tok.kind == TK_IDENT) {
            d->union_name = tok_str(p);
            next(p);
        }
    }
    if (!expect(p, '{', is_union ? "to open union" : "to open struct"))
        goto fail;
    bool ok = is_union ? parse_union_arms(p, d) : parse_struct_body(p, d);
    leave(p);
    return ok ? d : NULL;
fail:
    leave(p);
    return NULL;
}

/* enum: 'enum' tag? ('{' (name ('=' expr)?) (',' ...)* ','? '}')? */
static struct idl_decl *parse_enum(struct parser *p)
{
    struct idl_loc loc = p->tok.loc;
    next(p);
    const char *tag = NULL;
    if (p->tok.kind == TK_IDENT && !is_reserved(p->tok.text, p->tok.len)) {
        tag = tok_str(p);
        loc = p->tok.loc;
        next(p);
    }
    if (!is_punct(p, '{')) {
        if (!tag) {
            perr(p, p->tok.loc, "expected '{' or tag name after 'enum', found %s", describe(p));
            return NULL;
        }
        return declare_tag(p, DECL_ENUM, tag, loc, false);
    }
    next(p);
    struct idl_decl *d = declare_tag(p, DECL_ENUM, tag, loc, true);
    d->defined = true;
    while (!is_punct(p, '}') && p->tok.kind != TK_EOF) {
        if (p->tok.kind != TK_IDENT || is_reserved(p->tok.text, p->tok.len)) {
            perr(p, p->tok.loc, "expected enumerator name, found %s", describe(p));
            sync(p);
            return NULL;
        }
        struct idl_decl *e = new_decl(p, DECL_ENUMERATOR, p->tok.loc);
        e->name = tok_str(p);
        e->parent = d;
        next(p);
        if (accept(p, '=')) {
            e->value = parse_expr(p);
            if (!e->value) {
                sync(p);
                return NULL;
            }
        }
        struct idl_decl *prev = idl_symtab_get(p->c->values, e->name);
        if (prev) {
            perr(p, e->loc, "redefinition of '%s'", e->name);
            previous_here(p, prev);
        } else {
            idl_symtab_put(p->c->values, e->name, e);
        }
        idl_vec_push(p->c->arena, &d->members, e);
        if (!accept(p, ','))
            break;
    }
    if (!expect(p, '}', "to close enum"))
        return NULL;
    return d;
}

/* ---- declarations ---- */

static void declare_type_name(struct parser *p, struct idl_decl *d)
{
    struct idl_decl *prev = idl_symtab_get(p->c->types, d->name);
    if (prev) {
        perr(p, d->loc, "redefinition of '%s'", d->name);
        previous_here(p, prev);
        return;
    }
    idl_symtab_put(p->c->types, d->name, d);
}

/* typedef: 'typedef' attrs type declarator (',' declarator)* ';' */
static void parse_typedef(struct parser *p, struct idl_vec *out, struct idl_decl *parent)
{
    next(p);
    struct idl_vec attrs = {0};
    parse_attrs(p, &attrs);
    struct idl_type *t = parse_type_spec(p);
    if (!t) {
        sync(p);
        return;
    }
    struct idl_decl *inline_def = NULL;
    if ((t->kind == TY_STRUCT || t->kind == TY_UNION || t->kind == TY_ENUM) && t->decl->defined &&
        t->decl->loc.line == t->loc.line && t->decl->loc.file == t->loc.file)
        inline_def = t->decl;
    bool first = true;
    do {
        struct idl_decl *d = new_decl(p, DECL_TYPEDEF, p->tok.loc);
        d->attrs = attrs;
        d->parent = parent;
        d->type = parse_declarator(p, t, &d->name, &d->loc);
        if (!d->type) {
            sync(p);
            return;
        }
        if (!d->name) {
            perr(p, d->loc, "typedef declares no name");
            continue;
        }
        if (first)
            d->inline_def = inline_def;
        first = false;
        declare_type_name(p, d);
        idl_vec_push(p->c->arena, out, d);
    } while (accept(p, ','));
    if (!expect(p, ';', "after typedef"))
        sync(p);
}

/* a string argument in parentheses: cpp_quote("..."), importlib("...") */
static const char *parse_paren_string(struct parser *p, const char *what)
{
    if (!expect(p, '(', idl_printf(p->c->arena, "after '%s'", what)))
        return NULL;
    if (p->tok.kind != TK_STRING) {
        perr(p, p->tok.loc, "'%s' takes a string, found %s", what, describe(p));
        return NULL;
    }
    char *s = lexer_unescape(p->c->arena, p->tok.text, p->tok.len);
    next(p);
    while (p->tok.kind == TK_STRING) {
        s = idl_printf(p->c->arena, "%s%s", s, lexer_unescape(p->c->arena, p->tok.text, p->tok.len));
        next(p);
    }
    if (!expect(p, ')', idl_printf(p->c->arena, "after '%s' string", what)))
        return NULL;
    return s;
}

void idl_import(struct idl_compiler *c, const char *name, struct idl_loc loc);

/* import: 'import' string (',' string)* ';' */
static void parse_import(struct parser *p, struct idl_vec *out)
{
    struct idl_decl *d = new_decl(p, DECL_IMPORT, p->tok.loc);
    next(p);
    do {
        if (p->tok.kind != TK_STRING) {
            perr(p, p->tok.loc, "expected file name string after 'import', found %s", describe(p));
            sync(p);
            return;
        }
        const char *name = lexer_unescape(p->c->arena, p->tok.text, p->tok.len);
        struct idl_loc loc = p->tok.loc;
        next(p);
        idl_vec_push(p->c->arena, &d->import_names, (void *)name);
        idl_import(p->c, name, loc);
    } while (accept(p, ','));
    if (!expect(p, ';', "after import"))
        sync(p);
    idl_vec_push(p->c->arena, out, d);
}

static void parse_items(struct parser *p, struct idl_vec *out, struct idl_decl *parent, enum ctx ctx);

/* interface: 'interface' name (';' | (':' base)? '{' items '}' ';'?) */
static void parse_interface(struct parser *p, struct idl_vec *out, struct idl_vec *attrs, struct idl_decl *parent)
{
    next(p);
    if (p->tok.kind != TK_IDENT || is_reserved(p->tok.text, p->tok.len)) {
        perr(p, p->tok.loc, "expected interface name, found %s", describe(p));
        sync(p);
        return;
    }
    const char *name = tok_str(p);
    struct idl_loc loc = p->tok.loc;
    next(p);
    struct idl_decl *canon = idl_symtab_get(p->c->types, name);
    if (canon && canon->kind != DECL_INTERFACE) {
        perr(p, loc, "'%s' redeclared as an interface", name);
        previous_here(p, canon);
        sync(p);
        return;
    }
    if (!canon) {
        canon = new_decl(p, DECL_INTERFACE, loc);
        canon->name = name;
        canon->parent = parent;
        idl_symtab_put(p->c->types, name, canon);
    }
    if (accept(p, ';')) {
        struct idl_decl *fwd = new_decl(p, DECL_INTERFACE, loc);
        fwd->name = name;
        fwd->attrs = *attrs;
        fwd->parent = parent;
        fwd->definition = canon;
        idl_vec_push(p->c->arena, out, fwd);
        return;
    }
    if (canon->defined) {
        perr(p, loc, "redefinition of interface '%s'", name);
        previous_here(p, canon);
        sync(p);
        return;
    }
    struct idl_decl *d = canon;
    d->loc = loc;
    d->attrs = *attrs;
    d->parent = parent;
    d->imported = p->file->imported;
    d->defined = true;
    d->is_object = idl_has_attr(attrs, "object");
    d->is_local = idl_has_attr(attrs, "local");
    if (accept(p, ':')) {
        if (p->tok.kind != TK_IDENT) {
            perr(p, p->tok.loc, "expected base interface name, found %s", describe(p));
            sync(p);
            return;
        }
        d->base_name = tok_str(p);
        d->base_loc = p->tok.loc;
        next(p);
    }
    if (!expect(p, '{', "to open interface body")) {
        sync(p);
        return;
    }
    idl_vec_push(p->c->arena, out, d);
    if (!enter(p))
        return;
    parse_items(p, &d->members, d, CTX_INTERFACE);
    leave(p);
    expect(p, '}', "to close interface");
    accept(p, ';');
}

/* coclass: 'coclass' name '{' (attrs ('interface'|'dispinterface') name ';')* '}' ';'? */
static void parse_coclass(struct parser *p, struct idl_vec *out, struct idl_vec *attrs, struct idl_decl *parent)
{
    next(p);
    if (p->tok.kind != TK_IDENT) {
        perr(p, p->tok.loc, "expected coclass name, found %s", describe(p));
        sync(p);
        return;
    }
    struct idl_decl *d = new_decl(p, DECL_COCLASS, p->tok.loc);
    d->name = tok_str(p);
    d->attrs = *attrs;
    d->parent = parent;
    next(p);
    if (accept(p, ';'))
        return; /* forward declaration of a coclass: nothing to emit */
    declare_type_name(p, d);
    if (!expect(p, '{', "to open coclass")) {
        sync(p);
        return;
    }
    idl_vec_push(p->c->arena, out, d);
    while (!is_punct(p, '}') && p->tok.kind != TK_EOF) {
        struct idl_decl *item = new_decl(p, DECL_COCLASS_ITEM, p->tok.loc);
        parse_attrs(p, &item->attrs);
        if (!accept_kw(p, "interface") && !accept_kw(p, "dispinterface")) {
            perr(p, p->tok.loc, "expected 'interface' in coclass, found %s", describe(p));
            sync(p);
            continue;
        }
        if (p->tok.kind != TK_IDENT) {
            perr(p, p->tok.loc, "expected interface name, found %s", describe(p));
            sync(p);
            continue;
        }
        item->name = tok_str(p);
        item->loc = p->tok.loc;
        next(p);
        idl_vec_push(p->c->arena, &d->members, item);
        if (!expect(p, ';', "after coclass interface"))
            sync(p);
    }
    expect(p, '}', "to close coclass");
    accept(p, ';');
}

/* dispinterface: 'dispinterface' name '{' ('properties' ':' fields)? ('methods' ':' methods)? '}'
 *              | 'dispinterface' name '{' 'interface' name ';' '}' */
static void parse_dispinterface(struct parser *p, struct idl_vec *out, struct idl_vec *attrs,
                                struct idl_decl *parent)
{
    next(p);
    if (p->tok.kind != TK_IDENT) {
        perr(p, p->tok.loc, "expected dispinterface name, found %s", describe(p));
        sync(p);
        return;
    }
    struct idl_decl *d = new_decl(p, DECL_DISPINTERFACE, p->tok.loc);
    d->name = tok_str(p);
    d->attrs = *attrs;
    d->parent = parent;
    next(p);
    if (accept(p, ';'))
        return;
    declare_type_name(p, d);
    d->defined = true;
    if (!expect(p, '{', "to open dispinterface")) {
        sync(p);
        return;
    }
    idl_vec_push(p->c->arena, out, d);
    if (accept_kw(p, "interface")) {
        if (p->tok.kind == TK_IDENT) {
            d->disp_interface = tok_str(p);
            d->base_loc = p->tok.loc;
            next(p);
        } else {
            perr(p, p->tok.loc, "expected interface name, found %s", describe(p));
        }
        if (!expect(p, ';', "after interface name"))
            sync(p);
    } else {
        if (accept_kw(p, "properties")) {
            expect(p, ':', "after 'properties'");
            while (!is_punct(p, '}') && p->tok.kind != TK_EOF && !is_kw(p, "methods")) {
                struct idl_vec fattrs = {0};
                parse_attrs(p, &fattrs);
                if (!parse_fields(p, d, &d->members, &fattrs, NULL))
                    sync(p);
            }
        }
        if (accept_kw(p, "methods")) {
            expect(p, ':', "after 'methods'");
            parse_items(p, &d->methods, d, CTX_INTERFACE);
        }
    }
    expect(p, '}', "to close dispinterface");
    accept(p, ';');
}

/* library and module: 'library' name '{' items '}' ';'? */
static void parse_block(struct parser *p, struct idl_vec *out, struct idl_vec *attrs, struct idl_decl *parent,
                        enum idl_decl_kind kind)
{
    const char *what = kind == DECL_LIBRARY ? "library" : "module";
    next(p);
    if (p->tok.kind != TK_IDENT) {
        perr(p, p->tok.loc, "expected %s name, found %s", what, describe(p));
        sync(p);
        return;
    }
    struct idl_decl *d = new_decl(p, kind, p->tok.loc);
    d->name = tok_str(p);
    d->attrs = *attrs;
    d->parent = parent;
    next(p);
    declare_type_name(p, d);
    if (!expect(p, '{', idl_printf(p->c->arena, "to open %s", what))) {
        sync(p);
        return;
    }
    idl_vec_push(p->c->arena, out, d);
    if (!enter(p))
        return;
    parse_items(p, &d->members, d, kind == DECL_LIBRARY ? CTX_LIBRARY : CTX_MODULE);
    leave(p);
    expect(p, '}', idl_printf(p->c->arena, "to close %s", what));
    accept(p, ';');
}

static void parse_const_value(struct parser *p, struct idl_vec *out, struct idl_decl *parent, struct idl_type *t,
                              const char *name, struct idl_loc loc)
{
    struct idl_decl *d = new_decl(p, DECL_CONST, loc);
    d->parent = parent;
    d->type = t;
    d->name = name;
    d->value = parse_expr(p);
    if (!d->value || !expect(p, ';', "after constant")) {
        sync(p);
        return;
    }
    struct idl_decl *prev = idl_symtab_get(p->c->values, d->name);
    if (prev) {
        perr(p, d->loc, "redefinition of '%s'", d->name);
        previous_here(p, prev);
    } else {
        idl_symtab_put(p->c->values, d->name, d);
    }
    idl_vec_push(p->c->arena, out, d);
}

/* method or function: attrs type declarator-with-params ';'
 * const: 'const' type declarator '=' expr ';' (a const-qualified method return type is a method) */
static void parse_method(struct parser *p, struct idl_vec *out, struct idl_vec *attrs, struct idl_decl *parent,
                         enum ctx ctx)
{
    struct idl_type *ret = parse_type_spec(p);
    if (!ret) {
        sync(p);
        return;
    }
    bool struct_decl = (ret->kind == TY_STRUCT || ret->kind == TY_UNION || ret->kind == TY_ENUM) &&
                       is_punct(p, ';');
    if (struct_decl) {
        /* a bare 'struct S { ... };' declares its tag */
        next(p);
        struct idl_decl *d = ret->decl;
        d->parent = parent;
        d->attrs = *attrs; /* [v1_enum] enum E { ... }; */
        if (d->defined)
            idl_vec_push(p->c->arena, out, d);
        return;
    }
    const char *name = NULL;
    struct idl_loc loc;
    struct idl_type *t = parse_declarator(p, ret, &name, &loc);
    if (!t) {
        sync(p);
        return;
    }
    if (t->kind != TY_FUNCTION && name && is_punct(p, '=')) {
        /* const: 'const' type declarator '=' expr ';' */
        next(p);
        if (!ret->is_const && !(t->kind == TY_POINTER && t->ref && t->ref->is_const))
            perr(p, loc, "constant '%s' must be declared const", name);
        parse_const_value(p, out, parent, t, name, loc);
        return;
    }
    if (t->kind != TY_FUNCTION || !name) {
        perr(p, loc, ctx == CTX_INTERFACE ? "expected method declaration"
                                                  : "expected a declaration");
        sync(p);
        return;
    }
    bool object = parent && parent->kind == DECL_INTERFACE && parent->is_object;
    struct idl_decl *d = new_decl(p, object || (parent && parent->kind == DECL_DISPINTERFACE) ? DECL_METHOD
                                                                                               : DECL_FUNCTION,
                                  loc);
    d->name = name;
    d->attrs = *attrs;
    d->parent = parent;
    d->type = t->ref;
    d->members = t->params;
    for (size_t i = 0; i < d->members.len; i++)
        ((struct idl_decl *)d->members.items[i])->parent = d;
    if (!expect(p, ';', "after method declaration"))
        sync(p);
    idl_vec_push(p->c->arena, out, d);
}

static void parse_items(struct parser *p, struct idl_vec *out, struct idl_decl *parent, enum ctx ctx)
{
    while (p->tok.kind != TK_EOF && !(ctx != CTX_TOP && is_punct(p, '}'))) {
        const struct token before = p->tok;
        if (accept(p, ';'))
            continue;
        if (is_kw(p, "import")) {
            parse_import(p, out);
        } else if (is_kw(p, "importlib") || is_kw(p, "cpp_quote")) {
            bool quote = is_kw(p, "cpp_quote");
            struct idl_decl *d = new_decl(p, quote ? DECL_CPP_QUOTE : DECL_IMPORTLIB, p->tok.loc);
            d->parent = parent;
            next(p);
            d->name = parse_paren_string(p, quote ? "cpp_quote" : "importlib");
            if (!d->name)
                sync(p);
            else {
                accept(p, ';');
                idl_vec_push(p->c->arena, out, d);
            }
        } else if (is_kw(p, "midl_pragma")) {
            struct idl_decl *d = new_decl(p, DECL_PRAGMA, p->tok.loc);
            next(p);
            int depth = 0;
            /* midl_pragma warning( disable : 2111 ): kept only as text; pcomidl has its own warnings */
            while (p->tok.kind != TK_EOF) {
                if (is_punct(p, '('))
                    depth++;
                else if (is_punct(p, ')') && --depth <= 0) {
                    next(p);
                    break;
                } else if (is_punct(p, ';') && depth == 0)
                    break;
                next(p);
            }
            accept(p, ';');
            idl_vec_push(p->c->arena, out, d);
        } else if (is_kw(p, "typedef")) {
            parse_typedef(p, out, parent);
        } else {
            struct idl_vec attrs = {0};
            parse_attrs(p, &attrs);
            if (ctx == CTX_INTERFACE && (is_kw(p, "interface") || is_kw(p, "dispinterface") || is_kw(p, "coclass") ||
                                         is_kw(p, "library") || is_kw(p, "module"))) {
                perr(p, p->tok.loc, "'%.*s' cannot be declared inside an interface", (int)p->tok.len, p->tok.text);
                next(p);
                sync(p);
                continue;
            }
            if (is_kw(p, "interface"))
                parse_interface(p, out, &attrs, parent);
            else if (is_kw(p, "dispinterface"))
                parse_dispinterface(p, out, &attrs, parent);
            else if (is_kw(p, "coclass"))
                parse_coclass(p, out, &attrs, parent);
            else if (is_kw(p, "library"))
                parse_block(p, out, &attrs, parent, DECL_LIBRARY);
            else if (is_kw(p, "module"))
                parse_block(p, out, &attrs, parent, DECL_MODULE);
            else if (p->tok.kind == TK_EOF || (ctx != CTX_TOP && is_punct(p, '}'))) {
                if (attrs.len)
                    perr(p, p->tok.loc, "expected declaration after attributes, found %s", describe(p));
            } else
                parse_method(p, out, &attrs, parent, ctx);
        }
        /* never loop without consuming input */
        if (p->tok.kind != TK_EOF && p->tok.loc.line == before.loc.line && p->tok.loc.col == before.loc.col &&
            p->tok.loc.file == before.loc.file && p->tok.kind == before.kind && p->tok.text == before.text)
            next(p);
    }
}

void idl_parse(struct idl_compiler *c, struct idl_file *f, const char *text, size_t len)
{
    struct parser p = {0};
    p.c = c;
    p.file = f;
    lexer_init(&p.lx, c, f->path, text, len, !c->opts.no_cpp);
    next(&p);
    parse_items(&p, &f->decls, NULL, CTX_TOP);
}
