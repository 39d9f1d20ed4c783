#include "iam/matcher.h"

#include "core/encoding.h"

namespace citadel::iam {
namespace {

inline unsigned char fold(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c + 32) : c;
}

void appendLiteral(std::vector<GlobUnit>& out, std::string_view text) {
  for (unsigned char c : text) out.push_back(static_cast<GlobUnit>(c));
}

void appendText(std::vector<GlobUnit>& out, std::string_view text, bool wildcards) {
  for (unsigned char c : text) {
    if (wildcards && c == '*') {
      out.push_back(kGlobStar);
    } else if (wildcards && c == '?') {
      out.push_back(kGlobAny);
    } else {
      out.push_back(static_cast<GlobUnit>(c));
    }
  }
}

// Parses the inside of `${...}`: a key, optionally followed by `, 'default'`.
bool parseVariable(std::string_view body, std::string& key, bool& has_default,
                   std::string& default_value) {
  auto comma = body.find(',');
  std::string_view k = trim(body.substr(0, comma));
  if (k.empty()) return false;
  key = toLower(k);
  has_default = false;
  if (comma != std::string_view::npos) {
    std::string_view d = trim(body.substr(comma + 1));
    if (d.size() < 2 || d.front() != '\'' || d.back() != '\'') return false;
    has_default = true;
    default_value = std::string(d.substr(1, d.size() - 2));
  }
  return true;
}

}  // namespace

bool globMatch(const GlobUnit* p, size_t n, std::string_view s, bool ci) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < n && p[pi] != kGlobStar) {
      bool ok;
      if (p[pi] == kGlobAny) {
        ok = true;
      } else {
        auto a = static_cast<unsigned char>(p[pi]);
        auto b = static_cast<unsigned char>(s[si]);
        ok = ci ? fold(a) == fold(b) : a == b;
      }
      if (ok) {
        ++pi;
        ++si;
        continue;
      }
    } else if (pi < n) {  // star
      star = pi++;
      mark = si;
      continue;
    }
    if (star == std::string_view::npos) return false;
    pi = star + 1;
    si = ++mark;
  }
  while (pi < n && p[pi] == kGlobStar) ++pi;
  return pi == n;
}

Pattern Pattern::compile(std::string_view text, bool wildcards, bool variables) {
  Pattern pat;
  pat.all_ = wildcards && text == "*";
  std::vector<Piece> pieces;
  Piece lit;
  bool any_var = false;
  size_t i = 0;
  while (i < text.size()) {
    if (variables && text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      auto close = text.find('}', i + 2);
      if (close != std::string_view::npos) {
        std::string_view body = text.substr(i + 2, close - i - 2);
        if (body == "*" || body == "?" || body == "$") {
          appendLiteral(lit.units, body);  // AWS: ${*} ${?} ${$} stand for the literal char
          i = close + 1;
          continue;
        }
        Piece var;
        var.is_variable = true;
        if (parseVariable(body, var.key, var.has_default, var.default_value)) {
          if (!lit.units.empty()) pieces.push_back(std::move(lit));
          lit = Piece{};
          pieces.push_back(std::move(var));
          any_var = true;
          i = close + 1;
          continue;
        }
      }
    }
    appendText(lit.units, text.substr(i, 1), wildcards);
    ++i;
  }
  if (any_var) {
    if (!lit.units.empty()) pieces.push_back(std::move(lit));
    pat.pieces_ = std::move(pieces);
  } else {
    pat.flat_ = std::move(lit.units);
  }
  return pat;
}

bool Pattern::match(std::string_view s, const ContextKeys* ctx, bool ci) const {
  if (all_) return true;
  if (pieces_.empty()) return globMatch(flat_.data(), flat_.size(), s, ci);
  thread_local std::vector<GlobUnit> buf;
  buf.clear();
  for (const Piece& piece : pieces_) {
    if (!piece.is_variable) {
      buf.insert(buf.end(), piece.units.begin(), piece.units.end());
      continue;
    }
    const std::vector<std::string>* v = ctx ? ctx->findLower(piece.key) : nullptr;
    if (v != nullptr && v->size() == 1) {
      appendLiteral(buf, v->front());  // substituted values are literal text
    } else if (piece.has_default) {
      appendLiteral(buf, piece.default_value);
    } else {
      return false;  // AWS: an unresolvable variable makes the element not match
    }
  }
  return globMatch(buf.data(), buf.size(), s, ci);
}

bool splitArn(std::string_view arn, std::array<std::string_view, 6>& parts) {
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    auto c = arn.find(':', start);
    if (c == std::string_view::npos) return false;
    parts[i] = arn.substr(start, c - start);
    start = c + 1;
  }
  parts[5] = arn.substr(start);
  return true;
}

ActionPattern ActionPattern::compile(std::string_view text) {
  ActionPattern a;
  if (text == "*") {
    a.all_ = true;
    return a;
  }
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    a.whole_ = true;
    a.name_ = Pattern::compile(text, true, false);
    return a;
  }
  a.service_ = Pattern::compile(text.substr(0, colon), true, false);
  a.name_ = Pattern::compile(text.substr(colon + 1), true, false);
  return a;
}

bool ActionPattern::match(std::string_view action) const {
  if (all_) return true;
  if (whole_) return name_.match(action, nullptr, true);
  auto colon = action.find(':');
  if (colon == std::string_view::npos) return false;
  return service_.match(action.substr(0, colon), nullptr, true) &&
         name_.match(action.substr(colon + 1), nullptr, true);
}

ArnPattern ArnPattern::compile(std::string_view text, bool variables) {
  ArnPattern a;
  if (text == "*") {
    a.all_ = true;
    return a;
  }
  std::array<std::string_view, 6> parts;
  if (splitArn(text, parts)) {
    a.segmented_ = true;
    for (size_t i = 0; i < 6; ++i) a.parts_[i] = Pattern::compile(parts[i], true, variables);
  } else {
    a.whole_ = Pattern::compile(text, true, variables);
  }
  return a;
}

bool ArnPattern::match(std::string_view arn, const ContextKeys* ctx) const {
  if (all_) return true;
  if (!segmented_) return whole_.match(arn, ctx, false);
  std::array<std::string_view, 6> parts;
  if (!splitArn(arn, parts)) return false;
  for (size_t i = 0; i < 6; ++i) {
    if (!parts_[i].match(parts[i], ctx, false)) return false;
  }
  return true;
}

}  // namespace citadel::iam
