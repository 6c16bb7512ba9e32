/**
 * The replica's entry point. V8's compiled code (and Node's TypeScript stripping) of every module the replica
 * loads is kept on disk and reused by the next start — module loading is the largest part of a start-up at a
 * fraction of a core. Node's own NODE_COMPILE_CACHE names the folder (default: the OS temp folder);
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off. It must be enabled before the modules load, hence this file (itself
 * compiled, and stripped of its types, before it can enable anything, unless NODE_COMPILE_CACHE was set by whoever
 * started the process: the experiment's local cluster sets it).
 */
import { enableCompileCache, getCompileCacheDir } from 'node:module'

enableCompileCache()
// Worker threads (one per model) start with a copy of this environment: through it they use the same cache, which
// also spares each of them Node's TypeScript stripper. A parent that sets it before starting us spares this thread's.
const cacheDir = getCompileCacheDir()
// biome-ignore lint/style/noProcessEnv: Node's own switch for the threads we start, not our configuration
if (cacheDir !== undefined) process.env.NODE_COMPILE_CACHE ??= cacheDir
// The default model's inference thread starts now, so its start-up overlaps the module loading below.
const { InferenceEngine } = await import('./model/inference-engine.ts')
InferenceEngine.prestart()
await import('./run-replica.ts')
