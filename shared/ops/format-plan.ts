/** The plan preview for people: what will run, exactly, and what it changes. */
import type { Domain } from '../model';
import { formatBytes } from '../snapshot-graph';
import type { Plan } from './plan';
import { planSummary } from './plan-summary';
import { sshTargetOf } from '../source-rules';
import { commandLine, stepLine } from './step-command';

export { commandLine };

/**
 * The plan as text: the one-line summary (plan-summary.ts), numbered steps with the command each runs, then its
 * impact, the point of no return and notes. `domain`, as scanned, names the current branch in the summary.
 */
export function formatPlan(plan: Plan, domain: Domain | null = null): string {
  const host = plan.source.kind === 'libvirt' ? (sshTargetOf(plan.source.uri)?.host ?? null) : null;
  const lines = [planSummary(plan, domain), '', `Plan ${plan.intent.op} on ${plan.intent.domain}${host === null ? '' : `, run on ${host} over SSH`}:`];
  plan.steps.forEach((step, i) => {
    lines.push(`  ${i + 1}. ${step.sentence}`);
    const line = stepLine(step, plan.source);
    if (line !== null) lines.push(`     $ ${commandLine(line)}`);
  });
  const { impact } = plan;
  const list = (label: string, items: string[]) => {
    if (items.length > 0) lines.push(`  ${label}: ${items.join(', ')}`);
  };
  lines.push('');
  list('creates', impact.created);
  list('writes', impact.written);
  list('moves to trash', impact.trashed);
  list('changes records', impact.metadata);
  list('deletes snapshots', impact.removedSnapshots);
  list('removes branches', impact.removedBranches);
  if (impact.renamed !== null) lines.push(`  renames branch ${impact.renamed.from} to ${impact.renamed.to}`);
  lines.push(`  disk space needed: about ${formatBytes(impact.spaceBytes)}`);
  const power = powerLine(plan);
  if (power !== null) lines.push(`  ${power}`);
  if (plan.pointOfNoReturn !== null) lines.push(`  from step ${plan.pointOfNoReturn + 1} on it cannot be undone, only finished`);
  for (const warning of plan.warnings) lines.push(`  note: ${warning}`);
  return `${lines.join('\n')}\n`;
}

/** What happens to the VM, in a few words: stopped first, must be shut off, or kept running by block jobs; null when nothing is said. */
export function powerLine(plan: Plan): string | null {
  if (plan.impact.mustStop) return plan.steps.some((s) => s.kind === 'stop-domain') ? 'the VM is stopped first' : 'the VM must be shut off';
  if (plan.steps.some((s) => s.kind === 'block-commit' || s.kind === 'block-pull')) return 'the VM is not stopped: QEMU changes the files it has open, by block jobs';
  return null;
}
