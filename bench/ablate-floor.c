/* ablate-floor.c: the floor of `ablate --sweep` for bench_ablate.sh: per
 * story, one clean forward and then the LM head + next-token loss
 * (gptneo_token_losses) as many times as the model has heads, the part no
 * exact ablation avoids.  Same pool and thread count as ablate.
 *   ablate-floor MODEL_DIR TAGGED THREADS TAKE -> "tokens heads seconds" */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/pool.h"
#include "cli/cli.h"
#include "model/gptneo.h"
#include "model/storyset.h"

typedef struct job {
    const gptneo_model *m;
    const storyset *ss;
    gptneo_acts *a;
    double **loss;
} job;

static int run(void *ctx, size_t si, int w, herr *e)
{
    job *j = ctx;
    const int T = (int)j->ss->s[si].n_tokens, heads = j->m->cfg.n_layer * j->m->cfg.n_head;
    if (gptneo_forward(j->m, j->ss->ids[si], T, &j->a[w], e)) return -1;
    for (int k = 0; k < heads; k++)
        if (gptneo_token_losses(j->m, &j->a[w], j->ss->ids[si], j->loss[w], e)) return -1;
    return 0;
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    if (argc != 5) die("usage: ablate-floor MODEL_DIR TAGGED THREADS TAKE");
    gptneo_model m;
    herr e;
    if (gptneo_load(argv[1], &m, &e)) die("%s", e.msg);
    openblas_set_num_threads(1);
    storyset ss;
    if (storyset_read(&ss, argv[2], &m, 0, &e)) die("%s", e.msg);
    size_t take = (size_t)atol(argv[4]);
    if (take && take < ss.n) ss.n = take; /* (the rest is leaked: a bench) */
    const int threads = atoi(argv[3]);
    hpool *pool = hpool_new(threads, &e);
    if (!pool) die("%s", e.msg);
    job j = {&m, &ss, xcalloc((size_t)threads, sizeof(gptneo_acts)), xcalloc((size_t)threads, sizeof(double *))};
    long tokens = 0;
    for (size_t s = 0; s < ss.n; s++) tokens += ss.s[s].n_tokens - 1;
    for (int w = 0; w < threads; w++) {
        gptneo_acts_init(&j.a[w]);
        j.loss[w] = xmalloc((size_t)m.cfg.n_positions * sizeof(double));
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (hpool_for(pool, ss.n, HPOOL_DYNAMIC, run, &j, &e)) die("%s", e.msg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%ld %d %.4f\n", tokens, m.cfg.n_layer * m.cfg.n_head,
           (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
    return 0;
}
