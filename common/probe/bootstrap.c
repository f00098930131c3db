/* bootstrap.c: story-level bootstrap of per-tag F1 (bootstrap.h). */
#include "probe/bootstrap.h"

#include <math.h>
#include <stdlib.h>

#include "base/rng.h"
#include "probe/clsreport.h"

uint32_t *boot_draws(uint64_t seed, int B, size_t n, herr *e)
{
    if (B < 1 || n < 1 || n > UINT32_MAX) {
        herr_set(e, "bootstrap of %zu stories x %d replicates", n, B);
        return NULL;
    }
    uint32_t *d = malloc((size_t)B * n * sizeof *d);
    if (!d) {
        herr_set(e, "out of memory for %d x %zu bootstrap draws", B, n);
        return NULL;
    }
    uint64_t s = seed;
    for (size_t i = 0; i < (size_t)B * n; i++)
        d[i] = (uint32_t)(((unsigned __int128)rng_next(&s) * n) >> 64);
    return d;
}

void boot_f1(const boot_counts *c, size_t n, const uint32_t *draws, int B, double *f1)
{
    for (int b = 0; b < B; b++) {
        const uint32_t *d = draws + (size_t)b * n;
        uint64_t tp = 0, pred = 0, sup = 0;
        for (size_t i = 0; i < n; i++) {
            tp += c[d[i]].tp;
            pred += c[d[i]].pred;
            sup += c[d[i]].support;
        }
        f1[b] = sup ? cls_f1(tp, pred, sup) : NAN;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double boot_percentile(double *v, int B, double q)
{
    qsort(v, (size_t)B, sizeof *v, cmp_double);
    double h = (B - 1) * (q / 100.0);
    double lo_f = floor(h);
    long lo = (long)lo_f, hi = lo + 1;
    if (lo < 0) lo = 0;
    if (lo > B - 1) lo = B - 1;
    if (hi > B - 1) hi = B - 1;
    double g = h - lo_f, a = v[lo], b = v[hi], d = b - a;
    return g >= 0.5 ? b - d * (1 - g) : a + d * g;
}
