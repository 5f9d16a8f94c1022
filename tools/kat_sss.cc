// `relaycell kat sss FILE...`: Shamir known answers in the shape of draft-mcgrew-tss vectors:
//   {"field_polynomial": "0x11b", "threshold": k, "secret": hex, "shares": [hex(x || y), ...]}
// Every k-subset of the shares must reconstruct the secret; each subset counts as one vector.
#include <string>
#include <vector>

#include "engine/dske/sss.h"
#include "tools/kat.h"

namespace relaycell::tools {
namespace {

bool RunSssFile(const nlohmann::json& document, KatTally& tally, std::string& error) {
  const std::vector<nlohmann::json> cases = document.is_array()
                                                ? document.get<std::vector<nlohmann::json>>()
                                                : std::vector<nlohmann::json>{document};
  for (const nlohmann::json& c : cases) {
    if (!c.is_object() || !c.contains("field_polynomial") || !c["field_polynomial"].is_string() ||
        !c.contains("threshold") || !c["threshold"].is_number_unsigned() || !c.contains("shares") ||
        !c["shares"].is_array()) {
      error = "need field_polynomial, threshold, secret, shares";
      return false;
    }
    const std::string poly = c["field_polynomial"].get<std::string>();
    if (poly != "0x11b" && poly != "0x11B") {
      error = "only field_polynomial 0x11b is supported, got " + poly;
      return false;
    }
    const unsigned k = c["threshold"].get<unsigned>();
    std::vector<unsigned char> secret;
    if (!HexField(c, "secret", secret, error)) return false;
    std::vector<uint8_t> xs;
    std::vector<std::vector<unsigned char>> ys;
    for (const nlohmann::json& s : c["shares"]) {
      std::vector<unsigned char> share;
      if (!s.is_string() || !DecodeHex(s.get<std::string>(), share) ||
          share.size() != secret.size() + 1) {
        error = "a share is not hex of x || y with y as long as the secret";
        return false;
      }
      xs.push_back(share[0]);
      ys.emplace_back(share.begin() + 1, share.end());
    }
    const size_t n = xs.size();
    if (k < 1 || k > n || n > sss::kMaxShares || secret.empty()) {
      error = "threshold must be 1..number of shares, secret non-empty";
      return false;
    }
    // Every k-subset, as a bitmask walk over index combinations.
    std::vector<size_t> pick(k);
    for (size_t i = 0; i < k; ++i) pick[i] = i;
    for (;;) {
      std::vector<uint8_t> sub_x(k);
      std::vector<const uint8_t*> sub_y(k);
      std::string label = "k=" + std::to_string(k) + " subset x={";
      for (size_t i = 0; i < k; ++i) {
        sub_x[i] = xs[pick[i]];
        sub_y[i] = ys[pick[i]].data();
        label += (i ? "," : "") + std::to_string(sub_x[i]);
      }
      label += "}";
      std::vector<uint8_t> got(secret.size());
      const sss::SssError e = sss::Combine(sub_x, sub_y, got);
      if (e != sss::SssError::kOk) {
        tally.Fail(label + ": " + sss::SssErrorName(e));
      } else if (got != std::vector<uint8_t>(secret.begin(), secret.end())) {
        tally.Fail(label + ": reconstructed " + EncodeHex(got.data(), got.size()));
      } else {
        tally.Pass();
      }
      size_t i = k;
      while (i > 0 && pick[i - 1] == n - k + (i - 1)) --i;
      if (i == 0) break;
      ++pick[i - 1];
      for (size_t j = i; j < k; ++j) pick[j] = pick[j - 1] + 1;
    }
  }
  return true;
}

const bool registered = RegisterKatKind(
    {"sss", "Shamir over GF(2^8)/0x11B: every k-subset of the shares gives the secret",
     RunSssFile});

}  // namespace
}  // namespace relaycell::tools
