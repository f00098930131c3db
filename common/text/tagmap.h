/* tagmap.h: the one tag-merge grammar of the toolkit, and which POS tags a
 * probe is trained and evaluated on.
 *
 *   merge rules  "PATTERN=TAG": a tag matching the shell pattern (fnmatch,
 *                e.g. "VB*") becomes TAG (TAG may be empty: no tag).  Rules
 *                are tried in the order given and the FIRST matching rule
 *                wins, like a case statement: 'VBD=VBD,VB*=VB' keeps VBD and
 *                merges the other VB* tags.  (First-match because probes
 *                streams written so far record their rules this way, and a
 *                specific rule before a general one reads naturally.)
 *                Patterns match the tag as it was, never a merged one.
 *                postag-join --merge and probe-fit --merge both parse and
 *                apply their rules here.  Probes header line:
 *                "probe-merge: PATTERN=TAG".
 *   drops        (probes) tokens whose merged tag equals one of these are
 *                left out.  Header lines: "probe-drop: TAG", and
 *                "probe-drop-empty: yes" for the empty tag.
 *
 * probe-fit records the rules in the probes stream header; probe-eval reads
 * them back, so test tags are mapped exactly as the training tags were.
 * Default (no rules): every token is kept with its tag, the empty tag
 * included, as the study did.
 */
#ifndef HEADS_TAGMAP_H
#define HEADS_TAGMAP_H

#include "base/err.h"
#include "io/records.h"
#include "io/stream.h"

#define TAGMAP_MAX 64

typedef struct tagmap {
    int n_merge;
    char pat[TAGMAP_MAX][TAG_MAX + 1];  /**< fnmatch patterns, in order */
    char to[TAGMAP_MAX][TAG_MAX + 1];   /**< replacement tags */
    int n_drop;
    char drop[TAGMAP_MAX][TAG_MAX + 1]; /**< dropped tags ("" allowed) */
} tagmap;

/** Empty map: keep every tag as it is. @param m map */
void tagmap_init(tagmap *m);

/** Add merge rules (after those already there).
 *  @param m map
 *  @param spec one rule "PATTERN=TAG" or several separated by commas
 *         ("VBD=VBD,VB*=VB"); PATTERN non-empty, TAG possibly empty, each at
 *         most TAG_MAX bytes, exactly one '=' per rule
 *  @param e error: the malformed rule, or more than TAGMAP_MAX rules
 *  @return 0, or -1 (m unchanged) */
int tagmap_add_merge(tagmap *m, const char *spec, herr *e) __attribute__((warn_unused_result));

/** Drop tokens with this tag (after merging).  @param m map @param tag tag
 *  ("" = the empty tag) @param e error @return 0, or -1 if too many / too long */
int tagmap_add_drop(tagmap *m, const char *tag, herr *e) __attribute__((warn_unused_result));

/** The merged tag: TAG of the first rule whose pattern matches tag, else tag.
 *  @param m map @param tag input tag @return a pointer into m or tag */
const char *tagmap_merge(const tagmap *m, const char *tag);

/** Map one tag (merge, then drop).  @param m map @param tag input tag
 *  @param out receives the mapped tag (TAG_MAX + 1 bytes)
 *  @return 1 to keep the token, 0 to drop it */
int tagmap_apply(const tagmap *m, const char *tag, char out[TAG_MAX + 1]);

/** Write the rules as header lines (see above). @param m map @param h header */
void tagmap_to_header(const tagmap *m, stream_header *h);

/** Read the rules back from a header (every probe-merge / probe-drop /
 *  probe-drop-empty line, in order).  @param m map (initialised here)
 *  @param h header @param e error @return 0 or -1 */
int tagmap_from_header(tagmap *m, const stream_header *h, herr *e) __attribute__((warn_unused_result));

/** A growable list of distinct tag names, in order of first sight. */
typedef struct tagset {
    int n, cap;
    char (*name)[TAG_MAX + 1];  /**< [n] */
} tagset;

/** Index of tag in the set, adding it when new.
 *  @param t set (zero-initialised to start; free t->name when done)
 *  @param tag tag name (longer than TAG_MAX bytes: cut)
 *  @param e error (out of memory)
 *  @return its index, or -1 */
int tagset_index(tagset *t, const char *tag, herr *e) __attribute__((warn_unused_result));

#endif
