/** What every planner is given and returns: the context, refusals, and the shape of one operation's planner. */
import type { Domain, ScanResult } from '../../model';
import type { IntentOf, Op, PlanResult, Refusal } from '../plan';
import type { GuardOptions } from './guard';

export interface PlanContext {
  scan: ScanResult;
  /** Names this operation's trash folder and journal. */
  operationId: string;
}

/** A refusal as a plan result. */
export const refuse = (code: Refusal['code'], message: string, details?: Record<string, unknown>): PlanResult => ({
  ok: false,
  refusal: details === undefined ? { code, message } : { code, message, details },
});

/** Whether a look-up refused. */
export const isFailure = (value: object): value is Refusal => 'code' in value && 'message' in value;

/**
 * One operation's planner: the domain checks it needs (run by the dispatcher through `guardDomain`, so a domain
 * in the same situation gets the same refusal from every operation) and the planning itself, given the domain.
 */
export interface Planner<K extends Op> {
  guard: GuardOptions;
  plan: (ctx: PlanContext, intent: IntentOf<K>, domain: Domain) => PlanResult;
}
