/** Revert discarding the current state: new overlays on the snapshot's saved state; what only the state left used goes to the trash. */
import { branchNodeId, snapshotNodeId } from '../../snapshot-graph';
import type { BranchRecords } from '../plan';
import { abandon, dropSteps } from './abandon';
import { finishPlan } from './checks';
import { isFailure, refuse, type Planner } from './context';
import { revertFrom } from './guard';
import { impact, OVERLAY_BYTES } from './impact';
import { recordsOf } from './records';
import { defineStep, memoryNotes, revertsExternal, revertSteps, withPower } from './steps';

export const revertDiscard: Planner<'revert-discard'> = {
  guard: { needsShutOff: true, needsLibvirt: false, allowProblems: false, stoppable: true },
  plan(ctx, intent, domain) {
    const from = revertFrom(domain, intent.snapshot);
    if (isFailure(from)) return { ok: false, refusal: from };
    const { snapshot, current } = from;
    if (intent.stop === 'save') return refuse('E_BAD_INPUT', 'A discarding revert keeps nothing of the state you leave, so there is no branch to save the running memory with. Revert with a new branch instead, or stop the VM another way.');
    const made = revertSteps(domain, snapshot, current, `${current.name}.${ctx.operationId.slice(0, 8)}`, revertsExternal(ctx.scan));
    if ('refusal' in made) return { ok: false, refusal: made.refusal };
    const keep = new Set(snapshot.disks.flatMap((d) => (d.stateLayer !== null ? [d.stateLayer] : [])));
    const dropped = abandon(ctx, domain, current.tips.map((t) => t.file), keep, made.disks);
    const records: BranchRecords = { ...recordsOf(domain), current: current.name };
    const steps = [
      ...made.creates,
      defineStep(domain, made.disks, records, `Point ${domain.name}'s disks at the new files; the state you leave is not kept.`),
      made.setCurrent,
      ...dropSteps(domain, dropped),
    ];
    return finishPlan(
      ctx,
      intent,
      withPower(domain, intent, steps, { resumeFrom: snapshot.memoryFile }),
      impact(domain, {
        created: Object.values(made.disks),
        trashed: dropped.layers,
        metadata: [
          `definition of ${domain.name}`,
          `current snapshot → ${snapshot.name}`,
          ...dropped.renamed.map((r) => `snapshot ${r.snapshot}`),
          ...dropped.snapshots.map((s) => `snapshot ${s} (deleted)`),
        ],
        changedNodes: [branchNodeId(current.name), ...dropped.snapshots.map(snapshotNodeId)],
        // The state left goes; the current branch keeps its name, on a new node under the snapshot.
        removedBranches: [current.name],
        createdNodes: [{ id: branchNodeId(current.name), name: current.name, kind: 'branch', parentId: snapshotNodeId(snapshot.name) }],
        currentAfter: branchNodeId(current.name),
        removedSnapshots: dropped.snapshots,
        spaceBytes: OVERLAY_BYTES * Object.keys(made.disks).length,
      }),
      [...(dropped.layers.length === 0 ? ['Nothing only the state you leave used was found; no file goes to the trash.'] : []), ...memoryNotes(snapshot)],
    );
  },
};
