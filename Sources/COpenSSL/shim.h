// OpenSSL's libcrypto: message digests through EVP (MD5, SHA-256), BOINC code signing (raw PKCS#1 v1.5 RSA over a
// file's MD5 text), and the system's random generator. Only libcrypto: TLS is swift-nio-ssl's.
//
// The RSA helpers are small wrappers with plain types (C stays behind a small shim of plain types): OpenSSL 3's
// parameter builders and out-pointers read poorly from Swift.
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/rsa.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

/// A new RSA key of `bits` bits with exponent 65537, or NULL.
static inline EVP_PKEY *outpost_rsa_generate(int bits) {
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (context == NULL) return NULL;
    if (EVP_PKEY_keygen_init(context) != 1 || EVP_PKEY_CTX_set_rsa_keygen_bits(context, bits) != 1 ||
        EVP_PKEY_generate(context, &key) != 1) {
        key = NULL;
    }
    EVP_PKEY_CTX_free(context);
    return key;
}

/// Writes the modulus and public exponent big-endian, zero-padded to the given lengths; 1 on success.
static inline int outpost_rsa_public_components(
    const EVP_PKEY *key, unsigned char *modulus, int modulus_length, unsigned char *exponent, int exponent_length) {
    BIGNUM *n = NULL, *e = NULL;
    int ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
             EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
             BN_bn2binpad(n, modulus, modulus_length) == modulus_length &&
             BN_bn2binpad(e, exponent, exponent_length) == exponent_length;
    BN_free(n);
    BN_free(e);
    return ok;
}

/// A public key from a big-endian modulus and exponent, or NULL.
static inline EVP_PKEY *outpost_rsa_public_key(
    const unsigned char *modulus, int modulus_length, const unsigned char *exponent, int exponent_length) {
    EVP_PKEY *key = NULL;
    BIGNUM *n = BN_bin2bn(modulus, modulus_length, NULL);
    BIGNUM *e = BN_bin2bn(exponent, exponent_length, NULL);
    OSSL_PARAM_BLD *builder = OSSL_PARAM_BLD_new();
    OSSL_PARAM *parameters = NULL;
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (n && e && builder && context && OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
        OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, e) == 1 &&
        (parameters = OSSL_PARAM_BLD_to_param(builder)) != NULL && EVP_PKEY_fromdata_init(context) == 1) {
        if (EVP_PKEY_fromdata(context, &key, EVP_PKEY_PUBLIC_KEY, parameters) != 1) key = NULL;
    }
    EVP_PKEY_CTX_free(context);
    OSSL_PARAM_free(parameters);
    OSSL_PARAM_BLD_free(builder);
    BN_free(n);
    BN_free(e);
    return key;
}

/// RSA with PKCS#1 v1.5 type-1 padding and no DigestInfo (BOINC's `RSA_private_encrypt`); the output length, or -1.
static inline int outpost_rsa_private_encrypt(
    EVP_PKEY *key, const unsigned char *input, int input_length, unsigned char *output, int output_capacity) {
    size_t length = (size_t)output_capacity;
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = context && EVP_PKEY_sign_init(context) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_sign(context, output, &length, input, (size_t)input_length) == 1;
    EVP_PKEY_CTX_free(context);
    return ok ? (int)length : -1;
}

/// The inverse (BOINC's `RSA_public_decrypt`): the recovered input's length, or -1 when the signature is invalid.
static inline int outpost_rsa_public_decrypt(
    EVP_PKEY *key, const unsigned char *input, int input_length, unsigned char *output, int output_capacity) {
    size_t length = (size_t)output_capacity;
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = context && EVP_PKEY_verify_recover_init(context) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_verify_recover(context, output, &length, input, (size_t)input_length) == 1;
    EVP_PKEY_CTX_free(context);
    return ok ? (int)length : -1;
}

/// The private key as DER (PKCS#1 or PKCS#8, whichever OpenSSL writes); the length, or -1. With NULL, the length only.
static inline int outpost_private_key_der(const EVP_PKEY *key, unsigned char *output, int capacity) {
    int length = i2d_PrivateKey(key, NULL);
    if (output == NULL || length <= 0) return length;
    if (length > capacity) return -1;
    unsigned char *cursor = output;
    return i2d_PrivateKey(key, &cursor);
}

static inline EVP_PKEY *outpost_private_key_from_der(const unsigned char *input, long length) {
    const unsigned char *cursor = input;
    return d2i_AutoPrivateKey(NULL, &cursor, length);
}

/// HMAC-SHA256 of `data` under `key` into `out` (32 bytes); 1 on success.
static inline int outpost_hmac_sha256(
    const unsigned char *key, size_t key_length, const unsigned char *data, size_t length, unsigned char *out) {
    size_t written = 0;
    return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_length, data, length, out, 32, &written) != NULL &&
           written == 32;
}
