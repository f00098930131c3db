/* weights.h: the one parameter layout of a model (GPT-Neo or GPT-2).
 *
 * Every parameter lives in one flat float32 array, tensor after tensor.  For
 * GPT-Neo that is Hugging Face's state-dict order (GPTNeoForCausalLM
 * .state_dict(), without the causal-mask buffers and without lm_head, which
 * is tied to wte):
 *
 *   transformer.wte.weight                         [V][D]
 *   transformer.wpe.weight                         [P][D]
 *   per layer l, transformer.h.l.:
 *     ln_1.weight, ln_1.bias                       [D], [D]
 *     attn.attention.q_proj.weight                 [D][D]   (no bias)
 *     attn.attention.k_proj.weight                 [D][D]
 *     attn.attention.v_proj.weight                 [D][D]
 *     attn.attention.out_proj.weight, .bias        [D][D], [D]
 *     ln_2.weight, ln_2.bias                       [D], [D]
 *     mlp.c_fc.weight, mlp.c_fc.bias               [I][D], [I]
 *     mlp.c_proj.weight, mlp.c_proj.bias           [D][I], [D]
 *   transformer.ln_f.weight, transformer.ln_f.bias [D], [D]
 *
 * Matrices keep PyTorch's nn.Linear layout [out][in] (y = x W^T + b).  The
 * inference model (gptneo.h) and the trainer (gptneo_train.h) both address
 * the array through model_weights; checkpoints, gradients and AdamW moments
 * use the same layout.
 *
 * GPT-2 (cfg.arch == MODEL_ARCH_GPT2) has the same tensors in the same
 * [out][in] layout plus the q/k/v biases, so the one forward runs on both.
 * Its Conv1D weights are stored [in][out] in a checkpoint and transposed
 * when bound (gpt2.h); the names listed say so (".T": the checkpoint's
 * tensor transposed; ".q" / ".k" / ".v": that column block of c_attn):
 *
 *   transformer.wte.weight, transformer.wpe.weight  [V][D], [P][D]
 *   per layer l, transformer.h.l.:
 *     ln_1.weight, ln_1.bias                       [D], [D]
 *     attn.c_attn.weight.q.T                       [D][D]   wq = c_attn.weight[:, 0:D]^T
 *     attn.c_attn.weight.k.T                       [D][D]   wk = c_attn.weight[:, D:2D]^T
 *     attn.c_attn.weight.v.T                       [D][D]   wv = c_attn.weight[:, 2D:3D]^T
 *     attn.c_attn.bias                             [3D]     q | k | v biases
 *     attn.c_proj.weight.T, attn.c_proj.bias       [D][D], [D]
 *     ln_2.weight, ln_2.bias                       [D], [D]
 *     mlp.c_fc.weight.T, mlp.c_fc.bias             [I][D], [I]
 *     mlp.c_proj.weight.T, mlp.c_proj.bias         [D][I], [D]
 *   transformer.ln_f.weight, transformer.ln_f.bias [D], [D]
 */
#ifndef HEADS_MODEL_WEIGHTS_H
#define HEADS_MODEL_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "model/config.h"

/** One transformer block's parameters (pointers into the flat array). */
typedef struct model_layer_weights {
    float *ln1_w, *ln1_b;   /**< [D], [D] */
    float *wq, *wk, *wv;    /**< [D][D] each, [out][in] */
    float *bqkv;            /**< [3D] q, k, v biases (GPT-2), NULL for GPT-Neo (none) */
    float *wo, *bo;         /**< [D][D], [D] */
    float *ln2_w, *ln2_b;   /**< [D], [D] */
    float *fc_w, *fc_b;     /**< [I][D], [I] */
    float *proj_w, *proj_b; /**< [D][I], [D] */
} model_layer_weights;

/** All parameters (pointers into the flat array). */
typedef struct model_weights {
    float *wte;             /**< [V][D]; also the LM head (tied) */
    float *wpe;             /**< [P][D] */
    model_layer_weights layer[MODEL_MAX_LAYERS];
    float *lnf_w, *lnf_b;   /**< [D], [D] */
} model_weights;

/** One tensor of the layout. */
typedef struct model_tensor_info {
    char name[96];          /**< e.g. "transformer.h.0.ln_1.weight" (GPT-2: see above) */
    int ndim;               /**< 1 or 2 */
    int64_t shape[2];       /**< shape[1] = 1 for vectors */
    size_t offset, numel;   /**< position in the flat array, in floats */
    int decay;              /**< 1 for matrices and embeddings (AdamW weight decay) */
} model_tensor_info;

/** Tensors a layout can have at most (GPT-2's 4 + 14 L at MODEL_MAX_LAYERS). */
#define MODEL_MAX_TENSORS (4 + 14 * MODEL_MAX_LAYERS)

/** @return the number of tensors: 4 + 13 L (GPT-Neo), 4 + 14 L (GPT-2). */
int model_tensor_count(const model_config *c);

/** List the tensors in layout order.
 *  @param out model_tensor_count(c) entries @return their count */
int model_tensor_list(const model_config *c, model_tensor_info *out);

/** @return the number of floats of all parameters. */
size_t model_param_count(const model_config *c);

/** Point w's fields into flat (model_param_count(c) floats). */
void model_weights_map(model_weights *w, const model_config *c, float *flat);

#endif
