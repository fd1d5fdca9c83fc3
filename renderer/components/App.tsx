import { useEffect, type ReactElement } from 'react';
import { ActionBar } from './ActionBar';
import { ComparePanel } from './ComparePanel';
import { FileCanvas } from './FileCanvas';
import { SidePanels } from './SidePanels';
import { NodeMenu } from './NodeMenu';
import { OpsStatus } from './OpsStatus';
import { PlanDialog } from './PlanDialog';
import { GraphCanvas } from './GraphCanvas';
import { LiveStatus } from './LiveStatus';
import { SunMoonIcon } from './Icons';
import { Sidebar } from './Sidebar';
import { useAppActions, useAppStore } from '../store/context';
import { selectLiveActions } from '../store/live-slice';
import { selectAnyScanLoading, selectAppInfo, selectDomain, selectScanResult, selectSourceActions, selectSourceEntry, selectStartupError, selectTheme, selectUiActions, selectView } from '../store/selectors';
import './App.css';

function EmptyState(): ReactElement {
  const loading = useAppStore(selectAnyScanLoading);
  return (
    <div className="empty-state">
      <h2>{loading ? 'Reading snapshots…' : 'No domain selected'}</h2>
      <p className="muted">{loading ? 'Asking libvirt and qemu-img.' : 'Pick a domain or image tree in the sidebar.'}</p>
    </div>
  );
}

/** The top bar: the open source and domain, the demo flag, the theme switch. */
function TopBar(): ReactElement {
  const { toggleTheme } = useAppActions(selectUiActions);
  const domain = useAppStore(selectDomain);
  const source = useAppStore(selectSourceEntry);
  const info = useAppStore(selectAppInfo);
  return (
    <header className="topbar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true" />
        virt-snaptree
      </div>
      <div className="crumbs">
        {source ? <span className="muted">{source.label}</span> : null}
        {domain ? (
          <>
            <span className="muted"> / </span>
            <strong data-testid="current-domain">{domain.name}</strong>
            <span className={`chip state-${domain.state.replace(/\s/g, '-')}`}>{domain.state}</span>
          </>
        ) : null}
      </div>
      <div className="topbar-actions">
        <LiveStatus />
        {info?.demo ? <span className="chip chip-accent">demo lab</span> : null}
        <button type="button" className="icon-button" onClick={toggleTheme} aria-label="Toggle light and dark theme" title="Light / dark">
          <SunMoonIcon />
        </button>
      </div>
    </header>
  );
}

/** The middle column: the open domain's toolbar, canvas, comparison and status; else why there is none. */
function CanvasArea(): ReactElement {
  const domain = useAppStore(selectDomain);
  const startupError = useAppStore(selectStartupError);
  const scan = useAppStore(selectScanResult);
  const view = useAppStore(selectView);
  if (startupError)
    return (
      <main className="canvas-area">
        <div className="empty-state" role="alert">
          <h2>{startupError.code === 'E_UNAUTHORIZED' ? 'This page needs its access token' : 'Cannot reach the engine'}</h2>
          <p className="error">{startupError.message}</p>
        </div>
      </main>
    );
  if (!domain || !scan)
    return (
      <main className="canvas-area">
        <EmptyState />
      </main>
    );
  return (
    <main className="canvas-area">
      <ActionBar scan={scan} domain={domain} />
      <div className="canvas-host">
        {view === 'files' ? (
          <FileCanvas scan={scan} domain={domain} />
        ) : (
          <GraphCanvas domain={domain}>
            <NodeMenu scan={scan} domain={domain} />
          </GraphCanvas>
        )}
      </div>
      <ComparePanel domain={domain} />
      <OpsStatus />
    </main>
  );
}

/** The window: top bar, sidebar, canvas, the right-hand panels and the plan dialog. */
export function App(): ReactElement {
  const theme = useAppStore(selectTheme);
  const { loadSources } = useAppActions(selectSourceActions);
  const { connectLive } = useAppActions(selectLiveActions);
  const domain = useAppStore(selectDomain);

  useEffect(() => {
    void loadSources();
  }, [loadSources]);

  // One subscription to the engine's events for the app's life.
  useEffect(() => connectLive(), [connectLive]);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  return (
    <div className="app">
      <TopBar />
      <Sidebar />
      <CanvasArea />
      {domain ? <SidePanels domain={domain} /> : <aside className="details" />}
      <PlanDialog />
    </div>
  );
}
