import type { Config } from '../config/load-config.js';
import { GenguardError } from '../errors/genguard-error.js';
import { decodeRgb } from '../intake/decode-rgb.js';
import { ClassifierDetector } from './classifier-detector.js';
import type { Detector } from './detector.js';
import { LocalEnsemble } from './local-ensemble.js';
import { loadManifest, type Manifest, type ManifestModel } from './manifest.js';
import { OnnxSessions } from './onnx/onnx-sessions.js';
import { ProvenanceDetector } from './provenance/provenance-detector.js';
import { AerobladeDetector } from './methods/aeroblade-detector.js';

export interface CreateLocalEnsembleOptions {
  /** Model ids to run; default: GENGUARD_MODELS, else every enabled, non-slow manifest entry. */
  only?: string[] | undefined;
  /** Load every ONNX session now rather than on the first image. */
  warm?: boolean;
  sessions?: OnnxSessions;
  manifest?: Manifest;
}

type Factory = (model: ManifestModel, ctx: { manifest: Manifest; sessions: OnnxSessions }) => Detector;

/** Methods the manifest may name. Adding a model of a known method is a manifest edit only. */
export const METHODS: Record<string, Factory> = {
  classifier: (model, ctx) => new ClassifierDetector({ model, manifestDir: ctx.manifest.dir, sessions: ctx.sessions }),
  provenance: (model) => new ProvenanceDetector({ id: model.id, weight: model.weight }),
  /** AEROBLADE: autoencoder reconstruction distance, one ONNX graph per autoencoder in `files`. */
  aeroblade: (model, ctx) => new AerobladeDetector({ model, manifestDir: ctx.manifest.dir, sessions: ctx.sessions }),
};

export function selectModels(manifest: Manifest, only: string[] | undefined): ManifestModel[] {
  if (only && only.length > 0) {
    const byId = new Map(manifest.models.map((m) => [m.id, m]));
    return only.map((id) => {
      const model = byId.get(id);
      if (!model) {
        throw new GenguardError('config_invalid', `unknown model "${id}"; the manifest has: ${[...byId.keys()].join(', ')}`);
      }
      return model;
    });
  }
  return manifest.models.filter((m) => m.enabled && !m.slow);
}

export async function createLocalEnsemble(config: Config, options: CreateLocalEnsembleOptions = {}): Promise<LocalEnsemble> {
  const manifest = options.manifest ?? (await loadManifest(config.manifestPath));
  const sessions = options.sessions ?? new OnnxSessions({ intraOpThreads: config.env.GENGUARD_ORT_THREADS });
  const models = selectModels(manifest, options.only ?? config.env.GENGUARD_MODELS);
  const members = models.map((model) => {
    const factory = METHODS[model.method];
    if (!factory) {
      throw new GenguardError('config_invalid', `model "${model.id}" uses unknown method "${model.method}"; known: ${Object.keys(METHODS).join(', ')}`);
    }
    return { detector: factory(model, { manifest, sessions }), timeoutMs: model.timeoutMs };
  });
  if (options.warm) {
    await Promise.all(
      members.map(async ({ detector }) => {
        if (detector instanceof ClassifierDetector || detector instanceof AerobladeDetector) {
          await detector.warm().catch(() => undefined);
        }
      }),
    );
  }
  return new LocalEnsemble({
    members,
    bands: config.bands,
    decode: (image) => decodeRgb(image, { maxPixels: config.intake.maxPixels }),
    version: `${manifest.version}:${models.map((m) => `${m.id}@${fingerprint(m)}`).join(',')}`,
    onClose: () => sessions.close(),
  });
}

/** What identifies a member's weights in the model-set version (AEROBLADE has one file per autoencoder). */
function fingerprint(m: ManifestModel): string {
  if (m.sha256) return m.sha256.slice(0, 12);
  if (m.files.length > 0) return m.files.map((f) => f.sha256?.slice(0, 12) ?? f.role).join('+');
  return m.method;
}
