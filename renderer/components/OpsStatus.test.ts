/** A cancel shows calmly only where the engine says nothing was changed. */
import { expect, test } from 'vitest';
import { calmCancel, cancelDetail } from './OpsStatus';

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
