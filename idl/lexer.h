/* lexer.h: tokens of preprocessed IDL and the lexer that makes them. */
#ifndef PCOMIDL_LEXER_H
#define PCOMIDL_LEXER_H

#include "idl.h"

enum tok_kind {
    TK_EOF,
    TK_IDENT,
    TK_INT,
    TK_FLOAT,
    TK_STRING,
    TK_CHAR,
    TK_UUID,
    TK_PUNCT,
};

/* Two-character operators; single characters stand for themselves. */
enum {
    P_SHL = 256,
    P_SHR,
    P_EQ,
    P_NE,
    P_LE,
    P_GE,
    P_ANDAND,
    P_OROR,
    P_ARROW,
    P_ELLIPSIS,
};

struct token {
    enum tok_kind kind;
    struct idl_loc loc;
    const char *text; /* identifier, literal as written; string/char contents without quotes */
    size_t len;
    int punct;
    uint64_t ival;
    bool is_unsigned;
    double fval;
    bool wide;
    uint8_t uuid[16];
};

struct srcmap;

struct lexer {
    struct idl_compiler *c;
    const char *buf, *end, *p;
    const char *file;      /* interned current file name */
    int line;              /* line of *p in file */
    const char *line_start;
    bool at_line_start;
    struct token prev1, prev2; /* for recognising uuid(...) */
    struct srcmap *map;    /* original sources, for exact columns after cpp */
    int map_line;          /* line the column cursor belongs to */
    const char *map_file;
    size_t map_cursor;
};

void lexer_init(struct lexer *lx, struct idl_compiler *c, const char *name, const char *text, size_t len,
                bool map_columns);
void lexer_next(struct lexer *lx, struct token *t);
/* Undo backslash escapes of a string literal's contents. */
char *lexer_unescape(struct idl_arena *a, const char *s, size_t n);
/* The same, with the length of the result, which may hold NUL bytes. */
char *lexer_unescape_n(struct idl_arena *a, const char *s, size_t n, size_t *out_len);
/* Record a file the compilation read, once, for the depfile. */
void lexer_add_dep(struct idl_compiler *c, const char *name, size_t n);
/* The text of an interned file name: every location shares one copy. */
const char *lexer_intern_file(struct idl_compiler *c, const char *name, size_t n);

#endif
