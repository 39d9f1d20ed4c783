"""Organizations end to end, continued: MaxResults/NextToken paging of every List operation,
CreateAccount's asynchronous status (IN_PROGRESS, then SUCCEEDED or FAILED) seen through
DescribeCreateAccountStatus and ListCreateAccountStatus, and RoleName naming the access role
the management account assumes into the new account."""

import json
import unittest

import botocore.exceptions

import harness
from test_organizations import wait_create_account

SCP = json.dumps({"Version": "2012-10-17",
                  "Statement": [{"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}]})


class OrganizationsPagingTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)
        self.org = self.s.client("organizations")
        self.acct = self.s.account_id
        self.org.create_organization(FeatureSet="ALL")
        self.root = self.org.list_roots()["Roots"][0]["Id"]

    def assert_error(self, code, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception.response

    def create_account(self, name, email, **kwargs):
        status = self.org.create_account(Email=email, AccountName=name,
                                         **kwargs)["CreateAccountStatus"]
        self.assertEqual(status["State"], "IN_PROGRESS")
        self.assertNotIn("AccountId", status)
        return status["Id"], wait_create_account(self.org, status["Id"])

    def pages(self, operation, list_name, **kwargs):
        """All items of a listing read one item per page by hand, and the page count."""
        fn = getattr(self.org, operation)
        items, count, token = [], 0, None
        while True:
            extra = {"NextToken": token} if token else {}
            out = fn(MaxResults=1, **kwargs, **extra)
            self.assertLessEqual(len(out[list_name]), 1, operation)
            items += out[list_name]
            count += 1
            token = out.get("NextToken")
            if not token:
                return items, count

    def test_every_list_operation_pages(self):
        accounts = []
        for i in range(3):
            _, done = self.create_account(f"acct{i}", f"acct{i}@example.com")
            self.assertEqual(done["State"], "SUCCEEDED")
            accounts.append(done["AccountId"])
        ous = [self.org.create_organizational_unit(ParentId=self.root, Name=f"ou{i}")[
            "OrganizationalUnit"]["Id"] for i in range(3)]
        self.org.move_account(AccountId=accounts[0], SourceParentId=self.root,
                              DestinationParentId=ous[0])
        scps = [self.org.create_policy(Content=SCP, Description="d", Name=f"scp{i}",
                                       Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"][
            "Id"] for i in range(2)]
        for scp in scps:
            self.org.attach_policy(PolicyId=scp, TargetId=accounts[1])
            self.org.attach_policy(PolicyId=scp, TargetId=ous[1])
        for principal in ("config.amazonaws.com", "guardduty.amazonaws.com"):
            self.org.enable_aws_service_access(ServicePrincipal=principal)
            self.org.register_delegated_administrator(AccountId=accounts[1],
                                                      ServicePrincipal=principal)
        self.org.register_delegated_administrator(AccountId=accounts[2],
                                                  ServicePrincipal="config.amazonaws.com")

        listings = [
            ("list_roots", "Roots", {}),
            ("list_accounts", "Accounts", {}),
            ("list_accounts_for_parent", "Accounts", {"ParentId": self.root}),
            ("list_create_account_status", "CreateAccountStatuses", {}),
            ("list_organizational_units_for_parent", "OrganizationalUnits",
             {"ParentId": self.root}),
            ("list_parents", "Parents", {"ChildId": accounts[0]}),
            ("list_children", "Children", {"ParentId": self.root, "ChildType": "ACCOUNT"}),
            ("list_children", "Children",
             {"ParentId": self.root, "ChildType": "ORGANIZATIONAL_UNIT"}),
            ("list_policies", "Policies", {"Filter": "SERVICE_CONTROL_POLICY"}),
            ("list_policies_for_target", "Policies",
             {"TargetId": accounts[1], "Filter": "SERVICE_CONTROL_POLICY"}),
            ("list_targets_for_policy", "Targets", {"PolicyId": scps[0]}),
            ("list_aws_service_access_for_organization", "EnabledServicePrincipals", {}),
            ("list_delegated_administrators", "DelegatedAdministrators", {}),
        ]
        for operation, list_name, kwargs in listings:
            whole = getattr(self.org, operation)(**kwargs)
            self.assertNotIn("NextToken", whole, operation)
            items, count = self.pages(operation, list_name, **kwargs)
            self.assertEqual(items, whole[list_name], operation)
            self.assertEqual(count, max(1, len(items)), operation)
        # Sizes that show the listings above really had several pages to read.
        self.assertEqual(len(self.org.list_accounts()["Accounts"]), 4)
        self.assertEqual(len(self.org.list_policies_for_target(
            TargetId=accounts[1], Filter="SERVICE_CONTROL_POLICY")["Policies"]), 3)
        self.assertEqual(len(self.org.list_delegated_administrators()[
            "DelegatedAdministrators"]), 2)

        # boto3's paginator follows the same tokens.
        paginator = self.org.get_paginator("list_accounts")
        pages = list(paginator.paginate(PaginationConfig={"PageSize": 3}))
        self.assertEqual([len(p["Accounts"]) for p in pages], [3, 1])
        # A token from another listing, or made up, is refused.
        token = self.org.list_accounts(MaxResults=1)["NextToken"]
        err = self.assert_error("InvalidInputException", self.org.list_children,
                                ParentId=self.root, ChildType="ACCOUNT", NextToken=token)
        self.assertEqual(err["Reason"], "INVALID_PAGINATION_TOKEN")
        self.assert_error("InvalidInputException", self.org.list_accounts,
                          NextToken="bm90LWEtdG9rZW4=")
        # The model bounds MaxResults at 20 (checked by the server's model validation).
        self.assert_error("ValidationException", self.org.list_accounts, MaxResults=21)

    def test_create_account_status_flow(self):
        request, done = self.create_account("first", "first@example.com")
        self.assertEqual(done["State"], "SUCCEEDED")
        self.assertRegex(done["AccountId"], r"^\d{12}$")
        self.assertIn("CompletedTimestamp", done)
        # The same email again: accepted, then FAILED.
        failed_request, failed = self.create_account("again", "first@example.com")
        self.assertEqual(failed["State"], "FAILED")
        self.assertEqual(failed["FailureReason"], "EMAIL_ALREADY_EXISTS")
        self.assertNotIn("AccountId", failed)
        by_state = {state: [s["Id"] for s in self.org.list_create_account_status(
            States=[state])["CreateAccountStatuses"]]
            for state in ("SUCCEEDED", "FAILED", "IN_PROGRESS")}
        self.assertEqual(by_state, {"SUCCEEDED": [request], "FAILED": [failed_request],
                                    "IN_PROGRESS": []})
        self.assertEqual(
            len(self.org.list_create_account_status()["CreateAccountStatuses"]), 2)
        self.assert_error("CreateAccountStatusNotFoundException",
                          self.org.describe_create_account_status,
                          CreateAccountRequestId="car-" + "0" * 32)
        # Only the management account sees requests.
        accounts = [a["Id"] for a in self.org.list_accounts()["Accounts"]]
        self.assertIn(done["AccountId"], accounts)

    def test_role_name_names_the_access_role(self):
        _, done = self.create_account("custom", "custom@example.com", RoleName="OrgAdmin")
        member = done["AccountId"]
        self.assertEqual(done["State"], "SUCCEEDED")
        err = self.assert_error("InvalidInputException", self.org.create_account,
                                Email="x@example.com", AccountName="x",
                                RoleName="AWSServiceRoleForThing")
        self.assertEqual(err["Reason"], "INVALID_ROLE_NAME")
        # A management-account user assumes the named role into the new account.
        iam = self.s.client("iam")
        iam.create_user(UserName="ops")
        iam.put_user_policy(UserName="ops", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="ops")["AccessKey"]
        sts = self.s.client("sts", access_key=key["AccessKeyId"],
                            secret_key=key["SecretAccessKey"])
        self.assert_error("AccessDenied", sts.assume_role,
                          RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
                          RoleSessionName="ops")
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{member}:role/OrgAdmin",
                                RoleSessionName="ops")["Credentials"]
        member_iam = self.s.client("iam", access_key=creds["AccessKeyId"],
                                   secret_key=creds["SecretAccessKey"],
                                   session_token=creds["SessionToken"])
        role = member_iam.get_role(RoleName="OrgAdmin")["Role"]
        self.assertEqual(role["Arn"], f"arn:aws:iam::{member}:role/OrgAdmin")
        attached = member_iam.list_attached_role_policies(RoleName="OrgAdmin")[
            "AttachedPolicies"]
        self.assertEqual([p["PolicyName"] for p in attached], ["AdministratorAccess"])


if __name__ == "__main__":
    unittest.main()
