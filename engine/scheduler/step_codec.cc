#include "engine/scheduler/step_codec.h"

#include <cstring>
#include <vector>

namespace engine {
namespace {

using cluster::InvalidArgumentError;

// No message carries more than this many values in one array: a step of a
// million tokens is beyond any prepared limit, so a larger count is corruption.
constexpr std::uint32_t kMaxArray = 1u << 26;

class Writer {
 public:
  void Byte(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void I32(std::int32_t v) { U32(static_cast<std::uint32_t>(v)); }
  void I64(std::int64_t v) {
    U32(static_cast<std::uint32_t>(static_cast<std::uint64_t>(v) & 0xffffffffu));
    U32(static_cast<std::uint32_t>(static_cast<std::uint64_t>(v) >> 32));
  }
  void Ints(const std::vector<std::int32_t>& v) {
    U32(static_cast<std::uint32_t>(v.size()));
    for (std::int32_t x : v) I32(x);
  }
  void Floats(const std::vector<float>& v) {
    U32(static_cast<std::uint32_t>(v.size()));
    const std::size_t at = out_.size();
    out_.resize(at + v.size() * 4);
    if (!v.empty()) std::memcpy(out_.data() + at, v.data(), v.size() * 4);  // x86-64 and aarch64: little-endian
  }
  void Text(std::string_view s) {
    U32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view bytes) : in_(bytes) {}

  Status Need(std::size_t n, const char* what) const {
    if (in_.size() - at_ < n) {
      return InvalidArgumentError(std::string("step message: truncated in ") + what);
    }
    return Status::Ok();
  }
  StatusOr<std::uint8_t> Byte(const char* what) {
    CLUSTER_RETURN_IF_ERROR(Need(1, what));
    return static_cast<std::uint8_t>(in_[at_++]);
  }
  StatusOr<std::uint32_t> U32(const char* what) {
    CLUSTER_RETURN_IF_ERROR(Need(4, what));
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in_[at_ + i])) << (8 * i);
    at_ += 4;
    return v;
  }
  StatusOr<std::int64_t> I64(const char* what) {
    CLUSTER_ASSIGN_OR_RETURN(std::uint32_t low, U32(what));
    CLUSTER_ASSIGN_OR_RETURN(std::uint32_t high, U32(what));
    return static_cast<std::int64_t>((static_cast<std::uint64_t>(high) << 32) | low);
  }
  StatusOr<std::uint32_t> Count(const char* what, std::size_t element_bytes) {
    CLUSTER_ASSIGN_OR_RETURN(std::uint32_t n, U32(what));
    if (n > kMaxArray) return InvalidArgumentError(std::string("step message: ") + what + " has too many entries");
    CLUSTER_RETURN_IF_ERROR(Need(static_cast<std::size_t>(n) * element_bytes, what));
    return n;
  }
  StatusOr<std::vector<std::int32_t>> Ints(const char* what) {
    CLUSTER_ASSIGN_OR_RETURN(std::uint32_t n, Count(what, 4));
    std::vector<std::int32_t> v(n);
    for (auto& x : v) x = static_cast<std::int32_t>(*U32(what));
    return v;
  }
  StatusOr<std::vector<float>> Floats(const char* what) {
    CLUSTER_ASSIGN_OR_RETURN(std::uint32_t n, Count(what, 4));
    std::vector<float> v(n);
    if (n > 0) std::memcpy(v.data(), in_.data() + at_, static_cast<std::size_t>(n) * 4);
    at_ += static_cast<std::size_t>(n) * 4;
    return v;
  }
  StatusOr<std::string> Text(const char* what) {
    CLUSTER_ASSIGN_OR_RETURN(std::uint32_t n, Count(what, 1));
    std::string s(in_.substr(at_, n));
    at_ += n;
    return s;
  }
  Status End() const {
    if (at_ != in_.size()) return InvalidArgumentError("step message: unexpected bytes after the end");
    return Status::Ok();
  }

 private:
  std::string_view in_;
  std::size_t at_ = 0;
};

}  // namespace

std::string EncodeStep(const StepMessage& m) {
  Writer w;
  w.Byte(static_cast<std::uint8_t>(m.kind));
  if (m.kind == StepMessage::Kind::kStop) return w.Take();
  const ForwardBatch& b = m.batch;
  w.Ints(b.token_ids);
  w.I32(b.attention.block_size);
  w.Ints(b.attention.token_seq);
  w.Ints(b.attention.positions);
  w.U32(static_cast<std::uint32_t>(b.attention.block_tables.size()));
  for (const auto& table : b.attention.block_tables) w.Ints(table);
  w.Ints(b.logit_rows);
  std::vector<std::int32_t> full(b.full_logits.begin(), b.full_logits.end());
  w.Ints(full);
  return w.Take();
}

StatusOr<StepMessage> DecodeStep(std::string_view bytes) {
  Reader r(bytes);
  StepMessage m;
  CLUSTER_ASSIGN_OR_RETURN(std::uint8_t kind, r.Byte("kind"));
  if (kind == static_cast<std::uint8_t>(StepMessage::Kind::kStop)) {
    m.kind = StepMessage::Kind::kStop;
    CLUSTER_RETURN_IF_ERROR(r.End());
    return m;
  }
  if (kind != static_cast<std::uint8_t>(StepMessage::Kind::kForward)) {
    return InvalidArgumentError("step message: unknown kind " + std::to_string(kind));
  }
  ForwardBatch& b = m.batch;
  CLUSTER_ASSIGN_OR_RETURN(b.token_ids, r.Ints("token ids"));
  CLUSTER_ASSIGN_OR_RETURN(std::uint32_t block_size, r.U32("block size"));
  b.attention.block_size = static_cast<int>(block_size);
  CLUSTER_ASSIGN_OR_RETURN(b.attention.token_seq, r.Ints("token sequences"));
  CLUSTER_ASSIGN_OR_RETURN(b.attention.positions, r.Ints("positions"));
  CLUSTER_ASSIGN_OR_RETURN(std::uint32_t tables, r.Count("block tables", 4));
  b.attention.block_tables.resize(tables);
  for (auto& table : b.attention.block_tables) {
    CLUSTER_ASSIGN_OR_RETURN(table, r.Ints("a block table"));
  }
  CLUSTER_ASSIGN_OR_RETURN(b.logit_rows, r.Ints("logit rows"));
  CLUSTER_ASSIGN_OR_RETURN(std::vector<std::int32_t> full, r.Ints("full-logits flags"));
  b.full_logits.assign(full.begin(), full.end());
  CLUSTER_RETURN_IF_ERROR(r.End());
  return m;
}

std::string EncodeLogits(const StatusOr<Logits>& logits) {
  Writer w;
  if (!logits.ok()) {
    w.Byte(0);
    w.I32(static_cast<std::int32_t>(logits.status().code()));
    w.Text(logits.status().message());
    return w.Take();
  }
  w.Byte(1);
  w.I64(logits->rows);
  w.I64(logits->vocab);
  w.Ints(logits->argmax);
  std::vector<std::int32_t> rows;
  for (std::int64_t v : logits->value_row) rows.push_back(static_cast<std::int32_t>(v));
  w.Ints(rows);
  w.Floats(logits->values);
  return w.Take();
}

StatusOr<StatusOr<Logits>> DecodeLogits(std::string_view bytes) {
  Reader r(bytes);
  CLUSTER_ASSIGN_OR_RETURN(std::uint8_t ok, r.Byte("result"));
  if (ok == 0) {
    CLUSTER_ASSIGN_OR_RETURN(std::uint32_t code, r.U32("status code"));
    CLUSTER_ASSIGN_OR_RETURN(std::string message, r.Text("status message"));
    CLUSTER_RETURN_IF_ERROR(r.End());
    if (code == 0 || code > static_cast<std::uint32_t>(cluster::StatusCode::kInternal)) code = static_cast<std::uint32_t>(cluster::StatusCode::kInternal);
    return StatusOr<Logits>(Status(static_cast<cluster::StatusCode>(code), std::move(message)));
  }
  if (ok != 1) return InvalidArgumentError("logits message: unknown result byte");
  Logits l;
  CLUSTER_ASSIGN_OR_RETURN(l.rows, r.I64("rows"));
  CLUSTER_ASSIGN_OR_RETURN(l.vocab, r.I64("vocab"));
  CLUSTER_ASSIGN_OR_RETURN(l.argmax, r.Ints("argmax"));
  CLUSTER_ASSIGN_OR_RETURN(std::vector<std::int32_t> rows, r.Ints("value rows"));
  CLUSTER_ASSIGN_OR_RETURN(l.values, r.Floats("values"));
  CLUSTER_RETURN_IF_ERROR(r.End());
  if (l.rows < 0 || l.vocab < 0 || l.vocab > kMaxArray || static_cast<std::int64_t>(l.argmax.size()) != l.rows ||
      static_cast<std::int64_t>(rows.size()) != l.rows) {
    return InvalidArgumentError("logits message: counts do not agree");
  }
  std::int64_t fetched = 0;
  for (std::int32_t v : rows) {
    if (v >= 0) {
      if (v != fetched) return InvalidArgumentError("logits message: value rows out of order");
      ++fetched;
    }
    l.value_row.push_back(v);
  }
  if (static_cast<std::int64_t>(l.values.size()) != fetched * l.vocab) {
    return InvalidArgumentError("logits message: " + std::to_string(l.values.size()) + " values for " +
                                std::to_string(fetched) + " rows of " + std::to_string(l.vocab));
  }
  return StatusOr<Logits>(std::move(l));
}

}  // namespace engine
