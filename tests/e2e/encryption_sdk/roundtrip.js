// AWS Encryption SDK for JavaScript against citadel's KMS, driven by
// tests/e2e/test_kms_encryption_sdk.py.
//
// Reads one JSON object on stdin:
//   {endpoint, region, accessKeyId, secretAccessKey, keyArn, plaintextB64, context: {k: v}}
// builds a KmsKeyringNode whose client supplier points the aws-sdk v3 KMS client at citadel
// with the given credentials, encrypts the plaintext with the encryption context, decrypts
// the result with a second keyring (fresh clients, so nothing is cached between the two), and
// prints one JSON object on stdout:
//   {ciphertextB64, decryptedB64, headerContext, suiteId, encryptCalls, decryptCalls,
//    kmsClientVersion}
// where *Calls list the KMS operations the SDK sent, as "<Command> <host>".
// Any failure prints the error on stderr and exits with 1.

'use strict';

const path = require('path');
// KMS is the aws-sdk v3 client class the SDK itself depends on (re-exported by it).
const {
  buildClient,
  CommitmentPolicy,
  KmsKeyringNode,
  getClient,
  KMS,
} = require('@aws-crypto/client-node');

// The version of that @aws-sdk/client-kms, resolved from the keyring package that uses it.
function kmsClientVersion() {
  const from = path.dirname(require.resolve('@aws-crypto/kms-keyring-node'));
  return require(require.resolve('@aws-sdk/client-kms/package.json', { paths: [from] })).version;
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

// A keyring whose KMS clients talk to citadel and record each command they send.
function keyringFor(input, calls) {
  const supplier = getClient(KMS, {
    endpoint: input.endpoint,
    credentials: {
      accessKeyId: input.accessKeyId,
      secretAccessKey: input.secretAccessKey,
    },
    maxAttempts: 1,
  });
  const clientProvider = (region) => {
    const client = supplier(region || input.region);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const host = args.request && args.request.hostname
          ? `${args.request.hostname}:${args.request.port}` : '?';
        calls.push(`${context.commandName} ${host}`);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'citadelRecordCalls' });
    return client;
  };
  return new KmsKeyringNode({ clientProvider, generatorKeyId: input.keyArn });
}

async function main() {
  const input = JSON.parse(await readStdin());
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const plaintext = Buffer.from(input.plaintextB64, 'base64');

  const encryptCalls = [];
  const { result } = await encrypt(keyringFor(input, encryptCalls), plaintext, {
    encryptionContext: input.context,
  });

  const decryptCalls = [];
  const { plaintext: decrypted, messageHeader } =
    await decrypt(keyringFor(input, decryptCalls), result);

  process.stdout.write(JSON.stringify({
    ciphertextB64: Buffer.from(result).toString('base64'),
    decryptedB64: Buffer.from(decrypted).toString('base64'),
    headerContext: messageHeader.encryptionContext,
    suiteId: messageHeader.suiteId,
    encryptCalls,
    decryptCalls,
    kmsClientVersion: kmsClientVersion(),
  }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`encryption sdk round trip failed: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
