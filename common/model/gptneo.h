/* gptneo.h: the one transformer of the toolkit, in two architectures that
 * share config (config.h), parameter layout (weights.h) and this forward:
 * GPT-Neo (Hugging Face `modeling_gpt_neo`) and GPT-2 (`modeling_gpt2`,
 * GPT2LMHeadModel; docs/gpt2.md).  It loads config.json and the weights
 * (model.safetensors or pytorch_model.bin via tensors.h; GPT-2's state-dict
 * names and Conv1D layout are handled by gpt2.h) and runs a float32
 * forward, one story at a time, that keeps every layer's per-head q, k, v, z
 * and (optionally) head activity.
 *
 * The forward (docs/DESIGN.md §5, docs/gpt2.md), with D = n_embd,
 * H = heads, dk = D / H, T = tokens of the story:
 *
 *   x[T][D] = wte[id] + wpe[pos]
 *   per layer l:
 *     h = LN1(x)
 *     q, k, v = h Wq^T + bq, h Wk^T + bk, h Wv^T + bv
 *                                   (GPT-Neo: no bias; GPT-2: c_attn's bias)
 *     per head: s = q_h k_h^T / model_attn_divisor(cfg, l)
 *                                   (GPT-Neo: 1, NO scaling; GPT-2: sqrt(dk),
 *                                    times l + 1 with scale_attn_by_inverse_layer_idx)
 *               mask j > i; on GPT-Neo's local layers also i - j >= window_size
 *               p = softmax(s) in float32; z_h = p v_h
 *     x += z Wo^T + bo
 *     x += c_proj(gelu_new(c_fc(LN2(x))))
 *   hidden = LN_f(x); logits = hidden wte^T (lm_head tied to wte; GPT-Neo:
 *   a stored lm_head.weight is used; GPT-2: only with tie_word_embeddings false)
 *
 * Weights keep PyTorch's Linear layout [out][in] (GPT-2's Conv1D [in][out]
 * weights are transposed when loaded).  Head h of q, k, v, z is columns
 * [h*dk, (h+1)*dk) of the [T][D] matrices; q and k are dumped before any
 * scaling.  Activity of head h at a token is || Wo[:, h*dk:(h+1)*dk] z_h ||_2
 * (bias excluded) = GPT-2's || z_h c_proj.weight[h*dk:(h+1)*dk, :] ||_2.
 *
 * The gptneo_ names are historical: every function here serves both
 * architectures.
 */
#ifndef HEADS_GPTNEO_H
#define HEADS_GPTNEO_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "io/tensors.h"
#include "model/config.h"
#include "model/weights.h"

/** A loaded model: its config and its parameters in the one layout of
 *  weights.h (owned), plus what inference derives from them. */
typedef struct gptneo_model {
    model_config cfg;
    float *params;                /**< [model_param_count(cfg)] (owned) */
    model_weights w;              /**< pointers into params */
    float *wqkv[MODEL_MAX_LAYERS];/**< [3D][D] per layer: wq, wk, wv stacked for one product (the
                                       layout's own wq: it stacks them already) */
    float *wqkv_own[MODEL_MAX_LAYERS]; /**< a stacked copy when the layout does not (owned), or NULL */
    const float *lm_head;         /**< [V][D]: w.wte when tied, else lm_head_own */
    float *lm_head_own;           /**< [V][D] a separate lm_head.weight (owned), or NULL */
    int lm_head_tied;             /**< 1 if lm_head.weight was absent */
    char dir[1024];               /**< directory given to gptneo_load ("" in memory) */
    char config_path[1100], weights_path[1100];
    char config_sha256[65];       /**< sha256 of config.json */
    char weights_sha256[65];      /**< sha256 of the weights file */
} gptneo_model;

/** Load DIR/config.json and DIR/model.safetensors (preferred) or
 *  DIR/pytorch_model.bin.  Every tensor's shape is checked against the
 *  config; a missing tensor or a wrong shape is refused, and so are the
 *  other architecture's tensor names (GPT-2's c_attn / c_proj in a GPT-Neo
 *  model; for GPT-2 any tensor that is not GPT2LMHeadModel's).
 *  @param dir model directory; @param m out (gptneo_free when done)
 *  @return 0, or -1 with a one-line message in e */
int gptneo_load(const char *dir, gptneo_model *m, herr *e) __attribute__((warn_unused_result));

/** Bind an already-parsed config and tensor set into a model (the tensors
 *  are copied into the layout; *ts is freed and left empty either way).
 *  Names may carry the "transformer." prefix or not (GPT-2: all or none).
 *  @return 0, or -1 with a message */
int gptneo_from_tensors(gptneo_model *m, const model_config *c, tensor_set *ts, herr *e)
    __attribute__((warn_unused_result));

/** A model from parameters already in the layout (copied; the LM head tied),
 *  e.g. the trainer's: the same inference code then runs on them.
 *  @param params [model_param_count(c)] @return 0, or -1 with a message */
int gptneo_from_params(gptneo_model *m, const model_config *c, const float *params, herr *e)
    __attribute__((warn_unused_result));

/** Free a model. */
void gptneo_free(gptneo_model *m);

/** sha256 of the real TinyStories-1M pytorch_model.bin (pinned revision
 *  77f1b168e219585646439073245fe87e56b3023e of roneneldan/TinyStories-1M). */
#define GPTNEO_TINYSTORIES_1M_BIN_SHA256 \
    "07f9609ea882b8163ff3b23d40e2b82cb715d409631beb15c84b164f3877dae7"

/** The model's identity for headers, reports and figures.  Only weights
 *  whose sha256 is the pinned TinyStories-1M file are called TinyStories-1M;
 *  anything else is named by its config's _name_or_path and marked
 *  "not TinyStories-1M".  A GPT-2 model also says what it is: "a random
 *  GPT-2-small-shaped test model, not GPT-2" (model-init's), "a random
 *  GPT-2-architecture test model, not GPT-2", or "a GPT-2-architecture
 *  model, weights not verified against any release" (no GPT-2 sha256 is
 *  pinned).  @param out buffer; @param n its size
 *  @return out */
const char *gptneo_identity(const gptneo_model *m, char *out, size_t n);

/** @return 1 if the weights are the pinned TinyStories-1M file. */
int gptneo_is_tinystories_1m(const gptneo_model *m);

/** Out-projection slice of head h of layer l: element [o][j] of the
 *  [D][dk] slice is at the returned pointer + o*D + j (stride D).  For GPT-2
 *  this is c_proj.weight[h*dk + j][o] of the checkpoint (its rows h*dk ..,
 *  transposed at load). */
static inline const float *gptneo_wo_head(const gptneo_model *m, int l, int h)
{
    return m->w.layer[l].wo + (size_t)h * m->cfg.d_head;
}

/* ------------------------------------------------------------------ */
/* Forward                                                             */

/** What one story's forward keeps.  Set the want_* fields, call
 *  gptneo_forward for each story (buffers grow to the longest story
 *  seen, so memory is bounded by one story), free with gptneo_acts_free. */
typedef struct gptneo_acts {
    /* requests (set by the caller; zero-initialise the struct first) */
    int want_activity;    /**< fill activity */
    int attn_layer;       /**< fill attn for this layer (-1 = none; set it!) */
    int attn_head;        /**< ... and this head */
    int want_resid;       /**< fill resid */
    /** When set, called for every (layer, head, query i) with the softmax
     *  row of that query: probability of key lo + j is p[j] * inv for
     *  j < n (keys outside [lo, lo + n) are masked: probability 0).  Runs
     *  inside the forward, on its thread; must not keep p. */
    void (*attn_row)(void *ctx, int layer, int head, int i, int lo, int n, const float *p,
                     float inv);
    void *attn_ctx;       /**< passed to attn_row */
    /** Ablation: when z_mask[l*H + h] is nonzero, head h's z at layer l is
     *  replaced by z_value[l*D + h*dk .. + dk] at every position before the
     *  output projection (z_value all zeros: zero ablation; the head's mean:
     *  mean ablation).  The stored z (a->z) holds the replacement too. */
    const unsigned char *z_mask;
    const float *z_value; /**< [L][D] replacement values for z_mask */

    /* results of the last story */
    int T;                /**< tokens (rows: all stories' for gptneo_forward_stories) */
    int L, D, H;          /**< layers, hidden size, heads (copied from cfg) */
    float *qkv;           /**< [L][T][3][D]: q, k, v of every layer */
    float *z;             /**< [L][T][D]: attention output before out_proj (GPT-2: c_proj) */
    float *activity;      /**< [L][T][H] when want_activity (else not allocated) */
    float *attn;          /**< [T][T] probabilities of (attn_layer, attn_head) when asked,
                               zero where masked */
    float *hidden;        /**< [T][D]: final hidden state after ln_f */
    float *resid;         /**< [2L+1][T][D] when want_resid: the residual stream entering
                               layer l (2l), after its attention block (2l+1), and
                               entering ln_f (2L) */

    /* scratch (internal) */
    int cap_T, cap_seq, cap_act, cap_attn, cap_resid; /* tokens the buffers hold */
    float *x;             /**< [T][D] residual stream */
    float *h;             /**< [T][D] layer-norm output */
    float *ff;            /**< [T][I] MLP hidden */
    float *kt, *vt;       /**< [H][dk][T] head-major transposed k, v */
    float *p;             /**< [T] one softmax row */
    float *sq;            /**< [T][T] one head's scores (heads of GPTNEO_GEMM_DK or more) */
} gptneo_acts;

/** Heads at least this wide run their attention as two sgemm per head
 *  (scores over the whole [T][T] square, then probabilities times v): at
 *  GPT-2's 64 BLAS beats the row kernel used for narrow heads (GPT-Neo
 *  TinyStories-1M's 4) even though it computes the masked half too. */
#define GPTNEO_GEMM_DK 32

/** Initialise empty buffers and no requests (attn_layer = -1). */
void gptneo_acts_init(gptneo_acts *a);
/** Free buffers. */
void gptneo_acts_free(gptneo_acts *a);

/** Run one story.
 *  @param ids [T] token ids; @param T number of tokens (1..n_positions)
 *  @param a   results (see gptneo_acts)
 *  @return 0, or -1 with a message in e (id outside the vocabulary,
 *          story longer than model_max_tokens, T == 0) */
int gptneo_forward(const gptneo_model *m, const uint32_t *ids, int T,
                   gptneo_acts *a, herr *e)
    __attribute__((warn_unused_result));

/** Run n stories in one pass, their tokens packed back to back as the rows
 *  of a (a->T = all their tokens; row r of gptneo_vec, activity, hidden and
 *  resid is token r - (lens[0] + ... + lens[s-1]) of story s).  Every
 *  per-token product (layer norms, q/k/v, output and MLP projections) runs
 *  once over all rows, so BLAS packs each weight matrix once per batch
 *  instead of once per story (about a tenth of GPT-2 small's forward at 170
 *  tokens a story); each story attends only to itself and its positions
 *  start at 0, exactly as gptneo_forward runs it alone, but equal to it
 *  only to float rounding: a BLAS kernel may round a row by its place in the
 *  product (OpenBLAS's Haswell sgemm does for the last rows), which is why
 *  forward-dump runs each story alone.  The per-story requests (attn_layer,
 *  attn_row) are refused when n > 1.
 *  @param ids [lens[0] + ... + lens[n-1]] @param lens [n], each 1..model_max_tokens
 *  @return 0, or -1 with e set */
int gptneo_forward_stories(const gptneo_model *m, const uint32_t *ids, const int *lens, int n,
                           gptneo_acts *a, herr *e) __attribute__((warn_unused_result));

/** Run the model from layer `layer` on, the residual stream entering it
 *  being x_pre [T][D] (a clean run's resid slot 2*layer): layers layer..L-1
 *  (with a's z replacements, if any), then ln_f into a->hidden.  Layers
 *  below are not run, so an ablation whose lowest head is in `layer`
 *  recomputes only what it changes.  a's per-layer buffers of layers >=
 *  layer are overwritten (and resid, if asked).
 *  @param ids,T the story (as given to gptneo_forward) @param x_pre [T][D]
 *  @return 0, or -1 with e set */
int gptneo_forward_from(const gptneo_model *m, const uint32_t *ids, int T, int layer,
                        const float *x_pre, gptneo_acts *a, herr *e)
    __attribute__((warn_unused_result));

/** Next-token cross-entropy of every position of the last forward: loss[t]
 *  = logsumexp(logits[t]) - logits[t][ids[t+1]] for t < T - 1 (nats; the
 *  last position has no target), logits from a->hidden through the LM head
 *  in chunks of rows (no [T][V] buffer).
 *  @param loss [T - 1] out @return 0, or -1 with e set (out of memory) */
int gptneo_token_losses(const gptneo_model *m, const gptneo_acts *a, const uint32_t *ids,
                        double *loss, herr *e) __attribute__((warn_unused_result));

/** Pointer to vector kind ('q', 'k', 'v' or 'z') of head h, layer l,
 *  token t after gptneo_forward: d_head floats. */
const float *gptneo_vec(const gptneo_acts *a, int dk, int l, int t, int h, char kind);

/** Logits of tokens [t0, t0+n) from the final hidden state of the last
 *  forward (the V-way LM head, computed only when asked).
 *  @param out [n][V] */
void gptneo_logits(const gptneo_model *m, const gptneo_acts *a, int t0, int n, float *out);

/** Indices of the k largest values of x[0..n) in descending order (ties:
 *  lower index first).  @param idx out, k entries; @return min(k, n) */
int gptneo_topk(const float *x, int n, int k, int *idx);

#endif
