/**
 * The task set of one logical unit, shared by every session that reaches it: tasks run in
 * arrival order (CmdSN order within a session, SAM-5 8.5 simple tasks treated as ordered) and
 * one at a time, because a tape drive cannot do two things at once. A task whose Data-Out is
 * still arriving holds back those behind it.
 */
import type { Task } from './task.js';

export interface QueuedTask {
  readonly task: Task;
  /** Runs the task; a returned promise settles when the logical unit has answered. */
  run(): void | Promise<void>;
}

export class LuQueue {
  private readonly queue: QueuedTask[] = [];
  private running: QueuedTask | null = null;
  private runningDone: Promise<void> | null = null;

  get length(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  push(entry: QueuedTask): void {
    this.queue.push(entry);
    this.kick();
  }

  /** Starts the head task when nothing runs and its data is complete. */
  kick(): void {
    while (this.running === null && this.queue.length > 0 && this.queue[0].task.state === 'ready') {
      const entry = this.queue.shift()!;
      entry.task.state = 'running';
      this.running = entry;
      let result: void | Promise<void>;
      try {
        result = entry.run();
      } catch {
        result = undefined;
      }
      if (result instanceof Promise) {
        this.runningDone = result.then(
          () => this.finish(entry),
          () => this.finish(entry),
        );
        return;
      }
      this.running = null;
    }
  }

  private finish(entry: QueuedTask): void {
    if (this.running === entry) {
      this.running = null;
      this.runningDone = null;
    }
    this.kick();
  }

  /**
   * Removes a task: at once when it waits in the queue; when it runs, the returned promise
   * settles once the logical unit has answered (its answer is then discarded by the caller).
   */
  remove(task: Task): Promise<void> | null {
    const i = this.queue.findIndex((e) => e.task === task);
    if (i >= 0) {
      this.queue.splice(i, 1);
      queueMicrotask(() => this.kick());
      return null;
    }
    if (this.running?.task === task && this.runningDone) return this.runningDone;
    return null;
  }

  /** Tasks waiting or running, oldest first (for task management). */
  tasks(): Task[] {
    return [...(this.running ? [this.running.task] : []), ...this.queue.map((e) => e.task)];
  }
}
