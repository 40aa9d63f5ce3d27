/* calculator_server.c: serves the Calculator class on the URLs given on the command line until SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "calculator_impl.h"

static struct pcom_server *server;

static void on_signal(int sig)
{
    (void)sig;
    pcom_server_stop(server); /* async-signal-safe: one write to a pipe */
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL...   (unix:/path, unix:@name, tcp://host:port, shm:name)\n", argv[0]);
        return 2;
    }
    HRESULT hr = pcom_register_class(&CLSID_Calculator, calculator_factory());
    if (FAILED(hr) || FAILED(hr = pcom_server_create(NULL, &server))) {
        fprintf(stderr, "calculator_server: %s\n", pcom_hresult_message(hr));
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (FAILED(hr = pcom_server_listen(server, argv[i]))) {
            fprintf(stderr, "calculator_server: %s: %s (%s)\n", argv[i], pcom_hresult_message(hr),
                    pcom_error_message());
            pcom_server_destroy(server);
            return 1;
        }
        printf("listening on %s\n", pcom_server_url(server, (unsigned)i - 1));
    }
    fflush(stdout);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    hr = pcom_server_run(server);
    size_t left = pcom_server_live_objects(server);
    pcom_server_destroy(server);
    pcom_revoke_class(&CLSID_Calculator);
    printf("stopped; %zu objects left, %ld calculators alive\n", left, calculator_live_objects());
    return SUCCEEDED(hr) && left == 0 && calculator_live_objects() == 0 ? 0 : 1;
}
