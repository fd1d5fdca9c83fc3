/**
 * `serve` stopped (SIGTERM, as a service manager or Ctrl+C in its terminal stops it) while an export it runs for the
 * app is copying: the copy is cancelled and undone before the process ends, so its folder holds nothing, no qemu-img
 * goes on writing, and no interrupted operation waits for recovery.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sourceIdOf } from '../../shared/contract';
import { TestLab, TEST_URI } from '../test-support/lab';
import { seedSlowCopy } from '../test-support/seed-chain';

const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');

class StopLab extends TestLab {
  override readonly prefix = `snaptree-t-stop-${process.pid}-`;
}

let lab: StopLab;
let vm: string;
let out: string;

beforeAll(async () => {
  lab = await new StopLab().init();
  vm = await seedSlowCopy(lab, 'big');
  out = await mkdtemp(join(tmpdir(), 'snaptree-stop-out-'));
}, 60_000);

afterAll(async () => {
  await lab.cleanup();
  await rm(out, { recursive: true, force: true });
}, 60_000);

/** Starts `serve` on the test connection; gives the process, its address and token once it prints them. */
async function serve(): Promise<{ child: ChildProcess; origin: string; token: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--connect', TEST_URI], { env: { ...process.env, SNAPTREE_DATA_DIR: lab.path('.data') } });
  let output = '';
  const url = await new Promise<URL>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+/.exec(output);
      if (match) resolve(new URL(match[0]));
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
  });
  return { child, origin: url.origin, token: url.searchParams.get('token') ?? '' };
}

describe('serve stopped while it copies', () => {
  test('SIGTERM cancels and undoes the running export before the process ends; nothing is left', async () => {
    const { child, origin, token } = await serve();
    const call = async (method: string, input: unknown): Promise<{ ok: boolean; value?: unknown; error?: { code: string } }> => {
      const res = await fetch(`${origin}/api/${method}`, { method: 'POST', headers: { 'x-snaptree-token': token, 'content-type': 'application/json' }, body: JSON.stringify(input) });
      return (await res.json()) as { ok: boolean; value?: unknown };
    };
    const sourceId = sourceIdOf({ kind: 'libvirt', uri: TEST_URI });
    const planned = (await call('plan', { sourceId, intent: { op: 'export', domain: vm, node: { kind: 'snapshot', name: 's1' }, to: out, format: 'qcow2', compress: true } })).value as {
      ok: boolean;
      plan: { id: string };
    };
    expect(planned.ok).toBe(true);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // The apply answers when the operation ends; it is stopped first, once qemu-img reports progress.
      void call('apply', { planId: planned.plan.id }).catch(() => undefined);
      let copying = false;
      for (let i = 0; i < 600 && !copying; i++) {
        const ops = (await call('operations', {})).value as Array<{ percent: number | null }>;
        copying = ops.some((op) => op.percent !== null && op.percent > 0);
        if (!copying) await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(copying, 'the copy reported progress before serve was stopped').toBe(true);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(await readdir(out)).toEqual([]);
    expect((await execa('pgrep', ['-f', out], { reject: false })).stdout).toBe('');
    // No operation was left interrupted: recovery finds nothing, and the same export runs to its end.
    const env = { ...process.env, SNAPTREE_DATA_DIR: lab.path('.data') };
    const recovered = await execa(process.execPath, [BIN, 'recover', vm], { env, reject: false });
    expect(recovered.exitCode, recovered.stderr).toBe(0);
    expect(recovered.stdout).toContain('Nothing to recover');
    const again = await execa(process.execPath, [BIN, 'export', '--connect', TEST_URI, vm, 's1', '--to', out, '--yes'], { env, reject: false });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await readdir(out)).toHaveLength(1);
  }, 120_000);
});
