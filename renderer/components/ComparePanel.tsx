import { useMemo, useState, type ReactElement } from 'react';
import { extentBytes, intersectExtents, type DiskComparison, type Extent } from '../../shared/inspect';
import type { Domain } from '../../shared/model';
import { useAppActions, useAppStore } from '../store/context';
import { selectComparison, selectInspectActions } from '../store/selectors';
import { fileName, formatBytes } from './format';
import { nodeLabel } from './node-label';
import { ErrorWords } from './ErrorWords';
import './ComparePanel.css';

const TICKS = [0, 0.25, 0.5, 0.75, 1];
const MiB = 1024 * 1024;

/** The part of the disk a strip shows: [from, to) in bytes. */
type Range = [number, number];

/** The span the two sides wrote, padded a little and rounded to MiB; null when nothing was written. */
function changedSpan(disk: DiskComparison): Range | null {
  const all = [...disk.a.changed, ...disk.b.changed];
  if (all.length === 0) return null;
  const from = Math.min(...all.map(([s]) => s));
  const to = Math.max(...all.map(([s, l]) => s + l));
  const pad = Math.max((to - from) * 0.08, MiB);
  return [Math.max(0, Math.floor((from - pad) / MiB) * MiB), Math.min(disk.virtualSize, Math.ceil((to + pad) / MiB) * MiB)];
}

/** One row of the divergence map: the shown part of the virtual disk, with the regions one side wrote. */
function Strip({ label, extents, range, kind, difference }: { label: string; extents: Extent[]; range: Range; kind: 'a' | 'b' | 'both'; difference: number | null }): ReactElement {
  const [from, to] = range;
  const at = (offset: number) => `${((offset - from) / Math.max(to - from, 1)) * 100}%`;
  return (
    <div className="strip-row">
      <div className="strip-label" title={label}>
        {label}
      </div>
      <div className="strip" data-testid={`strip-${kind}`} role="img" aria-label={`${label}: ${extents.length} region(s), ${formatBytes(extentBytes(extents))}`}>
        {extents.map(([start, length]) => (
          <span
            key={start}
            className={`strip-extent extent-${kind}`}
            style={{ left: at(start), width: `${(length / Math.max(to - from, 1)) * 100}%` }}
            title={`${formatBytes(length)} at ${formatBytes(start)} (byte ${start})`}
            data-start={start}
            data-length={length}
          />
        ))}
        {difference !== null && difference >= from && difference <= to ? <span className="strip-difference" style={{ left: at(difference) }} /> : null}
      </div>
      <div className="strip-total">{formatBytes(extentBytes(extents))}</div>
    </div>
  );
}

function Side({ tag, name, side, domain }: { tag: 'A' | 'B'; name: string; side: DiskComparison['a']; domain: Domain }): ReactElement {
  return (
    <div className={`compare-side side-${tag}`}>
      <span className={`side-badge side-${tag}`}>{tag}</span>
      <div>
        <strong>{name}</strong> <span className="muted small">reads through {fileName(side.file)}</span>
        <div className="small">
          {side.ownLayers.length === 0
            ? 'added no file since the fork'
            : `added ${side.ownLayers.length} file(s) since the fork, ${formatBytes(side.allocatedSinceFork)} on the host: ${side.ownLayers.map((p) => fileName(p)).join(' → ')}`}
          {side.ownLayers.some((p) => domain.layers[p] === undefined) ? ' (some are gone)' : ''}
        </div>
      </div>
    </div>
  );
}

/** The disk's verdict: identical, or where the first difference is. */
function DiskHead({ disk }: { disk: DiskComparison }): ReactElement {
  return (
    <div className="compare-head">
      <strong>Disk {disk.target}</strong>
      <span className="muted small">{formatBytes(disk.virtualSize)} virtual</span>
      {disk.identical ? (
        <span className="chip chip-ok" data-testid="verdict">
          Identical: the guest reads the same bytes on both sides
        </span>
      ) : (
        <span className="chip chip-diff" data-testid="verdict">
          Different: first difference at {formatBytes(disk.firstDifference ?? 0)} (byte {disk.firstDifference})
        </span>
      )}
    </div>
  );
}

/** Where the two sides fork, and how to read the map. */
function ForkNote({ disk, domain }: { disk: DiskComparison; domain: Domain }): ReactElement {
  const forkWho = disk.fork === null ? null : domain.snapshots.find((s) => s.disks.some((d) => d.stateLayer === disk.fork))?.name;
  return (
    <p className="small compare-fork">
      {disk.fork === null ? (
        'The two sides share no file: they do not grow from a common point.'
      ) : (
        <>
          They fork at <code title={disk.fork}>{fileName(disk.fork)}</code>
          {forkWho ? <> (the saved state of {forkWho})</> : null}. Each bar below is the guest&apos;s disk, first byte at the left; coloured: what each side wrote since the
          fork. The dashed red line is the first byte where they differ.
        </>
      )}
    </p>
  );
}

/** The three strips (A, B, both) over the shown range of the disk, with a byte axis. */
function DivergenceMap({ disk, nameA, nameB, range, both }: { disk: DiskComparison; nameA: string; nameB: string; range: Range; both: Extent[] }): ReactElement {
  return (
    <div className="divergence-map" data-testid="divergence-map">
      <Strip label={`A · ${nameA}`} extents={disk.a.changed} range={range} kind="a" difference={disk.firstDifference} />
      <Strip label={`B · ${nameB}`} extents={disk.b.changed} range={range} kind="b" difference={disk.firstDifference} />
      <Strip label="Both wrote" extents={both} range={range} kind="both" difference={disk.firstDifference} />
      <div className="strip-row strip-axis" aria-hidden="true">
        <div className="strip-label" />
        <div className="strip axis">
          {TICKS.map((t) => (
            <span key={t} className="tick" style={{ left: `${t * 100}%` }}>
              {formatBytes(Math.round(range[0] + t * (range[1] - range[0])))}
            </span>
          ))}
        </div>
        <div className="strip-total" />
      </div>
    </div>
  );
}

function DiskView({ disk, nameA, nameB, domain }: { disk: DiskComparison; nameA: string; nameB: string; domain: Domain }): ReactElement {
  const both = useMemo(() => intersectExtents(disk.a.changed, disk.b.changed), [disk]);
  const span = useMemo(() => changedSpan(disk), [disk]);
  // Small changes on a big disk are hard to see: start zoomed on the part that was written, when that is small.
  const [zoomed, setZoomed] = useState(() => span !== null && span[1] - span[0] < disk.virtualSize / 2);
  const range: Range = zoomed && span !== null ? span : [0, Math.max(disk.virtualSize, 1)];
  return (
    <section className="compare-disk" data-testid={`compare-disk-${disk.target}`}>
      <DiskHead disk={disk} />
      <ForkNote disk={disk} domain={domain} />
      {span !== null && span[1] - span[0] < disk.virtualSize ? (
        <div className="small compare-zoom">
          <span className="muted" data-testid="map-range">
            {zoomed ? `Showing ${formatBytes(range[0])} to ${formatBytes(range[1])} of the ${formatBytes(disk.virtualSize)} disk: nothing outside was written.` : `Showing the whole ${formatBytes(disk.virtualSize)} disk.`}
          </span>{' '}
          <button type="button" className="link-button" onClick={() => setZoomed((z) => !z)}>
            {zoomed ? 'Show the whole disk' : 'Zoom to the written part'}
          </button>
        </div>
      ) : null}
      <DivergenceMap disk={disk} nameA={nameA} nameB={nameB} range={range} both={both} />
      <div className="compare-sides">
        <Side tag="A" name={nameA} side={disk.a} domain={domain} />
        <Side tag="B" name={nameB} side={disk.b} domain={domain} />
      </div>
      {both.length > 0 ? (
        <p className="small warn-text">
          Both sides wrote {formatBytes(extentBytes(both))} in the same places: those regions cannot be carried from one branch to the other without choosing a side.
        </p>
      ) : null}
    </section>
  );
}

/** The comparison of two nodes, docked under the graph: per disk, the verdict, the fork and the divergence map. */
export function ComparePanel({ domain }: { domain: Domain }): ReactElement | null {
  const comparison = useAppStore(selectComparison);
  const { closeComparison: close } = useAppActions(selectInspectActions);
  if (comparison === null) return null;
  const nameA = nodeLabel(domain, comparison.a);
  const nameB = nodeLabel(domain, comparison.b);
  return (
    <section className="compare-panel" aria-label="Comparison" data-testid="compare-panel">
      <header className="compare-title">
        <h2>
          <span className="side-badge side-A">A</span> {nameA} <span className="muted">and</span> <span className="side-badge side-B">B</span> {nameB}
        </h2>
        <button
          type="button"
          className="icon-button"
          aria-label="Close the comparison"
          title="Close"
          onClick={() => {
            close();
            // The button goes with the panel: the keyboard goes to the canvas, never to the page.
            document.querySelector<HTMLElement>('.graph-canvas, .file-canvas')?.focus();
          }}
        >
          ×
        </button>
      </header>
      {comparison.status === 'loading' ? <p className="muted">Reading both sides with qemu-img map and qemu-img compare…</p> : null}
      {comparison.status === 'error' ? (
        <p className="error" role="alert">
          <ErrorWords error={comparison.error} />
        </p>
      ) : null}
      {comparison.result?.disks.map((disk) => <DiskView key={disk.target} disk={disk} nameA={nameA} nameB={nameB} domain={domain} />)}
    </section>
  );
}
