/* test_cli.c: sha256 against known vectors, list parsing, argument joining. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "testlib.h"

int main(void)
{
    cli_init("test_cli");
    char hex[65];
    cli_sha256_buf("", 0, hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0, "sha256 of empty input");
    cli_sha256_buf("abc", 3, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0, "sha256 of abc");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    cli_sha256_buf(two, strlen(two), hex);
    CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0, "sha256 of the two-block vector");
    size_t n = 1000000;
    char *a = malloc(n);
    memset(a, 'a', n);
    cli_sha256_buf(a, n, hex);
    CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0, "sha256 of a million a's");
    free(a);
    uint8_t mask[16];
    cli_parse_index_list("--heads", "0-2,5,15", mask, 16);
    CHECK(mask[0] && mask[1] && mask[2] && !mask[3] && mask[5] && mask[15] && !mask[14], "index list 0-2,5,15");
    cli_parse_index_list("--heads", "all", mask, 16);
    CHECK(mask[0] && mask[15], "index list all");
    char *argv[] = {"tool", "-o", "a b", "it's", NULL};
    char *j = cli_join_args(4, argv);
    CHECK(strcmp(j, "-o 'a b' 'it'\\''s'") == 0, "arguments joined with shell quoting: %s", j);
    free(j);
    TEST_END();
}
