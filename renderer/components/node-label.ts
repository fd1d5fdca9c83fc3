import type { Domain } from '../../shared/model';
import { fileName } from './format';

/**
 * How a node id reads to the user: a snapshot or branch by name, a file by its file name. In an image folder a
 * branch is a top image, so it is named as an image.
 */
export function nodeLabel(domain: Domain, id: string): string {
  if (id.startsWith('f:')) return fileName(id.slice(2));
  const name = id.slice(2);
  if (id.startsWith('b:') && domain.branches.some((b) => b.name === name)) return domain.state === 'folder' ? `image ${name}` : `branch ${name}`;
  return name;
}
