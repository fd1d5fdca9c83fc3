import ELK from 'elkjs/lib/elk.bundled.js';
import { describe, expect, test } from 'vitest';
import { fileGraph } from '../../shared/file-graph';
import { layer, seed } from '../../shared/test-seed';
import { FILE_HEIGHT, FILE_WIDTH, fromElk, layoutFiles, toElk } from './file-layout';

describe('file layout (ELK, run in process here)', () => {
  test('groups come before their files, files never overlap, and every file sits right of its backing file', async () => {
    const scan = seed({ fork: true });
    const domain = scan.domains[0]!;
    // A second disk with its own chain, so there are two groups.
    domain.layers['/i/data.qcow2'] = layer('/i/data.qcow2', null);
    domain.layers['/i/data.top'] = layer('/i/data.top', '/i/data.qcow2');
    domain.disks.push({ target: 'vdb', device: 'disk', file: '/i/data.top', format: 'qcow2', managed: true, chain: ['/i/data.top', '/i/data.qcow2'] });
    const graph = fileGraph(scan, domain);
    const laid = await new ELK().layout(toElk(graph));
    const flow = fromElk(graph, laid, { '/i/vm.snap1': ['1 leaked cluster(s)'] });

    expect(flow.nodes.filter((n) => n.type === 'disk').map((n) => n.id)).toEqual(['group:vda', 'group:vdb']);
    const files = flow.nodes.filter((n) => n.type === 'file');
    expect(files).toHaveLength(Object.keys(domain.layers).length);
    for (const file of files) expect(flow.nodes.findIndex((n) => n.id === file.parentId)).toBeLessThan(flow.nodes.indexOf(file));

    const at = new Map(files.map((f) => [f.id, f.position]));
    for (const edge of flow.edges) expect(at.get(edge.source)!.x + FILE_WIDTH).toBeLessThan(at.get(edge.target)!.x);
    for (const a of files) {
      for (const b of files) {
        if (a === b || a.parentId !== b.parentId) continue;
        const apart = Math.abs(a.position.x - b.position.x) >= FILE_WIDTH || Math.abs(a.position.y - b.position.y) >= FILE_HEIGHT;
        expect(apart, `${a.id} and ${b.id} overlap`).toBe(true);
      }
    }
    // Groups are stacked, not overlapping.
    const [first, second] = flow.nodes.filter((n) => n.type === 'disk');
    expect(second!.position.y).toBeGreaterThanOrEqual(first!.position.y + (first!.height ?? 0));
    expect(files.find((f) => f.id === '/i/vm.snap1')?.data).toMatchObject({ findings: ['1 leaked cluster(s)'] });
  });

  test('where no worker can start, the layout runs on the page instead', async () => {
    expect(typeof Worker).toBe('undefined');
    const scan = seed({ fork: true });
    const laid = await layoutFiles(fileGraph(scan, scan.domains[0]!));
    expect(laid.children?.[0]?.children).toHaveLength(5);
  });
});
