/**
 * agents-js 1.8 starts a shared inference process (the audio end-of-turn model from
 * @livekit/local-inference, about 138 MB) in every worker whenever that package loads, used or
 * not: the AgentServer constructor registers the runner (maybeRegisterLocalEotRunner), then
 * InferenceProcExecutor.createIfNeeded() starts a process if any runner is registered
 * (node_modules/@livekit/agents/src/worker.ts, src/ipc/inference_proc_executor.ts).
 *
 * Our turn detection is Silero VAD or the STT's endpointing (TURN_DETECTION vad|stt), which never
 * asks that model. So, before the AgentServer is built, the runner's slot in the registry is
 * taken by an accessor that ignores the registration and is not enumerable: createIfNeeded()
 * counts no runner and starts no process. Written against agents-js 1.8.1 (pinned exactly); the
 * worker test checks that no inference process runs.
 */
import { InferenceRunner } from '@livekit/agents';

/** agents-js src/inference/eot/runner.ts EOT_INFERENCE_METHOD (not exported). */
export const EOT_INFERENCE_METHOD = 'lk_eot_audio';

/** Keeps agents-js from starting the end-of-turn inference process. Returns false if a runner is already registered. */
export function skipEndOfTurnInferenceProcess(): boolean {
  const runners = InferenceRunner.registeredRunners;
  if (Object.prototype.hasOwnProperty.call(runners, EOT_INFERENCE_METHOD)) {
    return Object.getOwnPropertyDescriptor(runners, EOT_INFERENCE_METHOD)?.enumerable === false;
  }
  Object.defineProperty(runners, EOT_INFERENCE_METHOD, {
    get: () => undefined,
    set: () => {},
    enumerable: false,
    configurable: true,
  });
  return true;
}
