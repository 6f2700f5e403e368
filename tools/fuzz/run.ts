/**
 * The model-file fuzzer: mutates real files (tools/fuzz/mutate.ts) and reads each through the runtime in
 * worker processes (tools/fuzz/case.ts) held to a time and a memory limit, then prints a table of
 * outcomes and one JSON line. Deterministic by seed.
 *
 *   npm run fuzz -- [--format safetensors|pth|config|tokenizer|all] [--cases 1000] [--seed 7]
 *                   [--timeout-ms 2000] [--memory-mb 512] [--workers 2] [--show 5]
 *
 * A case fails when it throws anything but an Error naming the file (an internal error), runs past the
 * time limit, grows the worker past the memory limit, or loads a file whose structure was damaged
 * (for safetensors, changed tensor bytes load: the format has no checksum).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { CaseResult } from './case.ts';
import { caseRng, FORMATS, mutate, ORIGINALS, type Format } from './mutate.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

export type Verdict = 'clean error' | 'loaded unchanged' | 'data changed' | 'accepted by the schema' | 'internal error' | 'over time' | 'over memory' | 'corrupt loaded';
/** The verdicts that fail a run. */
export const FAILURES: readonly Verdict[] = ['internal error', 'over time', 'over memory', 'corrupt loaded'];

export interface FuzzOptions {
  formats: readonly Format[];
  /** Cases per format. */
  cases: number;
  seed: number;
  timeoutMs?: number;
  memoryMb?: number;
  workers?: number;
}

export interface FuzzResult {
  format: Format;
  index: number;
  kind: string;
  verdict: Verdict;
  message?: string;
  ms: number;
}

function verdictOf(r: CaseResult, timeoutMs: number): Verdict {
  if (r.outcome === 'internal') return 'internal error';
  if (r.ms > timeoutMs) return 'over time';
  if (r.outcome === 'clean') return 'clean error';
  if (!r.changed) return 'loaded unchanged';
  if (r.region === 'data') return 'data changed';
  return r.format === 'config' || r.format === 'tokenizer' ? 'accepted by the schema' : 'corrupt loaded';
}

/** A worker process and the case it is on. */
class Worker {
  private child!: ChildProcess;
  private lines!: AsyncIterator<string>;
  private baselineKb = 0;
  private constructor() {}

  static async start(): Promise<Worker> {
    const w = new Worker();
    w.child = spawn(process.execPath, ['--import', './tools/wgsl-register.mjs', '--import', 'tsx', 'tools/fuzz/case.ts'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    w.lines = createInterface({ input: w.child.stdout! })[Symbol.asyncIterator]();
    const first = await w.lines.next();
    if (first.done || !JSON.parse(first.value).ready) throw new Error('fuzz: a worker did not start');
    w.baselineKb = rssKb(w.child.pid!);
    return w;
  }

  /** Runs one case: its result, or why the worker had to be killed ('over time', 'over memory'). */
  async run(format: Format, seed: number, index: number, timeoutMs: number, memoryMb: number): Promise<CaseResult | 'over time' | 'over memory'> {
    let killed: 'over time' | 'over memory' | undefined;
    const kill = (why: 'over time' | 'over memory') => {
      killed ??= why;
      this.child.kill('SIGKILL');
    };
    // A hang is a case still running at twice the limit; one that finishes late is 'over time' too.
    const timer = setTimeout(() => kill('over time'), 2 * timeoutMs);
    const poll = setInterval(() => {
      if (rssKb(this.child.pid!) - this.baselineKb > memoryMb * 1024) kill('over memory');
    }, 20);
    this.child.stdin!.write(`${JSON.stringify({ format, seed, index })}\n`);
    const line = await this.lines.next();
    clearTimeout(timer);
    clearInterval(poll);
    if (killed || line.done) return killed ?? 'over memory';
    const result = JSON.parse(line.value) as CaseResult;
    if (result.peakMb * 1024 - this.baselineKb > memoryMb * 1024) return 'over memory';
    return result;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** Resident memory of a process in KB (0 once it is gone). */
function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** What case `index` does (for a case whose worker had to be killed, which could not say). */
function describeCase(format: Format, seed: number, index: number): string {
  return mutate(format, new Uint8Array(readFileSync(`${ROOT}/${ORIGINALS[format].path}`)), caseRng(seed, index)).kind;
}

/** Runs the cases over a pool of workers; results in case order. */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzResult[]> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const memoryMb = opts.memoryMb ?? 512;
  const queue = opts.formats.flatMap((format) => Array.from({ length: opts.cases }, (_, index) => ({ format, index })));
  const results: FuzzResult[] = new Array(queue.length);
  let next = 0;
  const lane = async () => {
    let worker = await Worker.start();
    for (let i = next++; i < queue.length; i = next++) {
      const { format, index } = queue[i];
      const r = await worker.run(format, opts.seed, index, timeoutMs, memoryMb);
      if (typeof r === 'string') {
        results[i] = { format, index, kind: describeCase(format, opts.seed, index), verdict: r, ms: r === 'over time' ? 2 * timeoutMs : 0 };
        worker.stop();
        worker = await Worker.start();
        continue;
      }
      results[i] = { format, index, kind: r.kind, verdict: verdictOf(r, timeoutMs), message: r.message, ms: r.ms };
      if (!worker.alive) worker = await Worker.start();
    }
    worker.stop();
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.workers ?? 2) }, lane));
  return results;
}

/** The outcome counts per format, as a markdown table. */
export function fuzzTable(results: readonly FuzzResult[]): string {
  const verdicts: Verdict[] = ['clean error', 'loaded unchanged', 'data changed', 'accepted by the schema', 'internal error', 'over time', 'over memory', 'corrupt loaded'];
  const formats = [...new Set(results.map((r) => r.format))];
  const rows = formats.map((f) => {
    const mine = results.filter((r) => r.format === f);
    const slowest = Math.max(...mine.map((r) => r.ms));
    return `| ${f} | ${mine.length} | ${verdicts.map((v) => mine.filter((r) => r.verdict === v).length).join(' | ')} | ${slowest.toFixed(0)} |`;
  });
  return [`| format | cases | ${verdicts.join(' | ')} | slowest ms |`, `| --- | ${verdicts.map(() => '---').join(' | ')} | --- | --- |`, ...rows].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      format: { type: 'string', default: 'all' },
      cases: { type: 'string', default: '1000' },
      seed: { type: 'string', default: '7' },
      'timeout-ms': { type: 'string', default: '2000' },
      'memory-mb': { type: 'string', default: '512' },
      workers: { type: 'string', default: '2' },
      show: { type: 'string', default: '5' },
    },
  });
  const formats = values.format === 'all' ? FORMATS : [values.format as Format];
  if (!formats.every((f) => (FORMATS as readonly string[]).includes(f))) throw new Error(`--format: expected one of ${FORMATS.join(', ')} or all, found '${values.format}'`);
  const num = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected a whole number >= ${min}, found '${v}'`);
    return n;
  };
  const opts = { formats, cases: num('cases', values.cases!, 1), seed: num('seed', values.seed!, 0), timeoutMs: num('timeout-ms', values['timeout-ms']!, 1), memoryMb: num('memory-mb', values['memory-mb']!, 1), workers: num('workers', values.workers!, 1) };
  const started = performance.now();
  const results = await runFuzz(opts);
  console.log(`fuzz: ${results.length} cases (seed ${opts.seed}) in ${((performance.now() - started) / 1000).toFixed(0)} s; limits ${opts.timeoutMs} ms, ${opts.memoryMb} MB\n`);
  console.log(fuzzTable(results));
  const failed = results.filter((r) => FAILURES.includes(r.verdict));
  for (const r of failed.slice(0, num('show', values.show!, 0))) console.log(`\n${r.verdict}: ${r.format} case ${r.index} (${r.kind}): ${r.message ?? ''}`);
  const counts = Object.fromEntries(formats.map((f) => [f, Object.fromEntries(FAILURES.map((v) => [v, results.filter((r) => r.format === f && r.verdict === v).length]))]));
  console.log(`\n${JSON.stringify({ seed: opts.seed, cases: results.length, failures: failed.length, counts })}`);
  if (failed.length) process.exitCode = 1;
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  main().catch((e: Error) => {
    console.error(`fuzz: ${e.message}`);
    process.exit(2);
  });
}
