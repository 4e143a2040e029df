/**
 * Every process that routes requests runs with ROUTER_NODE_FLAGS (controller/server/router-node-flags.ts):
 * `npm start`, whose script cannot import the constant, and the controller/router systemd unit,
 * whose lines are built from it (the local routers spread it into their spawn arguments). The VM
 * inference servers do not (see the constant's comment).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../functions/engine/registry.js';
import { ROUTER_NODE_FLAGS } from '../../controller/server/router-node-flags.js';
import { controllerUnitLines } from '../../infra/constructs/controller-unit.js';
import { vmUserData } from '../../infra/constructs/vm-launch-templates.js';

describe('routing processes run with ROUTER_NODE_FLAGS; VM servers do not', () => {
  it('npm start passes every flag to node', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const start = pkg.scripts['start']!;
    for (const flag of ROUTER_NODE_FLAGS) expect(start).toMatch(new RegExp(`node (\\S+ )*${flag.replace(/[-=]/g, '\\$&')} `));
  });

  it('the controller and router units start node with them, the VM server unit without', () => {
    const flags = ROUTER_NODE_FLAGS.join(' ');
    const vm = vmUserData({ bundleUrl: 's3://b/app.tgz', modelBucket: 'models', serverPort: 8080 });
    expect(vm.find((l) => l.startsWith('ExecStart='))).not.toContain(flags);
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
