/* controls.c: the token-id / majority baselines and the control task's
 * labels (controls.h). */
#include "probe/controls.h"

#include <stdlib.h>
#include <string.h>

#include "base/rng.h"

typedef struct pair { uint32_t id; int y; } pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *p = a, *q = b;
    if (p->id != q->id) return p->id < q->id ? -1 : 1;
    return (p->y > q->y) - (p->y < q->y);
}

int tokid_baseline_fit(tokid_baseline *b, const uint32_t *ids, const int *y, size_t n, int K, herr *e)
{
    memset(b, 0, sizeof *b);
    if (n == 0) return herr_set(e, "a baseline of no training tokens");
    if (K < 1) return herr_set(e, "a baseline with no classes");
    pair *p = malloc(n * sizeof *p);
    size_t *count = calloc((size_t)K, sizeof *count);
    if (!p || !count) {
        free(p); free(count);
        return herr_set(e, "out of memory for %zu training tokens", n);
    }
    for (size_t i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] >= K) {
            free(p); free(count);
            return herr_set(e, "token %zu: class %d outside 0..%d", i, y[i], K - 1);
        }
        p[i] = (pair){ids[i], y[i]};
        count[y[i]]++;
    }
    int maj = 0;
    for (int k = 1; k < K; k++)
        if (count[k] > count[maj]) maj = k;   /* ties: the lower class */
    b->majority = maj;
    /* sorted by (id, class): each id's run holds its classes in order, so
     * the first class with the largest run wins a tie */
    qsort(p, n, sizeof *p, cmp_pair);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) distinct += i == 0 || p[i].id != p[i - 1].id;
    b->ids = malloc(distinct * sizeof *b->ids);
    b->cls = malloc(distinct * sizeof *b->cls);
    if (!b->ids || !b->cls) {
        free(p); free(count);
        tokid_baseline_free(b);
        return herr_set(e, "out of memory for %zu token ids", distinct);
    }
    size_t i = 0;
    while (i < n) {
        size_t j = i, best_run = 0;
        int best = p[i].y;
        while (j < n && p[j].id == p[i].id) {
            size_t k = j;
            while (k < n && p[k].id == p[j].id && p[k].y == p[j].y) k++;
            if (k - j > best_run) { best_run = k - j; best = p[j].y; }
            j = k;
        }
        b->ids[b->n_ids] = p[i].id;
        b->cls[b->n_ids++] = best;
        i = j;
    }
    free(p);
    free(count);
    return 0;
}

int tokid_baseline_predict(const tokid_baseline *b, uint32_t id)
{
    size_t lo = 0, hi = b->n_ids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->ids[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < b->n_ids && b->ids[lo] == id ? b->cls[lo] : b->majority;
}

void tokid_baseline_free(tokid_baseline *b)
{
    free(b->ids);
    free(b->cls);
    memset(b, 0, sizeof *b);
}

int control_task_label(uint64_t seed, uint32_t type, const uint64_t *cum, int K)
{
    uint64_t z = rng_mix64((seed ^ CONTROL_TASK_SALT) + ((uint64_t)type + 1) * 0x9E3779B97F4A7C15ull);
    uint64_t r = (uint64_t)(((unsigned __int128)z * cum[K - 1]) >> 64);
    int lo = 0, hi = K - 1;  /* the first k with cum[k] > r */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cum[mid] > r) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}
