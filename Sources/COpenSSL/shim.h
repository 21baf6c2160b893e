// OpenSSL's libcrypto: message digests through EVP (MD5, SHA-256), RSA signature checks for BOINC code signing, and
// the system's random generator. Only libcrypto: TLS is swift-nio-ssl's.
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
