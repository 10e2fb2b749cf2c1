import type { TextEntry } from './container-metadata.js';
import { matchGeneratorName } from './generator-names.js';
import { LIMITS } from './limits.js';
import type { ProvenanceMarker } from './provenance-report.js';

/** Fields that name the producing tool. */
const TOOL_KEYS = new Set(['software', 'source', 'creatortool', 'softwareagent', 'originatingprogram', 'generator', 'make', 'model', 'hostcomputer']);
/** Fields that name a person, where a generator name is a softer hint. */
const AUTHOR_KEYS = new Set(['artist', 'author', 'by-line', 'xpauthor', 'creator']);
/** Free-text fields that should only hold a short self-declaration when they say "AI generated". */
const TITLE_KEYS = new Set(['title', 'description', 'imagedescription', 'caption-abstract', 'xptitle', 'xpsubject', 'comment', 'xpcomment', 'usercomment']);
const GENERATION_KEYS = ['steps', 'sampler', 'sampler_name', 'seed', 'cfg_scale', 'scale', 'cfg', 'uc', 'negative_prompt', 'scheduler', 'denoise', 'noise_schedule'];

const STRONG = 0.98;

/**
 * Markers from text fields written by image generators: AUTOMATIC1111-style parameters
 * (any field: PNG `parameters`, EXIF UserComment, JPEG COM, stealth pnginfo), ComfyUI
 * `prompt`/`workflow` graphs, Fooocus, InvokeAI, NovelAI, JSON generation settings, generator
 * names in tool-name fields and short "AI generated" self-declarations.
 */
export function findGeneratorMarkers(texts: TextEntry[]): ProvenanceMarker[] {
  const markers: ProvenanceMarker[] = [];
  const seen = new Set<string>();
  const add = (m: ProvenanceMarker): void => {
    const id = `${m.kind}|${m.detail}`;
    if (seen.has(id)) return;
    seen.add(id);
    markers.push(m);
  };
  for (const t of texts) {
    const value = t.value.length > LIMITS.maxJsonBytes ? t.value.slice(0, LIMITS.maxJsonBytes) : t.value;
    const key = t.key.toLowerCase();
    const local = key.includes(':') ? key.slice(key.lastIndexOf(':') + 1) : key;
    const where = `${t.container} ${JSON.stringify(t.key)}`;
    const meta = (detail: string, strength: ProvenanceMarker['strength'] = 'strong', score = STRONG): ProvenanceMarker => ({
      kind: 'generator_metadata',
      indicates: 'ai',
      source: where,
      detail: `${detail} in ${where}`,
      strength,
      score,
    });

    const json = parseJsonObject(value);
    const a1111 = describeA1111(value);
    if (a1111) add(meta(a1111));

    if (local === 'fooocus_scheme') add(meta(`Fooocus metadata (scheme ${value.trim().slice(0, 40)})`));
    if (local === 'prompt' || local === 'workflow') {
      const comfy = describeComfy(local, value, json);
      if (comfy) add(meta(comfy));
    }
    if (local === 'dream' && /"\s+(?:-s|-S|--steps|--seed|-W|-H|-C|-A)\s*\S/.test(value)) add(meta('InvokeAI "Dream" prompt'));
    const invoke = local === 'sd-metadata' || local === 'invokeai_metadata' || local === 'invokeai_graph';
    if (invoke && json) add(meta(describeInvoke(local, json)));
    const settings = json && !invoke && local !== 'prompt' && local !== 'workflow' ? describeGenerationJson(json) : undefined;
    if (settings) add(meta(settings, 'moderate', 0.93));

    if (TOOL_KEYS.has(local) || AUTHOR_KEYS.has(local)) {
      const name = matchGeneratorName(value);
      if (name) {
        const tool = TOOL_KEYS.has(local);
        add({
          kind: 'generator_software',
          indicates: 'ai',
          source: where,
          detail: `generator ${name} named in ${where} (${JSON.stringify(value.trim().slice(0, 80))})`,
          strength: tool ? 'strong' : 'moderate',
          score: tool ? 0.97 : 0.9,
        });
      }
    }
    const declaration = describeDeclaration(local, value);
    if (declaration) add({ kind: 'ai_declaration', indicates: 'ai', source: where, detail: `${declaration} in ${where}`, ...declarationStrength(declaration) });
  }
  return markers;
}

function describeA1111(value: string): string | undefined {
  if (!/\bSteps: \d+/.test(value) || !/\bSampler: [^,\n]+/.test(value)) return undefined;
  if (!/\b(?:Seed: \d+|CFG scale: [\d.]+)/.test(value)) return undefined;
  const model = /\bModel: ([^,\n]{1,80})/.exec(value)?.[1]?.trim();
  return `AUTOMATIC1111-style generation parameters (Steps, Sampler, Seed${model ? `; model ${model}` : ''})`;
}

function describeComfy(key: 'prompt' | 'workflow', value: string, json: Record<string, unknown> | undefined): string | undefined {
  if (key === 'prompt') {
    if (json) {
      const nodes = Object.values(json).filter((n): n is Record<string, unknown> => isObject(n) && typeof n['class_type'] === 'string');
      if (nodes.length === 0) return undefined;
      const ckpt = nodes
        .map((n) => (isObject(n['inputs']) ? (n['inputs']['ckpt_name'] ?? n['inputs']['unet_name']) : undefined))
        .find((v): v is string => typeof v === 'string');
      return `ComfyUI prompt graph (${nodes.length} nodes${ckpt ? `; model ${ckpt.slice(0, 80)}` : ''})`;
    }
    // ComfyUI writes NaN and Infinity, which JSON.parse rejects; the shape is still unmistakable.
    return /^\s*\{/.test(value) && /"class_type"\s*:\s*"/.test(value) ? 'ComfyUI prompt graph' : undefined;
  }
  if (json) {
    const nodes = json['nodes'];
    if (!Array.isArray(nodes) || !('links' in json || 'last_node_id' in json)) return undefined;
    return `ComfyUI workflow (${nodes.length} nodes)`;
  }
  return /^\s*\{/.test(value) && /"nodes"\s*:\s*\[/.test(value) && /"links"\s*:/.test(value) ? 'ComfyUI workflow' : undefined;
}

function describeInvoke(key: string, json: Record<string, unknown>): string {
  const app = typeof json['app_id'] === 'string' ? `${json['app_id']}${typeof json['app_version'] === 'string' ? ` ${json['app_version']}` : ''}` : undefined;
  const modelField = json['model_weights'] ?? json['model'];
  const model = typeof modelField === 'string' ? modelField : isObject(modelField) && typeof modelField['name'] === 'string' ? modelField['name'] : undefined;
  const parts = [app, model ? `model ${model.slice(0, 80)}` : undefined].filter(Boolean);
  return `InvokeAI ${key}${parts.length ? ` (${parts.join('; ')})` : ''}`;
}

/** JSON objects with several sampler settings (NovelAI Comment, Draw Things, Fooocus, …). */
function describeGenerationJson(json: Record<string, unknown>): string | undefined {
  const found = GENERATION_KEYS.filter((k) => k in json);
  if (found.length < 3 || !found.some((k) => k === 'steps' || k === 'sampler' || k === 'sampler_name' || k === 'seed')) return undefined;
  return `generation settings JSON (${found.slice(0, 5).join(', ')})`;
}

function describeDeclaration(key: string, value: string): string | undefined {
  const v = value.trim();
  if (v.length > 200) return undefined;
  if (/\bmade with google ai\b/i.test(v)) return '"Made with Google AI" credit';
  if (/\bedited with google ai\b/i.test(v)) return '"Edited with Google AI" credit';
  if (TITLE_KEYS.has(key) && /^(?:an?\s+)?ai[\s-]generated(?:\s+(?:image|picture|art|artwork|content|photo))?\s*\.?$/i.test(v)) {
    return `self-declared "${v}"`;
  }
  return undefined;
}

function declarationStrength(declaration: string): Pick<ProvenanceMarker, 'strength' | 'score'> {
  if (declaration.startsWith('"Edited')) return { strength: 'moderate', score: 0.85 };
  if (declaration.startsWith('"Made')) return { strength: 'strong', score: 0.95 };
  return { strength: 'moderate', score: 0.9 };
}

export function parseJsonObject(value: string): Record<string, unknown> | undefined {
  const text = value.trim();
  if (!text.startsWith('{') || text.length > LIMITS.maxJsonBytes) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
