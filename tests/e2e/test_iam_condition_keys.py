"""Service condition keys end to end: AWS's documented permissions-boundary delegation (an
administrator may create and manage users only with a given boundary, and may not remove or
edit it), iam:PolicyARN on attaching, aws:ResourceTag / iam:ResourceTag of users and roles,
and Organizations' organizations:ServicePrincipal and organizations:PolicyType."""

import json
import unittest

import botocore.exceptions

import harness


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALLOW_ALL = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})


class ConditionKeysTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)
        self.iam = self.s.client("iam")
        self.acct = self.s.account_id

    def assert_denied(self, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertIn(cm.exception.response["Error"]["Code"],
                      ("AccessDenied", "AccessDeniedException"), cm.exception.response)

    def user_client(self, name, policy, service="iam"):
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return self.s.client(service, access_key=key["AccessKeyId"],
                             secret_key=key["SecretAccessKey"])

    def test_permissions_boundary_delegation(self):
        # AWS: IAM User Guide, "Delegating responsibility to others using permissions
        # boundaries" — Maria may create users only with XCompanyBoundaries.
        boundary = self.iam.create_policy(PolicyName="XCompanyBoundaries",
                                          PolicyDocument=ALLOW_ALL)["Policy"]["Arn"]
        other = self.iam.create_policy(PolicyName="Other", PolicyDocument=ALLOW_ALL)[
            "Policy"]["Arn"]
        maria = self.user_client("maria", doc(
            {"Sid": "CreateOrChangeOnlyWithBoundary", "Effect": "Allow",
             "Action": ["iam:CreateUser", "iam:DeleteUserPolicy", "iam:AttachUserPolicy",
                        "iam:DetachUserPolicy", "iam:PutUserPermissionsBoundary",
                        "iam:PutUserPolicy"],
             "Resource": "*",
             "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}}},
            {"Sid": "IAMTasks", "Effect": "Allow",
             "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
            {"Sid": "NoBoundaryPolicyEdit", "Effect": "Deny",
             "Action": ["iam:CreatePolicyVersion", "iam:DeletePolicy",
                        "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"],
             "Resource": [boundary]},
            {"Sid": "NoBoundaryUserDelete", "Effect": "Deny",
             "Action": "iam:DeleteUserPermissionsBoundary", "Resource": "*"}))

        self.assert_denied(maria.create_user, UserName="free")
        self.assert_denied(maria.create_user, UserName="free", PermissionsBoundary=other)
        user = maria.create_user(UserName="bounded", PermissionsBoundary=boundary)["User"]
        self.assertEqual(user["PermissionsBoundary"]["PermissionsBoundaryArn"], boundary)

        # Policies only on users that carry the boundary.
        maria.attach_user_policy(UserName="bounded", PolicyArn=other)
        maria.put_user_policy(UserName="bounded", PolicyName="inline", PolicyDocument=ALLOW_ALL)
        maria.delete_user_policy(UserName="bounded", PolicyName="inline")
        maria.detach_user_policy(UserName="bounded", PolicyArn=other)
        self.iam.create_user(UserName="unbounded")
        self.assert_denied(maria.attach_user_policy, UserName="unbounded", PolicyArn=other)
        self.assert_denied(maria.put_user_policy, UserName="unbounded", PolicyName="x",
                           PolicyDocument=ALLOW_ALL)
        # The boundary cannot be swapped, removed or edited.
        self.assert_denied(maria.put_user_permissions_boundary, UserName="bounded",
                           PermissionsBoundary=other)
        maria.put_user_permissions_boundary(UserName="bounded", PermissionsBoundary=boundary)
        self.assert_denied(maria.delete_user_permissions_boundary, UserName="bounded")
        self.assert_denied(maria.create_policy_version, PolicyArn=boundary,
                           PolicyDocument=ALLOW_ALL)
        self.assertEqual(self.iam.get_user(UserName="bounded")["User"]["PermissionsBoundary"][
            "PermissionsBoundaryArn"], boundary)

        # The same through the AWS CLI.
        maria_key = self.iam.create_access_key(UserName="maria")["AccessKey"]
        kw = dict(access_key=maria_key["AccessKeyId"], secret_key=maria_key["SecretAccessKey"])
        proc = self.s.aws("iam", "create-user", "--user-name", "cli-free", check=False, **kw)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("AccessDenied", proc.stderr)
        self.s.aws("iam", "create-user", "--user-name", "cli-bounded",
                   "--permissions-boundary", boundary, **kw)

    def test_policy_arn_condition(self):
        readonly = self.iam.create_policy(PolicyName="ReadOnly", PolicyDocument=ALLOW_ALL)[
            "Policy"]["Arn"]
        self.iam.create_user(UserName="target")
        self.iam.create_group(GroupName="team")
        admin = self.user_client("attacher", doc(
            {"Effect": "Allow", "Action": ["iam:AttachUserPolicy", "iam:AttachGroupPolicy"],
             "Resource": "*", "Condition": {"ArnEquals": {"iam:PolicyARN": readonly}}}))
        admin.attach_user_policy(UserName="target", PolicyArn=readonly)
        admin.attach_group_policy(GroupName="team", PolicyArn=readonly)
        self.assert_denied(admin.attach_user_policy, UserName="target",
                           PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        self.assert_denied(admin.attach_group_policy, GroupName="team",
                           PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")

    def test_resource_tags_of_users_and_roles(self):
        self.iam.create_user(UserName="blue", Tags=[{"Key": "team", "Value": "blue"}])
        self.iam.create_user(UserName="red", Tags=[{"Key": "team", "Value": "red"}])
        trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.acct}:root"},
                     "Action": "sts:AssumeRole"})
        self.iam.create_role(RoleName="blue-role", AssumeRolePolicyDocument=trust,
                             Tags=[{"Key": "team", "Value": "blue"}])
        self.iam.create_role(RoleName="plain-role", AssumeRolePolicyDocument=trust)
        client = self.user_client("viewer", doc(
            {"Effect": "Allow", "Action": ["iam:GetUser", "iam:TagUser"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}}},
            {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*",
             "Condition": {"StringEquals": {"iam:ResourceTag/team": "blue"}}}))
        self.assertEqual(client.get_user(UserName="blue")["User"]["UserName"], "blue")
        self.assert_denied(client.get_user, UserName="red")
        client.tag_user(UserName="blue", Tags=[{"Key": "seen", "Value": "yes"}])
        self.assertEqual(client.get_role(RoleName="blue-role")["Role"]["RoleName"], "blue-role")
        self.assert_denied(client.get_role, RoleName="plain-role")
        # Retagging changes the decision at once.
        self.iam.tag_user(UserName="red", Tags=[{"Key": "team", "Value": "blue"}])
        client.get_user(UserName="red")

    def test_organizations_condition_keys(self):
        org = self.s.client("organizations")
        org.create_organization(FeatureSet="ALL")
        client = self.user_client("org-op", doc(
            {"Effect": "Allow", "Action": "organizations:EnableAWSServiceAccess",
             "Resource": "*",
             "Condition": {"StringEquals": {
                 "organizations:ServicePrincipal": "config.amazonaws.com"}}},
            {"Effect": "Allow", "Action": ["organizations:CreatePolicy",
                                           "organizations:DescribePolicy"],
             "Resource": "*",
             "Condition": {"StringEquals": {"organizations:PolicyType": "SERVICE_CONTROL_POLICY"}}},
            {"Effect": "Allow", "Action": "organizations:ListPolicies", "Resource": "*",
             "Condition": {"StringEquals": {"organizations:PolicyType": "TAG_POLICY"}}}),
            service="organizations")
        client.enable_aws_service_access(ServicePrincipal="config.amazonaws.com")
        self.assert_denied(client.enable_aws_service_access,
                           ServicePrincipal="guardduty.amazonaws.com")
        created = client.create_policy(Content=doc({"Effect": "Deny", "Action": "s3:*",
                                                    "Resource": "*"}),
                                       Description="d", Name="scp",
                                       Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"]
        # DescribePolicy sees the stored policy's type.
        self.assertEqual(client.describe_policy(PolicyId=created["Id"])["Policy"][
            "PolicySummary"]["Name"], "scp")
        self.assert_denied(client.list_policies, Filter="SERVICE_CONTROL_POLICY")


if __name__ == "__main__":
    unittest.main()
