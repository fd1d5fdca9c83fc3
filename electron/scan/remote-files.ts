/**
 * A remote hypervisor's files, as the scanner reads them (file-view.ts), fetched over SSH in a few batched
 * commands instead of one round trip per question. The view answers from what it holds; a question it cannot
 * answer fails with NOT_FETCHED and is noted in `wanted`, and `fetch` asks the host for all of it at once. A scan
 * of a remote connection runs until nothing more is wanted (remote-scan.ts): the first pass asks for the disks'
 * folders, and images there are usually the whole chains.
 *
 * What is asked, all with POSIX sh and GNU coreutils and findutils, which every Linux hypervisor has:
 * - a folder: its entries' type, size, blocks, owner, mode, modification time, inode and links (`find -printf`),
 *   and the real path of the folder and of each symbolic link in it (`readlink -f`);
 * - the first 4 KiB of each regular file in such a folder (one `head` for all: the header, its extensions and
 *   the backing name of any image qemu-img makes), and any later bytes a header points to (`tail | head`);
 * - a small text file (the account databases), and the login's uid.
 * Every answer travels base64-encoded, so no name or byte is changed on the way.
 */
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { AppError } from '../../shared/errors';
import { decodeQcow2 } from '../tools/qcow2-header-checks';
import { runChecked, type HostRunner } from '../tools/host-runner';
import { NotRegularFileError, type Qcow2Header } from '../tools/qcow2-header';
import { memoryFingerprintOf, NOT_FETCHED, type DirEntry, type FileStat, type FileView } from './file-view';

/** The account databases owners are named from. */
const ACCOUNT_FILES = ['/etc/passwd', '/etc/group'];

/** Bytes fetched from the start of every regular file of a listed folder. */
export const HEAD_BYTES = 4096;


function errno(code: string, path: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: ${path}`);
  error.code = code;
  error.path = path;
  return error;
}

/** One entry as `find -printf` gave it. */
interface RemoteStat extends FileStat {
  type: DirEntry['type'];
  ino: bigint;
  nlink: number;
  mtimeNs: bigint;
}

function statOf(type: DirEntry['type'], size: number, blocks: number, uid: number, gid: number, mode: number, mtime: string, ino: string, nlink: number): RemoteStat {
  const [seconds = '0', fraction = ''] = mtime.split('.');
  const mtimeNs = BigInt(seconds) * 1_000_000_000n + BigInt((fraction + '000000000').slice(0, 9));
  return {
    type,
    size,
    blocks,
    uid,
    gid,
    mode,
    mtimeMs: Number(mtimeNs / 1_000_000n),
    ino: BigInt(ino),
    nlink,
    mtimeNs,
    isFile: () => type === 'file',
    isDirectory: () => type === 'dir',
    isSymbolicLink: () => type === 'link',
  };
}

const TYPES: Record<string, DirEntry['type']> = { f: 'file', l: 'link', d: 'dir' };

/** What the view holds of one folder: its entries by name (raw bytes as latin1 keys), or why it could not be listed. */
interface Folder {
  entries: Map<string, { name: Buffer; stat: RemoteStat }>;
}

/** The questions a scan asked that the view could not answer yet. */
export interface Wanted {
  folders: Set<string>;
  reals: Set<string>;
  ranges: Map<string, Array<{ offset: number; length: number }>>;
  texts: Set<string>;
}

function emptyWanted(): Wanted {
  return { folders: new Set(), reals: new Set(), ranges: new Map(), texts: new Set() };
}

export class RemoteFiles implements FileView {
  private readonly folders = new Map<string, Folder | string>();
  /** Real paths; for a path that resolves to nothing, why (ENOENT for a dangling link, ELOOP for a loop). */
  private readonly reals = new Map<string, string | { error: string }>();
  private readonly heads = new Map<string, Buffer>();
  /** Regular files whose first bytes the host would not give (no permission, gone since listed). */
  private readonly headless = new Set<string>();
  private readonly ranges = new Map<string, Array<{ offset: number; bytes: Buffer }>>();
  private readonly texts = new Map<string, string | null>();
  wanted: Wanted = emptyWanted();

  /** The fetch under way, started as soon as a pass wants something (see `soon`). */
  private fetching: Promise<void> | null = null;

  /**
   * `runner`: when given, what a pass wants is fetched at once, while the pass goes on (its libvirt readings are
   * usually the longer part), rather than after it.
   */
  constructor(
    readonly host: string,
    readonly uid: number,
    private readonly runner?: HostRunner,
  ) {}

  /** Starts fetching what is wanted, on the next turn (so that one pass's questions of a moment go together). */
  private soon(): void {
    if (this.runner === undefined || this.fetching !== null) return;
    const runner = this.runner;
    this.fetching = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.fetch(runner))
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.fetching = null;
        if (this.lacking) this.soon();
      });
  }

  /** How many questions this view could not answer so far: a pass that adds none saw every file it asked for. */
  misses = 0;

  /** Notes what a question lacks, starts fetching it, and gives the error the question fails with meanwhile. */
  private lack(path: string, note: (wanted: Wanted) => void): NodeJS.ErrnoException {
    note(this.wanted);
    this.soon();
    this.misses++;
    return errno(NOT_FETCHED, path);
  }

  /** The first failure of a fetch made while a pass went on: the scan fails with it rather than show files as missing. */
  failure: unknown = null;

  /** Settles once no fetch is under way. */
  async settled(): Promise<void> {
    while (this.fetching !== null) await this.fetching;
  }

  /** Whether the last pass asked for anything this view did not hold. */
  get lacking(): boolean {
    const w = this.wanted;
    return w.folders.size + w.reals.size + w.ranges.size + w.texts.size > 0;
  }

  private folder(dir: string): Folder {
    const folder = this.folders.get(dir);
    if (folder === undefined) {
      throw this.lack(dir, (w) => w.folders.add(dir));
    }
    if (typeof folder === 'string') throw errno(folder, dir);
    return folder;
  }

  lstat(path: string): FileStat {
    const clean = normalize(path);
    if (!isAbsolute(clean)) throw errno('ENOENT', path);
    if (clean === '/') return statOf('dir', 0, 0, 0, 0, 0o755, '0', '2', 1);
    const folder = this.folder(dirname(clean));
    const entry = folder.entries.get(Buffer.from(clean.slice(dirname(clean).length + (dirname(clean) === '/' ? 0 : 1)), 'utf8').toString('latin1'));
    if (entry === undefined) throw errno('ENOENT', path);
    return entry.stat;
  }

  stat(path: string): FileStat {
    const first = this.lstat(path);
    if (!first.isSymbolicLink()) return first;
    return this.lstat(this.realpath(path));
  }

  realpath(path: string): string {
    if (path === '/') return path;
    const known = this.reals.get(path);
    if (known === undefined) {
      throw this.lack(path, (w) => w.reals.add(path));
    }
    if (typeof known !== 'string') throw errno(known.error, path);
    return known;
  }

  list(dir: string): DirEntry[] {
    return [...this.folder(normalize(dir)).entries.values()].map(({ name, stat }) => ({ name, type: stat.type }));
  }

  readHeader(path: string, noFollow: boolean): { header: Qcow2Header | null; stats: FileStat } {
    const stats = noFollow ? this.lstat(path) : this.stat(path);
    if (!stats.isFile()) throw new NotRegularFileError(path);
    const real = noFollow ? normalize(path) : this.realpath(path);
    const head = this.heads.get(real);
    if (head === undefined) {
      if (this.headless.has(real)) throw errno('EACCES', path);
      throw this.lack(path, (w) => w.folders.add(dirname(real)));
    }
    const readAt = (offset: number, length: number): Buffer => {
      const out = Buffer.alloc(length);
      if (!Number.isSafeInteger(offset) || offset >= stats.size) return out;
      const end = Math.min(offset + length, stats.size);
      if (end <= head.length) {
        head.copy(out, 0, offset, end);
        return out;
      }
      const range = (this.ranges.get(real) ?? []).find((r) => r.offset <= offset && r.offset + r.bytes.length >= end);
      if (range === undefined) {
        throw this.lack(path, (w) => w.ranges.set(real, [...(w.ranges.get(real) ?? []), { offset, length: end - offset }]));
      }
      range.bytes.copy(out, 0, offset - range.offset, end - range.offset);
      return out;
    };
    return { header: decodeQcow2(readAt), stats };
  }

  readText(path: string): string {
    const text = this.texts.get(path);
    if (text === undefined) {
      throw this.lack(path, (w) => w.texts.add(path));
    }
    if (text === null) throw errno('ENOENT', path);
    return text;
  }

  expect(path: string): void {
    const clean = normalize(path);
    if (isAbsolute(clean) && !this.folders.has(dirname(clean))) {
      this.wanted.folders.add(dirname(clean));
      this.soon();
    }
  }

  readStart(path: string, length: number): Buffer {
    const stats = this.stat(path);
    if (!stats.isFile()) throw new NotRegularFileError(path);
    const real = this.realpath(path);
    const head = this.heads.get(real);
    if (head === undefined || length > HEAD_BYTES) {
      if (this.headless.has(real)) throw errno('EACCES', path);
      throw this.lack(path, (w) => w.folders.add(dirname(real)));
    }
    return head.subarray(0, length);
  }

  memoryFingerprint(path: string): string | null {
    try {
      const info = this.lstat(path) as RemoteStat;
      return info.isFile() ? memoryFingerprintOf({ ino: info.ino, size: BigInt(info.size), mtimeNs: info.mtimeNs }) : null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === NOT_FETCHED) throw error;
      return null;
    }
  }

  /** Asks the host for everything the last pass wanted, in a few commands; then `wanted` starts empty again. */
  async fetch(runner: HostRunner): Promise<void> {
    const wanted = this.wanted;
    this.wanted = emptyWanted();
    // Every layer's owner is named from these: asked with the first batch rather than on passes of their own.
    for (const path of ACCOUNT_FILES) if (!this.texts.has(path)) wanted.texts.add(path);
    for (const path of wanted.reals) wanted.folders.add(dirname(normalize(path)));
    // The folders above are listed too (their heads are not read): resolving a path looks at each of them.
    const above = new Set<string>();
    for (const dir of wanted.folders) for (let up = dirname(dir); up !== dirname(up) || up === '/'; up = dirname(up)) {
      if (!wanted.folders.has(up)) above.add(up);
      if (up === '/') break;
    }
    const folders = [...wanted.folders, ...above].filter((dir) => !this.folders.has(dir));
    if (folders.length > 0) await this.fetchFolders(runner, folders, new Set(wanted.folders));
    const reals = [...wanted.reals].filter((path) => !this.reals.has(path));
    if (reals.length > 0) await this.fetchReals(runner, reals);
    for (const [path, list] of wanted.ranges) await this.fetchRanges(runner, path, list);
    for (const path of wanted.texts) {
      const b64 = await remoteSh(runner, '[ -f "$1" ] && [ -r "$1" ] || exit 1; timeout ' + ONE_FILE_TIMEOUT_S + ' cat -- "$1" | base64 -w0', [path]).catch(onlyToolFailure(null));
      this.texts.set(path, b64 === null ? null : Buffer.from(b64, 'base64').toString('utf8'));
    }
  }

  /** Lists folders (entries, real paths of the folders and their links) and reads the heads of their regular files. */
  private async fetchFolders(runner: HostRunner, dirs: string[], withHeads: Set<string>): Promise<void> {
    const script = [
      'for d in "$@"; do',
      '  printf "D%s\\0" "$d"',
      '  if [ ! -e "$d" ]; then printf "XENOENT\\0"',
      '  elif [ ! -d "$d" ]; then printf "XENOTDIR\\0"',
      '  elif [ ! -x "$d" ] || [ ! -r "$d" ]; then printf "XEACCES\\0"',
      '  else',
      '    printf "R"; readlink -f -z -- "$d"',
      // -H: a folder named through a link is listed as what it points to, as opening a file in it would.
      '    find -H "$d" -mindepth 1 -maxdepth 1 -printf "%y/%s/%b/%U/%G/%m/%T@/%i/%n/%f\\0" -type l -exec sh -c ' + "'printf L; readlink -e -z -- \"$1\" || { readlink -f -- \"$1\" >/dev/null && printf \"!ENOENT\\\\0\" || printf \"!ELOOP\\\\0\"; }'" + ' sh {} \\;',
      '  fi',
      'done | base64 -w0',
    ].join('\n');
    const outs = await Promise.all(byBytes(dirs, (d) => d).map((some) => remoteSh(runner, script, some)));
    const out = Buffer.concat(outs.map((b64) => Buffer.from(b64, 'base64')));
    const records = splitNul(out);
    let folder: Folder | null = null;
    let dir = '';
    /** The path of the entry listed just before, which an "L" record gives the real path of. */
    let previous: string | null = null;
    const files: Array<{ path: string; size: number }> = [];
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as Buffer;
      const tag = String.fromCharCode(record[0] ?? 0);
      const rest = record.subarray(1);
      if (tag === 'D') {
        dir = rest.toString('utf8');
        folder = null;
        previous = null;
      } else if (tag === 'X') {
        this.folders.set(dir, rest.toString('latin1'));
      } else if (tag === 'R') {
        folder = { entries: new Map() };
        this.folders.set(dir, folder);
        this.reals.set(dir, rest.toString('utf8'));
      } else if (tag === 'L' && folder !== null) {
        if (previous !== null) this.reals.set(previous, realOf(rest));
      } else if (folder !== null) {
        const entry = parseEntry(record);
        previous = null;
        if (entry === null) continue;
        folder.entries.set(entry.name.toString('latin1'), entry);
        const path = join(dir, entry.name.toString('utf8'));
        previous = path;
        if (entry.stat.type === 'file') {
          this.reals.set(path, path);
          // An empty file holds no header (nor does a pseudo-file reporting size 0, which may block a reader).
          if (entry.stat.size === 0) this.heads.set(path, Buffer.alloc(0));
          else if (withHeads.has(dir)) files.push({ path, size: entry.stat.size });
        }
      }
    }
    await this.fetchHeads(runner, files);
  }

  /** The first HEAD_BYTES of each file, in one command; cut apart by the sizes the listing gave. */
  private async fetchHeads(runner: HostRunner, files: Array<{ path: string; size: number }>): Promise<void> {
    await Promise.all(byBytes(files, (f) => f.path).map((batch) => this.fetchHeadBatch(runner, batch)));
  }

  private async fetchHeadBatch(runner: HostRunner, batch: Array<{ path: string; size: number }>): Promise<void> {
    const out = Buffer.from(await remoteSh(runner, 'timeout ' + BATCH_READ_TIMEOUT_S + ' head -q -c ' + HEAD_BYTES + ' -- "$@" | base64 -w0', batch.map((f) => f.path)).catch(onlyToolFailure('')), 'base64');
    const expected = batch.reduce((n, f) => n + Math.min(HEAD_BYTES, f.size), 0);
    if (out.length === expected) {
      let offset = 0;
      for (const file of batch) {
        const length = Math.min(HEAD_BYTES, file.size);
        this.heads.set(file.path, out.subarray(offset, offset + length));
        offset += length;
      }
      return;
    }
    // A file changed size since it was listed (or could not be read): each is read on its own.
    for (const file of batch) {
      const script = '[ -f "$1" ] && [ -r "$1" ] || exit 1; timeout ' + ONE_FILE_TIMEOUT_S + ' dd if="$1" bs=' + HEAD_BYTES + ' count=1 iflag=nonblock status=none | base64 -w0';
      const one = await remoteSh(runner, script, [file.path]).catch(onlyToolFailure(null));
      if (one !== null) this.heads.set(file.path, Buffer.from(one, 'base64'));
      else this.headless.add(file.path);
    }
  }

  private async fetchReals(runner: HostRunner, paths: string[]): Promise<void> {
    // -z: a real path may end in a line break, which $(…) would cut off.
    const script = 'for p in "$@"; do readlink -e -z -- "$p" || { readlink -f -- "$p" >/dev/null && printf "!ENOENT\\0" || printf "!ELOOP\\0"; }; done | base64 -w0';
    const batches = byBytes(paths, (p) => p);
    const records = (await Promise.all(batches.map((some) => remoteSh(runner, script, some)))).flatMap((b64) => splitNul(Buffer.from(b64, 'base64')));
    paths.forEach((path, i) => this.reals.set(path, realOf(records[i] ?? Buffer.from('!ENOENT'))));
  }

  private async fetchRanges(runner: HostRunner, path: string, list: Array<{ offset: number; length: number }>): Promise<void> {
    const known = this.ranges.get(path) ?? [];
    for (const { offset, length } of list) {
      // A window around what was asked, so a table of small entries costs one command.
      const size = Math.max(length, 64 * 1024);
      const b64 = await remoteSh(runner, 'timeout ' + ONE_FILE_TIMEOUT_S + ' tail -c +"$2" -- "$1" | head -c "$3" | base64 -w0', [path, String(offset + 1), String(size)]);
      known.push({ offset, bytes: Buffer.from(b64, 'base64') });
    }
    this.ranges.set(path, known);
  }
}

/**
 * How long one batched command may take. A file that blocks its reader (a pseudo-file such as /proc/kmsg, a FIFO
 * swapped in) must not hold the scan: reads of single files get a far shorter limit, and read without blocking.
 */
const COMMAND_TIMEOUT_MS = 120_000;
const ONE_FILE_TIMEOUT_S = 5;
const BATCH_READ_TIMEOUT_S = 30;

/**
 * A handler that takes a command's own failure (a file it could not read) as `fallback`, and lets a failure to
 * reach the host through: a lost connection must fail the scan, never look like files that cannot be read.
 */
function onlyToolFailure<T>(fallback: T): (error: unknown) => T {
  return (error) => {
    if (error instanceof AppError && error.code !== 'E_TOOL') throw error;
    if (error instanceof AppError && error.details?.timeoutMs !== undefined) throw error;
    return fallback;
  };
}

/** Runs a shell script on the host with its arguments, under the batch time limit; returns its stdout. */
function remoteSh(runner: HostRunner, script: string, args: readonly string[]): Promise<string> {
  return runChecked(runner, 'sh', ['-c', script, 'sh', ...args], { timeoutMs: COMMAND_TIMEOUT_MS });
}

/** A real path as `readlink -e -z` gave it, or the "!ERRNO" record the listing script writes when there is none. */
function realOf(record: Buffer): string | { error: string } {
  return record[0] === 0x21 ? { error: record.subarray(1).toString('latin1') || 'ENOENT' } : record.toString('utf8');
}

/**
 * `items` cut into batches whose names fit one command line: ssh sends the remote command as one argument, and
 * Linux takes no argument longer than 128 KiB.
 */
const BATCH_BYTES = 64 * 1024;
function byBytes<T>(items: T[], name: (item: T) => string): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(name(item)) + 8;
    if (batch.length > 0 && bytes + size > BATCH_BYTES) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

function splitNul(buffer: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = buffer.indexOf(0); i !== -1; i = buffer.indexOf(0, start)) {
    out.push(buffer.subarray(start, i));
    start = i + 1;
  }
  return out;
}

/** One `find -printf "%y/%s/%b/%U/%G/%m/%T@/%i/%n/%f"` record: the name is the rest after the ninth slash. */
function parseEntry(record: Buffer): { name: Buffer; stat: RemoteStat } | null {
  const fields: string[] = [];
  let start = 0;
  for (let n = 0; n < 9; n++) {
    const slash = record.indexOf(0x2f, start);
    if (slash === -1) return null;
    fields.push(record.subarray(start, slash).toString('latin1'));
    start = slash + 1;
  }
  const [y = '', size = '0', blocks = '0', uid = '0', gid = '0', mode = '0', mtime = '0', ino = '0', nlink = '1'] = fields;
  const type = TYPES[y] ?? 'other';
  return { name: Buffer.from(record.subarray(start)), stat: statOf(type, Number(size), Number(blocks), Number(uid), Number(gid), Number.parseInt(mode, 8), mtime, ino, Number(nlink)) };
}
