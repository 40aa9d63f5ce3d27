/* pcom/pcom.h: the runtime's public API: GUIDs, HRESULT names and messages. */
#ifndef PCOM_PCOM_H
#define PCOM_PCOM_H

#include <stdbool.h>
#include <stddef.h>

#include <pcom/types.h>

/* IUnknown and IClassFactory: the header generated from idl/std/pcom.idl (angle brackets, so this
 * file does not find itself) */
#include <pcom.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Length of "6f1c0a7e-1234-11d0-8e6a-00aa00bd0a87", without braces or terminator. */
#define PCOM_GUID_STRING_LEN 36

bool pcom_guid_equal(const GUID *a, const GUID *b);
/* Writes the lower-case registry form and a terminating NUL. */
void pcom_guid_format(const GUID *g, char out[PCOM_GUID_STRING_LEN + 1]);
/* Accepts the registry form, with or without braces. E_INVALIDARG on anything else; *out untouched then. */
HRESULT pcom_guid_parse(const char *s, GUID *out);

/*
 * Memory that crosses an interface: every [out] buffer a call returns is allocated with pcom_alloc and
 * freed by the caller with pcom_free, as with CoTaskMemAlloc/CoTaskMemFree. An object that returns data
 * through an [out] pointer allocates it with pcom_alloc too.
 */
void *pcom_alloc(size_t size);
void pcom_free(void *p);
/* Blocks allocated by pcom_alloc and not yet freed: for leak checks in tests. */
long pcom_alloc_live_blocks(void);

/* ---- classes and instances ---- */

/*
 * Make a class creatable by CLSID in this process, in-process and, in a server, by remote clients
 * (CoRegisterClassObject). The registry holds a reference to the factory until pcom_revoke_class.
 */
HRESULT pcom_register_class(REFCLSID clsid, IClassFactory *factory);
HRESULT pcom_revoke_class(REFCLSID clsid);

/*
 * Create an object of a class and get one of its interfaces (CoCreateInstance). url says where it lives:
 *   NULL or "inproc:"              this process's registered class; the object itself, no marshaling
 *   "unix:/path", "unix:@name"     a server listening on a Unix socket (a path, or an abstract name)
 *   "tcp://host:port"              a server on TCP, IPv4 or IPv6 ("tcp://[::1]:7000")
 *   "pipe:/path/to/server args"    a server this process starts, on a socket pair (COM's local server)
 * On success *ppv holds a reference the caller releases; on failure it is NULL. A failed call's message,
 * when the server sent one, is pcom_error_message().
 */
HRESULT pcom_create_instance(REFCLSID clsid, const char *url, REFIID iid, void **ppv);

/* Limits of the connections this process opens to servers from now on (each connection keeps the
 * values it started with). A zero field keeps its default: 64 MiB, depth 64, 128 calls in flight (also the
 * most a connection can have). E_INVALIDARG for a value above a hard maximum. */
struct pcom_client_limits {
    size_t max_message;           /* largest message body sent or accepted */
    unsigned max_depth;           /* nesting of arguments accepted in results */
    unsigned max_calls_in_flight; /* per connection; the next call fails with RPC_E_CALL_REJECTED */
};
HRESULT pcom_set_client_limits(const struct pcom_client_limits *limits);

/* Keepalive, for every connection of the process, client and server side alike: a connection that has been
 * quiet for interval_ms is sent a PING; one that has sent nothing (not even a PONG) for timeout_ms is
 * declared dead: its pending calls fail with RPC_E_DISCONNECTED and every reference its peer held is
 * released. Defaults 5000 and 20000. E_INVALIDARG unless 10 <= interval_ms < timeout_ms. */
HRESULT pcom_set_keepalive(unsigned interval_ms, unsigned timeout_ms);

/* ---- interface pointers ---- */

/*
 * Several QueryInterface calls at once (IMultiQI): on a proxy, one round trip for every interface the
 * process does not know the object has yet. out[i] and results[i] for each iids[i]; S_OK when all
 * succeeded, S_FALSE when some did, E_NOINTERFACE when none. n is at most 64.
 */
HRESULT pcom_query_interfaces(void *object, unsigned n, const IID *iids, void **out, HRESULT *results);

/*
 * A reference to an object as text ("pcomref:..."), to pass out of band: a file, an environment variable, a
 * command line (CoMarshalInterface with table-strong semantics). Any process may turn the text into a proxy
 * with pcom_unmarshal_interface, any number of times, until pcom_release_marshal_data(text) or until the
 * object's process exits; the object stays alive meanwhile. The exporting process needs a listening server for
 * another process to reach it. *text is freed with pcom_free.
 */
HRESULT pcom_marshal_interface(REFIID iid, void *itf, char **text);
/* The interface iid of the object text names: a proxy, or the object itself in its own process. */
HRESULT pcom_unmarshal_interface(const char *text, REFIID iid, void **ppv);
HRESULT pcom_release_marshal_data(const char *text);

/* ---- errors ---- */

/* An object sets the message that travels back with the failing HRESULT it is about to return. */
void pcom_set_error_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The message of the last failed call made by this thread ("" when there was none). */
const char *pcom_error_message(void);

/* ---- servers ---- */

struct pcom_server;

struct pcom_server_options {
    unsigned workers;           /* threads running calls; 0: 4 */
    size_t max_message;         /* largest message body accepted; 0: 64 MiB */
    unsigned max_depth;         /* nesting of arguments; 0: 64 */
    unsigned max_calls_in_flight; /* per connection; 0: 128 */
    unsigned send_timeout_ms;   /* a client that stops reading this long loses its connection; 0: 10 s */
};

HRESULT pcom_server_create(const struct pcom_server_options *opts, struct pcom_server **out);
/* Listen on a URL as pcom_create_instance takes it; tcp port 0 picks a free port. */
HRESULT pcom_server_listen(struct pcom_server *s, const char *url);
/* The URL of the i-th listener as a client would connect to it (the real port), or NULL. */
const char *pcom_server_url(struct pcom_server *s, unsigned i);
/* Serve until pcom_server_stop. */
HRESULT pcom_server_run(struct pcom_server *s);
/* Ask a running server to stop: no new connections or calls; calls in progress are answered. Safe from
 * a signal handler and from any thread. */
void pcom_server_stop(struct pcom_server *s);
/* Free a stopped (or never run) server: closes connections, releases every object clients held,
 * removes socket files. */
void pcom_server_destroy(struct pcom_server *s);
/* Objects this process exported (to clients, to servers it called, or as text) and not yet released. */
size_t pcom_server_live_objects(struct pcom_server *s);

/* "E_NOINTERFACE" for a known code, else NULL. */
const char *pcom_hresult_name(HRESULT hr);
/* A short English description; "unknown error" for a failure code pcom does not know. */
const char *pcom_hresult_message(HRESULT hr);

#ifdef __cplusplus
}
#endif

#endif
