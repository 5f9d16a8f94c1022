// AEZ v5 reference (see aez_reference.h). Clarity over speed; byte strings throughout.
#include "engine/aez/aez_reference.h"

#include <array>
#include <cstring>

#include "kernels/aes_rounds.h"

namespace relaycell::aez_reference {
namespace {

using Block = std::array<uint8_t, 16>;

Block Load(const uint8_t* p) {
  Block b;
  std::memcpy(b.data(), p, 16);
  return b;
}
Block Xor(const Block& a, const Block& b) {
  Block r;
  for (int k = 0; k < 16; ++k) r[k] = a[k] ^ b[k];
  return r;
}
// 2·x: shift the big-endian 128-bit integer left, fold 0x87 into the last byte on carry.
Block Double(const Block& x) {
  Block r;
  for (int k = 0; k < 15; ++k) r[k] = static_cast<uint8_t>(x[k] << 1 | x[k + 1] >> 7);
  r[15] = static_cast<uint8_t>(x[15] << 1 ^ ((x[0] >> 7) ? 0x87 : 0));
  return r;
}
Block Multiply(uint64_t k, const Block& x) {
  Block sum{}, power = x;
  for (; k != 0; k >>= 1, power = Double(power)) {
    if (k & 1) sum = Xor(sum, power);
  }
  return sum;
}
Block Pad(std::span<const uint8_t> x) {  // x || 10*, |x| < 16
  Block b{};
  if (!x.empty()) std::memcpy(b.data(), x.data(), x.size());
  b[x.size()] = 0x80;
  return b;
}
Block Counter(uint64_t i) {
  Block b{};
  for (int k = 0; k < 8; ++k) b[15 - k] = static_cast<uint8_t>(i >> (8 * k));
  return b;
}

struct Keys {
  Block i, j, l;
  explicit Keys(Key key)
      : i(Load(key.data())), j(Load(key.data() + 16)), l(Load(key.data() + 32)) {}
};

Block Rounds(Block x, std::span<const Block> round_keys) {
  for (const Block& k : round_keys) kernels::AesRoundReference(x.data(), k.data(), x.data());
  return x;
}

Block EBlock(Key key, int j, uint64_t i, const Block& x) {
  const Keys k(key);
  if (j == -1) {
    const Block schedule[10] = {k.i, k.j, k.l, k.i, k.j, k.l, k.i, k.j, k.l, k.i};
    return Rounds(Xor(x, Multiply(i, k.l)), schedule);
  }
  Block ipow = k.i;
  for (uint64_t n = 0; n < (i + 7) / 8; ++n) ipow = Double(ipow);
  const Block offset = Xor(Xor(Multiply(uint64_t(j), k.j), ipow), Multiply(i % 8, k.l));
  const Block schedule[4] = {k.j, k.i, k.l, Block{}};
  return Rounds(Xor(x, offset), schedule);
}

// AEZ-core, d = 0 (encipher) or 1 (decipher).
std::vector<uint8_t> Core(Key key, const Block& delta, std::span<const uint8_t> x, int d) {
  const size_t n = x.size();
  const size_t m = (n - 32) / 32;  // block pairs
  const size_t frag = n - 32 - 32 * m;
  std::vector<uint8_t> out(n);
  std::vector<Block> w(m + 1), xs(m + 1);
  Block sum_x{};
  for (size_t i = 1; i <= m; ++i) {
    const Block xi = Load(&x[32 * (i - 1)]), xpi = Load(&x[32 * (i - 1) + 16]);
    w[i] = Xor(xi, EBlock(key, 1, i, xpi));
    xs[i] = Xor(xpi, EBlock(key, 0, 0, w[i]));
    sum_x = Xor(sum_x, xs[i]);
  }
  const std::span<const uint8_t> xuv = x.subspan(32 * m, frag);
  if (frag > 0 && frag < 16) {
    sum_x = Xor(sum_x, EBlock(key, 0, 4, Pad(xuv)));
  } else if (frag >= 16) {
    sum_x = Xor(sum_x, EBlock(key, 0, 4, Load(xuv.data())));
    sum_x = Xor(sum_x, EBlock(key, 0, 5, Pad(xuv.subspan(16))));
  }
  const Block xx = Load(&x[n - 32]), xy = Load(&x[n - 16]);
  const Block sx = Xor(Xor(xx, delta), Xor(sum_x, EBlock(key, 0, 1 + d, xy)));
  const Block sy = Xor(xy, EBlock(key, -1, 1 + d, sx));
  const Block s = Xor(sx, sy);
  Block sum_y{};
  for (size_t i = 1; i <= m; ++i) {
    const Block sp = EBlock(key, 2, i, s);
    const Block yi = Xor(w[i], sp), ypi = Xor(xs[i], sp);
    sum_y = Xor(sum_y, yi);
    const Block zpi = Xor(yi, EBlock(key, 0, 0, ypi));
    const Block zi = Xor(ypi, EBlock(key, 1, i, zpi));
    std::memcpy(&out[32 * (i - 1)], zi.data(), 16);
    std::memcpy(&out[32 * (i - 1) + 16], zpi.data(), 16);
  }
  if (frag > 0 && frag < 16) {
    const Block pad = EBlock(key, -1, 4, s);
    uint8_t cuv[16] = {};
    for (size_t k = 0; k < frag; ++k) cuv[k] = xuv[k] ^ pad[k];
    std::memcpy(&out[32 * m], cuv, frag);
    sum_y = Xor(sum_y, EBlock(key, 0, 4, Pad(std::span<const uint8_t>(cuv, frag))));
  } else if (frag >= 16) {
    const Block cu = Xor(Load(xuv.data()), EBlock(key, -1, 4, s));
    const Block pad = EBlock(key, -1, 5, s);
    uint8_t cv[16] = {};
    for (size_t k = 0; k + 16 < frag; ++k) cv[k] = xuv[16 + k] ^ pad[k];
    std::memcpy(&out[32 * m], cu.data(), 16);
    std::memcpy(&out[32 * m + 16], cv, frag - 16);
    sum_y = Xor(sum_y, EBlock(key, 0, 4, cu));
    sum_y = Xor(sum_y, EBlock(key, 0, 5, Pad(std::span<const uint8_t>(cv, frag - 16))));
  }
  const Block cy = Xor(sx, EBlock(key, -1, 2 - d, sy));
  const Block cx = Xor(Xor(sy, delta), Xor(sum_y, EBlock(key, 0, 2 - d, cy)));
  std::memcpy(&out[n - 32], cx.data(), 16);
  std::memcpy(&out[n - 16], cy.data(), 16);
  return out;
}

// Bit b (0 = most significant of byte 0) of a byte string.
int GetBit(const std::vector<uint8_t>& s, size_t b) { return (s[b / 8] >> (7 - b % 8)) & 1; }
void SetBit(std::vector<uint8_t>& s, size_t b, int v) {
  s[b / 8] = static_cast<uint8_t>((s[b / 8] & ~(0x80 >> (b % 8))) | (v << (7 - b % 8)));
}

// A half of h bits as a 16-byte block: the bits, then 1, then zeros.
Block HalfPadded(const std::vector<uint8_t>& half_bits, size_t h) {
  std::vector<uint8_t> b(16, 0);
  for (size_t k = 0; k < h; ++k) SetBit(b, k, GetBit(half_bits, k));
  SetBit(b, h, 1);
  return Load(b.data());
}

// AEZ-tiny on a bit level: halves of 4·|x| bits.
std::vector<uint8_t> Tiny(Key key, const Block& delta, std::span<const uint8_t> x, int d) {
  const size_t n = x.size();
  const size_t rounds = n == 1 ? 24 : n == 2 ? 16 : n < 16 ? 10 : 8;
  const uint64_t k = n < 16 ? 7 : 6;
  const size_t h = 4 * n;  // bits per half
  std::vector<uint8_t> in(x.begin(), x.end());
  auto top_bit = [&](const std::vector<uint8_t>& v) {
    std::vector<uint8_t> b(16, 0);
    std::memcpy(b.data(), v.data(), n);
    b[0] |= 0x80;
    return EBlock(key, 0, 3, Xor(Load(b.data()), delta))[0] & 0x80;
  };
  if (d == 1 && n < 16) in[0] ^= top_bit(in);
  std::vector<uint8_t> left(16, 0), right(16, 0);
  for (size_t b = 0; b < h; ++b) {
    SetBit(left, b, GetBit(in, b));
    SetBit(right, b, GetBit(in, h + b));
  }
  auto f = [&](const std::vector<uint8_t>& src, std::vector<uint8_t>& dst, uint64_t j) {
    const Block e = EBlock(key, 0, k, Xor(Xor(HalfPadded(src, h), delta), Counter(j)));
    for (size_t b = 0; b < h; ++b) SetBit(dst, b, GetBit(dst, b) ^ ((e[b / 8] >> (7 - b % 8)) & 1));
  };
  for (size_t t = 0; t < rounds / 2; ++t) {
    if (d == 0) {
      f(right, left, 2 * t);
      f(left, right, 2 * t + 1);
    } else {
      f(right, left, rounds - 1 - 2 * t);
      f(left, right, rounds - 2 - 2 * t);
    }
  }
  std::vector<uint8_t> out(n, 0);
  for (size_t b = 0; b < h; ++b) {
    SetBit(out, b, GetBit(right, b));
    SetBit(out, h + b, GetBit(left, b));
  }
  if (d == 0 && n < 16) out[0] ^= top_bit(out);
  return out;
}

std::vector<uint8_t> Cipher(Key key, const uint8_t delta[16], std::span<const uint8_t> x, int d) {
  if (x.empty()) return {};
  if (x.size() < 32) return Tiny(key, Load(delta), x, d);
  return Core(key, Load(delta), x, d);
}

}  // namespace

void E(Key key, int j, uint64_t i, const uint8_t x[16], uint8_t out[16]) {
  const Block r = EBlock(key, j, i, Load(x));
  std::memcpy(out, r.data(), 16);
}

void Hash(Key key, size_t tau_bytes, Strings strings, uint8_t delta[16]) {
  Block sum = EBlock(key, 3, 1, Counter(uint64_t{tau_bytes} * 8));
  for (size_t p = 0; p < strings.size(); ++p) {
    const int j = static_cast<int>(4 + p);
    const std::span<const uint8_t> s = strings[p];
    size_t i = 1, at = 0;
    for (; s.size() - at >= 16; at += 16, ++i) sum = Xor(sum, EBlock(key, j, i, Load(&s[at])));
    if (at < s.size() || s.empty()) sum = Xor(sum, EBlock(key, j, 0, Pad(s.subspan(at))));
  }
  std::memcpy(delta, sum.data(), 16);
}

std::vector<uint8_t> Prf(Key key, const uint8_t delta[16], size_t bytes) {
  std::vector<uint8_t> out;
  for (uint64_t i = 0; out.size() < bytes; ++i) {
    const Block b = EBlock(key, -1, 3, Xor(Load(delta), Counter(i)));
    out.insert(out.end(), b.begin(), b.begin() + std::min<size_t>(16, bytes - out.size()));
  }
  return out;
}

std::vector<uint8_t> Encipher(Key key, const uint8_t delta[16], std::span<const uint8_t> x) {
  return Cipher(key, delta, x, 0);
}
std::vector<uint8_t> Decipher(Key key, const uint8_t delta[16], std::span<const uint8_t> x) {
  return Cipher(key, delta, x, 1);
}

namespace {
void TweakHash(Key key, size_t tau, std::span<const uint8_t> nonce, Strings ad, uint8_t delta[16]) {
  std::vector<std::span<const uint8_t>> strings{nonce};
  strings.insert(strings.end(), ad.begin(), ad.end());
  Hash(key, tau, strings, delta);
}
}  // namespace

std::vector<uint8_t> Encrypt(Key key, std::span<const uint8_t> nonce, Strings ad, size_t tau,
                             std::span<const uint8_t> m) {
  uint8_t delta[16];
  TweakHash(key, tau, nonce, ad, delta);
  if (m.empty()) return Prf(key, delta, tau);
  std::vector<uint8_t> x(m.begin(), m.end());
  x.resize(m.size() + tau, 0);
  return Encipher(key, delta, x);
}

std::optional<std::vector<uint8_t>> Decrypt(Key key, std::span<const uint8_t> nonce, Strings ad,
                                            size_t tau, std::span<const uint8_t> c) {
  if (c.size() < tau) return std::nullopt;
  uint8_t delta[16];
  TweakHash(key, tau, nonce, ad, delta);
  if (c.size() == tau) {
    if (Prf(key, delta, tau) != std::vector<uint8_t>(c.begin(), c.end())) return std::nullopt;
    return std::vector<uint8_t>{};
  }
  std::vector<uint8_t> x = Decipher(key, delta, c);
  for (size_t k = c.size() - tau; k < c.size(); ++k) {
    if (x[k] != 0) return std::nullopt;
  }
  x.resize(c.size() - tau);
  return x;
}

}  // namespace relaycell::aez_reference
