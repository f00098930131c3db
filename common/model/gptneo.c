/* gptneo.c: GPT-Neo config, weights and forward pass (see gptneo.h). */
#include "model/gptneo.h"
#include "cli/cli.h"

#include <cblas.h>
#undef I /* complex.h (pulled in by cblas.h) defines I; we use it for n_inner */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int gerr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int gerr(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        for (char *p = err; *p; p++)
            if (*p == '\n' || *p == '\r') *p = ' ';
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* config.json                                                         */

/* Read integer field `key` into *out; absent -> def (or error if def < 0). */
static int get_int(json_t *root, const char *key, long lo, long hi, long def, int *out,
                   char *err, size_t errlen)
{
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) {
        if (def < 0) return gerr(err, errlen, "config: missing \"%s\"", key);
        *out = (int)def;
        return 0;
    }
    if (!json_is_integer(v))
        return gerr(err, errlen, "config: \"%s\" is not an integer", key);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return gerr(err, errlen, "config: \"%s\" = %lld is outside [%ld, %ld]", key,
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

int gptneo_config_parse(const char *json, gptneo_config *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    json_error_t je;
    json_t *root = json_loads(json, 0, &je);
    if (!root) return gerr(err, errlen, "config: invalid JSON (line %d: %s)", je.line, je.text);
    int rc = -1;
    if (!json_is_object(root)) {
        gerr(err, errlen, "config: not a JSON object");
        goto out;
    }
    json_t *mt = json_object_get(root, "model_type");
    if (mt && !(json_is_string(mt) && !strcmp(json_string_value(mt), "gpt_neo"))) {
        gerr(err, errlen, "config: unsupported model_type \"%s\" (only gpt_neo)",
             json_is_string(mt) ? json_string_value(mt) : "?");
        goto out;
    }
    if (get_int(root, "hidden_size", 1, 1 << 16, -1, &c->n_embd, err, errlen) ||
        get_int(root, "num_heads", 1, GPTNEO_MAX_HEADS, -1, &c->n_head, err, errlen) ||
        get_int(root, "num_layers", 1, GPTNEO_MAX_LAYERS, -1, &c->n_layer, err, errlen) ||
        get_int(root, "vocab_size", 1, 1 << 24, -1, &c->vocab_size, err, errlen) ||
        get_int(root, "max_position_embeddings", 1, 1 << 20, -1, &c->n_positions, err, errlen) ||
        get_int(root, "window_size", 1, 1 << 24, 256, &c->window_size, err, errlen) ||
        get_int(root, "intermediate_size", 1, 1 << 20, 4L * (c->n_embd ? c->n_embd : 1),
                &c->n_inner, err, errlen))
        goto out;
    if (c->n_embd % c->n_head) {
        gerr(err, errlen, "config: hidden_size %d is not divisible by num_heads %d",
             c->n_embd, c->n_head);
        goto out;
    }
    c->d_head = c->n_embd / c->n_head;
    /* intermediate_size: null -> 4 * hidden (get_int's default was computed
     * before hidden_size was known only if absent; recompute for null). */
    json_t *is = json_object_get(root, "intermediate_size");
    if (!is || json_is_null(is)) c->n_inner = 4 * c->n_embd;

    json_t *eps = json_object_get(root, "layer_norm_epsilon");
    if (!eps || json_is_null(eps)) c->ln_eps = 1e-5;
    else if (json_is_number(eps) && json_number_value(eps) > 0 && json_number_value(eps) < 1)
        c->ln_eps = json_number_value(eps);
    else {
        gerr(err, errlen, "config: bad layer_norm_epsilon");
        goto out;
    }

    json_t *act = json_object_get(root, "activation_function");
    if (act && !(json_is_string(act) && !strcmp(json_string_value(act), "gelu_new"))) {
        gerr(err, errlen, "config: unsupported activation_function \"%s\" (only gelu_new)",
             json_is_string(act) ? json_string_value(act) : "?");
        goto out;
    }

    /* attention_types [[["global","local"], n], ...] expands to the layer
     * list (as GPTNeoConfig does); attention_layers, when also present, must
     * agree with it. */
    int n = 0, kinds[GPTNEO_MAX_LAYERS];
    json_t *types = json_object_get(root, "attention_types");
    json_t *layers = json_object_get(root, "attention_layers");
    if (types && !json_is_null(types)) {
        if (!json_is_array(types)) {
            gerr(err, errlen, "config: attention_types is not a list");
            goto out;
        }
        size_t i;
        json_t *item;
        json_array_foreach(types, i, item) {
            json_t *kl = json_array_get(item, 0), *cnt = json_array_get(item, 1);
            if (!json_is_array(item) || json_array_size(item) != 2 || !json_is_array(kl) ||
                !json_is_integer(cnt) || json_integer_value(cnt) < 0 ||
                json_integer_value(cnt) > GPTNEO_MAX_LAYERS) {
                gerr(err, errlen, "config: attention_types entry %zu is not [[kinds...], count]", i);
                goto out;
            }
            for (json_int_t r = 0; r < json_integer_value(cnt); r++) {
                size_t j;
                json_t *k;
                json_array_foreach(kl, j, k) {
                    int kind = attn_kind(k);
                    if (kind < 0) {
                        gerr(err, errlen, "config: unsupported attention type in attention_types (only global, local)");
                        goto out;
                    }
                    if (n >= GPTNEO_MAX_LAYERS) {
                        gerr(err, errlen, "config: attention_types expands to too many layers");
                        goto out;
                    }
                    kinds[n++] = kind;
                }
            }
        }
        if (layers && !json_is_null(layers)) {
            if (!json_is_array(layers) || (int)json_array_size(layers) != n) {
                gerr(err, errlen, "config: attention_layers disagrees with attention_types");
                goto out;
            }
            for (int l = 0; l < n; l++)
                if (attn_kind(json_array_get(layers, (size_t)l)) != kinds[l]) {
                    gerr(err, errlen, "config: attention_layers disagrees with attention_types at layer %d", l);
                    goto out;
                }
        }
    } else if (layers && json_is_array(layers)) {
        size_t i;
        json_t *k;
        json_array_foreach(layers, i, k) {
            int kind = attn_kind(k);
            if (kind < 0) {
                gerr(err, errlen, "config: unsupported attention type in attention_layers (only global, local)");
                goto out;
            }
            if (n >= GPTNEO_MAX_LAYERS) {
                gerr(err, errlen, "config: too many attention_layers");
                goto out;
            }
            kinds[n++] = kind;
        }
    } else {
        gerr(err, errlen, "config: missing attention_types / attention_layers");
        goto out;
    }
    if (n != c->n_layer) {
        gerr(err, errlen, "config: %d attention layers for num_layers %d", n, c->n_layer);
        goto out;
    }
    for (int l = 0; l < n; l++) c->local[l] = kinds[l];

    json_t *name = json_object_get(root, "_name_or_path");
    if (json_is_string(name)) snprintf(c->name, sizeof c->name, "%s", json_string_value(name));
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Weights                                                             */

/* Find a tensor under "transformer." (GPTNeoForCausalLM) or bare
 * (GPTNeoModel) and check its shape.  Returns its data or NULL with err. */
static const float *want(tensor_set *ts, const char *name, int ndim, int64_t d0,
                         int64_t d1, char *err, size_t errlen)
{
    char full[256];
    snprintf(full, sizeof full, "transformer.%s", name);
    herr he;   /* read on request: missing, a dtype not read, non-finite, ... */
    const char *which = tensors_has(ts, full) || !tensors_has(ts, name) ? full : name;
    const tensor *t = tensors_get(ts, which, &he);
    if (!t) {
        gerr(err, errlen, "model: %s", he.msg);
        return NULL;
    }
    int64_t want_shape[2] = {d0, d1};
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == want_shape[i];
    if (!ok) {
        char got[96] = "", exp[64];
        size_t p = 0;
        for (int i = 0; i < t->ndim && p < sizeof got - 24; i++)
            p += (size_t)snprintf(got + p, sizeof got - p, "%s%lld", i ? "x" : "", (long long)t->shape[i]);
        if (ndim == 1) snprintf(exp, sizeof exp, "%lld", (long long)d0);
        else snprintf(exp, sizeof exp, "%lldx%lld", (long long)d0, (long long)d1);
        gerr(err, errlen, "model: tensor %s has shape [%s], config says [%s]", t->name,
             t->ndim ? got : "scalar", exp);
        return NULL;
    }
    return t->data;
}

int gptneo_from_tensors(gptneo_model *m, const gptneo_config *c, tensor_set *ts,
                        char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    m->ts = *ts;
    tensors_init(ts);
    const int D = c->n_embd, I = c->n_inner, V = c->vocab_size, P = c->n_positions;
    char nm[128];
#define W(dst, name, nd, a, b) do { if (!((dst) = want(&m->ts, name, nd, a, b, err, errlen))) goto fail; } while (0)
    W(m->wte, "wte.weight", 2, V, D);
    W(m->wpe, "wpe.weight", 2, P, D);
    for (int l = 0; l < c->n_layer; l++) {
        gptneo_layer *ly = &m->layers[l];
#define LW(field, suffix, nd, a, b) do { snprintf(nm, sizeof nm, "h.%d.%s", l, suffix); W(ly->field, nm, nd, a, b); } while (0)
        LW(ln1_w, "ln_1.weight", 1, D, 0);
        LW(ln1_b, "ln_1.bias", 1, D, 0);
        LW(wq, "attn.attention.q_proj.weight", 2, D, D);
        LW(wk, "attn.attention.k_proj.weight", 2, D, D);
        LW(wv, "attn.attention.v_proj.weight", 2, D, D);
        LW(wo, "attn.attention.out_proj.weight", 2, D, D);
        LW(bo, "attn.attention.out_proj.bias", 1, D, 0);
        LW(ln2_w, "ln_2.weight", 1, D, 0);
        LW(ln2_b, "ln_2.bias", 1, D, 0);
        LW(fc_w, "mlp.c_fc.weight", 2, I, D);
        LW(fc_b, "mlp.c_fc.bias", 1, I, 0);
        LW(proj_w, "mlp.c_proj.weight", 2, D, I);
        LW(proj_b, "mlp.c_proj.bias", 1, D, 0);
#undef LW
        /* q/k/v biases would be silently ignored: refuse them instead. */
        snprintf(nm, sizeof nm, "transformer.h.%d.attn.attention.q_proj.bias", l);
        if (tensors_has(&m->ts, nm) || tensors_has(&m->ts, nm + 12)) {
            gerr(err, errlen, "model: unexpected tensor %s (GPT-Neo's q/k/v have no bias)", nm);
            goto fail;
        }
        ly->wqkv = malloc((size_t)3 * D * D * sizeof(float));
        if (!ly->wqkv) {
            gerr(err, errlen, "model: out of memory");
            goto fail;
        }
        memcpy(ly->wqkv, ly->wq, (size_t)D * D * sizeof(float));
        memcpy(ly->wqkv + (size_t)D * D, ly->wk, (size_t)D * D * sizeof(float));
        memcpy(ly->wqkv + (size_t)2 * D * D, ly->wv, (size_t)D * D * sizeof(float));
    }
    W(m->lnf_w, "ln_f.weight", 1, D, 0);
    W(m->lnf_b, "ln_f.bias", 1, D, 0);
#undef W
    herr he;
    const tensor *lm = NULL;
    if (tensors_has(&m->ts, "lm_head.weight") && !(lm = tensors_get(&m->ts, "lm_head.weight", &he))) {
        gerr(err, errlen, "model: %s", he.msg);
        goto fail;
    }
    if (lm) {
        if (lm->ndim != 2 || lm->shape[0] != V || lm->shape[1] != D) {
            gerr(err, errlen, "model: tensor lm_head.weight has the wrong shape (config says [%dx%d])", V, D);
            goto fail;
        }
        m->lm_head = lm->data;
    } else {
        m->lm_head = m->wte;
        m->lm_head_tied = 1;
    }
    return 0;
fail:
    gptneo_free(m);
    return -1;
}

void gptneo_free(gptneo_model *m)
{
    for (int l = 0; l < GPTNEO_MAX_LAYERS; l++) free(m->layers[l].wqkv);
    tensors_free(&m->ts);
    memset(m, 0, sizeof *m);
}

int gptneo_is_tinystories_1m(const gptneo_model *m)
{
    return !strcmp(m->weights_sha256, GPTNEO_TINYSTORIES_1M_BIN_SHA256);
}

const char *gptneo_identity(const gptneo_model *m, char *out, size_t n)
{
    if (gptneo_is_tinystories_1m(m))
        snprintf(out, n, "TinyStories-1M (roneneldan/TinyStories-1M, weights sha256 verified)");
    else
        snprintf(out, n, "%s (not TinyStories-1M: weights sha256 %.12s...)",
                 m->cfg.name[0] ? m->cfg.name : "unnamed model", m->weights_sha256);
    return out;
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int gptneo_load(const char *dir, gptneo_model *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    char cpath[1100], wpath[1100];
    snprintf(cpath, sizeof cpath, "%s/config.json", dir);
    FILE *f = fopen(cpath, "rb");
    if (!f) return gerr(err, errlen, "%s: %s", cpath, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (1u << 24)) {
                fclose(f);
                free(text);
                return gerr(err, errlen, "%s: too large for a config", cpath);
            }
            char *nt = realloc(text, cap);
            if (!nt) {
                fclose(f);
                free(text);
                return gerr(err, errlen, "%s: out of memory", cpath);
            }
            text = nt;
        }
        size_t got = fread(text + len, 1, 4096, f);
        len += got;
        if (got < 4096) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        return gerr(err, errlen, "%s: read error", cpath);
    }
    text[len] = 0;
    gptneo_config cfg;
    char e2[400];
    int rc = gptneo_config_parse(text, &cfg, e2, sizeof e2);
    char csha[65];
    cli_sha256_buf(text, len, csha);
    free(text);
    if (rc) return gerr(err, errlen, "%s: %s", cpath, e2);

    snprintf(wpath, sizeof wpath, "%s/model.safetensors", dir);
    if (!is_file(wpath)) snprintf(wpath, sizeof wpath, "%s/pytorch_model.bin", dir);
    if (!is_file(wpath))
        return gerr(err, errlen, "%s: no model.safetensors or pytorch_model.bin", dir);
    tensor_set ts;
    tensors_init(&ts);
    herr he;
    if (tensors_open(wpath, &ts, &he)) return gerr(err, errlen, "%s", he.msg);
    char wsha[65];
    snprintf(wsha, sizeof wsha, "%s", ts.sha256);
    if (!wsha[0]) cli_sha256_file(wpath, wsha);
    if (gptneo_from_tensors(m, &cfg, &ts, e2, sizeof e2))
        return gerr(err, errlen, "%s: %s", wpath, e2);
    tensors_close_file(&m->ts);   /* every tensor needed is read */
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    snprintf(m->config_path, sizeof m->config_path, "%s", cpath);
    snprintf(m->weights_path, sizeof m->weights_path, "%s", wpath);
    memcpy(m->config_sha256, csha, 65);
    memcpy(m->weights_sha256, wsha, 65);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Forward                                                             */

void gptneo_acts_init(gptneo_acts *a)
{
    memset(a, 0, sizeof *a);
    a->attn_layer = -1;
    a->attn_head = -1;
}

void gptneo_acts_free(gptneo_acts *a)
{
    free(a->qkv);
    free(a->z);
    free(a->activity);
    free(a->attn);
    free(a->hidden);
    free(a->x);
    free(a->h);
    free(a->ff);
    free(a->kt);
    free(a->vt);
    free(a->p);
    gptneo_acts_init(a);
}

static int grow(float **p, size_t n)
{
    float *q = realloc(*p, (n ? n : 1) * sizeof(float));
    if (!q) return -1;
    *p = q;
    return 0;
}

/* Size every buffer for T tokens (grows only). */
static int acts_reserve(const gptneo_config *c, gptneo_acts *a, int T)
{
    const size_t L = (size_t)c->n_layer, D = (size_t)c->n_embd, H = (size_t)c->n_head,
                 I = (size_t)c->n_inner, t = (size_t)T;
    int same_model = a->L == c->n_layer && a->D == c->n_embd && a->H == c->n_head;
    if (!same_model) a->cap_T = a->cap_act = a->cap_attn = 0;
    if (T > a->cap_T) {
        if (grow(&a->qkv, L * t * 3 * D) || grow(&a->z, L * t * D) || grow(&a->hidden, t * D) ||
            grow(&a->x, t * D) || grow(&a->h, t * D) || grow(&a->ff, t * I) ||
            grow(&a->kt, H * t * (D / H)) || grow(&a->vt, H * t * (D / H)) || grow(&a->p, t))
            return -1;
        a->cap_T = T;
    }
    /* activity [L][T][H] and attention [T][T] only when asked for */
    if (a->want_activity && T > a->cap_act) {
        if (grow(&a->activity, L * t * H)) return -1;
        a->cap_act = T;
    }
    if (a->attn_layer >= 0 && T > a->cap_attn) {
        if (grow(&a->attn, t * t)) return -1;
        a->cap_attn = T;
    }
    a->L = c->n_layer;
    a->D = c->n_embd;
    a->H = c->n_head;
    a->T = T;
    return 0;
}

/* y[T][D] = LayerNorm(x[T][D]) * w + b (biased variance, eps inside sqrt). */
static void layernorm(float *y, const float *x, const float *w, const float *b, int T,
                      int D, double eps)
{
    for (int t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * D;
        float *yt = y + (size_t)t * D;
        double mean = 0, var = 0;
        for (int i = 0; i < D; i++) mean += xt[i];
        mean /= D;
        for (int i = 0; i < D; i++) var += (xt[i] - mean) * (xt[i] - mean);
        var /= D;
        float inv = (float)(1.0 / sqrt(var + eps)), mu = (float)mean;
        for (int i = 0; i < D; i++) yt[i] = (xt[i] - mu) * inv * w[i] + b[i];
    }
}

/* out[T][N] = in[T][K] W[N][K]^T (+ out when accumulate). */
static void matmul_wt(float *out, const float *in, const float *W, int T, int N, int K,
                      int accumulate)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, N, K, 1.0f, in, K, W, K,
                accumulate ? 1.0f : 0.0f, out, N);
}

/* ------------------------------------------------------------------ */
/* Vector kernels.  GCC/Clang vector extensions (8 floats), compiled for  */
/* AVX2 and for the baseline by target_clones and picked at load time.    */
/* -std=c17 keeps floating-point contraction off, so both clones give     */
/* bit-identical results.                                                  */

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef float v8f_u __attribute__((vector_size(32), aligned(4))); /* unaligned access */

#if defined(__x86_64__) && (defined(__clang__) ? __clang_major__ >= 14 : __GNUC__ >= 6) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(GPTNEO_NO_CLONES)
#define KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define KERNEL
#endif

/* Helpers are macros, not functions: no 256-bit vector ever crosses a call
 * (which would change the ABI of the baseline clone). */
#define v8_load(p) (*(const v8f_u *)(p))
#define v8_store(p, v) (*(v8f_u *)(p) = (v))
#define v8_splat(x) ((v8f){0, 0, 0, 0, 0, 0, 0, 0} + (float)(x))
/* lane-wise select: m ? a : b (m = result of a vector comparison) */
#define v8_select(m, a, b) ((v8f)(((m) & (v8i)(a)) | (~(m) & (v8i)(b))))
#define v8_max(a, b) v8_select((a) > (b), a, b)
#define v8_hmax(v) ({ v8f v_ = (v); float m_ = v_[0]; \
    for (int i_ = 1; i_ < 8; i_++) { m_ = v_[i_] > m_ ? v_[i_] : m_; } \
    m_; })
#define v8_hsum(v) ({ v8f v_ = (v); ((v_[0] + v_[4]) + (v_[1] + v_[5])) + ((v_[2] + v_[6]) + (v_[3] + v_[7])); })

/* exp(x) for x in [-87, 88] (clamped), relative error ~2 ulp: Cephes'
 * expf: x = n ln2 + r, |r| <= ln2/2, degree-6 polynomial, times 2^n. */
#define v8_exp(xin) ({ \
    v8f x_ = (xin); \
    x_ = v8_select(x_ > v8_splat(88.0f), v8_splat(88.0f), x_); \
    x_ = v8_select(x_ < v8_splat(-87.0f), v8_splat(-87.0f), x_); \
    const v8f magic_ = v8_splat(12582912.0f); /* 1.5 * 2^23: round to nearest */ \
    v8f n_ = (x_ * v8_splat(1.44269504088896341f) + magic_) - magic_; \
    v8f r_ = x_ - n_ * v8_splat(0.693359375f) - n_ * v8_splat(-2.12194440e-4f); \
    v8f p_ = v8_splat(1.9875691500e-4f); \
    p_ = p_ * r_ + v8_splat(1.3981999507e-3f); \
    p_ = p_ * r_ + v8_splat(8.3334519073e-3f); \
    p_ = p_ * r_ + v8_splat(4.1665795894e-2f); \
    p_ = p_ * r_ + v8_splat(1.6666665459e-1f); \
    p_ = p_ * r_ + v8_splat(5.0000001201e-1f); \
    p_ = p_ * (r_ * r_) + r_ + v8_splat(1.0f); \
    v8i e_ = (__builtin_convertvector(n_, v8i) + 127) << 23; \
    p_ * (v8f)e_; })

/* scalar twin of v8_exp (same arithmetic, for loop tails) */
static inline float s_exp(float x)
{
    x = x > 88.0f ? 88.0f : x < -87.0f ? -87.0f : x;
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &e, sizeof scale);
    return p * scale;
}

/* gelu_new in place: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3),
 * with 1 + tanh(u) = 2 - 2 / (1 + exp(2u)). */
KERNEL static void gelu_new_inplace(float *x, size_t n)
{
    const float c = 0.7978845608028654f; /* sqrt(2/pi) */
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8f v = v8_load(x + i);
        v8f u = v8_splat(2.0f * c) * (v + v8_splat(0.044715f) * v * v * v);
        v8f t = v8_splat(2.0f) - v8_splat(2.0f) / (v8_splat(1.0f) + v8_exp(u));
        v8_store(x + i, v8_splat(0.5f) * v * t);
    }
    for (; i < n; i++) {
        float v = x[i], u = 2.0f * c * (v + 0.044715f * v * v * v);
        x[i] = 0.5f * v * (2.0f - 2.0f / (1.0f + s_exp(u)));
    }
}

/* Causal (and local-window) self-attention of one layer.
 * qkv [T][3][D] in, z [T][D] out; optional probabilities of head attn_h into
 * attn [T][T].  Scratch kt, vt [H][dk][T], p [T]. */
KERNEL static void attention(const gptneo_config *c, int l, int T, const float *qkv, float *z,
                             float *kt, float *vt, float *p, int attn_h, float *attn)
{
    const int D = c->n_embd, H = c->n_head, dk = c->d_head;
    const int W = c->local[l] ? c->window_size : T;
    /* head-major transposed keys and values: kt[h][d][t] */
    for (int t = 0; t < T; t++) {
        const float *kr = qkv + (size_t)t * 3 * D + D, *vr = kr + D;
        for (int h = 0; h < H; h++)
            for (int d = 0; d < dk; d++) {
                kt[((size_t)h * dk + d) * T + t] = kr[h * dk + d];
                vt[((size_t)h * dk + d) * T + t] = vr[h * dk + d];
            }
    }
    for (int i = 0; i < T; i++) {
        const int lo = i - W + 1 > 0 ? i - W + 1 : 0, n = i - lo + 1; /* keys lo..i */
        const int n8 = n & ~7;
        const float *qi = qkv + (size_t)i * 3 * D;
        float *zi = z + (size_t)i * D;
        for (int h = 0; h < H; h++) {
            const float *kh = kt + (size_t)h * dk * T + lo, *vh = vt + (size_t)h * dk * T + lo;
            const float *q = qi + h * dk;
            /* scores p[j] = q . k_j  (no 1/sqrt(dk) scaling) and their max */
            v8f vmx = v8_splat(-INFINITY);
            for (int j = 0; j < n8; j += 8) {
                v8f s = v8_splat(q[0]) * v8_load(kh + j);
                for (int d = 1; d < dk; d++) s += v8_splat(q[d]) * v8_load(kh + (size_t)d * T + j);
                v8_store(p + j, s);
                vmx = v8_max(vmx, s);
            }
            float mx = v8_hmax(vmx);
            for (int j = n8; j < n; j++) {
                float s = q[0] * kh[j];
                for (int d = 1; d < dk; d++) s += q[d] * kh[(size_t)d * T + j];
                p[j] = s;
                mx = s > mx ? s : mx;
            }
            /* p = exp(s - max), softmax denominator */
            v8f vsum = v8_splat(0.0f), vm = v8_splat(mx);
            for (int j = 0; j < n8; j += 8) {
                v8f e = v8_exp(v8_load(p + j) - vm);
                v8_store(p + j, e);
                vsum += e;
            }
            float sum = v8_hsum(vsum);
            for (int j = n8; j < n; j++) {
                p[j] = s_exp(p[j] - mx);
                sum += p[j];
            }
            const float inv = 1.0f / sum;
            /* z_h = sum_j p_j v_j / sum */
            for (int d = 0; d < dk; d++) {
                const float *vd = vh + (size_t)d * T;
                v8f acc = v8_splat(0.0f);
                for (int j = 0; j < n8; j += 8) acc += v8_load(p + j) * v8_load(vd + j);
                float a = v8_hsum(acc);
                for (int j = n8; j < n; j++) a += p[j] * vd[j];
                zi[h * dk + d] = a * inv;
            }
            if (h == attn_h) {
                float *row = attn + (size_t)i * T;
                memset(row, 0, (size_t)T * sizeof(float));
                for (int j = 0; j < n; j++) row[lo + j] = p[j] * inv;
            }
        }
    }
}

int gptneo_forward(const gptneo_model *m, const uint32_t *ids, int T, gptneo_acts *a,
                   char *err, size_t errlen)
{
    const gptneo_config *c = &m->cfg;
    const int D = c->n_embd, H = c->n_head, dk = c->d_head, I = c->n_inner;
    if (T <= 0) return gerr(err, errlen, "empty token sequence");
    if (T > c->n_positions)
        return gerr(err, errlen, "%d tokens exceed the model's %d positions", T, c->n_positions);
    for (int t = 0; t < T; t++)
        if (ids[t] >= (uint32_t)c->vocab_size)
            return gerr(err, errlen, "token id %u at position %d is outside the vocabulary (%d)",
                        ids[t], t, c->vocab_size);
    if (a->attn_layer >= 0 && (a->attn_layer >= c->n_layer || a->attn_head < 0 || a->attn_head >= H))
        return gerr(err, errlen, "attention of L%dH%d requested; the model has %d layers, %d heads",
                    a->attn_layer, a->attn_head, c->n_layer, H);
    if (acts_reserve(c, a, T)) return gerr(err, errlen, "out of memory for %d tokens", T);

    float *x = a->x; /* [T][D] residual stream */
    for (int t = 0; t < T; t++) {
        const float *e = m->wte + (size_t)ids[t] * D, *pe = m->wpe + (size_t)t * D;
        for (int i = 0; i < D; i++) x[(size_t)t * D + i] = e[i] + pe[i];
    }
    for (int l = 0; l < c->n_layer; l++) {
        const gptneo_layer *ly = &m->layers[l];
        float *qkv = a->qkv + (size_t)l * T * 3 * D; /* [T][3D] */
        float *z = a->z + (size_t)l * T * D;         /* [T][D] */
        layernorm(a->h, x, ly->ln1_w, ly->ln1_b, T, D, c->ln_eps);
        matmul_wt(qkv, a->h, ly->wqkv, T, 3 * D, D, 0);
        attention(c, l, T, qkv, z, a->kt, a->vt, a->p, l == a->attn_layer ? a->attn_head : -1,
                  a->attn);
        matmul_wt(x, z, ly->wo, T, D, D, 1); /* x += z Wo^T */
        for (int t = 0; t < T; t++)
            for (int i = 0; i < D; i++) x[(size_t)t * D + i] += ly->bo[i];
        if (a->want_activity) {
            float *act = a->activity + (size_t)l * T * H; /* [T][H] */
            for (int t = 0; t < T; t++)
                for (int h = 0; h < H; h++) {
                    const float *zh = z + (size_t)t * D + h * dk, *wo = ly->wo + h * dk;
                    double ss = 0;
                    for (int o = 0; o < D; o++) {
                        float co = 0; /* c[o] = Wo[o, h*dk:(h+1)*dk] . z_h */
                        for (int j = 0; j < dk; j++) co += wo[(size_t)o * D + j] * zh[j];
                        ss += (double)co * co;
                    }
                    act[(size_t)t * H + h] = (float)sqrt(ss);
                }
        }
        /* MLP: x += c_proj(gelu_new(c_fc(LN2(x)))) */
        layernorm(a->h, x, ly->ln2_w, ly->ln2_b, T, D, c->ln_eps);
        float *ff = a->ff; /* [T][I] */
        for (int t = 0; t < T; t++) memcpy(ff + (size_t)t * I, ly->fc_b, (size_t)I * sizeof(float));
        matmul_wt(ff, a->h, ly->fc_w, T, I, D, 1);
        gelu_new_inplace(ff, (size_t)T * I);
        matmul_wt(x, ff, ly->proj_w, T, D, I, 1);
        for (int t = 0; t < T; t++)
            for (int i = 0; i < D; i++) x[(size_t)t * D + i] += ly->proj_b[i];
    }
    layernorm(a->hidden, x, m->lnf_w, m->lnf_b, T, D, c->ln_eps);
    return 0;
}

const float *gptneo_vec(const gptneo_acts *a, int dk, int l, int t, int h, char kind)
{
    const size_t D = (size_t)a->D, T = (size_t)a->T;
    switch (kind) {
    case 'q': return a->qkv + ((size_t)l * T + t) * 3 * D + (size_t)h * dk;
    case 'k': return a->qkv + ((size_t)l * T + t) * 3 * D + D + (size_t)h * dk;
    case 'v': return a->qkv + ((size_t)l * T + t) * 3 * D + 2 * D + (size_t)h * dk;
    case 'z': return a->z + ((size_t)l * T + t) * D + (size_t)h * dk;
    default: return NULL;
    }
}

void gptneo_logits(const gptneo_model *m, const gptneo_acts *a, int t0, int n, float *out)
{
    const int D = m->cfg.n_embd, V = m->cfg.vocab_size;
    matmul_wt(out, a->hidden + (size_t)t0 * D, m->lm_head, n, V, D, 0);
}

int gptneo_topk(const float *x, int n, int k, int *idx)
{
    if (k > n) k = n;
    if (k <= 0) return 0;
    int m = 0; /* idx[0..m) sorted descending */
    for (int i = 0; i < n; i++) {
        if (m == k && !(x[i] > x[idx[m - 1]])) continue;
        int pos = m < k ? m++ : k - 1;
        while (pos > 0 && x[i] > x[idx[pos - 1]]) {
            idx[pos] = idx[pos - 1];
            pos--;
        }
        idx[pos] = i;
    }
    return k;
}
