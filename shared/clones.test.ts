import { describe, expect, test } from 'vitest';
import { assembleDomain } from './assemble';
import { cloneUsers } from './clones';
import { fileGraph } from './file-graph';
import { layer } from './test-seed';
import { linkedClone, scanOf, web01 } from './ops/planners/clone-seed';

describe('cloneUsers', () => {
  test('a linked clone of a snapshot is a user of that snapshot only; a domain alone has none', () => {
    const web = assembleDomain(web01());
    expect(cloneUsers(scanOf(web), web).size).toBe(0);
    const scan = scanOf(web, linkedClone(web, 'web01-clone'), linkedClone(web, 'another'));
    expect([...cloneUsers(scan, web)]).toEqual([['s:snap1', ['another', 'web01-clone']]]);
    // Seen from a clone, nothing of it is built on by others.
    expect(cloneUsers(scan, scan.domains[1]!).size).toBe(0);
    // A domain on the same base that no clone record ties to web01 is not a clone of it.
    const { cloneOf: _record, ...stranger } = linkedClone(web, 'stranger');
    expect(cloneUsers(scanOf(web, stranger), web).size).toBe(0);
  });

  test('a clone of a branch builds on its frozen tips: the branch shows it', () => {
    const facts = web01();
    for (const target of ['vda', 'vdb']) {
      const tip = `/img/web01.main.${target}.qcow2`;
      facts.layers[tip] = layer(tip, `/img/web01.snap1.${target}.qcow2`);
      facts.disks.find((d) => d.target === target)!.file = tip;
    }
    const web = assembleDomain(facts);
    const scan = scanOf(web, linkedClone(web, 'web01-clone', (t) => `/img/web01.snap1.${t}.qcow2`));
    expect([...cloneUsers(scan, web)]).toEqual([['b:main', ['web01-clone']]]);
  });
});

describe('cloneUsers of a file no node holds', () => {
  test('a frozen file whose branch was deleted: the snapshot it grows from shows the clone', () => {
    const facts = web01();
    const frozen = (t: string) => `/img/web01.old.${t}.qcow2`;
    for (const target of ['vda', 'vdb']) facts.layers[frozen(target)] = layer(frozen(target), `/img/web01-${target}.qcow2`);
    facts.usedElsewhere = [frozen('vda'), frozen('vdb')];
    const web = assembleDomain(facts);
    expect(web.branches.map((b) => b.name)).toEqual(['main']);
    const scan = scanOf(web, linkedClone(web, 'web01-clone', frozen));
    expect([...cloneUsers(scan, web)]).toEqual([['s:snap1', ['web01-clone']]]);
  });
});

describe('the file view links the files other domains build on', () => {
  test('the saved state lists the clone\u2019s file; the clone\u2019s view lists the source\u2019s', () => {
    const web = assembleDomain(web01());
    const clone = linkedClone(web, 'web01-clone');
    const scan = scanOf(web, clone);
    const node = (graph: ReturnType<typeof fileGraph>, id: string) => graph.nodes.find((n) => n.id === id)!;
    const source = fileGraph(scan, web);
    expect(node(source, '/img/web01-vda.qcow2').otherDomains).toEqual([{ domain: 'web01-clone', file: '/img/web01-clone.vda.qcow2', clone: true }]);
    expect(node(source, '/img/web01.snap1.vda.qcow2').otherDomains).toEqual([]);
    expect(node(source, '/img/web01-vda.qcow2').frozenBy.map((d) => d.kind)).toContain('clone');
    const own = fileGraph(scan, clone);
    expect(node(own, '/img/web01-vda.qcow2').otherDomains).toEqual([{ domain: 'web01', file: '/img/web01.snap1.vda.qcow2', clone: false }]);
  });
});
