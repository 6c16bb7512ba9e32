/** Latency buckets from 1 ms to 10 s, shared by every timing histogram of every service so they can be compared. */
export const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
