/** Small pieces the details panels share: a file's row, a problem list, the Compare with… button. */
import type { ReactElement } from 'react';
import type { Domain, Problem } from '../../shared/model';
import { useAppActions } from '../store/context';
import { selectInspectActions } from '../store/selectors';
import { fileName, formatBytes } from './format';
import { CompareIcon, WarnIcon } from './Icons';

/** Starts "Compare with…" from a node: the next node picked is compared with it. */
export function CompareButton({ id }: { id: string }): ReactElement {
  const { startComparePick: pick } = useAppActions(selectInspectActions);
  return (
    <div className="panel-actions">
      <button type="button" className="button button-small" onClick={() => pick(id)}>
        <CompareIcon /> Compare with…
      </button>
    </div>
  );
}

/** One file of a node: its name, size and folder, or "none". */
export function FileRow({ domain, label, hint, path }: { domain: Domain; label: string; hint: string; path: string | null }): ReactElement {
  const layer = path !== null ? domain.layers[path] : undefined;
  return (
    <div className="file-row">
      <div className="file-label">
        {label}
        <span className="muted small"> · {hint}</span>
      </div>
      {path === null ? (
        <div className="muted small">none</div>
      ) : (
        <div className="file-path" title={path}>
          <code>{fileName(path)}</code>
          <span className="file-size">{layer ? formatBytes(layer.actualSize) : 'missing'}</span>
          <div className="file-dir muted small">{path.slice(0, path.lastIndexOf('/') + 1)}</div>
        </div>
      )}
    </div>
  );
}

/** A "Problems" section, or nothing when there are none. */
export function ProblemList({ problems }: { problems: Problem[] }): ReactElement | null {
  if (problems.length === 0) return null;
  return (
    <section className="panel-section">
      <h3>Problems</h3>
      <ul className="problem-list">
        {problems.map((p, i) => (
          <li key={i} className={`problem problem-${p.severity}`}>
            <WarnIcon /> {p.message}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The notes (not errors, not locks) about some of the domain's files: errors are in the health section. */
export function notesOn(domain: Domain, paths: Array<string | null>): Problem[] {
  const set = new Set(paths.filter((p): p is string => p !== null));
  return domain.problems.filter((p) => p.path !== undefined && set.has(p.path) && p.severity === 'info' && p.code !== 'locked');
}
