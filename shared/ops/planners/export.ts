/** export: planned in a later change. */
import { refuse, type Planner } from './context';

export const exportDisks: Planner<'export'> = {
  guard: { needsShutOff: false, needsLibvirt: false, allowProblems: false },
  plan: () => refuse('E_NOT_SUPPORTED', 'Not planned yet.'),
};
