import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import { describe, expect, test } from 'vitest';
import type { HostRunner, RunnerChild } from './host-runner';
import { batchable, batchLine, runBatch } from './virsh-batch';
import { VirshPool } from './virsh';

/** What the fake does with one command: print, or stop (hang: never answers; die: exits at once). */
type Answer = { stdout?: string; stderr?: string } | 'hang' | 'die';

/**
 * A virsh given its commands as its command line, as virsh 9 runs them: one after another, a failed one too;
 * `echo` prints its text with no newline, `help NAME` of no such command writes an error line naming it.
 */
class FakeBatch implements RunnerChild {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly ended: Promise<{ exitCode: number | null }>;
  killed = false;
  private exit: (code: number | null) => void = () => undefined;

  constructor(
    readonly args: readonly string[],
    answer: (command: string) => Answer,
    private readonly chunk: number,
  ) {
    let gone = false;
    const exited = new Promise<number | null>((resolve) => {
      this.exit = (code) => {
        if (gone) return;
        gone = true;
        this.stdout.end();
        this.stderr.end();
        resolve(code);
      };
    });
    this.ended = Promise.all([exited, finished(this.stdout), finished(this.stderr)]).then(([exitCode]) => ({ exitCode }));
    for (const command of (args[args.length - 1] ?? '').split(' ; ')) {
      const [word, ...rest] = command.split(' ');
      const said: Answer = word === 'echo' ? { stdout: rest.join(' ') } : word === 'help' ? { stderr: `error: command or command group '${rest.join(' ')}' doesn't exist\n` } : answer(command);
      if (said === 'hang') return;
      if (said === 'die') {
        this.exit(1);
        return;
      }
      if (said.stdout !== undefined) this.write(this.stdout, said.stdout);
      if (said.stderr !== undefined) this.write(this.stderr, said.stderr);
    }
    this.exit(0);
  }

  kill(): void {
    this.killed = true;
    this.exit(null);
  }

  private write(stream: PassThrough, text: string): void {
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; at += this.chunk) stream.write(bytes.subarray(at, at + this.chunk));
  }
}

function fakeRunner(answer: (command: string) => Answer, chunk = 4096): { runner: HostRunner; children: FakeBatch[] } {
  const children: FakeBatch[] = [];
  const runner: HostRunner = {
    host: 'local',
    describe: () => 'fake',
    run: () => Promise.reject(new Error('not used')),
    spawn: (_tool, args) => {
      const child = new FakeBatch(args, answer, chunk);
      children.push(child);
      return child;
    },
  };
  return { runner, children };
}

const texts: Record<string, string> = { a: '<a/>\n', b: 'two\nlines\n', empty: '', marker: 'looks like @abc@ but is not\n', wide: 'ünï€ode ✓\n'.repeat(50) };
const printing = (command: string): Answer => {
  const [, name = ''] = command.split(' ');
  if (name === 'missing') return { stderr: 'error: failed to get snapshot\nerror: Domain snapshot not found\n' };
  if (name === 'warned') return { stdout: 'ok\n', stderr: 'warning: something\n' };
  return { stdout: texts[name] ?? '' };
};

describe('a batch of virsh commands', () => {
  test('each command gets its own output, whatever the chunks the outputs arrive in', async () => {
    for (const chunk of [1, 3, 4096]) {
      const { runner, children } = fakeRunner(printing, chunk);
      const names = ['a', 'b', 'empty', 'marker', 'wide'];
      const results = await Promise.all(runBatch(runner, 'test:///', names.map((n) => ['print', n]), { timeoutMs: 5000 }));
      expect(results).toEqual(names.map((n) => texts[n]));
      expect(children).toHaveLength(1);
      expect(children[0]?.args.slice(0, 3)).toEqual(['-q', '-c', 'test:///']);
    }
  });

  test('a failed command fails alone with its error lines; warnings do not fail one', async () => {
    const { runner } = fakeRunner(printing);
    const results = await Promise.allSettled(runBatch(runner, 'test:///', [['print', 'a'], ['print', 'missing'], ['print', 'warned'], ['print', 'b']], { timeoutMs: 5000 }));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(results[1]).toMatchObject({ reason: { code: 'E_TOOL', details: { stderr: 'error: failed to get snapshot\nerror: Domain snapshot not found' } } });
    expect(results[2]).toMatchObject({ value: 'ok\n' });
  });

  test('a process that ends early fails the commands it did not answer, with what it said', async () => {
    const { runner } = fakeRunner((command) => (command.endsWith(' die') ? 'die' : printing(command)));
    const results = await Promise.allSettled(runBatch(runner, 'test:///', [['print', 'a'], ['print', 'die'], ['print', 'b']], { timeoutMs: 5000 }));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(results[2]).toMatchObject({ reason: { code: 'E_TOOL' } });
  });

  test('a batch that stops answering fails its unanswered commands with a timeout and is killed', async () => {
    const { runner, children } = fakeRunner((command) => (command.endsWith(' hang') ? 'hang' : printing(command)));
    const results = await Promise.allSettled(runBatch(runner, 'test:///', [['print', 'a'], ['print', 'hang'], ['print', 'b']], { timeoutMs: 50 }));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(results[1]).toMatchObject({ reason: { code: 'E_TOOL', details: { timeoutMs: 50 } } });
    expect(children[0]?.killed).toBe(true);
  });

  test('a cancel fails the unanswered commands with E_CANCELLED; an aborted signal starts nothing', async () => {
    const { runner, children } = fakeRunner((command) => (command.endsWith(' hang') ? 'hang' : printing(command)));
    const controller = new AbortController();
    const pending = Promise.allSettled(runBatch(runner, 'test:///', [['print', 'a'], ['print', 'hang']], { timeoutMs: 5000, signal: controller.signal }));
    controller.abort();
    const results = await pending;
    expect(results[1]).toMatchObject({ reason: { code: 'E_CANCELLED' } });
    expect(children[0]?.killed).toBe(true);
    const none = await Promise.allSettled(runBatch(runner, 'test:///', [['print', 'a']], { timeoutMs: 5000, signal: AbortSignal.abort() }));
    expect(none[0]).toMatchObject({ reason: { code: 'E_CANCELLED' } });
    expect(children).toHaveLength(1);
  });

  test('arguments are quoted as in a session, and only what a session takes is batchable', () => {
    expect(batchLine([{ args: ['snapshot-dumpxml', 'vm', "it's ; here"], end: '@e@', err: '@r@' }])).toBe("snapshot-dumpxml vm 'it'\\''s ; here' ; echo @e@ ; help @r@");
    expect(batchable(['snapshot-dumpxml', 'vm', 'a b'])).toBe(true);
    expect(batchable(['snapshot-dumpxml', 'vm', 'line\nbreak'])).toBe(false);
    expect(batchable(['--connect', 'x'])).toBe(false);
  });
});

describe("the pool's runMany", () => {
  test('spreads the commands over two batches in order; a command a batch cannot take runs in a process of its own', async () => {
    const { runner, children } = fakeRunner(printing);
    const ownProcess: string[][] = [];
    runner.run = (_tool, args) => {
      ownProcess.push([...args]);
      return Promise.resolve({ exitCode: 0, stdout: 'own\n', stderr: '' });
    };
    const pool = new VirshPool('test:///', 1, { runner });
    const names = ['a', 'b', 'empty', 'marker', 'wide', 'a'];
    const results = await Promise.all(pool.runMany([...names.map((n) => ['print', n]), ['print', 'line\nbreak']]));
    expect(results).toEqual([...names.map((n) => texts[n]), 'own\n']);
    expect(children).toHaveLength(2);
    expect(ownProcess).toEqual([['-q', '-c', 'test:///', 'print', 'line\nbreak']]);
    await pool.close();
  });
});
