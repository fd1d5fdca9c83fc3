/** Rename a branch: the current one or a recorded one. Only the records change. */
import { branchNodeId } from '../../snapshot-graph';
import type { BranchRecords } from '../plan';
import { finishPlan } from './checks';
import { isFailure, refuse, type Planner } from './context';
import { findBranch } from './guard';
import { impact } from './impact';
import { currentBranch, nameTaken, recordsOf } from './records';
import { defineStep } from './steps';

export const renameBranch: Planner<'rename-branch'> = {
  guard: { needsShutOff: false, needsLibvirt: false, allowProblems: false },
  plan(ctx, intent, domain) {
    const branch = findBranch(domain, intent.branch);
    if (isFailure(branch)) return { ok: false, refusal: branch };
    if (branch.origin === 'loose' || branch.origin === 'folder') {
      return refuse('E_NOT_SUPPORTED', `"${branch.name}" is a file nobody records; switch to it to adopt it as a branch first.`);
    }
    if (nameTaken(domain, intent.to)) return refuse('E_NAME_TAKEN', `Domain "${domain.name}" already has a branch named "${intent.to}".`);
    const before = recordsOf(domain);
    const records: BranchRecords = branch.current
      ? { ...before, current: intent.to }
      : { ...before, branches: before.branches.map((b) => (b.name === branch.name ? { ...b, name: intent.to } : b)) };
    const disks = Object.fromEntries((currentBranch(domain)?.tips ?? []).map((t) => [t.target, t.file]));
    return finishPlan(
      ctx,
      intent,
      [defineStep(domain, disks, records, `Rename branch "${branch.name}" to "${intent.to}" in ${domain.name}'s records.`)],
      impact(domain, {
        metadata: ['branch records'],
        changedNodes: [branchNodeId(branch.name), branchNodeId(intent.to)],
        renamed: { from: branch.name, to: intent.to },
        ...(branch.current ? { currentAfter: branchNodeId(intent.to) } : {}),
        mustStop: false,
      }),
    );
  },
};
