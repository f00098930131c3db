/* init.c: random weights for test models and for training (init.h). */
#include "model/init.h"
#include "base/rng.h"
#include "model/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Normals by Box-Muller, both values of a pair used. */
typedef struct { uint64_t s; int have; double spare; } rng;
static double normal(rng *r)
{
    if (r->have) {
        r->have = 0;
        return r->spare;
    }
    double u = rng_uniform01(&r->s), v = rng_uniform01(&r->s), m = sqrt(-2.0 * log(u));
    r->spare = m * sin(6.283185307179586 * v);
    r->have = 1;
    return m * cos(6.283185307179586 * v);
}

/* Add tensor `name` of shape [d0] or [d0][d1] filled with mean + sd*N(0,1). */
static int add_random(tensor_set *ts, rng *r, const char *name, int64_t d0, int64_t d1,
                      double mean, double sd, herr *e)
{
    int64_t shape[2] = {d0, d1};
    int ndim = d1 ? 2 : 1;
    size_t n = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    float *buf = malloc(n * sizeof(float));
    if (!buf) return herr_set(e, "out of memory for tensor %s", name);
    for (size_t i = 0; i < n; i++) buf[i] = (float)(mean + sd * normal(r));
    int rc = tensors_add(ts, name, ndim, shape, buf, e) ? 0 : -1;
    free(buf);
    return rc;
}

/* GPT-2: GPT2LMHeadModel's tensors in its state-dict order, Conv1D shapes
 * [in][out], drawn row-major as stored (no buffers, no lm_head: tied). */
static int random_gpt2(const model_config *c, rng *r, float std, tensor_set *ts, herr *e)
{
    const int64_t D = c->n_embd, I = c->n_inner;
    char nm[128];
    if (add_random(ts, r, "transformer.wte.weight", c->vocab_size, D, 0, std, e) ||
        add_random(ts, r, "transformer.wpe.weight", c->n_positions, D, 0, std, e))
        return -1;
    for (int l = 0; l < c->n_layer; l++) {
#define R(suffix, d0, d1, mean, sd) do { \
        snprintf(nm, sizeof nm, "transformer.h.%d.%s", l, suffix); \
        if (add_random(ts, r, nm, d0, d1, mean, sd, e)) return -1; } while (0)
        R("ln_1.weight", D, 0, 1.0, 0.1);
        R("ln_1.bias", D, 0, 0.0, 0.05);
        R("attn.c_attn.weight", D, 3 * D, 0.0, std);
        R("attn.c_attn.bias", 3 * D, 0, 0.0, 0.05);
        R("attn.c_proj.weight", D, D, 0.0, std);
        R("attn.c_proj.bias", D, 0, 0.0, 0.05);
        R("ln_2.weight", D, 0, 1.0, 0.1);
        R("ln_2.bias", D, 0, 0.0, 0.05);
        R("mlp.c_fc.weight", D, I, 0.0, std);
        R("mlp.c_fc.bias", I, 0, 0.0, 0.05);
        R("mlp.c_proj.weight", I, D, 0.0, std);
        R("mlp.c_proj.bias", D, 0, 0.0, 0.05);
#undef R
    }
    if (add_random(ts, r, "transformer.ln_f.weight", D, 0, 1.0, 0.1, e) ||
        add_random(ts, r, "transformer.ln_f.bias", D, 0, 0.0, 0.05, e))
        return -1;
    return 0;
}

int model_init_random_test(const model_config *c, uint64_t seed, float std, tensor_set *ts, herr *e)
{
    rng r = {seed, 0, 0};
    if (c->arch == MODEL_ARCH_GPT2) return random_gpt2(c, &r, std, ts, e);
    const int64_t D = c->n_embd, I = c->n_inner;
    char nm[128];
    if (add_random(ts, &r, "transformer.wte.weight", c->vocab_size, D, 0, std, e) ||
        add_random(ts, &r, "transformer.wpe.weight", c->n_positions, D, 0, std, e))
        return -1;
    for (int l = 0; l < c->n_layer; l++) {
#define R(suffix, d0, d1, mean, sd) do { \
        snprintf(nm, sizeof nm, "transformer.h.%d.%s", l, suffix); \
        if (add_random(ts, &r, nm, d0, d1, mean, sd, e)) return -1; } while (0)
        R("ln_1.weight", D, 0, 1.0, 0.1);
        R("ln_1.bias", D, 0, 0.0, 0.05);
        R("attn.attention.k_proj.weight", D, D, 0.0, std);
        R("attn.attention.v_proj.weight", D, D, 0.0, std);
        R("attn.attention.q_proj.weight", D, D, 0.0, std);
        R("attn.attention.out_proj.weight", D, D, 0.0, std);
        R("attn.attention.out_proj.bias", D, 0, 0.0, 0.05);
        R("ln_2.weight", D, 0, 1.0, 0.1);
        R("ln_2.bias", D, 0, 0.0, 0.05);
        R("mlp.c_fc.weight", I, D, 0.0, std);
        R("mlp.c_fc.bias", I, 0, 0.0, 0.05);
        R("mlp.c_proj.weight", D, I, 0.0, std);
        R("mlp.c_proj.bias", D, 0, 0.0, 0.05);
#undef R
    }
    if (add_random(ts, &r, "transformer.ln_f.weight", D, 0, 1.0, 0.1, e) ||
        add_random(ts, &r, "transformer.ln_f.bias", D, 0, 0.0, 0.05, e))
        return -1;
    return 0;
}

void model_init_training(const model_config *c, float *flat, uint64_t seed)
{
    int nt = model_tensor_count(c);
    model_tensor_info ti[MODEL_MAX_TENSORS];
    model_tensor_list(c, ti);
    uint64_t s = seed ^ 0x5DEECE66Dull;
    for (int t = 0; t < nt; t++) {
        float *p = flat + ti[t].offset;
        if (ti[t].ndim == 2) {
            for (size_t i = 0; i < ti[t].numel; i++) {
                double u1 = rng_uniform01(&s), u2 = rng_uniform01(&s);
                p[i] = (float)(0.02 * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
            }
        } else {
            int is_ln_weight = strstr(ti[t].name, "ln_") && strstr(ti[t].name, ".weight");
            for (size_t i = 0; i < ti[t].numel; i++) p[i] = is_ln_weight ? 1.0f : 0.0f;
        }
    }
}
