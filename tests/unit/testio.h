/* testio.h: the stream library's herr calls as the unit tests like them: the
 * last error's message as a string (t_err), so a test checks it in one line
 * (CHECK(!r && strstr(t_err, "truncated"), ...)). */
#ifndef HEADS_TESTIO_H
#define HEADS_TESTIO_H

#include "io/records.h"
#include "io/stream.h"

static herr t_herr;
static const char *const t_err = t_herr.msg;

/* Each returns what the library does; on failure *err (when given) points
 * at the message. */
static inline stream_reader *t_open(const char *path, uint32_t mask, const char **err)
{
    stream_reader *r = stream_reader_open(path, mask, &t_herr);
    if (!r && err) *err = t_herr.msg;
    return r;
}
static inline stream_reader *t_open_mem(const void *data, size_t len, uint32_t mask, const char **err)
{
    stream_reader *r = stream_reader_open_mem(data, len, mask, &t_herr);
    if (!r && err) *err = t_herr.msg;
    return r;
}
static inline int t_next(stream_reader *r, const uint8_t **rec, size_t *len)
{
    return stream_reader_next(r, rec, len, &t_herr);
}
static inline int t_story_decode(story_rec *s, const uint8_t *rec, size_t len, const char **err)
{
    int rc = story_decode(s, rec, len, &t_herr);
    if (rc && err) *err = t_herr.msg;
    return rc;
}
static inline int t_probe_decode(probe_rec *p, const uint8_t *rec, size_t len, const char **err)
{
    int rc = probe_rec_decode(p, rec, len, &t_herr);
    if (rc && err) *err = t_herr.msg;
    return rc;
}
static inline int t_layout_parse(act_layout *L, const stream_header *h, const char **err)
{
    int rc = act_layout_parse(L, h, &t_herr);
    if (rc && err) *err = t_herr.msg;
    return rc;
}
static inline int t_put(stream_writer *w, const void *rec, size_t len)
{
    return stream_writer_put(w, rec, len, &t_herr);
}

#endif
