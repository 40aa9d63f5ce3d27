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
    /* formatted aside first: the arguments may include pcom_error_message() itself */
    char text[PCOMI_MAX_ERROR_MESSAGE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    memcpy(message, text, sizeof(message));
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
