/* test_cli.c: sha256 against known vectors, list parsing, argument joining. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/sha256.h"
#include "testlib.h"

int main(void)
{
    cli_init("test_cli");
    char hex[65];
    sha256_hex_buf("", 0, hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0, "sha256 of empty input");
    sha256_hex_buf("abc", 3, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0, "sha256 of abc");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex_buf(two, strlen(two), hex);
    CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0, "sha256 of the two-block vector");
    size_t n = 1000000;
    char *a = malloc(n);
    memset(a, 'a', n);
    sha256_hex_buf(a, n, hex);
    CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0, "sha256 of a million a's");
    free(a);
    /* Random lengths around the block size, against coreutils' sha256sum
     * (this runs whichever compression path nettle selects for the CPU;
     * test_data.sh runs this test again with NETTLE_FAT_OVERRIDE=none for
     * its portable one). */
    int agree = 1;
    uint32_t x = 12345;
    for (int round = 0; round < 40 && agree; round++) {
        size_t len = round < 20 ? (size_t)round * 13 + 50 : (size_t)(x % 300000);
        char *buf = malloc(len + 1);
        for (size_t i = 0; i < len; i++) { x = x * 1103515245u + 12345u; buf[i] = (char)(x >> 16); }
        FILE *f = fopen("/tmp/test_cli.sha.bin", "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
        char mine[65], theirs[65] = "";
        cli_sha256_file("/tmp/test_cli.sha.bin", mine);
        FILE *p = popen("sha256sum /tmp/test_cli.sha.bin", "r");
        if (!p || fscanf(p, "%64s", theirs) != 1) agree = 0;
        if (p) pclose(p);
        agree &= strcmp(mine, theirs) == 0;
        free(buf);
    }
    remove("/tmp/test_cli.sha.bin");
    CHECK(agree, "sha256 of 40 random inputs (50 B to 300 kB) equals sha256sum's");
    uint8_t mask[16];
    cli_parse_index_list("--heads", "0-2,5,15", mask, 16);
    CHECK(mask[0] && mask[1] && mask[2] && !mask[3] && mask[5] && mask[15] && !mask[14], "index list 0-2,5,15");
    cli_parse_index_list("--heads", "all", mask, 16);
    CHECK(mask[0] && mask[15], "index list all");
    char *argv[] = {"tool", "-o", "a b", "it's", NULL};
    char *j = cli_join_args(4, argv);
    CHECK(strcmp(j, "-o 'a b' 'it'\\''s'") == 0, "arguments joined with shell quoting: %s", j);
    free(j);

    /* the progress line's text (common/cli/progress.c) */
    char d[32], line[256];
    CHECK(!strcmp(cli_format_duration(4.25, d), "4.2 s") && !strcmp(cli_format_duration(42.4, d), "42 s") &&
              !strcmp(cli_format_duration(187, d), "3:07") && !strcmp(cli_format_duration(3723, d), "1:02:03"),
          "durations: 4.2 s, 42 s, 3:07, 1:02:03");
    cli_progress_format(line, sizeof line, "probes", 64, 256, 2.0, NULL, 0);
    CHECK(!strcmp(line, "64/256 probes, 32.0/s, 6.0 s left"), "known total: count, rate, time left: '%s'", line);
    cli_progress_format(line, sizeof line, "steps", 2000, 8000, 200.0, "loss 3.550, held-out 3.435", 0);
    CHECK(!strcmp(line, "2000/8000 steps, 10.0/s, 10:00 left, loss 3.550, held-out 3.435"),
          "known total with extra text: '%s'", line);
    cli_progress_format(line, sizeof line, "stories", 1234, 0, 4.0, "50000 tokens", 0);
    CHECK(!strcmp(line, "1234 stories, 308/s, 50000 tokens"), "unknown total: count and rate: '%s'", line);
    cli_progress_format(line, sizeof line, "probes", 256, 256, 8.2, NULL, 1);
    CHECK(!strcmp(line, "256 probes in 8.2 s (31.2/s)"), "summary line: '%s'", line);
    cli_progress_format(line, sizeof line, "stories", 0, 0, 0.0, NULL, 0);
    CHECK(!strcmp(line, "0 stories"), "nothing done yet: no rate: '%s'", line);
    TEST_END();
}
