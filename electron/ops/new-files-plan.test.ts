/**
 * A clone's or an export's new files are checked when the engine plans them, with the checks run again before the
 * journal (plan-trust.ts, free-space.ts): a missing folder or a file standing at a new file's place comes back as
 * the plan's refusal, so the preview never offers what the run refuses. Real libvirt and qemu-img.
 */
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Intent } from '../../shared/ops/plan';
import { Engine } from '../engine';
import { planOk } from '../test-support/clone-checks';
import { TestLab, TEST_URI } from '../test-support/lab';
import { seedChain } from '../test-support/seed-chain';

const source = { kind: 'libvirt' as const, uri: TEST_URI };
const s1 = { kind: 'snapshot' as const, name: 's1' };
let lab: TestLab;
let engine: Engine;
let vm = '';

/** The refusal the plan comes back with ("planned" when it comes back as a plan). */
async function refusalOf(intent: Intent): Promise<string> {
  const result = await engine.plan(source, intent);
  return result.ok ? 'planned' : `${result.refusal.code}: ${result.refusal.message}`;
}

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
  vm = await seedChain(lab, 'f1-files');
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

describe('the plan of an export', () => {
  test('into a folder that does not exist is refused', async () => {
    expect(await refusalOf({ op: 'export', domain: vm, node: s1, to: lab.path('no-such-folder'), format: 'qcow2' })).toMatch(/^E_NOT_FOUND: The folder .*no-such-folder does not exist/);
  });

  test('over an existing file is refused, saying to move it away or choose another folder', async () => {
    const target = lab.path(`${vm}-s1-vda.raw`);
    await writeFile(target, 'mine');
    const said = await refusalOf({ op: 'export', domain: vm, node: s1, to: lab.dir, format: 'raw' });
    expect(said).toMatch(/^E_NAME_TAKEN: .*already exists; nothing is written over\. Move it away or choose another folder\.$/);
    expect(said).not.toMatch(/another name/);
  });

  test('whose file appears after the preview is still refused when it runs', async () => {
    const plan = await planOk(engine, source, { op: 'export', domain: vm, node: s1, to: lab.dir, format: 'qcow2' });
    await writeFile(lab.path(`${vm}-s1-vda.qcow2`), 'late');
    await expect(engine.apply(plan)).rejects.toThrow(/already exists; nothing is written over\. Move it away or choose another folder/);
  });
});

describe('the plan of a clone', () => {
  test.each(['linked', 'full'] as const)('%s, into a folder that does not exist, is refused', async (mode) => {
    const name = `${lab.prefix}f1-nodir-${mode}`;
    lab.adopt(name);
    expect(await refusalOf({ op: 'clone', domain: vm, node: s1, name, mode, dir: lab.path('missing') })).toMatch(/^E_NOT_FOUND: The folder .*missing does not exist/);
  });

  test.each(['linked', 'full'] as const)('%s, whose file name is taken, is refused', async (mode) => {
    const name = `${lab.prefix}f1-taken-${mode}`;
    lab.adopt(name);
    await writeFile(lab.path(`${name}.vda.qcow2`), 'mine');
    expect(await refusalOf({ op: 'clone', domain: vm, node: s1, name, mode })).toMatch(/^E_NAME_TAKEN: .*already exists; nothing is written over\. Move it away or choose another name\.$/);
  });
});
