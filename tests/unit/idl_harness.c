/* idl_harness.c: in-memory compilation with captured diagnostics for the front end's unit tests. */
#include "idl_harness.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void collect(void *user, enum idl_severity sev, struct idl_loc loc, const char *msg)
{
    struct harness *h = user;
    if (h->ndiags >= (int)(sizeof(h->diags) / sizeof(h->diags[0])))
        return;
    struct diag_record *d = &h->diags[h->ndiags++];
    d->sev = sev;
    snprintf(d->file, sizeof(d->file), "%s", loc.file ? loc.file : "");
    d->line = loc.line;
    d->col = loc.col;
    snprintf(d->msg, sizeof(d->msg), "%s", msg);
}

static char *read_disk(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

static struct harness *current;

static char *load(struct idl_compiler *c, const char *path, size_t *len)
{
    (void)c;
    struct harness *h = current;
    for (int i = 0; i < h->nfiles; i++) {
        if (strcmp(h->names[i], path) == 0) {
            *len = strlen(h->texts[i]);
            char *copy = malloc(*len + 1);
            memcpy(copy, h->texts[i], *len + 1);
            return copy;
        }
    }
    if (strcmp(path, "pcom.idl") == 0) {
        char full[4096];
        snprintf(full, sizeof(full), "%s/pcom.idl", idl_std_dir());
        return read_disk(full, len);
    }
    return NULL;
}

void harness_add_file(struct harness *h, const char *name, const char *text)
{
    h->names[h->nfiles] = name;
    h->texts[h->nfiles] = text;
    h->nfiles++;
}

int harness_compile(struct harness *h, const char *text)
{
    idl_compiler_init(&h->c);
    h->c.diag = collect;
    h->c.diag_user = h;
    h->c.opts.no_cpp = true;
    h->c.load = load;
    current = h;
    harness_add_file(h, "test.idl", text);
    return idl_compile_file(&h->c, "test.idl");
}

void harness_free(struct harness *h)
{
    idl_compiler_fini(&h->c);
}

const struct diag_record *harness_find(const struct harness *h, enum idl_severity sev, const char *needle)
{
    for (int i = 0; i < h->ndiags; i++)
        if (h->diags[i].sev == sev && strstr(h->diags[i].msg, needle))
            return &h->diags[i];
    return NULL;
}

void harness_dump(const struct harness *h)
{
    static const char *const names[] = {"note", "warning", "error"};
    for (int i = 0; i < h->ndiags; i++)
        fprintf(stderr, "  %s:%d:%d: %s: %s\n", h->diags[i].file, h->diags[i].line, h->diags[i].col,
                names[h->diags[i].sev], h->diags[i].msg);
}
