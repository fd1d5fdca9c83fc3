import { useMemo, type ReactElement } from 'react';
import { fileGraph } from '../../shared/file-graph';
import { layerNotes } from '../../shared/format-tree';
import type { Domain } from '../../shared/model';
import { useAppActions, useAppStore } from '../store/context';
import { selectFileId, selectInspectActions, selectPanelActions, selectScanResult, selectTrash } from '../store/selectors';
import { fileName, formatBytes, formatTime, modeText, ownerName } from './format';
import { HealthSection } from './HealthSection';
import { CompareIcon, FileIcon, LockIcon, TrashIcon } from './Icons';

const ROLE_TEXT = {
  tip: 'A tip: the file a VM or a branch writes to. Nothing is built on it, so it may change.',
  loose: 'A loose file: it builds on this graph but no snapshot or branch record names it. Shown so it is never lost.',
  state: "A saved state: a snapshot's disk at the moment it was taken. Read-only for good.",
  base: 'A base image: it has no backing file.',
  layer: 'A layer in the middle of a chain.',
  trash: 'In the trash: an operation moved it aside. Restore it from the Trash tab, or empty the trash to free its space.',
} as const;

/** One file of the file view: what it is, its sizes, owner and mode, its backing link, what freezes it, its health. */
export function FileDetails({ domain }: { domain: Domain }): ReactElement | null {
  const fileId = useAppStore(selectFileId);
  const trash = useAppStore(selectTrash);
  const scan = useAppStore(selectScanResult);
  const { startComparePick: pick } = useAppActions(selectInspectActions);
  const { showTab } = useAppActions(selectPanelActions);
  const node = useMemo(() => (scan ? fileGraph(scan, domain, trash).nodes.find((n) => n.id === fileId) : undefined), [scan, domain, trash, fileId]);
  if (node === undefined) return null;
  const layer = node.layer;
  const owner = layer?.owner;
  return (
    <>
      <header className="panel-header">
        <span className="panel-kind">
          {node.role === 'trash' ? <TrashIcon /> : <FileIcon />} File
        </span>
        <h2 data-testid="details-title">{fileName(node.trash?.original ?? node.path)}</h2>
        <code className="file-dir muted small">{node.path}</code>
      </header>
      <p className="explain">{ROLE_TEXT[node.role]}</p>
      {node.labels.length > 0 ? (
        <ul className="file-labels">
          {node.labels.map((l) => (
            <li key={l}>{l}</li>
          ))}
        </ul>
      ) : null}
      <dl className="facts">
        {layer ? (
          <>
            <dt>Format</dt>
            <dd>{layer.format}</dd>
            <dt>Virtual size</dt>
            <dd>{formatBytes(layer.virtualSize)}</dd>
            {layerNotes(layer).length > 0 ? (
              <>
                <dt>Holds</dt>
                <dd data-testid="details-layer-notes" title="The app holds no encryption secrets, so it does not compare, commit, rebase, repair or build on an encrypted image's chain.">
                  {layerNotes(layer).join(', ')}
                </dd>
              </>
            ) : null}
          </>
        ) : null}
        <dt>On the host</dt>
        <dd>
          {formatBytes(layer ? layer.actualSize + (node.dataFile?.size ?? 0) : (node.trash?.size ?? 0))}
          {layer && node.dataFile ? <span className="muted small"> (image {formatBytes(layer.actualSize)}, data file {formatBytes(node.dataFile.size)})</span> : null}
        </dd>
        {node.dataFile ? (
          <>
            <dt>Data file</dt>
            <dd data-testid="details-data-file" title="The guest data of this disk lives in this external data file; the image holds only its metadata.">
              <code>{node.dataFile.path}</code>{' '}
              {node.dataFile.exists === false ? <span className="chip chip-warn">missing: the disk cannot be opened</span> : null}
              {node.dataFile.exists === null ? (
                <span className="chip chip-warn" title="QEMU opens a relative data file name from the working directory of the process that opens the image, not from the image's folder">
                  relative name: which file depends on who opens it
                </span>
              ) : null}
            </dd>
          </>
        ) : null}
        {owner ? (
          <>
            <dt>Owner</dt>
            <dd>
              {ownerName(owner)}
            </dd>
            <dt>Mode</dt>
            <dd>
              {modeText(owner.mode)}
              {(owner.mode & 0o004) !== 0 ? <span className="chip chip-warn" title="Every user of the host can read the guest's disk">world-readable</span> : null}
            </dd>
            <dt>Last written</dt>
            <dd>{formatTime(owner.modified)}</dd>
          </>
        ) : null}
        <dt>Built on</dt>
        <dd>
          {layer?.backing ? (
            <>
              <code title={layer.backing}>{fileName(layer.backing)}</code> {layer.backingFormat ? `(${layer.backingFormat})` : <span className="chip chip-warn">format not recorded</span>}
            </>
          ) : (
            (node.trash?.backing ?? 'nothing')
          )}
        </dd>
      </dl>
      <section className="panel-section" data-testid="frozen-section">
        <h3>
          <LockIcon /> {node.frozenBy.length > 0 ? 'Frozen' : 'Not frozen'}
        </h3>
        {node.frozenBy.length > 0 ? (
          <>
            <p className="small">Writing to it would change what these read, so the app never does:</p>
            <ul className="small">
              {node.frozenBy.map((d) => (
                <li key={`${d.kind}${d.domain}${d.name}${d.description}`}>{d.description}</li>
              ))}
            </ul>
          </>
        ) : (
          <p className="small muted">Nothing else is built on it and no snapshot holds it.</p>
        )}
      </section>
      {layer ? (
        <div className="panel-actions">
          <button type="button" className="button button-small" onClick={() => pick(`f:${node.path}`)}>
            <CompareIcon /> Compare with…
          </button>
        </div>
      ) : (
        <button type="button" className="button button-small" onClick={() => showTab('trash')}>
          Open the trash
        </button>
      )}
      {layer ? <HealthSection domain={domain} paths={[node.path]} /> : null}
    </>
  );
}
