/** The indented tree that `virt-snaptree tree` prints for people. */
import type { Domain, ScanResult } from './model';
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

function formatDomain(domain: Domain): string[] {
  const out = [`${domain.name}  (${domain.state})`];
  for (const disk of domain.disks) {
    out.push(disk.managed ? `  disk ${disk.target}: ${disk.file} (${disk.format ?? '?'}, chain of ${disk.chain.length})` : `  disk ${disk.target}: not managed: ${disk.reason ?? ''}`);
  }
  const nodes = snapshotGraph(domain);
  const children = new Map<string | null, GraphNode[]>();
  for (const node of nodes) children.set(node.parentId, [...(children.get(node.parentId) ?? []), node]);
  const walk = (parent: string | null, prefix: string): void => {
    const list = children.get(parent) ?? [];
    list.forEach((node, i) => {
      const last = i === list.length - 1;
      out.push(`${prefix}${last ? '└─ ' : '├─ '}${describe(node)}`);
      walk(node.id, `${prefix}${last ? '   ' : '│  '}`);
    });
  };
  walk(null, '  ');
  for (const problem of domain.problems) out.push(`  ${problem.severity === 'info' ? 'i' : '!'} ${problem.message}`);
  return out;
}

export function formatTree(result: ScanResult): string {
  const source = result.source.kind === 'libvirt' ? result.source.uri : result.source.path;
  const lines = [`${source}${result.hypervisor ? `  (${result.hypervisor})` : ''}`];
  if (result.domains.length === 0) lines.push('  (no domains)');
  for (const domain of result.domains) lines.push('', ...formatDomain(domain));
  for (const problem of result.problems) lines.push(`! ${problem.message}`);
  return `${lines.join('\n')}\n`;
}
