import { defineConfig } from 'vitest/config';

// Three projects: pure units (fast), the Pulumi program under mocks (mocks installed in a setup
// file before the program is imported), and the agent package (integration against real Redis).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          // Some unit files run the CLIs as child processes (tsx): seconds each on a loaded 2-core
          // machine. A budget, not a speed assertion.
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'pulumi',
          include: ['tests/pulumi/**/*.test.ts'],
          setupFiles: ['tests/pulumi/setup-mocks.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'agent',
          include: ['agent/tests/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
