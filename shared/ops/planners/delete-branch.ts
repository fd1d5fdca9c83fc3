/** Delete a branch that is not the current one: its record, and the files and snapshots only it used. */
import type { Domain } from '../../model';
import { basename } from '../../paths';
import { branchNodeId, snapshotNodeId } from '../../snapshot-graph';
import { dependantsOf } from '../dependants';
import type { Step } from '../plan';
import { abandon, dropSteps } from './abandon';
import { finishPlan } from './checks';
import { isFailure, refuse, type PlanContext, type Planner } from './context';
import { findBranch } from './guard';
import { impact } from './impact';
import { currentBranch, recordsOf } from './records';
import { defineStep, trashStep } from './steps';

/**
 * Per tip, the first of the branch's files that stays (no snapshot's saved state), and why: another domain builds
 * on it ("alpha.snap3 stays: clone oth's disk vda builds on it." for a branch frozen for a linked clone), or, for
 * the tip itself, whatever else uses it.
 */
function keptForOthers(ctx: PlanContext, domain: Domain, branch: string, tips: string[], dropped: Set<string>): string[] {
  const states = new Set(domain.snapshots.flatMap((s) => s.disks.map((d) => d.stateLayer)));
  const said: string[] = [];
  for (const tip of tips) {
    let at: string | null = tip;
    while (at !== null && dropped.has(at)) at = domain.layers[at]?.backing ?? null;
    if (at === null || states.has(at)) continue;
    const others = dependantsOf(ctx.scan, at).filter((d) => d.domain !== domain.name || (at === tip && !(d.kind === 'branch' && d.name === branch)));
    if (others.length > 0) said.push(`${basename(at)} stays: ${others.map((d) => d.description).join('; ')}.`);
  }
  return [...new Set(said)];
}

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
      keptForOthers(ctx, domain, branch.name, branch.tips.map((t) => t.file), new Set(dropped.layers)),
    );
  },
};
