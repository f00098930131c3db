/* toolprobe.h: a tool's probes stream, read and checked (tools only: it
 * dies).  Header-only like toolmodel.h: the stream-only tools and the fuzz
 * targets link common/cli without the probe code.
 */
#ifndef HEADS_CLI_TOOLPROBE_H
#define HEADS_CLI_TOOLPROBE_H

#include "cli/cli.h"
#include "cli/toolio.h"
#include "probe/probedata.h"
#include "text/tagmap.h"

/** Every probe of the probes stream at path (probe_read_all: each checked,
 *  one per head and vector), its tag rules into tm and its header into h
 *  (the caller frees both the header and the probes).  Dies when the
 *  stream names no model (probes are only scored on their model's
 *  activations) and on every error of the stream; warns once, on stderr,
 *  when some probes did not converge (the flag is otherwise only in the
 *  records).  @param n_out receives the count (>= 1) */
static inline probe_rec *cli_read_probes(const char *path, tagmap *tm, stream_header *h, int *n_out)
{
    static stream_reader *pr; /* static: reachable (not a leak) when die() exits */
    static probe_rec *probes;
    herr e;
    pr = cli_open_input(path, 1u << STREAM_PROBES);
    if (tagmap_from_header(tm, stream_reader_header(pr), &e) != 0) die("%s: %s", stream_reader_name(pr), e.msg);
    stream_header_init(h);
    stream_header_copy(h, stream_reader_header(pr));
    if (!stream_header_get(h, "model") || !stream_header_get(h, "model-sha256"))
        die("%s names no model (no model / model-sha256 lines): its probes cannot be matched with the activations' model",
            stream_reader_name(pr));
    const int n = probe_read_all(pr, &probes, &e);
    if (n < 0) die("%s", e.msg);
    stream_reader_close(pr);
    int unconverged = 0;
    for (int p = 0; p < n; p++) unconverged += !probes[p].converged;
    if (unconverged) /* their reports are still made */
        warn("%s: %d of %d probes did not converge (converged=0; probe-fit --max-iter)", path, unconverged, n);
    *n_out = n;
    return probes;
}

/** Progress while the test split is read (probe_data.on_story). */
static inline void cli_gather_progress(uint64_t stories) { cli_progress("stories", stories, 0); }

/** The test split a set of probes is scored on (cli_read_test). */
typedef struct cli_probe_test {
    probe_data pd;        /**< the gathered tokens: feats [n][per], labels (index in names) */
    stream_header header; /**< the activations' header */
    tagset names;         /**< the test tags, then every probe class the test lacks */
    int *offset;          /**< [n probes] a probe's floats in a gathered row */
    size_t per;           /**< floats per gathered row */
    int **cmap;           /**< [n probes][n_classes] class -> index in names */
} cli_probe_test;

/** Read the activations at input (NULL: stdin) for the probes: the same
 *  model and tags (probe_match_acts), every probe's vector dumped
 *  (probe_inputs), the tags mapped by tm; want_tokens keeps each token's
 *  story and id too.  Dies on every error and on a split with no token
 *  left.  The caller frees t's arrays and header. */
static inline void cli_read_test(cli_probe_test *t, const char *input, const probe_rec *probes, int n,
                                 const tagmap *tm, const stream_header *probes_h, int want_tokens)
{
    static stream_reader *r; /* reachable when die() exits */
    herr e;
    r = cli_open_input(input, 1u << STREAM_ACTIVATIONS);
    act_layout L;
    cli_act_layout(r, &L, 1);
    if (probe_match_acts(probes_h, stream_reader_header(r), stream_reader_name(r), &e)) die("%s", e.msg);
    stream_header_init(&t->header);
    stream_header_copy(&t->header, stream_reader_header(r));
    t->offset = xmalloc((size_t)n * sizeof *t->offset);
    probe_input *in = xmalloc((size_t)n * sizeof *in);
    if (probe_inputs(&L, probes, n, stream_reader_name(r), in, t->offset, &t->per, &e)) die("%s", e.msg);
    t->names = (tagset){0, 0, NULL};
    t->pd = (probe_data){.on_story = cli_gather_progress, .want_tokens = want_tokens};
    if (probe_gather(r, &L, tm, in, n, t->per, &t->names, &t->pd, &e) != 0) die("%s", e.msg);
    cli_progress_end();
    free(in);
    stream_reader_close(r);
    if (t->pd.n == 0)
        die("%s: no test tokens%s", input ? input : "stdin", tm->n_drop ? " left after the probes' drops" : "");
    /* class -> name index maps (adds classes never seen in the test set) */
    t->cmap = xmalloc((size_t)n * sizeof *t->cmap);
    for (int p = 0; p < n; p++) {
        t->cmap[p] = xmalloc(probes[p].n_classes * sizeof **t->cmap);
        for (uint32_t k = 0; k < probes[p].n_classes; k++)
            if ((t->cmap[p][k] = tagset_index(&t->names, probes[p].classes[k], &e)) < 0) die("%s", e.msg);
    }
}

#endif
