// `yank`: moves a version from versions.yaml to yanked.yaml (docs/repository.md, yanking), each with a conditional PUT.
import { WorkerAdminError } from '../common/errors.js';
import { versionsPath } from '../repository/paths.js';
import { parseVersionsYaml } from '../repository/versions.js';
import { parseYankedYaml, versionsYamlText, yankedYamlText, type YankedEntry } from '../repository/yanked.js';
import { updateList } from './list-update.js';
import type { VersionRef } from './publish.js';
import type { RemoteRepository } from './remote.js';

/** Yanks `ref` with `reason`; `already` when yanked.yaml listed it and versions.yaml did not. */
export async function yank(remote: RemoteRepository, ref: VersionRef, reason: string): Promise<{ entry: YankedEntry; already: boolean }> {
  if (reason.trim() === '') throw new WorkerAdminError('PAYLOAD_INVALID', 'a yank needs a --reason (shown in the status of instances still running it)');
  const label = `${ref.type}/${ref.product}@${ref.version}`;
  const listPath = versionsPath(ref.type, ref.product);
  const yankedPath = listPath.replace(/versions\.yaml$/, 'yanked.yaml');
  const file = (path: string): string => new URL(path, remote.url).href;
  const listed = await remote.get(listPath);
  if (listed.status === 404) throw new WorkerAdminError('PRODUCT_UNKNOWN', `${ref.type}/${ref.product}: ${file(listPath)} answered 404`);
  const found = parseVersionsYaml(listed.data.toString('utf8'), { file: file(listPath) }).find((e) => e.version === ref.version);
  let entry: YankedEntry | undefined = found ? { ...found, reason } : undefined;
  // yanked.yaml first: the version stays fetchable by its exact version at every moment
  await updateList(remote, {
    path: yankedPath,
    parse: (text) => parseYankedYaml(text, { file: file(yankedPath) }),
    render: yankedYamlText,
    change(current) {
      const there = current.find((e) => e.version === ref.version);
      if (there) {
        entry ??= there;
        return null;
      }
      if (!entry) throw new WorkerAdminError('VERSION_NOT_FOUND', `${label} is not listed in ${file(listPath)}`);
      return [...current, entry];
    },
  });
  const removed = await updateList(remote, {
    path: listPath,
    parse: (text) => parseVersionsYaml(text, { file: file(listPath) }),
    render: versionsYamlText,
    change: (current) => (current.some((e) => e.version === ref.version) ? current.filter((e) => e.version !== ref.version) : null),
  });
  return { entry: entry!, already: !removed.written };
}
