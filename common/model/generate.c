/* generate.c: greedy decoding (generate.h). */
#include "model/generate.h"

#include <stdlib.h>

int model_greedy(const gptneo_model *m, uint32_t *ids, int n, int max_total, int stop_id, herr *e)
{
    if (n < 1) return herr_set(e, "greedy decoding needs a prompt of at least one token");
    for (int t = 0; t < n; t++)
        if (ids[t] >= (uint32_t)m->cfg.vocab_size)
            return herr_set(e, "token id %u at position %d is outside the vocabulary (%d)", ids[t], t,
                            m->cfg.vocab_size);
    if (max_total > model_max_tokens(&m->cfg)) max_total = model_max_tokens(&m->cfg);
    float *lg = malloc((size_t)m->cfg.vocab_size * sizeof(float)); /* [V] */
    if (!lg) return herr_set(e, "out of memory");
    gptneo_acts a;
    gptneo_acts_init(&a);
    int rc = 0;
    while (n < max_total) {
        if (gptneo_forward(m, ids, n, &a, e)) {
            rc = -1;
            break;
        }
        gptneo_logits(m, &a, n - 1, 1, lg);
        int best;
        gptneo_topk(lg, m->cfg.vocab_size, 1, &best);
        if (best == stop_id) break;
        ids[n++] = (uint32_t)best;
    }
    gptneo_acts_free(&a);
    free(lg);
    return rc ? -1 : n;
}
