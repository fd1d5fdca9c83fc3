import { useEffect, type ReactElement } from 'react';
import { ActionBar } from './ActionBar';
import { ComparePanel } from './ComparePanel';
import { FileCanvas } from './FileCanvas';
import { SidePanels } from './SidePanels';
import { NodeMenu } from './NodeMenu';
import { OpsStatus } from './OpsStatus';
import { PlanDialog } from './PlanDialog';
import { EngineBanner } from './EngineBanner';
import { GraphCanvas } from './GraphCanvas';
import { LiveStatus } from './LiveStatus';
import { connectionName } from './format';
import { SunMoonIcon } from './Icons';
import { Legend } from './Legend';
import { Sidebar } from './Sidebar';
import { FitName } from './FitName';
import { useAppActions, useAppStore } from '../store/context';
import { selectLiveActions } from '../store/live-slice';
import { selectAnyScanLoading, selectAppInfo, selectDomain, selectScanResult, selectSourceActions, selectSourceEntry, selectStartupError, selectTheme, selectUiActions, selectView } from '../store/selectors';
import { type SidePanel, selectDetailsCollapsed, selectLayoutActions, selectLegendOpen, selectSidebarCollapsed } from '../store/ui-slice';
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

/** The first tab stop, seen only when focused: a jump past the top bar and the sidebar to the graph (or files). */
function SkipToGraph(): ReactElement {
  return (
    <a
      href="#graph"
      className="skip-link"
      data-testid="skip-to-graph"
      onClick={(event) => {
        event.preventDefault();
        document.querySelector<HTMLElement>('.graph-canvas')?.focus();
      }}
    >
      Skip to the graph
    </a>
  );
}

/** The top bar: the open source and domain, the demo flag, the legend and the theme switch. */
function TopBar(): ReactElement {
  const { toggleTheme } = useAppActions(selectUiActions);
  const legendOpen = useAppStore(selectLegendOpen);
  const { setLegendOpen } = useAppActions(selectLayoutActions);
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
        {source ? (
          <FitName className="muted crumb-source" name={connectionName(source.source)} title={source.label} shrink={20} />
        ) : null}
        {domain ? (
          <>
            <span className="muted"> / </span>
            <FitName className="crumb-domain" name={domain.name} testId="current-domain" />
            <span className={`chip crumb-state state-${domain.state.replace(/\s/g, '-')}`}>{domain.state}</span>
            {domain.cloneOf !== undefined ? (
              <span className="chip crumb-clone" title={`Clone of ${domain.cloneOf.domain} at ${domain.cloneOf.node.kind} ${domain.cloneOf.node.name}`} data-testid="crumb-clone">
                clone of {domain.cloneOf.domain}
              </span>
            ) : null}
          </>
        ) : null}
      </div>
      <div className="topbar-actions">
        <LiveStatus />
        {info?.demo ? <span className="chip chip-accent">demo lab</span> : null}
        {domain ? (
          <button type="button" className="button button-small" aria-expanded={legendOpen} onClick={() => setLegendOpen(!legendOpen)} data-testid="legend-toggle" title="What the shapes, colours and lines mean">
            Legend
          </button>
        ) : null}
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
        <Legend folder={domain.state === 'folder'} />
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

/** A collapsed side panel: a narrow strip with the button that opens it again. */
function CollapsedPanel({ panel }: { panel: SidePanel }): ReactElement {
  const { togglePanel } = useAppActions(selectLayoutActions);
  const label = panel === 'sidebar' ? 'Show the sidebar (connections and domains)' : 'Show the details panel';
  return (
    <aside className={`collapsed-panel collapsed-${panel}`}>
      <button type="button" className="icon-button" onClick={() => togglePanel(panel)} aria-label={label} title={label} data-testid={`expand-${panel}`}>
        {panel === 'sidebar' ? '»' : '«'}
      </button>
    </aside>
  );
}

/** The window: top bar, sidebar, canvas, the right-hand panels and the plan dialog. */
export function App(): ReactElement {
  const theme = useAppStore(selectTheme);
  const { loadSources } = useAppActions(selectSourceActions);
  const { connectLive } = useAppActions(selectLiveActions);
  const domain = useAppStore(selectDomain);
  const sidebarCollapsed = useAppStore(selectSidebarCollapsed);
  const detailsCollapsed = useAppStore(selectDetailsCollapsed);
  const { setWindowWidth } = useAppActions(selectLayoutActions);

  useEffect(() => {
    void loadSources();
  }, [loadSources]);

  // Panels the user never chose for collapse while the window is narrower than their FOLD_BELOW (ui-slice.ts).
  useEffect(() => {
    const follow = () => setWindowWidth(window.innerWidth);
    follow();
    window.addEventListener('resize', follow);
    return () => window.removeEventListener('resize', follow);
  }, [setWindowWidth]);

  // One subscription to the engine's events for the app's life.
  useEffect(() => connectLive(), [connectLive]);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  return (
    <div className={`app${sidebarCollapsed ? ' sidebar-collapsed' : ''}${detailsCollapsed ? ' details-collapsed' : ''}`}>
      <SkipToGraph />
      <TopBar />
      {sidebarCollapsed ? <CollapsedPanel panel="sidebar" /> : <Sidebar />}
      <CanvasArea />
      {detailsCollapsed ? <CollapsedPanel panel="details" /> : domain ? <SidePanels domain={domain} /> : <aside className="details" />}
      <PlanDialog />
      <EngineBanner />
    </div>
  );
}
