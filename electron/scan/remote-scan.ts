/**
 * Scans a remote connection (`qemu+ssh://`): libvirt is read through virsh on that URI, and every file through
 * the host itself (remote-files.ts), never on this computer. The scan runs as for a local connection; each pass
 * notes what it could not answer from the files fetched so far, those are fetched in a few batched commands,
 * and the scan runs again over the same libvirt readings, until nothing is lacking.
 */
import { AppError } from '../../shared/errors';
import { sshTargetOf } from '../../shared/source-rules';
import type { ScanResult } from '../../shared/model';
import { runChecked, type HostRunner } from '../tools/host-runner';
import { sshRunner } from '../tools/ssh-runner';
import { isLocalUri, type LibvirtReader } from './libvirt-reader';
import { RemoteFiles } from './remote-files';
import { scanLibvirt, type LibvirtScanOptions } from './scan-libvirt';

/** Passes at most: a chain spread over more folders than this is unusual; what is still lacking then is reported. */
const MAX_PASSES = 6;

/** `reader`, each reading asked of libvirt once: the passes of one scan share them. */
function readOnce(reader: LibvirtReader): LibvirtReader {
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    let pending = memo.get(key) as Promise<T> | undefined;
    if (pending === undefined) {
      pending = read();
      memo.set(key, pending);
    }
    return pending;
  };
  return {
    uri: reader.uri,
    listDomains: () => once('list', () => reader.listDomains()),
    readDomain: (name) => once(`domain\0${name}`, () => reader.readDomain(name)),
    dumpAhead: (listings) => {
      const key = `ahead\0${JSON.stringify(listings)}`;
      let dumps = memo.get(key) as unknown as ReturnType<LibvirtReader['dumpAhead']> | undefined;
      if (dumps === undefined) {
        dumps = reader.dumpAhead(listings);
        memo.set(key, dumps as unknown as Promise<unknown>);
      }
      return dumps;
    },
    dumpSnapshot: (domain, name) => once(`dump\0${domain}\0${name}`, () => reader.dumpSnapshot(domain, name)),
    version: () => once('version', () => reader.version()),
  };
}

/** Scans `reader`'s connection, reading its files on the host `runner` reaches (named `host`). */
export async function scanRemote(reader: LibvirtReader, runner: HostRunner, host: string, options: LibvirtScanOptions = {}): Promise<ScanResult> {
  const uid = Number((await runChecked(runner, 'id', ['-u'])).trim());
  if (!Number.isInteger(uid)) throw new AppError('E_CONNECT', `${host} did not say which user the SSH login is.`, { host });
  // What a pass wants is fetched while it goes on; the next pass starts once that is in.
  const files = new RemoteFiles(host, uid, runner);
  const libvirt = readOnce(reader);
  for (let pass = 1; ; pass++) {
    const misses = files.misses;
    const result = await scanLibvirt(libvirt, { ...options, files, runner });
    await files.settled();
    if (files.failure !== null) throw files.failure;
    // A pass that asked nothing the view lacked read every file it needed: its result is the scan's.
    if (files.misses === misses || pass === MAX_PASSES) return result;
    if (files.lacking) await files.fetch(runner);
  }
}

/**
 * Scans a connection with `reader`: a `qemu+ssh://` one with its files read on its host (scanRemote), any other
 * as a connection to this computer.
 */
export async function scanConnection(reader: LibvirtReader, options: LibvirtScanOptions = {}): Promise<ScanResult> {
  const target = sshTargetOf(reader.uri);
  if (target !== null) return scanRemote(reader, sshRunner(target), target.host, options);
  if (isLocalUri(reader.uri)) return scanLibvirt(reader, options);
  // Another host reached without SSH (qemu+tls): its files cannot be read from here, and this computer's files of
  // those names are not its files.
  const result = await scanLibvirt(reader, { ...options, files: new RemoteFiles(new URL(reader.uri).hostname, -1) });
  const message = `The image files of ${reader.uri} are on its host, which this app reads over SSH only: connect to it as qemu+ssh:// to see its files.`;
  return { ...result, problems: [...result.problems, { code: 'not-managed', severity: 'warning', message }] };
}
