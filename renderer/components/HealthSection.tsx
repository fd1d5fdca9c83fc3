import type { ReactElement } from 'react';
import type { Domain } from '../../shared/model';
import { repairAction } from '../../shared/ops/node-actions';
import { findingsByPath } from '../graph/health';
import { useAppActions, useAppStore } from '../store/context';
import { selectHealth, selectInspectActions, selectScanResult } from '../store/selectors';
import { ActionButton } from './ActionButton';
import { fileName } from './format';
import { WarnIcon } from './Icons';

/**
 * The health of some files: what the scan and the last check found, in words, with the fix as a plan where one
 * exists, and a button to check them now.
 */
export function HealthSection({ domain, paths }: { domain: Domain; paths: string[] }): ReactElement {
  const health = useAppStore(selectHealth);
  const { checkHealth: check } = useAppActions(selectInspectActions);
  const scan = useAppStore(selectScanResult);
  const findings = findingsByPath(domain, health?.report);
  const sick = paths.filter((p) => (findings[p]?.length ?? 0) > 0);
  const checked = health?.report !== undefined && paths.every((p) => health.report?.layers.some((l) => l.path === p));
  const checking = health?.status === 'loading';
  return (
    <section className="panel-section" data-testid="health-section">
      <h3>Health</h3>
      {sick.map((path) => {
        const layer = health?.report?.layers.find((l) => l.path === path);
        const fixes = scan && layer ? [...(layer.corruptions > 0 ? [repairAction(scan, domain, path, 'all')] : layer.leaks > 0 ? [repairAction(scan, domain, path, 'leaks')] : [])] : [];
        return (
          <div key={path} className="health-file">
            {paths.length > 1 ? <code>{fileName(path)}</code> : null}
            <ul className="problem-list">
              {findings[path]?.map((text, i) => (
                <li key={i} className="problem problem-warning">
                  <WarnIcon /> {text}
                </li>
              ))}
            </ul>
            {fixes.map((fix) => (
              <ActionButton key={fix.label} action={fix} />
            ))}
          </div>
        );
      })}
      {sick.length === 0 ? (
        <p className={checked ? 'ok small' : 'muted small'} data-testid="health-verdict">
          {checked ? 'qemu-img check found nothing wrong.' : 'Not checked yet: the check reads every table of the image, read-only.'}
        </p>
      ) : null}
      {health?.status === 'error' ? <p className="error small">{health.error?.message}</p> : null}
      <button type="button" className="button button-small" disabled={checking} onClick={() => void check(paths.length === 1 ? paths[0] : undefined)}>
        {checking ? 'Checking…' : paths.length === 1 ? 'Check this file' : 'Check the domain'}
      </button>
    </section>
  );
}
