/**
 * Every operation's planner, by the intent's `op`: the table must name one for each operation (TypeScript refuses
 * it otherwise), and every plan passes the same domain guard, with the options its planner gives, before it is made.
 */
import type { IntentOf, Op, PlanResult } from '../plan';
import type { Intent } from '../intent';
import { clone } from './clone';
import { commit } from './commit';
import { exportDisks } from './export';
import type { PlanContext, Planner } from './context';
import { createSnapshot } from './create-snapshot';
import { deleteBranch } from './delete-branch';
import { deleteSnapshot } from './delete-snapshot';
import { foldCommit } from './fold-commit';
import { editDescription } from './edit-description';
import { guardDomain } from './guard';
import { isFailure } from './context';
import { renameBranch } from './rename-branch';
import { repair } from './repair';
import { revertBranch } from './revert-branch';
import { revertDiscard } from './revert-discard';
import { switchBranch } from './switch';

export type { PlanContext, Planner } from './context';

export const PLANNERS: { [K in Op]: Planner<K> } = {
  'revert-branch': revertBranch,
  'revert-discard': revertDiscard,
  switch: switchBranch,
  'rename-branch': renameBranch,
  'delete-snapshot': deleteSnapshot,
  commit,
  'fold-commit': foldCommit,
  'create-snapshot': createSnapshot,
  'delete-branch': deleteBranch,
  repair,
  'edit-description': editDescription,
  clone,
  export: exportDisks,
};

/** Each operation's intent, by its `op`: indexing it and `PLANNERS` with one `K` ties a planner to its own intent. */
type IntentMap = { [K in Op]: IntentOf<K> };

/** Guards the domain and runs the planner of operation `op`. */
function planWith<K extends Op>(ctx: PlanContext, op: K, intent: IntentMap[K]): PlanResult {
  const planner: Planner<K> = PLANNERS[op];
  // An operation that can stop a live domain takes one when told how (its planner adds the steps: withPower).
  const stops = planner.guard.stoppable === true && 'stop' in intent && intent.stop !== undefined;
  const options = stops ? { ...planner.guard, needsShutOff: false } : planner.guard;
  const domain = guardDomain(ctx.scan.domains, intent.domain, options, 'branch' in intent ? intent.branch : undefined);
  if (isFailure(domain)) return { ok: false, refusal: domain };
  return planner.plan(ctx, intent, domain);
}

/** Plans any operation: a pure function of the scan, the intent and the operation id. */
export function planOperation(ctx: PlanContext, intent: Intent): PlanResult {
  return planWith(ctx, intent.op, intent);
}
