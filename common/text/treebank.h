/* treebank.h: NLTK's TreebankWordTokenizer (nltk/tokenize/treebank.py, NLTK
 * 3.8 / 3.9) in C, word for word: `tokenize()` (the regex rewrites: starting
 * quotes -> ``, punctuation, the final period only, brackets, "--", ending
 * quotes -> '', contractions) and `span_tokenize()` (converted quotes mapped
 * back to the text's own `` '' " in order, then align_tokens).
 *
 * The regexes are NLTK's own, run with PCRE2 in UTF + UCP mode; Python's
 * `\s` (str.isspace) is spelled out as an explicit class because PCRE2's
 * differs on U+001C..U+001F, and NLTK's case-insensitive contraction rules
 * get Python's IGNORECASE letter classes (`i` also matches U+0130 and
 * U+0131, `s` U+017F, `k` U+212A; see treebank.c), because PCRE2's caseless
 * matching folds differently.  (`\w`, `\b`, `\d` agree: Python's and
 * PCRE2's are both Unicode 14 L, N and Nd.)  Input must be valid UTF-8.
 *
 * The study tagged each story as one text (no sentence splitting), so only
 * the story's last period is split off: "time." inside a story stays one
 * word, exactly as NLTK does.
 */
#ifndef HEADS_TREEBANK_H
#define HEADS_TREEBANK_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "text/utf8.h"

/** Compiled tokenizer (the regexes); reusable for many texts, not
 *  thread-safe (it owns scratch buffers). */
typedef struct treebank treebank;

/** Words of one text. */
typedef struct tb_words {
    size_t n;          /**< number of words */
    char **word;       /**< [n] tokenize() output (quotes as `` and ''), NUL-terminated */
    uint32_t *start;   /**< [n] byte offset of the word in the text (span_tokenize) */
    uint32_t *end;     /**< [n] byte end, exclusive */
    /* storage */
    char *arena;
    size_t arena_cap, cap;
} tb_words;

/** Compile the tokenizer.
 *  @param e error
 *  @return the tokenizer, or NULL */
treebank *treebank_new(herr *e) __attribute__((warn_unused_result));

/** Free the tokenizer (NULL is fine). */
void treebank_free(treebank *tb);

/** Initialise an empty word list. */
void tb_words_init(tb_words *w);
/** Free a word list's storage and re-initialise it. */
void tb_words_free(tb_words *w);

/** Tokenize a text as TreebankWordTokenizer().tokenize(text) and give each
 *  word its span as span_tokenize(text) does.
 *  @param tb the tokenizer
 *  @param text UTF-8 text (need not be NUL-terminated)
 *  @param len its length in bytes
 *  @param out receives the words (previous contents replaced)
 *  @param e error: invalid UTF-8, a NUL byte, or a text where NLTK itself
 *         fails (align_tokens cannot find a word, more converted quotes
 *         than quotes in the text)
 *  @return 0, or -1 on failure */
int treebank_tokenize(treebank *tb, const char *text, size_t len, tb_words *out,
                      herr *e) __attribute__((warn_unused_result));

#endif
