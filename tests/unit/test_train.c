/* test_train.c: gradient checks for every operation of the trainer
 * (common/model/gptneo_train.h) and for the whole model on a tiny config, plus
 * masking, packing, optimiser and determinism checks.
 *
 * Gradients are checked against central finite differences of a float32
 * forward whose loss is summed in double: step 1e-2 for the single ops,
 * relative error ||analytic - numeric|| / ||numeric|| <= 2e-3 (ops) and
 * <= 2e-3 for the whole model too (measured: ~1e-5 and ~3e-4).  A wrong sign, a missing
 * term or a mask off by one gives errors of order 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/gptneo_train.h"
#include "model/init.h"
#include "model/trainer.h"
#include "model/weights.h"
#include "testlib.h"

/* ------------------------------------------------------------------ */

static uint64_t rng = 12345;
static float frand(void) /* uniform in [-1, 1) */
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) / (double)(1ull << 24)) * 2.0f - 1.0f;
}
static float *rand_buf(size_t n, float scale)
{
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = frand() * scale;
    return p;
}

typedef double (*loss_fn)(void *ctx);

/* Compare analytic gradient g of param p[n] with central differences.
 * @return relative error ||g - num|| / max(||num||, 1e-6) */
static double fd_rel_err(float *p, size_t n, const float *g, loss_fn f, void *ctx, float eps)
{
    double num2 = 0, diff2 = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = p[i];
        p[i] = keep + eps;
        double lp = f(ctx);
        p[i] = keep - eps;
        double lm = f(ctx);
        p[i] = keep;
        double num = (lp - lm) / (2.0 * (double)eps);
        num2 += num * num;
        diff2 += (num - g[i]) * (num - g[i]);
    }
    return sqrt(diff2) / fmax(sqrt(num2), 1e-6);
}

/* Sum of out[i] * R[i] in double: the scalar loss of the op tests. */
static double dot_d(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* ------------------------------------------------------------------ */
/* embedding */

enum { E_N = 6, E_C = 3, E_V = 7, E_P = 5 };
static int e_ids[E_N] = { 3, 1, 3, 6, 0, 3 };
static int e_seg[E_N] = { 0, 0, 0, 3, 3, 3 };
static float *e_wte, *e_wpe, *e_R, e_out[E_N * E_C];
static double embed_loss(void *ctx)
{
    (void)ctx;
    gnt_embed_fwd(e_out, e_ids, e_seg, e_wte, e_wpe, E_N, E_C);
    return dot_d(e_out, e_R, E_N * E_C);
}
static void test_embedding(void)
{
    e_wte = rand_buf(E_V * E_C, 1); e_wpe = rand_buf(E_P * E_C, 1); e_R = rand_buf(E_N * E_C, 1);
    embed_loss(NULL);
    /* token 4 is "0" at position 1 of its story */
    CHECK(e_out[4 * E_C + 2] == e_wte[0 * E_C + 2] + e_wpe[1 * E_C + 2],
          "embedding: x = wte[id] + wpe[i - seg]");
    float *dwte = calloc(E_V * E_C, 4), *dwpe = calloc(E_P * E_C, 4);
    gnt_embed_bwd(dwte, dwpe, e_R, e_ids, e_seg, E_N, E_C);
    double r1 = fd_rel_err(e_wte, E_V * E_C, dwte, embed_loss, NULL, 1e-2f);
    double r2 = fd_rel_err(e_wpe, E_P * E_C, dwpe, embed_loss, NULL, 1e-2f);
    CHECK(r1 < 2e-3 && r2 < 2e-3, "embedding gradients (wte %.2g, wpe %.2g)", r1, r2);
    free(dwte); free(dwpe); free(e_wte); free(e_wpe); free(e_R);
}

/* ------------------------------------------------------------------ */
/* layernorm */

enum { L_N = 4, L_C = 8 };
static float *l_x, *l_w, *l_b, *l_R, l_out[L_N * L_C], l_m[L_N], l_r[L_N];
static double ln_loss(void *ctx)
{
    (void)ctx;
    gnt_layernorm_fwd(l_out, l_m, l_r, l_x, l_w, l_b, L_N, L_C, 1e-5f);
    return dot_d(l_out, l_R, L_N * L_C);
}
static void test_layernorm(void)
{
    l_x = rand_buf(L_N * L_C, 2); l_w = rand_buf(L_C, 1); l_b = rand_buf(L_C, 1);
    l_R = rand_buf(L_N * L_C, 1);
    ln_loss(NULL);
    /* reference for row 1 in double */
    double m = 0, v = 0;
    for (int c = 0; c < L_C; c++) m += l_x[L_C + c];
    m /= L_C;
    for (int c = 0; c < L_C; c++) v += (l_x[L_C + c] - m) * (l_x[L_C + c] - m);
    v /= L_C;
    double want = (l_x[L_C + 5] - m) / sqrt(v + 1e-5) * l_w[5] + l_b[5];
    CHECK_NEAR(l_out[L_C + 5], want, 1e-5, "layernorm forward (biased variance, eps inside sqrt)");
    float *dx = calloc(L_N * L_C, 4), *dw = calloc(L_C, 4), *db = calloc(L_C, 4);
    gnt_layernorm_bwd(dx, dw, db, l_R, l_x, l_w, l_m, l_r, L_N, L_C);
    double r1 = fd_rel_err(l_x, L_N * L_C, dx, ln_loss, NULL, 1e-2f);
    double r2 = fd_rel_err(l_w, L_C, dw, ln_loss, NULL, 1e-2f);
    double r3 = fd_rel_err(l_b, L_C, db, ln_loss, NULL, 1e-2f);
    CHECK(r1 < 2e-3 && r2 < 2e-3 && r3 < 2e-3, "layernorm gradients (x %.2g, w %.2g, b %.2g)",
          r1, r2, r3);
    free(dx); free(dw); free(db); free(l_x); free(l_w); free(l_b); free(l_R);
}

/* ------------------------------------------------------------------ */
/* linear */

enum { N_N = 4, N_I = 5, N_O = 3 };
static float *n_x, *n_W, *n_b, *n_R, n_out[N_N * N_O];
static double lin_loss(void *ctx)
{
    (void)ctx;
    gnt_linear_fwd(n_out, n_x, n_W, n_b, N_N, N_I, N_O);
    return dot_d(n_out, n_R, N_N * N_O);
}
static void test_linear(void)
{
    n_x = rand_buf(N_N * N_I, 1); n_W = rand_buf(N_O * N_I, 1); n_b = rand_buf(N_O, 1);
    n_R = rand_buf(N_N * N_O, 1);
    lin_loss(NULL);
    double want = n_b[2];
    for (int i = 0; i < N_I; i++) want += (double)n_x[3 * N_I + i] * n_W[2 * N_I + i];
    CHECK_NEAR(n_out[3 * N_O + 2], want, 1e-5, "linear forward: W stored [out][in]");
    float *dx = calloc(N_N * N_I, 4), *dW = calloc(N_O * N_I, 4), *db = calloc(N_O, 4);
    gnt_linear_bwd(dx, dW, db, n_R, n_x, n_W, N_N, N_I, N_O);
    double r1 = fd_rel_err(n_x, N_N * N_I, dx, lin_loss, NULL, 1e-2f);
    double r2 = fd_rel_err(n_W, N_O * N_I, dW, lin_loss, NULL, 1e-2f);
    double r3 = fd_rel_err(n_b, N_O, db, lin_loss, NULL, 1e-2f);
    CHECK(r1 < 2e-3 && r2 < 2e-3 && r3 < 2e-3, "linear gradients (x %.2g, W %.2g, b %.2g)",
          r1, r2, r3);
    free(dx); free(dW); free(db); free(n_x); free(n_W); free(n_b); free(n_R);
}

/* ------------------------------------------------------------------ */
/* gelu_new */

enum { G_N = 40 };
static float g_x[G_N], g_out[G_N], *g_R;
static double gelu_loss(void *ctx)
{
    (void)ctx;
    gnt_gelu_fwd(g_out, g_x, G_N);
    return dot_d(g_out, g_R, G_N);
}
static void test_gelu(void)
{
    for (int i = 0; i < G_N; i++) g_x[i] = -5.0f + 10.0f * i / (G_N - 1);
    g_R = rand_buf(G_N, 1);
    gelu_loss(NULL);
    double x = g_x[30];
    double want = 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    CHECK_NEAR(g_out[30], want, 1e-6, "gelu_new forward (tanh approximation)");
    float dx[G_N] = { 0 };
    gnt_gelu_bwd(dx, g_R, g_x, G_N);
    double r = fd_rel_err(g_x, G_N, dx, gelu_loss, NULL, 1e-2f);
    CHECK(r < 2e-3, "gelu_new gradient (%.2g)", r);
    free(g_R);
}

/* ------------------------------------------------------------------ */
/* attention */

/* 41 tokens: a story of 30 then one of 11, so the 8-wide vector loops and
 * their scalar tails both run, in and across the window */
enum { A_N = 41 };
static int A_C = 8, A_H = 2;   /* head size 4 (the unrolled path); 6 below (generic) */
static int a_seg[A_N];
static int a_window;
static float *a_q, *a_k, *a_v, *a_R, a_z[A_N * 12], a_lse[A_N * 2], a_scratch[4 * A_N * 12 + A_N];
static double attn_loss(void *ctx)
{
    (void)ctx;
    gnt_attention_fwd(a_z, a_lse, a_q, a_k, a_v, a_seg, A_N, A_C, A_H, a_window, a_scratch);
    return dot_d(a_z, a_R, A_N * A_C);
}
/* Reference: explicit mask from docs/DESIGN.md §5 (plus the story
 * boundary of packed rows), softmax in double. */
static double attn_ref_maxerr(void)
{
    const int D = A_C / A_H;
    double maxerr = 0;
    for (int i = 0; i < A_N; i++)
        for (int h = 0; h < A_H; h++) {
            double s[A_N], m = -1e300, sum = 0;
            int ok[A_N];
            for (int j = 0; j < A_N; j++) {
                ok[j] = j <= i && a_seg[j] == a_seg[i] && (a_window == 0 || i - j < a_window);
                s[j] = 0;
                for (int e = 0; e < D; e++)
                    s[j] += (double)a_q[i * A_C + h * D + e] * a_k[j * A_C + h * D + e];
                if (ok[j] && s[j] > m) m = s[j];
            }
            for (int j = 0; j < A_N; j++) sum += ok[j] ? exp(s[j] - m) : 0;
            for (int e = 0; e < D; e++) {
                double z = 0;
                for (int j = 0; j < A_N; j++)
                    if (ok[j]) z += exp(s[j] - m) / sum * a_v[j * A_C + h * D + e];
                maxerr = fmax(maxerr, fabs(z - a_z[i * A_C + h * D + e]));
            }
            maxerr = fmax(maxerr, fabs(m + log(sum) - a_lse[i * A_H + h]));
        }
    return maxerr;
}
static void test_attention(void)
{
    for (int i = 0; i < A_N; i++) a_seg[i] = i < 30 ? 0 : 30;
    a_q = rand_buf(A_N * A_C, 1.5f); a_k = rand_buf(A_N * A_C, 1.5f);
    a_v = rand_buf(A_N * A_C, 1); a_R = rand_buf(A_N * A_C, 1);
    for (int w = 0; w < 3; w++) {
        a_window = w == 0 ? 0 : w == 1 ? 3 : 12;
        const char *kind = w == 0 ? "global" : w == 1 ? "local (window 3)" : "local (window 12)";
        attn_loss(NULL);
        double e = attn_ref_maxerr();
        CHECK(e < 1e-5, "attention forward = masked softmax reference, %s (max err %.2g)", kind, e);
        float *dq = calloc(A_N * A_C, 4), *dk = calloc(A_N * A_C, 4), *dv = calloc(A_N * A_C, 4);
        gnt_attention_bwd(dq, dk, dv, a_R, a_q, a_k, a_v, a_z, a_lse, a_seg, A_N, A_C, A_H,
                          a_window, a_scratch);
        double r1 = fd_rel_err(a_q, A_N * A_C, dq, attn_loss, NULL, 1e-2f);
        double r2 = fd_rel_err(a_k, A_N * A_C, dk, attn_loss, NULL, 1e-2f);
        double r3 = fd_rel_err(a_v, A_N * A_C, dv, attn_loss, NULL, 1e-2f);
        CHECK(r1 < 2e-3 && r2 < 2e-3 && r3 < 2e-3,
              "attention gradients, %s (q %.2g, k %.2g, v %.2g)", kind, r1, r2, r3);
        free(dq); free(dk); free(dv);
    }
    /* the mask: a key 3 back on a window-3 layer, or in another story, is invisible */
    a_window = 3;
    attn_loss(NULL);
    float z5[A_C], z8[A_C];
    memcpy(z5, a_z + 5 * A_C, sizeof z5);
    memcpy(z8, a_z + 31 * A_C, sizeof z8);
    a_k[2 * A_C] += 5.0f; a_v[2 * A_C] += 5.0f;   /* token 2: i - j = 3 for i = 5 */
    a_k[29 * A_C] += 5.0f; a_v[29 * A_C] += 5.0f; /* token 29: previous story for i = 31 */
    attn_loss(NULL);
    CHECK(memcmp(z5, a_z + 5 * A_C, sizeof z5) == 0 && memcmp(z8, a_z + 31 * A_C, sizeof z8) == 0,
          "attention: keys outside the window or the story do not matter");
    a_window = 4;
    attn_loss(NULL);
    CHECK(memcmp(z5, a_z + 5 * A_C, sizeof z5) != 0, "attention: window 4 sees i - j = 3");
    free(a_q); free(a_k); free(a_v); free(a_R);
}

/* head size 6: the generic (not unrolled) attention path */
static void test_attention_generic(void)
{
    A_C = 12; A_H = 2; a_window = 5;
    a_q = rand_buf(A_N * A_C, 1.5f); a_k = rand_buf(A_N * A_C, 1.5f);
    a_v = rand_buf(A_N * A_C, 1); a_R = rand_buf(A_N * A_C, 1);
    attn_loss(NULL);
    double e = attn_ref_maxerr();
    CHECK(e < 1e-5, "attention forward, head size 6, window 5 (max err %.2g)", e);
    float *dq = calloc(A_N * A_C, 4), *dk = calloc(A_N * A_C, 4), *dv = calloc(A_N * A_C, 4);
    gnt_attention_bwd(dq, dk, dv, a_R, a_q, a_k, a_v, a_z, a_lse, a_seg, A_N, A_C, A_H, a_window, a_scratch);
    double r1 = fd_rel_err(a_q, A_N * A_C, dq, attn_loss, NULL, 1e-2f);
    double r2 = fd_rel_err(a_k, A_N * A_C, dk, attn_loss, NULL, 1e-2f);
    double r3 = fd_rel_err(a_v, A_N * A_C, dv, attn_loss, NULL, 1e-2f);
    CHECK(r1 < 2e-3 && r2 < 2e-3 && r3 < 2e-3,
          "attention gradients, head size 6 (q %.2g, k %.2g, v %.2g)", r1, r2, r3);
    free(dq); free(dk); free(dv); free(a_q); free(a_k); free(a_v); free(a_R);
    A_C = 8; A_H = 2;
}

/* ------------------------------------------------------------------ */
/* LM head + cross-entropy */

enum { X_N = 7, X_C = 5, X_V = 11 };
static int x_t[X_N] = { 3, 10, -1, 0, 3, 7, 1 };
static float *x_h, *x_wte, x_scratch[GNT_LM_SCRATCH(X_V, X_C)];
static double xent_loss(void *ctx)
{
    (void)ctx;
    return gnt_lmhead_xent(x_h, x_wte, NULL, x_t, X_N, X_C, X_V, 1.0f, NULL, NULL, x_scratch);
}
static void test_xent(void)
{
    x_h = rand_buf(X_N * X_C, 2); x_wte = rand_buf(X_V * X_C, 2);
    double got = xent_loss(NULL), want = 0;
    for (int i = 0; i < X_N; i++) {
        if (x_t[i] < 0) continue;
        double lg[X_V], m = -1e300, s = 0;
        for (int v = 0; v < X_V; v++) {
            lg[v] = 0;
            for (int c = 0; c < X_C; c++) lg[v] += (double)x_h[i * X_C + c] * x_wte[v * X_C + c];
            m = fmax(m, lg[v]);
        }
        for (int v = 0; v < X_V; v++) s += exp(lg[v] - m);
        want += m + log(s) - lg[x_t[i]];
    }
    CHECK_NEAR(got, want, 1e-5, "cross-entropy of tied LM head = reference (rows without target skipped)");
    float *dh = calloc(X_N * X_C, 4), *dw = calloc(X_V * X_C, 4);
    gnt_lmhead_xent(x_h, x_wte, NULL, x_t, X_N, X_C, X_V, 1.0f, dh, dw, x_scratch);
    double r1 = fd_rel_err(x_h, X_N * X_C, dh, xent_loss, NULL, 1e-2f);
    double r2 = fd_rel_err(x_wte, X_V * X_C, dw, xent_loss, NULL, 1e-2f);
    CHECK(r1 < 2e-3 && r2 < 2e-3, "cross-entropy gradients (h %.2g, wte %.2g)", r1, r2);
    int none = 1;
    for (int c = 0; c < X_C; c++) none &= dh[2 * X_C + c] == 0.0f;
    CHECK(none, "cross-entropy: no gradient into a row without a target");
    free(dh); free(dw); free(x_h); free(x_wte);
}

/* U tokens sharing one wte row: a compact LM head of the distinct rows,
 * with bias log(U) on the shared one, is the full head exactly: same loss
 * (+ log U per target among the shared tokens, which the compact head sees
 * as "one of the U"), same dh, and the shared row's gradient is the sum of
 * the U rows' gradients. */
static void test_shared_rows(void)
{
    enum { FV = 11, U = 4, CV = FV - U + 1, N = 6, C = 5 };
    int tfull[N] = { 3, 9, -1, 0, 6, 8 };      /* rows 7..10 are shared: 9, 8 among them */
    int tcomp[N];
    for (int i = 0; i < N; i++) tcomp[i] = tfull[i] >= FV - U ? CV - 1 : tfull[i];
    float *h = rand_buf(N * C, 2), *wfull = rand_buf(FV * C, 2), *wcomp = calloc(CV * C, 4);
    for (int v = FV - U + 1; v < FV; v++) memcpy(wfull + v * C, wfull + (FV - U) * C, 4 * C);
    memcpy(wcomp, wfull, 4 * CV * C);
    float bias[CV] = { 0 };
    bias[CV - 1] = logf((float)U);
    float *scratch = calloc(GNT_LM_SCRATCH(FV, C), 4);
    float *dh_f = calloc(N * C, 4), *dw_f = calloc(FV * C, 4);
    float *dh_c = calloc(N * C, 4), *dw_c = calloc(CV * C, 4);
    double lf = gnt_lmhead_xent(h, wfull, NULL, tfull, N, C, FV, 1.0f, dh_f, dw_f, scratch);
    double lc = gnt_lmhead_xent(h, wcomp, bias, tcomp, N, C, CV, 1.0f, dh_c, dw_c, scratch);
    CHECK_NEAR(lc + 2 * log((double)U), lf, 1e-4,
               "shared rows: compact loss + log U per shared target = full loss (%.5f)", lf);
    double md = 0;
    for (int i = 0; i < N * C; i++) md = fmax(md, fabs(dh_f[i] - dh_c[i]));
    for (int v = 0; v < CV - 1; v++)
        for (int c = 0; c < C; c++) md = fmax(md, fabs(dw_f[v * C + c] - dw_c[v * C + c]));
    for (int c = 0; c < C; c++) {
        double sum = 0;
        for (int v = FV - U; v < FV; v++) sum += dw_f[v * C + c];
        md = fmax(md, fabs(sum - dw_c[(CV - 1) * C + c]));
    }
    CHECK(md < 1e-5, "shared rows: dh, the other rows' gradients and the summed shared gradient "
          "agree (max diff %.2g)", md);
    free(h); free(wfull); free(wcomp); free(scratch); free(dh_f); free(dw_f); free(dh_c); free(dw_c);
}

/* ------------------------------------------------------------------ */
/* exp */

/* ------------------------------------------------------------------ */
/* whole model */

static model_config tiny;
enum { M_N = 10 };
static int m_ids[M_N] = { 1, 5, 12, 5, 0, 7, 3, 2, 9, 11 };
static int m_seg[M_N] = { 0, 0, 0, 0, 0, 0, 0, 7, 7, 7 };
static int m_t[M_N] = { 5, 12, 5, 0, 7, 3, -1, 9, 11, 4 };
static float *m_par;
static gnt_work *m_work;
static double model_loss(void *ctx)
{
    (void)ctx;
    return gnt_forward_backward(&tiny, m_par, NULL, m_work, M_N, m_ids, m_seg, m_t, 1.0f);
}

static void tiny_config(model_config *c)
{
    memset(c, 0, sizeof *c);
    c->vocab_size = 13; c->n_positions = 8; c->n_embd = 8; c->n_head = 2; c->d_head = 4;
    c->n_layer = 2; c->n_inner = 12; c->window_size = 3; c->ln_eps = 1e-5f; c->local[1] = 1;
}

static void test_model(void)
{
    tiny_config(&tiny);
    herr e;
    CHECK(gnt_config_check(&tiny, &e) == 0, "tiny config valid");
    model_config bad = tiny;
    bad.n_head = 3;
    CHECK(gnt_config_check(&bad, &e) != 0 && strstr(e.msg, "not divisible"),
          "config with hidden %% heads != 0 refused: %s", e.msg);
    bad = tiny;
    bad.n_embd = 64; bad.n_head = 2; bad.d_head = 32;
    CHECK(gnt_config_check(&bad, &e) != 0 && strstr(e.msg, "head size 32"),
          "head size above the trainer's kernels refused: %s", e.msg);
    size_t np = model_param_count(&tiny);
    int nt = model_tensor_count(&tiny);
    model_tensor_info *ti = malloc(sizeof *ti * nt);
    CHECK(model_tensor_list(&tiny, ti) == nt && ti[nt - 1].offset + ti[nt - 1].numel == np,
          "tensor list covers the %zu parameters", np);
    m_par = malloc(np * 4);
    model_init_training(&tiny, m_par, 7);
    /* bigger weights than the 0.02 init so every path carries signal */
    for (size_t i = 0; i < np; i++) m_par[i] += frand() * 0.3f;
    m_work = gnt_work_new(&tiny, M_N);
    float *grad = calloc(np, 4);
    double loss = gnt_forward_backward(&tiny, m_par, grad, m_work, M_N, m_ids, m_seg, m_t, 1.0f);
    CHECK(isfinite(loss) && loss > 0, "tiny model loss %.4f", loss);
    double worst = 0;
    const char *worst_name = "";
    for (int t = 0; t < nt; t++) {
        double r = fd_rel_err(m_par + ti[t].offset, ti[t].numel, grad + ti[t].offset,
                              model_loss, NULL, 1e-2f);
        if (r > worst) { worst = r; worst_name = ti[t].name; }
    }
    CHECK(worst < 2e-3, "whole-model gradient, every tensor (worst %.2g: %s)", worst, worst_name);

    /* packing: the row = the two stories run alone */
    double l1 = gnt_forward_backward(&tiny, m_par, NULL, m_work, 7, m_ids, m_seg, m_t, 1.0f);
    int seg0[3] = { 0, 0, 0 };
    double l2 = gnt_forward_backward(&tiny, m_par, NULL, m_work, 3, m_ids + 7, seg0, m_t + 7, 1.0f);
    CHECK_NEAR(loss, l1 + l2, 1e-5, "packed row loss = sum of its stories run alone");
    float *lg_row = malloc(sizeof(float) * M_N * tiny.vocab_size), *lg_one = malloc(sizeof(float) * 3 * tiny.vocab_size);
    gnt_logits(&tiny, m_par, m_work, M_N, m_ids, m_seg, lg_row);
    gnt_logits(&tiny, m_par, m_work, 3, m_ids + 7, seg0, lg_one);
    double md = 0;
    for (int i = 0; i < 3 * tiny.vocab_size; i++) md = fmax(md, fabs(lg_row[7 * tiny.vocab_size + i] - lg_one[i]));
    CHECK(md < 1e-5, "packed row logits = story alone (max diff %.2g)", md);
    free(lg_row); free(lg_one);

    /* training reduces the loss, deterministically */
    float *runs[2];
    double first = 0, last = 0;
    for (int r = 0; r < 2; r++) {
        float *p = malloc(np * 4), *m = calloc(np, 4), *v = calloc(np, 4);
        model_init_training(&tiny, p, 99);
        gnt_adamw o = { .lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f };
        for (long t = 1; t <= 30; t++) {
            memset(grad, 0, np * 4);
            double l = gnt_forward_backward(&tiny, p, grad, m_work, M_N, m_ids, m_seg, m_t, 1.0f / 9);
            if (t == 1) first = l / 9;
            last = l / 9;
            gnt_adamw_step(ti, nt, &o, p, grad, m, v, t);
        }
        runs[r] = p;
        free(m); free(v);
    }
    CHECK(last < first * 0.5, "30 AdamW steps fit a tiny batch (%.3f -> %.3f)", first, last);
    CHECK(memcmp(runs[0], runs[1], np * 4) == 0, "same seed, same steps -> identical weights");
    float *p3 = malloc(np * 4);
    model_init_training(&tiny, p3, 100);
    CHECK(memcmp(runs[0], p3, np * 4) != 0 && memcmp(p3, m_par, 16) != 0, "another seed -> other weights");
    free(p3); free(runs[0]); free(runs[1]);

    /* dropout: with its masks fixed by the key, the loss is a smooth function of
     * the weights, so the same finite differences check the masked backward
     * (step 5e-3: the 1/(1-p) scaling raises the curvature; at 1e-2 the
     * truncation error reaches 1.9e-3 on wpe, at 2e-2 7.6e-3: it scales as
     * step^2, so it is the differences, not the gradient) */
    gnt_work_set_dropout(m_work, 0.3f, 0xABCDEF);
    memset(grad, 0, np * 4);
    double dl = gnt_forward_backward(&tiny, m_par, grad, m_work, M_N, m_ids, m_seg, m_t, 1.0f);
    CHECK(isfinite(dl) && fabs(dl - loss) > 1e-3, "dropout 0.3 changes the loss (%.4f vs %.4f)", dl, loss);
    worst = 0;
    for (int t = 0; t < nt; t++) {
        double r = fd_rel_err(m_par + ti[t].offset, ti[t].numel, grad + ti[t].offset,
                              model_loss, NULL, 5e-3f);
        if (r > worst) { worst = r; worst_name = ti[t].name; }
    }
    CHECK(worst < 2e-3, "whole-model gradient with dropout 0.3, every tensor (worst %.2g: %s)",
          worst, worst_name);
    CHECK(gnt_forward_backward(&tiny, m_par, NULL, m_work, M_N, m_ids, m_seg, m_t, 1.0f) == dl,
          "dropout: the same key gives the same masks");
    gnt_work_set_dropout(m_work, 0.3f, 0xABCDF0);
    CHECK(gnt_forward_backward(&tiny, m_par, NULL, m_work, M_N, m_ids, m_seg, m_t, 1.0f) != dl,
          "dropout: another key, other masks");
    float *lg_drop = malloc(sizeof(float) * M_N * tiny.vocab_size), *lg_plain = malloc(sizeof(float) * M_N * tiny.vocab_size);
    gnt_logits(&tiny, m_par, m_work, M_N, m_ids, m_seg, lg_drop);
    gnt_work_set_dropout(m_work, 0.0f, 0);
    gnt_logits(&tiny, m_par, m_work, M_N, m_ids, m_seg, lg_plain);
    CHECK(memcmp(lg_drop, lg_plain, sizeof(float) * M_N * tiny.vocab_size) == 0,
          "gnt_logits never drops out");
    CHECK(gnt_forward_backward(&tiny, m_par, NULL, m_work, M_N, m_ids, m_seg, m_t, 1.0f) == loss,
          "dropout 0 = no dropout");
    free(lg_drop); free(lg_plain);
    free(grad); free(m_par); free(ti);
    gnt_work_free(m_work);
}

/* The dropout mask: the kept share is 1 - p, kept elements are scaled by
 * 1 / (1 - p), and applying it twice is applying the mask and the scale twice
 * (the backward is the same call). */
static void test_dropout(void)
{
    enum { DN = 200000 };
    float *a = malloc(sizeof(float) * DN);
    const float ps[] = { 0.1f, 0.5f };
    for (int k = 0; k < 2; k++) {
        float p = ps[k];
        for (int i = 0; i < DN; i++) a[i] = 1.0f;
        gnt_dropout(a, DN, p, 42);
        long kept = 0, bad = 0;
        for (int i = 0; i < DN; i++) {
            if (a[i] != 0) { kept++; bad += fabsf(a[i] - 1.0f / (1.0f - p)) > 1e-6f; }
        }
        double share = (double)kept / DN, sd = sqrt((1 - p) * p / DN);
        CHECK(fabs(share - (1 - p)) < 5 * sd && bad == 0,
              "dropout %.1f keeps %.4f of elements (expected %.4f +- %.4f), scaled by 1/(1-p)",
              p, share, 1 - p, 5 * sd);
        /* neighbouring elements are independent: P(both kept) = (1-p)^2 */
        long both = 0;
        for (int i = 0; i + 1 < DN; i += 2) both += a[i] != 0 && a[i + 1] != 0;
        double pb = (double)both / (DN / 2), sb = sqrt((1 - p) * (1 - p) * (1 - (1 - p) * (1 - p)) / (DN / 2));
        CHECK(fabs(pb - (1 - p) * (1 - p)) < 5 * sb, "dropout %.1f: pairs both kept %.4f (expected %.4f)",
              p, pb, (1 - p) * (1 - p));
    }
    for (int i = 0; i < DN; i++) a[i] = 2.0f;
    gnt_dropout(a, DN, 0.0f, 42);
    long changed = 0;
    for (int i = 0; i < DN; i++) changed += a[i] != 2.0f;
    CHECK(changed == 0, "dropout 0 leaves the buffer as it was");
    free(a);
}

/* ------------------------------------------------------------------ */
/* optimiser */

static void test_adamw(void)
{
    model_config c;
    tiny_config(&c);
    size_t np = model_param_count(&c);
    float *p = calloc(np, 4), *g = calloc(np, 4), *m = calloc(np, 4), *v = calloc(np, 4);
    p[0] = 1.0f; g[0] = 0.5f;            /* wte: decayed */
    size_t ln = (size_t)c.vocab_size * c.n_embd + (size_t)c.n_positions * c.n_embd; /* h.0.ln_1.weight: not decayed */
    p[ln] = 1.0f; g[ln] = 0.5f;
    gnt_adamw o = { .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f, .weight_decay = 0.5f };
    model_tensor_info ti[4 + 13 * 2];
    gnt_adamw_step(ti, model_tensor_list(&c, ti), &o, p, g, m, v, 1);
    /* step 1: mhat = g, vhat = g^2, update = lr * sign(g) */
    CHECK_NEAR(p[0], 1.0 * (1 - 0.1 * 0.5) - 0.1, 1e-6, "AdamW step 1 with decoupled weight decay");
    CHECK_NEAR(p[ln], 1.0 - 0.1, 1e-6, "AdamW: no weight decay on LayerNorm weights");
    CHECK_NEAR(gnt_lr_schedule(1.0f, 5, 10, 110, 0.1f), 0.5, 1e-6, "lr warmup is linear");
    CHECK_NEAR(gnt_lr_schedule(1.0f, 60, 10, 110, 0.1f), 0.55, 1e-6, "lr cosine midpoint");
    CHECK_NEAR(gnt_lr_schedule(1.0f, 110, 10, 110, 0.1f), 0.1, 1e-6, "lr ends at min_frac");
    free(p); free(g); free(m); free(v);
}

/* ------------------------------------------------------------------ */
/* weight averaging (trainer.h): the saved average against the
 * bias-corrected EMA recomputed in double from each step's weights */

static trainer *avg_trainer(double ema)
{
    model_config c;
    tiny_config(&c);
    trainer_opts o;
    trainer_opts_default(&o);
    o.steps = 6; o.batch = 2; o.seq_len = 8; o.warmup = 1; o.threads = 2; o.eos = 12;
    o.heldout = 0.25; o.ema = ema; o.dropout = 0.1;
    train_corpus corpus;
    train_corpus_init(&corpus);
    herr e;
    for (int s = 0; s < 8; s++) {
        uint32_t ids[6];
        for (int i = 0; i < 6; i++) ids[i] = (uint32_t)((s * 7 + i * 3) % 11); /* 11, 12 unseen */
        if (train_corpus_add(&corpus, ids, 6, c.vocab_size, &e)) return NULL;
    }
    trainer *t = trainer_new(&c, &o, &corpus, NULL, &e);
    CHECK(t != NULL, "trainer on a tiny config: %s", t ? "" : e.msg);
    return t;
}

static void test_weight_average(void)
{
    model_config c;
    tiny_config(&c);
    const size_t np = model_param_count(&c);
    const double d = 0.7;
    trainer *t = avg_trainer(d), *t0 = avg_trainer(0);
    if (!t || !t0) return;
    float *cur = malloc(np * 4), *avg = malloc(np * 4);
    double *a = calloc(np, sizeof *a), worst = 0;
    herr e;
    int same0 = 1, same_run = 1;
    for (int step = 1; step <= 6; step++) {
        trainer_step_info si;
        CHECK(trainer_step(t, &si, &e) == 0 && trainer_step(t0, &si, &e) == 0, "step %d", step);
        trainer_full_params(t, TRAINER_CURRENT, cur);
        for (size_t k = 0; k < np; k++) a[k] = d * a[k] + (1 - d) * cur[k];
        trainer_full_params(t, TRAINER_AVERAGE, avg);
        const double corr = 1 - pow(d, step);
        for (size_t k = 0; k < np; k++) {
            double want = a[k] / corr, err = fabs(avg[k] - want) / (1e-3 + fabs(want));
            if (err > worst) worst = err;
        }
        /* averaging never changes the training itself */
        float *c0 = malloc(np * 4), *a0 = malloc(np * 4);
        trainer_full_params(t0, TRAINER_CURRENT, c0);
        trainer_full_params(t0, TRAINER_AVERAGE, a0);
        same0 &= memcmp(c0, a0, np * 4) == 0;
        same_run &= memcmp(c0, cur, np * 4) == 0;
        free(c0);
        free(a0);
    }
    CHECK(worst < 1e-5, "average = a_t / (1 - d^t), a_t = d a_{t-1} + (1 - d) p_t, over 6 steps "
          "(worst relative error %.2g)", worst);
    CHECK(same0, "without --ema the average is the current weights");
    CHECK(same_run, "--ema leaves the trained weights bit-identical");
    long n1, n2;
    double l_avg = trainer_heldout_loss(t, TRAINER_AVERAGE, &n1), l_cur = trainer_heldout_loss(t, TRAINER_CURRENT, &n2);
    CHECK(isfinite(l_avg) && isfinite(l_cur) && n1 == n2 && n1 > 0 && l_avg != l_cur,
          "held-out loss of the average (%.5f) and of the current weights (%.5f) differ", l_avg, l_cur);
    free(cur);
    free(avg);
    free(a);
    trainer_free(t);
    trainer_free(t0);
}

int main(void)
{
    test_embedding();
    test_layernorm();
    test_linear();
    test_gelu();
    test_attention();
    test_attention_generic();
    test_xent();
    test_shared_rows();
    test_model();
    test_dropout();
    test_adamw();
    test_weight_average();
    TEST_END();
}
