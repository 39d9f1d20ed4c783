#include "runtime/functions.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

#include "audit/audit.h"
#include "crypto/barrier.h"
#include "runtime/identity.h"
#include "runtime/services.h"

namespace citadel::runtime {
namespace {

namespace json = boost::json;

TEST(GeneratePassword, HasEveryClassAndNoExcludedCharacter) {
  std::set<char> seen;
  for (int i = 0; i < 200; ++i) {
    auto pw = generatePassword("/@\"'\\");
    ASSERT_TRUE(pw.ok());
    ASSERT_EQ(pw->size(), 32u);
    EXPECT_EQ(pw->find_first_of("/@\"'\\"), std::string::npos) << *pw;
    EXPECT_NE(pw->find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), std::string::npos);
    EXPECT_NE(pw->find_first_of("abcdefghijklmnopqrstuvwxyz"), std::string::npos);
    EXPECT_NE(pw->find_first_of("0123456789"), std::string::npos);
    EXPECT_NE(pw->find_first_of("!#$%&()*+,-.:;<=>?[]^_`{|}~"), std::string::npos);
    for (char c : *pw) seen.insert(c);
  }
  // 94 printable characters minus 5 excluded: 6,400 draws reach all of them.
  EXPECT_EQ(seen.size(), 89u);
  EXPECT_NE(*generatePassword(""), *generatePassword(""));
}

TEST(GeneratePassword, ExcludedClassesAndImpossibleRequests) {
  auto digits_only = generatePassword(
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", 8);
  ASSERT_TRUE(digits_only.ok());
  EXPECT_EQ(digits_only->find_first_not_of("0123456789"), std::string::npos);
  EXPECT_EQ(digits_only->size(), 8u);
  EXPECT_EQ(generatePassword("", 3).error().code, "ValidationException");  // 4 classes
  auto nothing = generatePassword(
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
      "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");
  ASSERT_FALSE(nothing.ok());
  EXPECT_EQ(nothing.error().code, "ValidationException");
}

TEST(FunctionRef, ParsesArnsPartialArnsAndNames) {
  auto full = parseFunctionRef("arn:aws:lambda:eu-west-1:123456789012:function:f-1:$LATEST",
                               "us-east-1", "111122223333");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->region, "eu-west-1");
  EXPECT_EQ(full->account_id, "123456789012");
  EXPECT_EQ(full->name, "f-1");
  EXPECT_EQ(full->qualifier, "$LATEST");
  EXPECT_EQ(full->arn(), "arn:aws:lambda:eu-west-1:123456789012:function:f-1");

  auto partial = parseFunctionRef("123456789012:function:my_fn", "us-east-1", "111122223333");
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->arn(), "arn:aws:lambda:us-east-1:123456789012:function:my_fn");

  auto name = parseFunctionRef("my_fn:prod", "ap-south-1", "111122223333");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->arn(), "arn:aws:lambda:ap-south-1:111122223333:function:my_fn");
  EXPECT_EQ(name->qualifier, "prod");

  for (const char* bad :
       {"", "arn:aws:s3:::bucket", "arn:aws:lambda:us-east-1:123:function:f",
        "arn:aws:lambda:us-east-1:123456789012:layer:f", "has space", "f:", "a:b:c",
        "arn:aws:lambda::123456789012:function:f", "123456789012:function:f:1:2"}) {
    auto r = parseFunctionRef(bad, "us-east-1", "111122223333");
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, "ValidationException") << bad;
    }
  }
}

struct World {
  std::unique_ptr<store::Store> db = store::openSqlite(":memory:");
  crypto::Barrier barrier{std::string(32, 'k')};
  audit::EventStore events{*db};
  Identity identity{*db, barrier};
  Services services{*db, barrier, events, identity, RuntimeConfig{}};
  RequestContext caller;
  World() {
    caller.region = "us-east-1";
    caller.account_id = "111122223333";
    caller.services = &services;
  }
  ~World() { setFunctionResolver({}); }
};

TEST(Invoke, ResolverServesNonBuiltinFunctionsWithTheirInvocation) {
  World w;
  std::string seen_arn, seen_qualifier;
  setFunctionResolver([&](Services&, const std::string& arn,
                          const std::string& qualifier) -> std::optional<FunctionHandler> {
    seen_arn = arn;
    seen_qualifier = qualifier;
    if (arn != "arn:aws:lambda:us-east-1:111122223333:function:echo") return std::nullopt;
    return FunctionHandler([](const Invocation& inv, const json::value& event) {
      return Result<json::value>(json::object{{"event", event},
                                              {"arn", inv.function_arn},
                                              {"account", inv.account_id},
                                              {"caller", inv.caller->account_id},
                                              {"lent", inv.clients.secrets != nullptr}});
    });
  });
  auto r = invoke(w.services, w.caller, "echo:live", json::object{{"k", 1}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(seen_qualifier, "live");
  EXPECT_EQ(r->at("event").at("k").as_int64(), 1);
  EXPECT_EQ(r->at("arn").as_string(), "arn:aws:lambda:us-east-1:111122223333:function:echo");
  EXPECT_EQ(r->at("caller").as_string(), "111122223333");
  EXPECT_FALSE(r->at("lent").as_bool());

  auto missing = invoke(w.services, w.caller, "other", json::value());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(seen_arn, "arn:aws:lambda:us-east-1:111122223333:function:other");
  EXPECT_EQ(missing.error().code, "ResourceNotFoundException");
  EXPECT_EQ(missing.error().http_status, 404);
  EXPECT_EQ(missing.error().message,
            "Function not found: arn:aws:lambda:us-east-1:111122223333:function:other");
}

TEST(Invoke, FunctionErrorsCarryTheirTypeAndAreMarkedUnhandled) {
  AwsError e = functionError("ValueError", "setSecret: no");
  EXPECT_EQ(e.code, "ValueError");
  ASSERT_EQ(e.extra.size(), 1u);
  EXPECT_EQ(e.extra[0].first, "FunctionError");
  EXPECT_EQ(e.extra[0].second, "Unhandled");
}

}  // namespace
}  // namespace citadel::runtime
