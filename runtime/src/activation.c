/* activation.c: creating instances by CLSID, here or in a server, and the system object's method tables. */
#include "rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* The system object's interface id: not a COM interface, only a name on the wire. */
const IID pcomi_iid_system = {0x70636f6d, 0x0000, 0x0000, {0x73, 0x79, 0x73, 0x74, 0x65, 0x6d, 0x00, 0x01}};

static const struct pcom_type guid_type = {
    .kind = PCOM_KIND_GUID, .flags = PCOM_TF_FLAT, .align = _Alignof(GUID), .size = sizeof(GUID), .name = "GUID"};
static const struct pcom_type ref_guid = {
    .kind = PCOM_KIND_POINTER, .align = _Alignof(void *), .size = sizeof(void *), .elem = &guid_type, .name = "GUID *"};
static const struct pcom_type u32_type = {
    .kind = PCOM_KIND_U32, .flags = PCOM_TF_FLAT, .align = 4, .size = 4, .name = "uint32_t"};

static const struct pcom_param create_params[] = {
    {offsetof(struct pcomi_sys_create_frame, clsid), PCOM_PF_IN, &ref_guid, "clsid"},
    {offsetof(struct pcomi_sys_create_frame, iid), PCOM_PF_IN, &ref_guid, "iid"},
    {offsetof(struct pcomi_sys_create_frame, oid), PCOM_PF_OUT, &ref_guid, "oid"},
};
static const struct pcom_param qi_params[] = {
    {offsetof(struct pcomi_sys_qi_frame, oid), PCOM_PF_IN, &ref_guid, "oid"},
    {offsetof(struct pcomi_sys_qi_frame, iid), PCOM_PF_IN, &ref_guid, "iid"},
};
static const struct pcom_param release_params[] = {
    {offsetof(struct pcomi_sys_release_frame, oid), PCOM_PF_IN, &ref_guid, "oid"},
    {offsetof(struct pcomi_sys_release_frame, count), PCOM_PF_IN, &u32_type, "count"},
};

/* The server fills in invoke: these functions live with the export tables in server.c. */
HRESULT pcomi_sys_create_instance(void *conn, void *frame);
HRESULT pcomi_sys_query_interface(void *conn, void *frame);
HRESULT pcomi_sys_release(void *conn, void *frame);

const struct pcom_method pcomi_sys_methods[PCOMI_SYS_METHODS_] = {
    [PCOMI_SYS_CREATE_INSTANCE] = {"CreateInstance", sizeof(struct pcomi_sys_create_frame),
                                   _Alignof(struct pcomi_sys_create_frame), 3, create_params,
                                   pcomi_sys_create_instance},
    [PCOMI_SYS_QUERY_INTERFACE] = {"RemQueryInterface", sizeof(struct pcomi_sys_qi_frame),
                                   _Alignof(struct pcomi_sys_qi_frame), 2, qi_params, pcomi_sys_query_interface},
    [PCOMI_SYS_RELEASE] = {"RemRelease", sizeof(struct pcomi_sys_release_frame),
                           _Alignof(struct pcomi_sys_release_frame), 2, release_params, pcomi_sys_release},
};

bool pcomi_random_oid(pcomi_oid *out)
{
    size_t got = 0;
    while (got < sizeof(out->b)) {
        ssize_t n = getrandom(out->b + got, sizeof(out->b) - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (n < 0 && errno != EINTR)
            break; /* no getrandom (old kernel, seccomp): the device instead */
    }
    if (got == sizeof(out->b))
        return true;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    got = 0;
    while (got < sizeof(out->b)) {
        ssize_t n = read(fd, out->b + got, sizeof(out->b) - got);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            break;
        if (n > 0)
            got += (size_t)n;
    }
    close(fd);
    return got == sizeof(out->b);
}

HRESULT pcom_create_instance(REFCLSID clsid, const char *url, REFIID iid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (!clsid || !iid)
        return E_POINTER;
    pcom_set_error_message(NULL);
    if (!url || strcmp(url, "inproc:") == 0) {
        IClassFactory *factory;
        HRESULT hr = pcomi_class_factory(clsid, &factory);
        if (FAILED(hr))
            return hr;
        hr = IClassFactory_CreateInstance(factory, NULL, iid, ppv);
        IClassFactory_Release(factory);
        if (FAILED(hr))
            *ppv = NULL;
        return hr;
    }
    if (!pcom_find_interface(iid)) {
        pcom_set_error_message("no proxy tables are linked for the requested interface");
        return E_NOINTERFACE;
    }
    struct pcomi_client *c;
    HRESULT hr = pcomi_client_get(url, &c);
    if (FAILED(hr))
        return hr;
    pcomi_oid system = {{0}}, oid;
    struct pcomi_sys_create_frame f = {clsid, iid, (GUID *)oid.b};
    hr = pcomi_client_call(c, &system, &pcomi_iid_system, PCOMI_SYS_CREATE_INSTANCE,
                           &pcomi_sys_methods[PCOMI_SYS_CREATE_INSTANCE], &f);
    if (SUCCEEDED(hr)) {
        hr = pcomi_proxy_create(c, &oid, iid, ppv);
        if (SUCCEEDED(hr))
            return hr; /* the proxy owns the connection reference now */
        struct pcomi_sys_release_frame r = {(const GUID *)oid.b, 1};
        pcomi_client_call(c, &system, &pcomi_iid_system, PCOMI_SYS_RELEASE,
                          &pcomi_sys_methods[PCOMI_SYS_RELEASE], &r);
    }
    pcomi_client_put(c);
    return hr;
}
