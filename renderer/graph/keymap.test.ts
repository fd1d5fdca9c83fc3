import { describe, expect, test } from 'vitest';
import { canvasAction, type CanvasKeyState } from './keymap';

const idle: CanvasKeyState = { menuOpen: false, picking: false, canCompare: false, comparing: false, selected: false, hasMenu: true };
const act = (key: string, state: Partial<CanvasKeyState> = {}, mods: { shiftKey?: boolean; ctrlKey?: boolean } = {}) => canvasAction({ key, ...mods }, { ...idle, ...state })?.type ?? null;

describe('the canvases’ keymap', () => {
  test('Esc steps back one thing at a time: menu, pick, comparison, selection', () => {
    const all = { menuOpen: true, picking: true, comparing: true, selected: true };
    expect(act('Escape', all)).toBe('close-menu');
    expect(act('Escape', { ...all, menuOpen: false })).toBe('cancel-pick');
    expect(act('Escape', { ...all, menuOpen: false, picking: false })).toBe('close-comparison');
    expect(act('Escape', { selected: true })).toBe('clear-selection');
    expect(act('Escape')).toBeNull();
  });

  test('arrows move, Home goes to You are here, End to the last node', () => {
    expect(canvasAction({ key: 'ArrowLeft' }, idle)).toEqual({ type: 'move', direction: 'left' });
    expect(canvasAction({ key: 'ArrowDown' }, idle)).toEqual({ type: 'move', direction: 'down' });
    expect(act('Home')).toBe('home');
    expect(act('End')).toBe('end');
  });

  test('Enter compares while picking (when the selection can be compared), else opens the selected node’s menu', () => {
    expect(act('Enter', { picking: true, canCompare: true, selected: true })).toBe('compare');
    expect(act('Enter', { picking: true, canCompare: false, selected: true })).toBeNull();
    expect(act('Enter', { selected: true })).toBe('open-menu');
    expect(act('Enter')).toBeNull();
    expect(act('Enter', { selected: true, hasMenu: false })).toBeNull();
    expect(act('m', { selected: true })).toBe('open-menu');
    expect(act('ContextMenu', { selected: true })).toBe('open-menu');
    expect(act('F10', { selected: true }, { shiftKey: true })).toBe('open-menu');
    expect(act('F10', { selected: true })).toBeNull();
  });

  test('letters: V switches the view, F and 0 fit it; other keys and shortcuts with Ctrl are left alone', () => {
    expect(act('v')).toBe('switch-view');
    expect(act('V', {}, { shiftKey: true })).toBe('switch-view');
    expect(act('f')).toBe('fit');
    expect(act('0')).toBe('fit');
    expect(act('x')).toBeNull();
    expect(act('f', {}, { ctrlKey: true })).toBeNull();
    expect(act('Tab')).toBeNull();
  });
});
