/**
 * The virsh adapter. One long-lived `virsh` per connection reads commands on stdin: about 1 ms a command
 * instead of about 20 ms for a new process. Commands that cannot travel on one line fall back to a process
 * of their own.
 */
import { execa, type ResultPromise } from 'execa';
import { AppError } from '../../shared/errors';
import { TOOL_ENV, toolError } from './tool-error';

export interface Virsh {
  readonly uri: string;
  /** Runs one virsh command (`['snapshot-list', '--domain', 'vm', '--name']`) and returns its stdout. */
  run(args: readonly string[]): Promise<string>;
  close(): Promise<void>;
}

/** Quotes one argument for virsh's own command-line parser, which treats single quotes as the shell does. */
export function quoteVirshArg(arg: string): string {
  if (/^[A-Za-z0-9_.,:=@%+/-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", "'\\''")}'`;
}

function errorLines(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '')
    .join('\n');
}

/** Runs each command in a virsh process of its own: the fallback, and the naive baseline of the benchmark. */
export class VirshPerCall implements Virsh {
  constructor(readonly uri: string) {}

  async run(args: readonly string[]): Promise<string> {
    const full = ['-q', '-c', this.uri, ...args];
    const result = await execa('virsh', full, { reject: false, env: TOOL_ENV, stdin: 'ignore' });
    if (result.exitCode !== 0) throw toolError('virsh', full, result.exitCode ?? null, String(result.stderr));
    return String(result.stdout);
  }

  async close(): Promise<void> {}
}

interface Pending {
  line: string;
  /** Echoed on stdout after the command: its stdout ends there. */
  outMarker: string;
  /** An unknown command whose error line on stderr ends the command's stderr. */
  errMarker: string;
  args: readonly string[];
  sent: boolean;
  stdout: string | null;
  stderr: string | null;
  resolve: (stdout: string) => void;
  reject: (error: unknown) => void;
}

const PROMPT = 'virsh # ';
const ECHO = 'echo ';
/** Commands written ahead of their answers, per session: virsh reads them as fast as it can. */
const WINDOW = 32;

/**
 * A virsh process kept open for one connection, fed commands on stdin. Each command line is followed by one
 * marker line, `echo @o@ ; cd /@e@`: the echo ends the command's stdout and the failing `cd` writes an error
 * line that ends its stderr. So commands can be written ahead without waiting, each error is read against its
 * own command, and a command line virsh cannot even parse still gets its markers.
 */
export class VirshSession implements Virsh {
  private child: ResultPromise | null = null;
  private stdout = '';
  private stderr = '';
  private queue: Pending[] = [];
  private sequence = 0;
  private readonly nonce = Math.random().toString(36).slice(2, 8);
  private readonly fallback: VirshPerCall;

  constructor(readonly uri: string) {
    this.fallback = new VirshPerCall(uri);
  }

  /** Commands waiting or running in this session. */
  get pending(): number {
    return this.queue.length;
  }

  run(args: readonly string[]): Promise<string> {
    if (args.some((a) => a.includes('\n') || a.includes('\r'))) return this.fallback.run(args);
    const n = ++this.sequence;
    return new Promise<string>((resolve, reject) => {
      this.queue.push({
        line: args.map(quoteVirshArg).join(' '),
        outMarker: `@${this.nonce}o${n}@`,
        errMarker: `@${this.nonce}e${n}@`,
        args,
        sent: false,
        stdout: null,
        stderr: null,
        resolve,
        reject,
      });
      this.send();
    });
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null) return;
    child.stdin?.end('quit\n');
    await child.catch(() => undefined);
  }

  private send(): void {
    let ahead = 0;
    let text = '';
    for (const entry of this.queue) {
      if (ahead >= WINDOW) break;
      ahead++;
      if (entry.sent) continue;
      entry.sent = true;
      text += `${entry.line}\n${ECHO}${entry.outMarker} ; cd /${entry.errMarker}\n`;
    }
    if (text !== '') this.ensureChild().stdin?.write(text);
  }

  private ensureChild(): ResultPromise {
    if (this.child !== null) return this.child;
    const child = execa('virsh', ['-q', '-c', this.uri], {
      env: TOOL_ENV,
      stdin: 'pipe',
      buffer: false,
      reject: false,
      encoding: 'utf8',
    });
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      this.stdout += chunk;
      this.drain();
    });
    child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
      this.drain();
    });
    void child.then((result) => {
      if (this.child === child) this.child = null;
      for (const pending of this.queue.splice(0)) {
        pending.reject(toolError('virsh', pending.args, result.exitCode ?? null, this.stderr || 'virsh exited'));
      }
      this.stdout = '';
      this.stderr = '';
    });
    this.child = child;
    return child;
  }

  /** Settles the commands at the head of the queue whose stdout and stderr have both ended. */
  private drain(): void {
    for (;;) {
      const head = this.queue[0];
      if (head === undefined) return;
      if (head.stdout === null) head.stdout = this.takeStdout(head.outMarker);
      if (head.stderr === null) head.stderr = this.takeStderr(head.errMarker);
      if (head.stdout === null || head.stderr === null) return;
      this.queue.shift();
      if (/^error:/m.test(head.stderr)) head.reject(toolError('virsh', head.args, 1, head.stderr));
      else head.resolve(head.stdout);
      this.send();
    }
  }

  /** Cuts one command's stdout: everything up to its marker, without the prompt lines echoing input. */
  private takeStdout(marker: string): string | null {
    // The marker as echo printed it, not inside the echoed input line "virsh # echo MARKER ; cd ...".
    let at = this.stdout.indexOf(marker);
    while (at !== -1 && this.stdout.slice(Math.max(0, at - ECHO.length), at) === ECHO) at = this.stdout.indexOf(marker, at + 1);
    if (at === -1) return null;
    let chunk = this.stdout.slice(0, at);
    this.stdout = this.stdout.slice(at + marker.length);
    // Readline echoes each input line after a prompt: the command's own line first, the marker line last.
    const lastPrompt = chunk.lastIndexOf(PROMPT);
    if (lastPrompt !== -1) chunk = chunk.slice(0, lastPrompt);
    while (chunk.startsWith(PROMPT)) {
      const eol = chunk.indexOf('\n');
      chunk = eol === -1 ? '' : chunk.slice(eol + 1);
    }
    return chunk;
  }

  /** Cuts one command's stderr: everything before the error line naming its marker. */
  private takeStderr(marker: string): string | null {
    const at = this.stderr.indexOf(`/${marker}`);
    if (at === -1) return null;
    const lineStart = this.stderr.lastIndexOf('\n', at) + 1;
    const lineEnd = this.stderr.indexOf('\n', at);
    if (lineEnd === -1) return null;
    const own = this.stderr.slice(0, lineStart);
    this.stderr = this.stderr.slice(lineEnd + 1);
    return errorLines(own);
  }
}

/**
 * A few sessions on one connection, each command going to the least busy one. One virsh handles one command at
 * a time and waits on libvirtd for each; four keep both cores busy while a scan reads a thousand snapshots
 * (measured: 1.5 s with one session, 0.9 s with four).
 */
export class VirshPool implements Virsh {
  private readonly sessions: VirshSession[];

  constructor(
    readonly uri: string,
    size: number,
  ) {
    this.sessions = Array.from({ length: Math.max(1, size) }, () => new VirshSession(uri));
  }

  run(args: readonly string[]): Promise<string> {
    const idlest = this.sessions.reduce((a, b) => (b.pending < a.pending ? b : a));
    return idlest.run(args);
  }

  async close(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.close()));
  }
}

/** Opens the adapter for a connection: a small pool of sessions by default, or a process per call. */
export function openVirsh(uri: string, mode: 'session' | 'per-call' = 'session', sessions = 4): Virsh {
  return mode === 'session' ? new VirshPool(uri, sessions) : new VirshPerCall(uri);
}

/** Whether a virsh failure says the object does not exist (as opposed to a broken connection). */
export function isNotFound(error: unknown): boolean {
  if (!(error instanceof AppError) || error.code !== 'E_TOOL') return false;
  const stderr = String(error.details?.stderr ?? '');
  return /not found|no domain snapshot|no current snapshot|does not have|metadata not found/i.test(stderr);
}
