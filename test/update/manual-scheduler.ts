// A Scheduler the test fires by hand: planned and auto checks run when the test says, not when the wall clock does.
import type { Plan, ScheduledJob, Scheduler } from '../../src/admin/update/scheduler.js';

interface FakeJob { plan: Plan; task: () => void; state: 'ACTIVE' | 'CANCELLED' }

export class ManualScheduler implements Scheduler {
  readonly jobs: FakeJob[] = [];

  constructor(private readonly next: Date = new Date('2030-01-02T03:00:00Z')) {}

  schedule(plan: Plan, task: () => void): ScheduledJob {
    const job: FakeJob = { plan, task, state: 'ACTIVE' };
    this.jobs.push(job);
    return { cancel: () => { job.state = 'CANCELLED'; }, nextRun: () => (job.state === 'ACTIVE' ? this.next : null) };
  }

  /** The plans of the jobs not cancelled. */
  active(): Plan[] {
    return this.jobs.filter((j) => j.state === 'ACTIVE').map((j) => j.plan);
  }

  /** Fires every active job (as if its time had come); returns how many fired. */
  fire(): number {
    const active = this.jobs.filter((j) => j.state === 'ACTIVE');
    for (const job of active) job.task();
    return active.length;
  }
}
