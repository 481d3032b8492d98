/*
 * fact_fields: the list of an incident's facts, written down once (issue 10). Every place that
 * walks the facts field by field is generated from it: the JSON, the Avro and the contract
 * checks of the events (lib/model/events_json.c, lib/model/events.c: loops over a table made
 * from it), the facts document of `mni assess` and of the stored cases (lib/model/facts_json.c:
 * the plain facts), and the fold of an event's facts into the rule core's
 * (assess/case_state.c).
 *
 * In the order of the IncidentOpened schema; FactsUpdated carries any subset:
 *
 *   X(key, field, bit, kind, vocab, names, core, opened)
 *
 *   key     the JSON key and Avro field
 *   field   its member of mni_event_facts (lib/model/events.h)
 *   bit     its enum mni_event_fact bit
 *   kind    TIME (ms, int64_t), TEXT (const char *), REPORTER (mni_event_reporter), BITS
 *           (unsigned, bits of a vocabulary), SYM (one value of a vocabulary's enum), BOOL,
 *           NOTICE (rules_notice2015 with notice2015_given)
 *   vocab   for BITS and SYM: the mni_event_sym of its names; else 0
 *   names   for BITS and SYM: the array of rules/vocabulary.h; else NULL
 *   core    for BITS, SYM and BOOL: the member of rules_facts it is copied into unchanged;
 *           the other kinds are translated by hand (none)
 *   opened  REQ when an IncidentOpened must state it, OPT when its schema has a default
 *           (TEXT: "", SYM: value 0, BOOL: false, NOTICE: not stated)
 *
 * bit and vocab name enums of lib/model/events.h: a use that expands them includes it.
 *
 * The plain facts (BITS, SYM, BOOL) that are REQ are the top-level facts of every form the
 * same way (key, type, vocabulary); the OPT ones sit elsewhere in the facts document (appi.*,
 * actor after the clients).
 */
#ifndef MNI_MODEL_FACT_FIELDS_H
#define MNI_MODEL_FACT_FIELDS_H

#include <stddef.h>

#include "rules/vocabulary.h"

/* clang-format off */
#define MNI_FACT_FIELDS(X)                                                                                                   \
    X(known_at,            known_at_ms,         MNI_FACT_KNOWN_AT,            TIME,     0,                 NULL,                  none,                REQ) \
    X(title,               title,               MNI_FACT_TITLE,               TEXT,     0,                 NULL,                  none,                REQ) \
    X(reporter,            reporter,            MNI_FACT_REPORTER,            REPORTER, 0,                 NULL,                  none,                REQ) \
    X(kinds,               kinds,               MNI_FACT_KINDS,               BITS,     MNI_SYM_KIND,      rules_kind_names,      kinds,               REQ) \
    X(certainty,           certainty,           MNI_FACT_CERTAINTY,           SYM,      MNI_SYM_CERTAINTY, rules_certainty_names, certainty,           REQ) \
    X(improper_purpose,    improper_purpose,    MNI_FACT_IMPROPER_PURPOSE,    SYM,      MNI_SYM_LEVEL,     rules_level_names,     improper_purpose,    REQ) \
    X(systems,             systems,             MNI_FACT_SYSTEMS,             BITS,     MNI_SYM_SYSTEM,    rules_system_names,    systems,             REQ) \
    X(unspecified_viewing, unspecified_viewing, MNI_FACT_UNSPECIFIED_VIEWING, SYM,      MNI_SYM_VIEWING,   rules_viewing_names,   unspecified_viewing, REQ) \
    X(encrypted_protected, encrypted_protected, MNI_FACT_ENCRYPTED_PROTECTED, BOOL,     0,                 NULL,                  encrypted_protected, REQ) \
    X(recovered_unviewed,  recovered_unviewed,  MNI_FACT_RECOVERED_UNVIEWED,  BOOL,     0,                 NULL,                  recovered_unviewed,  REQ) \
    X(intact_copy,         intact_copy,         MNI_FACT_INTACT_COPY,         BOOL,     0,                 NULL,                  intact_copy,         REQ) \
    X(appi_sensitive,      appi_sensitive,      MNI_FACT_APPI_SENSITIVE,      BOOL,     0,                 NULL,                  appi.sensitive,      OPT) \
    X(appi_financial_risk, appi_financial_risk, MNI_FACT_APPI_FINANCIAL_RISK, BOOL,     0,                 NULL,                  appi.financial_risk, OPT) \
    X(description,         description,         MNI_FACT_DESCRIPTION,         TEXT,     0,                 NULL,                  none,                OPT) \
    X(actor,               actor,               MNI_FACT_ACTOR,               SYM,      MNI_SYM_ACTOR,     rules_actor_names,     actor,               OPT) \
    X(notice_2015,         notice2015,          MNI_FACT_NOTICE_2015,         NOTICE,   0,                 NULL,                  none,                OPT)
/* clang-format on */

#endif
