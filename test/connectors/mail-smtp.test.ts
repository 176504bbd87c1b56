// connectors/mail/smtp (Python) against a real SMTP server (aiosmtpd): SEND_MAIL logs in with the secret password,
// the server receives the mail, MAIL_SENT is emitted; a wrong password is FAIL plus WORKER_ERROR (isAuthError).
// The password appears in no log, log file, event, reply, ops API answer, worker argv or environment.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import type { Event } from '../../src/proto/types.js';
import { ROOT } from '../helpers/stack.js';
import { leaks, processPlaces } from '../security/scan.js';
import { packConnectors, PYTHON, pythonHas, startPyStack, until, type PyStack } from '../python/harness.js';

const PASSWORD = 'smtp-SECRET-pw-never-leak-41c9d2';
const LOGIN = 'mailer';
const HAS_SMTPD = pythonHas('aiosmtpd');
const SKIP = PYTHON && HAS_SMTPD ? '' : 'skipped: needs python3 with grpcio and aiosmtpd (apt-get install python3-grpcio python3-protobuf python3-aiosmtpd)';
if (SKIP) process.stderr.write(`mail/smtp tests ${SKIP}\n`);

interface SmtpServer { port: number; records: Array<Record<string, unknown>>; child: ChildProcess }

async function startSmtpServer(): Promise<SmtpServer> {
  const child = spawn(PYTHON!, ['-B', join(ROOT, 'test/fixtures/smtp/smtp-server.py'), LOGIN], { stdio: ['pipe', 'pipe', 'inherit'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
  child.stdin!.end(`${PASSWORD}\n`);
  const records: Array<Record<string, unknown>> = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      records.push(JSON.parse(buffer.slice(0, i)) as Record<string, unknown>);
      buffer = buffer.slice(i + 1);
    }
  });
  await until(async () => records.length > 0, 'the SMTP server listening');
  return { port: records[0]!['port'] as number, records, child };
}

describe.skipIf(!!SKIP)(`mail/smtp against a real SMTP server${SKIP ? ` (${SKIP})` : ''}`, () => {
  let smtp: SmtpServer | undefined;
  let t: PyStack | undefined;
  afterAll(async () => {
    await t?.close();
    if (smtp?.child.exitCode === null) {
      const gone = new Promise((resolve) => smtp!.child.once('exit', resolve));
      smtp.child.kill('SIGTERM');
      await gone;
    }
  });

  it('sends the mail through the server with the secret login, emits MAIL_SENT, and leaks the password nowhere', async () => {
    smtp = await startSmtpServer();
    let logs = '';
    const logger = createLogger('mail-test', { level: 'debug', destination: new Writable({ write(c, _e, done) { logs += String(c); done(); } }) });
    t = await startPyStack({
      repositoryDir: await packConnectors(join(ROOT, 'connectors'), ['mail']), logger,
      connectors: [{ type: 'mail', product: 'smtp', versions: ['^1'], config: { host: '127.0.0.1', port: String(smtp.port), username: LOGIN, password: PASSWORD, from: 'bot@example.org' } }],
    });
    await t.stack.admin.startConfiguredConnectors();
    const events: Event[] = [];
    const watch = t.rpc.watchEvents({ topics: [] });
    watch.on('data', (e: Event) => events.push(e));
    watch.on('error', () => undefined);
    await new Promise((resolve) => watch.once('metadata', resolve));

    const reply = await t.client.send('SEND_MAIL', { to: 'ada@example.org', subject: 'Hello from Python', body: 'Sent by mail/smtp.\n' });
    expect(reply, reply.error).toMatchObject({ status: 'SUCCESS', payload: { to: ['ada@example.org'], subject: 'Hello from Python' } });
    const mail = smtp.records.find((r) => 'data' in r)!;
    expect(smtp.records.filter((r) => 'auth' in r)).toEqual([{ auth: LOGIN, ok: true }]);
    expect(mail).toMatchObject({ mail_from: 'bot@example.org', rcpt_tos: ['ada@example.org'] });
    expect(mail['data']).toContain('Subject: Hello from Python');
    expect(mail['data']).toContain('Sent by mail/smtp.');
    expect(mail['data']).toContain(`Message-ID: ${(reply.payload as { message_id: string }).message_id}`);
    await until(async () => events.some((e) => e.event === 'MAIL_SENT'), 'MAIL_SENT');
    expect(events.find((e) => e.event === 'MAIL_SENT')).toMatchObject({ topic: 'mail/smtp', reference_uuid: reply.uuid, source: 'mail-smtp-1@1.0' });

    // a wrong password: FAIL naming the login, and WORKER_ERROR with isAuthError for the admin
    const bad = await t.send('ADMIN_START_WORKER', { product: 'mail/smtp', identifier: 'mail-bad', params: { password: 'wrong-password' } });
    expect(bad.status, bad.error).toBe('SUCCESS');
    const refused = await t.client.send('SEND_MAIL', { to: 'ada@example.org', subject: 's', body: 'b' }, { target: 'mail-bad' });
    expect(refused.status).toBe('FAIL');
    expect(refused.error).toMatch(/^SMTP 127\.0\.0\.1:\d+ refused the login of mailer: 535/);
    await until(async () => events.some((e) => e.event === 'WORKER_ERROR'), 'WORKER_ERROR');
    expect(JSON.parse(events.find((e) => e.event === 'WORKER_ERROR')!.payload)).toMatchObject({ identifier: 'mail-bad', product: 'mail/smtp', reason: expect.stringContaining('refused the login of mailer'), isAuthError: true });

    // the scan of test/security: logs, worker log files, events, replies, the ops API, the worker's argv and environment
    const places: Array<[string, string]> = [['logs', logs], ['events', JSON.stringify(events)], ['replies', JSON.stringify([reply, refused])]];
    const ops = `http://${t.stack.ops.address}`;
    for (const path of ['/api/v1/status', '/api/v1/capabilities', '/api/v1/updates', '/api/v1/events']) {
      const res = await fetch(`${ops}${path}`, { headers: { authorization: `Bearer ${t.stack.credentials.adminToken}` } });
      places.push([`ops ${path}`, await res.text()]);
    }
    const listing = await t.send('ADMIN_LIST_WORKERS');
    places.push(['ADMIN_LIST_WORKERS', JSON.stringify(listing)]);
    for (const w of (listing.data as { workers: Array<{ identifier: string; pid: number | null }> }).workers) {
      if (w.pid !== null) places.push(...(await processPlaces(w.identifier, w.pid)));
    }
    for (const file of readdirSync(join(t.stateDir, 'logs'))) places.push([`logs/${file}`, readFileSync(join(t.stateDir, 'logs', file), 'utf8')]);
    expect(places.length).toBeGreaterThan(10);
    expect(logs).toMatch(/mail-smtp-1/); // the capture did see the run
    expect(leaks(places, [PASSWORD])).toEqual([]);
    watch.cancel();
  }, 60_000);
});
