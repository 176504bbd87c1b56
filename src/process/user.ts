// `runAs`: the uid, gid and home of a user name (or uid) from /etc/passwd, for spawning workers as that user.
import { readFileSync } from 'node:fs';
import { WorkerAdminError } from '../common/errors.js';

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Looks a user up by name or numeric uid; CONFIG_INVALID naming it when unknown. Spawn as another user needs root. */
export function lookupUser(runAs: string, passwdFile = '/etc/passwd'): UserInfo {
  let text: string;
  try {
    text = readFileSync(passwdFile, 'utf8');
  } catch (error) {
    throw new WorkerAdminError('CONFIG_INVALID', `runAs ${JSON.stringify(runAs)}: cannot read ${passwdFile}`, { cause: error });
  }
  const byUid = /^\d+$/.test(runAs);
  for (const line of text.split('\n')) {
    const [name, , uid, gid, , home] = line.split(':');
    if (name === undefined || uid === undefined || gid === undefined || line.startsWith('#')) continue;
    if (byUid ? uid === runAs : name === runAs) {
      return { name, uid: Number(uid), gid: Number(gid), home: home || '/' };
    }
  }
  throw new WorkerAdminError('CONFIG_INVALID', `runAs ${JSON.stringify(runAs)}: no such user in ${passwdFile}`);
}
