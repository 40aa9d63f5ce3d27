/* procs.c: the transports the remoting tests run over, and starting, stopping and killing the servers they talk to. */
#include "procs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *const transport_name[NTRANSPORTS] = {"inproc", "pipe", "unix", "tcp", "shm"};
enum transport current_transport;

static const char *only;

void run_only(const char *pattern)
{
    only = pattern;
}

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void server_spawn(struct server *s, const char *path, const char *const *args, unsigned workers, unsigned listen)
{
    memset(s, 0, sizeof(*s));
    strcpy(s->dir, "/tmp/pcom-rpc-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->unix_url, sizeof(s->unix_url), "unix:%s/s.sock", s->dir);
    snprintf(s->shm_url, sizeof(s->shm_url), "shm:%s", s->dir + 5); /* "pcom-rpc-XXXXXX": unique while dir is */
    char w[16];
    snprintf(w, sizeof(w), "%u", workers ? workers : 4);
    const char *argv[16];
    int n = 0;
    argv[n++] = path;
    for (int i = 0; args && args[i] && n < 10; i++)
        argv[n++] = args[i];
    argv[n++] = "--workers";
    argv[n++] = w;
    if (listen & ON(UNIX))
        argv[n++] = s->unix_url;
    if (listen & ON(TCP))
        argv[n++] = "tcp://127.0.0.1:0";
    if (listen & ON(SHM))
        argv[n++] = s->shm_url;
    argv[n] = NULL;
    int out[2];
    assert_int_equal(pipe(out), 0);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a test that crashes must not leave its server running */
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[sizeof(s->tcp_url) - 8];
    bool ready = false;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        if (strcmp(line, "ready") == 0) {
            ready = true;
            break;
        }
        if (strncmp(line, "tcp://", 6) == 0)
            snprintf(s->tcp_url, sizeof(s->tcp_url), "%s", line);
    }
    fclose(f);
    assert_true(ready);
    if (listen & ON(TCP))
        assert_true(strncmp(s->tcp_url, "tcp://127.0.0.1:", 16) == 0);
}

int server_stop(struct server *s)
{
    int status = 0;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, &status, 0);
        s->pid = 0;
    }
    char path[200];
    snprintf(path, sizeof(path), "%s/s.sock", s->dir);
    char region[128];
    snprintf(region, sizeof(region), "/dev/shm/pcom-%s", s->shm_url + 4);
    bool left = access(path, F_OK) == 0 || access(region, F_OK) == 0; /* a clean stop leaves nothing behind */
    unlink(path);
    unlink(region);
    rmdir(s->dir);
    if (left)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void server_kill(struct server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
    char path[200];
    snprintf(path, sizeof(path), "%s/s.sock", s->dir);
    unlink(path);
    snprintf(path, sizeof(path), "/dev/shm/pcom-%s", s->shm_url + 4); /* a killed server leaves its region */
    unlink(path);
    rmdir(s->dir);
}

void target_start(struct target *t, enum transport tp, const char *path, const char *const *args, unsigned workers)
{
    memset(t, 0, sizeof(*t));
    t->tp = tp;
    switch (tp) {
    case INPROC:
        snprintf(t->url, sizeof(t->url), "inproc:");
        t->pid = getpid();
        return;
    case PIPE: {
        /* "dir/./prog" runs what "dir/prog" does but is another URL: two pipe servers alive at once (a test that
         * passes one's objects to the other) need two URLs, or they would share one connection and one child */
        static unsigned serial;
        const char *slash = strrchr(path, '/');
        int dir_len = slash ? (int)(slash - path + 1) : 0;
        int n = snprintf(t->url, sizeof(t->url), "pipe:%.*s", dir_len, path);
        for (unsigned i = serial++ % 3; i > 0; i--)
            n += snprintf(t->url + n, sizeof(t->url) - (size_t)n, "./");
        n += snprintf(t->url + n, sizeof(t->url) - (size_t)n, "%s", path + dir_len);
        for (int i = 0; args && args[i]; i++)
            n += snprintf(t->url + n, sizeof(t->url) - (size_t)n, " %s", args[i]);
        snprintf(t->url + n, sizeof(t->url) - (size_t)n, " --workers %u pipe:", workers ? workers : 4);
        assert_true(strlen(t->url) < sizeof(t->url) - 1);
        return;
    }
    case UNIX:
    case TCP:
    case SHM:
        server_spawn(&t->srv, path, args, workers, ON(tp));
        t->pid = t->srv.pid;
        snprintf(t->url, sizeof(t->url), "%s",
                 tp == UNIX ? t->srv.unix_url : tp == TCP ? t->srv.tcp_url : t->srv.shm_url);
        return;
    case NTRANSPORTS:
        break;
    }
    fail_msg("no transport %d", (int)tp);
}

bool process_gone(pid_t pid, double timeout_s)
{
    double t0 = now_s();
    for (;;) {
        if (kill(pid, 0) < 0 && errno == ESRCH)
            return true;
        if (now_s() - t0 >= timeout_s)
            return false;
        usleep(10000);
    }
}

int target_stop(struct target *t)
{
    switch (t->tp) {
    case INPROC:
        return 0;
    case PIPE:
        return t->pid <= 0 || process_gone(t->pid, 3.0) ? 0 : -1;
    default:
        return server_stop(&t->srv);
    }
}

void target_kill(struct target *t)
{
    switch (t->tp) {
    case INPROC:
        fail_msg("an in-process object has no process of its own to kill");
        break;
    case PIPE:
        assert_true(t->pid > 0);
        assert_int_equal(kill(t->pid, SIGKILL), 0);
        break;
    default:
        server_kill(&t->srv);
        break;
    }
}

static int status_of(int code, int status)
{
    return code == CLD_EXITED ? status : 128 + status;
}

int target_exit_status(struct target *t)
{
    if (t->tp == PIPE) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        assert_true(t->pid > 0);
        assert_int_equal(waitid(P_PID, (id_t)t->pid, &si, WEXITED | WNOWAIT), 0);
        return status_of(si.si_code, si.si_status);
    }
    assert_true(t->tp != INPROC);
    int status;
    assert_int_equal(waitpid(t->srv.pid, &status, 0), t->srv.pid);
    t->srv.pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Starts the program of a pipe: URL with one end of a socketpair as its parent connection, as the runtime does. */
static int spawn_pipe_server(const char *url, pid_t *pid)
{
    char copy[512], *argv[32];
    snprintf(copy, sizeof(copy), "%s", url + 5);
    int n = 0;
    for (char *w = strtok(copy, " "); w && n < 31; w = strtok(NULL, " "))
        argv[n++] = w;
    argv[n] = NULL;
    assert_true(n > 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    *pid = fork();
    assert_true(*pid >= 0);
    if (*pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (sv[1] == 3)
            fcntl(3, F_SETFD, 0);
        else if (dup2(sv[1], 3) != 3)
            _exit(127);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 1); /* its URL and "ready" are for a parent that waits for them; this one does not */
        setenv("PCOM_PIPE_FD", "3", 1);
        execv(argv[0], argv);
        _exit(127);
    }
    close(sv[1]);
    return sv[0];
}

int raw_connect(const struct target *t, pid_t *own)
{
    *own = 0;
    if (t->tp == PIPE)
        return spawn_pipe_server(t->url, own);
    int fd = -1;
    if (t->tp == UNIX) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", t->url + 5);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    } else if (t->tp == TCP) {
        struct sockaddr_in sa = {.sin_family = AF_INET};
        unsigned port = 0;
        assert_int_equal(sscanf(t->url, "tcp://127.0.0.1:%u", &port), 1);
        sa.sin_port = htons((uint16_t)port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    } else {
        fail_msg("no raw stream to a %s server", transport_name[t->tp]);
    }
    return fd;
}

int raw_close(int fd, pid_t own)
{
    close(fd);
    if (own <= 0)
        return 0;
    double t0 = now_s();
    int status;
    for (;;) {
        pid_t r = waitpid(own, &status, WNOHANG);
        if (r == own)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0 || now_s() - t0 > 5.0)
            break;
        usleep(5000);
    }
    kill(own, SIGKILL);
    waitpid(own, NULL, 0);
    return -1;
}

void raw_header(uint8_t h[56], uint8_t type, uint32_t call_id, uint32_t body_len, uint16_t method,
                const uint8_t oid[16], const void *iid)
{
    memset(h, 0, 56);
    uint32_t magic = 0x4d4f4350u;
    memcpy(h, &magic, 4);
    h[4] = 1;
    h[5] = type;
    memcpy(h + 8, &call_id, 4);
    memcpy(h + 12, &body_len, 4);
    memcpy(h + 16, &method, 2);
    if (oid)
        memcpy(h + 24, oid, 16);
    if (iid)
        memcpy(h + 40, iid, 16);
}

static bool read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
    }
    return true;
}

bool raw_write(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        b += w;
        n -= (size_t)w;
    }
    return true;
}

ssize_t raw_read(int fd, uint8_t *buf, size_t cap)
{
    uint32_t len;
    if (cap < 56 || !read_full(fd, buf, 56))
        return -1;
    memcpy(&len, buf + 12, 4);
    if (len > cap - 56 || !read_full(fd, buf + 56, len))
        return -1;
    return (ssize_t)(56 + len);
}

/* Defined only when AddressSanitizer's runtime is linked in: its allocator is not glibc's, so mallinfo2 would miss
 * every block. */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

size_t heap_in_use(void)
{
    if (__sanitizer_get_current_allocated_bytes)
        return __sanitizer_get_current_allocated_bytes();
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

void stop_process(pid_t pid)
{
    assert_int_equal(kill(pid, SIGSTOP), 0);
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(path, "r");
        if (!f)
            break;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        const char *p = strrchr(buf, ')');
        if (p && (p[2] == 'T' || p[2] == 't'))
            return;
        usleep(2000);
    }
    fail_msg("process %d did not stop", (int)pid);
}

int run_per_transport(const char *what, const struct conformance_test *tests, size_t n,
                      CMFixtureFunction group_setup, CMFixtureFunction group_teardown,
                      CMFixtureFunction test_setup, CMFixtureFunction test_teardown)
{
    static const enum transport each[NTRANSPORTS] = {INPROC, PIPE, UNIX, TCP, SHM};
    struct CMUnitTest *group = calloc(n, sizeof(*group));
    char (*names)[96] = calloc(n, sizeof(*names));
    assert_non_null(group);
    assert_non_null(names);
    int rc = 0;
    for (int k = 0; k < NTRANSPORTS; k++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (tests[i].on & ON(each[k])) {
                snprintf(names[m], sizeof(names[m]), "%s@%s", tests[i].name, transport_name[each[k]]);
                if (only && fnmatch(only, names[m], 0) != 0)
                    continue;
                group[m] = (struct CMUnitTest){names[m], tests[i].fn, test_setup, test_teardown, (void *)&each[k]};
                m++;
            }
        if (!m)
            continue;
        char name[128];
        snprintf(name, sizeof(name), "%s over %s", what, transport_name[each[k]]);
        current_transport = each[k];
        rc |= _cmocka_run_group_tests(name, group, m, group_setup, group_teardown);
    }
    free(names);
    free(group);
    return rc;
}
