/* gptneo.c: the model (GPT-Neo or GPT-2): weights and forward pass (see
 * gptneo.h). */
#include "model/gptneo.h"
#include "base/sha256.h"
#include "model/gpt2.h"
#include "model/vecmath.h"

#include <cblas.h>
#undef I /* complex.h (pulled in by cblas.h) defines I; we use it for n_inner */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ */
/* Weights                                                             */

/* Read a tensor under "transformer." (GPTNeoForCausalLM) or bare
 * (GPTNeoModel), on request (io/tensors.h: only what is bound is ever read;
 * a dtype not read, a non-finite value or a missing tensor is refused with
 * its name). */
static const tensor *get(tensor_set *ts, const char *full, herr *e)
{
    const char *name = full;
    if (!tensors_has(ts, full) && !strncmp(full, "transformer.", 12) && tensors_has(ts, full + 12))
        name = full + 12;
    const tensor *t = tensors_get(ts, name, e);
    if (!t) herr_prefix(e, "model: ");
    return t;
}

/* Whether the set holds this name, with or without "transformer.". */
static int has(const tensor_set *ts, const char *full)
{
    return tensors_has(ts, full) || (!strncmp(full, "transformer.", 12) && tensors_has(ts, full + 12));
}


/* Derived buffers: stacked q/k/v, the LM head. */
static int derive(gptneo_model *m, herr *e)
{
    const size_t D = (size_t)m->cfg.n_embd;
    for (int l = 0; l < m->cfg.n_layer; l++) {
        const model_layer_weights *ly = &m->w.layer[l];
        if (ly->wk == ly->wq + D * D && ly->wv == ly->wk + D * D) {
            m->wqkv[l] = ly->wq; /* the layout already stacks them (weights.h) */
            continue;
        }
        float *st = malloc(3 * D * D * sizeof(float));
        if (!st) return herr_set(e, "model: out of memory");
        memcpy(st, ly->wq, D * D * sizeof(float));
        memcpy(st + D * D, ly->wk, D * D * sizeof(float));
        memcpy(st + 2 * D * D, ly->wv, D * D * sizeof(float));
        m->wqkv[l] = m->wqkv_own[l] = st;
    }
    if (!m->lm_head) {
        m->lm_head = m->w.wte;
        m->lm_head_tied = 1;
    }
    return 0;
}

/* What the set says about a tensor (with or without "transformer."),
 * without reading it: 1 with *out filled, 0 when the set has no such name. */
static int info_of(const tensor_set *ts, const char *full, tensor_info *out)
{
    for (int pass = 0; pass < 2; pass++) {
        const char *name = pass ? full + 12 : full;
        if (pass && strncmp(full, "transformer.", 12)) break;
        const tensor *t = tensors_find(ts, name);
        if (t) {
            *out = (tensor_info){.name = t->name, .ndim = t->ndim, .shape = t->shape, .numel = t->numel};
            return 1;
        }
        for (size_t i = 0; i < tensors_file_count(ts); i++)
            if (!tensors_file_info(ts, i, out) && !strcmp(out->name, name)) return 1;
    }
    return 0;
}

/* Before the parameters are allocated: a config.json whose sizes the
 * weights file does not hold (e.g. hidden_size 65536 next to a 1.6 MB file)
 * is refused for what it is, not as "out of memory" after asking for it.
 * GPT-Neo: every tensor the config names that the file holds must have the
 * config's shape (a missing one or one of a dtype not read is named by the
 * reading below).  Both layouts: the parameters cannot much outnumber the
 * floats the file holds (the slack leaves a few missing tensors to be named
 * by the reading too). */
static int check_sizes(const model_config *c, const tensor_set *ts, const model_tensor_info *ti, int nt,
                       herr *e)
{
    char got[96], want[96];
    tensor_info in;
    for (int i = 0; ti && i < nt; i++)
        if (info_of(ts, ti[i].name, &in) &&
            (in.ndim != ti[i].ndim || in.shape[0] != ti[i].shape[0] ||
             (ti[i].ndim == 2 && in.shape[1] != ti[i].shape[1])))
            return herr_set(e, "model: tensor %s has shape [%s], config says [%s]", ti[i].name,
                            tensors_shape_str(in.ndim, in.shape, got, sizeof got),
                            tensors_shape_str(ti[i].ndim, ti[i].shape, want, sizeof want));
    uint64_t held = 0;
    for (size_t i = 0; i < ts->n; i++) held += (uint64_t)ts->t[i].numel;
    for (size_t i = 0; i < tensors_file_count(ts); i++)
        if (!tensors_file_info(ts, i, &in)) held += (uint64_t)in.numel;
    const size_t need = model_param_count(c);
    if (need > 2 * held + (1u << 20))
        return herr_set(e, "model: config.json describes %zu parameters; the weights hold only %llu",
                        need, (unsigned long long)held);
    return 0;
}

/* An untied LM head ([vocab][n_embd]), copied out of the tensor set. */
static int own_lm_head(gptneo_model *m, const float *lm, herr *e)
{
    const size_t n = (size_t)m->cfg.vocab_size * (size_t)m->cfg.n_embd;
    if (!(m->lm_head_own = malloc(n * sizeof(float)))) return herr_set(e, "model: out of memory");
    memcpy(m->lm_head_own, lm, n * sizeof(float));
    m->lm_head = m->lm_head_own;
    return 0;
}

static int alloc_params(gptneo_model *m, const model_config *c, herr *e)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    size_t n = model_param_count(c);
    m->params = malloc(n * sizeof(float));
    if (!m->params) return herr_set(e, "model: out of memory for %zu parameters", n);
    model_weights_map(&m->w, c, m->params);
    return 0;
}

/* A GPT-2 state dict into the layout (model/gpt2.h does the names, shapes
 * and Conv1D transposes). */
static int from_gpt2_tensors(gptneo_model *m, const model_config *c, tensor_set *ts, herr *e)
{
    const float *lm = NULL;
    if (check_sizes(c, ts, NULL, 0, e)) {
        memset(m, 0, sizeof *m);
        goto fail;
    }
    if (alloc_params(m, c, e) || gpt2_bind(c, ts, &m->w, &lm, e)) goto fail;
    if (lm && own_lm_head(m, lm, e)) goto fail;
    tensors_free(ts);
    if (derive(m, e)) {
        gptneo_free(m);
        return -1;
    }
    return 0;
fail:
    tensors_free(ts);
    gptneo_free(m);
    return -1;
}

int gptneo_from_tensors(gptneo_model *m, const model_config *c, tensor_set *ts, herr *e)
{
    if (c->arch == MODEL_ARCH_GPT2) return from_gpt2_tensors(m, c, ts, e);
    /* GPT-2's names in a GPT-Neo model: say so before "missing tensor". */
    for (size_t i = 0; i < tensors_name_count(ts); i++)
        if (gpt2_is_gpt2_name(tensors_name(ts, i))) {
            herr_set(e, "model: tensor %s is a GPT-2 name in a GPT-Neo model (config.json says model_type gpt_neo)",
                     tensors_name(ts, i));
            tensors_free(ts);
            memset(m, 0, sizeof *m);
            return -1;
        }
    int nt = model_tensor_count(c);
    model_tensor_info *ti = malloc(sizeof *ti * (size_t)nt);
    if (ti) model_tensor_list(c, ti);
    if (!ti || check_sizes(c, ts, ti, nt, e) || alloc_params(m, c, e)) {
        if (!ti) herr_set(e, "model: out of memory");
        free(ti);
        tensors_free(ts);
        gptneo_free(m);
        return -1;
    }
    for (int i = 0; i < nt; i++) { /* shapes: checked by check_sizes above */
        const tensor *t = get(ts, ti[i].name, e);
        if (!t) goto fail;
        memcpy(m->params + ti[i].offset, t->data, ti[i].numel * sizeof(float));
    }
    /* q/k/v biases would be silently ignored: refuse them instead. */
    for (int l = 0; l < c->n_layer; l++) {
        char nm[128];
        snprintf(nm, sizeof nm, "transformer.h.%d.attn.attention.q_proj.bias", l);
        if (has(ts, nm)) {
            herr_set(e, "model: unexpected tensor %s (GPT-Neo's q/k/v have no bias)", nm);
            goto fail;
        }
    }
    const tensor *lm = NULL;
    if (tensors_has(ts, "lm_head.weight") && !(lm = get(ts, "lm_head.weight", e))) goto fail;
    if (lm) {
        const int64_t V = c->vocab_size, D = c->n_embd;
        if (lm->ndim != 2 || lm->shape[0] != V || lm->shape[1] != D) {
            herr_set(e, "model: tensor lm_head.weight has the wrong shape (config says [%lldx%lld])",
                     (long long)V, (long long)D);
            goto fail;
        }
        if (own_lm_head(m, lm->data, e)) goto fail;
    }
    free(ti);
    tensors_free(ts);
    if (derive(m, e)) {
        gptneo_free(m);
        return -1;
    }
    return 0;
fail:
    free(ti);
    tensors_free(ts);
    gptneo_free(m);
    return -1;
}

int gptneo_from_params(gptneo_model *m, const model_config *c, const float *params, herr *e)
{
    if (alloc_params(m, c, e)) {
        gptneo_free(m);
        return -1;
    }
    memcpy(m->params, params, model_param_count(c) * sizeof(float));
    if (derive(m, e)) {
        gptneo_free(m);
        return -1;
    }
    return 0;
}

void gptneo_free(gptneo_model *m)
{
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) free(m->wqkv_own[l]);
    free(m->params);
    free(m->lm_head_own);
    memset(m, 0, sizeof *m);
}

int gptneo_is_tinystories_1m(const gptneo_model *m)
{
    return !strcmp(m->weights_sha256, GPTNEO_TINYSTORIES_1M_BIN_SHA256);
}

const char *gptneo_identity(const gptneo_model *m, char *out, size_t n)
{
    const char *name = m->cfg.name[0] ? m->cfg.name : "unnamed model";
    if (m->cfg.arch == MODEL_ARCH_GPT2) {
        /* No GPT-2 release is pinned (its sha256 is unknown here): never
         * call any GPT-2 model verified, and say what a test model is. */
        const char *what = !m->cfg.random_test ? "a GPT-2-architecture model, weights not verified against any release"
                           : model_config_is_gpt2_small_shape(&m->cfg) ? "a random GPT-2-small-shaped test model, not GPT-2"
                                                                         : "a random GPT-2-architecture test model, not GPT-2";
        snprintf(out, n, "%s (%s; not TinyStories-1M: weights sha256 %.12s...)", name, what, m->weights_sha256);
        return out;
    }
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

int gptneo_load(const char *dir, gptneo_model *m, herr *e)
{
    memset(m, 0, sizeof *m);
    char cpath[1100], wpath[1100];
    snprintf(cpath, sizeof cpath, "%s/config.json", dir);
    FILE *f = fopen(cpath, "rb");
    if (!f) return herr_set(e, "%s: %s", cpath, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (1u << 24)) {
                fclose(f);
                free(text);
                return herr_set(e, "%s: too large for a config", cpath);
            }
            char *nt = realloc(text, cap);
            if (!nt) {
                fclose(f);
                free(text);
                return herr_set(e, "%s: out of memory", cpath);
            }
            text = nt;
        }
        size_t got = fread(text + len, 1, 4096, f);
        len += got;
        if (got < 4096) break;
    }
    const int bad = ferror(f), err = errno;
    fclose(f);
    if (bad) {
        free(text);
        return herr_set(e, "%s: read error: %s", cpath, strerror(err));
    }
    text[len] = 0;
    model_config cfg;
    int rc = model_config_parse(text, &cfg, e);
    char csha[65];
    sha256_hex_buf(text, len, csha);
    free(text);
    if (rc) return herr_prefix(e, "%s: ", cpath);

    snprintf(wpath, sizeof wpath, "%s/model.safetensors", dir);
    if (!is_file(wpath)) snprintf(wpath, sizeof wpath, "%s/pytorch_model.bin", dir);
    if (!is_file(wpath))
        return herr_set(e, "%s: no model.safetensors or pytorch_model.bin", dir);
    tensor_set ts;
    tensors_init(&ts);
    if (tensors_open(wpath, &ts, e)) return -1;
    char wsha[65];
    snprintf(wsha, sizeof wsha, "%s", ts.sha256);
    if (gptneo_from_tensors(m, &cfg, &ts, e)) return herr_prefix(e, "%s: ", wpath);
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
    free(a->resid);
    free(a->x);
    free(a->h);
    free(a->ff);
    free(a->kt);
    free(a->vt);
    free(a->p);
    free(a->sq);
    gptneo_acts_init(a);
}

static int grow(float **p, size_t n)
{
    float *q = realloc(*p, (n ? n : 1) * sizeof(float));
    if (!q) return -1;
    *p = q;
    return 0;
}

/* Size every buffer for T rows (tokens of all stories run together) of
 * which one story has at most maxT (grows only). */
static int acts_reserve(const model_config *c, gptneo_acts *a, int T, int maxT)
{
    const size_t L = (size_t)c->n_layer, D = (size_t)c->n_embd, H = (size_t)c->n_head,
                 I = (size_t)c->n_inner, t = (size_t)T, s = (size_t)maxT;
    int same_model = a->L == c->n_layer && a->D == c->n_embd && a->H == c->n_head;
    if (!same_model) a->cap_T = a->cap_seq = a->cap_act = a->cap_attn = a->cap_resid = 0;
    if (T > a->cap_T) {
        if (grow(&a->qkv, L * t * 3 * D) || grow(&a->z, L * t * D) || grow(&a->hidden, t * D) ||
            grow(&a->x, t * D) || grow(&a->h, t * D) || grow(&a->ff, t * I))
            return -1;
        a->cap_T = T;
    }
    if (maxT > a->cap_seq) { /* one story's attention scratch */
        if (grow(&a->kt, H * s * (D / H)) || grow(&a->vt, H * s * (D / H)) || grow(&a->p, s) ||
            (c->d_head >= GPTNEO_GEMM_DK && grow(&a->sq, s * s)))
            return -1;
        a->cap_seq = maxT;
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
    if (a->want_resid && T > a->cap_resid) {
        if (grow(&a->resid, (2 * L + 1) * t * D)) return -1;
        a->cap_resid = T;
    }
    a->L = c->n_layer;
    a->D = c->n_embd;
    a->H = c->n_head;
    a->T = T;
    return 0;
}

/* y[T][D] = LayerNorm(x[T][D]) * w + b (vm_ln_stats: biased variance, eps inside sqrt). */
static void layernorm(float *y, const float *x, const float *w, const float *b, int T,
                      int D, double eps)
{
    for (int t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * D;
        float *yt = y + (size_t)t * D;
        float mu, inv;
        vm_ln_stats(xt, D, eps, &mu, &inv);
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

/* gelu_new in place (model/vecmath.h). */
VM_KERNEL static void gelu_new_inplace(float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) vm_store(x + i, vm_gelu_new(vm_load(x + i)));
    for (; i < n; i++) x[i] = vm_gelu_new1(x[i]);
}

/* Causal (and local-window) self-attention of one layer.
 * qkv [T][3][D] in, z [T][D] out; optional probabilities of head attn_h into
 * attn [T][T].  Scratch kt, vt [H][dk][T], p [T]. */
VM_KERNEL static void attention(const model_config *c, int l, int T, const float *qkv, float *z,
                             float *kt, float *vt, float *p, int attn_h, float *attn,
                             const gptneo_acts *a)
{
    const int D = c->n_embd, H = c->n_head, dk = c->d_head;
    const int W = c->local[l] ? c->window_size : T;
    /* GPT-2 divides q . k by sqrt(dk) (and l + 1); GPT-Neo does not scale:
     * its scores are left untouched (no multiplication at all). */
    const double div = model_attn_divisor(c, l);
    const int scaled = div != 1.0;
    const vm_f8 vsc = vm_splat((float)(1.0 / div));
    const float sc = (float)(1.0 / div);
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
            /* scores p[j] = q . k_j (/ the layer's divisor when scaled) and their max */
            vm_f8 vmx = vm_splat(-INFINITY);
            for (int j = 0; j < n8; j += 8) {
                vm_f8 s = vm_splat(q[0]) * vm_load(kh + j);
                for (int d = 1; d < dk; d++) s += vm_splat(q[d]) * vm_load(kh + (size_t)d * T + j);
                if (scaled) s *= vsc;
                vm_store(p + j, s);
                vmx = vm_max(vmx, s);
            }
            float mx = vm_hmax(vmx);
            for (int j = n8; j < n; j++) {
                float s = q[0] * kh[j];
                for (int d = 1; d < dk; d++) s += q[d] * kh[(size_t)d * T + j];
                if (scaled) s *= sc;
                p[j] = s;
                mx = s > mx ? s : mx;
            }
            const float inv = 1.0f / vm_exp_shifted_sum(p, n, mx); /* p = exp(s - max) */
            /* z_h = sum_j p_j v_j / sum */
            for (int d = 0; d < dk; d++) {
                const float *vd = vh + (size_t)d * T;
                vm_f8 acc = vm_splat(0.0f);
                for (int j = 0; j < n8; j += 8) acc += vm_load(p + j) * vm_load(vd + j);
                float a = vm_hsum(acc);
                for (int j = n8; j < n; j++) a += p[j] * vd[j];
                zi[h * dk + d] = a * inv;
            }
            if (a->attn_row) a->attn_row(a->attn_ctx, l, h, i, lo, n, p, inv);
            if (h == attn_h) {
                float *row = attn + (size_t)i * T;
                memset(row, 0, (size_t)T * sizeof(float));
                for (int j = 0; j < n; j++) row[lo + j] = p[j] * inv;
            }
        }
    }
}

/* The same attention for wide heads (d_head >= GPTNEO_GEMM_DK): per head,
 * S = q_h k_h^T / divisor over the whole square by one sgemm (q, k, v read
 * in place from qkv, row stride 3D), each row's softmax over its visible
 * keys lo..i written back normalised with zeros elsewhere, then
 * z_h = S v_h by a second sgemm.  Scratch S [T][T]. */
VM_KERNEL static void attention_gemm(const model_config *c, int l, int T, const float *qkv, float *z,
                                     float *S, int attn_h, float *attn, const gptneo_acts *a)
{
    const int D = c->n_embd, H = c->n_head, dk = c->d_head;
    const int W = c->local[l] ? c->window_size : T;
    const float sc = (float)(1.0 / model_attn_divisor(c, l));
    for (int h = 0; h < H; h++) {
        const float *q = qkv + (size_t)h * dk, *k = q + D, *v = q + 2 * D;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, dk, sc, q, 3 * D, k, 3 * D, 0.0f, S, T);
        for (int i = 0; i < T; i++) {
            const int lo = i - W + 1 > 0 ? i - W + 1 : 0, n = i - lo + 1; /* keys lo..i */
            const int n8 = n & ~7;
            float *row = S + (size_t)i * T, *p = row + lo;
            vm_f8 vmx = vm_splat(-INFINITY);
            for (int j = 0; j < n8; j += 8) vmx = vm_max(vmx, vm_load(p + j));
            float mx = vm_hmax(vmx);
            for (int j = n8; j < n; j++) mx = p[j] > mx ? p[j] : mx;
            const float inv = 1.0f / vm_exp_shifted_sum(p, n, mx);
            const vm_f8 vinv = vm_splat(inv);
            for (int j = 0; j < n8; j += 8) vm_store(p + j, vm_load(p + j) * vinv);
            for (int j = n8; j < n; j++) p[j] *= inv;
            memset(row, 0, (size_t)lo * sizeof(float));                   /* masked: outside */
            memset(row + i + 1, 0, (size_t)(T - i - 1) * sizeof(float)); /* the window / future */
            if (a->attn_row) a->attn_row(a->attn_ctx, l, h, i, lo, n, p, 1.0f);
        }
        if (h == attn_h) memcpy(attn, S, (size_t)T * T * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, dk, T, 1.0f, S, T, v, 3 * D, 0.0f,
                    z + (size_t)h * dk, D);
    }
}

/* x[T][D] += the attention block of layer l (LN1, q k v, attention, out_proj
 * + bias); fills the layer's qkv, z and (when asked) activity.  The T rows
 * are n stories of lens[0..n) tokens back to back, each attending to itself
 * (the per-story attention requests need n == 1). */
static void attn_block(const gptneo_model *m, int l, int T, const int *lens, int n, float *x,
                       gptneo_acts *a)
{
    const model_config *c = &m->cfg;
    const int D = c->n_embd, H = c->n_head, dk = c->d_head;
    const model_layer_weights *ly = &m->w.layer[l];
    float *qkv = a->qkv + (size_t)l * T * 3 * D; /* [T][3D] */
    float *z = a->z + (size_t)l * T * D;         /* [T][D] */
    layernorm(a->h, x, ly->ln1_w, ly->ln1_b, T, D, c->ln_eps);
    matmul_wt(qkv, a->h, m->wqkv[l], T, 3 * D, D, 0);
    if (ly->bqkv) /* GPT-2's c_attn bias (GPT-Neo's q, k, v have none) */
        for (int t = 0; t < T; t++)
            for (int i = 0; i < 3 * D; i++) qkv[(size_t)t * 3 * D + i] += ly->bqkv[i];
    for (int s = 0, off = 0; s < n; off += lens[s++]) {
        const int Ts = lens[s], ah = l == a->attn_layer ? a->attn_head : -1;
        float *qs = qkv + (size_t)off * 3 * D, *zs = z + (size_t)off * D;
        if (c->d_head >= GPTNEO_GEMM_DK)
            attention_gemm(c, l, Ts, qs, zs, a->sq, ah, a->attn, a);
        else
            attention(c, l, Ts, qs, zs, a->kt, a->vt, a->p, ah, a->attn, a);
    }
    if (a->z_mask) /* ablated heads: their z replaced before the projection */
        for (int h = 0; h < H; h++)
            if (a->z_mask[l * H + h])
                for (int t = 0; t < T; t++)
                    memcpy(z + (size_t)t * D + h * dk, a->z_value + (size_t)l * D + h * dk,
                           (size_t)dk * sizeof(float));
    matmul_wt(x, z, ly->wo, T, D, D, 1); /* x += z Wo^T */
    for (int t = 0; t < T; t++)
        for (int i = 0; i < D; i++) x[(size_t)t * D + i] += ly->bo[i];
    if (a->want_activity && dk >= GPTNEO_GEMM_DK) {
        /* wide heads: c_h[T][D] = z_h Wo[:, h*dk:(h+1)*dk]^T by one sgemm per
         * head (a->h is free scratch until the MLP block) */
        float *act = a->activity + (size_t)l * T * H, *ch = a->h; /* [T][H], [T][D] */
        for (int h = 0; h < H; h++) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, D, dk, 1.0f, z + (size_t)h * dk, D,
                        ly->wo + (size_t)h * dk, D, 0.0f, ch, D);
            for (int t = 0; t < T; t++) {
                const float *ct = ch + (size_t)t * D;
                double ss = 0;
                for (int o = 0; o < D; o++) ss += (double)ct[o] * ct[o];
                act[(size_t)t * H + h] = (float)sqrt(ss);
            }
        }
    } else if (a->want_activity) {
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
}

/* x[T][D] += c_proj(gelu_new(c_fc(LN2(x)))) of layer l. */
static void mlp_block(const gptneo_model *m, int l, int T, float *x, gptneo_acts *a)
{
    const model_config *c = &m->cfg;
    const int D = c->n_embd, I = c->n_inner;
    const model_layer_weights *ly = &m->w.layer[l];
    layernorm(a->h, x, ly->ln2_w, ly->ln2_b, T, D, c->ln_eps);
    float *ff = a->ff; /* [T][I] */
    for (int t = 0; t < T; t++) memcpy(ff + (size_t)t * I, ly->fc_b, (size_t)I * sizeof(float));
    matmul_wt(ff, a->h, ly->fc_w, T, I, D, 1);
    gelu_new_inplace(ff, (size_t)T * I);
    matmul_wt(x, ff, ly->proj_w, T, D, I, 1);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < D; i++) x[(size_t)t * D + i] += ly->proj_b[i];
}

/* Keep a copy of the residual stream at slot k (see gptneo_acts.resid). */
static void save_resid(gptneo_acts *a, int k, const float *x, int T)
{
    if (a->want_resid) memcpy(a->resid + (size_t)k * T * a->D, x, (size_t)T * a->D * sizeof(float));
}

/* Checks common to both entry points; sizes the buffers. */
static int forward_check(const gptneo_model *m, const uint32_t *ids, int T, gptneo_acts *a, herr *e)
{
    const model_config *c = &m->cfg;
    if (T <= 0) return herr_set(e, "empty token sequence");
    if (T > model_max_tokens(c))
        return herr_set(e, "%d tokens exceed the model's %d positions", T, model_max_tokens(c));
    for (int t = 0; t < T; t++)
        if (ids[t] >= (uint32_t)c->vocab_size)
            return herr_set(e, "token id %u at position %d is outside the vocabulary (%d)",
                            ids[t], t, c->vocab_size);
    if (a->attn_layer >= 0 && (a->attn_layer >= c->n_layer || a->attn_head < 0 || a->attn_head >= c->n_head))
        return herr_set(e, "attention of L%dH%d requested; the model has %d layers, %d heads",
                        a->attn_layer, a->attn_head, c->n_layer, c->n_head);
    if (acts_reserve(c, a, T, T)) return herr_set(e, "out of memory for %d tokens", T);
    return 0;
}

/* Layers from..L-1 on the residual stream in a->x, then ln_f into a->hidden. */
static void run_layers(const gptneo_model *m, int from, int T, const int *lens, int n, gptneo_acts *a)
{
    const int D = m->cfg.n_embd, L = m->cfg.n_layer;
    for (int l = from; l < L; l++) {
        save_resid(a, 2 * l, a->x, T);
        attn_block(m, l, T, lens, n, a->x, a);
        save_resid(a, 2 * l + 1, a->x, T);
        mlp_block(m, l, T, a->x, a);
    }
    save_resid(a, 2 * L, a->x, T);
    layernorm(a->hidden, a->x, m->w.lnf_w, m->w.lnf_b, T, D, m->cfg.ln_eps);
}

/* The forward of n stories (lens[s] tokens each, T in all) packed as rows. */
static void forward_rows(const gptneo_model *m, const uint32_t *ids, const int *lens, int n, int T,
                         gptneo_acts *a)
{
    const int D = m->cfg.n_embd;
    float *x = a->x; /* [T][D] residual stream */
    for (int s = 0, r = 0; s < n; s++)
        for (int t = 0; t < lens[s]; t++, r++) { /* positions restart with each story */
            const float *te = m->w.wte + (size_t)ids[r] * D, *pe = m->w.wpe + (size_t)t * D;
            for (int i = 0; i < D; i++) x[(size_t)r * D + i] = te[i] + pe[i];
        }
    run_layers(m, 0, T, lens, n, a);
}

int gptneo_forward(const gptneo_model *m, const uint32_t *ids, int T, gptneo_acts *a,
                   herr *e)
{
    if (forward_check(m, ids, T, a, e)) return -1;
    forward_rows(m, ids, &T, 1, T, a);
    return 0;
}

int gptneo_forward_stories(const gptneo_model *m, const uint32_t *ids, const int *lens, int n,
                           gptneo_acts *a, herr *e)
{
    const model_config *c = &m->cfg;
    if (n < 1) return herr_set(e, "no stories");
    if (n > 1 && (a->attn_layer >= 0 || a->attn_row))
        return herr_set(e, "attention rows and matrices are per story: run stories one at a time for them");
    long T = 0;
    int maxT = 0;
    for (int s = 0; s < n; s++) {
        if (lens[s] <= 0) return herr_set(e, "story %d of the batch: empty token sequence", s);
        if (lens[s] > model_max_tokens(c))
            return herr_set(e, "story %d of the batch: %d tokens exceed the model's %d positions", s, lens[s],
                            model_max_tokens(c));
        T += lens[s];
        maxT = lens[s] > maxT ? lens[s] : maxT;
        if (T > (1L << 24)) return herr_set(e, "a batch of more than %ld tokens", 1L << 24);
    }
    if (n == 1) return gptneo_forward(m, ids, lens[0], a, e);
    for (long r = 0; r < T; r++)
        if (ids[r] >= (uint32_t)c->vocab_size)
            return herr_set(e, "token id %u at row %ld is outside the vocabulary (%d)", ids[r], r, c->vocab_size);
    if (acts_reserve(c, a, (int)T, maxT)) return herr_set(e, "out of memory for %ld tokens", T);
    forward_rows(m, ids, lens, n, (int)T, a);
    return 0;
}

int gptneo_forward_from(const gptneo_model *m, const uint32_t *ids, int T, int layer,
                        const float *x_pre, gptneo_acts *a, herr *e)
{
    const model_config *c = &m->cfg;
    const int D = c->n_embd, L = c->n_layer;
    if (layer < 0 || layer >= L) return herr_set(e, "layer %d outside the model's %d", layer, L);
    if (forward_check(m, ids, T, a, e)) return -1;
    memcpy(a->x, x_pre, (size_t)T * D * sizeof(float));
    run_layers(m, layer, T, &T, 1, a);
    return 0;
}

/* Online logsumexp of one row's block of logits x[0..n): *mx and *sum hold
 * the running max and sum of exp(x - max) (Milakov & Gimelshein 2018,
 * "Online normalizer calculation for softmax"). */
VM_KERNEL static void lse_update(const float *x, int n, float *mx, double *sum)
{
    int j = 0;
    vm_f8 vmx = vm_splat(-INFINITY);
    for (; j + 8 <= n; j += 8) vmx = vm_max(vmx, vm_load(x + j));
    float bm = vm_hmax(vmx);
    for (; j < n; j++) bm = x[j] > bm ? x[j] : bm;
    if (bm > *mx) {
        *sum *= exp((double)*mx - bm);
        *mx = bm;
    }
    vm_f8 acc = vm_splat(0.0f), m8 = vm_splat(*mx);
    for (j = 0; j + 8 <= n; j += 8) acc += vm_exp(vm_load(x + j) - m8);
    double s = vm_hsum(acc);
    for (; j < n; j++) s += vm_exp1(x[j] - *mx);
    *sum += s;
}

int gptneo_token_losses(const gptneo_model *m, const gptneo_acts *a, const uint32_t *ids,
                        double *loss, herr *e)
{
    /* Rows in chunks of R, the vocabulary in blocks of VB: each block's
     * logits [R][VB] stay in cache while their logsumexp is taken, and the
     * LM head's rows are read once per chunk. */
    enum { R = 256, VB = 2048 };
    const int V = m->cfg.vocab_size, D = m->cfg.n_embd, T = a->T;
    float *lg = malloc((size_t)R * VB * sizeof(float)); /* [R][VB] */
    float *mx = malloc((size_t)R * sizeof(float)), *tl = malloc((size_t)R * sizeof(float));
    double *sum = malloc((size_t)R * sizeof(double));
    if (!lg || !mx || !tl || !sum) {
        free(lg); free(mx); free(tl); free(sum);
        return herr_set(e, "out of memory for the LM head");
    }
    for (int t0 = 0; t0 < T - 1; t0 += R) {
        const int n = T - 1 - t0 < R ? T - 1 - t0 : R;
        for (int r = 0; r < n; r++) {
            mx[r] = -INFINITY;
            sum[r] = 0;
        }
        for (int v0 = 0; v0 < V; v0 += VB) {
            const int nb = V - v0 < VB ? V - v0 : VB;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, nb, D, 1.0f,
                        a->hidden + (size_t)t0 * D, D, m->lm_head + (size_t)v0 * D, D, 0.0f, lg, nb);
            for (int r = 0; r < n; r++) {
                const float *row = lg + (size_t)r * nb;
                lse_update(row, nb, &mx[r], &sum[r]);
                const uint32_t target = ids[t0 + r + 1];
                if (target >= (uint32_t)v0 && target < (uint32_t)(v0 + nb)) tl[r] = row[target - v0];
            }
        }
        for (int r = 0; r < n; r++) loss[t0 + r] = mx[r] + log(sum[r]) - tl[r];
    }
    free(lg); free(mx); free(tl); free(sum);
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
