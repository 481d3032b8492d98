/*
 * audit_anchor: see audit_anchor.h.
 */
#include "lib/runtime/audit_anchor.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/digest.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/outbox.h"

static token_key anchor_key;
static int anchor_key_loaded;

int audit_anchor_configure(const config *cfg, char *err, size_t errlen)
{
    const char *path = config_get(cfg, "audit.key_file");
    if (!path || !*path) return 0;
    char why[512];
    if (token_key_load(path, &anchor_key, why, sizeof why) != 0) {
        snprintf(err, errlen, "audit.key_file: %s", why);
        return -1;
    }
    anchor_key_loaded = 1;
    return 0;
}

int audit_anchor_enabled(void)
{
    return anchor_key_loaded;
}

void audit_anchor_mac(const token_key *key, long long seq, const unsigned char hash[32],
                      unsigned char mac[AUDIT_ANCHOR_MAC_LEN])
{
    static const char label[] = "mni-audit-anchor-v1";
    unsigned char msg[sizeof label - 1 + 8 + 32];
    memcpy(msg, label, sizeof label - 1);
    unsigned long long s = (unsigned long long)seq;
    for (int i = 0; i < 8; i++)
        msg[sizeof label - 1 + i] = (unsigned char)(s >> (56 - 8 * i));
    memcpy(msg + sizeof label - 1 + 8, hash, 32);
    unsigned int len = 0;
    HMAC(EVP_sha256(), key->bytes, (int)key->len, msg, sizeof msg, mac, &len);
}

void audit_anchor_key_id(const token_key *key, char id[AUDIT_ANCHOR_KEY_ID_LEN + 1])
{
    char hex[DIGEST_SHA256_HEX_LEN] = "";
    digest_sha256_hex(key->bytes, key->len, hex);
    memcpy(id, hex, AUDIT_ANCHOR_KEY_ID_LEN); /* the first 8 bytes of the digest */
    id[AUDIT_ANCHOR_KEY_ID_LEN] = '\0';
}

/* "\x" + 64 hex digits into 32 bytes; -1 when it is not that. */
static int from_bytea_hex(const char *text, unsigned char out[32])
{
    if (strlen(text) != 66 || text[0] != '\\' || text[1] != 'x') return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(text + 2 + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

int audit_anchor_message_key(const char *signer, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "audit_log/%s", signer);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Queues the anchor for topic.anchors in the caller's transaction (lib/runtime/outbox.h),
 * keyed by its writer: compaction keeps each writer's newest. */
static int publish(PGconn *pg, const char *seq, const char *hash_hex, const char *key_id,
                   const char *mac_hex, const char *signer, char *err, size_t errlen)
{
    char task_id[64], key[160];
    snprintf(task_id, sizeof task_id, "audit-anchor:%s", seq);
    if (audit_anchor_message_key(signer, key, sizeof key) != 0) {
        snprintf(err, errlen, "audit.anchor: signer name too long");
        return -1;
    }
    json_t *payload =
        json_pack("{s:I, s:s, s:s, s:s, s:s}", "seq", (json_int_t)strtoll(seq, NULL, 10), "hash",
                  hash_hex, "key_id", key_id, "mac", mac_hex, "signer", signer);
    char *text = payload ? json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(payload);
    if (!text) {
        snprintf(err, errlen, "audit.anchor: out of memory");
        return -1;
    }
    int rc = outbox_enqueue(pg, task_id, AUDIT_ANCHOR_TOPIC, key, NULL, "audit_anchor", text, NULL,
                            NULL, err, errlen);
    free(text);
    return rc;
}

int audit_anchor_sign(PGconn *pg, char *err, size_t errlen)
{
    if (!anchor_key_loaded) return 0;
    PGresult *res =
        pgx_query(pg, "audit.head", "SELECT seq, hash FROM audit_log_head()", 0, NULL, err, errlen);
    if (!res) return -1;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        PQclear(res); /* nothing appended yet: nothing to sign */
        return 0;
    }
    char seq[32];
    unsigned char hash[32];
    snprintf(seq, sizeof seq, "%s", PQgetvalue(res, 0, 0));
    int bad = from_bytea_hex(PQgetvalue(res, 0, 1), hash);
    PQclear(res);
    if (bad) {
        snprintf(err, errlen, "audit.head: seq %s: the hash is not 32 bytes", seq);
        return -1;
    }
    unsigned char mac[AUDIT_ANCHOR_MAC_LEN];
    char key_id[AUDIT_ANCHOR_KEY_ID_LEN + 1], hash_hex[2 + 64 + 1], mac_hex[2 + 64 + 1];
    audit_anchor_mac(&anchor_key, strtoll(seq, NULL, 10), hash, mac);
    audit_anchor_key_id(&anchor_key, key_id);
    memcpy(hash_hex, "\\x", 2);
    digest_hex(hash, 32, hash_hex + 2);
    memcpy(mac_hex, "\\x", 2);
    digest_hex(mac, sizeof mac, mac_hex + 2);
    OPENSSL_cleanse(mac, sizeof mac);
    const char *p[] = {seq, hash_hex, key_id, mac_hex};
    PGresult *ins =
        pgx_query(pg, "audit.anchor",
                  "INSERT INTO audit_anchors (seq, hash, key_id, mac) "
                  "VALUES ($1::bigint, $2::bytea, $3, $4::bytea) ON CONFLICT DO NOTHING "
                  "RETURNING current_user::text",
                  4, p, err, errlen);
    if (!ins) return -1;
    int rc = 0;
    /* The signer column's default, read without SELECT on the table; no row: the head was
     * already anchored, and published by whoever anchored it. */
    if (PQntuples(ins) == 1)
        rc =
            publish(pg, seq, hash_hex + 2, key_id, mac_hex + 2, PQgetvalue(ins, 0, 0), err, errlen);
    PQclear(ins);
    return rc;
}
