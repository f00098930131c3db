/* train: train a GPT-Neo model (TinyStories-1M's architecture by default) on
 * stories, so the study can run offline on a real, locally trained model.
 *
 *   tokenize < stories.txt | train -o models/standin
 *   train --stories stories.txt --log train.tsv -o models/standin
 *
 * Input: a tokens stream (tokenize) or a stories text file (--stories, split
 * and joined exactly as tokenize does by default: same tokens).  The last
 * --heldout fraction of the stories is held out for the held-out loss.  Each story is one segment: its tokens at
 * positions 0.., each predicting the next, the last one predicting
 * <|endoftext|>; segments are packed into rows of --seq-len tokens with
 * attention kept inside each story (common/model/gptneo_train.h).
 *
 * Output: DIR/config.json (Hugging Face GPT-Neo, "_name_or_path":
 * "heads-standin-tinystories-1m-arch"), DIR/model.safetensors (Hugging Face
 * names, lm_head.weight = wte), DIR/training.json (what was done, held-out
 * loss, greedy continuation of --prompt).  Checkpoints (--checkpoint) carry
 * weights + AdamW moments + data position and resume bit-identically.
 *
 * Deterministic: same input, options and --threads -> same weights.
 */
#include "text/bpe.h"
#include "cli/cli.h"
#include "model/gptneo_train.h"
#include "io/records.h"
#include "io/stream.h"
#include "io/tensors.h"

#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STANDIN_NAME "heads-standin-tinystories-1m-arch"
#define MAX_THREADS 64

/* ------------------------------------------------------------------ */
/* Options                                                             */

typedef struct opts {
    const char *input, *stories, *vocab, *merges, *out, *log, *ckpt, *resume, *prompt;
    long steps, batch, seq_len, warmup, eval_every, log_every, ckpt_every, threads, gen_tokens;
    long stop_after;   /* stop (checkpoint, no model) after this step: simulates an interruption */
    long eos;
    uint64_t seed;
    double lr, min_lr_frac, wd, beta1, beta2, adam_eps, clip, heldout, embed_std, dropout;
    int full_vocab;    /* 1: every wte row trained on its own (no shared row of unseen tokens) */
    gnt_config cfg;
} opts;

static void usage(void)
{
    printf(
"usage: train [options] -o DIR [TOKENS]\n"
"Train a GPT-Neo model (TinyStories-1M's architecture by default) on stories.\n"
"Writes DIR/config.json + DIR/model.safetensors (Hugging Face names) named\n"
"\"" STANDIN_NAME "\": a locally trained stand-in, never TinyStories-1M.\n\n"
"input (one of):\n"
"  TOKENS               tokens stream from tokenize (default stdin)\n"
"  --stories FILE       stories text, tokenized here with --vocab / --merges\n"
"  --vocab FILE, --merges FILE   tokenizer (default data/cache/tokenizer/...)\n"
"training:\n"
"  --steps N (8000)     optimizer steps      --batch N (4) rows per step\n"
"  --seq-len N (512)    tokens per row (longer stories are cut)\n"
"  --lr X (0.01)        peak learning rate   --warmup N (30) steps\n"
"  --min-lr-frac X (0.1) cosine floor       --weight-decay X (0.1)\n"
"  --beta1 X (0.9) --beta2 X (0.95) --adam-eps X (1e-8) --clip X (1.0)\n"
"  --heldout X (0.05)   fraction of stories held out (the last ones)\n"
"  --seed N (1)         --threads N (2): same seed + threads -> same weights\n"
"  --embed-std X (0.1)  initial std of wte / wpe (other matrices: 0.02)\n"
"  --dropout X (0.1)    dropout on embeddings and block outputs while training\n"
"  --full-vocab         give every token its own trained wte row; by default the\n"
"                       tokens absent from the training stories share one row\n"
"                       (the same loss, exactly, with an LM head ~7x smaller)\n"
"model (default TinyStories-1M: 64 hidden, 16 heads, 8 layers, 256 inner):\n"
"  --hidden N --heads N --layers N --inner N --window N --positions N\n"
"  --eos N (50256)      end-of-story token id\n"
"logging / state:\n"
"  --eval-every N (100) held-out loss every N steps (and at the end)\n"
"  --log-every N (10)   train loss line every N steps\n"
"  --log FILE           TSV log: step tokens lr train_loss heldout_loss grad_norm seconds\n"
"  --checkpoint FILE    write weights + optimizer state here (every --checkpoint-every\n"
"                       N steps, default 100, and at the end)\n"
"  --resume FILE        continue from a checkpoint (same model config and data)\n"
"  --stop-after N       stop after step N with a checkpoint and no model (an interruption)\n"
"  --prompt TEXT        after training, log the greedy continuation of TEXT\n"
"  --gen-tokens N (40)  tokens to generate\n"
"  -o, --output DIR     model directory (created)\n"
"  --help, --version\n\n"
"example:\n"
"  tokenize < data/cache/stories/tinystories-train-first2316.txt | \\\n"
"    train --prompt 'Once upon a time' -o models/standin\n");
    exit(0);
}

/* ------------------------------------------------------------------ */
/* Corpus: every story's token ids                                     */

typedef struct corpus {
    int n;          /* stories */
    size_t *off;    /* [n + 1]: story s is tok[off[s] .. off[s+1]) */
    int *tok;
    size_t ntok, cap, off_cap;
    char sha256[65];/* of the token ids (identifies the data in checkpoints) */
    long skipped_empty;
} corpus;

static void corpus_init(corpus *c)
{
    memset(c, 0, sizeof *c);
    c->off_cap = 1024;
    c->off = xcalloc(c->off_cap, sizeof *c->off);
}

/* Append one story's ids (each checked against the vocabulary). */
static void corpus_add(corpus *c, const uint32_t *ids, size_t n, long vocab)
{
    if (n == 0) { c->skipped_empty++; return; }
    if (c->ntok + n > c->cap) {
        c->cap = (c->ntok + n) * 2;
        c->tok = xrealloc(c->tok, c->cap * sizeof *c->tok);
    }
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= (uint32_t)vocab)
            die("token id %u outside the model's vocabulary of %ld", ids[i], vocab);
        c->tok[c->ntok++] = (int)ids[i];
    }
    if ((size_t)c->n + 2 > c->off_cap) {
        c->off_cap *= 2;
        c->off = xrealloc(c->off, c->off_cap * sizeof *c->off);
    }
    c->off[c->n + 1] = c->ntok;
    c->n++;
}

static void corpus_from_stream(corpus *c, const char *path, long vocab)
{
    stream_reader *r = reader_open_or_die(path, (1u << STREAM_TOKENS) | (1u << STREAM_TAGGED));
    story_rec s;
    story_init(&s);
    uint32_t *ids = NULL;
    size_t cap = 0;
    while (story_read_or_die(r, &s)) {
        if (!(s.flags & STORY_HAS_TOKENS))
            die("%s: story %u has no tokens", reader_name(r), s.story);
        if (s.n_tokens > cap) { cap = s.n_tokens * 2; ids = xrealloc(ids, cap * sizeof *ids); }
        for (uint32_t i = 0; i < s.n_tokens; i++) ids[i] = s.tokens[i].id;
        corpus_add(c, ids, s.n_tokens, vocab);
    }
    free(ids);
    story_free(&s);
    reader_close(r);
}

static int all_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') return 0;
    return 1;
}

/* Stories text, split and joined exactly as tokenize does by default:
 * stories separated by a line "<|endoftext|>"; every line of a story
 * followed by one space (line breaks \n, \r\n or \r); stories of spaces
 * only skipped; invalid UTF-8 repaired to U+FFFD. */
static void corpus_from_text(corpus *c, const char *path, const char *vocab_path,
                             const char *merges_path, long vocab)
{
    char err[512];
    bpe *b = bpe_load(vocab_path, merges_path, err, sizeof err);
    if (!b) die("%s", err);
    size_t len;
    char *text = cli_read_file(path, &len);
    char *story = xmalloc(len + 1);
    size_t slen = 0, icap = 0, i = 0;
    bpe_tokens toks = { 0 };
    uint32_t *ids = NULL;
    for (;;) {
        int at_end = i >= len, is_sep = 0;
        if (!at_end) {
            size_t a = i;
            while (i < len && text[i] != '\n' && text[i] != '\r') i++;
            size_t body = i - a;
            int term = i < len;
            if (term) i += text[i] == '\r' && i + 1 < len && text[i + 1] == '\n' ? 2 : 1;
            is_sep = body == 13 && memcmp(text + a, "<|endoftext|>", 13) == 0;
            if (!is_sep) {
                memcpy(story + slen, text + a, body);
                slen += body;
                if (term) story[slen++] = ' ';
            }
        }
        if ((is_sep || at_end) && slen && !all_space(story, slen)) {
            char *fixed = NULL;
            size_t flen = slen;
            utf8_repair(story, slen, &fixed, &flen);
            const char *e;
            toks.n = 0;
            if (bpe_encode(b, fixed ? fixed : story, flen, &toks, &e) != 0)
                die("%s: story %d: %s", path, c->n, e);
            free(fixed);
            if (toks.n > icap) { icap = toks.n * 2; ids = xrealloc(ids, icap * sizeof *ids); }
            for (size_t k = 0; k < toks.n; k++) ids[k] = toks.v[k].id;
            corpus_add(c, ids, toks.n, vocab);
        }
        if (is_sep || at_end) slen = 0;
        if (at_end) break;
    }
    bpe_tokens_free(&toks);
    free(ids);
    free(story);
    free(text);
    bpe_free(b);
}

/* ------------------------------------------------------------------ */
/* Deterministic data order                                            */

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The data cursor: training stories in a seeded permutation per epoch,
 * packed greedily into rows. */
typedef struct cursor {
    int n_train;        /* stories 0 .. n_train-1 are the training set */
    int *perm;          /* [n_train] order of the current epoch */
    long epoch, pos;    /* position in perm */
    uint64_t seed;
} cursor;

static void cursor_shuffle(cursor *cu)
{
    for (int i = 0; i < cu->n_train; i++) cu->perm[i] = i;
    uint64_t s = mix64(cu->seed * 1000003u + (uint64_t)cu->epoch);
    for (int i = cu->n_train - 1; i > 0; i--) {
        s = mix64(s);
        int j = (int)(s % (uint64_t)(i + 1));
        int t = cu->perm[i]; cu->perm[i] = cu->perm[j]; cu->perm[j] = t;
    }
}

static void cursor_set(cursor *cu, long epoch, long pos)
{
    cu->epoch = epoch;
    cu->pos = pos;
    cursor_shuffle(cu);
}

static long story_len(const corpus *c, int s, long T)
{
    long n = (long)(c->off[s + 1] - c->off[s]);
    return n < T ? n : T;
}

/* Next row: stories appended until the next one would not fit.
 * @param list receives story indices; @return their count */
static int cursor_next_row(cursor *cu, const corpus *c, long T, int *list)
{
    int k = 0;
    long used = 0;
    for (;;) {
        if (cu->pos == cu->n_train) {
            if (k) return k;              /* rows never span epochs */
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
static int build_row(const corpus *c, const int *list, int k, long T, int eos, int *ids,
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
/* The training vocabulary                                             */

/* Tokens that never occur in the training stories are never an input and
 * never a target: the only thing training does to their wte rows is push
 * their logits down through the softmax.  So (unless --full-vocab) they
 * share ONE row: the model trains on a compact vocabulary of the seen
 * tokens plus that shared row, whose logit gets a bias of log(unseen) so
 * the softmax sums exactly what the unseen rows, all equal, would add.
 * The loss and every gradient are those of the full 50257-row model with
 * the unseen rows tied (tests/unit/test_train.c: test_shared_rows), at the
 * cost of an LM head over the ~7k seen tokens instead of 50257.  The saved
 * model writes the shared row into every unseen token's row. */
typedef struct vocab_map {
    int full_v, train_v;   /* train_v = seen tokens + (1 if any unseen) */
    int *to_train;         /* [full_v] full id -> row of the training vocabulary */
    int *to_full;          /* [train_v] row -> a full id (the shared row: the first unseen id) */
    long n_unseen;
    float *bias;           /* [train_v] logit bias: log(n_unseen) on the shared row; NULL if none */
} vocab_map;

/* Seen = any token of a training story (stories 0 .. n_train-1) or eos. */
static void vocab_map_build(vocab_map *vm, const corpus *c, int n_train, int full_v, int eos,
                            int full_vocab)
{
    memset(vm, 0, sizeof *vm);
    vm->full_v = full_v;
    vm->to_train = xmalloc(sizeof(int) * (size_t)full_v);
    unsigned char *seen = xcalloc((size_t)full_v, 1);
    for (size_t i = 0; i < c->off[n_train]; i++) seen[c->tok[i]] = 1;
    seen[eos] = 1;
    int k = 0;
    for (int v = 0; v < full_v; v++) {
        if (full_vocab) seen[v] = 1;
        if (seen[v]) vm->to_train[v] = k++;
    }
    vm->n_unseen = full_v - k;
    vm->train_v = k + (vm->n_unseen > 0);
    vm->to_full = xmalloc(sizeof(int) * (size_t)vm->train_v);
    for (int v = full_v - 1; v >= 0; v--) {      /* downwards: the shared row maps to the first unseen id */
        if (!seen[v]) vm->to_train[v] = k;
        vm->to_full[vm->to_train[v]] = v;
    }
    if (vm->n_unseen > 0) {
        vm->bias = xcalloc((size_t)vm->train_v, sizeof(float));
        vm->bias[k] = (float)log((double)vm->n_unseen);
    }
    free(seen);
}

static void vocab_map_free(vocab_map *vm)
{
    free(vm->to_train); free(vm->to_full); free(vm->bias);
}

/* Parameters of the full model -> the training layout (wte rows picked;
 * everything after wte is laid out identically). */
static void params_to_train(const vocab_map *vm, const gnt_config *full, const float *pf,
                            float *pt)
{
    const size_t C = (size_t)full->d, tail = gnt_param_count(full) - (size_t)vm->full_v * C;
    for (int r = 0; r < vm->train_v; r++)
        memcpy(pt + (size_t)r * C, pf + (size_t)vm->to_full[r] * C, sizeof(float) * C);
    memcpy(pt + (size_t)vm->train_v * C, pf + (size_t)vm->full_v * C, sizeof(float) * tail);
}

/* The training layout -> the full model (unseen rows = the shared row). */
static void params_to_full(const vocab_map *vm, const gnt_config *full, const float *pt,
                           float *pf)
{
    const size_t C = (size_t)full->d, tail = gnt_param_count(full) - (size_t)vm->full_v * C;
    for (int v = 0; v < vm->full_v; v++)
        memcpy(pf + (size_t)v * C, pt + (size_t)vm->to_train[v] * C, sizeof(float) * C);
    memcpy(pf + (size_t)vm->full_v * C, pt + (size_t)vm->train_v * C, sizeof(float) * tail);
}

/* ------------------------------------------------------------------ */
/* Workers: data parallel over rows, one gradient buffer each          */

typedef struct worker {
    const opts *o;
    const gnt_config *cfg; /* the model computed: the training vocabulary's, or the full one */
    int eos;               /* eos in cfg's ids */
    const corpus *c;       /* stories in cfg's ids */
    const float *params;
    float *grad;           /* NULL for evaluation */
    gnt_work *w;
    int *ids, *seg, *tgt;  /* [T] */
    /* job */
    int **rows; int *row_k; int n_rows, first, stride;
    float scale;
    float dropout;         /* 0 for evaluation */
    long step;             /* the step being computed: with the row, keys the dropout masks */
    double loss;
    long tokens;
} worker;

static void *worker_run(void *arg)
{
    worker *wk = arg;
    wk->loss = 0;
    wk->tokens = 0;
    for (int r = wk->first; r < wk->n_rows; r += wk->stride) {
        int n = build_row(wk->c, wk->rows[r], wk->row_k[r], wk->o->seq_len, wk->eos,
                          wk->ids, wk->seg, wk->tgt);
        /* masks depend on (seed, step, row of the batch), never on the thread */
        uint64_t key = wk->o->seed * 0x9E3779B97F4A7C15ull ^
                       ((uint64_t)wk->step << 20 | (uint64_t)r) * 0xC2B2AE3D27D4EB4Full;
        gnt_work_set_dropout(wk->w, wk->dropout, key);
        wk->loss += gnt_forward_backward(wk->cfg, wk->params, wk->grad, wk->w, n, wk->ids,
                                         wk->seg, wk->tgt, wk->scale);
        wk->tokens += n;
    }
    return NULL;
}

/* Run rows on all workers (worker 0 in this thread). */
static void run_workers(worker *wk, int nt)
{
    pthread_t th[MAX_THREADS];
    for (int i = 1; i < nt; i++)
        if (pthread_create(&th[i], NULL, worker_run, &wk[i]) != 0) die("cannot start a thread");
    worker_run(&wk[0]);
    for (int i = 1; i < nt; i++) pthread_join(th[i], NULL);
}

/* ------------------------------------------------------------------ */
/* Checkpoints                                                         */

#define CKPT_MAGIC "HEADSCKP"
#define CKPT_VERSION 2   /* 2: + the training vocabulary's size */
enum { CK_VOCAB, CK_NPOS, CK_D, CK_NHEAD, CK_NLAYER, CK_DFF, CK_WINDOW, CK_EPSBITS,
       CK_SEED, CK_SEQLEN, CK_BATCH, CK_EOS, CK_THREADS, CK_STEP, CK_EPOCH, CK_POS,
       CK_TOKENS, CK_NPARAMS, CK_NTRAIN, CK_TRAINV, CK_NFIELDS };

typedef struct state {
    float *params, *m, *v;   /* [n] each */
    size_t n;
    long step, tokens;
} state;

static void put_bytes(uint8_t **p, const void *src, size_t n) { memcpy(*p, src, n); *p += n; }

static void ckpt_write(const char *path, const opts *o, const corpus *c, const cursor *cu,
                       const state *st, int train_v)
{
    int64_t f[CK_NFIELDS];
    uint32_t epsbits;
    memcpy(&epsbits, &o->cfg.eps, 4);
    f[CK_VOCAB] = o->cfg.vocab; f[CK_NPOS] = o->cfg.n_pos; f[CK_D] = o->cfg.d;
    f[CK_NHEAD] = o->cfg.n_head; f[CK_NLAYER] = o->cfg.n_layer; f[CK_DFF] = o->cfg.d_ff;
    f[CK_WINDOW] = o->cfg.window; f[CK_EPSBITS] = epsbits; f[CK_SEED] = (int64_t)o->seed;
    f[CK_SEQLEN] = o->seq_len; f[CK_BATCH] = o->batch; f[CK_EOS] = o->eos;
    f[CK_THREADS] = o->threads; f[CK_STEP] = st->step; f[CK_EPOCH] = cu->epoch;
    f[CK_POS] = cu->pos; f[CK_TOKENS] = st->tokens; f[CK_NPARAMS] = (int64_t)st->n;
    f[CK_NTRAIN] = cu->n_train; f[CK_TRAINV] = train_v;
    size_t body = 8 + 4 + 4 + sizeof f + GNT_MAX_LAYERS + 64 + 3 * st->n * sizeof(float);
    uint8_t *buf = xmalloc(body + 64), *p = buf;
    uint32_t ver = CKPT_VERSION, nf = CK_NFIELDS;
    put_bytes(&p, CKPT_MAGIC, 8);
    put_bytes(&p, &ver, 4);
    put_bytes(&p, &nf, 4);
    put_bytes(&p, f, sizeof f);
    put_bytes(&p, o->cfg.local, GNT_MAX_LAYERS);
    put_bytes(&p, c->sha256, 64);
    put_bytes(&p, st->params, st->n * sizeof(float));
    put_bytes(&p, st->m, st->n * sizeof(float));
    put_bytes(&p, st->v, st->n * sizeof(float));
    char sum[65];
    cli_sha256_buf(buf, body, sum);
    put_bytes(&p, sum, 64);
    size_t plen = strlen(path);
    char *tmp = xmalloc(plen + 32);
    snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "wb");
    if (!fp) die("%s: %s", tmp, strerror(errno));
    int bad = fwrite(buf, 1, body + 64, fp) != body + 64;
    bad |= fclose(fp) != 0;
    if (bad) { unlink(tmp); die("%s: write error", tmp); }
    if (rename(tmp, path) != 0) { unlink(tmp); die("%s: %s", path, strerror(errno)); }
    free(tmp);
    free(buf);
}

/* Load a checkpoint into st / cu, refusing corruption and mismatches. */
static void ckpt_read(const char *path, const opts *o, const corpus *c, cursor *cu, state *st,
                      int train_v)
{
    size_t len;
    uint8_t *buf = (uint8_t *)cli_read_file(path, &len);
    const size_t fixed = 8 + 4 + 4 + CK_NFIELDS * 8 + GNT_MAX_LAYERS + 64;
    if (len < 8 || memcmp(buf, CKPT_MAGIC, 8) != 0)
        die("%s: not a train checkpoint (bad magic)", path);
    if (len < fixed + 64) die("%s: corrupt checkpoint (truncated)", path);
    uint32_t ver, nf;
    memcpy(&ver, buf + 8, 4);
    memcpy(&nf, buf + 12, 4);
    if (ver != CKPT_VERSION || nf != CK_NFIELDS)
        die("%s: checkpoint format version %u not supported", path, ver);
    char sum[65];
    cli_sha256_buf(buf, len - 64, sum);
    if (memcmp(sum, buf + len - 64, 64) != 0)
        die("%s: corrupt checkpoint (checksum mismatch)", path);
    int64_t f[CK_NFIELDS];
    memcpy(f, buf + 16, sizeof f);
    unsigned char local[GNT_MAX_LAYERS];
    memcpy(local, buf + 16 + sizeof f, GNT_MAX_LAYERS);
    const gnt_config *g = &o->cfg;
    uint32_t epsbits;
    memcpy(&epsbits, &g->eps, 4);
    struct { const char *what; int64_t have, want; } chk[] = {
        { "vocabulary", f[CK_VOCAB], g->vocab }, { "positions", f[CK_NPOS], g->n_pos },
        { "hidden size", f[CK_D], g->d }, { "heads", f[CK_NHEAD], g->n_head },
        { "layers", f[CK_NLAYER], g->n_layer }, { "inner size", f[CK_DFF], g->d_ff },
        { "window", f[CK_WINDOW], g->window }, { "layer-norm epsilon bits", f[CK_EPSBITS], epsbits },
    };
    for (size_t i = 0; i < sizeof chk / sizeof chk[0]; i++)
        if (chk[i].have != chk[i].want)
            die("%s: checkpoint model config differs: %s %lld, not %lld", path, chk[i].what,
                (long long)chk[i].have, (long long)chk[i].want);
    if (memcmp(local, g->local, GNT_MAX_LAYERS) != 0)
        die("%s: checkpoint model config differs: attention layer kinds", path);
    struct { const char *what; int64_t have, want; } run[] = {
        { "--seed", f[CK_SEED], (int64_t)o->seed }, { "--seq-len", f[CK_SEQLEN], o->seq_len },
        { "--batch", f[CK_BATCH], o->batch }, { "--eos", f[CK_EOS], o->eos },
        { "--threads", f[CK_THREADS], o->threads },
    };
    for (size_t i = 0; i < sizeof run / sizeof run[0]; i++)
        if (run[i].have != run[i].want)
            die("%s: checkpoint was trained with %s %lld, not %lld", path, run[i].what,
                (long long)run[i].have, (long long)run[i].want);
    if (memcmp(buf + 16 + sizeof f + GNT_MAX_LAYERS, c->sha256, 64) != 0 ||
        f[CK_NTRAIN] != cu->n_train)
        die("%s: checkpoint was trained on other data (token sha256 or split differs)", path);
    if (f[CK_TRAINV] != train_v)
        die("%s: checkpoint trained %lld wte rows, this run %d (--full-vocab differs)", path,
            (long long)f[CK_TRAINV], train_v);
    if ((size_t)f[CK_NPARAMS] != st->n || len != fixed + 3 * st->n * sizeof(float) + 64)
        die("%s: corrupt checkpoint (size does not match its config)", path);
    if (f[CK_POS] < 0 || f[CK_POS] > cu->n_train || f[CK_EPOCH] < 0 || f[CK_STEP] < 0)
        die("%s: corrupt checkpoint (bad data position)", path);
    const uint8_t *p = buf + fixed;
    memcpy(st->params, p, st->n * sizeof(float)); p += st->n * sizeof(float);
    memcpy(st->m, p, st->n * sizeof(float)); p += st->n * sizeof(float);
    memcpy(st->v, p, st->n * sizeof(float));
    st->step = f[CK_STEP];
    st->tokens = f[CK_TOKENS];
    cursor_set(cu, f[CK_EPOCH], f[CK_POS]);
    free(buf);
}

/* ------------------------------------------------------------------ */
/* Output model                                                        */

static char *g_tmp_cfg;
static void cleanup(void)
{
    if (g_tmp_cfg) unlink(g_tmp_cfg);
}

static void write_text_atomic(const char *path, const char *text)
{
    size_t plen = strlen(path);
    g_tmp_cfg = xmalloc(plen + 32);
    snprintf(g_tmp_cfg, plen + 32, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(g_tmp_cfg, "w");
    if (!f) die("%s: %s", g_tmp_cfg, strerror(errno));
    int bad = fputs(text, f) < 0;
    bad |= fclose(f) != 0;
    if (bad) die("%s: write error", g_tmp_cfg);
    if (rename(g_tmp_cfg, path) != 0) die("%s: %s", path, strerror(errno));
    free(g_tmp_cfg);
    g_tmp_cfg = NULL;
}

static char *config_json(const gnt_config *c, long eos)
{
    json_t *o = json_object();
    json_object_set_new(o, "_name_or_path", json_string(STANDIN_NAME));
    json_object_set_new(o, "activation_function", json_string("gelu_new"));
    json_t *arch = json_array();
    json_array_append_new(arch, json_string("GPTNeoForCausalLM"));
    json_object_set_new(o, "architectures", arch);
    json_object_set_new(o, "attention_dropout", json_integer(0));
    json_t *layers = json_array(), *types = json_array();
    for (int l = 0; l < c->n_layer; l++)
        json_array_append_new(layers, json_string(c->local[l] ? "local" : "global"));
    json_object_set_new(o, "attention_layers", layers);
    for (int l = 0; l < c->n_layer;) { /* run-length groups of one kind */
        int r = l;
        while (r < c->n_layer && c->local[r] == c->local[l]) r++;
        json_t *g = json_array(), *k = json_array();
        json_array_append_new(k, json_string(c->local[l] ? "local" : "global"));
        json_array_append_new(g, k);
        json_array_append_new(g, json_integer(r - l));
        json_array_append_new(types, g);
        l = r;
    }
    json_object_set_new(o, "attention_types", types);
    json_object_set_new(o, "bos_token_id", json_integer(eos));
    json_object_set_new(o, "embed_dropout", json_integer(0));
    json_object_set_new(o, "eos_token_id", json_integer(eos));
    json_object_set_new(o, "heads_standin_model", json_true());
    json_object_set_new(o, "hidden_size", json_integer(c->d));
    json_object_set_new(o, "initializer_range", json_real(0.02));
    json_object_set_new(o, "intermediate_size", json_integer(c->d_ff));
    json_object_set_new(o, "layer_norm_epsilon", json_real(c->eps));
    json_object_set_new(o, "max_position_embeddings", json_integer(c->n_pos));
    json_object_set_new(o, "model_type", json_string("gpt_neo"));
    json_object_set_new(o, "num_heads", json_integer(c->n_head));
    json_object_set_new(o, "num_layers", json_integer(c->n_layer));
    json_object_set_new(o, "resid_dropout", json_integer(0));
    json_object_set_new(o, "tie_word_embeddings", json_true());
    json_object_set_new(o, "torch_dtype", json_string("float32"));
    json_object_set_new(o, "use_cache", json_true());
    json_object_set_new(o, "vocab_size", json_integer(c->vocab));
    json_object_set_new(o, "window_size", json_integer(c->window));
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(o);
    if (!s) die("out of memory writing config.json");
    size_t n = strlen(s);
    char *t = xmalloc(n + 2);
    memcpy(t, s, n);
    t[n] = '\n';
    t[n + 1] = 0;
    free(s);
    return t;
}

static void save_model(const char *dir, const opts *o, const float *params)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) die("%s: %s", dir, strerror(errno));
    int nt = gnt_tensor_count(&o->cfg);
    gnt_tensor_info *ti = xmalloc(sizeof *ti * (size_t)nt);
    gnt_tensor_list(&o->cfg, ti);
    tensor_set ts;
    tensors_init(&ts);
    herr e;
    for (int t = 0; t < nt; t++)
        if (!tensors_add(&ts, ti[t].name, ti[t].ndim, ti[t].shape, params + ti[t].offset, &e)) die("%s", e.msg);
    if (!tensors_add(&ts, "lm_head.weight", 2, ti[0].shape, params + ti[0].offset, &e)) die("%s", e.msg); /* tied */
    size_t dl = strlen(dir) + 64;
    char *path = xmalloc(dl);
    snprintf(path, dl, "%s/model.safetensors", dir);
    if (tensors_save_safetensors(path, &ts, &e) != 0) die("%s", e.msg);
    tensors_free(&ts);
    snprintf(path, dl, "%s/config.json", dir);
    char *cj = config_json(&o->cfg, o->eos);
    write_text_atomic(path, cj);
    free(cj);
    free(path);
    free(ti);
}

/* ------------------------------------------------------------------ */
/* Greedy continuation                                                 */

static char *greedy(const opts *o, const float *params, gnt_work *w, const char *prompt)
{
    char err[512];
    bpe *b = bpe_load(o->vocab, o->merges, err, sizeof err);
    if (!b) die("%s", err);
    bpe_tokens toks = { 0 };
    const char *e;
    if (bpe_encode(b, prompt, strlen(prompt), &toks, &e) != 0) die("--prompt: %s", e);
    if (toks.n == 0) die("--prompt is empty");
    long T = o->seq_len, n = (long)toks.n;
    int *ids = xcalloc((size_t)T, sizeof *ids), *seg = xcalloc((size_t)T, sizeof *seg);
    for (long i = 0; i < n && i < T; i++) ids[i] = (int)toks.v[i].id;
    if (n > T) n = T;
    size_t cap = strlen(prompt) + 64, len = strlen(prompt);
    char *out = xmalloc(cap);
    memcpy(out, prompt, len + 1);
    float *logits = xmalloc(sizeof(float) * (size_t)T * o->cfg.vocab);
    for (long g = 0; g < o->gen_tokens && n < T; g++) {
        gnt_logits(&o->cfg, params, w, (int)n, ids, seg, logits);
        const float *lg = logits + (size_t)(n - 1) * o->cfg.vocab;
        int best = 0;
        for (int v = 1; v < o->cfg.vocab; v++) if (lg[v] > lg[best]) best = v;
        if (best == o->eos) break;
        ids[n++] = best;
        size_t tl;
        const char *tt = bpe_token_text(b, (uint32_t)best, &tl);
        if (!tt) break;
        if (len + tl + 1 > cap) { cap = (len + tl + 1) * 2; out = xrealloc(out, cap); }
        memcpy(out + len, tt, tl);
        len += tl;
        out[len] = 0;
    }
    for (size_t i = 0; i < len; i++) if (out[i] == '\n') out[i] = ' ';
    free(logits); free(ids); free(seg);
    bpe_tokens_free(&toks);
    bpe_free(b);
    return out;
}

/* ------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU seconds used by the whole process (all threads). */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Held-out loss: the held-out stories packed into rows in order. */
/* @param unseen_nats added to the summed loss: log(n_unseen) per held-out
 * target among the unseen tokens when wk computes the training vocabulary
 * (whose loss for such a target is that of "one of the unseen"); else 0 */
static double heldout_loss(worker *wk, int nt, const corpus *c, int n_train, const opts *o,
                           const float *params, double unseen_nats, long *ntok)
{
    int n_held = c->n - n_train;
    int **rows = xmalloc(sizeof *rows * (size_t)(n_held + 1));
    int *row_k = xmalloc(sizeof *row_k * (size_t)(n_held + 1));
    int *pool = xmalloc(sizeof *pool * (size_t)(n_held + 1));
    int nr = 0, s = n_train;
    while (s < c->n) {
        long used = 0;
        rows[nr] = pool + (s - n_train);
        row_k[nr] = 0;
        while (s < c->n) {
            long n = story_len(c, s, o->seq_len);
            if (row_k[nr] && used + n > o->seq_len) break;
            pool[s - n_train] = s;
            row_k[nr]++;
            used += n;
            s++;
        }
        nr++;
    }
    for (int i = 0; i < nt; i++) {
        wk[i].params = params; wk[i].grad = NULL; wk[i].rows = rows; wk[i].row_k = row_k;
        wk[i].n_rows = nr; wk[i].first = i; wk[i].stride = nt; wk[i].scale = 0;
        wk[i].dropout = 0;
    }
    run_workers(wk, nt);
    double loss = unseen_nats;
    long tok = 0;
    for (int i = 0; i < nt; i++) { loss += wk[i].loss; tok += wk[i].tokens; }
    free(rows); free(row_k); free(pool);
    *ntok = tok;
    return tok ? loss / (double)tok : NAN;
}

/* After the last step: held-out loss, throughput, greedy continuation,
 * the model files and training.json. */
static void finish(const opts *op, const corpus *cp, const vocab_map *vm, const state *stp,
                   worker *wk, int nt, int n_train, int n_held, long tok_this_run, double t_train,
                   double cpu, double last_train, double last_held, int argc, char **argv)
{
    const opts o = *op;
    const corpus c = *cp;   /* full token ids */
    const state st = *stp;
    /* from here on the full model: the saved weights are what is measured */
    float *pf = xmalloc(gnt_param_count(&o.cfg) * sizeof(float));
    params_to_full(vm, &o.cfg, st.params, pf);
    worker wf[MAX_THREADS];
    memset(wf, 0, sizeof wf);
    for (int i = 0; i < nt; i++) {
        wf[i] = wk[i];
        wf[i].cfg = &o.cfg;
        wf[i].eos = (int)o.eos;
        wf[i].c = &c;
        wf[i].w = gnt_work_new(&o.cfg, (int)o.seq_len);
    }
    if (n_held > 0) {
        long ht;
        double full_held = heldout_loss(wf, nt, &c, n_train, &o, pf, 0, &ht);
        if (!isnan(last_held) && vm->n_unseen > 0)
            fprintf(stderr, "train: held-out loss %.4f nats/token (%ld tokens) of the saved model "
                    "(%.4f from the training vocabulary)\n", full_held, ht, last_held);
        else
            fprintf(stderr, "train: held-out loss %.4f nats/token (%ld tokens)\n", full_held, ht);
        last_held = full_held;
    }

    double lm = 0, tot = 0;
    for (int i = 0; i < nt; i++) {
        double a, b;
        gnt_work_times(wk[i].w, &a, &b);
        lm += a;
        tot += b;
    }
    if (tok_this_run)
        fprintf(stderr, "train: %ld tokens in %.1f s: %.0f tokens/s on %d threads (%.0f tokens per "
                "CPU-second, evaluation included); LM head + loss %.0f%% of forward/backward time\n",
                tok_this_run, t_train, tok_this_run / t_train, nt, tok_this_run / cpu,
                tot > 0 ? 100 * lm / tot : 0);

    char *cont = NULL;
    if (o.prompt) {
        cont = greedy(&o, pf, wf[0].w, o.prompt);
        fprintf(stderr, "train: greedy: %s\n", cont);
    }
    save_model(o.out, &o, pf);
    for (int i = 0; i < nt; i++) gnt_work_free(wf[i].w);
    free(pf);

    /* training.json: what was done */
    json_t *j = json_object();
    json_object_set_new(j, "model", json_string(STANDIN_NAME));
    json_object_set_new(j, "note", json_string("locally trained stand-in with TinyStories-1M's "
                        "architecture and tokenizer; not TinyStories-1M"));
    json_object_set_new(j, "input", json_string(o.stories ? o.stories : o.input ? o.input : "stdin"));
    json_object_set_new(j, "tokens_sha256", json_string(c.sha256));
    json_object_set_new(j, "stories", json_integer(c.n));
    json_object_set_new(j, "train_stories", json_integer(n_train));
    json_object_set_new(j, "heldout_stories", json_integer(n_held));
    json_object_set_new(j, "steps", json_integer(st.step));
    json_object_set_new(j, "tokens_seen", json_integer(st.tokens));
    json_object_set_new(j, "seed", json_integer((json_int_t)o.seed));
    json_object_set_new(j, "threads", json_integer(nt));
    json_object_set_new(j, "batch_rows", json_integer(o.batch));
    json_object_set_new(j, "seq_len", json_integer(o.seq_len));
    json_object_set_new(j, "lr", json_real(o.lr));
    json_object_set_new(j, "dropout", json_real(o.dropout));
    json_object_set_new(j, "trained_wte_rows", json_integer(vm->train_v));
    json_object_set_new(j, "tokens_sharing_one_row", json_integer(vm->n_unseen));
    json_object_set_new(j, "train_loss", isnan(last_train) ? json_null() : json_real(last_train));
    json_object_set_new(j, "heldout_loss", isnan(last_held) ? json_null() : json_real(last_held));
    json_object_set_new(j, "train_seconds", json_real(t_train));
    if (o.prompt) {
        json_object_set_new(j, "prompt", json_string(o.prompt));
        json_object_set_new(j, "greedy", json_string(cont));
    }
    char *args = cli_join_args(argc, argv);
    json_object_set_new(j, "command", json_string(args));
    free(args);
    char *js = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(j);
    size_t dl = strlen(o.out) + 32;
    char *tp = xmalloc(dl);
    snprintf(tp, dl, "%s/training.json", o.out);
    size_t jl = strlen(js);
    js = realloc(js, jl + 2);
    if (!js) die("out of memory");
    js[jl] = '\n'; js[jl + 1] = 0;
    write_text_atomic(tp, js);
    free(js); free(tp); free(cont);

}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    cli_on_die(cleanup);
    opts o = {
        .vocab = "data/cache/tokenizer/vocab.json", .merges = "data/cache/tokenizer/merges.txt",
        .steps = 8000, .batch = 4, .seq_len = 512, .warmup = 30, .eval_every = 100,
        .log_every = 10, .ckpt_every = 100, .threads = 2, .gen_tokens = 40, .eos = 50256,
        .seed = 1, .lr = 1e-2, .min_lr_frac = 0.1, .wd = 0.1, .beta1 = 0.9, .beta2 = 0.95,
        .adam_eps = 1e-8, .clip = 1.0, .heldout = 0.05, .embed_std = 0.1, .dropout = 0.1,
    };
    gnt_config_tinystories_1m(&o.cfg);
    enum { O_STORIES = 256, O_VOCAB, O_MERGES, O_STEPS, O_BATCH, O_SEQ, O_LR, O_WARM, O_MINLR,
           O_WD, O_B1, O_B2, O_AEPS, O_CLIP, O_HELD, O_SEED, O_THREADS, O_HIDDEN, O_HEADS,
           O_LAYERS, O_INNER, O_WINDOW, O_POS, O_EOS, O_EVAL, O_LOGEV, O_LOG, O_CKPT, O_CKEV,
           O_RESUME, O_PROMPT, O_GEN, O_STOP, O_ESTD, O_DROP, O_FULLV, O_HELP, O_VERSION };
    static const struct option lo[] = {
        {"output", required_argument, 0, 'o'}, {"stories", required_argument, 0, O_STORIES},
        {"vocab", required_argument, 0, O_VOCAB}, {"merges", required_argument, 0, O_MERGES},
        {"steps", required_argument, 0, O_STEPS}, {"batch", required_argument, 0, O_BATCH},
        {"seq-len", required_argument, 0, O_SEQ}, {"lr", required_argument, 0, O_LR},
        {"warmup", required_argument, 0, O_WARM}, {"min-lr-frac", required_argument, 0, O_MINLR},
        {"weight-decay", required_argument, 0, O_WD}, {"beta1", required_argument, 0, O_B1},
        {"beta2", required_argument, 0, O_B2}, {"adam-eps", required_argument, 0, O_AEPS},
        {"clip", required_argument, 0, O_CLIP}, {"heldout", required_argument, 0, O_HELD},
        {"seed", required_argument, 0, O_SEED}, {"threads", required_argument, 0, O_THREADS},
        {"hidden", required_argument, 0, O_HIDDEN}, {"heads", required_argument, 0, O_HEADS},
        {"layers", required_argument, 0, O_LAYERS}, {"inner", required_argument, 0, O_INNER},
        {"window", required_argument, 0, O_WINDOW}, {"positions", required_argument, 0, O_POS},
        {"eos", required_argument, 0, O_EOS}, {"eval-every", required_argument, 0, O_EVAL},
        {"log-every", required_argument, 0, O_LOGEV}, {"log", required_argument, 0, O_LOG},
        {"checkpoint", required_argument, 0, O_CKPT},
        {"checkpoint-every", required_argument, 0, O_CKEV},
        {"resume", required_argument, 0, O_RESUME}, {"prompt", required_argument, 0, O_PROMPT},
        {"gen-tokens", required_argument, 0, O_GEN}, {"stop-after", required_argument, 0, O_STOP},
        {"embed-std", required_argument, 0, O_ESTD}, {"dropout", required_argument, 0, O_DROP},
        {"full-vocab", no_argument, 0, O_FULLV},
        {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    int ch, inner_set = 0;
    while ((ch = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
        switch (ch) {
        case 'o': o.out = optarg; break;
        case O_STORIES: o.stories = optarg; break;
        case O_VOCAB: o.vocab = optarg; break;
        case O_MERGES: o.merges = optarg; break;
        case O_STEPS: o.steps = cli_parse_long("--steps", optarg, 0, 100000000); break;
        case O_BATCH: o.batch = cli_parse_long("--batch", optarg, 1, 1000000); break;
        case O_SEQ: o.seq_len = cli_parse_long("--seq-len", optarg, 2, 65536); break;
        case O_LR: o.lr = cli_parse_double("--lr", optarg); break;
        case O_WARM: o.warmup = cli_parse_long("--warmup", optarg, 0, 100000000); break;
        case O_MINLR: o.min_lr_frac = cli_parse_double("--min-lr-frac", optarg); break;
        case O_WD: o.wd = cli_parse_double("--weight-decay", optarg); break;
        case O_B1: o.beta1 = cli_parse_double("--beta1", optarg); break;
        case O_B2: o.beta2 = cli_parse_double("--beta2", optarg); break;
        case O_AEPS: o.adam_eps = cli_parse_double("--adam-eps", optarg); break;
        case O_CLIP: o.clip = cli_parse_double("--clip", optarg); break;
        case O_HELD: o.heldout = cli_parse_double("--heldout", optarg); break;
        case O_SEED: o.seed = (uint64_t)cli_parse_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
        case O_THREADS: o.threads = cli_parse_long("--threads", optarg, 1, MAX_THREADS); break;
        case O_HIDDEN: o.cfg.d = (int)cli_parse_long("--hidden", optarg, 1, 8192); break;
        case O_HEADS: o.cfg.n_head = (int)cli_parse_long("--heads", optarg, 1, 1024); break;
        case O_LAYERS: o.cfg.n_layer = (int)cli_parse_long("--layers", optarg, 1, GNT_MAX_LAYERS); break;
        case O_INNER: o.cfg.d_ff = (int)cli_parse_long("--inner", optarg, 1, 65536); inner_set = 1; break;
        case O_WINDOW: o.cfg.window = (int)cli_parse_long("--window", optarg, 1, 65536); break;
        case O_POS: o.cfg.n_pos = (int)cli_parse_long("--positions", optarg, 2, 65536); break;
        case O_EOS: o.eos = cli_parse_long("--eos", optarg, 0, 1000000); break;
        case O_EVAL: o.eval_every = cli_parse_long("--eval-every", optarg, 0, 100000000); break;
        case O_LOGEV: o.log_every = cli_parse_long("--log-every", optarg, 1, 100000000); break;
        case O_LOG: o.log = optarg; break;
        case O_CKPT: o.ckpt = optarg; break;
        case O_CKEV: o.ckpt_every = cli_parse_long("--checkpoint-every", optarg, 1, 100000000); break;
        case O_RESUME: o.resume = optarg; break;
        case O_PROMPT: o.prompt = optarg; break;
        case O_GEN: o.gen_tokens = cli_parse_long("--gen-tokens", optarg, 0, 100000); break;
        case O_STOP: o.stop_after = cli_parse_long("--stop-after", optarg, 1, 100000000); break;
        case O_ESTD: o.embed_std = cli_parse_double("--embed-std", optarg); break;
        case O_DROP: o.dropout = cli_parse_double("--dropout", optarg); break;
        case O_FULLV: o.full_vocab = 1; break;
        case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: die("unknown option (see --help)");
        }
    }
    if (!inner_set) o.cfg.d_ff = 4 * o.cfg.d;
    for (int l = 0; l < GNT_MAX_LAYERS; l++) o.cfg.local[l] = l < o.cfg.n_layer ? (unsigned char)(l % 2) : 0;
    if (optind < argc - 1) die("one input at most (see --help)");
    if (optind < argc) o.input = argv[optind];
    if (o.input && o.stories) die("give a tokens stream or --stories, not both");
    if (!o.out) die("no output directory (-o DIR)");
    const char *bad = gnt_config_check(&o.cfg);
    if (bad[0]) die("model config: %s", bad);
    if (o.eos >= o.cfg.vocab) die("--eos %ld outside the vocabulary of %d", o.eos, o.cfg.vocab);
    if (o.seq_len > o.cfg.n_pos) die("--seq-len %ld exceeds the %d positions", o.seq_len, o.cfg.n_pos);
    if (!(o.heldout >= 0 && o.heldout < 1)) die("--heldout takes a fraction in [0, 1)");
    if (!(o.embed_std > 0)) die("--embed-std must be > 0");
    if (!(o.dropout >= 0 && o.dropout < 0.9)) die("--dropout must be in [0, 0.9)");
    if (!(o.lr > 0) || !(o.clip >= 0) || !(o.wd >= 0)) die("--lr must be > 0, --clip and --weight-decay >= 0");
    if (o.threads > o.batch) o.threads = o.batch;

    /* data */
    corpus c;
    corpus_init(&c);
    if (o.stories) corpus_from_text(&c, o.stories, o.vocab, o.merges, o.cfg.vocab);
    else corpus_from_stream(&c, o.input, o.cfg.vocab);
    if (c.n == 0) die("empty corpus: no story with tokens in %s", o.stories ? o.stories : o.input ? o.input : "stdin");
    cli_sha256_buf(c.tok, c.ntok * sizeof *c.tok, c.sha256);
    int n_held = (int)ceil(o.heldout * c.n);
    int n_train = c.n - n_held;
    if (n_train < 1) die("no training stories left after holding out %d of %d", n_held, c.n);
    long n_cut = 0, train_tokens = 0;
    for (int s = 0; s < c.n; s++) {
        long n = (long)(c.off[s + 1] - c.off[s]);
        n_cut += n > o.seq_len;
        if (s < n_train) train_tokens += story_len(&c, s, o.seq_len);
    }

    /* the training vocabulary, and the stories in its ids (ct) */
    vocab_map vm;
    vocab_map_build(&vm, &c, n_train, o.cfg.vocab, (int)o.eos, o.full_vocab);
    gnt_config tcfg = o.cfg;
    tcfg.vocab = vm.train_v;
    corpus ct = c;
    ct.tok = xmalloc(sizeof(int) * (c.ntok ? c.ntok : 1));
    for (size_t i = 0; i < c.ntok; i++) ct.tok[i] = vm.to_train[c.tok[i]];
    const int teos = vm.to_train[o.eos];
    double unseen_nats = 0;   /* held-out targets among the unseen: see heldout_loss */
    for (int s = n_train; s < c.n && vm.n_unseen > 0; s++) {
        const int *t = c.tok + c.off[s];
        long full = (long)(c.off[s + 1] - c.off[s]), n = story_len(&c, s, o.seq_len);
        for (long i = 0; i < n; i++)
            if (i + 1 < full && vm.to_train[t[i + 1]] == vm.train_v - 1) unseen_nats += vm.bias[vm.train_v - 1];
    }

    /* model + optimizer state (in the training vocabulary's layout) */
    openblas_set_num_threads(1);   /* parallel over rows instead: deterministic */
    state st = { .n = gnt_param_count(&tcfg) };
    st.params = xmalloc(st.n * sizeof(float));
    st.m = xcalloc(st.n, sizeof(float));
    st.v = xcalloc(st.n, sizeof(float));
    cursor cu = { .n_train = n_train, .seed = o.seed };
    cu.perm = xmalloc(sizeof(int) * (size_t)n_train);
    cursor_set(&cu, 0, 0);
    {   /* initialised as the full model, whatever the training vocabulary */
        float *pf = xmalloc(gnt_param_count(&o.cfg) * sizeof(float));
        gnt_params_init(&o.cfg, pf, o.seed);
        if (o.embed_std != 0.02) { /* wte and wpe lead the layout; init drew N(0, 0.02) */
            size_t ne = (size_t)(o.cfg.vocab + o.cfg.n_pos) * o.cfg.d;
            for (size_t i = 0; i < ne; i++) pf[i] *= (float)(o.embed_std / 0.02);
        }
        params_to_train(&vm, &o.cfg, pf, st.params);
        free(pf);
    }
    if (o.resume) {
        ckpt_read(o.resume, &o, &c, &cu, &st, vm.train_v);
    }
    /* all checks passed: from here on, stderr is the training log */
    fprintf(stderr, "train: %d stories (%zu tokens): %d for training (%ld tokens), %d held out; "
            "%ld cut to %ld tokens\n", c.n, c.ntok, n_train, train_tokens, n_held, n_cut, o.seq_len);
    if (o.resume) fprintf(stderr, "train: resumed from %s at step %ld\n", o.resume, st.step);
    fprintf(stderr, "train: %zu parameters (hidden %d, %d heads, %d layers, inner %d, vocab %d), "
            "%ld steps of %ld rows x %ld tokens, %ld threads\n", gnt_param_count(&o.cfg), o.cfg.d,
            o.cfg.n_head, o.cfg.n_layer, o.cfg.d_ff, o.cfg.vocab, o.steps, o.batch, o.seq_len,
            o.threads);
    if (vm.n_unseen > 0)
        fprintf(stderr, "train: %d tokens occur in the training stories and get their own wte row; "
                "the other %ld share one (%zu parameters trained)\n", vm.train_v - 1, vm.n_unseen,
                st.n);

    int nt = (int)o.threads;
    worker wk[MAX_THREADS];
    memset(wk, 0, sizeof wk);
    for (int i = 0; i < nt; i++) {
        wk[i].o = &o;
        wk[i].cfg = &tcfg;
        wk[i].eos = teos;
        wk[i].c = &ct;
        wk[i].w = gnt_work_new(&tcfg, (int)o.seq_len);
        gnt_work_set_logit_bias(wk[i].w, vm.bias);
        wk[i].grad = NULL;
        wk[i].ids = xmalloc(sizeof(int) * (size_t)o.seq_len);
        wk[i].seg = xmalloc(sizeof(int) * (size_t)o.seq_len);
        wk[i].tgt = xmalloc(sizeof(int) * (size_t)o.seq_len);
    }
    float **grads = xmalloc(sizeof *grads * (size_t)nt);
    for (int i = 0; i < nt; i++) grads[i] = xmalloc(st.n * sizeof(float));
    int **rows = xmalloc(sizeof *rows * (size_t)o.batch);
    int *row_k = xmalloc(sizeof *row_k * (size_t)o.batch);
    for (long r = 0; r < o.batch; r++) rows[r] = xmalloc(sizeof(int) * (size_t)o.seq_len);

    FILE *logf = NULL;
    if (o.log) {
        logf = fopen(o.log, o.resume ? "a" : "w");
        if (!logf) die("%s: %s", o.log, strerror(errno));
        if (!o.resume) fprintf(logf, "step\ttokens\tlr\ttrain_loss\theldout_loss\tgrad_norm\tseconds\n");
    }

    gnt_adamw opt = { .beta1 = (float)o.beta1, .beta2 = (float)o.beta2, .eps = (float)o.adam_eps,
                      .weight_decay = (float)o.wd };
    double cpu_start = cpu_s();
    int stopped = 0;
    double t_start = now_s(), t_train = 0, run_loss = 0, last_held = NAN, last_train = NAN;
    long run_tok = 0, tok_this_run = 0;
    double gnorm = 0;
    while (st.step < o.steps) {
        double t0 = now_s();
        long total = 0;
        for (long r = 0; r < o.batch; r++) {
            row_k[r] = cursor_next_row(&cu, &c, o.seq_len, rows[r]);
            for (int a = 0; a < row_k[r]; a++) total += story_len(&c, rows[r][a], o.seq_len);
        }
        for (int i = 0; i < nt; i++) {
            memset(grads[i], 0, st.n * sizeof(float));
            wk[i].params = st.params; wk[i].grad = grads[i]; wk[i].rows = rows;
            wk[i].row_k = row_k; wk[i].n_rows = (int)o.batch; wk[i].first = i;
            wk[i].stride = nt; wk[i].scale = 1.0f / (float)total;
            wk[i].dropout = (float)o.dropout; wk[i].step = st.step + 1;
        }
        run_workers(wk, nt);
        double loss = 0;
        for (int i = 0; i < nt; i++) loss += wk[i].loss;
        float *g = grads[0];
        for (int i = 1; i < nt; i++)
            for (size_t j = 0; j < st.n; j++) g[j] += grads[i][j];
        gnorm = gnt_grad_norm(g, st.n);
        if (!isfinite(gnorm)) die("step %ld: gradient is not finite (lower --lr?)", st.step + 1);
        if (o.clip > 0 && gnorm > o.clip) {
            float f = (float)(o.clip / gnorm);
            for (size_t j = 0; j < st.n; j++) g[j] *= f;
        }
        st.step++;
        opt.lr = gnt_lr_schedule((float)o.lr, st.step, o.warmup, o.steps, (float)o.min_lr_frac);
        gnt_adamw_step(&tcfg, &opt, st.params, g, st.m, st.v, st.step);
        st.tokens += total;
        tok_this_run += total;
        run_loss += loss;
        run_tok += total;
        t_train += now_s() - t0;

        int do_eval = n_held > 0 && o.eval_every > 0 &&
                      (st.step % o.eval_every == 0 || st.step == o.steps);
        int do_log = st.step % o.log_every == 0 || st.step == o.steps || do_eval;
        if (do_log) {
            last_train = run_loss / (double)run_tok;
            fprintf(stderr, "train: step %ld/%ld  loss %.4f  lr %.2e  grad-norm %.3f  %.0f tokens/s\n",
                    st.step, o.steps, last_train, opt.lr, gnorm, tok_this_run / t_train);
            run_loss = 0;
            run_tok = 0;
        }
        if (do_eval) {
            long ht;
            last_held = heldout_loss(wk, nt, &ct, n_train, &o, st.params, unseen_nats, &ht);
            fprintf(stderr, "train: step %ld  held-out loss %.4f nats/token (%ld tokens)\n",
                    st.step, last_held, ht);
        }
        if (logf && do_log) {
            fprintf(logf, "%ld\t%ld\t%.6g\t%.6f\t", st.step, st.tokens, opt.lr, last_train);
            if (do_eval) fprintf(logf, "%.6f", last_held); else fprintf(logf, "NA");
            fprintf(logf, "\t%.6f\t%.3f\n", gnorm, now_s() - t_start);
            fflush(logf);
        }
        int stop = o.stop_after && st.step == o.stop_after && st.step < o.steps;
        if (o.ckpt && (st.step % o.ckpt_every == 0 || st.step == o.steps || stop))
            ckpt_write(o.ckpt, &o, &c, &cu, &st, vm.train_v);
        if (stop) {
            fprintf(stderr, "train: stopped after step %ld as asked (--stop-after)%s\n", st.step,
                    o.ckpt ? "; resume with --resume" : "");
            stopped = 1;
            break;
        }
    }
    if (logf && fclose(logf) != 0) die("%s: write error", o.log);
    if (!stopped)
        finish(&o, &c, &vm, &st, wk, nt, n_train, n_held, tok_this_run, t_train,
               cpu_s() - cpu_start, last_train, last_held, argc, argv);

    for (int i = 0; i < nt; i++) {
        gnt_work_free(wk[i].w);
        free(wk[i].ids); free(wk[i].seg); free(wk[i].tgt); free(grads[i]);
    }
    for (long r = 0; r < o.batch; r++) free(rows[r]);
    free(rows); free(row_k); free(grads);
    free(st.params); free(st.m); free(st.v); free(cu.perm);
    free(c.off); free(c.tok); free(ct.tok);
    vocab_map_free(&vm);
    return 0;
}
