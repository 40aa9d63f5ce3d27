/* fuzz_wire.c: libFuzzer target for the remoting layer's parsers of peer input: object references
 * (pcomi_objref_parse) and greetings (pcomi_hello_parse). The first byte picks the parser; the rest is the
 * input. An object reference that parses must write back to exactly the same bytes (one encoding per
 * reference, so nothing a peer sends can mean two things); a greeting that parses names a non-zero exporter and
 * endpoints that are NUL-free and fit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    if (data[0] & 1) {
        struct pcomi_peer p;
        if (pcomi_hello_parse(in, n, &p)) {
            if (pcomi_oid_is_zero(&p.exporter) || p.nendpoints > PCOMI_MAX_ENDPOINTS)
                abort();
            for (unsigned i = 0; i < p.nendpoints; i++)
                if (strnlen(p.endpoints[i], PCOMI_URL_MAX) == PCOMI_URL_MAX || !p.endpoints[i][0])
                    abort();
        }
        return 0;
    }
    struct pcomi_objref r;
    if (FAILED(pcomi_objref_parse(in, n, &r)))
        return 0;
    struct pcomi_wbuf b = {0};
    if (FAILED(pcomi_objref_write(&r, &b)))
        abort();
    if (b.len != n || memcmp(b.data, in, n) != 0) {
        fprintf(stderr, "fuzz_wire: an object reference that does not write back as it was read\n");
        abort();
    }
    pcomi_wbuf_free(&b);
    return 0;
}
