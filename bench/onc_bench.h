/* onc_bench.h: the ONC RPC peer of rpc_bench: an rpcgen server and its client calls, over TCP and a Unix socket. */
#ifndef RPC_BENCH_ONC_BENCH_H
#define RPC_BENCH_ONC_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* false when the bench was built without rpcgen or libtirpc: the onc rows are skipped then */
extern const int onc_available;

/* In the server process: one thread running svc_run over both listeners. Registers nothing with rpcbind. */
int onc_server_start(const char *unix_path, uint16_t *tcp_port);

struct onc_client;
/* netid "tcp" (port) or "unix" (path); NULL on failure. */
struct onc_client *onc_connect(const char *netid, const char *unix_path, uint16_t tcp_port);
int onc_null(struct onc_client *c);
int onc_echo64(struct onc_client *c);
int onc_put(struct onc_client *c, const void *data, size_t n);
int onc_get(struct onc_client *c, void *data, size_t n);
void onc_close(struct onc_client *c);

#endif
