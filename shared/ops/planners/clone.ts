/** clone: planned in a later change. */
import { refuse, type Planner } from './context';

export const clone: Planner<'clone'> = {
  guard: { needsShutOff: false, needsLibvirt: true, allowProblems: false },
  plan: () => refuse('E_NOT_SUPPORTED', 'Not planned yet.'),
};
