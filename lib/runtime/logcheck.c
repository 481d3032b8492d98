/*
 * logcheck: see logcheck.h.
 */
#include "lib/runtime/logcheck.h"
#include "lib/base/digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pg/pgx.h"

static const char LOGCHECK_GAP_SQL[] =
    "INSERT INTO consumer_gaps (group_id, topic, partition, log_epoch, first_offset, "
    "end_offset) VALUES ($1, $2, $3, $4, $5, $6) "
    "ON CONFLICT (group_id, topic, partition, log_epoch, first_offset) DO UPDATE "
    "SET end_offset = EXCLUDED.end_offset, detected_at = now(), acknowledged_at = NULL, "
    "acknowledged_by = NULL WHERE consumer_gaps.end_offset < EXCLUDED.end_offset";

static const char LOGCHECK_OFFSET_INSERT_SQL[] =
    "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) "
    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

static const char LOGCHECK_OFFSET_MOVE_SQL[] =
    "UPDATE consumer_offsets SET next_offset = $4, last_digest = NULL, updated_at = now() "
    "WHERE group_id = $1 AND topic = $2 AND partition = $3 AND next_offset = $5";

static const char LOGCHECK_OPEN_SQL[] =
    "SELECT count(*) OVER (), end_offset - first_offset, topic, partition, first_offset, "
    "end_offset - 1 FROM consumer_gaps WHERE group_id = $1 AND acknowledged_at IS NULL "
    "ORDER BY id LIMIT 1";

static const char LOGCHECK_ACK_SQL[] =
    "UPDATE consumer_gaps SET acknowledged_at = now(), acknowledged_by = $3 "
    "WHERE acknowledged_at IS NULL AND ($1::text IS NULL OR group_id = $1) "
    "AND ($2::bigint IS NULL OR id = $2)";

/* The next log epoch of a partition is past the group's and every epoch event_log holds for it
 * (a group that never stored an offset there may still have read it before). */
static const char LOGCHECK_ACCEPT_ONE_SQL[] =
    "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset, log_epoch) "
    "VALUES ($1, $2, $3, 0, (SELECT coalesce(max(e.src_epoch) + 1, 0) FROM event_log e "
    "WHERE e.src_topic = $2 AND e.src_partition = $3)) "
    "ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = 0, last_digest = NULL, "
    "log_epoch = greatest(consumer_offsets.log_epoch + 1, EXCLUDED.log_epoch), updated_at = now()";

static const char LOGCHECK_ACCEPT_ALL_SQL[] =
    "UPDATE consumer_offsets c SET next_offset = 0, last_digest = NULL, updated_at = now(), "
    "log_epoch = greatest(c.log_epoch + 1, (SELECT coalesce(max(e.src_epoch) + 1, 0) "
    "FROM event_log e WHERE e.src_topic = c.topic AND e.src_partition = c.partition)) "
    "WHERE c.group_id = $1 AND c.topic = $2";

logcheck_plan logcheck_plan_start(int64_t stored, int has_digest, int64_t low, int64_t high)
{
    if (stored < 0)
        return low > 0 ? (logcheck_plan){LOGCHECK_GAP, low, 0, low}
                       : (logcheck_plan){LOGCHECK_RESUME, 0, -1, -1};
    if (stored > high) return (logcheck_plan){LOGCHECK_MISMATCH, -1, -1, -1};
    if (stored < low) return (logcheck_plan){LOGCHECK_GAP, low, stored, low};
    if (has_digest && stored > 0 && stored - 1 >= low)
        return (logcheck_plan){LOGCHECK_VERIFY, stored - 1, -1, -1};
    return (logcheck_plan){LOGCHECK_RESUME, stored, -1, -1};
}

logcheck_plan logcheck_plan_reset(int64_t position, int64_t low, int64_t high)
{
    if (position > high) return (logcheck_plan){LOGCHECK_MISMATCH, -1, -1, -1};
    if (position < low) return (logcheck_plan){LOGCHECK_GAP, low, position, low};
    return (logcheck_plan){LOGCHECK_RESUME, position, -1, -1};
}

static void logcheck_put_u32(EVP_MD_CTX *ctx, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    EVP_DigestUpdate(ctx, b, sizeof b);
}

void logcheck_digest(const rd_kafka_message_t *m, char out[LOGCHECK_DIGEST_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    rd_kafka_timestamp_type_t type;
    int64_t ts = rd_kafka_message_timestamp(m, &type);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    memset(md, 0, sizeof md);
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
        logcheck_put_u32(ctx, (uint32_t)((uint64_t)ts >> 32));
        logcheck_put_u32(ctx, (uint32_t)ts);
        /* Lengths first, so that key and value cannot trade bytes; a null key or value is
         * not an empty one. */
        logcheck_put_u32(ctx, m->key ? (uint32_t)m->key_len : UINT32_MAX);
        if (m->key) EVP_DigestUpdate(ctx, m->key, m->key_len);
        logcheck_put_u32(ctx, m->payload ? (uint32_t)m->len : UINT32_MAX);
        if (m->payload) EVP_DigestUpdate(ctx, m->payload, m->len);
        EVP_DigestFinal_ex(ctx, md, &mdlen);
    }
    EVP_MD_CTX_free(ctx);
    digest_hex(md, 16, out);
}

int logcheck_record_gap(PGconn *pg, const char *group, const char *topic, int32_t partition,
                        int32_t epoch, int64_t expected, int64_t first, int64_t end, char *err,
                        size_t errlen)
{
    char part[16], ep[16], first_s[24], end_s[24], expected_s[24];
    long long rows = 0;
    snprintf(part, sizeof part, "%d", (int)partition);
    snprintf(ep, sizeof ep, "%d", (int)epoch);
    snprintf(first_s, sizeof first_s, "%lld", (long long)first);
    snprintf(end_s, sizeof end_s, "%lld", (long long)end);
    snprintf(expected_s, sizeof expected_s, "%lld", (long long)expected);
    const char *gap[] = {group, topic, part, ep, first_s, end_s};
    const char *insert[] = {group, topic, part, end_s};
    const char *move[] = {group, topic, part, end_s, expected_s};

    if (pgx_begin(pg, err, errlen) != 0) return -1;
    int rc = pgx_exec_params(pg, "logcheck.gap", LOGCHECK_GAP_SQL, 6, gap, NULL, err, errlen);
    if (rc == 0)
        rc = expected < 0
                 ? pgx_exec_params(pg, "logcheck.offset_insert", LOGCHECK_OFFSET_INSERT_SQL, 4,
                                   insert, &rows, err, errlen)
                 : pgx_exec_params(pg, "logcheck.offset_move", LOGCHECK_OFFSET_MOVE_SQL, 5, move,
                                   &rows, err, errlen);
    if (rc == 0 && rows != 1) {
        snprintf(err, errlen,
                 "consumer offsets of %s[%d] moved under this member (expected %lld): fenced",
                 topic, (int)partition, (long long)expected);
        rc = -1;
    }
    if (rc == 0) return pgx_commit(pg, err, errlen);
    char ignored[256];
    pgx_rollback(pg, ignored, sizeof ignored);
    return -1;
}

int logcheck_unacknowledged(PGconn *pg, const char *group, long long *count, char *summary,
                            size_t summary_len, char *err, size_t errlen)
{
    const char *params[] = {group};
    PGresult *res = pgx_query(pg, "logcheck.open", LOGCHECK_OPEN_SQL, 1, params, err, errlen);
    if (!res) return -1;
    *count = PQntuples(res) ? atoll(PQgetvalue(res, 0, 0)) : 0;
    if (summary && summary_len) {
        summary[0] = '\0';
        if (PQntuples(res))
            snprintf(summary, summary_len, "%s events of %s[%s], offsets %s..%s",
                     PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
                     PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5));
    }
    PQclear(res);
    return 0;
}

int logcheck_acknowledge(PGconn *pg, const char *group, long long id, const char *by,
                         long long *acked, char *err, size_t errlen)
{
    char id_s[24];
    snprintf(id_s, sizeof id_s, "%lld", id);
    const char *params[] = {group, id >= 0 ? id_s : NULL, by};
    return pgx_exec_params(pg, "logcheck.ack", LOGCHECK_ACK_SQL, 3, params, acked, err, errlen);
}

int logcheck_accept_new_log(PGconn *pg, const char *group, const char *topic, int32_t partition,
                            long long *rows, char *err, size_t errlen)
{
    char part[16];
    snprintf(part, sizeof part, "%d", (int)partition);
    const char *params[] = {group, topic, part};
    return partition >= 0 ? pgx_exec_params(pg, "logcheck.accept_one", LOGCHECK_ACCEPT_ONE_SQL, 3,
                                            params, rows, err, errlen)
                          : pgx_exec_params(pg, "logcheck.accept_all", LOGCHECK_ACCEPT_ALL_SQL, 2,
                                            params, rows, err, errlen);
}
