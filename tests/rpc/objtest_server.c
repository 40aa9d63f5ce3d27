/* objtest_server.c: the processes the object reference tests start: a hub server ("serve"), a subscriber that
 * waits to be called back, killed or frozen ("subscribe"), and a holder of a reference given as text ("call"). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcom/pcom.h>

#include "objtest_objects.h"

static struct pcom_server *server;

static void on_term(int sig)
{
    (void)sig;
    pcom_server_stop(server);
}

/* OBJTEST_KEEPALIVE=interval,timeout (ms) shortens keepalive so tests see frozen peers found quickly. */
static void keepalive_from_env(void)
{
    const char *k = getenv("OBJTEST_KEEPALIVE");
    unsigned interval, timeout;
    if (k && sscanf(k, "%u,%u", &interval, &timeout) == 2 && FAILED(pcom_set_keepalive(interval, timeout)))
        fprintf(stderr, "objtest_server: bad OBJTEST_KEEPALIVE %s\n", k);
}

static int serve(int argc, char **argv)
{
    struct pcom_server_options opts = {0};
    int first = 0;
    if (argc > 1 && strcmp(argv[0], "--workers") == 0) {
        opts.workers = (unsigned)atoi(argv[1]);
        first = 2;
    }
    if (FAILED(pcom_register_class(&CLSID_Hub, &objtest_hub_factory)) || FAILED(pcom_server_create(&opts, &server)))
        return 1;
    for (int i = first; i < argc; i++) {
        if (FAILED(pcom_server_listen(server, argv[i]))) {
            fprintf(stderr, "objtest_server: cannot listen on %s: %s\n", argv[i], pcom_error_message());
            return 1;
        }
        printf("%s\n", pcom_server_url(server, (unsigned)(i - first)));
    }
    printf("ready\n");
    fflush(stdout);
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    HRESULT hr = pcom_server_run(server);
    pcom_server_destroy(server);
    pcom_revoke_class(&CLSID_Hub);
    /* what clients held went with their connections; anything left is a leak of the runtime's */
    size_t left = pcom_server_live_objects(NULL);
    if (left || objtest_live()) {
        fprintf(stderr, "objtest_server: %zu exports and %ld objects left at exit\n", left, objtest_live());
        return 3;
    }
    return SUCCEEDED(hr) ? 0 : 1;
}

/* Subscribes a sink of this process to the hub a text reference names, holds one more object of the hub's
 * process, says so, and waits to be called, killed or frozen. */
static int subscribe(const char *text)
{
    IHub *hub, *held;
    HRESULT hr = pcom_unmarshal_interface(text, &IID_IHub, (void **)&hub);
    if (SUCCEEDED(hr))
        hr = IHub_NewHub(hub, &held);
    ISink *sink = sink_new();
    if (SUCCEEDED(hr))
        hr = IHub_Subscribe(hub, sink);
    if (FAILED(hr)) {
        fprintf(stderr, "objtest_server: subscribe: %s %s\n", pcom_hresult_name(hr), pcom_error_message());
        return 1;
    }
    printf("subscribed\n");
    fflush(stdout);
    for (;;)
        pause();
}

/* Calls the hub a text reference names and prints its pid. */
static int call(const char *text)
{
    IHub *hub;
    HRESULT hr = pcom_unmarshal_interface(text, &IID_IHub, (void **)&hub);
    if (FAILED(hr)) {
        printf("error %s\n", pcom_hresult_name(hr));
        return 1;
    }
    uint32_t pid = 0;
    hr = IHub_Pid(hub, &pid);
    IHub_Release(hub);
    printf("%s %u\n", SUCCEEDED(hr) ? "pid" : pcom_hresult_name(hr), pid);
    return SUCCEEDED(hr) ? 0 : 1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    keepalive_from_env();
    if (argc > 1 && strcmp(argv[1], "serve") == 0)
        return serve(argc - 2, argv + 2);
    if (argc == 3 && strcmp(argv[1], "subscribe") == 0)
        return subscribe(argv[2]);
    if (argc == 3 && strcmp(argv[1], "call") == 0)
        return call(argv[2]);
    fprintf(stderr, "usage: %s serve [--workers N] URL... | subscribe TEXT | call TEXT\n", argv[0]);
    return 2;
}
