// `worker-admin fleet cordon|uncordon|drain HOST`: no new placements on a host, everything moved off it, or back to normal.
import { HOST_NAME_RE } from '../../fleet/config.js';
import { parseCommandLine, UsageError } from '../args.js';
import { CLIENT_OPTIONS, sendAdminCommand, whoAmI } from './admin-command.js';

const USAGE = 'fleet cordon|uncordon|drain HOST [--router ADDR] [--token TOKEN] [--state-dir DIR]';

type Mode = 'cordon' | 'uncordon' | 'drain';

const DONE: Record<Mode, (host: string) => string> = {
  cordon: (host) => `${host} cordoned: nothing new is placed on it, what it runs stays`,
  drain: (host) => `${host} draining: its instances move to other hosts (each drained here once its new copy is READY), nothing new is placed on it`,
  uncordon: (host) => `${host} uncordoned: instances may be placed on it again`,
};
const ALREADY: Record<Mode, (host: string) => string> = {
  cordon: (host) => `${host} was already cordoned`,
  drain: (host) => `${host} was already draining`,
  uncordon: (host) => `${host} was not cordoned`,
};

/** Runs one of the three for `mode`; exit 0 when done (or already so), 1 with the reason. */
export async function run(argv: string[], mode: Mode): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, CLIENT_OPTIONS, USAGE);
  if (values['help']) {
    process.stdout.write(`usage: worker-admin ${USAGE}\n`);
    return 0;
  }
  const [host, ...extra] = positionals;
  if (host === undefined || extra.length > 0) throw new UsageError(`fleet ${mode} takes one HOST\nusage: worker-admin ${USAGE}`);
  if (!HOST_NAME_RE.test(host)) throw new UsageError(`${JSON.stringify(host)} is not a host name (${HOST_NAME_RE.source})\nusage: worker-admin ${USAGE}`);
  const answer = await sendAdminCommand(values, 'ADMIN_FLEET_CORDON', { host, mode, by: whoAmI() });
  if (!answer.ok) {
    process.stderr.write(`worker-admin fleet ${mode}: ${answer.error}\n`);
    return 1;
  }
  const { changed } = answer.payload as { changed: boolean };
  process.stdout.write(`${(changed ? DONE : ALREADY)[mode](host)}\n`);
  return 0;
}
