"""ResyncMFADevice end to end: an authenticator whose clock runs three minutes ahead produces
codes citadel refuses; two consecutive codes from it (through the AWS CLI) resynchronize the
device, after which its codes make MFA sessions. Non-consecutive, far-off, spent and foreign
codes are refused."""

import base64
import hashlib
import hmac
import struct
import time
import unittest

import botocore.exceptions

import harness

STEP = 30
AHEAD = 6  # steps the simulated authenticator's clock runs ahead


def totp(seed_b32, step):
    """RFC 6238 TOTP (HMAC-SHA1, 6 digits) of a time step, from the device's Base32 seed."""
    mac = hmac.new(base64.b32decode(seed_b32), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1000000)


def now_step():
    return int(time.time()) // STEP


class MfaResyncTest(unittest.TestCase):
    def setUp(self):
        self.s = harness.start_server(self)
        self.iam = self.s.client("iam")

    def assert_error(self, code, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception.response["Error"]["Message"]

    def device(self, user):
        self.iam.create_user(UserName=user)
        created = self.iam.create_virtual_mfa_device(VirtualMFADeviceName=user)
        serial = created["VirtualMFADevice"]["SerialNumber"]
        seed = created["VirtualMFADevice"]["Base32StringSeed"].decode()
        step = now_step()
        self.iam.enable_mfa_device(UserName=user, SerialNumber=serial,
                                   AuthenticationCode1=totp(seed, step - 2),
                                   AuthenticationCode2=totp(seed, step - 1))
        return serial, seed

    def test_resync_learns_the_device_clock(self):
        serial, seed = self.device("alice")
        key = self.iam.create_access_key(UserName="alice")["AccessKey"]
        sts = self.s.client("sts", access_key=key["AccessKeyId"],
                            secret_key=key["SecretAccessKey"])
        base = now_step()
        # The drifted authenticator's current code is outside the normal window.
        self.assert_error("AccessDenied", sts.get_session_token, SerialNumber=serial,
                          TokenCode=totp(seed, base + AHEAD))

        invalid = "Authentication code for device is not valid."
        for code1, code2 in ((totp(seed, base + AHEAD - 1), totp(seed, base + AHEAD + 1)),
                             (totp(seed, base + AHEAD), totp(seed, base + AHEAD - 1)),
                             (totp(seed, base + 60), totp(seed, base + 61))):
            msg = self.assert_error("InvalidAuthenticationCode", self.iam.resync_mfa_device,
                                    UserName="alice", SerialNumber=serial,
                                    AuthenticationCode1=code1, AuthenticationCode2=code2)
            self.assertEqual(msg, invalid)
        # Another user's device, and an unknown user.
        other_serial, other_seed = self.device("bob")
        self.assert_error("NoSuchEntity", self.iam.resync_mfa_device, UserName="alice",
                          SerialNumber=other_serial,
                          AuthenticationCode1=totp(other_seed, base + 1),
                          AuthenticationCode2=totp(other_seed, base + 2))
        self.assert_error("NoSuchEntity", self.iam.resync_mfa_device, UserName="nobody",
                          SerialNumber=serial, AuthenticationCode1=totp(seed, base + 1),
                          AuthenticationCode2=totp(seed, base + 2))

        # Two consecutive codes of the drifted clock, through the AWS CLI.
        self.s.aws("iam", "resync-mfa-device", "--user-name", "alice", "--serial-number", serial,
                   "--authentication-code1", totp(seed, base + AHEAD - 1),
                   "--authentication-code2", totp(seed, base + AHEAD))
        # The resync codes are spent; the device's next code makes an MFA session.
        self.assert_error("AccessDenied", sts.get_session_token, SerialNumber=serial,
                          TokenCode=totp(seed, base + AHEAD))
        creds = sts.get_session_token(SerialNumber=serial,
                                      TokenCode=totp(seed, base + AHEAD + 1))["Credentials"]
        ident = self.s.client("sts", access_key=creds["AccessKeyId"],
                              secret_key=creds["SecretAccessKey"],
                              session_token=creds["SessionToken"]).get_caller_identity()
        self.assertTrue(ident["Arn"].endswith(":user/alice"))
        # Codes by the real clock are now the ones out of the window.
        self.assert_error("AccessDenied", sts.get_session_token, SerialNumber=serial,
                          TokenCode=totp(seed, now_step() + 1))


if __name__ == "__main__":
    unittest.main()
