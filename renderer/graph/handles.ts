/**
 * Where a node's two handles sit (target at the left, source at the right, both centred), given up front: React
 * Flow otherwise mounts every node once to measure them, which for thousands of nodes costs the first paint
 * hundreds of milliseconds before culling can drop the ones off screen. The box is a handle's 6 px plus its border.
 */
import { Position, type NodeHandle } from '@xyflow/react';

const SIZE = 8;

export function sideHandles(width: number, height: number): NodeHandle[] {
  const y = height / 2 - SIZE / 2;
  return [
    { type: 'target', position: Position.Left, x: -SIZE / 2, y, width: SIZE, height: SIZE },
    { type: 'source', position: Position.Right, x: width - SIZE / 2, y, width: SIZE, height: SIZE },
  ];
}
