/* stream.h: the one record-stream container every tool reads and writes.
 *
 * On disk / in a pipe a stream is one or more zstd frames (content checksum
 * on).  Decompressed, one stream is:
 *
 *   magic      8 bytes  "HEADSTRM"
 *   version    u32      STREAM_VERSION
 *   kind       u32      enum stream_kind
 *   hdr_len    u32      length of the header text
 *   header     hdr_len bytes of "key: value\n" lines (UTF-8, no NUL)
 *   records    each: u32 length (< STREAM_END_TAG), then length bytes
 *   end        u32 STREAM_END_TAG, u64 record count, 8 bytes "HEADSEND"
 *
 * All integers little-endian.  A reader that reaches EOF before the end
 * marker reports a truncated stream; a count that disagrees with the
 * records read is corruption.  After an end marker another stream may
 * follow (shards joined with `cat`): it is accepted when its kind matches and
 * its header agrees with the first one, i.e. the two are identical once the
 * provenance lines ("pg: ...") are set aside; the provenance lines of later
 * parts that are new are appended to the merged header.
 *
 * Header conventions: keys are lowercase with dashes ("model-sha256").
 * Every tool copies its input's header and appends its own lines plus one
 * provenance line:  "pg: TOOL VERSION ARGS".
 */
#ifndef HEADS_STREAM_H
#define HEADS_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

#define STREAM_VERSION 1u
#define STREAM_END_TAG 0xFFFFFFFFu
/** Largest record accepted (guards readers against absurd lengths). */
#define STREAM_MAX_RECORD (1u << 30)
/** Largest header accepted. */
#define STREAM_MAX_HEADER (1u << 24)

/** The kinds of stream.  Values are part of the format: never renumber. */
enum stream_kind {
    STREAM_TOKENS = 1,      /**< story records with text + BPE tokens (tokenize) */
    STREAM_TAGGED = 2,      /**< ... plus a POS tag per token (postag-join) */
    STREAM_ACTIVATIONS = 3, /**< ... plus float32 vectors per token (forward-dump) */
    STREAM_PROBES = 4,      /**< one probe record per (layer, head, vector) (probe-fit) */
    STREAM_KIND_MAX = 4
};

/** @return "tokens", "tagged", "activations", "probes" or "unknown". */
const char *stream_kind_name(uint32_t kind);

/** @return which tool writes the kind ("tokenize", "postag-join", ...). */
const char *stream_kind_producer(uint32_t kind);

/* ------------------------------------------------------------------ */
/* Header: an ordered list of "key: value" lines.                      */

typedef struct stream_header {
    char **lines;   /**< each line without its newline */
    size_t n, cap;
    int oom;        /**< a line could not be stored (out of memory): writers refuse the header */
} stream_header;

/** Initialise an empty header. */
void stream_header_init(stream_header *h);
/** Free all lines. */
void stream_header_free(stream_header *h);
/** Deep copy src into dst (dst must be initialised and is cleared first). */
void stream_header_copy(stream_header *dst, const stream_header *src);
/** Append "key: value" (value formatted with printf).  Keys must not
 *  contain ':' or newlines; newlines in the value are replaced by spaces.
 *  Out of memory marks the header (oom), which every writer then refuses:
 *  the adding functions need no error path of their own. */
void stream_header_add(stream_header *h, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Replace the value of the last line with this key, or append it. */
void stream_header_set(stream_header *h, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** @return the value of the LAST line with this key, or NULL. */
const char *stream_header_get(const stream_header *h, const char *key);
/** Append the provenance line "pg: TOOL VERSION ARGS" for this tool.
 *  @param argc,argv main's arguments (argv[0] is skipped) */
void stream_header_add_provenance(stream_header *h, int argc, char **argv);
/** Write the header as text lines to f. */
void stream_header_print(const stream_header *h, FILE *f);

/* ------------------------------------------------------------------ */
/* Writer                                                              */

typedef struct stream_writer stream_writer;
struct outfile;

#define STREAM_DEFAULT_LEVEL 1

/** Open a stream for writing.
 *  @param path output file, or NULL / "-" for stdout.  A file is written
 *         under a temporary name and renamed by stream_writer_close(); a
 *         tool that dies first leaves no temporary.  A terminal stdout is
 *         refused, like zstd does.
 *  @param kind stream kind; @param h header (copied)
 *  @param level zstd level (0 = default, STREAM_DEFAULT_LEVEL)
 *  @return the writer, or NULL with e set */
stream_writer *stream_writer_open(const char *path, uint32_t kind, const stream_header *h, int level,
                                  herr *e) __attribute__((warn_unused_result));

/** The first half of stream_writer_open, for a tool that checks its output
 *  before long work rather than after it: refuses a terminal stdout and
 *  creates the temporary file of a named output.
 *  @return the output, to be handed to stream_writer_open_output, or NULL
 *          with e set */
struct outfile *stream_writer_claim(const char *path, herr *e) __attribute__((warn_unused_result));

/** The second half: a writer on an output from stream_writer_claim (the
 *  writer takes it over, and gives it up on failure).
 *  @return the writer, or NULL with e set */
stream_writer *stream_writer_open_output(struct outfile *out, uint32_t kind, const stream_header *h,
                                         int level, herr *e) __attribute__((warn_unused_result));

/** Append one record.  After a failure every later call reports it again.
 *  @return 0, or -1 with e set (an I/O error, a record too large) */
int stream_writer_put(stream_writer *w, const void *rec, size_t len, herr *e)
    __attribute__((warn_unused_result));

/** Write the end marker, finish the zstd frame, flush, rename into place,
 *  free the writer.  On any error the temporary is removed.
 *  @return 0, or -1 with e set */
int stream_writer_close(stream_writer *w, herr *e) __attribute__((warn_unused_result));

/** Give up a writer: remove its temporary, free it (NULL is fine). */
void stream_writer_abort(stream_writer *w);

/** Frame an already-serialised payload (magic, version, kind, header,
 *  records, end marker: the decompressed layout above) as a stream: one
 *  zstd frame plus its frame check.  For tests and fuzzing, which craft
 *  malformed payloads that a writer would never produce.
 *  @param out receives a malloc'd buffer (caller frees)
 *  @return its length, or 0 when out of memory */
size_t stream_frame_payload(const void *payload, size_t len, uint8_t **out);

/** The frame check's hash of data, fed in pieces of `chunk` bytes (the
 *  writer and reader split a frame differently; the hash must not care).
 *  Exposed for tests.  @param chunk piece size, >= 1 */
uint64_t stream_frame_hash(const void *data, size_t len, size_t chunk);

/* ------------------------------------------------------------------ */
/* Reader                                                              */

typedef struct stream_reader stream_reader;

/** Reader results. */
enum { SR_RECORD = 1, SR_END = 0, SR_ERROR = -1 };

/** Open a stream from a file (NULL / "-" = stdin) or from memory.
 *  @param kind_mask bit (1u << kind) for each accepted kind; 0 = any
 *  @return the reader, or NULL with e set, e.g. "stdin is a tokens stream;
 *          expected activations from forward-dump" ("" is refused as an
 *          empty input file name, not looked up) */
stream_reader *stream_reader_open(const char *path, uint32_t kind_mask, herr *e)
    __attribute__((warn_unused_result));
stream_reader *stream_reader_open_mem(const void *data, size_t len, uint32_t kind_mask, herr *e)
    __attribute__((warn_unused_result));

/** @return the stream's kind. */
uint32_t stream_reader_kind(const stream_reader *r);
/** @return the (merged) header; valid until stream_reader_close. */
const stream_header *stream_reader_header(const stream_reader *r);

/** Read the next record.
 *  @param rec receives a pointer to the record bytes, valid until the next
 *         call; @param len its length
 *  @return SR_RECORD, SR_END (after a complete stream and any concatenated
 *          parts) or SR_ERROR with e set (a truncated or corrupt stream,
 *          a read error; every later call reports it again) */
int stream_reader_next(stream_reader *r, const uint8_t **rec, size_t *len, herr *e)
    __attribute__((warn_unused_result));

/** @return the name used in messages ("stdin" or the path). */
const char *stream_reader_name(const stream_reader *r);
/** @return records read so far. */
uint64_t stream_reader_count(const stream_reader *r);
/** Close and free (NULL is fine). */
void stream_reader_close(stream_reader *r);

#endif
