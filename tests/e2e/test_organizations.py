"""Organizations end to end: an organization with a created member account that the
management account reaches through OrganizationAccountAccessRole, OUs and MoveAccount, SCPs
(FullAWSAccess by default) that bind a member account's root user but never the management
account, and aws:PrincipalOrgID in a role trust policy."""

import json
import time
import unittest

import botocore.exceptions

import harness

DENY_CREATE_USER = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}],
})


def wait_create_account(org, request_id, limit=30.0):
    """Polls DescribeCreateAccountStatus until the request leaves IN_PROGRESS (as AWS's own
    guidance says to); the final status."""
    deadline = time.monotonic() + limit
    while True:
        status = org.describe_create_account_status(
            CreateAccountRequestId=request_id)["CreateAccountStatus"]
        if status["State"] != "IN_PROGRESS" or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


class OrganizationsTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)
        self.org = self.s.client("organizations")
        self.iam = self.s.client("iam")
        self.acct = self.s.account_id

    def assert_error(self, code, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception

    def create_org(self):
        org = self.org.create_organization(FeatureSet="ALL")["Organization"]
        root = self.org.list_roots()["Roots"][0]
        return org, root

    def create_member(self, name="member", email="member@example.com"):
        status = self.org.create_account(Email=email, AccountName=name)["CreateAccountStatus"]
        self.assertEqual(status["State"], "IN_PROGRESS")
        self.assertRegex(status["Id"], r"^car-[a-z0-9]{8,32}$")
        done = wait_create_account(self.org, status["Id"])
        self.assertEqual(done["State"], "SUCCEEDED")
        return done["AccountId"]

    def member_root_clients(self, account_id):
        _, keys = harness.run_admin("create-root-key", "--account-id", account_id,
                                    data_dir=self.s.data_dir)
        kw = dict(access_key=keys["AWS_ACCESS_KEY_ID"], secret_key=keys["AWS_SECRET_ACCESS_KEY"])
        return self.s.client("iam", **kw), self.s.client("organizations", **kw)

    def test_organization_root_and_errors(self):
        org, root = self.create_org()
        self.assertRegex(org["Id"], r"^o-[a-z0-9]{10}$")
        self.assertEqual(org["MasterAccountId"], self.acct)
        self.assertEqual(org["FeatureSet"], "ALL")
        self.assertRegex(root["Id"], r"^r-[a-z0-9]{4}$")
        self.assertEqual(root["PolicyTypes"],
                         [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}])
        self.assertEqual(self.org.describe_organization()["Organization"]["Id"], org["Id"])
        self.assert_error("AlreadyInOrganizationException", self.org.create_organization)
        # FullAWSAccess is attached to the root.
        pols = self.org.list_policies_for_target(TargetId=root["Id"],
                                                 Filter="SERVICE_CONTROL_POLICY")["Policies"]
        self.assertEqual([p["Id"] for p in pols], ["p-FullAWSAccess"])
        self.assertTrue(pols[0]["AwsManaged"])
        # Deleting an organization with no member account.
        self.org.delete_organization()
        self.assert_error("AWSOrganizationsNotInUseException", self.org.describe_organization)

    def test_accounts_ous_and_member_access(self):
        org, root = self.create_org()
        member = self.create_member()
        self.assertNotEqual(member, self.acct)
        ids = {a["Id"] for a in self.org.list_accounts()["Accounts"]}
        self.assertEqual(ids, {self.acct, member})
        self.assertEqual(self.org.describe_account(AccountId=member)["Account"]["Name"], "member")
        self.assert_error("AccountNotFoundException", self.org.describe_account,
                          AccountId="111111111111")
        self.assert_error("OrganizationNotEmptyException", self.org.delete_organization)

        ou = self.org.create_organizational_unit(ParentId=root["Id"], Name="Sandbox")[
            "OrganizationalUnit"]
        self.assertRegex(ou["Id"], r"^ou-" + root["Id"][2:] + r"-[a-z0-9]{8}$")
        self.assert_error("DuplicateOrganizationalUnitException",
                          self.org.create_organizational_unit, ParentId=root["Id"],
                          Name="Sandbox")
        self.org.move_account(AccountId=member, SourceParentId=root["Id"],
                              DestinationParentId=ou["Id"])
        self.assertEqual(self.org.list_parents(ChildId=member)["Parents"],
                         [{"Id": ou["Id"], "Type": "ORGANIZATIONAL_UNIT"}])
        children = self.org.list_children(ParentId=ou["Id"], ChildType="ACCOUNT")["Children"]
        self.assertEqual(children, [{"Id": member, "Type": "ACCOUNT"}])
        in_ou = self.org.list_accounts_for_parent(ParentId=ou["Id"])["Accounts"]
        self.assertEqual([a["Id"] for a in in_ou], [member])
        self.assert_error("OrganizationalUnitNotEmptyException",
                          self.org.delete_organizational_unit, OrganizationalUnitId=ou["Id"])

        # The member account's root is not the management account.
        _, member_org = self.member_root_clients(member)
        self.assertEqual(member_org.describe_organization()["Organization"]["Id"], org["Id"])
        self.assert_error("AccessDeniedException", member_org.list_accounts)

        # A management-account IAM user assumes OrganizationAccountAccessRole in the member.
        self.iam.create_user(UserName="ops")
        self.iam.put_user_policy(UserName="ops", PolicyName="assume", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
        key = self.iam.create_access_key(UserName="ops")["AccessKey"]
        sts = self.s.client("sts", access_key=key["AccessKeyId"],
                            secret_key=key["SecretAccessKey"])
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
            RoleSessionName="admin")["Credentials"]
        member_iam = self.s.client("iam", access_key=creds["AccessKeyId"],
                                   secret_key=creds["SecretAccessKey"],
                                   session_token=creds["SessionToken"])
        made = member_iam.create_user(UserName="from-management")["User"]
        self.assertEqual(made["Arn"], f"arn:aws:iam::{member}:user/from-management")

    def test_scp_denies_member_root_not_management(self):
        org, root = self.create_org()
        member = self.create_member()
        ou = self.org.create_organizational_unit(ParentId=root["Id"], Name="Locked")[
            "OrganizationalUnit"]
        self.org.move_account(AccountId=member, SourceParentId=root["Id"],
                              DestinationParentId=ou["Id"])
        member_iam, _ = self.member_root_clients(member)
        member_iam.create_user(UserName="before")

        self.assert_error("MalformedPolicyDocumentException", self.org.create_policy,
                          Name="bad", Description="", Type="SERVICE_CONTROL_POLICY",
                          Content='{"Version":"2012-10-17","Statement":[{"Effect":"Deny"}]}')
        policy = self.org.create_policy(Name="no-users", Description="deny users",
                                        Type="SERVICE_CONTROL_POLICY",
                                        Content=DENY_CREATE_USER)["Policy"]["PolicySummary"]
        self.assertRegex(policy["Id"], r"^p-[a-z0-9]{8}$")
        self.org.attach_policy(PolicyId=policy["Id"], TargetId=ou["Id"])
        self.assert_error("DuplicatePolicyAttachmentException", self.org.attach_policy,
                          PolicyId=policy["Id"], TargetId=ou["Id"])
        targets = self.org.list_targets_for_policy(PolicyId=policy["Id"])["Targets"]
        self.assertEqual([(t["TargetId"], t["Type"]) for t in targets],
                         [(ou["Id"], "ORGANIZATIONAL_UNIT")])
        self.assert_error("PolicyInUseException", self.org.delete_policy, PolicyId=policy["Id"])

        err = self.assert_error("AccessDenied", member_iam.create_user, UserName="denied")
        self.assertIn("service control policy", err.response["Error"]["Message"])
        # Other actions of the member root still pass (FullAWSAccess at every level).
        member_iam.list_users()
        # The management account is never bound by SCPs, even one attached to the root.
        self.org.attach_policy(PolicyId=policy["Id"], TargetId=root["Id"])
        self.iam.create_user(UserName="management-user")

        self.org.detach_policy(PolicyId=policy["Id"], TargetId=ou["Id"])
        self.assert_error("PolicyNotAttachedException", self.org.detach_policy,
                          PolicyId=policy["Id"], TargetId=ou["Id"])
        self.assert_error("AccessDenied", member_iam.create_user, UserName="still-root")
        self.org.detach_policy(PolicyId=policy["Id"], TargetId=root["Id"])
        member_iam.create_user(UserName="after")
        # Removing FullAWSAccess from the OU leaves no allowing SCP at that level.
        self.org.attach_policy(PolicyId=policy["Id"], TargetId=ou["Id"])
        self.org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=ou["Id"])
        err = self.assert_error("AccessDenied", member_iam.list_users)
        self.assertIn("service control policy", err.response["Error"]["Message"])
        e = self.assert_error("ConstraintViolationException", self.org.detach_policy,
                              PolicyId=policy["Id"], TargetId=ou["Id"])
        self.assertEqual(e.response["Reason"], "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")

    def test_principal_org_id_in_trust_policy(self):
        org, _ = self.create_org()
        member = self.create_member()
        member_iam, _ = self.member_root_clients(member)
        # A role in the management account trusting any principal of the organization.
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": org["Id"]}}}]})
        role_arn = self.iam.create_role(RoleName="org-shared",
                                        AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        member_iam.create_user(UserName="dev")
        member_iam.put_user_policy(UserName="dev", PolicyName="a", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
        key = member_iam.create_access_key(UserName="dev")["AccessKey"]
        sts = self.s.client("sts", access_key=key["AccessKeyId"],
                            secret_key=key["SecretAccessKey"])
        sts.assume_role(RoleArn=role_arn, RoleSessionName="member-dev")
        # After the organization changes id, the condition no longer matches.
        self.iam.update_assume_role_policy(RoleName="org-shared", PolicyDocument=trust.replace(
            org["Id"], "o-0000000000"))
        self.assert_error("AccessDenied", sts.assume_role, RoleArn=role_arn, RoleSessionName="member-dev2")

    def test_service_access_and_delegated_admins(self):
        self.create_org()
        member = self.create_member()
        self.org.enable_aws_service_access(ServicePrincipal="guardduty.amazonaws.com")
        enabled = self.org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
        self.assertEqual([e["ServicePrincipal"] for e in enabled], ["guardduty.amazonaws.com"])
        self.org.register_delegated_administrator(AccountId=member,
                                                  ServicePrincipal="guardduty.amazonaws.com")
        self.assert_error("AccountAlreadyRegisteredException",
                          self.org.register_delegated_administrator, AccountId=member,
                          ServicePrincipal="guardduty.amazonaws.com")
        e = self.assert_error("ConstraintViolationException",
                              self.org.register_delegated_administrator, AccountId=self.acct,
                              ServicePrincipal="guardduty.amazonaws.com")
        admins = self.org.list_delegated_administrators()["DelegatedAdministrators"]
        self.assertEqual([a["Id"] for a in admins], [member])

    def create_account_results(self):
        """The CreateAccountResult records of the management account (aws CLI lookup-events)."""
        out = self.s.aws("cloudtrail", "lookup-events", "--lookup-attributes",
                         "AttributeKey=EventName,AttributeValue=CreateAccountResult").json
        return [json.loads(e["CloudTrailEvent"]) for e in out["Events"]]

    def test_create_account_completion_is_recorded(self):
        self.create_org()
        status = self.org.create_account(Email="rec@example.com",
                                         AccountName="recorded")["CreateAccountStatus"]
        done = wait_create_account(self.org, status["Id"])
        self.assertEqual(done["State"], "SUCCEEDED")
        # The record commits with the account, so it is there once the status says SUCCEEDED.
        [rec] = self.create_account_results()
        self.assertEqual(rec["eventType"], "AwsServiceEvent")
        self.assertEqual(rec["eventName"], "CreateAccountResult")
        self.assertEqual(rec["eventSource"], "organizations.amazonaws.com")
        self.assertEqual(rec["recipientAccountId"], self.acct)
        self.assertEqual(rec["userIdentity"]["invokedBy"], "AWS Internal")
        self.assertIsNone(rec["requestParameters"])
        st = rec["serviceEventDetails"]["createAccountStatus"]
        self.assertEqual(st["id"], status["Id"])
        self.assertEqual(st["state"], "SUCCEEDED")
        self.assertEqual(st["accountId"], done["AccountId"])
        self.assertIn("accountName", st)
        self.assertIn("requestedTimestamp", st)
        self.assertIn("completedTimestamp", st)

        # A failed request is recorded too, with its reason.
        status = self.org.create_account(Email="rec@example.com",
                                         AccountName="again")["CreateAccountStatus"]
        self.assertEqual(wait_create_account(self.org, status["Id"])["State"], "FAILED")
        failed = [r["serviceEventDetails"]["createAccountStatus"]
                  for r in self.create_account_results()
                  if r["serviceEventDetails"]["createAccountStatus"]["id"] == status["Id"]]
        self.assertEqual(len(failed), 1)
        self.assertEqual(failed[0]["state"], "FAILED")
        self.assertEqual(failed[0]["failureReason"], "EMAIL_ALREADY_EXISTS")
        self.assertNotIn("accountId", failed[0])

    def test_outside_an_organization(self):
        self.assert_error("AWSOrganizationsNotInUseException", self.org.describe_organization)
        self.assert_error("AWSOrganizationsNotInUseException", self.org.list_accounts)


if __name__ == "__main__":
    unittest.main()
