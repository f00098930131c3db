/* tagmap.h: which POS tags a probe is trained and evaluated on.
 *
 * probe-fit takes the rules from its options and records them in the probes
 * stream header; probe-eval reads them back from there, so test tags are
 * mapped exactly as the training tags were.
 *
 *   merge rules  "PATTERN=TAG": a tag matching the shell pattern (fnmatch,
 *                e.g. "VB*") becomes TAG; the first matching rule wins.
 *                Header line: "probe-merge: PATTERN=TAG".
 *   drops        tokens whose (merged) tag equals one of these are left out.
 *                Header lines: "probe-drop: TAG", and "probe-drop-empty: yes"
 *                for the empty tag (tokens without a tag).
 *
 * Default (no rules): every token is kept with its tag, the empty tag
 * included, as the study did.
 */
#ifndef HEADS_TAGMAP_H
#define HEADS_TAGMAP_H

#include "io/records.h"
#include "io/stream.h"

#define TAGMAP_MAX 64

typedef struct tagmap {
    int n_merge;
    char pat[TAGMAP_MAX][TAG_MAX + 1];  /**< fnmatch patterns */
    char to[TAGMAP_MAX][TAG_MAX + 1];   /**< replacement tags */
    int n_drop;
    char drop[TAGMAP_MAX][TAG_MAX + 1]; /**< dropped tags ("" allowed) */
} tagmap;

/** Empty map: keep every tag as it is. @param m map */
void tagmap_init(tagmap *m);

/** Add a merge rule.  @param m map @param rule "PATTERN=TAG" (TAG may be
 *  empty; PATTERN not) @return 0, or -1 if malformed / too many / too long */
int tagmap_add_merge(tagmap *m, const char *rule) __attribute__((warn_unused_result));

/** Drop tokens with this tag (after merging).  @param m map @param tag tag
 *  ("" = the empty tag) @return 0, or -1 if too many / too long */
int tagmap_add_drop(tagmap *m, const char *tag) __attribute__((warn_unused_result));

/** Map one tag.  @param m map @param tag input tag @param out receives the
 *  mapped tag (TAG_MAX + 1 bytes) @return 1 to keep the token, 0 to drop it */
int tagmap_apply(const tagmap *m, const char *tag, char out[TAG_MAX + 1]);

/** Write the rules as header lines (see above). @param m map @param h header */
void tagmap_to_header(const tagmap *m, stream_header *h);

/** Read the rules back from a header (every probe-merge / probe-drop /
 *  probe-drop-empty line, in order).  @param m map (initialised here)
 *  @param h header @param err message on failure @return 0 or -1 */
int tagmap_from_header(tagmap *m, const stream_header *h, const char **err)
    __attribute__((warn_unused_result));

/** A growable list of distinct tag names, in order of first sight. */
typedef struct tagset {
    int n, cap;
    char (*name)[TAG_MAX + 1];  /**< [n] */
} tagset;

/** Index of tag in the set, adding it when new.
 *  @param t set (zero-initialised to start; free t->name when done)
 *  @param tag tag name (at most TAG_MAX bytes) @return its index */
int tagset_index(tagset *t, const char *tag);

#endif
