"""SimulatePrincipalPolicy with Organizations: a member account's principals are simulated with
their organization's SCPs (OrganizationsDecisionDetail.AllowedByOrganizations, the SCP's deny
among MatchedStatements) and every decision equals what enforcement does to the same user's
real calls; the management account is exempt; accounts outside an organization get no
Organizations detail; cross-account simulations carry EvalDecisionDetails per side."""

import json
import unittest

import botocore.exceptions

import harness
from test_organizations import wait_create_account

ALLOW_IAM = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["iam:CreateUser", "iam:List*", "iam:GetUser"],
     "Resource": "*"}]})
DENY_CREATE_USER = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}]})

# action -> a call making that action, with the user's client.
CALLS = {
    "iam:CreateUser": lambda iam: iam.create_user(UserName="made-by-dev"),
    "iam:ListUsers": lambda iam: iam.list_users(),
    "iam:ListRoles": lambda iam: iam.list_roles(),
    "iam:DeleteUser": lambda iam: iam.delete_user(UserName="nobody-at-all"),
}


class SimulatorScpTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)
        self.org = self.s.client("organizations")
        self.org.create_organization(FeatureSet="ALL")
        self.root = self.org.list_roots()["Roots"][0]["Id"]
        status = self.org.create_account(Email="m@example.com",
                                         AccountName="member")["CreateAccountStatus"]
        self.member = wait_create_account(self.org, status["Id"])["AccountId"]
        _, keys = harness.run_admin("create-root-key", "--account-id", self.member,
                                    data_dir=self.s.data_dir)
        self.member_iam = self.s.client("iam", access_key=keys["AWS_ACCESS_KEY_ID"],
                                        secret_key=keys["AWS_SECRET_ACCESS_KEY"])
        self.scp = self.org.create_policy(Content=DENY_CREATE_USER, Description="no users",
                                          Name="no-users", Type="SERVICE_CONTROL_POLICY")[
            "Policy"]["PolicySummary"]["Id"]

    def user(self, iam, name):
        arn = iam.create_user(UserName=name)["User"]["Arn"]
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=ALLOW_IAM)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return arn, self.s.client("iam", access_key=key["AccessKeyId"],
                                  secret_key=key["SecretAccessKey"])

    def enforced(self, client, action):
        try:
            CALLS[action](client)
            return True
        except botocore.exceptions.ClientError as e:
            code = e.response["Error"]["Code"]
            # Authorized but failing later (the user to delete does not exist) is allowed.
            return code != "AccessDenied"

    def simulate(self, iam, arn, **kwargs):
        out = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=list(CALLS),
                                            **kwargs)
        return {r["EvalActionName"]: r for r in out["EvaluationResults"]}

    def test_member_account_scps_match_enforcement(self):
        arn, dev = self.user(self.member_iam, "dev")
        # FullAWSAccess only: the SCPs allow; decisions are the identity policy's.
        results = self.simulate(self.member_iam, arn)
        for action, r in results.items():
            self.assertEqual(r["OrganizationsDecisionDetail"], {"AllowedByOrganizations": True})
            self.assertNotIn("EvalDecisionDetails", r)  # same account, resource "*"
        self.assertEqual(results["iam:CreateUser"]["EvalDecision"], "allowed")
        self.assertEqual(results["iam:ListRoles"]["EvalDecision"], "allowed")
        self.assertEqual(results["iam:DeleteUser"]["EvalDecision"], "implicitDeny")

        # An SCP on the member account denies CreateUser.
        self.org.attach_policy(PolicyId=self.scp, TargetId=self.member)
        results = self.simulate(self.member_iam, arn)
        create = results["iam:CreateUser"]
        self.assertEqual(create["EvalDecision"], "explicitDeny")
        self.assertEqual(create["OrganizationsDecisionDetail"], {"AllowedByOrganizations": False})
        self.assertEqual([m["SourcePolicyId"] for m in create["MatchedStatements"]], [self.scp])
        self.assertNotIn("EvalDecisionDetails", create)
        self.assertEqual(results["iam:ListUsers"]["OrganizationsDecisionDetail"],
                         {"AllowedByOrganizations": True})
        for action, r in results.items():
            self.assertEqual(r["EvalDecision"] == "allowed", self.enforced(dev, action), action)

        # Moved to an OU whose SCPs allow only listing: the OU level filters the rest.
        ou = self.org.create_organizational_unit(ParentId=self.root, Name="lists")[
            "OrganizationalUnit"]["Id"]
        only_lists = self.org.create_policy(
            Content=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["iam:List*", "iam:SimulatePrincipalPolicy"],
                 "Resource": "*"}]}),
            Description="lists", Name="only-lists", Type="SERVICE_CONTROL_POLICY")[
            "Policy"]["PolicySummary"]["Id"]
        self.org.attach_policy(PolicyId=only_lists, TargetId=ou)
        self.org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=ou)
        self.org.detach_policy(PolicyId=self.scp, TargetId=self.member)
        self.org.move_account(AccountId=self.member, SourceParentId=self.root,
                              DestinationParentId=ou)
        results = self.simulate(self.member_iam, arn)
        self.assertEqual(results["iam:CreateUser"]["EvalDecision"], "implicitDeny")
        self.assertEqual(results["iam:CreateUser"]["OrganizationsDecisionDetail"],
                         {"AllowedByOrganizations": False})
        self.assertEqual(results["iam:ListUsers"]["EvalDecision"], "allowed")
        for action, r in results.items():
            self.assertEqual(r["EvalDecision"] == "allowed", self.enforced(dev, action), action)

    def test_management_account_is_exempt_and_outsiders_have_no_detail(self):
        iam = self.s.client("iam")
        self.org.attach_policy(PolicyId=self.scp, TargetId=self.root)
        arn, boss = self.user(iam, "boss")
        results = self.simulate(iam, arn)
        self.assertEqual(results["iam:CreateUser"]["EvalDecision"], "allowed")
        self.assertEqual(results["iam:CreateUser"]["OrganizationsDecisionDetail"],
                         {"AllowedByOrganizations": True})
        for action, r in results.items():
            self.assertEqual(r["EvalDecision"] == "allowed", self.enforced(boss, action), action)

        _, other = harness.run_admin("create-account", data_dir=self.s.data_dir)
        outsider_iam = self.s.client("iam", access_key=other["AWS_ACCESS_KEY_ID"],
                                     secret_key=other["AWS_SECRET_ACCESS_KEY"])
        arn, _ = self.user(outsider_iam, "loner")
        for r in self.simulate(outsider_iam, arn).values():
            self.assertNotIn("OrganizationsDecisionDetail", r)

    def test_cross_account_eval_decision_details(self):
        arn, _ = self.user(self.member_iam, "dev")
        other_account = self.s.account_id
        bucket_like = f"arn:aws:iam::{other_account}:user/target"
        resource_policy = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "iam:GetUser",
             "Resource": bucket_like}]})
        out = self.member_iam.simulate_principal_policy(
            PolicySourceArn=arn, ActionNames=["iam:GetUser", "iam:ListRoles"],
            ResourceArns=[bucket_like], ResourcePolicy=resource_policy,
            ResourceOwner=f"arn:aws:iam::{other_account}:root")["EvaluationResults"]
        by_action = {r["EvalActionName"]: r for r in out}
        self.assertEqual(by_action["iam:GetUser"]["EvalDecision"], "allowed")
        self.assertEqual(by_action["iam:GetUser"]["EvalDecisionDetails"],
                         {"IAM Policy": "allowed", "Resource Policy": "allowed"})
        self.assertEqual(by_action["iam:ListRoles"]["EvalDecision"], "implicitDeny")
        self.assertEqual(by_action["iam:ListRoles"]["EvalDecisionDetails"],
                         {"IAM Policy": "allowed", "Resource Policy": "implicitDeny"})
        # Same account with a named resource: present and empty.
        own = self.member_iam.simulate_principal_policy(
            PolicySourceArn=arn, ActionNames=["iam:GetUser"],
            ResourceArns=[arn])["EvaluationResults"][0]
        self.assertEqual(own.get("EvalDecisionDetails", {}), {})


if __name__ == "__main__":
    unittest.main()
