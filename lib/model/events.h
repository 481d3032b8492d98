/*
 * events: the incident events of the pipeline as C structs, and their Avro codec.
 *
 * One envelope (mni_event) carries who, which incident, when, and a body of one of seven
 * kinds (schemas/IncidentEvent.avsc and the files it names):
 *
 *   incident_opened          every fact the rule core needs (mni_event_facts)
 *   facts_updated            a subset of those facts (present bits) plus a note
 *   exposure_manifest        one client's batch of person tokens (64 lowercase hex each)
 *   exposure_count           one client's headcount when tokens are unknown
 * (both exposure kinds may carry the client's own facts, mni_event_client_facts)
 *   response_step_completed  one of the six steps of RULES.md section 5
 *   report_filed             a report or notice was filed
 *   incident_closed          closed or withdrawn
 *
 * The fact enums are the rule core's own (rules/rules.h), so the assess worker folds an event's
 * facts into rules_facts by copying them (case_facts_apply, generated from the one list of
 * facts, lib/model/fact_fields.h): kinds and systems are rules_kind and rules_system bit sets;
 * known_at here is in MILLISECONDS (rules_facts.known_at is seconds).
 * A field of Avro type "null or X" is, in C, an absent marker: NULL for strings,
 * MNI_EVENT_ABSENT (-1) for counts and hours (valid values are >= 0); the fields added in
 * schema version 3 use a `..._given` / `present` flag instead, so that a zeroed struct means
 * "not stated".
 *
 * Ownership: an mni_event owns an arena (arena). mni_event_init makes an empty event;
 * mni_event_decode and mni_event_from_json (events_json.h) reset it and then fill it, every
 * string and array pointing into its arena; they stay valid until the next reset, decode, or
 * mni_event_free. An event the caller builds may point at any memory the caller keeps alive
 * until encoding is done (string literals, its own buffers), or copy into the arena with
 * mni_event_strdup / mni_event_alloc. mni_event_free releases the arena; the struct can be
 * initialised again. Reusing one event for a stream of decodes keeps allocation flat.
 *
 * Contract checks (mni_event_check, run by every decoder and by the encoder, so that what is
 * encoded always decodes): ids (event, incident, tenant, producer, client, batch) are 1-63
 * printable ASCII bytes without spaces (RULES_ID_MAX - 1, so they fit the rule core's
 * arrays); person tokens are exactly 64 lowercase hex digits; texts are UTF-8 without NUL and
 * without control characters other than tab and line feed (ESC, BEL, CR, DEL, C1 controls are
 * refused, not escaped: the text is evidence, and rendered documents and terminals must never
 * meet an escape sequence; a producer sending CRLF line ends must send LF);
 * counts >= 0, persons_max >= persons; times within years 0001-9999; enum values known; a
 * local government is a public body and only a local government has ordinance-sensitive data;
 * a client's appi_persons is not below its counted persons.
 * Whether a text holds a raw My Number is NOT checked here: that is the ingest worker's
 * decision, through mni_event_foreach_text.
 *
 * Errors: 0, or -1 with "field: reason" in err (errlen bytes). Avro C is not thread-safe: use
 * the codec (and the schema set) from one thread.
 */
#ifndef MNI_EVENTS_H
#define MNI_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/arena.h"
#include "lib/serdes/schema_set.h"
#include "lib/serdes/wire.h"
#include "rules/rules.h"

#define MNI_EVENT_ABSENT (-1)               /* an optional count or clock that was not given */
#define MNI_EVENT_ID_MAX (RULES_ID_MAX - 1) /* bytes of an id, NUL excluded */
#define MNI_EVENT_TOKEN_LEN 64              /* hex digits of a person token (HMAC-SHA256) */
/* Times are milliseconds since 1970-01-01T00:00:00Z, from 0001-01-01 to 9999-12-31 UTC. */
#define MNI_EVENT_TIME_MIN (-62135596800000LL)
#define MNI_EVENT_TIME_MAX (253402300799999LL)

typedef enum {
    MNI_EVENT_NONE = 0, /* an empty (initialised or reset) event */
    MNI_EVENT_INCIDENT_OPENED,
    MNI_EVENT_FACTS_UPDATED,
    MNI_EVENT_EXPOSURE_MANIFEST,
    MNI_EVENT_EXPOSURE_COUNT,
    MNI_EVENT_RESPONSE_STEP_COMPLETED,
    MNI_EVENT_REPORT_FILED,
    MNI_EVENT_INCIDENT_CLOSED
} mni_event_type;

/* RULES.md section 5. */
typedef enum {
    MNI_STEP_INTERNAL_REPORT_CONTAINMENT,
    MNI_STEP_FACT_INVESTIGATION,
    MNI_STEP_SCOPE_OF_IMPACT,
    MNI_STEP_PREVENTIVE_MEASURES,
    MNI_STEP_CONTACT_PERSONS,
    MNI_STEP_PUBLICATION
} mni_event_step;

typedef enum {
    MNI_REPORT_PPC_PRELIMINARY,
    MNI_REPORT_PPC_FINAL,
    MNI_REPORT_CLIENT_NOTICE,
    MNI_REPORT_PRINCIPAL_NOTICE,
    MNI_REPORT_PUBLICATION
} mni_event_report;

typedef enum { MNI_CLOSE_CLOSED, MNI_CLOSE_WITHDRAWN } mni_event_close_reason;

typedef struct {
    rules_role role;
    bool number_use_entity;
    bool public_body_system;
    rules_body body;      /* the reporter is a public body (schema version 3; default false) */
    bool employees_given; /* employees was stated (null in Avro when not) */
    int64_t employees;    /* >= 0 */
} mni_event_reporter;

/* Facts of one client alone (schema version 3, ClientFacts): they override the incident's for
 * that client's own verdict. Zero (present false) means "not stated: unchanged". */
typedef struct {
    bool present;
    bool systems_given; /* false: the incident's systems */
    unsigned systems;   /* enum rules_system bits */
    bool appi_persons_given;
    int64_t appi_persons; /* >= 0 */
    rules_body body;
} mni_event_client_facts;

/* The facts of IncidentOpened; FactsUpdated carries any subset (mni_event_fact bits). Their
 * list, with keys, kinds and the rule core's member of each, is lib/model/fact_fields.h: a new
 * fact is a member here, a bit below and a row there. */
typedef struct {
    int64_t known_at_ms;
    const char *title;
    mni_event_reporter reporter;
    unsigned kinds; /* enum rules_kind bits */
    rules_certainty certainty;
    rules_level improper_purpose;
    unsigned systems; /* enum rules_system bits */
    rules_viewing unspecified_viewing;
    bool encrypted_protected;
    bool recovered_unviewed;
    bool intact_copy;
    bool appi_sensitive;
    bool appi_financial_risk;
    const char *description;
    rules_actor actor;     /* schema version 3; default unknown */
    bool notice2015_given; /* notice_2015 was stated (null in Avro when not) */
    rules_notice2015 notice2015;
} mni_event_facts;

enum mni_event_fact {
    MNI_FACT_KNOWN_AT = 1u << 0,
    MNI_FACT_TITLE = 1u << 1,
    MNI_FACT_REPORTER = 1u << 2,
    MNI_FACT_KINDS = 1u << 3,
    MNI_FACT_CERTAINTY = 1u << 4,
    MNI_FACT_IMPROPER_PURPOSE = 1u << 5,
    MNI_FACT_SYSTEMS = 1u << 6,
    MNI_FACT_UNSPECIFIED_VIEWING = 1u << 7,
    MNI_FACT_ENCRYPTED_PROTECTED = 1u << 8,
    MNI_FACT_RECOVERED_UNVIEWED = 1u << 9,
    MNI_FACT_INTACT_COPY = 1u << 10,
    MNI_FACT_APPI_SENSITIVE = 1u << 11,
    MNI_FACT_APPI_FINANCIAL_RISK = 1u << 12,
    MNI_FACT_DESCRIPTION = 1u << 13,
    MNI_FACT_ACTOR = 1u << 14,
    MNI_FACT_NOTICE_2015 = 1u << 15,
    MNI_FACT_ALL = (1u << 16) - 1
};

typedef struct {
    unsigned present; /* mni_event_fact bits: the facts this update sets */
    mni_event_facts facts;
    const char *note;
} mni_event_facts_updated;

typedef struct {
    const char *client_id;
    const char *batch_id;
    const char *const *tokens;
    size_t n_tokens;
    int64_t contract_notice_hours; /* or MNI_EVENT_ABSENT */
    mni_event_client_facts client_facts;
} mni_event_exposure_manifest;

typedef struct {
    const char *client_id;
    int64_t persons;
    int64_t persons_max;           /* or MNI_EVENT_ABSENT */
    int64_t contract_notice_hours; /* or MNI_EVENT_ABSENT */
    mni_event_client_facts client_facts;
} mni_event_exposure_count;

typedef struct {
    mni_event_step step;
    int64_t completed_at_ms;
    const char *note;
} mni_event_response_step;

typedef struct {
    mni_event_report report;
    const char *client_id; /* or NULL */
    int64_t filed_at_ms;
    const char *reference;
} mni_event_report_filed;

typedef struct {
    mni_event_close_reason reason;
    const char *note;
} mni_event_incident_closed;

typedef struct {
    const char *event_id;
    const char *incident_id;
    const char *tenant;
    int64_t occurred_at_ms;
    const char *producer; /* "unknown" when the writer's schema had no producer */
    int32_t schema_id;    /* decode: the writer's schema id; 0 otherwise */
    mni_event_type type;
    union {
        mni_event_facts opened;
        mni_event_facts_updated facts_updated;
        mni_event_exposure_manifest manifest;
        mni_event_exposure_count count;
        mni_event_response_step step;
        mni_event_report_filed report;
        mni_event_incident_closed closed;
    } body;
    mni_arena arena; /* owns what decoders put in the event */
} mni_event;

void mni_event_init(mni_event *ev);
/* Empties the event (type NONE, fields zero); keeps the arena's first chunk for reuse. */
void mni_event_reset(mni_event *ev);
void mni_event_free(mni_event *ev);
/* Copies into the event's arena; NULL when out of memory. */
char *mni_event_strdup(mni_event *ev, const char *s);
void *mni_event_alloc(mni_event *ev, size_t n);

/* Checks the contract (see above). */
int mni_event_check(const mni_event *ev, char *err, size_t errlen);
/* The id rule alone (1-63 printable ASCII bytes, no spaces), for other records' ids. */
int mni_event_check_id(const char *field, const char *id, char *err, size_t errlen);

/* Encodes ev with the current IncidentEvent schema of the set into out (framed). */
int mni_event_encode(const schema_set *schemas, const mni_event *ev, wire_buf *out, char *err,
                     size_t errlen);
/* The generic path alone (Avro C for every event), which mni_event_encode takes for all but
 * the manifests events_fast.h writes: for tests comparing the two. */
int mni_event_encode_generic(const schema_set *schemas, const mni_event *ev, wire_buf *out,
                             char *err, size_t errlen);
/* Decodes a framed message with its writer's schema (looked up by the frame's id), resolved
 * into the current version with defaults filled, then checked. On error ev is left empty. */
int mni_event_decode(const schema_set *schemas, const uint8_t *msg, size_t len, mni_event *ev,
                     char *err, size_t errlen);
/* The generic path alone (Avro C for every message), which mni_event_decode takes for all but
 * the manifests events_fast.h reads: for tests comparing the two. */
int mni_event_decode_generic(const schema_set *schemas, const uint8_t *msg, size_t len,
                             mni_event *ev, char *err, size_t errlen);

/* Symbols shared by the Avro enums and the JSON form. Bit-set enums (kind, system) map a
 * single bit. */
typedef enum {
    MNI_SYM_TYPE,      /* mni_event_type: "incident_opened", ... (not NONE) */
    MNI_SYM_ROLE,      /* rules_role: "own", "contractor" */
    MNI_SYM_KIND,      /* enum rules_kind bit: "leak", "loss", ... */
    MNI_SYM_CERTAINTY, /* rules_certainty */
    MNI_SYM_LEVEL,     /* rules_level (improper_purpose) */
    MNI_SYM_SYSTEM,    /* enum rules_system bit */
    MNI_SYM_VIEWING,   /* rules_viewing */
    MNI_SYM_STEP,      /* mni_event_step */
    MNI_SYM_REPORT,    /* mni_event_report */
    MNI_SYM_CLOSE,     /* mni_event_close_reason */
    MNI_SYM_ACTOR      /* rules_actor */
} mni_event_sym;

/* The symbol of value in set, or NULL when out of range. */
const char *mni_event_sym_name(mni_event_sym set, int value);
/* The value of symbol name in set: 0, or -1 when unknown. */
int mni_event_sym_parse(mni_event_sym set, const char *name, int *value);
/* The Avro record name of a body type ("IncidentOpened"), or NULL. */
const char *mni_event_type_record(mni_event_type t);
/* The client an event speaks for (a manifest's, a count's, a filing's), NULL for an
 * incident-wide one. */
const char *mni_event_client_id(const mni_event *ev);
/* A manifest's tokens as one string of hex digits (MNI_EVENT_TOKEN_LEN each, in order; checked
 * when decoded), malloc'd; NULL when out of memory. The form event_log.tokens and
 * incident_persons_forget take them in, decoded by the server. */
char *mni_event_manifest_hex(const mni_event_exposure_manifest *m);

/* What a text field is, so that the ingest worker can choose how to scan it. */
typedef enum {
    MNI_TEXT_ID,   /* event, incident, tenant, client, batch ids; producer */
    MNI_TEXT_FREE, /* title, description, note, reference: prose written by people */
    MNI_TEXT_TOKEN /* person tokens: 64 lowercase hex digits, already checked */
} mni_event_text_kind;

/* Called once per text; field is its path ("body.tokens[3]"), valid during the call only.
 * Return 0 to go on, anything else to stop (mni_event_foreach_text returns it). */
typedef int (*mni_event_text_fn)(const char *field, mni_event_text_kind kind, const char *text,
                                 size_t len, void *ctx);

/* Visits every text field of ev that is set, envelope first, in schema order.
 *
 * A caution for the raw My Number scan: a random HMAC-SHA256 token in hex holds a 12-digit
 * run with a valid check digit about 0.28% of the time (measured over 400,000 random tokens),
 * so scanning tokens with mynumber_find would dead-letter most large manifests. Tokens are
 * already constrained to 64 lowercase hex digits by mni_event_check; MNI_TEXT_TOKEN lets the
 * caller skip them or apply a stricter test. */
int mni_event_foreach_text(const mni_event *ev, mni_event_text_fn fn, void *ctx);

#endif
