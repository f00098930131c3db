/* probedata.h: the training / test data of probes, gathered from an
 * activations stream (probe-fit and probe-eval read it the same way). */
#ifndef HEADS_PROBEDATA_H
#define HEADS_PROBEDATA_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
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

/** What probe_gather collects. */
typedef struct probe_data {
    float *feats;   /**< [n][per] the probes' floats of every kept token (free) */
    int *labels;    /**< [n] index of each token's mapped tag in the tagset (free) */
    size_t n;       /**< tokens kept */
    /** when want_tokens is set: [n] each kept token's story (0-based
     *  ordinal of its record in the stream) and token id (free both) */
    int want_tokens;
    uint32_t *story_of, *token_id;
    uint32_t n_stories;  /**< story records read */
    /** called after every story with the stories read so far (may be
     *  NULL: the tools draw progress with it) */
    void (*on_story)(uint64_t stories);
} probe_data;

/** Read every story of an activations stream and gather, for each token the
 *  tag map keeps, the probes' floats (one row of `per` floats) and the index
 *  of its mapped tag in `tags`.
 *  @param r reader (read to its end) @param L its layout @param tm tag map
 *  @param in,n_in the vectors to gather @param per floats per row
 *  @param tags distinct tags (added to)
 *  @param out receives feats, labels, n (set on_story before the call)
 *  @param e error: the stream's own errors (truncated, corrupt), a story
 *         without tags, floats that disagree with the layout, or a
 *         non-finite value (naming the stream, story, token position,
 *         layer, head, vector and dimension); out is then empty
 *  @return 0, or -1 with e set */
int probe_gather(stream_reader *r, const act_layout *L, const tagmap *tm, const probe_input *in, int n_in,
                 size_t per, tagset *tags, probe_data *out, herr *e) __attribute__((warn_unused_result));

/** Largest probe dimension the tools accept (GPT-2 XL's d_head is 64; a
 *  residual-stream probe of a wide model is still far below this). */
#define PROBE_MAX_DIM 4096

/** Read every probe of a probes stream (probe-fit's output, shards joined
 *  with cat): each checked before any use (at least 2 classes, dimension
 *  1..PROBE_MAX_DIM, finite weights, naming the class and the weight), and
 *  one probe per (layer, head, vector): a shard joined twice would score or
 *  rank a head against itself.
 *  @param r reader (read to its end) @param out receives the probes
 *  (free each with probe_rec_free, then the array) @param e error
 *  @return the count (>= 1), or -1 with e set (an empty stream is an error;
 *  nothing is left allocated) */
int probe_read_all(stream_reader *r, probe_rec **out, herr *e) __attribute__((warn_unused_result));

/** Whether probes (their stream's header probes_h) may be scored on the
 *  activations whose header is acts_h (named acts_name): the same model
 *  (model-sha256), and the same tags: control-task probes (control-task's
 *  output, Hewitt & Liang 2019) only on the same control task's tags (seed
 *  and distribution: control-task and control-task-dist lines), real-tag
 *  probes only on real tags.  @return 0, or -1 with e saying what differs */
int probe_match_acts(const stream_header *probes_h, const stream_header *acts_h, const char *acts_name, herr *e);

/** Where each probe's floats are: in[p] (for probe_gather) with the probe's
 *  vector in the activations of layout L and its place offset[p] in a
 *  gathered row; *per = floats per row.  Refuses a probe whose vector the
 *  stream lacks or whose dimension is not the stream's.
 *  @return 0, or -1 with e naming the probe and acts_name */
int probe_inputs(const act_layout *L, const probe_rec *probes, int n, const char *acts_name, probe_input *in,
                 int *offset, size_t *per, herr *e);

#endif
