/* test_tagmap.c: the one tag-merge grammar (text/tagmap.h) that
 * postag-join --merge and probe-fit --merge share: parsing, first-match-wins
 * precedence, drops, the probes header round trip, tag sets. */
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "text/tagmap.h"

/* the tag the map gives, or "(dropped)" */
static const char *map1(const tagmap *m, const char *tag)
{
    static char out[TAG_MAX + 1];
    return tagmap_apply(m, tag, out) ? out : "(dropped)";
}

static void test_parse(void)
{
    tagmap m;
    herr e;
    tagmap_init(&m);
    CHECK(tagmap_add_merge(&m, "VB*=VB", &e) == 0 && m.n_merge == 1 && !strcmp(m.pat[0], "VB*") &&
              !strcmp(m.to[0], "VB"),
          "one rule PATTERN=TAG");
    CHECK(tagmap_add_merge(&m, "NN*=NN,JJ?=JJ", &e) == 0 && m.n_merge == 3 && !strcmp(m.pat[2], "JJ?"),
          "a comma-separated list adds its rules in order");
    CHECK(tagmap_add_merge(&m, "DT=", &e) == 0 && m.n_merge == 4 && !strcmp(m.to[3], ""),
          "an empty TAG (the token loses its tag)");
    CHECK(tagmap_add_merge(&m, "RB=RB,", &e) == 0 && m.n_merge == 5, "a trailing comma is no rule");
    static const char *const bad[] = {"VB", "=VB", "VB=V=B", "", ",", "NN=NN,XX", "ABCDEFGHIJKLMNOPQ=NN",
                                      "NN=ABCDEFGHIJKLMNOPQ"};
    int all = 1;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        e.msg[0] = 0;
        int rc = tagmap_add_merge(&m, bad[i], &e);
        all &= rc == -1 && m.n_merge == 5 && e.msg[0] && !strchr(e.msg, '\n');
    }
    CHECK(all, "malformed rules refused with a message, the map unchanged (%zu cases; last: %s)",
          sizeof bad / sizeof *bad, e.msg);
    tagmap_init(&m);
    int ok = 1;
    for (int i = 0; i < TAGMAP_MAX; i++) ok &= tagmap_add_merge(&m, "A=B", &e) == 0;
    CHECK(ok && tagmap_add_merge(&m, "C=D", &e) == -1 && strstr(e.msg, "more than"), "at most %d rules",
          TAGMAP_MAX);
}

static void test_precedence(void)
{
    tagmap m;
    herr e;
    tagmap_init(&m);
    CHECK(tagmap_add_merge(&m, "VBD=VBD,VB*=VB", &e) == 0, "rules 'VBD=VBD,VB*=VB'");
    CHECK(!strcmp(map1(&m, "VBD"), "VBD") && !strcmp(map1(&m, "VBZ"), "VB") && !strcmp(map1(&m, "VB"), "VB") &&
              !strcmp(map1(&m, "NN"), "NN"),
          "first matching rule wins: VBD stays, VBZ -> VB, NN untouched");
    tagmap_init(&m);
    CHECK(tagmap_add_merge(&m, "VB*=VB", &e) == 0 && tagmap_add_merge(&m, "VBD=PAST", &e) == 0 &&
              !strcmp(map1(&m, "VBD"), "VB"),
          "a later, more specific rule does not override an earlier match (two options as one list)");
    tagmap_init(&m);
    CHECK(tagmap_add_merge(&m, "NN=VB,VB=XX", &e) == 0 && !strcmp(map1(&m, "NN"), "VB") &&
              !strcmp(map1(&m, "VB"), "XX"),
          "patterns match the tag as it was: no chains (NN -> VB, not XX)");
    CHECK(!strcmp(tagmap_merge(&m, "JJ"), "JJ") && !strcmp(tagmap_merge(&m, "NN"), "VB"),
          "tagmap_merge: merge only");
    CHECK(tagmap_add_drop(&m, "XX", &e) == 0 && !strcmp(map1(&m, "VB"), "(dropped)") &&
              !strcmp(map1(&m, "NN"), "VB"),
          "drops apply to the merged tag");
    CHECK(tagmap_add_drop(&m, "", &e) == 0 && !strcmp(map1(&m, ""), "(dropped)"), "the empty tag can be dropped");
    CHECK(tagmap_add_drop(&m, "ABCDEFGHIJKLMNOPQ", &e) == -1 && strstr(e.msg, "longer"), "too long a drop refused");
}

static void test_header(void)
{
    tagmap m, back;
    herr e;
    tagmap_init(&m);
    int ok = tagmap_add_merge(&m, "VBD=VBD,VB*=VB,DT=", &e) == 0 && tagmap_add_drop(&m, "", &e) == 0 &&
             tagmap_add_drop(&m, "CD", &e) == 0;
    stream_header h;
    stream_header_init(&h);
    tagmap_to_header(&m, &h);
    ok = ok && tagmap_from_header(&back, &h, &e) == 0 && back.n_merge == 3 && back.n_drop == 2;
    static const char *const tags[] = {"VBD", "VBZ", "DT", "CD", "", "NN"};
    for (size_t i = 0; ok && i < sizeof tags / sizeof *tags; i++) {
        char a[TAG_MAX + 1], b[TAG_MAX + 1];
        ok = tagmap_apply(&m, tags[i], a) == tagmap_apply(&back, tags[i], b) && !strcmp(a, b);
    }
    CHECK(ok, "rules -> probes header -> rules: the same mapping, in the same order");
    stream_header_free(&h);
    stream_header_init(&h);
    stream_header_add(&h, "probe-merge", "%s", "A,B=C");
    CHECK(tagmap_from_header(&back, &h, &e) == 0 && back.n_merge == 1 && !strcmp(back.pat[0], "A,B"),
          "a probe-merge line is one rule, taken whole (older probes with a comma in a pattern still read)");
    stream_header_free(&h);
    stream_header_init(&h);
    stream_header_add(&h, "probe-merge", "%s", "novalue");
    CHECK(tagmap_from_header(&back, &h, &e) == -1 && strstr(e.msg, "probe-merge"), "a bad probe-merge line: %s",
          e.msg);
    stream_header_free(&h);
}

static void test_tagset(void)
{
    tagset t = {0, 0, NULL};
    herr e;
    int ok = 1;
    char name[8];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "T%d", i);
        ok &= tagset_index(&t, name, &e) == i;
    }
    ok &= tagset_index(&t, "T7", &e) == 7 && tagset_index(&t, "", &e) == 200 && t.n == 201;
    CHECK(ok, "tagset_index: new names appended in order, known names found");
    free(t.name);
}

int main(void)
{
    test_parse();
    test_precedence();
    test_header();
    test_tagset();
    TEST_END();
}
