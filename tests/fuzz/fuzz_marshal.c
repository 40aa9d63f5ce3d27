/* fuzz_marshal.c: libFuzzer target for the marshaling engine's decoders (runtime/src/marshal.c).
 * The first byte picks a method of tests/unit/marshal_fixtures.h; the rest is both a request body, decoded
 * by the server (pcomi_decode_in; when it succeeds the frame is re-encoded; then pcomi_free_out and an
 * arena reset), and a response body, decoded by a client into a prepared call (pcomi_decode_out, and again as it
 * arrives with pcomi_decode_out_from: both must end alike). A request
 * the server accepts must re-encode to a body it accepts again and that encodes the same. Whatever
 * pcom_alloc handed out must be back after each input: a leak aborts, so the fuzzer reports it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marshal_fixtures.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const struct mx_fixture *fx)
{
    fprintf(stderr, "fuzz_marshal: %s (method %s)\n", what, fx->name);
    abort();
}

/* A reply arriving: its bytes handed out in order, never past its end. */
struct feed {
    const uint8_t *body;
    size_t len, at;
};

static int feed_read(void *ctx, void *dst, size_t n)
{
    struct feed *f = ctx;
    if (n == 0 || n > f->len - f->at)
        abort();
    memcpy(dst, f->body + f->at, n);
    f->at += n;
    return 0;
}

/* Encode the frame a request was decoded into; decode that again and encode it once more: the two
 * encodings must agree. */
static void reencode(const struct mx_fixture *fx, const void *frame, struct pcomi_arena *arena)
{
    struct pcomi_wbuf w1 = {0}, w2 = {0};
    if (SUCCEEDED(pcomi_encode_in(fx->m, frame, &w1))) {
        void *frame2 = mx_frame_new(fx->m);
        if (!frame2)
            abort();
        HRESULT hr = pcomi_decode_in(fx->m, w1.data, w1.len, frame2, arena, NULL);
        if (FAILED(hr))
            die("a re-encoded request is refused", fx);
        if (FAILED(pcomi_encode_in(fx->m, frame2, &w2)) || w2.len != w1.len ||
            (w1.len && memcmp(w1.data, w2.data, w1.len) != 0))
            die("a re-encoded request encodes differently", fx);
        pcomi_free_out(fx->m, frame2);
        free(frame2);
    }
    pcomi_wbuf_free(&w1);
    pcomi_wbuf_free(&w2);
    /* the [out] half as the stub would send it had the object done nothing */
    (void)pcomi_encode_out(fx->m, frame, &w1);
    pcomi_wbuf_free(&w1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct mx_fixture *fx = &mx_fixtures[data[0] % MX_NFIXTURES];
    size_t len = size - 1;
    /* the body starts 8-aligned, as the transport guarantees; malloc'd to its exact length */
    uint8_t *body = malloc(len ? len : 1);
    if (!body)
        return 0;
    if (len)
        memcpy(body, data + 1, len);
    long live = pcom_alloc_live_blocks();

    /* server */
    void *frame = mx_frame_new(fx->m);
    struct pcomi_arena arena = {0};
    if (!frame)
        abort();
    if (SUCCEEDED(pcomi_decode_in(fx->m, body, len, frame, &arena, NULL)))
        reencode(fx, frame, &arena);
    pcomi_free_out(fx->m, frame); /* as a stub may, whether or not the decode succeeded */
    pcomi_arena_free(&arena);
    free(frame);
    if (pcom_alloc_live_blocks() != live)
        die("the server leaked pcom_alloc blocks", fx);

    /* client */
    void *call = mx_call_new(fx);
    if (!call)
        abort();
    HRESULT hr = pcomi_decode_out(fx->m, body, len, call, NULL);
    mx_call_free(fx, call);
    if (pcom_alloc_live_blocks() != live)
        die("the client leaked pcom_alloc blocks", fx);

    /* the same reply decoded as it arrives, every flat array straight into place: same outcome, all of it read */
    if (!(call = mx_call_new(fx)))
        abort();
    struct feed f = {body, len, 0};
    struct pcomi_body_source src = {.read = feed_read, .ctx = &f, .direct_min = 1};
    int src_err = 0;
    if (pcomi_decode_out_from(fx->m, &src, len, call, NULL, &src_err) != hr)
        die("a reply decoded as it arrives ends differently", fx);
    if (src_err || f.at != len)
        die("a reply decoded as it arrives was not read exactly", fx);
    mx_call_free(fx, call);
    if (pcom_alloc_live_blocks() != live)
        die("the client leaked pcom_alloc blocks decoding as the reply arrives", fx);

    free(body);
    return 0;
}
