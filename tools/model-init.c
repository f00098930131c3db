/* model-init: write a GPT-Neo or GPT-2 model with random weights (a test
 * model).
 *
 *   model-init --tinystories-1m-config --seed 1 -o models/random-ts1m
 *   model-init --layers 2 --heads 4 --hidden 16 --vocab 300 --window 5 -o m
 *   model-init --gpt2-small-config --seed 14 -o models/random-gpt2-small
 *   model-init --gpt2 --layers 3 --heads 2 --hidden 16 --vocab 300 -o m2
 *
 * Reads: nothing.  Writes: DIR/config.json + DIR/model.safetensors, a
 * deterministic function of the flags (GPT-2: GPT2LMHeadModel's tensors and
 * config.json, model_type gpt2).  The config names the model
 * "random-test-model seed N" (GPT-2: "random-test-model gpt2 seed N") and
 * sets "heads_random_test_model": true: it can never pass for TinyStories-1M
 * or GPT-2.  Links: model/config, model/init, model/save.
 */
#include "cli/cli.h"
#include "io/tensors.h"
#include "model/config.h"
#include "model/init.h"
#include "model/save.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(void)
{
    printf("usage: model-init [options] -o DIR\n"
           "Write a GPT-Neo (default) or GPT-2 model with random weights (config.json +\n"
           "model.safetensors).  The model is named \"random-test-model seed N\" (GPT-2:\n"
           "\"random-test-model gpt2 seed N\"): a test model, never TinyStories-1M or GPT-2.\n\n"
           "  -o, --output DIR          output directory (created if missing)\n"
           "  --tinystories-1m-config   TinyStories-1M's exact hyper-parameters (GPT-Neo)\n"
           "  --gpt2                    GPT-2's architecture (GPT2LMHeadModel: fused c_attn with\n"
           "                            bias, Conv1D weights, scores / sqrt(d_head), all layers global)\n"
           "  --gpt2-small-config       GPT-2 small's exact hyper-parameters (12 layers, 12 heads,\n"
           "                            768, vocab 50257, 1024 positions; implies --gpt2)\n"
           "  --layers N     (default 2)     --heads N     (default 4)\n"
           "  --hidden N     (default 16)    --inner N     (default 4*hidden)\n"
           "  --vocab N      (default 300)   --positions N (default 64)\n"
           "  --window N     (default 8)     local-attention window (GPT-Neo)\n"
           "  --attention LIST   per-layer kinds, e.g. global,local (repeated to\n"
           "                     --layers; default alternating global,local; GPT-Neo)\n"
           "  --scale-attn-by-inverse-layer-idx   GPT-2: scores also / (layer + 1)\n"
           "  --seed N       (default 1)     --std X weight scale (default 0.1; GPT-2 0.04:\n"
           "                     at GPT-2 small's width 0.1 makes attention nearly one-hot,\n"
           "                     where float32 and float64 forwards part by more than 1e-4)\n"
           "  --help, --version\n\n"
           "example:\n"
           "  model-init --tinystories-1m-config --seed 7 -o /tmp/rnd && \\\n"
           "    tokenize < stories.txt | forward-dump --model /tmp/rnd --vectors q,k > acts.hs\n"
           "  model-init --gpt2-small-config --seed 14 -o /tmp/g2s\n");
    exit(0);
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    enum { O_TS = 256, O_LAYERS, O_HEADS, O_HIDDEN, O_INNER, O_VOCAB, O_POS, O_WINDOW,
           O_ATTN, O_SEED, O_STD, O_GPT2, O_GPT2_SMALL, O_INVLAYER, O_HELP, O_VERSION };
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"tinystories-1m-config", no_argument, 0, O_TS},
        {"gpt2", no_argument, 0, O_GPT2}, {"gpt2-small-config", no_argument, 0, O_GPT2_SMALL},
        {"scale-attn-by-inverse-layer-idx", no_argument, 0, O_INVLAYER},
        {"layers", required_argument, 0, O_LAYERS}, {"heads", required_argument, 0, O_HEADS},
        {"hidden", required_argument, 0, O_HIDDEN}, {"inner", required_argument, 0, O_INNER},
        {"vocab", required_argument, 0, O_VOCAB}, {"positions", required_argument, 0, O_POS},
        {"window", required_argument, 0, O_WINDOW}, {"attention", required_argument, 0, O_ATTN},
        {"seed", required_argument, 0, O_SEED}, {"std", required_argument, 0, O_STD},
        {"help", no_argument, 0, O_HELP}, {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    const char *out = NULL, *attn = NULL;
    int ts1m = 0, gpt2 = 0, gpt2_small = 0, invlayer = 0;
    long layers = -1, heads = -1, hidden = -1, inner = -1, vocab = -1, pos = -1, window = -1;
    unsigned long long seed = 1;
    double std = 0; /* default (not given): 0.1, GPT-2 0.04 */
    int std_set = 0;
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (o) {
        case 'o': out = optarg; break;
        case O_TS: ts1m = 1; break;
        case O_GPT2: gpt2 = 1; break;
        case O_GPT2_SMALL: gpt2_small = gpt2 = 1; break;
        case O_INVLAYER: invlayer = 1; break;
        case O_LAYERS: layers = cli_parse_long("--layers", optarg, 1, MODEL_MAX_LAYERS); break;
        case O_HEADS: heads = cli_parse_long("--heads", optarg, 1, MODEL_MAX_HEADS); break;
        case O_HIDDEN: hidden = cli_parse_long("--hidden", optarg, 1, 4096); break;
        case O_INNER: inner = cli_parse_long("--inner", optarg, 1, 65536); break;
        case O_VOCAB: vocab = cli_parse_long("--vocab", optarg, 1, 1 << 20); break;
        case O_POS: pos = cli_parse_long("--positions", optarg, 1, 1 << 16); break;
        case O_WINDOW: window = cli_parse_long("--window", optarg, 1, 1 << 20); break;
        case O_ATTN: attn = optarg; break;
        case O_SEED: seed = (unsigned long long)cli_parse_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
        case O_STD: std = cli_parse_double("--std", optarg); std_set = 1; break;
        case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    if (optind < argc) die("unexpected argument '%s'", argv[optind]);
    if (!out) die("no output directory (-o DIR)");
    herr e;
    if (model_save_check(out, 1, &e)) die("-o %s", e.msg);
    if (!std_set) std = gpt2 ? 0.04 : 0.1;
    if (!(std > 0 && std < 100)) die("--std must be in (0, 100)");
    if (ts1m && gpt2) die("--tinystories-1m-config is GPT-Neo; it does not go with --gpt2 / --gpt2-small-config");
    if (gpt2 && (window >= 0 || attn)) die("GPT-2 has no local attention: drop --window / --attention");
    if (invlayer && !gpt2) die("--scale-attn-by-inverse-layer-idx is a GPT-2 option (add --gpt2)");
    const int sized = layers >= 0 || heads >= 0 || hidden >= 0 || inner >= 0 || vocab >= 0 || pos >= 0 ||
                      window >= 0 || attn;

    model_config c;
    if (ts1m) {
        if (sized) die("--tinystories-1m-config fixes every size; drop the other size flags");
        model_config_tinystories_1m(&c);
    } else if (gpt2_small) {
        if (sized) die("--gpt2-small-config fixes every size; drop the other size flags");
        model_config_gpt2_small(&c);
    } else {
        memset(&c, 0, sizeof c);
        c.n_layer = layers >= 0 ? (int)layers : 2;
        c.n_head = heads >= 0 ? (int)heads : 4;
        c.n_embd = hidden >= 0 ? (int)hidden : 16;
        if (c.n_embd % c.n_head) die("--hidden %d is not divisible by --heads %d", c.n_embd, c.n_head);
        c.d_head = c.n_embd / c.n_head;
        c.n_inner = inner >= 0 ? (int)inner : 4 * c.n_embd;
        c.vocab_size = vocab >= 0 ? (int)vocab : 300;
        c.n_positions = pos >= 0 ? (int)pos : 64;
        c.window_size = window >= 0 ? (int)window : 8;
        c.ln_eps = 1e-5;
        int kinds[MODEL_MAX_LAYERS], nk = 0;
        if (attn) {
            char *s = xstrdup(attn), *save = NULL;
            for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (nk >= MODEL_MAX_LAYERS) die("--attention: too many entries");
                kinds[nk++] = cli_parse_choice("--attention", t, (const char *const[]){"global", "local", NULL});
            }
            free(s);
            if (!nk) die("--attention: empty list");
        } else {
            kinds[0] = 0;
            kinds[1] = 1;
            nk = 2;
        }
        for (int l = 0; l < c.n_layer; l++) c.local[l] = (unsigned char)(gpt2 ? 0 : kinds[l % nk]);
        if (gpt2) {
            c.arch = MODEL_ARCH_GPT2;
            c.window_size = c.n_positions; /* unused: every layer is global */
            c.scale_attn_weights = 1;
        }
    }
    c.scale_attn_inverse_layer = invlayer;
    c.random_test = 1;
    snprintf(c.name, sizeof c.name, "random-test-model%s seed %llu", gpt2 ? " gpt2" : "", seed);

    /* Round-trip the config through the parser: what we write must load. */
    if (model_config_check(&c, &e)) die("%s", e.msg);
    char *json = model_config_to_json(&c, MODEL_ORIGIN_RANDOM_TEST, 0, &e);
    model_config back;
    if (!json || model_config_parse(json, &back, &e)) die("internal: %s", e.msg);
    free(json);
    tensor_set ts;
    tensors_init(&ts);
    if (model_init_random_test(&c, seed, (float)std, &ts, &e)) die("%s", e.msg);
    if (model_save_dir(out, &c, MODEL_ORIGIN_RANDOM_TEST, 0, &ts, &e)) die("%s", e.msg);
    tensors_free(&ts);
    return 0;
}
