/** One function makes a step's command: what the executor runs, and the line the preview shows, come from it. */
import { describe, expect, test } from 'vitest';
import type { Source } from '../model';
import { seed } from '../test-seed';
import { formatPlan } from './format-plan';
import type { Step } from './plan';
import { planOperation } from './planners';
import { stepCommand, stepLine } from './step-command';

const libvirt: Source = { kind: 'libvirt', uri: 'qemu:///system' };
const folder: Source = { kind: 'folder', path: '/f' };

describe('stepCommand', () => {
  test.each<[string, Step, string, string[]]>([
    ['a new overlay', { kind: 'create-overlay', path: '/i/n', backing: '/i/b', backingFormat: 'raw', sentence: '' }, 'qemu-img', ['create', '-q', '-f', 'qcow2', '-b', '/i/b', '-F', 'raw', '--', '/i/n']],
    ['an unsafe rebase', { kind: 'rebase', path: '/i/c', format: 'qcow2', backing: '/i/b', backingFormat: 'qcow2', unsafe: true, sentence: '' }, 'qemu-img', ['rebase', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', '/i/b', '--', '/i/c']],
    ['a safe rebase', { kind: 'rebase', path: '/i/c', format: 'qcow2', backing: '/i/b', backingFormat: 'raw', unsafe: false, sentence: '' }, 'qemu-img', ['rebase', '-p', '-f', 'qcow2', '-F', 'raw', '-b', '/i/b', '--', '/i/c']],
    ['a commit', { kind: 'commit', top: '/i/t', format: 'qcow2', base: '/i/b', sentence: '' }, 'qemu-img', ['commit', '-f', 'qcow2', '-p', '-d', '-b', '/i/b', '--', '/i/t']],
    ['a repair', { kind: 'repair', path: '/i/x', mode: 'all', sentence: '' }, 'qemu-img', ['check', '-r', 'all', '-f', 'qcow2', '--', '/i/x']],
    ['a kept copy', { kind: 'keep-copy', path: '/i/x', copy: '/i/.t/x', sentence: '' }, 'cp', ['--sparse=always', '--reflink=auto', '--', '/i/x', '/i/.t/x']],
    ['the current snapshot', { kind: 'set-current-snapshot', domain: '-vm', snapshot: 'a b', sentence: '' }, 'virsh', ['snapshot-current', '--domain', '-vm', '--snapshotname', 'a b']],
    ['a record deleted', { kind: 'delete-snapshot-metadata', domain: 'vm', snapshot: 's', sentence: '' }, 'virsh', ['snapshot-delete', '--domain', 'vm', '--snapshotname', 's', '--metadata']],
  ])('%s', (_name, step, tool, args) => {
    expect(stepCommand(step)).toEqual({ tool, args });
  });

  test('a snapshot: a diskspec per disk, a comma in a file name written twice, excluded disks left out', () => {
    const step: Step = { kind: 'create-snapshot', domain: 'vm', name: 's', description: 'why', overlays: { vda: '/i/a,b' }, excluded: ['hdc'], sentence: '' };
    expect(stepCommand(step)?.args).toEqual([
      'snapshot-create-as', '--domain', 'vm', '--name', 's', '--description', 'why', '--disk-only', '--atomic',
      '--diskspec', 'vda,snapshot=external,file=/i/a,,b', '--diskspec', 'hdc,snapshot=no',
    ]);
  });

  test('a snapshot with memory saves it to its file instead of taking the disks alone; a quiesce asks the guest agent', () => {
    const step: Step = { kind: 'create-snapshot', domain: 'vm', name: 's', description: null, overlays: { vda: '/i/a' }, excluded: [], memoryFile: '/i/m,1.mem', quiesce: true, sentence: '' };
    expect(stepCommand(step)?.args).toEqual([
      'snapshot-create-as', '--domain', 'vm', '--name', 's', '--memspec', 'file=/i/m,,1.mem,snapshot=external', '--quiesce', '--atomic',
      '--diskspec', 'vda,snapshot=external,file=/i/a',
    ]);
  });

  test('what only the run knows (the edited XML file, whether the snapshot is current) goes in; the preview shows a placeholder', () => {
    const define: Step = { kind: 'define-domain', domain: 'vm', disks: {}, records: { current: null, branches: [] }, sentence: '' };
    expect(stepCommand(define, { xmlFile: '/tmp/x/definition.xml' })?.args).toEqual(['define', '--file', '/tmp/x/definition.xml']);
    expect(stepLine(define, libvirt)).toEqual(['virsh', '-c', 'qemu:///system', 'define', '--file', '<definition of vm with the changes above>']);
    const redefine: Step = { kind: 'redefine-snapshot', domain: 'vm', snapshot: 's', replace: {}, sentence: '' };
    expect(stepCommand(redefine, { xmlFile: '/tmp/r.xml', current: true })?.args).toEqual(['snapshot-create', '--domain', 'vm', '--xmlfile', '/tmp/r.xml', '--redefine', '--current']);
    expect(stepCommand(redefine, { xmlFile: '/tmp/r.xml' })?.args).toEqual(['snapshot-create', '--domain', 'vm', '--xmlfile', '/tmp/r.xml', '--redefine']);
  });

  test('a conversion names both formats, never shares a lock (-U), and runs into the temporary name the run gives', () => {
    const step: Step = { kind: 'convert', source: '/i/s', sourceFormat: 'qcow2', target: '/e/t.img', format: 'raw', compress: false, sentence: '' };
    expect(stepCommand(step)).toEqual({ tool: 'qemu-img', args: ['convert', '-p', '-t', 'none', '-f', 'qcow2', '-O', 'raw', '--', '/i/s', '/e/t.img'] });
    expect(stepCommand({ ...step, format: 'qcow2', compress: true }, { partFile: '/e/.part' })?.args).toEqual(['convert', '-p', '-c', '-f', 'qcow2', '-O', 'qcow2', '--', '/i/s', '/e/.part']);
    // Where the target's file system takes no O_DIRECT, the run writes through the page cache.
    expect(stepCommand(step, { partFile: '/e/.part', buffered: true })?.args).toEqual(['convert', '-p', '-f', 'qcow2', '-O', 'raw', '--', '/i/s', '/e/.part']);
    expect(stepLine(step, libvirt)).toEqual(['qemu-img', 'convert', '-p', '-t', 'none', '-f', 'qcow2', '-O', 'raw', '--', '/i/s', '/e/t.img']);
  });

  test("a variable store's copy and a clone's definition: cp and virsh define, the run's files in, the preview's placeholders out", () => {
    const nvram: Step = { kind: 'copy-nvram', path: '/n/vm_VARS.fd', copy: '/n/new_VARS.fd', sentence: '' };
    expect(stepCommand(nvram)).toEqual({ tool: 'cp', args: ['--reflink=auto', '--', '/n/vm_VARS.fd', '/n/new_VARS.fd'] });
    expect(stepCommand(nvram, { partFile: '/n/.part' })?.args).toEqual(['--reflink=auto', '--', '/n/vm_VARS.fd', '/n/.part']);
    const define: Step = { kind: 'define-clone', source: 'vm', name: 'new', node: { kind: 'snapshot', name: 's1' }, disks: {}, formats: {}, nvram: null, sentence: '' };
    expect(stepLine(define, libvirt)).toEqual(['virsh', '-c', 'qemu:///system', 'define', '--file', '<definition of vm as new, with the changes above>']);
    expect(stepCommand(define, { xmlFile: '/tmp/d.xml' })?.args).toEqual(['define', '--file', '/tmp/d.xml']);
  });

  test('moving to the trash is done in process: no command, no line', () => {
    const trash: Step = { kind: 'trash', path: '/i/x', sentence: '' };
    expect(stepCommand(trash)).toBeNull();
    expect(stepLine(trash, libvirt)).toBeNull();
  });
});

describe('stepLine', () => {
  test('is the tool, the connection virsh is opened on, and the very arguments the executor runs', () => {
    const step: Step = { kind: 'set-current-snapshot', domain: 'vm', snapshot: 's', sentence: '' };
    expect(stepLine(step, libvirt)).toEqual(['virsh', '-c', 'qemu:///system', ...(stepCommand(step)?.args ?? [])]);
    const commit: Step = { kind: 'commit', top: '/f/t', format: 'qcow2', base: '/f/b', sentence: '' };
    expect(stepLine(commit, folder)).toEqual(['qemu-img', ...(stepCommand(commit)?.args ?? [])]);
  });

  test('the plan text shows each step that runs a tool with its line', () => {
    const result = planOperation({ scan: seed(), operationId: 'op1' }, { op: 'delete-snapshot', domain: 'vm', snapshot: 'snap2' });
    if (!result.ok) throw new Error(result.refusal.message);
    const text = formatPlan(result.plan);
    expect(text).toContain('$ qemu-img commit -f qcow2 -p -d -b /i/vm.snap1 -- /i/vm.snap2');
    expect(text).toContain("$ virsh -c qemu:///system snapshot-delete --domain vm --snapshotname snap2 --metadata");
    expect(text).toContain('deletes snapshots: snap2');
    expect(text.match(/\$ /g)?.length).toBe(result.plan.steps.filter((s) => s.kind !== 'trash').length);
  });
});
