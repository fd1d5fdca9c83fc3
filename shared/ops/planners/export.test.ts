/** Export: each managed disk of a snapshot or a branch as one standalone image in a folder. */
import { describe, expect, test } from 'vitest';
import type { ScanResult } from '../../model';
import type { IntentOf, Plan } from '../plan';
import { planOperation } from '../planners';
import { scanOf, web01 } from './clone-seed';

const ID = '00000000-0000-0000-0000-000000000000';
const snap1: IntentOf<'export'> = { op: 'export', domain: 'web01', node: { kind: 'snapshot', name: 'snap1' }, to: '/out', format: 'qcow2' };

function plan(scan: ScanResult, intent: IntentOf<'export'>): Plan {
  const result = planOperation({ scan, operationId: ID }, intent);
  if (!result.ok) throw new Error(result.refusal.message);
  return result.plan;
}
const refused = (scan: ScanResult, intent: IntentOf<'export'>): string => {
  const result = planOperation({ scan, operationId: ID }, intent);
  return result.ok ? 'planned' : `${result.refusal.code}: ${result.refusal.message}`;
};

describe('export', () => {
  test('a snapshot: one convert per managed disk into the folder, named by domain, node and disk; nothing of the domain changes', () => {
    const { steps, impact, pointOfNoReturn, warnings } = plan(scanOf(web01()), snap1);
    expect(steps).toEqual([
      expect.objectContaining({ kind: 'convert', source: '/img/web01-vda.qcow2', sourceFormat: 'qcow2', target: '/out/web01-snap1-vda.qcow2', format: 'qcow2', compress: false }),
      expect.objectContaining({ kind: 'convert', source: '/img/web01-vdb.qcow2', sourceFormat: 'qcow2', target: '/out/web01-snap1-vdb.qcow2', format: 'qcow2', compress: false }),
    ]);
    expect(pointOfNoReturn).toBeNull();
    expect(warnings).toEqual([]);
    expect(impact).toMatchObject({ created: ['/out/web01-snap1-vda.qcow2', '/out/web01-snap1-vdb.qcow2'], written: [], metadata: [], changedNodes: [], mustStop: false, spaceBytes: (3 << 20) + (5 << 20) });
  });

  test('raw images take the .raw extension; qcow2 ones may be compressed', () => {
    expect(plan(scanOf(web01()), { ...snap1, format: 'raw' }).steps[0]).toMatchObject({ target: '/out/web01-snap1-vda.raw', format: 'raw', compress: false });
    expect(plan(scanOf(web01()), { ...snap1, compress: true }).steps[0]).toMatchObject({ target: '/out/web01-snap1-vda.qcow2', compress: true });
  });

  test('each step names the file it reads, "and the files under it" only where there are some; compression before the format', () => {
    const base = plan(scanOf(web01()), { ...snap1, compress: true }).steps[0]?.sentence;
    expect(base).toBe('Copy vda as the saved state of snapshot snap1 (web01-vda.qcow2) into web01-snap1-vda.qcow2, a standalone compressed qcow2 image.');
    const tip = plan(scanOf(web01()), { ...snap1, node: { kind: 'branch', name: 'main' } }).steps[0]?.sentence;
    expect(tip).toBe('Copy vda as branch main as it is now (web01.snap1.vda.qcow2 and the files under it) into web01-main-vda.qcow2, a standalone qcow2 image.');
  });

  test('a branch is read through its tips; one that is not running may be exported while the domain runs', () => {
    const { steps } = plan(scanOf(web01()), { ...snap1, node: { kind: 'branch', name: 'main' } });
    expect(steps[0]).toMatchObject({ source: '/img/web01.snap1.vda.qcow2', target: '/out/web01-main-vda.qcow2' });
    expect(plan(scanOf(web01({ state: 'running' })), snap1).steps).toHaveLength(2);
  });

  test.each<[string, ScanResult, IntentOf<'export'>, RegExp]>([
    ['compressing a raw image', scanOf(web01()), { ...snap1, format: 'raw', compress: true }, /^E_BAD_INPUT: A raw image cannot be compressed/],
    ['the current branch of a running domain', scanOf(web01({ state: 'running' })), { ...snap1, node: { kind: 'branch', name: 'main' } }, /^E_DOMAIN_RUNNING: .*Shut the VM off/],
    ['a node that is not there', scanOf(web01()), { ...snap1, node: { kind: 'snapshot', name: 'snap9' } }, /^E_NOT_FOUND/],
  ])('refuses %s', (_what, scan, intent, expected) => {
    expect(refused(scan, intent)).toMatch(expected);
  });

  test('a target the scan knows as a layer is refused', () => {
    const facts = web01();
    facts.layers['/out/web01-snap1-vdb.qcow2'] = { ...facts.layers['/img/web01-vdb.qcow2']!, path: '/out/web01-snap1-vdb.qcow2' };
    expect(refused(scanOf(facts), snap1)).toBe('E_NAME_TAKEN: The file /out/web01-snap1-vdb.qcow2 already exists.');
  });
});
