#include "agent/stream_mac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace cluster::agent {

struct StreamMac::State {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* ctx = nullptr;
  ~State() {
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
  }
};

StreamMac::StreamMac(const std::string& key) : state_(std::make_unique<State>()) {
  state_->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  state_->ctx = state_->mac ? EVP_MAC_CTX_new(state_->mac) : nullptr;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  if (state_->ctx) EVP_MAC_init(state_->ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params);
}

StreamMac::~StreamMac() = default;

void StreamMac::Update(const void* data, std::size_t size) {
  if (state_->ctx) EVP_MAC_update(state_->ctx, static_cast<const unsigned char*>(data), size);
}

std::string StreamMac::Finish() {
  // Without a working MAC (no OpenSSL provider) the tag is empty, and Equal
  // with a real tag fails: the relay refuses rather than trusting unauthenticated bytes.
  unsigned char tag[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (!state_->ctx || EVP_MAC_final(state_->ctx, tag, &len, sizeof tag) != 1 || len != kTagSize) return "";
  return std::string(reinterpret_cast<char*>(tag), len);
}

bool StreamMac::Equal(const std::string& a, const std::string& b) {
  return a.size() == kTagSize && b.size() == kTagSize && CRYPTO_memcmp(a.data(), b.data(), kTagSize) == 0;
}

}  // namespace cluster::agent
