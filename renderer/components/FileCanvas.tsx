/** The physical view: every image file of the domain and its backing links, per disk, with the shared keymap. */
import { Background, Controls, ReactFlow, ReactFlowProvider, type NodeTypes } from '@xyflow/react';
import { useCallback, useEffect, useRef, type ReactElement, type RefObject } from 'react';
import type { Domain, ScanResult } from '../../shared/model';
import type { FileFlow, FileFlowNode } from '../graph/file-layout';
import { useFileBoxes, useFileFlow, useFileKeys, useFilePointer, useSelectedFiles, type FileBox } from '../graph/use-file-canvas';
import { useFraming, VIEW_ONLY } from '../graph/use-framing';
import { useCanvasFocusCarry } from '../graph/keep-focus';
import { usePickFocus } from '../graph/use-pick-focus';
import { useAppStore } from '../store/context';
import { selectTheme } from '../store/selectors';
import { CanvasMiniMap } from './CanvasMiniMap';
import { DiskGroup, FileNode } from './FileNode';
import { PickBanner } from './PickBanner';
import { nodeLabel } from './node-label';
import './GraphCanvas.css';
import './FileCanvas.css';

const nodeTypes: NodeTypes = { file: FileNode, disk: DiskGroup };
const FIT = { padding: 0.15, maxZoom: 1.1 } as const;
const minimapColor = (node: FileFlowNode): string =>
  node.type === 'disk' ? 'transparent' : node.data.current ? 'var(--accent)' : node.data.role === 'trash' ? 'var(--error)' : 'var(--node-border-strong)';

/** Opens the files whole when they can be read so, else at the file the VM writes (see framing.ts), once per domain. */
function useFileFraming(wrapper: RefObject<HTMLDivElement | null>, boxes: FileBox[], flow: FileFlow, domainName: string) {
  const focus = boxes.find((b) => b.current) ?? null;
  const framing = useFraming(wrapper, boxes, focus, FIT);
  const { frameRef } = framing;
  const framedFor = useRef<string | null>(null);
  useEffect(() => {
    if (framedFor.current === domainName) return;
    const frame = requestAnimationFrame(() => {
      framedFor.current = domainName;
      frameRef.current();
    });
    return () => cancelAnimationFrame(frame);
  }, [flow, domainName, frameRef]);
  return framing;
}

function Canvas({ scan, domain }: { scan: ScanResult; domain: Domain }): ReactElement {
  const theme = useAppStore(selectTheme);
  const wrapper = useRef<HTMLDivElement>(null);
  const { graph, flow } = useFileFlow(scan, domain);
  const nodes = useSelectedFiles(flow);
  const layout = useFileBoxes(flow);
  const { fitAll, roomy } = useFileFraming(wrapper, layout.boxes, flow, domain.name);
  const comparePick = usePickFocus(wrapper);
  useCanvasFocusCarry(wrapper);
  const onKeyDown = useFileKeys(graph, flow, layout, fitAll);
  const pointer = useFilePointer(useCallback(() => wrapper.current?.focus(), []));
  return (
    <div
      className="graph-canvas file-canvas"
      ref={wrapper}
      tabIndex={0}
      onKeyDown={onKeyDown}
      aria-label={`Files of ${domain.name}: one node per image file, arrows point from a file to the files built on it. Left goes to the file a file is built on, Right to one built on it, Up and Down through all files, V back to snapshots.`}
      data-testid="file-canvas"
    >
      <ReactFlow<FileFlowNode> nodes={nodes} edges={flow.edges} nodeTypes={nodeTypes} {...pointer} {...VIEW_ONLY} colorMode={theme}>
        <Background gap={24} size={1} />
        <Controls showInteractive={false} onFitView={fitAll} />
        {roomy ? <CanvasMiniMap color={minimapColor} label="Overview of all the files: click or drag to move the view" /> : null}
      </ReactFlow>
      <PickBanner name={comparePick === null ? '' : nodeLabel(domain, comparePick)} />
    </div>
  );
}

/** The physical view: every image file of the domain, its backing links, per disk. */
export function FileCanvas({ scan, domain }: { scan: ScanResult; domain: Domain }): ReactElement {
  return (
    <ReactFlowProvider>
      <Canvas scan={scan} domain={domain} />
    </ReactFlowProvider>
  );
}
