/**
 * Delete a snapshot, keeping every other snapshot and branch byte-identical. Per disk, with P its saved state and
 * X its overlay: (1) commit X into P when P's only other dependant is X; else, (2) when X holds no other snapshot's
 * state and is no tip, rebase X's children onto P and trash X; else only the snapshot's record goes.
 *
 * On a running or paused domain, files QEMU has open are changed by QEMU's block jobs, never by qemu-img: X in a
 * running chain is committed by `blockcommit` (`--active`, then a pivot, when X is the layer the VM writes), and
 * case 2 copies X into the active layer by `blockpull`. Files no running chain holds are changed as offline.
 */
import type { Domain, Layer, Snapshot, SnapshotDisk } from '../../model';
import { basename } from '../../paths';
import { snapshotNodeId } from '../../snapshot-graph';
import { dependantsOf } from '../dependants';
import type { BranchRecords, Refusal, Step } from '../plan';
import { finishPlan } from './checks';
import { isFailure, type PlanContext, type Planner } from './context';
import { otherDependants, snapshotsNaming } from './dependants-of';
import { findSnapshot } from './guard';
import { impact } from './impact';
import { disksOf, recordsOf } from './records';
import { blockCommitStep, blockPullStep, byQemu, commitStep, defineStep, deleteRecordStep, isLive, rebaseStep, redefineStep, revertsExternal, runningPlace, setCurrentStep, trashStep } from './steps';

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
  /** Why a disk cannot be merged while the domain runs. */
  refusal?: Refusal;
}

/** Commits X into P (case 1 of the module comment): by qemu-img, or by a block job when the VM runs on X. */
function commitOverlay(domain: Domain, snapshot: Snapshot, disk: SnapshotDisk, overlay: string, state: string, children: Layer[], out: Merge): void {
  const running = runningPlace(domain, overlay);
  if (running !== null && running.at > 0 && domain.state !== 'running') {
    // QEMU 7.2 refuses it ("Block node is read-only"): the layers below the one a paused VM writes stay read-only.
    out.refusal ??= {
      code: 'E_DOMAIN_RUNNING',
      message: `Domain "${domain.name}" is ${domain.state}: QEMU commits ${basename(overlay)}, which lies below the layer the VM writes, only while the VM runs. Resume it, or shut it down first.`,
      details: { path: overlay },
    };
    return;
  }
  const sentence = `Commit ${basename(overlay)} into ${basename(state)} (${disk.target}): the saved state of ${snapshot.name} takes in the changes made after it.`;
  if (running === null) {
    out.steps.push(commitStep(domain, overlay, state, sentence));
  } else {
    const how = running.at === 0 ? `, and ${disk.target} then runs on ${basename(state)}` : `, and the layer above it then reads from ${basename(state)}`;
    out.steps.push(blockCommitStep(domain, running, overlay, state, `${sentence} ${byQemu(domain)}${how}.`));
  }
  out.written.push(state);
  out.space += domain.layers[overlay]?.actualSize ?? 0;
  // QEMU points the running layer above X at P itself, rewriting its header; every other child takes P's name in its header.
  const above = running === null ? undefined : running.chain[running.at - 1];
  if (above !== undefined) out.written.push(above);
  for (const child of children.filter((c) => c.path !== above)) {
    out.steps.push(rebaseStep(domain, child, state, true, `Point ${basename(child.path)} at ${basename(state)}, which now holds what ${basename(overlay)} held.`));
    // Only its header changes (the backing name): the guest reads the same bytes through it.
    out.written.push(child.path);
  }
  out.retarget[overlay] = state;
}

/**
 * Copies X into each of its children and rebases them onto P (case 2 of the module comment): a running active
 * layer by a block pull. A running layer below the active one cannot be: QEMU pulls into the active layer only.
 */
function pullIntoChildren(domain: Domain, overlay: string, state: string, children: Layer[], out: Merge): void {
  const held = domain.layers[overlay]?.actualSize ?? 0;
  for (const child of children) {
    const running = runningPlace(domain, child.path);
    if (running !== null && domain.state !== 'running') {
      out.refusal ??= {
        code: 'E_DOMAIN_RUNNING',
        message: `Domain "${domain.name}" is ${domain.state}: copying ${basename(overlay)}'s data into the layer it writes needs the VM running, for QEMU to put that data on disk as the job ends (it does so when it pauses the VM). Resume it, or shut it down first.`,
        details: { path: child.path },
      };
      return;
    }
    if (running !== null && running.at > 0) {
      out.refusal ??= {
        code: 'E_DOMAIN_RUNNING',
        message: `Domain "${domain.name}" is ${domain.state}, and ${basename(child.path)} lies below its active layer: QEMU can copy ${basename(overlay)}'s data only into the active layer while the VM runs. Shut it down first.`,
        details: { path: child.path },
      };
      return;
    }
    out.steps.push(
      running === null
        ? rebaseStep(domain, child, state, false, `Rebase ${basename(child.path)} onto ${basename(state)}, copying in what ${basename(overlay)} held, so it reads the same.`)
        : blockPullStep(
            domain,
            running,
            state,
            `Copy what ${basename(overlay)} holds into ${basename(child.path)}, the layer the VM writes, which then builds on ${basename(state)}: ${byQemu(domain)}, then the VM is paused for a moment so that QEMU writes it all to disk.`,
          ),
    );
    out.written.push(child.path);
    out.space += held;
  }
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
  // A clone's files are another domain's, which this plan does not redefine: the X it builds on stays as it is. So
  // does an X a layer of another domain builds on (one made with virsh alone, no clone record): neither is rebased.
  const clones = [...new Set(onOverlay.filter((d) => d.kind === 'clone').map((d) => d.domain))];
  const others = onOverlay.filter((d) => d.kind === 'layer' && !children.some((c) => c.path === d.name));
  if (clones.length === 0 && others.length === 0 && onState.length === 0) {
    // P serves only X (and the snapshot going away): fold X into P and let X's users read P.
    commitOverlay(domain, snapshot, disk, overlay, state, children, out);
  } else if (clones.length === 0 && others.length === 0 && !overlayIsState && !overlayIsTip && children.length > 0) {
    // P is shared, but X only carries its children: copy X's data into each child and let it go.
    pullIntoChildren(domain, overlay, state, children, out);
  } else {
    const why = onState.length > 0 ? `${basename(state)} has other dependants (${onState.map((d) => d.description).join('; ')}) and ` : '';
    const overlayWhy = overlayIsState
      ? 'holds another snapshot\u2019s saved state'
      : clones.length > 0
        ? `is what ${clones.map((c) => `clone ${c}`).join(', ')} builds on`
        : others.length > 0
          ? `has other dependants (${others.map((d) => d.description).join('; ')})`
          : 'is still in use';
    out.warnings.push(`Disk ${disk.target}: ${why}${basename(overlay)} ${overlayWhy}; the files stay, only the snapshot's record goes.`);
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

/** Children of the snapshot take its parent; records naming a trashed file name its replacement instead. Keys are "domain\0snapshot". Fold-commit uses it too. */
export function recordUpdates(ctx: PlanContext, domain: Domain, snapshot: Snapshot, replace: Record<string, string>): { keys: string[]; steps: Step[] } {
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
  guard: { needsShutOff: true, needsLibvirt: false, allowProblems: false, blockJobs: true },
  plan(ctx, intent, domain) {
    const snapshot = findSnapshot(domain, intent.snapshot);
    if (isFailure(snapshot)) return { ok: false, refusal: snapshot };
    const merge: Merge = { steps: [], written: [], trashed: [], warnings: [], space: 0, retarget: {}, replace: {} };
    for (const disk of intent.metadataOnly ? [] : snapshot.disks) mergeDisk(ctx, domain, snapshot, disk, merge);
    if (merge.refusal !== undefined) return { ok: false, refusal: merge.refusal };
    const updates = recordUpdates(ctx, domain, snapshot, merge.replace);
    // The memory the snapshot saved goes with its record: nothing else can resume from it.
    if (!intent.metadataOnly && snapshot.memoryFile !== null) merge.trashed.push(snapshot.memoryFile);
    const steps = [
      ...merge.steps,
      ...defineAfterMerge(domain, merge.retarget),
      ...updates.steps,
      deleteRecordStep(domain.name, snapshot.name, `Delete libvirt's record of snapshot ${snapshot.name}.`),
      // libvirt then makes the parent current as it is, its overlays now another state's files; where libvirt reverts
      // external snapshots itself, the parent records the files the domain is on, as setCurrentStep says.
      ...(snapshot.current && snapshot.parent !== null && revertsExternal(ctx.scan) ? [setCurrentStep(domain, snapshot.parent, disksOf(domain, merge.retarget), true)] : []),
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
        mustStop: !isLive(domain),
      }),
      merge.warnings,
    );
  },
};
