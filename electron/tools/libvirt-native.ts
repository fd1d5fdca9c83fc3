/**
 * Reads a local libvirt connection through libvirt's own client library (libvirt.so.0), loaded in process with
 * the koffi FFI. A scan of a big host asks for a thousand snapshot definitions: through virsh each is a command
 * to parse, a lookup and a print, through the library it is one call on the daemon's socket (docs/architecture.md,
 * "Reading libvirt").
 *
 * Only reads: connections are opened with virConnectOpenReadOnly, so nothing here can change a domain, and every
 * write stays with virsh. libvirt keeps its last error per thread and per connection; koffi runs each call on a
 * worker thread of its own choosing, so a connection runs one call at a time and reads the connection's error
 * before it starts the next. A call that does not return in time fails, and its connection is given up: a call
 * into the library cannot be cancelled, so the thread it runs on is left to it.
 */
import type KoffiModule from 'koffi';
import pLimit from 'p-limit';
import { isLiveState } from '../../shared/domain-state';
import { AppError } from '../../shared/errors';
import { DEFAULT_TIMEOUT_MS } from './virsh-command';

/** A pointer as koffi 3 gives it. */
type Pointer = bigint;

/** libvirt's error numbers the reads tell apart (virerror.h). */
export const VIR_ERR_NO_DOMAIN = 42;
export const VIR_ERR_NO_DOMAIN_SNAPSHOT = 72;

/** virDomainGetXMLDesc's flag for the persistent definition (`dumpxml --inactive`). */
const VIR_DOMAIN_XML_INACTIVE = 2;

/** What virsh prints for each virDomainState (virshDomainStateToString), so that both readers say the same. */
const STATE_WORDS = ['no state', 'running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended'];

interface VirError {
  code: number;
  message: string | null;
}

type Done<T> = (error: unknown, result: T) => void;
interface AsyncFn<A extends unknown[], R> {
  (...args: A): R;
  async(...args: [...A, Done<R>]): void;
}

/** The functions of libvirt.so.0 the reads use; every one that talks to the daemon is called with `.async`. */
interface Library {
  koffi: typeof KoffiModule;
  openReadOnly: AsyncFn<[string], Pointer | null>;
  close: AsyncFn<[Pointer], number>;
  listAllDomains: AsyncFn<[Pointer, Array<Pointer | null>, number], number>;
  lookupDomain: AsyncFn<[Pointer, string], Pointer | null>;
  domainName: (dom: Pointer) => string | null;
  domainId: (dom: Pointer) => number;
  domainState: AsyncFn<[Pointer, number[], number[], number], number>;
  domainXml: AsyncFn<[Pointer, number], string | null>;
  freeDomain: (dom: Pointer) => number;
  listAllSnapshots: AsyncFn<[Pointer, Array<Pointer | null>, number], number>;
  lookupSnapshot: AsyncFn<[Pointer, string, number], Pointer | null>;
  currentSnapshot: AsyncFn<[Pointer, number], Pointer | null>;
  snapshotName: (snap: Pointer) => string | null;
  snapshotXml: AsyncFn<[Pointer, number], string | null>;
  freeSnapshot: (snap: Pointer) => number;
  libraryVersion: (libVer: number[], type: null, typeVer: null) => number;
  hypervisorVersion: AsyncFn<[Pointer, number[]], number>;
  daemonVersion: AsyncFn<[Pointer, number[]], number>;
  hypervisorType: AsyncFn<[Pointer], string | null>;
  lastError: (conn: Pointer) => VirError | null;
  isAlive: (conn: Pointer) => number;
}

/** koffi's upper bound for `resident_async_pools`. */
const MAX_RESIDENT_POOLS = 32;

let loaded: Promise<Library> | null = null;
let libc: ReturnType<typeof KoffiModule.load> | null = null;

/**
 * Calls into the library that missed their deadline and have not returned. Each holds a thread of Node's pool
 * for as long as it runs: no new connection is opened while one does (reads go to virsh), and the process leaves
 * without waiting for them (exitProcess).
 */
let hungCalls = 0;

/** How many calls into the library are still running past their deadline. */
export function hungLibvirtCalls(): number {
  return hungCalls;
}

/**
 * Ends the process with `code`. Node waits for the threads of its pool when it exits, and a call hung in libvirt
 * never gives its thread back: with one running, the process ends through the C library's _exit, which waits for
 * nothing. What was written to standard output and error is out already (on Linux, writes to files, pipes and
 * terminals are synchronous).
 */
export function exitProcess(code: number): never {
  if (hungCalls > 0 && libc !== null) (libc.func('void _exit(int status)') as (status: number) => void)(code);
  return process.exit(code);
}

/**
 * Loads koffi and libvirt.so.0 once per process. The library is told to report errors to a function that keeps
 * them to itself: by default libvirt prints every error to stderr, where the CLI's own output goes.
 *
 * That function is libvirt's own virResetError, not a JS callback: libvirt calls the handler on the failing
 * call's thread, and koffi would have to bring a JS callback to the main thread, which waits for that thread when
 * the process exits. libvirt calls it as handler(userData, error), so with a NULL userData it is
 * virResetError(NULL), which does nothing (the error itself stays on the connection, for virConnGetLastError);
 * the extra argument is ignored, as C calling conventions on every platform libvirt runs on allow.
 */
export function loadLibvirt(): Promise<Library> {
  loaded ??= import('koffi').then((module) => bind(module.default));
  return loaded;
}

function bind(koffi: typeof KoffiModule): Library {
  // koffi keeps memory for this many calls running at once and allocates it per call beyond: every call beside
  // the queues, and a queued call per connection, run on kept memory. Settable only before a library is loaded.
  koffi.config({ ...koffi.config(), resident_async_pools: Math.min(MAX_RESIDENT_POOLS, besideCalls() + RESERVED_THREADS) });
  const lib = koffi.load('libvirt.so.0');
  const fn = <A extends unknown[], R>(declaration: string) => lib.func(declaration) as unknown as AsyncFn<A, R>;
  koffi.opaque('virConnect');
  koffi.opaque('virDomain');
  koffi.opaque('virDomainSnapshot');
  // The leading fields of struct _virError (virterror.h); the rest is never read.
  const virError = koffi.struct('virError', { code: 'int', domain: 'int', message: 'const char *' });
  const setErrorFunc = lib.func('void virSetErrorFunc(void *userData, void *handler)') as (userData: null, handler: Pointer) => void;
  if ((lib.func('int virInitialize(void)') as () => number)() < 0) throw new Error('virInitialize failed');
  setErrorFunc(null, lib.symbol('virResetError') as Pointer);
  libc = koffi.load('libc.so.6');
  const getLastError = lib.func('virError *virConnGetLastError(virConnect *conn)') as (conn: Pointer) => Pointer | null;
  return {
    koffi,
    openReadOnly: fn('virConnect *virConnectOpenReadOnly(const char *name)'),
    close: fn('int virConnectClose(virConnect *conn)'),
    listAllDomains: fn('int virConnectListAllDomains(virConnect *conn, _Out_ void **domains, unsigned int flags)'),
    lookupDomain: fn('virDomain *virDomainLookupByName(virConnect *conn, const char *name)'),
    domainName: lib.func('const char *virDomainGetName(virDomain *dom)') as (dom: Pointer) => string | null,
    domainId: lib.func('unsigned int virDomainGetID(virDomain *dom)') as (dom: Pointer) => number,
    domainState: fn('int virDomainGetState(virDomain *dom, _Out_ int *state, _Out_ int *reason, unsigned int flags)'),
    domainXml: fn('char *! virDomainGetXMLDesc(virDomain *dom, unsigned int flags)'),
    freeDomain: lib.func('int virDomainFree(virDomain *dom)') as (dom: Pointer) => number,
    listAllSnapshots: fn('int virDomainListAllSnapshots(virDomain *dom, _Out_ void **snaps, unsigned int flags)'),
    lookupSnapshot: fn('virDomainSnapshot *virDomainSnapshotLookupByName(virDomain *dom, const char *name, unsigned int flags)'),
    currentSnapshot: fn('virDomainSnapshot *virDomainSnapshotCurrent(virDomain *dom, unsigned int flags)'),
    snapshotName: lib.func('const char *virDomainSnapshotGetName(virDomainSnapshot *snap)') as (snap: Pointer) => string | null,
    snapshotXml: fn('char *! virDomainSnapshotGetXMLDesc(virDomainSnapshot *snap, unsigned int flags)'),
    freeSnapshot: lib.func('int virDomainSnapshotFree(virDomainSnapshot *snap)') as (snap: Pointer) => number,
    libraryVersion: lib.func('int virGetVersion(_Out_ unsigned long *libVer, const char *type, unsigned long *typeVer)') as Library['libraryVersion'],
    hypervisorVersion: fn('int virConnectGetVersion(virConnect *conn, _Out_ unsigned long *hvVer)'),
    daemonVersion: fn('int virConnectGetLibVersion(virConnect *conn, _Out_ unsigned long *libVer)'),
    hypervisorType: fn('const char *virConnectGetType(virConnect *conn)'),
    isAlive: lib.func('int virConnectIsAlive(virConnect *conn)') as (conn: Pointer) => number,
    lastError: (conn) => {
      const pointer = getLastError(conn);
      return pointer === null ? null : (koffi.decode(pointer, virError) as VirError);
    },
  };
}

/** The error of a failed call, with libvirt's error number for telling "no such object" from a broken connection. */
export function libvirtError(what: string, error: VirError | null): AppError {
  const said = error?.message ?? 'libvirt gave no reason';
  return new AppError('E_TOOL', `libvirt failed to ${what}: ${said}`, { tool: 'libvirt', code: error?.code ?? null, stderr: `error: ${said}` });
}

/** Whether a failure from this module says the domain or snapshot does not exist. */
export function isNoSuchObject(error: unknown): boolean {
  const code = error instanceof AppError && error.details?.tool === 'libvirt' ? error.details.code : null;
  return code === VIR_ERR_NO_DOMAIN || code === VIR_ERR_NO_DOMAIN_SNAPSHOT;
}

/** `major.minor.release` from libvirt's packed version number. */
function versionText(packed: number): string {
  return `${Math.floor(packed / 1_000_000)}.${Math.floor(packed / 1000) % 1000}.${packed % 1000}`;
}

/**
 * virsh's order for names (vshStrcasecmp, strcasecmp): bytes compared with ASCII letters folded. Names equal but
 * for case keep the order libvirt gave them, as virsh's sort (glibc's merge sort) keeps it; so does Array.sort.
 */
export function virshNameOrder(a: string, b: string): number {
  const fold = (s: string) => Buffer.from(s.replace(/[A-Z]/g, (c) => c.toLowerCase()));
  return Buffer.compare(fold(a), fold(b));
}

/** A domain as the connection's listing gives it: its name and, when running, its id. */
interface Listed {
  name: string;
  id: number | null;
}

/** virsh's order for `list --all`: running domains by id, then the rest by name (virshDomainSorter). */
function virshDomainOrder(a: Listed, b: Listed): number {
  if (a.id !== null && b.id !== null) return a.id - b.id;
  if (a.id !== null || b.id !== null) return a.id !== null ? -1 : 1;
  return virshNameOrder(a.name, b.name);
}

/** One domain's readings, with its snapshots' definitions asked for in the same turn. */
export interface NativeDomain {
  state: string;
  xml: string;
  /** The persistent definition: only asked for a live domain, whose live XML may lag behind it. */
  configXml: string;
  snapshotNames: string[];
  current: string | null;
  /** Each listed snapshot's XML, null when it went away between listing and dumping. */
  dumps: Map<string, Promise<string | null>>;
}

/**
 * One read-only connection. Calls queue and run one at a time (see the head of this file); each has a deadline.
 * A connection whose call missed it, or that a failure found closed (the daemon restarted), fails every call
 * after, and is not used again.
 */
class NativeConnection {
  private tail: Promise<unknown> = Promise.resolve();
  private broken: AppError | null = null;
  /** Calls still running in the library past their deadline. */
  private hung = 0;
  /** Whether a call ever missed its deadline here. */
  private timedOut = false;
  /** Calls queued or running. */
  pending = 0;

  constructor(
    private readonly lib: Library,
    readonly conn: Pointer,
    private readonly timeoutMs: number,
    /** The queued calls of this connection and of the others opened with it (one NativeLibvirt). */
    private readonly queued: QueuedCalls,
  ) {}

  /** Runs `fn` on this connection after the calls before it; `failed` says from its result whether it failed. */
  call<A extends unknown[], R>(what: string, fn: AsyncFn<A, R>, args: A, failed: (result: R) => boolean): Promise<R> {
    this.pending++;
    this.queued.enter();
    const run = this.tail.then(() => this.start(what, fn, args, failed, true));
    this.tail = run.catch(() => undefined);
    return run.finally(() => {
      this.pending--;
      this.queued.leave();
    });
  }

  /**
   * Runs `fn` beside the calls queued here (libvirt takes calls on one connection from many threads): once no
   * connection of this URI has a queued call waiting or running, at most besideCalls() at once in the process. A scan's
   * domain readings are queued calls and its snapshot dumps run beside, so every domain is read before the dumps
   * fill the thread pool, and the dumps then run on the pool's threads while the scan reads image headers.
   * A failure cannot say why, since the connection's last error may be another call's: it rejects with
   * BESIDE_FAILED, and the caller asks again in the queue (`call`) to learn it.
   */
  async callBeside<A extends unknown[], R>(what: string, fn: AsyncFn<A, R>, args: A, failed: (result: R) => boolean): Promise<R> {
    this.pending++;
    try {
      await this.queued.idle();
      return await beside(() => this.start(what, fn, args, failed, false));
    } finally {
      this.pending--;
    }
  }

  private start<A extends unknown[], R>(what: string, fn: AsyncFn<A, R>, args: A, failed: (result: R) => boolean, readError: boolean): Promise<R> {
    if (this.broken !== null) return Promise.reject(this.broken);
    return new Promise<R>((resolve, reject) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        this.hung++;
        this.timedOut = true;
        hungCalls++;
        this.broken = new AppError('E_TOOL', `libvirt stopped answering: a call to ${what} had no answer within ${this.timeoutMs / 1000} s.`, {
          tool: 'libvirt',
          code: null,
          stderr: '',
          timeoutMs: this.timeoutMs,
        });
        reject(this.broken);
      }, this.timeoutMs);
      fn.async(...args, (error: unknown, result: R) => {
        clearTimeout(timer);
        if (late) {
          // The call came back after all: its thread is free again; the connection stays given up.
          hungCalls--;
          this.hung--;
          return;
        }
        if (error !== null && error !== undefined) reject(error instanceof Error ? error : new Error(String(error)));
        else if (!failed(result)) resolve(result);
        else if (!readError) {
          if (this.lib.isAlive(this.conn) !== 1) this.broken = libvirtError(what, null);
          reject(BESIDE_FAILED);
        } else {
          const said = libvirtError(what, this.lib.lastError(this.conn));
          // virConnectIsAlive asks the client's socket, not the daemon.
          if (this.lib.isAlive(this.conn) !== 1) this.broken = said;
          reject(said);
        }
      });
    });
  }

  get usable(): boolean {
    return this.broken === null;
  }

  /** Whether a call is still running in the library past its deadline: what it was given must stay allocated. */
  get hangs(): boolean {
    return this.hung > 0;
  }

  /** Whether the daemon closed the connection (it was restarted), as opposed to not answering. */
  get closedByDaemon(): boolean {
    return this.broken !== null && !this.timedOut;
  }

  /** Closes the connection once its queued calls are over; one with a call still running is left to it. */
  async close(): Promise<void> {
    await this.tail;
    if (this.hung === 0) await promisify(this.lib.close, [this.conn]).catch(() => undefined);
  }
}

/**
 * Threads of Node's pool kept from calls into the library: a daemon that stops answering holds every thread a
 * call runs on, and file reads must still be served then. The CLI and the app size the pool (UV_THREADPOOL_SIZE,
 * read by libuv when the pool starts) to leave these over.
 */
const RESERVED_THREADS = 8;
/**
 * How many calls run beside the connections' queues at once, in the process: Node's pool as libuv sizes it
 * (UV_THREADPOOL_SIZE, 4 when unset) less RESERVED_THREADS. Many at once keep the daemon busy while the scan
 * works on the main thread: each call started goes to the pool, whose threads take the next without it. Read at
 * first use, as libuv reads it: the app sets the variable after its modules load.
 */
function besideCalls(): number {
  const pool = Number.parseInt(process.env.UV_THREADPOOL_SIZE ?? '', 10) || 4;
  return Math.max(MIN_BESIDE_CALLS, pool - RESERVED_THREADS);
}

/** Beside calls in a process whose pool was left at libuv's size, as in tests. */
const MIN_BESIDE_CALLS = 4;

/** The thread pool the CLI and the app start with (bin/virt-snaptree.cjs says the same): 16 beside calls, 8 kept. */
export const THREAD_POOL_SIZE = 24;

/** Sizes Node's thread pool for reads through the library, unless the user did; only before the pool's first use. */
export function sizeThreadPool(): void {
  process.env.UV_THREADPOOL_SIZE ??= String(THREAD_POOL_SIZE);
}
let besideLimit: ReturnType<typeof pLimit> | null = null;
function beside<R>(run: () => Promise<R>): Promise<R> {
  besideLimit ??= pLimit(besideCalls());
  return besideLimit(run);
}

/** The queued calls of the connections of one URI, waiting or running; its beside calls start when there are none. */
class QueuedCalls {
  private count = 0;
  private waiting: { promise: Promise<void>; resolve: () => void } | null = null;

  enter(): void {
    this.count++;
  }

  leave(): void {
    this.count--;
    if (this.count === 0 && this.waiting !== null) {
      this.waiting.resolve();
      this.waiting = null;
    }
  }

  /** Settles once no queued call is waiting or running. */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    if (this.waiting === null) {
      let resolve = (): void => undefined;
      const promise = new Promise<void>((r) => (resolve = r));
      this.waiting = { promise, resolve };
    }
    return this.waiting.promise;
  }
}

/** How a call run beside the queue fails: it is asked again in the queue, which says why. */
const BESIDE_FAILED = new AppError('E_TOOL', 'libvirt failed a call made beside others; it is asked again alone.', { tool: 'libvirt', code: null });

const isNull = (p: Pointer | null | string): boolean => p === null;
const isNegative = (n: number): boolean => n < 0;

export interface NativeOptions {
  /** Connections a host's reads are spread over; a domain's reads all go to one. */
  connections?: number;
  /** How long one call may take; an open gets at most OPEN_TIMEOUT_MS of it. */
  timeoutMs?: number;
  /** The URI handed to the library, when it says more than `uri` (options of the transport; see libraryUri). */
  openAs?: string;
}

/** An open that takes longer has a daemon that does not answer: a healthy one answers within milliseconds. */
export const OPEN_TIMEOUT_MS = 15_000;

/**
 * The reads a scan makes of one local connection, over a few read-only connections to the daemon. Handles the
 * library gives are freed as soon as their answer is in.
 */
export class NativeLibvirt {
  private constructor(
    readonly uri: string,
    private readonly lib: Library,
    private readonly connections: NativeConnection[],
  ) {}

  /** Opens `uri` read-only; rejects when the library cannot be loaded or a connection cannot be opened in time. */
  static async open(uri: string, options: NativeOptions = {}): Promise<NativeLibvirt> {
    const lib = await loadLibvirt();
    if (hungCalls > 0) throw new AppError('E_CONNECT', `An earlier call to libvirt never returned; ${uri} is not opened in process again.`, { uri });
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const openMs = Math.min(timeoutMs, OPEN_TIMEOUT_MS);
    const opened = await Promise.allSettled(Array.from({ length: Math.max(1, options.connections ?? 2) }, () => openOne(lib, options.openAs ?? uri, openMs, uri)));
    const conns = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const failed = opened.find((o) => o.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(conns.map((c) => promisify(lib.close, [c]).catch(() => undefined)));
      throw failed.reason;
    }
    const queued = new QueuedCalls();
    return new NativeLibvirt(
      uri,
      lib,
      // One count of queued calls for the connections of one URI: another host's busy or hung queue never holds
      // back this one's dumps.
      conns.map((c) => new NativeConnection(lib, c, timeoutMs, queued)),
    );
  }

  /** Whether every connection still answers in time; one that missed a deadline is not used again. */
  get usable(): boolean {
    return this.connections.every((c) => c.usable);
  }

  /** Whether the daemon closed one of the connections (a restart): a new one would answer. */
  get closedByDaemon(): boolean {
    return this.connections.some((c) => c.closedByDaemon);
  }

  private idlest(): NativeConnection {
    return this.connections.reduce((a, b) => (b.pending < a.pending ? b : a));
  }

  /** The connection's domains in `virsh list --all --name` order. */
  async listDomains(): Promise<string[]> {
    const on = this.idlest();
    const out: Array<Pointer | null> = [null];
    const count = await on.call('list the domains', this.lib.listAllDomains, [on.conn, out, 0], isNegative);
    // Read after the call: koffi writes the output parameter when it returns.
    const listed = this.takeAll(out[0] ?? null, count, (dom) => ({ name: this.lib.domainName(dom) ?? '', id: this.idOf(dom) }), this.lib.freeDomain);
    return listed.sort(virshDomainOrder).map((d) => d.name);
  }

  private idOf(dom: Pointer): number | null {
    const id = this.lib.domainId(dom);
    return id === 0xffffffff ? null : id;
  }

  /** Reads each of `count` handles in the array at `array`; frees the array, and the handles when given `free`. */
  private takeAll<T>(array: Pointer | null, count: number, read: (handle: Pointer) => T, free?: (handle: Pointer) => number): T[] {
    if (array === null) return [];
    const handles = count > 0 ? (this.lib.koffi.decode(array, 'void *', count) as Pointer[]) : [];
    try {
      return handles.map(read);
    } finally {
      if (free !== undefined) for (const handle of handles) free(handle);
      this.lib.koffi.free(array);
    }
  }

  /**
   * A domain's state, definitions, snapshot names and current snapshot, as virsh would print them, and every
   * snapshot's definition asked for behind them. Rejects when the domain cannot be read; a domain that does not
   * exist rejects with an error isNoSuchObject knows.
   */
  async readDomain(name: string): Promise<NativeDomain> {
    const on = this.idlest();
    const dom = await on.call(`look up domain "${name}"`, this.lib.lookupDomain, [on.conn, name], isNull);
    if (dom === null) throw libvirtError(`look up domain "${name}"`, null);
    try {
      // Asked at once; each is given a handler here, since the first that fails ends the reading of the rest.
      const state = [0];
      const stateRead = handled(on.call(`read the state of "${name}"`, this.lib.domainState, [dom, state, [0], 0], isNegative));
      const xml = handled(on.call(`read the definition of "${name}"`, this.lib.domainXml, [dom, 0], isNull));
      const out: Array<Pointer | null> = [null];
      const listed = handled(on.call(`list the snapshots of "${name}"`, this.lib.listAllSnapshots, [dom, out, 0], isNegative));
      const current = handled(
        on.call(`read the current snapshot of "${name}"`, this.lib.currentSnapshot, [dom, 0], isNull).then(
          (snap) => this.nameOf(snap),
          (error: unknown) => {
            if (error instanceof AppError && error.details?.code === VIR_ERR_NO_DOMAIN_SNAPSHOT) return null;
            throw error;
          },
        ),
      );
      // The state answers first: a live domain's persistent definition is asked for before the snapshots' dumps.
      await stateRead;
      const word = STATE_WORDS[state[0] ?? 0] ?? 'no state';
      const configXml = isLiveState(word)
        ? handled(on.call(`read the persistent definition of "${name}"`, this.lib.domainXml, [dom, VIR_DOMAIN_XML_INACTIVE], isNull))
        : null;
      // Each handle goes to its dump at once, which frees it; a dump nobody ends up reading never goes unhandled.
      const dumps = new Map<string, Promise<string | null>>();
      const count = await listed;
      const snapshotNames = this.takeAll(out[0] ?? null, count, (snap) => {
        const snapName = this.lib.snapshotName(snap) ?? '';
        dumps.set(snapName, handled(this.dumpHandle(on, snap, `read snapshot "${snapName}" of "${name}"`)));
        return snapName;
      });
      const text = (await xml) ?? '';
      return {
        state: word,
        xml: text,
        configXml: configXml === null ? text : ((await configXml) ?? ''),
        snapshotNames: snapshotNames.sort(virshNameOrder),
        current: await current,
        dumps,
      };
    } finally {
      // Queued behind the domain's own calls; its snapshots' handles each hold the domain for their dumps.
      void on.call(`release domain "${name}"`, asAsync(this.lib.freeDomain), [dom], isNegative).catch(() => undefined);
    }
  }

  /** The name of a snapshot handle, freed after. */
  private nameOf(snap: Pointer | null): string | null {
    if (snap === null) return null;
    try {
      return this.lib.snapshotName(snap);
    } finally {
      this.lib.freeSnapshot(snap);
    }
  }

  /**
   * The XML of a snapshot handle, freed once it is in; null when the snapshot went away since it was listed. A
   * handle whose call missed its deadline is never freed: the call may still be using it.
   */
  private async dumpHandle(on: NativeConnection, snap: Pointer, what: string): Promise<string | null> {
    try {
      // Dumps run beside the queue; one that fails is asked again in it, where its error is its own.
      return await on.callBeside(what, this.lib.snapshotXml, [snap, 0], isNull).catch((error: unknown) => {
        if (error !== BESIDE_FAILED) throw error;
        return on.call(what, this.lib.snapshotXml, [snap, 0], isNull);
      });
    } catch (error) {
      if (isNoSuchObject(error)) return null;
      throw error;
    } finally {
      if (!on.hangs) this.lib.freeSnapshot(snap);
    }
  }

  /** One snapshot's XML by name; null when the domain has no snapshot of that name. */
  async dumpSnapshot(domain: string, name: string): Promise<string | null> {
    const on = this.idlest();
    const dom = await on.call(`look up domain "${domain}"`, this.lib.lookupDomain, [on.conn, domain], isNull).catch((error: unknown) => {
      if (isNoSuchObject(error)) return null;
      throw error;
    });
    if (dom === null) return null;
    try {
      const snap = await on.call(`look up snapshot "${name}" of "${domain}"`, this.lib.lookupSnapshot, [dom, name, 0], isNull).catch((error: unknown) => {
        if (isNoSuchObject(error)) return null;
        throw error;
      });
      return snap === null ? null : await this.dumpHandle(on, snap, `read snapshot "${name}" of "${domain}"`);
    } finally {
      // Not while a call that missed its deadline may still use it.
      if (!on.hangs) this.lib.freeDomain(dom);
    }
  }

  /**
   * `libvirt 9.0.0, QEMU 7.2.22`, as parseVersion reads `virsh version --daemon`: the daemon's libvirt (a remote
   * host's may be another than this computer's library), else the library's.
   */
  async version(): Promise<string> {
    const on = this.idlest();
    const lib = [0];
    this.lib.libraryVersion(lib, null, null);
    const daemon = [0];
    await on.call("read the daemon's version", this.lib.daemonVersion, [on.conn, daemon], isNegative).then(
      () => {
        if ((daemon[0] ?? 0) > 0) lib[0] = daemon[0] ?? 0;
      },
      () => undefined,
    );
    const type = await on.call('read the hypervisor type', this.lib.hypervisorType, [on.conn], isNull);
    const hv = [0];
    const known = await on.call('read the hypervisor version', this.lib.hypervisorVersion, [on.conn, hv], isNegative).then(
      () => true,
      () => false,
    );
    const library = `libvirt ${versionText(lib[0] ?? 0)}`;
    return known && type !== null && (hv[0] ?? 0) > 0 ? `${library}, ${type} ${versionText(hv[0] ?? 0)}` : library;
  }

  async close(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.close()));
  }
}

/**
 * One read-only connection to `uri` (named `shown` in errors: the URI as the user gave it). An open that misses its
 * deadline fails (E_CONNECT with `timeoutMs`), and the connection it may still make later is closed when it comes.
 */
function openOne(lib: Library, uri: string, timeoutMs: number, shown = uri): Promise<Pointer> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      hungCalls++;
      reject(new AppError('E_CONNECT', `libvirt had no answer from ${shown} within ${timeoutMs / 1000} s.`, { uri: shown, timeoutMs }));
    }, timeoutMs);
    lib.openReadOnly.async(uri, (error: unknown, conn: Pointer | null) => {
      clearTimeout(timer);
      if (late) {
        hungCalls--;
        if (conn !== null && conn !== undefined) lib.close.async(conn, () => undefined);
      } else if (conn === null || conn === undefined || (error !== null && error !== undefined)) {
        reject(new AppError('E_CONNECT', `libvirt cannot open ${shown} read-only.`, { uri: shown }));
      } else {
        resolve(conn);
      }
    });
  });
}

/** `promise`, with a handler that keeps its failure from going unhandled while nobody awaits it (yet). */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** A koffi function called the callback way, as a promise. */
function promisify<A extends unknown[], R>(fn: AsyncFn<A, R>, args: A): Promise<R> {
  return new Promise((resolve, reject) => fn.async(...args, (error: unknown, result: R) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(result))));
}

/** A synchronous function in the shape of an async one, run in order on a connection's queue. */
function asAsync<A extends unknown[], R>(fn: (...args: A) => R): AsyncFn<A, R> {
  const wrapped = ((...args: A) => fn(...args)) as AsyncFn<A, R>;
  wrapped.async = (...all: [...A, Done<R>]) => {
    const done = all.pop() as Done<R>;
    try {
      done(null, fn(...(all as unknown as A)));
    } catch (error) {
      done(error, undefined as R);
    }
  };
  return wrapped;
}
