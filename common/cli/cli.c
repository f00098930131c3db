/* cli.c: error reporting, option parsing and file helpers shared by tools. */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/sha256.h"
#include "io/select.h"
#include "io/outfile.h"

static char tool_name[64] = "heads";
static void (*die_hooks[8])(void);
static int n_die_hooks;
static void (*before_message)(void);   /* e.g. erase a progress line */

void cli_init(const char *argv0)
{
    const char *base = argv0 ? strrchr(argv0, '/') : NULL;
    base = base ? base + 1 : (argv0 ? argv0 : "heads");
    snprintf(tool_name, sizeof tool_name, "%s", base);
    /* A closed fd 0, 1 or 2 (`tool <&-`) would be taken by the next file the
     * tool opens: it would read its own model file as stdin, or write its
     * output into it.  Hold each closed one with /dev/null opened the wrong
     * way round (fd 0 write-only, fds 1-2 read-only), so that using it fails
     * and is reported instead. */
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int got = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
            if (got >= 0 && got != fd) close(got);
        }
}

const char *cli_tool(void) { return tool_name; }

void cli_on_die(void (*fn)(void))
{
    if (n_die_hooks < 8) die_hooks[n_die_hooks++] = fn;
}

void cli_before_message(void (*fn)(void)) { before_message = fn; }

static void vmessage(const char *fmt, va_list ap)
{
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    /* One line, always: fold any newline a message picked up. */
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    if (before_message) before_message();
    fprintf(stderr, "%s: %s\n", tool_name, buf);
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    for (int i = n_die_hooks - 1; i >= 0; i--) die_hooks[i]();
    exit(1);
}

void warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
}

void cli_print_version(void)
{
    printf("%s %s\n", tool_name, HEADS_VERSION);
    exit(0);
}

char *cli_join_args(int argc, char **argv)
{
    size_t cap = 1;
    for (int i = 1; i < argc; i++) cap += 2 * strlen(argv[i]) + 4;
    char *s = malloc(cap), *p = s;
    if (!s) return NULL; /* callers in the library report it; tools die */
    *p = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int quote = *a == 0 || strpbrk(a, " \t'\"\\") != NULL;
        if (i > 1) *p++ = ' ';
        if (quote) *p++ = '\'';
        for (; *a; a++) {
            if (*a == '\n') { *p++ = ' '; continue; }
            if (quote && *a == '\'') { memcpy(p, "'\\''", 4); p += 4; continue; }
            *p++ = *a;
        }
        if (quote) *p++ = '\'';
        *p = 0;
    }
    return s;
}

int cli_parse_choice(const char *opt, const char *s, const char *const *choices)
{
    int n = 0;
    for (; choices[n]; n++)
        if (!strcmp(s, choices[n])) return n;
    char list[256] = "";
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", choices[i]);
    die("%s: '%s' is not %s", opt, s, list);
}

long cli_parse_long(const char *opt, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < min || v > max)
        die("%s takes a whole number from %ld to %ld, not '%s'", opt, min, max, s ? s : "");
    return v;
}

double cli_parse_double(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || errno) die("%s takes a number, not '%s'", opt, s ? s : "");
    return v;
}

void cli_parse_index_list(const char *opt, const char *s, uint8_t *mask, int n)
{
    herr e;
    if (select_index_list(s, mask, n, &e)) die("%s: %s", opt, e.msg);
}

void cli_bad_option(char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "?", *cur = argv[optind];
    const int shortopt = optopt > ' ' && optopt < 127 && optopt != '-' && optopt != '?';
    /* a short option inside a cluster ("-zq"): getopt has not moved past it,
     * so argv[optind - 1] is still the argument before */
    if (shortopt && cur && cur[0] == '-' && cur[1] && cur[1] != '-' && strchr(cur + 1, optopt))
        die("unknown option '-%c' or it needs a value; see --help", optopt);
    /* getopt_long sets optopt to a known long option's value when its
     * argument is missing (or one is given to a flag), and to 0 for a long
     * option it does not know or that abbreviates several */
    if (!strncmp(arg, "--", 2) && arg[2]) {
        const size_t n = strcspn(arg, "=");
        if (optopt && arg[n] == '=') die("option '%.*s' takes no value; see --help", (int)n, arg);
        if (optopt) die("option '%.*s' needs a value; see --help", (int)n, arg);
        die("unknown option '%.*s' (an abbreviation must name one option); see --help", (int)n, arg);
    }
    if (shortopt) die("unknown option '-%c' or it needs a value; see --help", optopt);
    die("unknown option '%s' or it needs a value; see --help", arg);
}

const char *cli_single_input(int argc, char **argv)
{
    if (optind >= argc) return NULL;
    if (optind + 1 < argc) die("unexpected argument '%s'", argv[optind + 1]);
    return argv[optind];
}

char *cli_read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) die("%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) buf = xrealloc(buf, cap *= 2);
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
    }
    if (ferror(f)) die("%s: read error: %s", path, strerror(errno));
    fclose(f);
    buf[len] = 0;
    if (len_out) *len_out = len;
    return buf;
}

void cli_sha256_file(const char *path, char out[65])
{
    FILE *f = fopen(path, "rb");
    if (!f) die("%s: %s", path, strerror(errno));
    sha256_hex_ctx c;
    static uint8_t buf[1 << 16];
    sha256_hex_init(&c);
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) sha256_hex_add(&c, buf, got);
    if (ferror(f)) die("%s: read error: %s", path, strerror(errno));
    fclose(f);
    sha256_hex_done(&c, out);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory (%zu bytes)", n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) die("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) die("out of memory (%zu bytes)", n);
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

outfile *cli_open_output(const char *path)
{
    herr e;
    outfile *o = outfile_open(path, &e);
    if (!o) die("%s", e.msg);
    return o;
}

void cli_close_output(outfile *o)
{
    herr e;
    if (outfile_close(o, &e)) die("%s", e.msg);
}
