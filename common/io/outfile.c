/* outfile.c: outputs written under a temporary name and renamed on success. */
#include "io/outfile.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h" /* cli_on_die: a dying tool removes our temporaries */

static outfile *open_outputs;
static int hooks_installed;
static int stdout_taken; /* an outfile onto stdout is open */

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

/* Forget o in the cleanup list. */
static void unlist(outfile *o)
{
    for (outfile **p = &open_outputs; *p; p = &(*p)->next)
        if (*p == o) {
            *p = o->next;
            break;
        }
}

static void release(outfile *o)
{
    if (o->is_stdout) stdout_taken = 0;
    free(o->canon);
    free(o->path);
    free(o->tmp);
    free(o);
}

/* path with its folder resolved ("x", "./x" and "/abs/x" are one file);
 * NULL when the folder does not resolve (then the open fails anyway). */
static char *canonical(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    char *rd = dir ? realpath(dir, NULL) : NULL, *out = NULL;
    if (rd && asprintf(&out, "%s/%s", rd, slash ? slash + 1 : path) < 0) out = NULL;
    free(dir);
    free(rd);
    return out;
}

outfile *outfile_open(const char *path, herr *e)
{
    install_hooks();
    outfile *o = calloc(1, sizeof *o);
    if (!o) {
        herr_set(e, "out of memory");
        return NULL;
    }
    struct stat st;
    if (path && !*path) { /* else found only at the rename, after the work */
        herr_set(e, "an empty output file name");
        release(o);
        return NULL;
    }
    if (!path || strcmp(path, "-") == 0) {
        if (stdout_taken) {
            herr_set(e, "stdout is given as two outputs; name a file for one of them");
            release(o);
            return NULL;
        }
        o->f = stdout;
        o->is_stdout = stdout_taken = 1;
        o->path = strdup("stdout");
    } else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        o->path = strdup(path);
        o->f = fopen(path, "wb");
        if (!o->f) {
            herr_set(e, "%s: %s", path, strerror(errno));
            release(o);
            return NULL;
        }
    } else {
        o->path = strdup(path);
        o->canon = canonical(path);
        for (outfile *p = open_outputs; p && o->canon; p = p->next)
            if (p->canon && !strcmp(p->canon, o->canon)) {
                if (strcmp(p->path, path))
                    herr_set(e, "%s is given as two outputs (as %s too); the second would replace the first", path,
                             p->path);
                else
                    herr_set(e, "%s is given as two outputs; the second would replace the first", path);
                release(o);
                return NULL;
            }
        if (asprintf(&o->tmp, "%s.tmp.XXXXXX", path) < 0) {
            o->tmp = NULL;
            herr_set(e, "out of memory");
            release(o);
            return NULL;
        }
        int fd = mkstemp(o->tmp);
        if (fd < 0) {
            herr_set(e, "%s: cannot create: %s", path, strerror(errno));
            release(o);
            return NULL;
        }
        mode_t mask = umask(0); /* mkstemp makes 0600; give the usual mode */
        umask(mask);
        if (fchmod(fd, 0666 & ~mask) != 0 || !(o->f = fdopen(fd, "wb"))) {
            herr_set(e, "%s: %s", path, strerror(errno));
            close(fd);
            unlink(o->tmp);
            release(o);
            return NULL;
        }
        o->next = open_outputs;
        open_outputs = o;
    }
    if (!o->path) {
        herr_set(e, "out of memory");
        outfile_abort(o);
        return NULL;
    }
    return o;
}

int outfile_close(outfile *o, herr *e)
{
    int rc = 0;
    if (fflush(o->f) != 0 || ferror(o->f)) rc = herr_set(e, "%s: write error: %s", o->path, strerror(errno));
    if (o->f != stdout && fclose(o->f) != 0 && !rc)
        rc = herr_set(e, "%s: write error: %s", o->path, strerror(errno));
    o->f = NULL;
    if (o->tmp) {
        if (!rc && rename(o->tmp, o->path) != 0)
            rc = herr_set(e, "%s: cannot rename into place: %s", o->path, strerror(errno));
        if (rc) unlink(o->tmp);
        unlist(o);
    }
    release(o);
    return rc;
}

void outfile_abort(outfile *o)
{
    if (!o) return;
    if (o->f && o->f != stdout) fclose(o->f);
    if (o->tmp) {
        unlink(o->tmp);
        unlist(o);
    }
    release(o);
}
