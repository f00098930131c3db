/* test_train_xcheck.c: the trainer's forward (common/model/gptneo_train.h) against
 * the forward pass of common/model/gptneo.h, two independent implementations of
 * docs/DESIGN.md §5.  A small model with weights far from the 0.02 init
 * (so attention is sharp and every path matters), written with the
 * trainer's Hugging Face names to model.safetensors + config.json, loaded by
 * gptneo_load, must give the same logits on a story longer than the local
 * window. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/gptneo.h"
#include "model/gptneo_train.h"
#include "model/init.h"
#include "model/save.h"
#include "io/tensors.h"
#include "testlib.h"

int main(void)
{
    model_config c;
    memset(&c, 0, sizeof c);
    c.vocab_size = 50; c.n_positions = 32; c.n_embd = 16; c.n_head = 4; c.d_head = 4;
    c.n_layer = 4; c.n_inner = 24; c.window_size = 5; c.ln_eps = 1e-5f;
    for (int l = 0; l < c.n_layer; l++) c.local[l] = (unsigned char)(l % 2);
    size_t np = model_param_count(&c);
    float *par = malloc(np * sizeof *par);
    model_init_training(&c, par, 3);
    uint64_t s = 77;
    for (size_t i = 0; i < np; i++) {   /* bigger weights: sharp attention, big logits */
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        par[i] += ((float)((s >> 40) / (double)(1ull << 24)) - 0.5f) * 0.8f;
    }

    /* the trainer's tensors, as tools/train.c saves them */
    tensor_set ts;
    tensors_init(&ts);
    herr e;
    CHECK(model_params_to_tensors(&c, par, &ts, &e) == 0, "the layout as tensors");
    char dir[] = "/tmp/test_train_xcheck.XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL, "temporary directory");
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(tensors_save_safetensors(path, &ts, &e) == 0, "save model.safetensors");
    tensors_free(&ts);
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"_name_or_path\": \"xcheck\", \"activation_function\": \"gelu_new\","
               " \"architectures\": [\"GPTNeoForCausalLM\"], \"attention_layers\": [\"global\","
               " \"local\", \"global\", \"local\"], \"attention_types\": [[[\"global\", \"local\"], 2]],"
               " \"hidden_size\": 16, \"intermediate_size\": 24, \"layer_norm_epsilon\": 1e-05,"
               " \"max_position_embeddings\": 32, \"model_type\": \"gpt_neo\", \"num_heads\": 4,"
               " \"num_layers\": 4, \"vocab_size\": 50, \"window_size\": 5}\n");
    fclose(f);

    gptneo_model m;
    int rc = gptneo_load(dir, &m, &e);
    CHECK(rc == 0, "gptneo_load reads the trainer's files (%s)", rc ? e.msg : "ok");
    if (rc != 0) TEST_END();

    enum { T = 23 };
    uint32_t ids_u[T];
    int ids[T], seg[T];
    for (int i = 0; i < T; i++) { ids_u[i] = (uint32_t)((i * 17 + 3) % 50); ids[i] = (int)ids_u[i]; seg[i] = 0; }
    gptneo_acts a;
    gptneo_acts_init(&a);
    CHECK(gptneo_forward(&m, ids_u, T, &a, &e) == 0, "gptneo forward");
    float *ref = malloc(sizeof(float) * T * 50), *got = malloc(sizeof(float) * T * 50);
    gptneo_logits(&m, &a, 0, T, ref);
    gnt_work *w = gnt_work_new(&c, T);
    gnt_logits(&c, par, w, T, ids, seg, got);
    double maxd = 0, maxv = 0;
    for (int i = 0; i < T * 50; i++) {
        maxd = fmax(maxd, fabs(ref[i] - got[i]));
        maxv = fmax(maxv, fabs(ref[i]));
    }
    CHECK(maxv > 1.0 && maxd <= 1e-4 * maxv,
          "trainer logits = gptneo.h logits over %d tokens, window 5 (max diff %.2g of %.3g)",
          T, maxd, maxv);

    /* the model must actually use the local mask: a window as large as the
     * story changes the trainer's logits */
    model_config cg = c;
    cg.window_size = 1000;
    gnt_logits(&cg, par, w, T, ids, seg, got);
    double d2 = 0;
    for (int i = 0; i < T * 50; i++) d2 = fmax(d2, fabs(ref[i] - got[i]));
    CHECK(d2 > 1e-3, "the cross-check is sensitive to the local window (diff %.2g)", d2);

    gnt_work_free(w);
    gptneo_acts_free(&a);
    gptneo_free(&m);
    free(ref); free(got); free(par);
    snprintf(path, sizeof path, "%s/model.safetensors", dir); unlink(path);
    snprintf(path, sizeof path, "%s/config.json", dir); unlink(path);
    rmdir(dir);
    TEST_END();
}
