import { GenguardError, type ErrorCode } from '../../errors/genguard-error.js';

export interface CircuitBreakerOptions {
  /** Backend name for messages. */
  name: string;
  /** Consecutive retryable failures (after in-client retries) that open the circuit. */
  failureThreshold?: number;
  /** Cool-down after repeated failures or an authentication error. */
  cooldownMs?: number;
  /** Cool-down after an out-of-credits answer: credits rarely come back within minutes. */
  creditsCooldownMs?: number;
  now?: () => number;
}

export type CircuitState = 'closed' | 'open' | 'half_open';

/** Errors that will repeat for every image until an operator acts: no point calling again soon. */
const ACCOUNT_ERRORS = new Set<ErrorCode>(['out_of_credits', 'auth_failed', 'permission_denied']);

/**
 * Keeps a failing or exhausted remote from being hammered. While open, calls fail at once without
 * touching the network, with the code that opened it (`out_of_credits`, `auth_failed`, …) or
 * `remote_unavailable` after repeated failures, and `details.circuit = 'open'`. The error that
 * opens the circuit carries `details.circuit = 'opened'`: that is the one to tell moderators
 * about, once per cool-down period rather than once per image. After the cool-down one trial
 * call goes through; success closes the circuit, failure re-opens it.
 */
export class CircuitBreaker {
  private readonly name: string;
  private readonly failureThreshold: number;
  private readonly cooldownMs: number;
  private readonly creditsCooldownMs: number;
  private readonly now: () => number;
  private failures = 0;
  private openUntil = 0;
  private opened: { code: ErrorCode; message: string } | undefined;
  private trialInFlight = false;

  constructor(options: CircuitBreakerOptions) {
    this.name = options.name;
    this.failureThreshold = Math.max(1, options.failureThreshold ?? 3);
    this.cooldownMs = options.cooldownMs ?? 60_000;
    this.creditsCooldownMs = options.creditsCooldownMs ?? 3_600_000;
    this.now = options.now ?? Date.now;
  }

  state(): { state: CircuitState; until?: Date } {
    if (this.opened === undefined) return { state: 'closed' };
    if (this.now() < this.openUntil) return { state: 'open', until: new Date(this.openUntil) };
    return { state: 'half_open' };
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const trial = this.admit();
    try {
      const result = await fn();
      this.failures = 0;
      this.opened = undefined;
      return result;
    } catch (raw) {
      if (signal?.aborted || !(raw instanceof GenguardError)) throw raw;
      throw this.recordFailure(raw, trial);
    } finally {
      if (trial) this.trialInFlight = false;
    }
  }

  /** Returns whether this call is the half-open trial; throws when the circuit is open. */
  private admit(): boolean {
    if (this.opened === undefined) return false;
    const now = this.now();
    if (now < this.openUntil || this.trialInFlight) throw this.rejection(now);
    this.trialInFlight = true;
    return true;
  }

  private rejection(now: number): GenguardError {
    const opened = this.opened ?? { code: 'remote_unavailable' as const, message: '' };
    const until = new Date(Math.max(this.openUntil, now + 1000));
    const retryAfterSeconds = Math.ceil((until.getTime() - now) / 1000);
    const account = ACCOUNT_ERRORS.has(opened.code);
    return new GenguardError(
      account ? opened.code : 'remote_unavailable',
      `${this.name} is unavailable until ${until.toISOString()} (${opened.message}); not calling it meanwhile`,
      {
        retryable: !account,
        retryAfterSeconds,
        details: { backend: this.name, circuit: 'open', until: until.toISOString() },
      },
    );
  }

  private recordFailure(error: GenguardError, trial: boolean): GenguardError {
    if (ACCOUNT_ERRORS.has(error.code)) {
      return this.open(error, error.code === 'out_of_credits' ? this.creditsCooldownMs : this.cooldownMs);
    }
    if (!error.retryable) {
      // The remote answered (a bad image, say): it is up.
      this.failures = 0;
      this.opened = undefined;
      return error;
    }
    this.failures += 1;
    if (trial || this.failures >= this.failureThreshold) return this.open(error, this.cooldownMs);
    return error;
  }

  private open(error: GenguardError, cooldownMs: number): GenguardError {
    const until = this.now() + cooldownMs;
    this.openUntil = until;
    this.opened = { code: error.code, message: error.message };
    return new GenguardError(error.code, error.message, {
      cause: error.cause ?? error,
      retryable: error.retryable,
      retryAfterSeconds: error.retryAfterSeconds ?? Math.ceil(cooldownMs / 1000),
      details: {
        ...error.details,
        backend: this.name,
        circuit: 'opened',
        until: new Date(until).toISOString(),
        consecutive_failures: this.failures,
      },
    });
  }
}
