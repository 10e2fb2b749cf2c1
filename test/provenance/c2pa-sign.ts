/**
 * Signs test JPEGs with a throwaway certificate chain generated on the fly, so that the capture /
 * AI / invalid / expired C2PA paths can be tested with manifests we control. @peculiar/x509 is
 * the X.509 library c2pa-ts itself uses (a dependency of it); LocalSigner needs its certificate
 * objects, so it is imported from there rather than declared again.
 */
import * as x509 from '@peculiar/x509';
import { JPEG } from '@trustnxt/c2pa-ts/asset';
import { CoseAlgorithmIdentifier, LocalSigner } from '@trustnxt/c2pa-ts/cose';
import { ActionAssertion, ActionType, DataHashAssertion, ManifestStore, type DigitalSourceType } from '@trustnxt/c2pa-ts/manifest';
import sharp from 'sharp';

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface TestSigner {
  signer: LocalSigner;
}

export async function makeSigner(options: { organisation: string; expired?: boolean }): Promise<TestSigner> {
  x509.cryptoProvider.set(globalThis.crypto);
  const now = Date.now();
  const caKeys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const leafKeys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const caName = `CN=genguard test CA, O=${options.organisation}`;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: caName,
    notBefore: new Date(now - 30 * DAY),
    notAfter: new Date(now + 365 * DAY),
    signingAlgorithm: SIGN,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: `CN=genguard test signer, O=${options.organisation}`,
    issuer: caName,
    notBefore: new Date(now - (options.expired ? 20 : 1) * DAY),
    notAfter: new Date(now + (options.expired ? -10 : 30) * DAY),
    signingAlgorithm: SIGN,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.emailProtection]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
    ],
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', leafKeys.privateKey));
  return { signer: new LocalSigner(pkcs8, CoseAlgorithmIdentifier.ES256, leaf, [ca]) };
}

/** A small real JPEG carrying a signed manifest with one `c2pa.created` action. */
export async function signedJpeg(test: TestSigner, sourceType: string, agent: string): Promise<Buffer> {
  const image = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#6080a0' } }).jpeg().toBuffer();
  const asset = new JPEG(image);
  const store = new ManifestStore();
  const manifest = store.createManifest({ assetFormat: 'image/jpeg', instanceID: 'xmp:iid:genguard-test', defaultHashAlgorithm: 'SHA-256', signer: test.signer });
  const actions = new ActionAssertion();
  actions.actions = [{ action: ActionType.C2paCreated, digitalSourceType: sourceType as DigitalSourceType, softwareAgent: { name: agent } }];
  manifest.addAssertion(actions);
  const hash = DataHashAssertion.create('SHA-256');
  manifest.addAssertion(hash);
  await asset.ensureManifestSpace(store.measureSize());
  await hash.updateWithAsset(asset);
  await manifest.sign(test.signer);
  await asset.writeManifestJUMBF(store.getBytes());
  return Buffer.from(await asset.getDataRange());
}

/** Changes one byte of entropy-coded data: the hash binding no longer matches. */
export function tamperPixels(jpegBytes: Buffer): Buffer {
  const out = Buffer.from(jpegBytes);
  const at = out.length - 4;
  out[at] = (out[at] ?? 0) ^ 0x01;
  return out;
}
