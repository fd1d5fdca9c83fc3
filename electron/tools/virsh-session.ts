/**
 * One long-lived `virsh` per connection reading commands on stdin: about 1 ms a command instead of about 20 ms for
 * a new process. That virsh reads stdin through a line editor (readline), where a control character is a key:
 * Ctrl-U erases the line typed so far, TAB completes, ESC starts a key sequence. So only printable text is ever
 * written to a session (see isLineSafe); virsh.ts runs any other command in a process of its own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';
import { localRunner, type HostRunner, type RunnerChild } from './host-runner';
import { TOOL_ENV, toolError } from './tool-error';
import {
  cancelledError,
  checkCommandWord,
  DEFAULT_TIMEOUT_MS,
  isLineSafe,
  quoteVirshArg,
  saysFailed,
  timeoutError,
  type RunOptions,
  type Virsh,
} from './virsh-command';
import { cutStderr, cutStdout, frameCommand, hasStarted, type Marks } from './virsh-frame';

/** A running virsh as the session sees it (a runner's long-lived child); tests put a fake in its place. */
export type SessionChild = RunnerChild;

/** Starts `virsh` with these arguments and this environment (added to the caller's). */
export type SpawnVirsh = (args: readonly string[], env: Readonly<Record<string, string>>) => SessionChild;

export interface SessionOptions {
  /** Opens the connection read-only (`virsh -r`), whose prompt is `virsh > `. */
  readOnly?: boolean;
  /** How long a command may take when its caller does not say. */
  timeoutMs?: number;
  /** Where virsh runs; this computer by default. */
  runner?: HostRunner;
  /** Starts the process in place of the runner (tests). */
  spawn?: SpawnVirsh;
}

/** Starts the real virsh through a runner: an argument array, no shell. */
export function spawnVirshOn(runner: HostRunner): SpawnVirsh {
  return (args, env) => runner.spawn('virsh', args, { env });
}

/** Starts virsh on this computer. */
export const spawnVirsh: SpawnVirsh = spawnVirshOn(localRunner);

/**
 * The session's readline settings, in place of ~/.inputrc and /etc/inputrc, so no machine's key bindings change
 * what a typed character does. Eight-bit text goes in and is echoed as it is: without output-meta readline echoes
 * it as octal escapes. TAB would insert itself rather than complete, should one ever get through.
 */
const INPUTRC = 'set input-meta on\nset output-meta on\nset convert-meta off\nset disable-completion on\n';
/** Folders of inputrc files that a virsh may not have read yet; whatever is left goes when the process exits. */
const inputrcDirs = new Set<string>();
let cleanupOnExit = false;

function writeInputrc(): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'snaptree-virsh-'));
  const file = join(dir, 'inputrc');
  writeFileSync(file, INPUTRC, { mode: 0o600 });
  if (!cleanupOnExit) process.once('exit', () => inputrcDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  cleanupOnExit = true;
  inputrcDirs.add(dir);
  return { file, remove: () => inputrcDirs.delete(dir) && rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Readline wraps an echoed line longer than the terminal with carriage returns; with no terminal it assumes 80
 * columns unless COLUMNS says otherwise. A line this wide is never wrapped, so each echo stays one plain line.
 */
const COLUMNS = '1000000';
/** Commands written ahead of their answers, per process: virsh reads them as fast as it can. */
const WINDOW = 32;

interface Entry {
  readonly args: readonly string[];
  readonly line: string;
  readonly marks: Marks;
  /** The process it was written to; null while it waits to be written. */
  live: Live | null;
  stdout: string | null;
  stderr: string | null;
  settled: boolean;
  /** Settles the caller's promise once; later calls do nothing. */
  finish: (error: AppError | null, stdout?: string) => void;
}

interface Live {
  readonly child: SessionChild;
  stdout: string;
  stderr: string;
  /** Written to this process and not yet cut from its output, in order; settled ones stay until cut. */
  readonly entries: Entry[];
  /** Killed by the session: the commands that never started go to the next process. */
  stopping: boolean;
  readonly done: Promise<void>;
}

const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * The session's random marker part: eight letters and digits (about 47 bits), as unguessable as twelve hex digits
 * and shorter. Every byte written to virsh costs it a read and an echo by its line editor, three markers a command.
 */
function nonce(): string {
  return Array.from(randomBytes(8), (b) => NONCE_ALPHABET[b % NONCE_ALPHABET.length]).join('');
}

/**
 * A virsh process kept open for one connection, restarted whenever it dies or is stopped. Commands are written
 * ahead of their answers (up to WINDOW) and each is cut from the output by its own markers (see virsh-frame.ts).
 *
 * Invariants: every caller's promise settles: with its output, its error line, a timeout (E_TOOL, default 60 s
 * from the call), a cancel (E_CANCELLED), or the end of the process. A command that times out or is cancelled
 * after it was written kills its process, since only that stops virsh from running it. When a process ends,
 * the command that had started and was unfinished fails; commands written after it provably never started (their
 * start marker never came out) and are written again to a fresh process if the session killed the old one, or
 * fail with the process's error if it died by itself (so a connection that cannot open fails fast rather than
 * restarting in a loop). The next command after any end starts a fresh process.
 */
export class VirshSession implements Virsh {
  private current: Live | null = null;
  private readonly lives = new Set<Live>();
  private waiting: Entry[] = [];
  private sequence = 0;
  private readonly nonce = nonce();
  private readonly spawn: SpawnVirsh;
  private readonly timeoutMs: number;
  private readonly readOnly: boolean;

  constructor(
    readonly uri: string,
    options: SessionOptions = {},
  ) {
    this.spawn = options.spawn ?? spawnVirshOn(options.runner ?? localRunner);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.readOnly = options.readOnly ?? false;
  }

  /** Commands waiting or running in this session. */
  get pending(): number {
    let count = this.waiting.length;
    for (const live of this.lives) count += live.entries.filter((e) => !e.settled).length;
    return count;
  }

  /** Starts the virsh process now unless one is running, so that it connects before the first command comes. */
  open(): void {
    if (this.current === null) this.start();
  }

  /** Fails with E_BAD_INPUT, having written nothing, for a command that is not printable text. */
  async run(args: readonly string[], options: RunOptions = {}): Promise<string> {
    checkCommandWord(args);
    if (!isLineSafe(args)) {
      throw new AppError('E_BAD_INPUT', 'A virsh session takes printable text only: a control character would act as a key.', { args: [...args] });
    }
    const { signal } = options;
    if (signal?.aborted === true) throw cancelledError(args, false);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const n = ++this.sequence;
    return new Promise<string>((resolve, reject) => {
      const entry: Entry = {
        args,
        line: args.map(quoteVirshArg).join(' '),
        marks: { start: `@${this.nonce}s${n}@`, end: `@${this.nonce}o${n}@`, err: `@${this.nonce}e${n}@` },
        live: null,
        stdout: null,
        stderr: null,
        settled: false,
        finish: (error, stdout) => {
          if (entry.settled) return;
          entry.settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (error === null) resolve(stdout ?? '');
          else reject(error);
        },
      };
      const onAbort = () => this.interrupt(entry, cancelledError(args, entry.live === null ? false : 'maybe'));
      const timer = Number.isFinite(timeoutMs) ? setTimeout(() => this.interrupt(entry, timeoutError(args, timeoutMs)), timeoutMs) : undefined;
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
      this.send();
    });
  }

  /** Lets the written commands finish, fails the unwritten ones with E_CANCELLED, and waits for virsh to quit. */
  async close(): Promise<void> {
    for (const entry of this.waiting.splice(0)) {
      entry.finish(new AppError('E_CANCELLED', `virsh ${entry.args[0] ?? ''} did not run: its session was closed.`, { tool: 'virsh', args: [...entry.args] }));
    }
    const live = this.current;
    this.current = null;
    live?.child.stdin.end('quit\n');
    await Promise.all([...this.lives].map((l) => l.done));
  }

  /** Fails one command now; if virsh may already be reading it, stops that process so that it cannot run later. */
  private interrupt(entry: Entry, error: AppError): void {
    if (entry.settled) return;
    entry.finish(error);
    const live = entry.live;
    if (live === null) {
      this.waiting = this.waiting.filter((e) => e !== entry);
      return;
    }
    if (live.stopping) return;
    live.stopping = true;
    if (this.current === live) this.current = null;
    live.child.kill();
    this.send();
  }

  private send(): void {
    if (this.waiting.length === 0) return;
    const live = this.current ?? this.start();
    let text = '';
    while (live.entries.length < WINDOW && this.waiting.length > 0) {
      const entry = this.waiting.shift() as Entry;
      entry.live = live;
      live.entries.push(entry);
      text += frameCommand(entry.line, entry.marks);
    }
    if (text !== '') live.child.stdin.write(text);
  }

  private start(): Live {
    // Readline reads its inputrc before it shows the first prompt; the file is not needed after that.
    const inputrc = writeInputrc();
    const args = ['-q', ...(this.readOnly ? ['-r'] : []), '-c', this.uri];
    const child = this.spawn(args, { ...TOOL_ENV, INPUTRC: inputrc.file, COLUMNS });
    const live: Live = {
      child,
      stdout: '',
      stderr: '',
      entries: [],
      stopping: false,
      done: child.ended.then(
        (result) => this.end(live, result.exitCode),
        () => this.end(live, null),
      ),
    };
    // A write to a process that has died fails here; its end is reported through `ended`.
    child.stdin.on('error', () => undefined);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      inputrc.remove();
      live.stdout += chunk;
      this.drain(live);
    });
    child.stderr.on('data', (chunk: string) => {
      live.stderr += chunk;
      this.drain(live);
    });
    void live.done.finally(() => inputrc.remove());
    this.lives.add(live);
    this.current = live;
    return live;
  }

  /** Settles the commands at the head of a process's queue whose stdout and stderr have both ended. */
  private drain(live: Live): void {
    for (;;) {
      const head = live.entries[0];
      if (head === undefined) break;
      if (head.stdout === null) {
        const cut = cutStdout(live.stdout, head.marks);
        if (cut !== null) [head.stdout, live.stdout] = [cut.output, cut.rest];
      }
      if (head.stderr === null) {
        const cut = cutStderr(live.stderr, head.marks);
        if (cut !== null) [head.stderr, live.stderr] = [cut.output, cut.rest];
      }
      if (head.stdout === null || head.stderr === null) break;
      live.entries.shift();
      head.finish(saysFailed(head.stderr) ? toolError('virsh', head.args, 1, head.stderr) : null, head.stdout);
    }
    if (live === this.current) this.send();
  }

  private end(live: Live, exitCode: number | null): void {
    const wasCurrent = this.current === live;
    if (wasCurrent) this.current = null;
    this.drain(live);
    this.lives.delete(live);
    const left = live.entries.splice(0);
    if (live.stopping) {
      // virsh runs one line at a time: only the first unfinished command can have started.
      const again = left.filter((entry, i) => {
        if (entry.settled) return false;
        if (i > 0 || (entry.stdout === null && !hasStarted(live.stdout, entry.marks))) return true;
        entry.finish(new AppError('E_TOOL', `virsh ${entry.args[0] ?? ''} was interrupted: its session was stopped because another command stopped answering or was cancelled; it may have run.`, { tool: 'virsh', args: [...entry.args], exitCode, stderr: live.stderr.trim() }));
        return false;
      });
      for (const entry of again) entry.live = null;
      this.waiting.unshift(...again);
    } else {
      const said = live.stderr.trim() || 'the virsh session ended before this command answered';
      for (const entry of [...left, ...(wasCurrent ? this.waiting.splice(0) : [])]) entry.finish(toolError('virsh', entry.args, exitCode, said));
    }
    this.send();
  }
}
