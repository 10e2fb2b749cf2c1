import { randomBytes } from 'node:crypto';

/**
 * A PEM-shaped block of random bytes. Not a real certificate: the fake only compares the
 * X-Client-Cert header with what it registered, as a stand-in for the vendor's check.
 */
export function demoCertificatePem(): string {
  const body = randomBytes(600).toString('base64').replace(/(.{64})/g, '$1\n').trim();
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}
