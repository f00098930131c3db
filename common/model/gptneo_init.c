/* gptneo_init.c: TinyStories-1M's config, random test weights, config.json
 * writing (see gptneo_init.h). */
#include "model/gptneo_init.h"
#include "cli/cli.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gptneo_config_tinystories_1m(gptneo_config *c)
{
    memset(c, 0, sizeof *c);
    c->n_embd = 64;
    c->n_head = 16;
    c->d_head = 4;
    c->n_layer = 8;
    c->n_inner = 256;
    c->vocab_size = 50257;
    c->n_positions = 2048;
    c->window_size = 256;
    c->ln_eps = 1e-5;
    for (int l = 0; l < 8; l++) c->local[l] = l % 2;
}

/* splitmix64: a tiny, well-mixed, reproducible generator. */
typedef struct { uint64_t s; int have; double spare; } rng;
static uint64_t next64(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* uniform in (0, 1) */
static double unif(rng *r) { return ((double)(next64(r) >> 11) + 0.5) / 9007199254740992.0; }
static double normal(rng *r)
{
    if (r->have) {
        r->have = 0;
        return r->spare;
    }
    double u = unif(r), v = unif(r), m = sqrt(-2.0 * log(u));
    r->spare = m * sin(6.283185307179586 * v);
    r->have = 1;
    return m * cos(6.283185307179586 * v);
}

/* Add tensor `name` of shape [d0] or [d0][d1] filled with mean + sd*N(0,1). */
static void add_random(tensor_set *ts, rng *r, const char *name, int64_t d0, int64_t d1,
                       double mean, double sd)
{
    int64_t shape[2] = {d0, d1};
    int ndim = d1 ? 2 : 1;
    size_t n = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    float *buf = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) buf[i] = (float)(mean + sd * normal(r));
    herr e;
    if (!tensors_add(ts, name, ndim, shape, buf, &e)) die("%s", e.msg);  /* out of memory, as xmalloc */
    free(buf);
}

void gptneo_random_weights(const gptneo_config *c, uint64_t seed, float std, tensor_set *ts)
{
    rng r = {seed, 0, 0};
    const int64_t D = c->n_embd, I = c->n_inner;
    char nm[128];
    add_random(ts, &r, "transformer.wte.weight", c->vocab_size, D, 0, std);
    add_random(ts, &r, "transformer.wpe.weight", c->n_positions, D, 0, std);
    for (int l = 0; l < c->n_layer; l++) {
#define R(suffix, d0, d1, mean, sd) do { \
        snprintf(nm, sizeof nm, "transformer.h.%d.%s", l, suffix); \
        add_random(ts, &r, nm, d0, d1, mean, sd); } while (0)
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
    add_random(ts, &r, "transformer.ln_f.weight", D, 0, 1.0, 0.1);
    add_random(ts, &r, "transformer.ln_f.bias", D, 0, 0.0, 0.05);
}

char *gptneo_config_to_json(const gptneo_config *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "_name_or_path", json_string(c->name));
    json_object_set_new(o, "activation_function", json_string("gelu_new"));
    json_t *arch = json_array();
    json_array_append_new(arch, json_string("GPTNeoForCausalLM"));
    json_object_set_new(o, "architectures", arch);
    json_object_set_new(o, "attention_dropout", json_integer(0));
    json_t *layers = json_array();
    for (int l = 0; l < c->n_layer; l++)
        json_array_append_new(layers, json_string(c->local[l] ? "local" : "global"));
    json_object_set_new(o, "attention_layers", layers);
    /* attention_types: run-length groups of identical patterns.  The general
     * form lists each layer as its own group ([["global"],1], ...) merged
     * when the whole list alternates global/local from a global start. */
    json_t *types = json_array();
    int alternating = c->n_layer % 2 == 0;
    for (int l = 0; alternating && l < c->n_layer; l++) alternating = c->local[l] == (l % 2);
    if (alternating) {
        json_t *g = json_array(), *kinds = json_array();
        json_array_append_new(kinds, json_string("global"));
        json_array_append_new(kinds, json_string("local"));
        json_array_append_new(g, kinds);
        json_array_append_new(g, json_integer(c->n_layer / 2));
        json_array_append_new(types, g);
    } else {
        for (int l = 0; l < c->n_layer;) {
            int r = l;
            while (r < c->n_layer && c->local[r] == c->local[l]) r++;
            json_t *g = json_array(), *kinds = json_array();
            json_array_append_new(kinds, json_string(c->local[l] ? "local" : "global"));
            json_array_append_new(g, kinds);
            json_array_append_new(g, json_integer(r - l));
            json_array_append_new(types, g);
            l = r;
        }
    }
    json_object_set_new(o, "attention_types", types);
    json_object_set_new(o, "bos_token_id", json_integer(c->vocab_size - 1));
    json_object_set_new(o, "embed_dropout", json_integer(0));
    json_object_set_new(o, "eos_token_id", json_integer(c->vocab_size - 1));
    json_object_set_new(o, "heads_random_test_model", json_true());
    json_object_set_new(o, "hidden_size", json_integer(c->n_embd));
    json_object_set_new(o, "initializer_range", json_real(0.02));
    json_object_set_new(o, "intermediate_size",
                        c->n_inner == 4 * c->n_embd ? json_null() : json_integer(c->n_inner));
    json_object_set_new(o, "layer_norm_epsilon", json_real(c->ln_eps));
    json_object_set_new(o, "max_position_embeddings", json_integer(c->n_positions));
    json_object_set_new(o, "model_type", json_string("gpt_neo"));
    json_object_set_new(o, "num_heads", json_integer(c->n_head));
    json_object_set_new(o, "num_layers", json_integer(c->n_layer));
    json_object_set_new(o, "resid_dropout", json_integer(0));
    json_object_set_new(o, "torch_dtype", json_string("float32"));
    json_object_set_new(o, "use_cache", json_true());
    json_object_set_new(o, "vocab_size", json_integer(c->vocab_size));
    json_object_set_new(o, "window_size", json_integer(c->window_size));
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(o);
    if (!s) die("out of memory writing config.json");
    size_t n = strlen(s);
    char *out = xmalloc(n + 2);
    memcpy(out, s, n);
    out[n] = '\n';
    out[n + 1] = 0;
    free(s);
    return out;
}
