// Where the benches find the project (they import the built JavaScript in dist/ by relative path: `npm run build`).
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** True when the module `url` is the script node was started with. */
export const isMain = (url) => url === pathToFileURL(process.argv[1] ?? '').href;
