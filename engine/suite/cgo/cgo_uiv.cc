#include "engine/suite/cgo/cgo_uiv.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

namespace relaycell {
namespace {

// Jobs per pass (the stack arrays' size; more jobs loop).
constexpr size_t kPass = 64;

}  // namespace

CgoUiv::~CgoUiv() { sodium_memzero(keys_, sizeof keys_); }

void CgoUiv::SetKeys(std::span<const uint8_t, kCgoKeyBytes> keys) {
  et_.SetKeys(keys.first<kCgoEtKeyBytes>());
  prf_.SetKeys(keys.subspan<kCgoEtKeyBytes, kCgoPrfKeyBytes>());
  if (keys.data() != keys_) std::memmove(keys_, keys.data(), sizeof keys_);
}

void CgoUiv::EncryptMany(std::span<const Job> jobs) {
  for (size_t begin = 0; begin < jobs.size(); begin += kPass) {
    const size_t n = std::min(kPass, jobs.size() - begin);
    const Job* pass = jobs.data() + begin;
    CgoEt::Job et[kPass];
    CgoPrf::Job prf[kPass];
    for (size_t i = 0; i < n; ++i) {
      const Job& job = pass[i];
      uint8_t* x_l = job.body;
      uint8_t* x_r = job.body + kCgoBlockBytes;
      CgoEtTweak(std::span<const uint8_t, kCgoBlockBytes>(job.h, kCgoBlockBytes), job.cmd,
                 std::span<const uint8_t, kCgoRightBytes>(x_r, kCgoRightBytes), job.scratch->tweak);
      et[i] = {&job.uiv->et_, job.scratch->tweak, x_l, job.scratch->mask};
      prf[i] = {&job.uiv->prf_, x_l, x_r, kCgoPrfT0Bytes, 0, job.scratch->counter};
    }
    CgoEt::EncryptMany(std::span<const CgoEt::Job>(et, n));  // X_L under the tweak of X_R
    CgoPrf::XorMany(std::span<const CgoPrf::Job>(prf, n));   // then X_R under the new X_L
  }
}

void CgoUiv::DecryptMany(std::span<const Job> jobs) {
  for (size_t begin = 0; begin < jobs.size(); begin += kPass) {
    const size_t n = std::min(kPass, jobs.size() - begin);
    const Job* pass = jobs.data() + begin;
    CgoEt::Job et[kPass];
    CgoPrf::Job prf[kPass];
    for (size_t i = 0; i < n; ++i) {
      const Job& job = pass[i];
      prf[i] = {&job.uiv->prf_, job.body, job.body + kCgoBlockBytes,
                kCgoPrfT0Bytes, 0,        job.scratch->counter};
    }
    CgoPrf::XorMany(std::span<const CgoPrf::Job>(prf, n));  // X_R first, under the old X_L
    for (size_t i = 0; i < n; ++i) {
      const Job& job = pass[i];
      CgoEtTweak(
          std::span<const uint8_t, kCgoBlockBytes>(job.h, kCgoBlockBytes), job.cmd,
          std::span<const uint8_t, kCgoRightBytes>(job.body + kCgoBlockBytes, kCgoRightBytes),
          job.scratch->tweak);
      et[i] = {&job.uiv->et_, job.scratch->tweak, job.body, job.scratch->mask};
    }
    CgoEt::DecryptMany(std::span<const CgoEt::Job>(et, n));  // then X_L under the new X_R
  }
}

void CgoUiv::UpdateMany(std::span<const UpdateJob> jobs) {
  for (size_t begin = 0; begin < jobs.size(); begin += kPass) {
    const size_t n = std::min(kPass, jobs.size() - begin);
    const UpdateJob* pass = jobs.data() + begin;
    CgoPrf::Job prf[kPass];
    for (size_t i = 0; i < n; ++i) {
      const UpdateJob& job = pass[i];
      std::memset(job.scratch->tweak, 0, kCgoUpdateBytes);
      prf[i] = {&job.uiv->prf_,  job.nonce, job.scratch->tweak,
                kCgoUpdateBytes, 1,         job.scratch->counter};
    }
    CgoPrf::XorMany(std::span<const CgoPrf::Job>(prf, n));
    for (size_t i = 0; i < n; ++i) {
      const UpdateJob& job = pass[i];
      job.uiv->SetKeys(std::span<const uint8_t, kCgoKeyBytes>(job.scratch->tweak, kCgoKeyBytes));
      std::memcpy(job.nonce, job.scratch->tweak + kCgoKeyBytes, kCgoNonceBytes);
    }
  }
}

void CgoUiv::Encrypt(std::span<const uint8_t, kCgoBlockBytes> h, uint8_t cmd, CellBody body) const {
  CgoUivScratch scratch;
  const Job job{this, h.data(), body.data(), &scratch, cmd};
  EncryptMany({&job, 1});
  sodium_memzero(&scratch, sizeof scratch);
}

void CgoUiv::Decrypt(std::span<const uint8_t, kCgoBlockBytes> h, uint8_t cmd, CellBody body) const {
  CgoUivScratch scratch;
  const Job job{this, h.data(), body.data(), &scratch, cmd};
  DecryptMany({&job, 1});
  sodium_memzero(&scratch, sizeof scratch);
}

void CgoUiv::Update(std::span<uint8_t, kCgoNonceBytes> nonce) {
  CgoUivScratch scratch;
  const UpdateJob job{this, nonce.data(), &scratch};
  UpdateMany({&job, 1});
  sodium_memzero(&scratch, sizeof scratch);
}

}  // namespace relaycell
