import { describe, expect, test, vi } from 'vitest';
import { AppError } from '../../shared/errors';
import type { Comparison, HealthReport } from '../../shared/inspect';
import type { ScanResult } from '../../shared/model';
import { ready, stubApi } from './test-api';

const scan: ScanResult = {
  source: { kind: 'libvirt', uri: 'qemu:///system' },
  scannedAt: '',
  hypervisor: null,
  domains: [{ name: 'vm', state: 'shut off', disks: [], snapshots: [], branches: [], layers: {}, problems: [] }],
  problems: [],
};
const layer = (path: string, findings: string[]) => ({ path, checkErrors: 0, corruptions: 0, leaks: findings.length, dirty: false, writtenAfter: [], findings });

describe('inspection in the store', () => {
  test('compare asks the engine for the two nodes of the open domain; a failure keeps its code', async () => {
    const result: Comparison = { domain: 'vm', a: 's:s1', b: 'b:main', disks: [] };
    const api = stubApi({ compare: async () => result });
    const store = await ready(api, scan);
    store.getState().startComparePick('s:s1');
    expect(store.getState().comparePick).toBe('s:s1');
    await store.getState().compare('s:s1', 'b:main');
    expect(api.calls).toEqual([['compare', { sourceId: 'c', domain: 'vm', a: 's:s1', b: 'b:main' }]]);
    expect(store.getState().comparison).toEqual({ a: 's:s1', b: 'b:main', status: 'ready', result });
    expect(store.getState().comparePick).toBeNull();

    const failing = stubApi({ compare: async () => Promise.reject(new AppError('E_NOT_FOUND', 'no such node')) });
    const other = await ready(failing, scan);
    await other.getState().compare('s:s1', 'b:gone');
    expect(other.getState().comparison).toMatchObject({ status: 'error', error: { code: 'E_NOT_FOUND' } });
  });

  test('closing a comparison drops its second node too, so no B mark or "Compare with" stays', async () => {
    const result: Comparison = { domain: 'vm', a: 's:s1', b: 'b:main', disks: [] };
    const store = await ready(stubApi({ compare: async () => result }), scan);
    store.getState().selectNode('s:s1');
    store.getState().selectSecond('b:main');
    await store.getState().compare('s:s1', 'b:main');
    store.getState().closeComparison();
    expect(store.getState()).toMatchObject({ comparison: null, second: null, comparePick: null, nodeId: 's:s1' });
  });

  test('checking one file updates its entry in the domain report; opening another domain drops the report', async () => {
    let healthy = false;
    const report = (layers: HealthReport['layers']): HealthReport[] => [{ domain: 'vm', layers, healthy: layers.every((l) => l.findings.length === 0) }];
    const api = stubApi({
      check: async (input) => (input.path === undefined ? report([layer('/a', ['leak']), layer('/b', [])]) : report([layer('/a', healthy ? [] : ['leak'])])),
    });
    const store = await ready(api, scan);
    await store.getState().checkHealth();
    expect(store.getState().health?.report?.healthy).toBe(false);
    healthy = true;
    const pending = store.getState().checkHealth('/a');
    expect(store.getState().health).toMatchObject({ status: 'loading', path: '/a' });
    await pending;
    await vi.waitFor(() => expect(store.getState().health?.status).toBe('ready'));
    expect(store.getState().health?.report?.layers.map((l) => [l.path, l.findings])).toEqual([
      ['/b', []],
      ['/a', []],
    ]);
    expect(store.getState().health?.report?.healthy).toBe(true);
    store.getState().selectDomain('c', 'other');
    expect(store.getState().health).toBeNull();
  });

  test('acknowledging a warning sends the reason to the engine, then checks the file again', async () => {
    let acked = false;
    const report = (findings: string[]): HealthReport[] => [{ domain: 'vm', layers: [layer('/a', findings)], healthy: findings.length === 0 }];
    const api = stubApi({
      check: async () => report(acked ? [] : ['written after']),
      acknowledge: async (input) => {
        acked = true;
        return { path: input.path, reason: input.reason, at: '2026-01-01T00:00:00.000Z' };
      },
    });
    const store = await ready(api, scan);
    await store.getState().checkHealth();
    expect(store.getState().health?.report?.healthy).toBe(false);
    await store.getState().acknowledgeWarning('/a', 'written on purpose');
    expect(api.calls.filter(([method]) => method === 'acknowledge')).toEqual([['acknowledge', { sourceId: 'c', domain: 'vm', path: '/a', reason: 'written on purpose' }]]);
    expect(store.getState().health?.report?.healthy).toBe(true);

    const failing = stubApi({ check: async () => report(['written after']), acknowledge: async () => Promise.reject(new AppError('E_BAD_INPUT', 'say why')) });
    const other = await ready(failing, scan);
    await other.getState().checkHealth();
    await other.getState().acknowledgeWarning('/a', ' ');
    expect(other.getState().health).toMatchObject({ status: 'error', error: { code: 'E_BAD_INPUT' }, report: { healthy: false } });
  });
});
