// Holds one connection to a PM2 daemon (PM2_HOME from the environment) so a bench times `start`, not the CLI's boot.
// Prints {ready} once connected; each stdin line is a JSON app list to start, answered {started} or {error};
// stdin EOF kills the daemon (and its apps) and exits.
import { createInterface } from 'node:readline';
import pm2 from 'pm2';

const call = (fn, ...args) => new Promise((resolve, reject) => fn.call(pm2, ...args, (e, r) => (e ? reject(e) : resolve(r))));

await call(pm2.connect);
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  try {
    await call(pm2.start, { apps: JSON.parse(line) });
    process.stdout.write(`${JSON.stringify({ started: true })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: String(error?.message ?? error) })}\n`);
  }
});
lines.on('close', async () => {
  await call(pm2.killDaemon).catch(() => {});
  pm2.disconnect();
  process.exit(0);
});
