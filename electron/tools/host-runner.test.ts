import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { localRunner, runChecked, type HostRunner } from './host-runner';
import { qemuImgMeasure } from './qemu-img';
import { openVirsh } from './virsh';
import { failure } from '../test-support/app-error';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'snaptree-runner-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('localRunner.run', () => {
  test('a command that does not answer in time is stopped and reported with its tool and limit', async () => {
    const started = Date.now();
    const error = await failure(localRunner.run('sleep', ['5'], { timeoutMs: 200 }));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error.code).toBe('E_TOOL');
    expect(error.message).toBe('sleep did not answer within 0.2 s.');
    expect(error.details).toMatchObject({ tool: 'sleep', args: ['5'], timeoutMs: 200 });
  });

  test('aborting stops the command and fails with E_CANCELLED', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await failure(localRunner.run('sleep', ['5'], { signal: controller.signal }));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error.code).toBe('E_CANCELLED');
  });

  test('a signal already aborted starts nothing', async () => {
    const marker = join(dir, 'not-started');
    const error = await failure(localRunner.run('touch', [marker], { signal: AbortSignal.abort() }));
    expect(error.code).toBe('E_CANCELLED');
    expect(existsSync(marker)).toBe(false);
  });

  test('a non-zero exit is a result, not a rejection', async () => {
    const result = await localRunner.run('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(result).toEqual({ exitCode: 3, stdout: 'out', stderr: 'err' });
  });

  test('arguments with spaces, quotes and newlines arrive verbatim', async () => {
    const odd = ['a b', ' lead', "it's \"quoted\"", 'line1\nline2', '*', '$HOME', ''];
    const result = await localRunner.run('printf', ['%s|', ...odd]);
    expect(result.stdout).toBe(`${odd.join('|')}|`);
  });

  test('no shell reads the arguments: a command substitution is only text', async () => {
    const marker = join(dir, 'X');
    const result = await localRunner.run('echo', [`$(touch ${marker})`, `; touch ${marker}`, `\`touch ${marker}\``]);
    expect(result.exitCode).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  test('tools run untranslated, with extra variables on top', async () => {
    const result = await localRunner.run('sh', ['-c', 'echo "$LC_ALL $PAGER $EXTRA"'], { env: { EXTRA: 'yes' } });
    expect(result.stdout).toBe('C cat yes');
  });

  test('text given as stdin is what the command reads', async () => {
    const result = await localRunner.run('cat', [], { stdin: 'one\ntwo\n' });
    expect(result.stdout).toBe('one\ntwo');
  });

  test('stdout streams to onStdout as it arrives and is returned whole', async () => {
    const chunks: string[] = [];
    const result = await localRunner.run('sh', ['-c', 'printf a; sleep 0.2; printf b'], { onStdout: (c) => chunks.push(c) });
    expect(chunks.join('')).toBe('ab');
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(result.stdout).toBe('ab');
  });

  test('a tool that is not installed fails with E_TOOL naming it', async () => {
    const error = await failure(localRunner.run('snaptree-no-such-tool', ['x']));
    expect(error.code).toBe('E_TOOL');
    expect(error.details).toMatchObject({ tool: 'snaptree-no-such-tool', exitCode: null });
  });
});

describe('runChecked', () => {
  test('returns stdout on success', async () => {
    expect(await runChecked(localRunner, 'echo', ['hello'])).toBe('hello');
  });

  test('turns a non-zero exit into a ToolError with the last line of stderr', async () => {
    const error = await failure(runChecked(localRunner, 'sh', ['-c', 'echo first >&2; echo last >&2; exit 2']));
    expect(error.code).toBe('E_TOOL');
    expect(error.message).toBe('sh failed: last');
    expect(error.details).toMatchObject({ tool: 'sh', exitCode: 2, stderr: 'first\nlast' });
  });
});

describe('localRunner.spawn', () => {
  test('a long-lived child reads its pipe and streams its output until it ends', async () => {
    const child = localRunner.spawn('cat', []);
    let out = '';
    child.stdout.on('data', (chunk: Buffer | string) => (out += String(chunk)));
    child.stdin.write('hello\n');
    child.stdin.end();
    expect(await child.ended).toEqual({ exitCode: 0 });
    expect(out).toBe('hello\n');
  });

  test('kill stops a child at once', async () => {
    const child = localRunner.spawn('sleep', ['30']);
    child.kill();
    expect((await child.ended).exitCode).toBeNull();
  });

  test('aborting its signal kills the child', async () => {
    const controller = new AbortController();
    const child = localRunner.spawn('sleep', ['30'], { signal: controller.signal });
    controller.abort();
    expect((await child.ended).exitCode).toBeNull();
  });
});

describe('adapters run through the runner they are given', () => {
  /** Runs everything on this computer and notes what was started, as a remote runner would be handed it. */
  function recordingRunner(): { runner: HostRunner; started: string[] } {
    const started: string[] = [];
    const runner: HostRunner = {
      host: 'recorder',
      describe: () => 'a recording runner',
      run: (tool, args, options) => {
        started.push(`run ${tool} ${args.join(' ')}`);
        return localRunner.run(tool, args, options);
      },
      spawn: (tool, args, options) => {
        started.push(`spawn ${tool} ${args.join(' ')}`);
        return localRunner.spawn(tool, args, options);
      },
    };
    return { runner, started };
  }

  test('virsh, one process per call and in a session', async () => {
    const { runner, started } = recordingRunner();
    const perCall = openVirsh('test:///default', 'per-call', 1, { runner });
    const session = openVirsh('test:///default', 'session', 1, { runner });
    try {
      expect(await perCall.run(['list', '--all', '--name'])).toContain('test');
      expect(await session.run(['list', '--all', '--name'])).toContain('test');
    } finally {
      await session.close();
    }
    expect(started).toEqual(['run virsh -q -c test:///default list --all --name', 'spawn virsh -q -c test:///default']);
  });

  test('qemu-img', async () => {
    const { runner, started } = recordingRunner();
    await qemuImgMeasure({ size: 1024 * 1024 }, 'raw', { runner });
    expect(started).toEqual(['run qemu-img measure --output=json -O raw --size 1048576']);
  });
});
