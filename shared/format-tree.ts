/** The indented tree that `virt-snaptree tree` prints for people. */
import type { Domain, Layer, ScanResult } from './model';
import { formatBytes, snapshotGraph, type GraphNode } from './snapshot-graph';

function describe(node: GraphNode): string {
  if (node.kind === 'snapshot') {
    const snap = node.snapshot;
    const when = snap?.created ? snap.created.replace('T', ' ').slice(0, 16) : '';
    const flags = [when, snap?.state ?? '', snap?.current ? 'libvirt current' : ''].filter(Boolean).join(', ');
    return `${node.name}  (${flags})  saved state ${formatBytes(node.size)}`;
  }
  const origin = { domain: 'branch', metadata: 'branch', loose: 'loose tip', folder: 'tip' }[node.branch?.origin ?? 'metadata'];
  const here = node.current ? '  ◀ You are here' : '';
  return `⎇ ${node.name}  [${origin}, ${formatBytes(node.size)}]${here}`;
}

/** Words for what a layer holds that the graph does not draw: encryption and internal snapshots. */
export function layerNotes(layer: Layer): string[] {
  const notes: string[] = [];
  if ((layer.encrypted ?? null) !== null) notes.push(`encrypted (${layer.encrypted === 'luks' ? 'LUKS' : 'legacy AES'})`);
  const held = layer.internalSnapshots ?? 0;
  if (held > 0) notes.push(`holds ${held} internal snapshot${held === 1 ? '' : 's'}`);
  return notes;
}

function formatDomain(domain: Domain): string[] {
  const out = [`${domain.name}  (${domain.state})`];
  for (const disk of domain.disks) {
    out.push(disk.managed ? `  disk ${disk.target}: ${disk.file} (${disk.format ?? '?'}, chain of ${disk.chain.length})` : `  disk ${disk.target}: not managed: ${disk.reason ?? ''}`);
  }
  for (const layer of Object.values(domain.layers).sort((x, y) => (x.path < y.path ? -1 : 1))) {
    const notes = layerNotes(layer);
    if (notes.length > 0) out.push(`  file ${layer.path}: ${notes.join(', ')}`);
  }
  const nodes = snapshotGraph(domain);
  const children = new Map<string | null, GraphNode[]>();
  for (const node of nodes) children.set(node.parentId, [...(children.get(node.parentId) ?? []), node]);
  // Depth first without recursion (a chain of thousands of snapshots is a normal domain), each node once: a node
  // that no walk from the roots reaches (a loop of parents in a model that was not cut) is printed as a root.
  const printed = new Set<GraphNode>();
  const print = (roots: GraphNode[]): void => {
    const stack = roots.map((node, i) => ({ node, prefix: '  ', last: i === roots.length - 1 })).reverse();
    for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
      const { node, prefix, last } = entry;
      if (printed.has(node)) continue;
      printed.add(node);
      out.push(`${prefix}${last ? '└─ ' : '├─ '}${describe(node)}`);
      const kids = (children.get(node.id) ?? []).filter((kid) => !printed.has(kid));
      const inner = `${prefix}${last ? '   ' : '│  '}`;
      for (let i = kids.length - 1; i >= 0; i--) stack.push({ node: kids[i] as GraphNode, prefix: inner, last: i === kids.length - 1 });
    }
  };
  print(children.get(null) ?? []);
  const unreached = nodes.filter((node) => !printed.has(node));
  while (unreached.length > 0) {
    print([unreached[0] as GraphNode]);
    unreached.splice(0, unreached.length, ...unreached.filter((node) => !printed.has(node)));
  }
  for (const problem of domain.problems) out.push(`  ${problem.severity === 'info' ? 'i' : '!'} ${problem.message}`);
  return out;
}

/** The text `virt-snaptree tree` prints: each domain, its disks, its snapshot tree and its problems. */
export function formatTree(result: ScanResult): string {
  const source = result.source.kind === 'libvirt' ? result.source.uri : result.source.path;
  const lines = [`${source}${result.hypervisor ? `  (${result.hypervisor})` : ''}`];
  if (result.domains.length === 0) lines.push('  (no domains)');
  for (const domain of result.domains) lines.push('', ...formatDomain(domain));
  for (const problem of result.problems) lines.push(`! ${problem.message}`);
  return `${lines.join('\n')}\n`;
}
