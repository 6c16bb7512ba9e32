/** How the local cluster holds warm standbys (see LocalCluster.scaleTo). */
export interface StandbyOptions {
  /** A waiting standby's CPU limit, cores: what it is resized down to once booted. */
  cores: number
  /**
   * From promoting a standby to its quota raised to `cores` and its listing: a stand-in for the kubelet's in-place
   * resize (API write, kubelet sync, the container runtime's cgroup update, the readiness seen by Endpoints).
   */
  resizeDelayMs: number
}
