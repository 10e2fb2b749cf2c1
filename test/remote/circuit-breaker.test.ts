import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/detector/remote/circuit-breaker.js';
import { GenguardError } from '../../src/errors/genguard-error.js';
import { ManualClock, rejection } from './helpers.js';

const ok = () => Promise.resolve('ok');
const fail = (code: 'remote_error' | 'bad_request' | 'auth_failed' | 'out_of_credits') => () =>
  Promise.reject(new GenguardError(code, `${code} happened`));

describe('CircuitBreaker', () => {
  it('opens after N consecutive retryable failures, fails fast, then lets one trial through', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'x', failureThreshold: 3, cooldownMs: 10_000, now: clock.now });
    let calls = 0;
    const counted = () => {
      calls += 1;
      return fail('remote_error')();
    };
    await rejection(breaker.run(counted));
    await rejection(breaker.run(counted));
    const opened = await rejection(breaker.run(counted));
    expect(opened).toMatchObject({ code: 'remote_error', details: { circuit: 'opened', consecutive_failures: 3 } });
    const fast = await rejection(breaker.run(counted));
    expect(fast).toMatchObject({ code: 'remote_unavailable', retryable: true, retryAfterSeconds: 10 });
    expect(calls).toBe(3);
    expect(breaker.state().state).toBe('open');

    clock.advance(10_000);
    expect(breaker.state().state).toBe('half_open');
    // The trial fails: open again at once.
    await rejection(breaker.run(counted));
    expect(calls).toBe(4);
    expect(breaker.state().state).toBe('open');
    clock.advance(10_000);
    await expect(breaker.run(ok)).resolves.toBe('ok');
    expect(breaker.state().state).toBe('closed');
  });

  it('only one trial call while half-open', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ name: 'x', failureThreshold: 1, cooldownMs: 1000, now: clock.now });
    await rejection(breaker.run(fail('remote_error')));
    clock.advance(1000);
    let release!: () => void;
    const trial = breaker.run(() => new Promise<string>((r) => (release = () => r('trial'))));
    await expect(breaker.run(ok)).rejects.toMatchObject({ code: 'remote_unavailable' });
    release();
    await expect(trial).resolves.toBe('trial');
    await expect(breaker.run(ok)).resolves.toBe('ok');
  });

  it('a non-retryable per-image error shows the remote is up: the count resets', async () => {
    const breaker = new CircuitBreaker({ name: 'x', failureThreshold: 2 });
    await rejection(breaker.run(fail('remote_error')));
    await rejection(breaker.run(fail('bad_request')));
    const third = await rejection(breaker.run(fail('remote_error')));
    expect(third.details).toBeUndefined();
    expect(breaker.state().state).toBe('closed');
  });

  it('out of credits opens for the credits cool-down and keeps its code; auth errors for the normal one', async () => {
    const clock = new ManualClock();
    const credits = new CircuitBreaker({ name: 'bijou', cooldownMs: 1000, creditsCooldownMs: 60_000, now: clock.now });
    await rejection(credits.run(fail('out_of_credits')));
    clock.advance(30_000);
    await expect(credits.run(ok)).rejects.toMatchObject({ code: 'out_of_credits', retryable: false, retryAfterSeconds: 30 });

    const auth = new CircuitBreaker({ name: 'bitmind', cooldownMs: 1000, now: clock.now });
    await rejection(auth.run(fail('auth_failed')));
    await expect(auth.run(ok)).rejects.toMatchObject({ code: 'auth_failed', details: { circuit: 'open' } });
    clock.advance(1000);
    await expect(auth.run(ok)).resolves.toBe('ok');
  });

  it("a caller's abort is not the remote's failure", async () => {
    const breaker = new CircuitBreaker({ name: 'x', failureThreshold: 1 });
    const controller = new AbortController();
    controller.abort();
    await rejection(breaker.run(fail('remote_error'), controller.signal));
    expect(breaker.state().state).toBe('closed');
  });
});
