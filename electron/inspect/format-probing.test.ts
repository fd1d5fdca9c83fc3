import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Domain } from '../../shared/model';
import type { Intent } from '../../shared/ops/plan';
import { planOperation } from '../../shared/ops/planners';
import { stepCommand } from '../../shared/ops/step-command';
import { seed } from '../../shared/test-seed';
import { scanFolder } from '../scan/scan-folder';
import { stripBackingFormat } from '../test-support/damage';
import { traceOpens } from '../test-support/trace-opens';
import { qemuImgCreate } from '../tools/qemu-img';
import { checkDomain } from './check';
import { compareNodes } from './compare';

const MiB = 1024 * 1024;
let host: string;
let dir: string;
let secret: string;

beforeAll(async () => {
  host = await mkdtemp(join(tmpdir(), 'snaptree-host-'));
  dir = await mkdtemp(join(tmpdir(), 'snaptree-probe-'));
  secret = join(host, 'host-secret');
  writeFileSync(secret, 'a file of the host no guest may read\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(host, { recursive: true, force: true });
});

/** Writes, at the start of a raw disk, a qcow2 image naming `backing` as its backing file: what a guest can do. */
function plantQcow2Header(raw: string, backing: string): void {
  const scratch = mkdtempSync(join(tmpdir(), 'snaptree-header-'));
  const header = join(scratch, 'header.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', backing, '-F', 'raw', header]);
  execFileSync('dd', [`if=${header}`, `of=${raw}`, 'conv=notrunc', 'status=none']);
  execFileSync('rm', ['-rf', '--', scratch]);
}

describe('qemu-img never probes a format', () => {
  test('comparing and checking a raw disk whose first bytes are a qcow2 header never opens the host file it names', async () => {
    const raw = join(dir, 'disk.raw');
    await qemuImgCreate(raw, { format: 'raw', size: 4 * MiB });
    plantQcow2Header(raw, secret);
    await qemuImgCreate(join(dir, 'top.qcow2'), { backing: { path: raw, format: 'raw' } });
    const tree = (await scanFolder(dir)).domains.find((d) => d.layers[raw] !== undefined) as Domain;
    expect(tree.layers[raw]?.format).toBe('raw');

    const { result, opened } = await traceOpens(async () => {
      const comparison = await compareNodes(tree, `f:${raw}`, 'b:top.qcow2');
      const health = await checkDomain(tree);
      return { comparison, health };
    });
    expect(result).not.toBeInstanceOf(Error);
    // The trace saw the engine's qemu-img runs themselves, and what they opened.
    expect(opened).toMatch(/execve\("[^"]*qemu-img", \["qemu-img", "compare"/);
    expect(opened).toMatch(/execve\("[^"]*qemu-img", \["qemu-img", "check"/);
    expect(opened).not.toContain(secret);
  });

  test('a chain with a backing link that records no format is never opened by compare or check, and says why', async () => {
    const sub = await mkdtemp(join(dir, 'noformat-'));
    // The unformatted link leaves the folder, so nothing but a probe would open its target.
    const base = join(host, 'unformatted-base.qcow2');
    await qemuImgCreate(base, { size: 4 * MiB });
    await qemuImgCreate(join(sub, 'mid.qcow2'), { backing: { path: base, format: 'qcow2' } });
    await stripBackingFormat(join(sub, 'mid.qcow2'));
    await qemuImgCreate(join(sub, 'top.qcow2'), { backing: { path: join(sub, 'mid.qcow2'), format: 'qcow2' } });
    const tree = (await scanFolder(sub)).domains.find((d) => d.layers[join(sub, 'top.qcow2')] !== undefined) as Domain;
    expect(tree.problems.map((p) => p.code)).toContain('backing-no-format');

    const { result, opened } = await traceOpens(async () => {
      const compared = await compareNodes(tree, 's:mid.qcow2', 'b:top.qcow2').catch((error: Error) => error);
      const health = await checkDomain(tree);
      return { compared, health };
    });
    if (result instanceof Error) throw result;
    expect(result.compared).toMatchObject({ code: 'E_NOT_SUPPORTED', message: expect.stringMatching(/never probed/) });
    const mid = result.health.layers.find((l) => l.path === join(sub, 'mid.qcow2'));
    expect(mid?.findings.join(' ')).toMatch(/Not checked/);
    expect(opened).not.toContain(base);
  });

  test('no plan runs qemu-img on a chain with an unformatted link: commit and repair are refused', async () => {
    const sub = await mkdtemp(join(dir, 'plans-'));
    await qemuImgCreate(join(sub, 'base.qcow2'), { size: 4 * MiB });
    await qemuImgCreate(join(sub, 'mid.qcow2'), { backing: { path: join(sub, 'base.qcow2'), format: 'qcow2' } });
    await stripBackingFormat(join(sub, 'mid.qcow2'));
    await qemuImgCreate(join(sub, 'top.qcow2'), { backing: { path: join(sub, 'mid.qcow2'), format: 'qcow2' } });
    const scan = await scanFolder(sub);
    const ctx = { scan, operationId: '7d3c1a52-3f7e-4f0a-9a55-0d7f6f1f2b10' };
    for (const intent of [
      { op: 'commit', domain: scan.domains.find((d) => d.layers[join(sub, 'top.qcow2')])?.name ?? '', branch: 'top.qcow2' },
      { op: 'repair', domain: scan.domains.find((d) => d.layers[join(sub, 'top.qcow2')])?.name ?? '', path: join(sub, 'top.qcow2'), mode: 'leaks' },
    ] satisfies Intent[]) {
      const result = planOperation(ctx, intent);
      expect(result.ok, intent.op).toBe(false);
      if (!result.ok) expect(result.refusal.message).toMatch(/never probed/);
    }
  });

  test('every qemu-img command a plan shows and runs names the image format, and the backing format where it writes a link', () => {
    const intents: Array<[ReturnType<typeof seed>, Intent]> = [
      [seed(), { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'x' }],
      [seed(), { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2' }],
      [seed(), { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap1' }],
      [seed(), { op: 'revert-discard', domain: 'vm', snapshot: 'snap1' }],
      [seed(), { op: 'repair', domain: 'vm', path: '/i/vm.snap3', mode: 'all' }],
      [seed({ fork: true }), { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2' }],
    ];
    let seen = 0;
    for (const [scan, intent] of intents) {
      const result = planOperation({ scan, operationId: '7d3c1a52-3f7e-4f0a-9a55-0d7f6f1f2b10' }, intent);
      if (!result.ok) continue;
      for (const step of result.plan.steps) {
        const command = stepCommand(step);
        if (command?.tool !== 'qemu-img') continue;
        seen++;
        expect(command.args, step.sentence).toContain('-f');
        if (step.kind === 'rebase' || step.kind === 'create-overlay') expect(command.args, step.sentence).toContain('-F');
      }
    }
    expect(seen).toBeGreaterThan(2);
  });
});

