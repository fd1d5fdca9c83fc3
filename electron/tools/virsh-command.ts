/**
 * What every virsh adapter shares: the interface, per-call options, how an argument is quoted for a session, which
 * commands a session may take, and the errors of a command that stopped answering or was cancelled.
 */
import { AppError } from '../../shared/errors';

/** How long one command may take by default before its session is taken to have stopped answering. */
export const DEFAULT_TIMEOUT_MS = 60_000;

export interface RunOptions {
  /** Aborting it fails the command with E_CANCELLED; a command already written to a session stops that session. */
  signal?: AbortSignal;
  /** Milliseconds from the call until the command fails with E_TOOL; `Infinity` waits for ever. */
  timeoutMs?: number;
}

export interface Virsh {
  readonly uri: string;
  /** Runs one virsh command (`['snapshot-list', '--domain', 'vm', '--name']`) and returns its stdout. */
  run(args: readonly string[], options?: RunOptions): Promise<string>;
  /**
   * Runs many read-only commands at once and gives one promise per command, as `run` would settle it; an
   * adapter may run them in fewer processes than one `run` each (virsh-batch.ts). Optional: callers fall back
   * to `run` (see runAll).
   */
  runMany?(commands: ReadonlyArray<readonly string[]>, options?: RunOptions): Array<Promise<string>>;
  close(): Promise<void>;
}

/**
 * Quotes one argument for virsh's own command-line parser, which treats single quotes as the shell does:
 * inside them every character is literal (`\\`, `"`, `#`, `;`, `$`, spaces); a `'` closes, is escaped, reopens.
 * A leading `-` needs nothing: virsh reads `--x` as an option whether quoted or not, in a session as in argv.
 */
export function quoteVirshArg(arg: string): string {
  if (/^[A-Za-z0-9_.,:=@%+/-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", "'\\''")}'`;
}

/** What a line editor may read as a key, or what has no exact UTF-8 form: C0 controls, DEL, C1, lone surrogates. */
// eslint-disable-next-line no-control-regex -- these are the characters to keep off the line editor
const NOT_LINE_TEXT = /[\u0000-\u001f\u007f-\u009f]|\p{Cs}/u;

/** Whether a command can be typed into a session: every argument printable text, nothing a key. */
export function isLineSafe(args: readonly string[]): boolean {
  return !args.some((arg) => NOT_LINE_TEXT.test(arg));
}

/**
 * The command's name comes first and is a plain word. virsh would read a leading `-` as one of its own options,
 * and a lone argument as a whole command line (`virsh 'list; undefine x'` runs both).
 */
export function checkCommandWord(args: readonly string[]): void {
  if (!/^[a-z][a-z0-9-]*$/.test(args[0] ?? '')) {
    throw new AppError('E_BAD_INPUT', `Not a virsh command: ${JSON.stringify(args[0] ?? '')}.`, { args: [...args] });
  }
}

/**
 * Whether a command's own stderr says it failed. In a session virsh reports no exit status per command, and a
 * line `a ; b` runs `b` even when `a` fails, so the status cannot be echoed either: virsh prefixes every failure
 * it reports with `error:` (LC_ALL=C), while warnings and notes on stderr do not make a command fail.
 */
export function saysFailed(stderr: string): boolean {
  return /^error:/m.test(stderr);
}

/** The error of a command that had no answer in time. */
export function timeoutError(args: readonly string[], timeoutMs: number): AppError {
  return new AppError('E_TOOL', `virsh stopped answering: ${args[0] ?? ''} had no answer within ${timeoutMs / 1000} s.`, {
    tool: 'virsh',
    args: [...args],
    exitCode: null,
    stderr: '',
    timeoutMs,
  });
}

/** The error of a command cancelled by its caller; `ran: false` only where it provably never reached virsh. */
export function cancelledError(args: readonly string[], ran: boolean | 'maybe'): AppError {
  const how = ran === false ? 'before it ran' : 'while it ran; it may have completed';
  return new AppError('E_CANCELLED', `virsh ${args[0] ?? ''} was cancelled ${how}.`, { tool: 'virsh', args: [...args] });
}

/** Runs read-only commands through `runMany` where the adapter has it, else one `run` each. */
export function runAll(virsh: Virsh, commands: ReadonlyArray<readonly string[]>, options?: RunOptions): Array<Promise<string>> {
  return virsh.runMany !== undefined ? virsh.runMany(commands, options) : commands.map((args) => virsh.run(args, options));
}
