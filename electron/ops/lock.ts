/**
 * One operation per domain at a time, across processes (docs/safety.md, rule 7): a lock per connection and domain in
 * the data folder. A lock left by a killed process is taken over at once, and never by two processes.
 *
 * A domain's lock is a folder of numbered generations, 1, 2, 3…; the newest generation is the lock. A
 * generation file names its owner (host, pid, process start time) and is created complete with link(2), which
 * fails when the name exists, so every generation has exactly one creator. A generation is free once its owner
 * marked it so (`N.free`) or its owner no longer runs; it never becomes held again.
 *
 * Invariant, at most one holder ever: a process creates generation N+1 only after it saw N, the newest, free,
 * and it holds N+1 only once it has seen no generation newer than N+1. The newest generation is never removed
 * (holders remove only older ones), so a process that recreates an old, removed number always finds a newer
 * one and backs off. Two holders would need N+1 created while N's holder still held it, which the first rule
 * forbids. This is why proper-lockfile is not used: its take-over of a stale lock (remove, then take) can
 * remove a lock another process has just taken.
 *
 * A lock is lost only when something outside the app removes or replaces the folder; `check()` tells, and the
 * executor calls it before every step.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants, readFileSync } from 'node:fs';
import { link, lstat, open, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';
import { dataSubdir, pathTaken, readPrivateFile, writeTempBeside } from './data-dir';
import type { HostFiles } from './host-files';

/** A held lock. */
export interface DomainLock {
  /** Throws E_LOCKED, saying what happened, when the lock is no longer this process's. */
  check(): Promise<void>;
  /** Frees the lock; a lost lock is left alone. */
  release(): Promise<void>;
}

interface Owner {
  host: string;
  pid: number;
  /** The process's start time (clock ticks since boot), so a reused pid is not taken for the owner. */
  start: string | null;
  token: string;
}

const errnoOf = (error: unknown) => (error as NodeJS.ErrnoException).code;

function startOf(pid: number): string | null {
  try {
    // Field 22 of /proc/PID/stat; the fields after the command name (which may hold spaces) start at field 3.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function runs(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if (errnoOf(error) !== 'EPERM') return false;
  }
  const start = startOf(owner.pid);
  return owner.start === null || start === null || start === owner.start;
}

async function generations(dir: string): Promise<number[]> {
  return (await readdir(dir))
    .filter((n) => /^[1-9]\d*$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

type State = { kind: 'gone' } | { kind: 'free' } | { kind: 'held'; owner: Owner | null };

async function stateOf(dir: string, generation: number): Promise<State> {
  let content: string | null;
  try {
    content = await readPrivateFile(join(dir, String(generation)));
  } catch {
    // Not a file this app wrote (a link, a folder): treat it as held, so nothing is taken over blindly.
    return { kind: 'held', owner: null };
  }
  if (content === null) return { kind: 'gone' };
  if (await pathTaken(join(dir, `${generation}.free`))) return { kind: 'free' };
  let owner: Owner | null = null;
  try {
    owner = JSON.parse(content) as Owner;
  } catch {
    return { kind: 'held', owner: null };
  }
  return owner.host === hostname() && !runs(owner) ? { kind: 'free' } : { kind: 'held', owner };
}

function busy(domain: string, dir: string, owner: Owner | null): AppError {
  const who = owner === null ? 'an unknown process' : owner.host === hostname() ? `process ${owner.pid}` : `process ${owner.pid} on ${owner.host}`;
  return new AppError(
    'E_LOCKED',
    `Another operation is running on ${domain} (${who}). Wait for it to finish, then try again. If none runs, remove ${dir}.`,
    { domain },
  );
}

/** Creates generation `n` holding `owner`; false when another process created it first. */
async function create(dir: string, n: number, owner: Owner): Promise<boolean> {
  const temp = await writeTempBeside(join(dir, 'tmp'), `${JSON.stringify(owner)}\n`);
  try {
    await link(temp, join(dir, String(n)));
    return true;
  } catch (error) {
    if (errnoOf(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

/** Removes generations older than `mine` and temporary files of processes that no longer run. */
async function sweep(dir: string, mine: number): Promise<void> {
  for (const name of await readdir(dir)) {
    const generation = /^(\d+)(\.free)?$/.exec(name);
    const temp = /^tmp\.(\d+)\./.exec(name);
    const old = generation !== null && Number(generation[1]) < mine;
    const orphan = temp !== null && !runs({ host: hostname(), pid: Number(temp[1]), start: null, token: '' });
    if (old || orphan) await rm(join(dir, name), { force: true });
  }
}

/**
 * Takes the lock of `domain` on connection `uri`, or throws E_LOCKED when another process holds it. A lock whose
 * holder no longer runs (on this host) is taken over.
 */
export async function lockDomain(uri: string, domain: string): Promise<DomainLock> {
  const name = createHash('sha256').update(`${uri}\0${domain}`).digest('hex').slice(0, 24);
  // Earlier versions kept a plain file by this name (beside proper-lockfile's NAME.lock): it names nothing now.
  const legacy = join(await dataSubdir('locks'), name);
  if ((await lstat(legacy).catch(() => null))?.isFile()) await rm(legacy, { force: true });
  const dir = await dataSubdir('locks', name);
  const owner: Owner = { host: hostname(), pid: process.pid, start: startOf(process.pid), token: randomBytes(12).toString('hex') };
  for (let attempt = 0; attempt < 100; attempt++) {
    const newest = (await generations(dir)).at(-1) ?? 0;
    if (newest > 0) {
      const state = await stateOf(dir, newest);
      if (state.kind === 'gone') continue;
      if (state.kind === 'held') throw busy(domain, dir, state.owner);
    }
    const mine = newest + 1;
    if (!(await create(dir, mine, owner))) continue;
    if ((await generations(dir)).at(-1) === mine) {
      await sweep(dir, mine);
      return held(dir, domain, mine, owner);
    }
    // A number that was in use and removed: a newer generation exists, so this file is no lock. Look again.
    await rm(join(dir, String(mine)), { force: true });
  }
  throw busy(domain, dir, null);
}

function held(dir: string, domain: string, mine: number, owner: Owner): DomainLock {
  const file = join(dir, String(mine));
  /** Why the lock is no longer ours, or null while it is. */
  const lost = async (): Promise<string | null> => {
    let content: string | null;
    let newest: number | undefined;
    try {
      content = await readPrivateFile(file);
      newest = (await generations(dir)).at(-1);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return `its lock folder ${dir} was removed`;
      return `its lock file ${file} cannot be read`;
    }
    if (content === null) return `its lock file ${file} was removed`;
    if (!content.includes(`"token":"${owner.token}"`)) return `its lock file ${file} was replaced`;
    if (newest !== mine) return `another process took over its lock in ${dir}`;
    return null;
  };
  return {
    async check() {
      const why = await lost();
      if (why !== null) {
        throw new AppError('E_LOCKED', `The lock on ${domain} was lost while the operation ran: ${why}. The operation stopped.`, { domain });
      }
    },
    async release() {
      if ((await lost()) !== null) return;
      const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
      try {
        await (await open(join(dir, `${mine}.free`), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)).close();
      } catch (error) {
        if (errnoOf(error) !== 'EEXIST') throw error; // released already
      }
    },
  };
}

/** Exit status of `flock -n -E` when another process holds the lock. */
const HELD_ELSEWHERE = 75;

/**
 * The script holding a remote host's lock of one domain (its argument: the lock's file name): a file in a private
 * folder of the SSH login's home, locked with flock(1) for as long as the SSH channel stays open. The lock dies
 * with the channel (a release, a crash of this process, a lost connection), so a lock is never left behind.
 */
const HOST_LOCK_SCRIPT = [
  'h=${HOME:-/root}; d="$h/.local/state/virt-snaptree/locks"; u=$(id -u)',
  'mkdir -p -m 0700 -- "$d" || exit 70',
  // Nobody else may swap a folder on the way (the lock file is opened by path, following links): each is the
  // login's or root's and writable by no one else, and the lock folder is the login's alone.
  'for p in "$h" "$h/.local" "$h/.local/state" "$h/.local/state/virt-snaptree"; do',
  '  [ ! -L "$p" ] || { echo "$p is a symbolic link" >&2; exit 71; }',
  '  o=$(stat -c %u -- "$p"); m=$(stat -c %a -- "$p")',
  '  { [ "$o" = "$u" ] || [ "$o" = 0 ]; } && [ $(( 0$m & 022 )) -eq 0 ] || { echo "$p can be changed by another user (owner $o, mode $m)" >&2; exit 71; }',
  'done',
  '[ ! -L "$d" ] && [ "$(stat -c %u -- "$d")" = "$u" ] && [ "$(stat -c %a -- "$d")" = 700 ] || { echo "$d is not a private folder of $(id -un)" >&2; exit 71; }',
  '[ -L "$d/$1" ] && { echo "$d/$1 is a symbolic link" >&2; exit 71; }',
  `exec flock -n -E ${HELD_ELSEWHERE} -- "$d/$1" sh -c 'echo held; exec sleep infinity'`,
].join('\n');

/**
 * Takes the lock of `domain` on the remote host `files` acts on (docs/safety.md, rule 7): held by a command that
 * runs there until released, so another engine managing that host (from another computer) finds it held. A lock
 * on this computer's own files is the data folder's alone (`lockDomain`).
 */
export async function lockOnHost(files: HostFiles, uri: string, domain: string): Promise<DomainLock> {
  if (files.host === 'local') return { check: () => Promise.resolve(), release: () => Promise.resolve() };
  // Keyed by what names the domain on that host (its libvirt driver and the domain), not by this computer's alias for it.
  const driver = /^[a-z0-9]+(?:\+[a-z]+)?:\/\/[^/]*(\/[^?]*)/.exec(uri)?.[1] ?? uri;
  const name = createHash('sha256').update(`${driver}\0${domain}`).digest('hex').slice(0, 24);
  const stop = new AbortController();
  const state: { ended: string | null } = { ended: null };
  let taken: (() => void) | null = null;
  const held = new Promise<void>((resolve) => {
    taken = resolve;
  });
  const session = files.runner
    .run('sh', ['-c', HOST_LOCK_SCRIPT, 'sh', name], { signal: stop.signal, onStdout: (chunk) => (chunk.includes('held') ? taken?.() : undefined) })
    .then(
      (result) => {
        state.ended = result.exitCode === HELD_ELSEWHERE ? 'held' : `its lock command ended (${result.stderr.trim() || `exit ${String(result.exitCode)}`})`;
      },
      (error: unknown) => {
        state.ended = stop.signal.aborted ? 'released' : `the connection to ${files.host} ended (${error instanceof Error ? error.message : String(error)})`;
      },
    );
  await Promise.race([held, session]);
  if (state.ended === 'held') {
    throw new AppError('E_LOCKED', `Another operation is running on ${domain} on ${files.host} (from this or another computer). Wait for it to finish, then try again.`, { domain, host: files.host });
  }
  if (state.ended !== null) throw new AppError('E_LOCKED', `The lock on ${domain} could not be taken on ${files.host}: ${String(state.ended)}.`, { domain, host: files.host });
  return {
    async check() {
      if (state.ended !== null) throw new AppError('E_LOCKED', `The lock on ${domain} on ${files.host} was lost while the operation ran: ${String(state.ended)}. The operation stopped.`, { domain, host: files.host });
    },
    async release() {
      stop.abort();
      await session;
    },
  };
}

/** Both locks of an operation: this computer's (between its processes) and, for a remote host, that host's. */
export async function lockOperation(files: HostFiles, uri: string, domain: string): Promise<DomainLock> {
  const here = await lockDomain(uri, domain);
  let there: DomainLock;
  try {
    there = await lockOnHost(files, uri, domain);
  } catch (error) {
    await here.release();
    throw error;
  }
  return {
    async check() {
      await here.check();
      await there.check();
    },
    async release() {
      await there.release();
      await here.release();
    },
  };
}
