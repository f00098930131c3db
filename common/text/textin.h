/* textin.h: the checks every tool that reads text makes, in one place, so
 * they refuse the same things with the same words:
 *
 *   - stdin must be open for reading when the tool is to read it.  Call
 *     textin_stdin_check() before anything opens a file: with fd 0 closed
 *     (`tool <&-`), the first open() would get fd 0 and the tool would read
 *     its own file (a temporary spool, the vocabulary, ...) as its input.
 *   - text must be text: textin_check() refuses binary data (a NUL byte, a
 *     zstd frame, or mostly invalid UTF-8 and control characters) while a
 *     few stray bytes in real text pass (the caller repairs them).
 *
 * Used by tokenize, stream-import, postag-join (stdin only); meant for every
 * other tool that reads text (forward-dump --ids-text, ...).
 */
#ifndef HEADS_TEXTIN_H
#define HEADS_TEXTIN_H

#include <stddef.h>

#include "base/err.h"

/** Text whose invalid UTF-8 sequences and control characters (C0 other
 *  than tab, LF, VT, FF, CR and ESC; DEL) number more than this fraction
 *  of its bytes, plus TEXTIN_SLACK, is taken for binary data. */
#define TEXTIN_MAX_BAD_FRACTION 0.05
#define TEXTIN_SLACK 2

/** Is file descriptor 0 open for reading?  Call it before the tool opens
 *  any file, and only when the tool is going to read stdin.
 *  @param e receives "stdin is closed ..." or "stdin is not open for
 *         reading ..." @return 0, or -1 */
int textin_stdin_check(herr *e) __attribute__((warn_unused_result));

/** Is this text?  Refuses: a zstd frame at the start (a heads stream or a
 *  .zst file), a NUL byte anywhere, and text whose invalid UTF-8 sequences
 *  plus control characters exceed TEXTIN_MAX_BAD_FRACTION of its bytes
 *  plus TEXTIN_SLACK.
 *  @param s,len the text (need not be NUL-terminated)
 *  @param e receives e.g. "binary data, not text (a NUL byte at byte 7)"
 *  @return 0 when it is text, -1 when not */
int textin_check(const char *s, size_t len, herr *e) __attribute__((warn_unused_result));

#endif
