/* gptneo_init.h: GPT-Neo configs and random weights for test models.
 *
 * Test models are deterministic functions of (config, seed, std): a
 * splitmix64 stream turned into normals (Box-Muller) fills the tensors in
 * state-dict order.  Their config.json names them "random-test-model seed N"
 * and carries "heads_random_test_model": true, so no output made from them
 * can pass for TinyStories-1M.
 */
#ifndef HEADS_GPTNEO_INIT_H
#define HEADS_GPTNEO_INIT_H

#include <stdint.h>

#include "model/gptneo.h"
#include "io/tensors.h"

/** Fill c with TinyStories-1M's exact hyper-parameters (hidden 64, 16 heads,
 *  8 layers alternating global/local, intermediate 256, vocab 50257, 2048
 *  positions, window 256, eps 1e-5). The name is left empty. */
void gptneo_config_tinystories_1m(gptneo_config *c);

/** Random weights for config c, with Hugging Face state-dict names
 *  ("transformer.wte.weight", ...; no lm_head: it is tied).
 *  Matrices and embeddings ~ N(0, std^2); layer-norm weights 1 + N(0, 0.1^2);
 *  biases N(0, 0.05^2).
 *  @param ts initialised, empty set that receives the tensors */
void gptneo_random_weights(const gptneo_config *c, uint64_t seed, float std, tensor_set *ts);

/** The config.json text of c in Hugging Face's layout (keys sorted, as
 *  save_pretrained writes them), "_name_or_path" = c->name.
 *  @return malloc'd NUL-terminated text (caller frees) */
char *gptneo_config_to_json(const gptneo_config *c);

#endif
