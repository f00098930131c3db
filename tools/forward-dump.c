/* forward-dump: run GPT-Neo over a tokens (or tagged) stream and dump, per
 * token, the chosen heads' q, k, v, z (head output before out_proj) and
 * activity as an activations stream.
 *
 *   tokenize < stories.txt | postag-join | \
 *     forward-dump --model data/cache/models/tinystories-1m --vectors q,k > acts.hs
 *
 * Reads: a tokens or tagged stream (or, --ids-text, lines of token ids) and a
 * model directory (config.json + model.safetensors or pytorch_model.bin).
 * Writes: an activations stream (the input's records plus the floats, its
 * header plus the layout and the model's identity); or, in the other modes,
 * text: --logits K (top-K logits per token, TSV), --generate N (greedy
 * continuation of --prompt TEXT / --prompt-ids).
 * Links: model/gptneo (the forward), model/generate, base/pool, text/bpe.
 *
 * Stories are independent: with --threads N each worker runs whole stories
 * (OpenBLAS single-threaded inside), output order = input order.  Memory is
 * one story's activations per worker plus two batches of output records.
 */
#include "text/bpe.h"
#include "base/pool.h"
#include "cli/cli.h"
#include "io/outfile.h"
#include "model/generate.h"
#include "model/gptneo.h"
#include "io/records.h"
#include "io/stream.h"

#include <cblas.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void openblas_set_num_threads(int num_threads);

static void usage(void)
{
    printf(
        "usage: forward-dump --model DIR [options] [INPUT]\n"
        "Run GPT-Neo (config.json + model.safetensors or pytorch_model.bin in DIR) over a\n"
        "tokens or tagged stream (stdin or INPUT) and write an activations stream: per\n"
        "token, per chosen layer and head, the chosen vectors ([layer][head][vector][d]).\n\n"
        "  --model DIR        model directory (required)\n"
        "  -o, --output FILE  output (default stdout; never a terminal)\n"
        "  --vectors LIST     any of q,k,v,z,a (a = activity ||W_O[:,h] z_h||_2); default q,k\n"
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
        "  forward-dump --model m --generate 12 --prompt 'Once upon a time'\n");
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

/* A batch of stories for the pool. */
typedef struct job {
    const gptneo_model *m;
    const act_layout *L;
    story_rec *batch;  /* [n] */
    worker *ws;        /* [threads] */
} job;

/* Run one story and attach its floats [n_tokens][floats_per_token]. */
static int run_story(void *ctx, size_t i, int wi, herr *e)
{
    job *j = ctx;
    worker *w = &j->ws[wi];
    story_rec *s = &j->batch[i];
    const act_layout *L = j->L;
    const gptneo_model *m = j->m;
    const int dk = m->cfg.d_head;
    free(s->floats);
    s->floats = NULL;
    s->flags |= STORY_HAS_FLOATS;
    s->floats_per_token = (uint32_t)L->floats_per_token;
    const int T = (int)s->n_tokens;
    if (T == 0) return 0;
    if ((size_t)T > w->ids_cap) {
        uint32_t *ids = realloc(w->ids, (size_t)T * sizeof *ids);
        if (!ids) return herr_set(e, "story %u: out of memory", s->story);
        w->ids = ids;
        w->ids_cap = (size_t)T;
    }
    for (int t = 0; t < T; t++) w->ids[t] = s->tokens[t].id;
    if (gptneo_forward(m, w->ids, T, &w->a, e)) return herr_prefix(e, "story %u: ", s->story);
    float *out = malloc((size_t)T * L->floats_per_token * sizeof(float)); /* [T][F] */
    if (!out) return herr_set(e, "story %u: out of memory", s->story);
    for (int t = 0; t < T; t++) {
        float *o = out + (size_t)t * L->floats_per_token;
        for (int li = 0; li < L->n_layers; li++)
            for (int hi = 0; hi < L->n_heads; hi++) {
                const int l = L->layers[li], h = L->heads[hi];
                for (int vi = 0; vi < L->n_vecs; vi++) {
                    if (L->vecs[vi] == 'a') {
                        *o++ = w->a.activity[((size_t)l * T + t) * m->cfg.n_head + h];
                    } else {
                        memcpy(o, gptneo_vec(&w->a, dk, l, t, h, L->vecs[vi]), (size_t)dk * sizeof(float));
                        o += dk;
                    }
                }
            }
    }
    s->floats = out;
    return 0;
}

static void parse_vectors(const char *s, act_layout *L, int d_head)
{
    int want[256] = {0};
    char *copy = xstrdup(s), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strlen(t) != 1 || !strchr("qkvza", t[0]))
            die("--vectors: '%s' is not one of q, k, v, z, a", t);
        want[(unsigned char)t[0]] = 1;
    }
    free(copy);
    L->n_vecs = 0;
    L->per_head = 0;
    for (const char *v = "qkvza"; *v; v++)
        if (want[(unsigned char)*v]) {
            L->vecs[L->n_vecs] = *v;
            L->vec_width[L->n_vecs] = *v == 'a' ? 1 : d_head;
            L->per_head += L->vec_width[L->n_vecs];
            L->n_vecs++;
        }
    if (!L->n_vecs) die("--vectors: empty list");
}

/* Model identity lines for a header. */
static void add_model_identity(stream_header *h, const gptneo_model *m)
{
    char id[512];
    header_add(h, "model", "%s", gptneo_identity(m, id, sizeof id));
    header_add(h, "model-name-or-path", "%s", m->cfg.name[0] ? m->cfg.name : "(none)");
    header_add(h, "model-path", "%s", m->dir);
    header_add(h, "model-weights", "%s", m->weights_path);
    header_add(h, "model-sha256", "%s", m->weights_sha256);
    header_add(h, "model-config-sha256", "%s", m->config_sha256);
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
    uint32_t *ids;
    int n;
    char err[512];
    if (prompt) {
        char vp[2100], mp[2100];
        snprintf(vp, sizeof vp, "%s/vocab.json", tokdir);
        snprintf(mp, sizeof mp, "%s/merges.txt", tokdir);
        if (access(vp, R_OK) || access(mp, R_OK))
            die("--prompt needs a tokenizer: %s has no vocab.json + merges.txt (use --tokenizer DIR or --prompt-ids)",
                tokdir);
        b = bpe_load(vp, mp, err, sizeof err);
        if (!b) die("%s", err);
        bpe_tokens tk = {0};
        const char *be;
        if (bpe_encode(b, prompt, strlen(prompt), &tk, &be)) die("--prompt: %s", be);
        n = (int)tk.n;
        if (!n) die("--prompt: no tokens");
        ids = xmalloc((size_t)n * sizeof *ids);
        for (int i = 0; i < n; i++) ids[i] = tk.v[i].id;
        bpe_tokens_free(&tk);
    } else {
        ids = parse_ids(prompt_ids, &n);
    }
    int total = n + N;
    if (total > m->cfg.n_positions)
        die("--generate %d after %d prompt tokens exceeds the model's %d positions", N, n,
            m->cfg.n_positions);
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
    if (in->r) return story_read_or_die(in->r, s);
    ssize_t len = getline(&in->line, &in->line_cap, in->f);
    if (len < 0) {
        if (ferror(in->f)) die("%s: read error", in->name);
        return 0;
    }
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
    header_init(inh);
    if (o->ids_text) {
        in->name = o->input ? o->input : "stdin";
        in->f = o->input && strcmp(o->input, "-") ? fopen(o->input, "r") : stdin;
        if (!in->f) die("%s: cannot open", o->input);
        header_add(inh, "source", "token ids from %s", in->name);
    } else {
        in->r = reader_open_or_die(o->input, (1u << STREAM_TOKENS) | (1u << STREAM_TAGGED));
        header_copy(inh, reader_header(in->r));
    }
}

static void close_input(story_input *in, stream_header *inh)
{
    if (in->r) reader_close(in->r);
    if (in->f && in->f != stdin) fclose(in->f);
    free(in->line);
    header_free(inh);
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

/* Read up to B stories into batch, checking them against the model.
 * @return the count */
static int read_batch(story_input *in, const gptneo_model *m, story_rec *batch, int B)
{
    int n = 0;
    while (n < B && input_next(in, &batch[n])) {
        const story_rec *s = &batch[n];
        if (!(s->flags & STORY_HAS_TOKENS)) die("story %u has no tokens", s->story);
        if (s->n_tokens > (uint32_t)m->cfg.n_positions)
            die("story %u: %u tokens exceed the model's %d positions", s->story, s->n_tokens,
                m->cfg.n_positions);
        for (uint32_t t = 0; t < s->n_tokens; t++)
            if (s->tokens[t].id >= (uint32_t)m->cfg.vocab_size)
                die("story %u: token id %u at position %u is outside the vocabulary (%d)", s->story,
                    s->tokens[t].id, t, m->cfg.vocab_size);
        n++;
    }
    return n;
}

/* The dump: batches of stories computed by the pool while the previous
 * batch is written (compressed) by this thread, in input order. */
static void run_dump(const opts *o, const gptneo_model *m, story_input *in, stream_header *inh,
                     int argc, char **argv)
{
    act_layout L;
    dump_layout(o, m, &L);
    if (header_get(inh, "model-sha256")) die("input already names a model (model-sha256); expected tokens");
    stream_header h;
    header_init(&h);
    header_copy(&h, inh);
    act_layout_to_header(&L, &h);
    add_model_identity(&h, m);
    header_add_provenance(&h, argc, argv);
    stream_writer *w = writer_open(o->out, STREAM_ACTIVATIONS, &h, 0);
    header_free(&h);

    herr e;
    hpool *pool = hpool_new(o->threads, &e);
    if (!pool) die("%s", e.msg);
    const int B = o->threads * 8;
    job j = {.m = m, .L = &L, .ws = xcalloc((size_t)o->threads, sizeof *j.ws)};
    for (int i = 0; i < o->threads; i++) {
        gptneo_acts_init(&j.ws[i].a);
        j.ws[i].a.want_activity = memchr(L.vecs, 'a', (size_t)L.n_vecs) != NULL;
    }
    story_rec *bufs[2] = {xcalloc((size_t)B, sizeof(story_rec)), xcalloc((size_t)B, sizeof(story_rec))};
    uint64_t done = 0, tokens = 0;
    int cur = 0, pending = 0; /* stories of bufs[1 - cur] computed, not yet written */
    for (;;) {
        int n = read_batch(in, m, bufs[cur], B);
        j.batch = bufs[cur];
        hpool_start(pool, (size_t)n, HPOOL_DYNAMIC, run_story, &j);
        for (int i = 0; i < pending; i++) {
            story_write(w, &bufs[1 - cur][i]);
            tokens += bufs[1 - cur][i].n_tokens;
        }
        done += (uint64_t)pending;
        if (pending) {
            char extra[48];
            snprintf(extra, sizeof extra, "%llu tokens", (unsigned long long)tokens);
            cli_progress_x("stories", done, 0, extra);
        }
        if (hpool_wait(pool, &e)) die("%s", e.msg);
        pending = n;
        cur = 1 - cur;
        if (n < B) {
            for (int i = 0; i < pending; i++) story_write(w, &bufs[1 - cur][i]);
            break;
        }
    }
    cli_progress_end();
    writer_close(w);
    hpool_free(pool);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < B; i++) story_free(&bufs[k][i]);
        free(bufs[k]);
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
    herr e;
    if (gptneo_load(o.model_dir, &m, &e)) die("%s", e.msg);
    openblas_set_num_threads(1);
    if (o.gen >= 0) {
        outfile *of = cli_open_output(o.out);
        generate(&m, o.prompt, o.prompt_ids, o.tokdir ? o.tokdir : o.model_dir, o.gen, of->f);
        cli_close_output(of);
    } else {
        story_input in;
        stream_header inh;
        open_input(&o, &in, &inh);
        if (o.logits_k) run_logits(&o, &m, &in);
        else run_dump(&o, &m, &in, &inh, argc, argv);
        close_input(&in, &inh);
    }
    gptneo_free(&m);
    return 0;
}
