/*
 * task_id: the deterministic ids of what the pipeline emits, defined once. Consumers
 * de-duplicate by them and a replayed batch re-creates the same ids, so they depend only on
 * what the task is for, never on when or by whom it was made:
 *
 *   obligation task (assess):   hex16(sha256("incident|kind|client"))          client "" if none
 *   reminder/escalation (sweeper): hex16(sha256("incident|kind|client|deadline kind|due"))
 *   ticket (notify):            "T-" + task id, or "T-" + hex32(sha256(task id)) when that
 *                               would not fit 63 characters
 *
 * hex16: the first 16 bytes of the digest as 32 hex digits. The ids are a contract with
 * downstream systems: changing a formula re-sends every task.
 */
#ifndef MNI_TASK_ID_H
#define MNI_TASK_ID_H

#define MNI_TASK_ID_LEN 33   /* 32 hex digits and the NUL */
#define MNI_TICKET_ID_LEN 64 /* at most 63 characters and the NUL */

/* client_id may be NULL (an incident-wide obligation). */
void mni_task_id(const char *incident_id, const char *kind, const char *client_id,
                 char out[MNI_TASK_ID_LEN]);
void mni_reminder_task_id(const char *incident_id, const char *kind, const char *client_id,
                          const char *deadline_kind, const char *due, char out[MNI_TASK_ID_LEN]);
void mni_ticket_id(const char *task_id, char out[MNI_TICKET_ID_LEN]);

#endif
