/* logreg.c: Newton's method with the exact Hessian for the multinomial (and
 * binary) logistic regression of logreg.h. */
#include "logreg.h"

#include <cblas.h>
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

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_single(void) { openblas_set_num_threads(1); }

void logreg_default_opts(logreg_opts *o)
{
    o->C = 1.0;
    o->max_iter = 100;
    o->tol = 1e-4;
}

/* Everything one fit needs; sizes in the comments. */
typedef struct fit_ctx {
    size_t n; int d, D, K, r0, Kf, npar, npair;
    double inv_c;
    const int *y;        /* [n] */
    double *Xt;          /* [n][D]      features with a trailing 1 */
    double *XX;          /* [n][npair]  products x_a x_b, a <= b < D */
    double *R;           /* [n][K]      p - onehot(y) */
    void *Qb;            /* [HBLOCK][npar] p_ik x_ia for one block (float or double) */
    float *Hf;           /* [npar][npar] off-diagonal curvature, float */
    double *T1;          /* [K][npair]  sum_i p_ik (1 - p_ik) x_ia x_ib */
    double *PW;          /* [n][K]      p_ik (1 - p_ik) */
    double *H;           /* [npar][npar] */
    double *G;           /* [K][D] full gradient (row 0 unused when r0) */
    double *z;           /* [K] scratch */
} fit_ctx;

/* Objective at W; probabilities into P [n][K].  Sequential sums. */
static double objective(const fit_ctx *c, const double *W, double *P)
{
    const int K = c->K, D = c->D, d = c->d;
    double loss = 0.0;
    double *z = c->z;
    for (size_t i = 0; i < c->n; i++) {
        const double *x = c->Xt + i * (size_t)D;
        double m = -INFINITY;
        for (int k = 0; k < K; k++) {
            const double *w = W + (size_t)k * D;
            double s = 0.0;
            for (int a = 0; a < d; a++) s += w[a] * x[a];
            s += w[d];
            z[k] = s;
            if (s > m) m = s;
        }
        double sum = 0.0;
        double *p = P + i * (size_t)K;
        for (int k = 0; k < K; k++) { p[k] = exp(z[k] - m); sum += p[k]; }
        double inv = 1.0 / sum;
        for (int k = 0; k < K; k++) p[k] *= inv;
        loss += m + log(sum) - z[c->y[i]];
    }
    double pen = 0.0;
    for (int k = c->r0; k < K; k++)
        for (int a = 0; a < d; a++) pen += W[(size_t)k * D + a] * W[(size_t)k * D + a];
    return loss + 0.5 * c->inv_c * pen;
}

/* Gradient over the free rows into g [npar]; @return max |g_j|. */
static double gradient(fit_ctx *c, const double *W, const double *P, double *g)
{
    const int K = c->K, D = c->D, d = c->d;
    memcpy(c->R, P, c->n * (size_t)K * sizeof(double));
    for (size_t i = 0; i < c->n; i++) c->R[i * (size_t)K + c->y[i]] -= 1.0;
    /* G = R^T Xt : [K][D] */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, D, (int)c->n, 1.0,
                c->R, K, c->Xt, D, 0.0, c->G, D);
    double gmax = 0.0;
    for (int k = c->r0; k < K; k++)
        for (int a = 0; a < D; a++) {
            double v = c->G[(size_t)k * D + a];
            if (a < d) v += c->inv_c * W[(size_t)k * D + a];
            g[(size_t)(k - c->r0) * D + a] = v;
            double av = fabs(v);
            if (!(av <= gmax)) gmax = av; /* NaN propagates */
        }
    return gmax;
}

/* Hessian over the free rows into c->H (full symmetric matrix).
 *   H_(k,a),(l,b) = sum_i (p_ik [k=l] - p_ik p_il) x_ia x_ib  (+ 1/C on weights)
 * The diagonal blocks (k = l), where p - p^2 cancels, are summed exactly in
 * double; the off-diagonal blocks -sum_i p_ik p_il x x^T come from a float
 * rank-B update (relative error ~1e-7) when the problem is well scaled
 * (the diagonal entries of every class block within a factor
 * HESS_FLOAT_MAX_RATIO), else in double.  Only the Newton direction depends
 * on the Hessian; the gradient and objective, which decide the optimum and
 * the stopping test, stay in double. */
static void hessian(fit_ctx *c, const double *P)
{
    const int K = c->K, D = c->D, d = c->d, r0 = c->r0, np = c->npar;
    const size_t nK = c->n * (size_t)K;
    for (size_t j = 0; j < nK; j++) c->PW[j] = P[j] * (1.0 - P[j]);
    /* diagonal blocks: T1 = PW^T XX : [K][npair] */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, c->npair, (int)c->n, 1.0,
                c->PW, K, c->XX, c->npair, 0.0, c->T1, c->npair);
    /* Is float precise enough?  Its error is ~1e-7 of the entries it sums;
     * the steps it shapes go wrong when one class block mixes curvatures of
     * very different sizes (badly scaled features: x_a^2 against the
     * intercept's 1).  Then the double path. */
    int use_double = 0;
    for (int k = r0; k < K && !use_double; k++) {
        double dmax = 0.0, dmin = INFINITY;
        for (int a = 0; a < D; a++) {
            int pi = a * D - a * (a - 1) / 2; /* pair (a, a) */
            double v = c->T1[(size_t)k * c->npair + pi] + (a < d ? c->inv_c : 0.0);
            if (v > dmax) dmax = v;
            if (v < dmin) dmin = v;
        }
        use_double = !(dmin > 0.0) || dmax > HESS_FLOAT_MAX_RATIO * dmin;
    }
    /* off-diagonal: sum_i q_i q_i^T with q_i[(k-r0)D + a] = p_ik x_ia, by
     * blocks of samples in a fixed order; float into Hf or double into H */
    int first = 1;
    for (size_t i0 = 0; i0 < c->n; i0 += HBLOCK) {
        size_t B = c->n - i0 < HBLOCK ? c->n - i0 : HBLOCK;
        for (size_t i = 0; i < B; i++) {
            const double *x = c->Xt + (i0 + i) * (size_t)D;
            const double *p = P + (i0 + i) * (size_t)K;
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
                v = c->T1[(size_t)kj * c->npair + pi];
                if (j == l && aj < d) v += c->inv_c;
            } else {
                v = use_double ? -c->H[(size_t)j * np + l] : -(double)c->Hf[(size_t)j * np + l];
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

/* Solve H s = -g in place (s in rhs).  @return 0 or -1. */
static int newton_solve(fit_ctx *c, double *Hwork, const double *g, double *s)
{
    int np = c->npar, one = 1, info = 0;
    double ridge = 0.0, tr = 0.0;
    for (int j = 0; j < np; j++) tr += c->H[(size_t)j * np + j];
    if (!isfinite(tr)) return -1;
    for (int attempt = 0; attempt < 8; attempt++) {
        memcpy(Hwork, c->H, (size_t)np * np * sizeof(double));
        for (int j = 0; j < np; j++) Hwork[(size_t)j * np + j] += ridge;
        char uplo = 'L';
        dpotrf_(&uplo, &np, Hwork, &np, &info);
        if (info == 0) {
            for (int j = 0; j < np; j++) s[j] = -g[j];
            dpotrs_(&uplo, &np, &one, Hwork, &np, s, &np, &info);
            return info == 0 ? 0 : -1;
        }
        ridge = ridge == 0.0 ? 1e-10 * (tr / np + 1.0) : ridge * 100.0;
    }
    return -1;
}

/* Scratch buffers of a fit, kept between fits of one thread. */
enum { WS_XT, WS_XX, WS_R, WS_QB, WS_HF, WS_PW, WS_T1, WS_H, WS_G, WS_Z, WS_P, WS_PN, WS_HW, WS_GV, WS_S,
       WS_WN, WS_N };
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

/* @return slot i with at least n bytes (contents undefined), or NULL */
static void *ws_get(logreg_ws *ws, int i, size_t n)
{
    if (n == 0) n = 1;
    if (ws->cap[i] < n) {
        free(ws->buf[i]);
        ws->buf[i] = malloc(n);
        ws->cap[i] = ws->buf[i] ? n : 0;
    }
    return ws->buf[i];
}

/* Newton's method from the intercept-only optimum. */
static int newton(logreg_ws *ws, const double *X, const int *y, size_t n, int d, int K, double inv_c,
                  int max_iter, double tol, double *W, logreg_result *res)
{
    fit_ctx c;
    memset(&c, 0, sizeof c);
    c.n = n; c.d = d; c.D = d + 1; c.K = K;
    c.r0 = K == 2 ? 1 : 0;
    c.Kf = K - c.r0;
    c.npar = c.Kf * c.D;
    c.npair = c.D * (c.D + 1) / 2;
    c.inv_c = inv_c;
    c.y = y;
    const int D = c.D, np = c.npar;
    size_t qrows = n < HBLOCK ? n : HBLOCK;
    c.Xt = ws_get(ws, WS_XT, n * D * sizeof(double));
    c.XX = ws_get(ws, WS_XX, n * c.npair * sizeof(double));
    c.R = ws_get(ws, WS_R, n * K * sizeof(double));
    c.Qb = ws_get(ws, WS_QB, qrows * np * sizeof(double));
    c.Hf = ws_get(ws, WS_HF, (size_t)np * np * sizeof(float));
    c.PW = ws_get(ws, WS_PW, n * K * sizeof(double));
    c.T1 = ws_get(ws, WS_T1, (size_t)K * c.npair * sizeof(double));
    c.H = ws_get(ws, WS_H, (size_t)np * np * sizeof(double));
    c.G = ws_get(ws, WS_G, (size_t)K * D * sizeof(double));
    c.z = ws_get(ws, WS_Z, (size_t)K * sizeof(double));
    double *P = ws_get(ws, WS_P, n * K * sizeof(double));
    double *Pn = ws_get(ws, WS_PN, n * K * sizeof(double));
    double *Hw = ws_get(ws, WS_HW, (size_t)np * np * sizeof(double));
    double *g = ws_get(ws, WS_GV, np * sizeof(double));
    double *s = ws_get(ws, WS_S, np * sizeof(double));
    double *Wn = ws_get(ws, WS_WN, (size_t)K * D * sizeof(double));
    int rc = -1;
    if (!c.Xt || !c.XX || !c.R || !c.Qb || !c.Hf || !c.PW || !c.T1 || !c.H || !c.G || !c.z || !P || !Pn ||
        !Hw || !g || !s || !Wn)
        goto out;

    for (size_t i = 0; i < n; i++) {
        double *xt = c.Xt + i * D;
        for (int a = 0; a < d; a++) xt[a] = X[i * d + a];
        xt[d] = 1.0;
        double *xx = c.XX + i * c.npair;
        int p = 0;
        for (int a = 0; a < D; a++)
            for (int b = a; b < D; b++) xx[p++] = xt[a] * xt[b];
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
            if (!(cnt[k] > 0.0)) goto out; /* every class must occur */
            cnt[k] = log(cnt[k]);
            mean += cnt[k];
        }
        mean = c.r0 ? cnt[0] : mean / K;
        for (int k = c.r0; k < K; k++) W[(size_t)k * D + d] = cnt[k] - mean;
    }
    double f = objective(&c, W, P);
    if (!isfinite(f)) goto out;
    int iter = 0, converged = 0;
    double gmax;
    for (;;) {
        gmax = gradient(&c, W, P, g);
        if (!isfinite(gmax)) goto out;
        if (gmax <= tol) { converged = 1; break; }
        if (iter >= max_iter) break;
        hessian(&c, P);
        if (newton_solve(&c, Hw, g, s) != 0) goto out;
        double gts = 0.0;
        for (int j = 0; j < np; j++) gts += g[j] * s[j];
        if (!(gts < 0.0)) break; /* no descent direction left: at the optimum
                                    to rounding */
        double t = 1.0, fn = f;
        int accepted = 0;
        for (int ls = 0; ls < 50; ls++) {
            memcpy(Wn, W, (size_t)K * D * sizeof(double));
            for (int j = 0; j < np; j++) Wn[(size_t)c.r0 * D + j] += t * s[j];
            fn = objective(&c, Wn, Pn);
            if (isfinite(fn) && fn <= f + 1e-4 * t * gts + 1e-13 * fabs(f)) {
                accepted = 1;
                break;
            }
            t *= 0.5;
        }
        if (!accepted) break; /* line search failed: stop, not converged */
        memcpy(W, Wn, (size_t)K * D * sizeof(double));
        double *tmp = P; P = Pn; Pn = tmp;
        f = fn;
        iter++;
    }
    res->iterations = iter;
    res->converged = converged;
    res->loss = f;
    res->grad_max = gmax;
    rc = 0;
out:
    return rc;
}

int logreg_fit(const double *X, const int *y, size_t n, int d, int K,
               const logreg_opts *o, double *W, logreg_result *res)
{
    logreg_ws *ws = logreg_ws_new();
    if (!ws) return -1;
    int rc = logreg_fit_ws(ws, X, y, n, d, K, o, W, res);
    logreg_ws_free(ws);
    return rc;
}

int logreg_fit_ws(logreg_ws *ws, const double *X, const int *y, size_t n, int d, int K,
                  const logreg_opts *o, double *W, logreg_result *res)
{
    if (!ws || !X || !y || !W || !res || !o || n == 0 || d < 1 || K < 2 || !(o->C > 0.0) ||
        o->max_iter < 0 || !(o->tol >= 0.0))
        return -1;
    pthread_once(&blas_once, blas_single);
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K) return -1;
    return newton(ws, X, y, n, d, K, 1.0 / o->C, o->max_iter, o->tol, W, res);
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
