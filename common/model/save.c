/* save.c: model directories (save.h). */
#include "model/save.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/outfile.h"
#include "model/gpt2.h"
#include "model/weights.h"

int model_save_check(const char *path, int dir, herr *e)
{
    struct stat st;
    if (!*path) return herr_set(e, "an empty path");
    if (stat(path, &st) == 0) {
        if (dir && !S_ISDIR(st.st_mode)) return herr_set(e, "%s: exists and is not a directory", path);
        if (!dir && S_ISDIR(st.st_mode)) return herr_set(e, "%s: is a directory", path);
        if (access(path, W_OK) != 0) return herr_set(e, "%s: %s", path, strerror(errno));
        return 0;
    }
    if (errno != ENOENT) return herr_set(e, "%s: %s", path, strerror(errno));
    char *parent = strdup(path);
    if (!parent) return herr_set(e, "out of memory");
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/') parent[--n] = 0; /* "a/b/" is "a/b" */
    char *slash = strrchr(parent, '/');
    if (!slash) strcpy(parent, ".");
    else if (slash == parent) parent[1] = 0;
    else *slash = 0;
    int rc = 0;
    if (stat(parent, &st) != 0) rc = herr_set(e, "%s: %s: %s", path, parent, strerror(errno));
    else if (!S_ISDIR(st.st_mode)) rc = herr_set(e, "%s: %s is not a directory", path, parent);
    else if (access(parent, W_OK | X_OK) != 0) rc = herr_set(e, "%s: %s: %s", path, parent, strerror(errno));
    free(parent);
    return rc;
}

int model_save_dir(const char *dir, const model_config *c, model_origin origin, int eos,
                   const tensor_set *ts, herr *e)
{
    int made = mkdir(dir, 0777) == 0;
    if (!made && errno != EEXIST) return herr_set(e, "%s: %s", dir, strerror(errno));
    char *json = model_config_to_json(c, origin, eos, e);
    if (!json) return -1;
    size_t n = strlen(dir) + 32;
    char *path = malloc(n);
    if (!path) {
        free(json);
        return herr_set(e, "out of memory");
    }
    int rc = 0;
    snprintf(path, n, "%s/model.safetensors", dir);
    rc = tensors_save_safetensors(path, ts, e);
    snprintf(path, n, "%s/config.json", dir);
    outfile *o = rc ? NULL : outfile_open(path, e);
    if (!rc && !o) rc = -1;
    if (o) {
        fputs(json, o->f);
        rc = outfile_close(o, e);
    }
    free(path);
    free(json);
    if (rc && made) rmdir(dir); /* nothing half-written: a directory made here goes (when empty) */
    return rc;
}

int model_params_to_tensors(const model_config *c, const float *params, tensor_set *ts, herr *e)
{
    if (c->arch == MODEL_ARCH_GPT2) return gpt2_state_dict(c, params, ts, e);
    int nt = model_tensor_count(c);
    model_tensor_info *ti = malloc(sizeof *ti * (size_t)nt);
    if (!ti) return herr_set(e, "out of memory");
    model_tensor_list(c, ti);
    int rc = 0;
    for (int t = 0; t < nt && !rc; t++)
        if (!tensors_add(ts, ti[t].name, ti[t].ndim, ti[t].shape, params + ti[t].offset, e)) rc = -1;
    if (!rc && !tensors_add(ts, "lm_head.weight", 2, ti[0].shape, params + ti[0].offset, e)) /* tied */
        rc = -1;
    free(ti);
    return rc;
}
