/* test_pool.c: the worker pool (common/base/pool.h): every item runs once,
 * strided items run on the worker and in the order promised, a failure
 * reports the lowest failing item, start/wait overlaps the caller's work,
 * and a pool serves many jobs. */
#include "base/pool.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

typedef struct job {
    size_t n;
    atomic_int *count;      /* [n] times item i ran */
    int *worker_of;         /* [n] */
    size_t *order[8];       /* per worker: items in the order it ran them */
    size_t seen[8];
    size_t fail_from;       /* items >= this fail (SIZE_MAX: none) */
    size_t fail_every;      /* or items divisible by this (0: none) */
} job;

static int work(void *ctx, size_t i, int w, herr *e)
{
    job *j = ctx;
    atomic_fetch_add(&j->count[i], 1);
    j->worker_of[i] = w;
    if (w < 8) j->order[w][j->seen[w]++] = i;
    if (i >= j->fail_from || (j->fail_every && i % j->fail_every == 0 && i > 0))
        return herr_set(e, "item %zu failed", i);
    return 0;
}

static void job_init(job *j, size_t n)
{
    memset(j, 0, sizeof *j);
    j->n = n;
    j->count = calloc(n ? n : 1, sizeof *j->count);
    j->worker_of = calloc(n ? n : 1, sizeof *j->worker_of);
    for (int w = 0; w < 8; w++) j->order[w] = calloc(n ? n : 1, sizeof(size_t));
    j->fail_from = (size_t)-1;
}

static void job_free(job *j)
{
    free(j->count);
    free(j->worker_of);
    for (int w = 0; w < 8; w++) free(j->order[w]);
}

static int all_once(const job *j)
{
    for (size_t i = 0; i < j->n; i++)
        if (atomic_load(&j->count[i]) != 1) return 0;
    return 1;
}

int main(void)
{
    herr e;
    CHECK(hpool_new(0, &e) == NULL && strstr(e.msg, "thread count 0"), "0 threads refused: %s", e.msg);
    CHECK(hpool_new(HPOOL_MAX_THREADS + 1, &e) == NULL, "too many threads refused");

    for (int T = 1; T <= 4; T++) {
        hpool *p = hpool_new(T, &e);
        CHECK(p && hpool_threads(p) == T, "pool of %d threads", T);
        for (int rep = 0; rep < 3; rep++) { /* one pool, many jobs */
            job j;
            job_init(&j, 1000);
            CHECK(hpool_for(p, j.n, HPOOL_DYNAMIC, work, &j, &e) == 0 && all_once(&j),
                  "T=%d job %d: dynamic: each of 1000 items ran once", T, rep);
            job_free(&j);
            job_init(&j, 1003);
            int rc = hpool_for(p, j.n, HPOOL_STRIDED, work, &j, &e);
            int ok = rc == 0 && all_once(&j);
            for (size_t i = 0; i < j.n; i++) ok &= j.worker_of[i] == (int)(i % (size_t)T);
            for (int w = 0; w < T; w++)
                for (size_t k = 1; k < j.seen[w]; k++) ok &= j.order[w][k] == j.order[w][k - 1] + (size_t)T;
            CHECK(ok, "T=%d job %d: strided: item i on worker i %% T, each worker in increasing order", T, rep);
            job_free(&j);
        }
        job j;
        job_init(&j, 0);
        CHECK(hpool_for(p, 0, HPOOL_DYNAMIC, work, &j, &e) == 0, "T=%d: an empty job", T);
        job_free(&j);

        /* failures: the lowest failing index is reported, whatever ran first */
        for (int sched = 0; sched < 2; sched++) {
            job_init(&j, 500);
            j.fail_every = 97;
            e.msg[0] = 0;
            int rc = hpool_for(p, j.n, (hpool_schedule)sched, work, &j, &e);
            CHECK(rc == -1 && !strcmp(e.msg, "item 97 failed"),
                  "T=%d %s: the lowest failing item is reported: '%s'", T, sched ? "strided" : "dynamic", e.msg);
            job_free(&j);
        }
        job_init(&j, 100000);
        j.fail_from = 10;
        int rc = hpool_for(p, j.n, HPOOL_DYNAMIC, work, &j, &e);
        size_t ran = 0;
        for (size_t i = 0; i < j.n; i++) ran += (size_t)atomic_load(&j.count[i]);
        CHECK(rc == -1 && ran < 1000, "T=%d: no new item starts after a failure (%zu of 100000 ran)", T, ran);
        job_free(&j);

        /* start / wait: the caller works meanwhile */
        job_init(&j, 2000);
        hpool_start(p, j.n, HPOOL_DYNAMIC, work, &j);
        volatile double busy = 0;
        for (int k = 0; k < 100000; k++) busy += k;
        CHECK(hpool_wait(p, &e) == 0 && all_once(&j), "T=%d: start, other work, wait", T);
        job_free(&j);
        hpool_free(p);
    }
    hpool_free(NULL);
    TEST_END();
}
