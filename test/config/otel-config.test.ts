// ops.otel: the collector endpoint is validated once where the config is read, the export interval compiled to ms.
import { describe, expect, it } from 'vitest';
import { parseAdminConfig } from '../../src/config/admin-config.js';
import { isWorkerAdminError } from '../../src/common/errors.js';

const parse = (otel: string) => parseAdminConfig(`ops: { otel: ${otel} }\n`, { file: '/etc/wa/admin.yaml', env: {} });

/** The CONFIG_INVALID message of parsing `otel`, failing the test when it parses. */
function refusal(otel: string): string {
  try {
    parse(otel);
  } catch (error) {
    expect(isWorkerAdminError(error, 'CONFIG_INVALID')).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`expected a refusal of ops.otel ${otel}`);
}

describe('ops.otel', () => {
  it('is off by default, and exports every 60 s when an endpoint is given', () => {
    expect(parse('{}').ops.otel).toEqual({ endpoint: '', intervalMs: 60_000 });
    expect(parse('{ endpoint: "https://otel.example.org:4318" }').ops.otel).toEqual({ endpoint: 'https://otel.example.org:4318', intervalMs: 60_000 });
    expect(parse('{ endpoint: "http://127.0.0.1:4318/", interval: 15s }').ops.otel).toEqual({ endpoint: 'http://127.0.0.1:4318/', intervalMs: 15_000 });
  });

  it('refuses an endpoint that is not an http(s) URL, naming the file and the field', () => {
    for (const bad of ['collector:4318', 'not a url', 'ftp://collector/', 'grpc://collector:4317', 'http://collector:4318/?x=1']) {
      expect(refusal(`{ endpoint: ${JSON.stringify(bad)} }`)).toMatch(/^\/etc\/wa\/admin\.yaml.*ops\.otel\.endpoint: .*is not an http\(s\) URL/);
    }
  });

  it('refuses a bad or zero interval and an unknown field', () => {
    expect(refusal('{ interval: soon }')).toMatch(/ops\.otel\.interval: "soon" is not a duration/);
    expect(refusal('{ interval: 0 }')).toMatch(/ops\.otel\.interval: must be above 0/);
    expect(refusal('{ headers: {} }')).toMatch(/ops\.otel\.headers: unknown field/);
  });
});
