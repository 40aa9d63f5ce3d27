/* procs.h: the transports the remoting tests run over, and starting, stopping and killing the servers they talk to. */
#ifndef PCOM_TEST_PROCS_H
#define PCOM_TEST_PROCS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

/* Every transport a test can run over, in the order the suites run them. */
enum transport { INPROC, PIPE, UNIX, TCP, SHM, NTRANSPORTS };
#define ON(tp) (1u << (tp))
#define REMOTE (ON(PIPE) | ON(UNIX) | ON(TCP) | ON(SHM))
#define EVERYWHERE (ON(INPROC) | REMOTE)
/* A peer that writes the wire protocol by hand needs a byte stream: shm: has rings, and its hostile input is
 * tests/unit/test_shm.c's. */
#define RAW_STREAM (ON(PIPE) | ON(UNIX) | ON(TCP))
extern const char *const transport_name[NTRANSPORTS];

struct server {
    pid_t pid;
    char unix_url[128];
    char tcp_url[256];
    char shm_url[64];
    char dir[64];
};

double now_s(void);
/* Runs `path [args...] --workers N URL...` with a URL for each of ON(UNIX), ON(TCP), ON(SHM) in `listen`
 * (unix:DIR/s.sock, tcp://127.0.0.1:0, shm:NAME), which prints one URL per line and then "ready"; returns once it
 * did. args is NULL-terminated, may be NULL. The child dies with the test. */
void server_spawn(struct server *s, const char *path, const char *const *args, unsigned workers, unsigned listen);
/* SIGTERM and wait: the exit status (a server exits 0 only when every object was released), or -1 when the
 * socket file or shm region was left behind. */
int server_stop(struct server *s);
void server_kill(struct server *s);

/* SIGSTOP and wait until the process is stopped (the signal takes effect asynchronously). */
void stop_process(pid_t pid);

/* A server under test, reached over one transport. */
struct target {
    enum transport tp;
    char url[512];
    /* The serving process: the spawned server, this process for inproc:, and for pipe: the child the runtime
     * starts at the first pcom_create_instance, which only a method of the object can tell (0 until the test
     * sets it). */
    pid_t pid;
    struct server srv; /* unix:, tcp:, shm: */
};

/* unix:, tcp://, shm: start `path args... --workers N URL` listening on that transport only, so that a reference
 * the server hands out names only it; pipe: only makes the URL "pipe:path args... --workers N pipe:" (distinct
 * from the last few, as one connection serves every use of one URL); inproc: is "inproc:". */
void target_start(struct target *t, enum transport tp, const char *path, const char *const *args, unsigned workers);
/* The end of a target whose client released everything: a spawned server is stopped (server_stop's result); a
 * pipe child, which the last Release stopped and the runtime reaps, must be gone within 3 s (0, else -1). */
int target_stop(struct target *t);
/* SIGKILL. A pipe child is reaped by the runtime once the client releases its proxies. */
void target_kill(struct target *t);
/* Waits for the server to exit (after SIGTERM, or a method that exits) and returns its status as server_stop
 * does. A pipe child is the runtime's to reap: its status is read without reaping it, while the client still
 * holds a proxy (the runtime reaps only when the connection's last user goes). */
int target_exit_status(struct target *t);

/* True once pid is gone (exited and reaped) within timeout_s. */
bool process_gone(pid_t pid, double timeout_s);

/* A plain stream to the target's server, for tests that speak the wire protocol by hand (RAW_STREAM only): a
 * socket to its unix: or tcp:// listener; for pipe:, a server of its own started from the URL, with the socket as
 * its parent connection (fd 3, PCOM_PIPE_FD=3, as docs/runtime.md gives it), whose pid is *own (else 0). */
int raw_connect(const struct target *t, pid_t *own);
/* Closes the stream. A server of its own exits when its parent connection ends: its exit status (0 when it
 * released everything), or -1 when it did not exit within 5 s; 0 for a shared server. */
int raw_close(int fd, pid_t own);
/* Reads one whole message (header and body) into buf; its size, or -1 when the stream ended or it does not fit. */
ssize_t raw_read(int fd, uint8_t *buf, size_t cap);
/* Writes all n bytes; false when the stream ended first. */
bool raw_write(int fd, const void *p, size_t n);
/* A 56-byte message header as docs/wire.md lays it out (oid and iid may be NULL: zeros). */
void raw_header(uint8_t h[56], uint8_t type, uint32_t call_id, uint32_t body_len, uint16_t method,
                const uint8_t oid[16], const void *iid);

/* Bytes this process has allocated and not freed (the sanitizer's count in a sanitized build, where malloc is
 * its own), to bound what a peer's message made it allocate. */
size_t heap_in_use(void);

/* A test of a conformance suite and the transports it runs over. */
struct conformance_test {
    const char *name;
    CMUnitTestFunction fn;
    unsigned on;
};
/* Runs, for each transport in turn, the tests that run over it as one cmocka group "<what> over <transport>", each
 * test named "<test>@<transport>", with test_setup/test_teardown around each. The transport is current_transport while its group runs, and each
 * test's state is a pointer to it unless group_setup sets a group state. */
int run_per_transport(const char *what, const struct conformance_test *tests, size_t n,
                      CMFixtureFunction group_setup, CMFixtureFunction group_teardown,
                      CMFixtureFunction test_setup, CMFixtureFunction test_teardown);
extern enum transport current_transport;
/* Runs only the tests whose name matches pattern (a shell pattern, e.g. "hostile_peers@*"); NULL: all. */
void run_only(const char *pattern);

#endif
