/* main.c: the pcomidl command line: options, the compilation, and writing every output or none. */
#include "codegen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_IDL_ERRORS = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "usage: pcomidl [options] file.idl\n"
    "\n"
    "Compile MIDL-compatible IDL into the C binding: file.h (types, vtables, call macros),\n"
    "file_i.c (GUID definitions) and file_p.c (proxy/stub tables for the runtime).\n"
    "\n"
    "options:\n"
    "  -I DIR            add DIR to the import and #include search path\n"
    "  -D NAME[=VALUE]   define a preprocessor macro\n"
    "  -U NAME           undefine a preprocessor macro\n"
    "  -o DIR            write outputs into DIR (default: the current directory)\n"
    "  --header FILE     write the header to FILE (default: DIR/file.h)\n"
    "  --iid FILE        write the GUID definitions to FILE (default: DIR/file_i.c)\n"
    "  --proxy FILE      write the proxy/stub tables to FILE (default: DIR/file_p.c)\n"
    "  --depfile FILE    write a make-style dependency file to FILE\n"
    "  -M                write the dependency file to DIR/file.d\n"
    "  --cpp PROG        preprocessor to run (default: cpp)\n"
    "  --no-cpp          the input is already preprocessed\n"
    "  -Werror           treat warnings as errors\n"
    "  --help            print this help and exit\n"
    "  --version         print the version and exit\n"
    "\n"
    "Exit status: 0 on success, 1 on errors in the IDL, 2 on usage or I/O errors.\n";

struct cli {
    const char *input, *outdir, *header, *iid, *proxy, *depfile;
    bool depfile_default, werror;
};

static int usage_error(const char *fmt, const char *arg)
{
    fputs("pcomidl: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'pcomidl --help'.\n", stderr);
    return EXIT_USAGE;
}

/* Option with a value, as "-I dir", "-Idir", "--header file" or "--header=file". */
static const char *option_value(int argc, char **argv, int *i, const char *opt)
{
    const char *a = argv[*i];
    size_t n = strlen(opt);
    if (strncmp(a, opt, n) != 0)
        return NULL;
    if (a[n] == '\0') {
        if (*i + 1 >= argc)
            return "";
        return argv[++*i];
    }
    if (opt[1] == '-' && a[n] == '=')
        return a + n + 1;
    if (opt[1] != '-')
        return a + n;
    return NULL;
}

static int parse_args(int argc, char **argv, struct cli *cli, struct idl_compiler *c)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            exit(0);
        } else if (!strcmp(a, "--version")) {
            printf("pcomidl %s\n", PCOMIDL_VERSION);
            exit(0);
        } else if (!strcmp(a, "-M")) {
            cli->depfile_default = true;
        } else if (!strcmp(a, "-Werror")) {
            cli->werror = true;
        } else if (!strcmp(a, "--no-cpp")) {
            c->opts.no_cpp = true;
        } else if ((v = option_value(argc, argv, &i, "-I"))) {
            if (!*v)
                return usage_error("option '%s' needs a directory", "-I");
            idl_vec_push(c->arena, &c->opts.include_dirs, (void *)v);
        } else if ((v = option_value(argc, argv, &i, "-D")) || (v = option_value(argc, argv, &i, "-U"))) {
            if (!*v)
                return usage_error("option '%s' needs a macro name", a);
            idl_vec_push(c->arena, &c->opts.cpp_args, idl_printf(c->arena, "-%c%s", a[1], v));
        } else if ((v = option_value(argc, argv, &i, "-o"))) {
            if (!*v)
                return usage_error("option '%s' needs a directory", "-o");
            cli->outdir = v;
        } else if ((v = option_value(argc, argv, &i, "--header"))) {
            cli->header = v;
        } else if ((v = option_value(argc, argv, &i, "--iid"))) {
            cli->iid = v;
        } else if ((v = option_value(argc, argv, &i, "--proxy"))) {
            cli->proxy = v;
        } else if ((v = option_value(argc, argv, &i, "--depfile"))) {
            cli->depfile = v;
        } else if ((v = option_value(argc, argv, &i, "--cpp"))) {
            c->opts.cpp = v;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s'", a);
        } else if (cli->input) {
            return usage_error("more than one input file ('%s')", a);
        } else {
            cli->input = a;
        }
    }
    if (!cli->input)
        return usage_error("%s", "no input file");
    if ((cli->header && !*cli->header) || (cli->iid && !*cli->iid) || (cli->proxy && !*cli->proxy) ||
        (cli->depfile && !*cli->depfile))
        return usage_error("%s", "an output option needs a file name");
    return 0;
}

static char *default_output(struct idl_compiler *c, const char *outdir, const char *input, const char *suffix)
{
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    size_t n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".idl") == 0)
        n -= 4;
    return idl_printf(c->arena, "%s/%.*s%s", outdir ? outdir : ".", (int)n, base, suffix);
}

/* Whether an output can be created: its folder exists and is writable. Checked for every output before any
 * is written, so a bad path never leaves the others written. */
static int check_output(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    int err = dir && access(dir, W_OK | X_OK) == 0 ? 0 : dir ? errno : ENOMEM;
    free(dir);
    if (err) {
        fprintf(stderr, "pcomidl: cannot write '%s': %s\n", path, strerror(err));
        return EXIT_USAGE;
    }
    return 0;
}

static int write_output(const char *path, struct sbuf *b)
{
    int err = cg_write_if_changed(path, b->data ? b->data : "", b->len);
    if (err < 0) {
        fprintf(stderr, "pcomidl: cannot write '%s': %s\n", path, strerror(-err));
        return EXIT_USAGE;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct idl_compiler c;
    idl_compiler_init(&c);
    struct cli cli = {0};
    int rc = parse_args(argc, argv, &cli, &c);
    if (rc)
        goto out;

    FILE *probe = fopen(cli.input, "r");
    if (!probe) {
        fprintf(stderr, "pcomidl: cannot open '%s': %s\n", cli.input, strerror(errno));
        rc = EXIT_USAGE;
        goto out;
    }
    fclose(probe);

    idl_compile_file(&c, cli.input);
    if (c.errors || (cli.werror && c.warnings)) {
        if (!c.errors)
            fprintf(stderr, "pcomidl: warnings treated as errors\n");
        rc = EXIT_IDL_ERRORS;
        goto out;
    }

    const char *header = cli.header ? cli.header : default_output(&c, cli.outdir, cli.input, ".h");
    const char *iid = cli.iid ? cli.iid : default_output(&c, cli.outdir, cli.input, "_i.c");
    const char *proxy = cli.proxy ? cli.proxy : default_output(&c, cli.outdir, cli.input, "_p.c");
    const char *depfile = cli.depfile ? cli.depfile
                          : cli.depfile_default ? default_output(&c, cli.outdir, cli.input, ".d")
                                                : NULL;
    struct gen_ctx g = {.c = &c, .idl_name = cli.input, .header_name = header};
    struct sbuf hb = {0}, ib = {0}, pb = {0}, db = {0};
    gen_header(&g, &hb);
    gen_iid(&g, &ib);
    gen_proxy(&g, &pb);
    if (depfile) {
        const char *targets[] = {header, iid, proxy};
        gen_depfile(&g, &db, targets, 3);
    }
    /* everything is generated and every folder checked before anything is written: an error never leaves
     * half the outputs */
    rc = check_output(header);
    if (!rc)
        rc = check_output(iid);
    if (!rc)
        rc = check_output(proxy);
    if (!rc && depfile)
        rc = check_output(depfile);
    if (!rc)
        rc = write_output(header, &hb);
    if (!rc)
        rc = write_output(iid, &ib);
    if (!rc)
        rc = write_output(proxy, &pb);
    if (!rc && depfile)
        rc = write_output(depfile, &db);
    sb_free(&hb);
    sb_free(&ib);
    sb_free(&pb);
    sb_free(&db);
out:
    idl_compiler_fini(&c);
    return rc;
}
