/*
 * fuzz_assess_json: what `mni assess` does with its input (cli/cmd_assess.c), without the file:
 * the text, NUL-terminated as read_all gives it, through facts_json_parse (lib/model/
 * facts_json.c: strict JSON, every field bounded), then, for facts it accepts, the rule core
 * (rules_assess) and the verdict JSON (verdict_json_build), printed compact.
 *
 * Invariants: a refusal (of the parser or of the core) has a message; accepted facts always
 * give a verdict that prints as JSON.
 */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/model/facts_json.h"
#include "lib/model/verdict_json.h"
#include "rules/rules.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL, "out of memory");
    memcpy(text, data, size);
    text[size] = '\0';

    facts_doc doc;
    int rc = facts_json_parse(text, size, &doc, err, sizeof err);
    free(text);
    if (rc != 0) {
        fuzz_check_error(err);
        return 0;
    }
    rules_client_verdict *clients =
        calloc(doc.facts.n_clients ? doc.facts.n_clients : 1, sizeof *clients);
    FUZZ_CHECK(clients != NULL, "out of memory");
    rules_verdict verdict;
    if (rules_assess(&doc.facts, NULL, &verdict, clients, err, sizeof err) != 0) {
        fuzz_check_error(err);
    } else {
        json_t *out = verdict_json_build(&doc.facts, &verdict);
        FUZZ_CHECK(out != NULL, "no verdict JSON");
        char *printed = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        FUZZ_CHECK(printed != NULL && printed[0] == '{', "the verdict does not print");
        free(printed);
        json_decref(out);
    }
    free(clients);
    facts_doc_free(&doc);
    return 0;
}
