import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { describe, expect, test } from 'vitest';
import type { SessionChild, SpawnVirsh } from './virsh-session';
import { VirshSession } from './virsh-session';

/** What the fake virsh does with a command line: print, hang for ever, or exit at once. */
type Answer = { stdout?: string; stderr?: string } | 'hang' | 'die';

interface FakeOptions {
  prompt?: string;
  /** Bytes per chunk the fake writes: 1 splits every marker and every UTF-8 character. */
  chunk?: number;
  answer?: (line: string) => Answer;
  /** Written to stderr as the process exits before its first prompt, like virsh that cannot connect. */
  failToConnect?: string;
}

/**
 * A virsh as a session sees it: echoes each input line after its prompt, prints `echo` text with no newline, and
 * answers a failing `cd` with an error line, as virsh 9 does here with `-q` and `-r` alike.
 */
class FakeVirsh implements SessionChild {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly lines: string[] = [];
  readonly ended: Promise<{ exitCode: number | null }>;
  killed = false;
  /** Reads no more input: stuck in a command, or gone. */
  private halted = false;
  private gone = false;
  private typed = '';
  private exit: (code: number | null) => void = () => undefined;

  constructor(
    readonly args: readonly string[],
    private readonly options: FakeOptions,
  ) {
    const exited = new Promise<number | null>((resolve) => {
      this.exit = (exitCode) => {
        if (this.gone) return;
        this.gone = true;
        this.halted = true;
        this.stdout.end();
        this.stderr.end();
        resolve(exitCode);
      };
    });
    // Like a real process: ended once it has exited and the session has read all it wrote.
    this.ended = Promise.all([exited, finished(this.stdout), finished(this.stderr)]).then(([exitCode]) => ({ exitCode }));
    if (options.failToConnect !== undefined) {
      this.write(this.stderr, options.failToConnect);
      this.exit(1);
      return;
    }
    this.stdin.setEncoding('utf8');
    this.stdin.on('end', () => this.exit(0));
    this.stdin.on('data', (text: string) => {
      this.typed += text;
      for (let eol = this.typed.indexOf('\n'); eol !== -1 && !this.halted; eol = this.typed.indexOf('\n')) {
        const line = this.typed.slice(0, eol);
        this.typed = this.typed.slice(eol + 1);
        this.read(line);
      }
    });
  }

  kill(): void {
    this.killed = true;
    this.exit(null);
  }

  private read(line: string): void {
    this.lines.push(line);
    if (line === 'quit') {
      this.exit(0);
      return;
    }
    this.write(this.stdout, `${this.options.prompt ?? 'virsh # '}${line}\n`);
    const marker = /^echo (@\w+@)(?: ; cd \/(@\w+@))?$/.exec(line);
    if (marker !== null) {
      this.write(this.stdout, marker[1] ?? '');
      if (marker[2] !== undefined) this.write(this.stderr, `error: cd: No such file or directory: /${marker[2]}\n`);
      return;
    }
    const answer = this.options.answer?.(line) ?? {};
    if (answer === 'hang') this.halted = true;
    else if (answer === 'die') this.exit(1);
    else {
      this.write(this.stdout, answer.stdout ?? '');
      this.write(this.stderr, answer.stderr ?? '');
    }
  }

  private write(stream: PassThrough, text: string): void {
    const bytes = Buffer.from(text);
    const size = this.options.chunk ?? 4096;
    for (let at = 0; at < bytes.length; at += size) stream.write(bytes.subarray(at, at + size));
  }
}

/** A session on fake virsh processes; `children` lists every process it started. */
function fakeSession(options: FakeOptions = {}, timeoutMs?: number): { session: VirshSession; children: FakeVirsh[] } {
  const children: FakeVirsh[] = [];
  const spawn: SpawnVirsh = (args) => {
    const child = new FakeVirsh(args, options);
    children.push(child);
    return child;
  };
  return { session: new VirshSession('test:///fake', { spawn, ...(timeoutMs === undefined ? {} : { timeoutMs }) }), children };
}

/** Answers `echo WORDS` as virsh does in a session, and `print NAME` with the text in `texts`. */
function answerWith(texts: Record<string, Answer> = {}): (line: string) => Answer {
  return (line) => {
    const [word, ...rest] = line.split(' ');
    if (word === 'echo') return { stdout: rest.join(' ') };
    return texts[rest.join(' ')] ?? { stderr: `error: unknown command: '${word ?? ''}'\n` };
  };
}

const TRICKY = [
  'virsh # s1\nvirsh # s2\n',
  'virsh > looks like the read-only prompt\n',
  'ends with a prompt\nvirsh # ',
  'echo @abc123o1@ ; cd /@abc123e1@\n@abc123o1@\n',
  'ünïcødé 中文 😀 𝄞\n',
  '',
  'no newline at the end',
];

describe('VirshSession on a fake virsh', () => {
  test.each([
    ['virsh # ', 1],
    ['virsh > ', 1],
    ['virsh > ', 3],
    ['', 2],
    ['a much longer prompt of some other build » ', 5],
  ])('cuts each output exactly with the prompt %j and %i-byte chunks: markers split across chunks, prompt-like and marker-like text kept', async (prompt, chunk) => {
    const texts = Object.fromEntries(TRICKY.map((text, i) => [`t${i}`, { stdout: text }]));
    const { session, children } = fakeSession({ prompt, chunk, answer: answerWith(texts) });
    const results = await Promise.all(TRICKY.map((_, i) => session.run(['print', `t${i}`])));
    expect(results).toEqual(TRICKY);
    expect(children).toHaveLength(1);
    await session.close();
  });

  test('an error: line on stderr fails the command with its own stderr; other stderr text does not', async () => {
    const { session } = fakeSession({
      answer: answerWith({
        warned: { stdout: 'fine\n', stderr: 'warning: something odd\n' },
        failed: { stdout: 'partial\n', stderr: "warning: first\nerror: failed to get domain 'x'\n" },
      }),
    });
    const results = await Promise.allSettled([session.run(['print', 'warned']), session.run(['print', 'failed']), session.run(['echo', 'after'])]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'fine\n' });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'E_TOOL', details: { stderr: "warning: first\nerror: failed to get domain 'x'" } } });
    expect(results[2]).toEqual({ status: 'fulfilled', value: 'after' });
    await session.close();
  });

  test('a 5 MB output in many chunks arrives whole', async () => {
    const big = `${'0123456789abcdef virsh # '.repeat(200_000)}\n`;
    const { session } = fakeSession({ chunk: 65_536, answer: answerWith({ big: { stdout: big } }) });
    const started = performance.now();
    expect(await session.run(['print', 'big'])).toBe(big);
    expect(performance.now() - started).toBeLessThan(5_000);
    await session.close();
  });

  test('a virsh that dies mid-command fails that command and every queued one with its error; the next command starts a new process', async () => {
    const { session, children } = fakeSession({
      answer: answerWith({ dies: 'die', fine: { stdout: 'ok\n' } }),
    });
    const results = await Promise.allSettled([session.run(['print', 'fine']), session.run(['print', 'dies']), session.run(['print', 'fine'])]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'ok\n' });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'E_TOOL', message: expect.stringContaining('ended before this command answered') } });
    expect(results[2]).toMatchObject({ status: 'rejected', reason: { code: 'E_TOOL' } });
    expect(await session.run(['print', 'fine'])).toBe('ok\n');
    expect(children).toHaveLength(2);
    await session.close();
  });

  test('a connection that cannot open fails every command with virsh\'s own error, without restarting in a loop', async () => {
    const { session, children } = fakeSession({ failToConnect: 'error: failed to connect to the hypervisor\n' });
    const results = await Promise.allSettled([session.run(['version']), session.run(['list'])]);
    for (const result of results) expect(result).toMatchObject({ status: 'rejected', reason: { code: 'E_TOOL', message: expect.stringContaining('failed to connect') } });
    expect(children).toHaveLength(1);
  });

  test('a command that never answers times out, its process is killed, the command written behind it runs on a new process', async () => {
    const { session, children } = fakeSession({ answer: answerWith({ stuck: 'hang' }) });
    const stuck = session.run(['print', 'stuck'], { timeoutMs: 50 });
    const behind = session.run(['echo', 'behind']);
    await expect(stuck).rejects.toMatchObject({ code: 'E_TOOL', message: expect.stringContaining('stopped answering') });
    expect(await behind).toBe('behind');
    expect(children[0]?.killed).toBe(true);
    expect(children[0]?.lines.filter((l) => l === 'echo behind')).toEqual([]);
    expect(await session.run(['echo', 'next'])).toBe('next');
    expect(children).toHaveLength(2);
    expect(session.pending).toBe(0);
    await session.close();
  });

  test('the session-wide default timeout applies when the caller gives none', async () => {
    const { session } = fakeSession({ answer: answerWith({ stuck: 'hang' }) }, 30);
    await expect(session.run(['print', 'stuck'])).rejects.toMatchObject({ code: 'E_TOOL' });
    await session.close();
  });

  test('aborting a running command cancels it and kills its process; the next command works on a new one', async () => {
    const { session, children } = fakeSession({ answer: answerWith({ stuck: 'hang' }) });
    const controller = new AbortController();
    const stuck = session.run(['print', 'stuck'], { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    await expect(stuck).rejects.toMatchObject({ code: 'E_CANCELLED', message: expect.stringContaining('may have completed') });
    expect(children[0]?.killed).toBe(true);
    expect(await session.run(['echo', 'next'])).toBe('next');
    expect(children).toHaveLength(2);
    await session.close();
  });

  test('a command whose signal is already aborted fails without being written', async () => {
    const { session, children } = fakeSession();
    await expect(session.run(['echo', 'x'], { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'E_CANCELLED', message: expect.stringContaining('before it ran') });
    expect(children).toHaveLength(0);
  });

  test('a command still waiting to be written is cancelled without touching the process', async () => {
    const { session, children } = fakeSession({ answer: answerWith({ stuck: 'hang' }) });
    const stuck = session.run(['print', 'stuck'], { timeoutMs: 100 });
    // The window of commands written ahead is 32: the 33rd behind a stuck one waits unwritten.
    const written = Array.from({ length: 31 }, (_, i) => session.run(['echo', `w${i}`]));
    const controller = new AbortController();
    const unwritten = session.run(['echo', 'unwritten'], { signal: controller.signal });
    controller.abort();
    await expect(unwritten).rejects.toMatchObject({ code: 'E_CANCELLED', message: expect.stringContaining('before it ran') });
    expect(children[0]?.killed).toBe(false);
    await expect(stuck).rejects.toMatchObject({ code: 'E_TOOL' });
    expect(await Promise.all(written)).toEqual(Array.from({ length: 31 }, (_, i) => `w${i}`));
    expect(children.flatMap((c) => c.lines).filter((l) => l === 'echo unwritten')).toEqual([]);
    await session.close();
  });

  test('a read-only session opens virsh with -r', async () => {
    const children: string[][] = [];
    const session = new VirshSession('test:///fake', {
      readOnly: true,
      spawn: (args) => {
        children.push([...args]);
        return new FakeVirsh(args, { prompt: 'virsh > ', answer: answerWith() });
      },
    });
    expect(await session.run(['echo', 'hello'])).toBe('hello');
    expect(children).toEqual([['-q', '-r', '-c', 'test:///fake']]);
    await session.close();
  });

  test('close lets written commands finish, and a later command starts a new process', async () => {
    const { session, children } = fakeSession({ answer: answerWith() });
    const first = session.run(['echo', 'first']);
    await session.close();
    expect(await first).toBe('first');
    expect(await session.run(['echo', 'again'])).toBe('again');
    expect(children).toHaveLength(2);
    await session.close();
  });
});
