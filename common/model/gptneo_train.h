/* gptneo_train.h: forward + backward of GPT-Neo for training, AdamW, and
 * the parameter layout with Hugging Face tensor names.
 *
 * Semantics are docs/DESIGN.md §5 exactly (the same model gptneo.h runs):
 *
 *   x[N][C]  = wte[id] + wpe[pos]
 *   per layer:  h = LN1(x); q,k,v = h Wq^T, h Wk^T, h Wv^T (no bias)
 *               per head: s = q k^T (NO scaling), causal mask, on local
 *               layers also i - j < window; p = softmax(s); z = p v
 *               x += z Wo^T + bo
 *               x += gelu_new(LN2(x) Wfc^T + bfc) Wproj^T + bproj
 *   logits = LN_f(x) wte^T   (LM head tied to wte); loss = cross-entropy
 *
 * Training rows are packed: one row of N tokens holds several stories
 * ("segments").  seg[i] is the row index of the first token of token i's
 * story; a token attends only inside its own story and its position is
 * i - seg[i], so a packed row computes exactly what running each story on
 * its own would.  targets[i] < 0 means "no target" (not counted in the loss).
 *
 * Everything is float32 (softmax / loss sums in double), dense algebra with
 * OpenBLAS sgemm.  Backward functions ADD into their gradient outputs.
 * Shapes are written [rows][cols], row-major; C = hidden, H = heads,
 * D = C/H (head size), F = intermediate, V = vocabulary, P = positions.
 */
#ifndef HEADS_GPTNEO_TRAIN_H
#define HEADS_GPTNEO_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "model/config.h"
#include "model/weights.h"

#define GNT_MAX_DHEAD 16   /**< largest head size D/H the trainer's kernels take (TinyStories-1M: 4) */

/** @return 0 if the trainer can train c (model_config_check, and a head
 *  size of at most GNT_MAX_DHEAD), or -1 with the problem in e. */
int gnt_config_check(const model_config *c, herr *e) __attribute__((warn_unused_result));

/* ------------------------------------------------------------------ */
/* Operations (exposed for the gradient-check tests)                   */

/** out[N][C] = wte[ids[i]] + wpe[i - seg[i]]. */
void gnt_embed_fwd(float *out, const int *ids, const int *seg,
                   const float *wte, const float *wpe, int N, int C);
/** dwte[ids[i]] += dout[i]; dwpe[i - seg[i]] += dout[i]. */
void gnt_embed_bwd(float *dwte, float *dwpe, const float *dout,
                   const int *ids, const int *seg, int N, int C);

/** LayerNorm over rows: out = (x - mean) * rstd * w + b.
 *  @param mean,rstd [N] saved for the backward */
void gnt_layernorm_fwd(float *out, float *mean, float *rstd, const float *x,
                       const float *w, const float *b, int N, int C, float eps);
/** @param dx [N][C] (+=), dw, db [C] (+=) */
void gnt_layernorm_bwd(float *dx, float *dw, float *db, const float *dout,
                       const float *x, const float *w, const float *mean,
                       const float *rstd, int N, int C);

/** out[N][Out] = x[N][In] W^T + b.  @param W [Out][In]; @param b [Out] or NULL */
void gnt_linear_fwd(float *out, const float *x, const float *W, const float *b,
                    int N, int In, int Out);
/** dx[N][In] += dout W; dW[Out][In] += dout^T x; db[Out] += sum of dout rows.
 *  dx / db may be NULL. */
void gnt_linear_bwd(float *dx, float *dW, float *db, const float *dout,
                    const float *x, const float *W, int N, int In, int Out);

/** gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
void gnt_gelu_fwd(float *out, const float *x, size_t n);
/** dx += dout * gelu_new'(x). */
void gnt_gelu_bwd(float *dx, const float *dout, const float *x, size_t n);

/** Unscaled causal self-attention of H heads of size C/H.
 *  Token i attends to j in [lo, i] with lo = seg[i], raised on local
 *  layers (window > 0) to i - window + 1.
 *  @param z [N][C] out; @param lse [N][H] out: log-sum-exp of each row
 *  @param q,k,v [N][C]; @param scratch GNT_ATTN_SCRATCH(N, C) floats */
void gnt_attention_fwd(float *z, float *lse, const float *q, const float *k,
                       const float *v, const int *seg, int N, int C, int H,
                       int window, float *scratch);
/** Scratch floats of gnt_attention_fwd and _bwd: head-major copies of k, v
 *  (and dk, dv), [4][N][C] (which also covers the forward's 2 N C + N). */
#define GNT_ATTN_SCRATCH(N, C) ((size_t)4 * (size_t)(N) * (size_t)(C) + (size_t)(N))
/** Backward (recomputes the probabilities from lse).
 *  @param dq,dk,dv [N][C] (+=); @param dz [N][C]; @param z, lse from fwd
 *  @param scratch GNT_ATTN_SCRATCH(N, C) floats */
void gnt_attention_bwd(float *dq, float *dk, float *dv, const float *dz,
                       const float *q, const float *k, const float *v,
                       const float *z, const float *lse, const int *seg,
                       int N, int C, int H, int window, float *scratch);

/** Tied LM head and cross-entropy, in chunks of rows (no [N][V] buffer).
 *  logits = h wte^T + bias; loss_i = logsumexp(logits_i) - logits_i[target_i].
 *  @param bias [V] constant added to every row of logits, or NULL.  A bias
 *  of log(U) on a row of wte stands for U tokens sharing that row: the
 *  softmax then sums exactly what U equal rows would give (see train's
 *  shared row of unseen tokens).
 *  @param h [N][C]; @param wte [V][C]; @param targets [N] (< 0: skipped)
 *  @param scale factor on the gradients (e.g. 1 / tokens in the batch)
 *  @param dh [N][C] (+=) or NULL; @param dwte [V][C] (+=) or NULL
 *  @param scratch GNT_LM_SCRATCH(V, C) floats
 *  @return sum of loss_i over rows with a target */
#define GNT_LM_CHUNK 128
/** Scratch floats gnt_lmhead_xent needs: [chunk][V] logits, [chunk][C] rows, [chunk][C] dh. */
#define GNT_LM_SCRATCH(V, C) ((size_t)GNT_LM_CHUNK * ((size_t)(V) + 2 * (size_t)(C)))
double gnt_lmhead_xent(const float *h, const float *wte, const float *bias,
                       const int *targets, int N, int C, int V, float scale, float *dh,
                       float *dwte, float *scratch);


/* ------------------------------------------------------------------ */
/* The whole model                                                     */

/** Per-thread activations for rows of at most max_n tokens. */
typedef struct gnt_work gnt_work;

/** @return a workspace for rows up to max_n tokens, or NULL when out of memory. */
gnt_work *gnt_work_new(const model_config *c, int max_n);
void gnt_work_free(gnt_work *w);
/** @return seconds spent in the LM head + loss (forward and backward)
 *  and in total by gnt_forward_backward on this workspace. */
void gnt_work_times(const gnt_work *w, double *lm_head, double *total);

/** A constant [V] added to the logits by gnt_forward_backward (see
 *  gnt_lmhead_xent), or NULL (the default); the array must outlive its use.
 *  gnt_logits never adds it. */
void gnt_work_set_logit_bias(gnt_work *w, const float *bias);

/** Dropout while training (GPT-Neo's embed_dropout and resid_dropout: on
 *  the embeddings and on the output of each attention and MLP block before
 *  it joins the residual; attention probabilities are not dropped).
 *  Each element is kept with probability 1 - p and then scaled by
 *  1 / (1 - p).  The masks are a hash of (key, site, element), so a row
 *  run with the same key gets the same masks on any thread, and the
 *  backward regenerates them instead of storing them.
 *  p = 0 (the default of a new workspace) turns dropout off: evaluation. */
void gnt_work_set_dropout(gnt_work *w, float p, uint64_t key);

/** buf[i] *= mask(key, i) / (1 - p) for i < n.  Being linear with a fixed
 *  mask, the same call is its own backward.  p in [0, 1). */
void gnt_dropout(float *buf, size_t n, float p, uint64_t key);

/** Forward (and backward when grad != NULL) of one packed row.
 *  @param params flat parameters; @param grad flat gradients (+=) or NULL
 *  @param n tokens (1..max_n); @param ids, seg, targets [n] (see top)
 *  @param scale gradient factor (1 / target tokens of the whole batch)
 *  @return sum of the cross-entropy over tokens with a target */
double gnt_forward_backward(const model_config *c, const float *params,
                            float *grad, gnt_work *w, int n, const int *ids,
                            const int *seg, const int *targets, float scale);

/** Forward only, returning logits of every token (never any dropout).
 *  @param logits [n][V] out */
void gnt_logits(const model_config *c, const float *params, gnt_work *w, int n,
                const int *ids, const int *seg, float *logits);

/* ------------------------------------------------------------------ */
/* Optimiser                                                           */

typedef struct gnt_adamw {
    float lr, beta1, beta2, eps, weight_decay;
} gnt_adamw;

/** One AdamW step (decoupled weight decay on tensors with decay = 1,
 *  bias-corrected moments; Loshchilov & Hutter 2019, as torch.optim.AdamW).
 *  @param ti, nt the layout's tensors (model_tensor_list) @param t step number, from 1
 *  @param m, v first / second moments, same layout as params */
void gnt_adamw_step(const model_tensor_info *ti, int nt, const gnt_adamw *o, float *params,
                    const float *grad, float *m, float *v, long t);

/** @return the L2 norm of the gradient (computed in double). */
double gnt_grad_norm(const float *grad, size_t n);

/** Learning rate at step t (from 1): linear warmup over `warmup` steps,
 *  then cosine decay to min_frac * lr at `total`. */
float gnt_lr_schedule(float lr, long t, long warmup, long total, float min_frac);

#endif
