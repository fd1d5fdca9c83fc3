import { describe, expect, test } from 'vitest';
import { assembleFolder } from '../assemble';
import type { Domain, ScanResult } from '../model';
import { layer, seed } from '../test-seed';
import type { Intent, Plan } from './plan';
import { formatPlan } from './format-plan';
import { operationWords, planSummary } from './plan-summary';
import { planOperation } from './planners';

function planned(scan: ScanResult, intent: Intent): Plan {
  const result = planOperation({ scan, operationId: 'op1' }, intent);
  if (!result.ok) throw new Error(`refused: ${result.refusal.message}`);
  return result.plan;
}

const domainOf = (scan: ScanResult): Domain => {
  const domain = scan.domains[0];
  if (domain === undefined) throw new Error('no domain');
  return domain;
};

describe('the one-line summary says where the user will be and what becomes of the current state', () => {
  const scan = seed({ fork: true });
  const vm = domainOf(scan);

  test.each<[string, Intent, string]>([
    [
      'revert with a new branch',
      { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'snap1.1' },
      'You will be at snap1 on a new branch snap1.1; your current state stays as branch main.',
    ],
    [
      'revert with a new branch, the state left kept under another name',
      { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'snap1.1', keepAs: 'before' },
      'You will be at snap1 on a new branch snap1.1; your current state stays as branch before.',
    ],
    [
      'a linked clone of a snapshot',
      { op: 'clone', domain: 'vm', node: { kind: 'snapshot', name: 'snap1' }, name: 'vm-clone', mode: 'linked' },
      "A new domain vm-clone, linked to snapshot snap1 of vm: its disks build on snap1's saved state; you stay on branch main.",
    ],
    [
      'a linked clone of the current branch, started',
      { op: 'clone', domain: 'vm', node: { kind: 'branch', name: 'main' }, name: 'vm-clone', mode: 'linked', start: true },
      "A new domain vm-clone, linked to branch main of vm: its disks build on main's files as they are now, which are frozen for it, and vm-clone starts; you stay on branch main, which goes on in new files.",
    ],
    [
      'a linked clone of another branch',
      { op: 'clone', domain: 'vm', node: { kind: 'branch', name: 'alt' }, name: 'vm-clone', mode: 'linked' },
      "A new domain vm-clone, linked to branch alt of vm: its disks build on alt's files as they are now, which are frozen for it; branch alt goes on in new files; you stay on branch main.",
    ],
    [
      'a full clone',
      { op: 'clone', domain: 'vm', node: { kind: 'snapshot', name: 'snap2' }, name: 'vm-copy', mode: 'full' },
      'A new domain vm-copy, a full copy of snapshot snap2 of vm: its disk is a standalone image with no link to vm; you stay on branch main.',
    ],
    [
      'an export',
      { op: 'export', domain: 'vm', node: { kind: 'snapshot', name: 'snap1' }, to: '/out', format: 'qcow2', compress: true },
      'The disks of snapshot snap1 of vm are copied to /out as one standalone compressed qcow2 image; nothing of vm changes, you stay on branch main.',
    ],
    [
      'revert discarding the current state',
      { op: 'revert-discard', domain: 'vm', snapshot: 'snap2' },
      'You will be at snap2 on branch main again; your current state is discarded (2 files go to the trash).',
    ],
    ['switch', { op: 'switch', domain: 'vm', branch: 'alt' }, 'You will be on branch alt; your current state stays as branch main.'],
    ['rename of the current branch', { op: 'rename-branch', domain: 'vm', branch: 'main', to: 'trunk' }, 'Branch main will be named trunk; you stay on it, nothing else changes.'],
    ['rename of another branch', { op: 'rename-branch', domain: 'vm', branch: 'alt', to: 'other' }, 'Branch alt will be named other; you stay on branch main, nothing else changes.'],
    [
      'delete a snapshot',
      { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2' },
      'Snapshot snap2 of vm is deleted (1 file goes to the trash); you stay on branch main, your current state unchanged.',
    ],
    [
      "delete a snapshot's record only",
      { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2', metadataOnly: true },
      'Snapshot snap2 of vm loses its record; its files stay; you stay on branch main, your current state unchanged.',
    ],
    [
      'take a snapshot',
      { op: 'create-snapshot', domain: 'vm', name: 'snap4' },
      "Snapshot snap4 saves vm's current disks; you stay on branch main, which goes on from snap4.",
    ],
    [
      'delete a branch',
      { op: 'delete-branch', domain: 'vm', branch: 'alt' },
      'Branch alt of vm is deleted (1 file goes to the trash); you stay on branch main, your current state unchanged.',
    ],
    [
      'repair a file',
      { op: 'repair', domain: 'vm', path: '/i/vm.snap1', mode: 'leaks' },
      'vm.snap1 is repaired (leaked space only), a copy kept in the trash first; your current state stays where it is.',
    ],
  ])('%s', (_, intent, words) => {
    expect(planSummary(planned(scan, intent), vm)).toBe(words);
  });

  test('without the domain, the current branch is named from the plan itself (the CLI)', () => {
    const plan = planned(scan, { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'snap1.1' });
    expect(planSummary(plan)).toBe('You will be at snap1 on a new branch snap1.1; your current state stays as branch main.');
  });

  test('a running domain stopped first is said after the main sentence', () => {
    const running = seed({ state: 'running', fork: true });
    const plan = planned(running, { op: 'switch', domain: 'vm', branch: 'alt', stop: 'shutdown' });
    expect(planSummary(plan, domainOf(running))).toBe('You will be on branch alt; your current state stays as branch main; vm is running: it is shut down first.');
  });
});

describe('commit', () => {
  test('in an image folder, the tip is folded into the file below it', () => {
    const layers = { '/f/base.qcow2': layer('/f/base.qcow2', null), '/f/mid.qcow2': layer('/f/mid.qcow2', '/f/base.qcow2'), '/f/top.qcow2': layer('/f/top.qcow2', '/f/mid.qcow2') };
    const scan: ScanResult = { source: { kind: 'folder', path: '/f' }, scannedAt: '', hypervisor: null, domains: assembleFolder(layers, []), problems: [] };
    const plan = planned(scan, { op: 'commit', domain: 'base.qcow2', branch: 'top.qcow2' });
    expect(planSummary(plan, domainOf(scan))).toBe("Branch top.qcow2's changes are folded into mid.qcow2 (1 file goes to the trash); its content stays the same.");
  });

  test('a commit that also deletes a snapshot names it', () => {
    const plan = planned(seed({ fork: true }), { op: 'revert-branch', domain: 'vm', snapshot: 'snap1', branch: 'x' });
    const folding: Plan = { ...plan, intent: { op: 'commit', domain: 'vm', branch: 'main' }, impact: { ...plan.impact, written: ['/i/vm.snap2'], removedSnapshots: ['snap3'], trashed: [] } };
    expect(planSummary(folding, domainOf(seed()))).toBe("Branch main's changes are folded into vm.snap2 and snapshot snap3 is deleted; you stay on branch main, with the same content.");
  });
});

describe('the CLI text', () => {
  test('starts with the summary, before the numbered steps', () => {
    const plan = planned(seed(), { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2' });
    const lines = formatPlan(plan).split('\n');
    expect(lines[0]).toBe('Snapshot snap2 of vm is deleted (1 file goes to the trash); you stay where you are, your current state unchanged.');
    expect(lines[2]).toBe('Plan delete-snapshot on vm:');
  });
});

describe('an operation names its subject', () => {
  test.each<[Intent, string]>([
    [{ op: 'delete-snapshot', domain: 'web01', snapshot: 'snap2' }, 'Delete snapshot snap2 of web01'],
    [{ op: 'delete-snapshot', domain: 'web01', snapshot: 'snap2', metadataOnly: true }, 'Delete the record of snapshot snap2 of web01'],
    [{ op: 'revert-branch', domain: 'web01', snapshot: 'snap1', branch: 'snap1.1' }, 'Revert web01 to snap1 on a new branch snap1.1'],
    [{ op: 'revert-discard', domain: 'web01', snapshot: 'snap1' }, 'Revert web01 to snap1, discarding the state left'],
    [{ op: 'switch', domain: 'web01', branch: 'main' }, 'Switch web01 to branch main'],
    [{ op: 'rename-branch', domain: 'web01', branch: 'main', to: 'trunk' }, 'Rename branch main of web01 to trunk'],
    [{ op: 'commit', domain: 'web01', branch: 'main' }, 'Commit branch main of web01'],
    [{ op: 'fold-commit', domain: 'web01', branch: 'main', snapshot: 'snap3' }, 'Fold branch main of web01 into snapshot snap3'],
    [{ op: 'create-snapshot', domain: 'web01', name: 'snap4' }, 'Take snapshot snap4 of web01'],
    [{ op: 'delete-branch', domain: 'web01', branch: 'alt' }, 'Delete branch alt of web01'],
    [{ op: 'edit-description', domain: 'web01', snapshot: 'snap2', description: 'x' }, 'Change the description of snapshot snap2 of web01'],
    [{ op: 'repair', domain: 'web01', path: '/i/web01.qcow2', mode: 'leaks' }, 'Repair web01.qcow2 of web01'],
    [{ op: 'clone', domain: 'web01', node: { kind: 'snapshot', name: 'snap1' }, name: 'web01-clone', mode: 'linked' }, 'Clone web01 from snapshot snap1 as web01-clone (linked)'],
    [{ op: 'clone', domain: 'web01', node: { kind: 'branch', name: 'main' }, name: 'web02', mode: 'full' }, 'Clone web01 from branch main as web02 (full copy)'],
    [{ op: 'export', domain: 'web01', node: { kind: 'snapshot', name: 'snap1' }, to: '/out', format: 'raw' }, 'Export the disks of snapshot snap1 of web01 to /out'],
  ])('%j', (intent, words) => {
    expect(operationWords(intent)).toBe(words);
  });
});
