// Runs before every test file (vitest setupFiles): code under test that reads process.env in this process
// sees only what the tests set, never the WORKER_ADMIN_* variables of whoever started the run.
for (const name of Object.keys(process.env)) {
  if (name.startsWith('WORKER_ADMIN_')) delete process.env[name];
}
process.env['WORKER_ADMIN_LOG_LEVEL'] = 'silent';
