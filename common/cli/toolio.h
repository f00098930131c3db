/* toolio.h: the tools' side of streams, records and selections: each call
 * does what its library counterpart does (io/stream.h, io/records.h,
 * io/select.h) and, on an error, dies with the library's one-line message
 * (cli.h: die() removes half-written outputs).  Library code never calls
 * these; tools do, so that a tool's main reads as parse, build, run, free.
 */
#ifndef HEADS_CLI_TOOLIO_H
#define HEADS_CLI_TOOLIO_H

#include <stdint.h>
#include <stdio.h>

#include "io/records.h"
#include "io/select.h"
#include "io/stream.h"

struct outfile;

/** stream_reader_open, or die. */
stream_reader *cli_open_input(const char *path, uint32_t kind_mask);
/** stream_reader_next, or die.  @return 1 for a record, 0 at the end */
int cli_read_record(stream_reader *r, const uint8_t **rec, size_t *len);
/** story_read and story_check_finite (floats are computed with: NaN and
 *  Inf refused), or die.  @return 1 with *s filled, 0 at the end */
int cli_read_story(stream_reader *r, story_rec *s);
/** probe_rec_read, or die.  @return 1 with *p filled, 0 at the end */
int cli_read_probe(stream_reader *r, probe_rec *p);

/** stream_writer_open at the default level, or die. */
stream_writer *cli_open_stream(const char *path, uint32_t kind, const stream_header *h);
/** stream_writer_claim, or die: check an output before the work. */
struct outfile *cli_claim_stream(const char *path);
/** stream_writer_open_output on a claimed output, or die. */
stream_writer *cli_stream_on(struct outfile *out, uint32_t kind, const stream_header *h);
/** story_write / probe_rec_write, or die. */
void cli_write_story(stream_writer *w, const story_rec *s);
void cli_write_probe(stream_writer *w, const probe_rec *p);
/** stream_writer_close, or die. */
void cli_close_stream(stream_writer *w);

/** The model-identity comment lines every table starts with
 *  ("# model: ...", "# model-sha256: ..."), copied from a stream header;
 *  dies if the header names no model (a table always says which model it
 *  came from). */
void cli_table_model(FILE *f, const stream_header *h);

/** The activation layout of an activations stream r (act_layout_parse),
 *  or die naming the stream; need_model: also die when the header names no
 *  model (model / model-sha256), which every tool that fits, evaluates or
 *  tables activations needs to say where its output came from. */
void cli_act_layout(stream_reader *r, act_layout *L, int need_model);

/** The model a table made from a JSON report names (the JSON carries none):
 *  from the header of the stream at path (probes or activations of that
 *  model: model and model-sha256 lines) or, path NULL, the label in words
 *  (*sha then NULL).  Dies when the stream names no model.  Both strings
 *  are the caller's to free. */
void cli_model_identity(const char *path, const char *label, char **model, char **sha);

/** The heads a tool was asked for: --heads LIST (or "all"), or --layer N
 *  --head N (negative = not given).  Dies with one line on a bad list, on
 *  both forms at once, or on neither.  "all" is expanded against the
 *  stream's layout (every dumped head); with L NULL it returns 0, so a tool
 *  checks its options before opening its input and expands "all" after.
 *  @param out receives up to SELECT_MAX_HEADS heads @return their count */
int cli_heads_from_options(const char *heads_s, long layer, long head, const act_layout *L, head_id *out);

#endif
