/**
 * The virsh adapter: a small pool of long-lived sessions per connection (virsh-session.ts), and a process per
 * call for commands a session cannot take (control characters) or when asked. Every command takes a timeout and
 * an AbortSignal (virsh-command.ts).
 */
import { AppError } from '../../shared/errors';
import { localRunner } from './host-runner';
import { toolError } from './tool-error';
import { batchable, batchLine, BATCH_LINE_MAX, runBatch } from './virsh-batch';
import { cancelledError, checkCommandWord, DEFAULT_TIMEOUT_MS, isLineSafe, timeoutError, type RunOptions, type Virsh } from './virsh-command';
import { VirshSession, type SessionOptions } from './virsh-session';

export { DEFAULT_TIMEOUT_MS, isLineSafe, quoteVirshArg, runAll, type RunOptions, type Virsh } from './virsh-command';
export { VirshSession, type SessionChild, type SessionOptions, type SpawnVirsh } from './virsh-session';

/** Runs each command in a virsh process of its own: the fallback, and the naive baseline of the benchmark. */
export class VirshPerCall implements Virsh {
  constructor(
    readonly uri: string,
    private readonly options: Pick<SessionOptions, 'readOnly' | 'timeoutMs' | 'runner'> = {},
  ) {}

  async run(args: readonly string[], options: RunOptions = {}): Promise<string> {
    checkCommandWord(args);
    if (options.signal?.aborted === true) throw cancelledError(args, false);
    const full = ['-q', ...(this.options.readOnly === true ? ['-r'] : []), '-c', this.uri, ...args];
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const runner = this.options.runner ?? localRunner;
    const result = await runner
      .run('virsh', full, {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(Number.isFinite(timeoutMs) ? { timeoutMs } : {}),
      })
      .catch((error: unknown) => {
        throw restate(error, args, timeoutMs);
      });
    if (result.exitCode !== 0) throw toolError('virsh', full, result.exitCode, result.stderr);
    return result.stdout;
  }

  async close(): Promise<void> {}
}

/** The runner's cancel and timeout errors in the words the session's give, naming the virsh command. */
function restate(error: unknown, args: readonly string[], timeoutMs: number): unknown {
  if (!(error instanceof AppError)) return error;
  if (error.code === 'E_CANCELLED') return cancelledError(args, 'maybe');
  if (error.details?.timeoutMs !== undefined) return timeoutError(args, timeoutMs);
  return error;
}

/**
 * A few sessions on one connection, each command going to the least busy one. One virsh handles one command at
 * a time and waits on libvirtd for each; four keep both cores busy while a scan reads a thousand snapshots
 * (measured: 1.5 s with one session, 0.9 s with four). A command that is not printable text (a multi-line
 * description, or a name read from libvirt with a control character in it) runs in a process of its own.
 */
export class VirshPool implements Virsh {
  private readonly sessions: VirshSession[];
  private readonly perCall: VirshPerCall;

  constructor(
    readonly uri: string,
    size: number,
    private readonly options: SessionOptions = {},
  ) {
    this.sessions = Array.from({ length: Math.max(1, size) }, () => new VirshSession(uri, options));
    this.perCall = new VirshPerCall(uri, options);
  }

  /**
   * Runs many read-only commands in BATCHES processes of their own, each given its commands as its command line
   * (virsh-batch.ts): a scan's thousand snapshot dumps cost virsh about half the CPU they cost through sessions.
   * A command a batch cannot take runs as `run` runs it. The timeout counts from this call, for the whole batch.
   */
  runMany(commands: ReadonlyArray<readonly string[]>, options: RunOptions = {}): Array<Promise<string>> {
    const out = new Array<Promise<string>>(commands.length);
    const batched: number[] = [];
    const lineOf = (i: number): number => batchLine([{ args: commands[i] ?? [], end: MARK, err: MARK }]).length;
    commands.forEach((args, i) => {
      if (batchable(args) && lineOf(i) < BATCH_LINE_MAX) batched.push(i);
      else out[i] = this.run(args, options);
    });
    const runner = this.options.runner ?? localRunner;
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const batchOptions = { readOnly: this.options.readOnly ?? false, timeoutMs, ...(options.signal !== undefined ? { signal: options.signal } : {}) };
    for (const part of splitBatches(batched, lineOf)) {
      const promises = runBatch(runner, this.uri, part.map((i) => commands[i] ?? []), batchOptions);
      part.forEach((i, k) => (out[i] = promises[k] as Promise<string>));
    }
    return out;
  }

  /** Starts every session's virsh now, ahead of the first commands: each takes a while to connect. */
  open(): void {
    for (const session of this.sessions) session.open();
  }

  async run(args: readonly string[], options?: RunOptions): Promise<string> {
    if (!isLineSafe(args)) return this.perCall.run(args, options);
    const idlest = this.sessions.reduce((a, b) => (b.pending < a.pending ? b : a));
    return idlest.run(args, options);
  }

  async close(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.close()));
  }
}

/** Processes a batch of many commands is spread over: about one a core, with libvirtd on them too. */
const BATCHES = 2;
/** A marker as long as a batch's, for measuring a command's share of a batch's command line. */
const MARK = '@xxxxxxxxo00000@';

/** Splits commands (by index) into BATCHES runs in order, or more where a run's line would be too long. */
function splitBatches(indexes: number[], lineOf: (i: number) => number): number[][] {
  const lengths = indexes.map((i) => lineOf(i) + 3);
  const total = lengths.reduce((a, b) => a + b, 0);
  const target = Math.min(BATCH_LINE_MAX, Math.ceil(total / BATCHES));
  const parts: number[][] = [];
  let part: number[] = [];
  let size = 0;
  indexes.forEach((index, k) => {
    const length = lengths[k] ?? 0;
    if (part.length > 0 && (size + length > BATCH_LINE_MAX || (size >= target && parts.length < BATCHES - 1))) {
      parts.push(part);
      [part, size] = [[], 0];
    }
    part.push(index);
    size += length;
  });
  if (part.length > 0) parts.push(part);
  return parts;
}

/** Opens the adapter for a connection: a small pool of sessions by default, or a process per call. */
export function openVirsh(uri: string, mode: 'session' | 'per-call' = 'session', sessions = 4, options: SessionOptions = {}): Virsh {
  return mode === 'session' ? new VirshPool(uri, sessions, options) : new VirshPerCall(uri, options);
}

/** Whether a virsh failure says the object does not exist (as opposed to a broken connection). */
export function isNotFound(error: unknown): boolean {
  if (!(error instanceof AppError) || error.code !== 'E_TOOL') return false;
  const stderr = String(error.details?.stderr ?? '');
  return /not found|no domain snapshot|no current snapshot|does not have|metadata not found/i.test(stderr);
}
