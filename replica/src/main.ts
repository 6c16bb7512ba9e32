/**
 * The replica's entry point. V8's compiled code (and Node's TypeScript stripping) of every module the replica
 * loads is kept on disk and reused by the next start — module loading is the largest part of a start-up at a
 * fraction of a core. Node's own NODE_COMPILE_CACHE names the folder (default: the OS temp folder);
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off. It must be enabled before the modules load, hence this file.
 */
import { enableCompileCache } from 'node:module'

enableCompileCache()
// The default model's inference thread starts now, so its start-up overlaps the module loading below.
const { InferenceEngine } = await import('./model/inference-engine.ts')
InferenceEngine.prestart()
await import('./run-replica.ts')
