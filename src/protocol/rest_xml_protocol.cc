// The rest-xml protocol (S3 and friends): HTTP bindings plus an XML body.
// AWS: https://smithy.io/2.0/aws/protocols/aws-restxml-protocol.html

#include <boost/json.hpp>
#include <charconv>
#include <cstdlib>
#include <pugixml.hpp>
#include <string>
#include <string_view>

#include "core/encoding.h"
#include "core/time.h"
#include "protocol/internal.h"
#include "protocol/xml_writer.h"

namespace citadel::protocol::detail {
namespace json = boost::json;

namespace {

constexpr std::string_view kS3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";
constexpr std::string_view kXmlDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

AwsError malformedXml() {
  // AWS: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
  return AwsError{"MalformedXML",
                  "The XML you provided was not well-formed or did not validate against our "
                  "published schema",
                  400,
                  true,
                  {}};
}

/// Element name without a namespace prefix.
std::string_view localName(const char* raw) {
  std::string_view n(raw);
  if (auto colon = n.find(':'); colon != std::string_view::npos) return n.substr(colon + 1);
  return n;
}

bool nameIs(const pugi::xml_node& node, std::string_view want) {
  std::string_view raw(node.name());
  if (raw == want) return true;
  return want.find(':') == std::string_view::npos && localName(node.name()) == want;
}

pugi::xml_node childNamed(const pugi::xml_node& parent, std::string_view name) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_element && nameIs(c, name)) return c;
  return {};
}

/// Concatenated character data of an element (text and CDATA children).
std::string textOf(const pugi::xml_node& node) {
  std::string out;
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling())
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) out += c.value();
  return out;
}

Result<json::value> scalarFromText(const Member* m, const Shape& s, std::string_view text) {
  switch (s.type) {
    case ShapeType::kBoolean: {
      std::string_view t = trim(text);
      if (t == "true") return json::value(true);
      if (t == "false") return json::value(false);
      return malformedXml();
    }
    case ShapeType::kInteger:
    case ShapeType::kLong: {
      std::string_view t = trim(text);
      int64_t n = 0;
      auto r = std::from_chars(t.data(), t.data() + t.size(), n);
      if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size()) return malformedXml();
      return json::value(n);
    }
    case ShapeType::kFloat:
    case ShapeType::kDouble: {
      std::string tmp(trim(text));
      char* end = nullptr;
      double d = std::strtod(tmp.c_str(), &end);
      if (tmp.empty() || end != tmp.c_str() + tmp.size()) return malformedXml();
      return json::value(d);
    }
    case ShapeType::kTimestamp: {
      std::string_view t = trim(text);
      if (auto ts = parseTimestamp(t)) return json::value(toEpochSeconds(*ts));
      std::string tmp(t);
      char* end = nullptr;
      double d = std::strtod(tmp.c_str(), &end);
      if (!tmp.empty() && end == tmp.c_str() + tmp.size()) return json::value(d);
      return malformedXml();
    }
    case ShapeType::kBlob: {
      auto bytes = base64Decode(trim(text));
      if (!bytes) return malformedXml();
      return json::value(json::string(*bytes));
    }
    default:
      return json::value(json::string(text));
  }
}

Result<json::value> readNode(const Member* m, const Shape& s, const pugi::xml_node& node,
                             int depth);

Result<json::value> readMapEntries(const Shape& s, const pugi::xml_node* nodes, size_t count,
                                   int depth) {
  std::string_view key_name =
      s.key->has_location_name ? std::string_view(s.key->location_name) : std::string_view("key");
  std::string_view value_name = s.value->has_location_name
                                    ? std::string_view(s.value->location_name)
                                    : std::string_view("value");
  json::object obj;
  for (size_t i = 0; i < count; ++i) {
    pugi::xml_node k = childNamed(nodes[i], key_name);
    if (!k) return malformedXml();
    pugi::xml_node v = childNamed(nodes[i], value_name);
    json::value val;
    if (v) {
      TRY_ASSIGN(val, readNode(s.value, *s.value->shape, v, depth + 1));
    }
    obj[textOf(k)] = std::move(val);
  }
  return json::value(std::move(obj));
}

Result<void> readStructureMembers(const Shape& s, const pugi::xml_node& node, bool body_only,
                                  json::object& out, int depth) {
  for (const auto& m : s.members) {
    if (body_only && m.location != Location::kBody) continue;
    const Shape& ms = *m.shape;
    if (m.xml_attribute) {
      pugi::xml_attribute a = node.attribute(std::string(xmlMemberName(m)).c_str());
      if (!a) continue;
      TRY_ASSIGN(json::value v, scalarFromText(&m, ms, a.value()));
      out[m.name] = std::move(v);
      continue;
    }
    if ((ms.type == ShapeType::kList || ms.type == ShapeType::kMap) && isFlattened(m)) {
      std::string_view name = ms.type == ShapeType::kList ? flattenedItemName(m) : xmlMemberName(m);
      std::vector<pugi::xml_node> items;
      for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling())
        if (c.type() == pugi::node_element && nameIs(c, name)) items.push_back(c);
      if (items.empty()) continue;
      if (ms.type == ShapeType::kMap) {
        TRY_ASSIGN(json::value v, readMapEntries(ms, items.data(), items.size(), depth));
        out[m.name] = std::move(v);
        continue;
      }
      json::array arr;
      arr.reserve(items.size());
      for (const auto& item : items) {
        TRY_ASSIGN(json::value v, readNode(ms.member, *ms.member->shape, item, depth + 1));
        arr.push_back(std::move(v));
      }
      out[m.name] = std::move(arr);
      continue;
    }
    pugi::xml_node c = childNamed(node, xmlMemberName(m));
    if (!c) continue;
    TRY_ASSIGN(json::value v, readNode(&m, ms, c, depth + 1));
    out[m.name] = std::move(v);
  }
  return okResult();
}

Result<json::value> readNode(const Member* m, const Shape& s, const pugi::xml_node& node,
                             int depth) {
  if (depth > 64) return malformedXml();
  switch (s.type) {
    case ShapeType::kStructure: {
      json::object obj;
      TRY_VOID(readStructureMembers(s, node, false, obj, depth));
      return json::value(std::move(obj));
    }
    case ShapeType::kList: {
      json::array arr;
      for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
        if (c.type() != pugi::node_element) continue;
        TRY_ASSIGN(json::value v, readNode(s.member, *s.member->shape, c, depth + 1));
        arr.push_back(std::move(v));
      }
      return json::value(std::move(arr));
    }
    case ShapeType::kMap: {
      std::vector<pugi::xml_node> entries;
      for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling())
        if (c.type() == pugi::node_element) entries.push_back(c);
      return readMapEntries(s, entries.data(), entries.size(), depth);
    }
    default:
      return scalarFromText(m, s, textOf(node));
  }
}

bool isBlank(std::string_view s) { return trim(s).empty(); }

Result<pugi::xml_node> parseDocument(pugi::xml_document& doc, const std::string& body) {
  // pugixml never fetches external entities; DOCTYPE is skipped, not expanded.
  auto r = doc.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!r) return malformedXml();
  pugi::xml_node root = doc.document_element();
  if (!root) return malformedXml();
  return root;
}

/// Root element names S3 uses for operations whose output has no payload member.
std::string_view s3RootName(std::string_view op) {
  struct Entry {
    std::string_view op, root;
  };
  static constexpr Entry kRoots[] = {
      {"ListBuckets", "ListAllMyBucketsResult"},
      {"ListDirectoryBuckets", "ListAllMyDirectoryBucketsResult"},
      {"ListObjects", "ListBucketResult"},
      {"ListObjectsV2", "ListBucketResult"},
      {"ListObjectVersions", "ListVersionsResult"},
      {"ListMultipartUploads", "ListMultipartUploadsResult"},
      {"ListParts", "ListPartsResult"},
      {"GetBucketTagging", "Tagging"},
      {"GetObjectTagging", "Tagging"},
      {"GetBucketLocation", "LocationConstraint"},
      {"GetBucketAcl", "AccessControlPolicy"},
      {"GetObjectAcl", "AccessControlPolicy"},
      {"GetBucketVersioning", "VersioningConfiguration"},
      {"GetBucketCors", "CORSConfiguration"},
      {"GetBucketLifecycleConfiguration", "LifecycleConfiguration"},
      {"GetBucketNotificationConfiguration", "NotificationConfiguration"},
      {"GetBucketLogging", "BucketLoggingStatus"},
      {"GetBucketWebsite", "WebsiteConfiguration"},
      {"GetBucketRequestPayment", "RequestPaymentConfiguration"},
      {"GetBucketAccelerateConfiguration", "AccelerateConfiguration"},
      {"GetObjectLockConfiguration", "ObjectLockConfiguration"},
      {"GetPublicAccessBlock", "PublicAccessBlockConfiguration"},
      {"CreateMultipartUpload", "InitiateMultipartUploadResult"},
      {"CompleteMultipartUpload", "CompleteMultipartUploadResult"},
      {"DeleteObjects", "DeleteResult"},
      {"CopyObject", "CopyObjectResult"},
      {"UploadPartCopy", "CopyPartResult"},
  };
  for (const auto& e : kRoots)
    if (e.op == op) return e.root;
  return {};
}

}  // namespace

Result<json::value> parseRestXmlInput(const ServiceModel& model, const OperationMatch& match,
                                      const HttpRequest& req) {
  json::object doc;
  const Shape* in = match.op ? match.op->input : nullptr;
  if (!in) return json::value(std::move(doc));
  TRY_VOID(bindRestInput(model, match, req, doc));

  if (!in->payload.empty()) {
    const Member* p = in->findMember(in->payload);
    if (!p) return json::value(std::move(doc));
    const Shape& ps = *p->shape;
    if (ps.type == ShapeType::kBlob || ps.type == ShapeType::kString) {
      // Raw payload (S3 PutObject Body, streaming or not): the bytes as sent.
      if (!req.body.empty() || p->streaming || ps.streaming) doc[p->name] = json::string(req.body);
      return json::value(std::move(doc));
    }
    if (isBlank(req.body)) return json::value(std::move(doc));
    pugi::xml_document xml;
    TRY_ASSIGN(pugi::xml_node root, parseDocument(xml, req.body));
    // AWS: S3 answers MalformedXML when the root element is not the payload's element.
    if (ps.type == ShapeType::kStructure && !nameIs(root, xmlMemberName(*p))) return malformedXml();
    TRY_ASSIGN(json::value v, readNode(p, ps, root, 0));
    doc[p->name] = std::move(v);
    return json::value(std::move(doc));
  }

  bool has_body_members = false;
  for (const auto& m : in->members)
    if (m.location == Location::kBody) has_body_members = true;
  if (!has_body_members || isBlank(req.body)) return json::value(std::move(doc));
  pugi::xml_document xml;
  TRY_ASSIGN(pugi::xml_node root, parseDocument(xml, req.body));
  TRY_VOID(readStructureMembers(*in, root, true, doc, 0));
  return json::value(std::move(doc));
}

void serializeRestXmlOutput(const ServiceModel& model, const OperationMatch& match,
                            const json::value& output, HttpResponse& resp) {
  const Operation& op = *match.op;
  resp.status = op.http_status ? op.http_status : 200;
  resp.body.clear();
  const Shape* out_shape = op.output;
  if (!out_shape) return;
  bindRestOutput(model, out_shape, output, resp);
  const json::object* obj = output.is_object() ? &output.get_object() : nullptr;
  bool s3 = model.name == "s3" || model.name == "s3control";

  if (!out_shape->payload.empty()) {
    const Member* p = out_shape->findMember(out_shape->payload);
    if (!p || !obj) return;
    auto it = obj->find(p->name);
    if (it == obj->end() || it->value().is_null()) return;
    const json::value& v = it->value();
    const Shape& ps = *p->shape;
    if (ps.type == ShapeType::kBlob || ps.type == ShapeType::kString) {
      if (v.is_string()) resp.body.assign(v.get_string().data(), v.get_string().size());
      if (!resp.header("Content-Type") && !resp.header("content-type"))
        resp.setHeader("Content-Type",
                       ps.type == ShapeType::kBlob ? "binary/octet-stream" : "text/plain");
      return;
    }
    std::string& out = resp.body;
    out.reserve(512);
    out += kXmlDecl;
    std::string_view uri = p->xml_namespace_uri;
    if (uri.empty()) uri = ps.xml_namespace_uri;
    if (uri.empty() && s3) uri = kS3Namespace;
    if (ps.type == ShapeType::kStructure) {
      writeXmlStructure(out, xmlMemberName(*p), ps, v, uri, p->xml_namespace_prefix);
    } else {
      writeXmlMember(out, *p, v);
    }
    resp.setHeader("Content-Type", "application/xml");
    return;
  }

  bool any_body = false;
  if (obj)
    for (const auto& m : out_shape->members)
      if (m.location == Location::kBody && obj->contains(m.name)) any_body = true;
  if (!any_body) return;
  std::string_view root = out_shape->location_name;
  std::string fallback;
  if (root.empty() && s3) root = s3RootName(op.name);
  if (root.empty()) {
    fallback = op.name + "Result";
    root = fallback;
  }
  std::string_view uri = out_shape->xml_namespace_uri;
  if (uri.empty() && s3) uri = kS3Namespace;
  std::string& out = resp.body;
  out.reserve(512);
  out += kXmlDecl;
  writeXmlStructure(out, root, *out_shape, output, uri);
  resp.setHeader("Content-Type", "application/xml");
}

void serializeRestXmlError(const ServiceModel* model, const AwsError& error,
                           const std::string& request_id, HttpResponse& resp) {
  std::string& out = resp.body;
  out.clear();
  out.reserve(256 + error.message.size());
  out += kXmlDecl;
  out += "<Error>";
  appendErrorFields(out, error);
  out += "<RequestId>";
  appendXmlEscaped(out, request_id);
  out += "</RequestId><HostId>";
  out += base64Encode(request_id);
  out += "</HostId></Error>";
  resp.status = error.http_status;
  resp.setHeader("Content-Type", "application/xml");
}

}  // namespace citadel::protocol::detail
