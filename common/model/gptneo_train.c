/* gptneo_train.c: GPT-Neo forward + backward for training (see
 * gptneo_train.h for the semantics and the packed-row convention). */
#include "model/gptneo_train.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rng.h"
#include "model/vecmath.h"

int gnt_config_check(const model_config *c, herr *e)
{
    if (model_config_check(c, e)) return -1;
    if (c->arch != MODEL_ARCH_GPT_NEO) return herr_set(e, "the trainer implements GPT-Neo only");
    if (c->d_head > GNT_MAX_DHEAD) return herr_set(e, "head size %d above %d", c->d_head, GNT_MAX_DHEAD);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Vector helpers: the shared kit (model/vecmath.h) plus the trainer's own  */
/* loops, inlined into the hot functions below, which are compiled twice   */
/* (AVX2 and baseline x86-64) and picked at load time (VM_KERNEL).          */

typedef vm_f8 v8f;
#define VINLINE VM_INLINE
#define vload vm_load
#define vstore vm_store
#define vsel vm_select
#define GNT_HOT VM_KERNEL

/* out[j] = exp(in[j] - m) for j < n; @return the sum (double). */
VINLINE double exp_shift(float *out, const float *in, float m, int n)
{
    int j = 0;
    v8f acc = { 0 };
    for (; j + 8 <= n; j += 8) {
        v8f e = vm_exp(vload(in + j) - m);
        vstore(out + j, e);
        acc += e;
    }
    double sum = 0;
    for (int k = 0; k < 8; k++) sum += acc[k];
    for (; j < n; j++) { out[j] = vm_exp1(in[j] - m); sum += out[j]; }
    return sum;
}

VINLINE float max_of(const float *x, int n)
{
    int j = 0;
    float m = x[0];
    if (n >= 8) {
        v8f mv = vload(x);
        for (j = 8; j + 8 <= n; j += 8) { v8f a = vload(x + j); mv = vsel(a > mv, a, mv); }
        for (int k = 0; k < 8; k++) m = mv[k] > m ? mv[k] : m;
    }
    for (; j < n; j++) m = x[j] > m ? x[j] : m;
    return m;
}

/* y[j] += a * x[j] */
VINLINE void vaxpy(float *y, float a, const float *x, int n)
{
    int j = 0;
    for (; j + 8 <= n; j += 8) vstore(y + j, vload(y + j) + a * vload(x + j));
    for (; j < n; j++) y[j] += a * x[j];
}

/* @return sum a[j] b[j] */
VINLINE float vdot(const float *a, const float *b, int n)
{
    int j = 0;
    v8f acc = { 0 };
    for (; j + 8 <= n; j += 8) acc += vload(a + j) * vload(b + j);
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; j < n; j++) s += a[j] * b[j];
    return s;
}

/* x[j] *= a */
VINLINE void vscale(float *x, float a, int n)
{
    int j = 0;
    for (; j + 8 <= n; j += 8) vstore(x + j, vload(x + j) * a);
    for (; j < n; j++) x[j] *= a;
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */

void gnt_embed_fwd(float *out, const int *ids, const int *seg,
                   const float *wte, const float *wpe, int N, int C)
{
    for (int i = 0; i < N; i++) {
        const float *te = wte + (size_t)ids[i] * C, *pe = wpe + (size_t)(i - seg[i]) * C;
        float *o = out + (size_t)i * C;
        for (int c = 0; c < C; c++) o[c] = te[c] + pe[c];
    }
}

void gnt_embed_bwd(float *dwte, float *dwpe, const float *dout,
                   const int *ids, const int *seg, int N, int C)
{
    for (int i = 0; i < N; i++) {
        float *te = dwte + (size_t)ids[i] * C, *pe = dwpe + (size_t)(i - seg[i]) * C;
        const float *d = dout + (size_t)i * C;
        for (int c = 0; c < C; c++) { te[c] += d[c]; pe[c] += d[c]; }
    }
}

void gnt_layernorm_fwd(float *out, float *mean, float *rstd, const float *x,
                       const float *w, const float *b, int N, int C, float eps)
{
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * C;
        float m, r;
        vm_ln_stats(xi, C, eps, &m, &r);
        float *o = out + (size_t)i * C;
        for (int c = 0; c < C; c++) o[c] = (xi[c] - m) * r * w[c] + b[c];
        mean[i] = m;
        rstd[i] = r;
    }
}

void gnt_layernorm_bwd(float *dx, float *dw, float *db, const float *dout,
                       const float *x, const float *w, const float *mean,
                       const float *rstd, int N, int C)
{
    for (int i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * C, *di = dout + (size_t)i * C;
        float m = mean[i], r = rstd[i];
        double s1 = 0, s2 = 0;   /* mean of dxhat, mean of dxhat * xhat */
        for (int c = 0; c < C; c++) {
            float xh = (xi[c] - m) * r, dxh = di[c] * w[c];
            s1 += dxh;
            s2 += (double)dxh * xh;
            dw[c] += di[c] * xh;
            db[c] += di[c];
        }
        float a = (float)(s1 / C), bb = (float)(s2 / C);
        float *o = dx + (size_t)i * C;
        for (int c = 0; c < C; c++) {
            float xh = (xi[c] - m) * r;
            o[c] += r * (di[c] * w[c] - a - xh * bb);
        }
    }
}

void gnt_linear_fwd(float *out, const float *x, const float *W, const float *b,
                    int N, int In, int Out)
{
    /* out[N][O] = x[N][I] @ W[O][I]^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, Out, In, 1.0f, x, In, W, In,
                0.0f, out, Out);
    if (b)
        for (int i = 0; i < N; i++) {
            float *o = out + (size_t)i * Out;
            for (int j = 0; j < Out; j++) o[j] += b[j];
        }
}

void gnt_linear_bwd(float *dx, float *dW, float *db, const float *dout,
                    const float *x, const float *W, int N, int In, int Out)
{
    if (dx) /* dx[N][I] += dout[N][O] @ W[O][I] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, In, Out, 1.0f, dout, Out,
                    W, In, 1.0f, dx, In);
    /* dW[O][I] += dout^T[O][N] @ x[N][I] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Out, In, N, 1.0f, dout, Out, x, In,
                1.0f, dW, In);
    if (db)
        for (int i = 0; i < N; i++) {
            const float *d = dout + (size_t)i * Out;
            for (int j = 0; j < Out; j++) db[j] += d[j];
        }
}

GNT_HOT void gnt_gelu_fwd(float *out, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) vstore(out + i, vm_gelu_new(vload(x + i)));
    for (; i < n; i++) out[i] = vm_gelu_new1(x[i]);
}

/* d gelu_new / dx = 0.5 (1 + t) + 0.5 x (1 - t^2) du/dx, t = tanh(u) */
GNT_HOT void gnt_gelu_bwd(float *dx, const float *dout, const float *x, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        v8f v = vload(x + i);
        v8f t = vm_tanh(vm_gelu_u(v));
        v8f du = VM_GELU_K * (1.0f + 3.0f * 0.044715f * v * v);
        v8f g = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
        vstore(dx + i, vload(dx + i) + vload(dout + i) * g);
    }
    for (; i < n; i++) {
        float v = x[i];
        float t = vm_tanh1(vm_gelu_u1(v));
        float du = VM_GELU_K * (1.0f + 3.0f * 0.044715f * v * v);
        float g = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
        dx[i] += dout[i] * g;
    }
}

/* First key token i may attend to. */
static inline int attn_lo(const int *seg, int i, int window)
{
    int lo = seg[i];
    if (window > 0 && i - window + 1 > lo) lo = i - window + 1;
    return lo;
}

/* kt[h][e][j] = k[j][h*D + e]: head-major copies so the loops over keys j
 * are contiguous. */
static void to_head_major(float *kt, const float *k, int N, int C, int H)
{
    const int D = C / H;
    for (int j = 0; j < N; j++)
        for (int h = 0; h < H; h++)
            for (int e = 0; e < D; e++)
                kt[((size_t)h * D + e) * N + j] = k[(size_t)j * C + h * D + e];
}

/* One (query, head) of the forward, keys lo .. lo+n-1, in two passes over
 * the keys: scores and their max, then exp, sum and z = sum p v.  D is a
 * compile-time constant after inlining for D = 4 (TinyStories-1M).
 * @param kth, vth [D][N] head-major keys / values of this head
 * @param s [n] scratch; @param zi [D] out; @return lse */
VINLINE float attn_row_fwd(const float *qi, const float *kth, const float *vth, float *zi,
                           float *s, int D, int N, int lo, int n)
{
    int j = 0;
    for (; j + 8 <= n; j += 8) {                       /* s_j = q . k_j */
        v8f acc = { 0 };
        for (int e = 0; e < D; e++) acc += qi[e] * vload(kth + (size_t)e * N + lo + j);
        vstore(s + j, acc);
    }
    for (; j < n; j++) {
        float acc = 0;
        for (int e = 0; e < D; e++) acc += qi[e] * kth[(size_t)e * N + lo + j];
        s[j] = acc;
    }
    const float m = max_of(s, n);
    float zs[GNT_MAX_DHEAD] = { 0 };                              /* sum_j exp(s_j - m) v_j */
    v8f zacc[GNT_MAX_DHEAD];
    memset(zacc, 0, sizeof zacc);
    v8f sacc = { 0 };
    double sum = 0;
    for (j = 0; j + 8 <= n; j += 8) {
        v8f p = vm_exp(vload(s + j) - m);
        sacc += p;
        for (int e = 0; e < D; e++) zacc[e] += p * vload(vth + (size_t)e * N + lo + j);
    }
    for (; j < n; j++) {
        float p = vm_exp1(s[j] - m);
        sum += p;
        for (int e = 0; e < D; e++) zs[e] += p * vth[(size_t)e * N + lo + j];
    }
    for (int k = 0; k < 8; k++) sum += sacc[k];
    const float inv = (float)(1.0 / sum);
    for (int e = 0; e < D; e++) {
        float t = zs[e];
        for (int k = 0; k < 8; k++) t += zacc[e][k];
        zi[e] = t * inv;
    }
    return m + (float)log(sum);
}

GNT_HOT void gnt_attention_fwd(float *z, float *lse, const float *q, const float *k,
                               const float *v, const int *seg, int N, int C, int H,
                               int window, float *scratch)
{
    const int D = C / H;
    float *kt = scratch;
    float *vt = kt + (size_t)N * C, *s = vt + (size_t)N * C;
    to_head_major(kt, k, N, C, H);   /* [H][D][N] */
    to_head_major(vt, v, N, C, H);   /* [H][D][N] */
    for (int i = 0; i < N; i++) {
        const int lo = attn_lo(seg, i, window), n = i - lo + 1;
        for (int h = 0; h < H; h++) {
            const float *qi = q + (size_t)i * C + h * D;
            const float *kth = kt + (size_t)h * D * N, *vth = vt + (size_t)h * D * N;
            float *zi = z + (size_t)i * C + h * D;
            lse[(size_t)i * H + h] = D == 4 ? attn_row_fwd(qi, kth, vth, zi, s, 4, N, lo, n)
                                            : attn_row_fwd(qi, kth, vth, zi, s, D, N, lo, n);
        }
    }
}

/* One (query, head) of the backward in one pass over the keys:
 * p_j = exp(q.k_j - lse), dp_j = dz.v_j, ds_j = p_j (dp_j - dz.z);
 * dq += sum_j ds_j k_j, dk_j += ds_j q, dv_j += p_j dz. */
VINLINE void attn_row_bwd(const float *qi, const float *dzi, const float *zi, float l,
                          const float *kth, const float *vth, float *dkth, float *dvth,
                          float *dqi, int D, int N, int lo, int n)
{
    float delta = 0;
    for (int e = 0; e < D; e++) delta += dzi[e] * zi[e];
    v8f dqacc[GNT_MAX_DHEAD];
    memset(dqacc, 0, sizeof dqacc);
    float dqs[GNT_MAX_DHEAD] = { 0 };
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        const size_t o = (size_t)lo + j;
        v8f sc = { 0 }, dp = { 0 };
        for (int e = 0; e < D; e++) {
            sc += qi[e] * vload(kth + (size_t)e * N + o);
            dp += dzi[e] * vload(vth + (size_t)e * N + o);
        }
        v8f p = vm_exp(sc - l);
        v8f ds = p * (dp - delta);
        for (int e = 0; e < D; e++) {
            const size_t r = (size_t)e * N + o;
            dqacc[e] += ds * vload(kth + r);
            vstore(dkth + r, vload(dkth + r) + qi[e] * ds);
            vstore(dvth + r, vload(dvth + r) + dzi[e] * p);
        }
    }
    for (; j < n; j++) {
        const size_t o = (size_t)lo + j;
        float sc = 0, dp = 0;
        for (int e = 0; e < D; e++) {
            sc += qi[e] * kth[(size_t)e * N + o];
            dp += dzi[e] * vth[(size_t)e * N + o];
        }
        float p = vm_exp1(sc - l), ds = p * (dp - delta);
        for (int e = 0; e < D; e++) {
            const size_t r = (size_t)e * N + o;
            dqs[e] += ds * kth[r];
            dkth[r] += qi[e] * ds;
            dvth[r] += dzi[e] * p;
        }
    }
    for (int e = 0; e < D; e++) {
        float t = dqs[e];
        for (int k = 0; k < 8; k++) t += dqacc[e][k];
        dqi[e] += t;
    }
}

GNT_HOT void gnt_attention_bwd(float *dq, float *dk, float *dv, const float *dz,
                               const float *q, const float *k, const float *v,
                               const float *z, const float *lse, const int *seg,
                               int N, int C, int H, int window, float *scratch)
{
    const int D = C / H;
    const size_t NC = (size_t)N * C;
    float *kt = scratch;
    float *vt = kt + NC, *dkt = vt + NC, *dvt = dkt + NC;   /* [H][D][N] each */
    to_head_major(kt, k, N, C, H);
    to_head_major(vt, v, N, C, H);
    memset(dkt, 0, sizeof(float) * NC * 2);
    for (int i = 0; i < N; i++) {
        const int lo = attn_lo(seg, i, window), n = i - lo + 1;
        for (int h = 0; h < H; h++) {
            const size_t a = (size_t)i * C + h * D, hb = (size_t)h * D * N;
            const float l = lse[(size_t)i * H + h];
            if (D == 4)
                attn_row_bwd(q + a, dz + a, z + a, l, kt + hb, vt + hb, dkt + hb, dvt + hb,
                             dq + a, 4, N, lo, n);
            else
                attn_row_bwd(q + a, dz + a, z + a, l, kt + hb, vt + hb, dkt + hb, dvt + hb,
                             dq + a, D, N, lo, n);
        }
    }
    for (int jj = 0; jj < N; jj++)
        for (int h = 0; h < H; h++)
            for (int e = 0; e < D; e++) {
                size_t a = (size_t)jj * C + h * D + e, b = ((size_t)h * D + e) * N + jj;
                dk[a] += dkt[b];
                dv[a] += dvt[b];
            }
}

/* Softmax cross-entropy of nb logit rows in place: rows become
 * scale * (softmax - onehot(target)).  @return summed loss */
GNT_HOT static double xent_rows(float *lg, const int *tg, int nb, int V, float scale,
                                const float *bias)
{
    double loss = 0;
    for (int r = 0; r < nb; r++, lg += V) {
        int t = tg[r];
        if (bias)
            for (int j = 0; j < V; j++) lg[j] += bias[j];
        float lt = lg[t], m = max_of(lg, V);
        double sum = exp_shift(lg, lg, m, V);
        loss += m + log(sum) - lt;
        vscale(lg, (float)(scale / sum), V);
        lg[t] -= scale;
    }
    return loss;
}

double gnt_lmhead_xent(const float *h, const float *wte, const float *bias,
                       const int *targets, int N, int C, int V, float scale, float *dh,
                       float *dwte, float *scratch)
{
    const int B = GNT_LM_CHUNK;
    float *hbuf = scratch + (size_t)B * V; /* [B][C] rows, then [B][C] dh */
    float *dhb = hbuf + (size_t)B * C;
    int rows[GNT_LM_CHUNK], tg[GNT_LM_CHUNK];
    double loss = 0;
    int i = 0;
    while (i < N) {
        int nb = 0;   /* gather up to B rows that have a target */
        for (; i < N && nb < B; i++)
            if (targets[i] >= 0) {
                rows[nb] = i;
                tg[nb] = targets[i];
                memcpy(hbuf + (size_t)nb * C, h + (size_t)i * C, sizeof(float) * C);
                nb++;
            }
        if (nb == 0) break;
        /* logits[nb][V] = hbuf[nb][C] @ wte[V][C]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, V, C, 1.0f, hbuf, C,
                    wte, C, 0.0f, scratch, V);
        loss += xent_rows(scratch, tg, nb, V, scale, bias); /* dlogits = scale (p - onehot) */
        if (dh) {
            /* dhb[nb][C] = dlogits[nb][V] @ wte[V][C] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, C, V, 1.0f, scratch,
                        V, wte, C, 0.0f, dhb, C);
            for (int r = 0; r < nb; r++) {
                float *d = dh + (size_t)rows[r] * C;
                for (int c = 0; c < C; c++) d[c] += dhb[(size_t)r * C + c];
            }
        }
        if (dwte) /* dwte[V][C] += dlogits^T[V][nb] @ hbuf[nb][C] */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, V, C, nb, 1.0f, scratch, V,
                        hbuf, C, 1.0f, dwte, C);
    }
    return loss;
}

/* ------------------------------------------------------------------ */
/* Whole model                                                         */

struct gnt_work {
    int max_n, L, C, H, F, V;
    /* saved activations; per layer l the slice [l][max_n][...] */
    float *x;        /* [L+1][N][C] residual entering layer l (x[L] = final) */
    float *xmid;     /* [L][N][C] residual after attention */
    float *ln1, *ln1_m, *ln1_r;   /* [L][N][C], [L][N], [L][N] */
    float *q, *k, *v, *z;         /* [L][N][C] each */
    float *lse;                   /* [L][N][H] */
    float *ln2, *ln2_m, *ln2_r;   /* [L][N][C], [L][N], [L][N] */
    float *fc, *g;                /* [L][N][F] pre- and post-gelu */
    float *lnf, *lnf_m, *lnf_r;   /* [N][C], [N], [N] */
    /* scratch */
    float *tmp;                   /* [N][C] */
    float *dres, *dbuf, *dq, *dk, *dv;  /* [N][C] each */
    float *dF, *dF2;              /* [N][F] */
    float *logits;                /* GNT_LM_SCRATCH(V, C) */
    float *attn;                  /* GNT_ATTN_SCRATCH(N, C) */
    const float *logit_bias;      /* [V] or NULL (gnt_work_set_logit_bias) */
    float drop_p;                 /* dropout probability (0: off) */
    uint64_t drop_key;            /* masks of the current row */
    double t_lm, t_total;
};

void gnt_work_set_logit_bias(gnt_work *w, const float *bias)
{
    w->logit_bias = bias;
}

void gnt_work_set_dropout(gnt_work *w, float p, uint64_t key)
{
    w->drop_p = p;
    w->drop_key = key;
}

/* The mask of one site (0: embeddings; 1 + 2l / 2 + 2l: attention / MLP
 * output of layer l) under the row's key. */
static uint64_t site_key(uint64_t key, int site)
{
    uint64_t s = key ^ (0xD1B54A32D192ED03ull * (uint64_t)(site + 1));
    return rng_next(&s);
}

void gnt_dropout(float *buf, size_t n, float p, uint64_t key)
{
    if (!(p > 0)) return;
    /* keep when the top 24 bits of the element's hash reach p * 2^24 */
    const uint32_t threshold = (uint32_t)(p * 16777216.0f + 0.5f);
    const float keep_scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        uint64_t z = rng_mix64(key + 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1));
        buf[i] = (uint32_t)(z >> 40) >= threshold ? buf[i] * keep_scale : 0.0f;
    }
}

gnt_work *gnt_work_new(const model_config *c, int max_n)
{
    gnt_work *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t N = (size_t)max_n, L = (size_t)c->n_layer, C = (size_t)c->n_embd,
           H = (size_t)c->n_head, F = (size_t)c->n_inner;
    w->max_n = max_n; w->L = c->n_layer; w->C = c->n_embd; w->H = c->n_head;
    w->F = c->n_inner; w->V = c->vocab_size;
    struct { float **p; size_t n; } bufs[] = {
        {&w->x, (L + 1) * N * C}, {&w->xmid, L * N * C}, {&w->ln1, L * N * C},
        {&w->ln1_m, L * N}, {&w->ln1_r, L * N}, {&w->q, L * N * C}, {&w->k, L * N * C},
        {&w->v, L * N * C}, {&w->z, L * N * C}, {&w->lse, L * N * H}, {&w->ln2, L * N * C},
        {&w->ln2_m, L * N}, {&w->ln2_r, L * N}, {&w->fc, L * N * F}, {&w->g, L * N * F},
        {&w->lnf, N * C}, {&w->lnf_m, N}, {&w->lnf_r, N}, {&w->tmp, N * C}, {&w->dres, N * C},
        {&w->dbuf, N * C}, {&w->dq, N * C}, {&w->dk, N * C}, {&w->dv, N * C}, {&w->dF, N * F},
        {&w->dF2, N * F}, {&w->logits, GNT_LM_SCRATCH(c->vocab_size, C)},
        {&w->attn, GNT_ATTN_SCRATCH(N, C)},
    };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (!(*bufs[i].p = calloc(bufs[i].n ? bufs[i].n : 1, sizeof(float)))) {
            gnt_work_free(w);
            return NULL;
        }
    return w;
}

void gnt_work_free(gnt_work *w)
{
    if (!w) return;
    float *bufs[] = { w->x, w->xmid, w->ln1, w->ln1_m, w->ln1_r, w->q, w->k, w->v, w->z,
                      w->lse, w->ln2, w->ln2_m, w->ln2_r, w->fc, w->g, w->lnf, w->lnf_m,
                      w->lnf_r, w->tmp, w->dres, w->dbuf, w->dq, w->dk, w->dv, w->dF,
                      w->dF2, w->logits, w->attn };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(w);
}

void gnt_work_times(const gnt_work *w, double *lm_head, double *total)
{
    *lm_head = w->t_lm;
    *total = w->t_total;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The forward up to ln_f, saving everything the backward needs. */
static void forward_body(const model_config *c, const model_weights *P, gnt_work *w, int n,
                         const int *ids, const int *seg, float drop_p)
{
    const uint64_t key = w->drop_key;
    const int C = c->n_embd, H = c->n_head, F = c->n_inner;
    const size_t NC = (size_t)w->max_n * C, NF = (size_t)w->max_n * F,
                 NH = (size_t)w->max_n * H, N1 = (size_t)w->max_n;
    gnt_embed_fwd(w->x, ids, seg, P->wte, P->wpe, n, C);
    gnt_dropout(w->x, (size_t)n * C, drop_p, site_key(key, 0));
    for (int l = 0; l < c->n_layer; l++) {
        const model_layer_weights *Lw = &P->layer[l];
        float *x = w->x + l * NC, *xn = w->x + (l + 1) * NC, *xm = w->xmid + l * NC;
        float *ln1 = w->ln1 + l * NC, *q = w->q + l * NC, *k = w->k + l * NC,
              *v = w->v + l * NC, *z = w->z + l * NC, *ln2 = w->ln2 + l * NC;
        float *fc = w->fc + l * NF, *g = w->g + l * NF;
        gnt_layernorm_fwd(ln1, w->ln1_m + l * N1, w->ln1_r + l * N1, x, Lw->ln1_w,
                          Lw->ln1_b, n, C, (float)c->ln_eps);
        gnt_linear_fwd(q, ln1, Lw->wq, NULL, n, C, C);
        gnt_linear_fwd(k, ln1, Lw->wk, NULL, n, C, C);
        gnt_linear_fwd(v, ln1, Lw->wv, NULL, n, C, C);
        gnt_attention_fwd(z, w->lse + l * NH, q, k, v, seg, n, C, H,
                          c->local[l] ? c->window_size : 0, w->attn);
        gnt_linear_fwd(w->tmp, z, Lw->wo, Lw->bo, n, C, C);
        gnt_dropout(w->tmp, (size_t)n * C, drop_p, site_key(key, 1 + 2 * l));
        for (size_t i = 0; i < (size_t)n * C; i++) xm[i] = x[i] + w->tmp[i];
        gnt_layernorm_fwd(ln2, w->ln2_m + l * N1, w->ln2_r + l * N1, xm, Lw->ln2_w,
                          Lw->ln2_b, n, C, (float)c->ln_eps);
        gnt_linear_fwd(fc, ln2, Lw->fc_w, Lw->fc_b, n, C, F);
        gnt_gelu_fwd(g, fc, (size_t)n * F);
        gnt_linear_fwd(w->tmp, g, Lw->proj_w, Lw->proj_b, n, F, C);
        gnt_dropout(w->tmp, (size_t)n * C, drop_p, site_key(key, 2 + 2 * l));
        for (size_t i = 0; i < (size_t)n * C; i++) xn[i] = xm[i] + w->tmp[i];
    }
    gnt_layernorm_fwd(w->lnf, w->lnf_m, w->lnf_r, w->x + c->n_layer * NC, P->lnf_w,
                      P->lnf_b, n, C, (float)c->ln_eps);
}

/* The gradient reaching a block's output, which joined the residual through
 * dropout site `site`: dres itself, or dres through the mask (in w->tmp). */
static const float *branch_grad(gnt_work *w, int n, int C, float drop_p, int site)
{
    if (!(drop_p > 0)) return w->dres;
    memcpy(w->tmp, w->dres, sizeof(float) * (size_t)n * C);
    gnt_dropout(w->tmp, (size_t)n * C, drop_p, site_key(w->drop_key, site));
    return w->tmp;
}

double gnt_forward_backward(const model_config *c, const float *params, float *grad,
                            gnt_work *w, int n, const int *ids, const int *seg,
                            const int *targets, float scale)
{
    const int C = c->n_embd, H = c->n_head, F = c->n_inner;
    const size_t NC = (size_t)w->max_n * C, NF = (size_t)w->max_n * F,
                 NH = (size_t)w->max_n * H, N1 = (size_t)w->max_n;
    double t0 = now_s();
    model_weights P, G;
    model_weights_map(&P, c, (float *)params);
    const float drop_p = w->drop_p;
    forward_body(c, &P, w, n, ids, seg, drop_p);

    double t1 = now_s();
    if (grad) {
        model_weights_map(&G, c, grad);
        memset(w->dbuf, 0, sizeof(float) * (size_t)n * C);
    }
    double loss = gnt_lmhead_xent(w->lnf, P.wte, w->logit_bias, targets, n, C, c->vocab_size, scale,
                                  grad ? w->dbuf : NULL, grad ? G.wte : NULL, w->logits);
    w->t_lm += now_s() - t1;
    if (!grad) {
        w->t_total += now_s() - t0;
        return loss;
    }

    /* backward: dres = d loss / d residual, walked from the top down */
    memset(w->dres, 0, sizeof(float) * (size_t)n * C);
    gnt_layernorm_bwd(w->dres, G.lnf_w, G.lnf_b, w->dbuf, w->x + c->n_layer * NC, P.lnf_w,
                      w->lnf_m, w->lnf_r, n, C);
    for (int l = c->n_layer - 1; l >= 0; l--) {
        const model_layer_weights *Lw = &P.layer[l];
        model_layer_weights *Lg = &G.layer[l];
        float *x = w->x + l * NC, *xm = w->xmid + l * NC;
        float *ln1 = w->ln1 + l * NC, *q = w->q + l * NC, *k = w->k + l * NC,
              *v = w->v + l * NC, *z = w->z + l * NC, *ln2 = w->ln2 + l * NC;
        float *fc = w->fc + l * NF, *g = w->g + l * NF;
        /* MLP: x_{l+1} = xm + drop(proj(gelu(fc(LN2(xm))))) */
        memset(w->dF, 0, sizeof(float) * (size_t)n * F);
        gnt_linear_bwd(w->dF, Lg->proj_w, Lg->proj_b, branch_grad(w, n, C, drop_p, 2 + 2 * l), g,
                       Lw->proj_w, n, F, C);
        memset(w->dF2, 0, sizeof(float) * (size_t)n * F);
        gnt_gelu_bwd(w->dF2, w->dF, fc, (size_t)n * F);
        memset(w->dbuf, 0, sizeof(float) * (size_t)n * C);
        gnt_linear_bwd(w->dbuf, Lg->fc_w, Lg->fc_b, w->dF2, ln2, Lw->fc_w, n, C, F);
        gnt_layernorm_bwd(w->dres, Lg->ln2_w, Lg->ln2_b, w->dbuf, xm, Lw->ln2_w,
                          w->ln2_m + l * N1, w->ln2_r + l * N1, n, C);
        /* attention: xm = x + drop(out_proj(attn(LN1(x)))) */
        memset(w->dbuf, 0, sizeof(float) * (size_t)n * C);
        gnt_linear_bwd(w->dbuf, Lg->wo, Lg->bo, branch_grad(w, n, C, drop_p, 1 + 2 * l), z,
                       Lw->wo, n, C, C);
        memset(w->dq, 0, sizeof(float) * (size_t)n * C);
        memset(w->dk, 0, sizeof(float) * (size_t)n * C);
        memset(w->dv, 0, sizeof(float) * (size_t)n * C);
        gnt_attention_bwd(w->dq, w->dk, w->dv, w->dbuf, q, k, v, z, w->lse + l * NH, seg,
                          n, C, H, c->local[l] ? c->window_size : 0, w->attn);
        memset(w->dbuf, 0, sizeof(float) * (size_t)n * C);
        gnt_linear_bwd(w->dbuf, Lg->wq, NULL, w->dq, ln1, Lw->wq, n, C, C);
        gnt_linear_bwd(w->dbuf, Lg->wk, NULL, w->dk, ln1, Lw->wk, n, C, C);
        gnt_linear_bwd(w->dbuf, Lg->wv, NULL, w->dv, ln1, Lw->wv, n, C, C);
        gnt_layernorm_bwd(w->dres, Lg->ln1_w, Lg->ln1_b, w->dbuf, x, Lw->ln1_w,
                          w->ln1_m + l * N1, w->ln1_r + l * N1, n, C);
    }
    gnt_dropout(w->dres, (size_t)n * C, drop_p, site_key(w->drop_key, 0));
    gnt_embed_bwd(G.wte, G.wpe, w->dres, ids, seg, n, C);
    w->t_total += now_s() - t0;
    return loss;
}

void gnt_logits(const model_config *c, const float *params, gnt_work *w, int n,
                const int *ids, const int *seg, float *logits)
{
    model_weights P;
    model_weights_map(&P, c, (float *)params);
    forward_body(c, &P, w, n, ids, seg, 0.0f);   /* evaluation: no dropout */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, c->vocab_size, c->n_embd, 1.0f, w->lnf,
                c->n_embd, P.wte, c->n_embd, 0.0f, logits, c->vocab_size);
}

/* ------------------------------------------------------------------ */
/* Optimiser                                                           */

void gnt_adamw_step(const model_tensor_info *ti, int nt, const gnt_adamw *o, float *params,
                    const float *grad, float *m, float *v, long t)
{
    const float b1 = o->beta1, b2 = o->beta2;
    const float c1 = (float)(1.0 / (1.0 - pow(b1, (double)t)));
    const float c2 = (float)(1.0 / (1.0 - pow(b2, (double)t)));
    for (int k = 0; k < nt; k++) {
        const float decay = ti[k].decay ? 1.0f - o->lr * o->weight_decay : 1.0f;
        size_t a = ti[k].offset, e = a + ti[k].numel;
        for (size_t i = a; i < e; i++) {
            float gi = grad[i];
            m[i] = b1 * m[i] + (1.0f - b1) * gi;
            v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
            float mh = m[i] * c1, vh = v[i] * c2;
            params[i] = params[i] * decay - o->lr * mh / (sqrtf(vh) + o->eps);
        }
    }
}

double gnt_grad_norm(const float *grad, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)grad[i] * grad[i];
    return sqrt(s);
}

float gnt_lr_schedule(float lr, long t, long warmup, long total, float min_frac)
{
    if (t <= warmup && warmup > 0) return lr * (float)t / (float)warmup;
    if (t >= total) return lr * min_frac;
    double prog = (double)(t - warmup) / (double)(total - warmup);
    double cosv = 0.5 * (1.0 + cos(3.141592653589793 * prog));
    return (float)(lr * (min_frac + (1.0 - min_frac) * cosv));
}
