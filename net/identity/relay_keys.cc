#include "net/identity/relay_keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace relaycell::net {
namespace {

constexpr size_t kSecretsBytes = kIdentitySecretBytes + kOnionKeyBytes;
constexpr size_t kOnionMessageBytes = kOnionCertLabel.size() + kOnionKeyBytes;

bool SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

bool SetError(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

std::string Errno() { return std::strerror(errno); }

std::string PathOf(const std::string& dir, std::string_view file) {
  std::string path = dir;
  if (path.empty() || path.back() != '/') path += '/';
  path += file;
  return path;
}

std::array<uint8_t, kOnionMessageBytes> OnionCertMessage(
    std::span<const uint8_t, 32> onion_public) {
  std::array<uint8_t, kOnionMessageBytes> message;
  std::memcpy(message.data(), kOnionCertLabel.data(), kOnionCertLabel.size());
  std::memcpy(message.data() + kOnionCertLabel.size(), onion_public.data(), kOnionKeyBytes);
  return message;
}

// A file descriptor closed when it goes.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool Close() { return close(std::exchange(fd_, -1)) == 0; }

 private:
  int fd_;
};

bool WriteAll(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Opens `path` for a new key file: refuses to replace one.
int CreateKeyFile(const std::string& path) {
  return open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

// Both halves of a key file, one write each (from wherever they live), then fsync.
bool FillKeyFile(Fd& fd, std::span<const uint8_t> first, std::span<const uint8_t> second) {
  // The umask can only take bits away from 0600; make sure the owner can read it back.
  return fchmod(fd.get(), 0600) == 0 && WriteAll(fd.get(), first.data(), first.size()) &&
         WriteAll(fd.get(), second.data(), second.size()) && fsync(fd.get()) == 0 && fd.Close();
}

// Reads the 64-byte key file at `path` into `out` (locked memory), after checking what the
// file is: a regular file, no group or other permission bit, exactly 64 bytes.
bool ReadKeyFile(const std::string& path, uint8_t* out, std::string* error) {
  Fd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return SetError(error, path + ": cannot open: " + Errno());
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return SetError(error, path + ": cannot stat: " + Errno());
  if (!S_ISREG(st.st_mode)) return SetError(error, path + ": not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return SetError(error, path + ": mode " + mode +
                               " gives group or other access; a key file must be 0600 or "
                               "stricter (chmod 600 " +
                               path + ")");
  }
  if (st.st_size != static_cast<off_t>(kKeyFileBytes)) {
    return SetError(error, path + ": " + std::to_string(st.st_size) + " bytes, expected " +
                               std::to_string(kKeyFileBytes));
  }
  size_t got = 0;
  while (got < kKeyFileBytes) {
    const ssize_t n = read(fd.get(), out + got, kKeyFileBytes - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SetError(error, path + ": cannot read: " + Errno());
    if (n == 0) return SetError(error, path + ": shorter than " + std::to_string(kKeyFileBytes));
    got += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

RelayKeys::RelayKeys(RelayKeys&& other) noexcept
    : identity(other.identity),
      onion_public(other.onion_public),
      onion_cert(other.onion_cert),
      secrets_(std::exchange(other.secrets_, nullptr)) {
  other.identity = {};
  other.onion_public = {};
  other.onion_cert = {};
}

RelayKeys& RelayKeys::operator=(RelayKeys&& other) noexcept {
  if (this != &other) {
    Wipe();
    identity = std::exchange(other.identity, {});
    onion_public = std::exchange(other.onion_public, {});
    onion_cert = std::exchange(other.onion_cert, {});
    secrets_ = std::exchange(other.secrets_, nullptr);
  }
  return *this;
}

std::span<const uint8_t, kIdentitySecretBytes> RelayKeys::identity_secret() const {
  if (secrets_ == nullptr) __builtin_trap();
  return std::span<const uint8_t, kIdentitySecretBytes>(secrets_, kIdentitySecretBytes);
}

std::span<const uint8_t, kOnionKeyBytes> RelayKeys::onion_secret() const {
  if (secrets_ == nullptr) __builtin_trap();
  return std::span<const uint8_t, kOnionKeyBytes>(secrets_ + kIdentitySecretBytes, kOnionKeyBytes);
}

void RelayKeys::Wipe() {
  if (secrets_ != nullptr) sodium_free(secrets_);  // sodium_free wipes the region first
  secrets_ = nullptr;
  identity = {};
  onion_public = {};
  onion_cert = {};
}

bool RelayKeys::AllocateSecrets() {
  Wipe();
  if (!SodiumReady()) return false;
  secrets_ = static_cast<uint8_t*>(sodium_malloc(kSecretsBytes));
  if (secrets_ == nullptr) return false;
  sodium_memzero(secrets_, kSecretsBytes);
  return true;
}

bool SignOnionCert(std::span<const uint8_t, 64> identity_secret,
                   std::span<const uint8_t, 32> onion_public, std::span<uint8_t, 64> onion_cert) {
  if (!SodiumReady()) return false;
  const auto message = OnionCertMessage(onion_public);
  return crypto_sign_detached(onion_cert.data(), nullptr, message.data(), message.size(),
                              identity_secret.data()) == 0;
}

bool VerifyOnionCert(std::span<const uint8_t, 32> identity,
                     std::span<const uint8_t, 32> onion_public,
                     std::span<const uint8_t, 64> onion_cert) {
  if (!SodiumReady()) return false;
  const auto message = OnionCertMessage(onion_public);
  return crypto_sign_verify_detached(onion_cert.data(), message.data(), message.size(),
                                     identity.data()) == 0;
}

bool GenerateRelayKeys(RelayKeys& out) {
  if (!out.AllocateSecrets()) return false;
  uint8_t* secrets = out.mutable_secrets();
  uint8_t* onion_secret = secrets + kIdentitySecretBytes;
  if (crypto_sign_keypair(out.identity.data(), secrets) != 0) {
    out.Wipe();
    return false;
  }
  randombytes_buf(onion_secret, kOnionKeyBytes);
  crypto_scalarmult_base(out.onion_public.data(), onion_secret);
  if (!SignOnionCert(out.identity_secret(), out.onion_public, out.onion_cert)) {
    out.Wipe();
    return false;
  }
  return true;
}

bool WriteRelayKeys(const std::string& dir, const RelayKeys& keys, std::string* error) {
  if (!keys.has_secrets()) return SetError(error, "no keys to write to " + dir);
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return SetError(error, dir + ": cannot create the directory: " + Errno());
  }
  const std::string identity_path = PathOf(dir, kIdentityKeyFile);
  const std::string onion_path = PathOf(dir, kOnionKeyFile);
  // Both created before either is written: a refusal leaves nothing behind.
  Fd identity_fd(CreateKeyFile(identity_path));
  if (identity_fd.get() < 0) {
    const std::string reason =
        errno == EEXIST ? std::string(" (exists; not overwritten)") : ": " + Errno();
    return SetError(error, identity_path + ": cannot create" + reason);
  }
  Fd onion_fd(CreateKeyFile(onion_path));
  if (onion_fd.get() < 0) {
    const std::string reason =
        errno == EEXIST ? std::string(" (exists; not overwritten)") : ": " + Errno();
    unlink(identity_path.c_str());
    return SetError(error, onion_path + ": cannot create" + reason);
  }
  const std::span<const uint8_t> identity_secret = keys.identity_secret();
  if (!FillKeyFile(identity_fd, identity_secret.first(32), identity_secret.subspan(32))) {
    const std::string reason = Errno();
    unlink(identity_path.c_str());
    unlink(onion_path.c_str());
    return SetError(error, identity_path + ": cannot write: " + reason);
  }
  if (!FillKeyFile(onion_fd, keys.onion_secret(), keys.onion_public)) {
    const std::string reason = Errno();
    unlink(identity_path.c_str());
    unlink(onion_path.c_str());
    return SetError(error, onion_path + ": cannot write: " + reason);
  }
  return true;
}

bool LoadRelayKeys(const std::string& dir, RelayKeys& out, std::string* error) {
  if (!out.AllocateSecrets()) return SetError(error, "no locked memory for the relay's keys");
  // The files' raw contents, secrets included, go to locked memory too (sodium_free wipes).
  uint8_t* file = static_cast<uint8_t*>(sodium_malloc(2 * kKeyFileBytes));
  if (file == nullptr) {
    out.Wipe();
    return SetError(error, "no locked memory for the relay's keys");
  }
  uint8_t* identity_file = file;
  uint8_t* onion_file = file + kKeyFileBytes;
  const std::string identity_path = PathOf(dir, kIdentityKeyFile);
  const std::string onion_path = PathOf(dir, kOnionKeyFile);
  bool ok = ReadKeyFile(identity_path, identity_file, error) &&
            ReadKeyFile(onion_path, onion_file, error);
  uint8_t* secrets = out.mutable_secrets();
  if (ok) {
    // identity_key: seed | ID. The ID derived from the seed must be the one stored.
    crypto_sign_seed_keypair(out.identity.data(), secrets, identity_file);
    if (sodium_memcmp(out.identity.data(), identity_file + 32, kIdentityBytes) != 0) {
      ok = SetError(error, identity_path + ": the public key does not match the secret seed");
    }
  }
  if (ok) {
    // onion_key: secret | public. The public key derived from the secret must be the one stored.
    std::memcpy(secrets + kIdentitySecretBytes, onion_file, kOnionKeyBytes);
    crypto_scalarmult_base(out.onion_public.data(), secrets + kIdentitySecretBytes);
    if (sodium_memcmp(out.onion_public.data(), onion_file + kOnionKeyBytes, kOnionKeyBytes) != 0) {
      ok = SetError(error, onion_path + ": the public key does not match the secret key");
    }
  }
  if (ok && !SignOnionCert(out.identity_secret(), out.onion_public, out.onion_cert)) {
    ok = SetError(error, "cannot sign the onion key");
  }
  sodium_free(file);
  if (!ok) out.Wipe();
  return ok;
}

}  // namespace relaycell::net
