/**
 * Owner and permissions of image files as a user reads them (`libvirt-qemu:kvm 0600`). Names come from the
 * account databases of the host that holds the files, read once per host; an id with no name stays a number.
 */
import type { FileOwner } from '../../shared/model';
import { NOT_FETCHED, type FileStat, type FileView } from './file-view';

type Names = { users: Map<number, string>; groups: Map<number, string> };
const namesOf = new WeakMap<FileView, Names>();

function table(files: FileView, path: string): Map<number, string> {
  const map = new Map<number, string>();
  let text = '';
  try {
    text = files.readText(path);
  } catch (error) {
    // Not fetched yet from a remote host: asked again on the next pass, never kept as "no names".
    if ((error as NodeJS.ErrnoException).code === NOT_FETCHED) throw error;
    return map;
  }
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    const n = Number(id);
    if (name && Number.isInteger(n) && !map.has(n)) map.set(n, name);
  }
  return map;
}

export function ownerOf(stats: FileStat, files: FileView): FileOwner {
  let names = namesOf.get(files);
  if (names === undefined) {
    names = { users: table(files, '/etc/passwd'), groups: table(files, '/etc/group') };
    namesOf.set(files, names);
  }
  return {
    uid: stats.uid,
    gid: stats.gid,
    user: names.users.get(stats.uid) ?? null,
    group: names.groups.get(stats.gid) ?? null,
    mode: stats.mode & 0o7777,
    modified: new Date(stats.mtimeMs).toISOString(),
  };
}
