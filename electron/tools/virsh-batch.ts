/**
 * Many read-only virsh commands in one process, given as its command line: `virsh -c URI "a ; b ; c"`. Without a
 * session's line editor (virsh-session.ts), which reads and echoes every byte typed, a thousand snapshot dumps cost
 * virsh about half the CPU. virsh parses that line as a session line (the same quoting, quoteVirshArg) and runs
 * every command in turn, a failed one too. Each command is followed by `echo END` and `help ERR`: `echo` prints
 * its text with no newline, and `help` of a command that does not exist fails with an error line naming it, so
 * stdout reads `OUT1 END1 OUT2 END2 …` and stderr `ERR-LINES1 …'ERR1'… \n …`. Markers carry a random nonce and a
 * sequence number, so no output can end a command early unless it holds that very marker.
 *
 * Only what a session would take runs here (printable text, a plain command word); the caller sends any other
 * command to a process of its own. A batch fails whole when its command line cannot be parsed.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../../shared/errors';
import type { HostRunner, RunnerChild } from './host-runner';
import { TOOL_ENV, toolError } from './tool-error';
import { cancelledError, checkCommandWord, isLineSafe, quoteVirshArg, saysFailed } from './virsh-command';
import { cutAtLine } from './virsh-frame';

/** The most text one command line carries: Linux takes at most 128 KiB in one argument. */
export const BATCH_LINE_MAX = 96 * 1024;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export interface BatchOptions {
  readOnly?: boolean;
  /** Milliseconds from the call until the unfinished commands fail with E_TOOL and the process is stopped. */
  timeoutMs: number;
  signal?: AbortSignal;
}

interface Item {
  readonly args: readonly string[];
  readonly end: string;
  readonly err: string;
  stdout: string | null;
  stderr: string | null;
  resolve: (stdout: string) => void;
  reject: (error: AppError) => void;
}

/** The command line of a batch: each command, then its two markers. */
export function batchLine(items: ReadonlyArray<Pick<Item, 'args' | 'end' | 'err'>>): string {
  return items.map((item) => `${item.args.map(quoteVirshArg).join(' ')} ; echo ${item.end} ; help ${item.err}`).join(' ; ');
}

/** Whether a command may go into a batch: the same rule as a session's. */
export function batchable(args: readonly string[]): boolean {
  try {
    checkCommandWord(args);
  } catch {
    return false;
  }
  return isLineSafe(args);
}

/**
 * Runs `commands` in one virsh process on `uri` and gives one promise per command, settled as its output comes:
 * its stdout, or its error (a failed command, a timeout, a cancel, the process's end). Commands must be
 * `batchable` and their line no longer than BATCH_LINE_MAX.
 */
export function runBatch(runner: HostRunner, uri: string, commands: ReadonlyArray<readonly string[]>, options: BatchOptions): Array<Promise<string>> {
  const nonce = Array.from(randomBytes(8), (b) => ALPHABET[b % ALPHABET.length]).join('');
  const items: Item[] = [];
  const promises = commands.map(
    (args, i) =>
      new Promise<string>((resolve, reject) => {
        items.push({ args, end: `@${nonce}o${i}@`, err: `@${nonce}e${i}@`, stdout: null, stderr: null, resolve, reject });
      }),
  );
  if (items.length === 0) return promises;
  if (options.signal?.aborted === true) {
    for (const item of items) item.reject(cancelledError(item.args, false));
    return promises;
  }
  const args = ['-q', ...(options.readOnly === true ? ['-r'] : []), '-c', uri, batchLine(items)];
  const child = runner.spawn('virsh', args, { env: TOOL_ENV });
  follow(child, items, options);
  return promises;
}

/** Reads the process's outputs, settling each command in order as both its markers come out. */
function follow(child: RunnerChild, items: Item[], options: BatchOptions): void {
  let stdout = '';
  let stderr = '';
  let next = 0;
  const drain = (): void => {
    for (; next < items.length; next++) {
      const item = items[next] as Item;
      if (item.stdout === null) {
        const at = stdout.indexOf(item.end);
        if (at !== -1) [item.stdout, stdout] = [stdout.slice(0, at), stdout.slice(at + item.end.length)];
      }
      if (item.stderr === null) {
        const cut = cutAtLine(stderr, `'${item.err}'`);
        if (cut !== null) [item.stderr, stderr] = [cut.output, cut.rest];
      }
      if (item.stdout === null || item.stderr === null) return;
      if (saysFailed(item.stderr)) item.reject(toolError('virsh', item.args, 1, item.stderr));
      else item.resolve(item.stdout);
    }
  };
  const failRest = (error: (item: Item) => AppError): void => {
    for (; next < items.length; next++) items[next]?.reject(error(items[next] as Item));
  };
  const onAbort = (): void => {
    failRest((item) => cancelledError(item.args, 'maybe'));
    child.kill();
  };
  const timer = setTimeout(() => {
    failRest((item) => new AppError('E_TOOL', `virsh stopped answering: ${item.args[0] ?? ''} had no answer within ${options.timeoutMs / 1000} s.`, { tool: 'virsh', args: [...item.args], exitCode: null, stderr: '', timeoutMs: options.timeoutMs }));
    child.kill();
  }, options.timeoutMs);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  child.stdin.on('error', () => undefined);
  child.stdin.end();
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    drain();
  });
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    drain();
  });
  const end = (exitCode: number | null): void => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    drain();
    const said = stderr.trim() || 'virsh ended before this command answered';
    failRest((item) => toolError('virsh', item.args, exitCode, said));
  };
  child.ended.then(
    (result) => end(result.exitCode),
    () => end(null),
  );
}

