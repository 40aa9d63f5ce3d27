/* replay.c: runs a fuzz target over files named on the command line, so the suite replays the corpus
 * and past findings without libFuzzer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int ran = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
        if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
            fprintf(stderr, "%s: read failed\n", argv[i]);
            return 1;
        }
        fclose(f);
        /* every prefix, so truncated input is covered too */
        for (long len = 0; len <= n; len += (n / 64) + 1)
            LLVMFuzzerTestOneInput(buf, (size_t)len);
        LLVMFuzzerTestOneInput(buf, (size_t)n);
        free(buf);
        ran++;
    }
    printf("replayed %d inputs\n", ran);
    return ran > 0 ? 0 : 1;
}
