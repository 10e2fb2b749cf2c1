import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGenguardError } from '../../src/errors/genguard-error.js';
import { QUEUE_NAMES } from '../../src/queue/queue-layout.js';
import { ScanProducer } from '../../src/queue/scan-producer.js';
import { Prng } from '../fuzz/prng.js';
import { scanInput, uniquePrefix, waitFor } from '../queue/helpers/fakes.js';
import { deletePrefix } from '../queue/helpers/redis-server.js';
import { FaultHarness, pngFor, type Post } from './fault-harness.js';

/**
 * Fault injection on a real Redis: 200 scans through three worker processes (detect + notify)
 * that are SIGKILLed at seeded random moments and replaced, with one Redis restart in the
 * middle. The notifier posts to a sink standing in for the platform, which records every call.
 * Every scan must end with its job completed or failed with a reason, and exactly one reply
 * (plus one alert when the score calls for it) delivered per scan. Repeated calls for the same
 * step carry the same idempotency key and come as a later attempt (> 1): Discord's enforce_nonce
 * drops them, and the Slack notifier finds the earlier post by its metadata on such attempts.
 * They are counted.
 *
 * GENGUARD_FAULT_JOBS (default 200) and GENGUARD_FAULT_SEED change the run.
 */

const JOBS = Number(process.env['GENGUARD_FAULT_JOBS'] ?? 200);
const SEED = Number(process.env['GENGUARD_FAULT_SEED'] ?? 0xfa017);
const WORKERS = 3;

const world = new FaultHarness();
const { redis, images, posts, ready, crashed } = world;
const spawnWorker = (prefix: string) => world.spawnWorker(prefix);

beforeAll(() => world.start());
afterAll(() => world.close());

function behaviourOf(n: number): { kind: 'ok' | 'fail' | 'flaky'; score: number } {
  const kind = n % 10 === 3 ? 'fail' : n % 10 === 7 ? 'flaky' : 'ok';
  return { kind, score: n % 3 === 0 ? 91 : 23 };
}

describe(`kill -9 workers and restart Redis during ${JOBS} scans`, () => {
  it('every scan ends completed or failed with a reason; one reply (and alert) per scan', { timeout: 120_000 + JOBS * 300 }, async () => {
    const random = new Prng(SEED);
    const prefix = uniquePrefix('faults');
    const producer = new ScanProducer({
      redisUrl: redis.url,
      prefix,
      defaultBackend: 'local',
      addTimeoutMs: 1_000,
      attempts: 3,
      backoffMs: 200,
      retention: { keepCompletedSeconds: 3_600, keepFailedSeconds: 3_600 },
    });
    const connection = { url: redis.url };
    const detectQueue = new Queue(QUEUE_NAMES.detect, { connection, prefix });
    const notifyQueue = new Queue(QUEUE_NAMES.notify, { connection, prefix });
    const events = [new QueueEvents(QUEUE_NAMES.detect, { connection, prefix }), new QueueEvents(QUEUE_NAMES.notify, { connection, prefix })];
    const stalled = { detect: 0, notify: 0 };
    events[0]!.on('stalled', () => stalled.detect++);
    events[1]!.on('stalled', () => stalled.notify++);
    // Connection errors while Redis is down are expected; the clients reconnect.
    for (const e of events) e.on('error', () => {});
    for (const q of [detectQueue, notifyQueue]) q.on('error', () => {});
    await Promise.all(events.map((e) => e.waitUntilReady()));

    const workers: ChildProcess[] = Array.from({ length: WORKERS }, () => spawnWorker(prefix));
    const killed = new Set<number>();
    let kills = 0;
    let restarts = 0;
    const ids: string[] = [];
    const expected = new Map<string, { kind: 'ok' | 'fail' | 'flaky'; score: number }>();

    const enqueue = async (n: number) => {
      const id = `fault-${n}`;
      const behaviour = behaviourOf(n);
      expected.set(id, behaviour);
      ids.push(id);
      const url = images.add(`/img/${n}-${behaviour.kind}-${behaviour.score}.png`, await pngFor(n));
      // The documented offline policy: enqueue fails fast while Redis is down, the caller tries again.
      await waitFor(() => producer.enqueue(scanInput(id, url)).catch((e: unknown) => (isGenguardError(e) && e.code === 'queue_unavailable' ? undefined : Promise.reject(e))), 30_000, `enqueue ${id}`);
    };
    const replied = () => new Set(posts.filter((p) => p.step === 'reply').map((p) => p.scanId)).size;

    try {
      let next = 0;
      const chaos = (async () => {
        // Seeded chaos: every 0.4–1.2 s a running worker dies (SIGKILL) and a fresh one starts.
        while (replied() < JOBS) {
          await sleep(400 + random.int(800));
          if (replied() >= JOBS) break;
          const running = workers.map((w, i) => [w, i] as const).filter(([w]) => ready.has(w));
          // Keep one running: with all three starting up nothing would move (the next kill waits).
          if (running.length < 2) continue;
          const victim = running[random.int(running.length)]![1];
          const child = workers[victim]!;
          if (child.pid !== undefined) killed.add(child.pid);
          child.kill('SIGKILL');
          kills++;
          workers[victim] = spawnWorker(prefix);
          if (restarts === 0 && replied() >= JOBS / 3) {
            await redis.stop();
            await sleep(300 + random.int(1_000));
            await redis.start();
            restarts++;
          }
        }
      })();
      // Four bursts, so jobs arrive while workers die and while Redis is away.
      for (let burst = 0; burst < 4; burst++) {
        const end = Math.min(JOBS, Math.round(((burst + 1) * JOBS) / 4));
        for (; next < end; next++) await enqueue(next);
        await sleep(1_500);
      }
      await waitFor(() => replied() >= JOBS, 90_000 + JOBS * 200, 'replies for all scans').catch(async (error: unknown) => {
        const counts = { detect: await detectQueue.getJobCounts(), notify: await notifyQueue.getJobCounts() };
        const answered = new Set(posts.filter((p) => p.step === 'reply').map((p) => p.scanId));
        const missing = await Promise.all(
          ids.filter((id) => !answered.has(id)).slice(0, 5).map(async (id) => {
            const job = await detectQueue.getJob(id);
            return `${id}: detect ${await detectQueue.getJobState(id)} (${job?.failedReason ?? 'no reason'}, attempts ${job?.attemptsMade}, stalled ${job?.stalledCounter}), notify ${await notifyQueue.getJobState(id)}`;
          }),
        );
        throw new Error(`${String(error)}: ${replied()} of ${JOBS} replied, ${kills} kills, ${restarts} restarts, queues ${JSON.stringify(counts)}, missing: ${missing.join('; ')}, crashed workers: ${crashed.join(' | ')}`);
      });
      await chaos;
      // Let in-flight alerts land, then look at the final state of every job.
      const idle = async (q: Queue) => Object.values(await q.getJobCounts('active', 'waiting', 'delayed', 'prioritized')).every((n) => n === 0);
      await waitFor(() => idle(notifyQueue), 30_000, 'notify queue drained');

      const detectStates = new Map<string, string>();
      const failedReasons: Record<string, number> = {};
      for (const id of ids) {
        const job = await detectQueue.getJob(id);
        const state = await detectQueue.getJobState(id);
        detectStates.set(id, state);
        if (state === 'failed') {
          const reason = (job?.failedReason ?? '').replace(/fault-\d+/, 'ID');
          failedReasons[reason] = (failedReasons[reason] ?? 0) + 1;
        }
      }

      const byScanStep = new Map<string, Post[]>();
      for (const p of posts) {
        const k = `${p.scanId}|${p.step}`;
        byScanStep.set(k, [...(byScanStep.get(k) ?? []), p]);
      }
      const lost: string[] = [];
      const wrongAlerts: string[] = [];
      const duplicateCalls: string[] = [];
      const keyMismatch: string[] = [];
      const repeatsAsFirstAttempt: string[] = [];
      for (const id of ids) {
        const replies = byScanStep.get(`${id}|reply`) ?? [];
        const alerts = byScanStep.get(`${id}|alert`) ?? [];
        if (replies.length === 0) lost.push(id);
        const replyKind = replies[0]?.kind;
        const wantAlert = replyKind === 'result' && expected.get(id)!.score >= 70;
        if ((alerts.length > 0) !== wantAlert) wrongAlerts.push(`${id} (${replyKind}, score ${expected.get(id)!.score}, ${alerts.length} alerts)`);
        for (const list of [replies, alerts]) {
          if (list.length > 1) duplicateCalls.push(`${id}:${list[0]!.step} ×${list.length} (first by ${killed.has(list[0]!.pid) ? 'a killed' : 'a live'} worker)`);
          if (new Set(list.map((p) => p.key)).size > 1) keyMismatch.push(`${id}:${list[0]!.step}`);
          for (const repeat of list.slice(1)) if (repeat.attempt <= 1) repeatsAsFirstAttempt.push(`${id}:${repeat.step}`);
        }
        if (expected.get(id)!.kind === 'fail' && replyKind !== 'error') wrongAlerts.push(`${id}: a permanent failure answered with ${replyKind}`);
      }
      const notifyFailed: Record<string, number> = {};
      for (const job of await notifyQueue.getFailed(0, -1)) {
        const reason = (job.failedReason ?? '').replace(/fault-\d+/, 'ID');
        notifyFailed[reason] = (notifyFailed[reason] ?? 0) + 1;
      }
      const states: Record<string, number> = {};
      for (const s of detectStates.values()) states[s] = (states[s] ?? 0) + 1;
      const summary = {
        jobs: JOBS,
        kills,
        redisRestarts: restarts,
        stalled,
        detectStates: states,
        failedReasons,
        notifyFailed,
        replies: [...byScanStep.keys()].filter((k) => k.endsWith('|reply')).length,
        alerts: [...byScanStep.keys()].filter((k) => k.endsWith('|alert')).length,
        platformCalls: posts.length,
        duplicateCalls,
      };
      console.log(`[faults] ${JSON.stringify(summary)}`);

      expect(crashed, 'workers that died on their own').toEqual([]);
      expect(lost, 'scans without a reply').toEqual([]);
      expect(wrongAlerts).toEqual([]);
      // Repeats (a worker killed between posting and recording it) reuse the step's idempotency key.
      expect(keyMismatch).toEqual([]);
      // …and are never a first attempt, or a notifier without a platform-side key would not look first.
      expect(repeatsAsFirstAttempt).toEqual([]);
      expect(posts.every((p) => expected.has(p.scanId))).toBe(true);
      for (const [id, state] of detectStates) expect(['completed', 'failed'], id).toContain(state);
      expect(Object.keys(failedReasons).every((r) => r.length > 0)).toBe(true);
      expect(await detectQueue.getJobCounts('active', 'waiting', 'delayed', 'prioritized')).toEqual({ active: 0, waiting: 0, delayed: 0, prioritized: 0 });
      expect(kills).toBeGreaterThan(3);
      expect(restarts).toBe(1);
    } finally {
      for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
      await Promise.all(events.map((e) => e.close()));
      await detectQueue.close();
      await notifyQueue.close();
      await producer.close();
      const client = redis.client();
      await deletePrefix(client, prefix).catch(() => 0);
      client.disconnect();
    }
  });
});

