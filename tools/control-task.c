/* control-task: a tagged or activations stream -> the same stream with each
 * token's tag replaced by its type's control-task tag (Hewitt & Liang 2019;
 * probe/controls.h has the exact draw).
 *
 *   control-task --seed 1 --dist-from train.tagged -o train.ct.acts train.acts
 *
 * The type is the token id; the tags are drawn from the tag counts of
 * --dist-from (the training split), so the train and test streams get the
 * same labels for the same types.  Everything but the tags is copied as it
 * is.  The header says so (control-task, control-task-dist lines), so
 * probe-eval refuses to score such probes on real tags and the reverse.
 *
 * Reads: a tagged or activations stream and --dist-from's tagged stream.
 * Writes: the same stream kind.  Links: probe/controls, io/records.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "cli/cli.h"
#include "cli/toolio.h"
#include "io/records.h"
#include "io/stream.h"
#include "probe/controls.h"

static void usage(void)
{
    printf(
        "usage: control-task --seed N --dist-from STREAM [-o FILE] [INPUT]\n"
        "Replace each token's POS tag by its control-task tag (Hewitt & Liang 2019): every\n"
        "token id (the type) gets one tag drawn at random from the tag distribution of\n"
        "--dist-from (the training split's tagged or activations stream), the same for\n"
        "every occurrence and every stream with the same seed and distribution.  A probe\n"
        "trained on these tags can only memorise types; accuracy minus its accuracy is\n"
        "the probe's selectivity.  Input and output: a tagged or activations stream\n"
        "(stdin / stdout by default); everything but the tags is copied.\n"
        "\n"
        "  --seed N           the draw's seed (required)\n"
        "  --dist-from FILE   the stream whose tag counts are the distribution (required;\n"
        "                     the empty tag counts as a tag, as the probes see it)\n"
        "  -o, --output FILE  output (default stdout; never a terminal)\n"
        "  --help, --version\n"
        "\n"
        "example:\n"
        "  control-task --seed 1 --dist-from train.tagged -o ct-train.acts train.acts\n"
        "  control-task --seed 1 --dist-from train.tagged -o ct-test.acts test.acts\n"
        "  probe-fit -o ct.probes ct-train.acts && probe-eval --probes ct.probes ct-test.acts\n");
    exit(0);
}

#define STORY_KINDS ((1u << STREAM_TAGGED) | (1u << STREAM_ACTIVATIONS))

static int cmp_tag(const void *a, const void *b) { return strcmp(a, b); }

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    enum { O_SEED = 256, O_DIST, O_HELP, O_VERSION };
    static const struct option opts[] = {
        {"seed", required_argument, 0, O_SEED}, {"dist-from", required_argument, 0, O_DIST},
        {"output", required_argument, 0, 'o'},  {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    const char *out = NULL, *dist_path = NULL;
    long long seed = -1;
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (o) {
        case O_SEED: seed = cli_parse_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
        case O_DIST: dist_path = optarg; break;
        case 'o': out = optarg; break;
        case 'h': case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    const char *input = cli_single_input(argc, argv);
    if (seed < 0) die("no --seed (the control task's draws need one)");
    if (!dist_path) die("no --dist-from (the training split's stream, whose tags are the distribution)");
    if (!strcmp(dist_path, "-")) die("--dist-from: a file, not stdin (the input may come from stdin)");

    /* both inputs and the output checked before any story is read: a wrong
     * input or output is refused before the distribution's pass */
    /* static: still reachable (not a leak) when die() exits mid-way */
    static stream_reader *dr, *r;
    dr = cli_open_input(dist_path, STORY_KINDS);
    if (stream_header_get(stream_reader_header(dr), "control-task"))
        die("%s holds control-task tags already; the distribution must come from the real tags", stream_reader_name(dr));
    r = cli_open_input(input, STORY_KINDS);
    const stream_header *ih = stream_reader_header(r);
    if (stream_header_get(ih, "control-task")) die("%s holds control-task tags already", stream_reader_name(r));
    struct outfile *claimed = cli_claim_stream(out);

    /* the distribution: tag counts of the training split */
    static char (*tag)[TAG_MAX + 1];
    static uint64_t *count, *cum;
    int K = 0;
    story_rec s;
    story_init(&s);
    while (cli_read_story(dr, &s)) {
        if (s.n_tokens && !(s.flags & STORY_HAS_TAGS))
            die("%s: story %u has no POS tags (a tagged stream from postag-join is needed)", stream_reader_name(dr), s.story);
        for (uint32_t t = 0; t < s.n_tokens; t++) {
            int k;
            for (k = 0; k < K; k++)
                if (!strcmp(tag[k], s.tokens[t].tag)) break;
            if (k == K) {
                tag = xrealloc(tag, (size_t)(K + 1) * sizeof *tag);
                count = xrealloc(count, (size_t)(K + 1) * sizeof *count);
                memcpy(tag[K], s.tokens[t].tag, TAG_MAX + 1);
                count[K++] = 0;
            }
            count[k]++;
        }
    }
    if (!K) die("%s: no tagged tokens, so no tag distribution", stream_reader_name(dr));
    stream_reader_close(dr);
    /* sorted tag order (strcmp, as the probes number their classes) */
    {
        char (*st)[TAG_MAX + 1] = xmalloc((size_t)K * sizeof *st);
        uint64_t *sc = xmalloc((size_t)K * sizeof *sc);
        memcpy(st, tag, (size_t)K * sizeof *st);
        qsort(st, (size_t)K, sizeof *st, cmp_tag);
        for (int a = 0; a < K; a++)
            for (int b = 0; b < K; b++)
                if (!strcmp(st[a], tag[b])) sc[a] = count[b];
        free(tag);
        free(count);
        tag = st;
        count = sc;
    }
    uint64_t total = 0;
    cum = xmalloc((size_t)K * sizeof *cum);
    /* the distribution's identity: sha256 of "TAG\tCOUNT\n" lines in order */
    sha256_hex_ctx ctx;
    sha256_hex_init(&ctx);
    for (int k = 0; k < K; k++) {
        total += count[k];
        cum[k] = total;
        char line[64];
        int n = snprintf(line, sizeof line, "%s\t%llu\n", tag[k], (unsigned long long)count[k]);
        sha256_hex_add(&ctx, line, (size_t)n);
    }
    char dist_sha[65];
    sha256_hex_done(&ctx, dist_sha);

    /* the stream, tags replaced */
    stream_header h;
    stream_header_init(&h);
    stream_header_copy(&h, ih);
    stream_header_add(&h, "control-task", "hewitt-liang-2019 type token-id seed %lld", seed);
    stream_header_add(&h, "control-task-dist", "%d tags %llu tokens sha256 %s", K, (unsigned long long)total, dist_sha);
    stream_header_add_provenance(&h, argc, argv);
    stream_writer *w = cli_stream_on(claimed, stream_reader_kind(r), &h);
    stream_header_free(&h);
    while (cli_read_story(r, &s)) {
        if (s.n_tokens && !(s.flags & STORY_HAS_TAGS))
            die("%s: story %u has no POS tags (a tagged stream from postag-join is needed)", stream_reader_name(r), s.story);
        for (uint32_t t = 0; t < s.n_tokens; t++)
            memcpy(s.tokens[t].tag, tag[control_task_label((uint64_t)seed, s.tokens[t].id, cum, K)], TAG_MAX + 1);
        cli_write_story(w, &s);
    }
    cli_close_stream(w);
    stream_reader_close(r);
    story_free(&s);
    free(tag);
    free(count);
    free(cum);
    return 0;
}
