/* stream-bench: throughput of the record-stream layer on float32
 * activation-like records (one story record of 200 tokens x 1024 floats,
 * the size forward-dump writes for q and k of 128 heads).  Reports MB/s of
 * uncompressed record bytes, each way, on one core, and the compression
 * ratio, for a few zstd levels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/toolio.h"
#include "io/records.h"
#include "io/stream.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    long total_mb = argc > 1 ? atol(argv[1]) : 256;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    enum { T = 200, F = 1024 };
    story_rec s;
    story_init(&s);
    s.flags = STORY_HAS_TOKENS | STORY_HAS_TAGS | STORY_HAS_FLOATS;
    s.text = xstrdup("Once upon a time");
    s.text_len = (uint32_t)strlen(s.text);
    s.n_tokens = T;
    s.tokens = xcalloc(T, sizeof *s.tokens);
    s.floats_per_token = F;
    s.floats = xmalloc(sizeof(float) * T * F);
    /* Gaussian-ish values with a per-feature scale, like head vectors. */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < T * F; i++) {
        double u = 0;
        for (int k = 0; k < 4; k++) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; u += (double)(x >> 11) / 9007199254740992.0; }
        s.floats[i] = (float)((u - 2.0) * (1 + (i % F) % 7));
    }
    /* A pool of distinct records, so no level finds whole repeats within
     * its window (real dumps never repeat). */
    enum { POOL = 32 };
    uint8_t *pool[POOL];
    size_t len = 0;
    for (int k = 0; k < POOL; k++) {
        for (int i = 0; i < T * F; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            s.floats[i] += (float)((double)(x >> 11) / 9007199254740992.0 - 0.5);
        }
        len = story_encode(&s, &pool[k]);
    }
    long n_rec = (long)((double)total_mb * 1e6 / (double)len) + 1;
    double mb = (double)n_rec * (double)len / 1e6;
    char path[512];
    snprintf(path, sizeof path, "%s/stream-bench.%d", dir, (int)getpid());
    printf("stream layer: %ld records of %.2f MB (200 tokens x 1024 float32), %.0f MB per run, one core\n",
           n_rec, len / 1e6, mb);
    printf("%-6s %12s %12s %12s\n", "level", "write MB/s", "read MB/s", "ratio");
    int levels[] = {1, 3, -1};
    for (size_t li = 0; li < sizeof levels / sizeof *levels; li++) {
        stream_header h;
        stream_header_init(&h);
        stream_header_add(&h, "bench", "stream");
        double t0 = now();
        herr e;
        stream_writer *w = stream_writer_open(path, STREAM_ACTIVATIONS, &h, levels[li], &e);
        if (!w) die("%s", e.msg);
        for (long i = 0; i < n_rec; i++)
            if (stream_writer_put(w, pool[i % POOL], len, &e)) die("%s", e.msg);
        cli_close_stream(w);
        double t1 = now();
        stream_reader *r = cli_open_input(path, 0);
        const uint8_t *p;
        size_t n;
        long got = 0;
        while (cli_read_record(r, &p, &n)) got += n == len;
        stream_reader_close(r);
        double t2 = now();
        FILE *f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        double comp = (double)ftell(f);
        fclose(f);
        unlink(path);
        if (got != n_rec) die("read back %ld of %ld records", got, n_rec);
        printf("%-6d %12.0f %12.0f %12.3f%s\n", levels[li], mb / (t1 - t0), mb / (t2 - t1), mb * 1e6 / comp,
               levels[li] == STREAM_DEFAULT_LEVEL ? "   (default)" : "");
        stream_header_free(&h);
    }
    for (int k = 0; k < POOL; k++) free(pool[k]);
    story_free(&s);
    return 0;
}
