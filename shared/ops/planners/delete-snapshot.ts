/**
 * Delete a snapshot, keeping every other snapshot and branch byte-identical. Per disk, with P its saved state and
 * X its overlay: commit X into P when P's only other dependant is X; else, when X holds no other snapshot's state
 * and is no tip, rebase X's children onto P and trash X; else only the snapshot's record goes.
 */
import type { Domain, Snapshot, SnapshotDisk } from '../../model';
import { basename } from '../../paths';
import { snapshotNodeId } from '../../snapshot-graph';
import { dependantsOf } from '../dependants';
import type { BranchRecords, Step } from '../plan';
import { finishPlan } from './checks';
import { isFailure, type PlanContext, type Planner } from './context';
import { otherDependants, snapshotsNaming } from './dependants-of';
import { findSnapshot } from './guard';
import { impact } from './impact';
import { disksOf, recordsOf } from './records';
import { commitStep, defineStep, deleteRecordStep, rebaseStep, redefineStep, trashStep } from './steps';

/** What the per-disk decisions add up to. */
interface Merge {
  steps: Step[];
  written: string[];
  trashed: string[];
  warnings: string[];
  /** A commit can grow P, and a rebase each child, by up to what X holds; the trash frees nothing until emptied. */
  space: number;
  /** Disk and branch-tip files to point elsewhere: X to P where X was committed. */
  retarget: Record<string, string>;
  /** Paths to rename in snapshot records: every trashed X to its P. */
  replace: Record<string, string>;
}

/** One disk of the snapshot: commit, rebase the children, or keep the files (see the module comment). */
function mergeDisk(ctx: PlanContext, domain: Domain, snapshot: Snapshot, disk: SnapshotDisk, out: Merge): void {
  const state = disk.stateLayer;
  const overlay = disk.overlay;
  if (disk.kind !== 'external' || state === null || overlay === null) return;
  const onState = otherDependants(ctx, state, { layers: [overlay], snapshots: [[domain.name, snapshot.name]] });
  const children = Object.values(domain.layers).filter((l) => l.backing === overlay);
  const onOverlay = dependantsOf(ctx.scan, overlay);
  const overlayIsState = onOverlay.some((d) => d.kind === 'snapshot');
  const overlayIsTip = onOverlay.some((d) => d.kind === 'disk' || d.kind === 'branch');
  const held = domain.layers[overlay]?.actualSize ?? 0;
  if (onState.length === 0) {
    // P serves only X (and the snapshot going away): fold X into P and let X's users read P.
    out.steps.push(
      commitStep(domain, overlay, state, `Commit ${basename(overlay)} into ${basename(state)} (${disk.target}): the saved state of ${snapshot.name} takes in the changes made after it.`),
    );
    out.written.push(state);
    out.space += held;
    for (const child of children) {
      out.steps.push(rebaseStep(domain, child, state, true, `Point ${basename(child.path)} at ${basename(state)}, which now holds what ${basename(overlay)} held.`));
      // Only its header changes (the backing name): the guest reads the same bytes through it.
      out.written.push(child.path);
    }
    out.retarget[overlay] = state;
  } else if (!overlayIsState && !overlayIsTip && children.length > 0) {
    // P is shared, but X only carries its children: copy X's data into each child and let it go.
    for (const child of children) {
      out.steps.push(rebaseStep(domain, child, state, false, `Rebase ${basename(child.path)} onto ${basename(state)}, copying in what ${basename(overlay)} held, so it reads the same.`));
      out.written.push(child.path);
      out.space += held;
    }
  } else {
    const why = onState.map((d) => d.description).join('; ');
    out.warnings.push(
      `Disk ${disk.target}: ${basename(state)} has other dependants (${why}) and ${basename(overlay)} ${overlayIsState ? 'holds another snapshot\u2019s saved state' : 'is still in use'}; the files stay, only the snapshot's record goes.`,
    );
    return;
  }
  out.replace[overlay] = state;
  out.trashed.push(overlay);
}

/** The define step when a disk or a branch tip was on a committed X. */
function defineAfterMerge(domain: Domain, retarget: Record<string, string>): Step[] {
  const records = recordsOf(domain);
  const tipsMove = records.branches.some((b) => b.tips.some((t) => retarget[t.file] !== undefined));
  const disksMove = domain.disks.some((d) => d.file !== null && retarget[d.file] !== undefined);
  if (!tipsMove && !disksMove) return [];
  const retipped: BranchRecords = tipsMove
    ? { ...records, branches: records.branches.map((b) => ({ ...b, tips: b.tips.map((t) => ({ ...t, file: retarget[t.file] ?? t.file })) })) }
    : records;
  return [defineStep(domain, disksOf(domain, retarget), retipped, `Point ${domain.name}'s disks and branch records at the merged files.`)];
}

/** Children of the snapshot take its parent; records naming a trashed file name its replacement instead. Keys are "domain\0snapshot". */
function recordUpdates(ctx: PlanContext, domain: Domain, snapshot: Snapshot, replace: Record<string, string>): { keys: string[]; steps: Step[] } {
  const children = domain.snapshots.filter((s) => s.parent === snapshot.name);
  const renamed = new Set<string>();
  for (const path of Object.keys(replace)) for (const hit of snapshotsNaming(ctx, path)) if (hit.snapshot.name !== snapshot.name) renamed.add(`${hit.domain}\0${hit.snapshot.name}`);
  for (const child of children) renamed.add(`${domain.name}\0${child.name}`);
  const keys = [...renamed].sort();
  const steps = keys.map((key) => {
    const [dom, snap] = key.split('\0') as [string, string];
    const isChild = dom === domain.name && children.some((c) => c.name === snap);
    const sentence = `Update the record of snapshot ${snap}: ${isChild ? `its parent becomes ${snapshot.parent ?? 'none'}` : 'it keeps its place'}${Object.keys(replace).length > 0 ? ', and it names the merged files' : ''}.`;
    return redefineStep(dom, snap, replace, isChild ? snapshot.parent : undefined, sentence);
  });
  return { keys, steps };
}

export const deleteSnapshot: Planner<'delete-snapshot'> = {
  guard: { needsShutOff: true, needsLibvirt: false, allowProblems: false },
  plan(ctx, intent, domain) {
    const snapshot = findSnapshot(domain, intent.snapshot);
    if (isFailure(snapshot)) return { ok: false, refusal: snapshot };
    const merge: Merge = { steps: [], written: [], trashed: [], warnings: [], space: 0, retarget: {}, replace: {} };
    for (const disk of intent.metadataOnly ? [] : snapshot.disks) mergeDisk(ctx, domain, snapshot, disk, merge);
    const updates = recordUpdates(ctx, domain, snapshot, merge.replace);
    // The memory the snapshot saved goes with its record: nothing else can resume from it.
    if (!intent.metadataOnly && snapshot.memoryFile !== null) merge.trashed.push(snapshot.memoryFile);
    const steps = [
      ...merge.steps,
      ...defineAfterMerge(domain, merge.retarget),
      ...updates.steps,
      deleteRecordStep(domain.name, snapshot.name, `Delete libvirt's record of snapshot ${snapshot.name}.`),
      ...merge.trashed.map(trashStep),
    ];
    return finishPlan(
      ctx,
      intent,
      steps,
      impact(domain, {
        written: merge.written,
        trashed: merge.trashed,
        metadata: [`snapshot ${snapshot.name}`, ...updates.keys.map((k) => `snapshot ${k.split('\0')[1] ?? ''}`)],
        changedNodes: [snapshotNodeId(snapshot.name)],
        removedSnapshots: [snapshot.name],
        spaceBytes: merge.space,
      }),
      merge.warnings,
    );
  },
};
