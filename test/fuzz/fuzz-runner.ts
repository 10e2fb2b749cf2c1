import { performance } from 'node:perf_hooks';
import type { LocalEnsemble } from '../../src/detector/local-ensemble.js';
import { inspectProvenance } from '../../src/detector/provenance/inspect-provenance.js';
import type { DetectionResult } from '../../src/detector/result.js';
import { GenguardError } from '../../src/errors/genguard-error.js';
import type { ImageInput } from '../../src/intake/image-input.js';
import type { ImageLoader } from '../../src/intake/image-loader.js';
import { sniffFormat } from '../../src/intake/sniff-format.js';
import type { FuzzCase, FuzzCorpus } from './fuzz-cases.js';
import { HangWatchdog } from './hang-watchdog.js';

/**
 * Runs fuzz cases through intake (ImageLoader), the provenance reader and the full local
 * ensemble, and sorts every outcome: a result, a typed refusal, or a defect. Defects are
 *  - crash: something other than a GenguardError escaped, or a result that breaks its contract;
 *  - hang: no answer within `hangMs` (a JavaScript loop that blocks the event loop is caught by
 *    HangWatchdog after 2 × hangMs, which names the case and kills the process);
 *  - internal: a GenguardError `internal`, or a member that failed with a JavaScript runtime
 *    error (TypeError, RangeError…): caught, but a parser bug all the same;
 *  - swallowed: the provenance reader noted a JavaScript runtime error instead of a parse problem.
 */

export interface FuzzTargets {
  loader: ImageLoader;
  ensemble: LocalEnsemble;
}

export interface Defect {
  index: number;
  name: string;
  kind: 'crash' | 'hang' | 'internal' | 'swallowed';
  stage: 'intake' | 'provenance' | 'ensemble';
  detail: string;
}

export interface FuzzReport {
  cases: number;
  /** Inputs that reached a DetectionResult. */
  results: number;
  /** Typed refusals, by stage then code. */
  refused: { intake: Record<string, number>; ensemble: Record<string, number> };
  /** Ensemble members that abstained or failed on an input that still got a result, by "member:code". */
  memberNotes: Record<string, number>;
  defects: Defect[];
  /** Per-input wall time. */
  maxMs: number;
  slowest: string;
  totalMs: number;
  /** Resident set size (MiB): after the corpus was built, highest sampled, and the process maximum. */
  rss: { startMiB: number; peakSampledMiB: number; maxRssMiB: number };
  /** Recipe names and mutation names seen, so a report shows what was covered. */
  families: Record<string, number>;
}

const JS_RUNTIME_ERROR = /TypeError|RangeError|ReferenceError|SyntaxError: (?!JSON|Unexpected token|Unexpected end|Expected)|is not a function|Cannot read propert|Cannot set propert|is not iterable|Maximum call stack|Invalid array length|undefined is not|out of bounds access|Invalid typed array length/;

export interface RunFuzzOptions {
  count: number;
  /** First case index (default 0). */
  start?: number;
  /** A case without an answer after this long is a hang (default 60 s: the 40 MP decode on a busy 2-core box is the slowest legitimate input). */
  hangMs?: number;
  onCase?: (c: FuzzCase, outcome: string, ms: number) => void;
}

const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export async function runFuzz(corpus: FuzzCorpus, targets: FuzzTargets, options: RunFuzzOptions): Promise<FuzzReport> {
  const hangMs = options.hangMs ?? 60_000;
  const report: FuzzReport = {
    cases: 0,
    results: 0,
    refused: { intake: {}, ensemble: {} },
    memberNotes: {},
    defects: [],
    maxMs: 0,
    slowest: '',
    totalMs: 0,
    rss: { startMiB: mib(process.memoryUsage().rss), peakSampledMiB: 0, maxRssMiB: 0 },
    families: {},
  };
  const started = performance.now();
  const start = options.start ?? 0;
  // A JavaScript loop that never ends would block the timer below too: this thread catches it.
  const watchdog = new HangWatchdog(hangMs * 2);
  for (let index = start; index < start + options.count; index++) {
    const c = corpus.make(index);
    watchdog.starting(index, c.name);
    for (const part of c.name.split('+')) report.families[part] = (report.families[part] ?? 0) + 1;
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('hang'), hangMs);
    });
    const outcome = await Promise.race([runCase(c, targets, report), hang]);
    clearTimeout(timer);
    watchdog.finished();
    if (outcome === 'hang') report.defects.push({ index, name: c.name, kind: 'hang', stage: 'ensemble', detail: `no answer after ${hangMs} ms` });
    const ms = performance.now() - t0;
    if (ms > report.maxMs) {
      report.maxMs = Math.round(ms);
      report.slowest = `#${index} ${c.name}`;
    }
    report.cases++;
    report.rss.peakSampledMiB = Math.max(report.rss.peakSampledMiB, mib(process.memoryUsage().rss));
    options.onCase?.(c, outcome, ms);
  }
  await watchdog.stop();
  report.totalMs = Math.round(performance.now() - started);
  report.rss.maxRssMiB = Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
  return report;
}

/** Runs one case; returns a short outcome label ("result", "intake:decode_failed", "crash", …). */
async function runCase(c: FuzzCase, targets: FuzzTargets, report: FuzzReport): Promise<string> {
  const defect = (kind: Defect['kind'], stage: Defect['stage'], detail: string): string => {
    report.defects.push({ index: c.index, name: c.name, kind, stage, detail: detail.slice(0, 300) });
    return kind;
  };

  // The metadata reader on its own (it sees the notes the detector keeps to itself), on every
  // input with an image signature: also those intake refuses, which a later change could let through.
  const format = sniffFormat(c.bytes);
  if (format !== undefined && c.bytes.length <= targets.loader.limits.maxBytes) {
    try {
      const provenance = await inspectProvenance(c.bytes, format);
      const bug = provenance.notes.find((n) => JS_RUNTIME_ERROR.test(n));
      if (bug) defect('swallowed', 'provenance', bug);
    } catch (error) {
      return defect('crash', 'provenance', `inspectProvenance threw (it must not): ${describe(error)}`);
    }
  }

  let image: ImageInput;
  try {
    image = await targets.loader.load(c.bytes, { name: c.fileName });
  } catch (error) {
    if (!(error instanceof GenguardError)) return defect('crash', 'intake', describe(error));
    if (error.code === 'internal') return defect('internal', 'intake', error.message);
    report.refused.intake[error.code] = (report.refused.intake[error.code] ?? 0) + 1;
    return `intake:${error.code}`;
  }

  let result: DetectionResult;
  try {
    result = await targets.ensemble.detect(image);
  } catch (error) {
    if (!(error instanceof GenguardError)) return defect('crash', 'ensemble', describe(error));
    if (error.code === 'internal' || JS_RUNTIME_ERROR.test(error.message)) return defect('internal', 'ensemble', `${error.code}: ${error.message}`);
    report.refused.ensemble[error.code] = (report.refused.ensemble[error.code] ?? 0) + 1;
    return `ensemble:${error.code}`;
  }

  const broken = contractViolation(result, targets.ensemble.memberIds.length);
  if (broken) return defect('crash', 'ensemble', `result breaks its contract: ${broken}`);
  for (const [id, note] of Object.entries(result.model_notes ?? {})) {
    const key = `${id}:${note.status}:${note.code}`;
    report.memberNotes[key] = (report.memberNotes[key] ?? 0) + 1;
    if (note.status === 'failed' && (note.code === 'internal' || JS_RUNTIME_ERROR.test(note.reason))) {
      defect('internal', 'ensemble', `member ${id} failed: ${note.code}: ${note.reason}`);
    }
  }
  report.results++;
  return 'result';
}

function contractViolation(result: DetectionResult, members: number): string | undefined {
  const score = result.ensemble_score;
  if (!Number.isFinite(score) || score < 0 || score > 1) return `ensemble_score ${score}`;
  if (result.models_total !== members) return `models_total ${result.models_total}, expected ${members}`;
  if (result.models_succeeded < 1 || result.models_succeeded > members) return `models_succeeded ${result.models_succeeded}`;
  for (const [id, m] of Object.entries(result.model_results)) {
    if (!Number.isFinite(m.score) || m.score < 0 || m.score > 1) return `${id} score ${m.score}`;
  }
  return undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}\n${error.stack?.split('\n').slice(1, 4).join('\n') ?? ''}` : String(error);
}

/** A few lines for humans (bench output, test failure messages). */
export function summarise(report: FuzzReport): string {
  const sort = (o: Record<string, number>) => Object.entries(o).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    `cases ${report.cases}: ${report.results} results, ${Object.values(report.refused.intake).reduce((a, b) => a + b, 0)} refused by intake, ${Object.values(report.refused.ensemble).reduce((a, b) => a + b, 0)} refused by the ensemble, ${report.defects.length} defects`,
    `intake refusals: ${sort(report.refused.intake)}`,
    `ensemble refusals: ${sort(report.refused.ensemble)}`,
    `member notes on results: ${sort(report.memberNotes)}`,
    `time: ${report.totalMs} ms total, slowest ${report.maxMs} ms (${report.slowest})`,
    `RSS: ${report.rss.startMiB} MiB at start, peak sampled ${report.rss.peakSampledMiB} MiB, process max ${report.rss.maxRssMiB} MiB`,
    ...report.defects.slice(0, 20).map((d) => `DEFECT ${d.kind} at ${d.stage}, case #${d.index} ${d.name}: ${d.detail}`),
  ].join('\n');
}
