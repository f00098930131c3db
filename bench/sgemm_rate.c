/* sgemm_rate.c: the machine's OpenBLAS sgemm rate on a transformer
 * forward's matrix shapes, for bench_forward_gpt2.sh (the forward's GFLOP/s
 * is reported against it).
 *
 *   sgemm_rate D I SECONDS T [T ...]
 *
 * For each story length T, the four products of one layer as the forward
 * computes them, out[T][N] = in[T][K] W[N][K]^T (row-major, W transposed):
 * q|k|v (N 3D, K D), the attention output (D, D), the MLP's c_fc (I, D) and
 * c_proj (D, I), repeated for about SECONDS, in two ways:
 *   "2 threads": OpenBLAS with 2 threads on one product at a time;
 *   "2 x 1 thread": two threads, each running its own products with
 *     OpenBLAS single-threaded (what forward-dump --threads 2 does: one story
 *     per worker).
 * Prints one line per way: "sgemm WAY GFLOPS X CPU-GFLOPS Y": total flops
 * 2 T N K over all products / wall seconds, and / CPU seconds of the process
 * (robust when other jobs share the machine), best of three runs.
 */
#include <cblas.h>
#undef I /* complex.h (pulled in by cblas.h) defines I; here it is the MLP width */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void openblas_set_num_threads(int num_threads);

typedef struct job {
    int D, I, nT, *T;
    double seconds, flops;
    float *a, *w, *c;
} job;

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

/* One round: the four products for every T.  @return its flops */
static double round_(job *j)
{
    const int D = j->D, I = j->I;
    const int shapes[4][2] = {{3 * D, D}, {D, D}, {I, D}, {D, I}};
    double fl = 0;
    for (int t = 0; t < j->nT; t++)
        for (int s = 0; s < 4; s++) {
            const int M = j->T[t], N = shapes[s][0], K = shapes[s][1];
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, j->a, K, j->w, K, 0.0f, j->c, N);
            fl += 2.0 * M * N * K;
        }
    return fl;
}

static void *run(void *arg)
{
    job *j = arg;
    double t0 = now();
    j->flops = 0;
    do j->flops += round_(j);
    while (now() - t0 < j->seconds);
    return NULL;
}

static job make_job(int D, int I, int nT, int *T, double seconds)
{
    int maxT = 1;
    for (int i = 0; i < nT; i++) maxT = T[i] > maxT ? T[i] : maxT;
    size_t big = (size_t)(3 * D > I ? 3 * D : I);
    job j = {D, I, nT, T, seconds, 0, malloc(sizeof(float) * (size_t)maxT * big),
             malloc(sizeof(float) * big * (size_t)(I > D ? I : D)), malloc(sizeof(float) * (size_t)maxT * big)};
    if (!j.a || !j.w || !j.c) {
        fprintf(stderr, "sgemm_rate: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < (size_t)maxT * big; i++) j.a[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < big * (size_t)(I > D ? I : D); i++) j.w[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    return j;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: sgemm_rate D I SECONDS T [T ...]\n");
        return 2;
    }
    int D = atoi(argv[1]), I = atoi(argv[2]), nT = argc - 4;
    double seconds = atof(argv[3]);
    int *T = malloc(sizeof(int) * (size_t)nT);
    for (int i = 0; i < nT; i++) T[i] = atoi(argv[4 + i]);
    if (D < 1 || I < 1 || seconds <= 0) return 2;
    job j0 = make_job(D, I, nT, T, seconds), j1 = make_job(D, I, nT, T, seconds);
    openblas_set_num_threads(1);
    round_(&j0); /* warm up */
    double best2 = 0, best11 = 0, cbest2 = 0, cbest11 = 0;
    for (int rep = 0; rep < 3; rep++) {
        openblas_set_num_threads(2);
        double t0 = now(), c0 = cpu();
        run(&j0);
        double r = j0.flops / (now() - t0) / 1e9, rc = j0.flops / (cpu() - c0) / 1e9;
        best2 = r > best2 ? r : best2;
        cbest2 = rc > cbest2 ? rc : cbest2;
        openblas_set_num_threads(1);
        pthread_t th;
        t0 = now(), c0 = cpu();
        pthread_create(&th, NULL, run, &j1);
        run(&j0);
        pthread_join(th, NULL);
        r = (j0.flops + j1.flops) / (now() - t0) / 1e9;
        rc = (j0.flops + j1.flops) / (cpu() - c0) / 1e9;
        best11 = r > best11 ? r : best11;
        cbest11 = rc > cbest11 ? rc : cbest11;
    }
    printf("sgemm 2-threads GFLOPS %.2f CPU-GFLOPS %.2f\n", best2, cbest2);
    printf("sgemm 2x1-thread GFLOPS %.2f CPU-GFLOPS %.2f\n", best11, cbest11);
    return 0;
}
