/* headtab.h: what the table tools `activity` and `attn-slice` share: head
 * specs ("L2H0,L6H4"), story lists and token windows, token labels
 * ("word (TAG)"), and the model-identity comment lines every table starts
 * with (so every figure drawn from a table can name its model).
 *
 * Tables are TSV.  Comment lines start with '#': first "# model: ...",
 * "# model-sha256: ..." copied from the stream header, then a "#"-prefixed
 * line of column names (as stream-view does), then rows.
 */
#ifndef HEADS_HEADTAB_H
#define HEADS_HEADTAB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "io/records.h"
#include "io/stream.h"

/** One (layer, head) pair. */
typedef struct head_id { int layer, head; } head_id;

#define HEADTAB_MAX_HEADS 1024

/** Parse a head list "L2H0,L6H4" (case-insensitive "L<layer>H<head>").
 *  @param s the list; @param out receives up to max heads
 *  @param err buffer for a message (no tool prefix) on failure
 *  @return number of heads (>= 1), or -1 */
int headspec_parse(const char *s, head_id *out, int max, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/** The heads a tool was asked for: --heads LIST (or "all"), or --layer N
 *  --head N (negative = not given).  Dies with one line on a bad list, on
 *  both forms at once, or on neither.  "all" is expanded against the
 *  stream's layout (every dumped head); with L NULL it returns 0, so a tool
 *  checks its options before opening its input and expands "all" after.
 *  @param out receives up to HEADTAB_MAX_HEADS heads @return their count */
int heads_from_options(const char *heads_s, long layer, long head, const act_layout *L, head_id *out);

/** A set of story indices, e.g. "3" or "0-99,120". */
typedef struct story_sel {
    int all;                 /**< 1 = every story */
    size_t n;                /**< number of ranges */
    uint32_t (*r)[2];        /**< inclusive ranges [lo, hi] */
    uint8_t *seen;           /**< [n] whether a story of range i was met */
} story_sel;

/** Parse a story list; NULL or "all" selects every story.
 *  @return 0, or -1 with a message in err */
int story_sel_parse(story_sel *s, const char *spec, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/** @return 1 if story index i is selected (and remember that it was met). */
int story_sel_take(story_sel *s, uint32_t i);
/** After the stream is read: the first requested story never met.
 *  @param missing out
 *  @return 1 if some selected story (or range) was not in the stream */
int story_sel_missing(const story_sel *s, uint32_t *missing);
void story_sel_free(story_sel *s);

/** A token window "A:B" (positions A .. B-1, like a Python slice; A or B may
 *  be omitted: ":B", "A:").  b = -1 means "to the end". */
typedef struct tok_window { long a, b; int given; } tok_window;

/** Parse "A:B".  @return 0, or -1 with a message */
int tok_window_parse(tok_window *w, const char *s, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/** Resolve a window against a story of T tokens.
 *  @param lo,hi out: [lo, hi)
 *  @return 0, or -1 with a message naming the story when the window lies
 *          outside the story (A >= T or B > T) */
int tok_window_resolve(const tok_window *w, const story_rec *s, long *lo, long *hi,
                       char *err, size_t errlen) __attribute__((warn_unused_result));

/** The text of token t, trimmed of surrounding white space, with tabs,
 *  newlines and other control bytes replaced by spaces (safe in a TSV
 *  field); "" when the token is only white space.
 *  @param out buffer of n bytes (truncated at a UTF-8 boundary) */
void token_word(const story_rec *s, uint32_t t, char *out, size_t n);

/** The study's label "word (TAG)" ("word ()" when untagged). */
void token_label(const story_rec *s, uint32_t t, char *out, size_t n);

/** A tag as a TSV field: the tag, or "(none)" for the empty tag. */
const char *tag_field(const char *tag);

/** Print the model-identity comment lines of an activations header:
 *  "# model: ...", "# model-sha256: ...".  Dies if the header names no
 *  model (a table must always say which model it came from). */
void headtab_print_model(FILE *f, const stream_header *h);

/** Open a text output: stdout for NULL / "-", else a temporary file next
 *  to path that table_close renames into place (and that die() removes),
 *  so an error never leaves half a table behind.  Dies on error. */
FILE *table_open(const char *path);

/** Flush and close a table opened with table_open, renaming it into place.
 *  Dies on a write error. */
void table_close(FILE *f);

#endif
