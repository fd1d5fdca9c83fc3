import type { Intent, PlanResult } from './plan';
import type { PlanContext } from './plan-helpers';
import { planCore } from './planners';
import { planMore } from './planners-more';
import { planRepair } from './planner-repair';

/** Plans any operation: a pure function of the scan, the intent and the operation id. */
export function planOperation(ctx: PlanContext, intent: Intent): PlanResult {
  switch (intent.op) {
    case 'create-snapshot':
    case 'revert-discard':
    case 'delete-branch':
      return planMore(ctx, intent);
    case 'repair':
      return planRepair(ctx, intent);
    default:
      return planCore(ctx, intent);
  }
}
