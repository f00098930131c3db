/* stream-set-float: a test helper, not a tool.  Copies an activations stream
 * with one float replaced, so that the tests can hand the tools a stream
 * that the toolkit would never write (NaN, Inf) but that is otherwise well
 * formed (framing, hashes and end marker are the writer's own).
 *
 *   stream-set-float IN OUT STORY POS INDEX VALUE   (VALUE: strtof, so nan, -inf)
 */
#include <stdio.h>
#include <stdlib.h>

#include "io/records.h"
#include "io/stream.h"

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: stream-set-float IN OUT STORY POS INDEX VALUE\n");
        return 2;
    }
    const unsigned long story = strtoul(argv[3], NULL, 10), pos = strtoul(argv[4], NULL, 10),
                        idx = strtoul(argv[5], NULL, 10);
    const float value = strtof(argv[6], NULL);
    herr e;
    stream_reader *r = stream_reader_open(argv[1], 1u << STREAM_ACTIVATIONS, &e);
    if (!r) goto fail;
    stream_writer *w = stream_writer_open(argv[2], STREAM_ACTIVATIONS, stream_reader_header(r), 3, &e);
    if (!w) goto fail;
    story_rec s;
    story_init(&s);
    int got, hit = 0;
    while ((got = story_read(r, &s, &e)) == SR_RECORD) {
        if (s.story == story && pos < s.n_tokens && idx < s.floats_per_token) {
            s.floats[pos * s.floats_per_token + idx] = value;
            hit = 1;
        }
        if (story_write(w, &s, &e)) goto fail;
    }
    if (got == SR_ERROR || stream_writer_close(w, &e)) goto fail;
    story_free(&s);
    stream_reader_close(r);
    if (!hit) {
        fprintf(stderr, "stream-set-float: no story %lu position %lu float %lu\n", story, pos, idx);
        return 1;
    }
    return 0;
fail:
    fprintf(stderr, "stream-set-float: %s\n", e.msg);
    return 1;
}
