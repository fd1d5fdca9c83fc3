/** Delete a branch that is not the current one: its record, and the files and snapshots only it used. */
import { basename } from '../../paths';
import { branchNodeId, snapshotNodeId } from '../../snapshot-graph';
import type { Step } from '../plan';
import { abandon, dropSteps } from './abandon';
import { finishPlan } from './checks';
import { isFailure, refuse, type Planner } from './context';
import { findBranch } from './guard';
import { impact } from './impact';
import { currentBranch, recordsOf } from './records';
import { defineStep, trashStep } from './steps';

export const deleteBranch: Planner<'delete-branch'> = {
  guard: { needsShutOff: false, needsLibvirt: false, allowProblems: false, allowOwnBranchProblems: true },
  plan(ctx, intent, domain) {
    const branch = findBranch(domain, intent.branch);
    if (isFailure(branch)) return { ok: false, refusal: branch };
    if (branch.current) return refuse('E_BAD_INPUT', `"${branch.name}" is the current branch: switch to another one first, or revert discarding it.`);
    const dropped = abandon(ctx, domain, branch.tips.map((t) => t.file), new Set());
    const steps: Step[] = [];
    if (branch.origin === 'metadata') {
      const before = recordsOf(domain);
      const disks = Object.fromEntries((currentBranch(domain)?.tips ?? []).map((t) => [t.target, t.file]));
      const records = { ...before, branches: before.branches.filter((b) => b.name !== branch.name) };
      steps.push(defineStep(domain, disks, records, `Remove branch "${branch.name}" from ${domain.name}'s records.`));
    }
    steps.push(...dropSteps(domain, dropped));
    // The memory the branch was left with goes with it.
    if (branch.memoryFile !== undefined) steps.push(trashStep(branch.memoryFile));
    return finishPlan(
      ctx,
      intent,
      steps,
      impact(domain, {
        trashed: [...dropped.layers, ...(branch.memoryFile !== undefined ? [branch.memoryFile] : [])],
        metadata: [
          ...(branch.origin === 'metadata' ? ['branch records'] : []),
          ...dropped.renamed.map((r) => `snapshot ${r.snapshot}`),
          ...dropped.snapshots.map((s) => `snapshot ${s} (deleted)`),
        ],
        changedNodes: [branchNodeId(branch.name), ...dropped.snapshots.map(snapshotNodeId)],
        removedBranches: [branch.name],
        removedSnapshots: dropped.snapshots,
        mustStop: false,
      }),
      dropped.layers.length < branch.tips.length ? [`Some of ${basename(branch.tips[0]?.file ?? '')}'s files are used elsewhere and stay.`] : [],
    );
  },
};
