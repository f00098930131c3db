/* model-init: write a GPT-Neo model with random weights (a test model).
 *
 *   model-init --tinystories-1m-config --seed 1 -o models/random-ts1m
 *   model-init --layers 2 --heads 4 --hidden 16 --vocab 300 --window 5 -o m
 *
 * Reads: nothing.  Writes: DIR/config.json + DIR/model.safetensors, a
 * deterministic function of the flags.  The config names the model
 * "random-test-model seed N" and sets "heads_random_test_model": true: it can
 * never pass for TinyStories-1M.  Links: model/config, model/init, model/save.
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
           "Write a GPT-Neo model with random weights (config.json + model.safetensors).\n"
           "The model is named \"random-test-model seed N\": a test model, never TinyStories-1M.\n\n"
           "  -o, --output DIR          output directory (created if missing)\n"
           "  --tinystories-1m-config   TinyStories-1M's exact hyper-parameters\n"
           "  --layers N     (default 2)     --heads N     (default 4)\n"
           "  --hidden N     (default 16)    --inner N     (default 4*hidden)\n"
           "  --vocab N      (default 300)   --positions N (default 64)\n"
           "  --window N     (default 8)     local-attention window\n"
           "  --attention LIST   per-layer kinds, e.g. global,local (repeated to\n"
           "                     --layers; default alternating global,local)\n"
           "  --seed N       (default 1)     --std X (default 0.1) weight scale\n"
           "  --help, --version\n\n"
           "example:\n"
           "  model-init --tinystories-1m-config --seed 7 -o /tmp/rnd && \\\n"
           "    tokenize < stories.txt | forward-dump --model /tmp/rnd --vectors q,k > acts.hs\n");
    exit(0);
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    enum { O_TS = 256, O_LAYERS, O_HEADS, O_HIDDEN, O_INNER, O_VOCAB, O_POS, O_WINDOW,
           O_ATTN, O_SEED, O_STD, O_HELP, O_VERSION };
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"tinystories-1m-config", no_argument, 0, O_TS},
        {"layers", required_argument, 0, O_LAYERS}, {"heads", required_argument, 0, O_HEADS},
        {"hidden", required_argument, 0, O_HIDDEN}, {"inner", required_argument, 0, O_INNER},
        {"vocab", required_argument, 0, O_VOCAB}, {"positions", required_argument, 0, O_POS},
        {"window", required_argument, 0, O_WINDOW}, {"attention", required_argument, 0, O_ATTN},
        {"seed", required_argument, 0, O_SEED}, {"std", required_argument, 0, O_STD},
        {"help", no_argument, 0, O_HELP}, {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    const char *out = NULL, *attn = NULL;
    int ts1m = 0;
    long layers = -1, heads = -1, hidden = -1, inner = -1, vocab = -1, pos = -1, window = -1;
    unsigned long long seed = 1;
    double std = 0.1;
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (o) {
        case 'o': out = optarg; break;
        case O_TS: ts1m = 1; break;
        case O_LAYERS: layers = cli_parse_long("--layers", optarg, 1, MODEL_MAX_LAYERS); break;
        case O_HEADS: heads = cli_parse_long("--heads", optarg, 1, MODEL_MAX_HEADS); break;
        case O_HIDDEN: hidden = cli_parse_long("--hidden", optarg, 1, 4096); break;
        case O_INNER: inner = cli_parse_long("--inner", optarg, 1, 65536); break;
        case O_VOCAB: vocab = cli_parse_long("--vocab", optarg, 1, 1 << 20); break;
        case O_POS: pos = cli_parse_long("--positions", optarg, 1, 1 << 16); break;
        case O_WINDOW: window = cli_parse_long("--window", optarg, 1, 1 << 20); break;
        case O_ATTN: attn = optarg; break;
        case O_SEED: seed = (unsigned long long)cli_parse_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
        case O_STD: std = cli_parse_double("--std", optarg); break;
        case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    if (optind < argc) die("unexpected argument '%s'", argv[optind]);
    if (!out) die("no output directory (-o DIR)");
    if (!(std > 0 && std < 100)) die("--std must be in (0, 100)");

    model_config c;
    if (ts1m) {
        if (layers >= 0 || heads >= 0 || hidden >= 0 || inner >= 0 || vocab >= 0 || pos >= 0 ||
            window >= 0 || attn)
            die("--tinystories-1m-config fixes every size; drop the other size flags");
        model_config_tinystories_1m(&c);
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
                if (!strcmp(t, "global")) kinds[nk++] = 0;
                else if (!strcmp(t, "local")) kinds[nk++] = 1;
                else die("--attention: '%s' is not global or local", t);
            }
            free(s);
            if (!nk) die("--attention: empty list");
        } else {
            kinds[0] = 0;
            kinds[1] = 1;
            nk = 2;
        }
        for (int l = 0; l < c.n_layer; l++) c.local[l] = (unsigned char)kinds[l % nk];
    }
    snprintf(c.name, sizeof c.name, "random-test-model seed %llu", seed);

    /* Round-trip the config through the parser: what we write must load. */
    herr e;
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
