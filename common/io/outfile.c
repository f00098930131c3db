/* outfile.c: outputs written under a temporary name and renamed on success. */
#include "io/outfile.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

static outfile *open_outputs;
static int hooks_installed;

static void remove_temporaries(void)
{
    for (outfile *o = open_outputs; o; o = o->next) unlink(o->tmp);
}

static void on_signal(int sig)
{
    remove_temporaries();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_hooks(void)
{
    if (hooks_installed) return;
    hooks_installed = 1;
    cli_on_die(remove_temporaries);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(sigs[i], &sa, NULL);
    }
}

outfile *outfile_open(const char *path)
{
    install_hooks();
    outfile *o = xcalloc(1, sizeof *o);
    struct stat st;
    if (!path || strcmp(path, "-") == 0) {
        o->f = stdout;
        o->path = xstrdup("stdout");
    } else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        o->path = xstrdup(path);
        o->f = fopen(path, "wb");
        if (!o->f) die("%s: %s", path, strerror(errno));
    } else {
        o->path = xstrdup(path);
        if (asprintf(&o->tmp, "%s.tmp.XXXXXX", path) < 0) die("out of memory");
        int fd = mkstemp(o->tmp);
        if (fd < 0) die("%s: cannot create: %s", path, strerror(errno));
        mode_t mask = umask(0);  /* mkstemp makes 0600; give the usual mode */
        umask(mask);
        fchmod(fd, 0666 & ~mask);
        o->f = fdopen(fd, "wb");
        if (!o->f) die("%s: %s", path, strerror(errno));
        o->next = open_outputs;
        open_outputs = o;
    }
    return o;
}

void outfile_close(outfile *o)
{
    if (fflush(o->f) != 0 || ferror(o->f)) die("%s: write error: %s", o->path, strerror(errno));
    if (o->f != stdout && fclose(o->f) != 0) die("%s: write error: %s", o->path, strerror(errno));
    if (o->tmp) {
        if (rename(o->tmp, o->path) != 0)
            die("%s: cannot rename into place: %s", o->path, strerror(errno));
        for (outfile **p = &open_outputs; *p; p = &(*p)->next)
            if (*p == o) { *p = o->next; break; }
    }
    free(o->path);
    free(o->tmp);
    free(o);
}
