/* logreg.h: L2-regularised logistic regression with an intercept, solved to
 * the same optimum as scikit-learn 1.2's
 * LogisticRegression(solver='newton-cg', C=C, max_iter, tol).
 *
 * Objective (scikit-learn 1.2, _logistic.py: newton-cg with
 * l2_reg_strength = 1/C and unit sample weights; LinearModelLoss sums the
 * per-sample losses, the intercept is not penalised):
 *
 *   f(W) = sum_i [ logsumexp_k z_ik - z_i,y_i ] + 1/(2C) * sum_k ||w_k||^2,
 *   z_ik = w_k . x_i + b_k
 *
 * K > 2 classes: multinomial (every class has a row; scikit-learn's
 * multi_class='auto' picks multinomial for newton-cg).  K == 2: scikit-learn
 * fits a binary model (one weight vector for classes[1]); that is the
 * multinomial objective with row 0 fixed at zero, which is how it is stored
 * here (row 0 = zeros), so argmax prediction with ties to class 0 equals
 * scikit-learn's "decision > 0 -> classes[1]".
 *
 * Two solvers, chosen by size (logreg_pick_solver), both stopping like
 * scikit-learn's _newton_cg: when max_j |grad_j| <= tol at the start of an
 * iteration, or after max_iter Newton steps; both start from weights 0 and
 * intercepts at their own optimum (log class counts, centred), which the
 * convex objective's unique optimum does not depend on; in both the
 * objective and the gradient -- which decide the optimum and the stopping
 * test -- are exact sums over all samples in double.  The free direction
 * of the multinomial intercepts (adding a constant to every b_k changes
 * nothing) is pinned at sum_k b_k = 0, as scikit-learn's CG from zero
 * keeps it.
 *
 * LOGREG_NEWTON (K(d+1) <= LOGREG_NEWTON_MAX_PAR: the probes of 4-dim
 * heads): Newton steps with the whole Hessian (K(d+1))^2, Cholesky
 * (LAPACK dpotrf in OpenBLAS) and a backtracking Armijo line search.  The
 * Hessian only shapes the step, so it is approximate: summed over every
 * m-th sample (about max(4096, 20 K(d+1)) of them; all below ~8,000
 * samples) and scaled up; its off-diagonal class blocks
 * -sum_i p_ik p_il x_i x_i^T from a float32 rank-n update (ssyrk; relative
 * error ~1e-7) unless badly scaled features need double; and its factor is
 * reused while the steps it gives stay full and cut max |gradient| 5x or
 * more.
 *
 * LOGREG_NEWTON_CG (larger: 64-dim heads, 2,600 parameters, whose Hessian
 * costs n (K(d+1))^2 to form): truncated Newton as scikit-learn's
 * newton-cg (Nocedal & Wright, Numerical Optimization, 2nd ed., alg. 7.1):
 * each step solves H s = -g by conjugate gradients on Hessian-vector
 * products over all samples (H v = X~^T [P o (X~ V^T) - P o rowsum(...)] +
 * V/C, two float32 sgemm per block of samples, summed in double: the
 * products only shape the step), to a residual of min(0.5, sqrt(||g||))
 * ||g|| (at most 200 CG steps), then the same Armijo line search.  The CG
 * is preconditioned by the Hessian's diagonal class blocks
 * sum_i p_ik (1 - p_ik) x~_i x~_i^T + 1/C (one (d+1)^2 Cholesky factor per
 * class; the curvature of each class's own weights, which the logistic
 * loss makes very uneven once predictions are confident), summed in float
 * over the samples of class k and those with p_k (1 - p_k) >= 1e-3 and
 * over every m-th other one (scaled by m; ~4096 of them), rebuilt every
 * second Newton step (docs/probes.md has the measurements behind these
 * choices).
 *
 * Deterministic: every sum runs in a fixed order and BLAS is used single
 * threaded (logreg_fit_ws sets OpenBLAS to one thread once); callers run
 * several fits in parallel threads instead.
 */
#ifndef HEADS_LOGREG_H
#define HEADS_LOGREG_H

#include <stddef.h>

#include "base/err.h"

/** The solvers (see the top of this file). */
typedef enum logreg_solver {
    LOGREG_AUTO = 0,      /**< LOGREG_NEWTON up to LOGREG_NEWTON_MAX_PAR parameters, else NEWTON_CG */
    LOGREG_NEWTON = 1,    /**< whole (subsampled) Hessian, Cholesky */
    LOGREG_NEWTON_CG = 2  /**< conjugate gradients on Hessian-vector products */
} logreg_solver;

/** LOGREG_AUTO takes the dense Newton path up to this many free parameters
 *  (K(d+1), (d+1) for K = 2): every 4-dim probe (up to 102 classes). */
#define LOGREG_NEWTON_MAX_PAR 512

/** Options of a fit (scikit-learn's defaults: C 1, max_iter 100, tol 1e-4). */
typedef struct logreg_opts {
    double C;      /**< inverse regularisation strength, > 0 */
    int max_iter;  /**< Newton iterations at most, >= 0 */
    double tol;    /**< stop when max |gradient| <= tol */
    logreg_solver solver; /**< LOGREG_AUTO: by size */
} logreg_opts;

/** The solver a fit of this size runs.
 *  @param s requested solver (LOGREG_AUTO: chosen by size)
 *  @param d feature dimension @param K classes
 *  @return LOGREG_NEWTON or LOGREG_NEWTON_CG */
logreg_solver logreg_pick_solver(logreg_solver s, int d, int K);

/** The vector width of the LOGREG_NEWTON objective and gradient pass (the
 *  probes' hot loop): 0 = two doubles (SSE2, any x86-64), 1 = eight
 *  (AVX-512F).  Both give the same bits: each lane does the same operations
 *  in the same order, and the one sum across classes keeps the two-lane
 *  order.  The first fit picks 1 when the CPU and the OS run AVX-512F
 *  (x86-64 builds; elsewhere it is always 0).
 *  Process-wide; set it before fits start, not during them (tests compare
 *  the two).
 *  @param level -1 to ask, 0 or 1 to set (1 is ignored without AVX-512F)
 *  @return the width in use from now on */
int logreg_simd(int level);

/** @return "newton" or "newton-cg" (anything else: "auto") */
const char *logreg_solver_name(logreg_solver s);

/** Fill opts with scikit-learn's defaults. @param o options to set */
void logreg_default_opts(logreg_opts *o);

/** Outcome of a fit. */
typedef struct logreg_result {
    int iterations;   /**< Newton steps taken */
    int converged;    /**< 1 if max |gradient| <= tol was reached */
    double loss;      /**< objective f at the returned weights */
    double grad_max;  /**< max |gradient| at the returned weights */
    logreg_solver solver; /**< the solver that ran */
    long hess_products;   /**< Hessian-vector products (NEWTON_CG), 0 for NEWTON */
    int vector_doubles;   /**< doubles per vector in NEWTON's objective pass (2 or 8,
                               logreg_simd); 0 for NEWTON_CG */
} logreg_result;

/** Scratch memory for fits, reused between the fits of one thread (one
 *  workspace per thread; not shareable between concurrent fits). */
typedef struct logreg_ws logreg_ws;

/** @return a new empty workspace, or NULL when out of memory */
logreg_ws *logreg_ws_new(void);

/** Free a workspace (NULL is fine). @param ws workspace */
void logreg_ws_free(logreg_ws *ws);

/** Fit a probe.
 *  @param ws workspace of the calling thread (buffers grow as needed and are
 *         kept for the next fit)
 *  @param X n x d features, row-major (double; convert float32 inputs
 *         exactly)
 *  @param y n class indices in [0, K); every class must occur at least once
 *  @param n samples (>= 1)
 *  @param d feature dimension (>= 1)
 *  @param K classes (>= 2)
 *  @param o options
 *  @param W out: K x (d+1), row k = [w_k0 .. w_k(d-1), b_k]
 *  @param res out: iterations, convergence, loss
 *  @param e error message
 *  @return 0 (converged or not: see res), or -1 with e set: invalid
 *          arguments, a class without samples, out of memory, or a
 *          non-finite objective or Hessian (non-finite input) */
int logreg_fit_ws(logreg_ws *ws, const double *X, const int *y, size_t n, int d, int K,
                  const logreg_opts *o, double *W, logreg_result *res, herr *e)
    __attribute__((warn_unused_result));

/** Predict one sample: argmax_k (w_k . x + b_k), ties to the lowest k
 *  (numpy argmax).  Scores are computed in double, in order a = 0..d-1, then
 *  the intercept added.
 *  @param W K x (d+1) weights as written by logreg_fit
 *  @param K classes; @param d dimension; @param x d features
 *  @return the class index */
int logreg_predict(const double *W, int K, int d, const double *x);

#endif
