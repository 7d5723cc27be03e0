/** QEMU's arguments for the three ways a guest's screen is handled (src/qemu/boot.ts qemuArgs, prepareMachine). */
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { prepareMachine, qemuArgs } from '../../src/qemu/boot.js';

const pairs = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

describe('qemuArgs: the screen', () => {
  test('headless without a card by default (smoke, tests): -nodefaults leaves no VGA, -display none', () => {
    const args = qemuArgs({ iso: 'x.iso', memoryMiB: 512 });
    expect(pairs(args, '-display')).toEqual(['none']);
    expect(args).not.toContain('-vga');
  });

  test("headless with a card (screenshots): -vga std, still -display none", () => {
    const args = qemuArgs({ iso: 'x.iso', memoryMiB: 512, vga: 'headless' });
    expect(pairs(args, '-display')).toEqual(['none']);
    expect(pairs(args, '-vga')).toEqual(['std']);
  });

  test("in a window (run --display): -vga std and QEMU's default display", () => {
    const args = qemuArgs({ iso: 'x.iso', memoryMiB: 512, vga: 'window' });
    expect(args).not.toContain('-display');
    expect(pairs(args, '-vga')).toEqual(['std']);
  });
});

describe('prepareMachine', () => {
  test('a QMP socket in a folder of its own, a card for it, and the folder removed by dispose()', () => {
    const m = prepareMachine({ iso: 'a,b.iso', qmp: true });
    expect(m.qmpSocket).toMatch(/inetboot-qemu-[^/]+\/qmp\.socket$/);
    expect(pairs(m.args, '-qmp')).toEqual([`unix:${m.qmpSocket},server=on,wait=off`]);
    expect(pairs(m.args, '-vga')).toEqual(['std']);
    expect(m.args).toContain('file=a,,b.iso,format=raw,media=cdrom,readonly=on,if=ide,index=0');
    const folder = m.qmpSocket!.replace(/\/qmp\.socket$/, '');
    expect(existsSync(folder)).toBe(true);
    m.dispose();
    expect(existsSync(folder)).toBe(false);
  });

  test('no temporary folder without UEFI or QMP', () => {
    const m = prepareMachine({ iso: 'x.iso' });
    expect(m.qmpSocket).toBeUndefined();
    expect(m.args).not.toContain('-qmp');
    m.dispose();
  });
});
