/**
 * No text from a user reaches virsh as anything but one argument (docs/safety.md, rule 6). virsh reads its session's
 * stdin through a line editor, where a control character is a key (Ctrl-U erases the line typed so far), so each
 * payload below tries to undefine another domain. The API and the CLI refuse them; and should one get past, the engine
 * still never types it into a session.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Intent } from '../../shared/ops/plan';
import { handleApiCall } from '../api-handler';
import { Engine } from '../engine';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';

const BIN = join(__dirname, '..', '..', 'bin', 'virt-snaptree.cjs');
const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;
let vm: string;
let other: string;
let otherXml: string;

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve', sources: [{ id: 'lab', label: 'lab', source, demo: false }] });
  await qemuImgCreate(lab.path('vm.qcow2'), { size: 16 << 20 });
  vm = await lab.define({ name: 'vm', disks: [{ target: 'vda', file: lab.path('vm.qcow2'), format: 'qcow2' }] });
  await qemuImgCreate(lab.path('other.qcow2'), { size: 16 << 20 });
  other = await lab.define({ name: 'other', disks: [{ target: 'vda', file: lab.path('other.qcow2'), format: 'qcow2' }] });
  otherXml = virshSync(['dumpxml', '--domain', other, '--inactive']);
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

function otherXmlNow(): string | null {
  try {
    return virshSync(['dumpxml', '--domain', other, '--inactive']);
  } catch {
    return null;
  }
}

function snapshotsOf(domain: string): string[] {
  return virshSync(['snapshot-list', '--domain', domain, '--name']).split('\n').filter((l) => l.trim() !== '');
}

/**
 * Keys a line editor acts on, each before (or in place of) a command that would undefine the other domain. TAB
 * is not among them: descriptions may hold tabs, so those are tested as text that must arrive verbatim. The
 * tables are built when tests are collected, before the domains exist: OTHER stands for the other domain's name.
 */
const UNDEFINE = 'undefine OTHER ;#';
const PAYLOADS: Array<[string, string]> = [
  ['Ctrl-U, then a command', `x\u0015${UNDEFINE}`],
  ['Ctrl-W alone', '\u0017'],
  ['Ctrl-W erasing words', `a b c\u0017\u0017\u0017${UNDEFINE}`],
  ['the arrow key up', '\u001b[A'],
  ['ESC, then a command', `x\u001b${UNDEFINE}`],
  ['C1 NEL', `x\u0085${UNDEFINE}`],
  ['C1 CSI', `x\u009bA${UNDEFINE}`],
  ['DEL', `x\u007f${UNDEFINE}`],
  ['a carriage return', `x\r${UNDEFINE}`],
  ['a Windows line break', 'first\r\nsecond'],
];

/** A payload aimed at the other domain. */
function aimed(payload: string): string {
  return payload.replace('OTHER', other);
}

/** TAB completes in a line editor; in a description it is just a tab. */
function tabPayloads(): string[] {
  return ['/etc/pass\t', aimed(`x\t\t${UNDEFINE}`)];
}

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: process.env });
}

function cli(args: string[]) {
  return run([...args, '--connect', TEST_URI, '--yes']);
}

/** The description libvirt keeps for a snapshot, its XML escapes undone. */
function storedDescription(domain: string, snapshot: string): string | null {
  const xml = virshSync(['snapshot-dumpxml', '--domain', domain, '--snapshotname', snapshot]);
  const text = /<description>([\s\S]*?)<\/description>/.exec(xml)?.[1];
  if (text === undefined) return null;
  const entities: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name: string) => {
    if (name.startsWith('#x') || name.startsWith('#X')) return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number(name.slice(1)));
    return entities[name] ?? whole;
  });
}

describe('a description with control characters is refused, and the other domain survives', () => {
  test.each(PAYLOADS)('CLI: %s', (_what, payload) => {
    const result = cli(['snapshot', vm, 'cli-payload', '--description', aimed(payload)]);
    expect(otherXmlNow()).toBe(otherXml);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/\[E_BAD_INPUT\]/);
    expect(result.stderr).toMatch(/Bad description/);
    expect(snapshotsOf(vm)).not.toContain('cli-payload');
  });

  test.each([...PAYLOADS, ['NUL', `x\u0000${UNDEFINE}`] as [string, string], ['a lone surrogate', `x\ud800${UNDEFINE}`] as [string, string]])(
    'API: %s',
    async (_what, payload) => {
      const intent = { op: 'create-snapshot', domain: vm, name: 'api-payload', description: aimed(payload) };
      const response = await handleApiCall(engine, 'plan', { sourceId: 'lab', intent });
      expect(response).toMatchObject({ ok: false, error: { code: 'E_BAD_INPUT' } });
      const issues = response.ok ? [] : ((response.error.details?.issues ?? []) as string[]);
      expect(issues.some((i) => /control characters|carriage returns|surrogate/.test(i))).toBe(true);
      expect(otherXmlNow()).toBe(otherXml);
      expect(snapshotsOf(vm)).not.toContain('api-payload');
    },
  );

  test('an intent that skipped validation still never types its text into a virsh session', async () => {
    for (const [i, [what, payload]] of PAYLOADS.entries()) {
      const planned = await engine.plan(source, { op: 'create-snapshot', domain: vm, name: `unchecked-${i}`, description: aimed(payload) });
      if (!planned.ok) throw new Error(`${what}: ${planned.refusal.message}`);
      // libvirt drops or refuses what XML cannot hold; either way the text went as one argument.
      const result = await engine.apply(planned.plan).then(
        (r) => r.status,
        (error: unknown) => (error as { code?: string }).code,
      );
      expect(otherXmlNow(), what).toBe(otherXml);
      expect(['done', 'E_TOOL'], what).toContain(result);
    }
  });
});

describe('descriptions are text, kept as written', () => {
  test('line breaks, tabs, quotes, ;, #, $(…) and unicode reach libvirt verbatim', async () => {
    const descriptions = [
      `Before the upgrade.\n\tKernel: 6.1 'stable' "LTS"; # not a comment\n$(touch pwned) \`id\` \${HOME} !! \\ --current <b>&amp;</b>\nünïcødé 中文 😀`,
      'key:\tvalue\twith tabs on one line',
    ];
    for (const [i, description] of descriptions.entries()) {
      const intent: Intent = { op: 'create-snapshot', domain: vm, name: `described-${i}`, description };
      const planned = await engine.plan(source, intent);
      if (!planned.ok) throw new Error(planned.refusal.message);
      expect(await engine.apply(planned.plan)).toMatchObject({ status: 'done' });
      expect(storedDescription(vm, `described-${i}`)).toBe(description);
      const scanned = (await engine.scanDomain(source, vm)).snapshots.find((s) => s.name === `described-${i}`);
      expect(scanned?.description).toBe(description);
    }
    expect(otherXmlNow()).toBe(otherXml);
  });

  test('CLI: descriptions with tabs that would complete in a line editor are stored as typed; the other domain survives', () => {
    for (const [i, description] of [...tabPayloads(), "tab\there; 'quoted' # kept"].entries()) {
      const result = cli(['snapshot', vm, `cli-described-${i}`, '--description', description]);
      expect(result.status, result.stderr).toBe(0);
      expect(storedDescription(vm, `cli-described-${i}`)).toBe(description);
      expect(otherXmlNow()).toBe(otherXml);
    }
  });

  test('CLI: a snapshot name with a tab or another control character is refused', () => {
    for (const bad of [...tabPayloads(), ...PAYLOADS.map(([, p]) => aimed(p))]) {
      const result = cli(['snapshot', vm, bad]);
      expect(result.status, JSON.stringify(bad)).toBe(2);
      expect(result.stderr).toMatch(/\[E_BAD_INPUT\]/);
    }
    expect(otherXmlNow()).toBe(otherXml);
  });
});

describe('every other text option of the CLI follows the same rules', () => {
  test.each([
    ['a connection URI', ['snapshot', 'vm', 's', '--connect', `${TEST_URI}\u0015`, '--dry-run']],
    ['an image folder', ['commit', '--folder', '/tmp/a\u0015b', '/tmp/a\u0015b/top.qcow2', '--dry-run']],
    ['an operation id', ['trash', 'list', '--connect', TEST_URI, '--operation', 'x\u0015undefine']],
    ['a trashed path', ['trash', 'restore', '--connect', TEST_URI, '/tmp/a\u0085b']],
  ])('%s with a control character: exit 2, E_BAD_INPUT', (_what, args) => {
    const result = run(args);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/\[E_BAD_INPUT\]/);
  });
});
