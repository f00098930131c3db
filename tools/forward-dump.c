/* forward-dump: run GPT-Neo or GPT-2 over a tokens (or tagged) stream and
 * dump, per token, the chosen heads' q, k, v, z (head output before
 * out_proj / c_proj) and activity as an activations stream.
 *
 *   tokenize < stories.txt | postag-join | \
 *     forward-dump --model data/cache/models/tinystories-1m --vectors q,k > acts.hs
 *
 * Reads: a tokens or tagged stream (or, --ids-text, lines of token ids) and a
 * model directory (config.json + model.safetensors or pytorch_model.bin).
 * Writes: an activations stream (the input's records plus the floats, its
 * header plus the layout and the model's identity; a GPT-2 stream also says
 * model-type: gpt2 and how its scores are scaled, for attn-slice); or, in
 * the other modes,
 * text: --logits K (top-K logits per token, TSV), --generate N (greedy
 * continuation of --prompt TEXT / --prompt-ids).
 * Links: model/gptneo (the forward), model/generate, base/pool, text/bpe.
 *
 * Stories are independent: with --threads N each worker runs whole stories
 * (OpenBLAS single-threaded inside), output order = input order.  Memory is
 * one story's activations per worker plus two batches of output records.
 */
#include "text/bpe.h"
#include "text/textin.h"
#include "base/pool.h"
#include "cli/cli.h"
#include "cli/toolio.h"
#include "cli/toolmodel.h"
#include "io/outfile.h"
#include "model/generate.h"
#include "model/gptneo.h"
#include "io/records.h"
#include "io/stream.h"

#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static void usage(void)
{
    printf(
        "usage: forward-dump --model DIR [options] [INPUT]\n"
        "Run GPT-Neo or GPT-2 (Hugging Face config.json + model.safetensors or\n"
        "pytorch_model.bin in DIR) over a tokens or tagged stream (stdin or INPUT) and write\n"
        "an activations stream: per token, per chosen layer and head, the chosen vectors\n"
        "([layer][head][vector][d]).  q and k are dumped before GPT-2's 1/sqrt(d_head).\n\n"
        "  --model DIR        model directory (required)\n"
        "  -o, --output FILE  output (default stdout; never a terminal)\n"
        "  --vectors LIST     any of q,k,v,z,a (a = activity ||W_O[:,h] z_h||_2, GPT-2:\n"
        "                     ||z_h c_proj.weight[h*dk:(h+1)*dk,:]||_2); default q,k\n"
        "  --layers LIST      e.g. 0-3,7 or all (default all)\n"
        "  --heads LIST       e.g. 0,4,13 or all (default all)\n"
        "  --threads N        worker threads, one story each (default 2)\n"
        "  --ids-text         INPUT is text, one story per line of token ids (no text\n"
        "                     or spans travel; for sanity checks and benchmarks)\n"
        "  --logits K         instead of a stream, print the top-K logits of every token\n"
        "                     as TSV: story pos token mean std id:logit ...\n"
        "  --generate N       greedy continuation: N new tokens after --prompt TEXT\n"
        "                     (needs --tokenizer DIR with vocab.json + merges.txt, default\n"
        "                     the model dir) or after --prompt-ids ID,ID,...\n"
        "  --help, --version\n\n"
        "example:\n"
        "  tokenize < stories.txt | postag-join | forward-dump --model m --vectors q,k,z > acts.hs\n"
        "  forward-dump --model m --tokenizer data/cache/tokenizer --generate 12 --prompt 'Once upon a time'\n");
    exit(0);
}

/* ------------------------------------------------------------------ */
/* Dump mode: workers over a batch of stories                          */

/* One worker's scratch. */
typedef struct worker {
    gptneo_acts a;
    uint32_t *ids;
    size_t ids_cap;
} worker;

/* A batch for the pool: stories in input order, each run alone
 * (read_batch says why). */
typedef struct batch {
    story_rec *s;
    size_t n, cap;
} batch;

typedef struct job {
    const gptneo_model *m;
    const act_layout *L;
    const batch *b;
    worker *ws;        /* [threads] */
} job;

/* Grow an array of n elements of size sz to hold want. */
static int reserve(void **p, size_t *cap, size_t want, size_t sz)
{
    if (want <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < want) c *= 2;
    void *q = realloc(*p, c * sz);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* Run story si of the batch and attach its floats [n_tokens][floats_per_token]. */
static int run_story(void *ctx, size_t si, int wi, herr *e)
{
    job *j = ctx;
    worker *w = &j->ws[wi];
    const act_layout *L = j->L;
    const gptneo_model *m = j->m;
    const int dk = m->cfg.d_head;
    story_rec *s = &j->b->s[si];
    const size_t T = s->n_tokens;
    free(s->floats);
    s->floats = NULL;
    s->flags |= STORY_HAS_FLOATS;
    s->floats_per_token = (uint32_t)L->floats_per_token;
    if (!T) return 0;
    if (reserve((void **)&w->ids, &w->ids_cap, T, sizeof *w->ids))
        return herr_set(e, "story %u: out of memory", s->story);
    for (size_t t = 0; t < T; t++) w->ids[t] = s->tokens[t].id;
    if (gptneo_forward(m, w->ids, (int)T, &w->a, e)) return herr_prefix(e, "story %u: ", s->story);
    float *out = malloc(T * (size_t)L->floats_per_token * sizeof(float)); /* [T][F] */
    if (!out) return herr_set(e, "story %u: out of memory", s->story);
    for (size_t t = 0; t < T; t++) {
        float *o = out + t * (size_t)L->floats_per_token;
        for (int li = 0; li < L->n_layers; li++)
            for (int hi = 0; hi < L->n_heads; hi++) {
                const int l = L->layers[li], h = L->heads[hi];
                for (int vi = 0; vi < L->n_vecs; vi++) {
                    if (L->vecs[vi] == 'a') {
                        *o++ = w->a.activity[((size_t)l * T + t) * m->cfg.n_head + h];
                    } else {
                        memcpy(o, gptneo_vec(&w->a, dk, l, (int)t, h, L->vecs[vi]), (size_t)dk * sizeof(float));
                        o += dk;
                    }
                }
            }
    }
    s->floats = out;
    return 0;
}

/* --vectors into the layout, in the dump's order (ACT_VECTOR_KINDS). */
static void parse_vectors(const char *s, act_layout *L, int d_head)
{
    char want[ACT_MAX_VECS];
    int n;
    herr e;
    if (act_vectors_parse(s, ',', want, &n, &e)) die("--vectors: %s", e.msg);
    L->n_vecs = 0;
    L->per_head = 0;
    for (const char *v = ACT_VECTOR_KINDS; *v; v++)
        if (memchr(want, *v, (size_t)n)) {
            L->vecs[L->n_vecs] = *v;
            L->vec_width[L->n_vecs] = *v == 'a' ? 1 : d_head;
            L->per_head += L->vec_width[L->n_vecs];
            L->n_vecs++;
        }
}

/* A GPT-2 stream says so and how its attention scores are scaled (what
 * attn-slice recomputes); a GPT-Neo stream carries no such lines, so its
 * header is what it always was (no model-type line means gpt_neo, scale 1). */
static void add_model_type(stream_header *h, const gptneo_model *m)
{
    if (m->cfg.arch != MODEL_ARCH_GPT2) return;
    stream_header_set(h, "model-type", "gpt2");
    stream_header_set(h, "attention-scale", "%s", m->cfg.scale_attn_weights ? "sqrt-d-head" : "none");
    stream_header_set(h, "attention-scale-inverse-layer", "%s", m->cfg.scale_attn_inverse_layer ? "yes" : "no");
}

/* Model identity lines for a header. */
static void add_model_identity(stream_header *h, const gptneo_model *m)
{
    char id[512];
    stream_header_add(h, "model", "%s", gptneo_identity(m, id, sizeof id));
    stream_header_add(h, "model-name-or-path", "%s", m->cfg.name[0] ? m->cfg.name : "(none)");
    stream_header_add(h, "model-path", "%s", m->dir);
    stream_header_add(h, "model-weights", "%s", m->weights_path);
    stream_header_add(h, "model-sha256", "%s", m->weights_sha256);
    stream_header_add(h, "model-config-sha256", "%s", m->config_sha256);
}

/* ------------------------------------------------------------------ */
/* Logits mode                                                         */

static void logits_story(const gptneo_model *m, gptneo_acts *a, const story_rec *s, int K,
                         FILE *out)
{
    const int T = (int)s->n_tokens, V = m->cfg.vocab_size;
    uint32_t *ids = xmalloc((size_t)(T ? T : 1) * sizeof *ids);
    for (int t = 0; t < T; t++) ids[t] = s->tokens[t].id;
    herr e;
    if (T && gptneo_forward(m, ids, T, a, &e)) die("story %u: %s", s->story, e.msg);
    float *lg = xmalloc((size_t)V * sizeof(float)); /* [V] */
    int *idx = xmalloc((size_t)K * sizeof(int));
    for (int t = 0; t < T; t++) {
        gptneo_logits(m, a, t, 1, lg);
        double sum = 0, ss = 0;
        for (int i = 0; i < V; i++) sum += lg[i];
        double mean = sum / V;
        for (int i = 0; i < V; i++) ss += (lg[i] - mean) * (lg[i] - mean);
        /* std with Bessel's correction, as torch.Tensor.std() */
        double sd = V > 1 ? sqrt(ss / (V - 1)) : 0;
        int k = gptneo_topk(lg, V, K, idx);
        fprintf(out, "%u\t%d\t%u\t%.7g\t%.7g", s->story, t, ids[t], mean, sd);
        for (int i = 0; i < k; i++) fprintf(out, "\t%d:%.7g", idx[i], lg[idx[i]]);
        fputc('\n', out);
    }
    free(lg);
    free(idx);
    free(ids);
}

/* ------------------------------------------------------------------ */
/* Generate mode                                                       */

static uint32_t *parse_ids(const char *s, int *n)
{
    int cap = 16;
    uint32_t *ids = xmalloc((size_t)cap * sizeof *ids);
    *n = 0;
    char *copy = xstrdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (*n == cap) ids = xrealloc(ids, (size_t)(cap *= 2) * sizeof *ids);
        ids[(*n)++] = (uint32_t)cli_parse_long("--prompt-ids", t, 0, 0xffffffffL);
    }
    free(copy);
    if (!*n) die("--prompt-ids: empty list");
    return ids;
}

static void generate(const gptneo_model *m, const char *prompt, const char *prompt_ids,
                     const char *tokdir, int N, FILE *out)
{
    bpe *b = NULL;
    /* static: still reachable (not a leak) when die() refuses the prompt */
    static uint32_t *ids;
    int n;
    if (prompt) {
        char vp[2100], mp[2100];
        snprintf(vp, sizeof vp, "%s/vocab.json", tokdir);
        snprintf(mp, sizeof mp, "%s/merges.txt", tokdir);
        if (access(vp, R_OK) || access(mp, R_OK))
            die("--prompt needs a tokenizer: %s has no vocab.json + merges.txt (use --tokenizer DIR or --prompt-ids)",
                tokdir);
        herr he;
        b = bpe_load(vp, mp, &he);
        if (!b) die("%s", he.msg);
        bpe_tokens tk = {0};
        if (bpe_encode(b, prompt, strlen(prompt), &tk, &he)) die("--prompt: %s", he.msg);
        n = (int)tk.n;
        if (!n) die("--prompt: no tokens");
        ids = xmalloc((size_t)n * sizeof *ids);
        for (int i = 0; i < n; i++) ids[i] = tk.v[i].id;
        bpe_tokens_free(&tk);
    } else {
        ids = parse_ids(prompt_ids, &n);
    }
    int total = n + N;
    if (total > model_max_tokens(&m->cfg))
        die("--generate %d after %d prompt tokens exceeds the model's %d positions", N, n,
            model_max_tokens(&m->cfg));
    ids = xrealloc(ids, (size_t)(total > n ? total : n) * sizeof *ids);
    herr e;
    int cur = model_greedy(m, ids, n, total, -1, &e);
    if (cur < 0) die("%s", e.msg);
    char id[512];
    fprintf(out, "model\t%s\t%s\n", gptneo_identity(m, id, sizeof id), m->weights_sha256);
    fprintf(out, "ids");
    for (int i = 0; i < cur; i++) fprintf(out, "%c%u", i ? ',' : '\t', ids[i]);
    fputc('\n', out);
    if (b) {
        fprintf(out, "text\t");
        for (int i = 0; i < cur; i++) {
            size_t len;
            const char *t = bpe_token_text(b, ids[i], &len);
            if (t) fwrite(t, 1, len, out);
        }
        fputc('\n', out);
        bpe_free(b);
    }
    free(ids);
}

/* ------------------------------------------------------------------ */
/* Input: a tokens / tagged stream, or (--ids-text) lines of token ids   */

typedef struct story_input {
    stream_reader *r;     /* stream input, or NULL */
    FILE *f;              /* --ids-text input */
    const char *name;
    uint32_t story;       /* next story index for ids text */
    char *line;
    size_t line_cap;
} story_input;

/* Read the next story. @return 1, or 0 at the end. */
static int input_next(story_input *in, story_rec *s)
{
    if (in->r) return cli_read_story(in->r, s);
    ssize_t len = getline(&in->line, &in->line_cap, in->f);
    if (len < 0) {
        if (ferror(in->f)) die("%s: read error: %s", in->name, strerror(errno));
        return 0;
    }
    herr e;
    if (textin_check(in->line, (size_t)len, &e)) die("%s: line %u: %s", in->name, in->story + 1, e.msg);
    story_free(s);
    s->story = in->story++;
    s->flags = STORY_HAS_TOKENS;
    s->text = xstrdup("");
    uint32_t cap = 64;
    s->tokens = xcalloc(cap, sizeof *s->tokens);
    char *p = in->line;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n' || *p == '\r') p++;
        if (!*p) break;
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v > 0xffffffffUL || (*end && !strchr(" ,\t\r\n", *end)))
            die("%s: line %u: not a list of token ids", in->name, s->story + 1);
        if (s->n_tokens == cap) {
            cap *= 2;
            s->tokens = xrealloc(s->tokens, cap * sizeof *s->tokens);
            memset(s->tokens + s->n_tokens, 0, (cap - s->n_tokens) * sizeof *s->tokens);
        }
        s->tokens[s->n_tokens++].id = (uint32_t)v;
        p = end;
    }
    return 1;
}


typedef struct opts {
    const char *model_dir, *out, *vectors, *layers, *heads, *prompt, *prompt_ids, *tokdir, *input;
    int threads, logits_k, gen, ids_text;
} opts;

static void parse_args(int argc, char **argv, opts *o)
{
    enum { O_MODEL = 256, O_VECTORS, O_LAYERS, O_HEADS, O_THREADS, O_LOGITS, O_GEN, O_PROMPT,
           O_PROMPT_IDS, O_TOK, O_IDS_TEXT, O_HELP, O_VERSION };
    static const struct option lo[] = {
        {"model", required_argument, 0, O_MODEL}, {"output", required_argument, 0, 'o'},
        {"vectors", required_argument, 0, O_VECTORS}, {"layers", required_argument, 0, O_LAYERS},
        {"heads", required_argument, 0, O_HEADS}, {"threads", required_argument, 0, O_THREADS},
        {"logits", required_argument, 0, O_LOGITS}, {"generate", required_argument, 0, O_GEN},
        {"prompt", required_argument, 0, O_PROMPT}, {"prompt-ids", required_argument, 0, O_PROMPT_IDS},
        {"tokenizer", required_argument, 0, O_TOK}, {"ids-text", no_argument, 0, O_IDS_TEXT},
        {"help", no_argument, 0, O_HELP}, {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    *o = (opts){.vectors = "q,k", .layers = "all", .heads = "all", .threads = 2, .gen = -1};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
        switch (c) {
        case O_MODEL: o->model_dir = optarg; break;
        case 'o': o->out = optarg; break;
        case O_VECTORS: o->vectors = optarg; break;
        case O_LAYERS: o->layers = optarg; break;
        case O_HEADS: o->heads = optarg; break;
        case O_THREADS: o->threads = (int)cli_parse_long("--threads", optarg, 1, 64); break;
        case O_LOGITS: o->logits_k = (int)cli_parse_long("--logits", optarg, 1, 1000); break;
        case O_GEN: o->gen = (int)cli_parse_long("--generate", optarg, 0, 1 << 20); break;
        case O_PROMPT: o->prompt = optarg; break;
        case O_PROMPT_IDS: o->prompt_ids = optarg; break;
        case O_TOK: o->tokdir = optarg; break;
        case O_IDS_TEXT: o->ids_text = 1; break;
        case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    o->input = cli_single_input(argc, argv);
    if (!o->model_dir) die("no model (--model DIR with config.json + model.safetensors or pytorch_model.bin)");
    if (o->gen >= 0 && o->logits_k) die("--generate and --logits are separate modes");
    if (o->gen < 0 && (o->prompt || o->prompt_ids)) die("--prompt needs --generate N");
    if (o->gen >= 0 && !o->prompt == !o->prompt_ids) die("--generate needs exactly one of --prompt, --prompt-ids");
    if (o->gen >= 0 && o->input) die("--generate reads no input stream");
}

/* Open the input: a stream, or (--ids-text) a text file; its header in *inh. */
static void open_input(const opts *o, story_input *in, stream_header *inh)
{
    memset(in, 0, sizeof *in);
    stream_header_init(inh);
    if (o->ids_text) {
        herr e;
        if ((!o->input || !strcmp(o->input, "-")) && textin_stdin_check(&e)) die("%s", e.msg);
        in->name = o->input ? o->input : "stdin";
        in->f = o->input && strcmp(o->input, "-") ? fopen(o->input, "r") : stdin;
        if (!in->f) die("%s: cannot open: %s", o->input, strerror(errno));
        stream_header_add(inh, "source", "token ids from %s", in->name);
    } else {
        in->r = cli_open_input(o->input, (1u << STREAM_TOKENS) | (1u << STREAM_TAGGED));
        stream_header_copy(inh, stream_reader_header(in->r));
    }
}

static void close_input(story_input *in, stream_header *inh)
{
    if (in->r) stream_reader_close(in->r);
    if (in->f && in->f != stdin) fclose(in->f);
    free(in->line);
    stream_header_free(inh);
}

/* --logits K: a TSV line per token. */
static void run_logits(const opts *o, const gptneo_model *m, story_input *in)
{
    outfile *of = cli_open_output(o->out);
    char id[512];
    fprintf(of->f, "# model: %s  model-sha256: %s\n", gptneo_identity(m, id, sizeof id), m->weights_sha256);
    fprintf(of->f, "# story\tpos\ttoken\tmean\tstd\ttop %d id:logit\n", o->logits_k);
    gptneo_acts a;
    gptneo_acts_init(&a);
    story_rec s;
    story_init(&s);
    while (input_next(in, &s)) {
        if (!(s.flags & STORY_HAS_TOKENS)) die("story %u has no tokens", s.story);
        logits_story(m, &a, &s, o->logits_k, of->f);
    }
    story_free(&s);
    gptneo_acts_free(&a);
    cli_close_output(of);
}

/* The layout of the dump: the chosen layers, heads and vectors. */
static void dump_layout(const opts *o, const gptneo_model *m, act_layout *L)
{
    memset(L, 0, sizeof *L);
    L->d_head = m->cfg.d_head;
    L->n_layer = m->cfg.n_layer;
    L->n_head = m->cfg.n_head;
    L->window_size = m->cfg.window_size;
    for (int l = 0; l < m->cfg.n_layer; l++) L->local_layer[l] = m->cfg.local[l];
    uint8_t lmask[MODEL_MAX_LAYERS], hmask[MODEL_MAX_HEADS];
    cli_parse_index_list("--layers", o->layers, lmask, m->cfg.n_layer);
    cli_parse_index_list("--heads", o->heads, hmask, m->cfg.n_head);
    for (int l = 0; l < m->cfg.n_layer; l++)
        if (lmask[l]) L->layers[L->n_layers++] = l;
    for (int h = 0; h < m->cfg.n_head; h++)
        if (hmask[h]) L->heads[L->n_heads++] = h;
    if (!L->n_layers || !L->n_heads) die("no layer or head selected");
    parse_vectors(o->vectors, L, m->cfg.d_head);
    L->floats_per_token = L->n_layers * L->n_heads * L->per_head;
}

/* Read up to K stories into b, checking them against the model.  Each
 * story runs alone: grouping stories into one product
 * (gptneo_forward_stories) saved about 3% of GPT-2 small's forward here, but
 * BLAS kernels may round a row by its place in the product (OpenBLAS's
 * Haswell sgemm computes the last rows of a product another way), so a
 * story's floats would depend on its neighbours, i.e. on the input file and
 * its shards.  @return 1 if the input may have more stories, 0 at its end */
static int read_batch(story_input *in, const gptneo_model *m, batch *b, size_t K)
{
    b->n = 0;
    while (b->n < K) {
        if (b->n == b->cap) {
            size_t old = b->cap;
            if (reserve((void **)&b->s, &b->cap, b->n + 1, sizeof *b->s)) die("out of memory");
            memset(b->s + old, 0, (b->cap - old) * sizeof *b->s);
        }
        if (!input_next(in, &b->s[b->n])) return 0;
        const story_rec *s = &b->s[b->n++];
        if (!(s->flags & STORY_HAS_TOKENS)) die("story %u has no tokens", s->story);
        if (s->n_tokens > (uint32_t)model_max_tokens(&m->cfg))
            die("story %u: %u tokens exceed the model's %d positions", s->story, s->n_tokens,
                model_max_tokens(&m->cfg));
        for (uint32_t t = 0; t < s->n_tokens; t++)
            if (s->tokens[t].id >= (uint32_t)m->cfg.vocab_size)
                die("story %u: token id %u at position %u is outside the vocabulary (%d)", s->story,
                    s->tokens[t].id, t, m->cfg.vocab_size);
    }
    return 1;
}

/* The dump: batches of stories computed by the pool while the previous
 * batch is written (compressed) by this thread, in input order. */
static void run_dump(const opts *o, const gptneo_model *m, const act_layout *Lp, story_input *in,
                     stream_header *inh, int argc, char **argv)
{
    const act_layout L = *Lp;
    if (stream_header_get(inh, "model-sha256")) die("input already names a model (model-sha256); expected tokens");
    stream_header h;
    stream_header_init(&h);
    stream_header_copy(&h, inh);
    act_layout_to_header(&L, &h);
    add_model_type(&h, m);
    add_model_identity(&h, m);
    stream_header_add_provenance(&h, argc, argv);
    stream_writer *w = cli_open_stream(o->out, STREAM_ACTIVATIONS, &h);
    stream_header_free(&h);

    herr e;
    hpool *pool = hpool_new(o->threads, &e);
    if (!pool) die("%s", e.msg);
    const size_t K = (size_t)o->threads * 8; /* stories per batch */
    job j = {.m = m, .L = &L, .ws = xcalloc((size_t)o->threads, sizeof *j.ws)};
    for (int i = 0; i < o->threads; i++) {
        gptneo_acts_init(&j.ws[i].a);
        j.ws[i].a.want_activity = memchr(L.vecs, 'a', (size_t)L.n_vecs) != NULL;
    }
    batch bufs[2] = {{0}, {0}};
    uint64_t done = 0, tokens = 0;
    int cur = 0;
    size_t pending = 0; /* stories of bufs[1 - cur] computed, not yet written */
    for (;;) {
        int more = read_batch(in, m, &bufs[cur], K);
        j.b = &bufs[cur];
        hpool_start(pool, bufs[cur].n, HPOOL_DYNAMIC, run_story, &j);
        for (size_t i = 0; i < pending; i++) {
            cli_write_story(w, &bufs[1 - cur].s[i]);
            tokens += bufs[1 - cur].s[i].n_tokens;
        }
        done += (uint64_t)pending;
        if (pending) {
            char extra[48];
            snprintf(extra, sizeof extra, "%llu tokens", (unsigned long long)tokens);
            cli_progress_x("stories", done, 0, extra);
        }
        if (hpool_wait(pool, &e)) die("%s", e.msg);
        pending = bufs[cur].n;
        cur = 1 - cur;
        if (!more) {
            for (size_t i = 0; i < pending; i++) cli_write_story(w, &bufs[1 - cur].s[i]);
            break;
        }
    }
    cli_progress_end();
    cli_close_stream(w);
    hpool_free(pool);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < bufs[k].cap; i++) story_free(&bufs[k].s[i]);
        free(bufs[k].s);
    }
    for (int i = 0; i < o->threads; i++) {
        gptneo_acts_free(&j.ws[i].a);
        free(j.ws[i].ids);
    }
    free(j.ws);
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    opts o;
    parse_args(argc, argv, &o);
    gptneo_model m;
    cli_load_model(o.model_dir, &m);
    if (o.gen >= 0) {
        outfile *of = cli_open_output(o.out);
        generate(&m, o.prompt, o.prompt_ids, o.tokdir ? o.tokdir : o.model_dir, o.gen, of->f);
        cli_close_output(of);
    } else {
        story_input in;
        stream_header inh;
        act_layout L; /* the options checked against the model before any input is read */
        if (!o.logits_k) dump_layout(&o, &m, &L);
        open_input(&o, &in, &inh);
        if (o.logits_k) run_logits(&o, &m, &in);
        else run_dump(&o, &m, &L, &in, &inh, argc, argv);
        close_input(&in, &inh);
    }
    gptneo_free(&m);
    return 0;
}
