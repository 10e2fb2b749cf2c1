import type { Logger } from 'pino';
import type { Notifier, NotifyContext, NotifyJob, ResultNotifyJob } from './notifier.js';
import type { Platform } from './scan-job.js';

/**
 * The notifier of a platform that has no adapter in this process: it logs what would have been
 * posted. `genguard worker` uses it until the Discord and Slack notifiers are wired in.
 */
export class LogNotifier implements Notifier {
  constructor(
    private readonly logger: Logger,
    readonly platform: Platform = 'discord',
  ) {}

  async reply(job: NotifyJob, context: NotifyContext): Promise<void> {
    const base = { scanId: job.scan.id, platform: job.scan.platform, reply: job.scan.reply.kind, key: context.idempotencyKey };
    if (job.kind === 'result') {
      this.logger.info(
        { ...base, score: job.result.ensemble_score, verdict: job.result.verdict, cache: job.cache?.kind ?? null },
        'scan result (no notifier for this platform)',
      );
    } else {
      this.logger.warn({ ...base, code: job.error.code, message: job.error.message }, 'scan failed (no notifier for this platform)');
    }
  }

  async alert(job: ResultNotifyJob, context: NotifyContext): Promise<void> {
    this.logger.warn(
      { scanId: job.scan.id, platform: job.scan.platform, score: job.result.ensemble_score, key: context.idempotencyKey },
      'moderator alert (no notifier for this platform)',
    );
  }
}
