/**
 * What is wrong with each file, in sentences: problems the scan found (missing or unformatted backing, locked,
 * unreadable) and findings of the last health check (corruption, leaks, dirty, written after its dependants).
 */
import type { HealthReport } from '../../shared/inspect';
import type { Domain } from '../../shared/model';

export function findingsByPath(domain: Domain, report: HealthReport | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const problem of domain.problems) {
    // A file a running VM holds is worth a badge too: what is shown of it was read in shared mode.
    const shown = problem.severity !== 'info' || problem.code === 'locked';
    if (problem.path !== undefined && shown) (out[problem.path] ??= []).push(problem.message);
  }
  for (const layer of report?.layers ?? []) {
    if (layer.findings.length > 0) (out[layer.path] ??= []).push(...layer.findings);
  }
  return out;
}
