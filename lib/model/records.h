/*
 * records: the output records of the pipeline and their Avro codec, framed like the events.
 *
 *   CaseAssessment  one version of an incident's assessment   (case.assessments, compacted)
 *   NotifyTask      a task from the assess worker's outbox      (notify.tasks)
 *   Ticket          a ticket for downstream ticketing           (tickets)
 *
 * The schemas are schemas/CaseAssessment.avsc, NotifyTask.avsc and Ticket.avsc. Encoders write
 * the current version; decoders read any version of the same record that the schema set knows
 * (older writers resolved, defaults filled: avro_codec) and refuse a message of another record.
 *
 * Absent values: NULL for nullable strings (client_id, deadlines), RECORDS_NO_TIME for nullable
 * times (due_at). Times are milliseconds since the epoch (UTC); deadlines are Japan-time
 * calendar days "YYYY-MM-DD". Status, regime and route are the rule core's names
 * (rules_status_name, rules_regime_name, rules_route_name), stored as strings.
 *
 * Ownership: encoders only read the struct. Decoders fill it with pointers into the arena the
 * caller passes (arena); they stay valid until the caller resets or frees that arena.
 * On error the struct is zeroed (the arena may hold partial data until its reset).
 *
 * Checks before encoding and after decoding: ids 1-63 printable ASCII bytes (as for events),
 * texts UTF-8 without NUL, deadlines real dates, times within years 0001-9999, version and
 * case_version >= 1, counts >= 0.
 *
 * Errors: 0, or -1 with "field: reason" in err. Avro C is not thread-safe: one thread.
 */
#ifndef MNI_RECORDS_H
#define MNI_RECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/arena.h"
#include "lib/serdes/schema_set.h"
#include "lib/serdes/wire.h"

#define RECORDS_NO_TIME INT64_MIN

typedef struct {
    const char *client_id;
    int64_t persons; /* this client's own headcount */
    const char *status;
    const char *const *rules;
    size_t n_rules;
} records_client;

typedef struct {
    const char *incident_id;
    int64_t version;
    int64_t assessed_at_ms;
    const char *regime;
    const char *my_number_status;
    const char *appi_status;
    const char *const *rules;
    size_t n_rules;
    int64_t headcount_total;
    const records_client *clients;
    size_t n_clients;
    const char *route;
    struct {
        const char *preliminary_target; /* "YYYY-MM-DD" or NULL */
        const char *preliminary_latest;
        const char *final;
        const char *appi_final;
    } deadlines;
    const char *verdict_json;
    /* Schema id 7 on: an abridged record lists n_clients of its clients_total clients (and
     * verdict_json is cut to the same clients) because the whole would not fit a message;
     * full_verdict then says where the whole verdict is. Not abridged: full_verdict NULL and
     * clients_total n_clients (an encoder takes 0 for that; a decoder of an id-3 record, which
     * listed every client, gives n_clients). */
    bool abridged;
    int64_t clients_total;
    const char *full_verdict;
} records_case_assessment;

typedef enum {
    RECORDS_TASK_CLIENT_NOTICE,
    RECORDS_TASK_PPC_PRELIMINARY,
    RECORDS_TASK_PPC_FINAL,
    RECORDS_TASK_PRINCIPAL_NOTICE,
    RECORDS_TASK_PUBLICATION,
    RECORDS_TASK_REMINDER,
    RECORDS_TASK_ESCALATION
} records_task_kind;

typedef struct {
    const char *task_id;
    const char *incident_id;
    const char *client_id; /* or NULL */
    records_task_kind kind;
    int64_t due_at_ms; /* or RECORDS_NO_TIME */
    int64_t case_version;
    int64_t created_at_ms;
    const char *payload_json;
} records_notify_task;

typedef struct {
    const char *ticket_id;
    const char *task_id;
    const char *incident_id;
    const char *client_id; /* or NULL */
    const char *kind;      /* a task kind name */
    const char *title;
    const char *summary;
    int64_t due_at_ms; /* or RECORDS_NO_TIME */
    const char *document_ref;
} records_ticket;

/* "client_notice", ...; NULL when out of range. */
const char *records_task_kind_name(records_task_kind k);
int records_task_kind_parse(const char *name, records_task_kind *out);

int records_case_assessment_encode(const schema_set *schemas, const records_case_assessment *a,
                                   wire_buf *out, char *err, size_t errlen);
int records_case_assessment_decode(const schema_set *schemas, const uint8_t *msg, size_t len,
                                   mni_arena *arena, records_case_assessment *a, char *err,
                                   size_t errlen);

int records_notify_task_encode(const schema_set *schemas, const records_notify_task *t,
                               wire_buf *out, char *err, size_t errlen);
int records_notify_task_decode(const schema_set *schemas, const uint8_t *msg, size_t len,
                               mni_arena *arena, records_notify_task *t, char *err, size_t errlen);

int records_ticket_encode(const schema_set *schemas, const records_ticket *t, wire_buf *out,
                          char *err, size_t errlen);
int records_ticket_decode(const schema_set *schemas, const uint8_t *msg, size_t len,
                          mni_arena *arena, records_ticket *t, char *err, size_t errlen);

#endif
