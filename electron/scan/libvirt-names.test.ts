/**
 * Real libvirt: names kept verbatim end to end (scan, tree, API rules, an operation), disks of a snapshot that are
 * not files, an internal current snapshot, libvirt's refusal of parent loops, overlays in another directory.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { intentSchema } from '../../shared/contract';
import { formatTree } from '../../shared/format-tree';
import type { Domain, ScanResult } from '../../shared/model';
import type { Intent } from '../../shared/ops/plan';
import { snapshotGraph } from '../../shared/snapshot-graph';
import { Engine } from '../engine';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { qemuImgCreate } from '../tools/qemu-img';

const MiB = 1024 * 1024;
const source = { kind: 'libvirt' as const, uri: TEST_URI };
let lab: TestLab;
let engine: Engine;
let names: string;
let mixed: string;

const scan = (domain: string): Promise<Domain> => engine.scanDomain(source, domain);
const listed = (domain: string): string[] => virshSync(['snapshot-list', '--domain', domain, '--name']).split('\n').filter((l) => l !== '').sort();

beforeAll(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
  await mkdir(lab.path('elsewhere'));

  await qemuImgCreate(lab.path('names.qcow2'), { size: 16 * MiB });
  names = await lab.define({ name: 'names', disks: [{ target: 'vda', file: lab.path('names.qcow2'), format: 'qcow2' }] });
  lab.snapshot(names, ' lead space', ['--diskspec', `vda,file=${lab.path('names.lead1')}`]);
  lab.snapshot(names, 'lead space', ['--diskspec', `vda,file=${lab.path('names.lead2')}`]);
  // The overlay of this one lives in another directory.
  lab.snapshot(names, 'trail ', ['--diskspec', `vda,file=${lab.path('elsewhere/names.trail')}`]);

  await qemuImgCreate(lab.path('mixed.qcow2'), { size: 16 * MiB });
  mixed = await lab.define({ name: 'mixed', disks: [{ target: 'vda', file: lab.path('mixed.qcow2'), format: 'qcow2' }] });
  lab.snapshot(mixed, 'ext1');
  // Without --disk-only, a shut-off domain's snapshot is internal: it lives inside the active qcow2 file.
  virshSync(['snapshot-create-as', '--domain', mixed, '--name', 'int1']);
});

afterAll(async () => {
  await engine?.close();
  await lab?.cleanup();
});

describe('names that differ only in spaces', () => {
  test('are three snapshots, each with its own parent, as libvirt holds them', async () => {
    const domain = await scan(names);
    const parents = Object.fromEntries(domain.snapshots.map((s) => [s.name, s.parent]));
    expect(parents).toEqual({ ' lead space': null, 'lead space': ' lead space', 'trail ': 'lead space' });
    expect(domain.problems.filter((p) => p.code === 'metadata-cycle' || p.code === 'snapshot-unreadable')).toEqual([]);
    const current = domain.branches.find((b) => b.current);
    expect(current?.base).toBe('trail ');
    expect(domain.snapshots.find((s) => s.name === 'trail ')?.disks[0]?.overlay).toBe(lab.path('elsewhere/names.trail'));
  });

  test('tree prints each one, verbatim, in its place', async () => {
    const text = formatTree({ source, scannedAt: '', hypervisor: null, domains: [await scan(names)], problems: [] });
    const lines = text.split('\n');
    const at = (name: string): number => lines.findIndex((l) => l.includes(`─ ${name}  (`));
    expect(at(' lead space')).toBeGreaterThan(0);
    expect(at('lead space')).toBeGreaterThan(at(' lead space'));
    expect(at('trail ')).toBeGreaterThan(at('lead space'));
    expect(lines[at('lead space')]).not.toBe(lines[at(' lead space')]);
  });

  test('`tree --connect` of the whole host prints them, each on its own line', async () => {
    const bin = resolve(__dirname, '../../bin/virt-snaptree.cjs');
    const { stdout } = await promisify(execFile)('node', [bin, 'tree', '--connect', TEST_URI], { maxBuffer: 64 << 20, env: { ...process.env, SNAPTREE_DATA_DIR: lab.path('data') } });
    const all = stdout.split('\n');
    const from = all.findIndex((l) => l.startsWith(`${names}  (`));
    expect(from).toBeGreaterThanOrEqual(0);
    const lines = all.slice(from, from + all.slice(from).indexOf(''));
    for (const name of [' lead space', 'lead space', 'trail ']) expect(lines.filter((l) => l.includes(`─ ${name}  (`)), name).toHaveLength(1);
  });

  test('`tree --connect URI DOMAIN` scans and prints that domain only, its name taken verbatim', async () => {
    const bin = resolve(__dirname, '../../bin/virt-snaptree.cjs');
    const { stdout } = await promisify(execFile)('node', [bin, 'tree', '--connect', TEST_URI, '--json', '--', names], { env: { ...process.env, SNAPTREE_DATA_DIR: lab.path('data') } });
    const result = JSON.parse(stdout) as ScanResult;
    expect(result.domains.map((d) => d.name)).toEqual([names]);
    expect(result.domains[0]?.snapshots.map((s) => s.name).sort()).toEqual([' lead space', 'lead space', 'trail ']);
  });

  test('the API takes them as they are, and an operation acts on that one only', async () => {
    const intent: Intent = { op: 'delete-snapshot', domain: names, snapshot: 'lead space', metadataOnly: true };
    expect(intentSchema.safeParse(intent).success).toBe(true);
    expect(intentSchema.safeParse({ ...intent, snapshot: 'lead\u0015space' }).success).toBe(false);
    const planned = await engine.plan(source, intent);
    if (!planned.ok) throw new Error(`refused: ${planned.refusal.message}`);
    const result = await engine.apply(planned.plan);
    expect(result.status).not.toBe('changed');
    expect(listed(names)).toEqual([' lead space', 'trail ']);
    const domain = await scan(names);
    expect(domain.snapshots.map((s) => s.name).sort()).toEqual([' lead space', 'trail ']);
  });

  test('libvirt refuses a snapshot as its own parent, so a loop reaches the scan only from outside libvirt', async () => {
    const xml = virshSync(['snapshot-dumpxml', '--domain', names, '--snapshotname', ' lead space']);
    const looped = xml.replace('</state>', '</state>\n  <parent><name> lead space</name></parent>');
    await writeFile(lab.path('looped.xml'), looped);
    expect(() => virshSync(['snapshot-create', '--domain', names, '--xmlfile', lab.path('looped.xml'), '--redefine'])).toThrow(/own parent/);
    expect((await scan(names)).problems.filter((p) => p.code === 'metadata-cycle')).toEqual([]);
  });
});

describe('disks of a snapshot that are not files', () => {
  test('a network disk in a snapshot is listed, not managed, with the reason', async () => {
    const domainXml = virshSync(['dumpxml', '--domain', names, '--inactive']);
    const xml = `<domainsnapshot><name>net snap</name><state>disk-snapshot</state><creationTime>1700000000</creationTime><memory snapshot='no'/>
<disks><disk name='vda' snapshot='external' type='network'><driver type='qcow2'/><source protocol='nbd' name='export'><host name='127.0.0.1' port='10809'/></source></disk></disks>
${domainXml}</domainsnapshot>`;
    await writeFile(lab.path('net.xml'), xml);
    virshSync(['snapshot-create', '--domain', names, '--xmlfile', lab.path('net.xml'), '--redefine']);
    const snap = (await scan(names)).snapshots.find((s) => s.name === 'net snap');
    expect(snap?.disks).toEqual([
      expect.objectContaining({ target: 'vda', kind: 'external', type: 'network', source: 'nbd:export', managed: false, overlay: null, reason: expect.stringMatching(/Network disk/) }),
    ]);
  });
});

describe('an internal current snapshot among external ones', () => {
  test('You are here hangs where libvirt says: under the internal current snapshot', async () => {
    const domain = await scan(mixed);
    expect(domain.snapshots.find((s) => s.name === 'int1')).toMatchObject({ current: true, parent: 'ext1', disks: [expect.objectContaining({ kind: 'internal' })] });
    const here = snapshotGraph(domain).find((n) => n.kind === 'branch' && n.current);
    expect(here?.parentId).toBe('s:int1');
    expect(domain.problems.map((p) => p.code)).toContain('internal-snapshot');
  });
});
