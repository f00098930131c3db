/* textin.c: stdin and binary-data checks for text inputs (see textin.h). */
#include "text/textin.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "text/utf8.h"

int textin_stdin_check(herr *e)
{
    int fl = fcntl(0, F_GETFL);
    if (fl < 0)
        return herr_set(e, "stdin is closed (fd 0 is not open); give an input file, or a pipe or file on stdin");
    if ((fl & O_ACCMODE) == O_WRONLY) /* cli_init holds a closed fd 0 this way */
        return herr_set(e, "stdin is closed or not open for reading; give an input file, or a pipe or file on stdin");
    return 0;
}

int textin_check(const char *s, size_t len, herr *e)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len >= 4 && u[0] == 0x28 && u[1] == 0xB5 && u[2] == 0x2F && u[3] == 0xFD)
        return herr_set(e, "zstd-compressed data, not text (a heads stream? stream-view prints one)");
    const char *nul = memchr(s, 0, len);
    if (nul) return herr_set(e, "binary data, not text (a NUL byte at byte %zu)", (size_t)(nul - s));
    size_t controls = 0;
    for (size_t i = 0; i < len; i++)
        controls += (u[i] < 0x20 && !strchr("\t\n\v\f\r\x1b", u[i])) || u[i] == 0x7F;
    size_t bad = controls + utf8_count_invalid(s, len);
    if ((double)bad > TEXTIN_MAX_BAD_FRACTION * (double)len + TEXTIN_SLACK)
        return herr_set(e, "binary data, not text (%zu invalid UTF-8 sequences and control characters in %zu bytes)",
                        bad, len);
    return 0;
}
