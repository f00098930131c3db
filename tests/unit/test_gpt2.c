/* test_gpt2.c: GPT-2 as the second architecture of the one model.
 *
 *   test_gpt2                         unit checks: config.json (defaults,
 *                                     aliases, flags, refusals), the scale
 *                                     divisor, binding a state dict (with and
 *                                     without "transformer.", buffers, mixed
 *                                     and foreign names, shapes, the untied
 *                                     head) and its inverse, the forward's
 *                                     hooks and what the scale does
 *   test_gpt2 --edit-weights IN OUT NAME NEWNAME
 *                                     copy a .safetensors file with tensor NAME
 *                                     renamed (NEWNAME "-": dropped), for the
 *                                     shell test's bad-input cases
 *   test_gpt2 --relabel IN OUT KEY VALUE
 *                                     copy an activations stream with header
 *                                     line KEY set to VALUE ("-": removed)
 *
 * The numbers of the GPT-2 forward are checked against the float64 reference
 * by test_gptneo --golden on tests/golden/gpt2 (tests/sh/test_gpt2.sh).
 */
#include "cli/cli.h"
#include "io/records.h"
#include "io/stream.h"
#include "model/config.h"
#include "model/gpt2.h"
#include "model/gptneo.h"
#include "model/gptneo_train.h"
#include "model/init.h"
#include "model/save.h"
#include "model/weights.h"
#include "testlib.h"
#include "cli/toolio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* tensors_add's errors in fixtures that cannot fail (checked by the bind that follows) */
static herr t_add_err;

static int parse_fails(const char *json, const char *needle)
{
    model_config c;
    herr e;
    if (model_config_parse(json, &c, &e) == 0) return 0;
    if (needle && !strstr(e.msg, needle)) {
        printf("    message: %s\n", e.msg);
        return 0;
    }
    return 1;
}

/* A small GPT-2 config: 2 layers, 2 heads of 4, vocab 20, 16 positions. */
static model_config tiny_cfg(void)
{
    model_config c;
    herr e;
    const char *j = "{\"model_type\": \"gpt2\", \"n_embd\": 8, \"n_head\": 2, \"n_layer\": 2, "
                    "\"n_inner\": 12, \"vocab_size\": 20, \"n_positions\": 16}";
    if (model_config_parse(j, &c, &e)) die("tiny config: %s", e.msg);
    c.random_test = 1;
    return c;
}

/* A random GPT-2 state dict of c (model-init's weights). */
static void random_sd(const model_config *c, uint64_t seed, tensor_set *ts)
{
    herr e;
    tensors_init(ts);
    if (model_init_random_test(c, seed, 0.3f, ts, &e)) die("%s", e.msg);
}

/* Copy ts, renaming each tensor through fn (NULL result: dropped). */
static void copy_renamed(const tensor_set *src, tensor_set *dst, const char *(*fn)(const char *, char *))
{
    tensors_init(dst);
    char buf[256];
    for (size_t i = 0; i < src->n; i++) {
        const char *n = fn(src->t[i].name, buf);
        if (n) tensors_add(dst, n, src->t[i].ndim, src->t[i].shape, src->t[i].data, &t_add_err);
    }
}
static const char *strip_prefix(const char *n, char *buf)
{
    snprintf(buf, 256, "%s", strncmp(n, "transformer.", 12) ? n : n + 12);
    return buf;
}

/* Bind ts (consumed) as c; @return 0 or -1 with the message in msg. */
static int bind(const model_config *c, tensor_set *ts, gptneo_model *m, char *msg)
{
    herr e;
    int rc = gptneo_from_tensors(m, c, ts, &e);
    snprintf(msg, HERR_MAX, "%s", rc ? e.msg : "ok");
    return rc;
}

static void config_checks(void)
{
    model_config c;
    herr e;
    /* the fixtures' configs (written like GPT2Config.to_json_string) */
    int rc = model_config_parse(
        "{\"activation_function\": \"gelu_new\", \"architectures\": [\"GPT2LMHeadModel\"], \"attn_pdrop\": 0.1,"
        "\"layer_norm_epsilon\": 0.001, \"model_type\": \"gpt2\", \"n_embd\": 24, \"n_head\": 3, \"n_inner\": null,"
        "\"n_layer\": 4, \"n_positions\": 48, \"reorder_and_upcast_attn\": true, \"scale_attn_by_inverse_layer_idx\": true,"
        "\"scale_attn_weights\": true, \"vocab_size\": 200, \"summary_type\": \"cls_index\"}", &c, &e);
    CHECK(rc == 0 && c.arch == MODEL_ARCH_GPT2 && c.n_embd == 24 && c.n_head == 3 && c.d_head == 8 &&
          c.n_layer == 4 && c.n_inner == 96 && c.n_positions == 48 && c.vocab_size == 200 && c.ln_eps == 1e-3 &&
          c.scale_attn_weights && c.scale_attn_inverse_layer && c.reorder_and_upcast_attn && !c.untied_lm_head,
          "a GPT-2 config.json: sizes, n_inner null -> 4 n_embd, epsilon, flags (%s)", rc ? e.msg : "ok");
    for (int l = 0; l < 4; l++) CHECK(!c.local[l], "GPT-2 layer %d is global", l);
    CHECK(fabs(model_attn_divisor(&c, 0) - sqrt(8.0)) < 1e-15 && fabs(model_attn_divisor(&c, 3) - 4 * sqrt(8.0)) < 1e-15,
          "divisor sqrt(dk) * (l + 1) with scale_attn_by_inverse_layer_idx (layer 0: %g, layer 3: %g)",
          model_attn_divisor(&c, 0), model_attn_divisor(&c, 3));

    /* absent keys take GPT2Config's defaults: GPT-2 small */
    rc = model_config_parse("{\"model_type\": \"gpt2\"}", &c, &e);
    model_config s;
    model_config_gpt2_small(&s);
    CHECK(rc == 0 && c.n_embd == 768 && c.n_head == 12 && c.d_head == 64 && c.n_layer == 12 && c.n_inner == 3072 &&
          c.vocab_size == 50257 && c.n_positions == 1024 && c.ln_eps == 1e-5 && c.scale_attn_weights &&
          !c.scale_attn_inverse_layer && model_max_tokens(&c) == 1024 && model_config_is_gpt2_small_shape(&c),
          "an empty GPT-2 config is GPT-2 small (GPT2Config's defaults)");
    CHECK(model_attn_divisor(&c, 11) == 8.0, "GPT-2 small divides scores by 8 on every layer");
    CHECK(model_config_check(&s, &e) == 0 && model_config_is_gpt2_small_shape(&s), "model_config_gpt2_small passes the checks");

    /* no model_type: the keys decide */
    rc = model_config_parse("{\"n_embd\": 8, \"n_head\": 2, \"n_layer\": 1, \"vocab_size\": 5, \"n_positions\": 4}", &c, &e);
    CHECK(rc == 0 && c.arch == MODEL_ARCH_GPT2 && c.n_embd == 8, "no model_type, n_* keys: GPT-2");
    rc = model_config_parse("{\"hidden_size\": 8, \"num_heads\": 2, \"num_layers\": 1, \"vocab_size\": 5,"
                            "\"max_position_embeddings\": 4, \"attention_layers\": [\"global\"]}", &c, &e);
    CHECK(rc == 0 && c.arch == MODEL_ARCH_GPT_NEO && model_attn_divisor(&c, 0) == 1.0,
          "no model_type, attention_layers: GPT-Neo (divisor 1)");

    /* aliases (GPT2Config.attribute_map), n_ctx, tie_word_embeddings */
    rc = model_config_parse("{\"model_type\": \"gpt2\", \"hidden_size\": 16, \"num_attention_heads\": 4,"
                            "\"num_hidden_layers\": 3, \"max_position_embeddings\": 32, \"n_ctx\": 20,"
                            "\"vocab_size\": 7, \"tie_word_embeddings\": false, \"scale_attn_weights\": false}", &c, &e);
    CHECK(rc == 0 && c.n_embd == 16 && c.n_head == 4 && c.n_layer == 3 && c.n_positions == 32 &&
          model_max_tokens(&c) == 20 && c.untied_lm_head && !c.scale_attn_weights && model_attn_divisor(&c, 2) == 1.0,
          "aliases, n_ctx caps the length, untied head, scale_attn_weights false (%s)", rc ? e.msg : "ok");
    CHECK(parse_fails("{\"model_type\": \"gpt2\", \"n_embd\": 16, \"hidden_size\": 32}", "disagrees"),
          "an alias disagreeing with its n_* key refused");
    CHECK(parse_fails("{\"model_type\": \"llama\"}", "unsupported model_type \"llama\" (gpt_neo or gpt2)"),
          "unknown model_type refused");
    CHECK(parse_fails("{\"model_type\": 3}", "unsupported model_type"), "non-string model_type refused");
    CHECK(parse_fails("{\"model_type\": \"gpt2\", \"n_embd\": 10, \"n_head\": 3}", "n_embd 10 is not divisible by n_head 3"),
          "n_embd not a multiple of n_head refused");
    CHECK(parse_fails("{\"model_type\": \"gpt2\", \"activation_function\": \"gelu\"}", "activation_function \"gelu\""),
          "erf GELU refused (only gelu_new)");
    CHECK(parse_fails("{\"model_type\": \"gpt2\", \"add_cross_attention\": true}", "add_cross_attention"),
          "add_cross_attention refused");
    CHECK(parse_fails("{\"model_type\": \"gpt2\", \"scale_attn_weights\": 1}", "not true or false"),
          "a non-boolean flag refused");
    CHECK(parse_fails("{\"model_type\": \"gpt2\", \"n_inner\": 0}", "n_inner"), "n_inner 0 refused");
    CHECK(parse_fails("{\"model_type\": \"gpt2\", \"n_layer\": 65}", "n_layer"), "65 layers refused");
    CHECK(parse_fails("{\"model_type\": \"gpt2\", \"layer_norm_epsilon\": 0}", "layer_norm_epsilon"), "epsilon 0 refused");

    /* model-init's config.json round-trips */
    c = tiny_cfg();
    c.scale_attn_inverse_layer = 1;
    snprintf(c.name, sizeof c.name, "random-test-model gpt2 seed 3");
    char *json = model_config_to_json(&c, MODEL_ORIGIN_RANDOM_TEST, 0, &e);
    model_config back;
    rc = json ? model_config_parse(json, &back, &e) : -1;
    CHECK(rc == 0 && back.arch == MODEL_ARCH_GPT2 && back.n_embd == 8 && back.n_inner == 12 && back.n_layer == 2 &&
          back.scale_attn_inverse_layer && back.scale_attn_weights && back.random_test &&
          !strcmp(back.name, c.name) && strstr(json, "\"model_type\": \"gpt2\"") &&
          strstr(json, "\"GPT2LMHeadModel\"") && strstr(json, "\"heads_random_test_model\": true"),
          "a GPT-2 test model's config.json parses back to its config");
    free(json);
    CHECK(model_config_to_json(&c, MODEL_ORIGIN_STANDIN, 0, &e) == NULL, "no GPT-2 stand-in config: %s", e.msg);
    CHECK(gnt_config_check(&c, &e) != 0 && strstr(e.msg, "GPT-Neo only"), "the trainer refuses GPT-2: %s", e.msg);
    c.local[1] = 1;
    CHECK(model_config_check(&c, &e) != 0 && strstr(e.msg, "local"), "a GPT-2 config with a local layer is refused");
}

static const float filler[256]; /* data for tensors whose values do not matter */

static void bind_checks(void)
{
    const model_config c = tiny_cfg();
    tensor_set ts, t2;
    gptneo_model m, m2;
    char msg[HERR_MAX];
    herr e;

    /* bind, then the inverse gives back the very same state dict */
    random_sd(&c, 5, &ts);
    tensor_set keep;
    copy_renamed(&ts, &keep, strip_prefix);
    int rc = bind(&c, &ts, &m, msg);
    CHECK(rc == 0 && m.lm_head == m.w.wte && m.lm_head_tied, "a GPT-2 state dict binds, head tied (%s)", msg);
    if (rc) return;
    CHECK(model_param_count(&c) == (size_t)(20 * 8 + 16 * 8 + 2 * (4 * 8 + 3 * 64 + 24 + 64 + 8 + 12 * 8 + 12 + 8 * 12 + 8) + 16),
          "the GPT-2 layout holds every parameter once (q/k/v biases included)");
    CHECK(model_tensor_count(&c) == 4 + 14 * 2, "14 layout tensors per GPT-2 layer");
    tensors_init(&t2);
    rc = model_params_to_tensors(&c, m.params, &t2, &e);
    int same = rc == 0 && t2.n == keep.n;
    for (size_t i = 0; same && i < t2.n; i++) {
        const tensor *a = &t2.t[i], *b = &keep.t[i];
        same = !strcmp(a->name + 12, b->name) && a->ndim == b->ndim && a->numel == b->numel &&
               !memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim) &&
               !memcmp(a->data, b->data, (size_t)a->numel * sizeof(float));
    }
    CHECK(same, "layout -> state dict (gpt2_state_dict) gives back every tensor bit for bit, in order");
    /* c_attn [in][out] columns q | k | v: wq[o][i] = c_attn.weight[i][o], wk[o][i] = ..[i][D + o] */
    const tensor *ca = tensors_find(&keep, "h.1.attn.c_attn.weight"), *cp = tensors_find(&keep, "h.1.mlp.c_proj.weight");
    const model_layer_weights *L1 = &m.w.layer[1];
    CHECK(ca && cp && L1->wq[3 * 8 + 5] == ca->data[5 * 24 + 3] && L1->wk[3 * 8 + 5] == ca->data[5 * 24 + 8 + 3] &&
          L1->wv[7 * 8 + 0] == ca->data[0 * 24 + 16 + 7] && L1->proj_w[2 * 12 + 11] == cp->data[11 * 8 + 2] &&
          L1->bqkv[9] == tensors_find(&keep, "h.1.attn.c_attn.bias")->data[9],
          "Conv1D weights transposed to [out][in], c_attn split q | k | v, its bias kept");

    /* no prefix (GPT2Model, the hub's gpt2 files), plus the mask buffers */
    copy_renamed(&keep, &ts, strip_prefix);
    {
        float mask[16 * 16], mb = -1e4f;
        for (int i = 0; i < 16; i++)
            for (int j = 0; j < 16; j++) mask[i * 16 + j] = j <= i;
        int64_t s4[4] = {1, 1, 16, 16};
        tensors_add(&ts, "h.0.attn.bias", 4, s4, mask, &t_add_err); /* a float32 mask loads like a weight */
        tensors_add(&ts, "h.1.attn.masked_bias", 0, s4, &mb, &t_add_err);
    }
    rc = bind(&c, &ts, &m2, msg);
    CHECK(rc == 0 && !memcmp(m.params, m2.params, model_param_count(&c) * sizeof(float)),
          "names without \"transformer.\" and float attn.bias / masked_bias buffers: the same parameters (%s)", msg);
    if (!rc) gptneo_free(&m2);

#define REFUSED(what, needle)                                                          \
    do {                                                                               \
        rc = bind(&c, &ts, &m2, msg);                                                  \
        CHECK(rc != 0 && strstr(msg, needle), "%s refused: %s", what, msg);            \
        if (!rc) gptneo_free(&m2);                                                     \
    } while (0)
    /* one bare name among prefixed ones */
    copy_renamed(&keep, &ts, strip_prefix);
    for (size_t i = 0; i < ts.n; i++) {
        char *n = malloc(strlen(ts.t[i].name) + 13);
        sprintf(n, "%s%s", i == 7 ? "" : "transformer.", ts.t[i].name);
        free(ts.t[i].name);
        ts.t[i].name = n;
    }
    REFUSED("names with and without transformer. mixed", "mix names with and without");
    /* GPT-Neo's names in a GPT-2 model */
    copy_renamed(&keep, &ts, strip_prefix);
    tensors_add(&ts, "h.0.attn.attention.q_proj.weight", 2, (int64_t[]){8, 8}, filler, &t_add_err);
    REFUSED("a GPT-Neo tensor name in a GPT-2 model", "GPT-Neo name in a GPT-2 model");
    /* GPT2DoubleHeadsModel / cross-attention extras, a layer beyond the config */
    copy_renamed(&keep, &ts, strip_prefix);
    tensors_add(&ts, "multiple_choice_head.summary.weight", 1, (int64_t[]){8}, filler, &t_add_err);
    REFUSED("a multiple_choice_head tensor", "unexpected tensor multiple_choice_head");
    copy_renamed(&keep, &ts, strip_prefix);
    tensors_add(&ts, "h.2.attn.bias", 1, (int64_t[]){4}, filler, &t_add_err);
    REFUSED("a buffer of a layer the config lacks", "unexpected tensor h.2.attn.bias");
    copy_renamed(&keep, &ts, strip_prefix);
    tensors_add(&ts, "h.0.crossattention.c_attn.weight", 2, (int64_t[]){8, 24}, filler, &t_add_err);
    REFUSED("a cross-attention tensor", "unexpected tensor h.0.crossattention");
    /* c_attn stored as a Linear [3D][D] */
    copy_renamed(&keep, &ts, strip_prefix);
    for (size_t i = 0; i < ts.n; i++)
        if (!strcmp(ts.t[i].name, "h.0.attn.c_attn.weight")) ts.t[i].shape[0] = 24, ts.t[i].shape[1] = 8;
    REFUSED("c_attn.weight in Linear's [out][in] shape", "h.0.attn.c_attn.weight has shape [24x8], config says [8x24]");
    /* a missing bias */
    copy_renamed(&keep, &ts, strip_prefix);
    free(ts.t[5].name);
    ts.t[5].name = xstrdup("h.0.attn.c_attn.bias_renamed");
    REFUSED("c_attn.bias under another name", "unexpected tensor h.0.attn.c_attn.bias_renamed");
    copy_renamed(&keep, &ts, strip_prefix);
    ts.n--; /* drop ln_f.bias */
    free(ts.t[ts.n].name);
    free(ts.t[ts.n].data);
    REFUSED("a missing ln_f.bias", "missing tensor ln_f.bias");

    /* GPT-2's names in a GPT-Neo model */
    model_config neo;
    rc = model_config_parse("{\"hidden_size\": 8, \"num_heads\": 2, \"num_layers\": 2, \"vocab_size\": 20,"
                            "\"max_position_embeddings\": 16, \"attention_layers\": [\"global\", \"local\"]}", &neo, &e);
    tensors_init(&ts);
    if (model_init_random_test(&neo, 1, 0.1f, &ts, &t_add_err)) die("%s", t_add_err.msg);
    tensors_add(&ts, "transformer.h.1.attn.c_proj.weight", 2, (int64_t[]){8, 8}, filler, &t_add_err);
    rc = gptneo_from_tensors(&m2, &neo, &ts, &e);
    CHECK(rc != 0 && strstr(e.msg, "GPT-2 name in a GPT-Neo model"), "a GPT-2 tensor name in a GPT-Neo model refused: %s",
          rc ? e.msg : "accepted");

    /* tie_word_embeddings false: lm_head.weight required, then used */
    model_config u = c;
    u.untied_lm_head = 1;
    copy_renamed(&keep, &ts, strip_prefix);
    rc = bind(&u, &ts, &m2, msg);
    CHECK(rc != 0 && strstr(msg, "no lm_head.weight"), "an untied head without lm_head.weight refused: %s", msg);
    copy_renamed(&keep, &ts, strip_prefix);
    float head[20 * 8];
    for (int i = 0; i < 20 * 8; i++) head[i] = (float)((i * 7) % 11) / 11.0f - 0.5f;
    tensors_add(&ts, "lm_head.weight", 2, (int64_t[]){20, 8}, head, &t_add_err);
    rc = gptneo_from_tensors(&m2, &u, &ts, &e);
    CHECK(rc == 0 && !m2.lm_head_tied && m2.lm_head[13] == head[13], "an untied head is read from lm_head.weight");
    if (!rc) gptneo_free(&m2);
    copy_renamed(&keep, &ts, strip_prefix);
    tensors_add(&ts, "lm_head.weight", 2, (int64_t[]){20, 8}, head, &t_add_err);
    rc = bind(&c, &ts, &m2, msg);
    CHECK(rc == 0 && m2.lm_head == m2.w.wte, "a stored lm_head.weight is ignored when tied (transformers ties it)");
    if (!rc) gptneo_free(&m2);
#undef REFUSED
    tensors_free(&keep);
    tensors_free(&t2);
    gptneo_free(&m);
}

/* attn_row callback: sums of each row's probabilities, and head 1 of layer 1 kept */
typedef struct rowctx {
    double worst_sum;
    int not_global; /* a row whose keys are not 0..i */
    float row[16 * 16];
} rowctx;
static void on_row(void *ctx, int layer, int head, int i, int lo, int n, const float *p, float inv)
{
    rowctx *r = ctx;
    double s = 0;
    for (int j = 0; j < n; j++) s += p[j] * inv;
    if (fabs(s - 1) > r->worst_sum) r->worst_sum = fabs(s - 1);
    if (layer == 1 && head == 1)
        for (int j = 0; j < n; j++) r->row[i * 16 + lo + j] = p[j] * inv;
    if (lo != 0 || n != i + 1) r->not_global = 1;
}

static void forward_checks(void)
{
    model_config c = tiny_cfg();
    tensor_set ts;
    gptneo_model m;
    char msg[HERR_MAX];
    herr e;
    random_sd(&c, 9, &ts);
    if (bind(&c, &ts, &m, msg)) die("%s", msg);
    uint32_t ids[16];
    for (int t = 0; t < 16; t++) ids[t] = (uint32_t)((t * 7 + 3) % 20);
    gptneo_acts a;
    gptneo_acts_init(&a);
    a.want_resid = 1;
    a.want_activity = 1;
    a.attn_layer = 1;
    a.attn_head = 1;
    rowctx rc = {0};
    a.attn_row = on_row;
    a.attn_ctx = &rc;
    CHECK(gptneo_forward(&m, ids, 16, &a, &e) == 0, "forward on 16 tokens");
    CHECK(rc.worst_sum < 1e-5 && !rc.not_global && !memcmp(rc.row, a.attn, sizeof rc.row),
          "attn_row: every row sums to 1 over keys 0..i (worst %.1e), the same probabilities as attn", rc.worst_sum);
    /* from the middle of layer 0: the same hidden state, bit for bit */
    const size_t TD = 16 * 8;
    float *hidden = malloc(TD * sizeof(float)), *mid = malloc(TD * sizeof(float));
    memcpy(hidden, a.hidden, TD * sizeof(float));
    memcpy(mid, a.resid + 2 * TD, TD * sizeof(float)); /* the stream entering layer 1 */
    double loss[15], loss2[15];
    CHECK(gptneo_token_losses(&m, &a, ids, loss, &e) == 0, "token losses");
    a.attn_row = NULL;
    CHECK(gptneo_forward_from(&m, ids, 16, 1, mid, &a, &e) == 0 && !memcmp(hidden, a.hidden, TD * sizeof(float)),
          "gptneo_forward_from (layer 1) reproduces the forward's hidden state");
    int finite = gptneo_token_losses(&m, &a, ids, loss2, &e) == 0;
    for (int t = 0; t < 15; t++) finite &= isfinite(loss[t]) && loss[t] > 0 && loss[t] == loss2[t];
    CHECK(finite, "token losses finite, positive, equal after the run from layer 1");
    /* the log-softmax of the logits agrees with the losses */
    float lg[20];
    gptneo_logits(&m, &a, 4, 1, lg);
    double mx = lg[0], s = 0;
    for (int v = 1; v < 20; v++) mx = lg[v] > mx ? lg[v] : mx;
    for (int v = 0; v < 20; v++) s += exp(lg[v] - mx);
    CHECK(fabs(mx + log(s) - lg[ids[5]] - loss[4]) < 1e-5, "loss[4] = logsumexp - logit of the next token");

    /* the scale: folding 1/sqrt(dk) into wq, bq with scale_attn_weights off
     * gives the same attention (so the forward divides by exactly sqrt(dk)) */
    float attn1[16 * 16], z1[16 * 8];
    memcpy(attn1, a.attn, sizeof attn1);
    CHECK(gptneo_forward(&m, ids, 16, &a, &e) == 0, "forward again");
    memcpy(attn1, a.attn, sizeof attn1);
    memcpy(z1, a.z + 1 * TD, sizeof z1);
    model_config c2 = c;
    c2.scale_attn_weights = 0;
    gptneo_model m2;
    if (gptneo_from_params(&m2, &c2, m.params, &e)) die("%s", e.msg);
    const float f = 1.0f / 2.0f; /* 1 / sqrt(4): exact */
    for (int l = 0; l < 2; l++) {
        for (int i = 0; i < 64; i++) m2.wqkv[l][i] *= f; /* the q rows of the stacked [3D][D] */
        for (int i = 0; i < 8; i++) m2.w.layer[l].bqkv[i] *= f;
    }
    gptneo_acts a2;
    gptneo_acts_init(&a2);
    a2.attn_layer = 1;
    a2.attn_head = 1;
    CHECK(gptneo_forward(&m2, ids, 16, &a2, &e) == 0, "forward of the folded model");
    double worst = 0;
    for (int i = 0; i < 256; i++) worst = fmax(worst, fabs(a2.attn[i] - attn1[i]));
    for (int i = 0; i < 128; i++) worst = fmax(worst, fabs(a2.z[1 * TD + i] - z1[i]));
    CHECK(worst < 1e-6, "scores / sqrt(d_head) = scaling q by 1/sqrt(d_head) (worst %.1e)", worst);
    /* and without folding, the two models differ (the scale matters here) */
    gptneo_free(&m2);
    if (gptneo_from_params(&m2, &c2, m.params, &e)) die("%s", e.msg);
    CHECK(gptneo_forward(&m2, ids, 16, &a2, &e) == 0, "forward unscaled");
    worst = 0;
    for (int i = 0; i < 256; i++) worst = fmax(worst, fabs(a2.attn[i] - attn1[i]));
    CHECK(worst > 1e-2, "dropping the scale changes the attention (by %.2f)", worst);
    gptneo_free(&m2);
    /* inverse-layer scaling: layer 1 divides by 2 more */
    c2 = c;
    c2.scale_attn_inverse_layer = 1;
    if (gptneo_from_params(&m2, &c2, m.params, &e)) die("%s", e.msg);
    for (int i = 0; i < 64; i++) m2.wqkv[1][i] *= 2.0f;
    for (int i = 0; i < 8; i++) m2.w.layer[1].bqkv[i] *= 2.0f;
    CHECK(gptneo_forward(&m2, ids, 16, &a2, &e) == 0, "forward with inverse-layer scaling");
    worst = 0;
    for (int i = 0; i < 256; i++) worst = fmax(worst, fabs(a2.attn[i] - attn1[i]));
    CHECK(worst < 1e-6, "scale_attn_by_inverse_layer_idx divides layer 1's scores by 2 (worst %.1e)", worst);
    gptneo_free(&m2);
    gptneo_acts_free(&a2);

    /* n_ctx caps a sequence */
    c2 = c;
    c2.n_ctx = 8;
    if (gptneo_from_params(&m2, &c2, m.params, &e)) die("%s", e.msg);
    CHECK(gptneo_forward(&m2, ids, 8, &a, &e) == 0, "8 tokens with n_ctx 8");
    CHECK(gptneo_forward(&m2, ids, 9, &a, &e) != 0 && strstr(e.msg, "8 positions"), "9 tokens with n_ctx 8 refused: %s",
          e.msg);
    gptneo_free(&m2);

    /* several stories in one pass = each alone */
    {
        uint32_t both[16 + 9];
        memcpy(both, ids, sizeof ids);
        for (int t = 0; t < 9; t++) both[16 + t] = (uint32_t)((t * 3 + 2) % 20);
        int lens[2] = {16, 9};
        gptneo_acts b, one;
        gptneo_acts_init(&b);
        gptneo_acts_init(&one);
        b.want_activity = one.want_activity = 1;
        int rc2 = gptneo_forward_stories(&m, both, lens, 2, &b, &e);
        CHECK(rc2 == 0 && b.T == 25, "two stories (16 + 9 tokens) in one pass: 25 rows");
        double worst = 0;
        for (int s2 = 0, off = 0; rc2 == 0 && s2 < 2; off += lens[s2++]) {
            if (gptneo_forward(&m, both + off, lens[s2], &one, &e)) die("%s", e.msg);
            for (int l = 0; l < 2; l++)
                for (int t = 0; t < lens[s2]; t++)
                    for (int h = 0; h < 2; h++) {
                        for (const char *k = "qkvz"; *k; k++)
                            for (int d = 0; d < 4; d++)
                                worst = fmax(worst, fabs(gptneo_vec(&b, 4, l, off + t, h, *k)[d] -
                                                         gptneo_vec(&one, 4, l, t, h, *k)[d]));
                        worst = fmax(worst, fabs(b.activity[((size_t)l * 25 + off + t) * 2 + h] -
                                                 one.activity[((size_t)l * lens[s2] + t) * 2 + h]));
                    }
            for (int i = 0; i < lens[s2] * 8; i++) worst = fmax(worst, fabs(b.hidden[off * 8 + i] - one.hidden[i]));
        }
        CHECK(rc2 == 0 && worst < 1e-6, "... q, k, v, z, activity and hidden of each story as when run alone (worst %.1e)",
              worst);
        b.attn_layer = 0;
        b.attn_head = 0;
        CHECK(gptneo_forward_stories(&m, both, lens, 2, &b, &e) != 0 && strstr(e.msg, "per story"),
              "an attention matrix over several stories refused: %s", e.msg);
        b.attn_layer = -1;
        lens[1] = 0;
        CHECK(gptneo_forward_stories(&m, both, lens, 2, &b, &e) != 0 && strstr(e.msg, "empty"),
              "an empty story in a batch refused: %s", e.msg);
        lens[1] = 9;
        both[20] = 20;
        CHECK(gptneo_forward_stories(&m, both, lens, 2, &b, &e) != 0 && strstr(e.msg, "vocabulary"),
              "an id outside the vocabulary in a batch refused: %s", e.msg);
        gptneo_acts_free(&b);
        gptneo_acts_free(&one);
    }

    /* identity */
    char id[512];
    gptneo_identity(&m, id, sizeof id);
    CHECK(strstr(id, "a random GPT-2-architecture test model, not GPT-2") && strstr(id, "not TinyStories-1M"),
          "identity of a random GPT-2 test model: %s", id);
    m.cfg.random_test = 0;
    gptneo_identity(&m, id, sizeof id);
    CHECK(strstr(id, "weights not verified") && !strstr(id, "verified)"), "identity of another GPT-2 model: %s", id);
    model_config_gpt2_small(&m.cfg);
    m.cfg.random_test = 1;
    gptneo_identity(&m, id, sizeof id);
    CHECK(strstr(id, "a random GPT-2-small-shaped test model, not GPT-2"), "identity of a GPT-2-small-shaped one: %s", id);
    free(hidden);
    free(mid);
    gptneo_acts_free(&a);
    gptneo_free(&m);
}

/* Both attention kernels (the row kernel for narrow heads, two sgemm per
 * head from GPTNEO_GEMM_DK on) against attention recomputed in double from
 * the forward's own q, k, v: the divisor, the causal mask and GPT-Neo's
 * local window, and z = p v. */
static void kernel_check(const char *what, const char *json)
{
    model_config c;
    herr e;
    if (model_config_parse(json, &c, &e)) die("%s: %s", what, e.msg);
    tensor_set ts;
    tensors_init(&ts);
    if (model_init_random_test(&c, 17, 0.2f, &ts, &e)) die("%s: %s", what, e.msg);
    gptneo_model m;
    if (gptneo_from_tensors(&m, &c, &ts, &e)) die("%s: %s", what, e.msg);
    enum { T = 16 };
    uint32_t ids[T];
    for (int t = 0; t < T; t++) ids[t] = (uint32_t)((t * 5 + 1) % c.vocab_size);
    gptneo_acts a;
    gptneo_acts_init(&a);
    double worst_p = 0, worst_z = 0, zscale = 0;
    int masked_ok = 1, rows_ok = 1;
    for (int l = 0; l < c.n_layer; l++)
        for (int h = 0; h < c.n_head; h++) {
            a.attn_layer = l;
            a.attn_head = h;
            rowctx rc = {0};
            a.attn_row = l == 1 && h == 1 ? on_row : NULL; /* the callback sees the same rows */
            a.attn_ctx = &rc;
            if (gptneo_forward(&m, ids, T, &a, &e)) die("%s", e.msg);
            if (a.attn_row) {
                rows_ok = rc.worst_sum < 1e-5 && rc.not_global == (c.local[0] || c.local[1]); /* window rows iff a local layer */
                for (int i = 0; i < T * T; i++) rows_ok &= rc.row[i] == a.attn[i];
            }
            const double div = model_attn_divisor(&c, l);
            for (int i = 0; i < T; i++) {
                double p[T], mx = -INFINITY, sum = 0;
                const float *q = gptneo_vec(&a, c.d_head, l, i, h, 'q');
                for (int j = 0; j < T; j++) {
                    if (!model_can_attend(&c, l, i, j)) {
                        p[j] = -INFINITY;
                        continue;
                    }
                    const float *k = gptneo_vec(&a, c.d_head, l, j, h, 'k');
                    double d = 0;
                    for (int x = 0; x < c.d_head; x++) d += (double)q[x] * k[x];
                    p[j] = d / div;
                    mx = p[j] > mx ? p[j] : mx;
                }
                for (int j = 0; j < T; j++) sum += p[j] = isinf(p[j]) ? 0 : exp(p[j] - mx);
                for (int j = 0; j < T; j++) {
                    p[j] /= sum;
                    const double got = a.attn[i * T + j];
                    if (!model_can_attend(&c, l, i, j)) masked_ok &= got == 0;
                    worst_p = fmax(worst_p, fabs(got - p[j]));
                }
                const float *z = gptneo_vec(&a, c.d_head, l, i, h, 'z');
                for (int x = 0; x < c.d_head; x++) {
                    double want = 0;
                    for (int j = 0; j < T; j++) want += p[j] * gptneo_vec(&a, c.d_head, l, j, h, 'v')[x];
                    worst_z = fmax(worst_z, fabs(z[x] - want));
                    zscale = fmax(zscale, fabs(want));
                }
            }
        }
    CHECK(masked_ok && rows_ok && worst_p < 2e-6 && worst_z < 2e-6 * fmax(1, zscale),
          "%s (d_head %d, %s kernel): attention = softmax(q.k / divisor) over visible keys (worst %.1e), "
          "masked keys exactly 0, attn_row gives the same rows, z = p v (worst %.1e of %.2g)",
          what, c.d_head, c.d_head >= GPTNEO_GEMM_DK ? "sgemm" : "row", worst_p, worst_z, zscale);
    gptneo_acts_free(&a);
    gptneo_free(&m);
}

/* --edit-weights IN OUT NAME NEWNAME */
static int edit_weights(const char *in, const char *out, const char *name, const char *newname)
{
    tensor_set ts, o;
    herr e;
    if (tensors_open(in, &ts, &e)) die("%s", e.msg);
    tensors_init(&o);
    int found = 0;
    for (size_t i = 0; i < tensors_name_count(&ts); i++) {
        const char *n = tensors_name(&ts, i);
        const tensor *t = tensors_get(&ts, n, &e);
        if (!t) die("%s: %s", in, e.msg);
        if (!strcmp(n, name)) {
            found = 1;
            if (!strcmp(newname, "-")) continue;
            n = newname;
        }
        if (!tensors_add(&o, n, t->ndim, t->shape, t->data, &e)) die("%s", e.msg);
    }
    if (!found) die("%s: no tensor %s", in, name);
    if (tensors_save_safetensors(out, &o, &e)) die("%s", e.msg);
    tensors_free(&ts);
    tensors_free(&o);
    return 0;
}

/* --relabel IN OUT KEY VALUE */
static int relabel(const char *in, const char *out, const char *key, const char *value)
{
    stream_reader *r = cli_open_input(in, 1u << STREAM_ACTIVATIONS);
    const stream_header *src = stream_reader_header(r);
    stream_header h;
    stream_header_init(&h);
    size_t kl = strlen(key);
    for (size_t i = 0; i < src->n; i++) {
        const char *ln = src->lines[i];
        if (!strncmp(ln, key, kl) && ln[kl] == ':') continue;
        const char *colon = strchr(ln, ':');
        if (!colon) continue;
        char k[256];
        snprintf(k, sizeof k, "%.*s", (int)(colon - ln), ln);
        stream_header_add(&h, k, "%s", colon[1] == ' ' ? colon + 2 : colon + 1);
    }
    if (strcmp(value, "-")) stream_header_add(&h, key, "%s", value);
    stream_writer *w = cli_open_stream(out, STREAM_ACTIVATIONS, &h);
    story_rec s;
    story_init(&s);
    while (cli_read_story(r, &s)) cli_write_story(w, &s);
    cli_close_stream(w);
    story_free(&s);
    stream_header_free(&h);
    stream_reader_close(r);
    return 0;
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    if (argc == 6 && !strcmp(argv[1], "--edit-weights")) return edit_weights(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 6 && !strcmp(argv[1], "--relabel")) return relabel(argv[2], argv[3], argv[4], argv[5]);
    if (argc != 1) die("usage: test_gpt2 [--edit-weights IN OUT NAME NEWNAME | --relabel IN OUT KEY VALUE]");
    config_checks();
    bind_checks();
    forward_checks();
    kernel_check("GPT-2, narrow heads", "{\"model_type\": \"gpt2\", \"n_embd\": 16, \"n_head\": 4, \"n_layer\": 2,"
                 "\"vocab_size\": 30, \"n_positions\": 16}");
    kernel_check("GPT-2, wide heads, inverse-layer scaling", "{\"model_type\": \"gpt2\", \"n_embd\": 64, \"n_head\": 2,"
                 "\"n_layer\": 2, \"vocab_size\": 30, \"n_positions\": 16, \"scale_attn_by_inverse_layer_idx\": true}");
    kernel_check("GPT-Neo, wide heads, local window 3", "{\"model_type\": \"gpt_neo\", \"hidden_size\": 64, \"num_heads\": 2,"
                 "\"num_layers\": 2, \"vocab_size\": 30, \"max_position_embeddings\": 16, \"window_size\": 3,"
                 "\"attention_layers\": [\"global\", \"local\"]}");
    kernel_check("GPT-Neo, narrow heads, local window 3", "{\"model_type\": \"gpt_neo\", \"hidden_size\": 16, \"num_heads\": 4,"
                 "\"num_layers\": 2, \"vocab_size\": 30, \"max_position_embeddings\": 16, \"window_size\": 3,"
                 "\"attention_layers\": [\"local\", \"global\"]}");
    TEST_END();
}
