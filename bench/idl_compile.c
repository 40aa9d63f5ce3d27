/* idl_compile.c: benchmark of pcomidl on a generated 10,000-line IDL file: wall time and peak memory,
 * next to the C preprocessor alone on the same file (the floor pcomidl cannot go under).
 * usage: idl_compile PCOMIDL STD_IDL_DIR [RUNS] */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int write_idl(const char *path, int target_lines)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int lines = 0, n = 0;
    fprintf(f, "import \"pcom.idl\";\n");
    lines++;
    while (lines < target_lines) {
        fprintf(f,
                "typedef [v1_enum] enum Kind%d { K%d_A = 1, K%d_B = K%d_A << 2, K%d_C } Kind%d;\n"
                "typedef struct Rec%d {\n"
                "    long id;\n"
                "    double value[4];\n"
                "    Kind%d kind;\n"
                "    [string, unique] char *name;\n"
                "    unsigned long count;\n"
                "    [size_is(count)] long *items;\n"
                "} Rec%d;\n"
                "[object, uuid(%08x-0000-4000-8000-%012x), pointer_default(unique)]\n"
                "interface IService%d : IUnknown\n"
                "{\n"
                "    const long LIMIT%d = %d * 16;\n"
                "    HRESULT Get([in] long id, [out, retval] Rec%d *rec);\n"
                "    HRESULT Put([in] const Rec%d *rec);\n"
                "    HRESULT List([in] unsigned long max, [out] unsigned long *n,\n"
                "                 [out, size_is(max), length_is(*n)] Rec%d *recs);\n"
                "    HRESULT Find([in, string] const wchar_t *name, [out] IService%d **found);\n"
                "    [propget] HRESULT Count([out, retval] long *count);\n"
                "    [propput] HRESULT Count([in] long count);\n"
                "}\n\n",
                n, n, n, n, n, n, n, n, n, (unsigned)n, (unsigned)n, n, n, n, n, n, n, n);
        lines += 23;
        n++;
    }
    fclose(f);
    return lines;
}

struct run {
    double seconds;
    long max_rss_kib;
};

static int run_once(char *const argv[], struct run *r)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc)
        return -rc;
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return -errno;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    r->max_rss_kib = ru.ru_maxrss;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int measure(const char *label, char *const argv[], int runs, double *median_out)
{
    double times[64];
    long rss = 0;
    for (int i = 0; i < runs; i++) {
        struct run r = {0};
        int rc = run_once(argv, &r);
        if (rc) {
            fprintf(stderr, "%s: run failed (%s)\n", label, strerror(-rc));
            return 1;
        }
        times[i] = r.seconds;
        if (r.max_rss_kib > rss)
            rss = r.max_rss_kib;
    }
    qsort(times, (size_t)runs, sizeof(times[0]), cmp_double);
    *median_out = times[runs / 2];
    printf("%-22s median %8.1f ms   min %8.1f ms   max %8.1f ms   peak RSS (with cpp) %6.1f MiB\n", label,
           times[runs / 2] * 1e3, times[0] * 1e3, times[runs - 1] * 1e3, (double)rss / 1024.0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s PCOMIDL STD_IDL_DIR [RUNS]\n", argv[0]);
        return 2;
    }
    int runs = argc > 3 ? atoi(argv[3]) : 7;
    if (runs < 1 || runs > 64)
        runs = 7;
    char dir[] = "/tmp/pcom-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char idl[256], incflag[4096];
    snprintf(idl, sizeof(idl), "%s/big.idl", dir);
    int lines = write_idl(idl, 10000);
    if (lines < 0) {
        perror(idl);
        return 1;
    }
    snprintf(incflag, sizeof(incflag), "-I%s", argv[2]);
    printf("pcomidl on a generated IDL file of %d lines, %d runs each\n", lines, runs);
    char *cpp_argv[] = {"cpp", "-E", "-x", "c", incflag, idl, NULL};
    char *idl_argv[] = {argv[1], "-o", dir, idl, NULL};
    double floor_s, idl_s;
    if (measure("cpp alone (floor)", cpp_argv, runs, &floor_s) || measure("pcomidl", idl_argv, runs, &idl_s))
        return 1;
    printf("pcomidl / cpp ratio: %.2f; %.0f lines/s\n", idl_s / floor_s, lines / idl_s);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
