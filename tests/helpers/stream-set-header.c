/* stream-set-header: a test helper, not a tool.  Copies a stream of any kind
 * with one header key changed, so that the tests can hand the tools a
 * stream whose header lies about its records (a d-head, layers or vectors
 * line that does not match the floats, a model line taken away) while the
 * framing, hashes and records are the writer's own.
 *
 *   stream-set-header IN OUT KEY VALUE   every KEY line replaced by one "KEY: VALUE"
 *   stream-set-header IN OUT KEY         every KEY line removed
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/stream.h"

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: stream-set-header IN OUT KEY [VALUE]\n");
        return 2;
    }
    const char *key = argv[3];
    const size_t klen = strlen(key);
    herr e;
    stream_reader *r = stream_reader_open(argv[1], 0, &e);
    if (!r) goto fail;
    const stream_header *in = stream_reader_header(r);
    stream_header h;
    stream_header_init(&h);
    for (size_t i = 0; i < in->n; i++) {
        const char *line = in->lines[i];
        if (!strncmp(line, key, klen) && line[klen] == ':') continue;
        const char *colon = strchr(line, ':');
        if (!colon) continue;
        char k[256];
        snprintf(k, sizeof k, "%.*s", (int)(colon - line), line);
        stream_header_add(&h, k, "%s", colon[1] == ' ' ? colon + 2 : colon + 1);
    }
    if (argc == 5) stream_header_add(&h, key, "%s", argv[4]);
    stream_writer *w = stream_writer_open(argv[2], stream_reader_kind(r), &h, 3, &e);
    stream_header_free(&h);
    if (!w) goto fail;
    const uint8_t *rec;
    size_t len;
    int got;
    while ((got = stream_reader_next(r, &rec, &len, &e)) == SR_RECORD)
        if (stream_writer_put(w, rec, len, &e)) goto fail;
    if (got == SR_ERROR || stream_writer_close(w, &e)) goto fail;
    stream_reader_close(r);
    return 0;
fail:
    fprintf(stderr, "stream-set-header: %s\n", e.msg);
    return 1;
}
