/**
 * The one way the engine runs an external command: a tool name and an argument array, never a shell line. A
 * HostRunner says nothing of where the command runs, so the same adapters can later drive a remote hypervisor
 * over SSH (no file-system access, no local path assumed here). See docs/architecture.md for the adapter layer.
 */
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { AppError } from '../../shared/errors';
import { TOOL_ENV, toolError } from './tool-error';

export interface RunnerOptions {
  /** Aborting it stops the command (SIGTERM) and fails the run with E_CANCELLED. */
  signal?: AbortSignal;
  /** Milliseconds before the command is stopped and the run fails with E_TOOL; none by default. */
  timeoutMs?: number;
  /** Variables added over TOOL_ENV (which is always set, so tools answer untranslated and unpaged). */
  env?: Readonly<Record<string, string>>;
  /** What the command reads: nothing (the default), or this text. */
  stdin?: 'ignore' | string;
  /** Each piece of stdout as it arrives, for progress; the whole output is still returned. */
  onStdout?: (chunk: string) => void;
  /**
   * The command's input is an open pipe, never written, until this signal aborts (then the pipe is closed) or the
   * command ends; in place of `stdin`. ssh passes the close on to the remote side, which stops its tool then.
   */
  holdStdin?: AbortSignal;
}

/** How a command ended. A trailing newline is cut from both outputs. `exitCode` is null when killed by a signal. */
export interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  /** Aborting it kills the child; its `ended` then settles as for any other exit. */
  signal?: AbortSignal;
  /** Variables added over TOOL_ENV. */
  env?: Readonly<Record<string, string>>;
}

/** A long-lived command: its input pipe, streaming outputs, a kill switch, and its end. */
export interface RunnerChild {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Stops the process at once (SIGKILL): a tool that stopped answering may not read a polite request. */
  kill(): void;
  /** Settles once the process has exited and both outputs have ended, so every byte it wrote has been read. */
  readonly ended: Promise<{ exitCode: number | null }>;
}

/** Where and how commands run. */
export interface HostRunner {
  /** The host the commands run on: 'local' for this computer. */
  readonly host: string;
  /** A label for messages and logs. */
  describe(): string;
  /**
   * Runs a command to its end. Never rejects for a non-zero exit (the adapter decides what that means); rejects
   * with E_CANCELLED when aborted, E_TOOL when it did not answer in time or could not start.
   */
  run(tool: string, args: readonly string[], options?: RunnerOptions): Promise<RunResult>;
  /** Starts a long-lived command reading a pipe (a virsh session). */
  spawn(tool: string, args: readonly string[], options?: SpawnOptions): RunnerChild;
}

/** The error of a command stopped because it did not answer within `timeoutMs`. */
export function runTimeoutError(tool: string, args: readonly string[], timeoutMs: number, stderr = ''): AppError {
  return new AppError('E_TOOL', `${tool} did not answer within ${timeoutMs / 1000} s.`, {
    tool,
    args: [...args],
    exitCode: null,
    stderr: stderr.trim(),
    timeoutMs,
  });
}

/** The error of a command its caller cancelled. */
export function runCancelledError(tool: string, args: readonly string[]): AppError {
  return new AppError('E_CANCELLED', `${tool} was cancelled.`, { tool, args: [...args] });
}

/** Feeds stdout to a listener as text, a multi-byte character split between chunks kept whole. */
function listen(stream: Readable | null, onChunk: ((chunk: string) => void) | undefined): void {
  if (stream === null || onChunk === undefined) return;
  const decoder = new TextDecoder();
  stream.on('data', (chunk: Uint8Array | string) => {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (text !== '') onChunk(text);
  });
}

async function runLocal(tool: string, args: readonly string[], options: RunnerOptions = {}): Promise<RunResult> {
  if (options.signal?.aborted === true) throw runCancelledError(tool, args);
  const timeoutMs = options.timeoutMs;
  // Loaded with the first command: a scan read through libvirt's library runs none, and starts sooner without it.
  const { execa } = await import('execa');
  const child = execa(tool, args, {
    reject: false,
    env: { ...TOOL_ENV, ...options.env },
    ...(options.holdStdin !== undefined
      ? { stdin: 'pipe' as const }
      : options.stdin === undefined || options.stdin === 'ignore'
        ? { stdin: 'ignore' as const }
        : { input: options.stdin }),
    ...(options.signal === undefined ? {} : { cancelSignal: options.signal }),
    ...(timeoutMs !== undefined && Number.isFinite(timeoutMs) ? { timeout: timeoutMs } : {}),
  });
  listen(child.stdout, options.onStdout);
  const release = () => child.stdin?.end();
  options.holdStdin?.addEventListener('abort', release, { once: true });
  if (options.holdStdin?.aborted === true) release();
  const result = await child.finally(() => options.holdStdin?.removeEventListener('abort', release));
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  if (result.isCanceled) throw runCancelledError(tool, args);
  if (result.timedOut) throw runTimeoutError(tool, args, timeoutMs ?? 0, stderr);
  if (result.isMaxBuffer) throw toolError(tool, args, null, 'printed more than 100 MB; it was stopped');
  if (result.exitCode === undefined && result.signal === undefined) {
    // It never ran: no such program, or not executable.
    throw toolError(tool, args, null, stderr === '' ? `could not start: ${result.shortMessage}` : stderr);
  }
  return { exitCode: result.exitCode ?? null, stdout, stderr };
}

/**
 * Starts a long-lived command with Node's own child_process (pipes, a kill, an exit code are all a session needs),
 * loaded on first use: `tree --connect` through libvirt's library starts no process, and loading child_process
 * costs it several milliseconds. The environment is this process's with the tool's variables over it.
 */
function spawnLocal(tool: string, args: readonly string[], options: SpawnOptions = {}): RunnerChild {
  const { spawn } = process.getBuiltinModule('node:child_process');
  const child = spawn(tool, args, {
    env: { ...process.env, ...TOOL_ENV, ...options.env },
    stdio: 'pipe',
    ...(options.signal === undefined ? {} : { signal: options.signal, killSignal: 'SIGKILL' as const }),
  });
  const { stdin, stdout, stderr } = child;
  // A program that cannot start (or an abort) comes as an 'error' event; `ended` reports it as an exit without a code.
  const exited = new Promise<{ exitCode: number | null }>((resolve) => {
    child.once('error', () => resolve({ exitCode: null }));
    child.once('exit', (code) => resolve({ exitCode: code }));
  });
  const drained = (stream: Readable) => finished(stream).catch(() => undefined);
  return {
    stdin,
    stdout,
    stderr,
    kill: () => child.kill('SIGKILL'),
    ended: Promise.all([exited, drained(stdout), drained(stderr)]).then(([result]) => result),
  };
}

/** Runs commands on this computer (execa for a run, child_process for a session): argument arrays, no shell. */
export const localRunner: HostRunner = {
  host: 'local',
  describe: () => 'this computer',
  run: runLocal,
  spawn: spawnLocal,
};

/** Runs a command and returns its stdout; any exit but 0 becomes a ToolError carrying its stderr. */
export async function runChecked(runner: HostRunner, tool: string, args: readonly string[], options?: RunnerOptions): Promise<string> {
  const result = await runner.run(tool, args, options);
  if (result.exitCode !== 0) throw toolError(tool, args, result.exitCode, result.stderr);
  return result.stdout;
}
