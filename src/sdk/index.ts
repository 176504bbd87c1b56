// `worker-admin/sdk`: write a worker (startWorker) or talk to the router as a client (connectRouter).
export { startWorker } from './worker.js';
export { connectRouter } from './client.js';
export type { ConnectOptions, RouterClient, EventWatch } from './client.js';
export { readStartLine, parseStartLine } from './start-line.js';
export { loadTlsFiles } from './tls-files.js';
export type { TlsFilePaths } from './tls-files.js';
export type { StartLine } from './start-line.js';
export type {
  WorkerOptions, RunningWorker, CommandContext, CommandHandler, TopicHandler, WorkerState, EmitOptions,
  RouterConnection, SendOptions, ReplyResult, EventMessage, WatchOptions, TlsOptions,
} from './types.js';
export type { Status, WorkerList, WorkerInfo } from '../proto/types.js';
