/* rpc.h: what the runtime's remoting pieces share: ids, the system object, channels, exports and proxies. */
#ifndef PCOMI_RPC_H
#define PCOMI_RPC_H

#include <pcom/pcom.h>
#include <pcom/stub.h>

#include "marshal.h"
#include "transport.h"

#include <stdatomic.h>
#include <stdint.h>

#define PCOMI_MAX_ERROR_MESSAGE 1024
#define PCOMI_MAX_CALLS_IN_FLIGHT 128
#define PCOMI_MAX_ENDPOINTS 8 /* a process advertises at most this many listener URLs */

/* Object ids, exporter ids and tokens are random 128-bit names; all zeros names the system object. */
typedef struct {
    uint8_t b[16];
} pcomi_oid;

/* Unguessable: an object id is the only key to an object. False when there is no randomness. */
bool pcomi_random_oid(pcomi_oid *out);
bool pcomi_oid_is_zero(const pcomi_oid *id);

/* ---- the system object (docs/wire.md) ---- */

enum {
    PCOMI_SYS_CREATE_INSTANCE = 3, /* (REFCLSID, REFIID) -> object reference */
    PCOMI_SYS_QUERY_INTERFACE,     /* (object id, n, IIDs) -> n HRESULTs */
    PCOMI_SYS_RELEASE,             /* (n, {object id, count}) one-way */
    PCOMI_SYS_LEND,                /* (object id, flags) -> token: a reference for a third party */
    PCOMI_SYS_CLAIM,               /* (token, object id): the lent reference becomes this connection's */
    PCOMI_SYS_REVOKE,              /* (token): a lasting token is withdrawn */
    PCOMI_SYS_METHODS_
};
extern const struct pcom_method pcomi_sys_methods[PCOMI_SYS_METHODS_];
extern const IID pcomi_iid_system;

#define PCOMI_LEND_LASTING 1u /* the token may be claimed any number of times until revoked */
#define PCOMI_MAX_QI_BATCH 64
#define PCOMI_MAX_RELEASE_BATCH 4096

struct pcomi_sys_create_frame {
    const CLSID *clsid;
    const IID *iid;
    void **ppv;
};
struct pcomi_sys_qi_frame {
    const GUID *oid;
    uint32_t n;
    const IID *iids;
    HRESULT *hrs;
};
struct pcomi_release_entry {
    GUID oid;
    uint32_t count;
};
struct pcomi_sys_release_frame {
    uint32_t n;
    const struct pcomi_release_entry *entries;
};
struct pcomi_sys_lend_frame {
    const GUID *oid;
    uint32_t flags;
    GUID *token;
};
struct pcomi_sys_claim_frame {
    const GUID *token;
    const GUID *oid;
};
struct pcomi_sys_revoke_frame {
    const GUID *token;
};

HRESULT pcomi_class_factory(REFCLSID clsid, IClassFactory **out);
void pcomi_set_error_bytes(const char *s, size_t n);

/* ---- channels (channel.c): one connection, calls both ways ---- */

struct pcomi_channel;
struct pcomi_pool;

/* Who is at the other end, from its HELLO. */
struct pcomi_peer {
    pcomi_oid exporter; /* zero until (unless) the peer said HELLO */
    unsigned nendpoints;
    char endpoints[PCOMI_MAX_ENDPOINTS][PCOMI_URL_MAX];
};

/* The outbound channel to a URL: connected (and greeted) or shared. A use the caller gives back. */
HRESULT pcomi_channel_get(const char *url, struct pcomi_channel **out);
/* A channel whose peer is exporter id and is reachable at one of the urls, or a new one to the first that
 * answers as that exporter. */
HRESULT pcomi_channel_find_exporter(const pcomi_oid *exporter, const struct pcomi_peer *where,
                                    struct pcomi_channel **out);
void pcomi_channel_use(struct pcomi_channel *ch);
void pcomi_channel_put(struct pcomi_channel *ch);
/* One call on the peer's object; interface pointers in the frame travel as object references. */
HRESULT pcomi_channel_call(struct pcomi_channel *ch, const pcomi_oid *oid, const IID *iid, uint16_t slot,
                           const struct pcom_method *m, void *frame);
/* Queues Releases for the peer's object, sent in batches. */
void pcomi_channel_release_later(struct pcomi_channel *ch, const pcomi_oid *oid, uint32_t count);
const struct pcomi_peer *pcomi_channel_peer(const struct pcomi_channel *ch);
bool pcomi_channel_dead(const struct pcomi_channel *ch);

/* Server side: a channel over an accepted connection, its calls run by pool. on_close runs once the channel
 * ended and released what its peer held. */
struct pcomi_server_conn_opts {
    struct pcomi_pool *pool;
    struct pcomi_limits lim;
    unsigned max_calls;
    unsigned send_timeout_ms;
    void (*on_close)(void *arg, struct pcomi_channel *ch);
    void *arg;
};
HRESULT pcomi_channel_accept(struct pcomi_conn *conn, const struct pcomi_server_conn_opts *opts,
                             struct pcomi_channel **out);
void pcomi_channel_shutdown(struct pcomi_channel *ch);

/* Worker pools run incoming calls that no waiting thread of their logical thread takes. */
HRESULT pcomi_pool_create(unsigned workers, struct pcomi_pool **out);
/* No new calls (they are answered RPC_E_DISCONNECTED); returns once the calls taken are answered. */
void pcomi_pool_drain(struct pcomi_pool *p);
void pcomi_pool_destroy(struct pcomi_pool *p);

/* ---- the exporter (exporter.c): this process's objects that peers hold ---- */

const pcomi_oid *pcomi_exporter_id(void);
/* This process's endpoints (the listeners of its running servers), for HELLO and object references. */
void pcomi_exporter_endpoints(struct pcomi_peer *out);
void pcomi_exporter_add_endpoint(const char *url);
void pcomi_exporter_remove_endpoint(const char *url);
/* Exports the object behind itf (or finds its export) and counts one reference for ch (NULL: for a token
 * made by pcomi_export_lend_local). */
HRESULT pcomi_export(struct pcomi_channel *ch, const IID *iid, void *itf, pcomi_oid *oid);
/* The interface of an object ch holds, with a reference for the call, or a failure to send back. */
HRESULT pcomi_export_find(struct pcomi_channel *ch, const uint8_t oid[16], const IID *iid, uint16_t method,
                          void **itf, const struct pcom_interface_info **info);
/* A local object by id, for a reference coming home: with a token, the reference it lent; without, one of the
 * references ch holds, which the sender gave up. */
HRESULT pcomi_export_home(struct pcomi_channel *ch, const pcomi_oid *oid, const pcomi_oid *token, const IID *iid,
                          void **out);
/* A token for a local object (out-of-band marshaling); lasting tokens stay until revoked. */
HRESULT pcomi_export_lend_local(const IID *iid, void *itf, uint32_t flags, pcomi_oid *oid, pcomi_oid *token);
HRESULT pcomi_export_revoke(const pcomi_oid *token);
/* Everything ch's peer held is released. */
void pcomi_exports_drop_channel(struct pcomi_channel *ch);
size_t pcomi_exports_live(void);
/* Single-use tokens past their time are released; returns ms until the next expiry, or -1. */
long pcomi_exports_expire(void);
/* The system object's methods; the object is the calling channel. */
HRESULT pcomi_sys_create_instance(void *ch, void *frame);
HRESULT pcomi_sys_query_interface(void *ch, void *frame);
HRESULT pcomi_sys_release(void *ch, void *frame);
HRESULT pcomi_sys_lend(void *ch, void *frame);
HRESULT pcomi_sys_claim(void *ch, void *frame);
HRESULT pcomi_sys_revoke(void *ch, void *frame);

/* The body of a HELLO; false when it is malformed. */
bool pcomi_hello_parse(const uint8_t *b, size_t len, struct pcomi_peer *out);

/* ---- proxies and object references (proxy.c) ---- */

/* An object reference (docs/wire.md) */
enum {
    PCOMI_ORF_CONN = 1,  /* one reference, counted by the exporter for the connection the reference travels on */
    PCOMI_ORF_TOKEN = 2, /* one reference lent by the exporter, claimed with the token */
};
#define PCOMI_OBJREF_FIXED 72
struct pcomi_objref {
    uint32_t flags;
    pcomi_oid oid, token;
    IID iid;
    struct pcomi_peer where; /* exporter and endpoints */
};
HRESULT pcomi_objref_parse(const uint8_t *b, size_t len, struct pcomi_objref *r);
HRESULT pcomi_objref_write(const struct pcomi_objref *r, struct pcomi_wbuf *out);
/* The endpoint list that ends a HELLO and an object reference: count (at most PCOMI_MAX_ENDPOINTS, checked by the
 * caller) URLs, each a u32 length and its bytes, from b + pos to exactly b + len. False when it is malformed. */
bool pcomi_endpoints_parse(const uint8_t *b, size_t len, size_t pos, uint32_t count, struct pcomi_peer *p);
HRESULT pcomi_endpoints_write(const struct pcomi_peer *p, struct pcomi_wbuf *out);

/* What marshaling one message counted for its channel, so a message that is not sent gives it back. */
struct pcomi_journal_entry {
    pcomi_oid oid;
    bool exported; /* an object of this process; else a proxy's reference handed back to its exporter */
};
struct pcomi_objref_journal {
    struct pcomi_journal_entry *e;
    size_t n, cap;
    bool lost; /* an entry could not be recorded: its reference stays counted until the connection ends */
    struct pcomi_objref_journal *outer;
};
/* Records the references the calling thread marshals until pcomi_journal_stop. */
void pcomi_journal_start(struct pcomi_objref_journal *j);
void pcomi_journal_stop(struct pcomi_objref_journal *j);
/* Gives back what j recorded for ch, and frees j's memory. */
void pcomi_journal_undo(struct pcomi_channel *ch, struct pcomi_objref_journal *j);
void pcomi_journal_free(struct pcomi_objref_journal *j);
/* One reference ch holds on one of our objects, given back as a RemRelease from its peer would. */
void pcomi_export_unhold(struct pcomi_channel *ch, const pcomi_oid *oid);

/* The engine's hooks for a channel: interface pointers to object references and back. */
HRESULT pcomi_objref_marshal(void *ch, const IID *iid, void *itf, struct pcomi_wbuf *out);
HRESULT pcomi_objref_unmarshal(void *ch, const IID *iid, const uint8_t *ref, size_t n, void **out);

#endif
