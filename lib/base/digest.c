/*
 * digest: see digest.h.
 */
#include "lib/base/digest.h"

#include <openssl/evp.h>
#include <string.h>

void digest_hex(const unsigned char *bytes, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

int digest_sha256_hex(const void *data, size_t len, char out[DIGEST_SHA256_HEX_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = '\0';
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) return -1;
    digest_hex(md, 32, out);
    return 0;
}

int digest_sha256_int64(const void *data, size_t len, int64_t *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    *out = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) return -1;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | md[i];
    *out = (int64_t)v;
    return 0;
}

int digest_sha256_parts_hex(const char *const *parts, size_t nparts, size_t bytes, char *out)
{
    out[0] = '\0';
    if (bytes < 1 || bytes > 32) return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < nparts; i++) {
        const char *p = parts[i] ? parts[i] : "";
        ok = (i == 0 || EVP_DigestUpdate(ctx, "|", 1) == 1) &&
             EVP_DigestUpdate(ctx, p, strlen(p)) == 1;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok) return -1;
    digest_hex(md, bytes, out);
    return 0;
}
