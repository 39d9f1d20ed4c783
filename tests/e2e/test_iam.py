"""IAM API end to end: users, groups, roles, managed and inline policies, boundaries, access
keys, GetAccountAuthorizationDetails, and the policies an IAM user's requests are judged by."""

import json
import unittest

import botocore.exceptions

import harness

ALLOW_ALL = json.dumps({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
ALLOW_S3 = {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                           "Resource": "arn:aws:s3:::bucket/*"}]}
TRUST_EC2 = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole"}]}


class IamTestBase(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)
        self.iam = self.s.client("iam")
        self.acct = self.s.account_id

    def assert_error(self, code, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception.response

    def user_client(self, service, user_name):
        """A client signed with a fresh access key of `user_name`."""
        key = self.iam.create_access_key(UserName=user_name)["AccessKey"]
        return self.s.client(service, access_key=key["AccessKeyId"],
                             secret_key=key["SecretAccessKey"])

    def allow_caller_identity(self, user_name):
        """Grants sts:GetCallerIdentity, so key tests do not depend on its IAM exemption."""
        doc = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]}
        self.iam.put_user_policy(UserName=user_name, PolicyName="whoami",
                                 PolicyDocument=json.dumps(doc))


class UsersTest(IamTestBase):
    def test_create_get_user(self):
        created = self.iam.create_user(UserName="bob", Path="/eng/",
                                       Tags=[{"Key": "team", "Value": "blue"}])["User"]
        self.assertEqual(created["Arn"], f"arn:aws:iam::{self.acct}:user/eng/bob")
        self.assertRegex(created["UserId"], r"^AIDA[A-Z0-9]{16}$")
        self.assertEqual(created["Path"], "/eng/")
        got = self.iam.get_user(UserName="bob")["User"]
        self.assertEqual(got["UserId"], created["UserId"])
        self.assertEqual(got["Tags"], [{"Key": "team", "Value": "blue"}])

    def test_duplicate_and_missing_user(self):
        self.iam.create_user(UserName="bob")
        err = self.assert_error("EntityAlreadyExists", self.iam.create_user, UserName="bob")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 409)
        # IAM names are case-insensitive.
        self.assert_error("EntityAlreadyExists", self.iam.create_user, UserName="BOB")
        err = self.assert_error("NoSuchEntity", self.iam.get_user, UserName="alice")
        self.assertEqual(err["Error"]["Message"], "The user with name alice cannot be found.")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 404)

    def test_get_user_without_name_is_the_caller(self):
        root = self.iam.get_user()["User"]
        self.assertEqual(root["Arn"], f"arn:aws:iam::{self.acct}:root")
        self.iam.create_user(UserName="carol")
        me = self.user_client("iam", "carol")
        self.iam.attach_user_policy(UserName="carol",
                                    PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        self.assertEqual(me.get_user()["User"]["UserName"], "carol")

    def test_list_users_paging_and_prefix(self):
        for name in ["u1", "u2", "u3", "u4", "u5"]:
            self.iam.create_user(UserName=name, Path="/a/" if name in ("u2", "u4") else "/")
        first = self.iam.list_users(MaxItems=2)
        self.assertEqual([u["UserName"] for u in first["Users"]], ["u1", "u2"])
        self.assertTrue(first["IsTruncated"])
        second = self.iam.list_users(MaxItems=2, Marker=first["Marker"])
        self.assertEqual([u["UserName"] for u in second["Users"]], ["u3", "u4"])
        third = self.iam.list_users(MaxItems=2, Marker=second["Marker"])
        self.assertEqual([u["UserName"] for u in third["Users"]], ["u5"])
        self.assertFalse(third["IsTruncated"])
        names = [u["UserName"] for u in self.iam.list_users(PathPrefix="/a/")["Users"]]
        self.assertEqual(names, ["u2", "u4"])
        paginated = [u["UserName"] for page in
                     self.iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 2})
                     for u in page["Users"]]
        self.assertEqual(paginated, ["u1", "u2", "u3", "u4", "u5"])

    def test_update_user_rename_and_path(self):
        self.iam.create_user(UserName="old")
        self.iam.create_user(UserName="taken")
        self.assert_error("EntityAlreadyExists", self.iam.update_user, UserName="old",
                          NewUserName="taken")
        self.iam.update_user(UserName="old", NewUserName="new", NewPath="/ops/")
        got = self.iam.get_user(UserName="new")["User"]
        self.assertEqual(got["Arn"], f"arn:aws:iam::{self.acct}:user/ops/new")
        self.assert_error("NoSuchEntity", self.iam.get_user, UserName="old")

    def test_renamed_user_key_authenticates_as_new_name(self):
        self.iam.create_user(UserName="before")
        key = self.iam.create_access_key(UserName="before")["AccessKey"]
        self.allow_caller_identity("before")
        self.iam.update_user(UserName="before", NewUserName="after")
        sts = self.s.client("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        self.assertEqual(sts.get_caller_identity()["Arn"], f"arn:aws:iam::{self.acct}:user/after")

    def test_delete_user_conflicts(self):
        self.iam.create_user(UserName="bob")
        key = self.iam.create_access_key(UserName="bob")["AccessKey"]
        err = self.assert_error("DeleteConflict", self.iam.delete_user, UserName="bob")
        self.assertEqual(err["Error"]["Message"],
                         "Cannot delete entity, must delete access keys first.")
        self.iam.delete_access_key(UserName="bob", AccessKeyId=key["AccessKeyId"])
        self.iam.put_user_policy(UserName="bob", PolicyName="p", PolicyDocument=ALLOW_ALL)
        self.assert_error("DeleteConflict", self.iam.delete_user, UserName="bob")
        self.iam.delete_user_policy(UserName="bob", PolicyName="p")
        self.iam.create_group(GroupName="g")
        self.iam.add_user_to_group(GroupName="g", UserName="bob")
        self.assert_error("DeleteConflict", self.iam.delete_user, UserName="bob")
        self.iam.remove_user_from_group(GroupName="g", UserName="bob")
        self.iam.delete_user(UserName="bob")
        self.assert_error("NoSuchEntity", self.iam.get_user, UserName="bob")
        self.assert_error("NoSuchEntity", self.iam.delete_user, UserName="bob")

    def test_user_tags(self):
        self.iam.create_user(UserName="bob")
        self.iam.tag_user(UserName="bob", Tags=[{"Key": "a", "Value": "1"},
                                                {"Key": "b", "Value": "2"}])
        self.iam.tag_user(UserName="bob", Tags=[{"Key": "a", "Value": "3"}])
        tags = self.iam.list_user_tags(UserName="bob")["Tags"]
        self.assertEqual(tags, [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}])
        self.iam.untag_user(UserName="bob", TagKeys=["a"])
        self.assertEqual(self.iam.list_user_tags(UserName="bob")["Tags"],
                         [{"Key": "b", "Value": "2"}])
        self.assert_error("NoSuchEntity", self.iam.tag_user, UserName="nobody",
                          Tags=[{"Key": "a", "Value": "1"}])

    def test_aws_cli_users(self):
        out = self.s.aws("iam", "create-user", "--user-name", "cli-user").json
        self.assertEqual(out["User"]["UserName"], "cli-user")
        listed = self.s.aws("iam", "list-users").json
        self.assertIn("cli-user", [u["UserName"] for u in listed["Users"]])
        proc = self.s.aws("iam", "get-user", "--user-name", "ghost", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("NoSuchEntity", proc.stderr)


class GroupsTest(IamTestBase):
    def test_group_lifecycle(self):
        g = self.iam.create_group(GroupName="devs", Path="/eng/")["Group"]
        self.assertEqual(g["Arn"], f"arn:aws:iam::{self.acct}:group/eng/devs")
        self.assertRegex(g["GroupId"], r"^AGPA[A-Z0-9]{16}$")
        self.assert_error("EntityAlreadyExists", self.iam.create_group, GroupName="devs")
        for u in ("ann", "ben"):
            self.iam.create_user(UserName=u)
            self.iam.add_user_to_group(GroupName="devs", UserName=u)
        got = self.iam.get_group(GroupName="devs")
        self.assertEqual([u["UserName"] for u in got["Users"]], ["ann", "ben"])
        self.assertEqual(got["Group"]["GroupName"], "devs")
        groups = self.iam.list_groups_for_user(UserName="ann")["Groups"]
        self.assertEqual([x["GroupName"] for x in groups], ["devs"])
        self.assertEqual([x["GroupName"] for x in self.iam.list_groups()["Groups"]], ["devs"])
        err = self.assert_error("DeleteConflict", self.iam.delete_group, GroupName="devs")
        self.assertEqual(err["Error"]["Message"],
                         "Cannot delete entity, must remove users from group first.")
        self.iam.remove_user_from_group(GroupName="devs", UserName="ann")
        self.iam.remove_user_from_group(GroupName="devs", UserName="ben")
        self.assert_error("NoSuchEntity", self.iam.remove_user_from_group, GroupName="devs",
                          UserName="ben")
        self.iam.delete_group(GroupName="devs")
        self.assert_error("NoSuchEntity", self.iam.get_group, GroupName="devs")
        self.assert_error("NoSuchEntity", self.iam.add_user_to_group, GroupName="devs",
                          UserName="ann")


class RolesTest(IamTestBase):
    def test_role_lifecycle(self):
        role = self.iam.create_role(RoleName="app", Path="/svc/",
                                    AssumeRolePolicyDocument=json.dumps(TRUST_EC2),
                                    Description="the app", MaxSessionDuration=7200,
                                    Tags=[{"Key": "env", "Value": "prod"}])["Role"]
        self.assertEqual(role["Arn"], f"arn:aws:iam::{self.acct}:role/svc/app")
        self.assertRegex(role["RoleId"], r"^AROA[A-Z0-9]{16}$")
        got = self.iam.get_role(RoleName="app")["Role"]
        # botocore decodes the URL-encoded document back into a dict.
        self.assertEqual(got["AssumeRolePolicyDocument"], TRUST_EC2)
        self.assertEqual(got["MaxSessionDuration"], 7200)
        self.assertEqual(got["Description"], "the app")
        self.assertEqual(got["Tags"], [{"Key": "env", "Value": "prod"}])
        self.assert_error("EntityAlreadyExists", self.iam.create_role, RoleName="app",
                          AssumeRolePolicyDocument=json.dumps(TRUST_EC2))
        self.assertEqual([r["RoleName"] for r in self.iam.list_roles()["Roles"]], ["app"])
        new_trust = dict(TRUST_EC2)
        new_trust["Statement"] = [dict(TRUST_EC2["Statement"][0],
                                       Principal={"AWS": f"arn:aws:iam::{self.acct}:root"})]
        self.iam.update_assume_role_policy(RoleName="app", PolicyDocument=json.dumps(new_trust))
        self.assertEqual(self.iam.get_role(RoleName="app")["Role"]["AssumeRolePolicyDocument"],
                         new_trust)
        self.iam.tag_role(RoleName="app", Tags=[{"Key": "x", "Value": "y"}])
        self.iam.untag_role(RoleName="app", TagKeys=["env"])
        self.assertEqual(self.iam.list_role_tags(RoleName="app")["Tags"],
                         [{"Key": "x", "Value": "y"}])
        self.iam.attach_role_policy(RoleName="app",
                                    PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        err = self.assert_error("DeleteConflict", self.iam.delete_role, RoleName="app")
        self.assertEqual(err["Error"]["Message"],
                         "Cannot delete entity, must detach all policies first.")
        self.iam.detach_role_policy(RoleName="app",
                                    PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        self.iam.delete_role(RoleName="app")
        self.assert_error("NoSuchEntity", self.iam.get_role, RoleName="app")

    def test_bad_trust_policies(self):
        # A trust policy needs a Principal.
        no_principal = {"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
        self.assert_error("MalformedPolicyDocument", self.iam.create_role, RoleName="r",
                          AssumeRolePolicyDocument=json.dumps(no_principal))
        self.assert_error("MalformedPolicyDocument", self.iam.create_role, RoleName="r",
                          AssumeRolePolicyDocument="{not json")
        self.assert_error("NoSuchEntity", self.iam.get_role, RoleName="r")

    def test_max_session_duration_bounds(self):
        unchecked = self.s.client("iam", parameter_validation=False)
        for bad in (3599, 43201):
            self.assert_error("ValidationError", unchecked.create_role, RoleName="r",
                              AssumeRolePolicyDocument=json.dumps(TRUST_EC2),
                              MaxSessionDuration=bad)
        self.iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST_EC2),
                             MaxSessionDuration=43200)


class ManagedPoliciesTest(IamTestBase):
    def create(self, name="p", doc=None, path="/"):
        return self.iam.create_policy(PolicyName=name, Path=path,
                                      PolicyDocument=json.dumps(doc or ALLOW_S3))["Policy"]

    def test_create_get_list(self):
        p = self.create(path="/team/")
        self.assertEqual(p["Arn"], f"arn:aws:iam::{self.acct}:policy/team/p")
        self.assertRegex(p["PolicyId"], r"^ANPA[A-Z0-9]{16}$")
        self.assertEqual(p["DefaultVersionId"], "v1")
        self.assertEqual(p["AttachmentCount"], 0)
        self.assertEqual(self.iam.get_policy(PolicyArn=p["Arn"])["Policy"]["PolicyId"],
                         p["PolicyId"])
        self.assert_error("EntityAlreadyExists", self.create)
        local = [x["PolicyName"] for x in self.iam.list_policies(Scope="Local")["Policies"]]
        self.assertEqual(local, ["p"])
        aws = [x["Arn"] for x in self.iam.list_policies(Scope="AWS")["Policies"]]
        self.assertIn("arn:aws:iam::aws:policy/AdministratorAccess", aws)
        self.assertNotIn(p["Arn"], aws)
        self.assertEqual(self.iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"], [])
        self.assert_error("NoSuchEntity", self.iam.get_policy,
                          PolicyArn=f"arn:aws:iam::{self.acct}:policy/none")

    def test_malformed_policy(self):
        self.assert_error("MalformedPolicyDocument", self.iam.create_policy, PolicyName="bad",
                          PolicyDocument="{\"Version\": \"2012-10-17\"}")
        with_principal = {"Version": "2012-10-17",
                          "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                                         "Resource": "*"}]}
        self.assert_error("MalformedPolicyDocument", self.iam.create_policy, PolicyName="bad",
                          PolicyDocument=json.dumps(with_principal))

    def test_versions(self):
        p = self.create()
        arn = p["Arn"]
        v2_doc = {"Version": "2012-10-17",
                  "Statement": [{"Effect": "Allow", "Action": "s3:PutObject",
                                 "Resource": "arn:aws:s3:::bucket/*"}]}
        v2 = self.iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(v2_doc),
                                            SetAsDefault=True)["PolicyVersion"]
        self.assertEqual(v2["VersionId"], "v2")
        self.assertTrue(v2["IsDefaultVersion"])
        got = self.iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]
        self.assertEqual(got["Document"], v2_doc)
        self.assertEqual(self.iam.get_policy_version(PolicyArn=arn, VersionId="v1")
                         ["PolicyVersion"]["Document"], ALLOW_S3)
        self.assertEqual(self.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"], "v2")
        for _ in range(3):
            self.iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ALLOW_S3))
        err = self.assert_error("LimitExceeded", self.iam.create_policy_version, PolicyArn=arn,
                                PolicyDocument=json.dumps(ALLOW_S3))
        self.assertIn("5 versions", err["Error"]["Message"])
        versions = self.iam.list_policy_versions(PolicyArn=arn)["Versions"]
        self.assertEqual([v["VersionId"] for v in versions], ["v5", "v4", "v3", "v2", "v1"])
        self.assertEqual([v["IsDefaultVersion"] for v in versions],
                         [False, False, False, True, False])
        self.assert_error("DeleteConflict", self.iam.delete_policy_version, PolicyArn=arn,
                          VersionId="v2")
        self.iam.set_default_policy_version(PolicyArn=arn, VersionId="v5")
        self.iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
        self.assert_error("NoSuchEntity", self.iam.get_policy_version, PolicyArn=arn,
                          VersionId="v2")
        self.assert_error("NoSuchEntity", self.iam.set_default_policy_version, PolicyArn=arn,
                          VersionId="v9")
        # A policy with several versions cannot be deleted until they are gone.
        self.assert_error("DeleteConflict", self.iam.delete_policy, PolicyArn=arn)
        for v in ("v1", "v3", "v4"):
            self.iam.delete_policy_version(PolicyArn=arn, VersionId=v)
        self.iam.delete_policy(PolicyArn=arn)
        self.assert_error("NoSuchEntity", self.iam.get_policy, PolicyArn=arn)

    def test_attach_detach_and_entities(self):
        arn = self.create()["Arn"]
        self.iam.create_user(UserName="u")
        self.iam.create_group(GroupName="g")
        self.iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST_EC2))
        self.iam.attach_user_policy(UserName="u", PolicyArn=arn)
        self.iam.attach_group_policy(GroupName="g", PolicyArn=arn)
        self.iam.attach_role_policy(RoleName="r", PolicyArn=arn)
        expected = [{"PolicyName": "p", "PolicyArn": arn}]
        self.assertEqual(self.iam.list_attached_user_policies(UserName="u")["AttachedPolicies"],
                         expected)
        self.assertEqual(self.iam.list_attached_group_policies(GroupName="g")["AttachedPolicies"],
                         expected)
        self.assertEqual(self.iam.list_attached_role_policies(RoleName="r")["AttachedPolicies"],
                         expected)
        self.assertEqual(self.iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"], 3)
        ents = self.iam.list_entities_for_policy(PolicyArn=arn)
        self.assertEqual([x["UserName"] for x in ents["PolicyUsers"]], ["u"])
        self.assertEqual([x["GroupName"] for x in ents["PolicyGroups"]], ["g"])
        self.assertEqual([x["RoleName"] for x in ents["PolicyRoles"]], ["r"])
        only_roles = self.iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")
        self.assertEqual(only_roles["PolicyUsers"], [])
        attached = [x["Arn"] for x in
                    self.iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]]
        self.assertEqual(attached, [arn])
        err = self.assert_error("DeleteConflict", self.iam.delete_policy, PolicyArn=arn)
        self.assertEqual(err["Error"]["Message"], "Cannot delete a policy attached to entities.")
        self.iam.detach_user_policy(UserName="u", PolicyArn=arn)
        self.iam.detach_group_policy(GroupName="g", PolicyArn=arn)
        self.iam.detach_role_policy(RoleName="r", PolicyArn=arn)
        self.assert_error("NoSuchEntity", self.iam.detach_user_policy, UserName="u",
                          PolicyArn=arn)
        self.assert_error("NoSuchEntity", self.iam.attach_user_policy, UserName="u",
                          PolicyArn=f"arn:aws:iam::{self.acct}:policy/missing")
        self.iam.delete_policy(PolicyArn=arn)


class InlinePoliciesTest(IamTestBase):
    def test_inline_policies_for_each_kind(self):
        self.iam.create_user(UserName="u")
        self.iam.create_group(GroupName="g")
        self.iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST_EC2))
        cases = [("user", "UserName", "u"), ("group", "GroupName", "g"), ("role", "RoleName", "r")]
        for kind, member, name in cases:
            put = getattr(self.iam, f"put_{kind}_policy")
            get = getattr(self.iam, f"get_{kind}_policy")
            lst = getattr(self.iam, f"list_{kind}_policies")
            delete = getattr(self.iam, f"delete_{kind}_policy")
            put(**{member: name}, PolicyName="b", PolicyDocument=json.dumps(ALLOW_S3))
            put(**{member: name}, PolicyName="a", PolicyDocument=ALLOW_ALL)
            got = get(**{member: name}, PolicyName="b")
            self.assertEqual(got["PolicyDocument"], ALLOW_S3)
            self.assertEqual(got[member], name)
            self.assertEqual(lst(**{member: name})["PolicyNames"], ["a", "b"])
            self.assert_error("MalformedPolicyDocument", put, **{member: name}, PolicyName="c",
                              PolicyDocument="[]")
            delete(**{member: name}, PolicyName="b")
            err = self.assert_error("NoSuchEntity", get, **{member: name}, PolicyName="b")
            self.assertEqual(err["Error"]["Message"],
                             f"The {kind} policy with name b cannot be found.")
            self.assertEqual(lst(**{member: name})["PolicyNames"], ["a"])
        self.assert_error("NoSuchEntity", self.iam.put_user_policy, UserName="ghost",
                          PolicyName="a", PolicyDocument=ALLOW_ALL)


class BoundaryTest(IamTestBase):
    def test_put_delete_boundaries(self):
        arn = self.iam.create_policy(PolicyName="limit",
                                     PolicyDocument=json.dumps(ALLOW_S3))["Policy"]["Arn"]
        self.iam.create_user(UserName="u", PermissionsBoundary=arn)
        self.assertEqual(self.iam.get_user(UserName="u")["User"]["PermissionsBoundary"],
                         {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn})
        self.iam.delete_user_permissions_boundary(UserName="u")
        self.assertNotIn("PermissionsBoundary", self.iam.get_user(UserName="u")["User"])
        self.iam.put_user_permissions_boundary(UserName="u", PermissionsBoundary=arn)
        self.iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST_EC2))
        self.iam.put_role_permissions_boundary(RoleName="r", PermissionsBoundary=arn)
        self.assertEqual(self.iam.get_role(RoleName="r")["Role"]["PermissionsBoundary"]
                         ["PermissionsBoundaryArn"], arn)
        self.assertEqual(self.iam.get_policy(PolicyArn=arn)["Policy"]
                         ["PermissionsBoundaryUsageCount"], 2)
        self.assert_error("DeleteConflict", self.iam.delete_policy, PolicyArn=arn)
        self.iam.delete_role_permissions_boundary(RoleName="r")
        self.assert_error("NoSuchEntity", self.iam.put_user_permissions_boundary, UserName="u",
                          PermissionsBoundary=f"arn:aws:iam::{self.acct}:policy/none")


class AccessKeysTest(IamTestBase):
    def test_key_authenticates_as_the_user(self):
        # AWS: GetCallerIdentity needs no permission, so the user has no policy here.
        user = self.iam.create_user(UserName="kate")["User"]
        key = self.iam.create_access_key(UserName="kate")["AccessKey"]
        self.assertEqual(key["UserName"], "kate")
        self.assertEqual(key["Status"], "Active")
        self.assertRegex(key["AccessKeyId"], r"^AKIA[A-Z0-9]{16}$")
        self.assertEqual(len(key["SecretAccessKey"]), 40)
        sts = self.s.client("sts", access_key=key["AccessKeyId"],
                            secret_key=key["SecretAccessKey"])
        ident = sts.get_caller_identity()
        self.assertEqual(ident["Arn"], user["Arn"])
        self.assertEqual(ident["UserId"], user["UserId"])
        self.assertEqual(ident["Account"], self.acct)

    def test_key_lifecycle_and_quota(self):
        self.iam.create_user(UserName="kate")
        self.allow_caller_identity("kate")
        k1 = self.iam.create_access_key(UserName="kate")["AccessKey"]
        k2 = self.iam.create_access_key(UserName="kate")["AccessKey"]
        err = self.assert_error("LimitExceeded", self.iam.create_access_key, UserName="kate")
        self.assertEqual(err["Error"]["Message"], "Cannot exceed quota for AccessKeysPerUser: 2")
        listed = self.iam.list_access_keys(UserName="kate")["AccessKeyMetadata"]
        self.assertEqual(sorted(k["AccessKeyId"] for k in listed),
                         sorted([k1["AccessKeyId"], k2["AccessKeyId"]]))
        self.assertTrue(all(k["UserName"] == "kate" and k["Status"] == "Active" for k in listed))
        self.assertNotIn("SecretAccessKey", listed[0])

        self.iam.update_access_key(UserName="kate", AccessKeyId=k1["AccessKeyId"],
                                   Status="Inactive")
        statuses = {k["AccessKeyId"]: k["Status"]
                    for k in self.iam.list_access_keys(UserName="kate")["AccessKeyMetadata"]}
        self.assertEqual(statuses[k1["AccessKeyId"]], "Inactive")
        sts = self.s.client("sts", access_key=k1["AccessKeyId"], secret_key=k1["SecretAccessKey"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.get_caller_identity()
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidClientTokenId")
        self.iam.update_access_key(UserName="kate", AccessKeyId=k1["AccessKeyId"],
                                   Status="Active")
        self.assertEqual(sts.get_caller_identity()["Arn"].split("/")[-1], "kate")

        last = self.iam.get_access_key_last_used(AccessKeyId=k2["AccessKeyId"])
        self.assertEqual(last["UserName"], "kate")
        self.assertEqual(last["AccessKeyLastUsed"]["ServiceName"], "N/A")

        self.iam.create_user(UserName="other")
        self.assert_error("NoSuchEntity", self.iam.delete_access_key, UserName="other",
                          AccessKeyId=k1["AccessKeyId"])
        self.iam.delete_access_key(UserName="kate", AccessKeyId=k1["AccessKeyId"])
        self.assertEqual(len(self.iam.list_access_keys(UserName="kate")["AccessKeyMetadata"]), 1)
        self.assert_error("NoSuchEntity", self.iam.delete_access_key, UserName="kate",
                          AccessKeyId=k1["AccessKeyId"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.get_caller_identity()
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidClientTokenId")
        self.assert_error("NoSuchEntity", self.iam.create_access_key, UserName="ghost")

    def test_aws_cli_access_keys(self):
        self.s.aws("iam", "create-user", "--user-name", "cli")
        self.allow_caller_identity("cli")
        key = self.s.aws("iam", "create-access-key", "--user-name", "cli").json["AccessKey"]
        ident = self.s.aws("sts", "get-caller-identity", access_key=key["AccessKeyId"],
                           secret_key=key["SecretAccessKey"]).json
        self.assertEqual(ident["Arn"], f"arn:aws:iam::{self.acct}:user/cli")


class AuthorizationDetailsTest(IamTestBase):
    def test_account_authorization_details(self):
        pol = self.iam.create_policy(PolicyName="p",
                                     PolicyDocument=json.dumps(ALLOW_S3))["Policy"]["Arn"]
        self.iam.create_user(UserName="u", Tags=[{"Key": "k", "Value": "v"}])
        self.iam.create_group(GroupName="g")
        self.iam.add_user_to_group(GroupName="g", UserName="u")
        self.iam.put_user_policy(UserName="u", PolicyName="inline", PolicyDocument=ALLOW_ALL)
        self.iam.attach_group_policy(GroupName="g", PolicyArn=pol)
        self.iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST_EC2))
        self.iam.attach_role_policy(RoleName="r",
                                    PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        d = self.iam.get_account_authorization_details()
        (user,) = d["UserDetailList"]
        self.assertEqual(user["UserName"], "u")
        self.assertEqual(user["GroupList"], ["g"])
        self.assertEqual(user["UserPolicyList"],
                         [{"PolicyName": "inline", "PolicyDocument": json.loads(ALLOW_ALL)}])
        self.assertEqual(user["Tags"], [{"Key": "k", "Value": "v"}])
        (group,) = d["GroupDetailList"]
        self.assertEqual(group["AttachedManagedPolicies"], [{"PolicyName": "p", "PolicyArn": pol}])
        (role,) = d["RoleDetailList"]
        self.assertEqual(role["AssumeRolePolicyDocument"], TRUST_EC2)
        self.assertEqual(role["AttachedManagedPolicies"][0]["PolicyName"], "AdministratorAccess")
        by_name = {p["PolicyName"]: p for p in d["Policies"]}
        self.assertEqual(set(by_name), {"p", "AdministratorAccess"})
        self.assertEqual(by_name["p"]["PolicyVersionList"][0]["Document"], ALLOW_S3)
        only_users = self.iam.get_account_authorization_details(Filter=["User"])
        self.assertEqual(len(only_users["UserDetailList"]), 1)
        self.assertEqual(only_users["RoleDetailList"], [])
        self.assertEqual(only_users["Policies"], [])


class EnforcementTest(IamTestBase):
    """Requests of an IAM user are judged by its policies (the authorizer reads them)."""

    def test_user_without_policy_is_denied(self):
        self.iam.create_user(UserName="nobody")
        client = self.user_client("iam", "nobody")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            client.list_users()
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")
        ct = self.user_client("cloudtrail", "nobody")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            ct.lookup_events(MaxResults=1)
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")

    def test_user_with_policy_is_allowed(self):
        self.iam.create_user(UserName="reader")
        client = self.user_client("iam", "reader")
        with self.assertRaises(botocore.exceptions.ClientError):
            client.list_users()
        doc = {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}]}
        self.iam.put_user_policy(UserName="reader", PolicyName="list",
                                 PolicyDocument=json.dumps(doc))
        names = [u["UserName"] for u in client.list_users()["Users"]]
        self.assertEqual(names, ["reader"])
        # Not granted: CreateUser.
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            client.create_user(UserName="x")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")

    def test_group_policy_applies_to_members(self):
        self.iam.create_user(UserName="member")
        client = self.user_client("iam", "member")
        self.iam.create_group(GroupName="readers")
        self.iam.attach_group_policy(GroupName="readers",
                                     PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        self.iam.add_user_to_group(GroupName="readers", UserName="member")
        self.assertEqual([g["GroupName"] for g in client.list_groups()["Groups"]], ["readers"])
        self.iam.remove_user_from_group(GroupName="readers", UserName="member")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            client.list_groups()
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")


if __name__ == "__main__":
    unittest.main()
