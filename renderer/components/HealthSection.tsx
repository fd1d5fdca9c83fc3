import { useState, type FormEvent, type ReactElement } from 'react';
import type { LayerHealth } from '../../shared/inspect';
import type { Domain } from '../../shared/model';
import { repairAction } from '../../shared/ops/node-actions';
import { findingsByPath } from '../graph/health';
import { useAppActions, useAppStore } from '../store/context';
import { selectHealth, selectScanResult } from '../store/selectors';
import type { AppState } from '../store/store';
import { ActionButton } from './ActionButton';
import { fileName, formatTime } from './format';
import { WarnIcon } from './Icons';
import './HealthSection.css';

/** The health actions this section uses: check, and acknowledge a warning. */
const selectHealthActions = (s: AppState) => ({ checkHealth: s.checkHealth, acknowledgeWarning: s.acknowledgeWarning });

/** Setting a file's "written after" warnings aside with a reason the engine keeps, until the file is written again. */
function AckForm({ path }: { path: string }): ReactElement {
  const { acknowledgeWarning } = useAppActions(selectHealthActions);
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  if (!open) {
    return (
      <button type="button" className="button button-small" onClick={() => setOpen(true)} data-testid="ack-open">
        Acknowledge…
      </button>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (reason.trim() !== '') void acknowledgeWarning(path, reason.trim());
  };
  return (
    <form className="ack-form" onSubmit={submit} data-testid="ack-form">
      <label className="field">
        Why this warning can be set aside
        <input type="text" value={reason} maxLength={500} autoFocus onChange={(e) => setReason(e.target.value)} placeholder="e.g. I know what wrote it" />
      </label>
      <p className="muted small">Kept until the file is written again; a new write raises the warning again.</p>
      <div className="ack-buttons">
        <button type="submit" className="button button-small button-primary" disabled={reason.trim() === ''}>
          Acknowledge
        </button>
        <button type="button" className="button button-small" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** What the app knows of a file beyond the findings: its own last write, an acknowledged warning. */
function Remembered({ layer, named }: { layer: LayerHealth; named: boolean }): ReactElement | null {
  const ack = layer.acknowledged;
  if (ack === undefined && (layer.ownWrite === undefined || named)) return null;
  return (
    <div className="health-file">
      {named ? <code>{fileName(layer.path)}</code> : null}
      {ack !== undefined ? (
        <p className="muted small" data-testid="ack-note" title={ack.findings.join('\n')}>
          Acknowledged: {ack.reason} ({formatTime(ack.at)})
        </p>
      ) : null}
      {layer.ownWrite !== undefined && !named ? <p className="muted small">Last written by this app ({formatTime(layer.ownWrite.at)}), nothing since.</p> : null}
    </div>
  );
}

/**
 * The health of some files: what the scan and the last check found, in words, with the fix as a plan where one
 * exists, a warning that can be acknowledged with a reason, and a button to check them now.
 */
export function HealthSection({ domain, paths }: { domain: Domain; paths: string[] }): ReactElement {
  const health = useAppStore(selectHealth);
  const { checkHealth: check } = useAppActions(selectHealthActions);
  const scan = useAppStore(selectScanResult);
  const findings = findingsByPath(domain, health?.report);
  const sick = paths.filter((p) => (findings[p]?.length ?? 0) > 0);
  const checked = health?.report !== undefined && paths.every((p) => health.report?.layers.some((l) => l.path === p));
  const checking = health?.status === 'loading';
  const remembered = health?.report?.layers.filter((l) => paths.includes(l.path) && !sick.includes(l.path)) ?? [];
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
            {layer !== undefined && layer.writtenAfter.length > 0 ? (
              <p className="muted small" data-testid="written-after-files">
                Built on it: {layer.writtenAfter.map((p) => fileName(p)).join(', ')}
              </p>
            ) : null}
            {fixes.map((fix) => (
              <ActionButton key={fix.label} action={fix} />
            ))}
            {layer !== undefined && layer.writtenAfter.length > 0 ? <AckForm key={`${path}-${layer.acknowledged?.at ?? ''}`} path={path} /> : null}
          </div>
        );
      })}
      {sick.length === 0 ? (
        <p className={checked ? 'ok small' : 'muted small'} data-testid="health-verdict">
          {checked ? 'qemu-img check found nothing wrong.' : 'Not checked yet: the check reads every table of the image, read-only.'}
        </p>
      ) : null}
      {remembered.map((layer) => (
        <Remembered key={layer.path} layer={layer} named={paths.length > 1} />
      ))}
      {health?.status === 'error' ? <p className="error small">{health.error?.message}</p> : null}
      <button type="button" className="button button-small" disabled={checking} onClick={() => void check(paths.length === 1 ? paths[0] : undefined)}>
        {checking ? 'Checking…' : paths.length === 1 ? 'Check this file' : 'Check the domain'}
      </button>
    </section>
  );
}
