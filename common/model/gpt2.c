/* gpt2.c: GPT-2 state dicts in and out of the layout (gpt2.h). */
#include "model/gpt2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* The tensor set, as this file reads it: names (the file's index: nothing
 * is read to list them), one tensor by name (read on request, so the
 * causal-mask buffers skipped by name are never read).                   */

static size_t sd_count(const tensor_set *ts) { return tensors_name_count(ts); }
static const char *sd_name(const tensor_set *ts, size_t i) { return tensors_name(ts, i); }
static const tensor *sd_get(tensor_set *ts, const char *name, herr *e)
{
    const tensor *t = tensors_get(ts, name, e);
    if (!t) herr_prefix(e, "model: ");
    return t;
}

/* ------------------------------------------------------------------ */

#define PREFIX "transformer."
#define PREFIX_LEN 12

/* A layer tensor's suffix (after "h.l."): its checkpoint shape and where it
 * goes.  Conv1D weights are [in][out] = [d0][d1]. */
enum { K_LN1_W, K_LN1_B, K_CATTN_W, K_CATTN_B, K_APROJ_W, K_APROJ_B, K_LN2_W, K_LN2_B,
       K_FC_W, K_FC_B, K_MPROJ_W, K_MPROJ_B, K_LAYER_N };
static const char *const layer_suffix[K_LAYER_N] = {
    "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
    "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
    "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"};

static void layer_shape(const model_config *c, int k, int *ndim, int64_t *d0, int64_t *d1)
{
    const int64_t D = c->n_embd, I = c->n_inner;
    static const int two[K_LAYER_N] = {[K_CATTN_W] = 1, [K_APROJ_W] = 1, [K_FC_W] = 1, [K_MPROJ_W] = 1};
    *ndim = two[k] ? 2 : 1;
    *d1 = 1;
    switch (k) {
    case K_CATTN_W: *d0 = D; *d1 = 3 * D; break;
    case K_CATTN_B: *d0 = 3 * D; break;
    case K_APROJ_W: *d0 = D; *d1 = D; break;
    case K_FC_W: *d0 = D; *d1 = I; break;
    case K_FC_B: *d0 = I; break;
    case K_MPROJ_W: *d0 = I; *d1 = D; break;
    default: *d0 = D; break;
    }
}

/* dst[cols][rows] = src[rows][cols]^T, src rows `stride` floats apart;
 * in tiles so both sides stay in cache. */
static void transpose(float *dst, const float *src, int64_t rows, int64_t cols, int64_t stride)
{
    enum { B = 32 };
    for (int64_t r0 = 0; r0 < rows; r0 += B)
        for (int64_t c0 = 0; c0 < cols; c0 += B) {
            const int64_t r1 = r0 + B < rows ? r0 + B : rows, c1 = c0 + B < cols ? c0 + B : cols;
            for (int64_t r = r0; r < r1; r++)
                for (int64_t k = c0; k < c1; k++) dst[k * rows + r] = src[r * stride + k];
        }
}

/* Is key (prefix removed) "h.<l>.<suffix>" with l a layer of c?  Sets *l and
 * returns the suffix, or NULL. */
static const char *layer_key(const model_config *c, const char *key, int *l)
{
    if (strncmp(key, "h.", 2)) return NULL;
    const char *p = key + 2;
    if (*p < '0' || *p > '9' || (*p == '0' && p[1] != '.')) return NULL;
    long v = 0;
    while (*p >= '0' && *p <= '9' && v < 100000) v = v * 10 + (*p++ - '0');
    if (*p != '.' || v >= c->n_layer) return NULL;
    *l = (int)v;
    return p + 1;
}

int gpt2_is_gpt2_name(const char *name)
{
    const char *key = strncmp(name, PREFIX, PREFIX_LEN) ? name : name + PREFIX_LEN;
    return !strncmp(key, "h.", 2) && (strstr(key, ".attn.c_attn.") || strstr(key, ".attn.c_proj."));
}


/* The tensor `key` (prefixed as the file is), shape-checked. */
static const float *want(tensor_set *ts, int prefixed, const char *key, int ndim, int64_t d0,
                         int64_t d1, herr *e)
{
    char full[160], got[96], exp[96];
    snprintf(full, sizeof full, "%s%s", prefixed ? PREFIX : "", key);
    const tensor *t = sd_get(ts, full, e);
    if (!t) return NULL;
    int64_t ws[2] = {d0, d1};
    if (t->ndim != ndim || t->shape[0] != d0 || (ndim == 2 && t->shape[1] != d1)) {
        herr_set(e, "model: tensor %s has shape [%s], config says [%s]", full,
                 tensors_shape_str(t->ndim, t->shape, got, sizeof got), tensors_shape_str(ndim, ws, exp, sizeof exp));
        return NULL;
    }
    return t->data;
}

/* Every name of the file is a GPT-2 one, with or without the prefix
 * throughout; sets *prefixed. */
static int check_names(const model_config *c, const tensor_set *ts, int *prefixed, herr *e)
{
    const char *with = NULL, *without = NULL;
    for (size_t i = 0; i < sd_count(ts); i++) {
        const char *n = sd_name(ts, i);
        if (!strcmp(n, "lm_head.weight")) continue;
        if (!strncmp(n, PREFIX, PREFIX_LEN)) {
            if (!with) with = n;
        } else if (!without) without = n;
    }
    if (with && without)
        return herr_set(e, "model: the weights mix names with and without \"transformer.\" (%s, %s)", with,
                        without);
    *prefixed = with != NULL || without == NULL;
    for (size_t i = 0; i < sd_count(ts); i++) {
        const char *n = sd_name(ts, i);
        if (!strcmp(n, "lm_head.weight")) continue;
        const char *key = *prefixed ? n + PREFIX_LEN : n;
        if (!strcmp(key, "wte.weight") || !strcmp(key, "wpe.weight") || !strcmp(key, "ln_f.weight") ||
            !strcmp(key, "ln_f.bias"))
            continue;
        int l;
        const char *suf = layer_key(c, key, &l);
        int known = suf && (!strcmp(suf, "attn.bias") || !strcmp(suf, "attn.masked_bias")); /* buffers */
        for (int k = 0; suf && !known && k < K_LAYER_N; k++) known = !strcmp(suf, layer_suffix[k]);
        if (known) continue;
        if (strstr(key, "attn.attention."))
            return herr_set(e, "model: tensor %s is a GPT-Neo name in a GPT-2 model (config.json says model_type gpt2)", n);
        return herr_set(e, "model: unexpected tensor %s (not a GPT2LMHeadModel tensor of this config)", n);
    }
    return 0;
}

int gpt2_bind(const model_config *c, tensor_set *ts, const model_weights *w,
              const float **lm_head, herr *e)
{
    const int64_t D = c->n_embd, V = c->vocab_size, P = c->n_positions;
    int prefixed = 1;
    *lm_head = NULL;
    if (c->arch != MODEL_ARCH_GPT2) return herr_set(e, "model: internal: gpt2_bind on a GPT-Neo config");
    if (check_names(c, ts, &prefixed, e)) return -1;
    const float *src;
    if (!(src = want(ts, prefixed, "wte.weight", 2, V, D, e))) return -1;
    memcpy(w->wte, src, (size_t)(V * D) * sizeof(float));
    if (!(src = want(ts, prefixed, "wpe.weight", 2, P, D, e))) return -1;
    memcpy(w->wpe, src, (size_t)(P * D) * sizeof(float));
    for (int l = 0; l < c->n_layer; l++) {
        const model_layer_weights *L = &w->layer[l];
        for (int k = 0; k < K_LAYER_N; k++) {
            char key[96];
            int ndim;
            int64_t d0, d1;
            snprintf(key, sizeof key, "h.%d.%s", l, layer_suffix[k]);
            layer_shape(c, k, &ndim, &d0, &d1);
            if (!(src = want(ts, prefixed, key, ndim, d0, d1, e))) return -1;
            const size_t n = (size_t)(d0 * d1) * sizeof(float);
            switch (k) {
            case K_LN1_W: memcpy(L->ln1_w, src, n); break;
            case K_LN1_B: memcpy(L->ln1_b, src, n); break;
            case K_CATTN_W: /* [D][3D]: columns q | k | v, each transposed to [out][in] */
                transpose(L->wq, src, D, D, 3 * D);
                transpose(L->wk, src + D, D, D, 3 * D);
                transpose(L->wv, src + 2 * D, D, D, 3 * D);
                break;
            case K_CATTN_B: memcpy(L->bqkv, src, n); break;
            case K_APROJ_W: transpose(L->wo, src, D, D, D); break;
            case K_APROJ_B: memcpy(L->bo, src, n); break;
            case K_LN2_W: memcpy(L->ln2_w, src, n); break;
            case K_LN2_B: memcpy(L->ln2_b, src, n); break;
            case K_FC_W: transpose(L->fc_w, src, d0, d1, d1); break;
            case K_FC_B: memcpy(L->fc_b, src, n); break;
            case K_MPROJ_W: transpose(L->proj_w, src, d0, d1, d1); break;
            case K_MPROJ_B: memcpy(L->proj_b, src, n); break;
            }
        }
    }
    if (!(src = want(ts, prefixed, "ln_f.weight", 1, D, 1, e))) return -1;
    memcpy(w->lnf_w, src, (size_t)D * sizeof(float));
    if (!(src = want(ts, prefixed, "ln_f.bias", 1, D, 1, e))) return -1;
    memcpy(w->lnf_b, src, (size_t)D * sizeof(float));
    if (c->untied_lm_head) {
        if (!tensors_has(ts, "lm_head.weight"))
            return herr_set(e, "model: tie_word_embeddings is false but there is no lm_head.weight");
        const tensor *t = sd_get(ts, "lm_head.weight", e);
        if (!t) return -1;
        if (t->ndim != 2 || t->shape[0] != V || t->shape[1] != D)
            return herr_set(e, "model: tensor lm_head.weight has the wrong shape (config says [%lldx%lld])",
                            (long long)V, (long long)D);
        *lm_head = t->data;
    }
    return 0;
}

/* Add tensor `name` (2-D [d0][d1] or 1-D [d0]) to ts. */
static int add(tensor_set *ts, const char *name, int ndim, int64_t d0, int64_t d1, const float *data, herr *e)
{
    int64_t shape[2] = {d0, d1};
    return tensors_add(ts, name, ndim, shape, data, e) ? 0 : -1;
}

int gpt2_state_dict(const model_config *c, const float *params, tensor_set *ts, herr *e)
{
    const int64_t D = c->n_embd, I = c->n_inner, V = c->vocab_size, P = c->n_positions;
    if (c->arch != MODEL_ARCH_GPT2) return herr_set(e, "internal: gpt2_state_dict on a GPT-Neo config");
    model_weights w;
    model_weights_map(&w, c, (float *)params); /* read only */
    const int64_t big = (3 * D > I ? 3 * D : I) * D;
    float *tmp = malloc((size_t)big * sizeof(float));
    if (!tmp) return herr_set(e, "out of memory");
    char nm[128];
    int rc = add(ts, PREFIX "wte.weight", 2, V, D, w.wte, e) || add(ts, PREFIX "wpe.weight", 2, P, D, w.wpe, e);
    for (int l = 0; !rc && l < c->n_layer; l++) {
        const model_layer_weights *L = &w.layer[l];
        for (int k = 0; !rc && k < K_LAYER_N; k++) {
            int ndim;
            int64_t d0, d1;
            layer_shape(c, k, &ndim, &d0, &d1);
            snprintf(nm, sizeof nm, PREFIX "h.%d.%s", l, layer_suffix[k]);
            const float *src = NULL;
            switch (k) {
            case K_LN1_W: src = L->ln1_w; break;
            case K_LN1_B: src = L->ln1_b; break;
            case K_CATTN_W: /* back to [in][out] with columns q | k | v */
                for (int b = 0; b < 3; b++) {
                    const float *m = b == 0 ? L->wq : b == 1 ? L->wk : L->wv; /* [D out][D in] */
                    for (int64_t i = 0; i < D; i++)
                        for (int64_t o = 0; o < D; o++) tmp[i * 3 * D + b * D + o] = m[o * D + i];
                }
                src = tmp;
                break;
            case K_CATTN_B: src = L->bqkv; break;
            case K_APROJ_W: transpose(tmp, L->wo, D, D, D); src = tmp; break;
            case K_APROJ_B: src = L->bo; break;
            case K_LN2_W: src = L->ln2_w; break;
            case K_LN2_B: src = L->ln2_b; break;
            case K_FC_W: transpose(tmp, L->fc_w, I, D, D); src = tmp; break; /* [I][D] -> [D][I] */
            case K_FC_B: src = L->fc_b; break;
            case K_MPROJ_W: transpose(tmp, L->proj_w, D, I, I); src = tmp; break; /* [D][I] -> [I][D] */
            case K_MPROJ_B: src = L->proj_b; break;
            }
            rc = add(ts, nm, ndim, d0, d1, src, e);
        }
    }
    if (!rc) rc = add(ts, PREFIX "ln_f.weight", 1, D, 1, w.lnf_w, e) || add(ts, PREFIX "ln_f.bias", 1, D, 1, w.lnf_b, e);
    free(tmp);
    return rc ? -1 : 0;
}
