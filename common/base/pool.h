/* pool.h: the one worker pool of the toolkit: a fixed set of threads that
 * run the items 0 .. n-1 of a job (a parallel for).
 *
 * Output never depends on the thread count: the pool only decides which
 * thread runs an item, so a caller writes item i's result into slot i (or,
 * with HPOOL_STRIDED, accumulates per worker in a fixed order).  The two
 * schedules:
 *
 *   HPOOL_DYNAMIC  items handed out in increasing order to whichever worker
 *                  is free (uneven items: stories, probes);
 *   HPOOL_STRIDED  worker w runs items w, w + T, w + 2T, ... in that order
 *                  (T = threads): a worker that accumulates into its own
 *                  buffer sums the same items in the same order on every run
 *                  (train's per-worker gradients).
 *
 * A job's function returns 0 or -1 with a message; after a failure no new
 * item is started, and the job reports the failure of the lowest failing
 * item index.  hpool_start / hpool_wait let the calling thread do other work
 * (write the previous batch) while the workers compute.
 */
#ifndef HEADS_BASE_POOL_H
#define HEADS_BASE_POOL_H

#include <stddef.h>

#include "base/err.h"

/** Largest thread count a pool accepts. */
#define HPOOL_MAX_THREADS 256

typedef struct hpool hpool;

/** How items are assigned to workers (see the top of this file). */
typedef enum hpool_schedule { HPOOL_DYNAMIC = 0, HPOOL_STRIDED = 1 } hpool_schedule;

/** The work of one item.
 *  @param ctx the job's context; @param i item index in [0, n)
 *  @param worker index of the running worker in [0, threads): per-worker
 *         scratch (workspaces, gradient buffers) is indexed by it
 *  @param e message buffer for a failure
 *  @return 0, or -1 with e set */
typedef int (*hpool_fn)(void *ctx, size_t i, int worker, herr *e);

/** Start a pool of `threads` workers (1 .. HPOOL_MAX_THREADS).
 *  @return the pool, or NULL with e set (bad count, no thread could start) */
hpool *hpool_new(int threads, herr *e) __attribute__((warn_unused_result));

/** Stop the workers and free the pool (NULL is fine).  Waits for a job
 *  still running. */
void hpool_free(hpool *p);

/** @return the number of workers. */
int hpool_threads(const hpool *p);

/** Run fn on items 0 .. n-1 and wait for them all.
 *  @return 0, or -1 with the message of the lowest failing item in e */
int hpool_for(hpool *p, size_t n, hpool_schedule sched, hpool_fn fn, void *ctx, herr *e)
    __attribute__((warn_unused_result));

/** Start the same job without waiting (one job at a time per pool). */
void hpool_start(hpool *p, size_t n, hpool_schedule sched, hpool_fn fn, void *ctx);

/** Wait for the job hpool_start began.
 *  @return 0, or -1 with the message of the lowest failing item in e */
int hpool_wait(hpool *p, herr *e) __attribute__((warn_unused_result));

#endif
