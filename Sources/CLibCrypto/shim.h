#ifndef MESHGATE_CLIBCRYPTO_SHIM_H
#define MESHGATE_CLIBCRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/opensslv.h>
#endif
