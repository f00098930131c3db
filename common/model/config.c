/* config.c: config.json in and out, TinyStories-1M's config (config.h). */
#include "model/config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void model_config_tinystories_1m(model_config *c)
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
    for (int l = 0; l < 8; l++) c->local[l] = (unsigned char)(l % 2);
}

void model_config_gpt2_small(model_config *c)
{
    memset(c, 0, sizeof *c);
    c->arch = MODEL_ARCH_GPT2;
    c->n_embd = 768;
    c->n_head = 12;
    c->d_head = 64;
    c->n_layer = 12;
    c->n_inner = 3072;
    c->vocab_size = 50257;
    c->n_positions = 1024;
    c->window_size = 1024;
    c->ln_eps = 1e-5;
    c->scale_attn_weights = 1;
}

int model_config_is_gpt2_small_shape(const model_config *c)
{
    model_config s;
    model_config_gpt2_small(&s);
    return c->arch == s.arch && c->n_embd == s.n_embd && c->n_head == s.n_head &&
           c->n_layer == s.n_layer && c->n_inner == s.n_inner && c->vocab_size == s.vocab_size &&
           c->n_positions == s.n_positions && model_max_tokens(c) == s.n_positions &&
           c->ln_eps == s.ln_eps && c->scale_attn_weights && !c->scale_attn_inverse_layer &&
           !c->untied_lm_head;
}

/* Read integer field `key` into *out; absent -> def (or error if def < 0). */
static int get_int(json_t *root, const char *key, long lo, long hi, long def, int *out,
                   herr *e)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        if (def < 0) return herr_set(e, "config: missing \"%s\"", key);
        *out = (int)def;
        return 0;
    }
    if (!json_is_integer(v))
        return herr_set(e, "config: \"%s\" is not an integer", key);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return herr_set(e, "config: \"%s\" = %lld is outside [%ld, %ld]", key,
                    (long long)x, lo, hi);
    *out = (int)x;
    return 0;
}

/* Parse "global"/"local" into 0/1, or -1. */
static int attn_kind(json_t *v)
{
    if (!json_is_string(v)) return -1;
    const char *s = json_string_value(v);
    if (!strcmp(s, "global")) return 0;
    if (!strcmp(s, "local")) return 1;
    return -1;
}

/* GPT-Neo's keys (GPTNeoConfig). */
static int parse_gptneo(json_t *root, model_config *c, herr *e)
{
    int rc = -1;
    if (get_int(root, "hidden_size", 1, 1 << 16, -1, &c->n_embd, e) ||
        get_int(root, "num_heads", 1, MODEL_MAX_HEADS, -1, &c->n_head, e) ||
        get_int(root, "num_layers", 1, MODEL_MAX_LAYERS, -1, &c->n_layer, e) ||
        get_int(root, "vocab_size", 1, 1 << 24, -1, &c->vocab_size, e) ||
        get_int(root, "max_position_embeddings", 1, 1 << 20, -1, &c->n_positions, e) ||
        get_int(root, "window_size", 1, 1 << 24, 256, &c->window_size, e) ||
        get_int(root, "intermediate_size", 1, 1 << 20, 4L * (c->n_embd ? c->n_embd : 1),
                &c->n_inner, e))
        goto out;
    if (c->n_embd % c->n_head) {
        herr_set(e, "config: hidden_size %d is not divisible by num_heads %d",
             c->n_embd, c->n_head);
        goto out;
    }
    c->d_head = c->n_embd / c->n_head;
    /* intermediate_size: null -> 4 * hidden (get_int's default was computed
     * before hidden_size was known only if absent; recompute for null). */
    json_t *is = json_object_get(root, "intermediate_size");
    if (!is || json_is_null(is)) c->n_inner = 4 * c->n_embd;

    /* attention_types [[["global","local"], n], ...] expands to the layer
     * list (as GPTNeoConfig does); attention_layers, when also present, must
     * agree with it. */
    int n = 0, kinds[MODEL_MAX_LAYERS];
    json_t *types = json_object_get(root, "attention_types");
    json_t *layers = json_object_get(root, "attention_layers");
    if (types && !json_is_null(types)) {
        if (!json_is_array(types)) {
            herr_set(e, "config: attention_types is not a list");
            goto out;
        }
        size_t i;
        json_t *item;
        json_array_foreach(types, i, item) {
            json_t *kl = json_array_get(item, 0), *cnt = json_array_get(item, 1);
            if (!json_is_array(item) || json_array_size(item) != 2 || !json_is_array(kl) ||
                !json_is_integer(cnt) || json_integer_value(cnt) < 0 ||
                json_integer_value(cnt) > MODEL_MAX_LAYERS) {
                herr_set(e, "config: attention_types entry %zu is not [[kinds...], count]", i);
                goto out;
            }
            for (json_int_t r = 0; r < json_integer_value(cnt); r++) {
                size_t j;
                json_t *k;
                json_array_foreach(kl, j, k) {
                    int kind = attn_kind(k);
                    if (kind < 0) {
                        herr_set(e, "config: unsupported attention type in attention_types (only global, local)");
                        goto out;
                    }
                    if (n >= MODEL_MAX_LAYERS) {
                        herr_set(e, "config: attention_types expands to too many layers");
                        goto out;
                    }
                    kinds[n++] = kind;
                }
            }
        }
        if (layers && !json_is_null(layers)) {
            if (!json_is_array(layers) || (int)json_array_size(layers) != n) {
                herr_set(e, "config: attention_layers disagrees with attention_types");
                goto out;
            }
            for (int l = 0; l < n; l++)
                if (attn_kind(json_array_get(layers, (size_t)l)) != kinds[l]) {
                    herr_set(e, "config: attention_layers disagrees with attention_types at layer %d", l);
                    goto out;
                }
        }
    } else if (layers && json_is_array(layers)) {
        size_t i;
        json_t *k;
        json_array_foreach(layers, i, k) {
            int kind = attn_kind(k);
            if (kind < 0) {
                herr_set(e, "config: unsupported attention type in attention_layers (only global, local)");
                goto out;
            }
            if (n >= MODEL_MAX_LAYERS) {
                herr_set(e, "config: too many attention_layers");
                goto out;
            }
            kinds[n++] = kind;
        }
    } else {
        herr_set(e, "config: missing attention_types / attention_layers");
        goto out;
    }
    if (n != c->n_layer) {
        herr_set(e, "config: %d attention layers for num_layers %d", n, c->n_layer);
        goto out;
    }
    for (int l = 0; l < n; l++) c->local[l] = (unsigned char)kinds[l];

    rc = 0;
out:
    return rc;
}

/* An integer GPT-2 size under its n_* key or its GPT2Config.attribute_map
 * alias (both present: they must agree); absent or null: GPT2Config's
 * default. */
static int get_int_alias(json_t *root, const char *key, const char *alias, long lo, long hi,
                         long def, int *out, herr *e)
{
    json_t *a = json_object_get(root, alias);
    if (a && !json_is_null(a)) {
        int va, vk;
        if (get_int(root, alias, lo, hi, def, &va, e)) return -1;
        json_t *k = json_object_get(root, key);
        if (k && !json_is_null(k)) {
            if (get_int(root, key, lo, hi, def, &vk, e)) return -1;
            if (va != vk)
                return herr_set(e, "config: \"%s\" = %d disagrees with \"%s\" = %d", alias, va, key, vk);
        }
        *out = va;
        return 0;
    }
    return get_int(root, key, lo, hi, def, out, e);
}

/* A boolean flag; absent or null: def. */
static int get_bool(json_t *root, const char *key, int def, int *out, herr *e)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v)) return herr_set(e, "config: \"%s\" is not true or false", key);
    *out = json_is_true(v);
    return 0;
}

/* GPT-2's keys (GPT2Config.__init__ defaults for absent keys; docs/gpt2.md). */
static int parse_gpt2(json_t *root, model_config *c, herr *e)
{
    c->arch = MODEL_ARCH_GPT2;
    if (get_int_alias(root, "n_embd", "hidden_size", 1, 1 << 16, 768, &c->n_embd, e) ||
        get_int_alias(root, "n_head", "num_attention_heads", 1, MODEL_MAX_HEADS, 12, &c->n_head, e) ||
        get_int_alias(root, "n_layer", "num_hidden_layers", 1, MODEL_MAX_LAYERS, 12, &c->n_layer, e) ||
        get_int_alias(root, "n_positions", "max_position_embeddings", 1, 1 << 20, 1024, &c->n_positions, e) ||
        get_int(root, "vocab_size", 1, 1 << 24, 50257, &c->vocab_size, e) ||
        get_int(root, "n_ctx", 1, 1 << 20, 0, &c->n_ctx, e))
        return -1;
    if (c->n_embd % c->n_head)
        return herr_set(e, "config: n_embd %d is not divisible by n_head %d", c->n_embd, c->n_head);
    c->d_head = c->n_embd / c->n_head;
    json_t *ni = json_object_get(root, "n_inner");
    if (!ni || json_is_null(ni)) c->n_inner = 4 * c->n_embd; /* GPT2Block: inner_dim = n_inner or 4 * hidden */
    else if (get_int(root, "n_inner", 1, 1 << 20, -1, &c->n_inner, e)) return -1;
    if (get_bool(root, "scale_attn_weights", 1, &c->scale_attn_weights, e) ||
        get_bool(root, "scale_attn_by_inverse_layer_idx", 0, &c->scale_attn_inverse_layer, e) ||
        get_bool(root, "reorder_and_upcast_attn", 0, &c->reorder_and_upcast_attn, e))
        return -1;
    int tie = 1, cross = 0;
    if (get_bool(root, "tie_word_embeddings", 1, &tie, e) ||
        get_bool(root, "add_cross_attention", 0, &cross, e))
        return -1;
    c->untied_lm_head = !tie;
    if (cross)
        return herr_set(e, "config: add_cross_attention (GPT-2 with cross-attention) is not supported");
    c->window_size = c->n_positions; /* unused: no layer is local */
    return 0;
}

int model_config_parse(const char *json, model_config *c, herr *e)
{
    memset(c, 0, sizeof *c);
    json_error_t je;
    json_t *root = json_loads(json, 0, &je);
    if (!root) return herr_set(e, "config: invalid JSON (line %d: %s)", je.line, je.text);
    int rc = -1;
    if (!json_is_object(root)) {
        herr_set(e, "config: not a JSON object");
        goto out;
    }
    json_t *mt = json_object_get(root, "model_type");
    int gpt2;
    if (mt) {
        const char *t = json_is_string(mt) ? json_string_value(mt) : "?";
        gpt2 = !strcmp(t, "gpt2");
        if (!gpt2 && strcmp(t, "gpt_neo")) {
            herr_set(e, "config: unsupported model_type \"%s\" (gpt_neo or gpt2)", t);
            goto out;
        }
    } else {
        /* no model_type: GPT-Neo's own keys, else GPT-2's n_* keys decide */
        gpt2 = !json_object_get(root, "attention_types") && !json_object_get(root, "attention_layers") &&
               (json_object_get(root, "n_embd") || json_object_get(root, "n_head") ||
                json_object_get(root, "n_layer"));
    }
    if (gpt2 ? parse_gpt2(root, c, e) : parse_gptneo(root, c, e)) goto out;

    json_t *eps = json_object_get(root, "layer_norm_epsilon");
    if (!eps || json_is_null(eps)) c->ln_eps = 1e-5;
    else if (json_is_number(eps) && json_number_value(eps) > 0 && json_number_value(eps) < 1)
        c->ln_eps = json_number_value(eps);
    else {
        herr_set(e, "config: bad layer_norm_epsilon");
        goto out;
    }
    json_t *act = json_object_get(root, "activation_function");
    if (act && !(json_is_string(act) && !strcmp(json_string_value(act), "gelu_new"))) {
        herr_set(e, "config: unsupported activation_function \"%s\" (only gelu_new)",
             json_is_string(act) ? json_string_value(act) : "?");
        goto out;
    }
    c->random_test = json_is_true(json_object_get(root, "heads_random_test_model"));
    json_t *name = json_object_get(root, "_name_or_path");
    if (json_is_string(name)) snprintf(c->name, sizeof c->name, "%s", json_string_value(name));
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int model_config_check(const model_config *c, herr *e)
{
    if (c->n_layer < 1 || c->n_layer > MODEL_MAX_LAYERS)
        return herr_set(e, "layer count %d outside 1..%d", c->n_layer, MODEL_MAX_LAYERS);
    if (c->n_head < 1 || c->n_head > MODEL_MAX_HEADS)
        return herr_set(e, "head count %d outside 1..%d", c->n_head, MODEL_MAX_HEADS);
    if (c->n_embd < 1 || c->n_embd > (1 << 16)) return herr_set(e, "hidden size %d out of range", c->n_embd);
    if (c->n_embd % c->n_head)
        return herr_set(e, "hidden size not divisible by the head count (%d, %d)", c->n_embd, c->n_head);
    if (c->d_head != c->n_embd / c->n_head) return herr_set(e, "head size %d is not hidden / heads", c->d_head);
    if (c->n_inner < 1 || c->n_inner > (1 << 20)) return herr_set(e, "intermediate size %d out of range", c->n_inner);
    if (c->vocab_size < 1 || c->vocab_size > (1 << 24)) return herr_set(e, "vocabulary size %d out of range", c->vocab_size);
    if (c->n_positions < 1 || c->n_positions > (1 << 20))
        return herr_set(e, "position count %d out of range", c->n_positions);
    if (c->window_size < 1) return herr_set(e, "window size %d out of range", c->window_size);
    if (c->arch != MODEL_ARCH_GPT_NEO && c->arch != MODEL_ARCH_GPT2) return herr_set(e, "unknown architecture %d", (int)c->arch);
    for (int l = 0; c->arch == MODEL_ARCH_GPT2 && l < c->n_layer; l++)
        if (c->local[l]) return herr_set(e, "GPT-2 has no local attention layers (layer %d)", l);
    if (!(c->ln_eps > 0 && c->ln_eps < 1)) return herr_set(e, "layer-norm epsilon must be in (0, 1)");
    return 0;
}

/* attention_types: one [[kind], run] group per run of equal layers; with
 * merge_alternating, a list that alternates global/local from a global start
 * (an even count) is one [["global", "local"], L/2] group instead. */
static json_t *attention_types(const model_config *c, int merge_alternating)
{
    json_t *types = json_array();
    int alternating = merge_alternating && c->n_layer % 2 == 0;
    for (int l = 0; alternating && l < c->n_layer; l++) alternating = c->local[l] == (l % 2);
    if (alternating) {
        json_t *g = json_array(), *kinds = json_array();
        json_array_append_new(kinds, json_string("global"));
        json_array_append_new(kinds, json_string("local"));
        json_array_append_new(g, kinds);
        json_array_append_new(g, json_integer(c->n_layer / 2));
        json_array_append_new(types, g);
        return types;
    }
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
    return types;
}

/* The text of o as save_pretrained writes it (sorted keys, two-space indent)
 * plus a newline; o is released.  NULL with e set when out of memory. */
static char *dump_json(json_t *o, herr *e)
{
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(o);
    size_t n = s ? strlen(s) : 0;
    char *out = s ? malloc(n + 2) : NULL;
    if (!out) {
        free(s);
        herr_set(e, "out of memory writing config.json");
        return NULL;
    }
    memcpy(out, s, n);
    out[n] = '\n';
    out[n + 1] = 0;
    free(s);
    return out;
}

/* GPT2Config's layout for a random GPT-2 test model (model-init --gpt2). */
static char *gpt2_json(const model_config *c, herr *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "_name_or_path", json_string(c->name));
    json_object_set_new(o, "activation_function", json_string("gelu_new"));
    json_t *arch = json_array();
    json_array_append_new(arch, json_string("GPT2LMHeadModel"));
    json_object_set_new(o, "architectures", arch);
    json_object_set_new(o, "attn_pdrop", json_integer(0));
    json_object_set_new(o, "bos_token_id", json_integer(c->vocab_size - 1));
    json_object_set_new(o, "embd_pdrop", json_integer(0));
    json_object_set_new(o, "eos_token_id", json_integer(c->vocab_size - 1));
    json_object_set_new(o, "heads_random_test_model", json_true());
    json_object_set_new(o, "initializer_range", json_real(0.02));
    json_object_set_new(o, "layer_norm_epsilon", json_real(c->ln_eps));
    json_object_set_new(o, "model_type", json_string("gpt2"));
    json_object_set_new(o, "n_embd", json_integer(c->n_embd));
    json_object_set_new(o, "n_head", json_integer(c->n_head));
    json_object_set_new(o, "n_inner", c->n_inner == 4 * c->n_embd ? json_null() : json_integer(c->n_inner));
    json_object_set_new(o, "n_layer", json_integer(c->n_layer));
    json_object_set_new(o, "n_positions", json_integer(c->n_positions));
    json_object_set_new(o, "reorder_and_upcast_attn", json_boolean(c->reorder_and_upcast_attn));
    json_object_set_new(o, "resid_pdrop", json_integer(0));
    json_object_set_new(o, "scale_attn_by_inverse_layer_idx", json_boolean(c->scale_attn_inverse_layer));
    json_object_set_new(o, "scale_attn_weights", json_boolean(c->scale_attn_weights));
    if (c->untied_lm_head) json_object_set_new(o, "tie_word_embeddings", json_false());
    json_object_set_new(o, "torch_dtype", json_string("float32"));
    json_object_set_new(o, "use_cache", json_true());
    json_object_set_new(o, "vocab_size", json_integer(c->vocab_size));
    return dump_json(o, e);
}

char *model_config_to_json(const model_config *c, model_origin origin, int eos, herr *e)
{
    if (c->arch == MODEL_ARCH_GPT2) {
        if (origin != MODEL_ORIGIN_RANDOM_TEST) {
            herr_set(e, "config.json: only random GPT-2 test models are written");
            return NULL;
        }
        return gpt2_json(c, e);
    }
    const int standin = origin == MODEL_ORIGIN_STANDIN;
    const int eos_id = standin ? eos : c->vocab_size - 1;
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
    json_object_set_new(o, "attention_types", attention_types(c, !standin));
    json_object_set_new(o, "bos_token_id", json_integer(eos_id));
    json_object_set_new(o, "embed_dropout", json_integer(0));
    json_object_set_new(o, "eos_token_id", json_integer(eos_id));
    json_object_set_new(o, standin ? "heads_standin_model" : "heads_random_test_model", json_true());
    json_object_set_new(o, "hidden_size", json_integer(c->n_embd));
    json_object_set_new(o, "initializer_range", json_real(0.02));
    json_object_set_new(o, "intermediate_size", !standin && c->n_inner == 4 * c->n_embd
                                                    ? json_null() : json_integer(c->n_inner));
    json_object_set_new(o, "layer_norm_epsilon", json_real(c->ln_eps));
    json_object_set_new(o, "max_position_embeddings", json_integer(c->n_positions));
    json_object_set_new(o, "model_type", json_string("gpt_neo"));
    json_object_set_new(o, "num_heads", json_integer(c->n_head));
    json_object_set_new(o, "num_layers", json_integer(c->n_layer));
    json_object_set_new(o, "resid_dropout", json_integer(0));
    if (standin) json_object_set_new(o, "tie_word_embeddings", json_true());
    json_object_set_new(o, "torch_dtype", json_string("float32"));
    json_object_set_new(o, "use_cache", json_true());
    json_object_set_new(o, "vocab_size", json_integer(c->vocab_size));
    json_object_set_new(o, "window_size", json_integer(c->window_size));
    return dump_json(o, e);
}
