/* storyset.h: the stories of a stream held in memory and checked against a
 * model, for the tools that run a model over whole inputs more than once
 * (ablate's two passes, logit-lens, head-scores --text).
 *
 * Accepted: tokens, tagged and activations streams.  A story of 0 tokens
 * (tokenize --keep-empty writes them) is valid and left out: there is
 * nothing to run; a stream of only such stories is refused.  Refused, each
 * with one line naming the story: a record without tokens, a story longer
 * than the model's positions, a token id outside its vocabulary, a story
 * without tags when tags are needed, and an activations stream whose
 * model-sha256 is not the loaded weights' (it was made with another model).
 */
#ifndef HEADS_MODEL_STORYSET_H
#define HEADS_MODEL_STORYSET_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "io/records.h"
#include "io/stream.h"
#include "model/gptneo.h"

typedef struct storyset {
    size_t n;            /**< stories kept */
    size_t n_empty;      /**< 0-token stories left out (without STORYSET_EMPTY_OK) */
    story_rec *s;        /**< [n] in stream order (floats dropped) */
    uint32_t **ids;      /**< [n][n_tokens] token ids, for the forward */
    stream_header hdr;   /**< the stream's header */
    char name[1024];     /**< "stdin" or the path, for messages */
} storyset;

/** What storyset_read asks of the stories. */
enum {
    STORYSET_TAGS = 1,     /**< refuse stories without POS tags */
    STORYSET_EMPTY_OK = 2, /**< keep 0-token stories (a token pool, not a forward) */
};

/** Read every story of path (NULL / "-" = stdin).
 *  @param flags STORYSET_* or 0
 *  @return 0, or -1 with e set */
int storyset_read(storyset *ss, const char *path, const gptneo_model *m, int flags, herr *e)
    __attribute__((warn_unused_result));

/** Free everything (a zeroed storyset is fine). */
void storyset_free(storyset *ss);

#endif
