/* alloc.c: pcom_alloc and pcom_free, the allocator of every [out] buffer, with a count of live blocks. */
#include <pcom/pcom.h>

#include <stdatomic.h>
#include <stdlib.h>

static atomic_long live_blocks;

void *pcom_alloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (p)
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
    return p;
}

void pcom_free(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
    free(p);
}

long pcom_alloc_live_blocks(void)
{
    return atomic_load_explicit(&live_blocks, memory_order_relaxed);
}
