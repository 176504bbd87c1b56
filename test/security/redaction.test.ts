// Log redaction and the JSON depth count: pure checks of what the secrets and limits tests rely on.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { jsonDepth } from '../../src/router/json-depth.js';

describe('log redaction', () => {
  it('never writes tokens, config or params values, start lines or private keys', () => {
    let out = '';
    const logger = createLogger('t', { level: 'info', destination: new Writable({ write(c, _e, done) { out += String(c); done(); } }) });
    const secret = 'sk-REDACT-ME-0123456789';
    logger.info({ token: secret, adminToken: secret, request: { clientToken: secret, authorization: `Bearer ${secret}` } }, 'tokens');
    logger.info({ config: { api_key: secret }, params: { api_key: secret }, spec: { params: { api_key: secret } } }, 'values');
    logger.info({ stdinLine: secret, request: { stdinLine: secret }, tls: { key: secret }, link: { tls: { key: secret } } }, 'material');
    expect(out.split('\n').filter(Boolean)).toHaveLength(3);
    expect(out).not.toContain(secret);
    expect(out).toContain('"api_key":"[redacted]"'); // key names stay readable
  });
});

describe('jsonDepth', () => {
  it('counts nesting outside strings and stops early past the limit', () => {
    expect(jsonDepth('{}')).toBe(1);
    expect(jsonDepth('1')).toBe(0);
    expect(jsonDepth('{"a":[{"b":[]}]}')).toBe(4);
    expect(jsonDepth('{"s":"[[[[{{{{\\"[["}')).toBe(1);
    expect(jsonDepth('['.repeat(1000), 64)).toBe(65);
  });
});
