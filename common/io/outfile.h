/* outfile.h: output files that appear whole or not at all.
 *
 * A regular file is written under a temporary name beside it and renamed
 * into place by outfile_close(); if the tool dies (die()) or is killed
 * (SIGINT, SIGTERM, SIGHUP, SIGPIPE) first, the temporary is removed, so no
 * half-written file is ever taken as done (make's view of the world).  A
 * device or FIFO (/dev/null, a named pipe) is written in place: renaming over
 * it would replace it.  NULL or "-" means stdout.  Used by the stream writer
 * and by every tool's text outputs (tables, reports, id lists).
 */
#ifndef HEADS_OUTFILE_H
#define HEADS_OUTFILE_H

#include <stdio.h>

#include "base/err.h"

typedef struct outfile {
    FILE *f;              /**< write here */
    char *path;           /**< the final name ("stdout" for stdout) */
    char *tmp;            /**< temporary name, or NULL when written in place */
    struct outfile *next; /**< open outputs with a temporary (for cleanup) */
    char *canon;          /**< the final name with its folder resolved (internal) */
    int is_stdout;        /**< writes to stdout (internal) */
} outfile;

/** Open an output.  Two outputs open at once onto the same file (or both
 *  onto stdout) are refused: the second would silently replace the first.
 *  @param path file name, or NULL / "-" for stdout
 *  @return the handle (write to ->f), or NULL with e set */
outfile *outfile_open(const char *path, herr *e) __attribute__((warn_unused_result));

/** Flush and close; rename the temporary into place.  On a write or rename
 *  error the temporary is removed.  Frees the handle either way.
 *  @return 0, or -1 with e set */
int outfile_close(outfile *o, herr *e) __attribute__((warn_unused_result));

/** Give up an output: close it, remove its temporary, free the handle
 *  (NULL is fine).  A device or stdout keeps what was written. */
void outfile_abort(outfile *o);

#endif
