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

static const struct pcom_type i32_type = {
    .kind = PCOM_KIND_I32, .flags = PCOM_TF_FLAT, .align = 4, .size = 4, .name = "HRESULT"};

static bool create_iid(const void *base, const IID **out)
{
    *out = ((const struct pcomi_sys_create_frame *)base)->iid;
    return *out != NULL;
}
static const struct pcom_type created_itf = {.kind = PCOM_KIND_INTERFACE, .align = _Alignof(void *),
                                             .size = sizeof(void *), .iid_is = create_iid, .name = "IUnknown *"};
static const struct pcom_type created_out = {.kind = PCOM_KIND_POINTER, .align = _Alignof(void *),
                                             .size = sizeof(void *), .elem = &created_itf, .name = "IUnknown **"};
static const struct pcom_param create_params[] = {
    {offsetof(struct pcomi_sys_create_frame, clsid), PCOM_PF_IN, &ref_guid, "clsid"},
    {offsetof(struct pcomi_sys_create_frame, iid), PCOM_PF_IN, &ref_guid, "iid"},
    {offsetof(struct pcomi_sys_create_frame, ppv), PCOM_PF_OUT, &created_out, "ppv"},
};

static bool qi_count(const void *base, uint64_t *out)
{
    *out = ((const struct pcomi_sys_qi_frame *)base)->n;
    return true;
}
static const struct pcom_type qi_iids = {.kind = PCOM_KIND_POINTER, .align = _Alignof(void *), .size = sizeof(void *),
                                         .elem = &guid_type, .size_is = qi_count, .name = "IID *"};
static const struct pcom_type qi_hrs = {.kind = PCOM_KIND_POINTER, .align = _Alignof(void *), .size = sizeof(void *),
                                        .elem = &i32_type, .size_is = qi_count, .name = "HRESULT *"};
static const struct pcom_type qi_n = {.kind = PCOM_KIND_U32, .flags = PCOM_TF_FLAT | PCOM_TF_RANGE, .align = 4,
                                      .size = 4, .range_min = 1, .range_max = PCOMI_MAX_QI_BATCH, .name = "uint32_t"};
static const struct pcom_param qi_params[] = {
    {offsetof(struct pcomi_sys_qi_frame, oid), PCOM_PF_IN, &ref_guid, "oid"},
    {offsetof(struct pcomi_sys_qi_frame, n), PCOM_PF_IN, &qi_n, "n"},
    {offsetof(struct pcomi_sys_qi_frame, iids), PCOM_PF_IN, &qi_iids, "iids"},
    {offsetof(struct pcomi_sys_qi_frame, hrs), PCOM_PF_OUT, &qi_hrs, "hrs"},
};

static const struct pcom_field release_entry_fields[] = {
    {offsetof(struct pcomi_release_entry, oid), &guid_type},
    {offsetof(struct pcomi_release_entry, count), &u32_type},
};
_Static_assert(sizeof(struct pcomi_release_entry) == 20, "a release entry is flat: 16 + 4 bytes");
static const struct pcom_type release_entry = {.kind = PCOM_KIND_STRUCT, .flags = PCOM_TF_FLAT,
                                               .align = _Alignof(struct pcomi_release_entry),
                                               .size = sizeof(struct pcomi_release_entry), .count = 2,
                                               .fields = release_entry_fields, .name = "release entry"};
static bool release_count(const void *base, uint64_t *out)
{
    *out = ((const struct pcomi_sys_release_frame *)base)->n;
    return true;
}
static const struct pcom_type release_n = {.kind = PCOM_KIND_U32, .flags = PCOM_TF_FLAT | PCOM_TF_RANGE, .align = 4,
                                           .size = 4, .range_min = 1, .range_max = PCOMI_MAX_RELEASE_BATCH,
                                           .name = "uint32_t"};
static const struct pcom_type release_entries = {.kind = PCOM_KIND_POINTER, .align = _Alignof(void *),
                                                 .size = sizeof(void *), .elem = &release_entry,
                                                 .size_is = release_count, .name = "release entries"};
static const struct pcom_param release_params[] = {
    {offsetof(struct pcomi_sys_release_frame, n), PCOM_PF_IN, &release_n, "n"},
    {offsetof(struct pcomi_sys_release_frame, entries), PCOM_PF_IN, &release_entries, "entries"},
};

static const struct pcom_param lend_params[] = {
    {offsetof(struct pcomi_sys_lend_frame, oid), PCOM_PF_IN, &ref_guid, "oid"},
    {offsetof(struct pcomi_sys_lend_frame, flags), PCOM_PF_IN, &u32_type, "flags"},
    {offsetof(struct pcomi_sys_lend_frame, token), PCOM_PF_OUT, &ref_guid, "token"},
};
static const struct pcom_param claim_params[] = {
    {offsetof(struct pcomi_sys_claim_frame, token), PCOM_PF_IN, &ref_guid, "token"},
    {offsetof(struct pcomi_sys_claim_frame, oid), PCOM_PF_IN, &ref_guid, "oid"},
};
static const struct pcom_param revoke_params[] = {
    {offsetof(struct pcomi_sys_revoke_frame, token), PCOM_PF_IN, &ref_guid, "token"},
};

#define SYS_METHOD(slot, name, frame, params, fn)                                                                   \
    [slot] = {name, sizeof(struct frame), _Alignof(struct frame), sizeof(params) / sizeof(params[0]), params, fn}

const struct pcom_method pcomi_sys_methods[PCOMI_SYS_METHODS_] = {
    SYS_METHOD(PCOMI_SYS_CREATE_INSTANCE, "CreateInstance", pcomi_sys_create_frame, create_params,
               pcomi_sys_create_instance),
    SYS_METHOD(PCOMI_SYS_QUERY_INTERFACE, "RemQueryInterface", pcomi_sys_qi_frame, qi_params,
               pcomi_sys_query_interface),
    SYS_METHOD(PCOMI_SYS_RELEASE, "RemRelease", pcomi_sys_release_frame, release_params, pcomi_sys_release),
    SYS_METHOD(PCOMI_SYS_LEND, "Lend", pcomi_sys_lend_frame, lend_params, pcomi_sys_lend),
    SYS_METHOD(PCOMI_SYS_CLAIM, "Claim", pcomi_sys_claim_frame, claim_params, pcomi_sys_claim),
    SYS_METHOD(PCOMI_SYS_REVOKE, "Revoke", pcomi_sys_revoke_frame, revoke_params, pcomi_sys_revoke),
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
    struct pcomi_channel *ch;
    HRESULT hr = pcomi_channel_get(url, &ch);
    if (FAILED(hr))
        return hr;
    static const pcomi_oid system;
    struct pcomi_sys_create_frame f = {clsid, iid, ppv};
    hr = pcomi_channel_call(ch, &system, &pcomi_iid_system, PCOMI_SYS_CREATE_INSTANCE,
                            &pcomi_sys_methods[PCOMI_SYS_CREATE_INSTANCE], &f);
    pcomi_channel_put(ch); /* the proxy holds its own use of the connection */
    return hr;
}
