/** Plans any operation (see `planners/index.ts`: one planner per operation, one domain guard for all). */
export { planOperation, PLANNERS, type PlanContext } from './planners';
