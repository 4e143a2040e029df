/**
 * Every process that answers requests runs with SERVING_NODE_FLAGS (functions/server/serving-node-flags.ts):
 * `npm start`, whose script cannot import the constant, and the systemd units, whose lines are
 * built from it; the local routers and VM servers spread it into their spawn arguments.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../functions/engine/registry.js';
import { SERVING_NODE_FLAGS } from '../../functions/server/serving-node-flags.js';
import { controllerUnitLines } from '../../infra/constructs/controller-unit.js';
import { vmUserData } from '../../infra/constructs/vm-launch-templates.js';

describe('serving processes run with SERVING_NODE_FLAGS', () => {
  it('npm start passes every flag to node', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const start = pkg.scripts['start']!;
    for (const flag of SERVING_NODE_FLAGS) expect(start).toMatch(new RegExp(`node (\\S+ )*${flag.replace(/[-=]/g, '\\$&')} `));
  });

  it('the controller, router and VM server units start node with them', () => {
    const flags = SERVING_NODE_FLAGS.join(' ');
    const vm = vmUserData({ bundleUrl: 's3://b/app.tgz', modelBucket: 'models', serverPort: 8080 });
    expect(vm.find((l) => l.startsWith('ExecStart='))).toContain(` ${flags} `);
    const unit = controllerUnitLines({
      service: 'spillway-router',
      description: 'router',
      entry: 'router.mjs',
      env: {},
      apiKeySecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:k',
      readyUrl: 'http://127.0.0.1:8090/readyz',
      readyTimeoutS: 60,
    });
    expect(unit.find((l) => l.startsWith('ExecStart='))).toContain(` ${flags} `);
  });
});
