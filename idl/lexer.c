/* lexer.c: turns preprocessed IDL into tokens, following cpp's line markers back to the user's files. */
#include "lexer.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * cpp collapses runs of blanks, so a column counted in its output can drift
 * from the user's file. The lexer keeps the original files' lines and looks
 * each token up on its line, left to right, to report the column the user
 * sees; a token made by macro expansion keeps the column cpp gave it.
 */
struct srcfile {
    const char *name;
    char *text;
    size_t len;
    const char **lines; /* lines[i] starts line i+1 */
    size_t nlines;
    struct srcfile *next;
};

struct srcmap {
    struct srcfile *files;
};

static struct srcfile *srcmap_get(struct lexer *lx, const char *name)
{
    if (!lx->map)
        return NULL;
    for (struct srcfile *f = lx->map->files; f; f = f->next)
        if (f->name == name)
            return f->text ? f : NULL;
    struct idl_arena *a = lx->c->arena;
    struct srcfile *f = idl_alloc(a, sizeof(*f));
    f->name = name;
    f->next = lx->map->files;
    lx->map->files = f;
    FILE *fp = fopen(name, "rb");
    if (!fp)
        return NULL;
    char chunk[65536];
    size_t n, cap = 0;
    char *text = NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if (f->len + n + 1 > cap) {
            size_t ncap = (f->len + n + 1) * 2;
            char *t = idl_alloc(a, ncap);
            if (f->len)
                memcpy(t, text, f->len);
            text = t;
            cap = ncap;
        }
        memcpy(text + f->len, chunk, n);
        f->len += n;
    }
    fclose(fp);
    if (!text)
        return NULL;
    text[f->len] = '\0';
    f->text = text;
    size_t count = 1;
    for (size_t i = 0; i < f->len; i++)
        count += text[i] == '\n';
    f->lines = idl_alloc(a, count * sizeof(*f->lines));
    f->lines[f->nlines++] = text;
    for (size_t i = 0; i < f->len; i++)
        if (text[i] == '\n')
            f->lines[f->nlines++] = text + i + 1;
    return f;
}

static int mapped_column(struct lexer *lx, const char *tok, size_t len, int pp_col)
{
    struct srcfile *f = srcmap_get(lx, lx->file);
    if (!f || lx->line < 1 || (size_t)lx->line > f->nlines)
        return pp_col;
    if (lx->map_file != lx->file || lx->map_line != lx->line) {
        lx->map_file = lx->file;
        lx->map_line = lx->line;
        lx->map_cursor = 0;
    }
    const char *line = f->lines[lx->line - 1];
    const char *eol = memchr(line, '\n', (size_t)(f->text + f->len - line));
    size_t linelen = eol ? (size_t)(eol - line) : (size_t)(f->text + f->len - line);
    for (size_t i = lx->map_cursor; i + len <= linelen; i++) {
        if (memcmp(line + i, tok, len) == 0) {
            lx->map_cursor = i + len;
            return (int)i + 1;
        }
    }
    return pp_col;
}

const char *lexer_intern_file(struct idl_compiler *c, const char *name, size_t n)
{
    for (size_t i = 0; i < c->deps.len; i++) {
        const char *d = c->deps.items[i];
        if (strlen(d) == n && memcmp(d, name, n) == 0)
            return d;
    }
    /* Not a dependency (e.g. <built-in>): keep its own copy. */
    return idl_strndup(c->arena, name, n);
}

void lexer_add_dep(struct idl_compiler *c, const char *name, size_t n)
{
    for (size_t i = 0; i < c->deps.len; i++) {
        const char *d = c->deps.items[i];
        if (strlen(d) == n && memcmp(d, name, n) == 0)
            return;
    }
    idl_vec_push(c->arena, &c->deps, lexer_unescape(c->arena, name, n));
}

void lexer_init(struct lexer *lx, struct idl_compiler *c, const char *name, const char *text, size_t len,
                bool map_columns)
{
    memset(lx, 0, sizeof(*lx));
    lx->c = c;
    lx->buf = lx->p = text;
    lx->end = text + len;
    lx->file = lexer_intern_file(c, name, strlen(name));
    lx->line = 1;
    lx->line_start = text;
    lx->at_line_start = true;
    if (map_columns)
        lx->map = idl_alloc(c->arena, sizeof(*lx->map));
}

static struct idl_loc here(struct lexer *lx, const char *p)
{
    return (struct idl_loc){lx->file, lx->line, (int)(p - lx->line_start) + 1};
}

static void newline(struct lexer *lx)
{
    lx->line++;
    lx->line_start = lx->p;
    lx->at_line_start = true;
}

/* "# 12 "file" 1 3" or "#line 12 "file"": switch the current location. Other directives are skipped. */
static void directive(struct lexer *lx)
{
    const char *p = lx->p + 1;
    while (p < lx->end && (*p == ' ' || *p == '\t'))
        p++;
    if (lx->end - p >= 4 && memcmp(p, "line", 4) == 0)
        p += 4;
    while (p < lx->end && (*p == ' ' || *p == '\t'))
        p++;
    if (p < lx->end && isdigit((unsigned char)*p)) {
        long line = 0;
        while (p < lx->end && isdigit((unsigned char)*p)) {
            if (line < 100000000)
                line = line * 10 + (*p - '0');
            p++;
        }
        while (p < lx->end && (*p == ' ' || *p == '\t'))
            p++;
        const char *name = NULL;
        size_t n = 0;
        if (p < lx->end && *p == '"') {
            name = ++p;
            while (p < lx->end && *p != '"' && *p != '\n') {
                if (*p == '\\' && p + 1 < lx->end && p[1] != '\n')
                    p++;
                p++;
            }
            n = (size_t)(p - name);
            if (p < lx->end)
                p++;
        }
        bool system_header = false;
        while (p < lx->end && *p != '\n') {
            if (*p == '3')
                system_header = true;
            p++;
        }
        if (name && n > 0 && name[0] != '<' && !system_header)
            lexer_add_dep(lx->c, name, n);
        /* skip to end of line, then the next line is `line` */
        while (lx->p < lx->end && *lx->p != '\n')
            lx->p++;
        if (lx->p < lx->end)
            lx->p++;
        if (name)
            lx->file = lexer_intern_file(lx->c, name, n);
        lx->line = (int)line;
        lx->line_start = lx->p;
        lx->at_line_start = true;
        return;
    }
    /* #pragma and anything else cpp leaves: ignored, up to the end of the line */
    while (lx->p < lx->end && *lx->p != '\n')
        lx->p++;
}

static void skip_space(struct lexer *lx)
{
    while (lx->p < lx->end) {
        char ch = *lx->p;
        if (ch == '\n') {
            lx->p++;
            newline(lx);
        } else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v') {
            lx->p++;
        } else if (ch == '#' && lx->at_line_start) {
            directive(lx);
        } else if (ch == '/' && lx->p + 1 < lx->end && lx->p[1] == '*') {
            /* comments survive only when the input was not preprocessed */
            struct idl_loc loc = here(lx, lx->p);
            lx->p += 2;
            for (;;) {
                if (lx->p >= lx->end) {
                    idl_error(lx->c, loc, "unterminated comment");
                    break;
                }
                if (*lx->p == '*' && lx->p + 1 < lx->end && lx->p[1] == '/') {
                    lx->p += 2;
                    break;
                }
                if (*lx->p++ == '\n') {
                    newline(lx);
                    lx->at_line_start = false;
                }
            }
        } else if (ch == '/' && lx->p + 1 < lx->end && lx->p[1] == '/') {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
        } else if (ch == '\\' && lx->p + 1 < lx->end && lx->p[1] == '\n') {
            lx->p += 2;
            lx->line++;
            lx->line_start = lx->p;
        } else {
            return;
        }
    }
}

static bool is_ident_start(char ch)
{
    return isalpha((unsigned char)ch) || ch == '_' || ch == '$';
}

static bool is_ident_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '$';
}

/* A bare uuid is 8-4-4-4-12 hex digits not followed by more of an identifier or number. */
static size_t match_uuid(const char *p, const char *end)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    const char *q = p;
    for (int g = 0; g < 5; g++) {
        if (g > 0) {
            if (q >= end || *q != '-')
                return 0;
            q++;
        }
        for (int k = 0; k < groups[g]; k++, q++)
            if (q >= end || !isxdigit((unsigned char)*q))
                return 0;
    }
    if (q < end && (is_ident_char(*q) || *q == '-' || *q == '.'))
        return 0;
    return (size_t)(q - p);
}

static bool after_uuid_paren(struct lexer *lx)
{
    return lx->prev1.kind == TK_PUNCT && lx->prev1.punct == '(' && lx->prev2.kind == TK_IDENT &&
           ((lx->prev2.len == 4 && memcmp(lx->prev2.text, "uuid", 4) == 0) ||
            (lx->prev2.len == 10 && memcmp(lx->prev2.text, "async_uuid", 10) == 0) ||
            (lx->prev2.len == 6 && memcmp(lx->prev2.text, "custom", 6) == 0));
}

static void lex_number(struct lexer *lx, struct token *t)
{
    const char *s = lx->p, *p = s;
    bool is_float = false;
    if (p + 1 < lx->end && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        while (p < lx->end && isxdigit((unsigned char)*p))
            p++;
    } else {
        while (p < lx->end && isdigit((unsigned char)*p))
            p++;
        if (p < lx->end && *p == '.') {
            is_float = true;
            p++;
            while (p < lx->end && isdigit((unsigned char)*p))
                p++;
        }
        if (p < lx->end && (*p == 'e' || *p == 'E')) {
            const char *q = p + 1;
            if (q < lx->end && (*q == '+' || *q == '-'))
                q++;
            if (q < lx->end && isdigit((unsigned char)*q)) {
                is_float = true;
                p = q;
                while (p < lx->end && isdigit((unsigned char)*p))
                    p++;
            }
        }
    }
    const char *digits_end = p;
    /* suffixes */
    while (p < lx->end && is_ident_char(*p))
        p++;
    t->text = s;
    t->len = (size_t)(p - s);
    lx->p = p;
    char suffix[8] = {0};
    size_t slen = (size_t)(p - digits_end);
    if (slen >= sizeof(suffix)) {
        idl_error(lx->c, t->loc, "invalid suffix on numeric constant '%.*s'", (int)t->len, t->text);
        slen = 0;
    }
    for (size_t i = 0; i < slen; i++)
        suffix[i] = (char)tolower((unsigned char)digits_end[i]);
    if (is_float) {
        t->kind = TK_FLOAT;
        char tmp[128];
        size_t n = (size_t)(digits_end - s);
        if (n >= sizeof(tmp))
            n = sizeof(tmp) - 1;
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        t->fval = strtod(tmp, NULL);
        if (slen && strcmp(suffix, "f") != 0 && strcmp(suffix, "l") != 0)
            idl_error(lx->c, t->loc, "invalid suffix '%s' on floating constant", suffix);
        return;
    }
    t->kind = TK_INT;
    if (slen && strcmp(suffix, "u") != 0 && strcmp(suffix, "l") != 0 && strcmp(suffix, "ul") != 0 &&
        strcmp(suffix, "lu") != 0 && strcmp(suffix, "ll") != 0 && strcmp(suffix, "ull") != 0 &&
        strcmp(suffix, "llu") != 0) {
        idl_error(lx->c, t->loc, "invalid suffix '%s' on integer constant", suffix);
    }
    t->is_unsigned = strchr(suffix, 'u') != NULL;
    unsigned base = 10;
    const char *d = s;
    if (digits_end - s == 2 && (s[1] == 'x' || s[1] == 'X')) {
        idl_error(lx->c, t->loc, "hexadecimal constant has no digits");
        return;
    } else if (digits_end - s > 2 && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        d = s + 2;
    } else if (digits_end - s > 1 && s[0] == '0') {
        base = 8;
        d = s + 1;
    }
    uint64_t v = 0;
    bool overflow = false;
    for (; d < digits_end; d++) {
        unsigned dv = isdigit((unsigned char)*d) ? (unsigned)(*d - '0')
                                                 : (unsigned)(tolower((unsigned char)*d) - 'a' + 10);
        if (dv >= base) {
            idl_error(lx->c, t->loc, "invalid digit '%c' in octal constant", *d);
            break;
        }
        if (v > (UINT64_MAX - dv) / base)
            overflow = true;
        v = v * base + dv;
    }
    if (overflow)
        idl_error(lx->c, t->loc, "integer constant '%.*s' is too large", (int)t->len, t->text);
    t->ival = v;
}

static void lex_quoted(struct lexer *lx, struct token *t, char quote)
{
    const char *start = ++lx->p;
    while (lx->p < lx->end && *lx->p != quote && *lx->p != '\n') {
        if (*lx->p == '\\' && lx->p + 1 < lx->end && lx->p[1] != '\n')
            lx->p++;
        lx->p++;
    }
    t->text = start;
    t->len = (size_t)(lx->p - start);
    /* an unterminated literal still makes a token, so parsing goes on at the next line */
    t->kind = quote == '"' ? TK_STRING : TK_CHAR;
    if (lx->p >= lx->end || *lx->p != quote) {
        idl_error(lx->c, t->loc, "missing terminating %c character", quote);
        return;
    }
    lx->p++;
    if (quote == '\'') {
        size_t n;
        char *u = lexer_unescape_n(lx->c->arena, t->text, t->len, &n);
        if (t->len == 0 || n != 1) {
            /* multi-byte UTF-8 in a wide char literal is one character */
            if (!(t->wide && n > 1 && n <= 4 && (unsigned char)u[0] >= 0xc0))
                idl_error(lx->c, t->loc, "character constant must hold one character");
        }
        t->ival = (unsigned char)u[0];
    }
}

void lexer_next(struct lexer *lx, struct token *t)
{
again:
    memset(t, 0, sizeof(*t));
    skip_space(lx);
    const char *raw_start = lx->p;
    t->loc = here(lx, lx->p);
    lx->at_line_start = false;
    if (lx->p >= lx->end) {
        t->kind = TK_EOF;
        goto done;
    }
    char ch = *lx->p;
    if (after_uuid_paren(lx)) {
        size_t n = match_uuid(lx->p, lx->end);
        if (n) {
            t->kind = TK_UUID;
            t->text = lx->p;
            t->len = n;
            idl_uuid_parse(lx->p, n, t->uuid);
            lx->p += n;
            goto done;
        }
    }
    if ((ch == 'L' || ch == 'u') && lx->p + 1 < lx->end && (lx->p[1] == '"' || lx->p[1] == '\'')) {
        t->wide = true;
        lx->p++;
        lex_quoted(lx, t, *lx->p);
        goto done;
    }
    if (is_ident_start(ch)) {
        const char *s = lx->p;
        while (lx->p < lx->end && is_ident_char(*lx->p))
            lx->p++;
        t->kind = TK_IDENT;
        t->text = s;
        t->len = (size_t)(lx->p - s);
        goto done;
    }
    if (isdigit((unsigned char)ch) || (ch == '.' && lx->p + 1 < lx->end && isdigit((unsigned char)lx->p[1]))) {
        lex_number(lx, t);
        goto done;
    }
    if (ch == '"' || ch == '\'') {
        lex_quoted(lx, t, ch);
        goto done;
    }
    static const struct {
        const char *s;
        int code;
    } ops[] = {
        {"...", P_ELLIPSIS}, {"<<", P_SHL}, {">>", P_SHR},    {"==", P_EQ},  {"!=", P_NE},
        {"<=", P_LE},        {">=", P_GE},  {"&&", P_ANDAND}, {"||", P_OROR}, {"->", P_ARROW},
    };
    t->kind = TK_PUNCT;
    t->text = lx->p;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t n = strlen(ops[i].s);
        if ((size_t)(lx->end - lx->p) >= n && memcmp(lx->p, ops[i].s, n) == 0) {
            t->punct = ops[i].code;
            t->len = n;
            lx->p += n;
            goto done;
        }
    }
    if (strchr("{}()[];,:*=<>+-/%&|^~!?.", ch) && ch != '\0') {
        t->punct = ch;
        t->len = 1;
        lx->p++;
        goto done;
    }
    if (isprint((unsigned char)ch))
        idl_error(lx->c, t->loc, "stray '%c' in program", ch);
    else
        idl_error(lx->c, t->loc, "stray byte 0x%02x in program", (unsigned char)ch);
    lx->p++;
    goto again; /* a loop, not recursion: a file of stray bytes must not exhaust the stack */
done:
    if (lx->map && t->kind != TK_EOF)
        t->loc.col = mapped_column(lx, raw_start, (size_t)(lx->p - raw_start), t->loc.col);
    lx->prev2 = lx->prev1;
    lx->prev1 = *t;
}

char *lexer_unescape(struct idl_arena *a, const char *s, size_t n)
{
    size_t len;
    return lexer_unescape_n(a, s, n, &len);
}

char *lexer_unescape_n(struct idl_arena *a, const char *s, size_t n, size_t *out_len)
{
    char *out = idl_alloc(a, n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) {
            *o++ = s[i];
            continue;
        }
        char e = s[++i];
        switch (e) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'a': *o++ = '\a'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'v': *o++ = '\v'; break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
            unsigned v = 0;
            int k = 0;
            while (k < 3 && i < n && s[i] >= '0' && s[i] <= '7') {
                v = v * 8 + (unsigned)(s[i] - '0');
                i++;
                k++;
            }
            i--;
            *o++ = (char)v;
            break;
        }
        case 'x': {
            unsigned v = 0;
            while (i + 1 < n && isxdigit((unsigned char)s[i + 1])) {
                i++;
                v = (v * 16 + (unsigned)(isdigit((unsigned char)s[i]) ? s[i] - '0'
                                                                      : tolower((unsigned char)s[i]) - 'a' + 10)) & 0xff;
            }
            *o++ = (char)v;
            break;
        }
        default: *o++ = e; break;
        }
    }
    *o = '\0';
    *out_len = (size_t)(o - out);
    return out;
}
