/*
 * mni assess FILE|-: reads one incident's facts as JSON, prints the verdict as JSON.
 * Exit 0 with the verdict on stdout; exit 2 with "mni assess: FIELD: reason" on stderr and
 * nothing on stdout when the input is invalid; exit 1 when the file cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "lib/model/facts_json.h"
#include "lib/model/verdict_json.h"

/* Facts files are small; a bound keeps a wrong file (a disk image, /dev/zero) from eating
 * memory before the JSON parser can refuse it. */
#define ASSESS_MAX_INPUT (64u * 1024 * 1024)

/* The whole input and output contract, every rule id with its article and the decisions the
 * core takes where the law leaves a choice; README.md says the same at more length. */
static const char assess_help[] =
    "usage: mni assess [--compact] FILE|-\n"
    "\n"
    "Reads one incident's facts as JSON (FILE, or - for standard input) and prints what\n"
    "the My Number Act and APPI require: statuses, rule ids that fired, headcounts,\n"
    "deadlines (Japan time), the contractor's route and each client's verdict.\n"
    "\n"
    "  --compact   one line of JSON instead of indented output\n"
    "  -h, --help  this text\n"
    "\n"
    "Input (strict: unknown fields, wrong types, missing required fields are refused;\n"
    "? = optional):\n"
    "  incident_id            string\n"
    "  known_at               RFC 3339 time with offset or Z; its Japan day is day 1\n"
    "  reporter               {role: own|contractor, number_use_entity: bool,\n"
    "                          public_body_system: bool, public_body?: bool (行政機関等 or\n"
    "                          地方公共団体等), local_government?: bool (needs public_body),\n"
    "                          ordinance_sensitive?: bool (needs local_government),\n"
    "                          employees?: int (2015 notice 2(2))}\n"
    "  kinds                  one or more of leak|loss|damage|unlawful_use|unlawful_provision\n"
    "  certainty              confirmed|possible\n"
    "  improper_purpose       none|possible|confirmed\n"
    "  actor?                 unknown (default)|outsider|insider|business: who did the act\n"
    "  systems                any of info_provision_network|number_use_system|\n"
    "                         public_related_system\n"
    "  unspecified_viewing    none|possible|viewed\n"
    "  encrypted_protected, recovered_unviewed, intact_copy    bool\n"
    "  clients                [{client_id, persons: int, persons_max?: int >= persons,\n"
    "                          contract_notice_hours?: int, systems?: [...] (this client's\n"
    "                          data; default the incident's), appi_persons?: int >= persons\n"
    "                          (default its headcount; a sole client: appi.persons),\n"
    "                          public_body?, local_government?, ordinance_sensitive?: bool\n"
    "                          (contractor's clients only), known_at?: time (when the client\n"
    "                          learned; its own clocks' day 1)}]\n"
    "  distinct_persons?      de-duplicated count of the persons KNOWN across clients\n"
    "                         (<= their persons added up)\n"
    "  appi?                  {sensitive: bool, financial_risk: bool, persons?: int}\n"
    "  notice_2015?           {all_persons_contacted, no_external_leak,\n"
    "                          investigation_done: bool} (2015 notice 2(2) conditions)\n"
    "\n"
    "Rule ids (a verdict lists those that fired):\n"
    "  Known on or after 2022-04-01: My Number Act Art. 29-4(1), PPC rule Art. 2\n"
    "    MN-2-1    leak etc. of data in the listed systems, any count (Art. 2(1))\n"
    "    MN-2-2    improper purpose: leak etc., use or provision (Art. 2(2)); 60-day final\n"
    "    MN-2-3    viewed or possibly viewed by unspecified persons (Art. 2(3))\n"
    "    MN-2-4    more than 100 persons (Art. 2(4))\n"
    "  APPI for a business: APPI Art. 26(1), rule Art. 7 (clocks rule Art. 8)\n"
    "    APPI-7-1  sensitive data (7(1))     APPI-7-2  financial harm (7(2))\n"
    "    APPI-7-3  improper act against the business (7(3)); 60-day final\n"
    "    APPI-7-4  more than 1,000 persons (7(4))\n"
    "  APPI for a public body: APPI Art. 68(1), rule Art. 43 (clocks rule Art. 44)\n"
    "    APPI-43-1 sensitive data (43(1))    APPI-43-2 financial harm (43(2))\n"
    "    APPI-43-3 improper act against the body (43(3)); 60-day final\n"
    "    APPI-43-4 more than 100 persons (43(4))\n"
    "    APPI-43-5 条例要配慮個人情報 of a local government's ordinance (43(5))\n"
    "  Known before 2022-04-01: 2016 重大事態 rule Art. 2 (in force 2016-01-01)\n"
    "    MN15-1    item 一: leak (incl. unauthorised access and provision outside Art. 19),\n"
    "              loss or damage in the listed systems\n"
    "    MN15-2    item 二: more than 100 persons leaked etc., used or provided unlawfully\n"
    "    MN15-3    item 三: viewable by unspecified persons AND viewed\n"
    "    MN15-4    item 四: someone used or provided data with improper purpose\n"
    "    MN15-P    a serious situation only possible: best effort (2015 notice 3(2));\n"
    "              the items that may have occurred are in my_number.possible\n"
    "\n"
    "Decisions (see README.md for the sources):\n"
    "  - The reporter's headcount is distinct_persons + sum(max_i - persons_i), between the\n"
    "    largest max_i and sum(max_i) (rule Art. 2(4): leaked or may have leaked); without\n"
    "    distinct_persons, sum(max_i). headcount.known is shown next to headcount.total.\n"
    "  - Before 2022-04-01 only established facts make a report mandatory; a possible\n"
    "    serious situation is voluntary (MN15-P); nothing is mandatory before 2016-01-01;\n"
    "    APPI is never mandatory before 2022-04-01.\n"
    "  - Encryption excludes every item from 2022-04-01 (each item's parenthesis); the 2016\n"
    "    rule has no such exclusion, so it counts there only as 'substantially not leaked'\n"
    "    in the best-effort exemptions.\n"
    "  - 2015 notice 2(2): a reporter with at most 100 employees, not a number-use entity,\n"
    "    meeting all four conditions owes not even a best-effort report: status none.\n"
    "  - Per-client facts override the incident's for that client; the reporter's verdict is\n"
    "    over all its data (union of systems, possible maximum of persons).\n"
    "  - Route: an item is discharged by notifying clients when every involved client whose\n"
    "    data makes it up is bound itself (Art. 29-4(1) proviso, APPI Art. 26(1) proviso);\n"
    "    otherwise the contractor reports that item directly (direct_rules,\n"
    "    appi_direct_rules) and route is direct_report. Before 2022-04-01 a contractor\n"
    "    reports its own serious situation (no proviso).\n"
    "  - actor: an insider's provision is a leak; the business's own provision is not;\n"
    "    APPI-7-3 / APPI-43-3 need an act against the entity (not actor business).\n"
    "  - Local governments come under APPI Art. 68 from 2023-04-01.\n"
    "\n"
    "Output: incident_id, regime (2022|2015), known_date, my_number {status, rules,\n"
    "possible}, appi {status, rules} (mandatory|voluntary|none), headcount {total, known,\n"
    "clients, clients_known, appi_persons}, deadlines {preliminary_target,\n"
    "preliminary_latest, final, final_days, appi_final, appi_final_days}, route\n"
    "(own_report|notify_clients|direct_report|none), appi_route, direct_rules,\n"
    "appi_direct_rules, principal_notice, principal_notice_by (self|clients), clients\n"
    "[{client_id, status, rules, possible, headcount, headcount_known, appi_status,\n"
    "appi_rules, appi_persons, public_body, involved, notice_due, known_date, deadlines}],\n"
    "disclaimer.\n"
    "\n"
    "Exit status: 0 verdict printed; 1 the file could not be read; 2 invalid input\n"
    "(the message names the field and the reason). Not legal advice.\n";

/* Reads the whole stream; returns a NUL-terminated buffer the caller frees, or NULL. */
static char *read_all(FILE *in, size_t *len, const char *name)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, in);
        n += got;
        if (got == 0) break;
        if (n + 1 == cap) {
            if (cap >= ASSESS_MAX_INPUT) {
                fprintf(stderr, "mni assess: %s: larger than %u bytes\n", name, ASSESS_MAX_INPUT);
                free(buf);
                return NULL;
            }
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    if (!buf || ferror(in)) {
        fprintf(stderr, "mni assess: %s: read failed\n", name);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int cmd_assess(int argc, char **argv)
{
    const char *path = NULL;
    size_t flags = JSON_INDENT(2);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(assess_help, stdout);
            return MNI_EXIT_OK;
        } else if (!strcmp(argv[i], "--compact")) {
            flags = JSON_COMPACT;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "mni assess: unknown option '%s' (see mni assess --help)\n", argv[i]);
            return MNI_EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, "mni assess: one input only (got '%s' and '%s')\n", path, argv[i]);
            return MNI_EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fputs("usage: mni assess [--compact] FILE|-  (mni assess --help for the contract)\n",
              stderr);
        return MNI_EXIT_USAGE;
    }

    FILE *in = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!in) {
        fprintf(stderr, "mni assess: %s: cannot open: %m\n", path);
        return MNI_EXIT_FAILURE;
    }
    size_t len = 0;
    char *text = read_all(in, &len, path);
    if (in != stdin) fclose(in);
    if (!text) return MNI_EXIT_FAILURE;

    char err[512];
    facts_doc doc;
    int rc = facts_json_parse(text, len, &doc, err, sizeof err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "mni assess: %s\n", err);
        return MNI_EXIT_USAGE;
    }
    rules_client_verdict *clients =
        calloc(doc.facts.n_clients ? doc.facts.n_clients : 1, sizeof *clients);
    rules_verdict verdict;
    if (!clients || rules_assess(&doc.facts, NULL, &verdict, clients, err, sizeof err) != 0) {
        fprintf(stderr, "mni assess: %s\n", clients ? err : "out of memory");
        free(clients);
        facts_doc_free(&doc);
        return clients ? MNI_EXIT_USAGE : MNI_EXIT_FAILURE;
    }
    json_t *out = verdict_json_build(&doc.facts, &verdict);
    rc = json_dumpf(out, stdout, flags | JSON_PRESERVE_ORDER) == 0 && fputc('\n', stdout) != EOF
             ? MNI_EXIT_OK
             : MNI_EXIT_FAILURE;
    json_decref(out);
    free(clients);
    facts_doc_free(&doc);
    return rc;
}
