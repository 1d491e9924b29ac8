/**
 * Test support: a Radiolens node started in this process on loopback, with free DICOM and HTTP
 * ports, no watched folder, the shipped models, and the given config file — the setup the
 * reading room's, the worklist's and the route-access tests share.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadNodeConfig } from '../../src/node/service/config.js';
import { createLogger } from '../../src/node/service/log.js';
import { RadiolensNode } from '../../src/node/service/service.js';
import { repoRoot } from './paths.js';

export interface LoopbackNode {
  readonly node: RadiolensNode;
  /** http://127.0.0.1:<port> */
  readonly base: string;
}

/**
 * Writes `fileConfig` as `<configDir>/node.json` and starts the node on `data` with it.
 * `workers`: analysis job workers (default 1; 0 only ingests).
 */
export async function startLoopbackNode(
  configDir: string,
  data: string,
  fileConfig: object,
  workers = 1,
): Promise<LoopbackNode> {
  const file = join(configDir, 'node.json');
  await writeFile(file, JSON.stringify(fileConfig));
  const config = loadNodeConfig(
    { config: file, data, dicomPort: 0, httpPort: 0, host: '127.0.0.1', watch: false, workers },
    join(repoRoot, 'models'),
  );
  const node = await RadiolensNode.start(config, { logger: createLogger(() => undefined) });
  return { node, base: `http://127.0.0.1:${node.listeners.http.port}` };
}
