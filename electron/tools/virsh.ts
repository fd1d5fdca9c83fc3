/**
 * The virsh adapter. One long-lived `virsh` per connection reads commands on stdin: about 1 ms a command
 * instead of about 20 ms for a new process. That virsh reads stdin through a line editor (readline), where a
 * control character is a key: Ctrl-U erases the line typed so far, TAB completes, ESC starts a key sequence.
 * So only printable text is ever written to a session; any other command runs in a process of its own, its
 * arguments passed as an argument array that nothing reinterprets.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { AppError } from '../../shared/errors';
import { TOOL_ENV, toolError } from './tool-error';

export interface Virsh {
  readonly uri: string;
  /** Runs one virsh command (`['snapshot-list', '--domain', 'vm', '--name']`) and returns its stdout. */
  run(args: readonly string[]): Promise<string>;
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
function checkCommandWord(args: readonly string[]): void {
  if (!/^[a-z][a-z0-9-]*$/.test(args[0] ?? '')) {
    throw new AppError('E_BAD_INPUT', `Not a virsh command: ${JSON.stringify(args[0] ?? '')}.`, { args: [...args] });
  }
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
    checkCommandWord(args);
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

/**
 * The session's readline settings, in place of ~/.inputrc and /etc/inputrc, so no machine's key bindings change
 * what a typed character does. Eight-bit text goes in and is echoed as it is: without output-meta readline echoes
 * it as octal escapes and breaks the echoed line, and the echo would no longer be cut cleanly from the output.
 * TAB would insert itself rather than complete, should one ever get through.
 */
const INPUTRC = 'set input-meta on\nset output-meta on\nset convert-meta off\nset disable-completion on\n';
/** Folders of inputrc files that a virsh may not have read yet; whatever is left goes when the process exits. */
const inputrcDirs = new Set<string>();
let cleanupOnExit = false;

/** Writes the session's inputrc into a private folder of its own; returns the file and how to remove it. */
function writeInputrc(): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'snaptree-virsh-'));
  const file = join(dir, 'inputrc');
  writeFileSync(file, INPUTRC, { mode: 0o600 });
  if (!cleanupOnExit) process.once('exit', () => inputrcDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  cleanupOnExit = true;
  inputrcDirs.add(dir);
  return { file, remove: () => inputrcDirs.delete(dir) && rmSync(dir, { recursive: true, force: true }) };
}

const PROMPT = 'virsh # ';
const ECHO = 'echo ';
/** Commands written ahead of their answers, per session: virsh reads them as fast as it can. */
const WINDOW = 32;

/**
 * A virsh process kept open for one connection, fed commands on stdin; it takes only commands that are printable
 * text (see isLineSafe) and refuses any other before writing anything. Each command line is followed by one
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

  constructor(readonly uri: string) {}

  /** Commands waiting or running in this session. */
  get pending(): number {
    return this.queue.length;
  }

  /** Fails with E_BAD_INPUT, having written nothing, for a command that is not printable text. */
  async run(args: readonly string[]): Promise<string> {
    checkCommandWord(args);
    if (!isLineSafe(args)) {
      throw new AppError('E_BAD_INPUT', 'A virsh session takes printable text only: a control character would act as a key.', { args: [...args] });
    }
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
    // Readline reads its inputrc before it shows the first prompt; the file is not needed after that.
    const inputrc = writeInputrc();
    const child = execa('virsh', ['-q', '-c', this.uri], {
      env: { ...TOOL_ENV, INPUTRC: inputrc.file },
      stdin: 'pipe',
      buffer: false,
      reject: false,
      encoding: 'utf8',
    });
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      inputrc.remove();
      this.stdout += chunk;
      this.drain();
    });
    child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
      this.drain();
    });
    void child.then((result) => {
      inputrc.remove();
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
    // Readline echoes each input line after a prompt: the command's own line first (one line, even when readline
    // scrolls a long one), the marker line last. Exactly those two go: output may itself hold "virsh # ", as a
    // snapshot or domain name can.
    const lastPrompt = chunk.lastIndexOf(PROMPT);
    if (lastPrompt !== -1) chunk = chunk.slice(0, lastPrompt);
    if (chunk.startsWith(PROMPT)) {
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
 * (measured: 1.5 s with one session, 0.9 s with four). A command that is not printable text (a multi-line
 * description, or a name read from libvirt with a control character in it) runs in a process of its own.
 */
export class VirshPool implements Virsh {
  private readonly sessions: VirshSession[];
  private readonly perCall: VirshPerCall;

  constructor(
    readonly uri: string,
    size: number,
  ) {
    this.sessions = Array.from({ length: Math.max(1, size) }, () => new VirshSession(uri));
    this.perCall = new VirshPerCall(uri);
  }

  async run(args: readonly string[]): Promise<string> {
    if (!isLineSafe(args)) return this.perCall.run(args);
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
