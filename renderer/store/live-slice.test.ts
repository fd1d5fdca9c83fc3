import { describe, expect, test, vi } from 'vitest';
import type { EngineEvent } from '../../shared/contract';
import { AppError } from '../../shared/errors';
import type { Domain, ScanResult, Snapshot } from '../../shared/model';
import type { Reach } from '../api/client';
import type { FeedStatus } from '../api/event-feed';
import { eventsSilent } from './live-slice';
import { ready, stubApi } from './test-api';

const snap = (name: string): Snapshot => ({ name, parent: null, description: null, created: null, state: 'shutoff', current: false, memoryFile: null, disks: [], revertFiles: [] });
const vm = (snapshots: string[]): Domain => ({ name: 'vm', state: 'shut off', disks: [], snapshots: snapshots.map(snap), branches: [], layers: {}, problems: [] });
const other: Domain = { ...vm([]), name: 'other' };
const scan: ScanResult = { source: { kind: 'libvirt', uri: 'qemu:///system' }, scannedAt: '', hypervisor: null, domains: [vm(['s1', 's2']), other], problems: [] };
const changed = (domain: string): Extract<EngineEvent, { type: 'source-changed' }> => ({ type: 'source-changed', sourceId: 'c', domain, at: '2026-11-29T08:00:00.000Z' });

describe('the live picture in the store', () => {
  test('a changed domain is read again and put in place; the selection and the open domain stay', async () => {
    const api = stubApi({ scanDomain: async () => vm(['s1', 's2', 's3']) });
    const store = await ready(api, scan);
    store.setState({ nodeId: 's:s2' });
    await store.getState().refreshChanged(changed('vm'));
    const s = store.getState();
    expect(s.scans.c?.result?.domains.map((d) => [d.name, d.snapshots.length])).toEqual([['vm', 3], ['other', 0]]);
    expect([s.domainName, s.nodeId, s.live.note]).toEqual(['vm', 's:s2', null]);
    expect(s.live.updatedAt).toBe('2026-11-29T08:00:00.000Z');
  });

  test('when the selected node is gone the selection clears with a note; a domain removed elsewhere leaves the list', async () => {
    const api = stubApi({
      scanDomain: async ({ domain }) => {
        if (domain === 'other') throw new AppError('E_NOT_FOUND', 'gone');
        return vm(['s1']);
      },
    });
    const store = await ready(api, scan);
    store.setState({ nodeId: 's:s2' });
    await store.getState().refreshChanged(changed('vm'));
    expect(store.getState().nodeId).toBeNull();
    expect(store.getState().live.note).toMatch(/selected node is gone/);
    await store.getState().refreshChanged(changed('other'));
    expect(store.getState().scans.c?.result?.domains.map((d) => d.name)).toEqual(['vm']);
    expect(store.getState().domainName).toBe('vm');
  });

  test("a node menu whose node is gone closes, so the next Esc is not spent on a menu no one sees", async () => {
    const api = stubApi({ scanDomain: async () => vm(['s1']) });
    const store = await ready(api, scan);
    store.setState({ menu: { nodeId: 's:s2', x: 10, y: 10 } });
    await store.getState().refreshChanged(changed('vm'));
    expect(store.getState().menu).toBeNull();
    store.setState({ menu: { nodeId: 's:s1', x: 10, y: 10 } });
    await store.getState().refreshChanged(changed('vm'));
    expect(store.getState().menu).toEqual({ nodeId: 's:s1', x: 10, y: 10 });
  });

  test('a change that comes while its source is being scanned is read after that scan, not lost under it', async () => {
    const api = stubApi({ scanDomain: async () => vm(['s1', 's2', 's3']) });
    const store = await ready(api, scan);
    store.setState({ scans: { c: { status: 'loading' } } });
    const refreshed = store.getState().refreshChanged(changed('vm'));
    await new Promise((r) => setTimeout(r, 10));
    // The scan that was under way read the domain before the change.
    store.setState({ scans: { c: { status: 'ready', result: scan } } });
    await refreshed;
    expect(store.getState().scans.c?.result?.domains.find((d) => d.name === 'vm')?.snapshots.length).toBe(3);
  });

  test('the open domain removed elsewhere closes with a note', async () => {
    const api = stubApi({ scanDomain: async () => Promise.reject(new AppError('E_NOT_FOUND', 'gone')) });
    const store = await ready(api, scan);
    await store.getState().refreshChanged(changed('vm'));
    expect([store.getState().domainName, store.getState().live.note]).toEqual([null, '"vm" is gone: it was removed outside the app.']);
  });

  test('progress events move the running operation on; polling stands in only when they stay away', () => {
    const api = stubApi({});
    return ready(api, scan).then((store) => {
      store.setState({ running: { operationId: 'op', sentence: 'first', progress: null } });
      const progress = { operationId: 'op', step: 1, steps: 3, sentence: 'Committing', percent: 40 };
      store.getState().onEngineEvent({ type: 'progress', event: progress });
      expect(store.getState().running).toEqual({ operationId: 'op', sentence: 'Committing', progress });
      const live = { ...store.getState().live, status: 'live' as const };
      expect(eventsSilent(live, live.lastEventAt + 500)).toBe(false);
      expect(eventsSilent(live, live.lastEventAt + 2500)).toBe(true);
      expect(eventsSilent({ ...live, status: 'down' }, live.lastEventAt)).toBe(true);
    });
  });

  test('the feed is subscribed to once and its status shown; after it was down every source is read again', async () => {
    const api = stubApi({ scan: async () => ({ ...scan, domains: [vm(['s1', 's2', 's3'])] }) });
    const store = await ready(api, scan);
    const stop = vi.fn();
    let status: (s: 'live' | 'down') => void = () => undefined;
    const feed = vi.fn((_onEvent: (e: EngineEvent) => void, onStatus: (s: 'live' | 'down') => void) => {
      status = onStatus;
      onStatus('live');
      return stop;
    });
    const unsubscribe = store.getState().connectLive(feed);
    expect(store.getState().live.status).toBe('live');
    expect(api.calls).toEqual([]);
    status('down');
    status('live');
    await vi.waitFor(() => expect(store.getState().scans.c?.result?.domains.map((d) => d.snapshots.length)).toEqual([3]));
    unsubscribe();
    expect(stop).toHaveBeenCalledOnce();
  });

  test('a lost engine makes the app read-only until its stream is back; a refused token says so; calls that cannot reach it count too', async () => {
    const api = stubApi({ scan: async () => scan });
    const store = await ready(api, scan);
    let status: (s: FeedStatus) => void = () => undefined;
    let reach: (r: Reach) => void = () => undefined;
    const feed = (_onEvent: (e: EngineEvent) => void, onStatus: (s: FeedStatus) => void) => {
      status = onStatus;
      onStatus('live');
      return () => undefined;
    };
    const unsubscribe = store.getState().connectLive(feed, (listener) => {
      reach = listener;
      return () => undefined;
    });
    store.setState({ menu: { nodeId: 's:s1', x: 0, y: 0 } });
    status('down');
    expect(store.getState().live.engine).toBe('lost');
    expect(store.getState().menu).toBeNull();
    // No menu and no operation while it is lost.
    store.getState().openMenu('s:s2', 0, 0);
    expect([store.getState().menu, store.getState().nodeId]).toEqual([null, 's:s2']);
    // A call that gets through does not clear a loss the stream saw: the stream does.
    reach('ok');
    expect(store.getState().live.engine).toBe('lost');
    status('live');
    expect(store.getState().live.engine).toBe('ok');
    reach('lost');
    expect(store.getState().live.engine).toBe('lost');
    reach('ok');
    expect(store.getState().live.engine).toBe('ok');
    status('refused');
    expect(store.getState().live.engine).toBe('refused');
    unsubscribe();
  });
});
