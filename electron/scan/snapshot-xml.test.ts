import { describe, expect, test } from 'vitest';
import type { Virsh } from '../tools/virsh';
import { AppError } from '../../shared/errors';
import type { Problem } from '../../shared/model';
import { parseDomainDisks } from './libvirt-xml';
import { currentName, dumpCommand, listedNames, readSnapshots } from './list-snapshots';
import { checkWellFormed, parseSnapshotXml } from './snapshot-xml';
import { virshReader } from './libvirt-reader';

const snapshot = (body: string, name = ' lead space ') => `<domainsnapshot>\n  <name>${name}</name>\n${body}\n</domainsnapshot>\n`;

describe('parseSnapshotXml', () => {
  test('keeps names, parents and descriptions verbatim, spaces and line breaks included', () => {
    const parsed = parseSnapshotXml(snapshot('<parent><name>lead\nspace</name></parent><description>  two\nlines </description>'));
    expect([parsed.name, parsed.parent, parsed.description]).toEqual([' lead space ', 'lead\nspace', '  two\nlines ']);
  });

  test.each([
    ['cut inside the saved domain', snapshot("<state>shutoff</state><domain type='qemu'><name>vm</name><devices>").slice(0, -20)],
    ['cut inside a tag', "<domainsnapshot><name>a</name><disks><disk name='vda' snap"],
    ['cut after the disks', "<domainsnapshot><name>a</name><disks><disk name='vda' snapshot='external'/></disks>"],
    ['tags that do not match', '<domainsnapshot><name>a</state></domainsnapshot>'],
    ['two roots', '<domainsnapshot><name>a</name></domainsnapshot><domainsnapshot/>'],
    ['no name', '<domainsnapshot><state>shutoff</state></domainsnapshot>'],
  ])('refuses a document %s', (_what, xml) => {
    expect(() => parseSnapshotXml(xml)).toThrow(AppError);
  });

  test('lists disks of every type; only external files are managed; manual is shown', () => {
    const parsed = parseSnapshotXml(
      snapshot(`<state>disk-snapshot</state><disks>
        <disk name='vda' snapshot='external' type='file'><source file='/img/a.s1'/></disk>
        <disk name='vdb' snapshot='external' type='block'><source dev='/dev/vg/lv'/></disk>
        <disk name='vdc' snapshot='external' type='network'><source protocol='rbd' name='pool/img'/></disk>
        <disk name='vdd' snapshot='manual'/>
        <disk name='vde' snapshot='no'/>
      </disks>`),
    );
    expect(parsed.disks.map((d) => [d.target, d.kind, d.type, d.source, d.overlay, d.managed])).toEqual([
      ['vda', 'external', 'file', '/img/a.s1', '/img/a.s1', true],
      ['vdb', 'external', 'block', '/dev/vg/lv', null, false],
      ['vdc', 'external', 'network', 'rbd:pool/img', null, false],
      ['vdd', 'manual', 'file', null, null, false],
      ['vde', 'no', 'file', null, null, false],
    ]);
    expect(parsed.disks.slice(1).map((d) => d.reason)).toEqual([
      expect.stringMatching(/Block device/),
      expect.stringMatching(/Network disk/),
      expect.stringMatching(/Manual snapshot/),
      expect.stringMatching(/Not part/),
    ]);
  });

  test.each([
    ['the domain disk says internal', 'disk-snapshot', "snapshot='internal'", 'internal'],
    ['a disk-only snapshot', 'disk-snapshot', '', 'external'],
    ['a snapshot with memory inside', 'running', '', 'internal'],
  ])('a disk without snapshot= takes libvirt default: %s', (_what, state, own, mode) => {
    const xml = snapshot(`<state>${state}</state><memory snapshot='${state === 'running' ? 'internal' : 'no'}'/><disks><disk name='vda'/></disks>
      <domain type='qemu'><devices><disk type='file' device='disk' ${own}><source file='/img/a'/><target dev='vda'/></disk></devices></domain>`);
    expect(parseSnapshotXml(xml).disks[0]?.kind).toBe(mode);
  });

  test('plain markup and markup left to htmlparser2 (a comment, a numeric entity) read the same', () => {
    const body = `<state>disk-snapshot</state><parent><name>a &amp; &lt;b&gt; &quot;c&quot; &apos;d&apos;</name></parent>
  <description>  two
lines &amp;amp; </description><creationTime>1700000000</creationTime><memory snapshot='no'/>
  <disks><disk name='vda' snapshot='external' type='file' name='vdz'><driver type='qcow2'/><source file='/img/a &amp; b&apos;s.s1'/></disk>
  <disk name="vdb"/></disks>
  <domain type='qemu'><name>vm</name><devices><disk type='file' device='disk' snapshot='no'><source file='/img/b'/><target dev='vdb'/></disk></devices></domain>`;
    const plain = parseSnapshotXml(snapshot(body));
    expect(plain.parent).toBe(`a & <b> "c" 'd'`);
    expect(plain.description).toBe('  two\nlines &amp; ');
    expect(plain.disks.map((d) => [d.target, d.kind, d.overlay])).toEqual([['vda', 'external', "/img/a & b's.s1"], ['vdb', 'no', null]]);
    expect(parseSnapshotXml(snapshot(`<!-- a comment -->${body}`))).toEqual(plain);
    expect(parseSnapshotXml(snapshot(body.replace('&amp; &lt;b', '&#38; &lt;b')))).toEqual(plain);
  });

  test('checkWellFormed takes comments, CDATA and a ">" inside a quoted value', () => {
    expect(() => checkWellFormed(`<?xml version='1.0'?><!-- c < --><a x='1>2'><![CDATA[<b>]]><b/></a>`)).not.toThrow();
  });
});

describe('parseDomainDisks', () => {
  test('a disk without <driver type> is raw; a slice is not managed; <backingStore> is read', () => {
    const [plain, sliced] = parseDomainDisks(`<domain><devices>
      <disk type='file' device='disk'><source file='/img/a'/><target dev='vda'/>
        <backingStore type='file'><format type='qcow2'/><source file='/img/base'/><backingStore/></backingStore></disk>
      <disk type='file' device='disk'><driver type='qcow2'/><source file='/img/b'><slices><slice type='storage' offset='0' size='1'/></slices></source><target dev='vdb'/></disk>
    </devices></domain>`);
    expect(plain).toMatchObject({ format: 'raw', managed: true, backingStore: ['/img/base'] });
    expect(sliced).toMatchObject({ managed: false, reason: expect.stringMatching(/slice of a file/), backingStore: null });
  });
});

describe('listing snapshots by name', () => {
  test('keeps every line verbatim and drops only the empty lines that end the output', () => {
    expect(listedNames(' lead space\nlead space\ntrail \n\n')).toEqual([' lead space', 'lead space', 'trail ']);
    expect(currentName(' lead\n')).toBe(' lead');
  });

  test('finds a name holding a line break again, and reports a line that names nothing', async () => {
    const xml: Record<string, string> = { 'new\nline': snapshot('', 'new\nline'), a: snapshot('', 'a') };
    const virsh: Virsh = {
      uri: 'test:///',
      run: (args) => {
        // The snapshot's name comes last, by position or after --snapshotname.
        const found = xml[args[args.length - 1] as string];
        return found !== undefined ? Promise.resolve(found) : Promise.reject(new AppError('E_TOOL', 'virsh failed', { stderr: 'error: Domain snapshot not found' }));
      },
      close: () => Promise.resolve(),
    };
    const problems: Problem[] = [];
    const snaps = await readSnapshots(virshReader(virsh), 'vm', ['a', 'new', 'line', 'orphan'], problems);
    expect(snaps.map((s) => s.name).sort()).toEqual(['a', 'new\nline']);
    expect(problems.map((p) => p.message)).toEqual([expect.stringMatching(/"orphan" that names no snapshot/)]);
  });
});

describe('the dump command', () => {
  test('names go by position unless one could be read as an option', () => {
    expect(dumpCommand('vm', 'snap 1')).toEqual(['snapshot-dumpxml', 'vm', 'snap 1']);
    expect(dumpCommand('-vm', 'a')).toEqual(['snapshot-dumpxml', '--domain', '-vm', '--snapshotname', 'a']);
    expect(dumpCommand('vm', '--x')).toEqual(['snapshot-dumpxml', '--domain', 'vm', '--snapshotname', '--x']);
  });
});
