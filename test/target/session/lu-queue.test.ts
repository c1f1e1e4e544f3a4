import { describe, expect, it } from 'vitest';
import { LuQueue } from '../../../src/target/session/lu-queue.js';
import { Task } from '../../../src/target/session/task.js';

const task = (itt: number): Task => new Task(itt, 0, itt, Buffer.alloc(6), 0, false, false, 1, null);

describe('logical unit task set', () => {
  it('runs tasks one at a time in arrival order, waiting for async answers', async () => {
    const q = new LuQueue();
    const log: string[] = [];
    let finish!: () => void;
    const a = task(1);
    const b = task(2);
    a.state = 'ready';
    b.state = 'ready';
    q.push({
      task: a,
      run: () =>
        new Promise<void>((r) => {
          log.push('a start');
          finish = () => {
            log.push('a end');
            r();
          };
        }),
    });
    q.push({ task: b, run: () => void log.push('b') });
    expect(log).toEqual(['a start']);
    finish();
    await new Promise((r) => setTimeout(r, 0));
    expect(log).toEqual(['a start', 'a end', 'b']);
  });

  it('holds tasks behind one whose data is still arriving', () => {
    const q = new LuQueue();
    const log: number[] = [];
    const a = task(1);
    const b = task(2);
    b.state = 'ready';
    q.push({ task: a, run: () => void log.push(1) });
    q.push({ task: b, run: () => void log.push(2) });
    expect(log).toEqual([]);
    a.state = 'ready';
    q.kick();
    expect(log).toEqual([1, 2]);
  });

  it('removes a waiting task at once and a running one when it settles', async () => {
    const q = new LuQueue();
    const a = task(1);
    const b = task(2);
    a.state = 'ready';
    let finish!: () => void;
    q.push({ task: a, run: () => new Promise<void>((r) => (finish = r)) });
    q.push({ task: b, run: () => undefined });
    expect(q.remove(b)).toBeNull();
    expect(q.tasks()).toEqual([a]);
    const wait = q.remove(a)!;
    let done = false;
    void wait.then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    finish();
    await wait;
    expect(q.length).toBe(0);
  });
});
