/**
 * Commit a branch tip into its backing file (docs/model.md), refused when anything else depends on that file. The
 * tip a running or paused VM writes is committed by QEMU (`blockcommit --active`, then a pivot), while it runs.
 */
import { basename } from '../../paths';
import { branchNodeId } from '../../snapshot-graph';
import type { Step } from '../plan';
import { finishPlan } from './checks';
import { isFailure, refuse, type Planner } from './context';
import { otherDependants, usersElsewhere } from './dependants-of';
import { findBranch } from './guard';
import { impact } from './impact';
import { disksOf, recordsOf } from './records';
import { commitTipStep, defineStep, isLive, trashStep } from './steps';

export const commit: Planner<'commit'> = {
  guard: { needsShutOff: true, needsLibvirt: false, allowProblems: false, blockJobs: true },
  plan(ctx, intent, domain) {
    const branch = findBranch(domain, intent.branch);
    if (isFailure(branch)) return { ok: false, refusal: branch };
    const steps: Step[] = [];
    const written: string[] = [];
    let space = 0;
    const retarget: Record<string, string> = {};
    for (const tip of branch.tips) {
      const layer = domain.layers[tip.file];
      if (layer === undefined || layer.backing === null) return refuse('E_NOT_SUPPORTED', `${basename(tip.file)} has no backing file to commit into.`);
      const base = layer.backing;
      // The tip goes to the trash once committed: a tip another domain builds on (a clone's backing) stays as it is.
      const users = usersElsewhere(ctx, domain.name, tip.file);
      if (users.length > 0) {
        return refuse('E_SHARED_BACKING', `${basename(tip.file)} is used elsewhere too: ${users.map((d) => d.description).join('; ')}. It stays as it is while they exist.`, {
          path: tip.file,
          dependants: users,
        });
      }
      const others = otherDependants(ctx, base, { layers: [tip.file] });
      if (others.length > 0) {
        return refuse(
          'E_SHARED_BACKING',
          `Committing ${basename(tip.file)} would write into ${basename(base)}, which other things depend on: ${others.map((d) => d.description).join('; ')}. ` +
            'Their content would change. Create a new branch from here instead, or delete the snapshots that hold it.',
          { base, dependants: others },
        );
      }
      const sentence = `Commit ${basename(tip.file)} into ${basename(base)}: ${basename(base)} becomes the new baseline of ${tip.target}.`;
      steps.push(commitTipStep(domain, tip, base, sentence));
      written.push(base);
      space += layer.actualSize;
      retarget[tip.file] = base;
    }
    const trashed = Object.keys(retarget);
    if (domain.state !== 'folder') {
      const records = recordsOf(domain);
      const retipped = { ...records, branches: records.branches.map((b) => ({ ...b, tips: b.tips.map((t) => ({ ...t, file: retarget[t.file] ?? t.file })) })) };
      steps.push(defineStep(domain, disksOf(domain, retarget), retipped, `Point ${domain.name}'s disks and branch records at the committed files.`));
    }
    steps.push(...trashed.map(trashStep));
    return finishPlan(
      ctx,
      intent,
      steps,
      impact(domain, { written, trashed, metadata: [`definition of ${domain.name}`], changedNodes: [branchNodeId(branch.name)], spaceBytes: space, mustStop: !isLive(domain) }),
    );
  },
};
