import { describe, expect, test } from 'vitest';
import type { ScanResult } from '../../shared/model';
import { ready, stubApi } from './test-api';

const scan: ScanResult = {
  source: { kind: 'libvirt', uri: 'qemu:///system' },
  scannedAt: '',
  hypervisor: null,
  domains: [{ name: 'vm', state: 'shut off', disks: [], snapshots: [], branches: [], layers: {}, problems: [] }],
  problems: [],
};

describe('opening another domain', () => {
  test('drops what every slice kept for the old one, in one place, and reads the trash again where it is shown', async () => {
    const api = stubApi({ trashList: async () => [] });
    const store = await ready(api, scan);
    store.setState({
      nodeId: 's:s1',
      menu: { nodeId: 's:s1', x: 1, y: 2 },
      second: 'b:main',
      comparePick: 's:s1',
      fileId: 'f',
      comparison: { a: 's:s1', b: 'b:main', status: 'loading' },
      health: { status: 'loading' },
      panelError: { code: 'E_TOOL', message: 'x' },
      tab: 'trash',
    });
    store.getState().selectDomain('c', 'other');
    const s = store.getState();
    expect([s.sourceId, s.domainName]).toEqual(['c', 'other']);
    expect([s.nodeId, s.menu, s.preview, s.second, s.comparePick, s.fileId, s.comparison, s.health, s.panelError]).toEqual(Array(9).fill(null));
    expect(s.trash).toEqual([]);
    expect(api.calls).toEqual([['trashList', { sourceId: 'c', domain: 'other' }]]);
  });

  test('removing the open source opens none', async () => {
    const api = stubApi({ removeSource: async () => [] });
    const store = await ready(api, scan);
    store.setState({ nodeId: 's:s1' });
    await store.getState().removeSource('c');
    expect([store.getState().sourceId, store.getState().domainName, store.getState().nodeId]).toEqual([null, null, null]);
  });
});

describe('opened runs of snapshots', () => {
  test('are kept per domain, across opening another domain and coming back', async () => {
    const store = await ready(stubApi({ trashList: async () => [] }), scan);
    store.getState().selectDomain('c', 'vm');
    store.getState().expandRun('r:s:a');
    store.getState().expandRun('r:s:a');
    store.getState().selectDomain('c', 'other');
    store.getState().expandRun('r:s:b');
    store.getState().selectDomain('c', 'vm');
    expect(store.getState().expandedRuns).toEqual({ 'c\0vm': ['r:s:a'], 'c\0other': ['r:s:b'] });
  });
});
