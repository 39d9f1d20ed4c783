#pragma once
/// The botocore service model, compiled once into an immutable shape graph.
/// Models are embedded in the binary at build time and loaded lazily on first use.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace citadel::protocol {

/// Wire protocols citadel speaks.
enum class Protocol { kJson, kRestJson, kQuery, kEc2, kRestXml, kRpcV2Cbor };

std::string_view protocolName(Protocol p);

enum class ShapeType {
  kStructure,
  kList,
  kMap,
  kString,
  kInteger,
  kLong,
  kFloat,
  kDouble,
  kBoolean,
  kBlob,
  kTimestamp,
  kBigDecimal,
};

/// Where a member of an input/output structure travels on the wire.
enum class Location { kBody, kHeader, kHeaders, kUri, kQueryString, kStatusCode };

struct Shape;

/// A member of a structure shape.
struct Member {
  std::string name;           ///< the member name in the model (document key)
  const Shape* shape = nullptr;
  Location location = Location::kBody;
  std::string location_name;  ///< wire name: header name, uri label, query key, xml/json name
  bool has_location_name = false;
  std::string query_name;     ///< ec2 protocol: "queryName"
  bool xml_attribute = false;
  std::string xml_namespace_uri;     ///< member-level xmlNamespace uri
  std::string xml_namespace_prefix;  ///< member-level xmlNamespace prefix
  bool flattened = false;     ///< member-level "flattened"
  bool idempotency_token = false;
  bool host_label = false;
  bool streaming = false;     ///< member-level "streaming"
  bool event_payload = false;
  bool json_value = false;    ///< "jsonvalue": header carries base64 JSON
  std::string timestamp_format;  ///< member-level override
};

/// A shape of the model. Immutable after loading.
struct Shape {
  std::string name;
  ShapeType type = ShapeType::kString;
  // structure
  std::vector<Member> members;              ///< in model order
  std::vector<std::string> required;        ///< required member names
  std::string payload;                      ///< rest protocols: member sent as the body
  bool is_union = false;
  bool is_document = false;
  bool event_stream = false;
  bool is_exception = false;
  std::string error_code;                   ///< "error.code" if present, else shape name
  int error_http_status = 0;                ///< "error.httpStatusCode" (0 = unknown)
  bool error_sender_fault = true;
  // list
  const Member* member = nullptr;           ///< list element (owned by member_storage)
  // map
  const Member* key = nullptr;
  const Member* value = nullptr;
  // constraints
  std::optional<double> min;
  std::optional<double> max;
  std::vector<std::string> enum_values;
  std::string pattern;
  bool sensitive = false;
  bool flattened = false;
  bool streaming = false;
  std::string location_name;                ///< shape-level locationName (xml element name)
  std::string xml_namespace_uri;
  std::string timestamp_format;             ///< shape-level "timestampFormat"
  std::vector<std::unique_ptr<Member>> member_storage;

  /// Member by model name, or nullptr.
  const Member* findMember(std::string_view member_name) const;
  bool isRequired(std::string_view member_name) const;
};

/// One operation of a service.
struct Operation {
  std::string name;
  std::string http_method = "POST";
  std::string request_uri = "/";      ///< e.g. "/{Bucket}/{Key+}?uploads"
  int http_status = 200;              ///< "http.responseCode"
  const Shape* input = nullptr;       ///< may be nullptr
  const Shape* output = nullptr;      ///< may be nullptr
  std::string result_wrapper;         ///< query protocol "<Op>Result" wrapper name
  std::vector<const Shape*> errors;
  std::string host_prefix;            ///< endpoint.hostPrefix
  bool auth_none = false;             ///< "authtype": "none"
  bool unsigned_payload = false;      ///< "authtype": "v4-unsigned-body"
};

/// A service model: metadata, shapes and operations.
struct ServiceModel {
  std::string name;              ///< botocore folder name: "kms", "s3", "sts"
  std::string api_version;
  Protocol protocol = Protocol::kJson;        ///< botocore's preferred protocol
  std::vector<Protocol> protocols;            ///< every protocol the service accepts
  std::string json_version;      ///< "1.0" / "1.1"
  std::string target_prefix;     ///< X-Amz-Target prefix
  std::string signing_name;      ///< SigV4 scope service
  std::string endpoint_prefix;
  std::string service_id;        ///< "KMS"
  std::string xml_namespace;     ///< query/ec2 response namespace
  std::string global_endpoint;
  bool aws_query_compatible = false;

  std::unordered_map<std::string, std::unique_ptr<Shape>> shapes;
  std::map<std::string, Operation> operations;

  const Operation* findOperation(std::string_view op_name) const;
  const Shape* findShape(std::string_view shape_name) const;
  bool speaks(Protocol p) const;
};

/// Parses a botocore service-2.json document into a ServiceModel. Throws std::runtime_error on
/// a document it cannot understand (build-time data; never on the request path).
std::unique_ptr<ServiceModel> loadModelFromJson(std::string_view service_name,
                                                std::string_view json_text);

/// Registry of the models embedded in the binary. Thread-safe; each model is decompressed and
/// compiled once, on first use.
class Models {
 public:
  /// The model of a service by botocore folder name, or nullptr if not embedded.
  static const ServiceModel* get(std::string_view service_name);
  /// Names of every embedded model.
  static std::vector<std::string> names();
  /// How many models have been loaded so far (for health/metrics).
  static size_t loadedCount();
};

}  // namespace citadel::protocol
