/* calculator_impl.h: the sample's Calculator class, shared by the in-process demo and the server. */
#ifndef CALCULATOR_IMPL_H
#define CALCULATOR_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include <pcom/pcom.h>

#include "calculator.h"

HRESULT calculator_create(REFIID riid, void **ppv);
IClassFactory *calculator_factory(void);
long calculator_live_objects(void);

#endif
