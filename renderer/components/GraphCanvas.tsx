/** The snapshot graph: snapshots and branches as a tree, with the keyboard and pointer of the shared keymap. */
import { Background, Controls, ReactFlow, ReactFlowProvider, type NodeTypes } from '@xyflow/react';
import { useEffect, useMemo, useRef, type ReactElement, type ReactNode, type RefObject } from 'react';
import type { Domain } from '../../shared/model';
import { NODE_HEIGHT, NODE_WIDTH, type FlowGraph, type FlowNode } from '../graph/to-flow';
import { useFraming, VIEW_ONLY } from '../graph/use-framing';
import { useCanvasFocusCarry } from '../graph/keep-focus';
import { usePickFocus } from '../graph/use-pick-focus';
import { useGraphKeys, useGraphPointer, useReveal, useSelectedNodes, useSnapshotFlow } from '../graph/use-graph-canvas';
import { useKeepInView } from '../graph/use-keep-in-view';
import { usePreviewInView } from '../graph/use-preview-in-view';
import { useAppStore } from '../store/context';
import { selectTheme } from '../store/selectors';
import { BranchNode } from './BranchNode';
import { CollapsedRunNode } from './CollapsedRunNode';
import { CanvasMiniMap } from './CanvasMiniMap';
import { PickBanner } from './PickBanner';
import { SearchBox } from './SearchBox';
import { SnapshotNode } from './SnapshotNode';
import { nodeLabel } from './node-label';
import './GraphCanvas.css';

// Defined once at module level: a new object per render would remount every node.
const nodeTypes: NodeTypes = { snapshot: SnapshotNode, branch: BranchNode, run: CollapsedRunNode };
/** The search box's bottom edge, in px from the canvas's top (SearchBox.css: 10 px down, about 40 tall): frames start below it. */
export const SEARCH_ROOM = 52;
const FIT = { padding: 0.2, maxZoom: 1.2, top: SEARCH_ROOM } as const;
const minimapColor = (node: FlowNode): string =>
  node.type === 'run' ? 'var(--node-border)' : node.data.current ? 'var(--accent)' : node.type === 'branch' ? 'var(--branch)' : 'var(--node-border-strong)';

/** Opens the graph whole when it can be read so, else at You are here (see framing.ts); a new domain is framed again. */
function useGraphFraming(wrapper: RefObject<HTMLDivElement | null>, graph: FlowGraph, domainName: string) {
  const boxes = useMemo(() => graph.nodes.map((n) => ({ x: n.position.x, y: n.position.y, width: NODE_WIDTH, height: NODE_HEIGHT })), [graph]);
  const here = boxes[graph.nodes.findIndex((n) => n.type === 'branch' && n.data.current)] ?? null;
  const framing = useFraming(wrapper, boxes, here, FIT);
  const { frameRef } = framing;
  useEffect(() => {
    const frame = requestAnimationFrame(() => frameRef.current());
    return () => cancelAnimationFrame(frame);
  }, [domainName, frameRef]);
  return framing;
}

function Canvas({ domain, children }: { domain: Domain; children?: ReactNode }): ReactElement {
  const theme = useAppStore(selectTheme);
  const wrapper = useRef<HTMLDivElement>(null);
  const graph = useSnapshotFlow(domain);
  const nodes = useSelectedNodes(graph);
  const { fitAll, roomy } = useGraphFraming(wrapper, graph, domain.name);
  const comparePick = usePickFocus(wrapper);
  useCanvasFocusCarry(wrapper);
  const search = useRef<HTMLInputElement>(null);
  const onKeyDown = useGraphKeys(graph, domain, wrapper, fitAll, () => search.current?.focus());
  const pointer = useGraphPointer(graph, wrapper);
  const { goTo } = useReveal(graph, wrapper);
  usePreviewInView(graph, wrapper);
  useKeepInView(domain, graph, wrapper, SEARCH_ROOM);
  return (
    <div
      className="graph-canvas"
      ref={wrapper}
      tabIndex={0}
      onKeyDown={onKeyDown}
      aria-label={`Snapshot graph of ${domain.name}. Arrow keys move between nodes, Enter opens the node's actions and its letters run them, End goes to the tip of the branch or You are here, Home to the root, Page Up and Page Down move ten along the branch, slash finds, F fits the view.`}
      data-testid="graph-canvas"
    >
      <ReactFlow<FlowNode> nodes={nodes} edges={graph.edges} nodeTypes={nodeTypes} {...pointer} {...VIEW_ONLY} colorMode={theme}>
        <Background gap={24} size={1} />
        {/* In the band the search box keeps free at the top, where no framed node is (a short canvas over the comparison panel has no room below). */}
        <Controls showInteractive={false} onFitView={fitAll} position="top-right" orientation="horizontal" />
        {roomy ? <CanvasMiniMap color={minimapColor} label="Overview of the whole graph: click or drag to move the view" /> : null}
      </ReactFlow>
      <SearchBox nodes={graph.graphNodes} order={graph.treeOrder} input={search} onGo={goTo} onDone={() => wrapper.current?.focus()} folder={domain.state === 'folder'} />
      <PickBanner name={comparePick === null ? '' : nodeLabel(domain, comparePick)} />
      {children}
    </div>
  );
}

/** The snapshot graph of a domain; `children` are drawn over it (the node menu). */
export function GraphCanvas({ domain, children }: { domain: Domain; children?: ReactNode }): ReactElement {
  return (
    <ReactFlowProvider>
      <Canvas domain={domain}>{children}</Canvas>
    </ReactFlowProvider>
  );
}
