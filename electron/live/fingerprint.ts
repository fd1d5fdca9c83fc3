/**
 * A cheap fingerprint of each libvirt domain, polled every ~1.5 s as the live picture's safety net: what events
 * miss (libvirt 9.0 announces no snapshot creation or deletion) shows here. Per domain: its state, its snapshot
 * names, the current one and its disk sources; four short commands on the engine's virsh sessions.
 */
import { dirname } from 'node:path';
import { currentName, listedNames } from '../scan/list-snapshots';
import { isNotFound, type Virsh } from '../tools/virsh';

export interface DomainPrint {
  /** Compared as text: any difference means the domain is scanned again. */
  print: string;
  /** Folders holding the domain's disk files, watched for new and removed files. */
  dirs: string[];
}

/**
 * The file sources `domblklist --details` lists (` file  disk  vda  /path`): the fourth column to the end of
 * the line. Best effort: they only choose folders to watch; the fingerprint compares the whole output.
 */
export function diskFiles(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => /^\s*file\s+\S+\s+\S+\s+(\/.*?)\s*$/.exec(line)?.[1])
    .filter((path): path is string => path !== undefined);
}

/** The names of the connection's domains. */
export async function listDomains(virsh: Virsh): Promise<string[]> {
  return listedNames(await virsh.run(['list', '--all', '--name']));
}

/** One domain's fingerprint, or null when it is gone. */
export async function fingerprintDomain(virsh: Virsh, name: string): Promise<DomainPrint | null> {
  try {
    const [state, snapshots, current, disks] = await Promise.all([
      virsh.run(['domstate', '--domain', name]),
      virsh.run(['snapshot-list', '--domain', name, '--name']),
      virsh.run(['snapshot-current', '--domain', name, '--name']).then(currentName, () => null),
      virsh.run(['domblklist', '--domain', name, '--details']),
    ]);
    return {
      print: JSON.stringify([state.trim(), listedNames(snapshots).sort(), current, disks]),
      dirs: [...new Set(diskFiles(disks).map(dirname))],
    };
  } catch (error) {
    if (isNotFound(error)) return null;
    // Unreadable for now (a busy daemon): a print of its own, so it is scanned again once it reads.
    return { print: `unreadable:${error instanceof Error ? error.message : String(error)}`, dirs: [] };
  }
}
