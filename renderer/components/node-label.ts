import type { Domain } from '../../shared/model';
import { fileName } from './format';

/** How a node id reads to the user: a snapshot or branch by name, a file by its file name. */
export function nodeLabel(domain: Domain, id: string): string {
  if (id.startsWith('f:')) return fileName(id.slice(2));
  const name = id.slice(2);
  if (id.startsWith('b:') && domain.branches.some((b) => b.name === name)) return `branch ${name}`;
  return name;
}
