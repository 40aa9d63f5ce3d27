/* procs.c: starting, stopping and killing the server processes the remoting tests talk to. */
#include "procs.h"

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

#include <cmocka.h>

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void server_spawn(struct server *s, const char *path, const char *const *args, unsigned workers)
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
    argv[n++] = s->unix_url;
    argv[n++] = "tcp://127.0.0.1:0";
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
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        if (strcmp(line, "ready") == 0)
            break;
        if (strncmp(line, "tcp://", 6) == 0)
            snprintf(s->tcp_url, sizeof(s->tcp_url), "%s", line);
    }
    fclose(f);
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

int raw_connect(const struct server *srv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", srv->unix_url + 5);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
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
