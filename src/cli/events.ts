// `worker-admin events [--topic T]…`: every matching event as one JSON line, until SIGINT/SIGTERM.
import { once } from 'node:events';
import { connectRouter } from '../sdk/client.js';
import { parseCommandLine } from './args.js';
import { resolveClientTarget } from './send.js';

const USAGE = 'events [--topic admin]… [--event NAME]… [--router ADDR] [--token TOKEN] [--state-dir DIR]';

/** Runs `events`: exit 0 when stopped by a signal, an error (exit 1) when the router ends the stream. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine(argv, {
    topic: { type: 'string', multiple: true }, event: { type: 'string', multiple: true },
    router: { type: 'string' }, token: { type: 'string' }, 'state-dir': { type: 'string' },
  }, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  const flags: { router?: string; token?: string; stateDir?: string } = {};
  if (typeof values['router'] === 'string') flags.router = values['router'];
  if (typeof values['token'] === 'string') flags.token = values['token'];
  if (typeof values['state-dir'] === 'string') flags.stateDir = values['state-dir'];
  const target = await resolveClientTarget(flags, false);
  const topics = (values['topic'] as string[] | undefined) ?? [];

  const connection = connectRouter({ address: target.router, token: target.token });
  const session: { state: 'watching' | 'stopped' } = { state: 'watching' };
  const stop = (): void => {
    session.state = 'stopped';
    connection.close(); // cancels the watch: the loop below ends quietly
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const events = await connection.watch(topics, { events: (values['event'] as string[] | undefined) ?? [] });
    process.stderr.write(`worker-admin events: watching ${topics.length > 0 ? topics.join(', ') : 'every topic'} on ${connection.rpc.address} (Ctrl-C to stop)\n`);
    for await (const e of events) {
      const { rawPayload: _raw, ...line } = e;
      if (!process.stdout.write(`${JSON.stringify(line)}\n`)) await once(process.stdout, 'drain');
    }
    return 0;
  } catch (error) {
    if (session.state === 'stopped') return 0; // a signal during set-up is a normal stop, not a router error
    throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    connection.close();
  }
}
