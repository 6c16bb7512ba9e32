/** Where replica URLs come from. A discovery calls `onTargets` with the full current list whenever it changes. */
export interface Discovery {
  readonly mode: 'static' | 'dns' | 'local'
  start(onTargets: (urls: string[]) => void): Promise<void>
  /** Re-reads the source now (SIGHUP). */
  refresh(): Promise<void>
  stop(): Promise<void>
  /** On a forced exit: signal whatever it runs to stop, now, without waiting (synchronous). */
  terminateNow?(): void
}
