/**
 * The legend: what the canvas's node kinds, outlines, chips and edges mean, in the words the nodes use, above
 * all You are here (where the VM runs now) versus libvirt's current snapshot (what libvirt records as current).
 * In an image folder there is no VM and no libvirt: the nodes are images.
 */
import { useEffect, useRef, type ReactElement, type ReactNode } from 'react';
import { useAppActions, useAppStore } from '../store/context';
import { selectView } from '../store/selectors';
import { selectLayoutActions, selectLegendOpen } from '../store/ui-slice';
import { BranchIcon, CameraIcon, HereIcon, WarnIcon } from './Icons';
import './Legend.css';

/** One row: a small drawing of the thing and what it means. */
function Row({ swatch, term, children }: { swatch: ReactNode; term: string; children: ReactNode }): ReactElement {
  return (
    <li className="legend-row">
      <span className="legend-key" aria-hidden="true">
        {swatch}
      </span>
      <span>
        <strong>{term}</strong> {children}
      </span>
    </li>
  );
}

/** The node kinds and chips of the snapshot graph. */
function SnapshotNodes({ folder }: { folder: boolean }): ReactElement {
  return (
    <ul className="legend-list">
      <Row swatch={<span className="legend-node"><CameraIcon /></span>} term={folder ? 'Image:' : 'Snapshot:'}>
        {folder ? 'one image file. An image that others are built on must never be written again.' : 'a saved point. Its files are read-only; you can go back to it.'}
      </Row>
      <Row swatch={<span className="legend-node is-branch"><BranchIcon /></span>} term={folder ? 'Top image:' : 'Branch:'}>
        {folder ? 'an image nothing is built on, the one a VM would write.' : 'a line of work after a snapshot, kept in its own files. Switch to it to go on there.'}
      </Row>
      {folder ? null : (
        <>
          <Row swatch={<span className="legend-node is-here"><HereIcon /></span>} term="You are here:">
            where the VM runs now: the files it writes. Taking a snapshot saves this state.
          </Row>
          <Row swatch={<span className="legend-current">libvirt&apos;s current</span>} term="libvirt's current snapshot:">
            the snapshot libvirt records as current (the last one taken or reverted to). It is not where the VM runs: that is You are here.
          </Row>
          <Row swatch={<span className="chip">memory</span>} term="Memory:">
            the VM was left running on this branch; switching back resumes it.
          </Row>
        </>
      )}
      <Row swatch={<span className="legend-node is-loose"><BranchIcon /></span>} term="Dashed outline:">
        a loose file nobody records, found beside the others.
      </Row>
      <Row swatch={<span className="chip chip-warn"><WarnIcon /> 1</span>} term="Warning:">
        the health check found something wrong in the node&apos;s files (hover for what).
      </Row>
    </ul>
  );
}

/** The lines between nodes: solid grey "built on", purple dashes for a branch (an image folder's top image). */
function Lines({ folder }: { folder: boolean }): ReactElement {
  return (
    <ul className="legend-list">
      <Row swatch={<span className="legend-edge" />} term="Solid grey line:">
        built on: the node on the right grows from the one on the left.
      </Row>
      <Row swatch={<span className="legend-edge is-branch" />} term="Purple dashes:">
        {folder ? 'a top image growing from the image it is built on.' : 'a branch growing from a snapshot; moving dashes lead to You are here.'}
      </Row>
    </ul>
  );
}

/** Selection, comparison sides, and the colours a plan's preview puts on nodes. */
function Marks(): ReactElement {
  return (
    <ul className="legend-list">
      <Row swatch={<span className="legend-node is-selected" />} term="Blue ring:">
        the selected node (its details are on the right).
      </Row>
      <Row swatch={<span className="side-badge side-A">A</span>} term="A and B:">
        the two sides of a comparison.
      </Row>
      <Row swatch={<span className="legend-node is-created" />} term="Green dashes:">
        in a preview, what the operation will create.
      </Row>
      <Row swatch={<span className="legend-node is-changed" />} term="Orange ring:">
        in a preview, what it will change.
      </Row>
      <Row swatch={<span className="legend-node is-removed" />} term="Red dashes:">
        in a preview, what it will remove (to the trash, where it can be restored).
      </Row>
    </ul>
  );
}

/** The legend over the canvas's top right corner, opened from the top bar; Esc or Close shuts it. */
export function Legend({ folder }: { folder: boolean }): ReactElement | null {
  const open = useAppStore(selectLegendOpen);
  const view = useAppStore(selectView);
  const { setLegendOpen } = useAppActions(selectLayoutActions);
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (open) close.current?.focus();
  }, [open]);
  if (!open) return null;
  return (
    <section
      className="legend"
      role="dialog"
      aria-label="Legend"
      data-testid="legend"
      onKeyDown={(event) => {
        if (event.key === 'Escape') {
          event.stopPropagation();
          setLegendOpen(false);
        }
      }}
    >
      <header className="legend-head">
        <h2>Legend</h2>
        <button ref={close} type="button" className="button button-small" onClick={() => setLegendOpen(false)}>
          Close
        </button>
      </header>
      <div className="legend-body">
        <div>
          <h3 className="legend-group">{view === 'files' ? 'Files' : 'Nodes'}</h3>
          {view === 'files' ? (
            <p className="muted">
              The file view draws one box per {folder ? 'image' : 'image file'}, grouped per disk; an arrow points from a file to the files built on it. The coloured left edge says what a file is: purple a tip, blue the file the VM writes, grey a
              saved state, orange a loose file, red one in the trash.
            </p>
          ) : (
            <SnapshotNodes folder={folder} />
          )}
        </div>
        <div>
          {view === 'files' ? null : (
            <>
              <h3 className="legend-group">Lines</h3>
              <Lines folder={folder} />
            </>
          )}
          <h3 className="legend-group">Selection and preview colours</h3>
          <Marks />
        </div>
      </div>
    </section>
  );
}
