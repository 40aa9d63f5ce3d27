/* procs.h: starting, stopping and killing the server processes the remoting tests talk to. */
#ifndef PCOM_TEST_PROCS_H
#define PCOM_TEST_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <stddef.h>

struct server {
    pid_t pid;
    char unix_url[128];
    char tcp_url[256];
    char shm_url[64];
    char dir[64];
};

double now_s(void);
/* Runs `path [args...] --workers N unix:DIR/s.sock tcp://127.0.0.1:0 shm:NAME` (args NULL-terminated, may be NULL), which
 * prints one URL per line and then "ready"; returns once it did. The child dies with the test. */
void server_spawn(struct server *s, const char *path, const char *const *args, unsigned workers);
/* SIGTERM and wait: the exit status (a server exits 0 only when every object was released), or -1 when the
 * socket file was left behind. */
int server_stop(struct server *s);
void server_kill(struct server *s);

/* SIGSTOP and wait until the process is stopped (the signal takes effect asynchronously). */
void stop_process(pid_t pid);

/* A plain socket to the server's Unix listener, for tests that speak the wire protocol by hand. */
int raw_connect(const struct server *srv);
/* Reads one whole message (header and body) into buf; its size, or -1 when the stream ended or it does not fit. */
ssize_t raw_read(int fd, uint8_t *buf, size_t cap);
/* A 56-byte message header as docs/wire.md lays it out (oid and iid may be NULL: zeros). */
void raw_header(uint8_t h[56], uint8_t type, uint32_t call_id, uint32_t body_len, uint16_t method,
                const uint8_t oid[16], const void *iid);

#endif
