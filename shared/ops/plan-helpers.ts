/**
 * Kept for the modules that name trash folders through this path; the names live in `trash-names.ts`, the
 * planners' shared helpers under `planners/` (context, guard, steps, impact, checks).
 */
export { isOperationId, TRASH_DIR, trashPathOf } from './trash-names';
