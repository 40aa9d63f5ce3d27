/* events_common.h: what every program of the events sample shares: how a failed call is reported. */
#ifndef EVENTS_COMMON_H
#define EVENTS_COMMON_H

#include <stdio.h>

#include <pcom/pcom.h>

/* Reports a failed call on stderr, prefixed with the program's name, and says whether it failed. The message the
 * object attached travels with the HRESULT; without one, the HRESULT's own description says what happened. */
static inline int events_failed(const char *program, HRESULT hr, const char *what)
{
    if (SUCCEEDED(hr))
        return 0;
    const char *name = pcom_hresult_name(hr);
    fprintf(stderr, "%s: %s failed: 0x%08x %s: %s\n", program, what, (unsigned)hr, name ? name : "",
            pcom_error_message()[0] ? pcom_error_message() : pcom_hresult_message(hr));
    return 1;
}

#endif
