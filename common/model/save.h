/* save.h: writing a model directory Hugging Face can load (config.json +
 * model.safetensors), for the models this toolkit makes: random test models
 * (model-init) and the trained stand-in (train).  Each file is written under
 * a temporary name and renamed into place (io/outfile.h), so a failure never
 * leaves a half-written model behind.
 */
#ifndef HEADS_MODEL_SAVE_H
#define HEADS_MODEL_SAVE_H

#include "base/err.h"
#include "io/tensors.h"
#include "model/config.h"

/** Write DIR/model.safetensors (the tensors of ts, in its order) and
 *  DIR/config.json (model_config_to_json), creating DIR if missing.
 *  @param eos end-of-text id (stand-in only) @return 0, or -1 with e set */
int model_save_dir(const char *dir, const model_config *c, model_origin origin, int eos,
                   const tensor_set *ts, herr *e) __attribute__((warn_unused_result));

/** Can an output be written at PATH?  Checked before long work (train) so a
 *  bad -o is refused before it, not after: PATH must be an existing
 *  directory (dir = 1) or regular file (dir = 0), or not exist in an
 *  existing, writable directory.  Writes nothing.
 *  @return 0, or -1 with e set ("PATH: exists and is not a directory",
 *  "PATH: PARENT: No such file or directory", ...) */
int model_save_check(const char *path, int dir, herr *e) __attribute__((warn_unused_result));

/** The tensors of parameters in the layout of weights.h, in layout order,
 *  plus "lm_head.weight" = wte (tied, as GPTNeoForCausalLM saves it).  For a
 *  GPT-2 config: GPT2LMHeadModel's state dict instead (gpt2_state_dict).
 *  @param ts initialised, empty set @param params [model_param_count(c)]
 *  @return 0, or -1 with e set (out of memory) */
int model_params_to_tensors(const model_config *c, const float *params, tensor_set *ts, herr *e)
    __attribute__((warn_unused_result));

#endif
