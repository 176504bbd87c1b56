// Where the benches find the project: its root and the built JavaScript in dist/ (`npm run build`).
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Imports a module of dist/ by its path there, e.g. `dist('up/stack.js')`. */
export const dist = (path) => import(pathToFileURL(join(ROOT, 'dist', path)).href);

/** True when the module `url` is the script node was started with. */
export const isMain = (url) => url === pathToFileURL(process.argv[1] ?? '').href;
