/**
 * Health of a domain's layers: `qemu-img check` per layer (read-only, `-U` so a running VM's images can be
 * looked at), the qcow2 dirty bit, and layers written after other files were built on them (their content may
 * have changed under those files), told from modification and birth times where the file system keeps them. A
 * file the app's own operation wrote last is not reported so, nor is a warning the user acknowledged on the file
 * as it is now (acks.ts).
 */
import { statSync } from 'node:fs';
import type { HealthReport, LayerHealth } from '../../shared/inspect';
import { runChecked, type HostRunner } from '../tools/host-runner';
import { flaggedInChain, flaggedPaths, unknownLink } from '../../shared/assemble';
import type { Domain, Layer } from '../../shared/model';
import { AppError } from '../../shared/errors';
import pLimit from 'p-limit';
import { basename } from '../../shared/paths';
import { readQcow2Header } from '../tools/qcow2-header';
import { qemuImgCheck, qemuImgInfo, type CheckReport } from '../tools/qemu-img';
import { ackOf, addAck, readAcks, readOwnWrites, sameWrite, type Ack } from './acks';

const QCOW2_DIRTY = 1;
/** Writes within this long after an overlay was made belong to making it. */
const SLACK_MS = 2000;

/** What a layer's check found; an image qemu-img could not check at all counts as one check error. */
type CheckCounts = Pick<CheckReport, 'checkErrors' | 'corruptions' | 'leaks'>;

/** `qemu-img check -U`, read-only: for display, so it may look at images a running VM holds. */
async function checkImage(path: string, format: string, runner?: HostRunner): Promise<CheckCounts> {
  try {
    return await qemuImgCheck({ path, format }, { shared: true }, { runner });
  } catch (error) {
    if (error instanceof AppError && error.code === 'E_TOOL') return { checkErrors: 1, corruptions: 0, leaks: 0 };
    throw error;
  }
}

/** What a check reads of the files besides qemu-img check, on the host that holds them. */
interface FileFacts {
  dirty(path: string): Promise<boolean>;
  /** Modification and birth times in ms; birth 0 where the file system keeps none. */
  times(path: string): { modified: number; born: number };
}

/** This computer's files: the dirty bit from the header, the times from stat. */
const localFacts: FileFacts = {
  dirty: async (path) => ((readQcow2Header(path)?.incompatibleFeatures ?? 0) & QCOW2_DIRTY) !== 0,
  times: (path) => {
    const stats = statSync(path);
    return { modified: stats.mtimeMs, born: stats.birthtimeMs };
  },
};

/** A host reached over SSH: the dirty bit as `qemu-img info -U` there says it, the times of every layer in one `stat` there. */
async function remoteFacts(runner: HostRunner, paths: string[]): Promise<FileFacts> {
  // A few hundred paths a command: ssh sends the remote command line as one argument, at most 128 KiB.
  const chunks: string[][] = [];
  for (let at = 0; at < paths.length; at += 400) chunks.push(paths.slice(at, at + 400));
  const lines = (await Promise.all(chunks.map((chunk) => runChecked(runner, 'stat', ['-c', '%.3Y %.3W', '--', ...chunk])))).flatMap((out) => out.split('\n').filter(Boolean));
  const times = new Map(
    lines.map((line, i) => {
      const [modified = '0', born = '0'] = line.split(' ');
      return [paths[i] ?? '', { modified: Number(modified) * 1000, born: Number(born) * 1000 }] as const;
    }),
  );
  return {
    dirty: async (path) => (await qemuImgInfo(path, { format: 'qcow2', shared: true, runner }))[0]?.['dirty-flag'] === true,
    times: (path) => times.get(path) ?? { modified: 0, born: 0 },
  };
}

/**
 * Checks every layer of a domain, or only the one at `only`. qemu-img runs on the host of the files (`runner`,
 * a host reached over SSH; this computer when omitted), and what else is read of them is read there too.
 */
export async function checkDomain(domain: Domain, only?: string, runner?: HostRunner): Promise<HealthReport> {
  if (only !== undefined && domain.layers[only] === undefined) throw new AppError('E_NOT_FOUND', `${only} is not a file of ${domain.name}.`);
  const limit = pLimit(2);
  const facts = runner === undefined ? localFacts : await remoteFacts(runner, Object.keys(domain.layers));
  const host = runner?.host ?? 'local';
  // A data folder that cannot be read takes nothing away from the check: it then says all it sees.
  const memory: Memory = { host, ownWrites: await readOwnWrites(host).catch(() => new Map()), acks: await readAcks().catch(() => []) };
  const layers = await Promise.all(
    Object.values(domain.layers)
      .filter((l) => only === undefined || l.path === only)
      .map((layer) => limit(async () => remembered(await checkLayer(domain, layer, facts, memory, runner), facts, memory))),
  );
  return { domain: domain.name, layers, healthy: layers.every((l) => l.findings.length === 0) };
}

/** What the data folder says of the host's files: the app's own last writes, the acknowledged warnings. */
interface Memory {
  host: string;
  ownWrites: Awaited<ReturnType<typeof readOwnWrites>>;
  acks: Ack[];
}

/** The app's own operation that wrote `path` last, when nothing wrote it since. */
function ownWriteOf(memory: Memory, path: string, modified: number): LayerHealth['ownWrite'] {
  const own = memory.ownWrites.get(path);
  return own !== undefined && sameWrite(own.modified, modified) ? { operationId: own.operationId, op: own.op, at: own.at } : undefined;
}

/**
 * When something other than the app last wrote `path`: now (`modified`) unless the app's own operation wrote it
 * last, else before the app's writes (undefined where that is not known, as for a recovered operation).
 */
function foreignWriteOf(memory: Memory, path: string, modified: number): number | undefined {
  const own = memory.ownWrites.get(path);
  return own !== undefined && sameWrite(own.modified, modified) ? own.before : modified;
}

/** The layer's "written after" warnings moved out of its findings when the user acknowledged them on the file as it is now. */
function remembered(health: LayerHealth, facts: FileFacts, memory: Memory): LayerHealth {
  if (health.writtenAfter.length === 0) return health;
  const ack = ackOf(memory.acks, memory.host, health.path, facts.times(health.path).modified);
  if (ack === null) return health;
  const acked = health.findings.filter((f) => f.startsWith(WRITTEN_AFTER));
  return { ...health, findings: health.findings.filter((f) => !f.startsWith(WRITTEN_AFTER)), acknowledged: { reason: ack.reason, at: ack.at, findings: acked } };
}

/**
 * Keeps the user's acknowledgement of the warnings on `path`, a file of `domain`, with `reason`: for the file as it
 * is now, so that the next write to it raises them again.
 */
export async function acknowledgeWarning(domain: Domain, path: string, reason: string, runner?: HostRunner): Promise<Ack> {
  if (domain.layers[path] === undefined) throw new AppError('E_NOT_FOUND', `${path} is not a file of ${domain.name}.`);
  const facts = runner === undefined ? localFacts : await remoteFacts(runner, [path]);
  return addAck({ host: runner?.host ?? 'local', path, modified: facts.times(path).modified, reason });
}

/** How a "written after" finding starts, so that an acknowledgement can set those apart. */
const WRITTEN_AFTER = 'It was written after ';

/**
 * A file as the user knows it: the snapshot whose saved state it holds, the branch whose tip it is, an image of a
 * folder; a file by its name only when it is none of those (its path stays in `writtenAfter`).
 */
export function knownAs(domain: Domain, path: string): string {
  if (domain.state === 'folder') return `image ${basename(path)}`;
  const snapshot = domain.snapshots.find((s) => s.disks.some((d) => d.stateLayer === path));
  if (snapshot !== undefined) return `snapshot ${snapshot.name}`;
  const branch = domain.branches.find((b) => b.tips.some((t) => t.file === path));
  if (branch !== undefined) return branch.origin === 'loose' ? `loose file ${basename(path)}` : `branch ${branch.name}`;
  return `file ${basename(path)}`;
}

async function checkLayer(domain: Domain, layer: Layer, facts: FileFacts, memory: Memory, runner?: HostRunner): Promise<LayerHealth> {
  // qemu-img check opens the whole chain: a link it would have to probe (docs/safety.md, rule 9) means the layer is not
  // checked, and so does an external data file in it, which qemu-img would open wherever its name points.
  const unknown = layer.format === 'qcow2' ? unknownLink(domain.layers, layer.path) : null;
  const dataFile = layer.format === 'qcow2' ? flaggedInChain(domain.layers, layer.path, flaggedPaths(domain.problems, 'external-data-file')) : null;
  // A raw file has no metadata to check: qemu-img says so and exits 63.
  const out = layer.format === 'qcow2' && unknown === null && dataFile === null ? await checkImage(layer.path, layer.format, runner) : { checkErrors: 0, corruptions: 0, leaks: 0 };
  const dirty = layer.format === 'qcow2' && (await facts.dirty(layer.path));
  const modified = facts.times(layer.path).modified;
  // The app's own operation wrote it last: its plan kept what builds on it reading the same (docs/safety.md, rule 3),
  // so only a write by something else before it counts.
  const ownWrite = ownWriteOf(memory, layer.path, modified);
  const foreign = foreignWriteOf(memory, layer.path, modified);
  const writtenAfter = Object.values(domain.layers)
    .filter((child) => child.backing === layer.path)
    .filter((child) => {
      const born = facts.times(child.path).born;
      return foreign !== undefined && born > 0 && foreign > born + SLACK_MS;
    })
    .map((child) => child.path);
  const findings: string[] = [];
  const { checkErrors, corruptions, leaks } = out;
  if (unknown !== null) {
    findings.push(`Not checked: its chain has a backing link without a recorded format, or to a file that was not read (at ${basename(unknown)}), and qemu-img would have to guess it.`);
  }
  if (dataFile !== null) {
    findings.push(
      `Not checked: its chain has an image with an external data file (${basename(dataFile)}), which qemu-img would open and read; the app cannot vouch for that file, so it does not open it until external data files are supported.`,
    );
  }
  if (checkErrors > 0) findings.push(`qemu-img could not finish checking ${basename(layer.path)}.`);
  if (corruptions > 0) findings.push(`${corruptions} corrupted cluster record(s): data may be wrong. Do not write to it until it is repaired (virt-snaptree repair --all keeps a copy of it first).`);
  if (leaks > 0) findings.push(`${leaks} leaked cluster(s): space is wasted, data is intact. Repairing (qemu-img check -r leaks) frees it while nothing uses the image.`);
  if (dirty) findings.push('It was not closed cleanly (dirty bit set); the next open repairs it.');
  for (const child of writtenAfter) {
    const known = knownAs(domain, child);
    findings.push(`${WRITTEN_AFTER}${known} was built on it: what ${known} reads may have changed.`);
  }
  return { path: layer.path, checkErrors, corruptions, leaks, dirty, writtenAfter, findings, ...(ownWrite !== undefined ? { ownWrite } : {}) };
}
