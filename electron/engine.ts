/**
 * The engine behind every interface: the desktop app, `serve` and the CLI call it; none re-implements it.
 * It owns one virsh adapter per connection and answers the API contract.
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from '../shared/errors';
import type { Intent, Plan, PlanResult, Refusal } from '../shared/ops/plan';
import { planOperation } from '../shared/ops/planners';
import type { ExecuteResult, ProgressEvent, RecoveryReport, TrashEntry } from '../shared/ops/results';
import type { Comparison, HealthReport } from '../shared/inspect';
import { acknowledgeWarning, checkDomain } from './inspect/check';
import { compareNodes } from './inspect/compare';
import { createDemoLab, type DemoLab } from './lab/demo-lab';
import { history, journalRetentionDays, pruneJournals, readJournals } from './ops/journal';
import { readSettings, writeSettings } from './settings';
import { emptyTrash, listTrash, restoreTrash } from './ops/trash';
import { executePlan, recoverAll } from './ops/executor';
import { checkFreeSpace, checkWritable } from './ops/free-space';
import { checkPlanTrust } from './ops/plan-trust';
import { sourceEntry, sourceIdOf, type ApiInput, type ApiMethod, type ApiOutput, type AppInfo, type EngineEvent, type SourceEntry } from '../shared/contract';
import type { Domain, Problem, ScanResult, Source } from '../shared/model';
import { connectionUriProblem, sshTargetOf } from '../shared/source-rules';
import { canonical } from './scan/layers';
import { scanFolder } from './scan/scan-folder';
import { isLocalUri, LibvirtReaders } from './scan/libvirt-reader';
import { sshRunner } from './tools/ssh-runner';
import { localHostFiles, remoteHostFiles, type HostFiles } from './ops/host-files';
import type { LibvirtScanOptions } from './scan/scan-libvirt';
import { scanConnection } from './scan/remote-scan';
import { openVirsh, type Virsh } from './tools/virsh';
import { EventHub, type EngineListener } from './live/event-hub';
import type { ConnectionWatchOptions } from './live/connection-watch';
import { LiveWatcher } from './live/live-watcher';
import { VERSION } from './version';
import { keepThumbnails, readThumbnail, readThumbnails } from './ops/thumbnails';

export { VERSION };

const DEMO_URI = 'qemu:///system';
/** Plans kept for `apply` by id: enough for every preview a user may have open, not a leak over a long session. */
const ISSUED_PLANS = 200;

/** The trash entries an act names: one operation's, given paths (trashed or original), or all when neither. */
function selectTrash(entries: TrashEntry[], which: { operationId?: string; paths?: string[] }): TrashEntry[] {
  const chosen = entries.filter(
    (e) =>
      (which.operationId === undefined || e.operationId === which.operationId) &&
      (which.paths === undefined || which.paths.includes(e.trashed) || which.paths.includes(e.original)),
  );
  if ((which.operationId !== undefined || which.paths !== undefined) && chosen.length === 0) {
    throw new AppError('E_NOT_FOUND', 'Nothing in the trash matches.');
  }
  return chosen;
}

/**
 * A source as the engine keeps it: a connection it may open, or an existing folder by its real path. Throws
 * E_BAD_INPUT or E_NOT_FOUND with the reason otherwise.
 */
export async function checkedSource(source: Source): Promise<Source> {
  if (source.kind === 'libvirt') {
    const problem = connectionUriProblem(source.uri);
    if (problem !== null) throw new AppError('E_BAD_INPUT', problem, { uri: source.uri });
    return source;
  }
  const real = canonical(source.path);
  const info = real === null ? null : await stat(real).catch(() => null);
  if (real === null || info === null) throw new AppError('E_NOT_FOUND', `There is no folder ${source.path}.`, { path: source.path });
  if (!info.isDirectory()) throw new AppError('E_BAD_INPUT', `${source.path} is not a folder.`, { path: source.path });
  return { kind: 'folder', path: real };
}

export interface EngineOptions {
  host: AppInfo['host'];
  sources?: SourceEntry[];
  demo?: boolean;
  /** Days finished journals are kept before `recover` prunes them; default SNAPTREE_JOURNAL_DAYS, else 30. */
  journalDays?: number;
  /** How the live watchers poll and start `virsh event` (tests shorten or fake them). */
  live?: ConnectionWatchOptions;
}

/**
 * The scan with an error on each domain whose last operation failed part-way (its journal says so): nothing is
 * planned on it until that one is finished or undone (docs/safety.md, rule 5).
 */
async function withUnfinished(source: Source, result: ScanResult): Promise<ScanResult> {
  const failed = (await readJournals()).filter((e) => e.status === 'failed' && JSON.stringify(e.plan.source) === JSON.stringify(source));
  if (failed.length === 0) return result;
  const domains = result.domains.map((domain) => {
    const open = failed.find((e) => e.plan.intent.domain === domain.name);
    if (open === undefined) return domain;
    const problem: Problem = {
      code: 'unfinished-operation',
      severity: 'error',
      message: `An earlier ${open.plan.intent.op} on ${domain.name} stopped part-way; finish or undo it first ("Finish or undo it" in the app, or virt-snaptree recover).`,
      domain: domain.name,
    };
    return { ...domain, problems: [...domain.problems, problem] };
  });
  return { ...result, domains };
}

/** An operation running for an API client: where, how to stop it, and its latest progress. */
interface Running {
  source: Source;
  domain: string;
  controller: AbortController;
  last: ProgressEvent;
  /** Settles when the operation has ended, however it ended. */
  ended?: Promise<void>;
}

/**
 * Refuses what would run qemu-img or change files for a source whose files are on another host: the scan reads a
 * remote host's files there (scan/remote-scan.ts), and nothing here may touch this computer's files of the same
 * names instead.
 */
/** Where the files of an SSH host are reached from, per host: one per connection target, so its login's uid is asked once. */
const hostFilesCache = new Map<string, HostFiles>();

/**
 * The files of the host a source's disks are on: this computer's for a folder or a local connection, the SSH
 * host's for `qemu+ssh://`. Throws for a connection whose files the engine cannot reach (`qemu+tls://`): a path
 * it reports is never looked up here.
 */
function hostFilesOf(uri: string | null, what: string): HostFiles {
  if (uri === null || isLocalUri(uri)) return localHostFiles;
  const target = sshTargetOf(uri);
  if (target === null) {
    throw new AppError('E_NOT_SUPPORTED', `${what} on ${uri} are not available: the engine reaches another host's files only over SSH (a qemu+ssh:// connection).`, { uri });
  }
  const key = JSON.stringify(target);
  let files = hostFilesCache.get(key);
  if (files === undefined) {
    files = remoteHostFiles(sshRunner(target));
    hostFilesCache.set(key, files);
  }
  return files;
}

const sourceFiles = (source: Source, what: string): HostFiles => hostFilesOf(source.kind === 'libvirt' ? source.uri : null, what);

/**
 * For a clone or an export, whose new files go where the user said (`--dir`, `--to`): the refusal the checks run
 * before the journal would give (plan-trust.ts, free-space.ts: a missing folder, a file standing at a new file's
 * place, too little room), so the preview never offers what the run then refuses. They run again at apply, as the
 * world may change between; null when they pass, or for any other operation.
 */
async function newFilesRefusal(plan: Plan, scan: ScanResult, files: HostFiles): Promise<Refusal | null> {
  if (plan.intent.op !== 'clone' && plan.intent.op !== 'export') return null;
  try {
    await checkPlanTrust(plan, scan, files);
    await checkFreeSpace(plan, files);
    await checkWritable(plan, files);
    return null;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return { code: error.code, message: error.message, ...(error.details !== undefined ? { details: error.details } : {}) };
  }
}

export class Engine {
  private readonly connections = new Map<string, Virsh>();
  /** What scans read each connection with: libvirt's library for a local one, else its virsh adapter. */
  private readonly readers = new LibvirtReaders();
  private readonly running = new Map<string, Running>();
  /** Set by `close`: no operation for an API client starts after it. */
  private closing = false;
  /** Watches the sources for changes made outside the app, while anyone listens to the events. */
  private readonly live: LiveWatcher;
  private readonly hub: EventHub;
  /** The demo lab, when the app built it on request. */
  private lab: DemoLab | null = null;
  private sources: SourceEntry[];
  /** Plans this engine made, by id, newest last: `apply` runs only these, as they were issued. */
  private readonly issued = new Map<string, Plan>();

  constructor(private readonly options: EngineOptions) {
    this.sources = options.sources ?? [];
    this.live = new LiveWatcher(
      {
        sources: () => this.listSources(),
        virsh: (uri) => this.virsh(uri),
        scanDomain: (source, name) => this.scanDomain(source, name),
        scanFolder: (path) => scanFolder(path),
        busy: (source, domain) => this.busy(source, domain),
        emit: (event) => this.hub.emit(event),
      },
      options.live,
    );
    this.hub = new EventHub((active) => void (active ? this.live.start() : this.live.stop()));
  }

  /**
   * Calls `listener` with every event: progress and end of the operations it runs, and changes made outside
   * the app to the configured sources, which are watched only while someone listens. Returns the unsubscribe.
   */
  subscribe(listener: EngineListener): () => void {
    return this.hub.subscribe(listener);
  }

  /** Resolves once the live watchers hold their first picture of every source (tests wait for it). */
  liveReady(): Promise<void> {
    return this.live.ready();
  }

  /** Whether an operation runs on that domain of the source (on any of its domains when none is named). */
  private busy(source: Source, domain?: string): boolean {
    const key = sourceIdOf(source);
    return [...this.running.values()].some((r) => sourceIdOf(r.source) === key && (domain === undefined || r.domain === domain));
  }

  private emit(event: EngineEvent): void {
    this.hub.emit(event);
  }

  /** The adapter for a connection, opened on first use and kept for the engine's life; only connections it may open. */
  virsh(uri: string): Virsh {
    let virsh = this.connections.get(uri);
    if (virsh === undefined) {
      const problem = connectionUriProblem(uri);
      if (problem !== null) throw new AppError('E_BAD_INPUT', problem, { uri });
      virsh = openVirsh(uri);
      this.connections.set(uri, virsh);
    }
    return virsh;
  }

  /** Scans a connection (all its domains, or those named) with its reader (libvirt-reader.ts); only connections it may open. */
  private scanConnection(uri: string, options: LibvirtScanOptions = {}): Promise<ScanResult> {
    return this.readers.scan(uri, this.virsh(uri), (reader) => scanConnection(reader, options));
  }

  setSources(sources: SourceEntry[]): void {
    this.sources = sources;
    void this.live.refresh();
  }

  /** The sources given at start, then the ones the user added (kept in settings). */
  async listSources(): Promise<SourceEntry[]> {
    const settings = await readSettings();
    const added: SourceEntry[] = [
      ...settings.connections.map((uri) => sourceEntry({ kind: 'libvirt', uri }, true)),
      ...settings.folders.map((path) => sourceEntry({ kind: 'folder', path }, true)),
    ];
    const ids = new Set(this.sources.map((s) => s.id));
    return [...this.sources, ...added.filter((s) => !ids.has(s.id))];
  }

  /**
   * The source a client names by id, if the user configured it (given at start, the demo, or added); a client
   * can never make the engine read or act anywhere else.
   */
  async resolveSource(id: string): Promise<Source> {
    const entry = (await this.listSources()).find((s) => s.id === id);
    if (entry === undefined) throw new AppError('E_NOT_FOUND', `No source "${id}" is configured here. Add it first.`, { sourceId: id });
    return entry.source;
  }

  /**
   * Adds a connection or an image folder to the settings, once it has been checked to answer. Connections are
   * the ones the engine may open (source-rules); a folder must exist, and is kept by its real path.
   */
  async addSource(requested: Source): Promise<SourceEntry[]> {
    const source = await checkedSource(requested);
    await this.scan(source);
    const settings = await readSettings();
    if (source.kind === 'libvirt' && !settings.connections.includes(source.uri)) settings.connections.push(source.uri);
    if (source.kind === 'folder' && !settings.folders.includes(source.path)) settings.folders.push(source.path);
    await writeSettings(settings);
    void this.live.refresh();
    return this.listSources();
  }

  async removeSource(id: string): Promise<SourceEntry[]> {
    const settings = await readSettings();
    const next = {
      connections: settings.connections.filter((uri) => sourceIdOf({ kind: 'libvirt', uri }) !== id),
      folders: settings.folders.filter((path) => sourceIdOf({ kind: 'folder', path }) !== id),
    };
    if (next.connections.length === settings.connections.length && next.folders.length === settings.folders.length) {
      throw new AppError('E_NOT_FOUND', 'Only connections and folders added in the app can be removed here.');
    }
    await writeSettings(next);
    void this.live.refresh();
    return this.listSources();
  }

  /** Builds the demo lab on request (once), and offers its sources. */
  async startDemo(): Promise<SourceEntry[]> {
    if (this.lab === null) {
      const virsh = this.virsh(DEMO_URI);
      const reachable = await virsh.run(['version']).then(
        () => true,
        () => false,
      );
      this.lab = await createDemoLab(reachable ? virsh : null);
      this.sources = [...this.lab.sources, ...this.sources];
      void this.live.refresh();
    }
    return this.listSources();
  }

  async scan(source: Source): Promise<ScanResult> {
    return withUnfinished(source, source.kind === 'libvirt' ? await this.scanConnection(source.uri) : await scanFolder(source.path));
  }

  /** Rescans one domain only, as after an operation. */
  async scanDomain(source: Source, name: string): Promise<Domain> {
    const result = await withUnfinished(source, source.kind === 'libvirt' ? await this.scanConnection(source.uri, { domains: [name] }) : await scanFolder(source.path));
    const domain = result.domains.find((d) => d.name === name);
    if (domain === undefined) throw new AppError('E_NOT_FOUND', `No domain named "${name}" in this source.`, { domain: name });
    if (domain.problems.some((p) => p.code === 'domain-unreadable')) {
      throw new AppError('E_NOT_FOUND', domain.problems[0]?.message ?? `Domain "${name}" cannot be read.`, { domain: name });
    }
    return domain;
  }

  /** Plans an operation on a fresh scan of the whole source; refusals come back as results. The plan is kept for `apply`. */
  async plan(source: Source, intent: Intent): Promise<PlanResult> {
    const files = sourceFiles(source, 'Operations');
    const scan = await this.scan(source);
    const result = planOperation({ scan, operationId: randomUUID() }, intent);
    if (!result.ok) return result;
    const refusal = await newFilesRefusal(result.plan, scan, files);
    if (refusal !== null) return { ok: false, refusal };
    this.issue(result.plan);
    return result;
  }

  private issue(plan: Plan): void {
    this.issued.delete(plan.id);
    this.issued.set(plan.id, plan);
    for (const id of this.issued.keys()) {
      if (this.issued.size <= ISSUED_PLANS) break;
      this.issued.delete(id);
    }
  }

  /**
   * Runs a confirmed plan: re-checked, locked, journaled; ends with a rescan of that domain only. Only plans
   * this engine issued run, in the form it issued them (whatever a caller holds is matched by id), and each
   * at most once; a changed world hands back a new plan under the same id, to confirm again.
   */
  async apply(plan: Plan | string, options: { onProgress?: (event: ProgressEvent) => void; signal?: AbortSignal } = {}): Promise<ExecuteResult> {
    const id = typeof plan === 'string' ? plan : plan.id;
    const issued = this.issued.get(id);
    if (issued === undefined) {
      // `unknownPlan`: nothing ran, and the app may plan again at once (a plan made before `serve` was restarted).
      throw new AppError('E_NOT_FOUND', 'This plan was not made by this engine, or it already ran. Plan the operation again.', { operationId: id, unknownPlan: true });
    }
    this.issued.delete(id);
    const source = issued.source;
    const files = sourceFiles(source, 'Operations');
    const result = await executePlan(issued, {
      virsh: source.kind === 'libvirt' ? this.virsh(source.uri) : null,
      files,
      scan: () => this.scan(source),
      rescan: (domain) => (source.kind === 'libvirt' ? this.scanDomain(source, domain).catch(() => null) : Promise.resolve(null)),
      ...options,
    });
    if (result.status === 'changed') this.issue(result.plan);
    // Best effort, after the operation: a thumbnail of a running domain's screen with the snapshot it took.
    if (result.status === 'done' && source.kind === 'libvirt') await keepThumbnails(this.virsh(source.uri), source.uri, issued);
    return result;
  }

  /** The thumbnail kept with a snapshot, as a `data:` URL; null when it has none (electron/ops/thumbnails.ts). */
  async thumbnail(source: Source, domain: string, snapshot: string): Promise<{ dataUrl: string | null }> {
    if (source.kind !== 'libvirt') return { dataUrl: null };
    return { dataUrl: await readThumbnail(this.virsh(source.uri), source.uri, domain, snapshot) };
  }

  /** The trash beside the files of a source, or of one of its domains. */
  async trash(source: Source, domain?: string): Promise<TrashEntry[]> {
    const files = sourceFiles(source, 'Trash folders');
    if (source.kind === 'folder') return listTrash([source.path]);
    const scan = domain !== undefined ? { domains: [await this.scanDomain(source, domain)] } : await this.scan(source);
    const entries = await listTrash(
      scan.domains.flatMap((d) => Object.keys(d.layers).map((p) => dirname(p))),
      files,
    );
    return domain === undefined ? entries : entries.filter((e) => e.domain === domain);
  }

  /** Restores trashed files, all of one operation or the ones named. */
  async restoreTrash(source: Source, which: { operationId?: string; paths?: string[] }, domain?: string): Promise<string[]> {
    return restoreTrash(selectTrash(await this.trash(source, domain), which), sourceFiles(source, 'Trash folders'));
  }

  /** Deletes trashed files for good: an explicit act, never part of an operation. */
  async emptyTrash(source: Source, which: { operationId?: string; paths?: string[] }, domain?: string): Promise<number> {
    return emptyTrash(selectTrash(await this.trash(source, domain), which), sourceFiles(source, 'Trash folders'));
  }

  /**
   * Runs an issued plan for an API client: its progress is kept for `operations` and pushed to listeners, its
   * end announced, and `cancel` can stop it.
   */
  private async applyTracked(planId: string): Promise<ExecuteResult> {
    if (this.closing) throw new AppError('E_LOCKED', 'The engine is stopping: nothing new starts now.');
    if (this.running.has(planId)) throw new AppError('E_LOCKED', 'This operation is already running.');
    const plan = this.issued.get(planId);
    const controller = new AbortController();
    const last: ProgressEvent = { operationId: planId, step: 0, steps: plan?.steps.length ?? 0, sentence: 'Checking the plan against a fresh scan', percent: null };
    const entry: Running = { source: plan?.source ?? { kind: 'folder', path: '' }, domain: plan?.intent.domain ?? '', controller, last };
    this.running.set(planId, entry);
    this.emit({ type: 'progress', event: last });
    const onProgress = (event: ProgressEvent): void => {
      entry.last = event;
      this.emit({ type: 'progress', event });
    };
    const run = this.apply(planId, { signal: controller.signal, onProgress });
    entry.ended = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await run;
    } finally {
      this.running.delete(planId);
      this.emit({ type: 'finished', operationId: planId });
    }
  }

  /**
   * Compares two nodes of a domain, per disk. Nodes are `s:NAME` or `b:NAME`, or whatever `toNode` turns into
   * those once the domain is scanned (the CLI takes plain names).
   */
  async compare(source: Source, domain: string, a: string, b: string, toNode: (domain: Domain, ref: string) => string = (_d, ref) => ref): Promise<Comparison> {
    // Read-only: on a host reached over SSH, qemu-img compares its files there.
    const target = source.kind === 'libvirt' ? sshTargetOf(source.uri) : null;
    if (target === null) sourceFiles(source, 'Comparisons');
    const scanned = source.kind === 'libvirt' ? await this.scanDomain(source, domain) : (await scanFolder(source.path)).domains.find((d) => d.name === domain);
    if (scanned === undefined) throw new AppError('E_NOT_FOUND', `No domain named "${domain}" in this source.`);
    return compareNodes(scanned, toNode(scanned, a), toNode(scanned, b), target === null ? undefined : sshRunner(target));
  }

  /** Checks the health of a domain's layers (or only one of its files), or of every domain (every tree of a folder). */
  async check(source: Source, domain?: string, path?: string): Promise<HealthReport[]> {
    // Read-only: on a host reached over SSH, qemu-img checks its files there.
    const target = source.kind === 'libvirt' ? sshTargetOf(source.uri) : null;
    if (target === null) sourceFiles(source, 'Health checks');
    const domains = domain !== undefined && source.kind === 'libvirt' ? [await this.scanDomain(source, domain)] : (await this.scan(source)).domains.filter((d) => domain === undefined || d.name === domain);
    if (domain !== undefined && domains.length === 0) throw new AppError('E_NOT_FOUND', `No domain named "${domain}" in this source.`);
    const runner = target === null ? undefined : sshRunner(target);
    return Promise.all(domains.map((d) => checkDomain(d, path, runner)));
  }

  /** Acknowledges the health warnings of `path`, a file of `domain`, with `reason`, kept for the file as it is now. */
  async acknowledge(source: Source, domain: string, path: string, reason: string): Promise<{ path: string; reason: string; at: string }> {
    const target = source.kind === 'libvirt' ? sshTargetOf(source.uri) : null;
    if (target === null) sourceFiles(source, 'Health checks');
    const scanned = source.kind === 'libvirt' ? await this.scanDomain(source, domain) : (await scanFolder(source.path)).domains.find((d) => d.name === domain);
    if (scanned === undefined) throw new AppError('E_NOT_FOUND', `No domain named "${domain}" in this source.`);
    const ack = await acknowledgeWarning(scanned, path, reason, target === null ? undefined : sshRunner(target));
    return { path: ack.path, reason: ack.reason, at: ack.at };
  }

  /**
   * Finishes or rolls back operations a crash interrupted, then prunes finished journals past their retention.
   * Every interface calls this at start-up, so pruning needs no schedule of its own.
   */
  async recover(domain?: string): Promise<RecoveryReport[]> {
    const reports = await recoverAll(
      (uri) => (uri === null ? null : this.virsh(uri)),
      domain,
      (uri) => hostFilesOf(uri, 'Recovery'),
    );
    await pruneJournals(journalRetentionDays(this.options.journalDays));
    return reports;
  }

  /** Answers one API call; the input has been validated against the contract's schema. */
  async handle<M extends ApiMethod>(method: M, input: ApiInput<M>): Promise<ApiOutput<M>> {
    const source = (id: string) => this.resolveSource(id);
    const handlers: { [K in ApiMethod]: (input: ApiInput<K>) => Promise<ApiOutput<K>> } = {
      appInfo: async () => ({ version: VERSION, host: this.options.host, demo: this.options.demo ?? false }),
      listSources: async () => this.listSources(),
      scan: async ({ sourceId }) => this.scan(await source(sourceId)),
      scanDomain: async ({ sourceId, domain }) => this.scanDomain(await source(sourceId), domain),
      plan: async ({ sourceId, intent }) => this.plan(await source(sourceId), intent),
      apply: async ({ planId }) => this.applyTracked(planId),
      operations: async () => [...this.running.values()].map((r) => r.last),
      cancel: async ({ operationId }) => {
        const running = this.running.get(operationId);
        running?.controller.abort();
        return { cancelled: running !== undefined };
      },
      recover: async () => this.recover(),
      history: async ({ limit }) => history(limit ?? 100),
      addSource: async ({ source }) => this.addSource(source),
      removeSource: async ({ id }) => this.removeSource(id),
      startDemo: async () => this.startDemo(),
      compare: async ({ sourceId, domain, a, b }) => this.compare(await source(sourceId), domain, a, b),
      check: async ({ sourceId, domain, path }) => this.check(await source(sourceId), domain, path),
      acknowledge: async ({ sourceId, domain, path, reason }) => this.acknowledge(await source(sourceId), domain, path, reason),
      thumbnail: async ({ sourceId, domain, snapshot }) => this.thumbnail(await source(sourceId), domain, snapshot),
      thumbnails: async ({ sourceId, domain, snapshots }) => {
        const from = await source(sourceId);
        return from.kind === 'libvirt' ? readThumbnails(this.virsh(from.uri), from.uri, domain, snapshots) : {};
      },
      trashList: async ({ sourceId, domain }) => this.trash(await source(sourceId), domain),
      trashRestore: async ({ sourceId, domain, operationId, paths }) =>
        this.restoreTrash(await source(sourceId), { ...(operationId ? { operationId } : {}), ...(paths ? { paths } : {}) }, domain),
      trashEmpty: async ({ sourceId, domain, operationId, paths }) =>
        this.emptyTrash(await source(sourceId), { ...(operationId ? { operationId } : {}), ...(paths ? { paths } : {}) }, domain),
    };
    return (handlers[method] as (input: ApiInput<M>) => Promise<ApiOutput<M>>)(input);
  }

  /** How many operations run for API clients now. */
  runningCount(): number {
    return this.running.size;
  }

  /**
   * Cancels what runs for API clients and waits for it to end (a cancel stops a copy at once; an operation past its
   * point of no return finishes), then lets go of every connection.
   */
  async close(): Promise<void> {
    this.closing = true;
    const running = [...this.running.values()];
    for (const r of running) r.controller.abort();
    await Promise.all(running.map((r) => r.ended));
    await this.live.stop();
    await this.lab?.dispose();
    this.lab = null;
    await Promise.all([...this.connections.values()].map((v) => v.close()));
    this.connections.clear();
    await this.readers.close();
  }
}
