/* toolmodel.h: a tool's model, loaded and named (tools only: it dies).
 *
 * Header-only because libcommon's stream-only tools and the fuzz targets
 * link common/cli without the model code; the tools that run a model
 * include this next to model/gptneo.h.
 */
#ifndef HEADS_CLI_TOOLMODEL_H
#define HEADS_CLI_TOOLMODEL_H

#include <stdio.h>

#include "cli/cli.h"
#include "model/gptneo.h"

void openblas_set_num_threads(int num_threads); /* OpenBLAS's own, not in cblas.h */

/** Load the GPT-Neo or GPT-2 directory dir into m, or die with gptneo_load's
 *  one line.  OpenBLAS then runs single-threaded: the tools split their work
 *  over their own worker pool (--threads), and OpenBLAS threads inside each
 *  worker would oversubscribe the cores and change nothing else. */
static inline void cli_load_model(const char *dir, gptneo_model *m)
{
    herr e;
    if (gptneo_load(dir, m, &e)) die("%s", e.msg);
    openblas_set_num_threads(1);
}

/** The model-identity lines a table made by running the model starts with
 *  ("# model: ...", "# model-sha256: ..."; cli_table_model's, from the
 *  model itself rather than a stream header). */
static inline void cli_table_model_of(FILE *f, const gptneo_model *m)
{
    char id[512];
    fprintf(f, "# model: %s\n# model-sha256: %s\n", gptneo_identity(m, id, sizeof id), m->weights_sha256);
}

#endif
