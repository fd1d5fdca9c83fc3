import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type NodeMouseHandler,
  type NodeTypes,
} from '@xyflow/react';
import { useCallback, useEffect, useMemo, useRef, type KeyboardEvent, type ReactElement } from 'react';
import type { Domain } from '../../shared/model';
import { moveFocus, NODE_HEIGHT, NODE_WIDTH, toFlow, type SnapFlowNode } from '../graph/to-flow';
import { useAppStore } from '../store/context';
import { selectNodeId, selectTheme } from '../store/selectors';
import { BranchNode } from './BranchNode';
import { SnapshotNode } from './SnapshotNode';

// Defined once at module level: a new object per render would remount every node.
const nodeTypes: NodeTypes = { snapshot: SnapshotNode, branch: BranchNode };
const ARROWS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown']);
const FIT = { padding: 0.2, maxZoom: 1.2 } as const;

const selectSelectNode = (s: { selectNode: (id: string | null) => void }) => s.selectNode;
const minimapColor = (node: SnapFlowNode): string =>
  node.data.current ? 'var(--accent)' : node.type === 'branch' ? 'var(--branch)' : 'var(--node-border-strong)';

function Canvas({ domain }: { domain: Domain }): ReactElement {
  const nodeId = useAppStore(selectNodeId);
  const selectNode = useAppStore(selectSelectNode);
  const theme = useAppStore(selectTheme);
  const flow = useReactFlow();
  const graph = useMemo(() => toFlow(domain), [domain]);
  const nodes = useMemo(() => graph.nodes.map((n) => (n.id === nodeId ? { ...n, selected: true } : n)), [graph, nodeId]);
  const wrapper = useRef<HTMLDivElement>(null);

  // A different domain: frame the whole graph.
  useEffect(() => {
    const frame = requestAnimationFrame(() => void flow.fitView(FIT));
    return () => cancelAnimationFrame(frame);
  }, [domain.name, flow]);

  const centerOn = useCallback(
    (id: string) => {
      const node = graph.nodes.find((n) => n.id === id);
      if (node === undefined) return;
      void flow.setCenter(node.position.x + NODE_WIDTH / 2, node.position.y + NODE_HEIGHT / 2, { zoom: Math.max(flow.getZoom(), 0.8), duration: 200 });
    },
    [flow, graph],
  );

  const onKeyDown = useCallback(
    (event: KeyboardEvent<HTMLDivElement>) => {
      if (ARROWS.has(event.key)) {
        event.preventDefault();
        const next = moveFocus(graph, nodeId, event.key as Parameters<typeof moveFocus>[2]);
        if (next !== null) {
          selectNode(next);
          centerOn(next);
        }
      } else if (event.key === 'Escape') {
        selectNode(null);
      } else if (event.key === 'f' || event.key === '0') {
        void flow.fitView({ ...FIT, duration: 200 });
      } else if (event.key === 'Home') {
        const here = graph.nodes.find((n) => n.data.current);
        if (here !== undefined) {
          selectNode(here.id);
          centerOn(here.id);
        }
      }
    },
    [graph, nodeId, selectNode, centerOn, flow],
  );

  const onNodeClick: NodeMouseHandler<SnapFlowNode> = useCallback(
    (_event, node) => {
      selectNode(node.id);
      wrapper.current?.focus();
    },
    [selectNode],
  );

  return (
    <div
      className="graph-canvas"
      ref={wrapper}
      tabIndex={0}
      onKeyDown={onKeyDown}
      aria-label={`Snapshot graph of ${domain.name}. Arrow keys move between nodes, F fits the view, Home goes to You are here.`}
      data-testid="graph-canvas"
    >
      <ReactFlow<SnapFlowNode>
        nodes={nodes}
        edges={graph.edges}
        nodeTypes={nodeTypes}
        onNodeClick={onNodeClick}
        onPaneClick={() => selectNode(null)}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        onlyRenderVisibleElements
        fitView
        fitViewOptions={FIT}
        minZoom={0.05}
        maxZoom={2}
        colorMode={theme}
        proOptions={{ hideAttribution: true }}
        disableKeyboardA11y
      >
        <Background gap={24} size={1} />
        <Controls showInteractive={false} />
        <MiniMap pannable zoomable nodeColor={minimapColor} nodeStrokeWidth={2} />
      </ReactFlow>
    </div>
  );
}

export function GraphCanvas({ domain }: { domain: Domain }): ReactElement {
  return (
    <ReactFlowProvider>
      <Canvas domain={domain} />
    </ReactFlowProvider>
  );
}
