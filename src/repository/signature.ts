// Publisher signatures (docs/repository.md): ed25519 over a zip's sha256, written as lower-case hex text, base64 in versions.yaml.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { WorkerAdminError } from '../common/errors.js';
import type { VersionEntry } from './versions.js';

/** An ed25519 private key from PEM; CONFIG_INVALID naming `where` otherwise. */
export function loadSigningKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new WorkerAdminError('CONFIG_INVALID', `${where}: not a PEM private key (${(error as Error).message})`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new WorkerAdminError('CONFIG_INVALID', `${where}: an ${key.asymmetricKeyType ?? 'unknown'} key, expected ed25519`);
  return key;
}

/** ed25519 public keys from PEM texts (repository.trustedKeys); CONFIG_INVALID naming the one at fault. */
export function loadTrustedKeys(pems: readonly string[], where = 'repository.trustedKeys'): KeyObject[] {
  return pems.map((pem, i) => {
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch (error) {
      throw new WorkerAdminError('CONFIG_INVALID', `${where}[${i}]: not a PEM public key (${(error as Error).message})`, { cause: error });
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new WorkerAdminError('CONFIG_INVALID', `${where}[${i}]: an ${key.asymmetricKeyType ?? 'unknown'} key, expected ed25519`);
    return key;
  });
}

/** The signature (base64) of a zip's sha256. */
export function signSha256(sha256: string, key: KeyObject): string {
  return sign(null, Buffer.from(sha256.toLowerCase(), 'utf8'), key).toString('base64');
}

/**
 * Refuses a version that no trusted key signed (PACKAGE_REJECTED: signature …); nothing to check without trusted keys.
 * Called before anything is downloaded, so that a refused version leaves nothing on disk.
 */
export function checkSignature(label: string, entry: VersionEntry | undefined, trusted: readonly KeyObject[]): void {
  if (trusted.length === 0) return;
  if (!entry?.sha256) throw new WorkerAdminError('PACKAGE_REJECTED', `signature of ${label}: versions.yaml gives no sha256 to check a signature against`);
  if (!entry.signature) throw new WorkerAdminError('PACKAGE_REJECTED', `signature of ${label}: the version is unsigned and repository.trustedKeys is set`);
  const data = Buffer.from(entry.sha256, 'utf8');
  const sig = Buffer.from(entry.signature, 'base64');
  if (!trusted.some((key) => verify(null, data, key, sig))) {
    throw new WorkerAdminError('PACKAGE_REJECTED', `signature of ${label}: not signed by any of the ${trusted.length} trusted key(s)`);
  }
}
