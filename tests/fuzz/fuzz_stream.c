/* fuzz_stream.c: libFuzzer target for the stream reader and the record
 * decoders.  Any input must give records or one error, never a crash, a
 * leak or a sanitizer report.
 *
 * The first byte picks the mode: odd = the rest is read as a stream file
 * (exercising zstd framing, frame checks, truncation, concatenation); even =
 * the rest is a decompressed payload that is framed first, so mutations
 * reach the header and record parsers instead of dying in the checksums. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "io/records.h"
#include "io/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    uint8_t *framed = NULL;
    const uint8_t *in = data + 1;
    size_t in_len = size - 1;
    if (!(data[0] & 1)) {
        in_len = stream_frame_payload(data + 1, size - 1, &framed);
        if (!in_len) return 0;
        in = framed;
    }
    herr err;
    stream_reader *r = stream_reader_open_mem(in, in_len, 0, &err);
    if (r) {
        uint32_t kind = stream_reader_kind(r);
        act_layout L;
        if (kind != STREAM_ACTIVATIONS || act_layout_parse(&L, stream_reader_header(r), &err) == 0) {
            story_rec s;
            probe_rec p;
            story_init(&s);
            probe_rec_init(&p);
            const uint8_t *rec;
            size_t len;
            while (stream_reader_next(r, &rec, &len, &err) == SR_RECORD) {
                int bad = kind == STREAM_PROBES ? probe_rec_decode(&p, rec, len, &err)
                                                : story_decode(&s, rec, len, &err);
                if (bad) break;
            }
            story_free(&s);
            probe_rec_free(&p);
        }
        stream_reader_close(r);
    }
    free(framed);
    return 0;
}
