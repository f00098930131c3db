/* pool.c: persistent worker threads running parallel-for jobs (pool.h). */
#include "base/pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct hpool {
    int threads;
    pthread_t *tid;
    pthread_mutex_t mu;
    pthread_cond_t go, idle;
    /* the current job (under mu) */
    uint64_t generation;   /* bumped by every start: workers wait for a new one */
    int quit;
    int running;           /* workers still inside the current job */
    size_t n, next;        /* items, next item to hand out (dynamic) */
    hpool_schedule sched;
    hpool_fn fn;
    void *ctx;
    size_t fail_i;         /* lowest failing item, or SIZE_MAX */
    herr fail;
};

typedef struct worker_arg { hpool *p; int w; } worker_arg;

/* Record a failure of item i (keep the lowest index). */
static void note_failure(hpool *p, size_t i, const herr *e)
{
    pthread_mutex_lock(&p->mu);
    if (i < p->fail_i) {
        p->fail_i = i;
        p->fail = *e;
    }
    pthread_mutex_unlock(&p->mu);
}

static void run_job(hpool *p, int w)
{
    herr e;
    if (p->sched == HPOOL_STRIDED) {
        for (size_t i = (size_t)w; i < p->n; i += (size_t)p->threads) {
            pthread_mutex_lock(&p->mu);
            int stop = p->fail_i < i; /* a lower item failed: this one cannot matter */
            pthread_mutex_unlock(&p->mu);
            if (stop) break;
            e.msg[0] = 0;
            if (p->fn(p->ctx, i, w, &e)) note_failure(p, i, &e);
        }
        return;
    }
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t i = p->fail_i == SIZE_MAX && p->next < p->n ? p->next++ : SIZE_MAX;
        pthread_mutex_unlock(&p->mu);
        if (i == SIZE_MAX) break;
        e.msg[0] = 0;
        if (p->fn(p->ctx, i, w, &e)) note_failure(p, i, &e);
    }
}

static void *worker_main(void *arg)
{
    worker_arg *a = arg;
    hpool *p = a->p;
    const int w = a->w;
    free(a);
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->quit && p->generation == seen) pthread_cond_wait(&p->go, &p->mu);
        if (p->quit) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_job(p, w);
        pthread_mutex_lock(&p->mu);
        if (--p->running == 0) pthread_cond_broadcast(&p->idle);
        pthread_mutex_unlock(&p->mu);
    }
}

hpool *hpool_new(int threads, herr *e)
{
    if (threads < 1 || threads > HPOOL_MAX_THREADS) {
        herr_set(e, "thread count %d outside 1..%d", threads, HPOOL_MAX_THREADS);
        return NULL;
    }
    hpool *p = calloc(1, sizeof *p);
    if (!p || !(p->tid = calloc((size_t)threads, sizeof *p->tid))) {
        free(p);
        herr_set(e, "out of memory for a pool of %d threads", threads);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->idle, NULL);
    p->fail_i = SIZE_MAX;
    for (int w = 0; w < threads; w++) {
        worker_arg *a = malloc(sizeof *a);
        if (a) *a = (worker_arg){p, w};
        if (!a || pthread_create(&p->tid[w], NULL, worker_main, a) != 0) {
            free(a);
            p->threads = w; /* the ones started are joined by hpool_free */
            hpool_free(p);
            herr_set(e, "cannot start worker thread %d of %d", w + 1, threads);
            return NULL;
        }
        p->threads = w + 1;
    }
    return p;
}

void hpool_free(hpool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    while (p->running) pthread_cond_wait(&p->idle, &p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int w = 0; w < p->threads; w++) pthread_join(p->tid[w], NULL);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->idle);
    pthread_mutex_destroy(&p->mu);
    free(p->tid);
    free(p);
}

int hpool_threads(const hpool *p) { return p->threads; }

void hpool_start(hpool *p, size_t n, hpool_schedule sched, hpool_fn fn, void *ctx)
{
    pthread_mutex_lock(&p->mu);
    while (p->running) pthread_cond_wait(&p->idle, &p->mu);
    p->n = n;
    p->next = 0;
    p->sched = sched;
    p->fn = fn;
    p->ctx = ctx;
    p->fail_i = SIZE_MAX;
    p->fail.msg[0] = 0;
    p->running = p->threads;
    p->generation++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
}

int hpool_wait(hpool *p, herr *e)
{
    pthread_mutex_lock(&p->mu);
    while (p->running) pthread_cond_wait(&p->idle, &p->mu);
    int failed = p->fail_i != SIZE_MAX;
    if (failed && e) *e = p->fail;
    pthread_mutex_unlock(&p->mu);
    return failed ? -1 : 0;
}

int hpool_for(hpool *p, size_t n, hpool_schedule sched, hpool_fn fn, void *ctx, herr *e)
{
    hpool_start(p, n, sched, fn, ctx);
    return hpool_wait(p, e);
}
