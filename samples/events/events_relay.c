/* events_relay.c: the process that gets a reference second-hand: asks the publisher at URL for the sink of the
 * subscriber with COOKIE, and calls that sink itself, straight in the subscriber's process. */
#include <stdio.h>
#include <stdlib.h>

#include "events.h"
#include "events_common.h"

#define PROGRAM "events_relay"
#define RELAY_SEQ 0 /* the publisher numbers its events from 1: a subscriber can tell a relayed one */

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s PUBLISHER_URL COOKIE TEXT\n", argv[0]);
        return 2;
    }
    char *end;
    unsigned long cookie = strtoul(argv[2], &end, 10);
    if (*end || cookie == 0 || cookie > UINT32_MAX) {
        fprintf(stderr, "%s: not a cookie: %s\n", PROGRAM, argv[2]);
        return 2;
    }
    int status = 1;
    IPublisher *publisher = NULL;
    IEventSink *sink = NULL;
    HRESULT hr = pcom_create_instance(&CLSID_Publisher, argv[1], &IID_IPublisher, (void **)&publisher);
    if (events_failed(PROGRAM, hr, "pcom_create_instance"))
        goto out;
    if (events_failed(PROGRAM, hr = IPublisher_GetSubscriber(publisher, (uint32_t)cookie, &sink), "GetSubscriber"))
        goto out;
    /* The sink's proxy talks to the subscriber's process on a connection of its own (when the subscriber
     * listens), so the publisher is not needed any more: letting go of it first shows the call does not pass
     * through it. */
    IPublisher_Release(publisher);
    publisher = NULL;
    if (events_failed(PROGRAM, hr = IEventSink_OnEvent(sink, RELAY_SEQ, "relay", argv[3]), "OnEvent"))
        goto out;
    printf("relayed to subscriber %lu\n", cookie);
    status = 0;
out:
    if (sink)
        IEventSink_Release(sink);
    if (publisher)
        IPublisher_Release(publisher);
    return status;
}
