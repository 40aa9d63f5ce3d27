/* rpc.h: what the runtime's remoting pieces share: object ids, the system object's methods, connections. */
#ifndef PCOMI_RPC_H
#define PCOMI_RPC_H

#include <pcom/pcom.h>
#include <pcom/stub.h>


#include <stdatomic.h>
#include <stdint.h>

#define PCOMI_MAX_ERROR_MESSAGE 1024
#define PCOMI_MAX_CALLS_IN_FLIGHT 128

/* Object ids are random 128-bit names chosen by the exporter; all zeros names the system object,
 * which every connection reaches and which creates instances, answers remote QueryInterface and takes
 * Releases. */
typedef struct {
    uint8_t b[16];
} pcomi_oid;

/* Unguessable: object ids are the only key to an object on a connection. False when no randomness. */
bool pcomi_random_oid(pcomi_oid *out);

/* Slots of the system object's methods. */
enum {
    PCOMI_SYS_CREATE_INSTANCE = 3, /* (REFCLSID, REFIID) -> object id */
    PCOMI_SYS_QUERY_INTERFACE,     /* (object id, REFIID) -> S_OK or E_NOINTERFACE */
    PCOMI_SYS_RELEASE,             /* (object id, count) */
    PCOMI_SYS_METHODS_
};
extern const struct pcom_method pcomi_sys_methods[PCOMI_SYS_METHODS_];
extern const IID pcomi_iid_system;

struct pcomi_sys_create_frame {
    const CLSID *clsid;
    const IID *iid;
    GUID *oid;
};
struct pcomi_sys_qi_frame {
    const GUID *oid;
    const IID *iid;
};
struct pcomi_sys_release_frame {
    const GUID *oid;
    uint32_t count;
};

HRESULT pcomi_class_factory(REFCLSID clsid, IClassFactory **out);
void pcomi_set_error_bytes(const char *s, size_t n);

/* Client side: a connection to one server URL, shared by every proxy made through it. */
struct pcomi_client;
HRESULT pcomi_client_get(const char *url, struct pcomi_client **out); /* connects or reuses; a reference */
void pcomi_client_put(struct pcomi_client *c);
/* One call: frame marshaled with m's tables, results into the frame. */
HRESULT pcomi_client_call(struct pcomi_client *c, const pcomi_oid *oid, const IID *iid, uint16_t slot,
                          const struct pcom_method *m, void *frame);
/* A proxy for (connection, object, interface); takes over one reference the server counts. */
HRESULT pcomi_proxy_create(struct pcomi_client *c, const pcomi_oid *oid, const IID *iid, void **out);

#endif
