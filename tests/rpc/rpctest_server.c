/* rpctest_server.c: the server the runtime's integration tests start: the RpcTest class (rpctest_objects.c) served
 * on the URLs given, "ready" on stdout once listening, stopped by SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcom/pcom.h>

#include "rpctest_objects.h"

static struct pcom_server *server;

static void on_term(int sig)
{
    (void)sig;
    pcom_server_stop(server);
}

int main(int argc, char **argv)
{
    struct pcom_server_options opts = {0};
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "--workers") == 0) {
        opts.workers = (unsigned)atoi(argv[2]);
        first = 3;
    }
    /* the tests shorten the send timeout through the environment, to see a stalled client dropped */
    const char *timeout = getenv("RPCTEST_SEND_TIMEOUT_MS");
    if (timeout)
        opts.send_timeout_ms = (unsigned)atoi(timeout);
    if (first >= argc) {
        fprintf(stderr, "usage: %s [--workers N] URL...\n", argv[0]);
        return 2;
    }
    if (FAILED(pcom_register_class(&CLSID_RpcTest, &rpctest_factory)) || FAILED(pcom_server_create(&opts, &server)))
        return 1;
    for (int i = first; i < argc; i++) {
        if (FAILED(pcom_server_listen(server, argv[i]))) {
            fprintf(stderr, "rpctest_server: cannot listen on %s: %s\n", argv[i], pcom_error_message());
            return 1;
        }
        printf("%s\n", pcom_server_url(server, (unsigned)(i - first)));
    }
    printf("ready\n");
    fflush(stdout);
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    HRESULT hr = pcom_server_run(server);
    size_t left = pcom_server_live_objects(server);
    pcom_server_destroy(server);
    pcom_revoke_class(&CLSID_RpcTest);
    if (left || rpctest_live_objects()) {
        fprintf(stderr, "rpctest_server: %zu exports and %ld objects left at exit\n", left,
                rpctest_live_objects());
        return 3;
    }
    return SUCCEEDED(hr) ? 0 : 1;
}
