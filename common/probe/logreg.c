/* logreg.c: the multinomial (and binary) logistic regression of logreg.h:
 * Newton steps with a subsampled, reused Hessian for small problems,
 * preconditioned Newton-CG on Hessian-vector products for large ones;
 * exact objective and gradient in both. */
#include "probe/logreg.h"

/* The two objective widths give the same bits only if no multiply and add
 * are fused: GCC's ISO C mode and the build's -ffp-contract=off keep them
 * apart; clang needs the pragma. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#include <cblas.h>
#if defined(__x86_64__)
#define LOGREG_AVX512 1 /* the eight-wide objective exists (chosen at run time) */
#include <cpuid.h>
#include <immintrin.h>
#else
#define LOGREG_AVX512 0
#endif
#include <f77blas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Samples per block of the Hessian's rank-B update (bounds the scratch). */
#define HBLOCK 1024
/* Largest ratio of the diagonal entries within one class block of the
 * Hessian for which its off-diagonal blocks are summed in float32. */
#define HESS_FLOAT_MAX_RATIO 1e4
/* Samples the Hessian is summed over: every stride-th, about
 * max(HSAMPLES, HSAMPLES_PER_PAR * parameters) of them. */
#ifndef HSAMPLES
#define HSAMPLES 4096
#endif
#ifndef HSAMPLES_PER_PAR
#define HSAMPLES_PER_PAR 20
#endif
/* A Hessian's factor is reused for the next step while the last step was
 * full and cut max |gradient| by this factor or more. */
#ifndef REUSE_RATIO
#define REUSE_RATIO 0.2
#endif
/* A subsampled Hessian is given up for the full one (for the rest of the
 * fit) once, from step SUB_FROM on, a step from a fresh subsampled factor
 * needed backtracking (t < SUB_T_MIN) or cut max |gradient| by less than
 * SUB_MIN_CUT, or after SUB_MAX_STEPS steps, or when it gives no descent
 * or its line search fails.  (The first steps from the intercept-only
 * start are often damped whatever the Hessian.) */
#ifndef SUB_MIN_CUT
#define SUB_MIN_CUT 0.5
#endif
#ifndef SUB_MAX_STEPS
#define SUB_MAX_STEPS 20
#endif
#ifndef SUB_FROM
#define SUB_FROM 2
#endif
#ifndef SUB_T_MIN
#define SUB_T_MIN 1.0
#endif

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_single(void) { openblas_set_num_threads(1); }

void logreg_default_opts(logreg_opts *o)
{
    o->C = 1.0;
    o->max_iter = 100;
    o->tol = 1e-4;
    o->solver = LOGREG_AUTO;
}

logreg_solver logreg_pick_solver(logreg_solver s, int d, int K)
{
    if (s == LOGREG_NEWTON || s == LOGREG_NEWTON_CG) return s;
    long par = (long)(K == 2 ? 1 : K) * (d + 1);
    return par <= LOGREG_NEWTON_MAX_PAR ? LOGREG_NEWTON : LOGREG_NEWTON_CG;
}

const char *logreg_solver_name(logreg_solver s)
{
    return s == LOGREG_NEWTON ? "newton" : s == LOGREG_NEWTON_CG ? "newton-cg" : "auto";
}

/* Two doubles (GCC vector extension: one SSE2 register; the -O2 build
 * does not vectorise the per-sample loops over classes by itself).
 * Buffers are 64-byte aligned (ws_get). */
typedef double v2d __attribute__((vector_size(16)));
typedef unsigned long long v2u __attribute__((vector_size(16)));
typedef float v8f __attribute__((vector_size(32)));

/* 2^(j/64), j = 0..63, as bits (exp2 from libm, filled once). */
static unsigned long long exp_tab_bits[64];
static pthread_once_t exp_once = PTHREAD_ONCE_INIT;
static void exp_tab_fill(void)
{
    for (int j = 0; j < 64; j++) {
        double v = exp2(j / 64.0);
        memcpy(&exp_tab_bits[j], &v, sizeof v);
    }
}

/* exp(x) of two values, x <= 0 expected (softmax), relative error ~1e-16:
 * x = (64 e + j) ln2/64 + r (Cody-Waite, |r| <= ln2/128), exp(r) by its
 * Taylor series to r^5 (truncation < 4e-17 relative), times 2^(j/64) from
 * the table and 2^e from the exponent bits.  x below -700 gives exp(-700)
 * (~1e-304, nothing next to the largest term 1); NaN stays NaN. */
#define EXP_FLOOR (-700.0)
#define EXP_SHIFT 0x1.8p52                  /* 1.5 * 2^52: rounds to an integer in the low bits */
#define EXP_64_LOG2E (64.0 * 1.4426950408889634)
/* ln2/64 split so that kd (|kd| < 2^17) times the high part is exact */
#define EXP_LN2HI_64 (6.93147180369123816490e-01 / 64.0)
#define EXP_LN2LO_64 (1.90821492927058770002e-10 / 64.0)
static inline v2d vexp(v2d x)
{
    const v2d lo = {EXP_FLOOR, EXP_FLOOR};
    v2u below = (v2u)(x < lo); /* all ones where x < lo; NaN compares false */
    x = (v2d)(((v2u)lo & below) | ((v2u)x & ~below));
    const double shift = EXP_SHIFT;
    v2d t = x * EXP_64_LOG2E + shift;
    /* k = 64 e + j in the low bits of t (two's complement, k <= 0) */
    v2u ku = (v2u)t - (v2u)(v2d){shift, shift};
    v2d kd = t - shift;
    v2d r = (x - kd * EXP_LN2HI_64) - kd * EXP_LN2LO_64;
    v2d p = r * (1.0 / 120.0) + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    v2u j = ku & 63;
    /* 2^(j/64) * 2^e: e added to the table entry's exponent field
     * (2^(j/64) in [1, 2), e >= -1011: the result stays normal) */
    v2u tab = {exp_tab_bits[j[0]], exp_tab_bits[j[1]]};
    return p * (v2d)(tab + ((ku & ~(unsigned long long)63) << 46));
}

/* W [K][d+1] into WT [d+1][Kpad], transposed; padding columns k >= K get
 * weights 0 and intercept -inf (exp gives its floor there, never the
 * maximum). */
static inline __attribute__((always_inline)) void weights_padded(const double *W, double *WT, int K, int Kpad,
                                                                   int d)
{
    const int D = d + 1;
    for (int a = 0; a < D; a++)
        for (int k = 0; k < Kpad; k++)
            WT[(size_t)a * Kpad + k] = k < K ? W[(size_t)k * D + a] : a == d ? -INFINITY : 0.0;
}

/* The L2 term 1/(2C) sum_k ||w_k||^2 over the free rows r0..K-1 of W
 * [K][d+1] (intercepts not penalised), summed in row order. */
static inline __attribute__((always_inline)) double l2_penalty(const double *W, int r0, int K, int d, double inv_c)
{
    const int D = d + 1;
    double pen = 0.0;
    for (int k = r0; k < K; k++)
        for (int a = 0; a < d; a++) pen += W[(size_t)k * D + a] * W[(size_t)k * D + a];
    return 0.5 * inv_c * pen;
}

/* Everything one fit needs; sizes in the comments.  Kp = K rounded up to a
 * multiple of 2 (padding columns: intercept -inf, so exp gives its
 * floor there; they are never summed). */
typedef struct fit_ctx {
    size_t n, ns, stride; int d, D, K, Kp, r0, Kf, npar, npair;
    double inv_c;
    const int *y;        /* [n] */
    const double *X;     /* [n][d] */
    double *WT;          /* [D][Kp]     weights transposed, padded */
    v2d *xb;             /* [d]         one sample's features, each twice (d > 16) */
    double *Xs;          /* [ns][D]     features + 1 of the Hessian's samples */
    double *XX;          /* [ns][npair] products x_a x_b, a <= b < D */
    void *Qb;            /* [HBLOCK][npar] p_ik x_ia for one block (float or double) */
    float *Hf;           /* [npar][npar] off-diagonal curvature, float */
    double *T1;          /* [K][npair]  sum_i p_ik (1 - p_ik) x_ia x_ib */
    double *PW;          /* [ns][Kp]    p_ik (1 - p_ik) */
    double *H;           /* [npar][npar] */
    double *z;           /* [Kp] scratch */
    /* the AVX-512 objective's own layout (objective8): Kp8 = K rounded up
     * to a multiple of 8, padding columns as above */
    int Kp8;
    double *WT8;         /* [D][Kp8]    weights transposed, padded */
    double *G8;          /* [D][Kp8]    gradient sums */
    double *z8;          /* [Kp8] scratch */
    void *xb8;           /* [d]         one sample's features, each 8 times (d > 16) */
} fit_ctx;

/* One pass over the data at W: objective (returned), gradient sums
 * G [D][Kp] = sum_i x_ia (p_ik - [k = y_i]) (x_id = 1), and the
 * probabilities of the Hessian's samples (every stride-th) into Ps
 * [ns][Kp].  Every sum runs over i in order. */
static inline __attribute__((always_inline)) double objective_d(const fit_ctx *c, const double *W, double *Ps,
                                                                  double *G, const int d)
{
    const int K = c->K, Kp = c->Kp, D = d + 1, nv = Kp / 2;
    double *WT = c->WT;
    weights_padded(W, WT, K, Kp, d);
    memset(G, 0, (size_t)D * Kp * sizeof(double));
    double loss = 0.0;
    v2d *z = (v2d *)c->z;
    const v2d *wt = (const v2d *)WT;
    v2d *g = (v2d *)G;
    size_t next = 0, si = 0;
    v2d xb_small[16] = {{0.0, 0.0}}; /* the sample's features, each twice */
    v2d *xb = d <= 16 ? xb_small : c->xb;
    for (size_t i = 0; i < c->n; i++) {
        const double *x = c->X + i * (size_t)d;
#pragma GCC unroll 16
        for (int a = 0; a < d; a++) xb[a] = (v2d){x[a], x[a]};
        /* scores, and their maximum in two running maxima (exact in any
         * order) */
        v2d mv0 = {-INFINITY, -INFINITY}, mv1 = mv0;
        int v = 0;
        for (; v + 1 < nv; v += 2) {
            v2d s0 = wt[(size_t)d * nv + v], s1 = wt[(size_t)d * nv + v + 1];
#pragma GCC unroll 16
            for (int a = 0; a < d; a++) {
                s0 += xb[a] * wt[(size_t)a * nv + v];
                s1 += xb[a] * wt[(size_t)a * nv + v + 1];
            }
            z[v] = s0;
            z[v + 1] = s1;
            v2u g0 = (v2u)(s0 > mv0), g1 = (v2u)(s1 > mv1);
            mv0 = (v2d)(((v2u)s0 & g0) | ((v2u)mv0 & ~g0));
            mv1 = (v2d)(((v2u)s1 & g1) | ((v2u)mv1 & ~g1));
        }
        for (; v < nv; v++) {
            v2d s0 = wt[(size_t)d * nv + v];
#pragma GCC unroll 16
            for (int a = 0; a < d; a++) s0 += xb[a] * wt[(size_t)a * nv + v];
            z[v] = s0;
            v2u g0 = (v2u)(s0 > mv0);
            mv0 = (v2d)(((v2u)s0 & g0) | ((v2u)mv0 & ~g0));
        }
        double *zs = c->z;
        double m = mv0[0];
        m = mv0[1] > m ? mv0[1] : m;
        m = mv1[0] > m ? mv1[0] : m;
        m = mv1[1] > m ? mv1[1] : m;
        if (!isfinite(m)) return NAN;
        double zy = zs[c->y[i]];
        v2d acc = {0.0, 0.0};
        for (int v = 0; v < nv; v++) {
            z[v] = vexp(z[v] - m);
            acc += z[v];
        }
        if (Kp > K) acc[1] -= zs[K]; /* the padding column (K odd: lane 1) */
        double sum = acc[0] + acc[1];
        double inv = 1.0 / sum;
        for (int v = 0; v < nv; v++) z[v] *= inv;
        loss += m + log(sum) - zy;
        if (i == next) {
            memcpy(Ps + si * Kp, zs, (size_t)Kp * sizeof(double));
            si++;
            next += c->stride;
        }
        c->z[c->y[i]] -= 1.0;
        for (int v = 0; v < nv; v++) {
            v2d r = z[v];
#pragma GCC unroll 16
            for (int a = 0; a < d; a++) g[(size_t)a * nv + v] += xb[a] * r;
            g[(size_t)d * nv + v] += r;
        }
    }
    return loss + l2_penalty(W, c->r0, K, d, c->inv_c);
}

/* objective_d with d known to the compiler for the probes' d = 4 (and
 * 1, the 'a' kind); any other d generically. */
static double objective2(const fit_ctx *c, const double *W, double *Ps, double *G)
{
    switch (c->d) {
    case 4: return objective_d(c, W, Ps, G, 4);
    case 1: return objective_d(c, W, Ps, G, 1);
    default: return objective_d(c, W, Ps, G, c->d);
    }
}

#if LOGREG_AVX512
/* ------------------------------------------------ the objective on AVX-512
 *
 * objective_d with eight doubles per vector instead of two, for CPUs with
 * AVX-512F (chosen at run time: logreg_simd).  The result is bit for bit
 * that of objective_d: every lane does the same operations in the same
 * order (scores summed a = 0..d-1 after the intercept, the same exp, the
 * same normalisation, each gradient sum over i in order; the build's ISO C
 * mode keeps GCC from fusing a multiply and an add), the maximum is exact in
 * any order, and the only sum across classes, of the exps, is added in
 * objective_d's order: two running sums, classes 0, 2, 4, ... and 1, 3,
 * 5, ...  Columns past Kp are padding, as Kp's are. */
typedef double v8d __attribute__((vector_size(64)));
typedef unsigned long long v8u __attribute__((vector_size(64)));

static inline __attribute__((always_inline, target("avx512f"))) v8d bc8(double v)
{
    return (v8d){v, v, v, v, v, v, v, v};
}

/* vexp on eight values (the same steps; the table read by a gather) */
static inline __attribute__((always_inline, target("avx512f"))) v8d vexp8(v8d x)
{
    const v8d lo = bc8(EXP_FLOOR);
    v8u below = (v8u)(x < lo);
    x = (v8d)(((v8u)lo & below) | ((v8u)x & ~below));
    const double shift = EXP_SHIFT;
    v8d t = x * EXP_64_LOG2E + shift;
    v8u ku = (v8u)t - (v8u)bc8(shift);
    v8d kd = t - shift;
    v8d r = (x - kd * EXP_LN2HI_64) - kd * EXP_LN2LO_64;
    v8d p = r * (1.0 / 120.0) + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    v8u j = ku & 63;
    v8u tab = (v8u)_mm512_i64gather_epi64((__m512i)j, (const void *)exp_tab_bits, 8);
    return p * (v8d)(tab + ((ku & ~(unsigned long long)63) << 46));
}

static inline __attribute__((always_inline, target("avx512f"))) double
objective8_d(const fit_ctx *c, const double *W, double *Ps, double *G, const int d)
{
    const int K = c->K, Kp = c->Kp, Kp8 = c->Kp8, D = d + 1, nv = Kp8 / 8, np2 = Kp / 2;
    double *WT = c->WT8;
    weights_padded(W, WT, K, Kp8, d);
    memset(c->G8, 0, (size_t)D * Kp8 * sizeof(double));
    double loss = 0.0;
    v8d *z = (v8d *)c->z8;
    const v8d *wt = (const v8d *)WT;
    v8d *g = (v8d *)c->G8;
    size_t next = 0, si = 0;
    v8d xb_small[16];
    v8d *xb = d <= 16 ? xb_small : (v8d *)c->xb8;
    for (size_t i = 0; i < c->n; i++) {
        const double *x = c->X + i * (size_t)d;
#pragma GCC unroll 16
        for (int a = 0; a < d; a++) xb[a] = bc8(x[a]);
        v8d mv = bc8(-INFINITY);
        for (int v = 0; v < nv; v++) {
            v8d s0 = wt[(size_t)d * nv + v];
#pragma GCC unroll 16
            for (int a = 0; a < d; a++) s0 += xb[a] * wt[(size_t)a * nv + v];
            z[v] = s0;
            v8u g0 = (v8u)(s0 > mv);
            mv = (v8d)(((v8u)s0 & g0) | ((v8u)mv & ~g0));
        }
        double m = mv[0];
        for (int l = 1; l < 8; l++) m = mv[l] > m ? mv[l] : m;
        if (!isfinite(m)) return NAN;
        double *zs = c->z8;
        double zy = zs[c->y[i]];
        for (int v = 0; v < nv; v++) z[v] = vexp8(z[v] - m);
        /* objective_d's order: lane 0 the even classes, lane 1 the odd */
        double a0 = 0.0, a1 = 0.0;
        for (int v = 0; v < np2; v++) {
            a0 += zs[2 * v];
            a1 += zs[2 * v + 1];
        }
        if (Kp > K) a1 -= zs[K];
        double sum = a0 + a1;
        double inv = 1.0 / sum;
        for (int v = 0; v < nv; v++) z[v] *= inv;
        loss += m + log(sum) - zy;
        if (i == next) {
            memcpy(Ps + si * Kp, zs, (size_t)Kp * sizeof(double));
            si++;
            next += c->stride;
        }
        zs[c->y[i]] -= 1.0;
        for (int v = 0; v < nv; v++) {
            v8d r = z[v];
#pragma GCC unroll 16
            for (int a = 0; a < d; a++) g[(size_t)a * nv + v] += xb[a] * r;
            g[(size_t)d * nv + v] += r;
        }
    }
    for (int a = 0; a < D; a++) memcpy(G + (size_t)a * Kp, c->G8 + (size_t)a * Kp8, (size_t)Kp * sizeof(double));
    return loss + l2_penalty(W, c->r0, K, d, c->inv_c);
}

static __attribute__((target("avx512f"))) double objective8(const fit_ctx *c, const double *W, double *Ps,
                                                            double *G)
{
    switch (c->d) {
    case 4: return objective8_d(c, W, Ps, G, 4);
    case 1: return objective8_d(c, W, Ps, G, 1);
    default: return objective8_d(c, W, Ps, G, c->d);
    }
}

/* 1 when the CPU and the OS run AVX-512F (ZMM state enabled in XCR0) */
static int cpu_has_avx512(void)
{
    unsigned a, b, cx, dx;
    if (!__get_cpuid(1, &a, &b, &cx, &dx) || !(cx & bit_OSXSAVE)) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &cx, &dx) || !(b & bit_AVX512F)) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 0xe6) == 0xe6; /* SSE, AVX, opmask, ZMM0-15 hi, ZMM16-31 */
}
#else
static int cpu_has_avx512(void) { return 0; }
#endif

/* The objective's width (logreg_simd): 1 where the CPU runs AVX-512F, read
 * once, at the first fit or logreg_simd call. */
static int simd_avail, simd_level;
static pthread_once_t simd_once = PTHREAD_ONCE_INIT;
static void simd_pick(void) { simd_level = simd_avail = cpu_has_avx512(); }

int logreg_simd(int level)
{
    pthread_once(&simd_once, simd_pick);
    if (level == 0 || (level == 1 && simd_avail)) simd_level = level;
    return simd_level;
}

/* The objective in the vector width newton() chose (c->Kp8 > 0: AVX-512). */
static double objective(const fit_ctx *c, const double *W, double *Ps, double *G)
{
#if LOGREG_AVX512
    if (c->Kp8) return objective8(c, W, Ps, G);
#endif
    return objective2(c, W, Ps, G);
}

/* Gradient over the free rows into g [npar] from the sums G; @return max
 * |g_j|. */
static double gradient(const fit_ctx *c, const double *W, const double *G, double *g)
{
    const int K = c->K, D = c->D, d = c->d, Kp = c->Kp;
    double gmax = 0.0;
    for (int k = c->r0; k < K; k++)
        for (int a = 0; a < D; a++) {
            double v = G[(size_t)a * Kp + k];
            if (a < d) v += c->inv_c * W[(size_t)k * D + a];
            g[(size_t)(k - c->r0) * D + a] = v;
            double av = fabs(v);
            if (!(av <= gmax)) gmax = av; /* NaN propagates */
        }
    return gmax;
}

/* Hessian over the free rows into c->H (full symmetric matrix), from the
 * ns samples i = 0, stride, 2 stride, ... (all of them when stride = 1),
 * scaled by n / ns:
 *   H_(k,a),(l,b) = sum_i (p_ik [k=l] - p_ik p_il) x_ia x_ib  (+ 1/C on weights)
 * The diagonal blocks (k = l), where p - p^2 cancels, are summed exactly in
 * double; the off-diagonal blocks -sum_i p_ik p_il x x^T come from a float
 * rank-B update (relative error ~1e-7) when the problem is well scaled
 * (the diagonal entries of every class block within a factor
 * HESS_FLOAT_MAX_RATIO), else in double.  Only the Newton direction depends
 * on the Hessian; the gradient and objective, which decide the optimum and
 * the stopping test, are exact sums over all samples in double. */
static void hessian(fit_ctx *c, const double *Ps)
{
    const int K = c->K, Kp = c->Kp, D = c->D, d = c->d, r0 = c->r0, np = c->npar;
    const size_t ns = c->ns, nK = ns * (size_t)Kp;
    const double scale = (double)c->n / (double)ns;
    for (size_t j = 0; j < nK; j++) c->PW[j] = Ps[j] * (1.0 - Ps[j]);
    /* diagonal blocks: T1 = PW^T XX : [K][npair] */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, c->npair, (int)ns, 1.0,
                c->PW, Kp, c->XX, c->npair, 0.0, c->T1, c->npair);
    /* Is float precise enough?  Its error is ~1e-7 of the entries it sums;
     * the steps it shapes go wrong when one class block mixes curvatures of
     * very different sizes (badly scaled features: x_a^2 against the
     * intercept's 1).  Then the double path. */
    int use_double = 0;
    for (int k = r0; k < K && !use_double; k++) {
        double dmax = 0.0, dmin = INFINITY;
        for (int a = 0; a < D; a++) {
            int pi = a * D - a * (a - 1) / 2; /* pair (a, a) */
            double v = scale * c->T1[(size_t)k * c->npair + pi] + (a < d ? c->inv_c : 0.0);
            if (v > dmax) dmax = v;
            if (v < dmin) dmin = v;
        }
        use_double = !(dmin > 0.0) || dmax > HESS_FLOAT_MAX_RATIO * dmin;
    }
    /* off-diagonal: sum_i q_i q_i^T with q_i[(k-r0)D + a] = p_ik x_ia, by
     * blocks of samples in a fixed order; float into Hf or double into H */
    int first = 1;
    for (size_t i0 = 0; i0 < ns; i0 += HBLOCK) {
        size_t B = ns - i0 < HBLOCK ? ns - i0 : HBLOCK;
        for (size_t i = 0; i < B; i++) {
            const double *x = c->Xs + (i0 + i) * (size_t)D;
            const double *p = Ps + (i0 + i) * (size_t)Kp;
            if (use_double) {
                double *q = (double *)c->Qb + i * (size_t)np;
                for (int k = r0; k < K; k++)
                    for (int a = 0; a < D; a++) q[(k - r0) * D + a] = p[k] * x[a];
            } else {
                float *q = (float *)c->Qb + i * (size_t)np;
                for (int k = r0; k < K; k++)
                    for (int a = 0; a < D; a++) q[(k - r0) * D + a] = (float)(p[k] * x[a]);
            }
        }
        if (use_double)
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, np, (int)B, 1.0, (double *)c->Qb, np,
                        first ? 0.0 : 1.0, c->H, np);
        else
            cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, np, (int)B, 1.0f, (float *)c->Qb, np,
                        first ? 0.0f : 1.0f, c->Hf, np);
        first = 0;
    }
    /* assemble (reads the upper triangle of Hf / H before writing it) */
    for (int j = 0; j < np; j++) {
        int kj = j / D + r0, aj = j % D;
        for (int l = j; l < np; l++) {
            int kl = l / D + r0, al = l % D;
            double v;
            if (kj == kl) {
                int lo = aj < al ? aj : al, hi = aj < al ? al : aj;
                /* index of pair (lo, hi) in the row-wise upper triangle */
                int pi = lo * D - lo * (lo - 1) / 2 + (hi - lo);
                v = scale * c->T1[(size_t)kj * c->npair + pi];
                if (j == l && aj < d) v += c->inv_c;
            } else {
                v = -scale * (use_double ? c->H[(size_t)j * np + l] : (double)c->Hf[(size_t)j * np + l]);
            }
            c->H[(size_t)j * np + l] = v;
            c->H[(size_t)l * np + j] = v;
        }
    }
    if (r0 == 0) {
        /* Pin the free direction u (all intercepts together): H u = 0 and
         * g . u = 0, so adding s u u^T changes no step orthogonal to u. */
        double s = 0.0;
        for (int k = 0; k < K; k++) {
            double h = c->H[(size_t)(k * D + d) * np + (k * D + d)];
            if (h > s) s = h;
        }
        if (!(s > 0.0)) s = 1.0;
        for (int k = 0; k < K; k++)
            for (int l = 0; l < K; l++) c->H[(size_t)(k * D + d) * np + (l * D + d)] += s;
    }
}

/* Cholesky factor of c->H into Hwork (a small ridge is added when H is not
 * numerically positive definite).  @return 0 or -1. */
static int newton_factor(const fit_ctx *c, double *Hwork)
{
    int np = c->npar, info = 0;
    double ridge = 0.0, tr = 0.0;
    for (int j = 0; j < np; j++) tr += c->H[(size_t)j * np + j];
    if (!isfinite(tr)) return -1;
    for (int attempt = 0; attempt < 8; attempt++) {
        memcpy(Hwork, c->H, (size_t)np * np * sizeof(double));
        for (int j = 0; j < np; j++) Hwork[(size_t)j * np + j] += ridge;
        char uplo = 'L';
        dpotrf_(&uplo, &np, Hwork, &np, &info);
        if (info == 0) return 0;
        ridge = ridge == 0.0 ? 1e-10 * (tr / np + 1.0) : ridge * 100.0;
    }
    return -1;
}

/* Solve H s = -g with the factor from newton_factor.  @return 0 or -1. */
static int newton_solve(const fit_ctx *c, double *Hwork, const double *g, double *s)
{
    int np = c->npar, one = 1, info = 0;
    char uplo = 'L';
    for (int j = 0; j < np; j++) s[j] = -g[j];
    dpotrs_(&uplo, &np, &one, Hwork, &np, s, &np, &info);
    return info == 0 ? 0 : -1;
}

/* Scratch buffers of a fit, kept between fits of one thread. */
enum { WS_WT, WS_XS, WS_XX, WS_QB, WS_HF, WS_PW, WS_T1, WS_H, WS_G, WS_GN, WS_Z, WS_P, WS_PN, WS_HW, WS_GV,
       WS_S, WS_WN, WS_XB, WS_WT8, WS_G8, WS_Z8, WS_XB8,
       /* Newton-CG */
       WS_C_P, WS_C_PN, WS_C_A, WS_C_M, WS_C_Q, WS_C_QF, WS_C_XF, WS_C_SF, WS_C_XT, WS_C_VEC, WS_C_VS, WS_C_AF,
       WS_N };
struct logreg_ws {
    void *buf[WS_N];
    size_t cap[WS_N];
};

logreg_ws *logreg_ws_new(void) { return calloc(1, sizeof(logreg_ws)); }

void logreg_ws_free(logreg_ws *ws)
{
    if (!ws) return;
    for (int i = 0; i < WS_N; i++) free(ws->buf[i]);
    free(ws);
}

/* @return slot i with at least n bytes, 64-byte aligned (contents
 * undefined), or NULL */
static void *ws_get(logreg_ws *ws, int i, size_t n)
{
    n = (n + 63) / 64 * 64;
    if (n == 0) n = 64;
    if (ws->cap[i] < n) {
        free(ws->buf[i]);
        ws->buf[i] = aligned_alloc(64, n);
        ws->cap[i] = ws->buf[i] ? n : 0;
    }
    return ws->buf[i];
}

/* The Hessian's samples: every stride-th (stride 1: all), their features
 * (+1) into Xs and pairwise products into XX, and the buffers sized by
 * their number (P, Pn: their probabilities).  @return 0 or -1. */
static int samples_setup(logreg_ws *ws, fit_ctx *c, size_t stride, double **P, double **Pn)
{
    const int D = c->D, d = c->d, np = c->npar, Kp = c->Kp;
    c->stride = stride;
    c->ns = (c->n + stride - 1) / stride;
    const size_t ns = c->ns;
    size_t qrows = ns < HBLOCK ? ns : HBLOCK;
    c->Xs = ws_get(ws, WS_XS, ns * D * sizeof(double));
    c->XX = ws_get(ws, WS_XX, ns * c->npair * sizeof(double));
    c->Qb = ws_get(ws, WS_QB, qrows * np * sizeof(double));
    c->PW = ws_get(ws, WS_PW, ns * Kp * sizeof(double));
    *P = ws_get(ws, WS_P, ns * Kp * sizeof(double));
    *Pn = ws_get(ws, WS_PN, ns * Kp * sizeof(double));
    if (!c->Xs || !c->XX || !c->Qb || !c->PW || !*P || !*Pn) return -1;
    for (size_t j = 0; j < ns; j++) {
        double *xt = c->Xs + j * D;
        for (int a = 0; a < d; a++) xt[a] = c->X[j * stride * d + a];
        xt[d] = 1.0;
        double *xx = c->XX + j * c->npair;
        int p = 0;
        for (int a = 0; a < D; a++)
            for (int b = a; b < D; b++) xx[p++] = xt[a] * xt[b];
    }
    return 0;
}

/* Newton's method from the intercept-only optimum.  The Hessian's factor
 * is reused while the steps it gives are full and cut max |gradient| by
 * REUSE_RATIO or more (near the optimum the Hessian hardly changes);
 * otherwise it is recomputed.  A subsampled Hessian (large n) is dropped
 * for the full one, for the rest of the fit, as soon as its steps stop
 * working (SUB_* above): on hard or badly scaled problems its steps can
 * slow to a crawl (large-zipf-30-badscale: not converged in 100). */
static int newton(logreg_ws *ws, const double *X, const int *y, size_t n, int d, int K, double inv_c,
                  int max_iter, double tol, double *W, logreg_result *res, herr *e)
{
    fit_ctx c;
    memset(&c, 0, sizeof c);
    c.n = n; c.d = d; c.D = d + 1; c.K = K; c.Kp = (K + 1) / 2 * 2;
    c.r0 = K == 2 ? 1 : 0;
    c.Kf = K - c.r0;
    c.npar = c.Kf * c.D;
    c.npair = c.D * (c.D + 1) / 2;
    c.inv_c = inv_c;
    c.y = y;
    c.X = X;
    size_t hs = (size_t)HSAMPLES_PER_PAR * (size_t)c.npar;
    if (hs < HSAMPLES) hs = HSAMPLES;
    const int D = c.D, np = c.npar, Kp = c.Kp;
    c.WT = ws_get(ws, WS_WT, (size_t)D * Kp * sizeof(double));
    c.Hf = ws_get(ws, WS_HF, (size_t)np * np * sizeof(float));
    c.T1 = ws_get(ws, WS_T1, (size_t)K * c.npair * sizeof(double));
    c.H = ws_get(ws, WS_H, (size_t)np * np * sizeof(double));
    c.z = ws_get(ws, WS_Z, (size_t)Kp * sizeof(double));
    c.xb = ws_get(ws, WS_XB, (size_t)d * sizeof(v2d));
    double *G = ws_get(ws, WS_G, (size_t)D * Kp * sizeof(double));
    double *Gn = ws_get(ws, WS_GN, (size_t)D * Kp * sizeof(double));
    double *Hw = ws_get(ws, WS_HW, (size_t)np * np * sizeof(double));
    double *g = ws_get(ws, WS_GV, np * sizeof(double));
    double *s = ws_get(ws, WS_S, np * sizeof(double));
    double *Wn = ws_get(ws, WS_WN, (size_t)K * D * sizeof(double));
    double *P = NULL, *Pn = NULL;
    int rc = -1;
    if (!c.WT || !c.Hf || !c.T1 || !c.H || !c.z || !Hw || !g || !s || !Wn || !G || !Gn || !c.xb ||
        samples_setup(ws, &c, n / hs > 1 ? n / hs : 1, &P, &Pn) != 0) {
        herr_set(e, "out of memory for a fit of %zu samples, %d classes, dimension %d", n, K, d);
        goto out;
    }
    pthread_once(&simd_once, simd_pick);
    if (simd_level == 1) {
        c.Kp8 = (K + 7) / 8 * 8;
        c.WT8 = ws_get(ws, WS_WT8, (size_t)D * c.Kp8 * sizeof(double));
        c.G8 = ws_get(ws, WS_G8, (size_t)D * c.Kp8 * sizeof(double));
        c.z8 = ws_get(ws, WS_Z8, (size_t)c.Kp8 * sizeof(double));
        c.xb8 = ws_get(ws, WS_XB8, (size_t)d * 8 * sizeof(double));
        if (!c.WT8 || !c.G8 || !c.z8 || !c.xb8) {
            herr_set(e, "out of memory for a fit of %d classes, dimension %d", K, d);
            goto out;
        }
    }

    /* Start at the optimum over the intercepts alone (weights 0): b_k =
     * log(n_k), centred (multinomial) or log(n_1 / n_0) (binary).  The
     * objective is strictly convex, so the start changes only the path. */
    {
        memset(W, 0, (size_t)K * D * sizeof(double));
        double *cnt = c.z, mean = 0.0;
        for (int k = 0; k < K; k++) cnt[k] = 0.0;
        for (size_t i = 0; i < n; i++) cnt[y[i]] += 1.0;
        for (int k = 0; k < K; k++) {
            if (!(cnt[k] > 0.0)) { /* every class must occur */
                herr_set(e, "class %d has no samples", k);
                goto out;
            }
            cnt[k] = log(cnt[k]);
            mean += cnt[k];
        }
        mean = c.r0 ? cnt[0] : mean / K;
        for (int k = c.r0; k < K; k++) W[(size_t)k * D + d] = cnt[k] - mean;
    }
    double f = objective(&c, W, P, G);
    if (!isfinite(f)) {
        herr_set(e, "non-finite objective at the start (non-finite features?)");
        goto out;
    }
    int iter = 0, converged = 0, have_factor = 0, fresh = 0, go_full = 0;
    double gmax, gprev = INFINITY, tprev = 0.0;
    for (;;) {
        gmax = gradient(&c, W, G, g);
        if (!isfinite(gmax)) {
            herr_set(e, "non-finite gradient after %d iterations", iter);
            goto out;
        }
        if (gmax <= tol) { converged = 1; break; }
        if (iter >= max_iter) break;
        if (c.stride > 1 && (go_full || iter >= SUB_MAX_STEPS ||
                             (fresh && iter >= SUB_FROM && (tprev < SUB_T_MIN || gmax > SUB_MIN_CUT * gprev)))) {
            /* the subsample's steps stopped working: full Hessian from now
             * on (one more pass at W for all samples' probabilities) */
            if (samples_setup(ws, &c, 1, &P, &Pn) != 0) {
                herr_set(e, "out of memory for the full Hessian of %zu samples", n);
                goto out;
            }
            if (!isfinite(objective(&c, W, P, G))) {
                herr_set(e, "non-finite objective after %d iterations", iter);
                goto out;
            }
            have_factor = 0;
        }
        go_full = 0;
        if (!have_factor || tprev < 1.0 || gmax > REUSE_RATIO * gprev) {
            hessian(&c, P);
            if (newton_factor(&c, Hw) != 0) {
                herr_set(e, "the Hessian could not be factorised after %d iterations (non-finite values)", iter);
                goto out;
            }
            have_factor = fresh = 1;
        } else {
            fresh = 0;
        }
        if (newton_solve(&c, Hw, g, s) != 0) {
            herr_set(e, "the Newton system could not be solved after %d iterations", iter);
            goto out;
        }
        double gts = 0.0;
        for (int j = 0; j < np; j++) gts += g[j] * s[j];
        if (!(gts < 0.0)) {
            if (!fresh) { have_factor = 0; continue; } /* stale factor: recompute */
            if (c.stride > 1) { go_full = 1; continue; } /* subsample: try the full Hessian */
            break; /* no descent direction left: at the optimum to rounding */
        }
        double t = 1.0, fn = f;
        int accepted = 0;
        for (int ls = 0; ls < 50; ls++) {
            memcpy(Wn, W, (size_t)K * D * sizeof(double));
            for (int j = 0; j < np; j++) Wn[(size_t)c.r0 * D + j] += t * s[j];
            fn = objective(&c, Wn, Pn, Gn);
            if (isfinite(fn) && fn <= f + 1e-4 * t * gts + 1e-13 * fabs(f)) {
                accepted = 1;
                break;
            }
            if (!fresh) break; /* stale factor: recompute rather than backtrack */
            t *= 0.5;
        }
        if (!accepted) {
            if (!fresh) { have_factor = 0; continue; }
            if (c.stride > 1) { go_full = 1; continue; }
            break; /* line search failed: stop, not converged */
        }
        memcpy(W, Wn, (size_t)K * D * sizeof(double));
        double *tmp = P; P = Pn; Pn = tmp;
        tmp = G; G = Gn; Gn = tmp;
        f = fn;
        gprev = gmax;
        tprev = t;
        iter++;
    }
    res->iterations = iter;
    res->converged = converged;
    res->loss = f;
    res->grad_max = gmax;
    res->solver = LOGREG_NEWTON;
    res->hess_products = 0;
    res->vector_doubles = c.Kp8 ? 8 : 2;
    rc = 0;
out:
    return rc;
}

/* ------------------------------------------------------------ Newton-CG */

/* Rows per block of the data passes. */
#define NCG_BLOCK 2048
/* The preconditioner's block of class k sums exactly over the samples of
 * class k and those where p_k (1 - p_k) >= NCG_PREC_TAU (where its
 * curvature lives), and over every m-th of the rest, scaled by m, about
 * NCG_PREC_SAMPLES of them. */
#ifndef NCG_PREC_SAMPLES
#define NCG_PREC_SAMPLES 4096
#endif
#ifndef NCG_PREC_EVERY
#define NCG_PREC_EVERY 2
#endif
#ifndef NCG_PREC_TAU
#define NCG_PREC_TAU 1e-3
#endif
/* CG steps per Newton step at most (scikit-learn's maxinner). */
#define NCG_MAX_INNER 200

typedef struct ncg_ctx {
    size_t n; int d, D, K, r0, Kf, npar;
    double inv_c;
    const int *y;        /* [n] */
    double *Xt;          /* [n][D] features and a 1 (x~) */
    double *A;           /* [NCG_BLOCK][K] one block's scores or products */
    double *HVf;         /* [K][D] H times a direction, summed over blocks */
    float *Vs, *Hs;      /* [K][D] the direction (row 0: zeros), one block's H v */
    float *Af;           /* [NCG_BLOCK][K] one block's products */
    double *M;           /* [Kf][D][D] the preconditioner's Cholesky factors */
    float *Xf;           /* [n][D] x~ in float (exact: the features are float32 values) */
    float *Qf;           /* [n][D] rows sqrt(w) x~ of the preconditioner's samples */
    float *Sf;           /* [D][D] their sum of squares */
    double *Q;           /* [D][D] factor scratch */
    size_t pstride;      /* the preconditioner's other samples: every pstride-th */
    long hv;             /* Hessian-vector products so far */
} ncg_ctx;

/* exp of the K values z - m in place (vexp by pairs, unaligned rows).
 * @return their sum, added in the order k = 0, 2, 4, ... | 1, 3, ... */
static inline double exp_row(double *z, int K, double m)
{
    v2d acc = {0.0, 0.0}, mv = {m, m};
    int k = 0;
    for (; k + 1 < K; k += 2) {
        v2d v;
        memcpy(&v, z + k, sizeof v);
        v = vexp(v - mv);
        memcpy(z + k, &v, sizeof v);
        acc += v;
    }
    if (k < K) {
        v2d v = {z[k] - m, z[k] - m};
        v = vexp(v);
        z[k] = v[0];
        acc[0] += v[0];
    }
    return acc[0] + acc[1];
}

/* One pass over the data at W [K][D]: the objective (returned; NaN if not
 * finite), gradient sums G [K][D] = sum_i (p_ik - [k = y_i]) x~_i (no
 * penalty) and the probabilities P [n][K].  Blocks in order; within a
 * block BLAS (single-threaded: a fixed order). */
static double ncg_objective(const ncg_ctx *c, const double *W, double *P, double *G)
{
    const int K = c->K, D = c->D, d = c->d;
    memset(G, 0, (size_t)K * D * sizeof(double));
    double loss = 0.0;
    for (size_t i0 = 0; i0 < c->n; i0 += NCG_BLOCK) {
        const int B = c->n - i0 < NCG_BLOCK ? (int)(c->n - i0) : NCG_BLOCK;
        const double *Xb = c->Xt + i0 * (size_t)D;
        double *Pb = P + i0 * (size_t)K;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, K, D, 1.0, Xb, D, W, D, 0.0, Pb, K);
        for (int i = 0; i < B; i++) {
            double *z = Pb + (size_t)i * K, m = -INFINITY;
            for (int k = 0; k < K; k++) m = z[k] > m ? z[k] : m;
            if (!isfinite(m)) return NAN;
            const int yi = c->y[i0 + (size_t)i];
            const double zy = z[yi];
            double sum = exp_row(z, K, m), inv = 1.0 / sum;
            loss += m + log(sum) - zy;
            double *r = c->A + (size_t)i * K;
            for (int k = 0; k < K; k++) {
                z[k] *= inv;
                r[k] = z[k];
            }
            r[yi] -= 1.0;
        }
        /* G += R^T X~ (the last column: the intercepts' sums) */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, D, B, 1.0, c->A, K, Xb, D, 1.0, G, D);
    }
    return loss + l2_penalty(W, c->r0, K, d, c->inv_c);
}

/* Gradient over the free rows into g [npar] from the sums G; @return
 * max |g_j| (NaN propagates). */
static double ncg_gradient(const ncg_ctx *c, const double *W, const double *G, double *g)
{
    const int D = c->D, d = c->d;
    double gmax = 0.0;
    for (int k = c->r0; k < c->K; k++)
        for (int a = 0; a < D; a++) {
            double v = G[(size_t)k * D + a];
            if (a < d) v += c->inv_c * W[(size_t)k * D + a];
            g[(size_t)(k - c->r0) * D + a] = v;
            double av = fabs(v);
            if (!(av <= gmax)) gmax = av;
        }
    return gmax;
}

/* hv = H v over all samples at the probabilities P:
 *   (H v)_k = sum_i p_ik (a_ik - sum_l p_il a_il) x~_i + v_k / C (weights),
 *   a_i = V x~_i,
 * v and hv [npar] over the free rows. */
static void ncg_hessvec(ncg_ctx *c, const double *P, const double *v, double *hv)
{
    const int K = c->K, D = c->D, d = c->d;
    const size_t KD = (size_t)K * D;
    double *HV = c->HVf;
    float *V = c->Vs;
    memset(V, 0, (size_t)c->r0 * D * sizeof(float));
    for (int j = 0; j < c->npar; j++) V[(size_t)c->r0 * D + j] = (float)v[j];
    memset(HV, 0, KD * sizeof(double));
    for (size_t i0 = 0; i0 < c->n; i0 += NCG_BLOCK) {
        const int B = c->n - i0 < NCG_BLOCK ? (int)(c->n - i0) : NCG_BLOCK;
        const float *Xb = c->Xf + i0 * (size_t)D;
        const double *Pb = P + i0 * (size_t)K;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, K, D, 1.0f, Xb, D, V, D, 0.0f, c->Af, K);
        for (int i = 0; i < B; i++) {
            float *a = c->Af + (size_t)i * K;
            const double *p = Pb + (size_t)i * K;
            double sp = 0.0;
            for (int k = 0; k < K; k++) sp += p[k] * a[k];
            for (int k = 0; k < K; k++) a[k] = (float)(p[k] * (a[k] - sp));
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, D, B, 1.0f, c->Af, K, Xb, D, 0.0f, c->Hs, D);
        for (size_t j = 0; j < KD; j++) HV[j] += c->Hs[j];
    }
    for (int k = c->r0; k < K; k++)
        for (int a = 0; a < D; a++) {
            double h = HV[(size_t)k * D + a];
            if (a < d) h += c->inv_c * v[(size_t)(k - c->r0) * D + a];
            hv[(size_t)(k - c->r0) * D + a] = h;
        }
    c->hv++;
}

/* The preconditioner at P: per free class k the Cholesky factor of
 * sum_s w_s p_sk (1 - p_sk) x~_s x~_s^T + 1/C (weights) over the samples
 * NCG_PREC_TAU selects (weight 1) and every pstride-th other one (weight
 * pstride).  A block that is not numerically positive definite gets a
 * growing ridge.  @return 0 or -1 */
static int ncg_precond(ncg_ctx *c, const double *P)
{
    const int K = c->K, D = c->D, d = c->d;
    for (int k = c->r0; k < K; k++) {
        double *Mk = c->M + (size_t)(k - c->r0) * D * D;
        size_t ns = 0;
        for (size_t i = 0; i < c->n; i++) {
            double pk = P[i * K + k], w = pk * (1.0 - pk);
            if (!(w >= NCG_PREC_TAU) && c->y[i] != k) {
                if (i % c->pstride) continue;
                w *= (double)c->pstride;
            }
            const float wf = (float)sqrt(w), *x = c->Xf + i * (size_t)D;
            float *q = c->Qf + ns++ * (size_t)D;
            int a = 0;
            for (; a + 8 <= D; a += 8) { /* by 8 (GCC vectors; -O2 leaves the loop scalar) */
                v8f v;
                memcpy(&v, x + a, sizeof v);
                v *= wf;
                memcpy(q + a, &v, sizeof v);
            }
            for (; a < D; a++) q[a] = wf * x[a];
        }
        /* float: only the CG's convergence speed depends on it */
        cblas_ssyrk(CblasRowMajor, CblasLower, CblasTrans, D, (int)ns, 1.0f, c->Qf, D, 0.0f, c->Sf, D);
        double tr = 0.0;
        for (int a = 0; a < D; a++) {
            for (int b = 0; b <= a; b++)
                Mk[(size_t)a * D + b] = Mk[(size_t)b * D + a] = (double)c->Sf[(size_t)a * D + b];
            if (a < d) Mk[(size_t)a * D + a] += c->inv_c;
            tr += Mk[(size_t)a * D + a];
        }
        if (!isfinite(tr)) return -1;
        /* factor a copy (in Q, free until the next class); on failure
         * retry with a growing ridge */
        double ridge = 0.0;
        int info = 0;
        for (int attempt = 0; attempt < 8; attempt++) {
            char uplo = 'L';
            int nD = D;
            memcpy(c->Q, Mk, (size_t)D * D * sizeof(double));
            for (int a = 0; a < D; a++) c->Q[(size_t)a * D + a] += ridge;
            dpotrf_(&uplo, &nD, c->Q, &nD, &info);
            if (info == 0) break;
            ridge = ridge == 0.0 ? 1e-10 * (tr / D + 1.0) : ridge * 100.0;
        }
        if (info != 0) return -1;
        memcpy(Mk, c->Q, (size_t)D * D * sizeof(double));
        if (info != 0) return -1;
    }
    return 0;
}

/* z = M^-1 r (free rows), then the intercepts' common shift removed
 * (multinomial: the direction H does not see). */
static void ncg_apply_precond(const ncg_ctx *c, const double *r, double *z)
{
    const int D = c->D;
    memcpy(z, r, (size_t)c->npar * sizeof(double));
    for (int k = 0; k < c->Kf; k++) {
        char uplo = 'L';
        int nD = D, one = 1, info = 0;
        dpotrs_(&uplo, &nD, &one, c->M + (size_t)k * D * D, &nD, z + (size_t)k * D, &nD, &info);
    }
    if (c->r0 == 0) {
        double mean = 0.0;
        for (int k = 0; k < c->Kf; k++) mean += z[(size_t)k * D + c->d];
        mean /= c->Kf;
        for (int k = 0; k < c->Kf; k++) z[(size_t)k * D + c->d] -= mean;
    }
}

static double dot(const double *a, const double *b, int n)
{
    double s = 0.0;
    for (int j = 0; j < n; j++) s += a[j] * b[j];
    return s;
}

/* Truncated Newton (logreg.h): preconditioned CG on exact Hessian-vector
 * products for each step, then a backtracking Armijo line search. */
static int newton_cg(logreg_ws *ws, const double *X, const int *y, size_t n, int d, int K, double inv_c,
                     int max_iter, double tol, double *W, logreg_result *res, herr *e)
{
    ncg_ctx c;
    memset(&c, 0, sizeof c);
    c.n = n; c.d = d; c.D = d + 1; c.K = K;
    c.r0 = K == 2 ? 1 : 0;
    c.Kf = K - c.r0;
    c.npar = c.Kf * c.D;
    c.inv_c = inv_c;
    c.y = y;
    c.pstride = n / NCG_PREC_SAMPLES > 1 ? n / NCG_PREC_SAMPLES : 1;
    const int D = c.D, np = c.npar;
    const size_t KD = (size_t)K * D;
    double *P = ws_get(ws, WS_C_P, n * K * sizeof(double));
    double *Pn = ws_get(ws, WS_C_PN, n * K * sizeof(double));
    c.A = ws_get(ws, WS_C_A, (size_t)NCG_BLOCK * K * sizeof(double));
    c.M = ws_get(ws, WS_C_M, (size_t)c.Kf * D * D * sizeof(double));
    c.Q = ws_get(ws, WS_C_Q, (size_t)D * D * sizeof(double));
    c.Qf = ws_get(ws, WS_C_QF, n * D * sizeof(float));
    c.Xf = ws_get(ws, WS_C_XF, n * D * sizeof(float));
    c.Sf = ws_get(ws, WS_C_SF, (size_t)D * D * sizeof(float));
    c.Xt = ws_get(ws, WS_C_XT, n * D * sizeof(double));
    double *vec = ws_get(ws, WS_C_VEC, (6 * KD + 6 * (size_t)np) * sizeof(double));
    if (!P || !Pn || !c.A || !c.M || !c.Q || !c.Qf || !c.Xf || !c.Sf || !c.Xt || !vec)
        return herr_set(e, "out of memory for a fit of %zu samples, %d classes, dimension %d", n, K, d);
    for (size_t i = 0; i < n; i++) {
        memcpy(c.Xt + i * D, X + i * (size_t)d, (size_t)d * sizeof(double));
        c.Xt[i * D + d] = 1.0;
        for (int a = 0; a < D; a++) c.Xf[i * D + a] = (float)c.Xt[i * D + a];
    }
    double *G = vec, *Gn = G + KD, *Wn = Gn + KD, *cnt = Wn + KD;
    c.HVf = cnt + 2 * KD;
    c.Vs = ws_get(ws, WS_C_VS, 2 * KD * sizeof(float));
    c.Hs = c.Vs ? c.Vs + KD : NULL;
    c.Af = ws_get(ws, WS_C_AF, (size_t)NCG_BLOCK * K * sizeof(float));
    if (!c.Vs || !c.Af) return herr_set(e, "out of memory for a fit of %zu samples, %d classes, dimension %d", n, K, d);
    double *g = c.HVf + KD, *x = g + np, *r = x + np, *z = r + np, *p = z + np, *Hp = p + np;

    /* start: the intercepts' own optimum, as newton() */
    memset(W, 0, KD * sizeof(double));
    for (int k = 0; k < K; k++) cnt[k] = 0.0;
    for (size_t i = 0; i < n; i++) cnt[y[i]] += 1.0;
    double mean = 0.0;
    for (int k = 0; k < K; k++) {
        if (!(cnt[k] > 0.0)) return herr_set(e, "class %d has no samples", k);
        cnt[k] = log(cnt[k]);
        mean += cnt[k];
    }
    mean = c.r0 ? cnt[0] : mean / K;
    for (int k = c.r0; k < K; k++) W[(size_t)k * D + d] = cnt[k] - mean;

    double f = ncg_objective(&c, W, P, G);
    if (!isfinite(f)) return herr_set(e, "non-finite objective at the start (non-finite features?)");
    int iter = 0, converged = 0, prec_at = -1;
    double gmax;
    for (;;) {
        gmax = ncg_gradient(&c, W, G, g);
        if (!isfinite(gmax)) return herr_set(e, "non-finite gradient after %d iterations", iter);
        if (gmax <= tol) { converged = 1; break; }
        if (iter >= max_iter) break;
        if ((iter - prec_at >= NCG_PREC_EVERY || prec_at < 0) && (prec_at = iter, ncg_precond(&c, P) != 0))
            return herr_set(e, "the preconditioner could not be factorised after %d iterations (non-finite values)",
                            iter);
        /* CG on H x = -g from x = 0, to ||r|| <= eta ||g|| */
        double gn = sqrt(dot(g, g, np)), eta = sqrt(gn) < 0.5 ? sqrt(gn) : 0.5;
        memset(x, 0, (size_t)np * sizeof(double));
        for (int j = 0; j < np; j++) r[j] = -g[j];
        ncg_apply_precond(&c, r, z);
        memcpy(p, z, (size_t)np * sizeof(double));
        double rz = dot(r, z, np);
        for (int it = 0; it < NCG_MAX_INNER; it++) {
            ncg_hessvec(&c, P, p, Hp);
            double curv = dot(p, Hp, np);
            if (!(curv > 0.0)) {
                if (it == 0) memcpy(x, z, (size_t)np * sizeof(double)); /* the preconditioned gradient step */
                break;
            }
            double alpha = rz / curv;
            for (int j = 0; j < np; j++) {
                x[j] += alpha * p[j];
                r[j] -= alpha * Hp[j];
            }
            if (sqrt(dot(r, r, np)) <= eta * gn) break;
            ncg_apply_precond(&c, r, z);
            double rz1 = dot(r, z, np), beta = rz1 / rz;
            for (int j = 0; j < np; j++) p[j] = z[j] + beta * p[j];
            rz = rz1;
        }
        double gts = dot(g, x, np);
        if (!(gts < 0.0)) break; /* no descent direction left: at the optimum to rounding */
        double t = 1.0, fn = f;
        int accepted = 0;
        for (int ls = 0; ls < 50; ls++) {
            memcpy(Wn, W, KD * sizeof(double));
            for (int j = 0; j < np; j++) Wn[(size_t)c.r0 * D + j] += t * x[j];
            fn = ncg_objective(&c, Wn, Pn, Gn);
            if (isfinite(fn) && fn <= f + 1e-4 * t * gts + 1e-13 * fabs(f)) {
                accepted = 1;
                break;
            }
            t *= 0.5;
        }
        if (!accepted) break; /* line search failed: stop, not converged */
        memcpy(W, Wn, KD * sizeof(double));
        double *tmp = P; P = Pn; Pn = tmp;
        tmp = G; G = Gn; Gn = tmp;
        f = fn;
        iter++;
    }
    res->iterations = iter;
    res->converged = converged;
    res->loss = f;
    res->grad_max = gmax;
    res->solver = LOGREG_NEWTON_CG;
    res->vector_doubles = 0;
    res->hess_products = c.hv;
    return 0;
}

int logreg_fit_ws(logreg_ws *ws, const double *X, const int *y, size_t n, int d, int K,
                  const logreg_opts *o, double *W, logreg_result *res, herr *e)
{
    if (!ws || !X || !y || !W || !res || !o) return herr_set(e, "logreg_fit_ws: a NULL argument");
    if (n == 0) return herr_set(e, "no samples");
    if (d < 1) return herr_set(e, "feature dimension %d < 1", d);
    if (K < 2) return herr_set(e, "%d class%s; a fit needs at least 2", K, K == 1 ? "" : "es");
    if (!(o->C > 0.0) || !isfinite(o->C)) return herr_set(e, "C = %g is not a positive number", o->C);
    if (o->max_iter < 0) return herr_set(e, "max_iter %d < 0", o->max_iter);
    if (!(o->tol >= 0.0)) return herr_set(e, "tol = %g is not a non-negative number", o->tol);
    pthread_once(&blas_once, blas_single);
    pthread_once(&exp_once, exp_tab_fill);
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K) return herr_set(e, "sample %zu: class %d outside 0..%d", i, y[i], K - 1);
    memset(res, 0, sizeof *res);
    if (logreg_pick_solver(o->solver, d, K) == LOGREG_NEWTON_CG)
        return newton_cg(ws, X, y, n, d, K, 1.0 / o->C, o->max_iter, o->tol, W, res, e);
    return newton(ws, X, y, n, d, K, 1.0 / o->C, o->max_iter, o->tol, W, res, e);
}

int logreg_predict(const double *W, int K, int d, const double *x)
{
    int best = 0;
    double bs = -INFINITY;
    for (int k = 0; k < K; k++) {
        const double *w = W + (size_t)k * (d + 1);
        double s = 0.0;
        for (int a = 0; a < d; a++) s += w[a] * x[a];
        s += w[d];
        if (s > bs || k == 0) { bs = s; best = k; }
    }
    return best;
}
