/* fuzz_idl.c: libFuzzer target for the whole front end and the header, GUID and proxy/stub back ends. */
#include "codegen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void discard(void *user, enum idl_severity sev, struct idl_loc loc, const char *msg)
{
    (void)user;
    (void)sev;
    (void)loc;
    (void)msg;
}

static char *std_text;
static size_t std_len;

/* Imports find only the standard file, read once; anything else is "not found". */
static char *load(struct idl_compiler *c, const char *path, size_t *len)
{
    (void)c;
    if (strcmp(path, "pcom.idl") != 0 || !std_text)
        return NULL;
    char *copy = malloc(std_len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, std_text, std_len + 1);
    *len = std_len;
    return copy;
}

static void load_std(void)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/pcom.idl", idl_std_dir());
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    std_text = malloc((size_t)n + 1);
    if (std_text && fread(std_text, 1, (size_t)n, f) == (size_t)n) {
        std_text[n] = '\0';
        std_len = (size_t)n;
    } else {
        free(std_text);
        std_text = NULL;
    }
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!std_text)
        load_std();
    struct idl_compiler c;
    idl_compiler_init(&c);
    c.diag = discard;
    c.opts.no_cpp = true;
    c.load = load;
    idl_compile_buffer(&c, "fuzz.idl", (const char *)data, size);
    if (c.errors == 0) {
        struct gen_ctx g = {.c = &c, .idl_name = "fuzz.idl", .header_name = "fuzz.h"};
        struct sbuf h = {0}, i = {0}, d = {0}, px = {0};
        gen_header(&g, &h);
        gen_iid(&g, &i);
        gen_proxy(&g, &px);
        const char *targets[] = {"fuzz.h", "fuzz_i.c"};
        gen_depfile(&g, &d, targets, 2);
        sb_free(&h);
        sb_free(&i);
        sb_free(&d);
        sb_free(&px);
    }
    idl_compiler_fini(&c);
    return 0;
}
