/* objtest_objects.h: the objects of the object reference tests, made in the test and in its servers alike. */
#ifndef PCOM_TEST_OBJTEST_OBJECTS_H
#define PCOM_TEST_OBJTEST_OBJECTS_H

#include <pcom/pcom.h>

#include "objtest.h"

ISink *sink_new(void);
int32_t sink_total(ISink *s);
unsigned long sink_refs(ISink *s);
IChain *chain_new(void);
IHub *hub_new(void);
/* Objects of these kinds alive in this process. */
long objtest_live(void);
extern IClassFactory objtest_hub_factory;

#endif
