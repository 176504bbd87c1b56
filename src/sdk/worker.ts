// startWorker (docs/protocol.md): stdin line → Hello → serve commands → drain or die, with the exit codes the admin reads.
import { WorkerAdminError, errorMessage } from '../common/errors.js';
import { createRouterRpc } from './rpc.js';
import { WorkerSession } from './session.js';
import { readStartLine } from './start-line.js';
import type { RunningWorker, WorkerOptions } from './types.js';

/** Exit codes: 0 drained, 1 the stream failed (both set by the session), 2 refused (bad token, commands missing, bad start line). */
const EXIT_REFUSED = 2;

/** Reads the start line, connects, resolves once welcomed; on refusal prints the reason and exits 2. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const stderr = options.stderr ?? process.stderr;
  let name = 'worker';
  const log = (text: string): void => void stderr.write(`[worker-admin/sdk] ${name}: ${text}\n`);

  let line;
  try {
    line = await readStartLine(options.stdin ?? process.stdin);
  } catch (error) {
    log(`cannot start: ${errorMessage(error)}`);
    exit(EXIT_REFUSED);
    throw error;
  }
  name = `${line.identifier}@${line.version}`;

  // a worker proves who it is with the Hello token, never with a bearer
  const rpc = createRouterRpc({ address: line.target, ...(line.tls ? { tls: line.tls } : {}) });
  const session = new WorkerSession({
    call: rpc.connect(), line, log,
    commands: options.commands, events: options.events ?? [], topics: options.topics ?? {},
    heartbeatMs: options.heartbeatMs ?? 10_000, helloTimeoutMs: options.helloTimeoutMs ?? 30_000, closeTimeoutMs: 10_000,
  });

  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const onSignal = (signal: NodeJS.Signals): void => {
    // the first signal drains; a second one means "now"
    if (session.state === 'DRAINING' || session.state === 'CLOSING') session.abort(`second ${signal}: exiting without waiting`);
    else void session.drain(`${signal} received`);
  };
  for (const s of signals) process.on(s, onSignal);

  const closed = session.ended.then(({ code }) => {
    for (const s of signals) process.off(s, onSignal);
    rpc.close();
    log(`exiting with code ${code}`); // the reason is on the FAILED/CLOSED transition line just above
    return code;
  });
  void closed.then(exit);

  try {
    await session.start();
  } catch (error) {
    await closed; // exit() ran: a real process is gone, a test's injected exit returns here
    throw error instanceof WorkerAdminError ? error : new WorkerAdminError('ROUTER_ERROR', errorMessage(error), { cause: error });
  }

  return {
    identifier: line.identifier, version: line.version, type: line.type, product: line.product, target: line.target,
    config: line.config,
    get state() {
      return session.state;
    },
    emit: (event, payload, opts) => session.emit(event, payload, opts),
    reportError: (message, opts) =>
      session.emit('WORKER_ERROR', { message, isAuthError: opts?.isAuthError === true }, { topic: 'admin' }),
    drain: async (reason = 'drain requested by the worker') => {
      await session.drain(reason);
      return closed;
    },
    closed,
  };
}
