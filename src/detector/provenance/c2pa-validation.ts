import type { Asset } from '@trustnxt/c2pa-ts/asset';
import { DataHashAssertion, ValidationResult, type Manifest, type ManifestStore } from '@trustnxt/c2pa-ts/manifest';
import type { C2paSummary, C2paValidity } from './provenance-report.js';

/**
 * A read-only c2pa-ts Asset over the raw bytes. Data-hash bindings (what JPEG, PNG and WebP
 * manifests use) only need byte ranges; the exclusion ranges come from the manifest itself, so
 * one asset class serves every container, including WebP, which c2pa-ts cannot parse.
 */
export class RawAsset implements Asset {
  constructor(
    private readonly data: Uint8Array,
    private readonly jumbf: Uint8Array,
    readonly mimeType: string,
  ) {}

  getDataLength(): number {
    return this.data.length;
  }

  async getDataRange(start?: number, length?: number): Promise<Uint8Array> {
    const s = Math.max(0, Math.min(start ?? 0, this.data.length));
    const e = length === undefined ? this.data.length : Math.min(this.data.length, s + Math.max(0, length));
    return this.data.subarray(s, e);
  }

  getManifestJUMBF(): Uint8Array | undefined {
    return this.jumbf;
  }

  dumpInfo(): string {
    return `${this.mimeType}, ${this.data.length} bytes (read-only view)`;
  }

  async ensureManifestSpace(): Promise<void> {
    throw new Error('read-only asset');
  }

  getHashExclusionRange(): { start: number; length: number } {
    throw new Error('read-only asset');
  }

  async writeManifestJUMBF(): Promise<void> {
    throw new Error('read-only asset');
  }
}

/**
 * Failures that only say "we cannot vouch for the certificate at signing time" (expired with no
 * trusted timestamp, OCSP unknown, untrusted timestamp), as opposed to a broken signature or a
 * broken binding. With those alone the manifest is `unverified`, not `invalid`.
 */
const CREDENTIAL_ONLY = /^(?:signingCredential\.(?:expired|untrusted|ocsp\.(?:skipped|inaccessible|unknown))|timeStamp\.(?:untrusted|outsideValidity))$/;

export type ValidationOutcome = Pick<C2paSummary, 'validity' | 'valid' | 'failures' | 'hashBinding'>;

/**
 * Validates the active manifest with c2pa-ts. c2pa-ts stops before checking the hash binding once
 * anything failed, so the binding is then checked here directly: "signature fine, certificate
 * expired, pixels unchanged" and "pixels changed" must not look alike.
 *
 * Note what `valid` means: the claim signature verifies against the certificate embedded in the
 * manifest and the bytes match the hash binding. c2pa-ts consults no trust list, so the signer's
 * name is a claim by whoever made the certificate, not an identity we checked.
 */
export async function validateStore(store: ManifestStore, asset: Asset): Promise<ValidationOutcome> {
  let result: ValidationResult;
  try {
    result = await store.validate(asset);
  } catch (error) {
    result = ValidationResult.fromError(error instanceof Error ? error : new Error(String(error)));
  }
  const entries = result.statusEntries;
  const failures = [...new Set(entries.filter((e) => e.success === false).map((e) => String(e.code)))];
  const signatureOk = entries.some((e) => e.code === 'claimSignature.validated' && e.success !== false);
  let hashBinding: C2paSummary['hashBinding'] = 'unchecked';
  if (failures.includes('assertion.dataHash.mismatch')) hashBinding = 'mismatch';
  else if (entries.some((e) => e.code === 'assertion.dataHash.match')) hashBinding = 'match';
  else hashBinding = await checkDataHash(store.getActiveManifest(), asset);

  let validity: C2paValidity;
  if (result.isValid && hashBinding !== 'mismatch') validity = 'valid';
  else if (signatureOk && hashBinding === 'match' && failures.length > 0 && failures.every((f) => CREDENTIAL_ONLY.test(f))) validity = 'unverified';
  else validity = 'invalid';
  if (hashBinding === 'mismatch' && !failures.includes('assertion.dataHash.mismatch')) failures.push('assertion.dataHash.mismatch');
  return { validity, valid: validity === 'valid', failures, hashBinding };
}

async function checkDataHash(manifest: Manifest | undefined, asset: Asset): Promise<C2paSummary['hashBinding']> {
  const hashes = (manifest?.assertions?.assertions ?? []).filter((a): a is DataHashAssertion => a instanceof DataHashAssertion);
  if (hashes.length === 0) return 'unchecked';
  try {
    for (const h of hashes) {
      const r = await h.validateAgainstAsset(asset);
      if (!r.isValid) return 'mismatch';
    }
    return 'match';
  } catch {
    return 'unchecked';
  }
}

/** Human wording for evidence lines. */
export function describeValidity(summary: Pick<C2paSummary, 'validity' | 'failures' | 'hashBinding' | 'testCertificate'>): string {
  if (summary.validity === 'valid') {
    return summary.testCertificate ? 'signature valid, but signed with the public C2PA test certificate (signer unknown)' : 'signature valid';
  }
  if (summary.validity === 'unverified') {
    const why = summary.failures.includes('signingCredential.expired') ? 'signing certificate expired and no trusted timestamp' : summary.failures.join(', ');
    return `signature unverified (${why}; claim signature and hash binding check out)`;
  }
  return `signature INVALID (${summary.failures.join(', ') || 'unreadable manifest'})`;
}
