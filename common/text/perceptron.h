/* perceptron.h: inference of NLTK's averaged perceptron POS tagger
 * (nltk/tag/perceptron.py, PerceptronTagger.tag) from the official JSON model
 * of NLTK 3.9 (averaged_perceptron_tagger_eng.{weights,tagdict,classes}.json).
 *
 * For each word: the tag dictionary first (exact, case-sensitive word); else
 * the 14 feature templates (bias, suffix, first character, previous tags,
 * the words two either side normalised: !HYPHEN, !YEAR, !DIGITS, lowercase,
 * with -START- -START2- / -END- -END2- padding), each feature's weights summed
 * per tag in NLTK's order, and the best tag taken as max(classes, key=(score,
 * tag)): the highest score, ties to the alphabetically greatest tag.
 */
#ifndef HEADS_PERCEPTRON_H
#define HEADS_PERCEPTRON_H

#include <stddef.h>

#include "base/err.h"

/** A loaded tagger model (read-only after loading; tagging uses scratch
 *  buffers, so one model per thread). */
typedef struct perceptron perceptron;

/** The three model files inside a tagger directory, in the order their
 *  bytes enter the tagger's identity hash. */
extern const char *const PERCEPTRON_FILES[3];

/** Load the model from a directory holding the three JSON files.
 *  @param dir the directory (e.g. data/cache/nltk/averaged_perceptron_tagger_eng)
 *  @param e error: a one-line message naming the file ("DIR/...weights.json:
 *         cannot open tagger file: ...", "...: corrupt tagger file: ...")
 *  @return the model, or NULL */
perceptron *perceptron_load(const char *dir, herr *e)
    __attribute__((warn_unused_result));

/** The model's identity: sha256 of the bytes of its three files
 *  concatenated in PERCEPTRON_FILES order, i.e. of
 *  `cat *.classes.json *.tagdict.json *.weights.json`.
 *  @return 64 lowercase hex characters */
const char *perceptron_sha256(const perceptron *p);

/** Free a model (NULL is fine). */
void perceptron_free(perceptron *p);

/** @return the number of tags the model can produce. */
int perceptron_n_classes(const perceptron *p);

/** @return the name of tag number i (0 <= i < perceptron_n_classes). */
const char *perceptron_class(const perceptron *p, int i);

/** @return the number of a tag name, or -1 when the model has no such tag. */
int perceptron_class_index(const perceptron *p, const char *name);

/** Tag a sequence of words as PerceptronTagger().tag(words).
 *  @param p the model
 *  @param words [n] NUL-terminated UTF-8 words (non-empty)
 *  @param n number of words
 *  @param tags out, [n] tag numbers (see perceptron_class)
 *  @param e error
 *  @return 0, or -1 (out of memory) */
int perceptron_tag(perceptron *p, const char *const *words, size_t n, int *tags, herr *e)
    __attribute__((warn_unused_result));

/** NLTK's word normalisation for the context features ("!HYPHEN",
 *  "!YEAR", "!DIGITS" or Python's str.lower()).
 *  @param word UTF-8 word; @param out buffer; @param cap its size
 *  @return length written (NUL-terminated), or -1 if cap is too small */
int perceptron_normalize(const char *word, char *out, size_t cap);

#endif
