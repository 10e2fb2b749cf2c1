import type { Config } from '../config/load-config.js';
import type { BackendId, DetectionBackend } from './backend.js';
import { CascadeBackend } from './cascade-backend.js';
import { createLocalEnsemble, type CreateLocalEnsembleOptions } from './create-local-ensemble.js';
import { cascadeRemoteIds, createRemoteBackend, type RemoteBackendDeps } from './remote/create-remote-backend.js';
import { GenguardError } from '../errors/genguard-error.js';

export interface CreateBackendOptions {
  local?: CreateLocalEnsembleOptions;
  /** Shared Redis (rate limits across workers) and logger for the remote clients. */
  remote?: RemoteBackendDeps;
}

/** Builds the backend the configuration (or `--backend`) names. */
export async function createBackend(
  config: Config,
  id: BackendId = config.env.GENGUARD_BACKEND,
  options: CreateBackendOptions = {},
): Promise<DetectionBackend> {
  switch (id) {
    case 'local':
      return createLocalEnsemble(config, options.local);
    case 'bitmind':
    case 'bijou':
      return createRemoteBackend(config, id, options.remote);
    case 'cascade': {
      const remoteIds = cascadeRemoteIds(config);
      if (remoteIds.length === 0) {
        throw new GenguardError(
          'config_invalid',
          'the cascade backend needs a remote: set BITMIND_CLIENT_ID/BITMIND_CLIENT_SECRET, BITMIND_API_KEY or BIJOU_API_KEY (or GENGUARD_CASCADE_REMOTES)',
        );
      }
      const remotes = remoteIds.map((r) => createRemoteBackend(config, r, options.remote));
      const local = await createLocalEnsemble(config, options.local);
      return new CascadeBackend({ local, remotes, bands: config.bands, weights: config.remote.cascade.weights });
    }
  }
}
