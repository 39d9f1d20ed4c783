"""STS DecodeAuthorizationMessage and --encode-authorization-messages: denials of the listed
services carry an EC2-style "Encoded authorization failure message: <token>", which a principal
allowed sts:DecodeAuthorizationMessage decodes into AWS's JSON document (real aws CLI and boto3).
"""

import json
import re
import unittest

import harness

MARKER = "Encoded authorization failure message: "
TOKEN_RE = re.compile(re.escape(MARKER) + r"([A-Za-z0-9_-]+)")


def make_user(server, name, policy=None):
    """A user with an access key and, optionally, one inline policy; returns (arn, key, secret)."""
    iam = server.client("iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, key["AccessKeyId"], key["SecretAccessKey"]


def allow(*actions):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}


def cli_error(proc):
    """(code, message) of a failed aws CLI call."""
    m = re.search(r"An error occurred \(([^)]+)\) when calling the \w+ operation"
                  r"(?: \([^)]*\))?: (.*)", proc.stderr, re.S)
    if not m:
        raise AssertionError(f"no AWS error in: {proc.stderr}")
    return m.group(1), m.group(2).strip()


class EncodedMessagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.CitadelServer(extra_args=["--encode-authorization-messages", "kms"])
        cls.server.start()
        s = cls.server
        cls.key_arn = s.client("kms").create_key()["KeyMetadata"]["Arn"]
        cls.user_arn, cls.user_key, cls.user_secret = make_user(s, "nopolicy")
        _, cls.decoder_key, cls.decoder_secret = make_user(
            s, "decoder", allow("sts:DecodeAuthorizationMessage"))

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def denied_token(self, *kms_args):
        proc = self.server.aws("kms", *kms_args, access_key=self.user_key,
                               secret_key=self.user_secret, check=False)
        self.assertNotEqual(proc.returncode, 0)
        code, message = cli_error(proc)
        self.assertEqual(code, "AccessDeniedException")
        m = TOKEN_RE.search(message)
        self.assertIsNotNone(m, message)
        # AWS (EC2): the usual denial text, then the encoded message.
        self.assertTrue(message.startswith(f"User: {self.user_arn} is not authorized"), message)
        self.assertIn(". " + MARKER, message)
        return m.group(1)

    def decode(self, token, key=None, secret=None, check=True):
        return self.server.aws("sts", "decode-authorization-message", "--encoded-message", token,
                               access_key=key or self.decoder_key,
                               secret_key=secret or self.decoder_secret, check=check)

    def test_denial_decodes_to_the_decision(self):
        token = self.denied_token("describe-key", "--key-id", self.key_arn)
        doc = json.loads(self.decode(token).json["DecodedMessage"])
        self.assertIs(doc["allowed"], False)
        self.assertIs(doc["explicitDeny"], False)
        self.assertEqual(doc["matchedStatements"], {"items": []})
        self.assertEqual(doc["failures"], {"items": []})
        ctx = doc["context"]
        self.assertEqual(ctx["action"], "kms:DescribeKey")
        self.assertEqual(ctx["resource"], self.key_arn)
        self.assertEqual(ctx["principal"]["arn"], self.user_arn)
        user_id = self.server.client("iam").get_user(UserName="nopolicy")["User"]["UserId"]
        self.assertEqual(ctx["principal"]["id"], user_id)
        keys = {c["key"]: [v["value"] for v in c["values"]["items"]]
                for c in ctx["conditions"]["items"]}
        self.assertEqual(keys.get("aws:username"), ["nopolicy"])
        self.assertEqual(keys.get("aws:requestedregion"), [self.server.region])

    def test_explicit_deny_names_the_statement(self):
        deny = {"Version": "2012-10-17", "Statement": [
            {"Sid": "NoNewKeys", "Effect": "Deny", "Action": "kms:CreateKey", "Resource": "*"}]}
        arn, key, secret = make_user(self.server, "denied", deny)
        proc = self.server.aws("kms", "create-key", access_key=key, secret_key=secret,
                               check=False)
        code, message = cli_error(proc)
        self.assertEqual(code, "AccessDeniedException")
        self.assertIn("with an explicit deny in an identity-based policy", message)
        token = TOKEN_RE.search(message).group(1)
        # boto3 decodes as the CLI does.
        sts = self.server.client("sts", access_key=self.decoder_key,
                                 secret_key=self.decoder_secret)
        doc = json.loads(sts.decode_authorization_message(EncodedMessage=token)["DecodedMessage"])
        self.assertIs(doc["allowed"], False)
        self.assertIs(doc["explicitDeny"], True)
        [st] = doc["matchedStatements"]["items"]
        self.assertEqual(st["statementId"], "NoNewKeys")
        self.assertEqual(st["effect"], "DENY")
        self.assertEqual(st["actions"]["items"], [{"value": "kms:CreateKey"}])
        self.assertEqual(doc["context"]["principal"]["arn"], arn)
        self.assertEqual(doc["context"]["action"], "kms:CreateKey")

    def test_garbage_and_tampered_tokens_are_invalid(self):
        token = self.denied_token("describe-key", "--key-id", self.key_arn)
        i = len(token) // 2
        tampered = token[:i] + ("B" if token[i] == "A" else "A") + token[i + 1:]
        self.assertNotEqual(tampered, token)
        for bad in ("garbage", tampered, token[:-8]):
            proc = self.decode(bad, check=False)
            self.assertNotEqual(proc.returncode, 0)
            code, _ = cli_error(proc)
            self.assertEqual(code, "InvalidAuthorizationMessageException")
        sts = self.server.client("sts", access_key=self.decoder_key,
                                 secret_key=self.decoder_secret)
        err = harness.expect_aws_error(self, "InvalidAuthorizationMessageException",
                                       sts.decode_authorization_message,
                                       EncodedMessage=tampered)
        self.assertEqual(err.response["ResponseMetadata"]["HTTPStatusCode"], 400)

    def test_token_of_another_account_is_invalid(self):
        token = self.denied_token("describe-key", "--key-id", self.key_arn)
        _, other = harness.run_admin("create-account", data_dir=self.server.data_dir)
        proc = self.decode(token, key=other["AWS_ACCESS_KEY_ID"],
                           secret=other["AWS_SECRET_ACCESS_KEY"], check=False)
        code, _ = cli_error(proc)
        self.assertEqual(code, "InvalidAuthorizationMessageException")
        # The account's root decodes it (root may call sts:DecodeAuthorizationMessage).
        doc = json.loads(self.decode(token, key=self.server.access_key,
                                     secret=self.server.secret_key).json["DecodedMessage"])
        self.assertEqual(doc["context"]["principal"]["arn"], self.user_arn)

    def test_decoding_needs_the_permission(self):
        token = self.denied_token("describe-key", "--key-id", self.key_arn)
        proc = self.decode(token, key=self.user_key, secret=self.user_secret, check=False)
        code, message = cli_error(proc)
        self.assertEqual(code, "AccessDenied")
        self.assertIn("sts:DecodeAuthorizationMessage", message)
        # sts is not in the list: its own denial carries no encoded message.
        self.assertNotIn(MARKER, message)


class WithoutTheOptionTest(unittest.TestCase):
    def test_denials_carry_no_encoded_message(self):
        server = harness.start_server(self)
        _, key, secret = make_user(server, "nopolicy")
        proc = server.aws("kms", "create-key", access_key=key, secret_key=secret, check=False)
        code, message = cli_error(proc)
        self.assertEqual(code, "AccessDeniedException")
        self.assertTrue(message.endswith("because no identity-based policy allows the "
                                         "kms:CreateKey action"), message)
        self.assertNotIn(MARKER, message)

    def test_config_file_selects_services(self):
        server = harness.start_server(self, config={"encode_authorization_messages": ["iam"]})
        _, key, secret = make_user(server, "nopolicy")
        proc = server.aws("iam", "list-users", access_key=key, secret_key=secret, check=False)
        code, message = cli_error(proc)
        self.assertEqual(code, "AccessDenied")
        self.assertRegex(message, re.escape(MARKER) + r"[A-Za-z0-9_-]+$")
        proc = server.aws("kms", "create-key", access_key=key, secret_key=secret, check=False)
        _, message = cli_error(proc)
        self.assertNotIn(MARKER, message)

    def test_bad_service_name_stops_the_start(self):
        proc = harness.serve_expect_failure(
            ["--encode-authorization-messages", "kms:CreateKey"],
            data_dir=self.enterContext(_tmpdir()))
        self.assertIn("not a service name", proc.stderr)


def _tmpdir():
    import tempfile
    return tempfile.TemporaryDirectory(prefix="citadel-e2e-")


if __name__ == "__main__":
    unittest.main()
