/* onc_bench.c: the ONC RPC peer: server procedures for the rpcgen dispatcher, and the client calls rpc_bench times. */
#include "onc_bench.h"

#ifdef BENCH_HAVE_ONC

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rpc/rpc.h>

#include "bench_rpc.h"

const int onc_available = 1;

/* rpcgen -m writes the dispatcher without declaring it */
void bench_prog_1(struct svc_req *rqstp, SVCXPRT *transp);

/* ---- server procedures: svc_run is one thread, so results may live in statics, as rpcgen intends ---- */

void *bench_null_1_svc(void *arg, struct svc_req *rq)
{
    (void)arg;
    (void)rq;
    static char done; /* any non-NULL result: NULL would mean "send no reply" */
    return &done;
}

payload64 *bench_echo64_1_svc(payload64 *in, struct svc_req *rq)
{
    (void)rq;
    static payload64 out;
    out = *in;
    return &out;
}

int *bench_put_1_svc(bulk *in, struct svc_req *rq)
{
    (void)in;
    (void)rq;
    static int status;
    return &status;
}

bulk *bench_get_1_svc(u_int *n, struct svc_req *rq)
{
    (void)rq;
    static char *data;
    static bulk out;
    if (!data && !(data = malloc(BENCH_BULK_MAX)))
        return NULL;
    if (*n > BENCH_BULK_MAX)
        return NULL;
    /* the same work as the pcom object's Get: fill the caller's bytes */
    memset(data, 0x5a, *n);
    out.bulk_len = *n;
    out.bulk_val = data;
    return &out;
}

static void *svc_thread(void *arg)
{
    (void)arg;
    svc_run();
    return NULL;
}

int onc_server_start(const char *unix_path, uint16_t *tcp_port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 16) < 0 ||
        getsockname(s, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    *tcp_port = ntohs(sa.sin_port);
    /* sizes 0: libtirpc's defaults, as an ordinary ONC server would run */
    SVCXPRT *t = svctcp_create(s, 0, 0);
    unlink(unix_path);
    SVCXPRT *u = svcunix_create(RPC_ANYSOCK, 0, 0, (char *)unix_path);
    /* protocol 0: no pmap_set, so no rpcbind; clients are handed the address directly */
    if (!t || !u || !svc_register(t, BENCH_PROG, BENCH_VERS, bench_prog_1, 0) ||
        !svc_register(u, BENCH_PROG, BENCH_VERS, bench_prog_1, 0))
        return -1;
    pthread_t th;
    if (pthread_create(&th, NULL, svc_thread, NULL) != 0)
        return -1;
    pthread_detach(th);
    return 0;
}

/* ---- client ---- */

struct onc_client {
    CLIENT *cl;
    int fd;
};

/* never reached: a call that takes this long has failed, and the row says so */
static const struct timeval call_timeout = {25, 0};

struct onc_client *onc_connect(const char *netid, const char *unix_path, uint16_t tcp_port)
{
    struct onc_client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (strcmp(netid, "tcp") == 0) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(tcp_port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        /* Nagle would hold back the tail of a multi-fragment record; pcom and the raw floor both turn it off */
        if (c->fd >= 0 && connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0)
            c->cl = clnttcp_create(&sa, BENCH_PROG, BENCH_VERS, &c->fd, 0, 0);
    } else {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", unix_path);
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd >= 0 && connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            c->cl = clntunix_create(&sa, BENCH_PROG, BENCH_VERS, &c->fd, 0, 0);
    }
    if (!c->cl) {
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        return NULL;
    }
    return c;
}

/* libtirpc declares xdr_void without parameters; going through void (*)(void), the one function type that
 * converts to any other without a warning, says the mismatch is known */
#define XDR_VOID ((xdrproc_t)(void (*)(void))xdr_void)

int onc_null(struct onc_client *c)
{
    return clnt_call(c->cl, BENCH_NULL, XDR_VOID, NULL, XDR_VOID, NULL, call_timeout) ==
                   RPC_SUCCESS
               ? 0
               : -1;
}

int onc_echo64(struct onc_client *c)
{
    payload64 in = {.id = 7, .scale = 1.5}, out;
    return clnt_call(c->cl, BENCH_ECHO64, (xdrproc_t)xdr_payload64, (caddr_t)&in, (xdrproc_t)xdr_payload64,
                     (caddr_t)&out, call_timeout) == RPC_SUCCESS
               ? 0
               : -1;
}

int onc_put(struct onc_client *c, const void *data, size_t n)
{
    bulk in = {(u_int)n, (char *)data};
    int status = -1;
    return clnt_call(c->cl, BENCH_PUT, (xdrproc_t)xdr_bulk, (caddr_t)&in, (xdrproc_t)xdr_int, (caddr_t)&status,
                     call_timeout) == RPC_SUCCESS &&
                   status == 0
               ? 0
               : -1;
}

int onc_get(struct onc_client *c, void *data, size_t n)
{
    u_int want = (u_int)n;
    /* a non-NULL bulk_val makes XDR decode into the caller's buffer, as pcom's [out, size_is] does */
    bulk out = {(u_int)n, data};
    return clnt_call(c->cl, BENCH_GET, (xdrproc_t)xdr_u_int, (caddr_t)&want, (xdrproc_t)xdr_bulk, (caddr_t)&out,
                     call_timeout) == RPC_SUCCESS &&
                   out.bulk_len == n && out.bulk_val == data
               ? 0
               : -1;
}

void onc_close(struct onc_client *c)
{
    if (!c)
        return;
    clnt_destroy(c->cl);
    close(c->fd);
    free(c);
}

#else /* built without rpcgen or libtirpc */

const int onc_available = 0;

int onc_server_start(const char *unix_path, uint16_t *tcp_port)
{
    (void)unix_path;
    (void)tcp_port;
    return 0;
}

struct onc_client *onc_connect(const char *netid, const char *unix_path, uint16_t tcp_port)
{
    (void)netid;
    (void)unix_path;
    (void)tcp_port;
    return NULL;
}

int onc_null(struct onc_client *c)
{
    (void)c;
    return -1;
}

int onc_echo64(struct onc_client *c)
{
    (void)c;
    return -1;
}

int onc_put(struct onc_client *c, const void *data, size_t n)
{
    (void)c;
    (void)data;
    (void)n;
    return -1;
}

int onc_get(struct onc_client *c, void *data, size_t n)
{
    (void)c;
    (void)data;
    (void)n;
    return -1;
}

void onc_close(struct onc_client *c)
{
    (void)c;
}

#endif
