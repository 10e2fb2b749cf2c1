import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import type { Redis } from 'ioredis';
import { GenguardError } from '../../errors/genguard-error.js';
import { compareAndSet } from '../shared/compare-and-set.js';

type AnyInstallation = Installation<'v1' | 'v2', boolean>;

/** Said at start-up (and by `genguard config check`) in OAuth mode without GENGUARD_ENCRYPTION_KEY. */
export const UNENCRYPTED_INSTALLATIONS_WARNING =
  'Slack OAuth installations (bot tokens) are stored unencrypted in Redis: set GENGUARD_ENCRYPTION_KEY ' +
  '(32 random bytes, e.g. `openssl rand -base64 32`) to encrypt them; existing ones are encrypted when next read';

/** The stored form of an encrypted installation (JWE's names for the algorithm). */
interface Sealed {
  v: 1;
  alg: 'A256GCM';
  iv: string;
  tag: string;
  data: string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface RedisInstallationStoreOptions {
  redis: Redis;
  /** The deployment's key prefix (GENGUARD_QUEUE_PREFIX). */
  prefix: string;
  /** GENGUARD_ENCRYPTION_KEY (32 bytes); absent = values are plain JSON, as before the key existed. */
  encryptionKey?: Buffer | undefined;
}

/**
 * Bolt's OAuth installation store in Redis: one value per workspace (or per Enterprise Grid
 * organisation for org-wide installs), under the deployment prefix. Bolt's InstallProvider writes
 * it after `oauth.v2.access` and reads it on every incoming request to find the team's bot token.
 *
 * With an encryption key each value is AES-256-GCM sealed, with a fresh IV per write and the Redis
 * key name as additional data, so a value copied under another workspace's key does not open.
 * Plain values written before the key was set are still read, and sealed on the way.
 * Without a key the values hold tokens in the clear: the Redis must be as private as the tokens.
 */
export class RedisInstallationStore implements InstallationStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #key: Buffer | undefined;

  constructor(options: RedisInstallationStoreOptions) {
    if (options.encryptionKey !== undefined && options.encryptionKey.length !== 32) {
      throw new GenguardError('config_invalid', `the installation encryption key must be 32 bytes, got ${options.encryptionKey.length}`);
    }
    this.#redis = options.redis;
    this.#prefix = options.prefix;
    this.#key = options.encryptionKey;
  }

  /** Whether values are written encrypted. */
  get encrypted(): boolean {
    return this.#key !== undefined;
  }

  #redisKey(kind: 'team' | 'enterprise', id: string): string {
    return `${this.#prefix}:slack:installation:${kind}:${id}`;
  }

  #keyForQuery(query: { teamId?: string | undefined; enterpriseId?: string | undefined; isEnterpriseInstall?: boolean }): string {
    if (query.isEnterpriseInstall === true && query.enterpriseId !== undefined) return this.#redisKey('enterprise', query.enterpriseId);
    if (query.teamId !== undefined) return this.#redisKey('team', query.teamId);
    if (query.enterpriseId !== undefined) return this.#redisKey('enterprise', query.enterpriseId);
    throw new GenguardError('auth_failed', 'an installation query needs a team or enterprise id');
  }

  async storeInstallation<AuthVersion extends 'v1' | 'v2'>(installation: Installation<AuthVersion, boolean>): Promise<void> {
    const key =
      installation.isEnterpriseInstall === true && installation.enterprise !== undefined
        ? this.#redisKey('enterprise', installation.enterprise.id)
        : this.#keyForQuery({ teamId: installation.team?.id, enterpriseId: installation.enterprise?.id });
    await this.#redis.set(key, this.#encode(key, installation));
  }

  async fetchInstallation(query: InstallationQuery<boolean>): Promise<AnyInstallation> {
    const found = await this.find(query);
    if (found === undefined) {
      // Bolt turns a throw here into its AuthorizationError (the request is answered, not processed).
      throw new GenguardError('auth_failed', `genguard is not installed in Slack workspace ${query.teamId ?? query.enterpriseId ?? '?'}`);
    }
    return found;
  }

  /**
   * Like fetchInstallation, but undefined instead of a throw when there is none. A value that
   * cannot be decrypted throws (config_invalid): answering "not installed" would hide a lost key.
   */
  async find(query: InstallationQuery<boolean>): Promise<AnyInstallation | undefined> {
    const key = this.#keyForQuery(query);
    const raw = await this.#redis.get(key);
    if (raw === null) return undefined;
    let stored: unknown;
    try {
      stored = JSON.parse(raw);
    } catch {
      return undefined;
    }
    if (isSealed(stored)) return this.#open(key, stored, query);
    if (this.#key !== undefined) {
      // Migration: written before GENGUARD_ENCRYPTION_KEY was set. Only if nobody replaced it since
      // it was read (a fresh install must win); a failed rewrite is retried on the next read.
      await compareAndSet(this.#redis, key, raw, this.#encode(key, stored)).catch(() => undefined);
    }
    return stored as AnyInstallation;
  }

  async deleteInstallation(query: InstallationQuery<boolean>): Promise<void> {
    await this.#redis.del(this.#keyForQuery(query));
  }

  #encode(key: string, installation: unknown): string {
    const plain = JSON.stringify(installation);
    if (this.#key === undefined) return plain;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(key, 'utf8'));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const sealed: Sealed = { v: 1, alg: 'A256GCM', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
    return JSON.stringify(sealed);
  }

  #open(key: string, sealed: Record<string, unknown>, query: InstallationQuery<boolean>): AnyInstallation {
    const where = query.teamId !== undefined ? `Slack workspace ${query.teamId}` : `Slack organisation ${query.enterpriseId ?? '?'}`;
    const fail = (why: string, cause?: unknown) =>
      new GenguardError(
        'config_invalid',
        `the installation of genguard in ${where} cannot be decrypted with GENGUARD_ENCRYPTION_KEY (${why}): ` +
          'restore the key it was stored with, or reinstall genguard in that workspace',
        { ...(cause === undefined ? {} : { cause }), details: { reason: 'installation_undecryptable', key } },
      );
    if (this.#key === undefined) throw fail('it is encrypted and no key is set');
    if (sealed['v'] !== 1 || sealed['alg'] !== 'A256GCM') throw fail(`unsupported format v=${String(sealed['v'])} alg=${String(sealed['alg'])}`);
    const iv = Buffer.from(sealed['iv'] as string, 'base64');
    const tag = Buffer.from(sealed['tag'] as string, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw fail('malformed value');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(key, 'utf8'));
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(Buffer.from(sealed['data'] as string, 'base64')), decipher.final()]);
      return JSON.parse(plain.toString('utf8')) as AnyInstallation;
    } catch (error) {
      // GCM does not say why: a different key, or a value altered or moved from another key.
      throw fail('wrong key, or the stored value was altered or moved', error);
    }
  }
}

/** An encrypted value, of this or an unknown future version (never a Bolt installation, which has no `alg`). */
function isSealed(value: unknown): value is Record<string, unknown> & Partial<Sealed> {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return 'alg' in v && 'v' in v && typeof v['iv'] === 'string' && typeof v['tag'] === 'string' && typeof v['data'] === 'string';
}
