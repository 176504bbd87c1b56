// Every etcd key of the desired state, the coordinator, placement, rollouts and policies (docs/fleet.md, etcd keys).

/** The keys under one fleet prefix (`K`). */
export function fleetKeys(prefix: string) {
  const product = (type: string, name: string): string => `${type}/${name}`;
  return {
    desired: (type: string, name: string) => `${prefix}/desired/${product(type, name)}`,
    desiredPrefix: `${prefix}/desired/`,
    overrides: (type: string, name: string) => `${prefix}/overrides/${product(type, name)}`,
    overridesPrefix: `${prefix}/overrides/`,
    history: (at: number, rand: string) => `${prefix}/history/${String(at).padStart(15, '0')}-${rand}`,
    historyPrefix: `${prefix}/history/`,
    coordinator: `${prefix}/coordinator`,
    running: (type: string, name: string) => `${prefix}/running/${product(type, name)}`,
    runningPrefix: `${prefix}/running/`,
    assignments: (host: string) => `${prefix}/assignments/${host}`,
    assignmentsPrefix: `${prefix}/assignments/`,
    reports: (host: string) => `${prefix}/reports/${host}`,
    reportsPrefix: `${prefix}/reports/`,
    cordons: (host: string) => `${prefix}/cordons/${host}`,
    cordonsPrefix: `${prefix}/cordons/`,
    placement: `${prefix}/placement`,
    rollouts: (type: string, name: string) => `${prefix}/rollouts/${product(type, name)}`,
    rolloutsPrefix: `${prefix}/rollouts/`,
    rolloutRequests: (type: string, name: string) => `${prefix}/rollout-requests/${product(type, name)}/`,
    rolloutRequest: (type: string, name: string, id: string) => `${prefix}/rollout-requests/${product(type, name)}/${id}`,
    rolloutRequestsPrefix: `${prefix}/rollout-requests/`,
    rolloutControl: (type: string, name: string) => `${prefix}/rollout-control/${product(type, name)}`,
    rolloutControlPrefix: `${prefix}/rollout-control/`,
    policies: (policy: string) => `${prefix}/policies/${policy}`,
    policiesPrefix: `${prefix}/policies/`,
    ticks: (policy: string) => `${prefix}/ticks/${policy}`,
    ticksPrefix: `${prefix}/ticks/`,
    hosts: (host: string) => `${prefix}/hosts/${host}`,
    seen: (host: string) => `${prefix}/seen/${host}`,
    hostsPrefix: `${prefix}/hosts/`,
  };
}

export type FleetKeys = ReturnType<typeof fleetKeys>;
