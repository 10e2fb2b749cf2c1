import type { Config } from '../config/load-config.js';
import type { BackendId, DetectionBackend } from './backend.js';
import { CascadeBackend } from './cascade-backend.js';
import { createLocalEnsemble, type CreateLocalEnsembleOptions } from './create-local-ensemble.js';
import { createRemoteBackend } from './remote/create-remote-backend.js';
import { GenguardError } from '../errors/genguard-error.js';

/** Builds the backend the configuration (or `--backend`) names. */
export async function createBackend(
  config: Config,
  id: BackendId = config.env.GENGUARD_BACKEND,
  localOptions: CreateLocalEnsembleOptions = {},
): Promise<DetectionBackend> {
  switch (id) {
    case 'local':
      return createLocalEnsemble(config, localOptions);
    case 'bitmind':
    case 'bijou':
      return createRemoteBackend(config, id);
    case 'cascade': {
      const remotes = configuredRemotes(config);
      if (remotes.length === 0) {
        throw new GenguardError(
          'config_invalid',
          'the cascade backend needs a remote: set BITMIND_CLIENT_ID/BITMIND_CLIENT_SECRET, BITMIND_API_KEY or BIJOU_API_KEY',
        );
      }
      const local = await createLocalEnsemble(config, localOptions);
      return new CascadeBackend({ local, remotes: remotes.map((r) => createRemoteBackend(config, r)), bands: config.bands });
    }
  }
}

function configuredRemotes(config: Config): Array<'bitmind' | 'bijou'> {
  const env = config.env as Record<string, unknown>;
  const out: Array<'bitmind' | 'bijou'> = [];
  if (env['BITMIND_API_KEY'] || env['BITMIND_CLIENT_ID']) out.push('bitmind');
  if (env['BIJOU_API_KEY']) out.push('bijou');
  return out;
}
