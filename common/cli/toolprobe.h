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

#endif
