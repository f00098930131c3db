/* train: train a GPT-Neo model (TinyStories-1M's architecture by default) on
 * tokenized stories, so the study can run offline on a real, locally trained
 * model.
 *
 *   tokenize < stories.txt | train --prompt 'Once upon a time' -o models/standin
 *
 * Reads: a tokens (or tagged) stream, from tokenize: its stories are the
 * corpus, split, selected and tokenized as for every other tool.
 * Writes: DIR/config.json (Hugging Face GPT-Neo, "_name_or_path":
 * "heads-standin-tinystories-1m-arch" in TinyStories-1M's shape, else
 * "heads-standin-gptneo-<L>l-<H>h-<D>d"), DIR/model.safetensors, DIR/training.json
 * (what was done, held-out loss, greedy continuation of --prompt); with
 * --log a TSV of the steps, with --checkpoint weights + AdamW moments + data
 * position (resumed bit-identically with --resume).
 * Links: model/trainer (the run), model/generate and text/bpe (--prompt),
 * model/save (the model files).
 *
 * Deterministic: same input, options and --threads -> same weights.
 */
#include "base/pool.h"
#include "cli/cli.h"
#include "cli/toolio.h"
#include "io/outfile.h"
#include "io/records.h"
#include "io/stream.h"
#include "model/generate.h"
#include "model/gptneo.h"
#include "model/gptneo_train.h"
#include "model/save.h"
#include "model/trainer.h"
#include "text/bpe.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STANDIN_NAME "heads-standin-tinystories-1m-arch"

typedef struct opts {
    trainer_opts t;
    model_config cfg;
    const char *input, *tokdir, *out, *log, *ckpt, *resume, *prompt;
    long eval_every, log_every, ckpt_every, gen_tokens, stop_after;
    bpe *tok;              /* --prompt: the tokenizer and the prompt's tokens, */
    bpe_tokens prompt_ids; /* loaded before the training */
} opts;

static void usage(void)
{
    printf(
"usage: train [options] -o DIR [TOKENS]\n"
"Train a GPT-Neo model (TinyStories-1M's architecture by default) on the stories\n"
"of a tokens stream (tokenize's output; default stdin).  Writes DIR/config.json +\n"
"DIR/model.safetensors (Hugging Face names) named \"" STANDIN_NAME "\"\n"
"(another shape: \"heads-standin-gptneo-<L>l-<H>h-<D>d\"): a locally trained\n"
"stand-in, never TinyStories-1M.\n\n"
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
"  --ema D (0)          save the average of the weights over the steps (an\n"
"                       exponential moving average with decay D, e.g. 0.999,\n"
"                       bias-corrected); 0: save the last step's weights\n"
"  --full-vocab         give every token its own trained wte row; by default the\n"
"                       tokens absent from the training stories share one row\n"
"                       (the same loss, exactly, with an LM head ~7x smaller)\n"
"model (default TinyStories-1M: 64 hidden, 16 heads, 8 layers, 256 inner):\n"
"  --hidden N --heads N --layers N --inner N --window N --positions N\n"
"  --eos N (50256)      end-of-story token id\n"
"logging / state:\n"
"  --eval-every N (100) held-out loss every N steps (and at the end)\n"
"  --log-every N (10)   a --log line every N steps\n"
"  --log FILE           TSV log: step tokens lr train_loss heldout_loss grad_norm seconds\n"
"                       heldout_loss_ema (the average's; NA without --ema)\n"
"  --checkpoint FILE    write weights + optimizer state here (every --checkpoint-every\n"
"                       N steps, default 100, and at the end)\n"
"  --resume FILE        continue from a checkpoint (same model config and data)\n"
"  --stop-after N       stop after step N with a checkpoint and no model (an interruption)\n"
"  --prompt TEXT        after training, log the greedy continuation of TEXT\n"
"  --tokenizer DIR      vocab.json + merges.txt for --prompt (default data/cache/tokenizer)\n"
"  --gen-tokens N (40)  tokens to generate\n"
"  -o, --output DIR     model directory (created)\n"
"  --help, --version\n"
"stderr: the run's setup, then one progress line (step, loss, held-out loss,\n"
"tokens/s, time left) on a terminal, or a line at 1/4, 1/2 and 3/4 of the steps\n"
"in a log; then the held-out loss, the speed and the greedy continuation.\n\n"
"example:\n"
"  tokenize < data/cache/stories/tinystories-train-first2316.txt | \\\n"
"    train --prompt 'Once upon a time' -o models/standin\n");
    exit(0);
}

/* Is c TinyStories-1M's shape (the stand-in's name claims that much)? */
static int same_shape(const model_config *c, const model_config *ts)
{
    if (c->n_embd != ts->n_embd || c->n_head != ts->n_head || c->n_layer != ts->n_layer ||
        c->n_inner != ts->n_inner || c->n_positions != ts->n_positions ||
        c->vocab_size != ts->vocab_size || c->window_size != ts->window_size)
        return 0;
    for (int l = 0; l < c->n_layer; l++)
        if (c->local[l] != ts->local[l]) return 0;
    return 1;
}

static void parse_args(int argc, char **argv, opts *o)
{
    enum { O_STEPS = 256, O_BATCH, O_SEQ, O_LR, O_WARM, O_MINLR, O_WD, O_B1, O_B2, O_AEPS, O_CLIP,
           O_HELD, O_SEED, O_THREADS, O_HIDDEN, O_HEADS, O_LAYERS, O_INNER, O_WINDOW, O_POS, O_EOS,
           O_EVAL, O_LOGEV, O_LOG, O_CKPT, O_CKEV, O_RESUME, O_PROMPT, O_TOK, O_GEN, O_STOP, O_ESTD,
           O_DROP, O_FULLV, O_EMA, O_HELP, O_VERSION };
    static const struct option lo[] = {
        {"output", required_argument, 0, 'o'}, {"steps", required_argument, 0, O_STEPS},
        {"batch", required_argument, 0, O_BATCH}, {"seq-len", required_argument, 0, O_SEQ},
        {"lr", required_argument, 0, O_LR}, {"warmup", required_argument, 0, O_WARM},
        {"min-lr-frac", required_argument, 0, O_MINLR}, {"weight-decay", required_argument, 0, O_WD},
        {"beta1", required_argument, 0, O_B1}, {"beta2", required_argument, 0, O_B2},
        {"adam-eps", required_argument, 0, O_AEPS}, {"clip", required_argument, 0, O_CLIP},
        {"heldout", required_argument, 0, O_HELD}, {"seed", required_argument, 0, O_SEED},
        {"threads", required_argument, 0, O_THREADS}, {"hidden", required_argument, 0, O_HIDDEN},
        {"heads", required_argument, 0, O_HEADS}, {"layers", required_argument, 0, O_LAYERS},
        {"inner", required_argument, 0, O_INNER}, {"window", required_argument, 0, O_WINDOW},
        {"positions", required_argument, 0, O_POS}, {"eos", required_argument, 0, O_EOS},
        {"eval-every", required_argument, 0, O_EVAL}, {"log-every", required_argument, 0, O_LOGEV},
        {"log", required_argument, 0, O_LOG}, {"checkpoint", required_argument, 0, O_CKPT},
        {"checkpoint-every", required_argument, 0, O_CKEV}, {"resume", required_argument, 0, O_RESUME},
        {"prompt", required_argument, 0, O_PROMPT}, {"tokenizer", required_argument, 0, O_TOK},
        {"gen-tokens", required_argument, 0, O_GEN}, {"stop-after", required_argument, 0, O_STOP},
        {"embed-std", required_argument, 0, O_ESTD}, {"dropout", required_argument, 0, O_DROP},
        {"full-vocab", no_argument, 0, O_FULLV}, {"ema", required_argument, 0, O_EMA}, {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    trainer_opts *t = &o->t;
    model_config *c = &o->cfg;
    int ch, inner_set = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
        switch (ch) {
        case 'o': o->out = optarg; break;
        case O_STEPS: t->steps = cli_parse_long("--steps", optarg, 1, 100000000); break;
        case O_BATCH: t->batch = cli_parse_long("--batch", optarg, 1, 1000000); break;
        case O_SEQ: t->seq_len = cli_parse_long("--seq-len", optarg, 2, 65536); break;
        case O_LR: t->lr = cli_parse_double("--lr", optarg); break;
        case O_WARM: t->warmup = cli_parse_long("--warmup", optarg, 0, 100000000); break;
        case O_MINLR: t->min_lr_frac = cli_parse_double("--min-lr-frac", optarg); break;
        case O_WD: t->weight_decay = cli_parse_double("--weight-decay", optarg); break;
        case O_B1: t->beta1 = cli_parse_double("--beta1", optarg); break;
        case O_B2: t->beta2 = cli_parse_double("--beta2", optarg); break;
        case O_AEPS: t->adam_eps = cli_parse_double("--adam-eps", optarg); break;
        case O_CLIP: t->clip = cli_parse_double("--clip", optarg); break;
        case O_HELD: t->heldout = cli_parse_double("--heldout", optarg); break;
        case O_SEED: t->seed = (uint64_t)cli_parse_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
        case O_THREADS: t->threads = cli_parse_long("--threads", optarg, 1, HPOOL_MAX_THREADS); break;
        case O_HIDDEN: c->n_embd = (int)cli_parse_long("--hidden", optarg, 1, 8192); break;
        case O_HEADS: c->n_head = (int)cli_parse_long("--heads", optarg, 1, MODEL_MAX_HEADS); break;
        case O_LAYERS: c->n_layer = (int)cli_parse_long("--layers", optarg, 1, MODEL_MAX_LAYERS); break;
        case O_INNER: c->n_inner = (int)cli_parse_long("--inner", optarg, 1, 65536); inner_set = 1; break;
        case O_WINDOW: c->window_size = (int)cli_parse_long("--window", optarg, 1, 65536); break;
        case O_POS: c->n_positions = (int)cli_parse_long("--positions", optarg, 2, 65536); break;
        case O_EOS: t->eos = cli_parse_long("--eos", optarg, 0, 1000000); break;
        case O_EVAL: o->eval_every = cli_parse_long("--eval-every", optarg, 0, 100000000); break;
        case O_LOGEV: o->log_every = cli_parse_long("--log-every", optarg, 1, 100000000); break;
        case O_LOG: o->log = optarg; break;
        case O_CKPT: o->ckpt = optarg; break;
        case O_CKEV: o->ckpt_every = cli_parse_long("--checkpoint-every", optarg, 1, 100000000); break;
        case O_RESUME: o->resume = optarg; break;
        case O_PROMPT: o->prompt = optarg; break;
        case O_TOK: o->tokdir = optarg; break;
        case O_GEN: o->gen_tokens = cli_parse_long("--gen-tokens", optarg, 0, 100000); break;
        case O_STOP: o->stop_after = cli_parse_long("--stop-after", optarg, 1, 100000000); break;
        case O_ESTD: t->embed_std = cli_parse_double("--embed-std", optarg); break;
        case O_DROP: t->dropout = cli_parse_double("--dropout", optarg); break;
        case O_EMA: t->ema = cli_parse_double("--ema", optarg); break;
        case O_FULLV: t->full_vocab = 1; break;
        case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    if (!inner_set) c->n_inner = 4 * c->n_embd;
    if (c->n_embd % c->n_head == 0) c->d_head = c->n_embd / c->n_head;
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) c->local[l] = l < c->n_layer ? (unsigned char)(l % 2) : 0;
    c->ln_eps = (float)c->ln_eps; /* the trainer computes in float32: its epsilon is a float */
    /* only TinyStories-1M's own shape carries its name; a test shape says what it is */
    model_config ts;
    model_config_tinystories_1m(&ts);
    if (same_shape(c, &ts)) snprintf(c->name, sizeof c->name, "%s", STANDIN_NAME);
    else snprintf(c->name, sizeof c->name, "heads-standin-gptneo-%dl-%dh-%dd", c->n_layer, c->n_head, c->n_embd);
    o->input = cli_single_input(argc, argv);
    if (!o->out) die("no output directory (-o DIR)");
    herr e;
    if (c->n_embd % c->n_head) die("model config: hidden size not divisible by the head count");
    if (gnt_config_check(c, &e)) die("model config: %s", e.msg);
    if (!(t->heldout >= 0 && t->heldout < 1)) die("--heldout takes a fraction in [0, 1)");
    if (!(t->embed_std > 0)) die("--embed-std must be > 0");
    if (!(t->dropout >= 0 && t->dropout < 0.9)) die("--dropout must be in [0, 0.9)");
    if (!(t->ema >= 0 && t->ema < 1)) die("--ema must be in [0, 1)");
    if (!(t->lr > 0) || !(t->clip >= 0) || !(t->weight_decay >= 0))
        die("--lr must be > 0, --clip and --weight-decay >= 0");
    if (!(t->beta1 >= 0 && t->beta1 < 1) || !(t->beta2 >= 0 && t->beta2 < 1))
        die("--beta1 and --beta2 must be in [0, 1)");
    if (!(t->adam_eps > 0)) die("--adam-eps must be > 0");
    if (!(t->min_lr_frac >= 0 && t->min_lr_frac <= 1)) die("--min-lr-frac must be in [0, 1]");
    /* the outputs, before hours of training (written only at the end) */
    if (model_save_check(o->out, 1, &e)) die("-o %s", e.msg);
    if (o->ckpt && model_save_check(o->ckpt, 0, &e)) die("--checkpoint %s", e.msg);
    if (o->log && model_save_check(o->log, 0, &e)) die("--log %s", e.msg);
}

/* The corpus: every story of the input stream, its token ids. */
static void read_corpus(const char *path, int vocab, train_corpus *c)
{
    stream_reader *r = cli_open_input(path, (1u << STREAM_TOKENS) | (1u << STREAM_TAGGED));
    story_rec s;
    story_init(&s);
    uint32_t *ids = NULL;
    size_t cap = 0;
    herr e;
    while (cli_read_story(r, &s)) {
        if (!(s.flags & STORY_HAS_TOKENS)) die("%s: story %u has no tokens", stream_reader_name(r), s.story);
        if (s.n_tokens > cap) ids = xrealloc(ids, (cap = s.n_tokens * 2) * sizeof *ids);
        for (uint32_t i = 0; i < s.n_tokens; i++) ids[i] = s.tokens[i].id;
        if (train_corpus_add(c, ids, s.n_tokens, vocab, &e)) die("%s: story %u: %s", stream_reader_name(r), s.story, e.msg);
    }
    if (c->n == 0) die("empty corpus: no story with tokens in %s", stream_reader_name(r));
    free(ids);
    story_free(&s);
    stream_reader_close(r);
}

static double now_s(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* --prompt: its tokenizer and tokens, checked before the training. */
static void load_prompt(opts *o)
{
    char vp[4200], mp[4200];
    snprintf(vp, sizeof vp, "%s/vocab.json", o->tokdir);
    snprintf(mp, sizeof mp, "%s/merges.txt", o->tokdir);
    herr he;
    if (!(o->tok = bpe_load(vp, mp, &he))) die("%s", he.msg);
    if (bpe_encode(o->tok, o->prompt, strlen(o->prompt), &o->prompt_ids, &he) != 0) die("--prompt: %s", he.msg);
    if (o->prompt_ids.n == 0) die("--prompt is empty");
    for (size_t i = 0; i < o->prompt_ids.n; i++)
        if (o->prompt_ids.v[i].id >= (uint32_t)o->cfg.vocab_size)
            die("--prompt: token id %u is outside the model's vocabulary of %d", o->prompt_ids.v[i].id,
                o->cfg.vocab_size);
}

/* The greedy continuation of --prompt by the model being saved ('\n' -> ' '). */
static char *sample(opts *o, const model_config *c, const float *params)
{
    bpe *b = o->tok;
    bpe_tokens toks = o->prompt_ids;
    const int T = (int)o->t.seq_len, n = (int)toks.n < T ? (int)toks.n : T;
    uint32_t *ids = xcalloc((size_t)T, sizeof *ids);
    for (int i = 0; i < n; i++) ids[i] = toks.v[i].id;
    gptneo_model m;
    herr e;
    if (gptneo_from_params(&m, c, params, &e)) die("%s", e.msg);
    int total = model_greedy(&m, ids, n, n + (int)o->gen_tokens < T ? n + (int)o->gen_tokens : T,
                             (int)o->t.eos, &e);
    if (total < 0) die("--prompt: %s", e.msg);
    size_t len = strlen(o->prompt), cap = len + 1;
    char *out = xmalloc(cap);
    memcpy(out, o->prompt, len + 1);
    for (int i = n; i < total; i++) {
        size_t tl;
        const char *tt = bpe_token_text(b, ids[i], &tl);
        if (!tt) break;
        out = xrealloc(out, cap = len + tl + 1);
        memcpy(out + len, tt, tl);
        out[len += tl] = 0;
    }
    for (size_t i = 0; i < len; i++) if (out[i] == '\n') out[i] = ' ';
    gptneo_free(&m);
    free(ids);
    bpe_tokens_free(&o->prompt_ids);
    bpe_free(o->tok);
    o->tok = NULL;
    return out;
}

/* The run's record, DIR/training.json. */
static void write_training_json(const opts *o, const trainer *t, const trainer_info *inf,
                                double last_train, double last_held, double held_last_step,
                                double t_train, const char *cont, int argc, char **argv)
{
    json_t *j = json_object();
    json_object_set_new(j, "model", json_string(o->cfg.name));
    json_object_set_new(j, "note", json_string(strcmp(o->cfg.name, STANDIN_NAME)
        ? "locally trained GPT-Neo test model (not TinyStories-1M's shape) with its tokenizer; not TinyStories-1M"
        : "locally trained stand-in with TinyStories-1M's architecture and tokenizer; not TinyStories-1M"));
    json_object_set_new(j, "input", json_string(o->input ? o->input : "stdin"));
    json_object_set_new(j, "tokens_sha256", json_string(inf->tokens_sha256));
    json_object_set_new(j, "stories", json_integer(inf->n_stories));
    json_object_set_new(j, "train_stories", json_integer(inf->n_train));
    json_object_set_new(j, "heldout_stories", json_integer(inf->n_heldout));
    json_object_set_new(j, "steps", json_integer(trainer_step_count(t)));
    json_object_set_new(j, "tokens_seen", json_integer(trainer_tokens_seen(t)));
    json_object_set_new(j, "seed", json_integer((json_int_t)o->t.seed));
    json_object_set_new(j, "threads", json_integer(o->t.threads < o->t.batch ? o->t.threads : o->t.batch));
    json_object_set_new(j, "batch_rows", json_integer(o->t.batch));
    json_object_set_new(j, "seq_len", json_integer(o->t.seq_len));
    json_object_set_new(j, "lr", json_real(o->t.lr));
    json_object_set_new(j, "dropout", json_real(o->t.dropout));
    json_object_set_new(j, "ema", json_real(o->t.ema));
    json_object_set_new(j, "trained_wte_rows", json_integer(inf->train_vocab));
    json_object_set_new(j, "tokens_sharing_one_row", json_integer(inf->n_unseen));
    json_object_set_new(j, "train_loss", isnan(last_train) ? json_null() : json_real(last_train));
    json_object_set_new(j, "heldout_loss", isnan(last_held) ? json_null() : json_real(last_held));
    if (o->t.ema > 0) /* the saved model is the average; this is the last step's weights */
        json_object_set_new(j, "heldout_loss_last_step",
                            isnan(held_last_step) ? json_null() : json_real(held_last_step));
    json_object_set_new(j, "train_seconds", json_real(t_train));
    if (cont) {
        json_object_set_new(j, "prompt", json_string(o->prompt));
        json_object_set_new(j, "greedy", json_string(cont));
    }
    char *args = cli_join_args(argc, argv);
    if (!args) die("out of memory");
    json_object_set_new(j, "command", json_string(args));
    free(args);
    char *js = json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(j);
    if (!js) die("out of memory writing training.json");
    char *path = xmalloc(strlen(o->out) + 32);
    sprintf(path, "%s/training.json", o->out);
    outfile *of = cli_open_output(path);
    fprintf(of->f, "%s\n", js);
    cli_close_output(of);
    free(path);
    free(js);
}

/* After the last step: the saved model's held-out loss, throughput, the
 * greedy continuation, the model files, training.json.  last_held and
 * last_avg: the held-out losses of the last step's weights and of their
 * average (the saved model with --ema), in the training vocabulary. */
static void finish(opts *o, trainer *t, const trainer_info *inf, long tok_run,
                   double t_train, double cpu, double last_train, double last_held,
                   double last_avg, int argc, char **argv)
{
    herr e;
    long ht;
    const double held_last_step = last_held;
    if (o->t.ema > 0) last_held = last_avg;
    if (inf->n_heldout > 0) {
        double full_held = trainer_heldout_loss_full(t, TRAINER_AVERAGE, &ht, &e);
        if (full_held < 0) die("%s", e.msg);
        if (!isnan(last_held) && inf->n_unseen > 0)
            fprintf(stderr, "train: held-out loss %.4f nats/token (%ld tokens) of the saved model "
                    "(%.4f from the training vocabulary)\n", full_held, ht, last_held);
        else
            fprintf(stderr, "train: held-out loss %.4f nats/token (%ld tokens)\n", full_held, ht);
        if (o->t.ema > 0 && !isnan(held_last_step))
            fprintf(stderr, "train: the saved model is the weights' average (--ema %g); the last "
                    "step's weights score %.4f\n", o->t.ema, held_last_step);
        last_held = full_held;
    }
    double lm, tot;
    trainer_times(t, &lm, &tot);
    if (tok_run)
        fprintf(stderr, "train: %ld tokens in %.1f s: %.0f tokens/s on %d threads (%.0f tokens per "
                "CPU-second, evaluation included); LM head + loss %.0f%% of forward/backward time\n",
                tok_run, t_train, tok_run / t_train, (int)(o->t.threads < o->t.batch ? o->t.threads : o->t.batch),
                tok_run / cpu, tot > 0 ? 100 * lm / tot : 0);
    float *pf = xmalloc(model_param_count(&o->cfg) * sizeof(float));
    trainer_full_params(t, TRAINER_AVERAGE, pf);
    char *cont = o->prompt ? sample(o, &o->cfg, pf) : NULL;
    if (cont) fprintf(stderr, "train: greedy: %s\n", cont);
    tensor_set ts;
    tensors_init(&ts);
    if (model_params_to_tensors(&o->cfg, pf, &ts, &e) ||
        model_save_dir(o->out, &o->cfg, MODEL_ORIGIN_STANDIN, (int)o->t.eos, &ts, &e))
        die("%s", e.msg);
    tensors_free(&ts);
    free(pf);
    write_training_json(o, t, inf, last_train, last_held, held_last_step, t_train, cont, argc, argv);
    free(cont);
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    opts o = {.tokdir = "data/cache/tokenizer", .eval_every = 100, .log_every = 10,
              .ckpt_every = 100, .gen_tokens = 40};
    trainer_opts_default(&o.t);
    model_config_tinystories_1m(&o.cfg);
    parse_args(argc, argv, &o);
    if (o.prompt) load_prompt(&o);

    train_corpus c;
    train_corpus_init(&c);
    read_corpus(o.input, o.cfg.vocab_size, &c);
    herr e;
    trainer_info inf;
    const size_t corpus_tokens = c.ntok;  /* trainer_new takes the corpus over */
    trainer *t = trainer_new(&o.cfg, &o.t, &c, &inf, &e);
    if (!t) die("%s", e.msg);
    if (o.resume && trainer_resume(t, o.resume, &e)) die("%s", e.msg);
    FILE *logf = NULL; /* a log that grows as the run goes (appended to on --resume) */
    if (o.log) {
        if (!(logf = fopen(o.log, o.resume ? "a" : "w"))) die("%s: %s", o.log, strerror(errno));
        if (!o.resume)
            fprintf(logf, "step\ttokens\tlr\ttrain_loss\theldout_loss\tgrad_norm\tseconds\theldout_loss_ema\n");
    }
    /* all checks passed: from here on, stderr is the training log */
    fprintf(stderr, "train: %d stories (%zu tokens): %d for training (%ld tokens), %d held out; "
            "%ld cut to %ld tokens\n", inf.n_stories, corpus_tokens, inf.n_train, inf.train_tokens,
            inf.n_heldout, inf.n_cut, o.t.seq_len);
    if (o.resume) fprintf(stderr, "train: resumed from %s at step %ld\n", o.resume, trainer_step_count(t));
    fprintf(stderr, "train: %zu parameters (hidden %d, %d heads, %d layers, inner %d, vocab %d), "
            "%ld steps of %ld rows x %ld tokens, %ld threads\n", inf.n_params, o.cfg.n_embd,
            o.cfg.n_head, o.cfg.n_layer, o.cfg.n_inner, o.cfg.vocab_size, o.t.steps, o.t.batch,
            o.t.seq_len, o.t.threads < o.t.batch ? o.t.threads : o.t.batch);
    if (inf.n_unseen > 0)
        fprintf(stderr, "train: %d tokens occur in the training stories and get their own wte row; "
                "the other %ld share one (%zu parameters trained)\n", inf.train_vocab - 1,
                inf.n_unseen, inf.n_trained);

    double cpu_start = now_s(CLOCK_PROCESS_CPUTIME_ID), t_start = now_s(CLOCK_MONOTONIC);
    double t_train = 0, run_loss = 0, last_held = NAN, last_avg = NAN, last_train = NAN;
    long run_tok = 0, tok_run = 0;
    int stopped = 0;
    /* stderr: one progress line on a terminal, a few lines in a log
     * (cli_progress); every logged step goes to --log */
    const long step0 = trainer_step_count(t);
    char status[160] = "";
    while (trainer_step_count(t) < o.t.steps) {
        double t0 = now_s(CLOCK_MONOTONIC);
        trainer_step_info si;
        if (trainer_step(t, &si, &e)) die("%s", e.msg);
        const long step = trainer_step_count(t);
        tok_run += si.tokens;
        run_loss += si.loss;
        run_tok += si.tokens;
        t_train += now_s(CLOCK_MONOTONIC) - t0;
        int do_eval = inf.n_heldout > 0 && o.eval_every > 0 && (step % o.eval_every == 0 || step == o.t.steps);
        int do_log = step % o.log_every == 0 || step == o.t.steps || do_eval;
        if (do_log) {
            last_train = run_loss / (double)run_tok;
            run_loss = 0;
            run_tok = 0;
        }
        if (do_eval) {
            long ht;
            last_held = trainer_heldout_loss(t, TRAINER_CURRENT, &ht);
            if (o.t.ema > 0) last_avg = trainer_heldout_loss(t, TRAINER_AVERAGE, &ht);
        }
        if (do_log) {
            int k = snprintf(status, sizeof status, "loss %.3f", last_train);
            if (!isnan(last_held)) k += snprintf(status + k, sizeof status - (size_t)k, ", held-out %.3f", last_held);
            if (!isnan(last_avg)) k += snprintf(status + k, sizeof status - (size_t)k, " (average %.3f)", last_avg);
            k += snprintf(status + k, sizeof status - (size_t)k, ", %.0f tokens/s", tok_run / t_train);
            if (step0) snprintf(status + k, sizeof status - (size_t)k, " (resumed at step %ld)", step0);
        }
        cli_progress_x("steps", (uint64_t)(step - step0), (uint64_t)(o.t.steps - step0), status);
        if (logf && do_log) {
            fprintf(logf, "%ld\t%ld\t%.6g\t%.6f\t", step, trainer_tokens_seen(t), si.lr, last_train);
            if (do_eval) fprintf(logf, "%.6f", last_held); else fprintf(logf, "NA");
            fprintf(logf, "\t%.6f\t%.3f\t", si.grad_norm, now_s(CLOCK_MONOTONIC) - t_start);
            if (do_eval && o.t.ema > 0) fprintf(logf, "%.6f\n", last_avg); else fprintf(logf, "NA\n");
            fflush(logf);
        }
        int stop = o.stop_after && step == o.stop_after && step < o.t.steps;
        if (o.ckpt && (step % o.ckpt_every == 0 || step == o.t.steps || stop) &&
            trainer_checkpoint(t, o.ckpt, &e))
            die("%s", e.msg);
        if (stop) {
            cli_progress_end();
            fprintf(stderr, "train: stopped after step %ld as asked (--stop-after)%s\n", step,
                    o.ckpt ? "; resume with --resume" : "");
            stopped = 1;
            break;
        }
    }
    cli_progress_end();
    if (!isnan(last_held) && !stopped)
        fprintf(stderr, "train: step %ld: train loss %.4f (since the last log step), held-out loss %.4f nats/token%s\n",
                trainer_step_count(t), last_train, last_held, o.t.ema > 0 ? " (the last step's weights)" : "");
    if (logf && fclose(logf) != 0) die("%s: write error", o.log);
    if (!stopped)
        finish(&o, t, &inf, tok_run, t_train, now_s(CLOCK_PROCESS_CPUTIME_ID) - cpu_start, last_train,
               last_held, last_avg, argc, argv);
    trainer_free(t);
    return 0;
}
