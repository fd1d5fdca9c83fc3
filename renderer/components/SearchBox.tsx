/**
 * The search box over the snapshot graph: Ctrl+F or / (keymap.ts) comes here; typing finds snapshots and branches
 * by name, description or creation date (search.ts); Enter and Down go to the next match, Shift+Enter and Up to
 * the one before (selected and in view, a folded run opened); Esc clears and gives the keyboard back to the canvas.
 */
import { useEffect, useMemo, useState, type KeyboardEvent, type ReactElement, type RefObject } from 'react';
import type { GraphNode } from '../../shared/snapshot-graph';
import { searchNodes, stepMatch } from '../graph/search';
import './SearchBox.css';

export interface SearchBoxProps {
  nodes: readonly GraphNode[];
  order: readonly string[];
  input: RefObject<HTMLInputElement | null>;
  /** Goes to a match. */
  onGo: (id: string) => void;
  /** Esc: back to the canvas. */
  onDone: () => void;
  /** An image folder: its nodes are images and top images. */
  folder?: boolean;
}

/** What the box says under the text: "3 of 12", "No match", or nothing. */
function status(query: string, count: number, at: number | null): string {
  if (query.trim() === '') return '';
  if (count === 0) return 'No match';
  return at === null ? `${count} ${count === 1 ? 'match' : 'matches'}` : `${at + 1} of ${count}`;
}

export function SearchBox({ nodes, order, input, onGo, onDone, folder = false }: SearchBoxProps): ReactElement {
  const [query, setQuery] = useState('');
  const [at, setAt] = useState<number | null>(null);
  const matches = useMemo(() => searchNodes(nodes, order, query), [nodes, order, query]);
  // Ctrl+F (Cmd+F) anywhere in the window finds in the graph rather than in the page.
  useEffect(() => {
    const onKey = (event: globalThis.KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 'f' && document.querySelector('[role="dialog"]') === null) {
        event.preventDefault();
        input.current?.focus();
        input.current?.select();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [input]);
  const go = (step: 1 | -1) => {
    const next = stepMatch(matches.length, at, step);
    if (next === null) return;
    setAt(next);
    onGo(matches[next] as string);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'Enter' || event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      go(event.key === 'ArrowUp' || (event.key === 'Enter' && event.shiftKey) ? -1 : 1);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      setQuery('');
      setAt(null);
      onDone();
    }
  };
  const said = status(query, matches.length, at);
  return (
    <div className="graph-search" role="search" onKeyDown={(e) => e.stopPropagation()}>
      <input
        ref={input}
        type="search"
        className="graph-search-input"
        placeholder={folder ? 'Find image… (Ctrl+F)' : 'Find snapshot… (Ctrl+F)'}
        aria-label={folder ? 'Find an image by name or date' : 'Find a snapshot or branch by name, description or date'}
        aria-describedby="graph-search-status"
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setAt(null);
        }}
        onKeyDown={onKeyDown}
        data-testid="graph-search"
      />
      <span id="graph-search-status" className={`graph-search-status${said === 'No match' ? ' is-none' : ''}`} role="status" data-testid="graph-search-status">
        {said}
      </span>
    </div>
  );
}
