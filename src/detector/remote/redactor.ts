/**
 * Keeps secrets (client secrets, API keys, access tokens, certificate contents) out of error
 * messages and log lines. Vendor error bodies are echoed into our messages, so they pass through
 * here too: a misbehaving server that reflects the Authorization header must not leak it.
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  constructor(initial: Iterable<string | undefined> = []) {
    for (const s of initial) this.add(s);
  }

  /** Registers a secret; values shorter than 6 characters are ignored (they would redact noise). */
  add(secret: string | undefined): void {
    if (secret !== undefined && secret.length >= 6) this.secrets.add(secret);
  }

  remove(secret: string | undefined): void {
    if (secret !== undefined) this.secrets.delete(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
    // Belt and braces for values we were never told about.
    return out
      .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]{6,}/gi, '$1[redacted]')
      .replace(/-----BEGIN [A-Z ]+-----[\s\S]*?(-----END [A-Z ]+-----|$)/g, '[redacted certificate]');
  }

  /** A short, redacted excerpt of a vendor response body for an error message. */
  excerpt(body: Buffer | string, max = 200): string {
    // Redact before cutting: a cut through a secret would leave a piece no pattern recognises.
    const text = typeof body === 'string' ? body.slice(0, 64 * 1024) : body.subarray(0, 64 * 1024).toString('utf8');
    const flat = this.redact(text).replace(/\s+/g, ' ').trim();
    return flat.length > max ? `${flat.slice(0, max)}…` : flat;
  }
}
