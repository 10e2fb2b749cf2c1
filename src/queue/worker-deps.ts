import type { BackendId, DetectionBackend } from '../detector/backend.js';
import type { ImageInput } from '../intake/image-input.js';
import type { Lane } from './queue-layout.js';
import type { MediaAuth, ScanJob } from './scan-job.js';

/**
 * What a worker needs from the rest of genguard, as small interfaces so tests pass fakes and
 * the CLI wires the real parts.
 */

/** Fetches an image (intake's ImageLoader fits). Workers pass URLs; tests may pass bytes. */
export interface ImageSourceLoader {
  load(
    source: string | Uint8Array,
    options?: { headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<ImageInput>;
}

/**
 * Turns a job's credentials reference into request headers at fetch time, so tokens never sit in
 * Redis. Slack: `{ kind: 'slack-bot', teamId }` → `{ authorization: 'Bearer xoxb-…' }` from the
 * installation store. Throw a GenguardError (`auth_failed` when the installation is gone).
 */
export type CredentialsResolver = (auth: MediaAuth, job: ScanJob) => Promise<Record<string, string>>;

/** A backend plus the version of its model set, which keys the result cache. */
export interface BackendLease {
  backend: DetectionBackend;
  /** e.g. `${manifest.version}+${backend.id}`: a new model set must give a new string. */
  modelSetVersion: string;
}

/** Supplies backends per lane and per workspace override; should build each one once. */
export interface BackendProvider {
  get(lane: Lane, backendId?: BackendId): Promise<BackendLease>;
  close(): Promise<void>;
}

export interface BackendRequest {
  lane: Lane;
  backendId: BackendId;
  /** GENGUARD_MODEL_TIMEOUTS, for a backend that runs slow members with their own timeout. */
  modelTimeoutsMs: Record<string, number>;
}

/**
 * The default BackendProvider: builds each (lane, backend) once through `create` and closes
 * them all at the end. The lane's default backend is `defaults[lane]`, else `defaultBackend`.
 */
export class MemoBackendProvider implements BackendProvider {
  readonly #leases = new Map<string, Promise<BackendLease>>();

  constructor(
    private readonly options: {
      create: (request: BackendRequest) => Promise<BackendLease>;
      defaultBackend: BackendId;
      modelTimeoutsMs?: Record<string, number>;
    },
  ) {}

  get(lane: Lane, backendId?: BackendId): Promise<BackendLease> {
    const id = backendId ?? this.options.defaultBackend;
    const key = `${lane}/${id}`;
    let lease = this.#leases.get(key);
    if (!lease) {
      lease = this.options.create({ lane, backendId: id, modelTimeoutsMs: this.options.modelTimeoutsMs ?? {} });
      // A failed build (bad config, missing model) is retried on the next job, not cached.
      lease.catch(() => this.#leases.delete(key));
      this.#leases.set(key, lease);
    }
    return lease;
  }

  async close(): Promise<void> {
    const leases = [...this.#leases.values()];
    this.#leases.clear();
    const built = await Promise.allSettled(leases);
    const backends = new Set(built.flatMap((r) => (r.status === 'fulfilled' ? [r.value.backend] : [])));
    await Promise.allSettled([...backends].map((b) => b.close()));
  }
}
