/* config.h: the one description of a model's hyper-parameters, shared by
 * inference (gptneo.h), training (gptneo_train.h, trainer.h), random test
 * models (init.h) and every tool.  It is read from and written to Hugging
 * Face's config.json.  Two architectures share it (and the one forward of
 * gptneo.h):
 *
 *  - GPT-Neo (model_type "gpt_neo"; GPTNeoConfig, transformers'
 *    models/gpt_neo/configuration_gpt_neo.py: the field names, the defaults,
 *    attention_types expanded into one kind per layer);
 *  - GPT-2 (model_type "gpt2"; GPT2Config, models/gpt2/configuration_gpt2.py:
 *    n_embd, n_head, n_layer, n_positions, n_inner, the attention-scale
 *    flags, the defaults of GPT2Config.__init__ for absent keys, the
 *    attribute_map aliases; docs/gpt2.md, "Config").  Every GPT-2 layer is
 *    global; scores are divided by model_attn_divisor().
 *
 * The zero value of `arch` is GPT-Neo, so a config built in code (the
 * trainer, model-init without --gpt2) is GPT-Neo unless it says otherwise.
 */
#ifndef HEADS_MODEL_CONFIG_H
#define HEADS_MODEL_CONFIG_H

#include <math.h>
#include <stddef.h>

#include "base/err.h"

#define MODEL_MAX_LAYERS 64
#define MODEL_MAX_HEADS 64

/** The architecture a config describes. */
typedef enum model_arch {
    MODEL_ARCH_GPT_NEO = 0, /**< GPTNeoForCausalLM (the zero value) */
    MODEL_ARCH_GPT2 = 1,    /**< GPT2LMHeadModel */
} model_arch;

/** A model's hyper-parameters (config.json).  Field comments give the
 *  GPT-Neo key, then the GPT-2 key where it differs. */
typedef struct model_config {
    model_arch arch;   /**< model_type: gpt_neo or gpt2 */
    int n_embd;        /**< hidden_size / n_embd: D, the residual stream's width */
    int n_head;        /**< num_heads / n_head: H */
    int d_head;        /**< D / H: the width of one head's q, k, v, z */
    int n_layer;       /**< num_layers / n_layer: L */
    int n_inner;       /**< intermediate_size / n_inner: I, the MLP's width (4 D when null) */
    int vocab_size;    /**< V */
    int n_positions;   /**< max_position_embeddings / n_positions: P, rows of wpe */
    int window_size;   /**< keys a query of a local layer sees (itself included);
                            GPT-2: n_positions (no layer is local) */
    double ln_eps;     /**< layer_norm_epsilon */
    unsigned char local[MODEL_MAX_LAYERS]; /**< 1 if layer l is a "local" layer (GPT-2: none) */
    char name[256];    /**< "_name_or_path" ("" when absent) */
    /* GPT-2 only (all 0 for GPT-Neo) */
    int scale_attn_weights;   /**< scores / sqrt(d_head) (GPT2Config default true) */
    int scale_attn_inverse_layer; /**< scale_attn_by_inverse_layer_idx: scores also / (l + 1) */
    int reorder_and_upcast_attn;  /**< recorded only: the same function in float32 (docs/gpt2.md) */
    int untied_lm_head;       /**< tie_word_embeddings false: lm_head.weight is used, not wte */
    int n_ctx;                /**< legacy n_ctx (0 when absent): caps a sequence's length too */
    int random_test;          /**< "heads_random_test_model": true (made by model-init) */
} model_config;

/** GPT-2 small's config (the hub's gpt2 config.json as docs/gpt2.md records
 *  it): 12 layers, 12 heads of 64, n_embd 768, n_inner null (3072), vocab
 *  50257, 1024 positions, epsilon 1e-5, scale_attn_weights.  Name empty. */
void model_config_gpt2_small(model_config *c);

/** @return 1 if c has GPT-2 small's sizes (any weights). */
int model_config_is_gpt2_small_shape(const model_config *c);

/** The number q_i . k_j is divided by in layer l before the softmax: 1 for
 *  GPT-Neo (no scaling); for GPT-2 sqrt(d_head) when scale_attn_weights,
 *  times (l + 1) when scale_attn_by_inverse_layer_idx (modeling_gpt2.py,
 *  GPT2Attention._attn; layer_idx is 0-based). */
static inline double model_attn_divisor(const model_config *c, int l)
{
    double s = 1.0;
    if (c->arch != MODEL_ARCH_GPT2) return s;
    if (c->scale_attn_weights) s *= sqrt((double)c->d_head);
    if (c->scale_attn_inverse_layer) s *= l + 1;
    return s;
}

/** @return the longest sequence the model takes: n_positions, or the legacy
 *  GPT-2 n_ctx when it is smaller (older transformers sized the causal-mask
 *  buffer with it). */
static inline int model_max_tokens(const model_config *c)
{
    return c->n_ctx > 0 && c->n_ctx < c->n_positions ? c->n_ctx : c->n_positions;
}

/** TinyStories-1M's hyper-parameters (roneneldan/TinyStories-1M config.json):
 *  hidden 64, 16 heads of 4, 8 layers alternating global/local, intermediate
 *  256, vocabulary 50257, 2048 positions, window 256, epsilon 1e-5.  The
 *  name is left empty. */
void model_config_tinystories_1m(model_config *c);

/** Parse a config.json text.  model_type "gpt_neo" or "gpt2" chooses the
 *  architecture; without model_type, a config with GPT-Neo's
 *  attention_types / attention_layers is GPT-Neo, one with any of GPT-2's
 *  n_embd / n_head / n_layer is GPT-2, anything else is read as GPT-Neo.
 *  Refuses, naming the field, anything the forward does not implement:
 *  another model_type, an activation other than gelu_new, attention types
 *  other than global/local, D not divisible by H, sizes outside their
 *  ranges; for GPT-2 also add_cross_attention, non-boolean flags, and an
 *  alias (hidden_size, ...) that disagrees with its n_* key.
 *  @param json NUL-terminated text @param c out @return 0, or -1 with e set */
int model_config_parse(const char *json, model_config *c, herr *e)
    __attribute__((warn_unused_result));

/** Check the sizes of a config built in code (model-init, train).
 *  @return 0, or -1 with the problem in e */
int model_config_check(const model_config *c, herr *e) __attribute__((warn_unused_result));

/** Who made a model file: config.json records it, and so do the few fields
 *  that differ between the two (see model_config_to_json). */
typedef enum model_origin {
    MODEL_ORIGIN_RANDOM_TEST = 1, /**< model-init: random weights, "heads_random_test_model" */
    MODEL_ORIGIN_STANDIN = 2,     /**< train: the locally trained stand-in, "heads_standin_model" */
} model_origin;

/** config.json for a model this toolkit made, in Hugging Face's layout
 *  (keys sorted, two-space indent, as save_pretrained writes them), ending in
 *  a newline.  The origin marker key keeps any such model from passing for
 *  TinyStories-1M.  The two origins keep the layouts their files always had:
 *  a random test model writes intermediate_size null when it is 4 D, bos/eos
 *  = V - 1 and merges an alternating global/local list into one
 *  attention_types group; the stand-in writes every field explicitly (one
 *  group per layer, tie_word_embeddings) with eos_token_id = eos.
 *  A GPT-2 config (random test models only) is GPT2Config's layout:
 *  model_type gpt2, GPT2LMHeadModel, n_* keys, n_inner null when 4 D, the
 *  scale flags, dropouts 0, bos/eos V - 1.
 *  @param eos end-of-text id (the stand-in's; ignored for test models)
 *  @return malloc'd text, or NULL with e set (out of memory) */
char *model_config_to_json(const model_config *c, model_origin origin, int eos, herr *e);

/** @return 1 if query i may attend to key j in layer l: j <= i and, on
 *  local layers, i - j < window_size (GPT-Neo's local causal mask). */
static inline int model_can_attend(const model_config *c, int l, int i, int j)
{
    return j <= i && (!c->local[l] || i - j < c->window_size);
}

#endif
