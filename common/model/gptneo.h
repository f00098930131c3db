/* gptneo.h: the GPT-Neo model (Hugging Face `modeling_gpt_neo` semantics):
 * its config.json, its weights (model.safetensors or pytorch_model.bin via
 * tensors.h) and a float32 forward pass, one story at a time, that keeps
 * every layer's per-head q, k, v, z and (optionally) head activity.
 *
 * The forward (DESIGN.md section 5), with D = hidden_size, H = num_heads,
 * dk = D / H, T = tokens of the story:
 *
 *   x[T][D] = wte[id] + wpe[pos]
 *   per layer l:
 *     h = LN1(x)
 *     q, k, v = h Wq^T, h Wk^T, h Wv^T            (no bias)
 *     per head: s = q_h k_h^T                      (NO 1/sqrt(dk) scaling)
 *               mask j > i; on local layers also i - j >= window_size
 *               p = softmax(s) in float32; z_h = p v_h
 *     x += z Wo^T + bo
 *     x += c_proj(gelu_new(c_fc(LN2(x))))
 *   hidden = LN_f(x); logits = hidden wte^T (lm_head tied to wte if absent)
 *
 * Weights keep PyTorch's Linear layout [out][in].  Head h of q, k, v, z is
 * columns [h*dk, (h+1)*dk) of the [T][D] matrices.  Activity of head h at a
 * token is || Wo[:, h*dk:(h+1)*dk] z_h ||_2 (bias excluded).
 */
#ifndef HEADS_GPTNEO_H
#define HEADS_GPTNEO_H

#include <stddef.h>
#include <stdint.h>

#include "io/tensors.h"

#define GPTNEO_MAX_LAYERS 64
#define GPTNEO_MAX_HEADS 64

/** A model's hyper-parameters, from config.json. */
typedef struct gptneo_config {
    int n_embd;        /**< hidden_size (D) */
    int n_head;        /**< num_heads (H) */
    int d_head;        /**< D / H */
    int n_layer;       /**< num_layers (L) */
    int n_inner;       /**< intermediate_size, 4*D when null */
    int vocab_size;    /**< V */
    int n_positions;   /**< max_position_embeddings (P) */
    int window_size;   /**< local attention window */
    double ln_eps;     /**< layer_norm_epsilon */
    int local[GPTNEO_MAX_LAYERS]; /**< 1 if layer l is a "local" layer */
    char name[256];    /**< "_name_or_path" (or "" when absent) */
} gptneo_config;

/** Parse a GPT-Neo config.json text.  Refuses (with a one-line message)
 *  anything this forward does not implement: another model_type, an
 *  activation other than gelu_new, attention types other than
 *  global/local, D not divisible by H, absurd sizes.
 *  @param json NUL-terminated text; @param c out
 *  @param err buffer for the message (no tool prefix)
 *  @return 0 or -1 */
int gptneo_config_parse(const char *json, gptneo_config *c, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/** One transformer block's weights (pointers into the model's tensor set). */
typedef struct gptneo_layer {
    const float *ln1_w, *ln1_b;   /**< [D], [D] */
    const float *wq, *wk, *wv;    /**< [D][D] each ([out][in]) */
    const float *wo, *bo;         /**< [D][D], [D] */
    const float *ln2_w, *ln2_b;   /**< [D], [D] */
    const float *fc_w, *fc_b;     /**< [I][D], [I] */
    const float *proj_w, *proj_b; /**< [D][I], [D] */
    float *wqkv;                  /**< [3D][D]: wq, wk, wv stacked (owned) */
} gptneo_layer;

/** A loaded model. */
typedef struct gptneo_model {
    gptneo_config cfg;
    tensor_set ts;                /**< owns the weights */
    const float *wte;             /**< [V][D] */
    const float *wpe;             /**< [P][D] */
    gptneo_layer layers[GPTNEO_MAX_LAYERS];
    const float *lnf_w, *lnf_b;   /**< [D], [D] */
    const float *lm_head;         /**< [V][D]; == wte when tied */
    int lm_head_tied;             /**< 1 if lm_head.weight was absent */
    char dir[1024];               /**< directory given to gptneo_load */
    char config_path[1100], weights_path[1100];
    char config_sha256[65];       /**< sha256 of config.json */
    char weights_sha256[65];      /**< sha256 of the weights file */
} gptneo_model;

/** Load DIR/config.json and DIR/model.safetensors (preferred) or
 *  DIR/pytorch_model.bin.  Every tensor's shape is checked against the
 *  config; a missing tensor or a wrong shape is refused.
 *  @param dir model directory; @param m out (gptneo_free when done)
 *  @return 0, or -1 with a one-line message in err */
int gptneo_load(const char *dir, gptneo_model *m, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/** Bind an already-parsed config and tensor set into a model (takes
 *  ownership of *ts, which is left empty).  Used by gptneo_load and tests.
 *  @return 0, or -1 with a message (ts is freed either way) */
int gptneo_from_tensors(gptneo_model *m, const gptneo_config *c, tensor_set *ts,
                        char *err, size_t errlen) __attribute__((warn_unused_result));

/** Free a model. */
void gptneo_free(gptneo_model *m);

/** sha256 of the real TinyStories-1M pytorch_model.bin (pinned revision
 *  77f1b168e219585646439073245fe87e56b3023e of roneneldan/TinyStories-1M). */
#define GPTNEO_TINYSTORIES_1M_BIN_SHA256 \
    "07f9609ea882b8163ff3b23d40e2b82cb715d409631beb15c84b164f3877dae7"

/** The model's identity for headers, reports and figures.  Only weights
 *  whose sha256 is the pinned TinyStories-1M file are called TinyStories-1M;
 *  anything else is named by its config's _name_or_path and marked
 *  "not TinyStories-1M".  @param out buffer; @param n its size
 *  @return out */
const char *gptneo_identity(const gptneo_model *m, char *out, size_t n);

/** @return 1 if the weights are the pinned TinyStories-1M file. */
int gptneo_is_tinystories_1m(const gptneo_model *m);

/** @return 1 if layer l is a local-attention layer. */
static inline int gptneo_is_local(const gptneo_config *c, int l) { return c->local[l]; }

/** Whether query i may attend to key j in layer l (the exact mask).
 *  @return 1 if j <= i and, on local layers, i - j < window_size */
static inline int gptneo_can_attend(const gptneo_config *c, int l, int i, int j)
{
    return j <= i && (!c->local[l] || i - j < c->window_size);
}

/** Out-projection slice of head h of layer l: element [o][j] of the
 *  [D][dk] slice is at the returned pointer + o*D + j (stride D). */
static inline const float *gptneo_wo_head(const gptneo_model *m, int l, int h)
{
    return m->layers[l].wo + (size_t)h * m->cfg.d_head;
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

    /* results of the last story */
    int T;                /**< tokens */
    int L, D, H;          /**< layers, hidden size, heads (copied from cfg) */
    float *qkv;           /**< [L][T][3][D]: q, k, v of every layer */
    float *z;             /**< [L][T][D]: attention output before out_proj */
    float *activity;      /**< [L][T][H] when want_activity (else not allocated) */
    float *attn;          /**< [T][T] probabilities of (attn_layer, attn_head) when asked,
                               zero where masked */
    float *hidden;        /**< [T][D]: final hidden state after ln_f */

    /* scratch (internal) */
    int cap_T, cap_act, cap_attn; /* tokens the buffers hold */
    float *x;             /**< [T][D] residual stream */
    float *h;             /**< [T][D] layer-norm output */
    float *ff;            /**< [T][I] MLP hidden */
    float *kt, *vt;       /**< [H][dk][T] head-major transposed k, v */
    float *p;             /**< [T] one softmax row */
} gptneo_acts;

/** Initialise empty buffers and no requests (attn_layer = -1). */
void gptneo_acts_init(gptneo_acts *a);
/** Free buffers. */
void gptneo_acts_free(gptneo_acts *a);

/** Run one story.
 *  @param ids [T] token ids; @param T number of tokens (1..n_positions)
 *  @param a   results (see gptneo_acts)
 *  @return 0, or -1 with a message in err (id outside the vocabulary,
 *          story longer than the position table, T == 0) */
int gptneo_forward(const gptneo_model *m, const uint32_t *ids, int T,
                   gptneo_acts *a, char *err, size_t errlen)
    __attribute__((warn_unused_result));

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
