/* generate.h: greedy decoding (forward-dump --generate, train's sample of
 * its model): at each step the whole sequence is run through gptneo_forward
 * and the token with the largest logit at the last position is appended
 * (ties to the lower id, as torch.argmax), like Hugging Face's
 * generate(do_sample=False) without a KV cache.
 */
#ifndef HEADS_MODEL_GENERATE_H
#define HEADS_MODEL_GENERATE_H

#include <stdint.h>

#include "base/err.h"
#include "model/gptneo.h"

/** Continue ids[0..n) greedily.
 *  @param ids [max_total] buffer holding the prompt in its first n entries
 *  @param n prompt length (>= 1)
 *  @param max_total stop when the sequence has this many tokens (at most
 *         the model's positions)
 *  @param stop_id stop (without appending it) when this id is the argmax;
 *         -1: never
 *  @return the new length, or -1 with e set (a bad id, out of memory) */
int model_greedy(const gptneo_model *m, uint32_t *ids, int n, int max_total, int stop_id, herr *e)
    __attribute__((warn_unused_result));

#endif
