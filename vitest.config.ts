import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/globalSetup.ts'],
    testTimeout: 120_000,
    // A file's beforeAll may wait for the run's template sandbox (test/helpers/sandbox.ts), which another file
    // builds, before its own upgrades: on a loaded machine that is minutes.
    hookTimeout: 600_000,
    // End-to-end files start real sshd/PostgreSQL/Ansible; two cores do not gain from more.
    fileParallelism: true,
    maxWorkers: 2,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
