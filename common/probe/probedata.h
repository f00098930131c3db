/* probedata.h: the training / test data of probes, gathered from an
 * activations stream (probe-fit and probe-eval read it the same way). */
#ifndef HEADS_PROBEDATA_H
#define HEADS_PROBEDATA_H

#include <stddef.h>

#include "io/records.h"
#include "io/stream.h"
#include "text/tagmap.h"

/** One vector a probe reads. */
typedef struct probe_input {
    int layer, head;
    char vec;   /**< 'q', 'k', 'v', 'z' or 'a' */
    int src;    /**< offset of its floats in a token's activations (act_offset) */
    int dst;    /**< offset in a gathered row */
    int dim;    /**< floats */
} probe_input;

/** Read every story of an activations stream and gather, for each token the
 *  tag map keeps, the probes' floats (one row of `per` floats) and the index
 *  of its mapped tag in `tags`.  Dies with one line on a story without tags,
 *  floats that disagree with the layout, or a non-finite value.
 *  @param r reader (read to its end) @param L its layout @param tm tag map
 *  @param in,n_in the vectors to gather @param per floats per row
 *  @param tags distinct tags (added to) @param feats receives [n][per]
 *  @param labels receives [n] @return n, the tokens gathered */
size_t probe_gather(stream_reader *r, const act_layout *L, const tagmap *tm, const probe_input *in,
                    int n_in, size_t per, tagset *tags, float **feats, int **labels);

#endif
