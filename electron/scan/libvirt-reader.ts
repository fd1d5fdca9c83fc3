/**
 * What a scan reads from libvirt, behind one interface with two sources: libvirt's client library in process for
 * a local connection (tools/libvirt-native.ts), and virsh for the rest, or where the library cannot be loaded.
 * Both give what virsh would print: the same state words, the same names in the same order, the same XML.
 */
import { sshTargetOf } from '../../shared/source-rules';
import { AppError } from '../../shared/errors';
import { isLiveState } from '../../shared/domain-state';
import { NativeLibvirt, type NativeOptions } from '../tools/libvirt-native';
import { isNotFound, runAll, type Virsh } from '../tools/virsh';
import { currentName, dumpCommand, listedNames } from './list-snapshots';

/** A snapshot's XML by its name; null when the domain has no such snapshot. */
export type Dumps = ReadonlyMap<string, Promise<string | null>>;

/** One domain's state, definitions, snapshot names and current snapshot. */
export interface DomainReadout {
  state: string;
  live: boolean;
  xml: string;
  /** The persistent definition, where branch records live; a running domain's live XML may lag behind it. */
  configXml: string;
  snapshotNames: string[];
  current: string | null;
  /** The listed snapshots' XML, where the reader asked for it with the domain. */
  dumps?: Dumps;
}

export interface LibvirtReader {
  readonly uri: string;
  /** The connection's domains, as `virsh list --all --name` orders them. */
  listDomains(): Promise<string[]>;
  readDomain(name: string): Promise<DomainReadout>;
  /** Asks at once for the XML of every listed snapshot of many domains (virsh runs them in a few processes). */
  dumpAhead(listings: ReadonlyArray<{ domain: string; names: readonly string[] }>): Dumps[];
  dumpSnapshot(domain: string, name: string): Promise<string | null>;
  /** One line such as `libvirt 9.0.0, QEMU 7.2.22`; null when it cannot be read. */
  version(): Promise<string | null>;
}

/**
 * Reads `virsh version --daemon` into one line such as `libvirt 9.0.0, QEMU 7.2.22`: the daemon's libvirt, which
 * is the hypervisor's (a remote host's may be newer than this computer's library), else the library's.
 */
export function parseVersion(stdout: string): string | null {
  const daemon = /Running against daemon: ([\d.]+)/.exec(stdout)?.[1];
  const library = daemon !== undefined ? `libvirt ${daemon}` : /Using library: (\S+ [\d.]+)/.exec(stdout)?.[1];
  const hypervisor = /Running hypervisor: (\S+ [\d.]+)/.exec(stdout)?.[1];
  const parts = [library, hypervisor].filter((p): p is string => p !== undefined);
  return parts.length > 0 ? parts.join(', ') : null;
}

/** A dump's answer with "no such snapshot" as null. */
function orMissing(dump: Promise<string>): Promise<string | null> {
  return dump.catch((error: unknown) => {
    if (isNotFound(error)) return null;
    throw error;
  });
}

/** The reads as virsh commands on `virsh`'s sessions, with the snapshot dumps in batches. */
export function virshReader(virsh: Virsh): LibvirtReader {
  return {
    uri: virsh.uri,
    listDomains: async () => listedNames(await virsh.run(['list', '--all', '--name'])),
    // The four readings are asked at once, so that they travel together: one round trip, not two.
    async readDomain(name) {
      const [state, xml, snapshotNames, current] = await Promise.all([
        virsh.run(['domstate', '--domain', name]).then((stdout) => stdout.trim()),
        virsh.run(['dumpxml', '--domain', name]),
        virsh.run(['snapshot-list', '--domain', name, '--name']).then(listedNames),
        orMissing(virsh.run(['snapshot-current', '--domain', name, '--name'])).then((stdout) => (stdout === null ? null : currentName(stdout))),
      ]);
      const live = isLiveState(state);
      const configXml = live ? await virsh.run(['dumpxml', '--domain', name, '--inactive']) : xml;
      return { state, live, xml, configXml, snapshotNames, current };
    },
    dumpAhead(listings) {
      const wanted = listings.map(({ domain, names }) => ({ domain, names: [...new Set(names)] }));
      const pending = runAll(
        virsh,
        wanted.flatMap(({ domain, names }) => names.map((name) => dumpCommand(domain, name))),
      );
      let at = 0;
      return wanted.map(({ names }) => {
        const dumps = new Map<string, Promise<string | null>>();
        for (const name of names) {
          const dump = orMissing(pending[at++] as Promise<string>);
          // A dump nobody ends up reading never goes unhandled.
          dump.catch(() => undefined);
          dumps.set(name, dump);
        }
        return dumps;
      });
    },
    dumpSnapshot: (domain, name) => orMissing(virsh.run(dumpCommand(domain, name))),
    version: () => virsh.run(['version', '--daemon']).then(parseVersion, () => null),
  };
}

/** The reads through libvirt's library; a domain's snapshots are dumped with it. */
export function nativeReader(native: NativeLibvirt): LibvirtReader {
  return {
    uri: native.uri,
    listDomains: () => native.listDomains(),
    async readDomain(name) {
      const read = await native.readDomain(name);
      return { ...read, live: isLiveState(read.state) };
    },
    dumpAhead: (listings) => listings.map(() => new Map()),
    dumpSnapshot: (domain, name) => native.dumpSnapshot(domain, name),
    version: () => native.version().catch(() => null),
  };
}

/**
 * A URI that libvirt opens on this machine with no remote transport and no credentials to ask for, spelled
 * exactly: `qemu:///system`, `qemu+unix:///session?socket=…`, `test:///default`. Nothing else, so never
 * `qemu:///embed` (in any spelling), which would run a QEMU driver inside this process.
 */
export function isLocalUri(uri: string): boolean {
  return /^[a-z][a-z0-9]*(?:\+unix)?:\/\/\/(?:system|session|default)(?:\?[^#]*)?$/.test(uri);
}

/**
 * How reads are made: through the library for a local URI, and for a `qemu+ssh://` one (the library runs ssh as
 * virsh does, told never to ask on a terminal: see libraryUri); `VIRT_SNAPTREE_READER=virsh` keeps every read on
 * virsh. Over SSH the library takes many calls at once on one connection, where virsh asks one at a time.
 */
export function nativeAllowed(uri: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return (isLocalUri(uri) || sshTargetOf(uri) !== null) && env.VIRT_SNAPTREE_READER !== 'virsh';
}

/**
 * The URI the library opens for `uri`: a `qemu+ssh://` one with `no_tty=1`, so that its ssh runs in batch mode and
 * fails rather than ask for a password or a host key on a terminal nobody reads (libvirt's remote URI syntax).
 */
export function libraryUri(uri: string): string {
  if (sshTargetOf(uri) === null || /[?&]no_tty=/.test(uri)) return uri;
  return `${uri}${uri.includes('?') ? '&' : '?'}no_tty=1`;
}

/**
 * The library's reads of `uri` when it is local and the library opens it, else null. A failure to load or to
 * connect is not an error here: virsh then reads, and says in its own words what is wrong. A daemon that takes
 * the connection and never answers is: virsh would wait on it as long again.
 */
export async function openNative(uri: string, options: NativeOptions = {}): Promise<NativeLibvirt | null> {
  if (!nativeAllowed(uri)) return null;
  return NativeLibvirt.open(uri, { ...options, openAs: libraryUri(uri) }).catch((error: unknown) => {
    if (error instanceof AppError && error.details?.timeoutMs !== undefined) throw error;
    return null;
  });
}

/**
 * The reader of each connection, for an engine's life: the library's connections are kept while they answer;
 * one that failed to open, stopped answering or was closed by the daemon is tried again at the next read, with
 * virsh reading meanwhile.
 */
export class LibvirtReaders {
  private readonly natives = new Map<string, Promise<NativeLibvirt | null>>();

  constructor(private readonly options: NativeOptions = {}) {}

  /**
   * Runs `scan` with the reader of `uri`, and once more with a new connection when the daemon closed the one it
   * had during the scan (a daemon restart is seen only by the first call after it; a new virsh would not see it).
   */
  async scan<T>(uri: string, virsh: Virsh, scan: (reader: LibvirtReader) => Promise<T>): Promise<T> {
    const first = await this.open(uri, virsh);
    try {
      const result = await scan(first.reader);
      if (first.native?.closedByDaemon !== true) return result;
    } catch (error) {
      if (first.native?.closedByDaemon !== true) throw error;
    }
    return scan((await this.open(uri, virsh)).reader);
  }

  /** The reader of `uri`; `virsh` is the connection's virsh adapter, for when the library cannot read it. */
  async reader(uri: string, virsh: Virsh): Promise<LibvirtReader> {
    return (await this.open(uri, virsh)).reader;
  }

  private async open(uri: string, virsh: Virsh): Promise<{ reader: LibvirtReader; native: NativeLibvirt | null }> {
    let pending = this.natives.get(uri);
    if (pending === undefined) {
      pending = openNative(uri, this.options);
      this.natives.set(uri, pending);
    }
    let native: NativeLibvirt | null;
    try {
      native = await pending;
    } catch (error) {
      // A daemon that did not answer is asked again at the next read.
      if (this.natives.get(uri) === pending) this.natives.delete(uri);
      throw error;
    }
    if (native !== null && native.usable) return { reader: nativeReader(native), native };
    if (this.natives.get(uri) === pending) this.natives.delete(uri);
    void native?.close();
    return { reader: virshReader(virsh), native: null };
  }

  async close(): Promise<void> {
    const natives = await Promise.all(this.natives.values());
    this.natives.clear();
    await Promise.all(natives.map((n) => n?.close()));
  }
}
