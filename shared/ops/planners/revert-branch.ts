/** Revert with a new branch (docs/model.md): new overlays on the snapshot's saved state; the state left is kept as a branch. */
import { branchNodeId, snapshotNodeId } from '../../snapshot-graph';
import type { BranchRecords } from '../plan';
import { finishPlan } from './checks';
import { isFailure, refuse, type Planner } from './context';
import { revertFrom } from './guard';
import { impact, OVERLAY_BYTES } from './impact';
import { nameTaken, recordsOf } from './records';
import { defineStep, memoryNotes, revertsExternal, revertSteps, savedMemoryFile, withPower } from './steps';

export const revertBranch: Planner<'revert-branch'> = {
  guard: { needsShutOff: true, needsLibvirt: false, allowProblems: false, stoppable: true },
  plan(ctx, intent, domain) {
    const from = revertFrom(domain, intent.snapshot);
    if (isFailure(from)) return { ok: false, refusal: from };
    const { snapshot, current } = from;
    const keepAs = intent.keepAs ?? current.name;
    if (intent.branch === keepAs) return refuse('E_NAME_TAKEN', `The new branch and the kept branch cannot both be named "${keepAs}".`);
    for (const name of [intent.branch, ...(intent.keepAs !== undefined && intent.keepAs !== current.name ? [intent.keepAs] : [])]) {
      if (nameTaken(domain, name)) return refuse('E_NAME_TAKEN', `Domain "${domain.name}" already has a branch named "${name}".`, { name });
    }
    const made = revertSteps(domain, snapshot, current, intent.branch, revertsExternal(ctx.scan));
    if ('refusal' in made) return { ok: false, refusal: made.refusal };
    const created = Object.values(made.disks);
    const before = recordsOf(domain);
    const saveTo = savedMemoryFile(domain, intent, keepAs, current.tips);
    if (saveTo !== null && domain.layers[saveTo] !== undefined) return refuse('E_NAME_TAKEN', `The file ${saveTo} already exists.`, { path: saveTo });
    const left = { name: keepAs, tips: current.tips.map((t) => ({ ...t })), ...(saveTo !== null ? { memory: saveTo } : {}) };
    const records: BranchRecords = { current: intent.branch, branches: [...before.branches, left] };
    const sentence = `Point ${domain.name}'s disks at the new files, record the state you leave as branch "${keepAs}", and name the new branch "${intent.branch}".`;
    return finishPlan(
      ctx,
      intent,
      withPower(domain, intent, [...made.creates, defineStep(domain, made.disks, records, sentence), made.setCurrent], { saveTo, resumeFrom: snapshot.memoryFile }),
      impact(domain, {
        created: [...created, ...(saveTo !== null ? [saveTo] : [])],
        metadata: [`definition of ${domain.name}`, 'branch records', `current snapshot → ${snapshot.name}`],
        changedNodes: [branchNodeId(current.name), branchNodeId(intent.branch)],
        createdNodes: [{ id: branchNodeId(intent.branch), name: intent.branch, kind: 'branch', parentId: snapshotNodeId(snapshot.name) }],
        renamed: keepAs !== current.name ? { from: current.name, to: keepAs } : null,
        currentAfter: branchNodeId(intent.branch),
        spaceBytes: OVERLAY_BYTES * created.length + (saveTo !== null ? (domain.memoryBytes ?? 0) : 0),
      }),
      [...domain.disks.filter((d) => !d.managed).map((d) => `Disk ${d.target} is not managed (${d.reason ?? ''}); it stays as it is.`), ...memoryNotes(snapshot)],
    );
  },
};
