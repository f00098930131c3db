/* forward-dump: run GPT-Neo over a tokens (or tagged) stream and dump, per
 * token, the chosen heads' q, k, v, z (head output before out_proj) and
 * activity as an activations stream.
 *
 *   tokenize < stories.txt | postag-join | \
 *     forward-dump --model data/cache/models/tinystories-1m --vectors q,k > acts.hs
 *
 * Other modes (text on stdout, no stream):
 *   --logits K            top-K logits per token (TSV)
 *   --generate N          greedy continuation of --prompt TEXT / --prompt-ids
 *
 * Stories are independent: with --threads N each worker runs whole stories
 * (OpenBLAS single-threaded inside), output order = input order.  Memory is
 * one story's activations per worker plus a batch of output records.
 */
#include "text/bpe.h"
#include "cli/cli.h"
#include "io/outfile.h"
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

typedef struct job {
    const gptneo_model *m;
    const act_layout *L;
    story_rec *batch;  /* [n] */
    int n;
    int next;          /* next story to take (under lock) */
    int failed;        /* story index + 1 of the first failure */
    char err[512];
    pthread_mutex_t mu;
} job;

typedef struct worker {
    job *j;
    gptneo_acts a;
    uint32_t *ids;
    size_t ids_cap;
} worker;

/* Run one story and attach its floats [n_tokens][floats_per_token]. */
static int run_story(worker *w, story_rec *s, char *err, size_t errlen)
{
    const act_layout *L = w->j->L;
    const gptneo_model *m = w->j->m;
    const int dk = m->cfg.d_head;
    free(s->floats);
    s->floats = NULL;
    s->flags |= STORY_HAS_FLOATS;
    s->floats_per_token = (uint32_t)L->floats_per_token;
    const int T = (int)s->n_tokens;
    if (T == 0) return 0;
    if ((size_t)T > w->ids_cap) {
        w->ids = xrealloc(w->ids, (size_t)T * sizeof *w->ids);
        w->ids_cap = (size_t)T;
    }
    for (int t = 0; t < T; t++) w->ids[t] = s->tokens[t].id;
    char e2[400];
    if (gptneo_forward(m, w->ids, T, &w->a, e2, sizeof e2)) {
        snprintf(err, errlen, "story %u: %s", s->story, e2);
        return -1;
    }
    float *out = malloc((size_t)T * L->floats_per_token * sizeof(float)); /* [T][F] */
    if (!out) {
        snprintf(err, errlen, "story %u: out of memory", s->story);
        return -1;
    }
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

static void *worker_main(void *arg)
{
    worker *w = arg;
    job *j = w->j;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int i = j->failed ? j->n : j->next++;
        pthread_mutex_unlock(&j->mu);
        if (i >= j->n) break;
        char err[512];
        if (run_story(w, &j->batch[i], err, sizeof err)) {
            pthread_mutex_lock(&j->mu);
            if (!j->failed || i + 1 < j->failed) {
                j->failed = i + 1;
                snprintf(j->err, sizeof j->err, "%s", err);
            }
            pthread_mutex_unlock(&j->mu);
        }
    }
    return NULL;
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
    char err[400];
    if (T && gptneo_forward(m, ids, T, a, err, sizeof err)) die("story %u: %s", s->story, err);
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
        const char *e;
        if (bpe_encode(b, prompt, strlen(prompt), &tk, &e)) die("--prompt: %s", e);
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
    gptneo_acts a;
    gptneo_acts_init(&a);
    float *lg = xmalloc((size_t)m->cfg.vocab_size * sizeof(float)); /* [V] */
    int cur = n;
    for (;;) {
        if (gptneo_forward(m, ids, cur, &a, err, sizeof err)) die("%s", err);
        if (cur >= total) break;
        gptneo_logits(m, &a, cur - 1, 1, lg);
        int best;
        gptneo_topk(lg, m->cfg.vocab_size, 1, &best);
        ids[cur++] = (uint32_t)best;
    }
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
    free(lg);
    free(ids);
    gptneo_acts_free(&a);
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


int main(int argc, char **argv)
{
    cli_init(argv[0]);
    enum { O_MODEL = 256, O_VECTORS, O_LAYERS, O_HEADS, O_THREADS, O_LOGITS, O_GEN, O_PROMPT,
           O_PROMPT_IDS, O_TOK, O_IDS_TEXT, O_HELP, O_VERSION };
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL}, {"output", required_argument, 0, 'o'},
        {"vectors", required_argument, 0, O_VECTORS}, {"layers", required_argument, 0, O_LAYERS},
        {"heads", required_argument, 0, O_HEADS}, {"threads", required_argument, 0, O_THREADS},
        {"logits", required_argument, 0, O_LOGITS}, {"generate", required_argument, 0, O_GEN},
        {"prompt", required_argument, 0, O_PROMPT}, {"prompt-ids", required_argument, 0, O_PROMPT_IDS},
        {"tokenizer", required_argument, 0, O_TOK}, {"ids-text", no_argument, 0, O_IDS_TEXT}, {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    const char *model_dir = NULL, *out = NULL, *vectors = "q,k", *layers = "all", *heads = "all";
    const char *prompt = NULL, *prompt_ids = NULL, *tokdir = NULL;
    int threads = 2, logits_k = 0, gen = -1, ids_text = 0;
    int o;
    while ((o = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (o) {
        case O_MODEL: model_dir = optarg; break;
        case 'o': out = optarg; break;
        case O_VECTORS: vectors = optarg; break;
        case O_LAYERS: layers = optarg; break;
        case O_HEADS: heads = optarg; break;
        case O_THREADS: threads = (int)cli_parse_long("--threads", optarg, 1, 64); break;
        case O_LOGITS: logits_k = (int)cli_parse_long("--logits", optarg, 1, 1000); break;
        case O_GEN: gen = (int)cli_parse_long("--generate", optarg, 0, 1 << 20); break;
        case O_PROMPT: prompt = optarg; break;
        case O_PROMPT_IDS: prompt_ids = optarg; break;
        case O_TOK: tokdir = optarg; break;
        case O_IDS_TEXT: ids_text = 1; break;
        case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: die("unknown option (see --help)");
        }
    }
    const char *input = cli_single_input(argc, argv);
    if (!model_dir) die("no model (--model DIR with config.json + model.safetensors or pytorch_model.bin)");
    if (gen >= 0 && logits_k) die("--generate and --logits are separate modes");
    if (gen < 0 && (prompt || prompt_ids)) die("--prompt needs --generate N");
    if (gen >= 0 && !prompt == !prompt_ids) die("--generate needs exactly one of --prompt, --prompt-ids");
    if (gen >= 0 && input) die("--generate reads no input stream");

    gptneo_model m;
    char err[1024];
    if (gptneo_load(model_dir, &m, err, sizeof err)) die("%s", err);
    openblas_set_num_threads(1);

    if (gen >= 0) {
        outfile *of = outfile_open(out);
        FILE *f = of->f;
        generate(&m, prompt, prompt_ids, tokdir ? tokdir : model_dir, gen, f);
        outfile_close(of);
        gptneo_free(&m);
        return 0;
    }

    story_input in;
    memset(&in, 0, sizeof in);
    stream_header inh;
    header_init(&inh);
    if (ids_text) {
        in.name = input ? input : "stdin";
        in.f = input && strcmp(input, "-") ? fopen(input, "r") : stdin;
        if (!in.f) die("%s: cannot open", input);
        header_add(&inh, "source", "token ids from %s", in.name);
    } else {
        in.r = reader_open_or_die(input, (1u << STREAM_TOKENS) | (1u << STREAM_TAGGED));
        header_copy(&inh, reader_header(in.r));
    }
    if (logits_k) {
        outfile *of = outfile_open(out);
        FILE *f = of->f;
        char id[512];
        fprintf(f, "# model: %s  model-sha256: %s\n", gptneo_identity(&m, id, sizeof id),
                m.weights_sha256);
        fprintf(f, "# story\tpos\ttoken\tmean\tstd\ttop %d id:logit\n", logits_k);
        gptneo_acts a;
        gptneo_acts_init(&a);
        story_rec s;
        story_init(&s);
        while (input_next(&in, &s)) {
            if (!(s.flags & STORY_HAS_TOKENS)) die("story %u has no tokens", s.story);
            logits_story(&m, &a, &s, logits_k, f);
        }
        story_free(&s);
        gptneo_acts_free(&a);
        if (in.r) reader_close(in.r);
        outfile_close(of);
        gptneo_free(&m);
        return 0;
    }

    /* the layout */
    act_layout L;
    memset(&L, 0, sizeof L);
    L.d_head = m.cfg.d_head;
    L.n_layer = m.cfg.n_layer;
    L.n_head = m.cfg.n_head;
    L.window_size = m.cfg.window_size;
    for (int l = 0; l < m.cfg.n_layer; l++) L.local_layer[l] = m.cfg.local[l];
    uint8_t lmask[GPTNEO_MAX_LAYERS], hmask[GPTNEO_MAX_HEADS];
    cli_parse_index_list("--layers", layers, lmask, m.cfg.n_layer);
    cli_parse_index_list("--heads", heads, hmask, m.cfg.n_head);
    for (int l = 0; l < m.cfg.n_layer; l++)
        if (lmask[l]) L.layers[L.n_layers++] = l;
    for (int h = 0; h < m.cfg.n_head; h++)
        if (hmask[h]) L.heads[L.n_heads++] = h;
    if (!L.n_layers || !L.n_heads) die("no layer or head selected");
    parse_vectors(vectors, &L, m.cfg.d_head);
    L.floats_per_token = L.n_layers * L.n_heads * L.per_head;

    stream_header h;
    header_init(&h);
    header_copy(&h, &inh);
    if (header_get(&h, "model-sha256")) die("input already names a model (model-sha256); expected tokens");
    act_layout_to_header(&L, &h);
    add_model_identity(&h, &m);
    header_add_provenance(&h, argc, argv);
    stream_writer *w = writer_open(out, STREAM_ACTIVATIONS, &h, 0);
    header_free(&h);

    /* Batches of stories, run by the workers, written in order.  Two batch
     * buffers: the main thread writes (compresses) batch k while the workers
     * compute batch k+1. */
    const int B = threads * 8;
    job j;
    memset(&j, 0, sizeof j);
    j.m = &m;
    j.L = &L;
    story_rec *bufs[2] = {xcalloc((size_t)B, sizeof(story_rec)), xcalloc((size_t)B, sizeof(story_rec))};
    pthread_mutex_init(&j.mu, NULL);
    worker *ws = xcalloc((size_t)threads, sizeof *ws);
    pthread_t *tid = xcalloc((size_t)threads, sizeof *tid);
    for (int i = 0; i < threads; i++) {
        ws[i].j = &j;
        gptneo_acts_init(&ws[i].a);
        ws[i].a.want_activity = memchr(L.vecs, 'a', (size_t)L.n_vecs) != NULL;
    }
    for (int i = 0; i < B; i++) {
        story_init(&bufs[0][i]);
        story_init(&bufs[1][i]);
    }
    uint64_t done = 0;
    int cur = 0, pending = 0; /* stories of bufs[1 - cur] computed, not yet written */
    for (;;) {
        story_rec *batch = bufs[cur];
        int n = 0;
        while (n < B && input_next(&in, &batch[n])) {
            story_rec *s = &batch[n];
            if (!(s->flags & STORY_HAS_TOKENS)) die("story %u has no tokens", s->story);
            if (s->n_tokens > (uint32_t)m.cfg.n_positions)
                die("story %u: %u tokens exceed the model's %d positions", s->story, s->n_tokens,
                    m.cfg.n_positions);
            for (uint32_t t = 0; t < s->n_tokens; t++)
                if (s->tokens[t].id >= (uint32_t)m.cfg.vocab_size)
                    die("story %u: token id %u at position %u is outside the vocabulary (%d)", s->story,
                        s->tokens[t].id, t, m.cfg.vocab_size);
            n++;
        }
        int nt = threads < n ? threads : n;
        j.batch = batch;
        j.n = n;
        j.next = 0;
        for (int i = 0; i < nt; i++)
            if (pthread_create(&tid[i], NULL, worker_main, &ws[i])) die("cannot start a thread");
        for (int i = 0; i < pending; i++) story_write(w, &bufs[1 - cur][i]);
        done += (uint64_t)pending;
        if (pending) cli_progress("stories", done, 0);
        for (int i = 0; i < nt; i++) pthread_join(tid[i], NULL);
        if (j.failed) die("%s", j.err);
        pending = n;
        cur = 1 - cur;
        if (n < B) {
            for (int i = 0; i < pending; i++) story_write(w, &bufs[1 - cur][i]);
            break;
        }
    }
    cli_progress_end();
    writer_close(w);
    if (in.r) reader_close(in.r);
    if (in.f && in.f != stdin) fclose(in.f);
    free(in.line);
    header_free(&inh);
    for (int i = 0; i < B; i++) {
        story_free(&bufs[0][i]);
        story_free(&bufs[1][i]);
    }
    for (int i = 0; i < threads; i++) {
        gptneo_acts_free(&ws[i].a);
        free(ws[i].ids);
    }
    free(ws);
    free(tid);
    free(bufs[0]);
    free(bufs[1]);
    pthread_mutex_destroy(&j.mu);
    gptneo_free(&m);
    return 0;
}
