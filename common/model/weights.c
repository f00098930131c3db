/* weights.c: the flat parameter layout (weights.h). */
#include "model/weights.h"

#include <stdio.h>
#include <string.h>

int model_tensor_count(const model_config *c)
{
    return 4 + (c->arch == MODEL_ARCH_GPT2 ? 14 : 13) * c->n_layer;
}

/* The layout, walked once: each tensor in order with its shape.  Both the
 * tensor list and the pointer map come from this walk, so they cannot
 * disagree. */
typedef struct walker {
    model_tensor_info *info; /* or NULL */
    float *flat;             /* or NULL */
    size_t off;
    int n;
} walker;

/* Tensor `suffix` of layer l ("transformer.h.l.suffix"), or of the whole
 * model for l < 0 ("transformer.suffix"); names are formatted only for a
 * listing (the pointer map runs per training row). */
static float *put(walker *w, int l, const char *suffix, int ndim, int64_t d0, int64_t d1, int decay)
{
    size_t numel = (size_t)d0 * (size_t)(ndim == 2 ? d1 : 1);
    if (w->info) {
        model_tensor_info *t = &w->info[w->n];
        if (l < 0) snprintf(t->name, sizeof t->name, "transformer.%s", suffix);
        else snprintf(t->name, sizeof t->name, "transformer.h.%d.%s", l, suffix);
        t->ndim = ndim;
        t->shape[0] = d0;
        t->shape[1] = ndim == 2 ? d1 : 1;
        t->offset = w->off;
        t->numel = numel;
        t->decay = decay;
    }
    float *p = w->flat ? w->flat + w->off : NULL;
    w->off += numel;
    w->n++;
    return p;
}

/* GPT-2's layers: the same tensors plus the q/k/v biases (weights.h). */
static void walk_gpt2_layers(walker *w, const model_config *c, model_weights *mw)
{
    const int64_t D = c->n_embd, I = c->n_inner;
    for (int l = 0; l < c->n_layer; l++) {
        model_layer_weights *L = &mw->layer[l];
        L->ln1_w = put(w, l, "ln_1.weight", 1, D, 0, 0);
        L->ln1_b = put(w, l, "ln_1.bias", 1, D, 0, 0);
        L->wq = put(w, l, "attn.c_attn.weight.q.T", 2, D, D, 1);
        L->wk = put(w, l, "attn.c_attn.weight.k.T", 2, D, D, 1);
        L->wv = put(w, l, "attn.c_attn.weight.v.T", 2, D, D, 1);
        L->bqkv = put(w, l, "attn.c_attn.bias", 1, 3 * D, 0, 0);
        L->wo = put(w, l, "attn.c_proj.weight.T", 2, D, D, 1);
        L->bo = put(w, l, "attn.c_proj.bias", 1, D, 0, 0);
        L->ln2_w = put(w, l, "ln_2.weight", 1, D, 0, 0);
        L->ln2_b = put(w, l, "ln_2.bias", 1, D, 0, 0);
        L->fc_w = put(w, l, "mlp.c_fc.weight.T", 2, I, D, 1);
        L->fc_b = put(w, l, "mlp.c_fc.bias", 1, I, 0, 0);
        L->proj_w = put(w, l, "mlp.c_proj.weight.T", 2, D, I, 1);
        L->proj_b = put(w, l, "mlp.c_proj.bias", 1, D, 0, 0);
    }
}

static void walk(walker *w, const model_config *c, model_weights *mw)
{
    const int64_t V = c->vocab_size, P = c->n_positions, D = c->n_embd, I = c->n_inner;
    model_weights dummy;
    if (!mw) mw = &dummy;
    mw->wte = put(w, -1, "wte.weight", 2, V, D, 1);
    mw->wpe = put(w, -1, "wpe.weight", 2, P, D, 1);
    if (c->arch == MODEL_ARCH_GPT2) {
        walk_gpt2_layers(w, c, mw);
        mw->lnf_w = put(w, -1, "ln_f.weight", 1, D, 0, 0);
        mw->lnf_b = put(w, -1, "ln_f.bias", 1, D, 0, 0);
        return;
    }
    for (int l = 0; l < c->n_layer; l++) {
        model_layer_weights *L = &mw->layer[l];
        L->ln1_w = put(w, l, "ln_1.weight", 1, D, 0, 0);
        L->ln1_b = put(w, l, "ln_1.bias", 1, D, 0, 0);
        L->wq = put(w, l, "attn.attention.q_proj.weight", 2, D, D, 1);
        L->wk = put(w, l, "attn.attention.k_proj.weight", 2, D, D, 1);
        L->wv = put(w, l, "attn.attention.v_proj.weight", 2, D, D, 1);
        L->wo = put(w, l, "attn.attention.out_proj.weight", 2, D, D, 1);
        L->bo = put(w, l, "attn.attention.out_proj.bias", 1, D, 0, 0);
        L->ln2_w = put(w, l, "ln_2.weight", 1, D, 0, 0);
        L->ln2_b = put(w, l, "ln_2.bias", 1, D, 0, 0);
        L->fc_w = put(w, l, "mlp.c_fc.weight", 2, I, D, 1);
        L->fc_b = put(w, l, "mlp.c_fc.bias", 1, I, 0, 0);
        L->proj_w = put(w, l, "mlp.c_proj.weight", 2, D, I, 1);
        L->proj_b = put(w, l, "mlp.c_proj.bias", 1, D, 0, 0);
    }
    mw->lnf_w = put(w, -1, "ln_f.weight", 1, D, 0, 0);
    mw->lnf_b = put(w, -1, "ln_f.bias", 1, D, 0, 0);
}

int model_tensor_list(const model_config *c, model_tensor_info *out)
{
    walker w = {out, NULL, 0, 0};
    walk(&w, c, NULL);
    return w.n;
}

size_t model_param_count(const model_config *c)
{
    walker w = {NULL, NULL, 0, 0};
    walk(&w, c, NULL);
    return w.off;
}

void model_weights_map(model_weights *mw, const model_config *c, float *flat)
{
    memset(mw, 0, sizeof *mw);
    walker w = {NULL, flat, 0, 0};
    walk(&w, c, mw);
}
