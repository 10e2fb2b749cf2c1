import { setTimeout as delay } from 'node:timers/promises';

/**
 * Time as the remote clients see it. Injected so tests can share one manual clock between a client
 * and a fake server (token expiry, rate-limit windows, Retry-After) without waiting in real time.
 * Per-request timeouts deliberately stay on real timers: they guard against real sockets hanging.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Uniform in [0, 1); jitter source. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    if (ms <= 0) {
      signal?.throwIfAborted();
      return;
    }
    await delay(ms, undefined, signal === undefined ? undefined : { signal });
  },
  random: () => Math.random(),
};

export function resolveClock(partial: Partial<Clock> | undefined): Clock {
  return { ...systemClock, ...partial };
}

/**
 * The slice of a pino logger the clients use. Everything passed to it has gone through a Redactor:
 * secrets, tokens and certificate contents never reach a log line.
 */
export interface RemoteLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export const silentLogger: RemoteLogger = { debug: () => {}, warn: () => {} };
