/**
 * Owner and permissions of image files as a user reads them (`libvirt-qemu:kvm 0600`). Names come from the
 * local account databases, read once; an id with no name stays a number.
 */
import { readFileSync, type Stats } from 'node:fs';
import type { FileOwner } from '../../shared/model';

let names: { users: Map<number, string>; groups: Map<number, string> } | null = null;

function table(path: string): Map<number, string> {
  const map = new Map<number, string>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return map;
  }
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    const n = Number(id);
    if (name && Number.isInteger(n) && !map.has(n)) map.set(n, name);
  }
  return map;
}

export function ownerOf(stats: Stats): FileOwner {
  names ??= { users: table('/etc/passwd'), groups: table('/etc/group') };
  return {
    uid: stats.uid,
    gid: stats.gid,
    user: names.users.get(stats.uid) ?? null,
    group: names.groups.get(stats.gid) ?? null,
    mode: stats.mode & 0o7777,
    modified: stats.mtime.toISOString(),
  };
}
