/**
 * The banner over the app while the engine does not answer (docs/architecture.md, "Events and the live picture"):
 * `serve` or the app's main process stopped, so the graph on screen is the last one read and may be stale. Until
 * the event stream is back (it is retried with a growing pause, and the sources are read again when it is), the
 * rest of the app is inert: visible, but nothing in it can be clicked, typed into or focused.
 */
import { useLayoutEffect, useRef, type ReactElement, type RefObject } from 'react';
import { useAppStore } from '../store/context';
import { selectEngine } from '../store/live-slice';
import './EngineBanner.css';

/** Makes every sibling of the banner inert while `on`, including regions that mount meanwhile; undone when off. */
function useInertSiblings(on: boolean, banner: RefObject<HTMLElement | null>): void {
  useLayoutEffect(() => {
    const self = banner.current;
    const parent = self?.parentElement;
    if (!on || parent === null || parent === undefined) return;
    const mark = (): void => {
      for (const child of Array.from(parent.children)) if (child !== self) child.setAttribute('inert', '');
    };
    mark();
    parent.classList.add('engine-stale');
    const observer = new MutationObserver(mark);
    observer.observe(parent, { childList: true });
    return () => {
      observer.disconnect();
      parent.classList.remove('engine-stale');
      for (const child of Array.from(parent.children)) child.removeAttribute('inert');
    };
  }, [on, banner]);
}

/** "Lost the engine — reconnecting…", or how to get a valid URL when the engine no longer takes this page's token. */
export function EngineBanner(): ReactElement {
  const engine = useAppStore(selectEngine);
  const banner = useRef<HTMLDivElement>(null);
  useInertSiblings(engine !== 'ok', banner);
  return (
    <div ref={banner} className={`engine-banner${engine === 'ok' ? ' is-hidden' : ''}`} role="alert" data-testid={engine === 'ok' ? undefined : 'engine-banner'}>
      {engine === 'lost' ? (
        <>
          <strong>Lost the engine — reconnecting…</strong>
          <span>The graph shows what was last read and may be out of date; actions are off until the engine answers again.</span>
        </>
      ) : null}
      {engine === 'refused' ? (
        <>
          <strong>The engine no longer accepts this page’s access token.</strong>
          <span>
            It was restarted with a new one. Run <code>virt-snaptree serve</code> and open the URL it prints; start it with <code>--token-file FILE</code> for a URL that
            survives restarts.
          </span>
        </>
      ) : null}
    </div>
  );
}
