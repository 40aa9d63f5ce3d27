/* events_publish.c: publishes one event on the publisher at URL and prints how many subscribers got it. */
#include <stdio.h>

#include "events.h"
#include "events_common.h"

#define PROGRAM "events_publish"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s PUBLISHER_URL TOPIC TEXT\n", argv[0]);
        return 2;
    }
    int status = 1;
    IPublisher *publisher = NULL;
    uint32_t delivered = 0;
    HRESULT hr = pcom_create_instance(&CLSID_Publisher, argv[1], &IID_IPublisher, (void **)&publisher);
    if (events_failed(PROGRAM, hr, "pcom_create_instance"))
        goto out;
    if (events_failed(PROGRAM, hr = IPublisher_Publish(publisher, argv[2], argv[3], &delivered), "Publish"))
        goto out;
    printf("delivered %u\n", (unsigned)delivered);
    status = 0;
out:
    if (publisher)
        IPublisher_Release(publisher);
    return status;
}
