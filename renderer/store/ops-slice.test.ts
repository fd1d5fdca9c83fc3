import { describe, expect, test, vi } from 'vitest';
import { AppError } from '../../shared/errors';
import type { Domain, ScanResult } from '../../shared/model';
import type { NodeAction } from '../../shared/ops/node-actions';
import type { Plan } from '../../shared/ops/plan';
import { landingNode } from './ops-slice';
import { ready, stubApi } from './test-api';

const domain = (branch: string): Domain => ({ name: 'vm', state: 'shut off', disks: [], snapshots: [], branches: [{ name: branch, current: true, origin: 'domain', base: null, tips: [] }], layers: {}, problems: [] });
const scan: ScanResult = { source: { kind: 'libvirt', uri: 'qemu:///system' }, scannedAt: '', hypervisor: null, domains: [domain('main')], problems: [] };
const plan = { id: '11111111-1111-1111-1111-111111111111', intent: { op: 'revert-branch', domain: 'vm', snapshot: 's1', branch: 'new' }, source: scan.source, steps: [], pointOfNoReturn: null, warnings: [], impact: { created: [], written: [], trashed: [], metadata: [], changedNodes: ['b:new'], unchangedNodes: [], spaceBytes: 0, mustStop: true } } as unknown as Plan;
const action: NodeAction = { id: 'revert-branch', label: 'Revert with new branch…', key: 'b', asks: { label: 'New branch name', suggestion: 'new' }, choices: [], disabled: null, intent: (n) => ({ op: 'revert-branch', domain: 'vm', snapshot: 's1', branch: n }), danger: false };

describe('operations in the store', () => {
  test('a choice ticked goes into the intent and the plan is made again; one the engine refuses cannot be ticked', async () => {
    const api = stubApi({ plan: async () => ({ ok: true, plan }) });
    const store = await ready(api, scan);
    const snapshot: NodeAction = {
      id: 'create-snapshot',
      label: 'Take snapshot…',
      key: 's',
      // As the Take snapshot dialog starts it: the name typed there, nothing left to ask.
      asks: null,
      choices: [
        { id: 'memory', label: 'Include memory', disabled: null },
        { id: 'quiesce', label: 'Freeze file systems', disabled: 'no guest agent channel' },
      ],
      disabled: null,
      intent: (_n, chosen = []) => ({ op: 'create-snapshot', domain: 'vm', name: 'snap1', ...(chosen.includes('memory') ? { memory: true } : {}) }),
      danger: false,
    };
    store.getState().startAction(snapshot);
    await vi.waitFor(() => expect(store.getState().preview?.result?.ok).toBe(true));
    store.getState().setPreviewChoice('memory', true);
    store.getState().setPreviewChoice('quiesce', true);
    await vi.waitFor(() => expect(store.getState().preview?.result?.ok).toBe(true));
    expect(store.getState().preview?.chosen).toEqual(['memory']);
    // Choices of one group exclude each other.
    store.setState((state) => ({
      preview: state.preview && {
        ...state.preview,
        action: { ...state.preview.action, choices: [...state.preview.action.choices, { id: 'force', group: 'stop', label: 'Power off', disabled: null }, { id: 'save', group: 'stop', label: 'Save', disabled: null }] },
      },
    }));
    store.getState().setPreviewChoice('force', true);
    store.getState().setPreviewChoice('save', true);
    expect(store.getState().preview?.chosen).toEqual(['memory', 'save']);
    store.getState().setPreviewChoice('force', false);
    store.getState().setPreviewChoice('save', false);
    store.getState().setPreviewChoice('memory', false);
    await vi.waitFor(() => expect(store.getState().preview?.result?.ok).toBe(true));
    const intents = api.calls.filter(([m]) => m === 'plan').map(([, input]) => (input as { intent: unknown }).intent).slice(0, 2);
    expect(intents).toEqual([
      { op: 'create-snapshot', domain: 'vm', name: 'snap1' },
      { op: 'create-snapshot', domain: 'vm', name: 'snap1', memory: true },
    ]);
  });

  test("the node menu's Take snapshot, which asks for a name, opens the Take snapshot dialog instead of a preview", async () => {
    const api = stubApi({ plan: async () => ({ ok: true, plan }) });
    const store = await ready(api, scan);
    const take: NodeAction = { ...action, id: 'create-snapshot', label: 'Take snapshot…', asks: { label: 'Snapshot name', suggestion: 'snap1' } };
    store.getState().startAction(take);
    expect(store.getState().takingSnapshot).toBe(true);
    expect(store.getState().preview).toBeNull();
    expect(api.calls.filter(([m]) => m === 'plan')).toHaveLength(0);
    store.getState().closeTakeSnapshot();
    expect(store.getState().takingSnapshot).toBe(false);
  });

  test("the node menu's clone opens the clone dialog; what it previews is planned, and a finished clone is listed and offered to open", async () => {
    const clonePlan = { ...plan, intent: { op: 'clone', domain: 'vm', node: { kind: 'snapshot', name: 's1' }, name: 'vm-clone', mode: 'full' } } as Plan;
    const withClone: ScanResult = { ...scan, domains: [...scan.domains, { ...domain('main'), name: 'vm-clone' }] };
    const api = stubApi({ plan: async () => ({ ok: true, plan: clonePlan }), apply: async () => ({ status: 'done', operationId: plan.id, domain: domain('main') }), operations: async () => [], scan: async () => withClone });
    const store = await ready(api, scan);
    const clone: NodeAction = { ...action, asks: { label: 'Name', suggestion: 'vm-clone' }, intent: (n) => ({ op: 'clone', domain: 'vm', node: { kind: 'snapshot', name: 's1' }, name: n, mode: 'linked' }) };
    store.getState().startAction(clone);
    expect(store.getState().copying?.kind).toBe('clone');
    expect(store.getState().preview).toBeNull();
    expect(api.calls.filter(([m]) => m === 'plan')).toHaveLength(0);
    // The dialog previews the action with what was chosen, nothing left to ask.
    store.getState().previewAction({ ...clone, asks: null, intent: () => clonePlan.intent });
    expect(store.getState().copying).toBeNull();
    await vi.waitFor(() => expect(store.getState().preview?.result?.ok).toBe(true));
    expect(api.calls.find(([m]) => m === 'plan')?.[1]).toMatchObject({ intent: clonePlan.intent });
    await store.getState().confirm();
    expect(store.getState().outcome).toMatchObject({ ok: true, title: 'Clone vm-clone made.', made: 'vm-clone' });
    expect(store.getState().scans.c?.result?.domains.map((d) => d.name)).toEqual(['vm', 'vm-clone']);
  });

  test("the preview's Back reopens the clone dialog with what was typed; Cancel drops it", async () => {
    const clonePlan = { ...plan, intent: { op: 'clone', domain: 'vm', node: { kind: 'snapshot', name: 's1' }, name: 'vm-x', mode: 'full' } } as Plan;
    const api = stubApi({ plan: async () => ({ ok: true, plan: clonePlan }) });
    const store = await ready(api, scan);
    const clone: NodeAction = { ...action, asks: { label: 'Name', suggestion: 'vm-clone' }, intent: (n) => ({ op: 'clone', domain: 'vm', node: { kind: 'snapshot', name: 's1' }, name: n, mode: 'linked' }) };
    store.getState().startAction(clone);
    const draft = { name: 'vm-x', mode: 'full', dir: '/srv/vms', start: true } as const;
    store.getState().previewAction({ ...clone, asks: null, intent: () => clonePlan.intent }, { kind: 'clone', action: clone, draft });
    await vi.waitFor(() => expect(store.getState().preview?.result?.ok).toBe(true));
    store.getState().backToDialog();
    expect(store.getState().preview).toBeNull();
    expect(store.getState().copying).toEqual({ kind: 'clone', action: clone, draft });
    // A preview opened without a dialog has no Back: nothing happens.
    store.getState().previewAction(action);
    store.getState().backToDialog();
    expect(store.getState().preview).not.toBeNull();
    store.getState().closePreview();
    expect(store.getState().copying).toBeNull();
  });

  test('an action opens a preview with the engine plan; a bad name is caught before the engine is asked', async () => {
    const api = stubApi({ plan: async () => ({ ok: true, plan }) });
    const store = await ready(api, scan);
    store.getState().startAction(action);
    await vi.waitFor(() => expect(store.getState().preview?.result).toEqual({ ok: true, plan }));
    store.getState().setPreviewName('-rf');
    expect(store.getState().preview?.nameError).toMatch(/cannot start with "-"/);
    await store.getState().planPreview();
    expect(api.calls.filter(([m]) => m === 'plan')).toHaveLength(1);
  });

  test('a typed name is planned once typing pauses; a slow answer about an earlier name or an earlier dialog is dropped', async () => {
    // Each plan call waits until the test answers it, so answers can come late and out of order.
    const pending: { name: string; answer: () => void }[] = [];
    const api = stubApi({
      plan: ({ intent }) =>
        new Promise((resolve) => {
          const name = (intent as { branch: string }).branch;
          pending.push({ name, answer: () => resolve({ ok: true, plan: { ...plan, intent: intent as Plan['intent'] } }) });
        }),
    });
    const store = await ready(api, scan);
    const asked = (): string[] => pending.map((p) => p.name);
    const named = (): string | undefined => (store.getState().preview?.result as { plan?: Plan } | null)?.plan?.intent.op === 'revert-branch' ? ((store.getState().preview?.result as { plan: Plan }).plan.intent as { branch: string }).branch : undefined;
    const empty: NodeAction = { ...action, asks: { label: 'New branch name', suggestion: '' } };

    // No name yet: nothing to plan, and the dialog does not say it is planning.
    store.getState().startAction(empty);
    expect(store.getState().preview).toMatchObject({ loading: false, result: null });
    expect(asked()).toEqual([]);

    // A pause after "snap1" plans it; "snap1.1" typed while that answer is on its way is planned after its own pause.
    for (const name of ['s', 'sn', 'snap1']) store.getState().setPreviewName(name);
    await vi.waitFor(() => expect(asked()).toEqual(['snap1']));
    store.getState().setPreviewName('snap1.1');
    expect(store.getState().preview).toMatchObject({ loading: true, result: null });
    pending[0]?.answer();
    await vi.waitFor(() => expect(asked()).toEqual(['snap1', 'snap1.1']));
    expect(store.getState().preview?.result).toBeNull();
    pending[1]?.answer();
    await vi.waitFor(() => expect(named()).toBe('snap1.1'));
    expect(store.getState().preview?.loading).toBe(false);

    // Closed and opened again with the same action, the same name is planned again, and the first dialog's late
    // answer is not taken for this one's.
    store.getState().closePreview();
    store.getState().startAction(empty);
    store.getState().setPreviewName('snap1.1');
    await vi.waitFor(() => expect(asked()).toEqual(['snap1', 'snap1.1', 'snap1.1']));
    expect(store.getState().preview).toMatchObject({ loading: true, result: null });
    pending[2]?.answer();
    await vi.waitFor(() => expect(named()).toBe('snap1.1'));
  });

  test('confirming applies the plan, puts the rescanned domain in place and marks what changed', async () => {
    const api = stubApi({ plan: async () => ({ ok: true, plan }), apply: async () => ({ status: 'done', operationId: plan.id, domain: domain('new') }), operations: async () => [] });
    const store = await ready(api, scan);
    store.getState().startAction(action);
    await vi.waitFor(() => expect(store.getState().preview?.result?.ok).toBe(true));
    await store.getState().confirm();
    const state = store.getState();
    expect(state.preview).toBeNull();
    expect(state.scans.c?.result?.domains[0]?.branches[0]?.name).toBe('new');
    expect(state.flash).toEqual({ 'b:new': 'flash' });
    // The status names the domain and the nodes, not only the operation.
    expect(state.outcome).toMatchObject({ ok: true, title: 'Revert vm to s1 on a new branch new: done.' });
    expect(state.running).toBeNull();
  });

  test('the node the operation lands on is selected, so the keyboard goes on from there', async () => {
    const landing = { ...plan, impact: { ...plan.impact, currentAfter: 'b:new' } } as Plan;
    const two: Domain = { ...domain('new'), branches: [...domain('new').branches, { name: 'other', current: false, origin: 'metadata', base: null, tips: [] }] };
    const api = stubApi({ plan: async () => ({ ok: true, plan: landing }), apply: async () => ({ status: 'done', operationId: plan.id, domain: two }), operations: async () => [] });
    const store = await ready(api, scan);
    store.getState().selectDomain('c', 'vm');
    store.getState().selectNode('b:main');
    store.getState().startAction(action);
    await vi.waitFor(() => expect(store.getState().preview?.result?.ok).toBe(true));
    await store.getState().confirm();
    expect(store.getState().nodeId).toBe('b:new');
  });

  test('a node the operation removed is no longer selected (You are here is), so no live update calls it changed outside the app', async () => {
    const api = stubApi({ plan: async () => ({ ok: true, plan }), apply: async () => ({ status: 'done', operationId: plan.id, domain: domain('new') }), operations: async () => [] });
    const store = await ready(api, scan);
    store.getState().selectDomain('c', 'vm');
    store.getState().selectNode('b:main');
    store.getState().startAction(action);
    await vi.waitFor(() => expect(store.getState().preview?.result?.ok).toBe(true));
    await store.getState().confirm();
    expect(store.getState().nodeId).toBe('b:new');
    // A node still there stays selected.
    store.getState().selectNode('b:new');
    store.getState().startAction(action);
    await vi.waitFor(() => expect(store.getState().preview?.result?.ok).toBe(true));
    await store.getState().confirm();
    expect(store.getState().nodeId).toBe('b:new');
  });

  test('a changed world brings the new plan back for review; a failure shows its code', async () => {
    const changed = { ...plan, id: '22222222-2222-2222-2222-222222222222' } as Plan;
    const api = stubApi({ plan: async () => ({ ok: true, plan }), apply: async () => ({ status: 'changed', plan: changed }), operations: async () => [] });
    const store = await ready(api, scan);
    store.getState().startAction(action);
    await vi.waitFor(() => expect(store.getState().preview?.result?.ok).toBe(true));
    await store.getState().confirm();
    expect(store.getState().preview).toMatchObject({ result: { ok: true, plan: changed }, notice: expect.stringMatching(/changed/) });

    const failing = stubApi({
      plan: async () => ({ ok: true, plan }),
      apply: async () => {
        throw new AppError('E_LOCKED', 'Another operation is running on vm.');
      },
      operations: async () => [],
      scan: async () => scan,
    });
    const store2 = await ready(failing, scan);
    store2.getState().startAction(action);
    await vi.waitFor(() => expect(store2.getState().preview?.result?.ok).toBe(true));
    await store2.getState().confirm();
    expect(store2.getState().outcome).toMatchObject({ ok: false, error: { code: 'E_LOCKED' } });
  });

  test('a plan the engine does not hold (made before serve was restarted) is made again to confirm, not shown as failed', async () => {
    const again = { ...plan, id: '33333333-3333-3333-3333-333333333333' } as Plan;
    let made = 0;
    const api = stubApi({
      plan: async () => ({ ok: true, plan: made++ === 0 ? plan : again }),
      apply: async () => {
        throw new AppError('E_NOT_FOUND', 'This plan was not made by this engine, or it already ran. Plan the operation again.', { operationId: plan.id, unknownPlan: true });
      },
      operations: async () => [],
    });
    const store = await ready(api, scan);
    store.getState().startAction(action);
    await vi.waitFor(() => expect(store.getState().preview?.result?.ok).toBe(true));
    await store.getState().confirm();
    await vi.waitFor(() => expect(store.getState().preview).toMatchObject({ result: { ok: true, plan: again }, notice: expect.stringMatching(/restarted/) }));
    expect(store.getState().outcome).toBeNull();
    expect(store.getState().running).toBeNull();

    // Any other not-found of the operation (its domain gone meanwhile) is a failure, shown as one.
    const gone = stubApi({
      plan: async () => ({ ok: true, plan }),
      apply: async () => {
        throw new AppError('E_NOT_FOUND', 'No domain named "vm".', { operationId: plan.id });
      },
      operations: async () => [],
      scan: async () => scan,
    });
    const store2 = await ready(gone, scan);
    store2.getState().startAction(action);
    await vi.waitFor(() => expect(store2.getState().preview?.result?.ok).toBe(true));
    await store2.getState().confirm();
    expect(store2.getState().outcome).toMatchObject({ ok: false, error: { code: 'E_NOT_FOUND' } });
  });
});

describe('recovery from the app', () => {
  test('finishes or undoes what was interrupted, says what it did, and reloads the log and the scan', async () => {
    const reports = [{ operationId: plan.id, domain: 'vm', outcome: 'finished' as const, message: 'Finished the interrupted delete-snapshot on vm.' }];
    const api = stubApi({ recover: async () => reports, history: async () => [] });
    const store = await ready(api, scan);
    await store.getState().recover();
    expect(store.getState().outcome).toEqual({ ok: true, title: 'Recovery: Finished the interrupted delete-snapshot on vm.', error: null });
    expect(api.calls.map(([m]) => m)).toEqual(expect.arrayContaining(['recover', 'history']));
    const failing = stubApi({ recover: async () => [{ operationId: plan.id, domain: 'vm', outcome: 'failed' as const, message: 'Could not recover delete-snapshot on vm: no.' }], history: async () => [] });
    const again = await ready(failing, scan);
    await again.getState().recover();
    expect(again.getState().outcome).toMatchObject({ ok: false, title: 'Recovery failed.', error: { message: 'Could not recover delete-snapshot on vm: no.' } });
  });
});

describe('where the selection lands after an operation', () => {
  const s1 = { name: 's1', parent: null, description: null, created: null, state: 'shutoff', current: true, memoryFile: null, disks: [], revertFiles: [] };
  const withSnapshot: Domain = { ...domain('main'), snapshots: [s1] };
  const described = { ...plan, intent: { op: 'edit-description', domain: 'vm', snapshot: 's1', description: 'new words' }, impact: { ...plan.impact, currentAfter: 'b:main' } } as unknown as Plan;

  test('a new description keeps the edited snapshot selected', () => {
    expect(landingNode(described, withSnapshot, 's:s1')).toBe('s:s1');
  });

  test('an operation that moves You are here lands there', () => {
    const moved = { ...plan, impact: { ...plan.impact, currentAfter: 'b:main' } } as unknown as Plan;
    expect(landingNode(moved, withSnapshot, 's:s1')).toBe('b:main');
  });
});
