/**
 * A version 1 journal exactly as the previous release wrote it (a delete-snapshot killed during its rebase, paths
 * renamed), read by this build: the command lines it stored are the ones this build's step builders make from the
 * steps it reads back, so recovery runs what the old release showed and meant to run (docs/safety.md, rule 5).
 */
import { describe, expect, test } from 'vitest';
import { stepLine } from '../../shared/ops/step-command';
import { parseJournal } from './journal-schema';

const OLD_JOURNAL = {
  version: 1,
  id: '94a25a5a-fd5e-4e26-bfa5-51960ed1b6de',
  createdAt: '2026-11-29T07:50:36.336Z',
  uri: 'qemu:///system',
  plan: {
    id: '94a25a5a-fd5e-4e26-bfa5-51960ed1b6de',
    intent: {
      op: 'delete-snapshot',
      domain: 'vm1',
      snapshot: 's2',
    },
    source: {
      kind: 'libvirt',
      uri: 'qemu:///system',
    },
    steps: [
      {
        kind: 'commit',
        top: '/var/lib/libvirt/images/base.s2',
        base: '/var/lib/libvirt/images/base.s1',
        sentence: 'Commit base.s2 into base.s1 (vda): the saved state of s2 takes in the changes made after it.',
        command: ['qemu-img', 'commit', '-f', 'qcow2', '-p', '-d', '-b', '/var/lib/libvirt/images/base.s1', '--', '/var/lib/libvirt/images/base.s2'],
      },
      {
        kind: 'rebase',
        path: '/var/lib/libvirt/images/base.s3',
        backing: '/var/lib/libvirt/images/base.s1',
        backingFormat: 'qcow2',
        unsafe: true,
        sentence: 'Point base.s3 at base.s1, which now holds what base.s2 held.',
        command: ['qemu-img', 'rebase', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', '/var/lib/libvirt/images/base.s1', '--', '/var/lib/libvirt/images/base.s3'],
      },
      {
        kind: 'redefine-snapshot',
        domain: 'vm1',
        snapshot: 's3',
        replace: {
          '/var/lib/libvirt/images/base.s2': '/var/lib/libvirt/images/base.s1',
        },
        parent: 's1',
        sentence: 'Update the record of snapshot s3: its parent becomes s1, and it names the merged files.',
        command: ['virsh', '-c', 'qemu:///system', 'snapshot-create', '--domain', 'vm1', '--xmlfile', '<record of s3 with the changes above>', '--redefine'],
      },
      {
        kind: 'delete-snapshot-metadata',
        domain: 'vm1',
        snapshot: 's2',
        sentence: "Delete libvirt's record of snapshot s2.",
        command: ['virsh', '-c', 'qemu:///system', 'snapshot-delete', '--domain', 'vm1', '--snapshotname', 's2', '--metadata'],
      },
      {
        kind: 'trash',
        path: '/var/lib/libvirt/images/base.s2',
        sentence: 'Move base.s2 to the trash (.snaptree-trash/ beside it); it can be restored until the trash is emptied.',
        command: ['mv', '--', '/var/lib/libvirt/images/base.s2', '/var/lib/libvirt/images/.snaptree-trash/94a25a5a-fd5e-4e26-bfa5-51960ed1b6de/base.s2'],
      },
    ],
    pointOfNoReturn: 0,
    impact: {
      created: [],
      written: ['/var/lib/libvirt/images/base.s1', '/var/lib/libvirt/images/base.s3'],
      trashed: ['/var/lib/libvirt/images/base.s2'],
      metadata: ['snapshot s2', 'snapshot s3'],
      spaceBytes: 1314816,
      mustStop: true,
      changedNodes: ['s:s2'],
      unchangedNodes: ['s:s1', 's:s3', 'b:main'],
    },
    warnings: [],
  },
  status: 'running',
  steps: [
    {
      state: 'done',
      undo: {
        kind: 'none',
      },
    },
    {
      state: 'started',
      undo: {
        kind: 'previous-backing',
        backing: '/var/lib/libvirt/images/base.s2',
        format: 'qcow2',
      },
    },
    {
      state: 'pending',
    },
    {
      state: 'pending',
    },
    {
      state: 'pending',
    },
  ],
};

const text = JSON.stringify(OLD_JOURNAL);

describe('a version 1 journal of the previous release', () => {
  test('is read, a rebase and a commit taking their format from the -f of their command line', () => {
    const read = parseJournal(text, OLD_JOURNAL.id);
    if (!read.ok) throw new Error(read.why);
    expect(read.entry.plan.steps.map((s) => (s.kind === 'rebase' || s.kind === 'commit' ? s.format : null))).toEqual(['qcow2', 'qcow2', null, null, null]);
    expect(read.entry.plan.steps.some((s) => 'command' in s)).toBe(false);
    expect(read.entry.plan.impact).toMatchObject({
      createdNodes: [],
      removedSnapshots: [],
      removedBranches: [],
      renamed: null,
      currentAfter: null,
    });
    expect(read.entry.steps[1]).toEqual(OLD_JOURNAL.steps[1]);
  });

  test('each step that runs a tool runs the command line the old release stored for it', () => {
    const read = parseJournal(text, OLD_JOURNAL.id);
    if (!read.ok) throw new Error(read.why);
    read.entry.plan.steps.forEach((step, i) => {
      const stored = OLD_JOURNAL.plan.steps[i]?.command;
      // The trash step moves the file in process: it runs no tool, and shows none now.
      expect(stepLine(step, read.entry.plan.source), step.kind).toEqual(step.kind === 'trash' ? null : stored);
    });
  });

  test("a commit's format is the one its command line named", () => {
    const raw = JSON.parse(text) as typeof OLD_JOURNAL;
    raw.plan.steps[0]?.command.splice(3, 1, 'qed');
    const read = parseJournal(JSON.stringify(raw), OLD_JOURNAL.id);
    expect(read.ok && read.entry.plan.steps[0]).toMatchObject({
      kind: 'commit',
      format: 'qed',
    });
  });
});
