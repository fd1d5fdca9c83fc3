/**
 * Bad input to a clone, through the API and the engine (docs/safety.md, rule 6): a name that is already a domain's,
 * a name with `/` or a leading `-`, a target folder that does not exist. Each is refused with a clear message
 * before anything runs: no domain is defined, no file is made, the source keeps its files and definition.
 */
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Intent } from '../../shared/ops/plan';
import { handleApiCall } from '../api-handler';
import { Engine } from '../engine';
import { expectUnchanged, fingerprintOf, stoppedWith } from '../test-support/clone-checks';
import { domainExists } from '../test-support/clone-domains';
import { TestLab, TEST_URI } from '../test-support/lab';
import { seedChain } from '../test-support/seed-chain';

const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;
let vm: string;
let other: string;

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve', sources: [{ id: 'test', label: TEST_URI, source, demo: false }] });
  vm = await seedChain(lab, 'h4bad');
  other = await seedChain(lab, 'h4other', ['o1']);
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

/** Runs `check` and then asserts the source and the lab's folder are as they were, and `name` was never defined. */
async function nothingChanges(name: string, check: () => Promise<void>): Promise<void> {
  const before = await fingerprintOf(await engine.scanDomain(source, vm));
  const otherBefore = await fingerprintOf(await engine.scanDomain(source, other));
  const files = (await readdir(lab.dir)).sort();
  const existed = domainExists(name);
  await check();
  await expectUnchanged(before, vm);
  await expectUnchanged(otherBefore, other);
  expect((await readdir(lab.dir)).sort()).toEqual(files);
  expect(domainExists(name)).toBe(existed);
}

function cloneOf(name: string, extra: Partial<Extract<Intent, { op: 'clone' }>> = {}): Extract<Intent, { op: 'clone' }> {
  return { op: 'clone', domain: vm, node: { kind: 'snapshot', name: 's1' }, name, mode: 'linked', ...extra };
}

describe('a clone with bad input is refused and changes nothing', () => {
  test.each(['a/b', '-rf', '--start', '../escape', ''])('API: the name %j', async (name) => {
    await nothingChanges(name === '' ? `${lab.prefix}empty` : name, async () => {
      const response = await handleApiCall(engine, 'plan', { sourceId: 'test', intent: cloneOf(name) });
      expect(response).toMatchObject({ ok: false, error: { code: 'E_BAD_INPUT' } });
    });
  });

  test.each(['linked', 'full'] as const)('%s: the name of a domain that exists (another, or the source itself)', async (mode) => {
    for (const name of [other, vm]) {
      await nothingChanges(name, async () => {
        expect(await stoppedWith(engine, source, cloneOf(name, { mode }))).toMatch(new RegExp(`${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      });
    }
  });

  test.each(['linked', 'full'] as const)('%s: a target folder that does not exist', async (mode) => {
    const name = `${lab.prefix}h4-nodir-${mode}`;
    lab.adopt(name);
    const dir = lab.path('no-such-folder');
    await nothingChanges(name, async () => {
      expect(await stoppedWith(engine, source, cloneOf(name, { mode, dir }))).toMatch(/no-such-folder|not exist|no folder/i);
    });
  });

  test('API: a relative target folder', async () => {
    await nothingChanges(`${lab.prefix}h4-rel`, async () => {
      const response = await handleApiCall(engine, 'plan', { sourceId: 'test', intent: cloneOf(`${lab.prefix}h4-rel`, { dir: 'relative/dir' }) });
      expect(response).toMatchObject({ ok: false, error: { code: 'E_BAD_INPUT' } });
    });
  });

  test('a node that does not exist', async () => {
    const name = `${lab.prefix}h4-nonode`;
    lab.adopt(name);
    await nothingChanges(name, async () => {
      const result = await engine.plan(source, cloneOf(name, { node: { kind: 'snapshot', name: 'nope' } }));
      expect(result.ok ? 'planned' : result.refusal.code).toBe('E_NOT_FOUND');
    });
  });
});
