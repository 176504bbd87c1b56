// What every ops route may read or drive; built once in ops.ts from the running admin.
import type { WorkerStatus } from '../admin/instance.js';
import type { AdminAuth } from './http/auth.js';
import type { EventView } from './events.js';
import type { OpsMetrics } from './metrics/metrics.js';
import type { PolicyManager } from './policies/manager.js';
import type { UpdateModeSource } from './updates.js';
import type { WorkerOutputHub } from '../process/output-hub.js';
import type { SeriesView } from './series/ring.js';

/** The running modules and the commands they serve. */
export interface Capabilities {
  loaded_modules: string[];
  commands: string[];
}

export interface OpsContext {
  version: string;
  /** Epoch ms the ops API started (uptime). */
  startedAt: number;
  now(): number;
  workers(): WorkerStatus[];
  capabilities(): Capabilities;
  policies: PolicyManager;
  updates: UpdateModeSource;
  events(): EventView[];
  metrics: OpsMetrics;
  auth: AdminAuth;
  limits: { yamlBytes: number; yamlAliases: number };
  /** The charts' samples of the last 15 minutes. */
  series(): SeriesView;
  /** Workers' output for GET /api/v1/logs. */
  output: WorkerOutputHub;
  /** Where earlier runs' log files are (`{stateDir}/logs`). */
  stateDir: string;
  /** The fleet as this host sees it; undefined when this host is not in a fleet. */
  fleet(): Promise<unknown>;
}
