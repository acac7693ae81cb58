/**
 * One request's signal: aborted when `parent` (the route's long-lived stop signal) aborts or after
 * `timeoutMs`, and detached from `parent` by `release()` once the request is over.
 *
 * Not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: on Node 20 every such signal stays
 * listed in the long-lived parent's dependants for as long as the parent lives (nodejs/node#55351),
 * so a route running for months would grow by one entry per request.
 */
export interface RequestSignal {
  signal: AbortSignal;
  /** True when the timeout (not the parent) aborted it. */
  timedOut(): boolean;
  /** Detaches from the parent and clears the timer: call when the request is over. */
  release(): void;
}

export function requestSignal(parent: AbortSignal, timeoutMs: number): RequestSignal {
  const controller = new AbortController();
  let expired = false;
  const onParentAbort = () => controller.abort(parent.reason);
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException("the request timed out", "TimeoutError"));
  }, timeoutMs);
  timer.unref();
  if (parent.aborted) onParentAbort();
  else parent.addEventListener("abort", onParentAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => expired,
    release() {
      clearTimeout(timer);
      parent.removeEventListener("abort", onParentAbort);
    },
  };
}
