/** A cancel shows calmly only where the engine says nothing was changed. */
import { expect, test } from 'vitest';
import type { Plan } from '../../shared/ops/plan';
import { calmCancel, cancelDetail, diskOfStep } from './OpsStatus';

const outcome = (code: 'E_CANCELLED' | 'E_TOOL', message: string) => ({ ok: false, title: 'Export: cancelled.', error: { code, message } });

test('a cancel whose steps were undone is calm; one left to finish, or a failure, stays an alert', () => {
  expect(calmCancel(outcome('E_CANCELLED', 'qemu-img was cancelled. Nothing was changed: the steps that ran were undone, and a fresh scan confirms it.'))).toBe(true);
  expect(calmCancel(outcome('E_CANCELLED', 'Cancelled: the block job on vda was stopped; finish it with "virt-snaptree recover".'))).toBe(false);
  expect(calmCancel(outcome('E_TOOL', 'qemu-img failed. Nothing was changed: no step ran.'))).toBe(false);
});

test('the detail of a calm cancel does not say twice that nothing was changed', () => {
  expect(cancelDetail('qemu-img was cancelled. Nothing was changed: the steps that ran were undone, and a fresh scan confirms it.')).toBe(
    'qemu-img was cancelled. The steps that ran were undone, and a fresh scan confirms it.',
  );
  expect(cancelDetail('vm was resumed; nothing was changed: the steps that ran were undone.')).toBe('vm was resumed; nothing was changed: the steps that ran were undone.');
});

test('a copy of one of several disks says which', () => {
  const convert = { kind: 'convert', sentence: 'Copy', source: '/a', sourceFormat: 'qcow2', target: '/b', format: 'qcow2', compress: false } as const;
  const nvram = { kind: 'copy-nvram', sentence: 'Copy the store', path: '/n', copy: '/m' } as const;
  const plan = (steps: Plan['steps']): Pick<Plan, 'steps'> => ({ steps });
  expect(diskOfStep(plan([convert, nvram, convert]), 2)).toBe('disk 2 of 2');
  expect(diskOfStep(plan([convert, nvram, convert]), 1)).toBeNull();
  expect(diskOfStep(plan([convert]), 0)).toBeNull();
  expect(diskOfStep(null, 0)).toBeNull();
});
