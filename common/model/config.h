/* config.h: the one description of a model's hyper-parameters, shared by
 * inference (gptneo.h), training (gptneo_train.h, trainer.h), random test
 * models (init.h) and every tool.  It is read from and written to Hugging
 * Face's config.json (GPTNeoConfig, transformers'
 * models/gpt_neo/configuration_gpt_neo.py: the field names, the defaults,
 * attention_types expanded into one kind per layer).
 */
#ifndef HEADS_MODEL_CONFIG_H
#define HEADS_MODEL_CONFIG_H

#include <stddef.h>

#include "base/err.h"

#define MODEL_MAX_LAYERS 64
#define MODEL_MAX_HEADS 64

/** A model's hyper-parameters (config.json). */
typedef struct model_config {
    int n_embd;        /**< hidden_size: D, the residual stream's width */
    int n_head;        /**< num_heads: H */
    int d_head;        /**< D / H: the width of one head's q, k, v, z */
    int n_layer;       /**< num_layers: L */
    int n_inner;       /**< intermediate_size: I, the MLP's width (4 D when null) */
    int vocab_size;    /**< V */
    int n_positions;   /**< max_position_embeddings: P */
    int window_size;   /**< keys a query of a local layer sees (itself included) */
    double ln_eps;     /**< layer_norm_epsilon */
    unsigned char local[MODEL_MAX_LAYERS]; /**< 1 if layer l is a "local" layer */
    char name[256];    /**< "_name_or_path" ("" when absent) */
} model_config;

/** TinyStories-1M's hyper-parameters (roneneldan/TinyStories-1M config.json):
 *  hidden 64, 16 heads of 4, 8 layers alternating global/local, intermediate
 *  256, vocabulary 50257, 2048 positions, window 256, epsilon 1e-5.  The
 *  name is left empty. */
void model_config_tinystories_1m(model_config *c);

/** Parse a config.json text.  Refuses, naming the field, anything the
 *  forward does not implement: another model_type, an activation other than
 *  gelu_new, attention types other than global/local, D not divisible by H,
 *  sizes outside their ranges.
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
