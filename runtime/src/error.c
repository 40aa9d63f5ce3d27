/* error.c: the error message that travels with a failing call, one per thread. */
#include "rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char message[PCOMI_MAX_ERROR_MESSAGE];

void pcom_set_error_message(const char *fmt, ...)
{
    if (!fmt) {
        message[0] = '\0';
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
}

const char *pcom_error_message(void)
{
    return message;
}

void pcomi_set_error_bytes(const char *s, size_t n)
{
    if (n >= sizeof(message))
        n = sizeof(message) - 1;
    memcpy(message, s, n);
    message[n] = '\0';
}
