/**
 * Reads layers: canonical paths, backing links and sizes. Everything comes from the qcow2 headers and the file
 * system, in process: a missing backing file, a link without a format, or a cycle is found without opening an
 * image, and a host of thousands of layers reads in a fraction of a second instead of one `qemu-img` process
 * per chain. For formats other than qcow2 and raw it asks `qemu-img info`; tests check that both agree on every
 * field. An image with an external data file is read from its header alone and flagged: `qemu-img info` would
 * open the data file, which may name any file on the host.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, normalize } from 'node:path';
import pLimit from 'p-limit';
import type { Layer, Problem } from '../../shared/model';
import { AppError } from '../../shared/errors';
import { NotRegularFileError, QCOW2_CORRUPT, type Qcow2Header } from '../tools/qcow2-header';
import type { HostRunner } from '../tools/host-runner';
import { localFiles, type FileStat, type FileView } from './file-view';
import { backingFileOf, divergentOpenings, followBacking, realPathDivergence } from './backing-names';
import { readDataFile } from './external-data';
import { FormatClaims } from './format-claims';
import { invalidNameProblem } from './header-names';
import { ownerOf } from './owners';
import { isLockError, qemuImgInfo, type ImageInfo } from '../tools/qemu-img';

/** A layer as the headers describe it, before qemu-img has been asked. */
interface Link {
  path: string;
  /** The path this reading opened it by: of two readings of one layer, the first opening's is kept. */
  opened: string;
  format: string;
  backing: string | null;
  backingName: string | null;
  backingFormat: string | null;
  /** From the qcow2 header; a raw file's size is read from the file system. */
  virtualSize: number;
  needsQemuImg: boolean;
  dataFile: Layer['dataFile'];
  /** From the qcow2 header: how guest data is encrypted, and how many internal snapshots the image holds. */
  encrypted: Layer['encrypted'];
  internalSnapshots: number;
}

function toLayer(link: Link): Layer {
  return {
    path: link.path,
    format: link.format,
    virtualSize: link.virtualSize,
    actualSize: 0,
    backing: link.backing,
    backingName: link.backingName,
    backingFormat: link.backingFormat,
    dataFile: link.dataFile,
    ...(link.encrypted ? { encrypted: link.encrypted } : {}),
    ...(link.internalSnapshots > 0 ? { internalSnapshots: link.internalSnapshots } : {}),
  };
}

/**
 * A layer from its header and the file system: what `qemu-img info` reports for a local qcow2 or raw file
 * (virtual size from the header, or for raw the file's length rounded up to whole 512-byte sectors, as QEMU's
 * raw driver gives it: a 1000-byte file is a 1024-byte disk; actual size from the blocks allocated).
 */
function fromHeader(link: Link, files: FileView, stats: FileStat = files.stat(link.path)): Layer {
  return {
    ...toLayer(link),
    virtualSize: link.format === 'raw' ? Math.ceil(stats.size / 512) * 512 : link.virtualSize,
    actualSize: stats.blocks * 512,
    owner: ownerOf(stats, files),
  };
}

/** Resolves a path to its canonical form; null when it does not exist. Synchronous for the same reason as headers. */
export function canonical(path: string): string | null {
  try {
    return realpathSync.native(path);
  } catch {
    return null;
  }
}

/**
 * The file QEMU opens for the backing name `name` of the overlay opened as `opened` (the path it was opened by,
 * not its real path: see `backing-names.ts`); null when the name is not a local file the app follows.
 */
export function resolveBackingName(opened: string, name: string): string | null {
  return backingFileOf(opened, name);
}

export interface LayerReaderOptions {
  /** Processes of qemu-img at once. */
  concurrency?: number;
  /** The files of the host the scan reads: this computer's by default. */
  files?: FileView;
  /** Where qemu-img runs for formats the header reader does not cover: the same host as `files`. */
  runner?: HostRunner;
}

/**
 * Collects layers across one scan. Each file is read once; concurrent requests for one path share the work.
 * Problems are reported once per file and kind.
 */
export class LayerReader {
  readonly layers: Record<string, Layer> = {};
  private readonly problems = new Map<string, Problem>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly headers = new Map<string, Qcow2Header | null>();
  private readonly realPaths = new Map<string, string | null>();
  /** The path each layer was first opened by: its relative backing name resolves against that path's folder. */
  private readonly openedAs = new Map<string, string>();
  /** Why a file could not be opened (an errno code), for files whose header read failed. */
  private readonly openErrors = new Map<string, string>();
  /** Why QEMU would refuse a file's qcow2 header, for files `header` gave null for on that ground. */
  private readonly refusals = new Map<string, string>();
  private readonly formats = new FormatClaims();
  /** Each regular file's stat, taken once per scan (by `isRegular` or with its header): sizes and owners come from it. */
  private readonly fileStats = new Map<string, FileStat>();
  /**
   * Canonical paths a folder listing showed as regular files (not links), whose stat is not taken yet: the header
   * read takes it, opening without following a link, so a file swapped for a link since is not read through it.
   */
  private readonly listedFiles = new Set<string>();
  /** Per canonical folder, its regular files' names as one listing gave them; null when it could not be listed. */
  private readonly folderFiles = new Map<string, Set<string> | null>();
  private readonly limit: ReturnType<typeof pLimit>;
  /** Layers some walk has linked as qcow2 this scan: a later walk stops there, as at a layer stored already. */
  private readonly linkedQcow2 = new Set<string>();

  /** The files of the host this scan reads. */
  readonly files: FileView;
  private readonly runner: HostRunner | undefined;

  constructor(options: LayerReaderOptions = {}) {
    this.limit = pLimit(options.concurrency ?? 4);
    this.files = options.files ?? localFiles;
    this.runner = options.runner;
  }

  /** Problems found so far about `paths` (or all, when omitted). */
  problemsFor(paths?: Set<string>): Problem[] {
    const all = [...this.problems.values()];
    return paths === undefined ? all : all.filter((p) => p.path !== undefined && paths.has(p.path));
  }

  /**
   * The qcow2 header of a file, read once per scan; null when the file is not qcow2, cannot be read, or has a
   * header QEMU refuses to open (docs/safety.md, rule 11: such a file is no image here; `headerRefusal` says why).
   */
  header(path: string): Qcow2Header | null {
    let header = this.headers.get(path);
    if (header === undefined) {
      try {
        const read = this.files.readHeader(path, this.listedFiles.has(path));
        this.fileStats.set(path, read.stats);
        header = read.header;
        if (header !== null && header.refused !== null) {
          this.refusals.set(path, header.refused);
          header = null;
        }
      } catch (error) {
        if (error instanceof NotRegularFileError) this.reportNotRegular(path, 'warning');
        else this.openErrors.set(path, (error as NodeJS.ErrnoException).code ?? (error as Error).message);
        header = null;
      }
      this.headers.set(path, header);
    }
    return header;
  }

  /** Why QEMU refuses the qcow2 header of `path` (in its own words); null when it does not, or it was not read. */
  headerRefusal(path: string): string | null {
    return this.refusals.get(path) ?? null;
  }

  /** Why reading the header of `path` failed (an errno code such as EACCES); null when it did not, or was not tried. */
  openError(path: string): string | null {
    return this.openErrors.get(path) ?? null;
  }

  /** The canonical form of a path, resolved once per scan: overlays, tips and links name the same files. */
  canonical(path: string): string | null {
    let real = this.realPaths.get(path);
    if (real === undefined) {
      this.files.expect?.(path);
      real = this.resolveReal(path);
      this.realPaths.set(path, real);
    }
    return real;
  }

  /**
   * `canonical(path)`, with one lstat for a file that is not a symbolic link, in a folder resolved already: the
   * real path of `dir/name` is the real path of `dir`, then `name`, unless `name` is a link (or `.`/`..`, which a
   * normalized path has none of). A thousand files in a few folders cost a thousand lstats, not a realpath each
   * (one readlink per component). The lstat of a regular file is its stat, kept for `isRegular` and sizes.
   */
  private resolveReal(path: string): string | null {
    if (!isAbsolute(path) || normalize(path) !== path || path.endsWith('/')) return this.realOrNull(path);
    const dir = this.canonical(dirname(path));
    if (dir === null) return null;
    const name = basename(path);
    if (this.regularFilesOf(dir)?.has(name) === true) {
      const real = dir === '/' ? `/${name}` : `${dir}/${name}`;
      if (!this.fileStats.has(real)) this.listedFiles.add(real);
      return real;
    }
    let stats: FileStat;
    try {
      stats = this.files.lstat(path);
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT' ? null : this.realOrNull(path);
    }
    if (stats.isSymbolicLink()) return this.realOrNull(path);
    const real = dir === '/' ? `/${basename(path)}` : `${dir}/${basename(path)}`;
    if (stats.isFile()) this.fileStats.set(real, stats);
    return real;
  }

  /** The real path of `path` on the scanned host; null when it does not resolve. */
  private realOrNull(path: string): string | null {
    try {
      return this.files.realpath(path);
    } catch {
      return null;
    }
  }

  /**
   * The names of the regular files in a canonical folder, listed once per scan: a folder of a thousand images
   * costs one listing instead of a thousand lstats. A name the listing did not show as a regular file (a link,
   * anything else, one made since) is resolved with its own lstat as before.
   */
  private regularFilesOf(dir: string): Set<string> | null {
    let files = this.folderFiles.get(dir);
    if (files === undefined) {
      try {
        files = new Set(
          this.files
            .list(dir)
            .filter((entry) => entry.type === 'file')
            .map((entry) => entry.name.toString('utf8'))
            // A name that is not valid UTF-8 comes out with U+FFFD in it and names no file: lstat decides those.
            .filter((name) => !name.includes('\uFFFD')),
        );
      } catch {
        files = null;
      }
      this.folderFiles.set(dir, files);
    }
    return files;
  }

  /**
   * Reads the chain that starts at `path`, the path QEMU opens it by (a disk's `<source file>` as written, a file
   * of a folder listing): relative backing names resolve against its folder. `format` is what the referrer says
   * the file is (domain XML, a child's backing format); null means "qcow2 if its header says so, else not an
   * image". `referrer` names who says so (a domain's disk), for the format-conflict problem. Returns the
   * canonical path, or null when the file is missing or not an image.
   */
  async read(path: string, format: string | null, options: { shared?: boolean; referrer?: string } = {}): Promise<string | null> {
    const real = this.canonical(path);
    if (real === null) {
      this.report({ code: 'missing-file', severity: 'error', message: `The image ${path} does not exist.`, path });
      return null;
    }
    const first = this.openedAs.get(real);
    if (first !== undefined) this.compareOpenings(real, first, path);
    if (options.referrer !== undefined && format !== null) this.claimFormat(real, format, options.referrer);
    const reread = this.wantsQcow2(real, format);
    if (this.layers[real] !== undefined && !reread) return real;
    let pending = reread ? undefined : this.inFlight.get(real);
    if (pending === undefined) {
      pending = this.readChain(real, path, format, options.shared ?? false, options.referrer ?? null);
      this.inFlight.set(real, pending);
    }
    await pending;
    // A reading of another format that was under way when this qcow2 claim came gives way to a qcow2 reading.
    if (this.wantsQcow2(real, format)) await this.readChain(real, path, format, options.shared ?? false, options.referrer ?? null);
    return this.layers[real] !== undefined ? real : null;
  }

  /** Records a problem found by the caller about the files it reads (kept once per file and kind). */
  report(problem: Problem): void {
    const key = `${problem.code}\0${problem.path ?? ''}`;
    // An error stays an error: a later, milder report of the same kind about the same file does not hide it.
    if (this.problems.get(key)?.severity === 'error' && problem.severity !== 'error') return;
    this.problems.set(key, problem);
  }

  private reportNotRegular(path: string, severity: Problem['severity']): void {
    this.report({
      code: 'not-regular-file',
      severity,
      message: `${path} is not a regular file (a FIFO, socket, device or directory); it is skipped and never opened.`,
      path,
    });
  }

  /** Whether a path is a regular file, reporting it when it is something else; a missing file is left to the caller. */
  isRegular(path: string, severity: Problem['severity']): boolean {
    if (this.fileStats.has(path) || this.listedFiles.has(path)) return true;
    let regular = true;
    try {
      const stats = this.files.stat(path);
      regular = stats.isFile();
      if (regular) this.fileStats.set(path, stats);
    } catch {
      return true;
    }
    if (!regular) this.reportNotRegular(path, severity);
    return regular;
  }

  /**
   * Walks the headers from `top` (canonical; opened as `opened`) down to a base, a layer already read, or a
   * broken link. Each relative backing name resolves against the folder of the path that layer was opened by.
   */
  private async walk(top: string, opened: string, format: string | null, referrer: string | null): Promise<{ links: Link[] }> {
    const links: Link[] = [];
    const seen = new Set<string>();
    let at: string | null = top;
    let atOpened = opened;
    let atFormat = format;
    while (at !== null) {
      const first = this.openedAs.get(at);
      if (first !== undefined && links.length > 0) this.compareOpenings(at, first, atOpened);
      const by = links.length > 0 ? (links[links.length - 1] as Link).path : referrer;
      if (by !== null && atFormat !== null) this.claimFormat(at, atFormat, by);
      // A layer read already is not read again, unless it was read as another format and this link names it qcow2.
      if (this.layers[at] !== undefined && !this.wantsQcow2(at, atFormat)) {
        return { links };
      }
      // Nor one another walk has linked as qcow2 and is about to store: walks that start together (every overlay
      // of a domain, read at once) would otherwise each walk the whole chain below them again.
      if (this.linkedQcow2.has(at) && (atFormat === null || atFormat === 'qcow2')) return { links };
      if (first === undefined) this.openedAs.set(at, atOpened);
      seen.add(at);
      // Opening a FIFO or device could block or have side effects: such a file is never an image.
      if (!this.isRegular(at, 'error')) return { links };
      const header: Qcow2Header | null = atFormat === null || atFormat === 'qcow2' ? this.header(at) : null;
      const linkFormat = header !== null ? 'qcow2' : atFormat;
      if (linkFormat === null || (atFormat === 'qcow2' && header === null)) {
        if (links.length === 0 && atFormat === null) return { links };
        const refused = this.headerRefusal(at);
        this.report({
          code: 'unreadable',
          severity: 'error',
          message:
            refused !== null
              ? `${at} has a qcow2 header QEMU refuses to open (${refused}); it is shown as unreadable and never operated on.`
              : `${at} is not a readable ${atFormat ?? 'qcow2'} image.`,
          path: at,
        });
        return { links };
      }
      const link = this.linkOf(at, atOpened, linkFormat, header);
      links.push(link);
      if (linkFormat === 'qcow2') this.linkedQcow2.add(at);
      if (link.backingName === null) return { links };

      const hop = followBacking({ at, opened: atOpened, name: link.backingName, format: link.backingFormat }, seen, (path) => this.canonical(path));
      link.backing = hop.backing;
      if (hop.problem !== null) this.report(hop.problem);
      const split = hop.backing === null ? null : realPathDivergence({ at, opened: atOpened, name: link.backingName, backing: hop.backing }, (path) => this.canonical(path));
      if (split !== null) this.report(split);
      if (hop.next === null) return { links };
      at = hop.next.real;
      atOpened = hop.next.opened;
      atFormat = link.backingFormat;
    }
    return { links };
  }

  /** The link a readable layer makes, reporting what its header says is wrong (data file, names, corrupt bit). */
  private linkOf(at: string, opened: string, format: string, header: Qcow2Header | null): Link {
    const data = readDataFile(at, header, this.files);
    for (const problem of [...data.problems, invalidNameProblem(at, header)]) if (problem !== null) this.report(problem);
    if (((header?.incompatibleFeatures ?? 0) & QCOW2_CORRUPT) !== 0) {
      this.report({ code: 'unreadable', severity: 'error', message: `${at} is marked corrupt in its qcow2 header; run qemu-img check.`, path: at });
    }
    return {
      path: at,
      opened,
      format,
      backing: null,
      backingName: header?.backingName ?? null,
      backingFormat: header?.backingFormat ?? null,
      virtualSize: header?.virtualSize ?? 0,
      needsQemuImg: format !== 'qcow2' && format !== 'raw',
      dataFile: data.dataFile,
      encrypted: header?.encrypted ?? null,
      internalSnapshots: header?.internalSnapshots ?? 0,
    };
  }

  /** Reports where the chains from `real` opened as `first` and as `again` part (see `divergentOpenings`). */
  private compareOpenings(real: string, first: string, again: string): void {
    const problem = divergentOpenings(real, first, again, { backingName: (at) => this.headers.get(at)?.backingName ?? null, canonical: (at) => this.canonical(at) });
    if (problem !== null) this.report(problem);
  }

  /** Records that `referrer` names `path` as `format`, reporting a conflict with what others name it. */
  private claimFormat(path: string, format: string, referrer: string): void {
    const conflict = this.formats.claim(path, format, referrer);
    if (conflict !== null) this.report(conflict);
  }

  /**
   * Whether a layer read as another format must be read again as qcow2: some referrer names it qcow2 and its
   * content is valid qcow2. The shown format then does not depend on which chain the scan happened to read first.
   */
  private wantsQcow2(path: string, format: string | null): boolean {
    const layer = this.layers[path];
    return format === 'qcow2' && layer !== undefined && layer.format !== 'qcow2' && this.formats.has(path, 'qcow2') && this.header(path) !== null;
  }

  /**
   * Whether `link` may replace a reading of its layer stored already: a qcow2 reading is never replaced by another
   * format, and of two readings in one format the one through the path the layer was first opened by is kept,
   * whatever order the readings finish in (the ambiguous-backing problem names that one as the one shown).
   */
  private replaces(link: Link): boolean {
    const existing = this.layers[link.path];
    if (existing === undefined) return true;
    if (existing.format === 'qcow2' && link.format !== 'qcow2') return false;
    return existing.format !== link.format || link.opened === this.openedAs.get(link.path);
  }

  private async readChain(top: string, opened: string, format: string | null, shared: boolean, referrer: string | null): Promise<void> {
    const { links } = await this.walk(top, opened, format, referrer);
    await Promise.all(
      links.map(async (link) => {
        try {
          const layer = link.needsQemuImg ? await this.fromQemuImg(link, shared) : fromHeader(link, this.files, this.fileStats.get(link.path));
          if (this.replaces(link)) this.layers[link.path] = layer;
        } catch (error) {
          this.report({ code: 'unreadable', severity: 'error', message: `${link.path} cannot be read: ${(error as Error).message}`, path: link.path });
        }
      }),
    );
  }

  /** Asks qemu-img for what the header reader does not cover (a format other than qcow2 and raw). */
  private async fromQemuImg(link: Link, shared: boolean): Promise<Layer> {
    const [info] = (await this.info(link.path, link.format, shared)) ?? [];
    let stats: FileStat | null = null;
    try {
      stats = this.files.stat(link.path);
    } catch {
      stats = null;
    }
    return {
      ...toLayer(link),
      format: info?.format ?? link.format,
      virtualSize: info?.['virtual-size'] ?? link.virtualSize,
      actualSize: info?.['actual-size'] ?? (stats ? stats.blocks * 512 : 0),
      ...(this.sharedReads.has(link.path) ? { sharedRead: true } : {}),
      ...(stats ? { owner: ownerOf(stats, this.files) } : {}),
    };
  }

  private readonly sharedReads = new Set<string>();

  /** Runs qemu-img info; a lock held by a running VM is retried read-only with `-U` and noted. */
  private async info(path: string, format: string, shared: boolean): Promise<ImageInfo[] | null> {
    return this.limit(async () => {
      try {
        return await qemuImgInfo(path, { format, shared, runner: this.runner });
      } catch (error) {
        const stderr = error instanceof AppError ? String(error.details?.stderr ?? '') : '';
        if (!shared && isLockError(stderr)) {
          this.sharedReads.add(path);
          this.report({
            code: 'locked',
            severity: 'info',
            message: `${path} is in use by a running VM; it was read in shared mode for display.`,
            path,
          });
          return qemuImgInfo(path, { format, shared: true, runner: this.runner }).catch(() => null);
        }
        this.report({
          code: 'unreadable',
          severity: 'error',
          message: `qemu-img cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
          path,
        });
        return null;
      }
    });
  }
}
