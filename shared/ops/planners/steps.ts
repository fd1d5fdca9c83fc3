/**
 * The steps several operations build: define the domain, set the current snapshot, new overlays for a revert,
 * commit, rebase, snapshot records, trash. Steps hold arguments only; `step-command.ts` makes them commands.
 */
import { handlesExternalSnapshots, isLiveState } from '../../domain-state';
import type { Branch, BranchTip, Domain, Layer, ScanResult, Snapshot } from '../../model';
import { basename, dirname } from '../../paths';
import type { BranchRecords, Refusal, Step } from '../plan';
import { TRASH_DIR } from '../trash-names';
import { layerFormat } from './records';

/** Defines the domain with these disks (target to file), each of the format the scan found, and these branch records. */
export function defineStep(domain: Domain, disks: Record<string, string>, records: BranchRecords, sentence: string): Step {
  const formats = Object.fromEntries(Object.entries(disks).map(([target, file]) => [target, layerFormat(domain, file)]));
  return { kind: 'define-domain', domain: domain.name, disks, formats, records, sentence };
}

/** Whether the scan's libvirt reverts external snapshots itself (9.9 and later), deleting the current state's files. */
export function revertsExternal(scan: ScanResult): boolean {
  return handlesExternalSnapshots(scan.hypervisor);
}

/**
 * Makes `snapshot` libvirt's current snapshot of the domain, which is left on `tips` (target to file). Where libvirt
 * reverts external snapshots itself (`revertAware`), its revert deletes the current snapshot's revert disks, or else
 * its overlays, as the state it leaves, and its delete of a child turns the revert disks into the snapshot's
 * overlays: so the record names `tips` as its revert disks, as libvirt does after its own revert, unless they are
 * its own overlays. libvirt's own revert then deletes what it always deletes, the state it leaves, and nothing else.
 */
export function setCurrentStep(domain: Domain, snapshot: string, tips: Record<string, string> = {}, revertAware = false): Step {
  const step: Step = { kind: 'set-current-snapshot', domain: domain.name, snapshot, sentence: `Make ${snapshot} libvirt's current snapshot of ${domain.name}.` };
  const record = domain.snapshots.find((s) => s.name === snapshot);
  if (!revertAware || record === undefined) return step;
  const overlays = new Map(record.disks.filter((d) => d.kind === 'external').map((d) => [d.target, d.overlay]));
  const left = Object.entries(tips).filter(([target]) => overlays.has(target));
  // Written even when the record says so already: making a snapshot current clears the revert disks libvirt holds.
  if (left.every(([target, file]) => overlays.get(target) === file)) return { ...step, revertDisks: null };
  const revertDisks = Object.fromEntries(left.map(([target, file]) => [target, { file, format: layerFormat(domain, file) }]));
  const sentence = `${step.sentence.slice(0, -1)}, recording ${left.map(([, f]) => basename(f)).join(', ')} as its revert disks, as libvirt does after its own revert: the state libvirt's own revert would leave, in place of ${snapshot}'s overlays.`;
  return { ...step, revertDisks, sentence };
}

/** How long a clean shutdown may take before the operation gives up, changing nothing, by default. */
export const SHUTDOWN_TIMEOUT_S = 120;

/** What an operation that changes the disks' files asks of a live domain (intent.ts, `power`). */
export interface Power {
  stop?: 'shutdown' | 'force' | 'save' | undefined;
  timeout?: number | undefined;
  start?: 'running' | 'paused' | undefined;
}

/** Whether the domain's QEMU runs, so that an operation on its files must stop it first. */
export const isLive = (domain: Domain): boolean => isLiveState(domain.state);

/**
 * Where `virsh save` keeps the memory of the state left as branch `branch`, beside the domain's first disk, when
 * `power` stops a live domain that way; null otherwise.
 */
export function savedMemoryFile(domain: Domain, power: Power, branch: string, tips: BranchTip[]): string | null {
  const first = tips[0];
  if (power.stop !== 'save' || !isLive(domain) || first === undefined) return null;
  return `${dirname(first.file)}/${domain.name.replaceAll(',', '_')}.${branch.replaceAll(',', '_')}.mem`;
}

/** The step that stops a live domain as `power` says (`saveTo`: the memory file of a `save`). */
function stopStep(domain: Domain, power: Power, saveTo: string | null): Step | null {
  if (!isLive(domain) || power.stop === undefined) return null;
  const timeoutSeconds = power.timeout ?? SHUTDOWN_TIMEOUT_S;
  const base = { kind: 'stop-domain' as const, domain: domain.name, timeoutSeconds };
  if (power.stop === 'save' && saveTo !== null) {
    return { ...base, mode: 'save', memoryFile: saveTo, sentence: `Save ${domain.name}'s memory to ${basename(saveTo)} and stop it: the state you leave keeps it, and switching back to it resumes the VM where it was.` };
  }
  if (power.stop === 'force') return { ...base, mode: 'force', sentence: `Power ${domain.name} off at once, as pulling the plug: what the guest had not written to its disks is lost.` };
  return { ...base, mode: 'shutdown', sentence: `Ask ${domain.name}'s guest to shut down, and wait up to ${timeoutSeconds} s for it; if it does not, nothing is changed.` };
}

/**
 * `steps` with the domain stopped first when it runs (as `power.stop` says), and after them resumed from saved
 * memory (`resumeFrom`: a snapshot's, or the branch switched to) or started when asked. The guard let a live
 * domain through only because `stop` was given (planners/index.ts).
 */
export function withPower(domain: Domain, power: Power, steps: Step[], memory: { saveTo?: string | null; resumeFrom?: string | null } = {}): Step[] {
  const stop = stopStep(domain, power, memory.saveTo ?? null);
  const paused = power.start === 'paused';
  const after: Step[] = [];
  if (memory.resumeFrom !== undefined && memory.resumeFrom !== null) {
    const how = paused ? ', paused' : ', running or paused as it was then';
    const sentence = `Resume ${domain.name} from the memory saved in ${basename(memory.resumeFrom)}${how}, on the disks it now uses.`;
    after.push({ kind: 'restore-domain', domain: domain.name, memoryFile: memory.resumeFrom, paused, sentence });
  } else if (power.start !== undefined) {
    after.push({ kind: 'start-domain', domain: domain.name, paused, sentence: `Start ${domain.name}${paused ? ', paused' : ''}.` });
  }
  return [...(stop !== null ? [stop] : []), ...steps, ...after];
}

/** What a revert to a snapshot that saved the VM's memory says: the VM resumes from it, and the file is only read. */
export function memoryNotes(snapshot: Snapshot): string[] {
  if (snapshot.memoryFile === null) return [];
  return [`${snapshot.name} saved the VM's memory too: the VM resumes from it where it was when the snapshot was taken. ${basename(snapshot.memoryFile)} is only read, never changed.`];
}

/** Moves a file into this operation's folder in the trash beside it. */
export function trashStep(path: string): Step {
  return { kind: 'trash', path, sentence: `Move ${basename(path)} to the trash (${TRASH_DIR}/ beside it); it can be restored until the trash is emptied.` };
}

/** Commits `top` (a layer of `domain`) into `base`. */
export function commitStep(domain: Domain, top: string, base: string, sentence: string): Step {
  return { kind: 'commit', top, format: layerFormat(domain, top), base, sentence };
}

/** Points `child` at `backing`: header only when `unsafe`, else copying in what the old backing held. */
export function rebaseStep(domain: Domain, child: Layer, backing: string, unsafe: boolean, sentence: string): Step {
  return { kind: 'rebase', path: child.path, format: child.format, backing, backingFormat: layerFormat(domain, backing), unsafe, sentence };
}

export function deleteRecordStep(domain: string, snapshot: string, sentence: string): Step {
  return { kind: 'delete-snapshot-metadata', domain, snapshot, sentence };
}

export function redefineStep(domain: string, snapshot: string, replace: Record<string, string>, parent: string | null | undefined, sentence: string): Step {
  return { kind: 'redefine-snapshot', domain, snapshot, replace, ...(parent !== undefined ? { parent } : {}), sentence };
}

/**
 * The first steps of every revert: per disk, a new overlay on the snapshot's saved state, named after the
 * new branch; and the step that makes the snapshot libvirt's current one.
 */
export function revertSteps(
  domain: Domain,
  snapshot: Snapshot,
  current: Branch,
  branchName: string,
  revertAware: boolean,
): { creates: Step[]; disks: Record<string, string>; setCurrent: Step } | { refusal: Refusal } {
  const creates: Step[] = [];
  const disks: Record<string, string> = {};
  for (const tip of current.tips) {
    const saved = snapshot.disks.find((d) => d.target === tip.target && d.kind === 'external');
    if (saved === undefined || saved.stateLayer === null) {
      return {
        refusal: {
          code: 'E_NOT_SUPPORTED',
          message: `Snapshot "${snapshot.name}" holds no external saved state of disk ${tip.target}, so the domain cannot return to it as a whole.`,
          details: { target: tip.target },
        },
      };
    }
    const path = `${dirname(saved.stateLayer)}/${domain.name}.${branchName}.${tip.target}.qcow2`;
    if (domain.layers[path] !== undefined) return { refusal: { code: 'E_NAME_TAKEN', message: `The file ${path} already exists.`, details: { path } } };
    creates.push({
      kind: 'create-overlay',
      path,
      backing: saved.stateLayer,
      backingFormat: layerFormat(domain, saved.stateLayer),
      sentence: `Create ${basename(path)} for ${tip.target}: a new, empty layer on the saved state of ${snapshot.name} (${basename(saved.stateLayer)}).`,
    });
    disks[tip.target] = path;
  }
  return { creates, disks, setCurrent: setCurrentStep(domain, snapshot.name, disks, revertAware) };
}

/** Where a layer sits in a running or paused domain's disk chains: the disk, its chain (active layer first), the layer's place in it. */
export interface RunningPlace {
  target: string;
  chain: string[];
  at: number;
}

/** The place of `path` in the chains QEMU has open for a live domain; null when the domain is not live or no chain holds it. */
export function runningPlace(domain: Domain, path: string): RunningPlace | null {
  if (!isLive(domain)) return null;
  for (const disk of domain.disks) {
    const at = disk.chain.indexOf(path);
    if (at !== -1) return { target: disk.target, chain: disk.chain, at };
  }
  return null;
}

/** How a sentence says a block job runs on the domain: with the VM running, or paused. */
export const byQemu = (domain: Domain): string => `QEMU does it while the VM ${domain.state === 'paused' ? 'stays paused' : 'runs'}`;

/** QEMU folds `top` into `base` while the VM runs; `active` when `top` is the disk's active layer, which then pivots onto `base`. */
export function blockCommitStep(domain: Domain, place: RunningPlace, top: string, base: string, sentence: string): Step {
  const active = place.at === 0;
  // The command shown starts the job; the pivot that ends an active one is the engine's, said here.
  const pivot = active ? ` Once QEMU has copied everything, the engine moves the disk onto ${basename(base)} (virsh blockjob --pivot).` : '';
  return { kind: 'block-commit', domain: domain.name, target: place.target, top, base, active, sentence: `${sentence}${pivot}` };
}

/**
 * Folds a branch tip `top` into its backing file `base`: `qemu-img commit` on a stopped domain, a block commit
 * (QEMU's, the disk then running on `base`) on a live one.
 */
export function commitTipStep(domain: Domain, tip: { file: string; target: string }, base: string, sentence: string): Step {
  const running = runningPlace(domain, tip.file);
  return running === null ? commitStep(domain, tip.file, base, sentence) : blockCommitStep(domain, running, tip.file, base, `${sentence} ${byQemu(domain)}, and ${tip.target} then runs on ${basename(base)}.`);
}

/** QEMU copies into the disk's active layer `top` what lies between it and `base`, while the VM runs. */
export function blockPullStep(domain: Domain, place: RunningPlace, base: string, sentence: string): Step {
  return { kind: 'block-pull', domain: domain.name, target: place.target, top: place.chain[0] ?? '', base, sentence };
}
