/* records.h: the record layouts carried by streams (see stream.h).
 *
 * Story record (kinds tokens, tagged, activations), little-endian:
 *
 *   u32 story          index of the story in its source file (0-based)
 *   u32 flags          STORY_HAS_TOKENS | STORY_HAS_TAGS | STORY_HAS_FLOATS
 *   u32 text_len       then text_len bytes of story text (UTF-8 as given)
 *   if HAS_TOKENS:
 *     u32 n_tokens
 *     n_tokens x { u32 id, u32 start, u32 end }   byte span [start, end)
 *   if HAS_TAGS:
 *     n_tokens x { u8 len, len bytes }            POS tag; "" = no tag
 *   if HAS_FLOATS:
 *     u32 floats_per_token
 *     n_tokens x floats_per_token x f32
 *
 * The meaning of the floats is given by the activations header (see
 * activations layout below), not repeated per record.
 *
 * Probe record (kind probes):
 *
 *   u32 layer, u32 head
 *   u8 vlen, vlen bytes    vector kind: "q", "k", "v" or "z"
 *   u32 dim                feature dimension d (4 for TinyStories-1M)
 *   u32 n_classes          K
 *   K x { u8 len, bytes }  class (tag) names, sorted (strcmp order)
 *   K x (d+1) x f64        weights, row k = [w_k0 .. w_k(d-1), intercept_k]
 *   u32 n_train            training samples
 *   u32 iterations         Newton iterations used
 *   u8  converged          1 if the tolerance was met
 *   f64 loss               final objective value
 */
#ifndef HEADS_RECORDS_H
#define HEADS_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "io/stream.h"

enum {
    STORY_HAS_TOKENS = 1u,
    STORY_HAS_TAGS = 2u,
    STORY_HAS_FLOATS = 4u,
};

/** Longest POS tag name (NLTK's longest is 4 characters). */
#define TAG_MAX 15

typedef struct story_token {
    uint32_t id;          /**< vocabulary id */
    uint32_t start, end;  /**< byte span in the story text, [start, end) */
    char tag[TAG_MAX + 1];/**< POS tag, "" when none / not tagged */
} story_token;

/** A decoded story record.  Arrays are owned by the struct (story_free). */
typedef struct story_rec {
    uint32_t story;
    uint32_t flags;
    char *text;            /**< NUL-terminated copy; text_len excludes NUL */
    uint32_t text_len;
    uint32_t n_tokens;
    story_token *tokens;   /**< [n_tokens] */
    uint32_t floats_per_token;
    float *floats;         /**< [n_tokens][floats_per_token] */
} story_rec;

/** Zero-initialise. */
void story_init(story_rec *s);
/** Free owned arrays and re-initialise. */
void story_free(story_rec *s);

/** Decode a story record (validating every length and span).
 *  @param s initialised; its previous contents are freed
 *  @return 0, or -1 with e set on malformed input */
int story_decode(story_rec *s, const uint8_t *rec, size_t len, herr *e)
    __attribute__((warn_unused_result));

/** Encode a story record.  @param out receives a malloc'd buffer
 *  (caller frees) @return its length, or 0 when out of memory */
size_t story_encode(const story_rec *s, uint8_t **out);

/** Encode and write in one step.  @return 0, or -1 with e set */
int story_write(stream_writer *w, const story_rec *s, herr *e) __attribute__((warn_unused_result));

/** Read and decode the next story.
 *  @return SR_RECORD with *s filled, SR_END, or SR_ERROR with e set (the
 *          message names the stream and the record) */
int story_read(stream_reader *r, story_rec *s, herr *e) __attribute__((warn_unused_result));

/** Check that every float of s is finite (the tools that compute with a
 *  stream's floats refuse NaN and Inf; stream-view shows them).
 *  @param name the stream, for the message
 *  @return 0, or -1 with e naming the story, the position and the float */
int story_check_finite(const story_rec *s, const char *name, herr *e) __attribute__((warn_unused_result));

/** The text of token t, trimmed of surrounding white space, with tabs,
 *  newlines and other control bytes replaced by spaces (safe in a TSV
 *  field); "" when the token is only white space.
 *  @param out buffer of n bytes (truncated at a UTF-8 boundary) */
void story_token_word(const story_rec *s, uint32_t t, char *out, size_t n);

/** The study's label "word (TAG)" ("word ()" when untagged). */
void story_token_label(const story_rec *s, uint32_t t, char *out, size_t n);

/** A tag as a TSV field: the tag, or "(none)" for the empty tag. */
const char *story_tag_field(const char *tag);

/** Whether one item of a tag list (len bytes at item, no comma) names tag:
 *  the same text, or "(none)" or an empty item for the empty tag (as
 *  story_tag_field writes it).  @return 1 or 0 */
int story_tag_item_names(const char *item, size_t len, const char *tag);

/** Whether a comma-separated list of tag names (an option's, e.g.
 *  "VBD,CC,(none)") names tag; "(none)" or an empty item names the empty
 *  tag, as story_tag_field writes it.  A NULL list names every tag. */
int story_tag_in_list(const char *list, const char *tag);

/* ------------------------------------------------------------------ */

typedef struct probe_rec {
    uint32_t layer, head;
    char vec[8];           /**< "q", "k", "v", "z" */
    uint32_t dim;
    uint32_t n_classes;
    char (*classes)[TAG_MAX + 1]; /**< [n_classes], sorted */
    double *weights;       /**< [n_classes][dim + 1], intercept last */
    uint32_t n_train;
    uint32_t iterations;
    uint8_t converged;
    double loss;
} probe_rec;

/** Zero-initialise; free owned arrays and re-initialise. */
void probe_rec_init(probe_rec *p);
void probe_rec_free(probe_rec *p);
/** Decode a probe record.  @return 0, or -1 with e set */
int probe_rec_decode(probe_rec *p, const uint8_t *rec, size_t len, herr *e)
    __attribute__((warn_unused_result));
/** Encode.  @return the length of the malloc'd *out, or 0 when out of memory */
size_t probe_rec_encode(const probe_rec *p, uint8_t **out);
/** Encode and write.  @return 0, or -1 with e set */
int probe_rec_write(stream_writer *w, const probe_rec *p, herr *e) __attribute__((warn_unused_result));
/** Read and decode the next probe.  @return SR_RECORD, SR_END, or SR_ERROR with e set */
int probe_rec_read(stream_reader *r, probe_rec *p, herr *e) __attribute__((warn_unused_result));

/* ------------------------------------------------------------------ */
/* Activations layout, carried in the header of an activations stream:
 *
 *   d-head: 4
 *   n-layer: 8           (the model's)   n-head: 16
 *   layers: 0 1 2 ...    (the dumped layers, ascending)
 *   heads: 0 1 ...       (the dumped heads, ascending)
 *   vectors: q k v z a   (dumped vector kinds in this order; "a" = activity,
 *                         one float per head)
 *   attention-layers: global local global ...   (one per model layer)
 *   window-size: 256
 *
 * The floats of one token are ordered [layer][head][vector][d]: for each
 * dumped layer, each dumped head, each vector kind its d_head floats (1 for
 * "a").  act_layout parses that and gives offsets. */

#define ACT_MAX_LAYERS 64
#define ACT_MAX_HEADS 64
#define ACT_MAX_VECS 5

typedef struct act_layout {
    int d_head, n_layer, n_head;
    int n_layers, layers[ACT_MAX_LAYERS];   /**< dumped layers */
    int n_heads, heads[ACT_MAX_HEADS];      /**< dumped heads */
    int n_vecs; char vecs[ACT_MAX_VECS];    /**< 'q','k','v','z','a' */
    int vec_width[ACT_MAX_VECS];            /**< d_head, or 1 for 'a' */
    int per_head;                           /**< floats per (layer, head) */
    int floats_per_token;
    int local_layer[ACT_MAX_LAYERS];        /**< 1 if model layer is local */
    int window_size;
} act_layout;

/** Parse the layout from an activations header.
 *  @return 0, or -1 with e set */
int act_layout_parse(act_layout *L, const stream_header *h, herr *e)
    __attribute__((warn_unused_result));

/** Write the layout lines into a header. */
void act_layout_to_header(const act_layout *L, stream_header *h);

/** The vector kinds, in the order a dump lays them out: q, k, v, z (d_head
 *  floats each) and a (activity, one float). */
#define ACT_VECTOR_KINDS "qkvza"

/** @return 1 if c is one of ACT_VECTOR_KINDS. */
int act_is_vector_kind(char c);

/** Parse a vector-kind list: letters of ACT_VECTOR_KINDS separated by
 *  `sep` (',' on command lines, ' ' in headers); a repeated letter counts once.
 *  @param out ACT_MAX_VECS letters, in the order first given @param n their count
 *  @return 0, or -1 with e set (an unknown letter, an empty list) */
int act_vectors_parse(const char *list, char sep, char *out, int *n, herr *e)
    __attribute__((warn_unused_result));

/** One selected vector of a layout. */
typedef struct act_item {
    int layer, head;
    char vec;      /**< a letter of ACT_VECTOR_KINDS */
    int offset;    /**< in a token's floats (act_offset) */
    int width;     /**< d_head, or 1 for 'a' */
} act_item;

/** Select (layer, head, vector) triples of a layout: the layers of `layers`
 *  and the heads of `heads` (index lists "0-3,7" or "all"; NULL = every
 *  dumped one), each with the kinds of `vectors` in the order given; in
 *  (layer, head, vector) order.  A requested one the layout did not dump is
 *  refused, naming it.
 *  @param out receives a malloc'd array (caller frees) @param n its length
 *  @return 0, or -1 with e set */
int act_select(const act_layout *L, const char *layers, const char *heads, const char *vectors,
               act_item **out, int *n, herr *e) __attribute__((warn_unused_result));

/** Offset of vector kind v of (layer, head) within a token's floats.
 *  @return offset, or -1 if that layer / head / vector was not dumped */
int act_offset(const act_layout *L, int layer, int head, char v);

#endif
