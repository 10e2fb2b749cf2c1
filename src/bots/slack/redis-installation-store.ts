import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import type { Redis } from 'ioredis';
import { GenguardError } from '../../errors/genguard-error.js';

/**
 * Bolt's OAuth installation store in Redis: one JSON value per workspace (or per Enterprise Grid
 * organisation for org-wide installs), under the deployment prefix. Bolt's InstallProvider writes
 * it after `oauth.v2.access` and reads it on every incoming request to find the team's bot token.
 *
 * The values hold tokens, so the Redis instance must be as private as the tokens themselves.
 */
export class RedisInstallationStore implements InstallationStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  #key(kind: 'team' | 'enterprise', id: string): string {
    return `${this.prefix}:slack:installation:${kind}:${id}`;
  }

  #keyForQuery(query: { teamId?: string | undefined; enterpriseId?: string | undefined; isEnterpriseInstall?: boolean }): string {
    if (query.isEnterpriseInstall === true && query.enterpriseId !== undefined) return this.#key('enterprise', query.enterpriseId);
    if (query.teamId !== undefined) return this.#key('team', query.teamId);
    if (query.enterpriseId !== undefined) return this.#key('enterprise', query.enterpriseId);
    throw new GenguardError('auth_failed', 'an installation query needs a team or enterprise id');
  }

  async storeInstallation<AuthVersion extends 'v1' | 'v2'>(installation: Installation<AuthVersion, boolean>): Promise<void> {
    const key =
      installation.isEnterpriseInstall === true && installation.enterprise !== undefined
        ? this.#key('enterprise', installation.enterprise.id)
        : this.#keyForQuery({ teamId: installation.team?.id, enterpriseId: installation.enterprise?.id });
    await this.redis.set(key, JSON.stringify(installation));
  }

  async fetchInstallation(query: InstallationQuery<boolean>): Promise<Installation<'v1' | 'v2', boolean>> {
    const found = await this.find(query);
    if (found === undefined) {
      // Bolt turns a throw here into its AuthorizationError (the request is answered, not processed).
      throw new GenguardError('auth_failed', `genguard is not installed in Slack workspace ${query.teamId ?? query.enterpriseId ?? '?'}`);
    }
    return found;
  }

  /** Like fetchInstallation, but undefined instead of a throw when there is none. */
  async find(query: InstallationQuery<boolean>): Promise<Installation<'v1' | 'v2', boolean> | undefined> {
    const raw = await this.redis.get(this.#keyForQuery(query));
    if (raw === null) return undefined;
    try {
      return JSON.parse(raw) as Installation<'v1' | 'v2', boolean>;
    } catch {
      return undefined;
    }
  }

  async deleteInstallation(query: InstallationQuery<boolean>): Promise<void> {
    await this.redis.del(this.#keyForQuery(query));
  }
}
