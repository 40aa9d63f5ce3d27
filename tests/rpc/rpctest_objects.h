/* rpctest_objects.h: the object of the runtime's integration tests, made in rpctest_server and in the test alike. */
#ifndef PCOM_TEST_RPCTEST_OBJECTS_H
#define PCOM_TEST_RPCTEST_OBJECTS_H

#include <pcom/pcom.h>

#include "rpctest.h"

/* Creates RpcTest objects (IRpcTest and IRpcOther on one object). */
extern IClassFactory rpctest_factory;
/* RpcTest objects alive in this process. */
long rpctest_live_objects(void);

#endif
