/**
 * The steps several operations build: define the domain, set the current snapshot, new overlays for a revert,
 * commit, rebase, snapshot records, trash. Steps hold arguments only; `step-command.ts` makes them commands.
 */
import type { Branch, Domain, Layer, Snapshot } from '../../model';
import { basename, dirname } from '../../paths';
import type { BranchRecords, Refusal, Step } from '../plan';
import { TRASH_DIR } from '../trash-names';
import { layerFormat } from './records';

/** Defines the domain with these disks (target to file), each of the format the scan found, and these branch records. */
export function defineStep(domain: Domain, disks: Record<string, string>, records: BranchRecords, sentence: string): Step {
  const formats = Object.fromEntries(Object.entries(disks).map(([target, file]) => [target, layerFormat(domain, file)]));
  return { kind: 'define-domain', domain: domain.name, disks, formats, records, sentence };
}

export function setCurrentStep(domain: Domain, snapshot: string): Step {
  return { kind: 'set-current-snapshot', domain: domain.name, snapshot, sentence: `Make ${snapshot} libvirt's current snapshot of ${domain.name}.` };
}

/** How long a clean shutdown may take before the operation gives up, changing nothing, by default. */
export const SHUTDOWN_TIMEOUT_S = 120;

/** States in which the domain's QEMU runs. */
const LIVE = new Set(['running', 'paused', 'blocked', 'in shutdown', 'pmsuspended']);

/** What an operation that changes the disks' files asks of a live domain (intent.ts, `power`). */
export interface Power {
  stop?: 'shutdown' | 'force' | undefined;
  timeout?: number | undefined;
  start?: 'running' | 'paused' | undefined;
}

/**
 * `steps` with the domain stopped first when it runs (as `power.stop` says) and started after when asked. The
 * guard let a live domain through only because `stop` was given (planners/index.ts).
 */
export function withPower(domain: Domain, power: Power, steps: Step[]): Step[] {
  const before: Step[] = [];
  if (LIVE.has(domain.state) && power.stop !== undefined) {
    const timeoutSeconds = power.timeout ?? SHUTDOWN_TIMEOUT_S;
    const sentence =
      power.stop === 'force'
        ? `Power ${domain.name} off at once, as pulling the plug: what the guest had not written to its disks is lost.`
        : `Ask ${domain.name}'s guest to shut down, and wait up to ${timeoutSeconds} s for it; if it does not, nothing is changed.`;
    before.push({ kind: 'stop-domain', domain: domain.name, mode: power.stop, timeoutSeconds, sentence });
  }
  const after: Step[] =
    power.start === undefined
      ? []
      : [{ kind: 'start-domain', domain: domain.name, paused: power.start === 'paused', sentence: `Start ${domain.name}${power.start === 'paused' ? ', paused' : ''}.` }];
  return [...before, ...steps, ...after];
}

/** What a revert says about the RAM a snapshot saved: it is kept, but the VM is not resumed from it. */
export function memoryNotes(snapshot: Snapshot, power: Power): string[] {
  if (snapshot.memoryFile === null) return [];
  const start = power.start !== undefined ? 'The VM starts afresh from the disks' : 'The VM stays shut off';
  return [`${snapshot.name} also saved the VM's memory (${basename(snapshot.memoryFile)}); it is kept as it is, but not restored. ${start}.`];
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
  return { creates, disks, setCurrent: setCurrentStep(domain, snapshot.name) };
}
