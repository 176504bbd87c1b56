// The shapes the Router service's (de)serializers give every process (src/proto/types.ts): built from protobufjs's
// reflection, they must decode exactly as the documented options say, since every handler reads fields unchecked.
import type { MethodDefinition } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { routerClientConstructor, routerServiceDefinition } from '../../src/proto/load.js';

type Method = MethodDefinition<unknown, unknown>;
const method = (name: string): Method => routerServiceDefinition()[name] as Method;

describe('Router service (de)serializers', () => {
  it('name each method by its path and its streaming sides, as the .proto does', () => {
    const definition = routerServiceDefinition();
    expect(Object.keys(definition).sort()).toEqual([
      'Connect', 'DrainWorker', 'ExpectWorker', 'GetConfiguration', 'ListWorkers', 'SaveConfiguration', 'SendCommand',
      'SendCommands', 'SendEvent', 'WatchEvents',
    ]);
    expect(method('Connect')).toMatchObject({ path: '/workeradmin.v1.Router/Connect', requestStream: true, responseStream: true, originalName: 'connect' });
    expect(method('SendCommand')).toMatchObject({ path: '/workeradmin.v1.Router/SendCommand', requestStream: false, responseStream: false, originalName: 'sendCommand' });
    expect(method('WatchEvents')).toMatchObject({ requestStream: false, responseStream: true });
    expect(method('SendCommands')).toMatchObject({ requestStream: true, responseStream: true });
  });

  it('decode every field, defaults included: enums as names, int64 as numbers, maps as objects', () => {
    const reply = method('SendCommand').responseDeserialize(method('SendCommand').responseSerialize({ uuid: 'u1', status: 'TIMEOUT' }));
    expect(reply).toEqual({ uuid: 'u1', status: 'TIMEOUT', payload: '', error: '', worker: '' });
    const empty = method('SendCommand').requestDeserialize(Buffer.alloc(0)) as Record<string, unknown>;
    expect(empty).toMatchObject({ uuid: '', command: '', payload: '', timeout_ms: 0, context: {} });
    const event = method('SendEvent').requestDeserialize(method('SendEvent').requestSerialize({ topic: 't', event: 'E', timestamp_ms: 1_795_000_000_123 }));
    expect(event).toEqual({ uuid: '', topic: 't', event: 'E', payload: '', reference_uuid: '', timestamp_ms: 1_795_000_000_123, source: '' });
    expect(typeof (event as { timestamp_ms: unknown }).timestamp_ms).toBe('number');
  });

  it('name the set member of a oneof in a field of the oneof name, and leave the others out', () => {
    const connect = method('Connect');
    const out = connect.responseDeserialize(connect.responseSerialize({ command: { uuid: 'c1', command: 'ECHO', payload: '{}', context: { a: 'b' } } })) as Record<string, unknown>;
    expect(out['kind']).toBe('command');
    expect(out['command']).toMatchObject({ uuid: 'c1', command: 'ECHO', payload: '{}', context: { a: 'b' } });
    expect(out['welcome']).toBeUndefined();
    const batch = connect.requestDeserialize(connect.requestSerialize({ replies: { replies: [{ uuid: 'r1', status: 'SUCCESS' }, { uuid: 'r2', status: 'FAIL' }] } })) as Record<string, unknown>;
    expect(batch['kind']).toBe('replies');
    expect((batch['replies'] as { replies: Array<{ status: string }> }).replies.map((r) => r.status)).toEqual(['SUCCESS', 'FAIL']);
  });

  it('refuse to serialize an array instead of a message', () => {
    expect(() => method('SendCommand').requestSerialize([{ command: 'ECHO' }])).toThrow(/expected object with Command structure, got array/);
  });

  it('give clients both the method name and its camelCase alias, from one cached constructor', () => {
    const Router = routerClientConstructor();
    expect(routerClientConstructor()).toBe(Router);
    expect(typeof Router.prototype['SendCommand']).toBe('function');
    expect(Router.prototype['sendCommand']).toBe(Router.prototype['SendCommand']);
    expect(Router.service).toBe(routerServiceDefinition());
  });
});
