/* frontend.c: a compilation: running the C preprocessor, finding and parsing imports, then the checks. */
#include "lexer.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PCOMIDL_STD_DIR
#define PCOMIDL_STD_DIR "/usr/share/pcom/idl"
#endif

/* A preprocessed file larger than this is refused rather than read into memory. */
#define MAX_PREPROCESSED (256u << 20)

extern char **environ;

void idl_compiler_init(struct idl_compiler *c)
{
    memset(c, 0, sizeof(*c));
    c->arena = idl_arena_new();
    c->diag = idl_diag_stderr;
    c->opts.cpp = "cpp";
    c->types = idl_symtab_new(c->arena);
    c->tags = idl_symtab_new(c->arena);
    c->values = idl_symtab_new(c->arena);
}

void idl_compiler_fini(struct idl_compiler *c)
{
    idl_arena_free(c->arena);
    memset(c, 0, sizeof(*c));
}

const char *idl_std_dir(void)
{
    const char *env = getenv("PCOMIDL_STD_DIR");
    return env && *env ? env : PCOMIDL_STD_DIR;
}

/* Run the preprocessor on path; returns its output (malloc'd) or NULL after reporting why. */
static char *preprocess(struct idl_compiler *c, const char *path, size_t *len, struct idl_loc loc)
{
    struct idl_vec argv = {0};
    struct idl_arena *a = c->arena;
    idl_vec_push(a, &argv, (void *)c->opts.cpp);
    idl_vec_push(a, &argv, "-E");
    idl_vec_push(a, &argv, "-x");
    idl_vec_push(a, &argv, "c");
    idl_vec_push(a, &argv, "-D__midl=501");
    idl_vec_push(a, &argv, "-D__PCOMIDL__=1");
    for (size_t i = 0; i < c->opts.cpp_args.len; i++)
        idl_vec_push(a, &argv, c->opts.cpp_args.items[i]);
    for (size_t i = 0; i < c->opts.include_dirs.len; i++)
        idl_vec_push(a, &argv, idl_printf(a, "-I%s", (const char *)c->opts.include_dirs.items[i]));
    idl_vec_push(a, &argv, idl_printf(a, "-I%s", idl_std_dir()));
    /* cpp takes no "--": a path that looks like an option is made relative */
    idl_vec_push(a, &argv, path[0] == '-' ? idl_printf(a, "./%s", path) : (void *)path);
    idl_vec_push(a, &argv, NULL);

    int fds[2];
    if (pipe(fds) < 0) {
        idl_error(c, loc, "cannot create pipe for preprocessor: %s", strerror(errno));
        return NULL;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    pid_t pid;
    int rc = posix_spawnp(&pid, c->opts.cpp, &fa, NULL, (char *const *)argv.items, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        idl_error(c, loc, "cannot run preprocessor '%s': %s", c->opts.cpp, strerror(rc));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    bool too_big = false;
    for (;;) {
        if (!buf) {
            fputs("pcomidl: out of memory\n", stderr);
            abort();
        }
        if (n + 1 == cap) {
            if (cap >= MAX_PREPROCESSED) {
                too_big = true;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                free(buf);
            buf = nb;
            cap *= 2;
            continue;
        }
        ssize_t r = read(fds[0], buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fds[0]);
    if (too_big)
        kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (too_big) {
        idl_error(c, loc, "preprocessed '%s' is larger than %u MiB", path, MAX_PREPROCESSED >> 20);
        free(buf);
        return NULL;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        idl_error(c, loc, "preprocessing '%s' failed", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static char *load_file(struct idl_compiler *c, const char *path, size_t *len, struct idl_loc loc)
{
    if (c->load)
        return c->load(c, path, len);
    return preprocess(c, path, len, loc);
}

static struct idl_file *add_file(struct idl_compiler *c, const char *path, const char *import_name)
{
    struct idl_file *f = idl_alloc(c->arena, sizeof(*f));
    f->path = idl_strdup(c->arena, path);
    f->import_name = import_name;
    f->imported = import_name != NULL;
    idl_vec_push(c->arena, &c->files, f);
    return f;
}

static void parse_text(struct idl_compiler *c, struct idl_file *f, char *text, size_t len)
{
    idl_vec_push(c->arena, &c->import_stack, (void *)f->path);
    idl_parse(c, f, text, len);
    c->import_stack.len--;
    /* finished after everything it imports: the order in which the checks visit files */
    idl_vec_push(c->arena, &c->parsed, f);
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Search the importing file's folder, then -I folders, then the standard IDL folder. */
static char *resolve_import(struct idl_compiler *c, const char *name)
{
    struct idl_arena *a = c->arena;
    if (name[0] == '/')
        return file_exists(name) ? idl_strdup(a, name) : NULL;
    if (c->import_stack.len) {
        const char *importer = c->import_stack.items[c->import_stack.len - 1];
        const char *slash = strrchr(importer, '/');
        char *cand = slash ? idl_printf(a, "%.*s/%s", (int)(slash - importer), importer, name)
                           : idl_strdup(a, name);
        if (file_exists(cand))
            return cand;
    }
    for (size_t i = 0; i < c->opts.include_dirs.len; i++) {
        char *cand = idl_printf(a, "%s/%s", (const char *)c->opts.include_dirs.items[i], name);
        if (file_exists(cand))
            return cand;
    }
    char *cand = idl_printf(a, "%s/%s", idl_std_dir(), name);
    return file_exists(cand) ? cand : NULL;
}

static const char *canonical(struct idl_compiler *c, const char *path)
{
    char buf[PATH_MAX];
    return realpath(path, buf) ? idl_strdup(c->arena, buf) : path;
}

void idl_import(struct idl_compiler *c, const char *name, struct idl_loc loc)
{
    const char *path;
    if (c->load) {
        path = name; /* the hook resolves names itself */
    } else {
        char *found = resolve_import(c, name);
        if (!found) {
            idl_error(c, loc, "cannot find imported file '%s'", name);
            return;
        }
        path = found;
    }
    const char *key = c->load ? path : canonical(c, path);
    for (size_t i = 0; i < c->files.len; i++) {
        struct idl_file *f = c->files.items[i];
        const char *fkey = c->load ? f->path : canonical(c, f->path);
        if (strcmp(fkey, key) == 0)
            return; /* already read, or being read: an import cycle is harmless */
    }
    size_t len = 0;
    char *text = load_file(c, path, &len, loc);
    if (!text) {
        if (c->load)
            idl_error(c, loc, "cannot find imported file '%s'", name);
        return;
    }
    if (c->load)
        lexer_add_dep(c, path, strlen(path));
    struct idl_file *f = add_file(c, path, idl_strdup(c->arena, name));
    parse_text(c, f, text, len);
    free(text);
}

int idl_compile_file(struct idl_compiler *c, const char *path)
{
    struct idl_loc none = {0};
    if (!c->load && !file_exists(path)) {
        idl_error(c, none, "cannot open '%s': %s", path, strerror(errno ? errno : ENOENT));
        return c->errors;
    }
    size_t len = 0;
    char *text = load_file(c, path, &len, none);
    if (!text) {
        if (c->load)
            idl_error(c, none, "cannot open '%s'", path);
        return c->errors;
    }
    if (c->load)
        lexer_add_dep(c, path, strlen(path));
    struct idl_file *f = add_file(c, path, NULL);
    parse_text(c, f, text, len);
    free(text);
    if (!c->too_many_errors)
        idl_check(c);
    return c->errors;
}

int idl_compile_buffer(struct idl_compiler *c, const char *name, const char *text, size_t len)
{
    struct idl_file *f = add_file(c, name, NULL);
    /* the lexer needs no terminator, but it is given a private copy it may read past the end of */
    char *copy = malloc(len + 1);
    if (!copy) {
        fputs("pcomidl: out of memory\n", stderr);
        abort();
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    parse_text(c, f, copy, len);
    free(copy);
    if (!c->too_many_errors)
        idl_check(c);
    return c->errors;
}
