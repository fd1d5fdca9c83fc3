/**
 * Fold a branch tip into the snapshot whose saved state it builds on, and delete that snapshot (docs/model.md,
 * "Fold-commit"). A plain commit of a tip is refused whenever its backing file holds a snapshot's saved state,
 * which in libvirt mode it always does; where that file holds exactly one snapshot S's state and nothing else
 * depends on it, the tip is committed into S's file, the domain and the branch records point at that file, S's
 * record goes (its children take its parent), and the tip goes to the trash. Every other snapshot and branch reads
 * the same bytes (docs/safety.md, rules 1–4); the tip a running VM writes is committed by QEMU, as for a commit.
 */
import type { Branch, Domain, ScanResult } from '../../model';
import { basename } from '../../paths';
import { branchNodeId, snapshotNodeId } from '../../snapshot-graph';
import { dependantsOf } from '../dependants';
import type { Step } from '../plan';
import { finishPlan } from './checks';
import { isFailure, refuse, type PlanContext, type Planner } from './context';
import { recordUpdates } from './delete-snapshot';
import { otherDependants } from './dependants-of';
import { findBranch, findSnapshot } from './guard';
import { impact } from './impact';
import { disksOf, recordsOf } from './records';
import { commitTipStep, defineStep, deleteRecordStep, isLive, revertsExternal, setCurrentStep, trashStep } from './steps';

/**
 * The snapshot a fold of `branch` would delete: the one snapshot of the domain whose saved state every tip of the
 * branch builds on directly. Null when a tip has no backing file, or its backing file holds no snapshot's saved
 * state, or more than one snapshot's (then the plain commit's refusal stands).
 */
export function foldCandidate(scan: ScanResult, domain: Domain, branch: Branch): string | null {
  const names = new Set<string>();
  for (const tip of branch.tips) {
    const base = domain.layers[tip.file]?.backing ?? null;
    if (base === null) return null;
    const holders = dependantsOf(scan, base).filter((d) => d.kind === 'snapshot' && d.description.startsWith('it holds the saved state'));
    const own = domain.snapshots.filter((s) => s.disks.some((d) => d.target === tip.target && d.kind === 'external' && d.stateLayer === base));
    if (own.length !== 1 || new Set(holders.map((d) => `${d.domain}\0${d.name}`)).size !== 1) return null;
    for (const s of own) names.add(s.name);
  }
  const [only] = [...names];
  return names.size === 1 && only !== undefined ? only : null;
}

/** What else uses a tip than its branch (or the domain's disk, for the current branch) and the snapshot folded away. */
function tipUsers(ctx: PlanContext, domain: Domain, branch: Branch, tip: string, snapshot: string): string[] {
  return otherDependants(ctx, tip, { snapshots: [[domain.name, snapshot]] })
    .filter((d) => !(d.domain === domain.name && ((d.kind === 'branch' && d.name === branch.name) || (d.kind === 'disk' && branch.current))))
    .map((d) => d.description);
}

export const foldCommit: Planner<'fold-commit'> = {
  guard: { needsShutOff: true, needsLibvirt: true, allowProblems: false, blockJobs: true },
  plan(ctx, intent, domain) {
    const branch = findBranch(domain, intent.branch);
    if (isFailure(branch)) return { ok: false, refusal: branch };
    const snapshot = findSnapshot(domain, intent.snapshot);
    if (isFailure(snapshot)) return { ok: false, refusal: snapshot };
    const steps: Step[] = [];
    const written: string[] = [];
    const retarget: Record<string, string> = {};
    let space = 0;
    for (const tip of branch.tips) {
      const layer = domain.layers[tip.file];
      const base = layer?.backing ?? null;
      if (layer === undefined || base === null) return refuse('E_NOT_SUPPORTED', `${basename(tip.file)} has no backing file to fold into.`);
      if (!snapshot.disks.some((d) => d.target === tip.target && d.kind === 'external' && d.stateLayer === base)) {
        return refuse('E_NOT_SUPPORTED', `${basename(base)}, below ${basename(tip.file)}, does not hold the saved state of snapshot ${snapshot.name} (${tip.target}), so there is nothing to fold into.`, {
          base,
        });
      }
      const others = otherDependants(ctx, base, { layers: [tip.file], snapshots: [[domain.name, snapshot.name]] });
      if (others.length > 0) {
        return refuse('E_SHARED_BACKING', `Folding ${basename(tip.file)} would write into ${basename(base)}, which other things depend on: ${others.map((d) => d.description).join('; ')}.`, {
          base,
          dependants: others,
        });
      }
      const users = tipUsers(ctx, domain, branch, tip.file, snapshot.name);
      if (users.length > 0) return refuse('E_SHARED_BACKING', `${basename(tip.file)} is used elsewhere too: ${users.join('; ')}.`, { path: tip.file });
      const sentence = `Commit ${basename(tip.file)} into ${basename(base)} (${tip.target}): the saved state of ${snapshot.name} takes in the branch's changes and becomes ${branch.name}'s file.`;
      steps.push(commitTipStep(domain, tip, base, sentence));
      written.push(base);
      space += layer.actualSize;
      retarget[tip.file] = base;
    }
    const records = recordsOf(domain);
    const retipped = { ...records, branches: records.branches.map((b) => ({ ...b, tips: b.tips.map((t) => ({ ...t, file: retarget[t.file] ?? t.file })) })) };
    const updates = recordUpdates(ctx, domain, snapshot, retarget);
    const trashed = [...Object.keys(retarget), ...(snapshot.memoryFile !== null ? [snapshot.memoryFile] : [])];
    steps.push(
      defineStep(domain, disksOf(domain, retarget), retipped, `Point ${domain.name}'s disks and branch records at the folded files.`),
      ...updates.steps,
      deleteRecordStep(domain.name, snapshot.name, `Delete libvirt's record of snapshot ${snapshot.name}: its saved state is now branch ${branch.name}'s file.`),
      // As for a delete: where libvirt reverts external snapshots itself, the parent made current records the files the domain is on.
      ...(snapshot.current && snapshot.parent !== null && revertsExternal(ctx.scan) ? [setCurrentStep(domain, snapshot.parent, disksOf(domain, retarget), true)] : []),
      ...trashed.map(trashStep),
    );
    return finishPlan(
      ctx,
      intent,
      steps,
      impact(domain, {
        written,
        trashed,
        metadata: [`definition of ${domain.name}`, `snapshot ${snapshot.name}`, ...updates.keys.map((k) => `snapshot ${k.split('\0')[1] ?? ''}`)],
        changedNodes: [branchNodeId(branch.name), snapshotNodeId(snapshot.name)],
        removedSnapshots: [snapshot.name],
        spaceBytes: space,
        mustStop: !isLive(domain),
      }),
    );
  },
};
