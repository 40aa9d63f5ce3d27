/* transport_pipe.c: the pipe: transport, COM's local server. The client starts the server as a child process and
 * talks to it over one end of a socketpair (one full-duplex stream, so the stream code serves it unchanged); the
 * child finds the other end as the fd named by PCOM_PIPE_FD and serves it through the listener "pipe:". */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PIPE_CHILD_FD 3
#define PIPE_ENV "PCOM_PIPE_FD"
#define PIPE_REAP_TIMEOUT_MS 2000

/* ---- client side: spawn the server, reap it when the connection closes ---- */

/* The stream connection is opaque outside stream.c, so the child each client connection owns is kept here, by
 * connection. There are few of them (one per pipe: URL in use) and they are looked up only at close. */
struct child {
    struct child *next;
    const struct pcomi_conn *conn;
    pid_t pid;
};
static pthread_mutex_t children_lock = PTHREAD_MUTEX_INITIALIZER;
static struct child *children;

/* Splits "pipe:prog arg1 arg2" into a malloc'd argv (pointers into the malloc'd copy *buf). No shell, no quoting:
 * words are separated by spaces. */
static int parse_command(const char *url, char **buf, char ***argv)
{
    if (strncasecmp(url, "pipe:", 5) != 0)
        return -EINVAL;
    char *copy = strdup(url + 5);
    if (!copy)
        return -ENOMEM;
    size_t words = 0;
    for (char *p = copy; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        words++;
        while (*p && *p != ' ')
            p++;
    }
    if (words == 0) {
        free(copy);
        return -EINVAL;
    }
    char **v = calloc(words + 1, sizeof(*v));
    if (!v) {
        free(copy);
        return -ENOMEM;
    }
    size_t n = 0;
    for (char *p = copy; *p;) {
        while (*p == ' ')
            *p++ = '\0';
        if (!*p)
            break;
        v[n++] = p;
        while (*p && *p != ' ')
            p++;
    }
    *buf = copy;
    *argv = v;
    return 0;
}

/* The inherited environment with PIPE_ENV=3 in place of any PIPE_ENV it had. The strings are the environment's. */
static char **child_env(char *entry)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = calloc(n + 2, sizeof(*env));
    if (!env)
        return NULL;
    size_t k = 0;
    size_t klen = strlen(PIPE_ENV);
    for (size_t i = 0; i < n; i++)
        if (!(strncmp(environ[i], PIPE_ENV, klen) == 0 && environ[i][klen] == '='))
            env[k++] = environ[i];
    env[k] = entry;
    return env;
}

static int spawn_child(char **argv, int child_fd, pid_t *pid)
{
    char entry[] = PIPE_ENV "=3";
    char **env = child_env(entry);
    if (!env)
        return -ENOMEM;
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0) {
        free(env);
        return -rc;
    }
    /* dup2 clears close-on-exec on fd 3; everything else this process opened stays behind: pcom's own fds are
     * close-on-exec, and closefrom covers what the application left inheritable. */
    rc = posix_spawn_file_actions_adddup2(&fa, child_fd, PIPE_CHILD_FD);
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, PIPE_CHILD_FD + 1);
    /* glibc's posix_spawn reports a failed exec (ENOENT, EACCES, ...) as its own result and reaps the child, so a
     * program that cannot run is an error here and leaves nothing behind. */
    if (rc == 0)
        rc = posix_spawn(pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    return -rc;
}

/* Waits for the child to exit after its connection closed; SIGKILLs it after PIPE_REAP_TIMEOUT_MS. */
static void reap(pid_t pid)
{
    long long deadline = pcomi_now_ms() + PIPE_REAP_TIMEOUT_MS;
    useconds_t nap = 500;
    for (;;) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return; /* reaped, or not ours to reap (SIGCHLD ignored, or someone else waited for it) */
        if (pcomi_now_ms() >= deadline)
            break;
        usleep(nap);
        if (nap < 20000)
            nap *= 2;
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

static int pipe_connect(const char *url, struct pcomi_conn **out)
{
    char *buf, **argv;
    int rc = parse_command(url, &buf, &argv);
    if (rc < 0)
        return rc;
    struct child *ch = calloc(1, sizeof(*ch));
    if (!ch) {
        rc = -ENOMEM;
        goto free_argv;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        rc = -errno;
        goto free_child;
    }
    /* dup2(3, 3) would leave the child's end close-on-exec: move it off fd 3 first. */
    if (sv[1] == PIPE_CHILD_FD) {
        int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, PIPE_CHILD_FD + 1);
        if (moved < 0) {
            rc = -errno;
            goto close_fds;
        }
        close(sv[1]);
        sv[1] = moved;
    }
    pid_t pid;
    rc = spawn_child(argv, sv[1], &pid);
    if (rc < 0)
        goto close_fds;
    close(sv[1]);
    sv[1] = -1;
    rc = pcomi_stream_conn_new(&pcomi_pipe_transport, sv[0], out);
    if (rc < 0) {
        close(sv[0]);
        sv[0] = -1;
        /* The child sees EOF; it is waited for like any other. */
        goto reap_child;
    }
    snprintf((*out)->peer, sizeof((*out)->peer), "pipe:%s pid %d", argv[0], (int)pid);
    ch->conn = *out;
    ch->pid = pid;
    pthread_mutex_lock(&children_lock);
    ch->next = children;
    children = ch;
    pthread_mutex_unlock(&children_lock);
    free(argv);
    free(buf);
    return 0;

reap_child:
    reap(pid);
    goto free_child;
close_fds:
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
free_child:
    free(ch);
free_argv:
    free(argv);
    free(buf);
    return rc;
}

static void pipe_close(struct pcomi_conn *c)
{
    pid_t pid = 0;
    pthread_mutex_lock(&children_lock);
    for (struct child **pp = &children; *pp; pp = &(*pp)->next) {
        if ((*pp)->conn == c) {
            struct child *ch = *pp;
            *pp = ch->next;
            pid = ch->pid;
            free(ch);
            break;
        }
    }
    pthread_mutex_unlock(&children_lock);
    /* Close first: the child sees EOF and exits on its own, then is collected. */
    pcomi_stream_close(c);
    if (pid > 0)
        reap(pid);
}

/* ---- server side: the listener "pipe:" and its one connection ---- */

struct pipe_listener {
    struct pcomi_listener base;
    int fd; /* the inherited socket, -1 once handed out */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool woken;
};

static atomic_bool pipe_fd_claimed;

static const struct pcomi_transport pipe_server_conn = {
    .scheme = "pipe",
    .send = pcomi_stream_send,
    .recv_head = pcomi_stream_recv_head,
    .recv_body = pcomi_stream_recv_body,
    .shutdown = pcomi_stream_shutdown,
    .close = pcomi_stream_close,
    .set_send_timeout = pcomi_stream_set_send_timeout,
    .wait_readable = pcomi_stream_wait_readable,
};

/* The fd named by PCOM_PIPE_FD: a decimal number naming an open socket, else -EBADF. */
static int inherited_fd(int *out)
{
    const char *v = getenv(PIPE_ENV);
    if (!v || !*v)
        return -EBADF;
    char *end;
    errno = 0;
    long fd = strtol(v, &end, 10);
    if (errno || *end || fd < 0 || fd > 0x7fffffff)
        return -EBADF;
    struct stat st;
    if (fstat((int)fd, &st) < 0 || !S_ISSOCK(st.st_mode))
        return -EBADF;
    *out = (int)fd;
    return 0;
}

static int pipe_listen(const char *url, struct pcomi_listener **out)
{
    if (strcasecmp(url, "pipe:") != 0)
        return -EINVAL;
    int fd;
    int rc = inherited_fd(&fd);
    if (rc < 0)
        return rc;
    /* One process has one parent connection: a second listener would share the stream with the first. */
    if (atomic_exchange(&pipe_fd_claimed, true))
        return -EBUSY;
    struct pipe_listener *pl = calloc(1, sizeof(*pl));
    if (!pl) {
        rc = -ENOMEM;
        goto unclaim;
    }
    rc = -pthread_mutex_init(&pl->lock, NULL);
    if (rc < 0)
        goto free_listener;
    rc = -pthread_cond_init(&pl->wake, NULL);
    if (rc < 0)
        goto destroy_lock;
    /* Programs this server starts must not inherit its parent's connection. */
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    pl->fd = fd;
    snprintf(pl->base.url, sizeof(pl->base.url), "pipe:");
    *out = &pl->base;
    return 0;

destroy_lock:
    pthread_mutex_destroy(&pl->lock);
free_listener:
    free(pl);
unclaim:
    atomic_store(&pipe_fd_claimed, false);
    return rc;
}

static int pipe_accept(struct pcomi_listener *l, struct pcomi_conn **out)
{
    struct pipe_listener *pl = (struct pipe_listener *)l;
    pthread_mutex_lock(&pl->lock);
    if (!pl->woken && pl->fd >= 0) {
        int rc = pcomi_stream_conn_new(&pipe_server_conn, pl->fd, out);
        if (rc == 0) {
            struct ucred cred;
            socklen_t clen = sizeof(cred);
            if (getsockopt(pl->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
                snprintf((*out)->peer, sizeof((*out)->peer), "pipe: pid %d uid %u", (int)cred.pid,
                         (unsigned)cred.uid);
            else
                snprintf((*out)->peer, sizeof((*out)->peer), "pipe:");
            pl->fd = -1;
        }
        pthread_mutex_unlock(&pl->lock);
        return rc;
    }
    /* The only connection is out: nothing more will ever come until the listener is shut down. */
    while (!pl->woken)
        pthread_cond_wait(&pl->wake, &pl->lock);
    pthread_mutex_unlock(&pl->lock);
    return -ECANCELED;
}

static void pipe_listener_wake(struct pcomi_listener *l)
{
    struct pipe_listener *pl = (struct pipe_listener *)l;
    pthread_mutex_lock(&pl->lock);
    pl->woken = true;
    pthread_cond_broadcast(&pl->wake);
    pthread_mutex_unlock(&pl->lock);
}

static void pipe_listener_free(struct pcomi_listener *l)
{
    struct pipe_listener *pl = (struct pipe_listener *)l;
    if (pl->fd >= 0)
        close(pl->fd);
    pthread_cond_destroy(&pl->wake);
    pthread_mutex_destroy(&pl->lock);
    free(pl);
}

const struct pcomi_transport pcomi_pipe_transport = {
    .scheme = "pipe",
    .listen = pipe_listen,
    .connect = pipe_connect,
    .accept = pipe_accept,
    .listener_wake = pipe_listener_wake,
    .listener_free = pipe_listener_free,
    .send = pcomi_stream_send,
    .recv_head = pcomi_stream_recv_head,
    .recv_body = pcomi_stream_recv_body,
    .shutdown = pcomi_stream_shutdown,
    .close = pipe_close,
    .set_send_timeout = pcomi_stream_set_send_timeout,
    .wait_readable = pcomi_stream_wait_readable,
};
