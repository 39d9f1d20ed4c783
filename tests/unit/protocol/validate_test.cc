// detail::validateInput against real model constraints, with AWS's wording.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "protocol/internal.h"

namespace citadel::protocol {
namespace {

namespace json = boost::json;

Result<void> validate(const char* svc, const char* op, const json::value& doc) {
  const ServiceModel* m = Models::get(svc);
  EXPECT_NE(m, nullptr);
  return detail::validateInput(*m, m->findOperation(op)->input, doc);
}

TEST(ValidateTest, ValidKmsInputPasses) {
  EXPECT_TRUE(validate("kms", "Encrypt", {{"KeyId", "alias/a"}, {"Plaintext", "x"}}).ok());
  EXPECT_TRUE(validate("kms", "CreateAlias",
                       {{"AliasName", "alias/my-app_1"}, {"TargetKeyId", "k"}})
                  .ok());
}

TEST(ValidateTest, MissingRequiredMember) {
  auto r = validate("kms", "Encrypt", {{"Plaintext", "x"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ValidationException");
  EXPECT_EQ(r.error().http_status, 400);
  EXPECT_EQ(r.error().message,
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: "
            "Member must not be null");
}

TEST(ValidateTest, StringLengthAndSeveralErrorsCounted) {
  std::string long_id(2049, 'k');
  auto r = validate("kms", "Encrypt", {{"KeyId", long_id}, {"Plaintext", ""}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "2 validation errors detected: Value '" + long_id +
                "' at 'keyId' failed to satisfy constraint: Member must have length less than "
                "or equal to 2048; Value at 'plaintext' failed to satisfy constraint: Member "
                "must have length greater than or equal to 1");
}

TEST(ValidateTest, BlobLengthIsBytes) {
  EXPECT_TRUE(validate("kms", "Encrypt", {{"KeyId", "k"}, {"Plaintext", std::string(4096, 'a')}})
                  .ok());
  auto r = validate("kms", "Encrypt", {{"KeyId", "k"}, {"Plaintext", std::string(4097, 'a')}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
            "Member must have length less than or equal to 4096");
}

TEST(ValidateTest, StringLengthCountsCharactersNotBytes) {
  // 2048 three-byte characters: within KeyId's 2048 limit.
  std::string wide;
  for (int i = 0; i < 2048; ++i) wide += "\xe2\x82\xac";
  EXPECT_TRUE(validate("kms", "Encrypt", {{"KeyId", wide}, {"Plaintext", "x"}}).ok());
}

TEST(ValidateTest, EnumAndNumericRange) {
  auto r = validate("kms", "CreateKey", {{"KeySpec", "AES_999"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("Value 'AES_999' at 'keySpec' failed to satisfy constraint: "
                                   "Member must satisfy enum value set: [RSA_2048, "),
            std::string::npos)
      << r.error().message;
  auto n = validate("kms", "GenerateRandom", {{"NumberOfBytes", 1025}});
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().message,
            "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy "
            "constraint: Member must have value less than or equal to 1024");
  EXPECT_TRUE(validate("kms", "GenerateRandom", {{"NumberOfBytes", 1024}}).ok());
}

TEST(ValidateTest, PatternIsCheckedAndJavaOnlyPatternsSkipped) {
  auto r = validate("kms", "CreateAlias", {{"AliasName", "alias/bad name!"}, {"TargetKeyId", "k"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "1 validation error detected: Value 'alias/bad name!' at 'aliasName' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: "
            "^[a-zA-Z0-9:/_-]+$");
  // IAM tag keys use \p{L}: not expressible in ECMAScript, so not enforced (never a false
  // rejection of a valid value).
  EXPECT_TRUE(validate("iam", "TagRole",
                       {{"RoleName", "r"}, {"Tags", json::array{{{"Key", "a"}, {"Value", "b"}}}}})
                  .ok());
}

TEST(ValidateTest, NestedListPathsAreOneBased) {
  auto r = validate("kms", "CreateKey",
                    {{"Tags", json::array{{{"TagKey", "ok"}, {"TagValue", "v"}},
                                          {{"TagKey", std::string(129, 't')}, {"TagValue", "v"}},
                                          {{"TagValue", "v"}}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "2 validation errors detected: Value '" + std::string(129, 't') +
                "' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have "
                "length less than or equal to 128; Value null at 'tags.3.member.tagKey' failed "
                "to satisfy constraint: Member must not be null");
}

TEST(ValidateTest, SensitiveValuesAreNotEchoed) {
  auto r = validate("secretsmanager", "CreateSecret",
                    {{"Name", "n"}, {"SecretString", std::string(65537, 's')}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("sss"), std::string::npos);
  EXPECT_NE(r.error().message.find("Value at 'secretString'"), std::string::npos);
}

TEST(ValidateTest, TypeMismatchIsReported) {
  auto r = validate("kms", "GenerateRandom", {{"NumberOfBytes", "ten"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ValidationException");
}

TEST(ValidateTest, QueryAndEc2MissingParameter) {
  auto r = validate("sts", "AssumeRole", {{"RoleSessionName", "s"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "MissingParameter");
  EXPECT_EQ(r.error().message, "The request must contain the parameter RoleArn");
  auto e = validate("ec2", "CreateTags", {{"Resources", json::array{"i-1"}}});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, "MissingParameter");
  EXPECT_EQ(e.error().message, "The request must contain the parameter Tag");
}

TEST(ValidateTest, QueryConstraintIsValidationError) {
  auto r = validate("sts", "AssumeRole",
                    {{"RoleArn", "arn:aws:iam::123456789012:role/r"}, {"RoleSessionName", "sess"},
                     {"DurationSeconds", 10}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ValidationError");
  EXPECT_EQ(r.error().message,
            "1 validation error detected: Value '10' at 'durationSeconds' failed to satisfy "
            "constraint: Member must have value greater than or equal to 900");
}

}  // namespace
}  // namespace citadel::protocol
