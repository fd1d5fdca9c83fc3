// @vitest-environment happy-dom
/** The panels read only what they show: an operation's progress re-renders the status line, not the panels. */
import { act, cleanup, render } from '@testing-library/react';
import { Profiler, type ReactElement, type ReactNode } from 'react';
import { afterEach, describe, expect, test } from 'vitest';
import type { ScanResult } from '../../shared/model';
import type { ProgressEvent } from '../../shared/ops/results';
import { StoreContext } from '../store/context';
import type { AppStore } from '../store/store';
import { ready, stubApi } from '../store/test-api';
import { OpsStatus } from './OpsStatus';
import { PlanDialog } from './PlanDialog';
import { Sidebar } from './Sidebar';
import { SidePanels } from './SidePanels';

const scan: ScanResult = {
  source: { kind: 'libvirt', uri: 'qemu:///system' },
  scannedAt: '',
  hypervisor: null,
  domains: [{ name: 'vm', state: 'shut off', disks: [], snapshots: [], branches: [{ name: 'main', current: true, origin: 'domain', base: null, tips: [] }], layers: {}, problems: [] }],
  problems: [],
};

function progress(done: number): ProgressEvent {
  return { operationId: 'op', sentence: `step ${done}`, step: 1, steps: 2, percent: done };
}

/** Counts the commits of a subtree in a table kept outside React. */
function counter(counts: Record<string, number>) {
  return (id: string) => {
    counts[id] = (counts[id] ?? 0) + 1;
  };
}

function Counted({ id, count, children }: { id: string; count: (id: string) => void; children: ReactNode }): ReactElement {
  return (
    <Profiler id={id} onRender={count}>
      {children}
    </Profiler>
  );
}

function mount(store: AppStore, counts: Record<string, number>) {
  const count = counter(counts);
  const domain = scan.domains[0];
  if (domain === undefined) throw new Error('no domain');
  render(
    <StoreContext.Provider value={store}>
      <Counted id="sidebar" count={count}>
        <Sidebar />
      </Counted>
      <Counted id="panels" count={count}>
        <SidePanels domain={domain} />
      </Counted>
      <Counted id="dialog" count={count}>
        <PlanDialog />
      </Counted>
      <Counted id="status" count={count}>
        <OpsStatus />
      </Counted>
    </StoreContext.Provider>,
  );
}

afterEach(cleanup);

describe('render counts', () => {
  test("a running operation's progress re-renders the status line only, not the sidebar, the details or the dialog", async () => {
    const store = await ready(stubApi({ history: async () => [], trashList: async () => [] }), scan);
    const counts: Record<string, number> = {};
    mount(store, counts);
    act(() => store.setState({ running: { operationId: 'op', sentence: 'start', progress: null } }));
    const before = { ...counts };
    for (let done = 10; done <= 50; done += 10) act(() => store.setState({ running: { operationId: 'op', sentence: `step ${done}`, progress: progress(done) } }));
    expect(counts.status).toBe((before.status ?? 0) + 5);
    expect([counts.sidebar, counts.panels, counts.dialog]).toEqual([before.sidebar, before.panels, before.dialog]);
  });

  test('selecting a node re-renders the details, not the sidebar', async () => {
    const store = await ready(stubApi({}), scan);
    const counts: Record<string, number> = {};
    mount(store, counts);
    const before = { ...counts };
    act(() => store.getState().selectNode('b:main'));
    expect(counts.panels).toBeGreaterThan(before.panels ?? 0);
    expect(counts.sidebar).toBe(before.sidebar);
  });
});
