// SSM Parameter Store handlers over a real store and the real KMS service: names, versions,
// selectors, labels, tiers and quota, SecureString through KMS, policies run by the scheduler
// with a moved clock, events in the outbox, the metadata cache and the state reset.
#include <gtest/gtest.h>

#include <atomic>

#include "../temp_dir.h"
#include "audit/audit.h"
#include "core/encoding.h"
#include "crypto/barrier.h"
#include "runtime/event_outbox.h"
#include "runtime/identity.h"
#include "runtime/invoke.h"
#include "runtime/services.h"
#include "services/kms/internal.h"
#include "services/ssm/internal.h"

namespace citadel::ssm {
namespace {

/// Counts the transactions begun on an SQLite store.
class CountingStore : public store::Store {
 public:
  explicit CountingStore(const std::string& path) : inner(store::openSqlite(path)) {}
  std::unique_ptr<store::Tx> begin(bool write) override {
    ++begins;
    return inner->begin(write);
  }
  void migrate(const std::vector<store::Migration>& m) override { inner->migrate(m); }
  std::string_view backend() const override { return inner->backend(); }
  std::unique_ptr<store::Store> inner;
  std::atomic<int> begins{0};
};

using Handler = Result<json::value> (*)(RequestContext&, const json::value&);

struct World {
  testing::TempDir dir;
  CountingStore db{dir.file("citadel.db")};
  crypto::Barrier barrier{std::string(32, 'k')};
  audit::EventStore events{db};
  runtime::Identity identity{db, barrier};
  runtime::Services services{db, barrier, events, identity, runtime::RuntimeConfig{}};
  const std::string account = "111122223333";
  const std::string region = "eu-west-3";

  World() {
    // Naming both services' migrations links their registrations into this test binary.
    auto m = services.migrations();
    for (auto& x : kms::migrations()) m.push_back(x);
    for (auto& x : ssm::migrations()) m.push_back(x);
    db.migrate(m);  // the store applies each (component, version) once
    services.initServices();
    clearCache();
  }
  ~World() {
    Clock::setOffsetMillis(0);
    clearCache();
  }

  std::unique_ptr<RequestContext> ctx(bool read_only) {
    auto c = std::make_unique<RequestContext>();
    c->services = &services;
    c->account_id = account;
    c->region = region;
    c->time = Clock::now();
    c->read_only = read_only;
    c->principal.type = runtime::Principal::Type::kRoot;
    c->principal.arn = "arn:aws:iam::" + account + ":root";
    c->principal.account_id = account;
    c->service = "ssm";
    c->event_source = "ssm.amazonaws.com";
    return c;
  }

  /// Runs a handler as the pipeline does (commit on success, rollback otherwise).
  Result<json::value> call(Handler h, json::object in, bool read_only = false) {
    auto c = ctx(read_only);
    auto out = h(*c, json::value(std::move(in)));
    if (c->tx_) {
      if (out.ok() && !read_only)
        c->tx_->commit();
      else
        c->tx_->rollback();
    }
    return out;
  }

  json::object put(const std::string& name, const std::string& value, json::object extra = {}) {
    extra["Name"] = name;
    extra["Value"] = value;
    if (!extra.contains("Type") && !extra.contains("Overwrite")) extra["Type"] = "String";
    auto out = call(putParameter, std::move(extra));
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().code + ": " + out.error().message);
    return out.ok() ? out->as_object() : json::object{};
  }

  json::object get(const std::string& name, bool decrypt = false) {
    auto out = call(getParameter, {{"Name", name}, {"WithDecryption", decrypt}}, true);
    EXPECT_TRUE(out.ok()) << (out.ok() ? "" : out.error().code + ": " + out.error().message);
    return out.ok() ? out->as_object().at("Parameter").as_object() : json::object{};
  }

  std::string errorOf(Handler h, json::object in, bool read_only = false) {
    auto out = call(h, std::move(in), read_only);
    return out.ok() ? "OK" : out.error().code;
  }

  std::vector<runtime::OutboxEvent> ssmEvents() {
    auto tx = db.begin(false);
    runtime::OutboxQuery q;
    q.source = "aws.ssm";
    return runtime::listEvents(*tx, q);
  }

  int64_t count(const std::string& sql) {
    auto tx = db.begin(false);
    return tx->query(sql)[0].integer(0);
  }
};

TEST(SsmParameters, PutGetOverwriteAndVersions) {
  World w;
  auto out = w.put("/app/db/host", "db1");
  EXPECT_EQ(out.at("Version"), 1);
  EXPECT_EQ(out.at("Tier"), "Standard");
  EXPECT_EQ(w.errorOf(putParameter, {{"Name", "/app/db/host"}, {"Value", "x"}, {"Type", "String"}}),
            "ParameterAlreadyExists");
  EXPECT_EQ(w.put("/app/db/host", "db2", {{"Overwrite", true}}).at("Version"), 2);
  auto p = w.get("/app/db/host");
  EXPECT_EQ(p.at("Value"), "db2");
  EXPECT_EQ(p.at("Version"), 2);
  EXPECT_EQ(p.at("Type"), "String");
  EXPECT_EQ(p.at("DataType"), "text");
  EXPECT_EQ(p.at("ARN"), "arn:aws:ssm:eu-west-3:111122223333:parameter/app/db/host");
  EXPECT_EQ(w.get("/app/db/host:1").at("Value"), "db1");
  EXPECT_EQ(w.get("/app/db/host:1").at("Selector"), ":1");
  EXPECT_EQ(w.errorOf(getParameter, {{"Name", "/app/db/host:9"}}, true),
            "ParameterVersionNotFound");
  EXPECT_EQ(w.errorOf(getParameter, {{"Name", "/nope"}}, true), "ParameterNotFound");
  // An ARN names the parameter too; a plain name gets a "parameter/" ARN.
  EXPECT_EQ(w.get("arn:aws:ssm:eu-west-3:111122223333:parameter/app/db/host").at("Value"), "db2");
  w.put("plain", "v");
  EXPECT_EQ(w.get("plain").at("ARN"), "arn:aws:ssm:eu-west-3:111122223333:parameter/plain");
  EXPECT_EQ(w.errorOf(putParameter, {{"Name", "/t"}, {"Value", "x"}}), "ValidationException");
}

TEST(SsmParameters, NamesAndHierarchyLimits) {
  World w;
  std::string deep;
  for (int i = 0; i < 15; ++i) deep += "/l" + std::to_string(i);
  w.put(deep, "ok");
  EXPECT_EQ(w.errorOf(putParameter, {{"Name", deep + "/l15"}, {"Value", "x"}, {"Type", "String"}}),
            "HierarchyLevelLimitExceededException");
  for (const char* bad : {"/a b", "/a//b", "a/b", "/ssm/x", "awsx", "/a/b/", "/a$"})
    EXPECT_EQ(w.errorOf(putParameter, {{"Name", bad}, {"Value", "x"}, {"Type", "String"}}),
              "ValidationException")
        << bad;
  EXPECT_EQ(
      w.errorOf(putParameter, {{"Name", "/aws/service/mine"}, {"Value", "x"}, {"Type", "String"}}),
      "AccessDeniedException");
}

TEST(SsmParameters, AllowedPatternDataTypeAndTags) {
  World w;
  EXPECT_EQ(
      w.errorOf(
          putParameter,
          {{"Name", "/p"}, {"Value", "abc"}, {"Type", "String"}, {"AllowedPattern", "^[0-9]+$"}}),
      "ParameterPatternMismatchException");
  EXPECT_EQ(
      w.errorOf(
          putParameter,
          {{"Name", "/p"}, {"Value", "abc"}, {"Type", "String"}, {"AllowedPattern", "[unclosed"}}),
      "InvalidAllowedPatternException");
  w.put("/p", "123", {{"AllowedPattern", "^[0-9]+$"}});
  // The pattern stays with the parameter on overwrite.
  EXPECT_EQ(w.errorOf(putParameter, {{"Name", "/p"}, {"Value", "x"}, {"Overwrite", true}}),
            "ParameterPatternMismatchException");
  EXPECT_EQ(w.errorOf(putParameter, {{"Name", "/ami"},
                                     {"Value", "not-an-ami"},
                                     {"Type", "String"},
                                     {"DataType", "aws:ec2:image"}}),
            "ValidationException");
  EXPECT_EQ(w.errorOf(putParameter, {{"Name", "/ami"},
                                     {"Value", "ami-0123456789abcdef0"},
                                     {"Type", "StringList"},
                                     {"DataType", "aws:ec2:image"}}),
            "UnsupportedParameterType");
  EXPECT_EQ(w.errorOf(putParameter,
                      {{"Name", "/ami"}, {"Value", "x"}, {"Type", "String"}, {"DataType", "Text"}}),
            "ValidationException");
  w.put("/ami", "ami-0123456789abcdef0", {{"DataType", "aws:ec2:image"}});
  EXPECT_EQ(w.get("/ami").at("DataType"), "aws:ec2:image");
  json::array tags{json::object{{"Key", "team"}, {"Value", "pay"}}};
  w.put("/tagged", "v", {{"Tags", tags}});
  EXPECT_EQ(w.errorOf(putParameter,
                      {{"Name", "/tagged"}, {"Value", "x"}, {"Overwrite", true}, {"Tags", tags}}),
            "ValidationException");
  auto listed =
      w.call(listTagsForResource, {{"ResourceType", "Parameter"}, {"ResourceId", "/tagged"}}, true);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->as_object().at("TagList").as_array().size(), 1u);
  EXPECT_EQ(w.errorOf(addTagsToResource,
                      {{"ResourceType", "Parameter"}, {"ResourceId", "/nope"}, {"Tags", tags}}),
            "InvalidResourceId");
  json::array many;
  for (int i = 0; i < 51; ++i) {
    std::string key(1, 'k');  // appended, not "k" + ...: GCC 12 warns -Wrestrict on that
    key += std::to_string(i);
    many.push_back(json::object{{"Key", key}, {"Value", "v"}});
  }
  EXPECT_EQ(w.errorOf(addTagsToResource,
                      {{"ResourceType", "Parameter"}, {"ResourceId", "/tagged"}, {"Tags", many}}),
            "TooManyTagsError");
}

TEST(SsmParameters, TiersSizesQuotaAndIntelligentTiering) {
  World w;
  const std::string big(5000, 'x');
  EXPECT_EQ(w.errorOf(putParameter, {{"Name", "/big"}, {"Value", big}, {"Type", "String"}}),
            "ValidationException");
  EXPECT_EQ(w.put("/big", big, {{"Tier", "Intelligent-Tiering"}}).at("Tier"), "Advanced");
  EXPECT_EQ(w.errorOf(putParameter, {{"Name", "/huge"},
                                     {"Value", std::string(8193, 'x')},
                                     {"Type", "String"},
                                     {"Tier", "Advanced"}}),
            "ValidationException");
  EXPECT_EQ(w.put("/small", "x", {{"Tier", "Intelligent-Tiering"}}).at("Tier"), "Standard");
  // No downgrade from Advanced; an overwrite without Tier stays Advanced.
  EXPECT_EQ(
      w.errorOf(putParameter,
                {{"Name", "/big"}, {"Value", "x"}, {"Overwrite", true}, {"Tier", "Standard"}}),
      "ValidationException");
  EXPECT_EQ(w.put("/big", "x", {{"Overwrite", true}}).at("Tier"), "Advanced");
  // The 10,000 Standard parameters quota (AWS's public parameters never count).
  {
    auto tx = w.db.begin(true);
    for (int i = 0; i < kStandardQuota - 1; ++i)
      tx->exec(
          "INSERT INTO ssm_parameters VALUES (?, ?, ?, 1, 'String', 'v', '', 'Standard', 'text', "
          "'', '', '', 0, '')",
          {w.account, w.region, "/filler/" + std::to_string(i)});
    tx->commit();
  }
  EXPECT_EQ(w.errorOf(putParameter, {{"Name", "/one-more"}, {"Value", "x"}, {"Type", "String"}}),
            "ParameterLimitExceeded");
  // Overwriting an existing Standard parameter is not a new one.
  EXPECT_EQ(w.put("/small", "y", {{"Overwrite", true}}).at("Version"), 2);
  EXPECT_EQ(w.put("/one-more", "x", {{"Tier", "Intelligent-Tiering"}}).at("Tier"), "Advanced");
  EXPECT_EQ(w.put("/adv", "x", {{"Tier", "Advanced"}}).at("Tier"), "Advanced");
  // Another region has its own quota.
  auto c = w.ctx(false);
  c->region = "us-east-2";
  EXPECT_TRUE(putParameter(
                  *c, json::value(json::object{{"Name", "/x"}, {"Value", "x"}, {"Type", "String"}}))
                  .ok());
}

TEST(SsmParameters, LabelsMoveLimitAndSelectors) {
  World w;
  w.put("/l", "v1");
  w.put("/l", "v2", {{"Overwrite", true}});
  w.put("/l", "v3", {{"Overwrite", true}});
  auto out = w.call(
      labelParameterVersion,
      {{"Name", "/l"}, {"ParameterVersion", 1}, {"Labels", {"prod", "aws-x", "1st", "ok.v-1_"}}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->as_object().at("InvalidLabels"), (json::array{"aws-x", "1st"}));
  EXPECT_EQ(out->as_object().at("ParameterVersion"), 1);
  EXPECT_EQ(w.get("/l:prod").at("Value"), "v1");
  // Labelling version 3 moves the label.
  ASSERT_TRUE(w.call(labelParameterVersion, {{"Name", "/l"}, {"Labels", {"prod"}}}).ok());
  EXPECT_EQ(w.get("/l:prod").at("Value"), "v3");
  EXPECT_EQ(w.get("/l:prod").at("Selector"), ":prod");
  EXPECT_EQ(w.errorOf(getParameter, {{"Name", "/l:nolabel"}}, true), "ParameterNotFound");
  EXPECT_EQ(w.errorOf(labelParameterVersion,
                      {{"Name", "/l"}, {"ParameterVersion", 7}, {"Labels", {"a"}}}),
            "ParameterVersionNotFound");
  EXPECT_EQ(w.errorOf(labelParameterVersion, {{"Name", "/zz"}, {"Labels", {"a"}}}),
            "ParameterNotFound");
  json::array ten;
  for (int i = 0; i < 9; ++i) ten.emplace_back("l" + std::to_string(i));
  ASSERT_TRUE(w.call(labelParameterVersion, {{"Name", "/l"}, {"Labels", ten}}).ok());  // 10 now
  EXPECT_EQ(w.errorOf(labelParameterVersion, {{"Name", "/l"}, {"Labels", {"eleventh"}}}),
            "ParameterVersionLabelLimitExceeded");
  auto un = w.call(unlabelParameterVersion,
                   {{"Name", "/l"}, {"ParameterVersion", 3}, {"Labels", {"prod", "nothere"}}});
  ASSERT_TRUE(un.ok());
  EXPECT_EQ(un->as_object().at("RemovedLabels"), (json::array{"prod"}));
  EXPECT_EQ(un->as_object().at("InvalidLabels"), (json::array{"nothere"}));
  // History: every version with its labels.
  auto h = w.call(getParameterHistory, {{"Name", "/l"}}, true);
  ASSERT_TRUE(h.ok());
  auto& items = h->as_object().at("Parameters").as_array();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].at("Labels"), (json::array{"ok.v-1_"}));
  EXPECT_EQ(items[2].at("Labels").as_array().size(), 9u);
  // GetParameters: found ones and InvalidParameters.
  auto many = w.call(getParameters, {{"Names", {"/l", "/l:1", "/l:8", "/none"}}}, true);
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(many->as_object().at("Parameters").as_array().size(), 2u);
  EXPECT_EQ(many->as_object().at("InvalidParameters"), (json::array{"/l:8", "/none"}));
}

TEST(SsmParameters, HundredVersionsDropTheOldestUnlessLabelled) {
  World w;
  w.put("/v", "0");
  for (int i = 1; i < 100; ++i) w.put("/v", std::to_string(i), {{"Overwrite", true}});
  ASSERT_TRUE(
      w.call(labelParameterVersion, {{"Name", "/v"}, {"ParameterVersion", 1}, {"Labels", {"keep"}}})
          .ok());
  EXPECT_EQ(w.errorOf(putParameter, {{"Name", "/v"}, {"Value", "x"}, {"Overwrite", true}}),
            "ParameterMaxVersionLimitExceeded");
  ASSERT_TRUE(w.call(labelParameterVersion,
                     {{"Name", "/v"}, {"ParameterVersion", 50}, {"Labels", {"keep"}}})
                  .ok());
  EXPECT_EQ(w.put("/v", "100", {{"Overwrite", true}}).at("Version"), 101);
  EXPECT_EQ(w.count("SELECT COUNT(*) FROM ssm_versions WHERE name = '/v'"), 100);
  EXPECT_EQ(w.count("SELECT MIN(version) FROM ssm_versions WHERE name = '/v'"), 2);
  EXPECT_EQ(w.errorOf(getParameter, {{"Name", "/v:1"}}, true), "ParameterVersionNotFound");
}

TEST(SsmParameters, SecureStringThroughKms) {
  World w;
  w.put("/s/pw", "hunter2-secret", {{"Type", "SecureString"}});
  // Never stored in clear; the managed key aws/ssm was created.
  EXPECT_EQ(w.count("SELECT COUNT(*) FROM ssm_versions WHERE value LIKE '%hunter2%'"), 0);
  EXPECT_EQ(w.count("SELECT COUNT(*) FROM kms_aliases WHERE alias_name = 'alias/aws/ssm'"), 1);
  auto enc = w.get("/s/pw");
  const std::string cipher(enc.at("Value").as_string());
  EXPECT_NE(cipher, "hunter2-secret");
  ASSERT_TRUE(base64Decode(cipher).has_value());
  EXPECT_EQ(w.get("/s/pw", true).at("Value"), "hunter2-secret");
  // The blob decrypts with KMS under AWS's encryption context {"PARAMETER_ARN": arn}.
  auto c = w.ctx(true);
  json::object in{{"CiphertextBlob", *base64Decode(cipher)},
                  {"EncryptionContext",
                   {{"PARAMETER_ARN", "arn:aws:ssm:eu-west-3:111122223333:parameter/s/pw"}}}};
  auto plain = runtime::invokeAs(*c, "kms", "Decrypt", json::value(in), "ssm.amazonaws.com");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->as_object().at("Plaintext"), "hunter2-secret");
  in["EncryptionContext"] = json::object{{"PARAMETER_ARN", "other"}};
  EXPECT_FALSE(runtime::invokeAs(*c, "kms", "Decrypt", json::value(in), "ssm.amazonaws.com").ok());
  // Metadata names the key; a bad KeyId is InvalidKeyId; KeyId on a String is refused.
  auto d = w.call(describeParameters, {}, true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->as_object().at("Parameters").as_array()[0].at("KeyId"), "alias/aws/ssm");
  EXPECT_EQ(w.errorOf(putParameter, {{"Name", "/s/k"},
                                     {"Value", "x"},
                                     {"Type", "SecureString"},
                                     {"KeyId", "alias/does-not-exist"}}),
            "InvalidKeyId");
  EXPECT_EQ(
      w.errorOf(putParameter,
                {{"Name", "/s/k"}, {"Value", "x"}, {"Type", "String"}, {"KeyId", "alias/aws/ssm"}}),
      "ValidationException");
  // History decrypts on request.
  auto h = w.call(getParameterHistory, {{"Name", "/s/pw"}, {"WithDecryption", true}}, true);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->as_object().at("Parameters").as_array()[0].at("Value"), "hunter2-secret");
}

TEST(SsmParameters, ByPathFiltersAndPaging) {
  World w;
  w.put("/app/a", "1");
  w.put("/app/b", "2", {{"Type", "StringList"}});
  w.put("/app/sub/c", "3");
  w.put("/app/sub/deeper/d", "4",
        {{"Tags", json::array{json::object{{"Key", "env"}, {"Value", "prod"}}}}});
  w.put("/application/x", "5");
  auto names = [&](json::object in) {
    std::vector<std::string> out;
    auto r = w.call(getParametersByPath, std::move(in), true);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (r.ok())
      for (const auto& p : r->as_object().at("Parameters").as_array())
        out.emplace_back(p.at("Name").as_string());
    return out;
  };
  EXPECT_EQ(names({{"Path", "/app"}}), (std::vector<std::string>{"/app/a", "/app/b"}));
  EXPECT_EQ(names({{"Path", "/app/"}, {"Recursive", true}}).size(), 4u);
  EXPECT_EQ(names({{"Path", "/app"},
                   {"Recursive", true},
                   {"ParameterFilters", {{{"Key", "Type"}, {"Values", {"StringList"}}}}}}),
            (std::vector<std::string>{"/app/b"}));
  EXPECT_EQ(names({{"Path", "/app"},
                   {"Recursive", true},
                   {"ParameterFilters", {{{"Key", "tag:env"}, {"Values", {"prod"}}}}}}),
            (std::vector<std::string>{"/app/sub/deeper/d"}));
  EXPECT_EQ(
      w.errorOf(getParametersByPath,
                {{"Path", "/app"}, {"ParameterFilters", {{{"Key", "Name"}, {"Values", {"x"}}}}}},
                true),
      "InvalidFilterKey");
  EXPECT_EQ(w.errorOf(getParametersByPath, {{"Path", "app"}}, true), "ValidationException");
  // Paging.
  auto first =
      w.call(getParametersByPath, {{"Path", "/app"}, {"Recursive", true}, {"MaxResults", 3}}, true);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->as_object().at("Parameters").as_array().size(), 3u);
  auto token = first->as_object().at("NextToken");
  auto second = w.call(
      getParametersByPath,
      {{"Path", "/app"}, {"Recursive", true}, {"MaxResults", 3}, {"NextToken", token}}, true);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->as_object().at("Parameters").as_array().size(), 1u);
  EXPECT_FALSE(second->as_object().contains("NextToken"));
  // DescribeParameters with ParameterFilters and legacy Filters.
  auto described = [&](json::object in) {
    auto r = w.call(describeParameters, std::move(in), true);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r->as_object().at("Parameters").as_array().size() : 0;
  };
  EXPECT_EQ(described({{"MaxResults", 50}}), 5u);
  EXPECT_EQ(described({{"ParameterFilters",
                        {{{"Key", "Path"}, {"Option", "Recursive"}, {"Values", {"/app"}}}}}}),
            4u);
  EXPECT_EQ(described({{"ParameterFilters",
                        {{{"Key", "Name"}, {"Option", "Contains"}, {"Values", {"sub"}}}}}}),
            2u);
  EXPECT_EQ(described({{"ParameterFilters", {{{"Key", "Name"}, {"Values", {"app/a"}}}}}}), 1u);
  EXPECT_EQ(described({{"ParameterFilters", {{{"Key", "Tier"}, {"Values", {"Standard"}}}}}}), 5u);
  EXPECT_EQ(described({{"ParameterFilters", {{{"Key", "DataType"}, {"Values", {"text"}}}}}}), 5u);
  EXPECT_EQ(described({{"Filters", {{{"Key", "Name"}, {"Values", {"/application"}}}}}}), 1u);
  EXPECT_EQ(w.errorOf(describeParameters,
                      {{"Filters", {{{"Key", "Name"}, {"Values", {"/a"}}}}},
                       {"ParameterFilters", {{{"Key", "Name"}, {"Values", {"/a"}}}}}},
                      true),
            "ValidationException");
  EXPECT_EQ(w.errorOf(describeParameters,
                      {{"ParameterFilters", {{{"Key", "Label"}, {"Values", {"a"}}}}}}, true),
            "InvalidFilterKey");
  EXPECT_EQ(w.errorOf(describeParameters,
                      {{"ParameterFilters", {{{"Key", "Type"}, {"Values", {"Str"}}}}}}, true),
            "InvalidFilterValue");
  EXPECT_EQ(w.errorOf(describeParameters,
                      {{"ParameterFilters",
                        {{{"Key", "Type"}, {"Option", "Contains"}, {"Values", {"String"}}}}}},
                      true),
            "InvalidFilterOption");
}

TEST(SsmParameters, PublicParametersReadOnlyOutsideQuota) {
  World w;
  auto ami = w.get("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64");
  EXPECT_TRUE(validAmiId(std::string(ami.at("Value").as_string())));
  EXPECT_EQ(ami.at("ARN"),
            "arn:aws:ssm:eu-west-3::parameter/aws/service/ami-amazon-linux-latest/"
            "al2023-ami-kernel-default-x86_64");
  auto r =
      w.call(getParametersByPath,
             {{"Path", "/aws/service/global-infrastructure/regions"}, {"MaxResults", 10}}, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->as_object().at("Parameters").as_array().size(), 10u);
  EXPECT_EQ(w.get("/aws/service/global-infrastructure/regions/eu-west-3/longName").at("Value"),
            "Europe (Paris)");
  EXPECT_EQ(w.count("SELECT COUNT(*) FROM ssm_parameters"), 0);
}

TEST(SsmParameters, ChangeEventsInTheOutbox) {
  World w;
  w.put("/e", "1", {{"Description", "first"}});
  w.put("/e", "2", {{"Overwrite", true}});
  ASSERT_TRUE(w.call(labelParameterVersion, {{"Name", "/e"}, {"Labels", {"blue"}}}).ok());
  ASSERT_TRUE(w.call(deleteParameter, {{"Name", "/e"}}).ok());
  EXPECT_EQ(w.errorOf(deleteParameter, {{"Name", "/e"}}), "ParameterNotFound");
  auto events = w.ssmEvents();
  ASSERT_EQ(events.size(), 4u);
  std::vector<std::string> ops;
  for (const auto& e : events) {
    EXPECT_EQ(e.detail_type, "Parameter Store Change");
    EXPECT_EQ(e.account, w.account);
    EXPECT_EQ(e.resources,
              std::vector<std::string>{"arn:aws:ssm:eu-west-3:111122223333:parameter/e"});
    auto d = json::parse(e.detail).as_object();
    EXPECT_EQ(d.at("name"), "/e");
    EXPECT_EQ(d.at("description"), "first");
    ops.emplace_back(d.at("operation").as_string());
  }
  EXPECT_EQ(ops, (std::vector<std::string>{"Create", "Update", "LabelParameterVersion", "Delete"}));
  // A failed put leaves no event.
  EXPECT_EQ(
      w.errorOf(putParameter,
                {{"Name", "/f"}, {"Value", "x"}, {"Type", "String"}, {"AllowedPattern", "^y$"}}),
      "ParameterPatternMismatchException");
  EXPECT_EQ(w.ssmEvents().size(), 4u);
}

TEST(SsmParameters, PolicyValidation) {
  World w;
  auto bad = [&](const std::string& policies, const char* tier = "Advanced") {
    return w.errorOf(putParameter, {{"Name", "/p"},
                                    {"Value", "x"},
                                    {"Type", "String"},
                                    {"Tier", tier},
                                    {"Policies", policies}});
  };
  const std::string exp =
      R"({"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2099-01-01T00:00:00.000Z"}})";
  EXPECT_EQ(bad("[" + exp + "]", "Standard"), "ValidationException");
  EXPECT_EQ(bad("not json"), "InvalidPolicyAttributeException");
  EXPECT_EQ(bad(R"([{"Type":"Rotate","Version":"1.0","Attributes":{}}])"),
            "InvalidPolicyTypeException");
  EXPECT_EQ(
      bad(R"([{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"yesterday"}}])"),
      "InvalidPolicyAttributeException");
  EXPECT_EQ(
      bad(R"([{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2001-01-01T00:00:00Z"}}])"),
      "InvalidPolicyAttributeException");
  EXPECT_EQ(
      bad(R"([{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"3","Unit":"Weeks"}}])"),
      "InvalidPolicyAttributeException");
  EXPECT_EQ(bad("[" + exp + "," + exp + "]"), "IncompatiblePolicyException");
  EXPECT_EQ(bad("[" + exp + "]"), "OK");
  // Intelligent-Tiering with policies picks Advanced.
  EXPECT_EQ(w.put("/it", "x", {{"Tier", "Intelligent-Tiering"}, {"Policies", "[" + exp + "]"}})
                .at("Tier"),
            "Advanced");
  auto d = w.call(describeParameters,
                  {{"ParameterFilters", {{{"Key", "Name"}, {"Values", {"/p"}}}}}}, true);
  ASSERT_TRUE(d.ok());
  auto& pol = d->as_object().at("Parameters").as_array()[0].at("Policies").as_array();
  ASSERT_EQ(pol.size(), 1u);
  EXPECT_EQ(pol[0].at("PolicyType"), "Expiration");
  EXPECT_EQ(pol[0].at("PolicyStatus"), "Pending");
}

TEST(SsmParameters, PoliciesFireWhenTheClockMoves) {
  World w;
  const int64_t now = toEpochMillis(Clock::now());
  const int64_t day = 86400000;
  const std::string ts = formatIso8601(fromEpochMillis(now + 10 * day));
  const std::string policies =
      R"([{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":")" + ts +
      R"("}},{"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"2","Unit":"Days"}},)"
      R"({"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"60","Unit":"Hours"}}])";
  w.put("/pol", "x", {{"Tier", "Advanced"}, {"Policies", policies}});
  auto actions = [&] {
    std::vector<std::string> out;
    for (const auto& e : w.ssmEvents())
      if (e.detail_type == "Parameter Store Policy Action")
        out.emplace_back(json::parse(e.detail).at("policy-type").as_string());
    return out;
  };
  EXPECT_EQ(w.services.scheduler.runDue(), 0);
  Clock::setOffsetMillis(3 * day);  // 72 h unchanged > 60 h
  EXPECT_EQ(w.services.scheduler.runDue(), 1);
  EXPECT_EQ(actions(), (std::vector<std::string>{"NoChangeNotification"}));
  Clock::setOffsetMillis(8 * day + 3600000);  // 2 days before expiry passed
  w.services.scheduler.runDue();
  auto seen = actions();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "ExpirationNotification"), seen.end());
  EXPECT_TRUE(w.get("/pol").contains("Value"));
  Clock::setOffsetMillis(10 * day + 1000);
  w.services.scheduler.runDue();
  EXPECT_EQ(w.errorOf(getParameter, {{"Name", "/pol"}}, true), "ParameterNotFound");
  seen = actions();
  EXPECT_EQ(seen.back(), "Expiration");
  auto last = w.ssmEvents().back();
  EXPECT_EQ(json::parse(last.detail).at("operation"), "Delete");
  EXPECT_EQ(w.count("SELECT COUNT(*) FROM ssm_versions WHERE name = '/pol'"), 0);
}

TEST(SsmParameters, ChangeResetsNoChangeAndDeleteCancelsJobs) {
  World w;
  const std::string policies =
      R"([{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"1","Unit":"Days"}}])";
  w.put("/nc", "x", {{"Tier", "Advanced"}, {"Policies", policies}});
  Clock::setOffsetMillis(20 * 3600000);
  w.put("/nc", "y", {{"Overwrite", true}});  // policies kept; the period restarts
  Clock::setOffsetMillis(30 * 3600000);
  w.services.scheduler.runDue();
  EXPECT_TRUE(w.ssmEvents().back().detail_type == "Parameter Store Change");
  ASSERT_TRUE(w.call(deleteParameter, {{"Name", "/nc"}}).ok());
  auto tx = w.db.begin(false);
  EXPECT_TRUE(w.services.scheduler.pending(*tx, kNoChangeJob).empty());
}

TEST(SsmParameters, CacheServesReadsAndDropsAfterCommit) {
  World w;
  w.put("/c", "one");
  EXPECT_EQ(w.get("/c").at("Value"), "one");  // fills the cache
  const int before = w.db.begins.load();
  EXPECT_EQ(w.get("/c").at("Value"), "one");
  EXPECT_EQ(w.db.begins.load(), before);  // a hit reads no store
  w.put("/c", "two", {{"Overwrite", true}});
  EXPECT_EQ(w.get("/c").at("Value"), "two");
  // A rolled-back change leaves the cache alone.
  {
    auto c = w.ctx(false);
    ASSERT_TRUE(putParameter(*c, json::value(json::object{
                                     {"Name", "/c"}, {"Value", "three"}, {"Overwrite", true}}))
                    .ok());
    c->tx_->rollback();
  }
  EXPECT_EQ(w.get("/c").at("Value"), "two");
  ASSERT_TRUE(
      w.call(addTagsToResource, {{"ResourceType", "Parameter"},
                                 {"ResourceId", "/c"},
                                 {"Tags", json::array{json::object{{"Key", "a"}, {"Value", "b"}}}}})
          .ok());
  auto tags =
      w.call(listTagsForResource, {{"ResourceType", "Parameter"}, {"ResourceId", "/c"}}, true);
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->as_object().at("TagList").as_array().size(), 1u);
}

TEST(SsmParameters, ResetDeletesEverySsmRow) {
  World w;
  w.put("/r", "x", {{"Tags", json::array{json::object{{"Key", "a"}, {"Value", "b"}}}}});
  ASSERT_TRUE(w.call(labelParameterVersion, {{"Name", "/r"}, {"Labels", {"l"}}}).ok());
  w.get("/r");
  const auto* spec = w.services.service("ssm");
  ASSERT_NE(spec, nullptr);
  auto tx = w.db.begin(true);
  spec->reset(w.services, *tx);
  tx->commit();
  for (const char* t : {"ssm_parameters", "ssm_versions", "ssm_labels", "ssm_tags"})
    EXPECT_EQ(w.count(std::string("SELECT COUNT(*) FROM ") + t), 0) << t;
  EXPECT_TRUE(w.ssmEvents().empty());
  EXPECT_EQ(w.errorOf(getParameter, {{"Name", "/r"}}, true), "ParameterNotFound");
}

TEST(SsmRules, SelectorsLabelsAndLevels) {
  EXPECT_EQ(hierarchyLevels("/a/b/c"), 3);
  EXPECT_EQ(hierarchyLevels("x"), 1);
  auto s = parseSelector("/a/b:12");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "/a/b");
  EXPECT_EQ(*s->version, 12);
  EXPECT_FALSE(parseSelector("/a:b:c").ok());
  EXPECT_FALSE(parseSelector("/a:").ok());
  EXPECT_EQ(nameFromInput("arn:aws:ssm:us-east-1:111122223333:parameter/a/b"), "/a/b");
  EXPECT_EQ(nameFromInput("arn:aws:ssm:us-east-1:111122223333:parameter/plain"), "plain");
  EXPECT_TRUE(validLabel("Prod-1.x_y"));
  EXPECT_FALSE(validLabel("SSMlabel"));
  EXPECT_FALSE(validLabel("9lives"));
  EXPECT_FALSE(validLabel(std::string(101, 'a')));
  EXPECT_TRUE(validAmiId("ami-12345678"));
  EXPECT_TRUE(validAmiId("ami-0123456789abcdef0"));
  EXPECT_FALSE(validAmiId("ami-0123456789ABCDEF0"));
}

}  // namespace
}  // namespace citadel::ssm
