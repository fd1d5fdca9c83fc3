import { useEffect, type ReactElement } from 'react';
import type { Domain } from '../../shared/model';
import { formatBytes } from '../../shared/snapshot-graph';
import { useAppActions, useAppStore } from '../store/context';
import { selectFlash, selectHistory, selectPanelActions, selectPanelError, selectTab, selectTrash } from '../store/selectors';
import { selectLayoutActions } from '../store/ui-slice';
import { DetailsPanel } from './DetailsPanel';
import { fileName, formatTime } from './format';
import { ErrorWords } from './ErrorWords';
import './SidePanels.css';

const OP_LABEL: Record<string, string> = {
  'create-snapshot': 'Take snapshot',
  'revert-branch': 'Revert with new branch',
  'revert-discard': 'Revert, discarding',
  switch: 'Switch branch',
  'rename-branch': 'Rename branch',
  'delete-snapshot': 'Delete snapshot',
  commit: 'Commit',
  'fold-commit': 'Fold into snapshot',
  'delete-branch': 'Delete branch',
  repair: 'Repair image',
};

const STATUS: Record<string, string> = {
  running: 'running',
  done: 'done',
  'rolled-back': 'rolled back: nothing changed',
  'finished-by-recovery': 'finished by recovery',
  failed: 'failed: run recover',
};

function LogPanel(): ReactElement {
  const history = useAppStore(selectHistory);
  const { recover } = useAppActions(selectPanelActions);
  if (history.length === 0) return <p className="muted">No operation has run yet. Every operation is logged here, with its commands, and the log survives restarts.</p>;
  return (
    <ol className="log-list" data-testid="ops-log">
      {history.map((entry) => (
        <li key={entry.id} className={`log-entry log-${entry.status}`}>
          <div className="log-head">
            <strong>{entry.subject ?? OP_LABEL[entry.op] ?? entry.op}</strong>
            <span className="chip">{STATUS[entry.status] ?? entry.status}</span>
          </div>
          <div className="muted small">
            {entry.domain} · {formatTime(entry.at)}
          </div>
          {entry.error ? (
            <div className="small error">
              <ErrorWords error={entry.error} />
            </div>
          ) : null}
          {entry.status === 'failed' ? (
            <button type="button" className="button" onClick={() => void recover()}>
              Finish or undo it
            </button>
          ) : null}
          <details>
            <summary className="small">{entry.steps.length} {entry.steps.length === 1 ? 'step' : 'steps'}</summary>
            <ol className="log-steps">
              {entry.steps.map((step, i) => (
                <li key={i} className={`step-${step.state}`}>
                  {step.sentence}
                  {step.command.length > 0 ? <code className="log-command">{step.command.join(' ')}</code> : null}
                </li>
              ))}
            </ol>
          </details>
        </li>
      ))}
    </ol>
  );
}

function TrashPanel(): ReactElement {
  const trash = useAppStore(selectTrash);
  const { restoreTrash, emptyTrash } = useAppActions(selectPanelActions);
  if (trash.length === 0) return <p className="muted">The trash beside this domain's files is empty.</p>;
  const byOperation = new Map<string, typeof trash>();
  for (const entry of trash) byOperation.set(entry.operationId, [...(byOperation.get(entry.operationId) ?? []), entry]);
  return (
    <div data-testid="trash-panel">
      {[...byOperation].map(([operationId, entries]) => (
        <section key={operationId} className="trash-group">
          <div className="trash-head">
            <span className="muted small">{formatTime(entries[0]?.trashedAt ?? null)}</span>
            <span className="small">{formatBytes(entries.reduce((n, e) => n + e.size, 0))}</span>
          </div>
          <ul className="trash-files">
            {entries.map((e) => (
              <li key={e.trashed} title={e.original}>
                <code>{fileName(e.original)}</code> <span className="muted small">{formatBytes(e.size)}</span>
              </li>
            ))}
          </ul>
          <div className="trash-actions">
            <button type="button" className="button button-small" onClick={() => void restoreTrash(operationId)}>
              Restore
            </button>
            <button
              type="button"
              className="button button-small button-danger-outline"
              onClick={() => {
                if (window.confirm(`Delete ${entries.length} file(s) for good? This cannot be undone.`)) void emptyTrash(operationId);
              }}
            >
              Empty
            </button>
          </div>
        </section>
      ))}
    </div>
  );
}

/** The right-hand column: details of the selection, the operations log, the trash. */
export function SidePanels({ domain }: { domain: Domain }): ReactElement {
  const tab = useAppStore(selectTab);
  const panelError = useAppStore(selectPanelError);
  const { showTab, loadTrash, loadHistory } = useAppActions(selectPanelActions);
  const { togglePanel } = useAppActions(selectLayoutActions);
  const flash = useAppStore(selectFlash);
  // After an operation the log and the trash have news (another domain's trash is read by the store's domain reset).
  useEffect(() => {
    if (tab === 'log') void loadHistory();
    if (tab === 'trash') void loadTrash();
  }, [flash, tab, loadHistory, loadTrash]);
  return (
    <aside className="details side-panels">
      <div className="side-panels-head">
        <div className="tabs" role="tablist">
          {(['details', 'log', 'trash'] as const).map((t) => (
            <button key={t} type="button" role="tab" aria-selected={tab === t} className={`tab${tab === t ? ' is-active' : ''}`} onClick={() => showTab(t)}>
              {t === 'details' ? 'Details' : t === 'log' ? 'Operations log' : 'Trash'}
            </button>
          ))}
        </div>
        <button type="button" className="icon-button" onClick={() => togglePanel('details')} aria-label="Hide the details panel" title="Hide the details panel" data-testid="collapse-details">
          »
        </button>
      </div>
      {panelError ? (
        <p className="error small" role="alert">
          <ErrorWords error={panelError} />
        </p>
      ) : null}
      {tab === 'details' ? <DetailsPanel domain={domain} /> : tab === 'log' ? <LogPanel /> : <TrashPanel />}
    </aside>
  );
}
