/*
 * token: see token.h. HMAC and randomness come from OpenSSL's libcrypto.
 */
#include "lib/model/token.h"
#include "lib/base/digest.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int token_key_load(const char *path, token_key *key, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "key file %s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char text[2 * TOKEN_KEY_MAX + 64];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    size_t start = 0, end = n;
    while (start < end && isspace((unsigned char)text[start]))
        start++;
    while (end > start && isspace((unsigned char)text[end - 1]))
        end--;
    size_t hexlen = end - start;
    int rc = 0;
    if (hexlen % 2 || hexlen / 2 < TOKEN_KEY_MIN || hexlen / 2 > TOKEN_KEY_MAX) {
        snprintf(err, errlen, "key file %s: want %d to %d bytes as hex digits (got %zu characters)",
                 path, TOKEN_KEY_MIN, TOKEN_KEY_MAX, hexlen);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < hexlen; i += 2) {
        int hi = hexval(text[start + i]), lo = hexval(text[start + i + 1]);
        if (hi < 0 || lo < 0) {
            snprintf(err, errlen, "key file %s: not hex at character %zu", path, i + 1);
            rc = -1;
        } else {
            key->bytes[i / 2] = (unsigned char)(hi << 4 | lo);
        }
    }
    key->len = rc == 0 ? hexlen / 2 : 0;
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

int token_key_generate(const char *path, char *err, size_t errlen)
{
    unsigned char raw[TOKEN_KEY_MIN];
    char hex[2 * TOKEN_KEY_MIN + 2];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        snprintf(err, errlen, "no randomness from the crypto library");
        return -1;
    }
    digest_hex(raw, sizeof raw, hex);
    hex[2 * sizeof raw] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        snprintf(err, errlen,
                 "key file %s: cannot create (an existing key is never overwritten): %s", path,
                 strerror(errno));
        return -1;
    }
    ssize_t w = write(fd, hex, 2 * sizeof raw + 1);
    int closed = close(fd);
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(hex, sizeof hex);
    if (w != (ssize_t)(2 * sizeof raw + 1) || closed != 0) {
        snprintf(err, errlen, "key file %s: write failed", path);
        return -1;
    }
    return 0;
}

int token_make(const token_key *key, const char *person_key, size_t len,
               char out[TOKEN_HEX_LEN + 1])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), key->bytes, (int)key->len, (const unsigned char *)person_key, len, mac,
              &maclen) ||
        maclen != TOKEN_HEX_LEN / 2)
        return -1;
    digest_hex(mac, maclen, out);
    return 0;
}

int token_is_wellformed(const char *text, size_t len)
{
    if (len != TOKEN_HEX_LEN) return 0;
    for (size_t i = 0; i < len; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f'))) return 0;
    return 1;
}
