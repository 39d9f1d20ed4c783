#include "protocol/model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

namespace citadel::protocol {
namespace {

TEST(ModelTest, NamesListsEmbeddedModels) {
  auto names = Models::names();
  for (const char* n : {"kms", "s3", "sts", "cloudwatch", "lambda", "ec2"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  EXPECT_EQ(Models::get("no-such-service"), nullptr);
}

TEST(ModelTest, KmsMetadataAndShapes) {
  const ServiceModel* kms = Models::get("kms");
  ASSERT_NE(kms, nullptr);
  EXPECT_EQ(kms->name, "kms");
  EXPECT_EQ(kms->protocol, Protocol::kJson);
  EXPECT_EQ(kms->json_version, "1.1");
  EXPECT_EQ(kms->target_prefix, "TrentService");
  EXPECT_EQ(kms->signing_name, "kms");
  EXPECT_EQ(kms->service_id, "KMS");
  EXPECT_FALSE(kms->aws_query_compatible);

  const Operation* enc = kms->findOperation("Encrypt");
  ASSERT_NE(enc, nullptr);
  ASSERT_NE(enc->input, nullptr);
  EXPECT_EQ(enc->input->type, ShapeType::kStructure);
  EXPECT_TRUE(enc->input->isRequired("KeyId"));
  EXPECT_TRUE(enc->input->isRequired("Plaintext"));
  const Member* key_id = enc->input->findMember("KeyId");
  ASSERT_NE(key_id, nullptr);
  EXPECT_EQ(key_id->shape->type, ShapeType::kString);
  EXPECT_EQ(key_id->shape->min, 1.0);
  EXPECT_EQ(key_id->shape->max, 2048.0);
  const Member* pt = enc->input->findMember("Plaintext");
  ASSERT_NE(pt, nullptr);
  EXPECT_EQ(pt->shape->type, ShapeType::kBlob);
  EXPECT_TRUE(pt->shape->sensitive);
  const Member* ctx = enc->input->findMember("EncryptionContext");
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ(ctx->shape->type, ShapeType::kMap);
  EXPECT_EQ(ctx->shape->key->shape->type, ShapeType::kString);
  EXPECT_FALSE(enc->errors.empty());

  const Shape* nf = kms->findShape("NotFoundException");
  ASSERT_NE(nf, nullptr);
  EXPECT_TRUE(nf->is_exception);
  EXPECT_TRUE(nf->error_sender_fault);
  const Shape* ks = kms->findShape("KeySpec");
  ASSERT_NE(ks, nullptr);
  EXPECT_NE(std::find(ks->enum_values.begin(), ks->enum_values.end(), "SYMMETRIC_DEFAULT"),
            ks->enum_values.end());
  const Shape* internal = kms->findShape("KMSInternalException");
  ASSERT_NE(internal, nullptr);
  EXPECT_FALSE(internal->error_sender_fault);
  EXPECT_EQ(internal->error_http_status, 500);

  const Shape* tags = kms->findOperation("CreateKey")->input->findMember("Tags")->shape;
  EXPECT_EQ(tags->type, ShapeType::kList);
  ASSERT_NE(tags->member, nullptr);
  EXPECT_EQ(tags->member->shape->name, "Tag");
}

TEST(ModelTest, S3RestXmlTraits) {
  const ServiceModel* s3 = Models::get("s3");
  ASSERT_NE(s3, nullptr);
  EXPECT_EQ(s3->protocol, Protocol::kRestXml);
  const Operation* get = s3->findOperation("GetObject");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(get->http_method, "GET");
  EXPECT_EQ(get->request_uri, "/{Bucket}/{Key+}");
  EXPECT_EQ(s3->findOperation("PutBucketAcl")->request_uri, "/{Bucket}?acl");
  const Member* bucket = get->input->findMember("Bucket");
  ASSERT_NE(bucket, nullptr);
  EXPECT_EQ(bucket->location, Location::kUri);
  EXPECT_EQ(bucket->location_name, "Bucket");
  const Member* range = get->input->findMember("Range");
  ASSERT_NE(range, nullptr);
  EXPECT_EQ(range->location, Location::kHeader);
  EXPECT_EQ(range->location_name, "Range");
  EXPECT_TRUE(range->has_location_name);
  EXPECT_EQ(get->output->payload, "Body");
  const Member* body = get->output->findMember("Body");
  ASSERT_NE(body, nullptr);
  EXPECT_TRUE(body->streaming || body->shape->streaming);
  const Member* meta = get->output->findMember("Metadata");
  ASSERT_NE(meta, nullptr);
  EXPECT_EQ(meta->location, Location::kHeaders);
  EXPECT_EQ(meta->location_name, "x-amz-meta-");

  const Operation* put = s3->findOperation("PutObject");
  EXPECT_EQ(put->http_method, "PUT");
  const Operation* create = s3->findOperation("CreateMultipartUpload");
  EXPECT_EQ(create->request_uri, "/{Bucket}/{Key+}?uploads");
  const Shape* nsb = s3->findShape("NoSuchBucket");
  ASSERT_NE(nsb, nullptr);
  EXPECT_TRUE(nsb->is_exception);
  EXPECT_EQ(nsb->error_http_status, 404);

  const Member* cbc =
      s3->findOperation("CreateBucket")->input->findMember("CreateBucketConfiguration");
  EXPECT_EQ(cbc->location_name, "CreateBucketConfiguration");
  EXPECT_EQ(cbc->xml_namespace_uri, "http://s3.amazonaws.com/doc/2006-03-01/");
  EXPECT_EQ(s3->findShape("SSES3")->location_name, "SSE-S3");
  EXPECT_EQ(s3->findShape("Grantee")->xml_namespace_uri,
            "http://www.w3.org/2001/XMLSchema-instance");
  EXPECT_EQ(s3->findOperation("DeleteObjects")->input->findMember("Delete")->location_name,
            "Delete");
}

TEST(ModelTest, StsQueryTraits) {
  const ServiceModel* sts = Models::get("sts");
  ASSERT_NE(sts, nullptr);
  EXPECT_EQ(sts->protocol, Protocol::kQuery);
  EXPECT_EQ(sts->xml_namespace, "https://sts.amazonaws.com/doc/2011-06-15/");
  const Operation* gci = sts->findOperation("GetCallerIdentity");
  ASSERT_NE(gci, nullptr);
  EXPECT_EQ(gci->result_wrapper, "GetCallerIdentityResult");
  const Operation* awi = sts->findOperation("AssumeRoleWithWebIdentity");
  ASSERT_NE(awi, nullptr);
  EXPECT_TRUE(awi->auth_none);
  EXPECT_FALSE(gci->auth_none);
  const Shape* expired = sts->findShape("ExpiredTokenException");
  ASSERT_NE(expired, nullptr);
  EXPECT_EQ(expired->error_code, "ExpiredTokenException");
  EXPECT_EQ(expired->error_http_status, 400);
  const Shape* malformed = sts->findShape("MalformedPolicyDocumentException");
  EXPECT_EQ(malformed->error_code, "MalformedPolicyDocument");
}

TEST(ModelTest, CloudWatchSpeaksThreeProtocols) {
  const ServiceModel* cw = Models::get("cloudwatch");
  ASSERT_NE(cw, nullptr);
  EXPECT_EQ(cw->protocol, Protocol::kRpcV2Cbor);
  EXPECT_TRUE(cw->speaks(Protocol::kRpcV2Cbor));
  EXPECT_TRUE(cw->speaks(Protocol::kJson));
  EXPECT_TRUE(cw->speaks(Protocol::kQuery));
  EXPECT_FALSE(cw->speaks(Protocol::kRestXml));
  EXPECT_TRUE(cw->aws_query_compatible);
  EXPECT_EQ(cw->json_version, "1.0");
  EXPECT_EQ(cw->target_prefix, "GraniteServiceVersion20100801");
  EXPECT_EQ(cw->signing_name, "monitoring");
  const Shape* ts = cw->findOperation("PutMetricData")->input->findMember("MetricData")->shape;
  EXPECT_EQ(ts->type, ShapeType::kList);
  const Shape* datum = ts->member->shape;
  EXPECT_EQ(datum->findMember("Timestamp")->shape->type, ShapeType::kTimestamp);
  EXPECT_EQ(datum->findMember("Value")->shape->type, ShapeType::kDouble);
}

TEST(ModelTest, LambdaRestJsonTraits) {
  const ServiceModel* lambda = Models::get("lambda");
  ASSERT_NE(lambda, nullptr);
  const Operation* inv = lambda->findOperation("Invoke");
  EXPECT_EQ(inv->request_uri, "/2015-03-31/functions/{FunctionName}/invocations");
  EXPECT_EQ(inv->input->payload, "Payload");
  EXPECT_EQ(inv->output->findMember("StatusCode")->location, Location::kStatusCode);
  EXPECT_EQ(lambda->findOperation("CreateFunction")->http_status, 201);
}

TEST(ModelTest, ConcurrentFirstUseYieldsOneModel) {
  std::vector<std::thread> threads;
  std::vector<const ServiceModel*> seen(4);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&seen, i] { seen[i] = Models::get("iam"); });
  for (auto& t : threads) t.join();
  ASSERT_NE(seen[0], nullptr);
  for (auto* m : seen) EXPECT_EQ(m, seen[0]);
  EXPECT_GE(Models::loadedCount(), 1u);
}

TEST(ModelTest, LoadAllEmbeddedModels) {
  for (const auto& n : Models::names()) {
    const ServiceModel* m = Models::get(n);
    ASSERT_NE(m, nullptr) << n;
    EXPECT_FALSE(m->operations.empty()) << n;
    for (const auto& [name, op] : m->operations)
      for (const Shape* e : op.errors) EXPECT_TRUE(e->is_exception) << n << " " << name;
  }
  EXPECT_EQ(Models::loadedCount(), Models::names().size());
}

TEST(ModelTest, RejectsBrokenDocuments) {
  EXPECT_THROW(loadModelFromJson("x", "not json"), std::runtime_error);
  EXPECT_THROW(loadModelFromJson("x", R"({"metadata":{"protocol":"json"},"shapes":{"A":{"type":"structure","members":{"b":{"shape":"Missing"}}}}})"),
               std::runtime_error);
  auto m = loadModelFromJson(
      "x", R"({"metadata":{"protocol":"json","jsonVersion":"1.0","targetPrefix":"X"},
              "operations":{"Op":{"name":"Op","http":{"method":"POST","requestUri":"/"},
                                  "input":{"shape":"In"}}},
              "shapes":{"In":{"type":"structure","members":{"A":{"shape":"S"}}},
                        "S":{"type":"string","min":2}}})");
  ASSERT_NE(m->findOperation("Op"), nullptr);
  EXPECT_EQ(m->findOperation("Op")->input->findMember("A")->shape->min, 2.0);
  EXPECT_EQ(m->protocols.size(), 1u);
}

}  // namespace
}  // namespace citadel::protocol
