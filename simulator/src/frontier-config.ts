/** The settings of `npm run frontier`. */
import { familySettings } from './family-settings.ts'

const family = familySettings('FRONTIER')

export const frontierSpec = {
  workload: family.workload(),
  scales: family.scales('Arrival-rate multipliers, comma-separated', [1, 10]),
  startupS: family.startups('Replica start-ups (decision to ready), seconds, comma-separated'),
  seeds: family.seeds('Seeds 1 … N per point (arrivals, service times, controller phases)'),
  serviceTime: family.serviceTime(),
  sloMs: family.sloMs(),
  out: family.out('out/frontier', 'Output directory (frontier.json and one SVG per scenario)'),
}
