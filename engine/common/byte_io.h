// Big-endian bytes, read and written with the length always checked: the one place every
// parser and builder of a wire format (cells, relay headers, open parameters, REKEY bodies,
// DSKE messages) gets its integers from.
//
//   ByteReader r(body);                       ByteWriter w(out);
//   uint16_t length; std::span<const uint8_t> data;
//   if (!r.BigEndian(length) || !r.View(length, data)) return kTruncated;
//   w.BigEndian(uint16_t{7}); w.Bytes(data);   if (!w.ok()) ...  (a write past the end sets
//                                                                  ok() false, writes nothing)
// Fixed layouts (a field at a known offset of a fixed-size buffer) use LoadBe / StoreBe, whose
// offsets the caller's std::span extent bounds.
#ifndef RELAYCELL_ENGINE_COMMON_BYTE_IO_H_
#define RELAYCELL_ENGINE_COMMON_BYTE_IO_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

namespace relaycell {

// The big-endian unsigned T at data[at]; the caller's span covers it (checked in debug).
template <class T>
T LoadBe(std::span<const uint8_t> data, size_t at) {
  static_assert(std::is_unsigned_v<T>);
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>(v << 8 | data[at + i]);
  return v;
}

template <class T>
void StoreBe(T v, std::span<uint8_t> data, size_t at) {
  static_assert(std::is_unsigned_v<T>);
  for (size_t i = sizeof(T); i-- > 0;) {
    data[at + i] = static_cast<uint8_t>(v);
    v = static_cast<T>(v >> 8);
  }
}

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}
  bool U8(uint8_t& v) {
    if (left() < 1) return false;
    v = data_[at_++];
    return true;
  }
  template <class T>
  bool BigEndian(T& v) {
    if (left() < sizeof(T)) return false;
    v = LoadBe<T>(data_, at_);
    at_ += sizeof(T);
    return true;
  }
  bool Bytes(std::span<uint8_t> out) {
    if (left() < out.size()) return false;
    if (!out.empty()) std::memcpy(out.data(), data_.data() + at_, out.size());
    at_ += out.size();
    return true;
  }
  bool View(size_t n, std::span<const uint8_t>& out) {
    if (left() < n) return false;
    out = data_.subspan(at_, n);
    at_ += n;
    return true;
  }
  size_t left() const { return data_.size() - at_; }
  size_t offset() const { return at_; }

 private:
  std::span<const uint8_t> data_;
  size_t at_ = 0;
};

class ByteWriter {
 public:
  explicit ByteWriter(std::span<uint8_t> out) : out_(out) {}
  void U8(uint8_t v) {
    if (Room(1)) out_[at_++] = v;
  }
  template <class T>
  void BigEndian(T v) {
    if (!Room(sizeof(T))) return;
    StoreBe<T>(v, out_, at_);
    at_ += sizeof(T);
  }
  void Bytes(std::span<const uint8_t> bytes) {
    if (!Room(bytes.size())) return;
    if (!bytes.empty()) std::memcpy(out_.data() + at_, bytes.data(), bytes.size());
    at_ += bytes.size();
  }
  bool ok() const { return ok_; }
  size_t size() const { return at_; }

 private:
  bool Room(size_t n) {
    if (!ok_ || out_.size() - at_ < n) ok_ = false;
    return ok_;
  }
  std::span<uint8_t> out_;
  size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace relaycell

#endif  // RELAYCELL_ENGINE_COMMON_BYTE_IO_H_
