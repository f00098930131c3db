/* gpt2.h: GPT-2 checkpoints in and out of the one parameter layout
 * (weights.h).  Everything GPT-2 specific about tensor names and storage
 * lives here; the forward (gptneo.h) sees only the layout.
 *
 * A GPT2LMHeadModel state dict (docs/gpt2.md, "Checkpoint files";
 * transformers' modeling_gpt2.py and pytorch_utils.py Conv1D):
 *
 *   transformer.wte.weight [V][D], transformer.wpe.weight [P][D]
 *   transformer.h.l.ln_1.weight, .bias                  [D]
 *   transformer.h.l.attn.c_attn.weight, .bias           [D][3D], [3D]   columns q | k | v
 *   transformer.h.l.attn.c_proj.weight, .bias           [D][D], [D]
 *   transformer.h.l.ln_2.weight, .bias                  [D]
 *   transformer.h.l.mlp.c_fc.weight, .bias              [D][I], [I]
 *   transformer.h.l.mlp.c_proj.weight, .bias            [I][D], [D]
 *   transformer.ln_f.weight, .bias                      [D]
 *   lm_head.weight                                      [V][D] (tied to wte unless
 *                                                       tie_word_embeddings is false)
 *
 * Every Conv1D weight is [in][out] (y = x W + b): binding transposes it to
 * the layout's [out][in] and splits c_attn's columns into wq, wk, wv.
 * Names may all carry "transformer." (GPT2LMHeadModel) or none may
 * (GPT2Model, the hub's original gpt2 files); a file mixing the two is
 * refused.  The causal-mask buffers h.l.attn.bias and h.l.attn.masked_bias
 * (bool, uint8 or float32 depending on the transformers version that saved
 * them) are skipped by name.  Any other tensor is refused, GPT-Neo's names
 * (attn.attention.*) with a message saying so.
 */
#ifndef HEADS_MODEL_GPT2_H
#define HEADS_MODEL_GPT2_H

#include "base/err.h"
#include "io/tensors.h"
#include "model/config.h"
#include "model/weights.h"

/** Bind a GPT-2 state dict into the layout: every tensor's name and shape
 *  checked against the config, Conv1D weights transposed, c_attn split.
 *  @param c a GPT-2 config (c->arch == MODEL_ARCH_GPT2)
 *  @param ts the checkpoint's tensors (those bound are read on request)
 *  @param w the layout of c (model_weights_map), filled
 *  @param lm_head out: lm_head.weight's data [V][D] (pointing into ts) when
 *         the config unties the head, else NULL (the head is wte; a stored
 *         copy is ignored, as transformers ties it after loading)
 *  @return 0, or -1 with a one-line message in e ("model: ...") */
int gpt2_bind(const model_config *c, tensor_set *ts, const model_weights *w,
              const float **lm_head, herr *e) __attribute__((warn_unused_result));

/** The inverse of gpt2_bind: the GPT2LMHeadModel state dict (names with
 *  "transformer.", Conv1D layout, fused c_attn; no buffers, no lm_head: it
 *  is tied) of parameters in the layout.
 *  @param params [model_param_count(c)] @param ts initialised set, appended to
 *  @return 0, or -1 with e set (out of memory) */
int gpt2_state_dict(const model_config *c, const float *params, tensor_set *ts, herr *e)
    __attribute__((warn_unused_result));

/** @return 1 if name (with or without "transformer.") is a GPT-2 tensor name
 *  (attn.c_attn.* or attn.c_proj.* of a layer): what a GPT-Neo model must
 *  not hold. */
int gpt2_is_gpt2_name(const char *name);

#endif
