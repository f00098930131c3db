/* trainer.h: training a GPT-Neo model on tokenized stories (what `train`
 * runs): the corpus, the data order, the training vocabulary, AdamW steps
 * over a worker pool, held-out evaluation and checkpoints.
 *
 * Data.  Each story is one segment: its tokens at positions 0.., each
 * predicting the next, the last one predicting the end-of-text id; segments
 * are packed greedily into rows of seq_len tokens (a story longer than a row
 * is cut) with attention kept inside each story (gptneo_train.h).  The last
 * ceil(heldout * stories) stories are held out; the others are visited in a
 * seeded permutation per epoch, and a row never spans two epochs.
 *
 * The training vocabulary.  Tokens that never occur in the training stories
 * are never an input and never a target: the only thing training does to
 * their wte rows is push their logits down through the softmax.  So (unless
 * full_vocab) they share ONE row: the model trains on a compact vocabulary
 * of the seen tokens plus that shared row, whose logit gets a bias of
 * log(unseen) so the softmax sums exactly what the unseen rows, all equal,
 * would add.  The loss and every gradient are those of the full model with
 * the unseen rows tied (tests/unit/test_train.c), at the cost of an LM head
 * over the seen tokens instead of all V.  trainer_full_params writes the
 * shared row into every unseen token's row.
 *
 * Determinism.  Rows are assigned to workers by index (HPOOL_STRIDED), each
 * worker sums its gradients in its own buffer, and the buffers are added in
 * worker order; dropout masks are keyed by (seed, step, row).  So the same
 * data, options and thread count give the same weights, bit for bit, and a
 * run resumed from a checkpoint continues exactly as an uninterrupted one.
 *
 * Weight averaging (opts.ema = d > 0).  An exponential moving average of
 * the weights after each step, bias-corrected as Adam corrects its moments
 * (Kingma & Ba 2015, §3): a_t = d a_{t-1} + (1 - d) p_t from a_0 = 0, and
 * the average is a_t / (1 - d^t).  It is what the run saves (its held-out
 * loss is the saved model's); training itself continues from the current
 * weights p_t.  The average of a noisy end of training generalises better
 * than its last point (Polyak & Juditsky 1992; Izmailov et al. 2018, SWA).
 *
 * Checkpoint format (little-endian, written whole or not at all):
 *   "HEADSCKP", u32 version, u32 field count, i64 fields[20] (model config,
 *   run options, step, epoch, position, tokens, parameter count, training
 *   stories, training vocabulary size), u8 local[64], 64 hex chars of the
 *   corpus's token sha256, f32 params[n], f32 m[n], f32 v[n] (AdamW moments,
 *   training layout), 64 hex chars of the sha256 of everything before.
 *   That is version 2, which a run without opts.ema still writes.  Version 3
 *   (runs with opts.ema): 21 fields, the 21st the bits of the float64 decay,
 *   and f32 ema[n] (the unnormalised a_t) after v.  Both are read.
 */
#ifndef HEADS_MODEL_TRAINER_H
#define HEADS_MODEL_TRAINER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "model/config.h"

/** Options of a training run (train's flags; defaults in trainer_opts_default). */
typedef struct trainer_opts {
    long steps;          /**< optimizer steps (8000) */
    long batch;          /**< rows per step (4) */
    long seq_len;        /**< tokens per row (512) */
    long warmup;         /**< linear warm-up steps (30) */
    long threads;        /**< workers (2): part of the result, like the seed */
    long eos;            /**< end-of-text id (50256) */
    uint64_t seed;       /**< initialisation, data order, dropout (1) */
    double lr;           /**< peak learning rate (0.01) */
    double min_lr_frac;  /**< cosine floor as a fraction of lr (0.1) */
    double weight_decay; /**< AdamW decoupled weight decay (0.1) */
    double beta1, beta2; /**< AdamW (0.9, 0.95) */
    double adam_eps;     /**< AdamW (1e-8) */
    double clip;         /**< gradient-norm clip, 0 = off (1.0) */
    double heldout;      /**< fraction of stories held out (0.05) */
    double embed_std;    /**< initial std of wte, wpe (0.1; other matrices 0.02) */
    double dropout;      /**< GPT-Neo embed/resid dropout while training (0.1) */
    int full_vocab;      /**< 1: every token its own trained row (0) */
    double ema;          /**< decay of the weight average, in [0, 1); 0 = no average (0) */
} trainer_opts;

/** Which weights: the optimizer's current ones, or their average (opts.ema;
 *  without it the average is the current weights). */
typedef enum trainer_weights { TRAINER_CURRENT, TRAINER_AVERAGE } trainer_weights;

/** Fill o with train's defaults (the stand-in's recipe but for steps and ema:
 *  pipelines/standin.mk trains 12000 steps with ema 0.999). */
void trainer_opts_default(trainer_opts *o);

/** The stories to train on: token ids, story after story. */
typedef struct train_corpus {
    int n;          /**< stories */
    size_t *off;    /**< [n + 1]: story s is tok[off[s] .. off[s+1]) */
    int *tok;       /**< [ntok] */
    size_t ntok;
    size_t cap, off_cap;
    long skipped_empty; /**< 0-token stories passed over */
} train_corpus;

/** An empty corpus. */
void train_corpus_init(train_corpus *c);
void train_corpus_free(train_corpus *c);
/** Append one story (a 0-token story is counted and skipped).
 *  @return 0, or -1 with e set (an id outside 0..vocab-1, out of memory) */
int train_corpus_add(train_corpus *c, const uint32_t *ids, size_t n, int vocab, herr *e)
    __attribute__((warn_unused_result));

typedef struct trainer trainer;

/** What the run looks like, for the log (filled by trainer_new). */
typedef struct trainer_info {
    int n_stories, n_train, n_heldout;
    long train_tokens;   /**< tokens of the training stories, cut to seq_len */
    long n_cut;          /**< stories longer than seq_len */
    size_t n_params;     /**< parameters of the full model */
    size_t n_trained;    /**< parameters trained (training vocabulary) */
    int train_vocab;     /**< wte rows trained */
    long n_unseen;       /**< tokens sharing one row (0 with full_vocab) */
    char tokens_sha256[65]; /**< identifies the data in checkpoints */
} trainer_info;

/** Set up a run: the split, the training vocabulary, the initial weights,
 *  the workers.  Takes the corpus (left empty).
 *  @param c the model to train (gnt_config_check must accept it; ln_eps is
 *         used as float32, the precision the trainer computes in)
 *  @return the trainer, or NULL with e set */
trainer *trainer_new(const model_config *c, const trainer_opts *o, train_corpus *corpus,
                     trainer_info *info, herr *e) __attribute__((warn_unused_result));
void trainer_free(trainer *t);

/** Continue from a checkpoint written by a run with the same model, data
 *  and options (each difference is refused, naming it).
 *  @return 0, or -1 with e set */
int trainer_resume(trainer *t, const char *path, herr *e) __attribute__((warn_unused_result));

/** @return optimizer steps done so far. */
long trainer_step_count(const trainer *t);
/** @return training tokens consumed so far (all runs of a resumed training). */
long trainer_tokens_seen(const trainer *t);

/** One step's figures. */
typedef struct trainer_step_info {
    double loss;       /**< summed cross-entropy of the step's targets */
    long tokens;       /**< tokens (= targets) of the step */
    double grad_norm;  /**< before clipping */
    float lr;          /**< the learning rate used */
} trainer_step_info;

/** One AdamW step over the next batch.
 *  @return 0, or -1 with e set (a non-finite gradient) */
int trainer_step(trainer *t, trainer_step_info *s, herr *e) __attribute__((warn_unused_result));

/** Mean held-out cross-entropy (nats/token) of weights w in the training
 *  vocabulary (a target among the unseen tokens counts as log(unseen)
 *  more: the loss of that one token, not of "any unseen").
 *  @param ntok receives the target count @return the loss, NaN without held-out stories */
double trainer_heldout_loss(trainer *t, trainer_weights w, long *ntok);

/** Mean held-out cross-entropy of the full model (trainer_full_params),
 *  computed over all V rows: what a saved model scores.
 *  @return the loss, NaN without held-out stories, or -1 with e set (out of memory) */
double trainer_heldout_loss_full(trainer *t, trainer_weights w, long *ntok, herr *e);

/** Write a checkpoint (through a temporary file renamed into place).
 *  @return 0, or -1 with e set */
int trainer_checkpoint(const trainer *t, const char *path, herr *e)
    __attribute__((warn_unused_result));

/** Weights w as the full model's parameters (weights.h layout; unseen
 *  tokens' rows = the shared row).
 *  @param out [model_param_count(c)] */
void trainer_full_params(trainer *t, trainer_weights w, float *out);

/** Seconds in the LM head + loss and in forward/backward, over all workers. */
void trainer_times(const trainer *t, double *lm_head, double *total);

#endif
