// The policy the fleet policy tests post: `nightly`, a dry run of TICK on tests/counter every minute, and its runs as
// /api/v1/status reports them.

export const NIGHTLY_POLICY = `policies:
  nightly:
    config:
      package: tests/counter@^1
      schedule: "* * * * *"
      command: TICK
      dry_run: true
    scope: {}
`;

/** One entry of a policy's `runs` in /api/v1/status. */
export interface PolicyRun {
  at: string;
  status: string;
  uuid?: string;
}
