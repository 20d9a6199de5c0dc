// IncrementalDecoder (declared in tokenizer.h).
//
// Why holding back at most one unfinished character is enough: reading bytes
// as UTF-8 with maximal-subpart replacement never looks past the end of the
// character it is reading. So if the bytes so far end on a complete
// character, or on an ill-formed part that no later byte can rescue, decoding
// the rest later gives the same text as decoding everything at once. Only a
// valid-so-far prefix of a character at the very end
// (utf8::TruncatedTailLength) can still change; `pending_` keeps it.
// An added token's text is complete in itself and ends any unfinished
// character before it, exactly as in Decoder::Decode.
#include "engine/tokenizer/decoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace engine {

using tokenizer::Decoder;
namespace utf8 = tokenizer::utf8;

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens) {}

std::string IncrementalDecoder::Push(int32_t id) {
  const Decoder& decoder = tokenizer_.decoder();
  const Decoder::Kind kind = decoder.kind(id);
  std::string out;
  if (kind == Decoder::Kind::kNone) return out;
  if (skip_special_tokens_ && decoder.special(id)) return out;
  if (kind == Decoder::Kind::kVerbatim) {
    utf8::AppendLossy(pending_, &out);
    pending_.clear();
    out.append(decoder.bytes(id));
    return out;
  }
  pending_.append(decoder.bytes(id));
  const size_t held = utf8::TruncatedTailLength(pending_);
  utf8::AppendLossy(std::string_view(pending_).substr(0, pending_.size() - held), &out);
  pending_.erase(0, pending_.size() - held);
  return out;
}

std::string IncrementalDecoder::Flush() {
  std::string out;
  utf8::AppendLossy(pending_, &out);
  pending_.clear();
  return out;
}

}  // namespace engine
