/* trainer.c: the training run (see trainer.h). */
#include "model/trainer.h"
#include "base/sha256.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/pool.h"
#include "base/rng.h"
#include "model/gptneo_train.h"
#include "model/init.h"
#include "model/weights.h"

void trainer_opts_default(trainer_opts *o)
{
    *o = (trainer_opts){
        .steps = 8000, .batch = 4, .seq_len = 512, .warmup = 30, .threads = 2, .eos = 50256,
        .seed = 1, .lr = 1e-2, .min_lr_frac = 0.1, .weight_decay = 0.1, .beta1 = 0.9,
        .beta2 = 0.95, .adam_eps = 1e-8, .clip = 1.0, .heldout = 0.05, .embed_std = 0.1,
        .dropout = 0.1, .full_vocab = 0, .ema = 0,
    };
}

/* ------------------------------------------------------------------ */
/* Corpus                                                              */

void train_corpus_init(train_corpus *c)
{
    memset(c, 0, sizeof *c);
}

void train_corpus_free(train_corpus *c)
{
    free(c->off);
    free(c->tok);
    memset(c, 0, sizeof *c);
}

int train_corpus_add(train_corpus *c, const uint32_t *ids, size_t n, int vocab, herr *e)
{
    if (n == 0) {
        c->skipped_empty++;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= (uint32_t)vocab)
            return herr_set(e, "token id %u outside the model's vocabulary of %d", ids[i], vocab);
    if (c->ntok + n > c->cap) {
        size_t cap = (c->ntok + n) * 2;
        int *t = realloc(c->tok, cap * sizeof *t);
        if (!t) return herr_set(e, "out of memory for %zu tokens", cap);
        c->tok = t;
        c->cap = cap;
    }
    if ((size_t)c->n + 2 > c->off_cap) {
        size_t cap = c->off_cap ? c->off_cap * 2 : 1024;
        size_t *o = realloc(c->off, cap * sizeof *o);
        if (!o) return herr_set(e, "out of memory for %zu stories", cap);
        if (!c->off_cap) o[0] = 0;
        c->off = o;
        c->off_cap = cap;
    }
    for (size_t i = 0; i < n; i++) c->tok[c->ntok++] = (int)ids[i];
    c->off[c->n + 1] = c->ntok;
    c->n++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Data order                                                          */

/* Training stories in a seeded permutation per epoch, packed greedily. */
typedef struct cursor {
    int n_train;        /* stories 0 .. n_train-1 are the training set */
    int *perm;          /* [n_train] order of the current epoch */
    long epoch, pos;    /* position in perm */
    uint64_t seed;
} cursor;

static void cursor_shuffle(cursor *cu)
{
    for (int i = 0; i < cu->n_train; i++) cu->perm[i] = i;
    uint64_t s = rng_mix64(cu->seed * 1000003u + (uint64_t)cu->epoch + 0x9E3779B97F4A7C15ull);
    for (int i = cu->n_train - 1; i > 0; i--) {
        s = rng_mix64(s + 0x9E3779B97F4A7C15ull);
        int j = (int)(s % (uint64_t)(i + 1));
        int t = cu->perm[i];
        cu->perm[i] = cu->perm[j];
        cu->perm[j] = t;
    }
}

static void cursor_set(cursor *cu, long epoch, long pos)
{
    cu->epoch = epoch;
    cu->pos = pos;
    cursor_shuffle(cu);
}

static long story_len(const train_corpus *c, int s, long T)
{
    long n = (long)(c->off[s + 1] - c->off[s]);
    return n < T ? n : T;
}

/* Next row: stories appended until the next one would not fit.
 * @param list receives story indices; @return their count */
static int cursor_next_row(cursor *cu, const train_corpus *c, long T, int *list)
{
    int k = 0;
    long used = 0;
    for (;;) {
        if (cu->pos == cu->n_train) {
            if (k) return k; /* rows never span epochs */
            cursor_set(cu, cu->epoch + 1, 0);
        }
        int s = cu->perm[cu->pos];
        long n = story_len(c, s, T);
        if (k && used + n > T) return k;
        list[k++] = s;
        used += n;
        cu->pos++;
    }
}

/* Row buffers: ids, seg, targets of stories list[0..k). @return tokens */
static int build_row(const train_corpus *c, const int *list, int k, long T, int eos, int *ids,
                     int *seg, int *tgt)
{
    int p = 0;
    for (int a = 0; a < k; a++) {
        int s = list[a];
        const int *t = c->tok + c->off[s];
        long full = (long)(c->off[s + 1] - c->off[s]), n = story_len(c, s, T);
        for (long i = 0; i < n; i++) {
            ids[p + i] = t[i];
            seg[p + i] = p;
            tgt[p + i] = i + 1 < full ? t[i + 1] : eos;
        }
        p += (int)n;
    }
    return p;
}

/* ------------------------------------------------------------------ */
/* The training vocabulary (trainer.h)                                 */

typedef struct vocab_map {
    int full_v, train_v;   /* train_v = seen tokens + (1 if any unseen) */
    int *to_train;         /* [full_v] full id -> row of the training vocabulary */
    int *to_full;          /* [train_v] row -> a full id (the shared row: the first unseen id) */
    long n_unseen;
    float *bias;           /* [train_v] logit bias: log(n_unseen) on the shared row; NULL if none */
} vocab_map;

/* Seen = any token of a training story (stories 0 .. n_train-1) or eos. */
static int vocab_map_build(vocab_map *vm, const train_corpus *c, int n_train, int full_v, int eos,
                           int full_vocab)
{
    memset(vm, 0, sizeof *vm);
    vm->full_v = full_v;
    vm->to_train = malloc(sizeof(int) * (size_t)full_v);
    unsigned char *seen = calloc((size_t)full_v, 1);
    if (!vm->to_train || !seen) {
        free(seen);
        return -1;
    }
    for (size_t i = 0; i < c->off[n_train]; i++) seen[c->tok[i]] = 1;
    seen[eos] = 1;
    int k = 0;
    for (int v = 0; v < full_v; v++) {
        if (full_vocab) seen[v] = 1;
        if (seen[v]) vm->to_train[v] = k++;
    }
    vm->n_unseen = full_v - k;
    vm->train_v = k + (vm->n_unseen > 0);
    vm->to_full = malloc(sizeof(int) * (size_t)vm->train_v);
    if (!vm->to_full) {
        free(seen);
        return -1;
    }
    for (int v = full_v - 1; v >= 0; v--) { /* downwards: the shared row maps to the first unseen id */
        if (!seen[v]) vm->to_train[v] = k;
        vm->to_full[vm->to_train[v]] = v;
    }
    free(seen);
    if (vm->n_unseen > 0) {
        vm->bias = calloc((size_t)vm->train_v, sizeof(float));
        if (!vm->bias) return -1;
        vm->bias[k] = (float)log((double)vm->n_unseen);
    }
    return 0;
}

static void vocab_map_free(vocab_map *vm)
{
    free(vm->to_train);
    free(vm->to_full);
    free(vm->bias);
}

/* The layouts differ only in wte's rows: wte leads, everything after it is
 * laid out identically.  Full -> training layout picks rows. */
static void params_to_train(const vocab_map *vm, const model_config *full, const float *pf,
                            float *pt)
{
    const size_t D = (size_t)full->n_embd, tail = model_param_count(full) - (size_t)vm->full_v * D;
    for (int r = 0; r < vm->train_v; r++)
        memcpy(pt + (size_t)r * D, pf + (size_t)vm->to_full[r] * D, sizeof(float) * D);
    memcpy(pt + (size_t)vm->train_v * D, pf + (size_t)vm->full_v * D, sizeof(float) * tail);
}

/* Training -> full layout (unseen rows = the shared row). */
static void params_to_full(const vocab_map *vm, const model_config *full, const float *pt,
                           float *pf)
{
    const size_t D = (size_t)full->n_embd, tail = model_param_count(full) - (size_t)vm->full_v * D;
    for (int v = 0; v < vm->full_v; v++)
        memcpy(pf + (size_t)v * D, pt + (size_t)vm->to_train[v] * D, sizeof(float) * D);
    memcpy(pf + (size_t)vm->full_v * D, pt + (size_t)vm->train_v * D, sizeof(float) * tail);
}

/* ------------------------------------------------------------------ */
/* The trainer                                                         */

/* One worker's scratch and results. */
typedef struct worker {
    gnt_work *w;
    int *ids, *seg, *tgt;  /* [seq_len] */
    float *grad;           /* [n_trained] */
    double loss;
    long tokens;
} worker;

/* A job over rows: which model, which rows, what to compute. */
typedef struct row_job {
    const trainer *t;
    const model_config *cfg;  /* the training vocabulary's config, or the full one */
    const train_corpus *c;    /* stories in cfg's ids */
    int eos;                  /* eos in cfg's ids */
    const float *params;
    int train;                /* 1: gradients + dropout */
    int **rows, *row_k;
    float scale;
    long step;                /* keys the dropout masks */
    worker *wk;
} row_job;

struct trainer {
    model_config full;        /* the model (full vocabulary) */
    model_config tcfg;        /* its training-vocabulary twin */
    trainer_opts o;
    train_corpus c;           /* full ids */
    train_corpus ct;          /* training-vocabulary ids (shares c's offsets) */
    int n_train, n_held;
    vocab_map vm;
    int teos;
    double unseen_nats;       /* see trainer_heldout_loss */
    cursor cu;
    size_t n;                 /* trained parameters */
    float *params, *m, *v;    /* [n] each */
    float *ema, *avg;         /* [n] each with o.ema: a_t, and a_t / (1 - d^t) */
    model_tensor_info *ti;    /* the training layout's tensors */
    int nt_tensors;
    long step, tokens;
    char sha256[65];
    hpool *pool;
    int threads;
    worker *wk;               /* [threads] */
    int **rows, *row_k;       /* [batch] rows of the current step */
};

static int run_rows(void *ctx, size_t r, int wi, herr *e)
{
    (void)e;
    row_job *j = ctx;
    worker *wk = &j->wk[wi];
    const trainer *t = j->t;
    int n = build_row(j->c, j->rows[r], j->row_k[r], t->o.seq_len, j->eos, wk->ids, wk->seg, wk->tgt);
    /* masks depend on (seed, step, row of the batch), never on the thread */
    uint64_t key = t->o.seed * 0x9E3779B97F4A7C15ull ^
                   ((uint64_t)j->step << 20 | (uint64_t)r) * 0xC2B2AE3D27D4EB4Full;
    gnt_work_set_dropout(wk->w, j->train ? (float)t->o.dropout : 0.0f, key);
    wk->loss += gnt_forward_backward(j->cfg, j->params, j->train ? wk->grad : NULL, wk->w, n,
                                     wk->ids, wk->seg, wk->tgt, j->scale);
    wk->tokens += n;
    return 0;
}

/* Run rows 0..n_rows-1 (row r on worker r % threads). */
static void run_job(trainer *t, row_job *j, int n_rows)
{
    for (int i = 0; i < t->threads; i++) {
        j->wk[i].loss = 0;
        j->wk[i].tokens = 0;
    }
    herr e;
    if (hpool_for(t->pool, (size_t)n_rows, HPOOL_STRIDED, run_rows, j, &e)) abort(); /* run_rows cannot fail */
}

void trainer_free(trainer *t)
{
    if (!t) return;
    hpool_free(t->pool);
    if (t->wk)
        for (int i = 0; i < t->threads; i++) {
            gnt_work_free(t->wk[i].w);
            free(t->wk[i].ids);
            free(t->wk[i].seg);
            free(t->wk[i].tgt);
            free(t->wk[i].grad);
        }
    free(t->wk);
    if (t->rows)
        for (long r = 0; r < t->o.batch; r++) free(t->rows[r]);
    free(t->rows);
    free(t->row_k);
    free(t->params);
    free(t->m);
    free(t->v);
    free(t->ema);
    free(t->avg);
    free(t->ti);
    free(t->cu.perm);
    free(t->ct.tok);
    train_corpus_free(&t->c);
    vocab_map_free(&t->vm);
    free(t);
}

trainer *trainer_new(const model_config *c, const trainer_opts *o, train_corpus *corpus,
                     trainer_info *info, herr *e)
{
    if (gnt_config_check(c, e)) return NULL;
    if (o->eos < 0 || o->eos >= c->vocab_size) {
        herr_set(e, "--eos %ld outside the vocabulary of %d", o->eos, c->vocab_size);
        return NULL;
    }
    if (o->seq_len < 2 || o->seq_len > c->n_positions) {
        herr_set(e, "--seq-len %ld exceeds the %d positions", o->seq_len, c->n_positions);
        return NULL;
    }
    if (corpus->n == 0) {
        herr_set(e, "empty corpus: no story with tokens");
        return NULL;
    }
    if (!(o->ema >= 0 && o->ema < 1)) {
        herr_set(e, "--ema %g: the decay must be in [0, 1)", o->ema);
        return NULL;
    }
    trainer *t = calloc(1, sizeof *t);
    if (!t) {
        herr_set(e, "out of memory");
        return NULL;
    }
    t->full = *c;
    t->o = *o;
    t->c = *corpus;
    train_corpus_init(corpus);
    t->threads = (int)(o->threads < o->batch ? o->threads : o->batch);
    t->o.threads = t->threads; /* what the checkpoint records */
    sha256_hex_buf(t->c.tok, t->c.ntok * sizeof *t->c.tok, t->sha256);
    t->n_held = (int)ceil(o->heldout * t->c.n);
    t->n_train = t->c.n - t->n_held;
    if (t->n_train < 1) {
        herr_set(e, "no training stories left after holding out %d of %d", t->n_held, t->c.n);
        goto fail;
    }

    /* the training vocabulary, and the stories in its ids */
    if (vocab_map_build(&t->vm, &t->c, t->n_train, c->vocab_size, (int)o->eos, o->full_vocab))
        goto oom;
    t->tcfg = *c;
    t->tcfg.vocab_size = t->vm.train_v;
    t->ct = t->c;
    t->ct.tok = malloc(sizeof(int) * (t->c.ntok ? t->c.ntok : 1));
    if (!t->ct.tok) goto oom;
    for (size_t i = 0; i < t->c.ntok; i++) t->ct.tok[i] = t->vm.to_train[t->c.tok[i]];
    t->teos = t->vm.to_train[o->eos];
    for (int s = t->n_train; s < t->c.n && t->vm.n_unseen > 0; s++) {
        const int *tk = t->c.tok + t->c.off[s];
        long full = (long)(t->c.off[s + 1] - t->c.off[s]), n = story_len(&t->c, s, o->seq_len);
        for (long i = 0; i < n; i++)
            if (i + 1 < full && t->vm.to_train[tk[i + 1]] == t->vm.train_v - 1)
                t->unseen_nats += t->vm.bias[t->vm.train_v - 1];
    }

    /* parameters and AdamW moments in the training layout, initialised as
     * the full model whatever the training vocabulary */
    t->n = model_param_count(&t->tcfg);
    t->params = malloc(t->n * sizeof(float));
    t->m = calloc(t->n, sizeof(float));
    t->v = calloc(t->n, sizeof(float));
    t->nt_tensors = model_tensor_count(&t->tcfg);
    t->ti = malloc(sizeof *t->ti * (size_t)t->nt_tensors);
    float *pf = malloc(model_param_count(c) * sizeof(float));
    if (o->ema > 0) {
        t->ema = calloc(t->n, sizeof(float));
        t->avg = malloc(t->n * sizeof(float));
    }
    if (!t->params || !t->m || !t->v || !t->ti || !pf || (o->ema > 0 && (!t->ema || !t->avg))) {
        free(pf);
        goto oom;
    }
    model_tensor_list(&t->tcfg, t->ti);
    model_init_training(c, pf, o->seed);
    if (o->embed_std != 0.02) { /* wte and wpe lead the layout; init drew N(0, 0.02) */
        size_t ne = (size_t)(c->vocab_size + c->n_positions) * c->n_embd;
        for (size_t i = 0; i < ne; i++) pf[i] *= (float)(o->embed_std / 0.02);
    }
    params_to_train(&t->vm, c, pf, t->params);
    free(pf);
    t->cu = (cursor){.n_train = t->n_train, .seed = o->seed};
    t->cu.perm = malloc(sizeof(int) * (size_t)t->n_train);
    if (!t->cu.perm) goto oom;
    cursor_set(&t->cu, 0, 0);

    /* workers */
    openblas_set_num_threads(1); /* parallel over rows instead: deterministic */
    if (!(t->pool = hpool_new(t->threads, e))) goto fail;
    t->wk = calloc((size_t)t->threads, sizeof *t->wk);
    t->rows = calloc((size_t)o->batch, sizeof *t->rows);
    t->row_k = calloc((size_t)o->batch, sizeof *t->row_k);
    if (!t->wk || !t->rows || !t->row_k) goto oom;
    for (long r = 0; r < o->batch; r++)
        if (!(t->rows[r] = malloc(sizeof(int) * (size_t)o->seq_len))) goto oom;
    for (int i = 0; i < t->threads; i++) {
        worker *w = &t->wk[i];
        w->w = gnt_work_new(&t->tcfg, (int)o->seq_len);
        w->ids = malloc(sizeof(int) * (size_t)o->seq_len);
        w->seg = malloc(sizeof(int) * (size_t)o->seq_len);
        w->tgt = malloc(sizeof(int) * (size_t)o->seq_len);
        w->grad = malloc(t->n * sizeof(float));
        if (!w->w || !w->ids || !w->seg || !w->tgt || !w->grad) goto oom;
        gnt_work_set_logit_bias(w->w, t->vm.bias);
    }

    if (info) {
        memset(info, 0, sizeof *info);
        info->n_stories = t->c.n;
        info->n_train = t->n_train;
        info->n_heldout = t->n_held;
        for (int s = 0; s < t->c.n; s++) {
            long n = (long)(t->c.off[s + 1] - t->c.off[s]);
            info->n_cut += n > o->seq_len;
            if (s < t->n_train) info->train_tokens += story_len(&t->c, s, o->seq_len);
        }
        info->n_params = model_param_count(c);
        info->n_trained = t->n;
        info->train_vocab = t->vm.train_v;
        info->n_unseen = t->vm.n_unseen;
        memcpy(info->tokens_sha256, t->sha256, 65);
    }
    return t;
oom:
    herr_set(e, "out of memory");
fail:
    trainer_free(t);
    return NULL;
}

long trainer_step_count(const trainer *t) { return t->step; }
long trainer_tokens_seen(const trainer *t) { return t->tokens; }

int trainer_step(trainer *t, trainer_step_info *si, herr *e)
{
    const trainer_opts *o = &t->o;
    long total = 0;
    for (long r = 0; r < o->batch; r++) {
        t->row_k[r] = cursor_next_row(&t->cu, &t->c, o->seq_len, t->rows[r]);
        for (int a = 0; a < t->row_k[r]; a++) total += story_len(&t->c, t->rows[r][a], o->seq_len);
    }
    for (int i = 0; i < t->threads; i++) memset(t->wk[i].grad, 0, t->n * sizeof(float));
    row_job j = {.t = t, .cfg = &t->tcfg, .c = &t->ct, .eos = t->teos, .params = t->params,
                 .train = 1, .rows = t->rows, .row_k = t->row_k, .scale = 1.0f / (float)total,
                 .step = t->step + 1, .wk = t->wk};
    run_job(t, &j, (int)o->batch);
    double loss = 0;
    for (int i = 0; i < t->threads; i++) loss += t->wk[i].loss;
    float *g = t->wk[0].grad;
    for (int i = 1; i < t->threads; i++)
        for (size_t k = 0; k < t->n; k++) g[k] += t->wk[i].grad[k];
    double gnorm = gnt_grad_norm(g, t->n);
    if (!isfinite(gnorm))
        return herr_set(e, "step %ld: gradient is not finite (lower --lr?)", t->step + 1);
    if (o->clip > 0 && gnorm > o->clip) {
        float f = (float)(o->clip / gnorm);
        for (size_t k = 0; k < t->n; k++) g[k] *= f;
    }
    t->step++;
    gnt_adamw opt = {.beta1 = (float)o->beta1, .beta2 = (float)o->beta2, .eps = (float)o->adam_eps,
                     .weight_decay = (float)o->weight_decay};
    opt.lr = gnt_lr_schedule((float)o->lr, t->step, o->warmup, o->steps, (float)o->min_lr_frac);
    gnt_adamw_step(t->ti, t->nt_tensors, &opt, t->params, g, t->m, t->v, t->step);
    if (t->ema) {
        const float d = (float)o->ema, c = (float)(1 - o->ema);
        for (size_t k = 0; k < t->n; k++) t->ema[k] = d * t->ema[k] + c * t->params[k];
    }
    t->tokens += total;
    si->loss = loss;
    si->tokens = total;
    si->grad_norm = gnorm;
    si->lr = opt.lr;
    return 0;
}

/* The held-out stories packed into rows in order, run on cfg / params.
 * @return mean loss per target (NaN without held-out stories) */
static double heldout_run(trainer *t, const model_config *cfg, const train_corpus *c, int eos,
                          const float *params, worker *wk, double extra_nats, long *ntok)
{
    const int n_held = t->n_held;
    int **rows = malloc(sizeof *rows * (size_t)(n_held + 1));
    int *row_k = malloc(sizeof *row_k * (size_t)(n_held + 1));
    int *pool = malloc(sizeof *pool * (size_t)(n_held + 1));
    if (!rows || !row_k || !pool) abort();
    int nr = 0, s = t->n_train;
    while (s < c->n) {
        long used = 0;
        rows[nr] = pool + (s - t->n_train);
        row_k[nr] = 0;
        while (s < c->n) {
            long n = story_len(c, s, t->o.seq_len);
            if (row_k[nr] && used + n > t->o.seq_len) break;
            pool[s - t->n_train] = s;
            row_k[nr]++;
            used += n;
            s++;
        }
        nr++;
    }
    row_job j = {.t = t, .cfg = cfg, .c = c, .eos = eos, .params = params, .train = 0,
                 .rows = rows, .row_k = row_k, .scale = 0, .step = 0, .wk = wk};
    run_job(t, &j, nr);
    double loss = extra_nats;
    long tok = 0;
    for (int i = 0; i < t->threads; i++) {
        loss += wk[i].loss;
        tok += wk[i].tokens;
    }
    free(rows);
    free(row_k);
    free(pool);
    *ntok = tok;
    return tok ? loss / (double)tok : NAN;
}

/* Weights w in the training layout (the average computed into t->avg). */
static const float *weights(trainer *t, trainer_weights w)
{
    if (w == TRAINER_CURRENT || !t->ema || t->step == 0) return t->params;
    const float inv = (float)(1 / (1 - pow(t->o.ema, (double)t->step))); /* Adam's bias correction */
    for (size_t k = 0; k < t->n; k++) t->avg[k] = t->ema[k] * inv;
    return t->avg;
}

double trainer_heldout_loss(trainer *t, trainer_weights w, long *ntok)
{
    *ntok = 0;
    if (t->n_held == 0) return NAN;
    return heldout_run(t, &t->tcfg, &t->ct, t->teos, weights(t, w), t->wk, t->unseen_nats, ntok);
}

double trainer_heldout_loss_full(trainer *t, trainer_weights w, long *ntok, herr *e)
{
    *ntok = 0;
    if (t->n_held == 0) return NAN;
    float *pf = malloc(model_param_count(&t->full) * sizeof(float));
    worker *wf = calloc((size_t)t->threads, sizeof *wf);
    int ok = pf && wf;
    for (int i = 0; ok && i < t->threads; i++) {
        wf[i] = t->wk[i];   /* the row buffers; a workspace of the full vocabulary */
        ok = (wf[i].w = gnt_work_new(&t->full, (int)t->o.seq_len)) != NULL;
    }
    double loss = -1;
    if (ok) {
        trainer_full_params(t, w, pf);
        loss = heldout_run(t, &t->full, &t->c, (int)t->o.eos, pf, wf, 0, ntok);
    } else {
        herr_set(e, "out of memory for the full model's evaluation");
    }
    for (int i = 0; wf && i < t->threads; i++)
        if (wf[i].w != t->wk[i].w) gnt_work_free(wf[i].w);
    free(wf);
    free(pf);
    return loss;
}

void trainer_full_params(trainer *t, trainer_weights w, float *out)
{
    params_to_full(&t->vm, &t->full, weights(t, w), out);
}

void trainer_times(const trainer *t, double *lm_head, double *total)
{
    *lm_head = *total = 0;
    for (int i = 0; i < t->threads; i++) {
        double a, b;
        gnt_work_times(t->wk[i].w, &a, &b);
        *lm_head += a;
        *total += b;
    }
}

/* ------------------------------------------------------------------ */
/* Checkpoints                                                         */

#define CKPT_MAGIC "HEADSCKP"
/* 2: + the training vocabulary's size; 3: + the weight average (written
 * only by runs that keep one, so a run without --ema writes version 2) */
#define CKPT_V2 2
#define CKPT_V3 3
enum { CK_VOCAB, CK_NPOS, CK_D, CK_NHEAD, CK_NLAYER, CK_DFF, CK_WINDOW, CK_EPSBITS,
       CK_SEED, CK_SEQLEN, CK_BATCH, CK_EOS, CK_THREADS, CK_STEP, CK_EPOCH, CK_POS,
       CK_TOKENS, CK_NPARAMS, CK_NTRAIN, CK_TRAINV, CK_V2_NFIELDS, CK_EMABITS = CK_V2_NFIELDS,
       CK_NFIELDS };
#define CKPT_LOCAL 64 /* bytes of layer kinds (the format's fixed width) */

static void put_bytes(uint8_t **p, const void *src, size_t n)
{
    memcpy(*p, src, n);
    *p += n;
}

static int64_t double_bits(double x)
{
    int64_t b;
    memcpy(&b, &x, 8);
    return b;
}

static uint32_t eps_bits(const model_config *c)
{
    float eps = (float)c->ln_eps;
    uint32_t b;
    memcpy(&b, &eps, 4);
    return b;
}

int trainer_checkpoint(const trainer *t, const char *path, herr *e)
{
    const model_config *c = &t->full;
    const trainer_opts *o = &t->o;
    int64_t f[CK_NFIELDS];
    f[CK_VOCAB] = c->vocab_size; f[CK_NPOS] = c->n_positions; f[CK_D] = c->n_embd;
    f[CK_NHEAD] = c->n_head; f[CK_NLAYER] = c->n_layer; f[CK_DFF] = c->n_inner;
    f[CK_WINDOW] = c->window_size; f[CK_EPSBITS] = eps_bits(c); f[CK_SEED] = (int64_t)o->seed;
    f[CK_SEQLEN] = o->seq_len; f[CK_BATCH] = o->batch; f[CK_EOS] = o->eos;
    f[CK_THREADS] = o->threads; f[CK_STEP] = t->step; f[CK_EPOCH] = t->cu.epoch;
    f[CK_POS] = t->cu.pos; f[CK_TOKENS] = t->tokens; f[CK_NPARAMS] = (int64_t)t->n;
    f[CK_NTRAIN] = t->n_train; f[CK_TRAINV] = t->vm.train_v; f[CK_EMABITS] = double_bits(o->ema);
    const int avg = t->ema != NULL;
    uint32_t ver = avg ? CKPT_V3 : CKPT_V2, nf = avg ? CK_NFIELDS : CK_V2_NFIELDS;
    size_t body = 8 + 4 + 4 + nf * sizeof f[0] + CKPT_LOCAL + 64 + (3 + (size_t)avg) * t->n * sizeof(float);
    uint8_t *buf = malloc(body + 64), *p = buf;
    if (!buf) return herr_set(e, "%s: out of memory", path);
    put_bytes(&p, CKPT_MAGIC, 8);
    put_bytes(&p, &ver, 4);
    put_bytes(&p, &nf, 4);
    put_bytes(&p, f, nf * sizeof f[0]);
    unsigned char local[CKPT_LOCAL] = {0};
    memcpy(local, c->local, (size_t)c->n_layer);
    put_bytes(&p, local, CKPT_LOCAL);
    put_bytes(&p, t->sha256, 64);
    put_bytes(&p, t->params, t->n * sizeof(float));
    put_bytes(&p, t->m, t->n * sizeof(float));
    put_bytes(&p, t->v, t->n * sizeof(float));
    if (avg) put_bytes(&p, t->ema, t->n * sizeof(float));
    char sum[65];
    sha256_hex_buf(buf, body, sum);
    put_bytes(&p, sum, 64);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) {
        free(buf);
        return herr_set(e, "%s: out of memory", path);
    }
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    int rc = 0;
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        rc = herr_set(e, "%s: %s", tmp, strerror(errno));
    } else {
        int bad = fwrite(buf, 1, body + 64, fp) != body + 64;
        bad |= fclose(fp) != 0;
        if (bad) rc = herr_set(e, "%s: write error", tmp);
        else if (rename(tmp, path) != 0) rc = herr_set(e, "%s: %s", path, strerror(errno));
        if (rc) unlink(tmp);
    }
    free(tmp);
    free(buf);
    return rc;
}

int trainer_resume(trainer *t, const char *path, herr *e)
{
    const model_config *g = &t->full;
    const trainer_opts *o = &t->o;
    FILE *fp = fopen(path, "rb");
    if (!fp) return herr_set(e, "%s: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                fclose(fp);
                free(buf);
                return herr_set(e, "%s: out of memory", path);
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(fp);
    fclose(fp);
    int rc = -1;
    if (bad) { herr_set(e, "%s: read error", path); goto out; }
    if (len < 8 || memcmp(buf, CKPT_MAGIC, 8) != 0) {
        herr_set(e, "%s: not a train checkpoint (bad magic)", path);
        goto out;
    }
    if (len < 16 + 64) { herr_set(e, "%s: corrupt checkpoint (truncated)", path); goto out; }
    uint32_t ver, nf;
    memcpy(&ver, buf + 8, 4);
    memcpy(&nf, buf + 12, 4);
    if (!(ver == CKPT_V2 && nf == CK_V2_NFIELDS) && !(ver == CKPT_V3 && nf == CK_NFIELDS)) {
        herr_set(e, "%s: checkpoint format version %u not supported", path, ver);
        goto out;
    }
    const size_t fixed = 8 + 4 + 4 + nf * 8 + CKPT_LOCAL + 64;
    if (len < fixed + 64) { herr_set(e, "%s: corrupt checkpoint (truncated)", path); goto out; }
    char sum[65];
    sha256_hex_buf(buf, len - 64, sum);
    if (memcmp(sum, buf + len - 64, 64) != 0) {
        herr_set(e, "%s: corrupt checkpoint (checksum mismatch)", path);
        goto out;
    }
    int64_t f[CK_NFIELDS];
    f[CK_EMABITS] = double_bits(0); /* version 2: no average */
    memcpy(f, buf + 16, nf * 8);
    const uint8_t *after_f = buf + 16 + nf * 8;
    unsigned char local[CKPT_LOCAL] = {0}, want_local[CKPT_LOCAL] = {0};
    memcpy(local, after_f, CKPT_LOCAL);
    memcpy(want_local, g->local, (size_t)g->n_layer);
    struct { const char *what; int64_t have, want; } chk[] = {
        {"vocabulary", f[CK_VOCAB], g->vocab_size}, {"positions", f[CK_NPOS], g->n_positions},
        {"hidden size", f[CK_D], g->n_embd}, {"heads", f[CK_NHEAD], g->n_head},
        {"layers", f[CK_NLAYER], g->n_layer}, {"inner size", f[CK_DFF], g->n_inner},
        {"window", f[CK_WINDOW], g->window_size}, {"layer-norm epsilon bits", f[CK_EPSBITS], eps_bits(g)},
    };
    for (size_t i = 0; i < sizeof chk / sizeof chk[0]; i++)
        if (chk[i].have != chk[i].want) {
            herr_set(e, "%s: checkpoint model config differs: %s %lld, not %lld", path, chk[i].what,
                     (long long)chk[i].have, (long long)chk[i].want);
            goto out;
        }
    if (memcmp(local, want_local, CKPT_LOCAL) != 0) {
        herr_set(e, "%s: checkpoint model config differs: attention layer kinds", path);
        goto out;
    }
    struct { const char *what; int64_t have, want; } run[] = {
        {"--seed", f[CK_SEED], (int64_t)o->seed}, {"--seq-len", f[CK_SEQLEN], o->seq_len},
        {"--batch", f[CK_BATCH], o->batch}, {"--eos", f[CK_EOS], o->eos},
        {"--threads", f[CK_THREADS], o->threads},
    };
    for (size_t i = 0; i < sizeof run / sizeof run[0]; i++)
        if (run[i].have != run[i].want) {
            herr_set(e, "%s: checkpoint was trained with %s %lld, not %lld", path, run[i].what,
                     (long long)run[i].have, (long long)run[i].want);
            goto out;
        }
    if (f[CK_EMABITS] != double_bits(o->ema)) {
        double was;
        memcpy(&was, &f[CK_EMABITS], 8);
        herr_set(e, "%s: checkpoint was trained with --ema %g, not %g", path, was, o->ema);
        goto out;
    }
    if (memcmp(after_f + CKPT_LOCAL, t->sha256, 64) != 0 || f[CK_NTRAIN] != t->n_train) {
        herr_set(e, "%s: checkpoint was trained on other data (token sha256 or split differs)", path);
        goto out;
    }
    if (f[CK_TRAINV] != t->vm.train_v) {
        herr_set(e, "%s: checkpoint trained %lld wte rows, this run %d (--full-vocab differs)", path,
                 (long long)f[CK_TRAINV], t->vm.train_v);
        goto out;
    }
    const size_t arrays = 3 + (t->ema != NULL);
    if ((size_t)f[CK_NPARAMS] != t->n || len != fixed + arrays * t->n * sizeof(float) + 64) {
        herr_set(e, "%s: corrupt checkpoint (size does not match its config)", path);
        goto out;
    }
    if (f[CK_POS] < 0 || f[CK_POS] > t->n_train || f[CK_EPOCH] < 0 || f[CK_STEP] < 0) {
        herr_set(e, "%s: corrupt checkpoint (bad data position)", path);
        goto out;
    }
    const uint8_t *q = buf + fixed;
    memcpy(t->params, q, t->n * sizeof(float));
    q += t->n * sizeof(float);
    memcpy(t->m, q, t->n * sizeof(float));
    q += t->n * sizeof(float);
    memcpy(t->v, q, t->n * sizeof(float));
    q += t->n * sizeof(float);
    if (t->ema) memcpy(t->ema, q, t->n * sizeof(float));
    t->step = f[CK_STEP];
    t->tokens = f[CK_TOKENS];
    cursor_set(&t->cu, f[CK_EPOCH], f[CK_POS]);
    rc = 0;
out:
    free(buf);
    return rc;
}
