/* test_idl_lexer.c: the lexer on its own (lexer_init / lexer_next): every token kind, literal values,
 * escapes, uuids, cpp line markers, comments, and the errors it reports with their locations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idl_harness.h"
#include "lexer.h"

/* A lexer over text held in memory, named "lex.idl", with the diagnostics it reports. */
struct lexh {
    struct idl_compiler c;
    struct lexer lx;
    struct diag_record diags[64];
    int ndiags;
};

static void lex_collect(void *user, enum idl_severity sev, struct idl_loc loc, const char *msg)
{
    struct lexh *L = user;
    if (L->ndiags >= (int)(sizeof(L->diags) / sizeof(L->diags[0])))
        return;
    struct diag_record *d = &L->diags[L->ndiags++];
    d->sev = sev;
    snprintf(d->file, sizeof(d->file), "%s", loc.file ? loc.file : "");
    d->line = loc.line;
    d->col = loc.col;
    snprintf(d->msg, sizeof(d->msg), "%s", msg);
}

static struct lexh *lex_start(const char *text)
{
    struct lexh *L = calloc(1, sizeof(*L));
    assert_non_null(L);
    idl_compiler_init(&L->c);
    L->c.diag = lex_collect;
    L->c.diag_user = L;
    L->c.opts.no_cpp = true;
    lexer_init(&L->lx, &L->c, "lex.idl", text, strlen(text), false);
    return L;
}

static void lex_free(struct lexh *L)
{
    idl_compiler_fini(&L->c);
    free(L);
}

static void lex_dump(const struct lexh *L)
{
    for (int i = 0; i < L->ndiags; i++)
        fprintf(stderr, "  %s:%d:%d: %s\n", L->diags[i].file, L->diags[i].line, L->diags[i].col, L->diags[i].msg);
}

static const struct diag_record *lex_find(const struct lexh *L, const char *needle)
{
    for (int i = 0; i < L->ndiags; i++)
        if (L->diags[i].sev == IDL_ERROR && strstr(L->diags[i].msg, needle))
            return &L->diags[i];
    return NULL;
}

#define assert_lex_error(L, needle, line_, col_)                                                            \
    do {                                                                                                    \
        const struct diag_record *d_ = lex_find((L), (needle));                                             \
        if (!d_)                                                                                            \
            lex_dump(L);                                                                                    \
        assert_non_null(d_);                                                                                \
        assert_string_equal(d_->file, "lex.idl");                                                           \
        assert_int_equal(d_->line, (line_));                                                                \
        assert_int_equal(d_->col, (col_));                                                                  \
    } while (0)

#define assert_no_diags(L)                                                                                  \
    do {                                                                                                    \
        if ((L)->ndiags)                                                                                    \
            lex_dump(L);                                                                                    \
        assert_int_equal((L)->ndiags, 0);                                                                   \
    } while (0)

static void next_tok(struct lexh *L, struct token *t)
{
    lexer_next(&L->lx, t);
}

/* The next token must be of this kind, spelling and location. */
static void expect_tok(struct lexh *L, enum tok_kind kind, const char *text, int line, int col)
{
    struct token t;
    next_tok(L, &t);
    if (t.kind != kind || (text && (t.len != strlen(text) || memcmp(t.text, text, t.len) != 0)))
        fprintf(stderr, "  got kind %d '%.*s' at %d:%d; want kind %d '%s' at %d:%d\n", t.kind, (int)t.len,
                t.text ? t.text : "", t.loc.line, t.loc.col, kind, text ? text : "", line, col);
    assert_int_equal(t.kind, kind);
    if (text) {
        assert_int_equal(t.len, strlen(text));
        assert_memory_equal(t.text, text, t.len);
    }
    assert_int_equal(t.loc.line, line);
    assert_int_equal(t.loc.col, col);
}

static void expect_punct(struct lexh *L, int punct, int line, int col)
{
    struct token t;
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_PUNCT);
    assert_int_equal(t.punct, punct);
    assert_int_equal(t.loc.line, line);
    assert_int_equal(t.loc.col, col);
}

static void expect_eof(struct lexh *L)
{
    struct token t;
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_EOF);
}

/* ---- identifiers ---- */

static void identifiers(void **state)
{
    (void)state;
    struct lexh *L = lex_start("foo _bar $dollar x1_y2\n  interface __int64 L uuid");
    expect_tok(L, TK_IDENT, "foo", 1, 1);
    expect_tok(L, TK_IDENT, "_bar", 1, 5);
    expect_tok(L, TK_IDENT, "$dollar", 1, 10);
    expect_tok(L, TK_IDENT, "x1_y2", 1, 18);
    /* keywords are identifiers to the lexer */
    expect_tok(L, TK_IDENT, "interface", 2, 3);
    expect_tok(L, TK_IDENT, "__int64", 2, 13);
    /* a lone L is not a wide-literal prefix */
    expect_tok(L, TK_IDENT, "L", 2, 21);
    expect_tok(L, TK_IDENT, "uuid", 2, 23);
    expect_eof(L);
    assert_no_diags(L);
    lex_free(L);
}

static void eof_is_sticky_and_located(void **state)
{
    (void)state;
    struct lexh *L = lex_start("a\n  ");
    struct token t;
    expect_tok(L, TK_IDENT, "a", 1, 1);
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_EOF);
    assert_int_equal(t.loc.line, 2);
    assert_int_equal(t.loc.col, 3);
    assert_string_equal(t.loc.file, "lex.idl");
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_EOF);
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_EOF);
    assert_no_diags(L);
    lex_free(L);
}

static void empty_input(void **state)
{
    (void)state;
    struct lexh *L = lex_start("");
    struct token t;
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_EOF);
    assert_int_equal(t.loc.line, 1);
    assert_int_equal(t.loc.col, 1);
    assert_no_diags(L);
    lex_free(L);
}

static void whitespace_and_line_endings(void **state)
{
    (void)state;
    /* tabs count one column; CR before LF is blank; form feed and vertical tab are blanks */
    struct lexh *L = lex_start("\ta\r\n\f\vb\r\n\r\n   c");
    expect_tok(L, TK_IDENT, "a", 1, 2);
    expect_tok(L, TK_IDENT, "b", 2, 3);
    expect_tok(L, TK_IDENT, "c", 4, 4);
    expect_eof(L);
    assert_no_diags(L);
    lex_free(L);
}

static void backslash_newline_continues_line(void **state)
{
    (void)state;
    struct lexh *L = lex_start("a \\\n  b\nc");
    expect_tok(L, TK_IDENT, "a", 1, 1);
    expect_tok(L, TK_IDENT, "b", 2, 3);
    expect_tok(L, TK_IDENT, "c", 3, 1);
    assert_no_diags(L);
    lex_free(L);
}

/* ---- integers ---- */

struct int_case {
    const char *text;
    uint64_t value;
    bool is_unsigned;
};

static void integer_literals(void **state)
{
    (void)state;
    static const struct int_case cases[] = {
        {"0", 0, false},
        {"7", 7, false},
        {"42", 42, false},
        {"2147483648", 2147483648u, false},
        {"0x1F", 0x1f, false},
        {"0X1f", 0x1f, false},
        {"0xdeadBEEF", 0xdeadbeefu, false},
        {"017", 15, false},
        {"0777", 511, false},
        {"00", 0, false},
        {"10u", 10, true},
        {"10U", 10, true},
        {"10l", 10, false},
        {"10L", 10, false},
        {"10ul", 10, true},
        {"10LU", 10, true},
        {"10ll", 10, false},
        {"10ULL", 10, true},
        {"10llu", 10, true},
        {"0x10u", 16, true},
        {"18446744073709551615", UINT64_MAX, false},
        {"0xffffffffffffffff", UINT64_MAX, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[64];
        snprintf(text, sizeof(text), "  %s;", cases[i].text);
        struct lexh *L = lex_start(text);
        struct token t;
        next_tok(L, &t);
        if (t.kind != TK_INT || t.ival != cases[i].value || t.is_unsigned != cases[i].is_unsigned)
            fprintf(stderr, "  literal %s: kind %d value %llu unsigned %d\n", cases[i].text, t.kind,
                    (unsigned long long)t.ival, t.is_unsigned);
        assert_int_equal(t.kind, TK_INT);
        assert_true(t.ival == cases[i].value);
        assert_int_equal(t.is_unsigned, cases[i].is_unsigned);
        /* the token spells the literal as written, suffix included */
        assert_int_equal(t.len, strlen(cases[i].text));
        assert_memory_equal(t.text, cases[i].text, t.len);
        assert_int_equal(t.loc.col, 3);
        expect_punct(L, ';', 1, 3 + (int)strlen(cases[i].text));
        assert_no_diags(L);
        lex_free(L);
    }
}

static void integer_overflow(void **state)
{
    (void)state;
    struct lexh *L = lex_start("x = 18446744073709551616;\n  0x10000000000000000");
    expect_tok(L, TK_IDENT, "x", 1, 1);
    expect_punct(L, '=', 1, 3);
    expect_tok(L, TK_INT, "18446744073709551616", 1, 5);
    expect_punct(L, ';', 1, 25);
    expect_tok(L, TK_INT, "0x10000000000000000", 2, 3);
    assert_lex_error(L, "integer constant '18446744073709551616' is too large", 1, 5);
    assert_lex_error(L, "integer constant '0x10000000000000000' is too large", 2, 3);
    assert_int_equal(L->c.errors, 2);
    lex_free(L);
}

static void integer_bad_suffix(void **state)
{
    (void)state;
    struct lexh *L = lex_start("10zz 12 7abcdefghij 1lul");
    expect_tok(L, TK_INT, "10zz", 1, 1);
    expect_tok(L, TK_INT, "12", 1, 6);
    expect_tok(L, TK_INT, "7abcdefghij", 1, 9);
    expect_tok(L, TK_INT, "1lul", 1, 21);
    expect_eof(L);
    assert_lex_error(L, "invalid suffix 'zz' on integer constant", 1, 1);
    assert_lex_error(L, "invalid suffix on numeric constant '7abcdefghij'", 1, 9);
    assert_lex_error(L, "invalid suffix 'lul' on integer constant", 1, 21);
    assert_int_equal(L->c.errors, 3);
    lex_free(L);
}

static void octal_bad_digit(void **state)
{
    (void)state;
    struct lexh *L = lex_start("  09 018");
    expect_tok(L, TK_INT, "09", 1, 3);
    expect_tok(L, TK_INT, "018", 1, 6);
    assert_lex_error(L, "invalid digit '9' in octal constant", 1, 3);
    assert_lex_error(L, "invalid digit '8' in octal constant", 1, 6);
    assert_int_equal(L->c.errors, 2);
    lex_free(L);
}

/* ---- floats ---- */

static void float_literals(void **state)
{
    (void)state;
    struct lexh *L = lex_start("1.5 .25 1e3 2.5e-2 3. 1.0f 6.02E+23 7e");
    struct token t;
    static const double want[] = {1.5, 0.25, 1e3, 2.5e-2, 3.0, 1.0, 6.02e23};
    static const int cols[] = {1, 5, 9, 13, 20, 23, 28};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        next_tok(L, &t);
        assert_int_equal(t.kind, TK_FLOAT);
        assert_true(t.fval == want[i]);
        assert_int_equal(t.loc.col, cols[i]);
    }
    /* 7e has no exponent digits: an integer with a bad suffix */
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_INT);
    assert_int_equal(t.loc.col, 37);
    assert_lex_error(L, "invalid suffix 'e' on integer constant", 1, 37);
    assert_int_equal(L->c.errors, 1);
    lex_free(L);
}

static void float_bad_suffix(void **state)
{
    (void)state;
    struct lexh *L = lex_start("x 1.5q");
    expect_tok(L, TK_IDENT, "x", 1, 1);
    expect_tok(L, TK_FLOAT, "1.5q", 1, 3);
    assert_lex_error(L, "invalid suffix 'q' on floating constant", 1, 3);
    lex_free(L);
}

/* A '.' not followed by a digit is punctuation. */
static void dot_is_punct(void **state)
{
    (void)state;
    struct lexh *L = lex_start("s.m");
    expect_tok(L, TK_IDENT, "s", 1, 1);
    expect_punct(L, '.', 1, 2);
    expect_tok(L, TK_IDENT, "m", 1, 3);
    assert_no_diags(L);
    lex_free(L);
}

/* ---- strings and characters ---- */

static void string_literals(void **state)
{
    (void)state;
    struct lexh *L = lex_start("\"abc\" \"\" \"a\\\"b\" \"x\\\\\" \"tab\\there\"");
    struct token t;
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_STRING);
    assert_false(t.wide);
    assert_int_equal(t.len, 3);
    assert_memory_equal(t.text, "abc", 3);
    assert_int_equal(t.loc.col, 1);
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_STRING);
    assert_int_equal(t.len, 0);
    assert_int_equal(t.loc.col, 7);
    /* the contents are kept as written: escapes undone only by lexer_unescape */
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_STRING);
    assert_int_equal(t.len, 4);
    assert_memory_equal(t.text, "a\\\"b", 4);
    assert_int_equal(t.loc.col, 10);
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_STRING);
    assert_int_equal(t.len, 3);
    assert_memory_equal(t.text, "x\\\\", 3);
    assert_int_equal(t.loc.col, 17);
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_STRING);
    assert_memory_equal(t.text, "tab\\there", t.len);
    assert_int_equal(t.loc.col, 23);
    expect_eof(L);
    assert_no_diags(L);
    lex_free(L);
}

static void wide_strings(void **state)
{
    (void)state;
    struct lexh *L = lex_start("L\"wide\" u\"utf16\" \"narrow\" L x");
    struct token t;
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_STRING);
    assert_true(t.wide);
    assert_int_equal(t.len, 4);
    assert_memory_equal(t.text, "wide", 4);
    assert_int_equal(t.loc.col, 1);
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_STRING);
    assert_true(t.wide);
    assert_memory_equal(t.text, "utf16", 5);
    assert_int_equal(t.loc.col, 9);
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_STRING);
    assert_false(t.wide);
    assert_int_equal(t.loc.col, 18);
    expect_tok(L, TK_IDENT, "L", 1, 27);
    expect_tok(L, TK_IDENT, "x", 1, 29);
    assert_no_diags(L);
    lex_free(L);
}

static void unescape(void **state)
{
    (void)state;
    struct idl_arena *a = idl_arena_new();
    char *s = lexer_unescape(a, "plain", 5);
    assert_string_equal(s, "plain");
    s = lexer_unescape(a, "a\\nb\\tc\\rd", 10);
    assert_string_equal(s, "a\nb\tc\rd");
    s = lexer_unescape(a, "\\a\\b\\f\\v", 8);
    assert_string_equal(s, "\a\b\f\v");
    s = lexer_unescape(a, "\\\\\\\"\\'\\?", 8);
    assert_string_equal(s, "\\\"'?");
    s = lexer_unescape(a, "\\x41\\x4a!", 9);
    assert_string_equal(s, "AJ!");
    s = lexer_unescape(a, "\\101\\60x", 8);
    assert_string_equal(s, "A0x");
    /* an octal escape takes at most three digits */
    s = lexer_unescape(a, "\\1011", 5);
    assert_string_equal(s, "A1");
    /* hex escapes keep the low byte */
    s = lexer_unescape(a, "\\x141", 5);
    assert_string_equal(s, "A");
    /* \0 ends the C string */
    s = lexer_unescape(a, "ab\\0cd", 6);
    assert_int_equal(s[0], 'a');
    assert_int_equal(s[1], 'b');
    assert_int_equal(s[2], '\0');
    /* a lone trailing backslash stays */
    s = lexer_unescape(a, "x\\", 2);
    assert_string_equal(s, "x\\");
    /* only n bytes are read */
    s = lexer_unescape(a, "abcdef", 3);
    assert_string_equal(s, "abc");
    idl_arena_free(a);
}

static void char_literals(void **state)
{
    (void)state;
    struct lexh *L = lex_start("'a' '\\n' '\\x41' '\\'' L'w' '\\101'");
    struct token t;
    static const uint64_t want[] = {'a', '\n', 0x41, '\'', 'w', 'A'};
    static const int cols[] = {1, 5, 10, 17, 22, 27};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        next_tok(L, &t);
        assert_int_equal(t.kind, TK_CHAR);
        assert_int_equal(t.ival, want[i]);
        assert_int_equal(t.loc.col, cols[i]);
        assert_int_equal(t.wide, i == 4);
    }
    expect_eof(L);
    assert_no_diags(L);
    lex_free(L);
}

static void char_literal_errors(void **state)
{
    (void)state;
    struct lexh *L = lex_start("x 'ab'\n  ''\n'\\n\\n'");
    expect_tok(L, TK_IDENT, "x", 1, 1);
    struct token t;
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_CHAR);
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_CHAR);
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_CHAR);
    expect_eof(L);
    assert_lex_error(L, "character constant must hold one character", 1, 3);
    assert_int_equal(L->diags[1].line, 2);
    assert_int_equal(L->diags[1].col, 3);
    assert_int_equal(L->diags[2].line, 3);
    assert_int_equal(L->diags[2].col, 1);
    assert_int_equal(L->c.errors, 3);
    lex_free(L);
}

/* A multi-byte UTF-8 character is one wide character. */
static void wide_char_utf8(void **state)
{
    (void)state;
    struct lexh *L = lex_start("L'\xc3\xa9' '\xc3\xa9'");
    struct token t;
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_CHAR);
    assert_true(t.wide);
    assert_int_equal(L->ndiags, 0);
    /* without L it is two bytes: an error */
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_CHAR);
    assert_lex_error(L, "character constant must hold one character", 1, 7);
    lex_free(L);
}

static void unterminated_string(void **state)
{
    (void)state;
    struct lexh *L = lex_start("a \"abc\nnext \"x\n  L\"w");
    expect_tok(L, TK_IDENT, "a", 1, 1);
    struct token t;
    next_tok(L, &t); /* the unterminated literal */
    /* lexing goes on with the next line */
    expect_tok(L, TK_IDENT, "next", 2, 1);
    next_tok(L, &t);
    next_tok(L, &t);
    assert_lex_error(L, "missing terminating \" character", 1, 3);
    assert_int_equal(L->diags[1].line, 2);
    assert_int_equal(L->diags[1].col, 6);
    assert_int_equal(L->diags[2].line, 3);
    assert_int_equal(L->diags[2].col, 3);
    assert_int_equal(L->c.errors, 3);
    lex_free(L);
}

static void unterminated_char(void **state)
{
    (void)state;
    struct lexh *L = lex_start("  'a\nb");
    struct token t;
    next_tok(L, &t);
    expect_tok(L, TK_IDENT, "b", 2, 1);
    assert_lex_error(L, "missing terminating ' character", 1, 3);
    lex_free(L);
}

/* ---- operators ---- */

static void operators(void **state)
{
    (void)state;
    struct lexh *L = lex_start("... << >> == != <= >= && || ->\n"
                               "{ } ( ) [ ] ; , : * = < > + - / % & | ^ ~ ! ? .");
    static const int two[] = {P_ELLIPSIS, P_SHL, P_SHR, P_EQ, P_NE, P_LE, P_GE, P_ANDAND, P_OROR, P_ARROW};
    static const int two_cols[] = {1, 5, 8, 11, 14, 17, 20, 23, 26, 29};
    for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++) {
        struct token t;
        next_tok(L, &t);
        assert_int_equal(t.kind, TK_PUNCT);
        assert_int_equal(t.punct, two[i]);
        assert_int_equal(t.loc.line, 1);
        assert_int_equal(t.loc.col, two_cols[i]);
        assert_int_equal(t.len, i == 0 ? 3 : 2);
    }
    const char *one = "{}()[];,:*=<>+-/%&|^~!?.";
    for (size_t i = 0; one[i]; i++) {
        struct token t;
        next_tok(L, &t);
        assert_int_equal(t.kind, TK_PUNCT);
        assert_int_equal(t.punct, one[i]);
        assert_int_equal(t.len, 1);
        assert_int_equal(t.loc.line, 2);
        assert_int_equal(t.loc.col, 1 + 2 * (int)i);
    }
    expect_eof(L);
    assert_no_diags(L);
    lex_free(L);
}

/* Operators are matched longest first, without spaces too. */
static void operators_adjacent(void **state)
{
    (void)state;
    struct lexh *L = lex_start("a->b<<=c>>>d...e..f!==");
    expect_tok(L, TK_IDENT, "a", 1, 1);
    expect_punct(L, P_ARROW, 1, 2);
    expect_tok(L, TK_IDENT, "b", 1, 4);
    expect_punct(L, P_SHL, 1, 5);
    expect_punct(L, '=', 1, 7);
    expect_tok(L, TK_IDENT, "c", 1, 8);
    expect_punct(L, P_SHR, 1, 9);
    expect_punct(L, '>', 1, 11);
    expect_tok(L, TK_IDENT, "d", 1, 12);
    expect_punct(L, P_ELLIPSIS, 1, 13);
    expect_tok(L, TK_IDENT, "e", 1, 16);
    expect_punct(L, '.', 1, 17);
    expect_punct(L, '.', 1, 18);
    expect_tok(L, TK_IDENT, "f", 1, 19);
    expect_punct(L, P_NE, 1, 20);
    expect_punct(L, '=', 1, 22);
    expect_eof(L);
    assert_no_diags(L);
    lex_free(L);
}

/* ---- uuids ---- */

static void uuid_after_uuid_paren(void **state)
{
    (void)state;
    struct lexh *L = lex_start("[uuid(12345678-9abc-DEF0-1234-56789abcdef0), async_uuid ( 0badf00d-0000-4000-8000-000000000001 )]");
    expect_punct(L, '[', 1, 1);
    expect_tok(L, TK_IDENT, "uuid", 1, 2);
    expect_punct(L, '(', 1, 6);
    struct token t;
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_UUID);
    assert_int_equal(t.loc.col, 7);
    assert_int_equal(t.len, 36);
    static const uint8_t want[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                     0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0};
    assert_memory_equal(t.uuid, want, 16);
    expect_punct(L, ')', 1, 43);
    expect_punct(L, ',', 1, 44);
    expect_tok(L, TK_IDENT, "async_uuid", 1, 46);
    expect_punct(L, '(', 1, 57);
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_UUID);
    assert_int_equal(t.loc.col, 59);
    assert_int_equal(t.uuid[0], 0x0b);
    assert_int_equal(t.uuid[15], 0x01);
    expect_punct(L, ')', 1, 96);
    expect_punct(L, ']', 1, 97);
    expect_eof(L);
    assert_no_diags(L);
    lex_free(L);
}

/* Elsewhere the same characters are numbers and identifiers. */
static void uuid_only_after_uuid_paren(void **state)
{
    (void)state;
    struct lexh *L = lex_start("f(12345678-1234-1234-1234-123456789abc)");
    expect_tok(L, TK_IDENT, "f", 1, 1);
    expect_punct(L, '(', 1, 2);
    expect_tok(L, TK_INT, "12345678", 1, 3);
    expect_punct(L, '-', 1, 11);
    expect_tok(L, TK_INT, "1234", 1, 12);
    lex_free(L);

    /* after uuid( but malformed: not a uuid token */
    L = lex_start("uuid(1234)");
    expect_tok(L, TK_IDENT, "uuid", 1, 1);
    expect_punct(L, '(', 1, 5);
    expect_tok(L, TK_INT, "1234", 1, 6);
    lex_free(L);

    /* one digit short in the last group */
    L = lex_start("uuid(12345678-1234-1234-1234-123456789ab)");
    expect_tok(L, TK_IDENT, "uuid", 1, 1);
    expect_punct(L, '(', 1, 5);
    struct token t;
    next_tok(L, &t);
    assert_int_not_equal(t.kind, TK_UUID);
    lex_free(L);

    /* one digit too many: not a uuid either */
    L = lex_start("uuid(12345678-1234-1234-1234-123456789abcd)");
    expect_tok(L, TK_IDENT, "uuid", 1, 1);
    expect_punct(L, '(', 1, 5);
    next_tok(L, &t);
    assert_int_not_equal(t.kind, TK_UUID);
    lex_free(L);
}

/* A uuid that starts with letters is a uuid too, not an identifier. */
static void uuid_starting_with_letters(void **state)
{
    (void)state;
    struct lexh *L = lex_start("uuid(abcdef01-abcd-abcd-abcd-abcdefabcdef)");
    expect_tok(L, TK_IDENT, "uuid", 1, 1);
    expect_punct(L, '(', 1, 5);
    struct token t;
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_UUID);
    assert_int_equal(t.uuid[0], 0xab);
    assert_int_equal(t.uuid[15], 0xef);
    expect_punct(L, ')', 1, 42);
    assert_no_diags(L);
    lex_free(L);
}

static void uuid_parse_and_format(void **state)
{
    (void)state;
    uint8_t u[16];
    assert_true(idl_uuid_parse("00000000-0000-0000-C000-000000000046", 36, u));
    char buf[37];
    idl_uuid_format(u, buf);
    assert_string_equal(buf, "00000000-0000-0000-c000-000000000046");
    assert_false(idl_uuid_parse("00000000-0000-0000-C000-00000000004", 35, u));
    assert_false(idl_uuid_parse("00000000+0000-0000-C000-000000000046", 36, u));
    assert_false(idl_uuid_parse("0000000g-0000-0000-C000-000000000046", 36, u));
}

/* ---- preprocessor line markers ---- */

static void line_markers(void **state)
{
    (void)state;
    struct lexh *L = lex_start("a\n"
                               "# 12 \"other.idl\" 1\n"
                               "b\n"
                               "  c\n"
                               "#line 40 \"third.idl\"\n"
                               "d\n"
                               "# 7\n"
                               "e\n");
    struct token t;
    next_tok(L, &t);
    assert_string_equal(t.loc.file, "lex.idl");
    assert_int_equal(t.loc.line, 1);
    next_tok(L, &t);
    assert_memory_equal(t.text, "b", 1);
    assert_string_equal(t.loc.file, "other.idl");
    assert_int_equal(t.loc.line, 12);
    assert_int_equal(t.loc.col, 1);
    next_tok(L, &t);
    assert_string_equal(t.loc.file, "other.idl");
    assert_int_equal(t.loc.line, 13);
    assert_int_equal(t.loc.col, 3);
    next_tok(L, &t);
    assert_memory_equal(t.text, "d", 1);
    assert_string_equal(t.loc.file, "third.idl");
    assert_int_equal(t.loc.line, 40);
    /* a marker without a file name changes only the line */
    next_tok(L, &t);
    assert_memory_equal(t.text, "e", 1);
    assert_string_equal(t.loc.file, "third.idl");
    assert_int_equal(t.loc.line, 7);
    expect_eof(L);
    assert_no_diags(L);
    /* the files named by markers are dependencies */
    bool other = false, third = false;
    for (size_t i = 0; i < L->c.deps.len; i++) {
        other |= strcmp(L->c.deps.items[i], "other.idl") == 0;
        third |= strcmp(L->c.deps.items[i], "third.idl") == 0;
    }
    assert_true(other);
    assert_true(third);
    lex_free(L);
}

/* Locations in one file share one interned name. */
static void line_marker_file_interned(void **state)
{
    (void)state;
    struct lexh *L = lex_start("# 1 \"o.idl\"\na\n# 5 \"o.idl\"\nb\n");
    struct token a, b;
    next_tok(L, &a);
    next_tok(L, &b);
    assert_string_equal(a.loc.file, "o.idl");
    assert_ptr_equal(a.loc.file, b.loc.file);
    assert_int_equal(b.loc.line, 5);
    lex_free(L);
}

/* System headers (flag 3) and <built-in> are not dependencies, but still locate tokens. */
static void line_markers_system_and_builtin(void **state)
{
    (void)state;
    struct lexh *L = lex_start("# 1 \"<built-in>\"\nx\n# 3 \"/usr/include/sys.h\" 1 3 4\ny\n");
    struct token t;
    next_tok(L, &t);
    assert_string_equal(t.loc.file, "<built-in>");
    assert_int_equal(t.loc.line, 1);
    next_tok(L, &t);
    assert_string_equal(t.loc.file, "/usr/include/sys.h");
    assert_int_equal(t.loc.line, 3);
    for (size_t i = 0; i < L->c.deps.len; i++) {
        assert_string_not_equal(L->c.deps.items[i], "<built-in>");
        assert_string_not_equal(L->c.deps.items[i], "/usr/include/sys.h");
    }
    assert_no_diags(L);
    lex_free(L);
}

/* Other directives (#pragma) are skipped to the end of their line; '#' elsewhere is stray. */
static void other_directives_and_stray_hash(void **state)
{
    (void)state;
    struct lexh *L = lex_start("#pragma pack(1)\n  # pragma once\na # b\n");
    expect_tok(L, TK_IDENT, "a", 3, 1);
    expect_tok(L, TK_IDENT, "b", 3, 5);
    expect_eof(L);
    assert_lex_error(L, "stray '#' in program", 3, 3);
    assert_int_equal(L->c.errors, 1);
    lex_free(L);
}

/* ---- comments (only when the input was not preprocessed) ---- */

static void comments(void **state)
{
    (void)state;
    struct lexh *L = lex_start("a /* one */ b // to the end\n"
                               "/* several\n"
                               "   lines */ c /**/d\n"
                               "e//x\n"
                               "/* ends the file */");
    expect_tok(L, TK_IDENT, "a", 1, 1);
    expect_tok(L, TK_IDENT, "b", 1, 13);
    expect_tok(L, TK_IDENT, "c", 3, 13);
    expect_tok(L, TK_IDENT, "d", 3, 19);
    expect_tok(L, TK_IDENT, "e", 4, 1);
    expect_eof(L);
    assert_no_diags(L);
    lex_free(L);
}

/* A '#' after a comment on the same line is not a directive. */
static void comment_then_hash_is_not_directive(void **state)
{
    (void)state;
    struct lexh *L = lex_start("/* c\n*/ # 5 \"x.idl\"\nz");
    struct token t;
    next_tok(L, &t);
    /* the '#' is stray; the marker does not take effect */
    assert_lex_error(L, "stray '#' in program", 2, 4);
    lex_free(L);
}

static void unterminated_comment(void **state)
{
    (void)state;
    struct lexh *L = lex_start("a\n  /* never\nclosed\n");
    expect_tok(L, TK_IDENT, "a", 1, 1);
    expect_eof(L);
    assert_lex_error(L, "unterminated comment", 2, 3);
    assert_int_equal(L->c.errors, 1);
    lex_free(L);
}

/* ---- stray characters ---- */

static void stray_characters(void **state)
{
    (void)state;
    struct lexh *L = lex_start("a @ b\n`\x01 c\\d");
    expect_tok(L, TK_IDENT, "a", 1, 1);
    /* the stray character is reported and skipped */
    expect_tok(L, TK_IDENT, "b", 1, 5);
    expect_tok(L, TK_IDENT, "c", 2, 4);
    expect_tok(L, TK_IDENT, "d", 2, 6);
    expect_eof(L);
    assert_lex_error(L, "stray '@' in program", 1, 3);
    assert_lex_error(L, "stray '`' in program", 2, 1);
    assert_lex_error(L, "stray byte 0x01 in program", 2, 2);
    assert_lex_error(L, "stray '\\' in program", 2, 5);
    assert_int_equal(L->c.errors, 4);
    lex_free(L);
}

/* Stray bytes may fill a whole file; the lexer reports them and reaches the end. */
static void many_stray_characters(void **state)
{
    (void)state;
    size_t n = 5000;
    char *text = malloc(n + 3);
    memset(text, '@', n);
    memcpy(text + n, " z", 3);
    struct lexh *L = lex_start(text);
    expect_tok(L, TK_IDENT, "z", 1, (int)n + 2);
    expect_eof(L);
    /* the error limit stops the reports */
    assert_true(L->c.too_many_errors);
    assert_int_equal(L->c.errors, IDL_MAX_ERRORS + 1);
    lex_free(L);
    free(text);
}

/* A NUL byte inside the text is a stray byte, not the end. */
static void nul_byte_is_stray(void **state)
{
    (void)state;
    static const char text[] = "a\0b";
    struct lexh *L = calloc(1, sizeof(*L));
    idl_compiler_init(&L->c);
    L->c.diag = lex_collect;
    L->c.diag_user = L;
    lexer_init(&L->lx, &L->c, "lex.idl", text, 3, false);
    expect_tok(L, TK_IDENT, "a", 1, 1);
    expect_tok(L, TK_IDENT, "b", 1, 3);
    expect_eof(L);
    assert_lex_error(L, "stray byte 0x00 in program", 1, 2);
    lex_free(L);
}

/* The lexer reads only len bytes, not up to a terminator. */
static void respects_length(void **state)
{
    (void)state;
    static const char text[] = "abc def";
    struct lexh *L = calloc(1, sizeof(*L));
    idl_compiler_init(&L->c);
    L->c.diag = lex_collect;
    L->c.diag_user = L;
    lexer_init(&L->lx, &L->c, "lex.idl", text, 5, false);
    expect_tok(L, TK_IDENT, "abc", 1, 1);
    expect_tok(L, TK_IDENT, "d", 1, 5);
    expect_eof(L);
    assert_no_diags(L);
    lex_free(L);
}

/* ---- known bugs: these document the correct behaviour and fail until the lexer is fixed ---- */

/* Was a bug, kept fixed: '\0' is a valid character constant (value 0) but is rejected as "must hold one character",
 * because the check measures the unescaped text with strlen. */
static void bug_char_literal_nul(void **state)
{
    (void)state;
    struct lexh *L = lex_start("'\\0' '\\000'");
    struct token t;
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_CHAR);
    assert_int_equal(t.ival, 0);
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_CHAR);
    assert_int_equal(t.ival, 0);
    assert_no_diags(L);
    lex_free(L);
}

/* Was a bug, kept fixed: "0x" with no digits reports "invalid digit 'x' in octal constant"; the branch meant for it
 * ("hexadecimal constant has no digits") is unreachable because the octal branch is tested first. */
static void bug_hex_without_digits(void **state)
{
    (void)state;
    struct lexh *L = lex_start("  0x;");
    struct token t;
    next_tok(L, &t);
    assert_int_equal(t.kind, TK_INT);
    assert_lex_error(L, "hexadecimal constant has no digits", 1, 3);
    assert_null(lex_find(L, "octal"));
    lex_free(L);
}

/* Was a bug, kept fixed: an unterminated string literal comes back as a TK_EOF token, so the parser stops reading the
 * file there (see test_idl_parser's bug_unterminated_string_drops_rest). It should be a TK_STRING
 * (or some non-EOF token) with the error reported. */
static void bug_unterminated_string_token_is_eof(void **state)
{
    (void)state;
    struct lexh *L = lex_start("\"abc\nx");
    struct token t;
    next_tok(L, &t);
    assert_int_not_equal(t.kind, TK_EOF);
    assert_lex_error(L, "missing terminating \" character", 1, 1);
    lex_free(L);
}

/* Was a bug, kept fixed: lexer_next calls itself once per stray byte, so a file of many stray bytes overflows the stack
 * (100,000 '@' crash an unoptimised build with an 8 MiB stack). It should loop. */
static void bug_stray_characters_recursion(void **state)
{
    (void)state;
    size_t n = 2000000;
    char *text = malloc(n + 3);
    memset(text, '@', n);
    memcpy(text + n, " z", 3);
    struct lexh *L = lex_start(text);
    expect_tok(L, TK_IDENT, "z", 1, (int)n + 2);
    lex_free(L);
    free(text);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identifiers),
        cmocka_unit_test(eof_is_sticky_and_located),
        cmocka_unit_test(empty_input),
        cmocka_unit_test(whitespace_and_line_endings),
        cmocka_unit_test(backslash_newline_continues_line),
        cmocka_unit_test(integer_literals),
        cmocka_unit_test(integer_overflow),
        cmocka_unit_test(integer_bad_suffix),
        cmocka_unit_test(octal_bad_digit),
        cmocka_unit_test(float_literals),
        cmocka_unit_test(float_bad_suffix),
        cmocka_unit_test(dot_is_punct),
        cmocka_unit_test(string_literals),
        cmocka_unit_test(wide_strings),
        cmocka_unit_test(unescape),
        cmocka_unit_test(char_literals),
        cmocka_unit_test(char_literal_errors),
        cmocka_unit_test(wide_char_utf8),
        cmocka_unit_test(unterminated_string),
        cmocka_unit_test(unterminated_char),
        cmocka_unit_test(operators),
        cmocka_unit_test(operators_adjacent),
        cmocka_unit_test(uuid_after_uuid_paren),
        cmocka_unit_test(uuid_only_after_uuid_paren),
        cmocka_unit_test(uuid_starting_with_letters),
        cmocka_unit_test(uuid_parse_and_format),
        cmocka_unit_test(line_markers),
        cmocka_unit_test(line_marker_file_interned),
        cmocka_unit_test(line_markers_system_and_builtin),
        cmocka_unit_test(other_directives_and_stray_hash),
        cmocka_unit_test(comments),
        cmocka_unit_test(comment_then_hash_is_not_directive),
        cmocka_unit_test(unterminated_comment),
        cmocka_unit_test(stray_characters),
        cmocka_unit_test(many_stray_characters),
        cmocka_unit_test(nul_byte_is_stray),
        cmocka_unit_test(respects_length),
        /* fixed bugs, kept so they stay fixed */
        cmocka_unit_test(bug_char_literal_nul),
        cmocka_unit_test(bug_hex_without_digits),
        cmocka_unit_test(bug_unterminated_string_token_is_eof),
        cmocka_unit_test(bug_stray_characters_recursion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
