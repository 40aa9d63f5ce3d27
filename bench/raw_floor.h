/* raw_floor.h: the hand-written ping-pong peers rpc_bench measures pcom against, one per transport. */
#ifndef RPC_BENCH_RAW_FLOOR_H
#define RPC_BENCH_RAW_FLOOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_BULK (1u << 20)
/* the largest raw message: a bulk payload and a pcom header's worth of room */
#define RAW_MAX (BENCH_BULK + 4096)

/*
 * A raw request of req bytes is answered with a reply of resp bytes; both sizes travel in the request's first 8
 * bytes, so one echo loop serves every workload and the floor carries exactly the bytes pcom carries.
 */
struct shm_region;
struct raw_link {
    int fd;                  /* stream floors: the connected socket */
    pid_t child;             /* floors that fork their own peer (pipe, shm): reaped by raw_close */
    struct shm_region *shm;  /* the shm floor's mapping */
    int (*roundtrip)(struct raw_link *l, char *buf, size_t req, size_t resp);
};

int read_full(int fd, void *buf, size_t n);
int write_full(int fd, const void *buf, size_t n);
void bench_pin(int cpu);

/* ---- in the bench's server process ---- */

int raw_listen_unix(const char *path);
int raw_listen_tcp(uint16_t *port);
/* A thread per accepted connection, each echoing as described above. */
int raw_serve_threads(int lfd);
/* One thread, epoll over every listener and connection: the floor of many clients on one server thread. */
int raw_serve_epoll(const int *lfds, int n);

/* ---- in the client ---- */

int raw_connect_unix(const char *path, struct raw_link *l);
int raw_connect_tcp(uint16_t port, struct raw_link *l);
/* A forked child on a socketpair: the floor of pcom's pipe: transport. cpu < 0 leaves it unpinned. */
int raw_spawn_pipe(int cpu, struct raw_link *l);
/* A forked child sharing an anonymous MAP_SHARED region, waking the other side with futexes. */
int raw_spawn_shm(int cpu, struct raw_link *l);
/* One round trip; buf holds at least RAW_MAX bytes. */
int raw_roundtrip(struct raw_link *l, char *buf, size_t req, size_t resp);
void raw_close(struct raw_link *l);

#endif
