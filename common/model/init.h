/* init.h: random weights, deterministic from a seed (base/rng.h):
 *
 *  - test models (model-init): every tensor ~ N(mean, sd^2) from one
 *    splitmix64 stream turned into normals by Box-Muller (both values of a
 *    pair used), drawn tensor by tensor in model-init's own order (k, v, q
 *    within a layer: the order its files have always had, so existing test
 *    models keep their bytes);
 *  - the trainer's starting point, as Hugging Face initialises GPT-Neo
 *    (GPTNeoPreTrainedModel._init_weights: matrices and embeddings
 *    N(0, 0.02^2), biases 0, LayerNorm weight 1 and bias 0), in the layout of
 *    weights.h.
 *
 * Test models name themselves "random-test-model seed N" and carry
 * "heads_random_test_model": true (model_config_to_json), so no output made
 * from them can pass for TinyStories-1M.
 */
#ifndef HEADS_MODEL_INIT_H
#define HEADS_MODEL_INIT_H

#include <stdint.h>

#include "base/err.h"
#include "io/tensors.h"
#include "model/config.h"

/** Random weights of a test model, with Hugging Face state-dict names
 *  ("transformer.wte.weight", ...; no lm_head: it is tied).  Matrices and
 *  embeddings ~ N(0, std^2); layer-norm weights 1 + N(0, 0.1^2); biases
 *  N(0, 0.05^2).  A GPT-2 config gets GPT2LMHeadModel's tensors (fused
 *  c_attn with its bias, Conv1D [in][out] shapes) drawn in its state-dict
 *  order, each row-major as stored.
 *  @param ts initialised, empty set that receives the tensors
 *  @return 0, or -1 with e set (out of memory) */
int model_init_random_test(const model_config *c, uint64_t seed, float std, tensor_set *ts, herr *e)
    __attribute__((warn_unused_result));

/** The trainer's initial parameters (Hugging Face GPT-Neo's scheme, see
 *  the top of this file), one normal per pair of uniforms.
 *  @param flat [model_param_count(c)] out @param seed RNG seed */
void model_init_training(const model_config *c, float *flat, uint64_t seed);

#endif
