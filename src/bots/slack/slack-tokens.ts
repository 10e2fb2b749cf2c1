import { webApi } from '@slack/bolt';
import type { MediaAuth, ScanJob } from '../../queue/scan-job.js';
import type { CredentialsResolver } from '../../queue/worker-deps.js';
import { GenguardError } from '../../errors/genguard-error.js';
import type { RedisInstallationStore } from './redis-installation-store.js';

export interface SlackTokensOptions {
  /** Single-workspace mode: SLACK_BOT_TOKEN. */
  botToken?: string | undefined;
  /** OAuth mode: the installations Bolt stored. */
  installations?: RedisInstallationStore | undefined;
  /** SLACK_ADMIN_USER_TOKEN: lets moderators delete flagged messages of other users. */
  adminUserToken?: string | undefined;
  /** For the admin token's auth.test (which workspace it belongs to) in OAuth mode. */
  clientOptions: webApi.WebClientOptions;
}

/**
 * Which token acts for a workspace. Tokens are looked up when needed (worker and bot alike) and
 * never copied into jobs: a job says `{ kind: 'slack-bot', teamId }` and this resolves it.
 */
export class SlackTokens {
  readonly #o: SlackTokensOptions;
  #adminTeam: Promise<string | undefined> | undefined;

  constructor(options: SlackTokensOptions) {
    if (options.botToken === undefined && options.installations === undefined) {
      throw new GenguardError('config_invalid', 'Slack tokens need SLACK_BOT_TOKEN or an installation store (OAuth mode)');
    }
    this.#o = options;
  }

  async botToken(teamId: string, enterpriseId?: string): Promise<string> {
    if (this.#o.botToken !== undefined) return this.#o.botToken;
    const installation = await this.#o.installations?.find({
      teamId,
      enterpriseId,
      isEnterpriseInstall: false,
    });
    const token = installation?.bot?.token;
    if (token === undefined) {
      throw new GenguardError('auth_failed', `genguard is not installed in Slack workspace ${teamId} (no bot token)`, {
        retryable: false,
      });
    }
    return token;
  }

  /** The worker's CredentialsResolver for `slack-bot` media: the Authorization header for url_private_download. */
  readonly resolveCredentials: CredentialsResolver = async (auth: MediaAuth, _job: ScanJob) => {
    if (auth.kind !== 'slack-bot') throw new GenguardError('config_invalid', `unknown media auth "${String(auth.kind)}"`);
    return { authorization: `Bearer ${await this.botToken(auth.teamId, auth.enterpriseId)}` };
  };

  /**
   * The admin user token if it can act in `teamId`. Single-workspace mode: the workspace's own.
   * OAuth mode: only in the workspace it was issued for (asked once with auth.test).
   */
  async adminTokenFor(teamId: string): Promise<string | undefined> {
    const token = this.#o.adminUserToken;
    if (token === undefined) return undefined;
    if (this.#o.botToken !== undefined) return token;
    this.#adminTeam ??= new webApi.WebClient(token, this.#o.clientOptions).auth
      .test()
      .then((r) => r.team_id)
      .catch(() => {
        this.#adminTeam = undefined;
        return undefined;
      });
    return (await this.#adminTeam) === teamId ? token : undefined;
  }
}
