/*
 * task_id: see task_id.h. A digest failure (the crypto library out of memory) aborts: an id
 * that is not the deterministic one would break de-duplication downstream silently.
 */
#include "lib/model/task_id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/digest.h"

static void parts_id(const char *const *parts, size_t n, size_t bytes, char *out)
{
    if (digest_sha256_parts_hex(parts, n, bytes, out) != 0) {
        fprintf(stderr, "mni: SHA-256 failed in the crypto library; cannot make an id\n");
        abort();
    }
}

void mni_task_id(const char *incident_id, const char *kind, const char *client_id,
                 char out[MNI_TASK_ID_LEN])
{
    const char *parts[] = {incident_id, kind, client_id};
    parts_id(parts, 3, 16, out);
}

void mni_reminder_task_id(const char *incident_id, const char *kind, const char *client_id,
                          const char *deadline_kind, const char *due, char out[MNI_TASK_ID_LEN])
{
    const char *parts[] = {incident_id, kind, client_id, deadline_kind, due};
    parts_id(parts, 5, 16, out);
}

void mni_ticket_id(const char *task_id, char out[MNI_TICKET_ID_LEN])
{
    if (strlen(task_id) + 2 <= MNI_TICKET_ID_LEN - 1) {
        snprintf(out, MNI_TICKET_ID_LEN, "T-%s", task_id);
        return;
    }
    const char *parts[] = {task_id};
    char hex[DIGEST_SHA256_HEX_LEN];
    parts_id(parts, 1, 32, hex);
    snprintf(out, MNI_TICKET_ID_LEN, "T-%.32s", hex);
}
