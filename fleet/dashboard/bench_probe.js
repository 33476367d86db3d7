/* kaiteki dashboard benchmark probe: injected into the page by `python -m fleet.dashboard_bench`.
 *
 * start(frames): records every animation frame's delta (requestAnimationFrame; unless `frames` is
 * false: a rAF loop keeps the browser producing 60 frames a second, which costs CPU) and every long task
 * (PerformanceObserver "longtask": main-thread work over 50 ms), and resets the page's own feed
 * counters (`feedStats` in feed.js). stop(): returns everything measured since start().
 */
window.__kaitekiBench = {
  start(frames = true) {
    const b = { deltas: [], longTasks: [], running: true, t0: performance.now() };
    b.heap0 = performance.memory ? performance.memory.usedJSHeapSize : null;
    let last = null;
    const tick = (t) => {
      if (!b.running) return;
      if (last !== null) b.deltas.push(t - last);
      last = t;
      if (frames) requestAnimationFrame(tick);
    };
    if (frames) requestAnimationFrame(tick);
    b.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longTasks.push(e.duration);
    });
    b.observer.observe({ type: "longtask" });
    if (typeof feedStats !== "undefined") feedStats.reset();
    this.b = b;
  },
  stop() {
    const b = this.b;
    b.running = false;
    b.observer.disconnect();
    return {
      elapsed_ms: performance.now() - b.t0,
      frame_deltas_ms: b.deltas,
      long_tasks_ms: b.longTasks,
      heap_start_bytes: b.heap0,
      heap_end_bytes: performance.memory ? performance.memory.usedJSHeapSize : null,
      feed: typeof feedStats === "undefined" ? null : {
        frames: feedStats.frames,
        items: feedStats.items,
        positions: feedStats.positions,
        parse_errors: feedStats.parseErrors,
        dropped: feedStats.dropped,
        draws: feedStats.draws,
        draw_ms_total: feedStats.drawMs,
      },
      lag_ms: typeof feedStats === "undefined" ? [] : feedStats.lagSamples(),
      vehicles: state.vehicles.size,
      last_draw: typeof vehicleLayer === "undefined" ? null : vehicleLayer.lastDraw,
    };
  },
};
