/* registry.c: the process's tables of interfaces (marshaling tables by IID) and of registered classes. */
#include "rpc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Interfaces register from constructors before main and are looked up on every unmarshal: a small
 * array under a read-write lock is enough. */
static pthread_rwlock_t iface_lock = PTHREAD_RWLOCK_INITIALIZER;
static const struct pcom_interface_info **ifaces;
static size_t niface, capiface;

HRESULT pcom_register_interface(const struct pcom_interface_info *info)
{
    if (!info || !info->iid)
        return E_POINTER;
    if (info->magic != PCOM_INTERFACE_INFO_MAGIC || info->version != PCOM_STUB_ABI_VERSION || info->nmethods < 3)
        return E_INVALIDARG;
    HRESULT hr = S_OK;
    pthread_rwlock_wrlock(&iface_lock);
    for (size_t i = 0; i < niface; i++)
        if (pcom_guid_equal(ifaces[i]->iid, info->iid))
            goto out; /* the same tables linked twice (two _p.c of one IDL): the first stays */
    if (niface == capiface) {
        size_t cap = capiface ? capiface * 2 : 32;
        const struct pcom_interface_info **n = realloc(ifaces, cap * sizeof(*n));
        if (!n) {
            hr = E_OUTOFMEMORY;
            goto out;
        }
        ifaces = n;
        capiface = cap;
    }
    ifaces[niface++] = info;
out:
    pthread_rwlock_unlock(&iface_lock);
    return hr;
}

const struct pcom_interface_info *pcom_find_interface(const IID *iid)
{
    const struct pcom_interface_info *found = NULL;
    pthread_rwlock_rdlock(&iface_lock);
    for (size_t i = 0; i < niface && !found; i++)
        if (pcom_guid_equal(ifaces[i]->iid, iid))
            found = ifaces[i];
    pthread_rwlock_unlock(&iface_lock);
    return found;
}

/* ---- classes ---- */

struct class_entry {
    CLSID clsid;
    IClassFactory *factory;
    struct class_entry *next;
};

static pthread_mutex_t class_lock = PTHREAD_MUTEX_INITIALIZER;
static struct class_entry *classes;

HRESULT pcom_register_class(REFCLSID clsid, IClassFactory *factory)
{
    if (!clsid || !factory)
        return E_POINTER;
    struct class_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return E_OUTOFMEMORY;
    HRESULT hr = S_OK;
    pthread_mutex_lock(&class_lock);
    for (struct class_entry *c = classes; c; c = c->next) {
        if (pcom_guid_equal(&c->clsid, clsid)) {
            pcom_set_error_message("class is already registered");
            hr = E_INVALIDARG;
            break;
        }
    }
    if (SUCCEEDED(hr)) {
        e->clsid = *clsid;
        e->factory = factory;
        IClassFactory_AddRef(factory);
        e->next = classes;
        classes = e;
        e = NULL;
    }
    pthread_mutex_unlock(&class_lock);
    free(e);
    return hr;
}

HRESULT pcom_revoke_class(REFCLSID clsid)
{
    if (!clsid)
        return E_POINTER;
    struct class_entry *found = NULL;
    pthread_mutex_lock(&class_lock);
    for (struct class_entry **pp = &classes; *pp; pp = &(*pp)->next) {
        if (pcom_guid_equal(&(*pp)->clsid, clsid)) {
            found = *pp;
            *pp = found->next;
            break;
        }
    }
    pthread_mutex_unlock(&class_lock);
    if (!found)
        return REGDB_E_CLASSNOTREG;
    IClassFactory_Release(found->factory);
    free(found);
    return S_OK;
}

HRESULT pcomi_class_factory(REFCLSID clsid, IClassFactory **out)
{
    HRESULT hr = REGDB_E_CLASSNOTREG;
    pthread_mutex_lock(&class_lock);
    for (struct class_entry *c = classes; c; c = c->next) {
        if (pcom_guid_equal(&c->clsid, clsid)) {
            *out = c->factory;
            IClassFactory_AddRef(c->factory);
            hr = S_OK;
            break;
        }
    }
    pthread_mutex_unlock(&class_lock);
    if (FAILED(hr)) {
        char text[PCOM_GUID_STRING_LEN + 1];
        pcom_guid_format(clsid, text);
        pcom_set_error_message("class {%s} is not registered in this process", text);
    }
    return hr;
}
