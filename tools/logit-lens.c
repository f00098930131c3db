/* logit-lens: direct logit attribution of attention heads: what each head
 * writes into the logits (docs/heads.md).
 *
 *   logit-lens --model m --final-ln scale --grid test.tagged > attribution.tsv
 *   logit-lens --model m --top 10 --story 0 --positions 5:9 --heads L2H0 test.tagged
 *
 * Reads: a tokens/tagged/activations stream (tags for --grid) and a model
 * directory (a tokenizer for --top's token texts).  Writes: a TSV table:
 * the top-K tokens a head promotes at chosen positions, or, per head and
 * next-token tag, the mean attribution to the actual next token.
 * Links: model/gptneo, model/storyset, text/bpe, base/pool.
 */
#include "base/pool.h"
#include "cli/cli.h"
#include "cli/toolio.h"
#include "cli/toolmodel.h"
#include "io/outfile.h"
#include "model/gptneo.h"
#include "model/storyset.h"
#include "text/bpe.h"

#include <cblas.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    printf(
        "usage: logit-lens --model DIR (--top K | --grid) [options] [INPUT]\n"
        "Direct logit attribution of heads (docs/heads.md): head (l,h) at position i\n"
        "writes c = W_O[:, h dk:(h+1) dk] z_h into the residual stream; its attribution\n"
        "is W_U c (--final-ln none, the study's logit lens) or W_U (w_f (c - mean c) / s_i)\n"
        "(--final-ln scale: s_i the final LayerNorm's scale at i, w_f its weight).\n\n"
        "  --model DIR          model directory (required)\n"
        "  --final-ln MODE      none (default) or scale\n"
        "  --top K              the K tokens each head promotes most, at --positions of\n"
        "                       the --story stories, for --heads\n"
        "  --positions A:B|LIST positions (default all)   --story LIST (default all)\n"
        "  --heads LIST         L2H0,L6H4 or all (default all)\n"
        "  --mean               with --top: per head, the top K of the mean attribution over\n"
        "                       the selected positions (one list per head)\n"
        "  --tokenizer DIR      vocab.json + merges.txt for --top (default the model dir)\n"
        "  --grid               per head and next-token tag: the mean attribution to the\n"
        "                       actual next token (needs a tagged stream)\n"
        "  --threads N (2)      stories in parallel (same output)\n"
        "  -o, --output FILE    output (default stdout)\n"
        "  --help, --version\n\n"
        "example:\n"
        "  logit-lens --model m --final-ln scale --grid test.tagged | awk '$3 == \"VBD\"' | sort -k5,5gr | head\n");
    exit(0);
}

typedef struct opts {
    const char *model, *out, *input, *positions, *stories, *heads, *tokdir;
    int scale, top, grid, mean, threads;
} opts;

static void parse_args(int argc, char **argv, opts *o)
{
    enum { O_MODEL = 256, O_FLN, O_TOP, O_POS, O_STORY, O_HEADS, O_TOK, O_GRID, O_MEAN, O_THREADS, O_HELP, O_VERSION };
    static const struct option lo[] = {
        {"model", required_argument, 0, O_MODEL}, {"final-ln", required_argument, 0, O_FLN},
        {"top", required_argument, 0, O_TOP}, {"positions", required_argument, 0, O_POS},
        {"story", required_argument, 0, O_STORY}, {"heads", required_argument, 0, O_HEADS},
        {"tokenizer", required_argument, 0, O_TOK}, {"grid", no_argument, 0, O_GRID},
        {"mean", no_argument, 0, O_MEAN},
        {"threads", required_argument, 0, O_THREADS}, {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, O_HELP}, {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    *o = (opts){.threads = 2};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
        switch (c) {
        case O_MODEL: o->model = optarg; break;
        case O_FLN:
            o->scale = cli_parse_choice("--final-ln", optarg, (const char *const[]){"none", "scale", NULL});
            break;
        case O_TOP: o->top = (int)cli_parse_long("--top", optarg, 1, 100000); break;
        case O_POS: o->positions = optarg; break;
        case O_STORY: o->stories = optarg; break;
        case O_HEADS: o->heads = optarg; break;
        case O_TOK: o->tokdir = optarg; break;
        case O_GRID: o->grid = 1; break;
        case O_MEAN: o->mean = 1; break;
        case O_THREADS: o->threads = (int)cli_parse_long("--threads", optarg, 1, HPOOL_MAX_THREADS); break;
        case 'o': o->out = optarg; break;
        case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    o->input = cli_single_input(argc, argv);
    if (!o->model) die("no model (--model DIR)");
    if (!o->top == !o->grid) die("give one of --top K and --grid");
    if (o->mean && !o->top) die("--mean goes with --top K");
    if (o->grid && (o->positions || o->stories || o->tokdir))
        die("--grid takes every position of every story (no --positions, --story, --tokenizer)");
}

/* Attribution kernel: per layer, g = W_O^T v (so a head's c . v = z_h . g_h)
 * and, for the scale mode, s1 = W_O^T 1 (so sum(c) = z_h . s1_h). */
typedef struct lens {
    const gptneo_model *m;
    int scale;
    double *s1;  /* [L][D] column sums of W_O */
} lens;

static void lens_init(lens *ln, const gptneo_model *m, int scale)
{
    const int L = m->cfg.n_layer, D = m->cfg.n_embd;
    ln->m = m;
    ln->scale = scale;
    ln->s1 = xcalloc((size_t)L * D, sizeof(double));
    for (int l = 0; l < L; l++)
        for (int o = 0; o < D; o++)
            for (int k = 0; k < D; k++) ln->s1[(size_t)l * D + k] += m->w.layer[l].wo[(size_t)o * D + k];
}

/* The final LayerNorm's scale s_i of position t: sqrt(var(x_L[t]) + eps). */
static double final_scale(const gptneo_model *m, const gptneo_acts *a, int t)
{
    const int D = m->cfg.n_embd;
    const float *x = a->resid + ((size_t)2 * m->cfg.n_layer * a->T + t) * D;
    double s = 0, v = 0;
    for (int i = 0; i < D; i++) s += x[i];
    const double mu = s / D;
    for (int i = 0; i < D; i++) v += (x[i] - mu) * (x[i] - mu);
    return sqrt(v / D + m->cfg.ln_eps);
}

/* attr[l*H + h] = the attribution of every head at position t to the
 * unembedding row u (V x D row of the LM head). g: [D] scratch. */
static void attribute(const lens *ln, const gptneo_acts *a, int t, const float *u, double sigma,
                      double *g, double *attr)
{
    const gptneo_model *m = ln->m;
    const int L = m->cfg.n_layer, H = m->cfg.n_head, D = m->cfg.n_embd, dk = m->cfg.d_head;
    const float *wf = m->w.lnf_w;
    double sv = 0;
    for (int o = 0; o < D; o++) sv += ln->scale ? (double)wf[o] * u[o] : u[o];
    for (int l = 0; l < L; l++) {
        const float *wo = m->w.layer[l].wo; /* [D][D] */
        memset(g, 0, (size_t)D * sizeof *g);
        for (int o = 0; o < D; o++) {
            const double vo = ln->scale ? (double)wf[o] * u[o] : u[o];
            const float *row = wo + (size_t)o * D;
            for (int k = 0; k < D; k++) g[k] += row[k] * vo;
        }
        const float *z = a->z + ((size_t)l * a->T + t) * D;
        const double *s1 = ln->s1 + (size_t)l * D;
        for (int h = 0; h < H; h++) {
            double cv = 0, sc = 0;
            for (int j = 0; j < dk; j++) {
                cv += z[h * dk + j] * g[h * dk + j];
                sc += z[h * dk + j] * s1[h * dk + j];
            }
            attr[l * H + h] = ln->scale ? (cv - sc * sv / D) / sigma : cv;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Grid mode                                                           */

typedef struct grid_job {
    const lens *ln;
    const storyset *ss;
    char (*tags)[TAG_MAX + 1];  /* [n_tags] sorted */
    int n_tags;
    double **sum;               /* [story][L*H*(n_tags+1)] (slot n_tags: all) */
    long **cnt;                 /* [story][n_tags + 1] */
    gptneo_acts *acts;          /* [threads] */
    double **scratch;           /* [threads][D + L*H] */
} grid_job;

static int tag_index(const grid_job *j, const char *tag)
{
    int lo = 0, hi = j->n_tags - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(j->tags[mid], tag);
        if (!c) return mid;
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

static int grid_story(void *ctx, size_t si, int w, herr *e)
{
    grid_job *j = ctx;
    const gptneo_model *m = j->ln->m;
    const story_rec *s = &j->ss->s[si];
    const int T = (int)s->n_tokens, LH = m->cfg.n_layer * m->cfg.n_head, D = m->cfg.n_embd, K = j->n_tags + 1;
    gptneo_acts *a = &j->acts[w];
    if (gptneo_forward(m, j->ss->ids[si], T, a, e)) return herr_prefix(e, "story %u: ", s->story);
    double *g = j->scratch[w], *attr = g + D;
    double *sum = j->sum[si] = xcalloc((size_t)LH * K, sizeof(double));
    long *cnt = j->cnt[si] = xcalloc((size_t)K, sizeof(long));
    for (int t = 0; t + 1 < T; t++) {
        const uint32_t next = j->ss->ids[si][t + 1];
        const double sigma = j->ln->scale ? final_scale(m, a, t) : 1;
        attribute(j->ln, a, t, m->lm_head + (size_t)next * D, sigma, g, attr);
        int k = tag_index(j, s->tokens[t + 1].tag);
        for (int hh = 0; hh < LH; hh++) {
            sum[(size_t)hh * K + k] += attr[hh];
            sum[(size_t)hh * K + K - 1] += attr[hh];
        }
        cnt[k]++;
        cnt[K - 1]++;
    }
    return 0;
}

static int cmp_tag(const void *a, const void *b) { return strcmp(a, b); }

static void run_grid(const opts *o, const gptneo_model *m, const storyset *ss, const head_id *heads,
                     int nh, hpool *pool, FILE *f)
{
    lens ln;
    lens_init(&ln, m, o->scale);
    grid_job j = {.ln = &ln, .ss = ss};
    /* the distinct next-token tags, sorted */
    size_t cap = 64;
    j.tags = xmalloc(cap * sizeof *j.tags);
    for (size_t s = 0; s < ss->n; s++)
        for (uint32_t t = 1; t < ss->s[s].n_tokens; t++) {
            int found = 0;
            for (int k = 0; k < j.n_tags && !found; k++) found = !strcmp(j.tags[k], ss->s[s].tokens[t].tag);
            if (found) continue;
            if ((size_t)j.n_tags == cap) j.tags = xrealloc(j.tags, (cap *= 2) * sizeof *j.tags);
            strcpy(j.tags[j.n_tags++], ss->s[s].tokens[t].tag);
        }
    qsort(j.tags, (size_t)j.n_tags, sizeof *j.tags, cmp_tag);
    const int T = hpool_threads(pool), LH = m->cfg.n_layer * m->cfg.n_head, K = j.n_tags + 1;
    j.sum = xcalloc(ss->n, sizeof *j.sum);
    j.cnt = xcalloc(ss->n, sizeof *j.cnt);
    j.acts = xcalloc((size_t)T, sizeof *j.acts);
    j.scratch = xcalloc((size_t)T, sizeof *j.scratch);
    for (int w = 0; w < T; w++) {
        gptneo_acts_init(&j.acts[w]);
        j.acts[w].want_resid = o->scale;
        j.scratch[w] = xmalloc(((size_t)m->cfg.n_embd + LH) * sizeof(double));
    }
    herr e;
    if (hpool_for(pool, ss->n, HPOOL_DYNAMIC, grid_story, &j, &e)) die("%s", e.msg);
    /* totals in story order: the same for any thread count */
    double *sum = xcalloc((size_t)LH * K, sizeof(double));
    long *cnt = xcalloc((size_t)K, sizeof(long));
    for (size_t s = 0; s < ss->n; s++) {
        for (size_t i = 0; i < (size_t)LH * K; i++) sum[i] += j.sum[s][i];
        for (int k = 0; k < K; k++) cnt[k] += j.cnt[s][k];
        free(j.sum[s]);
        free(j.cnt[s]);
    }
    fprintf(f, "#layer\thead\ttag\tn\tmean\n");
    for (int k = 0; k < nh; k++) {
        const int l = heads[k].layer, h = heads[k].head, hh = l * m->cfg.n_head + h;
        fprintf(f, "%d\t%d\t(all)\t%ld\t%.9g\n", l, h, cnt[K - 1], sum[(size_t)hh * K + K - 1] / (double)cnt[K - 1]);
        for (int t = 0; t < j.n_tags; t++)
            if (cnt[t])
                fprintf(f, "%d\t%d\t%s\t%ld\t%.9g\n", l, h, story_tag_field(j.tags[t]), cnt[t],
                        sum[(size_t)hh * K + t] / (double)cnt[t]);
    }
    for (int w = 0; w < T; w++) {
        gptneo_acts_free(&j.acts[w]);
        free(j.scratch[w]);
    }
    free(j.acts); free(j.scratch); free(j.sum); free(j.cnt); free(j.tags); free(sum); free(cnt); free(ln.s1);
}

/* ------------------------------------------------------------------ */
/* Top mode                                                            */

/* Write a token's text as a TSV field: tabs, newlines, control bytes as spaces. */
static void put_text(FILE *f, const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++) fputc((unsigned char)t[i] < 0x20 || t[i] == 0x7f ? ' ' : t[i], f);
}

/* The positions of story s selected by --positions: [lo, hi) of a slice,
 * or a list.  Dies naming the story when one lies outside it. */
static int select_positions(const char *spec, const story_rec *s, int *pos)
{
    const int T = (int)s->n_tokens;
    int n = 0;
    herr he;
    if (!spec || strchr(spec, ':')) {
        tok_window w = {0, -1, 0};
        long lo, hi;
        if (spec && tok_window_parse(&w, spec, &he)) die("--positions: %s", he.msg);
        if (tok_window_resolve(&w, s, &lo, &hi, &he)) die("--positions: %s", he.msg);
        for (long t = lo; t < hi; t++) pos[n++] = (int)t;
        return n;
    }
    uint8_t *mask = xcalloc((size_t)1 << 20, 1);
    cli_parse_index_list("--positions", spec, mask, 1 << 20);
    for (int t = 0; t < (1 << 20); t++)
        if (mask[t]) {
            if (t >= T) die("--positions: position %d is outside story %u (%d tokens)", t, s->story, T);
            pos[n++] = t;
        }
    free(mask);
    return n;
}

/* --top's tokenizer, with --story and --positions checked against every
 * story: all refusals come before the first output line. */
static bpe *top_prepare(const opts *o, const storyset *ss)
{
    const char *td = o->tokdir ? o->tokdir : o->model;
    char vp[4200], mp[4200];
    snprintf(vp, sizeof vp, "%s/vocab.json", td);
    snprintf(mp, sizeof mp, "%s/merges.txt", td);
    herr he;
    bpe *b = bpe_load(vp, mp, &he);
    if (!b) die("--top needs a tokenizer (--tokenizer DIR with vocab.json + merges.txt): %s", he.msg);
    story_sel sel;
    if (story_sel_parse(&sel, o->stories, &he)) die("--story: %s", he.msg);
    int *pos = NULL;
    for (size_t si = 0; si < ss->n; si++) {
        if (!story_sel_take(&sel, ss->s[si].story)) continue;
        pos = xrealloc(pos, (size_t)ss->s[si].n_tokens * sizeof *pos);
        select_positions(o->positions, &ss->s[si], pos);
    }
    uint32_t miss;
    if (story_sel_missing(&sel, &miss)) die("--story: story %u is not in %s", miss, ss->name);
    story_sel_free(&sel);
    free(pos);
    return b;
}

static void run_top(const opts *o, const gptneo_model *m, const storyset *ss, const head_id *heads,
                    int nh, const bpe *b, FILE *f)
{
    const int D = m->cfg.n_embd, V = m->cfg.vocab_size, dk = m->cfg.d_head, K = o->top < V ? o->top : V;
    story_sel sel;
    herr he;
    if (story_sel_parse(&sel, o->stories, &he)) die("--story: %s", he.msg);
    gptneo_acts a;
    gptneo_acts_init(&a);
    a.want_resid = o->scale;
    float *c = xmalloc((size_t)D * sizeof *c), *lg = xmalloc((size_t)V * sizeof *lg);
    int *idx = xmalloc((size_t)K * sizeof *idx), *pos = NULL;
    double *csum = o->mean ? xcalloc((size_t)nh * D, sizeof(double)) : NULL; /* [nh][D] */
    long npos = 0;
    herr e;
    if (o->mean) fprintf(f, "#layer\thead\trank\tid\ttext\tmean_attribution\n");
    else fprintf(f, "#story\tpos\ttoken\tlayer\thead\trank\tid\ttext\tattribution\n");
    for (size_t si = 0; si < ss->n; si++) {
        const story_rec *s = &ss->s[si];
        if (!story_sel_take(&sel, s->story)) continue;
        const int T = (int)s->n_tokens;
        if (gptneo_forward(m, ss->ids[si], T, &a, &e)) die("story %u: %s", s->story, e.msg);
        pos = xrealloc(pos, (size_t)T * sizeof *pos);
        int np = select_positions(o->positions, s, pos);
        for (int pi = 0; pi < np; pi++) {
            const int t = pos[pi];
            char word[256];
            story_token_word(s, (uint32_t)t, word, sizeof word);
            const double sigma = o->scale ? final_scale(m, &a, t) : 1;
            for (int k = 0; k < nh; k++) {
                const int l = heads[k].layer, h = heads[k].head;
                const float *z = a.z + ((size_t)l * T + t) * D + h * dk, *wo = m->w.layer[l].wo + h * dk;
                double mean = 0;
                for (int r = 0; r < D; r++) { /* c = W_O[:, h] z_h */
                    double cr = 0;
                    for (int j = 0; j < dk; j++) cr += (double)wo[(size_t)r * D + j] * z[j];
                    c[r] = (float)cr;
                    mean += cr;
                }
                mean /= D;
                if (o->scale)
                    for (int r = 0; r < D; r++) c[r] = (float)(m->w.lnf_w[r] * (c[r] - mean) / sigma);
                if (o->mean) { /* attribution is linear in c: W_U of the mean c */
                    for (int r = 0; r < D; r++) csum[(size_t)k * D + r] += c[r];
                    continue;
                }
                cblas_sgemv(CblasRowMajor, CblasNoTrans, V, D, 1.0f, m->lm_head, D, c, 1, 0.0f, lg, 1);
                int nk = gptneo_topk(lg, V, K, idx);
                for (int r = 0; r < nk; r++) {
                    size_t tl;
                    const char *tt = bpe_token_text(b, (uint32_t)idx[r], &tl);
                    fprintf(f, "%u\t%d\t%s\t%d\t%d\t%d\t%d\t", s->story, t, word, l, h, r + 1, idx[r]);
                    put_text(f, tt ? tt : "", tt ? tl : 0);
                    fprintf(f, "\t%.9g\n", lg[idx[r]]);
                }
            }
            npos++;
        }
    }
    for (int k = 0; o->mean && k < nh; k++) {
        for (int r = 0; r < D; r++) c[r] = (float)(csum[(size_t)k * D + r] / (double)(npos ? npos : 1));
        cblas_sgemv(CblasRowMajor, CblasNoTrans, V, D, 1.0f, m->lm_head, D, c, 1, 0.0f, lg, 1);
        int nk = gptneo_topk(lg, V, K, idx);
        for (int r = 0; r < nk; r++) {
            size_t tl;
            const char *tt = bpe_token_text(b, (uint32_t)idx[r], &tl);
            fprintf(f, "%d\t%d\t%d\t%d\t", heads[k].layer, heads[k].head, r + 1, idx[r]);
            put_text(f, tt ? tt : "", tt ? tl : 0);
            fprintf(f, "\t%.9g\n", lg[idx[r]]);
        }
    }
    story_sel_free(&sel);
    gptneo_acts_free(&a);
    free(c); free(lg); free(idx); free(pos); free(csum);
}

int main(int argc, char **argv)
{
    herr he;
    cli_init(argv[0]);
    opts o;
    parse_args(argc, argv, &o);
    head_id heads[SELECT_MAX_HEADS];
    int nh = 0;
    char err[512];
    if (o.heads && strcmp(o.heads, "all") && (nh = head_list_parse(o.heads, heads, SELECT_MAX_HEADS, &he)) < 0)
        die("--heads: %s", err);
    gptneo_model m;
    herr e;
    cli_load_model(o.model, &m);
    for (int k = 0; k < nh; k++)
        if (heads[k].layer >= m.cfg.n_layer || heads[k].head >= m.cfg.n_head)
            die("--heads: L%dH%d is not in the model (%d layers, %d heads)", heads[k].layer, heads[k].head,
                m.cfg.n_layer, m.cfg.n_head);
    if (nh == 0)
        for (int l = 0; l < m.cfg.n_layer; l++)
            for (int h = 0; h < m.cfg.n_head; h++) heads[nh++] = (head_id){l, h};
    storyset ss;
    if (storyset_read(&ss, o.input, &m, o.grid ? STORYSET_TAGS : 0, &e)) die("%s", e.msg);
    bpe *b = o.grid ? NULL : top_prepare(&o, &ss);
    outfile *of = cli_open_output(o.out);
    cli_table_model_of(of->f, &m);
    fprintf(of->f, "# logit-lens: %s, final-ln %s, %zu stories of %s\n", o.grid ? "grid" : "top",
            o.scale ? "scale" : "none", ss.n, ss.name);
    if (o.grid) {
        hpool *pool = hpool_new(o.threads, &e);
        if (!pool) die("%s", e.msg);
        run_grid(&o, &m, &ss, heads, nh, pool, of->f);
        hpool_free(pool);
    } else {
        run_top(&o, &m, &ss, heads, nh, b, of->f);
        bpe_free(b);
    }
    cli_close_output(of);
    storyset_free(&ss);
    gptneo_free(&m);
    return 0;
}
