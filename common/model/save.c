/* save.c: model directories (save.h). */
#include "model/save.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/outfile.h"
#include "model/gpt2.h"
#include "model/weights.h"

int model_save_dir(const char *dir, const model_config *c, model_origin origin, int eos,
                   const tensor_set *ts, herr *e)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return herr_set(e, "%s: %s", dir, strerror(errno));
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
