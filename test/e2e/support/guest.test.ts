import { describe, expect, it } from 'vitest';
import { assertCasePassed, caseResult, GuestError, parseConsole, type GuestRun } from './guest.js';

const consoleText = [
  '[init] kernel 6.1.0, 1 SCSI device(s) ready at 2.4s',
  '===GUEST BEGIN cases=3===',
  '===CASE status BEGIN===',
  'CHECK OK   mt status exits 0',
  '===CASE status END rc=0===',
  '===CASE positioning BEGIN===',
  'CHECK FAIL mt tell exits 0 -- exit 2',
  'CHECK OK   mt rewind',
  '===CASE positioning END rc=1===',
  '===CASE inquiry BEGIN===',
  'standard INQUIRY:',
].join('\n');

function runOf(text: string): GuestRun {
  return { ...parseConsole(text), console: text, exitCode: 124, wallMs: 1 };
}

describe('parseConsole', () => {
  it('splits the console into cases by their markers, with rc and output', () => {
    const { cases, finished } = parseConsole(consoleText);
    expect([...cases.keys()]).toEqual(['status', 'positioning']);
    expect(cases.get('status')).toEqual({ rc: 0, output: 'CHECK OK   mt status exits 0' });
    expect(cases.get('positioning')?.rc).toBe(1);
    expect(finished).toBe(false);
  });

  it('sees the end marker', () => {
    const text = `${consoleText}\n===CASE inquiry END rc=0===\n===GUEST END failed=1===\n`;
    const { cases, finished } = parseConsole(text);
    expect(finished).toBe(true);
    expect(cases.get('inquiry')).toEqual({ rc: 0, output: 'standard INQUIRY:' });
  });
});

describe('case results', () => {
  it('reports a case the guest never finished as a GuestError naming it', () => {
    expect(() => caseResult(runOf(consoleText), 'inquiry')).toThrow(GuestError);
    expect(() => caseResult(runOf(consoleText), 'inquiry')).toThrow(/case "inquiry" did not finish/);
  });

  it('puts the failed checks first in the failure message', () => {
    const run = runOf(consoleText);
    expect(() => assertCasePassed(run, 'status')).not.toThrow();
    expect(() => assertCasePassed(run, 'positioning')).toThrow(
      /exited 1\nCHECK FAIL mt tell exits 0 -- exit 2\n--- output of positioning ---/,
    );
  });
});
