/* select.h: what a user selects on the command line: heads ("L2H0,L6H4"),
 * stories by index ("0-99,120"), token windows ("A:B", Python-slice style).
 * Parsers return errors (base/err.h); common/cli/toolio.h turns a tool's
 * options into heads and dies on bad ones.
 */
#ifndef HEADS_IO_SELECT_H
#define HEADS_IO_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "io/records.h"

/** Parse an index list "0-3,5,7" (or "all") into a 0/1 mask of n entries.
 *  @param mask out, n bytes @return 0, or -1 with e set (a bad list, an
 *  index >= n) */
int select_index_list(const char *s, uint8_t *mask, int n, herr *e) __attribute__((warn_unused_result));

/** One (layer, head) pair. */
typedef struct head_id { int layer, head; } head_id;

#define SELECT_MAX_HEADS 1024

/** Parse a head list "L2H0,L6H4" (case-insensitive "L<layer>H<head>").
 *  @param s the list; @param out receives up to max heads
 *  @return number of heads (>= 1), or -1 with e set */
int head_list_parse(const char *s, head_id *out, int max, herr *e)
    __attribute__((warn_unused_result));

/** A set of story indices, e.g. "3" or "0-99,120". */
typedef struct story_sel {
    int all;                 /**< 1 = every story */
    size_t n;                /**< number of ranges */
    uint32_t (*r)[2];        /**< inclusive ranges [lo, hi] */
    uint8_t *seen;           /**< [n] whether a story of range i was met */
} story_sel;

/** Parse a story list; NULL or "all" selects every story.
 *  @return 0, or -1 with e set */
int story_sel_parse(story_sel *s, const char *spec, herr *e)
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

/** Parse "A:B".  @return 0, or -1 with e set */
int tok_window_parse(tok_window *w, const char *s, herr *e)
    __attribute__((warn_unused_result));

/** Resolve a window against a story of T tokens.
 *  @param lo,hi out: [lo, hi)
 *  @return 0 (no window given: [0, T), also when T = 0), or -1 with e
 *          set naming the story when a given window lies outside the story
 *          (A >= T or B > T) */
int tok_window_resolve(const tok_window *w, const story_rec *s, long *lo, long *hi, herr *e)
    __attribute__((warn_unused_result));

#endif
